/*-------------------------------------------------------------------------
 *
 * progress.c
 *	  Copy progress: what each shard is copying, how far, and how much the
 *	  source says there is.
 *
 * vstream_fdw._copy_progress() reads the workers' status in shared memory
 * (status.h): per shard, the table whose copy FIELD came last, the rows of
 * it applied since and when that copy started.  vstream_fdw._source_rows()
 * asks the source for its row estimate of a table (InnoDB's TABLE_ROWS
 * through VTGate's MySQL port, see mysql_conn.c).  The copy_progress view
 * joins the two, as pg_stat_progress_copy shows a COPY.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/progress.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "mysql_conn.h"
#include "options.h"
#include "status.h"
#include "textsafe.h"

#define PROGRESS_COLS 8

/* A materialized set-returning call (InitMaterializedSRF from PG 15 on). */
static void
materialize(FunctionCallInfo fcinfo)
{
#if PG_VERSION_NUM >= 150000
	InitMaterializedSRF(fcinfo, 0);
#else
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
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
#endif
}

/*
 * SQL: vstream_fdw._copy_progress(): one row per shard of a running stream
 * that is copying a table (stream_id, keyspace, shard, table_name,
 * rows_copied, started_at, worker_pid, shards).
 */
PG_FUNCTION_INFO_V1(vstream_copy_progress);

Datum
vstream_copy_progress(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	VStreamShardStatus *shards;
	int			i;

	materialize(fcinfo);
	if (VStreamShared == NULL)
		PG_RETURN_VOID();

	shards = palloc(sizeof(VStreamShardStatus) * vstream_max_shards_per_stream);
	for (i = 0; i < VStreamShared->nslots; i++)
	{
		VStreamSlot *slot = &VStreamShared->slots[i];
		int32		stream_id;
		pid_t		pid;
		int			nshards;
		int			live = 0;
		int			j;

		LWLockAcquire(status_slot_lock(i), LW_SHARED);
		if (!slot->in_use || slot->dbid != MyDatabaseId)
		{
			LWLockRelease(status_slot_lock(i));
			continue;
		}
		stream_id = slot->stream_id;
		pid = slot->pid;
		nshards = Min(slot->nshards, vstream_max_shards_per_stream);
		memcpy(shards, slot->shards, sizeof(VStreamShardStatus) * nshards);
		LWLockRelease(status_slot_lock(i));

		for (j = 0; j < nshards; j++)
			if (shards[j].phase != VSTREAM_PHASE_RETIRED)
				live++;
		for (j = 0; j < nshards; j++)
		{
			VStreamShardStatus *sh = &shards[j];
			Datum		values[PROGRESS_COLS];
			bool		nulls[PROGRESS_COLS];

			if (sh->phase == VSTREAM_PHASE_RETIRED || sh->copy_table[0] == '\0')
				continue;
			memset(nulls, false, sizeof(nulls));
			values[0] = Int32GetDatum(stream_id);
			values[1] = CStringGetTextDatum(text_make_valid_cstr(sh->keyspace));
			values[2] = CStringGetTextDatum(text_make_valid_cstr(sh->shard));
			values[3] = CStringGetTextDatum(text_make_valid_cstr(sh->copy_table));
			values[4] = Int64GetDatum((int64) pg_atomic_read_u64(&sh->copy_table_rows));
			values[5] = TimestampTzGetDatum(sh->copy_started);
			nulls[5] = (sh->copy_started == 0);
			values[6] = Int32GetDatum((int32) pid);
			nulls[6] = (pid == 0);
			values[7] = Int32GetDatum(live);
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		}
	}
	pfree(shards);
	PG_RETURN_VOID();
}

/*
 * SQL: vstream_fdw._source_rows(server, source_table): the source's row
 * estimate of a table (all shards), NULL when it cannot be known.
 */
PG_FUNCTION_INFO_V1(vstream_source_rows);

Datum
vstream_source_rows(PG_FUNCTION_ARGS)
{
	char	   *server = NameStr(*PG_GETARG_NAME(0));
	char	   *table = text_to_cstring(PG_GETARG_TEXT_PP(1));
	VStreamServerOptions *opts = options_get_server_by_name(server, GetUserId());
	double		rows;

	if (!mysqlconn_estimate_rows(opts, table, &rows) || rows < 0)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(rows);
}
