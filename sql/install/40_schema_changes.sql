-- vstream_fdw install script, part 40: following source schema changes.
--
-- The same statements are the 0.1.0 -> 0.2.0 upgrade step (this file is
-- linked from sql/upgrade/0.1.0--0.2.0/), so a fresh
-- install and an updated database get identical objects.

-- Mirror tables: which source table each one mirrors, and its state.  A
-- stream writes, truncates and drops only the tables recorded here.
ALTER TABLE vstream_fdw.mirror
    ADD COLUMN source_table text,
    ADD COLUMN state text NOT NULL DEFAULT 'active'
        CHECK (state IN ('active', 'copying', 'detached')),
    ADD COLUMN created_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN changed_at timestamptz;

-- 0.1.0 named every mirror after its source table.
UPDATE vstream_fdw.mirror SET source_table = table_name WHERE source_table IS NULL;

CREATE UNIQUE INDEX mirror_source_table_key ON vstream_fdw.mirror (stream_id, source_table)
    WHERE state <> 'detached';

COMMENT ON TABLE vstream_fdw.mirror IS
'mirror tables of each stream, in the stream''s target schema: the stream writes, truncates and drops only the tables listed here (truncated by resync_stream and resync_table, dropped by drop_stream(..., drop_tables => true))';
COMMENT ON COLUMN vstream_fdw.mirror.source_table IS 'the source table mirrored (its name in the keyspace, up to 64 characters); for a detached mirror, the table it mirrored';
COMMENT ON COLUMN vstream_fdw.mirror.state IS 'active (replicating), copying (being copied again: empty or partial until the copy catches up) or detached (the source table was dropped or renamed away; the stream no longer writes it)';
COMMENT ON COLUMN vstream_fdw.mirror.created_at IS 'when the stream created the mirror table';
COMMENT ON COLUMN vstream_fdw.mirror.changed_at IS 'when the stream last changed the mirror''s shape or state';

-- Source column -> mirror column names (PostgreSQL keeps 63 bytes of a name,
-- MySQL 64 characters; renamed columns keep their old source name as an
-- alias for shards that have not applied the rename yet).
CREATE TABLE vstream_fdw.mirror_column (
    stream_id       integer NOT NULL,
    table_name      name NOT NULL,
    source_column   text NOT NULL,
    column_name     name,
    PRIMARY KEY (stream_id, table_name, source_column),
    FOREIGN KEY (stream_id, table_name) REFERENCES vstream_fdw.mirror (stream_id, table_name)
        ON DELETE CASCADE ON UPDATE CASCADE
);

COMMENT ON TABLE vstream_fdw.mirror_column IS
'names of the mirror columns of each source column (one row per source column name, including the old names of renamed columns and the names of dropped columns)';
COMMENT ON COLUMN vstream_fdw.mirror_column.stream_id IS 'the stream (vstream_fdw.stream.id)';
COMMENT ON COLUMN vstream_fdw.mirror_column.table_name IS 'mirror table (vstream_fdw.mirror.table_name)';
COMMENT ON COLUMN vstream_fdw.mirror_column.source_column IS 'column name at the source';
COMMENT ON COLUMN vstream_fdw.mirror_column.column_name IS 'the mirror column it is written to; NULL: the source column was dropped, values a lagging shard still sends for it are ignored';

-- What happened to the mirror at every DDL event.
CREATE TABLE vstream_fdw.schema_history (
    id              bigserial PRIMARY KEY,
    stream_id       integer NOT NULL
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    keyspace        text NOT NULL,
    shard           text NOT NULL,
    position        text,
    source_table    text,
    statement       text NOT NULL,
    action          text NOT NULL,
    applied_at      timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX schema_history_stream_idx ON vstream_fdw.schema_history (stream_id, id);

COMMENT ON TABLE vstream_fdw.schema_history IS
'every DDL event a stream applied: where it came from, the statement, and what the stream did to the mirror (written in the transaction that applied it)';
COMMENT ON COLUMN vstream_fdw.schema_history.id IS 'order of application';
COMMENT ON COLUMN vstream_fdw.schema_history.stream_id IS 'the stream (vstream_fdw.stream.id)';
COMMENT ON COLUMN vstream_fdw.schema_history.keyspace IS 'source keyspace of the DDL event';
COMMENT ON COLUMN vstream_fdw.schema_history.shard IS 'source shard of the DDL event (a sharded keyspace sends one DDL event per shard)';
COMMENT ON COLUMN vstream_fdw.schema_history.position IS 'the shard''s GTID position of the DDL';
COMMENT ON COLUMN vstream_fdw.schema_history.source_table IS 'the source table the statement changed, if it names one';
COMMENT ON COLUMN vstream_fdw.schema_history.statement IS 'the DDL statement as the source executed it';
COMMENT ON COLUMN vstream_fdw.schema_history.action IS 'what the stream did to the mirror, e.g. "renamed column v to w", "re-copy", "none (already applied for another shard)"';
COMMENT ON COLUMN vstream_fdw.schema_history.applied_at IS 'when the stream applied it';
COMMENT ON SEQUENCE vstream_fdw.schema_history_id_seq IS 'ids of vstream_fdw.schema_history';

-- Per shard and table: how far the copy got.  A copy that resumes tells
-- VTGate the last key of every table it completed on the shard, so that
-- completed tables are not copied again from scratch (which would skip
-- their changes in between and leave deleted rows behind).
CREATE TABLE vstream_fdw.table_copy (
    stream_id       integer NOT NULL
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    keyspace        text NOT NULL,
    shard           text NOT NULL,
    source_table    text NOT NULL,
    lastpk          bytea,
    completed_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, keyspace, shard, source_table)
);

COMMENT ON TABLE vstream_fdw.table_copy IS
'tables whose copy completed on a shard, with the last primary key copied (sent back to VTGate when a copy resumes)';
COMMENT ON COLUMN vstream_fdw.table_copy.stream_id IS 'the stream (vstream_fdw.stream.id)';
COMMENT ON COLUMN vstream_fdw.table_copy.keyspace IS 'source keyspace';
COMMENT ON COLUMN vstream_fdw.table_copy.shard IS 'source shard';
COMMENT ON COLUMN vstream_fdw.table_copy.source_table IS 'source table';
COMMENT ON COLUMN vstream_fdw.table_copy.lastpk IS 'last primary key copied (serialized query.QueryResult, as in a VGTID''s table_p_ks)';
COMMENT ON COLUMN vstream_fdw.table_copy.completed_at IS 'when the table''s copy completed on the shard';

SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.mirror_column', '');
SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.schema_history', '');
SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.schema_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.table_copy', '');

REVOKE ALL ON vstream_fdw.mirror_column, vstream_fdw.schema_history,
    vstream_fdw.table_copy FROM PUBLIC;

-- Re-copy one table of a running stream.
CREATE FUNCTION vstream_fdw._request_recopy(stream_id integer, source_table text)
RETURNS void
AS 'MODULE_PATHNAME', 'vstream_request_recopy'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION vstream_fdw._request_recopy(integer, text) IS
'internal: truncates the mirror of a source table and makes the stream copy that table again (other tables keep replicating)';

REVOKE ALL ON FUNCTION vstream_fdw._request_recopy(integer, text) FROM PUBLIC;

CREATE FUNCTION vstream_fdw.resync_table(server name, source_table text)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st vstream_fdw.stream;
BEGIN
    st := vstream_fdw._stream_for_update(server);
    IF st.tables IS NOT NULL AND NOT source_table = ANY (st.tables) THEN
        RAISE EXCEPTION 'table "%" is not mirrored by the stream of server "%"', source_table, server
            USING ERRCODE = 'undefined_table',
                  HINT = 'Add it with vstream_fdw.add_table().';
    END IF;
    PERFORM vstream_fdw._require_workers();
    PERFORM vstream_fdw._stop_worker(st.id);
    PERFORM vstream_fdw._request_recopy(st.id, source_table);
    PERFORM vstream_fdw._wake_launcher();
END
$$;

COMMENT ON FUNCTION vstream_fdw.resync_table(name, text) IS
'copies one source table of a running stream again: its mirror is truncated and refilled from a new copy while the other tables keep replicating';

CREATE FUNCTION vstream_fdw.add_table(server name, source_table text)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st vstream_fdw.stream;
BEGIN
    st := vstream_fdw._stream_for_update(server);
    IF source_table = '' OR source_table ~ '[./]' THEN
        RAISE EXCEPTION 'invalid table name "%"', source_table
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Give a bare source table name, without keyspace.';
    END IF;
    IF st.tables IS NULL OR source_table = ANY (st.tables) THEN
        RAISE EXCEPTION 'table "%" is already mirrored by the stream of server "%"', source_table, server
            USING ERRCODE = 'duplicate_table',
                  HINT = 'Use vstream_fdw.resync_table() to copy it again.';
    END IF;
    PERFORM vstream_fdw._require_workers();
    PERFORM vstream_fdw._stop_worker(st.id);
    UPDATE vstream_fdw.stream s SET tables = s.tables || source_table WHERE s.id = st.id;
    PERFORM vstream_fdw._request_recopy(st.id, source_table);
    PERFORM vstream_fdw._wake_launcher();
END
$$;

COMMENT ON FUNCTION vstream_fdw.add_table(name, text) IS
'adds a source table to a running stream that mirrors a list of tables: the table is copied while the others keep replicating';

-- resync_stream also forgets per-table copy progress and copying states.
CREATE OR REPLACE FUNCTION vstream_fdw.resync_stream(server name)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st record;
    m record;
BEGIN
    st := vstream_fdw._stream_for_update(server);
    PERFORM vstream_fdw._require_workers();
    PERFORM vstream_fdw._stop_worker(st.id);
    FOR m IN SELECT table_name FROM vstream_fdw.mirror
              WHERE stream_id = st.id AND state <> 'detached' LOOP
        IF to_regclass(format('%I.%I', st.target_schema, m.table_name)) IS NOT NULL THEN
            EXECUTE format('TRUNCATE %I.%I', st.target_schema, m.table_name);
        END IF;
    END LOOP;
    UPDATE vstream_fdw.mirror SET state = 'active', changed_at = now()
     WHERE stream_id = st.id AND state = 'copying';
    DELETE FROM vstream_fdw.table_copy WHERE stream_id = st.id;
    UPDATE vstream_fdw.checkpoint
       SET copy_completed = false, updated_at = now()
     WHERE stream_id = st.id;
    DELETE FROM vstream_fdw.shard_position WHERE stream_id = st.id;
    DELETE FROM vstream_fdw.shard_state WHERE stream_id = st.id;
    UPDATE vstream_fdw.stream
       SET enabled = true, state = 'copying', last_error = NULL, last_error_at = NULL
     WHERE id = st.id;
    PERFORM vstream_fdw._wake_launcher();
END
$$;

-- drop_stream drops only the mirrors the stream owns and that are not
-- detached (a detached mirror is the user's now).
CREATE OR REPLACE FUNCTION vstream_fdw.drop_stream(server name, drop_tables boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st record;
    m record;
BEGIN
    st := vstream_fdw._stream_for_update(server);
    PERFORM vstream_fdw._stop_worker(st.id);
    IF drop_tables THEN
        FOR m IN SELECT table_name FROM vstream_fdw.mirror
                  WHERE stream_id = st.id AND state <> 'detached' LOOP
            EXECUTE format('DROP TABLE IF EXISTS %I.%I', st.target_schema, m.table_name);
        END LOOP;
    END IF;
    DELETE FROM vstream_fdw.stream WHERE id = st.id;
    PERFORM vstream_fdw._wake_launcher();
END
$$;

REVOKE ALL ON FUNCTION vstream_fdw.resync_table(name, text),
    vstream_fdw.add_table(name, text) FROM PUBLIC;
