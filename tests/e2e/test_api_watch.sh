#!/usr/bin/env bash
# Watch: a watcher blocked in a long poll wakes within about a second of a
# change; deletions are events; revisions order the events and a watcher
# from revision R gets exactly the changes after R; a timeout answers an
# empty list; history outside the server's range is 410.
source "$(dirname "$0")/lib_api.sh"

api_start watch --max-watches-per-token 20
expect POST /api/v1/organizations "$ADMIN" '{"name":"other"}' 201
regkey "$ADMIN" '{"single_use":false}'
register "$KEY" w1; W1=$DEV_ID; W1T=$DEV_TOKEN

say "timeout: empty events with the current revision"
expect GET /api/v1/devices "$W1T" "" 200
REV=$(j .revision)
start=$(date +%s%N)
expect GET "/api/v1/devices/watch?revision=$REV&timeout=1" "$W1T" "" 200
ms=$(( ($(date +%s%N) - start) / 1000000 ))
assert_eq "no events" 0 "$(j '.events | length')"
assert_eq "revision" "$REV" "$(j .revision)"
[ "$ms" -ge 900 ] && [ "$ms" -lt 3000 ] || fail "timeout took ${ms}ms"
echo "    ok: timeout after ${ms}ms" >&2
expect GET "/api/v1/devices/watch?revision=$REV&timeout=0" "$W1T" "" 200
assert_eq "timeout 0" 0 "$(j '.events | length')"

say "bad parameters"
expect GET "/api/v1/devices/watch" "$W1T" "" 400 bad_request
expect GET "/api/v1/devices/watch?revision=-1" "$W1T" "" 400 bad_request
expect GET "/api/v1/devices/watch?revision=abc" "$W1T" "" 400 bad_request
expect GET "/api/v1/devices/watch?revision=0&timeout=61" "$W1T" "" 400 bad_request
expect GET "/api/v1/devices/watch?revision=$((REV + 100))&timeout=0" "$W1T" "" 410 gone

say "a blocked watcher wakes within a second of a change"
curl -s -o "$API_TMP/w1.json" -H "Authorization: Bearer $W1T" \
	"$API_URL/api/v1/devices/watch?revision=$REV&timeout=30" &
WPID=$!
# An unrelated organization's change must not answer it.
curl -s -o "$API_TMP/w2.json" -H "Authorization: Bearer $ADMIN" \
	"$API_URL/api/v1/devices/watch?revision=$REV&timeout=30&organization=other" &
W2PID=$!
sleep 1
kill -0 $WPID || fail "watcher returned early: $(cat "$API_TMP/w1.json")"
start=$(date +%s%N)
expect PATCH "/api/v1/devices/$W1" "$W1T" '{"exit_node_status":"off-1"}' 200
wait $WPID
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 1000 ] || fail "wake-up took ${ms}ms"
echo "    ok: woke ${ms}ms after the change" >&2
RESP=$(cat "$API_TMP/w1.json")
assert_eq "one event" 1 "$(j '.events | length')"
assert_eq "event" "upsert off-1 $((REV + 1))" "$(j '.events[0] | "\(.type) \(.device.exit_node_status) \(.revision)"')"
assert_eq "answer revision" $((REV + 1)) "$(j .revision)"
kill -0 $W2PID || fail "the other organization's watcher woke up"

say "events after R, in order, including deletions"
register "$KEY" w2; W2=$DEV_ID
expect DELETE "/api/v1/devices/$W2" "$ADMIN" "" 204
expect GET "/api/v1/devices/watch?revision=$REV&timeout=0" "$W1T" "" 200
assert_eq "three events" "upsert:w1 upsert:w2 delete:w2" "$(j '[.events[] | "\(.type):\(.device.hostname)"] | join(" ")')"
assert_eq "revisions" "$((REV + 1)) $((REV + 2)) $((REV + 3))" "$(j '[.events[].revision] | join(" ")')"
assert_eq "deleted device id" "$W2" "$(j '.events[2].device.id')"
assert_eq "latest revision" $((REV + 3)) "$(j .revision)"
expect GET "/api/v1/devices/watch?revision=$((REV + 2))&timeout=0" "$W1T" "" 200
assert_eq "only after R" "delete:w2" "$(j '[.events[] | "\(.type):\(.device.hostname)"] | join(" ")')"

say "a deletion wakes a blocked watcher"
register "$KEY" w3; W3=$DEV_ID
expect GET /api/v1/devices "$ADMIN" "" 200
REV=$(j .revision)
curl -s -o "$API_TMP/w3.json" -H "Authorization: Bearer $W1T" \
	"$API_URL/api/v1/devices/watch?revision=$REV" &
WPID=$!
sleep 0.5
start=$(date +%s%N)
expect DELETE "/api/v1/devices/$W3" "$ADMIN" "" 204
wait $WPID
ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$ms" -lt 1000 ] || fail "wake-up took ${ms}ms"
RESP=$(cat "$API_TMP/w3.json")
assert_eq "delete event" "delete $W3" "$(j '.events[0] | "\(.type) \(.device.id)"')"

say "many watchers wake together"
declare -a WP=()
for i in $(seq 1 20); do
	curl -s -o "$API_TMP/m$i.json" -H "Authorization: Bearer $W1T" \
		"$API_URL/api/v1/devices/watch?revision=$((REV + 1))&timeout=30" &
	WP+=($!)
done
sleep 1
# a 21st watch of the same token is over --max-watches-per-token
hdr=$(curl -s -D - -o "$API_TMP/m21.json" -H "Authorization: Bearer $W1T" \
	"$API_URL/api/v1/devices/watch?revision=$((REV + 1))&timeout=30" | tr -d '\r')
assert_contains "the 21st watch" "HTTP/1.1 429" "$hdr"
assert_contains "Retry-After" "Retry-After: " "$hdr"
assert_contains "message" "too many watches at once from token" "$(cat "$API_TMP/m21.json")"
rm -f "$API_TMP/m21.json"
expect PATCH "/api/v1/devices/$W1" "$ADMIN" '{"exit_node_client":true}' 200
for p in "${WP[@]}"; do wait "$p"; done
assert_eq "all 20 got the event" 20 "$(cat "$API_TMP"/m*.json | jq -r '.events[0].device.exit_node_client' | grep -c true)"

say "the watcher of the other organization times out cleanly at shutdown"
api_stop
assert_eq "SIGTERM with a waiting watcher" 0 "$API_RC"
wait $W2PID || true
RESP=$(cat "$API_TMP/w2.json")
assert_eq "answered at shutdown" 0 "$(j '.events | length')"

say "history: a revision older than the kept events is 410 (server with --history 10)"
api_start hist --history 10
regkey "$ADMIN" '{"single_use":false}'
register "$KEY" h1; H1T=$DEV_TOKEN; H1=$DEV_ID
for i in $(seq 1 24); do
	req PATCH "/api/v1/devices/$H1" "$H1T" "{\"exit_node_status\":\"s$i\"}"
	[ "$STATUS" == 200 ] || fail "patch $i: $STATUS"
done
expect GET /api/v1/devices "$H1T" "" 200
REV=$(j .revision)
assert_eq "25 changes" 25 "$REV"
expect GET "/api/v1/devices/watch?revision=0&timeout=0" "$H1T" "" 410 gone
expect GET "/api/v1/devices/watch?revision=$((REV - 11))&timeout=0" "$H1T" "" 410 gone
expect GET "/api/v1/devices/watch?revision=$((REV - 10))&timeout=0" "$H1T" "" 200
assert_eq "the 10 kept events" 10 "$(j '.events | length')"
assert_eq "last status" s24 "$(j '.events[-1].device.exit_node_status')"

say "history per organization: a noisy organization does not push a quiet one's watcher out"
expect POST /api/v1/organizations "$ADMIN" '{"name":"quiet","prefix":"100.100.64.0/24"}' 201
regkey "$ADMIN" '{"organization":"quiet"}'
register "$KEY" q1; Q1T=$DEV_TOKEN
expect GET /api/v1/devices "$Q1T" "" 200
QREV=$(j .revision)
for i in $(seq 1 30); do
	req PATCH "/api/v1/devices/$H1" "$H1T" '{"exit_node_status":"s24"}'
	[ "$STATUS" == 200 ] || fail "noisy patch $i: $STATUS"
done
expect GET "/api/v1/devices/watch?revision=$QREV&timeout=0" "$Q1T" "" 200
assert_eq "the quiet watcher: nothing new, no relist" 0 "$(j '.events | length')"
expect GET "/api/v1/devices/watch?revision=$((QREV - 1))&timeout=0" "$Q1T" "" 200
assert_eq "the quiet organization's own event is still there" q1 "$(j '[.events[].device.hostname] | join(" ")')"
expect GET "/api/v1/devices/watch?revision=$REV&timeout=0" "$H1T" "" 410 gone
api_stop
assert_eq "exit" 0 "$API_RC"
