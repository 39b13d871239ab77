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

#endif							/* VSTREAM_LIVE_H */
