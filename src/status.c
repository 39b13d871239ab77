/*-------------------------------------------------------------------------
 *
 * status.c
 *	  Shared-memory status slots of the stream workers and the SRF behind
 *	  the vstream_fdw.stream_status view.
 *
 * Each running worker owns one slot (found by stream id, so a restarted
 * worker keeps its counters).  The slot holds the stream's last error and
 * one entry per shard: phase, GTID, table and lastpk being copied, counters
 * and the times used for lag.  The SQL view joins this with the catalog
 * tables so that streams without a worker still appear.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/status.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "convert.h"
#include "status.h"
#include "textsafe.h"

VStreamSharedState *VStreamShared = NULL;

int			vstream_max_shards_per_stream = VSTREAM_DEFAULT_MAX_SHARDS;
int			vstream_max_streams = 8;

static LWLockPadded *status_locks = NULL;

/*
 * Shards of this worker's stream beyond max_shards_per_stream: kept in
 * local memory so that the worker's per-shard state machine still works,
 * only not shown in the status view.
 */
#define OVERFLOW_CHUNK 64
static List *overflow_chunks = NIL;	/* of VStreamShardStatus[OVERFLOW_CHUNK] */
static int	noverflow = 0;
static VStreamSlot *my_slot = NULL;

static void status_count_invalid(const ConvertContext *cxt);

/* entries never move: the worker keeps pointers to them */
static VStreamShardStatus *
overflow_entry(int i)
{
	VStreamShardStatus *chunk = list_nth(overflow_chunks, i / OVERFLOW_CHUNK);

	return &chunk[i % OVERFLOW_CHUNK];
}

#define VSTREAM_TRANCHE "vstream_fdw"

void
status_define_gucs(void)
{
	GucContext	ctx = process_shared_preload_libraries_in_progress ?
		PGC_POSTMASTER : PGC_INTERNAL;

	DefineCustomIntVariable("vstream_fdw.max_shards_per_stream",
							"Shards per stream shown in vstream_fdw.stream_status.",
							"Shared memory for the status of this many shards is reserved for each of vstream_fdw.max_streams streams (about 1 kB per shard).",
							&vstream_max_shards_per_stream,
							VSTREAM_DEFAULT_MAX_SHARDS, 16, 65536,
							ctx,
							0,
							NULL, NULL, NULL);
}

static Size
status_shmem_size(void)
{
	Size		size;

	size = add_size(offsetof(VStreamSharedState, slots),
					mul_size(vstream_max_streams, sizeof(VStreamSlot)));
	size = MAXALIGN(size);
	size = add_size(size,
					mul_size(mul_size(vstream_max_streams,
									  vstream_max_shards_per_stream),
							 sizeof(VStreamShardStatus)));
	return size;
}

static void
init_shard(VStreamShardStatus *sh, bool atomics)
{
	sh->keyspace[0] = sh->shard[0] = sh->gtid[0] = '\0';
	sh->copy_table[0] = sh->copy_lastpk[0] = '\0';
	sh->copy_started = 0;
	sh->copy_activity = 0;
	sh->phase = VSTREAM_PHASE_NONE;
	sh->last_commit_time = sh->caught_up_to = 0;
	if (atomics)
	{
		pg_atomic_init_u64(&sh->rows_copied, 0);
		pg_atomic_init_u64(&sh->txns_applied, 0);
		pg_atomic_init_u64(&sh->rows_inserted, 0);
		pg_atomic_init_u64(&sh->rows_updated, 0);
		pg_atomic_init_u64(&sh->rows_deleted, 0);
		pg_atomic_init_u64(&sh->insert_conflicts, 0);
		pg_atomic_init_u64(&sh->update_missing, 0);
		pg_atomic_init_u64(&sh->delete_missing, 0);
		pg_atomic_init_u64(&sh->invalid_values, 0);
		pg_atomic_init_u64(&sh->copy_table_rows, 0);
	}
	else
	{
		pg_atomic_write_u64(&sh->rows_copied, 0);
		pg_atomic_write_u64(&sh->txns_applied, 0);
		pg_atomic_write_u64(&sh->rows_inserted, 0);
		pg_atomic_write_u64(&sh->rows_updated, 0);
		pg_atomic_write_u64(&sh->rows_deleted, 0);
		pg_atomic_write_u64(&sh->insert_conflicts, 0);
		pg_atomic_write_u64(&sh->update_missing, 0);
		pg_atomic_write_u64(&sh->delete_missing, 0);
		pg_atomic_write_u64(&sh->invalid_values, 0);
		pg_atomic_write_u64(&sh->copy_table_rows, 0);
	}
}

/* Called from the shmem_request_hook (or _PG_init before PG 15). */
void
status_request_shmem(void)
{
	RequestAddinShmemSpace(status_shmem_size());
	RequestNamedLWLockTranche(VSTREAM_TRANCHE, vstream_max_streams + 1);
}

/* Called from the shmem_startup_hook. */
void
status_startup_shmem(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	VStreamShared = ShmemInitStruct("vstream_fdw status", status_shmem_size(),
									&found);
	if (!found)
	{
		int			i;
		VStreamShardStatus *shards;

		memset(VStreamShared, 0, status_shmem_size());
		VStreamShared->nslots = vstream_max_streams;
		shards = (VStreamShardStatus *)
			((char *) VStreamShared +
			 MAXALIGN(offsetof(VStreamSharedState, slots) +
					  vstream_max_streams * sizeof(VStreamSlot)));
		for (i = 0; i < vstream_max_streams; i++)
		{
			VStreamSlot *slot = &VStreamShared->slots[i];
			int			j;

			/* shared memory is at the same address in every process */
			slot->shards = shards + (Size) i * vstream_max_shards_per_stream;
			for (j = 0; j < vstream_max_shards_per_stream; j++)
				init_shard(&slot->shards[j], true);
		}
	}
	status_locks = GetNamedLWLockTranche(VSTREAM_TRANCHE);
	LWLockRelease(AddinShmemInitLock);
}

LWLock *
status_control_lock(void)
{
	return &status_locks[0].lock;
}

LWLock *
status_slot_lock(int slotno)
{
	return &status_locks[slotno + 1].lock;
}

static int
slot_index(VStreamSlot *slot)
{
	return slot - VStreamShared->slots;
}

static void
status_detach(int code, Datum arg)
{
	VStreamSlot *slot = &VStreamShared->slots[DatumGetInt32(arg)];

	LWLockAcquire(status_slot_lock(DatumGetInt32(arg)), LW_EXCLUSIVE);
	if (slot->pid == MyProcPid)
		slot->pid = 0;
	LWLockRelease(status_slot_lock(DatumGetInt32(arg)));
}

/*
 * Claim the slot of a stream for the calling worker: the slot it used before
 * if any, else a free one, else one whose worker is gone.  Raises an error
 * when all slots have running workers (more streams than
 * vstream_fdw.max_streams).
 */
VStreamSlot *
status_attach(int32 stream_id)
{
	VStreamSlot *found = NULL;
	VStreamSlot *free_slot = NULL;
	VStreamSlot *idle_slot = NULL;
	int			i;

	LWLockAcquire(status_control_lock(), LW_EXCLUSIVE);
	for (i = 0; i < VStreamShared->nslots; i++)
	{
		VStreamSlot *slot = &VStreamShared->slots[i];

		if (slot->in_use && slot->stream_id == stream_id &&
			slot->dbid == MyDatabaseId)
		{
			found = slot;
			break;
		}
		if (!slot->in_use && free_slot == NULL)
			free_slot = slot;
		if (slot->in_use && slot->pid == 0 && idle_slot == NULL)
			idle_slot = slot;
	}
	if (found == NULL)
		found = free_slot ? free_slot : idle_slot;
	if (found == NULL)
	{
		LWLockRelease(status_control_lock());
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("too many running vstream_fdw streams"),
				 errhint("Increase vstream_fdw.max_streams (currently %d) and restart PostgreSQL.",
						 vstream_max_streams)));
	}

	LWLockAcquire(status_slot_lock(slot_index(found)), LW_EXCLUSIVE);
	if (!found->in_use || found->stream_id != stream_id ||
		found->dbid != MyDatabaseId)
	{
		/* a new stream in this slot: forget the previous one's state */
		for (i = 0; i < vstream_max_shards_per_stream; i++)
			init_shard(&found->shards[i], false);
		found->nshards = 0;
		found->shards_not_shown = 0;
		found->last_error[0] = '\0';
		found->last_error_at = 0;
	}
	found->in_use = true;
	found->stream_id = stream_id;
	found->dbid = MyDatabaseId;
	found->pid = MyProcPid;
	found->started_at = GetCurrentTimestamp();
	LWLockRelease(status_slot_lock(slot_index(found)));
	LWLockRelease(status_control_lock());

	before_shmem_exit(status_detach, Int32GetDatum(slot_index(found)));
	my_slot = found;
	convert_invalid_hook = status_count_invalid;
	return found;
}

/* convert.c: a value was stored as NULL by the invalid_values policy */
static void
status_count_invalid(const ConvertContext *cxt)
{
	VStreamShardStatus *sh;

	if (my_slot == NULL || cxt->keyspace == NULL || cxt->shard == NULL)
		return;
	sh = status_shard(my_slot, cxt->keyspace, cxt->shard);
	if (sh)
		status_count(&sh->invalid_values, 1);
}

/*
 * The status entry of a shard, created on first use.  The entry of a shard
 * retired by a reshard is reused first, so that reshards back and forth do
 * not fill the slot.  NULL when the slot has no room left (the shard is
 * then simply not shown).
 */
VStreamShardStatus *
status_shard(VStreamSlot *slot, const char *keyspace, const char *shard)
{
	VStreamShardStatus *sh = NULL;
	int			i;

	for (i = 0; i < slot->nshards && sh == NULL; i++)
	{
		if (strcmp(slot->shards[i].shard, shard) == 0 &&
			strcmp(slot->shards[i].keyspace, keyspace) == 0)
		{
			/* a retired shard back in the stream (ReverseTraffic) starts anew */
			if (slot->shards[i].phase != VSTREAM_PHASE_RETIRED)
				return &slot->shards[i];
			sh = &slot->shards[i];
		}
	}
	for (i = 0; i < slot->nshards && sh == NULL; i++)
	{
		if (slot->shards[i].phase == VSTREAM_PHASE_RETIRED)
			sh = &slot->shards[i];
	}
	if (sh == NULL && slot->nshards >= vstream_max_shards_per_stream)
	{
		/* not shown, but the worker still needs the shard's state */
		for (i = 0; i < noverflow; i++)
		{
			VStreamShardStatus *o = overflow_entry(i);

			if (strcmp(o->shard, shard) == 0 && strcmp(o->keyspace, keyspace) == 0)
				return o;
		}
		if (noverflow == 0)
			ereport(WARNING,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("vstream_fdw stream has more than %d shards: shard %s/%s and later ones are not shown in vstream_fdw.stream_status",
							vstream_max_shards_per_stream,
							text_make_valid_cstr(keyspace), text_make_valid_cstr(shard)),
					 errhint("Raise vstream_fdw.max_shards_per_stream and restart PostgreSQL.")));
		if (noverflow % OVERFLOW_CHUNK == 0)
		{
			MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);

			overflow_chunks = lappend(overflow_chunks,
									  palloc0(OVERFLOW_CHUNK * sizeof(VStreamShardStatus)));
			MemoryContextSwitchTo(old);
		}
		sh = overflow_entry(noverflow++);
		init_shard(sh, true);
		strlcpy(sh->keyspace, keyspace, sizeof(sh->keyspace));
		strlcpy(sh->shard, shard, sizeof(sh->shard));
		LWLockAcquire(status_slot_lock(slot_index(slot)), LW_EXCLUSIVE);
		slot->shards_not_shown = noverflow;
		LWLockRelease(status_slot_lock(slot_index(slot)));
		return sh;
	}

	LWLockAcquire(status_slot_lock(slot_index(slot)), LW_EXCLUSIVE);
	if (sh == NULL)
		sh = &slot->shards[slot->nshards++];
	strlcpy(sh->keyspace, keyspace, sizeof(sh->keyspace));
	strlcpy(sh->shard, shard, sizeof(sh->shard));
	sh->gtid[0] = sh->copy_table[0] = sh->copy_lastpk[0] = '\0';
	sh->phase = VSTREAM_PHASE_NONE;
	sh->last_commit_time = sh->caught_up_to = 0;
	pg_atomic_write_u64(&sh->rows_copied, 0);
	pg_atomic_write_u64(&sh->txns_applied, 0);
	pg_atomic_write_u64(&sh->rows_inserted, 0);
	pg_atomic_write_u64(&sh->rows_updated, 0);
	pg_atomic_write_u64(&sh->rows_deleted, 0);
	pg_atomic_write_u64(&sh->insert_conflicts, 0);
	pg_atomic_write_u64(&sh->update_missing, 0);
	pg_atomic_write_u64(&sh->delete_missing, 0);
	pg_atomic_write_u64(&sh->invalid_values, 0);
	pg_atomic_write_u64(&sh->copy_table_rows, 0);
	sh->copy_started = 0;
	sh->copy_activity = 0;
	LWLockRelease(status_slot_lock(slot_index(slot)));
	return sh;
}

/*
 * A shard left the stream (a reshard moved its key range to other shards):
 * its entry is hidden from stream_status and reused by the next new shard.
 * Called after the transaction that switched committed (status_shard would
 * bring a retired shard that is used again back).
 */
void
status_retire_shard(VStreamSlot *slot, const char *keyspace, const char *shard)
{
	int			i;

	LWLockAcquire(status_slot_lock(slot_index(slot)), LW_EXCLUSIVE);
	for (i = 0; i < slot->nshards; i++)
	{
		if (strcmp(slot->shards[i].shard, shard) == 0 &&
			strcmp(slot->shards[i].keyspace, keyspace) == 0)
			slot->shards[i].phase = VSTREAM_PHASE_RETIRED;
	}
	LWLockRelease(status_slot_lock(slot_index(slot)));
}

void
status_set_error(VStreamSlot *slot, const char *message)
{
	LWLockAcquire(status_slot_lock(slot_index(slot)), LW_EXCLUSIVE);
	if (message)
	{
		text_strlcpy(slot->last_error, message, sizeof(slot->last_error));
		slot->last_error_at = GetCurrentTimestamp();
	}
	else
	{
		slot->last_error[0] = '\0';
		slot->last_error_at = 0;
	}
	LWLockRelease(status_slot_lock(slot_index(slot)));
}

/* pid of the worker running a stream of the current database, or 0 */
pid_t
status_worker_pid(int32 stream_id)
{
	pid_t		pid = 0;
	int			i;

	if (VStreamShared == NULL)
		return 0;
	LWLockAcquire(status_control_lock(), LW_SHARED);
	for (i = 0; i < VStreamShared->nslots; i++)
	{
		VStreamSlot *slot = &VStreamShared->slots[i];

		if (slot->in_use && slot->stream_id == stream_id &&
			slot->dbid == MyDatabaseId)
		{
			pid = slot->pid;
			break;
		}
	}
	LWLockRelease(status_control_lock());
	return pid;
}

static const char *
phase_name(int phase)
{
	switch (phase)
	{
		case VSTREAM_PHASE_COPYING:
			return "copying";
		case VSTREAM_PHASE_REPLICATING:
			return "replicating";
		case VSTREAM_PHASE_STOPPED:
			return "stopped";
		case VSTREAM_PHASE_ERROR:
			return "error";
		default:
			return NULL;
	}
}

#define STATUS_COLS 23

/* text from shared memory: names and positions came from the network */
static Datum
safe_text(const char *s)
{
	return PointerGetDatum(cstring_to_text(text_make_valid_cstr(s)));
}

/*
 * vstream_fdw._stream_status(): one row per shard of every slot of this
 * database, plus one row with NULL keyspace/shard per slot (worker pid and
 * error).  Returns nothing without shared_preload_libraries.
 */
PG_FUNCTION_INFO_V1(vstream_stream_status);
Datum
vstream_stream_status(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			i;
	TimestampTz now = GetCurrentTimestamp();
	VStreamSlot *copy;
	VStreamShardStatus *copy_shards;

#if PG_VERSION_NUM >= 150000
	InitMaterializedSRF(fcinfo, 0);
#else
	{
		TupleDesc	tupdesc;
		MemoryContext oldcxt;

		if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
			!(rsinfo->allowedModes & SFRM_Materialize))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("set-valued function called in context that cannot accept a set")));
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		oldcxt = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
		rsinfo->returnMode = SFRM_Materialize;
		rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
		rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
		MemoryContextSwitchTo(oldcxt);
	}
#endif

	if (VStreamShared == NULL)
		PG_RETURN_VOID();

	copy = palloc(sizeof(VStreamSlot));
	copy_shards = palloc(sizeof(VStreamShardStatus) * vstream_max_shards_per_stream);
	for (i = 0; i < VStreamShared->nslots; i++)
	{
		VStreamSlot *slot = &VStreamShared->slots[i];
		Datum		values[STATUS_COLS];
		bool		nulls[STATUS_COLS];
		int			j;

		LWLockAcquire(status_slot_lock(i), LW_SHARED);
		if (!slot->in_use || slot->dbid != MyDatabaseId)
		{
			LWLockRelease(status_slot_lock(i));
			continue;
		}
		memcpy(copy, slot, sizeof(VStreamSlot));
		copy->nshards = Min(copy->nshards, vstream_max_shards_per_stream);
		memcpy(copy_shards, slot->shards, sizeof(VStreamShardStatus) * copy->nshards);
		LWLockRelease(status_slot_lock(i));

		/* stream-level row */
		memset(nulls, true, sizeof(nulls));
		values[0] = Int32GetDatum(copy->stream_id);
		nulls[0] = false;
		if (copy->pid != 0)
		{
			values[17] = Int32GetDatum(copy->pid);
			nulls[17] = false;
		}
		if (copy->last_error[0])
		{
			values[18] = safe_text(copy->last_error);
			nulls[18] = false;
			values[19] = TimestampTzGetDatum(copy->last_error_at);
			nulls[19] = false;
		}
		values[21] = Int32GetDatum(copy->shards_not_shown);
		nulls[21] = false;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);

		for (j = 0; j < copy->nshards; j++)
		{
			VStreamShardStatus *sh = &copy_shards[j];
			const char *phase = phase_name(sh->phase);

			if (sh->phase == VSTREAM_PHASE_RETIRED)
				continue;

			/* nulls[0], [17..19], [21] as above */
			values[1] = safe_text(sh->keyspace);
			nulls[1] = false;
			values[2] = safe_text(sh->shard);
			nulls[2] = false;
			nulls[3] = (phase == NULL);
			if (phase)
				values[3] = CStringGetTextDatum(phase);
			nulls[4] = (sh->gtid[0] == '\0');
			if (!nulls[4])
				values[4] = safe_text(sh->gtid);
			nulls[5] = (sh->copy_table[0] == '\0');
			if (!nulls[5])
				values[5] = safe_text(sh->copy_table);
			nulls[6] = (sh->copy_lastpk[0] == '\0');
			if (!nulls[6])
				values[6] = safe_text(sh->copy_lastpk);
			values[7] = Int64GetDatum((int64) pg_atomic_read_u64(&sh->rows_copied));
			values[8] = Int64GetDatum((int64) pg_atomic_read_u64(&sh->txns_applied));
			values[9] = Int64GetDatum((int64) pg_atomic_read_u64(&sh->rows_inserted));
			values[10] = Int64GetDatum((int64) pg_atomic_read_u64(&sh->rows_updated));
			values[11] = Int64GetDatum((int64) pg_atomic_read_u64(&sh->rows_deleted));
			values[12] = Int64GetDatum((int64) pg_atomic_read_u64(&sh->insert_conflicts));
			values[13] = Int64GetDatum((int64) pg_atomic_read_u64(&sh->update_missing));
			values[14] = Int64GetDatum((int64) pg_atomic_read_u64(&sh->delete_missing));
			memset(&nulls[7], false, 8 * sizeof(bool));
			nulls[15] = (sh->last_commit_time == 0);
			if (!nulls[15])
				values[15] = TimestampTzGetDatum(sh->last_commit_time);
			nulls[16] = (sh->caught_up_to == 0);
			if (!nulls[16])
			{
				long		secs;
				int			usecs;
				double		lag;

				TimestampDifference(sh->caught_up_to, now, &secs, &usecs);
				lag = secs + usecs / 1000000.0;
				values[16] = Float8GetDatum(lag);
				values[22] = TimestampTzGetDatum(sh->caught_up_to);
			}
			nulls[22] = nulls[16];
			values[20] = Int64GetDatum((int64) pg_atomic_read_u64(&sh->invalid_values));
			nulls[20] = false;
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	pfree(copy);
	pfree(copy_shards);
	PG_RETURN_VOID();
}
