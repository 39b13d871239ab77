#!/usr/bin/env bash
#
# demo.sh -- vstream_fdw in one command ("make demo").
#
#   tools/demo.sh [start]       install, build, start a local Vitess and a
#                               PostgreSQL 15, stream both keyspaces, run a
#                               write load and show the mirror following it
#   tools/demo.sh stop          stop the demo PostgreSQL and the Vitess cluster
#   tools/demo.sh stop --clean  ... and delete their data directories
#   tools/demo.sh status        stream status and row counts
#
# On a fresh Debian 12 machine run it as root: it installs the packages
# (test/install-deps.sh), builds and installs the extension, builds Vitess
# (cached in /var/cache/vstream_fdw) and starts the cluster of
# test/vitess/cluster-up.sh.  PostgreSQL, MariaDB and Vitess then run as the
# unprivileged user "vstream".  Running it again starts everything afresh.
#
# Environment (all optional):
#   VSTREAM_DEMO_DIR      PostgreSQL data, socket and logs (default /tmp/vstream-demo)
#   VSTREAM_DEMO_PGPORT   PostgreSQL port (default 5439)
#   VSTREAM_DEMO_SECONDS  length of the write load (default 30)
#   VSTREAM_DEMO_USER     OS user for PostgreSQL when run as root (default vstream)
#   VSTREAM_DEMO_SKIP_DEPS=1   do not run test/install-deps.sh
#   VTDATAROOT            the Vitess cluster's directory (default /tmp/vt-vstream)
#
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEMO_DIR=${VSTREAM_DEMO_DIR:-/tmp/vstream-demo}
PGPORT=${VSTREAM_DEMO_PGPORT:-5439}
SECONDS_LOAD=${VSTREAM_DEMO_SECONDS:-30}
export VTDATAROOT=${VTDATAROOT:-/tmp/vt-vstream}
export PATH=/usr/local/go/bin:$PATH
PGDATA=$DEMO_DIR/pg
LOGS=$DEMO_DIR/logs
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/pg_ctl" ] || PGBIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)

if [ "$(id -u)" = 0 ]; then
	PG_USER=${VSTREAM_DEMO_USER:-vstream}
else
	PG_USER=$(id -un)
fi

# ---- output helpers --------------------------------------------------------
if [ -t 1 ]; then B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' Y=$'\e[33m' N=$'\e[0m'; else B='' G='' R='' Y='' N=''; fi
T0=$(date +%s)
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
info() { printf '    %s\n' "$*"; }
die() { printf '%sdemo: ERROR: %s%s\n' "$R" "$*" "$N" >&2; exit 1; }
# run_logged NAME CMD...: run CMD with its output in $LOGS/NAME.log; on failure show the tail
run_logged() {
	local name=$1; shift
	if ! "$@" >"$LOGS/$name.log" 2>&1; then
		tail -25 "$LOGS/$name.log" | sed 's/^/    | /' >&2
		die "$name failed (full log: $LOGS/$name.log)"
	fi
}

as_pg() {
	if [ "$(id -u)" = 0 ] && [ "$PG_USER" != root ]; then runuser -u "$PG_USER" -- "$@"; else "$@"; fi
}
psql_demo() { as_pg "$PGBIN/psql" -X -q -h "$DEMO_DIR" -p "$PGPORT" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"; }
pg_running() { [ -f "$PGDATA/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; }

vt_env() {
	[ -r "$VTDATAROOT/env.sh" ] || die "$VTDATAROOT/env.sh missing: is the Vitess cluster up? (tools/demo.sh)"
	# shellcheck disable=SC1091
	. "$VTDATAROOT/env.sh"
	MYSQL=(mysql -h 127.0.0.1 -P "$VTGATE_MYSQL_PORT" -u root --batch --skip-column-names --default-character-set=utf8mb4)
}

# ---- stop / status -----------------------------------------------------------
do_stop() {
	local clean=${1:-}
	if pg_running; then
		as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null && echo "demo: PostgreSQL stopped"
	else
		echo "demo: PostgreSQL is not running"
	fi
	if [ -d "$VTDATAROOT" ]; then
		bash "$ROOT/test/vitess/cluster-down.sh" ${clean:+--clean}
	else
		echo "demo: no Vitess cluster in $VTDATAROOT"
	fi
	if [ -n "$clean" ]; then
		rm -rf "$DEMO_DIR"
		echo "demo: removed $DEMO_DIR"
	fi
}

show_status() {
	psql_demo -P pager=off -c "
		SELECT server, keyspace, shard, phase, position, rows_copied AS copied,
		       transactions_applied AS txns, rows_applied AS rows,
		       round(lag_seconds::numeric, 1) AS lag_s, worker_pid AS pid,
		       left(last_error, 60) AS last_error
		  FROM vstream_fdw.stream_status ORDER BY 1, 2, 3"
}

# source count and mirror count per table, one line each
show_counts() {
	local ks t src dst kt
	for kt in customer.customer customer.corder commerce.product; do
		ks=${kt%%.*} t=${kt#*.}
		src=$("${MYSQL[@]}" "$ks" -e "select count(*) from $t" 2>/dev/null || echo '?')
		dst=$(psql_demo -At -c "SELECT count(*) FROM $ks.$t" 2>/dev/null || echo '-')
		printf '    %-18s source %7s   mirror %7s\n' "$kt" "$src" "$dst"
	done
}

# checksum of every row of a table on each side (sorted canonical text)
table_md5() {  # table_md5 source|mirror KS TABLE COLS PK
	local side=$1 ks=$2 t=$3 cols=$4 pk=$5
	if [ "$side" = source ]; then
		"${MYSQL[@]}" "$ks" -e "set workload='olap'; select $cols from $t order by $pk" | LC_ALL=C sort | md5sum | cut -c1-32
	else
		psql_demo -At -F $'\t' -P null=NULL -c "SELECT $cols FROM $ks.$t ORDER BY $pk" | LC_ALL=C sort | md5sum | cut -c1-32
	fi
}

compare_all() {  # prints a table; returns 0 when every table matches
	local rc=0 ks t cols pk s d sc dc mark spec
	printf '    %-18s %8s %8s  %-32s  %s\n' table source mirror 'checksum (md5 of all rows)' ''
	for spec in 'customer customer customer_id,email customer_id' \
		'customer corder order_id,customer_id,sku,price order_id' \
		'commerce product sku,description,price sku'; do
		read -r ks t cols pk <<<"$spec"
		sc=$("${MYSQL[@]}" "$ks" -e "select count(*) from $t")
		dc=$(psql_demo -At -c "SELECT count(*) FROM $ks.$t" 2>/dev/null || echo -1)
		s=$(table_md5 source "$ks" "$t" "$cols" "$pk")
		d=$(table_md5 mirror "$ks" "$t" "$cols" "$pk" 2>/dev/null || echo none)
		if [ "$s" = "$d" ] && [ "$sc" = "$dc" ]; then mark="${G}identical${N}"; else mark="${R}DIFFERENT${N}"; rc=1; fi
		printf '    %-18s %8s %8s  %-32s  %s\n' "$ks.$t" "$sc" "$dc" "$s" "$mark"
	done
	return $rc
}

# ---- the write load ------------------------------------------------------------
# One batch per ~0.5 s through VTGate: new orders on both shards, price
# updates, deletes, a two-row transfer inside one transaction, a product
# change in the unsharded keyspace.  Order ids are unique across shards
# (Vitess enforces a primary key only within a shard; corder is sharded by
# customer_id, so duplicate order ids on two shards would be two rows at the
# source and one in the mirror, whose primary key is order_id).
write_load() {
	local until=$(($(date +%s) + SECONDS_LOAD)) i=0 id=100000 c sql failed=0
	while [ "$(date +%s)" -lt "$until" ]; do
		i=$((i + 1))
		sql="use customer;"$'\n'
		for _ in 1 2 3 4 5; do
			id=$((id + 1)) c=$((RANDOM % 50 + 1))
			sql+="insert into corder(order_id, customer_id, sku, price) values ($id, $c, 'SKU-$((RANDOM % 10 + 1000))', $((RANDOM % 500)));"$'\n'
		done
		sql+="update corder set price = price + 1 where order_id = $((100000 + RANDOM % (id - 100000) + 1));"$'\n'
		if [ $((i % 3)) = 0 ]; then
			sql+="delete from corder where order_id = $((100000 + RANDOM % (id - 100000) + 1));"$'\n'
		fi
		sql+="insert into customer(customer_id, email) values ($((1000 + i)), 'user$i@example.com');"$'\n'
		# customers 2 and 3 live on the same shard: one source transaction
		sql+="begin; update corder set price = price - 10 where order_id = 2; update corder set price = price + 10 where order_id = 3; commit;"$'\n'
		sql+="use commerce;"$'\n'
		sql+="update product set price = price + 1 where sku = 'SKU-100$((i % 3 + 1))';"$'\n'
		if [ $((i % 5)) = 0 ]; then
			sql+="insert into product(sku, description, price) values ('SKU-$((2000 + i))', 'item $i', $i);"$'\n'
		fi
		if ! printf '%s' "$sql" | "${MYSQL[@]}" >>"$LOGS/load.log" 2>&1; then
			failed=$((failed + 1))
			echo "load batch $i failed" >>"$LOGS/load.log"
		fi
		sleep 0.5
	done
	echo "$i batches ($((i * 10)) statements), $failed failed" >"$LOGS/load.summary"
}

# ---- start -----------------------------------------------------------------------
do_start() {
	mkdir -p "$LOGS"
	echo "${B}vstream_fdw demo${N}: a real Vitess (VTGate, MariaDB tablets) mirrored into PostgreSQL 15"
	echo "logs: $LOGS"

	if [ "$(id -u)" = 0 ]; then
		if [ -z "${VSTREAM_DEMO_SKIP_DEPS:-}" ]; then
			step "installing Debian packages (test/install-deps.sh)"
			run_logged install-deps bash "$ROOT/test/install-deps.sh"
			info "done"
		fi
		id -u "$PG_USER" >/dev/null 2>&1 || useradd --system --create-home --shell /bin/bash "$PG_USER"
		step "building and installing vstream_fdw (make && make install)"
		run_logged build make -C "$ROOT" -s -j2
		run_logged install make -C "$ROOT" -s install
		info "installed into $(pg_config --pkglibdir)"
	else
		step "not root: skipping package installation and make install"
		[ -f "$(pg_config --pkglibdir)/vstream_fdw.so" ] ||
			die "vstream_fdw is not installed; run tools/demo.sh as root (or make install first)"
	fi
	chown "$PG_USER" "$DEMO_DIR" "$LOGS" 2>/dev/null || true

	step "building Vitess v0.24 (cached in /var/cache/vstream_fdw; the first build takes ~7 min)"
	run_logged build-vitess bash "$ROOT/test/vitess/build-vitess.sh"
	info "$(tail -1 "$LOGS/build-vitess.log")"

	step "starting the local Vitess cluster (etcd, vtctld, 3 MariaDB tablets, vtgate)"
	# own session: the cluster outlives this script and the terminal's signals
	if pg_running; then as_pg "$PGBIN/pg_ctl" -D "$PGDATA" -m fast -w stop >/dev/null; fi
	run_logged cluster-up setsid -w bash "$ROOT/test/vitess/cluster-up.sh"
	vt_env
	info "VTGate gRPC 127.0.0.1:$VTGATE_GRPC_PORT, MySQL protocol 127.0.0.1:$VTGATE_MYSQL_PORT"
	info "keyspace commerce (unsharded): product;  keyspace customer (shards -80, 80-): customer, corder"

	step "starting PostgreSQL 15 on port $PGPORT (data $PGDATA, as user $PG_USER)"
	if ss -Hltn "sport = :$PGPORT" | grep -q .; then
		die "port $PGPORT is in use (VSTREAM_DEMO_PGPORT=... to pick another)"
	fi
	rm -rf "$PGDATA"
	mkdir -p "$PGDATA"
	chown -R "$PG_USER" "$DEMO_DIR"
	run_logged initdb as_pg "$PGBIN/initdb" -D "$PGDATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8
	cat >>"$PGDATA/postgresql.conf" <<EOF

# ---- vstream_fdw demo ----
port = $PGPORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DEMO_DIR'
shared_preload_libraries = 'vstream_fdw'
vstream_fdw.database = 'postgres'
vstream_fdw.restart_interval = 500
vstream_fdw.max_restart_interval = 5000
EOF
	run_logged pg_ctl-start as_pg setsid "$PGBIN/pg_ctl" -D "$PGDATA" -l "$LOGS/postgresql.log" -w start
	info "running; server log $LOGS/postgresql.log"

	step "creating the extension, one foreign server per keyspace and two streams"
	psql_demo -e <<EOF | sed 's/^/    /'
CREATE EXTENSION vstream_fdw;
CREATE SERVER customer FOREIGN DATA WRAPPER vstream_fdw
  OPTIONS (host '127.0.0.1', port '$VTGATE_GRPC_PORT', keyspace 'customer', heartbeat_interval '1');
CREATE SERVER commerce FOREIGN DATA WRAPPER vstream_fdw
  OPTIONS (host '127.0.0.1', port '$VTGATE_GRPC_PORT', keyspace 'commerce', heartbeat_interval '1');
SELECT vstream_fdw.create_stream('customer');   -- mirrors into schema customer
SELECT vstream_fdw.create_stream('commerce');   -- mirrors into schema commerce
EOF

	step "waiting for the copy phase (existing rows) to finish"
	local deadline=$(($(date +%s) + 90)) n shown=0
	while :; do
		n=$(psql_demo -At -c "SELECT count(*) FROM vstream_fdw.stream_status WHERE phase = 'replicating' AND keyspace IS NOT NULL" 2>/dev/null || echo 0)
		[ "$n" -ge 3 ] && break
		# large tables: how far each shard got (vstream_fdw.copy_progress)
		if [ $shown = 0 ] && [ "$(psql_demo -At -c "SELECT count(*) FROM vstream_fdw.copy_progress" 2>/dev/null || echo 0)" != 0 ]; then
			psql_demo -P pager=off -c "SELECT server, shard, table_name, tuples_processed, tuples_total, percent, eta FROM vstream_fdw.copy_progress" | sed 's/^/    /'
			shown=1
		fi
		if [ "$(date +%s)" -ge "$deadline" ]; then
			show_status
			die "the streams did not finish copying in 90 s (see $LOGS/postgresql.log)"
		fi
		sleep 0.5
	done
	show_status | sed 's/^/    /'
	show_counts

	step "write load on Vitess for ${SECONDS_LOAD}s (through VTGate's MySQL port), mirror shown every 5s"
	: >"$LOGS/load.log"
	write_load &
	local load_pid=$! t=0
	while kill -0 "$load_pid" 2>/dev/null; do
		sleep 5
		t=$((t + 5))
		printf '\n    %s--- t=%ss ---%s\n' "$Y" "$t" "$N"
		show_status | sed 's/^/    /'
		show_counts
		info "newest mirrored orders:"
		psql_demo -P pager=off -c "SELECT * FROM customer.corder ORDER BY order_id DESC LIMIT 3" | sed 's/^/      /'
	done
	wait "$load_pid" || true
	info "load finished: $(cat "$LOGS/load.summary" 2>/dev/null || echo '?')"

	step "a schema change at the source while the streams run"
	info "ALTER TABLE corder ADD COLUMN note ... DEFAULT 'added by the demo' (through VTGate, on both shards)"
	"${MYSQL[@]}" customer -e "alter table corder add column note varchar(32) not null default 'added by the demo'"
	deadline=$(($(date +%s) + 30))
	until [ "$(psql_demo -At -c "SELECT count(*) FROM customer.corder WHERE note = 'added by the demo'" 2>/dev/null)" = \
		"$("${MYSQL[@]}" customer -e "select count(*) from corder")" ]; do
		if [ "$(date +%s)" -ge "$deadline" ]; then break; fi
		sleep 0.5
	done
	info "the mirror followed: every existing row has the new column's default"
	psql_demo -P pager=off -c "SELECT shard, statement, action FROM vstream_fdw.schema_history ORDER BY id" | sed 's/^/      /'

	step "comparing every table, source (through VTGate) vs mirror (PostgreSQL)"
	local ok=1
	deadline=$(($(date +%s) + 30))
	until compare_all >"$LOGS/compare.txt" 2>&1; do
		if [ "$(date +%s)" -ge "$deadline" ]; then ok=0; break; fi
		sleep 1
	done
	cat "$LOGS/compare.txt"
	if [ $ok = 1 ]; then
		echo "    ${G}the mirror is identical to the source${N}"
	else
		echo "    ${R}the mirror still differs from the source after 30 s${N} (see $LOGS/postgresql.log)"
	fi

	step "done in $(($(date +%s) - T0))s -- everything keeps running"
	cat <<EOF
    The streams keep following Vitess. Try:

      psql -h 127.0.0.1 -p $PGPORT -U postgres postgres
        SELECT * FROM vstream_fdw.stream_status;
        SELECT * FROM vstream_fdw.schema_history;
        SELECT * FROM customer.corder ORDER BY order_id DESC LIMIT 5;
        \\dt customer.*

      $VTGATE_MYSQL customer -e "insert into corder values (9999, 1, 'SKU-9', 99)"
      (then: SELECT * FROM customer.corder WHERE order_id = 9999; in psql)

      tools/demo.sh status          stream status and row counts
      tools/demo.sh stop            stop PostgreSQL and Vitess
      tools/demo.sh stop --clean    ... and delete $DEMO_DIR and $VTDATAROOT
EOF
	[ $ok = 1 ]
}

case ${1:-start} in
start) do_start ;;
stop)
	case ${2:-} in
	'') do_stop ;;
	--clean) do_stop clean ;;
	*) echo "usage: $0 stop [--clean]" >&2; exit 2 ;;
	esac
	;;
status)
	vt_env
	pg_running || die "the demo PostgreSQL is not running (tools/demo.sh)"
	show_status
	show_counts
	;;
*) echo "usage: $0 [start | stop [--clean] | status]" >&2; exit 2 ;;
esac
