/* Allowed IPs: specific cases in the spirit of the Linux module's selftest
 * (overlaps, moves, /0, /32, /128, removal), then randomized runs checked
 * against a naive longest-prefix search. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/addr.h"
#include "wg/allowedips.h"

static char peer_a, peer_b, peer_c, peer_d, peer_e;
#define A ((void *)&peer_a)
#define B ((void *)&peer_b)
#define C ((void *)&peer_c)
#define D ((void *)&peer_d)
#define E ((void *)&peer_e)

static struct cidr P(const char *s)
{
	struct cidr c;

	assert_int_equal(cidr_parse(s, &c), 0);
	return c;
}

static int ins(struct allowedips *a, const char *s, void *peer)
{
	struct cidr c = P(s);

	return allowedips_insert(a, &c, peer);
}

static int rem(struct allowedips *a, const char *s, void *peer)
{
	struct cidr c = P(s);

	return allowedips_remove(a, &c, peer);
}

static void *look(struct allowedips *a, const char *ip)
{
	uint8_t addr[16];
	int family;

	assert_int_equal(addr_ip_parse(ip, &family, addr), 0);
	return allowedips_lookup(a, family, addr);
}

/* Collects a peer's prefixes as text, sorted, space-separated. */
struct collect {
	char items[64][ADDR_CIDR_STRLEN];
	size_t n;
};

static int collect_fn(void *ctx, const struct cidr *prefix)
{
	struct collect *c = ctx;

	assert_true(c->n < 64);
	cidr_format(prefix, c->items[c->n++]);
	return 0;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(x, y);
}

/* The peer's prefixes in walk order, or sorted. */
static const char *walk_text_order(struct allowedips *a, void *peer, bool sorted)
{
	static char out[64 * (ADDR_CIDR_STRLEN + 1)];
	struct collect c = { .n = 0 };

	assert_int_equal(allowedips_walk_by_peer(a, peer, collect_fn, &c), 0);
	if (sorted)
		qsort(c.items, c.n, sizeof(c.items[0]), cmp_str);
	out[0] = 0;
	for (size_t i = 0; i < c.n; i++) {
		if (i)
			strcat(out, " ");
		strcat(out, c.items[i]);
	}
	return out;
}

static const char *walk_text(struct allowedips *a, void *peer)
{
	return walk_text_order(a, peer, true);
}

static struct allowedips *mk(void)
{
	struct allowedips *a = NULL;

	assert_int_equal(allowedips_create(&a), 0);
	assert_non_null(a);
	return a;
}

static void test_v4_overlaps(void **state)
{
	struct allowedips *a = mk();

	(void)state;
	assert_null(look(a, "192.0.2.1"));
	assert_int_equal(ins(a, "192.0.2.0/24", A), 0);
	assert_int_equal(ins(a, "192.0.2.128/25", B), 0);
	assert_int_equal(ins(a, "192.0.2.1/32", C), 0);
	assert_int_equal(ins(a, "192.0.0.0/16", D), 0);
	assert_ptr_equal(look(a, "192.0.2.1"), C);
	assert_ptr_equal(look(a, "192.0.2.2"), A);
	assert_ptr_equal(look(a, "192.0.2.0"), A);
	assert_ptr_equal(look(a, "192.0.2.127"), A);
	assert_ptr_equal(look(a, "192.0.2.128"), B);
	assert_ptr_equal(look(a, "192.0.2.255"), B);
	assert_ptr_equal(look(a, "192.0.3.1"), D);
	assert_ptr_equal(look(a, "192.0.255.255"), D);
	assert_null(look(a, "192.1.0.0"));
	assert_null(look(a, "10.0.0.1"));
	assert_null(look(a, "2001:db8::1"));
	assert_int_equal(allowedips_count(a), 4);

	/* Prefixes that part at an early bit need an interior node. */
	assert_int_equal(ins(a, "10.0.0.0/8", A), 0);
	assert_int_equal(ins(a, "10.128.0.0/9", B), 0);
	assert_int_equal(ins(a, "10.64.0.0/10", C), 0);
	assert_int_equal(ins(a, "11.0.0.0/8", D), 0);
	assert_int_equal(ins(a, "10.200.1.0/24", E), 0);
	assert_ptr_equal(look(a, "10.1.1.1"), A);
	assert_ptr_equal(look(a, "10.64.0.1"), C);
	assert_ptr_equal(look(a, "10.127.255.255"), C);
	assert_ptr_equal(look(a, "10.128.0.0"), B);
	assert_ptr_equal(look(a, "10.200.1.7"), E);
	assert_ptr_equal(look(a, "10.200.2.7"), B);
	assert_ptr_equal(look(a, "11.255.0.1"), D);
	assert_null(look(a, "12.0.0.1"));
	assert_null(look(a, "9.255.255.255"));
	assert_int_equal(allowedips_count(a), 9);
	assert_string_equal(walk_text(a, D), "11.0.0.0/8 192.0.0.0/16");
	allowedips_free(a);
}

static void test_v6(void **state)
{
	struct allowedips *a = mk();

	(void)state;
	assert_int_equal(ins(a, "2001:db8::/32", A), 0);
	assert_int_equal(ins(a, "2001:db8:1::/48", B), 0);
	assert_int_equal(ins(a, "2001:db8:1:2::/64", C), 0);
	assert_int_equal(ins(a, "2001:db8:1:2::1/128", D), 0);
	assert_int_equal(ins(a, "2001:db8:1:2:8000::/65", E), 0);
	assert_ptr_equal(look(a, "2001:db8::1"), A);
	assert_ptr_equal(look(a, "2001:db8:ffff::1"), A);
	assert_ptr_equal(look(a, "2001:db8:1::1"), B);
	assert_ptr_equal(look(a, "2001:db8:1:2::1"), D);
	assert_ptr_equal(look(a, "2001:db8:1:2::2"), C);
	assert_ptr_equal(look(a, "2001:db8:1:2:7fff:ffff:ffff:ffff"), C);
	assert_ptr_equal(look(a, "2001:db8:1:2:8000::"), E);
	assert_ptr_equal(look(a, "2001:db8:1:2:ffff::1"), E);
	assert_ptr_equal(look(a, "2001:db8:1:3::1"), B);
	assert_null(look(a, "2001:db9::1"));
	assert_null(look(a, "::1"));
	assert_null(look(a, "192.0.2.1"));
	/* A v4-mapped v6 prefix lives in the v6 trie only. */
	assert_int_equal(ins(a, "::ffff:192.0.2.0/120", B), 0);
	assert_ptr_equal(look(a, "::ffff:192.0.2.9"), B);
	assert_null(look(a, "192.0.2.9"));
	/* Parts in the low 64 bits only. */
	assert_int_equal(ins(a, "2001:db8:1:2:0:0:0:100/120", A), 0);
	assert_ptr_equal(look(a, "2001:db8:1:2::1ff"), A);
	assert_ptr_equal(look(a, "2001:db8:1:2::200"), C);
	assert_ptr_equal(look(a, "2001:db8:1:2::1"), D);
	assert_int_equal(allowedips_count(a), 7);
	allowedips_free(a);
}

static void test_default_routes(void **state)
{
	struct allowedips *a = mk();

	(void)state;
	assert_int_equal(ins(a, "0.0.0.0/0", A), 0);
	assert_ptr_equal(look(a, "0.0.0.0"), A);
	assert_ptr_equal(look(a, "255.255.255.255"), A);
	assert_ptr_equal(look(a, "203.0.113.5"), A);
	assert_null(look(a, "2001:db8::1"));
	assert_int_equal(ins(a, "203.0.113.0/24", B), 0);
	assert_ptr_equal(look(a, "203.0.113.5"), B);
	assert_ptr_equal(look(a, "203.0.114.5"), A);
	assert_int_equal(ins(a, "::/0", C), 0);
	assert_ptr_equal(look(a, "::"), C);
	assert_ptr_equal(look(a, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), C);
	assert_ptr_equal(look(a, "2001:db8::1"), C);
	assert_int_equal(ins(a, "::/1", D), 0);
	assert_ptr_equal(look(a, "2001:db8::1"), D);
	assert_ptr_equal(look(a, "8000::1"), C);
	/* /0 with host bits set is still /0. */
	assert_int_equal(ins(a, "1.2.3.4/0", E), 0);
	assert_ptr_equal(look(a, "9.9.9.9"), E);
	assert_string_equal(walk_text(a, E), "0.0.0.0/0");
	assert_string_equal(walk_text(a, A), "");
	assert_int_equal(rem(a, "0.0.0.0/0", E), 0);
	assert_null(look(a, "9.9.9.9"));
	assert_ptr_equal(look(a, "203.0.113.200"), B);
	assert_int_equal(rem(a, "::/0", C), 0);
	assert_null(look(a, "8000::1"));
	assert_ptr_equal(look(a, "::2"), D);
	assert_int_equal(allowedips_count(a), 2);
	allowedips_free(a);
}

static void test_hosts(void **state)
{
	struct allowedips *a = mk();

	(void)state;
	assert_int_equal(ins(a, "198.51.100.1/32", A), 0);
	assert_int_equal(ins(a, "198.51.100.2", B), 0);
	assert_int_equal(ins(a, "198.51.100.3/32", C), 0);
	assert_ptr_equal(look(a, "198.51.100.1"), A);
	assert_ptr_equal(look(a, "198.51.100.2"), B);
	assert_ptr_equal(look(a, "198.51.100.3"), C);
	assert_null(look(a, "198.51.100.0"));
	assert_null(look(a, "198.51.100.4"));
	assert_int_equal(ins(a, "2001:db8::1/128", A), 0);
	assert_int_equal(ins(a, "2001:db8::", B), 0);
	assert_ptr_equal(look(a, "2001:db8::1"), A);
	assert_ptr_equal(look(a, "2001:db8::"), B);
	assert_null(look(a, "2001:db8::2"));
	assert_string_equal(walk_text(a, A), "198.51.100.1/32 2001:db8::1/128");
	allowedips_free(a);
}

static void test_host_bits_ignored(void **state)
{
	struct allowedips *a = mk();

	(void)state;
	assert_int_equal(ins(a, "192.0.2.77/24", A), 0);
	assert_string_equal(walk_text(a, A), "192.0.2.0/24");
	assert_ptr_equal(look(a, "192.0.2.200"), A);
	/* The same prefix written with other host bits is the same prefix. */
	assert_int_equal(ins(a, "192.0.2.1/24", A), 0);
	assert_int_equal(allowedips_count(a), 1);
	assert_int_equal(ins(a, "2001:db8:aaaa:bbbb::1/33", B), 0);
	assert_string_equal(walk_text(a, B), "2001:db8:8000::/33");
	assert_int_equal(rem(a, "192.0.2.5/24", A), 0);
	assert_int_equal(rem(a, "2001:db8:ffff::/33", B), 0);
	assert_int_equal(allowedips_count(a), 0);
	assert_null(look(a, "192.0.2.200"));
	allowedips_free(a);
}

static void test_move(void **state)
{
	struct allowedips *a = mk();

	(void)state;
	assert_int_equal(ins(a, "198.51.100.0/24", A), 0);
	assert_int_equal(ins(a, "198.51.100.0/25", A), 0);
	assert_int_equal(ins(a, "198.51.100.0/24", B), 0);
	assert_ptr_equal(look(a, "198.51.100.200"), B);
	assert_ptr_equal(look(a, "198.51.100.20"), A);
	assert_int_equal(allowedips_count(a), 2);
	assert_string_equal(walk_text(a, A), "198.51.100.0/25");
	assert_string_equal(walk_text(a, B), "198.51.100.0/24");
	/* The old owner can no longer remove it. */
	assert_int_equal(rem(a, "198.51.100.0/24", A), -ENOENT);
	assert_ptr_equal(look(a, "198.51.100.200"), B);
	/* Re-inserting for the same owner changes nothing. */
	assert_int_equal(ins(a, "198.51.100.0/24", B), 0);
	assert_int_equal(allowedips_count(a), 2);
	/* Moving a peer's last prefix away forgets the peer. */
	assert_int_equal(ins(a, "198.51.100.0/25", C), 0);
	assert_string_equal(walk_text(a, A), "");
	assert_string_equal(walk_text(a, C), "198.51.100.0/25");
	allowedips_remove_by_peer(a, A);
	assert_int_equal(allowedips_count(a), 2);
	allowedips_free(a);
}

static void test_remove(void **state)
{
	struct allowedips *a = mk();

	(void)state;
	assert_int_equal(rem(a, "10.0.0.0/8", A), -ENOENT);
	assert_int_equal(ins(a, "10.0.0.0/8", A), 0);
	assert_int_equal(ins(a, "10.1.0.0/16", B), 0);
	assert_int_equal(ins(a, "10.2.0.0/16", C), 0);
	assert_int_equal(ins(a, "10.1.1.0/24", D), 0);
	/* Wrong owner, missing prefix, an interior node (10.0.0.0/14 joins
	 * 10.1/16 and 10.2/16 below 10/8), a longer and a shorter prefix. */
	assert_int_equal(rem(a, "10.0.0.0/8", B), -ENOENT);
	assert_int_equal(rem(a, "10.3.0.0/16", A), -ENOENT);
	assert_int_equal(rem(a, "10.0.0.0/14", A), -ENOENT);
	assert_int_equal(rem(a, "10.0.0.0/9", A), -ENOENT);
	assert_int_equal(rem(a, "10.0.0.0/7", A), -ENOENT);
	assert_int_equal(allowedips_count(a), 4);
	/* Removing a node with children keeps them reachable. */
	assert_int_equal(rem(a, "10.0.0.0/8", A), 0);
	assert_null(look(a, "10.0.0.1"));
	assert_ptr_equal(look(a, "10.1.2.3"), B);
	assert_ptr_equal(look(a, "10.1.1.3"), D);
	assert_ptr_equal(look(a, "10.2.2.3"), C);
	/* A node with one child, then a leaf whose parent is interior. */
	assert_int_equal(rem(a, "10.1.0.0/16", B), 0);
	assert_ptr_equal(look(a, "10.1.1.3"), D);
	assert_null(look(a, "10.1.2.3"));
	assert_int_equal(rem(a, "10.1.1.0/24", D), 0);
	assert_null(look(a, "10.1.1.3"));
	assert_ptr_equal(look(a, "10.2.2.3"), C);
	/* An interior node (10.0.0.0/14 again) that gets a peer, then loses it. */
	assert_int_equal(ins(a, "10.1.0.0/16", A), 0);
	assert_int_equal(rem(a, "10.0.0.0/14", E), -ENOENT);
	assert_int_equal(ins(a, "10.0.0.0/14", E), 0);
	assert_ptr_equal(look(a, "10.0.0.1"), E);
	assert_ptr_equal(look(a, "10.3.0.1"), E);
	assert_ptr_equal(look(a, "10.1.0.1"), A);
	assert_ptr_equal(look(a, "10.2.0.1"), C);
	assert_int_equal(allowedips_count(a), 3);
	assert_int_equal(rem(a, "10.0.0.0/14", E), 0);
	assert_int_equal(rem(a, "10.0.0.0/14", E), -ENOENT);
	assert_null(look(a, "10.0.0.1"));
	assert_null(look(a, "10.3.0.1"));
	assert_ptr_equal(look(a, "10.1.0.1"), A);
	assert_ptr_equal(look(a, "10.2.0.1"), C);
	assert_int_equal(rem(a, "10.2.0.0/16", C), 0);
	assert_int_equal(rem(a, "10.1.0.0/16", A), 0);
	assert_int_equal(allowedips_count(a), 0);
	assert_null(look(a, "10.1.0.1"));
	/* Re-usable after emptying. */
	assert_int_equal(ins(a, "10.3.0.0/16", A), 0);
	assert_ptr_equal(look(a, "10.3.0.1"), A);
	assert_int_equal(allowedips_count(a), 1);
	allowedips_free(a);
}

static void test_remove_by_peer(void **state)
{
	struct allowedips *a = mk();

	(void)state;
	assert_int_equal(ins(a, "0.0.0.0/0", A), 0);
	assert_int_equal(ins(a, "192.0.2.0/24", B), 0);
	assert_int_equal(ins(a, "192.0.2.0/25", A), 0);
	assert_int_equal(ins(a, "192.0.2.7/32", B), 0);
	assert_int_equal(ins(a, "2001:db8::/32", A), 0);
	assert_int_equal(ins(a, "2001:db8:1::/48", B), 0);
	assert_int_equal(ins(a, "::/0", C), 0);
	assert_int_equal(allowedips_count(a), 7);
	allowedips_remove_by_peer(a, A);
	assert_int_equal(allowedips_count(a), 4);
	assert_string_equal(walk_text(a, A), "");
	assert_null(look(a, "203.0.113.1"));
	assert_ptr_equal(look(a, "192.0.2.1"), B);
	assert_ptr_equal(look(a, "192.0.2.7"), B);
	assert_ptr_equal(look(a, "2001:db8::1"), C);
	assert_ptr_equal(look(a, "2001:db8:1::1"), B);
	allowedips_remove_by_peer(a, D); /* none: a no-op */
	allowedips_remove_by_peer(a, B);
	assert_int_equal(allowedips_count(a), 1);
	assert_null(look(a, "192.0.2.7"));
	assert_ptr_equal(look(a, "2001:db8:1::1"), C);
	allowedips_remove_by_peer(a, C);
	assert_int_equal(allowedips_count(a), 0);
	assert_null(look(a, "::1"));
	allowedips_free(a);
}

/* The walk lists a peer's prefixes in insertion order, as wg show does. */
static void test_walk_order(void **state)
{
	struct allowedips *a = mk();

	(void)state;
	assert_int_equal(ins(a, "100.100.0.2/32", A), 0);
	assert_int_equal(ins(a, "2001:db8:100::2/128", A), 0);
	assert_int_equal(ins(a, "10.0.0.0/8", A), 0);
	assert_int_equal(ins(a, "0.0.0.0/0", A), 0);
	assert_int_equal(ins(a, "192.0.2.0/24", B), 0);
	assert_string_equal(walk_text_order(a, A, false),
			    "100.100.0.2/32 2001:db8:100::2/128 10.0.0.0/8 0.0.0.0/0");
	/* Removing from the middle, the head and the tail keeps the rest in order. */
	assert_int_equal(rem(a, "10.0.0.0/8", A), 0);
	assert_string_equal(walk_text_order(a, A, false), "100.100.0.2/32 2001:db8:100::2/128 0.0.0.0/0");
	assert_int_equal(rem(a, "100.100.0.2/32", A), 0);
	assert_int_equal(rem(a, "0.0.0.0/0", A), 0);
	assert_string_equal(walk_text_order(a, A, false), "2001:db8:100::2/128");
	/* Re-inserting an owned prefix does not reorder; a moved one goes last. */
	assert_int_equal(ins(a, "100.100.0.2/32", A), 0);
	assert_int_equal(ins(a, "2001:db8:100::2/128", A), 0);
	assert_int_equal(ins(a, "192.0.2.0/24", A), 0);
	assert_string_equal(walk_text_order(a, A, false),
			    "2001:db8:100::2/128 100.100.0.2/32 192.0.2.0/24");
	assert_string_equal(walk_text_order(a, B, false), "");
	allowedips_free(a);
}

static int stop_fn(void *ctx, const struct cidr *prefix)
{
	int *calls = ctx;

	(void)prefix;
	return ++*calls == 2 ? 42 : 0;
}

static void test_walk_and_errors(void **state)
{
	struct allowedips *a = mk();
	struct cidr c;
	int calls = 0;

	(void)state;
	for (int i = 0; i < 5; i++) {
		char s[32];

		snprintf(s, sizeof(s), "100.100.%d.0/24", i);
		assert_int_equal(ins(a, s, A), 0);
	}
	assert_string_equal(walk_text(a, A),
			    "100.100.0.0/24 100.100.1.0/24 100.100.2.0/24 100.100.3.0/24 100.100.4.0/24");
	assert_int_equal(allowedips_walk_by_peer(a, A, stop_fn, &calls), 42);
	assert_int_equal(calls, 2);
	assert_int_equal(allowedips_walk_by_peer(a, B, stop_fn, &calls), 0);

	c = P("192.0.2.0/24");
	assert_int_equal(allowedips_insert(a, &c, NULL), -EINVAL);
	c.prefix = 33;
	assert_int_equal(allowedips_insert(a, &c, A), -EINVAL);
	c = P("2001:db8::/32");
	c.prefix = 129;
	assert_int_equal(allowedips_insert(a, &c, A), -EINVAL);
	assert_int_equal(allowedips_remove(a, &c, A), -EINVAL);
	c.family = AF_UNIX;
	c.prefix = 8;
	assert_int_equal(allowedips_insert(a, &c, A), -EINVAL);
	assert_null(allowedips_lookup(a, AF_UNIX, c.addr));
	assert_int_equal(allowedips_count(a), 5);
	allowedips_free(NULL);
	allowedips_free(a);
}

/* Many peers: the peer table grows and deletes with its probing intact. */
static void test_many_peers(void **state)
{
	static char peers[3000];
	struct allowedips *a = mk();
	struct cidr c = P("100.100.0.0/32");

	(void)state;
	for (int i = 0; i < 3000; i++) {
		c.addr[2] = (uint8_t)(i >> 8);
		c.addr[3] = (uint8_t)i;
		assert_int_equal(allowedips_insert(a, &c, &peers[i]), 0);
	}
	for (int i = 0; i < 3000; i += 2)
		allowedips_remove_by_peer(a, &peers[i]);
	assert_int_equal(allowedips_count(a), 1500);
	for (int i = 0; i < 3000; i++) {
		char want[ADDR_CIDR_STRLEN];

		c.addr[2] = (uint8_t)(i >> 8);
		c.addr[3] = (uint8_t)i;
		assert_ptr_equal(allowedips_lookup(a, AF_INET, c.addr), i % 2 ? &peers[i] : NULL);
		cidr_format(&c, want);
		assert_string_equal(walk_text(a, &peers[i]), i % 2 ? want : "");
	}
	allowedips_free(a);
}

static void test_limit(void **state)
{
	struct allowedips *a = mk();
	struct cidr c = P("10.0.0.0/32");
	const uint32_t limit = 1u << 20;

	(void)state;
	for (uint32_t i = 0; i < limit; i++) {
		c.addr[1] = (uint8_t)(i >> 16);
		c.addr[2] = (uint8_t)(i >> 8);
		c.addr[3] = (uint8_t)i;
		if (allowedips_insert(a, &c, A))
			fail_msg("insert %u failed", i);
	}
	assert_int_equal(allowedips_count(a), limit);
	c.addr[1] = 0x20;
	assert_int_equal(allowedips_insert(a, &c, A), -ENOSPC);
	/* Moving an existing prefix is not growth. */
	c.addr[1] = 0;
	assert_int_equal(allowedips_insert(a, &c, B), 0);
	assert_int_equal(allowedips_remove(a, &c, B), 0);
	c.addr[1] = 0x20;
	assert_int_equal(allowedips_insert(a, &c, B), 0);
	allowedips_remove_by_peer(a, A);
	assert_int_equal(allowedips_count(a), 1);
	allowedips_free(a);
}

/* --- randomized, against a naive table ------------------------------------ */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

struct naive {
	struct cidr prefix; /* normalized */
	void *peer;
};

static void *naive_lookup(const struct naive *t, size_t n, int family, const uint8_t *addr)
{
	void *best = NULL;
	int best_len = -1;

	for (size_t i = 0; i < n; i++) {
		if (cidr_contains(&t[i].prefix, family, addr) && t[i].prefix.prefix > best_len) {
			best = t[i].peer;
			best_len = t[i].prefix.prefix;
		}
	}
	return best;
}

static ptrdiff_t naive_find(const struct naive *t, size_t n, const struct cidr *c)
{
	for (size_t i = 0; i < n; i++)
		if (cidr_equal(&t[i].prefix, c))
			return (ptrdiff_t)i;
	return -1;
}

struct count_ctx {
	const struct naive *t;
	size_t n;
	void *peer;
	size_t seen;
};

static int check_walk_fn(void *ctx, const struct cidr *prefix)
{
	struct count_ctx *c = ctx;
	ptrdiff_t i = naive_find(c->t, c->n, prefix);
	struct cidr norm = *prefix;

	cidr_normalize(&norm);
	assert_true(i >= 0);
	assert_ptr_equal(c->t[i].peer, c->peer);
	assert_memory_equal(norm.addr, prefix->addr, 16);
	c->seen++;
	return 0;
}

static void random_prefix(int family, const uint8_t base[][16], struct cidr *c)
{
	unsigned bytes = family == AF_INET ? 4 : 16, max = family == AF_INET ? 32 : 128;

	memset(c, 0, sizeof(*c));
	c->family = family;
	/* Mostly near a few bases, so that prefixes nest and overlap. */
	memcpy(c->addr, base[rnd() % 4], bytes);
	for (unsigned i = 0; i < bytes; i++)
		if (rnd() % 3 == 0)
			c->addr[i] = (uint8_t)rnd();
	if (rnd() % 8 == 0)
		c->prefix = (uint8_t)(rnd() % 4 == 0 ? max : rnd() % 3 == 0 ? 0 : rnd() % (max + 1));
	else
		c->prefix = (uint8_t)(max / 4 + rnd() % (max - max / 4 + 1));
}

static void random_run(int family, unsigned n_ops, unsigned n_lookups)
{
	static char peers[8];
	static const uint8_t base[4][16] = {
		{ 192, 0, 2, 0, 0x20, 0x01, 0x0d, 0xb8 },
		{ 198, 51, 100, 0, 0x20, 0x01, 0x0d, 0xb8, 0, 1 },
		{ 203, 0, 113, 128, 0xff },
		{ 100, 100, 0, 0 },
	};
	unsigned bytes = family == AF_INET ? 4 : 16;
	struct naive *t = calloc(n_ops, sizeof(*t));
	struct allowedips *a = mk();
	size_t n = 0;

	assert_non_null(t);
	for (unsigned op = 0; op < n_ops; op++) {
		unsigned what = (unsigned)(rnd() % 20);
		void *peer = &peers[rnd() % 8];
		struct cidr c;
		ptrdiff_t i;

		random_prefix(family, base, &c);
		if (what < 15) {
			assert_int_equal(allowedips_insert(a, &c, peer), 0);
			cidr_normalize(&c);
			i = naive_find(t, n, &c);
			if (i >= 0) {
				t[i].peer = peer;
			} else {
				t[n].prefix = c;
				t[n++].peer = peer;
			}
		} else if (what < 19 && n) {
			/* Remove an existing prefix, sometimes with the wrong peer. */
			i = (ptrdiff_t)(rnd() % n);
			c = t[i].prefix;
			if (rnd() % 4 == 0 && peer != t[i].peer) {
				assert_int_equal(allowedips_remove(a, &c, peer), -ENOENT);
			} else {
				assert_int_equal(allowedips_remove(a, &c, t[i].peer), 0);
				t[i] = t[--n];
			}
		} else if (what == 19 && rnd() % 8 == 0) {
			allowedips_remove_by_peer(a, peer);
			for (size_t j = 0; j < n;) {
				if (t[j].peer == peer)
					t[j] = t[--n];
				else
					j++;
			}
		}
		assert_int_equal(allowedips_count(a), n);
	}
	for (unsigned k = 0; k < n_lookups; k++) {
		uint8_t addr[16] = { 0 };

		if (n && k % 2 == 0) {
			/* Inside or next to a known prefix. */
			const struct cidr *p = &t[rnd() % n].prefix;

			memcpy(addr, p->addr, bytes);
			for (unsigned i = p->prefix / 8; i < bytes; i++)
				addr[i] = (uint8_t)rnd();
			if (rnd() % 4 == 0)
				addr[rnd() % bytes] ^= (uint8_t)(1u << (rnd() % 8));
		} else {
			memcpy(addr, base[rnd() % 4], bytes);
			for (unsigned i = 0; i < bytes; i++)
				if (rnd() % 2)
					addr[i] = (uint8_t)rnd();
		}
		void *want = naive_lookup(t, n, family, addr);
		void *got = allowedips_lookup(a, family, addr);

		if (want != got)
			fail_msg("lookup %u: want peer %td, got %td", k,
				 want ? (char *)want - peers : -1, got ? (char *)got - peers : -1);
	}
	for (int p = 0; p < 8; p++) {
		struct count_ctx ctx = { t, n, &peers[p], 0 };
		size_t want = 0;

		for (size_t i = 0; i < n; i++)
			want += t[i].peer == &peers[p];
		assert_int_equal(allowedips_walk_by_peer(a, &peers[p], check_walk_fn, &ctx), 0);
		assert_int_equal(ctx.seen, want);
	}
	/* Tear down through removal, checking emptiness at the end. */
	while (n) {
		size_t i = (size_t)(rnd() % n);

		assert_int_equal(allowedips_remove(a, &t[i].prefix, t[i].peer), 0);
		t[i] = t[--n];
	}
	assert_int_equal(allowedips_count(a), 0);
	allowedips_free(a);
	free(t);
}

static void test_random_v4(void **state)
{
	(void)state;
	rng_state = 0x9e3779b97f4a7c15ULL;
	for (int round = 0; round < 4; round++)
		random_run(AF_INET, 4000, 20000);
}

static void test_random_v6(void **state)
{
	(void)state;
	rng_state = 0x0123456789abcdefULL;
	for (int round = 0; round < 4; round++)
		random_run(AF_INET6, 4000, 20000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_overlaps),
		cmocka_unit_test(test_v6),
		cmocka_unit_test(test_default_routes),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_host_bits_ignored),
		cmocka_unit_test(test_move),
		cmocka_unit_test(test_remove),
		cmocka_unit_test(test_remove_by_peer),
		cmocka_unit_test(test_walk_order),
		cmocka_unit_test(test_walk_and_errors),
		cmocka_unit_test(test_many_peers),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_random_v4),
		cmocka_unit_test(test_random_v6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
