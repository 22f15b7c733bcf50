#!/usr/bin/env bash
# The life of a nexwg process, as wireguard-go's: `nexwg IFNAME` daemonizes
# and returns with the interface and UAPI socket ready; `-f` and
# WG_PROCESS_FOREGROUND=1 stay in the foreground; SIGTERM, SIGINT and
# deleting the interface (`ip link del`) each end it, with the socket and
# the interface gone; a second instance for a busy name fails and leaves
# the first one working.
#
# KIND=wireguard-go runs it with wireguard-go standing in for nexwg.
source "$(dirname "$0")/lib.sh"

KIND=${KIND:-nexwg}
exe=$(wg_exe "$KIND")
ns_add a
wg_key a

# gone IF PID WHAT [daemon]: the process ends within 5 s (our child: with
# status 0), its socket and interface go.
gone() {
	wait_for 5 eval "! pid_alive $2" || fail "$KIND (pid $2) still runs after $3"
	local rc=0
	wait "$2" 2>/dev/null || rc=$?
	if [ "${4:-child}" == child ]; then
		[ $rc -eq 0 ] || fail "$KIND (pid $2) exited with status $rc after $3"
		printf '    ok: process %s exited with status 0 after %s\n' "$2" "$3" >&2
	else
		printf '    ok: process %s exited after %s\n' "$2" "$3" >&2
	fi
	untrack_pid "$2"
	wait_for 5 eval "! sock_exists $1" || fail "$WG_RUNDIR/$1.sock left after $3"
	printf '    ok: socket removed\n' >&2
	wait_for 5 eval "! ip -n $(ns a) link show $1" || fail "interface $1 left after $3"
	printf '    ok: interface removed\n' >&2
}

say "$KIND -f, stopped by SIGTERM"
w=$(wg_ifname t)
wg_start "$KIND" a "$w"
pp n a wg set "$w" private-key "$(privfile a)" listen-port 51000
assert_eq "listen port" 51000 "$(wg_show a "$w" listen-port)"
pp kill -TERM "${WG_PID[$w]}"
gone "$w" "${WG_PID[$w]}" SIGTERM

say "$KIND -f, stopped by SIGINT"
w=$(wg_ifname i)
wg_start "$KIND" a "$w"
pp kill -INT "${WG_PID[$w]}"
gone "$w" "${WG_PID[$w]}" SIGINT

say "$KIND -f, ended by deleting its interface"
w=$(wg_ifname d)
wg_start "$KIND" a "$w"
pp n a wg set "$w" private-key "$(privfile a)" listen-port 51000
pp ip -n "$(ns a)" link del "$w"
gone "$w" "${WG_PID[$w]}" "ip link del"

say "WG_PROCESS_FOREGROUND=1 keeps $KIND in the foreground"
w=$(wg_ifname e)
NX_SOCKETS+=("$WG_RUNDIR/$w.sock")
bg_start "$KIND-$w" a env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error "$exe" "$w"
pid=$BG_PID
wait_for 10 sock_exists "$w" || fail "no socket for $w"
pid_alive "$pid" || fail "$KIND with WG_PROCESS_FOREGROUND=1 did not stay in the foreground"
printf '    ok: pid %s (our child) still runs\n' "$pid" >&2
pp kill -TERM "$pid"
gone "$w" "$pid" SIGTERM

say "$KIND IFNAME daemonizes, with the interface and socket ready when it returns"
w=$(wg_ifname z)
NX_SOCKETS+=("$WG_RUNDIR/$w.sock")
printf '[+] %s\n' "n a $exe $w" >&2
start=$(date +%s%N)
n a env LOG_LEVEL=error "$exe" "$w" >"$TMPD/daemon.log" 2>&1 || {
	cat "$TMPD/daemon.log" >&2
	fail "$KIND $w exited with $?"
}
ms=$((($(date +%s%N) - start) / 1000000))
printf '    ok: returned 0 after %s ms\n' "$ms" >&2
pid=$(find_daemon "$exe" "$w") || fail "no daemonized $KIND process for $w"
track_pid "$pid" "$KIND-$w (daemonized)"
sock_exists "$w" || fail "socket $WG_RUNDIR/$w.sock not there when $KIND returned"
ip -n "$(ns a)" link show "$w" >/dev/null || fail "interface $w not there when $KIND returned"
printf '    ok: socket and interface there; daemon pid %s\n' "$pid" >&2
pp n a wg set "$w" private-key "$(privfile a)" listen-port 51000
assert_eq "public key" "$(pub a)" "$(wg_show a "$w" public-key)"

say "a second $KIND for the same name fails and leaves the first working"
if n a env WG_PROCESS_FOREGROUND=1 LOG_LEVEL=error timeout 10 "$exe" "$w" >"$TMPD/second.log" 2>&1; then
	cat "$TMPD/second.log" >&2
	fail "a second $KIND for $w started"
fi
printf '    ok: the second instance failed\n' >&2
sock_exists "$w" || fail "the second instance removed the first one's socket"
assert_eq "first instance still answers" "$(pub a)" "$(wg_show a "$w" public-key)"
pid_alive "$pid" || fail "the first instance died"

pp kill -TERM "$pid"
gone "$w" "$pid" SIGTERM daemon
