#!/usr/bin/env bash
# The systemd units (systemd/): systemd-analyze verify accepts them (with
# ExecStart pointing at this build); nexapi speaks the readiness protocol
# of Type=notify: READY=1 with a STATUS once it listens, STOPPING=1 on
# SIGTERM, through $NOTIFY_SOCKET (a listener of ours).
source "$(dirname "$0")/lib_api.sh"

say "systemd-analyze verify"
mkdir -p "$API_TMP/units"
for u in nexapi.service nexd.service nexd@.service; do
	sed "s|/usr/bin/|$BUILDDIR/|" "$ROOT/systemd/$u" >"$API_TMP/units/$u"
done
cp "$API_TMP/units/nexd@.service" "$API_TMP/units/nexd@wg1.service"
out=$(cd "$API_TMP/units" && systemd-analyze verify --man=no nexapi.service nexd.service nexd@wg1.service 2>&1) ||
	fail "systemd-analyze verify: $out"
[ -z "$out" ] || fail "systemd-analyze verify warns: $out"
printf '    ok: %s\n' "the three units verify" >&2

say "nexapi under Type=notify: READY=1 once listening, STOPPING=1 on SIGTERM"
python3 - "$API_TMP/notify.sock" >"$API_TMP/notify.out" 2>&1 <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
for _ in range(2):
    print(s.recv(4096).decode().replace("\n", "|"), flush=True)
PY
LISTENER=$!
API_PIDS+=("$LISTENER")
for i in $(seq 1 50); do [ -S "$API_TMP/notify.sock" ] && break; sleep 0.1; done
export NOTIFY_SOCKET=$API_TMP/notify.sock
api_start notify
unset NOTIFY_SOCKET
for i in $(seq 1 50); do grep -q READY "$API_TMP/notify.out" && break; sleep 0.1; done
assert_contains "ready" "READY=1|STATUS=listening on http://127.0.0.1:" "$(cat "$API_TMP/notify.out")"
api_stop TERM
assert_eq "clean exit" 0 "$API_RC"
wait "$LISTENER" || true
assert_contains "stopping" "STOPPING=1" "$(cat "$API_TMP/notify.out")"
