#!/usr/bin/env bash
# IPv6 through an exit node: in an organization with an IPv6 prefix every
# device has an IPv6 tunnel address (the prefix with its IPv4 address in the
# last 32 bits); an exit node whose uplink has IPv6 advertises ::/0 and
# forwards and masquerades IPv6, and a subscribed client's IPv6 traffic
# leaves from the exit node's IPv6 address. Nothing is left behind.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

inet_up
api_up
stun_up
dns_up
www_up
addr_add www eth0 2001:db8:100::80/64
bg_start whoami6 www "$WHOAMI" 2001:db8:100::80 80
assert_ok "an organization with an IPv6 prefix" nexctl_admin api org create v6net --prefix 100.100.64.0/24 --prefix6 2001:db8:6464::/64
KEY=$(reg_key api --org v6net)

say "an exit node with an IPv6 uplink"
exit_host exit 203.0.113.43 2001:db8:100::43
say "a client behind an IPv4-only NAT, with no IPv6 of its own"
nat_host c natc 203.0.113.5 198.51.100
for h in exit c; do resolver "$h"; done
C_BEFORE=$(routing_state c)
nexd_start exit "$KEY" router --exit-node
nexd_start c "$KEY"
nexd_wait_up exit
nexd_wait_up c
approve_exit exit v6net
mesh_ping c exit
c6=$(ip -n "$NX-c" -6 -o addr show dev "${NEXD_IF[c]}" scope global | awk '{ split($4, a, "/"); print a[1] }')
e6=$(ip -n "$NX-exit" -6 -o addr show dev "${NEXD_IF[exit]}" scope global | awk '{ split($4, a, "/"); print a[1] }')
assert_eq "the client's IPv6 tunnel address" "2001:db8:6464::$(tunnel_ip c | awk -F. '{ printf "%x%02x:%x%02x", $1, $2, $3, $4 }' | sed 's/:0*\([0-9a-f]\)/:\1/')" "$c6"
wait_for 20 n c ping -6 -c 1 -W 1 "$e6" || fail "no IPv6 over the mesh ($c6 -> $e6)"
printf '    ok: IPv6 over the mesh: %s -> %s\n' "$c6" "$e6" >&2
wait_for 15 sh -c "ip netns exec $NX-c $NEXCTL nexd --unix-socket ${NEXD_SOCK[c]} exit-node list -o json | jq -e '.[0].ipv6 == true'" ||
	fail "the exit node does not advertise ::/0"
assert_eq "IPv6 to the internet before subscribing" "" "$(n c curl -s -m 2 "http://[2001:db8:100::80]/" || true)"

say "subscribed: IPv4 and IPv6 leave from the exit node's addresses"
nexd_ctl c exit-node enable >/dev/null
expect_source c 203.0.113.43
wait_for 15 sh -c "[ \"\$(ip netns exec $NX-c curl -s -m 2 'http://[2001:db8:100::80]/')\" = 2001:db8:100::43 ]" || true
assert_eq "IPv6 source seen by the internet host" 2001:db8:100::43 "$(n c curl -s -m 3 "http://[2001:db8:100::80]/" || true)"

say "disabled and stopped: nothing left"
nexd_ctl c exit-node disable >/dev/null
expect_source c 203.0.113.5
nexd_stop c
assert_eq "client state after stop = before start" "$C_BEFORE" "$(routing_state c)"
EXIT_V6FWD=$(n exit cat /proc/sys/net/ipv6/conf/all/forwarding)
assert_eq "the exit node forwards IPv6 while running" 1 "$EXIT_V6FWD"
nexd_stop exit
assert_eq "IPv6 forwarding restored on the exit node" 0 "$(n exit cat /proc/sys/net/ipv6/conf/all/forwarding)"
