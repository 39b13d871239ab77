/*-------------------------------------------------------------------------
 *
 * checkpoint.c
 *	  Catalog access of the stream worker.
 *
 * The position of a stream is one vstream_fdw.shard_position row per shard
 * of its VGTID (see position.c); each applied source transaction rewrites,
 * in that transaction, the rows of the shards whose entry changed: one row
 * (the transaction's shard) except at a journal.  To keep that cheap the
 * worker remembers the rows' TIDs and writes new versions directly instead
 * of running SQL: a heap update, HOT because the row's page is pruned every
 * few writes (so the table does not grow either), with index entries only
 * for a version that had to leave its page.  The checkpoint row itself
 * (copy_completed) changes once per stream and uses SPI, as does everything
 * else here.
 *
 * Also the SQL-callable position helpers of the install script:
 * _start_position() and vgtid_to_jsonb().
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/checkpoint.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "checkpoint.h"
#include "position.h"
#include "vstream.h"

/* attribute numbers of vstream_fdw.shard_position */
#define Anum_position_stream_id		1
#define Anum_position_ord			2
#define Anum_position_keyspace		3
#define Anum_position_shard			4
#define Anum_position_shard_gtid	5
#define Anum_position_updated_at	6
#define Natts_position				6

/* prune a position row's page every this many writes of the row */
#define CHECKPOINT_PRUNE_EVERY			8

static void
spi_exec(const char *sql, int nargs, Oid *argtypes, Datum *values,
		 const char *nulls, bool read_only, int expected)
{
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, read_only, 0);
	if (rc != expected)
		elog(ERROR, "SPI_execute_with_args failed for \"%s\": %s", sql,
			 SPI_result_code_string(rc));
	SPI_finish();
}

/*
 * Read a stream definition, its checkpoint and its COPY_COMPLETED shards.
 * Must run in a transaction with an active snapshot.  The result is
 * allocated in the caller's memory context.
 */
StreamDef *
checkpoint_load_stream(int32 stream_id)
{
	MemoryContext outer = CurrentMemoryContext;
	StreamDef  *def = NULL;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1];
	uint64		i;

	args[0] = Int32GetDatum(stream_id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");

	if (SPI_execute_with_args("SELECT s.server_name::text, s.target_schema::text, "
							  "s.tables, s.start, s.enabled, s.state, "
							  "(SELECT vstream_fdw._vgtid_join(array_agg(p.shard_gtid ORDER BY p.ord)) "
							  " FROM vstream_fdw.shard_position p WHERE p.stream_id = s.id), "
							  "coalesce(c.copy_completed, false), "
							  "s.metadata_columns, s.soft_delete "
							  "FROM vstream_fdw.stream s "
							  "LEFT JOIN vstream_fdw.checkpoint c ON c.stream_id = s.id "
							  "WHERE s.id = $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vstream_fdw.stream");

	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;
		MemoryContext old = MemoryContextSwitchTo(outer);

		def = palloc0(sizeof(StreamDef));
		def->id = stream_id;
		def->server_name = SPI_getvalue(tup, desc, 1);
		def->target_schema = SPI_getvalue(tup, desc, 2);
		d = SPI_getbinval(tup, desc, 3, &isnull);
		if (!isnull)
		{
			ArrayType  *arr = DatumGetArrayTypeP(d);
			Datum	   *elems;
			bool	   *enulls;
			int			n;
			int			j;

			deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT,
							  &elems, &enulls, &n);
			for (j = 0; j < n; j++)
				if (!enulls[j])
					def->tables = lappend(def->tables,
										  TextDatumGetCString(elems[j]));
		}
		def->start = SPI_getvalue(tup, desc, 4);
		def->enabled = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
		def->state = SPI_getvalue(tup, desc, 6);
		d = SPI_getbinval(tup, desc, 7, &isnull);
		if (!isnull)
			def->vgtid = DatumGetByteaPCopy(d);
		def->copy_completed = DatumGetBool(SPI_getbinval(tup, desc, 8, &isnull));
		def->metadata_columns = DatumGetBool(SPI_getbinval(tup, desc, 9, &isnull));
		def->soft_delete = DatumGetBool(SPI_getbinval(tup, desc, 10, &isnull));
		MemoryContextSwitchTo(old);

		if (SPI_execute_with_args("SELECT keyspace || '/' || shard "
								  "FROM vstream_fdw.shard_state "
								  "WHERE stream_id = $1 AND copy_completed",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read vstream_fdw.shard_state");
		for (i = 0; i < SPI_processed; i++)
		{
			char	   *ks = SPI_getvalue(SPI_tuptable->vals[i],
										  SPI_tuptable->tupdesc, 1);

			old = MemoryContextSwitchTo(outer);
			def->copied_shards = lappend(def->copied_shards, pstrdup(ks));
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();
	MemoryContextSwitchTo(outer);
	return def;
}

/* Read the position rows (in a transaction): the committed state. */
static void
load_rows(Checkpoint *cp)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	MemoryContext old;
	VgtidPart  *parts;

	cp->nrows = 0;
	cp->next_ord = 0;
	if (cp->saved)
		pfree(cp->saved);
	cp->saved = NULL;
	cp->pending_saved = NULL;
	cp->pending = false;
	cp->stale = false;

	rel = table_open(cp->relid, RowExclusiveLock);
	ScanKeyInit(&key, Anum_position_stream_id, BTEqualStrategyNumber,
				F_INT4EQ, Int32GetDatum(cp->stream_id));
	scan = systable_beginscan(rel, RelationGetPrimaryKeyIndex(rel), true,
							  NULL, 1, &key);
	parts = palloc(sizeof(VgtidPart) * cp->maxrows);
	while (HeapTupleIsValid(tup = systable_getnext(scan)))
	{
		bool		isnull;
		int32		ord;
		Datum		g;

		ord = DatumGetInt32(heap_getattr(tup, Anum_position_ord,
										 RelationGetDescr(rel), &isnull));
		g = heap_getattr(tup, Anum_position_shard_gtid,
						 RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		if (cp->nrows == cp->maxrows)
		{
			cp->maxrows *= 2;
			cp->rows = repalloc(cp->rows, sizeof(PositionRow) * cp->maxrows);
			parts = repalloc(parts, sizeof(VgtidPart) * cp->maxrows);
		}
		memset(&cp->rows[cp->nrows], 0, sizeof(PositionRow));
		cp->rows[cp->nrows].ord = ord;
		cp->rows[cp->nrows].tid = tup->t_self;
		{
			bytea	   *b = DatumGetByteaPCopy(g);

			parts[cp->nrows].data = VARDATA(b);
			parts[cp->nrows].len = VARSIZE(b) - VARHDRSZ;
		}
		cp->nrows++;
		cp->next_ord = Max(cp->next_ord, ord + 1);
	}
	old = MemoryContextSwitchTo(cp->cxt);
	cp->saved = position_join(parts, cp->nrows);
	MemoryContextSwitchTo(old);
	systable_endscan(scan);
	table_close(rel, NoLock);
	cp->pending_nrows = cp->nrows;
}

/* Locate the position rows of a stream; in a transaction. */
void
checkpoint_open(Checkpoint *cp, int32 stream_id)
{
	Oid			nsp = get_namespace_oid("vstream_fdw", false);
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1];
	bool		isnull;

	memset(cp, 0, sizeof(Checkpoint));
	cp->stream_id = stream_id;
	cp->relid = get_relname_relid("shard_position", nsp);
	if (!OidIsValid(cp->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table vstream_fdw.shard_position does not exist")));
	/* for the session: a child of the caller's (session) context */
	cp->cxt = AllocSetContextCreate(CurrentMemoryContext, "vstream_fdw checkpoint",
									ALLOCSET_SMALL_SIZES);
	cp->maxrows = 16;
	cp->rows = MemoryContextAllocZero(cp->cxt, sizeof(PositionRow) * cp->maxrows);

	/* the checkpoint row: a stream always has one; recreate it if deleted */
	args[0] = Int32GetDatum(stream_id);
	spi_exec("INSERT INTO vstream_fdw.checkpoint (stream_id, copy_completed) "
			 "VALUES ($1, false) ON CONFLICT (stream_id) DO NOTHING",
			 1, argtypes, args, NULL, false, SPI_OK_INSERT);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT copy_completed FROM vstream_fdw.checkpoint "
							  "WHERE stream_id = $1",
							  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "could not read vstream_fdw.checkpoint");
	cp->copy_completed = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1,
													&isnull));
	SPI_finish();

	load_rows(cp);
}

/*
 * CatalogTupleUpdate without opening the table's index when the update is
 * HOT (as it nearly always is, the page being pruned first): the index
 * entries are made only for a version that left its page.
 */
static void
update_position_tuple(Relation rel, ItemPointer otid, HeapTuple tup)
{
	bool		need_index;
	CatalogIndexState indstate;
	TupleTableSlot *slot;
	int			i;

#if PG_VERSION_NUM >= 160000
	TU_UpdateIndexes update_indexes;

	simple_heap_update(rel, otid, tup, &update_indexes);
	need_index = (update_indexes != TU_None);
#else
	simple_heap_update(rel, otid, tup);
	need_index = !HeapTupleIsHeapOnly(tup);
#endif
	if (!need_index)
		return;

	indstate = CatalogOpenIndexes(rel);
	slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	ExecStoreHeapTuple(tup, slot, false);
	for (i = 0; i < indstate->ri_NumIndices; i++)
	{
		IndexInfo  *ii = indstate->ri_IndexRelationInfo[i];
		Relation	idx = indstate->ri_IndexRelationDescs[i];
		Datum		values[INDEX_MAX_KEYS];
		bool		isnull[INDEX_MAX_KEYS];

		/* plain column indexes only (the table is ours): no EState needed */
		Assert(ii->ii_Expressions == NIL && ii->ii_Predicate == NIL);
		FormIndexDatum(ii, slot, NULL, values, isnull);
#if PG_VERSION_NUM >= 140000
		index_insert(idx, values, isnull, &tup->t_self, rel,
					 idx->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 false, ii);
#else
		index_insert(idx, values, isnull, &tup->t_self, rel,
					 idx->rd_index->indisunique ? UNIQUE_CHECK_YES : UNIQUE_CHECK_NO,
					 ii);
#endif
	}
	ExecDropSingleTupleTableSlot(slot);
	CatalogCloseIndexes(indstate);
}

/* Write shard i of the VGTID (its entry) into row i. */
static void
write_position_row(Checkpoint *cp, Relation rel, int i, const VgtidPart *part,
				   TimestampTz now)
{
	Datum		values[Natts_position];
	bool		nulls[Natts_position];
	HeapTuple	tup;
	char	   *ks;
	char	   *sh;
	bytea	   *g;
	PositionRow *row;
	bool		updating;

	if (i >= cp->maxrows)
	{
		int			newmax = Max(cp->maxrows * 2, i + 1);

		cp->rows = repalloc(cp->rows, sizeof(PositionRow) * newmax);
		memset(cp->rows + cp->maxrows, 0,
			   sizeof(PositionRow) * (newmax - cp->maxrows));
		cp->maxrows = newmax;
	}
	row = &cp->rows[i];
	updating = (i < cp->pending_nrows && !row->deleted);
	if (!updating)
	{
		/* a new row (its names may differ from the row's that was here) */
		if (row->keyspace)
			pfree(row->keyspace);
		if (row->shard)
			pfree(row->shard);
		memset(row, 0, sizeof(PositionRow));
	}
	if (row->keyspace == NULL)
	{
		/* an updated row keeps its shard: its names are looked up once */
		MemoryContext old;

		position_part_names(part, &ks, &sh);
		old = MemoryContextSwitchTo(cp->cxt);
		row->keyspace = cstring_to_text(ks);
		row->shard = cstring_to_text(sh);
		MemoryContextSwitchTo(old);
		pfree(ks);
		pfree(sh);
	}
	g = palloc(VARHDRSZ + part->len);
	SET_VARSIZE(g, VARHDRSZ + part->len);
	memcpy(VARDATA(g), part->data, part->len);

	memset(nulls, false, sizeof(nulls));
	values[Anum_position_stream_id - 1] = Int32GetDatum(cp->stream_id);
	values[Anum_position_keyspace - 1] = PointerGetDatum(row->keyspace);
	values[Anum_position_shard - 1] = PointerGetDatum(row->shard);
	values[Anum_position_shard_gtid - 1] = PointerGetDatum(g);
	values[Anum_position_updated_at - 1] = TimestampTzGetDatum(now);

	if (updating)
	{
		/* the shard's row: a new version of it */
		if (++row->writes_since_prune >= CHECKPOINT_PRUNE_EVERY)
		{
			/*
			 * Prune the row's page first, as a read of it would: the worker
			 * never reads the row, and without pruning every update would
			 * leave a dead version behind until the page is full and the
			 * next version moves to a new page.  With pruning the row stays
			 * on its page and updates are HOT.  A page holds dozens of
			 * versions: looking every few writes is enough.
			 */
			Buffer		buf = ReadBuffer(rel, ItemPointerGetBlockNumber(&row->tid));

			heap_page_prune_opt(rel, buf);
			ReleaseBuffer(buf);
			row->writes_since_prune = 0;
		}
		values[Anum_position_ord - 1] = Int32GetDatum(row->ord);
		tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
		update_position_tuple(rel, &row->tid, tup);
	}
	else
	{
		/*
		 * A shard beyond the stored ones (a journal's new shards, or the
		 * shards of the first VGTID): a new row after the others, so that
		 * the ord order stays the VGTID's.  (Rows from i on were deleted, if
		 * any, in this transaction.)
		 */
		row->ord = cp->next_ord++;
		values[Anum_position_ord - 1] = Int32GetDatum(row->ord);
		tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
		CatalogTupleInsert(rel, tup);
	}
	row->tid = tup->t_self;
	cp->rows_written++;
	heap_freetuple(tup);
	pfree(g);
}

/*
 * Write the position in the current transaction: the VGTID (NULL: keep the
 * stored one) and the copy_completed flag.
 */
void
checkpoint_write(Checkpoint *cp, bytea *vgtid, bytea *old_vgtid,
				 bool copy_completed)
{
	bool		was_copy_completed;

	if (cp->stale)
		load_rows(cp);
	if (!cp->pending)
	{
		/* pending from here on: an error below rolls back what was written */
		cp->pending = true;
		cp->pending_saved = cp->saved;
		cp->pending_copy_completed = cp->copy_completed;
	}
	was_copy_completed = cp->pending_copy_completed;

	if (vgtid != NULL)
	{
		bytea	   *stored = cp->pending_saved;
		VgtidPart  *oldp = NULL;
		VgtidPart  *newp = NULL;
		int			nold = 0;
		int			nnew;
		int			i;
		int			first_new;
		Relation	rel = NULL;
		TimestampTz now = GetCurrentTransactionStartTimestamp();
		MemoryContext old;

		if (stored)
			nold = position_split(VARDATA_ANY(stored), VARSIZE_ANY_EXHDR(stored),
								  &oldp);
		Assert(nold == cp->pending_nrows);
		nnew = position_split(VARDATA_ANY(vgtid), VARSIZE_ANY_EXHDR(vgtid), &newp);

		/*
		 * Rows stay where they are as long as the shards do: the first shard
		 * that is not the stored one at its place ends them (a journal); the
		 * rows from there on are deleted and the shards from there on
		 * written as new rows, in order.
		 */
		for (first_new = 0; first_new < nnew && first_new < nold; first_new++)
		{
			if (oldp[first_new].len == newp[first_new].len &&
				memcmp(oldp[first_new].data, newp[first_new].data,
					   newp[first_new].len) == 0)
				continue;
			if (!position_same_shard(&oldp[first_new], &newp[first_new]))
				break;
		}
		if (first_new < nold)
		{
			rel = table_open(cp->relid, RowExclusiveLock);
			for (i = first_new; i < nold; i++)
			{
				simple_heap_delete(rel, &cp->rows[i].tid);
				cp->rows[i].deleted = true;
				cp->rows_written++;
			}
		}
		for (i = 0; i < nnew; i++)
		{
			if (i < first_new &&
				oldp[i].len == newp[i].len &&
				memcmp(oldp[i].data, newp[i].data, newp[i].len) == 0)
				continue;
			if (rel == NULL)
				rel = table_open(cp->relid, RowExclusiveLock);
			write_position_row(cp, rel, i, &newp[i], now);
		}
		if (rel)
			table_close(rel, NoLock);
		cp->pending_nrows = nnew;

		old = MemoryContextSwitchTo(cp->cxt);
		if (cp->pending_saved && cp->pending_saved != cp->saved)
			pfree(cp->pending_saved);
		cp->pending_saved = (bytea *) pg_detoast_datum_copy((struct varlena *) vgtid);
		MemoryContextSwitchTo(old);
		if (oldp)
			pfree(oldp);
		if (newp)
			pfree(newp);
	}

	if (copy_completed != was_copy_completed)
	{
		Oid			argtypes[2] = {INT4OID, BOOLOID};
		Datum		values[2];

		values[0] = Int32GetDatum(cp->stream_id);
		values[1] = BoolGetDatum(copy_completed);
		spi_exec("UPDATE vstream_fdw.checkpoint "
				 "SET copy_completed = $2, updated_at = now() "
				 "WHERE stream_id = $1",
				 2, argtypes, values, NULL, false, SPI_OK_UPDATE);
	}
	cp->pending_copy_completed = copy_completed;
	(void) old_vgtid;
}

void
checkpoint_committed(Checkpoint *cp)
{
	int			i;

	if (!cp->pending)
		return;
	for (i = 0; i < cp->pending_nrows; i++)
		cp->rows[i].deleted = false;
	cp->nrows = cp->pending_nrows;
	if (cp->pending_saved != cp->saved)
	{
		if (cp->saved)
			pfree(cp->saved);
		cp->saved = cp->pending_saved;
	}
	cp->pending_saved = NULL;
	cp->copy_completed = cp->pending_copy_completed;
	cp->pending = false;
}

/*
 * The transaction rolled back: the TIDs it wrote are gone; the rows are read
 * again before the next write (aborts are rare: errors).
 */
void
checkpoint_aborted(Checkpoint *cp)
{
	if (!cp->pending)
		return;
	if (cp->pending_saved && cp->pending_saved != cp->saved)
		pfree(cp->pending_saved);
	cp->pending_saved = NULL;
	cp->pending = false;
	cp->stale = true;
}

void
checkpoint_store_vgtid(int32 stream_id, bytea *vgtid)
{
	Oid			argtypes[2] = {INT4OID, BYTEAOID};
	Datum		values[2];
	char		nulls[2] = {' ', ' '};

	values[0] = Int32GetDatum(stream_id);
	values[1] = PointerGetDatum(vgtid);
	if (vgtid == NULL)
		nulls[1] = 'n';
	spi_exec("DELETE FROM vstream_fdw.shard_position WHERE stream_id = $1",
			 1, argtypes, values, NULL, false, SPI_OK_DELETE);
	spi_exec("INSERT INTO vstream_fdw.shard_position "
			 "(stream_id, ord, keyspace, shard, shard_gtid, updated_at) "
			 "SELECT $1, p.ord, p.keyspace, p.shard, p.shard_gtid, now() "
			 "FROM vstream_fdw._vgtid_shards($2) p",
			 2, argtypes, values, nulls, false, SPI_OK_INSERT);
}

void
checkpoint_shard_copy_completed(int32 stream_id, const char *keyspace,
								const char *shard)
{
	Oid			argtypes[3] = {INT4OID, TEXTOID, TEXTOID};
	Datum		values[3];

	values[0] = Int32GetDatum(stream_id);
	values[1] = CStringGetTextDatum(keyspace);
	values[2] = CStringGetTextDatum(shard);
	spi_exec("INSERT INTO vstream_fdw.shard_state AS s "
			 "(stream_id, keyspace, shard, copy_completed) "
			 "VALUES ($1, $2, $3, true) "
			 "ON CONFLICT (stream_id, keyspace, shard) "
			 "DO UPDATE SET copy_completed = true",
			 3, argtypes, values, NULL, false, SPI_OK_INSERT);
}

void
checkpoint_stream_state(int32 stream_id, const char *state)
{
	Oid			argtypes[2] = {INT4OID, TEXTOID};
	Datum		values[2];

	values[0] = Int32GetDatum(stream_id);
	values[1] = CStringGetTextDatum(state);
	spi_exec("UPDATE vstream_fdw.stream SET state = $2 "
			 "WHERE id = $1 AND state <> $2 AND state NOT IN ('stopped', 'error')",
			 2, argtypes, values, NULL, false, SPI_OK_UPDATE);
}

void
checkpoint_record_error(int32 stream_id, const char *message, bool fatal)
{
	Oid			argtypes[3] = {INT4OID, TEXTOID, BOOLOID};
	Datum		values[3];

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	values[0] = Int32GetDatum(stream_id);
	values[1] = CStringGetTextDatum(message);
	values[2] = BoolGetDatum(fatal);
	spi_exec("UPDATE vstream_fdw.stream "
			 "SET last_error = $2, last_error_at = now(), "
			 "state = CASE WHEN $3 THEN 'error' ELSE state END "
			 "WHERE id = $1",
			 3, argtypes, values, NULL, false, SPI_OK_UPDATE);
	PopActiveSnapshot();
	CommitTransactionCommand();
}

/* ---- SQL-callable position helpers ---- */

/*
 * vstream_fdw._start_position(start text) -> (vgtid bytea, copy_completed
 * boolean, copied_shards text[]): validate a create_stream() start and
 * compute the initial checkpoint.
 */
PG_FUNCTION_INFO_V1(vstream_start_position);
Datum
vstream_start_position(PG_FUNCTION_ARGS)
{
	char	   *start = text_to_cstring(PG_GETARG_TEXT_PP(0));
	TupleDesc	tupdesc;
	Datum		values[3];
	bool		nulls[3] = {false, false, false};
	ArrayBuildState *astate = NULL;
	const char *p = start;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
		p++;

	if (strcmp(start, "copy") == 0 || strcmp(start, "current") == 0)
	{
		nulls[0] = true;
		values[1] = BoolGetDatum(strcmp(start, "current") == 0);
	}
	else if (*p == '[' || *p == '{')
	{
		Binlogdata__VGtid *vgtid = vstream_vgtid_from_json(start);
		bool		all_copied = true;
		size_t		i;

		if (vgtid->n_shard_gtids == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("start VGTID has no shard"),
					 errhint("Give at least one {\"keyspace\": ..., \"shard\": ..., \"gtid\": ...} entry.")));
		for (i = 0; i < vgtid->n_shard_gtids; i++)
		{
			Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];

			if (sg->gtid[0] == '\0' || sg->n_table_p_ks > 0)
				all_copied = false;
			else
				astate = accumArrayResult(astate,
										  CStringGetTextDatum(psprintf("%s/%s", sg->keyspace, sg->shard)),
										  false, TEXTOID, CurrentMemoryContext);
		}
		values[0] = PointerGetDatum(vstream_vgtid_serialize(vgtid));
		values[1] = BoolGetDatum(all_copied);
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid stream start \"%s\"", start),
				 errhint("Use 'copy', 'current' or a VGTID in JSON.")));

	if (astate)
		values[2] = makeArrayResult(astate, CurrentMemoryContext);
	else
		values[2] = PointerGetDatum(construct_empty_array(TEXTOID));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* vstream_fdw.vgtid_to_jsonb(bytea): a checkpoint VGTID as JSON */
PG_FUNCTION_INFO_V1(vstream_vgtid_bytea_to_jsonb);
Datum
vstream_vgtid_bytea_to_jsonb(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	bytea	   *plain;

	/* deserialize wants a plain 4-byte header datum */
	plain = (bytea *) palloc(VARSIZE_ANY_EXHDR(b) + VARHDRSZ);
	SET_VARSIZE(plain, VARSIZE_ANY_EXHDR(b) + VARHDRSZ);
	memcpy(VARDATA(plain), VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
	PG_RETURN_JSONB_P(vstream_vgtid_to_jsonb(vstream_vgtid_deserialize(plain)));
}
