/*-------------------------------------------------------------------------
 *
 * schema.c
 *	  FIELD events: mirror tables and the source-to-mirror column mapping.
 *
 * A FIELD event describes the columns of a source table as one shard
 * streams it.  The worker keeps the latest one per (shard, table) as an
 * ApplyMapping, which resolves each source column to the mirror attribute
 * of the same name (so users may add columns with defaults and indexes to
 * a mirror) and prepares the cell conversion for the mirror's column type.
 *
 * The mirror is created on the first FIELD event of a table, in the target
 * schema, with the source primary key (PRI_KEY_FLAG) as its primary key.  A
 * later FIELD with a column the mirror lacks (ALTER TABLE ... ADD COLUMN at
 * the source) adds that column.  DDL is rare and runs through SPI in the
 * transaction that carries the FIELD event.
 *
 * A relcache callback marks the mappings of a mirror stale whenever the
 * mirror changes; they are resolved again before their next use.
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

#include "apply.h"
#include "convert.h"
#include "live.h"
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

/* last mapping found by schema_get_mapping() */
static ApplyMapping *last_mapping = NULL;

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
	last_mapping = NULL;
	callback_state = state;
	if (!callback_registered)
	{
		CacheRegisterRelcacheCallback(schema_relcache_callback, (Datum) 0);
		callback_registered = true;
	}
}

/* The session's ApplyState is gone (error recovery). */
void
schema_forget(void)
{
	callback_state = NULL;
	last_mapping = NULL;
}

void
schema_invalidate_all(ApplyState *state)
{
	HASH_SEQ_STATUS seq;
	ApplyMapping *m;

	state->nspid = InvalidOid;
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
 * always name the same shard and table: remember the last hit.  Entries are
 * never removed from the hash table, so the pointer stays valid for the
 * session (schema_init forgets it).
 */
ApplyMapping *
schema_get_mapping(ApplyState *state, const char *shard, const char *table)
{
	char		key[MAPPING_KEY_LEN];
	ApplyMapping *m;

	if (last_mapping != NULL &&
		strcmp(last_mapping->key, shard) == 0 &&
		strcmp(last_mapping->key + VSTREAM_NAME_LEN, table) == 0)
		return last_mapping;
	mapping_key(key, shard, table);
	m = hash_search(state->mappings, key, HASH_FIND, NULL);
	if (m != NULL)
		last_mapping = m;
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

static void spi_ddl(const char *sql);

/*
 * Run DDL in a subtransaction; on failure log it as a WARNING and return
 * false, leaving the transaction usable.
 */
static bool
try_ddl(const char *sql)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		spi_ddl(sql);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ereport(WARNING,
				(errmsg("could not give new mirror columns the source's default: %s",
						edata->message),
				 errhint("Existing rows get NULL; run vstream_fdw.resync_stream() if that matters.")));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return ok;
}

static void
spi_ddl(const char *sql)
{
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute(sql, false, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute failed for \"%s\": %s", sql,
			 SPI_result_code_string(rc));
	SPI_finish();
	CommandCounterIncrement();
}

static Oid
ensure_schema(ApplyState *state)
{
	const char *schema = state->def->target_schema;
	Oid			nsp;

	nsp = get_namespace_oid(schema, true);
	if (!OidIsValid(nsp))
	{
		spi_ddl(psprintf("CREATE SCHEMA IF NOT EXISTS %s",
						 quote_identifier(schema)));
		nsp = get_namespace_oid(schema, false);
	}
	state->nspid = nsp;
	return nsp;
}

static void
create_mirror(ApplyState *state, ApplyMapping *m)
{
	StringInfoData sql;
	StringInfoData pk;
	int			i;

	initStringInfo(&sql);
	initStringInfo(&pk);
	appendStringInfo(&sql, "CREATE TABLE %s (",
					 quote_qualified_identifier(state->def->target_schema, m->table));
	for (i = 0; i < m->nfields; i++)
	{
		Query__Field *f = m->fields[i];

		appendStringInfo(&sql, "%s%s %s", i > 0 ? ", " : "",
						 quote_identifier(f->name), convert_pg_type_sql(f));
		if (f->flags & VSTREAM_PRI_KEY_FLAG)
			appendStringInfo(&pk, "%s%s", pk.len > 0 ? ", " : "",
							 quote_identifier(f->name));
	}
	if (pk.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("source table \"%s.%s\" has no primary key",
						m->keyspace, m->table),
				 errdetail("Mirror tables are keyed by the source primary key."),
				 errhint("Add a primary key to the source table, or leave it out of the stream's tables.")));
	appendStringInfo(&sql, ", PRIMARY KEY (%s))", pk.data);
	spi_ddl(sql.data);

	resetStringInfo(&sql);
	appendStringInfo(&sql, "COMMENT ON TABLE %s IS %s",
					 quote_qualified_identifier(state->def->target_schema, m->table),
					 quote_literal_cstr(psprintf("mirror of %s.%s, maintained by the vstream_fdw stream of server %s",
												 m->keyspace, m->table,
												 state->def->server_name)));
	spi_ddl(sql.data);
	ereport(LOG,
			(errmsg("vstream_fdw created mirror table %s for %s.%s",
					quote_qualified_identifier(state->def->target_schema, m->table),
					m->keyspace, m->table)));
}

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

/* Add the source columns a mirror lacks; returns true if it did. */
static bool
add_missing_columns(ApplyState *state, ApplyMapping *m, Oid relid)
{
	Relation	rel = table_open(relid, AccessShareLock);
	TupleDesc	desc = RelationGetDescr(rel);
	StringInfoData sql;
	StringInfoData plain;		/* the same without defaults */
	int			i;
	int			nadded = 0;

	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s",
					 quote_qualified_identifier(state->def->target_schema, m->table));
	initStringInfo(&plain);
	appendStringInfoString(&plain, sql.data);
	for (i = 0; i < m->nfields; i++)
	{
		Query__Field *f = m->fields[i];

		char	   *defval = NULL;
		bool		defnull = false;

		if (find_attribute(desc, f->name) != 0)
			continue;
		appendStringInfo(&sql, "%s ADD COLUMN IF NOT EXISTS %s %s",
						 nadded > 0 ? "," : "",
						 quote_identifier(f->name), convert_pg_type_sql(f));
		appendStringInfo(&plain, "%s ADD COLUMN IF NOT EXISTS %s %s",
						 nadded > 0 ? "," : "",
						 quote_identifier(f->name), convert_pg_type_sql(f));

		/*
		 * Rows that exist at the source got the column's default without
		 * any row event: give the mirror's existing rows the same constant
		 * (PostgreSQL fills them without rewriting the table).
		 */
		if (default_is_portable(f) &&
			live_column_default(state->opts, m->table, f->name, &defval, &defnull))
		{
			if (!defnull)
				appendStringInfo(&sql, " DEFAULT %s", quote_literal_cstr(defval));
		}
		else
			ereport(WARNING,
					(errmsg("existing rows of mirror table %s get NULL in new column \"%s\"",
							quote_qualified_identifier(state->def->target_schema, m->table),
							f->name),
					 errdetail("The column's default at the source could not be determined as a constant."),
					 errhint("Run vstream_fdw.resync_stream() if the source filled existing rows with other values.")));
		nadded++;
	}
	table_close(rel, AccessShareLock);
	if (nadded == 0)
		return false;

	apply_close_rels(state);
	if (!try_ddl(sql.data))
		spi_ddl(plain.data);
	ereport(LOG,
			(errmsg("vstream_fdw added %d column(s) to mirror table %s", nadded,
					quote_qualified_identifier(state->def->target_schema, m->table))));
	return true;
}

/*
 * Resolve a mapping against its mirror, creating the mirror or adding
 * columns first if needed.  Must run in a transaction.
 */
void
schema_prepare(ApplyState *state, ApplyMapping *m)
{
	Oid			nsp = ensure_schema(state);
	Oid			relid;
	Relation	rel;
	TupleDesc	desc;
	MemoryContext old;
	Relation	idxrel;
	AclResult	aclresult;
	int			i;

	relid = get_relname_relid(m->table, nsp);
	if (!OidIsValid(relid))
	{
		apply_close_rels(state);
		create_mirror(state, m);
		relid = get_relname_relid(m->table, nsp);
		if (!OidIsValid(relid))
			elog(ERROR, "mirror table \"%s\" not found after creating it", m->table);
	}
	else
		(void) add_missing_columns(state, m, relid);
	checkpoint_register_mirror(state->stream_id, m->table);

	rel = table_open(relid, AccessShareLock);
	desc = RelationGetDescr(rel);
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("mirror \"%s.%s\" is not an ordinary table",
						state->def->target_schema, m->table)));
	aclresult = pg_class_aclcheck(relid, GetUserId(),
								  ACL_SELECT | ACL_INSERT | ACL_UPDATE | ACL_DELETE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_TABLE, RelationGetRelationName(rel));
	if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("mirror table \"%s.%s\" has row-level security enabled",
						state->def->target_schema, m->table),
				 errhint("Disable row-level security on mirror tables, or let the stream run as a role that bypasses it.")));

	m->pkindex = RelationGetPrimaryKeyIndex(rel);
	if (!OidIsValid(m->pkindex))
		m->pkindex = RelationGetReplicaIndex(rel);
	if (!OidIsValid(m->pkindex))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("mirror table \"%s.%s\" has no primary key",
						state->def->target_schema, m->table)));

	if (m->rcxt)
		MemoryContextReset(m->rcxt);
	else
		m->rcxt = AllocSetContextCreate(m->cxt, "vstream_fdw resolved mapping",
										ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(m->rcxt);

	m->relid = relid;
	m->natts = desc->natts;
	m->attnum = palloc0(sizeof(AttrNumber) * Max(m->nfields, 1));
	m->att_field = palloc(sizeof(int) * Max(m->natts, 1));
	for (i = 0; i < m->natts; i++)
		m->att_field[i] = -1;
	m->cols = palloc0(sizeof(ConvertColumn) * Max(m->nfields, 1));
	for (i = 0; i < m->nfields; i++)
	{
		int			att = find_attribute(desc, m->fields[i]->name);
		Form_pg_attribute attr;

		if (att == 0)
			continue;			/* dropped from the mirror meanwhile */
		attr = TupleDescAttr(desc, att - 1);
		if (attr->attgenerated)
			continue;
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
							state->def->target_schema, m->table)));
		m->pk_fields[i] = m->att_field[att - 1];
	}
	index_close(idxrel, AccessShareLock);

	m->ccxt.keyspace = m->keyspace;
	m->ccxt.shard = m->shard;
	m->ccxt.table = m->table;
	m->ccxt.position = NULL;
	m->ccxt.policy = state->opts->invalid_values;
	MemoryContextSwitchTo(old);

	table_close(rel, NoLock);
	m->valid = true;
}
