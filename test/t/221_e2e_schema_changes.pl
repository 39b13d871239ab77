# 221_e2e_schema_changes.pl -- end to end against the real local Vitess:
# every kind of source DDL while a stream of all tables runs and a writer
# keeps changing rows.  After each change the mirror must equal the source
# cell by cell (through VTGate's MySQL port), its column names must be the
# source's (through the stream's name catalog for names over 63 bytes), and
# the stream must still be replicating with the same worker.
#
# The first six scenarios are the ones measured on vstream_fdw 0.1.0, where
# each one left the mirror wrong or stopped the stream.
#
# Tables are this test's own (sc_*), in commerce (unsharded) and customer
# (sharded -80/80-), dropped at the start and the end.
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

# 64 bytes (62 characters): MySQL accepts it, PostgreSQL keeps 63 bytes
my $t64 = 'sc_' . ('t' x 58) . 'üz';
my @commerce_tables = (qw(sc_load sc_t1 sc_t2 sc_t3 sc_t3b sc_t4 sc_t5 sc_t6 sc_like
  sc_sw_a sc_sw_b sc_od sc_new), $t64);
my @customer_tables = qw(sc_s);

sub cleanup
{
	$vt->mysql('commerce', join('', map { "drop table if exists `$_`;\n" } @commerce_tables));
	$vt->mysql('customer', join('', map { "drop table if exists `$_`;\n" } @customer_tables));
	# the vschema entry outlives the table (an error if there is none)
	$vt->mysql_run('customer', "alter vschema on customer.sc_s drop vindex hash;\n");
}
cleanup();

$vt->mysql('commerce', q{
create table sc_load (id int primary key, n int not null);
create table sc_t1 (id int primary key, v int, c varchar(20));
insert into sc_t1 values (1, 10, 'a'), (2, 20, 'b'), (3, 30, 'c');
create table sc_t3 (id int primary key, v int);
insert into sc_t3 values (1, 1), (2, 2);
create table sc_t4 (id int primary key, a int, b varchar(10), big bigint, s varchar(10), k int not null default 0);
insert into sc_t4 values (1, 1, 'x', 5, '12', 1), (2, 2, 'y', 6, '34', 2);
create table sc_sw_a (id int primary key, a varchar(10));
create table sc_sw_b (id int primary key, b varchar(10));
insert into sc_sw_a values (1, 'from a');
insert into sc_sw_b values (1, 'from b'), (2, 'from b 2');
create table sc_od (id int primary key, v varchar(20));
insert into sc_od values (1, 'one'), (2, 'two'), (3, 'three');
});
$vt->mysql('customer', q{
create table sc_s (id bigint primary key, v int, w varchar(20));
alter vschema on customer.sc_s add vindex hash(id) using hash;
});
$vt->mysql_retry('customer', "insert into sc_s (id, v, w) values "
	  . join(', ', map { "($_, $_, 'w$_')" } 1 .. 20));

my $node = $vt->sample_node('e2e_schema');
sub sql { my ($s) = @_; return $node->safe_psql('postgres', $s); }

sql("SELECT vstream_fdw.create_stream('commerce')");
sql("SELECT vstream_fdw.create_stream('customer')");
ok($vt->wait_replicating($node, 'commerce', shards => 1, timeout => 240)
	  && $vt->wait_replicating($node, 'customer', shards => 2, timeout => 240),
	'both streams replicating');

my $pid_m = $vt->worker_pid($node, 'commerce');
my $pid_c = $vt->worker_pid($node, 'customer');

# a writer that runs through every scenario of the commerce keyspace
my $load = '';
for my $i (1 .. 1500)
{
	$load .= "insert into sc_load values ($i, $i);\n";
	$load .= "update sc_load set n = n + 1 where id = " . int($i / 2 + 1) . ";\n";
	$load .= "delete from sc_load where id = " . ($i - 3) . ";\n" if $i % 7 == 0 && $i > 3;
	$load .= "do sleep(0.02);\n" if $i % 5 == 0;
}
my $writer = $vt->start_writer('commerce', $load, timeout => 600);

sub mirror_cols
{
	my ($schema, $table) = @_;
	return sql(qq{SELECT string_agg(attname, ',' ORDER BY attname) FROM pg_attribute
		WHERE attrelid = '"$schema"."$table"'::regclass AND attnum > 0 AND NOT attisdropped});
}

# mirror equal to source, column for column, names through the catalog
sub same
{
	my ($ks, $table, $label, %o) = @_;
	my $ok = $vt->wait_converged($node, [ [ $ks => $table, catalog_names => 1 ] ],
		timeout => $o{timeout} // 90);
	ok($ok, "$label: mirror of $ks.$table equals the source");
	my ($cols) = $vt->source_columns($ks, $table);
	my ($mt, $map) = $vt->mirror_names($node, $table);
	my $want = join(',', sort map { $map->{lc $_} // $_ } @$cols);
	is(defined $mt ? mirror_cols($ks, $mt) : '', $want,
		"$label: mirror columns are the source's") if $ok;
	return $ok;
}

sub history_has
{
	my ($re) = @_;
	my $h = sql(q{SELECT string_agg(statement || ' => ' || action, E'\n' ORDER BY id) FROM vstream_fdw.schema_history});
	return $h =~ $re;
}

# ------------------------------------------------ the six measured cases
# 1. TRUNCATE, then one insert: the mirror holds that row only
$vt->mysql('commerce', 'truncate table sc_t1');
$vt->mysql_retry('commerce', "insert into sc_t1 values (7, 70, 'after truncate')");
same('commerce', 'sc_t1', 'TRUNCATE');
is(sql('SELECT count(*) FROM commerce.sc_t1'), '1', 'TRUNCATE: mirror has only the new row');

# 2. RENAME COLUMN: one column w, old values kept in it
$vt->mysql_retry('commerce', "insert into sc_t1 values (8, 80, 'x')");
$vt->mysql('commerce', 'alter table sc_t1 rename column v to w');
$vt->mysql_retry('commerce', "insert into sc_t1 (id, w, c) values (9, 90, 'renamed')");
same('commerce', 'sc_t1', 'RENAME COLUMN');
is(sql('SELECT string_agg(w::text, \',\' ORDER BY id) FROM commerce.sc_t1'), '70,80,90',
	'RENAME COLUMN: old and new values under the new name');

# 3. MODIFY to BIGINT, then 2^40: the stream keeps going
$vt->mysql('commerce', 'alter table sc_t1 modify w bigint');
$vt->mysql_retry('commerce', "insert into sc_t1 (id, w, c) values (10, 1099511627776, 'big')");
same('commerce', 'sc_t1', 'MODIFY BIGINT');
is(sql('SELECT w FROM commerce.sc_t1 WHERE id = 10'), '1099511627776', 'MODIFY BIGINT: 2^40 arrived');

# 4. CREATE TABLE with a 64-character column name
my $c64 = 'c' . ('x' x 62) . 'z';
is(length($c64), 64, '64-character column name');
$vt->mysql('commerce', "create table sc_t2 (id int primary key, `$c64` int, `Mixed Case ``q`` \"d\" .x ü` varchar(10))");
$vt->mysql_retry('commerce', "insert into sc_t2 values (1, 7, 'odd')");
same('commerce', 'sc_t2', 'CREATE TABLE with a 64-character column');
is(sql(q{SELECT count(*) FROM vstream_fdw.mirror_column WHERE length(source_column) = 64 AND octet_length(column_name::text) <= 63}),
	'1', '64-character name mapped to a 63-byte mirror name in the catalog');

# a table name over 63 bytes
is(length($t64), 64, '64-byte table name');
$vt->mysql('commerce', "create table `$t64` (id int primary key, v int); insert into `$t64` values (1, 1)");
same('commerce', $t64, 'CREATE TABLE with a 64-byte name');
like(sql(qq{SELECT table_name FROM vstream_fdw.mirror WHERE source_table = '$t64'}), qr/^sc_t{50,}_[0-9a-f]{8}$/,
	'64-byte table name: a 63-byte mirror name with a hash suffix');

# 5. RENAME TABLE: the renamed mirror keeps every row
$vt->mysql('commerce', 'rename table sc_t3 to sc_t3b');
$vt->mysql_retry('commerce', 'insert into sc_t3b values (3, 3)');
same('commerce', 'sc_t3b', 'RENAME TABLE');
is(sql(q{SELECT to_regclass('commerce.sc_t3') IS NULL}), 't', 'RENAME TABLE: no mirror under the old name');

# 6. DROP TABLE: detached, kept, recorded
$vt->mysql('commerce', 'drop table sc_t1');
ok($wait->(sub { sql(q{SELECT count(*) FROM vstream_fdw.mirror WHERE source_table = 'sc_t1' AND state = 'detached'}) eq '1' }, 60, 0.3),
	'DROP TABLE: mirror marked detached');
my $detached = sql(q{SELECT table_name FROM vstream_fdw.mirror WHERE source_table = 'sc_t1' AND state = 'detached'});
like($detached, qr/^sc_t1_detached_\d+$/, "DROP TABLE: mirror kept as $detached");
is(sql(qq{SELECT count(*) FROM commerce."$detached"}), '4', 'DROP TABLE: detached mirror keeps its rows');
ok(history_has(qr/drop table `?sc_t1`?[^\n]* => sc_t1: detached/i), 'DROP TABLE: recorded in schema_history');

# ------------------------------------------------------- column changes
# ADD COLUMN at a position, with a constant default; NOT NULL without one
$vt->mysql('commerce', "alter table sc_t4 add column d1 varchar(10) not null default 'dflt' after id, add column d2 int not null first");
same('commerce', 'sc_t4', 'ADD COLUMN constant / implicit default, FIRST/AFTER');
is(sql('SELECT d1 || d2 FROM commerce.sc_t4 WHERE id = 1'), 'dflt0', 'ADD COLUMN: existing rows got the defaults');

# ADD COLUMN with an expression default: the table is copied again
$vt->mysql('commerce', "alter table sc_t4 add column d3 datetime default current_timestamp");
same('commerce', 'sc_t4', 'ADD COLUMN expression default (copied again)');

# DROP COLUMN
$vt->mysql('commerce', 'alter table sc_t4 drop column a');
$vt->mysql_retry('commerce', "insert into sc_t4 (id, b, big, s, k, d2) values (3, 'z', 7, '56', 3, 1)");
same('commerce', 'sc_t4', 'DROP COLUMN');

# CHANGE COLUMN: rename + type
$vt->mysql('commerce', 'alter table sc_t4 change b b2 varchar(40)');
same('commerce', 'sc_t4', 'CHANGE COLUMN');

# MODIFY narrowing (kept wide enough), int -> varchar (cast), varchar -> int (copy)
$vt->mysql('commerce', 'alter table sc_t4 modify big int');
$vt->mysql('commerce', 'alter table sc_t4 modify k varchar(12) not null');
$vt->mysql('commerce', 'alter table sc_t4 modify s int');
$vt->mysql_retry('commerce', "insert into sc_t4 (id, b2, big, s, k, d2) values (4, 'q', 8, 78, 'k4', 2)");
same('commerce', 'sc_t4', 'MODIFY narrowing and changes of representation');
is(sql(q{SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'commerce.sc_t4'::regclass AND attname = 's'}),
	'integer', 'MODIFY varchar -> int: the mirror column is converted to integer');

# charset and collation
$vt->mysql('commerce', 'alter table sc_t4 modify b2 varchar(40) character set latin1 collate latin1_swedish_ci');
$vt->mysql('commerce', 'alter table sc_t4 convert to character set utf8mb4 collate utf8mb4_unicode_ci');
$vt->mysql_retry('commerce', "update sc_t4 set b2 = 'ünïcode' where id = 1");
same('commerce', 'sc_t4', 'charset and collation changes');

# primary key change
$vt->mysql('commerce', 'alter table sc_t4 drop primary key, add primary key (id, d2)');
$vt->mysql_retry('commerce', "insert into sc_t4 (id, b2, big, s, k, d2) values (4, 'same id', 9, 1, 'k', 3)");
same('commerce', 'sc_t4', 'primary key change');
is(sql(q{SELECT string_agg(a.attname, ',' ORDER BY array_position(i.indkey::int2[], a.attnum)) FROM pg_index i
	JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
	WHERE i.indrelid = 'commerce.sc_t4'::regclass AND i.indisprimary}), 'id,d2', 'mirror re-keyed to (id, d2)');

# index-only changes
$vt->mysql('commerce', 'alter table sc_t4 add index ix_big (big); create index ix_k on sc_t4 (k); drop index ix_big on sc_t4');
$vt->mysql_retry('commerce', "update sc_t4 set big = 100 where id = 2");
same('commerce', 'sc_t4', 'index-only changes');

# -------------------------------------------------------- table changes
# RENAME TABLE swap
$vt->mysql('commerce', 'rename table sc_sw_a to sc_sw_tmp, sc_sw_b to sc_sw_a, sc_sw_tmp to sc_sw_b');
$vt->mysql_retry('commerce', "insert into sc_sw_a values (3, 'new in a')");
same('commerce', 'sc_sw_a', 'RENAME TABLE swap (a)');
same('commerce', 'sc_sw_b', 'RENAME TABLE swap (b)');

# CREATE TABLE ... LIKE, then rows
$vt->mysql('commerce', 'create table sc_like like sc_t3b');
$vt->mysql_retry('commerce', 'insert into sc_like values (1, 100), (2, 200)');
same('commerce', 'sc_like', 'CREATE TABLE LIKE');

# CREATE TABLE that stays empty: the mirror exists anyway
$vt->mysql('commerce', 'create table sc_new (id int primary key, v int)');
ok($wait->(sub { sql(q{SELECT to_regclass('commerce.sc_new') IS NOT NULL}) eq 't' }, 60, 0.3),
	'CREATE TABLE: an empty table gets its mirror');

# --------------------------------------------------------- online DDL
my ($ok_od, $out_od, $err_od) = $vt->mysql_run('commerce',
	"set @\@ddl_strategy = 'vitess';\nalter table sc_od add column extra int not null default 5, modify v varchar(40);\n");
ok($ok_od, 'online DDL (vitess strategy) submitted') or diag($err_od);
my $od_done = $wait->(sub {
	my $r = $vt->mysql_value('commerce', "select count(*) from information_schema.columns where table_name = 'sc_od' and column_name = 'extra'");
	defined $r && $r eq '1' }, 180, 1);
ok($od_done, 'online DDL cut over') or diag(join("\n", map { join('|', map { $_ // 'NULL' } @$_) }
	  @{ $vt->mysql_rows('commerce', 'show vitess_migrations') // [] }));
$vt->mysql_retry('commerce', "insert into sc_od (id, v, extra) values (4, 'four', 9)");
same('commerce', 'sc_od', 'online DDL cut-over', timeout => 120);
is(sql(q{SELECT count(*) FROM vstream_fdw.mirror WHERE source_table LIKE '\_vt\_%' OR table_name LIKE '\_vt\_%'}), '0',
	'online DDL: no internal table mirrored');

# ------------------------------------------------ the sharded keyspace
$vt->mysql('customer', 'alter table sc_s rename column v to v2');
$vt->mysql_retry('customer', "insert into sc_s (id, v2, w) values (101, 1, 'a'), (102, 2, 'b')");
same('customer', 'sc_s', 'sharded: RENAME COLUMN');
$vt->mysql('customer', "alter table sc_s add column x int not null default 42, drop column w");
$vt->mysql_retry('customer', "insert into sc_s (id, v2, x) values (103, 3, 1)");
same('customer', 'sc_s', 'sharded: ADD and DROP COLUMN');
$vt->mysql('customer', 'alter table sc_s modify v2 bigint');
$vt->mysql_retry('customer', "insert into sc_s (id, v2, x) values (104, 1099511627776, 2)");
same('customer', 'sc_s', 'sharded: MODIFY');
$vt->mysql('customer', 'truncate table sc_s');
$vt->mysql_retry('customer', "insert into sc_s (id, v2, x) values (1, 1, 1), (2, 2, 2), (3, 3, 3)");
same('customer', 'sc_s', 'sharded: TRUNCATE');
is(sql('SELECT count(*) FROM customer.sc_s'), '3', 'sharded TRUNCATE: only the new rows');

# resync_table of the table being written: copied again under the load
sql("SELECT vstream_fdw.resync_table('commerce', 'sc_load')");

# ------------------------------------------------------ all along
my ($wok, $werr) = $vt->finish_writer($writer);
ok($wok, 'writer finished') or diag($werr);
same('commerce', 'sc_load', 'the table written all along (and copied again)');

# drop_policy 'drop': DROP TABLE at the source drops the mirror
sql(q{ALTER SERVER commerce OPTIONS (ADD drop_policy 'drop')});
sql("SELECT vstream_fdw.stop_stream('commerce'); SELECT vstream_fdw.start_stream('commerce')");
$vt->mysql('commerce', 'drop table sc_like');
ok($wait->(sub { sql(q{SELECT to_regclass('commerce.sc_like') IS NULL}) eq 't' }, 60, 0.3),
	"drop_policy 'drop': the mirror is dropped");
is(sql(q{SELECT count(*) FROM vstream_fdw.mirror WHERE source_table = 'sc_like'}), '0',
	"drop_policy 'drop': no catalog row left");
$pid_m = $vt->worker_pid($node, 'commerce');

is($vt->worker_pid($node, 'commerce'), $pid_m, 'commerce: the same worker through every change');
is($vt->worker_pid($node, 'customer'), $pid_c, 'customer: the same worker through every change');
is(sql(q{SELECT string_agg(DISTINCT phase, ',') FROM vstream_fdw.stream_status}), 'replicating',
	'both streams still replicating');
is(sql(q{SELECT count(*) FROM vstream_fdw.mirror WHERE state = 'copying'}), '0', 'no table left copying');
cmp_ok(sql('SELECT count(*) FROM vstream_fdw.schema_history'), '>=', 20, 'every DDL recorded in schema_history');
note(sql(q{SELECT string_agg(shard || ': ' || statement || ' => ' || action, E'\n' ORDER BY id) FROM vstream_fdw.schema_history}));

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|was terminated by signal/, 'no crash in the server log');

cleanup();
$node->stop;
done_testing();
