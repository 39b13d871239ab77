/*-------------------------------------------------------------------------
 *
 * worker.h
 *	  Stream workers: the launcher, the per-stream apply worker and their
 *	  configuration.
 *
 * Wording: a "stream" is a row of vstream_fdw.stream (one foreign server,
 * i.e. one keyspace); its "worker" is the dynamic background worker that
 * runs the VStream and applies it; the "launcher" is the static background
 * worker that starts one worker per enabled stream of the database named by
 * vstream_fdw.database, and restarts failed ones with back-off.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/worker.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_WORKER_H
#define VSTREAM_WORKER_H

#include "postgres.h"

#include "fmgr.h"

/* GUCs */
extern char *vstream_database;
extern int	vstream_restart_interval;	/* ms, first back-off step */
extern int	vstream_max_restart_interval;	/* ms, back-off cap */

/*
 * Module initialisation, called from _PG_init: defines the GUCs and, when
 * loading through shared_preload_libraries, requests shared memory and
 * registers the launcher.
 */
extern void worker_init(void);

/* Exponential back-off: restart_interval * 2^(failures-1), capped. */
extern long worker_backoff_ms(int failures);

/* launcher.c */
extern PGDLLEXPORT void vstream_launcher_main(Datum main_arg);
extern void launcher_register(void);
extern bool workers_available(void);

/* worker.c */
extern PGDLLEXPORT void vstream_worker_main(Datum main_arg);

/* Lock tag that a worker holds for its stream for as long as it runs. */
#define VSTREAM_LOCK_CLASS	0x76737466	/* "vstf" */
#define VSTREAM_LOCK_FIELD4 7

#endif							/* VSTREAM_WORKER_H */
