/* The nft scripts of nexd's tables: exact text for typical parameters
 * (golden strings), refused names and prefixes, limits, set updates. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"
#include "nexd/nftrules.h"

static union sockaddr_any ep(const char *s)
{
	union sockaddr_any a;

	assert_int_equal(addr_endpoint_parse(s, &a), 0);
	return a;
}

static struct cidr prefix(const char *s)
{
	struct cidr c;

	assert_int_equal(cidr_parse(s, &c), 0);
	return c;
}

/* exit wg0 eth0 */
static const char golden_exit[] =
	"add table inet nexd-exit-wg0\n"
	"delete table inet nexd-exit-wg0\n"
	"table inet nexd-exit-wg0 {\n"
	"\tset lan4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\tflags interval\n"
	"\t}\n"
	"\n"
	"\tset lan6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\tflags interval\n"
	"\t}\n"
	"\n"
	"\tset own4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t}\n"
	"\n"
	"\tset own6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t}\n"
	"\n"
	"\tchain mss {\n"
	"\t\ttype filter hook forward priority mangle; policy accept;\n"
	"\t\tiifname \"wg0\" oifname \"eth0\" tcp flags syn counter tcp option maxseg size set rt mtu\n"
	"\t\tiifname \"eth0\" oifname \"wg0\" tcp flags syn counter tcp option maxseg size set rt mtu\n"
	"\t}\n"
	"\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tiifname \"wg0\" meta nfproto ipv6 counter drop\n"
	"\t\toifname \"wg0\" meta nfproto ipv6 counter drop\n"
	"\t\tiifname \"wg0\" ip daddr 169.254.0.0/16 counter drop\n"
	"\t\tiifname \"wg0\" ip6 daddr fe80::/10 counter drop\n"
	"\t\tiifname \"wg0\" ip daddr @lan4 counter drop\n"
	"\t\tiifname \"wg0\" ip6 daddr @lan6 counter drop\n"
	"\t\tiifname \"wg0\" oifname \"eth0\" counter accept\n"
	"\t\tiifname \"eth0\" oifname \"wg0\" ct state established,related counter accept\n"
	"\t\toifname \"wg0\" counter drop\n"
	"\t\tiifname \"wg0\" counter drop\n"
	"\t}\n"
	"\n"
	"\tchain input {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tiifname \"wg0\" ip daddr @own4 counter drop\n"
	"\t\tiifname \"wg0\" ip6 daddr @own6 counter drop\n"
	"\t}\n"
	"\n"
	"\tchain postrouting {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t\tiifname \"wg0\" oifname \"eth0\" counter masquerade\n"
	"\t}\n"
	"}\n"
	;

/* exit nx-mesh.1 up_link-2, IPv6 forwarded, mesh to mesh */
static const char golden_exit_v6[] =
	"add table inet nexd-exit-nx-mesh.1\n"
	"delete table inet nexd-exit-nx-mesh.1\n"
	"table inet nexd-exit-nx-mesh.1 {\n"
	"\tset lan4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\tflags interval\n"
	"\t\telements = { 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 }\n"
	"\t}\n"
	"\n"
	"\tset lan6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\tflags interval\n"
	"\t\telements = { 2001:db8:5::/64 }\n"
	"\t}\n"
	"\n"
	"\tset own4 {\n"
	"\t\ttype ipv4_addr\n"
	"\t\telements = { 192.0.2.7, 198.51.100.4, 192.0.2.8, 192.0.2.9, 203.0.113.0, 203.0.113.77 }\n"
	"\t}\n"
	"\n"
	"\tset own6 {\n"
	"\t\ttype ipv6_addr\n"
	"\t\telements = { 2001:db8:5::9 }\n"
	"\t}\n"
	"\n"
	"\tchain mss {\n"
	"\t\ttype filter hook forward priority mangle; policy accept;\n"
	"\t\tiifname \"nx-mesh.1\" oifname \"up_link-2\" tcp flags syn counter tcp option maxseg size set rt mtu\n"
	"\t\tiifname \"up_link-2\" oifname \"nx-mesh.1\" tcp flags syn counter tcp option maxseg size set rt mtu\n"
	"\t}\n"
	"\n"
	"\tchain forward {\n"
	"\t\ttype filter hook forward priority filter; policy accept;\n"
	"\t\tiifname \"nx-mesh.1\" ip daddr 169.254.0.0/16 counter drop\n"
	"\t\tiifname \"nx-mesh.1\" ip6 daddr fe80::/10 counter drop\n"
	"\t\tiifname \"nx-mesh.1\" ip daddr @lan4 counter drop\n"
	"\t\tiifname \"nx-mesh.1\" ip6 daddr @lan6 counter drop\n"
	"\t\tiifname \"nx-mesh.1\" oifname \"nx-mesh.1\" counter accept\n"
	"\t\tiifname \"nx-mesh.1\" oifname \"up_link-2\" counter accept\n"
	"\t\tiifname \"up_link-2\" oifname \"nx-mesh.1\" ct state established,related counter accept\n"
	"\t\toifname \"nx-mesh.1\" counter drop\n"
	"\t\tiifname \"nx-mesh.1\" counter drop\n"
	"\t}\n"
	"\n"
	"\tchain input {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tiifname \"nx-mesh.1\" ip daddr @own4 counter drop\n"
	"\t\tiifname \"nx-mesh.1\" ip6 daddr @own6 counter drop\n"
	"\t}\n"
	"\n"
	"\tchain postrouting {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t\tiifname \"nx-mesh.1\" oifname \"up_link-2\" counter masquerade\n"
	"\t}\n"
	"}\n"
	;

/* the sets of golden_exit_v6 alone; then with allow_lan */
static const char golden_exit_sets[] =
	"flush set inet nexd-exit-nx-mesh.1 lan4\n"
	"add element inet nexd-exit-nx-mesh.1 lan4 { 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 }\n"
	"flush set inet nexd-exit-nx-mesh.1 lan6\n"
	"add element inet nexd-exit-nx-mesh.1 lan6 { 2001:db8:5::/64 }\n"
	"flush set inet nexd-exit-nx-mesh.1 own4\n"
	"add element inet nexd-exit-nx-mesh.1 own4 { 192.0.2.7, 198.51.100.4, 192.0.2.8, 192.0.2.9, 203.0.113.0, 203.0.113.77 }\n"
	"flush set inet nexd-exit-nx-mesh.1 own6\n"
	"add element inet nexd-exit-nx-mesh.1 own6 { 2001:db8:5::9 }\n"
	;

static const char golden_exit_sets_allow_lan[] =
	"flush set inet nexd-exit-nx-mesh.1 lan4\n"
	"flush set inet nexd-exit-nx-mesh.1 lan6\n"
	"flush set inet nexd-exit-nx-mesh.1 own4\n"
	"add element inet nexd-exit-nx-mesh.1 own4 { 192.0.2.7, 198.51.100.4, 192.0.2.8, 192.0.2.9, 203.0.113.0, 203.0.113.77 }\n"
	"flush set inet nexd-exit-nx-mesh.1 own6\n"
	"add element inet nexd-exit-nx-mesh.1 own6 { 2001:db8:5::9 }\n"
	;

/* client wg0 eth0 100.100.0.0/16, dns 192.0.2.53 and 2001:db8::53, api 203.0.113.10:443,
 * stun 203.0.113.20:19302; no mesh IPv6 prefix, exit node without IPv6 */
static const char golden_client[] =
	"add table inet nexd-client-wg0\n"
	"delete table inet nexd-client-wg0\n"
	"table inet nexd-client-wg0 {\n"
	"\tset oob4_tcp {\n"
	"\t\ttype ipv4_addr . inet_service\n"
	"\t\telements = { 203.0.113.10 . 443, 192.0.2.53 . 53 }\n"
	"\t}\n"
	"\n"
	"\tset oob4_udp {\n"
	"\t\ttype ipv4_addr . inet_service\n"
	"\t\telements = { 192.0.2.53 . 53, 203.0.113.20 . 19302 }\n"
	"\t}\n"
	"\n"
	"\tset oob6_tcp {\n"
	"\t\ttype ipv6_addr . inet_service\n"
	"\t\telements = { 2001:db8::53 . 53 }\n"
	"\t}\n"
	"\n"
	"\tset oob6_udp {\n"
	"\t\ttype ipv6_addr . inet_service\n"
	"\t\telements = { 2001:db8::53 . 53 }\n"
	"\t}\n"
	"\n"
	"\tchain oob_mark {\n"
	"\t\ttype route hook output priority mangle; policy accept;\n"
	"\t\tip daddr . tcp dport @oob4_tcp counter meta mark set 0x00004b66\n"
	"\t\tip daddr . udp dport @oob4_udp counter meta mark set 0x00004b66\n"
	"\t\tip6 daddr . tcp dport @oob6_tcp counter meta mark set 0x00004b66\n"
	"\t\tip6 daddr . udp dport @oob6_udp counter meta mark set 0x00004b66\n"
	"\t\tct mark 0x00004b66 meta mark set 0x00004b66\n"
	"\t\tmeta mark 0x00004b66 ct mark set meta mark\n"
	"\t}\n"
	"\n"
	"\tchain mark_save {\n"
	"\t\ttype filter hook postrouting priority mangle; policy accept;\n"
	"\t\tmeta l4proto udp meta mark 0x0000ca6c ct mark set meta mark\n"
	"\t}\n"
	"\n"
	"\tchain mark_restore {\n"
	"\t\ttype filter hook prerouting priority mangle; policy accept;\n"
	"\t\tct mark { 0x0000ca6c, 0x00004b66 } meta mark set ct mark\n"
	"\t}\n"
	"\n"
	"\tchain oob_nat {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t\tmeta mark 0x00004b66 oifname \"eth0\" counter masquerade\n"
	"\t}\n"
	"\n"
	"\tchain mesh_in {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tiifname \"wg0\" ct state new ip saddr != 100.100.0.0/16 counter drop\n"
	"\t\tiifname \"wg0\" ct state new meta nfproto ipv6 counter drop\n"
	"\t}\n"
	"\n"
	"\tchain v6_block {\n"
	"\t\ttype filter hook output priority filter; policy accept;\n"
	"\t\toifname \"wg0\" meta nfproto ipv6 meta mark != 0x00004b66 counter reject with icmpv6 admin-prohibited\n"
	"\t}\n"
	"}\n"
	;

/* client wg0, no uplink, 100.100.7.9/16 (host bits), mesh6 2001:db8:100::1/64, exit node with
 * IPv6, no out-of-band flows */
static const char golden_client_v6[] =
	"add table inet nexd-client-wg0\n"
	"delete table inet nexd-client-wg0\n"
	"table inet nexd-client-wg0 {\n"
	"\tset oob4_tcp {\n"
	"\t\ttype ipv4_addr . inet_service\n"
	"\t}\n"
	"\n"
	"\tset oob4_udp {\n"
	"\t\ttype ipv4_addr . inet_service\n"
	"\t}\n"
	"\n"
	"\tset oob6_tcp {\n"
	"\t\ttype ipv6_addr . inet_service\n"
	"\t}\n"
	"\n"
	"\tset oob6_udp {\n"
	"\t\ttype ipv6_addr . inet_service\n"
	"\t}\n"
	"\n"
	"\tchain oob_mark {\n"
	"\t\ttype route hook output priority mangle; policy accept;\n"
	"\t\tip daddr . tcp dport @oob4_tcp counter meta mark set 0x00004b66\n"
	"\t\tip daddr . udp dport @oob4_udp counter meta mark set 0x00004b66\n"
	"\t\tip6 daddr . tcp dport @oob6_tcp counter meta mark set 0x00004b66\n"
	"\t\tip6 daddr . udp dport @oob6_udp counter meta mark set 0x00004b66\n"
	"\t\tct mark 0x00004b66 meta mark set 0x00004b66\n"
	"\t\tmeta mark 0x00004b66 ct mark set meta mark\n"
	"\t}\n"
	"\n"
	"\tchain mark_save {\n"
	"\t\ttype filter hook postrouting priority mangle; policy accept;\n"
	"\t\tmeta l4proto udp meta mark 0x0000ca6c ct mark set meta mark\n"
	"\t}\n"
	"\n"
	"\tchain mark_restore {\n"
	"\t\ttype filter hook prerouting priority mangle; policy accept;\n"
	"\t\tct mark { 0x0000ca6c, 0x00004b66 } meta mark set ct mark\n"
	"\t}\n"
	"\n"
	"\tchain oob_nat {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t}\n"
	"\n"
	"\tchain mesh_in {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tiifname \"wg0\" ct state new ip saddr != 100.100.0.0/16 counter drop\n"
	"\t\tiifname \"wg0\" ct state new ip6 saddr != 2001:db8:100::/64 counter drop\n"
	"\t}\n"
	"}\n"
	;

/* client wg0 eth0 100.100.0.0/16 mesh6 2001:db8:100::/64, exit node without IPv6 */
static const char golden_client_mesh6[] =
	"add table inet nexd-client-wg0\n"
	"delete table inet nexd-client-wg0\n"
	"table inet nexd-client-wg0 {\n"
	"\tset oob4_tcp {\n"
	"\t\ttype ipv4_addr . inet_service\n"
	"\t}\n"
	"\n"
	"\tset oob4_udp {\n"
	"\t\ttype ipv4_addr . inet_service\n"
	"\t}\n"
	"\n"
	"\tset oob6_tcp {\n"
	"\t\ttype ipv6_addr . inet_service\n"
	"\t}\n"
	"\n"
	"\tset oob6_udp {\n"
	"\t\ttype ipv6_addr . inet_service\n"
	"\t}\n"
	"\n"
	"\tchain oob_mark {\n"
	"\t\ttype route hook output priority mangle; policy accept;\n"
	"\t\tip daddr . tcp dport @oob4_tcp counter meta mark set 0x00004b66\n"
	"\t\tip daddr . udp dport @oob4_udp counter meta mark set 0x00004b66\n"
	"\t\tip6 daddr . tcp dport @oob6_tcp counter meta mark set 0x00004b66\n"
	"\t\tip6 daddr . udp dport @oob6_udp counter meta mark set 0x00004b66\n"
	"\t\tct mark 0x00004b66 meta mark set 0x00004b66\n"
	"\t\tmeta mark 0x00004b66 ct mark set meta mark\n"
	"\t}\n"
	"\n"
	"\tchain mark_save {\n"
	"\t\ttype filter hook postrouting priority mangle; policy accept;\n"
	"\t\tmeta l4proto udp meta mark 0x0000ca6c ct mark set meta mark\n"
	"\t}\n"
	"\n"
	"\tchain mark_restore {\n"
	"\t\ttype filter hook prerouting priority mangle; policy accept;\n"
	"\t\tct mark { 0x0000ca6c, 0x00004b66 } meta mark set ct mark\n"
	"\t}\n"
	"\n"
	"\tchain oob_nat {\n"
	"\t\ttype nat hook postrouting priority srcnat; policy accept;\n"
	"\t\tmeta mark 0x00004b66 oifname \"eth0\" counter masquerade\n"
	"\t}\n"
	"\n"
	"\tchain mesh_in {\n"
	"\t\ttype filter hook input priority filter; policy accept;\n"
	"\t\tiifname \"wg0\" ct state new ip saddr != 100.100.0.0/16 counter drop\n"
	"\t\tiifname \"wg0\" ct state new ip6 saddr != 2001:db8:100::/64 counter drop\n"
	"\t}\n"
	"\n"
	"\tchain v6_block {\n"
	"\t\ttype filter hook output priority filter; policy accept;\n"
	"\t\toifname \"wg0\" meta nfproto ipv6 meta mark != 0x00004b66 ip6 daddr != 2001:db8:100::/64 counter reject with icmpv6 admin-prohibited\n"
	"\t}\n"
	"}\n"
	;

/* sets wg0: api 203.0.113.10:443 and [2001:db8::10]:8443, dns 192.0.2.53, stun 198.51.100.3:19302 */
static const char golden_sets[] =
	"flush set inet nexd-client-wg0 oob4_tcp\n"
	"flush set inet nexd-client-wg0 oob4_udp\n"
	"flush set inet nexd-client-wg0 oob6_tcp\n"
	"flush set inet nexd-client-wg0 oob6_udp\n"
	"add element inet nexd-client-wg0 oob4_tcp { 203.0.113.10 . 443, 192.0.2.53 . 53 }\n"
	"add element inet nexd-client-wg0 oob4_udp { 192.0.2.53 . 53, 198.51.100.3 . 19302 }\n"
	"add element inet nexd-client-wg0 oob6_tcp { 2001:db8::10 . 8443 }\n"
	;

static void test_exit_golden(void **state)
{
	struct nftrules_exit p = { .ifname = "wg0", .uplink = "eth0" };
	char *s = NULL;

	(void)state;
	assert_int_equal(nftrules_exit_script(&p, &s), 0);
	assert_string_equal(s, golden_exit);
	free(s);

	/* the host's networks: host bits cleared, duplicates and prefixes
	 * inside others dropped; its addresses as they are */
	struct cidr lan[] = { prefix("192.0.2.7/24"), prefix("2001:db8:5::9/64"), prefix("198.51.100.4/24"),
			      prefix("192.0.2.8/24"), prefix("192.0.2.9/32"), prefix("203.0.113.0/24"),
			      prefix("203.0.113.77/26") };
	p = (struct nftrules_exit){ .ifname = "nx-mesh.1", .uplink = "up_link-2", .ipv6 = true,
				    .mesh_to_mesh = true, .lan = lan, .n_lan = 7, .own = lan, .n_own = 7 };
	assert_int_equal(nftrules_exit_script(&p, &s), 0);
	assert_string_equal(s, golden_exit_v6);
	free(s);
	assert_int_equal(nftrules_exit_sets_script(&p, &s), 0);
	assert_string_equal(s, golden_exit_sets);
	free(s);

	/* --exit-node-allow-lan: the networks open, the host itself not */
	p.allow_lan = true;
	assert_int_equal(nftrules_exit_sets_script(&p, &s), 0);
	assert_string_equal(s, golden_exit_sets_allow_lan);
	free(s);

	p.n_lan = NFTRULES_NETS_MAX + 1;
	assert_int_equal(nftrules_exit_script(&p, &s), -E2BIG);
	assert_int_equal(nftrules_exit_sets_script(&p, &s), -E2BIG);
}

static void test_client_golden(void **state)
{
	union sockaddr_any dns[] = { ep("192.0.2.53:53"), ep("[2001:db8::53]:53") };
	union sockaddr_any api[] = { ep("203.0.113.10:443") };
	union sockaddr_any stun[] = { ep("203.0.113.20:19302") };
	struct nftrules_client p = {
		.ifname = "wg0", .uplink = "eth0", .mesh4 = prefix("100.100.0.0/16"),
		.oob = { api, 1, dns, 2, stun, 1 },
	};
	char *s = NULL;

	(void)state;
	assert_int_equal(nftrules_client_script(&p, &s), 0);
	assert_string_equal(s, golden_client);
	free(s);

	p = (struct nftrules_client){ .ifname = "wg0", .mesh4 = prefix("100.100.7.9/16"),
				      .has_mesh6 = true, .mesh6 = prefix("2001:db8:100::1/64"),
				      .exit_ipv6 = true };
	assert_int_equal(nftrules_client_script(&p, &s), 0);
	assert_string_equal(s, golden_client_v6);
	free(s);

	p.uplink = "eth0";
	p.exit_ipv6 = false;
	p.mesh6 = prefix("2001:db8:100::/64");
	assert_int_equal(nftrules_client_script(&p, &s), 0);
	assert_string_equal(s, golden_client_mesh6);
	free(s);
}

static void test_sets_golden(void **state)
{
	union sockaddr_any api[] = { ep("203.0.113.10:443"), ep("[2001:db8::10]:8443") };
	union sockaddr_any dns[] = { ep("192.0.2.53:53") };
	union sockaddr_any stun[] = { ep("198.51.100.3:19302") };
	struct nftrules_oob oob = { api, 2, dns, 1, stun, 1 };
	char *s = NULL;

	(void)state;
	assert_int_equal(nftrules_client_sets_script("wg0", &oob, &s), 0);
	assert_string_equal(s, golden_sets);
	free(s);

	/* nothing: only the flushes */
	memset(&oob, 0, sizeof(oob));
	assert_int_equal(nftrules_client_sets_script("wg0", &oob, &s), 0);
	assert_string_equal(s, "flush set inet nexd-client-wg0 oob4_tcp\n"
			       "flush set inet nexd-client-wg0 oob4_udp\n"
			       "flush set inet nexd-client-wg0 oob6_tcp\n"
			       "flush set inet nexd-client-wg0 oob6_udp\n");
	free(s);
	assert_int_equal(nftrules_client_sets_script("wg0", NULL, &s), 0);
	free(s);
}

/* duplicates written once; a v4-mapped address is IPv4 */
static void test_sets_dedup(void **state)
{
	union sockaddr_any dns[] = { ep("192.0.2.53:53"), ep("[::ffff:192.0.2.53]:53"),
				     ep("192.0.2.53:53") };
	union sockaddr_any stun[] = { ep("192.0.2.53:53") };
	struct nftrules_oob oob = { NULL, 0, dns, 3, stun, 1 };
	char *s = NULL;

	(void)state;
	assert_int_equal(nftrules_client_sets_script("wg0", &oob, &s), 0);
	assert_string_equal(s, "flush set inet nexd-client-wg0 oob4_tcp\n"
			       "flush set inet nexd-client-wg0 oob4_udp\n"
			       "flush set inet nexd-client-wg0 oob6_tcp\n"
			       "flush set inet nexd-client-wg0 oob6_udp\n"
			       "add element inet nexd-client-wg0 oob4_tcp { 192.0.2.53 . 53 }\n"
			       "add element inet nexd-client-wg0 oob4_udp { 192.0.2.53 . 53 }\n");
	free(s);
}

static void test_ifname(void **state)
{
	static const char *const good[] = { "wg0", "a", "eth0.100", "nx-12345-a_b", "123456789012345" };
	static const char *const bad[] = { "", ".", "..", "1234567890123456", "wg 0", "wg\"0",
					   "wg0;", "wg0}", "wg/0", "wg0\n", "wg\\0", "wg0*", "eth0@x",
					   "wg0\"; flush ruleset; \"" };
	char t[NFTRULES_TABLE_NAME_MAX + 1];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_true(nftrules_ifname_valid(good[i]));
		assert_int_equal(nftrules_client_table(good[i], t), 0);
	}
	assert_false(nftrules_ifname_valid(NULL));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct nftrules_exit e = { .ifname = bad[i], .uplink = "eth0" };
		struct nftrules_exit e2 = { .ifname = "wg0", .uplink = bad[i] };
		struct nftrules_client c = { .ifname = bad[i], .uplink = "eth0",
					     .mesh4 = prefix("100.100.0.0/16") };
		struct nftrules_client c2 = { .ifname = "wg0", .uplink = bad[i],
					      .mesh4 = prefix("100.100.0.0/16") };
		char *s = (char *)"untouched";

		assert_false(nftrules_ifname_valid(bad[i]));
		assert_int_equal(nftrules_exit_table(bad[i], t), -EINVAL);
		assert_int_equal(nftrules_client_table(bad[i], t), -EINVAL);
		assert_int_equal(nftrules_exit_script(&e, &s), -EINVAL);
		assert_int_equal(nftrules_exit_script(&e2, &s), -EINVAL);
		assert_int_equal(nftrules_client_script(&c, &s), -EINVAL);
		assert_int_equal(nftrules_client_script(&c2, &s), -EINVAL);
		assert_int_equal(nftrules_client_sets_script(bad[i], NULL, &s), -EINVAL);
		assert_string_equal(s, "untouched");
	}
	assert_int_equal(nftrules_exit_table("wg0", t), 0);
	assert_string_equal(t, "nexd-exit-wg0");
	assert_int_equal(nftrules_client_table("123456789012345", t), 0);
	assert_string_equal(t, "nexd-client-123456789012345");
}

static void test_refused(void **state)
{
	struct nftrules_exit e = { .ifname = "wg0", .uplink = "wg0" };
	struct nftrules_client c = { .ifname = "wg0", .uplink = "eth0", .mesh4 = prefix("2001:db8::/64") };
	union sockaddr_any many[NFTRULES_FLOWS_MAX + 1];
	union sockaddr_any port0 = ep("192.0.2.1:0");
	union sockaddr_any unknown;
	char *s = NULL;

	(void)state;
	/* the mesh interface as its own uplink */
	assert_int_equal(nftrules_exit_script(&e, &s), -EINVAL);
	c.uplink = "wg0";
	c.mesh4 = prefix("100.100.0.0/16");
	assert_int_equal(nftrules_client_script(&c, &s), -EINVAL);
	/* prefixes of the wrong family */
	c.uplink = "eth0";
	c.mesh4 = prefix("2001:db8::/64");
	assert_int_equal(nftrules_client_script(&c, &s), -EINVAL);
	c.mesh4 = prefix("100.100.0.0/16");
	c.has_mesh6 = true;
	c.mesh6 = prefix("100.100.0.0/16");
	assert_int_equal(nftrules_client_script(&c, &s), -EINVAL);
	c.has_mesh6 = false;
	/* port 0, an unknown family, too many, NULL lists */
	c.oob = (struct nftrules_oob){ &port0, 1, NULL, 0, NULL, 0 };
	assert_int_equal(nftrules_client_script(&c, &s), -EINVAL);
	memset(&unknown, 0, sizeof(unknown));
	unknown.sa.sa_family = AF_UNIX;
	c.oob = (struct nftrules_oob){ NULL, 0, &unknown, 1, NULL, 0 };
	assert_int_equal(nftrules_client_script(&c, &s), -EINVAL);
	for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++) {
		char text[32];

		snprintf(text, sizeof(text), "198.51.100.%zu:3478", i);
		many[i] = ep(text);
	}
	c.oob = (struct nftrules_oob){ NULL, 0, NULL, 0, many, NFTRULES_FLOWS_MAX + 1 };
	assert_int_equal(nftrules_client_script(&c, &s), -E2BIG);
	assert_int_equal(nftrules_client_sets_script("wg0", &c.oob, &s), -E2BIG);
	c.oob = (struct nftrules_oob){ NULL, 1, NULL, 0, NULL, 0 };
	assert_int_equal(nftrules_client_script(&c, &s), -EINVAL);
	assert_null(s);
	assert_int_equal(nftrules_exit_script(NULL, &s), -EINVAL);
	assert_int_equal(nftrules_client_script(NULL, &s), -EINVAL);
}

/* the most flows there may be: 64 of each, all distinct, IPv6 */
static void test_largest(void **state)
{
	static union sockaddr_any api[NFTRULES_FLOWS_MAX], dns[NFTRULES_FLOWS_MAX],
		stun[NFTRULES_FLOWS_MAX];
	struct nftrules_client c = { .ifname = "123456789012345", .uplink = "abcdefghijklmno",
				     .mesh4 = prefix("100.100.0.0/16") };
	char *s = NULL;

	(void)state;
	for (size_t i = 0; i < NFTRULES_FLOWS_MAX; i++) {
		char text[64];

		snprintf(text, sizeof(text), "[2001:db8:ffff:ffff:ffff:ffff:ffff:%zx]:65535", i);
		api[i] = ep(text);
		snprintf(text, sizeof(text), "[2001:db8:eeee:eeee:eeee:eeee:eeee:%zx]:53", i);
		dns[i] = ep(text);
		snprintf(text, sizeof(text), "[2001:db8:dddd:dddd:dddd:dddd:dddd:%zx]:19302", i);
		stun[i] = ep(text);
	}
	c.oob = (struct nftrules_oob){ api, NFTRULES_FLOWS_MAX, dns, NFTRULES_FLOWS_MAX, stun,
				       NFTRULES_FLOWS_MAX };
	assert_int_equal(nftrules_client_script(&c, &s), 0);
	assert_true(strlen(s) < NFTRULES_SCRIPT_MAX);
	assert_non_null(strstr(s, "2001:db8:ffff:ffff:ffff:ffff:ffff:3f . 65535"));
	assert_non_null(strstr(s, "2001:db8:dddd:dddd:dddd:dddd:dddd:3f . 19302 }"));
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exit_golden),
		cmocka_unit_test(test_client_golden),
		cmocka_unit_test(test_sets_golden),
		cmocka_unit_test(test_sets_dedup),
		cmocka_unit_test(test_ifname),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_largest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
