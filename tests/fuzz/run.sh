#!/usr/bin/env bash
# Runs every fuzz target in DIR for FUZZ_SECONDS each (make fuzz), keeping a
# corpus per target under build/fuzz/corpus and the seeds of tests/fuzz/corpus.
set -eu
cd "$(dirname "$0")/../.."
dir=${1:-build/fuzz/fuzz}
secs=${FUZZ_SECONDS:-60}
status=0
for f in "$dir"/fuzz_*; do
	[ -x "$f" ] || continue
	n=$(basename "$f")
	corpus=build/fuzz/corpus/$n
	mkdir -p "$corpus"
	seeds=tests/fuzz/corpus/${n#fuzz_}
	[ -d "$seeds" ] || seeds=
	echo "== $n for ${secs}s"
	if ! "$f" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
		-artifact_prefix="build/fuzz/$n-" "$corpus" $seeds; then
		echo "FAIL $n"
		status=1
	fi
done
exit $status
