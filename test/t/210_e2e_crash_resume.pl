# 210_e2e_crash_resume.pl -- end to end against the real local Vitess:
# the mirror converges to the source after
#   * PostgreSQL stopped in immediate mode during the copy phase,
#   * PostgreSQL stopped in immediate mode while a write load streams,
#   * the stream worker killed with SIGKILL while a write load streams,
#   * VTGate stopped (changes made meanwhile directly on a tablet) and started,
#   * VTGate killed with SIGKILL and restarted;
# each time compared row by row, every table.
#
# Skipped without a cluster (no $VSTREAM_VITESS_ENV / /tmp/vt-vstream/env.sh).
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use VitessCluster;

my $vt = VitessCluster->require_cluster;
my $wait = \&VitessCluster::wait_until;

# ---------------------------------------------------------------- source data
my $NLOAD = 60_000;
my $FIRST = 1_000_000;
$vt->reset_sample_data;
$vt->load_corder($NLOAD, $FIRST);

my $node = $vt->sample_node('e2e_crash');

sub sql { my ($s) = @_; return $node->safe_psql('postgres', $s); }

# psql that tolerates a restarting server: undef on error
sub try_sql { return VitessCluster::psql_value($node, $_[0]); }

my $tables = $vt->sample_tables;

# A bounded write load through VTGate: N_TX source transactions of every
# kind on both shards, ~10 ms apart.  New order ids from NEXT_ID upwards.
sub customer_load
{
	my ($n_tx, $next_id) = @_;
	my $s = '';
	for my $i (1 .. $n_tx)
	{
		my $k = $i % 5;
		my $old = $FIRST + ($i * 7919 + $next_id) % $NLOAD;
		if ($k == 0)
		{
			# one statement, rows on both shards (one transaction per shard)
			$s .= 'insert into corder(order_id, customer_id, sku, price) values '
			  . join(', ', map { sprintf("(%d, %d, 'L-%d', %d)", $next_id + $_, ($next_id + $_) % 1000, $i, $_) } 0 .. 4)
			  . ";\n";
			$next_id += 5;
		}
		elsif ($k == 1)
		{
			$s .= "update corder set price = price + $i, sku = 'U-$i' where order_id = $old;\n";
		}
		elsif ($k == 2)
		{
			$s .= "delete from corder where order_id = $old;\n";
		}
		elsif ($k == 3)
		{
			# multi-statement transaction on one customer (one shard)
			my $c = $i % 1000;
			$s .= "begin; insert into corder(order_id, customer_id, sku, price) values ($next_id, $c, 'T-$i', 1); "
			  . "update corder set price = price * 2 where order_id = $next_id; "
			  . "update corder set sku = 'T2-$i' where customer_id = $c and order_id between $FIRST and " . ($FIRST + 5000) . "; "
			  . "commit;\n";
			$next_id++;
		}
		else
		{
			$s .= "insert into customer(customer_id, email) values ($next_id, 'c$i\@load.org') "
			  . "on duplicate key update email = values(email);\n";
			$next_id++;
		}
		$s .= "do sleep(0.01);\n";
	}
	return ($s, $next_id);
}

sub commerce_load
{
	my ($n_tx, $tag) = @_;
	my $s = '';
	for my $i (1 .. $n_tx)
	{
		$s .= "insert into product(sku, description, price) values ('P-$tag-$i', 'load', $i);\n" if $i % 3 == 0;
		$s .= "update product set price = price + 1 where sku = 'SKU-1001';\n" if $i % 3 == 1;
		$s .= "delete from product where sku = 'P-$tag-" . ($i - 2) . "';\n" if $i % 3 == 2 && $i > 5 && $i % 6 == 2;
		$s .= "do sleep(0.02);\n";
	}
	return $s;
}

sub customer_worker_pid
{
	my $pid = $vt->worker_pid($node, 'customer');
	return $pid && kill(0, $pid) ? $pid : undef;
}

# ---------------------------------------------- crash during the copy phase
# Only the sample tables: other tables of the keyspaces are not this test's.
sql("SELECT vstream_fdw.create_stream('customer', ARRAY['customer', 'corder'])");
sql("SELECT vstream_fdw.create_stream('commerce', ARRAY['product'])");

my $in_copy = $wait->(sub {
		my $r = try_sql(q{SELECT count(*) FILTER (WHERE phase = 'copying') > 0 AND sum(rows_copied) > 0
			FROM vstream_fdw.stream_status WHERE server = 'customer'});
		return defined $r && $r eq 't';
	}, 60, 0.02);
my $copied = try_sql(q{SELECT sum(rows_copied) FROM vstream_fdw.stream_status WHERE server = 'customer'}) // '?';
$node->stop('immediate');
ok($in_copy, "PostgreSQL stopped in immediate mode during the copy phase ($copied rows copied)");
$node->start;

ok($vt->wait_replicating($node, 'customer', shards => 2, timeout => 120),
	'after the restart the customer copy completes');
ok($vt->wait_replicating($node, 'commerce', shards => 1, timeout => 60),
	'commerce copied');
ok($vt->wait_converged($node, $tables, timeout => 90, verbose => 1),
	'after a crash in the copy phase every mirror equals its source');
is(sql('SELECT count(*) FROM customer.corder'), $NLOAD + 5, "all $NLOAD + 5 corder rows, no duplicates");

# ------------------------------------------ crashes under a write load
my $next_id = 5_000_000;
my ($cust_sql, $comm_sql);
($cust_sql, $next_id) = customer_load(900, $next_id);
$comm_sql = commerce_load(450, 'a');
my $count0 = sql('SELECT count(*) FROM customer.corder');
my $wc = $vt->start_writer('customer', $cust_sql);
my $wp = $vt->start_writer('commerce', $comm_sql);

# let some of the load arrive, then stop PostgreSQL in immediate mode
ok($wait->(sub { (try_sql(q{SELECT count(*) FROM customer.corder WHERE sku LIKE 'L-%'}) // 0) >= 20 }, 60, 0.1),
	'the write load streams into the mirror');
$node->stop('immediate');
note('PostgreSQL stopped (immediate) mid-stream');
usleep(500_000);    # the load goes on meanwhile
$node->start;
my $pid1;
ok($wait->(sub { $pid1 = customer_worker_pid() }, 60, 0.1),
	'after the restart a customer worker runs again') or diag($vt->status_text($node));

# kill -9 the worker while it applies the load
my $before = try_sql(q{SELECT count(*) FROM customer.corder WHERE sku LIKE 'L-%'}) // 0;
ok($wait->(sub { (try_sql(q{SELECT count(*) FROM customer.corder WHERE sku LIKE 'L-%'}) // 0) > $before }, 60, 0.1),
	'the worker applies changes after the restart');
my @act = $vt->worker_pids_activity($node);
ok((grep { $_ == $pid1 } @act), "worker pid $pid1 of stream_status is a 'vstream_fdw worker' in pg_stat_activity")
  or diag("pg_stat_activity workers: @act");
ok(kill('KILL', $pid1), "worker $pid1 killed with SIGKILL");
ok($wait->(sub { my $p = customer_worker_pid(); $p && $p != $pid1 }, 60, 0.2),
	'a new worker replaces the killed one') or diag($vt->status_text($node));

my ($okc, $errc) = $vt->finish_writer($wc);
my ($okp, $errp) = $vt->finish_writer($wp);
ok($okc && $okp, 'write load finished without errors') or diag("$errc\n$errp");
cmp_ok($vt->mysql_value('customer', "set workload = 'olap'; select count(*) from corder"), '>', $count0,
	'the load added rows at the source');
ok($vt->wait_converged($node, $tables, timeout => 90, verbose => 1),
	'after the immediate stop and the killed worker every mirror equals its source');

# -------------------------------------------------- VTGate goes away
# Stop VTGate, change rows directly on the -80 tablet (they are in its
# binlog, hence in the stream once VTGate is back), start VTGate.
my $t_stop = sql('SELECT now()');
ok($vt->restart_vtgate(stop_only => 1), 'VTGate stopped');
my $uid = $vt->tablet_uid('customer', '-80');
$vt->mysql_direct($uid, "insert into vt_customer.corder(order_id, customer_id, sku, price) values (6000001, 1, 'DIRECT', 42); "
	  . "update vt_customer.corder set sku = 'DIRECT-U' where order_id = 2");
my $vtgate_error;
ok($wait->(sub {
			$vtgate_error = try_sql(qq{SELECT string_agg(last_error, ' ') FROM vstream_fdw.stream_status
				WHERE server = 'customer' AND last_error_at > '$t_stop'});
			defined $vtgate_error && $vtgate_error =~ /\S/;
		}, 30, 0.2), 'the worker reports the lost VTGate in stream_status.last_error')
  or diag($vt->status_text($node));
note("last_error while VTGate is down: " . ($vtgate_error // ''));
ok($vt->restart_vtgate(start_only => 1), 'VTGate started again');
($cust_sql, $next_id) = customer_load(150, $next_id);
my ($ok2, $err2) = $vt->finish_writer($vt->start_writer('customer', $cust_sql));
ok($ok2, 'load through the new VTGate') or diag($err2);
ok($vt->wait_converged($node, $tables, timeout => 90),
	'after VTGate was stopped and started every mirror equals its source');
is(sql('SELECT sku FROM customer.corder WHERE order_id = 6000001'), 'DIRECT',
	'a change made while VTGate was down arrived');

# VTGate crash (SIGKILL) while a load runs just before and after it
($cust_sql, $next_id) = customer_load(100, $next_id);
($ok2, $err2) = $vt->finish_writer($vt->start_writer('customer', $cust_sql));
ok($ok2, 'load before the VTGate crash') or diag($err2);
ok($vt->restart_vtgate(kill9 => 1, down => 2), 'VTGate killed with SIGKILL and restarted');
($cust_sql, $next_id) = customer_load(100, $next_id);
($ok2, $err2) = $vt->finish_writer($vt->start_writer('customer', $cust_sql));
ok($ok2, 'load after the VTGate crash') or diag($err2);
$vt->mysql('commerce', "insert into product(sku, description, price) values ('P-after-crash', 'x', 1)");
ok($vt->wait_converged($node, $tables, timeout => 90, verbose => 1),
	'after a VTGate crash every mirror equals its source');
ok($vt->wait_replicating($node, 'customer', shards => 2, timeout => 30)
	  && $vt->wait_replicating($node, 'commerce', shards => 1, timeout => 30),
	'both streams are replicating at the end');

my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:/, 'no PANIC or assertion failure in the server log');

$node->stop;
done_testing();
