#!/usr/bin/env bash
# Exit nodes, the workflow of the design: a client's source address as the
# internet sees it before, after `nexctl nexd exit-node enable`, after
# `disable`; the exact output lines; mesh traffic unchanged throughout;
# enabling with no approved exit node is an error that changes nothing; a
# subscription made on the API server before any exit node exists waits
# (failing closed), ignores a pending exit node and uses it once an admin
# approves it; `--exit-node nosuch` is an error; an exit node of another
# organization is never used; `--exit-node-client` at start; the
# subscription driven from the API server (nexctl device update); `list` in
# an organization without exit nodes fails.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

say "the internet: API, STUN, DNS, a whoami web server"
inet_up
api_up
stun_up
dns_up
www_up

say "devices: two clients behind their own NAT; exit nodes come later"
nat_host c1 natc1 203.0.113.2 192.0.2
nat_host c2 natc2 203.0.113.3 198.51.100
exit_host exit 203.0.113.40
exit_host exit2 203.0.113.41
for h in c1 c2 exit exit2; do resolver "$h"; done
KEY=$(reg_key api)
assert_ok "create org second" nexctl_admin api org create second --prefix 100.100.200.0/24
KEY2=$(reg_key api --org second)
nexd_start c1 "$KEY"
nexd_start c2 "$KEY"
nexd_wait_up c1
nexd_wait_up c2
mesh_ping c1 c2

say "list with no exit node in the organization fails on stderr"
if out=$(nexd_ctl c1 exit-node list 2>"$TMPD/err"); then
	fail "exit-node list succeeded without an exit node: $out"
fi
assert_contains "list error" "no exit node" "$(cat "$TMPD/err")"

say "before: c1 reaches the internet from its own NAT address"
expect_source c1 203.0.113.2

say "an exit node of another organization is never used"
say "(its host has a foreign forward chain with policy drop, as Docker installs: nexd warns)"
n exit2 nft add table ip filter
n exit2 nft "add chain ip filter FORWARD { type filter hook forward priority 0; policy drop; }"
nexd_start exit2 "$KEY2" router --exit-node
nexd_wait_up exit2
wait_for 10 grep -q "table ip filter, chain FORWARD has policy drop" "$TMPD/nexd-exit2.log" ||
	fail "no warning about the foreign forward chain in the log"
assert_contains "status warns about the foreign forward chain" "table ip filter, chain FORWARD" \
	"$(nexd_ctl exit2 status -o json | jq -r .warnings)"
n exit2 nft delete table ip filter
approve_exit exit2 second

say "enable with no approved exit node in the organization: an error, nothing changed"
before=$(routing_state c1)
if out=$(nexd_ctl c1 exit-node enable 2>"$TMPD/err"); then
	fail "enable succeeded without an approved exit node: $out"
fi
assert_contains "enable error" "the organization has no approved exit node" "$(cat "$TMPD/err")"
assert_eq "c1's routing unchanged by the refused enable" "$before" "$(routing_state c1)"
assert_eq "c1 still not subscribed" off "$(nexd_ctl c1 status -o json | jq -r .exit_node_client)"
expect_source c1 203.0.113.2

say "subscribed on the API server before any exit node: c1 waits, failing closed"
c1id=$(nexd_ctl c1 status -o json | jq -r .device_id)
assert_ok "subscribe c1 on the API server" nexctl_admin api device update "$c1id" --exit-node-client on
wait_for 10 sh -c "[ \"\$(ip netns exec $NX-c1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[c1]} status -o json | jq -r .exit_node_client)\" = 'waiting for an exit node' ]" ||
	fail "c1 does not wait for an exit node: $(nexd_ctl c1 status -o json | jq -r .exit_node_client)"
assert_eq "c1 is not carried by another organization's exit node, nor leaks (fail closed while waiting)" \
	"" "$(whoami_from c1)"
mesh_ping c1 c2

say "an exit node appears, pending approval: listed as such, never used"
nexd_start exit "$KEY" router --exit-node
nexd_wait_up exit
wait_for 15 sh -c "ip netns exec $NX-c1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[c1]} exit-node list | grep -q 'no (pending)'" ||
	fail "c1's exit-node list does not show the pending exit node: $(nexd_ctl c1 exit-node list 2>&1)"
assert_eq "the pending exit node in -o json" false \
	"$(nexd_ctl c1 exit-node list -o json | jq -r '.[] | select(.hostname == "exit") | .approved')"
sleep 2
assert_eq "c1 does not use the pending exit node (still failing closed)" "" "$(whoami_from c1)"
assert_eq "c1 still waiting" "waiting for an exit node" "$(nexd_ctl c1 status -o json | jq -r .exit_node_client)"

say "the admin approves it: the waiting client uses it"
approve_exit exit
expect_source c1 203.0.113.40
assert_ok "unsubscribe c1 on the API server" nexctl_admin api device update "$c1id" --exit-node-client off
expect_source c1 203.0.113.2

say "enable --exit-node nosuch: an error, nothing changed"
before=$(routing_state c1)
if out=$(nexd_ctl c1 exit-node enable --exit-node nosuch 2>"$TMPD/err"); then
	fail "enable --exit-node nosuch succeeded: $out"
fi
assert_contains "enable nosuch error" "nosuch is not an approved exit node of the organization" "$(cat "$TMPD/err")"
assert_eq "c1's routing unchanged by the refused pin" "$before" "$(routing_state c1)"
expect_source c1 203.0.113.2

say "enable: c1 uses the approved exit node"
out=$(nexd_ctl c1 exit-node enable)
assert_eq "enable output" "Successfully enabled exit node client on this device" "$out"
expect_source c1 203.0.113.40
list=$(nexd_ctl c1 exit-node list)
printf '%s\n' "$list" >&2
assert_eq "list header" "ENDPOINT ADDRESS         PUBLIC KEY" "$(head -1 <<<"$list" | cut -c1-35)"
exitpub=$(n exit wg show "${NEXD_IF[exit]}" public-key)
assert_contains "list row" "203.0.113.40:51820       $exitpub" "$list"
assert_eq "list rows" 2 "$(wc -l <<<"$list")"
mesh_ping c1 c2
mesh_ping c2 c1
say "the API server shows what the client does"
wait_for 10 sh -c "ip netns exec $NX-api $NEXCTL --service-url $API_URL --ca-cert $TMPD/ca.pem --token $ADMIN_TOKEN device get $c1id -o json | jq -e '.exit_node_client == true and (.exit_node_status | startswith(\"using exit\"))'" ||
	fail "the API server does not show c1 using the exit node"
say "names resolve through the host's resolver while subscribed"
assert_eq "c1 resolves www.example.test" "$WWW_IP" "$(n c1 getent hosts www.example.test | awk '{ print $1 }')"

say "disable: back to the client's own address"
out=$(nexd_ctl c1 exit-node disable)
assert_eq "disable output" "Successfully disabled exit node client on this device" "$out"
expect_source c1 203.0.113.2
mesh_ping c1 c2

say "the subscription from the API server (nexctl device update)"
assert_ok "subscribe c1 on the API server" nexctl_admin api device update "$c1id" --exit-node-client on
expect_source c1 203.0.113.40
assert_ok "unsubscribe c1 on the API server" nexctl_admin api device update "$c1id" --exit-node-client off
expect_source c1 203.0.113.2

say "--exit-node-client at start"
expect_source c2 203.0.113.3
nexd_stop c2
nexd_start c2 "$KEY" --exit-node-client
nexd_wait_up c2
expect_source c2 203.0.113.40
mesh_ping c1 c2
c2id=$(nexd_ctl c2 status -o json | jq -r .device_id)
assert_eq "the API server has c2 subscribed" true \
	"$(nexctl_admin api device get "$c2id" -o json | jq -r .exit_node_client)"

say "the subscription survives a restart"
nexd_stop c2
nexd_start c2 "$KEY"
nexd_wait_up c2
expect_source c2 203.0.113.40
out=$(nexd_ctl c2 exit-node disable)
expect_source c2 203.0.113.3

say "list on the exit node's organization of the other org fails"
if nexd_ctl exit2 exit-node list >/dev/null 2>&1; then
	fail "exit2 lists an exit node though its organization has no other"
fi

for h in c1 c2 exit exit2; do nexd_stop "$h"; done
