/*-------------------------------------------------------------------------
 *
 * copystate.h
 *	  Copy progress per shard and table, re-copies of single tables, and
 *	  the position a copy resumes from.
 *
 * Vitess rebuilds a shard's copy plan whenever a stream resumes with
 * table_p_ks: every table of the plan is copied, from its lastpk if the
 * position names one, from scratch otherwise — and while a table has not
 * started, its changes are not sent.  A table the shard had completed would
 * be copied again from scratch and its deletes in between lost.  So the
 * worker records, per shard, each table whose copy completed and the last
 * key copied (vstream_fdw.table_copy), and a resuming copy names those
 * tables with that key: their changes are then sent and only rows after the
 * key are copied again (applied as upserts).
 *
 * The same mechanism copies one table of a running stream again (a DDL
 * whose effect on existing rows cannot be derived, resync_table(),
 * add_table(), CREATE TABLE at the source): the mirror is truncated and
 * marked 'copying', and every shard's position gets a table_p_ks entry
 * without lastpk for the table; the next session asks VTGate to copy
 * exactly those tables (VStreamFlags.tables_to_copy) while the others keep
 * replicating.  A table is 'active' again once no shard's position names it.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/copystate.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_COPYSTATE_H
#define VSTREAM_COPYSTATE_H

#include "postgres.h"

#include "apply.h"
#include "binlogdata.pb-c.h"
#include "checkpoint.h"

/*
 * At session start (in a transaction): the tables being copied again
 * (tables_to_copy for the request, once the stream's own copy completed)
 * and the resume position: completed tables of shards that will copy get
 * their recorded lastpk.  Changes *vgtid in place (allocated in the
 * current memory context).
 */
extern void copystate_prepare_resume(StreamDef *def, Binlogdata__VGtid *vgtid,
									 List **tables_to_copy);

/* Session tracking. */
extern void copystate_init(ApplyState *state, const Binlogdata__VGtid *vgtid);
extern void copystate_set_copying(ApplyState *state, List *tables);
extern void copystate_vgtid(ApplyState *state, const Binlogdata__VGtid *vgtid,
							const char *keyspace, const char *shard);
extern void copystate_copy_field(ApplyState *state, ApplyMapping *m);
extern void copystate_shard_completed(ApplyState *state, const char *keyspace,
									  const char *shard);

/*
 * Before commit: record completed tables, mark re-copied tables active,
 * and return the VGTID to store (the new one, or the committed one when
 * the transaction has none) with table_p_ks entries for tables whose copy
 * was requested in this transaction; NULL if nothing changes.
 */
extern bytea *copystate_write(ApplyState *state, bytea *pending_vgtid,
							  bytea *committed_vgtid);
extern void copystate_end_txn(ApplyState *state, bool committed);

/* Copy a table again from the next session on (in a transaction). */
extern void recopy_request(ApplyState *state, const char *source_table);
extern bool recopy_pending(ApplyState *state, const char *source_table);

#endif							/* VSTREAM_COPYSTATE_H */
