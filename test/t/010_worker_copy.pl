# 010_worker_copy.pl -- the stream worker against the scripted test VTGate:
# a 2-shard copy then replication gives exactly the expected mirror rows;
# status phases, counters and the checkpoint (= the last VGTID of the
# scenario) are right; a kill -9 of the worker and an immediate shutdown
# neither lose nor duplicate anything; stop/start/resync work; a value that
# needs a person stops the stream with the error recorded.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use VStreamSim;
use VStreamTest;

my $node = VStreamTest::new_node('worker_copy', preload => 1,
	conf => "restart_after_crash = on\nvstream_fdw.restart_interval = 100\nvstream_fdw.max_restart_interval = 2000\n");

my $sim = VStreamSim->start(scenario => 'copy_two_shards.json');

# Final state of the scenario (checked against an independent replay of it).
my %expected = (
	corder => join("\n",
		'1|1|SKU-1001|90', '2|2|SKU-1002|30', '4|4|SKU-1002|30',
		'10|1|SKU-1001|100', '11|1|SKU-1002|30', '12|3|SKU-1003|15'),
	customer => join("\n",
		'1|alice@domain.com|', '3|charlie@domain.com|',
		'4|dan@planetscale.com|+1-555-0199', '5|eve@domain.com|',
		'7|grace@domain.com|', '8|heidi@domain.com|', '9|ivan@domain.com|',
		'12|bob@domain.com|', '13|judy@domain.com|+1-555-0100',
		'15|mallory@domain.com|'),
	product => '');
my %query = (
	corder => q{SELECT order_id, customer_id, convert_from(sku, 'UTF8'), price FROM customer.corder ORDER BY 1},
	customer => q{SELECT customer_id, email, phone FROM customer.customer ORDER BY 1},
	product => q{SELECT * FROM customer.product ORDER BY 1});

# The last VGTID of the scenario, as the checkpoint must hold it.
my $scenario = VStreamTest::read_scenario('copy_two_shards.json');
my %last_gtid;
for my $resp (@{ $scenario->{responses} })
{
	for my $ev (@{ $resp->{events} // [] })
	{
		next unless $ev->{type} eq 'VGTID';
		my $v = $ev->{vgtid} // {};
		for my $sg (@{ $v->{shardGtids} // $v->{shard_gtids} // [] })
		{
			$last_gtid{ $sg->{shard} } = $sg->{gtid};
		}
	}
}

sub check_mirrors
{
	my $label = shift;
	for my $t (sort keys %expected)
	{
		is($node->safe_psql('postgres', $query{$t}), $expected{$t}, "$label: $t rows");
	}
	for my $shard (sort keys %last_gtid)
	{
		is($node->safe_psql('postgres', qq{
			SELECT e->>'gtid' FROM vstream_fdw.checkpoint c,
			       jsonb_array_elements(vstream_fdw.vgtid_to_jsonb(vstream_fdw.checkpoint_vgtid(c.stream_id))) e
			 WHERE e->>'shard' = '$shard'}),
			$last_gtid{$shard}, "$label: checkpoint of shard $shard is the last VGTID");
	}
}

sub wait_caught_up
{
	my $label = shift;
	my $cond = join(' AND ', map {
		qq{EXISTS (SELECT 1 FROM vstream_fdw.stream_status WHERE shard = '$_' AND position = '$last_gtid{$_}')}
	} sort keys %last_gtid);
	ok($node->poll_query_until('postgres', "SELECT $cond"), "$label: caught up")
	  or diag($node->safe_psql('postgres', 'SELECT * FROM vstream_fdw.stream_status'));
}

sub worker_pid
{
	return $node->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker'});
}

$node->safe_psql('postgres', qq{
	${\ $sim->server_sql('customer') }
	SELECT vstream_fdw.create_stream('customer');
});
wait_caught_up('copy + replication');
check_mirrors('copy + replication');

is($node->safe_psql('postgres', q{
	SELECT string_agg(format('%s:%s:%s:%s', shard, phase, rows_copied, conflicts), ' ' ORDER BY shard)
	  FROM vstream_fdw.stream_status}),
	'-80:replicating:6:0 80-:replicating:4:0', 'status: phases, rows copied, no conflicts');
is($node->safe_psql('postgres', q{SELECT state FROM vstream_fdw.stream}),
	'replicating', 'stream state flipped by the final COPY_COMPLETED');
is($node->safe_psql('postgres', q{
	SELECT string_agg(shard || '=' || copy_completed, ',' ORDER BY shard) FROM vstream_fdw.shard_state}),
	'-80=true,80-=true', 'per-shard COPY_COMPLETED recorded');
is($node->safe_psql('postgres', q{SELECT copy_completed FROM vstream_fdw.checkpoint}),
	't', 'checkpoint copy_completed');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM information_schema.columns
	 WHERE table_schema = 'customer' AND table_name = 'customer' AND column_name = 'phone'}),
	'1', 'a new source column was added to the mirror');
is($node->safe_psql('postgres', q{
	SELECT string_agg(a.attname, ',' ORDER BY a.attnum)
	  FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
	 WHERE i.indrelid = 'customer.corder'::regclass AND i.indisprimary}),
	'order_id', 'mirror primary key is the source primary key');
like($node->safe_psql('postgres', q{SELECT worker_pid FROM vstream_fdw.stream_status LIMIT 1}),
	qr/^\d+$/, 'status shows the worker pid');

# kill -9 of the worker: the postmaster restarts the cluster, the launcher
# the worker; it resumes from the checkpoint.
my $pid = worker_pid();
ok($pid, 'worker runs');
# the worker commits asynchronously: make its last commits durable first,
# so that the resume below starts from the replication position
$node->safe_psql('postgres', 'CHECKPOINT');
kill 'KILL', $pid;
ok($node->poll_query_until('postgres',
	qq{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker' AND pid <> $pid}),
	'worker restarted after kill -9');
$sim->wait_for_requests(2, 30);
wait_caught_up('after kill -9');
check_mirrors('after kill -9');

# immediate shutdown
$node->stop('immediate');
$node->start;
$sim->wait_for_requests(3, 30);
wait_caught_up('after immediate shutdown');
check_mirrors('after immediate shutdown');
my @reqs = $sim->requests;
ok(scalar(grep { ($_->{resolved} // '') eq 'position' } @reqs) >= 2,
	'reconnects resumed from the saved position');

# stop / start
$node->safe_psql('postgres', q{SELECT vstream_fdw.stop_stream('customer')});
is(worker_pid(), '', 'stop_stream: no worker');
is($node->safe_psql('postgres', q{SELECT phase FROM vstream_fdw.stream_status LIMIT 1}),
	'stopped', 'status of a stopped stream');
$node->safe_psql('postgres', q{SELECT vstream_fdw.start_stream('customer')});
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker'}),
	'start_stream: worker runs again');

# users may add columns with defaults and indexes to a mirror
$node->safe_psql('postgres', q{
	ALTER TABLE customer.customer ADD COLUMN note text DEFAULT 'mirrored';
	CREATE INDEX ON customer.customer (email);
});

# resync: truncate and copy again, into the extended mirror
$node->safe_psql('postgres', q{SELECT vstream_fdw.resync_stream('customer')});
# the old worker's positions may still show until the new one reports
ok($node->poll_query_until('postgres', q{SELECT count(*) = 6 FROM customer.corder}),
	'after resync: copied again');
wait_caught_up('after resync');
check_mirrors('after resync');
is($node->safe_psql('postgres', q{SELECT DISTINCT note FROM customer.customer}),
	'mirrored', 'extra mirror column filled with its default');

# drop
$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('customer', drop_tables => true)});
is(worker_pid(), '', 'drop_stream: no worker');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_tables WHERE schemaname = 'customer'}),
	'0', 'drop_stream dropped the mirrors');

# an error that needs a person stops the stream: a table the stream did
# not create is in the way of a mirror (it is never taken over)
$node->safe_psql('postgres', q{
	CREATE TABLE customer.customer (customer_id bigint PRIMARY KEY, email int);
	SELECT vstream_fdw.create_stream('customer', tables => '{customer}');
});
ok($node->poll_query_until('postgres',
	q{SELECT state = 'error' AND last_error IS NOT NULL FROM vstream_fdw.stream}),
	'non-transient error: stream in error');
like($node->safe_psql('postgres', q{SELECT last_error FROM vstream_fdw.stream}),
	qr/relation customer\.customer is in the way of the mirror of source table "customer"/,
	'error recorded in the stream row');
is($node->safe_psql('postgres', q{SELECT count(*) FROM vstream_fdw.mirror WHERE source_table = 'customer'}), '0',
	'the table in the way is not registered as a mirror');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker'}),
	'0', 'no worker loops on it');

$sim->stop;
$node->stop;
done_testing();
