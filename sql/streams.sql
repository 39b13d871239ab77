-- Streams: SQL API behaviour that needs no VTGate.  pg_regress runs this in
-- a temporary instance without shared_preload_libraries, so creating a
-- stream must say what to add to postgresql.conf.  Workers are tested by
-- the TAP tests (test/t/01*_worker_*.pl).
\set VERBOSITY default
SET client_min_messages = warning;

CREATE SERVER stream_srv FOREIGN DATA WRAPPER vstream_fdw
  OPTIONS (host '127.0.0.1', port '1', keyspace 'customer');
CREATE FOREIGN DATA WRAPPER not_vstream;
CREATE SERVER other_srv FOREIGN DATA WRAPPER not_vstream;

-- validation
SELECT vstream_fdw.create_stream('no_such_server');
SELECT vstream_fdw.create_stream('other_srv');
SELECT vstream_fdw.create_stream(NULL);
SELECT vstream_fdw.create_stream('stream_srv', tables => '{}');
SELECT vstream_fdw.create_stream('stream_srv', tables => '{customer.corder}');
SELECT vstream_fdw.create_stream('stream_srv', start => 'yesterday');
SELECT vstream_fdw.create_stream('stream_srv', start => '[]');
SELECT vstream_fdw.create_stream('stream_srv', start => '[{"keyspace": "customer", "shard": "-80", "gtid": "MySQL56/x:1-5"}');

-- without shared_preload_libraries this says what to add to postgresql.conf
SELECT vstream_fdw.create_stream('stream_srv') IS NOT NULL AS created;

-- management of a missing stream
SELECT vstream_fdw.start_stream('nothing');
SELECT vstream_fdw.stop_stream('nothing');
SELECT vstream_fdw.drop_stream('nothing');
SELECT vstream_fdw.resync_stream('nothing');
SELECT vstream_fdw.resync_table('nothing', 't');
SELECT vstream_fdw.add_table('nothing', 't');

-- start positions
SELECT vgtid IS NULL AS no_vgtid, copy_completed, copied_shards
  FROM vstream_fdw._start_position('copy');
SELECT vgtid IS NULL AS no_vgtid, copy_completed, copied_shards
  FROM vstream_fdw._start_position('current');
SELECT vstream_fdw.vgtid_to_jsonb(vgtid) AS vgtid, copy_completed, copied_shards
  FROM vstream_fdw._start_position('[{"keyspace": "customer", "shard": "-80", "gtid": "MySQL56/a:1-5"}, {"keyspace": "customer", "shard": "80-", "gtid": ""}]');

-- a stream row without a worker: status, stop and drop still work
INSERT INTO vstream_fdw.stream (server_name, target_schema, start, enabled, state)
VALUES ('stream_srv', 'mirror_target', 'copy', false, 'stopped');
INSERT INTO vstream_fdw.checkpoint (stream_id, copy_completed)
SELECT id, true FROM vstream_fdw.stream WHERE server_name = 'stream_srv';
INSERT INTO vstream_fdw.shard_position (stream_id, ord, keyspace, shard, shard_gtid)
SELECT s.id, p.ord, p.keyspace, p.shard, p.shard_gtid
  FROM vstream_fdw.stream s,
       vstream_fdw._vgtid_shards((SELECT vgtid FROM vstream_fdw._start_position('[{"keyspace": "customer", "shard": "0", "gtid": "MySQL56/a:1-7"}]'))) p
 WHERE s.server_name = 'stream_srv';
SELECT server, target_schema, keyspace, shard, phase, position, rows_copied,
       conflicts, worker_pid, vgtid
  FROM vstream_fdw.stream_status;
SELECT vstream_fdw.create_stream('stream_srv');
-- tables of a stream of every table: add_table refuses, resync_table takes any
SELECT vstream_fdw.add_table('stream_srv', 't');
SELECT vstream_fdw.add_table('stream_srv', 'ks.t');
SELECT vstream_fdw._request_recopy(s.id, '_vt_hld_0123_20260101000000_')
  FROM vstream_fdw.stream s;
SELECT vstream_fdw._request_recopy(s.id, 't') FROM vstream_fdw.stream s;
SELECT source_table, table_name, state FROM vstream_fdw.mirror;
SELECT vstream_fdw.vgtid_to_jsonb(vstream_fdw.checkpoint_vgtid(stream_id)) AS vgtid_with_recopy FROM vstream_fdw.checkpoint;
SELECT ord, keyspace, shard FROM vstream_fdw.shard_position;
DELETE FROM vstream_fdw.mirror;
SELECT vstream_fdw.stop_stream('stream_srv');
SELECT server_name, enabled, state FROM vstream_fdw.stream;
CREATE SCHEMA mirror_target;
CREATE TABLE mirror_target.t (id int PRIMARY KEY);
INSERT INTO vstream_fdw.mirror SELECT id, 't' FROM vstream_fdw.stream;
SELECT vstream_fdw.drop_stream('stream_srv', drop_tables => true);
SELECT count(*) AS streams FROM vstream_fdw.stream;
SELECT count(*) AS checkpoints FROM vstream_fdw.checkpoint;
SELECT count(*) AS positions FROM vstream_fdw.shard_position;

-- positions stored per shard join back into the VGTID byte for byte:
-- table_p_ks with lastpk, empty gtids, many shards, a shard switch (journal)
CREATE TEMP TABLE vg AS
SELECT n, (vstream_fdw._start_position(j)).vgtid AS v FROM (VALUES
  (1, '[{"keyspace": "customer", "shard": "-80", "gtid": "MySQL56/a:1-5", "table_p_ks": [{"table_name": "corder", "lastpk": {"fields": [{"name": "id", "type": "INT64"}], "rows": [{"lengths": [3], "values": "MTIz"}]}}, {"table_name": "customer", "lastpk": null}]}, {"keyspace": "customer", "shard": "80-", "gtid": ""}]'),
  (2, '[{"keyspace": "customer", "shard": "-40", "gtid": "MariaDB/0-40-8"}, {"keyspace": "customer", "shard": "40-80", "gtid": "MariaDB/0-41-10"}, {"keyspace": "customer", "shard": "80-", "gtid": "MySQL56/b:1-99"}]'),
  (3, (SELECT jsonb_agg(jsonb_build_object('keyspace', 'big', 'shard', lpad(to_hex(i), 3, '0'), 'gtid', 'MySQL56/c:1-' || i))::text
         FROM generate_series(1, 1024) i))
) AS t(n, j);
SELECT n, (SELECT count(*) FROM vstream_fdw._vgtid_shards(v)) AS shards,
       vstream_fdw._vgtid_join((SELECT array_agg(shard_gtid ORDER BY ord) FROM vstream_fdw._vgtid_shards(v))) = v AS round_trip
  FROM vg ORDER BY n;
SELECT ord, keyspace, shard, length(shard_gtid) > 0 AS has_entry
  FROM vg, vstream_fdw._vgtid_shards(v) WHERE n = 1;
SELECT vstream_fdw._vgtid_join('{}'::bytea[]) IS NULL AS none;
SELECT vstream_fdw._vgtid_shards('\x0b01'::bytea);
SELECT vstream_fdw._vgtid_shards('\x0a05ab'::bytea);
SELECT to_regclass('mirror_target.t') AS dropped_mirror;
DROP SCHEMA mirror_target;

-- every object of the extension has a comment
SELECT pg_describe_object(classid, objid, objsubid) AS object_without_comment
  FROM pg_depend d
 WHERE d.refclassid = 'pg_extension'::regclass
   AND d.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'vstream_fdw')
   AND d.deptype = 'e'
   AND obj_description(objid, (SELECT relname FROM pg_class WHERE oid = classid)) IS NULL
   AND NOT (classid = 'pg_class'::regclass AND objid = 'vstream_fdw.stream_id_seq'::regclass)
 ORDER BY 1;

-- management functions are not for PUBLIC
SELECT p.proname, has_function_privilege('public', p.oid, 'EXECUTE') AS public_can_execute
  FROM pg_proc p
 WHERE p.pronamespace = 'vstream_fdw'::regnamespace
   AND p.proname IN ('create_stream', 'start_stream', 'stop_stream', 'drop_stream',
                     'resync_stream', '_stop_worker', '_wake_launcher',
                     'resync_table', 'add_table', '_request_recopy',
                     'set_table_filter', '_filter_rule', 'peek')
 ORDER BY 1;

-- the stream tables are kept by pg_dump
SELECT c.relname
  FROM pg_extension e, unnest(e.extconfig) AS cfg(oid)
  JOIN pg_class c ON c.oid = cfg.oid
 WHERE e.extname = 'vstream_fdw'
 ORDER BY 1;

DROP SERVER other_srv;
DROP FOREIGN DATA WRAPPER not_vstream;
DROP SERVER stream_srv;
