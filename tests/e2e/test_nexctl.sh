#!/usr/bin/env bash
# nexctl end to end, against a real nexapi started here on 127.0.0.1 (a port
# chosen by the kernel, a database in a temporary directory), then again over
# TLS with a CA made here and --ca-cert. Every command in table and JSON
# modes (checked with jq), table alignment, the errors (bad token, unknown
# device, server down, untrusted certificate, usage errors), --help of every
# command, the environment variables and token files. Devices are registered
# with curl, as nexd would. `nexctl nexd proxy` against a stand-in for nexd's
# control socket (a few lines of python3): its usage errors, the requests it
# sends, its output, nexd's errors. Every command is printed before it runs.
#
#   ROOT, BUILD   as for tests/run.sh (BUILD relative to ROOT or absolute)
set -eEuo pipefail

ROOT=${ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in
/*) BUILDDIR=$BUILD ;;
*) BUILDDIR=$ROOT/$BUILD ;;
esac
NEXCTL=$BUILDDIR/nexctl
NEXAPI=$BUILDDIR/nexapi
TMP=$(mktemp -d "/tmp/nx-h6-$$.XXXXXX")
chmod 0700 "$TMP"
API_PID=
API_LOG=$TMP/api.log
declare -a STARTED=()

say() { printf '\n== %s\n' "$*" >&2; }
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	if [ -f "$API_LOG" ]; then
		echo "--- last server log lines:" >&2
		tail -n 10 "$API_LOG" >&2
	fi
	exit 1
}
ok_line() { printf '    ok: %s\n' "$*" >&2; }

cleanup() {
	local rc=$? p
	set +e
	for p in "${STARTED[@]}"; do
		if kill -0 "$p" 2>/dev/null; then
			kill "$p"
			wait "$p"
		fi
	done
	rm -rf "$TMP"
	if [ $rc -eq 0 ]; then echo "PASS"; else echo "FAIL (exit $rc)"; fi
	exit $rc
}
trap cleanup EXIT

[ -x "$NEXCTL" ] || fail "no $NEXCTL (build first)"
[ -x "$NEXAPI" ] || fail "no $NEXAPI (build first)"
command -v jq >/dev/null || fail "jq is needed (scripts/deps.sh)"

# ---------------------------------------------------------------- the server

# api_start [nexapi args...]: starts nexapi on 127.0.0.1:0 with $TMP/db; sets
# API_PID and PORT from its log line "listening on http(s)://127.0.0.1:PORT".
api_start() {
	local before i line
	before=$(grep -c 'listening on' "$API_LOG" 2>/dev/null || true)
	printf '[+] nexapi --listen 127.0.0.1:0 --db %s %s\n' "$TMP/db" "$*" >&2
	"$NEXAPI" --listen 127.0.0.1:0 --db "$TMP/db" "$@" >>"$API_LOG" 2>&1 &
	API_PID=$!
	STARTED+=("$API_PID")
	for i in $(seq 1 200); do
		[ "$(grep -c 'listening on' "$API_LOG" || true)" -gt "${before:-0}" ] && break
		kill -0 "$API_PID" 2>/dev/null || fail "nexapi exited at start"
		sleep 0.05
	done
	line=$(grep 'listening on' "$API_LOG" | tail -n 1)
	PORT=$(sed -E 's/.*127\.0\.0\.1:([0-9]+).*/\1/' <<<"$line")
	[[ $PORT =~ ^[0-9]+$ ]] || fail "nexapi did not say where it listens: $line"
}

api_stop() {
	printf '[+] kill %s (nexapi)\n' "$API_PID" >&2
	kill "$API_PID"
	local rc=0
	wait "$API_PID" || rc=$?
	[ "$rc" -eq 0 ] || fail "nexapi exited $rc on SIGTERM"
}

# ---------------------------------------------------------------- nexctl runs

# nx ARGS...: runs nexctl; sets RC, OUT (stdout) and ERR (stderr).
nx() {
	printf '[+] nexctl %s\n' "$*" >&2
	RC=0
	"$NEXCTL" "$@" >"$TMP/out" 2>"$TMP/err" || RC=$?
	OUT=$(cat "$TMP/out")
	ERR=$(cat "$TMP/err")
}

# ok ARGS...: nexctl succeeds, silently on stderr.
ok() {
	nx "$@"
	[ "$RC" -eq 0 ] || fail "nexctl $*: exit $RC: $ERR"
	[ -z "$ERR" ] || fail "nexctl $*: unexpected stderr: $ERR"
}

# fails RC PATTERN ARGS...: nexctl exits RC, says PATTERN (extended regexp) on
# stderr, and prints nothing on stdout.
fails() {
	local want=$1 pattern=$2
	shift 2
	nx "$@"
	[ "$RC" -eq "$want" ] || fail "nexctl $*: expected exit $want, got $RC (stderr: $ERR)"
	grep -Eq -- "$pattern" <<<"$ERR" || fail "nexctl $*: stderr lacks /$pattern/: $ERR"
	[ -z "$OUT" ] || fail "nexctl $*: unexpected stdout: $OUT"
	ok_line "exit $RC, stderr: $(head -n 1 <<<"$ERR")"
}

# jqe FILTER: the last stdout satisfies the jq filter.
jqe() {
	jq -e "$1" <<<"$OUT" >/dev/null || fail "jq '$1' is false on: $OUT"
	ok_line "jq $1"
}

# has PATTERN: the last stdout has a line matching PATTERN (extended regexp).
has() {
	grep -Eq -- "$1" <<<"$OUT" || fail "stdout lacks /$1/: $OUT"
	ok_line "stdout has /$1/"
}

# aligned: the last stdout is a table whose every column starts, on every
# line, where its header starts (after a space, with a non-space).
aligned() {
	awk '
	NR == 1 {
		n = 0
		for (i = 1; i <= length($0); i++)
			if (substr($0, i, 1) != " " && (i == 1 || substr($0, i - 1, 1) == " "))
				start[++n] = i
		next
	}
	{
		for (k = 2; k <= n; k++) {
			s = start[k]
			if (substr($0, s - 1, 1) != " " || substr($0, s, 1) == " " || substr($0, s, 1) == "") {
				printf "column %d misaligned on line %d: %s\n", k, NR, $0
				bad = 1
			}
		}
	}
	END { exit bad }' <<<"$OUT" >&2 || fail "table not aligned"
	[ "$(grep -c ' $' <<<"$OUT" || true)" -eq 0 ] || fail "trailing spaces in the table"
	ok_line "table aligned ($(wc -l <<<"$OUT") lines)"
}

# lines N: the last stdout has N lines.
lines() {
	local n
	n=$(printf '%s' "$OUT" | grep -c '' || true)
	[ "$n" -eq "$1" ] || fail "expected $1 lines, got $n: $OUT"
	ok_line "$1 lines"
}

pubkey() { wg genkey | wg pubkey; }

# register KEY HOSTNAME [ADVERTISE_JSON]: registers a device with curl as nexd
# would; sets STATUS, DEV_ID, DEV_IP.
register() {
	local cidrs=${3:-[]} body
	body="{\"public_key\":\"$(pubkey)\",\"hostname\":\"$2\",\"os\":\"linux\","
	body+="\"endpoints\":[{\"source\":\"local\",\"address\":\"192.0.2.10:51820\"}],"
	body+="\"advertise_cidrs\":$cidrs}"
	printf '[+] curl -X POST %s/api/v1/devices (hostname %s)\n' "$URL" "$2" >&2
	STATUS=$(curl -s "${CURL_TLS[@]}" -o "$TMP/reg" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $1" -H 'Content-Type: application/json' \
		--data-binary "$body" "$URL/api/v1/devices") || STATUS=000
	DEV_ID=$(jq -r '.device.id // empty' "$TMP/reg")
	DEV_IP=$(jq -r '.device.tunnel_ip // empty' "$TMP/reg")
}
CURL_TLS=()

# ---------------------------------------------------------------- help and usage

say "--help of every command is true and exits 0"
ok --help
for f in --service-url --token --token-file --ca-cert -o org token reg-key device; do
	grep -q -- "$f" <<<"$OUT" || fail "nexctl --help does not mention $f"
done
ok --version
has '^nexctl [0-9]'
declare -A HELP_FLAGS=(
	["org list"]=""
	["org create"]="NAME --prefix --prefix6 --exit-node-approval"
	["org update"]="NAME-OR-ID --exit-node-approval"
	["token create"]="--org --expires"
	["token list"]="--org"
	["token revoke"]="ID"
	["reg-key create"]="--org --single-use --reusable --expires --auto-approve"
	["reg-key list"]="--org"
	["reg-key delete"]="ID"
	["device list"]="--org"
	["device get"]="ID"
	["device delete"]="ID"
	["device update"]="ID --exit-node-client --hostname"
	["device approve"]="ID --cidr"
	["device unapprove"]="ID --cidr"
)
for cmd in "${!HELP_FLAGS[@]}"; do
	# shellcheck disable=SC2086
	ok $cmd --help
	has "^usage: nexctl \[global flags\] $cmd"
	for f in ${HELP_FLAGS[$cmd]}; do
		head -n 1 <<<"$OUT" | grep -q -- "$f" || fail "usage of '$cmd' lacks $f"
	done
	# shellcheck disable=SC2086
	ok $cmd -h
done
for cmd in org token reg-key device; do
	ok "$cmd" --help
	has "^usage:"
	fails 2 "which command" "$cmd"
	fails 2 "unknown command" "$cmd" frobnicate
done

say "usage errors exit 2"
fails 2 "which command" 
fails 1 "nexd is not running" nexd --unix-socket "$TMP/no-agent.sock" status
fails 2 "unknown command" nexd --unix-socket "$TMP/no-agent.sock" frobnicate
fails 2 "unknown command" bogus
fails 2 "unknown option" --bogus org list
fails 2 "unknown option" org list --bogus
fails 2 "unknown output format" -o yaml org list
fails 2 "needs a value" org list --service-url
fails 2 "takes one NAME" org create
fails 2 "takes one NAME" org create a b
fails 2 "needs --org" token create
fails 2 "not a duration" reg-key create --expires 2y
fails 2 "not a duration" reg-key create --expires 0
fails 2 "longer than 365d" reg-key create --expires 366d
fails 2 "contradict each other" reg-key create --single-use --reusable
fails 2 "takes one ID" reg-key delete
fails 2 "takes one ID" device get
fails 2 "takes one ID" device delete a b
fails 2 "is not on or off" device update x --exit-node-client maybe
fails 2 "nothing to change" device update x
fails 2 "takes no arguments" device list extra
fails 2 "is not auto or admin" org create x --exit-node-approval maybe
fails 2 "is not auto or admin" org update x --exit-node-approval Auto
fails 2 "nothing to change" org update x
fails 2 "takes one NAME-OR-ID" org update --exit-node-approval auto
fails 2 "takes one ID" device approve
fails 2 "takes one ID" device unapprove a b
fails 2 "not a CIDR" device approve x --cidr nope
fails 2 "not canonical \(host bits set\); 203\.0\.113\.0/24 is" device approve x --cidr 203.0.113.2/24

# ---------------------------------------------------------------- nexctl nexd proxy

# fake_nexd MODE: a stand-in for nexd's control socket at $TMP/nexd.sock (one
# JSON request per connection, one reply, as src/control/control.h says).
# MODE "kernel" answers the proxy commands as a nexd without proxy mode does;
# MODE "proxy" keeps a rule list as nexd proxy does. Every request is logged,
# one a line, to $TMP/nexd.requests. Sets FAKE_PID.
cat >"$TMP/fake_nexd.py" <<'PY'
import json, os, socket, sys
mode, path, log = sys.argv[1], sys.argv[2], sys.argv[3]
rules = [{"direction": "ingress", "rule": "tcp:8080:127.0.0.1:80", "flows": 2, "total": 17, "refused": 1}]
def answer(cmd, args):
    if not cmd.startswith("proxy-"):
        return {"version": "0.1.0"} if cmd == "version" else None, "unexpected"
    if mode == "kernel":
        return None, "nexd is not running as a proxy (nexd proxy)"
    d, r = args.get("direction"), args.get("rule")
    if cmd == "proxy-list":
        return {"rules": rules, "socks5": "127.0.0.1:1080", "exit_node": False, "via_exit": True,
                "flows": 3}, None
    if cmd == "proxy-add":
        if r.startswith("tcp:8081:"):
            return None, "%s %s: 127.0.0.1:8081 is in use" % (d, r)
        if any(x["direction"] == d and x["rule"] == r for x in rules):
            return None, "the rule exists already"
        rules.append({"direction": d, "rule": r, "flows": 0, "total": 0, "refused": 0})
        return {"direction": d, "rule": r}, None
    for x in rules:
        if x["direction"] == d and x["rule"] == r:
            rules.remove(x)
            return {}, None
    return None, "no such rule: %s %s" % (d, r)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
s.listen(8)
while True:
    c, _ = s.accept()
    buf = b""
    while not buf.endswith(b"\n"):
        b = c.recv(4096)
        if not b:
            break
        buf += b
    req = json.loads(buf)
    with open(log, "a") as f:
        f.write(json.dumps(req, sort_keys=True) + "\n")
    res, err = answer(req["command"], req.get("args", {}))
    rep = {"version": 1, "ok": True, "result": res} if err is None else {"version": 1, "ok": False, "error": err}
    c.sendall((json.dumps(rep) + "\n").encode())
    c.close()
PY
fake_nexd() {
	local i
	rm -f "$TMP/nexd.sock" "$TMP/nexd.requests"
	touch "$TMP/nexd.requests"
	printf '[+] fake_nexd.py %s %s\n' "$1" "$TMP/nexd.sock" >&2
	python3 "$TMP/fake_nexd.py" "$1" "$TMP/nexd.sock" "$TMP/nexd.requests" &
	FAKE_PID=$!
	STARTED+=("$FAKE_PID")
	for i in $(seq 1 100); do
		[ -S "$TMP/nexd.sock" ] && return 0
		kill -0 "$FAKE_PID" 2>/dev/null || fail "fake_nexd.py exited at start"
		sleep 0.05
	done
	fail "fake_nexd.py did not listen"
}
fake_stop() {
	printf '[+] kill %s (fake_nexd.py)\n' "$FAKE_PID" >&2
	kill "$FAKE_PID"
	wait "$FAKE_PID" 2>/dev/null || true
}
# requests N: the stand-in got N requests so far.
requests() {
	local n
	n=$(grep -c '' "$TMP/nexd.requests" || true)
	[ "$n" -eq "$1" ] || fail "expected $1 requests to nexd, got $n: $(cat "$TMP/nexd.requests")"
	ok_line "$1 requests to nexd"
}
# last_request FILTER: the latest request satisfies the jq filter.
last_request() {
	tail -n 1 "$TMP/nexd.requests" | jq -e "$1" >/dev/null ||
		fail "jq '$1' is false on the request: $(tail -n 1 "$TMP/nexd.requests")"
	ok_line "request: jq $1"
}
S=(nexd --unix-socket "$TMP/nexd.sock")

say "nexctl nexd proxy: usage, and RULE checked before anything is sent (exit 2)"
ok nexd --help
has 'proxy list\|add-ingress RULE\|add-egress RULE\|remove ingress\|egress RULE'
has 'except the socket of nexd proxy'
ok nexd proxy --help
has '^usage: nexctl \[global flags\] nexd \[--unix-socket PATH\] proxy list \| add-ingress RULE \| add-egress RULE \| remove ingress\|egress RULE$'
has '^RULE is PROTO:PORT:DEST_IP:DEST_PORT'
fake_nexd proxy
fails 2 "which of list, add-ingress, add-egress or remove" "${S[@]}" proxy
fails 2 "unknown proxy command \"frobnicate\"" "${S[@]}" proxy frobnicate
fails 2 "proxy list takes no arguments" "${S[@]}" proxy list extra
fails 2 "takes one RULE" "${S[@]}" proxy add-ingress
fails 2 "takes one RULE" "${S[@]}" proxy add-egress tcp:1:10.0.0.1:1 tcp:2:10.0.0.1:2
fails 2 "ingress or egress, and one RULE" "${S[@]}" proxy remove ingress
fails 2 "\"sideways\" is not ingress or egress" "${S[@]}" proxy remove sideways tcp:80:10.0.0.1:80
fails 2 "\"Ingress\" is not ingress or egress" "${S[@]}" proxy remove Ingress tcp:80:10.0.0.1:80
fails 2 "^nexctl: ingress tcp:0:1\.2\.3\.4:5: port must be 1 to 65535$" "${S[@]}" proxy add-ingress tcp:0:1.2.3.4:5
fails 2 "^nexctl: egress tcp:8080:1\.2\.3\.4:0: destination port must be 1 to 65535$" "${S[@]}" proxy add-egress tcp:8080:1.2.3.4:0
fails 2 "port must not have leading zeros" "${S[@]}" proxy add-egress tcp:080:1.2.3.4:80
fails 2 "protocol must be tcp or udp" "${S[@]}" proxy add-egress TCP:8080:1.2.3.4:80
fails 2 "^nexctl: ingress sctp:80:10\.0\.0\.1:80: " "${S[@]}" proxy remove ingress sctp:80:10.0.0.1:80
fails 2 "^nexctl: egress tcp:80:224\.0\.0\.1:80: " "${S[@]}" proxy add-egress tcp:80:224.0.0.1:80
fails 2 "^nexctl: egress tcp:80:2001:db8::1:80: " "${S[@]}" proxy add-egress tcp:80:2001:db8::1:80
fails 2 "^usage: nexctl \[global flags\] nexd \[--unix-socket PATH\] proxy " "${S[@]}" proxy add-ingress tcp:0:1.2.3.4:5
fails 2 "^usage:" "${S[@]}" proxy list --bogus
requests 0

say "nexctl nexd proxy against nexd proxy (a stand-in for its control socket)"
ok "${S[@]}" proxy list
lines 5
has '^DIRECTION +RULE +FLOWS +TOTAL +REFUSED$'
has '^ingress +tcp:8080:127\.0\.0\.1:80 +2 +17 +1$'
has '^socks5: 127\.0\.0\.1:1080$'
has '^exit node: off$'
has '^through an exit node: yes$'
OUT=$(head -n 2 <<<"$OUT") # the table, without the three lines under it
aligned
last_request '.command == "proxy-list" and .version == 1'
ok "${S[@]}" proxy list -o json
jqe '.rules[0] == {"direction": "ingress", "rule": "tcp:8080:127.0.0.1:80", "flows": 2, "total": 17, "refused": 1}'
jqe '.socks5 == "127.0.0.1:1080" and .exit_node == false and .via_exit == true and .flows == 3'
ok "${S[@]}" proxy add-egress udp:5353:[2001:DB8::53]:53
lines 1
has '^added egress udp:5353:\[2001:db8::53\]:53$'
last_request '.command == "proxy-add" and .args == {"direction": "egress", "rule": "udp:5353:[2001:db8::53]:53"}'
ok -o json-compact "${S[@]}" proxy add-ingress tcp:2222:10.1.2.3:22
lines 1
jqe '. == {"direction": "ingress", "rule": "tcp:2222:10.1.2.3:22"}'
fails 1 "^nexctl: the rule exists already$" "${S[@]}" proxy add-ingress tcp:2222:10.1.2.3:22
fails 1 "^nexctl: egress tcp:8081:100\.100\.0\.2:80: 127\.0\.0\.1:8081 is in use$" "${S[@]}" proxy add-egress tcp:8081:100.100.0.2:80
ok "${S[@]}" proxy list
lines 7
has '^egress +udp:5353:\[2001:db8::53\]:53 +0 +0 +0$'
has '^ingress +tcp:2222:10\.1\.2\.3:22 +0 +0 +0$'
OUT=$(head -n 4 <<<"$OUT")
aligned
ok "${S[@]}" proxy remove ingress tcp:2222:10.1.2.3:22
has '^removed ingress tcp:2222:10\.1\.2\.3:22$'
last_request '.command == "proxy-remove" and .args == {"direction": "ingress", "rule": "tcp:2222:10.1.2.3:22"}'
ok -o json "${S[@]}" proxy remove egress udp:5353:[2001:db8::53]:53
lines 0
fails 1 "^nexctl: no such rule: ingress tcp:2222:10\.1\.2\.3:22$" "${S[@]}" proxy remove ingress tcp:2222:10.1.2.3:22
requests 10
fake_stop

say "nexctl nexd proxy against a nexd that is not a proxy, or none"
fake_nexd kernel
fails 1 "^nexctl: nexd is not running as a proxy \(nexd proxy\)$" "${S[@]}" proxy list
fails 1 "^nexctl: nexd is not running as a proxy \(nexd proxy\)$" "${S[@]}" proxy add-ingress tcp:8080:127.0.0.1:80
fails 1 "^nexctl: nexd is not running as a proxy \(nexd proxy\)$" -o json "${S[@]}" proxy remove egress tcp:8080:127.0.0.1:80
requests 3
fake_stop
fails 1 "nexd is not running \(no agent listening on $TMP/nexd.sock\)" "${S[@]}" proxy list
fails 1 "nexd is not running \(no agent listening" "${S[@]}" proxy add-egress tcp:8080:100.100.0.2:80

say "no server or no token: a clear message, exit 1"
unset NEXCTL_SERVICE_URL NEXCTL_TOKEN
fails 1 "no API server" org list
fails 1 "no token" --service-url http://127.0.0.1:9 org list
fails 1 "bad service URL" --service-url ftp://127.0.0.1 --token x org list
fails 1 "spaces or control" --service-url http://127.0.0.1:9 --token 'a b' org list
fails 1 "cannot open the token file" --service-url http://127.0.0.1:9 --token-file "$TMP/none" org list

# ---------------------------------------------------------------- plain HTTP

say "nexapi over plain HTTP on 127.0.0.1"
api_start
URL=http://127.0.0.1:$PORT
cp "$TMP/db.admin-token" "$TMP/admin.token"
chmod 0600 "$TMP/admin.token"
A=(--service-url "$URL" --token-file "$TMP/admin.token")

say "org list and org create"
ok "${A[@]}" org list
lines 2
has '^NAME +PREFIX +PREFIX6 +ID +CREATED +EXIT-NODE-APPROVAL$'
has '^default +100\.100\.0\.0/16 +- +[0-9a-f-]{36} +20[0-9-]+T[0-9:]+Z +admin$'
aligned
ok "${A[@]}" org list -o json
jqe 'length == 1 and .[0].name == "default" and .[0].prefix == "100.100.0.0/16"'
ok "${A[@]}" org create acme --prefix 100.100.16.0/20
lines 2
has '^acme +100\.100\.16\.0/20 +- '
aligned
ok "${A[@]}" -o json org create beta
jqe '.name == "beta" and .prefix == "100.100.0.0/16" and (.id | length) == 36 and .exit_node_approval == "admin"'
ok "${A[@]}" org create gamma -o json-compact --exit-node-approval auto
lines 1
jqe '.name == "gamma" and .exit_node_approval == "auto"'
fails 1 "HTTP 409" "${A[@]}" org create acme
fails 1 "HTTP 400" "${A[@]}" org create 'Bad Name'
fails 1 "HTTP 400" "${A[@]}" org create delta --prefix 10.0.0.0/33
ok "${A[@]}" org list
lines 5
aligned

say "token create prints the token alone"
ok "${A[@]}" token create --org acme
lines 1
has '^nxo_[0-9a-f]{16}_[A-Za-z0-9_-]+$'
ACME_TOKEN=$OUT
ok "${A[@]}" token create --org beta -o json
jqe '.organization == "beta" and (.token | startswith("nxo_")) and (.id | length) > 0'
fails 1 "HTTP 404" "${A[@]}" token create --org nosuch
printf '%s\n' "$ACME_TOKEN" >"$TMP/acme.token"
chmod 0600 "$TMP/acme.token"
B=(--service-url "$URL" --token-file "$TMP/acme.token")
ok "${B[@]}" org list -o json
jqe 'length == 1 and .[0].name == "acme"'

say "token list, revoke, expiry; whoami"
ok "${A[@]}" token create --org acme --expires 1h -o json
jqe '.organization == "acme" and (.expires_at | type) == "string"'
SHORT_ID=$(jq -r .id <<<"$OUT")
fails 2 "not a duration" token create --org acme --expires 0
ok "${A[@]}" token list
has '^ID +ORGANIZATION +CREATED +EXPIRES$'
has ' acme +20[0-9TZ:-]+ +never$'
has "^$SHORT_ID +acme +20[0-9TZ:-]+ +20[0-9TZ:-]+$"
aligned
ok "${B[@]}" token list -o json
jqe 'all(.[]; .organization == "acme") and all(.[]; has("token") | not)'
ok "${B[@]}" whoami
has '^kind: organization$'
has '^organization: acme$'
ok "${A[@]}" whoami -o json
jqe '.kind == "admin" and .expires_at == null'
ok "${B[@]}" token revoke "$SHORT_ID"
has "^organization token $SHORT_ID revoked$"
fails 1 "HTTP 404" "${B[@]}" token revoke "$SHORT_ID"
fails 2 "takes one ID" token revoke
fails 1 "HTTP 403" "${B[@]}" token create --org acme

say "reg-key create prints the key alone; list; delete"
ok "${A[@]}" reg-key create --reusable --expires never
lines 1
has '^nxr_[0-9a-f]{16}_[A-Za-z0-9_-]+$'
KEY_DEFAULT=$OUT
ok "${A[@]}" reg-key create --org acme --single-use --expires 1h -o json
jqe '.organization == "acme" and .single_use == true and (.expires_at | type) == "string" and (.key | startswith("nxr_"))'
KEY_ACME_ONCE=$(jq -r .key <<<"$OUT")
ok "${B[@]}" reg-key create --expires 90s
has '^nxr_'
KEY_ACME=$OUT
ok "${A[@]}" reg-key create -o json
jqe '.organization == "default" and .single_use == true and (.expires_at | fromdateiso8601) - now > 86000'
KEY_DEFAULT_2_ID=$(jq -r .id <<<"$OUT")
fails 1 "HTTP 404" "${B[@]}" reg-key create --org default
ok "${A[@]}" reg-key list
lines 5
has '^ID +ORGANIZATION +SINGLE-USE +USED +REVOKED +EXPIRES +CREATED +AUTO-APPROVE$'
has ' acme +yes +no +no +20'
has ' default +no +no +no +never +20'
aligned
ok "${A[@]}" reg-key list -o json
jqe 'length == 4 and all(.[]; has("key") | not)'
ok "${A[@]}" reg-key list --org acme -o json
jqe 'length == 2 and all(.[]; .organization == "acme")'
ok "${B[@]}" reg-key list -o json
jqe 'length == 2'
ok "${A[@]}" reg-key delete "$KEY_DEFAULT_2_ID"
has "^registration key $KEY_DEFAULT_2_ID revoked$"
ok "${A[@]}" -o json reg-key delete "$KEY_DEFAULT_2_ID"
lines 0
ok "${A[@]}" reg-key list --org default -o json
jqe "map(select(.id == \"$KEY_DEFAULT_2_ID\"))[0].revoked == true"
fails 1 "HTTP 404" "${A[@]}" reg-key delete 0000000000000000
fails 1 "HTTP 404" "${B[@]}" reg-key delete "$KEY_DEFAULT_2_ID"

say "devices registered with curl (as nexd will)"
register "$KEY_DEFAULT" alpha '["0.0.0.0/0"]'
[ "$STATUS" == 201 ] || fail "register alpha: $STATUS $(cat "$TMP/reg")"
ID_ALPHA=$DEV_ID
[ "$DEV_IP" == 100.100.0.1 ] || fail "alpha got $DEV_IP"
register "$KEY_DEFAULT" bravo
ID_BRAVO=$DEV_ID
[ "$DEV_IP" == 100.100.0.2 ] || fail "bravo got $DEV_IP"
register "$KEY_ACME_ONCE" charlie
[ "$STATUS" == 201 ] || fail "register charlie: $STATUS"
ID_CHARLIE=$DEV_ID
[ "$DEV_IP" == 100.100.16.1 ] || fail "charlie got $DEV_IP"
register "$KEY_ACME_ONCE" delta
[ "$STATUS" == 401 ] || fail "a used single-use key registered: $STATUS"
register "$KEY_ACME" delta
[ "$STATUS" == 201 ] || fail "register delta: $STATUS"
ok_line "4 devices registered"

say "device list"
ok "${A[@]}" device list
lines 3
has '^ID +HOSTNAME +TUNNEL-IP +TUNNEL-IP6 +PUBLIC-KEY +ONLINE +EXIT-NODE +EXIT-CLIENT +LAST-SEEN$'
has "^$ID_ALPHA +alpha +100\.100\.0\.1 +- +[A-Za-z0-9+/]{43}= +yes +pending +off +20"
has "^$ID_BRAVO +bravo +100\.100\.0\.2 +- +[A-Za-z0-9+/]{43}= +yes +no +off +20"
aligned
ok "${A[@]}" device list -o json
jqe '(.revision | type) == "number" and (.devices | length) == 2'
jqe '[.devices[].hostname] == ["alpha", "bravo"] and .devices[0].advertise_cidrs == ["0.0.0.0/0"]'
jqe '.devices[0].approved_cidrs == [] and .devices[1].approved_cidrs == []'
ok "${A[@]}" device list --org acme -o json
jqe '[.devices[].tunnel_ip] == ["100.100.16.1", "100.100.16.2"]'
ok "${B[@]}" device list
lines 3
has " charlie "
has " delta "
aligned
fails 1 "HTTP 404" "${B[@]}" device list --org default
ok "${A[@]}" device list --org beta
lines 1
ok "${A[@]}" device list --org beta -o json
jqe '.devices == []'

say "device get"
ok "${A[@]}" device get "$ID_ALPHA"
has "^id +$ID_ALPHA$"
has '^hostname +alpha$'
has '^tunnel_ip +100\.100\.0\.1$'
has '^tunnel_ip6 +-$'
has '^endpoints +192\.0\.2\.10:51820 \(local\)$'
has '^advertise_cidrs +0\.0\.0\.0/0$'
has '^approved_cidrs +-$'
has '^exit_node +pending approval$'
has '^exit_node_client +off$'
has '^organization +default$'
aligned
ok "${A[@]}" device get "$ID_ALPHA" -o json
jqe ".id == \"$ID_ALPHA\" and .hostname == \"alpha\" and .online == true and .exit_node_client == false"
ok "${B[@]}" device get "$ID_CHARLIE" -o json
jqe '.organization == "acme"'
fails 1 "HTTP 404, not_found" "${B[@]}" device get "$ID_ALPHA"
fails 1 "HTTP 404" "${A[@]}" device get 00000000-0000-4000-8000-000000000000
fails 1 "HTTP 404" "${A[@]}" device get '../organizations'

say "device update"
ok "${A[@]}" device update "$ID_BRAVO" --exit-node-client on
has '^exit_node_client +on$'
aligned
ok "${A[@]}" device list
has "^$ID_BRAVO +bravo .* +on +20"
ok "${A[@]}" device update "$ID_BRAVO" --exit-node-client off --hostname bravo-2 -o json
jqe '.exit_node_client == false and .hostname == "bravo-2"'
ok "${B[@]}" device update "$ID_CHARLIE" --exit-node-client on -o json
jqe '.exit_node_client == true'
fails 1 "HTTP 404" "${B[@]}" device update "$ID_ALPHA" --exit-node-client on
fails 1 "HTTP 400" "${A[@]}" device update "$ID_BRAVO" --hostname 'no spaces'

say "device delete"
fails 1 "HTTP 404" "${B[@]}" device delete "$ID_ALPHA"
ok "${A[@]}" device delete "$ID_BRAVO"
has "^device $ID_BRAVO deleted$"
fails 1 "not_found" "${A[@]}" device get "$ID_BRAVO"
fails 1 "not_found" "${A[@]}" device delete "$ID_BRAVO"
ok "${B[@]}" -o json device delete "$ID_CHARLIE"
lines 0
ok "${A[@]}" device list -o json
jqe '[.devices[].hostname] == ["alpha"]'

say "IPv6 tunnel addresses: org create --prefix6, TUNNEL-IP6"
fails 1 "HTTP 400" "${A[@]}" org create bad6 --prefix6 2001:db8:6464::1/64
fails 1 "HTTP 400" "${A[@]}" org create bad6 --prefix6 2001:db8::/48
fails 1 "HTTP 400" "${A[@]}" org create bad6 --prefix6 100.100.0.0/16
ok "${A[@]}" org create six --prefix 100.100.48.0/24 --prefix6 2001:DB8:6464::/64
lines 2
has '^six +100\.100\.48\.0/24 +2001:db8:6464::/64 +[0-9a-f-]{36} '
aligned
ok "${A[@]}" org list -o json
jqe 'map(select(.name == "six"))[0].prefix6 == "2001:db8:6464::/64" and map(select(.name == "acme"))[0].prefix6 == null'
ok "${A[@]}" reg-key create --org six
KEY_SIX=$OUT
register "$KEY_SIX" foxtrot
[ "$STATUS" == 201 ] || fail "register foxtrot: $STATUS"
ID_FOXTROT=$DEV_ID
ok "${A[@]}" device list --org six
lines 2
has "^$ID_FOXTROT +foxtrot +100\.100\.48\.1 +2001:db8:6464::6464:3001 +[A-Za-z0-9+/]{43}= "
aligned
ok "${A[@]}" device get "$ID_FOXTROT"
has '^tunnel_ip6 +2001:db8:6464::6464:3001$'
aligned
ok "${A[@]}" device get "$ID_FOXTROT" -o json
jqe '.tunnel_ip6 == "2001:db8:6464::6464:3001"'

say "exit-node approval: device approve/unapprove, reg-key --auto-approve, org update"
ok "${A[@]}" device approve "$ID_ALPHA"
has '^approved_cidrs +0\.0\.0\.0/0$'
has '^exit_node +yes$'
aligned
ok "${A[@]}" device list
has "^$ID_ALPHA +alpha .* +yes +yes +off +20"
ok "${A[@]}" device unapprove "$ID_ALPHA" --cidr 0.0.0.0/0 -o json
jqe '.approved_cidrs == [] and .advertise_cidrs == ["0.0.0.0/0"]'
ok "${A[@]}" device list
has "^$ID_ALPHA +alpha .* +yes +pending +off +20"
ok "${A[@]}" device approve "$ID_ALPHA" --cidr 0.0.0.0/0 -o json-compact
lines 1
jqe '.approved_cidrs == ["0.0.0.0/0"]'
fails 1 "is not advertised by device $ID_ALPHA \(HTTP 400" "${A[@]}" device approve "$ID_ALPHA" --cidr 198.51.100.0/24
ok "${A[@]}" device get "$ID_ALPHA" -o json
jqe '.approved_cidrs == ["0.0.0.0/0"]'
fails 1 "HTTP 404" "${B[@]}" device approve "$ID_ALPHA"
fails 1 "HTTP 404" "${A[@]}" device unapprove 00000000-0000-4000-8000-000000000000
ok "${A[@]}" reg-key create --org beta --auto-approve -o json
jqe '.organization == "beta" and .auto_approve == true'
KEY_BETA_AUTO=$(jq -r .key <<<"$OUT")
register "$KEY_BETA_AUTO" hotel '["0.0.0.0/0", "203.0.113.0/24"]'
[ "$STATUS" == 201 ] || fail "register hotel: $STATUS $(cat "$TMP/reg")"
ID_HOTEL=$DEV_ID
HOTEL_TOKEN=$(jq -r .device_token "$TMP/reg")
jq -e '.device.approved_cidrs == ["0.0.0.0/0", "203.0.113.0/24"]' "$TMP/reg" >/dev/null ||
	fail "an auto-approve key did not approve: $(cat "$TMP/reg")"
ok "${A[@]}" device list --org beta
has "^$ID_HOTEL +hotel .* +yes +yes +off +20"
ok "${A[@]}" reg-key list --org beta
has ' beta +yes +yes +no +20[0-9TZ:-]+ +20[0-9TZ:-]+ +yes$'
aligned
fails 1 "HTTP 403" --service-url "$URL" --token "$HOTEL_TOKEN" device approve "$ID_HOTEL"
fails 1 "HTTP 403" --service-url "$URL" --token "$HOTEL_TOKEN" device unapprove "$ID_HOTEL"
ok "${A[@]}" org update acme --exit-node-approval auto
lines 2
has '^acme +100\.100\.16\.0/20 +- +[0-9a-f-]{36} +20[0-9TZ:-]+ +auto$'
aligned
ok "${B[@]}" org update acme --exit-node-approval admin -o json
jqe '.name == "acme" and .exit_node_approval == "admin"'
ACME_ID=$(jq -r .id <<<"$OUT")
ok "${A[@]}" org update "$ACME_ID" --exit-node-approval admin -o json
jqe '.name == "acme"'
fails 1 "HTTP 404" "${B[@]}" org update default --exit-node-approval auto
fails 1 "HTTP 404" "${A[@]}" org update nosuch --exit-node-approval auto

say "bad tokens"
fails 1 "HTTP 401" --service-url "$URL" --token nxa_0000000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA org list
fails 1 "HTTP 401" --service-url "$URL" --token garbage device list
fails 1 "HTTP 403" --service-url "$URL" --token "$KEY_DEFAULT" device list -o json
printf '\n' >"$TMP/empty.token"
chmod 0600 "$TMP/empty.token"
fails 1 "is empty" --service-url "$URL" --token-file "$TMP/empty.token" org list
fails 1 "not both" --service-url "$URL" --token x --token-file "$TMP/admin.token" org list

say "token file readable by others: refused"
cp "$TMP/admin.token" "$TMP/open.token"
chmod 0644 "$TMP/open.token"
fails 1 "can be read or changed by other users .mode 0644.: chmod 600 it" --service-url "$URL" \
	--token-file "$TMP/open.token" org list -o json
# a token file without a trailing newline works as well
printf '%s' "$ACME_TOKEN" >"$TMP/acme2.token"
chmod 0600 "$TMP/acme2.token"
ok --service-url "$URL" --token-file "$TMP/acme2.token" org list -o json
jqe '.[0].name == "acme"'

say "NEXCTL_SERVICE_URL and NEXCTL_TOKEN"
NEXCTL_SERVICE_URL=$URL NEXCTL_TOKEN=$ACME_TOKEN nx device list -o json
[ "$RC" -eq 0 ] || fail "env: exit $RC: $ERR"
jqe '[.devices[].hostname] == ["delta"]'
# flags win over the environment
NEXCTL_SERVICE_URL=http://127.0.0.1:9 NEXCTL_TOKEN=$ACME_TOKEN nx --service-url "$URL" org list -o json
[ "$RC" -eq 0 ] || fail "flag over env: exit $RC: $ERR"
NEXCTL_SERVICE_URL=$URL NEXCTL_TOKEN=$ACME_TOKEN nx --token-file "$TMP/admin.token" org list -o json
jqe 'length == 5'
NEXCTL_SERVICE_URL=$URL NEXCTL_TOKEN=bogus nx org list
[ "$RC" -eq 1 ] || fail "a bad NEXCTL_TOKEN was not refused"
ok_line "env vars"

say "server down: a clear message"
api_stop
fails 1 "cannot connect to http://127.0.0.1:$PORT" "${A[@]}" org list
fails 1 "cannot connect" "${A[@]}" device list -o json

# ---------------------------------------------------------------- TLS

say "TLS with a CA made here"
CA_SUBJ=/CN=nexctl-e2e-ca
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj "$CA_SUBJ" \
	-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
	-keyout "$TMP/ca.key" -out "$TMP/ca.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=127.0.0.1 \
	-keyout "$TMP/srv.key" -out "$TMP/srv.csr" 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' \
	>"$TMP/srv.ext"
openssl x509 -req -in "$TMP/srv.csr" -CA "$TMP/ca.pem" -CAkey "$TMP/ca.key" -CAcreateserial \
	-days 2 -extfile "$TMP/srv.ext" -out "$TMP/srv.pem" 2>/dev/null
# another CA, that did not sign the server's certificate
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=other-ca \
	-keyout "$TMP/other.key" -out "$TMP/other.pem" 2>/dev/null
ok_line "CA and server certificate made"

# the same database: everything made above is still there
api_start --tls-cert "$TMP/srv.pem" --tls-key "$TMP/srv.key"
URL=https://127.0.0.1:$PORT
CURL_TLS=(--cacert "$TMP/ca.pem")
T=(--service-url "$URL" --token-file "$TMP/admin.token" --ca-cert "$TMP/ca.pem")
ok "${T[@]}" org list
lines 6
aligned
ok "${T[@]}" org list -o json
jqe '[.[].name] == ["acme", "beta", "default", "gamma", "six"]'
ok "${T[@]}" device list
has "^$ID_ALPHA +alpha +100\.100\.0\.1 "
register "$KEY_DEFAULT" echo
[ "$STATUS" == 201 ] || fail "register over TLS: $STATUS"
ID_ECHO=$DEV_ID
ok "${T[@]}" device list -o json
jqe '[.devices[].hostname] == ["alpha", "echo"] and .devices[1].tunnel_ip == "100.100.0.2"'
ok "${T[@]}" device get "$ID_ECHO"
has '^hostname +echo$'
ok "${T[@]}" device update "$ID_ECHO" --exit-node-client on -o json
jqe '.exit_node_client == true'
ok "${T[@]}" token create --org gamma
has '^nxo_'
ok "${T[@]}" reg-key create --single-use
has '^nxr_'
ok "${T[@]}" reg-key list -o json
jqe 'length == 7'
ok "${T[@]}" device delete "$ID_ECHO"
ok --service-url "https://localhost:$PORT" --token-file "$TMP/admin.token" --ca-cert "$TMP/ca.pem" org list
lines 6
NEXCTL_SERVICE_URL=$URL NEXCTL_TOKEN=$ACME_TOKEN nx --ca-cert "$TMP/ca.pem" device list -o json
[ "$RC" -eq 0 ] || fail "env over TLS: exit $RC: $ERR"
jqe '[.devices[].hostname] == ["delta"]'

say "TLS errors"
fails 1 "not trusted" --service-url "$URL" --token-file "$TMP/admin.token" org list
fails 1 "not trusted" --service-url "$URL" --token-file "$TMP/admin.token" --ca-cert "$TMP/other.pem" org list
fails 1 "cannot read the CA file" --service-url "$URL" --token-file "$TMP/admin.token" --ca-cert "$TMP/none.pem" org list
printf 'not a certificate\n' >"$TMP/junk.pem"
fails 1 "TLS: cannot use the CA file|not trusted" --service-url "$URL" --token-file "$TMP/admin.token" --ca-cert "$TMP/junk.pem" org list
fails 1 "HTTP 401" --service-url "$URL" --token bogus --ca-cert "$TMP/ca.pem" org list
# plain HTTP to a TLS port: an error, not a hang or a crash
fails 1 "." --service-url "http://127.0.0.1:$PORT" --token-file "$TMP/admin.token" org list

say "stop"
api_stop
fails 1 "cannot connect" "${T[@]}" org list
for p in "${STARTED[@]}"; do
	if kill -0 "$p" 2>/dev/null; then fail "process $p still runs"; fi
done
ok_line "every nexapi started was stopped"
