/*-------------------------------------------------------------------------
 *
 * copystate.c
 *	  Copy progress per shard and table, re-copies of single tables, and
 *	  the position a copy resumes from.
 *
 * See copystate.h for why.  How a table's copy is seen to complete on a
 * shard: its table_p_ks entry disappears from the shard's VGTID (a table
 * with rows), or the shard sends the copy FIELD of another table or its
 * COPY_COMPLETED (an empty table, which never has an entry).  The last key
 * copied comes from the entry; an empty table gets a made-up key of the
 * right shape (any key is correct: a table named with a key has all its
 * changes sent, and rows after the key copied again as upserts).
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/copystate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "copystate.h"
#include "mirror.h"
#include "shape.h"
#include "vstream.h"

/* The last table_p_ks entry of a table on a shard. */
typedef struct CopyEntry
{
	char	   *table;
	bytea	   *lastpk;			/* serialized query.QueryResult, or NULL */
} CopyEntry;

typedef struct ShardCopy
{
	char		key[2 * NAMEDATALEN + 2];	/* keyspace/shard */
	char	   *keyspace;
	char	   *shard;
	List	   *entries;		/* CopyEntry * */
	char	   *field_table;	/* table of the last copy FIELD */
	bytea	   *field_lastpk;	/* a made-up key for it */
} ShardCopy;

typedef struct CopyDone
{
	char	   *keyspace;
	char	   *shard;
	char	   *table;
	bytea	   *lastpk;
} CopyDone;

typedef struct CopyTracker
{
	MemoryContext cxt;			/* session */
	MemoryContext txcxt;		/* reset at the end of each transaction */
	HTAB	   *shards;
	List	   *done;			/* CopyDone *, in txcxt */
	List	   *copying;		/* tables copied again in this session */
	List	   *still_copying;	/* of those, the ones the last VGTID names */
	bool		saw_vgtid;
} CopyTracker;

/* ---- lastpk values ---- */

static bytea *
pack_result(const Query__QueryResult *qr)
{
	size_t		len = query__query_result__get_packed_size(qr);
	bytea	   *b = palloc(VARHDRSZ + len);

	query__query_result__pack(qr, (uint8 *) VARDATA(b));
	SET_VARSIZE(b, VARHDRSZ + len);
	return b;
}

static Query__QueryResult *
unpack_result(const bytea *b)
{
	ProtobufCAllocator alloc;
	Query__QueryResult *qr;

	vstream_pb_allocator(&alloc, CurrentMemoryContext);
	qr = query__query_result__unpack(&alloc, VARSIZE_ANY_EXHDR(b),
									 (const uint8 *) VARDATA_ANY(b));
	if (qr == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid lastpk in vstream_fdw.table_copy"),
				 errhint("Resync the stream with vstream_fdw.resync_stream().")));
	return qr;
}

/* A key of the primary key's shape, for a table that had no rows. */
static bytea *
made_up_lastpk(ApplyMapping *m)
{
	Query__QueryResult qr = QUERY__QUERY_RESULT__INIT;
	Query__Row row = QUERY__ROW__INIT;
	Query__Row *rowp = &row;
	StringInfoData values;
	int			i;
	int			n = 0;

	qr.fields = palloc(sizeof(Query__Field *) * Max(m->nfields, 1));
	row.lengths = palloc(sizeof(int64_t) * Max(m->nfields, 1));
	initStringInfo(&values);
	for (i = 0; i < m->nfields; i++)
	{
		Query__Field *f = m->fields[i];
		const char *v;

		if (!(f->flags & VSTREAM_PRI_KEY_FLAG))
			continue;
		qr.fields[n] = palloc(sizeof(Query__Field));
		query__field__init(qr.fields[n]);
		qr.fields[n]->name = f->name;
		qr.fields[n]->type = f->type;
		switch (f->type)
		{
			case QUERY__TYPE__DATE:
				v = "1000-01-01";
				break;
			case QUERY__TYPE__DATETIME:
			case QUERY__TYPE__TIMESTAMP:
				v = "1970-01-01 00:00:01";
				break;
			case QUERY__TYPE__TIME:
				v = "00:00:00";
				break;
			case QUERY__TYPE__YEAR:
				v = "1901";
				break;
			default:
				/* integral types have flag ISINTEGRAL (256) in query.Type */
				v = (f->type & 256) ? "0" : "";
				break;
		}
		if (f->type == QUERY__TYPE__DECIMAL || f->type == QUERY__TYPE__FLOAT32 ||
			f->type == QUERY__TYPE__FLOAT64)
			v = "0";
		row.lengths[n] = strlen(v);
		appendStringInfoString(&values, v);
		n++;
	}
	if (n == 0)
		return NULL;
	qr.n_fields = n;
	row.n_lengths = n;
	row.values.data = (uint8_t *) values.data;
	row.values.len = values.len;
	qr.n_rows = 1;
	qr.rows = &rowp;
	return pack_result(&qr);
}

/* ---- resume ---- */

static bool
name_listed(List *names, const char *name)
{
	ListCell   *lc;

	foreach(lc, names)
		if (strcmp(lfirst(lc), name) == 0)
			return true;
	return false;
}

static bool
entry_has(Binlogdata__ShardGtid *sg, const char *table)
{
	size_t		i;

	for (i = 0; i < sg->n_table_p_ks; i++)
		if (strcmp(sg->table_p_ks[i]->table_name, table) == 0)
			return true;
	return false;
}

static void
entry_add(Binlogdata__ShardGtid *sg, const char *table, Query__QueryResult *lastpk)
{
	Binlogdata__TableLastPK *tp = palloc(sizeof(Binlogdata__TableLastPK));
	Binlogdata__TableLastPK **arr;

	binlogdata__table_last_pk__init(tp);
	tp->table_name = pstrdup(table);
	tp->lastpk = lastpk;
	arr = palloc(sizeof(Binlogdata__TableLastPK *) * (sg->n_table_p_ks + 1));
	if (sg->n_table_p_ks > 0)
		memcpy(arr, sg->table_p_ks, sizeof(Binlogdata__TableLastPK *) * sg->n_table_p_ks);
	arr[sg->n_table_p_ks++] = tp;
	sg->table_p_ks = arr;
}

static void
entry_remove(Binlogdata__ShardGtid *sg, const char *table)
{
	size_t		i,
				j = 0;

	for (i = 0; i < sg->n_table_p_ks; i++)
		if (strcmp(sg->table_p_ks[i]->table_name, table) != 0)
			sg->table_p_ks[j++] = sg->table_p_ks[i];
	sg->n_table_p_ks = j;
}

/* Add "copy this table from the start" to every shard of a VGTID. */
static void
vgtid_add_recopy(Binlogdata__VGtid *vgtid, List *tables)
{
	size_t		i;
	ListCell   *lc;

	for (i = 0; i < vgtid->n_shard_gtids; i++)
	{
		Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];

		foreach(lc, tables)
		{
			entry_remove(sg, lfirst(lc));
			entry_add(sg, lfirst(lc), NULL);
		}
	}
}

void
copystate_prepare_resume(StreamDef *def, Binlogdata__VGtid *vgtid,
						 List **tables_to_copy)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1];
	size_t		i;
	uint64		r;
	MemoryContext outer = CurrentMemoryContext;
	SPITupleTable *done;
	uint64		ndone;

	*tables_to_copy = NIL;
	values[0] = Int32GetDatum(def->id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT source_table FROM vstream_fdw.mirror "
							  "WHERE stream_id = $1 AND state = 'copying' "
							  "ORDER BY source_table",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read vstream_fdw.mirror");
	for (r = 0; r < SPI_processed; r++)
	{
		MemoryContext old = MemoryContextSwitchTo(outer);

		*tables_to_copy = lappend(*tables_to_copy,
								  SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 1));
		MemoryContextSwitchTo(old);
	}
	if (SPI_execute_with_args("SELECT keyspace, shard, source_table, lastpk "
							  "FROM vstream_fdw.table_copy WHERE stream_id = $1 "
							  "AND lastpk IS NOT NULL",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read vstream_fdw.table_copy");
	done = SPI_tuptable;
	ndone = SPI_processed;

	/*
	 * Once the stream's own copy completed, only tables marked 'copying' are
	 * copied: an entry for any other table (one dropped while it was being
	 * copied again) would make the shard copy every table.
	 */
	for (i = 0; def->copy_completed && vgtid != NULL && i < vgtid->n_shard_gtids; i++)
	{
		Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];
		size_t		j;

		for (j = 0; j < sg->n_table_p_ks;)
		{
			const char *table = sg->table_p_ks[j]->table_name;
			ListCell   *lc;
			bool		wanted = false;

			foreach(lc, *tables_to_copy)
				if (strcmp(lfirst(lc), table) == 0)
					wanted = true;
			if (wanted)
				j++;
			else
			{
				ereport(LOG,
						(errmsg("vstream_fdw stream of server \"%s\": shard %s/%s no longer copies table \"%s\"",
								def->server_name, sg->keyspace, sg->shard, table),
						 errdetail("The table is not being copied again any more (dropped, or its copy was reset).")));
				entry_remove(sg, table);
			}
		}
	}
	for (i = 0; vgtid != NULL && i < vgtid->n_shard_gtids; i++)
	{
		Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];
		char	   *key = psprintf("%s/%s", sg->keyspace, sg->shard);
		bool		copied = false;
		bool		copies;
		int			known = 0;
		ListCell   *lc;

		foreach(lc, def->copied_shards)
			if (strcmp(lfirst(lc), key) == 0)
				copied = true;

		/* will this shard run a copy phase? */
		copies = sg->n_table_p_ks > 0 ||
			(!def->copy_completed && !copied && sg->gtid[0] != '\0');
		if (!copies)
			continue;
		for (r = 0; r < ndone; r++)
		{
			HeapTuple	tup = done->vals[r];
			char	   *ks = SPI_getvalue(tup, done->tupdesc, 1);
			char	   *sh = SPI_getvalue(tup, done->tupdesc, 2);
			char	   *table = SPI_getvalue(tup, done->tupdesc, 3);
			bool		isnull;
			Datum		d;

			if (strcmp(ks, sg->keyspace) != 0 || strcmp(sh, sg->shard) != 0)
				continue;
			known++;
			if (entry_has(sg, table))
				continue;
			if (def->copy_completed && !name_listed(*tables_to_copy, table))
				continue;		/* only the tables copied again are copied */
			d = SPI_getbinval(tup, done->tupdesc, 4, &isnull);
			{
				MemoryContext old = MemoryContextSwitchTo(outer);

				entry_add(sg, table, unpack_result(DatumGetByteaPP(d)));
				MemoryContextSwitchTo(old);
			}
		}
		if (known > 0)
			ereport(LOG,
					(errmsg("vstream_fdw stream of server \"%s\": the copy of shard %s resumes; %d completed table(s) resume from their last key",
							def->server_name, key, known)));
		else if (!def->copy_completed && !copied && sg->n_table_p_ks == 0 &&
				 sg->gtid[0] != '\0')
		{
			/*
			 * Saved between two tables with nothing recorded (a checkpoint
			 * from vstream_fdw 0.1.0): start this shard's copy over.
			 */
			ereport(LOG,
					(errmsg("vstream_fdw stream of server \"%s\": restarting the copy of shard %s from the beginning",
							def->server_name, key),
					 errdetail("The saved position of the shard has no table_p_ks and no completed table is recorded.")));
			sg->gtid = pstrdup("");
		}
	}
	SPI_finish();
	MemoryContextSwitchTo(outer);

}

/* ---- session tracking ---- */

static ShardCopy *
shard_copy(CopyTracker *t, const char *keyspace, const char *shard)
{
	char		key[2 * NAMEDATALEN + 2];
	ShardCopy  *sc;
	bool		found;
	size_t		kl;
	size_t		sl;

	if (keyspace == NULL || shard == NULL || shard[0] == '\0')
		return NULL;
	kl = strlen(keyspace);
	sl = strlen(shard);
	if (kl + sl + 2 > sizeof(key))
		return NULL;
	/* "keyspace/shard", zero-padded (the hash key is the whole buffer) */
	memset(key, 0, sizeof(key));
	memcpy(key, keyspace, kl);
	key[kl] = '/';
	memcpy(key + kl + 1, shard, sl);
	sc = hash_search(t->shards, key, HASH_ENTER, &found);
	if (!found)
	{
		sc->keyspace = MemoryContextStrdup(t->cxt, keyspace);
		sc->shard = MemoryContextStrdup(t->cxt, shard);
		sc->entries = NIL;
		sc->field_table = NULL;
		sc->field_lastpk = NULL;
	}
	return sc;
}

static List *
entries_of(CopyTracker *t, const Binlogdata__ShardGtid *sg)
{
	List	   *l = NIL;
	size_t		i;
	MemoryContext old = MemoryContextSwitchTo(t->cxt);

	for (i = 0; i < sg->n_table_p_ks; i++)
	{
		CopyEntry  *e = palloc(sizeof(CopyEntry));

		e->table = pstrdup(sg->table_p_ks[i]->table_name);
		e->lastpk = sg->table_p_ks[i]->lastpk ? pack_result(sg->table_p_ks[i]->lastpk) : NULL;
		l = lappend(l, e);
	}
	MemoryContextSwitchTo(old);
	return l;
}

static CopyEntry *
find_entry(List *entries, const char *table)
{
	ListCell   *lc;

	foreach(lc, entries)
	{
		CopyEntry  *e = lfirst(lc);

		if (strcmp(e->table, table) == 0)
			return e;
	}
	return NULL;
}

static void
mark_done(CopyTracker *t, ShardCopy *sc, const char *table, bytea *lastpk)
{
	MemoryContext old;
	CopyDone   *d;

	if (lastpk == NULL)
		return;
	old = MemoryContextSwitchTo(t->txcxt);
	d = palloc(sizeof(CopyDone));
	d->keyspace = pstrdup(sc->keyspace);
	d->shard = pstrdup(sc->shard);
	d->table = pstrdup(table);
	d->lastpk = (bytea *) pg_detoast_datum_copy((struct varlena *) lastpk);
	t->done = lappend(t->done, d);
	MemoryContextSwitchTo(old);
}

void
copystate_init(ApplyState *state, const Binlogdata__VGtid *vgtid)
{
	CopyTracker *t;
	HASHCTL		ctl;
	size_t		i;

	t = MemoryContextAllocZero(state->sessioncxt, sizeof(CopyTracker));
	t->cxt = AllocSetContextCreate(state->sessioncxt, "vstream_fdw copy state",
								   ALLOCSET_SMALL_SIZES);
	t->txcxt = AllocSetContextCreate(state->sessioncxt, "vstream_fdw copy state txn",
									 ALLOCSET_SMALL_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(((ShardCopy *) NULL)->key);
	ctl.entrysize = sizeof(ShardCopy);
	ctl.hcxt = t->cxt;
	t->shards = hash_create("vstream_fdw shard copies", 16, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	state->copy = t;
	for (i = 0; vgtid != NULL && i < vgtid->n_shard_gtids; i++)
	{
		Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];
		ShardCopy  *sc = shard_copy(t, sg->keyspace, sg->shard);

		if (sc)
			sc->entries = entries_of(t, sg);
	}
}

void
copystate_set_copying(ApplyState *state, List *tables)
{
	CopyTracker *t = state->copy;
	ListCell   *lc;
	MemoryContext old = MemoryContextSwitchTo(t->cxt);

	foreach(lc, tables)
		t->copying = lappend(t->copying, pstrdup(lfirst(lc)));
	MemoryContextSwitchTo(old);
}

void
copystate_vgtid(ApplyState *state, const Binlogdata__VGtid *vgtid,
				const char *keyspace, const char *shard)
{
	CopyTracker *t = state->copy;
	size_t		i;
	ListCell   *lc;

	if (t == NULL || vgtid == NULL)
		return;
	for (i = 0; i < vgtid->n_shard_gtids; i++)
	{
		Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];
		ShardCopy  *sc;
		List	   *now;

		if (shard == NULL || strcmp(sg->shard, shard) != 0 ||
			strcmp(sg->keyspace, keyspace) != 0)
			continue;
		sc = shard_copy(t, sg->keyspace, sg->shard);
		if (sc == NULL)
			continue;
		if (sg->n_table_p_ks == 0 && sc->entries == NIL)
			continue;			/* replicating: nothing to track */
		now = entries_of(t, sg);
		foreach(lc, sc->entries)
		{
			CopyEntry  *e = lfirst(lc);

			if (find_entry(now, e->table) == NULL)
			{
				mark_done(t, sc, e->table, e->lastpk);
				if (sc->field_table && strcmp(sc->field_table, e->table) == 0)
					sc->field_table = NULL;
			}
			pfree(e->table);
			if (e->lastpk)
				pfree(e->lastpk);
			pfree(e);
		}
		list_free(sc->entries);
		sc->entries = now;
	}

	/* which of the tables copied again does some shard still copy? */
	if (t->copying != NIL)
	{
		MemoryContext old = MemoryContextSwitchTo(t->txcxt);

		t->still_copying = NIL;
		for (i = 0; i < vgtid->n_shard_gtids; i++)
		{
			Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];

			foreach(lc, t->copying)
				if (entry_has(sg, lfirst(lc)))
					t->still_copying = lappend(t->still_copying, lfirst(lc));
		}
		t->saw_vgtid = true;
		MemoryContextSwitchTo(old);
	}
}

void
copystate_copy_field(ApplyState *state, ApplyMapping *m)
{
	CopyTracker *t = state->copy;
	ShardCopy  *sc;
	MemoryContext old;

	if (t == NULL)
		return;
	sc = shard_copy(t, m->keyspace, m->shard);
	if (sc == NULL)
		return;
	if (sc->field_table && strcmp(sc->field_table, m->table) == 0)
		return;
	if (sc->field_table && find_entry(sc->entries, sc->field_table) == NULL)
		mark_done(t, sc, sc->field_table, sc->field_lastpk);
	old = MemoryContextSwitchTo(t->cxt);
	sc->field_table = pstrdup(m->table);
	sc->field_lastpk = made_up_lastpk(m);
	MemoryContextSwitchTo(old);
}

void
copystate_shard_completed(ApplyState *state, const char *keyspace,
						  const char *shard)
{
	CopyTracker *t = state->copy;
	ShardCopy  *sc;

	if (t == NULL)
		return;
	sc = shard_copy(t, keyspace, shard);
	if (sc == NULL)
		return;
	if (sc->field_table && find_entry(sc->entries, sc->field_table) == NULL)
		mark_done(t, sc, sc->field_table, sc->field_lastpk);
	sc->field_table = NULL;
}

bytea *
copystate_write(ApplyState *state, bytea *pending_vgtid, bytea *committed_vgtid)
{
	CopyTracker *t = state->copy;
	ListCell   *lc;

	if (t == NULL)
		return NULL;
	foreach(lc, t->done)
	{
		CopyDone   *d = lfirst(lc);
		Oid			types[5] = {INT4OID, TEXTOID, TEXTOID, TEXTOID, BYTEAOID};
		Datum		values[5];

		values[0] = Int32GetDatum(state->stream_id);
		values[1] = CStringGetTextDatum(d->keyspace);
		values[2] = CStringGetTextDatum(d->shard);
		values[3] = CStringGetTextDatum(d->table);
		values[4] = PointerGetDatum(d->lastpk);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("INSERT INTO vstream_fdw.table_copy "
								  "(stream_id, keyspace, shard, source_table, lastpk) "
								  "VALUES ($1, $2, $3, $4, $5) "
								  "ON CONFLICT (stream_id, keyspace, shard, source_table) "
								  "DO UPDATE SET lastpk = excluded.lastpk, completed_at = now()",
								  5, types, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not write vstream_fdw.table_copy");
		SPI_finish();
	}

	/* tables copied again that no shard copies any more are whole again */
	if (t->copying != NIL && t->saw_vgtid)
	{
		List	   *keep = NIL;
		MemoryContext old;

		foreach(lc, t->copying)
		{
			char	   *table = lfirst(lc);
			ListCell   *lc2;
			bool		still = false;

			foreach(lc2, t->still_copying)
				if (strcmp(lfirst(lc2), table) == 0)
					still = true;
			if (still || recopy_pending(state, table))
			{
				keep = lappend(keep, table);
				continue;
			}
			mirror_set_state(state->stream_id, mirror_get(state->stream_id, table),
							 MIRROR_ACTIVE);
			ereport(LOG,
					(errmsg("vstream_fdw stream of server \"%s\": table \"%s\" copied again",
							state->def->server_name, table)));
		}
		old = MemoryContextSwitchTo(t->cxt);
		t->copying = list_copy(keep);
		MemoryContextSwitchTo(old);
	}

	if (state->recopy_new)
	{
		bytea	   *base = pending_vgtid ? pending_vgtid : committed_vgtid;
		Binlogdata__VGtid *vgtid;

		if (base == NULL)
			return NULL;		/* nothing streamed yet: the copy covers it */
		vgtid = vstream_vgtid_deserialize(base);
		vgtid_add_recopy(vgtid, state->recopy_tables);
		return vstream_vgtid_serialize(vgtid);
	}
	return NULL;
}

void
copystate_end_txn(ApplyState *state, bool committed)
{
	CopyTracker *t = state->copy;

	if (committed)
		state->recopy_new = false;
	if (t == NULL)
		return;
	t->done = NIL;
	t->still_copying = NIL;
	t->saw_vgtid = false;
	MemoryContextReset(t->txcxt);
}

/* ---- re-copy requests ---- */

bool
recopy_pending(ApplyState *state, const char *source_table)
{
	ListCell   *lc;

	foreach(lc, state->recopy_tables)
		if (strcmp(lfirst(lc), source_table) == 0)
			return true;
	return false;
}

static void
forget_table_copy(int32 stream_id, const char *source_table)
{
	Oid			types[2] = {INT4OID, TEXTOID};
	Datum		values[2];

	values[0] = Int32GetDatum(stream_id);
	values[1] = CStringGetTextDatum(source_table);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("DELETE FROM vstream_fdw.table_copy "
							  "WHERE stream_id = $1 AND source_table = $2",
							  2, types, values, NULL, false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not write vstream_fdw.table_copy");
	SPI_finish();
}

/* Empty the mirror (or register it) and mark it 'copying'. */
static void
start_recopy(StreamDef *def, const char *source_table)
{
	MirrorTable *mt = mirror_get(def->id, source_table);

	if (mt->exists)
	{
		shape_note_recopy(def, mt);
		mirror_truncate(def, mt);
		mirror_set_state(def->id, mt, MIRROR_COPYING);
	}
	else
	{
		char	   *name = mirror_pg_name(source_table);

		mirror_check_free(def, name, source_table);
		mirror_register(def->id, mt, name, MIRROR_COPYING);
	}
	forget_table_copy(def->id, source_table);
}

void
recopy_request(ApplyState *state, const char *source_table)
{
	MemoryContext old;

	if (mirror_is_internal_table(source_table))
		return;
	apply_close_rels(state);
	start_recopy(state->def, source_table);
	if (!recopy_pending(state, source_table))
	{
		old = MemoryContextSwitchTo(state->sessioncxt);
		state->recopy_tables = lappend(state->recopy_tables, pstrdup(source_table));
		MemoryContextSwitchTo(old);
	}
	state->recopy_new = true;
	state->restart_session = true;
	schema_invalidate_table(state, source_table);
	ereport(LOG,
			(errmsg("vstream_fdw stream of server \"%s\" copies table \"%s\" again",
					state->def->server_name, source_table)));
}

/*
 * SQL: vstream_fdw._request_recopy(stream_id, source_table), with the
 * stream's worker stopped (resync_table, add_table).
 */
PG_FUNCTION_INFO_V1(vstream_request_recopy);

Datum
vstream_request_recopy(PG_FUNCTION_ARGS)
{
	int32		stream_id = PG_GETARG_INT32(0);
	char	   *table = text_to_cstring(PG_GETARG_TEXT_PP(1));
	StreamDef  *def;

	if (table[0] == '\0' || strchr(table, '.') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid table name \"%s\"", table),
				 errhint("Give a bare source table name, without keyspace.")));
	if (mirror_is_internal_table(table))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("\"%s\" is an internal table of Vitess", table),
				 errhint("Vitess's online DDL tables are never mirrored.")));
	def = checkpoint_load_stream(stream_id);
	if (def == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("stream %d does not exist", stream_id)));

	mirror_cache_init(CurrentMemoryContext);
	start_recopy(def, table);
	mirror_cache_drop();

	if (def->vgtid)
	{
		Binlogdata__VGtid *vgtid = vstream_vgtid_deserialize(def->vgtid);

		vgtid_add_recopy(vgtid, list_make1(table));
		checkpoint_store_vgtid(stream_id, vstream_vgtid_serialize(vgtid));
	}
	PG_RETURN_VOID();
}
