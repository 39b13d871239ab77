# MoveTables into and out of mirrored keyspaces, against the topology
# cluster: commerce.product moves to the sharded customer keyspace while a
# stream mirrors each keyspace and a write load with an atomicity reader runs
# on customer.  Documents (notes) and checks what each keyspace's mirror
# holds at each step; see the README, "Topology changes".
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
my $node = $tt->node('topo_movetables');
$tt->create_server($node, 'comm', keyspace => 'commerce');
$tt->create_server($node, 'cust');
$node->safe_psql('postgres', "SELECT vstream_fdw.create_stream('comm');
	SELECT vstream_fdw.create_stream('cust')");
ok($vt->wait_replicating($node, 'comm', timeout => 60), 'commerce stream replicates');
ok($vt->wait_replicating($node, 'cust', shards => 2, timeout => 60), 'customer stream replicates');
$tt->watch_order($node, 'cust');

sub mirror_rows
{
	my ($schema) = @_;
	return VitessCluster::psql_value($node,
		"SELECT string_agg(sku || '=' || price, ' ' ORDER BY sku) FROM \"$schema\".product") // '(no table)';
}

my $w = $tt->start_writer;
my $r = $tt->start_reader($node, 'cust', 20);

# ---- create: the copy into customer is a stream of INSERTs on its shards
$vt->mysql('customer', 'alter vschema on customer.product add vindex xxh(sku) using xxhash');
$vt->topo('movetables', 'create', 'comm2cust', 'customer', 'commerce', 'product');
$vt->topo('movetables', 'wait', 'comm2cust', 'customer');
ok($vt->wait_converged($node, [ [ commerce => 'product', schema => 'comm' ] ], timeout => 60),
	'create: commerce mirror unchanged and equal to commerce.product');
ok(VitessCluster::wait_until(sub { mirror_rows('cust') eq mirror_rows('comm') }, 60, 0.3),
	'create: the customer mirror received the copied rows (INSERTs from VReplication)');
note('after create: comm ' . mirror_rows('comm') . ' | cust ' . mirror_rows('cust'));

# a write before the switch goes to commerce; VReplication copies it to customer
$vt->mysql('commerce', "update product set price = 101 where sku = 'SKU-1001'");
ok(VitessCluster::wait_until(sub {
			mirror_rows('comm') =~ /SKU-1001=101/ && mirror_rows('cust') =~ /SKU-1001=101/ }, 60, 0.3),
	'before the switch: a write to commerce reaches both mirrors');

# ---- SwitchTraffic: writes go to customer, reverse replication to commerce
$vt->topo('movetables', 'switch', 'comm2cust', 'customer');
$vt->mysql_retry('commerce', "update product set price = 102 where sku = 'SKU-1002'");
ok(VitessCluster::wait_until(sub {
			mirror_rows('cust') =~ /SKU-1002=102/ && mirror_rows('comm') =~ /SKU-1002=102/ }, 60, 0.3),
	'after SwitchTraffic: a write (routed to customer) reaches both mirrors (reverse replication)');
note('after switch: comm ' . mirror_rows('comm') . ' | cust ' . mirror_rows('cust'));

# ---- Complete: the source table is dropped; the commerce mirror keeps its last rows
$vt->topo('movetables', 'complete', 'comm2cust', 'customer');
$vt->mysql_retry('customer', "update product set price = 103 where sku = 'SKU-1003'");
ok(VitessCluster::wait_until(sub { mirror_rows('cust') =~ /SKU-1003=103/ }, 60, 0.3),
	'after Complete: writes reach the customer mirror');
sleep 2;
unlike(mirror_rows('comm'), qr/SKU-1003=103/, 'after Complete: the commerce mirror no longer changes');
like(slurp_file($node->logfile), qr/DDL on shard commerce\/0: .*drop table/i,
	'the commerce stream received the DROP TABLE of the source');
note('after complete: comm ' . mirror_rows('comm') . ' | cust ' . mirror_rows('cust'));

my $ws = $tt->stop_writer($w);
$tt->finish_reader($r, 'MoveTables into customer');
$tt->check_mirror($node, 'cust', what => 'after MoveTables');
ok($vt->wait_converged($node, [ [ customer => 'product', schema => 'cust' ] ], timeout => 60),
	'customer mirror of the moved table equals customer.product');

$node->stop;
$vt->stop_topology;
note(sprintf('253_topo_movetables: %.1f s', time - $t0));
done_testing();
