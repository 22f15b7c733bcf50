#!/usr/bin/env bash
# Relay benchmark, in one run: the time from starting a pair of devices to
# the first packet between them, per kind of NAT (home router: direct;
# symmetric: through the TURN relay); single-flow iperf3 TCP throughput and
# ping RTT of the direct pair against the relayed one; and the CPU the relay
# host (coturn) spends per GB it relays. Medians of RUNS.
set -eEuo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT
BUILD=${BUILD:-build}
make -C "$ROOT" --no-print-directory BUILD="$BUILD" all >/dev/null
source "$ROOT/tests/e2e/lib.sh"
source "$ROOT/tests/e2e/mesh.sh"
exec 3>&1 2>"$TMPD/bench.log"
RUNS=${RUNS:-3}
SECS=${SECS:-5}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
now_ms() { date +%s%3N; }
# the CPU seconds a process has used (utime + stime)
cpu_of() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$1/stat"; }

inet_up
stun_up
turn_up
TURN_PID=$BG_PID
api_up
KEY=$(reg_key api)
nat_host h1 rh1 203.0.113.51 192.0.2
nat_host h2 rh2 203.0.113.52 198.51.100
nat_host s1 rs1 203.0.113.55 192.0.2
nat_host s2 rs2 203.0.113.56 198.51.100
nat_kind rs1 symmetric
nat_kind rs2 symmetric

# time to first packet: start both (registered after the first run) and
# ping until the first answer; the time in FIRST_MS (not in a subshell: the
# helpers keep each nexd's pid and socket in this shell)
first_packet() {
	local a=$1 b=$2 t0 dst
	nexd_start "$a" "$KEY"
	nexd_start "$b" "$KEY"
	t0=$(now_ms)
	nexd_wait_up "$a"
	nexd_wait_up "$b"
	dst=$(tunnel_ip "$b")
	until n "$a" ping -c 1 -W 0.2 "$dst" >/dev/null 2>&1; do
		[ $(($(now_ms) - t0)) -lt 30000 ] || fail "$a never reached $b"
	done
	FIRST_MS=$(($(now_ms) - t0))
}
declare -A FIRST PATHOF
for pair in "h1 h2" "s1 s2"; do
	set -- $pair
	times=()
	for i in $(seq "$RUNS"); do
		first_packet "$1" "$2"
		times+=("$FIRST_MS")
		wait_path "$1" "$2" "$([ "$1" = h1 ] && echo direct || echo relay)" 10 || true
		PATHOF[$1]=$(peer_path "$1" "$2")
		[ "$i" = "$RUNS" ] || { nexd_stop "$1"; nexd_stop "$2"; }
	done
	FIRST[$1]=$(printf '%s\n' "${times[@]}" | median)
done

# throughput and RTT: direct (h1 -> h2) and relayed (s1 -> s2)
bg_start iperf3-h2 h2 iperf3 -s -B "$(tunnel_ip h2)" -p 5201
bg_start iperf3-s2 s2 iperf3 -s -B "$(tunnel_ip s2)" -p 5201
wait_for 5 n h2 sh -c "ss -Htln | grep -q ':5201 '" || fail "iperf3 did not start on h2"
wait_for 5 n s2 sh -c "ss -Htln | grep -q ':5201 '" || fail "iperf3 did not start on s2"
rtt() { n "$1" ping -c 20 -i 0.1 -q "$(tunnel_ip "$2")" | awk -F/ '/^rtt/ { print $5 }'; }
direct=()
relayed=()
bytes=0
cpu0=$(cpu_of "$TURN_PID")
for i in $(seq "$RUNS"); do
	direct+=("$(iperf_mbps h1 "$(tunnel_ip h2)" "$SECS")")
	j=$(n s1 iperf3 -c "$(tunnel_ip s2)" -p 5201 -t "$SECS" -J)
	relayed+=("$(jq -r '.end.sum_received.bits_per_second / 1e6 | floor' <<<"$j")")
	bytes=$((bytes + $(jq -r '.end.sum_received.bytes' <<<"$j")))
done
cpu1=$(cpu_of "$TURN_PID")
d=$(printf '%s\n' "${direct[@]}" | median)
r=$(printf '%s\n' "${relayed[@]}" | median)
rtt_d=$(rtt h1 h2)
rtt_r=$(rtt s1 s2)
{
	echo "relay benchmark ($(nproc) cores, $RUNS runs of ${SECS}s; coturn on the same machine)"
	echo "  time to first packet, home/home NATs:      median ${FIRST[h1]} ms (path ${PATHOF[h1]})"
	echo "  time to first packet, symmetric NATs:      median ${FIRST[s1]} ms (path ${PATHOF[s1]})"
	echo "  iperf3 direct (home/home):                 median $d Mbit/s (runs: ${direct[*]})"
	echo "  iperf3 relayed (symmetric/symmetric):      median $r Mbit/s (runs: ${relayed[*]})"
	awk -v r="$r" -v d="$d" 'BEGIN { printf "  ratio relayed/direct:                      %.2f\n", r / d }'
	echo "  ping RTT direct / relayed:                 $rtt_d ms / $rtt_r ms"
	awk -v c="$(awk -v a="$cpu0" -v b="$cpu1" 'BEGIN { print b - a }')" -v b="$bytes" \
		'BEGIN { printf "  coturn CPU per GB relayed:                 %.2f CPU-s (%.2f CPU-s for %.2f GB)\n", c / (b / 1e9), c, b / 1e9 }'
} >&3
for h in h1 h2 s1 s2; do nexd_stop "$h"; done
