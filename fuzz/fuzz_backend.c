/*-------------------------------------------------------------------------
 *
 * fuzz_backend.c
 *	  libFuzzer harnesses that run inside a real PostgreSQL backend:
 *
 *	  convert: value conversion (src/convert.c) of every MySQL type into
 *	  the natural mirror type and into a list of other targets, with the
 *	  cell's charset, flags, column type and ENUM/SET encoding taken from
 *	  the input; every result goes through its type's output function and
 *	  text must be valid UTF-8; the peek() JSON rendering too.
 *
 *	  vgtid: a create_stream() start position in JSON
 *	  (vstream_vgtid_from_json, vstream_start_position), the VGTID's
 *	  serialize / deserialize / to-JSON round trip, and the lastpk rows
 *	  decoded against their fields and converted cell by cell.
 *
 * The code under test is src/ unchanged, compiled with libFuzzer's
 * instrumentation and UndefinedBehaviorSanitizer (as traps) into a
 * fuzz-only module (tools/fuzz.sh builds it; the extension's Makefile does
 * not) that also holds libFuzzer; the SQL function vstream_fuzz_run(harness,
 * args) calls LLVMFuzzerRunDriver(), which exits the process when done.  The
 * host is Debian's uninstrumented postgres in single-user mode.  ASan is not
 * used: its runtime preloaded into that postgres deadlocks at start (on
 * glibc's locale locks); the memory context below finds overruns and uses
 * after free instead.
 *
 * Every input runs in its own subtransaction and in that memory context,
 * which is reset after each input.  An ERROR is an expected outcome for bad
 * input: the subtransaction is rolled back and the next input runs.  A
 * crash (a fault on a guard page), a UBSan trap, or an abort() from the
 * checks below is a finding.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  fuzz/fuzz_backend.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/ilist.h"
#include "mb/pg_wchar.h"
#include "nodes/memnodes.h"
#include "parser/parse_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/resowner.h"

#include "convert.h"
#include "vstream.h"

PG_MODULE_MAGIC;

extern int	LLVMFuzzerRunDriver(int *argc, char ***argv,
								int (*cb) (const uint8_t *data, size_t size));

/* ---- a memory context with a guard page after every chunk ---- */

/*
 * Every chunk ends where an inaccessible page begins, so that a read or
 * write past the end of a palloc'd chunk faults at once, electric-fence
 * style, which an AllocSet block would hide.  palloc() promises MAXALIGN
 * (heap_form_tuple relies on it), so a chunk whose size is not a multiple
 * of 8 leaves up to 7 bytes before the guard page: they hold a canary that
 * is checked when the chunk is freed (a write past the end aborts); a read
 * there goes unnoticed.  The cell under test is copied so that it ends
 * exactly at a guard page (fuzz_exact_copy).  Freed chunks are made
 * inaccessible and are reused first in, first out, so that a use after free
 * faults unless a later allocation took the same pages.
 */
typedef struct FuzzChunk
{
	char	   *base;			/* the mapping */
	Size		maplen;			/* its length, guard page included */
	Size		size;			/* the requested size */
	dlist_node	node;			/* in the context or in the free list */
	MemoryContext context;		/* must immediately precede the data */
} FuzzChunk;

typedef struct FuzzContext
{
	MemoryContextData header;
	dlist_head	chunks;
	Size		total;
} FuzzContext;

/* a larger request fails as out of memory (an ERROR), like a real limit */
#define FUZZ_CONTEXT_LIMIT ((Size) 512 * 1024 * 1024)
#define FUZZ_BUCKETS 17			/* mappings of 2 .. 16 pages are reused */
#define FUZZ_BUCKET_KEEP 256

/* freed mappings by length in pages: inaccessible, reused oldest first */
typedef struct FreeRing
{
	char	   *base[FUZZ_BUCKET_KEEP];
	int			head;
	int			count;
} FreeRing;

static Size page_size;
static FreeRing free_rings[FUZZ_BUCKETS];

static void *
fc_alloc(MemoryContext context, Size size)
{
	FuzzContext *fc = (FuzzContext *) context;
	Size		need = MAXALIGN(sizeof(FuzzChunk)) + MAXALIGN(size);
	Size		maplen;
	char	   *base = NULL;
	FuzzChunk  *c;

	if (size > FUZZ_CONTEXT_LIMIT || fc->total + size > FUZZ_CONTEXT_LIMIT)
		return NULL;
	if (page_size == 0)
		page_size = sysconf(_SC_PAGESIZE);
	maplen = TYPEALIGN(page_size, need) + page_size;
	/* a freed mapping of the same length, oldest first */
	if (maplen / page_size < FUZZ_BUCKETS && free_rings[maplen / page_size].count > 0)
	{
		FreeRing   *r = &free_rings[maplen / page_size];

		base = r->base[r->head];
		r->head = (r->head + 1) % FUZZ_BUCKET_KEEP;
		r->count--;
		if (mprotect(base, maplen - page_size, PROT_READ | PROT_WRITE) != 0)
			abort();
	}
	if (base == NULL)
	{
		base = mmap(NULL, maplen, PROT_READ | PROT_WRITE,
					MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (base == MAP_FAILED)
			return NULL;
		if (mprotect(base + maplen - page_size, page_size, PROT_NONE) != 0)
			abort();
	}
	/* the data ends where the guard page begins, rounded down to MAXALIGN */
	c = (FuzzChunk *) (base + maplen - page_size - MAXALIGN(size) - sizeof(FuzzChunk));
	/* the bytes between the data and the guard page are a canary */
	memset((char *) c + sizeof(FuzzChunk) + size, 0xA5, MAXALIGN(size) - size);
	c->base = base;
	c->maplen = maplen;
	c->size = size;
	c->context = context;
	dlist_push_head(&fc->chunks, &c->node);
	fc->total += size;
	return (char *) c + sizeof(FuzzChunk);
}

static void
release_chunk(FuzzChunk *c)
{
	char	   *base = c->base;
	Size		maplen = c->maplen;
	FreeRing   *r;
	const unsigned char *tail = (unsigned char *) c + sizeof(FuzzChunk) + c->size;
	Size		i;

	for (i = 0; i < MAXALIGN(c->size) - c->size; i++)
	{
		if (tail[i] != 0xA5)
		{
			fprintf(stderr, "vstream_fuzz: write past the end of a %zu-byte chunk\n", c->size);
			abort();
		}
	}

	if (maplen / page_size >= FUZZ_BUCKETS)
	{
		munmap(base, maplen);
		return;
	}
	r = &free_rings[maplen / page_size];
	if (r->count == FUZZ_BUCKET_KEEP)
	{
		munmap(r->base[r->head], maplen);
		r->head = (r->head + 1) % FUZZ_BUCKET_KEEP;
		r->count--;
	}
	if (mprotect(base, maplen - page_size, PROT_NONE) != 0)
		abort();
	r->base[(r->head + r->count) % FUZZ_BUCKET_KEEP] = base;
	r->count++;
}

static void
fc_free(MemoryContext context, void *pointer)
{
	FuzzContext *fc = (FuzzContext *) context;
	FuzzChunk  *c = (FuzzChunk *) ((char *) pointer - sizeof(FuzzChunk));

	dlist_delete(&c->node);
	fc->total -= c->size;
	release_chunk(c);
}
static void *
fc_realloc(MemoryContext context, void *pointer, Size size)
{
	FuzzChunk  *c = (FuzzChunk *) ((char *) pointer - sizeof(FuzzChunk));
	void	   *n = fc_alloc(context, size);

	if (n == NULL)
		return NULL;
	memcpy(n, pointer, Min(size, c->size));
	fc_free(context, pointer);
	return n;
}

static void
fc_reset(MemoryContext context)
{
	FuzzContext *fc = (FuzzContext *) context;
	dlist_mutable_iter iter;

	dlist_foreach_modify(iter, &fc->chunks)
	{
		dlist_delete(iter.cur);
		release_chunk(dlist_container(FuzzChunk, node, iter.cur));
	}
	fc->total = 0;
}

static void
fc_delete(MemoryContext context)
{
	fc_reset(context);
	free(context);
}

static Size
fc_get_chunk_space(MemoryContext context, void *pointer)
{
	FuzzChunk  *c = (FuzzChunk *) ((char *) pointer - sizeof(FuzzChunk));

	return c->size + sizeof(FuzzChunk);
}

static bool
fc_is_empty(MemoryContext context)
{
	return dlist_is_empty(&((FuzzContext *) context)->chunks);
}

static void
fc_stats(MemoryContext context, MemoryStatsPrintFunc printfunc, void *passthru,
		 MemoryContextCounters *totals, bool print_to_stderr)
{
}

static const MemoryContextMethods fuzz_context_methods = {
	fc_alloc, fc_free, fc_realloc, fc_reset, fc_delete, fc_get_chunk_space,
	fc_is_empty, fc_stats
};

static MemoryContext
fuzz_context_create(MemoryContext parent)
{
	FuzzContext *fc = malloc(sizeof(FuzzContext));

	if (fc == NULL)
		elog(ERROR, "out of memory");
	dlist_init(&fc->chunks);
	fc->total = 0;
	/* any context tag will do: only the methods are called through it */
	MemoryContextCreate((MemoryContext) fc, T_GenerationContext,
						&fuzz_context_methods, parent, "vstream_fuzz");
	return (MemoryContext) fc;
}

/*
 * A copy of data that ends exactly at a guard page (alignment 1), valid
 * until the next call: a read past the end of the cell faults.
 */
static const char *
fuzz_exact_copy(const char *data, Size len)
{
	static char *map = NULL;
	static Size maplen = 0;
	Size		need;

	if (page_size == 0)
		page_size = sysconf(_SC_PAGESIZE);
	need = TYPEALIGN(page_size, len) + page_size;
	if (need > maplen)
	{
		if (map)
			munmap(map, maplen);
		map = mmap(NULL, need, PROT_READ | PROT_WRITE,
				   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (map == MAP_FAILED || mprotect(map + need - page_size, page_size, PROT_NONE) != 0)
			abort();
		maplen = need;
	}
	return memcpy(map + maplen - page_size - len, data, len);
}

/* ---- the harnesses ---- */

static MemoryContext fuzz_cxt;
static int	(*harness) (const uint8_t *data, size_t size);
static long errors_seen = 0;

/* conversion targets besides the natural mirror type of a field */
static const char *const target_names[] = {
	"text", "varchar", "character(4)", "name", "bytea", "smallint",
	"integer", "bigint", "numeric", "numeric(10,2)", "real",
	"double precision", "boolean", "date", "timestamp",
	"timestamp with time zone", "timestamp(0)", "time", "time with time zone",
	"interval", "bit(8)", "bit varying", "json", "jsonb", "inet", "uuid",
	"real[]", "text[]", "money", "oid", "vstream_fuzz_enum",
};
static Oid	target_oids[lengthof(target_names)];

/*
 * Conversions that returned, by conversion path (ConvertColumn.kind) and by
 * MySQL type: printed at exit (a -runs=0 pass over a corpus
 * shows which type families it reaches).
 */
static long kind_done[32];
static long type_done[64];
static int32 target_typmods[lengthof(target_names)];

/* MySQL collation ids: UTF-8, latin1, binary, multi-byte, unknown */
static const uint32 charsets[] = {
	0, 33, 45, 255, 192, 8, 5, 63, 1, 12, 13, 19, 24, 28, 248, 11, 2, 7, 999,
};

#define FUZZ_UNSIGNED	0x01
#define FUZZ_BINARY		0x02
#define FUZZ_ENUM_STR	0x04
#define FUZZ_ENUM_NUM	0x08
#define FUZZ_POLICY_NULL 0x10
#define FUZZ_NULL_CELL	0x20
#define FUZZ_ZEROFILL	0x40

/* No value stored into text may be invalid in the database encoding. */
static void
check_text(const char *s, int len, const char *what)
{
	if (!pg_verifymbstr(s, len, true))
	{
		fprintf(stderr, "vstream_fuzz: invalid %s reached text: \"%.*s\"\n",
				GetDatabaseEncodingName(), len, s);
		fprintf(stderr, "vstream_fuzz: in %s\n", what);
		abort();
	}
}

static void
check_datum(Oid type, Datum d, const char *what)
{
	Oid			outfunc;
	bool		isvarlena;
	char	   *out;

	getTypeOutputInfo(type, &outfunc, &isvarlena);
	if (isvarlena)
	{
		/* a varlena the converter built must have a sane length */
		Size		sz = VARSIZE_ANY(DatumGetPointer(d));

		if (sz > MaxAllocHugeSize)
			abort();
	}
	out = OidOutputFunctionCall(outfunc, d);
	check_text(out, strlen(out), what);
}

static void
check_jsonb_value(JsonbValue *jv)
{
	if (jv->type == jbvString)
		check_text(jv->val.string.val, jv->val.string.len, "peek() JSON");
	if (jv->type == jbvString || jv->type == jbvNumeric ||
		jv->type == jbvBool || jv->type == jbvNull)
	{
		Jsonb	   *jb = JsonbValueToJsonb(jv);
		char	   *s = JsonbToCString(NULL, &jb->root, VARSIZE(jb));

		check_text(s, strlen(s), "peek() JSON");
	}
}

/* The type of convert_pg_type_sql(); false for a type not installed. */
static bool
natural_type(const char *sql, Oid *type, int32 *typmod)
{
	parseTypeString(sql, type, typmod, true);
	return OidIsValid(*type);
}

/*
 * Convert one cell of "field" into type/typmod, and check the result.
 */
static void
convert_one(const Query__Field *field, Oid type, int32 typmod, int enum_mode,
			bool policy_null, const char *data, int len)
{
	ConvertColumn col;
	ConvertContext cxt;
	bool		isnull;
	Datum		d;

	memset(&cxt, 0, sizeof(cxt));
	cxt.keyspace = "ks";
	cxt.shard = "-";
	cxt.table = "t";
	cxt.policy = policy_null ? VSTREAM_INVALID_NULL : VSTREAM_INVALID_ERROR;

	convert_column_init(&col, field, type, typmod);
	if (enum_mode)
		convert_column_set_enum_strings(&col, enum_mode > 0);
	d = convert_cell(&col, data, len, &isnull, &cxt);
	if (!isnull)
		check_datum(type, d, "convert_cell");
	if (col.kind >= 0 && col.kind < lengthof(kind_done))
		kind_done[col.kind]++;
	{
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(&query__type__descriptor, field->type);

		if (ev != NULL && ev - query__type__descriptor.values < lengthof(type_done))
			type_done[ev - query__type__descriptor.values]++;
	}
	if (policy_null && isnull && len >= 0 && cxt.invalid_count != 1)
		abort();				/* a NULL for a value must be counted */
}

/*
 * Input: type index, target index, charset index, flag bits, decimals,
 * column length; then the column type up to a NUL; then the cell.
 */
static int
convert_harness(const uint8_t *data, size_t size)
{
	const ProtobufCEnumDescriptor *td = &query__type__descriptor;
	Query__Field field;
	uint8_t		flags;
	const char *ct;
	const char *cell;
	int			len;
	const uint8_t *nul;
	unsigned	target;
	int			enum_mode;
	JsonbValue	jv;

	if (size < 6)
		return 0;
	query__field__init(&field);
	field.name = "c";
	field.type = td->values[data[0] % td->n_values].value;
	target = data[1] % (lengthof(target_names) + 1);
	field.charset = charsets[data[2] % lengthof(charsets)];
	if (field.charset == 999)
		field.charset = data[2];
	flags = data[3];
	field.flags = ((flags & FUZZ_UNSIGNED) ? 32 : 0) |
		((flags & FUZZ_BINARY) ? 128 : 0) |
		((flags & FUZZ_ZEROFILL) ? 64 : 0);
	field.decimals = data[4] % 40;
	field.column_length = (uint32) data[5] * 4;
	data += 6;
	size -= 6;
	nul = memchr(data, '\0', size);
	if (nul == NULL)
	{
		ct = "";
		cell = (const char *) data;
		len = (int) size;
	}
	else
	{
		ct = pnstrdup((const char *) data, nul - data);
		cell = (const char *) nul + 1;
		len = (int) (size - (nul - data) - 1);
	}
	field.column_type = (char *) ct;
	/* the cell ends at a guard page: a read past its end faults */
	cell = fuzz_exact_copy(cell, len);
	if (flags & FUZZ_NULL_CELL)
		len = -1;
	enum_mode = (flags & FUZZ_ENUM_STR) ? 1 : (flags & FUZZ_ENUM_NUM) ? -1 : 0;

	/* the rendering for peek() never fails */
	convert_cell_to_jsonb_value(&field, cell, len, &jv);
	check_jsonb_value(&jv);

	if (target == 0)
	{
		/* the natural mirror type */
		char	   *sql = convert_pg_type_sql(&field);
		Oid			type;
		int32		typmod;

		if (!natural_type(sql, &type, &typmod))
			return 0;			/* an extension type that is not installed */
		convert_one(&field, type, typmod, enum_mode,
					(flags & FUZZ_POLICY_NULL) != 0, cell, len);
	}
	else
		convert_one(&field, target_oids[target - 1], target_typmods[target - 1],
					enum_mode, (flags & FUZZ_POLICY_NULL) != 0, cell, len);
	return 0;
}

static Oid	start_position_oid;

static void
check_vgtid(const Binlogdata__VGtid *vgtid)
{
	bytea	   *b = vstream_vgtid_serialize(vgtid);
	Binlogdata__VGtid *back = vstream_vgtid_deserialize(b);
	Jsonb	   *jb;
	char	   *s;
	size_t		i,
				j,
				k;

	if (back == NULL || back->n_shard_gtids != vgtid->n_shard_gtids)
		abort();
	jb = vstream_vgtid_to_jsonb(back);
	s = JsonbToCString(NULL, &jb->root, VARSIZE(jb));
	check_text(s, strlen(s), "vstream_vgtid_to_jsonb");
	(void) vstream_vgtid_copy(vgtid);

	/* lastpk rows against their fields, each cell converted */
	for (i = 0; i < vgtid->n_shard_gtids; i++)
	{
		const Binlogdata__ShardGtid *sg = vgtid->shard_gtids[i];

		for (j = 0; j < sg->n_table_p_ks; j++)
		{
			const Query__QueryResult *qr = sg->table_p_ks[j]->lastpk;

			if (qr == NULL)
				continue;
			for (k = 0; k < qr->n_rows; k++)
			{
				int			n = (int) qr->n_fields;
				const char **values = palloc(sizeof(char *) * Max(n, 1));
				int		   *lengths = palloc(sizeof(int) * Max(n, 1));
				int			c;

				vstream_decode_row(qr->rows[k], n, values, lengths);
				for (c = 0; c < n; c++)
				{
					char	   *sql = convert_pg_type_sql(qr->fields[c]);
					Oid			type;
					int32		typmod;

					if (natural_type(sql, &type, &typmod))
						convert_one(qr->fields[c], type, typmod, 1, false,
									lengths[c] < 0 ? NULL :
									fuzz_exact_copy(values[c], lengths[c]),
									lengths[c]);
				}
			}
		}
	}
}

static int
vgtid_harness(const uint8_t *data, size_t size)
{
	char	   *json;
	Binlogdata__VGtid *vgtid;

	/* a text argument is valid in the database encoding, without NUL */
	if (memchr(data, '\0', size) != NULL ||
		!pg_verifymbstr((const char *) data, size, true))
		return 0;
	json = pnstrdup((const char *) data, size);

	/* what create_stream() does with a start position */
	(void) OidFunctionCall1(start_position_oid, CStringGetTextDatum(json));
	vgtid = vstream_vgtid_from_json(json);
	check_vgtid(vgtid);
	return 0;
}

/* one input: own subtransaction and memory; an ERROR is fine */
static int
run_one(const uint8_t *data, size_t size)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(fuzz_cxt);
	PG_TRY();
	{
		harness(data, size);
		MemoryContextSwitchTo(oldcxt);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		errors_seen++;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	MemoryContextReset(fuzz_cxt);
	return 0;
}

static void
setup_targets(void)
{
	int			i;

	for (i = 0; i < lengthof(target_names); i++)
		parseTypeString(target_names[i], &target_oids[i], &target_typmods[i], false);
}

static void
print_stats(void)
{
	int			i;

	fprintf(stderr, "vstream_fuzz_stats: %ld inputs ended in an ERROR\n", errors_seen);
	for (i = 0; i < lengthof(kind_done); i++)
		if (kind_done[i])
			fprintf(stderr, "vstream_fuzz_stats: conversion path %d: %ld values\n",
					i, kind_done[i]);
	for (i = 0; i < lengthof(type_done) &&
		 i < (int) query__type__descriptor.n_values; i++)
		fprintf(stderr, "vstream_fuzz_stats: %s: %ld values\n",
				query__type__descriptor.values[i].name, type_done[i]);
}

/*
 * vstream_fuzz_run(harness text, args text[]) -> void: run libFuzzer with
 * the given command line; libFuzzer exits the process when it is done.
 */
PG_FUNCTION_INFO_V1(vstream_fuzz_run);
Datum
vstream_fuzz_run(PG_FUNCTION_ARGS)
{
	char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	ArrayType  *arr = PG_GETARG_ARRAYTYPE_P(1);
	Datum	   *elems;
	int			nelems;
	int			argc;
	char	  **argv;
	int			i;

	if (strcmp(name, "convert") == 0)
	{
		harness = convert_harness;
		setup_targets();
	}
	else if (strcmp(name, "vgtid") == 0)
	{
		harness = vgtid_harness;
		setup_targets();
		start_position_oid = DatumGetObjectId(
											  DirectFunctionCall1(regprocedurein,
																  CStringGetDatum("vstream_fuzz_start_position(text)")));
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown fuzz harness \"%s\"", name),
				 errhint("Use convert or vgtid.")));

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &nelems);
	argc = nelems + 1;
	argv = palloc0(sizeof(char *) * (argc + 1));
	argv[0] = psprintf("vstream_fuzz_%s", name);
	for (i = 0; i < nelems; i++)
		argv[i + 1] = TextDatumGetCString(elems[i]);

	fuzz_cxt = fuzz_context_create(TopMemoryContext);
	/* libFuzzer exits the process when it is done */
	atexit(print_stats);
	PG_RETURN_INT32(LLVMFuzzerRunDriver(&argc, &argv, run_one));
}
