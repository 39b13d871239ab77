/*-------------------------------------------------------------------------
 *
 * fuzz_vstream.c
 *	  libFuzzer harness: VStreamResponse decoding (protobuf-c), the name
 *	  checks of vstream_next(), row decoding against the FIELD of the same
 *	  table, lastpk rows of VGTIDs, and the VGTID serialize/deserialize
 *	  round trip.  src/vstream.c is included unchanged (its static
 *	  functions are reached that way); fuzz/shim.c stands in for the backend.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  fuzz/fuzz_vstream.c
 *
 *-------------------------------------------------------------------------
 */
#include "../src/vstream.c"

#include "shim.h"

#define TRY(stmt) \
	do { \
		sigjmp_buf	save_; \
		memcpy(&save_, &fuzz_jmp, sizeof(save_)); \
		if (sigsetjmp(fuzz_jmp, 0) == 0) \
			stmt; \
		memcpy(&fuzz_jmp, &save_, sizeof(save_)); \
	} while (0)

static void
decode_image(const Query__Row *row, int nfields)
{
	const char **values = palloc(sizeof(char *) * Max(nfields, 1));
	int		   *lengths = palloc(sizeof(int) * Max(nfields, 1));
	int			i;
	volatile unsigned sum = 0;

	vstream_decode_row(row, nfields, values, lengths);
	/* touch every value: ASan checks the bounds vstream_decode_row computed */
	for (i = 0; i < nfields; i++)
		if (lengths[i] > 0)
			sum += (unsigned char) values[i][0] + (unsigned char) values[i][lengths[i] - 1];
}

static void
check_vgtid(const Binlogdata__VGtid *vgtid)
{
	bytea	   *b;
	Binlogdata__VGtid *back;
	size_t		i,
				j;

	for (i = 0; i < vgtid->n_shard_gtids; i++)
	{
		const Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];

		for (j = 0; j < sg->n_table_p_ks; j++)
		{
			const Query__QueryResult *qr = sg->table_p_ks[j]->lastpk;
			size_t		k;

			if (qr == NULL)
				continue;
			for (k = 0; k < qr->n_rows; k++)
				TRY(decode_image(qr->rows[k], (int) qr->n_fields));
		}
	}
	b = vstream_vgtid_serialize(vgtid);
	back = vstream_vgtid_deserialize(b);
	if (back == NULL || back->n_shard_gtids != vgtid->n_shard_gtids)
		abort();				/* the round trip must be exact */
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (sigsetjmp(fuzz_jmp, 0) == 0)
	{
		ProtobufCAllocator alloc;
		Vtgate__VStreamResponse *resp;
		size_t		i,
					j;

		vstream_pb_allocator(&alloc, CurrentMemoryContext);
		resp = vtgate__vstream_response__unpack(&alloc, size, data);
		if (resp != NULL)
		{
			TRY(check_response_names(resp, "fuzz"));
			for (i = 0; i < resp->n_events; i++)
			{
				Binlogdata__VEvent *ev = resp->events[i];
				Binlogdata__RowEvent *re = ev->row_event;

				if (ev->vgtid)
					TRY(check_vgtid(ev->vgtid));
				if (re == NULL)
					continue;
				/* the latest FIELD of the same table in this response */
				for (j = i; j-- > 0;)
				{
					Binlogdata__FieldEvent *fe = resp->events[j]->field_event;
					size_t		k;

					if (fe == NULL || strcmp(fe->table_name, re->table_name) != 0)
						continue;
					for (k = 0; k < re->n_row_changes; k++)
					{
						if (re->row_changes[k]->before)
							TRY(decode_image(re->row_changes[k]->before, (int) fe->n_fields));
						if (re->row_changes[k]->after)
							TRY(decode_image(re->row_changes[k]->after, (int) fe->n_fields));
					}
					break;
				}
				(void) vstream_bare_table_name(re->table_name);
			}
		}
	}
	fuzz_reset();
	return 0;
}
