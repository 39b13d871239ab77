/*-------------------------------------------------------------------------
 *
 * options.h
 *	  Foreign server and user mapping options of vstream_fdw.
 *
 * A foreign server describes one Vitess keyspace behind one VTGate; its user
 * mapping carries the credentials.  options.c validates them (the FDW
 * validator) and resolves them into a VStreamServerOptions for the client.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/options.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_OPTIONS_H
#define VSTREAM_OPTIONS_H

#include "postgres.h"

#define VSTREAM_DEFAULT_PORT 15991
#define VSTREAM_DEFAULT_MYSQL_PORT 15306

/*
 * Largest accepted max_message_size: 512 MiB.  The receive buffer holds one
 * message plus two reads and is grown inside an nghttp2 callback, which must
 * never raise an error: it has to stay well below MaxAllocSize (1 GiB - 1).
 * VTGate's own default is 16 MiB.
 */
#define VSTREAM_MAX_MESSAGE_SIZE_LIMIT (512 * 1024 * 1024)

typedef enum VStreamTlsMode
{
	VSTREAM_TLS_DISABLE = 0,
	VSTREAM_TLS_REQUIRE,		/* encrypt, do not verify the certificate */
	VSTREAM_TLS_VERIFY_CA,		/* verify the chain against sslrootcert */
	VSTREAM_TLS_VERIFY_FULL		/* verify the chain and the host name */
} VStreamTlsMode;

typedef enum VStreamInvalidValuePolicy
{
	VSTREAM_INVALID_ERROR = 0,	/* stop the stream with an error */
	VSTREAM_INVALID_NULL		/* store NULL and count it */
} VStreamInvalidValuePolicy;

/*
 * Everything the client needs to open a VStream, resolved from the foreign
 * server and the current user's mapping.  All strings are palloc'd in the
 * caller's memory context; optional ones are NULL when not set.
 */
typedef struct VStreamServerOptions
{
	Oid			serverid;
	char	   *servername;
	char	   *host;			/* VTGate host, default "localhost" */
	int			port;			/* VTGate gRPC port, default 15991 */
	char	   *keyspace;		/* required */
	int			tablet_type;	/* topodata.TabletType: 1 primary, 2 replica,
								 * 3 rdonly */
	char	   *cells;			/* comma separated, or NULL */
	VStreamTlsMode tls;
	char	   *sslrootcert;
	int			connect_timeout;	/* seconds */
	int			max_message_size;	/* bytes */
	int			heartbeat_interval; /* seconds, 0 = none */
	VStreamInvalidValuePolicy invalid_values;
	int			mysql_port;		/* VTGate MySQL protocol port (live scans) */
	bool		drop_policy_drop;	/* DROP TABLE at the source drops the
									 * mirror (default: detach and keep it) */

	/* from the user mapping */
	char	   *user;
	char	   *password;
	char	   *sslcert;
	char	   *sslkey;
} VStreamServerOptions;

/*
 * Resolve the options of a foreign server for user "userid" (InvalidOid:
 * the current user).  A missing user mapping is not an error: the
 * credentials are then NULL.  Raises an error if the server does not belong
 * to vstream_fdw.
 */
extern VStreamServerOptions *options_get_server(Oid serverid, Oid userid);
extern VStreamServerOptions *options_get_server_by_name(const char *servername,
														Oid userid);

extern const char *options_tablet_type_name(int tablet_type);

#endif							/* VSTREAM_OPTIONS_H */
