#!/usr/bin/env bash
# The data path's ChaCha20-Poly1305 on full-size packets (tests/tools/sealbench):
# OpenSSL's AEAD cipher vs libsodium vs ours (RFC 8439 over OpenSSL's
# ChaCha20 and Poly1305), one thread; then batches of 64 through the crypto
# pool with 0, 1, ... workers. RUNS (default 3) runs; every run is printed,
# then the median of each figure. Not part of `make check`.
#
#   BUILD=build/x bench/crypto.sh      RUNS=3 SECONDS_PER_CASE=1 PACKET=1420
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
RUNS=${RUNS:-3}
printf '== building sealbench (make BUILD=%s)\n' "$BUILD"
make -C "$ROOT" --no-print-directory BUILD="$BUILD" "$BUILD/tools/sealbench" >/dev/null || {
	echo "crypto.sh: build failed" >&2
	exit 1
}
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for r in $(seq "$RUNS"); do
	printf '== run %d\n' "$r"
	"$ROOT/$BUILD/tools/sealbench" "${SECONDS_PER_CASE:-1}" "${PACKET:-1420}" | tee -a "$out" ||
		{ echo "crypto.sh: sealbench failed" >&2; exit 1; }
done
printf '== medians of %d runs (Gbit/s)\n' "$RUNS"
# Every "NAME ... X Gbit/s" figure, by its line's label and position.
awk '
	/Gbit\/s/ {
		label = substr($0, 1, index($0, "  ") - 1); sub(/ *:$/, "", label)
		k = 0
		for (i = 2; i <= NF; i++) if ($i == "Gbit/s") { k++; key = label "#" k; v[key] = v[key] " " $(i - 1); if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
	}
	END {
		for (j = 1; j <= n; j++) {
			c = split(substr(v[order[j]], 2), a, " ")
			for (x = 1; x <= c; x++) for (y = x + 1; y <= c; y++) if (a[y] + 0 < a[x] + 0) { t = a[x]; a[x] = a[y]; a[y] = t }
			m = (c % 2) ? a[(c + 1) / 2] : (a[c / 2] + a[c / 2 + 1]) / 2
			name = order[j]; if (name ~ /^batches/) { sub(/#1$/, " (seal)", name); sub(/#2$/, " (open)", name) } else sub(/#1$/, "", name)
			printf "  %-48s %6.2f\n", name, m
		}
	}' "$out"
