#!/usr/bin/env bash
# An established nexwg tunnel keeps working under a flood of handshake
# initiations with a valid mac1 from another network: while hsflood sends as
# fast as it can (for FLOOD_SECONDS, default 10) from namespace F, routed
# through R, to the responder B, A pings B through the tunnel every 10 ms.
# Then, with the flood still going, A forgets B and must handshake again (a
# tunnel under a long flood must still rekey: the cookie reply and mac2 path).
# Asserts (nexwg): ping loss <= 5 %, B's RSS grows by < 64 MiB, the new
# handshake under the flood completes within 15 s, and another after the
# flood. The same is then run against a wireguard-go pair, and its figures
# printed for comparison (not asserted).
#
#   A eth0 192.0.2.1 --- 192.0.2.2 eth0 B eth1 198.51.100.2 --- 198.51.100.1 R 203.0.113.1 --- 203.0.113.2 F
#   tunnel A 100.100.0.1 <-> B 100.100.0.2, B listens on 51820
#
# KIND=wireguard-go runs the asserted part with wireguard-go (to prove the
# test: it is expected to fail the loss bound).
source "$(dirname "$0")/lib.sh"

KIND=${KIND:-nexwg}
CMP_KIND=${CMP_KIND:-wireguard-go}
FLOOD_SECONDS=${FLOOD_SECONDS:-10}
MAX_LOSS=${MAX_LOSS:-5}
MAX_RSS_GROWTH_KIB=$((64 * 1024))
REKEY_SECONDS=17 # then, still flooding: a fresh handshake of A must complete within REKEY_SECONDS - 2
HSFLOOD=$TOOLS/hsflood
[ -x "$HSFLOOD" ] || fail "$HSFLOOD not built (make BUILD=$BUILD tools)"

# flood_run KIND TAG: builds the four namespaces, floods, sets LOSS, SENT,
# RSS_BEFORE, RSS_AFTER, RSS_PEAK (KiB) and the daemon's pid B_PID.
flood_run() {
	local kind=$1 tag=$2 A=a$2 B=b$2 R=r$2 F=f$2 wa wb pa pb hs count interval
	wa=$(wg_ifname "a$tag")
	wb=$(wg_ifname "b$tag")

	say "[$tag] $kind pair; F floods B through R"
	ns_add "$A"
	ns_add "$B"
	ns_add "$R"
	ns_add "$F"
	veth_add "$A" eth0 "$B" eth0
	veth_add "$B" eth1 "$R" eth0
	veth_add "$R" eth1 "$F" eth0
	addr_add "$A" eth0 192.0.2.1/24
	addr_add "$B" eth0 192.0.2.2/24
	addr_add "$B" eth1 198.51.100.2/24
	addr_add "$R" eth0 198.51.100.1/24
	addr_add "$R" eth1 203.0.113.1/24
	addr_add "$F" eth0 203.0.113.2/24
	pp n "$R" sysctl -qw net.ipv4.ip_forward=1
	pp ip -n "$NX-$B" route add 203.0.113.0/24 via 198.51.100.1
	pp ip -n "$NX-$F" route add default via 203.0.113.1
	pp n "$F" ping -q -c 1 -w 5 198.51.100.2 >/dev/null

	wg_key "$A"
	wg_key "$B"
	pa=$(pub "$A")
	pb=$(pub "$B")
	wg_start "$kind" "$A" "$wa"
	wg_start "$kind" "$B" "$wb"
	wg_iface_up "$A" "$wa" 100.100.0.1/24 2001:db8:100::1/64
	wg_iface_up "$B" "$wb" 100.100.0.2/24 2001:db8:100::2/64
	pp n "$A" wg set "$wa" private-key "$(privfile "$A")" listen-port 51000 \
		peer "$pb" endpoint 192.0.2.2:51820 allowed-ips 100.100.0.2/32
	pp n "$B" wg set "$wb" private-key "$(privfile "$B")" listen-port 51820 \
		peer "$pa" allowed-ips 100.100.0.1/32
	ping_ok "$A" 100.100.0.2
	hs=$(wg_handshake "$A" "$wa" "$pb")
	B_PID=${WG_PID[$wb]}
	RSS_BEFORE=$(rss_kib "$B_PID")
	local rx0 tx0 rx1 tx1
	rx0=$(n "$B" cat /sys/class/net/eth1/statistics/rx_packets)
	tx0=$(n "$B" cat /sys/class/net/eth1/statistics/tx_packets)

	say "[$tag] flood for ${FLOOD_SECONDS}s while A pings B through the tunnel"
	bg_start "hsflood$tag" "$F" "$HSFLOOD" -d $((FLOOD_SECONDS + REKEY_SECONDS)) -p 64 "$pb" 198.51.100.2:51820
	local flood_pid=$BG_PID
	sleep 1
	# pings over FLOOD_SECONDS - 2 s, inside the flood
	interval=0.01
	count=$(((FLOOD_SECONDS - 2) * 100))
	printf '[+] %s: ping -c %s -i %s 100.100.0.2\n' "$A" "$count" "$interval" >&2
	LOSS=$(ping_loss "$A" 100.100.0.2 "$count" "$interval")
	[ -n "$LOSS" ] || fail "[$tag] no ping statistics"

	say "[$tag] still under the flood: A forgets B and must handshake again"
	pp n "$A" wg set "$wa" peer "$pb" remove
	pp n "$A" wg set "$wa" peer "$pb" endpoint 192.0.2.2:51820 allowed-ips 100.100.0.2/32
	local t0 t1 ok=0
	t0=$(date +%s%N)
	while (( ($(date +%s%N) - t0) / 1000000000 < REKEY_SECONDS - 2 )); do
		if n "$A" ping -q -c 1 -W 1 100.100.0.2 >/dev/null 2>&1; then
			ok=1
			break
		fi
	done
	t1=$(date +%s%N)
	REKEY_OK=$ok
	if [ $ok -eq 1 ]; then
		REKEY=$(awk -v d=$((t1 - t0)) 'BEGIN { printf "%.1f s", d / 1e9 }')
	else
		REKEY="none within $((REKEY_SECONDS - 2)) s"
	fi
	printf '    [%s] %s: new handshake under the flood: %s\n' "$tag" "$kind" "$REKEY" >&2
	RSS_AFTER=$(rss_kib "$B_PID")
	RSS_PEAK=$(awk '/^VmHWM:/ { print $2 }' "/proc/$B_PID/status")
	wait_for $((FLOOD_SECONDS + REKEY_SECONDS + 10)) eval "! pid_alive $flood_pid" || fail "hsflood did not end"
	wait "$flood_pid" || fail "hsflood failed: $(cat "$TMPD/hsflood$tag.log")"
	untrack_pid "$flood_pid"
	SENT=$(cat "$TMPD/hsflood$tag.log")
	rx1=$(n "$B" cat /sys/class/net/eth1/statistics/rx_packets)
	tx1=$(n "$B" cat /sys/class/net/eth1/statistics/tx_packets)
	ARRIVED=$((rx1 - rx0))
	REPLIES=$((tx1 - tx0))
	printf '    B eth1: %s packets arrived, %s sent back (cookie replies)\n' "$ARRIVED" "$REPLIES" >&2
	# the flood must really have reached B, or the test proves nothing
	assert_ge "[$tag] flood packets that reached B" $((FLOOD_SECONDS * 20000)) "$ARRIVED"
	printf '    %s\n' "$SENT" >&2
	printf '    [%s] %s: ping loss %s%%, RSS %s KiB before, %s KiB after, peak %s KiB\n' \
		"$tag" "$kind" "$LOSS" "$RSS_BEFORE" "$RSS_AFTER" "$RSS_PEAK" >&2
	pid_alive "$B_PID" || fail "[$tag] $kind responder died during the flood"

	say "[$tag] after the flood: the tunnel works and a new handshake completes"
	ping_ok "$A" 100.100.0.2
	sleep 1.1
	pp n "$A" wg set "$wa" peer "$pb" remove
	pp n "$A" wg set "$wa" peer "$pb" endpoint 192.0.2.2:51820 allowed-ips 100.100.0.2/32
	ping_ok "$A" 100.100.0.2
	assert_ge "[$tag] A: latest handshake advanced" $((hs + 1)) "$(wg_handshake "$A" "$wa" "$pb")"
}

flood_run "$KIND" 1
k_loss=$LOSS k_sent=$SENT k_before=$RSS_BEFORE k_after=$RSS_AFTER k_peak=$RSS_PEAK
k_arrived=$ARRIVED k_replies=$REPLIES k_rekey=$REKEY k_rekey_ok=$REKEY_OK
# tear the first setup down before the comparison, so that it does not compete for CPU
wg_stop "$(wg_ifname a1)"
wg_stop "$(wg_ifname b1)"
for p in "${NX_PIDS[@]}"; do stop_pid "$p"; done

if [ "$CMP_KIND" != none ]; then
	flood_run "$CMP_KIND" 2
fi

say "results"
printf '%-13s loss %6s%%  RSS %6s -> %6s KiB (peak %6s)  %s initiations arrived, %s replies\n' \
	"$KIND" "$k_loss" "$k_before" "$k_after" "$k_peak" "$k_arrived" "$k_replies" >&2
printf '%-13s new handshake under the flood: %s\n' "$KIND" "$k_rekey" >&2
if [ "$CMP_KIND" != none ]; then
	printf '%-13s loss %6s%%  RSS %6s -> %6s KiB (peak %6s)  %s initiations arrived, %s replies (not asserted)\n' \
		"$CMP_KIND" "$LOSS" "$RSS_BEFORE" "$RSS_AFTER" "$RSS_PEAK" "$ARRIVED" "$REPLIES" >&2
	printf '%-13s new handshake under the flood: %s (not asserted)\n' "$CMP_KIND" "$REKEY" >&2
fi

# asserted last, so that a failure still shows both sets of figures
assert_le "$KIND: ping loss (%) during the flood" "$MAX_LOSS" "$k_loss"
assert_le "$KIND: RSS growth (KiB)" "$MAX_RSS_GROWTH_KIB" $((k_after - k_before))
assert_eq "$KIND: a new handshake completed under the flood" 1 "$k_rekey_ok"
