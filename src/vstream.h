/*-------------------------------------------------------------------------
 *
 * vstream.h
 *	  The VStream call: request building, response decoding and positions.
 *
 * This is the layer between the gRPC client (grpc.c) and the consumers of
 * events (peek.c, worker.c).  It knows the Vitess messages; it knows nothing
 * about sockets or HTTP/2 (below) nor about tables and transactions (above).
 *
 * Errors are raised with ereport().  The SQLSTATE tells a caller whether
 * reconnecting can help: vstream_error_is_transient().
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/vstream.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_VSTREAM_H
#define VSTREAM_VSTREAM_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"

#include "options.h"
#include "binlogdata.pb-c.h"
#include "vtgate.pb-c.h"

typedef struct VStreamSession VStreamSession;

/* A table streamed through a rule of its own: "select <columns> from t where ..." */
typedef struct VStreamTableFilter
{
	char	   *table;
	char	   *select;			/* the rule's filter (a SELECT on the table) */
} VStreamTableFilter;

/* What to stream: parameters of one VStream request besides the server. */
typedef struct VStreamRequestSpec
{
	/*
	 * Start position.  Either a full VGtid (resume; sent verbatim), or NULL
	 * together with start_mode.
	 */
	Binlogdata__VGtid *vgtid;
	const char *start_mode;		/* "current" or "copy" when vgtid is NULL */
	List	   *tables;			/* table names (char *) to stream; NIL = all */
	int			heartbeat_interval; /* seconds; -1 = the server option */

	/*
	 * VStreamFlags.tables_to_copy: shards whose position carries table_p_ks
	 * copy only these tables (NIL: every table of the filter).
	 */
	List	   *tables_to_copy;

	/*
	 * VStreamTableFilter *: column and row filters.  Their rules come first
	 * (VTGate uses the first rule that matches a table).
	 */
	List	   *table_filters;
} VStreamRequestSpec;

/*
 * Open a VStream: connect (TLS as configured), send the request, wait for
 * the response headers.  The session and everything it owns live in a new
 * memory context under "parent"; vstream_close() frees it.  Non-palloc
 * resources (socket, TLS, nghttp2) are also released if that context is
 * deleted or reset by error cleanup.
 */
extern VStreamSession *vstream_open(const VStreamServerOptions *opts,
									const VStreamRequestSpec *spec,
									MemoryContext parent);

/*
 * Wait for the next VStreamResponse, at most timeout_ms (-1: forever).
 * Returns the decoded message, allocated in "msgcxt" (the caller resets that
 * context per message), or NULL on timeout.  *ended is set to true when the
 * server ended the call with grpc-status OK (no more messages).  Any other
 * end, a transport failure, a malformed message or a silent connection (no
 * byte for 3 heartbeat intervals) raises an ERROR.  Interrupts
 * (CHECK_FOR_INTERRUPTS) are served while waiting.
 *
 * Flow control: the HTTP/2 window for a message is re-opened only when the
 * next message is requested, so a slow consumer throttles VTGate.
 */
extern Vtgate__VStreamResponse *vstream_next(VStreamSession *session,
											 MemoryContext msgcxt,
											 int timeout_ms, bool *ended);

/* Local time the last message returned by vstream_next() arrived. */
extern TimestampTz vstream_last_message(VStreamSession *session);

extern void vstream_close(VStreamSession *session);

/* True if the current error's SQLSTATE means "reconnect and retry". */
extern bool vstream_error_is_transient(int sqlerrcode);

/* Positions */
extern Binlogdata__VGtid *vstream_vgtid_from_json(const char *json);
extern Jsonb *vstream_vgtid_to_jsonb(const Binlogdata__VGtid *vgtid);
extern bytea *vstream_vgtid_serialize(const Binlogdata__VGtid *vgtid);
extern Binlogdata__VGtid *vstream_vgtid_deserialize(const bytea *data);
extern Binlogdata__VGtid *vstream_vgtid_copy(const Binlogdata__VGtid *vgtid);

/* A protobuf-c allocator on a memory context (free is a no-op). */
extern void vstream_pb_allocator(ProtobufCAllocator *alloc, MemoryContext cxt);

/* Push an object key while building a jsonb value. */
extern void vstream_jsonb_key(JsonbParseState **st, const char *key);
/* Push "key": string (len < 0: NUL-terminated) / "key": integer. */
extern void vstream_jsonb_string(JsonbParseState **st, const char *key,
								 const char *value, int len);
extern void vstream_jsonb_int(JsonbParseState **st, const char *key, int64 value);

/* Names of event types for display ("ROW", "COPY_COMPLETED", ...). */
extern const char *vstream_event_type_name(int type);

/*
 * Split a Vitess table name ("keyspace.table" unless
 * exclude_keyspace_from_table_name) into its bare table part.
 */
extern const char *vstream_bare_table_name(const char *table_name);

/*
 * Decode one query.Row against its field count.  Fills values[i] (pointer
 * into row->values.data, not NUL-terminated) and lengths[i] (-1 = NULL).
 * Raises ERRCODE_PROTOCOL_VIOLATION if the lengths do not match the value
 * bytes or the column count.
 */
extern void vstream_decode_row(const Query__Row *row, int ncolumns,
							   const char **values, int *lengths);

#endif							/* VSTREAM_VSTREAM_H */
