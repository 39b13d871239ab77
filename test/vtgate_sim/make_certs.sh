#!/bin/sh
# make_certs.sh OUTDIR -- TLS material for vtgate_sim tests (openssl CLI only).
#
#   ca.crt / ca.key                    test CA
#   server.crt / server.key            CN=localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1   (signed by ca)
#   wronghost.crt / wronghost.key      CN=wronghost.invalid, SAN DNS:wronghost.invalid (signed by ca)
#   client.crt / client.key            CN=vstream_client, clientAuth                       (signed by ca)
#   wrong-ca.crt / wrong-ca.key        a second, unrelated CA
#   server-wrongca.crt / .key          CN=localhost like server.crt, but signed by wrong-ca
#   client-wrongca.crt / .key          CN=vstream_client, signed by wrong-ca
#   ca-bundle.crt                      ca.crt + wrong-ca.crt
#
# Keys are EC P-256 (fast), certificates valid for 10 years.
set -eu

OUT=${1:?usage: make_certs.sh OUTDIR}
mkdir -p "$OUT"
cd "$OUT"
DAYS=3650
SUBJ_BASE="/O=vstream_fdw test"

genkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
	chmod 600 "$1"
}

mkca() { # name CN
	genkey "$1.key"
	openssl req -x509 -new -key "$1.key" -sha256 -days $DAYS -subj "$SUBJ_BASE/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-out "$1.crt"
}

mkcert() { # name CN cafile-prefix ext-lines
	name=$1 cn=$2 ca=$3 ext=$4
	genkey "$name.key"
	openssl req -new -key "$name.key" -subj "$SUBJ_BASE/CN=$cn" -out "$name.csr"
	printf '%b\n' "$ext" > "$name.ext"
	openssl x509 -req -in "$name.csr" -CA "$ca.crt" -CAkey "$ca.key" -CAcreateserial \
		-days $DAYS -sha256 -extfile "$name.ext" -out "$name.crt" 2>/dev/null
	rm -f "$name.csr" "$name.ext"
}

SERVER_EXT='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1'
WRONG_EXT='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:wronghost.invalid'
CLIENT_EXT='basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth'

mkca ca "vstream_fdw test CA"
mkca wrong-ca "unrelated test CA"
mkcert server localhost ca "$SERVER_EXT"
mkcert wronghost wronghost.invalid ca "$WRONG_EXT"
mkcert client vstream_client ca "$CLIENT_EXT"
mkcert server-wrongca localhost wrong-ca "$SERVER_EXT"
mkcert client-wrongca vstream_client wrong-ca "$CLIENT_EXT"
cat ca.crt wrong-ca.crt > ca-bundle.crt
rm -f ca.srl wrong-ca.srl

openssl verify -CAfile ca.crt server.crt wronghost.crt client.crt >/dev/null
echo "certificates written to $OUT"
