# VStreamTest.pm -- shared helpers for vstream_fdw TAP tests.
#
#   my $node = VStreamTest::new_node('name', preload => 1);
#   my $events = VStreamTest::expected_events('copy_two_shards.json');
#
package VStreamTest;

use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use Cwd qw(abs_path);
use JSON::PP;
use MIME::Base64;
use PostgreSQL::Test::Cluster;
use Test::More;

our $ROOT = abs_path(File::Spec->catdir(dirname(abs_path(__FILE__)), '..', '..'));

# A started node with the extension created.  preload => 1 loads the library
# at server start (needed for stream workers).
sub new_node
{
	my ($name, %o) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	my $conf = "log_min_messages = info\n";
	if ($o{preload})
	{
		$conf .= "shared_preload_libraries = 'vstream_fdw'\n"
		  . "vstream_fdw.database = 'postgres'\n"
		  . "max_worker_processes = 16\n";
	}
	$conf .= $o{conf} if $o{conf};
	$node->append_conf('postgresql.conf', $conf);
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION vstream_fdw');
	return $node;
}

sub read_scenario
{
	my $file = shift;
	$file = "$ROOT/test/vtgate_sim/scenarios/$file" unless -e $file;
	open(my $fh, '<', $file) or die "cannot open $file: $!";
	local $/;
	my $d = decode_json(<$fh>);
	close $fh;
	return ref $d eq 'ARRAY' ? { responses => $d } : $d;
}

sub _cells
{
	my $row = shift;
	return undef unless $row;
	if ($row->{cells})
	{
		return [ map {
			!defined $_ ? undef
			  : ref $_ eq 'HASH' && defined $_->{hex} ? "\\x" . lc $_->{hex}
			  : ref $_ eq 'HASH' && defined $_->{b64} ? "\\x" . unpack('H*', decode_base64($_->{b64}))
			  : "$_"
		} @{ $row->{cells} } ];
	}
	my @out;
	my $vals = decode_base64($row->{values} // '');
	my $off = 0;
	for my $l (@{ $row->{lengths} })
	{
		if ($l < 0) { push @out, undef; next; }
		push @out, substr($vals, $off, $l);
		$off += $l;
	}
	return \@out;
}

# Binary columns are rendered as "\x<hex>" by peek().
sub _is_binary
{
	my $f = shift;
	my $t = $f->{type} // '';
	return 1 if ($f->{charset} // 0) == 63 && $t =~ /^(VARBINARY|BINARY|BLOB)$/;
	return 0;
}

sub _g { my ($h, @k) = @_; for (@k) { return $h->{$_} if exists $h->{$_}; } return undef; }

# The rows peek() must return for the responses of a scenario, from index
# $from (default 0).  Each: { type, keyspace, shard, table, before, after }
# where before/after are hashes column => text (or undef).
sub expected_events
{
	my ($scenario, $from) = @_;
	my $d = ref $scenario ? $scenario : read_scenario($scenario);
	my (@out, %fields, %binary);
	my $i = -1;
	for my $resp (@{ $d->{responses} })
	{
		$i++;
		next unless $resp->{events};
		for my $ev (@{ $resp->{events} })
		{
			my $type = $ev->{type};
			my $ks = $ev->{keyspace} // '';
			my $sh = $ev->{shard} // '';
			if ($type eq 'FIELD')
			{
				my $fe = _g($ev, 'fieldEvent', 'field_event');
				my $t = _g($fe, 'tableName', 'table_name');
				$t =~ s/^[^.]*\.//;
				$ks ||= $fe->{keyspace} // '';
				$sh ||= $fe->{shard} // '';
				$fields{"$ks/$sh/$t"} = [ map { $_->{name} } @{ $fe->{fields} } ];
				$binary{"$ks/$sh/$t"} = [ map { _is_binary($_) } @{ $fe->{fields} } ];
				push @out, { idx => $i, type => $type, keyspace => $ks, shard => $sh, table => $t }
				  if $i >= ($from // 0);
			}
			elsif ($type eq 'ROW')
			{
				my $re = _g($ev, 'rowEvent', 'row_event');
				my $t = _g($re, 'tableName', 'table_name');
				$t =~ s/^[^.]*\.//;
				$ks ||= $re->{keyspace} // '';
				$sh ||= $re->{shard} // '';
				my $names = $fields{"$ks/$sh/$t"};
				my $bin = $binary{"$ks/$sh/$t"} // [];
				for my $rc (@{ _g($re, 'rowChanges', 'row_changes') })
				{
					my %img;
					for my $which ('before', 'after')
					{
						my $c = _cells($rc->{$which});
						next unless $c;
						for my $k (0 .. $#$c)
						{
							$c->[$k] = "\\x" . unpack('H*', $c->[$k])
							  if $bin->[$k] && defined $c->[$k] && $c->[$k] !~ /^\\x/;
						}
						$img{$which} = { map { $names->[$_] => $c->[$_] } 0 .. $#$c };
					}
					push @out, { idx => $i, type => $type, keyspace => $ks, shard => $sh,
						table => $t, %img }
					  if $i >= ($from // 0);
				}
			}
			else
			{
				push @out, { idx => $i, type => $type, keyspace => $ks, shard => $sh }
				  if $i >= ($from // 0);
			}
		}
	}
	return \@out;
}

# peek() as a list of hashes shaped like expected_events().
sub peek_events
{
	my ($node, $server, $start, $max, $timeout) = @_;
	my $q = qq{
		SELECT coalesce(json_agg(json_build_object(
			'seq', seq, 'type', event_type, 'keyspace', coalesce(keyspace, ''),
			'shard', coalesce(shard, ''), 'table', table_name,
			'before', (SELECT jsonb_object_agg(key, value #>> '{}') FROM jsonb_each(row_before)),
			'after', (SELECT jsonb_object_agg(key, value #>> '{}') FROM jsonb_each(row_after)),
			'vgtid', vgtid, 'statement', statement) ORDER BY seq), '[]')
		FROM vstream_fdw.peek('$server', \$\$$start\$\$, $max, '$timeout')};
	my ($rc, $out, $err) = $node->psql('postgres', $q);
	return (undef, $err) if $rc != 0;
	my $rows = decode_json($out);
	for my $r (@$rows)
	{
		delete $r->{before} unless defined $r->{before};
		delete $r->{after} unless defined $r->{after};
	}
	return ($rows, $err);
}

1;
