/*-------------------------------------------------------------------------
 *
 * shape.c
 *	  Mirror options of a stream: metadata columns and soft deletes.
 *
 * The columns (see shape.h for what they hold):
 *
 *	 _vstream_keyspace	  text			source keyspace
 *	 _vstream_shard		  text			source shard
 *	 _vstream_commit_time timestamptz	source commit time (NULL: copied row)
 *	 _vstream_gtid		  text			shard's GTID position after the source
 *										transaction (NULL: copied row)
 *	 _vstream_applied_at  timestamptz	start of the PostgreSQL transaction
 *										that wrote the row
 *	 _vstream_deleted	  boolean		soft delete: deleted at the source
 *	 _vstream_deleted_at  timestamptz	soft delete: source commit time of
 *										the delete
 *
 * The SQL function set_stream_options() adds and drops them on the existing
 * mirrors; the worker adds the missing ones when it resolves a mapping (a
 * mirror it creates, or one the option was turned on for while a mapping
 * was cached).  They are not source columns: no FIELD or DDL event maps to
 * them (source names with the reserved prefix get another mirror name),
 * verify() does not compare them and skips soft-deleted rows.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/shape.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "shape.h"

typedef struct ShapeColumnDef
{
	const char *name;
	const char *sqltype;
	Oid			typid;
	bool		metadata;		/* else: soft delete */
} ShapeColumnDef;

static const ShapeColumnDef shape_columns[SHAPE_NCOLUMNS] = {
	{VSTREAM_RESERVED_PREFIX "keyspace", "text", TEXTOID, true},
	{VSTREAM_RESERVED_PREFIX "shard", "text", TEXTOID, true},
	{VSTREAM_RESERVED_PREFIX "commit_time", "timestamptz", TIMESTAMPTZOID, true},
	{VSTREAM_RESERVED_PREFIX "gtid", "text", TEXTOID, true},
	{VSTREAM_RESERVED_PREFIX "applied_at", "timestamptz", TIMESTAMPTZOID, true},
	{VSTREAM_DELETED_COLUMN, "boolean NOT NULL DEFAULT false", BOOLOID, false},
	{VSTREAM_RESERVED_PREFIX "deleted_at", "timestamptz", TIMESTAMPTZOID, false},
};

const char *
shape_column_name(ShapeColumn c)
{
	return shape_columns[c].name;
}

static bool
column_wanted(StreamDef *def, ShapeColumn c)
{
	return shape_columns[c].metadata ? def->metadata_columns : def->soft_delete;
}

/* Attribute number of a live column, 0 if none. */
static AttrNumber
attribute_of(TupleDesc desc, const char *name)
{
	int			attno = SPI_fnumber(desc, name);

	return attno > 0 ? attno : 0;
}

/* Is a mirror column the destination of a source column? */
static bool
column_is_mapped(MirrorTable *mt, const char *column)
{
	ListCell   *lc;

	foreach(lc, mt->columns)
	{
		MirrorColumn *mc = lfirst(lc);

		if (mc->column && strcmp(mc->column, column) == 0)
			return true;
	}
	return false;
}

/*
 * Add the stream's columns the mirror lacks (options turned on, a mirror
 * just created).  Refuses a mirror where a source column already holds one
 * of the names (a mirror of a release without the reserved prefix).
 */
void
shape_ensure_columns(ApplyState *state, MirrorTable *mt, Oid relid)
{
	StreamDef  *def = state->def;
	Relation	rel;
	TupleDesc	desc;
	bool		missing[SHAPE_NCOLUMNS];
	bool		any = false;
	int			c;

	if (!def->metadata_columns && !def->soft_delete)
		return;
	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	for (c = 0; c < SHAPE_NCOLUMNS; c++)
	{
		missing[c] = false;
		if (!column_wanted(def, c))
			continue;
		if (column_is_mapped(mt, shape_columns[c].name))
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("column \"%s\" of mirror table \"%s.%s\" holds a source column",
							shape_columns[c].name, def->target_schema, mt->table_name),
					 errdetail("The mirror options of the stream of server \"%s\" need that name.",
							   def->server_name),
					 errhint("Copy the table again (vstream_fdw.resync_table()) after dropping its mirror, so that the source column gets another name, or turn the option off with vstream_fdw.set_stream_options().")));
		if (attribute_of(desc, shape_columns[c].name) == 0)
			missing[c] = any = true;
	}
	table_close(rel, AccessShareLock);
	if (!any)
		return;

	apply_close_rels(state);
	for (c = 0; c < SHAPE_NCOLUMNS; c++)
		if (missing[c])
			mirror_spi_exec(psprintf("ALTER TABLE %s ADD COLUMN IF NOT EXISTS %s %s",
									 quote_qualified_identifier(def->target_schema,
																mt->table_name),
									 quote_identifier(shape_columns[c].name),
									 shape_columns[c].sqltype));
}

/*
 * TRUNCATE at the source (unsharded keyspace) under soft_delete: every row
 * of the mirror is marked deleted at the time the TRUNCATE is applied (a
 * DDL event carries no row and the worker applies it with its own
 * position); rows already marked keep their time.  Returns how many.
 */
uint64
shape_mark_all_deleted(ApplyState *state, MirrorTable *mt)
{
	Oid			relid = mirror_relid(state->def, mt);
	uint64		n;

	if (!OidIsValid(relid))
		return 0;
	shape_ensure_columns(state, mt, relid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("UPDATE %s SET %s = true, %s = now() WHERE NOT %s",
							 quote_qualified_identifier(state->def->target_schema,
														mt->table_name),
							 quote_identifier(shape_columns[SHAPE_DELETED].name),
							 quote_identifier(shape_columns[SHAPE_DELETED_AT].name),
							 quote_identifier(shape_columns[SHAPE_DELETED].name)),
					false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not mark the rows of mirror table \"%s\" deleted",
			 mt->table_name);
	n = SPI_processed;
	SPI_finish();
	CommandCounterIncrement();
	return n;
}

/*
 * A table is copied again (its mirror is about to be truncated): say how
 * many rows marked deleted under soft_delete go with it.  A re-copy keeps
 * nothing (see the README: the reconcile of a re-copied table relies on an
 * empty mirror).
 */
void
shape_note_recopy(StreamDef *def, MirrorTable *mt)
{
	Oid			relid = mirror_relid(def, mt);
	int64		n = 0;

	if (!def->soft_delete || !OidIsValid(relid) ||
		get_attnum(relid, VSTREAM_DELETED_COLUMN) == InvalidAttrNumber)
		return;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute(psprintf("SELECT count(*) FROM %s WHERE %s",
							 quote_qualified_identifier(def->target_schema, mt->table_name),
							 quote_identifier(VSTREAM_DELETED_COLUMN)),
					true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			n = DatumGetInt64(d);
	}
	SPI_finish();
	if (n > 0)
		ereport(WARNING,
				(errmsg("mirror table \"%s.%s\" is copied again: its " INT64_FORMAT " rows marked deleted (soft_delete) are removed",
						def->target_schema, mt->table_name, n),
				 errhint("A copy holds what the source has now; keep the marked rows elsewhere first if they are needed.")));
}

/*
 * Resolve the stream's columns of a mapping (in the mapping's resolved
 * context, current).  m->shape stays NULL when the stream has no mirror
 * option: the apply then never looks further.
 */
void
shape_resolve(ApplyState *state, ApplyMapping *m, TupleDesc desc)
{
	ShapeMapping *sm;
	int			c;

	m->shape = NULL;
	if (!state->def->metadata_columns && !state->def->soft_delete)
		return;
	sm = palloc0(sizeof(ShapeMapping));
	sm->metadata = state->def->metadata_columns;
	sm->soft_delete = state->def->soft_delete;
	for (c = 0; c < SHAPE_NCOLUMNS; c++)
	{
		AttrNumber	att;

		if (!column_wanted(state->def, c))
			continue;
		att = attribute_of(desc, shape_columns[c].name);
		if (att == 0 || TupleDescAttr(desc, att - 1)->atttypid != shape_columns[c].typid)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("mirror table \"%s.%s\" has no column \"%s\" of type %s",
							state->def->target_schema, m->mirror_table,
							shape_columns[c].name, format_type_be(shape_columns[c].typid)),
					 errhint("The column belongs to the mirror options of the stream: give it back its type, or turn the option off and on again with vstream_fdw.set_stream_options().")));
		sm->att[c] = att;
	}
	sm->keyspace = CStringGetTextDatum(m->keyspace ? m->keyspace : "");
	sm->shard = CStringGetTextDatum(m->shard ? m->shard : "");
	m->shape = sm;
}

/* Does the open transaction still need its values? */
bool
shape_txn_needed(ApplyState *state)
{
	return (state->def->metadata_columns || state->def->soft_delete) &&
		(state->shape_txn == NULL || !state->shape_txn->known);
}

/*
 * The values of the open source transaction: the shard's GTID position
 * after it (NULL when not known) and its commit time in seconds (0: none).
 */
void
shape_set_txn(ApplyState *state, const char *gtid, int64 commit_seconds)
{
	ShapeTxn   *t;
	MemoryContext old;

	if (state->shape_txn == NULL)
		state->shape_txn = MemoryContextAllocZero(state->sessioncxt, sizeof(ShapeTxn));
	t = state->shape_txn;
	old = MemoryContextSwitchTo(state->txncxt);
	t->gtid_null = (gtid == NULL);
	t->gtid = gtid ? CStringGetTextDatum(gtid) : (Datum) 0;
	t->commit_time_null = (commit_seconds <= 0);
	t->commit_time = commit_seconds > 0 ?
		time_t_to_timestamptz((pg_time_t) commit_seconds) : 0;
	t->applied_at = GetCurrentTransactionStartTimestamp();
	t->known = true;
	MemoryContextSwitchTo(old);
}

/* The transaction ended: its values are gone with its context. */
void
shape_end_txn(ApplyState *state)
{
	if (state->shape_txn)
		state->shape_txn->known = false;
}

static inline void
set_att(TupleTableSlot *slot, AttrNumber att, Datum value, bool isnull)
{
	if (att > 0)
	{
		slot->tts_values[att - 1] = value;
		slot->tts_isnull[att - 1] = isnull;
	}
}

/*
 * Store the stream's columns into a row being written (a virtual slot,
 * before it is materialized).  A row of a copy batch (state->row_copying)
 * has no source transaction: NULL commit time and GTID.  "deleted": a soft
 * delete of the row.
 */
void
shape_fill(ApplyState *state, ApplyMapping *m, TupleTableSlot *slot, bool deleted)
{
	ShapeMapping *sm = m->shape;
	ShapeTxn   *t = state->shape_txn;
	bool		copied = state->row_copying || t == NULL || !t->known;
	TimestampTz applied = (!copied) ? t->applied_at : GetCurrentTransactionStartTimestamp();

	if (sm->metadata)
	{
		set_att(slot, sm->att[SHAPE_KEYSPACE], sm->keyspace, false);
		set_att(slot, sm->att[SHAPE_SHARD], sm->shard, false);
		if (copied)
		{
			set_att(slot, sm->att[SHAPE_COMMIT_TIME], (Datum) 0, true);
			set_att(slot, sm->att[SHAPE_GTID], (Datum) 0, true);
		}
		else
		{
			set_att(slot, sm->att[SHAPE_COMMIT_TIME],
					TimestampTzGetDatum(t->commit_time), t->commit_time_null);
			set_att(slot, sm->att[SHAPE_GTID], t->gtid, t->gtid_null);
		}
		set_att(slot, sm->att[SHAPE_APPLIED_AT], TimestampTzGetDatum(applied), false);
	}
	if (sm->soft_delete)
	{
		set_att(slot, sm->att[SHAPE_DELETED], BoolGetDatum(deleted), false);
		if (!deleted)
			set_att(slot, sm->att[SHAPE_DELETED_AT], (Datum) 0, true);
		else if (!copied && !t->commit_time_null)
			set_att(slot, sm->att[SHAPE_DELETED_AT],
					TimestampTzGetDatum(t->commit_time), false);
		else
			set_att(slot, sm->att[SHAPE_DELETED_AT],
					TimestampTzGetDatum(applied), false);
	}
}
