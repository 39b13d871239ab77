# 242_e2e_live_invalid_text.pl -- end to end against the real local Vitess:
# bytes that are not valid UTF-8 (a VARBINARY column, a utf8mb4 column
# written with invalid bytes under a lax sql_mode, a latin1 column) read by
# a live foreign table into text columns: an error with its SQLSTATE and
# hint, or NULL under invalid_values 'null'; never invalid text.
#
# Uses its own table (fuzz_live_bytes) and drops it at the end.  Skipped
# without a cluster.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VitessCluster;

my $vt = VitessCluster->require_cluster;

sub drop_source_tables
{
	$vt->mysql_run('commerce', 'drop table if exists fuzz_live_bytes');
}
drop_source_tables();
END { drop_source_tables() if $vt; }

$vt->mysql('commerce', q{create table fuzz_live_bytes(id int primary key,
	b varbinary(10), l varchar(10) character set latin1, u varchar(10) character set utf8mb4)
	engine=InnoDB});
# row 1 valid everywhere; row 2 has a lone 0xC3 in the VARBINARY column and
# latin1 bytes (valid latin1, converted by the server)
$vt->mysql('commerce', q{insert into fuzz_live_bytes values
	(1, x'636166c3a9', x'636166e9', 'ok'), (2, x'c328', x'e9ff', 'ok')});

my $node = $vt->pg_node('e2e_live_text');
sub sql { my ($s) = @_; return $node->safe_psql('postgres', $s); }
$vt->create_server($node, 'live_text', keyspace => 'commerce');
sql("ALTER SERVER live_text OPTIONS (ADD mysql_port '" . $vt->mysql_port . "')");
sql("CREATE USER MAPPING FOR PUBLIC SERVER live_text OPTIONS (user 'root')");
sql(q{CREATE FOREIGN TABLE bytes_text (id int, b text, l text, u text)
	SERVER live_text OPTIONS (table_name 'fuzz_live_bytes')});

# compared as hex: psql's output bytes, no Perl decoding
is(sql(q{SELECT encode(convert_to(b || '|' || l || '|' || u, 'UTF8'), 'hex') FROM bytes_text WHERE id = 1}),
	'636166c3a97c636166c3a97c6f6b', 'valid bytes read as text');
is(sql(q{SELECT encode(convert_to(l, 'UTF8'), 'hex') FROM bytes_text WHERE id = 2}), 'c3a9c3bf',
	'latin1 bytes converted by the server');

my ($rc, $out, $err) = $node->psql('postgres',
	q{\set VERBOSITY verbose
	SELECT b FROM bytes_text WHERE id = 2});
isnt($rc, 0, 'invalid UTF-8 from a VARBINARY column into text fails');
like($err, qr/22021/, 'with SQLSTATE 22021 (character_not_in_repertoire)');
like($err, qr/HINT:/, 'and a hint');
is($out, '', 'no value returned');
is(sql(q{SELECT count(*) FROM bytes_text WHERE id = 2 AND u = 'ok'}), '1', 'other columns of the row readable');

sql(q{ALTER SERVER live_text OPTIONS (ADD invalid_values 'null')});
is(sql(q{SELECT coalesce(b, 'NULL') FROM bytes_text WHERE id = 2}), 'NULL',
	"invalid_values 'null': the value is NULL");
is(sql(q{SELECT string_agg(id || ':' || coalesce(b, 'NULL'), ',' ORDER BY id) FROM bytes_text}),
	"1:caf\xc3\xa9,2:NULL", 'a scan of the whole table returns the valid values');

$node->stop;
done_testing();
