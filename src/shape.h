/*-------------------------------------------------------------------------
 *
 * shape.h
 *	  Mirror options of a stream: metadata columns and soft deletes.
 *
 * With stream.metadata_columns, every mirror of the stream has five columns
 * of its own saying where each row comes from: the source keyspace and
 * shard, the source transaction's commit time and GTID position, and when
 * the row was applied.  With stream.soft_delete, a delete at the source
 * marks the mirror row deleted (a flag and the time) instead of removing
 * it; a later insert of the key revives it.  The columns carry the reserved
 * prefix VSTREAM_RESERVED_PREFIX (mirror.h): a source column with that
 * prefix is mapped to another mirror column name (mirror_column_pg_name).
 *
 * The values of a source transaction are computed once per transaction
 * (shape_set_txn, by the worker) and stored into each row's slot by
 * shape_fill; with both options off the apply pays one test per row.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/shape.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_SHAPE_H
#define VSTREAM_SHAPE_H

#include "postgres.h"

#include "executor/tuptable.h"
#include "utils/timestamp.h"

#include "apply.h"
#include "mirror.h"

/* The stream's own columns, in this order in ShapeMapping.att. */
typedef enum ShapeColumn
{
	SHAPE_KEYSPACE,
	SHAPE_SHARD,
	SHAPE_COMMIT_TIME,
	SHAPE_GTID,
	SHAPE_APPLIED_AT,
	SHAPE_DELETED,
	SHAPE_DELETED_AT,
	SHAPE_NCOLUMNS
} ShapeColumn;

#define SHAPE_FIRST_METADATA SHAPE_KEYSPACE
#define SHAPE_LAST_METADATA SHAPE_APPLIED_AT

/* How the stream's columns of one (shard, table) mapping are filled. */
typedef struct ShapeMapping
{
	AttrNumber	att[SHAPE_NCOLUMNS];	/* mirror attribute, 0 = none */
	bool		metadata;		/* the metadata columns are filled */
	bool		soft_delete;	/* deletes mark rows */
	Datum		keyspace;		/* text */
	Datum		shard;			/* text */
} ShapeMapping;

/* The values of the open source transaction (computed once). */
typedef struct ShapeTxn
{
	bool		known;			/* set for this transaction */
	bool		gtid_null;
	Datum		gtid;			/* text, in the transaction's context */
	bool		commit_time_null;
	TimestampTz commit_time;
	TimestampTz applied_at;
} ShapeTxn;

extern const char *shape_column_name(ShapeColumn c);

/* schema.c: the stream's columns of a mirror, added when missing */
extern void shape_ensure_columns(ApplyState *state, MirrorTable *mt, Oid relid);
extern void shape_resolve(ApplyState *state, ApplyMapping *m, TupleDesc desc);

/* schema_change.c: a TRUNCATE at the source under soft_delete */
extern uint64 shape_mark_all_deleted(ApplyState *state, MirrorTable *mt);

/* copystate.c: a table copied again loses its marked rows */
extern void shape_note_recopy(StreamDef *def, MirrorTable *mt);

/* worker.c: the values of the open source transaction */
extern bool shape_txn_needed(ApplyState *state);
extern void shape_set_txn(ApplyState *state, const char *gtid,
						  int64 commit_seconds);
extern void shape_end_txn(ApplyState *state);

/* apply.c: a row being written (copying: a row of a copy batch) */
extern void shape_fill(ApplyState *state, ApplyMapping *m,
					   TupleTableSlot *slot, bool deleted);

#endif							/* VSTREAM_SHAPE_H */
