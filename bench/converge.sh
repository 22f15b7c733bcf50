#!/usr/bin/env bash
# nexd's convergence over a large organization, with nothing to change
# (tests/tools/bench_converge): the path step, the desired state and the
# WireGuard plan of one pass of the loop, and a watch answer that updates
# every device, for organizations of 1,000, 5,000 and 20,000 devices. RUNS
# (default 3) runs; every run is printed, then the median of each figure.
# Issue 15 wants a pass of 20,000 devices well under 100 ms. Not part of
# `make check`.
#
#   BUILD=build/x bench/converge.sh      RUNS=3 SIZES="1000 5000 20000"
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
SIZES=${SIZES:-1000 5000 20000}
printf '== building bench_converge (make BUILD=%s)\n' "$BUILD"
make -C "$ROOT" --no-print-directory BUILD="$BUILD" "$BUILD/tools/bench_converge" >/dev/null || {
	echo "converge.sh: build failed" >&2
	exit 1
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq "$RUNS"); do
	printf '== run %d\n' "$r"
	# shellcheck disable=SC2086
	"$ROOT/$BUILD/tools/bench_converge" $SIZES | tee -a "$out" ||
		{ echo "converge.sh: bench_converge failed" >&2; exit 1; }
done
printf '== medians of %d runs (ms)\n' "$RUNS"
# "N=1000 desired X plan X pass X (xR) watch X (xR)": each figure by N.
awk '
	function med(s,   c, a, x, y, t) {
		c = split(substr(s, 2), a, " ")
		for (x = 1; x <= c; x++) for (y = x + 1; y <= c; y++) if (a[y] + 0 < a[x] + 0) { t = a[x]; a[x] = a[y]; a[y] = t }
		return (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
	}
	/^N=/ {
		n = substr($1, 3)
		if (!(n in seen)) { seen[n] = 1; order[++k] = n }
		for (i = 2; i < NF; i++)
			if ($i == "desired" || $i == "plan" || $i == "pass" || $i == "watch")
				v[n, $i] = v[n, $i] " " $(i + 1)
	}
	END {
		printf "  %-8s %10s %10s %10s %8s %10s %8s\n", "N", "desired", "plan", "pass", "ratio", "watch", "ratio"
		p0 = med(v[order[1], "pass"]); w0 = med(v[order[1], "watch"])
		for (j = 1; j <= k; j++) {
			n = order[j]; p = med(v[n, "pass"]); w = med(v[n, "watch"])
			printf "  %-8s %10.3f %10.3f %10.3f %8.1f %10.3f %8.1f\n", n, med(v[n, "desired"]), med(v[n, "plan"]),
				p, p / p0, w, w / w0
		}
	}' "$out"
