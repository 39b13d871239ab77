/*-------------------------------------------------------------------------
 *
 * convert.c
 *	  MySQL/Vitess column types to PostgreSQL types, and cell conversion.
 *
 * A mirror column's type is chosen once from the FIELD metadata
 * (convert_pg_type_sql); every cell is then converted by a per-column
 * path chosen in convert_column_init.  Integers, floats, bytea, text,
 * dates, timestamps and MySQL TIME values are built directly from the
 * MySQL text representation; numeric, jsonb and any type a user picked
 * for a column go through the type's input function.
 *
 * Values PostgreSQL cannot represent (MySQL zero dates, zero month or day
 * parts, bytes invalid in the column's character set, ...) are never
 * silently altered: they raise an error naming keyspace, shard, table and
 * column, or, with the server option invalid_values 'null', become NULL
 * and are counted.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/convert.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "parser/parse_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"
#include "utils/uuid.h"
#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#endif

#include "convert.h"
#include "textsafe.h"

PG_FUNCTION_INFO_V1(vstream_mysql_type_to_pg);
PG_FUNCTION_INFO_V1(vstream_convert_value);

ConvertInvalidHook convert_invalid_hook = NULL;

/* MySQL's largest BINARY(n) */
#define MYSQL_MAX_BINARY_LENGTH 255

/* query.Type flag bits (vitess-vstream-wire.md 3.11) */
#define VT_ISINTEGRAL	0x0100
#define VT_ISUNSIGNED	0x0200
#define VT_ISFLOAT		0x0400
#define VT_ISTEXT		0x1000
#define VT_ISBINARY		0x2000

/* MySQL column flags (3.12) */
#define MYSQL_UNSIGNED_FLAG 32

#define MYSQL_CHARSET_BINARY 63

/* Source encodings that are not PostgreSQL encoding ids. */
#define SRCENC_BINARY		(-1)	/* no character set: read as UTF-8 */
#define SRCENC_MYSQL_LATIN1 (-2)	/* MySQL latin1 (cp1252 variant) */
#define SRCENC_UNSUPPORTED	(-3)	/* no PostgreSQL conversion */

/* What the source column is, independent of the target type. */
typedef enum ConvertSource
{
	SRC_UNKNOWN = 0,
	SRC_INT,
	SRC_UINT,
	SRC_FLOAT,
	SRC_DOUBLE,
	SRC_DECIMAL,
	SRC_DATE,
	SRC_DATETIME,
	SRC_TIMESTAMP,
	SRC_TIME,
	SRC_YEAR,
	SRC_TEXT,
	SRC_BINARY,
	SRC_BIT,
	SRC_ENUM,
	SRC_SET,
	SRC_JSON,
	SRC_GEOMETRY,
	SRC_VECTOR,
	SRC_UUID,					/* MariaDB UUID */
	SRC_INET6,					/* MariaDB INET6 */
	SRC_INET4					/* MariaDB INET4 */
} ConvertSource;

/* Conversion path of a column (ConvertColumn.kind). */
typedef enum ConvertKind
{
	K_INPUT = 0,				/* decoded text through the input function */
	K_TEXT,						/* decoded text into text */
	K_INT,						/* integer into int2/int4/int8 */
	K_NUMERIC,					/* number through numeric_in */
	K_FLOAT4,
	K_FLOAT8,
	K_BYTEA,
	K_DATETIME,					/* DATE/DATETIME/TIMESTAMP into date/ts/tstz */
	K_TIME,						/* TIME into interval */
	K_BIT,						/* BIT as a 0/1 string, then text or input */
	K_BIT_INT,					/* BIT into an integer */
	K_ENUM,
	K_SET,
	K_VECTOR,					/* VECTOR into real[] */
	K_GEOMETRY,					/* GEOMETRY as EWKB hex into the input */
	K_MARIADB_FBT				/* MariaDB UUID/INET6/INET4 */
} ConvertKind;

typedef enum ConvertEnumMode
{
	ENUM_AUTO = 0,
	ENUM_STRINGS,
	ENUM_ORDINALS
} ConvertEnumMode;

/* Why a value was rejected. */
typedef enum InvalidReason
{
	INV_FORMAT,
	INV_ZERO_DATE,
	INV_ZERO_PART,
	INV_DATE_RANGE,
	INV_TIME_RANGE,
	INV_ENCODING,
	INV_CHARSET,
	INV_NUM_RANGE,
	INV_ENUM_ORDINAL,
	INV_SET_BITMASK,
	INV_BIT_LENGTH,
	INV_EMPTY_JSON,
	INV_VECTOR_LENGTH
} InvalidReason;

/* Everything known about a source column. */
typedef struct SourceInfo
{
	ConvertSource src;
	int			intbits;		/* integers: 8, 16, 24, 32 or 64 */
	int			precision;		/* DECIMAL, -1 if unknown */
	int			scale;
	int			fsp;			/* temporal: fractional second digits */
	int			length;			/* BIT(n) / BINARY(n): n, else 0 */
	bool		fixed_binary;	/* BINARY(n): MySQL pads with 0x00 */
	int			srcenc;
	const char *params;			/* inside the parentheses of column_type */
} SourceInfo;

/* Parsed MySQL DATE / DATETIME text. */
typedef struct MyDateTime
{
	int			year;
	int			mon;
	int			mday;
	int			hour;
	int			min;
	int			sec;
	int			usec;
	int			fdigits;
	bool		has_time;
} MyDateTime;

typedef struct ConvertErrorArg
{
	ConvertColumn *col;
	ConvertContext *cxt;
} ConvertErrorArg;

/*
 * MySQL latin1 is Windows-1252 with the five code points cp1252 leaves
 * undefined mapped to the C1 controls of the same value.  Bytes 0x80..0x9f:
 */
static const uint16 mysql_latin1_c1[32] = {
	0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008D, 0x017D, 0x008F,
	0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178
};

/* MySQL collation ids of character sets PostgreSQL can convert. */
typedef struct CollationEncoding
{
	uint16		id;
	int16		encoding;
} CollationEncoding;

static const CollationEncoding collation_encodings[] = {
	{1, PG_BIG5}, {84, PG_BIG5},
	{2, PG_LATIN2}, {9, PG_LATIN2}, {21, PG_LATIN2}, {27, PG_LATIN2},
	{77, PG_LATIN2},
	{7, PG_KOI8R}, {74, PG_KOI8R},
	{11, PG_UTF8}, {65, PG_UTF8},	/* ascii is a subset of UTF-8 */
	{12, PG_EUC_JP}, {91, PG_EUC_JP}, {97, PG_EUC_JP}, {98, PG_EUC_JP},
	{13, PG_SJIS}, {88, PG_SJIS}, {95, PG_SJIS}, {96, PG_SJIS},
	{14, PG_WIN1251}, {23, PG_WIN1251}, {50, PG_WIN1251},
	{51, PG_WIN1251}, {52, PG_WIN1251},
	{16, PG_ISO_8859_8}, {71, PG_ISO_8859_8},
	{18, PG_WIN874}, {89, PG_WIN874},
	{19, PG_EUC_KR}, {85, PG_EUC_KR},
	{20, PG_LATIN7}, {41, PG_LATIN7}, {42, PG_LATIN7}, {79, PG_LATIN7},
	{22, PG_KOI8U}, {75, PG_KOI8U},
	{24, PG_EUC_CN}, {86, PG_EUC_CN},
	{25, PG_ISO_8859_7}, {70, PG_ISO_8859_7},
	{26, PG_WIN1250}, {34, PG_WIN1250}, {44, PG_WIN1250},
	{66, PG_WIN1250}, {99, PG_WIN1250},
	{28, PG_GBK}, {87, PG_GBK},
	{29, PG_WIN1257}, {58, PG_WIN1257}, {59, PG_WIN1257},
	{30, PG_LATIN5}, {78, PG_LATIN5},
	{36, PG_WIN866}, {68, PG_WIN866},
	{57, PG_WIN1256}, {67, PG_WIN1256},
	{248, PG_GB18030}, {249, PG_GB18030}, {250, PG_GB18030},
};

static void classify_field(const Query__Field *field, SourceInfo *si);
static Datum report_invalid(ConvertColumn *col, ConvertContext *cxt,
							const char *data, int len, InvalidReason reason,
							bool *isnull);
static Datum conv_string(ConvertColumn *col, const char *data, int len,
						 bool *isnull, ConvertContext *cxt);


/* ------------------------------------------------------------------------
 * Source classification
 * ------------------------------------------------------------------------
 */

/*
 * PostgreSQL encoding of the bytes of a column with MySQL collation id
 * "charset", or one of the SRCENC_* codes.
 */
static int
charset_encoding(uint32 charset)
{
	size_t		i;

	switch (charset)
	{
		case 0:					/* unknown: Vitess default is utf8mb4 */
		case 33:
		case 45:
		case 46:
		case 76:
		case 83:
		case 223:
			return PG_UTF8;
		case 5:
		case 8:
		case 15:
		case 31:
		case 47:
		case 48:
		case 49:
		case 94:
			return SRCENC_MYSQL_LATIN1;
		case MYSQL_CHARSET_BINARY:
			return SRCENC_BINARY;
	}
	if ((charset >= 192 && charset <= 215) ||	/* utf8mb3 */
		(charset >= 224 && charset <= 247) ||	/* utf8mb4 */
		(charset >= 255 && charset <= 323)) /* utf8mb4 (MySQL 8.0) */
		return PG_UTF8;
	for (i = 0; i < lengthof(collation_encodings); i++)
	{
		if (collation_encodings[i].id == charset)
			return collation_encodings[i].encoding;
	}
	return SRCENC_UNSUPPORTED;
}

/* Case-insensitive search of "word" in "s". */
static bool
contains_word(const char *s, const char *word)
{
	size_t		wl = strlen(word);

	for (; *s; s++)
	{
		if (pg_strncasecmp(s, word, wl) == 0)
			return true;
	}
	return false;
}

/*
 * Leading type name of a MySQL column type ("decimal(10,2) unsigned" ->
 * "decimal"), lower-cased into buf; *params is set to the text after "(",
 * or NULL.
 */
static void
column_type_base(const char *ct, char *buf, size_t bufsize,
				 const char **params)
{
	size_t		n = 0;

	*params = NULL;
	if (ct == NULL)
	{
		buf[0] = '\0';
		return;
	}
	while (*ct == ' ')
		ct++;
	while ((isalnum((unsigned char) *ct) || *ct == '_') && n + 1 < bufsize)
		buf[n++] = pg_tolower((unsigned char) *ct++);
	buf[n] = '\0';
	while (*ct == ' ')
		ct++;
	if (*ct == '(')
		*params = ct + 1;
}

/* First (and optionally second) integer of "p[,s])"; false if none. */
static bool
parse_params(const char *params, int *first, int *second)
{
	char	   *end;
	long		v;

	if (params == NULL)
		return false;
	errno = 0;
	v = strtol(params, &end, 10);
	if (end == params || errno != 0 || v < 0 || v > 100000)
		return false;
	*first = (int) v;
	if (second != NULL && *end == ',')
	{
		const char *p = end + 1;

		v = strtol(p, &end, 10);
		if (end == p || v < 0 || v > 100000)
			return false;
		*second = (int) v;
	}
	return true;
}

/*
 * query.Type for a MySQL column type name, for fields without a usable
 * Vitess type (and for the SQL debugging functions).
 */
static int
vitess_type_from_base(const char *base, bool is_unsigned, uint32 charset)
{
	bool		bin = (charset == MYSQL_CHARSET_BINARY);

	if (strcmp(base, "tinyint") == 0 || strcmp(base, "bool") == 0 ||
		strcmp(base, "boolean") == 0)
		return is_unsigned ? QUERY__TYPE__UINT8 : QUERY__TYPE__INT8;
	if (strcmp(base, "smallint") == 0)
		return is_unsigned ? QUERY__TYPE__UINT16 : QUERY__TYPE__INT16;
	if (strcmp(base, "mediumint") == 0)
		return is_unsigned ? QUERY__TYPE__UINT24 : QUERY__TYPE__INT24;
	if (strcmp(base, "int") == 0 || strcmp(base, "integer") == 0)
		return is_unsigned ? QUERY__TYPE__UINT32 : QUERY__TYPE__INT32;
	if (strcmp(base, "bigint") == 0)
		return is_unsigned ? QUERY__TYPE__UINT64 : QUERY__TYPE__INT64;
	if (strcmp(base, "float") == 0)
		return QUERY__TYPE__FLOAT32;
	if (strcmp(base, "double") == 0 || strcmp(base, "real") == 0)
		return QUERY__TYPE__FLOAT64;
	if (strcmp(base, "decimal") == 0 || strcmp(base, "numeric") == 0 ||
		strcmp(base, "dec") == 0 || strcmp(base, "fixed") == 0)
		return QUERY__TYPE__DECIMAL;
	if (strcmp(base, "date") == 0)
		return QUERY__TYPE__DATE;
	if (strcmp(base, "datetime") == 0)
		return QUERY__TYPE__DATETIME;
	if (strcmp(base, "timestamp") == 0)
		return QUERY__TYPE__TIMESTAMP;
	if (strcmp(base, "time") == 0)
		return QUERY__TYPE__TIME;
	if (strcmp(base, "year") == 0)
		return QUERY__TYPE__YEAR;
	if (strcmp(base, "char") == 0)
		return bin ? QUERY__TYPE__BINARY : QUERY__TYPE__CHAR;
	if (strcmp(base, "varchar") == 0)
		return bin ? QUERY__TYPE__VARBINARY : QUERY__TYPE__VARCHAR;
	if (strcmp(base, "tinytext") == 0 || strcmp(base, "text") == 0 ||
		strcmp(base, "mediumtext") == 0 || strcmp(base, "longtext") == 0)
		return bin ? QUERY__TYPE__BLOB : QUERY__TYPE__TEXT;
	if (strcmp(base, "binary") == 0)
		return QUERY__TYPE__BINARY;
	if (strcmp(base, "varbinary") == 0)
		return QUERY__TYPE__VARBINARY;
	if (strcmp(base, "tinyblob") == 0 || strcmp(base, "blob") == 0 ||
		strcmp(base, "mediumblob") == 0 || strcmp(base, "longblob") == 0)
		return QUERY__TYPE__BLOB;
	if (strcmp(base, "bit") == 0)
		return QUERY__TYPE__BIT;
	if (strcmp(base, "enum") == 0)
		return QUERY__TYPE__ENUM;
	if (strcmp(base, "set") == 0)
		return QUERY__TYPE__SET;
	if (strcmp(base, "json") == 0)
		return QUERY__TYPE__JSON;
	if (strcmp(base, "vector") == 0)
		return QUERY__TYPE__VECTOR;
	if (strcmp(base, "geometry") == 0 || strcmp(base, "point") == 0 ||
		strcmp(base, "linestring") == 0 || strcmp(base, "polygon") == 0 ||
		strcmp(base, "multipoint") == 0 ||
		strcmp(base, "multilinestring") == 0 ||
		strcmp(base, "multipolygon") == 0 ||
		strcmp(base, "geometrycollection") == 0 ||
		strcmp(base, "geomcollection") == 0)
		return QUERY__TYPE__GEOMETRY;
	return QUERY__TYPE__NULL_TYPE;
}

static bool
is_binary_base(const char *base)
{
	return strcmp(base, "binary") == 0 || strcmp(base, "varbinary") == 0 ||
		strcmp(base, "tinyblob") == 0 || strcmp(base, "blob") == 0 ||
		strcmp(base, "mediumblob") == 0 || strcmp(base, "longblob") == 0;
}

static bool
is_text_base(const char *base)
{
	return strcmp(base, "char") == 0 || strcmp(base, "varchar") == 0 ||
		strcmp(base, "tinytext") == 0 || strcmp(base, "text") == 0 ||
		strcmp(base, "mediumtext") == 0 || strcmp(base, "longtext") == 0;
}

/* Fill *si from the FIELD metadata. */
static void
classify_field(const Query__Field *field, SourceInfo *si)
{
	char		base[32];
	const char *ct = field->column_type ? field->column_type : "";
	bool		is_unsigned;
	int			type = field->type;
	int			a = 0,
				b = 0;

	memset(si, 0, sizeof(*si));
	si->precision = -1;
	column_type_base(ct, base, sizeof(base), &si->params);
	is_unsigned = (field->flags & MYSQL_UNSIGNED_FLAG) != 0 ||
		contains_word(ct, " unsigned");

	/*
	 * MariaDB's UUID, INET6 and INET4 arrive typed BINARY: text in the copy
	 * phase, the raw stored bytes (trailing zero bytes stripped) in the
	 * replication phase.
	 */
	if (strcmp(base, "uuid") == 0 || strcmp(base, "inet6") == 0 ||
		strcmp(base, "inet4") == 0)
	{
		si->src = base[0] == 'u' ? SRC_UUID :
			base[4] == '6' ? SRC_INET6 : SRC_INET4;
		si->srcenc = PG_UTF8;
		return;
	}

	/* ENUM/SET over a binary collation can arrive typed BINARY. */
	if (strcmp(base, "enum") == 0)
		type = QUERY__TYPE__ENUM;
	else if (strcmp(base, "set") == 0)
		type = QUERY__TYPE__SET;
	else
	{
		switch (type)
		{
			case QUERY__TYPE__NULL_TYPE:
			case QUERY__TYPE__TUPLE:
			case QUERY__TYPE__EXPRESSION:
			case QUERY__TYPE__HEXNUM:
			case QUERY__TYPE__HEXVAL:
			case QUERY__TYPE__BITNUM:
			case QUERY__TYPE__RAW:
			case QUERY__TYPE__ROW_TUPLE:
				type = vitess_type_from_base(base, is_unsigned, field->charset);
				break;
			default:
				break;
		}
	}

	si->srcenc = charset_encoding(field->charset);

	switch (type)
	{
		case QUERY__TYPE__INT8:
		case QUERY__TYPE__UINT8:
			si->intbits = 8;
			break;
		case QUERY__TYPE__INT16:
		case QUERY__TYPE__UINT16:
			si->intbits = 16;
			break;
		case QUERY__TYPE__INT24:
		case QUERY__TYPE__UINT24:
			si->intbits = 24;
			break;
		case QUERY__TYPE__INT32:
		case QUERY__TYPE__UINT32:
			si->intbits = 32;
			break;
		case QUERY__TYPE__INT64:
		case QUERY__TYPE__UINT64:
			si->intbits = 64;
			break;
		default:
			break;
	}
	if (si->intbits > 0)
	{
		si->src = (is_unsigned || (type & VT_ISUNSIGNED)) ? SRC_UINT : SRC_INT;
		return;
	}

	switch (type)
	{
		case QUERY__TYPE__FLOAT32:
			si->src = SRC_FLOAT;
			break;
		case QUERY__TYPE__FLOAT64:
			si->src = SRC_DOUBLE;
			break;
		case QUERY__TYPE__DECIMAL:
			si->src = SRC_DECIMAL;
			if (parse_params(si->params, &a, &b))
			{
				si->precision = a;
				si->scale = b;
			}
			else if (field->column_length > 0)
			{
				/* MySQL length = p + (s > 0) + (signed ? 1 : 0) */
				si->scale = (int) (field->decimals & 0xff);
				si->precision = (int) field->column_length -
					(si->scale > 0 ? 1 : 0) - (is_unsigned ? 0 : 1);
			}
			if (si->precision < 1 || si->precision > 1000 ||
				si->scale > si->precision)
				si->precision = -1;
			break;
		case QUERY__TYPE__DATE:
			si->src = SRC_DATE;
			break;
		case QUERY__TYPE__DATETIME:
		case QUERY__TYPE__TIMESTAMP:
		case QUERY__TYPE__TIME:
			si->src = type == QUERY__TYPE__DATETIME ? SRC_DATETIME :
				type == QUERY__TYPE__TIMESTAMP ? SRC_TIMESTAMP : SRC_TIME;
			if (parse_params(si->params, &a, NULL))
				si->fsp = a;
			else if (si->params == NULL && ct[0] != '\0')
				si->fsp = 0;
			else
				si->fsp = (int) (field->decimals & 0xff);
			if (si->fsp > 6)
				si->fsp = 6;
			break;
		case QUERY__TYPE__YEAR:
			si->src = SRC_YEAR;
			break;
		case QUERY__TYPE__TEXT:
		case QUERY__TYPE__VARCHAR:
		case QUERY__TYPE__CHAR:
		case QUERY__TYPE__BLOB:
		case QUERY__TYPE__VARBINARY:
		case QUERY__TYPE__BINARY:

			/*
			 * Binary iff the column has no character set.  Text columns with
			 * a binary collation (utf8mb4_bin) arrive typed VARBINARY etc.
			 * but keep their character set: they are text.
			 */
			if (is_binary_base(base))
				si->src = SRC_BINARY;
			else if (is_text_base(base))
				si->src = field->charset == MYSQL_CHARSET_BINARY ?
					SRC_BINARY : SRC_TEXT;
			else if (field->charset == MYSQL_CHARSET_BINARY ||
					 (field->charset == 0 && (type & VT_ISBINARY)))
				si->src = SRC_BINARY;
			else
				si->src = SRC_TEXT;
			if (si->src == SRC_BINARY &&
				(strcmp(base, "binary") == 0 ||
				 (base[0] == '\0' && type == QUERY__TYPE__BINARY)))
			{
				si->fixed_binary = true;
				if (!parse_params(si->params, &si->length, NULL))
					si->length = field->column_length > (uint32) MYSQL_MAX_BINARY_LENGTH ?
						0 : (int) field->column_length;

				/*
				 * MySQL's BINARY(n) has n <= 255; anything else is not
				 * padded (one FIELD must not make every cell allocate a
				 * length of its choosing).
				 */
				if (si->length < 1 || si->length > MYSQL_MAX_BINARY_LENGTH)
					si->length = 0;
			}
			break;
		case QUERY__TYPE__BIT:
			si->src = SRC_BIT;
			if (!parse_params(si->params, &si->length, NULL))
				si->length = (int) field->column_length;
			if (si->length < 1 || si->length > 64)
				si->length = 0;
			break;
		case QUERY__TYPE__ENUM:
			si->src = SRC_ENUM;
			break;
		case QUERY__TYPE__SET:
			si->src = SRC_SET;
			break;
		case QUERY__TYPE__JSON:
			si->src = SRC_JSON;
			/* JSON columns report the binary charset but carry UTF-8 */
			si->srcenc = PG_UTF8;
			break;
		case QUERY__TYPE__GEOMETRY:
			si->src = SRC_GEOMETRY;
			break;
		case QUERY__TYPE__VECTOR:
			si->src = SRC_VECTOR;
			break;
		default:
			si->src = SRC_UNKNOWN;
			break;
	}
}


/* ------------------------------------------------------------------------
 * Type choice
 * ------------------------------------------------------------------------
 */

/*
 * convert_pg_type_sql
 *		SQL type text for a new mirror column of this source field.
 *
 * The result is palloc'd in CurrentMemoryContext.
 */
char *
convert_pg_type_sql(const Query__Field *field)
{
	SourceInfo	si;

	classify_field(field, &si);
	switch (si.src)
	{
		case SRC_INT:
			if (si.intbits <= 16)
				return pstrdup("smallint");
			return pstrdup(si.intbits <= 32 ? "integer" : "bigint");
		case SRC_UINT:
			if (si.intbits <= 8)
				return pstrdup("smallint");
			if (si.intbits <= 24)
				return pstrdup("integer");
			return pstrdup(si.intbits <= 32 ? "bigint" : "numeric(20,0)");
		case SRC_FLOAT:
			return pstrdup("real");
		case SRC_DOUBLE:
			return pstrdup("double precision");
		case SRC_DECIMAL:
			if (si.precision > 0)
				return psprintf("numeric(%d,%d)", si.precision, si.scale);
			return pstrdup("numeric");
		case SRC_DATE:
			return pstrdup("date");
		case SRC_DATETIME:
			return psprintf("timestamp(%d) without time zone", si.fsp);
		case SRC_TIMESTAMP:
			return psprintf("timestamp(%d) with time zone", si.fsp);
		case SRC_TIME:
			return pstrdup("interval");
		case SRC_YEAR:
			return pstrdup("smallint");
		case SRC_TEXT:
			/* a character set PostgreSQL cannot convert: keep the bytes */
			if (si.srcenc == SRCENC_UNSUPPORTED)
				return pstrdup("bytea");
			return pstrdup("text");
		case SRC_BINARY:
		case SRC_GEOMETRY:
			return pstrdup("bytea");
		case SRC_BIT:
			if (si.length > 0)
				return psprintf("bit(%d)", si.length);
			return pstrdup("bit varying(64)");
		case SRC_ENUM:
		case SRC_SET:
			return pstrdup("text");
		case SRC_JSON:
			return pstrdup("jsonb");
		case SRC_VECTOR:
			return pstrdup("real[]");
		case SRC_UUID:
			return pstrdup("uuid");
		case SRC_INET6:
		case SRC_INET4:
			return pstrdup("inet");
		case SRC_UNKNOWN:
			break;
	}
	return pstrdup("text");
}


/* ------------------------------------------------------------------------
 * Column preparation
 * ------------------------------------------------------------------------
 */

/*
 * Labels of "enum('a','b''c')" / "set(...)", converted to the server
 * encoding (column_type comes from information_schema as UTF-8).
 */
static void
parse_labels(ConvertColumn *col, const char *params)
{
	const char *p = params;
	int			max = 8;

	col->nlabels = 0;
	col->labels = palloc(max * sizeof(char *));
	col->label_lens = palloc(max * sizeof(int));
	if (p == NULL)
		return;
	while (*p == '\'')
	{
		StringInfoData buf;
		char	   *label;

		initStringInfo(&buf);
		p++;
		for (;;)
		{
			if (*p == '\0')
				return;			/* malformed: keep what we have */
			if (*p == '\'' && p[1] == '\'')
			{
				appendStringInfoChar(&buf, '\'');
				p += 2;
				continue;
			}
			if (*p == '\'')
			{
				p++;
				break;
			}
			appendStringInfoChar(&buf, *p++);
		}
		if (!pg_verify_mbstr(PG_UTF8, buf.data, buf.len, true))
			ereport(ERROR,
					(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
					 errmsg("an ENUM or SET label of column \"%s\" is not valid UTF-8",
							text_make_valid_cstr(col->name)),
					 errhint("The column type sent by VTGate is corrupt.")));
		label = buf.data;
		if (GetDatabaseEncoding() != PG_UTF8 &&
			GetDatabaseEncoding() != PG_SQL_ASCII)
			label = pg_any_to_server(buf.data, buf.len, PG_UTF8);
		if (col->nlabels == max)
		{
			max *= 2;
			col->labels = repalloc(col->labels, max * sizeof(char *));
			col->label_lens = repalloc(col->label_lens, max * sizeof(int));
		}
		col->labels[col->nlabels] = label;
		col->label_lens[col->nlabels] = strlen(label);
		col->nlabels++;
		while (*p == ' ')
			p++;
		if (*p != ',')
			break;
		p++;
		while (*p == ' ')
			p++;
	}
}

static bool
is_integer_source(ConvertSource src)
{
	return src == SRC_INT || src == SRC_UINT || src == SRC_YEAR;
}

static int
choose_kind(const SourceInfo *si, Oid pgtype)
{
	bool		isint = is_integer_source(si->src);
	bool		isnum = isint || si->src == SRC_DECIMAL ||
		si->src == SRC_FLOAT || si->src == SRC_DOUBLE;

	switch (pgtype)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			if (isint)
				return K_INT;
			if (si->src == SRC_BIT)
				return K_BIT_INT;
			break;
		case NUMERICOID:
			if (isnum)
				return K_NUMERIC;
			break;
		case FLOAT4OID:
			if (isnum)
				return K_FLOAT4;
			break;
		case FLOAT8OID:
			if (isnum)
				return K_FLOAT8;
			break;
		case BYTEAOID:
			return K_BYTEA;
		case DATEOID:
		case TIMESTAMPOID:
		case TIMESTAMPTZOID:
			if (si->src == SRC_DATE || si->src == SRC_DATETIME ||
				si->src == SRC_TIMESTAMP)
				return K_DATETIME;
			break;
		case INTERVALOID:
			if (si->src == SRC_TIME)
				return K_TIME;
			break;
		case FLOAT4ARRAYOID:
			if (si->src == SRC_VECTOR)
				return K_VECTOR;
			break;
		case UUIDOID:
			if (si->src == SRC_UUID)
				return K_MARIADB_FBT;
			break;
		case INETOID:
		case CIDROID:
			if (si->src == SRC_INET6 || si->src == SRC_INET4)
				return K_MARIADB_FBT;
			break;
		case TEXTOID:
			if (si->src == SRC_UUID || si->src == SRC_INET6 ||
				si->src == SRC_INET4)
				return K_MARIADB_FBT;
			break;
		default:
			break;
	}
	switch (si->src)
	{
		case SRC_ENUM:
			return K_ENUM;
		case SRC_SET:
			return K_SET;
		case SRC_BIT:
			return K_BIT;
		case SRC_GEOMETRY:
			return K_GEOMETRY;
		default:
			break;
	}
	return pgtype == TEXTOID ? K_TEXT : K_INPUT;
}

/*
 * convert_column_init
 *		Prepare conversion of a source field into a column of type pgtype.
 *
 * Strings and the input function's FmgrInfo are allocated in
 * CurrentMemoryContext, which must live as long as *col.
 */
void
convert_column_init(ConvertColumn *col, const Query__Field *field,
					Oid pgtype, int32 typmod)
{
	SourceInfo	si;
	Oid			infunc;

	memset(col, 0, sizeof(*col));
	classify_field(field, &si);

	col->name = pstrdup(field->name ? field->name : "");
	col->mysql_type = field->type;
	col->flags = field->flags;
	col->charset = field->charset;
	col->decimals = field->decimals;
	col->column_length = field->column_length;
	col->column_type = pstrdup(field->column_type ? field->column_type : "");
	col->pgtype = pgtype;
	col->typmod = typmod;

	col->src = si.src;
	col->srcenc = si.srcenc;
	col->fsp = si.fsp;
	col->bits = si.fixed_binary ? si.length : (si.src == SRC_BIT ? si.length : 0);
	col->enum_mode = ENUM_AUTO;
	col->kind = choose_kind(&si, pgtype);

	if (si.src == SRC_ENUM || si.src == SRC_SET)
	{
		/* params of the private copy, so that labels outlive field */
		const char *params;
		char		base[32];

		column_type_base(col->column_type, base, sizeof(base), &params);
		parse_labels(col, params);
	}

	getTypeInputInfo(pgtype, &infunc, &col->typioparam);
	fmgr_info(infunc, &col->infunc);
}

void
convert_column_set_enum_strings(ConvertColumn *col, bool string_values)
{
	col->enum_mode = string_values ? ENUM_STRINGS : ENUM_ORDINALS;
}


/* ------------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------------
 */

/* A value for an error detail: quoted if plain text, else hex. */
static char *
format_value(const char *data, int len, bool force_hex)
{
	StringInfoData buf;
	bool		printable = !force_hex;
	int			i;
	int			shown;

	for (i = 0; printable && i < len; i++)
	{
		unsigned char c = (unsigned char) data[i];

		if (c < 0x20 || c == 0x7f)
			printable = false;
	}
	if (printable && len > 0 &&
		!pg_verify_mbstr(GetDatabaseEncoding() == PG_SQL_ASCII ?
						 PG_UTF8 : GetDatabaseEncoding(), data, len, true))
		printable = false;

	initStringInfo(&buf);
	if (printable)
	{
		shown = len > 100 ? pg_mbcliplen(data, len, 100) : len;
		appendStringInfoChar(&buf, '"');
		appendBinaryStringInfo(&buf, data, shown);
		appendStringInfoString(&buf, shown < len ? "...\"" : "\"");
	}
	else
	{
		shown = len > 48 ? 48 : len;
		appendStringInfoString(&buf, "\\x");
		for (i = 0; i < shown; i++)
			appendStringInfo(&buf, "%02x", (unsigned char) data[i]);
		if (shown < len)
			appendStringInfoString(&buf, "...");
	}
	return buf.data;
}

static int
reason_errcode(InvalidReason reason)
{
	switch (reason)
	{
		case INV_ZERO_DATE:
		case INV_ZERO_PART:
		case INV_DATE_RANGE:
		case INV_TIME_RANGE:
			return ERRCODE_DATETIME_VALUE_OUT_OF_RANGE;
		case INV_ENCODING:
		case INV_CHARSET:
			return ERRCODE_CHARACTER_NOT_IN_REPERTOIRE;
		case INV_NUM_RANGE:
			return ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
		default:
			return ERRCODE_INVALID_TEXT_REPRESENTATION;
	}
}

static char *
reason_detail(ConvertColumn *col, InvalidReason reason, const char *value)
{
	const char *ct = col->column_type[0] ? col->column_type : "?";

	switch (reason)
	{
		case INV_FORMAT:
			return psprintf(_("The value %s is not a valid MySQL %s value."),
							value, ct);
		case INV_ZERO_DATE:
			return psprintf(_("The value %s is a MySQL zero date, which PostgreSQL cannot represent."),
							value);
		case INV_ZERO_PART:
			return psprintf(_("The value %s has a zero year, month or day, which PostgreSQL cannot represent."),
							value);
		case INV_DATE_RANGE:
			return psprintf(_("The value %s is not a valid date."), value);
		case INV_TIME_RANGE:
			return psprintf(_("The value %s is not a valid time."), value);
		case INV_ENCODING:
			return psprintf(_("The value %s is not valid in the character set of MySQL collation %u."),
							value, col->charset);
		case INV_CHARSET:
			return psprintf(_("The value %s uses MySQL collation %u, whose character set cannot be converted to PostgreSQL."),
							value, col->charset);
		case INV_NUM_RANGE:
			return psprintf(_("The value %s is out of range for type %s."),
							value, format_type_with_typemod(col->pgtype,
															col->typmod));
		case INV_ENUM_ORDINAL:
			return psprintf(_("The value %s is not an ordinal of %s."),
							value, ct);
		case INV_SET_BITMASK:
			return psprintf(_("The value %s is not a bitmask of %s."),
							value, ct);
		case INV_BIT_LENGTH:
			return psprintf(_("The value %s has more bits than %s."),
							value, ct);
		case INV_EMPTY_JSON:
			return pstrdup(_("An empty string is not a valid JSON document."));
		case INV_VECTOR_LENGTH:
			return psprintf(_("The value %s is not a whole number of 4-byte floats."),
							value);
	}
	return pstrdup(value);
}

/*
 * report_invalid
 *		Apply the invalid value policy to a cell.
 *
 * With VSTREAM_INVALID_NULL, sets *isnull, counts the value and returns;
 * otherwise raises an error naming keyspace, shard, table and column.
 */
static Datum
report_invalid(ConvertColumn *col, ConvertContext *cxt, const char *data,
			   int len, InvalidReason reason, bool *isnull)
{
	bool		binary;
	char	   *detail;

	if (cxt != NULL && cxt->policy == VSTREAM_INVALID_NULL)
	{
		cxt->invalid_count++;
		if (convert_invalid_hook)
			convert_invalid_hook(cxt);
		*isnull = true;
		return (Datum) 0;
	}

	binary = col->src == SRC_BINARY || col->src == SRC_BIT ||
		col->src == SRC_GEOMETRY || col->src == SRC_VECTOR ||
		reason == INV_ENCODING || reason == INV_CHARSET;
	detail = reason_detail(col, reason, format_value(data, len, binary));

	if (cxt != NULL && cxt->table != NULL)
		ereport(ERROR,
				(errcode(reason_errcode(reason)),
				 errmsg("cannot convert value of column \"%s\" of table \"%s\" (keyspace \"%s\", shard \"%s\")",
						col->name, cxt->table,
						cxt->keyspace ? cxt->keyspace : "",
						cxt->shard ? cxt->shard : ""),
				 errdetail_internal("%s", detail),
				 errhint("Set the server option invalid_values 'null' to store such values as NULL."),
				 cxt->position ?
				 errcontext("VStream position %s", cxt->position) : 0));
	else
		ereport(ERROR,
				(errcode(reason_errcode(reason)),
				 errmsg("cannot convert MySQL value of type \"%s\"",
						col->column_type),
				 errdetail_internal("%s", detail),
				 errhint("Set the server option invalid_values 'null' to store such values as NULL.")));
	return (Datum) 0;
}

static void
convert_error_callback(void *arg)
{
	ConvertErrorArg *ea = (ConvertErrorArg *) arg;
	ConvertContext *cxt = ea->cxt;

	if (cxt != NULL && cxt->table != NULL)
	{
		if (cxt->position)
			errcontext("converting column \"%s\" of table \"%s\" (keyspace \"%s\", shard \"%s\") at VStream position %s",
					   ea->col->name, cxt->table,
					   cxt->keyspace ? cxt->keyspace : "",
					   cxt->shard ? cxt->shard : "", cxt->position);
		else
			errcontext("converting column \"%s\" of table \"%s\" (keyspace \"%s\", shard \"%s\")",
					   ea->col->name, cxt->table,
					   cxt->keyspace ? cxt->keyspace : "",
					   cxt->shard ? cxt->shard : "");
	}
	else
		errcontext("converting MySQL value of type \"%s\"",
				   ea->col->column_type);
}

#define PUSH_CONVERT_CONTEXT(errcb, ea, col_, cxt_) \
	do { \
		(ea).col = (col_); \
		(ea).cxt = (cxt_); \
		(errcb).callback = convert_error_callback; \
		(errcb).arg = &(ea); \
		(errcb).previous = error_context_stack; \
		error_context_stack = &(errcb); \
	} while (0)
#define POP_CONVERT_CONTEXT(errcb) \
	(error_context_stack = (errcb).previous)


/* ------------------------------------------------------------------------
 * Cell helpers
 * ------------------------------------------------------------------------
 */

/*
 * Bytes of a string cell as server-encoded text.  Returns false if they are
 * not valid in the source character set.  *out may point into data (not
 * NUL-terminated) or to palloc'd memory.  Conversion to a non-UTF-8 server
 * encoding can raise an error for untranslatable characters.
 */
static bool
decode_text(int srcenc, const char *data, int len, const char **out,
			int *outlen)
{
	int			server = GetDatabaseEncoding();
	char	   *conv;

	*out = data;
	*outlen = len;
	switch (srcenc)
	{
		case SRCENC_UNSUPPORTED:
			return false;
		case SRCENC_MYSQL_LATIN1:
			{
				int			i;
				unsigned char *buf;
				unsigned char *p;

				for (i = 0; i < len; i++)
				{
					unsigned char c = (unsigned char) data[i];

					if (c == 0)
						return false;
					if (c >= 0x80)
						break;
				}
				if (i == len)
					return true;	/* plain ASCII */

				buf = palloc(len * 3 + 1);
				p = buf;
				memcpy(p, data, i);
				p += i;
				for (; i < len; i++)
				{
					unsigned char c = (unsigned char) data[i];
					pg_wchar	u;

					if (c == 0)
						return false;
					if (c < 0x80)
					{
						*p++ = c;
						continue;
					}
					u = (c < 0xa0) ? mysql_latin1_c1[c - 0x80] : c;
					if (u < 0x800)
					{
						*p++ = 0xc0 | (u >> 6);
						*p++ = 0x80 | (u & 0x3f);
					}
					else
					{
						*p++ = 0xe0 | (u >> 12);
						*p++ = 0x80 | ((u >> 6) & 0x3f);
						*p++ = 0x80 | (u & 0x3f);
					}
				}
				*p = '\0';
				*out = (char *) buf;
				*outlen = p - buf;
				if (server == PG_UTF8 || server == PG_SQL_ASCII)
					return true;
				conv = pg_any_to_server(*out, *outlen, PG_UTF8);
				*out = conv;
				*outlen = strlen(conv);
				return true;
			}
		case SRCENC_BINARY:
		case PG_UTF8:
			srcenc = PG_UTF8;
			/* FALLTHROUGH */
		default:
			if (!pg_verify_mbstr(srcenc, data, len, true))
				return false;
			if (server == srcenc || len == 0 ||
				(server == PG_SQL_ASCII && srcenc == PG_UTF8))
				return true;
			/* an SQL_ASCII database gets UTF-8, like from latin1 */
			if (server == PG_SQL_ASCII)
				conv = (char *) pg_do_encoding_conversion((unsigned char *) data,
														  len, srcenc, PG_UTF8);
			else
				conv = pg_any_to_server(data, len, srcenc);
			if (conv != data)
			{
				*out = conv;
				*outlen = strlen(conv);
			}
			return true;
	}
}

static inline Datum
make_text(const char *s, int len)
{
	text	   *t = (text *) palloc(len + VARHDRSZ);

	SET_VARSIZE(t, len + VARHDRSZ);
	memcpy(VARDATA(t), s, len);
	return PointerGetDatum(t);
}

/*
 * Run the target type's input function on str (NUL-terminated), with an
 * error context naming the column.  On PostgreSQL 16 and later, soft input
 * errors follow the invalid value policy.
 */
static Datum
call_input(ConvertColumn *col, char *str, bool *isnull, ConvertContext *cxt)
{
	ErrorContextCallback errcb;
	ConvertErrorArg ea;
	Datum		result;

	PUSH_CONVERT_CONTEXT(errcb, ea, col, cxt);
#if PG_VERSION_NUM >= 160000
	if (cxt != NULL && cxt->policy == VSTREAM_INVALID_NULL)
	{
		ErrorSaveContext escontext = {T_ErrorSaveContext};

		if (!InputFunctionCallSafe(&col->infunc, str, col->typioparam,
								   col->typmod, (Node *) &escontext,
								   &result))
		{
			POP_CONVERT_CONTEXT(errcb);
			cxt->invalid_count++;
			if (convert_invalid_hook)
				convert_invalid_hook(cxt);
			*isnull = true;
			return (Datum) 0;
		}
		POP_CONVERT_CONTEXT(errcb);
		return result;
	}
#endif
	result = InputFunctionCall(&col->infunc, str, col->typioparam,
							   col->typmod);
	POP_CONVERT_CONTEXT(errcb);
	return result;
}

/* Input function on (s, len), copied to a NUL-terminated buffer. */
static Datum
call_input_len(ConvertColumn *col, const char *s, int len, bool *isnull,
			   ConvertContext *cxt)
{
	char		stackbuf[128];
	char	   *str;
	Datum		result;

	if (len < (int) sizeof(stackbuf))
		str = stackbuf;
	else
		str = palloc(len + 1);
	memcpy(str, s, len);
	str[len] = '\0';
	result = call_input(col, str, isnull, cxt);
	if (str != stackbuf)
		pfree(str);
	return result;
}

/* Decoded string into the target: text directly, else the input function. */
static Datum
string_to_target(ConvertColumn *col, const char *s, int len, bool *isnull,
				 ConvertContext *cxt)
{
	if (col->pgtype == TEXTOID)
		return make_text(s, len);
	return call_input_len(col, s, len, isnull, cxt);
}

typedef enum NumParse
{
	NUM_OK,
	NUM_FORMAT,
	NUM_RANGE
} NumParse;

/* Decimal ASCII integer, optional sign, no spaces. */
static NumParse
parse_int64(const char *s, int len, int64 *result)
{
	uint64		mag = 0;
	bool		neg = false;
	int			i = 0;

	if (len > 0 && (s[0] == '-' || s[0] == '+'))
	{
		neg = (s[0] == '-');
		i = 1;
	}
	if (i >= len)
		return NUM_FORMAT;
	for (; i < len; i++)
	{
		unsigned	d = (unsigned char) s[i] - '0';

		if (d > 9)
			return NUM_FORMAT;
		if (mag > (PG_UINT64_MAX - d) / 10)
		{
			/* keep checking the syntax */
			for (i++; i < len; i++)
				if ((unsigned char) s[i] - '0' > 9)
					return NUM_FORMAT;
			return NUM_RANGE;
		}
		mag = mag * 10 + d;
	}
	if (neg)
	{
		if (mag > (uint64) PG_INT64_MAX + 1)
			return NUM_RANGE;
		*result = (mag == (uint64) PG_INT64_MAX + 1) ? PG_INT64_MIN : -(int64) mag;
	}
	else
	{
		if (mag > (uint64) PG_INT64_MAX)
			return NUM_RANGE;
		*result = (int64) mag;
	}
	return NUM_OK;
}

/* [+-]digits[.digits][e[+-]digits]: what MySQL and Vitess print. */
static bool
valid_number(const char *s, int len, bool allow_exp)
{
	int			i = 0;
	int			digits = 0;

	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < len && isdigit((unsigned char) s[i]))
		i++, digits++;
	if (i < len && s[i] == '.')
	{
		i++;
		while (i < len && isdigit((unsigned char) s[i]))
			i++, digits++;
	}
	if (digits == 0)
		return false;
	if (allow_exp && i < len && (s[i] == 'e' || s[i] == 'E'))
	{
		int			edigits = 0;

		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		while (i < len && isdigit((unsigned char) s[i]))
			i++, edigits++;
		if (edigits == 0)
			return false;
	}
	return i == len;
}

static inline bool
two_digits(const char *s, int *v)
{
	if (!isdigit((unsigned char) s[0]) || !isdigit((unsigned char) s[1]))
		return false;
	*v = (s[0] - '0') * 10 + (s[1] - '0');
	return true;
}

/* Fraction ".f{1,6}" at s (s[0] == '.'); returns chars consumed or -1. */
static int
parse_fraction(const char *s, int len, int *usec, int *fdigits)
{
	int			i = 1;
	int			v = 0;
	int			k;

	while (i < len && isdigit((unsigned char) s[i]) && i <= 6)
		v = v * 10 + (s[i++] - '0');
	if (i == 1 || (i < len && isdigit((unsigned char) s[i])))
		return -1;
	*fdigits = i - 1;
	for (k = *fdigits; k < 6; k++)
		v *= 10;
	*usec = v;
	return i;
}

static const int days_in_month[2][13] = {
	{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31},
	{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}
};

/*
 * Parse "YYYY-MM-DD[ HH:MM:SS[.ffffff]]" and check that PostgreSQL can
 * represent it.  Returns -1 if fine, else the InvalidReason.
 */
static int
parse_mysql_datetime(const char *s, int len, MyDateTime *dt)
{
	int			y1,
				y2,
				leap;

	memset(dt, 0, sizeof(*dt));
	if (len < 10 || s[4] != '-' || s[7] != '-' ||
		!two_digits(s, &y1) || !two_digits(s + 2, &y2) ||
		!two_digits(s + 5, &dt->mon) || !two_digits(s + 8, &dt->mday))
		return INV_FORMAT;
	dt->year = y1 * 100 + y2;
	if (len > 10)
	{
		if (len < 19 || (s[10] != ' ' && s[10] != 'T') ||
			s[13] != ':' || s[16] != ':' ||
			!two_digits(s + 11, &dt->hour) ||
			!two_digits(s + 14, &dt->min) ||
			!two_digits(s + 17, &dt->sec))
			return INV_FORMAT;
		dt->has_time = true;
		if (len > 19)
		{
			if (s[19] != '.' ||
				parse_fraction(s + 19, len - 19, &dt->usec,
							   &dt->fdigits) != len - 19)
				return INV_FORMAT;
		}
	}
	if (dt->year == 0 && dt->mon == 0 && dt->mday == 0)
		return INV_ZERO_DATE;
	if (dt->year == 0 || dt->mon == 0 || dt->mday == 0)
		return INV_ZERO_PART;
	leap = (dt->year % 4 == 0 && (dt->year % 100 != 0 || dt->year % 400 == 0));
	if (dt->mon > 12 || dt->mday > days_in_month[leap][dt->mon])
		return INV_DATE_RANGE;
	if (dt->hour > 23 || dt->min > 59 || dt->sec > 59)
		return INV_TIME_RANGE;
	return -1;
}

/* UTF-8 hex digits of a byte string. */
static void
append_hex(StringInfo buf, const unsigned char *p, int len)
{
	static const char hex[] = "0123456789abcdef";
	int			i;

	enlargeStringInfo(buf, len * 2);
	for (i = 0; i < len; i++)
	{
		buf->data[buf->len++] = hex[p[i] >> 4];
		buf->data[buf->len++] = hex[p[i] & 0xf];
	}
	buf->data[buf->len] = '\0';
}


/* ------------------------------------------------------------------------
 * Conversion paths
 * ------------------------------------------------------------------------
 */

static Datum
conv_int(ConvertColumn *col, const char *data, int len, bool *isnull,
		 ConvertContext *cxt)
{
	int64		v;
	NumParse	r = parse_int64(data, len, &v);

	if (r != NUM_OK)
		return report_invalid(col, cxt, data, len,
							  r == NUM_RANGE ? INV_NUM_RANGE : INV_FORMAT,
							  isnull);
	switch (col->pgtype)
	{
		case INT2OID:
			if (v < PG_INT16_MIN || v > PG_INT16_MAX)
				break;
			return Int16GetDatum((int16) v);
		case INT4OID:
			if (v < PG_INT32_MIN || v > PG_INT32_MAX)
				break;
			return Int32GetDatum((int32) v);
		default:
			return Int64GetDatum(v);
	}
	return report_invalid(col, cxt, data, len, INV_NUM_RANGE, isnull);
}

static Datum
conv_float(ConvertColumn *col, const char *data, int len, bool *isnull,
		   ConvertContext *cxt)
{
	char		buf[128];
	char	   *end;
	double		d;
	float		f;

	if (len >= (int) sizeof(buf) || !valid_number(data, len, true))
		return report_invalid(col, cxt, data, len, INV_FORMAT, isnull);
	memcpy(buf, data, len);
	buf[len] = '\0';
	errno = 0;
	if (col->kind == K_FLOAT4)
	{
		f = strtof(buf, &end);
		if (errno == ERANGE && (f == 0.0f || isinf(f)))
			return report_invalid(col, cxt, data, len, INV_NUM_RANGE, isnull);
		return Float4GetDatum(f);
	}
	d = strtod(buf, &end);
	if (errno == ERANGE && (d == 0.0 || isinf(d)))
		return report_invalid(col, cxt, data, len, INV_NUM_RANGE, isnull);
	return Float8GetDatum(d);
}

static Datum
conv_bytea(ConvertColumn *col, const char *data, int len)
{
	int			n = len;
	bytea	   *b;

	/* BINARY(n) reads back padded with 0x00 in MySQL */
	if (col->bits > len && col->src == SRC_BINARY)
		n = col->bits;
	b = (bytea *) palloc(n + VARHDRSZ);
	SET_VARSIZE(b, n + VARHDRSZ);
	memcpy(VARDATA(b), data, len);
	if (n > len)
		memset(VARDATA(b) + len, 0, n - len);
	return PointerGetDatum(b);
}

static Datum
conv_datetime(ConvertColumn *col, const char *data, int len, bool *isnull,
			  ConvertContext *cxt)
{
	MyDateTime	dt;
	int			r = parse_mysql_datetime(data, len, &dt);
	int32		days;
	Timestamp	ts;

	if (r >= 0)
		return report_invalid(col, cxt, data, len, (InvalidReason) r, isnull);

	days = date2j(dt.year, dt.mon, dt.mday) - POSTGRES_EPOCH_JDATE;
	ts = days * USECS_PER_DAY +
		((int64) (dt.hour * 60 + dt.min) * 60 + dt.sec) * USECS_PER_SEC +
		dt.usec;

	switch (col->pgtype)
	{
		case DATEOID:
			if (!dt.has_time)
				return DateADTGetDatum(days);
			break;
		case TIMESTAMPOID:
			if (col->typmod < 0 || dt.fdigits <= col->typmod)
				return TimestampGetDatum(ts);
			break;
		case TIMESTAMPTZOID:
			if (col->src == SRC_TIMESTAMP &&
				(col->typmod < 0 || dt.fdigits <= col->typmod))
				return TimestampTzGetDatum(ts);
			break;
	}

	/* rounding, dropping the time, or a zone: the input function decides */
	if (col->pgtype == TIMESTAMPTZOID && col->src == SRC_TIMESTAMP)
	{
		char		buf[64];

		if (len > 40)
			return report_invalid(col, cxt, data, len, INV_FORMAT, isnull);
		memcpy(buf, data, len);
		strcpy(buf + len, "+00");
		return call_input(col, buf, isnull, cxt);
	}
	return call_input_len(col, data, len, isnull, cxt);
}

static Datum
conv_time(ConvertColumn *col, const char *data, int len, bool *isnull,
		  ConvertContext *cxt)
{
	int			i = 0;
	int			hours = 0;
	int			hdigits = 0;
	int			min,
				sec,
				usec = 0,
				fdigits = 0;
	bool		neg = false;
	Interval   *iv;

	if (col->typmod >= 0)
		return call_input_len(col, data, len, isnull, cxt);

	if (i < len && data[i] == '-')
	{
		neg = true;
		i++;
	}
	while (i < len && isdigit((unsigned char) data[i]) && hdigits < 4)
		hours = hours * 10 + (data[i++] - '0'), hdigits++;
	if (hdigits == 0 || len - i < 6 || data[i] != ':' || data[i + 3] != ':' ||
		!two_digits(data + i + 1, &min) || !two_digits(data + i + 4, &sec))
		return report_invalid(col, cxt, data, len, INV_FORMAT, isnull);
	i += 6;
	if (i < len)
	{
		if (data[i] != '.' ||
			parse_fraction(data + i, len - i, &usec, &fdigits) != len - i)
			return report_invalid(col, cxt, data, len, INV_FORMAT, isnull);
	}
	if (hours > 838 || min > 59 || sec > 59)
		return report_invalid(col, cxt, data, len, INV_TIME_RANGE, isnull);

	iv = (Interval *) palloc(sizeof(Interval));
	iv->time = ((int64) (hours * 60 + min) * 60 + sec) * USECS_PER_SEC + usec;
	if (neg)
		iv->time = -iv->time;
	iv->day = 0;
	iv->month = 0;
	return IntervalPGetDatum(iv);
}

/*
 * Bits of a BIT(n) cell (big-endian bytes, right-aligned) into uint64.
 * False if more than n (or 64) bits are used.
 */
static bool
bit_value(ConvertColumn *col, const char *data, int len, uint64 *value)
{
	int			n = col->bits > 0 ? col->bits : 64;
	uint64		v = 0;
	int			i;

	for (i = 0; i < len; i++)
	{
		if (v >> 56)
			return false;
		v = (v << 8) | (unsigned char) data[i];
	}
	if (n < 64 && (v >> n) != 0)
		return false;
	*value = v;
	return true;
}

static Datum
conv_bit(ConvertColumn *col, const char *data, int len, bool *isnull,
		 ConvertContext *cxt)
{
	uint64		v;
	char		buf[65];
	int			n;
	int			i;

	if (!bit_value(col, data, len, &v))
		return report_invalid(col, cxt, data, len, INV_BIT_LENGTH, isnull);
	if (col->kind == K_BIT_INT)
	{
		switch (col->pgtype)
		{
			case INT2OID:
				if (v > PG_INT16_MAX)
					break;
				return Int16GetDatum((int16) v);
			case INT4OID:
				if (v > PG_INT32_MAX)
					break;
				return Int32GetDatum((int32) v);
			default:
				if (v > PG_INT64_MAX)
					break;
				return Int64GetDatum((int64) v);
		}
		return report_invalid(col, cxt, data, len, INV_NUM_RANGE, isnull);
	}
	n = col->bits > 0 ? col->bits : (len > 8 ? 64 : len * 8);
	for (i = 0; i < n; i++)
		buf[i] = ((v >> (n - 1 - i)) & 1) ? '1' : '0';
	buf[n] = '\0';
	if (col->pgtype == TEXTOID)
		return make_text(buf, n);
	return call_input(col, buf, isnull, cxt);
}

/* Is (s, len) one of the labels?  Returns its index or -1. */
static int
find_label(ConvertColumn *col, const char *s, int len)
{
	int			i;

	for (i = 0; i < col->nlabels; i++)
	{
		if (col->label_lens[i] == len &&
			memcmp(col->labels[i], s, len) == 0)
			return i;
	}
	return -1;
}

static bool
all_digits(const char *s, int len)
{
	int			i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
		if (!isdigit((unsigned char) s[i]))
			return false;
	return true;
}

/* Is (s, len) a comma separated list of labels (or empty)? */
static bool
is_label_list(ConvertColumn *col, const char *s, int len)
{
	int			start = 0;
	int			i;

	if (len == 0)
		return true;
	for (i = 0; i <= len; i++)
	{
		if (i == len || s[i] == ',')
		{
			if (find_label(col, s + start, i - start) < 0)
				return false;
			start = i + 1;
		}
	}
	return true;
}

/*
 * A SET value ("a,b") into the target: text[] gets one element per member
 * (labels cannot contain commas), other types the string.
 */
static Datum
set_to_target(ConvertColumn *col, const char *s, int len, bool *isnull,
			  ConvertContext *cxt)
{
	Datum	   *elems;
	int			n = 0;
	int			start = 0;
	int			i;
	ArrayType  *arr;

	if (col->kind != K_SET || col->pgtype != TEXTARRAYOID)
		return string_to_target(col, s, len, isnull, cxt);

	elems = palloc((len + 1) * sizeof(Datum));
	for (i = 0; len > 0 && i <= len; i++)
	{
		if (i == len || s[i] == ',')
		{
			elems[n++] = make_text(s + start, i - start);
			start = i + 1;
		}
	}
	arr = construct_array(elems, n, TEXTOID, -1, false, TYPALIGN_INT);
	pfree(elems);
	return PointerGetDatum(arr);
}

static Datum
conv_enum_set(ConvertColumn *col, const char *data, int len, bool *isnull,
			  ConvertContext *cxt)
{
	const char *s;
	int			slen;
	bool		ordinal;
	int64		v;

	if (!decode_text(col->srcenc, data, len, &s, &slen))
		return report_invalid(col, cxt, data, len,
							  col->srcenc == SRCENC_UNSUPPORTED ?
							  INV_CHARSET : INV_ENCODING, isnull);

	switch (col->enum_mode)
	{
		case ENUM_STRINGS:
			ordinal = false;
			break;
		case ENUM_ORDINALS:
			ordinal = all_digits(s, slen);
			break;
		default:
			ordinal = all_digits(s, slen) &&
				(col->kind == K_ENUM ? find_label(col, s, slen) < 0 :
				 !is_label_list(col, s, slen));
			break;
	}
	if (!ordinal)
		return set_to_target(col, s, slen, isnull, cxt);

	if (parse_int64(s, slen, &v) != NUM_OK)
		return report_invalid(col, cxt, data, len,
							  col->kind == K_ENUM ? INV_ENUM_ORDINAL :
							  INV_SET_BITMASK, isnull);
	if (col->kind == K_ENUM)
	{
		/* ordinal 0 is MySQL's '' error value */
		if (v == 0)
			return string_to_target(col, "", 0, isnull, cxt);
		if (v > col->nlabels)
			return report_invalid(col, cxt, data, len, INV_ENUM_ORDINAL,
								  isnull);
		return string_to_target(col, col->labels[v - 1],
								col->label_lens[v - 1], isnull, cxt);
	}
	else
	{
		StringInfoData buf;
		uint64		mask = (uint64) v;
		Datum		result;
		int			i;

		if (col->nlabels < 64 && (mask >> col->nlabels) != 0)
			return report_invalid(col, cxt, data, len, INV_SET_BITMASK,
								  isnull);
		initStringInfo(&buf);
		for (i = 0; i < col->nlabels && i < 64; i++)
		{
			if (mask & ((uint64) 1 << i))
			{
				if (buf.len > 0)
					appendStringInfoChar(&buf, ',');
				appendBinaryStringInfo(&buf, col->labels[i],
									   col->label_lens[i]);
			}
		}
		result = set_to_target(col, buf.data, buf.len, isnull, cxt);
		pfree(buf.data);
		return result;
	}
}

static Datum
conv_vector(ConvertColumn *col, const char *data, int len, bool *isnull,
			ConvertContext *cxt)
{
	int			n = len / 4;
	Datum	   *elems;
	int			i;
	ArrayType  *arr;

	if (len % 4 != 0)
		return report_invalid(col, cxt, data, len, INV_VECTOR_LENGTH, isnull);
	elems = palloc(Max(n, 1) * sizeof(Datum));
	for (i = 0; i < n; i++)
	{
		const unsigned char *p = (const unsigned char *) data + i * 4;
		uint32		u = p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32) p[3] << 24);
		float4		f;

		memcpy(&f, &u, sizeof(f));
		elems[i] = Float4GetDatum(f);
	}
	arr = construct_array(elems, n, FLOAT4OID, sizeof(float4), true, TYPALIGN_INT);
	pfree(elems);
	return PointerGetDatum(arr);
}

/*
 * MySQL geometry (4-byte little-endian SRID, then WKB) as hex EWKB, which
 * PostGIS' geometry input accepts.
 */
static Datum
conv_geometry(ConvertColumn *col, const char *data, int len, bool *isnull,
			  ConvertContext *cxt)
{
	const unsigned char *p = (const unsigned char *) data;
	uint32		srid;
	uint32		wkbtype;
	StringInfoData buf;
	unsigned char hdr[9];
	Datum		result;
	int			k;

	if (len < 9 || p[4] > 1)
		return report_invalid(col, cxt, data, len, INV_FORMAT, isnull);
	srid = p[0] | (p[1] << 8) | (p[2] << 16) | ((uint32) p[3] << 24);
	initStringInfo(&buf);
	if (srid == 0)
		append_hex(&buf, p + 4, len - 4);
	else
	{
		bool		le = (p[4] == 1);

		if (le)
			wkbtype = p[5] | (p[6] << 8) | (p[7] << 16) | ((uint32) p[8] << 24);
		else
			wkbtype = ((uint32) p[5] << 24) | (p[6] << 16) | (p[7] << 8) | p[8];
		wkbtype |= 0x20000000;	/* EWKB: SRID follows */
		hdr[0] = p[4];
		for (k = 0; k < 4; k++)
		{
			int			shift = le ? 8 * k : 8 * (3 - k);

			hdr[1 + k] = (wkbtype >> shift) & 0xff;
			hdr[5 + k] = (srid >> shift) & 0xff;
		}
		append_hex(&buf, hdr, 9);
		append_hex(&buf, p + 9, len - 9);
	}
	result = string_to_target(col, buf.data, buf.len, isnull, cxt);
	pfree(buf.data);
	return result;
}

/*
 * MariaDB UUID / INET6 / INET4.  The copy phase sends the text form, the
 * replication phase 16 (INET4: 4) bytes in text order with trailing zero
 * bytes stripped (seen with MariaDB 10.11 / Vitess 24, even for a version 1
 * UUID, which MariaDB documents as stored with its segments swapped).
 */
static Datum
conv_mariadb_fbt(ConvertColumn *col, const char *data, int len,
				 bool *isnull, ConvertContext *cxt)
{
	unsigned char raw[16];
	int			size = col->src == SRC_UUID || col->src == SRC_INET6 ? 16 : 4;
	bool		text = true;
	int			i;
	char		buf[64];

	if (col->src == SRC_UUID)
		text = (len == 36);
	else
	{
		bool		sep = false;

		for (i = 0; i < len && text; i++)
		{
			char		c = data[i];

			if (c == ':' || c == '.')
				sep = true;
			else if (!isxdigit((unsigned char) c))
				text = false;
		}
		text = text && sep && len > (col->src == SRC_INET4 ? 4 : 1);
	}
	if (text)
		return conv_string(col, data, len, isnull, cxt);
	if (len > size)
		return report_invalid(col, cxt, data, len, INV_FORMAT, isnull);

	memset(raw, 0, sizeof(raw));
	memcpy(raw, data, len);

	if (col->src == SRC_UUID)
	{
		pg_uuid_t  *u = (pg_uuid_t *) palloc(sizeof(pg_uuid_t));

		memcpy(u->data, raw, 16);
		if (col->pgtype == UUIDOID)
			return UUIDPGetDatum(u);
		return string_to_target(col,
								DatumGetCString(DirectFunctionCall1(uuid_out,
																	UUIDPGetDatum(u))),
								36, isnull, cxt);
	}
	if (col->src == SRC_INET4)
		snprintf(buf, sizeof(buf), "%u.%u.%u.%u",
				 raw[0], raw[1], raw[2], raw[3]);
	else
		snprintf(buf, sizeof(buf), "%x:%x:%x:%x:%x:%x:%x:%x",
				 (raw[0] << 8) | raw[1], (raw[2] << 8) | raw[3],
				 (raw[4] << 8) | raw[5], (raw[6] << 8) | raw[7],
				 (raw[8] << 8) | raw[9], (raw[10] << 8) | raw[11],
				 (raw[12] << 8) | raw[13], (raw[14] << 8) | raw[15]);
	if (col->pgtype == TEXTOID)
	{
		/* canonical form, as the copy phase shows it */
		Datum		inet = DirectFunctionCall1(inet_in, CStringGetDatum(buf));

		return CStringGetTextDatum(DatumGetCString(DirectFunctionCall1(inet_out,
																	   inet)));
	}
	return call_input(col, buf, isnull, cxt);
}

/* Text-like cell into text (K_TEXT) or through the input function. */
static Datum
conv_string(ConvertColumn *col, const char *data, int len, bool *isnull,
			ConvertContext *cxt)
{
	const char *s;
	int			slen;
	bool		ok;

	if (col->src == SRC_JSON && len == 0 && col->pgtype != TEXTOID)
		return report_invalid(col, cxt, data, len, INV_EMPTY_JSON, isnull);

	if (col->srcenc == PG_UTF8 || col->srcenc == SRCENC_BINARY)
	{
		/* the common case, kept short */
		int			server = GetDatabaseEncoding();

		if ((server == PG_UTF8 || server == PG_SQL_ASCII) &&
			pg_verify_mbstr(PG_UTF8, data, len, true))
		{
			if (col->kind == K_TEXT)
				return make_text(data, len);
			return call_input_len(col, data, len, isnull, cxt);
		}
	}

	{
		ErrorContextCallback errcb;
		ConvertErrorArg ea;

		/* conversion to the server encoding may fail */
		PUSH_CONVERT_CONTEXT(errcb, ea, col, cxt);
		ok = decode_text(col->srcenc, data, len, &s, &slen);
		POP_CONVERT_CONTEXT(errcb);
	}
	if (!ok)
		return report_invalid(col, cxt, data, len,
							  col->srcenc == SRCENC_UNSUPPORTED ?
							  INV_CHARSET : INV_ENCODING, isnull);
	if (col->kind == K_TEXT)
		return make_text(s, slen);
	return call_input_len(col, s, slen, isnull, cxt);
}

/*
 * convert_cell
 *		Convert one cell to a Datum of col->pgtype (see convert.h).
 */
Datum
convert_cell(ConvertColumn *col, const char *data, int len, bool *isnull,
			 ConvertContext *cxt)
{
	*isnull = false;
	if (len < 0)
	{
		*isnull = true;
		return (Datum) 0;
	}
	if (data == NULL)
		data = "";

	switch ((ConvertKind) col->kind)
	{
		case K_INT:
			return conv_int(col, data, len, isnull, cxt);
		case K_FLOAT4:
		case K_FLOAT8:
			return conv_float(col, data, len, isnull, cxt);
		case K_NUMERIC:
			if (!valid_number(data, len, col->src == SRC_FLOAT ||
							  col->src == SRC_DOUBLE))
				return report_invalid(col, cxt, data, len, INV_FORMAT,
									  isnull);
			return call_input_len(col, data, len, isnull, cxt);
		case K_BYTEA:
			return conv_bytea(col, data, len);
		case K_DATETIME:
			return conv_datetime(col, data, len, isnull, cxt);
		case K_TIME:
			return conv_time(col, data, len, isnull, cxt);
		case K_BIT:
		case K_BIT_INT:
			return conv_bit(col, data, len, isnull, cxt);
		case K_ENUM:
		case K_SET:
			return conv_enum_set(col, data, len, isnull, cxt);
		case K_VECTOR:
			return conv_vector(col, data, len, isnull, cxt);
		case K_GEOMETRY:
			return conv_geometry(col, data, len, isnull, cxt);
		case K_MARIADB_FBT:
			return conv_mariadb_fbt(col, data, len, isnull, cxt);
		case K_TEXT:
		case K_INPUT:
			break;
	}
	return conv_string(col, data, len, isnull, cxt);
}


/* ------------------------------------------------------------------------
 * JSON rendering for peek()
 * ------------------------------------------------------------------------
 */

static void
jsonb_string(JsonbValue *out, char *s, int len)
{
	out->type = jbvString;
	out->val.string.val = s;
	out->val.string.len = len;
}

static void
jsonb_hex(JsonbValue *out, const char *data, int len)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfoString(&buf, "\\x");
	append_hex(&buf, (const unsigned char *) data, len);
	jsonb_string(out, buf.data, buf.len);
}

/*
 * convert_cell_to_jsonb_value
 *		JSON rendering of a raw cell (see convert.h).  Never raises an error
 *		for odd input; strings are palloc'd in CurrentMemoryContext.
 */
void
convert_cell_to_jsonb_value(const Query__Field *field, const char *data,
							int len, JsonbValue *out)
{
	SourceInfo	si;
	const char *s;
	int			slen;
	int			server = GetDatabaseEncoding();
	bool		ok;
	int			i;

	if (len < 0)
	{
		out->type = jbvNull;
		return;
	}
	if (data == NULL)
		data = "";

	classify_field(field, &si);
	switch (si.src)
	{
		case SRC_INT:
		case SRC_UINT:
		case SRC_YEAR:
		case SRC_DECIMAL:
		case SRC_FLOAT:
		case SRC_DOUBLE:
			if (len < 1000 && valid_number(data, len, true))
			{
				char	   *str = pnstrdup(data, len);

				out->type = jbvNumeric;
				out->val.numeric =
					DatumGetNumeric(DirectFunctionCall3(numeric_in,
														CStringGetDatum(str),
														ObjectIdGetDatum(InvalidOid),
														Int32GetDatum(-1)));
				return;
			}
			break;
		case SRC_BINARY:
		case SRC_BIT:
		case SRC_GEOMETRY:
		case SRC_VECTOR:
			jsonb_hex(out, data, len);
			return;
		case SRC_UUID:
		case SRC_INET6:
		case SRC_INET4:
			/* text form in the copy phase, raw bytes in replication */
			for (i = 0; i < len; i++)
			{
				if ((unsigned char) data[i] < 0x20 ||
					(unsigned char) data[i] > 0x7e)
				{
					jsonb_hex(out, data, len);
					return;
				}
			}
			break;
		default:
			break;
	}

	/* everything else as a string; bytes that are not text as hex */
	if (si.srcenc == SRCENC_UNSUPPORTED)
	{
		jsonb_hex(out, data, len);
		return;
	}
	if (si.srcenc == SRCENC_BINARY || si.srcenc == PG_UTF8)
	{
		ok = pg_verify_mbstr(PG_UTF8, data, len, true);
		if (ok && server != PG_UTF8 && server != PG_SQL_ASCII)
		{
			/* could fail on untranslatable characters: only pure ASCII */
			for (i = 0; ok && i < len; i++)
				if ((unsigned char) data[i] >= 0x80)
					ok = false;
		}
		if (!ok)
		{
			jsonb_hex(out, data, len);
			return;
		}
		jsonb_string(out, pnstrdup(data, len), len);
		return;
	}
	if (si.srcenc == SRCENC_MYSQL_LATIN1 &&
		(server == PG_UTF8 || server == PG_SQL_ASCII) &&
		decode_text(si.srcenc, data, len, &s, &slen))
	{
		jsonb_string(out, s == data ? pnstrdup(data, len) : (char *) s, slen);
		return;
	}
	if (si.srcenc == server && pg_verify_mbstr(server, data, len, true))
	{
		jsonb_string(out, pnstrdup(data, len), len);
		return;
	}
	jsonb_hex(out, data, len);
}


/* ------------------------------------------------------------------------
 * SQL-callable debugging functions
 * ------------------------------------------------------------------------
 */

/* Build a Query__Field from the arguments shared by both functions. */
static void
field_from_args(FunctionCallInfo fcinfo, int typearg, Query__Field *field)
{
	query__field__init(field);
	field->name = "value";
	/* on the wire, column_type is UTF-8 */
	field->column_type = pg_server_to_any(text_to_cstring(PG_GETARG_TEXT_PP(0)),
										  VARSIZE_ANY_EXHDR(PG_GETARG_TEXT_PP(0)),
										  PG_UTF8);
	field->flags = PG_ARGISNULL(typearg + 1) ? 0 :
		(uint32) PG_GETARG_INT32(typearg + 1);
	field->charset = PG_ARGISNULL(typearg + 2) ? 255 :
		(uint32) PG_GETARG_INT32(typearg + 2);

	if (!PG_ARGISNULL(typearg))
	{
		char	   *name = text_to_cstring(PG_GETARG_TEXT_PP(typearg));
		const ProtobufCEnumValue *ev;
		char	   *p;

		for (p = name; *p; p++)
			*p = pg_toupper((unsigned char) *p);
		ev = protobuf_c_enum_descriptor_get_value_by_name(&query__type__descriptor,
														  name);
		if (ev == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("unknown Vitess type \"%s\"", name),
					 errhint("Use a query.Type name such as INT64, UINT64, VARCHAR or DATETIME.")));
		field->type = ev->value;
	}
	else
	{
		char		base[32];
		const char *params;

		column_type_base(field->column_type, base, sizeof(base), &params);
		field->type = vitess_type_from_base(base,
											(field->flags & MYSQL_UNSIGNED_FLAG) ||
											contains_word(field->column_type, " unsigned"),
											field->charset);
	}
}

/*
 * vstream_fdw.mysql_type_to_pg(column_type text, vitess_type text,
 *								flags int, charset int) returns text
 */
Datum
vstream_mysql_type_to_pg(PG_FUNCTION_ARGS)
{
	Query__Field field;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	field_from_args(fcinfo, 1, &field);
	PG_RETURN_TEXT_P(cstring_to_text(convert_pg_type_sql(&field)));
}

/*
 * vstream_fdw.convert_value(column_type text, value bytea, vitess_type text,
 *							 flags int, charset int, invalid_values text)
 *	returns text
 *
 * Converts value as convert_cell() would for a new mirror column and
 * returns the output text of the result.
 */
Datum
vstream_convert_value(PG_FUNCTION_ARGS)
{
	Query__Field field;
	ConvertColumn col;
	ConvertContext cxt;
	char	   *typesql;
	Oid			typid;
	int32		typmod;
	Oid			typoutput;
	bool		typisvarlena;
	bytea	   *value;
	Datum		result;
	bool		isnull;

	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	field_from_args(fcinfo, 2, &field);

	memset(&cxt, 0, sizeof(cxt));
	cxt.policy = VSTREAM_INVALID_ERROR;
	if (!PG_ARGISNULL(5))
	{
		char	   *policy = text_to_cstring(PG_GETARG_TEXT_PP(5));

		if (pg_strcasecmp(policy, "null") == 0)
			cxt.policy = VSTREAM_INVALID_NULL;
		else if (pg_strcasecmp(policy, "error") != 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid value for invalid_values: \"%s\"", policy),
					 errhint("Valid values are \"error\" and \"null\".")));
	}

	typesql = convert_pg_type_sql(&field);
#if PG_VERSION_NUM >= 160000
	parseTypeString(typesql, &typid, &typmod, NULL);
#else
	parseTypeString(typesql, &typid, &typmod, false);
#endif
	convert_column_init(&col, &field, typid, typmod);

	if (PG_ARGISNULL(1))
		PG_RETURN_NULL();
	value = PG_GETARG_BYTEA_PP(1);
	result = convert_cell(&col, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value),
						  &isnull, &cxt);
	if (isnull)
		PG_RETURN_NULL();
	getTypeOutputInfo(typid, &typoutput, &typisvarlena);
	PG_RETURN_TEXT_P(cstring_to_text(OidOutputFunctionCall(typoutput, result)));
}
