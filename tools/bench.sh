#!/usr/bin/env bash
#
# bench.sh -- run tools/bench.pl (see there) as an unprivileged user.
# As root it copies the tree to /tmp/vstream_fdw-bench (BENCH_WORK) and runs
# as "vstream".  The extension must be installed (make install) in the
# PostgreSQL whose pg_config comes first in PATH.
#
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PGBIN=$(pg_config --bindir)
PGXS_PERL="$(dirname "$(pg_config --pgxs)")/../../src/test/perl"
if [ "$(id -u)" = 0 ]; then
	USER_=${VSTREAM_TEST_USER:-vstream}
	id -u "$USER_" >/dev/null 2>&1 || useradd --system --create-home "$USER_"
	WORK=${BENCH_WORK:-/tmp/vstream_fdw-bench}
	rm -rf "$WORK"; mkdir -p "$WORK"
	(cd "$ROOT" && tar --exclude=./.git -cf - .) | (cd "$WORK" && tar -xf -)
	chown -R "$USER_:" "$WORK"
	cd "$WORK"
	exec runuser -u "$USER_" -- env PATH="$PGBIN:$PATH" PERL5LIB="$PGXS_PERL" \
		PG_REGRESS="$(dirname "$(pg_config --pgxs)")/../../src/test/regress/pg_regress" \
		${BENCH_COPY_ROWS:+BENCH_COPY_ROWS=$BENCH_COPY_ROWS} ${BENCH_TXNS:+BENCH_TXNS=$BENCH_TXNS} \
		${BENCH_REPEAT:+BENCH_REPEAT=$BENCH_REPEAT} ${BENCH_ONLY:+BENCH_ONLY=$BENCH_ONLY} ${BENCH_LIVE_ROWS:+BENCH_LIVE_ROWS=$BENCH_LIVE_ROWS} ${BENCH_FSYNC:+BENCH_FSYNC=$BENCH_FSYNC} ${BENCH_WAL_TXNS:+BENCH_WAL_TXNS=$BENCH_WAL_TXNS} ${BENCH_MIRROR_OPTIONS:+BENCH_MIRROR_OPTIONS=$BENCH_MIRROR_OPTIONS} ${VSTREAM_VITESS_ENV:+VSTREAM_VITESS_ENV=$VSTREAM_VITESS_ENV} \
		perl tools/bench.pl
fi
cd "$ROOT"
PATH="$PGBIN:$PATH" PERL5LIB="$PGXS_PERL" \
	PG_REGRESS="$(dirname "$(pg_config --pgxs)")/../../src/test/regress/pg_regress" \
	perl tools/bench.pl
