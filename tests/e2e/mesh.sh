# Helpers for the end-to-end tests of nexd and the exit nodes, on top of
# lib.sh (source lib.sh first). They build a small internet in namespaces:
#
#   inet      a bridge "br0" for 203.0.113.0/24, the "internet"
#   gw        203.0.113.1, 2001:db8:100::1: the internet's router (exit hosts
#             send everything through it: exit_host)
#   api       203.0.113.10  nexapi over TLS (a CA made here), :8443
#   stun      203.0.113.20  coturn, STUN only, :19302
#   turn      203.0.113.30  coturn, TURN with use-auth-secret, :3478 (turn_up)
#   <host>    a public host on the bridge, or a host behind a NAT router
#             (nftables masquerade and the stateful firewall of a home router)
#
# and run nexd on the hosts, each with its own interface name, state
# directory and control socket.

NEXAPI=${NEXAPI:-$BUILDDIR/nexapi}
NEXD=${NEXD:-$BUILDDIR/nexd}
NEXCTL=${NEXCTL:-$BUILDDIR/nexctl}
API_IP=203.0.113.10
API_PORT=8443
API_URL=https://$API_IP:$API_PORT
STUN_IP=203.0.113.20
TURN_IP=203.0.113.30
API_EXTRA=()                # more nexapi options (api_start)
declare -A NEXD_PID=()      # host -> pid of its nexd
declare -A NEXD_IF=()       # host -> interface name
declare -A NEXD_SOCK=()     # host -> control socket
NX_INET_SEQ=0

# inet_up: the internet bridge, and its router gw (203.0.113.1 and
# 2001:db8:100::1/64), forwarding between the hosts of the bridge.
inet_up() {
	ns_add inet
	bridge_add inet br0
	ns_add gw
	inet_attach gw 203.0.113.1/24
	addr_add gw eth0 2001:db8:100::1/64
	n gw sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 \
		net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
}

# inet_attach HOST ADDR/24: a veth from HOST (eth0) to the bridge.
inet_attach() {
	local host=$1 addr=$2 port=in$((NX_INET_SEQ++))
	veth_add "$host" eth0 inet "$port"
	bridge_port inet br0 "$port"
	addr_add "$host" eth0 "$addr"
}

# public_host NAME ADDR: a host on the internet (its default route points
# at a gateway 203.0.113.1 that the flat test internet does not need).
public_host() {
	ns_add "$1"
	inet_attach "$1" "$2/24"
	ip -n "$NX-$1" route add default via 203.0.113.1 dev eth0
}

# exit_host NAME ADDR [ADDR6]: a host on the internet as a cloud VM sees it:
# a host address (ADDR/32, ADDR6/128) and everything through the router gw,
# so the internet is not a network directly connected to it (an exit node
# does not forward its clients to its own networks: docs/exit-node.md).
exit_host() {
	local name=$1 addr=$2 addr6=${3:-} port=in$((NX_INET_SEQ++))
	ns_add "$name"
	veth_add "$name" eth0 inet "$port"
	bridge_port inet br0 "$port"
	addr_add "$name" eth0 "$addr/32"
	ip -n "$NX-$name" route add 203.0.113.1 dev eth0
	ip -n "$NX-$name" route add default via 203.0.113.1 dev eth0
	if [ -n "$addr6" ]; then
		addr_add "$name" eth0 "$addr6/128"
		ip -n "$NX-$name" -6 route add 2001:db8:100::1 dev eth0
		ip -n "$NX-$name" -6 route add default via 2001:db8:100::1 dev eth0
	fi
}

# device_id HOST [ORG]: the id of the device registered with hostname HOST
# ("" if none) in ORG (default: the default organization).
device_id() {
	nexctl_admin api -o json device list --org "${2:-default}" 2>/dev/null |
		jq -r --arg h "$1" '[.devices[] | select(.hostname == $h)][0].id // empty'
}

# approve_exit HOST [ORG]: the admin approves what HOST's device advertises
# (the exit node's 0.0.0.0/0, ::/0), once it is registered and advertising.
approve_exit() {
	local id="" i
	for ((i = 0; i < 100; i++)); do
		id=$(nexctl_admin api -o json device list --org "${2:-default}" 2>/dev/null | jq -r --arg h "$1" \
			'[.devices[] | select(.hostname == $h and (.advertise_cidrs | index("0.0.0.0/0")))][0].id // empty')
		[ -n "$id" ] && break
		sleep 0.2
	done
	[ -n "$id" ] || fail "$1 did not register as an exit node in 20 s"
	pp nexctl_admin api device approve "$id" >/dev/null || fail "cannot approve $1 ($id)"
}

# exit_listed CLIENT EXIT: wait until CLIENT's nexd lists EXIT as an
# approved exit node (the approval reached it through watch).
exit_listed() {
	wait_for 15 sh -c "ip netns exec $NX-$1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[$1]} exit-node list -o json | jq -e 'any(.[]; .hostname == \"$2\" and .approved)'" ||
		fail "$1 does not list $2 as an approved exit node: $(nexd_ctl "$1" exit-node list 2>&1)"
}

# nat_host NAME ROUTER OUTSIDE-ADDR LAN-PREFIX(3 octets): a host behind its
# own NAT router. ROUTER has OUTSIDE-ADDR on the internet and LAN.1/24 inside;
# NAME is LAN.2/24 with its default route through ROUTER.
nat_host() {
	local name=$1 router=$2 outside=$3 lan=$4
	ns_add "$router"
	inet_attach "$router" "$outside/24"
	ns_add "$name"
	veth_add "$name" eth0 "$router" lan0
	addr_add "$router" lan0 "$lan.1/24"
	addr_add "$name" eth0 "$lan.2/24"
	pp ip -n "$NX-$name" route add default via "$lan.1"
	home_router "$router" lan0
}

# home_router ROUTER LANIF: forwarding, masquerade out of eth0, and the
# stateful firewall of a home router (nothing new comes in from outside;
# unsolicited packets are dropped before conntrack keeps them, which is
# what lets two NATed peers punch holes to each other).
home_router() {
	local router=$1 lan=$2
	n "$router" sysctl -qw net.ipv4.ip_forward=1
	n "$router" nft -f - <<-NFT
	table inet home {
		chain input {
			type filter hook input priority 0; policy drop;
			ct state established,related accept
			iifname { "lo", "$lan" } accept
			icmp type echo-request accept
			icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, echo-request } accept
		}
		chain forward {
			type filter hook forward priority 0; policy drop;
			ct state established,related accept
			iifname "$lan" accept
		}
		chain postrouting {
			type nat hook postrouting priority 100;
			oifname "eth0" masquerade
		}
	}
	NFT
}

# test_ca: the test's CA ($TMPD/ca.pem, ca.key), made once.
test_ca() {
	[ -f "$TMPD/ca.pem" ] && return 0
	pp openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
		-subj "/CN=nexodus test CA" -keyout "$TMPD/ca.key" -out "$TMPD/ca.pem" 2>/dev/null
}

# api_up: the API host with nexapi over TLS; sets ADMIN_TOKEN.
api_up() {
	public_host api "$API_IP"
	test_ca
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-subj "/CN=$API_IP" -keyout "$TMPD/api.key" -out "$TMPD/api.csr" 2>/dev/null
	printf 'subjectAltName=IP:%s\n' "$API_IP" >"$TMPD/api.ext"
	openssl x509 -req -in "$TMPD/api.csr" -CA "$TMPD/ca.pem" -CAkey "$TMPD/ca.key" \
		-CAcreateserial -days 2 -extfile "$TMPD/api.ext" -out "$TMPD/api.pem" 2>/dev/null
	api_start
}

# api_start / api_stop: (re)start the API server on its database.
api_start() {
	bg_start "nexapi-$RANDOM" api "$NEXAPI" --listen "$API_IP:$API_PORT" --db "$TMPD/api.db" \
		--tls-cert "$TMPD/api.pem" --tls-key "$TMPD/api.key" --admin-token-file "$TMPD/admin.token" \
		"${API_EXTRA[@]}"
	API_PID=$BG_PID
	wait_for 10 n api curl -sf --cacert "$TMPD/ca.pem" "$API_URL/healthz" ||
		fail "nexapi did not come up"
	ADMIN_TOKEN=$(cat "$TMPD/admin.token")
}
api_stop() {
	stop_pid "$API_PID" || fail "nexapi did not stop on SIGTERM"
}

# stun_up: coturn as a STUN server on 203.0.113.20:19302.
stun_up() {
	public_host stun "$STUN_IP"
	bg_start coturn stun turnserver -n --no-cli --stun-only -L "$STUN_IP" -p 19302 \
		--no-tls --no-dtls --log-file "$TMPD/turn.log" --simple-log --pidfile "$TMPD/turn.pid"
	wait_for 10 n stun sh -c "ss -Huln | grep -q ':19302 '" || fail "coturn did not start"
}

# nexctl_admin HOST ARGS...: nexctl with the admin token, from HOST.
nexctl_admin() {
	local host=$1
	shift
	n "$host" "$NEXCTL" --service-url "$API_URL" --ca-cert "$TMPD/ca.pem" --token "$ADMIN_TOKEN" "$@"
}

# reg_key HOST [ARGS...]: a new registration key (printed), reusable: the
# tests enroll several devices with one.
reg_key() {
	local host=$1
	shift
	nexctl_admin "$host" reg-key create --reusable "$@"
}

# nexd_start HOST KEY [ARGS...]: nexd on HOST, interface ${NX}n<N> (the
# same one again when HOST restarts).
NX_IF_SEQ=0
nexd_start() {
	local host=$1 key=$2 ifname
	shift 2
	if [ -z "${NEXD_IF[$host]:-}" ]; then
		NEXD_IF[$host]=$NX-n$NX_IF_SEQ
		NX_IF_SEQ=$((NX_IF_SEQ + 1))
		[ ${#NEXD_IF[$host]} -le 15 ] || fail "interface name ${NEXD_IF[$host]} too long"
	fi
	ifname=${NEXD_IF[$host]}
	NEXD_SOCK[$host]=$TMPD/nexd-$host.sock
	NX_SOCKETS+=("$WG_RUNDIR/$ifname.sock")
	mkdir -p "$TMPD/state-$host"
	bg_start "nexd-$host" "$host" "$NEXD" --service-url "$API_URL" --ca-cert "$TMPD/ca.pem" \
		--reg-key "$key" --state-dir "$TMPD/state-$host" --interface "$ifname" \
		--stun-server "$STUN_IP:19302" --unix-socket "${NEXD_SOCK[$host]}" --hostname "$host" "$@"
	NEXD_PID[$host]=$BG_PID
}

# nexd_ctl HOST ARGS...: nexctl nexd on HOST's agent.
nexd_ctl() {
	local host=$1
	shift
	n "$host" "$NEXCTL" nexd --unix-socket "${NEXD_SOCK[$host]}" "$@"
}

# tunnel_ip HOST: the tunnel address nexd put on HOST's interface ("" if none).
tunnel_ip() {
	ip -n "$NX-$1" -4 -o addr show dev "${NEXD_IF[$1]}" 2>/dev/null |
		awk '{ split($4, a, "/"); print a[1]; exit }'
}

# nexd_wait_up HOST: wait until HOST's interface has its tunnel address.
nexd_wait_up() {
	local t
	wait_for 30 sh -c "ip -n $NX-$1 -4 -o addr show dev ${NEXD_IF[$1]} | grep -q ' 100\.100\.'" || {
		tail -n 30 "$TMPD/nexd-$1.log" >&2
		fail "nexd on $1 got no tunnel address in 30 s"
	}
	t=$(tunnel_ip "$1")
	printf '    ok: %s has tunnel address %s\n' "$1" "$t" >&2
}

# nexd_stop HOST: SIGTERM, and the interface and sockets are gone.
nexd_stop() {
	stop_pid "${NEXD_PID[$1]}" 10 || fail "nexd on $1 did not stop on SIGTERM"
	! ip -n "$NX-$1" link show "${NEXD_IF[$1]}" >/dev/null 2>&1 ||
		fail "interface ${NEXD_IF[$1]} is still there after nexd stopped"
	[ ! -e "${NEXD_SOCK[$1]}" ] || fail "control socket of $1 left behind"
	[ ! -e "$WG_RUNDIR/${NEXD_IF[$1]}.sock" ] || fail "UAPI socket of $1 left behind"
}

# mesh_ping FROM TO-HOST: FROM reaches TO-HOST's tunnel address (waits for
# the handshake, up to 20 s).
mesh_ping() {
	local dst
	dst=$(tunnel_ip "$2")
	[ -n "$dst" ] || fail "$2 has no tunnel address"
	printf '[+] %s: ping %s (%s)\n' "$1" "$dst" "$2" >&2
	wait_for 20 n "$1" ping -c 1 -W 1 "$dst" || {
		n "$1" wg show "${NEXD_IF[$1]}" >&2 || true
		fail "$1 cannot reach $2 ($dst) over the mesh"
	}
	printf '    ok: %s reaches %s over the mesh\n' "$1" "$2" >&2
}

# nat_kind ROUTER KIND: the NAT of a nat_host router, as users meet them:
#   home       masquerade behind the stateful firewall of a home router
#              (unsolicited packets dropped before conntrack keeps them)
#   masq       a bare masquerade with no input firewall: the router's own
#              stack answers a stray packet (port unreachable), conntrack
#              keeps that flow, and the device's later mapping to the same
#              peer gets another port
#   symmetric  a new port for every destination (masquerade random), as on
#              mobile and carrier-grade NATs, behind the home firewall
nat_kind() {
	local router=$1 kind=$2 masq=masquerade filter=1
	case "$kind" in
	home) ;;
	masq) filter=0 ;;
	symmetric) masq="masquerade random" ;;
	*) fail "nat_kind: unknown kind $kind" ;;
	esac
	n "$router" nft delete table inet home 2>/dev/null || true
	n "$router" conntrack -F >/dev/null 2>&1 || true
	if [ "$filter" = 1 ]; then
		home_router "$router" lan0
		n "$router" nft flush chain inet home postrouting
		n "$router" nft add rule inet home postrouting oifname eth0 $masq
	else
		n "$router" nft -f - <<-NFT
		table inet home {
			chain postrouting {
				type nat hook postrouting priority 100;
				oifname "eth0" $masq
			}
		}
		NFT
	fi
}

# turn_up: coturn as a TURN server on 203.0.113.30:3478 (UDP and TCP), with
# the TURN REST credentials nexapi hands out (TURN_SECRET, in
# $TMPD/turn.secret); API_EXTRA gets the matching nexapi options.
turn_up() {
	TURN_SECRET=$(openssl rand -hex 24)
	printf '%s\n' "$TURN_SECRET" >"$TMPD/turn.secret"
	chmod 600 "$TMPD/turn.secret"
	public_host turn "$TURN_IP"
	cat >"$TMPD/turnserver.conf" <<-CONF
	use-auth-secret
	static-auth-secret=$TURN_SECRET
	realm=nexodus.test
	listening-ip=$TURN_IP
	relay-ip=$TURN_IP
	listening-port=3478
	min-port=40000
	max-port=40999
	fingerprint
	no-dtls
	no-cli
	CONF
	if [ "${TURN_TLS:-0}" = 1 ]; then
		# turns: on 5349, with a certificate of the test CA for the address
		test_ca
		openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$TURN_IP" \
			-keyout "$TMPD/turn.key" -out "$TMPD/turn.csr" 2>/dev/null
		printf 'subjectAltName=IP:%s\n' "$TURN_IP" >"$TMPD/turn.ext"
		openssl x509 -req -in "$TMPD/turn.csr" -CA "$TMPD/ca.pem" -CAkey "$TMPD/ca.key" -CAcreateserial \
			-days 2 -extfile "$TMPD/turn.ext" -out "$TMPD/turn.pem" 2>/dev/null
		printf 'tls-listening-port=5349\ncert=%s\npkey=%s\n' "$TMPD/turn.pem" "$TMPD/turn.key" \
			>>"$TMPD/turnserver.conf"
	else
		printf 'no-tls\n' >>"$TMPD/turnserver.conf"
	fi
	chmod 600 "$TMPD/turnserver.conf"
	bg_start coturn-turn turn turnserver -c "$TMPD/turnserver.conf" --userdb "$TMPD/turndb" \
		--log-file stdout --simple-log ${TURN_EXTRA:-}
	wait_for 10 n turn sh -c "ss -Huln | grep -q '$TURN_IP:3478 '" || fail "coturn (TURN) did not start"
	if [ "${TURN_TLS:-0}" = 1 ]; then
		wait_for 10 n turn sh -c "ss -Htln | grep -q '$TURN_IP:5349 '" || fail "coturn (TURN) does not listen on 5349"
		API_EXTRA+=(--turn-server "turns:$TURN_IP:5349" --turn-secret-file "$TMPD/turn.secret")
	else
		API_EXTRA+=(--turn-server "turn:$TURN_IP:3478" --turn-secret-file "$TMPD/turn.secret")
	fi
}

# peer_path HOST PEER: the PATH nexctl shows on HOST for PEER (json).
peer_path() {
	nexd_ctl "$1" peers list -o json | jq -r --arg h "$2" '.[] | select(.hostname == $h) | .path'
}

# wait_path HOST PEER PATH SECONDS
wait_path() {
	wait_for "$4" sh -c "[ \"\$(ip netns exec $NX-$1 $NEXCTL nexd --unix-socket ${NEXD_SOCK[$1]} peers list -o json | jq -r --arg h $2 '.[] | select(.hostname == \$h) | .path')\" = $3 ]"
}

# ---------------------------------------------------------------- exit nodes

WWW_IP=203.0.113.80
DNS_IP=203.0.113.53
WHOAMI=$TOOLS/whoami

# Also remove the per-namespace resolv.conf files we wrote.
eval "$(declare -f cleanup | sed '1s/^cleanup/nx_lib_cleanup/')"
nx_return() { return "$1"; }
cleanup() {
	local rc=$?
	rm -rf "/etc/netns/$NX-"*
	# Keep the daemons' logs of a failed run for a post-mortem.
	if [ "$rc" -ne 0 ] && [ -d "$TMPD" ]; then
		mkdir -p "$BUILDDIR/test-logs/$NX" && cp "$TMPD"/*.log "$BUILDDIR/test-logs/$NX/" 2>/dev/null
		printf 'daemon logs kept in %s\n' "$BUILDDIR/test-logs/$NX" >&2
	fi
	nx_return "$rc" || nx_lib_cleanup
	nx_lib_cleanup
}

# www_up: an internet host answering HTTP with the caller's address.
www_up() {
	public_host www "$WWW_IP"
	bg_start whoami www "$WHOAMI" "$WWW_IP" 80
	wait_for 5 n www sh -c "ss -Htln | grep -q '$WWW_IP:80 '" || fail "whoami did not start"
}

# dns_up: a resolver (dnsmasq) answering www.example.test.
dns_up() {
	public_host dns "$DNS_IP"
	bg_start dnsmasq dns dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts \
		--user=root --listen-address="$DNS_IP" --bind-interfaces --pid-file="$TMPD/dnsmasq.pid" \
		--address=/www.example.test/"$WWW_IP" --log-facility="$TMPD/dnsmasq-queries.log" --log-queries
	wait_for 5 n dns sh -c "ss -Hluln | grep -q '$DNS_IP:53 '" || fail "dnsmasq did not start"
}

# resolver HOST: HOST's /etc/resolv.conf names our DNS server.
resolver() {
	mkdir -p "/etc/netns/$NX-$1"
	printf 'nameserver %s\n' "$DNS_IP" >"/etc/netns/$NX-$1/resolv.conf"
}

# whoami_from HOST [URL]: the address the internet host sees HOST come from
# ("" when it is not reached within 4 s).
whoami_from() {
	n "$1" curl -s -m 4 "${2:-http://$WWW_IP/}" 2>/dev/null || true
}

# expect_source HOST ADDR: HOST reaches the internet host as ADDR (waits 15 s).
expect_source() {
	local got
	wait_for 15 sh -c "[ \"\$(ip netns exec $NX-$1 curl -s -m 2 http://$WWW_IP/)\" = '$2' ]" || true
	got=$(whoami_from "$1")
	assert_eq "source address of $1 seen by the internet host" "$2" "$got"
}

# routing_state HOST: everything nexd may touch, for before/after comparisons.
routing_state() {
	local ifname=${NEXD_IF[$1]:-none}
	{
		echo "## ip rule"; ip -n "$NX-$1" rule
		echo "## ip -6 rule"; ip -n "$NX-$1" -6 rule 2>/dev/null || true
		echo "## routes"; ip -n "$NX-$1" route show table all | { grep -v ' table local \|^local ' || true; } | sort
		echo "## v6 routes"; ip -n "$NX-$1" -6 route show table all 2>/dev/null |
			{ grep -v '^local \|^multicast \|^fe80\|^anycast ' || true; } | sort
		echo "## nft"; n "$1" nft list ruleset
		echo "## sysctls"
		n "$1" sh -c 'for f in /proc/sys/net/ipv4/conf/*/forwarding /proc/sys/net/ipv4/conf/*/src_valid_mark /proc/sys/net/ipv4/conf/*/rp_filter /proc/sys/net/ipv4/conf/*/accept_redirects /proc/sys/net/ipv4/ip_forward; do echo "$f $(cat $f)"; done' |
			{ grep -v "/$ifname/" || true; }
	}
}

# exit_rules HOST: how many policy rules at 19300-19302 (both families).
exit_rules() {
	{ ip -n "$NX-$1" rule; ip -n "$NX-$1" -6 rule 2>/dev/null; } | grep -cE '^1930[012]:' || true
}

# delayed_host NAME ROUTER OUTSIDE-ADDR DELAY-MS: a host behind its own NAT
# router whose link to it adds DELAY-MS each way (delaylink, in userspace:
# this kernel has no netem). NAME's only link is the TUN dlB (192.0.2.66/30).
delayed_host() {
	local name=$1 router=$2 outside=$3 delay=$4
	ns_add "$router"
	inet_attach "$router" "$outside/24"
	ip -n "$NX-$router" route add default via 203.0.113.1 dev eth0
	ns_add "$name"
	bg_start "delaylink-$name" "$router" "$TOOLS/delaylink" --delay-ms "$delay" dlA dlB
	wait_for 5 grep -q ready "$TMPD/delaylink-$name.log" || fail "delaylink did not start"
	pp ip -n "$NX-$router" link set dlB netns "$NX-$name"
	ip -n "$NX-$router" addr add 192.0.2.65/30 dev dlA
	ip -n "$NX-$router" link set dlA up
	ip -n "$NX-$name" addr add 192.0.2.66/30 dev dlB
	ip -n "$NX-$name" link set dlB up
	ip -n "$NX-$name" route add default dev dlB
	home_router "$router" dlA
}

# failover_ms HOST ADDR LIMIT-S: milliseconds until HOST reaches the
# internet host as ADDR (polling every 100 ms); fails after LIMIT-S.
source_within() {
	local host=$1 addr=$2 limit=$3 t0
	t0=$(date +%s%3N)
	until [ "$(n "$host" curl -s -m 1.5 "http://$WWW_IP/" 2>/dev/null)" = "$addr" ]; do
		[ $(($(date +%s%3N) - t0)) -lt $((limit * 1000)) ] || { echo -1; return 0; }
		sleep 0.1
	done
	echo $(($(date +%s%3N) - t0))
}

# ---- nexd proxy: rootless, as the user nobody (65534) ----------------------
PROXY_UID=65534
UDPECHO=$TOOLS/udpecho

# NOBODY CMD...: the prefix that runs CMD as uid/gid 65534 without
# supplementary groups (an array, so that it works after `ip netns exec`).
NOBODY=(setpriv --reuid "$PROXY_UID" --regid "$PROXY_UID" --clear-groups --)

# proxy_start HOST KEY [ARGS...]: `nexd [ARGS] proxy ...` on HOST as nobody
# (ARGS holds the global flags, "proxy" and its flags), its state directory
# and control socket in a directory of its own.
proxy_start() {
	local host=$1 key=$2 dir=$TMPD/proxy-$1
	shift 2
	chmod 0711 "$TMPD"
	chmod 0644 "$TMPD/ca.pem"
	mkdir -p "$dir"
	chown "$PROXY_UID:$PROXY_UID" "$dir"
	chmod 0700 "$dir"
	NEXD_SOCK[$host]=$dir/nexd.sock
	bg_start "nexd-$host" "$host" "${NOBODY[@]}" "$NEXD" --service-url "$API_URL" --ca-cert "$TMPD/ca.pem" --reg-key "$key" \
		--state-dir "$dir/state" --stun-server "$STUN_IP:19302" --unix-socket "$dir/nexd.sock" \
		--hostname "$host" "$@"
	NEXD_PID[$host]=$BG_PID
}

# proxy_ctl HOST ARGS...: nexctl nexd on HOST's proxy, as nobody.
proxy_ctl() {
	local host=$1
	shift
	n "$host" "${NOBODY[@]}" "$NEXCTL" nexd --unix-socket "${NEXD_SOCK[$host]}" "$@"
}

# proxy_ip HOST: the proxy's tunnel address ("" before it has one).
proxy_ip() {
	proxy_ctl "$1" status -o json 2>/dev/null | jq -r '.tunnel_ip // empty' | grep '^100\.' || true
}

# proxy_wait_up HOST: until the proxy has its tunnel address.
proxy_wait_up() {
	wait_for 30 eval "[ -n \"\$(proxy_ip $1)\" ]" || {
		tail -n 30 "$TMPD/nexd-$1.log" >&2
		fail "nexd proxy on $1 got no tunnel address in 30 s"
	}
	printf '    ok: proxy %s has tunnel address %s\n' "$1" "$(proxy_ip "$1")" >&2
}

# proxy_stop HOST: SIGTERM; it exits 0 (no sanitizer report either) and
# leaves no control socket.
proxy_stop() {
	stop_pid "${NEXD_PID[$1]}" 10 || fail "nexd proxy on $1 did not stop on SIGTERM"
	assert_eq "exit status of nexd proxy on $1 after SIGTERM" 0 "$STOP_RC"
	[ ! -e "${NEXD_SOCK[$1]}" ] || fail "control socket of $1 left behind"
}

# proxy_rule HOST RULE FIELD: a field of RULE in HOST's `proxy list -o json`
# (flows, total, refused).
proxy_rule() {
	proxy_ctl "$1" proxy list -o json | jq -r --arg r "$2" "[.rules[] | select(.rule == \$r)][0].$3"
}

# host_state HOST: what a daemon could create on HOST's network stack.
host_state() {
	echo "## links"; ip -n "$NX-$1" -o link | awk '{ print $2 }'
	echo "## addresses"; ip -n "$NX-$1" -o addr | awk '{ print $2, $4 }'
	routing_state "$1"
}
