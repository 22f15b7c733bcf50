#!/usr/bin/env bash
# Runs every test: unit tests (cmocka binaries), a short run of each fuzz
# target, then the end-to-end tests in network namespaces. Prints one line
# per test and, last, "N passed, N failed"; exits non-zero on any failure.
#
#   BUILD=build          where the programs and unit tests were built
#   FUZZ_BUILD=...       where the fuzz targets were built (optional)
#   TESTS="pattern ..."  run only the tests whose name matches a pattern
#                        (the API tests on PostgreSQL are named test_api_*@pg)
#   FUZZ_SMOKE_SECONDS   seconds per fuzz target (default 8)
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BUILD:-build}
FUZZ_BUILD=${FUZZ_BUILD:-}
FUZZ_SMOKE_SECONDS=${FUZZ_SMOKE_SECONDS:-8}
LOGDIR=$ROOT/$BUILD/test-logs
mkdir -p "$LOGDIR"
export BUILD ROOT

passed=0
failed=0
failed_names=()

selected() {
	[ -z "${TESTS:-}" ] && return 0
	local p
	for p in $TESTS; do
		case "$1" in *$p*) return 0 ;; esac
	done
	return 1
}

# run NAME TIMEOUT CMD...: one test, its output in $LOGDIR/NAME.log
run() {
	local name=$1 limit=$2
	shift 2
	selected "$name" || return 0
	local log=$LOGDIR/${name//\//_}.log start end rc
	start=$(date +%s)
	timeout --kill-after=10 "$limit" "$@" >"$log" 2>&1
	rc=$?
	end=$(date +%s)
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		printf 'PASS %-40s %4ss\n' "$name" $((end - start))
	else
		failed=$((failed + 1))
		failed_names+=("$name")
		printf 'FAIL %-40s %4ss (exit %d; log %s)\n' "$name" $((end - start)) $rc "$log"
		tail -n 30 "$log" | sed 's/^/    | /'
	fi
}

echo "== unit tests"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] || continue
	run "unit/$(basename "$t")" 300 "$t"
done

if [ -n "$FUZZ_BUILD" ] && [ -d "$FUZZ_BUILD" ]; then
	echo "== fuzz targets (${FUZZ_SMOKE_SECONDS}s each)"
	for f in "$FUZZ_BUILD"/fuzz_*; do
		[ -x "$f" ] || continue
		n=$(basename "$f")
		corpus=$LOGDIR/corpus-$n
		mkdir -p "$corpus"
		seeds=tests/fuzz/corpus/${n#fuzz_}
		[ -d "$seeds" ] || seeds=
		run "fuzz/$n" $((FUZZ_SMOKE_SECONDS + 120)) "$f" -max_total_time="$FUZZ_SMOKE_SECONDS" \
			-rss_limit_mb=2048 -timeout=10 -artifact_prefix="$LOGDIR/$n-" "$corpus" $seeds
	done
fi

echo "== end-to-end tests"
for t in tests/e2e/test_*.sh; do
	[ -f "$t" ] || continue
	run "e2e/$(basename "$t" .sh)" 900 bash "$t"
done

# The API suite again on PostgreSQL (each test starts its own server).
echo "== end-to-end API tests on PostgreSQL"
for t in tests/e2e/test_api_*.sh; do
	[ -f "$t" ] && grep -q 'lib_api.sh' "$t" || continue
	run "e2e/$(basename "$t" .sh)@pg" 900 env NEXAPI_STORE=pg bash "$t"
done

if [ "$failed" -gt 0 ]; then
	echo "failed: ${failed_names[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
