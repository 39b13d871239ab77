# 220_e2e_ddl.pl -- end to end against the real local Vitess: ALTER TABLE on
# the source (through VTGate's MySQL port, ddl_strategy direct) while the
# stream runs and a writer keeps changing rows.  The stream keeps going (same
# worker, no error), the mirror gains the new columns, and their values
# arrive; DROP COLUMN at the source does not stop the stream either.
#
# Skipped without a cluster (no $VSTREAM_VITESS_ENV / /tmp/vt-vstream/env.sh).
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

$vt->reset_sample_data;
$vt->load_corder(2000, 100_000);

my $node = $vt->sample_node('e2e_ddl');

sub sql { my ($s) = @_; return $node->safe_psql('postgres', $s); }

# Only the sample tables: other tables of the keyspaces are not this test's.
sql("SELECT vstream_fdw.create_stream('customer', ARRAY['customer', 'corder'])");
sql("SELECT vstream_fdw.create_stream('commerce', ARRAY['product'])");
ok($vt->wait_replicating($node, 'customer', shards => 2, timeout => 90)
	  && $vt->wait_replicating($node, 'commerce', shards => 1, timeout => 60),
	'both streams replicating');
ok($vt->wait_converged($node, $vt->sample_tables, timeout => 60), 'copy converged');

my $pid_c = $vt->worker_pid($node, 'customer');
my $pid_p = $vt->worker_pid($node, 'commerce');
ok($pid_c && $pid_p, "workers run (customer $pid_c, commerce $pid_p)");

sub mirror_columns
{
	my ($schema, $table) = @_;
	return sql(qq{SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
		WHERE attrelid = '"$schema"."$table"'::regclass AND attnum > 0 AND NOT attisdropped});
}

# ---------------------------------------- ADD COLUMN while a writer runs
# One mysql session: rows before the ALTER, the ALTER on both shards,
# rows (and updates of old rows) using the new column right after it.
my $w = '';
for my $i (1 .. 100)
{
	$w .= "insert into corder(order_id, customer_id, sku, price) values (" . (300_000 + $i) . ", $i, 'pre-$i', $i);\n";
	$w .= "do sleep(0.005);\n" if $i % 10 == 0;
}
$w .= "alter table customer add column nickname varchar(64);\n";
$w .= "alter table corder add column note varchar(32), add column qty int;\n";
for my $i (1 .. 100)
{
	my $id = 300_100 + $i;
	$w .= "insert into corder(order_id, customer_id, sku, price, note, qty) values ($id, $i, 'post-$i', $i, 'note $i', $i * 3);\n";
	$w .= "insert into customer(customer_id, email, nickname) values (" . (2000 + $i) . ", 'n$i\@x.org', 'nick-$i');\n"
	  if $i % 5 == 0;
	$w .= "do sleep(0.005);\n" if $i % 10 == 0;
}
my ($ok, $err) = $vt->finish_writer($vt->start_writer('customer', $w));
ok($ok, 'writer with ALTER TABLE ... ADD COLUMN through VTGate ran') or diag($err);

# old rows changed after the ALTER: the new column gets a value.  VTGate
# plans an UPDATE of a new column only once its schema tracking has seen
# the column (a few seconds), hence the retries.
$vt->mysql_retry('customer', "update customer set nickname = 'ally' where customer_id = 1");
$vt->mysql_retry('customer', "update customer set nickname = 'dan' where customer_id = 4");
$vt->mysql_retry('customer', "update corder set note = 'old row', qty = 7 where order_id in (1, 4, 100001, 100002)");
$vt->mysql_retry('customer', "update corder set note = NULL, qty = NULL where order_id = 300150");
# commerce: ADD COLUMN in the unsharded keyspace, then a transaction using it
$vt->mysql('commerce', "alter table product add column stock bigint, add column origin varchar(20)");
$vt->mysql_retry('commerce', "begin; insert into product(sku, description, price, stock, origin) values ('SKU-DDL', 'fig', 11, 500, 'TR'); "
	  . "update product set stock = 12, origin = 'ES' where sku = 'SKU-1001'; commit");

my ($cols) = $vt->source_columns('customer', 'corder');
is(join(',', @$cols), 'order_id,customer_id,sku,price,note,qty', 'source corder has the new columns');

ok($wait->(sub { mirror_columns('customer', 'corder') =~ /\bnote\b.*\bqty\b/ }, 60, 0.2),
	'mirror customer.corder gained the columns note and qty')
  or diag('mirror columns: ' . mirror_columns('customer', 'corder') . "\n" . $vt->status_text($node));
ok($wait->(sub { mirror_columns('customer', 'customer') =~ /\bnickname\b/ }, 60, 0.2),
	'mirror customer.customer gained the column nickname');
ok($wait->(sub { mirror_columns('commerce', 'product') =~ /\bstock\b.*\borigin\b/ }, 60, 0.2),
	'mirror commerce.product gained the columns stock and origin');
ok($vt->wait_converged($node, $vt->sample_tables, timeout => 60, verbose => 1),
	'every mirror equals its source, new columns included');
is(sql(q{SELECT note || '/' || qty FROM customer.corder WHERE order_id = 300142}), 'note 42/126',
	'values of the new columns arrived');
is(sql(q{SELECT nickname FROM customer.customer WHERE customer_id = 4}), 'dan',
	'an update of an old row on shard 80- sets the new column');
is(sql(q{SELECT stock || '/' || origin FROM commerce.product WHERE sku = 'SKU-1001'}), '12/ES',
	'commerce: new column values in a transaction arrived');
is($vt->worker_pid($node, 'customer'), $pid_c, 'the customer stream kept its worker through the DDL');
is($vt->worker_pid($node, 'commerce'), $pid_p, 'the commerce stream kept its worker through the DDL');
is(sql(q{SELECT string_agg(DISTINCT phase, ',') FROM vstream_fdw.stream_status}), 'replicating',
	'no stream in error after ADD COLUMN');

# ------------------------------- ADD COLUMN ... DEFAULT: untouched old rows
# The source fills existing rows with the default; no row event says so.
$vt->mysql('customer', "alter table customer add column tier varchar(16) not null default 'basic'");
$vt->mysql_retry('customer', "insert into customer(customer_id, email, tier) values (3001, 'gold\@x.org', 'gold')");
ok($vt->wait_converged($node, [ [ customer => 'customer', columns => [qw(customer_id email nickname)] ] ], timeout => 60),
	'after ADD COLUMN ... DEFAULT the other columns still converge');
is(sql(q{SELECT tier FROM customer.customer WHERE customer_id = 3001}), 'gold',
	'a new row carries the value of the defaulted column');
# the mirror column gets the source's constant default, so rows that got it
# at the source without a row event have it too
ok($vt->wait_converged($node, [ [ customer => 'customer' ] ], timeout => 30),
	'untouched old rows have the default of the new column in the mirror too');

# ------------------------------------------ DROP COLUMN while streaming
$vt->mysql('customer', 'alter table corder drop column qty');
$vt->mysql('customer', "insert into corder(order_id, customer_id, sku, price, note) values (300301, 7, 'after-drop', 1, 'd'); "
	  . "update corder set note = 'after drop' where order_id = 2");
ok($vt->wait_converged($node, [ [ customer => 'corder' ] ], timeout => 60),
	'after DROP COLUMN at the source the remaining columns keep converging');
is(sql(q{SELECT note FROM customer.corder WHERE order_id = 300301}), 'd', 'row inserted after DROP COLUMN arrived');
is(sql(q{SELECT string_agg(DISTINCT phase, ',') FROM vstream_fdw.stream_status}), 'replicating',
	'no stream in error after DROP COLUMN');

# leave the cluster's schema as cluster-up.sh made it
$vt->reset_sample_data;

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|was terminated by signal/, 'no crash in the server log');

$node->stop;
done_testing();
