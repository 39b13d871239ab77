/*-------------------------------------------------------------------------
 *
 * ddl.h
 *	  A parser for the MySQL DDL statements that reach a VStream.
 *
 * A DDL event carries the statement as the source executed it.  The worker
 * needs to know what it did to a mirrored table: which columns were added,
 * dropped, renamed or retyped, which tables were created, dropped, renamed
 * or truncated.  ddl_parse() recognises exactly those statement forms and
 * says so; everything else is DDL_UNKNOWN (or DDL_ALTER_UNKNOWN inside an
 * ALTER TABLE), which the caller must treat as "effect unknown" and handle
 * safely (compare the next FIELD event with the mirror, or re-copy the
 * table) — never as "no effect".
 *
 * The parser is a tokenizer plus a small recursive-descent reader: it
 * understands comments (-- , #, C-style, and MySQL's executable
 * comments), backquoted identifiers (with doubled backquotes), quoted
 * strings with escapes, qualified names (keyspace.table), keywords in any
 * case, and skips over parts it does not need (index definitions, table
 * options, partition clauses) by balancing parentheses.  It never raises an
 * error for bad input: an unparsable statement is DDL_UNKNOWN.
 *
 * Everything is palloc'd in the current memory context.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/ddl.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_DDL_H
#define VSTREAM_DDL_H

#include "postgres.h"

#include "nodes/pg_list.h"

typedef enum DdlKind
{
	DDL_UNKNOWN = 0,			/* not recognised: effect unknown */
	DDL_NO_DATA_EFFECT,			/* recognised, cannot change mirrored rows or
								 * columns: CREATE/DROP INDEX, ANALYZE,
								 * OPTIMIZE, CREATE/DROP VIEW, TRIGGER... */
	DDL_CREATE_TABLE,			/* table; like_table for CREATE TABLE ... LIKE */
	DDL_DROP_TABLE,				/* tables */
	DDL_TRUNCATE_TABLE,			/* table */
	DDL_RENAME_TABLE,			/* renames (RENAME TABLE a TO b, c TO d) */
	DDL_ALTER_TABLE				/* table, actions */
} DdlKind;

typedef enum DdlAlterKind
{
	DDL_ALTER_UNKNOWN = 0,		/* a clause that was not recognised */
	DDL_ALTER_ADD_COLUMN,		/* column (its definition) */
	DDL_ALTER_DROP_COLUMN,		/* name */
	DDL_ALTER_RENAME_COLUMN,	/* name -> new_name */
	DDL_ALTER_CHANGE_COLUMN,	/* CHANGE name new_name def; column->name is
								 * the new name */
	DDL_ALTER_MODIFY_COLUMN,	/* MODIFY name def */
	DDL_ALTER_COLUMN_DEFAULT,	/* ALTER [COLUMN] name SET DEFAULT ... / DROP
								 * DEFAULT / SET VISIBLE|INVISIBLE: no effect on
								 * existing rows */
	DDL_ALTER_RENAME_TABLE,		/* RENAME [TO|AS] new_name (new_table) */
	DDL_ALTER_ADD_PRIMARY_KEY,	/* key_columns; also follows the ADD, CHANGE
								 * or MODIFY action of a column defined with
								 * PRIMARY KEY */
	DDL_ALTER_DROP_PRIMARY_KEY,	/* also DROP INDEX|CONSTRAINT `PRIMARY` */
	DDL_ALTER_INDEX,			/* ADD/DROP/RENAME INDEX|KEY|UNIQUE|FULLTEXT|
								 * SPATIAL|FOREIGN KEY|CONSTRAINT|CHECK,
								 * ALTER INDEX ... VISIBLE: no data effect */
	DDL_ALTER_CONVERT_CHARSET,	/* CONVERT TO CHARACTER SET x [COLLATE y]:
								 * every text column changes */
	DDL_ALTER_TABLE_OPTION,		/* ENGINE=, [DEFAULT] CHARSET= (new columns
								 * only), COMMENT=, AUTO_INCREMENT=,
								 * ROW_FORMAT=, ALGORITHM=, LOCK=, FORCE,
								 * ORDER BY, partitioning: no data effect */
} DdlAlterKind;

/* How a column definition gives existing rows a value. */
typedef enum DdlDefaultKind
{
	DDL_DEFAULT_NONE = 0,		/* no DEFAULT clause */
	DDL_DEFAULT_NULL,			/* DEFAULT NULL */
	DDL_DEFAULT_CONSTANT,		/* DEFAULT 'literal' / number / b'..' /
								 * x'..' / TRUE / FALSE: default_value */
	DDL_DEFAULT_EXPRESSION		/* DEFAULT CURRENT_TIMESTAMP[(n)], NOW(),
								 * DEFAULT (expr), or a generated column (AS
								 * (expr)): existing rows' values cannot be
								 * derived; default_value holds the text */
} DdlDefaultKind;

/* A column definition (ADD, CHANGE, MODIFY, CREATE TABLE). */
typedef struct DdlColumn
{
	char	   *name;
	char	   *type;			/* the type as written, lower case, with its
								 * modifiers: "bigint unsigned",
								 * "varchar(64)", "enum('a','b')",
								 * "decimal(10,2)" (no NULL/DEFAULT/...
								 * attributes) */
	char	   *charset;		/* CHARACTER SET / CHARSET of the column, or
								 * NULL */
	char	   *collation;		/* COLLATE of the column, or NULL */
	bool		not_null;
	bool		primary_key;	/* PRIMARY KEY in the column definition */
	bool		auto_increment;
	DdlDefaultKind default_kind;
	char	   *default_value;	/* constant: the value (unquoted, unescaped;
								 * numbers as written; TRUE/FALSE as 1/0);
								 * expression: its text */
	bool		generated;		/* [GENERATED ALWAYS] AS (expr) */
	bool		first;			/* FIRST */
	char	   *after;			/* AFTER column, or NULL */
	/* added by the parser's implementation: */
	bool		default_hex_or_bit; /* the constant was a hexadecimal or bit
									 * literal (X'1F', 0x1F, B'101', 0b101):
									 * default_value is "0x1F" / "0b101", a
									 * number for numeric and BIT columns,
									 * bytes for string columns */
} DdlColumn;

typedef struct DdlAlterAction
{
	DdlAlterKind kind;
	char	   *name;			/* column named by DROP, RENAME, CHANGE,
								 * MODIFY, ALTER COLUMN */
	char	   *new_name;		/* RENAME COLUMN / CHANGE: the new name */
	DdlColumn  *column;			/* ADD, CHANGE, MODIFY */
	char	   *new_table;		/* RENAME TO: new table name (unqualified);
								 * DDL_ALTER_UNKNOWN for EXCHANGE PARTITION
								 * ... WITH TABLE x, CONVERT TABLE x TO
								 * PARTITION, CONVERT PARTITION ... TO TABLE
								 * x: x, whose rows change too */
	char	   *new_schema;		/* its qualifier, or NULL */
	List	   *key_columns;	/* ADD PRIMARY KEY: column names (char *) */
	char	   *charset;		/* CONVERT TO CHARACTER SET */
	char	   *collation;		/* CONVERT TO ... COLLATE */
	char	   *text;			/* the clause as written (for logs; for ADD
								 * (a int, b int) the element, "a int") */
	/* added by the parser's implementation: */
	bool		if_exists;		/* MariaDB DROP|CHANGE|MODIFY|RENAME COLUMN IF
								 * EXISTS, DROP INDEX IF EXISTS: nothing
								 * happens when the column does not exist */
	bool		if_not_exists;	/* MariaDB ADD COLUMN IF NOT EXISTS: nothing
								 * happens when the column exists */
	char	   *reason;			/* DDL_ALTER_UNKNOWN: why */
} DdlAlterAction;

/* A qualified table name. */
typedef struct DdlTableName
{
	char	   *schema;			/* qualifier as written (keyspace or MySQL
								 * database, e.g. "vt_customer"), or NULL */
	char	   *name;
} DdlTableName;

/* One pair of a RENAME TABLE statement. */
typedef struct DdlRename
{
	DdlTableName from;
	DdlTableName to;
} DdlRename;

typedef struct DdlStatement
{
	DdlKind		kind;
	DdlTableName table;			/* CREATE, TRUNCATE, ALTER; first of DROP;
								 * also for DDL_NO_DATA_EFFECT CREATE/DROP
								 * INDEX, ANALYZE/OPTIMIZE/CHECK TABLE, and
								 * for DDL_UNKNOWN when the statement was
								 * about a table whose name was read (DROP
								 * DATABASE: schema only) */
	List	   *tables;			/* DROP TABLE: DdlTableName * */
	List	   *renames;		/* RENAME TABLE: DdlRename *, in order */
	List	   *actions;		/* ALTER TABLE: DdlAlterAction * */
	List	   *columns;		/* CREATE TABLE: DdlColumn * (in order) */
	List	   *primary_key;	/* CREATE TABLE: key column names (char *),
								 * from PRIMARY KEY (...) or a column's
								 * PRIMARY KEY attribute */
	DdlTableName like_table;	/* CREATE TABLE ... LIKE: the source (name
								 * NULL otherwise) */
	bool		if_exists;		/* DROP ... IF EXISTS */
	bool		if_not_exists;	/* CREATE ... IF NOT EXISTS */
	bool		temporary;		/* CREATE/DROP TEMPORARY TABLE (never
								 * replicated as DDL, but say so) */
	/* added by the parser's implementation: */
	bool		or_replace;		/* MariaDB CREATE OR REPLACE TABLE: an
								 * existing table of that name was dropped */
	bool		columns_incomplete; /* CREATE TABLE ... [AS] SELECT: columns
									 * holds only the explicitly defined
									 * columns; the query's columns are
									 * unknown (reason says so too) */
	char	   *reason;			/* DDL_UNKNOWN / DDL_ALTER_UNKNOWN: why, for
								 * logs ("unsupported statement CREATE
								 * \"sequence\"", "expected ..., found ...");
								 * for ALTER TABLE "ALTER TABLE: " and the
								 * first unknown action's reason; also set
								 * with columns_incomplete */
} DdlStatement;

/* Parse one statement (a trailing ';' is allowed). Never NULL, never raises. */
extern DdlStatement *ddl_parse(const char *statement);

/* Names for logs and the SQL debugging function. */
extern const char *ddl_kind_name(DdlKind kind);
extern const char *ddl_alter_kind_name(DdlAlterKind kind);

#endif							/* VSTREAM_DDL_H */
