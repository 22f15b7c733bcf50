#!/usr/bin/env bash
# Device tokens expire (here after 12 s: nexapi --device-token-ttl 12) and
# nexd renews its own at half-life while it runs: it keeps its device id,
# keeps talking to the API server, never registers again; the token it
# stored is replaced (0600), the one it replaced is refused once expired.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

API_EXTRA=(--device-token-ttl 12)
inet_up
api_up
stun_up
public_host d1 203.0.113.31
nat_host d2 nat2 203.0.113.2 192.0.2
KEY=$(reg_key api)
nexd_start d1 "$KEY"
nexd_start d2 "$KEY"
nexd_wait_up d1
nexd_wait_up d2
mesh_ping d1 d2
ID1=$(jq -r .device_id "$TMPD/state-d1/device.json")
T0=$(jq -r .device_token "$TMPD/state-d1/device.json")
whoami() {
	n d1 curl -s --cacert "$TMPD/ca.pem" -H "Authorization: Bearer $1" "$API_URL/api/v1/whoami"
}
assert_eq "the first token, with its expiry" "device $ID1" "$(whoami "$T0" | jq -r '"\(.kind) \(.device_id)"')"

say "renewed at half-life, stored, used"
wait_for 15 grep -q "api: device token renewed" "$TMPD/nexd-d1.log" || fail "no renewal in 15 s"
T1=$(jq -r .device_token "$TMPD/state-d1/device.json")
[ -n "$T1" ] && [ "$T1" != "$T0" ] || fail "no new token on disk"
printf '    ok: %s\n' "a new token on disk" >&2
assert_eq "device.json mode" 600 "$(stat -c %a "$TMPD/state-d1/device.json")"

say "the first token expires; nexd goes on with the new ones"
wait_for 15 eval '[ "$(whoami "$T0" | jq -r .message)" = "token expired" ]' || fail "the first token still works"
printf '    ok: %s\n' "the first token is refused: token expired" >&2
wait_for 15 eval '[ "$(grep -c "api: device token renewed" "$TMPD/nexd-d1.log")" -ge 3 ]' ||
	fail "fewer than 3 renewals: $(grep -c 'device token renewed' "$TMPD/nexd-d1.log")"
if grep -q "registering again" "$TMPD/nexd-d1.log"; then fail "nexd registered again"; fi
assert_eq "one registration" 1 "$(grep -c "registered as device" "$TMPD/nexd-d1.log")"
assert_eq "the same device id" "$ID1" "$(jq -r .device_id "$TMPD/state-d1/device.json")"
assert_eq "API state" connected "$(nexd_ctl d1 status -o json | jq -r .api_state)"
assert_eq "still two devices" 2 "$(nexctl_admin api -o json device list | jq '.devices | length')"
mesh_ping d1 d2
nexd_stop d1
nexd_stop d2
