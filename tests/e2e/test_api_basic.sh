#!/usr/bin/env bash
# The whole nexapi API against a real server: health, organizations, tokens,
# registration keys, registration, devices CRUD, PATCH rules, and the error
# answers (status and JSON) for bad input.
source "$(dirname "$0")/lib_api.sh"

api_start basic
say "first start: admin token file, modes, no token in the log"
[ -n "$ADMIN" ] || fail "no admin token"
assert_eq "admin token file mode" 600 "$(stat -c %a "$API_TMP/basic.db.admin-token")"
[ "$API_STORE" != sqlite ] || assert_eq "database mode" 600 "$(stat -c %a "$API_TMP/basic.db")"
assert_eq "token file lines" 1 "$(wc -l <"$API_TMP/basic.db.admin-token")"
grep -qF "$ADMIN" "$API_LOG" && fail "admin token in the log"
grep -qF "${ADMIN#*_*_}" "$API_LOG" && fail "admin token secret in the log"

say "healthz"
expect GET /healthz - "" 200
assert_eq status ok "$(j .status)"
assert_eq "request id header" 1 "$(curl -s -D - -o /dev/null "$API_URL/healthz" | grep -ci '^x-request-id: [0-9a-f]\{16\}')"
grep -q 'req=[0-9a-f]\{16\} GET /healthz 200' "$API_LOG" || fail "no access log line"

say "authentication"
expect GET /api/v1/organizations - "" 401 unauthorized
expect GET /api/v1/organizations "nxa_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "" 401 unauthorized
expect GET /api/v1/organizations "garbage" "" 401 unauthorized
expect GET /api/v1/organizations "${ADMIN%?}x" "" 401 unauthorized
expect GET /api/v1/nothing "$ADMIN" "" 404 not_found
expect DELETE /api/v1/organizations "$ADMIN" "" 405 method_not_allowed
expect GET "/api/v1/x%0Afake-line%1b[31m" "$ADMIN" "" 404 not_found
grep -q '^fake-line' "$API_LOG" && fail "a request path injected a log line"
grep -q $'\x1b' "$API_LOG" && fail "a request path put an escape into the log"
grep -q 'GET /api/v1/x?fake-line?\[31m 404' "$API_LOG" || fail "the access log line does not show the escaped path"

say "organizations"
expect GET /api/v1/organizations "$ADMIN" "" 200
assert_eq "default org" "default 100.100.0.0/16" "$(j '.[0] | "\(.name) \(.prefix)"')"
expect POST /api/v1/organizations "$ADMIN" '{"name":"acme","prefix":"100.100.16.0/20"}' 201
ACME_ID=$(j .id)
assert_eq "acme prefix" 100.100.16.0/20 "$(j .prefix)"
expect POST /api/v1/organizations "$ADMIN" '{"name":"acme"}' 409 conflict
expect POST /api/v1/organizations "$ADMIN" '{"name":"Bad_Name"}' 400 bad_request
expect POST /api/v1/organizations "$ADMIN" '{"name":"x","prefix":"100.100.0.1/16"}' 400 bad_request
expect POST /api/v1/organizations "$ADMIN" '{"name":"x","prefix":"2001:db8::/64"}' 400 bad_request
expect POST /api/v1/organizations "$ADMIN" '{"name":"x","prefix":"300.1.0.0/16"}' 400 bad_request
expect POST /api/v1/organizations "$ADMIN" '{"name":"x","color":"red"}' 400 bad_request
expect POST /api/v1/organizations "$ADMIN" '{"name":5}' 400 bad_request
expect POST /api/v1/organizations "$ADMIN" '{"name":"x",' 400 bad_request
expect POST /api/v1/organizations "$ADMIN" '["x"]' 400 bad_request
expect POST /api/v1/organizations "$ADMIN" '{"name":"x","name":"y"}' 400 bad_request
expect GET /api/v1/organizations/acme "$ADMIN" "" 200
assert_eq "get by name" "$ACME_ID" "$(j .id)"
expect GET "/api/v1/organizations/$ACME_ID" "$ADMIN" "" 200
assert_eq "get by id" acme "$(j .name)"
expect GET /api/v1/organizations/nope "$ADMIN" "" 404 not_found
expect GET /api/v1/organizations "$ADMIN" "" 200
assert_eq "org names" "acme default" "$(j '[.[].name] | join(" ")')"

say "content type and size"
STATUS=$(curl -s -o "$API_TMP/resp" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" \
	-d '{"name":"y"}' "$API_URL/api/v1/organizations")
assert_eq "form content type" 415 "$STATUS"
assert_eq "415 code" unsupported_media_type "$(jq -r .error "$API_TMP/resp")"
big=$(head -c 70000 /dev/zero | tr '\0' 'a')
expect POST /api/v1/organizations "$ADMIN" "{\"name\":\"$big\"}" 413 payload_too_large
# Chunked, without Content-Length: counted as it arrives.
printf '{"name":"%s"}' "$big" >"$API_TMP/big.json"
STATUS=$(curl -s -o "$API_TMP/resp" -w '%{http_code}' -H "Authorization: Bearer $ADMIN" \
	-H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' \
	--data-binary @"$API_TMP/big.json" "$API_URL/api/v1/organizations")
assert_eq "chunked oversize" 413 "$STATUS"
assert_eq "413 code" payload_too_large "$(jq -r .error "$API_TMP/resp")"
expect POST /api/v1/organizations "$ADMIN" "{\"name\":\"ok-after-413\"}" 201

say "organization tokens"
expect POST /api/v1/tokens "$ADMIN" '{"organization":"acme"}' 201
ORG_TOKEN=$(j .token)
assert_eq "token org" acme "$(j .organization)"
[[ $ORG_TOKEN == nxo_* ]] || fail "token form $ORG_TOKEN"
grep -qF "${ORG_TOKEN#*_*_}" "$API_LOG" && fail "org token in the log"
expect POST /api/v1/tokens "$ADMIN" '{"organization":"nope"}' 404 not_found
expect POST /api/v1/tokens "$ADMIN" '{}' 400 bad_request
expect POST /api/v1/tokens "$ORG_TOKEN" '{"organization":"acme"}' 403 forbidden
expect GET /api/v1/organizations "$ORG_TOKEN" "" 200
assert_eq "org token sees its org" acme "$(j '[.[].name] | join(" ")')"

say "registration keys"
expect POST /api/v1/reg-keys "$ORG_TOKEN" '{}' 201
ONCE_ID=$(j .id)
assert_eq "default: single use" true "$(j .single_use)"
exp=$(date -d "$(j .expires_at)" +%s)
now=$(date +%s)
[ $((exp - now)) -ge 86000 ] && [ $((exp - now)) -le 86400 ] || fail "default expiry is not 24 h: $(j .expires_at)"
printf '    ok: default expiry in %s s\n' $((exp - now)) >&2
expect POST /api/v1/reg-keys "$ORG_TOKEN" '{"single_use":false,"expires_in":null}' 201
KEY=$(j .key)
KEY_ID=$(j .id)
assert_eq "key org" acme "$(j .organization)"
assert_eq "key expiry: never" null "$(j .expires_at)"
assert_eq "key reusable" false "$(j .single_use)"
expect POST /api/v1/reg-keys "$ADMIN" '{"single_use":true,"expires_in":3600}' 201
assert_eq "admin key default org" default "$(j .organization)"
assert_eq "single" true "$(j .single_use)"
[ "$(j .expires_at)" != null ] || fail "no expires_at"
expect POST /api/v1/reg-keys "$ADMIN" '{"expires_in":0}' 400 bad_request
expect POST /api/v1/reg-keys "$ADMIN" '{"expires_in":"60"}' 400 bad_request
expect POST /api/v1/reg-keys "$ADMIN" '{"single_use":"yes"}' 400 bad_request
expect POST /api/v1/reg-keys "$ADMIN" '{"expires_in":1.5}' 400 bad_request
expect POST /api/v1/reg-keys "$ADMIN" '{"organization":"nope"}' 404 not_found
expect GET /api/v1/reg-keys "$ORG_TOKEN" "" 200
# both keys (made in the same second: their order among themselves is the ids')
assert_eq "org token lists its keys" "$(printf '%s\n' "$KEY_ID" "$ONCE_ID" | sort | tr '\n' ' ')" \
	"$(j '[.[].id] | sort | join(" ")') "
assert_eq "no key text in lists" null "$(j '.[0].key')"
expect GET /api/v1/reg-keys "$ADMIN" "" 200
assert_eq "admin lists all keys" 3 "$(j length)"
expect GET "/api/v1/reg-keys?organization=default" "$ADMIN" "" 200
assert_eq "admin lists default keys" 1 "$(j length)"

say "registration"
PK1=$(pubkey)
req POST /api/v1/devices "$KEY" "{\"public_key\":\"$PK1\",\"hostname\":\"laptop\",\"os\":\"linux\",\"version\":\"0.1\",\"endpoints\":[{\"source\":\"local\",\"address\":\"192.0.2.10:51820\"},{\"source\":\"stun\",\"address\":\"[2001:db8::1]:4000\"}],\"advertise_cidrs\":[\"0.0.0.0/0\",\"192.0.2.0/24\"]}"
assert_eq "register status" 201 "$STATUS"
D1=$(j .device.id)
D1_TOKEN=$(j .device_token)
assert_eq "tunnel ip" 100.100.16.1 "$(j .device.tunnel_ip)"
assert_eq "organization" acme "$(j .device.organization)"
assert_eq "endpoints" "192.0.2.10:51820 [2001:db8::1]:4000" "$(j '[.device.endpoints[].address] | join(" ")')"
assert_eq "cidrs" "0.0.0.0/0 192.0.2.0/24" "$(j '.device.advertise_cidrs | join(" ")')"
assert_eq "nothing approved" 0 "$(j '.device.approved_cidrs | length')"
assert_eq "exit status" off "$(j .device.exit_node_status)"
assert_eq "exit client" false "$(j .device.exit_node_client)"
assert_eq "online" true "$(j .device.online)"
[[ $D1_TOKEN == nxd_* ]] || fail "device token form"
register "$KEY" desktop
assert_eq "second device" "201 100.100.16.2" "$STATUS $DEV_IP"
D2=$DEV_ID
D2_TOKEN=$DEV_TOKEN

say "registration: bad bodies"
expect POST /api/v1/devices "$KEY" '{"hostname":"x"}' 400 bad_request
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$PK1\"}" 400 bad_request
expect POST /api/v1/devices "$KEY" '{"public_key":"not-a-key","hostname":"x"}' 400 bad_request
expect POST /api/v1/devices "$KEY" '{"public_key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","hostname":"x"}' 400 bad_request
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"bad host\"}" 400 bad_request
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"advertise_cidrs\":[\"10.0.0.0/33\"]}" 400 bad_request
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"advertise_cidrs\":[\"10.0.0.0\"]}" 400 bad_request
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"advertise_cidrs\":\"0.0.0.0/0\"}" 400 bad_request
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"endpoints\":[{\"source\":\"udp\",\"address\":\"192.0.2.1:1\"}]}" 400 bad_request
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"endpoints\":[{\"source\":\"local\",\"address\":\"192.0.2.1\"}]}" 400 bad_request
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"endpoints\":[{\"source\":\"local\",\"address\":\"192.0.2.1:1\",\"x\":1}]}" 400 bad_request
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"tunnel_ip\":\"100.100.16.9\"}" 400 bad_request
eps=$(for i in $(seq 1 17); do printf '{"source":"local","address":"192.0.2.1:%d"},' "$i"; done)
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"endpoints\":[${eps%,}]}" 400 bad_request
cidrs=$(for i in $(seq 1 65); do printf '"10.%d.0.0/16",' "$i"; done)
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"advertise_cidrs\":[${cidrs%,}]}" 400 bad_request
expect POST /api/v1/devices "$KEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"$(head -c 254 /dev/zero | tr '\0' h)\"}" 400 bad_request
expect POST /api/v1/devices "$ORG_TOKEN" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\"}" 403 forbidden
expect POST /api/v1/devices "$ADMIN" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\"}" 403 forbidden

say "devices: list and get"
expect GET /api/v1/devices "$ORG_TOKEN" "" 200
assert_eq "device count" 2 "$(j '.devices | length')"
assert_eq "order by address" "laptop desktop" "$(j '[.devices[].hostname] | join(" ")')"
REV=$(j .revision)
[ "$REV" -ge 2 ] || fail "revision $REV"
expect GET "/api/v1/devices?organization=acme" "$ADMIN" "" 200
assert_eq "admin list acme" 2 "$(j '.devices | length')"
expect GET /api/v1/devices "$ADMIN" "" 200
assert_eq "admin default org empty" 0 "$(j '.devices | length')"
expect GET "/api/v1/devices/$D1" "$D2_TOKEN" "" 200
assert_eq "device token reads its org" laptop "$(j .hostname)"
expect GET /api/v1/devices/00000000-0000-4000-8000-000000000000 "$ADMIN" "" 404 not_found
expect GET /api/v1/devices/not-a-uuid "$ADMIN" "" 404 not_found

say "PATCH rules"
expect PATCH "/api/v1/devices/$D1" "$D1_TOKEN" '{"exit_node_status":"using desktop","endpoints":[{"source":"stun","address":"203.0.113.5:999"}],"version":"0.2"}' 200
assert_eq "status set" "using desktop" "$(j .exit_node_status)"
assert_eq "endpoint set" 203.0.113.5:999 "$(j '.endpoints[0].address')"
# addresses no peer can send to are refused, naming the value
for bad in 127.0.0.1:22 255.255.255.255:9 0.0.0.0:51820 224.0.0.1:5 "[::1]:51820" "[ff02::1]:5" 192.0.2.1:0; do
	expect PATCH "/api/v1/devices/$D1" "$D1_TOKEN" "{\"endpoints\":[{\"source\":\"stun\",\"address\":\"$bad\"}]}" 400 bad_request
	assert_contains "message names the value" "\"$bad\"" "$(j .message)"
done
expect GET "/api/v1/devices/$D1" "$D1_TOKEN" "" 200
assert_eq "endpoint unchanged" 203.0.113.5:999 "$(j '.endpoints[0].address')"
assert_eq "version set" 0.2 "$(j .version)"
assert_eq "cidrs kept" "0.0.0.0/0 192.0.2.0/24" "$(j '.advertise_cidrs | join(" ")')"
R1=$(j .revision)
[ "$R1" -gt "$REV" ] || fail "revision did not grow: $R1"
expect PATCH "/api/v1/devices/$D1" "$ORG_TOKEN" '{"exit_node_client":true,"hostname":"laptop2"}' 200
assert_eq "exit client set" "true laptop2" "$(j '"\(.exit_node_client) \(.hostname)"')"
expect PATCH "/api/v1/devices/$D1" "$ADMIN" '{"exit_node_client":false}' 200
expect PATCH "/api/v1/devices/$D1" "$ORG_TOKEN" '{"advertise_cidrs":[]}' 403 forbidden
expect PATCH "/api/v1/devices/$D1" "$D2_TOKEN" '{"hostname":"evil"}' 403 forbidden
expect PATCH "/api/v1/devices/$D1" "$D1_TOKEN" '{"tunnel_ip":"100.100.16.99"}' 400 bad_request
expect PATCH "/api/v1/devices/$D1" "$D1_TOKEN" '{}' 400 bad_request
expect PATCH "/api/v1/devices/$D1" "$D1_TOKEN" '{"exit_node_client":"true"}' 400 bad_request
expect PATCH "/api/v1/devices/$D1" "$D1_TOKEN" '{"advertise_cidrs":["1.2.3.4/99"]}' 400 bad_request
expect PATCH "/api/v1/devices/$D1" "$D1_TOKEN" 'nonsense' 400 bad_request
expect GET "/api/v1/devices/$D1" "$D1_TOKEN" "" 200
assert_eq "rejected patches changed nothing" "laptop2 false" "$(j '"\(.hostname) \(.exit_node_client)"')"

say "delete"
expect DELETE "/api/v1/devices/$D2" "$D1_TOKEN" "" 403 forbidden
expect DELETE "/api/v1/devices/$D2" "$ORG_TOKEN" "" 204
expect GET "/api/v1/devices/$D2" "$ORG_TOKEN" "" 404 not_found
expect GET /api/v1/devices "$D2_TOKEN" "" 401 unauthorized
expect DELETE "/api/v1/devices/$D2" "$ORG_TOKEN" "" 404 not_found

say "revoke the key"
expect DELETE "/api/v1/reg-keys/$KEY_ID" "$ORG_TOKEN" "" 204
expect GET /api/v1/reg-keys "$ORG_TOKEN" "" 200
assert_eq "revoked listed" "true true" "$(jq -r --arg id "$KEY_ID" '.[] | select(.id == $id) | "\(.revoked) \(.used)"' <<<"$RESP")"
register "$KEY" late
assert_eq "revoked key" 401 "$STATUS"
expect DELETE /api/v1/reg-keys/0123456789abcdef "$ADMIN" "" 404 not_found

say "secrets never logged"
# A token is nxK_ID_SECRET: the id is logged on purpose, the secret (43
# characters of URL-safe base64, which may hold "_" itself) never.
for t in "$ADMIN" "$ORG_TOKEN" "$KEY" "$D1_TOKEN" "$D2_TOKEN"; do
	s=${t#*_*_}
	[ "${#s}" -ge 40 ] || fail "unexpected token format: ${t%%_*}_..."
	grep -qF "$s" "$API_LOG" && fail "a secret is in the log"
done
api_stop
assert_eq "exit status after SIGTERM" 0 "$API_RC"
