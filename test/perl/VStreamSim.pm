
# VStreamSim.pm -- run test/vtgate_sim/vtgate_sim.py (the scripted test VTGate)
# from TAP tests.
#
#   use lib 'test/perl';
#   use VStreamSim;
#
#   my $sim = VStreamSim->start(
#       scenario => 'copy_two_shards.json',    # file name in test/vtgate_sim/scenarios, or a path
#       # generate => 'copy:100000',           # ... or a generator instead of a scenario
#       faults   => [ 'close:5,once' ],        # --fault arguments
#       args     => [ '--end', '14:drained' ], # any other vtgate_sim arguments
#       # tls => $certdir, tls_client_ca => 1, auth => 'user:pass', port => 15991
#   );
#   my $port = $sim->port;
#   ...
#   my @reqs = $sim->requests;                 # decoded request-log lines (hashrefs)
#   $sim->wait_for_requests(2, 10) or die;     # wait until >= 2 requests were logged
#   $sim->stop;                                # also done automatically at destruction
#
#   my $dir = VStreamSim::make_certs($dir);    # CA, server, wrong-CA, wrong-host, client certs
#
# The simulator runs with /usr/bin/python3 unless $ENV{VSTREAM_SIM_PYTHON}
# is set. Its stderr (run with -v) goes to <log dir>/vtgate_sim_<name>.log,
# where <log dir> is $PostgreSQL::Test::Utils::log_path when that module is
# loaded, else $ENV{VSTREAM_SIM_LOGDIR}, else a temporary directory.

package VStreamSim;

use strict;
use warnings;

use Carp;
use Cwd qw(abs_path);
use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use IPC::Run;
use JSON::PP;
use Time::HiRes qw(sleep time);

our $VERSION = '1.0';

my $SIM_DIR = abs_path(File::Spec->catdir(dirname(abs_path(__FILE__)), '..', 'vtgate_sim'));
my $counter = 0;
my $tmp_root;

sub sim_dir { return $SIM_DIR; }

sub _tmp
{
	$tmp_root //= tempdir('vstream_sim_XXXXXX', TMPDIR => 1, CLEANUP => 1);
	return $tmp_root;
}

sub _log_dir
{
	no warnings 'once';
	return $PostgreSQL::Test::Utils::log_path
	  if defined $PostgreSQL::Test::Utils::log_path && -d $PostgreSQL::Test::Utils::log_path;
	return $ENV{VSTREAM_SIM_LOGDIR} if $ENV{VSTREAM_SIM_LOGDIR};
	return _tmp();
}

sub _note
{
	my $msg = shift;
	if (Test::More->can('note')) { Test::More::note($msg); }
}

# VStreamSim->start(%opts) -> object
#   scenario | generate   (exactly one)
#   faults      arrayref of --fault strings
#   args        arrayref of extra arguments
#   port        fixed port (default 0 = pick a free one)
#   tls         directory made by make_certs (uses server.crt/server.key), or
#               hashref { cert => , key => }
#   tls_client_ca  1 (= <tls dir>/ca.crt) or a file: require client certificates
#   auth        'user:pass' for --require-auth
#   end         'STATUS[:MESSAGE]' for --end
#   name        label for log files
#   timeout     seconds to wait for READY (default 60)
sub start
{
	my ($class, %o) = @_;
	croak "VStreamSim->start: give exactly one of scenario or generate"
	  unless defined($o{scenario}) xor defined($o{generate});

	my $self = bless { opts => \%o }, $class;
	$counter++;
	$self->{name} = $o{name} // "sim$counter";
	my $tmp = _tmp();
	$self->{request_log} = "$tmp/$self->{name}_$$" . "_requests.jsonl";
	$self->{pidfile} = "$tmp/$self->{name}_$$.pid";
	$self->{stderr_file} = File::Spec->catfile(_log_dir(), "vtgate_sim_$self->{name}.log");
	unlink $self->{request_log};

	my @cmd = ($ENV{VSTREAM_SIM_PYTHON} // '/usr/bin/python3',
		"$SIM_DIR/vtgate_sim.py", '-v',
		'--port', $o{port} // 0,
		'--request-log', $self->{request_log},
		'--pidfile', $self->{pidfile});
	if (defined $o{scenario})
	{
		my $f = $o{scenario};
		$f = "$SIM_DIR/scenarios/$f" unless -e $f;
		croak "scenario $o{scenario} not found" unless -e $f;
		push @cmd, '--scenario', $f;
	}
	else
	{
		push @cmd, '--generate', $o{generate};
	}
	if ($o{tls})
	{
		my ($cert, $key) = ref $o{tls}
		  ? ($o{tls}{cert}, $o{tls}{key})
		  : ("$o{tls}/server.crt", "$o{tls}/server.key");
		push @cmd, '--tls-cert', $cert, '--tls-key', $key;
		if ($o{tls_client_ca})
		{
			my $ca = $o{tls_client_ca} eq '1' && !ref $o{tls}
			  ? "$o{tls}/ca.crt" : $o{tls_client_ca};
			push @cmd, '--tls-client-ca', $ca;
		}
	}
	push @cmd, '--require-auth', $o{auth} if defined $o{auth};
	push @cmd, '--end', $o{end} if defined $o{end};
	push @cmd, '--fault', $_ for @{ $o{faults} // [] };
	push @cmd, @{ $o{args} // [] };
	$self->{cmd} = \@cmd;

	$self->_launch($o{timeout} // 60);
	return $self;
}

sub _launch
{
	my ($self, $timeout) = @_;
	my $out = '';
	$self->{stdout} = \$out;
	_note("starting vtgate_sim: @{$self->{cmd}}");
	$self->{h} = IPC::Run::start($self->{cmd}, '<', \undef, '>', \$out,
		'2>>', $self->{stderr_file});
	my $deadline = time() + $timeout;
	while ($out !~ /^READY (\d+)$/m)
	{
		if (!$self->{h}->pumpable)
		{
			$self->{h}->finish;
			croak "vtgate_sim exited before READY (see $self->{stderr_file}): "
			  . _slurp($self->{stderr_file});
		}
		if (time() > $deadline)
		{
			$self->stop;
			croak "vtgate_sim did not print READY within ${timeout}s";
		}
		eval { $self->{h}->pump_nb; };
		sleep(0.02);
	}
	$out =~ /^READY (\d+)$/m;
	$self->{port} = $1;
	my $pid = _slurp($self->{pidfile});
	($self->{pid}) = $pid =~ /(\d+)/;
	_note("vtgate_sim $self->{name} ready on port $self->{port}");
	return;
}

sub port { return $_[0]->{port}; }

# SQL that (re)creates foreign server NAME for this test VTGate, keyspace
# KEYSPACE (default: NAME): "${\ $sim->server_sql('bench') }" in a qq{}.
sub server_sql
{
	my ($self, $name, $keyspace) = @_;
	$keyspace //= $name;
	return qq{DROP SERVER IF EXISTS $name CASCADE;
		CREATE SERVER $name FOREIGN DATA WRAPPER vstream_fdw
		  OPTIONS (host '127.0.0.1', port '$self->{port}', keyspace '$keyspace');};
}
sub pid { return $_[0]->{pid}; }
sub request_log { return $_[0]->{request_log}; }
sub stderr_file { return $_[0]->{stderr_file}; }
sub command { return @{ $_[0]->{cmd} }; }

# A conninfo-ish "host:port" string
sub address { my $self = shift; return "127.0.0.1:$self->{port}"; }

# All logged requests, oldest first, as hashrefs (see README for fields:
# request, metadata, password_ok, resolved, start_index, error, tls, ...).
sub requests
{
	my $self = shift;
	my @r;
	open(my $fh, '<', $self->{request_log}) or return wantarray ? () : [];
	while (my $line = <$fh>)
	{
		next unless $line =~ /\S/;
		push @r, decode_json($line);
	}
	close $fh;
	return wantarray ? @r : \@r;
}

# Wait until at least $n requests were logged; returns true on success.
sub wait_for_requests
{
	my ($self, $n, $timeout) = @_;
	$timeout //= 30;
	my $deadline = time() + $timeout;
	while (time() < $deadline)
	{
		my @r = $self->requests;
		return 1 if @r >= $n;
		sleep(0.05);
	}
	return 0;
}

sub is_running
{
	my $self = shift;
	return 0 unless $self->{h};
	return $self->{h}->pumpable ? 1 : 0;
}

# Stop the simulator (SIGTERM, then SIGKILL). Safe to call twice.
sub stop
{
	my $self = shift;
	my $h = delete $self->{h} or return;
	eval {
		$h->signal('TERM') if $h->pumpable;
		my $deadline = time() + 5;
		while ($h->pumpable && time() < $deadline)
		{
			eval { $h->pump_nb; };
			sleep(0.05);
		}
		$h->kill_kill(grace => 1) if $h->pumpable;
		$h->finish;
	};
	_note("vtgate_sim $self->{name} stopped");
	return;
}

# Restart with the same arguments (on the same port if one was fixed).
# Faults marked "once" fire again in the new process.
sub restart
{
	my ($self, %o) = @_;
	$self->stop;
	if (!$self->{opts}{port})
	{
		# keep the port so that the client can reconnect
		my @c = @{ $self->{cmd} };
		for my $i (0 .. $#c - 1)
		{
			$c[ $i + 1 ] = $self->{port} if $c[$i] eq '--port';
		}
		$self->{cmd} = \@c;
	}
	$self->_launch($o{timeout} // 60);
	return $self;
}

sub DESTROY
{
	my $self = shift;
	local ($@, $?);
	$self->stop if $self->{h};
}

# make_certs($dir): run make_certs.sh; returns $dir.
sub make_certs
{
	my $dir = shift // (_tmp() . '/certs');
	my ($out, $err) = ('', '');
	IPC::Run::run([ "$SIM_DIR/make_certs.sh", $dir ], '>', \$out, '2>', \$err)
	  or croak "make_certs.sh failed: $err";
	return $dir;
}

sub _slurp
{
	my $f = shift;
	open(my $fh, '<', $f) or return '';
	local $/;
	my $c = <$fh>;
	close $fh;
	return $c // '';
}

1;
