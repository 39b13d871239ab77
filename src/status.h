/*-------------------------------------------------------------------------
 *
 * status.h
 *	  Shared memory of the stream workers: one status slot per running
 *	  stream, with per-shard progress, read by vstream_fdw.stream_status.
 *
 * A worker is the only writer of its slot.  String fields are written and
 * read under the slot's LWLock; counters are pg_atomic_uint64 and need no
 * lock.  Slots outlive their worker (pid = 0) so that the last error stays
 * visible until the slot is reused.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/status.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_STATUS_H
#define VSTREAM_STATUS_H

#include "postgres.h"

#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

/*
 * Per-shard entries of a slot: vstream_fdw.max_shards_per_stream (default
 * 1024), allocated for every slot (vstream_fdw.max_streams) at startup.
 */
#define VSTREAM_DEFAULT_MAX_SHARDS	1024
#define VSTREAM_GTID_LEN		256
#define VSTREAM_NAME_LEN		128
#define VSTREAM_LASTPK_LEN		128
#define VSTREAM_ERROR_LEN		512

typedef enum VStreamPhase
{
	VSTREAM_PHASE_NONE = 0,
	VSTREAM_PHASE_COPYING,
	VSTREAM_PHASE_REPLICATING,
	VSTREAM_PHASE_STOPPED,
	VSTREAM_PHASE_ERROR,
	VSTREAM_PHASE_RETIRED		/* resharded away: hidden, entry reusable */
} VStreamPhase;

typedef struct VStreamShardStatus
{
	char		keyspace[VSTREAM_NAME_LEN];
	char		shard[VSTREAM_NAME_LEN];
	int			phase;			/* VStreamPhase */
	char		gtid[VSTREAM_GTID_LEN];
	char		copy_table[VSTREAM_NAME_LEN];
	char		copy_lastpk[VSTREAM_LASTPK_LEN];
	TimestampTz last_commit_time;	/* source commit time, 0 = unknown */
	TimestampTz caught_up_to;	/* local-clock time up to which applied */
	pg_atomic_uint64 rows_copied;
	pg_atomic_uint64 txns_applied;
	pg_atomic_uint64 rows_inserted;
	pg_atomic_uint64 rows_updated;
	pg_atomic_uint64 rows_deleted;
	pg_atomic_uint64 insert_conflicts;	/* insert over an existing key */
	pg_atomic_uint64 update_missing;	/* update of a missing row */
	pg_atomic_uint64 delete_missing;	/* delete of a missing row */
	pg_atomic_uint64 invalid_values;	/* values stored as NULL by the
										 * invalid_values 'null' policy */
	pg_atomic_uint64 copy_table_rows;	/* rows of copy_table copied so far */
	TimestampTz copy_started;	/* when the copy of copy_table started */
	TimestampTz copy_activity;	/* last copy event of the shard (worker's
								 * own bookkeeping, see worker.c) */
} VStreamShardStatus;

typedef struct VStreamSlot
{
	bool		in_use;
	int32		stream_id;
	Oid			dbid;
	pid_t		pid;			/* 0 when no worker runs */
	TimestampTz started_at;
	char		last_error[VSTREAM_ERROR_LEN];
	TimestampTz last_error_at;
	int			nshards;
	int			shards_not_shown;	/* shards beyond max_shards_per_stream */
	VStreamShardStatus *shards; /* max_shards_per_stream entries */
} VStreamSlot;

typedef struct VStreamSharedState
{
	pid_t		launcher_pid;
	Latch	   *launcher_latch;
	bool		reset_backoff;	/* a management function committed */
	int			nslots;
	VStreamSlot slots[FLEXIBLE_ARRAY_MEMBER];
} VStreamSharedState;

/* NULL unless loaded through shared_preload_libraries */
extern VStreamSharedState *VStreamShared;

extern int	vstream_max_shards_per_stream;
/* vstream_fdw.max_streams: slots in shared memory (registered by worker.c) */
extern int	vstream_max_streams;

extern void status_define_gucs(void);

extern void status_request_shmem(void);
extern void status_startup_shmem(void);

extern LWLock *status_slot_lock(int slotno);
extern LWLock *status_control_lock(void);

/* Worker side */
extern VStreamSlot *status_attach(int32 stream_id);
extern VStreamShardStatus *status_shard(VStreamSlot *slot, const char *keyspace,
										const char *shard);
extern void status_retire_shard(VStreamSlot *slot, const char *keyspace,
								const char *shard);
extern void status_set_error(VStreamSlot *slot, const char *message);
extern pid_t status_worker_pid(int32 stream_id);

static inline void
status_count(pg_atomic_uint64 *counter, uint64 n)
{
	pg_atomic_write_u64(counter, pg_atomic_read_u64(counter) + n);
}

#endif							/* VSTREAM_STATUS_H */
