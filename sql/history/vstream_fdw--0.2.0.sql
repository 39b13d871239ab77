-- vstream_fdw install script, part 00: the foreign-data wrapper and peek().
-- The parts in sql/install/ are concatenated in name order by the Makefile.

\echo Use "CREATE EXTENSION vstream_fdw" to load this file. \quit

CREATE FUNCTION vstream_fdw.vstream_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME', 'vstream_fdw_handler'
LANGUAGE C STRICT;

COMMENT ON FUNCTION vstream_fdw.vstream_fdw_handler() IS
'foreign-data wrapper handler of vstream_fdw (live scans through VTGate''s MySQL protocol)';

CREATE FUNCTION vstream_fdw.vstream_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME', 'vstream_fdw_validator'
LANGUAGE C STRICT;

COMMENT ON FUNCTION vstream_fdw.vstream_fdw_validator(text[], oid) IS
'validates the options of vstream_fdw servers, user mappings and foreign tables';

CREATE FOREIGN DATA WRAPPER vstream_fdw
  HANDLER vstream_fdw.vstream_fdw_handler
  VALIDATOR vstream_fdw.vstream_fdw_validator;

COMMENT ON FOREIGN DATA WRAPPER vstream_fdw IS
'Vitess keyspaces through VTGate: one foreign server per keyspace';

CREATE FUNCTION vstream_fdw.peek(
    server name,
    start text DEFAULT 'current',
    max_events integer DEFAULT 100,
    timeout interval DEFAULT '10 seconds',
    OUT seq bigint,
    OUT event_type text,
    OUT keyspace text,
    OUT shard text,
    OUT table_name text,
    OUT source_time timestamptz,
    OUT vgtid jsonb,
    OUT row_before jsonb,
    OUT row_after jsonb,
    OUT fields jsonb,
    OUT statement text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vstream_peek'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vstream_fdw.peek(name, text, integer, interval) IS
'opens a VStream for a foreign server and returns its events as rows: start is ''current'', ''copy'' or a VGTID in JSON; stops after max_events events, after timeout, or when the server ends the stream';

REVOKE ALL ON FUNCTION vstream_fdw.peek(name, text, integer, interval) FROM PUBLIC;
-- vstream_fdw install script, part 20: streams (background replication of a
-- keyspace into mirror tables), their checkpoints and the status view.

-- Stream definitions: one stream per foreign server.  Names, not OIDs, so
-- that pg_dump / restore keeps them meaningful.
CREATE TABLE vstream_fdw.stream (
    id              serial PRIMARY KEY,
    server_name     name NOT NULL UNIQUE,
    target_schema   name NOT NULL,
    tables          text[],
    start           text NOT NULL DEFAULT 'copy',
    enabled         boolean NOT NULL DEFAULT true,
    owner           name NOT NULL DEFAULT current_user,
    state           text NOT NULL DEFAULT 'copying'
                    CHECK (state IN ('copying', 'replicating', 'stopped', 'error')),
    last_error      text,
    last_error_at   timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE vstream_fdw.stream IS
'streams: one per foreign server, mirroring its keyspace into tables of target_schema (managed with create_stream, start_stream, stop_stream, drop_stream, resync_stream)';
COMMENT ON COLUMN vstream_fdw.stream.server_name IS 'the vstream_fdw foreign server (one keyspace) streamed';
COMMENT ON COLUMN vstream_fdw.stream.target_schema IS 'schema of the mirror tables';
COMMENT ON COLUMN vstream_fdw.stream.tables IS 'source tables to mirror; NULL means all tables of the keyspace';
COMMENT ON COLUMN vstream_fdw.stream.start IS 'where the stream started: copy, current, or a VGTID in JSON';
COMMENT ON COLUMN vstream_fdw.stream.enabled IS 'false after stop_stream: no worker runs';
COMMENT ON COLUMN vstream_fdw.stream.owner IS 'role the worker runs as';
COMMENT ON COLUMN vstream_fdw.stream.state IS 'copying, replicating, stopped or error (a stream in error waits for start_stream)';
COMMENT ON COLUMN vstream_fdw.stream.last_error IS 'last error of the worker, also transient ones';

-- Resume position, updated in the same transaction as the rows it covers.
-- Narrow and HOT-friendly: it is updated once per source transaction.
CREATE TABLE vstream_fdw.checkpoint (
    stream_id       integer PRIMARY KEY
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    vgtid           bytea,
    copy_completed  boolean NOT NULL DEFAULT false,
    updated_at      timestamptz
) WITH (fillfactor = 50);

COMMENT ON TABLE vstream_fdw.checkpoint IS
'resume position of each stream: the VGTID (serialized binlogdata.VGtid, exactly as received, table_p_ks included) committed with the rows it covers';
COMMENT ON COLUMN vstream_fdw.checkpoint.vgtid IS 'last applied VGTID (binlogdata.VGtid protobuf); NULL before the first one';
COMMENT ON COLUMN vstream_fdw.checkpoint.copy_completed IS 'true once the stream-wide COPY_COMPLETED was applied (or the stream started without a copy)';

-- Per-shard state: which shards finished their copy phase.
CREATE TABLE vstream_fdw.shard_state (
    stream_id       integer NOT NULL
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    keyspace        text NOT NULL,
    shard           text NOT NULL,
    copy_completed  boolean NOT NULL DEFAULT false,
    PRIMARY KEY (stream_id, keyspace, shard)
);

COMMENT ON TABLE vstream_fdw.shard_state IS
'per-shard state of each stream: copy_completed is set by the shard''s COPY_COMPLETED event';

-- Mirror tables written by each stream (schema is the stream's target_schema).
CREATE TABLE vstream_fdw.mirror (
    stream_id       integer NOT NULL
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    table_name      name NOT NULL,
    PRIMARY KEY (stream_id, table_name)
);

COMMENT ON TABLE vstream_fdw.mirror IS
'mirror tables of each stream, in the stream''s target schema: truncated by resync_stream, dropped by drop_stream(..., drop_tables => true)';

COMMENT ON SEQUENCE vstream_fdw.stream_id_seq IS 'ids of vstream_fdw.stream';

SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.stream', '');
SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.stream_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.checkpoint', '');
SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.shard_state', '');
SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.mirror', '');

REVOKE ALL ON vstream_fdw.stream, vstream_fdw.checkpoint,
    vstream_fdw.shard_state, vstream_fdw.mirror FROM PUBLIC;

-- Internal helpers (C).

CREATE FUNCTION vstream_fdw._require_workers()
RETURNS void
AS 'MODULE_PATHNAME', 'vstream_require_workers'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vstream_fdw._require_workers() IS
'internal: raises an error saying what to add to postgresql.conf unless stream workers can run in this database';

CREATE FUNCTION vstream_fdw._stop_worker(stream_id integer)
RETURNS void
AS 'MODULE_PATHNAME', 'vstream_stop_worker'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION vstream_fdw._stop_worker(integer) IS
'internal: terminates the worker of a stream and waits until it has exited; a new worker waits for the end of the calling transaction';

CREATE FUNCTION vstream_fdw._wake_launcher()
RETURNS void
AS 'MODULE_PATHNAME', 'vstream_wake_launcher'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vstream_fdw._wake_launcher() IS
'internal: makes the stream launcher re-read vstream_fdw.stream when the calling transaction commits';

CREATE FUNCTION vstream_fdw._start_position(start text,
    OUT vgtid bytea, OUT copy_completed boolean, OUT copied_shards text[])
RETURNS record
AS 'MODULE_PATHNAME', 'vstream_start_position'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION vstream_fdw._start_position(text) IS
'internal: validates a stream start (copy, current or a VGTID in JSON) and returns the initial checkpoint; copied_shards lists keyspace/shard of shards the VGTID places past their copy phase';

CREATE FUNCTION vstream_fdw.vgtid_to_jsonb(vgtid bytea)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'vstream_vgtid_bytea_to_jsonb'
LANGUAGE C STRICT IMMUTABLE;

COMMENT ON FUNCTION vstream_fdw.vgtid_to_jsonb(bytea) IS
'renders a checkpoint VGTID (serialized binlogdata.VGtid) as JSON: [{"keyspace":..,"shard":..,"gtid":..,"table_p_ks":[..]}]';

REVOKE ALL ON FUNCTION vstream_fdw._require_workers(),
    vstream_fdw._stop_worker(integer),
    vstream_fdw._wake_launcher(),
    vstream_fdw._start_position(text) FROM PUBLIC;

-- Management functions.

CREATE FUNCTION vstream_fdw.create_stream(
    server name,
    tables text[] DEFAULT NULL,
    target_schema name DEFAULT NULL,
    start text DEFAULT 'copy')
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    srv oid;
    sid integer;
    pos record;
    t text;
BEGIN
    IF server IS NULL THEN
        RAISE EXCEPTION 'server must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    SELECT s.oid INTO srv
      FROM pg_foreign_server s
      JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
     WHERE s.srvname = server AND w.fdwname = 'vstream_fdw';
    IF srv IS NULL THEN
        IF EXISTS (SELECT 1 FROM pg_foreign_server s WHERE s.srvname = server) THEN
            RAISE EXCEPTION 'server "%" does not use the vstream_fdw foreign-data wrapper', server
                USING ERRCODE = 'wrong_object_type';
        END IF;
        RAISE EXCEPTION 'server "%" does not exist', server
            USING ERRCODE = 'undefined_object';
    END IF;
    IF tables IS NOT NULL THEN
        IF cardinality(tables) = 0 THEN
            RAISE EXCEPTION 'tables must not be an empty array'
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Pass NULL to mirror every table of the keyspace.';
        END IF;
        FOREACH t IN ARRAY tables LOOP
            IF t IS NULL OR t = '' OR t ~ '[./]' THEN
                RAISE EXCEPTION 'invalid table name "%"', t
                    USING ERRCODE = 'invalid_parameter_value',
                          HINT = 'Give bare source table names, without keyspace.';
            END IF;
        END LOOP;
    END IF;
    IF start IS NULL THEN
        RAISE EXCEPTION 'start must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF EXISTS (SELECT 1 FROM vstream_fdw.stream s WHERE s.server_name = server) THEN
        RAISE EXCEPTION 'a stream for server "%" already exists', server
            USING ERRCODE = 'duplicate_object';
    END IF;
    pos := vstream_fdw._start_position(start);
    PERFORM vstream_fdw._require_workers();

    INSERT INTO vstream_fdw.stream (server_name, target_schema, tables, start, state)
    VALUES (server, coalesce(target_schema, server), tables, start,
            CASE WHEN pos.copy_completed THEN 'replicating' ELSE 'copying' END)
    RETURNING id INTO sid;
    INSERT INTO vstream_fdw.checkpoint (stream_id, vgtid, copy_completed, updated_at)
    VALUES (sid, pos.vgtid, pos.copy_completed, now());
    INSERT INTO vstream_fdw.shard_state (stream_id, keyspace, shard, copy_completed)
    SELECT sid, split_part(ks, '/', 1), substr(ks, length(split_part(ks, '/', 1)) + 2), true
      FROM unnest(pos.copied_shards) AS ks;
    PERFORM vstream_fdw._wake_launcher();
    RETURN sid;
END
$$;

COMMENT ON FUNCTION vstream_fdw.create_stream(name, text[], name, text) IS
'creates and starts a stream mirroring the keyspace of a vstream_fdw server: tables (NULL = all), target_schema (NULL = the server name), start = ''copy'' (copy then replicate), ''current'' (changes from now on) or a VGTID in JSON; returns the stream id';

-- The stream of a server, locked for the caller's transaction.
CREATE FUNCTION vstream_fdw._stream_for_update(server name)
RETURNS vstream_fdw.stream
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st vstream_fdw.stream;
BEGIN
    SELECT s.* INTO st FROM vstream_fdw.stream s WHERE s.server_name = server FOR UPDATE;
    IF st.id IS NULL THEN
        RAISE EXCEPTION 'no stream for server "%"', server
            USING ERRCODE = 'undefined_object',
                  HINT = 'Create one with vstream_fdw.create_stream(); vstream_fdw.stream lists the existing streams.';
    END IF;
    RETURN st;
END
$$;

COMMENT ON FUNCTION vstream_fdw._stream_for_update(name) IS
'internal: the stream row of a server, locked FOR UPDATE; raises undefined_object if there is none';

CREATE FUNCTION vstream_fdw.start_stream(server name)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sid integer;
BEGIN
    sid := (vstream_fdw._stream_for_update(server)).id;
    PERFORM vstream_fdw._require_workers();
    UPDATE vstream_fdw.stream s
       SET enabled = true,
           state = CASE WHEN c.copy_completed THEN 'replicating' ELSE 'copying' END,
           last_error = NULL, last_error_at = NULL
      FROM vstream_fdw.checkpoint c
     WHERE s.id = sid AND c.stream_id = sid;
    PERFORM vstream_fdw._wake_launcher();
END
$$;

COMMENT ON FUNCTION vstream_fdw.start_stream(name) IS
'starts a stopped stream, or restarts a stream stopped by an error, from its checkpoint';

CREATE FUNCTION vstream_fdw.stop_stream(server name)
RETURNS void
LANGUAGE plpgsql VOLATILE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sid integer;
BEGIN
    sid := (vstream_fdw._stream_for_update(server)).id;
    PERFORM vstream_fdw._stop_worker(sid);
    UPDATE vstream_fdw.stream s SET enabled = false, state = 'stopped' WHERE s.id = sid;
    PERFORM vstream_fdw._wake_launcher();
END
$$;

COMMENT ON FUNCTION vstream_fdw.stop_stream(name) IS
'stops the worker of a stream; the checkpoint and mirror tables are kept, start_stream resumes';

CREATE FUNCTION vstream_fdw.drop_stream(server name, drop_tables boolean DEFAULT false)
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
        FOR m IN SELECT table_name FROM vstream_fdw.mirror WHERE stream_id = st.id LOOP
            EXECUTE format('DROP TABLE IF EXISTS %I.%I', st.target_schema, m.table_name);
        END LOOP;
    END IF;
    DELETE FROM vstream_fdw.stream WHERE id = st.id;
    PERFORM vstream_fdw._wake_launcher();
END
$$;

COMMENT ON FUNCTION vstream_fdw.drop_stream(name, boolean) IS
'stops and deletes a stream with its checkpoint; drop_tables => true also drops its mirror tables';

CREATE FUNCTION vstream_fdw.resync_stream(server name)
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
    FOR m IN SELECT table_name FROM vstream_fdw.mirror WHERE stream_id = st.id LOOP
        IF to_regclass(format('%I.%I', st.target_schema, m.table_name)) IS NOT NULL THEN
            EXECUTE format('TRUNCATE %I.%I', st.target_schema, m.table_name);
        END IF;
    END LOOP;
    UPDATE vstream_fdw.checkpoint
       SET vgtid = NULL, copy_completed = false, updated_at = now()
     WHERE stream_id = st.id;
    DELETE FROM vstream_fdw.shard_state WHERE stream_id = st.id;
    UPDATE vstream_fdw.stream
       SET enabled = true, state = 'copying', last_error = NULL, last_error_at = NULL
     WHERE id = st.id;
    PERFORM vstream_fdw._wake_launcher();
END
$$;

COMMENT ON FUNCTION vstream_fdw.resync_stream(name) IS
'truncates the mirror tables of a stream and copies the keyspace again, then replicates';

REVOKE ALL ON FUNCTION vstream_fdw.create_stream(name, text[], name, text),
    vstream_fdw.start_stream(name),
    vstream_fdw.stop_stream(name),
    vstream_fdw.drop_stream(name, boolean),
    vstream_fdw.resync_stream(name),
    vstream_fdw._stream_for_update(name) FROM PUBLIC;

-- Status.

CREATE FUNCTION vstream_fdw._stream_status(
    OUT stream_id integer,
    OUT keyspace text,
    OUT shard text,
    OUT phase text,
    OUT gtid text,
    OUT copy_table text,
    OUT copy_lastpk text,
    OUT rows_copied bigint,
    OUT transactions_applied bigint,
    OUT rows_inserted bigint,
    OUT rows_updated bigint,
    OUT rows_deleted bigint,
    OUT insert_conflicts bigint,
    OUT update_missing bigint,
    OUT delete_missing bigint,
    OUT last_source_commit timestamptz,
    OUT lag_seconds double precision,
    OUT worker_pid integer,
    OUT worker_error text,
    OUT worker_error_at timestamptz,
    OUT invalid_values bigint,
    OUT shards_not_shown integer,
    OUT caught_up_to timestamptz)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vstream_stream_status'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vstream_fdw._stream_status() IS
'internal: live per-shard state of the running stream workers (shared memory)';

CREATE VIEW vstream_fdw.stream_status AS
WITH live AS (
    SELECT * FROM vstream_fdw._stream_status()
), saved AS (
    SELECT c.stream_id, e->>'keyspace' AS keyspace, e->>'shard' AS shard,
           e->>'gtid' AS gtid, e->'table_p_ks' AS table_p_ks
      FROM vstream_fdw.checkpoint c,
           jsonb_array_elements(CASE WHEN c.vgtid IS NULL THEN '[]'::jsonb
                                     ELSE vstream_fdw.vgtid_to_jsonb(c.vgtid) END) AS e
), shards AS (
    SELECT coalesce(l.stream_id, v.stream_id) AS stream_id,
           coalesce(l.keyspace, v.keyspace) AS keyspace,
           coalesce(l.shard, v.shard) AS shard,
           l.phase AS live_phase,
           coalesce(l.gtid, v.gtid) AS gtid,
           CASE WHEN l.stream_id IS NOT NULL THEN l.copy_table
                ELSE v.table_p_ks->0->>'table_name' END AS copy_table,
           CASE WHEN l.stream_id IS NOT NULL THEN l.copy_lastpk
                ELSE v.table_p_ks->0->'lastpk'->>'rows' END AS copy_lastpk,
           l.rows_copied, l.transactions_applied, l.rows_inserted,
           l.rows_updated, l.rows_deleted, l.insert_conflicts,
           l.update_missing, l.delete_missing, l.last_source_commit,
           l.lag_seconds, l.worker_pid, l.worker_error, l.worker_error_at,
           l.invalid_values
      FROM (SELECT * FROM live WHERE live.keyspace IS NOT NULL) l
      FULL JOIN saved v
        ON v.stream_id = l.stream_id AND v.keyspace = l.keyspace AND v.shard = l.shard
)
SELECT s.server_name AS server,
       s.id AS stream_id,
       s.target_schema,
       sh.keyspace,
       sh.shard,
       CASE WHEN s.state IN ('stopped', 'error') THEN s.state
            WHEN sh.live_phase IS NOT NULL THEN sh.live_phase
            WHEN ss.copy_completed OR c.copy_completed THEN 'replicating'
            ELSE 'copying' END AS phase,
       sh.gtid AS position,
       sh.copy_table,
       sh.copy_lastpk,
       coalesce(sh.rows_copied, 0) AS rows_copied,
       coalesce(sh.transactions_applied, 0) AS transactions_applied,
       coalesce(sh.rows_inserted, 0) + coalesce(sh.rows_updated, 0)
           + coalesce(sh.rows_deleted, 0) AS rows_applied,
       coalesce(sh.rows_inserted, 0) AS rows_inserted,
       coalesce(sh.rows_updated, 0) AS rows_updated,
       coalesce(sh.rows_deleted, 0) AS rows_deleted,
       coalesce(sh.insert_conflicts, 0) + coalesce(sh.update_missing, 0)
           + coalesce(sh.delete_missing, 0) AS conflicts,
       coalesce(sh.insert_conflicts, 0) AS insert_conflicts,
       coalesce(sh.update_missing, 0) AS update_missing,
       coalesce(sh.delete_missing, 0) AS delete_missing,
       sh.last_source_commit,
       sh.lag_seconds,
       coalesce(sh.worker_error, s.last_error) AS last_error,
       coalesce(sh.worker_error_at, s.last_error_at) AS last_error_at,
       coalesce(sh.worker_pid, w.worker_pid) AS worker_pid,
       CASE WHEN c.vgtid IS NULL THEN NULL
            ELSE vstream_fdw.vgtid_to_jsonb(c.vgtid) END AS vgtid,
       c.updated_at AS checkpoint_at,
       coalesce(sh.invalid_values, 0) AS invalid_values,
       CASE WHEN coalesce(sh.worker_error, s.last_error) IS NULL THEN NULL
            WHEN s.state = 'error' THEN true
            ELSE coalesce(sh.worker_error_at, s.last_error_at)
                 >= coalesce(greatest(c.updated_at, p.caught_up_to), '-infinity')
       END AS last_error_current,
       coalesce(p.shards_not_shown, 0) AS shards_not_shown
  FROM vstream_fdw.stream s
  LEFT JOIN vstream_fdw.checkpoint c ON c.stream_id = s.id
  LEFT JOIN shards sh ON sh.stream_id = s.id
  LEFT JOIN vstream_fdw.shard_state ss
         ON ss.stream_id = s.id AND ss.keyspace = sh.keyspace AND ss.shard = sh.shard
  LEFT JOIN (SELECT DISTINCT ON (l.stream_id) l.stream_id, l.worker_pid
               FROM live l WHERE l.worker_pid IS NOT NULL) w ON w.stream_id = s.id
  LEFT JOIN (SELECT l.stream_id, max(l.caught_up_to) AS caught_up_to,
                    max(l.shards_not_shown) AS shards_not_shown
               FROM live l GROUP BY l.stream_id) p ON p.stream_id = s.id;

COMMENT ON VIEW vstream_fdw.stream_status IS
'one row per stream and shard: phase (copying, replicating, stopped, error), position (shard GTID), table and lastpk being copied, rows copied, transactions and rows applied, conflicts, last source commit, lag, last error (when, and whether still current), worker pid, the checkpoint VGTID and values stored as NULL; earlier errors are in vstream_fdw.stream_error';

REVOKE ALL ON vstream_fdw.stream_status FROM PUBLIC;
REVOKE ALL ON FUNCTION vstream_fdw._stream_status() FROM PUBLIC;
-- vstream_fdw install script, part 25: comments on the columns of the
-- catalog tables and the status view (see 20_streams.sql for the objects).

COMMENT ON COLUMN vstream_fdw.stream.id IS 'stream id, also the background worker''s argument';
COMMENT ON COLUMN vstream_fdw.stream.created_at IS 'when create_stream was called';
COMMENT ON COLUMN vstream_fdw.stream.last_error_at IS 'when last_error happened';

COMMENT ON COLUMN vstream_fdw.checkpoint.stream_id IS 'the stream (vstream_fdw.stream.id)';
COMMENT ON COLUMN vstream_fdw.checkpoint.updated_at IS 'start time of the PostgreSQL transaction that wrote this checkpoint';

COMMENT ON COLUMN vstream_fdw.shard_state.stream_id IS 'the stream (vstream_fdw.stream.id)';
COMMENT ON COLUMN vstream_fdw.shard_state.keyspace IS 'source keyspace';
COMMENT ON COLUMN vstream_fdw.shard_state.shard IS 'source shard, e.g. -80';
COMMENT ON COLUMN vstream_fdw.shard_state.copy_completed IS 'true once the shard''s COPY_COMPLETED event was applied';

COMMENT ON COLUMN vstream_fdw.mirror.stream_id IS 'the stream (vstream_fdw.stream.id)';
COMMENT ON COLUMN vstream_fdw.mirror.table_name IS 'mirror table, in the stream''s target schema';

COMMENT ON COLUMN vstream_fdw.stream_status.server IS 'foreign server (keyspace) of the stream';
COMMENT ON COLUMN vstream_fdw.stream_status.stream_id IS 'stream id';
COMMENT ON COLUMN vstream_fdw.stream_status.target_schema IS 'schema of the mirror tables';
COMMENT ON COLUMN vstream_fdw.stream_status.keyspace IS 'source keyspace of this row';
COMMENT ON COLUMN vstream_fdw.stream_status.shard IS 'source shard of this row';
COMMENT ON COLUMN vstream_fdw.stream_status.phase IS 'copying, replicating, stopped or error';
COMMENT ON COLUMN vstream_fdw.stream_status.position IS 'the shard''s GTID position applied last';
COMMENT ON COLUMN vstream_fdw.stream_status.copy_table IS 'table being copied on this shard (copy phase)';
COMMENT ON COLUMN vstream_fdw.stream_status.copy_lastpk IS 'last primary key copied of copy_table';
COMMENT ON COLUMN vstream_fdw.stream_status.rows_copied IS 'rows copied by the current worker in the copy phase';
COMMENT ON COLUMN vstream_fdw.stream_status.transactions_applied IS 'source transactions applied by the current worker';
COMMENT ON COLUMN vstream_fdw.stream_status.rows_applied IS 'rows inserted, updated and deleted in the replication phase';
COMMENT ON COLUMN vstream_fdw.stream_status.rows_inserted IS 'rows inserted in the replication phase';
COMMENT ON COLUMN vstream_fdw.stream_status.rows_updated IS 'rows updated in the replication phase';
COMMENT ON COLUMN vstream_fdw.stream_status.rows_deleted IS 'rows deleted in the replication phase';
COMMENT ON COLUMN vstream_fdw.stream_status.conflicts IS 'insert_conflicts + update_missing + delete_missing: at-least-once repeats that were converged';
COMMENT ON COLUMN vstream_fdw.stream_status.insert_conflicts IS 'inserts over an existing key, applied as a replace';
COMMENT ON COLUMN vstream_fdw.stream_status.update_missing IS 'updates of a missing row, applied as an insert of the after image';
COMMENT ON COLUMN vstream_fdw.stream_status.delete_missing IS 'deletes of a missing row, skipped';
COMMENT ON COLUMN vstream_fdw.stream_status.last_source_commit IS 'source commit time of the last transaction applied';
COMMENT ON COLUMN vstream_fdw.stream_status.lag_seconds IS 'seconds between now and the source time of the last event or heartbeat';
COMMENT ON COLUMN vstream_fdw.stream_status.last_error IS 'last error of the stream (also transient ones that were retried)';
COMMENT ON COLUMN vstream_fdw.stream_status.last_error_at IS 'when last_error happened';
COMMENT ON COLUMN vstream_fdw.stream_status.worker_pid IS 'process id of the stream''s background worker, NULL if none runs';
COMMENT ON COLUMN vstream_fdw.stream_status.vgtid IS 'the whole checkpoint VGTID as JSON (Debezium''s shape), usable as a start position';
COMMENT ON COLUMN vstream_fdw.stream_status.checkpoint_at IS 'when the checkpoint was last written';
COMMENT ON COLUMN vstream_fdw.stream_status.invalid_values IS 'values of this shard stored as NULL by the server option invalid_values ''null'' (current worker)';
COMMENT ON COLUMN vstream_fdw.stream_status.last_error_current IS 'true while last_error is current trouble: the stream is in error, or nothing was applied or heard from VTGate since it happened; false once the stream made progress after it; NULL without an error';
COMMENT ON COLUMN vstream_fdw.stream_status.shards_not_shown IS 'shards of the stream beyond vstream_fdw.max_shards_per_stream, which have no row here';
-- vstream_fdw install script, part 30: type mapping debugging functions.
-- The parts in sql/install/ are concatenated in name order by the Makefile.

CREATE FUNCTION vstream_fdw.mysql_type_to_pg(
    column_type text,
    vitess_type text DEFAULT NULL,
    flags integer DEFAULT 0,
    charset integer DEFAULT 255)
RETURNS text
AS 'MODULE_PATHNAME', 'vstream_mysql_type_to_pg'
LANGUAGE C IMMUTABLE PARALLEL SAFE;

COMMENT ON FUNCTION vstream_fdw.mysql_type_to_pg(text, text, integer, integer) IS
'PostgreSQL type vstream_fdw chooses for a MySQL column type (e.g. ''bigint unsigned''); vitess_type is a query.Type name such as ''UINT64'', derived from column_type when NULL; charset is the MySQL collation id (63 = binary)';

CREATE FUNCTION vstream_fdw.convert_value(
    column_type text,
    value bytea,
    vitess_type text DEFAULT NULL,
    flags integer DEFAULT 0,
    charset integer DEFAULT 255,
    invalid_values text DEFAULT 'error')
RETURNS text
AS 'MODULE_PATHNAME', 'vstream_convert_value'
LANGUAGE C STABLE PARALLEL SAFE;

COMMENT ON FUNCTION vstream_fdw.convert_value(text, bytea, text, integer, integer, text) IS
'converts a VStream cell (raw bytes) of a MySQL column type as the mirror would, and returns the text output of the result; invalid_values is ''error'' or ''null'' like the server option';
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
       SET vgtid = NULL, copy_completed = false, updated_at = now()
     WHERE stream_id = st.id;
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
-- vstream_fdw install script, part 45: the DDL parser's debugging function.
-- It is also the 0.1.0 -> 0.2.0 upgrade step (sql/upgrade/0.1.0--0.2.0/ links to it).
-- The parts in sql/install/ are concatenated in name order by the Makefile.

CREATE FUNCTION vstream_fdw.parse_ddl(statement text)
RETURNS jsonb
AS 'MODULE_PATHNAME', 'vstream_parse_ddl'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

COMMENT ON FUNCTION vstream_fdw.parse_ddl(text) IS
'what vstream_fdw concludes from the statement of a VStream DDL event (a MySQL DDL statement): kind (create_table, drop_table, truncate_table, rename_table, alter_table, no_data_effect, or unknown with a reason), the tables, and for ALTER TABLE each clause''s action and column definition';
-- vstream_fdw install script, part 50: topology changes (resharding).
-- It is also the 0.1.0 -> 0.2.0 upgrade step (sql/upgrade/0.1.0--0.2.0/ links to it).

-- Resharding journals received by each stream: one row per journal and
-- participant (source shard of the cut-over), written in the transaction
-- that carries the journal's checkpoint.  switched_at is set when the last
-- participant's journal arrived and the checkpoint moved to the new shards.
CREATE TABLE vstream_fdw.reshard_journal (
    stream_id       integer NOT NULL
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    journal_id      bigint NOT NULL,
    keyspace        text NOT NULL,
    shard           text NOT NULL,
    workflow        text,
    participants    text[] NOT NULL,
    shard_gtids     jsonb NOT NULL,
    local_position  text,
    received_at     timestamptz NOT NULL DEFAULT now(),
    switched_at     timestamptz,
    PRIMARY KEY (stream_id, journal_id, keyspace, shard)
);

COMMENT ON TABLE vstream_fdw.reshard_journal IS
'reshard history of each stream: the resharding journals (Reshard SwitchTraffic / ReverseTraffic cut-overs) received, one row per journal and participant shard';
COMMENT ON COLUMN vstream_fdw.reshard_journal.stream_id IS 'the stream that received the journal';
COMMENT ON COLUMN vstream_fdw.reshard_journal.journal_id IS 'the journal id (the same for every participant of one cut-over)';
COMMENT ON COLUMN vstream_fdw.reshard_journal.keyspace IS 'keyspace of the participant shard whose JOURNAL event this row records';
COMMENT ON COLUMN vstream_fdw.reshard_journal.shard IS 'the participant shard whose JOURNAL event this row records';
COMMENT ON COLUMN vstream_fdw.reshard_journal.workflow IS 'the VReplication workflow that was switched (the journal''s first source workflow)';
COMMENT ON COLUMN vstream_fdw.reshard_journal.participants IS 'keyspace/shard of every source shard of the cut-over; the stream switches once all of them sent the journal';
COMMENT ON COLUMN vstream_fdw.reshard_journal.shard_gtids IS 'the new shards and the positions the stream continues from, as vgtid_to_jsonb renders a VGTID';
COMMENT ON COLUMN vstream_fdw.reshard_journal.local_position IS 'the participant shard''s position at the cut-over';
COMMENT ON COLUMN vstream_fdw.reshard_journal.received_at IS 'when the journal was applied (last time, if VTGate sent it again after a restart)';
COMMENT ON COLUMN vstream_fdw.reshard_journal.switched_at IS 'when the checkpoint replaced the participants by the new shards; NULL while journals of other participants are due';

SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.reshard_journal', '');

REVOKE ALL ON vstream_fdw.reshard_journal FROM PUBLIC;
-- vstream_fdw install script, part 60: verify() (mirror against source).
-- It is also the 0.1.0 -> 0.2.0 upgrade step (sql/upgrade/0.1.0--0.2.0/ links to it).
-- The parts in sql/install/ are concatenated in name order by the Makefile.

CREATE FUNCTION vstream_fdw.verify(
    server name,
    tables text[] DEFAULT NULL,
    details boolean DEFAULT false,
    recheck_timeout interval DEFAULT '30 seconds',
    batch_size integer DEFAULT 10000,
    max_keys integer DEFAULT 10000,
    OUT table_name text,
    OUT kind text,
    OUT source_rows bigint,
    OUT mirror_rows bigint,
    OUT missing bigint,
    OUT extra bigint,
    OUT different bigint,
    OUT detail text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vstream_verify'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vstream_fdw.verify(name, text[], boolean, interval, integer, integer) IS
'compares the mirror tables of a server''s stream with the source tables read through VTGate''s MySQL port, converting source values as the apply does; returns a row per table (kind ''table''), with details => true a row per differing key (kind ''missing'', ''extra'' or ''different'', the key in detail), and a ''summary'' row; while the stream runs, differing keys are re-read until they agree or recheck_timeout passes';

REVOKE ALL ON FUNCTION vstream_fdw.verify(name, text[], boolean, interval, integer, integer) FROM PUBLIC;
-- vstream_fdw install script, part 70: hardening (issue 12).  The history of
-- stream errors, and the guard on vstream_fdw.stream.owner.
-- It is also an 0.1.0 -> 0.2.0 upgrade step (sql/upgrade/0.1.0--0.2.0/71_hardening.sql links to it).

-- Recent errors of each stream (the last 100), written by a trigger when the
-- worker records an error in vstream_fdw.stream, so that a user can tell
-- current trouble (stream_status.last_error_current) from past trouble.
CREATE TABLE vstream_fdw.stream_error (
    id              bigserial PRIMARY KEY,
    stream_id       integer NOT NULL
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    error_at        timestamptz NOT NULL,
    message         text NOT NULL,
    stopped_stream  boolean NOT NULL
);
CREATE INDEX stream_error_stream_id_idx ON vstream_fdw.stream_error (stream_id, id);

COMMENT ON TABLE vstream_fdw.stream_error IS
'recent errors of each stream (the last 100 per stream), oldest first by id: transient ones that were retried and the one that stopped the stream';
COMMENT ON COLUMN vstream_fdw.stream_error.id IS 'order of the errors';
COMMENT ON COLUMN vstream_fdw.stream_error.stream_id IS 'the stream (vstream_fdw.stream.id)';
COMMENT ON COLUMN vstream_fdw.stream_error.error_at IS 'when the error happened';
COMMENT ON COLUMN vstream_fdw.stream_error.message IS 'the error message (with its detail)';
COMMENT ON COLUMN vstream_fdw.stream_error.stopped_stream IS 'true if the error needed a person and stopped the stream; false if the worker retried';
COMMENT ON SEQUENCE vstream_fdw.stream_error_id_seq IS 'ids of vstream_fdw.stream_error';
COMMENT ON INDEX vstream_fdw.stream_error_stream_id_idx IS 'the errors of a stream in order';

REVOKE ALL ON vstream_fdw.stream_error FROM PUBLIC;

CREATE FUNCTION vstream_fdw._record_stream_error()
RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO vstream_fdw.stream_error (stream_id, error_at, message, stopped_stream)
    VALUES (NEW.id, coalesce(NEW.last_error_at, now()), NEW.last_error, NEW.state = 'error');
    DELETE FROM vstream_fdw.stream_error
     WHERE stream_id = NEW.id
       AND id <= (SELECT e.id FROM vstream_fdw.stream_error e
                   WHERE e.stream_id = NEW.id ORDER BY e.id DESC OFFSET 100 LIMIT 1);
    RETURN NULL;
END
$$;

COMMENT ON FUNCTION vstream_fdw._record_stream_error() IS
'internal: trigger on vstream_fdw.stream that appends a newly recorded error to vstream_fdw.stream_error and keeps the last 100 per stream';

CREATE TRIGGER record_error
    AFTER INSERT OR UPDATE OF last_error, last_error_at ON vstream_fdw.stream
    FOR EACH ROW
    WHEN (NEW.last_error IS NOT NULL)
    EXECUTE FUNCTION vstream_fdw._record_stream_error();
ALTER TABLE vstream_fdw.stream ENABLE ALWAYS TRIGGER record_error;

COMMENT ON TRIGGER record_error ON vstream_fdw.stream IS
'keeps the history of stream errors in vstream_fdw.stream_error';

-- The launcher starts each stream's worker as stream.owner.  Whoever may
-- write vstream_fdw.stream (a role granted INSERT or UPDATE on it) must not
-- be able to make the worker run as another role: only a superuser, or a
-- member of the owner role, may create or change a stream of that owner.
CREATE FUNCTION vstream_fdw._check_stream_owner()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NOT pg_has_role(current_user, OLD.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied to change the vstream_fdw stream of server "%"', OLD.server_name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('The stream is owned by role "%s"; its worker runs as that role.', OLD.owner),
                  HINT = 'Only a superuser or a member of the stream''s owner role may change it.';
    END IF;
    IF NOT pg_has_role(current_user, NEW.owner, 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied to make role "%" the owner of a vstream_fdw stream', NEW.owner
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = 'The worker of a stream runs as its owner.',
                  HINT = 'Only a superuser or a member of that role may do this.';
    END IF;
    RETURN NEW;
END
$$;

COMMENT ON FUNCTION vstream_fdw._check_stream_owner() IS
'internal: trigger on vstream_fdw.stream: only a superuser or a member of the owner role may create a stream with that owner or change a stream of that owner';

CREATE TRIGGER check_owner
    BEFORE INSERT OR UPDATE ON vstream_fdw.stream
    FOR EACH ROW
    EXECUTE FUNCTION vstream_fdw._check_stream_owner();
ALTER TABLE vstream_fdw.stream ENABLE ALWAYS TRIGGER check_owner;

COMMENT ON TRIGGER check_owner ON vstream_fdw.stream IS
'only a superuser or a member of the owner role may create or change a stream of that owner (its worker runs as the owner)';

REVOKE ALL ON FUNCTION vstream_fdw._record_stream_error(),
    vstream_fdw._check_stream_owner() FROM PUBLIC;
-- vstream_fdw install script, part 80: column and row filters of tables.
--
-- The same statements are the 0.1.0 -> 0.2.0 upgrade step (this file is
-- linked from sql/upgrade/0.1.0--0.2.0/).

CREATE TABLE vstream_fdw.table_filter (
    stream_id       integer NOT NULL
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    source_table    text NOT NULL,
    include_columns text[],
    exclude_columns text[],
    row_filter      text,
    rule            text NOT NULL,
    columns         text[],
    set_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (stream_id, source_table),
    CHECK (include_columns IS NULL OR exclude_columns IS NULL)
);

COMMENT ON TABLE vstream_fdw.table_filter IS
'column and row filters of a stream''s tables (set with set_table_filter): the table is streamed through a VStream rule of its own, so excluded columns and rows never leave Vitess';
COMMENT ON COLUMN vstream_fdw.table_filter.stream_id IS 'the stream (vstream_fdw.stream.id)';
COMMENT ON COLUMN vstream_fdw.table_filter.source_table IS 'the source table filtered';
COMMENT ON COLUMN vstream_fdw.table_filter.include_columns IS 'the only source columns mirrored (the primary key must be among them), or NULL';
COMMENT ON COLUMN vstream_fdw.table_filter.exclude_columns IS 'source columns never mirrored, or NULL';
COMMENT ON COLUMN vstream_fdw.table_filter.row_filter IS 'condition a source row must meet to be mirrored (evaluated by Vitess), or NULL';
COMMENT ON COLUMN vstream_fdw.table_filter.rule IS 'the VStream filter rule sent to VTGate for the table: select <columns> from <table> where <row_filter>';
COMMENT ON COLUMN vstream_fdw.table_filter.columns IS 'with a column filter: the source columns streamed, resolved when the filter was set (a column added at the source later is not mirrored until set_table_filter is called again); NULL: every column';
COMMENT ON COLUMN vstream_fdw.table_filter.set_at IS 'when the filter was set';

SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.table_filter', '');
REVOKE ALL ON vstream_fdw.table_filter FROM PUBLIC;

CREATE FUNCTION vstream_fdw._filter_rule(server name, source_table text,
    include_columns text[], exclude_columns text[], row_filter text,
    OUT rule text, OUT columns text[])
RETURNS record
AS 'MODULE_PATHNAME', 'vstream_filter_rule'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vstream_fdw._filter_rule(name, text, text[], text[], text) IS
'internal: builds the VStream rule of a filtered table and checks it against the source (VTGate refuses a condition its filters do not support)';

CREATE FUNCTION vstream_fdw.set_table_filter(server name, source_table text,
    include_columns text[] DEFAULT NULL, exclude_columns text[] DEFAULT NULL,
    row_filter text DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st vstream_fdw.stream;
    r record;
    result text;
BEGIN
    IF server IS NULL OR source_table IS NULL THEN
        RAISE EXCEPTION 'server and source_table must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    st := vstream_fdw._stream_for_update(server);
    IF st.tables IS NOT NULL AND NOT source_table = ANY (st.tables) THEN
        RAISE EXCEPTION 'table "%" is not mirrored by the stream of server "%"', source_table, server
            USING ERRCODE = 'undefined_table',
                  HINT = 'Add it with vstream_fdw.add_table() first.';
    END IF;
    IF include_columns IS NULL AND exclude_columns IS NULL AND row_filter IS NULL THEN
        DELETE FROM vstream_fdw.table_filter f
         WHERE f.stream_id = st.id AND f.source_table = set_table_filter.source_table;
    ELSE
        r := vstream_fdw._filter_rule(server, source_table, include_columns,
                                      exclude_columns, row_filter);
        result := r.rule;
        INSERT INTO vstream_fdw.table_filter AS f
               (stream_id, source_table, include_columns, exclude_columns, row_filter, rule, columns)
        VALUES (st.id, source_table, include_columns, exclude_columns, row_filter, r.rule,
                CASE WHEN include_columns IS NOT NULL OR exclude_columns IS NOT NULL THEN r.columns END)
        ON CONFLICT ON CONSTRAINT table_filter_pkey DO UPDATE
           SET include_columns = excluded.include_columns,
               exclude_columns = excluded.exclude_columns,
               row_filter = excluded.row_filter, rule = excluded.rule,
               columns = excluded.columns, set_at = now();
    END IF;
    -- the mirror must hold exactly what the new filter lets through
    PERFORM vstream_fdw._require_workers();
    PERFORM vstream_fdw._stop_worker(st.id);
    PERFORM vstream_fdw._request_recopy(st.id, source_table);
    PERFORM vstream_fdw._wake_launcher();
    RETURN result;
END
$$;

COMMENT ON FUNCTION vstream_fdw.set_table_filter(name, text, text[], text[], text) IS
'sets (or, with every filter NULL, removes) the column and row filter of a source table of a stream: include_columns or exclude_columns (the primary key stays), row_filter (a condition Vitess evaluates); checked against the source; the table is copied again under the new filter while the others keep replicating; returns the VStream rule';

REVOKE ALL ON FUNCTION vstream_fdw._filter_rule(name, text, text[], text[], text),
    vstream_fdw.set_table_filter(name, text, text[], text[], text) FROM PUBLIC;

-- peek() can show what a stream receives: its tables and filters.
DROP FUNCTION vstream_fdw.peek(name, text, integer, interval);

CREATE FUNCTION vstream_fdw.peek(
    server name,
    start text DEFAULT 'current',
    max_events integer DEFAULT 100,
    timeout interval DEFAULT '10 seconds',
    stream_filters boolean DEFAULT false,
    OUT seq bigint,
    OUT event_type text,
    OUT keyspace text,
    OUT shard text,
    OUT table_name text,
    OUT source_time timestamptz,
    OUT vgtid jsonb,
    OUT row_before jsonb,
    OUT row_after jsonb,
    OUT fields jsonb,
    OUT statement text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vstream_peek'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vstream_fdw.peek(name, text, integer, interval, boolean) IS
'opens a VStream for a foreign server and returns its events as rows: start is ''current'', ''copy'' or a VGTID in JSON; stream_filters => true requests the tables and filters of the server''s stream (what its worker receives); stops after max_events events, after timeout, or when the server ends the stream';

REVOKE ALL ON FUNCTION vstream_fdw.peek(name, text, integer, interval, boolean) FROM PUBLIC;
-- vstream_fdw install script, part 85: copy progress.
-- It is also the 0.1.0 -> 0.2.0 upgrade step (sql/upgrade/0.1.0--0.2.0/ links to it).

CREATE FUNCTION vstream_fdw._copy_progress(
    OUT stream_id integer,
    OUT keyspace text,
    OUT shard text,
    OUT table_name text,
    OUT rows_copied bigint,
    OUT started_at timestamptz,
    OUT worker_pid integer,
    OUT shards integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vstream_copy_progress'
LANGUAGE C VOLATILE;

COMMENT ON FUNCTION vstream_fdw._copy_progress() IS
'internal: per shard of a running stream, the table it copies, rows copied and when that copy started (shared memory)';

CREATE FUNCTION vstream_fdw._source_rows(server name, source_table text)
RETURNS double precision
AS 'MODULE_PATHNAME', 'vstream_source_rows'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION vstream_fdw._source_rows(name, text) IS
'internal: the source''s row estimate of a table, all shards (InnoDB TABLE_ROWS through VTGate''s MySQL port); NULL when unknown';

CREATE VIEW vstream_fdw.copy_progress AS
WITH p AS (
    SELECT p.*, s.server_name, s.target_schema,
           vstream_fdw._source_rows(s.server_name, p.table_name) / greatest(p.shards, 1) AS estimate,
           extract(epoch FROM clock_timestamp() - p.started_at) AS seconds
      FROM vstream_fdw._copy_progress() p
      JOIN vstream_fdw.stream s ON s.id = p.stream_id
)
SELECT p.worker_pid AS pid,
       p.server_name AS server,
       p.stream_id,
       p.keyspace,
       p.shard,
       p.table_name,
       to_regclass(format('%I.%I', p.target_schema, m.table_name)) AS relid,
       p.rows_copied AS tuples_processed,
       round(p.estimate)::bigint AS tuples_total,
       CASE WHEN p.estimate > 0
            THEN round(least(100, 100 * p.rows_copied / p.estimate)::numeric, 1) END AS percent,
       CASE WHEN p.seconds > 0 THEN round((p.rows_copied / p.seconds)::numeric) END AS rows_per_second,
       p.started_at,
       CASE WHEN p.seconds > 0 AND p.rows_copied > 0 AND p.estimate > p.rows_copied
            THEN make_interval(secs => (p.estimate - p.rows_copied) / (p.rows_copied / p.seconds)) END AS eta
  FROM p
  LEFT JOIN vstream_fdw.mirror m
         ON m.stream_id = p.stream_id AND m.source_table = p.table_name AND m.state <> 'detached';

COMMENT ON VIEW vstream_fdw.copy_progress IS
'copy progress, like pg_stat_progress_copy: one row per shard copying a table (a stream''s copy phase or a table copied again): rows copied against the source''s estimate for that shard, percent, rate and an ETA';
COMMENT ON COLUMN vstream_fdw.copy_progress.pid IS 'the stream''s worker';
COMMENT ON COLUMN vstream_fdw.copy_progress.server IS 'foreign server (keyspace) of the stream';
COMMENT ON COLUMN vstream_fdw.copy_progress.stream_id IS 'stream id';
COMMENT ON COLUMN vstream_fdw.copy_progress.keyspace IS 'source keyspace';
COMMENT ON COLUMN vstream_fdw.copy_progress.shard IS 'source shard';
COMMENT ON COLUMN vstream_fdw.copy_progress.table_name IS 'source table being copied on this shard';
COMMENT ON COLUMN vstream_fdw.copy_progress.relid IS 'its mirror table';
COMMENT ON COLUMN vstream_fdw.copy_progress.tuples_processed IS 'rows of the table copied from this shard so far (by this worker)';
COMMENT ON COLUMN vstream_fdw.copy_progress.tuples_total IS 'the source''s estimate of the table''s rows on this shard (InnoDB TABLE_ROWS of the table divided by the shards: an estimate, often 10-50 % off)';
COMMENT ON COLUMN vstream_fdw.copy_progress.percent IS 'tuples_processed against tuples_total, at most 100';
COMMENT ON COLUMN vstream_fdw.copy_progress.rows_per_second IS 'rows copied per second since the table''s copy started';
COMMENT ON COLUMN vstream_fdw.copy_progress.started_at IS 'when this shard started copying the table';
COMMENT ON COLUMN vstream_fdw.copy_progress.eta IS 'time left at the current rate, while below the estimate';

REVOKE ALL ON vstream_fdw.copy_progress FROM PUBLIC;
REVOKE ALL ON FUNCTION vstream_fdw._copy_progress(), vstream_fdw._source_rows(name, text) FROM PUBLIC;
