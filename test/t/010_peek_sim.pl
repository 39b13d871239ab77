# 010_peek_sim.pl -- peek() against the scripted test VTGate: a 2-shard copy
# phase and replication return exactly the scripted events; resume from a
# VGTID given as JSON (lastpk included) round-trips exactly.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use VStreamSim;
use VStreamTest;

my $node = VStreamTest::new_node('peek');
my $sim = VStreamSim->start(scenario => 'copy_two_shards.json');
my $port = $sim->port;
$node->safe_psql('postgres', qq{
	CREATE SERVER sim FOREIGN DATA WRAPPER vstream_fdw
	  OPTIONS (host '127.0.0.1', port '$port', keyspace 'customer', heartbeat_interval '0');
});

sub compare_events
{
	my ($got, $want, $label, %o) = @_;
	my @g = $o{skip_field} ? grep { $_->{type} ne 'FIELD' } @$got : @$got;
	my @w = $o{skip_field} ? grep { $_->{type} ne 'FIELD' } @$want : @$want;
	is(scalar(@g), scalar(@w), "$label: number of events");
	my $bad = 0;
	for my $i (0 .. $#w)
	{
		my ($a, $b) = ($g[$i], $w[$i]);
		last unless $a;
		for my $k (qw(type keyspace shard))
		{
			next if $a->{$k} eq $b->{$k};
			diag("$label event $i: $k is '$a->{$k}', expected '$b->{$k}'");
			$bad++;
		}
		if (defined $b->{table} && ($a->{table} // '') ne $b->{table})
		{
			diag("$label event $i: table is '" . ($a->{table} // '') . "', expected '$b->{table}'");
			$bad++;
		}
		for my $img ('before', 'after')
		{
			next unless $b->{$img} || $a->{$img};
			my $ja = JSON::PP->new->canonical->encode($a->{$img} // {});
			my $jb = JSON::PP->new->canonical->encode($b->{$img} // {});
			next if $ja eq $jb;
			diag("$label event $i ($b->{type}): $img is $ja, expected $jb");
			$bad++;
		}
	}
	is($bad, 0, "$label: every event has the scripted type, keyspace, shard, table and row images");
}

# --- copy phase of two shards, then replication, from the start ---
my $want = VStreamTest::expected_events('copy_two_shards.json');
my ($got, $err) = VStreamTest::peek_events($node, 'sim', 'copy', 1000, '4s');
ok($got, 'peek from copy succeeds') or diag($err);
compare_events($got, $want, 'copy');

my @copy_completed = grep { $_->{type} eq 'COPY_COMPLETED' } @$got;
is(scalar(@copy_completed), 3, 'two per-shard COPY_COMPLETED and one stream-wide');
is_deeply([ map { $_->{shard} } @copy_completed ], [ '-80', '80-', '' ],
	'the stream-wide COPY_COMPLETED has no shard');

my @req = $sim->requests;
my $r = $req[-1]{request};
is($r->{tabletType} // $r->{tablet_type}, 'PRIMARY', 'request asks for PRIMARY tablets');
my $sg = ($r->{vgtid}{shardGtids} // $r->{vgtid}{shard_gtids})->[0];
is($sg->{keyspace}, 'customer', 'request names the keyspace');
ok(!$sg->{gtid} && !$sg->{shard}, 'copy start: empty gtid and shard (all shards)');
is(($r->{filter}{rules})->[0]{match}, '/.*', 'default filter matches every table');

# max_events stops early
($got, $err) = VStreamTest::peek_events($node, 'sim', 'copy', 5, '10s');
is(scalar(@$got), 5, 'max_events limits the number of events');

# --- replication from "current" ---
my $scen = VStreamTest::read_scenario('copy_two_shards.json');
my $mark = 0;
for my $i (0 .. $#{ $scen->{responses} })
{
	$mark = $i if ($scen->{responses}[$i]{mark} // '') eq 'current';
}
ok($mark > 0, 'scenario has a current mark');
my $want_repl = VStreamTest::expected_events($scen, $mark);
($got, $err) = VStreamTest::peek_events($node, 'sim', 'current', 1000, '3s');
ok($got, 'peek from current succeeds') or diag($err);
# real VTGate starts with [VGTID, OTHER] per shard
is_deeply([ map { $_->{type} } @$got[ 0 .. 3 ] ], [qw(VGTID OTHER VGTID OTHER)],
	'current start begins with VGTID, OTHER per shard');
my @rest = @$got[ 4 .. $#$got ];
compare_events(\@rest, $want_repl, 'replication', skip_field => 1);
my ($update) = grep { $_->{type} eq 'ROW' && $_->{before} && $_->{after} } @rest;
ok($update, 'an UPDATE carries before and after images');
my ($ddl) = grep { $_->{type} eq 'DDL' } @rest;
like($ddl->{statement} // '', qr/alter table/i, 'DDL statement text is returned');

# --- resume from a VGTID with table_p_ks, given as JSON ---
($got, $err) = VStreamTest::peek_events($node, 'sim', 'copy', 1000, '3s');
my ($pos) = grep {
	$_->{type} eq 'VGTID' && grep { $_->{table_p_ks} } @{ $_->{vgtid} }
} @$got;
ok($pos, 'copy phase has a VGTID with table_p_ks');
my $json = JSON::PP->new->canonical->encode($pos->{vgtid});
like($json, qr/"lastpk":\{"fields":\[\{.*"rows":\[\{"lengths"/, 'lastpk rendered with fields and rows');
my @before_reqs = $sim->requests;
my $n_before = scalar(@before_reqs);
my ($resumed, $err2) = VStreamTest::peek_events($node, 'sim', $json, 1000, '3s');
ok($resumed, 'peek resumes from the JSON VGTID') or diag($err2);
my @reqs = $sim->requests;
is(scalar(@reqs), $n_before + 1, 'one more request');
is($reqs[-1]{error}, undef, 'the simulator found that exact position (table_p_ks round-trips)');
ok(scalar(@$resumed) < scalar(@$got), 'a resumed stream is shorter than the full one');
is_deeply($resumed->[-1]{type}, $got->[-1]{type}, 'and ends the same way');

# the status of a bad position is a clear error
my ($rc, $out, $stderr) = $node->psql('postgres',
	q{SELECT * FROM vstream_fdw.peek('sim', '[{"keyspace":"customer","shard":"-80","gtid":"MySQL56/nope:1-2"}]')});
isnt($rc, 0, 'unknown position fails');
like($stderr, qr/gRPC status INVALID_ARGUMENT/, 'error names the gRPC status');

$sim->stop;
$node->stop;
done_testing();
