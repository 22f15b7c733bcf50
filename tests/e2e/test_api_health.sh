#!/usr/bin/env bash
# /healthz tells the truth about the store: on a full disk it answers 503
# (with the database's words) while writes fail, and ok again once space
# is back; reads keep working throughout.
source "$(dirname "$0")/lib_api.sh"

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
