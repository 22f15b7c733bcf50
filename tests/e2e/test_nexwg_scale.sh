#!/usr/bin/env bash
# Scale: SCALE_PEERS (default 10,000) peers, each with a public key and one
# allowed IP, configured through the UAPI in one `wg setconf` must be applied
# within SCALE_MAX_SECONDS (default 1.0); then `wg show` must list them all.
# Prints the memory per idle peer: the daemon's RSS after minus before,
# divided by the number of peers. Finally the peers are replaced by a
# config with one peer, which must also be quick, and the tunnel to that
# peer must work.
#
# KIND=wireguard-go runs it against wireguard-go (for comparison).
#
#   A eth0 192.0.2.1/24 --- B eth0 192.0.2.2/24, tunnel 100.100.0.1 <-> 100.100.0.2
source "$(dirname "$0")/lib.sh"

KIND=${KIND:-nexwg}
SCALE_PEERS=${SCALE_PEERS:-10000}
SCALE_MAX_SECONDS=${SCALE_MAX_SECONDS:-1.0}

ns_add a
ns_add b
veth_add a eth0 b eth0
addr_add a eth0 192.0.2.1/24
addr_add b eth0 192.0.2.2/24
wg_key a
wg_key b
wa=$(wg_ifname a)
wb=$(wg_ifname b)
wg_start "$KIND" a "$wa"
wg_start nexwg b "$wb"
wg_iface_up a "$wa" 100.100.0.1/16 2001:db8:100::1/64
wg_iface_up b "$wb" 100.100.0.2/16 2001:db8:100::2/64
pid=${WG_PID[$wa]}

say "a config with $SCALE_PEERS peers (random public keys, one /32 each, in 100.100.0.0/16 and 2001:db8:200::/64)"
python3 - "$SCALE_PEERS" "$(cat "$(privfile a)")" >"$TMPD/big.conf" <<'EOF'
import base64, os, sys
n, priv = int(sys.argv[1]), sys.argv[2]
out = ["[Interface]", "PrivateKey = " + priv, "ListenPort = 51000", ""]
for i in range(n):
    h = i + 3  # 100.100.0.1 and .2 are the two ends
    out += ["[Peer]", "PublicKey = " + base64.b64encode(os.urandom(32)).decode(),
            "AllowedIPs = 100.100.%d.%d/32, 2001:db8:200::%x/128" % (h >> 8, h & 255, h), ""]
print("\n".join(out))
EOF
printf '    %s bytes, %s peers\n' "$(stat -c %s "$TMPD/big.conf")" "$(grep -c '^\[Peer\]' "$TMPD/big.conf")" >&2

sleep 0.5
rss0=$(rss_kib "$pid")
t0=$(date +%s.%N)
pp n a wg setconf "$wa" "$TMPD/big.conf"
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
count=$(n a wg show "$wa" peers | wc -l)
assert_eq "peers listed" "$SCALE_PEERS" "$count"
sleep 0.5
rss1=$(rss_kib "$pid")
per=$(awk -v a="$rss0" -v b="$rss1" -v n="$SCALE_PEERS" 'BEGIN { printf "%.0f", (b - a) * 1024 / n }')
printf '\n%s: %s peers set in %s s; RSS %s -> %s KiB: %s bytes per idle peer\n\n' \
	"$KIND" "$SCALE_PEERS" "$secs" "$rss0" "$rss1" "$per" >&2
assert_le "seconds to configure $SCALE_PEERS peers" "$SCALE_MAX_SECONDS" "$secs"

say "a lookup among them: a ping to a peer without an endpoint is dropped, not a crash"
ping_fails a 100.100.0.3

say "replace them all with the one real peer"
printf '[Interface]\nPrivateKey = %s\nListenPort = 51000\n\n[Peer]\nPublicKey = %s\nEndpoint = 192.0.2.2:51820\nAllowedIPs = 100.100.0.2/32\n' \
	"$(cat "$(privfile a)")" "$(pub b)" >"$TMPD/one.conf"
t0=$(date +%s.%N)
pp n a wg setconf "$wa" "$TMPD/one.conf"
t1=$(date +%s.%N)
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
assert_eq "peers listed" 1 "$(n a wg show "$wa" peers | wc -l)"
assert_le "seconds to remove $SCALE_PEERS peers" "$SCALE_MAX_SECONDS" "$secs"
pp n b wg set "$wb" private-key "$(privfile b)" listen-port 51820 peer "$(pub a)" allowed-ips 100.100.0.1/32
ping_ok a 100.100.0.2

wg_stop "$wa"
wg_stop "$wb"
