#!/usr/bin/env bash
# nexd on a control plane of two nexapi replicas (issue #16): both replicas
# share one PostgreSQL database and sit behind one DNS name with two
# addresses (dnsmasq); nexd and nexctl use the name. kill -9 of the replica
# the devices talk to: the mesh keeps running, the devices keep syncing
# through the other replica (a device enrolled afterwards is reached by
# the others), and nexctl follows. The database away for a while: the
# devices get 503s, keep their registration and mesh, and sync again.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"
source "$(dirname "$0")/lib_pg.sh"

API_NAME=api.nexodus.test
API2_IP=203.0.113.11
API_URL=https://$API_NAME:$API_PORT
trap 'rc=$?; pg_stop; (exit $rc); cleanup' EXIT

say "the internet, a resolver, PostgreSQL, two nexapi replicas behind one name"
inet_up
public_host dns "$DNS_IP"
bg_start dnsmasq dns dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
	--user=root --listen-address="$DNS_IP" --bind-interfaces --pid-file="$TMPD/dnsmasq.pid" \
	--host-record="$API_NAME,$API_IP" --host-record="$API_NAME,$API2_IP"
wait_for 5 n dns sh -c "ss -Hluln | grep -q '$DNS_IP:53 '" || fail "dnsmasq did not start"
pg_db nexodus
DB=$PG_URI
test_ca
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	-subj "/CN=$API_NAME" -keyout "$TMPD/api.key" -out "$TMPD/api.csr" 2>/dev/null
printf 'subjectAltName=DNS:%s,IP:%s,IP:%s\n' "$API_NAME" "$API_IP" "$API2_IP" >"$TMPD/api.ext"
openssl x509 -req -in "$TMPD/api.csr" -CA "$TMPD/ca.pem" -CAkey "$TMPD/ca.key" \
	-CAcreateserial -days 2 -extfile "$TMPD/api.ext" -out "$TMPD/api.pem" 2>/dev/null
declare -A REPLICA_PID=()
for r in api api2; do
	if [ $r = api ]; then ip=$API_IP; else ip=$API2_IP; fi
	public_host $r "$ip"
	resolver $r
	bg_start "nexapi-$r" $r "$NEXAPI" --listen "$ip:$API_PORT" --db "$DB" \
		--tls-cert "$TMPD/api.pem" --tls-key "$TMPD/api.key" --admin-token-file "$TMPD/admin.token"
	REPLICA_PID[$r]=$BG_PID
done
for r in api api2; do
	wait_for 20 n $r curl -sf --cacert "$TMPD/ca.pem" "$API_URL/healthz" ||
		fail "nexapi $r did not come up: $(tail -n 5 "$TMPD/nexapi-$r.log")"
done
assert_eq "one first start" 1 "$(cat "$TMPD"/nexapi-api*.log | grep -c 'first start: organization')"
ADMIN_TOKEN=$(cat "$TMPD/admin.token")
assert_eq "the name has both addresses" "$API_IP $API2_IP" \
	"$(n api getent ahostsv4 $API_NAME | awk '$2 == "STREAM" { print $1 }' | sort | xargs)"
stun_up

say "two devices through the name: one public, one behind a NAT"
public_host dev1 203.0.113.31
nat_host dev2 nat2 203.0.113.2 192.0.2
nat_host dev3 nat3 203.0.113.3 198.51.100
for h in dev1 dev2 dev3 nat2 nat3; do resolver $h; done
KEY=$(reg_key api)
[ -n "$KEY" ] || fail "no registration key"
for h in dev1 dev2; do nexd_start "$h" "$KEY"; done
for h in dev1 dev2; do nexd_wait_up "$h"; done
mesh_ping dev1 dev2
mesh_ping dev2 dev1

say "kill -9 of the replica the devices talk to"
# the replica holding the devices' connections (watch long-polls)
conns() { n "$1" ss -Htn state established "( sport = :$API_PORT )" | wc -l; }
if [ "$(conns api2)" -gt "$(conns api)" ]; then DEAD=api2; LIVE=api; else DEAD=api; LIVE=api2; fi
echo "    connections: api $(conns api), api2 $(conns api2); killing $DEAD" >&2
kill -9 "${REPLICA_PID[$DEAD]}"
wait "${REPLICA_PID[$DEAD]}" 2>/dev/null || true

say "the mesh keeps running"
mesh_ping dev1 dev2
mesh_ping dev2 dev1

say "the database goes away for a while: the devices keep their registration and their mesh"
pg_down
sleep 4
mesh_ping dev1 dev2
for h in dev1 dev2; do
	! grep -q "registering again\|registration refused" "$TMPD/nexd-$h.log" ||
		fail "$h dropped its registration while the database was away: $(tail -n 5 "$TMPD/nexd-$h.log")"
	pid_alive "${NEXD_PID[$h]}" || fail "nexd on $h exited while the database was away"
done
grep -q "the database cannot be reached" "$TMPD/nexapi-$LIVE.log" ||
	fail "$LIVE did not answer 503 while the database was away"
pg_up

say "the devices keep syncing through $LIVE: a device enrolled now is reached by both"
nexd_start dev3 "$KEY"
nexd_wait_up dev3
mesh_ping dev1 dev3
mesh_ping dev2 dev3
mesh_ping dev3 dev1
wait_for 20 sh -c "[ \$(ip netns exec $NX-dev1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[dev1]} peers list -o json | jq length) = 2 ]" ||
	fail "dev1 did not learn dev3"
for h in dev1 dev2 dev3; do
	wait_for 20 sh -c "ip netns exec $NX-$h $NEXCTL nexd --unix-socket ${NEXD_SOCK[$h]} status -o json | jq -e .api_connected" ||
		fail "$h is not connected to the API"
done
wait_for 10 sh -c "[ \$(ip netns exec $NX-$LIVE ss -Htn state established '( sport = :$API_PORT )' | wc -l) -ge 3 ]" ||
	fail "the devices did not move to $LIVE"

say "nexctl follows the name too"
out=$(nexctl_admin dev1 device list)
assert_contains "device list" dev3 "$out"

say "stop"
for h in dev1 dev2 dev3; do nexd_stop "$h"; done
stop_pid "${REPLICA_PID[$LIVE]}" || fail "nexapi $LIVE did not stop on SIGTERM"
