/*-------------------------------------------------------------------------
 *
 * live.h
 *	  Live foreign scans of Vitess tables through VTGate's MySQL protocol.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/live.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_LIVE_H
#define VSTREAM_LIVE_H

#include "postgres.h"

#include "foreign/fdwapi.h"

#include "options.h"

/* Fill the scan callbacks of the FDW handler's routine. */
extern void live_fill_routine(FdwRoutine *routine);

/*
 * The constant default of a source column, read from information_schema
 * through VTGate's MySQL port.  Returns false if it cannot be known (no
 * connection, an expression default); otherwise *isnull or *value (palloc'd,
 * unquoted) describe it.  Never raises an error for a remote failure.
 * Implemented by the connection module (mysql_conn.c), with TLS as the
 * server asks.
 */
extern bool live_column_default(const VStreamServerOptions *opts,
								const char *table, const char *column,
								char **value, bool *isnull);

#endif							/* VSTREAM_LIVE_H */
