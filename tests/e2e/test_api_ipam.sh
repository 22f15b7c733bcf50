#!/usr/bin/env bash
# Tunnel address allocation: lowest free host address in order, released on
# delete and reused, 50 concurrent registrations get 50 distinct addresses,
# and a tiny prefix runs out with 409 and a message.
source "$(dirname "$0")/lib_api.sh"

api_start ipam --max-requests-per-token 100   # 50 registrations at once with one key
expect POST /api/v1/organizations "$ADMIN" '{"name":"small","prefix":"100.100.9.0/29"}' 201
regkey "$ADMIN" '{"organization":"small","single_use":false}'
SMALL=$KEY

say "allocation order"
declare -a IDS=()
for i in 1 2 3; do
	register "$SMALL" "h$i"
	assert_eq "device $i" "201 100.100.9.$i" "$STATUS $DEV_IP"
	IDS+=("$DEV_ID")
done

say "release on delete, reuse of the lowest"
expect DELETE "/api/v1/devices/${IDS[1]}" "$ADMIN" "" 204
register "$SMALL" h4
assert_eq "reuses .2" "201 100.100.9.2" "$STATUS $DEV_IP"
expect DELETE "/api/v1/devices/${IDS[0]}" "$ADMIN" "" 204
register "$SMALL" h5
assert_eq "reuses .1" "201 100.100.9.1" "$STATUS $DEV_IP"
register "$SMALL" h6
assert_eq "next is .4" "201 100.100.9.4" "$STATUS $DEV_IP"

say "a /29 has 6 host addresses: .1 to .6, never .0 or .7"
register "$SMALL" h7
assert_eq ".5" "201 100.100.9.5" "$STATUS $DEV_IP"
register "$SMALL" h8
assert_eq ".6" "201 100.100.9.6" "$STATUS $DEV_IP"
register "$SMALL" h9
assert_eq "exhausted" 409 "$STATUS"
assert_eq "exhausted error" conflict "$(j .error)"
assert_eq "exhausted message" "no free tunnel address in 100.100.9.0/29" "$(j .message)"

say "a /30 org: two hosts"
expect POST /api/v1/organizations "$ADMIN" '{"name":"tiny","prefix":"100.100.10.0/30"}' 201
regkey "$ADMIN" '{"organization":"tiny","single_use":false}'
register "$KEY" t1; assert_eq t1 "201 100.100.10.1" "$STATUS $DEV_IP"
register "$KEY" t2; assert_eq t2 "201 100.100.10.2" "$STATUS $DEV_IP"
register "$KEY" t3; assert_eq t3 409 "$STATUS"

say "50 concurrent registrations"
expect POST /api/v1/organizations "$ADMIN" '{"name":"many","prefix":"100.100.64.0/24"}' 201
regkey "$ADMIN" '{"organization":"many","single_use":false}'
MANY=$KEY
mkdir -p "$API_TMP/conc"
declare -a CPIDS=()
for i in $(seq 1 50); do
	pk=$(pubkey)
	curl -s -o "$API_TMP/conc/$i.json" -w '%{http_code}\n' -H "Authorization: Bearer $MANY" \
		-H 'Content-Type: application/json' \
		--data-binary "{\"public_key\":\"$pk\",\"hostname\":\"c$i\"}" \
		"$API_URL/api/v1/devices" >"$API_TMP/conc/$i.code" &
	CPIDS+=($!)
done
for p in "${CPIDS[@]}"; do wait "$p"; done
assert_eq "all 201" "50" "$(cat "$API_TMP"/conc/*.code | grep -c '^201$')"
assert_eq "distinct addresses" 50 "$(jq -r .device.tunnel_ip "$API_TMP"/conc/*.json | sort -u | wc -l)"
expect GET "/api/v1/devices?organization=many" "$ADMIN" "" 200
assert_eq "listed" 50 "$(j '.devices | length')"
assert_eq "addresses .1 to .50" "$(seq -f '100.100.64.%g' 1 50 | tr '\n' ' ')" "$(j '[.devices[].tunnel_ip] | join(" ")') "

say "the list in pages: ?limit=N, then ?after=<next>, in address order"
expect GET "/api/v1/devices?organization=many&limit=20" "$ADMIN" "" 200
assert_eq "page 1" "20 100.100.64.1 100.100.64.20" "$(j '"\(.devices | length) \(.devices[0].tunnel_ip) \(.devices[-1].tunnel_ip)"')"
NEXT=$(j .next)
REV=$(j .revision)
expect GET "/api/v1/devices?organization=many&limit=20&after=$NEXT" "$ADMIN" "" 200
assert_eq "page 2" "20 100.100.64.21 100.100.64.40" "$(j '"\(.devices | length) \(.devices[0].tunnel_ip) \(.devices[-1].tunnel_ip)"')"
expect GET "/api/v1/devices?organization=many&limit=20&after=$(j .next)" "$ADMIN" "" 200
assert_eq "the last page" "10 100.100.64.41 100.100.64.50 null" \
	"$(j '"\(.devices | length) \(.devices[0].tunnel_ip) \(.devices[-1].tunnel_ip) \(.next)"')"
assert_eq "one revision" "$REV" "$(j .revision)"
expect GET "/api/v1/devices?organization=many&limit=0" "$ADMIN" "" 400 bad_request
expect GET "/api/v1/devices?organization=many&limit=1001" "$ADMIN" "" 400 bad_request
expect GET "/api/v1/devices?organization=many&after=5" "$ADMIN" "" 400 bad_request
expect GET "/api/v1/devices?organization=many&limit=5&after=-1" "$ADMIN" "" 400 bad_request
