/*-------------------------------------------------------------------------
 *
 * schema_change.c
 *	  DDL events: what a source schema change does to the mirror.
 *
 * A DDL event ([VGTID, DDL]) carries the statement the source executed; the
 * next FIELD event of the table shows its new shape (schema.c reconciles
 * it).  Here the statement is parsed (ddl.c) and each recognised change is
 * applied to the mirror in the transaction that records the event's
 * position:
 *
 *	ADD COLUMN			the column, with the source's constant default (or
 *						MySQL's implicit one for NOT NULL) for existing rows;
 *						an expression default: copy the table again
 *	DROP COLUMN			dropped (the source name is remembered as dropped,
 *						so a shard that has not applied it is ignored)
 *	RENAME / CHANGE		renamed; the old name stays an alias for lagging
 *						shards; a new type is handled as MODIFY
 *	MODIFY				kept if the mirror type holds every value, widened
 *						with a cast that keeps values, else copied again
 *	primary key			re-keyed in place, else copied again
 *	TRUNCATE			truncated (one shard) or copied again (several
 *						shards: each shard truncates at its own moment)
 *	DROP TABLE			detached (renamed, kept) or dropped: server option
 *						drop_policy
 *	RENAME TABLE		renamed (swaps too); a table renamed to a mirrored
 *						name (online DDL cut-over) is copied again
 *	CREATE TABLE		copied (which creates the mirror from its FIELD)
 *	indexes, options	nothing
 *	anything else		the shard's next FIELD events are compared with the
 *						mirrors strictly; an ALTER clause not understood
 *						copies the table again
 *
 * A sharded keyspace sends the DDL once per shard, each at its own
 * position: every change is applied idempotently (the second shard finds
 * it done), and the mirror serves shards that have not applied it yet
 * through column aliases.  Every event is recorded in
 * vstream_fdw.schema_history with what was done.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/schema_change.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "parser/parse_type.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "apply.h"
#include "convert.h"
#include "copystate.h"
#include "ddl.h"
#include "filter.h"
#include "mirror.h"
#include "schema_change.h"
#include "shape.h"
#include "textsafe.h"

#define MYSQL_CHARSET_BINARY 63
#define MYSQL_CHARSET_UTF8MB4 45

/* Does the stream mirror this source table (by its filter)? */
static bool
in_filter(ApplyState *state, const char *table)
{
	ListCell   *lc;

	if (table == NULL || mirror_is_internal_table(table))
		return false;
	if (state->def->tables == NIL)
		return true;
	foreach(lc, state->def->tables)
		if (strcmp(lfirst(lc), table) == 0)
			return true;
	return false;
}

/*
 * A FIELD-like description of a column definition, so that the mirror type
 * comes from the same mapping as for FIELD events.  NULL if the type is not
 * one convert.c knows.
 */
static Query__Field *
ddl_column_field(const DdlColumn *c)
{
	Query__Field *f;
	char	   *base;
	int			i;
	static const char *const binary_bases[] = {
		"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob",
		"bit", NULL
	};
	static const char *const known[] = {
		"tinyint", "bool", "boolean", "smallint", "mediumint", "int", "integer",
		"bigint", "float", "double", "real", "decimal", "numeric", "dec", "fixed",
		"date", "datetime", "timestamp", "time", "year", "char", "varchar",
		"tinytext", "text", "mediumtext", "longtext", "binary", "varbinary",
		"tinyblob", "blob", "mediumblob", "longblob", "enum", "set", "json",
		"bit", NULL
	};
	bool		ok = false;

	if (c == NULL || c->type == NULL)
		return NULL;
	base = pstrdup(c->type);
	for (i = 0; base[i]; i++)
		if (base[i] == '(' || base[i] == ' ')
		{
			base[i] = '\0';
			break;
		}
	for (i = 0; known[i]; i++)
		if (strcmp(base, known[i]) == 0)
			ok = true;
	if (!ok)
		return NULL;
	f = palloc(sizeof(Query__Field));
	query__field__init(f);
	f->name = c->name;
	f->type = QUERY__TYPE__NULL_TYPE;	/* from column_type */
	f->column_type = c->type;
	f->charset = MYSQL_CHARSET_UTF8MB4;
	for (i = 0; binary_bases[i]; i++)
		if (strcmp(base, binary_bases[i]) == 0)
			f->charset = MYSQL_CHARSET_BINARY;
	if (c->charset && strcmp(c->charset, "binary") == 0)
		f->charset = MYSQL_CHARSET_BINARY;
	if (c->not_null)
		f->flags |= 1;			/* NOT_NULL_FLAG */
	return f;
}

/*
 * The value MySQL gives existing rows for a new column, as a literal for
 * the mirror column; NULL with *known = true means NULL.  *known = false: it
 * cannot be derived here (the table is copied again).
 */
static const char *
existing_rows_value(const DdlColumn *c, const Query__Field *f, bool *known)
{
	char	   *pgtype = convert_pg_type_sql(f);
	bool		numeric = strstr(pgtype, "int") != NULL ||
		strncmp(pgtype, "numeric", 7) == 0 || strcmp(pgtype, "real") == 0 ||
		strcmp(pgtype, "double precision") == 0;
	bool		text = strcmp(pgtype, "text") == 0;

	*known = true;
	switch (c->default_kind)
	{
		case DDL_DEFAULT_NONE:
			if (!c->not_null)
				return NULL;
			/* MySQL's implicit default of a NOT NULL column */
			if (numeric)
				return "0";
			if (text && strncmp(c->type, "enum", 4) != 0 &&
				strncmp(c->type, "set", 3) != 0)
				return "";
			*known = false;
			return NULL;
		case DDL_DEFAULT_NULL:
			return NULL;
		case DDL_DEFAULT_CONSTANT:
			/* X'41', 0x41, b'101': bytes, not text; leave them to a copy */
			if (c->default_hex_or_bit)
			{
				*known = false;
				return NULL;
			}
			if ((numeric || text || strcmp(pgtype, "date") == 0 ||
				 strncmp(pgtype, "timestamp", 9) == 0) &&
				c->default_value != NULL && !c->generated)
				return c->default_value;
			*known = false;
			return NULL;
		case DDL_DEFAULT_EXPRESSION:
			*known = false;
			return NULL;
	}
	*known = false;
	return NULL;
}

static void
append_action(StringInfo actions, const char *fmt,...) pg_attribute_printf(2, 3);

static void
append_action(StringInfo actions, const char *fmt,...)
{
	va_list		args;

	if (actions->len > 0)
		appendStringInfoString(actions, "; ");
	for (;;)
	{
		int			needed;

		va_start(args, fmt);
		needed = appendStringInfoVA(actions, fmt, args);
		va_end(args);
		if (needed == 0)
			break;
		enlargeStringInfo(actions, needed);
	}
}

/* The mirror column's type: OID and typmod. */
static bool
mirror_column_type(ApplyState *state, MirrorTable *mt, const char *column,
				   Oid *typid, int32 *typmod)
{
	Oid			relid = mirror_relid(state->def, mt);
	AttrNumber	att;

	if (!OidIsValid(relid))
		return false;
	att = get_attnum(relid, column);
	if (att == InvalidAttrNumber)
		return false;
	get_atttypetypmodcoll(relid, att, typid, typmod, &(Oid) {0});
	return true;
}

/* MODIFY / CHANGE: the column's new definition. */
static void
change_type(ApplyState *state, MirrorTable *mt, const DdlColumn *c,
			bool *recopy, StringInfo actions)
{
	MirrorColumn *mc = mirror_find_column(mt, c->name);
	Query__Field *f = ddl_column_field(c);
	Oid			typid;
	int32		typmod;
	char	   *newtype;

	if (mc == NULL || mc->column == NULL)
		return;
	if (f == NULL)
	{
		append_action(actions, "type of %s left to the next FIELD event", c->name);
		return;
	}
	if (!mirror_column_type(state, mt, mc->column, &typid, &typmod))
		return;
	switch (schema_type_decision(typid, typmod, f, &newtype))
	{
		case SCHEMA_TYPE_KEEP:
			if (typid == TEXTOID && strcmp(newtype, "text") != 0)
			{
				/*
				 * A change of representation (text to a number, a date...):
				 * MySQL converted every value; so does the cast, or the
				 * table is copied again.
				 */
				apply_close_rels(state);
				if (mirror_try_retype(state->def, mt, mc->column, newtype))
					append_action(actions, "column %s converted to %s", mc->column, newtype);
				else
				{
					mirror_retype_column(state->def, mt, mc->column, newtype, false);
					append_action(actions, "column %s changed to %s (values need a new copy)",
								  mc->column, newtype);
					*recopy = true;
				}
				break;
			}
			append_action(actions, "column %s kept as %s", mc->column,
						  format_type_with_typemod(typid, typmod));
			break;
		case SCHEMA_TYPE_WIDEN:
			apply_close_rels(state);
			mirror_retype_column(state->def, mt, mc->column, newtype, true);
			append_action(actions, "column %s changed to %s", mc->column, newtype);
			break;
		case SCHEMA_TYPE_RECOPY:
			apply_close_rels(state);
			mirror_retype_column(state->def, mt, mc->column, newtype, false);
			append_action(actions, "column %s changed to %s (values need a new copy)",
						  mc->column, newtype);
			*recopy = true;
			break;
	}
}

static void
add_column(ApplyState *state, MirrorTable *mt, const DdlColumn *c,
		   bool *recopy, StringInfo actions)
{
	MirrorColumn *mc = mirror_find_column(mt, c->name);
	Query__Field *f;
	const char *value;
	bool		known;

	if (mc != NULL && mc->column != NULL)
	{
		append_action(actions, "column %s already added", mc->column);
		return;
	}
	{
		List	   *streamed = filter_columns(state->stream_id, mt->source_table);
		ListCell   *lc;
		bool		in = (streamed == NIL);

		foreach(lc, streamed)
			if (pg_strcasecmp(lfirst(lc), c->name) == 0)
				in = true;
		if (!in)
		{
			append_action(actions, "column %s not mirrored (the table's column filter; set_table_filter() again to include it)",
						  c->name);
			return;
		}
	}
	f = ddl_column_field(c);
	if (f == NULL)
	{
		append_action(actions, "column %s left to the next FIELD event", c->name);
		return;
	}
	value = existing_rows_value(c, f, &known);
	apply_close_rels(state);
	if (!mirror_add_column(state->def, mt, c->name, convert_pg_type_sql(f),
						   known ? value : NULL))
		known = false;
	if (!known)
	{
		append_action(actions, "added column %s (existing rows' values need a new copy)",
					  mirror_column_pg_name(c->name));
		*recopy = true;
	}
	else if (value)
		append_action(actions, "added column %s %s default %s",
					  mirror_column_pg_name(c->name), convert_pg_type_sql(f),
					  quote_literal_cstr(value));
	else
		append_action(actions, "added column %s %s", mirror_column_pg_name(c->name),
					  convert_pg_type_sql(f));
}

static bool
is_key_column(ApplyState *state, MirrorTable *mt, const char *column)
{
	ListCell   *lc;

	foreach(lc, mirror_primary_key(state->def, mt))
		if (strcmp(lfirst(lc), column) == 0)
			return true;
	return false;
}

/* Update stream.tables for a renamed listed table (applies at restart). */
static void
rename_in_filter(ApplyState *state, const char *from, const char *to)
{
	Oid			types[3] = {INT4OID, TEXTOID, TEXTOID};
	Datum		values[3];

	if (state->def->tables == NIL)
		return;
	values[0] = Int32GetDatum(state->stream_id);
	values[1] = CStringGetTextDatum(from);
	values[2] = CStringGetTextDatum(to);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("UPDATE vstream_fdw.stream "
							  "SET tables = array_replace(tables, $2, $3) "
							  "WHERE id = $1 AND $2 = ANY (tables)",
							  3, types, values, NULL, false, 0) != SPI_OK_UPDATE)
		elog(ERROR, "could not update vstream_fdw.stream");
	SPI_finish();
	state->restart_session = true;
}

static void
alter_table(ApplyState *state, DdlStatement *st, StringInfo actions,
			char **table_out)
{
	const char *table = st->table.name;
	MirrorTable *mt;
	ListCell   *lc;
	bool		recopy = false;
	bool		pk_dropped = false;
	List	   *pk_added = NIL;
	bool		pk_changed = false;

	if (!in_filter(state, table))
	{
		append_action(actions, "none (table not mirrored)");
		return;
	}
	mt = mirror_get(state->stream_id, table);
	if (!mt->exists || !OidIsValid(mirror_relid(state->def, mt)) ||
		recopy_pending(state, table))
	{
		/* a table being copied again follows the DDL like any other */
		append_action(actions, "none (the mirror is created or copied from the table's next FIELD event)");
		return;
	}

	foreach(lc, st->actions)
	{
		DdlAlterAction *a = lfirst(lc);

		switch (a->kind)
		{
			case DDL_ALTER_ADD_COLUMN:
				add_column(state, mt, a->column, &recopy, actions);
				break;
			case DDL_ALTER_DROP_COLUMN:
				{
					MirrorColumn *mc = mirror_find_column(mt, a->name);

					if (mc == NULL || mc->column == NULL)
						append_action(actions, "column %s already dropped", a->name);
					else if (is_key_column(state, mt, mc->column))
					{
						append_action(actions, "column %s is part of the primary key (new copy)",
									  mc->column);
						recopy = true;
					}
					else
					{
						append_action(actions, "dropped column %s", mc->column);
						apply_close_rels(state);
						mirror_drop_column(state->def, mt, a->name);
					}
				}
				break;
			case DDL_ALTER_RENAME_COLUMN:
			case DDL_ALTER_CHANGE_COLUMN:
				{
					const char *newname = a->new_name ? a->new_name :
						(a->column ? a->column->name : NULL);

					if (newname && pg_strcasecmp(a->name, newname) != 0)
					{
						apply_close_rels(state);
						if (mirror_rename_column(state->def, mt, a->name, newname))
							append_action(actions, "renamed column %s to %s",
										  a->name, mirror_column_pg_name(newname));
						else
							append_action(actions, "column %s already renamed to %s",
										  a->name, newname);
					}
					if (a->kind == DDL_ALTER_CHANGE_COLUMN && a->column)
						change_type(state, mt, a->column, &recopy, actions);
				}
				break;
			case DDL_ALTER_MODIFY_COLUMN:
				if (a->column)
					change_type(state, mt, a->column, &recopy, actions);
				break;
			case DDL_ALTER_RENAME_TABLE:
				if (a->new_table && strcmp(a->new_table, table) != 0)
				{
					if (in_filter(state, a->new_table) ||
						(state->def->tables != NIL && !mirror_is_internal_table(a->new_table)))
					{
						apply_close_rels(state);
						rename_in_filter(state, table, a->new_table);
						mirror_rename_table(state->def, mt, a->new_table);
						append_action(actions, "renamed to %s", mirror_pg_name(a->new_table));
						if (table_out)
							*table_out = a->new_table;
						table = a->new_table;
						mt = mirror_get(state->stream_id, table);
					}
					else
					{
						char	   *what;

						apply_close_rels(state);
						what = mirror_detach(state->def, mt, state->opts->drop_policy_drop);
						append_action(actions, "renamed out of the stream: %s", what);
						return;
					}
				}
				break;
			case DDL_ALTER_ADD_PRIMARY_KEY:
				pk_added = a->key_columns;
				pk_changed = true;
				break;
			case DDL_ALTER_DROP_PRIMARY_KEY:
				pk_dropped = true;
				pk_changed = true;
				break;
			case DDL_ALTER_COLUMN_DEFAULT:
			case DDL_ALTER_INDEX:
			case DDL_ALTER_TABLE_OPTION:
			case DDL_ALTER_CONVERT_CHARSET:
				break;
			case DDL_ALTER_UNKNOWN:
				append_action(actions, "clause not understood (%s): new copy",
							  a->text ? a->text : "?");
				recopy = true;
				break;
		}
	}

	if (pk_changed && !recopy)
	{
		if (pk_added != NIL)
		{
			List	   *want = NIL;
			List	   *have = mirror_primary_key(state->def, mt);
			bool		same;

			foreach(lc, pk_added)
			{
				MirrorColumn *mc = mirror_find_column(mt, lfirst(lc));

				want = lappend(want, mc && mc->column ? mc->column :
							   mirror_column_pg_name(lfirst(lc)));
			}
			same = mirror_same_names(want, have);
			if (same)
				append_action(actions, "primary key already changed");
			else
			{
				apply_close_rels(state);
				if (mirror_set_primary_key(state->def, mt, want))
					append_action(actions, "primary key changed");
				else
				{
					append_action(actions, "primary key cannot change in place: new copy");
					recopy = true;
				}
			}
		}
		else if (pk_dropped)
			append_action(actions, "the source table has no primary key now; the mirror keeps its key");
	}

	if (recopy)
	{
		recopy_request(state, table);
		append_action(actions, "table copied again");
	}
	if (actions->len == 0)
		append_action(actions, "none (no effect on the mirror)");
}

static void
rename_tables(ApplyState *state, DdlStatement *st, StringInfo actions)
{
	ListCell   *lc;
	List	   *away = NIL;		/* mirrors renamed to Vitess-internal names */

	foreach(lc, st->renames)
	{
		DdlRename  *r = lfirst(lc);
		MirrorTable *from = mirror_get(state->stream_id, r->from.name);
		bool		from_mirrored = from->exists && !mirror_is_internal_table(r->from.name);
		bool		to_wanted = in_filter(state, r->to.name) ||
			(from_mirrored && state->def->tables != NIL &&
			 !mirror_is_internal_table(r->to.name));

		if (from_mirrored && to_wanted)
		{
			apply_close_rels(state);
			rename_in_filter(state, r->from.name, r->to.name);
			mirror_rename_table(state->def, from, r->to.name);
			append_action(actions, "renamed %s to %s", r->from.name,
						  mirror_pg_name(r->to.name));
		}
		else if (from_mirrored)
		{
			away = lappend(away, pstrdup(r->from.name));
			append_action(actions, "%s renamed to %s", r->from.name, r->to.name);
		}
		else if (to_wanted)
		{
			MirrorTable *to = mirror_get(state->stream_id, r->to.name);
			ListCell   *lc2;

			/* the mirror of the name set aside above is reused */
			foreach(lc2, away)
				if (strcmp(lfirst(lc2), r->to.name) == 0)
				{
					away = foreach_delete_current(away, lc2);
					break;
				}
			if (to->exists && mirror_is_internal_table(r->from.name) &&
				to->state == MIRROR_COPYING && recopy_pending(state, r->to.name))
				continue;
			recopy_request(state, r->to.name);
			append_action(actions, "%s replaced by %s: table copied again",
						  r->to.name, r->from.name);
		}
	}
	foreach(lc, away)
	{
		MirrorTable *mt = mirror_get(state->stream_id, lfirst(lc));

		apply_close_rels(state);
		append_action(actions, "%s: %s", (char *) lfirst(lc),
					  mirror_detach(state->def, mt, state->opts->drop_policy_drop));
	}
	if (actions->len == 0)
		append_action(actions, "none (tables not mirrored)");
}

void
schema_ddl_event(ApplyState *state, const char *keyspace, const char *shard,
				 const char *position, const char *statement, int nshards)
{
	DdlStatement *st = ddl_parse(statement ? statement : "");
	StringInfoData actions;
	char	   *table = st->table.name;
	ListCell   *lc;

	initStringInfo(&actions);
	switch (st->kind)
	{
		case DDL_UNKNOWN:
			state->strict_field_shards = lappend(state->strict_field_shards,
												 MemoryContextStrdup(state->sessioncxt,
																	 shard ? shard : ""));
			append_action(&actions, "statement not recognised (%s): the shard's next FIELD events are compared with the mirrors",
						  st->reason ? st->reason : "?");
			break;
		case DDL_NO_DATA_EFFECT:
			append_action(&actions, "none (no effect on mirrored data)");
			break;
		case DDL_CREATE_TABLE:
			if (st->temporary || !in_filter(state, table))
				append_action(&actions, "none (table not mirrored)");
			else
			{
				MirrorTable *mt = mirror_get(state->stream_id, table);

				if (mt->exists)
					append_action(&actions, "none (mirror exists)");
				else
				{
					recopy_request(state, table);
					append_action(&actions, "new table: copied");
				}
			}
			break;
		case DDL_DROP_TABLE:
			foreach(lc, st->tables)
			{
				DdlTableName *t = lfirst(lc);
				MirrorTable *mt;

				if (mirror_is_internal_table(t->name))
					continue;
				mt = mirror_get(state->stream_id, t->name);
				if (!mt->exists)
					append_action(&actions, "%s: none (not mirrored or already detached)", t->name);
				else
				{
					apply_close_rels(state);
					append_action(&actions, "%s: %s", t->name,
								  mirror_detach(state->def, mt, state->opts->drop_policy_drop));
				}
				if (table == NULL)
					table = t->name;
			}
			if (actions.len == 0)
				append_action(&actions, "none (internal tables)");
			break;
		case DDL_TRUNCATE_TABLE:
			if (!in_filter(state, table))
				append_action(&actions, "none (table not mirrored)");
			else
			{
				MirrorTable *mt = mirror_get(state->stream_id, table);

				if (!mt->exists)
					append_action(&actions, "none (no mirror yet)");
				else if (nshards <= 1 && state->def->soft_delete)
				{
					/* soft deletes: every row was deleted at the source */
					apply_close_rels(state);
					append_action(&actions, "%lld rows marked deleted (soft_delete)",
								  (long long) shape_mark_all_deleted(state, mt));
				}
				else if (nshards <= 1)
				{
					apply_close_rels(state);
					mirror_truncate(state->def, mt);
					append_action(&actions, "truncated");
				}
				else
				{
					/* each shard truncates at its own point in its stream */
					recopy_request(state, table);
					append_action(&actions, "table copied again (sharded keyspace)");
				}
			}
			break;
		case DDL_RENAME_TABLE:
			rename_tables(state, st, &actions);
			if (st->renames)
				table = ((DdlRename *) linitial(st->renames))->from.name;
			break;
		case DDL_ALTER_TABLE:
			alter_table(state, st, &actions, NULL);
			break;
	}

	mirror_record_history(state->stream_id, keyspace, shard, position,
						  table ? text_make_valid_cstr(table) : NULL, text_make_valid_cstr(statement),
						  text_make_valid_cstr(actions.data));
	ereport(LOG,
			(errmsg("vstream_fdw stream of server \"%s\": DDL on shard %s/%s: %s",
					state->def->server_name, keyspace ? keyspace : "",
					shard ? shard : "", text_make_valid_cstr(statement)),
			 errdetail("Mirror: %s", text_make_valid_cstr(actions.data))));
}

/*
 * After a statement this stream could not parse, a FIELD event from that
 * shard describes the table exactly: a mirror column the source no longer
 * sends means a change the stream missed.  Returns true if the table must
 * be copied again.
 */
bool
schema_field_needs_recopy(ApplyState *state, ApplyMapping *m)
{
	ListCell   *lc;
	MirrorTable *mt;
	bool		strict = false;

	foreach(lc, state->strict_field_shards)
		if (strcmp(lfirst(lc), m->shard) == 0)
			strict = true;
	if (!strict || mirror_is_internal_table(m->table))
		return false;
	mt = mirror_get(state->stream_id, m->table);
	if (!mt->exists || mt->state == MIRROR_COPYING)
		return false;
	foreach(lc, mt->columns)
	{
		MirrorColumn *mc = lfirst(lc);
		bool		sent = false;
		int			i;

		if (mc->column == NULL)
			continue;
		for (i = 0; i < m->nfields && !sent; i++)
		{
			MirrorColumn *other = mirror_find_column(mt, m->fields[i]->name);

			if (other && other->column && strcmp(other->column, mc->column) == 0)
				sent = true;
		}
		if (!sent)
		{
			ereport(LOG,
					(errmsg("vstream_fdw: column \"%s\" of source table \"%s\" is gone after a DDL statement the stream did not recognise; the table is copied again",
							mc->source, m->table)));
			return true;
		}
	}
	return false;
}
