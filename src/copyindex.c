/*-------------------------------------------------------------------------
 *
 * copyindex.c
 *	  Primary-key index of an empty mirror built after its copy.
 *
 * Loading a table and then building its index by sorting is faster than
 * maintaining the index row by row, which is why pg_restore creates
 * indexes after the data.  When a shard starts copying a table into a
 * mirror that is empty (just created, or truncated for a re-copy) and whose
 * only index is its primary key, the worker marks that index not ready and
 * not valid, as CREATE INDEX CONCURRENTLY does for an index under
 * construction: rows are then inserted without index entries, and the
 * planner does not use the index.  The change is transactional: it commits
 * with the first copy batch.  The index is built (REINDEX, which marks it
 * valid again) in the worker's transaction as soon as one of these
 * happens:
 *
 *	 - no shard copies the table any more (each shard that started it moved
 *	   to another table or completed its copy phase);
 *	 - an event other than a copied insert arrives for the table (a change
 *	   the copy phase catches up on, or replication): it needs key lookups;
 *	 - a DDL event arrives (the schema code reads primary keys);
 *	 - a new session starts (after an error, a restart or a crash): every
 *	   mirror of the stream with an invalid primary-key index is built
 *	   before anything is applied, so a resumed copy always has its index.
 *
 * A copy without interruption inserts each key once, so the build finds no
 * duplicate; if it does (the same key on two shards, which Vitess does not
 * forbid), the row inserted last is kept, as the row-by-row path would,
 * and a WARNING says how many were removed.
 *
 * vstream_fdw.copy_defer_index = off keeps the index during the copy.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/copyindex.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/index.h"
#include "catalog/indexing.h"
#include "catalog/pg_index.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "copyindex.h"

bool		vstream_copy_defer_index = true;

typedef struct DeferredIndex
{
	Oid			relid;			/* hash key */
	Oid			indexoid;
	List	   *shards;			/* "keyspace/shard" copying the table */
	bool		ended;			/* no shard copies it: build at commit */
} DeferredIndex;

void
copyindex_define_gucs(void)
{
	DefineCustomBoolVariable("vstream_fdw.copy_defer_index",
							 "Builds the primary-key index of an empty mirror after its copy instead of row by row.",
							 "The index is marked not valid while the copy loads the table, as pg_restore loads tables before their indexes.",
							 &vstream_copy_defer_index,
							 true,
							 PGC_SIGHUP,
							 0,
							 NULL, NULL, NULL);
}

static HTAB *
deferred_hash(ApplyState *state)
{
	if (state->deferred_indexes == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(DeferredIndex);
		ctl.hcxt = state->sessioncxt;
		state->deferred_indexes = hash_create("vstream_fdw deferred indexes", 16, &ctl,
											  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	return state->deferred_indexes;
}

static char *
shard_key(const char *keyspace, const char *shard)
{
	return psprintf("%s/%s", keyspace ? keyspace : "", shard ? shard : "");
}

/* Execute a utility statement through SPI; errors propagate. */
static void
spi_exec(const char *sql, int expected)
{
	int			rc;

	SPI_connect();
	rc = SPI_execute(sql, false, 0);
	if (rc != expected)
		elog(ERROR, "SPI_execute failed: %s: %s", SPI_result_code_string(rc), sql);
	SPI_finish();
}

/*
 * Remove all but the last inserted row of each primary key (the heap was
 * only appended to since the index was deferred, so the highest ctid is
 * the last row inserted).  Returns the number of rows removed.
 */
static uint64
remove_duplicates(Oid relid, Oid indexoid)
{
	Relation	idx = index_open(indexoid, AccessShareLock);
	StringInfoData sql;
	char	   *qrel = quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
												  get_rel_name(relid));
	int			i;
	uint64		removed;

	initStringInfo(&sql);
	appendStringInfo(&sql, "DELETE FROM %s a USING %s b WHERE ", qrel, qrel);
	for (i = 0; i < idx->rd_index->indnkeyatts; i++)
	{
		const char *col = quote_identifier(get_attname(relid, idx->rd_index->indkey.values[i], false));

		appendStringInfo(&sql, "a.%s IS NOT DISTINCT FROM b.%s AND ", col, col);
	}
	appendStringInfoString(&sql, "a.ctid < b.ctid");
	index_close(idx, AccessShareLock);

	SPI_connect();
	if (SPI_execute(sql.data, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not remove duplicate keys: %s", sql.data);
	removed = SPI_processed;
	SPI_finish();
	return removed;
}

/*
 * REINDEX the index (which marks it valid and ready again).  The caller has
 * closed the relations of the transaction (REINDEX refuses an index in use).
 */
static void
build_index(Oid relid, Oid indexoid)
{
	char	   *qidx = quote_qualified_identifier(get_namespace_name(get_rel_namespace(indexoid)),
												  get_rel_name(indexoid));
	char	   *sql = psprintf("REINDEX INDEX %s", qidx);
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	bool		duplicates = false;

	ereport(DEBUG1,
			(errmsg("vstream_fdw: building primary-key index %s after the copy", qidx)));

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		spi_exec(sql, SPI_OK_UTILITY);
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		if (edata->sqlerrcode != ERRCODE_UNIQUE_VIOLATION)
			PG_RE_THROW();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(cxt);
		CurrentResourceOwner = owner;
		duplicates = true;
	}
	PG_END_TRY();

	if (duplicates)
	{
		uint64		removed = remove_duplicates(relid, indexoid);

		ereport(WARNING,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg_plural("mirror table \"%s\" received %llu row whose primary key another copied row had",
								"mirror table \"%s\" received %llu rows whose primary key another copied row had",
								removed,
								get_rel_name(relid), (unsigned long long) removed),
				 errdetail("The row copied last was kept for each key, as an insert over an existing key does."),
				 errhint("The source keyspace has rows with the same primary key on several shards.")));
		spi_exec(sql, SPI_OK_UTILITY);
	}
	CommandCounterIncrement();
}

/* The primary-key index of "rel" if it is its only index and is valid. */
static Oid
sole_primary_key(Relation rel)
{
	List	   *indexes = RelationGetIndexList(rel);
	Oid			pk = RelationGetPrimaryKeyIndex(rel);

	if (list_length(indexes) != 1 || !OidIsValid(pk) || linitial_oid(indexes) != pk)
		pk = InvalidOid;
	list_free(indexes);
	return pk;
}

/* Mark the index not valid and not ready (transactional). */
static void
defer_index(Oid relid, Oid indexoid)
{
	Relation	pg_index;
	HeapTuple	tup;
	Form_pg_index form;

	LockRelationOid(indexoid, AccessExclusiveLock);
	pg_index = table_open(IndexRelationId, RowExclusiveLock);
	tup = SearchSysCacheCopy1(INDEXRELID, ObjectIdGetDatum(indexoid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for index %u", indexoid);
	form = (Form_pg_index) GETSTRUCT(tup);
	form->indisvalid = false;
	form->indisready = false;
	CatalogTupleUpdate(pg_index, &tup->t_self, tup);
	heap_freetuple(tup);
	table_close(pg_index, RowExclusiveLock);
	CacheInvalidateRelcacheByRelid(relid);
	CommandCounterIncrement();
}

/* "key" (keyspace/shard) no longer copies the table of "d". */
static void
remove_shard(DeferredIndex *d, const char *key)
{
	ListCell   *lc;

	foreach(lc, d->shards)
	{
		if (strcmp(lfirst(lc), key) == 0)
		{
			pfree(lfirst(lc));
			d->shards = foreach_delete_current(d->shards, lc);
			break;
		}
	}
	if (d->shards == NIL)
		d->ended = true;
}

void
copyindex_copy_field(ApplyState *state, ApplyMapping *m)
{
	HTAB	   *hash = deferred_hash(state);
	HASH_SEQ_STATUS seq;
	DeferredIndex *d;
	MemoryContext old;
	char	   *key = shard_key(m->keyspace, m->shard);
	bool		found;
	ListCell   *lc;
	Relation	rel;
	Oid			pk;

	Assert(state->in_txn);

	/* this shard moved on from the tables it was copying */
	hash_seq_init(&seq, hash);
	while ((d = hash_seq_search(&seq)) != NULL)
		if (d->relid != m->relid)
			remove_shard(d, key);

	if (m->skip || !m->valid || !OidIsValid(m->relid))
		return;

	d = hash_search(hash, &m->relid, HASH_FIND, NULL);
	if (d == NULL)
	{
		if (!vstream_copy_defer_index)
			return;
		/* empty (no page at all) and keyed by its primary key only */
		apply_close_rels(state);
		rel = table_open(m->relid, RowExclusiveLock);
		pk = RelationGetNumberOfBlocks(rel) == 0 ? sole_primary_key(rel) : InvalidOid;
		table_close(rel, NoLock);
		if (!OidIsValid(pk))
			return;
		defer_index(m->relid, pk);
		d = hash_search(hash, &m->relid, HASH_ENTER, &found);
		d->indexoid = pk;
		d->shards = NIL;
		ereport(DEBUG1,
				(errmsg("vstream_fdw: the primary-key index of mirror table \"%s\" is built after its copy",
						m->mirror_table)));
	}
	d->ended = false;
	foreach(lc, d->shards)
		if (strcmp(lfirst(lc), key) == 0)
			return;
	old = MemoryContextSwitchTo(state->sessioncxt);
	d->shards = lappend(d->shards, pstrdup(key));
	MemoryContextSwitchTo(old);
}

void
copyindex_shard_completed(ApplyState *state, const char *keyspace,
						  const char *shard)
{
	HASH_SEQ_STATUS seq;
	DeferredIndex *d;
	char	   *key;

	if (state->deferred_indexes == NULL)
		return;
	key = shard_key(keyspace, shard);
	hash_seq_init(&seq, state->deferred_indexes);
	while ((d = hash_seq_search(&seq)) != NULL)
		remove_shard(d, key);
}

static void
finish(ApplyState *state, DeferredIndex *d)
{
	Oid			relid = d->relid;
	Oid			indexoid = d->indexoid;

	apply_close_rels(state);
	hash_search(state->deferred_indexes, &relid, HASH_REMOVE, NULL);
	build_index(relid, indexoid);
}

void
copyindex_before_rows(ApplyState *state, ApplyMapping *m,
					  Binlogdata__RowEvent *ev, bool copying)
{
	DeferredIndex *d;
	size_t		i;

	if (state->deferred_indexes == NULL || !OidIsValid(m->relid))
		return;
	if (copying)
	{
		/* copied rows are inserts; anything else needs the key */
		for (i = 0; i < ev->n_row_changes; i++)
			if (ev->row_changes[i]->before != NULL)
				break;
		if (i == ev->n_row_changes)
			return;
	}
	d = hash_search(state->deferred_indexes, &m->relid, HASH_FIND, NULL);
	if (d != NULL)
		finish(state, d);
}

/* Build the deferred indexes (only those whose copies ended, or all). */
static void
finish_deferred(ApplyState *state, bool only_ended)
{
	HASH_SEQ_STATUS seq;
	DeferredIndex *d;
	List	   *todo = NIL;
	ListCell   *lc;

	if (state->deferred_indexes == NULL)
		return;
	hash_seq_init(&seq, state->deferred_indexes);
	while ((d = hash_seq_search(&seq)) != NULL)
		if (d->ended || !only_ended)
			todo = lappend(todo, d);
	foreach(lc, todo)
		finish(state, lfirst(lc));
	list_free(todo);
}

void
copyindex_finish_all(ApplyState *state)
{
	finish_deferred(state, false);
}

void
copyindex_finish_ended(ApplyState *state)
{
	finish_deferred(state, true);
}

/* The primary-key index of "rel" if there is one that is not valid. */
static Oid
invalid_primary_key(Relation rel)
{
	List	   *indexes = RelationGetIndexList(rel);
	ListCell   *lc;
	Oid			result = InvalidOid;

	foreach(lc, indexes)
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		Form_pg_index form;

		if (!HeapTupleIsValid(tup))
			continue;
		form = (Form_pg_index) GETSTRUCT(tup);
		if (form->indisprimary && !form->indisvalid && form->indislive)
			result = form->indexrelid;
		ReleaseSysCache(tup);
		if (OidIsValid(result))
			break;
	}
	list_free(indexes);
	return result;
}

Oid
copyindex_pkindex(ApplyState *state, Relation rel)
{
	Oid			relid = RelationGetRelid(rel);
	Oid			indexoid = invalid_primary_key(rel);

	if (!OidIsValid(indexoid))
		return InvalidOid;
	if (state->deferred_indexes &&
		hash_search(state->deferred_indexes, &relid, HASH_FIND, NULL) != NULL)
		return indexoid;
	/* left by an earlier session: build it before the mirror is used */
	apply_close_rels(state);
	build_index(relid, indexoid);
	return indexoid;
}

void
copyindex_session_start(ApplyState *state)
{
	StringInfoData sql;
	Oid			argtypes[2] = {INT4OID, TEXTOID};
	Datum		values[2];
	List	   *todo = NIL;
	ListCell   *lc;
	uint64		i;

	state->deferred_indexes = NULL;
	initStringInfo(&sql);
	appendStringInfoString(&sql,
						   "SELECT i.indrelid, i.indexrelid"
						   "  FROM vstream_fdw.mirror m"
						   "  JOIN pg_catalog.pg_class c ON c.relname = m.table_name"
						   "  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace AND n.nspname = $2"
						   "  JOIN pg_catalog.pg_index i ON i.indrelid = c.oid"
						   " WHERE m.stream_id = $1 AND i.indisprimary AND NOT i.indisvalid"
						   "   AND i.indislive");
	values[0] = Int32GetDatum(state->def->id);
	values[1] = CStringGetTextDatum(state->def->target_schema);
	SPI_connect();
	if (SPI_execute_with_args(sql.data, 2, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not look for mirrors with an invalid primary key");
	for (i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Oid			relid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
														   SPI_tuptable->tupdesc, 1, &isnull));
		Oid			indexoid = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i],
															  SPI_tuptable->tupdesc, 2, &isnull));

		todo = lappend_oid(todo, relid);
		todo = lappend_oid(todo, indexoid);
	}
	SPI_finish();

	for (lc = list_head(todo); lc != NULL; lc = lnext(todo, lnext(todo, lc)))
	{
		Oid			relid = lfirst_oid(lc);
		Oid			indexoid = lfirst_oid(lnext(todo, lc));

		ereport(LOG,
				(errmsg("vstream_fdw: building the primary-key index of mirror table \"%s\", whose copy an earlier session interrupted",
						get_rel_name(relid))));
		LockRelationOid(relid, ShareLock);
		build_index(relid, indexoid);
	}
	list_free(todo);
}
