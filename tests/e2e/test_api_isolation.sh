#!/usr/bin/env bash
# The organization isolation matrix: a token of organization A cannot see
# or change anything of organization B (404, never 403), a device token
# cannot change other devices (403 in its organization, 404 elsewhere), and
# only an admin creates organizations and tokens.
source "$(dirname "$0")/lib_api.sh"

api_start iso
say "two organizations, a token, a key and two devices each"
for o in a b; do
	expect POST /api/v1/organizations "$ADMIN" "{\"name\":\"org-$o\",\"prefix\":\"100.100.$([ $o = a ] && echo 1 || echo 2).0/24\"}" 201
	expect POST /api/v1/tokens "$ADMIN" "{\"organization\":\"org-$o\"}" 201
	declare "TOK_$o=$(j .token)"
done
regkey "$TOK_a" '{"single_use":false}'; KEY_a=$KEY; KEYID_a=$KEY_ID
regkey "$TOK_b" '{"single_use":false}'; KEY_b=$KEY; KEYID_b=$KEY_ID
register "$KEY_a" a1; A1=$DEV_ID; A1T=$DEV_TOKEN
register "$KEY_a" a2; A2=$DEV_ID
register "$KEY_b" b1; B1=$DEV_ID; B1T=$DEV_TOKEN
assert_eq "same first address in both orgs" 100.100.2.1 "$DEV_IP"

say "organization token of A against B's objects: 404"
expect GET "/api/v1/devices/$B1" "$TOK_a" "" 404 not_found
expect PATCH "/api/v1/devices/$B1" "$TOK_a" '{"hostname":"x"}' 404 not_found
expect DELETE "/api/v1/devices/$B1" "$TOK_a" "" 404 not_found
expect GET "/api/v1/devices?organization=org-b" "$TOK_a" "" 404 not_found
expect GET "/api/v1/devices/watch?revision=0&timeout=0&organization=org-b" "$TOK_a" "" 404 not_found
expect GET /api/v1/organizations/org-b "$TOK_a" "" 404 not_found
expect GET "/api/v1/reg-keys?organization=org-b" "$TOK_a" "" 404 not_found
expect DELETE "/api/v1/reg-keys/$KEYID_b" "$TOK_a" "" 404 not_found
expect POST /api/v1/reg-keys "$TOK_a" '{"organization":"org-b"}' 404 not_found
expect GET /api/v1/devices "$TOK_a" "" 200
assert_eq "A lists only A" "a1 a2" "$(j '[.devices[].hostname] | join(" ")')"
expect GET /api/v1/reg-keys "$TOK_a" "" 200
assert_eq "A lists only its key" "$KEYID_a" "$(j '[.[].id] | join(" ")')"
expect GET /api/v1/organizations "$TOK_a" "" 200
assert_eq "A sees only org-a" org-a "$(j '[.[].name] | join(" ")')"

say "an organization cannot be named like another one's id"
expect GET /api/v1/organizations/org-a "$ADMIN" "" 200
ID_a=$(j .id)
expect POST /api/v1/organizations "$ADMIN" "{\"name\":\"$ID_a\",\"prefix\":\"100.100.3.0/24\"}" 400 bad_request
assert_contains "message" "looks like an organization id" "$(j .message)"
expect POST /api/v1/organizations "$ADMIN" '{"name":"00000000-0000-4000-8000-000000000000","prefix":"100.100.3.0/24"}' 400 bad_request
expect GET "/api/v1/organizations/$ID_a" "$ADMIN" "" 200
assert_eq "by id" org-a "$(j .name)"
expect POST /api/v1/tokens "$ADMIN" "{\"organization\":\"$ID_a\"}" 201
expect GET /api/v1/organizations "$(j .token)" "" 200
assert_eq "a token for the id belongs to that organization" org-a "$(j '[.[].name] | join(" ")')"

say "what only an admin may do"
expect POST /api/v1/organizations "$TOK_a" '{"name":"org-c"}' 403 forbidden
expect POST /api/v1/tokens "$TOK_a" '{"organization":"org-a"}' 403 forbidden
expect POST /api/v1/tokens "$TOK_a" '{"organization":"org-b"}' 403 forbidden

say "device token of A1"
expect GET /api/v1/devices "$A1T" "" 200
assert_eq "A1 lists its org" "a1 a2" "$(j '[.devices[].hostname] | join(" ")')"
expect PATCH "/api/v1/devices/$A2" "$A1T" '{"hostname":"x"}' 403 forbidden
expect DELETE "/api/v1/devices/$A2" "$A1T" "" 403 forbidden
expect DELETE "/api/v1/devices/$A1" "$A1T" "" 403 forbidden
expect GET "/api/v1/devices/$B1" "$A1T" "" 404 not_found
expect PATCH "/api/v1/devices/$B1" "$A1T" '{"hostname":"x"}' 404 not_found
expect GET "/api/v1/devices?organization=org-b" "$A1T" "" 404 not_found
expect POST /api/v1/tokens "$A1T" '{"organization":"org-a"}' 403 forbidden
expect POST /api/v1/organizations "$A1T" '{"name":"org-d"}' 403 forbidden
expect POST /api/v1/reg-keys "$A1T" '{}' 403 forbidden
expect GET /api/v1/reg-keys "$A1T" "" 403 forbidden
expect DELETE "/api/v1/reg-keys/$KEYID_a" "$A1T" "" 403 forbidden
expect PATCH "/api/v1/devices/$A1" "$A1T" '{"hostname":"mine"}' 200

say "registration keys only register"
expect GET /api/v1/devices "$KEY_a" "" 403 forbidden
expect GET /api/v1/organizations "$KEY_a" "" 403 forbidden
expect PATCH "/api/v1/devices/$A1" "$KEY_a" '{"hostname":"x"}' 403 forbidden

say "a token of one kind is not accepted as another"
forged="nxa_${A1T#nxd_}"
expect GET /api/v1/organizations "$forged" "" 401 unauthorized

say "B's objects are untouched"
expect GET "/api/v1/devices/$B1" "$TOK_b" "" 200
assert_eq "b1 unchanged" b1 "$(j .hostname)"
expect GET /api/v1/reg-keys "$TOK_b" "" 200
assert_eq "b key not revoked" false "$(j '.[0].revoked')"
expect GET /api/v1/devices "$B1T" "" 200
assert_eq "B1 sees only B" b1 "$(j '[.devices[].hostname] | join(" ")')"
