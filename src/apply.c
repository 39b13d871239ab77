/*-------------------------------------------------------------------------
 *
 * apply.c
 *	  Executor-level apply of VStream row events to mirror tables.
 *
 * One PostgreSQL transaction per source transaction (or copy batch).  The
 * first change to a mirror builds its executor state (EState,
 * ResultRelInfo with indexes, slots, primary-key scan keys), kept in a hash
 * for the session: a later transaction locks and references the relation
 * and its indexes again and reuses the rest, unless a relcache
 * invalidation came in between (see get_rel).
 *
 * Inserts are buffered per relation (up to vstream_fdw.insert_batch_size
 * rows) and written with table_multi_insert and a BulkInsertState once a
 * buffer fills, then their index entries are added.  The primary-key index
 * entry is inserted without failing on a duplicate (as for a deferred
 * unique constraint); a row reported as a possible duplicate is then
 * resolved by deleting every other live row with its key: an insert over an
 * existing key replaces it.  That makes the copy phase and replays after a
 * reconnect converge at no cost on the common path.
 *
 * Updates and deletes find the row through the primary key
 * (RelationFindReplTupleByIndex) and use ExecSimpleRelationUpdate/Delete;
 * the insert buffer of the relation is flushed first.  An update of a
 * missing row inserts the after image; a delete of a missing row is
 * skipped; both are counted.  Mirrors with row triggers take the plain
 * ExecSimpleRelationInsert path so that triggers see every row.
 *
 * Partial row images (binlog_row_image=minimal/noblob): RowChange.data_columns
 * lists the columns an after image carries; the others keep the mirror
 * row's values (an insert gets their defaults).  A before image may carry
 * only the primary key.  JSON partial values (PARTIAL_JSON) are refused.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/apply.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_am.h"
#include "catalog/pg_opclass.h"
#include "commands/trigger.h"
#include "executor/nodeModifyTable.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/optimizer.h"
#include "parser/parsetree.h"
#include "pgstat.h"
#include "rewrite/rewriteHandler.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "storage/lmgr.h"

#include "apply.h"
#include "shape.h"
#include "rowfilter.h"
#include "vstream.h"

#if PG_VERSION_NUM >= 160000
#include "parser/parse_relation.h"
#endif

int			vstream_insert_batch_size = 1000;

static void flush_inserts(ApplyState *state, ApplyRel *ar);

/* A hash table keyed by relation OID, for the session. */
static HTAB *
session_relid_hash(ApplyState *state, const char *name, Size entrysize)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = entrysize;
	ctl.hcxt = state->sessioncxt;
	return hash_create(name, 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Start the PostgreSQL transaction of a source transaction. */
void
apply_begin(ApplyState *state)
{
	Assert(!state->in_txn);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	/* for the session; entries are removed when their transaction ends */
	if (state->rels == NULL)
		state->rels = session_relid_hash(state, "vstream_fdw apply relations",
										 sizeof(ApplyRel));
	state->last_rel = NULL;
	state->in_txn = true;
	state->cid_used = false;
	MemoryContextSwitchTo(state->msgcxt);
}

/* Make the changes so far visible to the next lookup (new command id). */
static void
next_command(ApplyState *state)
{
	if (state->cid_used)
	{
		CommandCounterIncrement();
		state->cid_used = false;
	}
}

static void
build_pk_scankeys(ApplyRel *ar)
{
	Relation	idxrel = index_open(ar->pkindex, AccessShareLock);
	int2vector *indkey = &idxrel->rd_index->indkey;
	int			i;

	ar->nkeys = IndexRelationGetNumberOfKeyAttributes(idxrel);
	ar->skey = palloc0(sizeof(ScanKeyData) * ar->nkeys);
	ar->keyatts = palloc(sizeof(AttrNumber) * ar->nkeys);
	for (i = 0; i < ar->nkeys; i++)
	{
		Oid			opfamily = idxrel->rd_opfamily[i];
		Oid			optype = idxrel->rd_opcintype[i];
		Oid			operator;
		RegProcedure regop;

		if (indkey->values[i] <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("primary key of mirror table \"%s\" contains an expression",
							RelationGetRelationName(ar->rel))));
		ar->keyatts[i] = indkey->values[i];
		operator = get_opfamily_member(opfamily, optype, optype,
									   BTEqualStrategyNumber);
		if (!OidIsValid(operator))
			elog(ERROR, "missing operator %d(%u,%u) in opfamily %u",
				 BTEqualStrategyNumber, optype, optype, opfamily);
		regop = get_opcode(operator);
		ScanKeyInit(&ar->skey[i], i + 1, BTEqualStrategyNumber, regop,
					(Datum) 0);
		ar->skey[i].sk_collation = idxrel->rd_indcollation[i];
	}
	index_close(idxrel, NoLock);
}

/*
 * Relcache invalidations seen by this backend: executor state kept from an
 * earlier transaction is reused only if none came since it was built (the
 * relation and index pointers it holds are then still those of the
 * relcache).  Any relation counts: invalidations are rare in steady state.
 */
static uint64 apply_inval_gen = 0;
static bool apply_inval_registered = false;

/* rebuild kept executor state after this many transactions (bounds growth) */
#define APPLY_REL_MAX_USES	10000

static void
apply_relcache_callback(Datum arg, Oid relid)
{
	apply_inval_gen++;
}

/* Forget a relation's executor state (it is not open in a transaction). */
static void
discard_rel(ApplyState *state, ApplyRel *ar)
{
	Oid			relid = ar->relid;

	Assert(!ar->open);
	/* no relation access: the relcache pointers may be stale */
	if (ar->cxt)
		MemoryContextDelete(ar->cxt);
	if (state->last_rel == ar)
		state->last_rel = NULL;
	hash_search(state->rels, &relid, HASH_REMOVE, NULL);
}

/*
 * Open a relation kept from an earlier transaction again: lock it and its
 * indexes (which processes the invalidations), then take its relcache
 * references if nothing was invalidated since the state was built.
 */
static bool
reopen_rel(ApplyRel *ar, ApplyMapping *m)
{
	Relation	rel;
	int			i;

	if (ar->inval_gen != apply_inval_gen || ar->pkindex != m->pkindex ||
		ar->uses >= APPLY_REL_MAX_USES)
		return false;
	LockRelationOid(ar->relid, RowExclusiveLock);
	for (i = 0; i < ar->nindexes; i++)
		LockRelationOid(ar->indexoids[i], RowExclusiveLock);
	if (ar->inval_gen != apply_inval_gen)
		return false;
	rel = table_open(ar->relid, NoLock);
	if (rel != ar->rel)
	{
		table_close(rel, NoLock);
		return false;
	}
	for (i = 0; i < ar->nindexes; i++)
	{
		Relation	idx = index_open(ar->indexoids[i], NoLock);

		if (idx != ar->rri->ri_IndexRelationDescs[i] ||
			ar->inval_gen != apply_inval_gen)
		{
			int			j;

			index_close(idx, NoLock);
			for (j = 0; j < i; j++)
				index_close(ar->rri->ri_IndexRelationDescs[j], NoLock);
			table_close(rel, NoLock);
			return false;
		}
	}
	return true;
}

/*
 * Executor state of a mirror in the open transaction.  Built on first use
 * and kept for the next transactions (in the relation's own context; the
 * slots use an unpinned copy of its descriptor), then reopened: the
 * relation and its indexes are locked and referenced again each
 * transaction, the rest (EState, ResultRelInfo with IndexInfo, slots, key
 * scans, defaults) is reused.  A relcache invalidation, a different primary
 * key or row triggers make it rebuilt.
 */
static ApplyRel *
get_rel(ApplyState *state, ApplyMapping *m)
{
	ApplyRel   *ar;
	bool		found;
	RangeTblEntry *rte;
	MemoryContext old;
	TupleDesc	desc;
	int			natts;
	int			i;

	/* consecutive events of one table: no hash lookup */
	if (state->last_rel != NULL && state->last_rel->relid == m->relid)
	{
		ar = state->last_rel;
		ar->estate->es_output_cid = GetCurrentCommandId(true);
		return ar;
	}
	ar = hash_search(state->rels, &m->relid, HASH_ENTER, &found);
	if (found && ar->open)
	{
		ar->estate->es_output_cid = GetCurrentCommandId(true);
		return ar;
	}
	if (!apply_inval_registered)
	{
		CacheRegisterRelcacheCallback(apply_relcache_callback, (Datum) 0);
		apply_inval_registered = true;
	}
	if (found && reopen_rel(ar, m))
	{
		ar->open = true;
		ar->uses++;
		ar->estate->es_snapshot = GetActiveSnapshot();
		ar->estate->es_output_cid = GetCurrentCommandId(true);
		ar->prev = state->last_rel;
		state->last_rel = ar;
		return ar;
	}
	if (found)
	{
		discard_rel(state, ar);
		ar = hash_search(state->rels, &m->relid, HASH_ENTER, &found);
		Assert(!found);
	}

	memset(((char *) ar) + sizeof(Oid), 0, sizeof(ApplyRel) - sizeof(Oid));
	ar->cxt = AllocSetContextCreate(state->sessioncxt, "vstream_fdw apply relation",
									ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(ar->cxt);
	ar->inval_gen = apply_inval_gen;
	ar->rel = table_open(m->relid, RowExclusiveLock);
	ar->desc = CreateTupleDescCopyConstr(RelationGetDescr(ar->rel));
	desc = ar->desc;
	natts = desc->natts;

	ar->estate = CreateExecutorState();
	rte = makeNode(RangeTblEntry);
	rte->rtekind = RTE_RELATION;
	rte->relid = m->relid;
	rte->relkind = ar->rel->rd_rel->relkind;
	rte->rellockmode = RowExclusiveLock;
#if PG_VERSION_NUM >= 160000
	{
		List	   *perminfos = NIL;

		addRTEPermissionInfo(&perminfos, rte);
		ExecInitRangeTable(ar->estate, list_make1(rte), perminfos);
	}
#else
	ExecInitRangeTable(ar->estate, list_make1(rte));
#endif
	ar->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(ar->rri, ar->rel, 1, NULL, 0);
	ar->estate->es_opened_result_relations =
		lappend(ar->estate->es_opened_result_relations, ar->rri);
	ar->estate->es_output_cid = GetCurrentCommandId(true);
	ar->estate->es_snapshot = GetActiveSnapshot();
	ExecOpenIndices(ar->rri, false);
	ar->nindexes = ar->rri->ri_NumIndices;
	ar->indexoids = palloc(sizeof(Oid) * Max(ar->nindexes, 1));
	for (i = 0; i < ar->nindexes; i++)
		ar->indexoids[i] = RelationGetRelid(ar->rri->ri_IndexRelationDescs[i]);

	ar->pkindex = m->pkindex;
	ar->arbiter = list_make1_oid(ar->pkindex);
	ar->simple = (ar->rel->trigdesc != NULL &&
				  (ar->rel->trigdesc->trig_insert_before_row ||
				   ar->rel->trigdesc->trig_insert_after_row ||
				   ar->rel->trigdesc->trig_insert_instead_row));
	ar->has_constraints = (RelationGetDescr(ar->rel)->constr != NULL);
	ar->has_generated = (RelationGetDescr(ar->rel)->constr != NULL &&
						 RelationGetDescr(ar->rel)->constr->has_generated_stored);
	if (ar->rel->trigdesc)
		AfterTriggerBeginQuery();

	ar->scratch = ExecInitExtraTupleSlot(ar->estate, desc, &TTSOpsVirtual);
	ar->nslots = ar->simple ? 0 : Max(vstream_insert_batch_size, 1);
	ar->buffer = NULL;			/* see insert_buffer() */
	ar->defexprs = palloc0(sizeof(ExprState *) * natts);
	ar->defbuilt = palloc0(sizeof(bool) * natts);
	/* lookup state (slots, key scans) is built when a lookup needs it */

	ar->open = true;
	ar->uses = 1;
	ar->prev = state->last_rel;
	state->last_rel = ar;
	MemoryContextSwitchTo(old);
	return ar;
}

/*
 * Slots and primary-key scan keys for finding rows (updates, deletes,
 * conflicts, mirrors with triggers); inserts into a mirror that has no
 * conflict never need them, so most single-row transactions skip this.
 */
static void
prepare_lookups(ApplyRel *ar)
{
	MemoryContext old;
	TupleDesc	desc;

	if (ar->localslot != NULL)
		return;
	old = MemoryContextSwitchTo(ar->estate->es_query_cxt);
	desc = ar->desc;
	ar->keyslot = ExecInitExtraTupleSlot(ar->estate, desc, &TTSOpsVirtual);
	ar->newslot = ExecInitExtraTupleSlot(ar->estate, desc, &TTSOpsVirtual);
	ar->scanslot = ExecInitExtraTupleSlot(ar->estate, desc,
										  table_slot_callbacks(ar->rel));
	build_pk_scankeys(ar);
	/* last: it marks the set as built */
	ar->localslot = ExecInitExtraTupleSlot(ar->estate, desc,
										   table_slot_callbacks(ar->rel));
	MemoryContextSwitchTo(old);
}

/* Can slots made for descriptor "a" hold rows of "b"? */
static bool
same_row_shape(TupleDesc a, TupleDesc b)
{
	int			i;

	if (a->natts != b->natts)
		return false;
	for (i = 0; i < a->natts; i++)
	{
		Form_pg_attribute x = TupleDescAttr(a, i);
		Form_pg_attribute y = TupleDescAttr(b, i);

		if (x->atttypid != y->atttypid || x->atttypmod != y->atttypmod ||
			x->attlen != y->attlen || x->attbyval != y->attbyval ||
			x->attalign != y->attalign || x->attstorage != y->attstorage ||
			x->attisdropped != y->attisdropped)
			return false;
	}
	return true;
}

/*
 * The insert buffer of a relation in this transaction: the slots of its
 * session-lifetime pool, (re)built when missing or when the mirror's row
 * shape or the batch size changed.
 */
static TupleTableSlot **
insert_buffer(ApplyState *state, ApplyRel *ar)
{
	ApplySlotPool *pool;
	bool		found;
	TupleDesc	desc = RelationGetDescr(ar->rel);

	if (state->slot_pools == NULL)
		state->slot_pools = session_relid_hash(state, "vstream_fdw insert slots",
											   sizeof(ApplySlotPool));
	pool = hash_search(state->slot_pools, &ar->relid, HASH_ENTER, &found);
	if (!found)
		pool->cxt = NULL;
	if (pool->cxt != NULL &&
		(pool->maxslots != ar->nslots || !same_row_shape(pool->desc, desc)))
	{
		MemoryContext cxt = pool->cxt;

		pool->cxt = NULL;
		MemoryContextDelete(cxt);
	}
	if (pool->cxt == NULL)
	{
		MemoryContext cxt;
		MemoryContext old;

		cxt = AllocSetContextCreate(state->sessioncxt, "vstream_fdw insert slots",
									ALLOCSET_DEFAULT_SIZES);
		old = MemoryContextSwitchTo(cxt);
		/* unpinned copy: pinning a descriptor per slot is costly */
		pool->desc = CreateTupleDescCopy(desc);
		pool->maxslots = ar->nslots;
		pool->slots = palloc0(sizeof(TupleTableSlot *) * ar->nslots);
		MemoryContextSwitchTo(old);
		/* last: a pool with a context is complete */
		pool->cxt = cxt;
	}
	return pool->slots;
}

/* A buffer slot of the relation's pool, made on first use. */
static TupleTableSlot *
buffer_slot(ApplyState *state, ApplyRel *ar, int i)
{
	ApplySlotPool *pool;

	if (ar->buffer[i] == NULL)
	{
		MemoryContext old;

		pool = hash_search(state->slot_pools, &ar->relid, HASH_FIND, NULL);
		Assert(pool != NULL && pool->slots == ar->buffer);
		old = MemoryContextSwitchTo(pool->cxt);
		ar->buffer[i] = MakeSingleTupleTableSlot(pool->desc,
												 table_slot_callbacks(ar->rel));
		MemoryContextSwitchTo(old);
	}
	return ar->buffer[i];
}

/* Default value of a mirror attribute the source does not send. */
static Datum
column_default(ApplyRel *ar, int attoff, bool *isnull)
{
	if (!ar->defbuilt[attoff])
	{
		MemoryContext old = MemoryContextSwitchTo(ar->estate->es_query_cxt);
		Node	   *expr;

		expr = build_column_default(ar->rel, attoff + 1);
		if (expr)
			ar->defexprs[attoff] = ExecInitExpr(expression_planner((Expr *) expr),
												NULL);
		ar->defbuilt[attoff] = true;
		MemoryContextSwitchTo(old);
	}
	if (ar->defexprs[attoff] == NULL)
	{
		*isnull = true;
		return (Datum) 0;
	}
	return ExecEvalExpr(ar->defexprs[attoff], GetPerTupleExprContext(ar->estate),
						isnull);
}

/* Is column i set in a RowChange bitmap (byte i/8, bit i%8, LSB first)? */
static inline bool
bitmap_bit(const Binlogdata__RowChange__Bitmap *b, int i)
{
	return (size_t) (i / 8) < b->cols.len &&
		((b->cols.data[i / 8] >> (i % 8)) & 1) != 0;
}

/*
 * Does a data_columns bitmap describe a partial image (binlog_row_image
 * minimal or noblob)?  Absent or empty means a full image.
 */
static bool
bitmap_partial(ApplyMapping *m, const Binlogdata__RowChange__Bitmap *b)
{
	int			i;

	if (b == NULL || b->cols.len == 0)
		return false;
	if (b->count > 0 && b->count != m->nfields)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("partial row image of table \"%s\" from shard %s/%s has a column bitmap of " INT64_FORMAT " columns but its FIELD event has %d",
						m->table, m->keyspace, m->shard, (int64) b->count, m->nfields),
				 errhint("The stream is out of step with the table schema; resync the stream.")));
	for (i = 0; i < m->nfields; i++)
		if (!bitmap_bit(b, i))
			return true;
	return false;
}

static bool
any_bit_set(const Binlogdata__RowChange__Bitmap *b)
{
	size_t		i;

	if (b == NULL)
		return false;
	for (i = 0; i < b->cols.len; i++)
		if (b->cols.data[i] != 0)
			return true;
	return false;
}

/*
 * Decode a row image into m->cell_values/cell_lengths.  "cols" is the
 * RowChange.data_columns bitmap (NULL or empty: a full image).  Returns NULL
 * when every column is present, else a per-field "present" array.  A
 * partial image may carry every column (the absent ones as NULL, as VTGate
 * sends it) or only the present ones.  A before image (key_only) may carry
 * only the primary-key columns (binlog_row_image=minimal).
 */
static bool *
decode_image(ApplyMapping *m, const Query__Row *row,
			 const Binlogdata__RowChange__Bitmap *cols, bool key_only)
{
	int			nf = m->nfields;
	bool		partial = bitmap_partial(m, cols);
	bool	   *present;
	int			npresent = 0;
	const char **vals;
	int		   *lens;
	int			i;
	int			j;

	if (row != NULL && (int) row->n_lengths == nf)
	{
		vstream_decode_row(row, nf, m->cell_values, m->cell_lengths);
		if (!partial)
			return NULL;
		present = palloc(sizeof(bool) * nf);
		for (i = 0; i < nf; i++)
			present[i] = bitmap_bit(cols, i);
		return present;
	}

	present = palloc0(sizeof(bool) * nf);
	if (partial)
	{
		for (i = 0; i < nf; i++)
			if ((present[i] = bitmap_bit(cols, i)))
				npresent++;
	}
	else if (key_only && row != NULL && m->npk > 0 && (int) row->n_lengths == m->npk)
	{
		for (i = 0; i < m->npk; i++)
			present[m->pk_fields[i]] = true;
		npresent = m->npk;
	}
	else
	{
		/* reports the mismatch */
		vstream_decode_row(row, nf, m->cell_values, m->cell_lengths);
		return NULL;
	}
	if (row == NULL || (int) row->n_lengths != npresent)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("partial row image of table \"%s\" from shard %s/%s has %d values but %d columns are present",
						m->table, m->keyspace, m->shard,
						row ? (int) row->n_lengths : 0, npresent)));
	vals = palloc(sizeof(char *) * Max(npresent, 1));
	lens = palloc(sizeof(int) * Max(npresent, 1));
	vstream_decode_row(row, npresent, vals, lens);
	/* the present values come in column order */
	for (i = 0, j = 0; i < nf; i++)
	{
		if (present[i])
		{
			m->cell_values[i] = vals[j];
			m->cell_lengths[i] = lens[j];
			j++;
		}
		else
		{
			m->cell_values[i] = NULL;
			m->cell_lengths[i] = -1;
		}
	}
	pfree(vals);
	pfree(lens);
	return present;
}

/*
 * Fill "slot" from a source row: mapped columns converted, the others from
 * their defaults (keep_slot: from that slot instead, for updates), or only
 * the primary key (key_only).  "cols": data_columns of a partial image;
 * columns it does not list are treated like unmapped ones (kept from
 * keep_slot, else defaults).  Allocates in the per-tuple context.
 */
static void
fill_slot(ApplyRel *ar, ApplyMapping *m, const Query__Row *row,
		  const Binlogdata__RowChange__Bitmap *cols,
		  TupleTableSlot *slot, TupleTableSlot *keep_slot, bool key_only)
{
	TupleDesc	desc = slot->tts_tupleDescriptor;
	int			natts = desc->natts;
	int			i;
	bool	   *present;

	present = decode_image(m, row, cols, key_only);
	ExecClearTuple(slot);

	if (key_only)
	{
		memset(slot->tts_isnull, true, sizeof(bool) * natts);
		for (i = 0; i < m->npk; i++)
		{
			int			f = m->pk_fields[i];
			int			att = m->attnum[f] - 1;

			if (present && !present[f])
				ereport(ERROR,
						(errcode(ERRCODE_PROTOCOL_VIOLATION),
						 errmsg("row image of table \"%s\" from shard %s/%s lacks primary key column \"%s\"",
								m->table, m->keyspace, m->shard, m->fields[f]->name)));

			slot->tts_values[att] = convert_cell(&m->cols[f], m->cell_values[f],
												 m->cell_lengths[f],
												 &slot->tts_isnull[att], &m->ccxt);
		}
		ExecStoreVirtualTuple(slot);
		return;
	}

	if (keep_slot)
	{
		slot_getallattrs(keep_slot);
		memcpy(slot->tts_values, keep_slot->tts_values, sizeof(Datum) * natts);
		memcpy(slot->tts_isnull, keep_slot->tts_isnull, sizeof(bool) * natts);
	}
	for (i = 0; i < natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);
		int			f = (i < m->natts) ? m->att_field[i] : -1;

		if (f >= 0 && present && !present[f])
			f = -1;				/* not in a partial image */
		if (f >= 0)
			slot->tts_values[i] = convert_cell(&m->cols[f], m->cell_values[f],
											   m->cell_lengths[f],
											   &slot->tts_isnull[i], &m->ccxt);
		else if (keep_slot)
			continue;
		else if (attr->attisdropped || attr->attgenerated)
		{
			slot->tts_values[i] = (Datum) 0;
			slot->tts_isnull[i] = true;
		}
		else
			slot->tts_values[i] = column_default(ar, i, &slot->tts_isnull[i]);
	}
	ExecStoreVirtualTuple(slot);
	if (present)
		pfree(present);
}

/*
 * Live rows (dirty snapshot) with the primary key of "slot", except
 * "except_tid".  Returns a palloc'd array of TIDs.
 */
static ItemPointerData *
find_key_rows(ApplyRel *ar, TupleTableSlot *slot, ItemPointer except_tid,
			  int *ntids)
{
	SnapshotData snap;
	IndexScanDesc scan;
	Relation	idxrel;
	ScanKeyData *skey;
	ItemPointerData *tids = NULL;
	int			n = 0;
	int			max = 0;
	int			i;

	prepare_lookups(ar);
	slot_getallattrs(slot);
	skey = palloc(sizeof(ScanKeyData) * ar->nkeys);
	memcpy(skey, ar->skey, sizeof(ScanKeyData) * ar->nkeys);
	for (i = 0; i < ar->nkeys; i++)
	{
		int			att = ar->keyatts[i] - 1;

		skey[i].sk_argument = slot->tts_values[att];
		if (slot->tts_isnull[att])
			skey[i].sk_flags |= SK_ISNULL;
	}

	InitDirtySnapshot(snap);
	idxrel = index_open(ar->pkindex, AccessShareLock);
	scan = index_beginscan(ar->rel, idxrel, &snap, ar->nkeys, 0);
	index_rescan(scan, skey, ar->nkeys, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, ar->scanslot))
	{
		if (except_tid && ItemPointerEquals(&ar->scanslot->tts_tid, except_tid))
			continue;
		if (n == max)
		{
			max = Max(4, max * 2);
			tids = tids ? repalloc(tids, sizeof(ItemPointerData) * max)
				: palloc(sizeof(ItemPointerData) * max);
		}
		tids[n++] = ar->scanslot->tts_tid;
	}
	index_endscan(scan);
	index_close(idxrel, NoLock);
	ExecClearTuple(ar->scanslot);
	*ntids = n;
	return tids;
}

/* Delete rows by TID (conflict resolution); returns how many. */
static int
delete_tids(ApplyState *state, ApplyRel *ar, ItemPointerData *tids, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		simple_table_tuple_delete(ar->rel, &tids[i], GetActiveSnapshot());
	if (n > 0)
		state->cid_used = true;
	return n;
}

/*
 * Write the buffered inserts of a relation: multi-insert, index entries,
 * then resolve primary-key duplicates (the newest row of a key wins).
 */
static void
flush_inserts(ApplyState *state, ApplyRel *ar)
{
	int			n = ar->nbuffered;
	CommandId	cid;
	bool	   *conflict = NULL;
	bool		any_conflict = false;
	int			i;

	if (n == 0)
		return;

	cid = GetCurrentCommandId(true);
	ar->estate->es_output_cid = cid;
	if (n == 1)
		table_tuple_insert(ar->rel, ar->buffer[0], cid, 0, ar->bistate);
	else
	{
		if (ar->bistate == NULL && n >= ar->nslots)
		{
			/* lives as long as the relation's executor state */
			MemoryContext old = MemoryContextSwitchTo(ar->estate->es_query_cxt);

			ar->bistate = GetBulkInsertState();
			MemoryContextSwitchTo(old);
		}
		table_multi_insert(ar->rel, ar->buffer, n, cid, 0, ar->bistate);
	}
	state->cid_used = true;

	if (ar->rri->ri_NumIndices > 0)
	{
		for (i = 0; i < n; i++)
		{
			List	   *dup;

#if PG_VERSION_NUM >= 160000
			dup = ExecInsertIndexTuples(ar->rri, ar->buffer[i], ar->estate,
										false, true, NULL, ar->arbiter, false);
#else
			dup = ExecInsertIndexTuples(ar->rri, ar->buffer[i], ar->estate,
										false, true, NULL, ar->arbiter);
#endif
			if (dup != NIL)
			{
				if (conflict == NULL)
					conflict = palloc0(sizeof(bool) * n);
				conflict[i] = true;
				any_conflict = true;
				list_free(dup);
			}
		}
	}

	if (any_conflict)
	{
		bool	   *gone = palloc0(sizeof(bool) * n);

		/* our own rows must be visible to the deletes below */
		next_command(state);
		for (i = n - 1; i >= 0; i--)
		{
			ItemPointerData *tids;
			int			ntids;
			int			j;
			int			k;

			if (!conflict[i] || gone[i])
				continue;
			tids = find_key_rows(ar, ar->buffer[i], &ar->buffer[i]->tts_tid, &ntids);
			for (j = 0; j < ntids; j++)
				for (k = 0; k < n; k++)
					if (ItemPointerEquals(&tids[j], &ar->buffer[k]->tts_tid))
						gone[k] = true;
			if (delete_tids(state, ar, tids, ntids) > 0 && ar->counters)
				status_count(&ar->counters->insert_conflicts, 1);
		}
		pfree(gone);
		pfree(conflict);
	}

	for (i = 0; i < n; i++)
		ExecClearTuple(ar->buffer[i]);
	ar->nbuffered = 0;
	ResetPerTupleExprContext(ar->estate);
}

/* Insert with "replace" semantics. */
static void
insert_row(ApplyState *state, ApplyRel *ar, ApplyMapping *m,
		   const Query__Row *row, const Binlogdata__RowChange__Bitmap *cols,
		   VStreamShardStatus *sh)
{
	TupleTableSlot *slot;

	fill_slot(ar, m, row, cols, ar->scratch, NULL, false);
	if (m->shape)
		shape_fill(state, m, ar->scratch, false);

	if (ar->simple)
	{
		/* triggers must see every row: look the key up first */
		EPQState	epq;

		prepare_lookups(ar);
		next_command(state);
		ar->estate->es_output_cid = GetCurrentCommandId(true);
		if (RelationFindReplTupleByIndex(ar->rel, ar->pkindex, LockTupleExclusive,
										 ar->scratch, ar->localslot))
		{
#if PG_VERSION_NUM >= 160000
			EvalPlanQualInit(&epq, ar->estate, NULL, NIL, -1, NIL);
#else
			EvalPlanQualInit(&epq, ar->estate, NULL, NIL, -1);
#endif
			ExecSimpleRelationUpdate(ar->rri, ar->estate, &epq, ar->localslot,
									 ar->scratch);
			EvalPlanQualEnd(&epq);
			if (sh)
				status_count(&sh->insert_conflicts, 1);
		}
		else
			ExecSimpleRelationInsert(ar->rri, ar->estate, ar->scratch);
		state->cid_used = true;
		ResetPerTupleExprContext(ar->estate);
		return;
	}

	if (ar->has_generated)
		ExecComputeStoredGenerated(ar->rri, ar->estate, ar->scratch, CMD_INSERT);
	if (ar->has_constraints)
		ExecConstraints(ar->rri, ar->scratch, ar->estate);

	if (ar->buffer == NULL)
		ar->buffer = insert_buffer(state, ar);
	slot = buffer_slot(state, ar, ar->nbuffered);
	ExecCopySlot(slot, ar->scratch);
	ar->nbuffered++;
	ar->counters = sh;
	ResetPerTupleExprContext(ar->estate);

	if (ar->nbuffered >= ar->nslots)
		flush_inserts(state, ar);
}

/* Find the row with the primary key of "row" and lock it. */
static bool
find_row(ApplyState *state, ApplyRel *ar, ApplyMapping *m, const Query__Row *row)
{
	flush_inserts(state, ar);
	prepare_lookups(ar);
	next_command(state);
	ar->estate->es_output_cid = GetCurrentCommandId(true);
	fill_slot(ar, m, row, NULL, ar->keyslot, NULL, true);
	return RelationFindReplTupleByIndex(ar->rel, ar->pkindex, LockTupleExclusive,
										ar->keyslot, ar->localslot);
}

/* Delete the row find_row() found (in ar->localslot). */
static void
delete_found_row(ApplyState *state, ApplyRel *ar, VStreamShardStatus *sh)
{
	EPQState	epq;

#if PG_VERSION_NUM >= 160000
	EvalPlanQualInit(&epq, ar->estate, NULL, NIL, -1, NIL);
#else
	EvalPlanQualInit(&epq, ar->estate, NULL, NIL, -1);
#endif
	ExecSimpleRelationDelete(ar->rri, ar->estate, &epq, ar->localslot);
	EvalPlanQualEnd(&epq);
	state->cid_used = true;
	if (sh)
		status_count(&sh->rows_deleted, 1);
	ResetPerTupleExprContext(ar->estate);
}

/*
 * A row updated out of its table's row filter (rowfilter.c) leaves the
 * mirror: it is deleted, never only marked (a soft delete records a row
 * deleted at the source; this one still exists there).
 */
static void
filter_out_row(ApplyState *state, ApplyRel *ar, ApplyMapping *m,
			   const Query__Row *before, VStreamShardStatus *sh)
{
	if (!find_row(state, ar, m, before))
	{
		if (sh)
			status_count(&sh->delete_missing, 1);
		ResetPerTupleExprContext(ar->estate);
		return;
	}
	delete_found_row(state, ar, sh);
}

static bool
key_changed(ApplyRel *ar, TupleTableSlot *a, TupleTableSlot *b)
{
	TupleDesc	desc = RelationGetDescr(ar->rel);
	int			i;

	slot_getallattrs(a);
	slot_getallattrs(b);
	for (i = 0; i < ar->nkeys; i++)
	{
		int			att = ar->keyatts[i] - 1;
		Form_pg_attribute attr = TupleDescAttr(desc, att);

		if (a->tts_isnull[att] != b->tts_isnull[att])
			return true;
		if (!a->tts_isnull[att] &&
			!datumIsEqual(a->tts_values[att], b->tts_values[att],
						  attr->attbyval, attr->attlen))
			return true;
	}
	return false;
}

static void
update_row(ApplyState *state, ApplyRel *ar, ApplyMapping *m,
		   const Query__Row *before, const Query__Row *after,
		   const Binlogdata__RowChange__Bitmap *cols,
		   VStreamShardStatus *sh)
{
	EPQState	epq;

	/* a minimal before image has the primary key only: enough to find it */
	if (!find_row(state, ar, m, before))
	{
		/*
		 * at-least-once replay: the after image becomes the row (columns a
		 * partial image lacks get their defaults)
		 */
		if (sh)
			status_count(&sh->update_missing, 1);
		insert_row(state, ar, m, after, cols, sh);
		return;
	}

	/* columns missing from a partial after image keep their values */
	fill_slot(ar, m, after, cols, ar->newslot, ar->localslot, false);
	if (m->shape)
		shape_fill(state, m, ar->newslot, false);
	ExecMaterializeSlot(ar->newslot);
	if (key_changed(ar, ar->localslot, ar->newslot))
	{
		ItemPointerData *tids;
		ItemPointerData self = ar->localslot->tts_tid;
		int			ntids;

		/* a replay may have inserted the new key already: replace it */
		tids = find_key_rows(ar, ar->newslot, &self, &ntids);
		if (ntids > 0)
		{
			delete_tids(state, ar, tids, ntids);
			if (sh)
				status_count(&sh->insert_conflicts, 1);
			next_command(state);
			ar->estate->es_output_cid = GetCurrentCommandId(true);
		}
	}

#if PG_VERSION_NUM >= 160000
	EvalPlanQualInit(&epq, ar->estate, NULL, NIL, -1, NIL);
#else
	EvalPlanQualInit(&epq, ar->estate, NULL, NIL, -1);
#endif
	ExecSimpleRelationUpdate(ar->rri, ar->estate, &epq, ar->localslot, ar->newslot);
	EvalPlanQualEnd(&epq);
	state->cid_used = true;
	if (sh)
		status_count(&sh->rows_updated, 1);
	ResetPerTupleExprContext(ar->estate);
}

/*
 * Soft delete (stream option soft_delete): the found row (ar->localslot)
 * is kept, marked deleted, with the deleting transaction's metadata.
 */
static void
soft_delete_row(ApplyState *state, ApplyRel *ar, ApplyMapping *m)
{
	TupleTableSlot *slot = ar->newslot;
	int			natts = slot->tts_tupleDescriptor->natts;
	EPQState	epq;

	slot_getallattrs(ar->localslot);
	ExecClearTuple(slot);
	memcpy(slot->tts_values, ar->localslot->tts_values, sizeof(Datum) * natts);
	memcpy(slot->tts_isnull, ar->localslot->tts_isnull, sizeof(bool) * natts);
	ExecStoreVirtualTuple(slot);
	shape_fill(state, m, slot, true);
	ExecMaterializeSlot(slot);
#if PG_VERSION_NUM >= 160000
	EvalPlanQualInit(&epq, ar->estate, NULL, NIL, -1, NIL);
#else
	EvalPlanQualInit(&epq, ar->estate, NULL, NIL, -1);
#endif
	ExecSimpleRelationUpdate(ar->rri, ar->estate, &epq, ar->localslot, slot);
	EvalPlanQualEnd(&epq);
}

static void
delete_row(ApplyState *state, ApplyRel *ar, ApplyMapping *m,
		   const Query__Row *before, VStreamShardStatus *sh)
{
	if (!find_row(state, ar, m, before))
	{
		if (sh)
			status_count(&sh->delete_missing, 1);
		ResetPerTupleExprContext(ar->estate);
		return;
	}
	if (m->shape && m->shape->soft_delete)
	{
		soft_delete_row(state, ar, m);
		state->cid_used = true;
		if (sh)
			status_count(&sh->rows_deleted, 1);
		ResetPerTupleExprContext(ar->estate);
		return;
	}
	delete_found_row(state, ar, sh);
}

/*
 * Apply the row changes of a ROW event.  "copying": rows of a copy batch
 * (counted as copied rather than inserted).
 */
void
apply_rows(ApplyState *state, ApplyMapping *m, Binlogdata__RowEvent *ev,
		   VStreamShardStatus *sh, bool copying)
{
	ApplyRel   *ar;
	size_t		i;
	uint64		inserted = 0;

	Assert(state->in_txn);
	if (m->skip && m->valid)
		return;
	state->row_copying = copying;

	/*
	 * Lock the mirror before trusting the mapping: taking the lock processes
	 * the invalidations of a concurrent ALTER TABLE on it (the relcache
	 * callback then marks the mapping stale), so the mapping is never used
	 * with a row layout it was not built for.
	 */
	if (m->valid && OidIsValid(m->relid) &&
		(state->last_rel == NULL || state->last_rel->relid != m->relid))
	{
		ApplyRel   *open = hash_search(state->rels, &m->relid, HASH_FIND, NULL);

		if (open == NULL || !open->open)
			LockRelationOid(m->relid, RowExclusiveLock);
	}
	if (!m->valid)
		schema_prepare(state, m);
	if (m->skip)
		return;
	ar = get_rel(state, m);

	for (i = 0; i < ev->n_row_changes; i++)
	{
		Binlogdata__RowChange *rc = ev->row_changes[i];

		CHECK_FOR_INTERRUPTS();
		if (any_bit_set(rc->json_partial_values))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("partial JSON update of table \"%s\" from shard %s/%s is not supported",
							m->table, m->keyspace, m->shard),
					 errdetail("The row change carries JSON partial values (binlog_row_value_options=PARTIAL_JSON); applying them would store a wrong value."),
					 errhint("Set binlog_row_value_options='' on the source MySQL servers; the changes already logged with partial JSON values need a new copy (vstream_fdw.resync_stream()).")));
		switch (rowfilter_action(state, m, rc))
		{
			case ROWFILTER_APPLY:
				break;
			case ROWFILTER_SKIP:
				continue;
			case ROWFILTER_DELETE:
				filter_out_row(state, ar, m, rc->before, sh);
				continue;
			case ROWFILTER_INSERT:
				/* updated into the row filter: the after image is the row */
				insert_row(state, ar, m, rc->after, rc->data_columns, sh);
				inserted++;
				continue;
		}
		if (rc->before == NULL && rc->after != NULL)
		{
			insert_row(state, ar, m, rc->after, rc->data_columns, sh);
			inserted++;
		}
		else if (rc->before != NULL && rc->after != NULL)
			update_row(state, ar, m, rc->before, rc->after, rc->data_columns, sh);
		else if (rc->before != NULL)
			delete_row(state, ar, m, rc->before, sh);
	}
	if (sh && inserted > 0)
	{
		status_count(copying ? &sh->rows_copied : &sh->rows_inserted, inserted);
		if (copying)
			status_count(&sh->copy_table_rows, inserted);
	}
}

/*
 * Flush and release the executor state of every relation of the open
 * transaction; "keep": at commit, keep it for the next transactions
 * (get_rel) except for mirrors with triggers.
 */
static void
close_rels(ApplyState *state, bool keep)
{
	ApplyRel   *ar;

	if (!state->in_txn)
		return;

	for (ar = state->last_rel; ar != NULL; ar = ar->prev)
		flush_inserts(state, ar);

	ar = state->last_rel;
	state->last_rel = NULL;
	while (ar != NULL)
	{
		ApplyRel   *prev = ar->prev;
		bool		keep_this = keep && ar->rel->trigdesc == NULL;
		ListCell   *lc;
		int			i;

		if (ar->rel->trigdesc)
			AfterTriggerEndQuery(ar->estate);
		if (ar->bistate)
		{
			FreeBulkInsertState(ar->bistate);
			ar->bistate = NULL;
		}
		/* buffer pins end with the transaction */
		foreach(lc, ar->estate->es_tupleTable)
			ExecClearTuple((TupleTableSlot *) lfirst(lc));
		ResetPerTupleExprContext(ar->estate);
		for (i = 0; i < ar->rri->ri_NumIndices; i++)
			index_close(ar->rri->ri_IndexRelationDescs[i], NoLock);
		table_close(ar->rel, NoLock);
		ar->open = false;
		ar->prev = NULL;
		ar->counters = NULL;
		ar->estate->es_snapshot = InvalidSnapshot;
		if (!keep_this)
		{
			/*
			 * Slots the trigger machinery made from the relcache's descriptor
			 * hold a reference to it until the transaction ends: release them
			 * now (discard_rel only frees memory).
			 */
			ExecResetTupleTable(ar->estate->es_tupleTable, false);
			discard_rel(state, ar);
		}
		ar = prev;
	}
}

/*
 * Flush and release the executor state of every relation of the open
 * transaction (before DDL on a mirror): it is built again on next use.
 */
void
apply_close_rels(ApplyState *state)
{
	close_rels(state, false);
}

/*
 * Forget the relations of an aborted transaction (their relcache references
 * and buffer pins went with it), including one whose set-up failed half way,
 * and those kept from earlier transactions.
 */
static void
forget_rels(ApplyState *state)
{
	HASH_SEQ_STATUS seq;
	ApplyRel   *ar;

	hash_seq_init(&seq, state->rels);
	while ((ar = hash_seq_search(&seq)) != NULL)
	{
		ar->open = false;
		discard_rel(state, ar);
	}
	state->last_rel = NULL;
}

/* Commit the open transaction (the checkpoint was written by the caller). */
void
apply_commit(ApplyState *state)
{
	Assert(state->in_txn);
	close_rels(state, true);
	PopActiveSnapshot();
	CommitTransactionCommand();
	state->in_txn = false;
	checkpoint_committed(&state->checkpoint);
	shape_end_txn(state);
	MemoryContextSwitchTo(state->msgcxt);
	MemoryContextReset(state->txncxt);
	pgstat_report_stat(false);
}

/* Forget the open transaction after an error (the caller aborts it). */
void
apply_abort(ApplyState *state)
{
	state->in_txn = false;
	if (state->rels)
		forget_rels(state);
	checkpoint_aborted(&state->checkpoint);
	shape_end_txn(state);
	MemoryContextReset(state->txncxt);
	schema_invalidate_all(state);
}
