#!/usr/bin/env bash
# Several exit nodes: the default choice by latency (one exit node is made
# farther by a 50 ms userspace delay link), failover within 5 s when the
# exit node in use dies, fail closed with none left (out of band still
# working) and resume, an ordered preference with return to the first after
# 30 s of steady answers, pinning by name (fail closed, or --failover), no
# IPv6 leak, the client's gateway replaced while subscribed; nothing left
# behind.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

inet_up
api_up
stun_up
dns_up
www_up
KEY=$(reg_key api)

say "two exit nodes: exitA near (203.0.113.40), exitB 50 ms away behind 203.0.113.42"
exit_host exitA 203.0.113.40
delayed_host exitB rb 203.0.113.42 50
say "a client behind its NAT, with IPv6 on its LAN routed to the internet host"
nat_host c1 natc1 203.0.113.2 198.51.100
for h in exitA exitB c1; do resolver "$h"; done
addr_add natc1 lan0 2001:db8:c1::1/64
addr_add c1 eth0 2001:db8:c1::2/64
addr_add natc1 eth0 2001:db8:100::2/64
addr_add www eth0 2001:db8:100::80/64
n natc1 sysctl -qw net.ipv6.conf.all.forwarding=1
ip -n "$NX-c1" -6 route add default via 2001:db8:c1::1
ip -n "$NX-www" -6 route add 2001:db8:c1::/64 via 2001:db8:100::2
bg_start whoami6 www "$WHOAMI" 2001:db8:100::80 80
wait_for 5 n c1 curl -s -m 1 "http://[2001:db8:100::80]/" || fail "no IPv6 path to the internet host"
assert_eq "IPv6 source before subscribing (its router masquerades IPv6 too)" 2001:db8:100::2 "$(n c1 curl -s -m 2 "http://[2001:db8:100::80]/")"
C1_BEFORE=$(routing_state c1)

nexd_start exitA "$KEY" router --exit-node
nexd_start exitB "$KEY" router --exit-node
nexd_start c1 "$KEY" --metrics-listen 127.0.0.1:9101
for h in exitA exitB c1; do nexd_wait_up "$h"; done
approve_exit exitA
approve_exit exitB
mesh_ping c1 exitA
mesh_ping c1 exitB
wait_for 20 sh -c "ip netns exec $NX-c1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[c1]} exit-node list -o json | jq -e 'length == 2 and all(.[]; .latency_ms != null)'" ||
	fail "c1 has no latency for both exit nodes"
list=$(nexd_ctl c1 exit-node list)
printf '%s\n' "$list" >&2
latA=$(nexd_ctl c1 exit-node list -o json | jq '.[] | select(.hostname == "exitA") | .latency_ms')
latB=$(nexd_ctl c1 exit-node list -o json | jq '.[] | select(.hostname == "exitB") | .latency_ms')
assert_ge "exitB's latency (ms)" 90 "$latB"
assert_le "exitA's latency (ms)" 40 "$latA"

say "the default choice: the nearer exit node"
nexd_ctl c1 exit-node enable >/dev/null
expect_source c1 203.0.113.40
assert_contains "list marks the one in use" "yes" "$(nexd_ctl c1 exit-node list | grep exitA)"
say "no IPv6 leak without an IPv6 exit node"
assert_eq "IPv6 to the internet while subscribed" "" "$(n c1 curl -s -m 2 "http://[2001:db8:100::80]/" || true)"

say "failover within 5 s when the exit node in use dies"
kill -KILL "${NEXD_PID[exitA]}"
wait "${NEXD_PID[exitA]}" 2>/dev/null || true
untrack_pid "${NEXD_PID[exitA]}"
ms=$(source_within c1 203.0.113.42 15)
printf '    failover took %s ms\n' "$ms" >&2
assert_ge "failover happened" 0 "$ms"
assert_le "failover time (ms)" 5000 "$ms"
m=$(n c1 curl -s http://127.0.0.1:9101/metrics)
grep -q '^nexd_exit_switches_total [1-9]' <<<"$m" || fail "metrics: no switch counted: $(grep switches <<<"$m")"
assert_contains "metrics: using an exit node" 'nexd_exit_client_state{state="using"} 1' "$m"
assert_contains "metrics: the API answers" "nexd_api_connected 1" "$m"
grep -q '^nexd_peer_receive_bytes_total{peer="[^"]*",hostname="exitB"} [1-9]' <<<"$m" ||
	fail "no bytes from exitB in the metrics: $(grep exitB <<<"$m")"
printf '    ok: %s\n' "metrics: bytes received from exitB" >&2

say "none left: fail closed, out of band still works; resume when one returns"
kill -KILL "${NEXD_PID[exitB]}"
wait "${NEXD_PID[exitB]}" 2>/dev/null || true
untrack_pid "${NEXD_PID[exitB]}"
sleep 4
assert_eq "no internet with no exit node" "" "$(whoami_from c1)"
assert_ok "the API server is reached" n c1 curl -sf -m 5 --cacert "$TMPD/ca.pem" "$API_URL/healthz"
assert_eq "DNS through the host's resolver" "$WWW_IP" "$(n c1 getent hosts www.example.test | awk '{ print $1 }')"
assert_ok "a STUN answer" n c1 "$TOOLS/stunprobe" "$STUN_IP:19302"
nexd_start exitB "$KEY" router --exit-node
nexd_wait_up exitB
expect_source c1 203.0.113.42

say "an ordered preference: the first that answers, and back to it after 30 s of steady answers"
out=$(nexd_ctl c1 exit-node enable --exit-node exitA,exitB)
expect_source c1 203.0.113.42
nexd_start exitA "$KEY" router --exit-node
nexd_wait_up exitA
sleep 12
assert_eq "still on exitB 12 s after exitA returned" 203.0.113.42 "$(whoami_from c1)"
ms=$(source_within c1 203.0.113.40 40)
assert_ge "back on exitA" 0 "$ms"

say "pinned by name: kept even when dead (fail closed), or --failover"
nexd_ctl c1 exit-node enable --exit-node exitB >/dev/null
expect_source c1 203.0.113.42
kill -KILL "${NEXD_PID[exitB]}"
wait "${NEXD_PID[exitB]}" 2>/dev/null || true
untrack_pid "${NEXD_PID[exitB]}"
sleep 5
assert_eq "pinned and dead: nothing leaves" "" "$(whoami_from c1)"
nexd_ctl c1 exit-node enable --exit-node exitB --failover >/dev/null
expect_source c1 203.0.113.40

say "the client's gateway is replaced while subscribed"
nat_host c1b natc1b 203.0.113.4 192.0.2
ip -n "$NX-c1b" link set eth0 down
ip link add "${NX}gw" netns "$NX-c1" type veth peer name "${NX}gwp" netns "$NX-natc1b"
ip -n "$NX-c1" link set "${NX}gw" name eth1
ip -n "$NX-natc1b" link set "${NX}gwp" name lan1
ip -n "$NX-c1" link set eth1 up
ip -n "$NX-natc1b" link set lan1 up
ip -n "$NX-natc1b" addr add 192.0.2.129/25 dev lan1
ip -n "$NX-c1" addr add 192.0.2.130/25 dev eth1
n natc1b nft add rule inet home input iifname lan1 accept
n natc1b nft add rule inet home forward iifname lan1 accept
pp ip -n "$NX-c1" route replace default via 192.0.2.129 dev eth1
wait_for 10 sh -c "ip -n $NX-c1 route show table 19302 | grep -q 'via 192.0.2.129 dev eth1'" ||
	fail "table 19302 did not follow the new gateway: $(ip -n "$NX-c1" route show table 19302)"
assert_ok "the API server is reached through the new gateway" n c1 curl -sf -m 5 --cacert "$TMPD/ca.pem" "$API_URL/healthz"
expect_source c1 203.0.113.40
pp ip -n "$NX-c1" route replace default via 198.51.100.1 dev eth0
wait_for 10 sh -c "ip -n $NX-c1 route show table 19302 | grep -q 'via 198.51.100.1 dev eth0'" ||
	fail "table 19302 did not follow the gateway back"

say "disable and stop: nothing left"
nexd_ctl c1 exit-node disable >/dev/null
expect_source c1 203.0.113.2
ip -n "$NX-c1" link del eth1
nexd_stop c1
assert_eq "client state after stop = before start" "$C1_BEFORE" "$(routing_state c1)"
nexd_stop exitA
