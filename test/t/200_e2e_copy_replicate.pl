# 200_e2e_copy_replicate.pl -- end to end against the real local Vitess of
# test/vitess/cluster-up.sh: the copy phase of both keyspaces, then
# replication of inserts, updates, deletes, primary-key changes, a row moving
# between shards and multi-statement transactions, each source transaction
# applied atomically; stop_stream/start_stream and drop_stream.
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

# ---------------------------------------------------------------- source data
$vt->reset_sample_data;
# enough corder rows for several copy batches on both shards
$vt->load_corder(5000, 100_000);

my $node = $vt->sample_node('e2e_copy');

sub sql { my ($sql) = @_; return $node->safe_psql('postgres', $sql); }

# peek() through the real VTGate: the copy of the unsharded keyspace (peek
# returns at max_events or timeout; the 3-row copy takes well under a second)
is(sql(q{SELECT count(*) FILTER (WHERE event_type = 'ROW' AND table_name = 'product') || '|'
	        || count(*) FILTER (WHERE event_type = 'COPY_COMPLETED') || '|'
	        || count(*) FILTER (WHERE event_type = 'ROW' AND row_after->>'sku' = 'SKU-1003'
	                            AND row_after->>'description' = 'cherry')
	   FROM vstream_fdw.peek('commerce', 'copy', 100, '8 s')}),
	'3|2|1', 'peek(copy) on commerce: 3 product rows, per-shard and final COPY_COMPLETED');

ok(sql("SELECT vstream_fdw.create_stream('customer')") > 0, 'create_stream customer');
ok(sql("SELECT vstream_fdw.create_stream('commerce')") > 0, 'create_stream commerce');

# ------------------------------------------------------------------ copy
ok($vt->wait_replicating($node, 'customer', shards => 2, timeout => 90),
	'customer: both shards finished the copy phase');
ok($vt->wait_replicating($node, 'commerce', shards => 1, timeout => 60),
	'commerce: copy phase finished');
ok($vt->wait_converged($node, $vt->sample_tables, timeout => 60, verbose => 1),
	'after the copy every mirror table equals its source, row by row');

is(sql('SELECT count(*) FROM customer.corder'), '5005', 'customer.corder: 5 sample + 5000 loaded rows');
is(sql('SELECT count(*) FROM customer.customer'), '5', 'customer.customer: 5 rows');
is(sql("SELECT description FROM commerce.product WHERE sku = 'SKU-1003'"), 'cherry',
	'commerce.product row copied');
is(sql(q{SELECT string_agg(a.attname, ',' ORDER BY k.ord)
		 FROM pg_index i, unnest(i.indkey) WITH ORDINALITY k(attnum, ord), pg_attribute a
		WHERE i.indrelid = 'customer.corder'::regclass AND i.indisprimary
		  AND a.attrelid = i.indrelid AND a.attnum = k.attnum}),
	'order_id', 'mirror customer.corder has the source primary key');
is(sql(q{SELECT count(DISTINCT shard) FROM vstream_fdw.stream_status WHERE server = 'customer'}),
	'2', 'stream_status has one row per shard of customer');

# ------------------------------------------------------------ replication
is($vt->customer_shard(3), '-80', 'customer 3 lives on -80');
my @on80 = $vt->customer_ids_on_shard('80-', 2, 1000);
my @onm80 = $vt->customer_ids_on_shard('-80', 1, 1000);
is(scalar(@on80) + scalar(@onm80), 3, "customer ids on 80- (@on80) and -80 (@onm80)");

# inserts: one statement spanning both shards, one in the unsharded keyspace
$vt->mysql('customer', "insert into customer(customer_id, email) values ($on80[0], 'new80\@x.org'), ($onm80[0], 'newm80\@x.org')");
$vt->mysql('commerce', "insert into product(sku, description, price) values ('SKU-2001', 'durian', 900)");
# NULLs and characters needing care
$vt->mysql('customer', "insert into corder(order_id, customer_id, sku, price) values (61, 5, NULL, NULL)");
$vt->mysql('commerce', "insert into product(sku, description, price) values ('SKU-\xc3\xa9', 'tab\\there ''quoted'' \xc3\xbc \\\\ back', -1)");
# updates, on both shards
$vt->mysql('customer', "update customer set email = 'bob\@new.org' where customer_id = 2");
$vt->mysql('customer', "update corder set price = price + 1 where customer_id in (1, 4)");
$vt->mysql('customer', "update corder set sku = NULL where order_id = 4");
# deletes
$vt->mysql('customer', 'delete from corder where order_id = 5');
$vt->mysql('customer', 'delete from corder where order_id between 100000 and 100099');
$vt->mysql('commerce', "delete from product where sku = 'SKU-1002'");
# primary-key change in place (order_id is the PK, not the vindex column)
$vt->mysql('customer', 'update corder set order_id = 50 where order_id = 3');
# a customer moving from shard -80 to 80-: VTGate refuses to update a
# primary vindex column (VT12001), so the move is delete + insert in one
# transaction, which the stream delivers as one transaction per shard
$vt->mysql('customer', "begin; delete from customer where customer_id = 3; "
	  . "insert into customer(customer_id, email) values ($on80[1], 'charlie\@domain.com'); commit");
# a multi-statement transaction on one shard
$vt->mysql('customer', "begin; insert into corder(order_id, customer_id, sku, price) values (60, 2, 'SKU-60', 6); "
	  . "update corder set sku = 'SKU-X' where order_id = 2; delete from corder where order_id = 1; "
	  . "update corder set price = 7 where order_id = 60; commit");
# a large transaction (many rows in one binlog event) and a bulk update
$vt->load_corder(2000, 200_000);
$vt->mysql('customer', 'update corder set price = price * 2 where order_id between 200000 and 200999');

ok($vt->wait_converged($node, $vt->sample_tables, timeout => 60),
	'after inserts, updates, deletes and transactions every mirror equals its source');
is(sql("SELECT email FROM customer.customer WHERE customer_id = $on80[1]"), 'charlie@domain.com',
	'the moved customer is in the mirror under its new id');
is(sql('SELECT count(*) FROM customer.customer WHERE customer_id = 3'), '0',
	'and no longer under its old id');
is(sql('SELECT string_agg(order_id::text, \',\' ORDER BY order_id) FROM customer.corder WHERE order_id IN (3, 50)'),
	'50', 'primary-key update: the row has its new key only');
is(sql('SELECT coalesce(sku, \'null\') || \'/\' || coalesce(price::text, \'null\') FROM customer.corder WHERE order_id = 61'),
	'null/null', 'NULLs arrive as NULL');
is(sql("SELECT price FROM customer.corder WHERE order_id = 60"), '7', 'multi-statement transaction applied');

my $counters = sql(q{SELECT sum(transactions_applied) > 0, sum(rows_inserted) > 0,
		sum(rows_updated) > 0, sum(rows_deleted) > 0, bool_and(worker_pid IS NOT NULL)
	  FROM vstream_fdw.stream_status WHERE server = 'customer'});
is($counters, 't|t|t|t|t', 'stream_status counts transactions, inserts, updates, deletes; worker pid shown');

# ------------------------------------------------- atomic source transactions
# A plpgsql loop polls an invariant (the sum over some rows that every source
# transaction keeps constant) with a new snapshot per statement while a
# writer runs transfers, and counts violations and observed state changes.
sql(q{
CREATE FUNCTION e2e_watch(q text, expected numeric, done_q text, timeout_s float8,
	OUT samples int, OUT violations int, OUT changes int, OUT first_bad text, OUT done bool)
LANGUAGE plpgsql AS $$
DECLARE
	s numeric;
	st text;
	prev text;
	deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
BEGIN
	samples := 0; violations := 0; changes := 0; done := false;
	LOOP
		EXECUTE q INTO s, st;
		samples := samples + 1;
		IF s IS DISTINCT FROM expected THEN
			violations := violations + 1;
			first_bad := coalesce(first_bad, coalesce(s::text, 'NULL') || ' ' || coalesce(st, ''));
		END IF;
		IF st IS DISTINCT FROM prev THEN
			changes := changes + 1;
			prev := st;
		END IF;
		EXIT WHEN done;
		EXECUTE done_q INTO done;
		-- one more sample after the marker was seen
		IF NOT done AND clock_timestamp() > deadline THEN
			EXIT;
		END IF;
		PERFORM pg_sleep(0.002);
	END LOOP;
END
$$});

# customer keyspace, shard -80: customers 1 and 2 both hash to -80
$vt->mysql('customer', "insert into corder(order_id, customer_id, sku, price) values "
	  . "(70, 1, 'ACC-A', 500), (71, 2, 'ACC-B', 500), (72, 1, 'ACC-C', 100)");
$vt->mysql('commerce', "insert into product(sku, description, price) values "
	  . "('ACC-A', 'account a', 500), ('ACC-B', 'account b', 500)");
ok($vt->wait_converged($node, [ [ customer => 'corder' ], [ commerce => 'product' ] ]),
	'invariant rows mirrored');

my $n_tx = 300;
my $cust_sql = '';
my $comm_sql = '';
for my $i (1 .. $n_tx)
{
	my $amt = 1 + ($i * 37) % 97;
	if ($i % 3 == 0)
	{
		# delete + re-insert a row under another key within one transaction
		my ($from, $to) = $i % 2 ? (72, 73) : (73, 72);
		$cust_sql .= "begin; delete from corder where order_id = $from; "
		  . "insert into corder(order_id, customer_id, sku, price) values ($to, 1, 'ACC-C', 100); commit;\n";
	}
	else
	{
		my ($a, $b) = $i % 2 ? (70, 71) : (71, 70);
		$cust_sql .= "begin; update corder set price = price - $amt where order_id = $a; "
		  . "update corder set price = price + $amt where order_id = $b; commit;\n";
	}
	my ($pa, $pb) = $i % 2 ? ('ACC-A', 'ACC-B') : ('ACC-B', 'ACC-A');
	$comm_sql .= "begin; update product set price = price - $amt where sku = '$pa'; "
	  . "update product set price = price + $amt where sku = '$pb'; commit;\n";
	if ($i % 5 == 0)
	{
		$cust_sql .= "do sleep(0.003);\n";
		$comm_sql .= "do sleep(0.003);\n";
	}
}
$cust_sql .= "insert into corder(order_id, customer_id, sku, price) values (79, 2, 'DONE', 0);\n";
$comm_sql .= "insert into product(sku, description, price) values ('ACC-DONE', 'marker', 0);\n";

my $watch_sql = q{SELECT samples || '|' || violations || '|' || changes || '|' || coalesce(first_bad, '') || '|' || done::text
	FROM e2e_watch($$%s$$, %d, $$%s$$, 90)};
# both readers start before the writers and run concurrently with them
my $rc = $vt->psql_bg_start($node, sprintf($watch_sql,
		q{SELECT sum(price), string_agg(order_id || '=' || price, ',' ORDER BY order_id)
		    FROM customer.corder WHERE order_id BETWEEN 70 AND 78}, 1100,
		q{SELECT EXISTS (SELECT 1 FROM customer.corder WHERE order_id = 79)}));
my $rp = $vt->psql_bg_start($node, sprintf($watch_sql,
		q{SELECT sum(price), string_agg(sku || '=' || price, ',' ORDER BY sku)
		    FROM commerce.product WHERE sku IN ('ACC-A', 'ACC-B')}, 1000,
		q{SELECT EXISTS (SELECT 1 FROM commerce.product WHERE sku = 'ACC-DONE')}));
my $wc = $vt->start_writer('customer', $cust_sql);
my $wp = $vt->start_writer('commerce', $comm_sql);
my ($okc, $errc) = $vt->finish_writer($wc);
my ($okp, $errp) = $vt->finish_writer($wp);
ok($okc && $okp, 'transfer writers ran') or diag("$errc\n$errp");
my ($okrc, $watch_c, $errrc) = $vt->psql_bg_finish($rc);
my ($okrp, $watch_p, $errrp) = $vt->psql_bg_finish($rp);
ok($okrc && $okrp, 'invariant readers ran') or diag("$errrc\n$errrp");

for my $w ([ 'customer (shard -80)', $watch_c ], [ 'commerce', $watch_p ])
{
	my ($name, $res) = @$w;
	my ($samples, $viol, $changes, $bad, $done) = split /\|/, $res, 5;
	note("$name: $samples samples, $changes distinct states, $viol violations");
	is($done, 'true', "$name: all $n_tx transfer transactions arrived");
	is($viol, '0', "$name: the reader never saw half a source transaction")
	  or diag("first bad state: $bad");
	cmp_ok($changes, '>=', 3, "$name: the reader saw the mirror change while the writer ran");
}
ok($vt->wait_converged($node, [ [ customer => 'corder' ], [ commerce => 'product' ] ]),
	'mirrors equal their sources after the transfers');

# A large source transaction (20 x 1000-row INSERTs on shard -80, one
# COMMIT): a reader counting its rows sees 0 or all 20000, nothing between.
sql(q{
CREATE FUNCTION e2e_watch_count(q text, final bigint, timeout_s float8,
	OUT samples int, OUT partial int, OUT seen text)
LANGUAGE plpgsql AS $$
DECLARE
	n bigint;
	vals bigint[] := '{}';
	deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s);
BEGIN
	samples := 0; partial := 0;
	LOOP
		EXECUTE q INTO n;
		samples := samples + 1;
		IF n <> 0 AND n <> final THEN
			partial := partial + 1;
		END IF;
		IF NOT n = ANY (vals) THEN
			vals := vals || n;
		END IF;
		EXIT WHEN n = final OR clock_timestamp() > deadline;
		PERFORM pg_sleep(0.001);
	END LOOP;
	seen := array_to_string(vals, ',');
END
$$});
my $big = "begin;\n";
for my $b (0 .. 19)
{
	$big .= 'insert into corder(order_id, customer_id, sku, price) values '
	  . join(',', map { my $id = 400_000 + $b * 1000 + $_; "($id, 1, 'BIG', $_)" } 0 .. 999) . ";\n";
}
$big .= "commit;\n";
my $rbig = $vt->psql_bg_start($node, q{SELECT samples || '|' || partial || '|' || seen FROM e2e_watch_count(
	$$SELECT count(*) FROM customer.corder WHERE order_id BETWEEN 400000 AND 419999$$, 20000, 90)});
my ($okbig, $errbig) = $vt->finish_writer($vt->start_writer('customer', $big));
ok($okbig, 'a 20000-row source transaction committed') or diag($errbig);
my (undef, $resbig, $errrbig) = $vt->psql_bg_finish($rbig);
my ($bsamples, $bpartial, $bseen) = split /\|/, $resbig // '', 3;
note("large transaction: $bsamples samples, counts seen: $bseen");
is($bpartial, '0', 'the reader never saw part of the 20000-row transaction') or diag("seen: $bseen $errrbig");
like($bseen // '', qr/(^|,)20000$/, 'the whole transaction arrived');

# --------------------------------------------------------- stop / start
sql("SELECT vstream_fdw.stop_stream('customer')");
is(sql(q{SELECT string_agg(DISTINCT phase, ',') FROM vstream_fdw.stream_status WHERE server = 'customer'}),
	'stopped', 'stop_stream: phase stopped');
ok(VitessCluster::wait_until(sub {
			sql(q{SELECT count(*) FROM vstream_fdw.stream_status WHERE server = 'customer' AND worker_pid IS NOT NULL}) eq '0'
		}, 30), 'stop_stream: no worker pid for the stopped stream');
$vt->mysql('customer', "insert into customer(customer_id, email) values (900, 'while-stopped\@x.org'); "
	  . "update corder set price = 1234 where order_id = 2");
# the commerce stream still runs: a change there arrives ...
$vt->mysql('commerce', "insert into product(sku, description, price) values ('SKU-STOP', 'x', 1)");
ok($vt->wait_converged($node, [ [ commerce => 'product' ] ]), 'the other stream keeps running');
# ... while the stopped stream did not apply anything
is(sql('SELECT count(*) FROM customer.customer WHERE customer_id = 900'), '0',
	'no change applied while the stream is stopped');
sql("SELECT vstream_fdw.start_stream('customer')");
ok($vt->wait_converged($node, $vt->sample_tables, timeout => 60),
	'start_stream resumes: changes made while stopped arrive, mirrors equal sources');
is(sql('SELECT price FROM customer.corder WHERE order_id = 2'), '1234', 'update made while stopped applied');

# ------------------------------------------------------------ drop_stream
sql("SELECT vstream_fdw.drop_stream('commerce', drop_tables => true)");
is(sql(q{SELECT to_regclass('commerce.product') IS NULL AND
	          NOT EXISTS (SELECT 1 FROM vstream_fdw.stream WHERE server_name = 'commerce')}),
	't', 'drop_stream(drop_tables => true) removes the stream and its mirror');

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|server process .* was terminated by signal|TRAP:/,
	'no crash in the server log');

$node->stop;
done_testing();
