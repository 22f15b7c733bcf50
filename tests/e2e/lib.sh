# Helpers for the end-to-end tests, sourced by tests/e2e/test_*.sh, bench/
# and scripts/demo.sh. In the style of WireGuard's netns.sh: every namespace,
# interface and socket is named per run (prefix "nx$$"), every command that
# changes state is printed before it runs (pp), every daemon is started from
# here with its PID recorded and is stopped by PID, and `cleanup` (run on
# EXIT) removes everything this run created, then checks that nothing is left.
#
#   ROOT   the repository root (default: two levels above this file)
#   BUILD  the build directory, relative to ROOT or absolute (default: build)
#   NEXWG  the nexwg binary (default: $ROOT/$BUILD/nexwg)
#   WGGO   the wireguard-go binary (default: wireguard-go from PATH)
#   NX_RESULT_LINE=0  no PASS/FAILED line at the end (for the demo)
#
# Usage: source it, then `ns_add a; ns_add b; veth_add a eth0 b eth0; ...`.
# Namespace names given to the helpers are short ("a"); the real name is
# "$NX-a". `n a CMD...` runs CMD inside namespace a.

set -eEuo pipefail

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in
/*) BUILDDIR=$BUILD ;;
*) BUILDDIR=$ROOT/$BUILD ;;
esac
NEXWG=${NEXWG:-$BUILDDIR/nexwg}
WGGO=${WGGO:-$(command -v wireguard-go || echo /usr/bin/wireguard-go)}
TOOLS=$BUILDDIR/tools

NX=nx$$                       # prefix of every object of this run
WG_RUNDIR=/var/run/wireguard
TMPD=$(mktemp -d "/tmp/$NX.XXXXXX")
chmod 0700 "$TMPD"

declare -a NX_NAMESPACES=()   # real names of the namespaces we created
declare -a NX_PIDS=()         # daemons we started (children or daemonized)
declare -a NX_SOCKETS=()      # UAPI sockets that our daemons may leave
declare -A NX_PIDNAME=()      # pid -> label, for messages
declare -A WG_KIND=()         # interface -> nexwg | wireguard-go
declare -A WG_PID=()          # interface -> pid of its daemon
declare -A WG_NS=()           # interface -> short namespace name
NX_FAILED=0
NX_VETH_SEQ=0

# ---------------------------------------------------------------- printing

# pp CMD...: print the command, then run it.
pp() {
	printf '[+] %s\n' "$*" >&2
	"$@"
}

# say TEXT: a step of the test, for the log.
say() {
	printf '\n== %s\n' "$*" >&2
}

# fail TEXT: report a failed check and stop the test (cleanup still runs).
fail() {
	printf 'FAIL: %s\n' "$*" >&2
	NX_FAILED=1
	exit 1
}

# ---------------------------------------------------------------- asserts

# assert_eq WHAT EXPECTED ACTUAL
assert_eq() {
	[ "$2" == "$3" ] || fail "$1: expected '$2', got '$3'"
	printf '    ok: %s = %s\n' "$1" "$3" >&2
}

# assert_ne WHAT UNEXPECTED ACTUAL
assert_ne() {
	[ "$2" != "$3" ] || fail "$1: must not be '$2'"
	printf '    ok: %s = %s (not %s)\n' "$1" "$3" "$2" >&2
}

# assert_ge WHAT MIN ACTUAL / assert_le WHAT MAX ACTUAL (numbers, may be decimals)
assert_ge() {
	awk -v a="$3" -v b="$2" 'BEGIN { exit !(a + 0 >= b + 0) }' ||
		fail "$1: expected >= $2, got $3"
	printf '    ok: %s = %s (>= %s)\n' "$1" "$3" "$2" >&2
}
assert_le() {
	awk -v a="$3" -v b="$2" 'BEGIN { exit !(a + 0 <= b + 0) }' ||
		fail "$1: expected <= $2, got $3"
	printf '    ok: %s = %s (<= %s)\n' "$1" "$3" "$2" >&2
}

# assert_ok WHAT CMD...: CMD must succeed.
assert_ok() {
	local what=$1
	shift
	printf '[+] %s\n' "$*" >&2
	"$@" || fail "$what: '$*' failed (exit $?)"
	printf '    ok: %s\n' "$what" >&2
}

# assert_fails WHAT CMD...: CMD must fail.
assert_fails() {
	local what=$1
	shift
	printf '[+] (must fail) %s\n' "$*" >&2
	if "$@"; then
		fail "$what: '$*' succeeded but must not"
	fi
	printf '    ok: %s\n' "$what" >&2
}

# assert_contains WHAT NEEDLE HAYSTACK
assert_contains() {
	case "$3" in
	*"$2"*) printf '    ok: %s contains %s\n' "$1" "$2" >&2 ;;
	*) fail "$1: '$2' not found in: $3" ;;
	esac
}

# wait_for SECONDS CMD...: poll CMD every 0.1 s until it succeeds; 1 on timeout.
wait_for() {
	local limit=$1 i
	shift
	for ((i = 0; i < limit * 10; i++)); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

# ---------------------------------------------------------------- namespaces

# ns NAME: the real name of namespace NAME.
ns() { printf '%s-%s' "$NX" "$1"; }

# n NAME CMD...: run CMD in namespace NAME.
n() {
	local name=$1
	shift
	ip netns exec "$NX-$name" "$@"
}

# ns_add NAME: a fresh namespace with lo up.
ns_add() {
	local real=$NX-$1
	pp ip netns add "$real"
	NX_NAMESPACES+=("$real")
	ip -n "$real" link set lo up
	# no IPv6 duplicate address detection delays in our tests
	n "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# veth_add NS1 IF1 NS2 IF2: a veth pair between two namespaces, both up.
veth_add() {
	local tmp=${NX}v$((NX_VETH_SEQ++))
	pp ip link add "$tmp" netns "$NX-$1" type veth peer name "${tmp}p" netns "$NX-$3"
	ip -n "$NX-$1" link set "$tmp" name "$2"
	ip -n "$NX-$3" link set "${tmp}p" name "$4"
	ip -n "$NX-$1" link set "$2" up
	ip -n "$NX-$3" link set "$4" up
}

# bridge_add NS BR: a bridge inside NS, up.
bridge_add() {
	pp ip -n "$NX-$1" link add "$2" type bridge
	ip -n "$NX-$1" link set "$2" up
}

# bridge_port NS BR IF: enslave IF (in NS) to bridge BR.
bridge_port() {
	pp ip -n "$NX-$1" link set "$3" master "$2"
}

# addr_add NS IF ADDR/LEN
addr_add() {
	case $3 in
	*:*) pp ip -n "$NX-$1" -6 addr add "$3" dev "$2" nodad ;;
	*) pp ip -n "$NX-$1" addr add "$3" dev "$2" ;;
	esac
}

# ---------------------------------------------------------------- daemons

# pid_alive PID: the process exists and is not a zombie.
pid_alive() {
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# track_pid PID LABEL: remember a daemon so that cleanup stops it.
track_pid() {
	NX_PIDS+=("$1")
	NX_PIDNAME[$1]=$2
}

# untrack_pid PID
untrack_pid() {
	local p out=()
	for p in "${NX_PIDS[@]}"; do
		[ "$p" == "$1" ] || out+=("$p")
	done
	NX_PIDS=("${out[@]}")
}

# bg_start LABEL NS CMD...: run CMD in namespace NS in the background, its
# output in $TMPD/LABEL.log; sets BG_PID.
bg_start() {
	local label=$1 name=$2
	shift 2
	printf '[+] (%s, background) %s\n' "$label" "$*" >&2
	ip netns exec "$NX-$name" "$@" >"$TMPD/$label.log" 2>&1 &
	BG_PID=$!
	track_pid "$BG_PID" "$label"
}

# stop_pid PID [SECONDS]: SIGTERM, wait up to SECONDS (default 5), then
# SIGKILL. Returns 0 if the process ended on SIGTERM, 1 if it needed SIGKILL.
# STOP_RC: its exit status when it was our child (else 0).
stop_pid() {
	local pid=$1 limit=${2:-5} rc=0
	STOP_RC=0
	if pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null || true
		if ! wait_for "$limit" eval '! pid_alive '"$pid"; then
			printf 'warning: %s (pid %s) ignored SIGTERM for %ss, killing\n' \
				"${NX_PIDNAME[$pid]:-?}" "$pid" "$limit" >&2
			kill -KILL "$pid" 2>/dev/null || true
			wait_for 5 eval '! pid_alive '"$pid" || true
			rc=1
		fi
	fi
	# reap it if it is our child
	wait "$pid" 2>/dev/null || STOP_RC=$?
	untrack_pid "$pid"
	return $rc
}

# find_daemon EXE ARG: the pid of a process running EXE with last argument
# ARG (ARG is unique per run: our interface names carry $NX). Used for the
# daemons that wg-quick starts and that daemonize.
find_daemon() {
	local exe=$1 arg=$2 d cmd
	for d in /proc/[0-9]*; do
		cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
		case "$cmd" in
		"$exe $arg " | "$exe -f $arg " | "$exe --foreground $arg ")
			pid_alive "${d#/proc/}" && { echo "${d#/proc/}"; return 0; }
			;;
		esac
	done
	return 1
}

# ---------------------------------------------------------------- WireGuard

# wg_exe KIND: the binary of a WireGuard implementation.
wg_exe() {
	case $1 in
	nexwg) echo "$NEXWG" ;;
	wireguard-go) echo "$WGGO" ;;
	*) fail "unknown WireGuard kind '$1' (nexwg | wireguard-go)" ;;
	esac
}

# wg_ifname SUFFIX: an interface name unique to this run (<= 15 chars).
wg_ifname() {
	local name=$NX$1
	[ ${#name} -le 15 ] || fail "interface name $name too long"
	echo "$name"
}

# sock_exists IF
sock_exists() { [ -S "$WG_RUNDIR/$1.sock" ]; }

# wg_start KIND NS IF: start a WireGuard daemon of KIND in the foreground
# (backgrounded here) with interface IF in namespace NS; wait for its UAPI
# socket. Records the pid in WG_PID[IF].
wg_start() {
	local kind=$1 name=$2 ifname=$3 exe
	exe=$(wg_exe "$kind")
	[ -x "$exe" ] || fail "$kind binary $exe not found (build it first)"
	sock_exists "$ifname" && fail "socket $WG_RUNDIR/$ifname.sock exists before start"
	NX_SOCKETS+=("$WG_RUNDIR/$ifname.sock")
	bg_start "$kind-$ifname" "$name" env LOG_LEVEL=error "$exe" -f "$ifname"
	WG_KIND[$ifname]=$kind
	WG_PID[$ifname]=$BG_PID
	WG_NS[$ifname]=$name
	if ! wait_for 10 sock_exists "$ifname"; then
		cat "$TMPD/$kind-$ifname.log" >&2 || true
		fail "$kind: no UAPI socket $WG_RUNDIR/$ifname.sock after 10 s"
	fi
	wait_for 5 ip -n "$NX-$name" link show "$ifname" ||
		fail "$kind: no interface $ifname in $NX-$name"
}

# wg_stop IF: stop the daemon of IF by SIGTERM; it must end within 5 s,
# with exit status 0 (a sanitizer report at exit fails it too).
wg_stop() {
	local what="${WG_KIND[$1]} ($1, pid ${WG_PID[$1]})"
	stop_pid "${WG_PID[$1]}" || fail "$what did not end on SIGTERM within 5 s"
	[ "$STOP_RC" -eq 0 ] || fail "$what exited with status $STOP_RC after SIGTERM"
	printf '    ok: %s ended on SIGTERM with status 0\n' "$what" >&2
}

# sanitizer_reports: names of the daemon logs with a sanitizer report.
sanitizer_reports() {
	grep -lE 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' "$TMPD"/*.log 2>/dev/null || true
}

# wg_key NAME: a private key in $TMPD/NAME.key (0600) and its public key in
# $TMPD/NAME.pub; prints nothing. Keys: $(cat "$TMPD/NAME.pub").
wg_key() {
	(umask 077 && wg genkey >"$TMPD/$1.key")
	wg pubkey <"$TMPD/$1.key" >"$TMPD/$1.pub"
}
pub() { cat "$TMPD/$1.pub"; }
privfile() { echo "$TMPD/$1.key"; }

# wg_psk NAME: a preshared key in $TMPD/NAME.psk (0600).
wg_psk() {
	(umask 077 && wg genpsk >"$TMPD/$1.psk")
}

# wg_iface_up NS IF ADDR4 ADDR6 [MTU]: tunnel addresses, MTU (1420), up.
wg_iface_up() {
	addr_add "$1" "$2" "$3"
	addr_add "$1" "$2" "$4"
	pp ip -n "$NX-$1" link set "$2" mtu "${5:-1420}" up
}

# wg_show NS IF FIELD [PEERPUB]: one field of `wg show IF FIELD` (for a peer:
# the value after its key).
wg_show() {
	if [ $# -ge 4 ]; then
		n "$1" wg show "$2" "$3" | awk -v k="$4" '$1 == k { $1 = ""; sub(/^ /, ""); print }'
	else
		n "$1" wg show "$2" "$3"
	fi
}

# wg_handshake NS IF PEERPUB: latest handshake time of a peer (0 if none).
wg_handshake() {
	wg_show "$1" "$2" latest-handshakes "$3"
}

# wg_rx NS IF PEERPUB / wg_tx: bytes received from / sent to a peer.
wg_rx() { wg_show "$1" "$2" transfer "$3" | awk '{ print $1 }'; }
wg_tx() { wg_show "$1" "$2" transfer "$3" | awk '{ print $2 }'; }

# rss_kib PID: resident set size in KiB.
rss_kib() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# cpu_seconds PID: user + system CPU time of a process, in seconds.
cpu_seconds() {
	awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f\n", ($14 + $15) / hz }' "/proc/$1/stat"
}

# ---------------------------------------------------------------- traffic

# ping_ok NS DST [ARGS...]: a few pings must get through (ping waits up to
# 10 s for the first answer: the handshake comes first).
ping_ok() {
	local name=$1 dst=$2
	shift 2
	printf '[+] %s: ping %s %s\n' "$name" "$*" "$dst" >&2
	n "$name" ping -q -c 3 -i 0.2 -w 10 "$@" "$dst" >"$TMPD/ping.out" 2>&1 || {
		cat "$TMPD/ping.out" >&2
		fail "$name: ping $* $dst did not get through"
	}
	printf '    ok: %s\n' "$(grep -E 'packets transmitted' "$TMPD/ping.out")" >&2
}

# ping_fails NS DST [ARGS...]: no ping gets through within 3 s.
ping_fails() {
	local name=$1 dst=$2
	shift 2
	printf '[+] %s: ping %s %s (must fail)\n' "$name" "$*" "$dst" >&2
	if n "$name" ping -q -c 3 -i 0.5 -W 1 -w 3 "$@" "$dst" >"$TMPD/ping.out" 2>&1; then
		cat "$TMPD/ping.out" >&2
		fail "$name: ping $* $dst got through but must not"
	fi
	printf '    ok: %s\n' "$(grep -E 'packets transmitted' "$TMPD/ping.out" || echo no reply)" >&2
}

# ping_loss NS DST COUNT INTERVAL: loss in percent (integer) of COUNT pings.
ping_loss() {
	{ n "$1" ping -q -c "$3" -i "$4" -W 1 "$2" 2>&1 || true; } |
		awk '/packet loss/ { for (i = 1; i <= NF; i++) if ($i ~ /%$/) { sub(/%/, "", $i); print $i } }'
}

# iperf_server NS ADDR: an iperf3 server on ADDR port 5201; sets IPERF_PID.
iperf_server() {
	bg_start "iperf3-s-$1-$RANDOM" "$1" iperf3 -s -B "$2" -p 5201
	IPERF_PID=$BG_PID
	wait_for 5 n "$1" sh -c "ss -Htln | grep -q ':5201 '" ||
		fail "iperf3 server in $1 did not start"
}

# iperf_mbps NS SERVERADDR SECONDS [ARGS...]: run a TCP transfer from NS and
# print the receiver's rate in Mbit/s.
iperf_mbps() {
	local name=$1 dst=$2 secs=$3 out rate
	shift 3
	out=$TMPD/iperf.out
	printf '[+] %s: iperf3 -c %s -t %s %s\n' "$name" "$dst" "$secs" "$*" >&2
	if ! n "$name" timeout $((secs + 20)) iperf3 -c "$dst" -p 5201 -t "$secs" -f m "$@" >"$out" 2>&1; then
		cat "$out" >&2
		echo 0
		return 0
	fi
	rate=$(awk '/receiver/ { for (i = 1; i <= NF; i++) if ($i == "Mbits/sec") r = $(i - 1) } END { print r + 0 }' "$out")
	echo "$rate"
}

# ---------------------------------------------------------------- cleanup

cleanup() {
	local rc=$? pid name s left
	set +e
	trap - EXIT ERR INT TERM
	# daemons that daemonized (wg-quick, or a test that failed before it
	# found their pid): found by their unique interface name
	for s in "${NX_SOCKETS[@]}"; do
		s=$(basename "$s" .sock)
		for pid in $(find_daemon "$NEXWG" "$s") $(find_daemon "$WGGO" "$s"); do
			track_pid "$pid" "daemon for $s"
		done
	done
	for pid in "${NX_PIDS[@]}"; do
		stop_pid "$pid" 5 >/dev/null 2>&1
	done
	left=$(sanitizer_reports)
	if [ -n "$left" ]; then
		printf 'FAIL: sanitizer reports in: %s\n' "$left" >&2
		for s in $left; do grep -E -A20 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$s" | head -40 >&2; done
		[ $rc -ne 0 ] || rc=1
	fi
	# the daemons' own logs, when something went wrong
	if [ $rc -ne 0 ] && [ -d "$TMPD" ]; then
		for s in "$TMPD"/*.log; do
			[ -s "$s" ] || continue
			printf -- '--- %s (last lines)\n' "$(basename "$s")" >&2
			tail -n 15 "$s" >&2
		done
	fi
	for name in "${NX_NAMESPACES[@]}"; do
		ip netns del "$name" 2>/dev/null
	done
	for s in "${NX_SOCKETS[@]}"; do
		rm -f "$s"
	done
	rm -rf "$TMPD"
	# Nothing of this run may remain.
	left=$(ip netns list | awk -v p="$NX-" 'index($1, p) == 1 { print $1 }')
	if [ -n "$left" ]; then
		printf 'FAIL: namespaces left behind: %s\n' "$left" >&2
		[ $rc -ne 0 ] || rc=1
	fi
	left=$(ls "$WG_RUNDIR" 2>/dev/null | grep "^$NX" || true)
	if [ -n "$left" ]; then
		printf 'FAIL: sockets left behind: %s\n' "$left" >&2
		[ $rc -ne 0 ] || rc=1
	fi
	if [ "${NX_RESULT_LINE:-1}" == 1 ]; then
		if [ $rc -eq 0 ]; then
			printf '\nPASS\n' >&2
		else
			printf '\nFAILED (exit %d)\n' "$rc" >&2
		fi
	fi
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# With set -E, a failing command (set -e) says where it was.
trap 'printf "FAIL: command failed (exit %d) at %s:%d: %s\n" $? "${BASH_SOURCE[0]}" "$LINENO" "$BASH_COMMAND" >&2' ERR
