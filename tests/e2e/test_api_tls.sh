#!/usr/bin/env bash
# TLS with a CA made here: curl with --cacert works, without it fails; and
# the refusal to serve plain HTTP on a non-loopback address without
# --insecure-http.
source "$(dirname "$0")/lib_api.sh"

say "a CA and a server certificate for 127.0.0.1 and localhost"
P=$API_TMP/pki
mkdir -p "$P"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=nx test CA" \
	-keyout "$P/ca.key" -out "$P/ca.crt" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
	-keyout "$P/server.key" -out "$P/server.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$P/ext"
openssl x509 -req -in "$P/server.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
	-days 2 -extfile "$P/ext" -out "$P/server.crt" 2>/dev/null
# A second CA that did not sign the server.
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=other CA" \
	-keyout "$P/other.key" -out "$P/other.crt" 2>/dev/null

api_start tls --tls-cert "$P/server.crt" --tls-key "$P/server.key"
[[ $API_URL == https://* ]] || fail "not https: $API_URL"
CURL_EXTRA=(--cacert "$P/ca.crt")
expect GET /healthz - "" 200
expect GET /api/v1/organizations "$ADMIN" "" 200
assert_eq "org over TLS" default "$(j '.[0].name')"
port=${API_URL##*:}
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.crt" "https://localhost:$port/healthz") || true
assert_eq "by name localhost" 200 "$STATUS"

say "TLS 1.2 and 1.3 only; HSTS on every answer; API answers are never cached"
for v in 1.2 1.3; do
	STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.crt" --tlsv$v --tls-max $v "$API_URL/healthz") || true
	assert_eq "TLS $v" 200 "$STATUS"
done
for v in 1.0 1.1; do
	STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.crt" --tlsv1.0 --tls-max $v \
		--ciphers DEFAULT@SECLEVEL=0 "$API_URL/healthz") || STATUS=refused
	assert_eq "TLS $v" refused "$STATUS"
done
# an old client offering only CBC ciphers with RSA key exchange
STATUS=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$P/ca.crt" --tls-max 1.2 --ciphers AES128-SHA \
	"$API_URL/healthz") || STATUS=refused
assert_eq "TLS 1.2 with AES128-SHA only" refused "$STATUS"
hdrs=$(curl -s -D - -o /dev/null --cacert "$P/ca.crt" -H "Authorization: Bearer $ADMIN" "$API_URL/api/v1/organizations" | tr -d '\r')
assert_contains "HSTS" "Strict-Transport-Security: max-age=31536000" "$hdrs"
assert_contains "no-store" "Cache-Control: no-store" "$hdrs"
hdrs=$(curl -s -D - -o /dev/null --cacert "$P/ca.crt" "$API_URL/" | tr -d '\r')
assert_contains "HSTS on the web UI" "Strict-Transport-Security: max-age=31536000" "$hdrs"

say "without the CA, or with another CA, curl refuses"
if curl -s -o /dev/null "$API_URL/healthz"; then fail "curl trusted an unknown CA"; fi
echo "    ok: no CA -> refused" >&2
if curl -s -o /dev/null --cacert "$P/other.crt" "$API_URL/healthz"; then fail "wrong CA accepted"; fi
echo "    ok: other CA -> refused" >&2
STATUS=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz") || true
assert_ne "plain HTTP to the TLS port" 200 "$STATUS"
say "SIGHUP: a renewed certificate is served to new connections; a bad pair is refused, the old one stays"
subject() {
	openssl s_client -connect "127.0.0.1:$port" -servername localhost </dev/null 2>/dev/null |
		openssl x509 -noout -subject 2>/dev/null | sed 's/^subject=//; s/ //g'
}
assert_eq "before" "CN=localhost" "$(subject)"
openssl req -newkey rsa:2048 -nodes -subj "/CN=renewed" \
	-keyout "$P/new.key" -out "$P/new.csr" 2>/dev/null
openssl x509 -req -in "$P/new.csr" -CA "$P/ca.crt" -CAkey "$P/ca.key" -CAcreateserial \
	-days 2 -extfile "$P/ext" -out "$P/new.crt" 2>/dev/null
cp "$P/server.key" "$P/old.key"
cp "$P/new.crt" "$P/server.crt"
cp "$P/new.key" "$P/server.key"
kill -HUP "$API_PID"
for i in $(seq 1 50); do grep -q "SIGHUP: certificate" "$API_LOG" && break; sleep 0.1; done
assert_eq "after SIGHUP" "CN=renewed" "$(subject)"
expect GET /healthz - "" 200
cp "$P/old.key" "$P/server.key"   # the new certificate with the old key: a mismatch
kill -HUP "$API_PID"
for i in $(seq 1 50); do grep -q "do not load" "$API_LOG" && break; sleep 0.1; done
grep -q "SIGHUP: .* do not load (.*); the certificate in use stays" "$API_LOG" || fail "no message about the bad pair"
assert_eq "still the renewed one" "CN=renewed" "$(subject)"
kill -0 "$API_PID" || fail "nexapi died on SIGHUP"
api_stop
assert_eq "TLS server exit" 0 "$API_RC"

say "plain HTTP only on loopback"
rc=0
"$NEXAPI" --listen 192.0.2.1:8080 --db "$API_TMP/refuse.db" >"$API_TMP/refuse.log" 2>&1 || rc=$?
assert_eq "refused exit status" 1 "$rc"
grep -q 'refusing to serve plain HTTP' "$API_TMP/refuse.log" || fail "no clear message: $(cat "$API_TMP/refuse.log")"
[ ! -e "$API_TMP/refuse.db" ] || fail "a database was created before the refusal"
rc=0
"$NEXAPI" --listen 0.0.0.0:0 --db "$API_TMP/refuse.db" >"$API_TMP/refuse.log" 2>&1 || rc=$?
assert_eq "0.0.0.0 refused" 1 "$rc"
rc=0
"$NEXAPI" --listen "[2001:db8::1]:8080" --db "$API_TMP/refuse.db" >"$API_TMP/refuse.log" 2>&1 || rc=$?
assert_eq "v6 refused" 1 "$rc"

say "--insecure-http allows it (in a namespace of our own)"
NS=nx-h5-$$-ins
api_netns ins >/dev/null
ip netns exec "$NS" "$NEXAPI" --listen 192.0.2.1:8080 --db "$API_TMP/insecure.db" --insecure-http \
	>"$API_TMP/insecure.log" 2>&1 &
IPID=$!
API_PIDS+=("$IPID")
for i in $(seq 1 100); do grep -q 'listening on' "$API_TMP/insecure.log" && break; sleep 0.05; done
grep -q 'listening on http://192.0.2.1:8080' "$API_TMP/insecure.log" || fail "insecure start: $(cat "$API_TMP/insecure.log")"
assert_eq "insecure serves" 200 "$(ip netns exec "$NS" curl -s -o /dev/null -w '%{http_code}' http://192.0.2.1:8080/healthz)"
kill "$IPID"
rc=0; wait "$IPID" || rc=$?
assert_eq "insecure exit" 0 "$rc"
rc=0
ip netns exec "$NS" "$NEXAPI" --listen 192.0.2.1:8081 --db "$API_TMP/refuse2.db" >"$API_TMP/refuse2.log" 2>&1 || rc=$?
assert_eq "the same without --insecure-http" 1 "$rc"

say "a missing key file is a clear error"
rc=0
"$NEXAPI" --listen 127.0.0.1:0 --db "$API_TMP/x.db" --tls-cert "$P/server.crt" --tls-key "$P/nope" \
	>"$API_TMP/x.log" 2>&1 || rc=$?
assert_eq "missing key" 1 "$rc"

say "a key file that others may read is refused"
cp "$P/server.key" "$P/open.key"
chmod 0644 "$P/open.key"
rc=0
"$NEXAPI" --listen 127.0.0.1:0 --db "$API_TMP/y.db" --tls-cert "$P/server.crt" --tls-key "$P/open.key" \
	>"$API_TMP/y.log" 2>&1 || rc=$?
assert_eq "refused" 1 "$rc"
grep -q "tls-key $P/open.key: group or others may read or change it: chmod 600 it" "$API_TMP/y.log" ||
	fail "no clear message: $(cat "$API_TMP/y.log")"
