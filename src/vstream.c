/*-------------------------------------------------------------------------
 *
 * vstream.c
 *	  The VStream call: request building, response decoding and positions.
 *
 * Builds the vtgate.VStreamRequest from the server options and a start
 * position, opens the gRPC call /vtgateservice.Vitess/VStream, and decodes
 * each response with protobuf-c into a caller-supplied memory context.  It
 * also converts VGTIDs between their wire form (kept verbatim for
 * checkpoints), JSON for people (Debezium's shape), and back.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/vstream.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/base64.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "grpc.h"
#include "textsafe.h"
#include "transport.h"
#include "vstream.h"

#define VSTREAM_PATH "/vtgateservice.Vitess/VStream"

struct VStreamSession
{
	MemoryContext cxt;
	Transport  *transport;
	GrpcCall   *call;
	int			heartbeat_interval;
	TimestampTz last_message;
	char	   *authority;
};

static const char *const event_type_names[] = {
	"UNKNOWN", "GTID", "BEGIN", "COMMIT", "ROLLBACK", "DDL", "INSERT",
	"REPLACE", "UPDATE", "DELETE", "SET", "OTHER", "ROW", "FIELD",
	"HEARTBEAT", "VGTID", "JOURNAL", "VERSION", "LASTPK", "SAVEPOINT",
	"COPY_COMPLETED", "PREVIOUS_GTIDS", "ROWS_QUERY"
};

const char *
vstream_event_type_name(int type)
{
	if (type >= 0 && type < (int) lengthof(event_type_names))
		return event_type_names[type];
	return "UNRECOGNIZED";
}

const char *
vstream_bare_table_name(const char *table_name)
{
	const char *dot = strchr(table_name, '.');

	return dot ? dot + 1 : table_name;
}

bool
vstream_error_is_transient(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_CONNECTION_FAILURE ||
		sqlerrcode == ERRCODE_CONNECTION_EXCEPTION ||
		sqlerrcode == ERRCODE_CONNECTION_DOES_NOT_EXIST ||
		sqlerrcode == ERRCODE_SQLCLIENT_UNABLE_TO_ESTABLISH_SQLCONNECTION ||
		sqlerrcode == ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION;
}

/* protobuf-c allocator on a memory context */
static void *
pb_alloc(void *data, size_t size)
{
	return MemoryContextAllocExtended((MemoryContext) data, Max(size, 1),
									  MCXT_ALLOC_NO_OOM | MCXT_ALLOC_HUGE);
}

static void
pb_free(void *data, void *ptr)
{
	/* freed with the context */
}

void
vstream_pb_allocator(ProtobufCAllocator *alloc, MemoryContext cxt)
{
	alloc->alloc = pb_alloc;
	alloc->free = pb_free;
	alloc->allocator_data = cxt;
}

void
vstream_decode_row(const Query__Row *row, int ncolumns, const char **values,
				   int *lengths)
{
	size_t		off = 0;
	size_t		i;

	if (row == NULL || (int) row->n_lengths != ncolumns)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("row image has %d values but its FIELD event has %d columns",
						row ? (int) row->n_lengths : 0, ncolumns),
				 errhint("The stream is out of step with the table schema; resync the stream.")));
	for (i = 0; i < row->n_lengths; i++)
	{
		int64		l = row->lengths[i];

		if (l < 0)
		{
			values[i] = NULL;
			lengths[i] = -1;
			continue;
		}
		if ((uint64) l > row->values.len - off)
			ereport(ERROR,
					(errcode(ERRCODE_PROTOCOL_VIOLATION),
					 errmsg("row image is malformed: value %d of length " INT64_FORMAT " exceeds the row data",
							(int) i + 1, l)));
		/* an empty values field has no buffer at all (NULL + 0 is UB) */
		values[i] = row->values.data ? (const char *) row->values.data + off : "";
		lengths[i] = (int) l;
		off += l;
	}
	if (off != row->values.len)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("row image is malformed: %zu bytes of values but lengths add up to %zu",
						row->values.len, off)));
}

/* ---------------------------------------------------------------------
 * Opening and reading the stream
 * ---------------------------------------------------------------------
 */

static void
close_session(void *arg)
{
	VStreamSession *s = (VStreamSession *) arg;

	if (s->call)
		grpc_call_close(s->call);
	if (s->transport)
		transport_close(s->transport);
	s->call = NULL;
	s->transport = NULL;
}

VStreamSession *
vstream_open(const VStreamServerOptions *opts, const VStreamRequestSpec *spec,
			 MemoryContext parent)
{
	MemoryContext cxt = AllocSetContextCreate(parent, "vstream session",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	VStreamSession *s = palloc0(sizeof(VStreamSession));
	Vtgate__VStreamRequest req = VTGATE__VSTREAM_REQUEST__INIT;
	Binlogdata__VGtid start = BINLOGDATA__VGTID__INIT;
	Binlogdata__ShardGtid sg = BINLOGDATA__SHARD_GTID__INIT;
	Binlogdata__ShardGtid *sgp = &sg;
	Binlogdata__Filter filter = BINLOGDATA__FILTER__INIT;
	Binlogdata__Rule **rules;
	Vtgate__VStreamFlags flags = VTGATE__VSTREAM_FLAGS__INIT;
	GrpcCallOptions copts;
	GrpcMetadata md[2];
	int			nmd = 0;
	uint8	   *buf;
	size_t		len;
	TimestampTz deadline;
	MemoryContextCallback *cb;

	s->cxt = cxt;
	cb = palloc0(sizeof(MemoryContextCallback));
	cb->func = close_session;
	cb->arg = s;
	MemoryContextRegisterResetCallback(cxt, cb);

	req.tablet_type = opts->tablet_type;
	if (spec->vgtid)
		req.vgtid = spec->vgtid;
	else
	{
		const char *mode = spec->start_mode ? spec->start_mode : "current";

		sg.keyspace = opts->keyspace;
		sg.shard = "";
		if (strcmp(mode, "current") == 0)
			sg.gtid = "current";
		else if (strcmp(mode, "copy") == 0)
			sg.gtid = "";
		else
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid start position \"%s\"", mode),
					 errhint("Use 'current', 'copy' or a VGTID in JSON.")));
		start.n_shard_gtids = 1;
		start.shard_gtids = &sgp;
		req.vgtid = &start;
	}

	{
		ListCell   *lc;
		int			i = 0;

		rules = palloc(sizeof(Binlogdata__Rule *) *
					   (list_length(spec->table_filters) + list_length(spec->tables) + 1));
		/* filtered tables first: VTGate uses the first rule that matches */
		foreach(lc, spec->table_filters)
		{
			VStreamTableFilter *tf = lfirst(lc);

			rules[i] = palloc(sizeof(Binlogdata__Rule));
			binlogdata__rule__init(rules[i]);
			rules[i]->match = tf->table;
			rules[i]->filter = tf->select;
			i++;
		}
		if (spec->tables == NIL)
		{
			rules[i] = palloc(sizeof(Binlogdata__Rule));
			binlogdata__rule__init(rules[i]);
			rules[i]->match = "/.*";
			rules[i]->filter = "";
			i++;
		}
		foreach(lc, spec->tables)
		{
			const char *table = (const char *) lfirst(lc);
			StringInfoData sel;
			const char *p;
			ListCell   *lc2;
			bool		filtered = false;

			foreach(lc2, spec->table_filters)
				if (strcmp(((VStreamTableFilter *) lfirst(lc2))->table, table) == 0)
					filtered = true;
			if (filtered)
				continue;

			/*
			 * An exact table match needs a SELECT: the tablet refuses to
			 * build a replication plan from an empty filter.
			 */
			initStringInfo(&sel);
			appendStringInfoString(&sel, "select * from `");
			for (p = table; *p; p++)
			{
				if (*p == '`')
					appendStringInfoChar(&sel, '`');
				appendStringInfoChar(&sel, *p);
			}
			appendStringInfoChar(&sel, '`');
			rules[i] = palloc(sizeof(Binlogdata__Rule));
			binlogdata__rule__init(rules[i]);
			rules[i]->match = (char *) table;
			rules[i]->filter = sel.data;
			i++;
		}
		filter.n_rules = i;
	}
	filter.rules = rules;
	req.filter = &filter;

	s->heartbeat_interval = spec->heartbeat_interval >= 0 ?
		spec->heartbeat_interval : opts->heartbeat_interval;
	if (s->heartbeat_interval > 0)
	{
		flags.heartbeat_interval = s->heartbeat_interval;
	}
	if (opts->cells)
		flags.cells = opts->cells;
	if (spec->tables_to_copy != NIL)
	{
		ListCell   *lc;
		int			i = 0;

		flags.n_tables_to_copy = list_length(spec->tables_to_copy);
		flags.tables_to_copy = palloc(sizeof(char *) * flags.n_tables_to_copy);
		foreach(lc, spec->tables_to_copy)
			flags.tables_to_copy[i++] = (char *) lfirst(lc);
	}
	/* a reshard arrives as [BEGIN, JOURNAL, VGTID, COMMIT] (see reshard.h) */
	flags.include_reshard_journal_events = true;
	req.flags = &flags;

	len = vtgate__vstream_request__get_packed_size(&req);
	buf = palloc(len);
	vtgate__vstream_request__pack(&req, buf);

	s->authority = psprintf("%s:%d", opts->host, opts->port);
	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   opts->connect_timeout * 1000L);
	s->transport = transport_connect(opts, deadline, cxt);

	if (opts->user)
	{
		md[nmd].name = "username";
		md[nmd].value = opts->user;
		nmd++;
		if (opts->password)
		{
			if (opts->tls == VSTREAM_TLS_DISABLE)
				ereport(WARNING,
						(errmsg("the password of server \"%s\" is sent to VTGate without TLS",
								opts->servername ? opts->servername : opts->host),
						 errdetail("With the server option tls 'disable' the password crosses the network in cleartext."),
						 errhint("Set the server option tls to 'verify-full' (or 'verify-ca', 'require').")));
			md[nmd].name = "password";
			md[nmd].value = opts->password;
			nmd++;
		}
	}
	memset(&copts, 0, sizeof(copts));
	copts.authority = s->authority;
	copts.path = VSTREAM_PATH;
	copts.metadata = md;
	copts.nmetadata = nmd;
	copts.max_message_size = opts->max_message_size;
	copts.keepalive_ms = 10000;
	copts.idle_timeout_ms = 45000;
	copts.deadline = deadline;
	s->call = grpc_call_start(s->transport, &copts, buf, len, cxt);
	s->last_message = GetCurrentTimestamp();
	pfree(buf);

	MemoryContextSwitchTo(old);
	return s;
}

/*
 * Names in a response become identifiers, catalog rows and status text:
 * they must be valid UTF-8 (MySQL metadata is UTF-8).  Anything else is a
 * malformed message (08P01), which stops a stream.
 */
static void
check_name(const char *what, const char *name, const char *authority)
{
	const unsigned char *p = (const unsigned char *) name;
	size_t		len;
	size_t		i;
	uint64		high = 0;

	if (name == NULL)
		return;

	/*
	 * Names are ASCII almost always: verify only the others.  A VGTID of N
	 * shards carries 3N names with every transaction, so the ASCII test goes
	 * eight bytes at a time (within the string: strlen is vectorized).
	 */
	len = strlen(name);
	for (i = 0; i + sizeof(uint64) <= len; i += sizeof(uint64))
	{
		uint64		w;

		memcpy(&w, p + i, sizeof(uint64));
		high |= w;
	}
	for (; i < len; i++)
		high |= p[i];
	if ((high & UINT64CONST(0x8080808080808080)) == 0)
		return;
	if (!pg_verify_mbstr(PG_UTF8, name, strlen(name), true))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("VTGate at %s sent invalid UTF-8 in a %s: \"%s\"",
						authority, what, text_make_valid_cstr(name)),
				 errhint("The source's metadata is corrupt or the server is not a VTGate.")));
}

static void
check_vgtid_names(const Binlogdata__VGtid *vgtid, const char *authority)
{
	size_t		i,
				j,
				k;

	if (vgtid == NULL)
		return;
	for (i = 0; i < vgtid->n_shard_gtids; i++)
	{
		const Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];

		check_name("keyspace name", sg->keyspace, authority);
		check_name("shard name", sg->shard, authority);
		check_name("GTID position", sg->gtid, authority);
		for (j = 0; j < sg->n_table_p_ks; j++)
		{
			const Binlogdata__TableLastPK *tp = sg->table_p_ks[j];

			check_name("table name", tp->table_name, authority);
			if (tp->lastpk)
				for (k = 0; k < tp->lastpk->n_fields; k++)
					check_name("column name", tp->lastpk->fields[k]->name, authority);
		}
	}
}

static void
check_response_names(const Vtgate__VStreamResponse *resp, const char *authority)
{
	size_t		i,
				j;

	for (i = 0; i < resp->n_events; i++)
	{
		const Binlogdata__VEvent *ev = resp->events[i];

		check_name("keyspace name", ev->keyspace, authority);
		check_name("shard name", ev->shard, authority);
		if (ev->field_event)
		{
			const Binlogdata__FieldEvent *fe = ev->field_event;

			check_name("table name", fe->table_name, authority);
			check_name("keyspace name", fe->keyspace, authority);
			check_name("shard name", fe->shard, authority);
			for (j = 0; j < fe->n_fields; j++)
			{
				check_name("column name", fe->fields[j]->name, authority);
				check_name("column type", fe->fields[j]->column_type, authority);
			}
		}
		if (ev->row_event)
		{
			check_name("table name", ev->row_event->table_name, authority);
			check_name("keyspace name", ev->row_event->keyspace, authority);
			check_name("shard name", ev->row_event->shard, authority);
		}
		check_vgtid_names(ev->vgtid, authority);
	}
}

TimestampTz
vstream_last_message(VStreamSession *s)
{
	return s->last_message;
}

Vtgate__VStreamResponse *
vstream_next(VStreamSession *s, MemoryContext msgcxt, int timeout_ms,
			 bool *ended)
{
	ProtobufCAllocator alloc;
	const uint8 *data;
	size_t		len;
	Vtgate__VStreamResponse *resp;
	long		stall_ms = -1;
	long		wait_ms = timeout_ms;
	bool		stalled = false;

	*ended = false;
	/* a message already received: no stall, no clock read */
	if (s->heartbeat_interval > 0 && !grpc_call_message_ready(s->call))
	{
		long		since = TimestampDifferenceMilliseconds(s->last_message,
															GetCurrentTimestamp());

		stall_ms = s->heartbeat_interval * 3000L + 5000 - since;
		if (stall_ms <= 0)
			stalled = true;
		else if (wait_ms < 0 || stall_ms < wait_ms)
			wait_ms = stall_ms;
	}
	if (stalled)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("no message from VTGate at %s for more than %d seconds",
						s->authority, s->heartbeat_interval * 3 + 5),
				 errdetail("Heartbeats were requested every %d seconds.",
						   s->heartbeat_interval)));

	data = grpc_call_next(s->call, &len, wait_ms, ended);
	if (data == NULL)
		return NULL;
	s->last_message = GetCurrentTimestamp();

	vstream_pb_allocator(&alloc, msgcxt);
	resp = vtgate__vstream_response__unpack(&alloc, len, data);
	if (resp == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("could not decode a VStreamResponse of %zu bytes from VTGate at %s",
						len, s->authority),
				 errhint("The message is not a valid vtgate.VStreamResponse; check that the server is a VTGate.")));
	check_response_names(resp, s->authority);
	return resp;
}

void
vstream_close(VStreamSession *s)
{
	if (s)
		MemoryContextDelete(s->cxt);
}

/* ---------------------------------------------------------------------
 * Positions: wire form, copies and JSON
 * ---------------------------------------------------------------------
 */

bytea *
vstream_vgtid_serialize(const Binlogdata__VGtid *vgtid)
{
	size_t		len = binlogdata__vgtid__get_packed_size(vgtid);
	bytea	   *result = palloc(VARHDRSZ + len);

	SET_VARSIZE(result, VARHDRSZ + len);
	binlogdata__vgtid__pack(vgtid, (uint8 *) VARDATA(result));
	return result;
}

Binlogdata__VGtid *
vstream_vgtid_deserialize(const bytea *data)
{
	ProtobufCAllocator alloc;
	Binlogdata__VGtid *v;

	vstream_pb_allocator(&alloc, CurrentMemoryContext);
	v = binlogdata__vgtid__unpack(&alloc, VARSIZE_ANY_EXHDR(data),
								  (const uint8 *) VARDATA_ANY(data));
	if (v == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("stored VGTID could not be decoded")));
	return v;
}

Binlogdata__VGtid *
vstream_vgtid_copy(const Binlogdata__VGtid *vgtid)
{
	bytea	   *b = vstream_vgtid_serialize(vgtid);
	Binlogdata__VGtid *copy = vstream_vgtid_deserialize(b);

	pfree(b);
	return copy;
}

void
vstream_jsonb_key(JsonbParseState **st, const char *key)
{
	JsonbValue	k;

	k.type = jbvString;
	k.val.string.val = (char *) key;
	k.val.string.len = strlen(key);
	pushJsonbValue(st, WJB_KEY, &k);
}

void
vstream_jsonb_string(JsonbParseState **st, const char *key, const char *value, int len)
{
	JsonbValue	v;

	vstream_jsonb_key(st, key);
	v.type = jbvString;
	v.val.string.val = (char *) value;
	v.val.string.len = len < 0 ? (int) strlen(value) : len;
	pushJsonbValue(st, WJB_VALUE, &v);
}

void
vstream_jsonb_int(JsonbParseState **st, const char *key, int64 value)
{
	JsonbValue	v;

	vstream_jsonb_key(st, key);
	v.type = jbvNumeric;
	v.val.numeric = int64_to_numeric(value);
	pushJsonbValue(st, WJB_VALUE, &v);
}

static void
push_lastpk(JsonbParseState **st, const Query__QueryResult *qr)
{
	size_t		i;
	size_t		j;

	pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
	vstream_jsonb_key(st, "fields");
	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < qr->n_fields; i++)
	{
		const Query__Field *f = qr->fields[i];
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(&query__type__descriptor, f->type);

		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		vstream_jsonb_string(st, "name", f->name, -1);
		if (ev)
			vstream_jsonb_string(st, "type", ev->name, -1);
		else
			vstream_jsonb_int(st, "type", f->type);
		if (f->table[0])
			vstream_jsonb_string(st, "table", f->table, -1);
		if (f->org_table[0])
			vstream_jsonb_string(st, "orgTable", f->org_table, -1);
		if (f->database[0])
			vstream_jsonb_string(st, "database", f->database, -1);
		if (f->org_name[0])
			vstream_jsonb_string(st, "orgName", f->org_name, -1);
		if (f->column_length)
			vstream_jsonb_int(st, "columnLength", f->column_length);
		if (f->charset)
			vstream_jsonb_int(st, "charset", f->charset);
		if (f->decimals)
			vstream_jsonb_int(st, "decimals", f->decimals);
		if (f->flags)
			vstream_jsonb_int(st, "flags", f->flags);
		if (f->column_type[0])
			vstream_jsonb_string(st, "columnType", f->column_type, -1);
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
	vstream_jsonb_key(st, "rows");
	pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; i < qr->n_rows; i++)
	{
		const Query__Row *r = qr->rows[i];
		int			enclen = pg_b64_enc_len(r->values.len);
		char	   *enc = palloc(enclen + 1);
		int			n;

		n = pg_b64_encode((const char *) r->values.data, r->values.len, enc, enclen);
		if (n < 0)
			n = 0;
		pushJsonbValue(st, WJB_BEGIN_OBJECT, NULL);
		vstream_jsonb_key(st, "lengths");
		pushJsonbValue(st, WJB_BEGIN_ARRAY, NULL);
		for (j = 0; j < r->n_lengths; j++)
		{
			JsonbValue	v;

			v.type = jbvNumeric;
			v.val.numeric = int64_to_numeric(r->lengths[j]);
			pushJsonbValue(st, WJB_ELEM, &v);
		}
		pushJsonbValue(st, WJB_END_ARRAY, NULL);
		vstream_jsonb_string(st, "values", enc, n);
		pushJsonbValue(st, WJB_END_OBJECT, NULL);
	}
	pushJsonbValue(st, WJB_END_ARRAY, NULL);
	pushJsonbValue(st, WJB_END_OBJECT, NULL);
}

Jsonb *
vstream_vgtid_to_jsonb(const Binlogdata__VGtid *vgtid)
{
	JsonbParseState *st = NULL;
	JsonbValue *res;
	size_t		i;
	size_t		j;

	pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
	for (i = 0; vgtid && i < vgtid->n_shard_gtids; i++)
	{
		const Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];

		pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
		vstream_jsonb_string(&st, "keyspace", sg->keyspace, -1);
		vstream_jsonb_string(&st, "shard", sg->shard, -1);
		vstream_jsonb_string(&st, "gtid", sg->gtid, -1);
		if (sg->n_table_p_ks > 0)
		{
			vstream_jsonb_key(&st, "table_p_ks");
			pushJsonbValue(&st, WJB_BEGIN_ARRAY, NULL);
			for (j = 0; j < sg->n_table_p_ks; j++)
			{
				const Binlogdata__TableLastPK *tp = sg->table_p_ks[j];

				pushJsonbValue(&st, WJB_BEGIN_OBJECT, NULL);
				vstream_jsonb_string(&st, "table_name", tp->table_name, -1);
				if (tp->lastpk)
				{
					vstream_jsonb_key(&st, "lastpk");
					push_lastpk(&st, tp->lastpk);
				}
				pushJsonbValue(&st, WJB_END_OBJECT, NULL);
			}
			pushJsonbValue(&st, WJB_END_ARRAY, NULL);
		}
		pushJsonbValue(&st, WJB_END_OBJECT, NULL);
	}
	res = pushJsonbValue(&st, WJB_END_ARRAY, NULL);
	return JsonbValueToJsonb(res);
}

/* --- parsing JSON positions --- */

static void
bad_vgtid(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid VGTID: %s", detail),
			 errhint("A VGTID is a JSON array of objects with keys \"keyspace\", \"shard\", \"gtid\" and optionally \"table_p_ks\", as shown by vstream_fdw.peek() or the status view.")));
}

/* Look up key (or its alternative spelling) in an object container. */
static JsonbValue *
get_key(JsonbContainer *c, const char *key, const char *alt)
{
	JsonbValue *v = getKeyJsonValueFromContainer(c, key, strlen(key), NULL);

	if (v == NULL && alt)
		v = getKeyJsonValueFromContainer(c, alt, strlen(alt), NULL);
	return v;
}

static char *
get_string(JsonbContainer *c, const char *key, const char *alt, bool required)
{
	JsonbValue *v = get_key(c, key, alt);

	if (v == NULL || v->type == jbvNull)
	{
		if (required)
			bad_vgtid(psprintf("key \"%s\" is missing", key));
		return pstrdup("");
	}
	if (v->type != jbvString)
		bad_vgtid(psprintf("key \"%s\" must be a string", key));
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static int64
jsonb_to_int64(JsonbValue *v, const char *what)
{
	if (v->type == jbvNumeric)
		return DatumGetInt64(DirectFunctionCall1(numeric_int8,
												 NumericGetDatum(v->val.numeric)));
	if (v->type == jbvString)
	{
		char	   *s = pnstrdup(v->val.string.val, v->val.string.len);
		char	   *end;
		int64		r;

		errno = 0;
		r = strtoi64(s, &end, 10);
		if (errno == 0 && end != s && *end == '\0')
			return r;
	}
	bad_vgtid(psprintf("\"%s\" must be an integer", what));
	return 0;
}

static uint32
get_uint(JsonbContainer *c, const char *key, const char *alt)
{
	JsonbValue *v = get_key(c, key, alt);

	if (v == NULL || v->type == jbvNull)
		return 0;
	return (uint32) jsonb_to_int64(v, key);
}

/* The elements of an array container (jbvBinary values for composites). */
static List *
array_elements(JsonbValue *arr, const char *what)
{
	JsonbIterator *it;
	JsonbValue	v;
	JsonbIteratorToken tok;
	List	   *result = NIL;

	if (arr == NULL || arr->type == jbvNull)
		return NIL;
	if (arr->type != jbvBinary || !JsonContainerIsArray(arr->val.binary.data))
		bad_vgtid(psprintf("\"%s\" must be an array", what));
	it = JsonbIteratorInit(arr->val.binary.data);
	while ((tok = JsonbIteratorNext(&it, &v, true)) != WJB_DONE)
	{
		if (tok == WJB_ELEM)
		{
			JsonbValue *copy = palloc(sizeof(JsonbValue));

			*copy = v;
			result = lappend(result, copy);
		}
	}
	return result;
}

static JsonbContainer *
as_object(JsonbValue *v, const char *what)
{
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		bad_vgtid(psprintf("%s must be a JSON object", what));
	return v->val.binary.data;
}

static Query__QueryResult *
parse_lastpk(JsonbValue *v)
{
	JsonbContainer *c = as_object(v, "\"lastpk\"");
	Query__QueryResult *qr = palloc(sizeof(Query__QueryResult));
	List	   *fields;
	List	   *rows;
	ListCell   *lc;
	int			i;

	query__query_result__init(qr);
	fields = array_elements(get_key(c, "fields", NULL), "fields");
	qr->n_fields = list_length(fields);
	qr->fields = palloc0(sizeof(Query__Field *) * Max(qr->n_fields, 1));
	i = 0;
	foreach(lc, fields)
	{
		JsonbContainer *fc = as_object(lfirst(lc), "a lastpk field");
		Query__Field *f = palloc(sizeof(Query__Field));
		JsonbValue *tv;

		query__field__init(f);
		f->name = get_string(fc, "name", NULL, true);
		tv = get_key(fc, "type", NULL);
		if (tv && tv->type == jbvString)
		{
			char	   *tn = pnstrdup(tv->val.string.val, tv->val.string.len);
			const ProtobufCEnumValue *ev =
				protobuf_c_enum_descriptor_get_value_by_name(&query__type__descriptor, tn);

			if (ev == NULL)
				bad_vgtid(psprintf("unknown field type \"%s\"", tn));
			f->type = ev->value;
		}
		else if (tv)
			f->type = (Query__Type) jsonb_to_int64(tv, "type");
		f->table = get_string(fc, "table", NULL, false);
		f->org_table = get_string(fc, "orgTable", "org_table", false);
		f->database = get_string(fc, "database", NULL, false);
		f->org_name = get_string(fc, "orgName", "org_name", false);
		f->column_length = get_uint(fc, "columnLength", "column_length");
		f->charset = get_uint(fc, "charset", NULL);
		f->decimals = get_uint(fc, "decimals", NULL);
		f->flags = get_uint(fc, "flags", NULL);
		f->column_type = get_string(fc, "columnType", "column_type", false);
		qr->fields[i++] = f;
	}
	rows = array_elements(get_key(c, "rows", NULL), "rows");
	qr->n_rows = list_length(rows);
	qr->rows = palloc0(sizeof(Query__Row *) * Max(qr->n_rows, 1));
	i = 0;
	foreach(lc, rows)
	{
		JsonbContainer *rc = as_object(lfirst(lc), "a lastpk row");
		Query__Row *r = palloc(sizeof(Query__Row));
		List	   *lens = array_elements(get_key(rc, "lengths", NULL), "lengths");
		char	   *b64 = get_string(rc, "values", NULL, false);
		ListCell   *lc2;
		int			j = 0;
		int			declen;

		query__row__init(r);
		r->n_lengths = list_length(lens);
		r->lengths = palloc(sizeof(int64) * Max(r->n_lengths, 1));
		foreach(lc2, lens)
			r->lengths[j++] = jsonb_to_int64(lfirst(lc2), "lengths");
		r->values.data = palloc(pg_b64_dec_len(strlen(b64)) + 1);
		declen = pg_b64_decode(b64, strlen(b64), (char *) r->values.data,
							   pg_b64_dec_len(strlen(b64)));
		if (declen < 0)
			bad_vgtid("lastpk \"values\" must be base64");
		r->values.len = declen;
		qr->rows[i++] = r;
	}
	return qr;
}

Binlogdata__VGtid *
vstream_vgtid_from_json(const char *json)
{
	Jsonb	   *jb;
	JsonbValue	top;
	List	   *shards;
	ListCell   *lc;
	Binlogdata__VGtid *vgtid = palloc(sizeof(Binlogdata__VGtid));
	int			i = 0;

	jb = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(json)));
	top.type = jbvBinary;
	top.val.binary.data = &jb->root;
	top.val.binary.len = VARSIZE(jb) - VARHDRSZ;

	/* accept {"shard_gtids": [...]} as well as the bare array */
	if (JsonContainerIsObject(&jb->root))
	{
		JsonbValue *inner = get_key(&jb->root, "shard_gtids", "shardGtids");

		if (inner == NULL)
			bad_vgtid("expected an array of shard positions");
		top = *inner;
	}
	else if (JB_ROOT_IS_SCALAR(jb))
		bad_vgtid("expected an array of shard positions");

	binlogdata__vgtid__init(vgtid);
	shards = array_elements(&top, "shard_gtids");
	if (shards == NIL)
		bad_vgtid("it names no shard");
	vgtid->n_shard_gtids = list_length(shards);
	vgtid->shard_gtids = palloc(sizeof(Binlogdata__ShardGtid *) * vgtid->n_shard_gtids);
	foreach(lc, shards)
	{
		JsonbContainer *sc = as_object(lfirst(lc), "a shard position");
		Binlogdata__ShardGtid *sg = palloc(sizeof(Binlogdata__ShardGtid));
		List	   *tpks;
		ListCell   *lc2;
		int			j = 0;

		binlogdata__shard_gtid__init(sg);
		sg->keyspace = get_string(sc, "keyspace", NULL, true);
		sg->shard = get_string(sc, "shard", NULL, false);
		sg->gtid = get_string(sc, "gtid", NULL, false);
		tpks = array_elements(get_key(sc, "table_p_ks", "tablePKs"), "table_p_ks");
		sg->n_table_p_ks = list_length(tpks);
		sg->table_p_ks = palloc0(sizeof(Binlogdata__TableLastPK *) * Max(sg->n_table_p_ks, 1));
		foreach(lc2, tpks)
		{
			JsonbContainer *tc = as_object(lfirst(lc2), "a table_p_ks entry");
			Binlogdata__TableLastPK *tp = palloc(sizeof(Binlogdata__TableLastPK));
			JsonbValue *lp;

			binlogdata__table_last_pk__init(tp);
			tp->table_name = get_string(tc, "table_name", "tableName", true);
			lp = get_key(tc, "lastpk", NULL);
			if (lp && lp->type != jbvNull)
				tp->lastpk = parse_lastpk(lp);
			sg->table_p_ks[j++] = tp;
		}
		vgtid->shard_gtids[i++] = sg;
	}
	return vgtid;
}
