/*-------------------------------------------------------------------------
 *
 * worker.c
 *	  The stream worker: one VStream per stream, applied to mirror tables.
 *
 * The worker connects as the stream's owner, takes the stream lock (see
 * launcher.c), and runs sessions: read the stream definition and its
 * checkpoint, open the VStream from the checkpoint (or from the start
 * mode), and apply events until the stream ends or fails.
 *
 * Event grouping (see the semantics notes): a source transaction arrives
 * as BEGIN, [FIELD...], ROW..., VGTID, COMMIT, possibly over several
 * responses; it becomes one PostgreSQL transaction, opened at BEGIN and
 * committed at COMMIT together with the checkpoint (the last VGTID seen).
 * A copy batch has the same shape.  A BEGIN inside an open transaction (an
 * empty table's copy: BEGIN, FIELD without COMMIT) continues the same
 * transaction, so its FIELD and DDL are kept.  [VGTID, DDL] and
 * [VGTID, OTHER] advance the checkpoint in a transaction of their own.
 * COPY_COMPLETED of a shard is recorded in vstream_fdw.shard_state; the
 * final one (no keyspace/shard) marks the checkpoint copy_completed and the
 * stream 'replicating'.
 *
 * Errors: every error of a session is caught.  One that reconnecting may
 * cure (connection, unavailable VTGate, lock conflicts...) is recorded and
 * the session restarts from the checkpoint after an exponential back-off;
 * one that needs a person (invalid argument, permission denied, a value
 * that will not convert...) is recorded, the stream is set to 'error' and
 * the worker exits with code 0 so that it is not restarted.
 *
 * Memory: a context per response, reset after each one (vstream_next
 * decodes into it); a context per PostgreSQL transaction, reset at commit;
 * the mappings of the session in the session context.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "catalog/pg_type.h"
#include "commands/dbcommands.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "apply.h"
#include "checkpoint.h"
#include "copyindex.h"
#include "copystate.h"
#include "filter.h"
#include "reshard.h"
#include "schema_change.h"
#include "shape.h"
#include "status.h"
#include "textsafe.h"
#include "vstream.h"
#include "worker.h"

/* GUCs */
char	   *vstream_database = NULL;
int			vstream_restart_interval = 1000;
int			vstream_max_restart_interval = 60000;

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* How long vstream_next waits before the loop looks around. */
#define WORKER_POLL_MS 1000
#define WORKER_RECHECK_MS 5000	/* idle check that the stream still exists */

/* One session of the worker (one VStream call). */
typedef struct WorkerSession
{
	ApplyState	apply;
	VStreamSession *vs;
	VStreamSlot *slot;

	/* latest VGTID not yet committed, and the last committed one */
	MemoryContext pendcxt;
	MemoryContext comcxt;
	bytea	   *pending_vgtid;
	char	   *pending_keyspace;
	char	   *pending_shard;
	char	   *pending_gtid;
	char	   *pending_copy_table;
	char	   *pending_copy_lastpk;
	bytea	   *committed_vgtid;

	/* COPY_COMPLETED events received inside an open transaction */
	List	   *pending_copied;	/* VStreamShardStatus * */
	bool		pending_final_copy;

	bool		copy_completed; /* stream-wide */

	/* the open source transaction */
	VStreamShardStatus *txn_shard;
	bool		txn_copy;

	int			nshards;		/* shards of the keyspace in the last VGTID */

	TimestampTz received_at;	/* local time of the current response */
	Vtgate__VStreamResponse *cur_resp;	/* being handled */
	size_t		cur_index;		/* of the event being handled */
	uint64		commits;		/* PostgreSQL commits of this session */

	/* for the error context */
	const char *cur_event;
	const char *cur_table;
	const char *cur_shard;
} WorkerSession;

/* ---- module initialisation ---- */

#if PG_VERSION_NUM >= 150000
static void
worker_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	status_request_shmem();
}
#endif

static void
worker_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	status_startup_shmem();
}

void
worker_init(void)
{
	/*
	 * PGC_POSTMASTER settings can only be created while preloading; a
	 * backend that loads the library later (no workers) still gets them as
	 * read-only information.
	 */
	GucContext	postmaster_ctx = process_shared_preload_libraries_in_progress ?
		PGC_POSTMASTER : PGC_INTERNAL;

	DefineCustomStringVariable("vstream_fdw.database",
							   "Database in which the vstream_fdw streams run.",
							   "The launcher connects to this database and runs the streams defined there.",
							   &vstream_database,
							   "postgres",
							   postmaster_ctx,
							   GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomIntVariable("vstream_fdw.max_streams",
							"Maximum number of vstream_fdw streams running at the same time.",
							"Each running stream uses one background worker (see max_worker_processes) and one status slot.",
							&vstream_max_streams,
							8, 1, 1024,
							postmaster_ctx,
							0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("vstream_fdw.restart_interval",
							"First delay before a failed stream is reconnected or its worker restarted.",
							"The delay doubles after each consecutive failure, up to vstream_fdw.max_restart_interval.",
							&vstream_restart_interval,
							1000, 10, 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("vstream_fdw.max_restart_interval",
							"Longest delay between attempts to reconnect a failing stream.",
							NULL,
							&vstream_max_restart_interval,
							60000, 10, 24 * 3600 * 1000,
							PGC_SIGHUP,
							GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("vstream_fdw.insert_batch_size",
							"Rows buffered per mirror table before a multi-row insert.",
							NULL,
							&vstream_insert_batch_size,
							1000, 1, 100000,
							PGC_SIGHUP,
							0,
							NULL, NULL, NULL);

	status_define_gucs();
	copyindex_define_gucs();

	if (!process_shared_preload_libraries_in_progress || IsBinaryUpgrade)
		return;

#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = worker_shmem_request;
#else
	status_request_shmem();
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = worker_shmem_startup;

	launcher_register();
}

/* ---- helpers ---- */

long
worker_backoff_ms(int failures)
{
	double		ms = vstream_restart_interval;
	int			i;

	for (i = 1; i < failures && ms < vstream_max_restart_interval; i++)
		ms *= 2;
	return (long) Min(ms, (double) vstream_max_restart_interval);
}

static bool
error_is_transient(int sqlerrcode)
{
	/*
	 * A malformed message (08P01: undecodable, a row that does not match its
	 * FIELD, a ROW without FIELD, invalid UTF-8 in a name) would be read
	 * again at every reconnect: it needs a person.  Transport failures of a
	 * broken connection are 08006 and stay transient.
	 */
	if (sqlerrcode == ERRCODE_PROTOCOL_VIOLATION)
		return false;
	if (vstream_error_is_transient(sqlerrcode))
		return true;
	switch (sqlerrcode)
	{
		case ERRCODE_QUERY_CANCELED:
		case ERRCODE_LOCK_NOT_AVAILABLE:
		case ERRCODE_OUT_OF_MEMORY:
		case ERRCODE_INTERNAL_ERROR:
		case ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE:	/* extension update */
			return true;
		default:
			break;
	}
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_CONNECTION_EXCEPTION:	/* 08 */
		case ERRCODE_TRANSACTION_ROLLBACK:	/* 40 */
		case ERRCODE_INSUFFICIENT_RESOURCES:	/* 53 */
		case ERRCODE_OPERATOR_INTERVENTION: /* 57 */
		case ERRCODE_SYSTEM_ERROR:	/* 58 */
			return true;
		default:
			return false;
	}
}

static TimestampTz
unix_to_timestamptz(int64 seconds)
{
	return time_t_to_timestamptz((pg_time_t) seconds);
}

/* "col=value, ..." of a lastpk for the status view */
static char *
render_lastpk(const Query__QueryResult *qr)
{
	StringInfoData buf;
	const char **values;
	int		   *lengths;
	size_t		i;

	if (qr == NULL || qr->n_rows == 0 || qr->n_fields == 0)
		return NULL;
	values = palloc(sizeof(char *) * qr->n_fields);
	lengths = palloc(sizeof(int) * qr->n_fields);
	vstream_decode_row(qr->rows[0], qr->n_fields, values, lengths);
	initStringInfo(&buf);
	for (i = 0; i < qr->n_fields; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "%s=", qr->fields[i]->name);
		if (lengths[i] < 0)
			appendStringInfoString(&buf, "NULL");
		else
			appendBinaryStringInfo(&buf, values[i], Min(lengths[i], VSTREAM_LASTPK_LEN));
	}
	return buf.data;
}

static void
set_shard_phase(WorkerSession *ws, VStreamShardStatus *sh, int phase)
{
	/* a retired shard (reshard, resync) stays hidden until used again */
	if (sh == NULL || sh->phase == phase || sh->phase == VSTREAM_PHASE_RETIRED)
		return;
	LWLockAcquire(status_slot_lock(ws->slot - VStreamShared->slots), LW_EXCLUSIVE);
	sh->phase = phase;
	if (phase == VSTREAM_PHASE_REPLICATING)
		sh->copy_table[0] = sh->copy_lastpk[0] = '\0';
	LWLockRelease(status_slot_lock(ws->slot - VStreamShared->slots));
}

static VStreamShardStatus *
shard_status(WorkerSession *ws, const char *keyspace, const char *shard)
{
	VStreamShardStatus *sh;

	if (keyspace == NULL || shard == NULL || shard[0] == '\0')
		return NULL;
	sh = status_shard(ws->slot, keyspace, shard);
	if (sh && sh->phase == VSTREAM_PHASE_NONE)
	{
		bool		copied = ws->copy_completed;
		ListCell   *lc;

		if (!copied)
		{
			char	   *key = psprintf("%s/%s", keyspace, shard);

			foreach(lc, ws->apply.def->copied_shards)
				if (strcmp(lfirst(lc), key) == 0)
					copied = true;
		}
		set_shard_phase(ws, sh, copied ? VSTREAM_PHASE_REPLICATING : VSTREAM_PHASE_COPYING);
	}
	return sh;
}

/* A shard starts copying a table (its copy FIELD): progress from zero. */
static void
copy_progress_start(WorkerSession *ws, ApplyMapping *m)
{
	VStreamShardStatus *sh = shard_status(ws, m->keyspace, m->shard);
	int			slotno = ws->slot - VStreamShared->slots;

	if (sh == NULL)
		return;
	sh->copy_activity = ws->received_at;
	if (strcmp(sh->copy_table, m->table) == 0)
		return;
	LWLockAcquire(status_slot_lock(slotno), LW_EXCLUSIVE);
	strlcpy(sh->copy_table, m->table, sizeof(sh->copy_table));
	sh->copy_lastpk[0] = '\0';
	sh->copy_started = GetCurrentTimestamp();
	pg_atomic_write_u64(&sh->copy_table_rows, 0);
	LWLockRelease(status_slot_lock(slotno));
}

/* ---- transactions ---- */

static void
begin_txn(WorkerSession *ws, Binlogdata__VEvent *ev)
{
	apply_begin(&ws->apply);
	ws->txn_shard = shard_status(ws, ev->keyspace, ev->shard);
	ws->txn_copy = (ev->timestamp == 0 && ws->txn_shard != NULL &&
					ws->txn_shard->phase == VSTREAM_PHASE_COPYING);
}

static void
ensure_txn(WorkerSession *ws, Binlogdata__VEvent *ev)
{
	if (!ws->apply.in_txn)
		begin_txn(ws, ev);
}

/* Persist what the open transaction must carry besides rows. */
static void
write_position(WorkerSession *ws)
{
	ListCell   *lc;
	bool		copy_completed = ws->copy_completed || ws->pending_final_copy;
	bytea	   *recopy_vgtid;

	/* copy progress; a table to copy again changes the position to store */
	recopy_vgtid = copystate_write(&ws->apply, ws->pending_vgtid,
								   ws->committed_vgtid);
	if (recopy_vgtid)
	{
		MemoryContext old = MemoryContextSwitchTo(ws->pendcxt);

		ws->pending_vgtid = (bytea *) pg_detoast_datum_copy((struct varlena *) recopy_vgtid);
		MemoryContextSwitchTo(old);
	}

	if (ws->pending_vgtid != NULL || copy_completed != ws->apply.checkpoint.copy_completed)
		checkpoint_write(&ws->apply.checkpoint, ws->pending_vgtid,
						 ws->committed_vgtid, copy_completed);
	foreach(lc, ws->pending_copied)
	{
		VStreamShardStatus *sh = lfirst(lc);

		checkpoint_shard_copy_completed(ws->apply.stream_id, sh->keyspace, sh->shard);
	}
	if (ws->pending_final_copy)
		checkpoint_stream_state(ws->apply.stream_id, "replicating");
}

/* After a commit: the pending position became the committed one. */
static void
position_committed(WorkerSession *ws, Binlogdata__VEvent *ev)
{
	VStreamShardStatus *sh = NULL;
	int			slotno = ws->slot - VStreamShared->slots;
	ListCell   *lc;
	MemoryContext tmp;

	if (ws->pending_vgtid)
		sh = shard_status(ws, ws->pending_keyspace, ws->pending_shard);
	if (sh == NULL)
		sh = ws->txn_shard;

	LWLockAcquire(status_slot_lock(slotno), LW_EXCLUSIVE);
	if (sh)
	{
		if (ws->pending_gtid)
			strlcpy(sh->gtid, ws->pending_gtid, sizeof(sh->gtid));
		/* a table_p_ks entry: the shard copies (its copy, or a re-copy) */
		if (ws->pending_copy_table)
		{
			strlcpy(sh->copy_table, ws->pending_copy_table, sizeof(sh->copy_table));
			strlcpy(sh->copy_lastpk, ws->pending_copy_lastpk ? ws->pending_copy_lastpk : "",
					sizeof(sh->copy_lastpk));
		}
		else if (ws->pending_vgtid)
			sh->copy_table[0] = sh->copy_lastpk[0] = '\0';
		if (ev && ev->timestamp > 0)
		{
			TimestampTz commit_time = unix_to_timestamptz(ev->timestamp);

			sh->last_commit_time = commit_time;
			if (ev->current_time > 0)
			{
				/* correct for the clock difference with VTGate */
				TimestampTz vtgate_now = unix_to_timestamptz(ev->current_time / 1000000000) +
					(ev->current_time % 1000000000) / 1000;

				sh->caught_up_to = commit_time + (ws->received_at - vtgate_now);
			}
			else
				sh->caught_up_to = commit_time;
		}
	}
	LWLockRelease(status_slot_lock(slotno));

	if (sh && !ws->txn_copy && ev && ev->type == BINLOGDATA__VEVENT_TYPE__COMMIT)
		status_count(&sh->txns_applied, 1);

	foreach(lc, ws->pending_copied)
		set_shard_phase(ws, lfirst(lc), VSTREAM_PHASE_REPLICATING);
	list_free(ws->pending_copied);
	ws->pending_copied = NIL;
	if (ws->pending_final_copy)
	{
		int			i;

		ws->copy_completed = true;
		ws->pending_final_copy = false;
		for (i = 0; i < ws->slot->nshards; i++)
			set_shard_phase(ws, &ws->slot->shards[i], VSTREAM_PHASE_REPLICATING);
		ereport(LOG,
				(errmsg("vstream_fdw stream of server \"%s\" completed its copy phase",
						ws->apply.def->server_name)));
	}

	if (ws->pending_vgtid)
	{
		/* swap: the pending context becomes the committed one */
		tmp = ws->comcxt;
		ws->comcxt = ws->pendcxt;
		ws->pendcxt = tmp;
		MemoryContextReset(ws->pendcxt);
		ws->committed_vgtid = ws->pending_vgtid;
		ws->pending_vgtid = NULL;
		ws->pending_keyspace = ws->pending_shard = ws->pending_gtid = NULL;
		ws->pending_copy_table = ws->pending_copy_lastpk = NULL;
	}
	ws->txn_shard = NULL;
	ws->txn_copy = false;
	ws->commits++;
}

static void
commit_txn(WorkerSession *ws, Binlogdata__VEvent *ev)
{
	write_position(ws);
	copyindex_finish_ended(&ws->apply);
	apply_commit(&ws->apply);
	copystate_end_txn(&ws->apply, true);
	position_committed(ws, ev);
}

/* A small transaction of its own for a position change without rows. */
static void
commit_position(WorkerSession *ws, Binlogdata__VEvent *ev)
{
	if (ws->apply.in_txn)
	{
		commit_txn(ws, ev);
		return;
	}
	if (ws->pending_vgtid == NULL && ws->pending_copied == NIL &&
		!ws->pending_final_copy)
		return;
	begin_txn(ws, ev);
	commit_txn(ws, ev);
}

static void
abort_txn(WorkerSession *ws)
{
	if (!ws->apply.in_txn)
		return;
	AbortCurrentTransaction();
	apply_abort(&ws->apply);
	copystate_end_txn(&ws->apply, false);
	MemoryContextSwitchTo(ws->apply.msgcxt);
	ws->txn_shard = NULL;
	ws->txn_copy = false;
}

/* ---- events ---- */

/*
 * The metadata of the open source transaction (mirror options, shape.c),
 * once per transaction, at its first replicated ROW event: VTGate sends a
 * transaction in one response (it groups a shard's events up to COMMIT;
 * the worker asks for no chunking), so its VGTID and COMMIT events follow
 * in this response.  The shard's GTID position in that VGTID and the
 * COMMIT's timestamp are the same whenever the transaction is applied
 * again (after a crash).  A transaction cut across responses (not sent so
 * by VTGate) gets a NULL GTID and its ROW event's timestamp.
 */
static void
txn_metadata(WorkerSession *ws, Binlogdata__VEvent *row)
{
	Vtgate__VStreamResponse *resp = ws->cur_resp;
	const char *gtid = NULL;
	int64		commit_seconds = row->timestamp;
	size_t		j;

	for (j = ws->cur_index + 1; resp != NULL && j < resp->n_events; j++)
	{
		Binlogdata__VEvent *ev = resp->events[j];

		if (ev->type == BINLOGDATA__VEVENT_TYPE__VGTID && ev->vgtid != NULL)
		{
			size_t		k;

			for (k = 0; k < ev->vgtid->n_shard_gtids; k++)
			{
				Binlogdata__ShardGtid *sg = ev->vgtid->shard_gtids[k];

				if (sg->shard && row->shard && strcmp(sg->shard, row->shard) == 0 &&
					(row->keyspace == NULL || sg->keyspace == NULL ||
					 strcmp(sg->keyspace, row->keyspace) == 0))
					gtid = sg->gtid;
			}
		}
		else if (ev->type == BINLOGDATA__VEVENT_TYPE__COMMIT)
		{
			if (ev->timestamp > 0)
				commit_seconds = ev->timestamp;
			break;
		}
		else if (ev->type == BINLOGDATA__VEVENT_TYPE__BEGIN ||
				 ev->type == BINLOGDATA__VEVENT_TYPE__DDL ||
				 ev->type == BINLOGDATA__VEVENT_TYPE__ROLLBACK)
			break;
	}
	shape_set_txn(&ws->apply, gtid, commit_seconds);
}

static void
handle_vgtid(WorkerSession *ws, Binlogdata__VEvent *ev)
{
	MemoryContext old;
	size_t		i;
	Binlogdata__ShardGtid *mine = NULL;

	if (ev->vgtid == NULL)
		return;
	MemoryContextReset(ws->pendcxt);
	old = MemoryContextSwitchTo(ws->pendcxt);
	ws->pending_vgtid = vstream_vgtid_serialize(ev->vgtid);
	ws->pending_keyspace = pstrdup(ev->keyspace ? ev->keyspace : "");
	ws->pending_shard = pstrdup(ev->shard ? ev->shard : "");
	ws->pending_gtid = NULL;
	ws->pending_copy_table = ws->pending_copy_lastpk = NULL;

	for (i = 0; i < ev->vgtid->n_shard_gtids; i++)
	{
		Binlogdata__ShardGtid *sg = ev->vgtid->shard_gtids[i];

		if ((ws->pending_shard[0] == '\0' && ev->vgtid->n_shard_gtids == 1) ||
			(strcmp(sg->shard, ws->pending_shard) == 0 &&
			 strcmp(sg->keyspace, ws->pending_keyspace) == 0))
		{
			mine = sg;
			break;
		}
	}
	copystate_vgtid(&ws->apply, ev->vgtid, ev->keyspace, ev->shard);
	if (mine && mine->n_table_p_ks > 0)
	{
		VStreamShardStatus *sh = shard_status(ws, mine->keyspace, mine->shard);

		if (sh)
			sh->copy_activity = ws->received_at;
	}
	ws->nshards = 0;
	for (i = 0; i < ev->vgtid->n_shard_gtids; i++)
		if (ev->keyspace == NULL ||
			strcmp(ev->vgtid->shard_gtids[i]->keyspace, ev->keyspace) == 0)
			ws->nshards++;
	if (mine)
	{
		ws->pending_keyspace = pstrdup(mine->keyspace);
		ws->pending_shard = pstrdup(mine->shard);
		ws->pending_gtid = pstrdup(mine->gtid);
		if (mine->n_table_p_ks > 0)
		{
			ws->pending_copy_table = pstrdup(mine->table_p_ks[0]->table_name);
			ws->pending_copy_lastpk = render_lastpk(mine->table_p_ks[0]->lastpk);
		}
	}
	MemoryContextSwitchTo(old);
}

static void
handle_copy_completed(WorkerSession *ws, Binlogdata__VEvent *ev)
{
	if (ev->shard && ev->shard[0] != '\0')
	{
		VStreamShardStatus *sh = shard_status(ws, ev->keyspace, ev->shard);
		MemoryContext old;

		ereport(LOG,
				(errmsg("vstream_fdw stream of server \"%s\": shard %s/%s completed its copy phase",
						ws->apply.def->server_name, ev->keyspace, ev->shard)));
		copystate_shard_completed(&ws->apply, ev->keyspace, ev->shard);
		copyindex_shard_completed(&ws->apply, ev->keyspace, ev->shard);
		if (sh == NULL)
			return;
		old = MemoryContextSwitchTo(ws->apply.sessioncxt);
		ws->pending_copied = lappend(ws->pending_copied, sh);
		MemoryContextSwitchTo(old);
	}
	else
		ws->pending_final_copy = true;

	if (!ws->apply.in_txn)
		commit_position(ws, ev);
}

static void
handle_heartbeat(WorkerSession *ws, Binlogdata__VEvent *ev)
{
	int			i;
	int			slotno = ws->slot - VStreamShared->slots;

	if (ws->apply.in_txn)
		return;
	/* VTGate had nothing to send: every shard is caught up to now */
	LWLockAcquire(status_slot_lock(slotno), LW_EXCLUSIVE);
	for (i = 0; i < ws->slot->nshards; i++)
	{
		if (ws->slot->shards[i].phase == VSTREAM_PHASE_REPLICATING)
			ws->slot->shards[i].caught_up_to = ws->received_at;
	}
	LWLockRelease(status_slot_lock(slotno));
}

static void
handle_event(WorkerSession *ws, Binlogdata__VEvent *ev)
{
	ws->cur_event = vstream_event_type_name(ev->type);
	ws->cur_table = NULL;
	ws->cur_shard = ev->shard;

	switch (ev->type)
	{
		case BINLOGDATA__VEVENT_TYPE__BEGIN:
			if (!ws->apply.in_txn)
				begin_txn(ws, ev);
			else
				elog(DEBUG1, "BEGIN inside an open transaction from shard %s: continuing it",
					 ev->shard);
			break;

		case BINLOGDATA__VEVENT_TYPE__FIELD:
			if (ev->field_event == NULL)
				break;
			ws->cur_table = ev->field_event->table_name;
			ws->cur_shard = ev->field_event->shard;
			ensure_txn(ws, ev);
			{
				ApplyMapping *m = schema_field_event(&ws->apply, ev->field_event);

				if (ev->timestamp == 0 && !m->skip)
				{
					copystate_copy_field(&ws->apply, m);
					copyindex_copy_field(&ws->apply, m);
					copy_progress_start(ws, m);
				}
				if (!m->skip && schema_field_needs_recopy(&ws->apply, m))
					recopy_request(&ws->apply, m->table);
			}
			break;

		case BINLOGDATA__VEVENT_TYPE__ROW:
			{
				Binlogdata__RowEvent *re = ev->row_event;
				ApplyMapping *m;
				VStreamShardStatus *sh;

				if (re == NULL)
					break;
				ws->cur_table = re->table_name;
				ws->cur_shard = re->shard;
				ensure_txn(ws, ev);
				m = schema_get_mapping(&ws->apply, re->shard,
									   vstream_bare_table_name(re->table_name));
				if (m == NULL)
					ereport(ERROR,
							(errcode(ERRCODE_PROTOCOL_VIOLATION),
							 errmsg("ROW event for table \"%s\" of shard \"%s\" without a FIELD event",
									re->table_name, re->shard)));
				sh = shard_status(ws, re->keyspace, re->shard);
				if (!ws->txn_copy && ev->timestamp != 0 &&
					shape_txn_needed(&ws->apply))
					txn_metadata(ws, ev);
				/* copy batches have no timestamp (also those of a re-copy) */
				copyindex_before_rows(&ws->apply, m, re,
									  ws->txn_copy || ev->timestamp == 0);
				apply_rows(&ws->apply, m, re, sh,
						   ws->txn_copy || ev->timestamp == 0);
				if (ev->timestamp == 0 && sh)
					sh->copy_activity = ws->received_at;
				break;
			}

		case BINLOGDATA__VEVENT_TYPE__VGTID:
			handle_vgtid(ws, ev);
			/* the VGTID of a resharding journal group (see reshard.h) */
			reshard_vgtid_event(ws->apply.stream_id, ws->apply.def->server_name,
								ws->slot, &ws->pending_vgtid, ws->pendcxt);
			break;

		case BINLOGDATA__VEVENT_TYPE__COMMIT:
			commit_position(ws, ev);
			break;

		case BINLOGDATA__VEVENT_TYPE__DDL:
			/* the mirror follows in the transaction of the DDL's position */
			ensure_txn(ws, ev);
			copyindex_finish_all(&ws->apply);
			schema_ddl_event(&ws->apply, ev->keyspace, ev->shard,
							 ws->pending_gtid, ev->statement,
							 Max(ws->nshards, 1));
			commit_txn(ws, ev);
			break;

		case BINLOGDATA__VEVENT_TYPE__OTHER:
			commit_position(ws, ev);
			break;

		case BINLOGDATA__VEVENT_TYPE__ROLLBACK:
			abort_txn(ws);
			break;

		case BINLOGDATA__VEVENT_TYPE__HEARTBEAT:
			handle_heartbeat(ws, ev);
			break;

		case BINLOGDATA__VEVENT_TYPE__COPY_COMPLETED:
			handle_copy_completed(ws, ev);
			break;

		case BINLOGDATA__VEVENT_TYPE__JOURNAL:
			/* [BEGIN, JOURNAL, VGTID, COMMIT]: recorded with the checkpoint */
			ensure_txn(ws, ev);
			reshard_journal_event(ws->apply.stream_id, ws->apply.def->server_name,
								  ws->slot, ev);
			break;

		default:
			/* GTID, LASTPK are replaced by VTGate; others are not ours */
			break;
	}
}

static void
worker_error_callback(void *arg)
{
	WorkerSession *ws = (WorkerSession *) arg;

	if (ws->cur_event == NULL)
		return;
	if (ws->cur_table)
		errcontext("vstream_fdw stream of server \"%s\", %s event for table %s from shard %s",
				   ws->apply.def->server_name, ws->cur_event, ws->cur_table,
				   ws->cur_shard ? ws->cur_shard : "?");
	else
		errcontext("vstream_fdw stream of server \"%s\", %s event from shard %s",
				   ws->apply.def->server_name, ws->cur_event,
				   ws->cur_shard && ws->cur_shard[0] ? ws->cur_shard : "-");
}

/* Sleep for ms milliseconds, serving interrupts and configuration reloads. */
static void
worker_sleep(long ms)
{
	TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), ms);

	for (;;)
	{
		long		secs;
		int			usecs;
		TimestampTz now = GetCurrentTimestamp();

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (now >= until)
			break;
		TimestampDifference(now, until, &secs, &usecs);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 secs * 1000 + usecs / 1000 + 1, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---- sessions ---- */

/*
 * The worker needs the catalog of the library's version.  After a new
 * library is installed, streams wait (retrying) until ALTER EXTENSION
 * vstream_fdw UPDATE has run.  Must run in a transaction.
 */
static void
check_extension_version(void)
{
	char	   *version = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute("SELECT extversion FROM pg_catalog.pg_extension "
					"WHERE extname = 'vstream_fdw'", true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		version = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
	SPI_finish();
	if (version != NULL && strcmp(version, VSTREAM_EXTENSION_VERSION) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("extension vstream_fdw is at version %s but its library is version %s",
						version, VSTREAM_EXTENSION_VERSION),
				 errhint("Run ALTER EXTENSION vstream_fdw UPDATE in database \"%s\"; the streams resume by themselves.",
						 get_database_name(MyDatabaseId))));
}

/*
 * Is the stream still defined and enabled?  An idle worker asks this now and
 * then, so that DROP EXTENSION or a deleted stream row does not leave it
 * running.  Runs its own transaction; the caller must not be in one.
 */
static bool
stream_still_wanted(int32 stream_id, const char *server_name)
{
	bool		wanted = false;
	Oid			nsp;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	nsp = get_namespace_oid("vstream_fdw", true);
	if (OidIsValid(nsp) && OidIsValid(get_relname_relid("stream", nsp)))
	{
		Oid			argtypes[2] = {INT4OID, TEXTOID};
		Datum		args[2] = {Int32GetDatum(stream_id),
		CStringGetTextDatum(server_name)};

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("SELECT 1 FROM vstream_fdw.stream"
								  " WHERE id = $1 AND server_name = $2 AND enabled",
								  2, argtypes, args, NULL, true, 1) == SPI_OK_SELECT)
			wanted = (SPI_processed == 1);
		SPI_finish();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	return wanted;
}

/*
 * A shard whose copy phase VTGate resumed by itself (its own retry after a
 * reparent or a tablet restart) from a position saved between two tables
 * replicates without copying the remaining tables and never sends
 * COPY_COMPLETED (semantics §4): the worker sees a shard still "copying"
 * that streams current changes and no copy event.  A copy between two
 * tables only catches up to the current position before it starts the next
 * table, so a shard caught up and without a copy event for
 * COPY_STALL_SECONDS is in that state: reconnecting lets the worker resume
 * its copy with the completed tables named (copystate.c).
 */
#define COPY_STALL_SECONDS 30

static bool
copy_stalled(WorkerSession *ws)
{
	TimestampTz now = GetCurrentTimestamp();
	int			i;

	if (ws->copy_completed)
		return false;
	for (i = 0; i < ws->slot->nshards; i++)
	{
		VStreamShardStatus *sh = &ws->slot->shards[i];

		if (sh->phase != VSTREAM_PHASE_COPYING || sh->copy_table[0] != '\0' ||
			sh->copy_activity == 0 || sh->caught_up_to == 0)
			continue;
		if (TimestampDifferenceExceeds(sh->copy_activity, now, COPY_STALL_SECONDS * 1000) &&
			!TimestampDifferenceExceeds(sh->caught_up_to, now, 10 * 1000))
		{
			ereport(LOG,
					(errmsg("vstream_fdw stream of server \"%s\": shard %s/%s streams current changes but its copy phase did not complete; reconnecting to resume its copy",
							ws->apply.def->server_name, sh->keyspace, sh->shard),
					 errdetail("VTGate resumed the shard from a position saved between two tables, which skips the tables not copied yet.")));
			sh->copy_activity = now;
			return true;
		}
	}
	return false;
}

/*
 * One VStream session.  Returns when the server ended the stream cleanly;
 * errors propagate.
 */
static void
run_session(WorkerSession *ws, int32 stream_id, MemoryContext sessioncxt)
{
	ApplyState *apply = &ws->apply;
	StreamDef  *def;
	VStreamRequestSpec spec;
	Binlogdata__VGtid *vgtid = NULL;
	ErrorContextCallback errcallback;
	MemoryContext old;
	TimestampTz last_recheck;
	bool		busy = false;	/* reported as running (pg_stat_activity) */
	List	   *copying = NIL;
	List	   *tables_to_copy = NIL;
	List	   *table_filters = NIL;

	old = MemoryContextSwitchTo(sessioncxt);
	apply->stream_id = stream_id;
	apply->slot = ws->slot;
	apply->sessioncxt = sessioncxt;
	apply->txncxt = AllocSetContextCreate(sessioncxt, "vstream_fdw transaction",
										  ALLOCSET_DEFAULT_SIZES);
	/*
	 * A decoded response of a copy batch takes a few hundred kB; a keeper
	 * block of that size is reused at every reset instead of going back to
	 * malloc (and the kernel) for each message.
	 */
	apply->msgcxt = AllocSetContextCreate(sessioncxt, "vstream_fdw message",
										  0, 1024 * 1024, 8 * 1024 * 1024);
	ws->pendcxt = AllocSetContextCreate(sessioncxt, "vstream_fdw position",
										ALLOCSET_SMALL_SIZES);
	ws->comcxt = AllocSetContextCreate(sessioncxt, "vstream_fdw position",
									   ALLOCSET_SMALL_SIZES);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	MemoryContextSwitchTo(sessioncxt);
	check_extension_version();
	MemoryContextSwitchTo(sessioncxt);
	def = checkpoint_load_stream(stream_id);
	if (def == NULL || !def->enabled ||
		strcmp(def->state, "error") == 0 || strcmp(def->state, "stopped") == 0)
	{
		PopActiveSnapshot();
		CommitTransactionCommand();
		ereport(LOG,
				(errmsg("vstream_fdw worker of stream %d exiting: the stream is %s",
						stream_id, def == NULL ? "gone" : "not enabled")));
		proc_exit(0);
	}
	apply->def = def;
	apply->opts = options_get_server_by_name(def->server_name, GetUserId());
	MemoryContextSwitchTo(sessioncxt);
	checkpoint_open(&apply->checkpoint, stream_id);
	MemoryContextSwitchTo(sessioncxt);
	copyindex_session_start(apply);
	MemoryContextSwitchTo(sessioncxt);
	ws->copy_completed = def->copy_completed;
	if (def->vgtid)
	{
		vgtid = vstream_vgtid_deserialize(def->vgtid);
		ws->committed_vgtid = def->vgtid;
	}
	/* tables being copied again; completed tables of resuming copies */
	copystate_prepare_resume(def, vgtid, &copying);
	table_filters = filter_load(stream_id);
	if (def->copy_completed)
		tables_to_copy = copying;
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(sessioncxt);

	schema_init(apply);
	copystate_init(apply, vgtid);
	copystate_set_copying(apply, copying);
	reshard_session_start(ws->slot, vgtid);

	/* show the saved position of every shard */
	if (vgtid)
	{
		size_t		i;
		int			slotno = ws->slot - VStreamShared->slots;

		for (i = 0; i < vgtid->n_shard_gtids; i++)
		{
			Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];
			VStreamShardStatus *sh = shard_status(ws, sg->keyspace, sg->shard);

			if (sh == NULL)
				continue;
			LWLockAcquire(status_slot_lock(slotno), LW_EXCLUSIVE);
			strlcpy(sh->gtid, sg->gtid, sizeof(sh->gtid));
			LWLockRelease(status_slot_lock(slotno));
		}
	}

	memset(&spec, 0, sizeof(spec));
	spec.vgtid = vgtid;
	spec.start_mode = vgtid ? NULL : (def->copy_completed ? "current" : "copy");
	spec.tables = def->tables;
	spec.tables_to_copy = tables_to_copy;
	spec.table_filters = table_filters;
	spec.heartbeat_interval = -1;

	pgstat_report_activity(STATE_RUNNING, "connecting to VTGate");
	ws->vs = vstream_open(apply->opts, &spec, sessioncxt);
	pgstat_report_activity(STATE_IDLE, NULL);
	ereport(LOG,
			(errmsg("vstream_fdw stream of server \"%s\" connected to %s:%d, %s",
					def->server_name, apply->opts->host, apply->opts->port,
					vgtid ? "resuming from its checkpoint" :
					(def->copy_completed ? "starting at the current position" :
					 "starting with a copy"))));

	errcallback.callback = worker_error_callback;
	errcallback.arg = ws;
	errcallback.previous = error_context_stack;
	error_context_stack = &errcallback;

	MemoryContextSwitchTo(apply->msgcxt);
	last_recheck = GetCurrentTimestamp();
	pgstat_report_activity(STATE_IDLE, NULL);
	for (;;)
	{
		Vtgate__VStreamResponse *resp;
		bool		ended = false;
		size_t		i;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		ws->cur_event = NULL;
		resp = vstream_next(ws->vs, apply->msgcxt, WORKER_POLL_MS, &ended);
		if (resp == NULL)
		{
			if (ended)
				break;
			if (!apply->in_txn)
			{
				/* a poll interval without data: idle (not once per txn) */
				if (busy)
				{
					pgstat_report_activity(STATE_IDLE, NULL);
					busy = false;
				}
				pgstat_report_stat(false);
				if (TimestampDifferenceExceeds(last_recheck, GetCurrentTimestamp(),
											   WORKER_RECHECK_MS))
				{
					if (!stream_still_wanted(apply->stream_id, def->server_name))
					{
						ereport(LOG,
								(errmsg("vstream_fdw stream of server \"%s\" was dropped or stopped, worker exiting",
										def->server_name)));
						proc_exit(0);
					}
					last_recheck = GetCurrentTimestamp();
					MemoryContextSwitchTo(apply->msgcxt);
				}
			}
			continue;
		}

		ws->received_at = vstream_last_message(ws->vs);
		if (!busy)
		{
			pgstat_report_activity(STATE_RUNNING, "applying changes from VTGate");
			busy = true;
		}
		ws->cur_resp = resp;
		for (i = 0; i < resp->n_events; i++)
		{
			MemoryContextSwitchTo(apply->msgcxt);
			ws->cur_index = i;
			handle_event(ws, resp->events[i]);
			if (apply->restart_session && !apply->in_txn)
				break;
		}
		MemoryContextSwitchTo(apply->msgcxt);
		MemoryContextReset(apply->msgcxt);
		/* the error context must not point into the reset message */
		ws->cur_event = ws->cur_table = ws->cur_shard = NULL;
		if (!apply->in_txn && !apply->restart_session && copy_stalled(ws))
			apply->restart_session = true;
		if (apply->restart_session && !apply->in_txn)
		{
			/* a schema change needs a new request (tables to copy, filter) */
			error_context_stack = errcallback.previous;
			ereport(LOG,
					(errmsg("vstream_fdw stream of server \"%s\" reconnects to apply a schema change",
							def->server_name)));
			vstream_close(ws->vs);
			ws->vs = NULL;
			MemoryContextSwitchTo(old);
			return;
		}
		if (ended)
			break;
	}

	error_context_stack = errcallback.previous;
	ereport(LOG,
			(errmsg("vstream_fdw stream of server \"%s\": VTGate ended the stream, reconnecting",
					def->server_name)));
	abort_txn(ws);
	schema_forget();			/* the session's memory goes away next */
	MemoryContextSwitchTo(old);
}

void
vstream_worker_main(Datum main_arg)
{
	int32		stream_id = DatumGetInt32(main_arg);
	Oid			dbid;
	Oid			userid;
	LOCKTAG		tag;
	MemoryContext workercxt;
	volatile int failures = 0;

	memcpy(&dbid, MyBgworkerEntry->bgw_extra, sizeof(Oid));
	memcpy(&userid, MyBgworkerEntry->bgw_extra + sizeof(Oid), sizeof(Oid));

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnectionByOid(dbid, userid, 0);
	pgstat_report_appname("vstream_fdw worker");

	if (VStreamShared == NULL)
		ereport(FATAL,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("vstream_fdw worker started without shared memory")));
	{
		VStreamSlot *slot = status_attach(stream_id);

		/* wait for management functions that are changing this stream */
		SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, VSTREAM_LOCK_CLASS,
							 (uint32) stream_id, VSTREAM_LOCK_FIELD4);
		StartTransactionCommand();
		(void) LockAcquire(&tag, ExclusiveLock, true, false);
		CommitTransactionCommand();

		/*
		 * No session_replication_role = replica: the worker is an ordinary
		 * session of the stream's owner, so foreign keys are checked and
		 * ordinary triggers on mirrors fire (a superuser owner who wants
		 * replica behaviour can ALTER ROLE ... SET session_replication_role).
		 */
		SetConfigOption("synchronous_commit", "off", PGC_SUSET, PGC_S_OVERRIDE);
		SetConfigOption("search_path", "", PGC_SUSET, PGC_S_OVERRIDE);

		workercxt = AllocSetContextCreate(TopMemoryContext, "vstream_fdw worker",
										  ALLOCSET_DEFAULT_SIZES);

		for (;;)
		{
			MemoryContext sessioncxt;
			WorkerSession *ws;
			long		delay;

			MemoryContextSwitchTo(workercxt);
			sessioncxt = AllocSetContextCreate(workercxt, "vstream_fdw session",
											   ALLOCSET_DEFAULT_SIZES);
			ws = MemoryContextAllocZero(workercxt, sizeof(WorkerSession));
			ws->slot = slot;

			PG_TRY();
			{
				run_session(ws, stream_id, sessioncxt);
				delay = ws->apply.restart_session ? 0 : vstream_restart_interval;
				if (ws->commits > 0)
					failures = 0;
			}
			PG_CATCH();
			{
				ErrorData  *edata;
				bool		transient;
				char	   *message;
				MemoryContext errcxt;

				/*
				 * Everything about this error lives in a context of its own,
				 * deleted below: FreeErrorData() does not free every string
				 * CopyErrorData() makes (file and function names, domains,
				 * the message id), and the worker fails many sessions over
				 * its life.
				 */
				HOLD_INTERRUPTS();
				errcxt = AllocSetContextCreate(workercxt, "vstream_fdw error",
											   ALLOCSET_SMALL_SIZES);
				MemoryContextSwitchTo(errcxt);
				edata = CopyErrorData();
				EmitErrorReport();
				AbortOutOfAnyTransaction();
				FlushErrorState();
				error_context_stack = NULL;
				schema_forget();
				RESUME_INTERRUPTS();

				MemoryContextSwitchTo(errcxt);
				transient = reshard_classify_error(stream_id,
												   ws->apply.def ? ws->apply.def->server_name : "?",
												   slot, edata,
												   error_is_transient(edata->sqlerrcode));
				MemoryContextSwitchTo(errcxt);
				/* names and messages from the wire may be invalid text */
				message = text_make_valid_cstr(edata->detail
											   ? psprintf("%s: %s", edata->message, edata->detail)
											   : pstrdup(edata->message ? edata->message : "unknown error"));
				status_set_error(slot, message);
				checkpoint_record_error(stream_id, message, !transient);
				if (!transient)
				{
					ereport(LOG,
							(errmsg("vstream_fdw stream %d stopped because of an error that needs attention",
									stream_id),
							 errhint("Fix the cause, then call vstream_fdw.start_stream().")));
					proc_exit(0);
				}
				if (ws->commits > 0)
					failures = 0;
				failures++;
				delay = worker_backoff_ms(failures);
				ereport(LOG,
						(errmsg("vstream_fdw stream %d will reconnect in %ld ms",
								stream_id, delay)));
				MemoryContextSwitchTo(workercxt);
				MemoryContextDelete(errcxt);
			}
			PG_END_TRY();

			MemoryContextSwitchTo(workercxt);
			MemoryContextDelete(sessioncxt);
			pfree(ws);

			worker_sleep(delay);
		}
	}
}
