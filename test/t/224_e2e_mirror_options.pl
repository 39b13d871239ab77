# 224_e2e_mirror_options.pl -- end to end against the real local Vitess:
# the mirror options of a stream (metadata columns, soft deletes).
#
#   * copied rows carry the source keyspace and the shard the row lives on
#     (by the hash vindex), NULL GTID and commit time;
#   * a source column named like a metadata column (_vstream_gtid) gets
#     another mirror column (mirror_column), its values kept apart;
#   * a transaction written on a tablet (bypassing VTGate, so that its own
#     GTID and time are known: MariaDB's @@last_gtid) arrives with exactly
#     that GTID and its commit time;
#   * deletes mark rows, an insert of a deleted key revives it, updates
#     carry the new transaction's metadata;
#   * a source ADD COLUMN appends the column, the stream's own columns stay;
#   * verify() is "identical" with metadata columns and soft-deleted rows;
#   * turning soft_delete off removes the marked rows at once;
#   * TRUNCATE in an unsharded keyspace marks every row, an insert revives
#     its key; resync_table() removes the marked rows with a warning.
use strict;
use warnings;

use FindBin;
use lib "$FindBin::Bin/../perl";

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VitessCluster;

my $vt = VitessCluster->require_cluster;
my $wait = \&VitessCluster::wait_until;

sub cleanup
{
	$vt->mysql('commerce', "drop table if exists shp_u;");
	$vt->mysql('customer', "drop table if exists shp_t;");
	$vt->mysql_run('customer', "alter vschema on customer.shp_t drop vindex hash;\n");
}
cleanup();
$vt->mysql('customer', q{
create table shp_t (id bigint primary key, v varchar(20), `_vstream_gtid` varchar(20),
                    ts timestamp not null default current_timestamp);
alter vschema on customer.shp_t add vindex hash(id) using hash;
});
$vt->mysql_retry('customer', 'insert into shp_t (id, v, `_vstream_gtid`) values '
	  . join(',', map { "($_, 'v$_', 'src-$_')" } 1 .. 20));

my $node = $vt->pg_node('e2e_mirror_options');
$vt->create_server($node, 'customer');
sub sql { my ($s) = @_; return $node->safe_psql('postgres', $s); }
sql(q{CREATE USER MAPPING FOR PUBLIC SERVER customer OPTIONS (user 'root')});

sql(q{SELECT vstream_fdw.create_stream('customer', ARRAY['shp_t'], 'shp',
	metadata_columns => true, soft_delete => true)});
ok($vt->wait_replicating($node, 'customer', shards => 2, timeout => 120), 'stream replicating');
ok($wait->(sub { sql('SELECT count(*) FROM shp.shp_t') == 20 }, 60, 0.3), 'copy: 20 rows');

# copied rows: keyspace, the shard of the row by the vindex, no transaction
my %shard = map { $_ => $vt->customer_shard($_) } 1 .. 20;
my $shards = join(',', map { "($_,'$shard{$_}')" } sort { $a <=> $b } keys %shard);
is(sql(qq{
	SELECT count(*) FROM shp.shp_t m JOIN (VALUES $shards) s(id, shard) USING (id)
	 WHERE m._vstream_keyspace = 'customer' AND m._vstream_shard = s.shard
	   AND m._vstream_gtid IS NULL AND m._vstream_commit_time IS NULL
	   AND m._vstream_applied_at IS NOT NULL AND NOT m._vstream_deleted}),
	'20', 'copied rows: keyspace, shard by the vindex, NULL GTID and commit time');

# the source column _vstream_gtid has a mirror column of its own
my $srccol = sql(q{SELECT column_name FROM vstream_fdw.mirror_column
	WHERE table_name = 'shp_t' AND source_column = '_vstream_gtid'});
like($srccol, qr/^_vstream_gtid_[0-9a-f]{8}$/, "source column _vstream_gtid mirrored as $srccol");
is(sql(qq{SELECT count(*) FROM shp.shp_t WHERE "$srccol" = 'src-' || id}), '20',
	'its values are in that column');

# replication through VTGate: update, deletes, inserts, a deleted key again
$vt->mysql('customer', q{
update shp_t set v = 'u1' where id = 1;
delete from shp_t where id in (2, 3);
insert into shp_t (id, v, `_vstream_gtid`) values (21, 'v21', 'src-21'), (22, 'v22', 'src-22');
});
$vt->mysql('customer', q{insert into shp_t (id, v, `_vstream_gtid`) values (2, 'again', 'src-2b')});
ok($wait->(sub { sql(q{SELECT count(*) FROM shp.shp_t WHERE id = 2 AND v = 'again'}) == 1
	  && sql(q{SELECT count(*) FROM shp.shp_t WHERE id = 3 AND _vstream_deleted}) == 1 }, 60, 0.3),
	'replicated: row 3 marked deleted, row 2 revived');
is(sql(q{SELECT count(*) || '/' || count(*) FILTER (WHERE _vstream_deleted) FROM shp.shp_t}), '22/1',
	'22 rows, one marked deleted');
is(sql(q{SELECT _vstream_deleted_at IS NOT NULL AND _vstream_deleted_at = _vstream_commit_time
	        AND _vstream_deleted_at > now() - interval '5 minutes' AND _vstream_gtid LIKE 'MariaDB/%'
	   FROM shp.shp_t WHERE id = 3}), 't', 'deleted row: the delete\'s commit time and GTID');
is(sql(q{SELECT NOT _vstream_deleted AND _vstream_deleted_at IS NULL AND "} . $srccol . q{" = 'src-2b'
	        AND _vstream_commit_time >= (SELECT _vstream_commit_time FROM shp.shp_t WHERE id = 3)
	   FROM shp.shp_t WHERE id = 2}), 't', 'revived row: not deleted, the insert\'s values and metadata');
is(sql(q{SELECT count(*) FROM shp.shp_t WHERE id IN (1, 21, 22)
	        AND abs(extract(epoch FROM _vstream_commit_time - CASE WHEN id = 1 THEN now() ELSE ts END)) < 300
	        AND _vstream_commit_time >= ts - interval '1 second' AND _vstream_gtid LIKE 'MariaDB/%'}),
	'3', 'updated and inserted rows: commit time (not before the row\'s source timestamp) and GTID');

# a transaction whose own GTID is known: written on the -80 tablet itself
my ($id) = $vt->customer_ids_on_shard('-80', 1, 1000);
my $uid = $vt->tablet_uid('customer', '-80');
my $out = $vt->mysql_direct($uid, "insert into vt_customer.shp_t (id, v, `_vstream_gtid`) values ($id, 'direct', 'src-d'); "
	  . "select \@\@last_gtid, unix_timestamp();");
my ($gtid, $when) = split /\s+/, (split /\n/, $out)[-1];
like($gtid, qr/^\d+-\d+-\d+$/, "the tablet's GTID of the transaction: $gtid");
ok($wait->(sub { sql(qq{SELECT count(*) FROM shp.shp_t WHERE id = $id}) == 1 }, 60, 0.3), 'direct insert replicated');
my $row = sql(qq{SELECT _vstream_shard || ' ' || _vstream_gtid || ' ' || extract(epoch FROM _vstream_commit_time)::bigint
	FROM shp.shp_t WHERE id = $id});
my ($rshard, $rgtid, $rtime) = split / /, $row;
is($rshard, '-80', 'direct insert: shard');
like($rgtid, qr/^MariaDB\/(.*,)?\Q$gtid\E(,.*)?$/, "direct insert: _vstream_gtid $rgtid holds the transaction's GTID $gtid");
cmp_ok(abs($rtime - $when), '<=', 2, "direct insert: commit time $rtime = the source's time $when (±2 s)");

# source DDL while the options are on: the mirror follows, the stream's own
# columns stay as they are
$vt->mysql('customer', q{alter table shp_t add column extra int not null default 7});
$vt->mysql_retry('customer', q{insert into shp_t (id, v, extra) values (23, 'v23', 8)});
ok($wait->(sub { sql(q{SELECT count(*) FROM shp.shp_t WHERE id = 23}) == 1 }, 60, 0.3), 'row after ADD COLUMN replicated');
is(sql(q{SELECT string_agg(attname, ',' ORDER BY attnum) FROM pg_attribute
	WHERE attrelid = 'shp.shp_t'::regclass AND attnum > 0 AND NOT attisdropped}),
	"id,v,$srccol,ts,_vstream_keyspace,_vstream_shard,_vstream_commit_time,_vstream_gtid,_vstream_applied_at,_vstream_deleted,_vstream_deleted_at,extra",
	'ADD COLUMN appended the source column; the stream\'s columns untouched');
is(sql(q{SELECT string_agg(id || ':' || extra || ':' || (_vstream_gtid IS NOT NULL), ',' ORDER BY id) FROM shp.shp_t WHERE id IN (4, 23)}),
	'4:7:false,23:8:true', 'existing rows got the default, the new row its value and metadata');

# verify(): metadata columns and marked rows are not differences
is(sql(q{SELECT detail FROM vstream_fdw.verify('customer', recheck_timeout => '20 seconds') WHERE kind = 'summary'}),
	'identical', 'verify(): identical with metadata columns and a soft-deleted row');

# soft deletes off: the marked row leaves at once, nothing is copied again
is(sql(q{SELECT vstream_fdw.set_stream_options('customer', soft_delete => false)}),
	'{"soft_delete": false, "metadata_columns": true}', 'soft_delete turned off');
is(sql(q{SELECT count(*) FILTER (WHERE id = 3) || '/' || count(*) FROM shp.shp_t}), '0/23',
	'the row deleted at the source is gone');
ok($vt->wait_replicating($node, 'customer', shards => 2, timeout => 60), 'stream replicating again');
$vt->mysql('customer', q{delete from shp_t where id = 21});
ok($wait->(sub { sql(q{SELECT count(*) FROM shp.shp_t WHERE id = 21}) == 0 }, 60, 0.3),
	'a delete now removes the row');
is(sql(q{SELECT state FROM vstream_fdw.mirror WHERE table_name = 'shp_t'}), 'active', 'not copied again');
is(sql(q{SELECT detail FROM vstream_fdw.verify('customer', recheck_timeout => '20 seconds') WHERE kind = 'summary'}),
	'identical', 'verify(): identical');

sql(q{SELECT vstream_fdw.drop_stream('customer', drop_tables => true)});

# TRUNCATE at the source (unsharded keyspace) under soft_delete: every row
# is marked deleted; an insert afterwards revives its key
$vt->mysql('commerce', q{create table shp_u (id int primary key, v varchar(10));
insert into shp_u values (1, 'a'), (2, 'b'), (3, 'c');});
$vt->create_server($node, 'commerce');
sql(q{SELECT vstream_fdw.create_stream('commerce', ARRAY['shp_u'], 'shpc', soft_delete => true)});
ok($vt->wait_replicating($node, 'commerce', shards => 1, timeout => 120)
	  && $wait->(sub { sql('SELECT count(*) FROM shpc.shp_u') == 3 }, 60, 0.3), 'commerce: copied');
is(sql(q{SELECT count(*) FROM pg_attribute WHERE attrelid = 'shpc.shp_u'::regclass AND attname LIKE '\_vstream\_%'}),
	'2', 'soft_delete alone: two columns, no metadata');
$vt->mysql('commerce', q{truncate table shp_u});
$vt->mysql('commerce', q{insert into shp_u values (2, 'b2')});
ok($wait->(sub { sql(q{SELECT count(*) FROM shpc.shp_u WHERE id = 2 AND v = 'b2'}) == 1 }, 60, 0.3),
	'insert after TRUNCATE replicated');
is(sql(q{SELECT string_agg(id || ':' || v || ':' || _vstream_deleted || ':' || (_vstream_deleted_at IS NOT NULL), ',' ORDER BY id)
	FROM shpc.shp_u}), '1:a:true:true,2:b2:false:false,3:c:true:true',
	'TRUNCATE marked every row deleted; the new insert revived its key');
like(sql(q{SELECT action FROM vstream_fdw.schema_history WHERE statement ILIKE 'truncate%' ORDER BY id DESC LIMIT 1}),
	qr/3 rows marked deleted/, 'schema_history says so');
is(sql(q{SELECT detail FROM vstream_fdw.verify('commerce', recheck_timeout => '20 seconds') WHERE kind = 'summary'}),
	'identical', 'verify(): identical (marked rows are not compared)');
# a re-copy holds what the source has now: the marked rows go, with a warning
my ($rc, $o, $err) = $node->psql('postgres', q{SELECT vstream_fdw.resync_table('commerce', 'shp_u')});
like($err, qr/WARNING:.*"shpc\.shp_u" is copied again: its 2 rows marked deleted \(soft_delete\) are removed/,
	'resync_table warns about the marked rows it removes');
ok($wait->(sub { sql(q{SELECT state FROM vstream_fdw.mirror WHERE table_name = 'shp_u'}) eq 'active' }, 60, 0.3)
	  && sql(q{SELECT string_agg(id || ':' || _vstream_deleted, ',') FROM shpc.shp_u}) eq '2:false',
	'after the re-copy: the source rows only');
sql(q{SELECT vstream_fdw.drop_stream('commerce', drop_tables => true)});
cleanup();
done_testing();
