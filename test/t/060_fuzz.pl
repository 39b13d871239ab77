# 060_fuzz.pl -- one minute of the libFuzzer harnesses (tools/fuzz.sh 60):
# gRPC message extraction, VStreamResponse decoding with the name checks
# and row decoding against FIELD, with AddressSanitizer and
# UndefinedBehaviorSanitizer.  Any crash, leak or UB report fails.
# FUZZ_SECONDS overrides the duration; skipped without clang-14.
use strict;
use warnings;
use FindBin;
use Test::More;

my $root = "$FindBin::Bin/../..";
plan skip_all => 'clang-14 not installed' unless -x '/usr/bin/clang-14';
my $seconds = $ENV{FUZZ_SECONDS} // 60;
my $out = `bash $root/tools/fuzz.sh $seconds 2>&1`;
my $rc = $? >> 8;
diag($out);
is($rc, 0, 'fuzz.sh: no crash, leak or UB report');
like($out, qr/total: (\d+) executions, no crash/, 'fuzz.sh reports its executions');
my ($n) = $out =~ /total: (\d+) executions/;
cmp_ok($n // 0, '>', 100_000, 'fuzz.sh: more than 100,000 executions');
done_testing();
