#!/bin/bash
# crash-campaign.sh [N] [SEED] -- run N random fault points (default 200)
# against the worker and the test VTGate and print "K/N converged"
# (test/t/045_crash_campaign.pl, test/perl/CrashCampaign.pm).
#
# Run from a checkout as a user that may run PostgreSQL (not root), with the
# extension installed in the PostgreSQL whose pg_config is PG_CONFIG (or on
# PATH).  The log of every point is in tmp_check/log/regress_log_045_crash_campaign.
set -euo pipefail
N=${1:-200}
SEED=${2:-$(date +%s)}
cd "$(dirname "$0")/.."
PG_CONFIG=${PG_CONFIG:-pg_config}
# each point takes a few seconds; allow for slow machines
export PG_TEST_TIMEOUT_DEFAULT=${PG_TEST_TIMEOUT_DEFAULT:-300}
CRASH_CAMPAIGN_N=$N CRASH_CAMPAIGN_SEED=$SEED CRASH_CAMPAIGN_VERBOSE=0 \
	make -s prove-check PG_CONFIG="$PG_CONFIG" T=045_crash_campaign.pl PROVE_FLAGS=-v 2>&1 |
	grep -E 'converged|NOT CONVERGED|^(not )?ok|^Result|Failed' || true
