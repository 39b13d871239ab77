# 045_crash_campaign.pl -- random fault points (worker kill -9, immediate
# shutdown, connection drops, gRPC errors, RST_STREAM, GOAWAY) across the
# copy and the replication phases against the test VTGate; after each the
# mirror must equal the source rows exactly and the checkpoint the last VGTID
# (test/perl/CrashCampaign.pm).
#
# CRASH_CAMPAIGN_N points (default 8), CRASH_CAMPAIGN_SEED (default: time).
# tools/crash-campaign.sh N runs this file with N points.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/../perl";
use PostgreSQL::Test::Utils;
use Test::More;
use VStreamTest;
use CrashCampaign;

my $n = $ENV{CRASH_CAMPAIGN_N} // 8;
my $node = VStreamTest::new_node('campaign', preload => 1,
	conf => "restart_after_crash = on\nvstream_fdw.restart_interval = 20\nvstream_fdw.max_restart_interval = 200\n");

my $c = CrashCampaign->new(node => $node, seed => $ENV{CRASH_CAMPAIGN_SEED},
	verbose => $ENV{CRASH_CAMPAIGN_VERBOSE} // 1);
my ($converged, $total) = $c->run($n);
is("$converged/$total", "$n/$n", "crash campaign: $converged/$total converged");

$node->stop;
done_testing();
