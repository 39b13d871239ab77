# 051_upgrade_positions.pl -- ALTER EXTENSION UPDATE from 0.2.0 moves the
# saved positions (one VGTID per stream in vstream_fdw.checkpoint.vgtid) to
# vstream_fdw.shard_position, one row per shard, byte for byte; the streams
# then resume exactly where they were: one in the middle of its copy
# (table_p_ks with a lastpk on each shard), one in its replication.  The
# mirrors get exactly the rows after the saved positions, once.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use MIME::Base64;
use VStreamSim;

my $node = PostgreSQL::Test::Cluster->new('upgrade_positions');
$node->init;
$node->append_conf('postgresql.conf', qq{
log_min_messages = info
shared_preload_libraries = 'vstream_fdw'
vstream_fdw.database = 'postgres'
max_worker_processes = 16
vstream_fdw.restart_interval = 100
vstream_fdw.max_restart_interval = 1000
});
$node->start;

sub sql { my ($s) = @_; return $node->safe_psql('postgres', $s); }

sql(q{CREATE EXTENSION vstream_fdw VERSION '0.2.0'});

# the generator's shards and their server UUIDs (vtgate_sim.py BENCH_UUIDS)
my %uuid = ('-80' => '5e8d1a2c-7b3f-11ee-9c41-0242ac110002',
	'80-' => '6f9e2b3d-7b3f-11ee-9c41-0242ac110003');

# copy:2000,batch=100: shard -80 copies odd ids 1..1999, 80- even ids
# 2..2000, 100 a batch.  Saved position: -80 after its 3rd batch (lastpk
# 599), 80- after its 5th (lastpk 1000), both at the snapshot gtid 1-100.
my $simc = VStreamSim->start(generate => 'copy:2000,batch=100', name => 'copy');
sub lastpk
{
	my $v = shift;
	return qq{{"table_name": "bench", "lastpk": {"fields": [{"name": "id", "type": "INT64"}], "rows": [{"lengths": [${\ length($v) }], "values": "${\ encode_base64($v, '') }"}]}}};
}
my $copy_start = '['
  . qq{{"keyspace": "bench", "shard": "-80", "gtid": "MySQL56/$uuid{'-80'}:1-100", "table_p_ks": [${\ lastpk('599') }]}, }
  . qq{{"keyspace": "bench", "shard": "80-", "gtid": "MySQL56/$uuid{'80-'}:1-100", "table_p_ks": [${\ lastpk('1000') }]}}
  . ']';

# txns:400: transaction k is row 1000000000 + k on shard k % 2.  Saved
# position: after 100 transactions (50 on each shard).
my $simr = VStreamSim->start(generate => 'txns:400', name => 'repl');
my $repl_start = '['
  . qq{{"keyspace": "bench", "shard": "-80", "gtid": "MySQL56/$uuid{'-80'}:1-150"}, }
  . qq{{"keyspace": "bench", "shard": "80-", "gtid": "MySQL56/$uuid{'80-'}:1-150"}}
  . ']';

sql(qq{
	${\ $simc->server_sql('copyks', 'bench') }
	${\ $simr->server_sql('replks', 'bench') }
	SELECT vstream_fdw.create_stream('copyks', target_schema => 'mc', start => '$copy_start');
	SELECT vstream_fdw.create_stream('replks', target_schema => 'mr', start => '$repl_start');
});
is(sql(q{SELECT string_agg(state, ',' ORDER BY id) FROM vstream_fdw.stream}), 'copying,replicating',
	'0.2.0: one stream in its copy, one replicating');

# the new library does not run the 0.2.0 catalog: stop both streams
ok($node->poll_query_until('postgres', q{
	SELECT bool_and(last_error LIKE 'extension vstream_fdw is at version 0.2.0 but its library is version 0.3.0%')
	  FROM vstream_fdw.stream}),
	'with the 0.2.0 catalog the workers wait');
sql(q{SELECT vstream_fdw.stop_stream('copyks'); SELECT vstream_fdw.stop_stream('replks');});
my $saved = sql(q{SELECT string_agg(stream_id || ':' || encode(vgtid, 'hex'), ',' ORDER BY stream_id)
	FROM vstream_fdw.checkpoint});
like($saved, qr/^1:0a.*,2:0a/, 'the 0.2.0 checkpoints hold the VGTIDs');

sql(q{ALTER EXTENSION vstream_fdw UPDATE});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'vstream_fdw'}), '0.3.0', 'updated to 0.3.0');
is(sql(q{SELECT string_agg(c.stream_id || ':' || encode(vstream_fdw.checkpoint_vgtid(c.stream_id), 'hex'), ','
	ORDER BY c.stream_id) FROM vstream_fdw.checkpoint c}),
	$saved, 'the positions stored per shard join back into the saved VGTIDs, byte for byte');
is(sql(q{SELECT string_agg(stream_id || ':' || ord || ':' || keyspace || '/' || shard, ',' ORDER BY stream_id, ord)
	FROM vstream_fdw.shard_position}),
	'1:0:bench/-80,1:1:bench/80-,2:0:bench/-80,2:1:bench/80-', 'one row per shard, in the VGTID order');
is(sql(q{SELECT count(*) FROM pg_attribute
	WHERE attrelid = 'vstream_fdw.checkpoint'::regclass AND attname = 'vgtid' AND NOT attisdropped}),
	'0', 'checkpoint.vgtid is gone');
is(sql(q{SELECT string_agg(shard || '=' || coalesce(copy_table, '') || '@' || coalesce(copy_lastpk, ''), ',' ORDER BY shard)
	FROM vstream_fdw.stream_status WHERE server = 'copyks'}),
	'-80=bench@[{"values": "NTk5", "lengths": [3]}],80-=bench@[{"values": "MTAwMA==", "lengths": [4]}]', 'stream_status shows the saved copy positions')
  or diag(sql(q{SELECT * FROM vstream_fdw.stream_status}));

sql(q{SELECT vstream_fdw.start_stream('copyks'); SELECT vstream_fdw.start_stream('replks');});

# the copy resumes after each shard's lastpk, the replication after the
# 100th transaction; the end of both logs is reached
my $end = q{SELECT string_agg(s.server_name || ':' || (e->>'shard') || '=' || (e->>'gtid') || coalesce(e->>'table_p_ks', ''), ','
	ORDER BY s.server_name, e->>'shard')
	FROM vstream_fdw.stream s,
	     jsonb_array_elements(vstream_fdw.vgtid_to_jsonb(vstream_fdw.checkpoint_vgtid(s.id))) e};
my $want = "copyks:-80=MySQL56/$uuid{'-80'}:1-100,copyks:80-=MySQL56/$uuid{'80-'}:1-100,"
  . "replks:-80=MySQL56/$uuid{'-80'}:1-300,replks:80-=MySQL56/$uuid{'80-'}:1-300";
ok($node->poll_query_until('postgres', "SELECT ($end) = '$want'
	AND (SELECT bool_and(copy_completed) FROM vstream_fdw.checkpoint)"),
	'both streams reached the end of their logs')
  or diag(sql($end), sql(q{SELECT * FROM vstream_fdw.stream_status}));

is(sql(q{SELECT count(*) || '/' || count(DISTINCT id) || '/' || min(id) || '/' || max(id)
	|| '/' || count(*) FILTER (WHERE id % 2 = 1 AND id > 599) || '/' || count(*) FILTER (WHERE id % 2 = 0 AND id > 1000)
	FROM mc.bench}),
	'1200/1200/601/2000/700/500', 'the copy resumed after each shard\'s lastpk: every row after it, once');
is(sql(q{SELECT count(*) || '/' || count(DISTINCT id) || '/' || min(id) || '/' || max(id) FROM mr.bench}),
	'300/300/1000000100/1000000399', 'the replication resumed after the 100th transaction: every later row, once');
is(sql(q{SELECT sum(conflicts) FROM vstream_fdw.stream_status}), '0', 'no conflict (nothing applied twice)');

$simc->stop;
$simr->stop;
$node->stop;
done_testing();
