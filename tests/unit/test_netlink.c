/* src/nexd/netlink.c against the kernel, in a private network namespace of
 * this process (unshare(CLONE_NEWNET): only lo, nothing of the host's is
 * touched). Skipped when namespaces cannot be made (not root). The e2e test
 * tests/e2e/test_netlink.sh compares the same calls with ip(8). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/rtnetlink.h>

#include "common/addr.h"
#include "common/log.h"
#include "nexd/netlink.h"

static struct nl *nl;
static unsigned lo;

static int setup(void **state)
{
	(void)state;
	log_init("test_netlink", LOG_LEVEL_WARN);
	if (unshare(CLONE_NEWNET) < 0) {
		fprintf(stderr, "test_netlink: cannot make a network namespace (%s): skipped\n",
			strerror(errno));
		return 0;
	}
	if (nl_open(&nl) < 0)
		return -1;
	if (nl_link_index(nl, "lo", &lo) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	nl_close(nl);
	return 0;
}

#define NEED_NS() do { if (!nl) skip(); } while (0)

static struct cidr cidr(const char *s)
{
	struct cidr c;

	assert_int_equal(cidr_parse(s, &c), 0);
	return c;
}

static void test_links(void **state)
{
	unsigned idx;
	struct nl_monitor *m;
	unsigned ev = 99;

	(void)state;
	NEED_NS();
	assert_int_equal(lo, 1);
	assert_int_equal(nl_link_index(nl, "nope0", &idx), -ENODEV);
	assert_int_equal(nl_link_index(nl, "", &idx), -EINVAL);
	assert_int_equal(nl_link_index(nl, "a-name-far-too-long", &idx), -EINVAL);

	assert_int_equal(nl_monitor_open(&m), 0);
	assert_int_equal(nl_monitor_drain(m, &ev), 0);   /* nothing pending */
	assert_int_equal(ev, 0);
	assert_int_equal(nl_link_set_up(nl, lo, true), 0);
	assert_int_equal(nl_link_set_mtu(nl, lo, 9000), 0);
	assert_int_equal(nl_link_set_mtu(nl, lo, 65536), 0);
	assert_int_equal(nl_link_set_mtu(nl, lo, 67), -EINVAL);
	assert_int_equal(nl_link_set_up(nl, 0, true), -EINVAL);
	assert_int_equal(nl_link_set_up(nl, 4242, true), -ENODEV);
	{
		struct pollfd pfd = { .fd = nl_monitor_fd(m), .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 2000), 1);
	}
	assert_int_equal(nl_monitor_drain(m, &ev), 0);
	assert_true(ev & NL_EVENT_LINK);
	nl_monitor_close(m);
}

static void test_addresses(void **state)
{
	struct nl_addr list[8];
	struct cidr a = cidr("192.0.2.1/24"), b = cidr("2001:db8::1/64");
	size_t n = 99;

	(void)state;
	NEED_NS();
	assert_int_equal(nl_addr_add(nl, lo, &a), 0);
	assert_int_equal(nl_addr_add(nl, lo, &b), 0);
	assert_int_equal(nl_addr_add(nl, lo, &a), -EEXIST);
	assert_true(strlen(nl_last_error(nl)) > 0);   /* the kernel says why */

	assert_int_equal(nl_addr_list(nl, lo, AF_INET, list, 8, &n), 0);
	/* 127.0.0.1/8 and ours */
	assert_int_equal(n, 2);
	assert_true(cidr_equal(&list[1].addr, &a) || cidr_equal(&list[0].addr, &a));
	assert_int_equal(nl_addr_list(nl, lo, AF_INET6, list, 8, &n), 0);
	assert_int_equal(n, 2);   /* ::1 and ours */
	/* too small an array: the first entries and -ENOSPC */
	assert_int_equal(nl_addr_list(nl, 0, AF_UNSPEC, list, 3, &n), -ENOSPC);
	assert_int_equal(nl_addr_list(nl, 0, AF_UNSPEC, list, 4, &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(nl_addr_list(nl, 0, AF_PACKET, list, 4, &n), -EINVAL);

	assert_int_equal(nl_addr_del(nl, lo, &a), 0);
	assert_int_equal(nl_addr_del(nl, lo, &a), -EADDRNOTAVAIL);
	assert_int_equal(nl_addr_del(nl, lo, &b), 0);
	a.prefix = 33;
	assert_int_equal(nl_addr_add(nl, lo, &a), -EINVAL);
}

static void test_routes_and_flush(void **state)
{
	struct nl_route r = { 0 }, list[4], def;
	struct nl_monitor *m;
	unsigned removed = 0, ev = 0;
	size_t n;
	char s[ADDR_CIDR_STRLEN];

	(void)state;
	NEED_NS();
	assert_int_equal(nl_route_get_default(nl, AF_INET, &def), -ENOENT);
	assert_int_equal(nl_monitor_open(&m), 0);

	/* 300 blackhole routes in table 51820: more than one flush batch */
	r.table = 51820;
	r.type = RTN_BLACKHOLE;
	for (int i = 0; i < 300; i++) {
		snprintf(s, sizeof(s), "198.51.%d.%d/32", 100 + i / 200, i % 200);
		r.dst = cidr(s);
		assert_int_equal(nl_route_add(nl, &r), 0);
	}
	assert_int_equal(nl_route_add(nl, &r), -EEXIST);
	assert_int_equal(nl_route_list(nl, AF_INET, 51820, list, 4, &n), -ENOSPC);
	assert_int_equal(n, 4);
	assert_int_equal(list[0].type, RTN_BLACKHOLE);
	assert_int_equal(list[0].table, 51820);
	{
		struct pollfd pfd = { .fd = nl_monitor_fd(m), .events = POLLIN };

		assert_int_equal(poll(&pfd, 1, 2000), 1);
	}
	assert_int_equal(nl_monitor_drain(m, &ev), 0);
	assert_true(ev & NL_EVENT_ROUTE);
	nl_monitor_close(m);

	/* a default route in another table is not the main table's */
	memset(&r, 0, sizeof(r));
	r.dst = cidr("0.0.0.0/0");
	r.table = 19302;
	r.type = RTN_UNICAST;
	r.oif = lo;
	assert_int_equal(nl_route_add(nl, &r), 0);
	assert_int_equal(nl_route_get_default(nl, AF_INET, &def), -ENOENT);
	r.table = RT_TABLE_MAIN;
	r.metric = 50;
	assert_int_equal(nl_route_add(nl, &r), 0);
	assert_int_equal(nl_route_get_default(nl, AF_INET, &def), 0);
	assert_int_equal(def.oif, lo);
	assert_false(def.has_gateway);
	assert_int_equal(def.metric, 50);
	assert_int_equal(nl_route_del(nl, &r), 0);
	assert_int_equal(nl_route_del(nl, &r), -ESRCH);

	assert_int_equal(nl_route_flush_table(nl, AF_INET, 51820, &removed), 0);
	assert_int_equal(removed, 300);
	assert_int_equal(nl_route_list(nl, AF_INET, 51820, list, 4, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(nl_route_flush_table(nl, AF_INET, 19302, &removed), 0);
	assert_int_equal(removed, 1);

	/* bad requests */
	memset(&r, 0, sizeof(r));
	r.dst = cidr("203.0.113.0/24");
	r.table = 51820;
	r.type = RTN_UNICAST;
	assert_int_equal(nl_route_add(nl, &r), -EINVAL);   /* neither device nor gateway */
	r.type = RTN_BLACKHOLE;
	r.oif = lo;
	assert_int_equal(nl_route_add(nl, &r), -EINVAL);   /* blackhole with a device */
	r.oif = 0;
	r.table = 0;
	assert_int_equal(nl_route_add(nl, &r), -EINVAL);
	assert_int_equal(nl_route_list(nl, AF_UNSPEC, 51820, list, 4, &n), -EINVAL);
}

static void test_rules(void **state)
{
	struct nl_rule rules[3] = {
		{ .family = AF_INET6, .priority = 19300, .table = RT_TABLE_MAIN,
		  .has_suppress_prefixlen = true, .suppress_prefixlen = 0 },
		{ .family = AF_INET6, .priority = 19301, .table = 19302,
		  .has_fwmark = true, .fwmark = 0x4b66 },
		{ .family = AF_INET6, .priority = 19302, .table = 51820,
		  .invert = true, .has_fwmark = true, .fwmark = 51820 },
	};
	struct nl_rule list[16], bad;
	size_t n, before;
	unsigned removed = 0;

	(void)state;
	NEED_NS();
	assert_int_equal(nl_rule_list(nl, AF_INET6, list, 16, &before), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(nl_rule_add(nl, &rules[i]), 0);
	assert_int_equal(nl_rule_add(nl, &rules[1]), -EEXIST);
	assert_int_equal(nl_rule_list(nl, AF_INET6, list, 16, &n), 0);
	assert_int_equal(n, before + 3);
	for (size_t i = 0, found = 0; i < n; i++) {
		if (list[i].priority < 19300 || list[i].priority > 19302)
			continue;
		const struct nl_rule *want = &rules[list[i].priority - 19300];

		assert_int_equal(list[i].table, want->table);
		assert_int_equal(list[i].invert, want->invert);
		assert_int_equal(list[i].has_fwmark, want->has_fwmark);
		assert_int_equal(list[i].fwmark, want->fwmark);
		if (want->has_fwmark)
			assert_int_equal(list[i].fwmask, 0xffffffffu);
		assert_int_equal(list[i].has_suppress_prefixlen, want->has_suppress_prefixlen);
		assert_int_equal(list[i].suppress_prefixlen, want->suppress_prefixlen);
		if (++found == 3)
			break;
	}
	assert_int_equal(nl_rule_list(nl, AF_INET6, list, 1, &n), -ENOSPC);

	assert_int_equal(nl_rule_del(nl, &rules[2]), 0);
	assert_int_equal(nl_rule_del(nl, &rules[2]), -ENOENT);
	assert_int_equal(nl_rule_add(nl, &rules[2]), 0);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(nl_rule_del_priority(nl, AF_INET6, rules[i].priority, &removed), 0);
		assert_int_equal(removed, 1);
	}
	assert_int_equal(nl_rule_list(nl, AF_INET6, list, 16, &n), 0);
	assert_int_equal(n, before);
	/* the IPv4 rules were never touched */
	assert_int_equal(nl_rule_del_priority(nl, AF_INET, 19300, &removed), 0);
	assert_int_equal(removed, 0);

	bad = rules[0];
	bad.suppress_prefixlen = 129;
	assert_int_equal(nl_rule_add(nl, &bad), -EINVAL);
	bad = rules[0];
	bad.family = AF_UNSPEC;
	assert_int_equal(nl_rule_add(nl, &bad), -EINVAL);
	bad = rules[1];
	bad.table = 0;
	assert_int_equal(nl_rule_add(nl, &bad), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_links),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_routes_and_flush),
		cmocka_unit_test(test_rules),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
