/*-------------------------------------------------------------------------
 *
 * mysql_conn.h
 *	  Connections to VTGate's MySQL port: TLS, cache, queries, metadata.
 *
 * Every MySQL-protocol access of vstream_fdw (live foreign scans, IMPORT
 * FOREIGN SCHEMA, verify(), the worker's column defaults) goes through this
 * module, so that the server's "tls" / "sslrootcert" options and the user
 * mapping's "sslcert" / "sslkey" always apply: with TLS asked for, the
 * connection fails before any credential is sent unless TLS is established
 * (and verified, for verify-ca / verify-full).
 *
 * Including this header brings in <mysql.h> with the names that clash with
 * pg_list.h renamed.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/mysql_conn.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_MYSQL_CONN_H
#define VSTREAM_MYSQL_CONN_H

#include "postgres.h"

#include "lib/stringinfo.h"

#include "options.h"
#include "query.pb-c.h"

/* libmariadb declares list_* functions that clash with pg_list.h. */
#define list_length mysql_list_length
#define list_delete mysql_list_delete
#define list_free mysql_list_free
#define list_add mysql_list_add
#define list_cons mysql_list_cons
#define list_reverse mysql_list_reverse
#include <mysql.h>
#undef list_length
#undef list_delete
#undef list_free
#undef list_add
#undef list_cons
#undef list_reverse

/*
 * A connection handed out by mysqlconn_get().  Release it with
 * mysqlconn_release() (also from error cleanup: it never raises).
 */
typedef struct MysqlConn
{
	MYSQL	   *mysql;
	bool		cached;			/* belongs to the cache entry */
	bool		olap;			/* SET workload = 'olap' done */
	MYSQL_RES  *result;			/* streaming result not yet read to its end */
	bool		pending;		/* a call was interrupted mid-protocol */
	const char *where;			/* "host:port" for messages */
} MysqlConn;

/*
 * A connection for the server and user of opts: the cached one of the
 * server and the user mapping that applies to userid when it is idle, else
 * a new one.  With olap, the
 * session runs "SET workload = 'olap'" (streaming results, no row limit).
 * Raises an error when it cannot connect.
 */
extern MysqlConn *mysqlconn_get(const VStreamServerOptions *opts, Oid userid,
								bool olap);

/*
 * Open an uncached connection (the worker's use).  Returns NULL and sets
 * *errmsg (palloc'd) when it cannot connect; never raises for a remote
 * failure.
 */
extern MysqlConn *mysqlconn_open(const VStreamServerOptions *opts, bool olap,
								 char **errmsg);

/*
 * Give a connection back.  A connection with an unfinished streaming result
 * is closed without reading the rest (the server sees the connection end and
 * stops); an idle cached one stays in the cache.  Never raises.
 */
extern void mysqlconn_release(MysqlConn *conn);

/*
 * Like mysqlconn_release(), but first reads what is left of a streaming
 * result if it has already arrived (no waiting), so that the connection can
 * stay in the cache.  For the normal end of a scan; never raises.
 */
extern void mysqlconn_finish(MysqlConn *conn);

/*
 * Run a query and start a streaming (mysql_use_result) result on it.  Raises
 * an error naming the query when the server refuses it.
 */
extern MYSQL_RES *mysqlconn_query(MysqlConn *conn, const char *sql);

/*
 * Next row of the streaming result, or NULL at its end (the result is then
 * freed).  Checks that the row has "ncols" columns.  Raises on errors.
 * Every wait (connect, query, fetch) is on the latch and the socket: a
 * cancel is served at once.
 */
extern MYSQL_ROW mysqlconn_fetch(MysqlConn *conn, unsigned int ncols,
								 unsigned long **lengths);

/*
 * The planner's row estimate of a source table: InnoDB's estimate of one
 * shard (information_schema.TABLES.TABLE_ROWS, which VTGate answers from one
 * shard) times the number of shards of the keyspace.  Opens its own short
 * connection.  False if it cannot be known; never raises for a remote
 * failure.
 */
extern bool mysqlconn_estimate_rows(const VStreamServerOptions *opts,
									const char *table, double *rows);

/*
 * Describe a result column as a VStream FIELD would (query.Type from the
 * MySQL protocol type and flags), so that convert.c converts live values
 * exactly as it converts replicated ones.  column_type may be NULL.  The
 * strings point into the MYSQL_FIELD / column_type.
 */
extern void mysqlconn_field_to_query_field(const MYSQL_FIELD *mf,
										   const char *column_type,
										   Query__Field *field);

/* `ident` with backquotes doubled. */
extern void mysqlconn_append_ident(StringInfo buf, const char *ident);

/*
 * The constant default of a source column, read from information_schema
 * through VTGate's MySQL port (the worker's use of this module).  Returns
 * false if it cannot be known (no connection, an expression default);
 * otherwise *isnull or *value (palloc'd, unquoted) describe it.  Never
 * raises an error for a remote failure.
 */
extern bool mysqlconn_column_default(const VStreamServerOptions *opts,
									 const char *table, const char *column,
									 char **value, bool *isnull);

/* 'literal' with quotes and backslashes escaped (valid in any sql_mode). */
extern void mysqlconn_append_literal(StringInfo buf, const char *s, int len);

/* X'hex' literal of raw bytes. */
extern void mysqlconn_append_hex(StringInfo buf, const char *s, int len);

#endif							/* VSTREAM_MYSQL_CONN_H */
