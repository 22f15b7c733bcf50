#!/usr/bin/env bash
# A relay reached over TLS (turns:): coturn with a certificate of the test
# CA; two devices behind symmetric NATs relay through it, both ways, and
# say so ("over TLS"). The relay's certificate is checked with nexd's
# --ca-cert, as the API server's is.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

say "the internet, a TURN relay on turns:5349"
inet_up
stun_up
TURN_TLS=1
turn_up
api_up
KEY=$(reg_key api)
nat_host s1 rs1 203.0.113.55 192.0.2
nat_host s2 rs2 203.0.113.56 198.51.100
nat_kind rs1 symmetric
nat_kind rs2 symmetric
nexd_start s1 "$KEY"
nexd_start s2 "$KEY"
nexd_wait_up s1
nexd_wait_up s2

say "both relay over TLS"
for h in s1 s2; do
	wait_for 15 sh -c "ip netns exec $NX-$h $NEXCTL nexd --unix-socket ${NEXD_SOCK[$h]} status -o json | jq -r .relay | grep -q 'over TLS'" ||
		fail "$h does not relay over TLS: $(nexd_ctl "$h" status -o json | jq -r .relay)"
done
nexd_ctl s1 status | grep relay >&2
mesh_ping s1 s2
mesh_ping s2 s1
wait_path s1 s2 relay 10 || fail "s1 -> s2: $(peer_path s1 s2), not relay"
n s1 ping -c 20 -i 0.1 -q "$(tunnel_ip s2)" >&2
nexd_stop s1
nexd_stop s2
