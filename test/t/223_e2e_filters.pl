# 223_e2e_filters.pl -- end to end against the real local Vitess: column and
# row filters in VStream's own rules (set_table_filter).
#
#   * an excluded column never leaves Vitess (peek() with the stream's
#     filters shows no value for it) and is not in the mirror;
#   * an in_keyrange() row filter mirrors one key range of a sharded table,
#     through inserts, updates and deletes;
#   * comparison row filters (rowf_c: amount > 100 AND price <= 500.50 AND
#     d IS NOT NULL AND dt >= '2024-03-01', then one with every accepted form;
#     rowf_k: in_keyrange() AND v >= 50): after a write load
#     that moves rows in and out of them (updates of either term, to NULL,
#     key changes, multi-row updates, inserts, deletes) the mirror equals
#     the source under the same WHERE, read through VTGate (for the key
#     range: on the shard's own MariaDB);
#   * a string comparison is refused (Vitess compares with the column's
#     collation, which the apply cannot re-check exactly);
#   * changing a filter of a running stream copies that table again;
#   * filters Vitess does not support, a primary-key column left out, an
#     unknown column: clear errors, nothing changed.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VitessCluster;

my $vt = VitessCluster->require_cluster;
my $wait = \&VitessCluster::wait_until;

sub cleanup
{
	$vt->mysql('commerce', "drop table if exists sc_f; drop table if exists rowf_c;");
	$vt->mysql('customer', "drop table if exists sc_k; drop table if exists rowf_k;");
	$vt->mysql_run('customer', "alter vschema on customer.sc_k drop vindex hash;\n");
	$vt->mysql_run('customer', "alter vschema on customer.rowf_k drop vindex hash;\n");
}
cleanup();
$vt->mysql('commerce', q{
create table sc_f (id int primary key, name varchar(20), ssn varchar(11), amount int, region varchar(10));
insert into sc_f values (1, 'ann', '111-11-1111', 50, 'eu'), (2, 'bob', '222-22-2222', 150, 'us'),
  (3, 'cid', '333-33-3333', 250, 'eu'), (4, 'dee', '444-44-4444', 100, 'us'), (5, 'eve', '555-55-5555', 101, 'eu');
});
$vt->mysql('customer', q{
create table sc_k (id bigint primary key, v int);
alter vschema on customer.sc_k add vindex hash(id) using hash;
});
$vt->mysql_retry('customer', 'insert into sc_k values ' . join(',', map { "($_, $_)" } 1 .. 40));

my $node = $vt->pg_node('e2e_filters');
$vt->create_server($node, 'commerce');
$vt->create_server($node, 'customer');
sub sql { my ($s) = @_; return $node->safe_psql('postgres', $s); }

# filters set in the transaction that creates the stream
my $rule = sql(q{
	SELECT vstream_fdw.create_stream('commerce', ARRAY['sc_f']);
	SELECT vstream_fdw.set_table_filter('commerce', 'sc_f', exclude_columns => '{ssn}');
});
like($rule, qr/^select `id`, `name`, `amount`, `region` from `sc_f`$/m,
	'the rule leaves the column out');
sql(q{SELECT vstream_fdw.create_stream('customer', ARRAY['sc_k']);
	SELECT vstream_fdw.set_table_filter('customer', 'sc_k', row_filter => 'in_keyrange(id, ''hash'', ''-80'')')});
ok($vt->wait_replicating($node, 'commerce', shards => 1, timeout => 120)
	  && $vt->wait_replicating($node, 'customer', shards => 2, timeout => 120), 'both streams replicating');

sub source_filtered
{
	my $rows = $vt->mysql_rows('commerce', 'select id, name, amount, region from sc_f order by id');
	return join("\n", map { join('|', map { $_ // '' } @$_) } @$rows);
}
sub mirror_f
{
	return sql(q{SELECT string_agg(concat_ws('|', id, name, amount, region), E'\n' ORDER BY id) FROM commerce.sc_f});
}
ok($wait->(sub { mirror_f() eq source_filtered() }, 60, 0.3), 'copy: the mirror holds the source rows without the excluded column')
  or diag(mirror_f() . "\nvs\n" . source_filtered());
is(sql(q{SELECT count(*) FROM pg_attribute WHERE attrelid = 'commerce.sc_f'::regclass AND attname = 'ssn'}), '0',
	'the excluded column is not in the mirror');

# updates moving rows in and out of the filter, deletes, inserts
$vt->mysql('commerce', q{
update sc_f set amount = 150 where id = 1;
update sc_f set amount = 50 where id = 2;
update sc_f set name = 'cyd', ssn = '999-99-9999' where id = 3;
delete from sc_f where id = 5;
insert into sc_f values (6, 'fay', '666-66-6666', 600, 'us'), (7, 'gus', '777-77-7777', 7, 'eu');
});
ok($wait->(sub { mirror_f() eq source_filtered() }, 60, 0.3),
	'replication: updates (also of the excluded column), deletes and inserts followed')
  or diag(mirror_f() . "\nvs\n" . source_filtered());

# peek with the stream's filters: the excluded column's values never arrive
my $peeked = sql(q{SELECT string_agg(coalesce(row_after::text, ''), E'\n') FROM vstream_fdw.peek('commerce', start => 'copy', max_events => 50, timeout => '20 seconds', stream_filters => true) WHERE event_type = 'ROW'});
like($peeked, qr/"name"/, 'peek(stream_filters): rows of sc_f arrive');
unlike($peeked, qr/ssn|\d{3}-\d{2}-\d{4}/, 'peek(stream_filters): no value of the excluded column');

# in_keyrange: the mirror holds the rows of shard -80 only
$vt->mysql_retry('customer', 'insert into sc_k values ' . join(',', map { "($_, $_)" } 41 .. 60)
	  . '; update sc_k set v = v + 100 where id <= 10; delete from sc_k where id in (11, 12, 13, 14)');
# the rows of shard -80, read on its own MariaDB
my @ids80 = sort { $a <=> $b } split /\n/,
  $vt->mysql_direct($vt->tablet_uid('customer', '-80'), 'select id from vt_customer.sc_k');
ok(@ids80 > 0 && @ids80 < 56, 'shard -80 holds some of the rows (' . scalar(@ids80) . ')');
ok($wait->(sub { sql('SELECT string_agg(id::text, \',\' ORDER BY id) FROM customer.sc_k') eq join(',', @ids80) }, 60, 0.3),
	'in_keyrange: the mirror holds exactly the rows of key range -80');
my $v80 = join(',', map { $_ <= 10 ? $_ + 100 : $_ } @ids80);
is(sql('SELECT string_agg(v::text, \',\' ORDER BY id) FROM customer.sc_k'), $v80,
	'in_keyrange: updates of the range applied');
cmp_ok(sql('SELECT count(*) FROM customer.sc_k'), '<', 56, 'in_keyrange: not every row');

# comparison row filters: rows moving in and out under a write load
srand(2231);
my $rowf_where = q{amount > 100 AND price <= 500.50 AND d IS NOT NULL AND dt >= '2024-03-01'};
sub rand_dt { return sprintf("'2024-%02d-%02d %02d:%02d:%02d'", 1 + int(rand(12)), 1 + int(rand(28)), int(rand(24)), int(rand(60)), int(rand(60))); }
sub rand_dd { return sprintf("'%d-%02d-%02d'", 2023 + int(rand(3)), 1 + int(rand(12)), 1 + int(rand(28))); }
$vt->mysql('commerce', 'create table rowf_c (id int primary key, amount int, price decimal(10,2), d double, note varchar(20), dt datetime, dd date);'
	  . 'insert into rowf_c values '
	  . join(',', map { sprintf("(%d, %d, %.2f, %s, 'n%d', %s, %s)", $_, int(rand(250)), rand(1000),
			  $_ % 9 == 0 ? 'NULL' : int(rand(100)) . '.5', $_, rand_dt(), rand_dd()) } 1 .. 60) . ';');
$vt->mysql('customer', q{
create table rowf_k (id bigint primary key, v int);
alter vschema on customer.rowf_k add vindex hash(id) using hash;
});
$vt->mysql_retry('customer', 'insert into rowf_k (id, v) values ' . join(',', map { "($_, " . int(rand(100)) . ')' } 1 .. 60));
sql(q{SELECT vstream_fdw.add_table('commerce', 'rowf_c')});
(my $rowf_where_sql = $rowf_where) =~ s/'/''/g;
is(sql(qq{SELECT vstream_fdw.set_table_filter('commerce', 'rowf_c', row_filter => '$rowf_where_sql')}),
	"select `id`, `amount`, `price`, `d`, `note`, `dt`, `dd` from `rowf_c` where $rowf_where",
	'a comparison filter is accepted; the rule carries it');
sql(q{SELECT vstream_fdw.add_table('customer', 'rowf_k')});
sql(q{SELECT vstream_fdw.set_table_filter('customer', 'rowf_k', row_filter => 'in_keyrange(id, ''hash'', ''-80'') AND v >= 50')});

sub rowf_source
{
	my $rows = $vt->mysql_rows('commerce', "select id, amount, price, d, note, dt, dd from rowf_c where $rowf_where order by id");
	return join("\n", map { join('|', map { $_ // '' } @$_) } @$rows);
}
sub rowf_mirror
{
	return sql(q{SELECT coalesce(string_agg(concat_ws('|', id, amount, price, d, coalesce(note, ''), coalesce(dt::text, ''), coalesce(dd::text, '')), E'\n' ORDER BY id), '') FROM commerce.rowf_c});
}
my $uid80 = $vt->tablet_uid('customer', '-80');
sub rowk_source
{
	return join(',', map { join(':', split /\t/) } split /\n/,
		$vt->mysql_direct($uid80, 'select id, v from vt_customer.rowf_k where v >= 50 order by id'));
}
sub rowk_mirror
{
	return sql(q{SELECT coalesce(string_agg(id || ':' || v, ',' ORDER BY id), '') FROM customer.rowf_k});
}
ok($wait->(sub { rowf_mirror() eq rowf_source() }, 90, 0.5), 'copy: the mirror holds the rows meeting the comparison filter')
  or diag(rowf_mirror() . "\nvs\n" . rowf_source());
ok($wait->(sub { rowk_mirror() eq rowk_source() }, 90, 0.5), 'copy: key range and comparison')
  or diag(rowk_mirror() . "\nvs\n" . rowk_source());
my %in_before = map { $_->[0] => 1 } @{ $vt->mysql_rows('commerce', "select id from rowf_c where $rowf_where") };

# the write load: one statement per transaction, as an application does
my $next_id = 61;
my $load_round = 0;
sub rowf_load
{
	my @load;
	$load_round++;
	for my $i (1 .. 160)
	{
		my $r = int(rand(20));
		my $id = 1 + int(rand($next_id - 1));
		if ($r < 5) { push @load, sprintf('update rowf_c set amount = %d where id = %d;', int(rand(250)), $id); }
		elsif ($r < 7) { push @load, sprintf(q{update rowf_c set amount = %d, price = %.2f, d = 2.5, dt = '2024-06-01 12:00:00', dd = '2024-06-01' where id = %d;}, 101 + int(rand(100)), rand(500), $id); }
		elsif ($r < 9) { push @load, sprintf('update rowf_c set price = %.2f where id = %d;', rand(1000), $id); }
		elsif ($r < 10) { push @load, sprintf('update rowf_c set amount = NULL where id = %d;', $id); }
		elsif ($r < 11) { push @load, sprintf('update rowf_c set d = %s where id = %d;', rand() < 0.5 ? 'NULL' : '7.5', $id); }
		elsif ($r < 12) { push @load, sprintf('update rowf_c set dt = %s, dd = %s where id = %d;', rand_dt(), rand_dd(), $id); }
		elsif ($r < 13) { push @load, sprintf("insert into rowf_c values (%d, %d, %.2f, 1.5, 'i%d', %s, %s);", $next_id++, int(rand(250)), rand(1000), $i, rand_dt(), rand_dd()); }
		elsif ($r < 14) { push @load, "delete from rowf_c where id = $id;"; }
		elsif ($r < 16) { push @load, sprintf('update rowf_c set id = %d, amount = %d where id = %d;', $next_id++, int(rand(250)), $id); }
		elsif ($r < 17) { push @load, sprintf('update rowf_c set amount = amount + %d where id between %d and %d;', int(rand(120)) - 60, $id, $id + 8); }
		else { push @load, sprintf('update rowf_c set note = %s where id = %d;', $i % 4 ? "'u$load_round.$i'" : 'NULL', $id); }
	}
	$vt->mysql('commerce', join("\n", @load));
}
rowf_load();
my @kload;
for my $i (1 .. 80)
{
	my $id = 1 + int(rand(70));
	push @kload, $i % 10 == 0 ? "delete from rowf_k where id = $id;"
	  : $i % 7 == 0 ? sprintf('insert ignore into rowf_k (id, v) values (%d, %d);', 60 + $i, int(rand(100)))
	  : sprintf('update rowf_k set v = %d where id = %d;', int(rand(100)), $id);
}
$vt->mysql('customer', join("\n", @kload));

my %in_after = map { $_->[0] => 1 } @{ $vt->mysql_rows('commerce', "select id from rowf_c where $rowf_where") };
my $moved_out = grep { !$in_after{$_} } keys %in_before;
my $moved_in = grep { !$in_before{$_} } keys %in_after;
ok($moved_out >= 5 && $moved_in >= 5, "the load moved rows out of ($moved_out) and into ($moved_in) the filter");
ok($wait->(sub { rowf_mirror() eq rowf_source() }, 90, 0.5),
	'after the load: the mirror equals the source under the same WHERE')
  or diag(rowf_mirror() . "\nvs\n" . rowf_source());
ok($wait->(sub { rowk_mirror() eq rowk_source() }, 90, 0.5),
	'after the load: in_keyrange AND v >= 50 equals shard -80 under the same WHERE')
  or diag(rowk_mirror() . "\nvs\n" . rowk_source());

# every accepted form end to end: the filter changed on the running stream
# (the table is copied again under it), then the load again
$rowf_where = 'amount NOT BETWEEN 50 AND 150 AND amount <> 1 AND d != 7.5 AND d < 6e1 '
  . q{AND price BETWEEN .5 AND 900 AND note IS NOT NULL AND dd BETWEEN '2024-01-01' AND '2024-12-31' AND dt != '2024-06-01 12:00:00' }
  . 'AND id IN (' . join(', ', grep { $_ % 3 } 1 .. 400) . ')';
($rowf_where_sql = $rowf_where) =~ s/'/''/g;
sql(qq{SELECT vstream_fdw.set_table_filter('commerce', 'rowf_c', row_filter => '$rowf_where_sql')});
ok($wait->(sub { rowf_mirror() eq rowf_source() }, 90, 0.5),
	'NOT BETWEEN, <>, !=, exponent against DOUBLE, BETWEEN, IS NOT NULL, dates, IN: the copy under the new filter')
  or diag(rowf_mirror() . "\nvs\n" . rowf_source());
rowf_load();
ok($wait->(sub { rowf_mirror() eq rowf_source() }, 90, 0.5),
	'NOT BETWEEN, <>, !=, exponent against DOUBLE, BETWEEN, IS NOT NULL, dates, IN: after a second load')
  or diag(rowf_mirror() . "\nvs\n" . rowf_source());
cmp_ok(sql(q{SELECT count(*) FROM commerce.rowf_c}), '>=', 5, 'the second filter lets some rows through');
is(sql(q{SELECT sum(update_missing) FROM vstream_fdw.stream_status WHERE server = 'commerce'}), '0',
	'rows moving in are inserts, not updates of missing rows');

# a filter changed on the running stream: the table is copied again
sql(q{SELECT vstream_fdw.set_table_filter('commerce', 'sc_f', include_columns => '{id,amount}')});
ok($wait->(sub {
		my $src = join("\n", map { join('|', @$_) } @{ $vt->mysql_rows('commerce', "select id, amount from sc_f order by id") });
		sql(q{SELECT string_agg(concat_ws('|', id, amount), E'\n' ORDER BY id) FROM commerce.sc_f}) eq $src
	}, 90, 0.3), 'a new filter: the table is copied again under it');
is(sql(q{SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'commerce.sc_f'::regclass AND attnum > 0 AND NOT attisdropped}),
	'id,amount', 'the mirror now has only the included columns');

# what is refused
my ($rc, $out, $err) = $node->psql('postgres',
	q{SELECT vstream_fdw.set_table_filter('commerce', 'sc_f', exclude_columns => '{id}')});
like($err, qr/column "id" is part of the primary key of "sc_f" and cannot be left out/, 'a key column cannot be excluded');
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT vstream_fdw.set_table_filter('commerce', 'sc_f', include_columns => '{id,nosuch}')});
like($err, qr/source table "sc_f" has no column "nosuch"/, 'an unknown column is refused');
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT vstream_fdw.set_table_filter('commerce', 'sc_f', row_filter => 'amount > 100 AND region = ''eu''')});
like($err, qr/row filter "amount > 100 AND region = 'eu'" is not supported: column "region" is compared with the string 'eu'/,
	'a string comparison is refused');
like($err, qr/DETAIL:  Vitess compares strings with the column's collation/, 'saying why');
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT vstream_fdw.set_table_filter('commerce', 'sc_f', row_filter => 'amount > 100 OR id = 1')});
like($err, qr/row filter "amount > 100 OR id = 1" is not supported: OR/, 'OR is refused');
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT vstream_fdw.set_table_filter('commerce', 'sc_f', row_filter => 'name > 1')});
like($err, qr/row filter "name > 1" compares column "name" of type varchar\(20\), which is not supported/, 'a comparison of a varchar column is refused');
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT vstream_fdw.set_table_filter('customer', 'sc_k', row_filter => 'in_keyrange(id, ''nosuch_vindex'', ''-80'')')});
like($err, qr/Vitess does not accept the filter/, 'a filter Vitess refuses is refused with its message');
is(sql(q{SELECT array_to_string(columns, ',') FROM vstream_fdw.table_filter WHERE source_table = 'sc_f'}), 'id,amount',
	'a refused filter changes nothing');
is(sql(q{SELECT string_agg(DISTINCT phase, ',') FROM vstream_fdw.stream_status}), 'replicating',
	'the streams still replicate');

cleanup();
$node->stop;
done_testing();
