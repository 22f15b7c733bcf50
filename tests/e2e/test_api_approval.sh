#!/usr/bin/env bash
# Exit nodes you can trust (issue #14), the API side: advertise_cidrs are
# requests and approved_cidrs what the organization honours; approve and
# unapprove (who may, which prefixes); an approval dropped when its prefix
# is withdrawn; automatic approval by the organization and by a
# registration key; prefix sanity; re-registration of a known public key
# only with proof of its private key (and the single-use key retry
# window); a deleted device's token answered "device_deleted"; the upgrade
# of a schema 2 database (approvals grandfathered).
source "$(dirname "$0")/lib_api.sh"

# reg_adv KEY HOSTNAME PUBKEY ADVERTISE_JSON [EXTRA]: a registration that
# advertises prefixes (as nexd's does); sets what register sets.
reg_adv() {
	req POST /api/v1/devices "$1" "{\"public_key\":\"$3\",\"hostname\":\"$2\",\"advertise_cidrs\":$4${5-}}"
	DEV_ID=$(j '.device.id // empty')
	DEV_IP=$(j '.device.tunnel_ip // empty')
	DEV_TOKEN=$(j '.device_token // empty')
}

# cidrs FILTER: the array FILTER of the last response as "a b c" ("-" when empty).
cidrs() {
	local v
	v=$(j "$1 | join(\" \")")
	echo "${v:--}"
}

api_start appr
expect POST /api/v1/organizations "$ADMIN" '{"name":"acme","prefix":"100.100.16.0/20","prefix6":"2001:db8:16::/64"}' 201
assert_eq "default approval mode" admin "$(j .exit_node_approval)"
expect POST /api/v1/tokens "$ADMIN" '{"organization":"acme"}' 201
ORG=$(j .token)
expect POST /api/v1/organizations "$ADMIN" '{"name":"other"}' 201
expect POST /api/v1/tokens "$ADMIN" '{"organization":"other"}' 201
OTHER=$(j .token)
regkey "$ORG" '{"single_use":false}'
PLAIN=$KEY
expect GET /api/v1/reg-keys "$ORG" "" 200
assert_eq "keys are not auto_approve by default" false "$(j '.[0].auto_approve')"

say "a device asks to be an exit node: a request only"
register "$PLAIN" exit1
assert_eq "registered" 201 "$STATUS"
E=$DEV_ID; ET=$DEV_TOKEN
assert_eq "approved_cidrs present and empty" "-" "$(cidrs .device.approved_cidrs)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["0.0.0.0/0","::/0","192.0.2.0/24"]}' 200
assert_eq "advertised" "0.0.0.0/0 ::/0 192.0.2.0/24" "$(cidrs .advertise_cidrs)"
assert_eq "not approved" "-" "$(cidrs .approved_cidrs)"
expect GET "/api/v1/devices?organization=acme" "$ADMIN" "" 200
REV=$(j .revision)
assert_eq "lists show approved_cidrs" "-" "$(cidrs ".devices[] | select(.id == \"$E\") | .approved_cidrs")"

say "who may approve"
expect POST "/api/v1/devices/$E/approve" "$ET" '{}' 403 forbidden
expect POST "/api/v1/devices/$E/unapprove" "$ET" '{}' 403 forbidden
expect POST "/api/v1/devices/$E/approve" "$OTHER" '{}' 404 not_found
expect POST "/api/v1/devices/$E/approve" "$PLAIN" '{}' 403 forbidden
expect GET "/api/v1/devices/$E" "$ADMIN" "" 200
assert_eq "refused approvals changed nothing" "-" "$(cidrs .approved_cidrs)"
expect POST /api/v1/devices/00000000-0000-4000-8000-000000000000/approve "$ADMIN" '{}' 404 not_found
expect GET "/api/v1/devices/$E/approve" "$ADMIN" "" 405 method_not_allowed

say "approve a subset, then everything; unapprove a subset, then everything"
expect POST "/api/v1/devices/$E/approve" "$ADMIN" '{"cidrs":["0.0.0.0/0"]}' 200
assert_eq "approved 0.0.0.0/0" "0.0.0.0/0" "$(cidrs .approved_cidrs)"
assert_eq "advertised unchanged" "0.0.0.0/0 ::/0 192.0.2.0/24" "$(cidrs .advertise_cidrs)"
[ "$(j .revision)" -gt "$REV" ] || fail "approve did not take a new revision"
expect GET "/api/v1/devices/watch?organization=acme&revision=$REV&timeout=0" "$ADMIN" "" 200
assert_eq "watchers see the approval" "upsert:0.0.0.0/0" \
	"$(j '[.events[] | "\(.type):\(.device.approved_cidrs | join(","))"] | join(" ")')"
expect POST "/api/v1/devices/$E/approve" "$ADMIN" '{"cidrs":["10.9.0.0/16"]}' 400 bad_request
assert_eq "not advertised message" "10.9.0.0/16 is not advertised by device $E" "$(j .message)"
expect POST "/api/v1/devices/$E/approve" "$ADMIN" '{"cidrs":["192.0.2.1/24"]}' 400 bad_request
expect POST "/api/v1/devices/$E/approve" "$ADMIN" '{"cidrs":"0.0.0.0/0"}' 400 bad_request
expect POST "/api/v1/devices/$E/approve" "$ADMIN" '{"cidr":["0.0.0.0/0"]}' 400 bad_request
expect POST "/api/v1/devices/$E/approve" "$ORG" '{}' 200
assert_eq "everything approved" "0.0.0.0/0 ::/0 192.0.2.0/24" "$(cidrs .approved_cidrs)"
expect POST "/api/v1/devices/$E/unapprove" "$ORG" '{"cidrs":["192.0.2.0/24","198.51.100.0/24"]}' 200
assert_eq "unapproved a subset" "0.0.0.0/0 ::/0" "$(cidrs .approved_cidrs)"
# no body at all: everything
STATUS=$(curl -s -o "$API_TMP/resp" -w '%{http_code}' -X POST -H "Authorization: Bearer $ADMIN" \
	-H 'Content-Type: application/json' --data-binary '' "$API_URL/api/v1/devices/$E/unapprove")
RESP=$(cat "$API_TMP/resp")
assert_eq "unapproved everything (no body)" "200 -" "$STATUS $(cidrs .approved_cidrs)"
grep -q "device $E (exit1) unapproved everything by admin token" "$API_LOG" || fail "no log line naming who"
grep -q "device $E (exit1) approved \[\"0.0.0.0/0\"\] by admin token" "$API_LOG" || fail "no approve log line"
if grep -q "$ADMIN\|$ORG" "$API_LOG"; then fail "a token's secret in the log"; fi

say "an approval does not outlive its advertisement"
expect POST "/api/v1/devices/$E/approve" "$ADMIN" '{}' 200
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["0.0.0.0/0","192.0.2.0/24"]}' 200
assert_eq "::/0 withdrawn, its approval gone" "0.0.0.0/0 192.0.2.0/24" "$(cidrs .approved_cidrs)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["192.0.2.0/24"]}' 200
assert_eq "exit node withdrawn" "192.0.2.0/24" "$(cidrs .approved_cidrs)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["0.0.0.0/0","192.0.2.0/24"]}' 200
assert_eq "advertised again: needs approval again" "192.0.2.0/24" "$(cidrs .approved_cidrs)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"exit_node_status":"serving"}' 200
assert_eq "other changes keep approvals" "192.0.2.0/24" "$(cidrs .approved_cidrs)"
expect PATCH "/api/v1/devices/$E" "$ORG" '{"hostname":"exit1b"}' 200
assert_eq "a rename keeps approvals" "192.0.2.0/24" "$(cidrs .approved_cidrs)"

say "organization setting: exit_node_approval auto"
expect PATCH /api/v1/organizations/acme "$ET" '{"exit_node_approval":"auto"}' 403 forbidden
expect PATCH /api/v1/organizations/acme "$OTHER" '{"exit_node_approval":"auto"}' 404 not_found
expect PATCH /api/v1/organizations/acme "$ORG" '{"exit_node_approval":"always"}' 400 bad_request
expect PATCH /api/v1/organizations/acme "$ORG" '{"exit_node_approval":true}' 400 bad_request
expect PATCH /api/v1/organizations/acme "$ORG" '{}' 400 bad_request
expect PATCH /api/v1/organizations/acme "$ORG" '{"exit_node_approval":"auto","name":"x"}' 400 bad_request
expect PATCH /api/v1/organizations/nope "$ADMIN" '{"exit_node_approval":"auto"}' 404 not_found
expect PATCH /api/v1/organizations/acme "$ORG" '{"exit_node_approval":"auto"}' 200
assert_eq "auto" "acme auto" "$(j '"\(.name) \(.exit_node_approval)"')"
grep -q "organization acme: exit_node_approval auto (by organization token" "$API_LOG" || fail "no log line"
expect GET /api/v1/organizations/acme "$ET" "" 200
assert_eq "get shows it" auto "$(j .exit_node_approval)"
expect GET /api/v1/organizations "$ADMIN" "" 200
assert_eq "list shows it" "acme:auto default:admin other:admin" "$(j '[.[] | "\(.name):\(.exit_node_approval)"] | join(" ")')"
expect GET "/api/v1/devices/$E" "$ADMIN" "" 200
assert_eq "switching approves nothing by itself" "192.0.2.0/24" "$(cidrs .approved_cidrs)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["0.0.0.0/0"]}' 200
assert_eq "the next change is approved" "0.0.0.0/0" "$(cidrs .approved_cidrs)"
req POST /api/v1/devices "$PLAIN" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"auto1\",\"advertise_cidrs\":[\"0.0.0.0/0\",\"::/0\"]}"
assert_eq "registration in an auto organization" "201 0.0.0.0/0 ::/0" "$STATUS $(cidrs .device.approved_cidrs)"
expect PATCH /api/v1/organizations/acme "$ADMIN" '{"exit_node_approval":"admin"}' 200
assert_eq "back to admin" admin "$(j .exit_node_approval)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["0.0.0.0/0","::/0"]}' 200
assert_eq "admin again: ::/0 waits" "0.0.0.0/0" "$(cidrs .approved_cidrs)"
expect POST /api/v1/organizations "$ADMIN" '{"name":"born-auto","exit_node_approval":"auto"}' 201
assert_eq "created auto" auto "$(j .exit_node_approval)"
expect POST /api/v1/organizations "$ADMIN" '{"name":"bad","exit_node_approval":"sometimes"}' 400 bad_request

say "registration key auto_approve"
expect POST /api/v1/reg-keys "$ORG" '{"auto_approve":"yes"}' 400 bad_request
regkey "$ORG" '{"auto_approve":true,"single_use":false}'
AUTO=$KEY
assert_eq "key shows auto_approve" true "$(j .auto_approve)"
expect GET /api/v1/reg-keys "$ORG" "" 200
assert_eq "listed with auto_approve" true "$(j ".[] | select(.id == \"$KEY_ID\") | .auto_approve")"
req POST /api/v1/devices "$AUTO" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"ak1\",\"advertise_cidrs\":[\"0.0.0.0/0\"]}"
assert_eq "enrolled with an auto_approve key" "201 0.0.0.0/0" "$STATUS $(cidrs .device.approved_cidrs)"
AK=$(j .device.id); AKT=$(j .device_token)
expect PATCH "/api/v1/devices/$AK" "$AKT" '{"advertise_cidrs":["0.0.0.0/0","198.51.100.0/24"]}' 200
assert_eq "remembered by the device" "0.0.0.0/0 198.51.100.0/24" "$(cidrs .approved_cidrs)"
req POST /api/v1/devices "$PLAIN" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"nk1\",\"advertise_cidrs\":[\"0.0.0.0/0\"]}"
assert_eq "a plain key: a request" "201 -" "$STATUS $(cidrs .device.approved_cidrs)"

say "prefix sanity"
req POST /api/v1/devices "$PLAIN" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"advertise_cidrs\":[\"203.0.113.2/24\"]}"
assert_eq "non-canonical" "400 advertised prefix 203.0.113.2/24 is not canonical (host bits set); 203.0.113.0/24 is" "$STATUS $(j .message)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["0.0.0.0/0","203.0.113.2/24"]}' 400 bad_request
assert_eq "non-canonical in PATCH" "advertised prefix 203.0.113.2/24 is not canonical (host bits set); 203.0.113.0/24 is" "$(j .message)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["2001:db8:9::1/48"]}' 400 bad_request
assert_eq "non-canonical IPv6" "advertised prefix 2001:db8:9::1/48 is not canonical (host bits set); 2001:db8:9::/48 is" "$(j .message)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["100.100.0.0/16"]}' 400 bad_request
assert_eq "overlap (contains the mesh)" "advertised prefix 100.100.0.0/16 overlaps the organization's mesh prefix 100.100.16.0/20" "$(j .message)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["0.0.0.0/0","100.100.16.9/32"]}' 400 bad_request
assert_eq "overlap (inside the mesh)" "advertised prefix 100.100.16.9/32 overlaps the organization's mesh prefix 100.100.16.0/20" "$(j .message)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["2001:db8::/32"]}' 400 bad_request
assert_eq "overlap (prefix6)" "advertised prefix 2001:db8::/32 overlaps the organization's mesh prefix 2001:db8:16::/64" "$(j .message)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["0.0.0.0/0","0.0.0.0/0"]}' 400 bad_request
expect GET "/api/v1/devices/$E" "$ET" "" 200
assert_eq "refused PATCHes changed nothing" "0.0.0.0/0 ::/0 / 0.0.0.0/0" "$(cidrs .advertise_cidrs) / $(cidrs .approved_cidrs)"
expect PATCH "/api/v1/devices/$E" "$ET" '{"advertise_cidrs":["0.0.0.0/0","::/0","100.100.32.0/20","2001:db8:17::/64"]}' 200
assert_eq "neighbours of the mesh are fine" "0.0.0.0/0 ::/0 100.100.32.0/20 2001:db8:17::/64" "$(cidrs .advertise_cidrs)"
regkey "$ADMIN" '{"single_use":false}'
DEFKEY=$KEY
req POST /api/v1/devices "$DEFKEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"advertise_cidrs\":[\"100.100.0.0/16\"]}"
assert_eq "the default organization" "400 advertised prefix 100.100.0.0/16 overlaps the organization's mesh prefix 100.100.0.0/16" "$STATUS $(j .message)"
req POST /api/v1/devices "$DEFKEY" "{\"public_key\":\"$(pubkey)\",\"hostname\":\"x\",\"advertise_cidrs\":[\"2001:db8:16::/64\"]}"
assert_eq "another organization's mesh is not this one's" 201 "$STATUS"

say "re-registration of a known public key needs proof of its private key"
keypair
R_PRIV=$PRIV; R_PUB=$PUB
reg_adv "$PLAIN" real "$R_PUB" '["0.0.0.0/0"]'
assert_eq "the real device" 201 "$STATUS"
R=$DEV_ID; RT=$DEV_TOKEN; RIP=$DEV_IP
expect POST "/api/v1/devices/$R/approve" "$ADMIN" '{}' 200
assert_eq "approved" "0.0.0.0/0" "$(cidrs .approved_cidrs)"
expect GET "/api/v1/devices?organization=acme" "$ADMIN" "" 200
REV=$(j .revision)
register "$PLAIN" attacker "$R_PUB"
assert_eq "takeover refused" 409 "$STATUS"
assert_eq "error code" conflict "$(j .error)"
assert_eq "message" "public key $R_PUB is already registered in this organization as device $R; registering it again needs proof of its private key" "$(j .message)"
assert_eq "challenge: server key" 44 "$(j '.challenge.server_key | length')"
[ "$(j '.challenge.nonce | length')" -ge 16 ] || fail "no nonce: $RESP"
SERVER_KEY=$(j .challenge.server_key)
expect GET "/api/v1/devices/$R" "$RT" "" 200
assert_eq "the real device and its token still work" "real $RIP" "$(j '"\(.hostname) \(.tunnel_ip)"')"
expect GET "/api/v1/devices/watch?organization=acme&revision=$REV&timeout=0" "$ADMIN" "" 200
assert_eq "no event" 0 "$(j '.events | length')"
expect GET "/api/v1/devices?organization=acme" "$ADMIN" "" 200
assert_eq "one device with that key" 1 "$(j "[.devices[] | select(.public_key == \"$R_PUB\")] | length")"
register "$PLAIN" attacker "$R_PUB" ",\"proof\":{\"nonce\":\"AAAA\",\"mac\":\"AAAA\"}"
assert_eq "garbage proof" 409 "$STATUS"
proof "$(wg genkey)"
register "$PLAIN" attacker "$R_PUB" ",$PROOF"
assert_eq "a proof made with another private key" 409 "$STATUS"
assert_eq "the same server key every time" "$SERVER_KEY" "$(j .challenge.server_key)"
register "$PLAIN" attacker "$R_PUB" ",\"proof\":{\"nonce\":\"AAAA\"}"
assert_eq "proof without mac" 400 "$STATUS"
register "$PLAIN" attacker "$R_PUB" ",\"proof\":null"
assert_eq "proof null" 400 "$STATUS"
expect GET "/api/v1/devices/$R" "$RT" "" 200
assert_eq "still untouched" real "$(j .hostname)"
register "$PLAIN" real-again "$R_PUB"
assert_eq "a fresh challenge" 409 "$STATUS"
proof "$R_PRIV"
GOOD=$PROOF
reg_adv "$PLAIN" real-again "$R_PUB" '["0.0.0.0/0","192.0.2.0/24"]' ",$GOOD"
assert_eq "with proof: 200, the same device" "200 $R $RIP" "$STATUS $DEV_ID $DEV_IP"
assert_eq "approval kept (still advertised), the new prefix waits" "0.0.0.0/0" "$(cidrs .device.approved_cidrs)"
assert_ne "a new token" "$RT" "$DEV_TOKEN"
RT2=$DEV_TOKEN
expect GET "/api/v1/devices/$R" "$RT" "" 401 unauthorized
expect GET "/api/v1/devices/$R" "$RT2" "" 200
register "$PLAIN" replay "$R_PUB" ",$GOOD"
assert_eq "a used nonce is refused" 409 "$STATUS"
expect GET "/api/v1/devices/$R" "$RT2" "" 200
assert_eq "replay changed nothing" real-again "$(j .hostname)"

say "a single-use key, retried by the same public key within the window"
regkey "$ORG" '{"single_use":true}'
ONE=$KEY; ONE_ID=$KEY_ID
keypair
S_PRIV=$PRIV; S_PUB=$PUB
register "$ONE" s1 "$S_PUB"
assert_eq "first use" 201 "$STATUS"
S=$DEV_ID; SIP=$DEV_IP
reregister "$ONE" s1-retry "$S_PRIV"
assert_eq "retry with proof: the same device" "200 $S $SIP" "$STATUS $DEV_ID $DEV_IP"
register "$ONE" s2
assert_eq "another public key: used" "401 registration key already used" "$STATUS $(j .message)"
db_sql appr "UPDATE reg_keys SET used_at = used_at - 601 WHERE id = '$ONE_ID'" >/dev/null
register "$ONE" s1-late "$S_PUB"
assert_eq "past the window: used" "401 registration key already used" "$STATUS $(j .message)"

say "a deleted device's token: 401 device_deleted"
expect DELETE "/api/v1/devices/$R" "$ORG" "" 204
grep -q "device $R deleted from acme by organization token" "$API_LOG" || fail "no delete log line"
expect GET "/api/v1/devices/$R" "$RT2" "" 401 unauthorized
assert_eq "reason" device_deleted "$(j .reason)"
assert_eq "message" "device $R was deleted" "$(j .message)"
expect PATCH "/api/v1/devices/$R" "$RT2" '{"exit_node_status":"x"}' 401 unauthorized
assert_eq "every call" device_deleted "$(j .reason)"
expect GET "/api/v1/devices/$R" "$RT" "" 401 unauthorized
assert_eq "a token revoked before the deletion is just invalid" null "$(j .reason)"
expect GET /api/v1/devices "nxd_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" "" 401 unauthorized
assert_eq "unknown token: no reason" null "$(j .reason)"
BAD=${RT2%?}
if [ "${RT2: -1}" = A ]; then BAD+=B; else BAD+=A; fi
expect GET /api/v1/devices "$BAD" "" 401 unauthorized
assert_eq "right id, wrong secret: no reason" null "$(j .reason)"
register "$PLAIN" real-enrolled-again "$R_PUB"
assert_eq "enrolling again is a new device" 201 "$STATUS"
assert_ne "new id" "$R" "$DEV_ID"

say "a restart keeps the tombstone and the server key"
api_stop
api_start appr
expect GET "/api/v1/devices/$R" "$RT2" "" 401 unauthorized
assert_eq "reason after restart" device_deleted "$(j .reason)"
register "$PLAIN" x "$R_PUB"
assert_eq "challenged" 409 "$STATUS"
assert_eq "server key after restart" "$SERVER_KEY" "$(j .challenge.server_key)"
assert_eq "server key stored once" 1 "$(db_sql appr "SELECT COUNT(*) FROM server_keys")"

if [ "$API_STORE" != sqlite ]; then
	api_stop
	exit 0   # the schema 2 upgrade is SQLite's history; PostgreSQL starts at its own schema 1
fi
say "upgrade from schema 2: approvals grandfathered, organizations admin"
expect PATCH /api/v1/organizations/acme "$ADMIN" '{"exit_node_approval":"auto"}' 200
keypair
register "$DEFKEY" legacy "$PUB"
L=$DEV_ID; LT=$DEV_TOKEN
expect PATCH "/api/v1/devices/$L" "$LT" '{"advertise_cidrs":["0.0.0.0/0"]}' 200
assert_eq "not approved before the upgrade" "-" "$(cidrs .approved_cidrs)"
api_stop
python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
for t, col in (("organizations", "exit_node_approval"), ("devices", "approved_cidrs"), ("devices", "auto_approve"),
               ("events", "approved_cidrs"), ("reg_keys", "auto_approve"), ("reg_keys", "used_by_public_key"),
               ("reg_keys", "used_at")):
    c.execute("ALTER TABLE %s DROP COLUMN %s" % (t, col))
for t in ("deleted_device_tokens", "deleted_devices", "server_keys"):
    c.execute("DROP TABLE %s" % t)
c.execute("UPDATE meta SET value = 2 WHERE key = '"'"'schema'"'"'")
c.commit()' "$API_TMP/appr.db"
api_start appr
grep -q 'schema upgraded from 2 to 4' "$API_LOG" || fail "no upgrade log line"
assert_eq "schema 4" 4 "$(db_sql appr "SELECT value FROM meta WHERE key = 'schema'")"
expect GET "/api/v1/devices/$L" "$LT" "" 200
assert_eq "grandfathered" "0.0.0.0/0" "$(cidrs .approved_cidrs)"
expect GET /api/v1/organizations "$ADMIN" "" 200
assert_eq "every organization admin" "acme:admin born-auto:admin default:admin other:admin" \
	"$(j '[.[] | "\(.name):\(.exit_node_approval)"] | join(" ")')"
expect GET "/api/v1/devices/watch?revision=0&timeout=0" "$ADMIN" "" 200
assert_eq "old events grandfathered too" "0.0.0.0/0" "$(j "[.events[] | select(.device.id == \"$L\")] | last | .device.approved_cidrs | join(\" \")")"
expect PATCH "/api/v1/devices/$L" "$LT" '{"advertise_cidrs":["0.0.0.0/0","::/0"]}' 200
assert_eq "after the upgrade the rules apply" "0.0.0.0/0" "$(cidrs .approved_cidrs)"
api_stop
api_start appr
assert_eq "upgraded once" 1 "$(grep -c 'schema upgraded' "$API_LOG")"
