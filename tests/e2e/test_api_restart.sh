#!/usr/bin/env bash
# State survives kill -9 (organizations, tokens, keys, devices, addresses,
# revisions), a restart does not create a second admin token, and SIGTERM
# stops the server cleanly with exit 0.
source "$(dirname "$0")/lib_api.sh"

api_start rs
FIRST_ADMIN=$ADMIN
expect POST /api/v1/organizations "$ADMIN" '{"name":"keep","prefix":"100.100.32.0/24"}' 201
expect POST /api/v1/tokens "$ADMIN" '{"organization":"keep"}' 201
ORG_TOKEN=$(j .token)
regkey "$ORG_TOKEN" '{"single_use":false}'
REUSE=$KEY
regkey "$ORG_TOKEN" '{"single_use":true}'
SINGLE=$KEY; SINGLE_ID=$KEY_ID
register "$SINGLE" d1; D1=$DEV_ID; D1T=$DEV_TOKEN
register "$REUSE" d2; D2=$DEV_ID
expect PATCH "/api/v1/devices/$D1" "$D1T" '{"exit_node_status":"persisted"}' 200
expect GET /api/v1/devices "$ORG_TOKEN" "" 200
BEFORE=$(j '[.devices[] | "\(.id) \(.tunnel_ip) \(.hostname) \(.exit_node_status)"] | join(",")')
REV=$(j .revision)

say "kill -9 right after the last answer"
api_stop KILL
assert_eq "killed" 137 "$API_RC"
api_start rs
assert_eq "admin token file unchanged" "$FIRST_ADMIN" "$ADMIN"
assert_eq "one first-start line" 1 "$(grep -c 'first start' "$API_LOG")"

say "everything is still there"
expect GET /api/v1/devices "$ORG_TOKEN" "" 200
assert_eq "devices" "$BEFORE" "$(j '[.devices[] | "\(.id) \(.tunnel_ip) \(.hostname) \(.exit_node_status)"] | join(",")')"
assert_eq "revision" "$REV" "$(j .revision)"
expect GET /api/v1/organizations "$ADMIN" "" 200
assert_eq "orgs" "default keep" "$(j '[.[].name] | join(" ")')"
expect GET "/api/v1/devices/$D1" "$D1T" "" 200
register "$SINGLE" d3
assert_eq "single-use key still used" "401 registration key already used" "$STATUS $(j .message)"
register "$REUSE" d3
assert_eq "next address after restart" "201 100.100.32.3" "$STATUS $DEV_IP"
expect GET "/api/v1/devices/watch?revision=$REV&timeout=0" "$ORG_TOKEN" "" 200
assert_eq "history kept" "upsert:d3" "$(j '[.events[] | "\(.type):\(.device.hostname)"] | join(" ")')"

say "kill -9 during a burst of writes, then restart"
for i in $(seq 1 20); do register "$REUSE" "b$i" >/dev/null; done &
BURST=$!
sleep 0.3
api_stop KILL
wait $BURST || true
api_start rs
expect GET /api/v1/devices "$ORG_TOKEN" "" 200
n=$(j '.devices | length')
assert_eq "distinct addresses after crash" "$n" "$(j '[.devices[].tunnel_ip] | unique | length')"
echo "    ok: $n devices after the crash" >&2

say "SIGTERM: clean exit 0"
api_stop TERM
assert_eq "exit status" 0 "$API_RC"
grep -q 'stopped' "$API_LOG" || fail "no 'stopped' line"
api_start rs
expect GET /api/v1/devices "$ORG_TOKEN" "" 200
assert_eq "state after SIGTERM restart" "$n" "$(j '.devices | length')"
api_stop INT
assert_eq "SIGINT exit status" 0 "$API_RC"

say "a first start that commits its admin token but cannot write the file: the next start finishes it"
rc=0
api_db half
"$NEXAPI" --listen 127.0.0.1:0 "${API_DB_ARGS[@]}" --admin-token-file "$API_TMP/no-such-dir/admin.token" \
	>"$API_TMP/half-first.log" 2>&1 || rc=$?
assert_eq "the first start fails" 1 "$rc"
grep -q "cannot write the admin token file .*no-such-dir/admin.token" "$API_TMP/half-first.log" ||
	fail "no clear message: $(cat "$API_TMP/half-first.log")"
grep -q "first start: organization default" "$API_TMP/half-first.log" || fail "the first start committed nothing"
[ ! -e "$API_TMP/half.db.admin-token" ] || fail "a token file appeared"
api_start half
grep -q "did not finish writing its admin token file; revoking admin token" "$API_LOG" ||
	fail "the second start did not repair: $(tail -n 5 "$API_LOG")"
[ -n "${ADMIN:-}" ] && [ "$(stat -c %a "$API_TMP/half.db.admin-token")" = 600 ] || fail "no admin token file (0600)"
expect GET /api/v1/organizations "$ADMIN" "" 200
assert_eq "the new admin token works" default "$(j '.[0].name')"
REPAIRED=$ADMIN
api_stop TERM
api_start half
assert_eq "a third start changes nothing" "$REPAIRED" "$ADMIN"
assert_eq "one repair" 1 "$(grep -c 'did not finish writing' "$API_LOG")"
api_stop TERM

say "a first start never overwrites an existing token file"
echo keep >"$API_TMP/exists.token"
rc=0
api_db exists
"$NEXAPI" --listen 127.0.0.1:0 "${API_DB_ARGS[@]}" --admin-token-file "$API_TMP/exists.token" \
	>"$API_TMP/exists.log" 2>&1 || rc=$?
assert_eq "refused" 1 "$rc"
grep -q "exists already" "$API_TMP/exists.log" || fail "no clear message: $(cat "$API_TMP/exists.log")"
assert_eq "the file is untouched" keep "$(cat "$API_TMP/exists.token")"
