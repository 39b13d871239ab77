/*-------------------------------------------------------------------------
 *
 * live.c
 *	  Live foreign scans of Vitess tables through VTGate's MySQL protocol.
 *
 * A foreign table of a vstream_fdw server reads the current rows of a
 * Vitess table through VTGate's MySQL port (server option mysql_port) with
 * libmysqlclient, as "SELECT <columns> FROM <table>" in the keyspace.  No
 * conditions are pushed down yet; PostgreSQL filters locally.  Mirror
 * tables are the fast path; this is for spot checks and small tables.
 *
 * libmysqlclient calls block; read and connect timeouts bound them, and
 * interrupts are served between rows.
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
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "live.h"
#include "options.h"

/* libmariadb declares list_* functions that clash with pg_list.h. */
#define list_length mysql_list_length
#define list_delete mysql_list_delete
#define list_free mysql_list_free
#define list_add mysql_list_add
#define list_cons mysql_list_cons
#define list_reverse mysql_list_reverse
#include <mysql.h>
#undef list_length
#undef list_delete
#undef list_free
#undef list_add
#undef list_cons
#undef list_reverse

typedef struct LiveScanState
{
	MYSQL	   *conn;
	MYSQL_RES  *result;
	char	   *query;
	VStreamServerOptions *opts;
	int			natts;
	FmgrInfo   *infuncs;
	Oid		   *typioparams;
	Oid		   *typids;
	int32	   *typmods;
	MemoryContext rowcxt;
	MemoryContextCallback cleanup;
} LiveScanState;

static void
live_release(void *arg)
{
	LiveScanState *ls = (LiveScanState *) arg;

	if (ls->result)
	{
		mysql_free_result(ls->result);
		ls->result = NULL;
	}
	if (ls->conn)
	{
		mysql_close(ls->conn);
		ls->conn = NULL;
	}
}

static char *
quote_mysql_ident(const char *name)
{
	StringInfoData buf;
	const char *p;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '`');
	for (p = name; *p; p++)
	{
		if (*p == '`')
			appendStringInfoChar(&buf, '`');
		appendStringInfoChar(&buf, *p);
	}
	appendStringInfoChar(&buf, '`');
	return buf.data;
}

static void
liveGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	baserel->rows = 1000;
}

static void
liveGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	Cost		startup = 100;
	Cost		total = startup + baserel->rows * 0.1;

	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, baserel->rows,
#if PG_VERSION_NUM >= 180000
									 0,
#endif
									 startup, total, NIL,
									 baserel->lateral_relids, NULL,
#if PG_VERSION_NUM >= 170000
									 NIL,
#endif
									 NIL));
}

static ForeignScan *
liveGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				   ForeignPath *best_path, List *tlist, List *scan_clauses,
				   Plan *outer_plan)
{
	scan_clauses = extract_actual_clauses(scan_clauses, false);
	return make_foreignscan(tlist, scan_clauses, baserel->relid, NIL, NIL,
							NIL, NIL, outer_plan);
}

static void
raise_mysql_error(LiveScanState *ls, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
			 errmsg("%s VTGate at %s:%d over the MySQL protocol: %s",
					what, ls->opts->host, ls->opts->mysql_port,
					ls->conn ? mysql_error(ls->conn) : "out of memory"),
			 errhint("Check the \"mysql_port\" option of the foreign server and the user mapping.")));
}

static void
live_run_query(LiveScanState *ls)
{
	unsigned int timeout;

	if (ls->conn == NULL)
	{
		ls->conn = mysql_init(NULL);
		if (ls->conn == NULL)
			raise_mysql_error(ls, "could not connect to");
		timeout = (unsigned int) ls->opts->connect_timeout;
		mysql_options(ls->conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
		timeout = 300;
		mysql_options(ls->conn, MYSQL_OPT_READ_TIMEOUT, &timeout);
		mysql_options(ls->conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
		if (mysql_real_connect(ls->conn, ls->opts->host, ls->opts->user,
							   ls->opts->password, ls->opts->keyspace,
							   ls->opts->mysql_port, NULL, 0) == NULL)
			raise_mysql_error(ls, "could not connect to");
	}
	if (mysql_real_query(ls->conn, ls->query, strlen(ls->query)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("query on VTGate failed: %s", mysql_error(ls->conn)),
				 errdetail("Remote query: %s", ls->query)));
	ls->result = mysql_use_result(ls->conn);
	if (ls->result == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("query on VTGate returned no result: %s",
						mysql_error(ls->conn)),
				 errdetail("Remote query: %s", ls->query)));
}

static void
liveBeginForeignScan(ForeignScanState *node, int eflags)
{
	Relation	rel = node->ss.ss_currentRelation;
	TupleDesc	tupdesc = RelationGetDescr(rel);
	ForeignTable *ft = GetForeignTable(RelationGetRelid(rel));
	LiveScanState *ls = palloc0(sizeof(LiveScanState));
	const char *table = RelationGetRelationName(rel);
	StringInfoData q;
	ListCell   *lc;
	int			i;
	bool		first = true;

	node->fdw_state = ls;
	ls->opts = options_get_server(ft->serverid, GetUserId());
	foreach(lc, ft->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, "table_name") == 0)
			table = defGetString(def);
	}

	ls->natts = tupdesc->natts;
	ls->infuncs = palloc0(sizeof(FmgrInfo) * ls->natts);
	ls->typioparams = palloc0(sizeof(Oid) * ls->natts);
	ls->typids = palloc0(sizeof(Oid) * ls->natts);
	ls->typmods = palloc0(sizeof(int32) * ls->natts);
	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT ");
	for (i = 0; i < ls->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		Oid			infunc;

		if (att->attisdropped)
			continue;
		getTypeInputInfo(att->atttypid, &infunc, &ls->typioparams[i]);
		fmgr_info(infunc, &ls->infuncs[i]);
		ls->typids[i] = att->atttypid;
		ls->typmods[i] = att->atttypmod;
		appendStringInfo(&q, "%s%s", first ? "" : ", ",
						 quote_mysql_ident(NameStr(att->attname)));
		first = false;
	}
	if (first)
		appendStringInfoString(&q, "1");
	appendStringInfo(&q, " FROM %s", quote_mysql_ident(table));
	ls->query = q.data;
	ls->rowcxt = AllocSetContextCreate(CurrentMemoryContext, "live scan row",
									   ALLOCSET_SMALL_SIZES);
	ls->cleanup.func = live_release;
	ls->cleanup.arg = ls;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &ls->cleanup);

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
	live_run_query(ls);
}

static TupleTableSlot *
liveIterateForeignScan(ForeignScanState *node)
{
	LiveScanState *ls = (LiveScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	MYSQL_ROW	row;
	unsigned long *lengths;
	int			i;
	int			col = 0;
	MemoryContext old;

	CHECK_FOR_INTERRUPTS();
	ExecClearTuple(slot);
	row = mysql_fetch_row(ls->result);
	if (row == NULL)
	{
		if (mysql_errno(ls->conn) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("could not fetch rows from VTGate: %s",
							mysql_error(ls->conn))));
		return slot;
	}
	lengths = mysql_fetch_lengths(ls->result);
	MemoryContextReset(ls->rowcxt);
	old = MemoryContextSwitchTo(ls->rowcxt);
	for (i = 0; i < ls->natts; i++)
	{
		if (ls->typids[i] == InvalidOid)
		{
			slot->tts_isnull[i] = true;
			continue;
		}
		if (row[col] == NULL)
		{
			slot->tts_isnull[i] = true;
			slot->tts_values[i] = (Datum) 0;
		}
		else if (ls->typids[i] == BYTEAOID)
		{
			bytea	   *b = palloc(VARHDRSZ + lengths[col]);

			SET_VARSIZE(b, VARHDRSZ + lengths[col]);
			memcpy(VARDATA(b), row[col], lengths[col]);
			slot->tts_isnull[i] = false;
			slot->tts_values[i] = PointerGetDatum(b);
		}
		else
		{
			char	   *s = pnstrdup(row[col], lengths[col]);

			slot->tts_isnull[i] = false;
			slot->tts_values[i] = InputFunctionCall(&ls->infuncs[i], s,
													ls->typioparams[i],
													ls->typmods[i]);
		}
		col++;
	}
	MemoryContextSwitchTo(old);
	ExecStoreVirtualTuple(slot);
	return slot;
}

static void
liveReScanForeignScan(ForeignScanState *node)
{
	LiveScanState *ls = (LiveScanState *) node->fdw_state;

	if (ls->result)
	{
		mysql_free_result(ls->result);
		ls->result = NULL;
	}
	live_run_query(ls);
}

static void
liveEndForeignScan(ForeignScanState *node)
{
	LiveScanState *ls = (LiveScanState *) node->fdw_state;

	if (ls)
		live_release(ls);
}

static void
liveExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	LiveScanState *ls = (LiveScanState *) node->fdw_state;

	ExplainPropertyText("Remote query", ls->query, es);
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
}

/*
 * Unquote a MariaDB COLUMN_DEFAULT string literal ('it''s' -> it's).
 */
static char *
unquote_mysql_literal(const char *v, size_t len)
{
	StringInfoData buf;
	size_t		i;

	initStringInfo(&buf);
	for (i = 1; i + 1 < len; i++)
	{
		if ((v[i] == '\'' && v[i + 1] == '\'') || v[i] == '\\')
			i++;
		appendStringInfoChar(&buf, v[i]);
	}
	return buf.data;
}

bool
live_column_default(const VStreamServerOptions *opts, const char *table,
					const char *column, char **value, bool *isnull)
{
	MYSQL	   *conn;
	MYSQL_RES  *res = NULL;
	MYSQL_ROW	row;
	unsigned long *lengths;
	unsigned int timeout = (unsigned int) opts->connect_timeout;
	char	   *etable;
	char	   *ecolumn;
	char	   *eks;
	char	   *q;
	bool		known = false;

	*value = NULL;
	*isnull = false;
	conn = mysql_init(NULL);
	if (conn == NULL)
		return false;
	mysql_options(conn, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_options(conn, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(conn, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	if (mysql_real_connect(conn, opts->host, opts->user, opts->password,
						   opts->keyspace, opts->mysql_port, NULL, 0) == NULL)
	{
		ereport(WARNING,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not read the default of column \"%s\" of table \"%s\" through VTGate at %s:%d: %s",
						column, table, opts->host, opts->mysql_port, mysql_error(conn))));
		mysql_close(conn);
		return false;
	}
	etable = palloc(strlen(table) * 2 + 1);
	ecolumn = palloc(strlen(column) * 2 + 1);
	eks = palloc(strlen(opts->keyspace) * 2 + 1);
	mysql_real_escape_string(conn, etable, table, strlen(table));
	mysql_real_escape_string(conn, ecolumn, column, strlen(column));
	mysql_real_escape_string(conn, eks, opts->keyspace, strlen(opts->keyspace));
	q = psprintf("SELECT COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS"
				 " WHERE TABLE_SCHEMA = '%s' AND TABLE_NAME = '%s' AND COLUMN_NAME = '%s'",
				 eks, etable, ecolumn);
	if (mysql_real_query(conn, q, strlen(q)) == 0 &&
		(res = mysql_store_result(conn)) != NULL &&
		(row = mysql_fetch_row(res)) != NULL)
	{
		const char *def = row[0];
		const char *extra = row[1] ? row[1] : "";

		lengths = mysql_fetch_lengths(res);
		if (def == NULL || strcmp(def, "NULL") == 0)
		{
			*isnull = true;
			known = true;
		}
		else if (lengths[0] >= 2 && def[0] == '\'' && def[lengths[0] - 1] == '\'')
		{
			/* MariaDB quotes string literals */
			*value = unquote_mysql_literal(def, lengths[0]);
			known = true;
		}
		else if (strstr(extra, "DEFAULT_GENERATED") == NULL &&
				 strchr(def, '(') == NULL)
		{
			/* a number (MariaDB) or an unquoted literal (MySQL) */
			*value = pnstrdup(def, lengths[0]);
			known = true;
		}
	}
	if (res)
		mysql_free_result(res);
	mysql_close(conn);
	return known;
}
