#!/usr/bin/env bash
# Exit nodes give the internet, not the exit host's own networks: an exit
# node at home, behind its router, on the LAN 198.51.100.0/24 with a NAS
# (198.51.100.10) and, on its router, a metadata service at 169.254.169.254
# (as clouds have). A subscribed client reaches the internet through it but
# not the NAS, not the metadata service, not a service of the exit host on
# its LAN address; the set of directly connected networks follows the
# host's addresses; with --exit-node-allow-lan the NAS is reachable, the
# metadata service and the exit host itself still not.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

inet_up
api_up
stun_up
dns_up
www_up
KEY=$(reg_key api)

say "home: router 203.0.113.40 (NAT), on its LAN the exit node 198.51.100.2 and a NAS 198.51.100.10"
ns_add home
inet_attach home 203.0.113.40/24
ip -n "$NX-home" route add default via 203.0.113.1 dev eth0
bridge_add home lan0
addr_add home lan0 198.51.100.1/24
addr_add home lan0 169.254.169.254/32
home_router home lan0
for h in exit nas; do
	ns_add "$h"
	veth_add "$h" eth0 home "lan-$h"
	bridge_port home lan0 "lan-$h"
done
addr_add exit eth0 198.51.100.2/24
ip -n "$NX-exit" route add default via 198.51.100.1
ip -n "$NX-exit" route add 169.254.169.254 dev eth0
addr_add nas eth0 198.51.100.10/24
ip -n "$NX-nas" route add default via 198.51.100.1
resolver exit
bg_start whoami-nas nas "$WHOAMI" 198.51.100.10 80
bg_start whoami-meta home "$WHOAMI" 169.254.169.254 80
bg_start whoami-exit exit "$WHOAMI" 198.51.100.2 8080
for u in 198.51.100.10:80 169.254.169.254:80 198.51.100.2:8080; do
	wait_for 5 n exit curl -s -m 1 "http://$u/" >/dev/null || fail "the exit host does not reach $u"
done

say "a client behind its own NAT, subscribed to the exit node"
nat_host c1 natc1 203.0.113.2 192.0.2
resolver c1
nexd_start exit "$KEY" router --exit-node
nexd_start c1 "$KEY"
nexd_wait_up exit
nexd_wait_up c1
approve_exit exit
exit_listed c1 exit
nexd_ctl c1 exit-node enable >/dev/null
expect_source c1 203.0.113.40
mesh_ping c1 exit

TABLE=nexd-exit-${NEXD_IF[exit]}
set_has() { n exit nft list set inet "$TABLE" "$1" | grep -qF "$2"; }
assert_ok "the exit node's directly connected network is in lan4" set_has lan4 198.51.100.0/24
assert_ok "its own LAN address is in own4" set_has own4 198.51.100.2

say "not the NAS, not the metadata service, not the exit host itself"
assert_eq "the NAS (198.51.100.10) through the exit node" "" "$(whoami_from c1 http://198.51.100.10/)"
assert_eq "the metadata service (169.254.169.254)" "" "$(whoami_from c1 http://169.254.169.254/)"
assert_eq "a service of the exit host on its LAN address" "" "$(whoami_from c1 http://198.51.100.2:8080/)"
assert_eq "the internet, still" 203.0.113.40 "$(whoami_from c1)"

say "the sets follow the host's addresses: a new network on the exit host is closed within seconds"
n exit ip link add lan1 type veth peer name lan1p
n exit ip link set lan1 up
n exit ip link set lan1p up
addr_add exit lan1 2001:db8:55::1/64
wait_for 10 set_has lan6 2001:db8:55::/64 || fail "lan6 does not hold the new network: $(n exit nft list set inet "$TABLE" lan6)"
printf '    ok: %s\n' "lan6 holds 2001:db8:55::/64" >&2
n exit ip link del lan1
wait_for 10 sh -c "! ip netns exec $NX-exit nft list set inet $TABLE lan6 | grep -qF 2001:db8:55::" ||
	fail "lan6 still holds the removed network"

say "--exit-node-allow-lan: the NAS is reachable, the metadata service and the host still not"
nexd_stop exit
nexd_start exit "$KEY" router --exit-node --exit-node-allow-lan
nexd_wait_up exit
grep -q "directly connected networks open (--exit-node-allow-lan)" "$TMPD/nexd-exit.log" ||
	fail "the exit node does not say its LAN is open"
expect_source c1 203.0.113.40
assert_eq "lan4 is empty" "" "$(n exit nft list set inet "$TABLE" lan4 | grep elements || true)"
wait_for 10 sh -c "[ \"\$(ip netns exec $NX-c1 curl -s -m 2 http://198.51.100.10/)\" = 198.51.100.2 ]" || true
assert_eq "the NAS sees the exit node's LAN address" 198.51.100.2 "$(whoami_from c1 http://198.51.100.10/)"
assert_eq "the metadata service, still closed" "" "$(whoami_from c1 http://169.254.169.254/)"
assert_eq "the exit host itself, still closed" "" "$(whoami_from c1 http://198.51.100.2:8080/)"

say "after both stop, nothing of nexd is left on the exit host"
nexd_stop c1
nexd_stop exit
assert_eq "no nexd table" "" "$(n exit nft list tables | grep nexd || true)"
