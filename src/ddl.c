/*-------------------------------------------------------------------------
 *
 * ddl.c
 *	  A parser for the MySQL DDL statements that reach a VStream.
 *
 * ddl_parse() turns the text of a DDL event (the statement as the MySQL or
 * MariaDB source executed it) into a DdlStatement: what the statement did
 * to which table.  See ddl.h for the result.
 *
 * Structure: a lexer that produces tokens on demand (with a few tokens of
 * lookahead), and a recursive-descent reader over them.  Token values are
 * not copied while lexing, so skipping a long part of a statement costs no
 * memory; nothing recurses with the nesting depth of the input (balanced
 * parentheses are skipped with a counter), so no input can exhaust the
 * stack.
 *
 * Lexical rules follow MySQL 8.0: whitespace; comments "-- " (two dashes
 * and a space or control character), "#" to the end of the line and C
 * style; MySQL's executable comments (slash, star, '!', an optional
 * version number) and MariaDB's ('M!') whose contents are read as
 * statement text (the source executed them);
 * backquoted identifiers with `` for a backquote; '...' and "..." strings
 * with backslash escapes and doubled quotes ("..." is also accepted where
 * an identifier is expected, for ANSI_QUOTES); X'..', 0x.., B'..', 0b..,
 * N'..' and _charset'...' literals; numbers; identifiers of letters,
 * digits, '_', '$' and any byte >= 0x80 (so multi-byte UTF-8 and invalid
 * UTF-8 alike), which may start with a digit.  Keywords match in any case
 * (ASCII); MySQL's reserved words are not accepted as unquoted names.
 *
 * The reader decides what kind of statement it has from its leading
 * keywords.  Statements that cannot change a mirrored table's rows or
 * columns (CREATE/DROP INDEX, VIEW, TRIGGER, ...) are classified from those
 * keywords alone: the source executed the statement, so it was valid.
 * CREATE TABLE, DROP TABLE, RENAME TABLE, TRUNCATE and ALTER TABLE are read
 * completely; inside ALTER TABLE each comma-separated clause is read on its
 * own, and a clause that is not understood becomes a DDL_ALTER_UNKNOWN
 * action (with a reason) while the others are still reported.  Anything
 * else, and any statement whose text does not follow the grammar, is
 * DDL_UNKNOWN with a reason.  No input raises an error.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/ddl.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"

#include "ddl.h"

/* ----------------------------------------------------------------
 * Lexer
 * ----------------------------------------------------------------
 */

typedef enum TokType
{
	T_EOF = 0,					/* end of the statement text */
	T_ERROR,					/* lexical error; sticky, like T_EOF */
	T_WORD,						/* unquoted identifier or keyword */
	T_QIDENT,					/* `backquoted` identifier */
	T_STRING,					/* '...' or "..." (also N'..') */
	T_NUMBER,					/* 12, 1.5, .5, 1e10 */
	T_HEX,						/* X'..', 0x.. */
	T_BIT,						/* B'..', 0b.. */
	T_PUNCT						/* any other single byte */
} TokType;

typedef struct Token
{
	TokType		type;
	size_t		start;			/* offset of the first byte */
	size_t		end;			/* offset just past the last byte */
	size_t		vstart;			/* T_STRING: offset of the opening quote */
} Token;

#define DDL_LOOKAHEAD 4

/* How much of a token or clause a reason quotes. */
#define DDL_QUOTE_BYTES 40

typedef struct DdlParser
{
	const char *src;
	size_t		len;
	size_t		pos;			/* lexer position */
	bool		in_exec;		/* inside an executable comment */
	TokType		last_type;		/* type of the last token lexed */
	char		last_punct;		/* ... and its byte, if T_PUNCT */
	size_t		last_end;		/* ... and its end */
	Token		la[DDL_LOOKAHEAD];	/* lookahead, la[0] is the next token */
	int			nla;
	size_t		prev_end;		/* end of the last consumed token */
	char	   *lex_error;		/* first lexical error */
	char	   *error;			/* first syntax error (reset per clause) */
} DdlParser;

static inline bool
is_ident_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9') || c == '_' || c == '$' || c >= 0x80;
}

static inline bool
is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static inline bool
is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
		c == '\v';
}

/*
 * Quote at most DDL_QUOTE_BYTES of s[0..n) for a reason, never cutting a
 * UTF-8 sequence in two.
 */
static char *
clip_text(const char *s, size_t n)
{
	size_t		cut;

	if (n <= DDL_QUOTE_BYTES)
		return psprintf("\"%.*s\"", (int) n, s);
	cut = DDL_QUOTE_BYTES;
	while (cut > 0 && ((unsigned char) s[cut] & 0xC0) == 0x80)
		cut--;
	return psprintf("\"%.*s...\"", (int) cut, s);
}

static void
lex_error(DdlParser *p, const char *what, size_t at)
{
	if (p->lex_error == NULL)
		p->lex_error = psprintf("%s at offset %zu", what, at);
}

/*
 * Skip whitespace and comments.  Returns false on an unterminated comment
 * (the error is recorded).
 */
static bool
skip_space(DdlParser *p)
{
	const char *s = p->src;

	for (;;)
	{
		unsigned char c = s[p->pos];

		if (p->pos >= p->len)
			return true;
		if (is_space(c))
			p->pos++;
		else if (c == '#' ||
				 (c == '-' && s[p->pos + 1] == '-' &&
				  (p->pos + 2 >= p->len ||
				   (unsigned char) s[p->pos + 2] <= ' ')))
		{
			while (p->pos < p->len && s[p->pos] != '\n')
				p->pos++;
		}
		else if (c == '/' && s[p->pos + 1] == '*')
		{
			size_t		start = p->pos;

			if (s[p->pos + 2] == '!' ||
				(s[p->pos + 2] == 'M' && s[p->pos + 3] == '!'))
			{
				/* executable comment: its contents are statement text */
				int			digits = 0;

				p->pos += (s[p->pos + 2] == '!') ? 3 : 4;
				while (digits < 6 && is_digit(s[p->pos]))
				{
					p->pos++;
					digits++;
				}
				if (p->in_exec)
				{
					lex_error(p, "nested executable comment", start);
					return false;
				}
				p->in_exec = true;
			}
			else
			{
				const char *endc;

				endc = (p->pos + 2 <= p->len) ? strstr(s + p->pos + 2, "*/") : NULL;
				if (endc == NULL)
				{
					lex_error(p, "unterminated comment", start);
					return false;
				}
				p->pos = (endc - s) + 2;
			}
		}
		else if (c == '*' && s[p->pos + 1] == '/' && p->in_exec)
		{
			p->in_exec = false;
			p->pos += 2;
		}
		else
			return true;
	}
}

/*
 * Scan a quoted string or identifier whose opening quote is at 'at'.
 * Backslash escapes apply to strings, not to backquoted identifiers; a
 * doubled quote stands for one.  Returns the offset past the closing quote,
 * or 0 if it is unterminated.
 */
static size_t
scan_quoted(DdlParser *p, size_t at)
{
	const char *s = p->src;
	char		q = s[at];
	size_t		i = at + 1;

	for (;;)
	{
		if (i >= p->len)
			return 0;
		if (s[i] == '\\' && q != '`')
		{
			if (i + 1 >= p->len)
				return 0;
			i += 2;
			continue;
		}
		if (s[i] == q)
		{
			if (s[i + 1] == q)
			{
				i += 2;
				continue;
			}
			return i + 1;
		}
		i++;
	}
}

/*
 * Scan a number at 'at' (digits, optional fraction, optional exponent).
 * Returns its end, or 0 if the text there is not a number (e.g. it is an
 * identifier that starts with digits, such as 1abc).
 */
static size_t
scan_number(DdlParser *p, size_t at)
{
	const char *s = p->src;
	size_t		i = at;
	size_t		digits = 0;

	while (is_digit(s[i]))
	{
		i++;
		digits++;
	}
	if (s[i] == '.')
	{
		size_t		j = i + 1;

		while (is_digit(s[j]))
		{
			j++;
			digits++;
		}
		i = j;
	}
	if (digits == 0)
		return 0;
	if (s[i] == 'e' || s[i] == 'E')
	{
		size_t		j = i + 1;

		if (s[j] == '+' || s[j] == '-')
			j++;
		if (is_digit(s[j]))
		{
			while (is_digit(s[j]))
				j++;
			i = j;
		}
	}
	if (is_ident_byte(s[i]))
		return 0;
	return i;
}

/* Lex one token. */
static Token
lex(DdlParser *p)
{
	Token		t;
	const char *s = p->src;
	unsigned char c;

	memset(&t, 0, sizeof(t));
	if (p->lex_error != NULL || !skip_space(p))
	{
		t.type = T_ERROR;
		t.start = t.end = p->pos;
		return t;
	}
	t.start = p->pos;
	if (p->pos >= p->len)
	{
		if (p->in_exec)
		{
			lex_error(p, "unterminated executable comment", p->pos);
			t.type = T_ERROR;
		}
		else
			t.type = T_EOF;
		t.end = p->pos;
		return t;
	}
	c = s[p->pos];

	if (c == '`' || c == '\'' || c == '"')
	{
		size_t		end = scan_quoted(p, p->pos);

		if (end == 0)
		{
			lex_error(p, c == '`' ? "unterminated quoted identifier" :
					  "unterminated quoted string", p->pos);
			t.type = T_ERROR;
			t.end = p->pos;
			return t;
		}
		t.type = (c == '`') ? T_QIDENT : T_STRING;
		t.vstart = p->pos;
		t.end = end;
	}
	else if (is_digit(c) ||
			 (c == '.' && is_digit(s[p->pos + 1]) &&
			  !(p->last_end == p->pos &&
				(p->last_type == T_WORD || p->last_type == T_QIDENT ||
				 (p->last_type == T_PUNCT && p->last_punct == ')')))))
	{
		size_t		end = 0;

		/* 0x.. and 0b.. literals */
		if (c == '0' && (s[p->pos + 1] == 'x' || s[p->pos + 1] == 'b'))
		{
			bool		hex = (s[p->pos + 1] == 'x');
			size_t		i = p->pos + 2;

			while (hex ? isxdigit((unsigned char) s[i]) : (s[i] == '0' || s[i] == '1'))
				i++;
			if (i > p->pos + 2 && !is_ident_byte(s[i]))
			{
				t.type = hex ? T_HEX : T_BIT;
				t.end = i;
			}
		}
		if (t.type == T_EOF)
		{
			end = scan_number(p, p->pos);
			if (end != 0)
			{
				t.type = T_NUMBER;
				t.end = end;
			}
			else
			{
				size_t		i = p->pos;

				/* an identifier starting with digits */
				while (is_ident_byte(s[i]))
					i++;
				if (i == p->pos)
					i++;		/* ".": cannot happen, but progress */
				t.type = (i > p->pos && is_ident_byte(s[p->pos])) ? T_WORD : T_PUNCT;
				t.end = i;
			}
		}
	}
	else if (is_ident_byte(c))
	{
		size_t		i = p->pos;

		while (is_ident_byte(s[i]))
			i++;
		t.type = T_WORD;
		t.end = i;
		/* X'..', B'..', N'..' */
		if (i == p->pos + 1 && s[i] == '\'' &&
			strchr("xXbBnN", c) != NULL)
		{
			size_t		end = scan_quoted(p, i);

			if (end == 0)
			{
				lex_error(p, "unterminated quoted string", i);
				t.type = T_ERROR;
				t.end = p->pos;
				return t;
			}
			t.type = (c == 'x' || c == 'X') ? T_HEX :
				(c == 'b' || c == 'B') ? T_BIT : T_STRING;
			t.vstart = i;
			t.end = end;
		}
	}
	else
	{
		t.type = T_PUNCT;
		t.end = p->pos + 1;
	}
	p->pos = t.end;
	p->last_end = t.end;
	p->last_type = t.type;
	p->last_punct = (t.type == T_PUNCT) ? s[t.start] : '\0';
	return t;
}

/* The n-th token ahead (0 = next), n < DDL_LOOKAHEAD. */
static Token *
peek(DdlParser *p, int n)
{
	static Token beyond = {T_EOF, 0, 0, 0};

	/* a programming error; never read past the buffer */
	if (n < 0 || n >= DDL_LOOKAHEAD)
		return &beyond;
	while (p->nla <= n)
		p->la[p->nla++] = lex(p);
	return &p->la[n];
}

/* Consume the next token. */
static Token
next(DdlParser *p)
{
	Token		t = *peek(p, 0);

	/* T_EOF and T_ERROR are never consumed: they stay the next token */
	if (t.type == T_EOF || t.type == T_ERROR)
		return t;
	memmove(&p->la[0], &p->la[1], sizeof(Token) * (p->nla - 1));
	p->nla--;
	p->prev_end = t.end;
	return t;
}

/* ----------------------------------------------------------------
 * Token helpers
 * ----------------------------------------------------------------
 */

static bool
tok_is_kw(DdlParser *p, const Token *t, const char *kw)
{
	size_t		n = strlen(kw);

	return t->type == T_WORD && t->end - t->start == n &&
		pg_strncasecmp(p->src + t->start, kw, n) == 0;
}

static bool
peek_kw(DdlParser *p, int n, const char *kw)
{
	return tok_is_kw(p, peek(p, n), kw);
}

static bool
accept_kw(DdlParser *p, const char *kw)
{
	if (!peek_kw(p, 0, kw))
		return false;
	next(p);
	return true;
}

/* Accept two keywords in a row, or none. */
static bool
accept_kw2(DdlParser *p, const char *kw1, const char *kw2)
{
	if (!peek_kw(p, 0, kw1) || !peek_kw(p, 1, kw2))
		return false;
	next(p);
	next(p);
	return true;
}

static bool
accept_kw3(DdlParser *p, const char *kw1, const char *kw2, const char *kw3)
{
	if (!peek_kw(p, 0, kw1) || !peek_kw(p, 1, kw2) || !peek_kw(p, 2, kw3))
		return false;
	next(p);
	next(p);
	next(p);
	return true;
}

static bool
tok_is_punct(DdlParser *p, const Token *t, char c)
{
	return t->type == T_PUNCT && p->src[t->start] == c;
}

static bool
peek_punct(DdlParser *p, int n, char c)
{
	return tok_is_punct(p, peek(p, n), c);
}

static bool
accept_punct(DdlParser *p, char c)
{
	if (!peek_punct(p, 0, c))
		return false;
	next(p);
	return true;
}

/* At the end of the statement (EOF, a lexical error, or ';')? */
static bool
at_end(DdlParser *p)
{
	Token	   *t = peek(p, 0);

	return t->type == T_EOF || t->type == T_ERROR || tok_is_punct(p, t, ';');
}

/* The end of a clause or element: ',' or ')' at this level, or the end. */
static bool
at_clause_end(DdlParser *p)
{
	return at_end(p) || peek_punct(p, 0, ',') || peek_punct(p, 0, ')');
}

static char *
tok_raw(DdlParser *p, const Token *t)
{
	return pnstrdup(p->src + t->start, t->end - t->start);
}

static char *
tok_lower(DdlParser *p, const Token *t)
{
	char	   *s = tok_raw(p, t);
	char	   *c;

	for (c = s; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c += 'a' - 'A';
	return s;
}

/* How a token reads in a reason. */
static char *
tok_describe(DdlParser *p, const Token *t)
{
	if (t->type == T_EOF)
		return pstrdup("the end of the statement");
	if (t->type == T_ERROR)
		return pstrdup(p->lex_error ? p->lex_error : "a lexical error");
	return clip_text(p->src + t->start, t->end - t->start);
}

/*
 * The value of a quoted string or identifier: quotes removed, a doubled
 * quote is one quote, and for strings ('...' and "...") MySQL's backslash
 * escapes are resolved (\0 is kept as the two characters, as a C string
 * cannot hold NUL; \% and \_ keep their backslash, as in MySQL).
 */
static char *
unquote(DdlParser *p, size_t qstart, size_t end)
{
	const char *s = p->src;
	char		q = s[qstart];
	size_t		i = qstart + 1;
	size_t		last = end - 1;	/* the closing quote */
	StringInfoData buf;

	initStringInfo(&buf);
	while (i < last)
	{
		char		c = s[i];

		if (c == q && s[i + 1] == q)
		{
			appendStringInfoChar(&buf, q);
			i += 2;
		}
		else if (c == '\\' && q != '`' && i + 1 < last)
		{
			char		e = s[i + 1];

			switch (e)
			{
				case 'n':
					appendStringInfoChar(&buf, '\n');
					break;
				case 't':
					appendStringInfoChar(&buf, '\t');
					break;
				case 'r':
					appendStringInfoChar(&buf, '\r');
					break;
				case 'b':
					appendStringInfoChar(&buf, '\b');
					break;
				case 'Z':
					appendStringInfoChar(&buf, '\032');
					break;
				case '0':
				case '%':
				case '_':
					appendStringInfoChar(&buf, '\\');
					appendStringInfoChar(&buf, e);
					break;
				default:
					appendStringInfoChar(&buf, e);
					break;
			}
			i += 2;
		}
		else
		{
			appendStringInfoChar(&buf, c);
			i++;
		}
	}
	return buf.data;
}

static char *
tok_string(DdlParser *p, const Token *t)
{
	Assert(t->type == T_STRING);
	return unquote(p, t->vstart, t->end);
}

/*
 * MySQL 8.0's reserved words, which cannot be unquoted names.  Sorted, for
 * bsearch (compared case-insensitively; all upper case here).
 */
static const char *const reserved_words[] = {
	"ACCESSIBLE", "ADD", "ALL", "ALTER", "ANALYZE", "AND", "AS", "ASC",
	"ASENSITIVE", "BEFORE", "BETWEEN", "BIGINT", "BINARY", "BLOB", "BOTH",
	"BY", "CALL", "CASCADE", "CASE", "CHANGE", "CHAR", "CHARACTER", "CHECK",
	"COLLATE", "COLUMN", "CONDITION", "CONSTRAINT", "CONTINUE", "CONVERT",
	"CREATE", "CROSS", "CUBE", "CUME_DIST", "CURRENT_DATE", "CURRENT_TIME",
	"CURRENT_TIMESTAMP", "CURRENT_USER", "CURSOR", "DATABASE", "DATABASES",
	"DAY_HOUR", "DAY_MICROSECOND", "DAY_MINUTE", "DAY_SECOND", "DEC",
	"DECIMAL", "DECLARE", "DEFAULT", "DELAYED", "DELETE", "DENSE_RANK",
	"DESC", "DESCRIBE", "DETERMINISTIC", "DISTINCT", "DISTINCTROW", "DIV",
	"DOUBLE", "DROP", "DUAL", "EACH", "ELSE", "ELSEIF", "EMPTY", "ENCLOSED",
	"ESCAPED", "EXCEPT", "EXISTS", "EXIT", "EXPLAIN", "FALSE", "FETCH",
	"FIRST_VALUE", "FLOAT", "FLOAT4", "FLOAT8", "FOR", "FORCE", "FOREIGN",
	"FROM", "FULLTEXT", "FUNCTION", "GENERATED", "GET", "GRANT", "GROUP",
	"GROUPING", "GROUPS", "HAVING", "HIGH_PRIORITY", "HOUR_MICROSECOND",
	"HOUR_MINUTE", "HOUR_SECOND", "IF", "IGNORE", "IN", "INDEX", "INFILE",
	"INNER", "INOUT", "INSENSITIVE", "INSERT", "INT", "INT1", "INT2", "INT3",
	"INT4", "INT8", "INTEGER", "INTERSECT", "INTERVAL", "INTO",
	"IO_AFTER_GTIDS", "IO_BEFORE_GTIDS", "IS", "ITERATE", "JOIN",
	"JSON_TABLE", "KEY", "KEYS", "KILL", "LAG", "LAST_VALUE", "LATERAL",
	"LEAD", "LEADING", "LEAVE", "LEFT", "LIKE", "LIMIT", "LINEAR", "LINES",
	"LOAD", "LOCALTIME", "LOCALTIMESTAMP", "LOCK", "LONG", "LONGBLOB",
	"LONGTEXT", "LOOP", "LOW_PRIORITY", "MASTER_BIND",
	"MASTER_SSL_VERIFY_SERVER_CERT", "MATCH", "MAXVALUE", "MEDIUMBLOB",
	"MEDIUMINT", "MEDIUMTEXT", "MIDDLEINT", "MINUTE_MICROSECOND",
	"MINUTE_SECOND", "MOD", "MODIFIES", "NATURAL", "NOT", "NO_WRITE_TO_BINLOG",
	"NTH_VALUE", "NTILE", "NULL", "NUMERIC", "OF", "ON", "OPTIMIZE",
	"OPTIMIZER_COSTS", "OPTION", "OPTIONALLY", "OR", "ORDER", "OUT", "OUTER",
	"OUTFILE", "OVER", "PARTITION", "PERCENT_RANK", "PRECISION", "PRIMARY",
	"PROCEDURE", "PURGE", "RANGE", "RANK", "READ", "READS", "READ_WRITE",
	"REAL", "RECURSIVE", "REFERENCES", "REGEXP", "RELEASE", "RENAME",
	"REPEAT", "REPLACE", "REQUIRE", "RESIGNAL", "RESTRICT", "RETURN",
	"REVOKE", "RIGHT", "RLIKE", "ROW", "ROWS", "ROW_NUMBER", "SCHEMA",
	"SCHEMAS", "SECOND_MICROSECOND", "SELECT", "SENSITIVE", "SEPARATOR",
	"SET", "SHOW", "SIGNAL", "SMALLINT", "SPATIAL", "SPECIFIC", "SQL",
	"SQLEXCEPTION", "SQLSTATE", "SQLWARNING", "SQL_BIG_RESULT",
	"SQL_CALC_FOUND_ROWS", "SQL_SMALL_RESULT", "SSL", "STARTING", "STORED",
	"STRAIGHT_JOIN", "SYSTEM", "TABLE", "TERMINATED", "THEN", "TINYBLOB",
	"TINYINT", "TINYTEXT", "TO", "TRAILING", "TRIGGER", "TRUE", "UNDO",
	"UNION", "UNIQUE", "UNLOCK", "UNSIGNED", "UPDATE", "USAGE", "USE",
	"USING", "UTC_DATE", "UTC_TIME", "UTC_TIMESTAMP", "VALUES", "VARBINARY",
	"VARCHAR", "VARCHARACTER", "VARYING", "VIRTUAL", "WHEN", "WHERE",
	"WHILE", "WINDOW", "WITH", "WRITE", "XOR", "YEAR_MONTH", "ZEROFILL"
};

static int
reserved_cmp(const void *key, const void *elem)
{
	return pg_strcasecmp((const char *) key, *(const char *const *) elem);
}

static bool
tok_is_reserved(DdlParser *p, const Token *t)
{
	char		word[64];
	size_t		n = t->end - t->start;

	if (t->type != T_WORD || n >= sizeof(word))
		return false;
	memcpy(word, p->src + t->start, n);
	word[n] = '\0';
	return bsearch(word, reserved_words, lengthof(reserved_words),
				   sizeof(char *), reserved_cmp) != NULL;
}

/* ----------------------------------------------------------------
 * Errors and skipping
 * ----------------------------------------------------------------
 */

/* Record a syntax error at the next token; returns false for convenience. */
static bool
fail(DdlParser *p, const char *expected)
{
	if (p->error == NULL)
		p->error = psprintf("expected %s, found %s", expected,
							tok_describe(p, peek(p, 0)));
	return false;
}

static bool
fail_msg(DdlParser *p, char *msg)
{
	if (p->error == NULL)
		p->error = msg;
	return false;
}

/*
 * Skip balanced tokens up to (not including) ',' or ')' at this level, or
 * the end of the statement.
 */
static void
skip_to_clause_end(DdlParser *p)
{
	int			depth = 0;

	for (;;)
	{
		Token	   *t = peek(p, 0);

		if (t->type == T_EOF || t->type == T_ERROR)
			return;
		if (depth == 0 && (tok_is_punct(p, t, ',') || tok_is_punct(p, t, ')') ||
						   tok_is_punct(p, t, ';')))
			return;
		if (tok_is_punct(p, t, '('))
			depth++;
		else if (tok_is_punct(p, t, ')'))
			depth--;
		next(p);
	}
}

/* Skip everything up to the end of the statement. */
static void
skip_to_end(DdlParser *p)
{
	while (peek(p, 0)->type != T_EOF && peek(p, 0)->type != T_ERROR)
		next(p);
}

/*
 * Skip a parenthesized group, the next token being '('.  Returns false at
 * an unbalanced end.
 */
static bool
skip_parens(DdlParser *p)
{
	int			depth = 0;

	if (!peek_punct(p, 0, '('))
		return fail(p, "\"(\"");
	for (;;)
	{
		Token		t = *peek(p, 0);

		if (t.type == T_EOF || t.type == T_ERROR)
			return fail(p, "\")\"");
		next(p);
		if (tok_is_punct(p, &t, '('))
			depth++;
		else if (tok_is_punct(p, &t, ')') && --depth == 0)
			return true;
	}
}

/* ----------------------------------------------------------------
 * Names
 * ----------------------------------------------------------------
 */

static bool
peek_is_ident(DdlParser *p, int n)
{
	Token	   *t = peek(p, n);

	return t->type == T_QIDENT ||
		(t->type == T_WORD && !tok_is_reserved(p, t)) ||
		(t->type == T_STRING && p->src[t->vstart] == '"' &&
		 t->vstart == t->start);
}

/* An identifier: unquoted, `backquoted`, or "double-quoted" (ANSI_QUOTES). */
static bool
parse_ident(DdlParser *p, char **out, const char *what)
{
	Token		t;

	if (!peek_is_ident(p, 0))
		return fail(p, what);
	t = next(p);
	if (t.type == T_WORD)
		*out = tok_raw(p, &t);
	else
		*out = unquote(p, t.vstart, t.end);
	return true;
}

/* [schema.]name */
static bool
parse_table_name(DdlParser *p, DdlTableName *out)
{
	char	   *first;

	if (!parse_ident(p, &first, "a table name"))
		return false;
	if (peek_punct(p, 0, '.'))
	{
		next(p);
		out->schema = first;
		return parse_ident(p, &out->name, "a table name after \".\"");
	}
	out->schema = NULL;
	out->name = first;
	return true;
}

static DdlTableName *
copy_table_name(const DdlTableName *n)
{
	DdlTableName *c = palloc(sizeof(DdlTableName));

	*c = *n;
	return c;
}

/* A name for charsets and collations: lower case; strings allowed. */
static bool
parse_charset_name(DdlParser *p, char **out, const char *what)
{
	Token		t = *peek(p, 0);

	if (t.type == T_WORD)
		*out = tok_lower(p, &t);
	else if (t.type == T_QIDENT || t.type == T_STRING)
	{
		char	   *s = unquote(p, t.vstart, t.end);
		char	   *c;

		for (c = s; *c; c++)
			if (*c >= 'A' && *c <= 'Z')
				*c += 'a' - 'A';
		*out = s;
	}
	else
		return fail(p, what);
	next(p);
	return true;
}

/* MariaDB's [WAIT n | NOWAIT] */
static void
accept_wait(DdlParser *p)
{
	if (accept_kw(p, "NOWAIT"))
		return;
	if (peek_kw(p, 0, "WAIT") && peek(p, 1)->type == T_NUMBER)
	{
		next(p);
		next(p);
	}
}

/* ----------------------------------------------------------------
 * Column definitions
 * ----------------------------------------------------------------
 */

/* MySQL's (and MariaDB's) data type names. */
static const char *const type_names[] = {
	"bigint", "binary", "bit", "blob", "bool", "boolean", "char",
	"character", "date", "datetime", "dec", "decimal", "double", "enum",
	"fixed", "float", "float4", "float8", "geomcollection", "geometry",
	"geometrycollection", "inet4", "inet6", "int", "int1", "int2", "int3",
	"int4", "int8", "integer", "json", "linestring", "long", "longblob",
	"longtext", "mediumblob", "mediumint", "mediumtext", "middleint",
	"multilinestring", "multipoint", "multipolygon", "national", "nchar",
	"numeric", "nvarchar", "point", "polygon", "real", "serial", "set",
	"smallint", "text", "time", "timestamp", "tinyblob", "tinyint",
	"tinytext", "uuid", "varbinary", "varchar", "varcharacter", "vector",
	"year"
};

static bool
is_type_name(DdlParser *p, const Token *t)
{
	int			i;

	if (t->type != T_WORD)
		return false;
	for (i = 0; i < (int) lengthof(type_names); i++)
		if (tok_is_kw(p, t, type_names[i]))
			return true;
	return false;
}

/* Append a string value as a canonical single-quoted MySQL literal. */
static void
append_quoted(StringInfo buf, const char *v)
{
	appendStringInfoChar(buf, '\'');
	for (; *v; v++)
	{
		if (*v == '\'')
			appendStringInfoChar(buf, '\'');
		else if (*v == '\\')
			appendStringInfoChar(buf, '\\');
		appendStringInfoChar(buf, *v);
	}
	appendStringInfoChar(buf, '\'');
}

/*
 * Append a parenthesized group (the next token is '(') to a type's text:
 * words lower case, strings canonically quoted with their case kept, no
 * spaces except between two words.
 */
static bool
append_type_group(DdlParser *p, StringInfo buf)
{
	int			depth = 0;
	bool		prev_word = false;

	for (;;)
	{
		Token		t = *peek(p, 0);
		bool		word = false;

		if (t.type == T_EOF || t.type == T_ERROR)
			return fail(p, "\")\" closing the type's parameters");
		next(p);
		switch (t.type)
		{
			case T_STRING:
				append_quoted(buf, tok_string(p, &t));
				break;
			case T_WORD:
			case T_NUMBER:
				if (prev_word)
					appendStringInfoChar(buf, ' ');
				appendStringInfoString(buf, tok_lower(p, &t));
				word = true;
				break;
			default:
				appendStringInfoString(buf, tok_lower(p, &t));
				break;
		}
		prev_word = word;
		if (tok_is_punct(p, &t, '('))
			depth++;
		else if (tok_is_punct(p, &t, ')') && --depth == 0)
			return true;
	}
}

static bool
peek_charset_kw(DdlParser *p)
{
	return peek_kw(p, 0, "CHARSET") ||
		((peek_kw(p, 0, "CHARACTER") || peek_kw(p, 0, "CHAR")) &&
		 peek_kw(p, 1, "SET"));
}

/* Consume CHARSET | CHARACTER SET | CHAR SET (peek_charset_kw was true). */
static void
skip_charset_kw(DdlParser *p)
{
	if (!accept_kw(p, "CHARSET"))
	{
		next(p);
		next(p);
	}
}

/*
 * The data type of a column definition, into col->type: "bigint
 * unsigned", "varchar(64)", "enum('a','B')", "double precision".
 */
static bool
parse_data_type(DdlParser *p, DdlColumn *col)
{
	StringInfoData buf;
	Token		t = *peek(p, 0);
	bool		multi;

	if (!is_type_name(p, &t))
		return fail(p, "a data type");
	next(p);
	/* SERIAL is BIGINT UNSIGNED NOT NULL AUTO_INCREMENT UNIQUE */
	if (tok_is_kw(p, &t, "serial"))
	{
		col->not_null = true;
		col->auto_increment = true;
	}
	initStringInfo(&buf);
	appendStringInfoString(&buf, tok_lower(p, &t));

	/* double precision, character varying, national char, long varchar... */
	multi = tok_is_kw(p, &t, "double") || tok_is_kw(p, &t, "char") ||
		tok_is_kw(p, &t, "character") || tok_is_kw(p, &t, "national") ||
		tok_is_kw(p, &t, "nchar") || tok_is_kw(p, &t, "long");
	while (multi)
	{
		Token	   *n = peek(p, 0);

		multi = false;
		if (tok_is_kw(p, n, "precision") || tok_is_kw(p, n, "varying") ||
			tok_is_kw(p, n, "varchar") || tok_is_kw(p, n, "varcharacter") ||
			tok_is_kw(p, n, "varbinary") ||
			((tok_is_kw(p, n, "char") || tok_is_kw(p, n, "character")) &&
			 !peek_kw(p, 1, "SET")))
		{
			Token		w = next(p);

			appendStringInfoChar(&buf, ' ');
			appendStringInfoString(&buf, tok_lower(p, &w));
			multi = tok_is_kw(p, &w, "char") || tok_is_kw(p, &w, "character");
		}
	}

	if (peek_punct(p, 0, '(') && !append_type_group(p, &buf))
		return false;

	/* modifiers that are part of the type */
	for (;;)
	{
		if (peek_kw(p, 0, "UNSIGNED") || peek_kw(p, 0, "SIGNED") ||
			peek_kw(p, 0, "ZEROFILL") || peek_kw(p, 0, "BINARY") ||
			peek_kw(p, 0, "BYTE"))
		{
			Token		w = next(p);

			appendStringInfoChar(&buf, ' ');
			appendStringInfoString(&buf, tok_lower(p, &w));
		}
		else if (accept_kw(p, "ASCII"))
			col->charset = pstrdup("latin1");
		else if (accept_kw(p, "UNICODE"))
			col->charset = pstrdup("ucs2");
		else
			break;
	}
	col->type = buf.data;
	return true;
}

/* Binary operators that may continue a DEFAULT expression (MariaDB). */
static bool
peek_operator(DdlParser *p)
{
	Token	   *t = peek(p, 0);

	return t->type == T_PUNCT && strchr("+-*/%&|^<>=!", p->src[t->start]) != NULL;
}

/*
 * One operand of a DEFAULT expression: a word with an optional argument
 * list, a literal, or a parenthesized expression.
 */
static bool
skip_operand(DdlParser *p)
{
	Token	   *t = peek(p, 0);

	while (peek_punct(p, 0, '-') || peek_punct(p, 0, '+') || peek_punct(p, 0, '!') ||
		   peek_punct(p, 0, '~'))
		next(p);
	t = peek(p, 0);
	if (tok_is_punct(p, t, '('))
		return skip_parens(p);
	if (t->type == T_WORD)
	{
		Token		w = next(p);

		/* _charset 'string' */
		if (peek(p, 0)->type == T_STRING && p->src[w.start] == '_')
			next(p);
		else if (peek_punct(p, 0, '('))
			return skip_parens(p);
		return true;
	}
	if (t->type == T_STRING || t->type == T_NUMBER || t->type == T_HEX ||
		t->type == T_BIT || t->type == T_QIDENT)
	{
		next(p);
		return true;
	}
	return fail(p, "an operand");
}

/* Set an expression default from the source text [start, p->prev_end). */
static void
set_expression(DdlParser *p, DdlColumn *col, size_t start)
{
	col->default_kind = DDL_DEFAULT_EXPRESSION;
	col->default_value = pnstrdup(p->src + start, p->prev_end - start);
}

/* DEFAULT value (DEFAULT already consumed). */
static bool
parse_default(DdlParser *p, DdlColumn *col)
{
	Token		t = *peek(p, 0);
	size_t		start = t.start;
	bool		constant = false;
	bool		hex_or_bit = false;

	if (tok_is_kw(p, &t, "NULL"))
	{
		next(p);
		col->default_kind = DDL_DEFAULT_NULL;
		col->default_value = NULL;
		col->default_hex_or_bit = false;
		return true;
	}
	if (t.type == T_STRING ||
		(t.type == T_WORD && p->src[t.start] == '_' &&
		 peek(p, 1)->type == T_STRING) ||
		((tok_is_kw(p, &t, "DATE") || tok_is_kw(p, &t, "TIME") ||
		  tok_is_kw(p, &t, "TIMESTAMP")) && peek(p, 1)->type == T_STRING))
	{
		StringInfoData buf;

		if (t.type == T_WORD)
			next(p);			/* the introducer or DATE/TIME/TIMESTAMP */
		/* adjacent strings concatenate: 'a' 'b' is 'ab' */
		initStringInfo(&buf);
		while (peek(p, 0)->type == T_STRING)
		{
			Token		s = next(p);

			appendStringInfoString(&buf, tok_string(p, &s));
		}
		col->default_value = buf.data;
		constant = true;
	}
	else if (t.type == T_NUMBER ||
			 ((tok_is_punct(p, &t, '-') || tok_is_punct(p, &t, '+')) &&
			  peek(p, 1)->type == T_NUMBER))
	{
		bool		minus = tok_is_punct(p, &t, '-');
		Token		n;

		if (t.type == T_PUNCT)
			next(p);
		n = next(p);
		col->default_value = psprintf("%s%s", minus ? "-" : "",
									  tok_raw(p, &n));
		constant = true;
	}
	else if (t.type == T_HEX || t.type == T_BIT)
	{
		/* X'1F', 0x1F -> "0x1F"; B'101', 0b101 -> "0b101" */
		const char *digits = p->src + t.start + 2;
		size_t		ndigits = t.end - t.start - 2;

		next(p);
		if (p->src[t.start] != '0')
		{
			digits = p->src + t.vstart + 1;
			ndigits = t.end - t.vstart - 2;
		}
		col->default_value = psprintf("0%c%.*s", t.type == T_HEX ? 'x' : 'b',
									  (int) ndigits, digits);
		hex_or_bit = true;
		constant = true;
	}
	else if (tok_is_kw(p, &t, "TRUE") || tok_is_kw(p, &t, "FALSE"))
	{
		next(p);
		col->default_value = pstrdup(tok_is_kw(p, &t, "TRUE") ? "1" : "0");
		constant = true;
	}
	else if (tok_is_punct(p, &t, '('))
	{
		/* DEFAULT (expr): the text inside the parentheses */
		size_t		inner;

		next(p);
		inner = peek(p, 0)->start;
		p->prev_end = inner;
		{
			int			depth = 1;

			for (;;)
			{
				Token		u = *peek(p, 0);

				if (u.type == T_EOF || u.type == T_ERROR)
					return fail(p, "\")\" closing the DEFAULT expression");
				if (tok_is_punct(p, &u, '('))
					depth++;
				else if (tok_is_punct(p, &u, ')') && --depth == 0)
					break;
				next(p);
			}
		}
		set_expression(p, col, inner);
		col->default_hex_or_bit = false;
		next(p);				/* ')' */
		return true;
	}
	else if (t.type == T_WORD && !tok_is_kw(p, &t, "NOT") &&
			 !tok_is_kw(p, &t, "COMMENT"))
	{
		/* CURRENT_TIMESTAMP[(n)], NOW(), NEXTVAL(s), ... */
		if (!skip_operand(p))
			return false;
	}
	else
		return fail(p, "a DEFAULT value");

	/* MariaDB: DEFAULT 1 + 1, DEFAULT CURRENT_TIMESTAMP + INTERVAL ... */
	while (peek_operator(p))
	{
		constant = false;
		while (peek_operator(p))
			next(p);
		if (peek_kw(p, 0, "INTERVAL"))
		{
			next(p);
			if (!skip_operand(p))
				return false;
			next(p);			/* the unit */
		}
		else if (!skip_operand(p))
			return false;
	}
	col->default_hex_or_bit = false;
	if (constant)
	{
		col->default_kind = DDL_DEFAULT_CONSTANT;
		col->default_hex_or_bit = hex_or_bit;
	}
	else
		set_expression(p, col, start);
	return true;
}

/* REFERENCES tbl [(cols)] [MATCH x] [ON DELETE|UPDATE action]... */
static bool
skip_references(DdlParser *p)
{
	DdlTableName dummy;

	if (!parse_table_name(p, &dummy))
		return false;
	if (peek_punct(p, 0, '(') && !skip_parens(p))
		return false;
	for (;;)
	{
		if (accept_kw(p, "MATCH"))
			next(p);
		else if (peek_kw(p, 0, "ON") &&
				 (peek_kw(p, 1, "DELETE") || peek_kw(p, 1, "UPDATE")))
		{
			next(p);
			next(p);
			if (accept_kw2(p, "SET", "NULL") || accept_kw2(p, "SET", "DEFAULT") ||
				accept_kw2(p, "NO", "ACTION") || accept_kw(p, "RESTRICT") ||
				accept_kw(p, "CASCADE"))
				continue;
			return fail(p, "a referential action");
		}
		else
			return true;
	}
}

/* CHECK (expr) [[NOT] ENFORCED], CHECK already consumed */
static bool
skip_check(DdlParser *p)
{
	if (!skip_parens(p))
		return false;
	if (peek_kw(p, 0, "NOT") && peek_kw(p, 1, "ENFORCED"))
	{
		next(p);
		next(p);
	}
	else
		accept_kw(p, "ENFORCED");
	return true;
}

/* [=] value of an option: a word, string, number, or a parenthesized list */
static bool
skip_option_value(DdlParser *p)
{
	Token	   *t;

	accept_punct(p, '=');
	t = peek(p, 0);
	if (tok_is_punct(p, t, '('))
		return skip_parens(p);
	if (t->type == T_WORD || t->type == T_QIDENT || t->type == T_STRING ||
		t->type == T_NUMBER || t->type == T_HEX || t->type == T_BIT)
	{
		next(p);
		return true;
	}
	return fail(p, "an option value");
}

/*
 * The part of a column definition after its name: type and attributes,
 * up to ',' or ')' or the end.  FIRST / AFTER are accepted too (ALTER).
 */
static bool
parse_column_def(DdlParser *p, DdlColumn *col)
{
	if (!parse_data_type(p, col))
		return false;

	/* PARTITION BY may follow the last ALTER TABLE clause directly */
	while (!at_clause_end(p) && !peek_kw(p, 0, "PARTITION"))
	{
		if (accept_kw2(p, "NOT", "NULL"))
			col->not_null = true;
		else if (accept_kw(p, "NULL"))
			col->not_null = false;
		else if (accept_kw3(p, "SERIAL", "DEFAULT", "VALUE"))
		{
			col->not_null = true;
			col->auto_increment = true;
		}
		else if (accept_kw(p, "DEFAULT"))
		{
			if (!parse_default(p, col))
				return false;
		}
		else if (accept_kw(p, "AUTO_INCREMENT"))
			col->auto_increment = true;
		else if (peek_kw(p, 0, "ON") && peek_kw(p, 1, "UPDATE"))
		{
			/* ON UPDATE CURRENT_TIMESTAMP[(n)]: no effect on existing rows */
			next(p);
			next(p);
			if (!skip_operand(p))
				return false;
		}
		else if (accept_kw(p, "UNIQUE"))
			accept_kw(p, "KEY");
		else if (accept_kw(p, "PRIMARY"))
		{
			accept_kw(p, "KEY");
			col->primary_key = true;
		}
		else if (accept_kw(p, "KEY"))
			col->primary_key = true;
		else if (accept_kw(p, "COMMENT"))
		{
			if (peek(p, 0)->type != T_STRING)
				return fail(p, "a comment string");
			next(p);
		}
		else if (accept_kw(p, "COLLATE"))
		{
			accept_punct(p, '=');
			if (!parse_charset_name(p, &col->collation, "a collation name"))
				return false;
		}
		else if (peek_charset_kw(p))
		{
			skip_charset_kw(p);
			accept_punct(p, '=');
			if (!parse_charset_name(p, &col->charset, "a character set name"))
				return false;
		}
		else if (accept_kw(p, "BINARY"))
		{
			/* the binary collation of the character set (once is enough) */
			size_t		n = strlen(col->type);

			if (n < 7 || strcmp(col->type + n - 7, " binary") != 0)
				col->type = psprintf("%s binary", col->type);
		}
		else if (accept_kw(p, "COLUMN_FORMAT") || accept_kw(p, "STORAGE"))
		{
			if (peek(p, 0)->type != T_WORD)
				return fail(p, "a column format or storage");
			next(p);
		}
		else if (accept_kw(p, "ENGINE_ATTRIBUTE") ||
				 accept_kw(p, "SECONDARY_ENGINE_ATTRIBUTE") ||
				 accept_kw(p, "SRID"))
		{
			if (!skip_option_value(p))
				return false;
		}
		else if (accept_kw(p, "COMPRESSED"))
		{
			/* MariaDB: COMPRESSED [= method] */
			if (peek_punct(p, 0, '=') && !skip_option_value(p))
				return false;
		}
		else if (accept_kw(p, "VISIBLE") || accept_kw(p, "INVISIBLE") ||
				 accept_kw(p, "VIRTUAL") || accept_kw(p, "STORED") ||
				 accept_kw(p, "PERSISTENT"))
			 /* nothing */ ;
		else if (accept_kw3(p, "WITH", "SYSTEM", "VERSIONING") ||
				 accept_kw3(p, "WITHOUT", "SYSTEM", "VERSIONING"))
			 /* MariaDB: rows are not versioned in the mirror */ ;
		else if (peek_kw(p, 0, "AS") ||
				 (peek_kw(p, 0, "GENERATED") && peek_kw(p, 1, "ALWAYS") &&
				  peek_kw(p, 2, "AS")))
		{
			size_t		inner;
			int			depth = 1;

			if (accept_kw(p, "GENERATED"))
				next(p);
			next(p);			/* AS */
			if (!accept_punct(p, '('))
				return fail(p, "\"(\" after AS");
			inner = peek(p, 0)->start;
			p->prev_end = inner;
			for (;;)
			{
				Token		u = *peek(p, 0);

				if (u.type == T_EOF || u.type == T_ERROR)
					return fail(p, "\")\" closing the generated column expression");
				if (tok_is_punct(p, &u, '('))
					depth++;
				else if (tok_is_punct(p, &u, ')') && --depth == 0)
					break;
				next(p);
			}
			set_expression(p, col, inner);
			next(p);			/* ')' */
			col->generated = true;
		}
		else if (accept_kw(p, "REFERENCES"))
		{
			if (!skip_references(p))
				return false;
		}
		else if (accept_kw(p, "CONSTRAINT"))
		{
			char	   *symbol;

			if (!peek_kw(p, 0, "CHECK") && !parse_ident(p, &symbol, "a constraint name"))
				return false;
			if (!accept_kw(p, "CHECK"))
				return fail(p, "CHECK");
			if (!skip_check(p))
				return false;
		}
		else if (accept_kw(p, "CHECK"))
		{
			if (!skip_check(p))
				return false;
		}
		else if (accept_kw(p, "FIRST"))
			col->first = true;
		else if (accept_kw(p, "AFTER"))
		{
			if (!parse_ident(p, &col->after, "a column name after AFTER"))
				return false;
		}
		else
			return fail(p, "a column attribute");
	}
	return true;
}

/* A column definition, name first. */
static bool
parse_column(DdlParser *p, DdlColumn **out)
{
	DdlColumn  *col = palloc0(sizeof(DdlColumn));

	*out = col;
	if (!parse_ident(p, &col->name, "a column name"))
		return false;
	return parse_column_def(p, col);
}

/* ----------------------------------------------------------------
 * Keys and constraints
 * ----------------------------------------------------------------
 */

/*
 * (key_part, ...) of a PRIMARY KEY: column names, each with an optional
 * prefix length and ASC/DESC.
 */
static bool
parse_key_columns(DdlParser *p, List **out)
{
	if (!accept_punct(p, '('))
		return fail(p, "\"(\" before the key columns");
	for (;;)
	{
		char	   *name;

		if (!parse_ident(p, &name, "a key column name"))
			return false;
		*out = lappend(*out, name);
		if (peek_punct(p, 0, '(') && !skip_parens(p))
			return false;
		if (!accept_kw(p, "ASC"))
			accept_kw(p, "DESC");
		if (accept_punct(p, ')'))
			return true;
		if (!accept_punct(p, ','))
			return fail(p, "\",\" or \")\" in the key columns");
	}
}

/* Does the next token start an index or constraint element? */
static bool
peek_key_element(DdlParser *p)
{
	return peek_kw(p, 0, "INDEX") || peek_kw(p, 0, "KEY") ||
		peek_kw(p, 0, "UNIQUE") || peek_kw(p, 0, "FULLTEXT") ||
		peek_kw(p, 0, "SPATIAL") || peek_kw(p, 0, "PRIMARY") ||
		peek_kw(p, 0, "FOREIGN") || peek_kw(p, 0, "CHECK") ||
		peek_kw(p, 0, "CONSTRAINT");
}

/*
 * An index or constraint element (CREATE TABLE, ALTER TABLE ADD).  For a
 * primary key, the key columns are returned in *pk and true in *is_pk.
 */
static bool
parse_key_element(DdlParser *p, bool *is_pk, List **pk)
{
	*is_pk = false;
	if (accept_kw(p, "CONSTRAINT"))
	{
		char	   *symbol;

		if (!peek_kw(p, 0, "PRIMARY") && !peek_kw(p, 0, "UNIQUE") &&
			!peek_kw(p, 0, "FOREIGN") && !peek_kw(p, 0, "CHECK") &&
			!parse_ident(p, &symbol, "a constraint name"))
			return false;
		if (!peek_kw(p, 0, "PRIMARY") && !peek_kw(p, 0, "UNIQUE") &&
			!peek_kw(p, 0, "FOREIGN") && !peek_kw(p, 0, "CHECK"))
			return fail(p, "PRIMARY KEY, UNIQUE, FOREIGN KEY or CHECK");
	}
	if (accept_kw(p, "PRIMARY"))
	{
		if (!accept_kw(p, "KEY"))
			return fail(p, "KEY after PRIMARY");
		/* [USING BTREE|HASH] */
		if (accept_kw(p, "USING"))
			next(p);
		if (!parse_key_columns(p, pk))
			return false;
		*is_pk = true;
		skip_to_clause_end(p);	/* index options */
		return true;
	}
	if (accept_kw(p, "CHECK"))
	{
		if (!skip_check(p))
			return false;
		if (!at_clause_end(p))
			return fail(p, "\",\" after the CHECK constraint");
		return true;
	}
	/* INDEX, KEY, UNIQUE, FULLTEXT, SPATIAL, FOREIGN KEY: no data effect */
	next(p);
	skip_to_clause_end(p);
	return true;
}

/* ----------------------------------------------------------------
 * CREATE TABLE
 * ----------------------------------------------------------------
 */

static bool
peek_query_start(DdlParser *p, int n)
{
	return peek_kw(p, n, "SELECT") || peek_kw(p, n, "WITH") ||
		peek_kw(p, n, "VALUES") || peek_kw(p, n, "TABLE") ||
		peek_punct(p, n, '(');
}

/* The parenthesized element list of CREATE TABLE, '(' consumed. */
static bool
parse_create_elements(DdlParser *p, DdlStatement *st)
{
	for (;;)
	{
		if (peek_key_element(p))
		{
			bool		is_pk;
			List	   *pk = NIL;

			if (!parse_key_element(p, &is_pk, &pk))
				return false;
			if (is_pk)
				st->primary_key = list_concat(st->primary_key, pk);
		}
		else if (peek_kw(p, 0, "PERIOD") && peek_kw(p, 1, "FOR"))
			skip_to_clause_end(p);	/* MariaDB PERIOD FOR */
		else
		{
			DdlColumn  *col;

			if (!parse_column(p, &col))
				return false;
			st->columns = lappend(st->columns, col);
			if (col->primary_key)
				st->primary_key = lappend(st->primary_key, pstrdup(col->name));
		}
		if (accept_punct(p, ')'))
			return true;
		if (!accept_punct(p, ','))
			return fail(p, "\",\" or \")\" after a table element");
	}
}

/* CREATE ... TABLE, TABLE consumed. */
static bool
parse_create_table(DdlParser *p, DdlStatement *st)
{
	bool		have_elements = false;

	st->kind = DDL_CREATE_TABLE;
	if (accept_kw3(p, "IF", "NOT", "EXISTS"))
		st->if_not_exists = true;
	if (!parse_table_name(p, &st->table))
		return false;

	/* CREATE TABLE t LIKE s, CREATE TABLE t (LIKE s) */
	if (accept_kw(p, "LIKE"))
		return parse_table_name(p, &st->like_table);
	if (peek_punct(p, 0, '(') && peek_kw(p, 1, "LIKE"))
	{
		next(p);
		next(p);
		if (!parse_table_name(p, &st->like_table))
			return false;
		if (!accept_punct(p, ')'))
			return fail(p, "\")\" after the LIKE table");
		return true;
	}

	if (peek_punct(p, 0, '(') && !peek_query_start(p, 1))
	{
		next(p);
		if (!parse_create_elements(p, st))
			return false;
		have_elements = true;
	}

	/*
	 * Table options and partitioning have no effect on the columns; the only
	 * thing to look for is a query whose columns the table gets ([IGNORE |
	 * REPLACE] [AS] SELECT ...).
	 */
	{
		int			depth = 0;

		for (;;)
		{
			Token	   *t = peek(p, 0);

			if (t->type == T_EOF || t->type == T_ERROR ||
				(depth == 0 && tok_is_punct(p, t, ';')))
				break;
			if (depth == 0 &&
				(tok_is_kw(p, t, "SELECT") || tok_is_kw(p, t, "AS") ||
				 tok_is_kw(p, t, "IGNORE") || tok_is_kw(p, t, "REPLACE") ||
				 tok_is_kw(p, t, "TABLE") || tok_is_kw(p, t, "VALUES") ||
				 (tok_is_kw(p, t, "WITH") && !peek_kw(p, 1, "SYSTEM")) ||
				 (tok_is_punct(p, t, '(') &&
				  (peek_kw(p, 1, "SELECT") || peek_kw(p, 1, "WITH") ||
				   peek_kw(p, 1, "VALUES") || peek_kw(p, 1, "TABLE")))))
			{
				st->columns_incomplete = true;
				skip_to_end(p);
				break;
			}
			if (tok_is_punct(p, t, '('))
				depth++;
			else if (tok_is_punct(p, t, ')') && --depth < 0)
				return fail(p, "table options");
			next(p);
		}
	}
	if (!have_elements && !st->columns_incomplete)
		return fail_msg(p, pstrdup("CREATE TABLE without column definitions, LIKE or a query"));
	if (st->columns_incomplete)
		st->reason = pstrdup("CREATE TABLE ... SELECT: the table also gets the columns of the query, which are not known here");
	return true;
}

/* ----------------------------------------------------------------
 * ALTER TABLE
 * ----------------------------------------------------------------
 */

static DdlAlterAction *
new_action(DdlStatement *st, DdlAlterKind kind)
{
	DdlAlterAction *a = palloc0(sizeof(DdlAlterAction));

	a->kind = kind;
	st->actions = lappend(st->actions, a);
	return a;
}

/* Table options that ALTER TABLE (and CREATE TABLE) accept. */
static const char *const table_options[] = {
	"AUTOEXTEND_SIZE", "AUTO_INCREMENT", "AVG_ROW_LENGTH", "CHECKSUM",
	"COMMENT", "COMPRESSION", "CONNECTION", "DELAY_KEY_WRITE", "ENCRYPTION",
	"ENCRYPTION_KEY_ID", "ENGINE", "ENGINE_ATTRIBUTE", "INSERT_METHOD",
	"KEY_BLOCK_SIZE", "MAX_ROWS", "MIN_ROWS", "PACK_KEYS", "PAGE_CHECKSUM",
	"PAGE_COMPRESSED", "PAGE_COMPRESSION_LEVEL", "PASSWORD", "ROW_FORMAT",
	"SECONDARY_ENGINE", "SECONDARY_ENGINE_ATTRIBUTE", "STATS_AUTO_RECALC",
	"STATS_PERSISTENT", "STATS_SAMPLE_PAGES", "TRANSACTIONAL", "TYPE",
	"UNION"
};

/* Does the token at lookahead position 'at' (0 or 1) start a table option? */
static bool
peek_table_option_at(DdlParser *p, int at)
{
	int			i;
	int			n = at + (peek_kw(p, at, "DEFAULT") ? 1 : 0);

	if (peek_kw(p, n, "CHARSET") || peek_kw(p, n, "COLLATE") ||
		((peek_kw(p, n, "CHARACTER") || peek_kw(p, n, "CHAR")) &&
		 peek_kw(p, n + 1, "SET")))
		return true;
	if (n > at)
		return false;
	if ((peek_kw(p, at, "DATA") || peek_kw(p, at, "INDEX")) &&
		peek_kw(p, at + 1, "DIRECTORY"))
		return true;
	if (peek_kw(p, at, "TABLESPACE"))
		return true;
	for (i = 0; i < (int) lengthof(table_options); i++)
		if (peek_kw(p, at, table_options[i]))
			return true;
	return false;
}

static bool
peek_table_option(DdlParser *p)
{
	return peek_table_option_at(p, 0);
}

/* One or more space-separated table options. */
static bool
parse_table_options(DdlParser *p)
{
	while (peek_table_option(p))
	{
		accept_kw(p, "DEFAULT");
		if (peek_charset_kw(p))
			skip_charset_kw(p);
		else if (accept_kw(p, "DATA") || accept_kw(p, "INDEX"))
			next(p);			/* DIRECTORY */
		else if (accept_kw(p, "TABLESPACE"))
		{
			if (!skip_option_value(p))
				return false;
			if (accept_kw(p, "STORAGE"))
				next(p);
			continue;
		}
		else
			next(p);
		if (!skip_option_value(p))
			return false;
	}
	return true;
}

/*
 * The alter actions that end the statement (partition maintenance,
 * tablespaces).  Returns true if the next tokens are one; *kind says
 * whether it can change rows.
 */
static bool
peek_standalone(DdlParser *p, bool *changes_rows, const char **what)
{
	static const struct
	{
		const char *kw1;
		const char *kw2;
		bool		changes_rows;
		const char *what;
	}			forms[] =
	{
		{"DROP", "PARTITION", true, "DROP PARTITION deletes the rows of the partitions"},
		{"TRUNCATE", "PARTITION", true, "TRUNCATE PARTITION deletes the rows of the partitions"},
		{"EXCHANGE", "PARTITION", true, "EXCHANGE PARTITION swaps the rows of a partition with another table's"},
		{"DISCARD", "PARTITION", true, "DISCARD PARTITION ... TABLESPACE removes the partitions' data"},
		{"IMPORT", "PARTITION", true, "IMPORT PARTITION ... TABLESPACE replaces the partitions' data"},
		{"DISCARD", "TABLESPACE", true, "DISCARD TABLESPACE removes the table's data"},
		{"IMPORT", "TABLESPACE", true, "IMPORT TABLESPACE replaces the table's data"},
		{"REPAIR", "PARTITION", true, "REPAIR PARTITION may remove rows"},
		{"CONVERT", "PARTITION", true, "CONVERT PARTITION ... TO TABLE moves rows out of the table"},
		{"CONVERT", "TABLE", true, "CONVERT TABLE ... TO PARTITION moves rows into the table"},
		{"ADD", "PARTITION", false, NULL},
		{"COALESCE", "PARTITION", false, NULL},
		{"REORGANIZE", "PARTITION", false, NULL},
		{"REBUILD", "PARTITION", false, NULL},
		{"OPTIMIZE", "PARTITION", false, NULL},
		{"ANALYZE", "PARTITION", false, NULL},
		{"CHECK", "PARTITION", false, NULL},
		{"REMOVE", "PARTITIONING", false, NULL},
		{"PARTITION", "BY", false, NULL},
		{"SECONDARY_LOAD", NULL, false, NULL},
		{"SECONDARY_UNLOAD", NULL, false, NULL},
	};
	int			i;

	for (i = 0; i < (int) lengthof(forms); i++)
	{
		if (peek_kw(p, 0, forms[i].kw1) &&
			(forms[i].kw2 == NULL || peek_kw(p, 1, forms[i].kw2)))
		{
			*changes_rows = forms[i].changes_rows;
			*what = forms[i].what;
			return true;
		}
	}
	return false;
}

/*
 * A column definition in ALTER TABLE with the PRIMARY KEY attribute adds a
 * primary key: say so with an action of its own, after the column's.
 */
static void
add_column_pk_action(DdlStatement *st, DdlColumn *col)
{
	DdlAlterAction *a;

	if (col == NULL || !col->primary_key)
		return;
	a = new_action(st, DDL_ALTER_ADD_PRIMARY_KEY);
	a->key_columns = list_make1(pstrdup(col->name));
}

/* ALTER TABLE t ADD ..., ADD consumed. */
static bool
parse_alter_add(DdlParser *p, DdlStatement *st)
{
	bool		column = accept_kw(p, "COLUMN");
	bool		if_not_exists = accept_kw3(p, "IF", "NOT", "EXISTS");

	if (!column && !if_not_exists && peek_key_element(p))
	{
		bool		is_pk;
		List	   *pk = NIL;
		DdlAlterAction *a;

		if (!parse_key_element(p, &is_pk, &pk))
			return false;
		a = new_action(st, is_pk ? DDL_ALTER_ADD_PRIMARY_KEY : DDL_ALTER_INDEX);
		a->key_columns = pk;
		return true;
	}
	if (!column && !if_not_exists && peek_kw(p, 0, "PERIOD"))
		return fail_msg(p, pstrdup("ADD PERIOD FOR is not supported"));

	if (accept_punct(p, '('))
	{
		/*
		 * ADD [COLUMN] (col def, ..., [index defs]): each action's text is
		 * its element, so that the texts stay linear in the input
		 */
		for (;;)
		{
			size_t		start = peek(p, 0)->start;
			int			before = list_length(st->actions);
			ListCell   *lc;

			if (peek_key_element(p))
			{
				bool		is_pk;
				List	   *pk = NIL;
				DdlAlterAction *a;

				if (!parse_key_element(p, &is_pk, &pk))
					return false;
				a = new_action(st, is_pk ? DDL_ALTER_ADD_PRIMARY_KEY : DDL_ALTER_INDEX);
				a->key_columns = pk;
			}
			else
			{
				DdlColumn  *col;
				DdlAlterAction *a;

				if (!parse_column(p, &col))
					return false;
				a = new_action(st, DDL_ALTER_ADD_COLUMN);
				a->name = col->name;
				a->column = col;
				a->if_not_exists = if_not_exists;
				add_column_pk_action(st, col);
			}
			for_each_from(lc, st->actions, before)
				((DdlAlterAction *) lfirst(lc))->text =
					pnstrdup(p->src + start, p->prev_end - start);
			if (accept_punct(p, ')'))
				return true;
			if (!accept_punct(p, ','))
				return fail(p, "\",\" or \")\" in ADD COLUMN (...)");
		}
	}
	else
	{
		DdlColumn  *col;
		DdlAlterAction *a;

		if (!parse_column(p, &col))
			return false;
		a = new_action(st, DDL_ALTER_ADD_COLUMN);
		a->name = col->name;
		a->column = col;
		a->if_not_exists = if_not_exists;
		add_column_pk_action(st, col);
		return true;
	}
}

/* DROP ..., DROP consumed. */
static bool
parse_alter_drop(DdlParser *p, DdlStatement *st)
{
	DdlAlterAction *a;
	char	   *name;

	if (accept_kw2(p, "PRIMARY", "KEY"))
	{
		new_action(st, DDL_ALTER_DROP_PRIMARY_KEY);
		return true;
	}
	if (accept_kw(p, "INDEX") || accept_kw(p, "KEY") ||
		accept_kw2(p, "FOREIGN", "KEY") || accept_kw(p, "CHECK") ||
		accept_kw(p, "CONSTRAINT"))
	{
		bool		if_exists = accept_kw2(p, "IF", "EXISTS");

		if (!parse_ident(p, &name, "an index or constraint name"))
			return false;
		/* DROP INDEX `PRIMARY` drops the primary key */
		a = new_action(st, pg_strcasecmp(name, "PRIMARY") == 0 ?
					   DDL_ALTER_DROP_PRIMARY_KEY : DDL_ALTER_INDEX);
		a->name = name;
		a->if_exists = if_exists;
		return true;
	}
	if (peek_kw(p, 0, "PERIOD") || peek_kw(p, 0, "SYSTEM"))
		return fail_msg(p, pstrdup("DROP PERIOD / SYSTEM VERSIONING is not supported"));
	accept_kw(p, "COLUMN");
	a = new_action(st, DDL_ALTER_DROP_COLUMN);
	a->if_exists = accept_kw2(p, "IF", "EXISTS");
	if (!parse_ident(p, &a->name, "a column name"))
	{
		a->kind = DDL_ALTER_UNKNOWN;
		return false;
	}
	/* MariaDB: DROP COLUMN x RESTRICT|CASCADE */
	if (!accept_kw(p, "RESTRICT"))
		accept_kw(p, "CASCADE");
	return true;
}

/* ALTER ... inside ALTER TABLE, the first ALTER consumed. */
static bool
parse_alter_alter(DdlParser *p, DdlStatement *st)
{
	DdlAlterAction *a;

	if (accept_kw(p, "INDEX") || accept_kw(p, "KEY"))
	{
		a = new_action(st, DDL_ALTER_INDEX);
		if (!parse_ident(p, &a->name, "an index name"))
			return false;
		if (accept_kw(p, "VISIBLE") || accept_kw(p, "INVISIBLE") ||
			accept_kw(p, "IGNORED") || accept_kw2(p, "NOT", "IGNORED"))
			return true;
		return fail(p, "VISIBLE or INVISIBLE");
	}
	if (accept_kw(p, "CHECK") || accept_kw(p, "CONSTRAINT"))
	{
		a = new_action(st, DDL_ALTER_INDEX);
		if (!parse_ident(p, &a->name, "a constraint name"))
			return false;
		accept_kw(p, "NOT");
		if (!accept_kw(p, "ENFORCED"))
			return fail(p, "ENFORCED");
		return true;
	}
	accept_kw(p, "COLUMN");
	a = new_action(st, DDL_ALTER_COLUMN_DEFAULT);
	if (!parse_ident(p, &a->name, "a column name"))
		return false;
	a->column = palloc0(sizeof(DdlColumn));
	a->column->name = a->name;
	if (accept_kw2(p, "SET", "DEFAULT"))
		return parse_default(p, a->column);
	if (accept_kw2(p, "DROP", "DEFAULT") ||
		accept_kw2(p, "SET", "VISIBLE") || accept_kw2(p, "SET", "INVISIBLE"))
		return true;
	return fail(p, "SET DEFAULT, DROP DEFAULT or SET VISIBLE|INVISIBLE");
}

/*
 * Does the token at lookahead position 'at' start an ALTER TABLE clause?
 * (For ORDER BY's column list, which is also comma-separated.)
 */
static bool
peek_alter_clause_start(DdlParser *p, int at)
{
	static const char *const kws[] = {
		"ADD", "ALGORITHM", "ALTER", "ANALYZE", "CHANGE", "CHARACTER",
		"CHARSET", "CHECK", "COALESCE", "COLLATE", "CONVERT", "DEFAULT",
		"DISABLE", "DISCARD", "DROP", "ENABLE", "EXCHANGE", "FORCE", "IMPORT",
		"LOCK", "MODIFY", "OPTIMIZE", "ORDER", "PARTITION", "REBUILD",
		"REMOVE", "RENAME", "REORGANIZE", "REPAIR", "TRUNCATE", "WITH",
		"WITHOUT"
	};
	int			i;

	if (peek_table_option_at(p, at))
		return true;
	for (i = 0; i < (int) lengthof(kws); i++)
		if (peek_kw(p, at, kws[i]))
			return true;
	return false;
}

/* One clause of ALTER TABLE (may add several actions: ADD (a, b)). */
static bool
parse_alter_clause(DdlParser *p, DdlStatement *st)
{
	DdlAlterAction *a;
	bool		changes_rows;
	const char *what;

	if (peek_standalone(p, &changes_rows, &what))
	{
		/*
		 * Partition maintenance ends the statement (commas and all).  The
		 * ones that change rows are unknown actions; EXCHANGE and CONVERT
		 * name another table whose rows change too: new_table.
		 */
		a = new_action(st, changes_rows ? DDL_ALTER_UNKNOWN : DDL_ALTER_TABLE_OPTION);
		if (changes_rows)
			a->reason = pstrdup(what);
		while (!at_end(p))
		{
			if (changes_rows && a->new_table == NULL && accept_kw(p, "TABLE"))
			{
				DdlTableName n;

				if (parse_table_name(p, &n))
				{
					a->new_table = n.name;
					a->new_schema = n.schema;
				}
				p->error = NULL;
			}
			else
				next(p);
		}
		return true;
	}
	if (accept_kw(p, "ADD"))
		return parse_alter_add(p, st);
	if (accept_kw(p, "DROP"))
		return parse_alter_drop(p, st);
	if (peek_kw(p, 0, "ALTER"))
	{
		next(p);
		return parse_alter_alter(p, st);
	}
	if (accept_kw(p, "CHANGE"))
	{
		accept_kw(p, "COLUMN");
		a = new_action(st, DDL_ALTER_CHANGE_COLUMN);
		a->if_exists = accept_kw2(p, "IF", "EXISTS");
		if (!parse_ident(p, &a->name, "a column name"))
			return false;
		a->column = palloc0(sizeof(DdlColumn));
		if (!parse_ident(p, &a->column->name, "the new column name"))
			return false;
		a->new_name = a->column->name;
		if (!parse_column_def(p, a->column))
			return false;
		add_column_pk_action(st, a->column);
		return true;
	}
	if (accept_kw(p, "MODIFY"))
	{
		accept_kw(p, "COLUMN");
		a = new_action(st, DDL_ALTER_MODIFY_COLUMN);
		a->if_exists = accept_kw2(p, "IF", "EXISTS");
		if (!parse_column(p, &a->column))
			return false;
		a->name = a->column->name;
		add_column_pk_action(st, a->column);
		return true;
	}
	if (accept_kw(p, "RENAME"))
	{
		if (accept_kw(p, "COLUMN"))
		{
			a = new_action(st, DDL_ALTER_RENAME_COLUMN);
			a->if_exists = accept_kw2(p, "IF", "EXISTS");
			if (!parse_ident(p, &a->name, "a column name"))
				return false;
			if (!accept_kw(p, "TO"))
				return fail(p, "TO");
			return parse_ident(p, &a->new_name, "the new column name");
		}
		if (accept_kw(p, "INDEX") || accept_kw(p, "KEY"))
		{
			a = new_action(st, DDL_ALTER_INDEX);
			if (!parse_ident(p, &a->name, "an index name"))
				return false;
			if (!accept_kw(p, "TO"))
				return fail(p, "TO");
			return parse_ident(p, &a->new_name, "the new index name");
		}
		{
			DdlTableName n;

			if (!accept_kw(p, "TO"))
				accept_kw(p, "AS");
			a = new_action(st, DDL_ALTER_RENAME_TABLE);
			if (!parse_table_name(p, &n))
				return false;
			a->new_table = n.name;
			a->new_schema = n.schema;
			return true;
		}
	}
	if (accept_kw(p, "CONVERT"))
	{
		if (!accept_kw(p, "TO"))
			return fail(p, "TO after CONVERT");
		if (!peek_charset_kw(p))
			return fail(p, "CHARACTER SET after CONVERT TO");
		skip_charset_kw(p);
		a = new_action(st, DDL_ALTER_CONVERT_CHARSET);
		accept_punct(p, '=');
		if (!parse_charset_name(p, &a->charset, "a character set name"))
			return false;
		if (accept_kw(p, "COLLATE"))
		{
			accept_punct(p, '=');
			if (!parse_charset_name(p, &a->collation, "a collation name"))
				return false;
		}
		return true;
	}
	if (peek_table_option(p))
	{
		if (!parse_table_options(p))
			return false;
		new_action(st, DDL_ALTER_TABLE_OPTION);
		return true;
	}
	if (accept_kw(p, "ALGORITHM") || accept_kw(p, "LOCK"))
	{
		if (!skip_option_value(p))
			return false;
		new_action(st, DDL_ALTER_TABLE_OPTION);
		return true;
	}
	if (accept_kw(p, "FORCE") ||
		accept_kw2(p, "ENABLE", "KEYS") || accept_kw2(p, "DISABLE", "KEYS") ||
		accept_kw2(p, "WITH", "VALIDATION") ||
		accept_kw2(p, "WITHOUT", "VALIDATION"))
	{
		new_action(st, DDL_ALTER_TABLE_OPTION);
		return true;
	}
	if (accept_kw2(p, "ORDER", "BY"))
	{
		/* col [ASC|DESC], ... (a reserved word after ',' ends the list) */
		for (;;)
		{
			char	   *name;

			if (!parse_ident(p, &name, "a column name"))
				return false;
			if (!accept_kw(p, "ASC"))
				accept_kw(p, "DESC");
			/* ", ADD ..." is the next clause, ", col" continues the list */
			if (!peek_punct(p, 0, ',') || !peek_is_ident(p, 1) ||
				peek_alter_clause_start(p, 1))
				break;
			next(p);
		}
		new_action(st, DDL_ALTER_TABLE_OPTION);
		return true;
	}
	return fail(p, "an ALTER TABLE clause");
}

/* ALTER ... TABLE, TABLE consumed. */
static bool
parse_alter_table(DdlParser *p, DdlStatement *st)
{
	st->kind = DDL_ALTER_TABLE;
	if (accept_kw2(p, "IF", "EXISTS"))
		st->if_exists = true;
	if (!parse_table_name(p, &st->table))
		return false;
	accept_wait(p);

	while (!at_end(p))
	{
		size_t		start = peek(p, 0)->start;
		int			before = list_length(st->actions);
		bool		ok;
		ListCell   *lc;

		ok = parse_alter_clause(p, st);
		if (!ok)
		{
			DdlAlterAction *a;
			char	   *reason = p->error ? p->error : pstrdup("syntax error");

			p->error = NULL;
			if (peek(p, 0)->type == T_ERROR)
				return fail_msg(p, pstrdup(p->lex_error));
			/* the clause's own actions are replaced by one unknown action */
			while (list_length(st->actions) > before)
				st->actions = list_delete_last(st->actions);
			skip_to_clause_end(p);
			if (peek_punct(p, 0, ')'))
				next(p);		/* stray ')': keep going */
			a = new_action(st, DDL_ALTER_UNKNOWN);
			a->reason = reason;
			if (st->reason == NULL)
				st->reason = psprintf("ALTER TABLE: %s", reason);
		}
		for_each_from(lc, st->actions, before)
		{
			DdlAlterAction *a = lfirst(lc);

			if (a->kind == DDL_ALTER_UNKNOWN && st->reason == NULL)
				st->reason = psprintf("ALTER TABLE: %s", a->reason);
			if (a->text == NULL)
				a->text = pnstrdup(p->src + start,
								   p->prev_end > start ? p->prev_end - start : 0);
		}
		if (accept_punct(p, ','))
		{
			if (at_end(p))
			{
				DdlAlterAction *a = new_action(st, DDL_ALTER_UNKNOWN);

				fail(p, "an ALTER TABLE clause after \",\"");
				a->reason = p->error;
				a->text = pstrdup("");
				p->error = NULL;
				if (st->reason == NULL)
					st->reason = psprintf("ALTER TABLE: %s", a->reason);
			}
		}
		else
		{
			/* only PARTITION BY may follow a clause without a comma */
			if (!at_end(p) && !peek_kw(p, 0, "PARTITION") && !peek_kw(p, 0, "REMOVE") &&
				!peek_table_option(p) && ok)
			{
				DdlAlterAction *a;

				start = peek(p, 0)->start;
				fail(p, "\",\" between ALTER TABLE clauses");
				a = new_action(st, DDL_ALTER_UNKNOWN);
				a->reason = p->error;
				p->error = NULL;
				if (st->reason == NULL)
					st->reason = psprintf("ALTER TABLE: %s", a->reason);
				skip_to_clause_end(p);
				if (peek_punct(p, 0, ')'))
					next(p);
				a->text = pnstrdup(p->src + start, p->prev_end > start ? p->prev_end - start : 0);
				accept_punct(p, ',');
			}
		}
	}
	return true;
}

/* ----------------------------------------------------------------
 * DROP TABLE, RENAME TABLE, TRUNCATE
 * ----------------------------------------------------------------
 */

static bool
parse_drop_table(DdlParser *p, DdlStatement *st)
{
	st->kind = DDL_DROP_TABLE;
	if (accept_kw2(p, "IF", "EXISTS"))
		st->if_exists = true;
	for (;;)
	{
		DdlTableName n;

		if (!parse_table_name(p, &n))
			return false;
		st->tables = lappend(st->tables, copy_table_name(&n));
		if (!accept_punct(p, ','))
			break;
	}
	st->table = *(DdlTableName *) linitial(st->tables);
	accept_wait(p);
	if (!accept_kw(p, "RESTRICT"))
		accept_kw(p, "CASCADE");
	return true;
}

static bool
parse_rename_table(DdlParser *p, DdlStatement *st)
{
	st->kind = DDL_RENAME_TABLE;
	if (accept_kw2(p, "IF", "EXISTS"))
		st->if_exists = true;
	for (;;)
	{
		DdlRename  *r = palloc0(sizeof(DdlRename));

		if (!parse_table_name(p, &r->from))
			return false;
		accept_wait(p);
		if (!accept_kw(p, "TO"))
			return fail(p, "TO");
		if (!parse_table_name(p, &r->to))
			return false;
		st->renames = lappend(st->renames, r);
		if (!accept_punct(p, ','))
			return true;
	}
}

static bool
parse_truncate(DdlParser *p, DdlStatement *st)
{
	accept_kw(p, "TABLE");
	st->kind = DDL_TRUNCATE_TABLE;
	if (!parse_table_name(p, &st->table))
		return false;
	accept_wait(p);
	return true;
}

/* ----------------------------------------------------------------
 * Statements
 * ----------------------------------------------------------------
 */

/* [DEFINER = user] [SQL SECURITY x] [ALGORITHM = x] prefixes. */
static void
skip_view_prefixes(DdlParser *p)
{
	for (;;)
	{
		if (accept_kw(p, "ALGORITHM"))
		{
			accept_punct(p, '=');
			next(p);
		}
		else if (accept_kw(p, "DEFINER"))
		{
			accept_punct(p, '=');
			next(p);			/* user, CURRENT_USER */
			if (peek_punct(p, 0, '('))
				skip_parens(p);
			if (accept_punct(p, '@'))
				next(p);		/* host */
		}
		else if (accept_kw2(p, "SQL", "SECURITY"))
			next(p);
		else
			return;
	}
}

/* Objects whose CREATE / ALTER / DROP cannot change a mirrored table. */
static bool
peek_harmless_object(DdlParser *p)
{
	static const char *const kws[] = {
		"VIEW", "TRIGGER", "PROCEDURE", "FUNCTION", "EVENT", "USER", "ROLE",
		"SERVER", "TABLESPACE", "LOGFILE", "UNDO", "RESOURCE", "AGGREGATE",
		"INDEX", "INSTANCE"
	};
	int			i;

	for (i = 0; i < (int) lengthof(kws); i++)
		if (peek_kw(p, 0, kws[i]))
			return true;
	/* CREATE SPATIAL REFERENCE SYSTEM (SPATIAL INDEX is caught by caller) */
	return peek_kw(p, 0, "SPATIAL") && peek_kw(p, 1, "REFERENCE");
}

/* "unsupported statement CREATE \"SEQUENCE\"" */
static bool
unsupported(DdlParser *p, const char *stmt)
{
	Token	   *t = peek(p, 0);

	if (t->type == T_EOF || t->type == T_ERROR)
		return fail_msg(p, psprintf("incomplete statement %s", stmt));
	return fail_msg(p, psprintf("unsupported statement %s %s", stmt,
								tok_describe(p, t)));
}

static bool
parse_create(DdlParser *p, DdlStatement *st)
{
	if (accept_kw2(p, "OR", "REPLACE"))
		st->or_replace = true;
	skip_view_prefixes(p);
	if (accept_kw(p, "TEMPORARY"))
		st->temporary = true;
	if (accept_kw(p, "TABLE"))
		return parse_create_table(p, st);
	if (!st->temporary)
	{
		if (!accept_kw(p, "ONLINE"))
			accept_kw(p, "OFFLINE");
		if ((peek_kw(p, 0, "UNIQUE") || peek_kw(p, 0, "FULLTEXT") ||
			 peek_kw(p, 0, "SPATIAL")) && peek_kw(p, 1, "INDEX"))
			next(p);
		if (accept_kw(p, "INDEX"))
		{
			/* CREATE INDEX name [USING x] ON tbl (...) */
			st->kind = DDL_NO_DATA_EFFECT;
			while (!at_end(p) && !peek_kw(p, 0, "ON"))
				next(p);
			if (accept_kw(p, "ON"))
				(void) parse_table_name(p, &st->table);
			p->error = NULL;
			skip_to_end(p);
			return true;
		}
		if (peek_harmless_object(p) || peek_kw(p, 0, "DATABASE") ||
			peek_kw(p, 0, "SCHEMA"))
		{
			st->kind = DDL_NO_DATA_EFFECT;
			skip_to_end(p);
			return true;
		}
	}
	return unsupported(p, "CREATE");
}

static bool
parse_alter(DdlParser *p, DdlStatement *st)
{
	if (!accept_kw(p, "ONLINE"))
		accept_kw(p, "OFFLINE");
	accept_kw(p, "IGNORE");
	if (accept_kw(p, "TABLE"))
		return parse_alter_table(p, st);
	skip_view_prefixes(p);
	if (peek_harmless_object(p) || peek_kw(p, 0, "DATABASE") ||
		peek_kw(p, 0, "SCHEMA"))
	{
		st->kind = DDL_NO_DATA_EFFECT;
		skip_to_end(p);
		return true;
	}
	return unsupported(p, "ALTER");
}

static bool
parse_drop(DdlParser *p, DdlStatement *st)
{
	if (accept_kw(p, "TEMPORARY"))
		st->temporary = true;
	if (accept_kw(p, "TABLE") || accept_kw(p, "TABLES"))
		return parse_drop_table(p, st);
	if (!st->temporary)
	{
		if (!accept_kw(p, "ONLINE"))
			accept_kw(p, "OFFLINE");
		if (accept_kw(p, "INDEX"))
		{
			/* DROP INDEX name ON tbl */
			char	   *name;

			st->kind = DDL_NO_DATA_EFFECT;
			if (parse_ident(p, &name, "an index name") && accept_kw(p, "ON"))
				(void) parse_table_name(p, &st->table);
			p->error = NULL;
			skip_to_end(p);
			return true;
		}
		if (accept_kw(p, "DATABASE") || accept_kw(p, "SCHEMA"))
		{
			char	   *name;

			accept_kw2(p, "IF", "EXISTS");
			if (parse_ident(p, &name, "a database name"))
				st->table.schema = name;
			p->error = NULL;
			return fail_msg(p, pstrdup("DROP DATABASE drops every table of the database"));
		}
		if (peek_harmless_object(p))
		{
			st->kind = DDL_NO_DATA_EFFECT;
			skip_to_end(p);
			return true;
		}
	}
	return unsupported(p, "DROP");
}

/* ANALYZE / OPTIMIZE / CHECK / CHECKSUM [NO_WRITE_TO_BINLOG|LOCAL] TABLE */
static bool
parse_maintenance(DdlParser *p, DdlStatement *st, const char *stmt)
{
	if (!accept_kw(p, "NO_WRITE_TO_BINLOG"))
		accept_kw(p, "LOCAL");
	if (accept_kw(p, "TABLE") || accept_kw(p, "TABLES"))
	{
		st->kind = DDL_NO_DATA_EFFECT;
		(void) parse_table_name(p, &st->table);
		p->error = NULL;
		skip_to_end(p);
		return true;
	}
	return unsupported(p, stmt);
}

static bool
parse_statement(DdlParser *p, DdlStatement *st)
{
	Token	   *t = peek(p, 0);

	if (t->type == T_EOF)
		return fail_msg(p, pstrdup("empty statement"));
	if (accept_kw(p, "CREATE"))
		return parse_create(p, st);
	if (accept_kw(p, "ALTER"))
		return parse_alter(p, st);
	if (accept_kw(p, "DROP"))
		return parse_drop(p, st);
	if (accept_kw(p, "RENAME"))
	{
		if (accept_kw(p, "TABLE") || accept_kw(p, "TABLES"))
			return parse_rename_table(p, st);
		if (peek_kw(p, 0, "USER"))
		{
			st->kind = DDL_NO_DATA_EFFECT;
			skip_to_end(p);
			return true;
		}
		return unsupported(p, "RENAME");
	}
	if (accept_kw(p, "TRUNCATE"))
		return parse_truncate(p, st);
	if (accept_kw(p, "ANALYZE"))
		return parse_maintenance(p, st, "ANALYZE");
	if (accept_kw(p, "OPTIMIZE"))
		return parse_maintenance(p, st, "OPTIMIZE");
	if (accept_kw(p, "CHECK"))
		return parse_maintenance(p, st, "CHECK");
	if (accept_kw(p, "CHECKSUM"))
		return parse_maintenance(p, st, "CHECKSUM");
	if (peek_kw(p, 0, "REPAIR"))
		return fail_msg(p, pstrdup("REPAIR TABLE may remove rows"));
	if (t->type == T_ERROR)
		return false;
	return fail_msg(p, psprintf("unsupported statement starting with %s",
								tok_describe(p, t)));
}

DdlStatement *
ddl_parse(const char *statement)
{
	DdlStatement *st = palloc0(sizeof(DdlStatement));
	DdlParser	p;
	bool		ok;

	if (statement == NULL)
	{
		st->reason = pstrdup("no statement");
		return st;
	}
	memset(&p, 0, sizeof(p));
	p.src = statement;
	p.len = strlen(statement);
	p.last_type = T_EOF;

	ok = parse_statement(&p, st);
	if (ok && st->kind != DDL_NO_DATA_EFFECT)
	{
		/* the statement must end here (a ';' is allowed) */
		accept_punct(&p, ';');
		if (peek(&p, 0)->type != T_EOF)
			ok = fail(&p, "the end of the statement");
	}
	if (p.lex_error != NULL)
	{
		/* an invalid statement was not executed as written: say so */
		st->kind = DDL_UNKNOWN;
		st->reason = pstrdup(p.lex_error);
	}
	else if (!ok)
	{
		st->kind = DDL_UNKNOWN;
		st->reason = p.error ? p.error : pstrdup("syntax error");
	}
	if (st->kind == DDL_UNKNOWN)
	{
		/* only the table (if any) and the reason mean anything */
		st->tables = NIL;
		st->renames = NIL;
		st->actions = NIL;
		st->columns = NIL;
		st->primary_key = NIL;
		st->like_table.schema = st->like_table.name = NULL;
		st->columns_incomplete = false;
	}
	return st;
}

const char *
ddl_kind_name(DdlKind kind)
{
	switch (kind)
	{
		case DDL_UNKNOWN:
			return "unknown";
		case DDL_NO_DATA_EFFECT:
			return "no_data_effect";
		case DDL_CREATE_TABLE:
			return "create_table";
		case DDL_DROP_TABLE:
			return "drop_table";
		case DDL_TRUNCATE_TABLE:
			return "truncate_table";
		case DDL_RENAME_TABLE:
			return "rename_table";
		case DDL_ALTER_TABLE:
			return "alter_table";
	}
	return "unknown";
}

const char *
ddl_alter_kind_name(DdlAlterKind kind)
{
	switch (kind)
	{
		case DDL_ALTER_UNKNOWN:
			return "unknown";
		case DDL_ALTER_ADD_COLUMN:
			return "add_column";
		case DDL_ALTER_DROP_COLUMN:
			return "drop_column";
		case DDL_ALTER_RENAME_COLUMN:
			return "rename_column";
		case DDL_ALTER_CHANGE_COLUMN:
			return "change_column";
		case DDL_ALTER_MODIFY_COLUMN:
			return "modify_column";
		case DDL_ALTER_COLUMN_DEFAULT:
			return "column_default";
		case DDL_ALTER_RENAME_TABLE:
			return "rename_table";
		case DDL_ALTER_ADD_PRIMARY_KEY:
			return "add_primary_key";
		case DDL_ALTER_DROP_PRIMARY_KEY:
			return "drop_primary_key";
		case DDL_ALTER_INDEX:
			return "index";
		case DDL_ALTER_CONVERT_CHARSET:
			return "convert_charset";
		case DDL_ALTER_TABLE_OPTION:
			return "table_option";
	}
	return "unknown";
}
