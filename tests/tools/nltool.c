/* nltool: a small command line over src/nexd/netlink.c, for the end-to-end
 * test of that module (tests/e2e/test_netlink.sh). It prints what the
 * module reports, one object per line, and exits 1 with the kernel's error
 * on stderr when a request fails. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/rtnetlink.h>

#include "common/addr.h"
#include "common/log.h"
#include "nexd/netlink.h"

#define LIST_MAX 4096

static const char *prog = "nltool";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s COMMAND ...\n"
		"  link index IF | link up IF | link down IF | link mtu IF MTU\n"
		"  addr add IF ADDR/LEN | addr del IF ADDR/LEN | addr list [IF]\n"
		"  route add|del DST/LEN table T (dev IF [via GW] | via GW | blackhole) [metric N]\n"
		"  route list -4|-6 table T | route flush -4|-6 table T\n"
		"  default -4|-6\n"
		"  rule add|del -4|-6 priority P [not] [fwmark M[/MASK]] table T [suppress_prefixlength N]\n"
		"  rule list -4|-6 | rule delprio -4|-6 P\n"
		"  monitor SECONDS        print \"link changed\" / \"route changed\" as they come\n"
		"T is a number or main, local, default.\n",
		prog);
}

static __attribute__((noreturn)) void die_usage(const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s '%s'\n", prog, what, arg ? arg : "(missing)");
	usage(stderr);
	exit(2);
}

static unsigned long number(const char *s, unsigned long max, const char *what)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		die_usage(what, s);
	errno = 0;
	v = strtoul(s, &end, 0);
	if (errno || *end || v > max)
		die_usage(what, s);
	return v;
}

static uint32_t table_of(const char *s)
{
	if (s && strcmp(s, "main") == 0)
		return RT_TABLE_MAIN;
	if (s && strcmp(s, "local") == 0)
		return RT_TABLE_LOCAL;
	if (s && strcmp(s, "default") == 0)
		return RT_TABLE_DEFAULT;
	return (uint32_t)number(s, UINT32_MAX, "bad table");
}

static int family_of(const char *s)
{
	if (s && strcmp(s, "-4") == 0)
		return AF_INET;
	if (s && strcmp(s, "-6") == 0)
		return AF_INET6;
	die_usage("expected -4 or -6, got", s);
	return AF_UNSPEC;
}

static __attribute__((noreturn)) void fail(struct nl *nl, const char *what, int err)
{
	const char *text = nl ? nl_last_error(nl) : "";

	fprintf(stderr, "%s: %s: %s%s%s\n", prog, what, strerror(-err), *text ? ": " : "", text);
	exit(1);
}

static unsigned ifindex_of(struct nl *nl, const char *name)
{
	unsigned idx;
	int err;

	if (!name)
		die_usage("missing interface", name);
	err = nl_link_index(nl, name, &idx);
	if (err < 0)
		fail(nl, name, err);
	return idx;
}

static const char *ifname(unsigned idx, char buf[IF_NAMESIZE])
{
	if (!if_indextoname(idx, buf))
		snprintf(buf, IF_NAMESIZE, "if%u", idx);
	return buf;
}

static void print_cidr(const struct cidr *c)
{
	char s[ADDR_CIDR_STRLEN];

	cidr_format(c, s);
	fputs(s, stdout);
}

static const char *table_name(uint32_t t, char buf[16])
{
	if (t == RT_TABLE_MAIN)
		return "main";
	if (t == RT_TABLE_LOCAL)
		return "local";
	if (t == RT_TABLE_DEFAULT)
		return "default";
	snprintf(buf, 16, "%u", t);
	return buf;
}

/* ------------------------------------------------------------------ links */

static int cmd_link(struct nl *nl, int argc, char **argv)
{
	int err;

	if (argc < 2)
		die_usage("link: missing arguments", NULL);
	if (strcmp(argv[0], "index") == 0) {
		printf("%u\n", ifindex_of(nl, argv[1]));
		return 0;
	}
	if (strcmp(argv[0], "up") == 0 || strcmp(argv[0], "down") == 0) {
		err = nl_link_set_up(nl, ifindex_of(nl, argv[1]), argv[0][0] == 'u');
		if (err < 0)
			fail(nl, "link set", err);
		return 0;
	}
	if (strcmp(argv[0], "mtu") == 0 && argc == 3) {
		err = nl_link_set_mtu(nl, ifindex_of(nl, argv[1]),
				      (unsigned)number(argv[2], 1u << 20, "bad mtu"));
		if (err < 0)
			fail(nl, "link mtu", err);
		return 0;
	}
	die_usage("link: unknown command", argv[0]);
	return 2;
}

/* -------------------------------------------------------------- addresses */

static int cmd_addr(struct nl *nl, int argc, char **argv)
{
	struct cidr c;
	int err;

	if (argc < 1)
		die_usage("addr: missing command", NULL);
	if ((strcmp(argv[0], "add") == 0 || strcmp(argv[0], "del") == 0) && argc == 3) {
		unsigned idx = ifindex_of(nl, argv[1]);

		if (cidr_parse(argv[2], &c) < 0)
			die_usage("bad address", argv[2]);
		err = argv[0][0] == 'a' ? nl_addr_add(nl, idx, &c) : nl_addr_del(nl, idx, &c);
		if (err < 0)
			fail(nl, argv[0][0] == 'a' ? "addr add" : "addr del", err);
		return 0;
	}
	if (strcmp(argv[0], "list") == 0 && argc <= 2) {
		static struct nl_addr list[LIST_MAX];
		unsigned idx = argc == 2 ? ifindex_of(nl, argv[1]) : 0;
		char name[IF_NAMESIZE];
		size_t n;

		err = nl_addr_list(nl, idx, AF_UNSPEC, list, LIST_MAX, &n);
		if (err < 0)
			fail(nl, "addr list", err);
		for (size_t i = 0; i < n; i++) {
			printf("%s ", ifname(list[i].ifindex, name));
			print_cidr(&list[i].addr);
			putchar('\n');
		}
		return 0;
	}
	die_usage("addr: unknown command", argv[0]);
	return 2;
}

/* ----------------------------------------------------------------- routes */

static void print_route(const struct nl_route *r)
{
	char name[IF_NAMESIZE], gw[INET6_ADDRSTRLEN], tb[16];

	if (r->type == RTN_BLACKHOLE)
		fputs("blackhole ", stdout);
	else if (r->type != RTN_UNICAST)
		printf("type%u ", r->type);
	print_cidr(&r->dst);
	if (r->has_gateway)
		printf(" via %s", inet_ntop(r->dst.family, r->gateway, gw, sizeof(gw)));
	if (r->oif)
		printf(" dev %s", ifname(r->oif, name));
	printf(" table %s", table_name(r->table, tb));
	if (r->metric)
		printf(" metric %u", r->metric);
	putchar('\n');
}

static void parse_route(struct nl *nl, int argc, char **argv, struct nl_route *r)
{
	bool have_table = false;

	memset(r, 0, sizeof(*r));
	r->type = RTN_UNICAST;
	if (argc < 1 || cidr_parse(argv[0], &r->dst) < 0)
		die_usage("bad destination", argc ? argv[0] : NULL);
	for (int i = 1; i < argc; i++) {
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "table") == 0) {
			r->table = table_of(next);
			have_table = true;
			i++;
		} else if (strcmp(argv[i], "dev") == 0) {
			r->oif = ifindex_of(nl, next);
			i++;
		} else if (strcmp(argv[i], "via") == 0) {
			int fam;

			if (!next || addr_ip_parse(next, &fam, r->gateway) < 0 || fam != r->dst.family)
				die_usage("bad gateway", next);
			r->has_gateway = true;
			i++;
		} else if (strcmp(argv[i], "metric") == 0) {
			r->metric = (uint32_t)number(next, UINT32_MAX, "bad metric");
			i++;
		} else if (strcmp(argv[i], "blackhole") == 0) {
			r->type = RTN_BLACKHOLE;
		} else {
			die_usage("route: unknown word", argv[i]);
		}
	}
	if (!have_table)
		die_usage("route: missing", "table");
}

static int cmd_route(struct nl *nl, int argc, char **argv)
{
	struct nl_route r;
	int err;

	if (argc < 1)
		die_usage("route: missing command", NULL);
	if (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "del") == 0) {
		parse_route(nl, argc - 1, argv + 1, &r);
		err = argv[0][0] == 'a' ? nl_route_add(nl, &r) : nl_route_del(nl, &r);
		if (err < 0)
			fail(nl, argv[0][0] == 'a' ? "route add" : "route del", err);
		return 0;
	}
	if ((strcmp(argv[0], "list") == 0 || strcmp(argv[0], "flush") == 0) && argc == 4 &&
	    strcmp(argv[2], "table") == 0) {
		int family = family_of(argv[1]);
		uint32_t table = table_of(argv[3]);

		if (argv[0][0] == 'l') {
			static struct nl_route list[LIST_MAX];
			size_t n;

			err = nl_route_list(nl, family, table, list, LIST_MAX, &n);
			if (err < 0)
				fail(nl, "route list", err);
			for (size_t i = 0; i < n; i++)
				print_route(&list[i]);
		} else {
			unsigned removed = 0;

			err = nl_route_flush_table(nl, family, table, &removed);
			if (err < 0)
				fail(nl, "route flush", err);
			printf("removed %u\n", removed);
		}
		return 0;
	}
	die_usage("route: unknown command", argv[0]);
	return 2;
}

static int cmd_default(struct nl *nl, int argc, char **argv)
{
	struct nl_route r;
	int err;

	if (argc != 1)
		die_usage("default: expected -4 or -6", NULL);
	err = nl_route_get_default(nl, family_of(argv[0]), &r);
	if (err == -ENOENT) {
		fprintf(stderr, "%s: no default route\n", prog);
		return 1;
	}
	if (err < 0)
		fail(nl, "default", err);
	print_route(&r);
	return 0;
}

/* ------------------------------------------------------------------ rules */

static void print_rule(const struct nl_rule *r)
{
	char tb[16];

	printf("%u:", r->priority);
	if (r->invert)
		fputs(" not", stdout);
	if (r->has_fwmark) {
		printf(" fwmark 0x%x", r->fwmark);
		if (r->fwmask != 0xffffffffu)
			printf("/0x%x", r->fwmask);
	}
	printf(" table %s", table_name(r->table, tb));
	if (r->has_suppress_prefixlen)
		printf(" suppress_prefixlength %u", r->suppress_prefixlen);
	putchar('\n');
}

static void parse_rule(int family, int argc, char **argv, struct nl_rule *r)
{
	bool have_prio = false, have_table = false;

	memset(r, 0, sizeof(*r));
	r->family = family;
	for (int i = 0; i < argc; i++) {
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "priority") == 0) {
			r->priority = (uint32_t)number(next, UINT32_MAX, "bad priority");
			have_prio = true;
			i++;
		} else if (strcmp(argv[i], "table") == 0) {
			r->table = table_of(next);
			have_table = true;
			i++;
		} else if (strcmp(argv[i], "not") == 0) {
			r->invert = true;
		} else if (strcmp(argv[i], "fwmark") == 0) {
			char mark[32], *slash;

			if (!next || strlen(next) >= sizeof(mark))
				die_usage("bad fwmark", next);
			snprintf(mark, sizeof(mark), "%s", next);
			slash = strchr(mark, '/');
			if (slash) {
				*slash = '\0';
				r->fwmask = (uint32_t)number(slash + 1, UINT32_MAX, "bad fwmask");
			}
			r->fwmark = (uint32_t)number(mark, UINT32_MAX, "bad fwmark");
			r->has_fwmark = true;
			i++;
		} else if (strcmp(argv[i], "suppress_prefixlength") == 0) {
			r->suppress_prefixlen = (uint32_t)number(next, 128, "bad prefix length");
			r->has_suppress_prefixlen = true;
			i++;
		} else {
			die_usage("rule: unknown word", argv[i]);
		}
	}
	if (!have_prio || !have_table)
		die_usage("rule: missing", have_prio ? "table" : "priority");
}

static int cmd_rule(struct nl *nl, int argc, char **argv)
{
	struct nl_rule r;
	int err;

	if (argc < 2)
		die_usage("rule: missing arguments", NULL);
	if (strcmp(argv[0], "add") == 0 || strcmp(argv[0], "del") == 0) {
		parse_rule(family_of(argv[1]), argc - 2, argv + 2, &r);
		err = argv[0][0] == 'a' ? nl_rule_add(nl, &r) : nl_rule_del(nl, &r);
		if (err < 0)
			fail(nl, argv[0][0] == 'a' ? "rule add" : "rule del", err);
		return 0;
	}
	if (strcmp(argv[0], "list") == 0 && argc == 2) {
		static struct nl_rule list[LIST_MAX];
		size_t n;

		err = nl_rule_list(nl, family_of(argv[1]), list, LIST_MAX, &n);
		if (err < 0)
			fail(nl, "rule list", err);
		for (size_t i = 0; i < n; i++)
			print_rule(&list[i]);
		return 0;
	}
	if (strcmp(argv[0], "delprio") == 0 && argc == 3) {
		unsigned removed = 0;

		err = nl_rule_del_priority(nl, family_of(argv[1]),
					   (uint32_t)number(argv[2], UINT32_MAX, "bad priority"), &removed);
		if (err < 0)
			fail(nl, "rule delprio", err);
		printf("removed %u\n", removed);
		return 0;
	}
	die_usage("rule: unknown command", argv[0]);
	return 2;
}

/* ---------------------------------------------------------------- monitor */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int cmd_monitor(int argc, char **argv)
{
	struct nl_monitor *m;
	int64_t end;
	int err;

	if (argc != 1)
		die_usage("monitor: expected SECONDS", NULL);
	end = now_ms() + 1000 * (int64_t)number(argv[0], 3600, "bad seconds");
	err = nl_monitor_open(&m);
	if (err < 0)
		fail(NULL, "monitor", err);
	printf("monitoring\n");
	fflush(stdout);
	for (int64_t left; (left = end - now_ms()) > 0;) {
		struct pollfd pfd = { .fd = nl_monitor_fd(m), .events = POLLIN };
		unsigned ev = 0;

		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		err = nl_monitor_drain(m, &ev);
		if (err < 0) {
			nl_monitor_close(m);
			fail(NULL, "monitor", err);
		}
		if (ev & NL_EVENT_LINK)
			printf("link changed\n");
		if (ev & NL_EVENT_ROUTE)
			printf("route changed\n");
		fflush(stdout);
	}
	nl_monitor_close(m);
	return 0;
}

int main(int argc, char **argv)
{
	struct nl *nl;
	int err, rc;

	log_init(prog, LOG_LEVEL_WARN);
	if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	if (strcmp(argv[1], "monitor") == 0)
		return cmd_monitor(argc - 2, argv + 2);
	err = nl_open(&nl);
	if (err < 0)
		fail(NULL, "netlink", err);
	if (strcmp(argv[1], "link") == 0)
		rc = cmd_link(nl, argc - 2, argv + 2);
	else if (strcmp(argv[1], "addr") == 0)
		rc = cmd_addr(nl, argc - 2, argv + 2);
	else if (strcmp(argv[1], "route") == 0)
		rc = cmd_route(nl, argc - 2, argv + 2);
	else if (strcmp(argv[1], "default") == 0)
		rc = cmd_default(nl, argc - 2, argv + 2);
	else if (strcmp(argv[1], "rule") == 0)
		rc = cmd_rule(nl, argc - 2, argv + 2);
	else
		die_usage("unknown command", argv[1]);
	nl_close(nl);
	return rc;
}
