#!/usr/bin/env bash
# Large files through the tunnel, byte for byte: a BULK_MIB (default 64) MiB
# random file goes over one TCP connection through the tunnel, and its
# SHA-256 on arrival must equal the sender's. A bug in the super-packet paths
# (TUN TSO segmentation, GRO coalescing on the way in, UDP GSO/GRO batches,
# parallel crypto reordering) shows here as a corrupted or stalled stream.
#
# Pairs: nexwg <-> nexwg, then nexwg <-> wireguard-go, then nexwg <-> nexwg
# with two crypto workers each (NEXWG_CRYPTO_WORKERS=2: batches sealed and
# opened on three threads; the workers must have done some of it); for each
# pair the file goes A -> B and B -> A, over IPv4 and over IPv6 inside the
# tunnel (four transfers a pair). With NEXWG_NO_OFFLOAD=1 in the
# environment the same runs with nexwg's offloads off.
#
#   A eth0 192.0.2.1/24 --- B eth0 192.0.2.2/24
#   tunnel A 100.100.0.1 2001:db8:100::1 <-> B 100.100.0.2 2001:db8:100::2
source "$(dirname "$0")/lib.sh"

BULK_MIB=${BULK_MIB:-64}
BULK_TIMEOUT=${BULK_TIMEOUT:-120}
PORT=5301

cat >"$TMPD/recv.py" <<'EOF'
# recv.py ADDR PORT FILE: accept one TCP connection, write what arrives.
import socket, sys
addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET6 if ":" in addr else socket.AF_INET)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(1)
c, _ = s.accept()
with open(path, "wb") as f:
    while True:
        b = c.recv(1 << 20)
        if not b:
            break
        f.write(b)
EOF
cat >"$TMPD/send.py" <<'EOF'
# send.py ADDR PORT FILE: connect and send the file, then close.
import socket, sys
addr, port, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
c = socket.create_connection((addr, port), timeout=30)
with open(path, "rb") as f:
    c.sendfile(f)
c.shutdown(socket.SHUT_WR)
while c.recv(4096):
    pass
c.close()
EOF

say "a ${BULK_MIB} MiB random file"
pp head -c "${BULK_MIB}M" /dev/urandom >"$TMPD/src.bin"
SUM=$(sha256sum "$TMPD/src.bin" | awk '{ print $1 }')
printf '    sha256 %s\n' "$SUM" >&2

# transfer FROM TO DST TAG: send src.bin from namespace FROM to a receiver
# in TO listening on DST; the received file's checksum must match.
transfer() {
	local from=$1 to=$2 dst=$3 what="$4: $1 -> $2 ($3)" out=$TMPD/recv-$4-$1-$2.bin t0 t1 sum pid
	say "$what"
	rm -f "$out"
	bg_start "recv-$4-$1-$2" "$to" timeout "$BULK_TIMEOUT" python3 "$TMPD/recv.py" "$dst" "$PORT" "$out"
	pid=$BG_PID
	wait_for 5 n "$to" sh -c "ss -Htln | grep -q ':$PORT '" || fail "$what: receiver did not start"
	t0=$(date +%s.%N)
	printf '[+] (%s) python3 send.py %s %s\n' "$from" "$dst" "$PORT" >&2
	n "$from" timeout "$BULK_TIMEOUT" python3 "$TMPD/send.py" "$dst" "$PORT" "$TMPD/src.bin" ||
		fail "$what: the sender failed"
	wait "$pid" || fail "$what: the receiver failed (exit $?)"
	untrack_pid "$pid"
	t1=$(date +%s.%N)
	sum=$(sha256sum "$out" | awk '{ print $1 }')
	assert_eq "$what: size" "$(stat -c %s "$TMPD/src.bin")" "$(stat -c %s "$out")"
	assert_eq "$what: sha256" "$SUM" "$sum"
	printf '    %s MiB in %s s\n' "$BULK_MIB" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" >&2
	rm -f "$out"
}

# worker_ticks PID: CPU time (clock ticks) of the daemon's crypto workers.
worker_ticks() {
	local t sum=0
	for t in /proc/"$1"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		wg-crypto-*) sum=$((sum + $(awk '{ print $14 + $15 }' "$t/stat"))) ;;
		esac
	done
	echo "$sum"
}

# pair KIND_A KIND_B TAG: a tunnel between two new namespaces, then the
# four transfers.
pair() {
	local ka=$1 kb=$2 tag=$3 A=a$3 B=b$3 wa wb
	wa=$(wg_ifname "a$tag")
	wb=$(wg_ifname "b$tag")
	say "[$tag] A=$ka ($wa)  B=$kb ($wb)"
	ns_add "$A"
	ns_add "$B"
	veth_add "$A" eth0 "$B" eth0
	addr_add "$A" eth0 192.0.2.1/24
	addr_add "$B" eth0 192.0.2.2/24
	wg_key "$A"
	wg_key "$B"
	wg_start "$ka" "$A" "$wa"
	wg_start "$kb" "$B" "$wb"
	wg_iface_up "$A" "$wa" 100.100.0.1/24 2001:db8:100::1/64
	wg_iface_up "$B" "$wb" 100.100.0.2/24 2001:db8:100::2/64
	pp n "$A" wg set "$wa" private-key "$(privfile "$A")" listen-port 51000 \
		peer "$(pub "$B")" endpoint 192.0.2.2:51820 allowed-ips 100.100.0.2/32,2001:db8:100::2/128
	pp n "$B" wg set "$wb" private-key "$(privfile "$B")" listen-port 51820 \
		peer "$(pub "$A")" allowed-ips 100.100.0.1/32,2001:db8:100::1/128
	ping_ok "$A" 100.100.0.2
	ping_ok "$A" 2001:db8:100::2

	transfer "$A" "$B" 100.100.0.2 "$tag"
	transfer "$B" "$A" 100.100.0.1 "$tag"
	transfer "$A" "$B" 2001:db8:100::2 "$tag"
	transfer "$B" "$A" 2001:db8:100::1 "$tag"

	if [ "${NEXWG_CRYPTO_WORKERS:-}" == 2 ]; then
		local ta tb
		ta=$(worker_ticks "${WG_PID[$wa]}")
		tb=$(worker_ticks "${WG_PID[$wb]}")
		printf '    crypto workers: %s + %s ticks\n' "$ta" "$tb" >&2
		[ $((ta + tb)) -gt 0 ] || fail "[$tag] the crypto workers did nothing"
	fi
	wg_stop "$wa"
	wg_stop "$wb"
}

pair nexwg nexwg 1
pair nexwg wireguard-go 2
NEXWG_CRYPTO_WORKERS=2 pair nexwg nexwg 3
