# 014_worker_crash_points.pl -- the worker killed with SIGKILL, or the
# server shut down in immediate mode, at several points of the copy phase
# and of the replication: after each the stream resumes from its checkpoint
# and the mirror converges to exactly the source rows (count, every column,
# no duplicate key), with the checkpoint at the last VGTID of the log.
#
# The rows come from the test VTGate's generator (vtgate_sim.py BenchGen):
# id 1..N in the copy (shard (id-1) % 2), id 10^9 + k for the k-th
# replicated transaction, and every column derived from the id, so the
# expected rows are computed in SQL.
#
# Last, the status view must report the phases shard by shard: one shard
# 'replicating' after its COPY_COMPLETED while the other is still 'copying'.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use JSON::PP;
use VStreamSim;
use VStreamTest;

my $node = VStreamTest::new_node('crash_points', preload => 1,
	conf => "restart_after_crash = on\nvstream_fdw.restart_interval = 50\nvstream_fdw.max_restart_interval = 500\n");

my %uuid = ('-80' => '5e8d1a2c-7b3f-11ee-9c41-0242ac110002',
	'80-' => '6f9e2b3d-7b3f-11ee-9c41-0242ac110003');
my $base = 100;

# The generator's rows for ids in generate_series($lo, $hi), as SQL.
sub expected_rows_sql
{
	my @ranges = @_;
	my $series = join(' UNION ALL ', map { "SELECT generate_series($_->[0], $_->[1])::bigint AS g" } @ranges);
	return qq{
	  SELECT g AS id, 'name-' || g AS name,
	         ((g % 10000000) || '.' || lpad((g % 100)::text, 2, '0'))::numeric AS amount,
	         make_timestamp(2024, (1 + ((g / 86400) % 336) / 28)::int, (1 + ((g / 86400) % 336) % 28)::int,
	                        ((g % 86400) / 3600)::int, ((g % 86400) / 60 % 60)::int, (g % 60)::float8) AS created
	    FROM ($series) s};
}

my $mirror_sql = q{SELECT id, name::text, amount::numeric, created::timestamp FROM bench.bench};

# "-80=<gtid>,80-=<gtid>" after $ntx replicated transactions (they alternate
# shards, -80 first), no table_p_ks
sub expected_checkpoint
{
	my $ntx = shift;
	my %n = ('-80' => int(($ntx + 1) / 2), '80-' => int($ntx / 2));
	return join(',', map { "$_=MySQL56/$uuid{$_}:1-" . ($base + $n{$_}) . '=' } sort keys %uuid);
}

my $checkpoint_sql = q{
	SELECT string_agg(format('%s=%s=%s', e->>'shard', e->>'gtid', coalesce(e->>'table_p_ks', '')),
	                  ',' ORDER BY e->>'shard')
	  FROM vstream_fdw.checkpoint c, jsonb_array_elements(vstream_fdw.vgtid_to_jsonb(vstream_fdw.checkpoint_vgtid(c.stream_id))) e};

sub worker_pid
{
	my ($rc, $out) = $node->psql('postgres',
		q{SELECT worker_pid FROM vstream_fdw.stream_status WHERE worker_pid IS NOT NULL LIMIT 1});
	return $rc == 0 && $out =~ /^(\d+)$/ ? $1 : undef;
}

# (committed mirror rows, copy phase completed?); (-1, '') before the mirror
# exists.  One query: the loop below must be quick.
sub mirror_count
{
	my ($rc, $out) = $node->psql('postgres',
		q{SELECT count(*) || ':' || (SELECT copy_completed FROM vstream_fdw.checkpoint) FROM bench.bench});
	return $rc == 0 && $out =~ /^(\d+):(t|f)/ ? ($1, $2) : (-1, '');
}

my $crashes_in_copy = 0;

# Wait (bounded) until the mirror has at least $rows rows, then crash the
# worker ('kill') or the server ('immediate').  Returns the row count seen.
sub crash_at
{
	my ($label, $how, $rows) = @_;
	my $deadline = time + 120;
	my ($c, $copied) = (-1, '');
	while (time < $deadline)
	{
		($c, $copied) = mirror_count();
		last if $c >= $rows;
		usleep(5_000);
	}
	cmp_ok($c, '>=', $rows, "$label: reached $rows rows before the crash");
	if ($how eq 'kill')
	{
		my $pid;
		$deadline = time + 60;
		until (defined($pid = worker_pid()) || time > $deadline)
		{
			usleep(20_000);
		}
		ok(defined $pid, "$label: worker pid known");
		kill 'KILL', $pid if $pid;
		# the postmaster restarts the cluster (psql started meanwhile may die
		# before it reads its query: wait until connections are accepted)
		usleep(200_000);
		for (1 .. 300)
		{
			last if system('pg_isready', '-q', '-h', $node->host, '-p', $node->port) == 0;
			usleep(100_000);
		}
		# the launcher restarts the worker
		ok($node->poll_query_until('postgres',
			qq{SELECT count(*) = 1 FROM pg_stat_activity
			    WHERE backend_type = 'vstream_fdw worker' AND pid <> $pid}),
			"$label: worker restarted after kill -9");
	}
	else
	{
		$node->stop('immediate');
		$node->start;
		pass("$label: server restarted after an immediate shutdown");
	}
	$crashes_in_copy++ if $copied eq 'f';
	note("$label: crashed ($how) with $c mirror rows, "
		  . ($copied eq 'f' ? 'during the copy' : 'after the copy'));
	return $c;
}

# Wait for the checkpoint to reach the end of the log, then compare.
sub check_converged
{
	my ($label, $ntx, @ranges) = @_;
	my $want = expected_checkpoint($ntx);
	my $n = 0;
	$n += $_->[1] - $_->[0] + 1 for @ranges;
	ok($node->poll_query_until('postgres',
		qq{SELECT ($checkpoint_sql) = '$want' AND
		          (SELECT copy_completed FROM vstream_fdw.checkpoint)}),
		"$label: checkpoint at the last VGTID of the log")
	  or diag($node->safe_psql('postgres', $checkpoint_sql),
		$node->safe_psql('postgres', 'SELECT * FROM vstream_fdw.stream_status'));
	is($node->safe_psql('postgres', q{SELECT count(*) || '/' || count(DISTINCT id) FROM bench.bench}),
		"$n/$n", "$label: row count, no duplicate keys");
	my $exp = expected_rows_sql(@ranges);
	is($node->safe_psql('postgres', qq{
		SELECT (SELECT count(*) FROM ($exp EXCEPT $mirror_sql) a) || '/' ||
		       (SELECT count(*) FROM ($mirror_sql EXCEPT $exp) b)}),
		'0/0', "$label: every row equal to the source row (missing/extra)");
	is($node->safe_psql('postgres', qq{
		SELECT (SELECT md5(string_agg(format('%s|%s|%s|%s', id, name, amount, created), ',' ORDER BY id)) FROM ($exp) x)
		     = (SELECT md5(string_agg(format('%s|%s|%s|%s', id, name, amount, created), ',' ORDER BY id)) FROM ($mirror_sql) y)}),
		't', "$label: checksum");
	is($node->safe_psql('postgres', q{SELECT state FROM vstream_fdw.stream}),
		'replicating', "$label: stream replicating");
}

sub start_stream
{
	my ($sim, $start) = @_;
	$start //= 'copy';
	$node->safe_psql('postgres', qq{
		${\ $sim->server_sql('bench') }
		SELECT vstream_fdw.create_stream('bench', start => '$start');
	});
}

sub drop_stream
{
	my ($sim) = @_;
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('bench', drop_tables => true)});
	$sim->stop;
}

# ---- crashes during the copy (and the replication that follows) ----
my $N = 200000;
my $M = 3000;
for my $how ('kill', 'immediate')
{
	my $sim = VStreamSim->start(generate => "copy:$N,txns=$M", name => "copy_$how");
	start_stream($sim);
	# several points of the copy (where exactly depends on the machine's
	# speed: the copy takes a few seconds), then one in the replication
	$crashes_in_copy = 0;
	crash_at("copy, $how", $how, $_) for (1, 30000, 80000, 130000);
	cmp_ok($crashes_in_copy, '>=', 2, "copy, $how: at least 2 crashes hit the copy phase");
	crash_at("replication after copy, $how", $how, $N + 1000);
	check_converged("copy:$N + $M txns, $how", $M, [ 1, $N ], [ 1000000000, 1000000000 + $M - 1 ]);
	my @reqs = $sim->requests;
	cmp_ok(scalar(grep { ($_->{resolved} // '') =~ /^(position|shards)$/ } @reqs), '>=', 4,
		"copy, $how: resumed from saved positions");
	drop_stream($sim);
}

# ---- crashes during the replication only ----
{
	my $T = 30000;
	my $sim = VStreamSim->start(generate => "txns:$T", name => 'txns');
	start_stream($sim, 'current');
	crash_at('txns, kill', 'kill', 2000);
	crash_at('txns, immediate', 'immediate', 10000);
	crash_at('txns, kill again', 'kill', 20000);
	check_converged("txns:$T", $T, [ 1000000000, 1000000000 + $T - 1 ]);
	drop_stream($sim);
}

# ---- the position rows leave their page ----
# A snapshot held by another session keeps every old version of the
# shards' position rows alive, so pruning cannot make room: their page fills
# and the updates stop being HOT.  The new versions then need index entries, which
# checkpoint.c makes itself; after a crash the index must lead to the last
# checkpoint.
{
	my $T = 100000;
	my $sim = VStreamSim->start(generate => "txns:$T", name => 'txns_pages');
	my $non_hot = q{SELECT coalesce(sum(n_tup_upd - n_tup_hot_upd), 0) FROM pg_stat_user_tables
	                 WHERE relid = 'vstream_fdw.shard_position'::regclass};
	my $non_hot0 = $node->safe_psql('postgres', $non_hot);
	my $bg = $node->background_psql('postgres');
	$bg->query_safe(q{BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT count(*) FROM vstream_fdw.shard_position;});
	start_stream($sim, 'current');
	ok($node->poll_query_until('postgres', "SELECT ($non_hot) > $non_hot0 + 10"),
		'position updates stopped being HOT while old versions were kept');
	my $at = crash_at('txns, checkpoint row off its page', 'kill', 1);
	note("crashed at $at of $T rows");
	eval { $bg->quit; };
	check_converged("txns:$T, checkpoint row off its page", $T, [ 1000000000, 1000000000 + $T - 1 ]);
	my $want = expected_checkpoint($T);
	is($node->safe_psql('postgres', qq{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		SELECT string_agg(format('%s=%s=%s', e->>'shard', e->>'gtid', coalesce(e->>'table_p_ks', '')),
		                  ',' ORDER BY e->>'shard')
		  FROM (SELECT vstream_fdw._vgtid_join(array_agg(shard_gtid ORDER BY ord)) AS vgtid
		          FROM vstream_fdw.shard_position
		         WHERE stream_id = (SELECT id FROM vstream_fdw.stream)) c,
		       jsonb_array_elements(vstream_fdw.vgtid_to_jsonb(c.vgtid)) e}),
		$want, 'the primary-key index leads to the last checkpoint');
	drop_stream($sim);
}

# ---- phases shard by shard ----
# copy_two_shards.json: -80 completes its copy (its COPY_COMPLETED, then a
# replication transaction from -80) while 80- still copies; a pause of the
# test VTGate right there must show -80 'replicating', 80- 'copying'.
{
	my $sc = VStreamTest::read_scenario('copy_two_shards.json');
	my $responses = ref $sc eq 'HASH' ? $sc->{responses} : $sc;
	my ($cc_at, $i) = (undef, 0);
	for my $r (@$responses)
	{
		next if !$r->{events};
		$i++;
		if (grep { ($_->{type} // '') eq 'COPY_COMPLETED' && ($_->{shard} // '') eq '-80' } @{ $r->{events} })
		{
			$cc_at = $i;
			last;
		}
	}
	ok($cc_at, "COPY_COMPLETED of -80 is response $cc_at");
	my $sim = VStreamSim->start(scenario => 'copy_two_shards.json',
		faults => [ 'delay:' . ($cc_at + 1) . ',seconds=8' ], name => 'phases');
	$node->safe_psql('postgres', qq{
		${\ $sim->server_sql('customer') }
		SELECT vstream_fdw.create_stream('customer');
	});
	my $phases = q{SELECT string_agg(shard || ':' || phase, ' ' ORDER BY shard)
	                 FROM vstream_fdw.stream_status WHERE server = 'customer'};
	ok($node->poll_query_until('postgres', $phases, '-80:replicating 80-:copying'),
		'status: -80 replicating while 80- is still copying');
	is($node->safe_psql('postgres', q{
		SELECT string_agg(shard || '=' || copy_completed, ',' ORDER BY shard) FROM vstream_fdw.shard_state}),
		'-80=true', 'only -80 recorded as copied');
	is($node->safe_psql('postgres', q{SELECT state FROM vstream_fdw.stream WHERE server_name = 'customer'}),
		'copying', 'stream still copying');
	ok($node->poll_query_until('postgres', $phases, '-80:replicating 80-:replicating'),
		'status: both shards replicating after the final COPY_COMPLETED');
	is($node->safe_psql('postgres', q{SELECT state FROM vstream_fdw.stream WHERE server_name = 'customer'}),
		'replicating', 'stream replicating');
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('customer', drop_tables => true)});
	$sim->stop;
}

$node->stop;
done_testing();
