/*-------------------------------------------------------------------------
 *
 * transport.c
 *	  Non-blocking TCP and TLS connection to VTGate.
 *
 * Every wait goes through a WaitEventSet that also contains the process
 * latch, so pg_cancel_backend() and SIGTERM interrupt a connect, a TLS
 * handshake or a stalled stream within one latch wake-up.  The socket is
 * counted with AcquireExternalFD(), and a memory context reset callback
 * closes it (and frees the TLS objects) on every exit path, including
 * errors.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/transport.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/latch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "transport.h"

struct Transport
{
	pgsocket	sock;
	bool		fd_acquired;
	SSL_CTX    *ssl_ctx;
	SSL		   *ssl;
	WaitEventSet *wes;
	int			sock_pos;		/* position of the socket in wes */
	char	   *host;
	int			port;
	MemoryContextCallback cleanup;
};

static void
transport_release(void *arg)
{
	Transport  *t = (Transport *) arg;

	if (t->ssl)
	{
		SSL_free(t->ssl);
		t->ssl = NULL;
	}
	if (t->ssl_ctx)
	{
		SSL_CTX_free(t->ssl_ctx);
		t->ssl_ctx = NULL;
	}
	if (t->wes)
	{
		FreeWaitEventSet(t->wes);
		t->wes = NULL;
	}
	if (t->sock != PGINVALID_SOCKET)
	{
		closesocket(t->sock);
		t->sock = PGINVALID_SOCKET;
	}
	if (t->fd_acquired)
	{
		ReleaseExternalFD();
		t->fd_acquired = false;
	}
}

void
transport_close(Transport *t)
{
	if (t)
		transport_release(t);
}

bool
transport_is_tls(Transport *t)
{
	return t->ssl != NULL;
}

/* Text of the most recent OpenSSL error, or a fallback. */
static const char *
ssl_error_text(void)
{
	unsigned long e = ERR_get_error();
	static char buf[256];

	if (e == 0)
		return "no OpenSSL error reported";
	ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

static long
ms_until(TimestampTz deadline)
{
	long		ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);

	return ms;
}

static void
build_wait_set(Transport *t, MemoryContext cxt)
{
	MemoryContext old = MemoryContextSwitchTo(cxt);

#if PG_VERSION_NUM >= 170000
	t->wes = CreateWaitEventSet(NULL, 3);
#else
	t->wes = CreateWaitEventSet(cxt, 3);
#endif
	AddWaitEventToSet(t->wes, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	if (IsUnderPostmaster)
		AddWaitEventToSet(t->wes, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET,
						  NULL, NULL);
	t->sock_pos = AddWaitEventToSet(t->wes, WL_SOCKET_READABLE, t->sock,
									NULL, NULL);
	MemoryContextSwitchTo(old);
}

int
transport_wait(Transport *t, bool want_read, bool want_write, long timeout_ms)
{
	WaitEvent	events[3];
	int			n;
	int			i;
	int			result = 0;
	uint32		mask = 0;

	if (want_read)
		mask |= WL_SOCKET_READABLE;
	if (want_write)
		mask |= WL_SOCKET_WRITEABLE;
	if (mask == 0)
		mask = WL_SOCKET_READABLE;
	ModifyWaitEvent(t->wes, t->sock_pos, mask, NULL);

	n = WaitEventSetWait(t->wes, timeout_ms, events, lengthof(events),
						 PG_WAIT_EXTENSION);
	if (n == 0)
		result |= TRANSPORT_TIMEOUT;
	for (i = 0; i < n; i++)
	{
		if (events[i].events & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (events[i].events & WL_SOCKET_READABLE)
			result |= TRANSPORT_READABLE;
		if (events[i].events & WL_SOCKET_WRITEABLE)
			result |= TRANSPORT_WRITEABLE;
	}
	return result;
}

static void
connect_failed(Transport *t, const char *what, int err)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
			 errmsg("could not connect to VTGate at %s:%d: %s",
					t->host, t->port, what ? what : strerror(err)),
			 errhint("Check the \"host\" and \"port\" options of the foreign server and that VTGate serves gRPC there.")));
}

/* TCP connect to one address, waiting on the latch; false if refused. */
static bool
tcp_connect(Transport *t, struct addrinfo *ai, TimestampTz deadline,
			MemoryContext cxt, int *err)
{
	int			one = 1;

	t->sock = socket(ai->ai_family, SOCK_STREAM, 0);
	if (t->sock == PGINVALID_SOCKET)
	{
		*err = errno;
		return false;
	}
	if (!pg_set_noblock(t->sock))
	{
		*err = errno;
		closesocket(t->sock);
		t->sock = PGINVALID_SOCKET;
		return false;
	}
	(void) setsockopt(t->sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	(void) setsockopt(t->sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));

	if (connect(t->sock, ai->ai_addr, ai->ai_addrlen) < 0)
	{
		if (errno != EINPROGRESS && errno != EINTR)
		{
			*err = errno;
			closesocket(t->sock);
			t->sock = PGINVALID_SOCKET;
			return false;
		}
		build_wait_set(t, cxt);
		for (;;)
		{
			long		ms = ms_until(deadline);
			int			r;
			int			soerr = 0;
			socklen_t	len = sizeof(soerr);

			if (ms <= 0)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
						 errmsg("timeout while connecting to VTGate at %s:%d",
								t->host, t->port),
						 errhint("Check that VTGate is reachable, or raise the \"connect_timeout\" option.")));
			r = transport_wait(t, false, true, ms);
			if (!(r & TRANSPORT_WRITEABLE))
				continue;
			if (getsockopt(t->sock, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
				soerr = errno;
			if (soerr != 0)
			{
				*err = soerr;
				FreeWaitEventSet(t->wes);
				t->wes = NULL;
				closesocket(t->sock);
				t->sock = PGINVALID_SOCKET;
				return false;
			}
			break;
		}
	}
	if (t->wes == NULL)
		build_wait_set(t, cxt);
	return true;
}

static bool
host_is_ip(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	return inet_pton(AF_INET, host, &a4) == 1 || inet_pton(AF_INET6, host, &a6) == 1;
}

static void
tls_setup(Transport *t, const VStreamServerOptions *opts)
{
	static const unsigned char alpn[] = {2, 'h', '2'};

	OPENSSL_init_ssl(0, NULL);
	ERR_clear_error();
	t->ssl_ctx = SSL_CTX_new(TLS_client_method());
	if (t->ssl_ctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create TLS context: %s", ssl_error_text())));
	SSL_CTX_set_min_proto_version(t->ssl_ctx, TLS1_2_VERSION);
	SSL_CTX_set_mode(t->ssl_ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
					 SSL_MODE_ENABLE_PARTIAL_WRITE);

	if (opts->tls == VSTREAM_TLS_VERIFY_CA || opts->tls == VSTREAM_TLS_VERIFY_FULL)
	{
		if (opts->sslrootcert)
		{
			if (SSL_CTX_load_verify_locations(t->ssl_ctx, opts->sslrootcert, NULL) != 1)
				ereport(ERROR,
						(errcode(ERRCODE_CONFIG_FILE_ERROR),
						 errmsg("could not load root certificate file \"%s\": %s",
								opts->sslrootcert, ssl_error_text()),
						 errhint("Check the \"sslrootcert\" option of the foreign server.")));
		}
		else if (SSL_CTX_set_default_verify_paths(t->ssl_ctx) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("could not load the system root certificates: %s",
							ssl_error_text())));
		SSL_CTX_set_verify(t->ssl_ctx, SSL_VERIFY_PEER, NULL);
	}
	else
		SSL_CTX_set_verify(t->ssl_ctx, SSL_VERIFY_NONE, NULL);

	if (opts->sslcert)
	{
		if (SSL_CTX_use_certificate_chain_file(t->ssl_ctx, opts->sslcert) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("could not load client certificate file \"%s\": %s",
							opts->sslcert, ssl_error_text()),
					 errhint("Check the \"sslcert\" option of the user mapping.")));
		if (SSL_CTX_use_PrivateKey_file(t->ssl_ctx, opts->sslkey, SSL_FILETYPE_PEM) != 1 ||
			SSL_CTX_check_private_key(t->ssl_ctx) != 1)
			ereport(ERROR,
					(errcode(ERRCODE_CONFIG_FILE_ERROR),
					 errmsg("could not load client private key file \"%s\": %s",
							opts->sslkey ? opts->sslkey : "", ssl_error_text()),
					 errhint("Check the \"sslkey\" option of the user mapping.")));
	}

	if (SSL_CTX_set_alpn_protos(t->ssl_ctx, alpn, sizeof(alpn)) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not set TLS ALPN protocols: %s", ssl_error_text())));

	t->ssl = SSL_new(t->ssl_ctx);
	if (t->ssl == NULL || SSL_set_fd(t->ssl, t->sock) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not create TLS connection: %s", ssl_error_text())));

	if (!host_is_ip(opts->host))
		SSL_set_tlsext_host_name(t->ssl, opts->host);

	if (opts->tls == VSTREAM_TLS_VERIFY_FULL)
	{
		X509_VERIFY_PARAM *param = SSL_get0_param(t->ssl);

		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
		if (host_is_ip(opts->host))
			X509_VERIFY_PARAM_set1_ip_asc(param, opts->host);
		else
			X509_VERIFY_PARAM_set1_host(param, opts->host, 0);
	}
}

static void
tls_handshake(Transport *t, const VStreamServerOptions *opts, TimestampTz deadline)
{
	const unsigned char *proto = NULL;
	unsigned int protolen = 0;

	for (;;)
	{
		int			r;
		int			e;
		long		ms;

		ERR_clear_error();
		r = SSL_connect(t->ssl);
		if (r == 1)
			break;
		e = SSL_get_error(t->ssl, r);
		ms = ms_until(deadline);
		if (ms <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("timeout during TLS handshake with VTGate at %s:%d",
							t->host, t->port)));
		if (e == SSL_ERROR_WANT_READ)
			(void) transport_wait(t, true, false, ms);
		else if (e == SSL_ERROR_WANT_WRITE)
			(void) transport_wait(t, false, true, ms);
		else
		{
			long		verify = SSL_get_verify_result(t->ssl);

			if (verify != X509_V_OK)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
						 errmsg("could not verify the certificate of VTGate at %s:%d: %s",
								t->host, t->port,
								X509_verify_cert_error_string(verify)),
						 verify == X509_V_ERR_HOSTNAME_MISMATCH ||
						 verify == X509_V_ERR_IP_ADDRESS_MISMATCH ?
						 errhint("The certificate does not match host \"%s\"; connect with the name in the certificate or use tls 'verify-ca'.",
								 t->host) :
						 errhint("Check the \"sslrootcert\" option of the foreign server.")));
			ereport(ERROR,
					(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
					 errmsg("TLS handshake with VTGate at %s:%d failed: %s",
							t->host, t->port,
							e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN ?
							"connection closed by peer" : ssl_error_text()),
					 errhint("Check that VTGate serves gRPC with TLS on that port, or set option \"tls\" to \"disable\".")));
		}
	}

	SSL_get0_alpn_selected(t->ssl, &proto, &protolen);
	if (protolen != 2 || memcmp(proto, "h2", 2) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("VTGate at %s:%d did not negotiate HTTP/2 over TLS",
						t->host, t->port),
				 errdetail("The server did not select ALPN protocol \"h2\".")));
	(void) opts;
}

Transport *
transport_connect(const VStreamServerOptions *opts, TimestampTz deadline,
				  MemoryContext cxt)
{
	Transport  *t = MemoryContextAllocZero(cxt, sizeof(Transport));
	struct addrinfo hints;
	struct addrinfo *res = NULL;
	struct addrinfo *ai;
	char		portstr[16];
	int			rc;
	int			err = 0;

	t->sock = PGINVALID_SOCKET;
	t->host = MemoryContextStrdup(cxt, opts->host);
	t->port = opts->port;
	t->cleanup.func = transport_release;
	t->cleanup.arg = t;
	MemoryContextRegisterResetCallback(cxt, &t->cleanup);

	if (!AcquireExternalFD())
		ereport(ERROR,
				(errcode(ERRCODE_TOO_MANY_CONNECTIONS),
				 errmsg("could not connect to VTGate at %s:%d: out of file descriptors",
						t->host, t->port),
				 errhint("Raise max_files_per_process or close other connections.")));
	t->fd_acquired = true;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof(portstr), "%d", opts->port);
	rc = getaddrinfo(opts->host, portstr, &hints, &res);
	if (rc != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not resolve VTGate host \"%s\": %s",
						opts->host, gai_strerror(rc)),
				 errhint("Check the \"host\" option of the foreign server.")));

	PG_TRY();
	{
		for (ai = res; ai; ai = ai->ai_next)
		{
			if (tcp_connect(t, ai, deadline, cxt, &err))
				break;
		}
	}
	PG_FINALLY();
	{
		freeaddrinfo(res);
	}
	PG_END_TRY();

	if (t->sock == PGINVALID_SOCKET)
		connect_failed(t, NULL, err);

	if (opts->tls != VSTREAM_TLS_DISABLE)
	{
		tls_setup(t, opts);
		tls_handshake(t, opts, deadline);
	}
	return t;
}

ssize_t
transport_read(Transport *t, void *buf, size_t len)
{
	if (t->ssl)
	{
		int			r;
		int			e;

		ERR_clear_error();
		r = SSL_read(t->ssl, buf, (int) Min(len, INT_MAX));
		if (r > 0)
			return r;
		e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		if (e == SSL_ERROR_ZERO_RETURN)
			return -1;
		if (e == SSL_ERROR_SYSCALL && (r == 0 || errno == ECONNRESET || errno == EPIPE))
			return -1;
		{
			const char *why = e == SSL_ERROR_SYSCALL ? pstrdup(strerror(errno)) : ssl_error_text();

			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("could not read from VTGate at %s:%d: %s",
							t->host, t->port, why)));
		}
	}
	else
	{
		ssize_t		r = recv(t->sock, buf, len, 0);

		if (r > 0)
			return r;
		if (r == 0)
			return -1;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ECONNRESET || errno == EPIPE)
			return -1;
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not read from VTGate at %s:%d: %m",
						t->host, t->port)));
	}
	return -1;					/* keep compiler quiet */
}

ssize_t
transport_write(Transport *t, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (t->ssl)
	{
		int			r;
		int			e;

		ERR_clear_error();
		r = SSL_write(t->ssl, buf, (int) Min(len, INT_MAX));
		if (r > 0)
			return r;
		e = SSL_get_error(t->ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		{
			const char *why = e == SSL_ERROR_SYSCALL ? pstrdup(strerror(errno)) : ssl_error_text();

			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("could not send to VTGate at %s:%d: %s",
							t->host, t->port, why)));
		}
	}
	else
	{
		ssize_t		r = send(t->sock, buf, len, MSG_NOSIGNAL);

		if (r >= 0)
			return r;
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
			return 0;
		if (errno == ECONNRESET || errno == EPIPE)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("VTGate at %s:%d closed the connection unexpectedly",
							t->host, t->port),
					 errdetail("Sending failed: %m.")));
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not send to VTGate at %s:%d: %m",
						t->host, t->port)));
	}
	return 0;					/* keep compiler quiet */
}

bool
transport_pending(Transport *t)
{
	return t->ssl != NULL && SSL_pending(t->ssl) > 0;
}
