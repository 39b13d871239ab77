# 222_e2e_copy_resume.pl -- end to end against the real local Vitess: a
# copy phase stopped after one table completed and while the next one is
# being copied; meanwhile rows of the completed table are deleted and
# updated at the source.  Vitess rebuilds the copy plan when the stream
# resumes and, told nothing, copies the completed table again from scratch
# while dropping its changes until then, so the deleted rows would stay in
# the mirror.  The worker names the completed table with its last key: the
# changes arrive, and the mirror equals the source.
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

$vt->mysql('commerce', "drop table if exists sc_cr_a; drop table if exists sc_cr_b; drop table if exists sc_cr_c;");
$vt->mysql('commerce', q{
create table sc_cr_a (id int primary key, v varchar(20));
create table sc_cr_b (id int primary key, v varchar(40));
});
my $sql = '';
for my $i (0 .. 1)
{
	$sql .= 'insert into sc_cr_a values ' . join(',', map { "($_, 'a$_')" } ($i * 1000 + 1) .. ($i * 1000 + 1000)) . ";\n";
}
for (my $i = 1; $i <= 300_000; $i += 2000)
{
	$sql .= 'insert into sc_cr_b values ' . join(',', map { "($_, 'b-row-$_')" } $i .. $i + 1999) . ";\n";
}
$vt->mysql('commerce', $sql, timeout => 600);

my $node = $vt->pg_node('e2e_copy_resume');
$vt->create_server($node, 'commerce');
sub sql { my ($s) = @_; return $node->safe_psql('postgres', $s); }

sql("SELECT vstream_fdw.create_stream('commerce', ARRAY['sc_cr_a', 'sc_cr_b'])");
ok($wait->(sub { sql(q{SELECT count(*) FROM vstream_fdw.stream_status WHERE copy_table = 'sc_cr_b'}) eq '1' }, 120, 0.05),
	'the copy reached the second table');
sql("SELECT vstream_fdw.stop_stream('commerce')");
my $copied_b = sql('SELECT count(*) FROM commerce.sc_cr_b');
cmp_ok($copied_b, '<', 300_000, "stopped in the middle of the second table ($copied_b rows copied)");
is(sql('SELECT count(*) FROM commerce.sc_cr_a'), '2000', 'the first table was copied completely');
is(sql(q{SELECT count(*) FROM vstream_fdw.table_copy WHERE source_table = 'sc_cr_a' AND lastpk IS NOT NULL}), '1',
	'its completion and last key are recorded');

# changes to the completed table while the stream is stopped
$vt->mysql('commerce', q{
delete from sc_cr_a where id <= 100;
update sc_cr_a set v = 'changed' where id between 500 and 599;
insert into sc_cr_a values (5000, 'new');
});

sql("SELECT vstream_fdw.start_stream('commerce')");
# a DDL on the table being copied, while it is copied
ok($wait->(sub { sql(q{SELECT count(*) FROM vstream_fdw.stream_status WHERE worker_pid IS NOT NULL}) eq '1' }, 60, 0.05),
	'the stream resumed');
$vt->mysql('commerce', 'alter table sc_cr_b add column x int not null default 7, modify v varchar(60)');
$vt->mysql_retry('commerce', "update sc_cr_b set x = 8 where id = 299999");
ok($vt->wait_replicating($node, 'commerce', shards => 1, timeout => 180), 'the copy completed');
ok($vt->wait_converged($node, [ [ commerce => 'sc_cr_a' ], [ commerce => 'sc_cr_b' ] ], timeout => 120),
	'both mirrors equal their source: no deleted row left behind, the DDL during the copy followed');
is(sql('SELECT count(*) FROM commerce.sc_cr_a WHERE id <= 100'), '0', 'the deleted rows are gone');
like(slurp_file($node->logfile), qr/completed table\(s\) resume from their last key/,
	'the copy resumed naming the completed table');

# add a table to the running stream: it is copied, the others keep going
$vt->mysql('commerce', q{
create table sc_cr_c (id int primary key, v int);
insert into sc_cr_c values (1, 1), (2, 2), (3, 3);
});
my $pid = $vt->worker_pid($node, 'commerce');
sql("SELECT vstream_fdw.add_table('commerce', 'sc_cr_c')");
$vt->mysql_retry('commerce', "insert into sc_cr_c values (4, 4); update sc_cr_a set v = 'after add' where id = 2000");
ok($vt->wait_converged($node, [ [ commerce => 'sc_cr_c' ], [ commerce => 'sc_cr_a' ] ], timeout => 120),
	'add_table: the new table is copied and the others keep replicating');
is(sql(q{SELECT tables FROM vstream_fdw.stream}), '{sc_cr_a,sc_cr_b,sc_cr_c}', 'add_table: the stream lists it');
ok($wait->(sub { sql(q{SELECT state FROM vstream_fdw.mirror WHERE source_table = 'sc_cr_c'}) eq 'active' }, 60, 0.2),
	'add_table: the mirror is active once copied');

# resync_table: copied again while the other tables keep replicating
sql(q{UPDATE commerce.sc_cr_a SET v = 'planted' WHERE id = 1000});
sql("SELECT vstream_fdw.resync_table('commerce', 'sc_cr_a')");
$vt->mysql_retry('commerce', "insert into sc_cr_c values (5, 5)");
ok($vt->wait_converged($node, [ [ commerce => 'sc_cr_a' ], [ commerce => 'sc_cr_c' ] ], timeout => 120),
	'resync_table: the table equals its source again');
ok($wait->(sub { sql(q{SELECT state FROM vstream_fdw.mirror WHERE source_table = 'sc_cr_a'}) eq 'active' }, 60, 0.2),
	'resync_table: active again once copied');
like(sql(q{SELECT string_agg(DISTINCT phase, ',') FROM vstream_fdw.stream_status}), qr/^replicating$/,
	'the stream replicates');

# a re-copy of a large table cut by kill -9 of the worker resumes, and the
# table is whole (and 'active') once the copy caught up
sql("SELECT vstream_fdw.resync_table('commerce', 'sc_cr_b')");
# copy_progress while it copies: rows, the source's estimate, percent, ETA
my $progress = q{SELECT concat_ws('|', table_name, tuples_processed, tuples_total, percent, rows_per_second, eta IS NOT NULL, relid)
	FROM vstream_fdw.copy_progress WHERE table_name = 'sc_cr_b'};
my ($p1, $p2) = ('', '');
ok($wait->(sub { $p1 = sql($progress); $p1 =~ /^sc_cr_b\|[1-9]/ }, 60, 0.02), "copy_progress shows the copy ($p1)");
ok($wait->(sub { $p2 = sql($progress); my @a = split /\|/, $p1; my @b = split /\|/, $p2;
		@b > 1 && $b[1] > $a[1] }, 60, 0.02), "and its progress ($p2)");
{
	my (undef, $done, $total, $pct, $rate, $has_eta, $relid) = split /\|/, $p2;
	cmp_ok($total, '>', 100_000, "copy_progress: the source's estimate ($total rows; 300,000 at the source)");
	ok($pct > 0 && $pct <= 100, "copy_progress: percent ($pct)");
	ok($rate > 0, "copy_progress: rows per second ($rate)");
	is($relid, 'commerce.sc_cr_b', 'copy_progress: the mirror');
}
ok($wait->(sub { sql(q{SELECT count(*) FROM commerce.sc_cr_b}) > 20000 }, 120, 0.05),
	're-copy of the large table under way');
my $wpid = $vt->worker_pid($node, 'commerce');
kill 'KILL', $wpid if $wpid;
$vt->mysql_retry('commerce', "delete from sc_cr_b where id between 100 and 199; update sc_cr_b set v = 'during' where id = 250000");
ok($wait->(sub { (eval { sql(q{SELECT state FROM vstream_fdw.mirror WHERE source_table = 'sc_cr_b'}) } // '') eq 'active' }, 180, 0.3),
	'after kill -9 the re-copy resumed and completed');
ok($vt->wait_converged($node, [ [ commerce => 'sc_cr_b' ], [ commerce => 'sc_cr_a' ] ], timeout => 120),
	'the re-copied table equals its source');
is(sql(q{SELECT count(*) FROM vstream_fdw.copy_progress}), '0', 'copy_progress is empty once every copy completed');

$vt->mysql('commerce', "drop table if exists sc_cr_a; drop table if exists sc_cr_b; drop table if exists sc_cr_c;");
$node->stop;
done_testing();
