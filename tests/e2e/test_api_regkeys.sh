#!/usr/bin/env bash
# Registration keys: a used single-use key, an expired key and a revoked key
# are refused with 401 and distinct messages; a reusable key works more
# than once; the same public key registered again needs proof of its
# private key (409 with a challenge, nothing changed), and with it returns
# the same device and tunnel address with a new device token (the old one
# revoked). test_api_approval.sh tests the proof in detail.
source "$(dirname "$0")/lib_api.sh"

api_start keys

say "single-use key (the default)"
regkey "$ADMIN" '{}'
SINGLE=$KEY
register "$SINGLE" s1
assert_eq "first use" 201 "$STATUS"
register "$SINGLE" s2
assert_eq "second use" 401 "$STATUS"
assert_eq "used message" "unauthorized: registration key already used" "$(j '"\(.error): \(.message)"')"
expect GET /api/v1/reg-keys "$ADMIN" "" 200
assert_eq "listed as used" true "$(j '.[0].used')"

say "expired key"
regkey "$ADMIN" '{"expires_in":1}'
EXPIRED=$KEY
sleep 2.2
register "$EXPIRED" e1
assert_eq "expired" 401 "$STATUS"
assert_eq "expired message" "registration key expired" "$(j .message)"

say "revoked key"
regkey "$ADMIN" '{"single_use":false}'
REVOKED=$KEY
register "$REVOKED" r1
assert_eq "before revocation" 201 "$STATUS"
expect DELETE "/api/v1/reg-keys/$KEY_ID" "$ADMIN" "" 204
expect DELETE "/api/v1/reg-keys/$KEY_ID" "$ADMIN" "" 204
register "$REVOKED" r2
assert_eq "revoked" 401 "$STATUS"
assert_eq "revoked message" "registration key revoked" "$(j .message)"

say "unknown key"
register "nxr_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" u1
assert_eq "unknown" 401 "$STATUS"
assert_eq "unknown message" "invalid token" "$(j .message)"

say "reusable key, twice, and the same public key again"
regkey "$ADMIN" '{"expires_in":3600,"single_use":false}'
REUSE=$KEY
keypair
PK=$PUB
register "$REUSE" multi1 "$PK"
assert_eq "reuse 1" 201 "$STATUS"
ID1=$DEV_ID; IP1=$DEV_IP; T1=$DEV_TOKEN
register "$REUSE" multi2
assert_eq "reuse 2" 201 "$STATUS"
register "$REUSE" multi1-renamed "$PK"
assert_eq "same key again without proof: 409" 409 "$STATUS"
assert_eq "challenged" conflict "$(j .error)"
expect GET "/api/v1/devices/$ID1" "$T1" "" 200
assert_eq "nothing changed" multi1 "$(j .hostname)"
reregister "$REUSE" multi1-renamed "$PRIV"
assert_eq "same key again with proof: 200" 200 "$STATUS"
assert_eq "same device id" "$ID1" "$DEV_ID"
assert_eq "same tunnel ip" "$IP1" "$DEV_IP"
assert_eq "hostname updated" multi1-renamed "$(j .device.hostname)"
assert_ne "new device token" "$T1" "$DEV_TOKEN"
expect GET /api/v1/devices "$T1" "" 401 unauthorized
expect GET /api/v1/devices "$DEV_TOKEN" "" 200
assert_eq "one device for the key" 1 "$(j "[.devices[] | select(.public_key == \"$PK\")] | length")"

say "re-registration with an exhausted single-use key is refused too"
register "$SINGLE" s1-again "$PK"
assert_eq "used key for a known device" 401 "$STATUS"
