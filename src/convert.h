/*-------------------------------------------------------------------------
 *
 * convert.h
 *	  MySQL/Vitess column types to PostgreSQL types, and cell conversion.
 *
 * VStream sends every value as the MySQL text representation (numbers as
 * decimal ASCII, temporal values as "YYYY-MM-DD HH:MM:SS[.ffffff]", binary
 * types as raw bytes).  This file chooses the PostgreSQL type of a mirror
 * column from the FIELD metadata, and turns cells into Datums of that type,
 * directly where that is cheap (integers, floats, bytea, text) and through
 * the type's input function otherwise.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/convert.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_CONVERT_H
#define VSTREAM_CONVERT_H

#include "postgres.h"

#include "fmgr.h"
#include "utils/jsonb.h"

#include "options.h"
#include "query.pb-c.h"

/* Where a value came from, for error messages and the NULL policy. */
typedef struct ConvertContext
{
	const char *keyspace;
	const char *shard;
	const char *table;			/* bare source table name */
	const char *position;		/* human readable position, or NULL */
	VStreamInvalidValuePolicy policy;
	int64		invalid_count;	/* values turned into NULL by the policy */
} ConvertContext;

/*
 * Called after a value was stored as NULL by the invalid_values 'null'
 * policy (cxt->invalid_count was incremented); the stream worker uses it to
 * show the count per shard.
 */
typedef void (*ConvertInvalidHook) (const ConvertContext *cxt);
extern PGDLLIMPORT ConvertInvalidHook convert_invalid_hook;

/*
 * Per-column conversion state, prepared once per (FIELD event, mirror
 * column) and reused for every row.  Lives in the caller's context.
 */
typedef struct ConvertColumn
{
	char	   *name;			/* source column name */
	int			mysql_type;		/* query.Type value */
	uint32		flags;			/* MySQL column flags */
	uint32		charset;		/* MySQL collation id */
	uint32		decimals;
	uint32		column_length;
	char	   *column_type;	/* e.g. "enum('a','b')", may be "" */
	Oid			pgtype;			/* target type */
	int32		typmod;
	/* private to convert.c */
	int			kind;			/* conversion path (ConvertKind) */
	int			src;			/* source class (ConvertSource) */
	int			srcenc;			/* source text encoding, see convert.c */
	int			enum_mode;		/* ENUM/SET cell encoding (ConvertEnumMode) */
	int			fsp;			/* fractional second digits of the source */
	int			bits;			/* BIT(n): n; BINARY(n): n; else 0 */
	int			nlabels;		/* ENUM/SET labels parsed from column_type */
	char	  **labels;			/* server encoded, NUL terminated */
	int		   *label_lens;
	Oid			typioparam;
	FmgrInfo	infunc;
} ConvertColumn;

/*
 * SQL type text for a new mirror column, e.g. "bigint", "numeric(20,0)",
 * "timestamp(6) with time zone".  palloc'd.
 */
extern char *convert_pg_type_sql(const Query__Field *field);

/* Prepare conversion of a source field into a column of type pgtype. */
extern void convert_column_init(ConvertColumn *col, const Query__Field *field,
								Oid pgtype, int32 typmod);

/*
 * Tell the converter how ENUM and SET cells of this column are encoded:
 * string_values true means labels (FieldEvent.enum_set_string_values, and
 * always in the copy phase), false means ordinals / bitmasks (replication
 * phase before Vitess v20).  Without a call, a cell that is a valid label
 * (list) is taken as such and an all-digit cell as an ordinal / bitmask.
 */
extern void convert_column_set_enum_strings(ConvertColumn *col,
											bool string_values);

/*
 * Convert one cell (data/len as sent by VStream; len < 0 means SQL NULL) to a
 * Datum of col->pgtype, allocated in CurrentMemoryContext.  A value that
 * cannot be represented raises ERRCODE_INVALID_TEXT_REPRESENTATION or
 * ERRCODE_DATETIME_VALUE_OUT_OF_RANGE naming keyspace, shard, table and
 * column, unless cxt->policy is VSTREAM_INVALID_NULL, in which case *isnull is
 * set and cxt->invalid_count incremented.
 */
extern Datum convert_cell(ConvertColumn *col, const char *data, int len,
						  bool *isnull, ConvertContext *cxt);

/*
 * JSON rendering of a cell for vstream_fdw.peek(): numbers as JSON numbers,
 * text as strings, binary values as "\x..." hex strings, NULL as null.
 * Never fails on odd input (invalid UTF-8 is rendered as hex).
 */
extern void convert_cell_to_jsonb_value(const Query__Field *field,
										const char *data, int len,
										JsonbValue *out);

#endif							/* VSTREAM_CONVERT_H */
