/*-------------------------------------------------------------------------
 *
 * stubs.c
 *	  Backend and transport functions that the included source files
 *	  reference but the fuzzed paths never call: weak definitions that
 *	  abort, so that a harness fails loudly if a path reaches one.  A
 *	  harness that includes the real definition (fuzz_grpc.c includes
 *	  grpc.c) overrides the weak one.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  fuzz/stubs.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>

volatile int InterruptPending = 0;

#define STUB(name) __attribute__((weak)) void name(void); \
	__attribute__((weak)) void name(void) { abort(); }

STUB(AllocSetContextCreateInternal)
STUB(DirectFunctionCall1Coll)
STUB(GetCurrentTimestamp)
STUB(JsonbIteratorInit)
STUB(JsonbIteratorNext)
STUB(JsonbValueToJsonb)
STUB(MemoryContextDelete)
STUB(ProcessInterrupts)
STUB(TimestampDifferenceMilliseconds)
STUB(getKeyJsonValueFromContainer)
STUB(grpc_call_close)
STUB(grpc_call_message_ready)
STUB(grpc_call_next)
STUB(grpc_call_start)
STUB(int64_to_numeric)
STUB(jsonb_in)
STUB(lappend)
STUB(numeric_int8)
STUB(pg_detoast_datum)
STUB(pushJsonbValue)
STUB(transport_close)
STUB(transport_connect)
STUB(transport_is_tls)
STUB(transport_pending)
STUB(transport_read)
STUB(transport_wait)
STUB(transport_write)
