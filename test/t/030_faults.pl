# 030_faults.pl -- every fault the test VTGate can inject ends in a clear
# ERROR (with the gRPC status where there is one) and the backend survives;
# split and coalesced frames are read correctly; a cancel during a stalled
# stream returns within a second.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);
use VStreamSim;
use VStreamTest;

my $node = VStreamTest::new_node('faults');
my $start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
my $nserver = 0;

# Start a simulator with the given faults and a server pointing at it.
sub setup
{
	my (%o) = @_;
	my $sim = VStreamSim->start(scenario => 'copy_two_shards.json',
		faults => $o{faults} // [], args => $o{args} // []);
	my $name = 'f' . ++$nserver;
	my $extra = $o{server_opts} // '';
	$extra = ", heartbeat_interval '0'$extra" unless $extra =~ /heartbeat_interval/;
	$node->safe_psql('postgres', qq{
		CREATE SERVER $name FOREIGN DATA WRAPPER vstream_fdw
		  OPTIONS (host '127.0.0.1', port '${\ $sim->port }', keyspace 'customer'
		           $extra);});
	return ($sim, $name);
}

sub peek_err
{
	my ($server, $max, $timeout) = @_;
	$max //= 1000;
	$timeout //= '5s';
	return $node->psql('postgres', qq{\\set VERBOSITY verbose
		SELECT count(*) FROM vstream_fdw.peek('$server', 'copy', $max, '$timeout')});
}

# the reference: everything the scenario has, read normally
my ($sim, $server) = setup();
my ($rc, $normal, $err) = peek_err($server, 1000, '3s');
is($rc, 0, 'normal stream reads') or diag($err);
ok($normal > 100, "normal stream has $normal events");
$sim->stop;

my @cases = (
	[ 'close:3', qr/08006: VTGate at 127\.0\.0\.1:\d+ closed the connection unexpectedly/, 'abrupt close' ],
	[ 'close:3,rst', qr/08006: .*(closed the connection unexpectedly|could not read from VTGate)/, 'TCP reset' ],
	[ 'rst_stream:3,code=2', qr/08006: VTGate at .* reset the stream: HTTP\/2 error INTERNAL_ERROR/, 'RST_STREAM' ],
	[ 'goaway:3,code=0,last_stream_id=0', qr/08006: .*(GOAWAY|reset the stream|closed the connection)/, 'GOAWAY' ],
	[ 'status:3,code=14,message=tablet gone', qr/08006: VTGate ended the stream with gRPC status UNAVAILABLE: tablet gone/, 'UNAVAILABLE' ],
	[ 'status:0,code=3,message=bad vgtid', qr/22023: VTGate ended the stream with gRPC status INVALID_ARGUMENT: bad vgtid/, 'trailers-only INVALID_ARGUMENT' ],
	[ 'status:2,code=7,message=no access', qr/42501: VTGate ended the stream with gRPC status PERMISSION_DENIED: no access/, 'PERMISSION_DENIED' ],
	[ 'status:2,code=13', qr/HV000: VTGate ended the stream with gRPC status INTERNAL/, 'INTERNAL' ],
	[ 'malformed:2', qr/08P01: could not decode a VStreamResponse of \d+ bytes/, 'malformed protobuf' ],
	[ 'oversize:2,size=200000', qr/54000: VTGate at .* sent a gRPC message of 200000 bytes, more than max_message_size \(65536 bytes\)/, 'message over the size limit', ", max_message_size '65536'" ],
	[ 'oversize:2,claim=4294967295', qr/54000: .*sent a gRPC message of 4294967295 bytes/, 'a header claiming 4 GB' ],
	[ 'bad_frame:2', qr/08P01: .*compression flag 1, but no compression was negotiated/, 'compressed flag without encoding' ],
);
for my $c (@cases)
{
	my ($fault, $re, $label, $opts) = @$c;
	my ($s, $name) = setup(faults => [$fault], server_opts => $opts);
	my ($rc, $out, $err) = peek_err($name);
	isnt($rc, 0, "$label: peek fails");
	like($err, $re, "$label: clear error");
	like($err, qr/HINT|DETAIL|LOCATION/, "$label: error carries detail") if $label =~ /size|INVALID|PERMISSION|UNAVAILABLE/;
	$s->stop;
}

# frames split at every byte, and many messages per frame: same events
for my $fault ('split_every_byte:0', 'coalesce:0,count=16')
{
	my ($s, $name) = setup(faults => [$fault]);
	my ($rc, $out, $err) = peek_err($name, 1000, '4s');
	is($rc, 0, "$fault: stream reads") or diag($err);
	is($out, $normal, "$fault: the same $normal events arrive");
	$s->stop;
}

# a stalled stream with heartbeats requested is declared dead
{
	my ($s, $name) = setup(faults => ['stall:3'], server_opts => ", heartbeat_interval '1'");
	my $t0 = time();
	my ($rc, $out, $err) = peek_err($name, 1000, '60s');
	my $elapsed = time() - $t0;
	isnt($rc, 0, 'stall with heartbeats: peek fails');
	like($err, qr/08006: no message from VTGate at .* for more than 8 seconds/, 'stall: dead stream detected');
	ok($elapsed < 20, sprintf('stall detected after %.1f s', $elapsed));
	$s->stop;
}

# a cancel during a stalled stream returns within a second
{
	my ($s, $name) = setup(faults => ['stall:3']);
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c',
		  "SELECT count(*) FROM vstream_fdw.peek('$name', 'copy', 1000, '300s')" ],
		'>', \$out, '2>', \$err);
	my $pid;
	for (1 .. 200)
	{
		$pid = $node->safe_psql('postgres',
			"SELECT pid FROM pg_stat_activity WHERE query LIKE '%peek(''$name''%' AND pid <> pg_backend_pid()");
		last if $pid && $s->requests;
		sleep(0.05);
	}
	ok($pid, 'the stalled peek is running');
	sleep(0.5);
	my $t0 = time();
	$node->safe_psql('postgres', "SELECT pg_cancel_backend($pid)");
	$h->finish;
	my $elapsed = time() - $t0;
	like($err, qr/canceling statement due to user request/, 'cancel interrupts the stalled stream');
	ok($elapsed < 1.0, sprintf('cancel returned in %.3f s', $elapsed));
	$s->stop;
}

# connection refused is a retryable connection error
{
	my ($rc, $out, $err) = $node->psql('postgres', q{
		\set VERBOSITY verbose
		CREATE SERVER refused FOREIGN DATA WRAPPER vstream_fdw
		  OPTIONS (host '127.0.0.1', port '1', keyspace 'k');
		SELECT * FROM vstream_fdw.peek('refused')});
	like($err, qr/HV00N: could not connect to VTGate at 127\.0\.0\.1:1: Connection refused/, 'connection refused');
}

# the server never crashed and every backend survived
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $start_time,
	'the postmaster was never restarted');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal|server process .* was terminated/, 'no backend crashed');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still answers');

$node->stop;
done_testing();
