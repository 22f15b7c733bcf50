#!/usr/bin/env bash
# Two devices behind NATs reach each other wherever they are: directly when
# their NATs let a punched hole through, else through a TURN relay (coturn,
# with the credentials nexapi hands out), and directly again as soon as a
# direct path answers. Six devices behind three kinds of NAT (home router,
# bare masquerade, symmetric): every pair connects both ways; the
# home-router pair stays direct; a relayed pair moves to direct when its
# NATs turn friendly and back to the relay when they turn hostile again;
# with UDP to the relay blocked the relay is reached over TCP; a client
# behind a symmetric NAT uses an exit node behind a home NAT through the
# relay, and fails closed when the exit node dies, keeping the relay.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

say "the internet: STUN, a TURN relay (coturn), an API server that hands it out"
inet_up
stun_up
turn_up
api_up
www_up
KEY=$(reg_key api)
[ -n "$KEY" ] || fail "no registration key"

say "six devices: behind home routers (h), bare masquerade (m), symmetric NATs (s)"
HOSTS=(h1 h2 m1 m2 s1 s2)
declare -A OUTSIDE=([h1]=51 [h2]=52 [m1]=53 [m2]=54 [s1]=55 [s2]=56)
for h in "${HOSTS[@]}"; do
	nat_host "$h" "r$h" "203.0.113.${OUTSIDE[$h]}" 192.0.2
done
nat_kind rm1 masq
nat_kind rm2 masq
nat_kind rs1 symmetric
nat_kind rs2 symmetric
for h in "${HOSTS[@]}"; do
	nexd_start "$h" "$KEY"
done
for h in "${HOSTS[@]}"; do
	nexd_wait_up "$h"
done
wait_for 15 sh -c "ip netns exec $NX-s1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[s1]} status -o json | jq -e '.relay_endpoint != \"\"' >/dev/null" ||
	fail "s1 got no relay allocation: $(nexd_ctl s1 status -o json | jq -r .relay)"
assert_contains "s1's relayed address" "$TURN_IP:" "$(nexd_ctl s1 status -o json | jq -r .relay_endpoint)"

say "every pair connects, both ways"
for ((i = 0; i < ${#HOSTS[@]}; i++)); do
	for ((j = i + 1; j < ${#HOSTS[@]}; j++)); do
		mesh_ping "${HOSTS[i]}" "${HOSTS[j]}"
		mesh_ping "${HOSTS[j]}" "${HOSTS[i]}"
	done
done

say "the home-router pair stays direct; the symmetric pair is relayed"
assert_eq "h1's path to h2" direct "$(peer_path h1 h2)"
assert_eq "h2's path to h1" direct "$(peer_path h2 h1)"
wait_path s1 s2 relay 10 || true
assert_eq "s1's path to s2" relay "$(peer_path s1 s2)"
assert_eq "s2's path to s1" relay "$(peer_path s2 s1)"
nexd_ctl s1 peers list >&2
grep -q "path relay" "$TMPD/nexd-s1.log" || fail "s1 does not log its move to the relay"

say "the relayed pair moves to direct when its NATs turn friendly"
nat_kind rs1 home
nat_kind rs2 home
wait_path s1 s2 direct 40 || fail "s1 -> s2 still $(peer_path s1 s2) after the NATs turned friendly"
wait_path s2 s1 direct 20 || fail "s2 -> s1 still $(peer_path s2 s1) after the NATs turned friendly"
mesh_ping s1 s2
grep "path direct" "$TMPD/nexd-s1.log" | tail -1 >&2

say "and back to the relay when the direct path stops answering"
nat_kind rs1 symmetric
nat_kind rs2 symmetric
wait_path s1 s2 relay 40 || fail "s1 -> s2 still $(peer_path s1 s2) after the direct path broke"
mesh_ping s1 s2
mesh_ping s2 s1

say "UDP to the relay blocked: over TCP"
for r in rs1 rs2; do
	n "$r" nft -f - <<-NFT
	table inet block {
		chain blockudp {
			type filter hook forward priority -10;
			ip daddr $TURN_IP udp dport 3478 drop
		}
	}
	NFT
done
nexd_stop s1
nexd_stop s2
nexd_start s1 "$KEY"
nexd_start s2 "$KEY"
nexd_wait_up s1
nexd_wait_up s2
wait_for 30 sh -c "ip netns exec $NX-s1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[s1]} status -o json | jq -r .relay | grep -q 'over TCP'" ||
	fail "s1 does not use the relay over TCP: $(nexd_ctl s1 status -o json | jq -r .relay)"
mesh_ping s1 s2
mesh_ping s2 s1
wait_path s1 s2 relay 10 || fail "s1 -> s2: $(peer_path s1 s2), not relay"

say "an exit node behind a home NAT, a client behind a symmetric NAT"
nexd_stop h1
nexd_start h1 "$KEY" router --exit-node
nexd_wait_up h1
approve_exit h1
exit_listed s1 h1
out=$(nexd_ctl s1 exit-node enable)
assert_eq "enable output" "Successfully enabled exit node client on this device" "$out"
expect_source s1 "203.0.113.${OUTSIDE[h1]}"
assert_eq "s1's path to the exit node" relay "$(peer_path s1 h1)"

say "the exit node dies: nothing leaks, the relay stays"
nexd_stop h1
sleep 3
got=$(whoami_from s1)
assert_eq "s1 reaches the internet with a dead exit node" "" "$got"
assert_contains "s1's relay" "$TURN_IP:" "$(nexd_ctl s1 status -o json | jq -r .relay_endpoint)"
mesh_ping s1 s2
out=$(nexd_ctl s1 exit-node disable)
expect_source s1 "203.0.113.${OUTSIDE[s1]}"

for h in h2 m1 m2 s1 s2; do nexd_stop "$h"; done
