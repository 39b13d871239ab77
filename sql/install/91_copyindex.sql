-- vstream_fdw: the primary-key index built after the copy (src/copyindex.c).
-- A stream dropped while it copies a table may leave that mirror's primary
-- key marked not valid (the worker builds it when the copy ends, or at its
-- next session): drop_stream builds it when it keeps the mirrors.

-- drop_stream drops only the mirrors the stream owns and that are not
-- detached (a detached mirror is the user's now); the mirrors it keeps get
-- their primary key built if a copy left it not valid.
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
    ELSE
        FOR m IN SELECT i.indexrelid::regclass::text AS idx, c.relname
                   FROM vstream_fdw.mirror mi
                   JOIN pg_class c ON c.relname = mi.table_name
                   JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = st.target_schema
                   JOIN pg_index i ON i.indrelid = c.oid
                  WHERE mi.stream_id = st.id AND i.indisprimary AND NOT i.indisvalid
                    AND i.indislive LOOP
            BEGIN
                EXECUTE format('REINDEX INDEX %s', m.idx);
            EXCEPTION WHEN unique_violation THEN
                RAISE WARNING 'primary key % of mirror table % could not be built: %', m.idx, m.relname, SQLERRM
                    USING HINT = 'Remove the rows with a duplicate key (the copy was interrupted), then REINDEX INDEX ' || m.idx || '.';
            END;
        END LOOP;
    END IF;
    DELETE FROM vstream_fdw.stream WHERE id = st.id;
    PERFORM vstream_fdw._wake_launcher();
END
$$;

COMMENT ON FUNCTION vstream_fdw.drop_stream(name, boolean) IS
'stops and deletes a stream with its checkpoint; drop_tables => true also drops its mirror tables, otherwise the mirrors are kept (with their primary key built if a copy left it not valid)';
