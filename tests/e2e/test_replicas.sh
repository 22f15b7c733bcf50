#!/usr/bin/env bash
# nexapi replicas on one PostgreSQL database (issue #16), at the API: two
# replicas started at once on an empty database mint one admin token; a
# device registered through one is seen by a watcher of the other; 50
# registrations split across both get 50 distinct addresses; a single-use
# key raced on both is consumed exactly once; a replica whose database
# connections are cut reconnects and its watchers miss nothing; kill -9 of
# one replica leaves the other serving.
NEXAPI_STORE=pg
source "$(dirname "$0")/lib_api.sh"

# launch NAME: starts a replica of the database "mesh" (admin token file
# $API_TMP/NAME.token) without waiting; sets PID_<NAME>.
launch() {
	"$NEXAPI" --listen 127.0.0.1:0 --db "$API_DB" --admin-token-file "$API_TMP/$1.token" \
		>"$API_TMP/$1.log" 2>&1 &
	API_PIDS+=("$!")
	printf -v "PID_$1" %s "$!"
}

# ready NAME: waits for replica NAME to listen; sets URL_<NAME>.
ready() {
	local log=$API_TMP/$1.log pid=PID_$1 i port
	for i in $(seq 1 200); do
		grep -q 'listening on' "$log" && break
		kill -0 "${!pid}" 2>/dev/null || fail "replica $1 exited: $(tail -n 5 "$log")"
		sleep 0.05
	done
	port=$(grep 'listening on' "$log" | tail -n 1 | sed -E 's/.*:([0-9]+) .*/\1/')
	[ -n "$port" ] || fail "replica $1 did not start"
	printf -v "URL_$1" %s "http://127.0.0.1:$port"
}

# on NAME: the following req/expect/register go to replica NAME.
on() {
	local v=URL_$1
	API_URL=${!v}
	API_LOG=$API_TMP/$1.log
}

# watch_b REVISION: a watcher on replica b from REVISION, in the background
# (WATCHER); watched: waits for its answer, in RESP, and MS, the time since
# T0.
watch_b() {
	curl -s -o "$API_TMP/watch.json" -H "Authorization: Bearer $ADMIN" \
		"$URL_b/api/v1/devices/watch?revision=$1&timeout=20" &
	WATCHER=$!
	sleep 0.5
}
watched() {
	wait $WATCHER
	MS=$((($(date +%s%N) - T0) / 1000000))
	RESP=$(cat "$API_TMP/watch.json")
}

say "two replicas start at once on an empty database: one admin token"
api_db mesh
launch a
launch b
ready a
ready b
TOKENS=$(ls "$API_TMP"/*.token 2>/dev/null | wc -l)
assert_eq "admin token files" 1 "$TOKENS"
assert_eq "first-start lines" 1 "$(cat "$API_TMP/a.log" "$API_TMP/b.log" | grep -c 'first start: organization')"
ADMIN=$(cat "$API_TMP"/*.token)
on a
expect GET /api/v1/organizations "$ADMIN" "" 200
on b
expect GET /api/v1/organizations "$ADMIN" "" 200
assert_eq "one organization" default "$(j '[.[].name] | join(" ")')"
assert_eq "one admin token in the database" 1 "$(db_sql mesh "SELECT COUNT(*) FROM tokens WHERE kind = 'a'")"

say "a device registered through a, watched through b"
on a
regkey "$ADMIN" '{"single_use":false}'
REUSE=$KEY
on b
expect GET /api/v1/devices "$ADMIN" "" 200
REV=$(j .revision)
watch_b "$REV"
on a
T0=$(date +%s%N)
register "$REUSE" through-a
assert_eq "registered on a" 201 "$STATUS"
watched
assert_eq "b's watcher saw it" "upsert:through-a" "$(j '[.events[] | "\(.type):\(.device.hostname)"] | join(" ")')"
[ "$MS" -lt 3000 ] || fail "the watcher woke after $MS ms"
echo "    ok: b's watcher answered $MS ms after the registration on a (wakeup, not timeout)" >&2

say "50 registrations split across both replicas at once: 50 distinct addresses"
RACERS=()
for r in a b; do
	(
		on $r
		RESP_FILE=$API_TMP/resp.$r
		for i in $(seq 1 25); do
			register "$REUSE" "race-$r-$i"
			[ "$STATUS" = 201 ] || { echo "race-$r-$i: $STATUS $RESP" >&2; exit 1; }
		done
	) &
	RACERS+=("$!")
done
ok=0
for p in "${RACERS[@]}"; do wait "$p" || ok=1; done
[ $ok -eq 0 ] || fail "a registration failed"
on b
expect GET /api/v1/devices "$ADMIN" "" 200
assert_eq "devices" 51 "$(j '.devices | length')"
assert_eq "distinct addresses" 51 "$(j '[.devices[].tunnel_ip] | unique | length')"
on a
expect GET /api/v1/devices "$ADMIN" "" 200
assert_eq "a lists the same" 51 "$(j '.devices | length')"

say "a single-use key raced on both replicas: consumed exactly once"
on a
regkey "$ADMIN" '{"single_use":true}'
ONE=$KEY
ONCE=()
for r in a b a b a b; do
	(
		on $r
		RESP_FILE=$API_TMP/resp.$BASHPID
		register "$ONE" "once-$r-$RANDOM"
		echo "$STATUS" >>"$API_TMP/once.status"
	) &
	ONCE+=("$!")
done
for p in "${ONCE[@]}"; do wait "$p"; done
assert_eq "one 201" 1 "$(grep -c '^201$' "$API_TMP/once.status")"
assert_eq "five refused" 5 "$(grep -c '^401$' "$API_TMP/once.status")"

say "the database connections of b are cut: b reconnects, its watchers miss nothing"
on b
expect GET /api/v1/devices "$ADMIN" "" 200
REV=$(j .revision)
psql_q postgres "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'nx_mesh' AND pid IN (SELECT pid FROM pg_stat_activity WHERE application_name = 'nexapi')" >/dev/null
# every nexapi connection (a's too) is cut; the next requests reconnect
for i in $(seq 1 50); do
	grep -q 'change notifications restored' "$API_TMP/b.log" && break
	sleep 0.1
done
grep -q 'change notifications lost' "$API_TMP/b.log" || fail "b did not notice the lost notifications"
grep -q 'change notifications restored' "$API_TMP/b.log" || fail "b did not restore its notifications"
watch_b "$REV"
on a
T0=$(date +%s%N)
for i in 1 2 3; do
	register "$REUSE" after-cut
	[ "$STATUS" = 201 ] && break
	sleep 0.2   # a's first request after the cut may meet the dead connection
done
assert_eq "registered on a after the cut" 201 "$STATUS"
watched
assert_eq "b's watcher saw it" "upsert:after-cut" "$(j '[.events[] | "\(.type):\(.device.hostname)"] | join(" ")')"
[ "$MS" -lt 3000 ] || fail "the watcher woke late"

say "kill -9 of replica a: b keeps serving"
kill -9 "$PID_a"
wait "$PID_a" 2>/dev/null || true
on b
register "$REUSE" after-a
assert_eq "registration on b" 201 "$STATUS"
expect GET /api/v1/devices "$ADMIN" "" 200
assert_eq "every device" 54 "$(j '.devices | length')"
assert_eq "distinct addresses" 54 "$(j '[.devices[].tunnel_ip] | unique | length')"
kill "$PID_b"
rc=0
wait "$PID_b" 2>/dev/null || rc=$?
grep -q stopped "$API_TMP/b.log" || fail "b did not stop cleanly"
