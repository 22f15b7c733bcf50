#!/usr/bin/env bash
# IPv6 tunnel addresses: an organization's optional "prefix6" (an IPv6 /64)
# and every device's "tunnel_ip6" derived from it (prefix6 with the low 32
# bits equal to the IPv4 tunnel address; null without a prefix6): creation,
# bad values, registration, re-registration, deletion and reuse, lists,
# watch events; then the upgrade of a database written by the nexapi before
# prefix6 existed (schema 1), built from commit $OLD_COMMIT unless
# OLD_NEXAPI names such a binary.
source "$(dirname "$0")/lib_api.sh"

# The last commit whose nexapi wrote schema 1 (no organizations.prefix6).
OLD_COMMIT=${OLD_COMMIT:-af06721}


api_start v6
say "organizations with and without prefix6"
expect GET /api/v1/organizations/default "$ADMIN" "" 200
assert_eq "default has no prefix6" null "$(j .prefix6)"
expect POST /api/v1/organizations "$ADMIN" '{"name":"six","prefix":"100.100.16.0/20","prefix6":"2001:DB8:6464:0::/64"}' 201
SIX_ID=$(j .id)
assert_eq "prefix6 normalized" 2001:db8:6464::/64 "$(j .prefix6)"
expect POST /api/v1/organizations "$ADMIN" '{"name":"four","prefix":"100.100.32.0/24"}' 201
assert_eq "no prefix6" null "$(j .prefix6)"
expect POST /api/v1/organizations "$ADMIN" '{"name":"four-null","prefix6":null}' 201
assert_eq "null prefix6" null "$(j .prefix6)"
expect GET /api/v1/organizations/six "$ADMIN" "" 200
assert_eq "get shows prefix6" 2001:db8:6464::/64 "$(j .prefix6)"
expect GET "/api/v1/organizations/$SIX_ID" "$ADMIN" "" 200
assert_eq "get by id shows prefix6" 2001:db8:6464::/64 "$(j .prefix6)"
expect GET /api/v1/organizations "$ADMIN" "" 200
assert_eq "list shows prefix6" "default:null four:null four-null:null six:2001:db8:6464::/64" \
	"$(j '[.[] | "\(.name):\(.prefix6)"] | join(" ")')"

say "bad prefix6 values"
for bad in '"2001:db8:6464::1/64"' '"2001:db8:6464::/48"' '"2001:db8:6464::/96"' '"2001:db8:6464::/128"' \
	'"2001:db8:6464::"' '"100.100.0.0/16"' '"::ffff:100.100.0.0/64"' '"2001:db8::/64 "' '"2001:db8::%lo/64"' \
	'"2001:db8::/064x"' '"2001:db8::/-64"' '""' '64' 'true' '["2001:db8::/64"]' '"2001:db8:6464:1:2::/64"'; do
	expect POST /api/v1/organizations "$ADMIN" "{\"name\":\"bad\",\"prefix6\":$bad}" 400 bad_request
done
expect GET /api/v1/organizations/bad "$ADMIN" "" 404 not_found

say "devices: derived tunnel_ip6"
regkey "$ADMIN" '{"organization":"six","single_use":false}'
SIX_KEY=$KEY
keypair
PK1=$PUB
PRIV1=$PRIV
register "$SIX_KEY" a "$PK1"
assert_eq "first device" "201 100.100.16.1" "$STATUS $DEV_IP"
assert_eq "first tunnel_ip6" 2001:db8:6464::6464:1001 "$(j .device.tunnel_ip6)"
D1=$DEV_ID
D1_TOKEN=$DEV_TOKEN
register "$SIX_KEY" b
assert_eq "second tunnel_ip6" "100.100.16.2 2001:db8:6464::6464:1002" "$DEV_IP $(j .device.tunnel_ip6)"
D2=$DEV_ID
register "$SIX_KEY" c
assert_eq "third tunnel_ip6" "100.100.16.3 2001:db8:6464::6464:1003" "$DEV_IP $(j .device.tunnel_ip6)"
D3=$DEV_ID
expect GET "/api/v1/devices/$D2" "$ADMIN" "" 200
assert_eq "get device" 2001:db8:6464::6464:1002 "$(j .tunnel_ip6)"
expect GET "/api/v1/devices?organization=six" "$ADMIN" "" 200
REV=$(j .revision)
assert_eq "list" "100.100.16.1=2001:db8:6464::6464:1001 100.100.16.2=2001:db8:6464::6464:1002 100.100.16.3=2001:db8:6464::6464:1003" \
	"$(j '[.devices[] | "\(.tunnel_ip)=\(.tunnel_ip6)"] | join(" ")')"

say "re-registration keeps it; PATCH keeps it"
reregister "$SIX_KEY" a-again "$PRIV1"
assert_eq "re-registration" "200 $D1 100.100.16.1 2001:db8:6464::6464:1001" "$STATUS $DEV_ID $DEV_IP $(j .device.tunnel_ip6)"
D1_TOKEN=$DEV_TOKEN
expect PATCH "/api/v1/devices/$D1" "$D1_TOKEN" '{"exit_node_status":"serving"}' 200
assert_eq "patched" 2001:db8:6464::6464:1001 "$(j .tunnel_ip6)"
expect PATCH "/api/v1/devices/$D1" "$D1_TOKEN" '{"tunnel_ip6":"2001:db8:6464::9"}' 400 bad_request

say "deletion releases it with the IPv4 address; the next device reuses both"
expect DELETE "/api/v1/devices/$D2" "$ADMIN" "" 204
register "$SIX_KEY" d
assert_eq "reused" "201 100.100.16.2 2001:db8:6464::6464:1002" "$STATUS $DEV_IP $(j .device.tunnel_ip6)"
D4=$DEV_ID
assert_ne "a new device" "$D2" "$D4"

say "watch events carry tunnel_ip6 (a delete event too)"
expect DELETE "/api/v1/devices/$D3" "$ADMIN" "" 204
expect GET "/api/v1/devices/watch?organization=six&revision=$REV&timeout=0" "$ADMIN" "" 200
assert_eq "events" "upsert:2001:db8:6464::6464:1001 upsert:2001:db8:6464::6464:1001 delete:2001:db8:6464::6464:1002 upsert:2001:db8:6464::6464:1002 delete:2001:db8:6464::6464:1003" \
	"$(j '[.events[] | "\(.type):\(.device.tunnel_ip6)"] | join(" ")')"

say "devices of an organization without prefix6: null"
regkey "$ADMIN" '{"organization":"four","single_use":false}'
register "$KEY" e
assert_eq "null tunnel_ip6" "201 100.100.32.1 null" "$STATUS $DEV_IP $(j .device.tunnel_ip6)"
[ "$(j '.device | has("tunnel_ip6")')" == true ] || fail "tunnel_ip6 missing (must be null)"
expect GET /api/v1/devices?organization=four "$ADMIN" "" 200
assert_eq "null in lists" null "$(j '.devices[0].tunnel_ip6')"

say "a restart keeps prefix6 and the derived addresses"
api_stop
assert_eq "stop" 0 "$API_RC"
api_start v6
expect GET /api/v1/organizations/six "$ADMIN" "" 200
assert_eq "prefix6 after restart" 2001:db8:6464::/64 "$(j .prefix6)"
expect GET "/api/v1/devices/$D1" "$D1_TOKEN" "" 200
assert_eq "tunnel_ip6 after restart" 2001:db8:6464::6464:1001 "$(j .tunnel_ip6)"
[ "$API_STORE" != sqlite ] ||
	assert_eq "schema version" 4 "$(db_sql v6 "SELECT value FROM meta WHERE key = 'schema'")"
api_stop

if [ "$API_STORE" = sqlite ]; then   # the history of SQLite databases
say "upgrade: a database written by the nexapi of $OLD_COMMIT (schema 1)"
if [ -z "${OLD_NEXAPI:-}" ] && git -C "$ROOT" cat-file -e "$OLD_COMMIT^{commit}" 2>/dev/null; then
	mkdir "$API_TMP/old"
	git -C "$ROOT" archive "$OLD_COMMIT" | tar -x -C "$API_TMP/old" || fail "cannot extract $OLD_COMMIT"
	make -s -C "$API_TMP/old" BUILD=build build/nexapi >"$API_TMP/old-build.log" 2>&1 ||
		fail "cannot build the old nexapi: $(tail -n 5 "$API_TMP/old-build.log")"
	OLD_NEXAPI=$API_TMP/old/build/nexapi
fi
NEW_NEXAPI=$NEXAPI
DOWNGRADE=0
if [ -n "${OLD_NEXAPI:-}" ]; then
	NEXAPI=$OLD_NEXAPI
else
	# A clone without that commit (shallow): this nexapi writes the
	# database, which is then taken back to schema 1 by hand.
	say "($OLD_COMMIT is not in this clone: a database of this nexapi taken back to schema 1)"
	DOWNGRADE=1
fi
api_start up
OLD_ADMIN=$ADMIN
expect POST /api/v1/organizations "$ADMIN" '{"name":"acme","prefix":"100.100.16.0/20"}' 201
regkey "$ADMIN" '{"organization":"acme","single_use":false}'
OLD_KEY=$KEY
keypair
PKO=$PUB
PRIVO=$PRIV
register "$OLD_KEY" old-1 "$PKO"
assert_eq "old device" "201 100.100.16.1" "$STATUS $DEV_IP"
OLD_D=$DEV_ID
OLD_D_TOKEN=$DEV_TOKEN
[ "$DOWNGRADE" = 1 ] || [ "$(j '.device | has("tunnel_ip6")')" == false ] ||
	fail "the old nexapi already knows tunnel_ip6: wrong OLD_COMMIT"
expect GET /api/v1/devices?organization=acme "$ADMIN" "" 200
OLD_REV=$(j .revision)
api_stop
assert_eq "old stop" 0 "$API_RC"
if [ "$DOWNGRADE" = 1 ]; then
	python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("ALTER TABLE organizations DROP COLUMN prefix6")
c.execute("UPDATE meta SET value = 1 WHERE key = '"'"'schema'"'"'")
c.commit()' "$API_TMP/up.db"
fi
assert_eq "old schema version" 1 "$(db_sql up "SELECT value FROM meta WHERE key = 'schema'")"
assert_eq "old table has no prefix6" 0 \
	"$(db_sql up "SELECT COUNT(*) FROM pragma_table_info('organizations') WHERE name = 'prefix6'")"

NEXAPI=$NEW_NEXAPI
api_start up
grep -q 'schema upgraded from 1 to 4' "$API_LOG" || fail "no upgrade log line"
assert_eq "upgraded schema version" 4 "$(db_sql up "SELECT value FROM meta WHERE key = 'schema'")"
expect GET /api/v1/organizations "$OLD_ADMIN" "" 200
assert_eq "old organizations" "acme:100.100.16.0/20:null default:100.100.0.0/16:null" \
	"$(j '[.[] | "\(.name):\(.prefix):\(.prefix6)"] | join(" ")')"
expect GET "/api/v1/devices/$OLD_D" "$OLD_D_TOKEN" "" 200
assert_eq "old device, old token" "100.100.16.1 null" "$(j .tunnel_ip) $(j .tunnel_ip6)"
expect GET "/api/v1/devices/watch?organization=acme&revision=0&timeout=0" "$OLD_ADMIN" "" 200
assert_eq "old events" "upsert:null" "$(j '[.events[] | "\(.type):\(.device.tunnel_ip6)"] | join(" ")')"
register "$OLD_KEY" old-2
assert_eq "old key registers" "201 100.100.16.2 null" "$STATUS $DEV_IP $(j .device.tunnel_ip6)"
reregister "$OLD_KEY" old-1 "$PRIVO"
assert_eq "old device re-registers" "200 $OLD_D 100.100.16.1" "$STATUS $DEV_ID $DEV_IP"
expect POST /api/v1/organizations "$OLD_ADMIN" '{"name":"new6","prefix6":"2001:db8:1::/64"}' 201
regkey "$OLD_ADMIN" '{"organization":"new6","single_use":false}'
register "$KEY" n-1
assert_eq "new org in the upgraded db" "201 100.100.0.1 2001:db8:1::6464:1" "$STATUS $DEV_IP $(j .device.tunnel_ip6)"
api_stop
assert_eq "stop" 0 "$API_RC"

say "a second open of the upgraded database changes nothing"
api_start up
grep -c 'schema upgraded' "$API_LOG" | grep -qx 1 || fail "upgraded twice"
expect GET /api/v1/organizations/new6 "$OLD_ADMIN" "" 200
assert_eq "prefix6 kept" 2001:db8:1::/64 "$(j .prefix6)"
expect GET /api/v1/devices?organization=acme "$OLD_ADMIN" "" 200
assert_eq "devices kept" "100.100.16.1 100.100.16.2" "$(j '[.devices[].tunnel_ip] | join(" ")')"
[ "$(j .revision)" -gt "$OLD_REV" ] || fail "revision went back"
api_stop

fi

say "a database of a newer schema is refused"
if [ "$API_STORE" = pg ]; then
	api_start up
	api_stop
fi
db_sql up "UPDATE meta SET value = 1000 WHERE key = 'schema'" >/dev/null
api_db up
rc=0
timeout 20 "$NEXAPI" --listen 127.0.0.1:0 "${API_DB_ARGS[@]}" >"$API_TMP/newer.log" 2>&1 || rc=$?
assert_eq "newer schema refused" 1 "$rc"
grep -q 'schema 1000 is newer' "$API_TMP/newer.log" || fail "no reason logged: $(cat "$API_TMP/newer.log")"
