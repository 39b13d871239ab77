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
#  (c) with a local Vitess (test/vitess/cluster-up.sh): copy of
#      BENCH_VITESS_ROWS rows (default 200000; own table bench_rows in the
#      sharded keyspace customer, dropped afterwards) through VTGate vs a raw
#      VStream drain of the same table (Vitess's own Go client,
#      tools/vstream-drain)
#  (d) with a local Vitess: the same copy, then a replication backlog of
#      BENCH_BACKLOG_ROWS rows (default 100000, written as 10-row statements
#      while every consumer is stopped, then applied), vs Debezium's Vitess
#      connector feeding Debezium's JDBC sink into the same PostgreSQL
#      (tools/debezium-bench: one JVM, embedded engine, no Kafka): rows/s,
#      peak memory, rows written twice
#  (e) with a local Vitess: end-to-end latency from source commit to visible
#      in the mirror at a steady BENCH_LAT_RATE (default 1000) single-row
#      source transactions per second from BENCH_LAT_CONNS (4) connections
#      through VTGate, for BENCH_LAT_SECONDS (20): p50 and p99, vs the 10 ms
#      target
#  (f) with a local Vitess: the backlog of (d) applied by us vs drained raw
#      by tools/vstream-drain from the same position
#  (h) with a local Vitess: verify() rows compared per second on a table of
#      BENCH_LIVE_ROWS rows (default 300000, own table live_bench in
#      commerce, dropped afterwards) vs a plain read of both sides (the live
#      foreign table, then the mirror)
#  (i) with a local Vitess: latency of LIMIT 1 on the live foreign table vs
#      a full scan of it (ms; ratio = LIMIT 1 / full scan, smaller is better)
#  (g) WAL bytes per applied single-row transaction at 2 and at 256 shards
#      vs logical replication's subscriber (smaller is better), and the
#      apply rate at 256 shards vs logical replication ((b) at 256 shards)
#
# (c), (d) and (f) share one table and run together: each run copies it on
# all three sides, then writes one backlog and applies it on all three.
#
# Environment: BENCH_COPY_ROWS (default 1000000), BENCH_TXNS (200000),
# BENCH_REPEAT (5: runs of each benchmark), BENCH_ONLY (abcdefghi: which to
# run), BENCH_FSYNC (on), VSTREAM_VITESS_ENV, VITESS_CACHE (where
# vstream-drain and debezium-bench are built), BENCH_VITESS_ROWS,
# BENCH_BACKLOG_ROWS, BENCH_LAT_RATE, BENCH_LAT_CONNS, BENCH_LAT_SECONDS,
# BENCH_MIRROR_OPTIONS (1: (a) and (b) with metadata columns and soft deletes),
# BENCH_WAL_TXNS (20000, for (g)).
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
use POSIX ();
use VStreamSim;

my $copy_rows = $ENV{BENCH_COPY_ROWS} // 1_000_000;
my $txns = $ENV{BENCH_TXNS} // 200_000;
my $repeat = $ENV{BENCH_REPEAT} // 5;
my $only = $ENV{BENCH_ONLY} // 'abcdefghi';	# which of (a) .. (i) to run
# BENCH_MIRROR_OPTIONS=1: the streams of (a) and (b) with metadata columns
# and soft deletes (the cost of the mirror options)
my $mirror_options = $ENV{BENCH_MIRROR_OPTIONS} ? ', metadata_columns => true, soft_delete => true' : '';
# every cluster runs with fsync as in production (PostgreSQL::Test::Cluster
# turns it off); BENCH_FSYNC=off for the test-harness setting
my $fsync = $ENV{BENCH_FSYNC} // 'on';
my ($hwm_copy, $hwm_txn) = ('n/a', 'n/a');
my @results;
my @notes;	# lines printed under the table
my $worker_cpu;	# share of a core the worker used in the last time_until_count()

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
my $peak_hwm = 0;	# VmHWM of the worker (peak resident set, shared buffers included)

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
		$peak_hwm = $1 if /^VmHWM:\s*(\d+)/ && $1 > $peak_hwm;
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
listen_addresses = '127.0.0.1'
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
	push @results, [ '(a) copy phase rows/s vs PostgreSQL COPY', $best_ours, $best_copy, median(@ratios), 1.2 ];
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
	push @results, [ '(b) 1-row source txns/s vs logical replication', $best_apply, $best_logical, median(@ratios), 1.3 ];
	$sub->safe_psql('postgres', 'DROP SUBSCRIPTION s');
	$sub->stop;
	$pub->stop;
}

# ------------------------------------------- (c), (d), (f) real Vitess
# Time from $start (a closure starting the consumer) until "$count_sql"
# returns $total, polled every 20 ms through one psql session; the
# worker's memory is sampled on the way.
sub time_until_count
{
	my ($start, $count_sql, $total, $perf_name) = @_;
	my ($in, $outp);
	my $pid = IPC::Open2::open2($outp, $in, 'psql', '-X', '-A', '-t', '-q',
		'-d', $node->connstr('postgres'));
	$in->autoflush(1);
	my $t0 = time();
	$start->();
	my $deadline = $t0 + 900;
	my ($polls, $worker_pid, $cpu0, $tcpu0) = (0, 0);
	while (1)
	{
		print $in "$count_sql;\n";
		my $n = <$outp>;
		die "psql ended" unless defined $n;
		chomp $n;
		my $t = time();
		if ($n >= $total)
		{
			close $in;
			waitpid($pid, 0);
			stop_perf($perf_name) if $perf_name;
			# share of one core the worker used from when it was first seen
			$worker_cpu = $worker_pid && $cpu0 ? (worker_cpu_s($worker_pid) - $cpu0) / ($t - $tcpu0) : undef;
			return $t - $t0;
		}
		die "timeout waiting for $total rows ($n)" if $t > $deadline;
		if (++$polls % 10 == 0 || ($perf_name && !$worker_pid))
		{
			if (!$worker_pid)
			{
				print $in "SELECT coalesce(max(worker_pid), 0) FROM vstream_fdw.stream_status;\n";
				$worker_pid = <$outp>;
				chomp $worker_pid;
				($cpu0, $tcpu0) = (worker_cpu_s($worker_pid), time()) if $worker_pid;
				start_perf($perf_name, $worker_pid) if $perf_name && $worker_pid;
			}
			sample_worker_memory($node, $worker_pid) if $worker_pid;
		}
		sleep(0.02);
	}
}

# user + system CPU seconds of a process

# seconds a process (all its threads) has spent runnable, waiting for a CPU
sub schedstat
{
	my ($pid) = @_;
	my $wait = 0;
	for my $f (glob("/proc/$pid/task/*/schedstat"))
	{
		open(my $fh, '<', $f) or next;
		my (undef, $w) = split ' ', scalar <$fh>;
		close $fh;
		$wait += $w;
	}
	return $wait / 1e9;
}

sub cpu_pct { return defined $worker_cpu ? sprintf('%.0f%%', 100 * $worker_cpu) : 'n/a'; }

sub worker_cpu_s
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/stat") or return 0;
	my @f = split ' ', (split /\) /, scalar <$fh>)[1];
	close $fh;
	return ($f[11] + $f[12]) / POSIX::sysconf(POSIX::_SC_CLK_TCK());
}

# BENCH_PERF=1: profile the worker (perf record, user space) while it
# applies in (c)/(f) and print the top of the report
my $perf_pid;

sub start_perf
{
	my ($name, $pid) = @_;
	my $file = Cwd::abs_path($node->basedir) . "/perf-$name.data";
	$perf_pid = fork();
	die "fork: $!" unless defined $perf_pid;
	if (!$perf_pid)
	{
		open(STDERR, '>', '/dev/null');
		exec('perf', 'record', '-e', 'cpu-clock:u', '-F', '2000', '-g', '-p', $pid, '-o', $file)
		  or POSIX::_exit(1);
	}
}

sub stop_perf
{
	my ($name) = @_;
	return unless $perf_pid;
	kill('INT', $perf_pid);
	waitpid($perf_pid, 0);
	$perf_pid = undef;
	my $file = Cwd::abs_path($node->basedir) . "/perf-$name.data";
	my @top = grep { /^\s+\d/ } `perf report -i $file --no-children --percent-limit 1.5 --stdio -g none 2>/dev/null`;
	say_("    perf, worker ($name), top self time:");
	say_("      " . join('      ', @top[0 .. ($#top < 24 ? $#top : 24)]));
}

# rows inserted + updated in a table minus the rows it holds: rows written
# twice (the cumulative statistics, read once their writers have exited)
sub rows_written_twice
{
	my ($rel) = @_;
	sleep(1.2);
	return $node->safe_psql('postgres', qq{
		SELECT pg_stat_clear_snapshot();
		SELECT n_tup_ins + n_tup_upd - (SELECT count(*) FROM $rel)
		FROM pg_stat_all_tables WHERE relid = '$rel'::regclass});
}

sub run_debezium
{
	my ($cp, $env, %o) = @_;
	my $t0 = time();
	my $cmd = "java -cp '$cp' -Dvtgate.port=$env->{VTGATE_GRPC_PORT} -Dkeyspace=customer -Dtable=bench_rows"
	  . " -Djdbc.url='jdbc:postgresql://127.0.0.1:${\ $node->port }/postgres' -Djdbc.user=" . getpwuid($<)
	  . " -Dtarget=dbz_bench_rows -Doffsets=$o{offsets} -Did.base=$o{base} -Drows=$o{rows} -Dtimeout.s=300"
	  . " vstreamfdw.DebeziumBench 2>$o{log}";
	my $out = `$cmd`;
	my $wall = time() - $t0;
	my %r = $out =~ /(\w+)=([\d.]+)/g;
	if ($? != 0 || !$r{rows_per_s})
	{
		# reported, not fatal: the other sides' figures of the run stand
		$out =~ s/\s+$//;
		say_("    Debezium failed (log $o{log}): $out");
		return undef;
	}
	$r{wall_s} = $wall;
	return \%r;
}

sub bench_real
{
	my $env = vitess_env();
	my $cache = $ENV{VITESS_CACHE} // '/var/cache/vstream_fdw';
	my $drain = "$cache/bin/vstream-drain";
	if (!$env || !-x $drain)
	{
		say_("(c), (d), (f) skipped: no local Vitess ($ENV{VSTREAM_VITESS_ENV}) or no $drain");
		return;
	}
	my $dbz_jar = "$cache/debezium-bench/debezium-bench.jar";
	my $dbz = $only =~ /d/ && -f $dbz_jar && system('java -version >/dev/null 2>&1') == 0;
	say_("(d) skipped: no java or no $dbz_jar (tools/debezium-bench/build.sh, run by bench.sh as root)")
	  if $only =~ /d/ && !$dbz;
	my $cp = "$dbz_jar:$cache/debezium-bench/lib/*";
	my $rows = $ENV{BENCH_VITESS_ROWS} // 200_000;
	my $backlog = $ENV{BENCH_BACKLOG_ROWS} // 100_000;
	my $bbase = 100_000_001;	# first id of the backlog
	my $gport = $env->{VTGATE_GRPC_PORT};
	my $mysql = "mysql -h 127.0.0.1 -P $env->{VTGATE_MYSQL_PORT} -u root customer";
	my $tmp = Cwd::abs_path($node->basedir);
	say_("(c), (d), (f) real Vitess: bench_rows in customer (2 shards): copy of $rows rows,"
		  . " then a backlog of $backlog rows in 10-row statements, $repeat runs");
	# a row of the shape of corder plus a text column
	my $load = sub {
		my ($first, $n, $per, $conns) = @_;
		my @pids;
		for my $c (0 .. $conns - 1)
		{
			my $pid = fork();
			die "fork: $!" unless defined $pid;
			if (!$pid)
			{
				open(my $m, '|-', "$mysql") or die;
				for (my $i = $c * $per; $i < $n; $i += $per * $conns)
				{
					my $last = $i + $per < $n ? $i + $per : $n;
					print $m "insert into bench_rows(id,customer_id,sku,price,note) values "
					  . join(',', map { my $id = $first + $_;
						  "($id," . ($id % 1000) . ",'SKU-" . ($id % 100) . "'," . ($id % 997) . ".25,'row $id')" }
						  $i .. $last - 1) . ";\n";
				}
				POSIX::_exit(close($m) ? 0 : 1);	# no END blocks in a child
			}
			push @pids, $pid;
		}
		for (@pids) { waitpid($_, 0); die "loading bench_rows failed" if $?; }
	};
	# the vschema entry outlives the table: add it only if missing
	system(qq{$mysql -e "alter vschema on customer.bench_rows add vindex hash(id) using hash" >/dev/null 2>&1});
	system(qq{$mysql -e "drop table if exists bench_rows; create table bench_rows (id bigint primary key,
		customer_id bigint, sku varchar(32), price decimal(10,2), note varchar(64))"}) == 0
	  or die "cannot create customer.bench_rows";
	my $t0 = time();
	$load->(1, $rows, 1000, 2);
	say_(sprintf("    loaded %d rows in %.1f s", $rows, time() - $t0));
	$node->safe_psql('postgres', qq{
		SELECT vstream_fdw.drop_stream(server_name, true) FROM vstream_fdw.stream;
		DROP SERVER IF EXISTS vt CASCADE;
		CREATE SERVER vt FOREIGN DATA WRAPPER vstream_fdw
		  OPTIONS (host '127.0.0.1', port '$gport', keyspace 'customer');});
	my (@cr, @br, @dcr, @dbr, @dcm, @dbm, @fr);
	my (%best, $dup_dbz_copy, $dup_dbz_backlog, $dup_ours);
	my ($ours_anon, $ours_hwm, $dbz_hwm, $dbz_anon) = (0, 0, 0, 0);
	my $max = sub { my ($k, $v) = @_; $best{$k} = $v if !defined $best{$k} || $v > $best{$k}; };
	for my $run (1 .. $repeat)
	{
		# --- copy: raw drain, ours, Debezium
		# both sides timed from the command to the end: ours from
		# create_stream() (worker start-up and connection included), the
		# drain's from its start (process start-up and connection included;
		# its own rows_per_s, from the VStream call, is printed beside)
		$t0 = time();
		my $dout = `$drain -server 127.0.0.1:$gport -keyspace customer -tables bench_rows -copy -until-copy-completed 2>&1`;
		my $drain_wall = time() - $t0;
		my ($drain_own) = $dout =~ /\brows_per_s=([\d.]+)/;
		my $drain_copy = $drain_own ? $rows / $drain_wall : undef;
		my ($drain_rows) = $dout =~ /\brows=(\d+)/;
		my ($vgtid) = $dout =~ /^last_vgtid: (.*)$/m;
		die "vstream-drain: $dout" unless $drain_copy && $vgtid && $drain_rows == $rows;
		($peak_anon, $peak_hwm) = (0, 0);
		$node->safe_psql('postgres', q{
			SELECT vstream_fdw.drop_stream(server_name, true) FROM vstream_fdw.stream;
			DROP TABLE IF EXISTS public.dbz_bench_rows; CHECKPOINT;});
		# polled through one session (a psql per poll would blur 1-2 s)
		my $ours_copy = $rows / time_until_count(
			sub { $node->safe_psql('postgres', q{SELECT vstream_fdw.create_stream('vt', ARRAY['bench_rows'])}); },
			'SELECT coalesce(bool_and(copy_completed), false)::int FROM vstream_fdw.checkpoint', 1,
			$ENV{BENCH_PERF} && $run == 1 ? 'copy' : undef);
		sample_worker_memory($node);
		my $n = $node->safe_psql('postgres', 'SELECT count(*) FROM vt.bench_rows');
		die "mirror has $n rows, expected $rows" unless $n == $rows;
		$node->safe_psql('postgres', q{SELECT vstream_fdw.stop_stream('vt')});
		push @cr, $ours_copy / $drain_copy;
		$max->('ours_copy', $ours_copy);
		$max->('drain_copy', $drain_copy);
		my $line = sprintf("    run %d copy: vstream_fdw %.0f rows/s (worker CPU %s), drain %.0f rows/s (%.0f from its VStream call) (%.2f)",
			$run, $ours_copy, cpu_pct(), $drain_copy, $drain_own, $ours_copy / $drain_copy);
		my ($dc, $db);
		my $offsets = "$tmp/dbz-offsets.dat";
		if ($dbz)
		{
			unlink $offsets;
			$node->safe_psql('postgres', 'CHECKPOINT');
			$dc = run_debezium($cp, $env, offsets => $offsets, base => 1, rows => $rows,
				log => "$tmp/dbz-copy-$run.log");
		}
		if ($dc)
		{
			$n = $node->safe_psql('postgres', 'SELECT count(*) FROM public.dbz_bench_rows');
			die "Debezium's table has $n rows, expected $rows" unless $n == $rows;
			push @dcr, $ours_copy / $dc->{rows_per_s};
			$max->('dbz_copy', $dc->{rows_per_s});
			$dbz_hwm = $dc->{vm_hwm_kb} if $dc->{vm_hwm_kb} > $dbz_hwm;
			$dbz_anon = $dc->{rss_anon_peak_kb} if $dc->{rss_anon_peak_kb} > $dbz_anon;
			$dup_dbz_copy = rows_written_twice('public.dbz_bench_rows');
			$line .= sprintf(", Debezium %.0f rows/s (%.1f s, JVM %.0f s)", $dc->{rows_per_s},
				$dc->{elapsed_s}, $dc->{wall_s});
		}
		say_($line);

		# --- backlog: every consumer stopped; 10-row statements from 4 connections
		$t0 = time();
		$load->($bbase, $backlog, 10, 4);
		# then 10 marker rows, one transaction each, after the backlog: on
		# both shards (all 10 on one has odds 2^-9), so that once the mirror
		# holds all 10 it holds the whole backlog (each shard's changes are
		# applied in commit order); the probe reads 10 index entries where
		# a count of the backlog would cost the mirror's side a core
		$load->($bbase + $backlog, 10, 1, 1);
		say_(sprintf("    run %d backlog of %d rows written in %.1f s", $run, $backlog, time() - $t0));
		$node->safe_psql('postgres', 'CHECKPOINT');
		my $blrows = $backlog + 10;
		my $total = $rows + $blrows;
		my $el = time_until_count(sub { $node->safe_psql('postgres', q{SELECT vstream_fdw.start_stream('vt')}); },
			"SELECT count(*) FROM vt.bench_rows WHERE id >= ${\ ($bbase + $backlog) }", 10,
			$ENV{BENCH_PERF} && $run == 1 ? 'backlog' : undef);
		my $ours_bl = $backlog / $el;
		$n = $node->safe_psql('postgres', "SELECT count(*) FROM vt.bench_rows WHERE id >= $bbase");
		die "mirror has $n backlog rows, expected $blrows" unless $n == $blrows;
		sample_worker_memory($node);
		$ours_anon = $peak_anon if $peak_anon > $ours_anon;
		$ours_hwm = $peak_hwm if $peak_hwm > $ours_hwm;
		$node->safe_psql('postgres', q{SELECT vstream_fdw.stop_stream('vt')});
		$dup_ours = rows_written_twice('vt.bench_rows');
		$t0 = time();
		$dout = `$drain -server 127.0.0.1:$gport -keyspace customer -tables bench_rows -vgtid '$vgtid' -max-rows $blrows 2>&1`;
		$drain_wall = time() - $t0;
		($drain_own) = $dout =~ /\brows_per_s=([\d.]+)/;
		my $drain_bl = $drain_own ? $backlog / $drain_wall : undef;
		die "vstream-drain (backlog): $dout" unless $drain_bl;
		push @fr, $ours_bl / $drain_bl;
		$max->('ours_bl', $ours_bl);
		$max->('drain_bl', $drain_bl);
		$line = sprintf("    run %d backlog: vstream_fdw %.0f rows/s (worker CPU %s), drain %.0f rows/s (%.0f from its VStream call) (%.2f)",
			$run, $ours_bl, cpu_pct(), $drain_bl, $drain_own, $ours_bl / $drain_bl);
		if ($dbz && $dc)
		{
			$node->safe_psql('postgres', 'CHECKPOINT');
			$db = run_debezium($cp, $env, offsets => $offsets, base => $bbase, rows => $blrows,
				log => "$tmp/dbz-backlog-$run.log");
		}
		if ($db)
		{
			$n = $node->safe_psql('postgres', 'SELECT count(*) FROM public.dbz_bench_rows');
			die "Debezium's table has $n rows, expected $total" unless $n == $total;
			push @dbr, $ours_bl / $db->{rows_per_s};
			$max->('dbz_bl', $db->{rows_per_s});
			$dbz_hwm = $db->{vm_hwm_kb} if $db->{vm_hwm_kb} > $dbz_hwm;
			$dbz_anon = $db->{rss_anon_peak_kb} if $db->{rss_anon_peak_kb} > $dbz_anon;
			$dup_dbz_backlog = rows_written_twice('public.dbz_bench_rows') - ($dup_dbz_copy // 0);
			$line .= sprintf(", Debezium %.0f rows/s (%.1f s, JVM %.0f s, %d rows redelivered)",
				$db->{rows_per_s}, $db->{elapsed_s}, $db->{wall_s}, $db->{redelivered});
		}
		say_($line);
		# VTGate refuses a DML of more than 10,000 rows per shard
		for (my $i = 0; $i < $blrows; $i += 10_000)
		{
			system("$mysql -e 'delete from bench_rows where id >= " . ($bbase + $i) . " and id < "
				  . ($bbase + $i + 10_000) . "'") == 0 or die "cannot delete the backlog";
		}
	}
	push @results, [ "(c) real Vitess copy rows/s vs raw drain ($rows rows)",
		$best{ours_copy}, $best{drain_copy}, median(@cr), 0.95 ] if $only =~ /c/;
	if (@dcr && @dbr)
	{
		push @results, [ "(d) copy rows/s vs Debezium + JDBC sink", $best{ours_copy}, $best{dbz_copy}, median(@dcr), 10 ];
		push @results, [ "(d) backlog rows/s vs Debezium + JDBC sink", $best{ours_bl}, $best{dbz_bl}, median(@dbr), 10 ];
		push @results, [ "(d) peak RSS kB (VmHWM), Debezium / ours", $ours_hwm, $dbz_hwm,
			$dbz_hwm / ($ours_hwm || 1), 10 ];
		push @results, [ "(d) peak private kB (RssAnon), Debezium / ours", $ours_anon, $dbz_anon,
			$dbz_anon / ($ours_anon || 1), 10 ];
		push @notes, sprintf("(d) rows written twice (last run): ours %d (copy + backlog), "
			  . "Debezium %d in the copy, %d in the backlog", $dup_ours, $dup_dbz_copy, $dup_dbz_backlog);
	}
	push @results, [ "(f) real Vitess backlog rows/s vs raw drain ($backlog rows)",
		$best{ours_bl}, $best{drain_bl}, median(@fr), 0.95 ] if $only =~ /f/;
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('vt', true); DROP SERVER vt CASCADE;
		DROP TABLE IF EXISTS public.dbz_bench_rows});
	system("$mysql -e 'drop table bench_rows' && $mysql -e 'alter vschema on customer.bench_rows drop vindex hash' 2>/dev/null");
}
# ------------------------------------------------------ (e) latency
# A steady BENCH_LAT_RATE single-row transactions per second through VTGate
# from BENCH_LAT_CONNS loader processes (DBD::mysql, autocommit INSERTs on
# an absolute schedule); each loader notes the time each COMMIT was
# acknowledged.  "Visible" is when a separate PostgreSQL session can see
# the row: an AFTER INSERT row trigger on the mirror sends NOTIFY, which
# PostgreSQL delivers only after the worker's transaction committed, to a
# listening session (DBD::Pg) that notes the arrival time.  Latency =
# arrival - acknowledged commit, same clock (one machine); the source's
# commit happened between the INSERT's sending and its acknowledgement, so
# arrival - sent is printed too (an upper bound).  The first 2 s
# (connections warming up) are left out.  The trigger puts the mirror on
# the apply path of mirrors with triggers (row by row, as it would be for
# any user trigger); at one row per transaction that is the same work.
sub bench_latency
{
	my $env = vitess_env();
	if (!$env || !eval { require DBI; require DBD::mysql; require DBD::Pg; 1 })
	{
		say_('(e) skipped: no local Vitess, or no DBD::mysql / DBD::Pg (apt-get install libdbd-mysql-perl libdbd-pg-perl)');
		return;
	}
	my $rate = $ENV{BENCH_LAT_RATE} // 1000;
	my $conns = $ENV{BENCH_LAT_CONNS} // 4;
	my $secs = $ENV{BENCH_LAT_SECONDS} // 20;
	my $gport = $env->{VTGATE_GRPC_PORT};
	my $mysql = "mysql -h 127.0.0.1 -P $env->{VTGATE_MYSQL_PORT} -u root customer";
	my $tmp = Cwd::abs_path($node->basedir);
	say_("(e) latency: $rate txn/s from $conns connections for $secs s, $repeat runs");
	# the vschema entry outlives the table: add it only if missing
	system(qq{$mysql -e "alter vschema on customer.bench_lat add vindex hash(id) using hash" >/dev/null 2>&1});
	system(qq{$mysql -e "drop table if exists bench_lat; create table bench_lat (id bigint primary key, v bigint)"}) == 0
	  or die "cannot create customer.bench_lat";
	$node->safe_psql('postgres', qq{
		SELECT vstream_fdw.drop_stream(server_name, true) FROM vstream_fdw.stream;
		DROP SERVER IF EXISTS vtl CASCADE;
		CREATE SERVER vtl FOREIGN DATA WRAPPER vstream_fdw
		  OPTIONS (host '127.0.0.1', port '$gport', keyspace 'customer');
		SELECT vstream_fdw.create_stream('vtl', ARRAY['bench_lat']);});
	wait_until($node, 'SELECT coalesce(bool_and(copy_completed), false) FROM vstream_fdw.checkpoint');
	wait_until($node, q{SELECT to_regclass('vtl.bench_lat') IS NOT NULL});
	$node->safe_psql('postgres', q{
		CREATE FUNCTION public.bench_lat_notify() RETURNS trigger LANGUAGE plpgsql AS
		  $$ BEGIN PERFORM pg_notify('bench_lat', NEW.id || ' ' || extract(epoch FROM clock_timestamp()));
		  RETURN NULL; END $$;
		CREATE TRIGGER bench_lat_notify AFTER INSERT ON vtl.bench_lat
		  FOR EACH ROW EXECUTE FUNCTION public.bench_lat_notify();});
	my (@p50, @p99, @p99s, @achieved, @dp50, @dp99, @r99);
	my $drain = ($ENV{VITESS_CACHE} // '/var/cache/vstream_fdw') . '/bin/vstream-drain';
	for my $run (1 .. $repeat)
	{
		my $pg = DBI->connect("dbi:Pg:dbname=postgres;host=${\ $node->host };port=${\ $node->port }",
			'', '', { RaiseError => 1, AutoCommit => 1 });
		$pg->do('LISTEN bench_lat');
		my $fd = $pg->{pg_socket};
		my $n_per = int($rate * $secs / $conns);
		my $interval = $conns / $rate;
		# the raw drain watches the same rows at the same time: when each
		# arrives at a client of VTGate that does nothing with it
		my $drain_pid;
		if (-x $drain)
		{
			$drain_pid = fork();
			die "fork: $!" unless defined $drain_pid;
			if (!$drain_pid)
			{
				open(STDOUT, '>', "$tmp/lat-drain.txt") or die;
				open(STDERR, '>', '/dev/null');
				exec($drain, '-server', "127.0.0.1:$gport", '-keyspace', 'customer', '-tables', 'bench_lat',
					'-row-times', '-print-vgtid=false', '-duration', ($secs + 15) . 's')
				  or POSIX::_exit(1);
			}
		}
		my $start = time() + 1.5;
		my $wpid = $node->safe_psql('postgres', 'SELECT max(worker_pid) FROM vstream_fdw.stream_status');
		my @ws0 = (schedstat($wpid), worker_cpu_s($wpid), time());
		my @ds0 = $drain_pid ? (schedstat($drain_pid), worker_cpu_s($drain_pid)) : ();
		my $idbase = $run * 10_000_000;
		my @pids;
		for my $c (0 .. $conns - 1)
		{
			my $pid = fork();
			die "fork: $!" unless defined $pid;
			if (!$pid)
			{
				my $my = DBI->connect("dbi:mysql:database=customer;host=127.0.0.1;port=$env->{VTGATE_MYSQL_PORT}",
					'root', '', { RaiseError => 1, AutoCommit => 1 });
				my $st = $my->prepare('insert into bench_lat (id, v) values (?, ?)');
				open(my $fh, '>', "$tmp/lat-$c.txt") or die;
				# loaders interleave: connection c sends at start + (i + c/conns) * interval
				my $t_next = $start + $c * $interval / $conns;
				for my $i (0 .. $n_per - 1)
				{
					my $now = time();
					sleep($t_next - $now) if $t_next > $now;
					my $id = $idbase + $i * $conns + $c;
					my $sent = time();
					$st->execute($id, int($sent * 1e6));
					printf $fh "%d %.6f %.6f\n", $id, time(), $sent;
					$t_next += $interval;
				}
				close $fh;
				POSIX::_exit(0);	# no END blocks in a child
			}
			push @pids, $pid;
		}
		my (%seen, %applied);	# when the listener got the row; when the trigger ran (in the worker)
		my $want = $n_per * $conns;
		my $deadline = $start + $secs + 30;
		while (keys %seen < $want && time() < $deadline)
		{
			my $rin = '';
			vec($rin, $fd, 1) = 1;
			select(my $rout = $rin, undef, undef, 0.5);
			my $t = time();
			while (my $n = $pg->pg_notifies)
			{
				my ($id, $applied) = split ' ', $n->[2];
				$seen{$id} = $t;
				$applied{$id} = $applied;
			}
		}
		for (@pids) { waitpid($_, 0); die "a loader failed" if $?; }
		$pg->disconnect;
		# CPU used and time spent runnable but waiting for a CPU (schedstat)
		my @ws1 = (schedstat($wpid), worker_cpu_s($wpid), time());
		my @ds1 = $drain_pid ? (schedstat($drain_pid), worker_cpu_s($drain_pid)) : ();
		my $span = $ws1[2] - $ws0[2];
		my $sched = sprintf("worker CPU %.0f%%, waiting for a CPU %.0f ms/s",
			100 * ($ws1[1] - $ws0[1]) / $span, 1000 * ($ws1[0] - $ws0[0]) / $span);
		$sched .= sprintf("; drain CPU %.0f%%, waiting for a CPU %.0f ms/s",
			100 * ($ds1[1] - $ds0[1]) / $span, 1000 * ($ds1[0] - $ds0[0]) / $span) if @ds1;
		my %drain_seen;
		if ($drain_pid)
		{
			kill('INT', $drain_pid);
			waitpid($drain_pid, 0);
			open(my $fh, '<', "$tmp/lat-drain.txt") or die;
			while (<$fh>)
			{
				$drain_seen{$2} = $1 if /^rowtime (\S+) (\d+)/;
			}
			close $fh;
		}
		my (@lat, @lat_sent, @lat_drain, @lat_applied, $first, $last);
		# every row's times, for a closer look: id sent acked applied visible drain
		open(my $rf, ">", Cwd::getcwd() . "/bench-lat-rows-$run.txt") or die;	# kept after the run
		my $late = 0;
		for my $c (0 .. $conns - 1)
		{
			open(my $fh, '<', "$tmp/lat-$c.txt") or die;
			while (<$fh>)
			{
				my ($id, $ack, $sent) = split;
				$first = $ack if !defined $first || $ack < $first;
				$last = $ack if !defined $last || $ack > $last;
				next if $ack < $start + 2;
				die "row $id never became visible" unless defined $seen{$id};
				push @lat, ($seen{$id} - $ack) * 1000;
				push @lat_drain, ($drain_seen{$id} - $ack) * 1000 if defined $drain_seen{$id};
				push @lat_sent, ($seen{$id} - $sent) * 1000;
				push @lat_applied, ($applied{$id} - $ack) * 1000;
				printf $rf "%d %.6f %.6f %.6f %.6f %.6f\n", $id, $sent, $ack, $applied{$id}, $seen{$id},
					$drain_seen{$id} // 0;
			}
		}
		close $rf;
		@lat = sort { $a <=> $b } @lat;
		my $p50 = $lat[ int(0.50 * $#lat) ];
		my $p99 = $lat[ int(0.99 * $#lat) ];
		@lat_sent = sort { $a <=> $b } @lat_sent;
		my $p99s = $lat_sent[ int(0.99 * $#lat_sent) ];
		push @p99s, $p99s;
		@lat_drain = sort { $a <=> $b } @lat_drain;
		my ($d50, $d99) = @lat_drain ? ($lat_drain[ int(0.5 * $#lat_drain) ], $lat_drain[ int(0.99 * $#lat_drain) ]) : (0, 0);
		if (@lat_drain)
		{
			push @dp50, $d50;
			push @dp99, $d99;
			push @r99, $p99 / ($d99 || 1e-3);
		}
		my $achieved = $want / ($last - $start);
		push @p50, $p50;
		push @p99, $p99;
		push @achieved, $achieved;
		say_(sprintf("    run %d: %.0f txn/s achieved, latency from commit acknowledged p50 %.2f ms, p99 %.2f ms, "
			  . "max %.2f ms; from INSERT sent p50 %.2f ms, p99 %.2f ms (%d rows measured)",
			$run, $achieved, $p50, $p99, $lat[-1], $lat_sent[ int(0.5 * $#lat_sent) ], $p99s, scalar @lat));
		say_(sprintf("           raw drain, same rows, from commit acknowledged: p50 %.2f ms, p99 %.2f ms (%d rows)",
			$d50, $d99, scalar @lat_drain)) if @lat_drain;
		say_("           $sched");
		@lat_applied = sort { $a <=> $b } @lat_applied;
		say_(sprintf("           applied (the trigger's clock, in the worker before its commit): p50 %.2f ms, p99 %.2f ms",
			$lat_applied[ int(0.5 * $#lat_applied) ], $lat_applied[ int(0.99 * $#lat_applied) ]));
		$node->safe_psql('postgres', 'TRUNCATE vtl.bench_lat');
		for (my $i = 0; $i < $want; $i += 10_000)
		{
			system("$mysql -e 'delete from bench_lat where id >= " . ($idbase + $i) . " and id < "
				  . ($idbase + $i + 10_000) . "'");
		}
	}
	push @results, [ "(e) latency p99 ms at ${\ sprintf('%.0f', median(@achieved)) } txn/s vs 10 ms target",
		median(@p99), 10, median(@p99) / 10, '<= 1' ];
	push @results, [ "(e) latency p99 ms vs raw drain's (same rows, same time)",
		median(@p99), median(@dp99), median(@r99), undef ] if @r99;
	push @notes, sprintf("(e) latency from commit acknowledged: p50 %.2f ms, p99 %.2f ms; from INSERT sent: p99 %.2f ms"
		  . " (medians of the runs), achieved %.0f txn/s", median(@p50), median(@p99), median(@p99s), median(@achieved));
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('vtl', true); DROP SERVER vtl CASCADE;
		DROP FUNCTION public.bench_lat_notify()});
	system("$mysql -e 'drop table bench_lat' && $mysql -e 'alter vschema on customer.bench_lat drop vindex hash' 2>/dev/null");
}

# ------------------------------------------- (h), (i) verify and live reads
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
		say_('(h), (i) skipped: no local Vitess');
		return;
	}
	my $rows = $ENV{BENCH_LIVE_ROWS} // 300_000;
	my $mysql = "mysql -h 127.0.0.1 -P $env->{VTGATE_MYSQL_PORT} -u root commerce";
	my $sock = "$env->{VTDATAROOT}/vt_0000000100/mysql.sock";
	say_("(h), (i) real Vitess: live_bench ($rows rows) in commerce: verify() and live reads");
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
	push @results, [ "(h) verify() rows/s vs plain read of both sides", $best_verify, $best_plain, median(@vr), undef ];
	push @results, [ "(i) live LIMIT 1 vs full scan (ms)", $best_limit * 1000, $best_full * 1000, median(@lr), undef ];
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
	my (%wal, %rate, @lwal, @lrate, %wratio, %rratio, %cpu, @cratio);
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
			# the worker's own CPU time per transaction: what the number
			# of shards costs us, whatever the test VTGate's serving rate
			my $wpid = $node->safe_psql('postgres',
				q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker'});
			my $c0 = worker_cpu_s($wpid);
			my ($r, $w) = wal_rate($node, 'SELECT coalesce(max(id) - 999999999, 0) FROM bench.bench', $n);
			my $cus = (worker_cpu_s($wpid) - $c0) * 1e6 / $n;
			push @{ $cpu{$k} }, $cus;
			$node->safe_psql('postgres', q{SELECT vstream_fdw.stop_stream('bench')});
			$sim->stop;
			push @{ $wal{$k} }, $w;
			push @{ $rate{$k} }, $r;
			push @{ $wratio{$k} }, $w / $lw;
			push @{ $rratio{$k} }, $r / $lr;
			say_(sprintf("    run %d, %3d shards: vstream_fdw %.0f WAL bytes/txn, %.0f txn/s, worker CPU %.1f us/txn; "
				  . "logical replication %.0f WAL bytes/txn, %.0f txn/s (WAL %.2f, rate %.2f)",
				$run, $k, $w, $r, $cus, $lw, $lr, $w / $lw, $r / $lr));
		}
		push @cratio, $cpu{256}[-1] / $cpu{2}[-1] if $cpu{2}[-1] > 0;
	}
	for my $k (2, 256)
	{
		push @results, [ "(g) WAL bytes/1-row txn, $k shards, vs logical repl.",
			median(@{ $wal{$k} }), median(@lwal), median(@{ $wratio{$k} }), undef ];
	}
	push @results, [ '(g) 1-row txns/s, 256 shards, vs logical replication',
		median(@{ $rate{256} }), median(@lrate), median(@{ $rratio{256} }), undef ];
	push @results, [ '(g) worker CPU us/1-row txn, 256 vs 2 shards',
		median(@{ $cpu{256} }), median(@{ $cpu{2} }), median(@cratio), undef ] if @cratio;
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream(server_name, true) FROM vstream_fdw.stream});
	$sub->safe_psql('postgres', 'DROP SUBSCRIPTION s');
	$sub->stop;
	$pub->stop;
}

bench_copy() if $only =~ /a/;
bench_txns() if $only =~ /b/;
bench_real() if $only =~ /[cdf]/;
bench_latency() if $only =~ /e/;
bench_wal() if $only =~ /g/;
bench_live() if $only =~ /[hi]/;
$node->stop;

say_('');
# ours and baseline: best run of each; ratio: median of the per-run ratios
# (each run measures both sides back to back, so a slow spell of this
# machine hits both)
say_(sprintf("%-52s %12s %12s %7s %8s", 'benchmark', 'ours', 'baseline', 'ratio', 'target'));
for my $r (@results)
{
	my ($name, $ours, $base, $ratio, $target) = @$r;
	say_(sprintf("%-52s %12.${\ ($ours < 100 ? 2 : 0) }f %12.${\ ($base < 100 ? 2 : 0) }f %7.3f %8s", $name, $ours, $base, $ratio,
		!defined $target ? '-' : $target =~ /^</ ? $target : ">= $target"));
}
say_($_) for @notes;
say_("worker peak private memory (RssAnon): copy $hwm_copy, transactions $hwm_txn");
