#!/usr/bin/env bash
# nexapi's Prometheus metrics (--metrics-listen): requests by method, route
# and status, the latency histogram, watchers waiting, devices per
# organization, database errors; off without the option.
source "$(dirname "$0")/lib_api.sh"

api_start met --metrics-listen 127.0.0.1:0
MURL=http://$(grep -o 'metrics on http://[^/]*' "$API_LOG" | tail -n 1 | sed 's|.*http://||')
metrics() { curl -s "$MURL/metrics"; }

say "the exposition format"
m=$(metrics)
for t in "nexapi_requests_total counter" "nexapi_request_duration_seconds histogram" "nexapi_watchers gauge" \
	"nexapi_devices gauge" "nexapi_database_errors_total counter"; do
	assert_contains "TYPE" "# TYPE $t" "$m"
done
assert_eq "not found elsewhere" 404 "$(curl -s -o /dev/null -w '%{http_code}' "$MURL/other")"

say "requests counted by method, route and status; the histogram sums up"
for i in 1 2 3; do expect GET /api/v1/organizations "$ADMIN" "" 200; done
expect GET /api/v1/organizations - "" 401 unauthorized
regkey "$ADMIN" '{"single_use":false}'
register "$KEY" m1
register "$KEY" m2
sleep 5.2   # the devices gauge is read at most every 5 s
expect GET /healthz - "" 200
m=$(metrics)
assert_contains "200s" 'nexapi_requests_total{method="GET",route="/api/v1/organizations",status="200"} 3' "$m"
assert_contains "401s" 'nexapi_requests_total{method="GET",route="/api/v1/organizations",status="401"} 1' "$m"
assert_contains "registrations" 'nexapi_requests_total{method="POST",route="/api/v1/devices",status="201"} 2' "$m"
assert_contains "devices" 'nexapi_devices{organization="default"} 2' "$m"
n=$(grep '^nexapi_request_duration_seconds_count ' <<<"$m" | awk '{ print $2 }')
inf=$(grep 'nexapi_request_duration_seconds_bucket{le="+Inf"}' <<<"$m" | awk '{ print $2 }')
assert_eq "+Inf bucket = count" "$n" "$inf"
assert_contains "no database errors" "nexapi_database_errors_total 0" "$m"

say "a watch waiting is a watcher"
expect GET /api/v1/devices "$ADMIN" "" 200
curl -s -o /dev/null -H "Authorization: Bearer $ADMIN" "$API_URL/api/v1/devices/watch?revision=$(j .revision)&timeout=3" &
W=$!
sleep 0.5
assert_contains "one watcher" "nexapi_watchers 1" "$(metrics)"
wait "$W"
sleep 0.2
assert_contains "none left" "nexapi_watchers 0" "$(metrics)"
api_stop TERM
assert_eq "clean exit" 0 "$API_RC"

say "off by default"
api_start plain
if grep -q "metrics on" "$API_LOG"; then fail "metrics served without --metrics-listen"; fi
api_stop TERM
