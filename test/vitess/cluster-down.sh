#!/usr/bin/env bash
#
# cluster-down.sh -- stop the local Vitess cluster started by cluster-up.sh.
#
#   test/vitess/cluster-down.sh           stop every process, keep $VTDATAROOT
#   test/vitess/cluster-down.sh --clean   stop and delete $VTDATAROOT
#
# Only processes recorded in $VTDATAROOT/pids/*.pid and the mariadbd pid files
# ($VTDATAROOT/vt_*/mysql.pid) are signalled -- never anything by name.
#
set -uo pipefail

export VTDATAROOT=${VTDATAROOT:-/tmp/vt-vstream}
CLEAN=0
[ "${1:-}" = "--clean" ] && CLEAN=1

if [ ! -d "$VTDATAROOT" ]; then
	echo "cluster-down: $VTDATAROOT does not exist, nothing to do"
	exit 0
fi

# stop_pid PID EXPECT [TIMEOUT]: TERM, wait, then KILL; EXPECT must occur in
# the process's command line (guards against pid reuse).
stop_pid() {
	local pid=$1 expect=$2 timeout=${3:-15} i
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 0
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$expect" || return 0
	kill -TERM "$pid" 2>/dev/null || return 0
	for ((i = 0; i < timeout * 10; i++)); do
		[ -d "/proc/$pid" ] || return 0
		# a zombie counts as gone
		[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" = Z ] && return 0
		sleep 0.1
	done
	echo "cluster-down: $expect (pid $pid) did not stop in ${timeout}s, killing"
	kill -KILL "$pid" 2>/dev/null
}

pidof_file() { [ -f "$1" ] && cat "$1" 2>/dev/null; }

P=$VTDATAROOT/pids
stop_pid "$(pidof_file "$P/vtgate.pid")" vtgate 10 &
wait
for f in "$P"/vttablet-*.pid; do
	[ -e "$f" ] && stop_pid "$(pidof_file "$f")" vttablet 15 &
done
wait
stop_pid "$(pidof_file "$P/vtctld.pid")" vtctld 10 &
# mariadbd: TERM the server; its mysqld_safe parent then exits by itself.
for f in "$VTDATAROOT"/vt_*/mysql.pid; do
	[ -e "$f" ] && stop_pid "$(pidof_file "$f")" mariadbd 60 &
done
wait
stop_pid "$(pidof_file "$P/etcd.pid")" etcd 10
rm -f "$P"/*.pid

if [ "$CLEAN" = 1 ]; then
	rm -rf "$VTDATAROOT"
	echo "cluster-down: stopped and removed $VTDATAROOT"
else
	echo "cluster-down: stopped (data kept in $VTDATAROOT)"
fi
