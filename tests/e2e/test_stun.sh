#!/usr/bin/env bash
# src/nexd/stun.c against a real STUN server: coturn (Debian's turnserver,
# STUN only) on port 19302 in namespace S; a client namespace C behind a NAT
# router R (nftables masquerade). The reflexive address stunprobe reports
# must be R's outside address (IPv4), the client's own (IPv6, no NAT), and
# broken servers (tests/tools/stunprobe --serve) must give clear errors,
# never a crash.
source "$(dirname "$0")/lib.sh"

STUNPROBE=$TOOLS/stunprobe
[ -x "$STUNPROBE" ] || fail "stunprobe not built ($STUNPROBE)"
command -v turnserver >/dev/null || fail "turnserver (coturn) not installed"

ns_add c
ns_add r
ns_add s
veth_add c eth0 r eth0
veth_add r eth1 s eth0
addr_add c eth0 192.0.2.2/24
addr_add c eth0 2001:db8:1::2/64
addr_add r eth0 192.0.2.1/24
addr_add r eth0 2001:db8:1::1/64
addr_add r eth1 203.0.113.1/24
addr_add r eth1 2001:db8:3::1/64
addr_add s eth0 203.0.113.10/24
addr_add s eth0 2001:db8:3::10/64
pp ip -n "$(ns c)" route add default via 192.0.2.1
pp ip -n "$(ns c)" -6 route add default via 2001:db8:1::1
pp ip -n "$(ns s)" -6 route add default via 2001:db8:3::1
# S has no route back to 192.0.2.0/24: only the NAT makes IPv4 work
pp n r sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
printf '[+] nft: masquerade out of eth1 in %s\n' "$(ns r)" >&2
n r nft -f - <<'EOF'
table ip nx_nat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname "eth1" masquerade
	}
}
EOF

say "coturn, STUN only, on port 19302"
bg_start turnserver s turnserver -n --stun-only --no-cli --no-tls --no-dtls --no-rfc5780 \
	-L 203.0.113.10 -L 2001:db8:3::10 -p 19302 --no-software-attribute \
	--log-file "$TMPD/turn-file.log" --simple-log --pidfile "$TMPD/turn.pid" \
	--userdb "$TMPD/turndb"
TURN_PID=$BG_PID
listening() {
	n s ss -Hulnp | grep -q '203.0.113.10:19302' &&
		n s ss -Hulnp | grep -q '\[2001:db8:3::10\]:19302'
}
wait_for 15 listening || fail "turnserver does not listen on 19302"
printf '    ok: turnserver listens\n' >&2

# probe NS ARGS...: stunprobe in NS; sets LOCAL and MAPPED
probe() {
	local name=$1 out
	shift
	printf '[+] %s: stunprobe %s\n' "$name" "$*" >&2
	out=$(n "$name" "$STUNPROBE" "$@") || fail "stunprobe $* failed in $name"
	printf '%s\n' "$out" | sed 's/^/    /' >&2
	LOCAL=$(printf '%s\n' "$out" | awk '$1 == "local" { print $2 }')
	MAPPED=$(printf '%s\n' "$out" | awk '$1 == "mapped" { print $2 }')
	ATTR=$(printf '%s\n' "$out" | awk '$1 == "attribute" { print $2 }')
	FP=$(printf '%s\n' "$out" | awk '$1 == "fingerprint" { print $2 }')
}

say "IPv4 behind the NAT: the reflexive address is R's outside address"
probe c --bind 192.0.2.2:40000 203.0.113.10:19302
assert_eq "local endpoint" "192.0.2.2:40000" "$LOCAL"
assert_eq "mapped address" "203.0.113.1" "${MAPPED%:*}"
assert_ne "mapped endpoint" "$LOCAL" "$MAPPED"
assert_eq "from" "XOR-MAPPED-ADDRESS" "$ATTR"
# our request carries FINGERPRINT, so coturn's answer does: its CRC-32 checked
assert_eq "coturn's FINGERPRINT" "verified" "$FP"
PORT=${MAPPED##*:}
[[ $PORT =~ ^[0-9]+$ ]] && [ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] || fail "bad mapped port '$PORT'"
# the same source port again maps to the same endpoint (the NAT's conntrack entry)
FIRST=$MAPPED
probe c --bind 192.0.2.2:40000 203.0.113.10:19302
assert_eq "mapping is stable" "$FIRST" "$MAPPED"
# an ephemeral port works as well
probe c 203.0.113.10:19302
assert_eq "mapped address (ephemeral port)" "203.0.113.1" "${MAPPED%:*}"

say "without NAT: R itself, and IPv6 from C"
probe r --bind 203.0.113.1:40002 203.0.113.10:19302
assert_eq "R's mapped endpoint" "203.0.113.1:40002" "$MAPPED"
probe c --bind '[2001:db8:1::2]:40001' '[2001:db8:3::10]:19302'
assert_eq "IPv6 mapped endpoint" "[2001:db8:1::2]:40001" "$MAPPED"

say "broken servers get clear errors, never a crash"
declare -A WANT=(
	[garbage]="malformed STUN answer"
	[noise]="malformed STUN answer"
	[wrong-txid]="no answer from the STUN server"
	[error]="the STUN server answered with an error: 401 nope"
)
port=3471
for mode in garbage noise wrong-txid error; do
	bg_start "serve-$mode" s "$STUNPROBE" --serve "$mode" "203.0.113.10:$port"
	SERVE_PID=$BG_PID
	wait_for 5 grep -q serving "$TMPD/serve-$mode.log" || fail "stunprobe --serve $mode did not start"
	printf '[+] c: stunprobe --tries 2 203.0.113.10:%s (server: %s, must fail)\n' "$port" "$mode" >&2
	rc=0
	n c "$STUNPROBE" --tries 2 "203.0.113.10:$port" >"$TMPD/out" 2>"$TMPD/err" || rc=$?
	assert_eq "exit status against '$mode'" "1" "$rc"
	assert_eq "error against '$mode'" "stunprobe: 203.0.113.10:$port: ${WANT[$mode]}" "$(cat "$TMPD/err")"
	pid_alive "$SERVE_PID" || fail "the $mode server died"
	stop_pid "$SERVE_PID"
	port=$((port + 1))
done
# nobody listening: a timeout, not a hang
printf '[+] c: stunprobe --tries 1 203.0.113.10:3479 (nobody there, must fail)\n' >&2
rc=0
n c "$STUNPROBE" --tries 1 203.0.113.10:3479 >"$TMPD/out" 2>"$TMPD/err" || rc=$?
assert_eq "exit status with no server" "1" "$rc"
assert_eq "error with no server" "stunprobe: 203.0.113.10:3479: no answer from the STUN server" "$(cat "$TMPD/err")"
# bad command lines
assert_fails "a server without a port" n c "$STUNPROBE" 203.0.113.10
assert_fails "a host name" n c "$STUNPROBE" stun.example:19302

say "coturn still up, then stopped"
pid_alive "$TURN_PID" || fail "turnserver died"
stop_pid "$TURN_PID"
