#!/usr/bin/env bash
#
# install-deps.sh -- install every Debian 12 package that building and
# testing vstream_fdw needs.  Run as root.  Idempotent.
#
set -euo pipefail

PKGS=(
	# build
	build-essential pkg-config postgresql-15 postgresql-server-dev-15
	libnghttp2-dev libprotobuf-c-dev protobuf-c-compiler libssl-dev
	default-libmysqlclient-dev
	# tests: TAP, the test VTGate (python h2 + protobuf), TLS material
	libipc-run-perl perl python3 python3-h2 python3-protobuf python3-grpcio
	# the benchmark's latency loader and listener (tools/bench.pl (e))
	libdbd-mysql-perl libdbd-pg-perl
	protobuf-compiler openssl procps
	# fuzzing (tools/fuzz.sh): clang with libFuzzer and the sanitizer runtimes
	clang-14 libclang-rt-14-dev
	# the real Vitess cluster (MariaDB as mysqld, etcd as topology); Vitess
	# itself is built from the Go module proxy with Go >= 1.26, which Debian 12
	# does not package: the machine image provides /usr/local/go.
	mariadb-server mariadb-client etcd-server etcd-client
	ca-certificates curl rsync
	# topology tests (test/vitess/topo.sh reads vtctldclient JSON)
	jq
)

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# do not let the packages start their own servers
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
	chmod +x /usr/sbin/policy-rc.d
	trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
echo "install-deps: packages installed"
