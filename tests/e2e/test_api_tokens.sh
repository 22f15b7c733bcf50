#!/usr/bin/env bash
# Tokens with a lifecycle: organization tokens that expire, are listed
# (without secrets) and revoked; whoami; device tokens that expire and are
# renewed; the admin token rotated while the server runs.
source "$(dirname "$0")/lib_api.sh"

api_start tok --device-token-ttl 10
expect POST /api/v1/organizations "$ADMIN" '{"name":"acme","prefix":"100.100.8.0/24"}' 201
expect POST /api/v1/organizations "$ADMIN" '{"name":"other","prefix":"100.100.9.0/24"}' 201

say "organization tokens: created with or without an expiry, listed without secrets"
expect POST /api/v1/tokens "$ADMIN" '{"organization":"acme"}' 201
T1=$(j .token); T1_ID=$(j .id)
assert_eq "no expiry by default" null "$(j .expires_at)"
expect POST /api/v1/tokens "$ADMIN" '{"organization":"acme","expires_in":2}' 201
T2=$(j .token); T2_ID=$(j .id)
[ "$(j .expires_at)" != null ] || fail "no expires_at: $RESP"
expect POST /api/v1/tokens "$ADMIN" '{"organization":"other"}' 201
T3=$(j .token); T3_ID=$(j .id)
expect POST /api/v1/tokens "$ADMIN" '{"organization":"acme","expires_in":0}' 400 bad_request
expect GET /api/v1/tokens "$ADMIN" "" 200
assert_eq "admin lists every organization token" 3 "$(j length)"
assert_eq "no secret in the list" null "$(j '[.[].token] | unique | .[0]')"
expect GET /api/v1/tokens "$T1" "" 200
assert_eq "an organization token lists its own" "$(printf '%s\n%s' "$T1_ID" "$T2_ID" | sort | tr '\n' ' ')" \
	"$(j '[.[].id] | sort | join(" ")') "
expect GET "/api/v1/tokens?organization=other" "$T1" "" 404 not_found

say "whoami"
expect GET /api/v1/whoami "$T2" "" 200
assert_eq "organization token" "organization acme $T2_ID" "$(j '"\(.kind) \(.organization) \(.token_id)"')"
expect GET /api/v1/whoami "$ADMIN" "" 200
assert_eq "admin token" "admin null" "$(j '"\(.kind) \(.expires_at)"')"
expect GET /api/v1/whoami - "" 401 unauthorized

say "an expired token is refused"
sleep 2.2
expect GET /api/v1/whoami "$T2" "" 401 unauthorized
assert_eq "message" "token expired" "$(j .message)"

say "revocation: of its own organization's tokens, never another's"
expect DELETE "/api/v1/tokens/$T3_ID" "$T1" "" 404 not_found
expect DELETE "/api/v1/tokens/$T1_ID" "$T1" "" 204
expect GET /api/v1/whoami "$T1" "" 401 unauthorized
expect DELETE "/api/v1/tokens/$T3_ID" "$ADMIN" "" 204
expect DELETE "/api/v1/tokens/$T3_ID" "$ADMIN" "" 404 not_found
grep -q "organization token $T3_ID of other revoked by admin token" "$API_LOG" || fail "no log line naming who"
grep -q "organization token $T1_ID created for acme by admin token" "$API_LOG" || fail "no creation line naming who"
grep -q "organization acme created by admin token" "$API_LOG" || fail "no organization line naming who"

say "device tokens expire (--device-token-ttl 10 here) and are renewed"
regkey "$ADMIN" '{"organization":"acme","single_use":false}'
register "$KEY" d1; D1=$DEV_ID; D1T=$DEV_TOKEN
exp=$(date -d "$(j .device_token_expires_at)" +%s)
[ $((exp - $(date +%s))) -ge 8 ] && [ $((exp - $(date +%s))) -le 10 ] || fail "device token expiry: $(j .device_token_expires_at)"
register "$KEY" d2; D2=$DEV_ID
expect POST "/api/v1/devices/$D2/token" "$D1T" "{}" 403 forbidden
sleep 4
expect POST "/api/v1/devices/$D1/token" "$D1T" "{}" 201
NEWT=$(j .device_token)
expect GET /api/v1/whoami "$NEWT" "" 200
assert_eq "the renewed token" "device $D1" "$(j '"\(.kind) \(.device_id)"')"
expect GET "/api/v1/devices/$D1" "$D1T" "" 200
printf '    ok: %s\n' "the old token works until it expires" >&2
sleep 6.5
expect GET "/api/v1/devices/$D1" "$D1T" "" 401 unauthorized
assert_eq "old token" "token expired" "$(j .message)"
expect GET "/api/v1/devices/$D1" "$NEWT" "" 200

say "the admin token rotated while the server runs"
OLD_ADMIN=$ADMIN
rc=0
api_db tok
"$NEXAPI" "${API_DB_ARGS[@]}" --rotate-admin-token >"$API_TMP/rotate.log" 2>&1 || rc=$?
assert_eq "rotate exit status" 0 "$rc"
grep -q "admin token rotated" "$API_TMP/rotate.log" || fail "no message: $(cat "$API_TMP/rotate.log")"
NEW_ADMIN=$(cat "$API_TMP/tok.db.admin-token")
assert_eq "mode" 600 "$(stat -c %a "$API_TMP/tok.db.admin-token")"
assert_ne "a new token" "$OLD_ADMIN" "$NEW_ADMIN"
expect GET /api/v1/organizations "$OLD_ADMIN" "" 401 unauthorized
expect GET /api/v1/organizations "$NEW_ADMIN" "" 200
if grep -q "$NEW_ADMIN" "$API_TMP/rotate.log" "$API_LOG"; then fail "the token in a log"; fi
rc=0
api_db none
"$NEXAPI" "${API_DB_ARGS[@]}" --rotate-admin-token >"$API_TMP/rotate2.log" 2>&1 || rc=$?
assert_eq "no database: refused" 1 "$rc"
if [ "$API_STORE" = sqlite ]; then NODB="no database"; else NODB="was never started"; fi
assert_contains "why" "$NODB" "$(cat "$API_TMP/rotate2.log")"

say "stderr as the journal (JOURNAL_STREAM): lines carry the syslog priority, no timestamp"
: >"$API_TMP/journal.log"
rc=0
JOURNAL_STREAM=$(stat -c '%d:%i' "$API_TMP/journal.log") "$NEXAPI" "${API_DB_ARGS[@]}" --rotate-admin-token \
	2>>"$API_TMP/journal.log" || rc=$?
assert_eq "refused" 1 "$rc"
assert_contains "an error at priority 3" "<3>error: " "$(cat "$API_TMP/journal.log")"
assert_contains "a plain stderr has timestamps" "nexapi error: " "$(cat "$API_TMP/rotate2.log")"
assert_eq "one version string" "nexapi $("$BUILDDIR/nexd" --version | awk '{ print $2 }')" "$("$NEXAPI" --version)"
api_stop TERM
assert_eq "exit" 0 "$API_RC"
