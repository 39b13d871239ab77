# 012_worker_memory.pl -- a source transaction of 1,000,000 rows (spread over
# many responses) is applied as one PostgreSQL transaction with the worker's
# memory bounded: VmHWM of the worker stays far below the size of the data.
# VSTREAM_BIGTXN_ROWS overrides the row count.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use VStreamSim;
use VStreamTest;

my $rows = $ENV{VSTREAM_BIGTXN_ROWS} // 1_000_000;
my $node = VStreamTest::new_node('worker_memory', preload => 1);
my $sim = VStreamSim->start(generate => "bigtxn:$rows,per_resp=500");
$node->safe_psql('postgres', qq{
	${\ $sim->server_sql('bench') }
	SELECT vstream_fdw.create_stream('bench');
});

my ($pid, $rss, $hwm) = (undef, 0, 0);
my $deadline = time + 1800;
my $done = 0;
while (time < $deadline)
{
	$pid //= $node->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker'}) || undef;
	if ($pid && open(my $fh, '<', "/proc/$pid/status"))
	{
		while (<$fh>)
		{
			$rss = $1 if /^VmRSS:\s+(\d+)/ && $1 > $rss;
			$hwm = $1 if /^VmHWM:\s+(\d+)/;
		}
		close $fh;
	}
	$done = $node->safe_psql('postgres',
		q{SELECT coalesce(sum(transactions_applied), 0) FROM vstream_fdw.stream_status});
	last if $done >= 1;
	sleep 1;
}
is($done, 1, 'the big transaction was applied');
is($node->safe_psql('postgres', 'SELECT count(*) FROM bench.bench'), $rows, "$rows rows, one transaction");
note("worker pid $pid: max VmRSS ${rss} kB, VmHWM ${hwm} kB");
diag("worker memory for a $rows-row transaction: VmRSS max ${rss} kB, VmHWM ${hwm} kB");
cmp_ok($hwm, '<', 200 * 1024, 'worker VmHWM below 200 MB');
is($node->safe_psql('postgres', q{
	SELECT count(DISTINCT xmin::text) FROM bench.bench}), 1, 'all rows from one PostgreSQL transaction');

$sim->stop;
$node->stop;
done_testing();
