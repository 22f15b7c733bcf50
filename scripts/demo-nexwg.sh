#!/usr/bin/env bash
# The nexodus-c demo (for now): two machines, "alice" and "bob", simulated by
# two network namespaces joined by a virtual cable, each running our
# userspace WireGuard (nexwg), configured with the stock `wg` tool, pinging
# each other through the encrypted tunnel. Everything is torn down at the
# end, also on Ctrl-C or failure.
#
# Run it with `make demo` (which installs what is needed, builds, and sets
# BUILD), or after a build: BUILD=build scripts/demo.sh
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
export ROOT BUILD
NX_RESULT_LINE=0
source "$ROOT/tests/e2e/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	echo "demo.sh: network namespaces need root; run it as root (make demo)" >&2
	exit 1
fi
if [ ! -x "$NEXWG" ]; then
	echo "demo.sh: $NEXWG is not built; run 'make demo' (or 'make BUILD=$BUILD')" >&2
	exit 1
fi

bold= plain=
if [ -t 1 ]; then
	bold=$(tput bold 2>/dev/null || true)
	plain=$(tput sgr0 2>/dev/null || true)
fi
step() { printf '\n%s==> %s%s\n' "$bold" "$*" "$plain"; }
note() { printf '    %s\n' "$@"; }
# on NAME CMD...: run CMD "on" alice or bob (in its namespace), shown as such.
on() {
	local who=$1
	shift
	printf '%s[%s]$ %s%s\n' "$bold" "$who" "$*" "$plain"
	ip netns exec "$(ns "$who")" "$@" 2>&1 | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}

cat <<EOF
${bold}nexodus-c demo: two WireGuard peers running nexwg${plain}

  alice (namespace $(ns alice))             bob (namespace $(ns bob))
    eth0 192.0.2.1  <-------- cable -------->  eth0 192.0.2.2
    $(wg_ifname a)  100.100.0.1 <== tunnel ==>   $(wg_ifname b)  100.100.0.2

  nexwg is our userspace WireGuard ($NEXWG),
  a drop-in for wireguard-go: it is configured with the stock 'wg' tool.
EOF

step "1. Create the two 'machines' and the cable between them"
ns_add alice 2>/dev/null
ns_add bob 2>/dev/null
veth_add alice eth0 bob eth0 2>/dev/null
ip -n "$(ns alice)" addr add 192.0.2.1/24 dev eth0
ip -n "$(ns bob)" addr add 192.0.2.2/24 dev eth0
on alice ip -br addr show eth0
on bob ip -br addr show eth0

step "2. Each side makes a key pair (the private key never leaves its machine)"
wg_key alice
wg_key bob
note "alice's public key: $(pub alice)" "bob's public key:   $(pub bob)"

wa=$(wg_ifname a)
wb=$(wg_ifname b)
step "3. Start nexwg on each side: it creates the interface and its control socket"
wg_start nexwg alice "$wa" 2>/dev/null
wg_start nexwg bob "$wb" 2>/dev/null
note "alice: nexwg pid ${WG_PID[$wa]}, interface $wa, socket $WG_RUNDIR/$wa.sock" \
	"bob:   nexwg pid ${WG_PID[$wb]}, interface $wb, socket $WG_RUNDIR/$wb.sock"
on alice ip addr add 100.100.0.1/24 dev "$wa"
on alice ip link set "$wa" up
on bob ip addr add 100.100.0.2/24 dev "$wb"
on bob ip link set "$wb" up

step "4. Configure both with 'wg': own private key, the other's public key and address"
on alice wg set "$wa" private-key "$(privfile alice)" listen-port 51820 \
	peer "$(pub bob)" endpoint 192.0.2.2:51820 allowed-ips 100.100.0.2/32
on bob wg set "$wb" private-key "$(privfile bob)" listen-port 51820 \
	peer "$(pub alice)" endpoint 192.0.2.1:51820 allowed-ips 100.100.0.1/32
on alice wg show "$wa"
note "(no handshake yet: WireGuard only talks when there is something to send)"

step "5. alice pings bob through the tunnel (the first packet triggers the handshake)"
on alice ping -c 3 -i 0.3 -w 10 100.100.0.2 || fail "alice cannot reach bob through the tunnel"

step "6. bob pings alice back"
on bob ping -c 3 -i 0.3 -w 10 100.100.0.1 || fail "bob cannot reach alice through the tunnel"

step "7. What WireGuard says now: a handshake happened and traffic flowed"
on alice wg show "$wa"
on bob wg show "$wb"
note "On the cable, only encrypted UDP between 192.0.2.1:51820 and 192.0.2.2:51820 is seen."

step "8. Tear down: stop nexwg (SIGTERM); the namespaces are deleted on exit"
wg_stop "$wa"
wg_stop "$wb"
for w in "$wa" "$wb"; do
	wait_for 5 eval "! sock_exists $w" || fail "nexwg left $WG_RUNDIR/$w.sock behind"
done
note "nexwg stopped on both sides; its interfaces and sockets are gone."
printf '\n%sDemo complete: alice and bob talked through nexwg.%s\n' "$bold" "$plain"
