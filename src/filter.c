/*-------------------------------------------------------------------------
 *
 * filter.c
 *	  Column and row filters of a stream's tables, in VStream's own rules.
 *
 * vstream_fdw._filter_rule() builds the rule of a filtered table and checks
 * it against the source: it starts a copy of the table through VTGate with
 * "select *" to learn the table's columns and primary key from the FIELD
 * event, resolves the include or exclude list against them (the primary
 * key must stay), and starts a copy once more with the final rule, so that
 * a condition the tablet does not support is refused now, with its message,
 * rather than when the stream runs.  Nothing is applied; both calls are
 * closed after the first FIELD event.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/filter.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "filter.h"
#include "options.h"
#include "rowfilter.h"
#include "vstream.h"

#define VSTREAM_PRI_KEY_FLAG 2

List *
filter_load(int32 stream_id)
{
	Oid			types[1] = {INT4OID};
	Datum		values[1];
	MemoryContext outer = CurrentMemoryContext;
	List	   *result = NIL;
	uint64		i;

	values[0] = Int32GetDatum(stream_id);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT source_table, rule FROM vstream_fdw.table_filter "
							  "WHERE stream_id = $1 ORDER BY source_table",
							  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read vstream_fdw.table_filter");
	for (i = 0; i < SPI_processed; i++)
	{
		MemoryContext old = MemoryContextSwitchTo(outer);
		VStreamTableFilter *tf = palloc(sizeof(VStreamTableFilter));

		tf->table = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
		tf->select = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
		result = lappend(result, tf);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return result;
}

List *
filter_columns(int32 stream_id, const char *source_table)
{
	Oid			types[2] = {INT4OID, TEXTOID};
	Datum		values[2];
	MemoryContext outer = CurrentMemoryContext;
	List	   *result = NIL;

	values[0] = Int32GetDatum(stream_id);
	values[1] = CStringGetTextDatum(source_table);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT c FROM vstream_fdw.table_filter f, unnest(f.columns) c "
							  "WHERE f.stream_id = $1 AND f.source_table = $2 "
							  "AND f.columns IS NOT NULL",
							  2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read vstream_fdw.table_filter");
	if (SPI_processed > 0)
	{
		uint64		i;

		for (i = 0; i < SPI_processed; i++)
		{
			MemoryContext old = MemoryContextSwitchTo(outer);

			result = lappend(result, SPI_getvalue(SPI_tuptable->vals[i],
												  SPI_tuptable->tupdesc, 1));
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();
	return result;
}

static char *
backquote(const char *name)
{
	StringInfoData buf;
	const char *p;

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '`');
	for (p = name; *p; p++)
	{
		if (*p == '`')
			appendStringInfoChar(&buf, '`');
		appendStringInfoChar(&buf, *p);
	}
	appendStringInfoChar(&buf, '`');
	return buf.data;
}

/*
 * Start a copy of one table with "select" (NULL: all columns) and return
 * its first FIELD event; errors from VTGate propagate.
 */
static Binlogdata__FieldEvent *
first_field(VStreamServerOptions *opts, const char *table, const char *select)
{
	VStreamRequestSpec spec;
	VStreamSession *vs;
	VStreamTableFilter tf;
	MemoryContext cxt = CurrentMemoryContext;
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   (opts->connect_timeout + 20) * 1000L);

	memset(&spec, 0, sizeof(spec));
	spec.start_mode = "copy";
	spec.heartbeat_interval = -1;
	spec.tables = list_make1((char *) table);
	if (select)
	{
		tf.table = (char *) table;
		tf.select = (char *) select;
		spec.table_filters = list_make1(&tf);
	}
	vs = vstream_open(opts, &spec, cxt);
	for (;;)
	{
		bool		ended = false;
		Vtgate__VStreamResponse *resp;
		size_t		i;

		CHECK_FOR_INTERRUPTS();
		if (GetCurrentTimestamp() > deadline)
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("VTGate sent no FIELD event for table \"%s\" in time", table),
					 errhint("Check that the table exists in keyspace \"%s\" and that VTGate serves it.",
							 opts->keyspace)));
		resp = vstream_next(vs, cxt, 1000, &ended);
		if (resp == NULL && ended)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_TABLE),
					 errmsg("VTGate ended the stream without a FIELD event for table \"%s\"", table)));
		if (resp == NULL)
			continue;
		for (i = 0; i < resp->n_events; i++)
		{
			Binlogdata__VEvent *ev = resp->events[i];

			if (ev->type == BINLOGDATA__VEVENT_TYPE__FIELD && ev->field_event &&
				strcmp(vstream_bare_table_name(ev->field_event->table_name), table) == 0)
			{
				vstream_close(vs);
				return ev->field_event;
			}
		}
	}
}

static bool
name_in(const char *name, List *names)
{
	ListCell   *lc;

	foreach(lc, names)
		if (pg_strcasecmp(lfirst(lc), name) == 0)
			return true;
	return false;
}

/* Every name of the list must be a column of the FIELD (case-insensitive). */
static void
check_columns_exist(Binlogdata__FieldEvent *fe, const char *table, List *names)
{
	ListCell   *lc;

	foreach(lc, names)
	{
		bool		found = false;
		size_t		i;

		for (i = 0; i < fe->n_fields; i++)
			if (pg_strcasecmp(fe->fields[i]->name, lfirst(lc)) == 0)
				found = true;
		if (!found)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("source table \"%s\" has no column \"%s\"", table, (char *) lfirst(lc))));
	}
}

static List *
text_array_list(ArrayType *arr)
{
	Datum	   *elems;
	bool	   *nulls;
	int			n;
	int			i;
	List	   *l = NIL;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("column lists must not contain NULL")));
		l = lappend(l, TextDatumGetCString(elems[i]));
	}
	return l;
}

/*
 * SQL: vstream_fdw._filter_rule(server, source_table, include_columns,
 * exclude_columns, row_filter, OUT rule text, OUT columns text[]).
 */
PG_FUNCTION_INFO_V1(vstream_filter_rule);

Datum
vstream_filter_rule(PG_FUNCTION_ARGS)
{
	char	   *server;
	char	   *table;
	List	   *include = NIL;
	List	   *exclude = NIL;
	char	   *row_filter = NULL;
	RowFilter  *rf = NULL;
	VStreamServerOptions *opts;
	Binlogdata__FieldEvent *fe;
	List	   *volatile columns = NIL;
	List	   *key = NIL;
	StringInfoData sel;
	ListCell   *lc;
	size_t		i;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	Datum	   *elems;
	MemoryContext cxt = CurrentMemoryContext;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("server and table must not be null")));
	server = NameStr(*PG_GETARG_NAME(0));
	table = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (!PG_ARGISNULL(2))
		include = text_array_list(PG_GETARG_ARRAYTYPE_P(2));
	if (!PG_ARGISNULL(3))
		exclude = text_array_list(PG_GETARG_ARRAYTYPE_P(3));
	if (!PG_ARGISNULL(4))
		row_filter = text_to_cstring(PG_GETARG_TEXT_PP(4));
	if (include != NIL && exclude != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("give include_columns or exclude_columns, not both")));
	if (row_filter && (strchr(row_filter, ';') || strlen(row_filter) == 0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid row filter \"%s\"", row_filter),
				 errhint("Give the condition of a WHERE clause, without WHERE and without ';'.")));
	/* what the apply cannot re-check exactly is refused (rowfilter.c) */
	if (row_filter)
		rf = rowfilter_parse(row_filter);
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	opts = options_get_server_by_name(server, GetUserId());

	/* the table's columns and key, as the source streams them */
	fe = first_field(opts, table, NULL);
	for (i = 0; i < fe->n_fields; i++)
	{
		const char *name = fe->fields[i]->name;

		if (fe->fields[i]->flags & VSTREAM_PRI_KEY_FLAG)
			key = lappend(key, pstrdup(name));
		if ((include == NIL || name_in(name, include)) && !name_in(name, exclude))
			columns = lappend(columns, pstrdup(name));
	}
	check_columns_exist(fe, table, include);
	check_columns_exist(fe, table, exclude);
	foreach(lc, key)
		if (!name_in(lfirst(lc), columns))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("column \"%s\" is part of the primary key of \"%s\" and cannot be left out",
							(char *) lfirst(lc), table),
					 errhint("Mirror tables are keyed by the source primary key.")));

	if (rf)
		rowfilter_check_fields(rf, table, fe->fields, (int) fe->n_fields,
							   (include != NIL || exclude != NIL) ? columns : NIL);

	initStringInfo(&sel);
	appendStringInfoString(&sel, "select ");
	foreach(lc, columns)
		appendStringInfo(&sel, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 backquote(lfirst(lc)));
	appendStringInfo(&sel, " from %s", backquote(table));
	if (row_filter)
		appendStringInfo(&sel, " where %s", row_filter);

	/* the tablet refuses what its filters do not support: ask it now */
	PG_TRY();
	{
		(void) first_field(opts, table, sel.data);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("Vitess does not accept the filter \"%s\" for table \"%s\"",
						sel.data, table),
				 errdetail("%s", edata->message),
				 errhint("A key range is in_keyrange('-80') or in_keyrange(column, 'vindex', '-80') with a vindex of the keyspace's VSchema.")));
	}
	PG_END_TRY();

	values[0] = CStringGetTextDatum(sel.data);
	elems = palloc(sizeof(Datum) * Max(list_length(columns), 1));
	foreach(lc, columns)
		elems[foreach_current_index(lc)] = CStringGetTextDatum(lfirst(lc));
	values[1] = PointerGetDatum(construct_array(elems, list_length(columns), TEXTOID,
												-1, false, TYPALIGN_INT));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
