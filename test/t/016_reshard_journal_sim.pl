# Resharding journals against the test VTGate: a stream of keyspace customer
# (-80, 80-) receives [BEGIN, JOURNAL, VGTID, COMMIT] from each old shard
# (include_reshard_journal_events) and continues on -40, 40-.  Checks: the
# journals are recorded in vstream_fdw.reshard_journal; until the last one
# the checkpoint keeps the shard before its journal (a connection cut after
# the first journal resumes from there, so VTGate would see both journals
# again); with the last one the checkpoint names the new shards at the
# journal's positions; stream_status shows the new shards only; the request
# asks for include_reshard_journal_events.
use strict;
use warnings;

use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VStreamSim;
use VitessCluster;

my $ks = 'customer';
my $ts = 1716372000;
sub ev { my ($type, $shard, %o) = @_; return { type => $type, keyspace => $ks, shard => $shard, %o }; }
sub vgtid
{
	my (%pos) = @_;
	return ev('VGTID', $_[0], vgtid => { shardGtids => [ map { { keyspace => $ks, shard => $_, gtid => $pos{$_} } } sort keys %pos ] });
}
sub vg { my ($shard, %pos) = @_; my $e = vgtid(%pos); $e->{shard} = $shard; return $e; }
my $field = sub {
	my ($shard) = @_;
	return ev('FIELD', $shard, fieldEvent => { tableName => "$ks.t", keyspace => $ks, shard => $shard, fields => [
		{ name => 'id', type => 'INT64', table => 't', orgTable => 't', database => "vt_$ks", orgName => 'id',
		  columnLength => 20, charset => 63, flags => 53251, columnType => 'bigint' },
		{ name => 'v', type => 'INT64', table => 't', orgTable => 't', database => "vt_$ks", orgName => 'v',
		  columnLength => 20, charset => 63, flags => 32768, columnType => 'bigint' } ] });
};
sub row { my ($shard, $id) = @_; return ev('ROW', $shard, timestamp => $ts, rowEvent => { tableName => "$ks.t", keyspace => $ks, shard => $shard,
		rowChanges => [ { after => { cells => [ "$id", "$id" ] } } ] }); }
my %journal = (id => '4041700056356601625', migrationType => 'SHARDS', tables => ['/.*'],
	localPosition => 'MariaDB/0-1-2',
	participants => [ { keyspace => $ks, shard => '-80' }, { keyspace => $ks, shard => '80-' } ],
	shardGtids => [ { keyspace => $ks, shard => '-40', gtid => 'MariaDB/0-40-7' },
		{ keyspace => $ks, shard => '40-', gtid => 'MariaDB/0-41-9' } ],
	sourceWorkflows => ['cust2cust']);
my @responses = (
	{ comment => 'start position', events => [ vg('-80', '-80' => 'MariaDB/0-1-1', '80-' => 'MariaDB/0-2-1') ] },
	{ comment => 'txn on -80', events => [ ev('BEGIN', '-80', timestamp => $ts), $field->('-80'), row('-80', 1),
		vg('-80', '-80' => 'MariaDB/0-1-2', '80-' => 'MariaDB/0-2-1'), ev('COMMIT', '-80', timestamp => $ts) ] },
	{ comment => 'txn on 80-', events => [ ev('BEGIN', '80-', timestamp => $ts), $field->('80-'), row('80-', 2),
		vg('80-', '-80' => 'MariaDB/0-1-2', '80-' => 'MariaDB/0-2-2'), ev('COMMIT', '80-', timestamp => $ts) ] },
	{ comment => 'journal of -80', events => [ ev('BEGIN', '-80', timestamp => $ts),
		ev('JOURNAL', '-80', journal => { %journal, localPosition => 'MariaDB/0-1-2' }),
		vg('-80', '-80' => 'MariaDB/0-1-3', '80-' => 'MariaDB/0-2-2'), ev('COMMIT', '-80', timestamp => $ts) ] },
	{ comment => 'journal of 80-', events => [ ev('BEGIN', '80-', timestamp => $ts),
		ev('JOURNAL', '80-', journal => { %journal, localPosition => 'MariaDB/0-2-2' }),
		vg('80-', '-80' => 'MariaDB/0-1-3', '80-' => 'MariaDB/0-2-3'), ev('COMMIT', '80-', timestamp => $ts) ] },
	{ comment => 'txn on -40', events => [ ev('BEGIN', '-40', timestamp => $ts), $field->('-40'), row('-40', 3),
		vg('-40', '-40' => 'MariaDB/0-40-8', '40-' => 'MariaDB/0-41-9'), ev('COMMIT', '-40', timestamp => $ts) ] },
	{ comment => 'txn on 40-', events => [ ev('BEGIN', '40-', timestamp => $ts), $field->('40-'), row('40-', 4),
		vg('40-', '-40' => 'MariaDB/0-40-8', '40-' => 'MariaDB/0-41-10'), ev('COMMIT', '40-', timestamp => $ts) ] },
);
my $dir = PostgreSQL::Test::Utils::tempdir('sim');
my $scenario = "$dir/reshard.json";
open(my $fh, '>', $scenario) or die;
print $fh JSON::PP->new->canonical->encode({ description => 'reshard -80,80- -> -40,40-', responses => \@responses });
close $fh;

my $start = '[{"keyspace":"customer","shard":"-80","gtid":"MariaDB/0-1-1"},{"keyspace":"customer","shard":"80-","gtid":"MariaDB/0-2-1"}]';

sub run_case
{
	my ($name, @faults) = @_;
	my $sim = VStreamSim->start(scenario => $scenario, faults => \@faults);
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vstream_fdw'\n"
		  . "vstream_fdw.database = 'postgres'\nvstream_fdw.restart_interval = 100\n");
	$node->start;
	$node->safe_psql('postgres', sprintf(q{CREATE EXTENSION vstream_fdw;
		CREATE SERVER sim FOREIGN DATA WRAPPER vstream_fdw OPTIONS (host '127.0.0.1', port '%d', keyspace 'customer');
		SELECT vstream_fdw.create_stream('sim', start => '%s');}, $sim->port, $start));
	ok($node->poll_query_until('postgres', 'SELECT count(*) = 4 FROM sim.t'), "$name: rows of old and new shards applied");
	is($node->safe_psql('postgres', q{SELECT string_agg(e->>'shard' || '=' || (e->>'gtid'), ' ' ORDER BY e->>'shard')
		FROM vstream_fdw.checkpoint c, jsonb_array_elements(vstream_fdw.vgtid_to_jsonb(vstream_fdw.checkpoint_vgtid(c.stream_id))) e}),
		'-40=MariaDB/0-40-8 40-=MariaDB/0-41-10', "$name: the checkpoint names the new shards");
	# the old shards' position rows were replaced by the new shards' rows,
	# in the VGTID's order, and they join back into the VGTID's bytes
	is($node->safe_psql('postgres', q{SELECT string_agg(shard, ' ' ORDER BY ord) || ' '
		|| (vstream_fdw._vgtid_join(array_agg(shard_gtid ORDER BY ord))
		    = (SELECT vstream_fdw._vgtid_join(array_agg(p.shard_gtid ORDER BY p.ord))
		         FROM vstream_fdw._vgtid_shards(vstream_fdw.checkpoint_vgtid(1)) p))
		FROM vstream_fdw.shard_position}),
		'-40 40- true', "$name: one position row per new shard, the old ones deleted");
	is($node->safe_psql('postgres', q{SELECT string_agg(shard || ':' || (switched_at IS NOT NULL) || ':' || local_position
		|| ':' || array_to_string(participants, ',') || ':' || workflow, ' ' ORDER BY shard) FROM vstream_fdw.reshard_journal}),
		'-80:true:MariaDB/0-1-2:customer/-80,customer/80-:cust2cust 80-:true:MariaDB/0-2-2:customer/-80,customer/80-:cust2cust',
		"$name: both journals recorded, switched");
	is($node->safe_psql('postgres', q{SELECT string_agg(e->>'shard' || '=' || (e->>'gtid'), ' ' ORDER BY e->>'shard')
		FROM vstream_fdw.reshard_journal r, jsonb_array_elements(r.shard_gtids) e WHERE r.shard = '-80'}),
		'-40=MariaDB/0-40-7 40-=MariaDB/0-41-9', "$name: the history has the new shards' start positions");
	ok($node->poll_query_until('postgres', q{SELECT string_agg(shard, ' ' ORDER BY shard) = '-40 40-'
		FROM vstream_fdw.stream_status}), "$name: stream_status shows the new shards only");
	is($node->safe_psql('postgres', q{SELECT string_agg(shard || ':' || copy_completed, ' ' ORDER BY shard)
		FROM vstream_fdw.shard_state WHERE shard IN ('-40', '40-')}), '-40:true 40-:true',
		"$name: the new shards start past their copy phase");
	my @req = $sim->requests;
	ok(@req && !grep({ !(($_->{request} // {})->{flags} // {})->{includeReshardJournalEvents} } @req),
		"$name: every request asks for include_reshard_journal_events")
	  or diag(encode_json($req[0]));
	my $r = { node => $node, sim => $sim, requests => \@req };
	return $r;
}

my $live = run_case('journal_live');
is(scalar @{ $live->{requests} }, 1, 'live: one request, no reconnect');
$live->{node}->stop;
$live->{sim}->stop;

# cut the connection right after the first journal group (the 3rd response after
# the resumed start position)
my $cut = run_case('journal_cut', 'close:3,once');
my @req = @{ $cut->{requests} };
is(scalar @req, 2, 'cut: the worker reconnected once');
my $resume = encode_json($req[1]{request}{vgtid} // {});
like($resume, qr/MariaDB\/0-1-2/, 'cut: it resumed with -80 before its journal (0-1-2, not 0-1-3)');
unlike($resume, qr/MariaDB\/0-1-3/, 'cut: not past the journal');
$cut->{node}->stop;
$cut->{sim}->stop;

# old shards deleted (Reshard Complete) before the stream read the journals:
# VTGate's FAILED_PRECONDITION stops the stream with a hint, no retry loop
{
	my $sim = VStreamSim->start(scenario => $scenario, faults => [ encode_json({ kind => 'status',
				at => 0, code => 9,
				message => 'error starting stream from shard GTID keyspace:"customer" shard:"80-": '
				  . 'failed to determine if keyspace customer has been resharded: shard provided in VGTID, -80, '
				  . 'not found in the customer keyspace' }) ]);
	my $node = PostgreSQL::Test::Cluster->new('journal_gone');
	$node->init;
	$node->append_conf('postgresql.conf', "shared_preload_libraries = 'vstream_fdw'\n"
		  . "vstream_fdw.database = 'postgres'\nvstream_fdw.restart_interval = 100\n");
	$node->start;
	$node->safe_psql('postgres', sprintf(q{CREATE EXTENSION vstream_fdw;
		CREATE SERVER sim FOREIGN DATA WRAPPER vstream_fdw OPTIONS (host '127.0.0.1', port '%d', keyspace 'customer');
		SELECT vstream_fdw.create_stream('sim', start => '%s');}, $sim->port, $start));
	local $PostgreSQL::Test::Utils::timeout_default = 20;
	ok($node->poll_query_until('postgres', q{SELECT state = 'error' FROM vstream_fdw.stream}),
		'shard not found: the stream stops with an error');
	my $err = $node->safe_psql('postgres', 'SELECT last_error FROM vstream_fdw.stream');
	like($err, qr/shard customer\/-80 of the stream's checkpoint no longer exists/, 'the error names the shard');
	like($err, qr/resync_stream\('sim'\)/, 'and says what to do');
	like($err, qr/received no resharding journal/, 'and what the reshard history says');
	sleep 1;
	is(scalar(my @r = $sim->requests), 1, 'no retry');
	$node->stop;
	$sim->stop;
}

done_testing();
