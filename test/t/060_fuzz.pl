# 060_fuzz.pl -- one minute of the libFuzzer harnesses (tools/fuzz.sh 60,
# 15 s each): gRPC message extraction and VStreamResponse decoding with the
# name checks and row decoding against FIELD (AddressSanitizer and
# UndefinedBehaviorSanitizer); value conversion of every MySQL type and the
# VGTID / lastpk JSON parsing inside a real backend (postgres --single,
# UBSan, guard-page memory context).  Any crash, leak, UB or invalid-text
# report fails.
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
for my $h (qw(vstream grpc convert vgtid))
{
	my ($k) = $out =~ /fuzz_$h: (\d+) executions/;
	cmp_ok($k // 0, '>', 1000, "fuzz_$h ran");
}
my ($n) = $out =~ /total: (\d+) executions/;
cmp_ok($n // 0, '>', 100_000, 'fuzz.sh: more than 100,000 executions');
done_testing();
