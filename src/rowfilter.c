/*-------------------------------------------------------------------------
 *
 * rowfilter.c
 *	  Comparison row filters: validation and the apply-side re-check.
 *
 * Vitess's VStream rule filters (vstreamer/planbuilder.go analyzeWhere)
 * accept conditions joined by AND, each one of: "column op literal" with
 * =, !=/<>, <, <=, >, >=; "column IN (literals)"; "column [NOT] BETWEEN
 * literal AND literal"; "column IS [NOT] NULL"; in_keyrange(...).  The
 * vstreamer evaluates them on both images of a binlog row change and, for
 * a condition without in_keyrange(), sends both images when either meets
 * it (vstreamer.go processRowEvent): an update that moves a row out of the
 * filter arrives as a plain update whose after image fails the condition.
 * The copy phase sends only the rows that meet it (rowstreamer: the
 * condition is pushed down to MySQL and evaluated again by Vitess).
 *
 * So the apply evaluates the condition itself on the after image of every
 * update: failing, the row is deleted by its before image's key; passing
 * while the before image fails, the after image is upserted.  Inserts are
 * checked too (defensively).  in_keyrange() terms are left to Vitess: with
 * a key range in the filter Vitess sends exactly the images that meet the
 * whole condition.
 *
 * The apply must get the same result as Vitess, which compares values with
 * evalengine.NullsafeCompare: numbers numerically (an integer or DECIMAL
 * against an integer or decimal literal exactly, anything against a DOUBLE
 * or a literal in exponent notation as float64), strings with the column's
 * collation (utf8mb4_0900_ai_ci ignores case, accents and trailing spaces).
 * Only what the apply reproduces exactly is accepted: comparisons of
 * integer, DECIMAL and DOUBLE columns with numbers, of DATE and DATETIME
 * columns with 'YYYY-MM-DD' (and 'YYYY-MM-DD HH:MM:SS' for DATETIME; Vitess
 * parses the string and compares date, time, then fraction, as MySQL
 * does: the apply compares texts normalized to "YYYY-MM-DD
 * HH:MM:SS.ffffff"), and IS [NOT] NULL of any column.  A NULL value fails every comparison, IN and BETWEEN (SQL's
 * three-valued logic, as in Vitess).  The columns the condition uses must
 * be streamed (not left out by a column filter): the apply needs their
 * values.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/rowfilter.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/numeric.h"

#include "rowfilter.h"
#include "textsafe.h"
#include "vstream.h"

typedef enum RowFilterOp
{
	RF_EQ,
	RF_NE,
	RF_LT,
	RF_LE,
	RF_GT,
	RF_GE,
	RF_IN,
	RF_BETWEEN,
	RF_NOT_BETWEEN,
	RF_IS_NULL,
	RF_IS_NOT_NULL,
	RF_KEYRANGE
} RowFilterOp;

/* What a literal of a row filter is. */
typedef enum LiteralKind
{
	LIT_NUMBER,					/* integer or decimal: 100, 50.5, .5 */
	LIT_EXPONENT,				/* 1e3: a float64 for Vitess */
	LIT_DATE,					/* 'YYYY-MM-DD' */
	LIT_DATETIME				/* 'YYYY-MM-DD HH:MM:SS' */
} LiteralKind;

/* One conjunct of a row filter. */
typedef struct RowFilterTerm
{
	RowFilterOp op;
	char	   *column;			/* NULL for RF_KEYRANGE */
	int			nvalues;
	char	  **values;			/* literals: numbers as written, dates as
								 * "YYYY-MM-DD HH:MM:SS.000000" */
	LiteralKind *kinds;			/* per value */
	char	   *text;			/* the conjunct as written, for messages */
} RowFilterTerm;

struct RowFilter
{
	List	   *terms;			/* RowFilterTerm * */
};

/* A term resolved against a FIELD event, for the apply. */
typedef struct BoundTerm
{
	RowFilterOp op;
	int			field;			/* index in the FIELD event */
	bool		as_double;		/* compare as float64 */
	bool		as_datetime;	/* compare normalized date/time texts */
	int			nvalues;
	Datum	   *num;			/* numeric values */
	double	   *dbl;			/* float64 values */
	char	  **dt;				/* normalized date/time values */
} BoundTerm;

typedef struct RowFilterBinding
{
	int			nterms;
	BoundTerm  *terms;
	const char **vals;			/* scratch: decoded image */
	int		   *lens;			/* -1 NULL, -2 absent from a partial image */
	const char **bvals;			/* scratch: decoded before image */
	int		   *blens;
} RowFilterBinding;

#define ROWFILTER_HINT "A row filter is conditions joined by AND, each one of: column = literal (or !=, <>, <, <=, >, >=), column IN (literals), column [NOT] BETWEEN literal AND literal, column IS [NOT] NULL, in_keyrange(...); a literal is a number, 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS'."

/* ---- parsing ---- */

typedef enum TokType
{
	TK_END,
	TK_IDENT,					/* bare word (also keywords) */
	TK_QIDENT,					/* `quoted` identifier */
	TK_NUMBER,
	TK_STRING,
	TK_OP,						/* = != <> < <= > >= - */
	TK_LPAREN,
	TK_RPAREN,
	TK_COMMA,
	TK_OTHER
} TokType;

typedef struct Token
{
	TokType		type;
	char	   *text;			/* identifiers unquoted */
	int			start;			/* byte offsets in the condition */
	int			end;
} Token;

typedef struct Parser
{
	const char *cond;
	Token	   *toks;
	int			ntoks;
	int			pos;
} Parser;

static void refuse(Parser *p, const char *what, const char *detail) pg_attribute_noreturn();
static void syntax_error(Parser *p, const char *what) pg_attribute_noreturn();

static void
refuse(Parser *p, const char *what, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("row filter \"%s\" is not supported: %s", p->cond, what),
			 detail ? errdetail("%s", detail) : 0,
			 errhint("%s", ROWFILTER_HINT)));
}

static void
syntax_error(Parser *p, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid row filter \"%s\": %s", p->cond, what),
			 errhint("Give the condition of a WHERE clause, without WHERE and without ';'.")));
}

static bool
ident_char(unsigned char c)
{
	return isalnum(c) || c == '_' || c == '$' || c >= 0x80;
}

static void
tokenize(Parser *p)
{
	const char *s = p->cond;
	int			i = 0;
	int			cap = 16;

	p->toks = palloc(sizeof(Token) * cap);
	p->ntoks = 0;
	for (;;)
	{
		Token		t;
		unsigned char c;

		while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
			i++;
		if (p->ntoks + 1 >= cap)
		{
			cap *= 2;
			p->toks = repalloc(p->toks, sizeof(Token) * cap);
		}
		t.start = i;
		t.text = NULL;
		c = (unsigned char) s[i];
		if (c == '\0')
		{
			t.type = TK_END;
			t.end = i;
			p->toks[p->ntoks++] = t;
			return;
		}
		if (isdigit(c) || (c == '.' && isdigit((unsigned char) s[i + 1])))
		{
			/* greedy: a malformed number (0x1f, 1e) is caught below */
			while (ident_char((unsigned char) s[i]) || s[i] == '.' ||
				   ((s[i] == '+' || s[i] == '-') && (s[i - 1] == 'e' || s[i - 1] == 'E')))
				i++;
			t.type = TK_NUMBER;
		}
		else if (ident_char(c))
		{
			while (ident_char((unsigned char) s[i]))
				i++;
			t.type = TK_IDENT;
		}
		else if (c == '`' || c == '\'' || c == '"')
		{
			StringInfoData buf;
			char		q = (char) c;

			initStringInfo(&buf);
			for (i++;; i++)
			{
				if (s[i] == '\0')
				{
					p->pos = p->ntoks;
					syntax_error(p, "unterminated quoted string or identifier");
				}
				if (q != '`' && s[i] == '\\' && s[i + 1] != '\0')
				{
					appendStringInfoChar(&buf, s[++i]);
					continue;
				}
				if (s[i] == q)
				{
					if (s[i + 1] == q)
					{
						appendStringInfoChar(&buf, q);
						i++;
						continue;
					}
					i++;
					break;
				}
				appendStringInfoChar(&buf, s[i]);
			}
			t.type = (q == '`') ? TK_QIDENT : TK_STRING;
			t.text = buf.data;
		}
		else if (c == '(' || c == ')' || c == ',')
		{
			t.type = c == '(' ? TK_LPAREN : c == ')' ? TK_RPAREN : TK_COMMA;
			i++;
		}
		else if (c == '=' || c == '-')
		{
			t.type = TK_OP;
			i++;
		}
		else if (c == '<' || c == '>' || c == '!')
		{
			i++;
			if (s[i] == '=' || (c == '<' && s[i] == '>'))
				i++;
			if (c == '<' && s[i - 1] == '=' && s[i] == '>')
				i++;			/* <=>, refused below */
			t.type = TK_OP;
		}
		else
		{
			i++;
			while ((unsigned char) s[i] >= 0x80 && ((unsigned char) s[i] & 0xC0) == 0x80)
				i++;
			t.type = TK_OTHER;
		}
		t.end = i;
		if (t.text == NULL)
			t.text = pnstrdup(s + t.start, i - t.start);
		p->toks[p->ntoks++] = t;
	}
}

static Token *
peek_tok(Parser *p)
{
	return &p->toks[p->pos];
}

static Token *
next_tok(Parser *p)
{
	Token	   *t = &p->toks[p->pos];

	if (t->type != TK_END)
		p->pos++;
	return t;
}

static bool
is_word(Token *t, const char *word)
{
	return t->type == TK_IDENT && pg_strcasecmp(t->text, word) == 0;
}

/* Is s a MySQL number literal: digits[.digits] or .digits, [e[+-]digits]? */
static bool
valid_number(const char *s, bool *exponent)
{
	bool		digits = false;

	*exponent = false;
	while (isdigit((unsigned char) *s))
		s++, digits = true;
	if (*s == '.')
	{
		s++;
		while (isdigit((unsigned char) *s))
			s++, digits = true;
	}
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E')
	{
		*exponent = true;
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!isdigit((unsigned char) *s))
			return false;
		while (isdigit((unsigned char) *s))
			s++;
	}
	return *s == '\0';
}

static bool
days_ok(int y, int m, int d)
{
	static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (y < 1 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	return !(m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/*
 * Is s 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS' (a real date and time)?  Sets
 * *with_time.
 */
static bool
valid_datetime(const char *s, bool *with_time)
{
	int			y,
				mo,
				d,
				h,
				mi,
				sec;
	int			n = 0;

	*with_time = false;
	if (strlen(s) == 10 &&
		sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) == 3 && n == 10 &&
		isdigit((unsigned char) s[0]) && isdigit((unsigned char) s[5]) &&
		isdigit((unsigned char) s[8]))
		return days_ok(y, mo, d);
	if (strlen(s) == 19 && s[10] == ' ' &&
		sscanf(s, "%4d-%2d-%2d %2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 &&
		n == 19 && isdigit((unsigned char) s[0]) && isdigit((unsigned char) s[5]) &&
		isdigit((unsigned char) s[8]) && isdigit((unsigned char) s[11]) &&
		isdigit((unsigned char) s[14]) && isdigit((unsigned char) s[17]))
	{
		*with_time = true;
		return days_ok(y, mo, d) && h <= 23 && mi <= 59 && sec <= 59;
	}
	return false;
}

/*
 * A date/time as "YYYY-MM-DD HH:MM:SS.ffffff", from MySQL's text of a DATE
 * or DATETIME value (or a literal): these compare as Vitess compares the
 * values (date, then time, then fraction), byte by byte.  NULL if the text
 * is not in that form.
 */
static char *
normalize_datetime(const char *s, int len)
{
	char		buf[27];
	int			i;

	if (len == 10)
	{
		memcpy(buf, s, 10);
		memcpy(buf + 10, " 00:00:00.000000", 16);
	}
	else if (len == 19 || (len > 20 && len <= 26 && s[19] == '.'))
	{
		memcpy(buf, s, len);
		if (len == 19)
			buf[len++] = '.';
		for (i = len; i < 26; i++)
			buf[i] = '0';
	}
	else
		return NULL;
	buf[26] = '\0';
	for (i = 0; i < 26; i++)
	{
		bool		sep = (i == 4 || i == 7) ? buf[i] == '-' :
			(i == 10) ? buf[i] == ' ' :
			(i == 13 || i == 16) ? buf[i] == ':' :
			(i == 19) ? buf[i] == '.' : isdigit((unsigned char) buf[i]);

		if (!sep)
			return NULL;
	}
	return pstrdup(buf);
}

/* A literal: a number as text, or a date/time normalized. */
static char *
parse_literal(Parser *p, const char *column, LiteralKind *kind)
{
	Token	   *t = next_tok(p);
	bool		flag;

	if (t->type == TK_OP && strcmp(t->text, "-") == 0)
		refuse(p, psprintf("a negative number compared with column \"%s\"", column),
			   "Vitess's VStream filters take a literal there, and a negative number is a minus applied to one (Vitess answers \"unexpected: -1\").");
	if (t->type == TK_NUMBER)
	{
		if (!valid_number(t->text, &flag))
			refuse(p, psprintf("\"%s\" is not a decimal number", t->text), NULL);
		*kind = flag ? LIT_EXPONENT : LIT_NUMBER;
		return t->text;
	}
	if (t->type == TK_STRING && valid_datetime(t->text, &flag))
	{
		*kind = flag ? LIT_DATETIME : LIT_DATE;
		return normalize_datetime(t->text, strlen(t->text));
	}
	if (t->type == TK_STRING && strlen(t->text) >= 5 && isdigit((unsigned char) t->text[0]) &&
		strspn(t->text, "0123456789") == 4 && t->text[4] == '-')
		refuse(p, psprintf("'%s' is not a date 'YYYY-MM-DD' or a date-time 'YYYY-MM-DD HH:MM:SS'", t->text),
			   "Dates must be valid and written in full; fractions of seconds are not supported.");
	if (t->type == TK_STRING)
		refuse(p, psprintf("column \"%s\" is compared with the string '%s'", column, t->text),
			   "Vitess compares strings with the column's collation (utf8mb4_0900_ai_ci ignores case, accents and trailing spaces), which the apply cannot reproduce exactly to remove a row updated out of the filter.");
	if (is_word(t, "null"))
		refuse(p, psprintf("column \"%s\" is compared with NULL", column),
			   "A comparison with NULL is never true; use IS NULL or IS NOT NULL.");
	if (t->type == TK_END)
		syntax_error(p, psprintf("a number is missing after column \"%s\"", column));
	refuse(p, psprintf("\"%s\" is not a number or a date (a column is compared with a literal)",
					   t->text), NULL);
	return NULL;				/* keep compiler quiet */
}

/* Parse a literal and add it to the term's values. */
static void
add_literal(Parser *p, RowFilterTerm *term)
{
	LiteralKind kind = LIT_NUMBER;
	char	   *v = parse_literal(p, term->column, &kind);

	term->values = term->nvalues == 0 ? palloc(sizeof(char *)) :
		repalloc(term->values, sizeof(char *) * (term->nvalues + 1));
	term->kinds = term->nvalues == 0 ? palloc(sizeof(LiteralKind)) :
		repalloc(term->kinds, sizeof(LiteralKind) * (term->nvalues + 1));
	term->values[term->nvalues] = v;
	term->kinds[term->nvalues] = kind;
	term->nvalues++;
}

static RowFilterTerm *
parse_term(Parser *p)
{
	RowFilterTerm *term = palloc0(sizeof(RowFilterTerm));
	int			first = p->pos;
	Token	   *t = next_tok(p);
	Token	   *op;

	if (t->type == TK_IDENT && pg_strcasecmp(t->text, "in_keyrange") == 0 &&
		peek_tok(p)->type == TK_LPAREN)
	{
		int			depth = 0;

		/* its arguments are Vitess's business: it checks them */
		do
		{
			t = next_tok(p);
			if (t->type == TK_LPAREN)
				depth++;
			else if (t->type == TK_RPAREN)
				depth--;
			else if (t->type == TK_END)
				syntax_error(p, "in_keyrange( is not closed");
		} while (depth > 0);
		term->op = RF_KEYRANGE;
		goto done;
	}
	if (t->type == TK_LPAREN)
		refuse(p, "parentheses around a condition", NULL);
	if (t->type == TK_IDENT && peek_tok(p)->type == TK_LPAREN)
		refuse(p, psprintf("function %s()", t->text),
			   "Vitess evaluates no function in a VStream filter but in_keyrange().");
	if (is_word(t, "not"))
		refuse(p, "NOT", "Vitess's VStream filters have no NOT (but NOT BETWEEN and IS NOT NULL).");
	if (t->type == TK_END)
		syntax_error(p, "a condition is missing");
	if (t->type != TK_IDENT && t->type != TK_QIDENT)
		refuse(p, psprintf("a condition starting with \"%s\" (the column must come first)", t->text), NULL);
	term->column = t->text;
	if (peek_tok(p)->type == TK_OTHER && strcmp(peek_tok(p)->text, ".") == 0)
		refuse(p, psprintf("a qualified column name (%s.)", t->text), NULL);

	op = next_tok(p);
	if (op->type == TK_OP)
	{
		if (strcmp(op->text, "=") == 0)
			term->op = RF_EQ;
		else if (strcmp(op->text, "!=") == 0 || strcmp(op->text, "<>") == 0)
			term->op = RF_NE;
		else if (strcmp(op->text, "<") == 0)
			term->op = RF_LT;
		else if (strcmp(op->text, "<=") == 0)
			term->op = RF_LE;
		else if (strcmp(op->text, ">") == 0)
			term->op = RF_GT;
		else if (strcmp(op->text, ">=") == 0)
			term->op = RF_GE;
		else
			refuse(p, psprintf("operator %s", op->text), NULL);
		add_literal(p, term);
	}
	else if (is_word(op, "is"))
	{
		bool		not = false;

		if (is_word(peek_tok(p), "not"))
		{
			next_tok(p);
			not = true;
		}
		t = next_tok(p);
		if (!is_word(t, "null"))
			refuse(p, psprintf("IS %s%s", not ? "NOT " : "", t->text), NULL);
		term->op = not ? RF_IS_NOT_NULL : RF_IS_NULL;
	}
	else if (is_word(op, "in") || (is_word(op, "not") && is_word(peek_tok(p), "in")))
	{
		if (is_word(op, "not"))
			refuse(p, "NOT IN", "Vitess's VStream filters support IN but not NOT IN.");
		if (next_tok(p)->type != TK_LPAREN)
			syntax_error(p, "IN must be followed by a list in parentheses");
		for (;;)
		{
			add_literal(p, term);
			t = next_tok(p);
			if (t->type == TK_RPAREN)
				break;
			if (t->type != TK_COMMA)
				syntax_error(p, "IN list: a comma or ) expected");
		}
		term->op = RF_IN;
	}
	else if (is_word(op, "between") || (is_word(op, "not") && is_word(peek_tok(p), "between")))
	{
		if (is_word(op, "not"))
		{
			next_tok(p);
			term->op = RF_NOT_BETWEEN;
		}
		else
			term->op = RF_BETWEEN;
		add_literal(p, term);
		if (!is_word(next_tok(p), "and"))
			syntax_error(p, "BETWEEN needs AND");
		add_literal(p, term);
	}
	else if (is_word(op, "like") || (is_word(op, "not") && is_word(peek_tok(p), "like")))
		refuse(p, "LIKE", "Vitess's VStream filters have no LIKE.");
	else if (op->type == TK_END)
		syntax_error(p, psprintf("an operator is missing after column \"%s\"", term->column));
	else
		refuse(p, psprintf("\"%s\" after column \"%s\"", op->text, term->column), NULL);

done:
	term->text = pnstrdup(p->cond + p->toks[first].start,
						  p->toks[p->pos - 1].end - p->toks[first].start);
	return term;
}

RowFilter *
rowfilter_parse(const char *condition)
{
	Parser		p;
	RowFilter  *rf = palloc0(sizeof(RowFilter));

	p.cond = condition;
	p.pos = 0;
	tokenize(&p);
	for (;;)
	{
		Token	   *t;

		rf->terms = lappend(rf->terms, parse_term(&p));
		t = next_tok(&p);
		if (t->type == TK_END)
			break;
		if (is_word(t, "and"))
			continue;
		if (is_word(t, "or") || strcmp(t->text, "|") == 0)
			refuse(&p, "OR", "Vitess's VStream filters support only conditions joined by AND.");
		if (strcmp(t->text, "&") == 0)
			refuse(&p, "&&", "Write AND.");
		refuse(&p, psprintf("\"%s\" after \"%s\"", t->text,
							((RowFilterTerm *) llast(rf->terms))->text), NULL);
	}
	return rf;
}

/* ---- checking against the source's columns ---- */

static const char *
field_type_name(Query__Field *f)
{
	const ProtobufCEnumValue *v;

	if (f->column_type && f->column_type[0])
		return f->column_type;
	v = protobuf_c_enum_descriptor_get_value(&query__type__descriptor, f->type);
	return v ? v->name : "unknown";
}

/* Column types whose comparisons with numbers the apply reproduces exactly. */
static bool
numeric_type(Query__Type t)
{
	switch (t)
	{
		case QUERY__TYPE__INT8:
		case QUERY__TYPE__UINT8:
		case QUERY__TYPE__INT16:
		case QUERY__TYPE__UINT16:
		case QUERY__TYPE__INT24:
		case QUERY__TYPE__UINT24:
		case QUERY__TYPE__INT32:
		case QUERY__TYPE__UINT32:
		case QUERY__TYPE__INT64:
		case QUERY__TYPE__UINT64:
		case QUERY__TYPE__DECIMAL:
		case QUERY__TYPE__FLOAT64:
			return true;
		default:
			return false;
	}
}

static int
find_field(Query__Field **fields, int nfields, const char *name)
{
	int			i;

	for (i = 0; i < nfields; i++)
		if (fields[i]->name && pg_strcasecmp(fields[i]->name, name) == 0)
			return i;
	return -1;
}

#define TYPE_HINT "Compare an integer, DECIMAL or DOUBLE column with a number, a DATE column with 'YYYY-MM-DD', a DATETIME column with 'YYYY-MM-DD' or 'YYYY-MM-DD HH:MM:SS', or use IS [NOT] NULL or in_keyrange()."

/* A literal as written (dates without the normalization's zeros). */
static char *
literal_text(RowFilterTerm *term, int i)
{
	switch (term->kinds[i])
	{
		case LIT_DATE:
			return psprintf("'%.10s'", term->values[i]);
		case LIT_DATETIME:
			return psprintf("'%.19s'", term->values[i]);
		default:
			return term->values[i];
	}
}

/*
 * Can the apply re-check "term" on a column of type t exactly as Vitess
 * evaluates it?  NULL if so, else why not; *value is the index of the
 * literal at fault, or -1 when the column's type is.
 */
static const char *
term_type_problem(RowFilterTerm *term, Query__Type t, int *value)
{
	int			i;

	*value = -1;
	if (term->op == RF_IS_NULL || term->op == RF_IS_NOT_NULL)
		return NULL;
	if (t == QUERY__TYPE__FLOAT32)
		return "For a FLOAT column, MySQL compares the exact single-precision value during the copy but Vitess its shortest decimal form in the binlog: a row near the constant could be copied and not replicated, or the reverse.";
	if (numeric_type(t))
	{
		for (i = 0; i < term->nvalues; i++)
		{
			*value = i;
			if (term->kinds[i] == LIT_DATE || term->kinds[i] == LIT_DATETIME)
				return "Vitess compares a number with a string as float64 numbers.";
			if (term->kinds[i] == LIT_EXPONENT && t != QUERY__TYPE__FLOAT64)
				return "A number in exponent notation is a float64 for Vitess, and so is the comparison: write it as a decimal (1500 rather than 1.5e3).";
		}
		*value = -1;
		return NULL;
	}
	if (t == QUERY__TYPE__DATE || t == QUERY__TYPE__DATETIME)
	{
		for (i = 0; i < term->nvalues; i++)
		{
			*value = i;
			if (term->kinds[i] == LIT_NUMBER || term->kinds[i] == LIT_EXPONENT)
				return "Vitess compares a date with a number as numbers (20240131 for 2024-01-31).";
			if (term->kinds[i] == LIT_DATETIME && t == QUERY__TYPE__DATE)
				return "MySQL and Vitess may compare a DATE column with a date-time differently (MySQL can cut the time off); compare a DATE column with 'YYYY-MM-DD'.";
		}
		*value = -1;
		return NULL;
	}
	if (t == QUERY__TYPE__TIMESTAMP)
		return "MySQL compares a TIMESTAMP with a constant in its session's time zone, Vitess in UTC.";
	return "The apply re-evaluates the condition to remove rows updated out of the filter; it reproduces Vitess's comparisons exactly only for integer, DECIMAL and DOUBLE columns against numbers and DATE and DATETIME columns against dates.";
}

void
rowfilter_check_fields(RowFilter *rf, const char *table, Query__Field **fields,
					   int nfields, List *streamed)
{
	ListCell   *lc;

	foreach(lc, rf->terms)
	{
		RowFilterTerm *term = lfirst(lc);
		Query__Field *f;
		const char *detail;
		int			value;
		int			fi;

		if (term->op == RF_KEYRANGE)
			continue;
		fi = find_field(fields, nfields, term->column);
		if (fi < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("source table \"%s\" has no column \"%s\"", table, term->column)));
		f = fields[fi];
		if (streamed != NIL)
		{
			bool		found = false;
			ListCell   *lc2;

			foreach(lc2, streamed)
				if (pg_strcasecmp(lfirst(lc2), f->name) == 0)
					found = true;
			if (!found)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("row filter column \"%s\" is left out by the column filter of \"%s\"",
								f->name, table),
						 errdetail("The apply evaluates the row filter on every row image, to remove a row updated out of it: the column's values must be streamed."),
						 errhint("Keep column \"%s\" in include_columns (or out of exclude_columns).", f->name)));
		}
		if (term->op == RF_IS_NULL || term->op == RF_IS_NOT_NULL)
			continue;
		detail = term_type_problem(term, f->type, &value);
		if (detail && value >= 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("row filter \"%s\" compares column \"%s\" of type %s with %s, which is not supported",
							term->text, f->name, field_type_name(f),
							literal_text(term, value)),
					 errdetail("%s", detail),
					 errhint("%s", TYPE_HINT)));
		if (detail)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("row filter \"%s\" compares column \"%s\" of type %s, which is not supported",
							term->text, f->name, field_type_name(f)),
					 errdetail("%s", detail),
					 errhint("%s", TYPE_HINT)));
	}
}

/* ---- the apply ---- */

/* The table's stored row filter, or NULL (in a transaction). */
static char *
load_row_filter(int32 stream_id, const char *table)
{
	Oid			types[2] = {INT4OID, TEXTOID};
	Datum		values[2];
	MemoryContext outer = CurrentMemoryContext;
	char	   *result = NULL;

	values[0] = Int32GetDatum(stream_id);
	values[1] = CStringGetTextDatum(table);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT row_filter FROM vstream_fdw.table_filter "
							  "WHERE stream_id = $1 AND source_table = $2 AND row_filter IS NOT NULL",
							  2, types, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read vstream_fdw.table_filter");
	if (SPI_processed > 0)
	{
		MemoryContext old = MemoryContextSwitchTo(outer);

		result = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	return result;
}

/* Resolve the table's filter against the mapping's FIELD event. */
static RowFilterBinding *
bind_filter(ApplyState *state, ApplyMapping *m)
{
	char	   *cond = load_row_filter(state->stream_id, m->table);
	RowFilter  *rf;
	RowFilterBinding *b;
	MemoryContext old;
	ListCell   *lc;
	int			n = 0;

	if (cond == NULL)
		return NULL;
	rf = rowfilter_parse(cond);
	foreach(lc, rf->terms)
		if (((RowFilterTerm *) lfirst(lc))->op != RF_KEYRANGE)
			n++;
	if (n == 0)
		return NULL;			/* key ranges only: Vitess is exact */

	old = MemoryContextSwitchTo(m->cxt);
	b = palloc0(sizeof(RowFilterBinding));
	b->terms = palloc0(sizeof(BoundTerm) * n);
	b->vals = palloc(sizeof(char *) * Max(m->nfields, 1));
	b->lens = palloc(sizeof(int) * Max(m->nfields, 1));
	b->bvals = palloc(sizeof(char *) * Max(m->nfields, 1));
	b->blens = palloc(sizeof(int) * Max(m->nfields, 1));
	foreach(lc, rf->terms)
	{
		RowFilterTerm *term = lfirst(lc);
		BoundTerm  *bt;
		int			i;

		if (term->op == RF_KEYRANGE)
			continue;
		bt = &b->terms[b->nterms++];
		bt->op = term->op;
		bt->field = find_field(m->fields, m->nfields, term->column);
		if (bt->field < 0)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_COLUMN),
					 errmsg("the row filter of table \"%s\" uses column \"%s\", which shard %s/%s does not stream",
							m->table, term->column, m->keyspace, m->shard),
					 errhint("Set the table's filter again with vstream_fdw.set_table_filter().")));
		if (term_type_problem(term, m->fields[bt->field]->type, &i) != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("the row filter of table \"%s\" compares column \"%s\", which shard %s/%s now streams as %s",
							m->table, term->column, m->keyspace, m->shard,
							field_type_name(m->fields[bt->field])),
					 errdetail("%s", term_type_problem(term, m->fields[bt->field]->type, &i)),
					 errhint("Set the table's filter again with vstream_fdw.set_table_filter().")));
		bt->as_double = m->fields[bt->field]->type == QUERY__TYPE__FLOAT64;
		bt->as_datetime = m->fields[bt->field]->type == QUERY__TYPE__DATE ||
			m->fields[bt->field]->type == QUERY__TYPE__DATETIME;
		for (i = 0; i < term->nvalues; i++)
			if (term->kinds[i] == LIT_EXPONENT)
				bt->as_double = true;
		bt->nvalues = term->nvalues;
		bt->num = palloc(sizeof(Datum) * Max(term->nvalues, 1));
		bt->dbl = palloc(sizeof(double) * Max(term->nvalues, 1));
		bt->dt = palloc(sizeof(char *) * Max(term->nvalues, 1));
		for (i = 0; i < term->nvalues; i++)
		{
			if (bt->as_datetime)
				bt->dt[i] = pstrdup(term->values[i]);
			else if (bt->as_double)
				bt->dbl[i] = strtod(term->values[i], NULL);
			else
				bt->num[i] = DirectFunctionCall3(numeric_in,
												 CStringGetDatum(term->values[i]),
												 ObjectIdGetDatum(InvalidOid),
												 Int32GetDatum(-1));
		}
	}
	MemoryContextSwitchTo(old);
	return b;
}

static inline bool
bit_set(const Binlogdata__RowChange__Bitmap *b, int i)
{
	return (size_t) (i / 8) < b->cols.len &&
		((b->cols.data[i / 8] >> (i % 8)) & 1) != 0;
}

/*
 * Decode an image into vals/lens (length -2: absent from a partial image).
 * False if its shape is not one the apply knows (then it is applied as it
 * comes and the apply reports the problem).
 */
static bool
decode(ApplyMapping *m, const Query__Row *row, const Binlogdata__RowChange__Bitmap *cols,
	   const char **vals, int *lens)
{
	int			nf = m->nfields;
	bool		partial = false;
	int			npresent = 0;
	int			i;

	if (row == NULL)
		return false;
	if (cols != NULL && cols->cols.len > 0)
		for (i = 0; i < nf; i++)
			if (!bit_set(cols, i))
				partial = true;
	if ((int) row->n_lengths == nf)
	{
		vstream_decode_row(row, nf, vals, lens);
		if (partial)
			for (i = 0; i < nf; i++)
				if (!bit_set(cols, i))
					lens[i] = -2;
		return true;
	}
	if (!partial)
		return false;
	for (i = 0; i < nf; i++)
		if (bit_set(cols, i))
			npresent++;
	if ((int) row->n_lengths != npresent)
		return false;
	{
		const char **v = palloc(sizeof(char *) * Max(npresent, 1));
		int		   *l = palloc(sizeof(int) * Max(npresent, 1));
		int			j = 0;

		vstream_decode_row(row, npresent, v, l);
		for (i = 0; i < nf; i++)
		{
			if (bit_set(cols, i))
			{
				vals[i] = v[j];
				lens[i] = l[j];
				j++;
			}
			else
				lens[i] = -2;
		}
	}
	return true;
}

/* Compare a value (MySQL text of the column) with the term's value k. */
static int
compare_value(BoundTerm *bt, const char *val, int len, int k)
{
	char	   *s;
	int			r;

	if (bt->as_datetime)
	{
		s = normalize_datetime(val, len);
		if (s == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
					 errmsg("row filter: \"%s\" is not a MySQL date or date-time",
							text_make_valid(val, len))));
		r = strcmp(s, bt->dt[k]);
		pfree(s);
		return r < 0 ? -1 : r > 0 ? 1 : 0;
	}
	s = pnstrdup(val, len);
	if (bt->as_double)
	{
		double		d = strtod(s, NULL);

		r = d < bt->dbl[k] ? -1 : d > bt->dbl[k] ? 1 : 0;
	}
	else
	{
		Datum		num = DirectFunctionCall3(numeric_in, CStringGetDatum(s),
											  ObjectIdGetDatum(InvalidOid),
											  Int32GetDatum(-1));

		r = DatumGetInt32(DirectFunctionCall2(numeric_cmp, num, bt->num[k]));
	}
	pfree(s);
	return r;
}

typedef enum
{
	RF_FAIL,
	RF_PASS,
	RF_UNKNOWN					/* a column the condition needs is absent */
} RowFilterResult;

static RowFilterResult
eval_term(BoundTerm *bt, const char *val, int len)
{
	int			k;

	if (len == -2)
		return RF_UNKNOWN;
	if (bt->op == RF_IS_NULL)
		return len < 0 ? RF_PASS : RF_FAIL;
	if (bt->op == RF_IS_NOT_NULL)
		return len >= 0 ? RF_PASS : RF_FAIL;
	/* SQL's three-valued logic, as Vitess: NULL meets no comparison */
	if (len < 0)
		return RF_FAIL;
	switch (bt->op)
	{
		case RF_EQ:
			return compare_value(bt, val, len, 0) == 0 ? RF_PASS : RF_FAIL;
		case RF_NE:
			return compare_value(bt, val, len, 0) != 0 ? RF_PASS : RF_FAIL;
		case RF_LT:
			return compare_value(bt, val, len, 0) < 0 ? RF_PASS : RF_FAIL;
		case RF_LE:
			return compare_value(bt, val, len, 0) <= 0 ? RF_PASS : RF_FAIL;
		case RF_GT:
			return compare_value(bt, val, len, 0) > 0 ? RF_PASS : RF_FAIL;
		case RF_GE:
			return compare_value(bt, val, len, 0) >= 0 ? RF_PASS : RF_FAIL;
		case RF_IN:
			for (k = 0; k < bt->nvalues; k++)
				if (compare_value(bt, val, len, k) == 0)
					return RF_PASS;
			return RF_FAIL;
		case RF_BETWEEN:
			return (compare_value(bt, val, len, 0) >= 0 &&
					compare_value(bt, val, len, 1) <= 0) ? RF_PASS : RF_FAIL;
		case RF_NOT_BETWEEN:
			return (compare_value(bt, val, len, 0) < 0 ||
					compare_value(bt, val, len, 1) > 0) ? RF_PASS : RF_FAIL;
		default:
			elog(ERROR, "unexpected row filter operator %d", (int) bt->op);
	}
	return RF_FAIL;				/* keep compiler quiet */
}

/*
 * Evaluate the filter on an image.  A column absent from a partial after
 * image has its value from the before image ("before_ok": bvals/blens hold
 * the decoded before image).
 */
static RowFilterResult
eval_image(RowFilterBinding *b, bool before_ok)
{
	RowFilterResult result = RF_PASS;
	int			i;

	for (i = 0; i < b->nterms; i++)
	{
		BoundTerm  *bt = &b->terms[i];
		const char *v = b->vals[bt->field];
		int			l = b->lens[bt->field];
		RowFilterResult r;

		if (l == -2 && before_ok)
		{
			v = b->bvals[bt->field];
			l = b->blens[bt->field];
		}
		r = eval_term(bt, v, l);
		if (r == RF_FAIL)
			return RF_FAIL;
		if (r == RF_UNKNOWN)
			result = RF_UNKNOWN;
	}
	return result;
}

RowFilterAction
rowfilter_action(ApplyState *state, ApplyMapping *m, const Binlogdata__RowChange *rc)
{
	RowFilterBinding *b;
	bool		before_ok = false;
	RowFilterResult after;
	RowFilterResult before;
	bool		after_partial = false;
	int			i;

	if (!m->rowfilter_bound)
	{
		m->rowfilter = bind_filter(state, m);
		m->rowfilter_bound = true;
	}
	b = m->rowfilter;
	if (b == NULL || rc->after == NULL)
		return ROWFILTER_APPLY;

	if (rc->before != NULL)
	{
		before_ok = decode(m, rc->before, NULL, b->bvals, b->blens);
		if (before_ok)
			for (i = 0; i < b->nterms; i++)
				if (b->blens[b->terms[i].field] == -2)
					before_ok = false;
	}
	if (!decode(m, rc->after, rc->data_columns, b->vals, b->lens))
		return ROWFILTER_APPLY;
	for (i = 0; i < m->nfields; i++)
		if (b->lens[i] == -2)
			after_partial = true;
	after = eval_image(b, before_ok);
	if (after == RF_UNKNOWN)
		return ROWFILTER_APPLY;
	if (rc->before == NULL)
		return after == RF_PASS ? ROWFILTER_APPLY : ROWFILTER_SKIP;
	if (after == RF_FAIL)
		return ROWFILTER_DELETE;
	/* an upsert of a partial after image would lose its absent columns */
	if (!before_ok || after_partial)
		return ROWFILTER_APPLY;
	/* evaluate the before image: copy it over the after image's scratch */
	memcpy(b->vals, b->bvals, sizeof(char *) * m->nfields);
	memcpy(b->lens, b->blens, sizeof(int) * m->nfields);
	before = eval_image(b, false);
	return before == RF_FAIL ? ROWFILTER_INSERT : ROWFILTER_APPLY;
}
