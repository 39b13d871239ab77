/*-------------------------------------------------------------------------
 *
 * import.h
 *	  IMPORT FOREIGN SCHEMA for vstream_fdw servers.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/import.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_IMPORT_H
#define VSTREAM_IMPORT_H

#include "postgres.h"

#include "nodes/parsenodes.h"

/*
 * The FDW callback: CREATE FOREIGN TABLE statements for the tables of the
 * server's keyspace, with the column types the mirrors get.
 */
extern List *live_import_foreign_schema(ImportForeignSchemaStmt *stmt,
										Oid serverOid);

#endif							/* VSTREAM_IMPORT_H */
