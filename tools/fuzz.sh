#!/bin/bash
# fuzz.sh [SECONDS] -- build the libFuzzer harnesses (fuzz/) with Debian's
# clang, AddressSanitizer and UndefinedBehaviorSanitizer, seed their corpora
# from the test VTGate's scenarios and the real capture, run each for
# SECONDS/2 (default 60 in total), and print the executions.  Exits non-zero
# on any crash, leak or UB report (the reproducer is left in fuzz/build/).
#
# Backend functions the included sources reference but the fuzzed paths
# never call are weak stubs that abort (fuzz/stubs.c).
#
# Needs clang-14 and libclang-rt-14-dev (test/install-deps.sh), protoc-c
# output in src/proto (run make first), python3-protobuf for the corpus.
set -euo pipefail
SECONDS_TOTAL=${1:-60}
cd "$(dirname "$0")/.."
CC=${FUZZ_CC:-clang-14}
PG_CONFIG=${PG_CONFIG:-pg_config}
B=fuzz/build
mkdir -p $B
[ -f src/proto/vtgate.pb-c.c ] || make -s src/proto/vtgate.pb-c.c src/proto/binlogdata.pb-c.c src/proto/query.pb-c.c src/proto/vtrpc.pb-c.c src/proto/topodata.pb-c.c PG_CONFIG="$PG_CONFIG"

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-g -O1 $SAN -I$($PG_CONFIG --includedir-server) -Isrc -Isrc/proto -Ifuzz $(pkg-config --cflags libnghttp2 libprotobuf-c) -D_GNU_SOURCE -Wno-ignored-attributes"
# libpgcommon / libpgport (frontend builds): in pkglibdir on Debian, else libdir
PGLIB=$($PG_CONFIG --pkglibdir)
[ -f "$PGLIB/libpgcommon.a" ] || PGLIB=$($PG_CONFIG --libdir)
LIBS="$PGLIB/libpgcommon.a $PGLIB/libpgport.a"
LDLIBS="$LIBS $(pkg-config --libs libnghttp2 libprotobuf-c) -lm"

objs=""
for f in src/proto/*.pb-c.c src/textsafe.c fuzz/shim.c fuzz/stubs.c; do
	o=$B/$(basename "$f" .c).o
	$CC $CFLAGS -c "$f" -o "$o"
	objs="$objs $o"
done
for h in vstream grpc; do
	$CC $CFLAGS -fsanitize=fuzzer fuzz/fuzz_$h.c $objs $LDLIBS -o $B/fuzz_$h
done

if [ ! -d $B/corpus/vstream ]; then
	/usr/bin/python3 fuzz/make_corpus.py proto $B/corpus >/dev/null
fi

total=0
status=0
per=$(( SECONDS_TOTAL / 2 ))
for h in vstream grpc; do
	mkdir -p $B/corpus/$h.run
	log=$B/fuzz_$h.log
	if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
		$B/fuzz_$h -max_total_time=$per -print_final_stats=1 -rss_limit_mb=4096 \
		-artifact_prefix=$B/crash-$h- $B/corpus/$h.run $B/corpus/$h fuzz/regressions > "$log" 2>&1; then
		status=1
		echo "fuzz_$h: FAILED, see $log"
		grep -aE "ERROR|runtime error|SUMMARY" "$log" | head -5
	fi
	n=$(grep -aE "stat::number_of_executed_units" "$log" | awk '{print $2}' | tail -1)
	n=${n:-0}
	echo "fuzz_$h: $n executions in ${per}s"
	total=$(( total + n ))
done
echo "total: $total executions, $( [ $status = 0 ] && echo 'no crash, leak or UB report' || echo 'FAILURES' )"
exit $status
