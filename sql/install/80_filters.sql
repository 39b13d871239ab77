-- vstream_fdw install script, part 80: column and row filters of tables.
--
-- Added in 0.2.0 (its upgrade step is frozen in sql/history/); changes
-- since then are also in sql/upgrade/0.2.0--0.3.0/80_row_filters.sql.

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
COMMENT ON COLUMN vstream_fdw.table_filter.row_filter IS 'condition a source row must meet to be mirrored, or NULL: evaluated by Vitess, and re-checked by the apply on every row image (a row updated out of it is deleted, one updated into it inserted)';
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
'sets (or, with every filter NULL, removes) the column and row filter of a source table of a stream: include_columns or exclude_columns (the primary key stays), row_filter (conditions joined by AND: an integer, DECIMAL or DOUBLE column compared with a number, a DATE or DATETIME column with a date, IN, [NOT] BETWEEN, IS [NOT] NULL, in_keyrange()); checked against the source; the table is copied again under the new filter while the others keep replicating; returns the VStream rule';

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
