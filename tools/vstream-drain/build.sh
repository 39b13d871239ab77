#!/usr/bin/env bash
#
# build.sh -- build vstream-drain into the shared cache directory
# ($VITESS_CACHE/bin/vstream-drain, default /var/cache/vstream_fdw/bin).
#
# Cached: the binary is rebuilt only when the sources (*.go, go.mod, go.sum)
# or the Go version change.  The module depends on vitess.io/vitess v0.24.4,
# the same version test/vitess/build-vitess.sh builds, so the Go build cache
# from that build is reused (a cold build after build-vitess.sh takes ~1 min).
#
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${VITESS_CACHE:-/var/cache/vstream_fdw}
OUT=$CACHE/bin/vstream-drain
export PATH=$PATH:/usr/local/go/bin

command -v go >/dev/null || { echo "go is required" >&2; exit 1; }
key=$( (cd "$HERE" && cat go.mod go.sum ./*.go; go version) | sha256sum | cut -c1-16)
if [ -x "$OUT" ] && [ "$(cat "$OUT.key" 2>/dev/null)" = "$key" ]; then
	echo "vstream-drain up to date: $OUT"
	exit 0
fi
mkdir -p "$CACHE/bin"
cd "$HERE"
CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$OUT.tmp" .
mv "$OUT.tmp" "$OUT"
echo "$key" >"$OUT.key"
echo "built $OUT"
