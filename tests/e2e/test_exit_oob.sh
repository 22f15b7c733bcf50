#!/usr/bin/env bash
# Exit nodes, what must never go wrong: with the exit node dead, a
# subscribed client still reaches the API server (and can be unsubscribed
# from it), resolves names through the host's resolver and gets a STUN
# answer, while nothing else leaves around the tunnel; a client with strict
# rp_filter works; a host on the exit node's LAN cannot reach a subscribed
# client; nothing is left behind after disable, stop, or kill -9 and a
# restart (which ends with exactly one subscription's rules); an exit node
# with hardened sysctls has them unchanged after it stops.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

inet_up
api_up
stun_up
dns_up
www_up

say "an exit node whose host starts hardened (accept_redirects=0)"
exit_host exit 203.0.113.40
n exit sysctl -qw net.ipv4.conf.all.accept_redirects=0 net.ipv4.conf.default.accept_redirects=0 \
	net.ipv4.conf.eth0.accept_redirects=0
resolver exit
EXIT_BEFORE=$(routing_state exit)
KEY=$(reg_key api)
nexd_start exit "$KEY" router --exit-node
nexd_wait_up exit
approve_exit exit
fwd=$(n exit cat /proc/sys/net/ipv4/conf/eth0/forwarding)
assert_eq "forwarding on the uplink" 1 "$fwd"
assert_eq "global ip_forward untouched" 0 "$(n exit cat /proc/sys/net/ipv4/ip_forward)"
assert_eq "accept_redirects untouched" 0 "$(n exit cat /proc/sys/net/ipv4/conf/all/accept_redirects)"

say "a client with strict rp_filter, behind its NAT"
nat_host c1 natc1 203.0.113.2 192.0.2
n c1 sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1 net.ipv4.conf.eth0.rp_filter=1
resolver c1
C1_BEFORE=$(routing_state c1)
nexd_start c1 "$KEY"
nexd_wait_up c1
mesh_ping c1 exit
C1_RUNNING=$(routing_state c1)
exit_listed c1 exit
nexd_ctl c1 exit-node enable >/dev/null
expect_source c1 203.0.113.40
mesh_ping c1 exit
assert_eq "rules of one subscription" 6 "$(exit_rules c1)"
assert_eq "c1 resolves through its resolver" "$WWW_IP" "$(n c1 getent hosts www.example.test | awk '{ print $1 }')"

say "DNS to the host's resolver goes out of band; DNS to any other server through the tunnel"
public_host dns2 203.0.113.54
bg_start dnsmasq2 dns2 dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
	--user=root --listen-address=203.0.113.54 --bind-interfaces --pid-file="$TMPD/dnsmasq2.pid" \
	--address=/www.example.test/"$WWW_IP" --log-facility="$TMPD/dnsmasq2-queries.log" --log-queries
wait_for 5 n dns2 sh -c "ss -Hluln | grep -q '203.0.113.54:53 '" || fail "the second DNS server did not start"
# a DNS query for oob.example.test, by hand (no dig on a fresh machine)
dnsq() { n c1 bash -c "printf '\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03oob\x07example\x04test\x00\x00\x01\x00\x01' >/dev/udp/$1/53"; }
dnsq 203.0.113.54
dnsq "$DNS_IP"
wait_for 5 grep -q "oob.example.test from 203.0.113.40" "$TMPD/dnsmasq2-queries.log" ||
	fail "DNS to another server did not go through the exit node: $(grep oob "$TMPD/dnsmasq2-queries.log")"
printf '    ok: %s\n' "$(grep -m1 'oob.example.test from' "$TMPD/dnsmasq2-queries.log" | sed 's/^.*query/query/')" >&2
wait_for 5 grep -q "oob.example.test from 203.0.113.2" "$TMPD/dnsmasq-queries.log" ||
	fail "DNS to the host's resolver did not go out of band: $(grep oob "$TMPD/dnsmasq-queries.log")"
printf '    ok: %s\n' "$(grep -m1 'oob.example.test from' "$TMPD/dnsmasq-queries.log" | sed 's/^.*query/query/')" >&2

say "a host on the exit node's LAN routing the mesh to it cannot reach the client"
public_host lan 203.0.113.50
n lan ip route add 100.100.0.0/16 via 203.0.113.40
ping_fails lan "$(tunnel_ip c1)"

say "the exit node dies: out-of-band still works, nothing else leaves"
kill -KILL "${NEXD_PID[exit]}"
wait "${NEXD_PID[exit]}" 2>/dev/null || true
untrack_pid "${NEXD_PID[exit]}"
sleep 1
assert_eq "no internet around the dead tunnel" "" "$(whoami_from c1)"
assert_eq "DNS through the host's resolver" "$WWW_IP" "$(n c1 getent hosts www.example.test | awk '{ print $1 }')"
assert_ok "a STUN answer" n c1 "$TOOLS/stunprobe" "$STUN_IP:19302"
assert_ok "the API server is reached" n c1 curl -sf -m 5 --cacert "$TMPD/ca.pem" "$API_URL/healthz"
st=$(nexd_ctl c1 status -o json)
assert_eq "nexd keeps its API connection" true "$(jq -r .api_connected <<<"$st")"
c1id=$(jq -r .device_id <<<"$st")
say "unsubscribed from the API server while the exit node is dead"
assert_ok "unsubscribe c1" nexctl_admin api device update "$c1id" --exit-node-client off
expect_source c1 203.0.113.2
assert_eq "no rules left after disable" 0 "$(exit_rules c1)"
assert_eq "routing state after disable = before enable" "$C1_RUNNING" "$(routing_state c1)"

say "the exit node's leftovers after kill -9 are cleaned by the next start; a stop restores its sysctls"
nexd_start exit "$KEY" router --exit-node
nexd_wait_up exit
nexd_stop exit
assert_eq "exit node state after stop = before start" "$EXIT_BEFORE" "$(routing_state exit)"
nexd_start exit "$KEY" router --exit-node
nexd_wait_up exit

say "kill -9 while subscribed, then start: exactly one subscription's rules"
assert_ok "subscribe c1" nexctl_admin api device update "$c1id" --exit-node-client on
expect_source c1 203.0.113.40
kill -KILL "${NEXD_PID[c1]}"
wait "${NEXD_PID[c1]}" 2>/dev/null || true
untrack_pid "${NEXD_PID[c1]}"
assert_eq "rules left by the crash" 6 "$(exit_rules c1)"
nexd_start c1 "$KEY"
nexd_wait_up c1
expect_source c1 203.0.113.40
assert_eq "rules after the restart" 6 "$(exit_rules c1)"
nexd_stop c1
assert_eq "client state after stop = before start" "$C1_BEFORE" "$(routing_state c1)"
expect_source c1 203.0.113.2

say "kill -9 while subscribed, then start and stop: nothing left"
nexd_start c1 "$KEY"
nexd_wait_up c1
expect_source c1 203.0.113.40
kill -KILL "${NEXD_PID[c1]}"
wait "${NEXD_PID[c1]}" 2>/dev/null || true
untrack_pid "${NEXD_PID[c1]}"
nexd_start c1 "$KEY"
nexd_wait_up c1
nexd_stop c1
assert_eq "client state after kill -9, start, stop = before start" "$C1_BEFORE" "$(routing_state c1)"

say "the exit node stops: its host's sysctls are as they were"
kill -KILL "${NEXD_PID[exit]}"
wait "${NEXD_PID[exit]}" 2>/dev/null || true
untrack_pid "${NEXD_PID[exit]}"
nexd_start exit "$KEY" router --exit-node
nexd_wait_up exit
nexd_stop exit
assert_eq "exit node state after kill -9, start, stop = before start" "$EXIT_BEFORE" "$(routing_state exit)"
