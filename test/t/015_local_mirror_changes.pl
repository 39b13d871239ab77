# 015_local_mirror_changes.pl -- local changes to a mirror while the worker
# applies a stream of single-row transactions (test VTGate): column types
# changed back and forth, an index, a column with a default, a trigger.
# Each ALTER commits between two of the worker's transactions; the worker
# must notice it after taking its lock (never fill the new row layout with
# the old conversion: that crashed the backend), keep going, and keep every
# row.  Also: the stream never writes into a table it did not create.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use VStreamSim;
use VStreamTest;

my $node = VStreamTest::new_node('local_changes', preload => 1,
	conf => "vstream_fdw.restart_interval = 100\nvstream_fdw.max_restart_interval = 1000\n");

my $n = 60000;
my $sim = VStreamSim->start(generate => "txns:$n");
$node->safe_psql('postgres', qq{
	${\ $sim->server_sql('bench') }
	SELECT vstream_fdw.create_stream('bench', start => 'current');
});
ok($node->poll_query_until('postgres', q{SELECT count(*) > 1000 FROM bench.bench}),
	'the stream applies transactions');
my $pid = $node->safe_psql('postgres',
	q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker'});

my @changes = (
	'ALTER TABLE bench.bench ALTER COLUMN amount TYPE numeric(20,4)',
	'CREATE INDEX bench_name_idx ON bench.bench (name)',
	'ALTER TABLE bench.bench ALTER COLUMN name TYPE varchar(200)',
	q{ALTER TABLE bench.bench ADD COLUMN note text DEFAULT 'local'},
	'ALTER TABLE bench.bench ALTER COLUMN amount TYPE text',
	q{CREATE TABLE bench.audit (n bigint);
	  CREATE FUNCTION bench.count_row() RETURNS trigger LANGUAGE plpgsql AS
	    $$BEGIN INSERT INTO bench.audit VALUES (NEW.id); RETURN NEW; END$$;
	  CREATE TRIGGER bench_count AFTER INSERT ON bench.bench FOR EACH ROW EXECUTE FUNCTION bench.count_row();
	  ALTER TABLE bench.bench ENABLE ALWAYS TRIGGER bench_count},
	'ALTER TABLE bench.bench ALTER COLUMN amount TYPE numeric(14,2) USING amount::numeric',
	'ALTER TABLE bench.bench ALTER COLUMN created TYPE timestamp(6)',
	'DROP INDEX bench.bench_name_idx',
	'ALTER TABLE bench.bench DROP COLUMN note',
	'ALTER TABLE bench.bench ALTER COLUMN name TYPE text',
);
my $round = 0;
for my $c (@changes)
{
	my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM bench.bench');
	$node->safe_psql('postgres', $c);
	$round++;
	# (or the generated stream is already fully applied)
	ok($node->poll_query_until('postgres', "SELECT count(*) > $before + 200 OR count(*) = $n FROM bench.bench"),
		"after local change $round the stream keeps applying");
}

ok($node->poll_query_until('postgres', "SELECT count(*) = $n FROM bench.bench", 't'),
	'every transaction applied');
is($node->safe_psql('postgres', q{SELECT count(*) = max(id) - min(id) + 1 FROM bench.bench}), 't',
	'no row lost or doubled');
is($node->safe_psql('postgres', q{SELECT count(*) FROM bench.bench WHERE amount IS NULL OR name IS NULL}), '0',
	'every value converted into the changed columns');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM bench.audit'), '>', 0,
	'the trigger saw the rows applied after it was created');
is($node->safe_psql('postgres',
		q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'vstream_fdw worker'}),
	$pid, 'the same worker ran through every local change');
is($node->safe_psql('postgres', q{SELECT coalesce(last_error, '') FROM vstream_fdw.stream}), '',
	'no error');
my $log = slurp_file($node->logfile);
unlike($log, qr/PANIC|TRAP:|was terminated by signal|server process .* exited with exit code/,
	'no backend crashed');
unlike($log, qr/reference leak|still referenced|leaked/,
	'no resource leaked by the apply (a mirror with a trigger included)');

$sim->stop;
$node->stop;
done_testing();
