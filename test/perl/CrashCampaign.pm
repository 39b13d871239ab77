# CrashCampaign.pm -- random fault points against the worker and the test
# VTGate, each followed by a convergence check (issue 12, item 2).
#
#   my $c = CrashCampaign->new(node => $node, seed => 42);
#   my ($converged, $n) = $c->run(20);      # prints "20/20 converged"
#
# One point = one stream from scratch against the test VTGate's generator
# (copy of ROWS rows in batches, then TXNS single-row transactions), with
#  * one fault on the VTGate side at a random response: a connection drop
#    (FIN or RST), a gRPC error status that is retried (UNAVAILABLE, UNKNOWN,
#    ABORTED, CANCELLED), an RST_STREAM or a GOAWAY -- or none;
#  * one crash on the PostgreSQL side: the worker killed with SIGKILL, or an
#    immediate shutdown -- or none -- either at a random response (the test
#    VTGate pauses 3 s before it and the crash comes once the mirror stops
#    changing: an exact position between two responses) or after a random
#    number of rows (often in the middle of applying a batch);
# the response indexes are drawn half from the copy phase, half from the
# replication;
# at least one of the two.  After the faults the stream must converge: the
# checkpoint equals the last VGTID of the log (copy completed), the mirror
# has every expected row exactly once and every column equals the source
# (rows are derived from the id, see vtgate_sim.py BenchGen), and the stream
# is 'replicating'.
package CrashCampaign;

use strict;
use warnings;
use Time::HiRes qw(usleep time);
use Test::More;
use VStreamSim;

my %UUID = ('-80' => '5e8d1a2c-7b3f-11ee-9c41-0242ac110002',
	'80-' => '6f9e2b3d-7b3f-11ee-9c41-0242ac110003');
my $BASE = 100;
my $MIRROR_SQL = q{SELECT id, name::text, amount::numeric, created::timestamp FROM bench.bench};
my $CHECKPOINT_SQL = q{
	SELECT string_agg(format('%s=%s=%s', e->>'shard', e->>'gtid', coalesce(e->>'table_p_ks', '')),
	                  ',' ORDER BY e->>'shard')
	  FROM vstream_fdw.checkpoint c, jsonb_array_elements(vstream_fdw.vgtid_to_jsonb(vstream_fdw.checkpoint_vgtid(c.stream_id))) e};

sub new
{
	my ($class, %o) = @_;
	my $self = bless {
		node => $o{node},
		seed => $o{seed} // time,
		rows => $o{rows} // 6000,
		batch => $o{batch} // 100,
		txns => $o{txns} // 300,
		verbose => $o{verbose} // 0,
	}, $class;
	srand($self->{seed});
	return $self;
}

sub _expected_rows_sql
{
	my ($self) = @_;
	my $series = "SELECT generate_series(1, $self->{rows})::bigint AS g UNION ALL "
	  . "SELECT generate_series(1000000000, " . (1000000000 + $self->{txns} - 1) . ")::bigint";
	return qq{
	  SELECT g AS id, 'name-' || g AS name,
	         ((g % 10000000) || '.' || lpad((g % 100)::text, 2, '0'))::numeric AS amount,
	         make_timestamp(2024, (1 + ((g / 86400) % 336) / 28)::int, (1 + ((g / 86400) % 336) % 28)::int,
	                        ((g % 86400) / 3600)::int, ((g % 86400) / 60 % 60)::int, (g % 60)::float8) AS created
	    FROM ($series) s};
}

sub _expected_checkpoint
{
	my ($self) = @_;
	my $ntx = $self->{txns};
	my %n = ('-80' => int(($ntx + 1) / 2), '80-' => int($ntx / 2));
	return join(',', map { "$_=MySQL56/$UUID{$_}:1-" . ($BASE + $n{$_}) . '=' } sort keys %UUID);
}

sub _q
{
	my ($self, $sql) = @_;
	my ($rc, $out) = $self->{node}->psql('postgres', $sql);
	return $rc == 0 ? $out : undef;
}

# Responses of the generated log: per shard [BEGIN, FIELD], the snapshot,
# the batches, "table done", COPY_COMPLETED; then the transactions.
sub _nresponses
{
	my ($self) = @_;
	my $per_shard = 4 + int(($self->{rows} / 2 + $self->{batch} - 1) / $self->{batch});
	return 2 * $per_shard + $self->{txns};
}

sub _ncopy_responses
{
	my ($self) = @_;
	return 2 * (4 + int(($self->{rows} / 2 + $self->{batch} - 1) / $self->{batch}));
}

# A response index: half of the points in the copy phase, half in the
# replication
sub _pick_response
{
	my ($self) = @_;
	my $ncopy = $self->_ncopy_responses;
	return rand() < 0.5
	  ? 1 + int(rand($ncopy))
	  : $ncopy + 1 + int(rand($self->_nresponses - $ncopy));
}

sub _pick_point
{
	my ($self) = @_;
	my @sim_faults = (
		sub { "close:$_[0],once" }, sub { "close:$_[0],rst,once" },
		sub { "status:$_[0],code=14,message=campaign unavailable,once" },
		sub { "status:$_[0],code=2,message=campaign unknown,once" },
		sub { "status:$_[0],code=10,message=campaign aborted,once" },
		sub { "status:$_[0],code=1,message=campaign cancelled,once" },
		sub { "rst_stream:$_[0],once" }, sub { "goaway:$_[0],once" });
	my %p;
	do
	{
		%p = ();
		$p{fault} = $sim_faults[ int(rand(@sim_faults)) ]->($self->_pick_response)
		  if rand() < 0.75;
		my $r = rand();
		$p{crash} = $r < 0.45 ? 'kill' : $r < 0.7 ? 'immediate' : undef;
		if ($p{crash})
		{
			# either where the test VTGate pauses (between two responses),
			# or after a number of rows (often in the middle of applying)
			if (rand() < 0.5)
			{
				$p{crash_response} = $self->_pick_response;
			}
			else
			{
				$p{crash_rows} = 1 + int(rand($self->{rows} + $self->{txns} - 1));
			}
		}
	} until ($p{fault} || $p{crash});
	return \%p;
}

sub _worker_pid
{
	my ($self) = @_;
	my $out = $self->_q(q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker' LIMIT 1});
	return defined $out && $out =~ /^(\d+)$/ ? $1 : undef;
}

# Run one point; returns (1, description) if it converged, (0, why) if not.
sub run_point
{
	my ($self, $i) = @_;
	my $node = $self->{node};
	my $p = $self->_pick_point;
	my ($fault, $crash) = ($p->{fault}, $p->{crash});
	my $desc = sprintf('point %d: %s; %s', $i, $fault // 'no VTGate fault',
		!$crash ? 'no crash'
		: defined $p->{crash_rows} ? "$crash at $p->{crash_rows} rows"
		: "$crash at response $p->{crash_response}");
	my @faults = $fault ? ($fault) : ();
	push @faults, "delay:$p->{crash_response},seconds=3,once" if defined $p->{crash_response};
	my $sim = VStreamSim->start(
		generate => "copy:$self->{rows},batch=$self->{batch},txns=$self->{txns}",
		faults => \@faults, name => "campaign$i");
	$node->safe_psql('postgres', qq{
		${\ $sim->server_sql('bench') }
		SELECT vstream_fdw.create_stream('bench', start => 'copy');
	});
	my $why;
	if ($crash)
	{
		my $deadline = time + 60;
		my $seen = 'none';
		my ($last, $since) = ('', time);
		while (time < $deadline)
		{
			my $c = $self->_q(q{SELECT count(*) FROM bench.bench}) // 'no table';
			if (defined $p->{crash_rows})
			{
				$seen = $c;
				last if $c =~ /^\d+$/ && $c >= $p->{crash_rows};
			}
			else
			{
				# the test VTGate pauses 3 s before the response: crash once
				# the mirror has not changed for 0.4 s
				($last, $since) = ($c, time) if $c ne $last;
				$seen = $c;
				last if time - $since > 0.4;
			}
			usleep(5_000);
		}
		$desc .= " (crashed with $seen rows)";
		if ($crash eq 'kill')
		{
			my $pid = $self->_worker_pid;
			if ($pid)
			{
				kill 'KILL', $pid;
				# wait for the crash restart of the cluster
				$deadline = time + 60;
				usleep(100_000);
				until (time > $deadline)
				{
					my $w = $self->_worker_pid;
					last if defined $w && $w != $pid;
					usleep(50_000);
				}
			}
			else
			{
				$desc .= ' (no worker to kill)';
			}
		}
		else
		{
			$node->stop('immediate');
			$node->start;
		}
	}
	my $want = $self->_expected_checkpoint;
	my $deadline = time + 120;
	my $ok = 0;
	while (time < $deadline)
	{
		my $cp = $self->_q(qq{SELECT ($CHECKPOINT_SQL) = '$want' AND (SELECT copy_completed FROM vstream_fdw.checkpoint)});
		if (defined $cp && $cp eq 't') { $ok = 1; last; }
		my $err = $self->_q(q{SELECT state FROM vstream_fdw.stream});
		last if defined $err && $err eq 'error';
		usleep(50_000);
	}
	if (!$ok)
	{
		$why = 'checkpoint not at the last VGTID: '
		  . ($self->_q($CHECKPOINT_SQL) // '?') . ' state '
		  . ($self->_q(q{SELECT state || ' ' || coalesce(last_error, '') FROM vstream_fdw.stream}) // '?');
	}
	else
	{
		my $n = $self->{rows} + $self->{txns};
		my $exp = $self->_expected_rows_sql;
		my $counts = $self->_q(q{SELECT count(*) || '/' || count(DISTINCT id) FROM bench.bench}) // '?';
		my $diff = $self->_q(qq{
			SELECT (SELECT count(*) FROM ($exp EXCEPT $MIRROR_SQL) a) || '/' ||
			       (SELECT count(*) FROM ($MIRROR_SQL EXCEPT $exp) b)}) // '?';
		my $state = $self->_q(q{SELECT state FROM vstream_fdw.stream}) // '?';
		$why = "rows/distinct ids $counts, want $n/$n" if $counts ne "$n/$n";
		$why = "missing/extra rows $diff" if !$why && $diff ne '0/0';
		$why = "stream $state" if !$why && $state ne 'replicating';
	}
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('bench', drop_tables => true)});
	$sim->stop;
	return $why ? (0, "$desc: NOT CONVERGED: $why") : (1, $desc);
}

# Run n points; prints each and "k/n converged".  Returns (k, n).
sub run
{
	my ($self, $n) = @_;
	my $converged = 0;
	my %kinds;
	my $t0 = time;
	note("crash campaign: $n points, seed $self->{seed}, copy of $self->{rows} rows + $self->{txns} txns each");
	for my $i (1 .. $n)
	{
		my ($ok, $desc) = $self->run_point($i);
		$converged += $ok;
		note($desc) if $self->{verbose} || !$ok;
		diag($desc) unless $ok;
		$kinds{$1}++ while $desc =~ /\b(close|rst|status|rst_stream|goaway|kill|immediate)\b/g;
		$kinds{'crash in copy'}++ if $desc =~ /crashed with (\d+|no table) rows/ && ($1 eq 'no table' || $1 < $self->{rows});
	}
	my $summary = sprintf('%d/%d converged (seed %s, %.0f s; %s)', $converged, $n, $self->{seed}, time - $t0,
		join(', ', map { "$_ $kinds{$_}" } sort keys %kinds));
	note($summary);
	print STDERR "$summary\n";
	return ($converged, $n);
}

1;
