# 241_e2e_tls_vtgate.pl -- TLS and static authentication against a real
# VTGate: a second VTGate of the shared local cluster (test/vitess/tls-vtgate.sh,
# own ports and certificates; the main VTGate is not touched) serves its MySQL
# port and gRPC over TLS only, with static users.
#
#   MySQL protocol (live tables): verify-full / verify-ca with the right CA
#   work; with a wrong CA the connection fails in the TLS handshake, before
#   the client's authentication packet (VTGate logs that it could not read
#   the post-TLS handshake response and logs no authentication attempt); a
#   wrong password is refused; a client without TLS is refused.
#   gRPC (VStream): verify-full right CA works, wrong CA fails, static auth
#   with a wrong password is refused.
#   Then the VTGate serves a certificate for another host name (same CA):
#   verify-full refuses it and verify-ca accepts it, on both protocols.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Cwd qw(abs_path);
use Test::More;
use Time::HiRes qw(time);
use VitessCluster;

my $vt = VitessCluster->require_cluster;
my $t0 = time;

# an own table (other tests change the sample rows)
$vt->mysql('commerce', 'drop table if exists live_tls; create table live_tls(sku varchar(20) primary key,'
	  . " description varchar(20), price bigint); insert into live_tls values ('a', 'x', 1), ('b', 'y', 2), ('c', 'z', 250)");
END { $vt->mysql_run('commerce', 'drop table if exists live_tls') if $vt; }

my $dir = abs_path(PostgreSQL::Test::Utils::tempdir('tls_vtgate'));
my ($mysql_port, $grpc_port, $http_port) = map { PostgreSQL::Test::Cluster::get_free_port() } 1 .. 3;
my $script = "$VitessCluster::REPO/test/vitess/tls-vtgate.sh";
my ($out, $err) = ('', '');
my $started = IPC::Run::run([ 'bash', $script, 'start', $dir, $mysql_port, $grpc_port, $http_port ],
	'>', \$out, '2>', \$err, IPC::Run::timeout(120));
END { IPC::Run::run([ 'bash', $script, 'stop', $dir ]) if $dir; }
ok($started, 'second VTGate with TLS and static auth started') or BAIL_OUT("tls-vtgate.sh: $err");
note($out);
my $certs = "$dir/certs";

my $node = $vt->pg_node('e2e_tls');
sub sql { my ($s) = @_; return $node->safe_psql('postgres', $s); }

sub server
{
	my ($name, %o) = @_;
	my $password = delete $o{password} // 'tls_secret';
	my $opts = join(', ', map { "$_ '$o{$_}'" } sort keys %o);
	sql(qq{CREATE SERVER $name FOREIGN DATA WRAPPER vstream_fdw
		OPTIONS (host 'localhost', port '$grpc_port', mysql_port '$mysql_port',
		         keyspace 'commerce', heartbeat_interval '0', connect_timeout '5'
		         @{[ $opts ? ", $opts" : '' ]});
		CREATE USER MAPPING FOR PUBLIC SERVER $name
		OPTIONS (user 'tls_user', password '$password');
		CREATE FOREIGN TABLE ${name}_product (sku text, description text, price bigint)
		SERVER $name OPTIONS (table_name 'live_tls')});
}
server('full_ok', tls => 'verify-full', sslrootcert => "$certs/ca.crt");
server('ca_ok', tls => 'verify-ca', sslrootcert => "$certs/ca.crt");
server('full_wrongca', tls => 'verify-full', sslrootcert => "$certs/wrong-ca.crt");
server('ca_wrongca', tls => 'verify-ca', sslrootcert => "$certs/wrong-ca.crt");
server('require', tls => 'require');
server('plain');
server('badpw', tls => 'verify-full', sslrootcert => "$certs/ca.crt", password => 'wrong');

sub log_count
{
	my ($re) = @_;
	open(my $fh, '<', "$dir/vtgate.log") or return 0;
	my $n = grep { /$re/ } <$fh>;
	close $fh;
	return $n;
}

# ---- MySQL protocol
is(sql('SELECT count(*) FROM full_ok_product'), '3', 'MySQL verify-full with the right CA: rows arrive');
is(sql('SELECT count(*) FROM ca_ok_product'), '3', 'MySQL verify-ca with the right CA');
is(sql('SELECT count(*) FROM require_product'), '3', 'MySQL tls require (no verification)');

my $auth_before = log_count(qr/Error authenticating user/);
my $tls_before = log_count(qr/Cannot read post-SSL client handshake response/);
for my $srv (qw(full_wrongca ca_wrongca))
{
	my ($rc, $o, $e) = $node->psql('postgres', "SELECT count(*) FROM ${srv}_product");
	isnt($rc, 0, "MySQL $srv: refused");
	like($e, qr/could not connect to VTGate at localhost:$mysql_port over the MySQL protocol: TLS\/SSL error: .*(unable to get local issuer|certificate verify failed)/,
		"MySQL $srv: the certificate could not be verified");
}
ok(VitessCluster::wait_until(sub { log_count(qr/Cannot read post-SSL client handshake response/) >= $tls_before + 2 }, 10, 0.2),
	'VTGate: both wrong-CA connections ended in the TLS handshake');
is(log_count(qr/Error authenticating user/), $auth_before,
	'VTGate: no authentication attempt from them (no password was sent)');

my ($rc, $o, $e) = $node->psql('postgres', 'SELECT count(*) FROM badpw_product');
like($e, qr/Access denied for user 'tls_user'/, 'MySQL: a wrong password is refused');
ok(VitessCluster::wait_until(sub { log_count(qr/Error authenticating user tls_user/) > $auth_before }, 10, 0.2),
	'VTGate logged that authentication attempt');
($rc, $o, $e) = $node->psql('postgres', 'SELECT count(*) FROM plain_product');
like($e, qr/insecure connections|SSL/, 'MySQL without TLS: refused by a VTGate that requires TLS');

# tls require / verify-ca against a VTGate without TLS (the main one):
# refused (Connector/C would otherwise go on in clear)
sql(qq{CREATE SERVER req_plain FOREIGN DATA WRAPPER vstream_fdw
	OPTIONS (host '127.0.0.1', mysql_port '@{[ $vt->mysql_port ]}', keyspace 'commerce', tls 'require');
	CREATE USER MAPPING FOR PUBLIC SERVER req_plain OPTIONS (user 'root', password 'not-sent');
	CREATE FOREIGN TABLE req_plain_t (sku text) SERVER req_plain OPTIONS (table_name 'live_tls')});
($rc, $o, $e) = $node->psql('postgres', 'SELECT count(*) FROM req_plain_t');
like($e, qr/could not connect to VTGate .*: the server did not establish TLS/, 'MySQL tls require: a server without TLS is refused');
sql(qq{ALTER SERVER req_plain OPTIONS (SET tls 'verify-ca', ADD sslrootcert '$certs/ca.crt')});
($rc, $o, $e) = $node->psql('postgres', 'SELECT count(*) FROM req_plain_t');
like($e, qr/could not connect to VTGate .*: the server did not establish TLS/, 'MySQL tls verify-ca: a server without TLS is refused');
sql(qq{ALTER SERVER req_plain OPTIONS (SET tls 'verify-full')});
($rc, $o, $e) = $node->psql('postgres', 'SELECT count(*) FROM req_plain_t');
like($e, qr/could not connect to VTGate .*SSL is required/, 'MySQL tls verify-full: a server without TLS is refused before authentication');

# the connection cache follows option changes (syscache invalidation): in one
# session, a cached verified connection, then the CA is changed to a wrong one
($rc, $o, $e) = $node->psql('postgres', qq{SELECT count(*) FROM full_ok_product;
	ALTER SERVER full_ok OPTIONS (SET sslrootcert '$certs/wrong-ca.crt');
	SELECT count(*) FROM full_ok_product;}, on_error_stop => 0);
is($o, '3', 'first read on a cached connection');
like($e, qr/TLS\/SSL error/, 'after ALTER SERVER the same session reconnects with the new options (and fails)');
sql(qq{ALTER SERVER full_ok OPTIONS (SET sslrootcert '$certs/ca.crt')});

# IMPORT FOREIGN SCHEMA and verify() go through the same connection
sql('CREATE SCHEMA imp; IMPORT FOREIGN SCHEMA commerce LIMIT TO (live_tls) FROM SERVER full_ok INTO imp');
is(sql(q{SELECT price FROM imp.live_tls WHERE sku = 'c'}), '250', 'IMPORT FOREIGN SCHEMA over TLS');

# ---- gRPC (VStream)
is(sql(q{SELECT count(*) FROM vstream_fdw.peek('full_ok', 'current', 1, '10 s')}), '1',
	'gRPC verify-full with the right CA and static auth: VStream events arrive');
($rc, $o, $e) = $node->psql('postgres', q{SELECT count(*) FROM vstream_fdw.peek('full_wrongca', 'current', 1, '10 s')});
like($e, qr/could not verify the certificate of VTGate at localhost:$grpc_port/, 'gRPC verify-full with a wrong CA fails');
($rc, $o, $e) = $node->psql('postgres', q{SELECT count(*) FROM vstream_fdw.peek('badpw', 'current', 1, '10 s')});
like($e, qr/PERMISSION_DENIED.*invalid credentials|UNAUTHENTICATED/, 'gRPC static auth with a wrong password is refused');

# ---- a certificate for another host name (same CA): verify-full refuses it,
# verify-ca accepts it, on both protocols
IPC::Run::run([ 'bash', $script, 'stop', $dir ]);
($mysql_port, $grpc_port, $http_port) = map { PostgreSQL::Test::Cluster::get_free_port() } 1 .. 3;
{
	local $ENV{TLS_VTGATE_CERT} = 'wronghost';
	ok(IPC::Run::run([ 'bash', $script, 'start', $dir, $mysql_port, $grpc_port, $http_port ],
			'>', \$out, '2>', \$err, IPC::Run::timeout(120)),
		'VTGate restarted with a certificate for wronghost.invalid') or diag($err);
}
server('wh_full', tls => 'verify-full', sslrootcert => "$certs/ca.crt");
server('wh_ca', tls => 'verify-ca', sslrootcert => "$certs/ca.crt");
($rc, $o, $e) = $node->psql('postgres', 'SELECT count(*) FROM wh_full_product');
like($e, qr/TLS\/SSL error: Validation of SSL server certificate failed/,
	'MySQL verify-full: a certificate for another host name is refused');
is(sql('SELECT count(*) FROM wh_ca_product'), '3', 'MySQL verify-ca: the same certificate is accepted');
($rc, $o, $e) = $node->psql('postgres', q{SELECT count(*) FROM vstream_fdw.peek('wh_full', 'current', 1, '10 s')});
like($e, qr/hostname mismatch/, 'gRPC verify-full: refused for the host name');
is(sql(q{SELECT count(*) FROM vstream_fdw.peek('wh_ca', 'current', 1, '10 s')}), '1',
	'gRPC verify-ca: accepted');

$node->stop;
note(sprintf('241_e2e_tls_vtgate: %.1f s', time - $t0));
done_testing();
