#!/usr/bin/env bash
#
# build-vitess.sh -- build the Vitess binaries the local test cluster needs.
#
# Vitess is pinned to a v24 release and built from the Go module proxy through
# a small wrapper module: "go install vitess.io/vitess/...@v0.24.x" refuses to
# work because Vitess's go.mod carries "exclude" directives, which only apply
# when Vitess is the main module.  The wrapper copies them.
#
# The result is cached outside the clone (VITESS_CACHE, default
# /var/cache/vstream_fdw) so that a second run takes seconds.
#
set -euo pipefail

VTVER=${VTVER:-v0.24.4}
CACHE=${VITESS_CACHE:-/var/cache/vstream_fdw}
VTROOT=${VTROOT:-$CACHE/vitess-$VTVER}
CMDS="vtctld vtctldclient vtgate vttablet mysqlctl"

if [ -x "$VTROOT/bin/vtgate" ] && [ -f "$VTROOT/.complete" ]; then
	echo "vitess $VTVER already built in $VTROOT"
	exit 0
fi

command -v go >/dev/null || { echo "go is required" >&2; exit 1; }
mkdir -p "$VTROOT/bin" "$CACHE/build-$VTVER"
cd "$CACHE/build-$VTVER"
[ -f go.mod ] || go mod init vitess-build.invalid >/dev/null 2>&1

info=$(go mod download -json "vitess.io/vitess@$VTVER")
VTDIR=$(printf '%s' "$info" | python3 -c 'import json,sys;print(json.load(sys.stdin)["Dir"])')
VTGOMOD=$(printf '%s' "$info" | python3 -c 'import json,sys;print(json.load(sys.stdin)["GoMod"])')

go mod edit -json "$VTGOMOD" | python3 -c '
import json, sys
for e in json.load(sys.stdin).get("Exclude") or []:
    print("-exclude=%s@%s" % (e["Path"], e["Version"]))' | xargs -r go mod edit

pkgs=""
for c in $CMDS; do pkgs="$pkgs vitess.io/vitess/go/cmd/$c@$VTVER"; done
# shellcheck disable=SC2086
go get -tool $pkgs
CGO_ENABLED=0 GOBIN="$VTROOT/bin" go install -trimpath -ldflags='-s -w' tool

# A writable copy of Vitess's config directory, with the MariaDB-safe init SQL
# (upstream init_db.sql starts with super_read_only, which MariaDB lacks).
rm -rf "$VTROOT/config"
cp -r "$VTDIR/config" "$VTROOT/"
chmod -R u+w "$VTROOT/config"
if [ -f "$VTDIR/go/test/endtoend/vreplication/testdata/config/init_testserver_db.sql" ]; then
	cp "$VTDIR/go/test/endtoend/vreplication/testdata/config/init_testserver_db.sql" \
		"$VTROOT/config/init_db_mariadb.sql"
fi
"$VTROOT/bin/vtgate" --version
touch "$VTROOT/.complete"
