# 040_hardening.pl -- defects found by reading the code (issue 12), each
# checked against the worker and the test VTGate:
#
#  * a message that cannot be decoded, a ROW without FIELD and a row that
#    does not match its FIELD stop the stream (08P01) instead of being
#    retried forever; a broken connection is still retried;
#  * a FIELD with a huge BINARY column_length does not make every cell
#    allocate that much;
#  * more than 128 shards: every shard's COPY_COMPLETED is recorded and every
#    shard is in stream_status;
#  * invalid UTF-8 (a raw binary primary key in copy_lastpk, a table or
#    column name) never reaches a text value;
#  * with invalid_values 'null' the count of replaced values is shown;
#  * last_error says when it happened, whether it is current, and the recent
#    errors are kept in vstream_fdw.stream_error;
#  * the worker does not run with session_replication_role = replica:
#    ordinary triggers on a mirror fire.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use JSON::PP;
use File::Temp qw(tempdir);
use VStreamSim;
use VStreamTest;

# glibc fills freed memory with this byte: a use of freed memory (the
# relcache callback of a finished session) then crashes instead of reading
# stale data
$ENV{MALLOC_PERTURB_} = 165;
my $node = VStreamTest::new_node('hardening', preload => 1,
	conf => "vstream_fdw.restart_interval = 50\nvstream_fdw.max_restart_interval = 200\n");
my $tmp = tempdir('hardening_XXXX', TMPDIR => 1, CLEANUP => 1);

my $G = 'MySQL56/9da06c32-1c2d-11ef-8a3b-0242ac120004:1-';
my $scount = 0;

sub ev { my ($type, %o) = @_; return { type => $type, keyspace => 'hk', shard => '0', %o }; }
sub vgtid_ev { my $seq = shift; return ev('VGTID', vgtid => { shardGtids => [ { keyspace => 'hk', shard => '0', gtid => "$G$seq" } ] }); }
sub field_ev
{
	my ($table, @fields) = @_;
	return ev('FIELD', fieldEvent => { tableName => "hk.$table", keyspace => 'hk', shard => '0', fields => \@fields });
}
my $id_field = { name => 'id', type => 'INT64', charset => 63, flags => 53251, columnType => 'bigint', columnLength => 20 };
sub row_ev
{
	my ($table, @cells) = @_;
	return ev('ROW', timestamp => 1716372060, rowEvent => { tableName => "hk.$table", keyspace => 'hk', shard => '0',
		rowChanges => [ map { { after => { cells => $_ } } } @cells ] });
}
sub txn
{
	my ($seq, @events) = @_;
	return { events => [ ev('BEGIN', timestamp => 1716372060), @events, vgtid_ev($seq), ev('COMMIT', timestamp => 1716372060) ] };
}

# A replication scenario of keyspace hk, shard 0, started at "current".
sub scenario
{
	my (@responses) = @_;
	my $f = "$tmp/s" . (++$scount) . '.json';
	open(my $fh, '>', $f) or die;
	print $fh encode_json({ current_vgtid => { shardGtids => [ { keyspace => 'hk', shard => '0', gtid => "${G}100" } ] },
		auto_field => JSON::PP::false, responses => \@responses });
	close $fh;
	return $f;
}

sub start_stream
{
	my ($sim, %o) = @_;
	my $opts = $o{options} ? ", OPTIONS ($o{options})" : '';
	$node->safe_psql('postgres', qq{
		DROP SERVER IF EXISTS hk CASCADE;
		CREATE SERVER hk FOREIGN DATA WRAPPER vstream_fdw
		  OPTIONS (host '127.0.0.1', port '${\ $sim->port }', keyspace 'hk' ${\ ($o{server_options} // '') });
		SELECT vstream_fdw.create_stream('hk', start => '${\ ($o{start} // 'current') }');
	});
}

# a query whose failure is a test result, not the end of the script
sub sq
{
	my ($ret, $out, $err) = $node->psql('postgres', shift);
	return $ret == 0 ? $out : "ERROR: $err";
}

sub drop_stream
{
	my $sim = shift;
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('hk', drop_tables => true); DROP SERVER hk CASCADE;});
	$sim->stop;
}

# The stream must stop with an error matching $re after exactly one request.
sub expect_stop
{
	my ($label, $sim, $re) = @_;
	my $stopped = $node->poll_query_until('postgres',
		q{SELECT state = 'error' FROM vstream_fdw.stream WHERE server_name = 'hk'});
	ok($stopped, "$label: the stream stops")
	  or diag($node->safe_psql('postgres', q{SELECT last_error FROM vstream_fdw.stream}));
	like(sq( q{SELECT last_error FROM vstream_fdw.stream_status LIMIT 1}),
		$re, "$label: error in the status view");
	usleep(300_000);
	is(scalar(my @r = $sim->requests), 1, "$label: no reconnect loop");
}

# ---- 08P01: malformed messages stop the stream ----
{
	my $sim = VStreamSim->start(scenario => scenario(), faults => ['malformed:1']);
	start_stream($sim);
	expect_stop('undecodable message', $sim, qr/could not decode a VStreamResponse/);
	drop_stream($sim);
}
{
	my $sim = VStreamSim->start(scenario => scenario(
		txn(101, row_ev('t1', [ '1', 'a' ]))));
	start_stream($sim);
	expect_stop('ROW without FIELD', $sim, qr/without a FIELD event/);
	drop_stream($sim);
}
{
	my $sim = VStreamSim->start(scenario => scenario(
		txn(101, field_ev('t1', $id_field, { name => 'v', type => 'VARCHAR', charset => 255, columnType => 'varchar(10)', columnLength => 40 }),
			row_ev('t1', [ '1', 'a', 'extra' ]))));
	start_stream($sim);
	expect_stop('row not matching its FIELD', $sim, qr/row image has 3 values but its FIELD event has 2 columns/);
	drop_stream($sim);
}
{
	# a broken connection is transient: reconnect and apply
	my $sim = VStreamSim->start(scenario => scenario(
		txn(101, field_ev('t1', $id_field), row_ev('t1', [ '1' ]))), faults => ['close:1,rst,once']);
	start_stream($sim);
	ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM hk.t1}), 'connection reset: retried and applied');
	drop_stream($sim);
}

# ---- a huge BINARY column_length ----
{
	my $sim = VStreamSim->start(scenario => scenario(
		txn(101, field_ev('tbin', $id_field,
				{ name => 'b', type => 'BINARY', charset => 63, flags => 128, columnType => '', columnLength => 2000000000 }),
			row_ev('tbin', [ '1', { hex => '0102' } ]))));
	start_stream($sim);
	$node->poll_query_until('postgres',
		q{SELECT to_regclass('hk.tbin') IS NOT NULL OR bool_or(last_error IS NOT NULL) FROM vstream_fdw.stream});
	usleep(200_000);
	my $val = $node->safe_psql('postgres', q{SELECT to_regclass('hk.tbin') IS NOT NULL}) eq 't'
	  ? $node->safe_psql('postgres', q{SELECT coalesce(string_agg(b::text, ','), '') FROM hk.tbin})
	  : 'no mirror';
	is($val, '\x0102', 'BINARY column_length 2000000000: the cell is stored unpadded');
	is(sq( q{SELECT coalesce(last_error, '') FROM vstream_fdw.stream}), '',
		'BINARY column_length 2000000000: no error');
	drop_stream($sim);
}

# ---- invalid UTF-8 in names: the stream stops with a clear error ----
my %bad = (
	table => '0a11080210dc84b7b206b20102686bba0101300a4f080d32420a06686b2e74c32812170a0269641089023814403f5083a0035a06626967696e7412180a0176109530382840ff015a0b76617263686172283130291a02686b220130b20102686bba0101300a2e080c10dc84b7b2062a1b0a06686b2e74c328120a12080a020202120231781a02686b220130b20102686bba0101300a4a080f3a3d0a3b0a02686b1201301a324d7953514c35362f39646130366333322d316332642d313165662d386133622d3032343261633132303030343a312d313031b20102686bba0101300a11080310dc84b7b206b20102686bba010130',
	column => '0a11080210dc84b7b206b20102686bba0101300a51080d32440a06686b2e74616212170a0269641089023814403f5083a0035a06626967696e74121a0a0376fffe109530382840ff015a0b76617263686172283130291a02686b220130b20102686bba0101300a2e080c10dc84b7b2062a1b0a06686b2e746162120a12080a020202120231781a02686b220130b20102686bba0101300a4a080f3a3d0a3b0a02686b1201301a324d7953514c35362f39646130366333322d316332642d313165662d386133622d3032343261633132303030343a312d313031b20102686bba0101300a11080310dc84b7b206b20102686bba010130');
for my $what (sort keys %bad)
{
	my $sim = VStreamSim->start(scenario => scenario(), faults => ["malformed:1,hex=$bad{$what}"]);
	start_stream($sim);
	expect_stop("invalid UTF-8 in a $what name", $sim, qr/invalid UTF-8/);
	# everything the catalog and the view hold is valid text
	is(sq( q{
		SELECT count(*) FROM vstream_fdw.stream_status
		 WHERE convert_from(convert_to(last_error, 'UTF8'), 'UTF8') IS NOT NULL}), '1',
		"invalid UTF-8 in a $what name: last_error is valid text");
	is(sq( q{
		SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'hk'}), '0',
		"invalid UTF-8 in a $what name: no mirror created");
	drop_stream($sim);
}

# ---- invalid UTF-8 in copy_lastpk: a binary primary key ----
{
	my $bfield = { name => 'k', type => 'VARBINARY', charset => 63, flags => 20611, columnType => 'varbinary(16)', columnLength => 16 };
	my $f = "$tmp/copy_bin.json";
	my $snap = { keyspace => 'hk', shard => '0', gtid => "${G}100" };
	my $ev = sub { my ($t, %o) = @_; return { type => $t, keyspace => 'hk', shard => '0', %o }; };
	open(my $fh, '>', $f) or die;
	print $fh encode_json({ responses => [
		{ events => [ $ev->('BEGIN'), $ev->('FIELD', fieldEvent => { tableName => 'hk.tb', keyspace => 'hk', shard => '0', fields => [ $bfield ] }) ] },
		{ events => [ $ev->('VGTID', vgtid => { shardGtids => [ $snap ] }) ] },
		{ events => [ $ev->('ROW', rowEvent => { tableName => 'hk.tb', keyspace => 'hk', shard => '0',
				rowChanges => [ { after => { cells => [ { hex => 'ffc3' } ] } } ] }),
			$ev->('VGTID', vgtid => { shardGtids => [ { %$snap, tablePKs => [ { tableName => 'tb',
				lastpk => { fields => [ $bfield ], rows => [ { cells => [ { hex => 'ffc3' } ] } ] } } ] } ] }),
			$ev->('COMMIT') ] },
	] });
	close $fh;
	my $sim = VStreamSim->start(scenario => $f);
	start_stream($sim, start => 'copy');
	ok($node->poll_query_until('postgres', q{SELECT copy_lastpk IS NOT NULL FROM vstream_fdw.stream_status}),
		'binary lastpk: copy_lastpk shown');
	my ($ret, $out, $err) = $node->psql('postgres', q{
		SELECT convert_from(convert_to(copy_lastpk, 'UTF8'), 'UTF8') FROM vstream_fdw.stream_status});
	is($err, '', 'binary lastpk: copy_lastpk is valid text');
	like($out, qr/^k=\\xff\\xc3$/, 'binary lastpk: invalid bytes shown as \\xNN');
	drop_stream($sim);
}

# ---- invalid_values 'null': the count of replaced values is shown ----
{
	my $sim = VStreamSim->start(scenario => scenario(
		txn(101, field_ev('td', $id_field,
				{ name => 'd', type => 'DATE', charset => 63, flags => 128, columnType => 'date', columnLength => 10 }),
			row_ev('td', [ '1', '0000-00-00' ], [ '2', '2024-02-30' ], [ '3', '2024-01-01' ]))));
	start_stream($sim, server_options => q{, invalid_values 'null'});
	ok($node->poll_query_until('postgres', q{SELECT count(*) = 3 FROM hk.td}), 'invalid_values null: rows applied');
	is(sq( q{SELECT invalid_values FROM vstream_fdw.stream_status WHERE shard = '0'}),
		'2', 'invalid_values null: 2 replaced values counted in stream_status');
	drop_stream($sim);
}

# ---- last_error: when, current or not, history ----
{
	my $sim = VStreamSim->start(scenario => scenario(
		txn(101, field_ev('th', $id_field), row_ev('th', [ '1' ]))),
		faults => ['status:0,code=14,message=tablet gone,once']);
	start_stream($sim);
	ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM hk.th}), 'history: applied after UNAVAILABLE');
	is(sq( q{
		SELECT last_error ~ 'tablet gone' AND last_error_at IS NOT NULL AND NOT last_error_current
		  FROM vstream_fdw.stream_status}), 't',
		'history: a resolved error is shown as not current');
	is(sq( q{
		SELECT count(*) FROM vstream_fdw.stream_error e JOIN vstream_fdw.stream s ON s.id = e.stream_id
		 WHERE s.server_name = 'hk' AND e.message ~ 'tablet gone' AND NOT e.stopped_stream}), '1',
		'history: the error is in stream_error');
	drop_stream($sim);
}

# ---- triggers on a mirror fire (no session_replication_role = replica) ----
{
	my $sim = VStreamSim->start(scenario => scenario(
		txn(101, field_ev('tt', $id_field), row_ev('tt', [ '1' ])),
		{ sleep => 3 },
		txn(102, row_ev('tt', [ '2' ]))));
	$node->safe_psql('postgres', q{
		CREATE TABLE trig_log (id bigint);
		CREATE FUNCTION trig_fn() RETURNS trigger LANGUAGE plpgsql AS
		  $$BEGIN INSERT INTO public.trig_log VALUES (NEW.id); RETURN NEW; END$$;});
	start_stream($sim);
	ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM hk.tt}), 'trigger: first row');
	$node->safe_psql('postgres', q{CREATE TRIGGER tt_log AFTER INSERT ON hk.tt FOR EACH ROW EXECUTE FUNCTION public.trig_fn()});
	ok($node->poll_query_until('postgres', q{SELECT count(*) = 2 FROM hk.tt}), 'trigger: second row');
	is(sq( q{SELECT string_agg(id::text, ',') FROM trig_log}), '2',
		'trigger: an ordinary trigger on a mirror sees the replicated row');
	drop_stream($sim);
}

# ---- the password: never-indexed header, warning without TLS ----
{
	my $sim = VStreamSim->start(scenario => scenario(), auth => 'vt:s3cret');
	$node->safe_psql('postgres', qq{
		DROP SERVER IF EXISTS hk CASCADE;
		CREATE SERVER hk FOREIGN DATA WRAPPER vstream_fdw
		  OPTIONS (host '127.0.0.1', port '${\ $sim->port }', keyspace 'hk');
		CREATE USER MAPPING FOR CURRENT_USER SERVER hk OPTIONS (user 'vt', password 's3cret');});
	my ($ret, $out, $err) = $node->psql('postgres',
		q{SELECT count(*) FROM vstream_fdw.peek('hk', max_events => 1, timeout => '2 s')});
	is($ret, 0, 'password: peek works');
	like($err, qr/WARNING:  .*password.*without TLS/, 'password without TLS: a warning');
	my @r = $sim->requests;
	ok(scalar(@r) >= 1 && $r[0]{password_ok}, 'password: accepted');
	is(join(',', grep { $_ eq 'password' } @{ $r[0]{never_indexed} // [] }), 'password',
		'password: sent as a never-indexed HTTP/2 header');
	unlike($err, qr/s3cret/, 'password: not in messages');
	$node->safe_psql('postgres', q{DROP SERVER hk CASCADE});
	$sim->stop;
}

# ---- the owner's USAGE on the server is checked by the worker ----
{
	my $sim = VStreamSim->start(scenario => scenario(
		txn(101, field_ev('tu', $id_field), row_ev('tu', [ '1' ]))));
	$node->safe_psql('postgres', qq{
		CREATE ROLE hk_owner LOGIN;
		GRANT USAGE ON FOREIGN DATA WRAPPER vstream_fdw TO hk_owner;
		GRANT USAGE ON SCHEMA vstream_fdw TO hk_owner;
		GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA vstream_fdw TO hk_owner;
		GRANT CREATE ON DATABASE postgres TO hk_owner;
		DROP SERVER IF EXISTS hk CASCADE;
		CREATE SERVER hk FOREIGN DATA WRAPPER vstream_fdw
		  OPTIONS (host '127.0.0.1', port '${\ $sim->port }', keyspace 'hk');
		INSERT INTO vstream_fdw.stream (server_name, target_schema, start, state, owner)
		  VALUES ('hk', 'hk', 'current', 'replicating', 'hk_owner');
		INSERT INTO vstream_fdw.checkpoint (stream_id, copy_completed)
		  SELECT id, true FROM vstream_fdw.stream WHERE server_name = 'hk';
		SELECT vstream_fdw._wake_launcher();});
	ok($node->poll_query_until('postgres', q{SELECT state = 'error' FROM vstream_fdw.stream WHERE server_name = 'hk'}),
		'owner without USAGE: the stream stops');
	like(sq( q{SELECT last_error FROM vstream_fdw.stream}),
		qr/no USAGE privilege on foreign server "hk"/, 'owner without USAGE: the error says so');
	is(scalar(my @r = $sim->requests), 0, 'owner without USAGE: VTGate never contacted');
	$node->safe_psql('postgres', q{SELECT vstream_fdw.drop_stream('hk', drop_tables => true); DROP SERVER hk CASCADE; DROP OWNED BY hk_owner; DROP ROLE hk_owner;});
	$sim->stop;
}

# ---- stream.owner cannot be set to another role by whoever may write the table ----
{
	$node->safe_psql('postgres', q{
		CREATE ROLE hk_writer LOGIN;
		GRANT USAGE ON SCHEMA vstream_fdw TO hk_writer;
		GRANT SELECT, INSERT, UPDATE ON vstream_fdw.stream TO hk_writer;
		GRANT USAGE ON SEQUENCE vstream_fdw.stream_id_seq TO hk_writer;
		INSERT INTO vstream_fdw.stream (server_name, target_schema, enabled, state, owner)
		  VALUES ('hk_other', 'hk_other', false, 'stopped', 'hk_writer');});
	my $su = $node->safe_psql('postgres', 'SELECT current_user');
	my ($ret, $out, $err) = $node->psql('postgres',
		qq{SET ROLE hk_writer; UPDATE vstream_fdw.stream SET owner = '$su' WHERE server_name = 'hk_other'});
	like($err, qr/owner/, 'stream.owner: a non-superuser cannot make another role the owner');
	($ret, $out, $err) = $node->psql('postgres',
		qq{SET ROLE hk_writer; INSERT INTO vstream_fdw.stream (server_name, target_schema, owner) VALUES ('hk_x', 'hk_x', '$su')});
	like($err, qr/owner/, 'stream.owner: nor insert a stream owned by another role');
	is(sq( q{SELECT owner FROM vstream_fdw.stream WHERE server_name = 'hk_other'}),
		'hk_writer', 'stream.owner: unchanged');
	$node->safe_psql('postgres', q{DELETE FROM vstream_fdw.stream WHERE server_name LIKE 'hk_%';
		REVOKE ALL ON vstream_fdw.stream FROM hk_writer; REVOKE ALL ON SCHEMA vstream_fdw FROM hk_writer;
		REVOKE ALL ON SEQUENCE vstream_fdw.stream_id_seq FROM hk_writer; DROP ROLE hk_writer;});
}

# ---- a clean end of stream forgets the session's schema state ----
# A regression check only: it passes without the fix too.  Before the fix the
# relcache callback kept &ws->apply of the ended session, and the next
# session's StartTransactionCommand (before schema_init) runs the callback
# with it; but ws is pfree'd into workercxt's free list and the next
# session's MemoryContextAllocZero of the same size gets the same chunk back,
# zeroed, so the stale pointer sees mappings == NULL and returns.  Only a
# build that poisons freed AllocSet chunks (CLOBBER_FREED_MEMORY, Valgrind
# with USE_VALGRIND) would see it; Debian's PostgreSQL is neither, and
# MALLOC_PERTURB_ does not reach chunks AllocSet keeps.
{
	my $sim = VStreamSim->start(scenario => scenario(
		txn(101, field_ev('tc', $id_field), row_ev('tc', [ '1' ]))), end => '0');
	start_stream($sim);
	ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM hk.tc}), 'clean end: applied');
	# the worker reconnects every restart_interval; each session starts with
	# the relcache invalidations of the DDL below
	for my $i (1 .. 30)
	{
		$node->safe_psql('postgres', "ALTER TABLE hk.tc ADD COLUMN x$i int; CREATE TABLE public.inval_$i (a int)");
		usleep(30_000);
	}
	cmp_ok(scalar(my @r = $sim->requests), '>=', 5, 'clean end: the worker reconnected');
	is(sq( q{SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker'}),
		'1', 'clean end: the worker is alive');
	my $log = slurp_file($node->logfile);
	unlike($log, qr/terminated by signal/, 'clean end: no crash');
	drop_stream($sim);
}

# ---- the worker does not leak its error message per failed session ----
{
	my $msg = 'x' x 1500;
	my $sim = VStreamSim->start(scenario => scenario(), faults => ["status:0,code=14,message=$msg"]);
	$node->safe_psql('postgres', q{ALTER SYSTEM SET vstream_fdw.max_restart_interval = 10;
		ALTER SYSTEM SET vstream_fdw.restart_interval = 10; SELECT pg_reload_conf();});
	start_stream($sim);
	my $size = sub {
		my $pid = $node->safe_psql('postgres', q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker'});
		my $pos = -s $node->logfile;
		$node->safe_psql('postgres', "SELECT pg_log_backend_memory_contexts($pid)");
		for (1 .. 100)
		{
			my $log = substr(slurp_file($node->logfile), $pos);
			return ($1, $pid) if $log =~ /level: 1; vstream_fdw worker: (\d+) total/;
			usleep(50_000);
		}
		return (-1, $pid);
	};
	$sim->wait_for_requests(20, 30);
	my ($s1, $p1) = $size->();
	$sim->wait_for_requests(220, 60);
	my ($s2, $p2) = $size->();
	is($p2, $p1, 'error leak: same worker');
	cmp_ok($s1, '>', 0, "error leak: worker context measured ($s1 bytes)");
	cmp_ok($s2 - $s1, '<', 16_384, "error leak: 200 failed sessions grow the worker context by less than 16 kB ($s1 -> $s2)");
	$node->safe_psql('postgres', q{ALTER SYSTEM RESET vstream_fdw.max_restart_interval;
		ALTER SYSTEM RESET vstream_fdw.restart_interval; SELECT pg_reload_conf();});
	drop_stream($sim);
}

# ---- more than 128 shards ----
{
	my $nsh = 200;
	my $shards = join('/', map { sprintf('s%03d', $_) } 0 .. $nsh - 1);
	my $sim = VStreamSim->start(generate => "copy:400,batch=10,shards=$shards,keyspace=hk");
	start_stream($sim, start => 'copy');
	my $done = $node->poll_query_until('postgres',
		q{SELECT copy_completed FROM vstream_fdw.checkpoint});
	ok($done, "$nsh shards: copy completed");
	is(sq( q{SELECT count(*) FROM hk.bench}), '400', "$nsh shards: all rows");
	is(sq( q{SELECT count(*) FROM vstream_fdw.shard_state WHERE copy_completed}),
		$nsh, "$nsh shards: every shard's COPY_COMPLETED recorded");
	is(sq( q{SELECT count(DISTINCT shard) FROM vstream_fdw.stream_status WHERE rows_copied = 2}),
		$nsh, "$nsh shards: every shard in stream_status with its rows");
	drop_stream($sim);
}

# ---- more shards than vstream_fdw.max_shards_per_stream ----
{
	$node->append_conf('postgresql.conf', "vstream_fdw.max_shards_per_stream = 16\n");
	$node->restart;
	my $nsh = 20;
	my $shards = join('/', map { sprintf('s%03d', $_) } 0 .. $nsh - 1);
	my $sim = VStreamSim->start(generate => "copy:40,batch=10,shards=$shards,keyspace=hk");
	start_stream($sim, start => 'copy');
	ok($node->poll_query_until('postgres', q{SELECT copy_completed FROM vstream_fdw.checkpoint}),
		"$nsh shards, 16 shown: copy completed");
	is(sq(q{SELECT count(*) FROM hk.bench}), '40', "$nsh shards, 16 shown: all rows");
	is(sq(q{SELECT count(*) FROM vstream_fdw.shard_state WHERE copy_completed}), $nsh,
		"$nsh shards, 16 shown: every shard's COPY_COMPLETED recorded");
	is(sq(q{SELECT count(DISTINCT shard) || '/' || max(shards_not_shown) FROM vstream_fdw.stream_status WHERE rows_copied = 2}),
		'16/4', "$nsh shards, 16 shown: 16 shards in stream_status, 4 counted as not shown");
	like(slurp_file($node->logfile), qr/more than 16 shards: shard hk\/s0\d\d and later ones are not shown/,
		"$nsh shards, 16 shown: a warning says so");
	drop_stream($sim);
}

unlike(slurp_file($node->logfile), qr/reference leak|still referenced/,
	'no resource leaked by the apply (mirrors with triggers included)');

$node->stop;
done_testing();
