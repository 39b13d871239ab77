#!/usr/bin/env bash
#
# restart-vtgate.sh -- restart only the VTGate of the local cluster of
# cluster-up.sh (tablets, MariaDB, etcd and vtctld keep running), for tests of
# "VTGate went away while a VStream was open".
#
#   test/vitess/restart-vtgate.sh [--down SECONDS] [--kill9] [--stop-only | --start-only]
#
#   --down S      keep VTGate down for S seconds before starting it again (default 0)
#   --kill9       stop it with SIGKILL (a crash) instead of SIGTERM (graceful)
#   --stop-only   stop it and leave it down
#   --start-only  start it (when it is down) and wait until it serves
#
# The new VTGate gets exactly the command line of the old one (read from
# /proc/<pid>/cmdline and saved in $VTDATAROOT/vtgate.cmdline, so that
# --start-only works after --stop-only).  Only the pid in
# $VTDATAROOT/pids/vtgate.pid is signalled.  Waits until VTGate lists 3
# PRIMARY SERVING tablets and routes a query on each keyspace (timeout
# VT_READY_TIMEOUT, default 60 s).  Run as root or as the cluster's user.
#
set -euo pipefail

export VTDATAROOT=${VTDATAROOT:-/tmp/vt-vstream}
ENVF=$VTDATAROOT/env.sh
[ -r "$ENVF" ] || { echo "restart-vtgate: $ENVF not found (cluster-up.sh not run?)" >&2; exit 1; }
# shellcheck disable=SC1090
. "$ENVF"
DOWN=0 SIG=TERM MODE=restart
while [ $# -gt 0 ]; do
	case $1 in
	--down) DOWN=$2; shift 2 ;;
	--kill9) SIG=KILL; shift ;;
	--stop-only) MODE=stop; shift ;;
	--start-only) MODE=start; shift ;;
	*) echo "usage: $0 [--down SECONDS] [--kill9] [--stop-only | --start-only]" >&2; exit 2 ;;
	esac
done
TIMEOUT=${VT_READY_TIMEOUT:-60}
PIDF=$VTDATAROOT/pids/vtgate.pid
CMDF=$VTDATAROOT/vtgate.cmdline
T0=$EPOCHREALTIME
log() { printf '[restart-vtgate %5.1fs] %s\n' "$(awk -v a="$EPOCHREALTIME" -v b="$T0" 'BEGIN{print a-b}')" "$*"; }

alive() {  # alive PID: a live (non-zombie) vtgate process
	local pid=$1
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q vtgate
}

pid=$(cat "$PIDF" 2>/dev/null || true)

if [ "$MODE" != start ]; then
	if alive "$pid"; then
		cp "/proc/$pid/cmdline" "$CMDF.tmp" && mv "$CMDF.tmp" "$CMDF"
		log "stopping vtgate (pid $pid, SIG$SIG)"
		kill -"$SIG" "$pid"
		for ((i = 0; i < 150; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		if alive "$pid"; then
			log "vtgate did not stop in 15 s, SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
			sleep 0.5
		fi
	else
		log "vtgate is not running"
	fi
	[ "$MODE" = stop ] && exit 0
	[ "$DOWN" != 0 ] && { log "keeping vtgate down for ${DOWN}s"; sleep "$DOWN"; }
elif alive "$pid"; then
	log "vtgate already runs (pid $pid)"
	exit 0
fi

# ---- start -----------------------------------------------------------------
if [ -s "$CMDF" ]; then
	mapfile -d '' ARGS <"$CMDF"
	ARGS[0]=$VTROOT/bin/vtgate
else
	# no saved command line: the one of cluster-up.sh
	ETCD_PORT=${ETCD_ADDR##*:}
	ARGS=("$VTROOT/bin/vtgate" --topo-implementation etcd2
		--topo-global-server-address "127.0.0.1:$ETCD_PORT" --topo-global-root /vitess/global
		--cell zone1 --cells-to-watch zone1 --tablet-types-to-wait PRIMARY
		--port "$VTGATE_HTTP_PORT" --grpc-port "$VTGATE_GRPC_PORT" --service-map grpc-vtgateservice
		--mysql-server-port "$VTGATE_MYSQL_PORT" --mysql-server-bind-address 127.0.0.1
		--mysql-auth-server-impl none --vschema-ddl-authorized-users %
		--bind-address 127.0.0.1 --grpc-bind-address 127.0.0.1 --log-format text)
fi

# the ports must be free again (a killed vtgate releases them at once)
deadline=$(($(date +%s) + 30))
for p in "$VTGATE_GRPC_PORT" "$VTGATE_MYSQL_PORT" "$VTGATE_HTTP_PORT"; do
	while ss -Hltn "sport = :$p" | grep -q .; do
		[ "$(date +%s)" -lt "$deadline" ] || { echo "restart-vtgate: port $p still in use" >&2; exit 1; }
		sleep 0.2
	done
done

if [ "$(id -u)" = 0 ] && [ "$VT_USER" != root ]; then
	as_vt() { runuser -u "$VT_USER" -- "$@"; }
else
	as_vt() { "$@"; }
fi
log "starting vtgate"
as_vt env VTROOT="$VTROOT" VTDATAROOT="$VTDATAROOT" PATH="$VTROOT/bin:$PATH" TMPDIR="$VTDATAROOT/tmp" \
	sh -c 'setsid "$@" >>"$VTDATAROOT/logs/vtgate.log" 2>&1 </dev/null & echo $! >"$VTDATAROOT/pids/vtgate.pid"' \
	sh "${ARGS[@]}"

MYSQL=(mysql -h 127.0.0.1 -P "$VTGATE_MYSQL_PORT" -u root --batch --skip-column-names --connect-timeout=5)
ready() {
	local n
	n=$("${MYSQL[@]}" -e 'show vitess_tablets' 2>/dev/null | awk '$4=="PRIMARY" && $5=="SERVING"' | wc -l)
	[ "$n" -ge 3 ] || return 1
	"${MYSQL[@]}" -e 'select count(*) from customer.customer; select count(*) from commerce.product' >/dev/null 2>&1
}
deadline=$(($(date +%s) + TIMEOUT))
until ready; do
	if [ "$(date +%s)" -ge "$deadline" ]; then
		echo "restart-vtgate: vtgate not serving after ${TIMEOUT}s (log: $VTDATAROOT/logs/vtgate.log)" >&2
		exit 1
	fi
	alive "$(cat "$PIDF")" || { echo "restart-vtgate: vtgate exited (log: $VTDATAROOT/logs/vtgate.log)" >&2; exit 1; }
	sleep 0.2
done
log "vtgate serving again (pid $(cat "$PIDF"))"
