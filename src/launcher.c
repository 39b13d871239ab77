/*-------------------------------------------------------------------------
 *
 * launcher.c
 *	  The stream launcher and the SQL-callable helpers that control it.
 *
 * The launcher is a static background worker connected to the database
 * named by vstream_fdw.database (pg_cron style).  It reads vstream_fdw.stream
 * whenever it is woken (a management function committed, a worker started
 * or stopped) and at least every few seconds, starts one dynamic background
 * worker per runnable stream, stops workers of streams that are no longer
 * runnable, and restarts failed workers with exponential back-off.
 *
 * Stopping a worker for good is done by the management functions
 * themselves (_stop_worker): each worker holds a session-level lock on its
 * stream for as long as it runs, so after sending SIGTERM the caller waits
 * for that lock, and a worker started meanwhile waits for the caller's
 * transaction to end before it reads its stream definition.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/launcher.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "status.h"
#include "worker.h"

/* How often the launcher re-reads the stream table without being woken. */
#define LAUNCHER_NAPTIME_MS 10000

typedef struct LauncherEntry
{
	int32		stream_id;		/* hash key */
	BackgroundWorkerHandle *handle;
	int			failures;		/* consecutive unexpected exits */
	TimestampTz next_start;
	TimestampTz started_at;
	bool		seen;			/* in the stream table this round */
} LauncherEntry;

typedef struct StreamRow
{
	int32		id;
	char	   *server;
	char	   *owner;
	bool		runnable;
} StreamRow;

static HTAB *launcher_workers = NULL;
static bool wake_at_commit = false;
static bool xact_callback_registered = false;

/*
 * Register the launcher; called from worker_init() while the postmaster
 * loads shared_preload_libraries.
 */
void
launcher_register(void)
{
	BackgroundWorker bgw;

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = 10;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "vstream_fdw");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "vstream_launcher_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "vstream_fdw launcher");
	snprintf(bgw.bgw_type, BGW_MAXLEN, "vstream_fdw launcher");
	RegisterBackgroundWorker(&bgw);
}

/* True when stream workers can run (loaded through shared_preload_libraries). */
bool
workers_available(void)
{
	return VStreamShared != NULL;
}

static void
launcher_detach(int code, Datum arg)
{
	LWLockAcquire(status_control_lock(), LW_EXCLUSIVE);
	if (VStreamShared->launcher_pid == MyProcPid)
	{
		VStreamShared->launcher_pid = 0;
		VStreamShared->launcher_latch = NULL;
	}
	LWLockRelease(status_control_lock());
}

/*
 * Read the stream table.  Returns NIL when the extension does not exist in
 * this database (yet).
 */
static List *
read_streams(void)
{
	List	   *result = NIL;
	MemoryContext outer = CurrentMemoryContext;
	uint64		i;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());

	if (OidIsValid(get_extension_oid("vstream_fdw", true)))
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute("SELECT id, server_name::text, owner::text, "
						"enabled AND state NOT IN ('error', 'stopped') "
						"FROM vstream_fdw.stream ORDER BY id",
						true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read vstream_fdw.stream");
		for (i = 0; i < SPI_processed; i++)
		{
			HeapTuple	tup = SPI_tuptable->vals[i];
			TupleDesc	desc = SPI_tuptable->tupdesc;
			MemoryContext old = MemoryContextSwitchTo(outer);
			StreamRow  *row = palloc(sizeof(StreamRow));
			bool		isnull;

			row->id = DatumGetInt32(SPI_getbinval(tup, desc, 1, &isnull));
			row->server = SPI_getvalue(tup, desc, 2);
			row->owner = SPI_getvalue(tup, desc, 3);
			row->runnable = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
			result = lappend(result, row);
			MemoryContextSwitchTo(old);
		}
		SPI_finish();
	}

	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(outer);
	return result;
}

static bool
launch_worker(StreamRow *row, LauncherEntry *entry)
{
	BackgroundWorker bgw;
	Oid			owner;
	pid_t		pid;

	StartTransactionCommand();
	owner = get_role_oid(row->owner, true);
	CommitTransactionCommand();
	if (!OidIsValid(owner))
	{
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("owner \"%s\" of the vstream_fdw stream of server \"%s\" does not exist",
						row->owner, row->server)));
		return false;
	}

	memset(&bgw, 0, sizeof(bgw));
	bgw.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	bgw.bgw_start_time = BgWorkerStart_RecoveryFinished;
	bgw.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(bgw.bgw_library_name, BGW_MAXLEN, "vstream_fdw");
	snprintf(bgw.bgw_function_name, BGW_MAXLEN, "vstream_worker_main");
	snprintf(bgw.bgw_name, BGW_MAXLEN, "vstream_fdw worker for server %s",
			 row->server);
	snprintf(bgw.bgw_type, BGW_MAXLEN, "vstream_fdw worker");
	bgw.bgw_main_arg = Int32GetDatum(row->id);
	memcpy(bgw.bgw_extra, &MyDatabaseId, sizeof(Oid));
	memcpy(bgw.bgw_extra + sizeof(Oid), &owner, sizeof(Oid));
	bgw.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&bgw, &entry->handle))
	{
		entry->handle = NULL;
		ereport(WARNING,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("out of background worker slots"),
				 errhint("You might need to increase max_worker_processes.")));
		return false;
	}
	entry->started_at = GetCurrentTimestamp();
	(void) GetBackgroundWorkerPid(entry->handle, &pid);
	elog(DEBUG1, "vstream_fdw launcher started the worker of stream %d", row->id);
	return true;
}

/*
 * One round: compare the stream table with the workers we run.  Returns
 * how long to sleep before the next round.
 */
static long
launcher_round(MemoryContext roundcxt)
{
	List	   *streams;
	ListCell   *lc;
	HASH_SEQ_STATUS seq;
	LauncherEntry *entry;
	TimestampTz now;
	long		wait = LAUNCHER_NAPTIME_MS;
	bool		reset_backoff = false;

	/* set at commit of a management function: (re)start without back-off */
	LWLockAcquire(status_control_lock(), LW_EXCLUSIVE);
	reset_backoff = VStreamShared->reset_backoff;
	VStreamShared->reset_backoff = false;
	LWLockRelease(status_control_lock());

	streams = read_streams();
	now = GetCurrentTimestamp();

	hash_seq_init(&seq, launcher_workers);
	while ((entry = hash_seq_search(&seq)) != NULL)
		entry->seen = false;

	foreach(lc, streams)
	{
		StreamRow  *row = lfirst(lc);
		bool		found;

		entry = hash_search(launcher_workers, &row->id, HASH_ENTER, &found);
		if (!found)
		{
			entry->handle = NULL;
			entry->failures = 0;
			entry->next_start = 0;
			entry->started_at = 0;
		}
		entry->seen = true;

		/* has the worker exited? */
		if (entry->handle)
		{
			pid_t		pid;

			if (GetBackgroundWorkerPid(entry->handle, &pid) == BGWH_STOPPED)
			{
				pfree(entry->handle);
				entry->handle = NULL;
				if (row->runnable)
				{
					/* a worker that ran long enough starts a new series */
					if (TimestampDifferenceExceeds(entry->started_at, now,
												   vstream_max_restart_interval * 2))
						entry->failures = 0;
					entry->failures++;
					entry->next_start = TimestampTzPlusMilliseconds(now,
																	worker_backoff_ms(entry->failures));
					elog(LOG, "vstream_fdw worker of server \"%s\" exited, restarting in %ld ms",
						 row->server, worker_backoff_ms(entry->failures));
				}
			}
		}

		if (!row->runnable)
		{
			if (entry->handle)
			{
				TerminateBackgroundWorker(entry->handle);
				wait = Min(wait, 100);
			}
			entry->failures = 0;
			entry->next_start = 0;
			continue;
		}

		if (entry->handle == NULL)
		{
			if (reset_backoff)
				entry->failures = 0;
			if (reset_backoff || entry->next_start <= now)
			{
				if (!launch_worker(row, entry))
				{
					entry->failures++;
					entry->next_start = TimestampTzPlusMilliseconds(now,
																	worker_backoff_ms(entry->failures));
				}
			}
			if (entry->handle == NULL && entry->next_start > now)
			{
				long		secs;
				int			usecs;

				TimestampDifference(now, entry->next_start, &secs, &usecs);
				wait = Min(wait, secs * 1000 + usecs / 1000 + 1);
			}
		}
	}

	/* streams deleted from the table: stop their workers */
	hash_seq_init(&seq, launcher_workers);
	while ((entry = hash_seq_search(&seq)) != NULL)
	{
		if (entry->seen)
			continue;
		if (entry->handle)
		{
			pid_t		pid;

			if (GetBackgroundWorkerPid(entry->handle, &pid) != BGWH_STOPPED)
			{
				TerminateBackgroundWorker(entry->handle);
				wait = Min(wait, 100);
				continue;
			}
			pfree(entry->handle);
		}
		hash_search(launcher_workers, &entry->stream_id, HASH_REMOVE, NULL);
	}

	return wait;
}

void
vstream_launcher_main(Datum main_arg)
{
	HASHCTL		ctl;
	MemoryContext roundcxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnection(vstream_database, NULL, 0);
	pgstat_report_appname("vstream_fdw launcher");

	LWLockAcquire(status_control_lock(), LW_EXCLUSIVE);
	VStreamShared->launcher_pid = MyProcPid;
	VStreamShared->launcher_latch = MyLatch;
	LWLockRelease(status_control_lock());
	before_shmem_exit(launcher_detach, (Datum) 0);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int32);
	ctl.entrysize = sizeof(LauncherEntry);
	launcher_workers = hash_create("vstream_fdw launcher workers", 32, &ctl,
								   HASH_ELEM | HASH_BLOBS);

	roundcxt = AllocSetContextCreate(TopMemoryContext, "vstream_fdw launcher",
									 ALLOCSET_DEFAULT_SIZES);

	ereport(LOG,
			(errmsg("vstream_fdw launcher started in database \"%s\"",
					vstream_database)));

	for (;;)
	{
		long		wait;
		MemoryContext old;

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		old = MemoryContextSwitchTo(roundcxt);
		wait = launcher_round(roundcxt);
		MemoryContextSwitchTo(old);
		MemoryContextReset(roundcxt);
		pgstat_report_stat(false);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 Max(wait, 1), PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ---- SQL-callable helpers ---- */

static void
launcher_xact_callback(XactEvent event, void *arg)
{
	if (!wake_at_commit)
		return;
	switch (event)
	{
		case XACT_EVENT_COMMIT:
			wake_at_commit = false;
			if (VStreamShared)
			{
				Latch	   *latch;

				LWLockAcquire(status_control_lock(), LW_EXCLUSIVE);
				VStreamShared->reset_backoff = true;
				latch = VStreamShared->launcher_latch;
				if (latch)
					SetLatch(latch);
				LWLockRelease(status_control_lock());
			}
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			wake_at_commit = false;
			break;
		default:
			break;
	}
}

/* vstream_fdw._wake_launcher(): wake the launcher when this transaction commits */
PG_FUNCTION_INFO_V1(vstream_wake_launcher);
Datum
vstream_wake_launcher(PG_FUNCTION_ARGS)
{
	if (!xact_callback_registered)
	{
		RegisterXactCallback(launcher_xact_callback, NULL);
		xact_callback_registered = true;
	}
	wake_at_commit = true;
	PG_RETURN_VOID();
}

/* vstream_fdw._require_workers(): error unless workers can run here */
PG_FUNCTION_INFO_V1(vstream_require_workers);
Datum
vstream_require_workers(PG_FUNCTION_ARGS)
{
	char	   *dbname;

	if (!workers_available())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("vstream_fdw streams require vstream_fdw in shared_preload_libraries"),
				 errhint("Add shared_preload_libraries = 'vstream_fdw' to postgresql.conf (append it to the list if the setting already has other libraries) and restart PostgreSQL.")));

	dbname = get_database_name(MyDatabaseId);
	if (dbname == NULL || strcmp(dbname, vstream_database) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("vstream_fdw streams run only in database \"%s\"",
						vstream_database),
				 errhint("Add vstream_fdw.database = '%s' to postgresql.conf and restart PostgreSQL, or create the stream in database \"%s\".",
						 dbname ? dbname : "", vstream_database)));
	PG_RETURN_VOID();
}

/*
 * vstream_fdw._stop_worker(stream_id): terminate the stream's worker and wait
 * until it has exited.  The stream lock taken here is held until the end of
 * the calling transaction, so a worker started meanwhile does not run before
 * the caller's changes are visible.
 */
PG_FUNCTION_INFO_V1(vstream_stop_worker);
Datum
vstream_stop_worker(PG_FUNCTION_ARGS)
{
	int32		stream_id = PG_GETARG_INT32(0);
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, VSTREAM_LOCK_CLASS,
						 (uint32) stream_id, VSTREAM_LOCK_FIELD4);
	for (;;)
	{
		pid_t		pid;

		if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
			break;
		pid = status_worker_pid(stream_id);
		if (pid != 0)
			(void) kill(pid, SIGTERM);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 10L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	PG_RETURN_VOID();
}
