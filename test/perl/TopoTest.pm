# TopoTest.pm -- shared parts of the topology tests (t/25x_*.pl): the
# source tables, the write load, and the checks that run in PostgreSQL.
#
#   my $vt = VitessCluster->require_topology;
#   my $tt = TopoTest->new($vt);
#   $tt->create_source(pairs => 24);          # customer.acct + customer.ev
#   my $node = $tt->node('topo');             # PostgreSQL with the check objects
#   $tt->create_server($node, 'cust', tablet_type => 'replica');
#   ... create_stream, wait ...
#   $tt->watch_order($node, 'cust');           # per-key order trigger on the mirror
#   my $w = $tt->start_writer;                 # pair-writer.pl in the background
#   my $r = $tt->start_reader($node, 'cust', 30);   # atomicity reader
#   ... topology change ...
#   my $ws = $tt->stop_writer($w);
#   $tt->finish_reader($r);                    # ok(): no half-applied transaction seen
#   $tt->check_mirror($node, 'cust');          # ok(): cell-by-cell equal, order kept
#
# Source: customer.acct(id, grp, bal, ver) holds pairs of rows (same grp)
# that live on one shard before and after a reshard to -40,40-80,80-c0,c0-;
# one statement moves an amount between the two rows of a pair, so the
# invariant "every grp sums to 0" holds in every source transaction and a
# half-applied transaction in PostgreSQL breaks it.  ver grows with every
# update of a row, so an update applied out of order shows as ver going down
# (an ENABLE ALWAYS trigger on the mirror records it).  customer.ev gets one
# row per statement: the final comparison shows lost or doubled rows.
package TopoTest;

use strict;
use warnings;

use Carp;
use HTTP::Tiny;
use Test::More;
use Time::HiRes qw(time usleep);
use VitessCluster;

sub new
{
	my ($class, $vt) = @_;
	return bless { vt => $vt, ev => 1 }, $class;
}

sub vt { return $_[0]{vt}; }

# Quarter (0..3) of the keyspace id of each id under the hash vindex: the
# shard among -40,40-80,80-c0,c0- (and -80 = 0,1; 80- = 2,3).
sub quarters
{
	my ($self, @ids) = @_;
	my %q;
	my $rows = $self->{vt}->mysql('customer',
		'select id, keyspace_id from hash where id in (' . join(',', @ids) . ')');
	for my $line (split /\n/, $rows)
	{
		my ($id, $kid) = split /\t/, $line, 2;
		# mysql --batch escapes \0 \t \n \\ (all < 0x40 but \\ = 0x5c)
		my $b = substr($kid, 0, 1) eq '\\'
		  ? { '0' => 0, 't' => 9, 'n' => 10, '\\' => 0x5c }->{ substr($kid, 1, 1) } // 0
		  : ord(substr($kid, 0, 1));
		$q{$id} = $b >> 6;
	}
	return \%q;
}

# Pairs of ids in the same quarter: NPAIRS pairs from ids FROM...
sub make_pairs
{
	my ($self, $npairs, $from) = @_;
	my @ids = ($from .. $from + 8 * $npairs + 40);
	my $q = $self->quarters(@ids);
	my (%open, @pairs);
	for my $id (@ids)
	{
		my $k = $q->{$id};
		next unless defined $k;
		if (defined $open{$k})
		{
			push @pairs, [ delete $open{$k}, $id ];
			last if @pairs >= $npairs;
		}
		else
		{
			$open{$k} = $id;
		}
	}
	croak "found only " . scalar(@pairs) . " pairs" if @pairs < $npairs;
	return \@pairs;
}

# Source tables customer.acct and customer.ev (hash vindex on id), NPAIRS
# pairs of acct rows with bal 0.
sub create_source
{
	my ($self, %o) = @_;
	my $vt = $self->{vt};
	$vt->mysql('customer', q{
		create table acct(id bigint not null, grp bigint, bal bigint, ver bigint,
		                  primary key(id)) engine=InnoDB;
		create table ev(id bigint not null, a bigint, b bigint, x bigint,
		                primary key(id)) engine=InnoDB;
		alter vschema on customer.acct add vindex hash(id) using hash;
		alter vschema on customer.ev add vindex hash(id) using hash;});
	my $pairs = $self->make_pairs($o{pairs} // 24, $o{from} // 1000);
	my $g = 0;
	my @v;
	for my $p (@$pairs)
	{
		$g++;
		push @v, "($p->[0], $g, 0, 0)", "($p->[1], $g, 0, 0)";
	}
	$vt->mysql_retry('customer', 'insert into acct(id, grp, bal, ver) values ' . join(', ', @v));
	$self->{pairs} = $pairs;
	$self->wait_schema(qw(acct ev));
	return $pairs;
}

# Wait until every customer tablet's schema engine knows TABLES: a VStream
# copy only copies the tables the tablet knows when it starts (a table
# created moments before is silently skipped, rows and all); tablets reload
# every 5 s (--queryserver-config-schema-reload-time).
sub wait_schema
{
	my ($self, @tables) = @_;
	my $vt = $self->{vt};
	my @uids;
	if (open(my $fh, '<', $vt->vtdataroot . '/tablets'))
	{
		while (my $l = <$fh>)
		{
			my ($uid, $ks) = split /:/, $l;
			push @uids, $uid if $ks eq 'customer';
		}
		close $fh;
	}
	my $http = HTTP::Tiny->new(timeout => 5);
	for my $uid (@uids)
	{
		my $url = sprintf('http://127.0.0.1:%d/debug/schema',
			$vt->env('VT_TABLET_HTTP_BASE') + $uid);
		VitessCluster::wait_until(sub {
				my $r = $http->get($url);
				return 0 unless $r->{success};
				return !grep { index($r->{content}, qq{"$_": }) < 0 } @tables;
			}, 30, 0.3)
		  or croak "tablet $uid does not know tables @tables";
	}
	return;
}

# A PostgreSQL node for the topology cluster, with the check objects.
sub node
{
	my ($self, $name) = @_;
	my $node = $self->{vt}->pg_node($name, extra_conf => join("\n",
			'vstream_fdw.restart_interval = 200',
			'vstream_fdw.max_restart_interval = 2000'));
	$node->safe_psql('postgres', q{
		CREATE TABLE public.order_violations(
		    sch text, id bigint, old_ver bigint, new_ver bigint, at timestamptz DEFAULT now());
		CREATE FUNCTION public.topo_order_check() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN
		    IF NEW.ver <= OLD.ver THEN
		        INSERT INTO public.order_violations(sch, id, old_ver, new_ver)
		        VALUES (TG_TABLE_SCHEMA, NEW.id, OLD.ver, NEW.ver);
		    END IF;
		    RETURN NEW;
		END $$;
		-- Runs for SECS seconds: how often a snapshot of the mirror had a pair
		-- whose rows do not sum to 0 (a half-applied source transaction).
		CREATE FUNCTION public.topo_invariant(sch text, secs float8,
		    OUT checks int, OUT violations int, OUT example text)
		LANGUAGE plpgsql AS $$
		DECLARE
		    deadline timestamptz := clock_timestamp() + secs * interval '1 second';
		    bad text;
		BEGIN
		    checks := 0; violations := 0;
		    WHILE clock_timestamp() < deadline LOOP
		        BEGIN
		            EXECUTE format('SELECT string_agg(grp || '':'' || s, '','') FROM '
		                           '(SELECT grp, sum(bal) AS s FROM %I.acct GROUP BY grp '
		                           ' HAVING sum(bal) <> 0) x', sch) INTO bad;
		            checks := checks + 1;
		            IF bad IS NOT NULL THEN
		                violations := violations + 1;
		                example := coalesce(example, bad);
		            END IF;
		        EXCEPTION WHEN undefined_table THEN NULL;
		        END;
		        PERFORM pg_sleep(0.02);
		    END LOOP;
		END $$;});
	return $node;
}

# CREATE SERVER NAME for the customer keyspace; extra options (tablet_type,
# cells, ...) as key => value.
sub create_server
{
	my ($self, $node, $name, %opt) = @_;
	my $vt = $self->{vt};
	my $ks = delete $opt{keyspace} // 'customer';
	my $extra = join('', map { ", $_ '$opt{$_}'" } sort keys %opt);
	$node->safe_psql('postgres', qq{CREATE SERVER "$name" FOREIGN DATA WRAPPER vstream_fdw
		OPTIONS (host '127.0.0.1', port '${\ $vt->grpc_port }', keyspace '$ks',
		         heartbeat_interval '1'$extra)});
	return $name;
}

# The per-key order trigger on a mirror's acct table (once it exists).
sub watch_order
{
	my ($self, $node, $schema) = @_;
	VitessCluster::wait_until(sub {
			defined VitessCluster::psql_value($node,
				"SELECT 1 FROM pg_class WHERE oid = to_regclass('\"$schema\".acct')")
			  && VitessCluster::psql_value($node,
				"SELECT 1 FROM pg_class WHERE oid = to_regclass('\"$schema\".acct')") eq '1';
		}, 60, 0.2)
	  or croak "mirror $schema.acct did not appear";
	$node->safe_psql('postgres', qq{
		CREATE TRIGGER topo_order BEFORE UPDATE ON "$schema".acct
		    FOR EACH ROW EXECUTE FUNCTION public.topo_order_check();
		ALTER TABLE "$schema".acct ENABLE ALWAYS TRIGGER topo_order;});
	return;
}

# Start the write load (test/vitess/pair-writer.pl) on the pairs.
sub start_writer
{
	my ($self, %o) = @_;
	my $dir = $self->{vt}->_tmpdir;
	my $n = ++$self->{writers};
	my $w = { stop => "$dir/writer-$n.stop", out => "$dir/writer-$n.out" };
	unlink $w->{stop}, $w->{out}, "$w->{out}.stderr";
	my $first = $self->{ev};
	$self->{ev} += 1_000_000;
	$w->{h} = IPC::Run::start(
		[ 'perl', "$VitessCluster::REPO/test/vitess/pair-writer.pl",
		  '--port', $self->{vt}->mysql_port,
		  '--pairs', join(',', map { "$_->[0]:$_->[1]" } @{ $self->{pairs} }),
		  '--stop', $w->{stop}, '--out', $w->{out}, '--first-ev', $first,
		  '--batch', $o{batch} // 10 ],
		'<', '/dev/null', '>', "$dir/writer-$n.log", '2>&1');
	$w->{t0} = time;
	return $w;
}

# Stop the write load; returns { statements, errors, last_ev, messages => { msg => count } }.
sub stop_writer
{
	my ($self, $w) = @_;
	open(my $fh, '>', $w->{stop}) or croak "cannot create $w->{stop}: $!";
	close $fh;
	$w->{h}->finish;
	my %r = (messages => {}, seconds => time - $w->{t0});
	open($fh, '<', $w->{out}) or croak "writer wrote no $w->{out}";
	while (my $l = <$fh>)
	{
		chomp $l;
		if ($l =~ /^error (\d+) (.*)$/) { $r{messages}{$2} = $1; }
		elsif ($l =~ /^(\w+) (\d+)$/) { $r{$1} = $2; }
	}
	close $fh;
	note(sprintf("writer: %d statements in %.1f s, %d failed%s", $r{statements},
			$r{seconds}, $r{errors},
			join('', map { "\n  $r{messages}{$_} x $_" } sort keys %{ $r{messages} })));
	cmp_ok($r{statements} - $r{errors}, '>', 0, 'the writer changed the source');
	return \%r;
}

# Atomicity reader on the mirror SCHEMA for SECS seconds (background psql).
sub start_reader
{
	my ($self, $node, $schema, $secs) = @_;
	return $self->{vt}->psql_bg_start($node,
		"SELECT checks || ' ' || violations || ' ' || coalesce(example, '-') "
		  . "FROM public.topo_invariant('$schema', $secs)",
		timeout => $secs + 120);
}

sub finish_reader
{
	my ($self, $r, $what) = @_;
	my ($ok, $out, $err) = $self->{vt}->psql_bg_finish($r);
	ok($ok, "atomicity reader ran ($what)") or diag($err);
	my ($checks, $violations, $example) = split / /, $out // '', 3;
	$checks //= 0;
	cmp_ok($checks, '>', 10, "atomicity reader checked the mirror ($what)");
	is($violations, 0, "no half-applied source transaction seen in $checks snapshots ($what)")
	  or diag("pairs not summing to 0 (grp:sum): $example");
	return;
}

# The mirror of SCHEMA equals the source cell by cell (acct, ev) and no
# update was applied out of order.
sub check_mirror
{
	my ($self, $node, $schema, %o) = @_;
	my $vt = $self->{vt};
	my $ks = $o{source} // 'customer';
	ok($vt->wait_converged($node, [ [ $ks, 'acct', schema => $schema ],
				[ $ks, 'ev', schema => $schema ] ], timeout => $o{timeout} // 90),
		"mirror $schema equals the source cell by cell" . ($o{what} ? " ($o{what})" : ''));
	is(VitessCluster::psql_value($node,
			"SELECT count(*) FROM public.order_violations WHERE sch = '$schema'"),
		'0', "per-key order kept in $schema (ver never went down)");
	return;
}

1;
