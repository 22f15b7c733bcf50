#!/usr/bin/env bash
# Limits that hold under abuse: a slowloris client (headers, then a body,
# dribbled byte by byte) is closed at its deadline; a bad token is refused
# before its body is read; one token over its rate gets 429 with
# Retry-After while other tokens and addresses go on; a token's requests at
# once are capped; one address over its rate does not slow another.
source "$(dirname "$0")/lib_api.sh"

api_start lim --header-timeout 2 --body-timeout 3 --rate-limit 5 --max-requests-per-token 4 \
	--address-rate-limit 20
port=${API_URL##*:}
expect POST /api/v1/tokens "$ADMIN" '{"organization":"default"}' 201
ORG=$(j .token)

ms() { date +%s%3N; }
# dribble LINE...: a connection that sends its lines a byte every 0.2 s;
# prints the milliseconds until the server closed it (9999: it did not in 9 s)
dribble() {
	local t0 wp text
	text=$(printf '%s' "$*")
	exec 3<>"/dev/tcp/127.0.0.1/$port"
	t0=$(ms)
	(
		for ((i = 0; i < ${#text}; i++)); do
			printf '%s' "${text:i:1}" >&3 2>/dev/null || exit 0
			sleep 0.2
		done
	) &
	wp=$!
	timeout 9 cat <&3 >"$API_TMP/dribble.out" 2>/dev/null || { echo 9999; kill "$wp" 2>/dev/null; exec 3<&-; return; }
	echo $(($(ms) - t0))
	kill "$wp" 2>/dev/null || true
	wait "$wp" 2>/dev/null || true
	exec 3<&-
}

say "slow headers: closed at the header deadline (2 s here), whatever the dribble"
t=$(dribble $'GET /healthz HTTP/1.1\r\nHost: slow\r\nX-Slow-1: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n')
[ "$t" -ge 1800 ] && [ "$t" -le 3500 ] || fail "slow headers closed after $t ms"
printf '    ok: %s\n' "closed after $t ms" >&2

say "a slow body: closed at the body deadline (3 s after the headers)"
exec 4<>"/dev/tcp/127.0.0.1/$port"
t0=$(ms)
printf 'POST /api/v1/organizations HTTP/1.1\r\nHost: slow\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n' "$ADMIN" >&4
( for i in $(seq 1 60); do printf ' ' >&4 2>/dev/null || exit 0; sleep 0.2; done ) &
wp=$!
timeout 9 cat <&4 >/dev/null 2>&1 || true
t=$(($(ms) - t0))
kill "$wp" 2>/dev/null || true
wait "$wp" 2>/dev/null || true
exec 4<&-
[ "$t" -ge 2800 ] && [ "$t" -le 4500 ] || fail "slow body closed after $t ms"
printf '    ok: %s\n' "closed after $t ms" >&2
grep -q "did not send a whole request in time" "$API_LOG" || fail "no log line about the closed connections"

say "a bad token is refused before its body is read"
exec 5<>"/dev/tcp/127.0.0.1/$port"
t0=$(ms)
printf 'POST /api/v1/organizations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nxa_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\nContent-Type: application/json\r\nContent-Length: 60000\r\n\r\n' >&5
answer=$(timeout 2 head -n 1 <&5 | tr -d '\r' || true)
exec 5<&-
assert_eq "answered without the body" "HTTP/1.1 401 Unauthorized" "$answer"
printf '    ok: %s\n' "in $(($(ms) - t0)) ms" >&2

say "a token over its rate (5/s, bursts of 50): 429 with Retry-After; another token goes on"
codes=""
for i in $(seq 1 60); do
	codes+="$(curl -s -o /dev/null -w '%{http_code} ' --interface 127.0.0.2 -H "Authorization: Bearer $ORG" \
		"$API_URL/api/v1/organizations") "
done
ok=$(grep -o 200 <<<"$codes" | wc -l)
limited=$(grep -o 429 <<<"$codes" | wc -l)
[ "$ok" -ge 45 ] && [ "$ok" -le 56 ] && [ $((ok + limited)) -eq 60 ] || fail "60 quick requests: $ok answered, $limited limited"
printf '    ok: %s\n' "60 quick requests: $ok answered, $limited limited" >&2
for i in $(seq 1 20); do
	hdr=$(curl -s -D - -o "$API_TMP/r.json" --interface 127.0.0.2 -H "Authorization: Bearer $ORG" \
		"$API_URL/api/v1/organizations" | tr -d '\r')
	case $hdr in *" 429 "*) break ;; esac
done
assert_contains "Retry-After" "Retry-After: 1" "$hdr"
RESP=$(cat "$API_TMP/r.json")
assert_contains "message" "too many requests from token" "$(j .message)"
expect GET /api/v1/organizations "$ADMIN" "" 200
sleep 1.2
expect GET /api/v1/organizations "$ORG" "" 200

say "a token's requests at once are capped (4 here)"
regkey "$ADMIN" '{"single_use":false}'
register "$KEY" w1; W1T=$DEV_TOKEN
expect GET /api/v1/devices "$W1T" "" 200
REV=$(j .revision)
declare -a WP=()
for i in 1 2 3 4; do
	curl -s -o /dev/null --interface "127.0.0.$((10 + i))" -H "Authorization: Bearer $W1T" \
		"$API_URL/api/v1/devices/watch?revision=$REV&timeout=5" &
	WP+=($!)
done
sleep 0.5
expect GET /api/v1/devices "$W1T" "" 429 too_many_requests
assert_contains "message" "too many requests at once from token" "$(j .message)"
for p in "${WP[@]}"; do wait "$p" || true; done
expect GET /api/v1/devices "$W1T" "" 200

say "one address over its rate (20/s here): limited; another address is not"
sleep 1
declare -a FP=()
for j in 1 2 3; do
	( for i in $(seq 1 300); do curl -s -o /dev/null --interface 127.0.0.3 "$API_URL/healthz"; done ) &
	FP+=($!)
done
limited() { [ "$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.3 "$API_URL/healthz")" = 429 ]; }
got=no
for i in $(seq 1 100); do
	if limited; then got=yes; break; fi
	sleep 0.1
done
[ "$got" = yes ] || fail "the flooding address is never limited"
printf '    ok: %s\n' "the flooding address gets 429" >&2
other=$(curl -s -o /dev/null -w '%{http_code}' --interface 127.0.0.4 "$API_URL/healthz")
assert_eq "another address meanwhile" 200 "$other"
for p in "${FP[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
api_stop TERM
assert_eq "clean exit" 0 "$API_RC"
