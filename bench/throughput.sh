#!/usr/bin/env bash
# Single-flow TCP throughput (iperf3) between two namespaces over
#   (a) a plain veth pair,
#   (b) a wireguard-go pair,
#   (c) a nexwg pair,
# in one run: builds nexwg, then RUNS rounds (default 3) of BENCH_SECONDS
# (default 10) each, the three setups interleaved within each round so that
# the load of a shared machine spreads over all of them. Prints every run,
# the medians, the ratios c/b and c/a, and the CPU seconds the two daemons of
# a pair used per run. Not part of `make check`.
#
#   BUILD=build/x bench/throughput.sh
#   RUNS=3 BENCH_SECONDS=10 BENCH_BAR=1.5 (c/b to meet; BENCH_STRICT=1 exits 1 below it)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
export ROOT BUILD
printf '== building nexwg (make BUILD=%s)\n' "$BUILD"
make -C "$ROOT" --no-print-directory BUILD="$BUILD" "$BUILD/nexwg" || {
	echo "throughput.sh: build failed" >&2
	exit 1
}

source "$ROOT/tests/e2e/lib.sh"

RUNS=${RUNS:-3}
BENCH_SECONDS=${BENCH_SECONDS:-10}
BENCH_BAR=${BENCH_BAR:-1.5}

# setup TAG KIND: namespaces a$TAG and b$TAG over a veth; with KIND (not
# "veth") a WireGuard pair between them. Sets DST_<TAG> and PIDS_<TAG>.
setup() {
	local tag=$1 kind=$2 A=a$1 B=b$1 wa wb
	ns_add "$A"
	ns_add "$B"
	veth_add "$A" eth0 "$B" eth0
	addr_add "$A" eth0 192.0.2.1/24
	addr_add "$B" eth0 192.0.2.2/24
	if [ "$kind" == veth ]; then
		printf -v "DST_$tag" %s 192.0.2.2
		printf -v "PIDS_$tag" %s ""
	else
		wa=$(wg_ifname "a$tag")
		wb=$(wg_ifname "b$tag")
		wg_key "$A"
		wg_key "$B"
		wg_start "$kind" "$A" "$wa"
		wg_start "$kind" "$B" "$wb"
		wg_iface_up "$A" "$wa" 100.100.0.1/24 2001:db8:100::1/64
		wg_iface_up "$B" "$wb" 100.100.0.2/24 2001:db8:100::2/64
		pp n "$A" wg set "$wa" private-key "$(privfile "$A")" listen-port 51000 \
			peer "$(pub "$B")" endpoint 192.0.2.2:51820 allowed-ips 100.100.0.2/32
		pp n "$B" wg set "$wb" private-key "$(privfile "$B")" listen-port 51820 \
			peer "$(pub "$A")" allowed-ips 100.100.0.1/32
		ping_ok "$A" 100.100.0.2
		printf -v "DST_$tag" %s 100.100.0.2
		printf -v "PIDS_$tag" %s "${WG_PID[$wa]} ${WG_PID[$wb]}"
	fi
	iperf_server "$B" "$(eval echo "\$DST_$tag")"
}

# cpu_of "PIDS": CPU seconds used so far by the processes.
cpu_of() {
	local p sum=0
	for p in $1; do
		sum=$(awk -v a="$sum" -v b="$(cpu_seconds "$p")" 'BEGIN { printf "%.2f", a + b }')
	done
	echo "$sum"
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'; }

printf '== setting up: (a) veth, (b) wireguard-go, (c) nexwg (details on stderr)\n'

setup a veth
setup b wireguard-go
setup c nexwg

declare -A RATES=() CPUS=()
printf '== %s rounds of %ss each\n' "$RUNS" "$BENCH_SECONDS"
for ((r = 1; r <= RUNS; r++)); do
	for t in a b c; do
		pids=$(eval echo "\$PIDS_$t")
		c0=$(cpu_of "$pids")
		rate=$(iperf_mbps "a$t" "$(eval echo "\$DST_$t")" "$BENCH_SECONDS")
		c1=$(cpu_of "$pids")
		cpu=$(awk -v a="$c0" -v b="$c1" 'BEGIN { printf "%.2f", b - a }')
		RATES[$t]+="$rate "
		CPUS[$t]+="$cpu "
		printf '    run %d (%s): %8s Mbit/s   daemons %s CPU s\n' "$r" "$t" "$rate" "$cpu"
	done
done

name_a="(a) veth"
name_b="(b) wireguard-go"
name_c="(c) nexwg"
printf '\n== results: single-flow iperf3 TCP, %ss x %s, %s CPUs\n' "$BENCH_SECONDS" "$RUNS" "$(nproc)"
for t in a b c; do
	eval "n_=\$name_$t"
	# shellcheck disable=SC2086
	m=$(median ${RATES[$t]})
	# shellcheck disable=SC2086
	mc=$(median ${CPUS[$t]})
	printf -v "MED_$t" %s "$m"
	if [ "$t" == a ]; then
		printf '%-18s median %8s Mbit/s   (runs: %s)\n' "$n_" "$m" "${RATES[$t]% }"
	else
		printf '%-18s median %8s Mbit/s   (runs: %s)   daemons %s CPU s per run\n' \
			"$n_" "$m" "${RATES[$t]% }" "$mc"
	fi
done
cb=$(ratio "$MED_c" "$MED_b")
ca=$(ratio "$MED_c" "$MED_a")
printf 'ratio c/b (nexwg / wireguard-go) = %s   (bar: >= %s)\n' "$cb" "$BENCH_BAR"
printf 'ratio c/a (nexwg / plain veth)   = %s\n' "$ca"
if awk -v a="$cb" -v b="$BENCH_BAR" 'BEGIN { exit !(a + 0 >= b + 0) }'; then
	echo "bar met"
else
	echo "bar NOT met"
	[ "${BENCH_STRICT:-0}" != 1 ] || exit 1
fi
