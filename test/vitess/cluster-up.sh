#!/usr/bin/env bash
#
# cluster-up.sh -- start a real, local Vitess cluster on 127.0.0.1 for the
# vstream_fdw tests and benchmarks.
#
# PLAN B of shared/reference/real-vitess-testbed.md is what runs here:
#   etcd (topology) + vtctld + one mysqlctl-managed MariaDB 10.11 + one vttablet
#   per shard + vtgate (gRPC VStream + MySQL protocol).  Every shard has exactly
#   one tablet, made PRIMARY with PlannedReparentShard (durability policy
#   "none", no vtorc, no semi-sync).  Plan B was chosen for realism (separate
#   mariadbd per shard => independent per-shard GTID streams, real
#   tablet picking, real topo) and it worked on the first try, so Plans A
#   (vttestserver/vtcombo) and C (unmanaged tablets) were not needed.
#
# Keyspaces:
#   commerce  unsharded, shard 0     table product(sku, description, price)
#   customer  shards -80 and 80-     tables customer(customer_id, email),
#                                    corder(order_id, customer_id, sku, price)
#             vschema: hash vindex on customer_id for both tables.
#
# MariaDB gotchas handled (see the reference doc, section 3):
#   * upstream init_db.sql uses super_read_only (not in MariaDB) -> we pass
#     $VTROOT/config/init_db_mariadb.sql (Vitess's own MariaDB test variant).
#   * root@localhost is unix-socket only after mysql_install_db -> mysqlctl
#     v24 itself passes --auth-root-authentication-method=normal; and we run
#     everything as an unprivileged OS user anyway ($VT_USER, default
#     "vstream", created if missing when we are root).
#   * mariadb10.cnf plugin-loads semisync_*.so, which MariaDB 10.11 has built
#     in -> "plugin-load =" in our extra cnf.
#   * Vitess's test-suite.cnf sets super-read-only, which makes mariadbd abort
#     -> we do not use it; our extra cnf carries the speed settings instead.
#
# Usage:  test/vitess/cluster-up.sh            (as root or as $VT_USER)
#         . "$VTDATAROOT/env.sh"               (ports/paths for tests)
#         test/vitess/cluster-down.sh [--clean]
# A previous cluster in the same VTDATAROOT is stopped and wiped first.
#
# Environment (all optional):
#   VTROOT            Vitess binaries+config (default /var/cache/vstream_fdw/vitess-v0.24.4)
#   VTDATAROOT        data/logs/pids (default /tmp/vt-vstream; keep it short: socket paths)
#   VT_USER           OS user for MariaDB/Vitess (default vstream)
#   VT_BASE_PORT      base for every port below (default 15000)
#   VTGATE_GRPC_PORT  (default 15991)   VTGATE_MYSQL_PORT (default 15306)
#   VTGATE_HTTP_PORT  (default 15001)   VTCTLD_HTTP_PORT  (default 15000)
#   VTCTLD_GRPC_PORT  (default 15999)   ETCD_PORT (default 22379, peer ETCD_PORT+1)
#   tablet uid U (100 commerce/0, 200 customer/-80, 300 customer/80-):
#                     vttablet HTTP VT_TABLET_HTTP_BASE+U (default VT_BASE_PORT+U),
#                     gRPC VT_TABLET_GRPC_BASE+U (default VT_BASE_PORT+1000+U),
#                     mariadbd VT_MYSQL_BASE+U (default VT_BASE_PORT+2000+U)
#   VT_REPLICAS=1     topology-test cluster: also a REPLICA tablet for each shard
#                     of customer (uids 201, 301, each with its own MariaDB
#                     replicating from the primary) and an RDONLY tablet for
#                     80- (uid 302) in a second cell, zone2 (see topo.sh)
#   VT_EXTRA_TABLETS  with VT_REPLICAS=1: more tablets, uid:customer:shard:type[:cell] ...
#   MARIADB_BUFFER_POOL  innodb_buffer_pool_size per mariadbd (default 256M)
#   VT_READY_TIMEOUT  seconds to wait for each step (default 120)
#
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
VTVER=${VTVER:-v0.24.4}
export VTROOT=${VTROOT:-/var/cache/vstream_fdw/vitess-$VTVER}
export VTDATAROOT=${VTDATAROOT:-/tmp/vt-vstream}
VT_USER=${VT_USER:-vstream}
VT_BASE_PORT=${VT_BASE_PORT:-15000}
VTCTLD_HTTP_PORT=${VTCTLD_HTTP_PORT:-$VT_BASE_PORT}
VTCTLD_GRPC_PORT=${VTCTLD_GRPC_PORT:-$((VT_BASE_PORT + 999))}
VTGATE_HTTP_PORT=${VTGATE_HTTP_PORT:-$((VT_BASE_PORT + 1))}
VTGATE_GRPC_PORT=${VTGATE_GRPC_PORT:-$((VT_BASE_PORT + 991))}
VTGATE_MYSQL_PORT=${VTGATE_MYSQL_PORT:-$((VT_BASE_PORT + 306))}
ETCD_PORT=${ETCD_PORT:-22379}
VT_TABLET_HTTP_BASE=${VT_TABLET_HTTP_BASE:-$VT_BASE_PORT}
VT_TABLET_GRPC_BASE=${VT_TABLET_GRPC_BASE:-$((VT_BASE_PORT + 1000))}
VT_MYSQL_BASE=${VT_MYSQL_BASE:-$((VT_BASE_PORT + 2000))}
MARIADB_BUFFER_POOL=${MARIADB_BUFFER_POOL:-256M}
VT_READY_TIMEOUT=${VT_READY_TIMEOUT:-120}
CELL=zone1
CELLS=$CELL
# uid:keyspace:shard[:type[:cell]] (type primary: made PRIMARY by PRS; default cell zone1)
TABLETS="100:commerce:0 200:customer:-80 300:customer:80-"
VTGATE_EXTRA=()
if [ "${VT_REPLICAS:-}" = 1 ]; then
	TABLETS="$TABLETS 201:customer:-80:replica 301:customer:80-:replica 302:customer:80-:rdonly:zone2"
	# more, e.g. "202:customer:-80:replica": a tablet added to a shard that has
	# a primary cannot start on MariaDB (see topo.sh), so they start here
	TABLETS="$TABLETS ${VT_EXTRA_TABLETS:-}"
	CELLS="$CELL,zone2"
	# tablets added later (new shards of a Reshard) are seen within seconds
	VTGATE_EXTRA=(--tablet-refresh-interval 2s)
fi
NTABLETS=$(wc -w <<<"$TABLETS")

BIN=$VTROOT/bin
export PATH=$BIN:$PATH:/usr/sbin
export VT_MYSQL_ROOT=${VT_MYSQL_ROOT:-$(dirname "$(dirname "$(command -v mysqld)")")}
INIT_SQL=$VTROOT/config/init_db_mariadb.sql
T0=$EPOCHREALTIME

log() { printf '[cluster-up %6.1fs] %s\n' "$(awk -v a="$EPOCHREALTIME" -v b="$T0" 'BEGIN{print a-b}')" "$*"; }
die() { echo "cluster-up: ERROR: $*" >&2; exit 1; }

# Build (or find, cached) the Vitess binaries; a no-op when already built.
if [ ! -f "$VTROOT/.complete" ] && [ -z "${VT_NO_BUILD:-}" ]; then
	VTROOT=$VTROOT VTVER=$VTVER "$HERE/build-vitess.sh"
fi
for b in etcd vtctld vtctldclient vtgate vttablet mysqlctl; do
	command -v $b >/dev/null || die "$b not found (run test/vitess/build-vitess.sh; etcd: apt-get install etcd-server)"
done
[ -f "$INIT_SQL" ] || die "$INIT_SQL missing (rerun test/vitess/build-vitess.sh)"
command -v mysql >/dev/null || die "mysql client missing (apt-get install mariadb-client)"

# ---- OS user -------------------------------------------------------------
if [ "$(id -u)" = 0 ]; then
	if ! id "$VT_USER" >/dev/null 2>&1; then
		useradd --system --create-home --shell /bin/bash "$VT_USER"
	fi
	as_vt() { runuser -u "$VT_USER" -- "$@"; }
else
	VT_USER=$(id -un)
	as_vt() { "$@"; }
fi

# ---- previous run --------------------------------------------------------
if [ -e "$VTDATAROOT" ]; then
	log "previous VTDATAROOT $VTDATAROOT found: stopping and wiping it"
	VTDATAROOT=$VTDATAROOT "$HERE/cluster-down.sh" --clean || true
	rm -rf "$VTDATAROOT"
fi
for p in $ETCD_PORT $VTCTLD_HTTP_PORT $VTCTLD_GRPC_PORT $VTGATE_HTTP_PORT $VTGATE_GRPC_PORT $VTGATE_MYSQL_PORT; do
	if ss -Hltn "sport = :$p" | grep -q .; then die "port $p already in use"; fi
done
mkdir -p "$VTDATAROOT"/{logs,pids,tmp}
chown -R "$VT_USER" "$VTDATAROOT"
chmod 755 "$VTDATAROOT"

# start_bg NAME CMD... : start a daemon as $VT_USER, in its own session,
# stdout+stderr to logs/NAME.log, pid to pids/NAME.pid.
start_bg() {
	local name=$1; shift
	as_vt env VTROOT="$VTROOT" VTDATAROOT="$VTDATAROOT" VT_MYSQL_ROOT="$VT_MYSQL_ROOT" PATH="$PATH" \
		TMPDIR="$VTDATAROOT/tmp" \
		sh -c 'name=$1; shift; setsid "$@" >"$VTDATAROOT/logs/$name.log" 2>&1 </dev/null & echo $! >"$VTDATAROOT/pids/$name.pid"' \
		sh "$name" "$@"
}

# wait_for DESC CMD... : retry CMD (quietly) until it succeeds or timeout.
wait_for() {
	local desc=$1; shift
	local deadline=$(($(date +%s) + VT_READY_TIMEOUT))
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s)" -lt "$deadline" ] || die "timeout waiting for $desc (logs: $VTDATAROOT/logs)"
		sleep 0.3
	done
}

# wait_job PID LOG WHAT : wait for a background job; on failure show the
# end of its log and die.
wait_job() {
	wait "$1" || { tail -30 "$2" >&2; die "$3 failed"; }
}

TOPO=(--topo-implementation etcd2 --topo-global-server-address "127.0.0.1:$ETCD_PORT" --topo-global-root /vitess/global)
VTCTLD=127.0.0.1:$VTCTLD_GRPC_PORT
vtctl() { vtctldclient --server "$VTCTLD" "$@"; }

# ---- etcd ----------------------------------------------------------------
log "starting etcd on 127.0.0.1:$ETCD_PORT"
start_bg etcd etcd --name vt --data-dir "$VTDATAROOT/etcd" \
	--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
	--listen-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
	--initial-advertise-peer-urls "http://127.0.0.1:$((ETCD_PORT + 1))" \
	--initial-cluster "vt=http://127.0.0.1:$((ETCD_PORT + 1))"
wait_for etcd curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

for c in ${CELLS//,/ }; do
	vtctldclient --server internal "${TOPO[@]}" AddCellInfo \
		--root "/vitess/$c" --server-address "127.0.0.1:$ETCD_PORT" "$c" >/dev/null
done

# ---- MariaDB per tablet (in parallel with vtctld start-up) ---------------
cat >"$VTDATAROOT/mariadb-extra.cnf" <<EOF
# Appended to the mysqlctl-generated my.cnf (EXTRA_MY_CNF) -- vstream_fdw test cluster.
bind-address = 127.0.0.1
# mariadb10.cnf plugin-loads semisync_*.so; MariaDB >= 10.3 has semisync built in.
plugin-load =
character_set_server = utf8mb4
collation_server = utf8mb4_general_ci
innodb_buffer_pool_size = $MARIADB_BUFFER_POOL
innodb_log_file_size = 128M
innodb_flush_log_at_trx_commit = 2
sync_binlog = 0
innodb_doublewrite = 0
innodb_use_native_aio = 0
max_allowed_packet = 64M
EOF
chown "$VT_USER" "$VTDATAROOT/mariadb-extra.cnf"

log "initialising $NTABLETS MariaDB instances (mysqlctl init)"
declare -A INITPID
for t in $TABLETS; do
	uid=${t%%:*}
	# setsid -w: mariadbd must not stay in the caller's process group, or
	# killing that group (a test harness, a terminal) kills the databases
	as_vt setsid -w env VTDATAROOT="$VTDATAROOT" VT_MYSQL_ROOT="$VT_MYSQL_ROOT" EXTRA_MY_CNF="$VTDATAROOT/mariadb-extra.cnf" \
		TMPDIR="$VTDATAROOT/tmp" \
		mysqlctl --tablet-uid "$uid" --mysql-port $((VT_MYSQL_BASE + uid)) --log-format text \
		init --init-db-sql-file "$INIT_SQL" >"$VTDATAROOT/logs/mysqlctl-$uid.log" 2>&1 &
	INITPID[$uid]=$!
done

log "starting vtctld (HTTP $VTCTLD_HTTP_PORT, gRPC $VTCTLD_GRPC_PORT)"
start_bg vtctld vtctld "${TOPO[@]}" --cell "$CELL" --service-map grpc-vtctl,grpc-vtctld \
	--port "$VTCTLD_HTTP_PORT" --grpc-port "$VTCTLD_GRPC_PORT" \
	--bind-address 127.0.0.1 --grpc-bind-address 127.0.0.1 --log-format text
wait_for vtctld vtctl GetCellInfoNames

for ks in commerce customer; do
	vtctl CreateKeyspace --durability-policy=none "$ks" >/dev/null
done

for t in $TABLETS; do
	uid=${t%%:*}
	wait_job "${INITPID[$uid]}" "$VTDATAROOT/logs/mysqlctl-$uid.log" "mysqlctl init $uid"
done
log "MariaDB instances up"

# ---- vttablets -----------------------------------------------------------
for t in $TABLETS; do
	IFS=: read -r uid ks shard ttype tcell <<<"$t"
	[ "${ttype:-primary}" = primary ] && ttype=replica
	start_bg "vttablet-$uid" vttablet "${TOPO[@]}" --tablet-path "${tcell:-$CELL}-$(printf %010d "$uid")" \
		--init-keyspace "$ks" --init-shard "$shard" --init-tablet-type "$ttype" \
		--port $((VT_TABLET_HTTP_BASE + uid)) --grpc-port $((VT_TABLET_GRPC_BASE + uid)) \
		--bind-address 127.0.0.1 --grpc-bind-address 127.0.0.1 --tablet-hostname 127.0.0.1 \
		--service-map grpc-queryservice,grpc-tabletmanager,grpc-updatestream \
		--db-charset utf8mb4 --health-check-interval 2s --log-format text \
		--queryserver-config-schema-reload-time 5s
done
log "vttablets started, waiting until registered"
for t in $TABLETS; do
	IFS=: read -r uid ks shard ttype tcell <<<"$t"
	# /debug/health is 500 until the tablet serves; /debug/status answers as soon as it listens.
	wait_for "vttablet $uid" curl -fsS "http://127.0.0.1:$((VT_TABLET_HTTP_BASE + uid))/debug/status"
	wait_for "vttablet $uid in topo" vtctl GetTablet "${tcell:-$CELL}-$(printf %010d "$uid")"
done

# ---- primaries -----------------------------------------------------------
log "PlannedReparentShard for every shard"
declare -A PRSPID
PRIMARIES=
for t in $TABLETS; do
	IFS=: read -r uid ks shard ttype tcell <<<"$t"
	[ "${ttype:-primary}" = primary ] || continue
	PRIMARIES="$PRIMARIES $uid"
	(
		for i in 1 2 3 4 5; do
			if vtctl PlannedReparentShard "$ks/$shard" --new-primary "$CELL-$(printf %010d "$uid")" \
				--wait-replicas-timeout 10s >>"$VTDATAROOT/logs/prs-$uid.log" 2>&1; then exit 0; fi
			# Vitess v24 cannot point MariaDB replicas at the new primary
			# (no server_uuid): the promotion worked, topo.sh fixes replication
			if [ "${VT_REPLICAS:-}" = 1 ] && grep -q 'invalid MySQL 5.6 SID' "$VTDATAROOT/logs/prs-$uid.log"; then exit 0; fi
			sleep 2
		done
		exit 1
	) &
	PRSPID[$uid]=$!
done
for uid in $PRIMARIES; do
	wait_job "${PRSPID[$uid]}" "$VTDATAROOT/logs/prs-$uid.log" "PlannedReparentShard for tablet $uid"
done

if [ "${VT_REPLICAS:-}" = 1 ]; then
	log "replicas: MariaDB replication from the primaries"
	for ksshard in customer/-80 customer/80-; do
		as_vt env TOPO_NO_ENV=1 VTROOT="$VTROOT" VTDATAROOT="$VTDATAROOT" VTCTLD_GRPC_ADDR="$VTCTLD" \
			VT_MYSQL_BASE="$VT_MYSQL_BASE" ETCD_PORT="$ETCD_PORT" bash "$HERE/topo.sh" fix-replication "$ksshard"
	done
fi

# ---- schema + vschema ----------------------------------------------------
log "applying schema and vschema"
vtctl ApplySchema --sql "
create table product(
  sku varchar(128) not null,
  description varchar(128),
  price bigint,
  primary key(sku)
) engine=InnoDB" commerce >/dev/null
vtctl ApplyVSchema --vschema '{"sharded": false, "tables": {"product": {}}}' commerce >/dev/null

vtctl ApplySchema --sql "
create table customer(
  customer_id bigint not null,
  email varchar(128),
  primary key(customer_id)
) engine=InnoDB;
create table corder(
  order_id bigint not null,
  customer_id bigint,
  sku varchar(128),
  price bigint,
  primary key(order_id)
) engine=InnoDB" customer >/dev/null
vtctl ApplyVSchema --vschema '{
  "sharded": true,
  "vindexes": {"hash": {"type": "hash"}},
  "tables": {
    "customer": {"column_vindexes": [{"column": "customer_id", "name": "hash"}]},
    "corder":   {"column_vindexes": [{"column": "customer_id", "name": "hash"}]}
  }
}' customer >/dev/null

# ---- vtgate --------------------------------------------------------------
log "starting vtgate (gRPC $VTGATE_GRPC_PORT, MySQL $VTGATE_MYSQL_PORT, HTTP $VTGATE_HTTP_PORT)"
start_bg vtgate vtgate "${TOPO[@]}" --cell "$CELL" --cells-to-watch "$CELLS" \
	--tablet-types-to-wait PRIMARY \
	--port "$VTGATE_HTTP_PORT" --grpc-port "$VTGATE_GRPC_PORT" --service-map grpc-vtgateservice \
	--mysql-server-port "$VTGATE_MYSQL_PORT" --mysql-server-bind-address 127.0.0.1 \
	--mysql-auth-server-impl none --vschema-ddl-authorized-users % \
	--bind-address 127.0.0.1 --grpc-bind-address 127.0.0.1 --log-format text "${VTGATE_EXTRA[@]}"

MYSQL=(mysql -h 127.0.0.1 -P "$VTGATE_MYSQL_PORT" -u root --batch --skip-column-names)
all_serving() {
	local n
	n=$("${MYSQL[@]}" -e 'show vitess_tablets' 2>/dev/null | awk '$4=="PRIMARY" && $5=="SERVING"' | wc -l)
	[ "$n" -eq 3 ] || return 1
	# every tablet (replicas and rdonly too, when there are some) serves
	n=$("${MYSQL[@]}" -e 'show vitess_tablets' 2>/dev/null | awk '$5=="SERVING"' | wc -l)
	[ "$n" -eq "$NTABLETS" ]
}
wait_for "vtgate: 3 PRIMARY SERVING tablets" all_serving
# The vschema must be loaded too: a routed query on each keyspace works.
wait_for "vtgate routing" "${MYSQL[@]}" -e 'select count(*) from customer.customer; select count(*) from commerce.product'

# ---- sample rows ---------------------------------------------------------
log "loading sample rows"
"${MYSQL[@]}" <<'EOF'
use commerce;
insert into product(sku, description, price) values
  ('SKU-1001', 'apple', 100), ('SKU-1002', 'banana', 30), ('SKU-1003', 'cherry', 250);
use customer;
insert into customer(customer_id, email) values
  (1, 'alice@domain.com'), (2, 'bob@domain.com'), (3, 'charlie@domain.com'),
  (4, 'dan@domain.com'), (5, 'eve@domain.com');
insert into corder(order_id, customer_id, sku, price) values
  (1, 1, 'SKU-1001', 100), (2, 2, 'SKU-1002', 30), (3, 3, 'SKU-1002', 30),
  (4, 4, 'SKU-1002', 30), (5, 5, 'SKU-1003', 250);
EOF

# ---- env file --------------------------------------------------------------
cat >"$VTDATAROOT/env.sh" <<EOF
# Generated by test/vitess/cluster-up.sh at $(date -u +%FT%TZ). Source it: . $VTDATAROOT/env.sh
export VTROOT='$VTROOT'
export VTDATAROOT='$VTDATAROOT'
export VT_USER='$VT_USER'
export VT_MYSQL_ROOT='$VT_MYSQL_ROOT'
export VTGATE_HOST=127.0.0.1
export VTGATE_GRPC_PORT=$VTGATE_GRPC_PORT
export VTGATE_GRPC_ADDR=127.0.0.1:$VTGATE_GRPC_PORT
export VTGATE_MYSQL_PORT=$VTGATE_MYSQL_PORT
export VTGATE_HTTP_PORT=$VTGATE_HTTP_PORT
export VTCTLD_GRPC_ADDR=127.0.0.1:$VTCTLD_GRPC_PORT
export VTCTLD_HTTP_PORT=$VTCTLD_HTTP_PORT
export ETCD_ADDR=127.0.0.1:$ETCD_PORT
export ETCD_PORT=$ETCD_PORT
export VT_BASE_PORT=$VT_BASE_PORT
# tablet uid U: vttablet HTTP VT_TABLET_HTTP_BASE+U, gRPC VT_TABLET_GRPC_BASE+U, mariadbd VT_MYSQL_BASE+U
export VT_TABLET_HTTP_BASE=$VT_TABLET_HTTP_BASE
export VT_TABLET_GRPC_BASE=$VT_TABLET_GRPC_BASE
export VT_MYSQL_BASE=$VT_MYSQL_BASE
export VT_CELLS='$CELLS'
export MARIADB_EXTRA_CNF='$VTDATAROOT/mariadb-extra.cnf'
# keyspace:shard[,shard] ...
export VT_KEYSPACES='commerce:0 customer:-80,80-'
# tablet uid:keyspace:shard[:type[:cell]] at start-up (topo.sh keeps \$VTDATAROOT/tablets
# up to date); the tablet's mariadbd listens on 127.0.0.1:(VT_MYSQL_BASE+uid)
# and on the socket \$VTDATAROOT/vt_<uid as %010d>/mysql.sock (user vt_dba, no password)
export VT_TABLETS='$TABLETS'
# mysql client against VTGate:  \$VTGATE_MYSQL  customer -e 'select ...'
export VTGATE_MYSQL='mysql -h 127.0.0.1 -P $VTGATE_MYSQL_PORT -u root'
EOF
chmod 644 "$VTDATAROOT/env.sh"
printf "%s\n" $TABLETS >"$VTDATAROOT/tablets"
chmod 644 "$VTDATAROOT/tablets"
log "cluster is up; env file: $VTDATAROOT/env.sh"
"${MYSQL[@]}" -e 'show vitess_tablets'
