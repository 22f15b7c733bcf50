#!/usr/bin/env bash
# Bad input for an established nexwg pair: a flood of malformed packets
# (hsflood -m junk: every message type truncated, too long, with reserved
# bits set or a wrong mac1, short data messages, random receiver indexes,
# unknown types, empty and oversized datagrams) from another host while A
# pings B through the tunnel; then every packet from A to B duplicated on the
# wire (an nftables netdev egress `dup`), so that B receives each transport
# packet, and each handshake message, twice: replays must be dropped (no
# "DUP!" reply), and handshakes still complete.
#
#   A eth0 192.0.2.1 --- 192.0.2.2 eth0 B eth1 198.51.100.2 --- 198.51.100.3 eth0 F
#
# Asserts: loss <= MAX_LOSS (5 %) during the junk, the daemons keep running,
# B's RSS grows by < 64 MiB, no replayed packet is delivered.
# KIND=wireguard-go runs it with wireguard-go standing in for nexwg.
source "$(dirname "$0")/lib.sh"

KIND=${KIND:-nexwg}
JUNK_SECONDS=${JUNK_SECONDS:-8}
MAX_LOSS=${MAX_LOSS:-5}
MAX_RSS_GROWTH_KIB=$((64 * 1024))
HSFLOOD=$TOOLS/hsflood
[ -x "$HSFLOOD" ] || fail "$HSFLOOD not built (make BUILD=$BUILD tools)"

ns_add a
ns_add b
ns_add f
veth_add a eth0 b eth0
veth_add b eth1 f eth0
addr_add a eth0 192.0.2.1/24
addr_add b eth0 192.0.2.2/24
addr_add b eth1 198.51.100.2/24
addr_add f eth0 198.51.100.3/24
wa=$(wg_ifname a)
wb=$(wg_ifname b)
wg_key a
wg_key b
pa=$(pub a)
pb=$(pub b)

say "$KIND pair: A ($wa) and B ($wb)"
wg_start "$KIND" a "$wa"
wg_start "$KIND" b "$wb"
wg_iface_up a "$wa" 100.100.0.1/24 2001:db8:100::1/64
wg_iface_up b "$wb" 100.100.0.2/24 2001:db8:100::2/64
pp n a wg set "$wa" private-key "$(privfile a)" listen-port 51000 \
	peer "$pb" endpoint 192.0.2.2:51820 allowed-ips 100.100.0.2/32,2001:db8:100::2/128
pp n b wg set "$wb" private-key "$(privfile b)" listen-port 51820 \
	peer "$pa" allowed-ips 100.100.0.1/32,2001:db8:100::1/128
ping_ok a 100.100.0.2
ping_ok b 100.100.0.1
rss0=$(rss_kib "${WG_PID[$wb]}")

say "junk at B's port for ${JUNK_SECONDS}s while A pings B through the tunnel"
bg_start hsflood-junk f "$HSFLOOD" -m junk -d "$JUNK_SECONDS" -p 16 "$pb" 198.51.100.2:51820
flood_pid=$BG_PID
sleep 1
count=$(((JUNK_SECONDS - 2) * 100))
printf '[+] a: ping -c %s -i 0.01 100.100.0.2\n' "$count" >&2
loss=$(ping_loss a 100.100.0.2 "$count" 0.01)
wait_for $((JUNK_SECONDS + 10)) eval "! pid_alive $flood_pid" || fail "hsflood did not end"
wait "$flood_pid" || fail "hsflood failed: $(cat "$TMPD/hsflood-junk.log")"
untrack_pid "$flood_pid"
printf '    %s\n' "$(cat "$TMPD/hsflood-junk.log")" >&2
rss1=$(rss_kib "${WG_PID[$wb]}")
printf '    %s: ping loss %s%%, B RSS %s -> %s KiB\n' "$KIND" "$loss" "$rss0" "$rss1" >&2
pid_alive "${WG_PID[$wb]}" || fail "$KIND (B) died under bad input"
assert_le "$KIND: ping loss (%) during the junk" "$MAX_LOSS" "$loss"
assert_le "$KIND: B's RSS growth (KiB)" "$MAX_RSS_GROWTH_KIB" $((rss1 - rss0))
ping_ok a 100.100.0.2
ping_ok b 2001:db8:100::1

say "the same junk at A (the initiator's port) for 2s"
pp ip -n "$(ns a)" route add 198.51.100.0/24 via 192.0.2.2
pp n b sysctl -qw net.ipv4.ip_forward=1
pp ip -n "$(ns f)" route add 192.0.2.0/24 via 198.51.100.2
pp n f "$HSFLOOD" -m junk -d 2 -p 4 "$pa" 192.0.2.1:51000
pid_alive "${WG_PID[$wa]}" || fail "$KIND (A) died under bad input"
ping_ok a 100.100.0.2

# dup_rule NS IF: every UDP datagram leaving IF is sent twice.
dup_rule() {
	n "$1" nft -f - <<EOF
table netdev nxdup {
	chain egress {
		type filter hook egress device "$2" priority 0; policy accept;
		$3 counter dup to "$2"
	}
}
EOF
}
dup_count() {
	n "$1" nft list table netdev nxdup | awk '/counter packets/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }'
}

say "self-check: the duplication is visible without WireGuard (ping shows DUP!)"
pp dup_rule a eth0 "icmp type echo-request"
out=$(n a ping -c 3 -i 0.2 -w 5 192.0.2.2 2>&1 || true)
assert_contains "ping over the duplicating link" "DUP!" "$out"
pp n a nft delete table netdev nxdup

say "every packet from A to B arrives twice: replays are dropped"
pp dup_rule a eth0 "udp dport 51820"
out=$(n a ping -c 20 -i 0.05 -w 10 100.100.0.2 2>&1 || true)
printf '%s\n' "$out" | tail -n 2 >&2
assert_contains "ping A->B" " 0% packet loss" "$out"
case $out in *DUP!*) fail "B delivered a replayed packet (ping shows DUP!)" ;; esac
printf '    ok: no DUP! from A to B\n' >&2
out=$(n b ping -c 20 -i 0.05 -w 10 100.100.0.1 2>&1 || true)
printf '%s\n' "$out" | tail -n 2 >&2
assert_contains "ping B->A" " 0% packet loss" "$out"
case $out in *DUP!*) fail "B delivered a replayed reply (ping shows DUP!)" ;; esac
printf '    ok: no DUP! from B to A\n' >&2

say "a handshake whose messages are replayed still completes, once"
hs=$(wg_handshake b "$wb" "$pa")
sleep 1.1
pp n a wg set "$wa" peer "$pb" remove
pp n a wg set "$wa" peer "$pb" endpoint 192.0.2.2:51820 allowed-ips 100.100.0.2/32,2001:db8:100::2/128
out=$(n a ping -c 10 -i 0.1 -w 10 100.100.0.2 2>&1 || true)
printf '%s\n' "$out" | tail -n 2 >&2
case $out in *DUP!*) fail "B delivered a replayed packet after the new handshake" ;; esac
assert_contains "ping A->B after the new handshake" " received" "$out"
assert_ge "B: latest handshake advanced" $((hs + 1)) "$(wg_handshake b "$wb" "$pa")"
ping_ok a 100.100.0.2
dups=$(dup_count a)
assert_ge "datagrams duplicated on A's link" 40 "$dups"

say "both daemons still run and stop on SIGTERM"
wg_stop "$wa"
wg_stop "$wb"
