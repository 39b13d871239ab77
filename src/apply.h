/*-------------------------------------------------------------------------
 *
 * apply.h
 *	  Applying VStream row events to mirror tables at the executor level.
 *
 * ApplyState is the worker's apply context for one stream.  It holds the
 * FIELD mappings (source columns -> mirror attributes, per shard and
 * table; see schema.c) for the whole session, and the executor state of
 * each relation touched by the open PostgreSQL transaction (ApplyRel),
 * created on first use and freed at commit (in txncxt; the hash table
 * holding them lives for the session).
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/apply.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef VSTREAM_APPLY_H
#define VSTREAM_APPLY_H

#include "postgres.h"

#include "access/heapam.h"
#include "executor/executor.h"
#include "nodes/execnodes.h"
#include "utils/hsearch.h"

#include "binlogdata.pb-c.h"
#include "checkpoint.h"
#include "convert.h"
#include "options.h"
#include "status.h"

/* MySQL column flag of primary key columns */
#define VSTREAM_PRI_KEY_FLAG 2

/* vstream_fdw.insert_batch_size (registered with the worker's settings) */
extern int	vstream_insert_batch_size;

#define MAPPING_KEY_LEN (2 * VSTREAM_NAME_LEN)

/* The latest FIELD event of one (shard, table), resolved against its mirror. */
typedef struct ApplyMapping
{
	char		key[MAPPING_KEY_LEN];	/* shard NUL table; hash key */
	MemoryContext cxt;
	char	   *keyspace;
	char	   *shard;
	char	   *table;			/* bare source table name */
	int			nfields;
	Query__Field **fields;		/* copies */
	bool		enum_strings;

	/* resolved against the mirror; valid = false forces schema_prepare */
	bool		valid;
	bool		skip;			/* rows of this table are ignored (Vitess's
								 * internal tables, a table to be copied
								 * again, a dropped table) */
	char	   *mirror_table;	/* mirror table name */
	Oid			relid;
	int			natts;			/* of the mirror */
	AttrNumber *attnum;			/* per field: mirror attno, 0 = not mirrored */
	int		   *att_field;		/* per mirror attribute: field index or -1 */
	ConvertColumn *cols;		/* per field */
	ConvertContext ccxt;
	MemoryContext rcxt;			/* of the resolved fields above */
	int			npk;
	int		   *pk_fields;		/* field indexes of the primary key */
	Oid			pkindex;
	struct ShapeMapping *shape; /* mirror options (shape.c); NULL: none */
	/* row filter re-checked by the apply (rowfilter.c); NULL: none */
	struct RowFilterBinding *rowfilter;
	bool		rowfilter_bound;	/* rowfilter is set for this FIELD */
	/* scratch for vstream_decode_row */
	const char **cell_values;
	int		   *cell_lengths;
} ApplyMapping;

/*
 * Insert buffer slots of one mirror, kept for the session: a copy phase
 * commits every batch, and making a batch's worth of slots per transaction
 * cost as much as a tenth of the copy.  Rebuilt when the mirror's row shape
 * changes.
 */
typedef struct ApplySlotPool
{
	Oid			relid;			/* hash key */
	MemoryContext cxt;			/* the slots and their tuples; NULL: not built */
	TupleDesc	desc;			/* unpinned copy the slots were made for */
	int			maxslots;
	TupleTableSlot **slots;		/* made on first use */
} ApplySlotPool;

/* Executor state of one mirror relation in the open transaction. */
typedef struct ApplyRel
{
	Oid			relid;			/* hash key */
	Relation	rel;
	EState	   *estate;
	ResultRelInfo *rri;
	Oid			pkindex;
	bool		simple;			/* row triggers: no buffering, no multi-insert */
	bool		has_constraints;
	bool		has_generated;
	List	   *arbiter;		/* list_make1_oid(pkindex) */
	TupleTableSlot *scratch;	/* virtual, values being built */
	TupleTableSlot *keyslot;	/* virtual, search key */
	TupleTableSlot *localslot;	/* table slot, found rows */
	TupleTableSlot *scanslot;	/* table slot, key scans */
	TupleTableSlot *newslot;	/* virtual, update result */
	TupleTableSlot **buffer;	/* materialized rows waiting for insertion;
								 * NULL until the first insert (from the
								 * relation's ApplySlotPool) */
	int			nbuffered;
	int			nslots;
	BulkInsertState bistate;
	ExprState **defexprs;		/* per attribute, built on demand */
	bool	   *defbuilt;
	/* primary-key index scan keys */
	int			nkeys;
	ScanKeyData *skey;
	AttrNumber *keyatts;
	VStreamShardStatus *counters;	/* shard whose rows are buffered */
	struct ApplyRel *prev;		/* open order, for closing in reverse */

	/*
	 * Kept for the session between transactions (see get_rel): everything
	 * above lives in cxt; the relation and index pointers are those of the
	 * relcache entries, valid while no invalidation was seen (inval_gen).
	 */
	MemoryContext cxt;
	TupleDesc	desc;			/* unpinned copy (with defaults) for slots */
	bool		open;			/* opened by the current transaction */
	uint64		inval_gen;		/* apply_inval_gen when built */
	int			uses;			/* transactions served */
	int			nindexes;
	Oid		   *indexoids;		/* ri_IndexRelationDescs' OIDs */
} ApplyRel;

typedef struct ApplyState
{
	int32		stream_id;
	StreamDef  *def;
	VStreamServerOptions *opts;
	VStreamSlot *slot;
	MemoryContext sessioncxt;	/* mappings */
	MemoryContext txncxt;		/* reset at the end of each transaction */
	MemoryContext msgcxt;		/* current while handling events */
	HTAB	   *mappings;
	HTAB	   *rels;			/* ApplyRel by relid: open in the transaction or
								 * kept from an earlier one (get_rel) */
	HTAB	   *slot_pools;		/* ApplySlotPool by relid, for the session */
	ApplyRel   *last_rel;		/* most recently opened */
	bool		in_txn;
	bool		cid_used;		/* written since the last CCI */
	Checkpoint	checkpoint;
	Oid			nspid;			/* target schema, once known */

	/* schema changes (schema_change.c, copystate.c) */
	List	   *recopy_tables;	/* source tables to copy again, from the
								 * next session on (in sessioncxt) */
	bool		recopy_new;		/* recopy_tables grew in this transaction */
	bool		restart_session;	/* reconnect after this transaction */
	List	   *strict_field_shards;	/* shards that sent a DDL statement
										 * this stream did not recognise */
	struct CopyTracker *copy;	/* per-shard copy progress (copystate.c) */
	HTAB	   *deferred_indexes;	/* primary keys built after the copy
									 * (copyindex.c) */

	/* mirror options (shape.c) */
	struct ShapeTxn *shape_txn; /* values of the open source transaction */
	bool		row_copying;	/* the ROW event being applied is a copy batch */
} ApplyState;

/* What a FIELD's column type means for the mirror column (schema.c). */
typedef enum SchemaTypeDecision
{
	SCHEMA_TYPE_KEEP,			/* the mirror type holds every value */
	SCHEMA_TYPE_WIDEN,			/* widen it with a cast that keeps values */
	SCHEMA_TYPE_RECOPY			/* no cast keeps the values: copy again */
} SchemaTypeDecision;

/* apply.c */
extern void apply_begin(ApplyState *state);
extern void apply_rows(ApplyState *state, ApplyMapping *m,
					   Binlogdata__RowEvent *ev, VStreamShardStatus *sh,
					   bool copying);
extern void apply_close_rels(ApplyState *state);
extern void apply_commit(ApplyState *state);
extern void apply_abort(ApplyState *state);

/* schema.c */
extern void schema_init(ApplyState *state);
extern ApplyMapping *schema_field_event(ApplyState *state,
										Binlogdata__FieldEvent *fe);
extern ApplyMapping *schema_get_mapping(ApplyState *state, const char *shard,
										const char *table);
extern void schema_prepare(ApplyState *state, ApplyMapping *m);
extern void schema_invalidate_all(ApplyState *state);
extern void schema_forget(void);
extern void schema_invalidate_table(ApplyState *state, const char *table);
extern SchemaTypeDecision schema_type_decision(Oid curtype, int32 curmod,
											   const Query__Field *field,
											   char **newtype);

#endif							/* VSTREAM_APPLY_H */
