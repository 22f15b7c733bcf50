#!/usr/bin/env bash
# nexd's nftables tables through libnftables (nfttool over src/nexd/nft.c and
# nftrules.c), in fresh namespaces:
#  1. both tables applied, listed with `nft` and checked (chains, hooks,
#     priorities, marks, sets), applied again (atomic replace), the sets
#     updated alone, a foreign `policy drop` forward chain reported, a bad
#     name and a failing script leave the ruleset as it was, deleting leaves
#     exactly the ruleset of before (foreign tables untouched);
#  2. real traffic through the exit node's table: client -- exit node --
#     internet host, plus a host on the exit node's uplink side that routes
#     100.100.0.0/16 to it. Forwarding on exactly the two interfaces (not
#     ip_forward). Without the table the LAN host reaches the client and the
#     client does not reach the internet (no NAT); with it the client reaches
#     the internet host, which sees the exit node's address, TCP MSS is
#     clamped to the route MTU both ways, and the LAN host is dropped.
source "$(dirname "$0")/lib.sh"

# shellcheck disable=SC2034 # used by lib.sh
NX=nxh8$$   # this test's objects carry the helper's tag
NFTTOOL=${NFTTOOL:-$TOOLS/nfttool}
[ -x "$NFTTOOL" ] || fail "nfttool not built ($NFTTOOL)"

# nt NS ARGS...: nfttool inside namespace NS, printed.
nt() {
	local name=$1
	shift
	printf '[+] (%s) nfttool %s\n' "$name" "$*" >&2
	n "$name" "$NFTTOOL" "$@"
}

# block TEXT START: the lines of TEXT from the one containing START to the
# next line that is only "}" at the same indentation.
block() {
	awk -v s="$2" 'index($0, s) { on = 1; ind = $0; sub(/[^ \t].*/, "", ind) }
		on { print } on && $0 == ind "}" { exit }' <<<"$1"
}

# elements TEXT SET: the elements of a set, sorted, one a line.
elements() {
	block "$1" "set $2 {" | tr '\n' ' ' | sed -n 's/.*elements = { *\([^}]*\)}.*/\1/p' |
		tr ',' '\n' | sed 's/^[[:space:]]*//; s/[[:space:]]*$//' | awk 'NF' | sort
}

# counter TEXT RULE-PREFIX: the packet counter of the first rule starting
# (after indentation) with RULE-PREFIX.
counter() {
	awk -v r="$2" '{ l = $0; sub(/^[ \t]+/, "", l) } index(l, r) == 1 {
		for (i = 1; i <= NF; i++) if ($i == "packets") { print $(i + 1); exit } }' <<<"$1"
}

# ======================================================================
say "1. the tables, through libnftables"
ns_add fw

# a foreign ruleset that must survive: what Docker/firewalld would install
pp n fw nft -f - <<'EOF'
table ip filter {
	chain FORWARD {
		type filter hook forward priority 0; policy drop;
	}
}
table inet other {
	set keep {
		type ipv4_addr
		elements = { 192.0.2.7 }
	}
	chain c {
		type filter hook input priority 10; policy accept;
		ip saddr @keep counter accept
	}
}
EOF
before=$(n fw nft list ruleset)

assert_ok "exit table applied" nt fw exit mesh0 up0
assert_ok "client table applied" nt fw client mesh0 up0 100.100.0.0/16 \
	--dns 192.0.2.53 --dns 2001:db8::53 --api 203.0.113.10:443 --api '[2001:db8::10]:443' \
	--stun 203.0.113.20:19302

ex=$(n fw nft list table inet nexd-exit-mesh0)
printf '%s\n' "$ex" >&2
assert_contains "exit: mss chain" "type filter hook forward priority mangle; policy accept;" "$(block "$ex" "chain mss {")"
assert_contains "exit: clamp out" 'iifname "mesh0" oifname "up0" tcp flags syn counter packets 0 bytes 0 tcp option maxseg size set rt mtu' "$ex"
assert_contains "exit: clamp back" 'iifname "up0" oifname "mesh0" tcp flags syn counter packets 0 bytes 0 tcp option maxseg size set rt mtu' "$ex"
fwd=$(block "$ex" "chain forward {")
assert_contains "exit: forward hook" "type filter hook forward priority filter; policy accept;" "$fwd"
assert_contains "exit: out accepted" 'iifname "mesh0" oifname "up0" counter packets 0 bytes 0 accept' "$fwd"
assert_contains "exit: replies accepted" 'iifname "up0" oifname "mesh0" ct state established,related counter packets 0 bytes 0 accept' "$fwd"
assert_contains "exit: rest into the mesh dropped" 'oifname "mesh0" counter packets 0 bytes 0 drop' "$fwd"
assert_contains "exit: no IPv6" 'iifname "mesh0" meta nfproto ipv6 counter packets 0 bytes 0 drop' "$fwd"
assert_contains "exit: nat" "type nat hook postrouting priority srcnat; policy accept;" "$ex"
assert_contains "exit: masquerade" 'iifname "mesh0" oifname "up0" counter packets 0 bytes 0 masquerade' "$ex"

cl=$(n fw nft list table inet nexd-client-mesh0)
printf '%s\n' "$cl" >&2
assert_eq "client: oob4_tcp" "$(printf '%s\n' '192.0.2.53 . 53' '203.0.113.10 . 443' | sort)" "$(elements "$cl" oob4_tcp)"
assert_eq "client: oob4_udp" "$(printf '%s\n' '192.0.2.53 . 53' '203.0.113.20 . 19302' | sort)" "$(elements "$cl" oob4_udp)"
assert_eq "client: oob6_tcp" "$(printf '%s\n' '2001:db8::53 . 53' '2001:db8::10 . 443' | sort)" "$(elements "$cl" oob6_tcp)"
assert_eq "client: oob6_udp" "2001:db8::53 . 53" "$(elements "$cl" oob6_udp)"
assert_contains "client: set type" "type ipv6_addr . inet_service" "$(block "$cl" "set oob6_udp {")"
mark=$(block "$cl" "chain oob_mark {")
assert_contains "client: route chain" "type route hook output priority mangle; policy accept;" "$mark"
assert_contains "client: mark tcp" "ip daddr . tcp dport @oob4_tcp counter packets 0 bytes 0 meta mark set 0x00004b66" "$mark"
assert_contains "client: mark udp6" "ip6 daddr . udp dport @oob6_udp counter packets 0 bytes 0 meta mark set 0x00004b66" "$mark"
assert_contains "client: follow the flow" "ct mark 0x00004b66 meta mark set 0x00004b66" "$mark"
assert_contains "client: save" "meta mark 0x00004b66 ct mark set meta mark" "$mark"
assert_contains "client: wg save" "meta l4proto udp meta mark 0x0000ca6c ct mark set meta mark" "$(block "$cl" "chain mark_save {")"
rest=$(block "$cl" "chain mark_restore {")
assert_contains "client: restore hook" "type filter hook prerouting priority mangle; policy accept;" "$rest"
assert_contains "client: restore" "ct mark { 0x00004b66, 0x0000ca6c } meta mark set ct mark" "$rest"
assert_contains "client: oob masquerade" 'meta mark 0x00004b66 oifname "up0" counter packets 0 bytes 0 masquerade' "$(block "$cl" "chain oob_nat {")"
assert_contains "client: mesh only in" 'iifname "mesh0" ct state new ip saddr != 100.100.0.0/16 counter packets 0 bytes 0 drop' "$(block "$cl" "chain mesh_in {")"
assert_contains "client: v6 block" 'oifname "mesh0" meta nfproto ipv6 meta mark != 0x00004b66 counter packets 0 bytes 0 reject with icmpv6 admin-prohibited' "$(block "$cl" "chain v6_block {")"
out=$(nt fw exists mesh0)
assert_eq "tables exist" "exit yes
client yes" "$out"

say "applying again replaces the tables (nothing doubled)"
assert_ok "exit table again" nt fw exit mesh0 up0
assert_ok "client table again" nt fw client mesh0 up0 100.100.0.0/16 \
	--dns 192.0.2.53 --dns 2001:db8::53 --api 203.0.113.10:443 --api '[2001:db8::10]:443' \
	--stun 203.0.113.20:19302
assert_eq "exit table unchanged" "$ex" "$(n fw nft list table inet nexd-exit-mesh0)"
assert_eq "client table unchanged" "$cl" "$(n fw nft list table inet nexd-client-mesh0)"
assert_eq "one table each" 1 "$(n fw nft list tables | grep -c 'nexd-client-mesh0')"

say "the sets updated alone"
assert_ok "sets replaced" nt fw sets mesh0 --dns 198.51.100.53 --stun 203.0.113.21:19302 --api 203.0.113.11:8443
cl2=$(n fw nft list table inet nexd-client-mesh0)
assert_eq "new oob4_tcp" "$(printf '%s\n' '198.51.100.53 . 53' '203.0.113.11 . 8443' | sort)" "$(elements "$cl2" oob4_tcp)"
assert_eq "new oob4_udp" "$(printf '%s\n' '198.51.100.53 . 53' '203.0.113.21 . 19302' | sort)" "$(elements "$cl2" oob4_udp)"
assert_eq "no oob6_tcp" "" "$(elements "$cl2" oob6_tcp)"
assert_eq "no oob6_udp" "" "$(elements "$cl2" oob6_udp)"
assert_eq "chains untouched" "$(sed -n '/chain oob_mark/,$p' <<<"$cl")" "$(sed -n '/chain oob_mark/,$p' <<<"$cl2")"

say "a foreign policy-drop forward chain is reported"
out=$(nt fw forward-drops mesh0)
assert_eq "forward drops" "table ip filter, chain FORWARD has policy drop: it will drop what this exit node forwards" "$out"

say "refused input changes nothing"
now=$(n fw nft list ruleset)
assert_fails "bad interface name" nt fw exit 'mesh0"; flush ruleset; "' up0
assert_fails "bad uplink name" nt fw client mesh0 'up 0' 100.100.0.0/16
assert_fails "sets of a missing table" nt fw sets nosuch0 --dns 192.0.2.1
err=$(n fw "$NFTTOOL" sets nosuch0 --dns 192.0.2.1 2>&1 || true)
assert_contains "nft's error passed on" "No such file or directory" "$err"
assert_eq "ruleset unchanged" "$now" "$(n fw nft list ruleset)"

say "delete leaves the ruleset of before"
assert_ok "delete" nt fw delete mesh0
out=$(nt fw exists mesh0)
assert_eq "tables gone" "exit no
client no" "$out"
assert_ok "delete again (absent is fine)" nt fw delete mesh0
assert_eq "ruleset as before" "$before" "$(n fw nft list ruleset)"
pp n fw nft flush ruleset
out=$(nt fw forward-drops)
assert_eq "no forward drops in an empty ruleset" "" "$out"

# ======================================================================
say "2. traffic through the exit node's table"
#   c (client)  eth0 100.100.0.2 --- wg0 100.100.0.1  x (exit node)
#   x  up0 203.0.113.1 --- br0 in i: i (internet host) 203.0.113.2,
#                                    l (LAN host) 203.0.113.3
ns_add c
ns_add x
ns_add i
ns_add l
veth_add c eth0 x wg0
veth_add x up0 i xport
veth_add l eth0 i lport
bridge_add i br0
bridge_port i br0 xport
bridge_port i br0 lport
addr_add c eth0 100.100.0.2/24
addr_add x wg0 100.100.0.1/24
addr_add x up0 203.0.113.1/24
addr_add i br0 203.0.113.2/24
addr_add l eth0 203.0.113.3/24
pp ip -n "$(ns c)" route add default via 100.100.0.1
pp ip -n "$(ns x)" route add default via 203.0.113.2
pp ip -n "$(ns l)" route add 100.100.0.0/16 via 203.0.113.1
# route MTUs below the links' (1500) so that the clamp shows
pp ip -n "$(ns x)" route replace 203.0.113.0/24 dev up0 mtu 1300 src 203.0.113.1
pp ip -n "$(ns x)" route replace 100.100.0.0/24 dev wg0 mtu 1340 src 100.100.0.1

# forwarding on exactly the two interfaces
pp n x sysctl -qw net.ipv4.conf.wg0.forwarding=1 net.ipv4.conf.up0.forwarding=1
assert_eq "global ip_forward untouched" 0 "$(n x sysctl -n net.ipv4.ip_forward)"

# a TCP server that tells the peer's address and the MSS it sees, and a
# client that prints both and its own MSS
cat >"$TMPD/srv.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080))
s.listen(4)
print("listening", flush=True)
while True:
    c, peer = s.accept()
    mss = c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)
    c.sendall(("peer=%s server_mss=%d\n" % (peer[0], mss)).encode())
    c.close()
EOF
cat >"$TMPD/cli.py" <<'EOF'
import socket, sys
src = (sys.argv[2], 0) if len(sys.argv) > 2 else None
try:
    c = socket.create_connection((sys.argv[1], 8080), timeout=3, source_address=src)
    line = c.makefile().readline().strip()
except OSError as e:
    sys.exit("no connection: %s" % e)
print("%s client_mss=%d" % (line, c.getsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG)))
EOF
# UDP: a server that answers with the peer's address, a client that prints
# the answer (exit 1 without one within 2 s)
cat >"$TMPD/usrv.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print("listening", flush=True)
while True:
    data, peer = s.recvfrom(512)
    s.sendto(("peer=%s" % peer[0]).encode(), peer)
EOF
cat >"$TMPD/ucli.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"q", (sys.argv[1], int(sys.argv[2])))
try:
    print(s.recvfrom(512)[0].decode())
except OSError as e:
    sys.exit("no answer: %s" % e)
EOF
bg_start srv-i i python3 "$TMPD/srv.py" 203.0.113.2
wait_for 5 grep -q listening "$TMPD/srv-i.log" || fail "server in i did not start"
bg_start srv-c c python3 "$TMPD/srv.py" 100.100.0.2
wait_for 5 grep -q listening "$TMPD/srv-c.log" || fail "server in c did not start"

say "without the table: the LAN host reaches the client, the client not the internet"
ping_ok l 100.100.0.2
printf '[+] (l) python3 cli.py 100.100.0.2\n' >&2
got=$(n l timeout 10 python3 "$TMPD/cli.py" 100.100.0.2)
assert_contains "LAN host connects to the client" "peer=203.0.113.3 " "$got"
ping_fails c 203.0.113.2

assert_ok "exit table" nt x exit wg0 up0
out=$(nt x forward-drops wg0)
assert_eq "no forward drops here" "" "$out"

say "with the table: the client reaches the internet host as 203.0.113.1"
ping_ok c 203.0.113.2
printf '[+] (c) python3 cli.py 203.0.113.2\n' >&2
got=$(n c timeout 10 python3 "$TMPD/cli.py" 203.0.113.2)
printf '    %s\n' "$got" >&2
assert_contains "the internet host sees the exit node" "peer=203.0.113.1 " "$got"
# MSS clamped to the route MTU minus 40 (rt mtu takes the smaller of the
# routes towards both ends, 1300), seen minus 12 of TCP timestamps; unclamped
# both ends would see 1448. The SYN-ACK's clamp shows at the client: the
# internet host announced 1460.
assert_contains "SYN clamped (1300 - 40 - 12)" "server_mss=1248" "$got"
assert_contains "SYN-ACK clamped (1300 - 40 - 12)" "client_mss=1248" "$got"

say "the LAN host is dropped on its way into the mesh"
ping_fails l 100.100.0.2
ex=$(n x nft list table inet nexd-exit-wg0)
printf '%s\n' "$ex" >&2
assert_ge "forwarded out" 4 "$(counter "$ex" 'iifname "wg0" oifname "up0" counter')"
assert_ge "replies in" 4 "$(counter "$ex" 'iifname "up0" oifname "wg0" ct state')"
assert_ge "dropped into the mesh" 1 "$(counter "$ex" 'oifname "wg0" counter')"
assert_eq "SYN clamped out" 1 "$(counter "$ex" 'iifname "wg0" oifname "up0" tcp flags syn')"
assert_eq "SYN-ACK clamped back" 1 "$(counter "$ex" 'iifname "up0" oifname "wg0" tcp flags syn')"
masq=$(awk '/masquerade/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }' <<<"$ex")
assert_ge "masquerade used" 2 "$masq"

say "a second connection from the client works, a new one from the LAN does not"
got=$(n c timeout 10 python3 "$TMPD/cli.py" 203.0.113.2)
assert_contains "second connection" "peer=203.0.113.1 " "$got"
assert_fails "LAN host TCP to the client" n l timeout 10 python3 "$TMPD/cli.py" 100.100.0.2

say "IPv6: dropped unless the table is made with --ipv6"
addr_add c eth0 2001:db8:1::2/64
addr_add x wg0 2001:db8:1::1/64
addr_add x up0 2001:db8:2::1/64
addr_add i br0 2001:db8:2::2/64
pp ip -n "$(ns c)" -6 route add default via 2001:db8:1::1
# IPv6 has no per-interface forwarding switch: all.forwarding (this namespace's)
pp n x sysctl -qw net.ipv6.conf.all.forwarding=1
ping_ok x 2001:db8:2::2
ping_fails c 2001:db8:2::2
ex=$(n x nft list table inet nexd-exit-wg0)
assert_ge "IPv6 from the mesh dropped" 1 "$(counter "$ex" 'iifname "wg0" meta nfproto ipv6 counter')"
assert_ok "exit table with IPv6" nt x exit wg0 up0 --ipv6
ping_ok c 2001:db8:2::2
ex=$(n x nft list table inet nexd-exit-wg0)
printf '%s\n' "$ex" >&2
assert_eq "no IPv6 drop rules" "" "$(grep 'nfproto ipv6' <<<"$ex" || true)"
assert_ge "IPv6 masqueraded" 1 "$(awk '/masquerade/ { for (i = 1; i <= NF; i++) if ($i == "packets") print $(i + 1) }' <<<"$ex")"
assert_ge "IPv6 forwarded out" 3 "$(counter "$ex" 'iifname "wg0" oifname "up0" counter')"

say "deleted: the exit node's ruleset is empty again"
assert_ok "delete" nt x delete wg0
out=$(n x nft list ruleset)
assert_eq "empty ruleset" "" "$out"
ping_ok l 100.100.0.2

# ======================================================================
say "3. the client's table on a client's data path (policy routing as the design's)"
#   d (device): wg0 100.100.0.2 --- t (the tunnel's far end) 100.100.0.1
#   d: up0 192.0.2.2 --- g (gateway and internet) 192.0.2.1, servers on
#      198.51.100.53 (the host's DNS server) and 198.51.100.54 (another)
ns_add d
ns_add t
ns_add g
veth_add d wg0 t wg0
veth_add d up0 g down0
addr_add d wg0 100.100.0.2/24
addr_add t wg0 100.100.0.1/24
addr_add d up0 192.0.2.2/24
addr_add g down0 192.0.2.1/24
addr_add g lo 198.51.100.53/32
addr_add g lo 198.51.100.54/32
addr_add t lo 203.0.113.9/32
addr_add d wg0 2001:db8:1::2/64
pp ip -n "$(ns d)" route add default via 192.0.2.1 dev up0
pp ip -n "$(ns t)" route add default dev wg0
addr_add t wg0 2001:db8:1::1/64
for v in -4 -6; do
	pp ip -n "$(ns d)" $v rule add pref 19300 lookup main suppress_prefixlength 0
	pp ip -n "$(ns d)" $v rule add pref 19301 fwmark 0x4b66 lookup 19302
	pp ip -n "$(ns d)" $v rule add pref 19302 not fwmark 51820 lookup 51820
done
# the design's table 51820 holds "default dev wg0"; a veth standing in for
# WireGuard needs a neighbour, so here the default goes via the far end
pp ip -n "$(ns d)" route add default via 100.100.0.1 dev wg0 table 51820
pp ip -n "$(ns d)" -6 route add default via 2001:db8:1::1 dev wg0 table 51820
pp ip -n "$(ns d)" route add default via 192.0.2.1 dev up0 table 19302
# strict reverse-path filtering, marks count in it
pp n d sysctl -qw net.ipv4.conf.all.rp_filter=1 net.ipv4.conf.default.rp_filter=1 \
	net.ipv4.conf.up0.rp_filter=1 net.ipv4.conf.wg0.rp_filter=1 net.ipv4.conf.all.src_valid_mark=1
bg_start dns-g g python3 "$TMPD/usrv.py" 198.51.100.53 53
wait_for 5 grep -q listening "$TMPD/dns-g.log" || fail "DNS stand-in did not start"
bg_start other-g g python3 "$TMPD/usrv.py" 198.51.100.54 53
wait_for 5 grep -q listening "$TMPD/other-g.log" || fail "second server did not start"
bg_start srv-d d python3 "$TMPD/srv.py" 100.100.0.2
wait_for 5 grep -q listening "$TMPD/srv-d.log" || fail "server in d did not start"

# what arrives at the tunnel's far end
pp n t nft -f - <<'EOF'
table inet seen {
	chain in {
		type filter hook prerouting priority 0; policy accept;
		udp dport 53 counter
		ip6 daddr 2001:db8:5::1 counter
	}
}
EOF
# tunneled TEXT: the counters of t's two rules, "DNS V6"
tunneled() {
	n t nft list table inet seen | awk '/counter/ { for (i = 1; i <= NF; i++) if ($i == "packets") printf "%s%s", sep, $(i + 1); sep = " " } END { print "" }'
}

say "without the table everything goes into the tunnel"
assert_fails "DNS without the table" n d python3 "$TMPD/ucli.py" 198.51.100.53 53
assert_eq "into the tunnel" "1 0" "$(tunneled)"
printf '[+] (t) python3 cli.py 100.100.0.2 203.0.113.9\n' >&2
got=$(n t timeout 10 python3 "$TMPD/cli.py" 100.100.0.2 203.0.113.9)
assert_contains "a non-mesh source through the tunnel connects" "peer=203.0.113.9 " "$got"

assert_ok "client table" nt d client wg0 up0 100.100.0.0/16 --dns 198.51.100.53
cl=$(n d nft list table inet nexd-client-wg0)

say "out of band: the host's DNS server through the uplink, masqueraded, through strict rp_filter"
printf '[+] (d) python3 ucli.py 198.51.100.53 53\n' >&2
got=$(n d timeout 10 python3 "$TMPD/ucli.py" 198.51.100.53 53)
assert_eq "the DNS server sees the uplink's address" "peer=192.0.2.2" "$got"
assert_eq "the host's DNS server not into the tunnel" "1 0" "$(tunneled)"
assert_fails "another DNS server is not out of band" n d python3 "$TMPD/ucli.py" 198.51.100.54 53
assert_eq "it went into the tunnel" "2 0" "$(tunneled)"
cl=$(n d nft list table inet nexd-client-wg0)
printf '%s\n' "$cl" >&2
assert_eq "marked once" 1 "$(counter "$cl" 'ip daddr . udp dport @oob4_udp counter')"
assert_eq "masqueraded once" 1 "$(counter "$cl" 'meta mark 0x00004b66 oifname "up0" counter')"

say "the sets updated: the other server out of band, the first one not"
assert_ok "sets" nt d sets wg0 --dns 198.51.100.54
got=$(n d timeout 10 python3 "$TMPD/ucli.py" 198.51.100.54 53)
assert_eq "the second server through the uplink" "peer=192.0.2.2" "$got"
assert_fails "the first server no longer" n d python3 "$TMPD/ucli.py" 198.51.100.53 53
assert_eq "it went into the tunnel" "3 0" "$(tunneled)"

say "without the mark restore, strict rp_filter drops the replies"
pp n d nft flush chain inet nexd-client-wg0 mark_restore
assert_fails "answer dropped by rp_filter" n d python3 "$TMPD/ucli.py" 198.51.100.54 53
assert_ok "client table again" nt d client wg0 up0 100.100.0.0/16 --dns 198.51.100.54
got=$(n d timeout 10 python3 "$TMPD/ucli.py" 198.51.100.54 53)
assert_eq "answered again" "peer=192.0.2.2" "$got"

say "new connections through the tunnel only from the mesh"
assert_fails "a non-mesh source through the tunnel" n t timeout 10 python3 "$TMPD/cli.py" 100.100.0.2 203.0.113.9
got=$(n t timeout 10 python3 "$TMPD/cli.py" 100.100.0.2 100.100.0.1)
assert_contains "a mesh source connects" "peer=100.100.0.1 " "$got"
cl=$(n d nft list table inet nexd-client-wg0)
assert_ge "non-mesh dropped" 1 "$(counter "$cl" 'iifname "wg0" ct state new ip saddr != 100.100.0.0/16')"

say "IPv6 out of the mesh interface rejected (the exit node has none)"
assert_fails "IPv6 into the tunnel" n d ping -6 -c 1 -W 1 2001:db8:5::1
cl=$(n d nft list table inet nexd-client-wg0)
assert_ge "rejected" 1 "$(counter "$cl" 'oifname "wg0" meta nfproto ipv6')"
assert_eq "nothing into the tunnel" "3 0" "$(tunneled)"
assert_ok "client table, exit node with IPv6" nt d client wg0 up0 100.100.0.0/16 --exit-ipv6
assert_fails "no answer, but sent" n d ping -6 -c 1 -W 1 2001:db8:5::1
assert_eq "IPv6 into the tunnel" "3 1" "$(tunneled)"

say "deleted: the client's ruleset is empty again"
assert_ok "delete" nt d delete wg0
out=$(n d nft list ruleset)
assert_eq "empty ruleset" "" "$out"
