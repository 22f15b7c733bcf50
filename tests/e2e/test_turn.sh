#!/usr/bin/env bash
# src/nexd/turn.c against a real TURN server: coturn (Debian's turnserver)
# with the TURN REST credentials nexapi hands out (use-auth-secret; user
# "<unix expiry>:<name>", password base64(HMAC-SHA1(secret, user))), the
# secret only in a 0600 file and the 0600 configuration made from it.
# tests/tools/turnprobe makes two allocations from two sockets, permits and
# binds a channel from each to the other's relayed address, sends
# ChannelData both ways, refreshes and deletes both, over UDP and over TCP
# (with UDP to the server dropped); a wrong password and an expired user
# get a 401, a user quota a 486, a nonce that goes stale a 438 that the
# client answers. coturn allows peers in 203.0.113.0/24 as it comes (it
# only refuses loopback peers unless --allow-loopback-peers, which we do
# not want); a hardened configuration that denies the range refuses
# CreatePermission with 403 until allowed-peer-ip lets the relay's own
# address through. Every allocation coturn logs as made is logged as
# deleted.
source "$(dirname "$0")/lib.sh"

TURNPROBE=$TOOLS/turnprobe
[ -x "$TURNPROBE" ] || fail "turnprobe not built ($TURNPROBE)"
command -v turnserver >/dev/null || fail "turnserver (coturn) not installed"
say "coturn $(turnserver --version 2>/dev/null | head -1)"

ns_add c
ns_add s
veth_add c eth0 s eth0
addr_add c eth0 203.0.113.2/24
addr_add s eth0 203.0.113.30/24   # s1: the server of most cases
addr_add s eth0 203.0.113.31/24   # s2: user-quota=1, stale-nonce=1
addr_add s eth0 203.0.113.32/24   # s3: peers in 203.0.113.0/24 denied

(umask 077 && openssl rand -hex 24 >"$TMPD/turn.secret")
REALM=nexodus.test
declare -A TURN_PID=()

# turn_start NAME IP [CONF-LINE...]: coturn on IP:3478 (UDP and TCP) in S,
# its configuration in $TMPD/NAME.conf (0600), its log in $TMPD/coturn-NAME.log.
turn_start() {
	local name=$1 ip=$2 line
	shift 2
	(
		umask 077
		cat <<-CONF
		use-auth-secret
		static-auth-secret=$(cat "$TMPD/turn.secret")
		realm=$REALM
		listening-ip=$ip
		relay-ip=$ip
		listening-port=3478
		min-port=40000
		max-port=40999
		fingerprint
		no-tls
		no-dtls
		no-cli
		no-rfc5780
		pidfile=$TMPD/$name.pid
		CONF
		for line in "$@"; do
			printf '%s\n' "$line"
		done
	) >"$TMPD/$name.conf"
	bg_start "coturn-$name" s turnserver -c "$TMPD/$name.conf" --userdb "$TMPD/$name.db" \
		--log-file stdout --simple-log --verbose
	TURN_PID[$name]=$BG_PID
	wait_for 15 sh -c "ip netns exec $NX-s ss -Huln | grep -q '$ip:3478 ' &&
		ip netns exec $NX-s ss -Htln | grep -q '$ip:3478 '" ||
		fail "coturn $name does not listen on $ip:3478 (UDP and TCP)"
	printf '    ok: coturn %s listens on %s:3478 (UDP, TCP)\n' "$name" "$ip" >&2
}

turn_stop() {
	pid_alive "${TURN_PID[$1]}" || fail "coturn $1 died"
	stop_pid "${TURN_PID[$1]}" || fail "coturn $1 ignored SIGTERM"
}

# cred EXPIRY NAME: the TURN REST credentials in TUSER and TPASS.
cred() {
	TUSER="$1:$2"
	TPASS=$(printf '%s' "$TUSER" | openssl dgst -sha1 -hmac "$(cat "$TMPD/turn.secret")" -binary | base64)
}

# probe ARGS...: turnprobe in C (the password not printed); sets OUT, ERR, RC.
probe() {
	local shown=() a hide=0
	for a in "$@"; do
		if [ $hide = 1 ]; then shown+=("<...>"); hide=0; else shown+=("$a"); fi
		[ "$a" = --password ] && hide=1
	done
	printf '[+] c: turnprobe %s\n' "${shown[*]}" >&2
	RC=0
	n c timeout 60 "$TURNPROBE" "$@" >"$TMPD/probe.out" 2>"$TMPD/probe.err" || RC=$?
	OUT=$(cat "$TMPD/probe.out")
	ERR=$(cat "$TMPD/probe.err")
	sed 's/^/    | /' "$TMPD/probe.out" "$TMPD/probe.err" >&2
}

# line PREFIX: the line of OUT that starts with PREFIX
line() {
	printf '%s\n' "$OUT" | grep -m1 -F "$1" || true
}

# count NAME PATTERN: lines of coturn NAME's log matching PATTERN (fixed string)
count() {
	grep -c -F -- "$2" "$TMPD/coturn-$1.log" || true
}

# check_peer_test SERVER-IP: the lines of a passed --peer-test
check_peer_test() {
	local ip=$1 which relayed port
	assert_eq "exit status" 0 "$RC"
	assert_eq "stderr" "" "$ERR"
	for which in A B; do
		assert_contains "first answer to $which" "auth $which: 401, realm \"$REALM\"" "$OUT"
		relayed=$(line "allocate $which: " | awk '{ print $4 }')
		assert_eq "$which's relayed address" "$ip" "${relayed%:*}"
		port=${relayed##*:}
		[ "$port" -ge 40000 ] && [ "$port" -le 40999 ] || fail "$which's relayed port $port outside 40000-40999"
		assert_contains "$which's mapped address" "mapped 203.0.113.2:" "$(line "allocate $which: ")"
		assert_contains "$which's lifetime" "lifetime 600" "$(line "allocate $which: ")"
		assert_contains "$which's permission" "permission $which: for $ip:" "$OUT"
		assert_contains "$which's refresh" "refresh $which: lifetime 600" "$OUT"
		assert_contains "$which's deletion" "delete $which: ok" "$OUT"
	done
	assert_eq "channel A" "channel A: 0x4000 to $(line "allocate B: " | awk '{ print $4 }') (B's relayed address)" \
		"$(line "channel A: ")"
	assert_eq "channel B" "channel B: 0x4001 to $(line "allocate A: " | awk '{ print $4 }') (A's relayed address)" \
		"$(line "channel B: ")"
	assert_eq "data A -> B" "data A -> B: 173 bytes unchanged (ChannelData, channel 0x4001)" "$(line "data A -> B")"
	assert_eq "data B -> A" "data B -> A: 173 bytes unchanged (ChannelData, channel 0x4000)" "$(line "data B -> A")"
	assert_eq "last line" "all steps passed" "$(printf '%s\n' "$OUT" | tail -1)"
}

NOW=$(date +%s)

say "s1: TURN REST credentials, UDP and TCP"
turn_start s1 203.0.113.30

say "peer test over UDP"
cred $((NOW + 3600)) dev-udp
probe --server 203.0.113.30:3478 --user "$TUSER" --password "$TPASS" --peer-test
check_peer_test 203.0.113.30
wait_for 5 sh -c "[ \$(grep -c -F 'username=<$TUSER>, lifetime=0' '$TMPD/coturn-s1.log') = 2 ]" ||
	fail "coturn did not log both deletions for $TUSER"
assert_eq "channels bound (coturn's log)" 2 "$(count s1 "user <$TUSER>: incoming packet CHANNEL_BIND processed, success")"
assert_eq "permissions (coturn's log)" 2 "$(count s1 "user <$TUSER>: incoming packet CREATE_PERMISSION processed, success")"

say "peer test over TCP, with UDP to the server dropped"
printf '[+] nft: drop UDP to port 3478 coming into %s\n' "$(ns s)" >&2
n s nft -f - <<'EOF'
table inet nx_turn_block {
	chain in {
		type filter hook input priority 0; policy accept;
		udp dport 3478 counter drop
	}
}
EOF
cred $((NOW + 3600)) dev-tcp
probe --server 203.0.113.30:3478 --tcp --user "$TUSER" --password "$TPASS" --peer-test
check_peer_test 203.0.113.30
assert_eq "UDP packets to the server" 0 \
	"$(n s nft list table inet nx_turn_block | awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }')"
wait_for 5 sh -c "[ \$(grep -c -F 'username=<$TUSER>, lifetime=0' '$TMPD/coturn-s1.log') = 2 ]" ||
	fail "coturn did not log both deletions for $TUSER"
# ... and without --tcp the same must fail now: the block is real
cred $((NOW + 3600)) dev-blocked
probe --server 203.0.113.30:3478 --user "$TUSER" --password "$TPASS"
assert_eq "exit status, UDP blocked" 1 "$RC"
assert_eq "error, UDP blocked" "turnprobe: allocate A: no answer from the TURN server" "$ERR"
assert_ge "UDP packets dropped" 1 \
	"$(n s nft list table inet nx_turn_block | awk '/counter/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }')"
pp n s nft delete table inet nx_turn_block

say "a wrong password: 401"
cred $((NOW + 3600)) dev-wrong
probe --server 203.0.113.30:3478 --user "$TUSER" --password "x$TPASS" --peer-test
assert_eq "exit status, wrong password" 1 "$RC"
assert_contains "the client asked again with credentials" "auth A: 401, realm \"$REALM\"" "$OUT"
assert_eq "error, wrong password" "turnprobe: allocate A: 401 Unauthorized" "$ERR"
probe --server 203.0.113.30:3478 --tcp --user "$TUSER" --password "x$TPASS"
assert_eq "exit status, wrong password, TCP" 1 "$RC"
assert_eq "error, wrong password, TCP" "turnprobe: allocate A: 401 Unauthorized" "$ERR"

say "an expired user (expiry a minute ago, right password): 401"
cred $((NOW - 60)) dev-expired
probe --server 203.0.113.30:3478 --user "$TUSER" --password "$TPASS"
assert_eq "exit status, expired" 1 "$RC"
assert_eq "error, expired" "turnprobe: allocate A: 401 Unauthorized" "$ERR"
# the same name with a future expiry works: it was the expiry
cred $((NOW + 60)) dev-expired
probe --server 203.0.113.30:3478 --user "$TUSER" --password "$TPASS"
assert_eq "exit status, not expired" 0 "$RC"
assert_contains "one allocation, refreshed, deleted" "delete A: ok" "$OUT"

say "s2: user-quota=1, stale-nonce=1"
turn_start s2 203.0.113.31 user-quota=1 stale-nonce=1
cred $((NOW + 3600)) dev-quota
probe --server 203.0.113.31:3478 --user "$TUSER" --password "$TPASS" --peer-test
assert_eq "exit status, quota" 1 "$RC"
assert_contains "the first allocation" "allocate A: relayed 203.0.113.31:" "$OUT"
assert_eq "error, quota" "turnprobe: allocate B: 486 Allocation Quota Reached" "$ERR"
assert_contains "the first allocation deleted after the failure" "delete A: ok (cleanup)" "$OUT"
# deleted indeed: coturn frees the quota when it closes the session,
# a moment after the deletion (a UDP client never says it is gone)
T0=$SECONDS
wait_for 30 n c "$TURNPROBE" --server 203.0.113.31:3478 --user "$TUSER" --password "$TPASS" ||
	fail "the quota of $TUSER was not freed within 30 s of the deletion"
printf '    ok: the quota has room again (after about %s s)\n' $((SECONDS - T0)) >&2
say "a nonce that goes stale between requests: 438, asked again"
cred $((NOW + 3600)) dev-stale
probe --server 203.0.113.31:3478 --user "$TUSER" --password "$TPASS" --pause 2100
assert_eq "exit status, stale nonce" 0 "$RC"
assert_contains "438 answered" "auth A: 438 Stale Nonce: asking again with the new nonce" "$OUT"
assert_contains "refresh after 438" "refresh A: lifetime 600" "$OUT"
assert_contains "delete after 438" "delete A: ok" "$OUT"
assert_ge "438s in coturn's log" 2 "$(count s2 "user <$TUSER>: incoming packet message processed, error 438")"

say "s3: peers in 203.0.113.0/24 denied: 403, until the relay's own address is allowed"
turn_start s3 203.0.113.32 denied-peer-ip=203.0.113.0-203.0.113.255
cred $((NOW + 3600)) dev-denied
probe --server 203.0.113.32:3478 --user "$TUSER" --password "$TPASS" --peer-test
assert_eq "exit status, denied peers" 1 "$RC"
assert_eq "error, denied peers" "turnprobe: permission A: 403 Forbidden: Forbidden IP" "$ERR"
assert_contains "coturn says why" "A peer IP 203.0.113.32 denied in the range" "$(cat "$TMPD/coturn-s3.log")"
turn_stop s3
turn_start s3b 203.0.113.32 denied-peer-ip=203.0.113.0-203.0.113.255 allowed-peer-ip=203.0.113.32
probe --server 203.0.113.32:3478 --user "$TUSER" --password "$TPASS" --peer-test
check_peer_test 203.0.113.32

say "bad command lines"
assert_fails "no --server" n c "$TURNPROBE" --user u --password p
assert_fails "a host name" n c "$TURNPROBE" --server turn.example:3478 --user u --password p
assert_fails "no --user" n c "$TURNPROBE" --server 203.0.113.30:3478 --password p
assert_fails "a bad --pause" n c "$TURNPROBE" --server 203.0.113.30:3478 --user u --password p --pause x

say "every allocation coturn made was deleted"
for s in s1 s2 s3 s3b; do
	made=$(count "$s" ": new, realm=<$REALM>")
	deleted=$(count "$s" ", lifetime=0")
	assert_eq "$s: allocations deleted" "$made" "$deleted"
done
assert_eq "s1: allocations made" 5 "$(count s1 ": new, realm=<$REALM>")"
for s in s1 s2 s3b; do
	turn_stop "$s"
done
