#!/usr/bin/env bash
# A TURN server that refuses: nexapi hands out credentials made with
# another secret (401), then the server's quota is full (486). Each time
# nexd says so clearly in `nexctl nexd status` and its log, and the direct
# paths work as if there were no relay.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

say "a TURN server whose secret nexapi does not have, and whose quota is one allocation"
inet_up
stun_up
TURN_EXTRA="--total-quota 1"
turn_up
openssl rand -hex 24 >"$TMPD/turn.secret"      # not coturn's
api_up
KEY=$(reg_key api)
nat_host h1 rh1 203.0.113.51 192.0.2
nat_host h2 rh2 203.0.113.52 198.51.100
nexd_start h1 "$KEY"
nexd_start h2 "$KEY"
nexd_wait_up h1
nexd_wait_up h2

say "the wrong secret: 401 in the status, direct paths unharmed"
wait_for 15 sh -c "ip netns exec $NX-h1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[h1]} status -o json | jq -r .relay | grep -q 401" ||
	fail "h1 does not say that the relay refused it: $(nexd_ctl h1 status -o json | jq -r .relay)"
nexd_ctl h1 status | grep relay >&2
grep -q "relay: .*401" "$TMPD/nexd-h1.log" || fail "h1's log does not say that the relay refused it"
mesh_ping h1 h2
mesh_ping h2 h1
wait_path h1 h2 direct 10 || fail "h1's path to h2: $(peer_path h1 h2), not direct"
assert_eq "h1's relayed address" "" "$(nexd_ctl h1 status -o json | jq -r .relay_endpoint)"

say "the right secret, and the quota full: 486 for the second device"
api_stop
cp "$TMPD/turnserver.conf" "$TMPD/conf.copy"
sed -n 's/^static-auth-secret=//p' "$TMPD/conf.copy" >"$TMPD/turn.secret"
api_start
nexd_stop h1
nexd_stop h2
nexd_start h1 "$KEY"
nexd_wait_up h1
wait_for 15 sh -c "ip netns exec $NX-h1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[h1]} status -o json | jq -e '.relay_endpoint != \"\"' >/dev/null" ||
	fail "h1 got no allocation with the right secret: $(nexd_ctl h1 status -o json | jq -r .relay)"
nexd_start h2 "$KEY"
nexd_wait_up h2
wait_for 15 sh -c "ip netns exec $NX-h2 $NEXCTL nexd --unix-socket ${NEXD_SOCK[h2]} status -o json | jq -r .relay | grep -q 486" ||
	fail "h2 does not say that the relay's quota is full: $(nexd_ctl h2 status -o json | jq -r .relay)"
nexd_ctl h2 status | grep relay >&2
mesh_ping h2 h1
mesh_ping h1 h2
wait_path h2 h1 direct 10 || fail "h2's path to h1: $(peer_path h2 h1), not direct"
nexd_stop h1
nexd_stop h2
