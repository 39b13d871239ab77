# 050_upgrade.pl -- ALTER EXTENSION vstream_fdw UPDATE from 0.1.0 (the
# install script as it shipped, sql/history/) on a database with a stream
# and a mirror table the 0.1.0 worker created:
#
#   * with the new library and the old catalog the worker waits: the error
#     says which version to update to, and it is retried, not fatal;
#   * after the update the stream runs by itself, adopts the 0.1.0 mirror
#     (its columns are mapped, it is not "in the way") and the mirrors end
#     up exactly as the scenario says;
#   * the updated extension's objects are identical to a fresh install's
#     (tables, columns, constraints, indexes, functions, views, comments,
#     privileges, pg_dump configuration).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VStreamSim;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf('postgresql.conf', qq{
log_min_messages = info
shared_preload_libraries = 'vstream_fdw'
vstream_fdw.database = 'postgres'
max_worker_processes = 16
vstream_fdw.restart_interval = 100
vstream_fdw.max_restart_interval = 1000
});
$node->start;

sub sql { my ($s, $db) = @_; return $node->safe_psql($db // 'postgres', $s); }

sql(q{CREATE EXTENSION vstream_fdw VERSION '0.1.0'});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'vstream_fdw'}), '0.1.0',
	'installed at 0.1.0');

my $sim = VStreamSim->start(scenario => 'copy_two_shards.json');

# The state a 0.1.0 worker leaves: a mirror named after its source table,
# registered in the 0.1.0 catalog (no source_table, no column map).
sql(qq{
	${\ $sim->server_sql('customer') }
	CREATE SCHEMA customer;
	CREATE TABLE customer.customer (customer_id bigint PRIMARY KEY, email text);
	INSERT INTO customer.customer VALUES (1, 'old\@example.com');
	SELECT vstream_fdw.create_stream('customer');
	INSERT INTO vstream_fdw.mirror (stream_id, table_name) VALUES (1, 'customer');
});

# the new library waits for the catalog it needs
ok($node->poll_query_until('postgres',
		q{SELECT last_error LIKE 'extension vstream_fdw is at version 0.1.0 but its library is version 0.3.0%' FROM vstream_fdw.stream}),
	'with the 0.1.0 catalog the worker waits, saying why');
is(sql(q{SELECT state FROM vstream_fdw.stream}), 'copying', 'the wait is not a fatal error');
like(slurp_file($node->logfile), qr/HINT:  Run ALTER EXTENSION vstream_fdw UPDATE in database "postgres"/,
	'the log says what to run');

sql(q{ALTER EXTENSION vstream_fdw UPDATE});
is(sql(q{SELECT extversion FROM pg_extension WHERE extname = 'vstream_fdw'}), '0.3.0',
	'updated to 0.3.0 (through 0.2.0)');
is(sql(q{SELECT source_table || '/' || state FROM vstream_fdw.mirror WHERE table_name = 'customer'}), 'customer/active',
	'the 0.1.0 mirror row got its source table');

# the stream resumes by itself and the mirrors converge
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 2 FROM vstream_fdw.stream_status
	 WHERE phase = 'replicating' AND position IN
	   ('MySQL56/7b8e4a10-1c2d-11ef-8a3b-0242ac120002:1-27', 'MySQL56/8c9f5b21-1c2d-11ef-8a3b-0242ac120003:1-35')}),
	'after the update the stream copies and replicates')
  or diag(sql('SELECT * FROM vstream_fdw.stream_status'));
is(sql(q{SELECT string_agg(customer_id || '|' || email, ',' ORDER BY customer_id) FROM customer.customer}),
	'1|alice@domain.com,3|charlie@domain.com,4|dan@planetscale.com,5|eve@domain.com,7|grace@domain.com,'
	  . '8|heidi@domain.com,9|ivan@domain.com,12|bob@domain.com,13|judy@domain.com,15|mallory@domain.com',
	'the 0.1.0 mirror was adopted and now equals the source');
is(sql(q{SELECT string_agg(source_column || '=' || column_name, ',' ORDER BY source_column)
	FROM vstream_fdw.mirror_column WHERE table_name = 'customer'}),
	'customer_id=customer_id,email=email,phone=phone', 'its columns are mapped in the catalog');

# the updated objects equal a fresh install's
sql('CREATE DATABASE fresh');
sql('CREATE EXTENSION vstream_fdw', 'fresh');
my $describe = q{
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'vstream_fdw'),
members AS (
  SELECT d.classid, d.objid FROM pg_depend d, ext
   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e')
SELECT string_agg(line, E'\n' ORDER BY line) FROM (
  SELECT 'rel ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(array_to_string(c.reloptions, ','), '')
         || ' ' || coalesce(obj_description(c.oid, 'pg_class'), '') || ' ' || coalesce(c.relacl::text, '') AS line
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
  UNION ALL
  SELECT 'col ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
         || ' ' || a.attnotnull || ' ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '')
         || ' ' || coalesce(col_description(c.oid, a.attnum), '')
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
  UNION ALL
  SELECT 'con ' || c.relname || ' ' || co.conname || ' ' || pg_get_constraintdef(co.oid)
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_constraint co ON co.conrelid = c.oid
  UNION ALL
  SELECT 'idx ' || pg_get_indexdef(i.indexrelid)
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
    JOIN pg_index i ON i.indrelid = c.oid
  UNION ALL
  SELECT 'view ' || c.relname || ' ' || pg_get_viewdef(c.oid)
    FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
   WHERE c.relkind = 'v'
  UNION ALL
  SELECT 'fn ' || p.oid::regprocedure || ' ' || md5(pg_get_functiondef(p.oid))
         || ' ' || coalesce(obj_description(p.oid, 'pg_proc'), '') || ' ' || coalesce(p.proacl::text, '')
    FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
  UNION ALL
  SELECT 'config ' || (SELECT string_agg(cfg::regclass::text, ',' ORDER BY cfg::regclass::text)
                         FROM pg_extension e, unnest(e.extconfig) cfg WHERE e.extname = 'vstream_fdw')
) s};
my $fresh = sql($describe, 'fresh');
ok(length($fresh) > 1000, 'fresh install described');

# The same comparison from 0.2.0 (as it shipped) updated directly.
sql('CREATE DATABASE from020');
sql(q{CREATE EXTENSION vstream_fdw VERSION '0.2.0'}, 'from020');
# create_stream() gets new arguments in 0.3.0: a grant on it must survive
sql(q{CREATE ROLE stream_admin; GRANT EXECUTE ON FUNCTION vstream_fdw.create_stream(name, text[], name, text) TO stream_admin},
	'from020');
sql(q{ALTER EXTENSION vstream_fdw UPDATE}, 'from020');
is(sql(q{SELECT has_function_privilege('stream_admin',
	'vstream_fdw.create_stream(name, text[], name, text, boolean, boolean)', 'EXECUTE')}, 'from020'),
	't', 'EXECUTE granted on the 0.2.0 create_stream() is granted on the new one');
sql(q{REVOKE EXECUTE ON FUNCTION vstream_fdw.create_stream(name, text[], name, text, boolean, boolean) FROM stream_admin;
	DROP ROLE stream_admin}, 'from020');

foreach my $db ('postgres', 'from020')
{
	my $updated = sql($describe, $db);
	if ($updated eq $fresh)
	{
		pass("the extension updated in database $db equals a fresh install");
	}
	else
	{
		my %f = map { $_ => 1 } split /\n/, $fresh;
		my %u = map { $_ => 1 } split /\n/, $updated;
		diag("only after update:\n" . join("\n", grep { !$f{$_} } sort keys %u)
			  . "\nonly in a fresh install:\n" . join("\n", grep { !$u{$_} } sort keys %f));
		fail("the extension updated in database $db equals a fresh install");
	}
}

$sim->stop;
$node->stop;
done_testing();
