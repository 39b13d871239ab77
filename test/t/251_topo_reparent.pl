# Reparents while streaming, against the topology cluster: a planned
# reparent (PRS) and an emergency one (ERS, the primary's mariadbd killed)
# during the copy phase, and again during replication, each under a write
# load with an atomicity reader; the stream continues and the mirror equals the
# source cell by cell.  On MariaDB, Vitess v0.24's PRS cannot point replicas
# at a new primary; topo.sh then does a planned external reparent and
# TabletExternallyReparented (see test/vitess/topo.sh).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use VitessCluster;
use TopoTest;

my $t0 = time;
# spare replicas for the second round of reparents
my $vt = VitessCluster->require_topology(
	extra_tablets => '202:customer:-80:replica 303:customer:80-:replica');
my $tt = TopoTest->new($vt);
$tt->create_source(pairs => 24);
$vt->load_corder(200_000);
my $node = $tt->node('topo_reparent');
$tt->create_server($node, 'cust');

sub phases
{
	return join(',', map { "$_->{shard}=$_->{phase}" } @{ $vt->stream_status($node, 'cust') });
}

sub errors_seen
{
	my $log = slurp_file($node->logfile);
	my %e;
	$e{$1}++ while $log =~ /vstream_fdw worker ERROR:\s+(.*)/g;
	return join('', map { "\n  $e{$_} x $_" } sort keys %e);
}

# ---- copy phase, with the write load running
my $w = $tt->start_writer;
$node->safe_psql('postgres', "SELECT vstream_fdw.create_stream('cust')");
ok(VitessCluster::wait_until(sub {
			my $st = $vt->stream_status($node, 'cust');
			@$st == 2 && !grep { $_->{phase} ne 'copying' } @$st;
		}, 60, 0.05),
	'the copy of 200k rows is under way');
my $before = phases();
$vt->topo('prs', 'customer/-80', 201);
$vt->topo('ers', 'customer/80-', 301);
my $after = phases();
note("phases before the reparents: $before; after: $after");
like($after, qr/copying/, 'both reparents finished while the stream was still copying');
is($vt->topo('primary', 'customer/-80') + 0, 201, 'PRS: 201 is the primary of -80');
is($vt->topo('primary', 'customer/80-') + 0, 301, 'ERS: 301 is the primary of 80-');
ok($vt->wait_replicating($node, 'cust', shards => 2, timeout => 180),
	'the stream finished its copy after the reparents');
# the atomicity reader runs once the copy is done (a copy is consistent per
# batch only)
my $r = $tt->start_reader($node, 'cust', 4);
$tt->finish_reader($r, 'after reparents during the copy');
my $ws = $tt->stop_writer($w);
ok($vt->wait_converged($node, [ map { [ customer => $_, schema => 'cust' ] } qw(corder customer acct ev) ],
		timeout => 120),
	'after reparents during the copy under load, the mirror equals the source');
note('stream errors during the copy-phase reparents:' . (errors_seen() || ' none'));

# ---- replication phase, under load: new replicas, then PRS 80-, ERS -80
# (202 and 303 replicate from the primaries since the reparents above)
$tt->watch_order($node, 'cust');
$w = $tt->start_writer;
$r = $tt->start_reader($node, 'cust', 14);
sleep 2;
$vt->topo('prs', 'customer/80-', 303);
sleep 2;
$vt->topo('ers', 'customer/-80', 202);
sleep 3;
$ws = $tt->stop_writer($w);
is($vt->topo('primary', 'customer/80-') + 0, 303, 'PRS: 303 is the primary of 80-');
is($vt->topo('primary', 'customer/-80') + 0, 202, 'ERS: 202 is the primary of -80');
$tt->finish_reader($r, 'PRS and ERS under load');
$tt->check_mirror($node, 'cust', timeout => 120, what => 'after PRS and ERS under load');
ok($vt->wait_replicating($node, 'cust', shards => 2, timeout => 30), 'the stream replicates');
note('stream errors, whole test:' . (errors_seen() || ' none'));

$node->stop;
$vt->stop_topology;
note(sprintf('251_topo_reparent: %.1f s', time - $t0));
done_testing();
