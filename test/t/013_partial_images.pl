# 013_partial_images.pl -- partial row images (binlog_row_image=minimal or
# noblob): RowChange.data_columns lists the columns an after image carries;
# an UPDATE changes only those and keeps the others, and a before image with
# only the primary key still finds the row.  JSON partial values stop the
# stream with a clear error instead of storing a wrong value.
#
# The scenario is written by this test (test-local, keyspace "ks1", shard
# "0"): a "current" start, then one transaction per case.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use MIME::Base64 qw(encode_base64);
use VStreamSim;
use VStreamTest;

my $node = VStreamTest::new_node('partial_images', preload => 1,
	conf => "vstream_fdw.restart_interval = 50\nvstream_fdw.max_restart_interval = 500\n");

my $ks = 'ks1';
my $uuid = '3a5c7e90-1c2d-11ef-8a3b-0242ac120009';
my $seq = 100;
my $ts = 1716372060;

sub ev
{
	my ($type, %kw) = @_;
	return { type => $type, keyspace => $ks, shard => '0',
		timestamp => "$ts", currentTime => ($ts * 1000000000) . '', %kw };
}

sub fld
{
	my ($name, $type, $flags, $ctype, $charset) = @_;
	return { name => $name, type => $type, table => 't5', orgTable => 't5',
		database => "vt_$ks", orgName => $name, columnLength => 20,
		charset => $charset // 63, ($flags ? (flags => $flags) : ()),
		columnType => $ctype };
}

my @fields = (
	fld('id', 'INT64', 53251, 'bigint'),
	fld('a', 'VARCHAR', 0, 'varchar(64)', 255),
	fld('b', 'INT64', 32768, 'bigint'),
	fld('c', 'VARCHAR', 0, 'varchar(64)', 255),
	fld('d', 'INT64', 32768, 'bigint'));

# bitmap of the listed column numbers: column i -> byte i/8, bit i%8
sub bitmap
{
	my ($count, @cols) = @_;
	my @bytes = (0) x int(($count + 7) / 8);
	$bytes[ int($_ / 8) ] |= 1 << ($_ % 8) for @cols;
	return { count => "$count", cols => encode_base64(pack('C*', @bytes), '') };
}

# one transaction: [BEGIN, (FIELD), ROW, VGTID, COMMIT]
sub txn
{
	my ($comment, $changes, $with_field) = @_;
	$seq++;
	$ts++;
	my @events = (ev('BEGIN'));
	push @events, ev('FIELD', fieldEvent => { tableName => "$ks.t5", fields => \@fields,
		keyspace => $ks, shard => '0' }) if $with_field;
	push @events, ev('ROW', rowEvent => { tableName => "$ks.t5", rowChanges => $changes,
		keyspace => $ks, shard => '0', flags => 1 });
	push @events, { type => 'VGTID', keyspace => $ks, shard => '0',
		vgtid => { shardGtids => [ { keyspace => $ks, shard => '0',
		gtid => "MySQL56/$uuid:1-$seq" } ] } };
	push @events, ev('COMMIT');
	return { comment => $comment, events => \@events };
}

my @responses;
push @responses, txn('three full rows', [
	{ after => { cells => [ '1', 'a1', '10', 'c1', '100' ] } },
	{ after => { cells => [ '2', 'a2', '20', 'c2', '200' ] } },
	{ after => { cells => [ '3', 'a3', '30', 'c3', '300' ] } },
	{ after => { cells => [ '4', 'a4', '40', 'c4', '400' ] } } ], 1);
# noblob-like: full before image, after image with 2 of 5 columns (a, c),
# the absent ones sent as NULL placeholders (as VTGate does)
push @responses, txn('partial after, positional', [
	{ before => { cells => [ '1', 'a1', '10', 'c1', '100' ] },
	  after => { cells => [ undef, 'a1-new', undef, 'c1-new', undef ] },
	  dataColumns => bitmap(5, 1, 3) } ]);
# minimal: before image with only the primary key (others NULL), after image
# with only the changed columns b and d, compact (present values only)
push @responses, txn('minimal before, compact partial after', [
	{ before => { cells => [ '2', undef, undef, undef, undef ] },
	  after => { cells => [ '21', '201' ] },
	  dataColumns => bitmap(5, 2, 4) } ]);
# minimal, before image carrying only the key value; a present column set to
# NULL is not the same as an absent one
push @responses, txn('key-only before, present NULL', [
	{ before => { cells => [ '3' ] },
	  after => { cells => [ undef, undef, undef, undef, undef ] },
	  dataColumns => bitmap(5, 2) } ]);
# minimal delete: before image with the key only
push @responses, txn('minimal delete', [
	{ before => { cells => [ '4', undef, undef, undef, undef ] } } ]);
# a full-image update with an all-ones bitmap is a plain update
push @responses, txn('full bitmap', [
	{ before => { cells => [ '1', 'a1-new', '10', 'c1-new', '100' ] },
	  after => { cells => [ '1', 'a1-new', '11', 'c1-new', '100' ] },
	  dataColumns => bitmap(5, 0 .. 4) } ]);
my $last_good_gtid = "MySQL56/$uuid:1-$seq";
# PARTIAL_JSON: must stop the stream, not store the expression
push @responses, txn('partial JSON value', [
	{ before => { cells => [ '1', undef, undef, undef, undef ] },
	  after => { cells => [ undef, q{JSON_REPLACE(%s, '$.x', 1)}, undef, undef, undef ] },
	  dataColumns => bitmap(5, 1), jsonPartialValues => bitmap(5, 1) } ]);

my $scenario = {
	description => 'partial row images (minimal / noblob) and a partial JSON value',
	current_vgtid => { shardGtids => [ { keyspace => $ks, shard => '0', gtid => "MySQL56/$uuid:1-100" } ] },
	responses => [ { mark => 'current' }, @responses ],
};
my $file = PostgreSQL::Test::Utils::tempdir() . '/partial_images.json';
open(my $fh, '>', $file) or die "$file: $!";
print $fh JSON::PP->new->canonical->pretty->encode($scenario);
close $fh;

my $sim = VStreamSim->start(scenario => $file);
$node->safe_psql('postgres', qq{
	${\ $sim->server_sql('pimg', $ks) }
	SELECT vstream_fdw.create_stream('pimg', start => 'current');
});

ok($node->poll_query_until('postgres',
	q{SELECT state = 'error' FROM vstream_fdw.stream WHERE server_name = 'pimg'}),
	'partial JSON value stops the stream');

is($node->safe_psql('postgres', q{SELECT id, a, b, c, d FROM pimg.t5 ORDER BY id}),
	join("\n",
		'1|a1-new|11|c1-new|100',
		'2|a2|21|c2|201',
		'3|a3||c3|300'),
	'partial updates change only the listed columns; minimal before images find the row');

is($node->safe_psql('postgres', q{
	SELECT e->>'gtid' FROM vstream_fdw.stream s
	  JOIN vstream_fdw.checkpoint c ON c.stream_id = s.id,
	  jsonb_array_elements(vstream_fdw.vgtid_to_jsonb(vstream_fdw.checkpoint_vgtid(c.stream_id))) e
	 WHERE s.server_name = 'pimg'}),
	$last_good_gtid, 'checkpoint at the last transaction before the partial JSON value');

my $err = $node->safe_psql('postgres',
	q{SELECT last_error FROM vstream_fdw.stream WHERE server_name = 'pimg'});
like($err, qr/partial JSON update of table "t5" from shard ks1\/0 is not supported/,
	'error names the table and shard');
my $log = slurp_file($node->logfile);
like($log, qr/HINT:\s+Set binlog_row_value_options=''/, 'error hints at binlog_row_value_options');
unlike($node->safe_psql('postgres', q{SELECT string_agg(a, ',') FROM pimg.t5}),
	qr/JSON_REPLACE/, 'the JSON expression was not stored');

$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('pimg', drop_tables => true)});
$sim->stop;
$node->stop;
done_testing();
