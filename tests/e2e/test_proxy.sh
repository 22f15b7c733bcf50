#!/usr/bin/env bash
# nexd proxy, rootless (run as nobody, 65534): a kernel-mode device and a
# proxy in one mesh. Ingress TCP and UDP (the mesh reaches services on the
# proxy's host), egress TCP and UDP added at run time with nexctl (the
# proxy's host reaches the mesh), SOCKS5 to mesh addresses, refused outside
# the mesh while not subscribed; rules listed and removed; a rule whose
# port is taken fails the start; nothing created on the host (links,
# addresses, routes, rules, nft, sysctls) while running or after.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

say "the internet: API, STUN, DNS, a whoami web server"
inet_up
api_up
stun_up
dns_up
www_up

say "a kernel-mode device c1 behind a NAT, and the proxy host p1 behind another"
nat_host c1 natc1 203.0.113.2 192.0.2
nat_host p1 natp1 203.0.113.3 198.51.100
for h in c1 p1; do resolver "$h"; done
KEY=$(reg_key api)
nexd_start c1 "$KEY"
nexd_wait_up c1
C1=$(tunnel_ip c1)

say "services on p1's host, on loopback only: a web server and a UDP echo"
bg_start www-p1 p1 "$WHOAMI" 127.0.0.1 8000
bg_start udp-p1 p1 "$UDPECHO" serve 127.0.0.1 5300
wait_for 5 n p1 sh -c "ss -Htln | grep -q '127.0.0.1:8000 '" || fail "whoami on p1 did not start"

before=$(host_state p1)
proxy_start p1 "$KEY" proxy --ingress tcp:8080:127.0.0.1:8000 --ingress udp:5353:127.0.0.1:5300 \
	--socks5 127.0.0.1:1080 --max-flows-per-rule 2 --udp-idle-timeout 3 --tcp-idle-timeout 5
proxy_wait_up p1
P1=$(proxy_ip p1)
assert_eq "nexd proxy runs as nobody" "$PROXY_UID" "$(awk '/^Uid:/ { print $2 }' "/proc/${NEXD_PID[p1]}/status")"
assert_eq "nothing created on p1's host" "$before" "$(host_state p1)"

say "ingress TCP: c1 reaches p1's loopback web server through p1's tunnel address"
wait_for 20 n c1 curl -sf -m 2 "http://$P1:8080/" >/dev/null || fail "ingress tcp:8080 does not answer"
# the service sees the connection from the proxy's host (loopback)
assert_eq "ingress TCP answer" "127.0.0.1" "$(n c1 curl -sf -m 3 "http://$P1:8080/")"
say "ingress UDP: c1's datagram reaches p1's echo and the answer comes back"
assert_eq "ingress UDP answer" "127.0.0.1 hello-ingress" "$(n c1 "$UDPECHO" send "$P1" 5353 hello-ingress)"

say "limits: two UDP associations per rule (each udpecho send is a new source port); idle ones expire"
wait_for 8 eval '[ "$(proxy_rule p1 udp:5353:127.0.0.1:5300 flows)" = 0 ]' ||
	fail "the first association did not expire after --udp-idle-timeout 3"
assert_ok "association 1" n c1 "$UDPECHO" send "$P1" 5353 one
assert_ok "association 2" n c1 "$UDPECHO" send "$P1" 5353 two
assert_fails "association 3: over --max-flows-per-rule 2" n c1 "$UDPECHO" send "$P1" 5353 three
refused=$(proxy_rule p1 udp:5353:127.0.0.1:5300 refused)
assert_ge "refused datagrams counted" 1 "$refused"
wait_for 8 sh -c "ip netns exec $NX-c1 $UDPECHO send $P1 5353 four >/dev/null" ||
	fail "no new association after the idle ones expired"
printf '    ok: a new association once the idle ones expired\n' >&2

say "limits: two TCP connections per rule, the third reset; silent ones reset after --tcp-idle-timeout 5"
bg_start hold-p1 p1 python3 -c 'import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 7001))
s.listen(16)
held = []
while True:
    held.append(s.accept()[0])'
wait_for 5 n p1 sh -c "ss -Htln | grep -q '127.0.0.1:7001 '" || fail "the holding server on p1 did not start"
assert_ok "add-ingress tcp:7000" proxy_ctl p1 proxy add-ingress tcp:7000:127.0.0.1:7001
tcp7000() { proxy_rule p1 tcp:7000:127.0.0.1:7001 "$1"; }
bg_start hold-c1a c1 bash -c "exec 3<>/dev/tcp/$P1/7000; sleep 30"
bg_start hold-c1b c1 bash -c "exec 3<>/dev/tcp/$P1/7000; sleep 30"
wait_for 5 eval '[ "$(tcp7000 flows)" = 2 ]' ||
	fail "two held connections are not two flows: $(tcp7000 flows)"
t0=$(date +%s)
rc=0
n c1 bash -c "exec 3<>/dev/tcp/$P1/7000 && read -t 4 -u 3 line" || rc=$?
assert_eq "a third connection is reset, not held (read ends at once)" 1 "$(( rc != 0 && $(date +%s) - t0 < 3 ))"
assert_eq "the third is counted as refused" 1 "$(tcp7000 refused)"
assert_eq "and the two held ones are still the rule's flows" 2 "$(tcp7000 flows)"
wait_for 10 eval '[ "$(tcp7000 flows)" = 0 ]' ||
	fail "the silent connections were not closed after --tcp-idle-timeout 5: $(tcp7000 flows) flows"
printf '    ok: silent TCP flows reset after the idle timeout\n' >&2
assert_ok "remove it" proxy_ctl p1 proxy remove ingress tcp:7000:127.0.0.1:7001

say "a port without a rule: nothing answers (no host loopback through the proxy)"
assert_fails "tcp to p1's port 8000 over the mesh" n c1 curl -sf -m 2 "http://$P1:8000/"

say "egress, added at run time: p1's loopback port 9090 reaches c1's web server over the mesh"
bg_start www-c1 c1 "$WHOAMI" "$C1" 80
bg_start udp-c1 c1 "$UDPECHO" serve "$C1" 5300
wait_for 5 n c1 sh -c "ss -Htln | grep -q '$C1:80 '" || fail "whoami on c1 did not start"
out=$(proxy_ctl p1 proxy add-egress "tcp:9090:$C1:80")
assert_eq "add-egress tcp" "added egress tcp:9090:$C1:80" "$out"
out=$(proxy_ctl p1 proxy add-egress "udp:9053:$C1:5300")
assert_eq "add-egress udp" "added egress udp:9053:$C1:5300" "$out"
# c1 sees p1's tunnel address
assert_eq "egress TCP: c1 sees p1's tunnel address" "$P1" "$(n p1 curl -sf -m 5 http://127.0.0.1:9090/)"
assert_eq "egress UDP answer" "$P1 hello-egress" "$(n p1 "$UDPECHO" send 127.0.0.1 9053 hello-egress)"

say "SOCKS5: a mesh address through the mesh; the internet refused while not subscribed"
assert_eq "SOCKS5 to c1" "$P1" "$(n p1 curl -sf -m 5 --socks5 127.0.0.1:1080 "http://$C1/")"
rc=0
n p1 curl -sS -m 5 --socks5 127.0.0.1:1080 "http://$WWW_IP/" >/dev/null 2>"$TMPD/socks.err" || rc=$?
assert_eq "SOCKS5 to the internet without an exit node: curl's 'connection not allowed' (97)" 97 "$rc"
assert_contains "curl shows the reply code: 2, not allowed by ruleset" "(2)" "$(cat "$TMPD/socks.err")"

say "list, duplicate, remove"
proxy_ctl p1 proxy list >"$TMPD/list.txt"
cat "$TMPD/list.txt" >&2
assert_contains "list shows the ingress rule" "tcp:8080:127.0.0.1:8000" "$(cat "$TMPD/list.txt")"
assert_contains "list shows the egress rule" "udp:9053:$C1:5300" "$(cat "$TMPD/list.txt")"
assert_eq "list -o json: four rules" 4 "$(proxy_ctl p1 proxy list -o json | jq '.rules | length')"
assert_fails "the same egress port again" proxy_ctl p1 proxy add-egress "tcp:9090:$C1:81"
assert_ok "remove the egress TCP rule" proxy_ctl p1 proxy remove egress "tcp:9090:$C1:80"
assert_fails "its port no longer answers" n p1 curl -sf -m 2 http://127.0.0.1:9090/
assert_fails "removing it again" proxy_ctl p1 proxy remove egress "tcp:9090:$C1:80"
say "root may use the proxy's socket too; another user may not"
assert_ok "root lists" nexd_ctl p1 proxy list
assert_fails "uid 65533 is refused" n p1 setpriv --reuid 65533 --regid 65533 --clear-groups -- \
	"$NEXCTL" nexd --unix-socket "${NEXD_SOCK[p1]}" proxy list

say "a rule whose port is taken fails the start with a clear message"
mkdir -p "$TMPD/proxy-p2"
chown "$PROXY_UID:$PROXY_UID" "$TMPD/proxy-p2"
rc=0
n p1 "${NOBODY[@]}" "$NEXD" --service-url "$API_URL" \
	--ca-cert "$TMPD/ca.pem" --reg-key "$KEY" --state-dir "$TMPD/proxy-p2/state" --listen-port 51821 \
	--stun-server "$STUN_IP:19302" --unix-socket "$TMPD/proxy-p2/nexd.sock" --hostname p2 \
	proxy --egress tcp:9053:100.100.0.9:53 --egress udp:9053:100.100.0.9:53 >"$TMPD/p2.log" 2>&1 || rc=$?
cat "$TMPD/p2.log" >&2
assert_eq "exit status of a start on a taken port" 1 "$rc"
assert_contains "the message names the port" "127.0.0.1:9053 is in use" "$(cat "$TMPD/p2.log")"
[ ! -e "$TMPD/proxy-p2/nexd.sock" ] || fail "the failed start left its control socket"

say "IPv6 in the mesh: an organization with an IPv6 prefix, a kernel-mode device and a proxy in it"
assert_ok "organization v6net" nexctl_admin api org create v6net --prefix 100.100.64.0/24 --prefix6 2001:db8:6464::/64
KEY6=$(reg_key api --org v6net)
nat_host c6 natc6 203.0.113.6 192.0.2
public_host p6 203.0.113.7
for h in c6 p6; do resolver "$h"; done
nexd_start c6 "$KEY6"
nexd_wait_up c6
bg_start www6-p6 p6 "$WHOAMI" ::1 8000
# SOCKS5 with RFC 1929 credentials this time (a file of the proxy's user, mode 0600)
mkdir -p "$TMPD/proxy-p6"
printf 'alice:s3cret-pass\n' >"$TMPD/proxy-p6/socks.auth"
chown -R "$PROXY_UID:$PROXY_UID" "$TMPD/proxy-p6"
chmod 0600 "$TMPD/proxy-p6/socks.auth"
proxy_start p6 "$KEY6" proxy --ingress tcp:8080:[::1]:8000 --socks5 127.0.0.1:1080 \
	--socks5-auth-file "$TMPD/proxy-p6/socks.auth"
proxy_wait_up p6
dev6() { nexctl_admin api -o json device list --org v6net | jq -r --arg h "$1" '.devices[] | select(.hostname == $h) | .tunnel_ip6'; }
C6=$(dev6 c6)
P6=$(dev6 p6)
printf '    c6 %s, p6 %s\n' "$C6" "$P6" >&2
[ -n "$P6" ] && [ "$P6" != null ] || fail "the proxy has no IPv6 tunnel address"
wait_for 20 n c6 ping -6 -c 1 -W 1 "$P6" >/dev/null || fail "c6 cannot ping the proxy's IPv6 address $P6"
printf '    ok: the proxy answers ping on its IPv6 tunnel address\n' >&2
assert_eq "ingress over IPv6 to an IPv6 loopback service" "::1" "$(n c6 curl -sf -m 5 "http://[$P6]:8080/")"
bg_start www6-c6 c6 "$WHOAMI" "$C6" 80
wait_for 5 n c6 sh -c "ss -Htln | grep -q '$C6\]*:80 '" || fail "whoami on c6 did not start"
assert_eq "SOCKS5 (with credentials) to an IPv6 mesh address: c6 sees p6's IPv6 tunnel address" "$P6" \
	"$(n p6 curl -sf -m 5 --proxy socks5://alice:s3cret-pass@127.0.0.1:1080 "http://[$C6]/")"
assert_fails "SOCKS5 with a wrong password" n p6 curl -sf -m 5 --proxy socks5://alice:wrong@127.0.0.1:1080 "http://[$C6]/"
assert_fails "SOCKS5 without credentials" n p6 curl -sf -m 5 --socks5 127.0.0.1:1080 "http://[$C6]/"
assert_eq "the password is not in the log" 0 "$(grep -c 's3cret-pass' "$TMPD/nexd-p6.log" || true)"
assert_ok "add-egress to an IPv6 mesh address" proxy_ctl p6 proxy add-egress "tcp:9090:[$C6]:80"
assert_eq "egress to IPv6: c6 sees p6's IPv6 address" "$P6" "$(n p6 curl -sf -m 5 http://127.0.0.1:9090/)"
proxy_stop p6

say "stop: nothing left on the host"
proxy_stop p1
assert_eq "p1's host as before" "$before" "$(host_state p1)"
! n p1 ss -Htuln | grep -E ':(1080|9053|51820) ' || fail "a listener of the proxy is left"
