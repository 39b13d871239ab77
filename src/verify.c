/*-------------------------------------------------------------------------
 *
 * verify.c
 *	  vstream_fdw.verify(): prove that the mirror tables equal the source.
 *
 * For each mirror table of a server's stream (vstream_fdw.mirror, in the
 * stream's target schema) verify() compares the source table, read through
 * VTGate's MySQL port, with the mirror:
 *
 *	 1. The source rows are streamed (workload OLAP, mysql_use_result: no row
 *		limit, bounded memory) and converted with convert.c into the mirror
 *		columns' types, exactly as the apply converts them, so "equal" means
 *		what the apply would have written.  Every batch_size rows, one query
 *		looks the batch up in the mirror by primary key (unnest of one array
 *		per column, an index nested loop) and says per row whether the mirror
 *		has the key and whether the row is equal (ROW(...) IS NOT DISTINCT
 *		FROM ROW(...)).  The ctid of each matched mirror row is marked in a
 *		bitmap (one bit per possible tuple slot: about 37 bytes per 8 kB page
 *		of the mirror).
 *	 2. The mirror is scanned once more for its primary keys and ctids: a row
 *		whose ctid was not marked was not seen at the source (an "extra"
 *		candidate).  Rows the apply rewrote meanwhile are candidates too.
 *	 3. The source keeps changing while we compare, and the mirror lags it a
 *		little.  While the stream runs, candidate keys are re-read from both
 *		sides (source: WHERE pk IN (...); mirror: by primary key) about once
 *		a second until they agree or recheck_timeout passes: a busy but
 *		correct mirror converges and reports zero differences; a key is
 *		reported only if it never agreed.  Without a running stream nothing
 *		changes the mirror, and the first comparison is the answer.
 *
 * Memory is bounded by batch_size rows, the bitmap and the candidate keys
 * (at most max_keys per table are kept and re-checked; the counts stay
 * exact for the first comparison).  Interrupts are served between rows.
 * Progress: a NOTICE per table when it is done, a DEBUG1 message per batch.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/verify.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/index.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/bufmgr.h"
#include "storage/latch.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "utils/typcache.h"

#include "convert.h"
#include "deparse.h"
#include "mirror.h"
#include "mysql_conn.h"
#include "options.h"

PG_FUNCTION_INFO_V1(vstream_verify);

/* One compared column: source name = mirror name. */
typedef struct VerifyColumn
{
	char	   *name;
	AttrNumber	attnum;			/* in the mirror */
	Oid			type;
	int32		typmod;
	Oid			arraytype;
	int16		typlen;
	bool		typbyval;
	char		typalign;
	ConvertColumn conv;
	FmgrInfo	outfunc;
	bool		as_text;		/* no equality operator: compared as text */
	bool		float6;			/* a MySQL FLOAT: 6 significant digits */
} VerifyColumn;

/* the ordinality column of the lookups (not a plausible column name) */
#define ORD_ALIAS "\"vstream_fdw ord\""


typedef enum KeyKind
{
	KEY_MISSING,				/* at the source, not in the mirror */
	KEY_EXTRA,					/* in the mirror, not at the source */
	KEY_DIFFERENT				/* both, not equal */
} KeyKind;

static const char *const key_kind_names[] = {"missing", "extra", "different"};

typedef struct CandKey
{
	Datum	   *values;			/* npk primary key values (mirror types) */
	KeyKind		kind;
	bool		agreed;
} CandKey;

typedef struct VerifyTable
{
	char	   *schema;
	char	   *name;
	Oid			relid;
	int			ncols;			/* primary key columns first */
	int			npk;
	VerifyColumn *cols;
	char	   *select_sql;		/* source SELECT of the columns */
	SPIPlanPtr	lookup;			/* batch lookup in the mirror */
	SPIPlanPtr	exists;			/* key existence in the mirror */
	bool		soft_delete;	/* rows marked deleted are not compared */
	/* bitmap of matched ctids */
	BlockNumber nblocks;
	uint8	   *seen;
	/* results */
	int64		source_rows;
	int64		mirror_rows;
	int64		matched;
	List	   *cands;			/* CandKey * */
	int64		ncands;			/* all candidates, also those not kept */
	int64		dropped;		/* candidates not kept (max_keys) */
	int64		dropped_kind[3];	/* ... by KeyKind */
} VerifyTable;

typedef struct VerifyState
{
	VStreamServerOptions *opts;
	MysqlConn  *conn;
	int			batch_size;
	int			max_keys;
	ConvertContext ccxt;
} VerifyState;

#define SEEN_BITS_PER_BLOCK MaxHeapTuplesPerPage

static void
seen_mark(VerifyTable *t, ItemPointer tid)
{
	BlockNumber b = ItemPointerGetBlockNumber(tid);
	OffsetNumber o = ItemPointerGetOffsetNumber(tid);
	uint64		bit;

	if (b >= t->nblocks || o < 1 || o > SEEN_BITS_PER_BLOCK)
		return;
	bit = (uint64) b * SEEN_BITS_PER_BLOCK + (o - 1);
	t->seen[bit / 8] |= (uint8) (1 << (bit % 8));
}

static bool
seen_test(VerifyTable *t, ItemPointer tid)
{
	BlockNumber b = ItemPointerGetBlockNumber(tid);
	OffsetNumber o = ItemPointerGetOffsetNumber(tid);
	uint64		bit;

	if (b >= t->nblocks || o < 1 || o > SEEN_BITS_PER_BLOCK)
		return false;
	bit = (uint64) b * SEEN_BITS_PER_BLOCK + (o - 1);
	return (t->seen[bit / 8] & (1 << (bit % 8))) != 0;
}

/* "col=value, col2=value" of a key. */
static char *
key_text(VerifyTable *t, Datum *values)
{
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < t->npk; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "%s=%s", quote_identifier(t->cols[i].name),
						 OutputFunctionCall(&t->cols[i].outfunc, values[i]));
	}
	return buf.data;
}

/* A MySQL literal of a key value. */
static void
key_literal(StringInfo buf, VerifyColumn *c, Datum value)
{
	char	   *s;

	if (deparse_literal(buf, value, c->type, false))
		return;
	if (c->type == TIMESTAMPTZOID)
	{
		/* the session's time_zone is UTC, a timestamptz is UTC inside */
		if (deparse_literal(buf, value, TIMESTAMPOID, false))
			return;
	}
	if (c->type == BYTEAOID)
	{
		bytea	   *b = DatumGetByteaPP(value);

		mysqlconn_append_hex(buf, VARDATA_ANY(b), VARSIZE_ANY_EXHDR(b));
		return;
	}
	s = OutputFunctionCall(&c->outfunc, value);
	mysqlconn_append_literal(buf, s, strlen(s));
}

static void
add_candidate(VerifyState *vs, VerifyTable *t, Datum *pk, KeyKind kind)
{
	CandKey    *k;
	int			i;

	t->ncands++;
	if (list_length(t->cands) >= vs->max_keys)
	{
		t->dropped++;
		t->dropped_kind[kind]++;
		return;
	}
	k = palloc(sizeof(CandKey));
	k->values = palloc(sizeof(Datum) * t->npk);
	for (i = 0; i < t->npk; i++)
		k->values[i] = datumCopy(pk[i], t->cols[i].typbyval, t->cols[i].typlen);
	k->kind = kind;
	k->agreed = false;
	t->cands = lappend(t->cands, k);
}

/*
 * A column as compared in the lookup query.  MariaDB sends FLOAT values with
 * 6 significant digits in its text protocol and in the VStream copy phase,
 * exactly in the replication phase: both sides are compared at 6 significant
 * digits, so that the phase a row came through does not matter.
 */
static void
append_compared(StringInfo q, VerifyColumn *c, int i, const char *alias)
{
	const char *name = quote_identifier(c->name);

	if (i > 0)
		appendStringInfoString(q, ", ");
	if (c->float6)
		appendStringInfo(q, "to_char(%s.%s, '9.99999EEEE')::float8", alias, name);
	else if (c->as_text)
		appendStringInfo(q, "%s.%s::text", alias, name);
	else
		appendStringInfo(q, "%s.%s", alias, name);
}

/*
 * Describe the mirror and the source table; prepare the SPI plans.  Returns
 * false (with *why set) if the table cannot be compared.
 */
static bool
table_prepare(VerifyState *vs, VerifyTable *t, char **why)
{
	Relation	rel;
	Oid			pkindex;
	Relation	idx;
	TupleDesc	td;
	StringInfoData q;
	MYSQL_RES  *res;
	MYSQL_FIELD *fields;
	unsigned int nfields;
	int			i,
				j,
				n;
	bool	   *is_pk;
	Oid		   *argtypes;
	unsigned long *lengths;

	t->relid = get_relname_relid(t->name, get_namespace_oid(t->schema, false));
	if (!OidIsValid(t->relid))
	{
		*why = "the mirror table does not exist";
		return false;
	}
	rel = table_open(t->relid, AccessShareLock);
	td = RelationGetDescr(rel);
	pkindex = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(pkindex))
		pkindex = RelationGetReplicaIndex(rel);
	if (!OidIsValid(pkindex))
	{
		table_close(rel, AccessShareLock);
		*why = "the mirror table has no primary key";
		return false;
	}
	t->nblocks = RelationGetNumberOfBlocks(rel) + 16;

	/* does the source table still exist? */
	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = ");
	mysqlconn_append_literal(&q, vs->opts->keyspace, strlen(vs->opts->keyspace));
	appendStringInfoString(&q, " AND TABLE_NAME = ");
	mysqlconn_append_literal(&q, t->name, strlen(t->name));
	mysqlconn_query(vs->conn, q.data);
	n = 0;
	while (mysqlconn_fetch(vs->conn, 1, &lengths) != NULL)
		n++;
	if (n == 0)
	{
		table_close(rel, AccessShareLock);
		*why = "the source table does not exist";
		return false;
	}

	/* the source's columns: a query that returns no row */
	resetStringInfo(&q);
	appendStringInfoString(&q, "SELECT * FROM ");
	mysqlconn_append_ident(&q, t->name);
	appendStringInfoString(&q, " LIMIT 0");
	res = mysqlconn_query(vs->conn, q.data);
	nfields = mysql_num_fields(res);
	fields = mysql_fetch_fields(res);

	idx = index_open(pkindex, AccessShareLock);
	t->npk = IndexRelationGetNumberOfKeyAttributes(idx);
	is_pk = palloc0(sizeof(bool) * (td->natts + 1));
	t->cols = palloc0(sizeof(VerifyColumn) * (td->natts + 1));
	n = 0;
	for (i = 0; i < t->npk; i++)
	{
		AttrNumber	a = idx->rd_index->indkey.values[i];

		if (a <= 0)
		{
			index_close(idx, AccessShareLock);
			table_close(rel, AccessShareLock);
			while (mysqlconn_fetch(vs->conn, 0, &lengths) != NULL)
				;
			*why = "the mirror's primary key has an expression";
			return false;
		}
		is_pk[a] = true;
		t->cols[n++].attnum = a;
	}
	index_close(idx, AccessShareLock);
	for (i = 1; i <= td->natts; i++)
		if (!TupleDescAttr(td, i - 1)->attisdropped && !is_pk[i])
			t->cols[n++].attnum = i;
	t->ncols = 0;
	for (i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(td, t->cols[i].attnum - 1);
		VerifyColumn *c = &t->cols[t->ncols];
		bool		found = false;
		Oid			outf;
		bool		isvarlena;

		/* the stream's own columns (metadata, soft delete) */
		if (i >= t->npk &&
			strncmp(NameStr(att->attname), VSTREAM_RESERVED_PREFIX,
					strlen(VSTREAM_RESERVED_PREFIX)) == 0)
		{
			if (strcmp(NameStr(att->attname), VSTREAM_DELETED_COLUMN) == 0 &&
				att->atttypid == BOOLOID)
				t->soft_delete = true;
			continue;
		}
		for (j = 0; j < (int) nfields; j++)
		{
			if (strcmp(fields[j].name, NameStr(att->attname)) == 0)
			{
				Query__Field f;

				mysqlconn_field_to_query_field(&fields[j], NULL, &f);
				convert_column_init(&c->conv, &f, att->atttypid, att->atttypmod);
				convert_column_set_enum_strings(&c->conv, true);
				c->float6 = fields[j].type == MYSQL_TYPE_FLOAT &&
					(att->atttypid == FLOAT4OID || att->atttypid == FLOAT8OID);
				found = true;
				break;
			}
		}
		if (!found)
		{
			if (i < t->npk)
			{
				table_close(rel, AccessShareLock);
				while (mysqlconn_fetch(vs->conn, 0, &lengths) != NULL)
					;
				*why = psprintf("primary key column \"%s\" is not in the source table",
								NameStr(att->attname));
				return false;
			}
			continue;			/* a column added to the mirror by its user */
		}
		c->attnum = t->cols[i].attnum;
		c->name = pstrdup(NameStr(att->attname));
		c->type = att->atttypid;
		c->typmod = att->atttypmod;
		c->arraytype = get_array_type(att->atttypid);
		get_typlenbyvalalign(c->type, &c->typlen, &c->typbyval, &c->typalign);
		getTypeOutputInfo(c->type, &outf, &isvarlena);
		fmgr_info(outf, &c->outfunc);
		c->as_text = !OidIsValid(lookup_type_cache(c->type, TYPECACHE_EQ_OPR)->eq_opr);
		if (!OidIsValid(c->arraytype))
		{
			table_close(rel, AccessShareLock);
			while (mysqlconn_fetch(vs->conn, 0, &lengths) != NULL)
				;
			*why = psprintf("column \"%s\" has a type without an array type",
							c->name);
			return false;
		}
		t->ncols++;
	}
	while (mysqlconn_fetch(vs->conn, 0, &lengths) != NULL)
		;
	table_close(rel, AccessShareLock);

	/* source SELECT */
	resetStringInfo(&q);
	appendStringInfoString(&q, "SELECT ");
	for (i = 0; i < t->ncols; i++)
	{
		if (i > 0)
			appendStringInfoString(&q, ", ");
		mysqlconn_append_ident(&q, t->cols[i].name);
	}
	appendStringInfoString(&q, " FROM ");
	mysqlconn_append_ident(&q, t->name);
	t->select_sql = pstrdup(q.data);

	/* batch lookup: one array parameter per column */
	argtypes = palloc(sizeof(Oid) * t->ncols);
	resetStringInfo(&q);
	appendStringInfoString(&q, "SELECT u." ORD_ALIAS "::int4, m.ctid, ROW(");
	for (i = 0; i < t->ncols; i++)
		append_compared(&q, &t->cols[i], i, "m");
	appendStringInfoString(&q, ") IS NOT DISTINCT FROM ROW(");
	for (i = 0; i < t->ncols; i++)
		append_compared(&q, &t->cols[i], i, "u");
	appendStringInfoString(&q, ") FROM unnest(");
	for (i = 0; i < t->ncols; i++)
	{
		appendStringInfo(&q, "%s$%d", i ? ", " : "", i + 1);
		argtypes[i] = t->cols[i].arraytype;
	}
	appendStringInfoString(&q, ") WITH ORDINALITY AS u(");
	for (i = 0; i < t->ncols; i++)
		appendStringInfo(&q, "%s, ", quote_identifier(t->cols[i].name));
	appendStringInfo(&q, ORD_ALIAS ") LEFT JOIN %s m ON ",
					 quote_qualified_identifier(t->schema, t->name));
	for (i = 0; i < t->npk; i++)
		appendStringInfo(&q, "%sm.%s = u.%s", i ? " AND " : "",
						 quote_identifier(t->cols[i].name),
						 quote_identifier(t->cols[i].name));
	if (t->soft_delete)
		appendStringInfo(&q, " AND NOT m.%s", quote_identifier(VSTREAM_DELETED_COLUMN));
	t->lookup = SPI_prepare(q.data, t->ncols, argtypes);
	if (t->lookup == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(t->lookup);

	/* existence of keys: ordinals of the keys the mirror has */
	resetStringInfo(&q);
	appendStringInfoString(&q, "SELECT u." ORD_ALIAS "::int4 FROM unnest(");
	for (i = 0; i < t->npk; i++)
		appendStringInfo(&q, "%s$%d", i ? ", " : "", i + 1);
	appendStringInfoString(&q, ") WITH ORDINALITY AS u(");
	for (i = 0; i < t->npk; i++)
		appendStringInfo(&q, "%s, ", quote_identifier(t->cols[i].name));
	appendStringInfo(&q, ORD_ALIAS ") JOIN %s m ON ",
					 quote_qualified_identifier(t->schema, t->name));
	for (i = 0; i < t->npk; i++)
		appendStringInfo(&q, "%sm.%s = u.%s", i ? " AND " : "",
						 quote_identifier(t->cols[i].name),
						 quote_identifier(t->cols[i].name));
	if (t->soft_delete)
		appendStringInfo(&q, " AND NOT m.%s", quote_identifier(VSTREAM_DELETED_COLUMN));
	t->exists = SPI_prepare(q.data, t->npk, argtypes);
	if (t->exists == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	SPI_keepplan(t->exists);
	return true;
}

/* A batch of converted source rows, column-major. */
typedef struct Batch
{
	int			n;
	Datum	  **values;			/* [col][row] */
	bool	  **nulls;
} Batch;

static void
batch_init(Batch *b, VerifyTable *t, int size)
{
	int			i;

	b->n = 0;
	b->values = palloc(sizeof(Datum *) * t->ncols);
	b->nulls = palloc(sizeof(bool *) * t->ncols);
	for (i = 0; i < t->ncols; i++)
	{
		b->values[i] = palloc(sizeof(Datum) * size);
		b->nulls[i] = palloc(sizeof(bool) * size);
	}
}

/*
 * Look the batch up in the mirror: present[row] says whether the mirror has
 * the row's key, same[row] whether the whole row is equal.  Marks the ctids
 * of the mirror rows found while the bitmap exists (the first pass).
 */
static void
batch_lookup(VerifyState *vs, VerifyTable *t, Batch *b, bool *present,
			 bool *same)
{
	Datum	   *args = palloc(sizeof(Datum) * t->ncols);
	int			i;
	uint64		r;

	for (i = 0; i < t->ncols; i++)
	{
		VerifyColumn *c = &t->cols[i];
		int			dims[1] = {b->n};
		int			lbs[1] = {1};

		args[i] = PointerGetDatum(construct_md_array(b->values[i], b->nulls[i],
													 1, dims, lbs, c->type,
													 c->typlen, c->typbyval,
													 c->typalign));
	}
	if (SPI_execute_plan(t->lookup, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "mirror lookup failed");
	for (i = 0; i < b->n; i++)
		present[i] = same[i] = false;
	for (r = 0; r < SPI_processed; r++)
	{
		HeapTuple	tup = SPI_tuptable->vals[r];
		TupleDesc	td = SPI_tuptable->tupdesc;
		bool		isnull;
		int			ord = DatumGetInt32(SPI_getbinval(tup, td, 1, &isnull));
		Datum		ctid = SPI_getbinval(tup, td, 2, &isnull);

		if (ord < 1 || ord > b->n || isnull)
			continue;
		present[ord - 1] = true;
		same[ord - 1] = DatumGetBool(SPI_getbinval(tup, td, 3, &isnull)) && !isnull;
		if (t->seen)
			seen_mark(t, (ItemPointer) DatumGetPointer(ctid));
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Convert one source row into the batch. */
static void
batch_add(VerifyState *vs, VerifyTable *t, Batch *b, MYSQL_ROW row,
		  unsigned long *lengths)
{
	int			i;

	for (i = 0; i < t->ncols; i++)
	{
		bool		isnull = false;

		b->values[i][b->n] = convert_cell(&t->cols[i].conv, row[i],
										  row[i] ? (int) lengths[i] : -1,
										  &isnull, &vs->ccxt);
		b->nulls[i][b->n] = isnull;
	}
	b->n++;
}

/* First pass: the whole source against the mirror. */
static void
compare_table(VerifyState *vs, VerifyTable *t)
{
	MemoryContext batchcxt = AllocSetContextCreate(CurrentMemoryContext,
												   "verify batch",
												   ALLOCSET_DEFAULT_SIZES);
	MemoryContext keep = CurrentMemoryContext;
	Batch		b;
	bool	   *present = palloc(sizeof(bool) * vs->batch_size);
	bool	   *same = palloc(sizeof(bool) * vs->batch_size);
	MYSQL_ROW	row;
	unsigned long *lengths;
	int			i,
				k;
	Portal		portal;

	t->seen = palloc_extended((Size) t->nblocks * SEEN_BITS_PER_BLOCK / 8 + 1,
							  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	batch_init(&b, t, vs->batch_size);
	vs->ccxt.table = t->name;
	mysqlconn_query(vs->conn, t->select_sql);
	MemoryContextSwitchTo(batchcxt);
	for (;;)
	{
		row = mysqlconn_fetch(vs->conn, t->ncols, &lengths);
		if (row != NULL)
		{
			batch_add(vs, t, &b, row, lengths);
			t->source_rows++;
		}
		if (b.n > 0 && (b.n == vs->batch_size || row == NULL))
		{
			batch_lookup(vs, t, &b, present, same);
			for (i = 0; i < b.n; i++)
			{
				Datum		pk[INDEX_MAX_KEYS];

				if (present[i])
					t->matched++;
				if (present[i] && same[i])
					continue;
				for (k = 0; k < t->npk; k++)
					pk[k] = b.values[k][i];
				MemoryContextSwitchTo(keep);
				add_candidate(vs, t, pk,
							  present[i] ? KEY_DIFFERENT : KEY_MISSING);
				MemoryContextSwitchTo(batchcxt);
			}
			ereport(DEBUG1,
					(errmsg_internal("verify %s.%s: " INT64_FORMAT " source rows compared",
									 t->schema, t->name, t->source_rows)));
			b.n = 0;
			MemoryContextSwitchTo(keep);
			MemoryContextReset(batchcxt);
			batch_init(&b, t, vs->batch_size);
			MemoryContextSwitchTo(batchcxt);
		}
		if (row == NULL)
			break;
	}
	MemoryContextSwitchTo(keep);

	/* Second pass: mirror rows not matched */
	{
		StringInfoData q;

		initStringInfo(&q);
		appendStringInfoString(&q, "SELECT ctid");
		for (i = 0; i < t->npk; i++)
			appendStringInfo(&q, ", %s", quote_identifier(t->cols[i].name));
		appendStringInfo(&q, " FROM %s",
						 quote_qualified_identifier(t->schema, t->name));
		if (t->soft_delete)
			appendStringInfo(&q, " WHERE NOT %s", quote_identifier(VSTREAM_DELETED_COLUMN));
		portal = SPI_cursor_open_with_args(NULL, q.data, 0, NULL, NULL, NULL,
										   false, 0);
	}
	for (;;)
	{
		uint64		r;

		SPI_cursor_fetch(portal, true, vs->batch_size);
		if (SPI_processed == 0)
			break;
		for (r = 0; r < SPI_processed; r++)
		{
			HeapTuple	tup = SPI_tuptable->vals[r];
			TupleDesc	td = SPI_tuptable->tupdesc;
			bool		isnull;
			Datum		pk[INDEX_MAX_KEYS];

			CHECK_FOR_INTERRUPTS();
			t->mirror_rows++;
			if (seen_test(t, (ItemPointer) DatumGetPointer(SPI_getbinval(tup, td, 1, &isnull))))
				continue;
			for (k = 0; k < t->npk; k++)
				pk[k] = SPI_getbinval(tup, td, k + 2, &isnull);
			add_candidate(vs, t, pk, KEY_EXTRA);
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	pfree(t->seen);
	t->seen = NULL;
	MemoryContextDelete(batchcxt);
}

/* Same key values (by their text form)? */
static bool
keys_equal(VerifyTable *t, Datum *a, Datum *b)
{
	int			i;

	for (i = 0; i < t->npk; i++)
	{
		if (strcmp(OutputFunctionCall(&t->cols[i].outfunc, a[i]),
				   OutputFunctionCall(&t->cols[i].outfunc, b[i])) != 0)
			return false;
	}
	return true;
}

/*
 * One re-check round over the candidates not yet agreed, up to 500 keys per
 * source query.  Returns the number still disagreeing.
 */
static int64
recheck_round(VerifyState *vs, VerifyTable *t)
{
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "verify recheck",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	List	   *pending = NIL;
	ListCell   *lc;
	int64		left = 0;

	foreach(lc, t->cands)
	{
		CandKey    *k = lfirst(lc);

		if (!k->agreed)
			pending = lappend(pending, k);
	}
	while (pending != NIL)
	{
		int			n = Min(list_length(pending), 500);
		CandKey   **keys = palloc(sizeof(CandKey *) * n);
		bool	   *src_found = palloc0(sizeof(bool) * n);
		bool	   *src_same = palloc0(sizeof(bool) * n);
		StringInfoData q;
		Batch		b;
		int		   *batch_key;
		MYSQL_ROW	row;
		unsigned long *lengths;
		bool	   *present;
		bool	   *same;
		int			i,
					j;

		for (i = 0; i < n; i++)
			keys[i] = list_nth(pending, i);
		pending = list_copy_tail(pending, n);

		/* the source rows of these keys */
		initStringInfo(&q);
		appendStringInfoString(&q, t->select_sql);
		appendStringInfoString(&q, " WHERE ");
		if (t->npk > 1)
			appendStringInfoChar(&q, '(');
		for (j = 0; j < t->npk; j++)
		{
			if (j > 0)
				appendStringInfoString(&q, ", ");
			mysqlconn_append_ident(&q, t->cols[j].name);
		}
		appendStringInfoString(&q, t->npk > 1 ? ") IN (" : " IN (");
		for (i = 0; i < n; i++)
		{
			if (i > 0)
				appendStringInfoString(&q, ", ");
			if (t->npk > 1)
				appendStringInfoChar(&q, '(');
			for (j = 0; j < t->npk; j++)
			{
				if (j > 0)
					appendStringInfoString(&q, ", ");
				key_literal(&q, &t->cols[j], keys[i]->values[j]);
			}
			if (t->npk > 1)
				appendStringInfoChar(&q, ')');
		}
		appendStringInfoChar(&q, ')');

		batch_init(&b, t, n * 2 + 1);
		batch_key = palloc(sizeof(int) * (n * 2 + 1));
		mysqlconn_query(vs->conn, q.data);
		while ((row = mysqlconn_fetch(vs->conn, t->ncols, &lengths)) != NULL)
		{
			Datum		pk[INDEX_MAX_KEYS];

			if (b.n >= n * 2)
				continue;
			batch_add(vs, t, &b, row, lengths);
			for (j = 0; j < t->npk; j++)
				pk[j] = b.values[j][b.n - 1];
			batch_key[b.n - 1] = -1;
			for (i = 0; i < n; i++)
			{
				if (keys_equal(t, keys[i]->values, pk))
				{
					batch_key[b.n - 1] = i;
					break;
				}
			}
		}

		/* the mirror rows of the source rows found */
		present = palloc0(sizeof(bool) * (b.n + 1));
		same = palloc0(sizeof(bool) * (b.n + 1));
		if (b.n > 0)
			batch_lookup(vs, t, &b, present, same);
		for (j = 0; j < b.n; j++)
		{
			if (batch_key[j] < 0)
				continue;
			src_found[batch_key[j]] = true;
			src_same[batch_key[j]] = present[j] && same[j];
		}

		/* keys the source does not have: the mirror must not have them */
		{
			int			nabsent = 0;
			Datum	  **cols = palloc(sizeof(Datum *) * t->npk);
			Datum	   *args = palloc(sizeof(Datum) * t->npk);
			int		   *idx = palloc(sizeof(int) * n);
			bool	   *inmirror = palloc0(sizeof(bool) * n);

			for (j = 0; j < t->npk; j++)
				cols[j] = palloc(sizeof(Datum) * n);
			for (i = 0; i < n; i++)
			{
				if (src_found[i])
					continue;
				for (j = 0; j < t->npk; j++)
					cols[j][nabsent] = keys[i]->values[j];
				idx[nabsent++] = i;
			}
			if (nabsent > 0)
			{
				uint64		r;

				for (j = 0; j < t->npk; j++)
				{
					VerifyColumn *c = &t->cols[j];
					int			dims[1] = {nabsent};
					int			lbs[1] = {1};

					args[j] = PointerGetDatum(construct_md_array(cols[j], NULL, 1,
																 dims, lbs, c->type,
																 c->typlen, c->typbyval,
																 c->typalign));
				}
				if (SPI_execute_plan(t->exists, args, NULL, false, 0) != SPI_OK_SELECT)
					elog(ERROR, "mirror lookup failed");
				for (r = 0; r < SPI_processed; r++)
				{
					bool		isnull;
					int			ord = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[r],
																  SPI_tuptable->tupdesc,
																  1, &isnull));

					if (ord >= 1 && ord <= nabsent)
						inmirror[idx[ord - 1]] = true;
				}
				SPI_freetuptable(SPI_tuptable);
			}
			for (i = 0; i < n; i++)
			{
				bool		agree;

				if (src_found[i])
					agree = src_same[i];
				else
					agree = !inmirror[i];
				if (agree)
					keys[i]->agreed = true;
				else
				{
					/* the kind may have changed meanwhile */
					keys[i]->kind = src_found[i] ?
						(keys[i]->kind == KEY_EXTRA ? KEY_DIFFERENT : keys[i]->kind) :
						KEY_EXTRA;
					left++;
				}
			}
		}
		MemoryContextReset(cxt);
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(cxt);
	return left;
}

/* Is the server's stream running (so that the mirror still moves)? */
static bool
stream_running(int stream_id)
{
	bool		running = false;
	Oid			argtypes[1] = {INT4OID};
	Datum		args[1] = {Int32GetDatum(stream_id)};

	if (SPI_execute_with_args("SELECT 1 FROM vstream_fdw.stream"
							  " WHERE id = $1 AND enabled"
							  " AND state IN ('copying', 'replicating')",
							  1, argtypes, args, NULL, true, 1) == SPI_OK_SELECT &&
		SPI_processed > 0)
		running = true;
	return running;
}

Datum
vstream_verify(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *server;
	ArrayType  *tables_arg = PG_ARGISNULL(1) ? NULL : PG_GETARG_ARRAYTYPE_P(1);
	bool		details = PG_ARGISNULL(2) ? false : PG_GETARG_BOOL(2);
	Interval   *timeout_iv = PG_ARGISNULL(3) ? NULL : PG_GETARG_INTERVAL_P(3);
	int			batch_size = PG_ARGISNULL(4) ? 10000 : PG_GETARG_INT32(4);
	int			max_keys = PG_ARGISNULL(5) ? 10000 : PG_GETARG_INT32(5);
	int64		timeout_ms;
	VerifyState vs;
	int			stream_id;
	char	   *target_schema;
	List	   *tables = NIL;
	List	   *wanted = NIL;
	ListCell   *lc;
	int64		sums[5] = {0, 0, 0, 0, 0};
	volatile bool running;
	volatile int skipped = 0;
	MemoryContext fncxt = CurrentMemoryContext;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("server must not be null")));
	server = NameStr(*PG_GETARG_NAME(0));
	if (batch_size < 1 || batch_size > 1000000)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("batch_size must be between 1 and 1000000")));
	if (max_keys < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("max_keys must not be negative")));
	timeout_ms = 30000;
	if (timeout_iv)
	{
		timeout_ms = (timeout_iv->time +
					  (int64) timeout_iv->day * USECS_PER_DAY +
					  (int64) timeout_iv->month * DAYS_PER_MONTH * USECS_PER_DAY) / 1000;
		if (timeout_ms < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("recheck_timeout must not be negative")));
	}
	if (tables_arg)
	{
		Datum	   *elems;
		bool	   *enulls;
		int			n,
					i;

		deconstruct_array(tables_arg, TEXTOID, -1, false, TYPALIGN_INT,
						  &elems, &enulls, &n);
		for (i = 0; i < n; i++)
			if (!enulls[i])
				wanted = lappend(wanted, TextDatumGetCString(elems[i]));
	}

	InitMaterializedSRF(fcinfo, 0);

	memset(&vs, 0, sizeof(vs));
	vs.opts = options_get_server_by_name(server, GetUserId());
	vs.batch_size = batch_size;
	vs.max_keys = max_keys;
	vs.ccxt.keyspace = vs.opts->keyspace;
	vs.ccxt.shard = "";
	vs.ccxt.policy = vs.opts->invalid_values;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	{
		Oid			argtypes[1] = {TEXTOID};
		Datum		args[1] = {CStringGetTextDatum(server)};
		uint64		r;

		if (SPI_execute_with_args("SELECT s.id, s.target_schema::text FROM vstream_fdw.stream s"
								  " WHERE s.server_name = $1",
								  1, argtypes, args, NULL, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "could not read vstream_fdw.stream");
		if (SPI_processed == 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("server \"%s\" has no stream", server),
					 errhint("verify() compares the mirror tables of a stream; create one with vstream_fdw.create_stream().")));
		{
			bool		isnull;

			stream_id = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0],
													SPI_tuptable->tupdesc, 1, &isnull));
			target_schema = MemoryContextStrdup(fncxt,
												SPI_getvalue(SPI_tuptable->vals[0],
															 SPI_tuptable->tupdesc, 2));
		}
		args[0] = Int32GetDatum(stream_id);
		argtypes[0] = INT4OID;
		if (SPI_execute_with_args("SELECT table_name::text FROM vstream_fdw.mirror"
								  " WHERE stream_id = $1 ORDER BY 1",
								  1, argtypes, args, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read vstream_fdw.mirror");
		for (r = 0; r < SPI_processed; r++)
		{
			char	   *name = SPI_getvalue(SPI_tuptable->vals[r],
											SPI_tuptable->tupdesc, 1);
			bool		want = (wanted == NIL);

			foreach(lc, wanted)
				if (strcmp(lfirst(lc), name) == 0)
					want = true;
			if (want)
				tables = lappend(tables, MemoryContextStrdup(fncxt, name));
		}
		foreach(lc, wanted)
		{
			ListCell   *lc2;
			bool		found = false;

			foreach(lc2, tables)
				if (strcmp(lfirst(lc2), lfirst(lc)) == 0)
					found = true;
			if (!found)
				ereport(ERROR,
						(errcode(ERRCODE_UNDEFINED_TABLE),
						 errmsg("table \"%s\" is not mirrored by the stream of server \"%s\"",
								(char *) lfirst(lc), server),
						 errhint("The mirrored tables are listed in vstream_fdw.mirror.")));
		}
	}
	running = stream_running(stream_id);

	vs.conn = mysqlconn_get(vs.opts, GetUserId(), true);
	PG_TRY();
	{
		foreach(lc, tables)
		{
			VerifyTable *t = palloc0(sizeof(VerifyTable));
			char	   *why = NULL;
			TimestampTz start = GetCurrentTimestamp();
			int64		left;
			int64		nmiss = 0,
						nextra = 0,
						ndiff = 0;
			ListCell   *lc2;
			Datum		values[8];
			bool		nulls[8];

			t->schema = target_schema;
			t->name = lfirst(lc);
			if (!table_prepare(&vs, t, &why))
			{
				memset(nulls, true, sizeof(nulls));
				values[0] = CStringGetTextDatum(t->name);
				nulls[0] = false;
				values[1] = CStringGetTextDatum("skipped");
				nulls[1] = false;
				values[7] = CStringGetTextDatum(why);
				nulls[7] = false;
				tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
									 values, nulls);
				skipped++;
				continue;
			}
			compare_table(&vs, t);

			/* re-check candidates while the mirror may still catch up */
			left = t->ncands;
			if (t->cands != NIL && running)
			{
				TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
																   timeout_ms);

				for (;;)
				{
					left = recheck_round(&vs, t) + t->dropped;
					if (left == 0 || GetCurrentTimestamp() >= deadline)
						break;
					(void) WaitLatch(MyLatch,
									 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
									 1000, PG_WAIT_EXTENSION);
					ResetLatch(MyLatch);
					CHECK_FOR_INTERRUPTS();
				}
			}
			nmiss = t->dropped_kind[KEY_MISSING];
			nextra = t->dropped_kind[KEY_EXTRA];
			ndiff = t->dropped_kind[KEY_DIFFERENT];
			foreach(lc2, t->cands)
			{
				CandKey    *k = lfirst(lc2);

				if (k->agreed)
					continue;
				if (k->kind == KEY_MISSING)
					nmiss++;
				else if (k->kind == KEY_EXTRA)
					nextra++;
				else
					ndiff++;
			}
			/* candidates beyond max_keys were not re-checked: as found */
			if (t->dropped > 0)
				ereport(NOTICE,
						(errmsg("table \"%s\": " INT64_FORMAT " differing keys beyond max_keys are counted as first found, not re-checked or listed",
								t->name, t->dropped)));

			memset(nulls, false, sizeof(nulls));
			values[0] = CStringGetTextDatum(t->name);
			values[1] = CStringGetTextDatum("table");
			values[2] = Int64GetDatum(t->source_rows);
			values[3] = Int64GetDatum(t->mirror_rows);
			values[4] = Int64GetDatum(nmiss);
			values[5] = Int64GetDatum(nextra);
			values[6] = Int64GetDatum(ndiff);
			nulls[7] = true;
			if (nmiss + nextra + ndiff == 0)
			{
				values[7] = CStringGetTextDatum("identical");
				nulls[7] = false;
			}
			tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
			sums[0] += t->source_rows;
			sums[1] += t->mirror_rows;
			sums[2] += nmiss;
			sums[3] += nextra;
			sums[4] += ndiff;

			if (details)
			{
				foreach(lc2, t->cands)
				{
					CandKey    *k = lfirst(lc2);

					if (k->agreed)
						continue;
					memset(nulls, true, sizeof(nulls));
					values[0] = CStringGetTextDatum(t->name);
					nulls[0] = false;
					values[1] = CStringGetTextDatum(key_kind_names[k->kind]);
					nulls[1] = false;
					values[7] = CStringGetTextDatum(key_text(t, k->values));
					nulls[7] = false;
					tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc,
										 values, nulls);
				}
			}
			ereport(NOTICE,
					(errmsg("verify %s.%s: " INT64_FORMAT " source rows, " INT64_FORMAT " mirror rows, " INT64_FORMAT " differing keys, %.1f s",
							t->schema, t->name, t->source_rows, t->mirror_rows,
							nmiss + nextra + ndiff,
							(double) (GetCurrentTimestamp() - start) / USECS_PER_SEC)));
			SPI_freeplan(t->lookup);
			SPI_freeplan(t->exists);
		}
	}
	PG_CATCH();
	{
		mysqlconn_release(vs.conn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	mysqlconn_release(vs.conn);
	SPI_finish();

	{
		Datum		values[8];
		bool		nulls[8];
		int			i;

		memset(nulls, false, sizeof(nulls));
		nulls[0] = true;
		values[1] = CStringGetTextDatum("summary");
		for (i = 0; i < 5; i++)
			values[2 + i] = Int64GetDatum(sums[i]);
		if (sums[2] + sums[3] + sums[4] == 0 && skipped == 0)
			values[7] = CStringGetTextDatum("identical");
		else if (skipped > 0)
			values[7] = CStringGetTextDatum(psprintf("%d table(s) skipped", skipped));
		else
			nulls[7] = true;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
