#!/usr/bin/env bash
# nexd end to end: an API server (TLS), a STUN server (coturn), and three
# devices, two of them behind their own NAT router. All three get addresses
# and reach each other over the mesh; they see each other in `nexctl nexd
# peers list` and `wg show`; the API server stopped and restarted mid-way
# changes nothing for the data plane; a new device appears without restarts;
# a device deleted on the server disappears from the others; two nexd on
# one host do not collide; a stop leaves nothing behind.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

say "the internet, the API server, the STUN server"
inet_up
api_up
stun_up

say "three devices: one public, two behind their own NAT"
public_host dev1 203.0.113.31
nat_host dev2 nat2 203.0.113.2 192.0.2
nat_host dev3 nat3 203.0.113.3 198.51.100
KEY=$(reg_key api)
[ -n "$KEY" ] || fail "no registration key"
for h in dev1 dev2 dev3; do
	nexd_start "$h" "$KEY"
done
for h in dev1 dev2 dev3; do
	nexd_wait_up "$h"
done

say "every device reaches every other over the mesh"
for a in dev1 dev2 dev3; do
	for b in dev1 dev2 dev3; do
		[ "$a" == "$b" ] || mesh_ping "$a" "$b"
	done
done

say "the reflexive endpoints came from STUN through the NATs"
st=$(nexd_ctl dev2 status -o json)
assert_contains "dev2 status" '"203.0.113.2:' "$st"

say "SIGHUP (systemctl reload) does not stop nexd"
kill -HUP "${NEXD_PID[dev2]}"
sleep 0.5
pid_alive "${NEXD_PID[dev2]}" || fail "nexd on dev2 died on SIGHUP"
assert_contains "dev2 still answers" '"api_connected":true' "$(nexd_ctl dev2 status -o json-compact)"

say "peers list and wg show"
peers=$(nexd_ctl dev1 peers list)
printf '%s\n' "$peers" >&2
assert_contains "dev1 peers list" dev2 "$peers"
assert_contains "dev1 peers list" dev3 "$peers"
assert_contains "dev1 peers list" "$(tunnel_ip dev2)" "$peers"
wait_for 15 sh -c "ip netns exec $NX-dev1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[dev1]} peers list -o json | jq -e 'all(.[]; .reachable == true)'" ||
	fail "dev1: not every peer is reachable by the health probe"
npeers=$(n dev1 wg show "${NEXD_IF[dev1]}" peers | wc -l)
assert_eq "dev1: peers in wg show" 2 "$npeers"

say "the API server goes away: the mesh keeps running"
api_stop
mesh_ping dev2 dev3
mesh_ping dev3 dev1
sleep 2
mesh_ping dev1 dev2
api_start
mesh_ping dev2 dev1

say "a new device appears without restarts"
public_host dev4 203.0.113.34
nexd_start dev4 "$KEY"
nexd_wait_up dev4
mesh_ping dev2 dev4
mesh_ping dev4 dev3
wait_for 20 sh -c "ip netns exec $NX-dev1 wg show ${NEXD_IF[dev1]} peers | wc -l | grep -qx 3" ||
	fail "dev1 did not learn of dev4"

say "two nexd on one host do not collide (two meshes: another organization)"
assert_ok "create org second" nexctl_admin api org create second --prefix 100.100.200.0/24
KEY2=$(reg_key api --org second)
mkdir -p "$TMPD/state-dev4b"
NEXD_IF[dev4b]=$(wg_ifname dev4b)
NEXD_SOCK[dev4b]=$TMPD/nexd-dev4b.sock
NX_SOCKETS+=("$WG_RUNDIR/${NEXD_IF[dev4b]}.sock")
bg_start nexd-dev4b dev4 "$NEXD" --service-url "$API_URL" --ca-cert "$TMPD/ca.pem" --reg-key "$KEY2" \
	--state-dir "$TMPD/state-dev4b" --interface "${NEXD_IF[dev4b]}" --listen-port 51821 \
	--stun-server "$STUN_IP:19302" --unix-socket "${NEXD_SOCK[dev4b]}" --hostname dev4b
NEXD_PID[dev4b]=$BG_PID
public_host dev5 203.0.113.35
nexd_start dev5 "$KEY2"
nexd_wait_up dev5
wait_for 30 sh -c "ip -n $NX-dev4 -4 -o addr show dev ${NEXD_IF[dev4b]} | grep -q ' 100\.100\.200\.'" ||
	fail "the second nexd on dev4 got no address in its organization"
ip4b=$(ip -n "$NX-dev4" -4 -o addr show dev "${NEXD_IF[dev4b]}" | awk '{ split($4, a, "/"); print a[1] }')
wait_for 20 n dev5 ping -c 1 -W 1 "$ip4b" || fail "dev5 cannot reach the second nexd of dev4"
pid_alive "${NEXD_PID[dev4]}" || fail "the first nexd of dev4 died"
mesh_ping dev1 dev4
mesh_ping dev4 dev2
npeers=$(n dev4 wg show "${NEXD_IF[dev4b]}" peers | wc -l)
assert_eq "peers of the second nexd (its organization only)" 1 "$npeers"

say "a device deleted on the server disappears from the others"
id4=$(nexd_ctl dev4 status -o json | jq -r .device_id)
[ -n "$id4" ] && [ "$id4" != null ] || fail "no device id for dev4"
pub4=$(n dev4 wg show "${NEXD_IF[dev4]}" public-key)
[ -n "$pub4" ] || fail "no public key for dev4"
n dev1 wg show "${NEXD_IF[dev1]}" peers | grep -qF "$pub4" || fail "dev4 is not a peer of dev1 before its deletion"
assert_ok "delete dev4" nexctl_admin api device delete "$id4"
wait_for 20 sh -c "! ip netns exec $NX-dev1 wg show ${NEXD_IF[dev1]} peers | grep -qF '$pub4'" ||
	fail "dev4 is still a peer of dev1 after its deletion"
wait_for 15 eval '! pid_alive '"${NEXD_PID[dev4]}" || fail "nexd of the deleted dev4 kept running"
wait "${NEXD_PID[dev4]}" 2>/dev/null || true
untrack_pid "${NEXD_PID[dev4]}"
! ip -n "$NX-dev4" link show "${NEXD_IF[dev4]}" >/dev/null 2>&1 || fail "dev4's interface outlived its nexd"

say "a clean stop leaves nothing; the device record stays"
nexd_stop dev4b
nexd_stop dev5
for h in dev1 dev2 dev3; do
	nexd_stop "$h"
done
left=$(nexctl_admin api device list -o json | jq '.devices | length')
assert_eq "devices kept on the server (default organization)" 3 "$left"
