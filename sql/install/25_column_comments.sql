-- vstream_fdw install script, part 25: comments on the columns of the
-- catalog tables and the status view (see 20_streams.sql for the objects).

COMMENT ON COLUMN vstream_fdw.stream.id IS 'stream id, also the background worker''s argument';
COMMENT ON COLUMN vstream_fdw.stream.created_at IS 'when create_stream was called';
COMMENT ON COLUMN vstream_fdw.stream.last_error_at IS 'when last_error happened';

COMMENT ON COLUMN vstream_fdw.checkpoint.stream_id IS 'the stream (vstream_fdw.stream.id)';
COMMENT ON COLUMN vstream_fdw.checkpoint.updated_at IS 'when copy_completed was last written';

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
