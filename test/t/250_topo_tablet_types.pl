# Streams from REPLICA and RDONLY tablets and with the cells option, against
# the topology cluster (VitessCluster->require_topology: a REPLICA per shard
# of customer in zone1, an RDONLY for 80- in zone2), under a write load with
# an atomicity reader; every mirror compared cell by cell with the source.
use strict;
use warnings;

use HTTP::Tiny;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use VitessCluster;
use TopoTest;

my $t0 = time;
my $vt = VitessCluster->require_topology;
my $tt = TopoTest->new($vt);
$tt->create_source(pairs => 24);
my $node = $tt->node('topo_types');

# vttablet's number of running vstreamers (it serves every VStream tablet stream)
sub vstreamers
{
	my ($uid) = @_;
	my $r = HTTP::Tiny->new(timeout => 10)->get(
		sprintf('http://127.0.0.1:%d/debug/vars', $vt->env('VT_TABLET_HTTP_BASE') + $uid));
	return -1 unless $r->{success};
	return decode_json($r->{content})->{VStreamerCount} // 0;
}

my $only80 = '[{"keyspace":"customer","shard":"80-","gtid":""}]';
$tt->create_server($node, 'cust_replica', tablet_type => 'replica', cells => 'zone1');
$tt->create_server($node, 'cust_rdonly', tablet_type => 'rdonly', cells => 'zone2');
$tt->create_server($node, 'cust_rdonly_z1', tablet_type => 'rdonly', cells => 'zone1');

$node->safe_psql('postgres', qq{
	SELECT vstream_fdw.create_stream('cust_replica');
	SELECT vstream_fdw.create_stream('cust_rdonly', start => '$only80');
	SELECT vstream_fdw.create_stream('cust_rdonly_z1', start => '$only80');});

ok($vt->wait_replicating($node, 'cust_replica', shards => 2, timeout => 90),
	'replica stream (cells zone1) copied both shards and replicates');
ok($vt->wait_replicating($node, 'cust_rdonly', shards => 1, timeout => 90),
	'rdonly stream (cells zone2) of shard 80- copied and replicates');
$tt->watch_order($node, $_) for qw(cust_replica cust_rdonly);

# the load starts after the copy (see the README: copy under load on MariaDB)
my $w = $tt->start_writer;
my @readers = map { $tt->start_reader($node, $_, 8) } qw(cust_replica cust_rdonly);

# which tablets serve the streams: the replicas and the rdonly, not the primaries
my %vs = map { $_ => vstreamers($_) } (200, 201, 300, 301, 302);
note('vstreamers per tablet: ' . join(', ', map { "$_=$vs{$_}" } sort keys %vs));
cmp_ok($vs{201}, '>=', 1, 'REPLICA tablet 201 (-80) serves a stream');
cmp_ok($vs{301}, '>=', 1, 'REPLICA tablet 301 (80-) serves a stream');
cmp_ok($vs{302}, '>=', 1, 'RDONLY tablet 302 (80-, zone2) serves a stream');
is($vs{200} + $vs{300}, 0, 'no stream reads from a PRIMARY');

# rdonly in zone1: there is none; VTGate's tablet picker keeps looking
# (it logs, the client sees nothing): the stream stays in its copy phase
my $st = $vt->stream_status($node, 'cust_rdonly_z1');
is(scalar(grep { $_->{phase} eq 'replicating' } @$st), 0,
	'rdonly stream with cells zone1 (no such tablet) does not get anywhere');
my $rows = VitessCluster::psql_value($node,
	"SELECT count(*) FROM cust_rdonly_z1.acct");
ok(!defined $rows || $rows eq '0', 'and copies nothing');
# (VTGate logs "failed to find a RDONLY tablet for VStream in customer/80-
# within the zone1 cell(s)" and keeps trying; the client gets no error)
$node->safe_psql('postgres', "SELECT vstream_fdw.drop_stream('cust_rdonly_z1')");

sleep 6;
my $ws = $tt->stop_writer($w);
$tt->finish_reader($readers[0], 'replica stream');
$tt->finish_reader($readers[1], 'rdonly stream');
$tt->check_mirror($node, 'cust_replica');
$tt->check_mirror($node, 'cust_rdonly', source => 'customer:80-', what => 'shard 80- only');

$node->stop;
$vt->stop_topology;
note(sprintf('250_topo_tablet_types: %.1f s', time - $t0));
done_testing();
