#!/usr/bin/env bash
#
# load-corder.sh N [FIRST_ID] -- bulk-insert N synthetic rows into
# customer.corder through VTGate (1000 rows per INSERT; VTGate splits each
# statement by the customer_id hash vindex over shards -80 and 80-).
# order_id runs FIRST_ID..FIRST_ID+N-1 (default FIRST_ID 1000000),
# customer_id = order_id % 1000, sku 'SKU-<n%100>', price = order_id % 997.
#
set -euo pipefail
N=${1:?usage: load-corder.sh N [FIRST_ID]}
FIRST=${2:-1000000}
VTDATAROOT=${VTDATAROOT:-/tmp/vt-vstream}
# shellcheck disable=SC1091
. "$VTDATAROOT/env.sh"
BATCH=${BATCH:-1000}
t0=$EPOCHREALTIME
awk -v n="$N" -v first="$FIRST" -v b="$BATCH" 'BEGIN {
	for (i = 0; i < n; i++) {
		id = first + i
		if (i % b == 0) { if (i) print ";"; printf "insert into corder(order_id,customer_id,sku,price) values " }
		else printf ","
		printf "(%d,%d,\x27SKU-%d\x27,%d)", id, id % 1000, id % 100, id % 997
	}
	if (n) print ";"
}' | mysql -h 127.0.0.1 -P "$VTGATE_MYSQL_PORT" -u root customer
awk -v a="$EPOCHREALTIME" -v b="$t0" -v n="$N" 'BEGIN { printf "loaded %d corder rows in %.1fs (%.0f rows/s)\n", n, a-b, n/(a-b) }'
