/*-------------------------------------------------------------------------
 *
 * transport.h
 *	  Non-blocking TCP and TLS connection to VTGate.
 *
 * The lowest layer of the client: a socket (optionally wrapped in OpenSSL
 * with ALPN "h2"), non-blocking reads and writes, and a wait that also
 * watches the process latch so that cancel and SIGTERM are served promptly.
 * It knows nothing about HTTP/2.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/transport.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_TRANSPORT_H
#define VSTREAM_TRANSPORT_H

#include "postgres.h"

#include "options.h"

typedef struct Transport Transport;

/* Results of transport_wait() (may be or-ed). */
#define TRANSPORT_READABLE	0x01
#define TRANSPORT_WRITEABLE	0x02
#define TRANSPORT_TIMEOUT	0x04

/*
 * Connect to opts->host:opts->port and complete the TLS handshake if
 * configured, waiting at most until "deadline" (a GetCurrentTimestamp()
 * value).  The returned object lives in "cxt"; its socket and TLS state are
 * released when that context is reset or deleted, or by transport_close().
 */
extern Transport *transport_connect(const VStreamServerOptions *opts,
									TimestampTz deadline, MemoryContext cxt);

/*
 * Read up to len bytes without blocking.  Returns the number of bytes read,
 * 0 if nothing is available now, or -1 if the peer closed the connection.
 * Errors are raised with ereport.
 */
extern ssize_t transport_read(Transport *t, void *buf, size_t len);

/* Write up to len bytes without blocking; returns the number written. */
extern ssize_t transport_write(Transport *t, const void *buf, size_t len);

/*
 * Wait until the socket is readable (if want_read) or writeable (if
 * want_write), the latch is set, or timeout_ms passes (-1: no timeout).
 * Serves interrupts.  Returns TRANSPORT_* flags.
 */
extern int	transport_wait(Transport *t, bool want_read, bool want_write,
						   long timeout_ms);

/* True if decrypted bytes are already buffered inside the TLS library. */
extern bool transport_pending(Transport *t);

extern bool transport_is_tls(Transport *t);

extern void transport_close(Transport *t);

#endif							/* VSTREAM_TRANSPORT_H */
