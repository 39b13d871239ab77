#!/usr/bin/env bash
#
# tls-vtgate.sh -- a SECOND VTGate on the shared local cluster, serving its
# MySQL port and gRPC over TLS with static authentication, for the TLS tests
# of the MySQL protocol and of the VStream client.  The main VTGate of
# cluster-up.sh is never touched.
#
#   test/vitess/tls-vtgate.sh start DIR MYSQL_PORT GRPC_PORT HTTP_PORT
#   test/vitess/tls-vtgate.sh stop DIR
#
# start: makes test certificates in DIR/certs (test/vtgate_sim/make_certs.sh:
# server.crt is for localhost / 127.0.0.1, signed by ca.crt; wrong-ca.crt is
# an unrelated CA), writes the static auth files (MySQL user "tls_user" with
# password "tls_secret"; gRPC user "tls_user" / "tls_secret"), starts vtgate
# with the cluster's topology (log DIR/vtgate.log, pid DIR/vtgate.pid) and
# waits until it routes a query over TLS (timeout VT_READY_TIMEOUT, 60 s).
# TLS_VTGATE_CERT=wronghost serves wronghost.crt instead (same CA, issued for
# wronghost.invalid: verify-full must fail, verify-ca must pass).
# stop: SIGTERM to the pid of DIR/vtgate.pid only, SIGKILL after 15 s.
#
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
export VTDATAROOT=${VTDATAROOT:-/tmp/vt-vstream}
ENVF=${VSTREAM_VITESS_ENV:-$VTDATAROOT/env.sh}
# shellcheck disable=SC1090
. "$ENVF"

CMD=${1:?usage: tls-vtgate.sh start|stop DIR ...}
DIR=${2:?usage: tls-vtgate.sh start|stop DIR ...}
PIDF=$DIR/vtgate.pid

alive() {
	local pid=$1
	[ -n "$pid" ] && [ -d "/proc/$pid" ] || return 1
	[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ] || return 1
	tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q vtgate
}

if [ "$CMD" = stop ]; then
	pid=$(cat "$PIDF" 2>/dev/null || true)
	if alive "$pid"; then
		kill -TERM "$pid"
		for ((i = 0; i < 150; i++)); do
			alive "$pid" || break
			sleep 0.1
		done
		alive "$pid" && kill -KILL "$pid"
	fi
	rm -f "$PIDF"
	exit 0
fi

[ "$CMD" = start ] || { echo "usage: tls-vtgate.sh start|stop DIR ..." >&2; exit 2; }
MYSQL_PORT=${3:?MYSQL_PORT}
GRPC_PORT=${4:?GRPC_PORT}
HTTP_PORT=${5:?HTTP_PORT}

mkdir -p "$DIR"
[ -s "$DIR/certs/server.crt" ] || sh "$HERE/../vtgate_sim/make_certs.sh" "$DIR/certs" >/dev/null
cat >"$DIR/mysql_auth.json" <<'EOF'
{"tls_user": [{"Password": "tls_secret", "UserData": "tls_user"}]}
EOF
cat >"$DIR/grpc_auth.json" <<'EOF'
[{"Username": "tls_user", "Password": "tls_secret"}]
EOF

CERT=${TLS_VTGATE_CERT:-server}
ETCD_PORT=${ETCD_ADDR##*:}
setsid "$VTROOT/bin/vtgate" --topo-implementation etcd2 \
	--topo-global-server-address "127.0.0.1:$ETCD_PORT" --topo-global-root /vitess/global \
	--cell zone1 --cells-to-watch zone1 --tablet-types-to-wait PRIMARY \
	--port "$HTTP_PORT" --grpc-port "$GRPC_PORT" --service-map grpc-vtgateservice \
	--mysql-server-port "$MYSQL_PORT" --mysql-server-bind-address 127.0.0.1 \
	--mysql-auth-server-impl static --mysql-auth-server-static-file "$DIR/mysql_auth.json" \
	--mysql-server-ssl-cert "$DIR/certs/$CERT.crt" --mysql-server-ssl-key "$DIR/certs/$CERT.key" \
	--mysql-server-require-secure-transport \
	--grpc-cert "$DIR/certs/$CERT.crt" --grpc-key "$DIR/certs/$CERT.key" \
	--grpc-auth-mode static --grpc-auth-static-password-file "$DIR/grpc_auth.json" \
	--bind-address 127.0.0.1 --grpc-bind-address 127.0.0.1 --log-format text \
	>"$DIR/vtgate.log" 2>&1 </dev/null &
echo $! >"$PIDF"

TIMEOUT=${VT_READY_TIMEOUT:-60}
deadline=$(($(date +%s) + TIMEOUT))
until mysql -h 127.0.0.1 -P "$MYSQL_PORT" -u tls_user -ptls_secret --ssl --ssl-ca="$DIR/certs/ca.crt" \
	--batch --skip-column-names --connect-timeout=5 \
	-e 'select count(*) from customer.customer; select count(*) from commerce.product' >/dev/null 2>&1; do
	if [ "$(date +%s)" -ge "$deadline" ]; then
		echo "tls-vtgate: not serving after ${TIMEOUT}s (log: $DIR/vtgate.log)" >&2
		exit 1
	fi
	alive "$(cat "$PIDF")" || { echo "tls-vtgate: vtgate exited (log: $DIR/vtgate.log)" >&2; tail -5 "$DIR/vtgate.log" >&2; exit 1; }
	sleep 0.3
done
echo "tls-vtgate: serving (pid $(cat "$PIDF"), MySQL $MYSQL_PORT, gRPC $GRPC_PORT)"
