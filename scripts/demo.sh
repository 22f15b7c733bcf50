#!/usr/bin/env bash
# The demo: the exit-node workflow of the design, in network namespaces.
# An "internet" (a bridge) holds the API server (nexapi on its embedded
# SQLite store, TLS with a CA made here), a STUN server (coturn), a DNS
# server (dnsmasq) and a web server that answers with the caller's address
# (like icanhazip). An exit node and two clients behind their own NAT join
# the mesh with nexd; the admin approves the exit node; client1 then walks
# the workflow. Everything is torn
# down at the end. Run as root: `make demo`.
set -eEuo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT
source "$ROOT/tests/e2e/lib.sh"
source "$ROOT/tests/e2e/mesh.sh"

# The set-up's own lines go to a log; the story goes to stdout. On failure
# the log's end is shown and the log kept.
DEMO_LOG=$(mktemp /tmp/nexodus-demo.XXXXXX)
exec 3>&1 4>&2 2>"$DEMO_LOG"
eval "$(declare -f cleanup | sed '1s/^cleanup/demo_inner_cleanup/')"
cleanup() {
	local rc=$?
	set +e
	(nx_return "$rc" || demo_inner_cleanup; demo_inner_cleanup)
	rc=$?
	exec 2>&4
	if [ "$rc" -ne 0 ]; then
		tail -n 40 "$DEMO_LOG" >&2
		printf '\nThe demo failed (exit %d); its whole log: %s\n' "$rc" "$DEMO_LOG" >&2
	else
		rm -f "$DEMO_LOG"
	fi
	exit "$rc"
}
tell() { printf '%s\n' "$*" >&3; }
show_curl() {
	printf '%s $ curl http://%s/\n' "$1" "$WWW_IP" >&3
	n "$1" curl -s -m 5 "http://$WWW_IP/" >&3 || printf '(no answer)\n' >&3
}
nexctl_on() {
	local host=$1
	shift
	printf '%s $ sudo nexctl nexd %s\n' "$host" "$*" >&3
	n "$host" "$NEXCTL" nexd --unix-socket "${NEXD_SOCK[$host]}" "$@" >&3 2>&3 || true
}

tell "== nexodus-c demo: exit nodes"
tell "Building an internet in network namespaces: API server $API_IP (TLS), STUN $STUN_IP,"
tell "DNS $DNS_IP, a web server $WWW_IP that answers with the caller's address."
inet_up
api_up
stun_up
dns_up
www_up
tell "Devices: 'exit' (public, 203.0.113.40), 'client1' behind NAT 203.0.113.2,"
tell "'client2' behind NAT 203.0.113.3. Each runs nexd."
exit_host exit 203.0.113.40
nat_host client1 nat1 203.0.113.2 192.0.2
nat_host client2 nat2 203.0.113.3 198.51.100
for h in exit client1 client2; do resolver "$h"; done
KEY=$(reg_key api --expires 1h)
tell "admin $ nexctl reg-key create --reusable --expires 1h   # one key for the three devices"
tell "         (keys are single use and expire in 24 h unless asked otherwise)"
nexd_start exit "$KEY" router --exit-node
nexd_start client1 "$KEY"
nexd_start client2 "$KEY"
for h in exit client1 client2; do nexd_wait_up "$h"; done
mesh_ping client1 client2
tell ""
tell "The mesh is up: client1 is $(tunnel_ip client1), client2 $(tunnel_ip client2), exit $(tunnel_ip exit)."
wait_for 15 sh -c "ip netns exec $NX-client1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[client1]} peers list -o json | jq -e 'all(.[]; .reachable)'" || true
nexctl_on client1 peers list
tell ""
tell "-- client1 reaches the internet from its own address:"
show_curl client1
tell ""
tell "-- an exit node sees its clients' traffic, so it is used only once an admin approves it:"
EXIT_ID=$(device_id exit)
printf 'admin $ nexctl device approve %s\n' "$EXIT_ID" >&3
nexctl_admin api device approve "$EXIT_ID" | grep -E '^(hostname|advertise_cidrs|approved_cidrs|exit_node) ' >&3
exit_listed client1 exit
tell ""
tell "-- client1 subscribes to the exit node:"
nexctl_on client1 exit-node enable
wait_for 15 sh -c "[ \"\$(ip netns exec $NX-client1 curl -s -m 2 http://$WWW_IP/)\" = 203.0.113.40 ]" || true
nexctl_on client1 exit-node list
tell ""
tell "-- now its traffic leaves from the exit node's address:"
show_curl client1
tell "(mesh traffic is unchanged:)"
printf 'client1 $ ping -c 1 %s\n' "$(tunnel_ip client2)" >&3
n client1 ping -c 1 -W 2 "$(tunnel_ip client2)" | grep 'bytes from' >&3 || printf '(no answer)\n' >&3
tell ""
tell "-- it unsubscribes:"
nexctl_on client1 exit-node disable
wait_for 15 sh -c "[ \"\$(ip netns exec $NX-client1 curl -s -m 2 http://$WWW_IP/)\" = 203.0.113.2 ]" || true
show_curl client1
tell ""
tell "Tearing everything down."
for h in client1 client2 exit; do nexd_stop "$h"; done
tell "Demo finished: every namespace, daemon, rule and table is gone."
