#!/usr/bin/env bash
# Trust in exit nodes: a device that makes itself an exit node is never used
# until an admin approves it (nor as a failover target); approval and its
# withdrawal act on subscribed clients; `enable` refuses what it cannot
# honour (unapproved, ambiguous); a hostname that is another exit node's
# tunnel IP does not hijack a pin; a registration with an exit node's
# public key is refused without proof of its private key; a subscribed
# client announces its uplink address; a firewall that would drop what an
# exit node forwards is reported to its admin; a deleted device stops,
# removes everything and does not come back by itself.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

inet_up
api_up
stun_up
dns_up
www_up
KEY=$(reg_key api)

exit_host exitA 203.0.113.40
exit_host exitB 203.0.113.42
exit_host exitC 203.0.113.44
nat_host c1 natc1 203.0.113.2 192.0.2
for h in exitA exitB exitC c1; do resolver "$h"; done
C1_BEFORE=$(routing_state c1)
client_state() { nexd_ctl c1 status -o json | jq -r .exit_node_client; }
# listed IP true|false: c1 lists the exit node with tunnel IP, approved or not
listed() {
	nexd_ctl c1 exit-node list -o json |
		jq -e --arg ip "$1" --argjson a "$2" 'any(.[]; .tunnel_ip == $ip and .approved == $a)' >/dev/null
}

say "exitA, approved; exitB, whose hostname is exitA's tunnel IP, not approved"
nexd_start exitA "$KEY" router --exit-node
nexd_start c1 "$KEY"
nexd_wait_up exitA
nexd_wait_up c1
approve_exit exitA
IPA=$(tunnel_ip exitA)
IDA=$(device_id exitA)
# a global option given twice: the last one counts
nexd_start exitB "$KEY" --hostname "$IPA" router --exit-node
nexd_wait_up exitB
IPB=$(tunnel_ip exitB)
wait_for 10 listed "$IPB" false || fail "c1 does not list exitB as not approved: $(nexd_ctl c1 exit-node list 2>&1)"
printf '    ok: %s\n' "c1 lists exitB, not approved" >&2
exit_listed c1 exitA

say "enable names an exit node that is not approved: refused, nothing changed"
if out=$(nexd_ctl c1 exit-node enable --exit-node "$IPB" 2>&1); then
	fail "enable with an unapproved exit node succeeded: $out"
fi
assert_contains "error" "$IPB is not an approved exit node of the organization" "$out"
assert_eq "still off" off "$(client_state)"

say "enable: exitA, the only approved one; the client announces its uplink address"
nexd_ctl c1 exit-node enable >/dev/null
expect_source c1 203.0.113.40
assert_eq "local endpoint while subscribed (status)" "192.0.2.2:51820" \
	"$(nexd_ctl c1 status -o json | jq -r '[.endpoints[] | select(.source == "local")][0].address')"
ID1=$(device_id c1)
api_local_ep() {
	nexctl_admin api -o json device list | jq -r --arg id "$ID1" \
		'.devices[] | select(.id == $id) | [.endpoints[] | select(.source == "local")][0].address'
}
wait_for 10 eval '[ "$(api_local_ep)" = 192.0.2.2:51820 ]' || true
assert_eq "local endpoint while subscribed (API record)" "192.0.2.2:51820" "$(api_local_ep)"

say "exitA stops: the unapproved exitB is no failover target (fail closed)"
nexd_stop exitA
wait_for 15 eval '[ "$(client_state)" = "exitA does not answer; traffic blocked" ]' ||
	fail "c1 does not notice that exitA is gone: $(client_state)"
sleep 3
assert_eq "no internet, not through exitB" "" "$(whoami_from c1)"
assert_eq "still blocked, 3 s later" "exitA does not answer; traffic blocked" "$(client_state)"

say "the admin approves exitB: the subscribed client uses it; unapproves it: the client stops"
IDB=$(device_id "$IPA")
pp nexctl_admin api device approve "$IDB" >/dev/null
expect_source c1 203.0.113.42
pp nexctl_admin api device unapprove "$IDB" >/dev/null
wait_for 15 eval '[ -z "$(whoami_from c1)" ]' ||
	fail "c1 still uses exitB after it was unapproved"
assert_eq "after unapprove" "" "$(whoami_from c1)"

say "exitA back: used again; with exitB approved, a pin on exitA's tunnel IP means exitA, not the device named so"
nexd_start exitA "$KEY" router --exit-node
nexd_wait_up exitA
expect_source c1 203.0.113.40
pp nexctl_admin api device approve "$IDB" >/dev/null
wait_for 15 listed "$IPB" true ||
	fail "c1 does not see exitB approved"
nexd_ctl c1 exit-node enable --exit-node "$IPA" >/dev/null
expect_source c1 203.0.113.40
wait_for 5 eval '[ "$(client_state)" = "using exitA ($IPA)" ]' || true
assert_eq "client state" "using exitA ($IPA)" "$(client_state)"

say "two approved exit nodes named exitA: a pin on that name is refused, listing both"
nexd_start exitC "$KEY" --hostname exitA router --exit-node
nexd_wait_up exitC
IPC=$(tunnel_ip exitC)
pp nexctl_admin api device approve "$(nexctl_admin api -o json device list | jq -r --arg ip "$IPC" '.devices[] | select(.tunnel_ip == $ip) | .id')" >/dev/null
wait_for 15 listed "$IPC" true ||
	fail "c1 does not see exitC approved"
IDC=$(nexctl_admin api -o json device list | jq -r --arg ip "$IPC" '.devices[] | select(.tunnel_ip == $ip) | .id')
if out=$(nexd_ctl c1 exit-node enable --exit-node exitA 2>&1); then
	fail "an ambiguous pin succeeded: $out"
fi
assert_contains "ambiguous" "exitA names several exit nodes" "$out"
assert_contains "lists exitA" "$IPA ($IDA)" "$out"
assert_contains "lists exitC" "$IPC ($IDC)" "$out"
assert_eq "the subscription is unchanged" 203.0.113.40 "$(whoami_from c1)"
nexd_stop exitC

say "a registration with exitA's public key, without proof of its private key: refused"
PUBA=$(nexd_ctl exitA status -o json | jq -r .public_key)
public_host attacker 203.0.113.66
code=$(n attacker curl -s -o "$TMPD/takeover.json" -w '%{http_code}' --cacert "$TMPD/ca.pem" \
	-H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
	--data-binary "{\"public_key\":\"$PUBA\",\"hostname\":\"attacker\",\"os\":\"linux\",\"advertise_cidrs\":[\"0.0.0.0/0\"]}" \
	"$API_URL/api/v1/devices")
assert_eq "takeover refused" 409 "$code"
assert_eq "a challenge to answer" 44 "$(jq -r '.challenge.server_key | length' "$TMPD/takeover.json")"
assert_eq "exitA's record unchanged" "exitA $IPA" \
	"$(nexctl_admin api -o json device list | jq -r --arg id "$IDA" '.devices[] | select(.id == $id) | "\(.hostname) \(.tunnel_ip)"')"
assert_eq "the client still uses exitA" 203.0.113.40 "$(whoami_from c1)"

say "a firewall on exitA that drops forwarded traffic: the admin is told within seconds"
t0=$(date +%s%3N)
n exitA nft add table inet fw
n exitA nft "add chain inet fw forward { type filter hook forward priority 0; policy drop; }"
wait_for 10 grep -q "exit node: firewall: table inet fw, chain forward has policy drop" "$TMPD/nexd-exitA.log" ||
	fail "no firewall warning in exitA's log"
printf '    ok: %s\n' "warned in the log after $(($(date +%s%3N) - t0)) ms" >&2
assert_contains "status warnings" "table inet fw, chain forward" "$(nexd_ctl exitA status -o json | jq -r .warnings)"
api_exit_status() {
	nexctl_admin api -o json device list | jq -r --arg id "$IDA" '.devices[] | select(.id == $id) | .exit_node_status'
}
wait_for 10 eval 'api_exit_status | grep -q "table inet fw, chain forward"' || true
assert_contains "exit_node_status on the API server" "exit node: firewall may drop forwarded traffic: table inet fw, chain forward has policy drop" "$(api_exit_status)"
n exitA nft delete table inet fw
wait_for 10 eval '[ -z "$(nexd_ctl exitA status -o json | jq -r .warnings)" ]' ||
	fail "the warning did not clear"
printf '    ok: %s\n' "the warning cleared" >&2

say "the admin deletes c1 while it runs: nexd removes everything and exits 3; no re-registration"
pp nexctl_admin api device delete "$ID1" >/dev/null
wait_for 10 eval '! pid_alive '"${NEXD_PID[c1]}" || fail "nexd on c1 still runs 10 s after its device was deleted"
wait "${NEXD_PID[c1]}" && rc=0 || rc=$?
untrack_pid "${NEXD_PID[c1]}"
assert_eq "exit status" 3 "$rc"
grep -q "this device was deleted on the API server" "$TMPD/nexd-c1.log" || fail "no log line about the deletion"
assert_eq "routing state of c1 as before nexd" "$C1_BEFORE" "$(routing_state c1)"
[ ! -e "$TMPD/state-c1/device.json" ] || fail "device.json kept after deletion"
sleep 2
assert_eq "not registered again" "" "$(device_id c1)"
nexd_start c1 "$KEY"
nexd_wait_up c1
NEW=$(device_id c1)
[ -n "$NEW" ] && [ "$NEW" != "$ID1" ] || fail "a new start did not enroll afresh ($NEW, was $ID1)"
printf '    ok: %s\n' "enrolled afresh as $NEW" >&2
nexd_stop c1
nexd_stop exitA
nexd_stop exitB
