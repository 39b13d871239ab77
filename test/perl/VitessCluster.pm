# VitessCluster.pm -- helpers for the end-to-end TAP tests against the real,
# local Vitess cluster of test/vitess/cluster-up.sh.
#
#   use VitessCluster;
#   my $vt = VitessCluster->require_cluster;     # or plan skip_all
#   $vt->reset_sample_data;
#   my $node = $vt->pg_node('e2e');               # PostgreSQL::Test::Cluster, extension created
#   $vt->create_server($node, 'customer');        # server named after the keyspace
#   my $node = $vt->sample_node('e2e');           # ... or both, a server per sample keyspace
#   $node->safe_psql('postgres', "SELECT vstream_fdw.create_stream('customer')");
#   $vt->wait_replicating($node, 'customer');
#   $vt->mysql('customer', "insert into customer values (10, 'x')");
#   ok($vt->wait_converged($node, [ [ customer => 'customer' ], [ customer => 'corder' ] ]),
#      'converged');                               # or $vt->sample_tables
#
# The cluster is described by the env file that cluster-up.sh writes
# ($VSTREAM_VITESS_ENV, default /tmp/vt-vstream/env.sh).  Without it the test
# is skipped; with it but no answering VTGate the test fails (a CI run that
# started the cluster must not silently skip).
#
# Source SQL goes through VTGate's MySQL port with the mysql client in batch
# mode; rows come back as array refs of strings (NULL as undef).  Table
# comparisons fetch every row of a source table (through VTGate, ordered by
# the primary key) and of its mirror (through psql), render both in one
# canonical text form and compare them row by row (plus an md5 checksum of
# the whole table for the logs).
package VitessCluster;

use strict;
use warnings;

use Carp;
use Cwd qw(abs_path);
use Digest::MD5 qw(md5_hex);
use File::Basename qw(dirname);
use File::Temp ();
use IPC::Run;
use Test::More;
use Time::HiRes qw(time usleep);

# repository root (this file is test/perl/VitessCluster.pm)
our $REPO = abs_path(dirname(abs_path(__FILE__)) . '/../..');

# The sample schema of cluster-up.sh: keyspace => { table => [columns] }.
our %SAMPLE_COLUMNS = (
	commerce => { product => [qw(sku description price)] },
	customer => {
		customer => [qw(customer_id email)],
		corder => [qw(order_id customer_id sku price)],
	},
);

our %SAMPLE_ROWS = (
	commerce => {
		product => "('SKU-1001', 'apple', 100), ('SKU-1002', 'banana', 30), ('SKU-1003', 'cherry', 250)",
	},
	customer => {
		customer => "(1, 'alice\@domain.com'), (2, 'bob\@domain.com'), (3, 'charlie\@domain.com'), "
		  . "(4, 'dan\@domain.com'), (5, 'eve\@domain.com')",
		corder => "(1, 1, 'SKU-1001', 100), (2, 2, 'SKU-1002', 30), (3, 3, 'SKU-1002', 30), "
		  . "(4, 4, 'SKU-1002', 30), (5, 5, 'SKU-1003', 250)",
	},
);

sub env_file
{
	return $ENV{VSTREAM_VITESS_ENV} // '/tmp/vt-vstream/env.sh';
}

# Read the env file by letting bash source it; undef when it does not exist.
sub new
{
	my ($class, $file) = @_;
	$file //= env_file();
	return undef unless -r $file;
	my ($out, $err);
	IPC::Run::run([ 'bash', '-c', '. "$1" && env -0', 'bash', $file ],
		'>', \$out, '2>', \$err)
	  or croak "cannot source $file: $err";
	my %env = map { split /=/, $_, 2 } grep { length } split /\0/, $out;
	for my $k (qw(VTDATAROOT VTGATE_GRPC_PORT VTGATE_MYSQL_PORT))
	{
		croak "$file does not define $k" unless defined $env{$k};
	}
	my $self = bless {
		env_file => $file,
		env => \%env,
		host => $env{VTGATE_HOST} // '127.0.0.1',
		grpc_port => $env{VTGATE_GRPC_PORT},
		mysql_port => $env{VTGATE_MYSQL_PORT},
		vtdataroot => $env{VTDATAROOT},
	}, $class;
	return $self;
}

# For the top of a test: the cluster object, or plan skip_all when there is no
# env file.  Fails (dies) when the env file exists but VTGate does not serve.
sub require_cluster
{
	my ($class, %o) = @_;
	my $self = $class->new;
	plan skip_all => 'no local Vitess cluster (run test/vitess/cluster-up.sh)'
	  unless $self;
	for my $tool (qw(mysql psql))
	{
		plan skip_all => "$tool client not installed"
		  unless grep { -x "$_/$tool" } split /:/, $ENV{PATH};
	}
	# a test that died between stopping and starting VTGate left it down
	if (!$self->is_ready)
	{
		if (!$self->vtgate_alive)
		{
			diag('VTGate is not running: starting it (test/vitess/restart-vtgate.sh --start-only)');
			$self->restart_vtgate(start_only => 1);
		}
	}
	$self->wait_ready($o{timeout} // 60)
	  or die "Vitess cluster of $self->{env_file} does not answer: VTGate on "
	  . "127.0.0.1:$self->{mysql_port} has not 3 PRIMARY SERVING tablets "
	  . "(restart it with test/vitess/cluster-up.sh)\n";
	return $self;
}

# ------------------------------------------------------ topology cluster
#
# The topology tests (t/25x_*.pl) reparent, reshard and kill things, so they
# run against a cluster of their own: cluster-up.sh with VT_REPLICAS=1 (a
# REPLICA per customer shard, an RDONLY for 80- in cell zone2) in
# VSTREAM_TOPO_VTDATAROOT (default /tmp/vt-topo) on ports from
# VSTREAM_TOPO_BASE_PORT (default 25000; etcd VSTREAM_TOPO_ETCD_PORT, default
# 32379).  require_topology starts a fresh one (only with VSTREAM_TOPO=1, else
# the test is skipped) and stop_topology removes it (kept with
# VSTREAM_TOPO_KEEP=1).  topo() runs test/vitess/topo.sh on it.

sub topology_root
{
	return $ENV{VSTREAM_TOPO_VTDATAROOT} // '/tmp/vt-topo';
}

sub require_topology
{
	my ($class, %o) = @_;
	plan skip_all => 'topology tests run with VSTREAM_TOPO=1 (each starts its own cluster '
	  . 'in ' . topology_root() . ', see test/vitess/topo.sh)'
	  unless $ENV{VSTREAM_TOPO};
	for my $tool (qw(mysql psql jq etcd))
	{
		# asked for with VSTREAM_TOPO=1: a missing tool fails, it does not skip
		die "topology tests: $tool not installed (test/install-deps.sh)\n"
		  unless grep { -x "$_/$tool" } split(/:/, $ENV{PATH}), '/usr/bin';
	}
	my $root = topology_root();
	my ($out, $err) = ('', '');
	my $t0 = time;
	local $ENV{VTDATAROOT} = $root;
	local $ENV{VT_BASE_PORT} = $ENV{VSTREAM_TOPO_BASE_PORT} // 25000;
	local $ENV{ETCD_PORT} = $ENV{VSTREAM_TOPO_ETCD_PORT} // 32379;
	local $ENV{VT_REPLICAS} = 1;
	local $ENV{MARIADB_BUFFER_POOL} = '64M';
	local $ENV{VT_NO_BUILD} = 1;
	local $ENV{VT_EXTRA_TABLETS} = $o{extra_tablets} // '';
	delete local $ENV{$_} for qw(VTGATE_GRPC_PORT VTGATE_MYSQL_PORT VTGATE_HTTP_PORT
	  VTCTLD_HTTP_PORT VTCTLD_GRPC_PORT VT_TABLET_HTTP_BASE VT_TABLET_GRPC_BASE VT_MYSQL_BASE);
	IPC::Run::run([ 'bash', "$REPO/test/vitess/cluster-up.sh" ], '>', \$out, '2>', \$err,
		IPC::Run::timeout(300))
	  or die "topology cluster did not start:
$out
$err
";
	note(sprintf('topology cluster up in %.1f s (%s)', time - $t0, $root));
	my $self = $class->new("$root/env.sh")
	  or die "topology cluster wrote no $root/env.sh
";
	$self->{topology} = 1;
	$self->wait_ready(60) or die "topology cluster does not serve
";
	return $self;
}

sub stop_topology
{
	my ($self) = @_;
	return if $ENV{VSTREAM_TOPO_KEEP};
	local $ENV{VTDATAROOT} = $self->{vtdataroot};
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'bash', "$REPO/test/vitess/cluster-down.sh", '--clean' ],
		'>', \$out, '2>', \$err, IPC::Run::timeout(120));
	return;
}

# topo(COMMAND, ARGS...): run test/vitess/topo.sh on this cluster; stdout.
# Dies with its output when it fails.
sub topo
{
	my ($self, @args) = @_;
	my ($out, $err) = ('', '');
	my $t0 = time;
	local $ENV{VTDATAROOT} = $self->{vtdataroot};
	IPC::Run::run([ 'bash', "$REPO/test/vitess/topo.sh", @args ], '>', \$out, '2>', \$err,
		IPC::Run::timeout(600))
	  or croak "topo.sh @args failed:
$out
$err";
	note(sprintf("topo.sh @args (%.1f s):
%s", time - $t0, $err)) if length $err;
	return $out;
}

sub env { my ($self, $k) = @_; return $self->{env}{$k}; }
sub host { return $_[0]{host}; }
sub grpc_port { return $_[0]{grpc_port}; }
sub mysql_port { return $_[0]{mysql_port}; }
sub vtdataroot { return $_[0]{vtdataroot}; }

# ---------------------------------------------------------------- source SQL

sub _mysql_cmd
{
	my ($self, $keyspace) = @_;
	return [
		'mysql', '-h', $self->{host}, '-P', $self->{mysql_port},
		'-u', 'root', '--batch', '--skip-column-names',
		'--connect-timeout=10', '--default-character-set=utf8mb4',
		(defined $keyspace && length $keyspace ? ('-D', $keyspace) : ()),
	];
}

# mysql_run(KEYSPACE, SQL, timeout => S): (ok, stdout, stderr), never dies.
sub mysql_run
{
	my ($self, $keyspace, $sql, %o) = @_;
	my ($out, $err) = ('', '');
	my $ok = eval {
		IPC::Run::run($self->_mysql_cmd($keyspace), '<', \$sql, '>', \$out,
			'2>', \$err, IPC::Run::timeout($o{timeout} // 300));
	};
	$err .= $@ if $@;
	return ($ok ? 1 : 0, $out, $err);
}

# mysql(KEYSPACE, SQL): stdout; dies with the error on failure.
sub mysql
{
	my ($self, $keyspace, $sql, %o) = @_;
	my ($ok, $out, $err) = $self->mysql_run($keyspace, $sql, %o);
	croak "mysql failed ($err) for:\n" . substr($sql, 0, 2000) unless $ok;
	return $out;
}

# Undo mysql --batch escaping of one value; "NULL" becomes undef.
sub _unescape
{
	my ($v) = @_;
	return undef if $v eq 'NULL';
	$v =~ s/\\(.)/$1 eq 'n' ? "\n" : $1 eq 't' ? "\t" : $1 eq '0' ? "\0" : $1/ge;
	return $v;
}

# mysql_retry(KEYSPACE, SQL, timeout => S): retries SQL until it succeeds
# (e.g. until VTGate's schema tracking knows a column added by ALTER TABLE:
# "column '...' not found in table"); dies with the last error on timeout.
sub mysql_retry
{
	my ($self, $keyspace, $sql, %o) = @_;
	my ($ok, $out, $err);
	wait_until(sub { ($ok, $out, $err) = $self->mysql_run($keyspace, $sql); $ok },
		$o{timeout} // 30, 0.3);
	croak "mysql failed ($err) for:\n$sql" unless $ok;
	return $out;
}

# mysql_rows(KEYSPACE, SQL): array ref of rows (array refs of values, NULL = undef).
sub mysql_rows
{
	my ($self, $keyspace, $sql, %o) = @_;
	my $out = $self->mysql($keyspace, $sql, %o);
	my @rows;
	for my $line (split /\n/, $out)
	{
		push @rows, [ map { _unescape($_) } split /\t/, $line, -1 ];
	}
	return \@rows;
}

# mysql_value(KEYSPACE, SQL): first column of the first row.
sub mysql_value
{
	my ($self, $keyspace, $sql) = @_;
	my $rows = $self->mysql_rows($keyspace, $sql);
	return @$rows ? $rows->[0][0] : undef;
}

# Direct SQL on a tablet's MariaDB (bypassing VTGate; database vt_<keyspace>).
# Used while VTGate is down: the binlog still carries the change.
sub mysql_direct
{
	my ($self, $uid, $sql) = @_;
	my $sock = sprintf('%s/vt_%010d/mysql.sock', $self->{vtdataroot}, $uid);
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'mysql', '-S', $sock, '-u', 'vt_dba', '--batch', '--skip-column-names' ],
		'<', \$sql, '>', \$out, '2>', \$err, IPC::Run::timeout(60))
	  or croak "mysql on tablet $uid failed ($err) for: $sql";
	return $out;
}

# Tablet uid of a keyspace/shard from VT_TABLETS ("100:commerce:0 ...").
sub tablet_uid
{
	my ($self, $keyspace, $shard) = @_;
	for my $t (split ' ', $self->{env}{VT_TABLETS} // '')
	{
		my ($uid, $ks, $sh) = split /:/, $t;
		return $uid if $ks eq $keyspace && $sh eq $shard;
	}
	croak "no tablet for $keyspace/$shard in VT_TABLETS";
}

# Shard ('-80' or '80-') of customer_id values under the customer keyspace's
# hash vindex: asks VTGate's vindex table for the keyspace id.
sub customer_shard
{
	my ($self, $id) = @_;
	my ($ok, $out, $err) = $self->mysql_run('customer',
		"select id, keyspace_id from hash where id = $id");
	croak "vindex lookup failed: $err" unless $ok;
	my ($rid, $kid) = split /\t/, $out, 2;
	croak "vindex lookup gave nothing for $id" unless defined $kid && length $kid;
	# batch mode escapes only \0 \t \n \\ (all < 0x80): the first raw byte decides
	return ord(substr($kid, 0, 1)) >= 0x80 ? '80-' : '-80';
}

# First COUNT ids >= FROM whose customer row lives on SHARD.
sub customer_ids_on_shard
{
	my ($self, $shard, $count, $from) = @_;
	my @ids;
	for (my $id = $from; @ids < $count && $id < $from + 10000; $id++)
	{
		push @ids, $id if $self->customer_shard($id) eq $shard;
	}
	return @ids;
}

# ------------------------------------------------------------ cluster state

# True when VTGate serves: 3 PRIMARY SERVING tablets and routed queries work.
sub is_ready
{
	my ($self) = @_;
	my ($ok, $out) = $self->mysql_run('', 'show vitess_tablets', timeout => 15);
	return 0 unless $ok;
	my $n = grep { my @f = split /\t/; @f >= 5 && $f[3] eq 'PRIMARY' && $f[4] eq 'SERVING' }
	  split /\n/, $out;
	return 0 unless $n >= 3;
	($ok) = $self->mysql_run('',
		'select count(*) from customer.customer; select count(*) from commerce.product',
		timeout => 15);
	return $ok;
}

sub wait_ready
{
	my ($self, $timeout) = @_;
	return wait_until(sub { $self->is_ready }, $timeout // 60, 0.5);
}

# Restart VTGate only (test/vitess/restart-vtgate.sh): down => S seconds
# between stop and start; kill9 => 1 kills it with SIGKILL instead of
# SIGTERM; stop_only => 1 / start_only => 1 do one half.  True on success.
sub restart_vtgate
{
	my ($self, %o) = @_;
	my @cmd = ('bash', "$REPO/test/vitess/restart-vtgate.sh");
	push @cmd, '--down', $o{down} if $o{down};
	push @cmd, '--kill9' if $o{kill9};
	push @cmd, '--stop-only' if $o{stop_only};
	push @cmd, '--start-only' if $o{start_only};
	my ($out, $err) = ('', '');
	local $ENV{VTDATAROOT} = $self->{vtdataroot};
	my $ok = IPC::Run::run(\@cmd, '>', \$out, '2>', \$err, IPC::Run::timeout(180));
	note($out) if length $out;
	diag($err) if !$ok && length $err;
	return $ok;
}

sub vtgate_pid
{
	my ($self) = @_;
	my $f = "$self->{vtdataroot}/pids/vtgate.pid";
	open(my $fh, '<', $f) or return undef;
	my $pid = <$fh>;
	close $fh;
	chomp $pid if defined $pid;
	return $pid;
}

# True when the pid of pids/vtgate.pid is a live (not zombie) vtgate.
sub vtgate_alive
{
	my ($self) = @_;
	my $pid = $self->vtgate_pid;
	return 0 unless $pid && $pid =~ /^\d+$/;
	open(my $st, '<', "/proc/$pid/stat") or return 0;
	my $stat = <$st>;
	close $st;
	return 0 if !defined $stat || $stat =~ /^\d+ \(.*\) Z/;
	open(my $cl, '<', "/proc/$pid/cmdline") or return 0;
	my $cmd = <$cl> // '';
	close $cl;
	return $cmd =~ /vtgate/ ? 1 : 0;
}

# Columns and primary-key columns of a source table (SHOW COLUMNS via VTGate).
sub source_columns
{
	my ($self, $keyspace, $table) = @_;
	my $rows = $self->mysql_rows($keyspace, "show columns from `$table`");
	my @cols = map { $_->[0] } @$rows;
	my @pk = map { $_->[0] } grep { defined $_->[3] && $_->[3] eq 'PRI' } @$rows;
	return (\@cols, \@pk);
}

# Restore the sample schema and rows of cluster-up.sh: columns added by
# earlier tests are dropped, every other table of the two keyspaces is
# dropped (tests and probes leave some; bench_* tables of a running
# tools/bench.sh are spared), every sample table gets exactly the
# sample rows.  Takes a second or two.
sub reset_sample_data
{
	my ($self) = @_;
	for my $ks (sort keys %SAMPLE_COLUMNS)
	{
		for my $table (sort keys %{ $SAMPLE_COLUMNS{$ks} })
		{
			my ($cols) = $self->source_columns($ks, $table);
			my %want = map { $_ => 1 } @{ $SAMPLE_COLUMNS{$ks}{$table} };
			my @extra = grep { !$want{$_} } @$cols;
			if (@extra)
			{
				$self->mysql($ks, "alter table `$table` "
					  . join(', ', map { "drop column `$_`" } @extra));
			}
		}
		# tables that are not part of the sample (left by tests or probes);
		# bench_* belong to a tools/bench.sh run that may be going on
		for my $row (@{ $self->mysql_rows($ks, 'show tables') })
		{
			next if $SAMPLE_COLUMNS{$ks}{ $row->[0] } || $row->[0] =~ /^bench_/;
			$self->mysql($ks, "drop table `$row->[0]`");
		}
	}
	# TRUNCATE, not DELETE: VTGate refuses DML over more than 10000 rows
	$self->mysql('customer', 'truncate table corder; truncate table customer');
	$self->mysql('commerce', 'truncate table product');
	for my $ks (sort keys %SAMPLE_ROWS)
	{
		for my $table (sort keys %{ $SAMPLE_ROWS{$ks} })
		{
			my $cols = join(', ', @{ $SAMPLE_COLUMNS{$ks}{$table} });
			$self->mysql($ks, "insert into $table($cols) values $SAMPLE_ROWS{$ks}{$table}");
		}
	}
	return 1;
}

# Bulk-insert N corder rows (order_id FIRST.., customer_id = order_id % 1000)
# through VTGate, 1000 rows per statement (as test/vitess/load-corder.sh).
sub load_corder
{
	my ($self, $n, $first) = @_;
	$first //= 1_000_000;
	my $sql = '';
	for (my $i = 0; $i < $n; $i += 1000)
	{
		my @v;
		for my $id ($first + $i .. $first + ($i + 1000 < $n ? $i + 1000 : $n) - 1)
		{
			push @v, sprintf("(%d,%d,'SKU-%d',%d)", $id, $id % 1000, $id % 100, $id % 997);
		}
		$sql .= 'insert into corder(order_id,customer_id,sku,price) values '
		  . join(',', @v) . ";\n";
	}
	$self->mysql('customer', $sql, timeout => 600);
	return $n;
}

# Scratch directory for writer scripts and background output: inside the
# test's tmp_check when PostgreSQL::Test::Utils is loaded, else in $TMPDIR.
sub _tmpdir
{
	my ($self) = @_;
	$self->{tmpdir} //= defined &PostgreSQL::Test::Utils::tempdir
	  ? PostgreSQL::Test::Utils::tempdir('e2e')
	  : File::Temp::tempdir('e2e-writer-XXXXXX', TMPDIR => 1, CLEANUP => 1);
	return $self->{tmpdir};
}

# Start a source writer in the background: SQL runs through VTGate in one
# mysql session (stdin from a file: runs without pumping).  Returns a handle
# for finish_writer.
my $writer_seq = 0;

sub start_writer
{
	my ($self, $keyspace, $sql, %o) = @_;
	my $dir = $self->_tmpdir;
	my $base = sprintf('%s/e2e-writer-%d-%d', $dir, $$, ++$writer_seq);
	open(my $fh, '>', "$base.sql") or croak "cannot write $base.sql: $!";
	print $fh $sql;
	close $fh;
	my $w = { base => $base };
	$w->{h} = IPC::Run::start($self->_mysql_cmd($keyspace), '<', "$base.sql",
		'>', "$base.out", '2>', "$base.err", IPC::Run::timeout($o{timeout} // 300));
	return $w;
}

# Wait for a writer; returns (ok, stderr).
sub finish_writer
{
	my ($self, $w) = @_;
	my $ok = eval { $w->{h}->finish };
	my $err = $@ // '';
	if (open(my $fh, '<', "$w->{base}.err"))
	{
		local $/;
		$err = <$fh> . $err;
		close $fh;
	}
	unlink map { "$w->{base}.$_" } qw(sql out err);
	return ($ok ? 1 : 0, $err);
}

# True while a writer still runs.
sub writer_running
{
	my ($self, $w) = @_;
	return $w->{h}->pumpable ? 1 : 0;
}

# ------------------------------------------------------------- PostgreSQL

# A PostgreSQL::Test::Cluster with vstream_fdw preloaded and created in
# database postgres.  extra_conf is appended to postgresql.conf.
sub pg_node
{
	my ($self, $name, %o) = @_;
	require PostgreSQL::Test::Cluster;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(extra => [ "--encoding=UTF8", "--locale=C" ]);
	$node->append_conf('postgresql.conf', join("\n",
			"shared_preload_libraries = 'vstream_fdw'",
			"vstream_fdw.database = 'postgres'",
			"max_worker_processes = 16",
			"restart_after_crash = on",
			"log_min_messages = info",
			"log_line_prefix = '%m [%p] %b '",
			($o{extra_conf} // ''), ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION vstream_fdw');
	return $node;
}

# A node for the sample keyspaces: quick reconnects (restart_interval 200 ms,
# at most 2 s) and a server per keyspace, named after it.
sub sample_node
{
	my ($self, $name) = @_;
	my $node = $self->pg_node($name, extra_conf => join("\n",
			'vstream_fdw.restart_interval = 200',
			'vstream_fdw.max_restart_interval = 2000'));
	$self->create_server($node, $_) for sort keys %SAMPLE_COLUMNS;
	return $node;
}

# CREATE SERVER NAME for KEYSPACE (default: NAME) on this cluster's VTGate.
sub create_server
{
	my ($self, $node, $name, %o) = @_;
	my $ks = $o{keyspace} // $name;
	my $hb = $o{heartbeat_interval} // 1;
	$node->safe_psql('postgres', qq{CREATE SERVER "$name" FOREIGN DATA WRAPPER vstream_fdw
		OPTIONS (host '$self->{host}', port '$self->{grpc_port}', keyspace '$ks',
		         heartbeat_interval '$hb')});
	return $name;
}

# psql_value(NODE, SQL): trimmed stdout of psql, undef on error.
sub psql_value
{
	my ($node, $sql) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', $sql, on_error_stop => 1);
	return undef if $rc != 0;
	return $out;
}

# Rows of stream_status for a server, as hashes.
sub stream_status
{
	my ($self, $node, $server) = @_;
	my ($rc, $out, $err) = $node->psql('postgres', qq{
		SELECT coalesce(keyspace, ''), coalesce(shard, ''), coalesce(phase, ''),
		       coalesce(worker_pid::text, ''),
		       replace(replace(coalesce(last_error, ''), E'\\t', ' '), E'\\n', ' ')
		  FROM vstream_fdw.stream_status s
		 WHERE s.server = '$server' ORDER BY 1, 2},
		extra_params => [ '-F', "\t" ]);
	return [] if $rc != 0;
	my @rows;
	for my $line (split /\n/, $out)
	{
		my @f = split /\t/, $line, -1;
		push @rows, { keyspace => $f[0], shard => $f[1], phase => $f[2],
			worker_pid => $f[3], last_error => $f[4] };
	}
	return \@rows;
}

# Run SQL with psql in the background (output to a file, no pumping needed);
# psql_bg_finish returns (ok, stdout, stderr).
sub psql_bg_start
{
	my ($self, $node, $sql, %o) = @_;
	my $base = sprintf('%s/psql-%d', $self->_tmpdir, ++$writer_seq);
	my $h = IPC::Run::start(
		[ $node->installed_command('psql'), '-XAtq', '-v', 'ON_ERROR_STOP=1',
		  '-d', $node->connstr($o{dbname} // 'postgres'), '-c', $sql ],
		'<', '/dev/null', '>', "$base.out", '2>', "$base.err",
		IPC::Run::timeout($o{timeout} // 300));
	return { h => $h, base => $base };
}

sub psql_bg_finish
{
	my ($self, $bg) = @_;
	my $ok = eval { $bg->{h}->finish };
	my ($out, $err) = ('', $@ // '');
	for my $f ([ out => \$out ], [ err => \$err ])
	{
		if (open(my $fh, '<', "$bg->{base}.$f->[0]"))
		{
			local $/;
			${ $f->[1] } = <$fh> . ${ $f->[1] };
			close $fh;
		}
	}
	unlink "$bg->{base}.out", "$bg->{base}.err";
	chomp $out;
	return ($ok ? 1 : 0, $out, $err);
}

# Text dump of stream_status (for diagnostics).
sub status_text
{
	my ($self, $node) = @_;
	my ($rc, $out, $err) = $node->psql('postgres',
		'SELECT * FROM vstream_fdw.stream_status ORDER BY 1, 2, 3',
		extra_params => [ '-x' ]);
	return $rc == 0 ? $out : "stream_status failed: $err";
}

# Wait until every shard row of SERVER's stream is in phase replicating
# (at least NSHARDS rows when given).
sub wait_replicating
{
	my ($self, $node, $server, %o) = @_;
	my $ok = wait_until(sub {
			my $st = $self->stream_status($node, $server);
			return 0 unless @$st;
			return 0 if $o{shards} && @$st < $o{shards};
			return !grep { $_->{phase} ne 'replicating' } @$st;
		}, $o{timeout} // 60, 0.2);
	diag("stream $server not replicating:\n" . $self->status_text($node)) unless $ok;
	return $ok;
}

# Pid of the running worker of SERVER's stream (stream_status), or undef.
sub worker_pid
{
	my ($self, $node, $server) = @_;
	for my $r (@{ $self->stream_status($node, $server) })
	{
		return $r->{worker_pid} if length $r->{worker_pid} && $r->{worker_pid} > 0;
	}
	return undef;
}

# Pids of every vstream_fdw worker according to pg_stat_activity.
sub worker_pids_activity
{
	my ($self, $node) = @_;
	my $out = psql_value($node,
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker' ORDER BY pid");
	return () unless defined $out;
	return grep { length } split /\n/, $out;
}

# --------------------------------------------------------- comparisons

# Canonical text of a value: NULL is \N; backslash, tab, newline, CR escaped.
sub _canon
{
	my ($v) = @_;
	return '\\N' unless defined $v;
	$v =~ s/\\/\\\\/g;
	$v =~ s/\t/\\t/g;
	$v =~ s/\n/\\n/g;
	$v =~ s/\r/\\r/g;
	return $v;
}

# Source rows of KS.TABLE (columns COLS, ordered by PK) as canonical lines.
sub source_lines
{
	my ($self, $ks, $table, $cols, $pk) = @_;
	my $bq = sub { my ($n) = @_; $n =~ s/`/``/g; return "`$n`"; };
	my $sql = 'select ' . join(', ', map { $bq->($_) } @$cols) . ' from ' . $bq->($table);
	$sql .= ' order by ' . join(', ', map { $bq->($_) } @$pk) if @$pk;
	# OLAP workload: streamed results, no 10000-row limit of OLTP queries
	my $rows = $self->mysql_rows($ks, "set workload = 'olap';\n$sql", timeout => 120);
	return [ map { join("\t", map { _canon($_) } @$_) } @$rows ];
}

# Mirror rows (SCHEMA.TABLE, same columns) as canonical lines, or undef when
# the query fails (mirror or column missing).
sub mirror_lines
{
	my ($self, $node, $schema, $table, $cols, $pk) = @_;
	# COPY text format: NULL is \N, backslash/tab/newline/CR escaped -- as _canon.
	my $dq = sub { my ($n) = @_; $n =~ s/"/""/g; return qq{"$n"}; };
	my $q = 'SELECT ' . join(', ', map { $dq->($_) . '::text' } @$cols)
	  . ' FROM ' . $dq->($schema) . '.' . $dq->($table);
	$q .= ' ORDER BY ' . join(', ', map { $dq->($_) } @$pk) if @$pk;
	my ($rc, $out, $err) = $node->psql('postgres', "COPY ($q) TO STDOUT", on_error_stop => 1);
	return undef if $rc != 0;
	return [ split /\n/, $out ];
}

# compare_table(NODE, KEYSPACE, TABLE, schema => (default KEYSPACE),
#   columns => [..] (default all source columns), where => SQL filter on both)
# Returns a hash: equal, source_rows, mirror_rows, source_md5, mirror_md5, diff (text).
sub compare_table
{
	my ($self, $node, $ks, $table, %o) = @_;
	my $schema = $o{schema} // $ks;
	my ($cols, $pk) = $self->source_columns($ks, $table);
	$cols = $o{columns} if $o{columns};
	my $src = $self->source_lines($ks, $table, $cols, $pk);
	my ($mtable, $mcols, $mpk) = ($table, $cols, $pk);
	if ($o{catalog_names})
	{
		# mirror names from the stream's catalog (names over 63 bytes)
		($mtable, my $map) = $self->mirror_names($node, $table);
		return { equal => 0, diff => "no mirror of $ks.$table in vstream_fdw.mirror" }
		  unless defined $mtable;
		$mcols = [ map { $map->{lc $_} // $_ } @$cols ];
		$mpk = [ map { $map->{lc $_} // $_ } @$pk ];
	}
	my $dst = $self->mirror_lines($node, $schema, $mtable, $mcols, $mpk);
	my %r = (table => "$ks.$table", source_rows => scalar @$src);
	my @s = sort @$src;
	$r{source_md5} = md5_hex(join("\n", @s));
	if (!defined $dst)
	{
		$r{equal} = 0;
		$r{mirror_rows} = -1;
		$r{diff} = "mirror $schema.$table (columns @$cols) cannot be read";
		return \%r;
	}
	my @d = sort @$dst;
	$r{mirror_rows} = scalar @d;
	$r{mirror_md5} = md5_hex(join("\n", @d));
	$r{equal} = $r{source_md5} eq $r{mirror_md5} ? 1 : 0;
	if (!$r{equal})
	{
		my %cnt;
		$cnt{$_}++ for @s;
		$cnt{$_}-- for @d;
		my @only_src = grep { $cnt{$_} > 0 } sort keys %cnt;
		my @only_dst = grep { $cnt{$_} < 0 } sort keys %cnt;
		my $fmt = sub { my ($l) = @_; my @x = @$l > 10 ? (@$l[0 .. 9], '...') : @$l;
			join('', map { "    $_\n" } @x) };
		$r{diff} = sprintf("%s: source %d rows, mirror %d rows; %d only in source, %d only in mirror\n"
			  . "  only in source:\n%s  only in mirror:\n%s",
			"$ks.$table", scalar @s, scalar @d, scalar @only_src, scalar @only_dst,
			$fmt->(\@only_src), $fmt->(\@only_dst));
	}
	return \%r;
}

# wait_converged(NODE, [ [KS, TABLE, %opts], ... ], timeout => 60)
# Polls until every table's mirror equals its source row by row.  On timeout
# prints the differences and the stream status; returns 1/0.
# The mirror table of a source table and its column names, from the
# stream's catalog: (table name, { lower-case source column => mirror column }).
sub mirror_names
{
	my ($self, $node, $table) = @_;
	my $q = $table =~ s/'/''/gr;
	my $mt = $node->safe_psql('postgres',
		"SELECT table_name FROM vstream_fdw.mirror WHERE source_table = '$q' AND state <> 'detached'");
	return (undef, {}) if $mt eq '';
	my %map;
	for my $l (split /\n/, $node->safe_psql('postgres',
			"SELECT lower(source_column) || E'\\t' || coalesce(column_name::text, '') FROM vstream_fdw.mirror_column "
			  . "WHERE table_name = '" . ($mt =~ s/'/''/gr) . "'"))
	{
		my ($s, $m) = split /\t/, $l, 2;
		$map{$s} = $m if defined $m && $m ne '';
	}
	return ($mt, \%map);
}

sub wait_converged
{
	my ($self, $node, $tables, %o) = @_;
	my $last;
	my $ok = wait_until(sub {
			for my $t (@$tables)
			{
				my ($ks, $table, %to) = @$t;
				$last = eval { $self->compare_table($node, $ks, $table, %to) }
				  // { equal => 0, diff => "comparing $ks.$table failed: $@" };
				return 0 unless $last->{equal};
			}
			return 1;
		}, $o{timeout} // 60, $o{interval} // 0.5);
	if ($ok)
	{
		note(join(', ', map {
			my ($ks, $table, %to) = @$_;
			my $r = $self->compare_table($node, $ks, $table, %to);
			"$ks.$table $r->{source_rows} rows md5 $r->{source_md5}" } @$tables))
		  if $o{verbose};
	}
	elsif ($o{quiet})
	{
		note("mirror did not converge within " . ($o{timeout} // 60) . " s:\n" . ($last->{diff} // ''));
	}
	else
	{
		diag("mirror did not converge within " . ($o{timeout} // 60) . " s:\n"
			  . ($last->{diff} // '') . "\n" . $self->status_text($node));
	}
	return $ok;
}

# All sample tables (plus extra [KS, TABLE]s) in wait_converged's form.
sub sample_tables
{
	my ($self, @extra) = @_;
	my @t;
	for my $ks (sort keys %SAMPLE_COLUMNS)
	{
		push @t, [ $ks, $_ ] for sort keys %{ $SAMPLE_COLUMNS{$ks} };
	}
	return [ @t, @extra ];
}

# ---------------------------------------------------------------- misc

# wait_until(CODE, TIMEOUT_S, INTERVAL_S): poll CODE until it returns true.
sub wait_until
{
	my ($code, $timeout, $interval) = @_;
	my $deadline = time + ($timeout // 60);
	$interval //= 0.2;
	while (1)
	{
		my $r = eval { $code->() };
		return $r if $r;
		return 0 if time >= $deadline;
		usleep(int($interval * 1_000_000));
	}
}

# Tail of a node's server log (for diagnostics).
sub log_tail
{
	my ($node, $lines) = @_;
	$lines //= 40;
	open(my $fh, '<', $node->logfile) or return '';
	my @l = <$fh>;
	close $fh;
	return join('', @l > $lines ? @l[-$lines .. -1] : @l);
}

1;
