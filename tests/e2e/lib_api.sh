# Helpers for the nexapi end-to-end tests (tests/e2e/test_api_*.sh) and
# bench/api.sh. Sourced. Every server is started from here on 127.0.0.1 with
# a port chosen by the kernel (--listen 127.0.0.1:0; the port is read from
# its log), its PID recorded, and stopped by PID; `api_cleanup` (run on
# EXIT) stops what is left and removes the temporary directory.
#
#   ROOT   repository root (default: two levels above this file)
#   BUILD  build directory, relative to ROOT or absolute (default: build)
#   NEXAPI_STORE  sqlite (default) or pg: the store every server of the
#          test uses. With pg, the test starts its own PostgreSQL server
#          (pg_start) and each NAME is a database of it.

set -eEuo pipefail

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in
/*) BUILDDIR=$BUILD ;;
*) BUILDDIR=$ROOT/$BUILD ;;
esac
NEXAPI=${NEXAPI:-$BUILDDIR/nexapi}
REGPROOF=${REGPROOF:-$BUILDDIR/tools/regproof_tool}
API_TMP=$(mktemp -d "/tmp/nx-api-$$.XXXXXX")
chmod 0700 "$API_TMP"
declare -a API_PIDS=()
declare -a API_NETNS=()
declare -a API_MOUNTS=()
API_DB_DIR=   # where api_start keeps databases (default $API_TMP)
API_STORE=${NEXAPI_STORE:-sqlite}
case $API_STORE in sqlite | pg) ;; *) echo "NEXAPI_STORE: sqlite or pg, not $API_STORE" >&2; exit 2 ;; esac
declare -a API_DB_ARGS=()
API_DB=
API_PID=
API_URL=
API_LOG=
ADMIN=
CURL_EXTRA=()

say() { printf '\n== %s\n' "$*" >&2; }
source "$(dirname "${BASH_SOURCE[0]}")/lib_pg.sh"
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	if [ -n "$API_LOG" ] && [ -f "$API_LOG" ]; then
		echo "--- last server log lines ($API_LOG):" >&2
		tail -n 15 "$API_LOG" >&2
	fi
	exit 1
}
assert_eq() {
	[ "$2" == "$3" ] || fail "$1: expected '$2', got '$3'"
	printf '    ok: %s = %s\n' "$1" "$3" >&2
}
assert_ne() {
	[ "$2" != "$3" ] || fail "$1: must not be '$2'"
	printf '    ok: %s = %s\n' "$1" "$3" >&2
}
assert_contains() {
	case "$3" in
	*"$2"*) printf '    ok: %s contains %s\n' "$1" "$2" >&2 ;;
	*) fail "$1: '$2' not found in: $3" ;;
	esac
}

api_cleanup() {
	local rc=$? p
	for p in "${API_PIDS[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			kill "$p" 2>/dev/null || true
			wait "$p" 2>/dev/null || true
		fi
	done
	for p in "${API_NETNS[@]}"; do
		ip netns del "$p" 2>/dev/null || true
	done
	for p in "${API_MOUNTS[@]}"; do
		umount "$p" 2>/dev/null || umount -l "$p" 2>/dev/null || true
	done
	pg_stop
	rm -rf "$API_TMP"
	if [ $rc -eq 0 ]; then echo "PASS"; else echo "FAIL (exit $rc)"; fi
	exit $rc
}
trap api_cleanup EXIT

# api_db NAME: the database NAME of this test's store: sets API_DB (the
# --db value: a file, or a URI) and API_DB_ARGS (--db and, for PostgreSQL,
# --admin-token-file <dir>/NAME.db.admin-token, where SQLite's default
# puts it). A PostgreSQL database is created the first time.
api_db() {
	local dir=${API_DB_DIR:-$API_TMP} dbname
	if [ "$API_STORE" = sqlite ]; then
		API_DB=$dir/$1.db
		API_DB_ARGS=(--db "$API_DB")
		return 0
	fi
	dbname=nx_${1//[^a-zA-Z0-9]/_}
	pg_db "$dbname"
	API_DB=$PG_URI
	API_DB_ARGS=(--db "$API_DB" --admin-token-file "$dir/$1.db.admin-token")
}

# db_sql NAME SQL: runs one statement on database NAME (a running
# server's too) and prints the first column of its first row, if any.
db_sql() {
	if [ "$API_STORE" = sqlite ]; then
		python3 -c 'import sqlite3, sys
c = sqlite3.connect(sys.argv[1], timeout=10)
r = c.execute(sys.argv[2]).fetchone()
c.commit()
print("" if r is None or r[0] is None else r[0])' "${API_DB_DIR:-$API_TMP}/$1.db" "$2"
	else
		psql_q "nx_${1//[^a-zA-Z0-9]/_}" "$2" | head -n 1
	fi
}

# api_netns NAME: creates a network namespace (deleted at exit) with lo up
# and also holding 192.0.2.1 (not a loopback address, for nexapi's rule);
# prints its full name.
api_netns() {
	local ns=nx-h5-$$-$1
	ip netns add "$ns"
	API_NETNS+=("$ns")
	ip -n "$ns" link set lo up
	ip -n "$ns" addr add 192.0.2.1/32 dev lo
	echo "$ns"
}

# api_start NAME [nexapi args...]: starts a server on 127.0.0.1 with the
# database NAME (api_db; kept across restarts of the same NAME) and waits
# up to API_START_TIMEOUT seconds (default 5) for it to listen; sets
# API_PID, API_URL, API_LOG and ADMIN (the admin token of the first start).
api_start() {
	local name=$1 i port
	shift
	API_LOG=$API_TMP/$name.log
	: >>"$API_LOG"
	local before
	before=$(grep -c 'listening on' "$API_LOG" || true)
	api_db "$name"
	local db=${API_DB_DIR:-$API_TMP}/$name.db
	printf '[+] nexapi --listen 127.0.0.1:0 %s %s\n' "${API_DB_ARGS[*]}" "$*" >&2
	"$NEXAPI" --listen 127.0.0.1:0 "${API_DB_ARGS[@]}" "$@" >>"$API_LOG" 2>&1 &
	API_PID=$!
	API_PIDS+=("$API_PID")
	for i in $(seq 1 $((${API_START_TIMEOUT:-5} * 20))); do
		if [ "$(grep -c 'listening on' "$API_LOG" || true)" -gt "$before" ]; then
			break
		fi
		kill -0 "$API_PID" 2>/dev/null || fail "nexapi exited at start: $(tail -n 5 "$API_LOG")"
		sleep 0.05
	done
	port=$(grep 'listening on' "$API_LOG" | tail -n 1 | sed -E 's/.*:([0-9]+) .*/\1/')
	[ -n "$port" ] || fail "nexapi did not start"
	if grep 'listening on' "$API_LOG" | tail -n 1 | grep -q https; then
		API_URL=https://127.0.0.1:$port
	else
		API_URL=http://127.0.0.1:$port
	fi
	if [ -f "$db.admin-token" ]; then
		ADMIN=$(cat "$db.admin-token")
	fi
}

# api_stop [SIGNAL]: stops the current server by PID; sets API_RC.
api_stop() {
	local sig=${1:-TERM}
	kill -"$sig" "$API_PID"
	API_RC=0
	wait "$API_PID" || API_RC=$?
}

# req METHOD PATH TOKEN [BODY]: one request; sets STATUS and RESP. TOKEN may
# be "-" for none. Requests at once (subshells) need each a RESP_FILE. The body is sent as application/json.
req() {
	local method=$1 path=$2 token=$3 body=${4-}
	local out=${RESP_FILE:-$API_TMP/resp}
	local args=(-s -g -o "$out" -w '%{http_code}' -X "$method" "${CURL_EXTRA[@]}")
	[ "$token" != "-" ] && args+=(-H "Authorization: Bearer $token")
	if [ -n "$body" ]; then
		args+=(-H 'Content-Type: application/json' --data-binary "$body")
	fi
	STATUS=$(curl "${args[@]}" "$API_URL$path") || STATUS=000
	RESP=$(cat "$out" 2>/dev/null || true)
}

# expect METHOD PATH TOKEN BODY STATUS [ERROR-CODE]: the request answers
# STATUS (and, for errors, {"error": ERROR-CODE, "message": ...}).
expect() {
	local want=$5 code=${6-}
	req "$1" "$2" "$3" "$4"
	[ "$STATUS" == "$want" ] || fail "$1 $2: expected $want, got $STATUS: $RESP"
	if [ -n "$code" ]; then
		[ "$(jq -r .error <<<"$RESP")" == "$code" ] || fail "$1 $2: expected error $code: $RESP"
		[ -n "$(jq -r '.message // empty' <<<"$RESP")" ] || fail "$1 $2: no message: $RESP"
	fi
	printf '    ok: %s %s -> %s %s\n' "$1" "$2" "$STATUS" "$code" >&2
}

# j FILTER: jq -r FILTER on the last response.
j() { jq -r "$1" <<<"$RESP"; }

pubkey() { wg genkey | wg pubkey; }

# register KEY HOSTNAME [PUBKEY [EXTRA]]: registers a device; sets DEV_ID,
# DEV_IP, DEV_TOKEN (and STATUS/RESP). EXTRA: more members of the body
# (',"proof":{...}').
register() {
	local pk=${3:-$(pubkey)} extra=${4-}
	req POST /api/v1/devices "$1" "{\"public_key\":\"$pk\",\"hostname\":\"$2\",\"os\":\"linux\",\"endpoints\":[{\"source\":\"local\",\"address\":\"192.0.2.10:51820\"}],\"advertise_cidrs\":[]$extra}"
	DEV_ID=$(j '.device.id // empty')
	DEV_IP=$(j '.device.tunnel_ip // empty')
	DEV_TOKEN=$(j '.device_token // empty')
}

# keypair: a new WireGuard key pair in PRIV and PUB.
keypair() {
	PRIV=$(wg genkey)
	PUB=$(wg pubkey <<<"$PRIV")
}

# proof PRIV: the "proof" member (in PROOF) that answers the challenge of
# the last response (a 409), made with the device's private key PRIV.
proof() {
	local key nonce mac
	key=$(j '.challenge.server_key // empty')
	nonce=$(j '.challenge.nonce // empty')
	[ -n "$key" ] && [ -n "$nonce" ] || fail "no challenge in: $RESP"
	mac=$("$REGPROOF" "$1" "$key" "$nonce") || fail "regproof_tool failed"
	PROOF="\"proof\":{\"nonce\":\"$nonce\",\"mac\":\"$mac\"}"
}

# reregister KEY HOSTNAME PRIV: registers the public key of PRIV again, as
# a device that holds PRIV does: 409 with a challenge first, then the same
# with the proof (sets what register sets).
reregister() {
	local pk
	pk=$(wg pubkey <<<"$3")
	register "$1" "$2" "$pk"
	[ "$STATUS" == 409 ] || fail "re-registration without proof: expected 409, got $STATUS: $RESP"
	proof "$3"
	register "$1" "$2" "$pk" ",$PROOF"
}

# regkey TOKEN BODY: creates a registration key; sets KEY and KEY_ID.
regkey() {
	req POST /api/v1/reg-keys "$1" "$2"
	[ "$STATUS" == 201 ] || fail "reg key: $STATUS $RESP"
	KEY=$(j .key)
	KEY_ID=$(j .id)
}
