#!/usr/bin/env bash
# src/nexd/netlink.c against the kernel, through tests/tools/nltool, in a
# fresh namespace; what it does is compared with what ip(8) shows. Links
# (up, MTU, index), addresses (v4/v6 add, list, delete, duplicates), routes
# in tables 51820 and 19302 (dev, gateway, blackhole, metric), the main
# table's default route, the exit-node design's three policy rules for IPv4
# and IPv6 exactly as `ip rule` prints them, change notifications, and the
# leftover clean-up (delete by priority, flush by table), after which
# `ip rule`, `ip route show table all` and `ip addr` are exactly as before.
source "$(dirname "$0")/lib.sh"

NLTOOL=$TOOLS/nltool
[ -x "$NLTOOL" ] || fail "nltool not built ($NLTOOL)"

# nl ARGS...: nltool in namespace a, printed first
nl() {
	printf '[+] nltool %s\n' "$*" >&2
	n a "$NLTOOL" "$@"
}

# snapshot FILE: every rule, route, address and link of namespace a
snapshot() {
	{
		n a ip -4 rule
		n a ip -6 rule
		n a ip -4 route show table all
		n a ip -6 route show table all
		n a ip addr
	} >"$1"
}

ns_add a
ns_add b
veth_add a eth0 b eth0
veth_add a eth1 b eth1

say "the host's own state: addresses and default routes set with ip(8)"
addr_add a eth0 192.0.2.2/24
addr_add a eth0 2001:db8:1::2/64
pp ip -n "$(ns a)" route add default via 192.0.2.1 dev eth0
pp ip -n "$(ns a)" -6 route add default via 2001:db8:1::1 dev eth0
snapshot "$TMPD/before"

say "links"
assert_eq "index of eth1" "$(n a cat /sys/class/net/eth1/ifindex)" "$(nl link index eth1)"
assert_fails "index of a missing link" nl link index nx-nope
nl link down eth1
assert_eq "eth1 down" "DOWN" "$(n a ip -br link show eth1 | awk '{ print $2 }')"
nl link up eth1
assert_contains "eth1 up" "UP" "$(n a ip -br link show eth1 | awk '{ print $2 }')"
nl link mtu eth1 1380
assert_eq "eth1 mtu" "1380" "$(n a cat /sys/class/net/eth1/mtu)"
assert_fails "mtu below 68" nl link mtu eth1 60
nl link mtu eth1 1500

say "addresses"
nl addr add eth1 198.51.100.7/24
nl addr add eth1 100.100.3.4/16
nl addr add eth1 2001:db8:5::7/64
assert_eq "ip addr of eth1" \
	"198.51.100.7/24 100.100.3.4/16 2001:db8:5::7/64" \
	"$(n a ip -o addr show dev eth1 scope global | awk '{ printf "%s%s", sep, $4; sep = " " }')"
assert_eq "nltool addr list eth1" \
	"eth1 198.51.100.7/24
eth1 100.100.3.4/16
eth1 2001:db8:5::7/64" \
	"$(nl addr list eth1 | grep -v ' fe80:')"
assert_eq "nltool addr list (all) sees eth0 too" "eth0 192.0.2.2/24" \
	"$(nl addr list | grep '^eth0 192')"
assert_fails "a duplicate address" nl addr add eth1 198.51.100.7/24
nl addr del eth1 100.100.3.4/16
nl addr del eth1 198.51.100.7/24
nl addr del eth1 2001:db8:5::7/64
assert_eq "no global address left on eth1" "" "$(n a ip -o addr show dev eth1 scope global)"
assert_fails "deleting a missing address" nl addr del eth1 198.51.100.7/24

say "the main table's default route"
assert_eq "default -4" "0.0.0.0/0 via 192.0.2.1 dev eth0 table main" "$(nl default -4)"
assert_eq "default -6" "::/0 via 2001:db8:1::1 dev eth0 table main metric 1024" "$(nl default -6)"
# the lowest metric wins: v4's default has metric 0, v6's 1024
addr_add a eth1 203.0.113.2/24
addr_add a eth1 2001:db8:6::2/64
pp ip -n "$(ns a)" route add default via 203.0.113.1 dev eth1 metric 5
pp ip -n "$(ns a)" -6 route add default via 2001:db8:6::1 dev eth1 metric 5
assert_eq "default -4, metric 0 beats 5" "0.0.0.0/0 via 192.0.2.1 dev eth0 table main" "$(nl default -4)"
assert_eq "default -6, metric 5 beats 1024" "::/0 via 2001:db8:6::1 dev eth1 table main metric 5" "$(nl default -6)"
pp ip -n "$(ns a)" route del default via 203.0.113.1 dev eth1 metric 5
pp ip -n "$(ns a)" -6 route del default via 2001:db8:6::1 dev eth1 metric 5
pp ip -n "$(ns a)" addr del 203.0.113.2/24 dev eth1
pp ip -n "$(ns a)" addr del 2001:db8:6::2/64 dev eth1
assert_fails "no default route in namespace b" n b "$NLTOOL" default -4

say "change notifications"
bg_start monitor a "$NLTOOL" monitor 20
MON=$BG_PID
wait_for 5 grep -q monitoring "$TMPD/monitor.log" || fail "monitor did not start"
pp ip -n "$(ns a)" route add 198.51.100.0/24 via 192.0.2.1
wait_for 5 grep -q "route changed" "$TMPD/monitor.log" || fail "no route notification"
printf '    ok: route change seen\n' >&2
pp ip -n "$(ns a)" route del 198.51.100.0/24 via 192.0.2.1
pp ip -n "$(ns a)" link set eth1 mtu 1400
wait_for 5 grep -q "link changed" "$TMPD/monitor.log" || fail "no link notification"
printf '    ok: link change seen\n' >&2
pp ip -n "$(ns a)" link set eth1 mtu 1500
stop_pid "$MON"

say "routes in tables 51820 and 19302"
nl route add 0.0.0.0/0 table 51820 dev eth1
nl route add ::/0 table 51820 dev eth1
nl route add 198.51.100.0/24 table 51820 blackhole
nl route add 0.0.0.0/0 table 19302 via 192.0.2.1 dev eth0
nl route add ::/0 table 19302 via 2001:db8:1::1 dev eth0
nl route add 2001:db8:7::/48 table 19302 blackhole metric 10
assert_fails "a duplicate route" nl route add 0.0.0.0/0 table 51820 dev eth1
assert_fails "a blackhole with a device" nl route add 203.0.113.0/24 table 51820 blackhole dev eth1
assert_eq "ip -4 route show table 51820" \
	"default dev eth1 scope link 
blackhole 198.51.100.0/24 " \
	"$(n a ip -4 route show table 51820)"
assert_eq "ip -6 route show table 51820" "default dev eth1 metric 1024 pref medium" \
	"$(n a ip -6 route show table 51820)"
assert_eq "ip -4 route show table 19302" "default via 192.0.2.1 dev eth0 " \
	"$(n a ip -4 route show table 19302)"
assert_eq "ip -6 route show table 19302" \
	"blackhole 2001:db8:7::/48 dev lo metric 10 pref medium
default via 2001:db8:1::1 dev eth0 metric 1024 pref medium" \
	"$(n a ip -6 route show table 19302)"
assert_eq "nltool route list -4 table 51820" \
	"0.0.0.0/0 dev eth1 table 51820
blackhole 198.51.100.0/24 table 51820" \
	"$(nl route list -4 table 51820)"
assert_eq "nltool route list -6 table 19302" \
	"blackhole 2001:db8:7::/48 dev lo table 19302 metric 10
::/0 via 2001:db8:1::1 dev eth0 table 19302 metric 1024" \
	"$(nl route list -6 table 19302)"
nl route del 198.51.100.0/24 table 51820 blackhole
assert_eq "after route del" "default dev eth1 scope link " "$(n a ip -4 route show table 51820)"
nl route add 198.51.100.0/24 table 51820 blackhole

say "the exit-node policy rules, IPv4 and IPv6"
for fam in -4 -6; do
	nl rule add $fam priority 19300 table main suppress_prefixlength 0
	nl rule add $fam priority 19301 fwmark 0x4b66 table 19302
	nl rule add $fam priority 19302 not fwmark 51820 table 51820
done
assert_eq "ip -4 rule" "0:	from all lookup local
19300:	from all lookup main suppress_prefixlength 0
19301:	from all fwmark 0x4b66 lookup 19302
19302:	not from all fwmark 0xca6c lookup 51820
32766:	from all lookup main
32767:	from all lookup default" "$(n a ip -4 rule)"
assert_eq "ip -6 rule" "0:	from all lookup local
19300:	from all lookup main suppress_prefixlength 0
19301:	from all fwmark 0x4b66 lookup 19302
19302:	not from all fwmark 0xca6c lookup 51820
32766:	from all lookup main" "$(n a ip -6 rule)"
assert_eq "nltool rule list -6" "0: table local
19300: table main suppress_prefixlength 0
19301: fwmark 0x4b66 table 19302
19302: not fwmark 0xca6c table 51820
32766: table main" "$(nl rule list -6)"
assert_fails "a duplicate rule" nl rule add -4 priority 19301 fwmark 0x4b66 table 19302
assert_fails "suppress_prefixlength 33 on IPv4" nl rule add -4 priority 19309 table main suppress_prefixlength 33
# the rules route: a marked packet to the internet takes table 19302, an
# unmarked one table 51820, and the LAN stays on main
assert_eq "route of 203.0.113.9" "203.0.113.9 dev eth1 table 51820 src 192.0.2.2 uid 0" \
	"$(n a ip -4 route get 203.0.113.9 | head -n 1 | sed 's/ *$//')"
assert_eq "route of 203.0.113.9 mark 0x4b66" "203.0.113.9 via 192.0.2.1 dev eth0 table 19302 src 192.0.2.2 mark 0x4b66 uid 0" \
	"$(n a ip -4 route get 203.0.113.9 mark 0x4b66 | head -n 1 | sed 's/ *$//')"
assert_eq "route of 192.0.2.9 (LAN)" "192.0.2.9 dev eth0 src 192.0.2.2 uid 0" \
	"$(n a ip -4 route get 192.0.2.9 | head -n 1 | sed 's/ *$//')"
# exact delete of one rule
nl rule del -6 priority 19301 fwmark 0x4b66 table 19302
assert_eq "ip -6 rule 19301 gone" "" "$(n a ip -6 rule | grep '^19301:' || true)"
nl rule add -6 priority 19301 fwmark 0x4b66 table 19302

say "leftovers: delete by priority (also duplicates), flush by table"
# a crash could leave a second set at the same priorities
nl rule add -4 priority 19301 fwmark 0x4b66/0xffff table 19302
assert_eq "rules at 19301 before" "2" "$(n a ip -4 rule | grep -c '^19301:')"
for fam in -4 -6; do
	want=1
	[ $fam == -6 ] || want=2
	assert_eq "delprio $fam 19301" "removed $want" "$(nl rule delprio $fam 19301)"
	assert_eq "delprio $fam 19300" "removed 1" "$(nl rule delprio $fam 19300)"
	assert_eq "delprio $fam 19302" "removed 1" "$(nl rule delprio $fam 19302)"
	assert_eq "delprio $fam 19302 again" "removed 0" "$(nl rule delprio $fam 19302)"
done
assert_eq "flush -4 51820" "removed 2" "$(nl route flush -4 table 51820)"
assert_eq "flush -6 51820" "removed 1" "$(nl route flush -6 table 51820)"
assert_eq "flush -4 19302" "removed 1" "$(nl route flush -4 table 19302)"
assert_eq "flush -6 19302" "removed 2" "$(nl route flush -6 table 19302)"
assert_eq "flush of an empty table" "removed 0" "$(nl route flush -4 table 51820)"

snapshot "$TMPD/after"
if ! diff -u "$TMPD/before" "$TMPD/after" >&2; then
	fail "rules, routes or addresses differ from before"
fi
printf '    ok: ip rule, ip route show table all, ip addr exactly as before\n' >&2
