/*-------------------------------------------------------------------------
 *
 * position.c
 *	  A stream's position stored per shard.
 *
 * VTGate sends the whole VGTID with every VGTID event, but only one shard's
 * entry changes (vtgate's sendEventsLocked updates the entry of the shard
 * the event came from and sends a copy of the whole VGTID), except at a
 * journal, which replaces shards.  So the position is stored as one row
 * per shard (vstream_fdw.shard_position) and a transaction rewrites only
 * the rows of the shards whose entry changed: the WAL and work per applied
 * transaction do not grow with the number of shards.
 *
 * A serialized binlogdata.VGtid is a sequence of field 1 (shard_gtids)
 * entries: tag 0x0a, a varint length, the serialized binlogdata.ShardGtid.
 * Splitting it into the entries' bytes and joining them back in order is
 * the identity, so the VGTID a stream resumes from is byte for byte the one
 * a single stored VGTID would have been (table_p_ks with their lastpk
 * included).  The entries are kept as received (re-serialized by
 * protobuf-c as before), never rebuilt.
 *
 * Also the SQL-callable helpers: _vgtid_shards() (split, used by
 * create_stream and the 0.2.0 -> 0.3.0 migration) and _vgtid_join().
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/position.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "position.h"
#include "vstream.h"

#define VGTID_SHARD_GTIDS_TAG	0x0a	/* field 1, length-delimited */

static void
bad_vgtid(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("stored VGTID could not be decoded"),
			 errdetail("%s", detail),
			 errhint("Resynchronize the stream with vstream_fdw.resync_stream().")));
}

int
position_split(const char *data, Size len, VgtidPart **parts)
{
	const unsigned char *p = (const unsigned char *) data;
	const unsigned char *end = p + len;
	int			n = 0;
	int			cap = 0;
	VgtidPart  *out = NULL;

	while (p < end)
	{
		uint64		l = 0;
		int			shift = 0;

		if (*p != VGTID_SHARD_GTIDS_TAG)
			bad_vgtid("A field other than shard_gtids was found.");
		p++;
		for (;;)
		{
			if (p >= end || shift > 28)
				bad_vgtid("A length is truncated or too long.");
			l |= (uint64) (*p & 0x7f) << shift;
			shift += 7;
			if ((*p++ & 0x80) == 0)
				break;
		}
		if (l > (uint64) (end - p))
			bad_vgtid("An entry is longer than the VGTID.");
		if (n == cap)
		{
			cap = cap ? cap * 2 : 16;
			out = out ? repalloc(out, sizeof(VgtidPart) * cap) :
				palloc(sizeof(VgtidPart) * cap);
		}
		out[n].data = (const char *) p;
		out[n].len = (uint32) l;
		n++;
		p += l;
	}
	*parts = out;
	return n;
}

bytea *
position_join(const VgtidPart *parts, int n)
{
	Size		total = 0;
	bytea	   *result;
	unsigned char *p;
	int			i;

	if (n == 0)
		return NULL;
	for (i = 0; i < n; i++)
		total += 1 + 5 + parts[i].len;
	result = palloc(VARHDRSZ + total);
	p = (unsigned char *) VARDATA(result);
	for (i = 0; i < n; i++)
	{
		uint32		l = parts[i].len;

		*p++ = VGTID_SHARD_GTIDS_TAG;
		while (l >= 0x80)
		{
			*p++ = (unsigned char) (l | 0x80);
			l >>= 7;
		}
		*p++ = (unsigned char) l;
		memcpy(p, parts[i].data, parts[i].len);
		p += parts[i].len;
	}
	SET_VARSIZE(result, VARHDRSZ + (p - (unsigned char *) VARDATA(result)));
	return result;
}

/*
 * The keyspace (field 1) and shard (field 2) of a serialized ShardGtid,
 * pointing into it, without decoding the rest; false if it does not parse
 * (the caller then decodes it fully).
 */
static bool
scan_part_names(const VgtidPart *part, const char **ks, uint32 *kslen,
				const char **sh, uint32 *shlen)
{
	const unsigned char *p = (const unsigned char *) part->data;
	const unsigned char *end = p + part->len;

	*ks = *sh = "";
	*kslen = *shlen = 0;
	while (p < end)
	{
		uint64		v[2] = {0, 0};
		int			k;

		/* the tag, then for a varint or a length its value */
		for (k = 0; k < 2; k++)
		{
			int			shift = 0;

			for (;;)
			{
				if (p >= end || shift > 63)
					return false;
				v[k] |= (uint64) (*p & 0x7f) << shift;
				shift += 7;
				if ((*p++ & 0x80) == 0)
					break;
			}
			if (k == 0 && (v[0] & 7) != 0 && (v[0] & 7) != 2)
				break;
		}
		switch (v[0] & 7)
		{
			case 0:				/* varint: read above */
				break;
			case 2:				/* length-delimited */
				if (v[1] > (uint64) (end - p))
					return false;
				if ((v[0] >> 3) == 1)
				{
					*ks = (const char *) p;
					*kslen = (uint32) v[1];
				}
				else if ((v[0] >> 3) == 2)
				{
					*sh = (const char *) p;
					*shlen = (uint32) v[1];
				}
				p += v[1];
				break;
			case 1:
				if (end - p < 8)
					return false;
				p += 8;
				break;
			case 5:
				if (end - p < 4)
					return false;
				p += 4;
				break;
			default:
				return false;
		}
	}
	return true;
}

bool
position_same_shard(const VgtidPart *a, const VgtidPart *b)
{
	const char *ks1,
			   *sh1,
			   *ks2,
			   *sh2;
	uint32		kl1,
				sl1,
				kl2,
				sl2;
	char	   *k1,
			   *s1,
			   *k2,
			   *s2;
	bool		same;

	if (scan_part_names(a, &ks1, &kl1, &sh1, &sl1) &&
		scan_part_names(b, &ks2, &kl2, &sh2, &sl2))
		return kl1 == kl2 && sl1 == sl2 &&
			memcmp(ks1, ks2, kl1) == 0 && memcmp(sh1, sh2, sl1) == 0;
	position_part_names(a, &k1, &s1);
	position_part_names(b, &k2, &s2);
	same = strcmp(k1, k2) == 0 && strcmp(s1, s2) == 0;
	pfree(k1);
	pfree(s1);
	pfree(k2);
	pfree(s2);
	return same;
}

void
position_part_names(const VgtidPart *part, char **keyspace, char **shard)
{
	ProtobufCAllocator alloc;
	Binlogdata__ShardGtid *sg;

	vstream_pb_allocator(&alloc, CurrentMemoryContext);
	sg = binlogdata__shard_gtid__unpack(&alloc, part->len,
										(const uint8 *) part->data);
	if (sg == NULL)
		bad_vgtid("A shard's entry could not be decoded.");
	*keyspace = pstrdup(sg->keyspace ? sg->keyspace : "");
	*shard = pstrdup(sg->shard ? sg->shard : "");
	binlogdata__shard_gtid__free_unpacked(sg, &alloc);
}

/*
 * vstream_fdw._vgtid_shards(vgtid bytea) -> SETOF (ord, keyspace, shard,
 * shard_gtid): the rows of vstream_fdw.shard_position holding a VGTID.
 */
PG_FUNCTION_INFO_V1(vstream_vgtid_shards);
Datum
vstream_vgtid_shards(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	VgtidPart  *parts;
	int			n;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	n = position_split(VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b), &parts);
	for (i = 0; i < n; i++)
	{
		Datum		values[4];
		bool		nulls[4] = {false, false, false, false};
		char	   *ks;
		char	   *sh;
		bytea	   *g = palloc(VARHDRSZ + parts[i].len);

		position_part_names(&parts[i], &ks, &sh);
		SET_VARSIZE(g, VARHDRSZ + parts[i].len);
		memcpy(VARDATA(g), parts[i].data, parts[i].len);
		values[0] = Int32GetDatum(i);
		values[1] = CStringGetTextDatum(ks);
		values[2] = CStringGetTextDatum(sh);
		values[3] = PointerGetDatum(g);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * vstream_fdw._vgtid_join(shard_gtids bytea[]) -> bytea: the VGTID made of
 * these shards' entries, in order; NULL for none.
 */
PG_FUNCTION_INFO_V1(vstream_vgtid_join);
Datum
vstream_vgtid_join(PG_FUNCTION_ARGS)
{
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *elems;
	bool	   *enulls;
	int			n;
	int			i;
	int			k = 0;
	VgtidPart  *parts;
	bytea	   *result;

	deconstruct_array(arr, BYTEAOID, -1, false, TYPALIGN_INT,
					  &elems, &enulls, &n);
	parts = palloc(sizeof(VgtidPart) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		bytea	   *g;

		if (enulls[i])
			continue;
		g = DatumGetByteaPP(elems[i]);
		parts[k].data = VARDATA_ANY(g);
		parts[k].len = VARSIZE_ANY_EXHDR(g);
		k++;
	}
	result = position_join(parts, k);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(result);
}
