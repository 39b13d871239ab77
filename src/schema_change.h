/*-------------------------------------------------------------------------
 *
 * schema_change.h
 *	  DDL events: what a source schema change does to the mirror.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/schema_change.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_SCHEMA_CHANGE_H
#define VSTREAM_SCHEMA_CHANGE_H

#include "postgres.h"

#include "apply.h"

/*
 * Apply a DDL event of a shard to the mirrors, in the current transaction,
 * and record it in vstream_fdw.schema_history.  "nshards": shards of the
 * keyspace in the stream.  May ask for a new session (state->restart_session)
 * and for tables to be copied again (copystate.h).
 */
extern void schema_ddl_event(ApplyState *state, const char *keyspace,
							 const char *shard, const char *position,
							 const char *statement, int nshards);

/* Is a FIELD the sign of a change the stream did not parse? */
extern bool schema_field_needs_recopy(ApplyState *state, ApplyMapping *m);

#endif							/* VSTREAM_SCHEMA_CHANGE_H */
