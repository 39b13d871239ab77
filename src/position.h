/*-------------------------------------------------------------------------
 *
 * position.h
 *	  A stream's position stored per shard: a serialized binlogdata.VGtid
 *	  split into its shards' serialized binlogdata.ShardGtid and joined
 *	  back, byte for byte.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/position.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_POSITION_H
#define VSTREAM_POSITION_H

#include "postgres.h"

/* One shard of a serialized VGTID: its serialized ShardGtid, in place. */
typedef struct VgtidPart
{
	const char *data;
	uint32		len;
} VgtidPart;

/*
 * Split a serialized VGTID (the bytes of a bytea, without header) into its
 * shards; returns how many, *parts palloc'd (NULL when none).  ERROR on a
 * malformed VGTID.
 */
extern int	position_split(const char *data, Size len, VgtidPart **parts);

/* Join shards (in order) into a serialized VGTID; NULL when n == 0. */
extern bytea *position_join(const VgtidPart *parts, int n);

/* keyspace and shard of a serialized ShardGtid (palloc'd) */
/* Do two entries name the same keyspace and shard? */
extern bool position_same_shard(const VgtidPart *a, const VgtidPart *b);

extern void position_part_names(const VgtidPart *part, char **keyspace,
								char **shard);

#endif							/* VSTREAM_POSITION_H */
