/* proxy/exitsrv: the destination rules (exitsrv_allowed) for every refused
 * range, the mesh, ourselves and the host's networks with and without
 * allow_lan; the configuration checks of exitsrv_new; and exitsrv_input's
 * bounded IPv4 parse: every malformed or refused packet is counted and
 * dropped (nothing comes out), never a crash, random bytes included. When
 * the test may unshare a network namespace (root), a well-formed packet is
 * let through there (slirp answers with an ICMP unreachable: no route) and
 * max_flows is enforced. */
#include <arpa/inet.h>
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/addr.h"
#include "proxy/exitsrv.h"

static unsigned n_out;
static uint8_t last_out[2048];
static size_t last_len;

static void on_out(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	n_out++;
	last_len = len < sizeof(last_out) ? len : sizeof(last_out);
	memcpy(last_out, pkt, last_len);
}

static struct exitsrv_config config(bool allow_lan)
{
	struct exitsrv_config c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(cidr_parse("100.100.0.1/32", &c.self4), 0);
	assert_int_equal(cidr_parse("100.100.0.0/16", &c.mesh4), 0);
	c.allow_lan = allow_lan;
	c.mtu = 1420;
	c.out = on_out;
	return c;
}

static bool allowed(const struct exitsrv_config *c, const struct cidr *lan, size_t n, const char *ip)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, ip, a), 1);
	return exitsrv_allowed(c, lan, n, a);
}

static void test_refused_ranges(void **state)
{
	static const char *const refused[] = {
		"0.0.0.0", "0.1.2.3", "0.255.255.255",          /* 0.0.0.0/8 */
		"127.0.0.1", "127.255.255.254", "127.1.2.3",    /* loopback */
		"169.254.0.1", "169.254.169.254", "169.254.255.255",
		"224.0.0.1", "239.255.255.250", "233.1.1.1",    /* multicast */
		"240.0.0.1", "250.1.2.3", "255.255.255.254", "255.255.255.255",
		"100.100.0.2", "100.100.255.255", "100.100.0.0", /* the mesh */
		"100.100.0.1",                                   /* ourselves */
	};
	static const char *const ok[] = {
		"192.0.2.1", "198.51.100.7", "203.0.113.9",
		"1.0.0.0", "126.255.255.255", "128.0.0.0", "169.253.255.255", "169.255.0.0",
		"223.255.255.255", "100.99.255.255", "100.101.0.0", "10.1.2.3", "8.8.8.8",
	};
	struct exitsrv_config c = config(false);

	(void)state;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		if (allowed(&c, NULL, 0, refused[i]))
			fail_msg("allowed: %s", refused[i]);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!allowed(&c, NULL, 0, ok[i]))
			fail_msg("refused: %s", ok[i]);
	/* allow_lan changes none of these */
	c.allow_lan = true;
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		assert_false(allowed(&c, NULL, 0, refused[i]));
}

static void test_other_mesh_prefix(void **state)
{
	struct exitsrv_config c = config(false);

	(void)state;
	/* another mesh: its addresses are refused, ours no longer */
	assert_int_equal(cidr_parse("100.64.0.0/10", &c.mesh4), 0);
	assert_false(allowed(&c, NULL, 0, "100.64.0.1"));
	assert_false(allowed(&c, NULL, 0, "100.127.255.255"));
	assert_true(allowed(&c, NULL, 0, "100.128.0.0"));
	assert_false(allowed(&c, NULL, 0, "100.100.0.1"));     /* self, inside */
}

static void test_lan(void **state)
{
	struct exitsrv_config c = config(false);
	struct cidr lan[2];

	(void)state;
	assert_int_equal(cidr_parse("192.0.2.0/24", &lan[0]), 0);
	assert_int_equal(cidr_parse("198.51.100.128/25", &lan[1]), 0);
	assert_false(allowed(&c, lan, 2, "192.0.2.1"));
	assert_false(allowed(&c, lan, 2, "192.0.2.254"));
	assert_false(allowed(&c, lan, 2, "198.51.100.129"));
	assert_true(allowed(&c, lan, 2, "198.51.100.127"));   /* just outside */
	assert_true(allowed(&c, lan, 2, "203.0.113.9"));
	assert_true(allowed(&c, lan, 1, "198.51.100.129"));   /* n_lan bounds the list */

	c.allow_lan = true;
	assert_true(allowed(&c, lan, 2, "192.0.2.1"));
	assert_true(allowed(&c, lan, 2, "198.51.100.129"));
	/* never a directed broadcast, even with allow_lan */
	assert_false(allowed(&c, lan, 2, "192.0.2.255"));
	assert_false(allowed(&c, lan, 2, "198.51.100.255"));
	assert_true(allowed(&c, lan, 2, "192.0.2.0"));
	/* and the fixed ranges stay refused */
	assert_false(allowed(&c, lan, 2, "127.0.0.1"));
}

static void test_new_checks(void **state)
{
	struct exitsrv_config c;
	struct exitsrv *x = (struct exitsrv *)0x1;
	char err[256];

	(void)state;
	c = config(false);
	c.out = NULL;
	assert_int_equal(exitsrv_new(&x, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "exit server: no output function");
	c = config(false);
	assert_int_equal(cidr_parse("fd00::/64", &c.mesh4), 0);
	assert_int_equal(exitsrv_new(&x, &c, err, sizeof(err)), -EINVAL);
	c = config(false);
	assert_int_equal(cidr_parse("100.100.0.0/31", &c.mesh4), 0);
	assert_int_equal(exitsrv_new(&x, &c, err, sizeof(err)), -EINVAL);
	c = config(false);
	assert_int_equal(cidr_parse("100.101.0.1/32", &c.self4), 0);
	assert_int_equal(exitsrv_new(&x, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "exit server: the tunnel address is outside the mesh prefix");
	c = config(false);
	c.mtu = 67;
	assert_int_equal(exitsrv_new(&x, &c, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "exit server: MTU 67 out of range (68 to 65521)");
	c.mtu = 65522;
	assert_int_equal(exitsrv_new(&x, &c, err, sizeof(err)), -EINVAL);
	assert_ptr_equal(x, (struct exitsrv *)0x1);            /* untouched */
	/* no error buffer: still refused, no crash */
	assert_int_equal(exitsrv_new(&x, &c, NULL, 0), -EINVAL);

	c = config(false);
	assert_int_equal(exitsrv_new(&x, &c, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	exitsrv_free(x);
	exitsrv_free(NULL);
}

/* ---------------------------------------------------------------- packets */

static uint32_t sum_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t csum(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void ip_sum(uint8_t *p)
{
	size_t hl = (size_t)(p[0] & 15) * 4;

	p[10] = p[11] = 0;
	uint16_t c = csum(sum_add(0, p, hl));
	p[10] = (uint8_t)(c >> 8);
	p[11] = (uint8_t)c;
}

/* A well-formed UDP datagram src:sport -> dst:dport with 4 bytes of data:
 * 32 bytes, checksums right. */
static size_t udp_pkt(uint8_t *p, const char *src, const char *dst, uint16_t sport, uint16_t dport)
{
	uint32_t s;
	uint16_t c;

	memset(p, 0, 32);
	p[0] = 0x45;
	p[3] = 32;
	p[6] = 0x40;
	p[8] = 64;
	p[9] = 17;
	assert_int_equal(inet_pton(AF_INET, src, p + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, p + 16), 1);
	p[20] = (uint8_t)(sport >> 8);
	p[21] = (uint8_t)sport;
	p[22] = (uint8_t)(dport >> 8);
	p[23] = (uint8_t)dport;
	p[25] = 12;
	memcpy(p + 28, "ping", 4);
	s = sum_add(0, p + 12, 8) + 17 + 12;
	c = csum(sum_add(s, p + 20, 12));
	p[26] = (uint8_t)(c >> 8);
	p[27] = (uint8_t)c;
	ip_sum(p);
	return 32;
}

/* A TCP SYN src:40000 -> dst:80, 40 bytes. */
static size_t tcp_syn(uint8_t *p, const char *src, const char *dst)
{
	uint32_t s;
	uint16_t c;

	memset(p, 0, 40);
	p[0] = 0x45;
	p[3] = 40;
	p[8] = 64;
	p[9] = 6;
	assert_int_equal(inet_pton(AF_INET, src, p + 12), 1);
	assert_int_equal(inet_pton(AF_INET, dst, p + 16), 1);
	p[20] = 0x9c;
	p[21] = 0x40;
	p[23] = 80;
	p[27] = 1;
	p[32] = 5 << 4;
	p[33] = 0x02;
	p[34] = 0xff;
	p[35] = 0xff;
	s = sum_add(0, p + 12, 8) + 6 + 20;
	c = csum(sum_add(s, p + 20, 20));
	p[36] = (uint8_t)(c >> 8);
	p[37] = (uint8_t)c;
	ip_sum(p);
	return 40;
}

static struct exitsrv *open_srv(bool allow_lan, unsigned max_flows)
{
	struct exitsrv_config c = config(allow_lan);
	struct exitsrv *x = NULL;
	char err[256];

	c.max_flows = max_flows;
	if (exitsrv_new(&x, &c, err, sizeof(err)))
		fail_msg("exitsrv_new: %s", err);
	return x;
}

/* The packet must be counted in and refused, and nothing come out. */
static void refused(struct exitsrv *x, const uint8_t *p, size_t len, const char *what)
{
	struct exitsrv_stats a, b;

	exitsrv_get_stats(x, &a);
	n_out = 0;
	exitsrv_input(x, p, len);
	exitsrv_get_stats(x, &b);
	if (b.in_packets != a.in_packets + 1 || b.refused != a.refused + 1)
		fail_msg("not refused: %s", what);
	assert_int_equal(n_out, 0);
	assert_int_equal(b.flows, a.flows);
}

static void test_malformed(void **state)
{
	struct exitsrv *x = open_srv(false, 0);
	uint8_t p[64], q[64];
	size_t n;

	(void)state;
	n = udp_pkt(p, "100.100.0.2", "127.0.0.1", 40000, 53);

	refused(x, p, 0, "empty");
	refused(x, NULL, 0, "NULL");
	refused(x, p, 19, "19 bytes");
	memcpy(q, p, n);
	q[0] = 0x65;
	ip_sum(q);
	refused(x, q, n, "version 6");
	memcpy(q, p, n);
	q[0] = 0x44;
	refused(x, q, n, "IHL 4");
	memcpy(q, p, n);
	q[0] = 0x4f;                                     /* 60 bytes of header */
	refused(x, q, n, "IHL past the packet");
	memcpy(q, p, n);
	q[3] = 33;
	ip_sum(q);
	refused(x, q, n, "total length past the packet");
	memcpy(q, p, n);
	q[3] = 19;
	ip_sum(q);
	refused(x, q, n, "total length under the header");
	memcpy(q, p, n);
	q[10] ^= 1;
	refused(x, q, n, "bad header checksum");
	memcpy(q, p, n);
	q[6] = 0x20;                                     /* MF */
	ip_sum(q);
	refused(x, q, n, "first fragment");
	memcpy(q, p, n);
	q[6] = 0;
	q[7] = 8;                                        /* offset 64 */
	ip_sum(q);
	refused(x, q, n, "non-first fragment");
	memcpy(q, p, n);
	q[6] = 0x80;
	ip_sum(q);
	refused(x, q, n, "reserved flag");
	memcpy(q, p, n);
	q[25] = 40;
	refused(x, q, n, "UDP length past the packet");
	memcpy(q, p, n);
	q[25] = 7;
	refused(x, q, n, "UDP length under 8");
	memcpy(q, p, n);
	q[3] = 27;
	ip_sum(q);
	refused(x, q, 27, "UDP header cut");

	n = tcp_syn(p, "100.100.0.2", "127.0.0.1");
	memcpy(q, p, n);
	q[32] = 4 << 4;
	refused(x, q, n, "TCP data offset 4");
	memcpy(q, p, n);
	q[32] = 6 << 4;
	refused(x, q, n, "TCP data offset past the packet");
	memcpy(q, p, n);
	q[3] = 39;
	ip_sum(q);
	refused(x, q, 39, "TCP header cut");

	exitsrv_free(x);
}

static void test_rules_on_input(void **state)
{
	struct exitsrv *x = open_srv(true, 0);
	uint8_t p[64];
	size_t n;

	(void)state;
	n = udp_pkt(p, "100.100.0.2", "127.0.0.1", 40000, 53);
	refused(x, p, n, "to loopback");
	n = udp_pkt(p, "100.100.0.2", "100.100.0.3", 40000, 53);
	refused(x, p, n, "to the mesh");
	n = udp_pkt(p, "100.100.0.2", "100.100.0.1", 40000, 53);
	refused(x, p, n, "to ourselves");
	n = udp_pkt(p, "100.100.0.2", "224.0.0.251", 40000, 5353);
	refused(x, p, n, "to multicast");
	n = udp_pkt(p, "100.100.0.2", "255.255.255.255", 40000, 67);
	refused(x, p, n, "to broadcast");
	n = udp_pkt(p, "100.100.0.2", "169.254.169.254", 40000, 80);
	refused(x, p, n, "to link-local");
	n = udp_pkt(p, "192.0.2.7", "198.51.100.7", 40000, 53);
	refused(x, p, n, "from outside the mesh");
	n = udp_pkt(p, "100.100.0.1", "198.51.100.7", 40000, 53);
	refused(x, p, n, "from ourselves");
	n = udp_pkt(p, "100.100.255.255", "198.51.100.7", 40000, 53);
	refused(x, p, n, "from the mesh broadcast address");
	n = udp_pkt(p, "100.100.0.2", "198.51.100.7", 40000, 0);
	refused(x, p, n, "to port 0");
	/* other protocols: GRE, an ICMP echo reply */
	n = udp_pkt(p, "100.100.0.2", "198.51.100.7", 40000, 53);
	p[9] = 47;
	ip_sum(p);
	refused(x, p, n, "GRE");
	n = udp_pkt(p, "100.100.0.2", "198.51.100.7", 40000, 53);
	p[9] = 1;
	p[20] = 0;                                       /* echo reply */
	ip_sum(p);
	refused(x, p, n, "ICMP echo reply");
	exitsrv_free(x);
}

/* Random bytes, random lengths, some with a plausible IPv4 start: all
 * counted, never a crash (ASan and UBSan watch). */
static void test_random(void **state)
{
	struct exitsrv *x = open_srv(false, 0);
	uint8_t p[1600];
	struct exitsrv_stats st;
	unsigned seed = 12345;

	(void)state;
	for (int i = 0; i < 20000; i++) {
		size_t len = (size_t)rand_r(&seed) % sizeof(p);

		for (size_t j = 0; j < len; j++)
			p[j] = (uint8_t)rand_r(&seed);
		if (len >= 20 && (i & 1)) {
			p[0] = (uint8_t)(0x40 | (p[0] & 0x0f));
			p[2] = (uint8_t)(len >> 8);
			p[3] = (uint8_t)len;
			p[12] = 100;
			p[13] = 100;
			p[16] = 127;                     /* never let out */
			ip_sum(p);
		}
		exitsrv_input(x, p, len);
	}
	exitsrv_get_stats(x, &st);
	assert_int_equal(st.in_packets, 20000);
	assert_int_equal(st.refused, 20000);
	assert_int_equal(st.out_packets, 0);
	exitsrv_free(x);
}

/* In an empty network namespace (root only): allowed packets reach slirp,
 * whose sendto fails (no route): the client gets ICMP unreachable from our
 * address, and flows over max_flows are refused. */
static void test_let_through_netns(void **state)
{
	struct exitsrv *x;
	struct exitsrv_stats st;
	uint8_t p[64];
	size_t n;

	(void)state;
	if (unshare(CLONE_NEWNET) < 0)
		skip();
	x = open_srv(false, 1);
	n_out = 0;
	n = udp_pkt(p, "100.100.0.2", "198.51.100.7", 40000, 53);
	exitsrv_input(x, p, n);
	exitsrv_get_stats(x, &st);
	assert_int_equal(st.refused, 0);
	assert_int_equal(st.flows, 1);
	assert_int_equal(n_out, 1);
	assert_int_equal(st.out_packets, 1);
	/* ICMP (1) destination unreachable (3) from 100.100.0.1 to the client */
	assert_true(last_len >= 28);
	assert_int_equal(last_out[9], 1);
	assert_int_equal(last_out[20], 3);
	assert_memory_equal(last_out + 12, "\x64\x64\x00\x01", 4);
	assert_memory_equal(last_out + 16, "\x64\x64\x00\x02", 4);

	/* malformed, to an allowed destination: refused for what they are */
	{
		uint8_t q[64];

		memcpy(q, p, n);
		q[10] ^= 1;
		refused(x, q, n, "bad header checksum (allowed destination)");
		memcpy(q, p, n);
		q[6] = 0x20;
		ip_sum(q);
		refused(x, q, n, "first fragment (allowed destination)");
		memcpy(q, p, n);
		q[6] = 0;
		q[7] = 8;
		ip_sum(q);
		refused(x, q, n, "non-first fragment (allowed destination)");
		memcpy(q, p, n);
		q[25] = 40;
		refused(x, q, n, "UDP length past the packet (allowed destination)");
		memcpy(q, p, n);
		q[3] = 33;
		ip_sum(q);
		refused(x, q, n, "total length past the packet (allowed destination)");
	}
	/* the same client socket again: no new flow */
	exitsrv_get_stats(x, &st);
	uint64_t before = st.refused;
	exitsrv_input(x, p, n);
	exitsrv_get_stats(x, &st);
	assert_int_equal(st.refused, before);
	assert_int_equal(st.flows, 1);
	/* another source port, a SYN: over max_flows 1 */
	n = udp_pkt(p, "100.100.0.2", "198.51.100.7", 40001, 53);
	refused(x, p, n, "a second UDP flow");
	n = tcp_syn(p, "100.100.0.3", "203.0.113.9");
	refused(x, p, n, "a TCP SYN beyond max_flows");
	exitsrv_free(x);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_ranges),
		cmocka_unit_test(test_other_mesh_prefix),
		cmocka_unit_test(test_lan),
		cmocka_unit_test(test_new_checks),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_rules_on_input),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_let_through_netns),    /* last: it leaves the namespace */
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
