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

-- Stream-wide part of the resume position: whether the copy phase is over.
-- The VGTID itself is in shard_position, one row per shard.
CREATE TABLE vstream_fdw.checkpoint (
    stream_id       integer PRIMARY KEY
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    copy_completed  boolean NOT NULL DEFAULT false,
    updated_at      timestamptz
);

COMMENT ON TABLE vstream_fdw.checkpoint IS
'stream-wide part of the resume position of each stream (the VGTID is in vstream_fdw.shard_position, one row per shard)';
COMMENT ON COLUMN vstream_fdw.checkpoint.copy_completed IS 'true once the stream-wide COPY_COMPLETED was applied (or the stream started without a copy)';

-- Resume position, one row per shard of the stream's VGTID, updated in the
-- same transaction as the rows it covers: a source transaction comes from
-- one shard and rewrites that shard's row only (HOT, by the worker).  The
-- rows joined in ord order are the VGTID byte for byte
-- (vstream_fdw.checkpoint_vgtid).
CREATE TABLE vstream_fdw.shard_position (
    stream_id       integer NOT NULL
                    REFERENCES vstream_fdw.stream (id) ON DELETE CASCADE,
    ord             integer NOT NULL,
    keyspace        text NOT NULL,
    shard           text NOT NULL,
    shard_gtid      bytea NOT NULL,
    updated_at      timestamptz,
    PRIMARY KEY (stream_id, ord)
) WITH (fillfactor = 50);

COMMENT ON TABLE vstream_fdw.shard_position IS
'resume position of each stream, one row per shard: the shard''s entry of the last applied VGTID (serialized binlogdata.ShardGtid exactly as received, table_p_ks included), committed with the rows it covers; vstream_fdw.checkpoint_vgtid() joins them into the VGTID';
COMMENT ON COLUMN vstream_fdw.shard_position.stream_id IS 'the stream (vstream_fdw.stream.id)';
COMMENT ON COLUMN vstream_fdw.shard_position.ord IS 'place of the shard in the VGTID (rows in ord order make the VGTID)';
COMMENT ON COLUMN vstream_fdw.shard_position.keyspace IS 'keyspace of the shard';
COMMENT ON COLUMN vstream_fdw.shard_position.shard IS 'the shard';
COMMENT ON COLUMN vstream_fdw.shard_position.shard_gtid IS 'the shard''s entry of the VGTID (binlogdata.ShardGtid protobuf): gtid and table_p_ks';
COMMENT ON COLUMN vstream_fdw.shard_position.updated_at IS 'start time of the PostgreSQL transaction that last wrote this shard''s position';

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
SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.shard_position', '');
SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.shard_state', '');
SELECT pg_catalog.pg_extension_config_dump('vstream_fdw.mirror', '');

REVOKE ALL ON vstream_fdw.stream, vstream_fdw.checkpoint,
    vstream_fdw.shard_state, vstream_fdw.mirror FROM PUBLIC;
REVOKE ALL ON vstream_fdw.shard_position FROM PUBLIC;

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

CREATE FUNCTION vstream_fdw._vgtid_shards(vgtid bytea,
    OUT ord integer, OUT keyspace text, OUT shard text, OUT shard_gtid bytea)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'vstream_vgtid_shards'
LANGUAGE C STRICT IMMUTABLE;

COMMENT ON FUNCTION vstream_fdw._vgtid_shards(bytea) IS
'internal: splits a VGTID (serialized binlogdata.VGtid) into the rows of vstream_fdw.shard_position holding it';

CREATE FUNCTION vstream_fdw._vgtid_join(shard_gtids bytea[])
RETURNS bytea
AS 'MODULE_PATHNAME', 'vstream_vgtid_join'
LANGUAGE C STRICT IMMUTABLE;

COMMENT ON FUNCTION vstream_fdw._vgtid_join(bytea[]) IS
'internal: the VGTID (serialized binlogdata.VGtid) made of these shards'' entries in order; NULL for none';

CREATE FUNCTION vstream_fdw.checkpoint_vgtid(stream_id integer)
RETURNS bytea
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT vstream_fdw._vgtid_join(array_agg(p.shard_gtid ORDER BY p.ord))
      FROM vstream_fdw.shard_position p
     WHERE p.stream_id = checkpoint_vgtid.stream_id
$$;

COMMENT ON FUNCTION vstream_fdw.checkpoint_vgtid(integer) IS
'the resume VGTID of a stream (serialized binlogdata.VGtid, as vgtid_to_jsonb takes it), joined from its vstream_fdw.shard_position rows; NULL before the first one';

REVOKE ALL ON FUNCTION vstream_fdw._require_workers(),
    vstream_fdw._stop_worker(integer),
    vstream_fdw._wake_launcher(),
    vstream_fdw._start_position(text) FROM PUBLIC;
-- _vgtid_shards and _vgtid_join compute on the bytes they are given and
-- checkpoint_vgtid reads shard_position with the caller's rights: they stay
-- executable by PUBLIC (a stream owner's worker and the status view use them).

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
    INSERT INTO vstream_fdw.checkpoint (stream_id, copy_completed, updated_at)
    VALUES (sid, pos.copy_completed, now());
    INSERT INTO vstream_fdw.shard_position (stream_id, ord, keyspace, shard, shard_gtid, updated_at)
    SELECT sid, p.ord, p.keyspace, p.shard, p.shard_gtid, now()
      FROM vstream_fdw._vgtid_shards(pos.vgtid) AS p;
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
           jsonb_array_elements(coalesce(vstream_fdw.vgtid_to_jsonb(
               (SELECT vstream_fdw._vgtid_join(array_agg(sp.shard_gtid ORDER BY sp.ord))
                  FROM vstream_fdw.shard_position sp WHERE sp.stream_id = c.stream_id)),
               '[]'::jsonb)) AS e
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
       vstream_fdw.vgtid_to_jsonb(
           (SELECT vstream_fdw._vgtid_join(array_agg(sp.shard_gtid ORDER BY sp.ord))
              FROM vstream_fdw.shard_position sp WHERE sp.stream_id = s.id)) AS vgtid,
       greatest(c.updated_at, pa.updated_at) AS checkpoint_at,
       coalesce(sh.invalid_values, 0) AS invalid_values,
       CASE WHEN coalesce(sh.worker_error, s.last_error) IS NULL THEN NULL
            WHEN s.state = 'error' THEN true
            ELSE coalesce(sh.worker_error_at, s.last_error_at)
                 >= coalesce(greatest(c.updated_at, pa.updated_at, p.caught_up_to), '-infinity')
       END AS last_error_current,
       coalesce(p.shards_not_shown, 0) AS shards_not_shown
  FROM vstream_fdw.stream s
  LEFT JOIN vstream_fdw.checkpoint c ON c.stream_id = s.id
  LEFT JOIN (SELECT sp.stream_id, max(sp.updated_at) AS updated_at
               FROM vstream_fdw.shard_position sp GROUP BY sp.stream_id) pa
         ON pa.stream_id = s.id
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
