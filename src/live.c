/*-------------------------------------------------------------------------
 *
 * live.c
 *	  Live foreign scans of Vitess tables through VTGate's MySQL protocol.
 *
 * A foreign table of a vstream_fdw server reads the current rows of a
 * Vitess table through VTGate's MySQL port (server option mysql_port).
 * The pieces:
 *
 *	 - mysql_conn.c: the connection (TLS, cache per server and user), with
 *	   "workload = 'olap'" so that VTGate streams results without its
 *	   10,000-row limit, read with mysql_use_result (bounded memory);
 *	 - deparse.c: the remote SELECT with the columns needed, the conditions
 *	   MySQL evaluates as PostgreSQL does (string conditions are re-checked
 *	   locally), ORDER BY and LIMIT when the result is the same;
 *	 - convert.c: cells become Datums exactly as in the mirrors, from a
 *	   FIELD built from the result's column metadata.
 *
 * Join clauses are pushed down through parameterized paths: the inner scan
 * of a nested loop then sends one lookup per outer row.  A scan that stops
 * early (LIMIT, EXISTS, a cancel, an error) closes its connection instead of
 * reading the rest of the remote result.  EXPLAIN shows the remote SQL
 * ("$n" marks the parameters).
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/live.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "parser/parsetree.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"

#include "convert.h"
#include "deparse.h"
#include "import.h"
#include "live.h"
#include "mysql_conn.h"
#include "options.h"

/* Planner-side state of a foreign rel (baserel->fdw_private). */
typedef struct LivePlanState
{
	List	   *remote_conds;	/* RestrictInfos sent to VTGate */
	List	   *local_conds;	/* RestrictInfos evaluated here (incl. rechecks) */
	double		fetched;		/* rows VTGate sends: after remote_conds */
	QualCost	local_cost;		/* of local_conds, per row fetched */
} LivePlanState;

/* Positions in ForeignScan.fdw_private */
enum
{
	FdwPrivateSql = 0,
	FdwPrivateRetrieved
};

typedef struct LiveScanState
{
	VStreamServerOptions *opts;
	Oid			userid;
	char	   *table;
	char	   *sql;			/* template with $n */
	List	   *retrieved;		/* attnums, in the order of the SELECT list */
	int			nretrieved;
	int		   *attidx;			/* tuple index of each retrieved column */
	List	   *param_exprs;	/* ExprStates */
	Oid		   *param_types;
	int			nparams;
	MysqlConn  *conn;
	bool		started;
	ConvertColumn *cols;		/* per retrieved column, after the first query */
	ConvertContext ccxt;
	MemoryContext rowcxt;
	MemoryContext colcxt;		/* cols */
	MemoryContextCallback cleanup;
} LiveScanState;

/* Cost of a remote statement (a round trip) and of a row (network, conversion) */
#define LIVE_STARTUP_COST 10.0
#define LIVE_ROW_COST 0.1
#define LIVE_DEFAULT_ROWS 1000.0

static const char *remote_table_name(ForeignTable *ft, Relation rel);

/* Error cleanup (memory context reset): close a connection mid-result. */
static void
live_release(void *arg)
{
	LiveScanState *ls = (LiveScanState *) arg;

	if (ls->conn)
	{
		MysqlConn  *conn = ls->conn;

		ls->conn = NULL;
		mysqlconn_release(conn);
	}
}

/* Normal end of a scan: keep the connection if its result has arrived. */
static void
live_finish(LiveScanState *ls)
{
	if (ls->conn)
	{
		MysqlConn  *conn = ls->conn;

		ls->conn = NULL;
		mysqlconn_finish(conn);
	}
}

/*
 * Row estimates of source tables, per foreign table, for the backend's life
 * (refreshed after LIVE_ESTIMATE_TTL): asking VTGate costs a connection and
 * two round trips, once per table and minute rather than per planning.
 */
typedef struct LiveEstimate
{
	Oid			relid;
	double		rows;
	TimestampTz fetched_at;
} LiveEstimate;

#define LIVE_ESTIMATE_TTL_MS 60000

static HTAB *live_estimates = NULL;

static double
live_table_rows(Oid relid)
{
	LiveEstimate *e;
	bool		found;
	TimestampTz now = GetCurrentTimestamp();

	if (live_estimates == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(LiveEstimate);
		live_estimates = hash_create("vstream_fdw live row estimates", 64, &ctl,
									 HASH_ELEM | HASH_BLOBS);
	}
	e = hash_search(live_estimates, &relid, HASH_ENTER, &found);
	if (!found ||
		TimestampDifferenceExceeds(e->fetched_at, now, LIVE_ESTIMATE_TTL_MS))
	{
		ForeignTable *ft = GetForeignTable(relid);
		VStreamServerOptions *opts = options_get_server(ft->serverid, GetUserId());
		Relation	rel = table_open(relid, NoLock);
		double		rows;

		e->rows = LIVE_DEFAULT_ROWS;
		e->fetched_at = now;
		if (mysqlconn_estimate_rows(opts, remote_table_name(ft, rel), &rows))
			e->rows = Max(rows, 1.0);
		table_close(rel, NoLock);
	}
	return e->rows;
}

static void
liveGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	LivePlanState *ps = palloc0(sizeof(LivePlanState));
	ListCell   *lc;
	double		base;

	/* never ANALYZEd (ANALYZE is not supported): ask the source */
	if (baserel->tuples <= 0)
		baserel->tuples = live_table_rows(foreigntableid);
	base = baserel->tuples;

	baserel->fdw_private = ps;
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *ri = lfirst(lc);

		switch (deparse_classify(root, baserel, ri->clause))
		{
			case SHIP_EXACT:
				ps->remote_conds = lappend(ps->remote_conds, ri);
				break;
			case SHIP_SUPERSET:
				ps->remote_conds = lappend(ps->remote_conds, ri);
				ps->local_conds = lappend(ps->local_conds, ri);
				break;
			case SHIP_NO:
				ps->local_conds = lappend(ps->local_conds, ri);
				break;
		}
	}
	baserel->rows = clamp_row_est(base *
								  clauselist_selectivity(root,
														 baserel->baserestrictinfo,
														 baserel->relid,
														 JOIN_INNER, NULL));
	/* what crosses the network: the rows the remote conditions keep */
	ps->fetched = clamp_row_est(base *
								clauselist_selectivity(root, ps->remote_conds,
													   baserel->relid,
													   JOIN_INNER, NULL));
	cost_qual_eval(&ps->local_cost, ps->local_conds, root);
}

/*
 * A path returning "rows" rows, for which VTGate sends "fetched" rows: a
 * round trip, then per row fetched the transfer and conversion, the local
 * conditions and the tuple.
 */
static void
live_add_path(PlannerInfo *root, RelOptInfo *baserel, double rows,
			  double fetched, List *pathkeys, Relids required_outer)
{
	LivePlanState *ps = (LivePlanState *) baserel->fdw_private;
	Cost		startup = LIVE_STARTUP_COST + ps->local_cost.startup;
	Cost		total = startup +
		fetched * (LIVE_ROW_COST + cpu_tuple_cost + ps->local_cost.per_tuple);

	/* a remote sort costs the same as the local one: no penalty here */
	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, rows,
#if PG_VERSION_NUM >= 180000
									 0,
#endif
									 startup, total, pathkeys,
									 required_outer, NULL,
#if PG_VERSION_NUM >= 170000
									 NIL,
#endif
									 NIL));
}

typedef struct EcMatchArg
{
	Var		   *var;
} EcMatchArg;

static bool
ec_member_matches(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec,
				  EquivalenceMember *em, void *arg)
{
	return equal(em->em_expr, ((EcMatchArg *) arg)->var);
}

/* Paths with join clauses sent to VTGate as parameters. */
static void
live_add_param_paths(PlannerInfo *root, RelOptInfo *baserel, Oid relid)
{
	List	   *clauses = NIL;
	List	   *done = NIL;
	ListCell   *lc;

	foreach(lc, baserel->joininfo)
	{
		RestrictInfo *ri = lfirst(lc);

		if (join_clause_is_movable_to(ri, baserel) &&
			deparse_classify(root, baserel, ri->clause) != SHIP_NO)
			clauses = lappend(clauses, ri);
	}
	if (baserel->has_eclass_joins)
	{
		Relation	rel = table_open(relid, NoLock);
		TupleDesc	td = RelationGetDescr(rel);
		int			i;

		for (i = 0; i < td->natts; i++)
		{
			Form_pg_attribute att = TupleDescAttr(td, i);
			EcMatchArg	arg;
			List	   *eq;
			ListCell   *lc2;

			if (att->attisdropped)
				continue;
			arg.var = makeVar(baserel->relid, att->attnum, att->atttypid,
							  att->atttypmod, att->attcollation, 0);
			eq = generate_implied_equalities_for_column(root, baserel,
														ec_member_matches,
														&arg,
														baserel->lateral_referencers);
			foreach(lc2, eq)
			{
				RestrictInfo *ri = lfirst(lc2);

				if (join_clause_is_movable_to(ri, baserel) &&
					deparse_classify(root, baserel, ri->clause) != SHIP_NO)
					clauses = lappend(clauses, ri);
			}
		}
		table_close(rel, NoLock);
	}

	foreach(lc, clauses)
	{
		RestrictInfo *ri = lfirst(lc);
		Relids		outer;
		ParamPathInfo *ppi;

		outer = bms_union(ri->clause_relids, baserel->lateral_relids);
		outer = bms_del_member(outer, baserel->relid);
		if (bms_is_empty(outer) || list_member(done, outer))
			continue;
		done = lappend(done, outer);
		ppi = get_baserel_parampathinfo(root, baserel, outer);
		live_add_path(root, baserel, ppi->ppi_rows,
					  Max(ppi->ppi_rows, 1.0), NIL, outer);
	}
}

static void
liveGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	LivePlanState *ps = (LivePlanState *) baserel->fdw_private;

	live_add_path(root, baserel, baserel->rows, ps->fetched, NIL,
				  baserel->lateral_relids);
	if (root->query_pathkeys != NIL &&
		deparse_pathkeys_ok(root, baserel, root->query_pathkeys))
		live_add_path(root, baserel, baserel->rows, ps->fetched,
					  root->query_pathkeys, baserel->lateral_relids);
	live_add_param_paths(root, baserel, foreigntableid);
}

static const char *
remote_table_name(ForeignTable *ft, Relation rel)
{
	ListCell   *lc;

	foreach(lc, ft->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "table_name") == 0)
			return defGetString(def);
	}
	return RelationGetRelationName(rel);
}

static ForeignScan *
liveGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				   ForeignPath *best_path, List *tlist, List *scan_clauses,
				   Plan *outer_plan)
{
	List	   *remote_conds = NIL;
	List	   *local_exprs = NIL;
	List	   *params = NIL;
	List	   *retrieved = NIL;
	Bitmapset  *attrs = NULL;
	ListCell   *lc;
	Relation	rel;
	char	   *sql;
	int64		limit = -1;
	int			i;

	foreach(lc, scan_clauses)
	{
		RestrictInfo *ri = lfirst(lc);
		DeparseShip s;

		Assert(IsA(ri, RestrictInfo));
		if (ri->pseudoconstant)
			continue;			/* a gating Result node evaluates it */
		s = deparse_classify(root, baserel, ri->clause);
		if (s != SHIP_NO)
			remote_conds = lappend(remote_conds, ri->clause);
		if (s != SHIP_EXACT)
			local_exprs = lappend(local_exprs, ri->clause);
	}

	/* the columns the plan needs */
	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &attrs);
	pull_varattnos((Node *) local_exprs, baserel->relid, &attrs);

	rel = table_open(foreigntableid, NoLock);
	for (i = 1; i <= RelationGetDescr(rel)->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(rel), i - 1);

		if (att->attisdropped)
			continue;
		if (bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, attrs) ||
			bms_is_member(i - FirstLowInvalidHeapAttributeNumber, attrs))
			retrieved = lappend_int(retrieved, i);
	}

	/*
	 * LIMIT: when this scan alone feeds the LIMIT (one relation, nothing
	 * filtered locally, no local sort needed, no WITH TIES), VTGate may stop
	 * early too.
	 */
	if (root->limit_tuples > 0 && local_exprs == NIL &&
		baserel->reloptkind == RELOPT_BASEREL &&
		bms_membership(root->all_baserels) == BMS_SINGLETON &&
		root->parse->commandType == CMD_SELECT &&
		root->parse->rowMarks == NIL &&
		root->parse->limitOption != LIMIT_OPTION_WITH_TIES &&
		pathkeys_contained_in(root->query_pathkeys, best_path->path.pathkeys))
		limit = (int64) root->limit_tuples;

	sql = deparse_select(root, baserel, rel,
						 remote_table_name(GetForeignTable(foreigntableid), rel),
						 retrieved, remote_conds, best_path->path.pathkeys,
						 limit, &params);
	table_close(rel, NoLock);

	return make_foreignscan(tlist, local_exprs, baserel->relid, params,
							list_make2(makeString(sql), retrieved),
							NIL, NIL, outer_plan);
}

static void
liveBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	Relation	rel = node->ss.ss_currentRelation;
	ForeignTable *ft = GetForeignTable(RelationGetRelid(rel));
	RangeTblEntry *rte = exec_rt_fetch(fsplan->scan.scanrelid, estate);
	LiveScanState *ls = palloc0(sizeof(LiveScanState));
	ListCell   *lc;
	int			i;

	node->fdw_state = ls;
	ls->userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	ls->opts = options_get_server(ft->serverid, ls->userid);
	ls->table = pstrdup(remote_table_name(ft, rel));
	ls->sql = strVal(list_nth(fsplan->fdw_private, FdwPrivateSql));
	ls->retrieved = (List *) list_nth(fsplan->fdw_private, FdwPrivateRetrieved);
	ls->nretrieved = list_length(ls->retrieved);
	ls->attidx = palloc(sizeof(int) * Max(ls->nretrieved, 1));
	i = 0;
	foreach(lc, ls->retrieved)
		ls->attidx[i++] = lfirst_int(lc) - 1;

	ls->nparams = list_length(fsplan->fdw_exprs);
	ls->param_exprs = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
	ls->param_types = palloc(sizeof(Oid) * Max(ls->nparams, 1));
	i = 0;
	foreach(lc, fsplan->fdw_exprs)
		ls->param_types[i++] = exprType(lfirst(lc));

	ls->ccxt.keyspace = ls->opts->keyspace;
	ls->ccxt.shard = "";
	ls->ccxt.table = ls->table;
	ls->ccxt.position = NULL;
	ls->ccxt.policy = ls->opts->invalid_values;

	ls->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "live scan row",
									   ALLOCSET_SMALL_SIZES);
	ls->colcxt = AllocSetContextCreate(CurrentMemoryContext, "live scan columns",
									   ALLOCSET_SMALL_SIZES);
	ls->cleanup.func = live_release;
	ls->cleanup.arg = ls;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &ls->cleanup);
}

/* Send the query (with the current parameter values). */
static void
live_start(ForeignScanState *node, LiveScanState *ls)
{
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	char	   *sql = ls->sql;
	MYSQL_RES  *res;
	MYSQL_FIELD *fields;
	MemoryContext old;
	int			i;

	if (ls->nparams > 0)
	{
		Datum	   *values = palloc(sizeof(Datum) * ls->nparams);
		bool	   *nulls = palloc(sizeof(bool) * ls->nparams);
		ListCell   *lc;

		i = 0;
		old = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
		foreach(lc, ls->param_exprs)
		{
			values[i] = ExecEvalExpr((ExprState *) lfirst(lc), econtext,
									 &nulls[i]);
			i++;
		}
		MemoryContextSwitchTo(old);
		sql = deparse_fill_params(ls->sql, ls->nparams, values, nulls,
								  ls->param_types);
	}

	ls->conn = mysqlconn_get(ls->opts, ls->userid, true);
	res = mysqlconn_query(ls->conn, sql);
	ls->started = true;

	if (mysql_num_fields(res) != (unsigned int) Max(ls->nretrieved, 1))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_COLUMN_NUMBER),
				 errmsg("VTGate returned %u columns for table \"%s\" where %d were asked for",
						mysql_num_fields(res), ls->table, Max(ls->nretrieved, 1)),
				 errdetail("Remote query: %s", sql)));
	if (ls->cols != NULL)
		return;

	/* conversions from the first result's metadata */
	fields = mysql_fetch_fields(res);
	old = MemoryContextSwitchTo(ls->colcxt);
	ls->cols = palloc0(sizeof(ConvertColumn) * Max(ls->nretrieved, 1));
	for (i = 0; i < ls->nretrieved; i++)
	{
		Form_pg_attribute att = TupleDescAttr(RelationGetDescr(node->ss.ss_currentRelation),
											  ls->attidx[i]);
		Query__Field f;

		mysqlconn_field_to_query_field(&fields[i], NULL, &f);
		convert_column_init(&ls->cols[i], &f, att->atttypid, att->atttypmod);
		convert_column_set_enum_strings(&ls->cols[i], true);
	}
	MemoryContextSwitchTo(old);
}

static TupleTableSlot *
liveIterateForeignScan(ForeignScanState *node)
{
	LiveScanState *ls = (LiveScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	TupleDesc	td = slot->tts_tupleDescriptor;
	MYSQL_ROW	row;
	unsigned long *lengths;
	int			i;
	MemoryContext old;

	ExecClearTuple(slot);
	if (!ls->started)
		live_start(node, ls);
	if (ls->conn == NULL)
		return slot;			/* already at the end */
	row = mysqlconn_fetch(ls->conn, (unsigned int) Max(ls->nretrieved, 1),
						  &lengths);
	if (row == NULL)
	{
		/* the result is complete: the connection goes back to the cache */
		live_finish(ls);
		return slot;
	}

	MemoryContextReset(ls->rowcxt);
	old = MemoryContextSwitchTo(ls->rowcxt);
	for (i = 0; i < td->natts; i++)
	{
		slot->tts_values[i] = (Datum) 0;
		slot->tts_isnull[i] = true;
	}
	for (i = 0; i < ls->nretrieved; i++)
	{
		int			a = ls->attidx[i];
		bool		isnull = false;

		slot->tts_values[a] = convert_cell(&ls->cols[i], row[i],
										   row[i] ? (int) lengths[i] : -1,
										   &isnull, &ls->ccxt);
		slot->tts_isnull[a] = isnull;
	}
	MemoryContextSwitchTo(old);
	ExecStoreVirtualTuple(slot);
	return slot;
}

static void
liveReScanForeignScan(ForeignScanState *node)
{
	LiveScanState *ls = (LiveScanState *) node->fdw_state;

	/*
	 * An unfinished result is read to its end if it has arrived (a lookup),
	 * else its connection is closed and the next scan reconnects.
	 */
	live_finish(ls);
	ls->started = false;
}

static void
liveEndForeignScan(ForeignScanState *node)
{
	LiveScanState *ls = (LiveScanState *) node->fdw_state;

	if (ls)
		live_finish(ls);
}

static void
liveExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;

	ExplainPropertyText("Remote SQL",
						strVal(list_nth(fsplan->fdw_private, FdwPrivateSql)),
						es);
}

void
live_fill_routine(FdwRoutine *routine)
{
	routine->GetForeignRelSize = liveGetForeignRelSize;
	routine->GetForeignPaths = liveGetForeignPaths;
	routine->GetForeignPlan = liveGetForeignPlan;
	routine->BeginForeignScan = liveBeginForeignScan;
	routine->IterateForeignScan = liveIterateForeignScan;
	routine->ReScanForeignScan = liveReScanForeignScan;
	routine->EndForeignScan = liveEndForeignScan;
	routine->ExplainForeignScan = liveExplainForeignScan;
	routine->ImportForeignSchema = live_import_foreign_schema;
}
