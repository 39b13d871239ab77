/*-------------------------------------------------------------------------
 *
 * copyindex.h
 *	  Primary-key index of an empty mirror built after its copy, as
 *	  pg_restore does (see copyindex.c).
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/copyindex.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_COPYINDEX_H
#define VSTREAM_COPYINDEX_H

#include "postgres.h"

#include "apply.h"
#include "binlogdata.pb-c.h"

/* vstream_fdw.copy_defer_index */
extern bool vstream_copy_defer_index;

extern void copyindex_define_gucs(void);

/* At session start, in a transaction: build what an earlier one left. */
extern void copyindex_session_start(ApplyState *state);

/* A shard's copy FIELD for the table of "m" (in a transaction). */
extern void copyindex_copy_field(ApplyState *state, ApplyMapping *m);

/* COPY_COMPLETED of a shard. */
extern void copyindex_shard_completed(ApplyState *state, const char *keyspace,
									  const char *shard);

/* Before a ROW event is applied: build the index if the event needs it. */
extern void copyindex_before_rows(ApplyState *state, ApplyMapping *m,
								  Binlogdata__RowEvent *ev, bool copying);

/* Build every deferred index now (before a DDL on a mirror). */
extern void copyindex_finish_all(ApplyState *state);

/* Build the indexes whose copies ended (at commit, rels closed). */
extern void copyindex_finish_ended(ApplyState *state);

/*
 * The primary-key index of "rel" when it is not valid: deferred by this
 * session, or left by an earlier one (then built now).  InvalidOid if the
 * relation has no such index.
 */
extern Oid	copyindex_pkindex(ApplyState *state, Relation rel);

#endif							/* VSTREAM_COPYINDEX_H */
