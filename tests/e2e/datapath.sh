# The data-path suite, sourced by test_nexwg_basic.sh and
# test_nexwg_interop.sh after lib.sh: `datapath_suite KIND_A KIND_B TAG`
# builds two namespaces, A (the initiator) running KIND_A and B (the
# responder) running KIND_B, and checks, in order:
#
#   a wrong public key never gets through (on either side)
#   handshake with a preshared key, ping both ways, latest handshake set
#   a packet whose inner source is not in the sender's allowed IPs is dropped
#   full-size packets (MTU 1420) over IPv4 and IPv6 inside the tunnel
#   an iperf3 TCP transfer each way with a minimum rate
#   a forced rekey initiated by A, then one initiated by B, with a new
#   preshared key (a mismatched preshared key must not get through)
#   an IPv6 endpoint, then roaming of A to another link and address
#
#   Underlay: A eth0 192.0.2.1/24 2001:db8:1::1/64 --- B eth0 192.0.2.2/24 2001:db8:1::2/64
#             A eth1 198.51.100.1/24              --- B eth1 198.51.100.2/24 (for roaming)
#   Tunnel:   A 100.100.0.1/24 2001:db8:100::1/64     B 100.100.0.2/24 2001:db8:100::2/64

IPERF_MIN_MBPS=${IPERF_MIN_MBPS:-20}
IPERF_SECONDS=${IPERF_SECONDS:-3}

datapath_suite() {
	local ka=$1 kb=$2 tag=$3
	local A=a$tag B=b$tag wa wb hs_a hs_b hs_a2 hs_b2 rate rx ep
	local pa pb wrong
	wa=$(wg_ifname "a$tag")
	wb=$(wg_ifname "b$tag")

	say "[$tag] A=$ka ($wa, initiator)  B=$kb ($wb, responder)"
	ns_add "$A"
	ns_add "$B"
	veth_add "$A" eth0 "$B" eth0
	veth_add "$A" eth1 "$B" eth1
	addr_add "$A" eth0 192.0.2.1/24
	addr_add "$B" eth0 192.0.2.2/24
	addr_add "$A" eth0 2001:db8:1::1/64
	addr_add "$B" eth0 2001:db8:1::2/64
	addr_add "$A" eth1 198.51.100.1/24
	addr_add "$B" eth1 198.51.100.2/24

	wg_key "$A"
	wg_key "$B"
	wg_key "wrong$tag"
	wg_psk "psk1$tag"
	wg_psk "psk2$tag"
	pa=$(pub "$A")
	pb=$(pub "$B")
	wrong=$(pub "wrong$tag")

	wg_start "$ka" "$A" "$wa"
	wg_start "$kb" "$B" "$wb"
	wg_iface_up "$A" "$wa" 100.100.0.1/24 2001:db8:100::1/64
	wg_iface_up "$B" "$wb" 100.100.0.2/24 2001:db8:100::2/64
	pp n "$A" wg set "$wa" private-key "$(privfile "$A")" listen-port 51000
	pp n "$B" wg set "$wb" private-key "$(privfile "$B")" listen-port 51820

	say "[$tag] A knows a wrong public key for B: nothing gets through"
	pp n "$A" wg set "$wa" peer "$wrong" endpoint 192.0.2.2:51820 \
		allowed-ips 100.100.0.2/32,2001:db8:100::2/128
	pp n "$B" wg set "$wb" peer "$pa" allowed-ips 100.100.0.1/32,2001:db8:100::1/128
	ping_fails "$A" 100.100.0.2
	assert_eq "B: latest handshake with A" 0 "$(wg_handshake "$B" "$wb" "$pa")"
	assert_eq "B: bytes received from A" 0 "$(wg_rx "$B" "$wb" "$pa")"
	assert_eq "A: latest handshake with the wrong key" 0 "$(wg_handshake "$A" "$wa" "$wrong")"
	assert_eq "A: bytes received" 0 "$(wg_rx "$A" "$wa" "$wrong")"
	pp n "$A" wg set "$wa" peer "$wrong" remove

	say "[$tag] B knows a wrong public key for A: nothing gets through"
	pp n "$B" wg set "$wb" peer "$pa" remove
	pp n "$B" wg set "$wb" peer "$wrong" allowed-ips 100.100.0.1/32,2001:db8:100::1/128
	pp n "$A" wg set "$wa" peer "$pb" endpoint 192.0.2.2:51820 \
		allowed-ips 100.100.0.2/32,2001:db8:100::2/128
	ping_fails "$A" 100.100.0.2
	assert_eq "B: latest handshake with the wrong key" 0 "$(wg_handshake "$B" "$wb" "$wrong")"
	assert_eq "B: bytes received from the wrong key" 0 "$(wg_rx "$B" "$wb" "$wrong")"
	assert_eq "A: latest handshake with B" 0 "$(wg_handshake "$A" "$wa" "$pb")"
	assert_eq "A: bytes received from B" 0 "$(wg_rx "$A" "$wa" "$pb")"
	pp n "$B" wg set "$wb" peer "$wrong" remove

	say "[$tag] the right keys and a preshared key: ping both ways"
	pp n "$A" wg set "$wa" peer "$pb" preshared-key "$TMPD/psk1$tag.psk"
	pp n "$B" wg set "$wb" peer "$pa" preshared-key "$TMPD/psk1$tag.psk" \
		allowed-ips 100.100.0.1/32,2001:db8:100::1/128
	ping_ok "$A" 100.100.0.2
	ping_ok "$B" 100.100.0.1
	hs_a=$(wg_handshake "$A" "$wa" "$pb")
	hs_b=$(wg_handshake "$B" "$wb" "$pa")
	assert_ne "A: latest handshake with B" 0 "$hs_a"
	assert_ne "B: latest handshake with A" 0 "$hs_b"
	assert_eq "B: endpoint of A" "192.0.2.1:51000" "$(wg_show "$B" "$wb" endpoints "$pa")"
	pp n "$A" wg show "$wa"

	say "[$tag] an inner source outside A's allowed IPs (at B) is dropped"
	addr_add "$A" "$wa" 100.100.0.9/24
	ping_fails "$A" 100.100.0.2 -I 100.100.0.9
	pp ip -n "$NX-$A" addr del 100.100.0.9/24 dev "$wa"

	say "[$tag] full-size packets (MTU 1420) and IPv6 inside the tunnel"
	ping_ok "$A" 100.100.0.2 -M do -s 1392
	ping_ok "$B" 100.100.0.1 -M do -s 1392
	assert_fails "1393 bytes do not fit an MTU of 1420" \
		n "$A" ping -q -c 1 -W 1 -M do -s 1393 100.100.0.2
	ping_ok "$A" 2001:db8:100::2
	ping_ok "$B" 2001:db8:100::1
	ping_ok "$A" 2001:db8:100::2 -M do -s 1372
	ping_ok "$B" 2001:db8:100::1 -M do -s 1372

	say "[$tag] iperf3 TCP, ${IPERF_SECONDS}s each way, at least $IPERF_MIN_MBPS Mbit/s"
	iperf_server "$B" 100.100.0.2
	rate=$(iperf_mbps "$A" 100.100.0.2 "$IPERF_SECONDS")
	assert_ge "[$tag] iperf3 A->B Mbit/s" "$IPERF_MIN_MBPS" "$rate"
	rate=$(iperf_mbps "$A" 100.100.0.2 "$IPERF_SECONDS" -R)
	assert_ge "[$tag] iperf3 B->A Mbit/s" "$IPERF_MIN_MBPS" "$rate"
	stop_pid "$IPERF_PID"
	rx=$(wg_rx "$B" "$wb" "$pa")
	assert_ge "B: bytes received from A after iperf3" 1000000 "$rx"

	say "[$tag] a mismatched preshared key does not get through"
	sleep 1.1 # latest-handshake has a resolution of one second
	pp n "$A" wg set "$wa" peer "$pb" remove
	pp n "$A" wg set "$wa" peer "$pb" preshared-key "$TMPD/psk2$tag.psk" endpoint 192.0.2.2:51820 \
		allowed-ips 100.100.0.2/32,2001:db8:100::2/128
	ping_fails "$A" 100.100.0.2
	assert_eq "B: latest handshake unchanged" "$hs_b" "$(wg_handshake "$B" "$wb" "$pa")"

	say "[$tag] forced rekey initiated by A (same new preshared key on both sides)"
	pp n "$B" wg set "$wb" peer "$pa" preshared-key "$TMPD/psk2$tag.psk"
	ping_ok "$A" 100.100.0.2
	ping_ok "$B" 100.100.0.1
	hs_a2=$(wg_handshake "$A" "$wa" "$pb")
	hs_b2=$(wg_handshake "$B" "$wb" "$pa")
	assert_ge "A: latest handshake advanced" $((hs_a + 1)) "$hs_a2"
	assert_ge "B: latest handshake advanced" $((hs_b + 1)) "$hs_b2"

	say "[$tag] forced rekey initiated by B (B forgets A, then pings it)"
	sleep 1.1
	pp n "$B" wg set "$wb" peer "$pa" remove
	pp n "$B" wg set "$wb" peer "$pa" preshared-key "$TMPD/psk2$tag.psk" endpoint 192.0.2.1:51000 \
		allowed-ips 100.100.0.1/32,2001:db8:100::1/128
	ping_ok "$B" 100.100.0.1
	ping_ok "$A" 2001:db8:100::2
	assert_ge "A: latest handshake advanced" $((hs_a2 + 1)) "$(wg_handshake "$A" "$wa" "$pb")"
	assert_ge "B: latest handshake advanced" $((hs_b2 + 1)) "$(wg_handshake "$B" "$wb" "$pa")"

	say "[$tag] an IPv6 endpoint"
	pp n "$A" wg set "$wa" peer "$pb" endpoint "[2001:db8:1::2]:51820"
	ping_ok "$A" 100.100.0.2
	assert_eq "B: endpoint of A" "[2001:db8:1::1]:51000" "$(wg_show "$B" "$wb" endpoints "$pa")"
	ping_ok "$B" 2001:db8:100::1

	say "[$tag] roaming: A loses 192.0.2.1 and reaches B over eth1 from 198.51.100.1"
	pp n "$A" wg set "$wa" peer "$pb" endpoint 192.0.2.2:51820
	ping_ok "$A" 100.100.0.2
	assert_eq "B: endpoint of A" "192.0.2.1:51000" "$(wg_show "$B" "$wb" endpoints "$pa")"
	# A's old address goes away (eth0 itself stays up: an implementation
	# with a sticky source address gets EINVAL for the vanished one)
	pp ip -n "$NX-$A" addr del 192.0.2.1/24 dev eth0
	pp ip -n "$NX-$A" route add 192.0.2.2/32 dev eth1 src 198.51.100.1
	local port=51000
	if [ "$ka" == wireguard-go ]; then
		# wireguard-go 0.0.20220316 keeps sending from the vanished
		# address (ENETUNREACH) until its sockets are rebound; a new
		# listen port (like a NAT that rebinds) clears that.
		port=51001
		pp n "$A" wg set "$wa" listen-port $port
	fi
	ping_ok "$A" 100.100.0.2
	ep=$(wg_show "$B" "$wb" endpoints "$pa")
	assert_eq "B: endpoint of A after roaming" "198.51.100.1:$port" "$ep"
	ping_ok "$B" 100.100.0.1
	ping_ok "$B" 2001:db8:100::1

	say "[$tag] both daemons still run and stop on SIGTERM"
	pid_alive "${WG_PID[$wa]}" || fail "$ka ($wa) died"
	pid_alive "${WG_PID[$wb]}" || fail "$kb ($wb) died"
	wg_stop "$wa"
	wg_stop "$wb"
	wait_for 5 eval "! sock_exists $wa" || fail "$ka left $WG_RUNDIR/$wa.sock"
	wait_for 5 eval "! sock_exists $wb" || fail "$kb left $WG_RUNDIR/$wb.sock"
}
