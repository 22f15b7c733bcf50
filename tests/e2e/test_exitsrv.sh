#!/usr/bin/env bash
# src/proxy/exitsrv.c, the rootless exit node's server side on libslirp, with
# real traffic and no privilege: tests/tools/exitsrv_probe runs as uid 65534
# in namespace EX (the exit host, 192.0.2.1/24), feeds hand-crafted client
# packets from the mesh (100.100.0.2.. to 192.0.2.2) and checks the replies
# that come out (addresses, ports, checksums). Namespace SRV (192.0.2.2/24)
# runs the probe's UDP + TCP echo server, which logs every peer: the exit
# host's address must be the source, and refused packets must never arrive.
# 192.0.2.0/24 is EX's directly connected network, so reaching SRV needs
# --allow-lan; without it the same packets are refused.
source "$(dirname "$0")/lib.sh"

PROBE=$TOOLS/exitsrv_probe
[ -x "$PROBE" ] || fail "exitsrv_probe not built ($PROBE)"
command -v setpriv >/dev/null || fail "setpriv (util-linux) not installed"

ns_add ex
ns_add srv
veth_add ex eth0 srv eth0
addr_add ex eth0 192.0.2.1/24
addr_add srv eth0 192.0.2.2/24

say "the echo server in srv (UDP and TCP on 192.0.2.2:7000)"
bg_start serve srv "$PROBE" serve 192.0.2.2 7000
SERVE_PID=$BG_PID
wait_for 5 grep -q '^serving' "$TMPD/serve.log" || fail "the echo server did not start"
# on port 7, where slirp would send its "pseudo-PING" UDP datagrams if we
# let echo requests through without ICMP sockets
bg_start serve-echo srv "$PROBE" serve 192.0.2.2 7
ECHO_PID=$BG_PID
wait_for 5 grep -q '^serving' "$TMPD/serve-echo.log" || fail "the port 7 echo server did not start"
# and one on EX's loopback, which no client may reach
bg_start serve-lo ex "$PROBE" serve 127.0.0.1 7001
LO_PID=$BG_PID
wait_for 5 grep -q '^serving' "$TMPD/serve-lo.log" || fail "the loopback echo server did not start"

# probe ARGS...: exitsrv_probe in EX as nobody; sets OUT, ERR, RC
probe() {
	printf '[+] ex (uid 65534): exitsrv_probe %s\n' "$*" >&2
	RC=0
	n ex setpriv --reuid 65534 --regid 65534 --clear-groups "$PROBE" "$@" >"$TMPD/out" 2>"$TMPD/err" || RC=$?
	OUT=$(cat "$TMPD/out")
	ERR=$(cat "$TMPD/err")
	printf '%s\n' "$OUT" | sed 's/^/    out: /' >&2
	printf '%s\n' "$ERR" | sed 's/^/    err: /' >&2
}
served() { grep -c "^$1 " "$TMPD/serve.log" || true; }

say "UDP through the exit, as an unprivileged user"
probe --allow-lan udp 192.0.2.2 7000 hello-udp
assert_eq "exit status" "0" "$RC"
# the echo server answers "FROM TEXT": FROM is the exit host, not the client
assert_eq "UDP reply" "reply 192.0.2.1 hello-udp" "$OUT"
assert_eq "datagrams at the server" "1" "$(served udp)"
assert_contains "the server's peer" "udp 192.0.2.1:" "$(cat "$TMPD/serve.log")"

say "TCP through the exit: handshake, data echoed, FIN both ways"
probe --allow-lan tcp 192.0.2.2 7000 hello-tcp
assert_eq "exit status" "0" "$RC"
assert_eq "TCP reply" "reply hello-tcp" "$(printf '%s\n' "$OUT" | sed -n 1p)"
assert_eq "flows after the close" "flows 0" "$(printf '%s\n' "$OUT" | sed -n 2p)"
assert_eq "connections at the server" "1" "$(served tcp)"
assert_contains "the server's peer" "tcp 192.0.2.1:" "$(cat "$TMPD/serve.log")"

say "a closed port: slirp's connect is refused, the client gets a RST"
probe --allow-lan tcp 192.0.2.2 7999 nobody-home
assert_eq "exit status" "1" "$RC"
assert_contains "error" "connection reset" "$ERR"

say "without --allow-lan the host's own network is refused, nothing arrives"
probe udp 192.0.2.2 7000 not-allowed
assert_eq "exit status (refused)" "3" "$RC"
assert_contains "counters" "refused 1" "$ERR"
probe tcp 192.0.2.2 7000 not-allowed
assert_eq "exit status (refused)" "3" "$RC"
sleep 0.5
assert_eq "datagrams at the server" "1" "$(served udp)"
assert_eq "connections at the server" "1" "$(served tcp)"

say "loopback is refused even with --allow-lan"
probe --allow-lan udp 127.0.0.1 7001 to-loopback
assert_eq "exit status (refused)" "3" "$RC"
probe --allow-lan tcp 127.0.0.1 7001 to-loopback
assert_eq "exit status (refused)" "3" "$RC"
sleep 0.5
assert_eq "loopback server log" "serving 127.0.0.1:7001" "$(cat "$TMPD/serve-lo.log")"

say "40 clients at once (slirp's ARP table has 16 entries): every one answered"
probe --allow-lan --clients 40 udp 192.0.2.2 7000 many
assert_eq "exit status" "0" "$RC"
assert_eq "replies" "replies 40/40 refused 0" "$OUT"

say "--max-flows 3 with 5 clients: 3 answered, 2 refused"
probe --allow-lan --max-flows 3 --clients 5 udp 192.0.2.2 7000 limited
assert_eq "replies" "replies 3/5 refused 2" "$OUT"

say "ICMP echo: refused while nobody may open ICMP sockets, answered once allowed"
pp n ex sysctl -qw net.ipv4.ping_group_range="1 0"
probe --allow-lan icmp 192.0.2.2
assert_eq "exit status (no ICMP sockets: refused)" "3" "$RC"
pp n ex sysctl -qw net.ipv4.ping_group_range="65534 65534"
probe --allow-lan icmp 192.0.2.2
assert_eq "exit status" "0" "$RC"
assert_eq "echo reply" "reply nexodus-echo" "$OUT"
probe icmp 192.0.2.2
assert_eq "exit status without --allow-lan" "3" "$RC"
sleep 0.5
# slirp's fallback (a UDP "pseudo-PING" to port 7) never happened
assert_eq "port 7 server log" "serving 192.0.2.2:7" "$(cat "$TMPD/serve-echo.log")"

say "the servers are still up, then stopped"
pid_alive "$SERVE_PID" || fail "the echo server died"
stop_pid "$SERVE_PID"
stop_pid "$ECHO_PID"
stop_pid "$LO_PID"
