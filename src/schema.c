/*-------------------------------------------------------------------------
 *
 * schema.c
 *	  FIELD events: mirror tables and the source-to-mirror column mapping.
 *
 * A FIELD event describes the columns of a source table as one shard
 * streams it.  The worker keeps the latest one per (shard, table) as an
 * ApplyMapping, which resolves each source column to its mirror column
 * (vstream_fdw.mirror_column, see mirror.c: names over 63 bytes, old names
 * of renamed columns, dropped columns) and prepares the cell conversion for
 * the mirror's column type.  Users may add columns with defaults, indexes
 * and triggers to a mirror.
 *
 * The mirror is created on the first FIELD event of a table, in the target
 * schema, with the source primary key (PRI_KEY_FLAG) as its primary key.  A
 * later FIELD is reconciled with the mirror: a column the mirror lacks is
 * added (a DDL the stream did not parse, or one made before the stream
 * started), a column whose mirror type cannot hold the source's values is
 * widened, or, if no cast keeps the values, the table is copied again.  A
 * FIELD never narrows, drops or renames: in a sharded keyspace it may come
 * from a shard that has not applied a DDL yet (DDL events do those, see
 * schema_change.c).  DDL is rare and runs through SPI in the transaction
 * that carries the event.
 *
 * A relcache callback marks the mappings of a mirror stale whenever the
 * mirror changes; they are resolved again before their next use, after the
 * lock on the mirror is taken (apply.c), so a concurrent local ALTER TABLE
 * on a mirror is always seen.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/schema.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "parser/parse_type.h"
#include "catalog/pg_type.h"

#include "apply.h"
#include "convert.h"
#include "copyindex.h"
#include "copystate.h"
#include "mysql_conn.h"
#include "mirror.h"
#include "shape.h"
#include "vstream.h"

static ApplyState *callback_state = NULL;
static bool callback_registered = false;

static void
schema_relcache_callback(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS seq;
	ApplyMapping *m;

	if (callback_state == NULL || callback_state->mappings == NULL)
		return;
	hash_seq_init(&seq, callback_state->mappings);
	while ((m = hash_seq_search(&seq)) != NULL)
	{
		if (!OidIsValid(relid) || m->relid == relid)
			m->valid = false;
	}
}

/* recently used mappings (see schema_get_mapping) */
#define RECENT_MAPPINGS 8
static ApplyMapping *recent_mappings[RECENT_MAPPINGS];
static int	recent_next = 0;

void
schema_init(ApplyState *state)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = MAPPING_KEY_LEN;
	ctl.entrysize = sizeof(ApplyMapping);
	ctl.hcxt = state->sessioncxt;
	state->mappings = hash_create("vstream_fdw field mappings", 64, &ctl,
								  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	memset(recent_mappings, 0, sizeof(recent_mappings));
	callback_state = state;
	mirror_cache_init(state->sessioncxt);
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(schema_relcache_callback, (Datum) 0);
		callback_registered = true;
	}
}

/* Forget the mappings of one source table (it is to be copied again). */
void
schema_invalidate_table(ApplyState *state, const char *table)
{
	HASH_SEQ_STATUS seq;
	ApplyMapping *m;

	if (state->mappings == NULL)
		return;
	hash_seq_init(&seq, state->mappings);
	while ((m = hash_seq_search(&seq)) != NULL)
		if (strcmp(m->table, table) == 0)
			m->valid = false;
}

/* The session's ApplyState is gone (error recovery). */
void
schema_forget(void)
{
	callback_state = NULL;
	memset(recent_mappings, 0, sizeof(recent_mappings));
}

void
schema_invalidate_all(ApplyState *state)
{
	HASH_SEQ_STATUS seq;
	ApplyMapping *m;

	state->nspid = InvalidOid;
	mirror_cache_reset();
	if (state->mappings == NULL)
		return;
	hash_seq_init(&seq, state->mappings);
	while ((m = hash_seq_search(&seq)) != NULL)
		m->valid = false;
}

static void
mapping_key(char *key, const char *shard, const char *table)
{
	size_t		slen = strlen(shard);
	size_t		tlen = strlen(table);

	memset(key, 0, MAPPING_KEY_LEN);
	if (slen >= VSTREAM_NAME_LEN || tlen >= VSTREAM_NAME_LEN)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("shard or table name too long: \"%s\", \"%s\"",
						shard, table)));
	memcpy(key, shard, slen);
	memcpy(key + VSTREAM_NAME_LEN, table, tlen);
}

/*
 * Mappings are looked up once per ROW event, and consecutive events nearly
 * always name one of a few (shard, table) pairs (transactions of several
 * shards interleave): the last few hits are compared before the hash table
 * (whose key is 256 bytes to hash) is searched.  Entries are never removed
 * from the hash table, so the pointers stay valid for the session
 * (schema_init forgets them).
 */
ApplyMapping *
schema_get_mapping(ApplyState *state, const char *shard, const char *table)
{
	char		key[MAPPING_KEY_LEN];
	ApplyMapping *m;
	int			i;

	for (i = 0; i < RECENT_MAPPINGS; i++)
	{
		m = recent_mappings[i];
		if (m != NULL &&
			strcmp(m->key, shard) == 0 &&
			strcmp(m->key + VSTREAM_NAME_LEN, table) == 0)
			return m;
	}
	mapping_key(key, shard, table);
	m = hash_search(state->mappings, key, HASH_FIND, NULL);
	if (m != NULL)
	{
		recent_mappings[recent_next] = m;
		recent_next = (recent_next + 1) % RECENT_MAPPINGS;
	}
	return m;
}

static char *
pstrdup_or_empty(const char *s)
{
	return pstrdup(s ? s : "");
}

static Query__Field *
copy_field(const Query__Field *src)
{
	Query__Field *f = palloc(sizeof(Query__Field));

	query__field__init(f);
	f->name = pstrdup_or_empty(src->name);
	f->type = src->type;
	f->table = pstrdup_or_empty(src->table);
	f->org_table = pstrdup_or_empty(src->org_table);
	f->database = pstrdup_or_empty(src->database);
	f->org_name = pstrdup_or_empty(src->org_name);
	f->column_length = src->column_length;
	f->charset = src->charset;
	f->decimals = src->decimals;
	f->flags = src->flags;
	f->column_type = pstrdup_or_empty(src->column_type);
	return f;
}

/*
 * Record a FIELD event as the mapping of its (shard, table) and prepare the
 * mirror.  Must run in a transaction.
 */
ApplyMapping *
schema_field_event(ApplyState *state, Binlogdata__FieldEvent *fe)
{
	const char *table = vstream_bare_table_name(fe->table_name);
	char		key[MAPPING_KEY_LEN];
	ApplyMapping *m;
	bool		found;
	MemoryContext old;
	size_t		i;

	mapping_key(key, fe->shard, table);
	m = hash_search(state->mappings, key, HASH_ENTER, &found);
	if (found)
		MemoryContextDelete(m->cxt);
	memset(((char *) m) + MAPPING_KEY_LEN, 0,
		   sizeof(ApplyMapping) - MAPPING_KEY_LEN);
	m->cxt = AllocSetContextCreate(state->sessioncxt, "vstream_fdw field mapping",
								   ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(m->cxt);
	m->keyspace = pstrdup_or_empty(fe->keyspace);
	m->shard = pstrdup_or_empty(fe->shard);
	m->table = pstrdup(table);
	m->nfields = fe->n_fields;
	m->fields = palloc(sizeof(Query__Field *) * Max(m->nfields, 1));
	for (i = 0; i < fe->n_fields; i++)
		m->fields[i] = copy_field(fe->fields[i]);
	m->enum_strings = fe->enum_set_string_values;
	m->cell_values = palloc(sizeof(char *) * Max(m->nfields, 1));
	m->cell_lengths = palloc(sizeof(int) * Max(m->nfields, 1));
	MemoryContextSwitchTo(old);
	m->valid = false;

	schema_prepare(state, m);
	return m;
}


/* ---- column types ---- */

/* Decimal digits an integer type needs (for numeric(p,s) containment). */
static int
int_digits(Oid typid)
{
	switch (typid)
	{
		case INT2OID:
			return 5;
		case INT4OID:
			return 10;
		case INT8OID:
			return 19;
		default:
			return 0;
	}
}

static bool
is_int(Oid t)
{
	return t == INT2OID || t == INT4OID || t == INT8OID;
}

/*
 * Does a column of type (ct, cmod) hold every value of type (dt, dmod), with
 * the value unchanged when PostgreSQL casts it?
 */
static bool
type_holds(Oid ct, int32 cmod, Oid dt, int32 dmod)
{
	if (ct == dt)
	{
		if (cmod == dmod || cmod < 0)
			return true;
		if (ct == NUMERICOID)
		{
			int			cp,
						cs,
						dp,
						ds;

			if (dmod < 0)
				return false;
			cp = ((cmod - VARHDRSZ) >> 16) & 0xffff;
			cs = (cmod - VARHDRSZ) & 0xffff;
			dp = ((dmod - VARHDRSZ) >> 16) & 0xffff;
			ds = (dmod - VARHDRSZ) & 0xffff;
			return cs >= ds && cp - cs >= dp - ds;
		}
		if (ct == TIMESTAMPOID || ct == TIMESTAMPTZOID || ct == VARCHAROID ||
			ct == BPCHAROID || ct == VARBITOID)
			return dmod >= 0 && cmod >= dmod;
		return false;
	}
	if (is_int(ct) && is_int(dt))
		return int_digits(ct) >= int_digits(dt);
	if (ct == NUMERICOID && is_int(dt))
	{
		int			cp,
					cs;

		if (cmod < 0)
			return true;
		cp = ((cmod - VARHDRSZ) >> 16) & 0xffff;
		cs = (cmod - VARHDRSZ) & 0xffff;
		return cp - cs >= int_digits(dt);
	}
	if (ct == FLOAT8OID && (dt == FLOAT4OID || dt == INT2OID || dt == INT4OID))
		return true;
	if (ct == FLOAT4OID && dt == INT2OID)
		return true;
	/* integers and decimals have one text form in MySQL and PostgreSQL */
	if (ct == TEXTOID && (is_int(dt) || dt == NUMERICOID || dt == VARCHAROID ||
						  dt == BPCHAROID))
		return true;
	return false;
}

SchemaTypeDecision
schema_type_decision(Oid curtype, int32 curmod, const Query__Field *field,
					 char **newtype)
{
	char	   *sql = convert_pg_type_sql(field);
	Oid			dt;
	int32		dmod;

	*newtype = sql;
	parseTypeString(sql, &dt, &dmod, NULL);
	if (type_holds(curtype, curmod, dt, dmod))
		return SCHEMA_TYPE_KEEP;
	if (type_holds(dt, dmod, curtype, curmod))
		return SCHEMA_TYPE_WIDEN;
	return SCHEMA_TYPE_RECOPY;
}

/* ---- resolving a FIELD against its mirror ---- */

static int
find_attribute(TupleDesc desc, const char *name)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute attr = TupleDescAttr(desc, i);

		if (!attr->attisdropped && strcmp(NameStr(attr->attname), name) == 0)
			return i + 1;
	}
	return 0;
}

/*
 * Can a source default literal of this field be given to PostgreSQL as a
 * quoted literal of the mirror column's type?
 */
static bool
default_is_portable(const Query__Field *f)
{
	switch (f->type)
	{
		case QUERY__TYPE__INT8:
		case QUERY__TYPE__UINT8:
		case QUERY__TYPE__INT16:
		case QUERY__TYPE__UINT16:
		case QUERY__TYPE__INT24:
		case QUERY__TYPE__UINT24:
		case QUERY__TYPE__INT32:
		case QUERY__TYPE__UINT32:
		case QUERY__TYPE__INT64:
		case QUERY__TYPE__UINT64:
		case QUERY__TYPE__FLOAT32:
		case QUERY__TYPE__FLOAT64:
		case QUERY__TYPE__DECIMAL:
		case QUERY__TYPE__YEAR:
		case QUERY__TYPE__DATE:
		case QUERY__TYPE__DATETIME:
		case QUERY__TYPE__ENUM:
		case QUERY__TYPE__SET:
			return true;
		case QUERY__TYPE__VARCHAR:
		case QUERY__TYPE__CHAR:
		case QUERY__TYPE__TEXT:
			return f->charset != 63;
		default:
			return false;
	}
}

/*
 * A source column the mirror lacks, seen in a FIELD event (a DDL this
 * stream did not parse, or a stream started after it): add it.  Rows that
 * exist at the source got the column's default without any row event; give
 * the mirror's existing rows the same constant, read from information_schema
 * through VTGate.  Returns false when that default could not be known and
 * the table had rows (the caller then re-copies the table).
 */
static bool
add_field_column(ApplyState *state, ApplyMapping *m, MirrorTable *mt,
				 Query__Field *f, bool empty)
{
	char	   *defval = NULL;
	bool		defnull = false;
	bool		known;

	if (empty)
	{
		mirror_add_column(state->def, mt, f->name, convert_pg_type_sql(f), NULL);
		return true;
	}
	known = default_is_portable(f) &&
		mysqlconn_column_default(state->opts, m->table, f->name, &defval, &defnull);
	if (!mirror_add_column(state->def, mt, f->name, convert_pg_type_sql(f),
						   known && !defnull ? defval : NULL))
		known = false;
	ereport(LOG,
			(errmsg("vstream_fdw added column \"%s\" to mirror table %s%s",
					f->name,
					quote_qualified_identifier(state->def->target_schema, mt->table_name),
					known ? "" : " (default unknown: the table will be copied again)")));
	return known;
}

/*
 * Bring the mirror's columns in line with a FIELD event: map every source
 * column to its mirror column, add the ones the mirror lacks, widen the
 * ones whose type cannot hold the source's values.  Returns false when the
 * table must be copied again (a change no ALTER can express).
 *
 * A sharded keyspace applies a DDL shard by shard, so a FIELD may describe
 * a table as it was before a change another shard already made: this never
 * narrows a type, never drops a column and never brings back a dropped one
 * (DDL events do those).  "reshape": the mirror is empty and being copied
 * again, so its shape may simply become the FIELD's.
 */
static bool
reconcile_columns(ApplyState *state, ApplyMapping *m, MirrorTable *mt,
				  Oid relid, bool reshape)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	bool		ok = true;
	bool		empty = reshape;
	bool		emptiness_known = reshape;
	int			i;
	List	   *drop = NIL;
	ListCell   *lc;

	for (i = 0; i < m->nfields; i++)
	{
		Query__Field *f = m->fields[i];
		MirrorColumn *mc = mirror_find_column(mt, f->name);
		int			att;
		Form_pg_attribute attr;
		char	   *newtype;

		if (mc != NULL && mc->column == NULL && !reshape)
			continue;			/* dropped at the source */
		if (mc == NULL || mc->column == NULL)
		{
			char	   *pgname = mirror_column_pg_name(f->name);

			if (find_attribute(desc, pgname) != 0)
			{
				/* a column of that name is there (0.1.0 mirrors) */
				mirror_map_column(state->def->id, mt, f->name, pgname);
				continue;
			}
			if (!emptiness_known)
			{
				empty = mirror_is_empty(state->def, mt);
				emptiness_known = true;
			}
			table_close(rel, AccessShareLock);
			apply_close_rels(state);
			if (!add_field_column(state, m, mt, f, empty))
				ok = false;
			rel = table_open(relid, AccessShareLock);
			desc = RelationGetDescr(rel);
			continue;
		}
		att = find_attribute(desc, mc->column);
		if (att == 0)
			continue;			/* dropped from the mirror by its user */
		attr = TupleDescAttr(desc, att - 1);
		switch (schema_type_decision(attr->atttypid, attr->atttypmod, f, &newtype))
		{
			case SCHEMA_TYPE_KEEP:
				if (!reshape)
					break;
				/* an empty table being copied again takes the new type */
				if (strcmp(format_type_with_typemod(attr->atttypid, attr->atttypmod),
						   newtype) == 0)
					break;
				/* FALLTHROUGH */
			case SCHEMA_TYPE_WIDEN:
			case SCHEMA_TYPE_RECOPY:
				{
					char	   *col = pstrdup(mc->column);
					bool		widen = (att != 0 &&
										 schema_type_decision(attr->atttypid, attr->atttypmod,
															  f, &newtype) == SCHEMA_TYPE_WIDEN);

					table_close(rel, AccessShareLock);
					apply_close_rels(state);
					if (!reshape && !widen)
						ok = false;
					ereport(LOG,
							(errmsg("vstream_fdw changes the type of column %s of mirror table %s to %s%s",
									quote_identifier(col),
									quote_qualified_identifier(state->def->target_schema, mt->table_name),
									newtype,
									widen || reshape ? "" : " (the table will be copied again)")));
					mirror_retype_column(state->def, mt, col, newtype, widen);
					rel = table_open(relid, AccessShareLock);
					desc = RelationGetDescr(rel);
				}
				break;
		}
	}

	/* a table being copied again loses the source columns the FIELD lacks */
	if (reshape)
	{
		foreach(lc, mt->columns)
		{
			MirrorColumn *mc = lfirst(lc);
			bool		sent = false;

			if (mc->column == NULL)
				continue;
			for (i = 0; i < m->nfields; i++)
				if (pg_strcasecmp(m->fields[i]->name, mc->source) == 0 ||
					strcmp(mirror_column_pg_name(m->fields[i]->name), mc->column) == 0)
					sent = true;
			if (!sent)
				drop = lappend(drop, pstrdup(mc->source));
		}
	}
	table_close(rel, AccessShareLock);
	if (drop != NIL)
		apply_close_rels(state);
	foreach(lc, drop)
		mirror_drop_column(state->def, mt, lfirst(lc));

	/* and takes the FIELD's primary key */
	if (reshape)
	{
		List	   *want = NIL;
		List	   *have = mirror_primary_key(state->def, mt);
		bool		same;

		for (i = 0; i < m->nfields; i++)
		{
			MirrorColumn *mc;

			if (!(m->fields[i]->flags & VSTREAM_PRI_KEY_FLAG))
				continue;
			mc = mirror_find_column(mt, m->fields[i]->name);
			if (mc && mc->column)
				want = lappend(want, mc->column);
		}
		same = mirror_same_names(want, have);
		if (!same && want != NIL)
		{
			apply_close_rels(state);
			(void) mirror_set_primary_key(state->def, mt, want);
		}
	}
	return ok;
}

static bool
field_has_key(ApplyMapping *m)
{
	int			i;

	for (i = 0; i < m->nfields; i++)
		if (m->fields[i]->flags & VSTREAM_PRI_KEY_FLAG)
			return true;
	return false;
}

/*
 * Resolve a mapping against its mirror, creating the mirror or changing
 * its columns first if needed.  Must run in a transaction.
 */
void
schema_prepare(ApplyState *state, ApplyMapping *m)
{
	MirrorTable *mt;
	Oid			relid;
	Relation	rel;
	TupleDesc	desc;
	MemoryContext old;
	Relation	idxrel;
	AclResult	aclresult;
	int			i;
	bool		reshape = false;

	m->skip = false;
	if (mirror_is_internal_table(m->table) || recopy_pending(state, m->table))
	{
		/*
		 * Vitess's own tables (online DDL) are never mirrored; a table whose
		 * copy starts at the next session ignores changes until then.
		 */
		m->skip = true;
		m->valid = true;
		return;
	}

	(void) mirror_schema_oid(state->def);
	state->nspid = get_namespace_oid(state->def->target_schema, false);
	mt = mirror_get(state->def->id, m->table);
	if (!mt->exists && mirror_was_detached(state->def->id, m->table))
	{
		/* dropped by another shard's DDL: this shard has not caught up */
		m->skip = true;
		m->valid = true;
		return;
	}
	relid = mirror_relid(state->def, mt);
	if (!OidIsValid(relid) && state->def->tables == NIL && !field_has_key(m))
	{
		/*
		 * A stream of every table skips a table without a primary key (one
		 * that names its tables stops with an error in mirror_create).
		 */
		ereport(WARNING,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("source table \"%s.%s\" has no primary key and is not mirrored",
						m->keyspace, m->table),
				 errhint("Add a primary key to the source table, then call vstream_fdw.resync_table('%s', '%s').",
						 state->def->server_name, m->table)));
		m->skip = true;
		m->valid = true;
		return;
	}
	if (!OidIsValid(relid))
	{
		apply_close_rels(state);
		mirror_create(state->def, mt, m->keyspace, m->fields, m->nfields);
		relid = mirror_relid(state->def, mt);
		if (!OidIsValid(relid))
			elog(ERROR, "mirror table \"%s\" not found after creating it", mt->table_name);
	}
	else
	{
		if (mt->state == MIRROR_COPYING)
			reshape = mirror_is_empty(state->def, mt);
		if (!reconcile_columns(state, m, mt, relid, reshape) &&
			mt->state != MIRROR_COPYING)
		{
			/*
			 * (A table being copied already gets the values of what could
			 * not be derived from its copy: asking again would loop.)
			 */
			recopy_request(state, m->table);
			m->skip = true;
			m->valid = true;
			return;
		}
	}

	shape_ensure_columns(state, mt, relid);
	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("mirror \"%s.%s\" is not an ordinary table",
						state->def->target_schema, mt->table_name)));
	aclresult = pg_class_aclcheck(relid, GetUserId(),
								  ACL_SELECT | ACL_INSERT | ACL_UPDATE | ACL_DELETE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, RelationGetRelationName(rel));
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("mirror table \"%s.%s\" has row-level security enabled",
						state->def->target_schema, mt->table_name),
				 errhint("Disable row-level security on mirror tables, or let the stream run as a role that bypasses it.")));

	m->pkindex = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(m->pkindex))
		m->pkindex = copyindex_pkindex(state, rel);
	if (!OidIsValid(m->pkindex))
		m->pkindex = RelationGetReplicaIndex(rel);
	if (!OidIsValid(m->pkindex))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("mirror table \"%s.%s\" has no primary key",
						state->def->target_schema, mt->table_name),
				 errhint("Give the mirror table the primary key of its source table, or resync it with vstream_fdw.resync_table().")));

	if (m->rcxt)
		MemoryContextReset(m->rcxt);
	else
		m->rcxt = AllocSetContextCreate(m->cxt, "vstream_fdw resolved mapping",
										ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(m->rcxt);

	m->relid = relid;
	m->natts = desc->natts;
	m->mirror_table = pstrdup(mt->table_name);
	m->attnum = palloc0(sizeof(AttrNumber) * Max(m->nfields, 1));
	m->att_field = palloc(sizeof(int) * Max(m->natts, 1));
	for (i = 0; i < m->natts; i++)
		m->att_field[i] = -1;
	m->cols = palloc0(sizeof(ConvertColumn) * Max(m->nfields, 1));
	for (i = 0; i < m->nfields; i++)
	{
		MirrorColumn *mc = mirror_find_column(mt, m->fields[i]->name);
		int			att;
		Form_pg_attribute attr;

		if (mc == NULL || mc->column == NULL)
			continue;			/* dropped at the source */
		att = find_attribute(desc, mc->column);
		if (att == 0)
			continue;			/* dropped from the mirror meanwhile */
		attr = TupleDescAttr(desc, att - 1);
		if (attr->attgenerated)
			continue;
		if (m->att_field[att - 1] >= 0)
			continue;			/* an old and a new name in one FIELD */
		m->attnum[i] = att;
		m->att_field[att - 1] = i;
		convert_column_init(&m->cols[i], m->fields[i], attr->atttypid,
							attr->atttypmod);

		/*
		 * Vitess v20+ sets enum_set_string_values exactly when the table has
		 * ENUM/SET columns; without it, ENUM/SET cells are ordinals/bitmasks.
		 */
		convert_column_set_enum_strings(&m->cols[i], m->enum_strings);
	}

	/* the key is the mirror's primary key, which must come from the source */
	idxrel = index_open(m->pkindex, AccessShareLock);
	m->npk = IndexRelationGetNumberOfKeyAttributes(idxrel);
	m->pk_fields = palloc(sizeof(int) * Max(m->npk, 1));
	for (i = 0; i < m->npk; i++)
	{
		AttrNumber	att = idxrel->rd_index->indkey.values[i];

		if (att <= 0 || m->att_field[att - 1] < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("primary key of mirror table \"%s.%s\" uses a column the source does not send",
							state->def->target_schema, mt->table_name),
					 errhint("Give the mirror table the primary key of its source table, or resync it with vstream_fdw.resync_table().")));
		m->pk_fields[i] = m->att_field[att - 1];
	}
	index_close(idxrel, AccessShareLock);

	m->ccxt.keyspace = m->keyspace;
	m->ccxt.shard = m->shard;
	m->ccxt.table = m->table;
	m->ccxt.position = NULL;
	m->ccxt.policy = state->opts->invalid_values;
	shape_resolve(state, m, desc);
	MemoryContextSwitchTo(old);

	table_close(rel, NoLock);
	m->valid = true;
}
