# 018_copy_deferred_index.pl -- the primary-key index of an empty mirror is
# built after its copy (src/copyindex.c):
#
#   * during the copy the index is marked not valid and not ready, queries
#     still return the right rows (the planner does not use the index);
#   * afterwards it is valid, and replication uses it;
#   * a worker killed (kill -9) during the copy: the next session builds the
#     index before it resumes, and the mirror converges exactly;
#   * a stream dropped during the copy leaves its kept mirror with the index
#     built;
#   * vstream_fdw.copy_defer_index = off keeps the index during the copy;
#   * the same scenario, also with a primary key copied from two shards,
#     gives identical mirrors with and without the deferred index.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use JSON::PP;
use Time::HiRes qw(usleep);
use PostgreSQL::Test::Utils;
use Test::More;
use VStreamSim;
use VStreamTest;

my $node = VStreamTest::new_node('copy_index', preload => 1, conf => qq{
restart_after_crash = on
vstream_fdw.restart_interval = 100
vstream_fdw.max_restart_interval = 1000
});

sub sql { return $node->safe_psql('postgres', $_[0]); }

my $pk_state = q{SELECT coalesce((SELECT indisvalid::text || '/' || indisready::text
	FROM pg_index WHERE indrelid = to_regclass('bench.bench') AND indisprimary), 'none')};
my $deferred_with_rows = q{SELECT EXISTS (SELECT 1 FROM pg_index
	WHERE indrelid = to_regclass('bench.bench') AND indisprimary AND NOT indisvalid AND NOT indisready)
	AND (SELECT count(*) > 0 FROM bench.bench)};

my $N = 60000;
my $M = 500;

sub start_stream
{
	my ($sim) = @_;
	sql(qq{
		${\ $sim->server_sql('bench') }
		SELECT vstream_fdw.create_stream('bench');
	});
}

sub drop_stream
{
	my ($sim) = @_;
	sql(q{SELECT vstream_fdw.drop_stream('bench', drop_tables => true)});
	$sim->stop;
}

sub wait_converged
{
	my ($label) = @_;
	ok($node->poll_query_until('postgres',
			"SELECT count(*) = $N + $M FROM bench.bench"), "$label: every row arrived")
	  or diag(sql('SELECT * FROM vstream_fdw.stream_status'));
	is(sql('SELECT count(DISTINCT id) FROM bench.bench'), $N + $M, "$label: no key twice");
	is(sql(qq{SELECT count(*) FROM bench.bench WHERE id BETWEEN 1 AND $N}), $N,
		"$label: every copied row");
	ok($node->poll_query_until('postgres', "$pk_state = 'true/true'"),
		"$label: the primary-key index is valid and ready");
	is(sql(q{SELECT bool_and(indisvalid AND indisready AND indislive) FROM pg_index
		WHERE indrelid = 'bench.bench'::regclass}), 't', "$label: every index of the mirror is valid");
	# the built index has every row: an index-only count equals the heap's
	is(sql(q{SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT count(*) FROM bench.bench WHERE id > 0}), $N + $M, "$label: the index has every row");
}

# ---- 1. deferred during the copy, built after it ----
{
	my $sim = VStreamSim->start(generate => "copy:$N,txns=$M",
		faults => ['delay:40,seconds=6'], name => 'deferred');
	start_stream($sim);
	ok($node->poll_query_until('postgres', $deferred_with_rows),
		'during the copy the index is not valid and not ready, and rows are committed');
	like(sql(q{EXPLAIN (COSTS OFF) SELECT name FROM bench.bench WHERE id = 17}), qr/Seq Scan/,
		'the planner does not use the index being deferred');
	is(sql(q{SELECT count(*) FROM bench.bench WHERE id = 17}), 1, 'a key lookup still finds its row');
	wait_converged('deferred');
	like(sql(q{EXPLAIN (COSTS OFF) SELECT name FROM bench.bench WHERE id = 17}), qr/Index/,
		'afterwards the planner uses the index');
	is(sql(q{SELECT state FROM vstream_fdw.stream}), 'replicating', 'the stream replicates');
	drop_stream($sim);
}

# ---- 1b. the stream dropped during the copy, its mirror kept ----
{
	my $sim = VStreamSim->start(generate => "copy:$N,txns=$M",
		faults => ['delay:40,seconds=6'], name => 'dropped');
	start_stream($sim);
	ok($node->poll_query_until('postgres', $deferred_with_rows), 'drop: copy under way, index deferred');
	sql(q{SELECT vstream_fdw.drop_stream('bench')});
	is(sql($pk_state), 'true/true', 'drop_stream keeping the mirror builds its primary key');
	is(sql('SELECT count(*) = count(DISTINCT id) FROM bench.bench'), 't', 'drop: the kept rows are unique');
	sql('DROP TABLE bench.bench');
	$sim->stop;
}

# ---- 2. kill -9 during the copy ----
{
	my $sim = VStreamSim->start(generate => "copy:$N,txns=$M",
		faults => ['delay:40,seconds=6'], name => 'killed');
	start_stream($sim);
	ok($node->poll_query_until('postgres', $deferred_with_rows), 'kill: copy under way, index deferred');
	my $pid = sql(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker'});
	ok($pid, 'worker found');
	my $logpos = -s $node->logfile;
	kill 'KILL', $pid;
	# the postmaster restarts the cluster: wait until it accepts connections
	usleep(200_000);
	for (1 .. 300)
	{
		last if system('pg_isready', '-q', '-h', $node->host, '-p', $node->port) == 0;
		usleep(100_000);
	}
	wait_converged('kill');
	my $log = slurp_file($node->logfile, $logpos);
	like($log, qr/building the primary-key index of mirror table "bench", whose copy an earlier session interrupted/,
		'kill: the next session built the index before resuming');
	drop_stream($sim);
}

# ---- 3. copy_defer_index = off ----
{
	sql(q{ALTER SYSTEM SET vstream_fdw.copy_defer_index = off; SELECT pg_reload_conf()});
	my $sim = VStreamSim->start(generate => "copy:$N,txns=$M",
		faults => ['delay:40,seconds=4'], name => 'off');
	start_stream($sim);
	ok($node->poll_query_until('postgres', q{SELECT to_regclass('bench.bench') IS NOT NULL
		AND (SELECT count(*) > 0 FROM bench.bench)}), 'off: copy under way');
	is(sql($pk_state), 'true/true', 'off: the index is kept during the copy');
	wait_converged('off');
	drop_stream($sim);
	sql(q{ALTER SYSTEM RESET vstream_fdw.copy_defer_index; SELECT pg_reload_conf()});
}

# ---- 4. differential: the same scenario with and without the deferral ----
my $scn = VStreamTest::read_scenario('copy_two_shards.json');
# order 4 copied by 80- becomes order 1, which -80 copied: the same key twice
my $dup = 0;
for my $e (@{ $scn->{responses}[5]{events} })
{
	next unless $e->{type} eq 'ROW' && $e->{shard} eq '80-';
	for my $rc (@{ $e->{rowEvent}{rowChanges} })
	{
		if ($rc->{after}{cells}[0] eq '4') { $rc->{after}{cells}[0] = '1'; $dup++; }
	}
}
is($dup, 1, 'scenario with a key copied from two shards made');
my $dupfile = PostgreSQL::Test::Utils::tempdir() . '/copy_dup_key.json';
open(my $fh, '>', $dupfile) or die;
print $fh JSON::PP->new->canonical->encode($scn);
close $fh;

my $dump = q{SELECT string_agg(t, E'\n' ORDER BY t) FROM (
	SELECT 'corder ' || c::text AS t FROM customer.corder c
	UNION ALL SELECT 'customer ' || c::text FROM customer.customer c
	UNION ALL SELECT 'product ' || p::text FROM customer.product p) s};

for my $scenario ('copy_two_shards.json', $dupfile)
{
	my %result;
	for my $defer ('on', 'off')
	{
		sql(qq{ALTER SYSTEM SET vstream_fdw.copy_defer_index = $defer; SELECT pg_reload_conf()});
		my $logpos = -s $node->logfile;
		my $sim = VStreamSim->start(scenario => $scenario, name => "diff_$defer");
		sql(qq{
			${\ $sim->server_sql('customer') }
			SELECT vstream_fdw.create_stream('customer');
		});
		ok($node->poll_query_until('postgres', q{SELECT count(*) = 2 FROM vstream_fdw.stream_status
			WHERE phase = 'replicating' AND position IN
			  ('MySQL56/7b8e4a10-1c2d-11ef-8a3b-0242ac120002:1-27', 'MySQL56/8c9f5b21-1c2d-11ef-8a3b-0242ac120003:1-35')}),
			"$scenario, defer $defer: replicated to the end");
		$result{$defer} = sql($dump);
		if ($scenario eq $dupfile && $defer eq 'on')
		{
			like(slurp_file($node->logfile, $logpos),
				qr/WARNING:  mirror table "corder" received 1 row whose primary key another copied row had/,
				'the key copied from two shards was found when the index was built');
		}
		is(sql(q{SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
			JOIN pg_namespace n ON n.oid = c.relnamespace
			WHERE n.nspname = 'customer' AND NOT (indisvalid AND indisready)}), 0,
			"$scenario, defer $defer: every index valid");
		is(sql(q{SELECT count(*) - count(DISTINCT order_id) FROM customer.corder}), 0,
			"$scenario, defer $defer: no key twice");
		sql(q{SELECT vstream_fdw.drop_stream('customer', drop_tables => true)});
		$sim->stop;
	}
	ok(length($result{on}) > 100, "$scenario: mirrors dumped");
	is($result{on}, $result{off}, "$scenario: identical mirrors with and without the deferred index");
}
sql(q{ALTER SYSTEM RESET vstream_fdw.copy_defer_index; SELECT pg_reload_conf()});

$node->stop;
done_testing();
