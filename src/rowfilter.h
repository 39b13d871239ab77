/*-------------------------------------------------------------------------
 *
 * rowfilter.h
 *	  Comparison row filters: validation and the apply-side re-check.
 *
 * A row filter is the WHERE condition of a table's VStream rule.  Vitess
 * evaluates it, but for a condition without in_keyrange() it sends both
 * images of an update when either image meets it, so the apply evaluates
 * the same condition on the after image to remove a row updated out of
 * the filter (and to insert one updated into it).  Only the subset whose
 * result the apply reproduces exactly is accepted; rowfilter_parse() and
 * rowfilter_check_fields() refuse the rest when the filter is set.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/rowfilter.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_ROWFILTER_H
#define VSTREAM_ROWFILTER_H

#include "postgres.h"

#include "nodes/pg_list.h"

#include "apply.h"
#include "binlogdata.pb-c.h"
#include "query.pb-c.h"

/* A parsed row filter: its conjuncts (RowFilterTerm *), ANDed. */
typedef struct RowFilter RowFilter;

/*
 * Parse a row filter; raises a clear error naming what is not supported.
 * Never returns NULL.
 */
extern RowFilter *rowfilter_parse(const char *condition);

/*
 * Check a parsed filter against the source table's columns (its FIELD
 * event, "select *") and the columns the table streams ("streamed": NIL =
 * all): every column exists, is streamed, and has a type the apply
 * compares exactly like Vitess.
 */
extern void rowfilter_check_fields(RowFilter *rf, const char *table,
								   Query__Field **fields, int nfields,
								   List *streamed);

/* What the apply does with one row change of a table with a row filter. */
typedef enum RowFilterAction
{
	ROWFILTER_APPLY,			/* as it comes */
	ROWFILTER_SKIP,				/* an insert outside the filter: nothing */
	ROWFILTER_DELETE,			/* an update out of the filter: delete the
								 * before image's key */
	ROWFILTER_INSERT			/* an update into the filter: upsert the
								 * after image */
} RowFilterAction;

/*
 * The action for one row change of mapping m (in a transaction: the first
 * call after a FIELD event reads the table's filter).
 */
extern RowFilterAction rowfilter_action(ApplyState *state, ApplyMapping *m,
										const Binlogdata__RowChange *rc);

#endif							/* VSTREAM_ROWFILTER_H */
