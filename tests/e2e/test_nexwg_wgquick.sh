#!/usr/bin/env bash
# wg-quick up/down with WG_QUICK_USERSPACE_IMPLEMENTATION=<nexwg>: the
# interface, its addresses, MTU and routes appear; traffic flows to a
# wireguard-go peer; on down the interface, routes and UAPI socket vanish and
# the (daemonized) nexwg process exits.
#
# KIND=wireguard-go runs it with wireguard-go standing in for nexwg.
source "$(dirname "$0")/lib.sh"

KIND=${KIND:-nexwg}
PEER_KIND=${PEER_KIND:-wireguard-go}
exe=$(wg_exe "$KIND")

ns_add a
ns_add b
veth_add a eth0 b eth0
addr_add a eth0 192.0.2.1/24
addr_add b eth0 192.0.2.2/24
wq=$(wg_ifname q)
wb=$(wg_ifname b)
wg_key a
wg_key b

say "B: $PEER_KIND ($wb), configured with wg"
wg_start "$PEER_KIND" b "$wb"
wg_iface_up b "$wb" 100.100.0.2/24 2001:db8:100::2/64
addr_add b "$wb" 203.0.113.1/32
pp n b wg set "$wb" private-key "$(privfile b)" listen-port 51820 \
	peer "$(pub a)" allowed-ips 100.100.0.1/32,2001:db8:100::1/128

say "A: wg-quick up $wq.conf with $KIND"
conf=$TMPD/$wq.conf
(
	umask 077
	cat >"$conf" <<EOF
[Interface]
PrivateKey = $(cat "$(privfile a)")
Address = 100.100.0.1/24, 2001:db8:100::1/64
ListenPort = 51000
MTU = 1380

[Peer]
PublicKey = $(pub b)
Endpoint = 192.0.2.2:51820
AllowedIPs = 100.100.0.2/32, 2001:db8:100::2/128, 203.0.113.0/24
EOF
)
NX_SOCKETS+=("$WG_RUNDIR/$wq.sock")
pp n a env WG_QUICK_USERSPACE_IMPLEMENTATION="$exe" LOG_LEVEL=error wg-quick up "$conf" ||
	fail "wg-quick up failed"
pid=$(find_daemon "$exe" "$wq") || fail "no $KIND process for $wq after wg-quick up"
track_pid "$pid" "$KIND-$wq (daemonized)"
printf '    %s runs as pid %s\n' "$KIND" "$pid" >&2

say "the interface, its addresses, MTU and routes are there"
sock_exists "$wq" || fail "no socket $WG_RUNDIR/$wq.sock"
link=$(ip -n "$(ns a)" link show "$wq")
assert_contains "link" "mtu 1380" "$link"
assert_contains "link" "UP" "$link"
addrs=$(ip -n "$(ns a)" addr show dev "$wq")
assert_contains "addresses" "inet 100.100.0.1/24" "$addrs"
assert_contains "addresses" "inet6 2001:db8:100::1/64" "$addrs"
assert_contains "route" "203.0.113.0/24 dev $wq" "$(ip -n "$(ns a)" route show 203.0.113.0/24)"
assert_eq "listen port" 51000 "$(wg_show a "$wq" listen-port)"
assert_eq "peers" "$(pub b)" "$(wg_show a "$wq" peers)"
ping_ok a 100.100.0.2
ping_ok a 203.0.113.1
ping_ok a 2001:db8:100::2
ping_ok b 100.100.0.1
ping_ok a 100.100.0.2 -M do -s 1352
pp n a wg show "$wq"

say "wg-quick down: everything is gone and $KIND exits"
pp n a wg-quick down "$conf" || fail "wg-quick down failed"
assert_fails "interface gone" ip -n "$(ns a)" link show "$wq"
assert_eq "route gone" "" "$(ip -n "$(ns a)" route show 203.0.113.0/24)"
wait_for 5 eval "! sock_exists $wq" || fail "$KIND left $WG_RUNDIR/$wq.sock after wg-quick down"
printf '    ok: socket removed\n' >&2
wait_for 5 eval "! pid_alive $pid" || fail "$KIND (pid $pid) still runs after wg-quick down"
printf '    ok: process %s exited\n' "$pid" >&2
untrack_pid "$pid"

say "wg-quick up again (nothing stale in the way), then down"
pp n a env WG_QUICK_USERSPACE_IMPLEMENTATION="$exe" LOG_LEVEL=error wg-quick up "$conf" ||
	fail "second wg-quick up failed"
pid=$(find_daemon "$exe" "$wq") || fail "no $KIND process for $wq after wg-quick up"
track_pid "$pid" "$KIND-$wq (daemonized)"
ping_ok a 100.100.0.2
pp n a wg-quick down "$conf" || fail "wg-quick down failed"
wait_for 5 eval "! sock_exists $wq" || fail "$KIND left $WG_RUNDIR/$wq.sock after wg-quick down"
wait_for 5 eval "! pid_alive $pid" || fail "$KIND (pid $pid) still runs after wg-quick down"
untrack_pid "$pid"
printf '    ok: down again, socket removed, process exited\n' >&2
