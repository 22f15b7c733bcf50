#!/usr/bin/env bash
# The Debian packages (make deb, from the committed tree): nexodus-agent
# and nexodus-server hold the programs, units and man pages, each with
# the libraries it uses; they install on this machine; nexapi runs as its
# unit would (as the user the package made, state in /var/lib/nexapi;
# under systemd by the unit itself); remove keeps the database, purge
# removes it, and nothing of them is left.
set -eEuo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d /tmp/nx-deb-$$.XXXXXX)
INSTALLED=
APID=
fail() { printf 'FAIL: %s\n' "$*" >&2; exit 1; }
ok() { printf '    ok: %s\n' "$*" >&2; }
cleanup() {
	local rc=$?
	[ -n "$APID" ] && kill "$APID" 2>/dev/null && wait "$APID" 2>/dev/null || true
	[ -n "$INSTALLED" ] && dpkg -P nexodus-agent nexodus-server >/dev/null 2>&1 || true
	rm -rf "$T"
	if [ $rc -eq 0 ]; then echo PASS; else echo "FAIL (exit $rc)"; fi
	exit $rc
}
trap cleanup EXIT
if dpkg -s nexodus-agent >/dev/null 2>&1 || dpkg -s nexodus-server >/dev/null 2>&1; then
	fail "nexodus packages are installed on this machine already: not touching them"
fi

printf '\n== make deb\n' >&2
make -C "$ROOT" --no-print-directory deb BUILD="$T/b" >"$T/make.log" 2>&1 || { cat "$T/make.log" >&2; fail "make deb"; }
AGENT=$(ls "$T"/b/deb/nexodus-agent_*.deb)
SERVER=$(ls "$T"/b/deb/nexodus-server_*.deb)
for f in ./usr/bin/nexd ./usr/bin/nexctl ./usr/bin/nexwg ./lib/systemd/system/nexd.service \
	./lib/systemd/system/nexd@.service ./usr/share/man/man8/nexd.8.gz ./usr/share/man/man1/nexctl.1.gz; do
	dpkg-deb -c "$AGENT" | awk '{ print $6 }' | grep -qx -- "$f" || fail "nexodus-agent lacks $f"
done
for f in ./usr/bin/nexapi ./lib/systemd/system/nexapi.service ./usr/share/nexodus/web/app.js \
	./usr/share/man/man8/nexapi.8.gz; do
	dpkg-deb -c "$SERVER" | awk '{ print $6 }' | grep -qx -- "$f" || fail "nexodus-server lacks $f"
done
ok "the programs, units, man pages and web UI are in their packages"
deps=$(dpkg-deb -f "$AGENT" Depends)
case $deps in *libsqlite3* | *libgnutls*) fail "the agent depends on the server's libraries: $deps" ;; esac
ok "the agent's dependencies: $deps"

printf '\n== install\n' >&2
INSTALLED=yes
dpkg -i "$AGENT" "$SERVER" >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log" >&2; fail "dpkg -i"; }
getent passwd nexapi >/dev/null || fail "no user nexapi"
[ "$(/usr/bin/nexd --version)" = "nexd $(/usr/bin/nexapi --version | awk '{ print $2 }')" ] || fail "versions differ"
ok "installed: user nexapi, $(/usr/bin/nexapi --version)"
if systemctl is-enabled nexapi >/dev/null 2>&1; then fail "nexapi enabled on install"; fi

printf '\n== nexapi as its unit runs it\n' >&2
if [ "$(ps -o comm= -p 1)" = systemd ]; then
	systemctl start nexapi
	for i in $(seq 1 50); do curl -sf http://127.0.0.1:8080/healthz >/dev/null && break; sleep 0.1; done
	curl -sf http://127.0.0.1:8080/healthz >/dev/null || fail "the unit does not answer"
	systemctl stop nexapi
	ok "the unit started, answered, stopped"
else
	install -d -o nexapi -g nexapi -m 0700 /var/lib/nexapi   # StateDirectory=
	setpriv --reuid=nexapi --regid=nexapi --init-groups -- /usr/bin/nexapi --listen 127.0.0.1:0 --db /var/lib/nexapi/api.db >"$T/nexapi.log" 2>&1 &
	APID=$!
	for i in $(seq 1 50); do grep -q 'listening on' "$T/nexapi.log" && break; sleep 0.1; done
	port=$(grep -o 'listening on http://127.0.0.1:[0-9]*' "$T/nexapi.log" | sed 's/.*://')
	[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/healthz")" = 200 ] || fail "nexapi does not answer"
	[ "$(stat -c '%U %a' /var/lib/nexapi/api.db.admin-token)" = "nexapi 600" ] || fail "token file not nexapi's 0600"
	kill "$APID"
	wait "$APID" || fail "nexapi did not stop cleanly"
	APID=
	ok "nexapi ran as user nexapi on /var/lib/nexapi, answered, stopped cleanly"
fi
[ -s /var/lib/nexapi/api.db ] || fail "no database"

printf '\n== remove keeps the data, purge removes it\n' >&2
dpkg -r nexodus-agent nexodus-server >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log" >&2; fail "dpkg -r"; }
[ ! -e /usr/bin/nexd ] && [ ! -e /usr/bin/nexapi ] && [ ! -e /lib/systemd/system/nexapi.service ] || fail "files left after remove"
[ -s /var/lib/nexapi/api.db ] || fail "remove lost the database"
ok "removed: programs and units gone, the database kept"
dpkg -P nexodus-agent nexodus-server >"$T/dpkg.log" 2>&1 || { cat "$T/dpkg.log" >&2; fail "dpkg -P"; }
INSTALLED=
[ ! -e /var/lib/nexapi ] || fail "purge left /var/lib/nexapi"
ok "purged: /var/lib/nexapi gone"
