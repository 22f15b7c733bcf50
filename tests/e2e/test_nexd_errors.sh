#!/usr/bin/env bash
# nexd on bad input: a wrong, used or expired registration key, an
# untrusted certificate (each: a clear message, exit 1, no interface left);
# an unreachable server and a garbled server reply (a clear message, retries,
# no interface until it registers, a clean stop); a garbled STUN reply (a
# clear message, registration with the local endpoint); malformed control
# requests (an error reply, the agent unharmed); nexctl nexd as non-root;
# plain HTTP to a host not on loopback (refused without --insecure-http).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/mesh.sh"

inet_up
api_up
public_host d 203.0.113.31
KEY=$(reg_key api)

# nexd_must_fail WHAT PATTERN ARGS...: nexd exits 1 within 20 s with PATTERN
# in its log and leaves no interface.
nexd_must_fail() {
	local what=$1 pattern=$2 rc=0 ifname
	shift 2
	ifname=$(wg_ifname f)
	printf '[+] (must fail: %s) nexd %s\n' "$what" "$*" >&2
	n d timeout 20 "$NEXD" --service-url "$API_URL" --state-dir "$TMPD/state-$RANDOM" --interface "$ifname" \
		--listen-port 51900 --stun-server "$STUN_IP:19302" --unix-socket "$TMPD/fail.sock" "$@" >"$TMPD/fail.log" 2>&1 || rc=$?
	[ "$rc" -eq 1 ] || { cat "$TMPD/fail.log" >&2; fail "$what: nexd exited $rc, not 1"; }
	grep -q -- "$pattern" "$TMPD/fail.log" || { cat "$TMPD/fail.log" >&2; fail "$what: no message /$pattern/"; }
	! ip -n "$NX-d" link show "$ifname" >/dev/null 2>&1 || fail "$what: interface $ifname left behind"
	[ ! -e "$TMPD/fail.sock" ] || fail "$what: control socket left behind"
	printf '    ok: %s: exit 1, "%s"\n' "$what" "$(grep -m1 -- "$pattern" "$TMPD/fail.log" | sed 's/^[^:]*: [a-z]*: //')" >&2
}

say "registration keys: wrong, used, expired"
nexd_must_fail "a wrong key" "registration refused" --ca-cert "$TMPD/ca.pem" --reg-key nxr_0000000000000000_bogusbogusbogusbogusbogusbogusbogusbogusbog
say "the key from a file (--reg-key-file): read when 0600, refused when others may read it"
printf '%s\n' nxr_0000000000000000_bogusbogusbogusbogusbogusbogusbogusbogusbog >"$TMPD/regkey"
chmod 600 "$TMPD/regkey"
nexd_must_fail "a wrong key from a file" "registration refused" --ca-cert "$TMPD/ca.pem" --reg-key-file "$TMPD/regkey"
chmod 644 "$TMPD/regkey"
rc=0
n d "$NEXD" --service-url "$API_URL" --reg-key-file "$TMPD/regkey" >"$TMPD/fail.log" 2>&1 || rc=$?
assert_eq "a key file others may read: exit" 2 "$rc"
assert_contains "message" "can be read or changed by other users (mode 0644): chmod 600 it" "$(cat "$TMPD/fail.log")"
rc=0
n d "$NEXD" --service-url "$API_URL" --reg-key x --reg-key-file "$TMPD/regkey" >"$TMPD/fail.log" 2>&1 || rc=$?
assert_eq "both: exit" 2 "$rc"
ONCE=$(nexctl_admin api reg-key create)   # single use by default
nexd_start d "$ONCE"
nexd_wait_up d
nexd_must_fail "a used single-use key" "registration refused" --ca-cert "$TMPD/ca.pem" --reg-key "$ONCE"
nexd_stop d
SHORT=$(reg_key api --expires 1s)
sleep 2
nexd_must_fail "an expired key" "registration refused" --ca-cert "$TMPD/ca.pem" --reg-key "$SHORT"

say "an untrusted certificate"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 -subj "/CN=other CA" \
	-keyout "$TMPD/other.key" -out "$TMPD/other.pem" 2>/dev/null
nexd_must_fail "an untrusted certificate" "not trusted" --ca-cert "$TMPD/other.pem" --reg-key "$KEY"

say "an unreachable server: a clear message, retries, no interface, a clean stop"
ifname=$(wg_ifname u)
bg_start nexd-unreach d "$NEXD" --service-url https://203.0.113.99:8443 --ca-cert "$TMPD/ca.pem" --reg-key "$KEY" \
	--state-dir "$TMPD/state-u" --interface "$ifname" --stun-server "$STUN_IP:19302" --unix-socket "$TMPD/u.sock"
pid=$BG_PID
wait_for 15 grep -q "cannot connect\|no answer" "$TMPD/nexd-unreach.log" || fail "no clear message for an unreachable server"
sleep 2
pid_alive "$pid" || fail "nexd gave up on an unreachable server"
! ip -n "$NX-d" link show "$ifname" >/dev/null 2>&1 || fail "a half-configured interface while unregistered"
st=$(n d "$NEXCTL" nexd --unix-socket "$TMPD/u.sock" status -o json)
assert_eq "status says the API is not connected" false "$(jq -r .api_connected <<<"$st")"
stop_pid "$pid" || fail "nexd did not stop on SIGTERM while retrying"

say "plain HTTP to a host not on loopback: refused unless --insecure-http"
rc=0
n d "$NEXD" --service-url http://203.0.113.11 --reg-key "$KEY" --state-dir "$TMPD/state-h" \
	--interface "$(wg_ifname h)" --unix-socket "$TMPD/h.sock" >"$TMPD/http.log" 2>&1 || rc=$?
assert_eq "nexd's exit status for a plain-HTTP URL" 2 "$rc"
assert_contains "the reason" "plain HTTP to a host that is not on loopback" "$(cat "$TMPD/http.log")"
[ ! -e "$TMPD/state-h" ] || fail "a state directory was made for a refused URL"

say "a garbled server reply (a server that answers text/plain to everything)"
public_host junk 203.0.113.11
bg_start junkserver junk "$WHOAMI" 203.0.113.11 80
wait_for 5 n junk sh -c "ss -Htln | grep -q ':80 '" || fail "the junk server did not start"
ifname=$(wg_ifname g)
bg_start nexd-garbled d "$NEXD" --service-url http://203.0.113.11 --insecure-http --reg-key "$KEY" \
	--state-dir "$TMPD/state-g" --interface "$ifname" --stun-server "$STUN_IP:19302" --unix-socket "$TMPD/g.sock"
pid=$BG_PID
wait_for 15 grep -qi "registration:" "$TMPD/nexd-garbled.log" || { cat "$TMPD/nexd-garbled.log" >&2; fail "no clear message for a garbled reply"; }
grep -i "registration:" "$TMPD/nexd-garbled.log" | head -2 >&2
pid_alive "$pid" || fail "nexd died on a garbled reply"
! ip -n "$NX-d" link show "$ifname" >/dev/null 2>&1 || fail "a half-configured interface after a garbled reply"
stop_pid "$pid" || fail "nexd did not stop on SIGTERM"

say "a garbled STUN reply: a clear message; it registers with its local endpoint"
public_host stun "$STUN_IP"
bg_start badstun stun "$TOOLS/stunprobe" --serve garbage "$STUN_IP:19302"
wait_for 5 grep -q serving "$TMPD/badstun.log" || fail "the garbled STUN server did not start"
nexd_start d "$KEY"
nexd_wait_up d
grep -q "malformed\|stun" "$TMPD/nexd-d.log" || fail "no message about the garbled STUN reply"
grep -i "stun" "$TMPD/nexd-d.log" | head -2 >&2
st=$(nexd_ctl d status -o json)
assert_eq "endpoints published" "203.0.113.31:51820" "$(jq -r '.endpoints[0].address' <<<"$st")"

say "malformed control requests get an error; the agent is unharmed"
sock=${NEXD_SOCK[d]}
for req in 'not json' '{"version":1}' '{"version":9,"command":"status"}' '{"version":1,"command":"rm"}' \
	'{"version":1,"command":"peers","x":1}' '[1,2,3]'; do
	out=$(printf '%s\n' "$req" | n d "$TOOLS/ctlsend" "$sock")
	assert_contains "reply to $req" '"ok":false' "$out"
done
out=$(head -c 10000 /dev/zero | tr '\0' 'x' | n d "$TOOLS/ctlsend" "$sock")
assert_contains "reply to an oversized request" "too large" "$out"
assert_ok "nexd still answers" nexd_ctl d version
pid_alive "${NEXD_PID[d]}" || fail "nexd died"

say "nexctl nexd as another user than root is refused"
if out=$(n d setpriv --reuid=65534 --regid=65534 --clear-groups "$NEXCTL" nexd --unix-socket "$sock" status 2>&1); then
	fail "nexctl nexd status worked for nobody: $out"
fi
assert_contains "non-root error" "permission denied" "$out"
nexd_stop d
