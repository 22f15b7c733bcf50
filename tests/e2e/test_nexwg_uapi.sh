#!/usr/bin/env bash
# The configuration interface of nexwg through the stock `wg` tool: setconf
# from a file, `wg show ... dump` field by field, `wg showconf` re-applied
# gives the same configuration, `wg set` of each key, an allowed IP moving
# from one peer to another, `wg syncconf` that keeps the running session,
# removing peers, and an error reply (listen port in use).
#
# KIND=wireguard-go runs it with wireguard-go standing in for nexwg.
source "$(dirname "$0")/lib.sh"

KIND=${KIND:-nexwg}
PEER_KIND=${PEER_KIND:-wireguard-go}

ns_add a
ns_add b
veth_add a eth0 b eth0
addr_add a eth0 192.0.2.1/24
addr_add b eth0 192.0.2.2/24
wa=$(wg_ifname a)
wa2=$(wg_ifname a2)
wb=$(wg_ifname b)
wg_key a
wg_key b
wg_key c
wg_psk ab
pa=$(pub a)
pb=$(pub b)
pc=$(pub c)

# sorted LIST (comma or space separated): the same list, sorted, one space
# between items; allowed IPs are a set (their order is not part of the
# interface: the kernel lists them per trie walk).
sorted() { tr ', ' '\n\n' <<<"$1" | sed '/^$/d' | sort | paste -sd' '; }

say "A: $KIND ($wa) configured by wg setconf; B: $PEER_KIND ($wb)"
wg_start "$KIND" a "$wa"
wg_start "$PEER_KIND" b "$wb"
wg_iface_up a "$wa" 100.100.0.1/24 2001:db8:100::1/64
wg_iface_up b "$wb" 100.100.0.2/24 2001:db8:100::2/64
pp n b wg set "$wb" private-key "$(privfile b)" listen-port 51820 \
	peer "$pa" preshared-key "$TMPD/ab.psk" allowed-ips 100.100.0.1/32,2001:db8:100::1/128

conf=$TMPD/a.conf
(
	umask 077
	cat >"$conf" <<EOF
[Interface]
PrivateKey = $(cat "$(privfile a)")
ListenPort = 51000
FwMark = 0x1234

[Peer]
PublicKey = $pb
PresharedKey = $(cat "$TMPD/ab.psk")
Endpoint = 192.0.2.2:51820
AllowedIPs = 100.100.0.2/32, 2001:db8:100::2/128
PersistentKeepalive = 25

[Peer]
PublicKey = $pc
Endpoint = [2001:db8:1::3]:51003
AllowedIPs = 100.100.3.0/24, 2001:db8:103::/48
EOF
)
pp n a wg setconf "$wa" "$conf"
pp n a wg show "$wa"

say "wg show dump, field by field"
dump=$(n a wg show "$wa" dump)
printf '%s\n' "$dump" | sed 's/^[^\t]*\t/<key>\t/' >&2
iface=$(printf '%s\n' "$dump" | head -n 1)
assert_eq "private key" "$(cat "$(privfile a)")" "$(cut -f1 <<<"$iface")"
assert_eq "public key" "$pa" "$(cut -f2 <<<"$iface")"
assert_eq "listen port" 51000 "$(cut -f3 <<<"$iface")"
assert_eq "fwmark" 0x1234 "$(cut -f4 <<<"$iface")"
assert_eq "number of peers" 2 "$(($(printf '%s\n' "$dump" | wc -l) - 1))"
peer_b=$(printf '%s\n' "$dump" | awk -F'\t' -v k="$pb" '$1 == k')
peer_c=$(printf '%s\n' "$dump" | awk -F'\t' -v k="$pc" '$1 == k')
assert_eq "B: preshared key" "$(cat "$TMPD/ab.psk")" "$(cut -f2 <<<"$peer_b")"
assert_eq "B: endpoint" 192.0.2.2:51820 "$(cut -f3 <<<"$peer_b")"
assert_eq "B: allowed ips" "$(sorted "100.100.0.2/32,2001:db8:100::2/128")" "$(sorted "$(cut -f4 <<<"$peer_b")")"
assert_eq "B: persistent keepalive" 25 "$(cut -f8 <<<"$peer_b")"
assert_eq "C: preshared key" "(none)" "$(cut -f2 <<<"$peer_c")"
assert_eq "C: endpoint" "[2001:db8:1::3]:51003" "$(cut -f3 <<<"$peer_c")"
assert_eq "C: allowed ips" "$(sorted "100.100.3.0/24,2001:db8:103::/48")" "$(sorted "$(cut -f4 <<<"$peer_c")")"
assert_eq "C: persistent keepalive" off "$(cut -f8 <<<"$peer_c")"

say "traffic through the configured interface"
ping_ok a 100.100.0.2
ping_ok b 2001:db8:100::1
assert_ne "A: latest handshake with B" 0 "$(wg_handshake a "$wa" "$pb")"

say "wg showconf, re-applied with wg setconf, gives the same configuration"
n a wg showconf "$wa" >"$TMPD/show1.conf"
assert_eq "peers in showconf" 2 "$(grep -c '^\[Peer\]' "$TMPD/show1.conf")"
assert_eq "listen port in showconf" 1 "$(grep -c '^ListenPort = 51000$' "$TMPD/show1.conf")"
pp n a wg setconf "$wa" "$TMPD/show1.conf"
n a wg showconf "$wa" >"$TMPD/show2.conf"
# the same configuration (allowed IPs compared as sets; their order is
# checked on its own at the end)
normalized() {
	local line
	while IFS= read -r line; do
		case $line in
		"AllowedIPs = "*) echo "AllowedIPs = $(sorted "${line#AllowedIPs = }")" ;;
		*) printf '%s\n' "$line" ;;
		esac
	done <"$1"
}
diff -u <(normalized "$TMPD/show1.conf") <(normalized "$TMPD/show2.conf") >&2 ||
	fail "showconf differs after setconf of its own output"
printf '    ok: showconf gives the same configuration after the round trip\n' >&2
ping_ok a 100.100.0.2

say "wg set, key by key"
pp n a wg set "$wa" fwmark 0
assert_eq "fwmark cleared" off "$(wg_show a "$wa" fwmark)"
pp n a wg set "$wa" fwmark 7
assert_eq "fwmark" 0x7 "$(wg_show a "$wa" fwmark)"
pp n a wg set "$wa" listen-port 51010
assert_eq "listen port" 51010 "$(wg_show a "$wa" listen-port)"
ping_ok a 100.100.0.2
assert_eq "B: endpoint of A follows the new port" 192.0.2.1:51010 "$(wg_show b "$wb" endpoints "$pa")"
pp n a wg set "$wa" peer "$pc" persistent-keepalive 15 endpoint 198.51.100.3:51003
assert_eq "C: persistent keepalive" 15 "$(wg_show a "$wa" persistent-keepalive "$pc")"
assert_eq "C: endpoint" 198.51.100.3:51003 "$(wg_show a "$wa" endpoints "$pc")"
pp n a wg set "$wa" peer "$pc" persistent-keepalive off
assert_eq "C: persistent keepalive" off "$(wg_show a "$wa" persistent-keepalive "$pc")"
pp n a wg set "$wa" peer "$pc" preshared-key "$TMPD/ab.psk"
assert_eq "C: preshared key" "$(cat "$TMPD/ab.psk")" "$(wg_show a "$wa" preshared-keys "$pc")"
pp n a wg set "$wa" peer "$pc" preshared-key /dev/null
assert_eq "C: preshared key removed" "(none)" "$(wg_show a "$wa" preshared-keys "$pc")"

say "an allowed IP belongs to one peer: giving it to C takes it from B"
pp n a wg set "$wa" peer "$pc" allowed-ips 100.100.3.0/24,100.100.0.2/32
assert_eq "B: allowed ips" "2001:db8:100::2/128" "$(wg_show a "$wa" allowed-ips "$pb")"
assert_eq "C: allowed ips" "$(sorted "100.100.3.0/24 100.100.0.2/32")" "$(sorted "$(wg_show a "$wa" allowed-ips "$pc")")"
ping_fails a 100.100.0.2
ping_ok a 2001:db8:100::2

say "wg syncconf: converges to a file and keeps B's session"
cat >"$TMPD/sync.conf" <<EOF
[Interface]
PrivateKey = $(cat "$(privfile a)")
ListenPort = 51010

[Peer]
PublicKey = $pb
PresharedKey = $(cat "$TMPD/ab.psk")
Endpoint = 192.0.2.2:51820
AllowedIPs = 100.100.0.2/32, 2001:db8:100::2/128, 100.100.7.0/24
EOF
hs=$(wg_handshake a "$wa" "$pb")
rx=$(wg_rx a "$wa" "$pb")
sleep 1.1
pp n a wg syncconf "$wa" "$TMPD/sync.conf"
pp n a wg show "$wa"
assert_eq "peers after syncconf" "$pb" "$(wg_show a "$wa" peers)"
assert_eq "B: allowed ips" "$(sorted "100.100.0.2/32 2001:db8:100::2/128 100.100.7.0/24")" \
	"$(sorted "$(wg_show a "$wa" allowed-ips "$pb")")"
ping_ok a 100.100.0.2
assert_eq "B: same session (no new handshake)" "$hs" "$(wg_handshake a "$wa" "$pb")"
assert_ge "B: bytes received kept counting" $((rx + 1)) "$(wg_rx a "$wa" "$pb")"

say "removing a peer"
pp n a wg set "$wa" peer "$pb" remove
assert_eq "peers after remove" "" "$(wg_show a "$wa" peers)"
ping_fails a 100.100.0.2
pp n a wg set "$wa" peer "$pc" remove   # not there: not an error either

say "an error reply: a listen port already in use"
wg_start "$KIND" a "$wa2"
pp n a wg set "$wa2" listen-port 51020
assert_fails "wg set to a port in use" n a wg set "$wa" listen-port 51020
# (wireguard-go is then left unbound, listen port 0; the kernel keeps the
# old port. Either way the device must take a free port afterwards.)
printf '    listen port after the failed set: %s\n' "$(wg_show a "$wa" listen-port)" >&2
pp n a wg set "$wa" listen-port 51011
assert_eq "listen port" 51011 "$(wg_show a "$wa" listen-port)"
pp n a wg set "$wa" peer "$pb" preshared-key "$TMPD/ab.psk" endpoint 192.0.2.2:51820 allowed-ips 100.100.0.2/32
ping_ok a 100.100.0.2

say "both daemons stop on SIGTERM"
wg_stop "$wa2"
wg_stop "$wa"

say "allowed IPs are listed in the order they were configured (as the kernel and wireguard-go do)"
wg_start "$KIND" a "$wa"
pp n a wg set "$wa" peer "$pb" allowed-ips 100.100.0.2/32,2001:db8:100::2/128,100.100.5.0/24,2001:db8:105::/48
assert_eq "allowed ips, in order" "100.100.0.2/32 2001:db8:100::2/128 100.100.5.0/24 2001:db8:105::/48" \
	"$(wg_show a "$wa" allowed-ips "$pb")"
n a wg showconf "$wa" >"$TMPD/show3.conf"
pp n a wg setconf "$wa" "$TMPD/show3.conf"
n a wg showconf "$wa" >"$TMPD/show4.conf"
diff -u "$TMPD/show3.conf" "$TMPD/show4.conf" >&2 || fail "showconf text differs after setconf of its own output"
printf '    ok: showconf text identical after the round trip\n' >&2
wg_stop "$wa"
