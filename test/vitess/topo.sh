#!/usr/bin/env bash
#
# topo.sh -- topology changes on a running test cluster of cluster-up.sh:
# reparents, extra tablets, Reshard and MoveTables workflows.  Used by the
# topology tests (test/t/25x_*.pl) against a cluster started with
# VT_REPLICAS=1 (a REPLICA for each shard of customer, an RDONLY for 80- in
# cell zone2), normally in its own VTDATAROOT and ports, e.g.
#
#   VTDATAROOT=/tmp/vt-topo VT_BASE_PORT=25000 ETCD_PORT=32379 VT_REPLICAS=1 \
#       MARIADB_BUFFER_POOL=64M test/vitess/cluster-up.sh
#   VTDATAROOT=/tmp/vt-topo test/vitess/topo.sh prs customer/-80 201
#
# Commands (KS/SHARD e.g. customer/-80; UID a tablet uid):
#   tablets                          list the tablets (vtctldclient GetTablets)
#   primary KS/SHARD                 uid of the shard's primary
#   fix-replication KS/SHARD         point every live non-primary tablet's MariaDB
#                                    at the primary (see "MariaDB" below)
#   prs KS/SHARD UID                 PlannedReparentShard to tablet UID
#   ers KS/SHARD UID                 kill -9 the primary's mariadbd (and its
#                                    mysqld_safe), then EmergencyReparentShard to UID
#   start-mysql UID                  start a killed tablet's mariadbd again
#   add-tablet UID KS SHARD [TYPE] [CELL]
#                                    new MariaDB + vttablet (TYPE replica|rdonly,
#                                    default replica; CELL default zone1), for a
#                                    shard without primary yet (new shards of a
#                                    reshard); replicas of a shard that has a
#                                    primary exit at start-up on MariaDB: start
#                                    them with cluster-up.sh (VT_EXTRA_TABLETS)
#   reshard-tablets                  one tablet (made primary) for each of the
#                                    shards -40 40-80 80-c0 c0- (uids 410..440)
#   reshard ACTION [WORKFLOW]        Reshard customer -80,80- -> -40,40-80,80-c0,c0-
#                                    (ACTION create|wait|switch|reverse|complete|cancel|show;
#                                    WORKFLOW default cust2cust).  reverse after
#                                    switch swaps back; switch again after reverse.
#   movetables ACTION WORKFLOW TARGET_KS [SOURCE_KS TABLES]
#                                    MoveTables (create needs SOURCE_KS and TABLES,
#                                    comma separated; ACTION as for reshard)
#
# MariaDB: Vitess v0.24's SetReplicationSource compares GTID sets with the
# primary's server_uuid, which MariaDB does not have ("invalid MySQL 5.6 SID
# \"\""), so every PlannedReparentShard/EmergencyReparentShard with replicas
# reports "some replicas failed to reparent" after the promotion itself
# succeeded.  prs/ers accept exactly that error, check that the new primary
# is in place, and point the other tablets' MariaDB at it with
# CHANGE MASTER ... MASTER_USE_GTID=current_pos (fix-replication).
# PlannedReparentShard fails before the promotion (it first points the
# primary-elect at the current primary, same error): prs then does what an
# external failover tool does (old primary read-only, new one catches up,
# RESET SLAVE ALL, writable) and tells Vitess with TabletExternallyReparented.
# The demoted primary's vttablet cannot step down by itself ("Failed to end
# primary term: FUNCTION regexp_like does not exist": Vitess v24 runs a MySQL 8
# query) and stays listed as an old-term PRIMARY; VTGate routes to the newer
# term, the stream's tablet picker follows the shard record, so it does no
# harm, but a restarted replica vttablet exits at start-up (it calls
# SetReplicationSource), so tablets are not restarted here.
#
# Settings come from $VTDATAROOT/env.sh (default VTDATAROOT /tmp/vt-topo);
# cluster-up.sh calls fix-replication before env.sh exists and passes them in
# the environment instead.
#
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
export VTDATAROOT=${VTDATAROOT:-/tmp/vt-topo}
if [ -r "$VTDATAROOT/env.sh" ] && [ -z "${TOPO_NO_ENV:-}" ]; then
	# shellcheck disable=SC1091
	. "$VTDATAROOT/env.sh"
fi
: "${VTROOT:=/var/cache/vstream_fdw/vitess-v0.24.4}"
: "${VTCTLD_GRPC_ADDR:?VTCTLD_GRPC_ADDR not set (no $VTDATAROOT/env.sh?)}"
: "${VT_MYSQL_BASE:=17000}"
: "${VT_TABLET_HTTP_BASE:=15000}"
: "${VT_TABLET_GRPC_BASE:=16000}"
: "${VT_USER:=vstream}"
: "${ETCD_PORT:=${ETCD_ADDR##*:}}"
TIMEOUT=${VT_READY_TIMEOUT:-120}
export PATH=$VTROOT/bin:$PATH:/usr/sbin
export VT_MYSQL_ROOT=${VT_MYSQL_ROOT:-/usr}
T0=$EPOCHREALTIME

log() { printf '[topo %6.1fs] %s\n' "$(awk -v a="$EPOCHREALTIME" -v b="$T0" 'BEGIN{print a-b}')" "$*" >&2; }
die() { echo "topo.sh: ERROR: $*" >&2; exit 1; }
vtctl() { vtctldclient --server "$VTCTLD_GRPC_ADDR" "$@"; }

if [ "$(id -u)" = 0 ]; then
	as_vt() { runuser -u "$VT_USER" -- "$@"; }
else
	as_vt() { "$@"; }
fi

wait_for() {
	local desc=$1; shift
	local deadline=$(($(date +%s) + TIMEOUT))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || die "timeout waiting for $desc"
		sleep 0.5
	done
}

sock() { printf '%s/vt_%010d/mysql.sock' "$VTDATAROOT" "$1"; }
mysql_uid() { local uid=$1; shift; mysql -S "$(sock "$uid")" -u vt_dba --batch --skip-column-names "$@"; }

# uid of the primary of KS/SHARD from the shard record
primary_uid() {
	vtctl GetShard "$1" | jq -r '.shard.primary_alias.uid // empty'
}

# alias (cell-uid) of a tablet uid
alias_of() {
	vtctl GetTablets | awk -v u="$(printf %010d "$1")" '{ split($1, a, "-"); if (a[2] == u) print $1 }'
}

# uids of the tablets of KS/SHARD
shard_uids() {
	local ks=${1%%/*} shard=${1#*/}
	vtctl GetTablets --keyspace "$ks" --shard "$shard" | awk '{ split($1, a, "-"); print a[2] + 0 }'
}

mysqld_alive() {
	mysql_uid "$1" --connect-timeout=2 -e 'select 1' >/dev/null 2>&1
}

fix_replication() {
	local ksshard=$1 p uid
	p=$(primary_uid "$ksshard")
	[ -n "$p" ] || die "$ksshard has no primary"
	for uid in $(shard_uids "$ksshard"); do
		[ "$uid" = "$p" ] && continue
		mysqld_alive "$uid" || { log "tablet $uid: mariadbd not running, skipped"; continue; }
		log "tablet $uid: replicating from $p (127.0.0.1:$((VT_MYSQL_BASE + p)))"
		mysql_uid "$uid" -e "STOP SLAVE;
			CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=$((VT_MYSQL_BASE + p)),
			  MASTER_USER='vt_repl', MASTER_PASSWORD='', MASTER_USE_GTID=current_pos,
			  MASTER_CONNECT_RETRY=1;
			SET GLOBAL read_only = ON;
			START SLAVE;"
	done
	for uid in $(shard_uids "$ksshard"); do
		[ "$uid" = "$p" ] && continue
		mysqld_alive "$uid" || continue
		wait_for "replication on tablet $uid" \
			bash -c "mysql -S '$(sock "$uid")' -u vt_dba -e 'show slave status\G' | grep -q 'Slave_SQL_Running: Yes'"
	done
}

# reparent NAME KS/SHARD UID ARGS...: run a reparent command, accept the
# MariaDB "invalid MySQL 5.6 SID" partial failure when UID became primary.
reparent() {
	local what=$1 ksshard=$2 uid=$3 out rc
	shift 3
	set +e
	out=$(vtctl "$what" "$ksshard" --new-primary "$(alias_of "$uid")" "$@" 2>&1)
	rc=$?
	set -e
	if [ $rc != 0 ]; then
		if grep -q 'invalid MySQL 5.6 SID' <<<"$out" && [ "$(primary_uid "$ksshard")" = "$uid" ]; then
			log "$what $ksshard: promoted $uid; replicas need MariaDB replication set by hand (Vitess v24 + MariaDB)"
		elif [ "$what" = PlannedReparentShard ] && [ "$(primary_uid "$ksshard")" != "$uid" ]; then
			# on MariaDB: "invalid MySQL 5.6 SID" (always), or a tablet whose
			# mariadbd is down (an earlier ers) fails the pre-flight checks
			log "$what $ksshard: refused before the promotion: $(grep -o 'desc = .*' <<<"$out" | head -c 300)"
			log "$what $ksshard: external planned reparent instead"
			external_reparent "$ksshard" "$uid"
		elif [ "$what" = EmergencyReparentShard ] && [ "$(primary_uid "$ksshard")" != "$uid" ]; then
			# e.g. a demoted MariaDB primary in the shard: Vitess waits for a
			# file position with MASTER_GTID_WAIT ("Could not parse GTID list")
			log "$what $ksshard: failed before the promotion: $(grep -o 'desc = .*' <<<"$out" | head -c 300)"
			log "$what $ksshard: external emergency reparent instead"
			external_emergency "$ksshard" "$uid"
		else
			echo "$out" >&2
			die "$what $ksshard to $uid failed"
		fi
	fi
	fix_replication "$ksshard"
	log "$what $ksshard: primary is now $uid"
}

# What an external failover tool does for a planned switch, then
# TabletExternallyReparented: writes stop on the old primary (read_only; the
# tablet's app user has no SUPER), the new one catches up to its binlog
# position, stops replicating and becomes writable, Vitess is told.
external_reparent() {
	local ksshard=$1 uid=$2 old pos
	old=$(primary_uid "$ksshard")
	mysql_uid "$old" -e "SET GLOBAL read_only = ON"
	pos=$(mysql_uid "$old" -e "SELECT @@gtid_binlog_pos")
	[ "$(mysql_uid "$uid" -e "SELECT MASTER_GTID_WAIT('$pos', 30)")" = 0 ] \
		|| { mysql_uid "$old" -e "SET GLOBAL read_only = OFF"; die "tablet $uid did not reach $pos"; }
	mysql_uid "$uid" -e "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF"
	vtctl TabletExternallyReparented "$(alias_of "$uid")" >&2
	wait_for "$ksshard primary $uid" test "$(primary_uid "$ksshard")" = "$uid"
	log "$ksshard: $uid promoted at $pos (TabletExternallyReparented), $old read-only"
}

# The emergency variant: the primary is gone; the replica applies what it
# received (relay log), stops replicating, becomes writable; Vitess is told.
external_emergency() {
	local ksshard=$1 uid=$2 io
	io=$(mysql_uid "$uid" -e "SHOW SLAVE STATUS\G" | awk '$1 == "Gtid_IO_Pos:" {print $2}')
	[ "$(mysql_uid "$uid" -e "SELECT MASTER_GTID_WAIT('$io', 30)")" = 0 ] \
		|| die "tablet $uid did not apply its relay log up to $io"
	mysql_uid "$uid" -e "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = OFF"
	vtctl TabletExternallyReparented "$(alias_of "$uid")" >&2
	wait_for "$ksshard primary $uid" test "$(primary_uid "$ksshard")" = "$uid"
	log "$ksshard: $uid promoted at $io (TabletExternallyReparented)"
}

kill_mysqld() {
	local uid=$1 dir pid ppid
	dir=$(dirname "$(sock "$uid")")
	pid=$(cat "$dir/mysql.pid")
	ppid=$(awk '{print $4}' "/proc/$pid/stat")
	# mysqld_safe restarts a crashed mariadbd: kill it first
	if tr '\0' ' ' <"/proc/$ppid/cmdline" | grep -q mysqld_safe; then
		kill -KILL "$ppid"
	fi
	kill -KILL "$pid"
	wait_for "mariadbd $uid to die" bash -c "! [ -d /proc/$pid ] || [ \"\$(awk '{print \$3}' /proc/$pid/stat)\" = Z ]"
	log "tablet $uid: mariadbd (pid $pid) killed"
}

start_mysqld() {
	local uid=$1
	as_vt setsid env VTDATAROOT="$VTDATAROOT" VT_MYSQL_ROOT="$VT_MYSQL_ROOT" \
		EXTRA_MY_CNF="${MARIADB_EXTRA_CNF:-$VTDATAROOT/mariadb-extra.cnf}" TMPDIR="$VTDATAROOT/tmp" \
		mysqlctl --tablet-uid "$uid" --mysql-port $((VT_MYSQL_BASE + uid)) --log-format text \
		start >>"$VTDATAROOT/logs/mysqlctl-$uid.log" 2>&1
	log "tablet $uid: mariadbd started"
}

add_tablet() {
	local uid=$1 ks=$2 shard=$3 type=${4:-replica} cell=${5:-zone1}
	[ -e "$(dirname "$(sock "$uid")")" ] && die "tablet $uid exists already"
	as_vt setsid -w env VTDATAROOT="$VTDATAROOT" VT_MYSQL_ROOT="$VT_MYSQL_ROOT" \
		EXTRA_MY_CNF="${MARIADB_EXTRA_CNF:-$VTDATAROOT/mariadb-extra.cnf}" TMPDIR="$VTDATAROOT/tmp" \
		mysqlctl --tablet-uid "$uid" --mysql-port $((VT_MYSQL_BASE + uid)) --log-format text \
		init --init-db-sql-file "$VTROOT/config/init_db_mariadb.sql" >"$VTDATAROOT/logs/mysqlctl-$uid.log" 2>&1 \
		|| { tail -20 "$VTDATAROOT/logs/mysqlctl-$uid.log" >&2; die "mysqlctl init $uid failed"; }
	as_vt env VTROOT="$VTROOT" VTDATAROOT="$VTDATAROOT" VT_MYSQL_ROOT="$VT_MYSQL_ROOT" PATH="$PATH" \
		TMPDIR="$VTDATAROOT/tmp" \
		sh -c 'name=$1; shift; setsid "$@" >"$VTDATAROOT/logs/$name.log" 2>&1 </dev/null & echo $! >"$VTDATAROOT/pids/$name.pid"' \
		sh "vttablet-$uid" vttablet --topo-implementation etcd2 \
		--topo-global-server-address "127.0.0.1:$ETCD_PORT" --topo-global-root /vitess/global \
		--tablet-path "$cell-$(printf %010d "$uid")" \
		--init-keyspace "$ks" --init-shard "$shard" --init-tablet-type "$type" \
		--port $((VT_TABLET_HTTP_BASE + uid)) --grpc-port $((VT_TABLET_GRPC_BASE + uid)) \
		--bind-address 127.0.0.1 --grpc-bind-address 127.0.0.1 --tablet-hostname 127.0.0.1 \
		--service-map grpc-queryservice,grpc-tabletmanager,grpc-updatestream \
		--db-charset utf8mb4 --health-check-interval 2s --log-format text \
		--queryserver-config-schema-reload-time 5s
	wait_for "vttablet $uid" curl -fsS "http://127.0.0.1:$((VT_TABLET_HTTP_BASE + uid))/debug/status"
	wait_for "vttablet $uid in topo" vtctl GetTablet "$cell-$(printf %010d "$uid")"
	echo "$uid:$ks:$shard:$type:$cell" >>"$VTDATAROOT/tablets"
	log "tablet $uid ($ks/$shard $type, $cell) is up"
}

NEW_SHARDS="-40 40-80 80-c0 c0-"
new_shard_uid() {
	case $1 in -40) echo 410 ;; 40-80) echo 420 ;; 80-c0) echo 430 ;; c0-) echo 440 ;; esac
}

# wait until every stream of a workflow runs and has finished its copy
workflow_wait() {
	local ks=$1 wf=$2
	wait_for "workflow $ks.$wf copied and running" bash -c "
		out=\$(vtctldclient --server '$VTCTLD_GRPC_ADDR' Workflow --keyspace '$ks' show --workflow '$wf' --include-logs=false 2>/dev/null) || exit 1
		n=\$(jq '[.workflows[].shard_streams[].streams[]] | length' <<<\"\$out\")
		ok=\$(jq '[.workflows[].shard_streams[].streams[] | select(.state == \"Running\" and ((.copy_states // []) | length) == 0)] | length' <<<\"\$out\")
		[ \"\$n\" -gt 0 ] && [ \"\$n\" = \"\$ok\" ]"
	log "workflow $ks.$wf: copy done, running"
}

workflow_action() {
	local cmd=$1 ks=$2 wf=$3 action=$4
	case $action in
	wait) workflow_wait "$ks" "$wf" ;;
	switch) vtctl "$cmd" --target-keyspace "$ks" --workflow "$wf" switchtraffic >&2 ;;
	reverse) vtctl "$cmd" --target-keyspace "$ks" --workflow "$wf" reversetraffic >&2 ;;
	complete) vtctl "$cmd" --target-keyspace "$ks" --workflow "$wf" complete >&2 ;;
	cancel) vtctl "$cmd" --target-keyspace "$ks" --workflow "$wf" cancel >&2 ;;
	show) vtctl "$cmd" --target-keyspace "$ks" --workflow "$wf" show ;;
	status) vtctl "$cmd" --target-keyspace "$ks" --workflow "$wf" status ;;
	*) die "unknown action $action" ;;
	esac
	log "$cmd $ks.$wf $action: done"
}

cmd=${1:-}
shift || true
case $cmd in
tablets) vtctl GetTablets ;;
primary) primary_uid "$1" ;;
fix-replication) fix_replication "$1" ;;
prs) reparent PlannedReparentShard "$1" "$2" --wait-replicas-timeout 30s ;;
ers)
	old=$(primary_uid "$1")
	[ -n "$old" ] && [ "$old" != "$2" ] || die "ers: $1 has primary '$old', new primary must differ"
	kill_mysqld "$old"
	reparent EmergencyReparentShard "$1" "$2" --wait-replicas-timeout 10s
	;;
start-mysql) start_mysqld "$1" ;;
add-tablet) add_tablet "$@" ;;
reshard-tablets)
	pids=
	for s in $NEW_SHARDS; do
		add_tablet "$(new_shard_uid "$s")" customer "$s" replica zone1 &
		pids="$pids $!"
	done
	for p in $pids; do wait "$p" || die "adding a tablet failed"; done
	for s in $NEW_SHARDS; do
		vtctl PlannedReparentShard "customer/$s" --new-primary "zone1-$(printf %010d "$(new_shard_uid "$s")")" \
			--wait-replicas-timeout 10s >&2
	done
	wait_for "vtgate: the new shards' primaries serving" bash -c "
		[ \$(mysql -h 127.0.0.1 -P '$VTGATE_MYSQL_PORT' -u root --batch --skip-column-names -e 'show vitess_tablets' |
		      awk '\$2==\"customer\" && \$4==\"PRIMARY\" && \$5==\"SERVING\" && \$3 ~ /^(-40|40-80|80-c0|c0-)\$/' | wc -l) = 4 ]"
	log "new shards have primaries"
	;;
reshard)
	action=$1 wf=${2:-cust2cust}
	if [ "$action" = create ]; then
		vtctl Reshard --target-keyspace customer --workflow "$wf" create \
			--source-shards '-80,80-' --target-shards '-40,40-80,80-c0,c0-' \
			--tablet-types primary >&2
		log "Reshard customer.$wf created"
	else
		workflow_action Reshard customer "$wf" "$action"
	fi
	;;
movetables)
	action=$1 wf=$2 target=$3
	if [ "$action" = create ]; then
		vtctl MoveTables --target-keyspace "$target" --workflow "$wf" create \
			--source-keyspace "$4" --tables "$5" --tablet-types primary >&2
		log "MoveTables $target.$wf created"
	else
		workflow_action MoveTables "$target" "$wf" "$action"
	fi
	;;
*)
	sed -n '2,/^set -euo/p' "$0" | sed 's/^# \{0,1\}//; /^set -euo/d' >&2
	exit 2
	;;
esac
