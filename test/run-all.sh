#!/usr/bin/env bash
#
# run-all.sh -- the whole test suite, from a fresh Debian 12 machine.
#
# Run as root (it installs packages, builds and installs the extension, and
# brings up a local Vitess).  PostgreSQL, MariaDB and Vitess run as the
# unprivileged OS user "vstream" (VSTREAM_TEST_USER).  The suite is one
# prove(1) run: pg_regress (wrapped in a TAP test), worker and fault tests
# against the scripted test VTGate, and end-to-end tests against the real
# Vitess cluster.  Its closing lines are prove's summary.
#
# Environment:
#   VSTREAM_SKIP_VITESS=1   do not build or start the real Vitess (the
#                           end-to-end tests are then skipped)
#   VSTREAM_TESTS="t/0*.pl" run only some test files (relative to test/)
#   (with Vitess, VSTREAM_TOPO=1 is set: the topology tests t/25x_*.pl each
#   start a cluster of their own, see test/vitess/topo.sh)
#
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TEST_USER=${VSTREAM_TEST_USER:-vstream}
WORK=${VSTREAM_TEST_WORK:-/tmp/vstream_fdw-test}
export PATH=/usr/local/go/bin:$PATH

if [ "$(id -u)" != 0 ]; then
	echo "run-all.sh must run as root (it installs packages and the extension)" >&2
	exit 2
fi

echo "== installing packages"
bash "$ROOT/test/install-deps.sh"

if ! id -u "$TEST_USER" >/dev/null 2>&1; then
	useradd --system --create-home --shell /bin/bash "$TEST_USER"
fi

echo "== building and installing vstream_fdw (work copy in $WORK)"
rm -rf "$WORK"
mkdir -p "$WORK"
(cd "$ROOT" && tar --exclude=./.git -cf - .) | (cd "$WORK" && tar -xf -)
make -C "$WORK" -s clean >/dev/null
make -C "$WORK" -s -j2
make -C "$WORK" -s install
chown -R "$TEST_USER:" "$WORK"

cluster_started=
cleanup() {
	if [ -n "$cluster_started" ]; then
		bash "$WORK/test/vitess/cluster-down.sh" >/dev/null 2>&1 || true
		# the topology tests (t/25x) start and remove their own cluster; one
		# left by a test that died is removed here
		VTDATAROOT=${VSTREAM_TOPO_VTDATAROOT:-/tmp/vt-topo} \
			bash "$WORK/test/vitess/cluster-down.sh" --clean >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

if [ "${VSTREAM_SKIP_VITESS:-}" != 1 ]; then
	echo "== building Vitess (cached in /var/cache/vstream_fdw) and starting a local cluster"
	bash "$WORK/test/vitess/build-vitess.sh"
	bash "$WORK/tools/vstream-drain/build.sh"
	cluster_started=1
	bash "$WORK/test/vitess/cluster-up.sh"
	export VSTREAM_VITESS_ENV=${VTDATAROOT:-/tmp/vt-vstream}/env.sh
	# t/25x_topo_*.pl: each starts its own topology cluster and removes it
	export VSTREAM_TOPO=1
else
	export VSTREAM_VITESS_ENV=/nonexistent
fi

echo "== running the suite as $TEST_USER"
cd "$WORK"
runuser -u "$TEST_USER" -- env \
	PATH="$PATH" VSTREAM_VITESS_ENV="$VSTREAM_VITESS_ENV" VSTREAM_TOPO="${VSTREAM_TOPO:-}" \
	make -s prove-check ${VSTREAM_TESTS:+T="$VSTREAM_TESTS"}
