/*-------------------------------------------------------------------------
 *
 * mysql_conn.c
 *	  Connections to VTGate's MySQL port: TLS, cache, queries, metadata.
 *
 * Connections are opened with libmariadb (MariaDB Connector/C on Debian 12),
 * in the text protocol, charset utf8mb4, database = the server's keyspace.
 *
 * TLS follows the foreign server's "tls" option as libpq's sslmode does:
 *	 disable	 no TLS; the password is still never sent in clear (below)
 *	 require	 TLS asked for (MYSQL_OPT_SSL_ENFORCE), not verified
 *	 verify-ca	 plus the chain is verified against "sslrootcert" (or the
 *				 system store): Connector/C verifies the peer as soon as a CA
 *				 is set, during the TLS handshake, i.e. before the
 *				 authentication packet
 *	 verify-full plus the host name (MYSQL_OPT_SSL_VERIFY_SERVER_CERT); only
 *				 with this flag does Connector/C 3.3 refuse a server without
 *				 TLS before authenticating
 * With require and verify-ca, a server that does not offer TLS is refused
 * right after the handshake (no TLS cipher); until then only authentication
 * methods that send a challenge-response hash, never the password, are
 * allowed (MARIADB_OPT_RESTRICTED_AUTH), as with disable.  mysql_clear_password
 * is allowed only over verify-full.
 * The user mapping's "sslcert" / "sslkey" are sent as client certificate.
 *
 * The cache keeps one connection per (server, user mapping) for the
 * backend's life, as postgres_fdw does.  A syscache callback on foreign servers and user
 * mappings marks entries stale; a stale connection is closed when it is next
 * asked for.  A connection that is busy (a streaming result is open) is not
 * shared: a second scan of the same server in one query gets its own
 * connection, closed when released.  A streaming result abandoned midway (a
 * LIMIT, an error, a cancel) closes its connection instead of reading the
 * rest of the table: with mysql_use_result the rest of the result would
 * otherwise have to be read before the connection could be reused.  At the
 * normal end of a scan, what has already arrived of the result is read
 * (mysqlconn_finish), so that lookups stopped early keep their connection.
 *
 * All I/O uses libmariadb's non-blocking API, and every wait is a
 * WaitLatchOrSocket(): a cancel, statement_timeout or termination is served
 * at once, during connect, while VTGate computes a result and between rows.
 * A call interrupted that way leaves the connection mid-protocol ("pending");
 * it is then closed, never reused.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/mysql_conn.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_user_mapping.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "mysql_conn.h"
#include "textsafe.h"

typedef struct ConnCacheKey
{
	Oid			serverid;
	Oid			umid;			/* the user mapping used (InvalidOid: none) */
} ConnCacheKey;

typedef struct ConnCacheEntry
{
	ConnCacheKey key;
	MysqlConn  *conn;			/* NULL when none is open */
	bool		busy;			/* handed out and not released */
	bool		stale;			/* options changed: reconnect */
} ConnCacheEntry;

static HTAB *conn_cache = NULL;

/* MySQL protocol column types (include/mysql_com.h) not all named alike */
#define MYSQL_PROTO_JSON 245

/*
 * Wait until the socket is ready as libmariadb's non-blocking API asks
 * (status: MYSQL_WAIT_* bits), serving interrupts meanwhile: a cancel or a
 * termination is noticed at once, also while VTGate computes a result.
 * Returns the bits that are ready, for the *_cont() call.
 */
static int
conn_wait(MYSQL *m, int status)
{
	int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;
	long		timeout = -1;

	if (status & MYSQL_WAIT_READ)
		events |= WL_SOCKET_READABLE;
	if (status & MYSQL_WAIT_WRITE)
		events |= WL_SOCKET_WRITEABLE;
	if (status & MYSQL_WAIT_TIMEOUT)
	{
		events |= WL_TIMEOUT;
		timeout = (long) mysql_get_timeout_value_ms(m);
	}
	for (;;)
	{
		int			rc;
		int			ready = 0;

		rc = WaitLatchOrSocket(MyLatch, events, mysql_get_socket(m), timeout,
							   PG_WAIT_EXTENSION);
		if (rc & WL_LATCH_SET)
		{
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
		}
		if (rc & WL_SOCKET_READABLE)
			ready |= MYSQL_WAIT_READ;
		if (rc & WL_SOCKET_WRITEABLE)
			ready |= MYSQL_WAIT_WRITE;
		if (rc & WL_TIMEOUT)
			ready |= MYSQL_WAIT_TIMEOUT;
		if (ready)
			return ready;
	}
}

/*
 * Run a non-blocking libmariadb call to its end: "start" is the *_start()
 * call, "cont" the *_cont() call, which may use ready_ (the bits ready).
 * While it runs conn->pending is set: an error raised meanwhile (a cancel)
 * leaves the connection mid-protocol, and release closes it.
 */
#define NB_CALL(conn, start, cont) \
	do { \
		int			status_; \
		(conn)->pending = true; \
		status_ = (start); \
		while (status_ != 0) \
		{ \
			int			ready_ = conn_wait((conn)->mysql, status_); \
			status_ = (cont); \
		} \
		(conn)->pending = false; \
	} while (0)

/*
 * The user mapping that applies to (server, user): the user's own, else
 * PUBLIC's; InvalidOid when there is none.  Users sharing a mapping share a
 * connection, as in postgres_fdw.
 */
static Oid
user_mapping_oid(Oid serverid, Oid userid)
{
	HeapTuple	tp;
	Oid			umid = InvalidOid;

	tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(userid),
						 ObjectIdGetDatum(serverid));
	if (!HeapTupleIsValid(tp))
		tp = SearchSysCache2(USERMAPPINGUSERSERVER, ObjectIdGetDatum(InvalidOid),
							 ObjectIdGetDatum(serverid));
	if (HeapTupleIsValid(tp))
	{
		umid = ((Form_pg_user_mapping) GETSTRUCT(tp))->oid;
		ReleaseSysCache(tp);
	}
	return umid;
}

/* Syscache callback: options of a server or user mapping changed. */
static void
conn_cache_invalidate(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS seq;
	ConnCacheEntry *e;

	if (conn_cache == NULL)
		return;
	hash_seq_init(&seq, conn_cache);
	while ((e = hash_seq_search(&seq)) != NULL)
		e->stale = true;
}

static void
conn_cache_init(void)
{
	HASHCTL		ctl;

	if (conn_cache != NULL)
		return;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(ConnCacheKey);
	ctl.entrysize = sizeof(ConnCacheEntry);
	conn_cache = hash_create("vstream_fdw MySQL connections", 8, &ctl,
							 HASH_ELEM | HASH_BLOBS);
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, conn_cache_invalidate,
								  (Datum) 0);
	CacheRegisterSyscacheCallback(USERMAPPINGOID, conn_cache_invalidate,
								  (Datum) 0);
}

/* Close a connection and free it; never raises. */
static void
conn_close(MysqlConn *conn)
{
	if (conn->result)
	{
		/*
		 * Do not let mysql_free_result() read the rest of a streaming
		 * result: detach it from the connection, which is closed anyway.
		 */
		conn->result->handle = NULL;
		mysql_free_result(conn->result);
		conn->result = NULL;
	}
	if (conn->mysql)
	{
		mysql_close(conn->mysql);
		conn->mysql = NULL;
	}
	pfree(conn);
}

/*
 * Open a connection; on failure returns NULL with *errmsg set.  The
 * MysqlConn is allocated in TopMemoryContext.
 */
static MysqlConn *
conn_open(const VStreamServerOptions *opts, bool olap, char **errmsg)
{
	MYSQL	   *m;
	MYSQL	   *ret = NULL;
	MysqlConn  *conn;
	unsigned int timeout;
	my_bool		on = 1;
	unsigned int protocol = MYSQL_PROTOCOL_TCP;
	int			err = 0;
	const char *setup[2] = {"SET time_zone = '+00:00'", "SET workload = 'olap'"};
	int			i;

	*errmsg = NULL;
	m = mysql_init(NULL);
	if (m == NULL)
	{
		*errmsg = pstrdup("out of memory");
		return NULL;
	}
	/* every call that waits goes through conn_wait() */
	mysql_options(m, MYSQL_OPT_NONBLOCK, 0);
	timeout = (unsigned int) opts->connect_timeout;
	mysql_options(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	timeout = 300;
	mysql_options(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	mysql_options(m, MYSQL_SET_CHARSET_NAME, "utf8mb4");
	/* TCP even for "localhost" (the client would take a Unix socket) */
	mysql_options(m, MYSQL_OPT_PROTOCOL, &protocol);

	/*
	 * Unless the server is verified with its host name, only authentication
	 * methods that never put the password on the wire: a server (or
	 * something in between) asking for mysql_clear_password is refused.
	 */
	if (opts->tls != VSTREAM_TLS_VERIFY_FULL)
		mysql_options(m, MARIADB_OPT_RESTRICTED_AUTH,
					  "mysql_native_password,caching_sha2_password,client_ed25519");
	if (opts->tls != VSTREAM_TLS_DISABLE)
	{
		/* refuse a server without TLS before any credential is sent */
		mysql_options(m, MYSQL_OPT_SSL_ENFORCE, &on);
		if (opts->tls == VSTREAM_TLS_VERIFY_CA ||
			opts->tls == VSTREAM_TLS_VERIFY_FULL)
		{
			if (opts->sslrootcert)
				mysql_options(m, MYSQL_OPT_SSL_CA, opts->sslrootcert);
			else
				mysql_options(m, MYSQL_OPT_SSL_CAPATH, "/etc/ssl/certs");
		}
		else if (opts->sslrootcert)
			mysql_options(m, MYSQL_OPT_SSL_CA, opts->sslrootcert);
		if (opts->tls == VSTREAM_TLS_VERIFY_FULL)
			mysql_options(m, MYSQL_OPT_SSL_VERIFY_SERVER_CERT, &on);
		if (opts->sslcert)
			mysql_options(m, MYSQL_OPT_SSL_CERT, opts->sslcert);
		if (opts->sslkey)
			mysql_options(m, MYSQL_OPT_SSL_KEY, opts->sslkey);
	}

	conn = MemoryContextAllocZero(TopMemoryContext, sizeof(MysqlConn));
	conn->mysql = m;
	conn->olap = olap;
	conn->where = MemoryContextStrdup(TopMemoryContext,
									  psprintf("%s:%d", opts->host,
											   opts->mysql_port));
	PG_TRY();
	{
		NB_CALL(conn,
				mysql_real_connect_start(&ret, m, opts->host, opts->user,
										 opts->password, opts->keyspace,
										 opts->mysql_port, NULL, 0),
				mysql_real_connect_cont(&ret, m, ready_));

		/*
		 * TIMESTAMP values in UTC, as VStream sends them; streaming results
		 * without VTGate's row limit for OLAP connections.
		 */
		for (i = 0; ret != NULL && i < (olap ? 2 : 1) && err == 0; i++)
			NB_CALL(conn,
					mysql_real_query_start(&err, m, setup[i], strlen(setup[i])),
					mysql_real_query_cont(&err, m, ready_));
	}
	PG_CATCH();
	{
		conn_close(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	/*
	 * Connector/C 3.3 refuses a server without TLS before authenticating
	 * only together with host name verification (verify-full); for require
	 * and verify-ca it would go on in clear.  Refuse such a connection here:
	 * only a challenge-response hash has been sent (see above).
	 */
	if (ret != NULL && err == 0 && opts->tls != VSTREAM_TLS_DISABLE &&
		mysql_get_ssl_cipher(m) == NULL)
	{
		*errmsg = pstrdup("the server did not establish TLS (tls is required by the server's options)");
		conn_close(conn);
		return NULL;
	}
	if (ret == NULL || err != 0)
	{
		*errmsg = ret == NULL ? text_make_valid_cstr(mysql_error(m)) :
			psprintf("could not set up the session: %s",
					 text_make_valid_cstr(mysql_error(m)));
		conn_close(conn);
		return NULL;
	}
	return conn;
}

static void
raise_connect_error(const VStreamServerOptions *opts, const char *msg)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
			 errmsg("could not connect to VTGate at %s:%d over the MySQL protocol: %s",
					opts->host, opts->mysql_port, msg),
			 opts->tls != VSTREAM_TLS_DISABLE ?
			 errhint("Check the \"mysql_port\", \"tls\" and \"sslrootcert\" options of server \"%s\" and the user mapping.",
					 opts->servername) :
			 errhint("Check the \"mysql_port\" option of server \"%s\" and the user mapping.",
					 opts->servername)));
}

MysqlConn *
mysqlconn_open(const VStreamServerOptions *opts, bool olap, char **errmsg)
{
	return conn_open(opts, olap, errmsg);
}

MysqlConn *
mysqlconn_get(const VStreamServerOptions *opts, Oid userid, bool olap)
{
	ConnCacheKey key;
	ConnCacheEntry *e;
	bool		found;
	MysqlConn  *conn;
	char	   *msg;

	conn_cache_init();
	memset(&key, 0, sizeof(key));
	key.serverid = opts->serverid;
	key.umid = user_mapping_oid(opts->serverid, userid);
	e = hash_search(conn_cache, &key, HASH_ENTER, &found);
	if (!found)
	{
		e->conn = NULL;
		e->busy = false;
		e->stale = false;
	}

	if (e->busy)
	{
		/* a scan of this server is streaming: use a private connection */
		conn = conn_open(opts, olap, &msg);
		if (conn == NULL)
			raise_connect_error(opts, msg);
		return conn;
	}

	if (e->conn && !e->stale)
	{
		int			err = 0;

		/* a connection the server closed meanwhile is replaced */
		NB_CALL(e->conn, mysql_ping_start(&err, e->conn->mysql),
				mysql_ping_cont(&err, e->conn->mysql, ready_));
		if (err != 0)
			e->stale = true;
	}
	if (e->conn && e->stale)
	{
		conn_close(e->conn);
		e->conn = NULL;
	}
	e->stale = false;
	if (e->conn == NULL)
	{
		/* cached connections are all OLAP: nothing else needs another mode */
		conn = conn_open(opts, true, &msg);
		if (conn == NULL)
			raise_connect_error(opts, msg);
		conn->cached = true;
		e->conn = conn;
	}
	e->busy = true;
	return e->conn;
}

void
mysqlconn_release(MysqlConn *conn)
{
	HASH_SEQ_STATUS seq;
	ConnCacheEntry *e;
	ConnCacheEntry *owner = NULL;

	if (conn == NULL)
		return;
	if (conn->cached && conn_cache != NULL)
	{
		hash_seq_init(&seq, conn_cache);
		while ((e = hash_seq_search(&seq)) != NULL)
		{
			if (e->conn == conn)
				owner = e;
		}
	}
	if (owner == NULL)
	{
		conn_close(conn);
		return;
	}
	owner->busy = false;
	if (conn->pending || conn->result != NULL)
	{
		/* abandoned midway: close rather than read the rest */
		owner->conn = NULL;
		conn_close(conn);
	}
}

void
mysqlconn_finish(MysqlConn *conn)
{
	int			n;

	if (conn == NULL)
		return;

	/*
	 * The rest of a result that has already arrived (a small lookup whose
	 * end the executor did not ask for) is read, so that the connection can
	 * be kept; anything that would wait for the server is abandoned.
	 */
	for (n = 0; conn->result != NULL && !conn->pending && n < 10000; n++)
	{
		MYSQL_ROW	row;

		if (mysql_fetch_row_start(&row, conn->result) != 0)
		{
			conn->pending = true;	/* suspended mid-read: close */
			break;
		}
		if (row == NULL)
		{
			if (mysql_errno(conn->mysql) == 0)
			{
				mysql_free_result(conn->result);
				conn->result = NULL;
			}
			break;
		}
	}
	mysqlconn_release(conn);
}

MYSQL_RES *
mysqlconn_query(MysqlConn *conn, const char *sql)
{
	int			err = 0;

	if (conn->result || conn->pending)
	{
		conn->result->handle = NULL;
		mysql_free_result(conn->result);
		conn->result = NULL;
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("MySQL connection reused while a result is open")));
	}
	NB_CALL(conn, mysql_real_query_start(&err, conn->mysql, sql, strlen(sql)),
			mysql_real_query_cont(&err, conn->mysql, ready_));
	if (err != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("query on VTGate at %s failed: %s",
						conn->where, text_make_valid_cstr(mysql_error(conn->mysql))),
				 errdetail("Remote query: %s", sql)));
	conn->result = mysql_use_result(conn->mysql);
	if (conn->result == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("query on VTGate at %s returned no result set: %s",
						conn->where, text_make_valid_cstr(mysql_error(conn->mysql))),
				 errdetail("Remote query: %s", sql)));
	return conn->result;
}

MYSQL_ROW
mysqlconn_fetch(MysqlConn *conn, unsigned int ncols, unsigned long **lengths)
{
	MYSQL_ROW	row;

	CHECK_FOR_INTERRUPTS();
	if (conn->result == NULL)
		return NULL;
	NB_CALL(conn, mysql_fetch_row_start(&row, conn->result),
			mysql_fetch_row_cont(&row, conn->result, ready_));
	if (row == NULL)
	{
		unsigned int err = mysql_errno(conn->mysql);
		char	   *msg = err ? text_make_valid_cstr(mysql_error(conn->mysql)) : NULL;

		if (err != 0)
		{
			/* the connection is unusable: let release close it */
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("could not fetch rows from VTGate at %s: %s",
							conn->where, msg)));
		}
		mysql_free_result(conn->result);
		conn->result = NULL;
		return NULL;
	}
	if (mysql_num_fields(conn->result) < ncols)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_COLUMN_NUMBER),
				 errmsg("VTGate returned %u columns where %u were expected",
						mysql_num_fields(conn->result), ncols)));
	*lengths = mysql_fetch_lengths(conn->result);
	return row;
}

/*
 * query.Type of a MySQL protocol column (Vitess's sqltypes.MySQLToType).
 */
static int
vitess_type_of(const MYSQL_FIELD *mf)
{
	bool		uns = (mf->flags & UNSIGNED_FLAG) != 0;
	bool		bin = mf->charsetnr == 63;

	switch ((int) mf->type)
	{
		case MYSQL_TYPE_DECIMAL:
		case MYSQL_TYPE_NEWDECIMAL:
			return QUERY__TYPE__DECIMAL;
		case MYSQL_TYPE_TINY:
			return uns ? QUERY__TYPE__UINT8 : QUERY__TYPE__INT8;
		case MYSQL_TYPE_SHORT:
			return uns ? QUERY__TYPE__UINT16 : QUERY__TYPE__INT16;
		case MYSQL_TYPE_LONG:
			return uns ? QUERY__TYPE__UINT32 : QUERY__TYPE__INT32;
		case MYSQL_TYPE_INT24:
			return uns ? QUERY__TYPE__UINT24 : QUERY__TYPE__INT24;
		case MYSQL_TYPE_LONGLONG:
			return uns ? QUERY__TYPE__UINT64 : QUERY__TYPE__INT64;
		case MYSQL_TYPE_FLOAT:
			return QUERY__TYPE__FLOAT32;
		case MYSQL_TYPE_DOUBLE:
			return QUERY__TYPE__FLOAT64;
		case MYSQL_TYPE_NULL:
			return QUERY__TYPE__NULL_TYPE;
		case MYSQL_TYPE_TIMESTAMP:
			return QUERY__TYPE__TIMESTAMP;
		case MYSQL_TYPE_DATE:
		case MYSQL_TYPE_NEWDATE:
			return QUERY__TYPE__DATE;
		case MYSQL_TYPE_TIME:
			return QUERY__TYPE__TIME;
		case MYSQL_TYPE_DATETIME:
			return QUERY__TYPE__DATETIME;
		case MYSQL_TYPE_YEAR:
			return QUERY__TYPE__YEAR;
		case MYSQL_TYPE_BIT:
			return QUERY__TYPE__BIT;
		case MYSQL_PROTO_JSON:
			return QUERY__TYPE__JSON;
		case MYSQL_TYPE_ENUM:
			return QUERY__TYPE__ENUM;
		case MYSQL_TYPE_SET:
			return QUERY__TYPE__SET;
		case MYSQL_TYPE_GEOMETRY:
			return QUERY__TYPE__GEOMETRY;
		case MYSQL_TYPE_TINY_BLOB:
		case MYSQL_TYPE_MEDIUM_BLOB:
		case MYSQL_TYPE_LONG_BLOB:
		case MYSQL_TYPE_BLOB:
			return bin ? QUERY__TYPE__BLOB : QUERY__TYPE__TEXT;
		case MYSQL_TYPE_VARCHAR:
		case MYSQL_TYPE_VAR_STRING:
			return bin ? QUERY__TYPE__VARBINARY : QUERY__TYPE__VARCHAR;
		case MYSQL_TYPE_STRING:
			/* ENUM and SET arrive as STRING with a flag; as text here */
			return bin ? QUERY__TYPE__BINARY : QUERY__TYPE__CHAR;
		default:
			return QUERY__TYPE__NULL_TYPE;
	}
}

void
mysqlconn_field_to_query_field(const MYSQL_FIELD *mf, const char *column_type,
							   Query__Field *field)
{
	query__field__init(field);
	/* the name appears in error messages: make it valid text */
	field->name = text_make_valid_cstr(mf->name);
	field->type = vitess_type_of(mf);
	field->flags = mf->flags;
	field->charset = mf->charsetnr;
	field->decimals = mf->decimals;
	field->column_length = (uint32) mf->length;
	field->column_type = (char *) (column_type ? column_type : "");
}

void
mysqlconn_append_ident(StringInfo buf, const char *ident)
{
	const char *p;

	appendStringInfoChar(buf, '`');
	for (p = ident; *p; p++)
	{
		if (*p == '`')
			appendStringInfoChar(buf, '`');
		appendStringInfoChar(buf, *p);
	}
	appendStringInfoChar(buf, '`');
}

void
mysqlconn_append_hex(StringInfo buf, const char *s, int len)
{
	static const char hex[] = "0123456789ABCDEF";
	int			i;

	appendStringInfoString(buf, "X'");
	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		appendStringInfoChar(buf, hex[c >> 4]);
		appendStringInfoChar(buf, hex[c & 15]);
	}
	appendStringInfoChar(buf, '\'');
}

void
mysqlconn_append_literal(StringInfo buf, const char *s, int len)
{
	int			i;
	bool		plain = true;

	for (i = 0; i < len; i++)
	{
		unsigned char c = (unsigned char) s[i];

		if (c == '\\' || c < 0x20 || c == 0x7f)
		{
			plain = false;
			break;
		}
	}
	if (!plain)
	{
		/* backslashes mean different things under different sql_modes */
		appendStringInfoString(buf, "CONVERT(");
		mysqlconn_append_hex(buf, s, len);
		appendStringInfoString(buf, " USING utf8mb4)");
		return;
	}
	appendStringInfoChar(buf, '\'');
	for (i = 0; i < len; i++)
	{
		if (s[i] == '\'')
			appendStringInfoChar(buf, '\'');
		appendStringInfoChar(buf, s[i]);
	}
	appendStringInfoChar(buf, '\'');
}

/*
 * Run a query on an uncached connection and return the first column of each
 * row (at most max), or -1 on any failure.  Never raises except for an
 * interrupt.
 */
static int
conn_query_values(MysqlConn *conn, const char *sql, char **values, int max)
{
	int			err = 0;
	MYSQL_RES  *res = NULL;
	MYSQL_ROW	row;
	int			n = 0;

	NB_CALL(conn, mysql_real_query_start(&err, conn->mysql, sql, strlen(sql)),
			mysql_real_query_cont(&err, conn->mysql, ready_));
	if (err != 0)
		return -1;
	NB_CALL(conn, mysql_store_result_start(&res, conn->mysql),
			mysql_store_result_cont(&res, conn->mysql, ready_));
	if (res == NULL)
		return -1;
	while (n < max && (row = mysql_fetch_row(res)) != NULL)
		values[n++] = row[0] ? pstrdup(row[0]) : NULL;
	mysql_free_result(res);
	return n;
}

bool
mysqlconn_estimate_rows(const VStreamServerOptions *opts, const char *table,
						double *rows)
{
	MysqlConn  *conn;
	char	   *why;
	StringInfoData q;
	char	   *values[1024];
	int			nshards;
	int			n;
	volatile bool ok = false;

	conn = conn_open(opts, false, &why);
	if (conn == NULL)
		return false;
	PG_TRY();
	{
		initStringInfo(&q);
		appendStringInfoString(&q, "SHOW VITESS_SHARDS LIKE ");
		mysqlconn_append_literal(&q, psprintf("%s/%%", opts->keyspace),
								 strlen(opts->keyspace) + 2);
		nshards = conn_query_values(conn, q.data, values, lengthof(values));

		/* InnoDB's estimate of one shard (VTGate asks one) */
		resetStringInfo(&q);
		appendStringInfoString(&q, "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = ");
		mysqlconn_append_literal(&q, opts->keyspace, strlen(opts->keyspace));
		appendStringInfoString(&q, " AND TABLE_NAME = ");
		mysqlconn_append_literal(&q, table, strlen(table));
		if (nshards > 0 &&
			(n = conn_query_values(conn, q.data, values, 1)) == 1 &&
			values[0] != NULL)
		{
			*rows = strtod(values[0], NULL) * nshards;
			ok = true;
		}
	}
	PG_CATCH();
	{
		conn_close(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	conn_close(conn);
	return ok;
}

/*
 * Unquote a MariaDB COLUMN_DEFAULT string literal ('it''s' -> it's).
 */
static char *
unquote_mysql_literal(const char *v, size_t len)
{
	StringInfoData buf;
	size_t		i;

	initStringInfo(&buf);
	for (i = 1; i + 1 < len; i++)
	{
		if ((v[i] == '\'' && v[i + 1] == '\'') || v[i] == '\\')
			i++;
		appendStringInfoChar(&buf, v[i]);
	}
	return buf.data;
}

/*
 * The worker's read of a column default: an uncached connection with TLS as
 * configured, a plain buffered query.  Lives here, not in the scan code, so
 * that the apply path does not depend on the live foreign tables.
 */
bool
mysqlconn_column_default(const VStreamServerOptions *opts, const char *table,
					const char *column, char **value, bool *isnull)
{
	MysqlConn  *conn;
	MYSQL_RES  *res = NULL;
	MYSQL_ROW	row;
	unsigned long *lengths;
	StringInfoData q;
	char	   *why;
	int			err = 0;
	bool		known = false;

	*value = NULL;
	*isnull = false;
	conn = mysqlconn_open(opts, false, &why);
	if (conn == NULL)
	{
		ereport(WARNING,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not read the default of column \"%s\" of table \"%s\" through VTGate at %s:%d: %s",
						column, table, opts->host, opts->mysql_port, why)));
		return false;
	}
	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT COLUMN_DEFAULT, EXTRA FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ");
	mysqlconn_append_literal(&q, opts->keyspace, strlen(opts->keyspace));
	appendStringInfoString(&q, " AND TABLE_NAME = ");
	mysqlconn_append_literal(&q, table, strlen(table));
	appendStringInfoString(&q, " AND COLUMN_NAME = ");
	mysqlconn_append_literal(&q, column, strlen(column));
	/* interruptible like every other wait; a small buffered result */
	NB_CALL(conn, mysql_real_query_start(&err, conn->mysql, q.data, q.len),
			mysql_real_query_cont(&err, conn->mysql, ready_));
	if (err == 0)
		NB_CALL(conn, mysql_store_result_start(&res, conn->mysql),
				mysql_store_result_cont(&res, conn->mysql, ready_));
	if (err == 0 && res != NULL &&
		mysql_num_fields(res) >= 2 &&
		(row = mysql_fetch_row(res)) != NULL)
	{
		const char *def = row[0];
		const char *extra = row[1] ? row[1] : "";

		lengths = mysql_fetch_lengths(res);
		if (def == NULL || strcmp(def, "NULL") == 0)
		{
			*isnull = true;
			known = true;
		}
		else if (lengths[0] >= 2 && def[0] == '\'' && def[lengths[0] - 1] == '\'')
		{
			/* MariaDB quotes string literals */
			*value = unquote_mysql_literal(def, lengths[0]);
			known = true;
		}
		else if (strstr(extra, "DEFAULT_GENERATED") == NULL &&
				 strchr(def, '(') == NULL)
		{
			/* a number (MariaDB) or an unquoted literal (MySQL) */
			*value = pnstrdup(def, lengths[0]);
			known = true;
		}
	}
	if (res)
		mysql_free_result(res);
	mysqlconn_release(conn);
	return known;
}
