-- vstream_fdw install script, part 90: mirror options of a stream
-- (metadata columns, soft deletes), set with create_stream() or
-- set_stream_options().
--
-- The same statements are the 0.2.0 -> 0.3.0 upgrade step (this file is
-- linked from sql/upgrade/0.2.0--0.3.0/).

ALTER TABLE vstream_fdw.stream
    ADD COLUMN metadata_columns boolean NOT NULL DEFAULT false,
    ADD COLUMN soft_delete boolean NOT NULL DEFAULT false;

COMMENT ON COLUMN vstream_fdw.stream.metadata_columns IS
'mirror option: every mirror has the columns _vstream_keyspace, _vstream_shard, _vstream_commit_time, _vstream_gtid and _vstream_applied_at (where and when each row was written at the source, and when it was applied); set with create_stream or set_stream_options';
COMMENT ON COLUMN vstream_fdw.stream.soft_delete IS
'mirror option: a delete at the source marks the mirror row (_vstream_deleted, _vstream_deleted_at) instead of removing it; an insert of the key revives it; set with create_stream or set_stream_options';

-- create_stream() takes the mirror options.  The privileges granted on the
-- old function (an update from 0.2.0) are granted on the new one.
SELECT pg_catalog.set_config('vstream_fdw_upgrade.create_stream_grants',
       coalesce((SELECT string_agg(pg_catalog.format('%s', CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                                  ELSE pg_catalog.quote_ident(r.rolname) END), ',')
                   FROM pg_catalog.pg_proc p,
                        LATERAL pg_catalog.aclexplode(p.proacl) a
                        LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
                  WHERE p.oid = 'vstream_fdw.create_stream(name, text[], name, text)'::pg_catalog.regprocedure
                    AND a.privilege_type = 'EXECUTE' AND a.grantee <> p.proowner), ''),
       true);
DROP FUNCTION vstream_fdw.create_stream(name, text[], name, text);

CREATE FUNCTION vstream_fdw.create_stream(
    server name,
    tables text[] DEFAULT NULL,
    target_schema name DEFAULT NULL,
    start text DEFAULT 'copy',
    metadata_columns boolean DEFAULT false,
    soft_delete boolean DEFAULT false)
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
    IF metadata_columns IS NULL OR soft_delete IS NULL THEN
        RAISE EXCEPTION 'metadata_columns and soft_delete must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF EXISTS (SELECT 1 FROM vstream_fdw.stream s WHERE s.server_name = server) THEN
        RAISE EXCEPTION 'a stream for server "%" already exists', server
            USING ERRCODE = 'duplicate_object';
    END IF;
    pos := vstream_fdw._start_position(start);
    PERFORM vstream_fdw._require_workers();

    INSERT INTO vstream_fdw.stream (server_name, target_schema, tables, start, state,
                                    metadata_columns, soft_delete)
    VALUES (server, coalesce(target_schema, server), tables, start,
            CASE WHEN pos.copy_completed THEN 'replicating' ELSE 'copying' END,
            metadata_columns, soft_delete)
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

COMMENT ON FUNCTION vstream_fdw.create_stream(name, text[], name, text, boolean, boolean) IS
'creates and starts a stream mirroring the keyspace of a vstream_fdw server: tables (NULL = all), target_schema (NULL = the server name), start = ''copy'' (copy then replicate), ''current'' (changes from now on) or a VGTID in JSON; mirror options metadata_columns and soft_delete (see set_stream_options); returns the stream id';

REVOKE ALL ON FUNCTION vstream_fdw.create_stream(name, text[], name, text, boolean, boolean) FROM PUBLIC;
DO $$
DECLARE
    grantees text := pg_catalog.current_setting('vstream_fdw_upgrade.create_stream_grants', true);
BEGIN
    IF grantees <> '' THEN
        EXECUTE 'GRANT EXECUTE ON FUNCTION vstream_fdw.create_stream(name, text[], name, text, boolean, boolean) TO '
                || grantees;
    END IF;
END
$$;

-- The columns of the mirror options, and what turning an option on or off
-- does to the existing mirrors of a stream.
CREATE FUNCTION vstream_fdw._mirror_option_columns(metadata boolean)
RETURNS TABLE (column_name name, column_type text)
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT c.n::name, c.t
      FROM (VALUES (true, 1, '_vstream_keyspace', 'text'),
                   (true, 2, '_vstream_shard', 'text'),
                   (true, 3, '_vstream_commit_time', 'timestamptz'),
                   (true, 4, '_vstream_gtid', 'text'),
                   (true, 5, '_vstream_applied_at', 'timestamptz'),
                   (false, 6, '_vstream_deleted', 'boolean NOT NULL DEFAULT false'),
                   (false, 7, '_vstream_deleted_at', 'timestamptz')) AS c(m, o, n, t)
     WHERE c.m = metadata
     ORDER BY c.o
$$;

COMMENT ON FUNCTION vstream_fdw._mirror_option_columns(boolean) IS
'internal: the mirror columns of the metadata_columns option (true) or of the soft_delete option (false), with their SQL types';

CREATE FUNCTION vstream_fdw.set_stream_options(server name,
    metadata_columns boolean DEFAULT NULL, soft_delete boolean DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    st vstream_fdw.stream;
    new_meta boolean;
    new_soft boolean;
    m record;
    c record;
    rel text;
    clash text;
BEGIN
    IF server IS NULL THEN
        RAISE EXCEPTION 'server must not be null'
            USING ERRCODE = 'null_value_not_allowed';
    END IF;
    st := vstream_fdw._stream_for_update(server);
    new_meta := coalesce(set_stream_options.metadata_columns, st.metadata_columns);
    new_soft := coalesce(set_stream_options.soft_delete, st.soft_delete);
    IF new_meta = st.metadata_columns AND new_soft = st.soft_delete THEN
        RETURN jsonb_build_object('metadata_columns', new_meta, 'soft_delete', new_soft);
    END IF;

    -- a source column that holds a reserved name (a mirror created before
    -- the names were reserved) is never overwritten
    SELECT format('%I.%I', mc.table_name, mc.column_name) INTO clash
      FROM vstream_fdw.mirror_column mc
     WHERE mc.stream_id = st.id
       AND mc.column_name IN (
           SELECT o.column_name FROM vstream_fdw._mirror_option_columns(true) o
            WHERE new_meta AND NOT st.metadata_columns
           UNION ALL
           SELECT o.column_name FROM vstream_fdw._mirror_option_columns(false) o
            WHERE new_soft AND NOT st.soft_delete)
     LIMIT 1;
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION 'mirror column % holds a source column', clash
            USING ERRCODE = 'duplicate_column',
                  DETAIL = 'The mirror options need the names starting with _vstream_.',
                  HINT = 'Drop that mirror and copy the table again (vstream_fdw.resync_table()): the source column then gets another mirror name.';
    END IF;

    -- the worker must not hold the mirrors or a mapping of their columns
    PERFORM vstream_fdw._require_workers();
    PERFORM vstream_fdw._stop_worker(st.id);

    FOR m IN SELECT mi.table_name FROM vstream_fdw.mirror mi
              WHERE mi.stream_id = st.id AND mi.state <> 'detached'
              ORDER BY mi.table_name
    LOOP
        rel := format('%I.%I', st.target_schema, m.table_name);
        IF to_regclass(rel) IS NULL THEN
            CONTINUE;
        END IF;
        IF new_meta AND NOT st.metadata_columns THEN
            FOR c IN SELECT * FROM vstream_fdw._mirror_option_columns(true) LOOP
                EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS %I %s',
                               rel, c.column_name, c.column_type);
            END LOOP;
        ELSIF st.metadata_columns AND NOT new_meta THEN
            FOR c IN SELECT * FROM vstream_fdw._mirror_option_columns(true) LOOP
                EXECUTE format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', rel, c.column_name);
            END LOOP;
        END IF;
        IF new_soft AND NOT st.soft_delete THEN
            FOR c IN SELECT * FROM vstream_fdw._mirror_option_columns(false) LOOP
                EXECUTE format('ALTER TABLE %s ADD COLUMN IF NOT EXISTS %I %s',
                               rel, c.column_name, c.column_type);
            END LOOP;
        ELSIF st.soft_delete AND NOT new_soft THEN
            -- the rows deleted at the source leave the mirror now
            IF EXISTS (SELECT 1 FROM pg_attribute a
                        WHERE a.attrelid = to_regclass(rel)
                          AND a.attname = '_vstream_deleted' AND NOT a.attisdropped) THEN
                EXECUTE format('DELETE FROM %s WHERE _vstream_deleted', rel);
            END IF;
            FOR c IN SELECT * FROM vstream_fdw._mirror_option_columns(false) LOOP
                EXECUTE format('ALTER TABLE %s DROP COLUMN IF EXISTS %I', rel, c.column_name);
            END LOOP;
        END IF;
    END LOOP;

    UPDATE vstream_fdw.stream s
       SET metadata_columns = new_meta, soft_delete = new_soft
     WHERE s.id = st.id;
    PERFORM vstream_fdw._wake_launcher();
    RETURN jsonb_build_object('metadata_columns', new_meta, 'soft_delete', new_soft);
END
$$;

COMMENT ON FUNCTION vstream_fdw.set_stream_options(name, boolean, boolean) IS
'changes the mirror options of a stream (NULL keeps one as it is) and returns them: metadata_columns adds (or drops) the _vstream_ metadata columns of every mirror, existing rows get NULL; soft_delete adds the _vstream_deleted and _vstream_deleted_at columns, and turning it off deletes the rows marked deleted and drops them; applies at once, nothing is copied again; restarts the worker';

REVOKE ALL ON FUNCTION vstream_fdw._mirror_option_columns(boolean),
    vstream_fdw.set_stream_options(name, boolean, boolean) FROM PUBLIC;
