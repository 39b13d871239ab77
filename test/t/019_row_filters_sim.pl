# 019_row_filters_sim.pl -- comparison row filters against the test VTGate:
# the apply re-checks the filter on every row image.
#
# For a condition without in_keyrange(), Vitess sends both images of an
# update when either image meets it (vstreamer.processRowEvent); the
# scenario sends exactly what Vitess would for the filter
# "amount > 100 AND price <= 50.5":
#
#   * an update moving a row out of the filter (by either term, to NULL,
#     with a key change) deletes the mirror row by its before key;
#   * an update moving a row into the filter inserts the after image (an
#     insert, not an "update of a missing row");
#   * an update within the filter is an update;
#   * an insert outside the filter (Vitess would not send it) is skipped.
#
# Then a FIELD streaming the compared column as a string stops the stream
# (the apply cannot re-check the comparison any more).
#
# Then set_table_filter() against the sim's FIELD: a condition on a string,
# FLOAT or excluded column, or a number in exponent notation against an
# integer column, is refused with a message naming it; nothing changes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use VStreamSim;
use VStreamTest;

my $node = VStreamTest::new_node('row_filters_sim', preload => 1,
	conf => "vstream_fdw.restart_interval = 50\nvstream_fdw.max_restart_interval = 500\n");

my $ks = 'ks1';
my $uuid = '3a5c7e90-1c2d-11ef-8a3b-0242ac12000a';
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
	return { name => $name, type => $type, table => 'rf', orgTable => 'rf',
		database => "vt_$ks", orgName => $name, columnLength => 20,
		charset => $charset // 63, ($flags ? (flags => $flags) : ()),
		columnType => $ctype };
}

my @fields = (
	fld('id', 'INT64', 53251, 'bigint'),
	fld('amount', 'INT32', 32768, 'int'),
	fld('price', 'DECIMAL', 32768, 'decimal(10,2)'),
	fld('note', 'VARCHAR', 0, 'varchar(20)', 255),
	fld('f', 'FLOAT32', 32768, 'float'),
	fld('d', 'FLOAT64', 32768, 'double'),
	fld('dd', 'DATE', 128, 'date'),
	fld('dt', 'DATETIME', 128, 'datetime(6)'),
	fld('ts', 'TIMESTAMP', 128, 'timestamp'));
my $field_event = ev('FIELD', fieldEvent => { tableName => "$ks.rf", fields => \@fields,
	keyspace => $ks, shard => '0' });

# one transaction: [BEGIN, ROW, VGTID, COMMIT]
sub txn
{
	my ($comment, @changes) = @_;
	$seq++;
	$ts++;
	return { comment => $comment, events => [
		ev('BEGIN'),
		ev('ROW', rowEvent => { tableName => "$ks.rf", rowChanges => \@changes,
			keyspace => $ks, shard => '0', flags => 1 }),
		{ type => 'VGTID', keyspace => $ks, shard => '0',
		  vgtid => { shardGtids => [ { keyspace => $ks, shard => '0',
		  gtid => "MySQL56/$uuid:1-$seq" } ] } },
		ev('COMMIT') ] };
}
# rows: id, amount, price, note, f, d[, dt]; dd and ts are constant
sub r
{
	my @c = @_;
	my $dt = @c > 6 ? pop @c : '2024-01-01 10:00:00.000001';
	return { cells => [ @c, '2024-05-05', $dt, '2024-01-01 10:00:00' ] };
}
sub ins { return { after => r(@{ $_[0] }) }; }
sub upd { return { before => r(@{ $_[0] }), after => r(@{ $_[1] }) }; }
sub del { return { before => r(@{ $_[0] }) }; }

my @responses = (
	# set_table_filter() finds the table's FIELD in the log from the start
	{ comment => 'FIELD for a copy request', events => [ ev('BEGIN'), $field_event ] },
	{ mark => 'current' },
	txn('inserts in the filter, and one outside it (defensive)',
		ins([ '1', '150', '10.00', 'a', '1', '1' ]),
		ins([ '2', '200', '20.00', 'b', '1', '1' ]),
		ins([ '3', '300', '30.00', 'c', '1', '1' ]),
		ins([ '4', '101', '50.50', 'd', '1', '1' ]),
		ins([ '9', '100', '10.00', 'i', '1', '1' ]),
		ins([ '11', '111', '1.00', 'k', '1', '1' ]),
		ins([ '12', '120', '2.00', 'l', '1', '1' ])),
	txn('out: amount 150 -> 50', upd([ '1', '150', '10.00', 'a', '1', '1' ], [ '1', '50', '10.00', 'a', '1', '1' ])),
	txn('out by the other term: price 20 -> 60', upd([ '2', '200', '20.00', 'b', '1', '1' ], [ '2', '200', '60.00', 'b', '1', '1' ])),
	txn('in: amount 10 -> 500 (the row was never mirrored)',
		upd([ '5', '10', '5.00', 'e', '1', '1' ], [ '5', '500', '5.00', 'e', '1', '1' ])),
	txn('out: amount -> NULL', upd([ '3', '300', '30.00', 'c', '1', '1' ], [ '3', undef, '30.00', 'c', '1', '1' ])),
	txn('within: note changes', upd([ '4', '101', '50.50', 'd', '1', '1' ], [ '4', '102', '50.50', 'd2', '1', '1' ])),
	txn('out with a key change: 5 -> 6, amount 20',
		upd([ '5', '500', '5.00', 'e', '1', '1' ], [ '6', '20', '5.00', 'e', '1', '1' ])),
	txn('in with a key change: 7 -> 8, amount 1000',
		upd([ '7', '1', '5.00', 'g', '1', '1' ], [ '8', '1000', '5.00', 'g', '1', '1' ])),
	txn('within, twice in one transaction',
		upd([ '12', '120', '2.00', 'l', '1', '1' ], [ '12', '125', '2.00', 'l', '1', '1' ]),
		upd([ '12', '125', '2.00', 'l', '1', '1' ], [ '12', '130', '2.00', 'l', '1', '1' ])),
	txn('out and back in, in one transaction',
		upd([ '11', '111', '1.00', 'k', '1', '1' ], [ '11', '0', '1.00', 'k', '1', '1' ]),
		upd([ '11', '0', '1.00', 'k', '1', '1' ], [ '11', '112', '1.00', 'k2', '1', '1' ])),
	txn('out by a date-time: dt 10:00:00.000001 -> 09:59:59.999999',
		upd([ '8', '1000', '5.00', 'g', '1', '1' ], [ '8', '1000', '5.00', 'g', '1', '1', '2024-01-01 09:59:59.999999' ])),
	txn('in by a date-time: dt 2023-01-01 -> 2024-01-01 10:00:00 (equal: in)',
		upd([ '30', '500', '1.00', 'z', '1', '1', '2023-01-01 00:00:00' ], [ '30', '500', '1.00', 'z', '1', '1', '2024-01-01 10:00:00' ])),
	txn('delete', del([ '4', '102', '50.50', 'd2', '1', '1' ])),
	{ sleep => 3 });
# then the source streams amount as a string: the apply cannot re-check the
# comparison any more and stops the stream rather than guess
my @fields2 = @fields;
$fields2[1] = fld('amount', 'VARCHAR', 0, 'varchar(20)', 255);
my $t = txn('amount is now a varchar', ins([ '20', '150', '1.00', 't', '1', '1' ]));
splice(@{ $t->{events} }, 1, 0, ev('FIELD', fieldEvent => { tableName => "$ks.rf", fields => \@fields2,
	keyspace => $ks, shard => '0' }));
push @responses, $t;

my $scenario = {
	description => 'row filter amount > 100 AND price <= 50.5 AND dt >= 2024-01-01 10:00:00: rows moving in and out',
	current_vgtid => { shardGtids => [ { keyspace => $ks, shard => '0', gtid => "MySQL56/$uuid:1-100" } ] },
	responses => \@responses,
};
my $file = PostgreSQL::Test::Utils::tempdir() . '/row_filters.json';
open(my $fh, '>', $file) or die "$file: $!";
print $fh JSON::PP->new->canonical->pretty->encode($scenario);
close $fh;

my $sim = VStreamSim->start(scenario => $file);
sub sql { return $node->safe_psql('postgres', $_[0]); }

# The filter is stored as set_table_filter() stores it (that function also
# copies the table again, which this 'current' scenario has no copy for;
# 223_e2e_filters.pl runs it end to end).
sql(qq{
	${\ $sim->server_sql('rfs', $ks) }
	SELECT vstream_fdw.create_stream('rfs', start => 'current', tables => '{rf}');
	INSERT INTO vstream_fdw.table_filter (stream_id, source_table, row_filter, rule)
	SELECT id, 'rf', 'amount > 100 AND price <= 50.5 AND dt >= ''2024-01-01 10:00:00''',
	       'select * from `rf` where amount > 100 AND price <= 50.5 AND dt >= ''2024-01-01 10:00:00'''
	  FROM vstream_fdw.stream WHERE server_name = 'rfs';
});

my $expected = join("\n", '11|112|1.00|k2', '12|130|2.00|l', '30|500|1.00|z');
ok($node->poll_query_until('postgres',
	q{SELECT string_agg(concat_ws('|', id, amount, price, note), E'\n' ORDER BY id) FROM rfs.rf},
	$expected), 'the mirror holds exactly the rows meeting the filter')
  or diag(sql(q{SELECT string_agg(concat_ws('|', id, amount, price, note), E'\n' ORDER BY id) FROM rfs.rf}));
ok($node->poll_query_until('postgres',
	q{SELECT transactions_applied >= 13 FROM vstream_fdw.stream_status WHERE server = 'rfs'}),
	'every transaction applied');
is(sql(q{SELECT concat_ws(',', rows_inserted, rows_updated, rows_deleted, update_missing, delete_missing)
	  FROM vstream_fdw.stream_status WHERE server = 'rfs'}),
	# inserted: 6 in the filter + 3 moved in + 1 back in; updated: 1 + 2;
	# deleted: 6 moved out (1, 2, 3, 5, 11, 8) + 1 delete
	'10,3,7,0,0',
	'moves in count as inserts, moves out as deletes, nothing as missing');
ok($node->poll_query_until('postgres',
	q{SELECT state = 'error' FROM vstream_fdw.stream WHERE server_name = 'rfs'}),
	'a comparison on a column now streamed as a string stops the stream');
like(sql(q{SELECT last_error FROM vstream_fdw.stream WHERE server_name = 'rfs'}),
	qr/the row filter of table "rf" compares column "amount", which shard ks1\/0 now streams as varchar\(20\)/,
	'saying which column and type');
is(sql(q{SELECT count(*) FROM rfs.rf WHERE id = 20}), '0', 'the row was not applied unchecked');

# set_table_filter(): the type checks against the source's FIELD
sub refused
{
	my ($args, $re, $name) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		"SELECT vstream_fdw.set_table_filter('rfs', 'rf', $args)");
	isnt($rc, 0, "$name: refused");
	like($err, $re, "$name: the message");
	return $err;
}
my $err = refused(q{row_filter => 'note = 1'},
	qr/row filter "note = 1" compares column "note" of type varchar\(20\), which is not supported/, 'string column');
like($err, qr/HINT:  Compare an integer, DECIMAL or DOUBLE column/, 'string column: the hint');
refused(q{row_filter => 'f > 1'},
	qr/compares column "f" of type float, which is not supported\nDETAIL:  For a FLOAT column, MySQL compares the exact single-precision value/,
	'FLOAT column');
refused(q{row_filter => 'amount > 1e2'},
	qr/compares column "amount" of type int with 1e2, which is not supported\nDETAIL:  A number in exponent notation is a float64 for Vitess/,
	'exponent against an integer');
refused(q{row_filter => 'ts > ''2024-01-01'''},
	qr/compares column "ts" of type timestamp, which is not supported\nDETAIL:  MySQL compares a TIMESTAMP with a constant in its session's time zone/,
	'TIMESTAMP column');
refused(q{row_filter => 'dd = ''2024-01-01 10:00:00'''},
	qr/compares column "dd" of type date with '2024-01-01 10:00:00', which is not supported/, 'DATE column against a date-time');
refused(q{row_filter => 'dt BETWEEN ''2024-01-01'' AND 20250101'},
	qr/compares column "dt" of type datetime\(6\) with 20250101, which is not supported\nDETAIL:  Vitess compares a date with a number as numbers/,
	'DATETIME column against a number');
refused(q{row_filter => 'amount IN (1, ''2024-01-01'')'},
	qr/compares column "amount" of type int with '2024-01-01', which is not supported/, 'integer column against a date');
refused(q{row_filter => 'dt > ''2024-02-30'''},
	qr/'2024-02-30' is not a date 'YYYY-MM-DD' or a date-time/, 'not a date: a string');
refused(q{row_filter => 'nosuch > 1'}, qr/source table "rf" has no column "nosuch"/, 'unknown column');
$err = refused(q{exclude_columns => '{amount}', row_filter => 'amount > 100'},
	qr/row filter column "amount" is left out by the column filter of "rf"/, 'excluded column');
like($err, qr/HINT:  Keep column "amount" in include_columns \(or out of exclude_columns\)/, 'excluded column: the hint');
refused(q{include_columns => '{id,price}', row_filter => 'amount IS NULL'},
	qr/row filter column "amount" is left out by the column filter/, 'IS NULL of a column not included');
is(sql(q{SELECT row_filter FROM vstream_fdw.table_filter}), q{amount > 100 AND price <= 50.5 AND dt >= '2024-01-01 10:00:00'},
	'a refused filter changes nothing');

refused(q{exclude_columns => '{note}', row_filter => 'note IS NOT NULL'},
	qr/row filter column "note" is left out/, 'IS NOT NULL of an excluded column');

# accepted (_filter_rule only builds and checks the rule)
is(sql(q{SELECT rule FROM vstream_fdw._filter_rule('rfs', 'rf', NULL, '{f}',
		'd > 1e2 AND note IS NOT NULL AND price IN (1, 2.5) AND amount NOT BETWEEN 5 AND 10 AND dd < ''2025-01-01'' AND dt IN (''2024-01-01'', ''2024-02-29 23:59:59'') AND ts IS NULL')}),
	q{select `id`, `amount`, `price`, `note`, `d`, `dd`, `dt`, `ts` from `rf` where d > 1e2 AND note IS NOT NULL AND price IN (1, 2.5) AND amount NOT BETWEEN 5 AND 10 AND dd < '2025-01-01' AND dt IN ('2024-01-01', '2024-02-29 23:59:59') AND ts IS NULL},
	'DOUBLE against exponent notation, IS NOT NULL of a string, IN, NOT BETWEEN, dates: accepted');

sql(q{SELECT vstream_fdw.drop_stream('rfs', drop_tables => true)});
$sim->stop;

# The same changes with soft_delete: a row moved out of the filter is
# removed (it still exists at the source), a row deleted at the source is
# marked.
my $sim2 = VStreamSim->start(scenario => $file, name => 'soft');
sql(qq{
	${\ $sim2->server_sql('rfs', $ks) }
	SELECT vstream_fdw.create_stream('rfs', start => 'current', tables => '{rf}', soft_delete => true);
	INSERT INTO vstream_fdw.table_filter (stream_id, source_table, row_filter, rule)
	SELECT id, 'rf', 'amount > 100 AND price <= 50.5 AND dt >= ''2024-01-01 10:00:00''',
	       'select * from `rf` where amount > 100 AND price <= 50.5 AND dt >= ''2024-01-01 10:00:00'''
	  FROM vstream_fdw.stream WHERE server_name = 'rfs';
});
ok($node->poll_query_until('postgres',
	q{SELECT state = 'error' FROM vstream_fdw.stream WHERE server_name = 'rfs'}),
	'soft_delete: the scenario ran to its end');
is(sql(q{SELECT string_agg(concat_ws('|', id, amount, _vstream_deleted), E'\n' ORDER BY id) FROM rfs.rf}),
	join("\n", '4|102|t', '11|112|f', '12|130|f', '30|500|f'),
	'soft_delete: rows moved out are removed, the row deleted at the source is marked');
sql(q{SELECT vstream_fdw.drop_stream('rfs', drop_tables => true)});
$sim2->stop;
$node->stop;
done_testing();
