# 240_e2e_live_verify.pl -- end to end against the real local Vitess:
# verify() (identical after replication; planted differences reported exactly;
# no difference under a concurrent write load), live foreign tables (count(*)
# over 300,000 rows, primary-key lookup pushed down, LIMIT 1 fast, joins with
# parameterized lookups), IMPORT FOREIGN SCHEMA of both sample keyspaces with
# the mirrors' types.
#
# Uses its own tables (live_*) and drops them at the end; the sample tables
# are only read.  Skipped without a cluster.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);
use VitessCluster;

my $vt = VitessCluster->require_cluster;
my $t0 = time;

# ------------------------------------------------------------ source tables
sub drop_source_tables
{
	$vt->mysql_run('customer', 'drop table if exists live_orders');
	$vt->mysql_run('customer', 'alter vschema on customer.live_orders drop vindex hash');
	$vt->mysql_run('commerce', 'drop table if exists live_big');
	$vt->mysql_run('commerce', 'drop table if exists live_types');
	$vt->mysql_direct($vt->tablet_uid('commerce', '0'), 'use vt_commerce; drop view if exists live_slow');
}
drop_source_tables();
END { drop_source_tables() if $vt; }

$vt->mysql('customer', q{create table live_orders(
	order_id bigint not null,
	customer_id bigint,
	note varchar(100),
	amount decimal(10,2),
	created datetime(6),
	flag tinyint unsigned,
	primary key(order_id)) engine=InnoDB});
$vt->mysql('customer', 'alter vschema on customer.live_orders add vindex hash(order_id) using hash');
# 2,000 rows: a few batches of verify() with batch_size 500
{
	my $sql = '';
	for (my $i = 1; $i <= 2000; $i += 500)
	{
		$sql .= 'insert into live_orders(order_id, customer_id, note, amount, created, flag) values '
		  . join(',', map { sprintf("(%d,%d,'note %d',%d.%02d,'2026-01-%02d 10:00:00.%06d',%d)",
					$_, $_ % 50, $_, $_, $_ % 100, $_ % 28 + 1, $_, $_ % 256) } $i .. $i + 499)
		  . ";\n";
	}
	$vt->mysql_retry('customer', $sql);
}

# 300,000 rows in the unsharded keyspace, written on the tablet directly
# (MariaDB's sequence engine; the binlog carries it like any insert)
$vt->mysql('commerce', 'create table live_big(id bigint not null, v int, primary key(id)) engine=InnoDB');
my $uid = $vt->tablet_uid('commerce', '0');
$vt->mysql_direct($uid, 'use vt_commerce; insert into live_big select seq, seq % 1000 from seq_1_to_300000');
note(sprintf('source tables loaded in %.1f s', time - $t0));

# ------------------------------------------------------------ PostgreSQL
my $node = $vt->pg_node('e2e_live', extra_conf => join("\n",
		'vstream_fdw.restart_interval = 200',
		'vstream_fdw.max_restart_interval = 2000'));
sub sql { my ($s) = @_; return $node->safe_psql('postgres', $s); }

for my $srv ([ 'live_customer', 'customer' ], [ 'live_commerce', 'commerce' ],
	[ 'sample_customer', 'customer' ], [ 'sample_commerce', 'commerce' ])
{
	$vt->create_server($node, $srv->[0], keyspace => $srv->[1]);
	sql("ALTER SERVER $srv->[0] OPTIONS (ADD mysql_port '" . $vt->mysql_port . "')");
	sql("CREATE USER MAPPING FOR PUBLIC SERVER $srv->[0] OPTIONS (user 'root')");
}

# ------------------------------------------------------------ verify()
sql(q{SELECT vstream_fdw.create_stream('live_customer', ARRAY['live_orders'], 'live_mirror')});
ok($vt->wait_replicating($node, 'live_customer', shards => 2, timeout => 90),
	'stream of live_orders replicating');
ok(VitessCluster::wait_until(sub { sql('SELECT count(*) FROM live_mirror.live_orders') == 2000 }, 30, 0.2),
	'mirror has the 2,000 rows');

sub verify_table
{
	my ($args) = @_;
	return sql(qq{SELECT kind, source_rows, mirror_rows, missing, extra, different, detail
		FROM vstream_fdw.verify('live_customer' $args) WHERE kind IN ('table', 'summary')
		ORDER BY kind DESC});
}

is(verify_table(", batch_size => 500"),
	"table|2000|2000|0|0|0|identical\nsummary|2000|2000|0|0|0|identical",
	'verify: identical after replication');

# planted differences: a deleted row, a changed value, an extra row
sql(q{DELETE FROM live_mirror.live_orders WHERE order_id = 17;
	  UPDATE live_mirror.live_orders SET amount = amount + 1 WHERE order_id = 1234;
	  INSERT INTO live_mirror.live_orders VALUES (999999, 1, 'planted', 1, now(), 1)});
my $t = time;
is(sql(q{SELECT kind, detail FROM vstream_fdw.verify('live_customer', details => true,
		recheck_timeout => '2 s', batch_size => 500)
		WHERE kind NOT IN ('table', 'summary') ORDER BY 1}),
	"different|order_id=1234\nextra|order_id=999999\nmissing|order_id=17",
	'verify: exactly the planted keys');
note(sprintf('verify with differences: %.1f s', time - $t));
is(verify_table(", tables => ARRAY['live_orders'], recheck_timeout => '1 s'"),
	"table|2000|2000|1|1|1|\nsummary|2000|2000|1|1|1|",
	'verify: the counts of the planted differences');
is(verify_table(", max_keys => 1, recheck_timeout => '1 s'"),
	"table|2000|2000|1|1|1|\nsummary|2000|2000|1|1|1|",
	'verify: max_keys bounds the keys kept, not the counts');

# repair the mirror from the live foreign table of the same source table
sql(q{IMPORT FOREIGN SCHEMA customer LIMIT TO (live_orders) FROM SERVER live_customer INTO public});
sql(q{DELETE FROM live_mirror.live_orders WHERE order_id IN (1234, 999999);
	  INSERT INTO live_mirror.live_orders SELECT * FROM public.live_orders WHERE order_id IN (17, 1234)});
is(verify_table(''), "table|2000|2000|0|0|0|identical\nsummary|2000|2000|0|0|0|identical",
	'verify: identical again after the repair through the live table');

# without a running stream: no re-checks, the first comparison is the answer
sql(q{SELECT vstream_fdw.stop_stream('live_customer')});
sql(q{DELETE FROM live_mirror.live_orders WHERE order_id = 42});
$t = time;
is(sql(q{SELECT kind, detail FROM vstream_fdw.verify('live_customer', details => true)
		WHERE kind NOT IN ('table', 'summary')}), 'missing|order_id=42', 'verify with the stream stopped');
ok(time - $t < 10, 'and without waiting for re-checks');
sql(q{INSERT INTO live_mirror.live_orders SELECT * FROM public.live_orders WHERE order_id = 42;
	  SELECT vstream_fdw.start_stream('live_customer')});
ok($vt->wait_replicating($node, 'live_customer', shards => 2, timeout => 60), 'stream restarted');

# a write load during the whole comparison: no difference reported
{
	my $w = '';
	for my $i (1 .. 400)
	{
		my $id = ($i * 37) % 2000 + 1;
		$w .= "update live_orders set amount = amount + 1, note = 'load $i' where order_id = $id;\n";
		$w .= "insert into live_orders(order_id, customer_id, note, amount, created, flag) values ("
		  . (100000 + $i) . ", 1, 'new', 1.00, now(), 1);\n";
		$w .= "delete from live_orders where order_id = " . (100000 + $i - 5) . ";\n" if $i > 5;
		$w .= "select sleep(0.01);\n";
	}
	my $writer = $vt->start_writer('customer', $w);
	# small batches make the comparison last as long as the load
	my $bg = $vt->psql_bg_start($node, q{SELECT kind || '|' || missing || '|' || extra || '|' || different
		FROM vstream_fdw.verify('live_customer', batch_size => 50) WHERE kind = 'summary'});
	my ($ok, $out, $err) = $vt->psql_bg_finish($bg);
	my $still = $vt->writer_running($writer);
	my ($wok, $werr) = $vt->finish_writer($writer);
	ok($wok, 'write load ran') or diag($werr);
	ok($still, 'the write load ran during the whole comparison');
	is($out, 'summary|0|0|0', 'verify under a write load: no difference') or diag($err);
}

# ADD COLUMN at the source: the worker reads the new column's default through
# the connection module, so that old mirror rows get it as the source's did
$vt->mysql('customer', "alter table live_orders add column tier varchar(16) not null default 'basic'");
$vt->mysql_retry('customer', "insert into live_orders(order_id, customer_id, note, amount, created, flag, tier)"
	  . " values (200001, 1, 'after ddl', 1.00, now(), 1, 'gold')");
ok(VitessCluster::wait_until(sub {
			VitessCluster::psql_value($node, q{SELECT tier FROM live_mirror.live_orders WHERE order_id = 200001}) // '' eq 'gold' }, 30, 0.2),
	'ADD COLUMN replicated');
is(sql(q{SELECT count(*) FROM live_mirror.live_orders WHERE tier = 'basic'}),
	sql(q{SELECT count(*) - 1 FROM live_mirror.live_orders}),
	'old mirror rows have the source default of the new column (read through the MySQL connection module)');
is(sql(q{SELECT missing + extra + different FROM vstream_fdw.verify('live_customer') WHERE kind = 'summary'}),
	'0', 'verify: identical after ADD COLUMN');

# every kind of type, copied and replicated: the live table, the mirror and
# verify() agree (the same conversion on all three paths)
$vt->mysql('commerce', q{create table live_types(id int primary key, iu int unsigned,
	bu bigint unsigned, d decimal(65,30), f float, db double, b bit(5), dt date,
	dtm datetime(6), ts timestamp(3) null, tm time(2), y year,
	vl varchar(20) character set latin1, c char(5), tx text, e enum('a','b c'),
	s set('x','y'), j json, vb varbinary(10), bl blob, u uuid, i6 inet6)});
my $typed_rows = q{(%d, 4294967295, 18446744073709551615,
	'12345678901234567890123456789012345.123456789012345678901234567890', 123456.789,
	1.7976931348623157e308, b'10101', '2026-02-28', '2026-02-28 23:59:59.123456',
	'2026-03-01 00:00:00.125', '-838:59:59.99', 2155, _utf8mb4 x'636166c3a9', 'ab',
	_utf8mb4 x'6c696e65310a6c696e6532', 'b c', 'x,y', '{"b": 1, "a": [1, 2]}', x'00ff',
	x'deadbeef', '123e4567-e89b-12d3-a456-426614174000', '::1'),
	(%d, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
	 null, null, null, null, null, null, null),
	(%d, 0, 0, '-0.000000000000000000000000000001', -1.5, -0.0, b'0', '1000-01-01',
	 '1000-01-01 00:00:00', '1970-01-01 00:00:01', '00:00:00', 1901, '', '', '', 'a', '',
	 '[]', x'', x'', '00000000-0000-0000-0000-000000000000', '::ffff:1.2.3.4')};
$vt->mysql('commerce', 'insert into live_types values ' . sprintf($typed_rows, 1, 2, 3));
sql(q{SELECT vstream_fdw.create_stream('live_commerce', ARRAY['live_types'], 'live_mirror_c')});
ok($vt->wait_replicating($node, 'live_commerce', shards => 1, timeout => 60), 'stream of live_types replicating');
$vt->mysql('commerce', 'insert into live_types values ' . sprintf($typed_rows, 101, 102, 103));
ok(VitessCluster::wait_until(sub {
			(VitessCluster::psql_value($node, 'SELECT count(*) FROM live_mirror_c.live_types') // 0) == 6 }, 30, 0.2),
	'typed rows copied and replicated');
sql(q{CREATE SCHEMA imp_types;
	  IMPORT FOREIGN SCHEMA commerce LIMIT TO (live_types) FROM SERVER live_commerce INTO imp_types});
is(sql(q{SELECT count(*) FROM (SELECT * FROM imp_types.live_types EXCEPT SELECT * FROM live_mirror_c.live_types
	UNION ALL (SELECT * FROM live_mirror_c.live_types EXCEPT SELECT * FROM imp_types.live_types)) d
	WHERE id NOT IN (101)}), '0', 'every type: the live table reads what the mirror holds');
is(sql(q{SELECT f::text FROM imp_types.live_types WHERE id = 1}), '123457',
	'FLOAT: MariaDB sends 6 significant digits (the replicated row 101 is exact in the mirror)');
is(sql(q{SELECT kind || '|' || missing || '|' || extra || '|' || different || '|' || coalesce(detail, '')
	FROM vstream_fdw.verify('live_commerce') WHERE kind = 'table'}), 'table|0|0|0|identical',
	'verify: every type identical in both phases (FLOAT at 6 significant digits)');
sql(q{UPDATE live_mirror_c.live_types SET j = '{"b": 2}', ts = ts + interval '1 ms', f = 123456 WHERE id IN (1, 101, 3)});
is(sql(q{SELECT string_agg(detail, ' ' ORDER BY detail) FROM vstream_fdw.verify('live_commerce', details => true,
	recheck_timeout => '1 s') WHERE kind = 'different'}), 'id=1 id=101 id=3', 'verify: changed typed values are found');

# ------------------------------------------------------------ live tables
sql(q{CREATE SCHEMA imp_commerce; CREATE SCHEMA imp_customer;
	  IMPORT FOREIGN SCHEMA commerce FROM SERVER live_commerce INTO imp_commerce;
	  IMPORT FOREIGN SCHEMA customer EXCEPT (live_orders) FROM SERVER live_customer INTO imp_customer});
$t = time;
is(sql('SELECT count(*), sum(v) FROM imp_commerce.live_big'), '300000|149850000',
	'live count(*) over 300,000 rows (beyond VTGate\'s 10,000-row limit)');
my $full = time - $t;
like(sql('EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM imp_commerce.live_big WHERE id = 123456'),
	qr/Remote SQL: SELECT `id`, `v` FROM `live_big` WHERE \(`id` = 123456\)/,
	'primary-key lookup: the WHERE is in the remote SQL');
is(sql('SELECT id, v FROM imp_commerce.live_big WHERE id = 123456'), '123456|456',
	'primary-key lookup returns the right row');
$t = time;
is(sql('SELECT count(*) FROM (SELECT * FROM imp_commerce.live_big LIMIT 1) s'), '1', 'LIMIT 1 returns a row');
my $lim = time - $t;
like(sql('EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM imp_commerce.live_big LIMIT 1'),
	qr/Remote SQL: .* LIMIT 1/, 'LIMIT pushed down');
ok($lim < $full / 3, sprintf('LIMIT 1 (%.3f s) in a small fraction of the full scan (%.3f s)', $lim, $full));
# a LIMIT that cannot be pushed down (local filter) still stops reading early
$t = time;
is(sql(q{SELECT count(*) FROM (SELECT * FROM imp_commerce.live_big WHERE v::text = '7' LIMIT 1) s}), '1',
	'LIMIT 1 over a local filter');
ok(time - $t < $full, 'and it stops reading the remote result early');

# a cancel (here statement_timeout) is served while VTGate computes, and the
# session's connection cache keeps working afterwards
$vt->mysql_direct($uid, 'use vt_commerce; create or replace view live_slow as select sleep(5) as s');
sql(q{CREATE FOREIGN TABLE slow (s bigint) SERVER live_commerce OPTIONS (table_name 'live_slow')});
$t = time;
my ($rc, $o, $e) = $node->psql('postgres', q{SET statement_timeout = '300ms'; SELECT * FROM slow;
	RESET statement_timeout; SELECT count(*) FROM imp_commerce.live_big}, on_error_stop => 0);
like($e, qr/canceling statement due to statement timeout/, 'statement_timeout cancels a live scan waiting for VTGate');
ok(time - $t < 3, sprintf('at once (%.2f s for a 5 s remote query)', time - $t));
is($o, '300000', 'the same session reads again afterwards');

# row estimates come from the source (InnoDB's estimate times the shards), so
# that a join with a few local rows looks the live rows up by key
my ($est) = sql('EXPLAIN SELECT * FROM imp_commerce.live_big') =~ /rows=(\d+)/;
ok($est > 100_000 && $est < 1_000_000, "row estimate from the source ($est)");
sql(q{CREATE TABLE probe(id bigint); INSERT INTO probe VALUES (5), (123456), (299999); ANALYZE probe});
like(sql(q{EXPLAIN (VERBOSE, COSTS OFF) SELECT b.v FROM probe p JOIN imp_commerce.live_big b ON b.id = p.id}),
	qr/Remote SQL: SELECT `id`, `v` FROM `live_big` WHERE \(\$1 = `id`\)/,
	'a join with a small local table: parameterized lookups in the remote SQL');
is(sql(q{SELECT string_agg(b.v::text, ',' ORDER BY p.id) FROM probe p JOIN imp_commerce.live_big b ON b.id = p.id}),
	'5,456,999', 'and the rows found');

# conditions: IN, BETWEEN, IS NULL, ORDER BY, strings re-checked locally
my $plan = sql(q{EXPLAIN (VERBOSE, COSTS OFF) SELECT order_id FROM imp_customer.corder
	WHERE order_id IN (1, 2, 3) AND price BETWEEN 10 AND 100 AND customer_id IS NOT NULL ORDER BY order_id});
ok($plan =~ /\(`order_id` IN \(1, 2, 3\)\)/ && $plan =~ /\(`price` >= 10\) AND \(`price` <= 100\)/
	  && $plan =~ /\(`customer_id` IS NOT NULL\)/ && $plan =~ /ORDER BY `order_id` IS NULL ASC, `order_id` ASC/
	  && $plan !~ /Filter|Sort/,
	'IN, BETWEEN, IS NOT NULL and ORDER BY pushed down') or diag($plan);
# (own table: other tests change the sample rows meanwhile; flag and created
# are not touched by the write load above)
is(sql(q{SELECT string_agg(order_id::text, ',' ORDER BY order_id) FROM public.live_orders
	WHERE order_id IN (1, 2, 3, 300) AND flag BETWEEN 2 AND 50 AND created IS NOT NULL}), '2,3,300',
	'IN, BETWEEN, IS NOT NULL: the right rows');
my $note = sql(q{SELECT note FROM public.live_orders WHERE order_id = 7});
is(sql(qq{SELECT count(*) FROM public.live_orders WHERE note = upper('$note')}), '0',
	'string equality is re-checked locally (MySQL compares case-insensitively)');
is(sql(qq{SELECT count(*) FROM public.live_orders WHERE note = '$note'}), '1', 'string equality: the row');
is(sql(q{SELECT count(*) FROM public.live_orders a JOIN public.live_orders b USING (order_id)
	WHERE a.order_id IN (1, 2)}), '2', 'a join of two live tables');

# IMPORT FOREIGN SCHEMA: the mirrors' types
sql(q{SELECT vstream_fdw.create_stream('sample_customer', ARRAY['customer', 'corder'], 'mir_customer');
	  SELECT vstream_fdw.create_stream('sample_commerce', ARRAY['product'], 'mir_commerce')});
ok($vt->wait_replicating($node, 'sample_customer', shards => 2, timeout => 90)
	  && $vt->wait_replicating($node, 'sample_commerce', shards => 1, timeout => 60),
	'sample streams replicating');
ok(VitessCluster::wait_until(sub { sql(q{SELECT count(*) FROM pg_tables WHERE schemaname IN ('mir_customer', 'mir_commerce')}) == 3 }, 30, 0.2),
	'sample mirrors exist');
my $types = q{SELECT c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
	FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
	WHERE c.relnamespace = '%s'::regnamespace AND c.relname IN (%s) AND a.attnum > 0
	ORDER BY 1};
for my $ks ([ 'customer', q{'customer', 'corder'} ], [ 'commerce', q{'product'} ])
{
	my $imp = sql(sprintf($types, "imp_$ks->[0]", $ks->[1]));
	my $mir = sql(sprintf($types, "mir_$ks->[0]", $ks->[1]));
	is($imp, $mir, "IMPORT FOREIGN SCHEMA $ks->[0]: the mirror's column types");
	note($imp);
}
sql(q{DROP FOREIGN TABLE public.live_orders;
	  IMPORT FOREIGN SCHEMA customer LIMIT TO (live_orders) FROM SERVER live_customer INTO public});
is(sql(sprintf($types, 'public', q{'live_orders'})), sql(sprintf($types, 'live_mirror', q{'live_orders'})),
	'IMPORT FOREIGN SCHEMA live_orders (decimal, datetime(6), tinyint unsigned): the mirror\'s types');

# the worker's connection module left no busy connection behind
is(sql(q{SELECT count(*) FROM imp_commerce.live_big}), '300000', 'the connection cache still serves');

sql(q{SELECT vstream_fdw.drop_stream('live_customer', drop_tables => true);
	  SELECT vstream_fdw.drop_stream('live_commerce', drop_tables => true);
	  SELECT vstream_fdw.drop_stream('sample_customer', drop_tables => true);
	  SELECT vstream_fdw.drop_stream('sample_commerce', drop_tables => true)});
$node->stop;
note(sprintf('240_e2e_live_verify: %.1f s', time - $t0));
done_testing();
