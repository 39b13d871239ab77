-- Mirror options of a stream (metadata columns, soft deletes): validation
-- and the catalog without workers (pg_regress has no
-- shared_preload_libraries).  The worker's side is tested by
-- test/t/017_mirror_options_sim.pl and test/t/224_e2e_mirror_options.pl.
\set VERBOSITY default
SET client_min_messages = warning;

CREATE SERVER opt_srv FOREIGN DATA WRAPPER vstream_fdw
  OPTIONS (host '127.0.0.1', port '1', keyspace 'customer');

-- create_stream validates the options before anything else
SELECT vstream_fdw.create_stream('opt_srv', metadata_columns => NULL);
SELECT vstream_fdw.create_stream('opt_srv', soft_delete => NULL);
-- (then needs workers)
SELECT vstream_fdw.create_stream('opt_srv', metadata_columns => true, soft_delete => true);

-- set_stream_options: arguments and a missing stream
SELECT vstream_fdw.set_stream_options(NULL);
SELECT vstream_fdw.set_stream_options('nothing', soft_delete => true);

-- the columns of each option
SELECT * FROM vstream_fdw._mirror_option_columns(true);
SELECT * FROM vstream_fdw._mirror_option_columns(false);

-- a stream without a worker
INSERT INTO vstream_fdw.stream (server_name, target_schema, start, enabled, state)
VALUES ('opt_srv', 'opt_target', 'copy', false, 'stopped');
SELECT server_name, metadata_columns, soft_delete FROM vstream_fdw.stream;
-- nothing changes: answered without a worker
SELECT vstream_fdw.set_stream_options('opt_srv');
SELECT vstream_fdw.set_stream_options('opt_srv', metadata_columns => false, soft_delete => false);

-- a mirror whose source column holds a reserved name (a mirror made before
-- the names were reserved) is refused, never overwritten
CREATE SCHEMA opt_target;
CREATE TABLE opt_target.t (id int PRIMARY KEY, _vstream_gtid text);
INSERT INTO vstream_fdw.mirror (stream_id, table_name, source_table, state)
SELECT id, 't', 't', 'active' FROM vstream_fdw.stream WHERE server_name = 'opt_srv';
INSERT INTO vstream_fdw.mirror_column (stream_id, table_name, source_column, column_name)
SELECT id, 't', c, c FROM vstream_fdw.stream, unnest('{id,_vstream_gtid}'::text[]) c
 WHERE server_name = 'opt_srv';
SELECT vstream_fdw.set_stream_options('opt_srv', metadata_columns => true);
-- soft_delete does not need that name: only the worker check stops it here
SELECT vstream_fdw.set_stream_options('opt_srv', soft_delete => true);
SELECT metadata_columns, soft_delete FROM vstream_fdw.stream WHERE server_name = 'opt_srv';

DELETE FROM vstream_fdw.mirror_column;
DELETE FROM vstream_fdw.mirror;
DELETE FROM vstream_fdw.stream;
DROP SCHEMA opt_target CASCADE;
DROP SERVER opt_srv;
