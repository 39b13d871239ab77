/*-------------------------------------------------------------------------
 *
 * checkpoint.c
 *	  Catalog access of the stream worker.
 *
 * The checkpoint row of a stream (vstream_fdw.checkpoint) is rewritten once
 * per applied source transaction, in that transaction.  To keep that cheap
 * the worker remembers the row's TID and writes a new version directly
 * instead of running SQL: a heap update, HOT because the row's page is
 * pruned every few writes (so the table does not grow either), with index
 * entries only for a version that had to leave its page.  Everything else
 * here is rare and uses SPI with parameters.
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
#include "vstream.h"

/* attribute numbers of vstream_fdw.checkpoint */
#define Anum_checkpoint_stream_id		1
#define Anum_checkpoint_vgtid			2
#define Anum_checkpoint_copy_completed	3
#define Anum_checkpoint_updated_at		4
#define Natts_checkpoint				4

/* prune the checkpoint row's page every this many writes */
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
							  "s.tables, s.start, s.enabled, s.state, c.vgtid, "
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

/* Locate the checkpoint row of a stream; in a transaction. */
void
checkpoint_open(Checkpoint *cp, int32 stream_id)
{
	Oid			nsp = get_namespace_oid("vstream_fdw", false);
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;

	memset(cp, 0, sizeof(Checkpoint));
	cp->stream_id = stream_id;
	cp->relid = get_relname_relid("checkpoint", nsp);
	if (!OidIsValid(cp->relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("table vstream_fdw.checkpoint does not exist")));

	rel = table_open(cp->relid, RowExclusiveLock);
	ScanKeyInit(&key, Anum_checkpoint_stream_id, BTEqualStrategyNumber,
				F_INT4EQ, Int32GetDatum(stream_id));
	scan = systable_beginscan(rel, InvalidOid, false, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
	{
		bool		isnull;

		cp->tid = tup->t_self;
		cp->copy_completed = DatumGetBool(heap_getattr(tup, Anum_checkpoint_copy_completed,
													   RelationGetDescr(rel), &isnull));
	}
	systable_endscan(scan);

	if (!ItemPointerIsValid(&cp->tid))
	{
		/* a stream always has one; recreate it if someone deleted it */
		Datum		values[Natts_checkpoint];
		bool		nulls[Natts_checkpoint];

		memset(nulls, true, sizeof(nulls));
		values[0] = Int32GetDatum(stream_id);
		nulls[0] = false;
		values[2] = BoolGetDatum(false);
		nulls[2] = false;
		tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
		CatalogTupleInsert(rel, tup);
		cp->tid = tup->t_self;
	}
	table_close(rel, NoLock);
}

/*
 * CatalogTupleUpdate without opening the table's index when the update is
 * HOT (as it nearly always is, the page being pruned first): the index
 * entries are made only for a version that left its page.
 */
static void
update_checkpoint_tuple(Relation rel, ItemPointer otid, HeapTuple tup)
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

/*
 * Write the checkpoint row in the current transaction: the VGTID (NULL:
 * keep old_vgtid, the saved one) and the copy_completed flag.
 */
void
checkpoint_write(Checkpoint *cp, bytea *vgtid, bytea *old_vgtid,
				 bool copy_completed)
{
	Relation	rel;
	Datum		values[Natts_checkpoint];
	bool		nulls[Natts_checkpoint];
	HeapTuple	tup;
	ItemPointerData otid;

	if (vgtid == NULL)
		vgtid = old_vgtid;
	otid = cp->pending ? cp->pending_tid : cp->tid;

	rel = table_open(cp->relid, RowExclusiveLock);

	/*
	 * Prune the row's page first, as a read of it would: the worker never
	 * reads the row, and without pruning every update would leave a dead
	 * version behind until the page is full and the next version moves to a
	 * new page (one new page per few dozen transactions until autovacuum
	 * comes).  With pruning the row stays on its page and updates are HOT.
	 * A page holds a few dozen versions: looking every few writes is enough.
	 */
	if (++cp->writes_since_prune >= CHECKPOINT_PRUNE_EVERY)
	{
		Buffer		buf = ReadBuffer(rel, ItemPointerGetBlockNumber(&otid));

		heap_page_prune_opt(rel, buf);
		ReleaseBuffer(buf);
		cp->writes_since_prune = 0;
	}

	values[0] = Int32GetDatum(cp->stream_id);
	nulls[0] = false;
	values[1] = PointerGetDatum(vgtid);
	nulls[1] = (vgtid == NULL);
	values[2] = BoolGetDatum(copy_completed);
	nulls[2] = false;
	values[3] = TimestampTzGetDatum(GetCurrentTransactionStartTimestamp());
	nulls[3] = false;
	tup = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	update_checkpoint_tuple(rel, &otid, tup);
	cp->pending_tid = tup->t_self;
	cp->pending = true;
	cp->pending_copy_completed = copy_completed;
	heap_freetuple(tup);
	table_close(rel, NoLock);
}

void
checkpoint_committed(Checkpoint *cp)
{
	if (cp->pending)
	{
		cp->tid = cp->pending_tid;
		cp->copy_completed = cp->pending_copy_completed;
		cp->pending = false;
	}
}

void
checkpoint_aborted(Checkpoint *cp)
{
	cp->pending = false;
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
