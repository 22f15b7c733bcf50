#!/usr/bin/env bash
# tests/tools/delaylink: latency added in userspace (no netem here). A host B
# sits behind a router R on a TUN pair that delaylink relays (dlA in R, dlB
# moved into B after "ready"); R masquerades B out of its veth to an
# internet host I. Checked: ping RTT B -> I is 100..200 ms at 50 ms each way
# and < 20 ms at 0 ms; a TCP transfer (iperf3) works through it; a burst
# larger than --limit-pkts is cut to exactly the limit and the rest counted
# as dropped; SIGTERM ends it with status 0, counters on stderr, and both
# interfaces gone.
source "$(dirname "$0")/lib.sh"

DELAYLINK=$TOOLS/delaylink
[ -x "$DELAYLINK" ] || fail "delaylink not built ($DELAYLINK)"
command -v iperf3 >/dev/null || fail "iperf3 not installed"

ns_add r
ns_add b
ns_add i
# only IPv4 crosses the link: no IPv6 link-local chatter (MLD, router
# solicitations) on the TUNs, so the counters below are exact
pp n r sysctl -qw net.ipv6.conf.default.disable_ipv6=1
pp n b sysctl -qw net.ipv6.conf.default.disable_ipv6=1
veth_add r eth0 i eth0
addr_add r eth0 203.0.113.1/24
addr_add i eth0 203.0.113.10/24
# I has no route to 192.0.2.0/24: only R's masquerade brings B's packets back
pp n r sysctl -qw net.ipv4.ip_forward=1
printf '[+] nft: masquerade out of eth0 in %s\n' "$(ns r)" >&2
n r nft -f - <<'EOF'
table ip nx_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth0" masquerade
	}
}
EOF

DL_PID=
# dl_start LABEL ARGS...: delaylink in R with dlA and dlB; waits for
# "ready", moves dlB into B, addresses and routes both ends.
dl_start() {
	local label=$1
	shift
	bg_start "$label" r "$DELAYLINK" "$@" dlA dlB
	DL_PID=$BG_PID
	DL_LOG=$TMPD/$label.log
	wait_for 5 grep -qx ready "$DL_LOG" || fail "delaylink $*: no 'ready' within 5 s"
	assert_ok "dlA and dlB exist in R" ip -n "$(ns r)" link show dlB
	ip -n "$(ns r)" link show dlA >/dev/null
	pp ip -n "$(ns r)" link set dlB netns "$(ns b)"
	addr_add r dlA 192.0.2.65/30
	pp ip -n "$(ns r)" link set dlA up
	addr_add b dlB 192.0.2.66/30
	pp ip -n "$(ns b)" link set dlB up
	pp ip -n "$(ns b)" route add default dev dlB
}

# dl_stop: SIGTERM; status 0, both interfaces gone, counters logged.
dl_stop() {
	stop_pid "$DL_PID" || fail "delaylink did not end on SIGTERM within 5 s"
	assert_eq "delaylink exit status after SIGTERM" 0 "$STOP_RC"
	assert_fails "dlA gone from R" ip -n "$(ns r)" link show dlA
	assert_fails "dlB gone from B" ip -n "$(ns b)" link show dlB
	grep -E 'forwarded|dropped' "$DL_LOG" >&2 || fail "no counters in the log"
}

# counter DIR FIELD: a counter from delaylink's exit lines (DIR: dlA->dlB).
counter() {
	grep -o "$1 forwarded [0-9]* dropped [0-9]* errors [0-9]*" "$DL_LOG" |
		awk -v f="$2" '{ for (i = 2; i < NF; i++) if ($i == f) print $(i + 1) }'
}

# rtt_median COUNT: median RTT in ms of COUNT pings from B to I.
rtt_median() {
	local out=$TMPD/rtt.out
	printf '[+] b: ping -c %s -i 0.2 203.0.113.10\n' "$1" >&2
	n b ping -n -c "$1" -i 0.2 -w 10 203.0.113.10 >"$out" 2>&1 || {
		cat "$out" >&2
		fail "ping B -> I failed"
	}
	grep -o 'time=[0-9.]*' "$out" | cut -d= -f2 | sort -n >"$out.sorted"
	printf '    RTTs (ms): %s\n' "$(tr '\n' ' ' <"$out.sorted")" >&2
	[ "$(wc -l <"$out.sorted")" -eq "$1" ] || fail "expected $1 replies"
	sed -n "$((($1 + 1) / 2))p" "$out.sorted"
}

say "50 ms each way"
dl_start dl50 --delay-ms 50
# the moved TUN keeps working: B reaches R's end of the link
ping_ok b 192.0.2.65
rtt=$(rtt_median 5)
assert_ge "median RTT at 50 ms each way" 100 "$rtt"
assert_le "median RTT at 50 ms each way" 199.999 "$rtt"

say "TCP through the delayed link"
iperf_server i 203.0.113.10
mbps=$(iperf_mbps b 203.0.113.10 2)
printf '    iperf3 B -> I: %s Mbit/s\n' "$mbps" >&2
assert_ge "iperf3 rate B -> I (Mbit/s)" 1 "$mbps"
stop_pid "$IPERF_PID" || true
dl_stop
fwd_ab=$(counter 'dlA->dlB' forwarded)
fwd_ba=$(counter 'dlB->dlA' forwarded)
assert_ge "packets forwarded dlA->dlB" 100 "$fwd_ab"
assert_ge "packets forwarded dlB->dlA" 100 "$fwd_ba"
assert_eq "packets dropped dlA->dlB" 0 "$(counter 'dlA->dlB' dropped)"
assert_eq "packets dropped dlB->dlA" 0 "$(counter 'dlB->dlA' dropped)"

say "0 ms: no added latency (and the same names can be created again)"
dl_start dl0 --delay-ms 0
rtt=$(rtt_median 5)
assert_le "median RTT at 0 ms" 19.999 "$rtt"
dl_stop

say "a burst of 20 into a FIFO of 5: exactly 5 pass, 15 are dropped"
# -l 20: all 20 echo requests at once; without -w ping sends exactly 20,
# then waits -W seconds for the replies
dl_start dllimit --delay-ms 500 --limit-pkts 5
printf '[+] b: ping -c 20 -l 20 -W 2 203.0.113.10\n' >&2
n b ping -n -q -c 20 -l 20 -W 2 203.0.113.10 >"$TMPD/burst.out" 2>&1 || true
cat "$TMPD/burst.out" >&2
assert_eq "echo requests sent" 20 "$(awk '/packets transmitted/ { print $1 }' "$TMPD/burst.out")"
got=$(awk '/packets transmitted/ { print $4 }' "$TMPD/burst.out")
assert_eq "echo replies through a FIFO of 5" 5 "$got"
dl_stop
assert_eq "packets forwarded dlB->dlA" 5 "$(counter 'dlB->dlA' forwarded)"
assert_eq "packets dropped dlB->dlA" 15 "$(counter 'dlB->dlA' dropped)"
assert_eq "packets forwarded dlA->dlB" 5 "$(counter 'dlA->dlB' forwarded)"

say "bad usage exits 2"
rc=0
"$DELAYLINK" --delay-ms 99999999 x y 2>/dev/null || rc=$?
assert_eq "exit status for --delay-ms 99999999" 2 "$rc"
rc=0
"$DELAYLINK" --limit-pkts 0 x y 2>/dev/null || rc=$?
assert_eq "exit status for --limit-pkts 0" 2 "$rc"
rc=0
"$DELAYLINK" onlyone 2>/dev/null || rc=$?
assert_eq "exit status for one interface name" 2 "$rc"
