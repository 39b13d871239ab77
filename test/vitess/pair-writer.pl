#!/usr/bin/perl
#
# pair-writer.pl -- write load for the topology tests: moves amounts between
# the two rows of a pair of customer.acct in ONE statement (so the source
# transaction changes both rows or neither; every pair lives on one shard,
# also after a 4-way reshard), bumps both rows' ver (per-key order), and
# inserts one row into customer.ev per statement (lost or doubled rows).
#
#   pair-writer.pl --port P --pairs "a:b,c:d,..." --stop FILE --out FILE
#                  [--first-ev N] [--batch 20] [--seconds 600]
#
# Statements run through VTGate with `mysql --force` in batches; failed
# statements (reparent, reshard cut-over) are skipped and counted: a skipped
# statement changed nothing.  Stops when FILE exists; then writes to --out:
# "statements N", "errors N", "last_ev N" and one "error COUNT MESSAGE" line per
# distinct error message.
#
use strict;
use warnings;
use Getopt::Long;
use Time::HiRes qw(time);

my ($port, $pairs, $stop, $out);
my ($first_ev, $batch, $seconds) = (1, 20, 600);
GetOptions('port=i' => \$port, 'pairs=s' => \$pairs, 'stop=s' => \$stop,
	'out=s' => \$out, 'first-ev=i' => \$first_ev, 'batch=i' => \$batch,
	'seconds=i' => \$seconds)
  or die "bad arguments\n";
die "--port, --pairs, --stop and --out are required\n"
  unless $port && $pairs && $stop && $out;

my @pairs = map { [ split /:/ ] } split /,/, $pairs;
my $ev = $first_ev;
my ($statements, $errors) = (0, 0);
my %msg;
my $errfile = "$out.stderr";
my $deadline = time + $seconds;
srand($$);

while (!-e $stop && time < $deadline)
{
	my $sql = '';
	for (1 .. $batch)
	{
		my $p = $pairs[ int(rand(@pairs)) ];
		my $x = 1 + int(rand(100));
		$sql .= "update acct set bal = bal + case id when $p->[0] then -$x else $x end, "
		  . "ver = ver + 1 where id in ($p->[0], $p->[1]);\n"
		  . "insert into ev (id, a, b, x) values ($ev, $p->[0], $p->[1], $x);\n";
		$ev++;
		$statements += 2;
	}
	open(my $fh, '|-', "mysql -h 127.0.0.1 -P $port -u root --batch --force "
		  . "--connect-timeout=5 -D customer >/dev/null 2>>'$errfile'")
	  or die "cannot run mysql: $!";
	print $fh $sql;
	close $fh;
}

if (open(my $e, '<', $errfile))
{
	while (my $l = <$e>)
	{
		next unless $l =~ /^ERROR/;
		$errors++;
		chomp $l;
		$l =~ s/ at line \d+//;
		# the varying parts: ids, positions, timings
		$l =~ s/\b\d{4,}\b/N/g;
		$msg{ substr($l, 0, 300) }++;
	}
	close $e;
}
open(my $o, '>', "$out.tmp") or die "cannot write $out: $!";
print $o "statements $statements\nerrors $errors\nlast_ev " . ($ev - 1) . "\n";
print $o "error $msg{$_} $_\n" for sort { $msg{$b} <=> $msg{$a} } keys %msg;
close $o;
rename "$out.tmp", $out;
