/*-------------------------------------------------------------------------
 *
 * checkpoint.h
 *	  Catalog access of the stream worker: stream definitions, the
 *	  checkpoint row (VGTID committed with the rows it covers), per-shard
 *	  copy state, mirror registry and error recording.
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

/* The worker's handle on its checkpoint row. */
typedef struct Checkpoint
{
	int32		stream_id;
	Oid			relid;			/* vstream_fdw.checkpoint */
	ItemPointerData tid;		/* committed version of the row */
	ItemPointerData pending_tid;	/* version written by the open xact */
	bool		pending;
	bool		copy_completed;
	bool		pending_copy_completed;
	int			writes_since_prune;
} Checkpoint;

/* Read a stream definition (in a transaction); NULL if it does not exist. */
extern StreamDef *checkpoint_load_stream(int32 stream_id);

/* Locate the checkpoint row (in a transaction). */
extern void checkpoint_open(Checkpoint *cp, int32 stream_id);

/*
 * Write the checkpoint row in the current transaction.  vgtid NULL keeps
 * the saved VGTID.
 */
extern void checkpoint_write(Checkpoint *cp, bytea *vgtid, bytea *old_vgtid,
							 bool copy_completed);

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
