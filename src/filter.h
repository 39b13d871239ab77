/*-------------------------------------------------------------------------
 *
 * filter.h
 *	  Column and row filters of a stream's tables, in VStream's own rules.
 *
 * A filtered table is streamed through a Filter rule of its own,
 * "select <columns> from <table> where <condition>": excluded columns and
 * rows outside the condition never leave Vitess.  The rule is built and
 * checked against the source when the filter is set (set_table_filter());
 * the worker only reads the stored rules (vstream_fdw.table_filter).
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/filter.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_FILTER_H
#define VSTREAM_FILTER_H

#include "postgres.h"

#include "nodes/pg_list.h"

/* The stream's filter rules (VStreamTableFilter *), in a transaction. */
extern List *filter_load(int32 stream_id);

/*
 * The source columns a filtered table streams (char *), or NIL when the
 * table has no column filter.  In a transaction.
 */
extern List *filter_columns(int32 stream_id, const char *source_table);

#endif							/* VSTREAM_FILTER_H */
