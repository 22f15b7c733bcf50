#!/usr/bin/env bash
# nexd proxy benchmark, in one run (single TCP flows, medians of RUNS):
#  - through a proxy's ingress rule (a kernel-mode client -> the proxy's
#    tunnel address -> a server on the proxy host's loopback), against the
#    kernel-mode path (the same client -> a kernel-mode device's tunnel
#    address), iperf3;
#  - through the proxy's SOCKS5 server (curl downloading a file from a
#    kernel-mode device's web server), against curl on a kernel-mode device;
#  - a kernel-mode client through the rootless exit node (nexd proxy
#    --exit-node) against the kernel-mode exit node, iperf3 to an internet
#    host.
set -eEuo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT
BUILD=${BUILD:-build}
make -C "$ROOT" --no-print-directory BUILD="$BUILD" all >/dev/null
source "$ROOT/tests/e2e/lib.sh"
source "$ROOT/tests/e2e/mesh.sh"
exec 3>&1 2>"$TMPD/bench.log"
RUNS=${RUNS:-3}
SECS=${SECS:-5}
FILE_MB=${FILE_MB:-200}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }

inet_up
api_up
stun_up
dns_up
www_up
exit_host ek 203.0.113.40
exit_host er 203.0.113.50
nat_host c1 natc1 203.0.113.2 192.0.2
public_host k1 203.0.113.4
public_host p1 203.0.113.3
for h in ek er c1 k1 p1; do resolver "$h"; done
n er sysctl -qw net.ipv4.ping_group_range="0 2147483647"
KEY=$(reg_key api)
nexd_start ek "$KEY" router --exit-node
proxy_start er "$KEY" proxy --exit-node
nexd_start c1 "$KEY"
nexd_start k1 "$KEY"
proxy_start p1 "$KEY" proxy --ingress tcp:5201:127.0.0.1:5201 --socks5 127.0.0.1:1080
for h in ek c1 k1; do nexd_wait_up "$h"; done
for h in er p1; do proxy_wait_up "$h"; done
approve_exit ek
approve_exit er
C1=$(tunnel_ip c1)
K1=$(tunnel_ip k1)
P1=$(proxy_ip p1)
mesh_ping c1 k1
wait_for 20 n c1 ping -c 1 -W 1 "$P1" >/dev/null || fail "c1 cannot reach the proxy"

# 1. ingress against the kernel-mode path
bg_start iperf3-p1 p1 iperf3 -s -B 127.0.0.1 -p 5201
bg_start iperf3-k1 k1 iperf3 -s -B "$K1" -p 5201
wait_for 5 n p1 sh -c "ss -Htln | grep -q '127.0.0.1:5201 '" || fail "iperf3 on p1 did not start"
wait_for 5 n k1 sh -c "ss -Htln | grep -q ':5201 '" || fail "iperf3 on k1 did not start"
ing=()
ker=()
for i in $(seq "$RUNS"); do
	ker+=("$(iperf_mbps c1 "$K1" "$SECS")")
	ing+=("$(iperf_mbps c1 "$P1" "$SECS")")
done

# 2. SOCKS5 against curl on a kernel-mode device
mkdir -p "$TMPD/www"
head -c $((FILE_MB << 20)) /dev/urandom >"$TMPD/www/blob"
bg_start http-c1 c1 python3 -m http.server --bind "$C1" --directory "$TMPD/www" 8000
wait_for 10 n c1 sh -c "ss -Htln | grep -q '$C1:8000 '" || fail "the web server on c1 did not start"
dl_mbps() { # HOST CURL-ARGS...: Mbit/s of one download of the blob
	local host=$1
	shift
	n "$host" curl -s -o /dev/null -w '%{speed_download}' "$@" "http://$C1:8000/blob" |
		awk '{ printf "%.0f\n", $1 * 8 / 1e6 }'
}
sk=()
sp=()
for i in $(seq "$RUNS"); do
	sk+=("$(dl_mbps k1)")
	sp+=("$(dl_mbps p1 --socks5 127.0.0.1:1080)")
done

# 3. the rootless exit node against the kernel-mode one
bg_start iperf3-www www iperf3 -s -B "$WWW_IP" -p 5201
wait_for 5 n www sh -c "ss -Htln | grep -q ':5201 '" || fail "iperf3 on www did not start"
exit_listed c1 ek
exit_listed c1 er
xk=()
xr=()
for i in $(seq "$RUNS"); do
	nexd_ctl c1 exit-node enable --exit-node ek >/dev/null
	expect_source c1 203.0.113.40
	xk+=("$(iperf_mbps c1 "$WWW_IP" "$SECS")")
	nexd_ctl c1 exit-node enable --exit-node er >/dev/null
	expect_source c1 203.0.113.50
	xr+=("$(iperf_mbps c1 "$WWW_IP" "$SECS")")
done
nexd_ctl c1 exit-node disable >/dev/null

mi=$(printf '%s\n' "${ing[@]}" | median)
mk=$(printf '%s\n' "${ker[@]}" | median)
msp=$(printf '%s\n' "${sp[@]}" | median)
msk=$(printf '%s\n' "${sk[@]}" | median)
mxr=$(printf '%s\n' "${xr[@]}" | median)
mxk=$(printf '%s\n' "${xk[@]}" | median)
{
	echo "nexd proxy benchmark ($(nproc) cores, $RUNS runs; single TCP flows, Mbit/s, medians)"
	printf '  kernel-mode path, iperf3 to a device:       %s (runs: %s)\n' "$mk" "${ker[*]}"
	printf '  proxy ingress, iperf3 to the proxy host:    %s (runs: %s)  ratio %s\n' "$mi" "${ing[*]}" "$(ratio "$mi" "$mk")"
	printf '  curl from a kernel-mode device (%s MB):    %s (runs: %s)\n' "$FILE_MB" "$msk" "${sk[*]}"
	printf '  curl through the proxy'"'"'s SOCKS5:           %s (runs: %s)  ratio %s\n' "$msp" "${sp[*]}" "$(ratio "$msp" "$msk")"
	printf '  through the kernel-mode exit node, iperf3:  %s (runs: %s)\n' "$mxk" "${xk[*]}"
	printf '  through the rootless exit node, iperf3:     %s (runs: %s)  ratio %s\n' "$mxr" "${xr[*]}" "$(ratio "$mxr" "$mxk")"
} >&3
