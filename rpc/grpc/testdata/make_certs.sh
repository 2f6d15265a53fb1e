#!/usr/bin/env bash
# Writes the TLS test certificates of rpc/grpc's tests into this directory: a CA, a server
# certificate for localhost / 127.0.0.1 / ::1 and a client certificate (CN=interop-client),
# all signed by the CA, valid for 100 years. Run it by hand to renew them:
#
#   rpc/grpc/testdata/make_certs.sh
#
# The keys are test keys: they protect nothing.
set -euo pipefail
cd "$(dirname "$0")"
days=36500
openssl req -x509 -newkey rsa:2048 -nodes -days $days -subj "/O=syslink test/CN=syslink test CA" \
  -keyout ca.key -out ca.pem 2>/dev/null
issue() {  # name subject extensions
  openssl req -newkey rsa:2048 -nodes -subj "$2" -keyout "$1.key" -out "$1.csr" 2>/dev/null
  openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days $days \
    -extfile <(printf '%s\n' "$3") -out "$1.pem" 2>/dev/null
  rm -f "$1.csr"
}
issue server "/O=syslink test/CN=localhost" \
  "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1
extendedKeyUsage=serverAuth"
issue client "/O=syslink test/CN=interop-client" "extendedKeyUsage=clientAuth"
rm -f ca.srl ca.key
