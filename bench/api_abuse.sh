#!/usr/bin/env bash
# nexapi under abuse (not a timed test): nexapi serves requests on one
# thread; this shows that one misbehaving client address does not take the
# others' latency with it. A victim lists an organization of 200 devices
# (80 sequential GETs from 127.0.0.5, within its own token's rate), first alone, then while an abuser
# floods from other addresses with 64 connections: requests with a bad
# token (127.0.0.6; refused from the headers, before any body), and
# requests with a valid token (127.0.0.7; throttled by the per-token and
# per-address rates). Prints the victim's latencies, the ratio, and what
# the abuser got. Default limits.
#
#   BUILD   build directory (default build)     SECS  flood seconds (default 10)
source "$(dirname "$0")/../tests/e2e/lib_api.sh"

SECS=${SECS:-10}
APILOAD=$BUILDDIR/tools/apiload
[ -x "$APILOAD" ] || { echo "bench/api_abuse.sh: $APILOAD is missing (make BUILD=$BUILD)" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || true
api_start abuse
echo "nexapi under abuse ($(nproc) cores; one server thread; default limits)"
expect POST /api/v1/organizations "$ADMIN" '{"name":"victim","prefix":"100.100.0.0/16"}' 201 2>/dev/null
expect POST /api/v1/tokens "$ADMIN" '{"organization":"victim"}' 201 2>/dev/null
VICTIM=$(j .token)
expect POST /api/v1/tokens "$ADMIN" '{"organization":"default"}' 201 2>/dev/null
ABUSER=$(j .token)
regkey "$ADMIN" '{"organization":"victim","single_use":false}'
"$APILOAD" register "$API_URL" "$KEY" 200 4 >/dev/null
BAD=nxo_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA
PATH_=/api/v1/devices?organization=victim

median_of() { grep -o 'median [0-9.]* ms' | awk '{ print $2 }'; }
echo "-- the victim alone (127.0.0.5)"
alone=$(APILOAD_INTERFACE=127.0.0.5 "$APILOAD" get "$API_URL" "$VICTIM" "$PATH_" 80)
echo "  $alone"
echo "-- the victim while 127.0.0.6 (bad token) and 127.0.0.7 (valid token) flood for ${SECS}s"
APILOAD_INTERFACE=127.0.0.6 "$APILOAD" flood "$API_URL" "$BAD" /api/v1/organizations "$SECS" 32 >"$API_TMP/f6" &
F6=$!
APILOAD_INTERFACE=127.0.0.7 "$APILOAD" flood "$API_URL" "$ABUSER" /api/v1/organizations "$SECS" 32 >"$API_TMP/f7" &
F7=$!
sleep 1
under=$(APILOAD_INTERFACE=127.0.0.5 "$APILOAD" get "$API_URL" "$VICTIM" "$PATH_" 80)
echo "  $under"
wait "$F6" "$F7"
echo "  abuser 127.0.0.6 (bad token):   $(cat "$API_TMP/f6")"
echo "  abuser 127.0.0.7 (valid token): $(cat "$API_TMP/f7")"
a=$(median_of <<<"$alone")
u=$(median_of <<<"$under")
awk -v a="$a" -v u="$u" 'BEGIN { printf "victim median latency: alone %.1f ms, under abuse %.1f ms: ratio %.2f\n", a, u, u / a }'
api_stop TERM
