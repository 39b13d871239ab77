/*-------------------------------------------------------------------------
 *
 * mirror.c
 *	  The mirror tables a stream owns: names, catalog, and their DDL.
 *
 * See mirror.h.  Catalog reads and writes and the DDL go through SPI: a
 * schema change is rare, and running it as SQL keeps every PostgreSQL rule
 * (dependencies, locks, invalidations) in force.  The session cache of
 * MirrorTable entries follows the catalog writes done here; it is dropped
 * when a transaction aborts (mirror_cache_reset), because the catalog
 * changes went with it.
 *
 * Copyright (c) 2026, vstream_fdw developers
 *
 * IDENTIFICATION
 *	  src/mirror.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/table.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "convert.h"
#include "mirror.h"

#define VSTREAM_PRI_KEY_FLAG 2

static bool try_spi_exec(const char *sql, const char *what);

static HTAB *mirror_cache = NULL;
static MemoryContext mirror_cache_cxt = NULL;

/* ---- names ---- */

bool
mirror_is_internal_table(const char *name)
{
	size_t		len = strlen(name);

	/* Vitess >= v19 names all its artifacts _vt_<kind>_<uuid>_<time>_ */
	if (strncmp(name, "_vt_", 4) == 0)
		return true;

	/*
	 * Older online DDL names: _<uuid with underscores>_<timestamp>_<kind>,
	 * e.g. _4e5dcf80_354b_11eb_82cd_f875a4d24e90_20201203114014_vrepl.
	 */
	if (len > 40 && name[0] == '_' && name[9] == '_' && name[14] == '_' &&
		name[19] == '_' && name[24] == '_' && name[37] == '_')
		return true;
	return false;
}

/*
 * The mirror column name of a source column: mirror_pg_name(), except that
 * a source name starting with the reserved prefix of the stream's own
 * columns (VSTREAM_RESERVED_PREFIX, see shape.h) always gets the hash
 * suffix, so it can never take the name of a metadata or soft-delete
 * column.  The name is recorded in mirror_column like a shortened one.
 */
char *
mirror_column_pg_name(const char *source)
{
	int			len = strlen(source);
	int			cut;

	if (pg_strncasecmp(source, VSTREAM_RESERVED_PREFIX,
					   strlen(VSTREAM_RESERVED_PREFIX)) != 0)
		return mirror_pg_name(source);
	cut = pg_mbcliplen(source, len, Min(len, NAMEDATALEN - 1 - 9));
	return psprintf("%.*s_%08x", cut, source,
					hash_bytes((const unsigned char *) source, len));
}

char *
mirror_pg_name(const char *source)
{
	int			len = strlen(source);
	int			cut;
	uint32		h;

	if (len < NAMEDATALEN)
		return pstrdup(source);

	/*
	 * Keep what fits before an "_" and 8 hex digits of a hash of the whole
	 * name, cut at a character boundary (the source names are UTF-8).
	 */
	cut = pg_mbcliplen(source, len, NAMEDATALEN - 1 - 9);
	h = hash_bytes((const unsigned char *) source, len);
	return psprintf("%.*s_%08x", cut, source, h);
}

static const char *
state_name(MirrorState s)
{
	switch (s)
	{
		case MIRROR_ACTIVE:
			return "active";
		case MIRROR_COPYING:
			return "copying";
		case MIRROR_DETACHED:
			return "detached";
	}
	return "active";
}

/* ---- SPI helpers ---- */

void
mirror_spi_exec(const char *sql)
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

static void
spi_args(const char *sql, int nargs, Oid *types, Datum *values,
		 const char *nulls)
{
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "SPI_execute_with_args failed for \"%s\": %s", sql,
			 SPI_result_code_string(rc));
	SPI_finish();
	CommandCounterIncrement();
}

static Datum
name_datum(const char *s)
{
	return DirectFunctionCall1(namein, CStringGetDatum(s));
}

/* ---- cache ---- */

void
mirror_cache_init(MemoryContext cxt)
{
	HASHCTL		ctl;

	mirror_cache_cxt = AllocSetContextCreate(cxt, "vstream_fdw mirror cache",
											 ALLOCSET_SMALL_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(((MirrorTable *) NULL)->key);
	ctl.entrysize = sizeof(MirrorTable);
	ctl.hcxt = mirror_cache_cxt;
	mirror_cache = hash_create("vstream_fdw mirror tables", 32, &ctl,
							   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
}

/* Forget the cache (its memory goes with the caller's context). */
void
mirror_cache_drop(void)
{
	mirror_cache = NULL;
	mirror_cache_cxt = NULL;
}

void
mirror_cache_reset(void)
{
	HASH_SEQ_STATUS seq;
	MirrorTable *mt;

	if (mirror_cache == NULL)
		return;
	hash_seq_init(&seq, mirror_cache);
	while ((mt = hash_seq_search(&seq)) != NULL)
		hash_search(mirror_cache, mt->key, HASH_REMOVE, NULL);
}

static MirrorState
parse_state(const char *s)
{
	if (strcmp(s, "copying") == 0)
		return MIRROR_COPYING;
	if (strcmp(s, "detached") == 0)
		return MIRROR_DETACHED;
	return MIRROR_ACTIVE;
}

static void
cache_key(char *key, const char *source_table)
{
	size_t		keylen = sizeof(((MirrorTable *) NULL)->key);

	if (strlen(source_table) >= keylen)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("source table name \"%s\" is too long", source_table)));
	memset(key, 0, keylen);
	strcpy(key, source_table);
}

MirrorTable *
mirror_get(int32 stream_id, const char *source_table)
{
	char		key[sizeof(((MirrorTable *) NULL)->key)];
	MirrorTable *mt;
	bool		found;
	Oid			types[2] = {INT4OID, TEXTOID};
	Datum		values[2];
	MemoryContext outer = CurrentMemoryContext;
	uint64		i;

	cache_key(key, source_table);
	mt = hash_search(mirror_cache, key, HASH_ENTER, &found);
	if (found)
		return mt;

	memset(((char *) mt) + sizeof(mt->key), 0, sizeof(MirrorTable) - sizeof(mt->key));
	mt->source_table = MemoryContextStrdup(mirror_cache_cxt, source_table);

	values[0] = Int32GetDatum(stream_id);
	values[1] = CStringGetTextDatum(source_table);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT table_name::text, state FROM vstream_fdw.mirror "
							  "WHERE stream_id = $1 AND source_table = $2 "
							  "AND state <> 'detached'",
							  2, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vstream_fdw.mirror");
	if (SPI_processed == 1)
	{
		MemoryContext old = MemoryContextSwitchTo(mirror_cache_cxt);

		mt->exists = true;
		mt->table_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		mt->state = parse_state(SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2));
		MemoryContextSwitchTo(old);
	}
	if (mt->exists)
	{
		Oid			ctypes[2] = {INT4OID, NAMEOID};
		Datum		cvalues[2];

		cvalues[0] = Int32GetDatum(stream_id);
		cvalues[1] = name_datum(mt->table_name);
		if (SPI_execute_with_args("SELECT source_column, column_name::text "
								  "FROM vstream_fdw.mirror_column "
								  "WHERE stream_id = $1 AND table_name = $2",
								  2, ctypes, cvalues, NULL, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "could not read vstream_fdw.mirror_column");
		for (i = 0; i < SPI_processed; i++)
		{
			MemoryContext old = MemoryContextSwitchTo(mirror_cache_cxt);
			MirrorColumn *mc = palloc0(sizeof(MirrorColumn));

			mc->source = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1);
			mc->column = SPI_getvalue(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2);
			mt->columns = lappend(mt->columns, mc);
			MemoryContextSwitchTo(old);
		}
	}
	SPI_finish();
	MemoryContextSwitchTo(outer);
	return mt;
}

/* Is the only catalog row of a source table a detached mirror? */
bool
mirror_was_detached(int32 stream_id, const char *source_table)
{
	Oid			types[2] = {INT4OID, TEXTOID};
	Datum		values[2];
	bool		found;

	values[0] = Int32GetDatum(stream_id);
	values[1] = CStringGetTextDatum(source_table);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM vstream_fdw.mirror "
							  "WHERE stream_id = $1 AND source_table = $2 "
							  "AND state = 'detached'",
							  2, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vstream_fdw.mirror");
	found = (SPI_processed > 0);
	SPI_finish();
	return found;
}

MirrorColumn *
mirror_find_column(MirrorTable *mt, const char *source)
{
	ListCell   *lc;

	/* MySQL column names are case-insensitive */
	foreach(lc, mt->columns)
	{
		MirrorColumn *mc = lfirst(lc);

		if (pg_strcasecmp(mc->source, source) == 0)
			return mc;
	}
	return NULL;
}

/* Record (or change) where a source column goes; column NULL = dropped. */
void
mirror_map_column(int32 stream_id, MirrorTable *mt, const char *source,
				  const char *column)
{
	Oid			types[4] = {INT4OID, NAMEOID, TEXTOID, NAMEOID};
	Datum		values[4];
	char		nulls[4] = {' ', ' ', ' ', ' '};
	MirrorColumn *mc = mirror_find_column(mt, source);
	MemoryContext old;

	values[0] = Int32GetDatum(stream_id);
	values[1] = name_datum(mt->table_name);
	values[2] = CStringGetTextDatum(mc ? mc->source : source);
	if (column)
		values[3] = name_datum(column);
	else
		nulls[3] = 'n';
	spi_args("INSERT INTO vstream_fdw.mirror_column AS m "
			 "(stream_id, table_name, source_column, column_name) "
			 "VALUES ($1, $2, $3, $4) "
			 "ON CONFLICT (stream_id, table_name, source_column) "
			 "DO UPDATE SET column_name = excluded.column_name",
			 4, types, values, nulls);

	old = MemoryContextSwitchTo(mirror_cache_cxt);
	if (mc == NULL)
	{
		mc = palloc0(sizeof(MirrorColumn));
		mc->source = pstrdup(source);
		mt->columns = lappend(mt->columns, mc);
	}
	mc->column = column ? pstrdup(column) : NULL;
	MemoryContextSwitchTo(old);
}

void
mirror_register(int32 stream_id, MirrorTable *mt, const char *table_name,
				MirrorState state)
{
	Oid			types[4] = {INT4OID, NAMEOID, TEXTOID, TEXTOID};
	Datum		values[4];
	MemoryContext old;

	values[0] = Int32GetDatum(stream_id);
	values[1] = name_datum(table_name);
	values[2] = CStringGetTextDatum(mt->source_table);
	values[3] = CStringGetTextDatum(state_name(state));
	spi_args("INSERT INTO vstream_fdw.mirror "
			 "(stream_id, table_name, source_table, state, changed_at) "
			 "VALUES ($1, $2, $3, $4, now()) "
			 "ON CONFLICT (stream_id, table_name) DO UPDATE "
			 "SET source_table = excluded.source_table, state = excluded.state, "
			 "changed_at = now()",
			 4, types, values, NULL);
	old = MemoryContextSwitchTo(mirror_cache_cxt);
	mt->exists = true;
	mt->table_name = pstrdup(table_name);
	mt->state = state;
	MemoryContextSwitchTo(old);
}

void
mirror_set_state(int32 stream_id, MirrorTable *mt, MirrorState state)
{
	Oid			types[3] = {INT4OID, NAMEOID, TEXTOID};
	Datum		values[3];

	if (!mt->exists || mt->state == state)
		return;
	values[0] = Int32GetDatum(stream_id);
	values[1] = name_datum(mt->table_name);
	values[2] = CStringGetTextDatum(state_name(state));
	spi_args("UPDATE vstream_fdw.mirror SET state = $3, changed_at = now() "
			 "WHERE stream_id = $1 AND table_name = $2",
			 3, types, values, NULL);
	mt->state = state;
}

/* ---- relations ---- */

Oid
mirror_schema_oid(StreamDef *def)
{
	Oid			nsp = get_namespace_oid(def->target_schema, true);

	if (!OidIsValid(nsp))
	{
		mirror_spi_exec(psprintf("CREATE SCHEMA IF NOT EXISTS %s",
								 quote_identifier(def->target_schema)));
		nsp = get_namespace_oid(def->target_schema, false);
	}
	return nsp;
}

Oid
mirror_relid(StreamDef *def, MirrorTable *mt)
{
	Oid			nsp;

	if (!mt->exists)
		return InvalidOid;
	nsp = get_namespace_oid(def->target_schema, true);
	if (!OidIsValid(nsp))
		return InvalidOid;
	return get_relname_relid(mt->table_name, nsp);
}

static bool
table_is_registered(int32 stream_id, const char *table_name)
{
	Oid			types[2] = {INT4OID, NAMEOID};
	Datum		values[2];
	bool		found;

	values[0] = Int32GetDatum(stream_id);
	values[1] = name_datum(table_name);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (SPI_execute_with_args("SELECT 1 FROM vstream_fdw.mirror "
							  "WHERE stream_id = $1 AND table_name = $2 "
							  "AND state <> 'detached'",
							  2, types, values, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "could not read vstream_fdw.mirror");
	found = (SPI_processed > 0);
	SPI_finish();
	return found;
}

void
mirror_check_free(StreamDef *def, const char *table_name, const char *source_table)
{
	Oid			nsp = get_namespace_oid(def->target_schema, true);

	if (!OidIsValid(nsp) || !OidIsValid(get_relname_relid(table_name, nsp)))
		return;
	if (table_is_registered(def->id, table_name))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_DUPLICATE_TABLE),
			 errmsg("relation %s is in the way of the mirror of source table \"%s\"",
					quote_qualified_identifier(def->target_schema, table_name),
					source_table),
			 errdetail("The stream of server \"%s\" did not create that table, so it will not write to it.",
					   def->server_name),
			 errhint("Drop or rename the table, or give the stream another target schema; then call vstream_fdw.start_stream().")));
}

void
mirror_create(StreamDef *def, MirrorTable *mt, const char *keyspace,
			  Query__Field **fields, int nfields)
{
	StringInfoData sql;
	StringInfoData pk;
	const char *table_name = mt->exists ? mt->table_name : mirror_pg_name(mt->source_table);
	const char *qname;
	List	   *mapped = NIL;
	int			i;

	(void) mirror_schema_oid(def);
	mirror_check_free(def, table_name, mt->source_table);
	qname = quote_qualified_identifier(def->target_schema, table_name);

	initStringInfo(&sql);
	initStringInfo(&pk);
	appendStringInfo(&sql, "CREATE TABLE %s (", qname);
	for (i = 0; i < nfields; i++)
	{
		Query__Field *f = fields[i];
		char	   *col = mirror_column_pg_name(f->name);
		ListCell   *lc;
		bool		dup = false;

		/* two long source names that map to one PostgreSQL name */
		foreach(lc, mapped)
			if (strcmp(lfirst(lc), col) == 0)
				dup = true;
		if (dup)
			ereport(ERROR,
					(errcode(ERRCODE_DUPLICATE_COLUMN),
					 errmsg("source columns of table \"%s.%s\" map to the same mirror column name \"%s\"",
							keyspace, mt->source_table, col)));
		mapped = lappend(mapped, col);
		appendStringInfo(&sql, "%s%s %s", i > 0 ? ", " : "",
						 quote_identifier(col), convert_pg_type_sql(f));
		if (f->flags & VSTREAM_PRI_KEY_FLAG)
			appendStringInfo(&pk, "%s%s", pk.len > 0 ? ", " : "",
							 quote_identifier(col));
	}
	if (pk.len == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("source table \"%s.%s\" has no primary key",
						keyspace, mt->source_table),
				 errdetail("Mirror tables are keyed by the source primary key."),
				 errhint("Add a primary key to the source table, or leave it out of the stream's tables.")));
	appendStringInfo(&sql, ", PRIMARY KEY (%s))", pk.data);
	mirror_spi_exec(sql.data);

	resetStringInfo(&sql);
	appendStringInfo(&sql, "COMMENT ON TABLE %s IS %s", qname,
					 quote_literal_cstr(psprintf("mirror of %s.%s, maintained by the vstream_fdw stream of server %s",
												 keyspace, mt->source_table,
												 def->server_name)));
	mirror_spi_exec(sql.data);

	if (!mt->exists)
		mirror_register(def->id, mt, table_name, MIRROR_ACTIVE);
	for (i = 0; i < nfields; i++)
		mirror_map_column(def->id, mt, fields[i]->name, list_nth(mapped, i));
	ereport(LOG,
			(errmsg("vstream_fdw created mirror table %s for %s.%s",
					qname, keyspace, mt->source_table)));
}

/*
 * Add a column for a source column.  A default literal the column type
 * does not accept (e.g. 1.5e3 for an integer) is left out: returns false,
 * and the caller copies the table again.
 */
bool
mirror_add_column(StreamDef *def, MirrorTable *mt, const char *source,
				  const char *pgtype, const char *default_literal)
{
	char	   *col = mirror_column_pg_name(source);
	const char *qname = quote_qualified_identifier(def->target_schema, mt->table_name);
	bool		ok = true;

	if (default_literal)
		ok = try_spi_exec(psprintf("ALTER TABLE %s ADD COLUMN %s %s DEFAULT %s",
								   qname, quote_identifier(col), pgtype,
								   quote_literal_cstr(default_literal)),
						  psprintf("give column %s of mirror table %s the source's default",
								   quote_identifier(col), mt->table_name));
	if (!default_literal || !ok)
		mirror_spi_exec(psprintf("ALTER TABLE %s ADD COLUMN %s %s",
								 qname, quote_identifier(col), pgtype));
	mirror_map_column(def->id, mt, source, col);
	return ok;
}

void
mirror_drop_column(StreamDef *def, MirrorTable *mt, const char *source)
{
	MirrorColumn *mc = mirror_find_column(mt, source);
	ListCell   *lc;

	if (mc == NULL || mc->column == NULL)
		return;
	mirror_spi_exec(psprintf("ALTER TABLE %s DROP COLUMN IF EXISTS %s",
							 quote_qualified_identifier(def->target_schema, mt->table_name),
							 quote_identifier(mc->column)));
	/* the dropped column's other names (old names of a rename) go too */
	foreach(lc, mt->columns)
	{
		MirrorColumn *other = lfirst(lc);

		if (other != mc && other->column && strcmp(other->column, mc->column) == 0)
			mirror_map_column(def->id, mt, other->source, NULL);
	}
	mirror_map_column(def->id, mt, source, NULL);
}

/*
 * RENAME COLUMN / CHANGE old new.  The old source name stays an alias of
 * the column (a shard that has not applied the rename still sends it).
 * Returns false when there was nothing to do (already renamed).
 */
bool
mirror_rename_column(StreamDef *def, MirrorTable *mt, const char *old_source,
					 const char *new_source)
{
	MirrorColumn *mc = mirror_find_column(mt, old_source);
	MirrorColumn *target = mirror_find_column(mt, new_source);
	char	   *newcol = mirror_column_pg_name(new_source);
	char	   *oldcol;

	if (mc == NULL || mc->column == NULL)
		return false;			/* unknown or dropped: nothing to rename */
	if (target && target->column && mc->column &&
		strcmp(target->column, mc->column) == 0)
		return false;			/* done for another shard already */
	oldcol = pstrdup(mc->column);
	if (strcmp(oldcol, newcol) != 0)
		mirror_spi_exec(psprintf("ALTER TABLE %s RENAME COLUMN %s TO %s",
								 quote_qualified_identifier(def->target_schema, mt->table_name),
								 quote_identifier(oldcol), quote_identifier(newcol)));
	mirror_map_column(def->id, mt, new_source, newcol);
	mirror_map_column(def->id, mt, old_source, newcol);
	return true;
}

void
mirror_retype_column(StreamDef *def, MirrorTable *mt, const char *column,
					 const char *pgtype, bool keep_values)
{
	const char *qcol = quote_identifier(column);

	if (keep_values)
		mirror_spi_exec(psprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s",
								 quote_qualified_identifier(def->target_schema, mt->table_name),
								 qcol, pgtype, qcol, pgtype));
	else
		mirror_spi_exec(psprintf("ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT, "
								 "ALTER COLUMN %s TYPE %s USING NULL",
								 quote_qualified_identifier(def->target_schema, mt->table_name),
								 qcol, qcol, pgtype));
}

/* Run DDL in a subtransaction; false (logged) if it failed. */
static bool
try_spi_exec(const char *sql, const char *what)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool ok = true;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		mirror_spi_exec(sql);
		ReleaseCurrentSubTransaction();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		ereport(LOG,
				(errmsg("vstream_fdw could not %s: %s", what, edata->message)));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return ok;
}

/* Convert a column's values with a cast; false if a value does not cast. */
bool
mirror_try_retype(StreamDef *def, MirrorTable *mt, const char *column,
				  const char *pgtype)
{
	const char *qcol = quote_identifier(column);

	return try_spi_exec(psprintf("ALTER TABLE %s ALTER COLUMN %s TYPE %s USING %s::%s",
								 quote_qualified_identifier(def->target_schema, mt->table_name),
								 qcol, pgtype, qcol, pgtype),
						psprintf("convert column %s of mirror table %s to %s",
								 qcol, mt->table_name, pgtype));
}

/* Do two lists of names hold the same names in the same order? */
bool
mirror_same_names(List *a, List *b)
{
	ListCell   *la;
	ListCell   *lb;

	if (list_length(a) != list_length(b))
		return false;
	forboth(la, a, lb, b)
	{
		if (strcmp(lfirst(la), lfirst(lb)) != 0)
			return false;
	}
	return true;
}

/* The mirror's primary-key columns (mirror column names, in key order). */
List *
mirror_primary_key(StreamDef *def, MirrorTable *mt)
{
	Oid			relid = mirror_relid(def, mt);
	Relation	rel;
	Oid			pkoid;
	List	   *cols = NIL;

	if (!OidIsValid(relid))
		return NIL;
	rel = table_open(relid, AccessShareLock);
	pkoid = RelationGetPrimaryKeyIndex(rel);
	if (OidIsValid(pkoid))
	{
		Relation	idx = index_open(pkoid, AccessShareLock);
		int			i;

		for (i = 0; i < IndexRelationGetNumberOfKeyAttributes(idx); i++)
		{
			AttrNumber	att = idx->rd_index->indkey.values[i];

			if (att > 0)
				cols = lappend(cols,
							   pstrdup(NameStr(TupleDescAttr(RelationGetDescr(rel), att - 1)->attname)));
		}
		index_close(idx, AccessShareLock);
	}
	table_close(rel, AccessShareLock);
	return cols;
}

/*
 * Make "columns" (mirror column names) the primary key.  Returns false if
 * the mirror's rows do not allow it (duplicates or NULLs): the caller then
 * re-copies the table.  Runs in a subtransaction for that reason.
 */
bool
mirror_set_primary_key(StreamDef *def, MirrorTable *mt, List *columns)
{
	Oid			relid = mirror_relid(def, mt);
	char	   *conname = NULL;
	StringInfoData sql;
	ListCell   *lc;

	if (OidIsValid(relid))
	{
		Relation	rel = table_open(relid, AccessShareLock);
		Oid			pkoid = RelationGetPrimaryKeyIndex(rel);

		if (OidIsValid(pkoid))
			conname = get_rel_name(pkoid);
		table_close(rel, AccessShareLock);
	}
	initStringInfo(&sql);
	appendStringInfo(&sql, "ALTER TABLE %s ",
					 quote_qualified_identifier(def->target_schema, mt->table_name));
	if (conname)
		appendStringInfo(&sql, "DROP CONSTRAINT %s, ", quote_identifier(conname));
	appendStringInfoString(&sql, "ADD PRIMARY KEY (");
	foreach(lc, columns)
		appendStringInfo(&sql, "%s%s", foreach_current_index(lc) > 0 ? ", " : "",
						 quote_identifier(lfirst(lc)));
	appendStringInfoChar(&sql, ')');

	return try_spi_exec(sql.data,
						psprintf("change the primary key of mirror table %s in place",
								 mt->table_name));
}

void
mirror_truncate(StreamDef *def, MirrorTable *mt)
{
	if (!OidIsValid(mirror_relid(def, mt)))
		return;
	mirror_spi_exec(psprintf("TRUNCATE %s",
							 quote_qualified_identifier(def->target_schema, mt->table_name)));
}

bool
mirror_is_empty(StreamDef *def, MirrorTable *mt)
{
	Oid			relid = mirror_relid(def, mt);
	Relation	rel;
	TableScanDesc scan;
	TupleTableSlot *slot;
	bool		empty;

	if (!OidIsValid(relid))
		return true;
	rel = table_open(relid, AccessShareLock);
	slot = table_slot_create(rel, NULL);
	scan = table_beginscan(rel, GetActiveSnapshot(), 0, NULL);
	empty = !table_scan_getnextslot(scan, ForwardScanDirection, slot);
	table_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	table_close(rel, AccessShareLock);
	return empty;
}

void
mirror_rename_table(StreamDef *def, MirrorTable *mt, const char *new_source)
{
	char	   *newname = mirror_pg_name(new_source);
	Oid			types[4] = {INT4OID, NAMEOID, NAMEOID, TEXTOID};
	Datum		values[4];
	MirrorTable *target;
	MemoryContext old;

	if (strcmp(newname, mt->table_name) != 0)
	{
		mirror_check_free(def, newname, new_source);
		if (OidIsValid(mirror_relid(def, mt)))
			mirror_spi_exec(psprintf("ALTER TABLE %s RENAME TO %s",
									 quote_qualified_identifier(def->target_schema, mt->table_name),
									 quote_identifier(newname)));
	}
	values[0] = Int32GetDatum(def->id);
	values[1] = name_datum(mt->table_name);
	values[2] = name_datum(newname);
	values[3] = CStringGetTextDatum(new_source);
	spi_args("UPDATE vstream_fdw.mirror SET table_name = $3, source_table = $4, "
			 "changed_at = now() WHERE stream_id = $1 AND table_name = $2",
			 4, types, values, NULL);

	/* move the cache entry to its new key */
	target = hash_search(mirror_cache, mt->key, HASH_FIND, NULL);
	if (target)
	{
		MirrorTable copy = *target;
		char		key[sizeof(copy.key)];

		hash_search(mirror_cache, target->key, HASH_REMOVE, NULL);
		cache_key(key, new_source);
		target = hash_search(mirror_cache, key, HASH_ENTER, NULL);
		memcpy(((char *) target) + sizeof(target->key),
			   ((char *) &copy) + sizeof(copy.key),
			   sizeof(MirrorTable) - sizeof(copy.key));
		old = MemoryContextSwitchTo(mirror_cache_cxt);
		target->table_name = pstrdup(newname);
		target->source_table = pstrdup(new_source);
		MemoryContextSwitchTo(old);
	}
}

/*
 * The source table is gone: drop the mirror, or keep it under a new name
 * ("<name>_detached_<time>") and stop writing it.  Returns what was done.
 */
char *
mirror_detach(StreamDef *def, MirrorTable *mt, bool drop)
{
	Oid			types[3] = {INT4OID, NAMEOID, NAMEOID};
	Datum		values[3];
	char	   *result;

	if (!mt->exists)
		return pstrdup("none (not mirrored)");
	values[0] = Int32GetDatum(def->id);
	values[1] = name_datum(mt->table_name);
	if (drop)
	{
		if (OidIsValid(mirror_relid(def, mt)))
			mirror_spi_exec(psprintf("DROP TABLE %s",
									 quote_qualified_identifier(def->target_schema, mt->table_name)));
		spi_args("DELETE FROM vstream_fdw.mirror WHERE stream_id = $1 AND table_name = $2",
				 2, types, values, NULL);
		result = psprintf("dropped mirror table %s", mt->table_name);
	}
	else
	{
		char	   *suffix = psprintf("_detached_%ld",
									  (long) (GetCurrentTimestamp() / USECS_PER_SEC + 946684800L));
		int			len = strlen(mt->table_name);
		int			cut = pg_mbcliplen(mt->table_name, len,
									   NAMEDATALEN - 1 - strlen(suffix));
		char	   *newname = psprintf("%.*s%s", cut, mt->table_name, suffix);

		mirror_check_free(def, newname, mt->source_table);
		if (OidIsValid(mirror_relid(def, mt)))
			mirror_spi_exec(psprintf("ALTER TABLE %s RENAME TO %s",
									 quote_qualified_identifier(def->target_schema, mt->table_name),
									 quote_identifier(newname)));
		values[2] = name_datum(newname);
		spi_args("UPDATE vstream_fdw.mirror SET table_name = $3, state = 'detached', "
				 "changed_at = now() WHERE stream_id = $1 AND table_name = $2",
				 3, types, values, NULL);
		result = psprintf("detached: mirror table kept as %s", newname);
	}
	hash_search(mirror_cache, mt->key, HASH_REMOVE, NULL);
	return result;
}

void
mirror_record_history(int32 stream_id, const char *keyspace, const char *shard,
					  const char *position, const char *source_table,
					  const char *statement, const char *action)
{
	Oid			types[7] = {INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID};
	Datum		values[7];
	char		nulls[7] = {' ', ' ', ' ', ' ', ' ', ' ', ' '};

	values[0] = Int32GetDatum(stream_id);
	values[1] = CStringGetTextDatum(keyspace ? keyspace : "");
	values[2] = CStringGetTextDatum(shard ? shard : "");
	if (position)
		values[3] = CStringGetTextDatum(position);
	else
		nulls[3] = 'n';
	if (source_table)
		values[4] = CStringGetTextDatum(source_table);
	else
		nulls[4] = 'n';
	values[5] = CStringGetTextDatum(statement ? statement : "");
	values[6] = CStringGetTextDatum(action);
	spi_args("INSERT INTO vstream_fdw.schema_history "
			 "(stream_id, keyspace, shard, position, source_table, statement, action) "
			 "VALUES ($1, $2, $3, $4, $5, $6, $7)",
			 7, types, values, nulls);
}
