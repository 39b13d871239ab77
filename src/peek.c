/*-------------------------------------------------------------------------
 *
 * peek.c
 *	  vstream_fdw.peek(): a window into a VStream, as rows.
 *
 * Opens a VStream for a foreign server from a start position and returns
 * its events as rows until max_events events were read, the timeout passed,
 * or the server ended the stream.  Row images are rendered as jsonb objects
 * keyed by the column names of the most recent FIELD event of that table
 * and shard.  Nothing is written anywhere: this is for looking.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/peek.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "executor/spi.h"

#include "access/htup_details.h"
#include "catalog/pg_foreign_server.h"
#include "foreign/foreign.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/hsearch.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "convert.h"
#include "options.h"
#include "textsafe.h"
#include "filter.h"
#include "vstream.h"

/*
 * Text columns from the wire: names are checked by vstream_next(), but a DDL
 * statement may carry any bytes.
 */
static Datum
safe_text(const char *s)
{
	return PointerGetDatum(cstring_to_text(text_make_valid_cstr(s)));
}

#define PEEK_NCOLS 11

/* Latest FIELD event per keyspace/shard/table, kept for the whole call. */
typedef struct PeekFields
{
	char		key[NAMEDATALEN * 3 + 8];
	Binlogdata__FieldEvent *fields;
} PeekFields;

typedef struct PeekState
{
	HTAB	   *fields;
	MemoryContext fieldcxt;
	Tuplestorestate *tupstore;
	TupleDesc	tupdesc;
	int64		seq;
} PeekState;

static void
fields_key(char *key, const char *keyspace, const char *shard, const char *table)
{
	snprintf(key, NAMEDATALEN * 3 + 8, "%s/%s/%s", keyspace, shard,
			 vstream_bare_table_name(table));
}

/* Keep a deep copy of a FIELD event (the message context is reset). */
static void
remember_fields(PeekState *ps, Binlogdata__FieldEvent *fe)
{
	char		key[NAMEDATALEN * 3 + 8];
	PeekFields *entry;
	bool		found;
	MemoryContext old;
	size_t		len;
	uint8	   *buf;
	ProtobufCAllocator alloc;

	fields_key(key, fe->keyspace, fe->shard, fe->table_name);
	entry = hash_search(ps->fields, key, HASH_ENTER, &found);
	old = MemoryContextSwitchTo(ps->fieldcxt);
	len = binlogdata__field_event__get_packed_size(fe);
	buf = palloc(len);
	binlogdata__field_event__pack(fe, buf);
	vstream_pb_allocator(&alloc, ps->fieldcxt);
	entry->fields = binlogdata__field_event__unpack(&alloc, len, buf);
	pfree(buf);
	MemoryContextSwitchTo(old);
}

static Binlogdata__FieldEvent *
lookup_fields(PeekState *ps, const char *keyspace, const char *shard,
			  const char *table)
{
	char		key[NAMEDATALEN * 3 + 8];
	PeekFields *entry;

	fields_key(key, keyspace, shard, table);
	entry = hash_search(ps->fields, key, HASH_FIND, NULL);
	return entry ? entry->fields : NULL;
}

static Jsonb *
row_to_jsonb(const Query__Row *row, Binlogdata__FieldEvent *fe)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	int			n = (int) row->n_lengths;
	const char **values = palloc(sizeof(char *) * Max(n, 1));
	int		   *lengths = palloc(sizeof(int) * Max(n, 1));
	int			i;

	vstream_decode_row(row, n, values, lengths);
	pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
	for (i = 0; i < n; i++)
	{
		JsonbValue	v;
		Query__Field anon = QUERY__FIELD__INIT;
		const Query__Field *f;
		char		name[32];

		if (fe && (int) fe->n_fields == n)
		{
			f = fe->fields[i];
			vstream_jsonb_key(&st, f->name);
		}
		else
		{
			anon.type = QUERY__TYPE__VARBINARY;
			f = &anon;
			snprintf(name, sizeof(name), "@%d", i + 1);
			vstream_jsonb_key(&st, name);
		}
		convert_cell_to_jsonb_value(f, values[i], lengths[i], &v);
		pushJsonbValue(&st, WJB_VALUE, &v);
	}
	res = pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	return JsonbValueToJsonb(res);
}

static Jsonb *
fields_to_jsonb(const Binlogdata__FieldEvent *fe)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	size_t		i;

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < fe->n_fields; i++)
	{
		const Query__Field *f = fe->fields[i];
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(&query__type__descriptor, f->type);
		JsonbValue	v;

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		vstream_jsonb_string(&st, "name", f->name, -1);
		vstream_jsonb_string(&st, "type", ev ? ev->name : "UNRECOGNIZED", -1);
		vstream_jsonb_string(&st, "column_type", f->column_type, -1);
		vstream_jsonb_string(&st, "pg_type", convert_pg_type_sql(f), -1);
		vstream_jsonb_int(&st, "flags", f->flags);
		vstream_jsonb_int(&st, "charset", f->charset);

		vstream_jsonb_key(&st, "primary_key");
		v.type = jbvBool;
		v.val.boolean = (f->flags & 2) != 0;
		pushJsonbValue(&st, WJB_VALUE, &v);

		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	return JsonbValueToJsonb(res);
}

static void
put_row(PeekState *ps, Binlogdata__VEvent *ev, const char *table,
		Jsonb *vgtid, Jsonb *before, Jsonb *after, Jsonb *fields,
		const char *statement)
{
	Datum		values[PEEK_NCOLS];
	bool		nulls[PEEK_NCOLS];
	const char *keyspace = ev->keyspace;
	const char *shard = ev->shard;

	memset(nulls, 0, sizeof(nulls));
	values[0] = Int64GetDatum(++ps->seq);
	values[1] = CStringGetTextDatum(vstream_event_type_name(ev->type));
	nulls[2] = keyspace[0] == '\0';
	values[2] = nulls[2] ? (Datum) 0 : safe_text(keyspace);
	nulls[3] = shard[0] == '\0';
	values[3] = nulls[3] ? (Datum) 0 : safe_text(shard);
	nulls[4] = table == NULL;
	values[4] = table ? safe_text(table) : (Datum) 0;
	nulls[5] = ev->timestamp == 0;
	values[5] = nulls[5] ? (Datum) 0 :
		TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) ev->timestamp));
	nulls[6] = vgtid == NULL;
	values[6] = vgtid ? JsonbPGetDatum(vgtid) : (Datum) 0;
	nulls[7] = before == NULL;
	values[7] = before ? JsonbPGetDatum(before) : (Datum) 0;
	nulls[8] = after == NULL;
	values[8] = after ? JsonbPGetDatum(after) : (Datum) 0;
	nulls[9] = fields == NULL;
	values[9] = fields ? JsonbPGetDatum(fields) : (Datum) 0;
	nulls[10] = statement == NULL;
	values[10] = statement ? safe_text(statement) : (Datum) 0;
	tuplestore_putvalues(ps->tupstore, ps->tupdesc, values, nulls);
}

/* Turn one event into zero or more result rows; returns rows added. */
static int
peek_event(PeekState *ps, Binlogdata__VEvent *ev)
{
	switch (ev->type)
	{
		case BINLOGDATA__VEVENT_TYPE__FIELD:
			if (ev->field_event)
			{
				Binlogdata__FieldEvent *fe = ev->field_event;

				remember_fields(ps, fe);
				if (ev->keyspace[0] == '\0')
					ev->keyspace = fe->keyspace;
				if (ev->shard[0] == '\0')
					ev->shard = fe->shard;
				put_row(ps, ev, vstream_bare_table_name(fe->table_name), NULL,
						NULL, NULL, fields_to_jsonb(fe), NULL);
				return 1;
			}
			break;
		case BINLOGDATA__VEVENT_TYPE__ROW:
			if (ev->row_event)
			{
				Binlogdata__RowEvent *re = ev->row_event;
				const char *ks = re->keyspace[0] ? re->keyspace : ev->keyspace;
				const char *sh = re->shard[0] ? re->shard : ev->shard;
				Binlogdata__FieldEvent *fe = lookup_fields(ps, ks, sh, re->table_name);
				size_t		i;

				ev->keyspace = (char *) ks;
				ev->shard = (char *) sh;
				for (i = 0; i < re->n_row_changes; i++)
				{
					Binlogdata__RowChange *rc = re->row_changes[i];

					put_row(ps, ev, vstream_bare_table_name(re->table_name), NULL,
							rc->before ? row_to_jsonb(rc->before, fe) : NULL,
							rc->after ? row_to_jsonb(rc->after, fe) : NULL,
							NULL, NULL);
				}
				return (int) re->n_row_changes;
			}
			break;
		case BINLOGDATA__VEVENT_TYPE__VGTID:
			put_row(ps, ev, NULL, vstream_vgtid_to_jsonb(ev->vgtid), NULL, NULL,
					NULL, NULL);
			return 1;
		case BINLOGDATA__VEVENT_TYPE__DDL:
		case BINLOGDATA__VEVENT_TYPE__OTHER:
		case BINLOGDATA__VEVENT_TYPE__SAVEPOINT:
		case BINLOGDATA__VEVENT_TYPE__ROWS_QUERY:
			put_row(ps, ev, NULL, NULL, NULL, NULL, NULL,
					ev->statement[0] ? ev->statement :
					(ev->dml[0] ? ev->dml : NULL));
			return 1;
		default:
			break;
	}
	put_row(ps, ev, NULL, NULL, NULL, NULL, NULL, NULL);
	return 1;
}

PG_FUNCTION_INFO_V1(vstream_peek);

/*
 * vstream_fdw.peek(server name, start text, max_events int, timeout interval)
 */
Datum
vstream_peek(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *servername;
	char	   *start;
	int			max_events;
	Interval   *timeout;
	int64		timeout_ms;
	ForeignServer *server;
	AclResult	aclresult;
	VStreamServerOptions *opts;
	VStreamRequestSpec spec;
	VStreamSession *session;
	MemoryContext msgcxt;
	PeekState	ps;
	HASHCTL		ctl;
	TimestampTz deadline;
	int			nevents = 0;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("server name must not be null")));
	servername = NameStr(*PG_GETARG_NAME(0));
	start = PG_ARGISNULL(1) ? "current" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	max_events = PG_ARGISNULL(2) ? 100 : PG_GETARG_INT32(2);
	timeout = PG_ARGISNULL(3) ? NULL : PG_GETARG_INTERVAL_P(3);
	if (max_events < 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_events must be at least 1")));
	if (timeout)
	{
		timeout_ms = (timeout->time + (int64) timeout->day * USECS_PER_DAY +
					  (int64) timeout->month * 30 * USECS_PER_DAY) / 1000;
		if (timeout_ms < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("timeout must not be negative")));
	}
	else
		timeout_ms = 10000;

	server = GetForeignServerByName(servername, false);
	aclresult = pg_foreign_server_aclcheck(server->serverid, GetUserId(), ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FOREIGN_SERVER, server->servername);
	opts = options_get_server(server->serverid, GetUserId());

	memset(&spec, 0, sizeof(spec));
	spec.heartbeat_interval = -1;
	if (strcmp(start, "current") == 0 || strcmp(start, "copy") == 0)
		spec.start_mode = start;
	else if (start[0] == '[' || start[0] == '{')
		spec.vgtid = vstream_vgtid_from_json(start);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid start position \"%s\"", start),
				 errhint("Use 'current', 'copy' or a VGTID in JSON.")));

	/* the tables and filters of the server's stream: what the worker sees */
	if (PG_NARGS() > 4 && !PG_ARGISNULL(4) && PG_GETARG_BOOL(4))
	{
		Oid			types[1] = {TEXTOID};
		Datum		values[1];
		int32		stream_id = 0;
		MemoryContext outer = CurrentMemoryContext;

		values[0] = CStringGetTextDatum(servername);
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (SPI_execute_with_args("SELECT id, t FROM vstream_fdw.stream s "
								  "LEFT JOIN LATERAL unnest(s.tables) t ON true "
								  "WHERE s.server_name = $1",
								  1, types, values, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read vstream_fdw.stream");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("no stream for server \"%s\"", servername),
					 errhint("stream_filters => true shows what the server's stream receives; create the stream first.")));
		for (uint64 r = 0; r < SPI_processed; r++)
		{
			bool		isnull;
			char	   *t;

			stream_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r],
													SPI_tuptable->tupdesc, 1, &isnull));
			(void) SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2, &isnull);
			if (isnull)
				continue;
			t = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, 2);
			{
				MemoryContext spi = MemoryContextSwitchTo(outer);

				spec.tables = lappend(spec.tables, pstrdup(t));
				MemoryContextSwitchTo(spi);
			}
		}
		SPI_finish();
		MemoryContextSwitchTo(outer);
		spec.table_filters = filter_load(stream_id);
	}

	InitMaterializedSRF(fcinfo, 0);
	ps.tupstore = rsinfo->setResult;
	ps.tupdesc = rsinfo->setDesc;
	ps.seq = 0;
	ps.fieldcxt = AllocSetContextCreate(CurrentMemoryContext, "peek fields",
										ALLOCSET_SMALL_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = NAMEDATALEN * 3 + 8;
	ctl.entrysize = sizeof(PeekFields);
	ctl.hcxt = ps.fieldcxt;
	ps.fields = hash_create("peek fields", 16, &ctl,
							HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	msgcxt = AllocSetContextCreate(CurrentMemoryContext, "peek message",
								   ALLOCSET_DEFAULT_SIZES);

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), timeout_ms);
	session = vstream_open(opts, &spec, CurrentMemoryContext);

	while (nevents < max_events)
	{
		long		remaining = TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
																deadline);
		bool		ended;
		Vtgate__VStreamResponse *resp;
		size_t		i;
		MemoryContext old;

		if (remaining <= 0)
			break;
		resp = vstream_next(session, msgcxt, (int) Min(remaining, INT_MAX), &ended);
		if (resp == NULL)
		{
			if (ended)
				break;
			continue;
		}
		old = MemoryContextSwitchTo(msgcxt);
		/* result rows are copied into the tuplestore; temporaries die here */
		for (i = 0; i < resp->n_events && nevents < max_events; i++)
		{
			peek_event(&ps, resp->events[i]);
			nevents++;
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(msgcxt);
	}
	vstream_close(session);
	MemoryContextDelete(msgcxt);
	MemoryContextDelete(ps.fieldcxt);
	return (Datum) 0;
}
