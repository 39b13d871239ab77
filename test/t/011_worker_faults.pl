# 011_worker_faults.pl -- resume after disconnects and error statuses.
#
# The test VTGate drops the connection after every possible number of
# responses of the 2-shard copy + replication scenario (once), or ends the
# stream with UNAVAILABLE; each time the worker must reconnect from its
# checkpoint and the mirrors must end up exactly as expected, with the
# checkpoint at the last VGTID.  A transaction split over several
# responses that is cut by a disconnect must never be visible in part.
# An INVALID_ARGUMENT status stops the stream with the error recorded.
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

my $node = VStreamTest::new_node('worker_faults', preload => 1,
	conf => "vstream_fdw.restart_interval = 50\nvstream_fdw.max_restart_interval = 500\n");

my $expected = join("\n",
	'customer|1|alice@domain.com', 'customer|3|charlie@domain.com',
	'customer|4|dan@planetscale.com', 'customer|5|eve@domain.com',
	'customer|7|grace@domain.com', 'customer|8|heidi@domain.com',
	'customer|9|ivan@domain.com', 'customer|12|bob@domain.com',
	'customer|13|judy@domain.com', 'customer|15|mallory@domain.com',
	'corder|1|90', 'corder|2|30', 'corder|4|30', 'corder|10|100',
	'corder|11|30', 'corder|12|15');
my $rows_query = q{
	SELECT * FROM (
	  SELECT 'customer' AS t, customer_id AS id, email AS v FROM customer.customer
	  UNION ALL
	  SELECT 'corder', order_id, price::text FROM customer.corder) x
	ORDER BY t DESC, id};
my $caught_up = q{
	SELECT count(*) = 2 FROM vstream_fdw.stream_status
	 WHERE (shard, position) IN (('-80', 'MySQL56/7b8e4a10-1c2d-11ef-8a3b-0242ac120002:1-27'),
	                             ('80-', 'MySQL56/8c9f5b21-1c2d-11ef-8a3b-0242ac120003:1-35'))
	   AND EXISTS (SELECT 1 FROM vstream_fdw.checkpoint WHERE copy_completed)};

my $copy_restarts = 0;

sub run_with_fault
{
	my ($label, @faults) = @_;
	my $sim = VStreamSim->start(scenario => 'copy_two_shards.json', faults => \@faults);
	$node->safe_psql('postgres', qq{
		${\ $sim->server_sql('customer') }
		SELECT vstream_fdw.create_stream('customer');
	});
	my $ok = $node->poll_query_until('postgres',
		"SELECT ($caught_up) OR EXISTS (SELECT 1 FROM vstream_fdw.stream WHERE state = 'error')");
	my $err = $node->safe_psql('postgres', q{SELECT last_error FROM vstream_fdw.stream WHERE state = 'error'});
	my @reqs = $sim->requests;
	is($err, '', "$label: no error") if $err ne '';
	# Resume rule of the copy phase: a shard saved between two tables
	# resumes with table_p_ks entries for the tables it completed (their
	# last key), never from scratch (which would skip their changes).
	my @resumes = grep {
		my $sgs = $_->{request}{vgtid}{shardGtids} // [];
		($_->{resolved} // '') eq 'shards'
		  && (grep { ($_->{gtid} // '') ne '' && $_->{tablePKs} } @$sgs)
	} @reqs;
	$copy_restarts++ if @resumes;
	ok($node->safe_psql('postgres', $caught_up) eq 't', "$label: caught up")
	  or diag($node->safe_psql('postgres', 'SELECT * FROM vstream_fdw.stream_status'));
	is($node->safe_psql('postgres', $rows_query), $expected, "$label: mirrors");
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('customer', drop_tables => true)});
	$sim->stop;
	return scalar(@reqs);
}

# a disconnect after every number of responses
for my $at (1 .. 34)
{
	my $n = run_with_fault("close after $at responses", "close:$at,once");
	cmp_ok($n, '>=', 2, "close after $at responses: reconnected");
}

# an RST and an UNAVAILABLE status in the middle, and a GOAWAY
run_with_fault('rst close after 12', 'close:12,rst,once');
run_with_fault('UNAVAILABLE after 20', 'status:20,code=14,message=tablet gone,once');
run_with_fault('GOAWAY after 27', 'goaway:27,once');

# the cuts inside and between two tables of a shard resume that shard's
# copy, naming the tables it completed
cmp_ok($copy_restarts, '>=', 8, "per-shard copy resumes exercised ($copy_restarts)");
like(slurp_file($node->logfile), qr/completed table\(s\) resume from their last key/,
	'a shard saved between two tables resumes with its completed tables');

# INVALID_ARGUMENT needs a person: the stream stops with the error recorded
{
	my $sim = VStreamSim->start(scenario => 'copy_two_shards.json',
		faults => ['status:5,code=3,message=bad vgtid']);
	$node->safe_psql('postgres', qq{
		${\ $sim->server_sql('customer') }
		SELECT vstream_fdw.create_stream('customer');
	});
	ok($node->poll_query_until('postgres',
		q{SELECT state = 'error' FROM vstream_fdw.stream}), 'INVALID_ARGUMENT: stream in error');
	like($node->safe_psql('postgres', q{SELECT last_error FROM vstream_fdw.stream_status LIMIT 1}),
		qr/bad vgtid/, 'INVALID_ARGUMENT: error in the status view');
	usleep(500_000);
	is(scalar(my @r = $sim->requests), 1, 'INVALID_ARGUMENT: no reconnect loop');
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('customer', drop_tables => true)});
	$sim->stop;
}

# A large transaction split over many responses, cut by a disconnect: never
# visible in part, applied whole after the reconnect.
{
	my $n = 20000;
	my $sim = VStreamSim->start(generate => "bigtxn:$n,per_resp=500",
		faults => ['delay:10,seconds=1,once', 'close:30,once']);
	$node->safe_psql('postgres', qq{
		${\ $sim->server_sql('bench') }
		SELECT vstream_fdw.create_stream('bench', start => 'copy');
	});
	my %seen;
	my $deadline = time + 120;
	while (time < $deadline)
	{
		# the mirror is created inside the transaction: it appears with it
		my $c = $node->safe_psql('postgres', q{SELECT to_regclass('bench.bench') IS NOT NULL}) eq 't'
		  ? $node->safe_psql('postgres', q{SELECT count(*) FROM bench.bench})
		  : -1;
		$seen{$c}++;
		last if $c == $n;
		usleep(20_000);
	}
	my @partial = grep { $_ != -1 && $_ != 0 && $_ != $n } keys %seen;
	is(scalar(@partial), 0, 'big transaction never visible in part')
	  or diag('counts seen: ' . join(',', sort keys %seen));
	is($node->safe_psql('postgres', q{SELECT count(*) FROM bench.bench}), $n,
		'big transaction applied whole after the reconnect');
	cmp_ok(scalar(my @r = $sim->requests), '>=', 2, 'big transaction: reconnected');
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('bench', drop_tables => true)});
	$sim->stop;
}

$node->stop;
done_testing();
