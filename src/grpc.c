/*-------------------------------------------------------------------------
 *
 * grpc.c
 *	  A minimal gRPC client for one server-streaming call over HTTP/2.
 *
 * nghttp2 is used sans-IO: bytes read from the transport are fed with
 * nghttp2_session_mem_recv() and bytes to send are taken with
 * nghttp2_session_mem_send(), so all waiting happens in transport_wait()
 * on the latch.  nghttp2 callbacks never raise errors (a longjmp would leave
 * the library in a half-updated state): they record a failure in the call
 * and return, and the error is raised after the library call returns.
 *
 * Flow control: automatic window updates are off.  Received DATA bytes are
 * handed back to the window (nghttp2_session_consume) only when the caller
 * asks for the next message, or when a partial message needs more bytes, so
 * at most one window of unprocessed data is buffered.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/grpc.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <nghttp2/nghttp2.h>

#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "grpc.h"

#define GRPC_READ_CHUNK		(64 * 1024)
#define GRPC_STREAM_WINDOW	(4 * 1024 * 1024)
#define GRPC_CONN_WINDOW	(8 * 1024 * 1024)
#define GRPC_MAX_STATUS_MSG	2048

struct GrpcCall
{
	Transport  *transport;
	nghttp2_session *session;
	int32		stream_id;
	MemoryContext cxt;
	GrpcCallOptions opts;
	char	   *authority;

	/* request body: 5 byte prefix + message */
	uint8	   *request;
	size_t		request_len;
	size_t		request_off;

	/* bytes from nghttp2_session_mem_send() not yet written */
	const uint8 *out;
	size_t		out_len;

	/* received gRPC bytes */
	uint8	   *buf;
	size_t		buf_cap;
	size_t		buf_start;
	size_t		buf_end;
	size_t		unconsumed;		/* DATA bytes not yet given back */
	uint8	   *readbuf;

	/* response state */
	bool		headers_done;
	int			http_status;
	bool		grpc_content_type;
	int			grpc_status;	/* -1 until received */
	char	   *grpc_message;
	bool		stream_closed;
	uint32		close_error;
	bool		goaway;
	uint32		goaway_error;
	bool		eof;

	/* failure recorded in a callback */
	bool		cb_failed;
	int			cb_sqlstate;
	char		cb_message[256];

	/* liveness */
	TimestampTz last_recv;
	TimestampTz last_ping;

	MemoryContextCallback cleanup;
};

static const char *const status_names[] = {
	"OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
	"NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED",
	"INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED"
};

const char *
grpc_status_name(int code)
{
	if (code >= 0 && code < (int) lengthof(status_names))
		return status_names[code];
	return "UNRECOGNIZED";
}

int
grpc_status_sqlstate(int code)
{
	switch (code)
	{
		case GRPC_STATUS_CANCELLED:
		case GRPC_STATUS_UNKNOWN:
		case GRPC_STATUS_DEADLINE_EXCEEDED:
		case GRPC_STATUS_ABORTED:
		case GRPC_STATUS_UNAVAILABLE:
			return ERRCODE_CONNECTION_FAILURE;
		case GRPC_STATUS_FAILED_PRECONDITION:
			return ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
		case GRPC_STATUS_INVALID_ARGUMENT:
			return ERRCODE_INVALID_PARAMETER_VALUE;
		case GRPC_STATUS_NOT_FOUND:
			return ERRCODE_UNDEFINED_OBJECT;
		case GRPC_STATUS_ALREADY_EXISTS:
			return ERRCODE_DUPLICATE_OBJECT;
		case GRPC_STATUS_PERMISSION_DENIED:
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case GRPC_STATUS_RESOURCE_EXHAUSTED:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case GRPC_STATUS_UNIMPLEMENTED:
			return ERRCODE_FEATURE_NOT_SUPPORTED;
		case GRPC_STATUS_UNAUTHENTICATED:
			return ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION;
		default:
			return ERRCODE_FDW_ERROR;
	}
}

static const char *
grpc_status_hint(int code)
{
	switch (code)
	{
		case GRPC_STATUS_INVALID_ARGUMENT:
			return "Check the keyspace, the tablet type, the tables and the start position of the stream.";
		case GRPC_STATUS_PERMISSION_DENIED:
		case GRPC_STATUS_UNAUTHENTICATED:
			return "Check the credentials in the user mapping and VTGate's access rules.";
		case GRPC_STATUS_RESOURCE_EXHAUSTED:
			return "A message may exceed VTGate's --grpc_max_message_size.";
		case GRPC_STATUS_UNIMPLEMENTED:
			return "Check that the server is a VTGate started with --service_map grpc-vtgateservice.";
		case GRPC_STATUS_UNAVAILABLE:
		case GRPC_STATUS_FAILED_PRECONDITION:
			return "Check that VTGate is running and the keyspace has serving tablets of the requested type.";
		default:
			return NULL;
	}
}

static void
grpc_release(void *arg)
{
	GrpcCall   *call = (GrpcCall *) arg;

	if (call->session)
	{
		nghttp2_session_del(call->session);
		call->session = NULL;
	}
}

void
grpc_call_close(GrpcCall *call)
{
	if (call)
		grpc_release(call);
}

static void
record_failure(GrpcCall *call, int sqlstate, const char *msg)
{
	if (call->cb_failed)
		return;
	call->cb_failed = true;
	call->cb_sqlstate = sqlstate;
	strlcpy(call->cb_message, msg, sizeof(call->cb_message));
}

/* Percent-decode a grpc-message value. */
static char *
percent_decode(MemoryContext cxt, const uint8 *v, size_t len)
{
	char	   *out;
	size_t		i;
	size_t		o = 0;

	if (len > GRPC_MAX_STATUS_MSG)
		len = GRPC_MAX_STATUS_MSG;
	out = MemoryContextAllocExtended(cxt, len + 1, MCXT_ALLOC_NO_OOM);
	if (out == NULL)
		return NULL;
	for (i = 0; i < len; i++)
	{
		if (v[i] == '%' && i + 2 < len + 0 && isxdigit(v[i + 1]) && isxdigit(v[i + 2]))
		{
			char		hex[3] = {(char) v[i + 1], (char) v[i + 2], 0};

			out[o++] = (char) strtol(hex, NULL, 16);
			i += 2;
		}
		else
			out[o++] = (char) v[i];
	}
	out[o] = '\0';
	return out;
}

static int
on_header(nghttp2_session *session, const nghttp2_frame *frame,
		  const uint8_t *name, size_t namelen,
		  const uint8_t *value, size_t valuelen,
		  uint8_t flags, void *user_data)
{
	GrpcCall   *call = (GrpcCall *) user_data;

	if (frame->hd.stream_id != call->stream_id)
		return 0;
	if (namelen == 7 && memcmp(name, ":status", 7) == 0)
	{
		char		tmp[8];

		memcpy(tmp, value, Min(valuelen, sizeof(tmp) - 1));
		tmp[Min(valuelen, sizeof(tmp) - 1)] = '\0';
		call->http_status = atoi(tmp);
	}
	else if (namelen == 12 && memcmp(name, "content-type", 12) == 0)
		call->grpc_content_type =
			(valuelen >= 16 && memcmp(value, "application/grpc", 16) == 0);
	else if (namelen == 11 && memcmp(name, "grpc-status", 11) == 0)
	{
		char		tmp[12];

		memcpy(tmp, value, Min(valuelen, sizeof(tmp) - 1));
		tmp[Min(valuelen, sizeof(tmp) - 1)] = '\0';
		call->grpc_status = atoi(tmp);
	}
	else if (namelen == 12 && memcmp(name, "grpc-message", 12) == 0)
		call->grpc_message = percent_decode(call->cxt, value, valuelen);
	return 0;
}

static int
on_frame_recv(nghttp2_session *session, const nghttp2_frame *frame,
			  void *user_data)
{
	GrpcCall   *call = (GrpcCall *) user_data;

	switch (frame->hd.type)
	{
		case NGHTTP2_HEADERS:
			if (frame->hd.stream_id == call->stream_id &&
				(frame->hd.flags & NGHTTP2_FLAG_END_HEADERS))
				call->headers_done = true;
			break;
		case NGHTTP2_GOAWAY:
			call->goaway = true;
			call->goaway_error = frame->goaway.error_code;
			break;
		default:
			break;
	}
	return 0;
}

static int
on_data_chunk(nghttp2_session *session, uint8_t flags, int32_t stream_id,
			  const uint8_t *data, size_t len, void *user_data)
{
	GrpcCall   *call = (GrpcCall *) user_data;
	size_t		used;
	size_t		limit;

	if (stream_id != call->stream_id)
		return 0;
	call->unconsumed += len;

	/* compact, then grow within the limit */
	used = call->buf_end - call->buf_start;
	if (call->buf_start > 0 && call->buf_end + len > call->buf_cap)
	{
		memmove(call->buf, call->buf + call->buf_start, used);
		call->buf_start = 0;
		call->buf_end = used;
	}
	if (call->buf_end + len > call->buf_cap)
	{
		size_t		newcap = Max(call->buf_cap * 2, call->buf_end + len);
		uint8	   *nb;

		limit = (size_t) call->opts.max_message_size + 5 + 2 * GRPC_READ_CHUNK;
		if (newcap > limit)
			newcap = limit;
		if (call->buf_end + len > newcap)
		{
			record_failure(call, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
						   "VTGate sent a gRPC message larger than max_message_size");
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		/* the option's limit keeps newcap below MaxAllocSize; be sure */
		if (!AllocSizeIsValid(newcap))
		{
			record_failure(call, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
						   "VTGate sent a gRPC message larger than max_message_size");
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		nb = repalloc_extended(call->buf, newcap, MCXT_ALLOC_NO_OOM);
		if (nb == NULL)
		{
			record_failure(call, ERRCODE_OUT_OF_MEMORY,
						   "out of memory while receiving a gRPC message");
			return NGHTTP2_ERR_CALLBACK_FAILURE;
		}
		call->buf = nb;
		call->buf_cap = newcap;
	}
	memcpy(call->buf + call->buf_end, data, len);
	call->buf_end += len;
	return 0;
}

static int
on_stream_close(nghttp2_session *session, int32_t stream_id,
				uint32_t error_code, void *user_data)
{
	GrpcCall   *call = (GrpcCall *) user_data;

	if (stream_id == call->stream_id)
	{
		call->stream_closed = true;
		call->close_error = error_code;
	}
	return 0;
}

static ssize_t
request_read(nghttp2_session *session, int32_t stream_id, uint8_t *buf,
			 size_t length, uint32_t *data_flags, nghttp2_data_source *source,
			 void *user_data)
{
	GrpcCall   *call = (GrpcCall *) user_data;
	size_t		n = Min(length, call->request_len - call->request_off);

	memcpy(buf, call->request + call->request_off, n);
	call->request_off += n;
	if (call->request_off == call->request_len)
		*data_flags |= NGHTTP2_DATA_FLAG_EOF;
	return (ssize_t) n;
}

static void
raise_http2_error(GrpcCall *call, int rv)
{
	if (call->cb_failed)
		ereport(ERROR,
				(errcode(call->cb_sqlstate),
				 errmsg("%s", call->cb_message),
				 call->cb_sqlstate == ERRCODE_PROGRAM_LIMIT_EXCEEDED ?
				 errhint("Raise the \"max_message_size\" option of the foreign server (now %d bytes).",
						 call->opts.max_message_size) : 0));
	/*
	 * An HTTP/2 error of the connection (bad frames, flooding): the
	 * connection is unusable but a new one may well work, so this is a
	 * connection failure (08006, retried), not 08P01, which the worker
	 * reserves for malformed gRPC messages that would come again.
	 */
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("HTTP/2 protocol error in the stream from VTGate at %s: %s",
					call->authority, nghttp2_strerror(rv)),
			 errhint("Check that the \"port\" option names VTGate's gRPC port.")));
}

/*
 * Write pending output.  Returns true if everything nghttp2 wants to send
 * has been written, false if the socket is full.
 */
static bool
flush_output(GrpcCall *call)
{
	for (;;)
	{
		if (call->out_len > 0)
		{
			ssize_t		n = transport_write(call->transport, call->out, call->out_len);

			if (n == 0)
				return false;
			call->out += n;
			call->out_len -= n;
			continue;
		}
		{
			const uint8_t *data;
			ssize_t		n = nghttp2_session_mem_send(call->session, &data);

			if (n < 0)
				raise_http2_error(call, (int) n);
			if (n == 0)
				return true;
			call->out = data;
			call->out_len = (size_t) n;
		}
	}
}

/* One read from the transport into nghttp2; returns bytes read. */
static ssize_t
read_input(GrpcCall *call)
{
	ssize_t		n;
	ssize_t		rv;

	n = transport_read(call->transport, call->readbuf, GRPC_READ_CHUNK);
	if (n < 0)
	{
		call->eof = true;
		return 0;
	}
	if (n == 0)
		return 0;
	call->last_recv = GetCurrentTimestamp();
	rv = nghttp2_session_mem_recv(call->session, call->readbuf, n);
	if (rv < 0 || call->cb_failed)
		raise_http2_error(call, (int) rv);
	return n;
}

static void
give_back_window(GrpcCall *call)
{
	if (call->unconsumed == 0)
		return;
	if (!call->stream_closed)
		(void) nghttp2_session_consume(call->session, call->stream_id,
									   call->unconsumed);
	else
		(void) nghttp2_session_consume_connection(call->session,
												  call->unconsumed);
	call->unconsumed = 0;
}

/* Raise the error for a connection that went away under an open stream. */
static void
raise_connection_lost(GrpcCall *call)
{
	if (call->goaway)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("VTGate at %s closed the connection (GOAWAY %s)",
						call->authority,
						nghttp2_http2_strerror(call->goaway_error))));
	ereport(ERROR,
			(errcode(ERRCODE_CONNECTION_FAILURE),
			 errmsg("VTGate at %s closed the connection unexpectedly",
					call->authority)));
}

/* A response that is not HTTP 200 is not gRPC at all. */
static void
check_http_status(GrpcCall *call)
{
	if (call->http_status != 200)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("VTGate at %s answered with HTTP status %d instead of a gRPC response",
						call->authority, call->http_status),
				 errhint("Check that the \"port\" option names VTGate's gRPC port.")));
}

/* The stream is closed: turn its end into a result or an error. */
static void
finish_call(GrpcCall *call, bool *ended)
{
	if (call->close_error != NGHTTP2_NO_ERROR)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("VTGate at %s reset the stream: HTTP/2 error %s",
						call->authority,
						nghttp2_http2_strerror(call->close_error))));
	if (call->grpc_status < 0)
	{
		check_http_status(call);
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("the stream from VTGate at %s ended without a gRPC status",
						call->authority)));
	}
	if (call->buf_end > call->buf_start)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("the stream from VTGate at %s ended in the middle of a gRPC message",
						call->authority)));
	if (call->grpc_status == GRPC_STATUS_OK)
	{
		*ended = true;
		return;
	}
	{
		const char *hint = grpc_status_hint(call->grpc_status);

		ereport(ERROR,
				(errcode(grpc_status_sqlstate(call->grpc_status)),
				 errmsg("VTGate ended the stream with gRPC status %s: %s",
						grpc_status_name(call->grpc_status),
						call->grpc_message && call->grpc_message[0] ?
						call->grpc_message : "(no message)"),
				 errdetail("grpc-status %d from %s.", call->grpc_status,
						   call->authority),
				 hint ? errhint("%s", hint) : 0));
	}
}

/* Try to take one complete message out of the buffer. */
static bool
extract_message(GrpcCall *call, const uint8 **msg, size_t *len)
{
	size_t		avail = call->buf_end - call->buf_start;
	const uint8 *p = call->buf + call->buf_start;
	uint32		mlen;

	if (avail < 5)
		return false;
	if (p[0] != 0)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("VTGate at %s sent a gRPC message with compression flag %d, but no compression was negotiated",
						call->authority, p[0])));
	mlen = ((uint32) p[1] << 24) | ((uint32) p[2] << 16) |
		((uint32) p[3] << 8) | (uint32) p[4];
	if (mlen > (uint32) call->opts.max_message_size)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("VTGate at %s sent a gRPC message of %u bytes, more than max_message_size (%d bytes)",
						call->authority, mlen, call->opts.max_message_size),
				 errhint("Raise the \"max_message_size\" option of the foreign server.")));
	if (avail < 5 + (size_t) mlen)
		return false;
	*msg = p + 5;
	*len = mlen;
	call->buf_start += 5 + mlen;
	if (call->buf_start == call->buf_end)
		call->buf_start = call->buf_end = 0;
	return true;
}

bool
grpc_call_message_ready(GrpcCall *call)
{
	size_t		avail = call->buf_end - call->buf_start;
	const uint8 *p = call->buf + call->buf_start;
	uint32		mlen;

	if (avail < 5)
		return false;
	mlen = ((uint32) p[1] << 24) | ((uint32) p[2] << 16) |
		((uint32) p[3] << 8) | (uint32) p[4];
	return avail >= 5 + (size_t) mlen;
}

/*
 * Wait for the socket, sending PINGs when the connection is idle and failing
 * when it has been silent too long.  Returns false if until_ms elapsed.
 */
static bool
wait_io(GrpcCall *call, TimestampTz until)
{
	TimestampTz now = GetCurrentTimestamp();
	long		wait_ms = -1;
	long		idle_ms = TimestampDifferenceMilliseconds(call->last_recv, now);

	if (call->opts.idle_timeout_ms > 0 && idle_ms >= call->opts.idle_timeout_ms)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("connection to VTGate at %s timed out: nothing received for %ld ms",
						call->authority, idle_ms),
				 errhint("VTGate did not answer HTTP/2 PINGs; check the network and VTGate.")));
	if (call->opts.keepalive_ms > 0 &&
		idle_ms >= call->opts.keepalive_ms &&
		TimestampDifferenceMilliseconds(call->last_ping, now) >= call->opts.keepalive_ms)
	{
		(void) nghttp2_submit_ping(call->session, NGHTTP2_FLAG_NONE, NULL);
		call->last_ping = now;
	}
	if (!flush_output(call))
		wait_ms = 1000;

	if (until != 0)
	{
		long		ms = TimestampDifferenceMilliseconds(now, until);

		if (ms <= 0)
			return false;
		wait_ms = wait_ms < 0 ? ms : Min(wait_ms, ms);
	}
	if (call->opts.keepalive_ms > 0)
	{
		long		k = call->opts.keepalive_ms;

		wait_ms = wait_ms < 0 ? k : Min(wait_ms, k);
	}
	(void) transport_wait(call->transport, true, call->out_len > 0, wait_ms);
	return true;
}

GrpcCall *
grpc_call_start(Transport *transport, const GrpcCallOptions *options,
				const uint8 *request, size_t request_len, MemoryContext cxt)
{
	GrpcCall   *call = MemoryContextAllocZero(cxt, sizeof(GrpcCall));
	nghttp2_session_callbacks *cbs;
	nghttp2_option *opt;
	nghttp2_settings_entry settings[] = {
		{NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
		{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, GRPC_STREAM_WINDOW},
		{NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, 65536},
	};
	nghttp2_nv *nva;
	int			nnv = 0;
	int			i;
	int			rv;
	nghttp2_data_provider prd;
	const char *scheme = transport_is_tls(transport) ? "https" : "http";

	call->transport = transport;
	call->cxt = cxt;
	call->opts = *options;
	call->authority = MemoryContextStrdup(cxt, options->authority);
	call->grpc_status = -1;
	call->readbuf = MemoryContextAlloc(cxt, GRPC_READ_CHUNK);
	call->buf_cap = 64 * 1024;
	call->buf = MemoryContextAlloc(cxt, call->buf_cap);
	call->last_recv = call->last_ping = GetCurrentTimestamp();

	/* request body with the gRPC prefix */
	call->request_len = request_len + 5;
	call->request = MemoryContextAlloc(cxt, call->request_len);
	call->request[0] = 0;
	call->request[1] = (request_len >> 24) & 0xff;
	call->request[2] = (request_len >> 16) & 0xff;
	call->request[3] = (request_len >> 8) & 0xff;
	call->request[4] = request_len & 0xff;
	memcpy(call->request + 5, request, request_len);

	if (nghttp2_session_callbacks_new(&cbs) != 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
	nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
	nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
	nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
	if (nghttp2_option_new(&opt) != 0)
	{
		nghttp2_session_callbacks_del(cbs);
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	}
	nghttp2_option_set_no_auto_window_update(opt, 1);
	rv = nghttp2_session_client_new2(&call->session, cbs, call, opt);
	nghttp2_session_callbacks_del(cbs);
	nghttp2_option_del(opt);
	if (rv != 0)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create HTTP/2 session: %s", nghttp2_strerror(rv))));
	call->cleanup.func = grpc_release;
	call->cleanup.arg = call;
	MemoryContextRegisterResetCallback(cxt, &call->cleanup);

	nghttp2_submit_settings(call->session, NGHTTP2_FLAG_NONE, settings,
							lengthof(settings));
	nghttp2_session_set_local_window_size(call->session, NGHTTP2_FLAG_NONE, 0,
										  GRPC_CONN_WINDOW);

	nva = palloc(sizeof(nghttp2_nv) * (8 + options->nmetadata));
#define ADD_NV(n, v) \
	do { \
		nva[nnv].name = (uint8_t *) (n); nva[nnv].namelen = strlen(n); \
		nva[nnv].value = (uint8_t *) (v); nva[nnv].valuelen = strlen(v); \
		nva[nnv].flags = NGHTTP2_NV_FLAG_NONE; nnv++; \
	} while (0)

	/*
	 * Metadata carries credentials (Vitess static auth sends the password in
	 * a header): never-indexed, so that HPACK keeps it out of the dynamic
	 * tables of intermediaries (RFC 7541 section 7.1.3).
	 */
	ADD_NV(":method", "POST");
	ADD_NV(":scheme", scheme);
	ADD_NV(":path", options->path);
	ADD_NV(":authority", call->authority);
	ADD_NV("content-type", "application/grpc");
	ADD_NV("te", "trailers");
	ADD_NV("user-agent", "vstream_fdw/0.1.0");
	for (i = 0; i < options->nmetadata; i++)
	{
		ADD_NV(options->metadata[i].name, options->metadata[i].value);
		nva[nnv - 1].flags = NGHTTP2_NV_FLAG_NO_INDEX;
	}
#undef ADD_NV

	prd.source.ptr = NULL;
	prd.read_callback = request_read;
	call->stream_id = nghttp2_submit_request(call->session, NULL, nva, nnv,
											 &prd, call);
	if (call->stream_id < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not submit gRPC request: %s",
						nghttp2_strerror(call->stream_id))));
	pfree(nva);

	/*
	 * Send everything and wait for the response headers.  Frames that keep
	 * arriving (PINGs, SETTINGS, WINDOW_UPDATEs, headers of other streams)
	 * must not keep us here past the deadline or past an interrupt.
	 */
	while (!call->headers_done && !call->stream_closed)
	{
		CHECK_FOR_INTERRUPTS();
		if (options->deadline != 0 && GetCurrentTimestamp() >= options->deadline)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("timeout waiting for VTGate at %s to answer the VStream request",
							call->authority),
					 errhint("Raise the \"connect_timeout\" option or check VTGate's health.")));
		if (read_input(call) > 0)
			continue;
		if (call->eof)
			raise_connection_lost(call);
		(void) wait_io(call, options->deadline);
	}
	if (call->headers_done && call->grpc_status < 0)
	{
		check_http_status(call);
		if (!call->grpc_content_type)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("VTGate at %s answered without a gRPC content type",
							call->authority)));
	}
	return call;
}

const uint8 *
grpc_call_next(GrpcCall *call, size_t *len, long timeout_ms, bool *ended)
{
	TimestampTz until = 0;
	const uint8 *msg;

	*ended = false;

	/* the previous message has been processed: reopen its window */
	give_back_window(call);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (extract_message(call, &msg, len))
			return msg;
		/* the timeout runs from here: no clock read for a buffered message */
		if (timeout_ms >= 0 && until == 0)
			until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
		if (call->stream_closed)
		{
			finish_call(call, ended);
			return NULL;
		}
		if (call->eof)
			raise_connection_lost(call);
		(void) flush_output(call);
		if (read_input(call) > 0 || transport_pending(call->transport))
		{
			/*
			 * Bytes keep arriving without completing a message (a trickle,
			 * or frames that carry no data): the caller's timeout still
			 * holds, so that it gets control back to look around.
			 */
			if (until != 0 && GetCurrentTimestamp() >= until)
				return NULL;
			continue;
		}
		if (call->eof)
			continue;
		/* a partial message needs more bytes: let them come */
		give_back_window(call);
		if (!wait_io(call, until))
			return NULL;
	}
}
