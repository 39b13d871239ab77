# 000_regress.pl -- run the pg_regress suite (sql/, expected/) as a TAP test.
#
# pg_regress starts its own temporary instance (REGRESS_OPTS in the
# Makefile), so this needs only the installed extension.
use strict;
use warnings;
use FindBin;
use Test::More;

my $root = "$FindBin::Bin/../..";
my $out = `make -C $root -s installcheck 2>&1`;
my $rc = $? >> 8;
diag($out) if $rc != 0;
if ($rc != 0 && -f "$root/regression.diffs")
{
	open(my $fh, '<', "$root/regression.diffs") or die;
	local $/;
	diag(<$fh>);
}
is($rc, 0, 'pg_regress suite passes');
like($out, qr/All \d+ tests passed/, 'pg_regress reports every test passed');
done_testing();
