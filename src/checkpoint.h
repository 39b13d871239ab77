/*-------------------------------------------------------------------------
 *
 * checkpoint.h
 *	  Catalog access of the stream worker: stream definitions, the
 *	  position (per-shard rows holding the VGTID, committed with the rows
 *	  they cover), per-shard copy state and error recording.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/checkpoint.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_CHECKPOINT_H
#define VSTREAM_CHECKPOINT_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "storage/itemptr.h"

/* A stream definition with its saved position, as the worker needs it. */
typedef struct StreamDef
{
	int32		id;
	char	   *server_name;
	char	   *target_schema;
	List	   *tables;			/* char *; NIL = all */
	char	   *start;
	bool		enabled;
	char	   *state;
	bytea	   *vgtid;			/* NULL = none yet */
	bool		copy_completed;
	List	   *copied_shards;	/* "keyspace/shard" of COPY_COMPLETED shards */
	bool		metadata_columns;	/* mirror options (shape.c) */
	bool		soft_delete;
} StreamDef;

/* One row of vstream_fdw.shard_position as the worker knows it. */
typedef struct PositionRow
{
	int32		ord;			/* its ord column */
	ItemPointerData tid;		/* its latest version (maybe uncommitted) */
	bool		deleted;		/* deleted by the open transaction */
	int			writes_since_prune;
	/* its keyspace and shard columns (text, in the Checkpoint's cxt), once known */
	struct varlena *keyspace;
	struct varlena *shard;
} PositionRow;

/*
 * The worker's handle on its position: the checkpoint row (copy_completed)
 * and one vstream_fdw.shard_position row per shard of the VGTID, the i-th
 * row (in ord order) holding the i-th shard.
 */
typedef struct Checkpoint
{
	int32		stream_id;
	Oid			relid;			/* vstream_fdw.shard_position */
	MemoryContext cxt;
	bool		copy_completed;
	bool		pending_copy_completed;
	bool		pending;		/* the open xact wrote the position */
	bool		stale;			/* a write was rolled back: read the rows again */

	/* rows in VGTID order: nrows committed, pending_nrows after the xact */
	PositionRow *rows;
	int			nrows;
	int			pending_nrows;
	int			maxrows;
	int32		next_ord;		/* for a row inserted */

	/* the stored VGTID, committed and as the open xact leaves it */
	bytea	   *saved;
	bytea	   *pending_saved;

	/* shard_position rows written (for the benchmark and tests) */
	uint64		rows_written;
} Checkpoint;

/* Read a stream definition (in a transaction); NULL if it does not exist. */
extern StreamDef *checkpoint_load_stream(int32 stream_id);

/*
 * Locate the position rows (in a transaction); what the handle keeps lives
 * in a child of the current memory context (the session's).
 */
extern void checkpoint_open(Checkpoint *cp, int32 stream_id);

/*
 * Write the position in the current transaction: the rows of the shards
 * whose entry differs from the stored VGTID.  vgtid NULL keeps the stored
 * VGTID (old_vgtid is unused, kept for the callers).
 */
extern void checkpoint_write(Checkpoint *cp, bytea *vgtid, bytea *old_vgtid,
							 bool copy_completed);

/*
 * Replace the stored position of a stream by vgtid (NULL: none), with SQL,
 * in the current transaction; for SQL functions (the worker is stopped).
 */
extern void checkpoint_store_vgtid(int32 stream_id, bytea *vgtid);

/* After the transaction that wrote the checkpoint committed / aborted. */
extern void checkpoint_committed(Checkpoint *cp);
extern void checkpoint_aborted(Checkpoint *cp);

/* Per-shard COPY_COMPLETED, in the current transaction. */
extern void checkpoint_shard_copy_completed(int32 stream_id,
											const char *keyspace,
											const char *shard);

/* The final COPY_COMPLETED: stream state becomes 'replicating'. */
extern void checkpoint_stream_state(int32 stream_id, const char *state);

/*
 * Record the worker's last error in the stream row, in a transaction of
 * its own; fatal also sets state 'error'.
 */
extern void checkpoint_record_error(int32 stream_id, const char *message,
									bool fatal);

#endif							/* VSTREAM_CHECKPOINT_H */
