/*-------------------------------------------------------------------------
 *
 * reshard.h
 *	  Resharding seen by a stream worker: JOURNAL events, the switch of the
 *	  checkpoint to the new shards, the reshard history, and the error of a
 *	  checkpoint that names shards which no longer exist.
 *
 * The worker asks VTGate for include_reshard_journal_events: each source
 * shard taking part in a Reshard cut-over (SwitchTraffic, ReverseTraffic)
 * sends [BEGIN, JOURNAL, VGTID, COMMIT]; once every participant's journal
 * has arrived VTGate continues with the journal's new shards at the
 * journal's positions.  The worker records each JOURNAL in
 * vstream_fdw.reshard_journal in the transaction of its group, keeps the
 * participant's checkpoint position before the journal until the last
 * participant's journal arrives (so that a restart in between replays every
 * journal, as VTGate needs), and then, in the same transaction, replaces the
 * participants by the new shards in the checkpoint.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/reshard.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_RESHARD_H
#define VSTREAM_RESHARD_H

#include "postgres.h"

#include "status.h"
#include "vstream.h"

/* A JOURNAL event, inside the open transaction of its group. */
extern void reshard_journal_event(int32 stream_id, const char *server_name,
								  VStreamSlot *slot,
								  const Binlogdata__VEvent *ev);

/*
 * After a VGTID event was taken as the pending checkpoint (serialized in
 * *pending, allocated in cxt): rewrites it when it belongs to a journal
 * group (see above).  Also retires, in the status slot, the shards of a
 * switch committed before.
 */
extern void reshard_vgtid_event(int32 stream_id, const char *server_name,
								VStreamSlot *slot, bytea **pending,
								MemoryContext cxt);

/*
 * A session starts from VGTID (NULL: from the start): live status entries of
 * shards it does not name (left by a resync or a reshard) are retired.
 */
extern void reshard_session_start(VStreamSlot *slot, const Binlogdata__VGtid *vgtid);

/*
 * Classify a session error (outside any transaction): returns whether it is
 * transient.  "shard provided in VGTID, ..., not found" (the old shards
 * were deleted by Reshard Complete before the stream switched) is not: the
 * error's detail then says what to do, and the keyspace's shards are
 * retired from the status slot.  Resets the journal state of the session.
 */
extern bool reshard_classify_error(int32 stream_id, const char *server_name,
								   VStreamSlot *slot, ErrorData *edata,
								   bool transient);

#endif							/* VSTREAM_RESHARD_H */
