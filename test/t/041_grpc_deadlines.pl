# 041_grpc_deadlines.pl -- the gRPC client keeps its deadlines while frames
# keep arriving (issue 12):
#  * waiting for the response headers: a server that keeps sending frames
#    (WINDOW_UPDATEs) but no headers must fail at connect_timeout, not when
#    it stops;
#  * waiting for the next message: frames that keep arriving in the middle of
#    a message must not keep peek() past its timeout.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use JSON::PP;
use File::Temp qw(tempdir);
use VStreamSim;
use VStreamTest;

my $node = VStreamTest::new_node('grpc_deadlines');
my $tmp = tempdir('deadlines_XXXX', TMPDIR => 1, CLEANUP => 1);
my $scenario = "$tmp/current.json";
open(my $fh, '>', $scenario) or die;
print $fh encode_json({ current_vgtid => { shardGtids => [ { keyspace => 'hk', shard => '0',
	gtid => 'MySQL56/9da06c32-1c2d-11ef-8a3b-0242ac120004:1-100' } ] }, responses => [] });
close $fh;

sub server
{
	my ($sim, $opts) = @_;
	$node->safe_psql('postgres', qq{
		DROP SERVER IF EXISTS hk CASCADE;
		CREATE SERVER hk FOREIGN DATA WRAPPER vstream_fdw
		  OPTIONS (host '127.0.0.1', port '${\ $sim->port }', keyspace 'hk' $opts);});
}

# frames instead of response headers, for 15 s
{
	my $sim = VStreamSim->start(scenario => $scenario, faults => ['frame_flood,seconds=15']);
	server($sim, q{, connect_timeout '2'});
	my $t0 = time;
	my ($ret, $out, $err) = $node->psql('postgres',
		q{SET statement_timeout = '60s'; SELECT count(*) FROM vstream_fdw.peek('hk', max_events => 1, timeout => '1 s')});
	my $elapsed = time - $t0;
	like($err, qr/timeout waiting for VTGate at .* to answer the VStream request/,
		'frames without response headers: connect_timeout error');
	cmp_ok($elapsed, '<', 10, sprintf('frames without response headers: failed after %.1f s (connect_timeout 2 s)', $elapsed));
	$sim->stop;
}

# frames that carry nothing in the middle of a message, for 15 s
{
	my $sim = VStreamSim->start(scenario => $scenario, faults => ['frame_flood:1,when=body,seconds=15']);
	server($sim, '');
	my $t0 = time;
	my ($ret, $out, $err) = $node->psql('postgres',
		q{SET statement_timeout = '120s'; SELECT count(*) FROM vstream_fdw.peek('hk', max_events => 10, timeout => '2 s')});
	my $elapsed = time - $t0;
	is($err, '', 'frames in a message: peek ends without error');
	cmp_ok($out, '>=', 2, "frames in a message: the events before it ($out)");
	cmp_ok($elapsed, '<', 10, sprintf('frames in a message: peek returned after %.1f s (timeout 2 s)', $elapsed));
	$sim->stop;
}

$node->safe_psql('postgres', 'DROP SERVER hk CASCADE');
$node->stop;
done_testing();
