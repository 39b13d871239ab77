#!/usr/bin/env bash
#
# build.sh -- build the Debezium baseline of benchmark (d) (tools/bench.pl)
# into $VITESS_CACHE/debezium-bench (default /var/cache/vstream_fdw):
# debezium-bench.jar and lib/ (Debezium 3.5.0.Final and its dependencies).
#
# Java and Maven serve this benchmark only: the extension's build and tests
# never call this.  Cached: rebuilt only when pom.xml or the source change;
# Maven runs offline (-o) when its local repository ($CACHE/m2) already has
# everything, online otherwise.  Exit status 3: no java/mvn (bench.pl then
# skips (d)).
#
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VITESS_CACHE:-/var/cache/vstream_fdw}
OUT=$CACHE/debezium-bench
command -v java >/dev/null && command -v mvn >/dev/null || { echo "debezium-bench: java and mvn are required" >&2; exit 3; }
key=$( (cd "$HERE" && cat pom.xml $(find src -name '*.java' | sort); java -version 2>&1) | sha256sum | cut -c1-16)
if [ -f "$OUT/debezium-bench.jar" ] && [ "$(cat "$OUT/key" 2>/dev/null)" = "$key" ]; then
	echo "debezium-bench up to date: $OUT"
	exit 0
fi
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
cp -r "$HERE/pom.xml" "$HERE/src" "$BUILD/"
cd "$BUILD"
mvn_() { mvn -q -B -Dmaven.repo.local="$CACHE/m2" "$@"; }
goals="package dependency:copy-dependencies -DoutputDirectory=$BUILD/lib -DincludeScope=runtime"
# shellcheck disable=SC2086
mvn_ -o $goals >/dev/null 2>&1 || mvn_ $goals
rm -rf "$OUT.tmp"; mkdir -p "$OUT.tmp"
cp target/debezium-bench-1.jar "$OUT.tmp/debezium-bench.jar"
cp -r lib "$OUT.tmp/lib"
rm -rf "$OUT"; mv "$OUT.tmp" "$OUT"
echo "$key" >"$OUT/key"
chmod -R a+rX "$OUT"
echo "built $OUT"
