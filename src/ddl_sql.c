/*-------------------------------------------------------------------------
 *
 * ddl_sql.c
 *	  vstream_fdw.parse_ddl(): the DDL parser's result as jsonb.
 *
 * A debugging window into ddl.c: shows what the worker would conclude from
 * the statement of a DDL event.  Every field of the DdlStatement is
 * rendered; NULL pointers and empty lists are JSON nulls, enums are the
 * names of ddl_kind_name() / ddl_alter_kind_name().
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/ddl_sql.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "ddl.h"

PG_FUNCTION_INFO_V1(vstream_parse_ddl);

static const char *
default_kind_name(DdlDefaultKind kind)
{
	switch (kind)
	{
		case DDL_DEFAULT_NONE:
			return "none";
		case DDL_DEFAULT_NULL:
			return "null";
		case DDL_DEFAULT_CONSTANT:
			return "constant";
		case DDL_DEFAULT_EXPRESSION:
			return "expression";
	}
	return "unknown";
}

static void
json_key(StringInfo buf, bool *first, const char *key)
{
	if (!*first)
		appendStringInfoString(buf, ", ");
	*first = false;
	escape_json(buf, key);
	appendStringInfoString(buf, ": ");
}

static void
json_str(StringInfo buf, bool *first, const char *key, const char *value)
{
	json_key(buf, first, key);
	if (value == NULL)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

static void
json_bool(StringInfo buf, bool *first, const char *key, bool value)
{
	json_key(buf, first, key);
	appendStringInfoString(buf, value ? "true" : "false");
}

static void
json_names(StringInfo buf, bool *first, const char *key, List *names)
{
	ListCell   *lc;

	json_key(buf, first, key);
	if (names == NIL)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	appendStringInfoChar(buf, '[');
	foreach(lc, names)
	{
		if (lc != list_head(names))
			appendStringInfoString(buf, ", ");
		escape_json(buf, (const char *) lfirst(lc));
	}
	appendStringInfoChar(buf, ']');
}

static void
json_table(StringInfo buf, const DdlTableName *n)
{
	bool		first = true;

	if (n->name == NULL && n->schema == NULL)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	appendStringInfoChar(buf, '{');
	json_str(buf, &first, "schema", n->schema);
	json_str(buf, &first, "name", n->name);
	appendStringInfoChar(buf, '}');
}

static void
json_column(StringInfo buf, const DdlColumn *c)
{
	bool		first = true;

	if (c == NULL)
	{
		appendStringInfoString(buf, "null");
		return;
	}
	appendStringInfoChar(buf, '{');
	json_str(buf, &first, "name", c->name);
	json_str(buf, &first, "type", c->type);
	json_str(buf, &first, "charset", c->charset);
	json_str(buf, &first, "collation", c->collation);
	json_bool(buf, &first, "not_null", c->not_null);
	json_bool(buf, &first, "primary_key", c->primary_key);
	json_bool(buf, &first, "auto_increment", c->auto_increment);
	json_str(buf, &first, "default_kind", default_kind_name(c->default_kind));
	json_str(buf, &first, "default_value", c->default_value);
	json_bool(buf, &first, "default_hex_or_bit", c->default_hex_or_bit);
	json_bool(buf, &first, "generated", c->generated);
	json_bool(buf, &first, "first", c->first);
	json_str(buf, &first, "after", c->after);
	appendStringInfoChar(buf, '}');
}

static void
json_action(StringInfo buf, const DdlAlterAction *a)
{
	bool		first = true;

	appendStringInfoChar(buf, '{');
	json_str(buf, &first, "kind", ddl_alter_kind_name(a->kind));
	json_str(buf, &first, "name", a->name);
	json_str(buf, &first, "new_name", a->new_name);
	json_key(buf, &first, "column");
	json_column(buf, a->column);
	json_str(buf, &first, "new_table", a->new_table);
	json_str(buf, &first, "new_schema", a->new_schema);
	json_names(buf, &first, "key_columns", a->key_columns);
	json_str(buf, &first, "charset", a->charset);
	json_str(buf, &first, "collation", a->collation);
	json_bool(buf, &first, "if_exists", a->if_exists);
	json_bool(buf, &first, "if_not_exists", a->if_not_exists);
	json_str(buf, &first, "reason", a->reason);
	json_str(buf, &first, "text", a->text);
	appendStringInfoChar(buf, '}');
}

static void
json_statement(StringInfo buf, const DdlStatement *st)
{
	bool		first = true;
	ListCell   *lc;

	appendStringInfoChar(buf, '{');
	json_str(buf, &first, "kind", ddl_kind_name(st->kind));
	json_key(buf, &first, "table");
	json_table(buf, &st->table);

	json_key(buf, &first, "tables");
	if (st->tables == NIL)
		appendStringInfoString(buf, "null");
	else
	{
		appendStringInfoChar(buf, '[');
		foreach(lc, st->tables)
		{
			if (lc != list_head(st->tables))
				appendStringInfoString(buf, ", ");
			json_table(buf, lfirst(lc));
		}
		appendStringInfoChar(buf, ']');
	}

	json_key(buf, &first, "renames");
	if (st->renames == NIL)
		appendStringInfoString(buf, "null");
	else
	{
		appendStringInfoChar(buf, '[');
		foreach(lc, st->renames)
		{
			DdlRename  *r = lfirst(lc);

			if (lc != list_head(st->renames))
				appendStringInfoString(buf, ", ");
			appendStringInfoString(buf, "{\"from\": ");
			json_table(buf, &r->from);
			appendStringInfoString(buf, ", \"to\": ");
			json_table(buf, &r->to);
			appendStringInfoChar(buf, '}');
		}
		appendStringInfoChar(buf, ']');
	}

	json_key(buf, &first, "actions");
	if (st->actions == NIL)
		appendStringInfoString(buf, "null");
	else
	{
		appendStringInfoChar(buf, '[');
		foreach(lc, st->actions)
		{
			if (lc != list_head(st->actions))
				appendStringInfoString(buf, ", ");
			json_action(buf, lfirst(lc));
		}
		appendStringInfoChar(buf, ']');
	}

	json_key(buf, &first, "columns");
	if (st->columns == NIL)
		appendStringInfoString(buf, "null");
	else
	{
		appendStringInfoChar(buf, '[');
		foreach(lc, st->columns)
		{
			if (lc != list_head(st->columns))
				appendStringInfoString(buf, ", ");
			json_column(buf, lfirst(lc));
		}
		appendStringInfoChar(buf, ']');
	}

	json_names(buf, &first, "primary_key", st->primary_key);
	json_key(buf, &first, "like_table");
	json_table(buf, &st->like_table);
	json_bool(buf, &first, "if_exists", st->if_exists);
	json_bool(buf, &first, "if_not_exists", st->if_not_exists);
	json_bool(buf, &first, "temporary", st->temporary);
	json_bool(buf, &first, "or_replace", st->or_replace);
	json_bool(buf, &first, "columns_incomplete", st->columns_incomplete);
	json_str(buf, &first, "reason", st->reason);
	appendStringInfoChar(buf, '}');
}

/*
 * parse_ddl(statement text) RETURNS jsonb
 */
Datum
vstream_parse_ddl(PG_FUNCTION_ARGS)
{
	char	   *statement = text_to_cstring(PG_GETARG_TEXT_PP(0));
	DdlStatement *st = ddl_parse(statement);
	StringInfoData buf;

	initStringInfo(&buf);
	json_statement(&buf, st);
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}
