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
