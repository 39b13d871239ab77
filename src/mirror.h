/*-------------------------------------------------------------------------
 *
 * mirror.h
 *	  The mirror tables a stream owns: names, catalog, and their DDL.
 *
 * A stream records every table it creates in vstream_fdw.mirror (source
 * table, mirror table name, state) and the name of the mirror column of
 * every source column in vstream_fdw.mirror_column.  It writes, truncates,
 * alters and drops only those tables; a table in the way of a new mirror is
 * an error, never taken over.
 *
 * Names: MySQL allows 64 characters, PostgreSQL keeps 63 bytes.  A source
 * name that fits is used as is; a longer one is cut at a character boundary
 * and given a suffix derived from a hash of the whole name, so that the
 * mapping is deterministic and two long names with the same beginning do
 * not collide.  The mapping is recorded, so it is never recomputed
 * differently.
 *
 * The DDL functions run SQL through SPI in the caller's transaction (the one
 * applying the source event that caused the change); the caller must have
 * released its executor state on the mirror (apply_close_rels) first.
 * Everything here is the "how" of a schema change; schema_change.c and
 * schema.c decide "what".
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/mirror.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_MIRROR_H
#define VSTREAM_MIRROR_H

#include "postgres.h"

#include "nodes/pg_list.h"
#include "utils/hsearch.h"

#include "checkpoint.h"
#include "query.pb-c.h"

typedef enum MirrorState
{
	MIRROR_ACTIVE,
	MIRROR_COPYING,				/* being copied again */
	MIRROR_DETACHED				/* no longer written by the stream */
} MirrorState;

/* One source column name and the mirror column it goes to. */
typedef struct MirrorColumn
{
	char	   *source;			/* source column name */
	char	   *column;			/* mirror column name; NULL = dropped */
} MirrorColumn;

/* A mirror table of the stream (cached for the session, see mirror_get). */
typedef struct MirrorTable
{
	char		key[2 * NAMEDATALEN + 8];	/* source table name (hash key) */
	bool		exists;			/* a catalog row exists */
	char	   *source_table;
	char	   *table_name;		/* mirror table in the target schema */
	MirrorState state;
	List	   *columns;		/* MirrorColumn * */
} MirrorTable;

/* Does a source table belong to Vitess itself (online DDL artifacts)? */
extern bool mirror_is_internal_table(const char *source_table);

/* The PostgreSQL name for a source name (table or column); palloc'd. */
extern char *mirror_pg_name(const char *source_name);

/* The prefix of the columns a stream adds to its mirrors (shape.c). */
#define VSTREAM_RESERVED_PREFIX "_vstream_"
/* The soft-delete flag column (stream option soft_delete). */
#define VSTREAM_DELETED_COLUMN VSTREAM_RESERVED_PREFIX "deleted"

/* The mirror column name of a source column (never a reserved one). */
extern char *mirror_column_pg_name(const char *source_name);

/* Session cache. */
extern void mirror_cache_init(MemoryContext cxt);
extern void mirror_cache_reset(void);
extern void mirror_cache_drop(void);

/*
 * The stream's mirror of a source table, from the cache or the catalog (in
 * a transaction).  Never NULL: exists = false when the catalog has no
 * active or copying row for it.
 */
extern MirrorTable *mirror_get(int32 stream_id, const char *source_table);

extern bool mirror_was_detached(int32 stream_id, const char *source_table);

/* Column helpers on a cached MirrorTable. */
extern MirrorColumn *mirror_find_column(MirrorTable *mt, const char *source);
extern void mirror_map_column(int32 stream_id, MirrorTable *mt,
							  const char *source, const char *column);

/* Register a (new) mirror of a source table in the catalog. */
extern void mirror_register(int32 stream_id, MirrorTable *mt,
							const char *table_name, MirrorState state);
extern void mirror_set_state(int32 stream_id, MirrorTable *mt, MirrorState state);

/*
 * Fail unless "table_name" in the target schema is free or already the
 * stream's (a table in the way is an error with a hint).
 */
extern void mirror_check_free(StreamDef *def, const char *table_name,
							  const char *source_table);

/* DDL on a mirror (SPI, current transaction). */
extern Oid	mirror_schema_oid(StreamDef *def);
extern Oid	mirror_relid(StreamDef *def, MirrorTable *mt);
extern void mirror_create(StreamDef *def, MirrorTable *mt, const char *keyspace,
						  Query__Field **fields, int nfields);
extern bool mirror_add_column(StreamDef *def, MirrorTable *mt, const char *source,
							  const char *pgtype, const char *default_literal);
extern void mirror_drop_column(StreamDef *def, MirrorTable *mt, const char *source);
extern bool mirror_rename_column(StreamDef *def, MirrorTable *mt,
								 const char *old_source, const char *new_source);
extern void mirror_retype_column(StreamDef *def, MirrorTable *mt,
								 const char *column, const char *pgtype,
								 bool keep_values);
extern bool mirror_try_retype(StreamDef *def, MirrorTable *mt,
							  const char *column, const char *pgtype);
extern bool mirror_set_primary_key(StreamDef *def, MirrorTable *mt, List *columns);
extern bool mirror_same_names(List *a, List *b);
extern List *mirror_primary_key(StreamDef *def, MirrorTable *mt);
extern void mirror_truncate(StreamDef *def, MirrorTable *mt);
extern bool mirror_is_empty(StreamDef *def, MirrorTable *mt);
extern void mirror_rename_table(StreamDef *def, MirrorTable *mt,
								const char *new_source);
extern char *mirror_detach(StreamDef *def, MirrorTable *mt, bool drop);

/* Schema history (current transaction). */
extern void mirror_record_history(int32 stream_id, const char *keyspace,
								  const char *shard, const char *position,
								  const char *source_table,
								  const char *statement, const char *action);

/* Run one SQL statement through SPI (current transaction). */
extern void mirror_spi_exec(const char *sql);

#endif							/* VSTREAM_MIRROR_H */
