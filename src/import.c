/*-------------------------------------------------------------------------
 *
 * import.c
 *	  IMPORT FOREIGN SCHEMA for vstream_fdw servers.
 *
 * The remote schema is the server's keyspace.  Columns are read from
 * information_schema.COLUMNS through VTGate's MySQL port; each becomes a
 * FIELD description (name, COLUMN_TYPE, collation id) and gets the
 * PostgreSQL type a mirror column of that source column gets
 * (convert_pg_type_sql), so a live foreign table and a mirror table of the
 * same source table have the same column types.  NOT NULL is kept.
 * LIMIT TO and EXCEPT filter by table name, case-sensitively.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/import.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"

#include "convert.h"
#include "import.h"
#include "mysql_conn.h"
#include "options.h"
#include "textsafe.h"

typedef struct CollationId
{
	char		name[NAMEDATALEN * 2];
	uint32		id;
} CollationId;

/* collation name -> id, from information_schema.COLLATIONS */
static HTAB *
read_collations(MysqlConn *conn)
{
	HASHCTL		ctl;
	HTAB	   *h;
	MYSQL_ROW	row;
	unsigned long *lengths;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(((CollationId *) 0)->name);
	ctl.entrysize = sizeof(CollationId);
	ctl.hcxt = CurrentMemoryContext;
	h = hash_create("vstream_fdw collations", 512, &ctl,
					HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	mysqlconn_query(conn, "SELECT COLLATION_NAME, ID FROM information_schema.COLLATIONS");
	while ((row = mysqlconn_fetch(conn, 2, &lengths)) != NULL)
	{
		CollationId *c;
		char		key[NAMEDATALEN * 2];

		if (row[0] == NULL || row[1] == NULL || lengths[0] >= sizeof(key))
			continue;
		memset(key, 0, sizeof(key));
		memcpy(key, row[0], lengths[0]);
		c = hash_search(h, key, HASH_ENTER, NULL);
		c->id = (uint32) strtoul(row[1], NULL, 10);
	}
	return h;
}

static bool
table_wanted(ImportForeignSchemaStmt *stmt, const char *table)
{
	ListCell   *lc;
	bool		listed = false;

	if (stmt->list_type == FDW_IMPORT_SCHEMA_ALL)
		return true;
	foreach(lc, stmt->table_list)
	{
		RangeVar   *rv = (RangeVar *) lfirst(lc);

		if (strcmp(rv->relname, table) == 0)
			listed = true;
	}
	return stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO ? listed : !listed;
}

List *
live_import_foreign_schema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	VStreamServerOptions *opts = options_get_server(serverOid, GetUserId());
	MysqlConn  *conn;
	HTAB	   *collations;
	StringInfoData q;
	StringInfoData create;
	MYSQL_ROW	row;
	unsigned long *lengths;
	char	   *current = NULL;
	List	   *result = NIL;
	ListCell   *lc;

	if (strcmp(stmt->remote_schema, opts->keyspace) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("server \"%s\" serves keyspace \"%s\", not \"%s\"",
						opts->servername, opts->keyspace, stmt->remote_schema),
				 errhint("Use IMPORT FOREIGN SCHEMA \"%s\" FROM SERVER %s, or a server of keyspace \"%s\".",
						 opts->keyspace, opts->servername, stmt->remote_schema)));

	conn = mysqlconn_get(opts, GetUserId(), true);
	PG_TRY();
	{
		collations = read_collations(conn);

		initStringInfo(&q);
		appendStringInfoString(&q,
							   "SELECT TABLE_NAME, COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLLATION_NAME"
							   " FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ");
		mysqlconn_append_literal(&q, opts->keyspace, strlen(opts->keyspace));
		appendStringInfoString(&q, " ORDER BY TABLE_NAME, ORDINAL_POSITION");
		mysqlconn_query(conn, q.data);

		initStringInfo(&create);
		while ((row = mysqlconn_fetch(conn, 5, &lengths)) != NULL)
		{
			Query__Field f;
			char	   *table = pnstrdup(row[0] ? row[0] : "", lengths[0]);
			char	   *column = pnstrdup(row[1] ? row[1] : "", lengths[1]);
			char	   *ctype = pnstrdup(row[2] ? row[2] : "", lengths[2]);
			bool		notnull = row[3] && strcmp(row[3], "NO") == 0;

			if (!table_wanted(stmt, table))
				continue;
			/* names become catalog rows: refuse bytes that are not text */
			if (strlen(table) != lengths[0] || !text_is_valid(table, lengths[0]) ||
				strlen(column) != lengths[1] || !text_is_valid(column, lengths[1]) ||
				strlen(ctype) != lengths[2] || !text_is_valid(ctype, lengths[2]))
				ereport(ERROR,
						(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
						 errmsg("VTGate sent a table or column name that is not valid in the database encoding: %s.%s",
								text_make_valid(table, strlen(table)),
								text_make_valid(column, strlen(column))),
						 errhint("Rename the source table or column, or import the other tables with LIMIT TO.")));
			if (current == NULL || strcmp(current, table) != 0)
			{
				if (current != NULL)
				{
					appendStringInfo(&create, ") SERVER %s OPTIONS (table_name %s)",
									 quote_identifier(stmt->server_name),
									 quote_literal_cstr(current));
					result = lappend(result, pstrdup(create.data));
				}
				resetStringInfo(&create);
				appendStringInfo(&create, "CREATE FOREIGN TABLE %s (",
								 quote_identifier(table));
				current = table;
			}
			else
				appendStringInfoString(&create, ", ");

			query__field__init(&f);
			f.name = column;
			f.column_type = ctype;
			f.type = QUERY__TYPE__NULL_TYPE;	/* from column_type */
			f.charset = 63;		/* binary, unless a collation says otherwise */
			if (row[4] != NULL && lengths[4] < NAMEDATALEN * 2)
			{
				char		key[NAMEDATALEN * 2];
				CollationId *c;

				memset(key, 0, sizeof(key));
				memcpy(key, row[4], lengths[4]);
				c = hash_search(collations, key, HASH_FIND, NULL);
				f.charset = c ? c->id : 255;
			}
			appendStringInfo(&create, "%s %s%s", quote_identifier(column),
							 convert_pg_type_sql(&f),
							 notnull ? " NOT NULL" : "");
		}
		if (current != NULL)
		{
			appendStringInfo(&create, ") SERVER %s OPTIONS (table_name %s)",
							 quote_identifier(stmt->server_name),
							 quote_literal_cstr(current));
			result = lappend(result, pstrdup(create.data));
		}
	}
	PG_CATCH();
	{
		mysqlconn_release(conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	mysqlconn_release(conn);

	/* LIMIT TO a table that does not exist: say so */
	if (stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO)
	{
		foreach(lc, stmt->table_list)
		{
			RangeVar   *rv = (RangeVar *) lfirst(lc);
			ListCell   *lc2;
			bool		found = false;

			foreach(lc2, result)
			{
				char	   *prefix = psprintf("CREATE FOREIGN TABLE %s (",
											  quote_identifier(rv->relname));

				if (strncmp(lfirst(lc2), prefix, strlen(prefix)) == 0)
					found = true;
			}
			if (!found)
				ereport(NOTICE,
						(errmsg("table \"%s\" not found in keyspace \"%s\"",
								rv->relname, opts->keyspace)));
		}
	}
	return result;
}
