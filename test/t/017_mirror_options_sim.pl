# 017_mirror_options_sim.pl -- mirror options against the test VTGate:
# metadata columns and soft deletes in the copy phase and in replication,
# with a kill -9 of the worker in each phase.  After the crashes every row
# must carry exactly the metadata of the source transaction that last wrote
# it (keyspace, shard, GTID position, commit time: the same whenever the
# transaction is applied again), copied rows NULL GTID and commit time; a
# delete marks the row (flag + the delete's commit time), an insert of the
# key revives it.  Then the options are turned off and on on the running
# stream (set_stream_options): at once, no copy.
#
# The log comes from the generator (vtgate_sim.py BenchGen) with churn=1:
# replicated transaction k inserts row 10^9 + k, except that k % 6 == 2
# deletes the row of k-2 and k % 6 == 4 inserts it again; fixed_ts=1 gives
# transaction k the commit time 1700000000 + k.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use VStreamSim;
use VStreamTest;

my $node = VStreamTest::new_node('mirror_options', preload => 1,
	conf => "restart_after_crash = on\nvstream_fdw.restart_interval = 50\nvstream_fdw.max_restart_interval = 500\n");

my $N = 200000;					# copied rows
my $M = 6 * 2000 + 3;			# replicated transactions: the last delete stays
my %uuid = ('-80' => '5e8d1a2c-7b3f-11ee-9c41-0242ac110002',
	'80-' => '6f9e2b3d-7b3f-11ee-9c41-0242ac110003');

my $sim = VStreamSim->start(generate => "copy:$N,txns=$M,churn=1,fixed_ts=1",
	name => 'mirror_options');
$node->safe_psql('postgres', qq{
	${\ $sim->server_sql('bench') }
	SELECT vstream_fdw.create_stream('bench', metadata_columns => true, soft_delete => true);
});

sub worker_pid
{
	my ($rc, $out) = $node->psql('postgres',
		q{SELECT worker_pid FROM vstream_fdw.stream_status WHERE worker_pid IS NOT NULL LIMIT 1});
	return $rc == 0 && $out =~ /^(\d+)$/ ? $1 : undef;
}

# kill -9 the worker once the mirror has $rows rows; returns whether the
# copy phase was still running
sub kill_at
{
	my ($label, $rows) = @_;
	my $deadline = time + 120;
	my ($c, $copied) = (-1, '');
	while (time < $deadline)
	{
		my ($rc, $out) = $node->psql('postgres',
			q{SELECT count(*) || ':' || (SELECT copy_completed FROM vstream_fdw.checkpoint) FROM bench.bench});
		($c, $copied) = ($1, $2) if $rc == 0 && $out =~ /^(\d+):(t|f)/;
		last if $c >= $rows;
		usleep(5_000);
	}
	cmp_ok($c, '>=', $rows, "$label: $rows rows before the kill");
	my $pid;
	$deadline = time + 60;
	usleep(20_000) until defined($pid = worker_pid()) || time > $deadline;
	ok(defined $pid, "$label: worker pid known");
	kill 'KILL', $pid if $pid;
	usleep(200_000);
	for (1 .. 300)
	{
		last if system('pg_isready', '-q', '-h', $node->host, '-p', $node->port) == 0;
		usleep(100_000);
	}
	ok($node->poll_query_until('postgres',
		qq{SELECT count(*) = 1 FROM pg_stat_activity
		    WHERE backend_type = 'vstream_fdw worker' AND pid <> $pid}),
		"$label: worker restarted after kill -9");
	note("$label: killed with $c mirror rows, " . ($copied eq 'f' ? 'during the copy' : 'after the copy'));
	return $copied eq 'f';
}

my $in_copy = kill_at('copy', 1);
kill_at('replication', $N + 2000);

# the checkpoint at the end of the log: -80 had ceil(M/2) transactions
my $want = join(',', map { "$_=MySQL56/$uuid{$_}:1-" . (100 + ($_ eq '-80' ? int(($M + 1) / 2) : int($M / 2))) } sort keys %uuid);
ok($node->poll_query_until('postgres', qq{
	SELECT string_agg(format('%s=%s', e->>'shard', e->>'gtid'), ',' ORDER BY e->>'shard') = '$want'
	  FROM vstream_fdw.checkpoint c, jsonb_array_elements(vstream_fdw.vgtid_to_jsonb(vstream_fdw.checkpoint_vgtid(c.stream_id))) e}),
	'checkpoint at the last VGTID')
  or diag($node->safe_psql('postgres', 'SELECT * FROM vstream_fdw.stream_status'));
SKIP:
{
	skip 'the machine was too fast to kill the worker during the copy', 1 if !$in_copy;
	pass('one kill hit the copy phase');
}

# copied rows: source keyspace and shard, no source transaction
is($node->safe_psql('postgres', qq{
	SELECT count(*) FROM bench.bench
	 WHERE id <= $N AND _vstream_keyspace = 'bench'
	   AND _vstream_shard = CASE (id - 1) % 2 WHEN 0 THEN '-80' ELSE '80-' END
	   AND _vstream_gtid IS NULL AND _vstream_commit_time IS NULL
	   AND _vstream_applied_at IS NOT NULL
	   AND NOT _vstream_deleted AND _vstream_deleted_at IS NULL
	   AND name = 'name-' || id}),
	$N, 'copied rows: keyspace, shard, applied_at; NULL GTID and commit time');

# replicated rows: the metadata of the transaction that last wrote each row
my $expected = qq{
	WITH t AS (SELECT k FROM generate_series(0, $M - 1) k WHERE k % 6 NOT IN (2, 4)),
	     e AS (SELECT k, CASE WHEN k % 6 = 0 AND k + 4 < $M THEN k + 4
	                          WHEN k % 6 = 0 AND k + 2 < $M THEN k + 2 ELSE k END AS lk,
	                  (k % 6 = 0 AND k + 2 < $M AND k + 4 >= $M) AS del
	             FROM t)
	SELECT 1000000000 + k AS id, 'bench'::text AS ks,
	       CASE lk % 2 WHEN 0 THEN '-80' ELSE '80-' END AS sh,
	       'MySQL56/' || CASE lk % 2 WHEN 0 THEN '$uuid{'-80'}' ELSE '$uuid{'80-'}' END
	         || ':1-' || (100 + lk / 2 + 1) AS gtid,
	       to_timestamp(1700000000 + lk) AS ct, del,
	       CASE WHEN del THEN to_timestamp(1700000000 + lk) END AS dat
	  FROM e};
my $mirror = q{
	SELECT id, _vstream_keyspace, _vstream_shard, _vstream_gtid, _vstream_commit_time,
	       _vstream_deleted, _vstream_deleted_at
	  FROM bench.bench WHERE id >= 1000000000};
is($node->safe_psql('postgres', qq{
	SELECT (SELECT count(*) FROM (($expected) EXCEPT ($mirror)) a) || '/' ||
	       (SELECT count(*) FROM (($mirror) EXCEPT ($expected)) b) || '/' ||
	       (SELECT count(*) FROM ($expected) c)}),
	'0/0/8002',
	'replicated rows: keyspace, shard, GTID, commit time, deleted flag and time of the last transaction (missing/extra/expected)');
is($node->safe_psql('postgres', q{
	SELECT count(*) || '/' || count(DISTINCT id) || '/' || count(*) FILTER (WHERE _vstream_deleted)
	  FROM bench.bench}),
	($N + 8002) . '/' . ($N + 8002) . '/1', 'no duplicate key; one row deleted at the source is kept, marked');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM bench.bench WHERE id >= 1000000000 AND (id - 1000000000) % 6 = 0
	   AND NOT _vstream_deleted AND _vstream_commit_time = to_timestamp(id - 1000000000 + 1700000004)}),
	'2000', 'deleted then inserted again: revived with the metadata of the insert');
cmp_ok($node->safe_psql('postgres', q{
	SELECT sum(rows_deleted) FROM vstream_fdw.stream_status}), '>', 0, 'soft deletes counted as deletes');

# ---- options changed on the running stream ----
my $cols = q{SELECT string_agg(attname, ',' ORDER BY attname) FROM pg_attribute
              WHERE attrelid = 'bench.bench'::regclass AND attnum > 0 AND NOT attisdropped
                AND attname LIKE '\_vstream\_%'};
is($node->safe_psql('postgres', q{SELECT vstream_fdw.set_stream_options('bench', soft_delete => false)}),
	'{"soft_delete": false, "metadata_columns": true}', 'soft_delete turned off');
is($node->safe_psql('postgres', q{SELECT count(*) || '/' || count(*) FILTER (WHERE id >= 1000000000) FROM bench.bench}),
	($N + 8001) . '/8001', 'the row deleted at the source left the mirror');
is($node->safe_psql('postgres', $cols),
	'_vstream_applied_at,_vstream_commit_time,_vstream_gtid,_vstream_keyspace,_vstream_shard',
	'soft-delete columns dropped, metadata columns kept');
is($node->safe_psql('postgres', q{SELECT vstream_fdw.set_stream_options('bench', metadata_columns => false)}),
	'{"soft_delete": false, "metadata_columns": false}', 'metadata_columns turned off');
is($node->safe_psql('postgres', $cols), '', 'metadata columns dropped');
is($node->safe_psql('postgres', q{SELECT vstream_fdw.set_stream_options('bench', metadata_columns => true, soft_delete => true)}),
	'{"soft_delete": true, "metadata_columns": true}', 'both turned on again');
is($node->safe_psql('postgres', q{
	SELECT count(*) FILTER (WHERE _vstream_gtid IS NULL AND _vstream_shard IS NULL AND NOT _vstream_deleted)
	  FROM bench.bench}),
	$N + 8001, 'existing rows: NULL metadata, not deleted');
ok($node->poll_query_until('postgres', q{
	SELECT state = 'replicating' AND EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker')
	  FROM vstream_fdw.stream}), 'the stream runs again');
ok($node->poll_query_until('postgres', qq{
	SELECT string_agg(format('%s=%s', e->>'shard', e->>'gtid'), ',' ORDER BY e->>'shard') = '$want'
	  FROM vstream_fdw.checkpoint c, jsonb_array_elements(vstream_fdw.vgtid_to_jsonb(vstream_fdw.checkpoint_vgtid(c.stream_id))) e}),
	'nothing copied again: the checkpoint stays at the end of the log');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vstream_fdw.mirror WHERE state <> 'active'}),
	'0', 'no mirror being copied');

$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('bench', drop_tables => true)});
$sim->stop;
done_testing();
