# Resharding while streaming, against the topology cluster: Reshard customer
# -80,80- -> -40,40-80,80-c0,c0- under a write load with an atomicity reader
# and a per-key order check.  SwitchTraffic live, ReverseTraffic live, the
# worker down during SwitchTraffic (resumes from the old shards, which still
# exist), then the worker down during SwitchTraffic + Complete (the old
# shards are gone: the stream must stop with an error that says what to do,
# not retry forever), resync.  The checkpoint follows the journal, the reshard
# history is in vstream_fdw.reshard_journal, stream_status shows the new
# shards only.
use strict;
use warnings;

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
my $node = $tt->node('topo_reshard');
$tt->create_server($node, 'cust');
$node->safe_psql('postgres', "SELECT vstream_fdw.create_stream('cust')");
ok($vt->wait_replicating($node, 'cust', shards => 2, timeout => 60), 'stream replicates');
$tt->watch_order($node, 'cust');

my @old = qw(-80 80-);
my @new = qw(-40 40-80 80-c0 c0-);

sub sqlv { return VitessCluster::psql_value($node, $_[0]) // ''; }

# shards of the checkpoint VGTID, sorted
sub checkpoint_shards
{
	return sqlv("SELECT string_agg(e->>'shard', ' ' ORDER BY e->>'shard') FROM vstream_fdw.checkpoint c,
	          jsonb_array_elements(vstream_fdw.vgtid_to_jsonb(vstream_fdw.checkpoint_vgtid(c.stream_id))) e");
}

sub status_shards
{
	return join(' ', sort map { $_->{shard} } @{ $vt->stream_status($node, 'cust') });
}

# a switch to SHARDS is complete: checkpoint and stream_status name them
sub wait_switched
{
	my ($what, @shards) = @_;
	my $want = join(' ', sort @shards);
	my $ok = VitessCluster::wait_until(sub {
			checkpoint_shards() eq $want && status_shards() eq $want
			  && !grep { $_->{phase} ne 'replicating' } @{ $vt->stream_status($node, 'cust') };
		}, 60, 0.2);
	ok($ok, "$what: checkpoint and stream_status name shards $want")
	  or diag('checkpoint: ' . checkpoint_shards() . '; stream_status: ' . status_shards()
		  . "\n" . $vt->status_text($node));
	return $ok;
}

# journals recorded: "participant_shards|switched" per journal, oldest first
sub journals
{
	return sqlv("SELECT string_agg(j, ' / ' ORDER BY first) FROM (
	            SELECT journal_id, min(received_at) AS first,
	                   string_agg(shard, ',' ORDER BY shard) || '|'
	                   || bool_and(switched_at IS NOT NULL) AS j
	              FROM vstream_fdw.reshard_journal GROUP BY journal_id) x");
}

$vt->topo('reshard-tablets');
$vt->topo('reshard', 'create');
$vt->topo('reshard', 'wait');

my $w = $tt->start_writer;

# ---- A: SwitchTraffic while streaming
my $r = $tt->start_reader($node, 'cust', 8);
sleep 2;
$vt->topo('reshard', 'switch');
wait_switched('SwitchTraffic', @new);
$tt->finish_reader($r, 'SwitchTraffic');
is(journals(), '-80,80-|true', 'one journal from each old shard, switched');
my $hist = sqlv("SELECT journal_id || ' ' || array_to_string(participants, ',') || ' -> '
              || (SELECT string_agg(e->>'shard' || '\@' || (e->>'gtid'), ',' ORDER BY e->>'shard')
                    FROM jsonb_array_elements(shard_gtids) e)
              FROM vstream_fdw.reshard_journal LIMIT 1");
note("reshard history: $hist");
like($hist, qr/^\d+ customer\/-80,customer\/80- -> -40\@MariaDB\/\S+,40-80\@\S+,80-c0\@\S+,c0-\@\S+$/,
	'the history has the journal id, the participants and the new shards\' positions');

# ---- B: ReverseTraffic while streaming
$r = $tt->start_reader($node, 'cust', 8);
sleep 1;
$vt->topo('reshard', 'reverse');
wait_switched('ReverseTraffic', @old);
$tt->finish_reader($r, 'ReverseTraffic');
like(journals(), qr{^-80,80-\|true / -40,40-80,80-c0,c0-\|true$},
	'the reverse journal came from the four new shards');

# ---- C: worker down during SwitchTraffic; the old shards still exist
$node->safe_psql('postgres', "SELECT vstream_fdw.stop_stream('cust')");
$vt->topo('reshard', 'switch');
sleep 2;
$node->safe_psql('postgres', "SELECT vstream_fdw.start_stream('cust')");
$r = $tt->start_reader($node, 'cust', 8);
wait_switched('SwitchTraffic while the worker was down', @new);
$tt->finish_reader($r, 'resume across SwitchTraffic');
like(journals(), qr{ / -80,80-\|true$}, 'the resumed stream read both journals of the old shards');

my $ws = $tt->stop_writer($w);
$tt->check_mirror($node, 'cust', what => 'after switch, reverse, switch while down');
my $conflicts = sqlv("SELECT sum(conflicts) FROM vstream_fdw.stream_status WHERE server = 'cust'");
is($conflicts, '0', 'no insert over an existing row, no update or delete of a missing one');

# ---- D: worker down during SwitchTraffic and Complete: old shards deleted
$vt->topo('reshard', 'reverse');
wait_switched('ReverseTraffic', @old);
$node->safe_psql('postgres', "SELECT vstream_fdw.stop_stream('cust')");
$vt->mysql('customer', 'update acct set ver = ver + 1');    # a change after the checkpoint
$vt->topo('reshard', 'switch');
$vt->topo('reshard', 'complete');
$node->safe_psql('postgres', "SELECT vstream_fdw.start_stream('cust')");
my $state;
ok(VitessCluster::wait_until(sub {
			$state = sqlv("SELECT state || ' ' || coalesce(last_error, '') FROM vstream_fdw.stream WHERE server_name = 'cust'");
			$state =~ /^error /;
		}, 60, 0.3),
	'old shards deleted before the stream read the journal: the stream stops with an error');
note("stream: $state");
like($state, qr/no longer exists/, 'the error says the checkpoint\'s shard no longer exists');
like($state, qr/resync_stream\('cust'\)/, 'and says how to continue');
sleep 3;
is($vt->worker_pid($node, 'cust'), undef, 'no worker retries it');
like(slurp_file($node->logfile), qr/stopped because of an error that needs attention/,
	'the worker stopped instead of retrying');

# ---- E: resync from the new shards
$node->safe_psql('postgres', "SELECT vstream_fdw.resync_stream('cust')");
ok($vt->wait_replicating($node, 'cust', shards => 4, timeout => 90), 'resync copies the new shards');
$tt->check_mirror($node, 'cust', what => 'after Complete and resync');
is(status_shards(), join(' ', sort @new), 'stream_status shows the four new shards')
  or diag($vt->status_text($node));

$node->stop;
$vt->stop_topology;
note(sprintf('252_topo_reshard: %.1f s', time - $t0));
done_testing();
