#!/usr/bin/env bash
# nexapi hands out TURN relays (--turn-server, --turn-secret-file,
# --turn-ttl): a device gets both relays with its registration and from
# GET /api/v1/devices/{id}/relays, with credentials of the TURN REST scheme
# (username "<expiry>:<device id>", password base64(HMAC-SHA1(secret,
# username)), checked here with openssl); only its own device token may ask;
# the secret is in no log; a device publishes its relayed address as an
# endpoint with "source": "relay"; and the credentials work against a real
# coturn started with use-auth-secret and the same secret (turnutils_uclient
# allocates with them, and fails with a wrong password or an expired
# username). Bad options make nexapi exit non-zero with a clear message.
#
#   inet   the 203.0.113.0/24 bridge
#   api    203.0.113.10  nexapi over TLS with two TURN servers
#   turn   203.0.113.30  coturn, TURN on 3478 (UDP and TCP), use-auth-secret
#   peer   203.0.113.31  turnutils_peer, the far end of the relayed path
#   dev    198.51.100.2  behind the NAT router rdev (203.0.113.41)
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

command -v turnserver >/dev/null || fail "turnserver (coturn) not installed"
command -v turnutils_uclient >/dev/null || fail "turnutils_uclient (coturn) not installed"
NEXAPI_BIN=$NEXAPI
[ -x "$NEXAPI_BIN" ] || fail "nexapi not built ($NEXAPI_BIN)"

TURN_IP=203.0.113.30
PEER_IP=203.0.113.31
TTL=3600
REALM=nexodus.test
DEV=d1c0ffee-0000-4000-8000-000000000000   # a device id for the hand-made usernames

# The secret: never printed, never on a command line of a daemon.
SECRET=$(openssl rand -hex 24)
(umask 077 && printf '%s\n' "$SECRET" >"$TMPD/turn.secret")

# hmac USERNAME [SECRET]: the password the TURN REST scheme gives USERNAME.
hmac() {
	printf '%s' "$1" | openssl dgst -sha1 -hmac "${2:-$SECRET}" -binary | base64
}

# api_req HOST METHOD PATH TOKEN [BODY]: one request from HOST; sets STATUS
# and RESP.
api_req() {
	local host=$1 method=$2 path=$3 token=$4 body=${5-}
	local args=(-s -g --cacert "$TMPD/ca.pem" -o "$TMPD/resp" -w '%{http_code}' -X "$method"
		-H "Authorization: Bearer $token")
	[ -n "$body" ] && args+=(-H 'Content-Type: application/json' --data-binary "$body")
	STATUS=$(n "$host" curl "${args[@]}" "$API_URL$path") || STATUS=000
	RESP=$(cat "$TMPD/resp" 2>/dev/null || true)
	printf '[+] %s: %s %s -> %s\n' "$host" "$method" "$path" "$STATUS" >&2
}
j() { jq -r "$1" <<<"$RESP"; }

# check_relays JSON-PATH DEVICE-ID NOW: the relay list at JSON-PATH of RESP
# holds both servers with valid credentials for DEVICE-ID, made at NOW.
check_relays() {
	local at=$1 id=$2 now=$3 i user expiry pass
	assert_eq "relay count" 2 "$(j "$at | length")"
	assert_eq "relay 0" "turn:$TURN_IP:3478" "$(j "$at[0].uri")"
	assert_eq "relay 1" "turn:$TURN_IP:3478?transport=tcp" "$(j "$at[1].uri")"
	for i in 0 1; do
		user=$(j "$at[$i].username")
		[[ $user =~ ^([0-9]+):(.*)$ ]] || fail "username $user is not <expiry>:<device id>"
		assert_eq "username's device" "$id" "${BASH_REMATCH[2]}"
		expiry=${BASH_REMATCH[1]}
		assert_ge "expiry" $((now + TTL - 5)) "$expiry"
		assert_le "expiry" $((now + TTL + 5)) "$expiry"
		assert_eq "expires_at" "$(date -u -d "@$expiry" +%Y-%m-%dT%H:%M:%SZ)" "$(j "$at[$i].expires_at")"
		pass=$(j "$at[$i].password")
		[ "$pass" == "$(hmac "$user")" ] || fail "relay $i: the password is not base64(HMAC-SHA1(secret, username))"
		printf '    ok: relay %s: password = base64(HMAC-SHA1(secret, %s))\n' "$i" "$user" >&2
	done
}

say "the internet, the API with two TURN servers, coturn, a device behind a NAT"
inet_up
# mesh.sh's api_up starts $NEXAPI: a wrapper that adds the TURN options
# (exec: the pid bg_start records is nexapi's).
cat >"$TMPD/nexapi-turn" <<EOF
#!/bin/sh
exec "$NEXAPI_BIN" "\$@" --turn-server "turn:$TURN_IP" --turn-server "turn:$TURN_IP:3478?transport=tcp" \\
	--turn-secret-file "$TMPD/turn.secret" --turn-ttl $TTL
EOF
chmod 0700 "$TMPD/nexapi-turn"
NEXAPI=$TMPD/nexapi-turn
api_up
API_LOG=$(ls "$TMPD"/nexapi-*.log)
assert_eq "relays in the log" 2 "$(grep -c "TURN relay turn:$TURN_IP:3478\(?transport=tcp\)\? handed to the devices (credentials valid $TTL s)" "$API_LOG")"
grep -q 'may be read by group or others' "$API_LOG" && fail "a warning about a secret file of mode 0600"

public_host turn "$TURN_IP"
public_host peer "$PEER_IP"
cat >"$TMPD/turnserver.conf" <<EOF
# As in docs/api.md: the secret is nexapi's --turn-secret-file.
use-auth-secret
static-auth-secret=$SECRET
realm=$REALM
listening-ip=$TURN_IP
relay-ip=$TURN_IP
listening-port=3478
fingerprint
no-tls
no-dtls
no-cli
EOF
chmod 0600 "$TMPD/turnserver.conf"
bg_start coturn turn turnserver -c "$TMPD/turnserver.conf" --userdb "$TMPD/turndb" \
	--log-file "$TMPD/turn-file.log" --simple-log --pidfile "$TMPD/turn.pid"
TURN_PID=$BG_PID
wait_for 10 sh -c "ip netns exec $NX-turn ss -Huln | grep -q '$TURN_IP:3478 '" &&
	wait_for 10 sh -c "ip netns exec $NX-turn ss -Htln | grep -q '$TURN_IP:3478 '" ||
	fail "coturn does not listen on $TURN_IP:3478 (UDP and TCP)"
bg_start turn-peer peer turnutils_peer -L "$PEER_IP" -p 3480
wait_for 10 sh -c "ip netns exec $NX-peer ss -Huln | grep -q '$PEER_IP:3480 '" || fail "turnutils_peer did not start"
nat_host dev rdev 203.0.113.41 198.51.100

say "register two devices (as the other API tests do)"
KEY=$(reg_key api)
[[ $KEY == nxr_* ]] || fail "no registration key: $KEY"
register() {
	api_req dev POST /api/v1/devices "$KEY" "{\"public_key\":\"$(wg genkey | wg pubkey)\",\"hostname\":\"$1\",\"os\":\"linux\",\"endpoints\":[{\"source\":\"local\",\"address\":\"198.51.100.2:51820\"}]}"
	assert_eq "register $1" 201 "$STATUS"
}
NOW=$(date +%s)
register dev-1
D1=$(j .device.id)
D1_TOKEN=$(j .device_token)
D1_REG=$RESP
check_relays .relays "$D1" "$NOW"
register dev-2
D2=$(j .device.id)
D2_TOKEN=$(j .device_token)
check_relays .relays "$D2" "$NOW"

say "GET /api/v1/devices/{id}/relays: its own device token only"
NOW=$(date +%s)
api_req dev GET "/api/v1/devices/$D1/relays" "$D1_TOKEN"
assert_eq "own relays" 200 "$STATUS"
assert_eq "ttl" "$TTL" "$(j .ttl)"
check_relays .relays "$D1" "$NOW"
R_USER=$(j '.relays[0].username')
R_PASS=$(j '.relays[0].password')
api_req dev GET "/api/v1/devices/$D1/relays" "$D2_TOKEN"
assert_eq "another device's token" "403 forbidden" "$STATUS $(j .error)"
api_req api GET "/api/v1/devices/$D1/relays" "$ADMIN_TOKEN"
assert_eq "admin token" "403 forbidden" "$STATUS $(j .error)"
api_req api POST /api/v1/tokens "$ADMIN_TOKEN" '{"organization":"default"}'
ORG_TOKEN=$(j .token)
api_req api GET "/api/v1/devices/$D1/relays" "$ORG_TOKEN"
assert_eq "organization token" "403 forbidden" "$STATUS $(j .error)"
api_req dev GET "/api/v1/devices/$D1/relays" "$KEY"
assert_eq "registration key" 403 "$STATUS"
api_req dev GET "/api/v1/devices/00000000-0000-4000-8000-000000000000/relays" "$D1_TOKEN"
assert_eq "no such device" "404 not_found" "$STATUS $(j .error)"
api_req dev GET "/api/v1/devices/$D1/relays" "nxd_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
assert_eq "unknown token" 401 "$STATUS"
api_req dev DELETE "/api/v1/devices/$D1/relays" "$D1_TOKEN"
assert_eq "DELETE" 405 "$STATUS"

say "the credentials against coturn (use-auth-secret, the same secret)"
# uclient NAME USER PASSWORD [ARGS...]: turnutils_uclient from dev to the
# relay and the peer behind it; its output in $TMPD/NAME.out.
uclient() {
	local name=$1 user=$2 pass=$3
	shift 3
	printf '[+] dev: turnutils_uclient %s -u %s %s %s\n' "$name" "$user" "$*" "$TURN_IP" >&2
	n dev timeout 60 turnutils_uclient -v -n 2 -e "$PEER_IP" -r 3480 -u "$user" -w "$pass" "$@" "$TURN_IP" \
		>"$TMPD/$name.out" 2>&1
}
uclient allocate-udp "$R_USER" "$R_PASS" || {
	tail -n 20 "$TMPD/allocate-udp.out" >&2
	fail "allocation over UDP with the API's credentials failed"
}
RELAYED=$(sed -n 's/.*Received relay addr: \([0-9.]*:[0-9]*\).*/\1/p' "$TMPD/allocate-udp.out" | head -n 1)
[[ $RELAYED == $TURN_IP:* ]] || fail "no relayed address in the uclient output"
grep -q 'tot_recv_msgs=[1-9]' "$TMPD/allocate-udp.out" || fail "nothing came back through the relay"
printf '    ok: allocated %s over UDP, data relayed both ways\n' "$RELAYED" >&2
uclient allocate-tcp "$R_USER" "$R_PASS" -t || {
	tail -n 20 "$TMPD/allocate-tcp.out" >&2
	fail "allocation over TCP (the second relay) with the API's credentials failed"
}
grep -q 'tot_recv_msgs=[1-9]' "$TMPD/allocate-tcp.out" || fail "nothing came back through the relay over TCP"
printf '    ok: allocated over TCP\n' >&2
if uclient wrong-password "$R_USER" "${R_PASS%?????}AAAA="; then
	fail "coturn accepted a wrong password"
fi
grep -q 'Cannot complete Allocation' "$TMPD/wrong-password.out" || fail "no allocation error with a wrong password"
printf '    ok: a wrong password is refused\n' >&2
OLD="$(($(date +%s) - 60)):$DEV"
if uclient expired "$OLD" "$(hmac "$OLD")"; then
	fail "coturn accepted an expired username"
fi
printf '    ok: an expired username is refused, even with its right password\n' >&2
OTHER="$(($(date +%s) + 600)):$DEV"
if uclient other-secret "$OTHER" "$(hmac "$OTHER" "not-the-$SECRET")"; then
	fail "coturn accepted a password made with another secret"
fi
printf '    ok: a password of another secret is refused\n' >&2

say "the device publishes its relayed address: \"source\": \"relay\""
api_req dev PATCH "/api/v1/devices/$D1" "$D1_TOKEN" "{\"endpoints\":[{\"source\":\"local\",\"address\":\"198.51.100.2:51820\"},{\"source\":\"relay\",\"address\":\"$RELAYED\"}]}"
assert_eq "PATCH with a relay endpoint" 200 "$STATUS"
api_req dev GET "/api/v1/devices/$D1" "$D2_TOKEN"
assert_eq "relay endpoint seen by the organization" "$RELAYED" "$(j '.endpoints[] | select(.source == "relay") | .address')"
api_req dev PATCH "/api/v1/devices/$D1" "$D1_TOKEN" '{"endpoints":[{"source":"turn","address":"203.0.113.30:3478"}]}'
assert_eq "an unknown source" "400 bad_request" "$STATUS $(j .error)"

say "bad options: nexapi exits non-zero with a clear message, and creates nothing"
# bad_start WHAT MESSAGE ARGS...: nexapi with ARGS must fail at start with MESSAGE.
bad_start() {
	local what=$1 msg=$2 rc=0
	shift 2
	printf '[+] (must fail) nexapi ... %s\n' "$*" >&2
	n api timeout 10 "$NEXAPI_BIN" --listen "$API_IP:8444" --db "$TMPD/bad.db" \
		--tls-cert "$TMPD/api.pem" --tls-key "$TMPD/api.key" "$@" >"$TMPD/bad-start.out" 2>&1 || rc=$?
	[ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || fail "$what: nexapi exited with $rc"
	grep -qF -- "$msg" "$TMPD/bad-start.out" || fail "$what: no '$msg' in: $(cat "$TMPD/bad-start.out")"
	[ ! -e "$TMPD/bad.db" ] || fail "$what: a database was created"
	printf '    ok: %s: exit %s, "%s"\n' "$what" "$rc" "$(head -n 1 "$TMPD/bad-start.out")" >&2
}
bad_start "malformed --turn-server" "--turn-server turn:$TURN_IP:99999: not a TURN URI" \
	--turn-server "turn:$TURN_IP:99999" --turn-secret-file "$TMPD/turn.secret"
bad_start "userinfo in --turn-server" "--turn-server turn:user@$TURN_IP: not a TURN URI" \
	--turn-server "turn:user@$TURN_IP" --turn-secret-file "$TMPD/turn.secret"
bad_start "turns over UDP" "--turn-server turns:$TURN_IP?transport=udp: not a TURN URI" \
	--turn-server "turns:$TURN_IP?transport=udp" --turn-secret-file "$TMPD/turn.secret"
bad_start "missing secret file" "--turn-secret-file $TMPD/nope: No such file or directory" \
	--turn-server "turn:$TURN_IP" --turn-secret-file "$TMPD/nope"
bad_start "--turn-server without a secret" "--turn-server needs --turn-secret-file" --turn-server "turn:$TURN_IP"
bad_start "a secret without --turn-server" "--turn-secret-file is for TURN relays: give --turn-server too" \
	--turn-secret-file "$TMPD/turn.secret"
: >"$TMPD/empty.secret"
chmod 0600 "$TMPD/empty.secret"
bad_start "an empty secret" "--turn-secret-file $TMPD/empty.secret: empty" \
	--turn-server "turn:$TURN_IP" --turn-secret-file "$TMPD/empty.secret"
bad_start "a ttl out of range" "--turn-ttl 60: expected 300 to 604800 seconds" \
	--turn-server "turn:$TURN_IP" --turn-secret-file "$TMPD/turn.secret" --turn-ttl 60
nine=()
for p in 1 2 3 4 5 6 7 8 9; do nine+=(--turn-server "turn:$TURN_IP:$p"); done
bad_start "nine servers" "at most 8 TURN servers" "${nine[@]}" --turn-secret-file "$TMPD/turn.secret"

say "a secret file that others may read: refused, without the secret"
cp "$TMPD/turn.secret" "$TMPD/open.secret"
chmod 0644 "$TMPD/open.secret"
rc=0
n api "$NEXAPI_BIN" --listen "$API_IP:8444" --db "$TMPD/open.db" \
	--tls-cert "$TMPD/api.pem" --tls-key "$TMPD/api.key" --turn-server "turn:$TURN_IP" \
	--turn-secret-file "$TMPD/open.secret" >"$TMPD/nexapi-open.log" 2>&1 || rc=$?
assert_eq "nexapi with an open secret file: exit" 1 "$rc"
grep -q "turn-secret-file $TMPD/open.secret: group or others may read or change it: chmod 600 it" \
	"$TMPD/nexapi-open.log" || fail "no clear refusal of a secret file of mode 0644: $(cat "$TMPD/nexapi-open.log")"
printf '    ok: refused mode 644\n' >&2

say "the secret is in no log, the passwords not in nexapi's"
for f in "$TMPD"/*.log "$TMPD"/*.out; do
	grep -qF -- "$SECRET" "$f" && fail "the secret is in $(basename "$f")"
done
grep -qF -- "$R_PASS" "$API_LOG" && fail "a relay password is in nexapi's log"
grep -qF -- "$(jq -r '.relays[0].password' <<<"$D1_REG")" "$API_LOG" && fail "a relay password is in nexapi's log"
printf '    ok: no secret in %s\n' "$(cd "$TMPD" && echo *.log *.out)" >&2

stop_pid "$TURN_PID" || fail "coturn did not stop on SIGTERM"
api_stop
assert_eq "nexapi exit status after SIGTERM" 0 "$STOP_RC"
