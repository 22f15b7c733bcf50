#!/usr/bin/env bash
# /healthz tells the truth about the store: on a full disk it answers 503
# (with the database's words) while writes fail, and ok again once space
# is back; reads keep working throughout. On PostgreSQL (NEXAPI_STORE=pg):
# the database unreachable at start (wait, then exit 3), and lost mid-run
# (503 with a JSON error, never a wrong answer; recovery without restart).
source "$(dirname "$0")/lib_api.sh"

if [ "$API_STORE" = pg ]; then
	say "the database unreachable at start: a clear error and exit status 3 after --db-wait"
	api_db health
	pg_down
	rc=0
	timeout 30 "$NEXAPI" --listen 127.0.0.1:0 "${API_DB_ARGS[@]}" --db-wait 2 >"$API_TMP/nodb.log" 2>&1 || rc=$?
	assert_eq "exit status" 3 "$rc"
	grep -q "cannot reach the database postgresql:///nx_health.*trying again every second" "$API_TMP/nodb.log" ||
		fail "no clear message: $(cat "$API_TMP/nodb.log")"
	grep -q "gave up after 2 s" "$API_TMP/nodb.log" || fail "no give-up line: $(cat "$API_TMP/nodb.log")"

	say "a server that comes up while nexapi waits"
	(sleep 2 && pg_up) &
	UPPER=$!
	API_START_TIMEOUT=60 api_start health --db-wait 60
	wait $UPPER || fail "PostgreSQL did not start"
	grep -q "cannot reach the database" "$API_LOG" || fail "nexapi did not wait for the database"
	grep -q "database postgresql:///nx_health.* reached" "$API_LOG" || fail "no 'reached' line"
	expect GET /healthz - "" 200
	regkey "$ADMIN" '{"single_use":false}'
	REUSE=$KEY
	register "$REUSE" before
	assert_eq "a registration" 201 "$STATUS"
	D=$DEV_ID; DT=$DEV_TOKEN

	say "the database goes away mid-run: 503 with a JSON error, never a wrong answer"
	pg_down
	sleep 1.1
	expect GET /healthz - "" 503
	assert_eq "status" unavailable "$(j .status)"
	expect GET "/api/v1/devices/$D" "$DT" "" 503 unavailable
	expect GET /api/v1/devices "$ADMIN" "" 503 unavailable
	register "$REUSE" during
	assert_eq "registration" "503 unavailable" "$STATUS $(j .error)"
	expect GET "/api/v1/devices/watch?revision=0&timeout=0" "$ADMIN" "" 503 unavailable
	kill -0 "$API_PID" || fail "nexapi died with its database"

	say "the database is back: answers again without a restart"
	pg_up
	sleep 1.1
	expect GET /healthz - "" 200
	expect GET "/api/v1/devices/$D" "$DT" "" 200
	register "$REUSE" after
	assert_eq "registrations work again" 201 "$STATUS"
	expect GET /api/v1/devices "$ADMIN" "" 200
	assert_eq "devices" "after before" "$(j '[.devices[].hostname] | sort | join(" ")')"
	api_stop TERM
	assert_eq "clean exit" 0 "$API_RC"
	exit 0
fi

say "the database on a small filesystem of its own (tmpfs, 3 MiB)"
mkdir "$API_TMP/small"
mount -t tmpfs -o size=3m,mode=0700 nx-api-health "$API_TMP/small"
API_MOUNTS+=("$API_TMP/small")
API_DB_DIR=$API_TMP/small
api_start health
expect GET /healthz - "" 200
assert_eq "healthy" ok "$(j .status)"
regkey "$ADMIN" '{"single_use":false}'
REUSE=$KEY
register "$REUSE" before
assert_eq "a registration" 201 "$STATUS"

say "the disk fills up"
dd if=/dev/zero of="$API_TMP/small/filler" bs=64k 2>/dev/null || true
# writes fail now; /healthz says so within its 1 s cache
sleep 1.1
expect GET /healthz - "" 503
assert_eq "status" unavailable "$(j .status)"
assert_contains "error" "the store cannot write" "$(j .error)"
grep -q "healthz: the store cannot write" "$API_LOG" || fail "no log line"
for i in 1 2 3 4 5; do register "$REUSE" "full$i"; [ "$STATUS" != 201 ] && break; done
assert_ne "registrations fail on the full disk" 201 "$STATUS"
expect GET /api/v1/devices "$ADMIN" "" 200
assert_eq "reads still work" before "$(j '[.devices[].hostname] | join(" ")')"

say "space is back"
rm -f "$API_TMP/small/filler"
sleep 1.1
expect GET /healthz - "" 200
grep -q "healthz: the store writes again" "$API_LOG" || fail "no recovery log line"
register "$REUSE" after
assert_eq "registrations work again" 201 "$STATUS"
api_stop TERM
assert_eq "clean exit" 0 "$API_RC"
