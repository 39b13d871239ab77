/*-------------------------------------------------------------------------
 *
 * deparse.h
 *	  Remote SQL (MySQL dialect, for VTGate) of live foreign scans.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/deparse.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_DEPARSE_H
#define VSTREAM_DEPARSE_H

#include "postgres.h"

#include "lib/stringinfo.h"
#include "nodes/pathnodes.h"
#include "utils/relcache.h"

/* How a condition can be sent to VTGate. */
typedef enum DeparseShip
{
	SHIP_NO = 0,				/* evaluate locally only */
	SHIP_EXACT,					/* MySQL gives exactly PostgreSQL's result */
	SHIP_SUPERSET				/* MySQL keeps at least PostgreSQL's rows
								 * (case-insensitive string comparison):
								 * send it and re-check it locally */
} DeparseShip;

/*
 * Can "expr" (a restriction or join clause of baserel) be evaluated by
 * VTGate?  Vars of other relations are sent as parameters.
 */
extern DeparseShip deparse_classify(PlannerInfo *root, RelOptInfo *baserel,
									Expr *expr);

/*
 * Can the sort of pathkeys be done remotely with PostgreSQL's order?  Only
 * for columns of types whose order MySQL shares (numbers, dates,
 * timestamps without zone).
 */
extern bool deparse_pathkeys_ok(PlannerInfo *root, RelOptInfo *baserel,
								List *pathkeys);

/*
 * The remote SELECT: the columns of retrieved_attrs (a list of attnums),
 * FROM the table, WHERE remote_conds (a list of Exprs), ORDER BY pathkeys,
 * LIMIT limit (< 0: none).  Parameters (Vars of other relations, Params)
 * are appended to *params as Exprs and written as "$n" (1-based) in the
 * text; deparse_fill_params() replaces them at execution.
 */
extern char *deparse_select(PlannerInfo *root, RelOptInfo *baserel,
							Relation rel, const char *remote_table,
							List *retrieved_attrs, List *remote_conds,
							List *pathkeys, int64 limit, List **params);

/*
 * A MySQL literal of a value of one of the pushed-down types (appended to
 * buf); false when the value cannot be written (then nothing is appended).
 */
extern bool deparse_literal(StringInfo buf, Datum value, Oid type, bool isnull);

/*
 * The query text with each "$n" outside quotes replaced by the literal of
 * values[n-1].
 */
extern char *deparse_fill_params(const char *sql, int nparams, Datum *values,
								 bool *nulls, Oid *types);

#endif							/* VSTREAM_DEPARSE_H */
