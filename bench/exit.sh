#!/usr/bin/env bash
# Exit-node benchmark, in one run: the time from `nexctl nexd exit-node
# enable` to the first packet out through the exit node (median of 5); a
# single-flow iperf3 TCP transfer from a client behind NAT to an internet
# host through the exit node against the same path without it (median of
# 3); the failover time to a second exit node after kill -9 of the one in
# use, and the time for table 19302 to follow a new default route (median
# of 5 each).
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

inet_up
api_up
stun_up
dns_up
www_up
exit_host exit 203.0.113.40
nat_host c1 natc1 203.0.113.2 192.0.2
for h in exit c1; do resolver "$h"; done
KEY=$(reg_key api)
nexd_start exit "$KEY" router --exit-node
nexd_start c1 "$KEY"
nexd_wait_up exit
nexd_wait_up c1
approve_exit exit
exit_listed c1 exit
mesh_ping c1 exit

# time to first packet through the exit node
times=()
for i in 1 2 3 4 5; do
	expect_source c1 203.0.113.2
	t0=$(now_ms)
	nexd_ctl c1 exit-node enable >/dev/null
	until [ "$(n c1 curl -s -m 0.3 "http://$WWW_IP/" 2>/dev/null)" = 203.0.113.40 ]; do
		[ $(($(now_ms) - t0)) -lt 20000 ] || fail "no packet through the exit node in 20 s"
	done
	times+=($(($(now_ms) - t0)))
	nexd_ctl c1 exit-node disable >/dev/null
done
enable_ms=$(printf '%s\n' "${times[@]}" | median)

# throughput, without and with the exit node
bg_start iperf3-www www iperf3 -s -B "$WWW_IP" -p 5201
wait_for 5 n www sh -c "ss -Htln | grep -q ':5201 '" || fail "iperf3 did not start"
direct=()
viaexit=()
for i in $(seq "$RUNS"); do
	expect_source c1 203.0.113.2
	direct+=("$(iperf_mbps c1 "$WWW_IP" "$SECS")")
done
nexd_ctl c1 exit-node enable >/dev/null
expect_source c1 203.0.113.40
for i in $(seq "$RUNS"); do
	viaexit+=("$(iperf_mbps c1 "$WWW_IP" "$SECS")")
done
nexd_ctl c1 exit-node disable >/dev/null

# failover: a second exit node; kill the one in use, time until traffic
# leaves through the other (median of 5, alternating)
exit_host exitb 203.0.113.41
resolver exitb
nexd_start exitb "$KEY" router --exit-node
nexd_wait_up exitb
approve_exit exitb
exit_listed c1 exitb
nexd_ctl c1 exit-node enable >/dev/null
declare -A ADDR=([exit]=203.0.113.40 [exitb]=203.0.113.41)
fails=()
for i in 1 2 3 4 5; do
	wait_for 20 sh -c "ip netns exec $NX-c1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[c1]} exit-node list -o json | jq -e 'all(.[]; .reachable)'" ||
		fail "not both exit nodes answer"
	cur=$(nexd_ctl c1 exit-node list -o json | jq -r '.[] | select(.in_use) | .hostname')
	[ -n "$cur" ] || fail "no exit node in use"
	other=exit
	[ "$cur" = exit ] && other=exitb
	expect_source c1 "${ADDR[$cur]}"
	kill -KILL "${NEXD_PID[$cur]}"
	wait "${NEXD_PID[$cur]}" 2>/dev/null || true
	untrack_pid "${NEXD_PID[$cur]}"
	ms=$(source_within c1 "${ADDR[$other]}" 20)
	[ "$ms" -ge 0 ] || fail "no failover from $cur in 20 s"
	fails+=("$ms")
	nexd_start "$cur" "$KEY" router --exit-node
	nexd_wait_up "$cur"
done
failover_ms=$(printf '%s\n' "${fails[@]}" | median)

# the default route changes: time until table 19302 follows (median of 5)
ip link add "${NX}g" netns "$NX-c1" type veth peer name "${NX}gp" netns "$NX-natc1"
ip -n "$NX-c1" link set "${NX}g" name eth1 up
ip -n "$NX-natc1" link set "${NX}gp" name lan1 up
ip -n "$NX-natc1" addr add 198.51.100.129/25 dev lan1
ip -n "$NX-c1" addr add 198.51.100.130/25 dev eth1
n natc1 nft add rule inet home forward iifname lan1 accept
n natc1 nft add rule inet home input iifname lan1 accept
follows=()
gws=("198.51.100.129 dev eth1" "192.0.2.1 dev eth0")
for i in 1 2 3 4 5; do
	gw=${gws[$((i % 2))]}
	t0=$(now_ms)
	ip -n "$NX-c1" route replace default via $gw
	until ip -n "$NX-c1" route show table 19302 | grep -q "via $gw"; do
		[ $(($(now_ms) - t0)) -lt 10000 ] || fail "table 19302 did not follow in 10 s"
		sleep 0.01
	done
	follows+=($(($(now_ms) - t0)))
done
follow_ms=$(printf '%s\n' "${follows[@]}" | median)
ip -n "$NX-c1" route replace default via 192.0.2.1 dev eth0
nexd_ctl c1 exit-node disable >/dev/null

d=$(printf '%s\n' "${direct[@]}" | median)
v=$(printf '%s\n' "${viaexit[@]}" | median)
{
	echo "exit-node benchmark ($(nproc) cores, $RUNS runs of ${SECS}s; single TCP flow, client behind NAT -> internet host)"
	printf '  enable -> first packet through the exit node: median %s ms (runs: %s)\n' "$enable_ms" "${times[*]}"
	printf '  iperf3 without exit node: median %s Mbit/s (runs: %s)\n' "$d" "${direct[*]}"
	printf '  iperf3 through exit node: median %s Mbit/s (runs: %s)\n' "$v" "${viaexit[*]}"
	awk -v a="$v" -v b="$d" 'BEGIN { if (b > 0) printf "  ratio through/without: %.2f\n", a / b }'
	printf '  failover to the other exit node after kill -9: median %s ms (runs: %s)\n' "$failover_ms" "${fails[*]}"
	printf '  table 19302 follows a new default route: median %s ms (runs: %s)\n' "$follow_ms" "${follows[*]}"
} >&3
for h in c1 exit exitb; do nexd_stop "$h"; done
