#!/usr/bin/env bash
# nexapi benchmark (not a timed test), both stores in one run, side by side:
# SQLite (WAL, synchronous=FULL) and PostgreSQL (this machine's Debian
# server, a cluster of the benchmark's own, fsync on, synchronous_commit
# on). For each: registrations per second over keep-alive connections, the
# latency of listing an organization of 10,000 devices, and the time for
# one change to reach 5,000 concurrent long-poll watchers (PostgreSQL: spread
# over two replicas, the change made through the first). Prints the figures
# and a table.
#
#   BUILD              build directory (default build)
#   API_BENCH_DEVICES  devices to register (default 10000)
#   API_BENCH_CONC     concurrent registration connections (default 8)
#   API_BENCH_WATCHERS watchers (default 5000)
source "$(dirname "$0")/../tests/e2e/lib_api.sh"

DEVICES=${API_BENCH_DEVICES:-10000}
CONC=${API_BENCH_CONC:-8}
NWATCH=${API_BENCH_WATCHERS:-5000}
APILOAD=$BUILDDIR/tools/apiload
WATCHERS=$BUILDDIR/tools/watchers
for b in "$NEXAPI" "$APILOAD" "$WATCHERS"; do
	[ -x "$b" ] || { echo "bench/api.sh: $b is missing (make BUILD=$BUILD)" >&2; exit 1; }
done
ulimit -n 65536 2>/dev/null || true
export PG_FSYNC=on
# the limits that protect a real server would throttle the benchmark itself
OPEN=(--rate-limit 100000 --address-rate-limit 1000000 --max-requests-per-token 100000
	--max-watches-per-token 100000 --max-connections-per-address 100000)
declare -A REG LIST WATCH

# bench STORE: one backend's figures into REG, LIST, WATCH.
bench() {
	local store=$1 out port first_pid servers
	API_STORE=$store
	echo "== $store"
	api_start "bench_$store" "${OPEN[@]}"
	first_pid=$API_PID
	port=${API_URL##*:}
	servers=127.0.0.1:$port
	expect POST /api/v1/organizations "$ADMIN" '{"name":"bench","prefix":"100.100.0.0/16"}' 201
	regkey "$ADMIN" '{"organization":"bench","single_use":false}'
	out=$("$APILOAD" register "$API_URL" "$KEY" "$DEVICES" "$CONC") || fail "registrations failed"
	echo "$out"
	REG[$store]=$(sed -nE 's/.*: ([0-9]+) per second.*/\1/p' <<<"$out")
	req GET "/api/v1/devices?organization=bench" "$ADMIN"
	[ "$(j '.devices | length')" -eq "$DEVICES" ] || fail "listed $(j '.devices | length') devices, expected $DEVICES"
	out=$("$APILOAD" get "$API_URL" "$ADMIN" "/api/v1/devices?organization=bench" 9) || fail "list failed"
	echo "$out"
	LIST[$store]=$(sed -nE 's/.*median ([0-9.]+) ms.*/\1/p' <<<"$out")

	# watchers of the default organization (the admin token's default scope)
	regkey "$ADMIN" '{"single_use":false}'
	register "$KEY" watched
	if [ "$store" = pg ]; then
		api_start "bench_$store" "${OPEN[@]}"   # a second replica of the same database
		servers+=",127.0.0.1:${API_URL##*:}"
	fi
	req GET /api/v1/devices "$ADMIN"
	out=$("$WATCHERS" "$servers" "$ADMIN" "$(j .revision)" "$NWATCH" "$DEV_ID" '{"exit_node_client":true}') ||
		fail "watchers failed"
	echo "$out"
	WATCH[$store]=$(sed -nE 's/.*last ([0-9.]+) ms.*/\1/p' <<<"$out")
	api_stop
	assert_eq "server exit status" 0 "$API_RC"
	if [ "$store" = pg ]; then
		API_PID=$first_pid
		api_stop
		assert_eq "first replica exit status" 0 "$API_RC"
	fi
}

echo "nexapi benchmark ($(nproc) cores; $DEVICES devices, $CONC connections, $NWATCH watchers)"
bench sqlite
bench pg
printf '\n%-44s %12s %12s %8s\n' "" SQLite PostgreSQL "pg/sqlite"
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "-" }'; }
printf '%-44s %12s %12s %8s\n' "registrations per second" "${REG[sqlite]}" "${REG[pg]}" "$(ratio "${REG[sqlite]}" "${REG[pg]}")"
printf '%-44s %12s %12s %8s\n' "list of $DEVICES devices, median ms" "${LIST[sqlite]}" "${LIST[pg]}" "$(ratio "${LIST[sqlite]}" "${LIST[pg]}")"
printf '%-44s %12s %12s %8s\n' "one change to $NWATCH watchers, last ms" "${WATCH[sqlite]}" "${WATCH[pg]}" "$(ratio "${WATCH[sqlite]}" "${WATCH[pg]}")"
echo "(SQLite: one server; PostgreSQL: the watchers spread over two replicas)"
