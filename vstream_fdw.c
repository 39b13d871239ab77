/*-------------------------------------------------------------------------
 *
 * vstream_fdw.c
 *	  Module entry point of vstream_fdw: _PG_init and the FDW handler.
 *
 * vstream_fdw keeps a live copy of a Vitess keyspace in PostgreSQL.  This
 * file only wires the pieces together: the background worker subsystem
 * registers its GUCs, shared memory and launcher from worker_init(), and the
 * foreign-data wrapper handler lives here.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  vstream_fdw.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "foreign/fdwapi.h"
#include "utils/guc.h"

#include "live.h"
#include "worker.h"

#if PG_VERSION_NUM < 150000
#define MarkGUCPrefixReserved(prefix) EmitWarningsOnPlaceholders(prefix)
#endif

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	worker_init();
	MarkGUCPrefixReserved("vstream_fdw");
}

PG_FUNCTION_INFO_V1(vstream_fdw_handler);

/*
 * The foreign-data wrapper handler: foreign tables of a vstream_fdw server
 * are read live from VTGate over the MySQL protocol (live.c).
 */
Datum
vstream_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	live_fill_routine(routine);
	PG_RETURN_POINTER(routine);
}
