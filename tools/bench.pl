#!/usr/bin/perl
#
# bench.pl -- vstream_fdw benchmarks, printed as ratios measured side by side
# in one run on this machine (absolute numbers on a 2-core box are noisy;
# the ratios are what we track).  Not a test: nothing here fails on speed.
#
#  (a) copy phase: rows/s from the test VTGate (2 shards) into a mirror,
#      vs PostgreSQL COPY of the same rows into a table of the same shape
#  (b) single-row source transactions applied per second, vs PostgreSQL's
#      logical replication applying the same workload between two clusters
#  (c) with a local Vitess (test/vitess/cluster-up.sh): copy of a real
#      keyspace through VTGate vs a raw VStream drain of the same keyspace
#      (Vitess's own Go client, tools/vstream-drain)
#  (d) with a local Vitess: verify() rows compared per second on a table of
#      BENCH_LIVE_ROWS rows (default 300000, own table live_bench in
#      commerce, dropped afterwards) vs a plain read of both sides (the live
#      foreign table, then the mirror)
#  (e) with a local Vitess: latency of LIMIT 1 on the live foreign table vs
#      a full scan of it (ms; ratio = LIMIT 1 / full scan, smaller is better)
#  (g) WAL bytes per applied single-row transaction at 2 and at 256 shards
#      vs logical replication's subscriber (smaller is better), and the
#      apply rate at 256 shards vs logical replication ((b) at 256 shards)
#
# Environment: BENCH_COPY_ROWS (default 1000000), BENCH_TXNS (200000),
# BENCH_REPEAT (5: runs of each benchmark), BENCH_ONLY (abcdeg: which to run),
# BENCH_MIRROR_OPTIONS (1: (a) and (b) with metadata columns and soft deletes),
# BENCH_WAL_TXNS (20000, for (g)),
# BENCH_FSYNC (on), VSTREAM_VITESS_ENV.
#
use strict;
use warnings;
# PostgreSQL::Test::Utils sends STDOUT to its log file: keep the terminal
my $out;
BEGIN { open($out, '>&', \*STDOUT) or die; $out->autoflush(1); }
use FindBin;
use lib "$FindBin::Bin/../test/perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Time::HiRes qw(time sleep);
use Cwd ();
use IPC::Open2 ();
use VStreamSim;

my $copy_rows = $ENV{BENCH_COPY_ROWS} // 1_000_000;
my $txns = $ENV{BENCH_TXNS} // 200_000;
my $repeat = $ENV{BENCH_REPEAT} // 5;
my $only = $ENV{BENCH_ONLY} // 'abcdeg';	# which of (a) .. (g) to run
# BENCH_MIRROR_OPTIONS=1: the streams of (a) and (b) with metadata columns
# and soft deletes (the cost of the mirror options)
my $mirror_options = $ENV{BENCH_MIRROR_OPTIONS} ? ', metadata_columns => true, soft_delete => true' : '';
# every cluster runs with fsync as in production (PostgreSQL::Test::Cluster
# turns it off); BENCH_FSYNC=off for the test-harness setting
my $fsync = $ENV{BENCH_FSYNC} // 'on';
my ($hwm_copy, $hwm_txn) = ('n/a', 'n/a');
my @results;

sub say_ { print $out "@_\n"; }

sub median
{
	my @v = sort { $a <=> $b } @_;
	return @v % 2 ? $v[$#v / 2] : ($v[@v / 2 - 1] + $v[@v / 2]) / 2;
}

# errors on the terminal too (the test library logs everything else)
$SIG{__DIE__} = sub { print $out "bench.pl: $_[0]" unless $^S; };

# Peak private memory (RssAnon, kB) of the stream worker seen while waiting;
# VmHWM would also count the shared buffers the worker touched.
my $peak_anon = 0;

sub sample_worker_memory
{
	my ($node, $pid) = @_;
	$pid //= $node->safe_psql('postgres',
		"SELECT max(worker_pid) FROM vstream_fdw.stream_status");
	return unless $pid;
	open(my $fh, '<', "/proc/$pid/status") or return;
	while (<$fh>)
	{
		$peak_anon = $1 if /^RssAnon:\s*(\d+)/ && $1 > $peak_anon;
	}
	close $fh;
}

sub wait_until
{
	my ($node, $sql, $timeout) = @_;
	my $deadline = time() + ($timeout // 600);
	my $n = 0;
	while (time() < $deadline)
	{
		my $v = $node->safe_psql('postgres', $sql);
		return 1 if $v eq 't';
		sample_worker_memory($node) if $node->name eq 'bench' && ++$n % 10 == 0;
		sleep(0.05);
	}
	die "timeout waiting for: $sql";
}

# peak seen since the benchmark began (reset by each benchmark)
sub worker_hwm
{
	return $peak_anon ? "$peak_anon kB" : 'n/a';
}

# Steady-state apply rate: poll "SELECT <count>" every 20 ms through one
# psql session (no connection per poll) until it reaches $total; the rate
# is measured from the first sample at 2% (worker start-up and connection
# excluded, for both sides) to the first sample at $total.  Commit
# timestamps cannot be used: logical replication commits with the
# publisher's timestamps.
sub apply_rate
{
	my ($node, $count_sql, $total) = @_;
	my ($in, $outp);
	my $pid = IPC::Open2::open2($outp, $in, 'psql', '-X', '-A', '-t', '-q',
		'-d', $node->connstr('postgres'));
	$in->autoflush(1);
	my ($t0, $n0);
	my $deadline = time() + 600;
	my $polls = 0;
	my $worker_pid;
	while (1)
	{
		print $in "$count_sql;\n";
		my $n = <$outp>;
		die "psql ended" unless defined $n;
		chomp $n;
		my $t = time();
		($t0, $n0) = ($t, $n) if !defined $t0 && $n >= 0.02 * $total;
		if ($n >= $total)
		{
			close $in;
			waitpid($pid, 0);
			die "too few samples to measure a rate" if !defined $t0 || $t <= $t0;
			return ($n - $n0) / ($t - $t0);
		}
		die "timeout waiting for $total rows" if $t > $deadline;
		if ($node->name eq 'bench' && ++$polls % 10 == 0)
		{
			# the worker's pid through the same session: no new connection
			# (that would cost this side CPU the other side does not pay)
			if (!$worker_pid)
			{
				print $in "SELECT coalesce(max(worker_pid), 0) FROM vstream_fdw.stream_status;\n";
				$worker_pid = <$outp>;
				chomp $worker_pid;
			}
			sample_worker_memory($node, $worker_pid) if $worker_pid;
		}
		sleep(0.02);
	}
}

my $node = PostgreSQL::Test::Cluster->new('bench');
$node->init;
# the mirror and the subscriber run with the same settings: PostgreSQL's
# defaults where the test library departs from them (fsync, wal_level,
# log_statement), more memory and fewer checkpoints for both
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'vstream_fdw'
vstream_fdw.database = 'postgres'
shared_buffers = '512MB'
max_wal_size = '4GB'
checkpoint_timeout = '30min'
wal_level = 'replica'
log_min_messages = warning
log_statement = 'none'
fsync = $fsync
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION vstream_fdw');

# ---------------------------------------------------------------- (a) copy
sub bench_copy
{
	$peak_anon = 0;
	say_("(a) copy phase: $copy_rows rows, 2 shards, $repeat runs");
	my ($best_ours, $best_copy) = (0, 0);
	my @ratios;
	for my $run (1 .. $repeat)
	{
		# as in (b), the test VTGate encodes the rows before it serves them
		my $sim = VStreamSim->start(generate => "copy:$copy_rows,prerender=1");
		$node->safe_psql('postgres', qq{
			SELECT vstream_fdw.drop_stream(server_name, true) FROM vstream_fdw.stream;
			DROP TABLE IF EXISTS public.bench_copy;
			${\ $sim->server_sql('bench') }});
		$node->safe_psql('postgres', 'CHECKPOINT');
		my $t0 = time();
		$node->safe_psql('postgres', qq{SELECT vstream_fdw.create_stream('bench'$mirror_options)});
		wait_until($node, 'SELECT coalesce(bool_and(copy_completed), false) FROM vstream_fdw.checkpoint');
		my $ours = $copy_rows / (time() - $t0);
		$hwm_copy = worker_hwm($node);
		my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM bench.bench');
		die "mirror has $n rows, expected $copy_rows" unless $n == $copy_rows;
		$node->safe_psql('postgres', q{SELECT vstream_fdw.stop_stream('bench')});
		$sim->stop;

		my $file = Cwd::abs_path($node->basedir) . '/bench_rows.copy';
		$node->safe_psql('postgres', qq{
			COPY bench.bench TO '$file';
			CREATE TABLE public.bench_copy (LIKE bench.bench INCLUDING ALL);
			CHECKPOINT;});
		$t0 = time();
		$node->safe_psql('postgres', qq{COPY public.bench_copy FROM '$file'});
		my $copy = $copy_rows / (time() - $t0);
		unlink $file;
		$best_ours = $ours if $ours > $best_ours;
		$best_copy = $copy if $copy > $best_copy;
		push @ratios, $ours / $copy;
		say_(sprintf("    run %d: vstream_fdw %.0f rows/s, COPY %.0f rows/s (%.2f)", $run, $ours, $copy, $ours / $copy));
	}
	push @results, [ '(a) copy phase rows/s vs PostgreSQL COPY', $best_ours, $best_copy, median(@ratios), 0.7 ];
}

# ----------------------------------------------------- (b) single-row txns
sub bench_txns
{
	$peak_anon = 0;
	say_("(b) $txns single-row transactions, $repeat runs");
	my ($best_apply, $best_logical) = (0, 0);
	my @ratios;
	my $pub = PostgreSQL::Test::Cluster->new('publisher');
	$pub->init(allows_streaming => 'logical');
	$pub->append_conf('postgresql.conf',
		"max_wal_size = '4GB'\nlog_min_messages = warning\nfsync = $fsync\nlog_statement = 'none'\n");
	$pub->start;
	my $sub = PostgreSQL::Test::Cluster->new('subscriber');
	$sub->init;
	$sub->append_conf('postgresql.conf',
		"max_wal_size = '4GB'\nlog_min_messages = warning\nfsync = $fsync\n"
		  . "shared_buffers = '512MB'\ncheckpoint_timeout = '30min'\nwal_level = 'replica'\n"
		  . "log_statement = 'none'\n");
	$sub->start;
	my $shape = 'id bigint PRIMARY KEY, name text, amount numeric(12,2), created timestamp(0)';
	for my $run (1 .. $repeat)
	{
		# the test VTGate encodes the backlog before it serves it, so that
		# its own (Python) work does not compete with the worker for CPU
		my $sim = VStreamSim->start(generate => "txns:$txns,prerender=1");
		$node->safe_psql('postgres', qq{
			SELECT vstream_fdw.drop_stream(server_name, true) FROM vstream_fdw.stream;
			${\ $sim->server_sql('bench') }
			CHECKPOINT;});
		$node->safe_psql('postgres', qq{SELECT vstream_fdw.create_stream('bench', start => 'current'$mirror_options)});
		# the k-th transaction inserts id 10^9 + k - 1, in order: max(id)
		# counts them, as on the logical replication side (an index probe)
		wait_until($node, q{SELECT to_regclass('bench.bench') IS NOT NULL});
		my $ours = apply_rate($node, 'SELECT coalesce(max(id) - 999999999, 0) FROM bench.bench', $txns);
		my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM bench.bench');
		die "mirror has $n rows, expected $txns" unless $n == $txns;
		$hwm_txn = worker_hwm($node);
		$node->safe_psql('postgres', q{SELECT vstream_fdw.stop_stream('bench')});
		$sim->stop;

		# the same workload through logical replication: the backlog is built
		# with the subscription disabled, then applied
		$pub->safe_psql('postgres', qq{
			DROP PUBLICATION IF EXISTS p; DROP TABLE IF EXISTS bench;
			CREATE TABLE bench ($shape); CREATE PUBLICATION p FOR TABLE bench;});
		$sub->safe_psql('postgres', qq{
			DROP SUBSCRIPTION IF EXISTS s; DROP TABLE IF EXISTS bench;
			CREATE TABLE bench ($shape);
			CREATE SUBSCRIPTION s CONNECTION '${\ $pub->connstr() } dbname=postgres'
			  PUBLICATION p WITH (copy_data = false, enabled = false);});
		# the backlog is not what is measured: build it without a flush per commit
		$pub->safe_psql('postgres', qq{
			SET synchronous_commit = off;
			DO \$\$ BEGIN
			  FOR i IN 1..$txns LOOP
			    INSERT INTO bench VALUES (i, 'name-' || i, i / 100.0, '2024-01-01'::timestamp + i * interval '1 second');
			    COMMIT;
			  END LOOP;
			END \$\$;});
		$pub->safe_psql('postgres', 'CHECKPOINT');
		$sub->safe_psql('postgres', 'CHECKPOINT');
		$sub->safe_psql('postgres', 'ALTER SUBSCRIPTION s ENABLE');
		# ids 1..N arrive in order: max(id) counts them (an index probe)
		my $logical = apply_rate($sub, 'SELECT coalesce(max(id), 0) FROM bench', $txns);
		$sub->safe_psql('postgres', 'ALTER SUBSCRIPTION s DISABLE');
		$best_apply = $ours if $ours > $best_apply;
		$best_logical = $logical if $logical > $best_logical;
		push @ratios, $ours / $logical;
		say_(sprintf("    run %d: vstream_fdw %.0f txn/s, logical replication %.0f txn/s (%.2f)",
			$run, $ours, $logical, $ours / $logical));
	}
	push @results, [ '(b) 1-row source txns/s vs logical replication', $best_apply, $best_logical, median(@ratios), 1.0 ];
	$sub->safe_psql('postgres', 'DROP SUBSCRIPTION s');
	$sub->stop;
	$pub->stop;
}

# ------------------------------------------------------ (c) real Vitess
sub bench_vitess
{
	my $envfile = $ENV{VSTREAM_VITESS_ENV} // '/tmp/vt-vstream/env.sh';
	my $drain = ($ENV{VITESS_CACHE} // '/var/cache/vstream_fdw') . '/bin/vstream-drain';
	if (-f $envfile && -x $drain)
	{
		my %env;
		open(my $fh, '<', $envfile) or die;
		while (<$fh>) { $env{$1} = $2 if /^export (\w+)=['"]?(.*?)['"]?$/; }
		close $fh;
		my $gport = $env{VTGATE_GRPC_PORT} // 15991;
		say_("(c) real Vitess: copy of keyspace customer, ours vs raw VStream drain");
		# enough rows to measure: top corder up to BENCH_VITESS_ROWS
		my $want = $ENV{BENCH_VITESS_ROWS} // 200_000;
		my $have = `mysql -h 127.0.0.1 -P $env{VTGATE_MYSQL_PORT} -u root -N -e "set workload='olap'; select count(*) from corder" customer 2>/dev/null`;
		chomp $have;
		if (($have // 0) =~ /^\d+$/ && $have < $want)
		{
			say_("    loading " . ($want - $have) . " rows into customer.corder first");
			system("bash", "$FindBin::Bin/../test/vitess/load-corder.sh", $want - $have, 5_000_000 + $have) == 0
			  or die "load-corder.sh failed";
		}
		my $out = `$drain -server 127.0.0.1:$gport -keyspace customer -copy -until-copy-completed 2>&1`;
		my ($drain_rate) = $out =~ /\brows_per_s=([\d.]+)/;
		if ($drain_rate)
		{
			$node->safe_psql('postgres', qq{
				SELECT vstream_fdw.drop_stream(server_name, true) FROM vstream_fdw.stream;
				DROP SERVER IF EXISTS vt CASCADE;
				CREATE SERVER vt FOREIGN DATA WRAPPER vstream_fdw
				  OPTIONS (host '127.0.0.1', port '$gport', keyspace 'customer');});
			my $t0 = time();
			$node->safe_psql('postgres', q{SELECT vstream_fdw.create_stream('vt')});
			wait_until($node, 'SELECT coalesce(bool_and(copy_completed), false) FROM vstream_fdw.checkpoint');
			my $el = time() - $t0;
			my $n = $node->safe_psql('postgres',
				q{SELECT sum(n) FROM (SELECT count(*) n FROM vt.customer UNION ALL SELECT count(*) FROM vt.corder) s});
			push @results, [ "(c) real Vitess copy rows/s vs raw drain ($n rows)", $n / $el, $drain_rate,
				$n / $el / $drain_rate, undef ];
		}
		else
		{
			say_("    vstream-drain printed no rate; skipped:\n$out");
		}
	}
	else
	{
		say_("(c) skipped: no local Vitess ($envfile) or no $drain");
	}
}

# ------------------------------------------- (d), (e) verify and live reads
sub vitess_env
{
	my $envfile = $ENV{VSTREAM_VITESS_ENV} // '/tmp/vt-vstream/env.sh';
	return undef unless -f $envfile;
	my %env;
	open(my $fh, '<', $envfile) or die;
	while (<$fh>) { $env{$1} = $2 if /^export (\w+)=['"]?(.*?)['"]?$/; }
	close $fh;
	return \%env;
}

sub timed
{
	my ($sql) = @_;
	my $t0 = time();
	my $v = $node->safe_psql('postgres', $sql);
	return (time() - $t0, $v);
}

sub bench_live
{
	my $env = vitess_env();
	if (!$env)
	{
		say_('(d), (e) skipped: no local Vitess');
		return;
	}
	my $rows = $ENV{BENCH_LIVE_ROWS} // 300_000;
	my $mysql = "mysql -h 127.0.0.1 -P $env->{VTGATE_MYSQL_PORT} -u root commerce";
	my $sock = "$env->{VTDATAROOT}/vt_0000000100/mysql.sock";
	say_("(d), (e) real Vitess: live_bench ($rows rows) in commerce: verify() and live reads");
	system("$mysql -e 'drop table if exists live_bench; create table live_bench(id bigint primary key, v int, s varchar(40), d datetime)'") == 0
	  or die "cannot create live_bench";
	system("mysql -S $sock -u vt_dba -e \"use vt_commerce; insert into live_bench "
		  . "select seq, seq % 1000, concat('row ', seq), '2026-01-01' + interval seq second from seq_1_to_$rows\"") == 0
	  or die "cannot load live_bench";
	$node->safe_psql('postgres', qq{
		SELECT vstream_fdw.drop_stream(server_name, true) FROM vstream_fdw.stream;
		DROP SERVER IF EXISTS lb CASCADE;
		CREATE SERVER lb FOREIGN DATA WRAPPER vstream_fdw
		  OPTIONS (host '127.0.0.1', port '$env->{VTGATE_GRPC_PORT}', mysql_port '$env->{VTGATE_MYSQL_PORT}',
		           keyspace 'commerce');
		CREATE USER MAPPING FOR PUBLIC SERVER lb OPTIONS (user 'root');
		DROP SCHEMA IF EXISTS lbf CASCADE;
		CREATE SCHEMA lbf;
		IMPORT FOREIGN SCHEMA commerce LIMIT TO (live_bench) FROM SERVER lb INTO lbf;
		SELECT vstream_fdw.create_stream('lb', ARRAY['live_bench'], 'lbm');});
	wait_until($node, "SELECT coalesce(bool_and(copy_completed), false) FROM vstream_fdw.checkpoint");
	wait_until($node, "SELECT count(*) = $rows FROM lbm.live_bench");
	my (@vr, @lr);
	my ($best_verify, $best_plain, $best_limit, $best_full) = (0, 0, 1e9, 1e9);
	for my $run (1 .. $repeat)
	{
		my ($tv, $res) = timed(q{SELECT source_rows || '|' || missing + extra + different
			FROM vstream_fdw.verify('lb') WHERE kind = 'summary'});
		die "verify: $res" unless $res eq "$rows|0";
		my ($ts) = timed('SELECT count(id), count(v), count(s), count(d) FROM lbf.live_bench');
		my ($tm) = timed('SELECT count(id), count(v), count(s), count(d) FROM lbm.live_bench');
		my ($tl) = timed('SELECT * FROM lbf.live_bench LIMIT 1');
		my $verify_rate = $rows / $tv;
		my $plain_rate = $rows / ($ts + $tm);
		push @vr, $verify_rate / $plain_rate;
		push @lr, $tl / $ts;
		$best_verify = $verify_rate if $verify_rate > $best_verify;
		$best_plain = $plain_rate if $plain_rate > $best_plain;
		$best_limit = $tl if $tl < $best_limit;
		$best_full = $ts if $ts < $best_full;
		say_(sprintf("    run %d: verify %.2f s, read source %.2f s + mirror %.2f s, LIMIT 1 %.1f ms",
			$run, $tv, $ts, $tm, $tl * 1000));
	}
	push @results, [ "(d) verify() rows/s vs plain read of both sides", $best_verify, $best_plain, median(@vr), undef ];
	push @results, [ "(e) live LIMIT 1 vs full scan (ms)", $best_limit * 1000, $best_full * 1000, median(@lr), undef ];
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('lb', true); DROP SERVER lb CASCADE; DROP SCHEMA lbf});
	system("$mysql -e 'drop table live_bench'");
}

# ------------------------------------ (g) WAL per applied 1-row transaction
# WAL written on the applying side per single-row source transaction, ours
# at 2 and at 256 shards (VTGate sends the whole VGTID with every
# transaction; only the transaction's shard's position row is rewritten)
# vs the subscriber of PostgreSQL's logical replication applying the same
# workload (no shards there: one baseline for both).  Also the apply rate at
# 256 shards vs logical replication, i.e. (b) at 256 shards.
# BENCH_WAL_TXNS (default 20000) transactions per run.

# (txn/s, WAL bytes/txn) of an apply, sampled from 2% to 100% of $total
# through one psql session: "SELECT <count>, <current WAL LSN in bytes>"
sub wal_rate
{
	my ($node, $count_sql, $total) = @_;
	my ($in, $outp);
	my $pid = IPC::Open2::open2($outp, $in, 'psql', '-X', '-A', '-t', '-q', '-F', ' ',
		'-d', $node->connstr('postgres'));
	$in->autoflush(1);
	my ($t0, $n0, $l0, @first);
	my $deadline = time() + 600;
	while (1)
	{
		print $in "SELECT ($count_sql), pg_current_wal_insert_lsn() - '0/0';\n";
		my $line = <$outp>;
		die "psql ended" unless defined $line;
		chomp $line;
		my ($n, $lsn) = split / /, $line;
		my $t = time();
		@first = ($t, $n, $lsn) unless @first;
		($t0, $n0, $l0) = ($t, $n, $lsn) if !defined $t0 && $n >= 0.02 * $total && $n < $total;
		if ($n >= $total)
		{
			close $in;
			waitpid($pid, 0);
			# applied faster than the polls: from the first sample on
			($t0, $n0, $l0) = @first if !defined $t0;
			die "too few samples to measure" if $n <= $n0 || $t <= $t0;
			return (($n - $n0) / ($t - $t0), ($lsn - $l0) / ($n - $n0));
		}
		die "timeout waiting for $total rows" if $t > $deadline;
		sleep(0.02);
	}
}

sub bench_wal
{
	my $n = $ENV{BENCH_WAL_TXNS} // 20000;
	say_("(g) WAL per applied single-row transaction: $n transactions, 2 and 256 shards, $repeat runs");
	my $pub = PostgreSQL::Test::Cluster->new('wal_publisher');
	$pub->init(allows_streaming => 'logical');
	$pub->append_conf('postgresql.conf',
		"max_wal_size = '4GB'\nlog_min_messages = warning\nfsync = $fsync\nlog_statement = 'none'\n");
	$pub->start;
	my $sub = PostgreSQL::Test::Cluster->new('wal_subscriber');
	$sub->init;
	$sub->append_conf('postgresql.conf',
		"max_wal_size = '4GB'\nlog_min_messages = warning\nfsync = $fsync\n"
		  . "shared_buffers = '512MB'\ncheckpoint_timeout = '30min'\nwal_level = 'replica'\n"
		  . "log_statement = 'none'\n");
	$sub->start;
	my $shape = 'id bigint PRIMARY KEY, name text, amount numeric(12,2), created timestamp(0)';
	my (%wal, %rate, @lwal, @lrate, %wratio, %rratio);
	for my $run (1 .. $repeat)
	{
		# logical replication: the backlog is built with the subscription
		# disabled, then applied
		$pub->safe_psql('postgres', qq{
			DROP PUBLICATION IF EXISTS p; DROP TABLE IF EXISTS bench;
			CREATE TABLE bench ($shape); CREATE PUBLICATION p FOR TABLE bench;});
		$sub->safe_psql('postgres', qq{
			DROP SUBSCRIPTION IF EXISTS s; DROP TABLE IF EXISTS bench;
			CREATE TABLE bench ($shape);
			CREATE SUBSCRIPTION s CONNECTION '${\ $pub->connstr() } dbname=postgres'
			  PUBLICATION p WITH (copy_data = false, enabled = false);});
		$pub->safe_psql('postgres', qq{
			SET synchronous_commit = off;
			DO \$\$ BEGIN
			  FOR i IN 1..$n LOOP
			    INSERT INTO bench VALUES (i, 'name-' || i, i / 100.0, '2024-01-01'::timestamp + i * interval '1 second');
			    COMMIT;
			  END LOOP;
			END \$\$;});
		$pub->safe_psql('postgres', 'CHECKPOINT');
		$sub->safe_psql('postgres', 'CHECKPOINT');
		$sub->safe_psql('postgres', 'ALTER SUBSCRIPTION s ENABLE');
		my ($lr, $lw) = wal_rate($sub, 'SELECT coalesce(max(id), 0) FROM bench', $n);
		$sub->safe_psql('postgres', 'ALTER SUBSCRIPTION s DISABLE');
		push @lwal, $lw;
		push @lrate, $lr;
		for my $k (2, 256)
		{
			my $sim = VStreamSim->start(generate => "txns:$n,nshards=$k,prerender=1");
			$node->safe_psql('postgres', qq{
				SELECT vstream_fdw.drop_stream(server_name, true) FROM vstream_fdw.stream;
				${\ $sim->server_sql('bench') }
				CHECKPOINT;});
			$node->safe_psql('postgres', q{SELECT vstream_fdw.create_stream('bench', start => 'current')});
			wait_until($node, q{SELECT to_regclass('bench.bench') IS NOT NULL});
			my ($r, $w) = wal_rate($node, 'SELECT coalesce(max(id) - 999999999, 0) FROM bench.bench', $n);
			$node->safe_psql('postgres', q{SELECT vstream_fdw.stop_stream('bench')});
			$sim->stop;
			push @{ $wal{$k} }, $w;
			push @{ $rate{$k} }, $r;
			push @{ $wratio{$k} }, $w / $lw;
			push @{ $rratio{$k} }, $r / $lr;
			say_(sprintf("    run %d, %3d shards: vstream_fdw %.0f WAL bytes/txn, %.0f txn/s; "
				  . "logical replication %.0f WAL bytes/txn, %.0f txn/s (WAL %.2f, rate %.2f)",
				$run, $k, $w, $r, $lw, $lr, $w / $lw, $r / $lr));
		}
	}
	for my $k (2, 256)
	{
		push @results, [ "(g) WAL bytes/1-row txn, $k shards, vs logical repl.",
			median(@{ $wal{$k} }), median(@lwal), median(@{ $wratio{$k} }), undef ];
	}
	push @results, [ '(g) 1-row txns/s, 256 shards, vs logical replication',
		median(@{ $rate{256} }), median(@lrate), median(@{ $rratio{256} }), undef ];
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream(server_name, true) FROM vstream_fdw.stream});
	$sub->safe_psql('postgres', 'DROP SUBSCRIPTION s');
	$sub->stop;
	$pub->stop;
}

bench_copy() if $only =~ /a/;
bench_txns() if $only =~ /b/;
bench_vitess() if $only =~ /c/;
bench_live() if $only =~ /[de]/;
bench_wal() if $only =~ /g/;
$node->stop;

say_('');
# ours and baseline: best run of each; ratio: median of the per-run ratios
# (each run measures both sides back to back, so a slow spell of this
# machine hits both)
say_(sprintf("%-52s %12s %12s %7s %8s", 'benchmark', 'ours', 'baseline', 'ratio', 'target'));
for my $r (@results)
{
	my ($name, $ours, $base, $ratio, $target) = @$r;
	say_(sprintf("%-52s %12.0f %12.0f %7.3f %8s", $name, $ours, $base, $ratio,
		defined $target ? ">= $target" : '-'));
}
say_("worker peak private memory (RssAnon): copy $hwm_copy, transactions $hwm_txn");
