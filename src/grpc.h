/*-------------------------------------------------------------------------
 *
 * grpc.h
 *	  A minimal gRPC client for one server-streaming call over HTTP/2.
 *
 * Built on nghttp2 (sans-IO: we own the socket through transport.c).  One
 * GrpcCall is one HTTP/2 connection carrying one stream: the request message
 * is sent with END_STREAM, then response messages are returned one at a time
 * until the trailers.  gRPC framing (1 byte flag + 4 byte length) is handled
 * both ways, with messages split across DATA frames or several per frame.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/grpc.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_GRPC_H
#define VSTREAM_GRPC_H

#include "postgres.h"

#include "transport.h"

typedef struct GrpcCall GrpcCall;

typedef struct GrpcMetadata
{
	const char *name;			/* lower case */
	const char *value;
} GrpcMetadata;

/* gRPC status codes (equal to Vitess vtrpc.Code 0..16). */
#define GRPC_STATUS_OK					0
#define GRPC_STATUS_CANCELLED			1
#define GRPC_STATUS_UNKNOWN				2
#define GRPC_STATUS_INVALID_ARGUMENT	3
#define GRPC_STATUS_DEADLINE_EXCEEDED	4
#define GRPC_STATUS_NOT_FOUND			5
#define GRPC_STATUS_ALREADY_EXISTS		6
#define GRPC_STATUS_PERMISSION_DENIED	7
#define GRPC_STATUS_RESOURCE_EXHAUSTED	8
#define GRPC_STATUS_FAILED_PRECONDITION	9
#define GRPC_STATUS_ABORTED				10
#define GRPC_STATUS_OUT_OF_RANGE		11
#define GRPC_STATUS_UNIMPLEMENTED		12
#define GRPC_STATUS_INTERNAL			13
#define GRPC_STATUS_UNAVAILABLE			14
#define GRPC_STATUS_DATA_LOSS			15
#define GRPC_STATUS_UNAUTHENTICATED		16

typedef struct GrpcCallOptions
{
	const char *authority;		/* host:port */
	const char *path;			/* /package.Service/Method */
	const GrpcMetadata *metadata;
	int			nmetadata;
	int			max_message_size;	/* bytes */
	int			keepalive_ms;	/* idle time before an HTTP/2 PING */
	int			idle_timeout_ms;	/* silence that kills the connection */
	TimestampTz deadline;		/* for the response headers */
} GrpcCallOptions;

/*
 * Start the call on an established transport: HTTP/2 preface and settings,
 * request headers, the request message.  Waits for the response headers
 * (or a trailers-only error response) until options->deadline.
 */
extern GrpcCall *grpc_call_start(Transport *transport,
								 const GrpcCallOptions *options,
								 const uint8 *request, size_t request_len,
								 MemoryContext cxt);

/*
 * Next response message.  Returns a pointer to its bytes (valid until the
 * next call) and its length, or NULL when timeout_ms passed without a
 * complete message, or NULL with *ended = true when the server finished the
 * call with grpc-status 0.  Every other end raises an ERROR naming the gRPC
 * status (or the HTTP/2 or transport failure).
 */
extern const uint8 *grpc_call_next(GrpcCall *call, size_t *len,
								   long timeout_ms, bool *ended);

/* Is a complete message already buffered (grpc_call_next will not wait)? */
extern bool grpc_call_message_ready(GrpcCall *call);

extern void grpc_call_close(GrpcCall *call);

extern const char *grpc_status_name(int code);

/* SQLSTATE for a gRPC status received from VTGate. */
extern int	grpc_status_sqlstate(int code);

#endif							/* VSTREAM_GRPC_H */
