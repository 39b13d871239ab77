#!/bin/bash
# fuzz.sh [SECONDS] -- build the libFuzzer harnesses (fuzz/) with Debian's
# clang, seed their corpora from the test VTGate's scenarios and the real
# capture, run each for SECONDS/4 (default 60 in total), and print the
# executions (FUZZ_HARNESSES="convert vgtid" runs only those).  Exits
# non-zero on any crash, leak, UB or invalid-text report (the reproducer is
# left in fuzz/build/).
#
# fuzz_grpc and fuzz_vstream are executables with AddressSanitizer and
# UndefinedBehaviorSanitizer; backend functions the included sources
# reference but the fuzzed paths never call are weak stubs that abort
# (fuzz/stubs.c).
#
# convert and vgtid (fuzz/fuzz_backend.c) run inside a real PostgreSQL
# backend (postgres --single on a scratch cluster in fuzz/build/backend):
# src/ is compiled into a fuzz-only module with libFuzzer and
# UndefinedBehaviorSanitizer (traps); memory errors are caught by the
# harness's guard-page memory context, not by ASan, whose runtime cannot be
# preloaded into Debian's postgres (it deadlocks on glibc's locale locks).
# As root, the cluster runs as FUZZ_USER (default vstream).
#
# Needs clang-14 and libclang-rt-14-dev (test/install-deps.sh), protoc-c
# output in src/proto (run make first), python3-protobuf for the corpus,
# mysql_config (the extension's build dependencies) for the backend module.
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
	nice -n 19 $CC $CFLAGS -c "$f" -o "$o"
	objs="$objs $o"
done
for h in vstream grpc; do
	nice -n 19 $CC $CFLAGS -fsanitize=fuzzer fuzz/fuzz_$h.c $objs $LDLIBS -o $B/fuzz_$h
done

# ---- the in-backend module (fuzz_backend.c + src/ unchanged) ----
BB=$B/backend
mkdir -p $BB
BSAN="-fsanitize=fuzzer-no-link,undefined -fsanitize-trap=undefined -fno-omit-frame-pointer"
BCFLAGS="-g -O1 -fPIC $BSAN -I$($PG_CONFIG --includedir-server) -Isrc -Isrc/proto -DVSTREAM_EXTENSION_VERSION=\"fuzz\" $(pkg-config --cflags libnghttp2 libprotobuf-c openssl) $(mysql_config --include 2>/dev/null || true) -D_GNU_SOURCE -Wno-ignored-attributes"
# objects built with other flags are rebuilt
if [ "$(cat $BB/flags 2>/dev/null)" != "$BCFLAGS" ]; then
	rm -f $BB/*.o
	echo "$BCFLAGS" > $BB/flags
fi
bobjs=""
for f in src/*.c src/proto/*.pb-c.c fuzz/fuzz_backend.c; do
	o=$BB/$(basename "$f" .c).o
	if [ ! -f "$o" ] || [ "$f" -nt "$o" ] || [ -n "$(find src -name '*.h' -newer "$o")" ]; then
		nice -n 19 $CC $BCFLAGS -c "$f" -o "$o"
	fi
	bobjs="$bobjs $o"
done
RT=$($CC -print-resource-dir)/lib/linux
$CC -shared $BSAN -Wl,-Bsymbolic -o $BB/vstream_fuzz.so $bobjs $RT/libclang_rt.fuzzer_no_main-x86_64.a \
	-lstdc++ $(pkg-config --libs libnghttp2 libprotobuf-c openssl) $(mysql_config --libs 2>/dev/null || true) -lm
AS=""
if [ "$(id -u)" = 0 ]; then
	AS="runuser -u ${FUZZ_USER:-vstream} --"
fi
BIN=$($PG_CONFIG --bindir)
if [ ! -f $BB/pgdata/PG_VERSION ]; then
	rm -rf $BB/pgdata
	mkdir -p $BB/pgdata
	[ -z "$AS" ] || chown "${FUZZ_USER:-vstream}" $BB/pgdata
	$AS "$BIN/initdb" -D $BB/pgdata -E UTF8 --locale=C.UTF-8 -A trust >$BB/initdb.log 2>&1
fi

if [ ! -d $B/corpus/vstream ] || [ ! -d $B/corpus/vgtid ]; then
	/usr/bin/python3 fuzz/make_corpus.py proto $B/corpus >/dev/null
fi

total=0
status=0
# FUZZ_HARNESSES picks some (default: all four)
HARNESSES=${FUZZ_HARNESSES:-vstream grpc convert vgtid}
per=$(( SECONDS_TOTAL / $(echo $HARNESSES | wc -w) ))
for h in vstream grpc; do
	case " $HARNESSES " in *" $h "*) ;; *) continue ;; esac
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
# run_backend HARNESS: libFuzzer inside postgres --single
run_backend() {
	local h=$1 log=$B/fuzz_$1.log dir
	dir=$(cd $B && pwd)
	mkdir -p $B/corpus/$h.run
	if [ -n "$AS" ]; then
		chown -R "${FUZZ_USER:-vstream}" $B/corpus $BB
		chown "${FUZZ_USER:-vstream}" $B
	fi
	cat > $BB/run_$h.sql <<-EOF
	DROP TYPE IF EXISTS vstream_fuzz_enum CASCADE
	CREATE TYPE vstream_fuzz_enum AS ENUM ('a', 'b', 'c')
	CREATE OR REPLACE FUNCTION vstream_fuzz_run(text, text[]) RETURNS int AS '$dir/backend/vstream_fuzz.so', 'vstream_fuzz_run' LANGUAGE C
	CREATE OR REPLACE FUNCTION vstream_fuzz_start_position(start text, OUT vgtid bytea, OUT copy_completed boolean, OUT copied_shards text[]) AS '$dir/backend/vstream_fuzz.so', 'vstream_start_position' LANGUAGE C
	SELECT vstream_fuzz_run('$h', ARRAY['-max_total_time=$per', '-print_final_stats=1', '-timeout=10', '-artifact_prefix=$dir/crash-$h-', '$dir/corpus/$h.run', '$dir/corpus/$h', '$(pwd)/fuzz/regressions/$h'])
	EOF
	if ! (cd /tmp && $AS nice -n 19 "$BIN/postgres" --single -D "$dir/backend/pgdata" postgres < "$dir/backend/run_$h.sql" > "$dir/fuzz_$h.log" 2>&1) ||
		grep -aqE "==ERROR|deadly signal|vstream_fuzz: invalid|Test unit written" "$log"; then
		status=1
		echo "fuzz_$h: FAILED, see $log"
		grep -aE "ERROR|deadly|vstream_fuzz:|SUMMARY" "$log" | head -5
	fi
	n=$(grep -aE "stat::number_of_executed_units" "$log" | awk '{print $2}' | tail -1)
	n=${n:-0}
	echo "fuzz_$h: $n executions in ${per}s"
	total=$(( total + n ))
}
mkdir -p fuzz/regressions/convert fuzz/regressions/vgtid
for h in convert vgtid; do
	case " $HARNESSES " in *" $h "*) run_backend $h ;; esac
done

echo "total: $total executions, $( [ $status = 0 ] && echo 'no crash, leak or UB report' || echo 'FAILURES' )"
exit $status
