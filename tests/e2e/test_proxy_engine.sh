#!/usr/bin/env bash
# The proxy engine (src/proxy, lwIP on a userspace WireGuard device's packet
# endpoint) with real traffic. Namespace a: nexwg (TUN, kernel TCP/IP) with
# 100.100.0.1/16. Namespace b: build/tools/proxyhost as uid 65534, tunnel
# address 100.100.0.2, no interface. Checked: ping to the proxy; ingress TCP
# (8 MB echoed, checksums, MB/s) and UDP; egress TCP (both ways) and UDP;
# SOCKS5 with curl to an HTTP server in the mesh, by address and by name
# (socks5h, /etc/netns hosts file); SOCKS5 to a non-mesh address refused
# ("not allowed", 0x02) and to a closed mesh port (0x05); an egress rule on
# a taken port refused with a clear message; the counters; SIGTERM.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PROXYHOST=$TOOLS/proxyhost
[ -x "$PROXYHOST" ] || fail "$PROXYHOST not built"
A=a
B=b
NSB=$(ns $B)
# the hosts file of namespace b (ip netns exec mounts it over /etc/hosts)
trap 'rc=$?; rm -rf "/etc/netns/$NSB"; (exit $rc); cleanup' EXIT

# A small Python helper: echo servers and checking clients.
cat >"$TMPD/tool.py" <<'EOF'
import hashlib, os, socket, struct, sys, threading, time

def tcp_echo(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, int(port))); s.listen(64)
    def serve(c):
        while True:
            d = c.recv(65536)
            if not d:
                break
            c.sendall(d)
        c.close()
    while True:
        c, _ = s.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

def udp_echo(host, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((host, int(port)))
    while True:
        d, a = s.recvfrom(65535)
        s.sendto(d, a)

def tcp_check(host, port, nbytes):
    n = int(nbytes)
    data = os.urandom(n)
    c = socket.create_connection((host, int(port)), timeout=20)
    got = []
    def reader():
        left = n
        while left > 0:
            d = c.recv(65536)
            if not d:
                break
            got.append(d); left -= len(d)
    t0 = time.time()
    t = threading.Thread(target=reader); t.start()
    c.sendall(data)
    t.join(60)
    dt = time.time() - t0
    back = b''.join(got)
    ok = hashlib.sha256(back).hexdigest() == hashlib.sha256(data).hexdigest()
    c.shutdown(socket.SHUT_WR)
    eof = c.recv(1) == b''
    c.close()
    print("%s bytes=%d/%d seconds=%.2f MBps=%.1f eof=%s" % ("ok" if ok and eof else "bad", len(back), n, dt,
          2 * n / dt / 1e6, eof))

def udp_check(host, port, count):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    good = 0
    for i in range(int(count)):
        m = ("datagram %d " % i).encode() + os.urandom(200)
        s.sendto(m, (host, int(port)))
        try:
            d, _ = s.recvfrom(65535)
            good += d == m
        except socket.timeout:
            pass
    print(good)

def socks_rep(host, port, dst, dport):
    c = socket.create_connection((host, int(port)), timeout=15)
    c.sendall(b'\x05\x01\x00')
    assert c.recv(2) == b'\x05\x00'
    c.sendall(b'\x05\x01\x00\x01' + socket.inet_aton(dst) + struct.pack('!H', int(dport)))
    r = c.recv(10)
    print("%02x" % r[1])

def socks_early(host, port, dst, dport):
    # the request and the first data in one segment: the data must arrive
    c = socket.create_connection((host, int(port)), timeout=15)
    c.sendall(b'\x05\x01\x00')
    assert c.recv(2) == b'\x05\x00'
    c.sendall(b'\x05\x01\x00\x01' + socket.inet_aton(dst) + struct.pack('!H', int(dport)) + b'early bird')
    r = b''
    while len(r) < 10 + 10:
        d = c.recv(100)
        if not d:
            break
        r += d
    print("%02x %s" % (r[1], r[10:].decode(errors='replace')))

globals()[sys.argv[1].replace('-', '_')](*sys.argv[2:])
EOF
chmod 0711 "$TMPD"
chmod 0644 "$TMPD/tool.py"

say "namespaces: a (nexwg, 100.100.0.1/16) and b (proxyhost as uid 65534, 100.100.0.2)"
ns_add $A
ns_add $B
veth_add $A eth0 $B eth0
addr_add $A eth0 192.0.2.1/24
addr_add $B eth0 192.0.2.2/24
wg_key ka
wg_key kb
install -d -o 65534 -g 65534 -m 0700 "$TMPD/b"
install -o 65534 -g 65534 -m 0600 "$TMPD/kb.key" "$TMPD/b/key"
WA=$(wg_ifname w)
wg_start nexwg $A "$WA"
wg_iface_up $A "$WA" 100.100.0.1/16 2001:db8:100::1/64
pp n $A wg set "$WA" private-key "$(privfile ka)" listen-port 51820 \
	peer "$(pub kb)" endpoint 192.0.2.2:51821 allowed-ips 100.100.0.2/32

say "servers: echo in b on 127.0.0.1 (ingress), echo and HTTP in a on 100.100.0.1 (egress, SOCKS)"
bg_start echo-b-tcp $B $PY "$TMPD/tool.py" tcp-echo 127.0.0.1 7000
bg_start echo-b-udp $B $PY "$TMPD/tool.py" udp-echo 127.0.0.1 7001
bg_start echo-a-tcp $A $PY "$TMPD/tool.py" tcp-echo 100.100.0.1 8000
bg_start echo-a-udp $A $PY "$TMPD/tool.py" udp-echo 100.100.0.1 8001
mkdir -p "$TMPD/www"
head -c 3000000 /dev/urandom >"$TMPD/www/blob"
bg_start http-a $A $PY -m http.server --bind 100.100.0.1 --directory "$TMPD/www" 8080
wait_for 5 n $A sh -c "ss -Htln | grep -q '100.100.0.1:8080 '" || fail "no HTTP server in a"
wait_for 5 n $B sh -c "ss -Htln | grep -q '127.0.0.1:7000 '" || fail "no echo server in b"

say "proxyhost in b as uid 65534"
bg_start proxyhost $B setpriv --reuid 65534 --regid 65534 --clear-groups "$PROXYHOST" \
	--private-key-file "$TMPD/b/key" --listen-port 51821 \
	--peer "$(pub ka)" --endpoint 192.0.2.1:51820 --allowed-ips 100.100.0.0/16 \
	--self 100.100.0.2/32 --mesh 100.100.0.0/16 \
	--ingress tcp:7000:127.0.0.1:7000 --ingress udp:7001:127.0.0.1:7001 \
	--egress tcp:8000:100.100.0.1:8000 --egress udp:8001:100.100.0.1:8001 \
	--egress tcp:8080:100.100.0.1:8080 --socks5 127.0.0.1:1080
PXPID=$BG_PID
wait_for 10 grep -q ready "$TMPD/proxyhost.log" || fail "proxyhost did not start: $(cat "$TMPD/proxyhost.log")"
assert_eq "proxyhost's uid" 65534 "$(awk '/^Uid:/ { print $2 }' "/proc/$PXPID/status")"

say "ping a -> 100.100.0.2 (lwIP answers)"
ping_ok $A 100.100.0.2

say "ingress TCP: a -> 100.100.0.2:7000 -> b's 127.0.0.1:7000, 8 MB echoed"
out=$(n $A $PY "$TMPD/tool.py" tcp-check 100.100.0.2 7000 8000000)
printf '    %s\n' "$out" >&2
assert_contains "ingress TCP echo" "ok bytes=8000000/8000000" "$out"
INGRESS_MBPS=$(sed -n 's/.*MBps=\([0-9.]*\).*/\1/p' <<<"$out")
out=$(n $A $PY "$TMPD/tool.py" tcp-check 100.100.0.2 7000 1000)
assert_contains "ingress TCP, a second connection" "ok bytes=1000/1000" "$out"

say "ingress UDP: a -> 100.100.0.2:7001 -> b's 127.0.0.1:7001"
assert_eq "ingress UDP echoes" 20 "$(n $A $PY "$TMPD/tool.py" udp-check 100.100.0.2 7001 20)"

say "ingress TCP to a port without a rule: refused (RST)"
assert_fails "connect to 100.100.0.2:7999" n $A $PY -c \
	"import socket; socket.create_connection(('100.100.0.2', 7999), timeout=5)"

say "egress TCP: b's 127.0.0.1:8000 -> 100.100.0.1:8000 in a, 4 MB echoed"
out=$(n $B $PY "$TMPD/tool.py" tcp-check 127.0.0.1 8000 4000000)
printf '    %s\n' "$out" >&2
assert_contains "egress TCP echo" "ok bytes=4000000/4000000" "$out"
EGRESS_MBPS=$(sed -n 's/.*MBps=\([0-9.]*\).*/\1/p' <<<"$out")

say "egress UDP: b's 127.0.0.1:8001 -> 100.100.0.1:8001 in a"
assert_eq "egress UDP echoes" 20 "$(n $B $PY "$TMPD/tool.py" udp-check 127.0.0.1 8001 20)"

say "egress TCP (HTTP) download through 127.0.0.1:8080"
pp n $B curl -sS -o "$TMPD/blob.egress" http://127.0.0.1:8080/blob
assert_eq "egress download" "$(sha256sum <"$TMPD/www/blob")" "$(sha256sum <"$TMPD/blob.egress")"

say "SOCKS5: curl to the mesh HTTP server"
pp n $B curl -sS --max-time 20 --socks5 127.0.0.1:1080 -o "$TMPD/blob.socks" http://100.100.0.1:8080/blob
assert_eq "SOCKS download" "$(sha256sum <"$TMPD/www/blob")" "$(sha256sum <"$TMPD/blob.socks")"

say "the rules' counters (SIGUSR1): what was served above"
kill -USR1 "$PXPID"
wait_for 5 grep -q '^rule egress tcp:8080' "$TMPD/proxyhost.log" || fail "no rule lines"
grep -E '^(stats|rule)' "$TMPD/proxyhost.log" >&2
# TCP flows closed; the two UDP associations live until udp_idle_s (60 s)
assert_contains "open flows" "stats flows=2 socks_flows=0" "$(cat "$TMPD/proxyhost.log")"
for r in "ingress tcp:7000:127.0.0.1:7000 flows=0 total=2 refused=0" \
	"ingress udp:7001:127.0.0.1:7001 flows=1 total=1 refused=0" \
	"egress tcp:8000:100.100.0.1:8000 flows=0 total=1 refused=0" \
	"egress udp:8001:100.100.0.1:8001 flows=1 total=1 refused=0" \
	"egress tcp:8080:100.100.0.1:8080 flows=0 total=1 refused=0"; do
	assert_contains "rule line" "rule $r" "$(cat "$TMPD/proxyhost.log")"
done

say "SOCKS5 with a name resolved by the proxy (socks5h, b's hosts file)"
mkdir -p "/etc/netns/$NSB"
printf '127.0.0.1 localhost\n100.100.0.1 web.nx.test\n' >"/etc/netns/$NSB/hosts"
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$NSB/resolv.conf"
chmod 0644 "/etc/netns/$NSB/hosts" "/etc/netns/$NSB/resolv.conf"
# the proxy resolves in its own mount namespace: restart it there so that it sees the file
stop_pid "$PXPID" || fail "proxyhost did not end on SIGTERM"
bg_start proxyhost2 $B setpriv --reuid 65534 --regid 65534 --clear-groups "$PROXYHOST" \
	--private-key-file "$TMPD/b/key" --listen-port 51821 \
	--peer "$(pub ka)" --endpoint 192.0.2.1:51820 --allowed-ips 100.100.0.0/16 \
	--self 100.100.0.2/32 --mesh 100.100.0.0/16 \
	--ingress tcp:7000:127.0.0.1:7000 --egress tcp:8000:100.100.0.1:8000 --socks5 127.0.0.1:1080
PXPID=$BG_PID
wait_for 10 grep -q ready "$TMPD/proxyhost2.log" || fail "proxyhost did not start again"
pp n $B curl -sS --max-time 20 --socks5-hostname 127.0.0.1:1080 -o "$TMPD/blob.socksh" http://web.nx.test:8080/blob
assert_eq "SOCKS download by name" "$(sha256sum <"$TMPD/www/blob")" "$(sha256sum <"$TMPD/blob.socksh")"
rc=0
n $B curl -sS --max-time 20 --socks5-hostname 127.0.0.1:1080 http://no-such-name.nx.test/ >/dev/null 2>"$TMPD/curl.err" || rc=$?
assert_eq "curl exit code for an unknown name (SOCKS host unreachable)" 97 "$rc"

say "SOCKS5: early data, a closed mesh port, a destination outside the mesh"
out=$(n $B $PY "$TMPD/tool.py" socks-early 127.0.0.1 1080 100.100.0.1 8000)
assert_eq "early data echoed after the reply" "00 early bird" "$out"
assert_eq "closed port: connection refused" 05 "$(n $B $PY "$TMPD/tool.py" socks-rep 127.0.0.1 1080 100.100.0.1 9)"
assert_eq "outside the mesh: not allowed" 02 "$(n $B $PY "$TMPD/tool.py" socks-rep 127.0.0.1 1080 198.51.100.7 80)"
rc=0
n $B curl -sS --max-time 10 --socks5 127.0.0.1:1080 http://198.51.100.7/ >/dev/null 2>"$TMPD/curl.err" || rc=$?
assert_eq "curl exit code outside the mesh" 97 "$rc"
assert_contains "curl says (reply code 2: not allowed by ruleset)" "connection to 198.51.100.7. (2)" "$(cat "$TMPD/curl.err")"

say "an egress rule on a taken port is refused with a clear message"
rc=0
n $B setpriv --reuid 65534 --regid 65534 --clear-groups "$PROXYHOST" \
	--private-key-file "$TMPD/b/key" --listen-port 0 --self 100.100.0.2/32 --mesh 100.100.0.0/16 \
	--egress tcp:8000:100.100.0.1:80 >"$TMPD/taken.out" 2>&1 || rc=$?
assert_eq "proxyhost exit status" 1 "$rc"
assert_contains "the message" "egress tcp:8000:100.100.0.1:80: 127.0.0.1:8000 is in use" "$(cat "$TMPD/taken.out")"

say "counters, then SIGTERM: every flow closed"
kill -USR1 "$PXPID"
wait_for 5 grep -q '^stats' "$TMPD/proxyhost2.log" || fail "no stats line"
grep -E '^(stats|rule)' "$TMPD/proxyhost2.log" >&2
assert_contains "every SOCKS flow closed" "stats flows=0 socks_flows=0" "$(cat "$TMPD/proxyhost2.log")"
stop_pid "$PXPID" || fail "proxyhost did not end on SIGTERM"
assert_eq "proxyhost exit status after SIGTERM" 0 "$STOP_RC"
wg_stop "$WA"

printf '\n    ingress TCP echo: %s MB/s (both directions counted), egress TCP echo: %s MB/s\n' \
	"$INGRESS_MBPS" "$EGRESS_MBPS" >&2
