/*-------------------------------------------------------------------------
 *
 * fuzz_grpc.c
 *	  libFuzzer harness: gRPC message extraction.  The input is cut into
 *	  DATA frames (sizes from the input itself) that go through grpc.c's
 *	  on_data_chunk() (buffer compaction and growth up to max_message_size)
 *	  and extract_message() (the 5-byte prefix, the compressed flag, the
 *	  length limit), exactly as nghttp2 would call them.  src/grpc.c is
 *	  included unchanged; fuzz/shim.c stands in for the backend.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  fuzz/fuzz_grpc.c
 *
 *-------------------------------------------------------------------------
 */
#include "../src/grpc.c"

#include "shim.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	GrpcCall	call;

	memset(&call, 0, sizeof(call));
	if (sigsetjmp(fuzz_jmp, 0) == 0)
	{
		size_t		off = 0;
		uint8		limit_sel = size > 0 ? data[0] : 0;

		call.stream_id = 1;
		call.authority = "fuzz";
		/* a small limit half of the time, so that it is reached */
		call.opts.max_message_size = (limit_sel & 1) ? 65536 : 4 * 1024 * 1024;
		call.buf_cap = 1024;
		call.buf = palloc(call.buf_cap);
		if (size > 0)
			off = 1;
		while (off < size)
		{
			/* frame size: next byte (1..256), times 64 if its top bit is set */
			size_t		flen = (size_t) data[off] + 1;
			const uint8 *msg;
			size_t		mlen;

			if (data[off] & 0x80)
				flen *= 64;
			off++;
			flen = Min(flen, size - off);
			if (on_data_chunk(NULL, 0, 1, data + off, flen, &call) != 0)
				break;			/* the caller raises the recorded failure */
			off += flen;
			while (extract_message(&call, &msg, &mlen))
			{
				volatile uint8 sum = 0;

				if (mlen > 0)
					sum += msg[0] + msg[mlen - 1];
			}
		}
	}
	fuzz_reset();
	return 0;
}
