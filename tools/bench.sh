#!/usr/bin/env bash
#
# bench.sh -- run tools/bench.pl (see there) as an unprivileged user.
# As root it copies the tree to /tmp/vstream_fdw-bench (BENCH_WORK) and runs
# as "vstream".  The extension must be installed (make install).
# BENCH_PG_CONFIG picks the PostgreSQL installation (default: pg_config on
# PATH).  As root it also builds the Debezium baseline of (d)
# (tools/debezium-bench/build.sh; (d) is skipped when java or mvn are
# missing).
#
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PG_CONFIG=${BENCH_PG_CONFIG:-pg_config}
PGBIN=$($PG_CONFIG --bindir)
PGXS_PERL="$(dirname "$($PG_CONFIG --pgxs)")/../../src/test/perl"
ONLY=${BENCH_ONLY:-abcdefghi}
if [[ $ONLY == *d* ]]; then
	bash "$ROOT/tools/debezium-bench/build.sh" >&2 || echo "debezium-bench not built: (d) will be skipped" >&2
fi
if [ "$(id -u)" = 0 ]; then
	USER_=${VSTREAM_TEST_USER:-vstream}
	id -u "$USER_" >/dev/null 2>&1 || useradd --system --create-home "$USER_"
	WORK=${BENCH_WORK:-${BENCH_WORKDIR:-/tmp/vstream_fdw-bench}}
	rm -rf "$WORK"; mkdir -p "$WORK"
	(cd "$ROOT" && tar --exclude=./.git -cf - .) | (cd "$WORK" && tar -xf -)
	chown -R "$USER_:" "$WORK"
	cd "$WORK"
	exec runuser -u "$USER_" -- env PATH="$PGBIN:$PATH" PERL5LIB="$PGXS_PERL" \
		PG_REGRESS="$(dirname "$($PG_CONFIG --pgxs)")/../../src/test/regress/pg_regress" \
		${BENCH_COPY_ROWS:+BENCH_COPY_ROWS=$BENCH_COPY_ROWS} ${BENCH_TXNS:+BENCH_TXNS=$BENCH_TXNS} \
		${BENCH_REPEAT:+BENCH_REPEAT=$BENCH_REPEAT} ${BENCH_ONLY:+BENCH_ONLY=$BENCH_ONLY} ${BENCH_LIVE_ROWS:+BENCH_LIVE_ROWS=$BENCH_LIVE_ROWS} ${BENCH_FSYNC:+BENCH_FSYNC=$BENCH_FSYNC} ${BENCH_WAL_TXNS:+BENCH_WAL_TXNS=$BENCH_WAL_TXNS} ${BENCH_MIRROR_OPTIONS:+BENCH_MIRROR_OPTIONS=$BENCH_MIRROR_OPTIONS} ${VSTREAM_VITESS_ENV:+VSTREAM_VITESS_ENV=$VSTREAM_VITESS_ENV} \
		${VITESS_CACHE:+VITESS_CACHE=$VITESS_CACHE} ${BENCH_VITESS_ROWS:+BENCH_VITESS_ROWS=$BENCH_VITESS_ROWS} ${BENCH_BACKLOG_ROWS:+BENCH_BACKLOG_ROWS=$BENCH_BACKLOG_ROWS} \
		${BENCH_LAT_RATE:+BENCH_LAT_RATE=$BENCH_LAT_RATE} ${BENCH_LAT_CONNS:+BENCH_LAT_CONNS=$BENCH_LAT_CONNS} ${BENCH_LAT_SECONDS:+BENCH_LAT_SECONDS=$BENCH_LAT_SECONDS} ${BENCH_PERF:+BENCH_PERF=$BENCH_PERF} \
		perl tools/bench.pl
fi
cd "$ROOT"
PATH="$PGBIN:$PATH" PERL5LIB="$PGXS_PERL" \
	PG_REGRESS="$(dirname "$($PG_CONFIG --pgxs)")/../../src/test/regress/pg_regress" \
	perl tools/bench.pl
