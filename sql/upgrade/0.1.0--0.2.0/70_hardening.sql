-- vstream_fdw upgrade 0.1.0 -> 0.2.0, part 70: hardening (issue 12).
--
-- vstream_fdw._stream_status() gains three OUT columns at the end
-- (invalid_values, shards_not_shown, caught_up_to; the C function fills the
-- declared columns only, so the 0.1.0 declaration keeps working with the new
-- library), and the view vstream_fdw.stream_status gains invalid_values,
-- last_error_current and shards_not_shown: both are dropped and created
-- again, with their comments (as in sql/install/20_streams.sql and
-- 25_column_comments.sql).  Then the objects of sql/install/70_hardening.sql.

DROP VIEW vstream_fdw.stream_status;
DROP FUNCTION vstream_fdw._stream_status();

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
