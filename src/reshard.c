/*-------------------------------------------------------------------------
 *
 * reshard.c
 *	  Resharding seen by a stream worker (see reshard.h for the protocol).
 *
 * State of the running session, kept here because a journal group spans
 * three events: the JOURNAL decides (after recording it) whether this was
 * the last participant's journal; the VGTID that follows is then rewritten
 * (kept at the committed position, or switched to the new shards); the
 * worker's COMMIT writes it with the rows of the transaction.  The shards
 * replaced by a switch are retired from the status slot at the next VGTID,
 * i.e. after the switch committed.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/reshard.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "reshard.h"

typedef enum JournalState
{
	JOURNAL_NONE = 0,
	JOURNAL_PARTIAL,			/* other participants' journals still due */
	JOURNAL_SWITCH				/* last journal: switch at its VGTID */
} JournalState;

static JournalState journal_state = JOURNAL_NONE;
static MemoryContext reshard_cxt = NULL;
static Binlogdata__Journal *switch_journal = NULL;	/* in reshard_cxt */
static List *retire_list = NIL; /* "keyspace/shard", in reshard_cxt */
static int64 switched_id = 0;	/* journal of the last switch */

static MemoryContext
get_reshard_cxt(void)
{
	if (reshard_cxt == NULL)
		reshard_cxt = AllocSetContextCreate(TopMemoryContext, "vstream_fdw reshard",
											ALLOCSET_SMALL_SIZES);
	return reshard_cxt;
}

static void
reset_state(void)
{
	journal_state = JOURNAL_NONE;
	switch_journal = NULL;
	retire_list = NIL;
	if (reshard_cxt)
		MemoryContextReset(reshard_cxt);
}

static void
spi_run(const char *sql, int nargs, Oid *argtypes, Datum *values,
		const char *nulls, int expected)
{
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
	if (rc != expected)
		elog(ERROR, "SPI_execute_with_args failed for \"%s\": %s", sql,
			 SPI_result_code_string(rc));
	SPI_finish();
}

static char *
ks_shard(const char *keyspace, const char *shard)
{
	return psprintf("%s/%s", keyspace, shard);
}

/* "keyspace/shard" text[] of a journal's participants */
static Datum
participants_array(const Binlogdata__Journal *j)
{
	Datum	   *elems = palloc(sizeof(Datum) * Max(j->n_participants, 1));
	size_t		i;

	for (i = 0; i < j->n_participants; i++)
		elems[i] = CStringGetTextDatum(ks_shard(j->participants[i]->keyspace,
												j->participants[i]->shard));
	return PointerGetDatum(construct_array(elems, (int) j->n_participants,
										   TEXTOID, -1, false, TYPALIGN_INT));
}

/* the journal's new shards and positions, as vgtid_to_jsonb renders a VGTID */
static Datum
shard_gtids_jsonb(const Binlogdata__Journal *j)
{
	Binlogdata__VGtid v = BINLOGDATA__VGTID__INIT;

	v.n_shard_gtids = j->n_shard_gtids;
	v.shard_gtids = j->shard_gtids;
	return JsonbPGetDatum(vstream_vgtid_to_jsonb(&v));
}

static char *
shard_list(size_t n, Binlogdata__ShardGtid **sgs, Binlogdata__KeyspaceShard **kss)
{
	StringInfoData buf;
	size_t		i;

	initStringInfo(&buf);
	for (i = 0; i < n; i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "",
						 sgs ? ks_shard(sgs[i]->keyspace, sgs[i]->shard)
						 : ks_shard(kss[i]->keyspace, kss[i]->shard));
	return buf.data;
}

static bool
is_participant(const Binlogdata__Journal *j, const char *keyspace, const char *shard)
{
	size_t		i;

	for (i = 0; i < j->n_participants; i++)
		if (strcmp(j->participants[i]->keyspace, keyspace) == 0 &&
			strcmp(j->participants[i]->shard, shard) == 0)
			return true;
	return false;
}

/*
 * The VGTID without the journal's participants, followed by the journal's
 * new shards (what VTGate itself does, vstream_manager.go getJournalEvent).
 */
static Binlogdata__VGtid *
switched_vgtid(const Binlogdata__VGtid *old, const Binlogdata__Journal *j)
{
	Binlogdata__VGtid *v = palloc(sizeof(Binlogdata__VGtid));
	size_t		i,
				n = 0;

	binlogdata__vgtid__init(v);
	v->shard_gtids = palloc(sizeof(Binlogdata__ShardGtid *) *
							(old->n_shard_gtids + j->n_shard_gtids + 1));
	for (i = 0; i < old->n_shard_gtids; i++)
		if (!is_participant(j, old->shard_gtids[i]->keyspace, old->shard_gtids[i]->shard))
			v->shard_gtids[n++] = old->shard_gtids[i];
	for (i = 0; i < j->n_shard_gtids; i++)
		v->shard_gtids[n++] = j->shard_gtids[i];
	v->n_shard_gtids = n;
	return v;
}

static void
retire_pending(VStreamSlot *slot)
{
	ListCell   *lc;

	if (retire_list == NIL)
		return;
	foreach(lc, retire_list)
	{
		char	   *ks = pstrdup(lfirst(lc));
		char	   *slash = strchr(ks, '/');

		*slash = '\0';
		status_retire_shard(slot, ks, slash + 1);
	}
	retire_list = NIL;
	if (journal_state == JOURNAL_NONE)
		MemoryContextReset(get_reshard_cxt());
}

void
reshard_journal_event(int32 stream_id, const char *server_name,
					  VStreamSlot *slot, const Binlogdata__VEvent *ev)
{
	const Binlogdata__Journal *j = ev->journal;
	Oid			argtypes[8] = {INT4OID, INT8OID, TEXTOID, TEXTOID, TEXTOID,
	TEXTARRAYOID, JSONBOID, TEXTOID};
	Datum		values[8];
	int64		received = 0;
	bool		isnull;

	retire_pending(slot);
	if (j == NULL)
		return;
	if (j->id == switched_id)
	{
		/* VTGate sends each participant's journal once; be safe anyway */
		ereport(LOG,
				(errmsg("vstream_fdw stream of server \"%s\": resharding journal " INT64_FORMAT " from shard %s/%s again, after the switch: ignored",
						server_name, j->id, ev->keyspace, ev->shard)));
		return;
	}
	if (j->migration_type != BINLOGDATA__MIGRATION_TYPE__SHARDS)
	{
		/* VTGate forwards SHARDS journals only; a TABLES one is just logged */
		ereport(LOG,
				(errmsg("vstream_fdw stream of server \"%s\": MoveTables journal " INT64_FORMAT " from shard %s/%s ignored",
						server_name, j->id, ev->keyspace, ev->shard)));
		return;
	}

	values[0] = Int32GetDatum(stream_id);
	values[1] = Int64GetDatum(j->id);
	values[2] = CStringGetTextDatum(ev->keyspace ? ev->keyspace : "");
	values[3] = CStringGetTextDatum(ev->shard ? ev->shard : "");
	values[4] = CStringGetTextDatum(j->local_position ? j->local_position : "");
	values[5] = participants_array(j);
	values[6] = shard_gtids_jsonb(j);
	values[7] = CStringGetTextDatum(j->n_source_workflows > 0 ? j->source_workflows[0] : "");
	spi_run("INSERT INTO vstream_fdw.reshard_journal AS r "
			"(stream_id, journal_id, keyspace, shard, local_position, participants, "
			" shard_gtids, workflow) "
			"VALUES ($1, $2, $3, $4, $5, $6, $7, nullif($8, '')) "
			"ON CONFLICT (stream_id, journal_id, keyspace, shard) DO UPDATE "
			"SET local_position = excluded.local_position, received_at = now()",
			8, argtypes, values, NULL, SPI_OK_INSERT);

	/* journals of this id received so far from its participants */
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* not read-only: the snapshot must see the row just inserted */
	if (SPI_execute_with_args("SELECT count(*) FROM vstream_fdw.reshard_journal r "
							  "WHERE r.stream_id = $1 AND r.journal_id = $2 "
							  "AND r.keyspace || '/' || r.shard = ANY ($6)",
							  6, argtypes, values, NULL, false, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
		received = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0],
											   SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();

	if (received >= (int64) j->n_participants)
	{
		MemoryContext old = MemoryContextSwitchTo(get_reshard_cxt());
		Binlogdata__Journal *copy = palloc(sizeof(Binlogdata__Journal));
		Binlogdata__VGtid tmp = BINLOGDATA__VGTID__INIT;
		Binlogdata__VGtid *sgs;
		size_t		i;

		binlogdata__journal__init(copy);
		copy->id = j->id;
		copy->migration_type = j->migration_type;
		copy->n_participants = j->n_participants;
		copy->participants = palloc(sizeof(Binlogdata__KeyspaceShard *) * Max(j->n_participants, 1));
		for (i = 0; i < j->n_participants; i++)
		{
			copy->participants[i] = palloc(sizeof(Binlogdata__KeyspaceShard));
			binlogdata__keyspace_shard__init(copy->participants[i]);
			copy->participants[i]->keyspace = pstrdup(j->participants[i]->keyspace);
			copy->participants[i]->shard = pstrdup(j->participants[i]->shard);
		}
		tmp.n_shard_gtids = j->n_shard_gtids;
		tmp.shard_gtids = j->shard_gtids;
		sgs = vstream_vgtid_copy(&tmp);
		copy->n_shard_gtids = sgs->n_shard_gtids;
		copy->shard_gtids = sgs->shard_gtids;
		MemoryContextSwitchTo(old);
		switch_journal = copy;
		journal_state = JOURNAL_SWITCH;
	}
	else
		journal_state = JOURNAL_PARTIAL;

	ereport(LOG,
			(errmsg("vstream_fdw stream of server \"%s\": resharding journal " INT64_FORMAT " from shard %s/%s (%lld of %zu participants)",
					server_name, j->id, ev->keyspace, ev->shard,
					(long long) received, j->n_participants),
			 errdetail("Participants %s; new shards %s.",
					   shard_list(j->n_participants, NULL, j->participants),
					   shard_list(j->n_shard_gtids, j->shard_gtids, NULL))));
}

void
reshard_vgtid_event(int32 stream_id, const char *server_name,
					VStreamSlot *slot, bytea **pending, MemoryContext cxt)
{
	Binlogdata__VGtid *old;
	Binlogdata__VGtid *v;
	Binlogdata__Journal *j = switch_journal;
	MemoryContext oldcxt;
	Oid			argtypes[2] = {INT4OID, INT8OID};
	Datum		values[2];
	size_t		i;

	if (journal_state == JOURNAL_NONE)
	{
		retire_pending(slot);
		return;
	}
	if (journal_state == JOURNAL_PARTIAL || *pending == NULL)
	{
		/*
		 * Not every participant has reached the journal: keep this shard's
		 * committed position before it, so that a restart replays this
		 * journal too (VTGate switches only after it saw all of them).
		 */
		*pending = NULL;
		journal_state = JOURNAL_NONE;
		return;
	}

	/* the last journal: the checkpoint switches to the new shards */
	old = vstream_vgtid_deserialize(*pending);
	v = switched_vgtid(old, j);
	oldcxt = MemoryContextSwitchTo(cxt);
	*pending = vstream_vgtid_serialize(v);
	MemoryContextSwitchTo(oldcxt);

	values[0] = Int32GetDatum(stream_id);
	values[1] = Int64GetDatum(j->id);
	spi_run("UPDATE vstream_fdw.reshard_journal SET switched_at = now() "
			"WHERE stream_id = $1 AND journal_id = $2",
			2, argtypes, values, NULL, SPI_OK_UPDATE);
	/* the new shards start past their copy phase */
	for (i = 0; i < j->n_shard_gtids; i++)
	{
		Oid			t3[3] = {INT4OID, TEXTOID, TEXTOID};
		Datum		v3[3];

		v3[0] = Int32GetDatum(stream_id);
		v3[1] = CStringGetTextDatum(j->shard_gtids[i]->keyspace);
		v3[2] = CStringGetTextDatum(j->shard_gtids[i]->shard);
		spi_run("INSERT INTO vstream_fdw.shard_state (stream_id, keyspace, shard, copy_completed) "
				"VALUES ($1, $2, $3, true) ON CONFLICT (stream_id, keyspace, shard) "
				"DO UPDATE SET copy_completed = true",
				3, t3, v3, NULL, SPI_OK_INSERT);
	}

	ereport(LOG,
			(errmsg("vstream_fdw stream of server \"%s\" switches from shards %s to %s (resharding journal " INT64_FORMAT ")",
					server_name,
					shard_list(j->n_participants, NULL, j->participants),
					shard_list(j->n_shard_gtids, j->shard_gtids, NULL), j->id)));

	oldcxt = MemoryContextSwitchTo(get_reshard_cxt());
	retire_list = NIL;
	for (i = 0; i < j->n_participants; i++)
		retire_list = lappend(retire_list, ks_shard(j->participants[i]->keyspace,
													j->participants[i]->shard));
	MemoryContextSwitchTo(oldcxt);
	switched_id = j->id;
	switch_journal = NULL;
	journal_state = JOURNAL_NONE;
}

void
reshard_session_start(VStreamSlot *slot, const Binlogdata__VGtid *vgtid)
{
	int			i;
	List	   *gone = NIL;
	ListCell   *lc;

	reset_state();
	for (i = 0; i < slot->nshards; i++)
	{
		VStreamShardStatus *sh = &slot->shards[i];
		bool		named = false;
		size_t		k;

		if (sh->phase == VSTREAM_PHASE_RETIRED)
			continue;
		for (k = 0; vgtid && k < vgtid->n_shard_gtids && !named; k++)
			named = strcmp(vgtid->shard_gtids[k]->keyspace, sh->keyspace) == 0 &&
				strcmp(vgtid->shard_gtids[k]->shard, sh->shard) == 0;
		if (!named)
			gone = lappend(gone, sh);
	}
	foreach(lc, gone)
	{
		VStreamShardStatus *sh = lfirst(lc);

		status_retire_shard(slot, sh->keyspace, sh->shard);
	}
	list_free(gone);
}

/* ---- errors ---- */

#define MISSING_SHARD_PREFIX "shard provided in VGTID, "

/*
 * The shard named by VTGate's "shard provided in VGTID, S, not found in the K
 * keyspace"; NULL for other messages.
 */
static char *
missing_shard(const char *message, char **keyspace)
{
	const char *p;
	const char *end;
	const char *ks;

	if (message == NULL || (p = strstr(message, MISSING_SHARD_PREFIX)) == NULL)
		return NULL;
	p += strlen(MISSING_SHARD_PREFIX);
	end = strstr(p, ", not found in the ");
	if (end == NULL)
		return NULL;
	ks = end + strlen(", not found in the ");
	*keyspace = pnstrdup(ks, strcspn(ks, " "));
	return pnstrdup(p, end - p);
}

/*
 * What the reshard history says about a shard that no longer exists, for the
 * error's detail.  Runs in its own transaction.  The worker never restarts
 * from a journal recorded earlier: after ReverseTraffic and another
 * SwitchTraffic that would replay the new shards from an old cut-over.
 */
static void
explain_missing_shard(int32 stream_id, const char *keyspace, const char *shard,
					  StringInfo why)
{
	Oid			argtypes[2] = {INT4OID, TEXTOID};
	Datum		values[2];
	MemoryContext outer = CurrentMemoryContext;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	values[0] = Int32GetDatum(stream_id);
	values[1] = CStringGetTextDatum(ks_shard(keyspace, shard));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	/* the latest journal naming the shard, and how many participants sent it */
	if (SPI_execute_with_args("SELECT r.journal_id, cardinality(r.participants), "
							  "       (SELECT count(*) FROM vstream_fdw.reshard_journal x "
							  "         WHERE x.stream_id = r.stream_id AND x.journal_id = r.journal_id "
							  "           AND x.keyspace || '/' || x.shard = ANY (r.participants)), "
							  "       r.switched_at IS NOT NULL "
							  "  FROM vstream_fdw.reshard_journal r "
							  " WHERE r.stream_id = $1 AND $2 = ANY (r.participants) "
							  " ORDER BY r.received_at DESC LIMIT 1",
							  2, argtypes, values, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		int32		nparts = DatumGetInt32(SPI_getbinval(tup, desc, 2, &isnull));
		int64		received = DatumGetInt64(SPI_getbinval(tup, desc, 3, &isnull));
		bool		done = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));

		if (received < nparts)
			appendStringInfo(why, "The stream had received the resharding journal " INT64_FORMAT " from %lld of its %d participants before the old shards were deleted.",
							 id, (long long) received, nparts);
		else if (done)
			appendStringInfo(why, "The stream already switched at resharding journal " INT64_FORMAT "; the shard came back (ReverseTraffic) and was deleted again before the stream read the next journal.", id);
		else
			appendStringInfo(why, "The stream had received every journal of resharding journal " INT64_FORMAT " but not switched.", id);
	}
	else
		appendStringInfoString(why, "The stream received no resharding journal naming this shard before the old shards were deleted.");
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	MemoryContextSwitchTo(outer);
}

bool
reshard_classify_error(int32 stream_id, const char *server_name,
					   VStreamSlot *slot, ErrorData *edata, bool transient)
{
	char	   *keyspace = NULL;
	char	   *shard;
	StringInfoData why;

	reset_state();
	shard = missing_shard(edata->message, &keyspace);
	if (shard == NULL)
		return transient;

	initStringInfo(&why);
	explain_missing_shard(stream_id, keyspace, shard, &why);

	/*
	 * The live status of the keyspace's shards is over: the stream needs
	 * resync_stream or a new start, which bring their own shards.
	 */
	if (slot)
	{
		int			i;

		for (i = 0; i < slot->nshards; i++)
			if (strcmp(slot->shards[i].keyspace, keyspace) == 0)
				status_retire_shard(slot, keyspace, slot->shards[i].shard);
	}

	/*
	 * Events of the old shard between the checkpoint and the journal may be
	 * missing: nothing the worker can do by itself.  Retrying would get the
	 * same answer forever.
	 */
	edata->message = psprintf("shard %s/%s of the stream's checkpoint no longer exists: the keyspace was resharded and the old shards deleted (Reshard Complete) before the stream read the resharding journal",
							  keyspace, shard);
	edata->detail = psprintf("%s Copy the keyspace again with SELECT vstream_fdw.resync_stream('%s'). "
							 "To keep the mirror instead, read the journal on an old shard's primary "
							 "(SELECT val FROM _vt.resharding_journal ORDER BY id DESC LIMIT 1 in its MariaDB/MySQL): "
							 "if its local_position equals that shard's position in vstream_fdw.stream_status, "
							 "recreate the stream from the journal's shard_gtids with vstream_fdw.drop_stream('%s') "
							 "and vstream_fdw.create_stream('%s', start => '[{\"keyspace\":..., \"shard\":..., \"gtid\":...}, ...]') "
							 "(the new shards plus the stream's other shards).",
							 why.data, server_name, server_name, server_name);
	edata->sqlerrcode = ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE;
	ereport(WARNING,
			(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			 errmsg("vstream_fdw stream of server \"%s\": %s", server_name, edata->message),
			 errdetail("%s", why.data),
			 errhint("Copy the keyspace again with vstream_fdw.resync_stream('%s'), or recreate the stream from the journal's positions (see last_error in vstream_fdw.stream_status).",
					 server_name)));
	return false;
}
