# 020_tls_auth.pl -- TLS modes, client certificates and static auth against
# the test VTGate.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use VStreamSim;
use VStreamTest;

my $node = VStreamTest::new_node('tls');
use Cwd qw(abs_path);
my $certs = VStreamSim::make_certs(abs_path(PostgreSQL::Test::Utils::tempdir()) . '/certs');

sub server_sql
{
	my ($name, $port, %opt) = @_;
	my $opts = join(', ', map { "$_ '$opt{$_}'" } sort keys %opt);
	$opts = ", $opts" if $opts;
	return qq{CREATE SERVER $name FOREIGN DATA WRAPPER vstream_fdw
		OPTIONS (port '$port', keyspace 'customer', heartbeat_interval '0'$opts);};
}

sub peek_count
{
	my ($server) = @_;
	return $node->psql('postgres',
		"SELECT count(*) FROM vstream_fdw.peek('$server', 'copy', 20, '3s')");
}

# --- a server certificate for localhost / 127.0.0.1 signed by ca.crt ---
my $sim = VStreamSim->start(scenario => 'copy_two_shards.json', tls => $certs);
my $port = $sim->port;
$node->safe_psql('postgres', join("\n",
	server_sql('full_ok', $port, host => 'localhost', tls => 'verify-full', sslrootcert => "$certs/ca.crt"),
	server_sql('full_ip', $port, host => '127.0.0.1', tls => 'verify-full', sslrootcert => "$certs/ca.crt"),
	server_sql('full_wrongca', $port, host => 'localhost', tls => 'verify-full', sslrootcert => "$certs/wrong-ca.crt"),
	server_sql('ca_wrongca', $port, host => 'localhost', tls => 'verify-ca', sslrootcert => "$certs/wrong-ca.crt"),
	server_sql('require_wrongca', $port, host => 'localhost', tls => 'require'),
	server_sql('plain_to_tls', $port, host => '127.0.0.1', connect_timeout => '3'),
	server_sql('missing_ca', $port, host => 'localhost', tls => 'verify-full', sslrootcert => "$certs/nope.crt")));

my ($rc, $out, $err) = peek_count('full_ok');
is($rc, 0, 'verify-full with the right CA and host name succeeds') or diag($err);
is($out, 20, 'events arrive over TLS');
($rc, $out, $err) = peek_count('full_ip');
is($rc, 0, 'verify-full with an IP address in the certificate succeeds') or diag($err);

($rc, $out, $err) = peek_count('full_wrongca');
isnt($rc, 0, 'verify-full with a wrong CA fails');
like($err, qr/could not verify the certificate of VTGate at localhost:\d+: (unable to get local issuer certificate|certificate verify failed|self.signed)/,
	'wrong CA: the error says the certificate could not be verified');
like($err, qr/HINT:.*sslrootcert/, 'wrong CA: hint names sslrootcert');
($rc, $out, $err) = peek_count('ca_wrongca');
isnt($rc, 0, 'verify-ca with a wrong CA fails');

($rc, $out, $err) = peek_count('require_wrongca');
is($rc, 0, 'tls require encrypts without verifying') or diag($err);

($rc, $out, $err) = peek_count('plain_to_tls');
isnt($rc, 0, 'cleartext HTTP/2 to a TLS port fails');
like($err, qr/VTGate at 127\.0\.0\.1:\d+/, 'the error names the server');

($rc, $out, $err) = peek_count('missing_ca');
like($err, qr/could not load root certificate file ".*nope\.crt"/, 'a missing CA file is reported');
$sim->stop;

# --- a certificate for another host name ---
$sim = VStreamSim->start(scenario => 'copy_two_shards.json',
	tls => { cert => "$certs/wronghost.crt", key => "$certs/wronghost.key" });
$port = $sim->port;
$node->safe_psql('postgres', join("\n",
	server_sql('full_wronghost', $port, host => 'localhost', tls => 'verify-full', sslrootcert => "$certs/ca.crt"),
	server_sql('ca_wronghost', $port, host => 'localhost', tls => 'verify-ca', sslrootcert => "$certs/ca.crt")));
($rc, $out, $err) = peek_count('full_wronghost');
isnt($rc, 0, 'verify-full with a wrong host name fails');
like($err, qr/could not verify the certificate of VTGate at localhost:\d+: [Hh]ostname mismatch/,
	'wrong host: the error says hostname mismatch');
like($err, qr/HINT:.*does not match host "localhost"/, 'wrong host: hint explains');
($rc, $out, $err) = peek_count('ca_wronghost');
is($rc, 0, 'verify-ca does not check the host name') or diag($err);
$sim->stop;

# --- client certificates ---
$sim = VStreamSim->start(scenario => 'copy_two_shards.json', tls => $certs, tls_client_ca => 1);
$port = $sim->port;
$node->safe_psql('postgres', join("\n",
	server_sql('mtls', $port, host => 'localhost', tls => 'verify-full', sslrootcert => "$certs/ca.crt"),
	server_sql('mtls_nocert', $port, host => 'localhost', tls => 'verify-full', sslrootcert => "$certs/ca.crt")));
$node->safe_psql('postgres', qq{
	CREATE USER MAPPING FOR CURRENT_USER SERVER mtls
	  OPTIONS (sslcert '$certs/client.crt', sslkey '$certs/client.key');});
($rc, $out, $err) = peek_count('mtls');
is($rc, 0, 'a client certificate from the user mapping is presented') or diag($err);
my @reqs = $sim->requests;
like($reqs[-1]{client_cert_cn} // $reqs[-1]{tls}{client_cn} // '', qr/vstream_client/,
	'the server saw the client certificate');
($rc, $out, $err) = peek_count('mtls_nocert');
isnt($rc, 0, 'without a client certificate the handshake fails');
$sim->stop;

# --- static auth (gRPC metadata username/password) ---
$sim = VStreamSim->start(scenario => 'copy_two_shards.json', auth => 'vsuser:s3cret-pw');
$port = $sim->port;
$node->safe_psql('postgres', join("\n",
	server_sql('auth_ok', $port, host => '127.0.0.1'),
	server_sql('auth_bad', $port, host => '127.0.0.1'),
	server_sql('auth_none', $port, host => '127.0.0.1')));
# (statement logging off: the test checks that vstream_fdw itself never logs them)
$node->safe_psql('postgres', q{
	SET log_statement = 'none';
	CREATE USER MAPPING FOR CURRENT_USER SERVER auth_ok OPTIONS (user 'vsuser', password 's3cret-pw');
	CREATE USER MAPPING FOR CURRENT_USER SERVER auth_bad OPTIONS (user 'vsuser', password 'wrong-pw');});
($rc, $out, $err) = peek_count('auth_ok');
is($rc, 0, 'static auth with the right password succeeds') or diag($err);
@reqs = $sim->requests;
is($reqs[-1]{password_ok}, JSON::PP::true, 'the server accepted the credentials');
($rc, $out, $err) = peek_count('auth_bad');
isnt($rc, 0, 'a wrong password fails');
like($err, qr/gRPC status UNAUTHENTICATED/, 'the error names UNAUTHENTICATED');
unlike($err, qr/wrong-pw/, 'the password does not appear in the error');
($rc, $out, $err) = peek_count('auth_none');
like($err, qr/UNAUTHENTICATED/, 'no credentials: UNAUTHENTICATED');
$sim->stop;

my $log = slurp_file($node->logfile);
unlike($log, qr/s3cret-pw|wrong-pw/, 'passwords never reach the server log');
unlike($log, qr/terminated by signal/, 'no backend crashed');

$node->stop;
done_testing();
