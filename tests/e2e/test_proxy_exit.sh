#!/usr/bin/env bash
# nexd proxy and exit nodes, both ways, every proxy run as nobody (65534):
#  - a proxy's SOCKS5 server reaches the internet through a kernel-mode exit
#    node once subscribed (nexctl nexd exit-node enable), and names resolved
#    by the proxy host's resolver (socks5h); refused again after disable;
#  - a rootless exit node (nexd proxy --exit-node): approved like any exit
#    node, used by a kernel-mode client (TCP, UDP and ping; the internet
#    sees the exit host's address), refusing the exit host's own networks;
#  - failover of that client from the rootless exit node to a kernel-mode
#    one when the rootless one dies;
#  - nothing created on the rootless exit node's host.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

say "the internet: API, STUN, DNS, a whoami web server and a UDP echo"
inet_up
api_up
stun_up
dns_up
www_up
bg_start udp-www www "$UDPECHO" serve "$WWW_IP" 5300

say "a kernel-mode exit node, a rootless one, a kernel-mode client, a proxy client"
exit_host ek 203.0.113.40
exit_host er 203.0.113.50
nat_host c1 natc1 203.0.113.2 192.0.2
nat_host p1 natp1 203.0.113.3 198.51.100
for h in ek er c1 p1; do resolver "$h"; done
# the exit host lets unprivileged users open ICMP sockets, as systemd sets it
n er sysctl -qw net.ipv4.ping_group_range="0 2147483647"
KEY=$(reg_key api)
ER_BEFORE=$(host_state er)
nexd_start ek "$KEY" router --exit-node
proxy_start er "$KEY" proxy --exit-node
nexd_start c1 "$KEY"
proxy_start p1 "$KEY" proxy --socks5 127.0.0.1:1080
nexd_wait_up ek
nexd_wait_up c1
proxy_wait_up er
proxy_wait_up p1
approve_exit ek
approve_exit er
assert_eq "nothing created on the rootless exit node's host" "$ER_BEFORE" "$(host_state er)"
ER=$(proxy_ip er)
wait_for 20 n c1 ping -c 1 -W 1 "$ER" >/dev/null || fail "c1 cannot ping the rootless exit node $ER"
assert_contains "the rootless exit node's record says it forwards" "rootless" \
	"$(nexctl_admin api -o json device list | jq -r '.devices[] | select(.hostname == "er") | .exit_node_status')"

say "SOCKS5 through a kernel-mode exit node, once subscribed"
rc=0
n p1 curl -s -m 5 --socks5 127.0.0.1:1080 "http://$WWW_IP/" >/dev/null 2>&1 || rc=$?
assert_eq "not subscribed: refused (curl 97)" 97 "$rc"
exit_listed_proxy() {
	wait_for 15 eval "proxy_ctl $1 exit-node list -o json | jq -e 'any(.[]; .hostname == \"$2\" and .approved)'" ||
		fail "$1 does not list $2 as an approved exit node"
}
exit_listed_proxy p1 ek
say "the proxy's prober (ICMP echo through its stack) measures both exit nodes"
wait_for 15 eval "proxy_ctl p1 exit-node list -o json | jq -e '[.[] | select(.reachable and .latency_ms != null)] | length == 2'" ||
	fail "p1 has not measured both exit nodes: $(proxy_ctl p1 exit-node list 2>&1)"
printf '    ok: p1 measured both exit nodes\n' >&2
assert_ok "enable on the proxy, as its user" proxy_ctl p1 exit-node enable --exit-node ek
wait_for 15 sh -c "[ \"\$(ip netns exec $NX-p1 curl -s -m 2 --socks5 127.0.0.1:1080 http://$WWW_IP/)\" = 203.0.113.40 ]" || true
assert_eq "SOCKS5 to the internet: seen from the kernel exit node" 203.0.113.40 \
	"$(n p1 curl -s -m 5 --socks5 127.0.0.1:1080 "http://$WWW_IP/")"
assert_eq "socks5h: the name resolved by p1's resolver" 203.0.113.40 \
	"$(n p1 curl -s -m 5 --socks5-hostname 127.0.0.1:1080 http://www.example.test/)"
assert_contains "status: using ek" "using ek" "$(proxy_ctl p1 status)"

say "the proxy client through the rootless exit node"
assert_ok "switch to er" proxy_ctl p1 exit-node enable --exit-node er
wait_for 15 sh -c "[ \"\$(ip netns exec $NX-p1 curl -s -m 2 --socks5 127.0.0.1:1080 http://$WWW_IP/)\" = 203.0.113.50 ]" ||
	fail "SOCKS5 through the rootless exit node: $(n p1 curl -s -m 2 --socks5 127.0.0.1:1080 "http://$WWW_IP/" 2>&1)"
printf '    ok: a proxy client through a rootless exit node\n' >&2
assert_ok "disable" proxy_ctl p1 exit-node disable
rc=0
wait_for 10 sh -c "! ip netns exec $NX-p1 curl -s -m 2 --socks5 127.0.0.1:1080 http://$WWW_IP/ >/dev/null 2>&1" || true
n p1 curl -s -m 5 --socks5 127.0.0.1:1080 "http://$WWW_IP/" >/dev/null 2>&1 || rc=$?
assert_eq "after disable: refused again (curl 97)" 97 "$rc"

say "a kernel-mode client through the rootless exit node: TCP, UDP, ping"
exit_listed c1 er
nexd_ctl c1 exit-node enable --exit-node er,ek --failover >/dev/null
expect_source c1 203.0.113.50
assert_eq "UDP through the rootless exit node" "203.0.113.50 hello-exit" \
	"$(n c1 "$UDPECHO" send "$WWW_IP" 5300 hello-exit)"
assert_ok "ping through the rootless exit node" n c1 ping -c 2 -W 2 "$WWW_IP"
say "the exit host itself is refused (its addresses are its own networks)"
bg_start whoami-er er "$WHOAMI" 203.0.113.50 8081
wait_for 5 n er sh -c "ss -Htln | grep -q '203.0.113.50:8081 '" || fail "whoami on er did not start"
assert_eq "er reaches its own service" 203.0.113.50 "$(n er curl -s -m 2 http://203.0.113.50:8081/)"
assert_eq "c1 through er does not" "" "$(n c1 curl -s -m 3 http://203.0.113.50:8081/ || true)"

say "failover from the rootless exit node to the kernel one when it dies"
kill -KILL "${NEXD_PID[er]}"
wait "${NEXD_PID[er]}" 2>/dev/null || true
untrack_pid "${NEXD_PID[er]}"
ms=$(source_within c1 203.0.113.40 15)
printf '    failover took %s ms\n' "$ms" >&2
assert_ge "failover happened" 0 "$ms"
assert_le "failover time (ms)" 6000 "$ms"
say "after a crash of the rootless exit node: nothing left on its host"
assert_eq "er's host as before" "$ER_BEFORE" "$(host_state er)"
say "the proxy and the kernel-mode client stop cleanly"
proxy_stop p1
nexd_stop c1
