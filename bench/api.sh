#!/usr/bin/env bash
# nexapi benchmark (not a timed test): registrations per second over
# keep-alive connections, the latency of listing an organization of 10,000
# devices, and the time for one change to reach 1,000 and 5,000 concurrent
# long-poll watchers. Prints the figures.
#
#   BUILD              build directory (default build)
#   API_BENCH_DEVICES  devices to register (default 10000)
#   API_BENCH_CONC     concurrent registration connections (default 8)
source "$(dirname "$0")/../tests/e2e/lib_api.sh"

DEVICES=${API_BENCH_DEVICES:-10000}
CONC=${API_BENCH_CONC:-8}
APILOAD=$BUILDDIR/tools/apiload
WATCHERS=$BUILDDIR/tools/watchers
for b in "$NEXAPI" "$APILOAD" "$WATCHERS"; do
	[ -x "$b" ] || { echo "bench/api.sh: $b is missing (make BUILD=$BUILD)" >&2; exit 1; }
done
ulimit -n 65536 2>/dev/null || true

# the limits that protect a real server would throttle the benchmark itself
api_start bench --rate-limit 100000 --address-rate-limit 1000000 --max-requests-per-token 100000 \
	--max-watches-per-token 100000 --max-connections-per-address 100000
port=${API_URL##*:}
echo "nexapi benchmark ($(nproc) cores; SQLite WAL, synchronous=FULL)"

expect POST /api/v1/organizations "$ADMIN" '{"name":"bench","prefix":"100.100.0.0/16"}' 201
regkey "$ADMIN" '{"organization":"bench","single_use":false}'
"$APILOAD" register "$API_URL" "$KEY" "$DEVICES" "$CONC"

req GET "/api/v1/devices?organization=bench" "$ADMIN"
n=$(j '.devices | length')
[ "$n" -eq "$DEVICES" ] || fail "listed $n devices, expected $DEVICES"
"$APILOAD" get "$API_URL" "$ADMIN" "/api/v1/devices?organization=bench" 9

# Watchers of the default organization (the admin token's default scope).
regkey "$ADMIN" '{"single_use":false}'
register "$KEY" watched
DEV=$DEV_ID
value=true
for w in 1000 5000; do
	req GET /api/v1/devices "$ADMIN"
	rev=$(j .revision)
	"$WATCHERS" "127.0.0.1:$port" "$ADMIN" "$rev" "$w" "$DEV" "{\"exit_node_client\":$value}"
	[ $value = true ] && value=false || value=true
done
api_stop
assert_eq "server exit status" 0 "$API_RC"
