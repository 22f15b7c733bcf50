/* nexd's command line for `nexd proxy`: rules, SOCKS, the rootless exit
 * node and limits parsed; every bad combination refused with a message. */
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "nexd/options.h"

#define URL "--service-url", "https://api.example.test"

static int parse(struct nexd_options *o, char *err, size_t errlen, int argc, char **argv)
{
	err[0] = 0;
	return options_parse(argc, argv, o, err, errlen);
}

#define PARSE(o, err, ...)                                                                              \
	({                                                                                              \
		char *argv_[] = { "nexd", __VA_ARGS__ };                                                \
		parse(o, err, sizeof(err), (int)(sizeof(argv_) / sizeof(argv_[0])), argv_);             \
	})

static void test_full(void **state)
{
	struct nexd_options o;
	char err[256];

	assert_int_equal(PARSE(&o, err, URL, "--exit-node-client", "proxy", "--ingress", "tcp:8080:127.0.0.1:80",
			       "--egress", "udp:5353:100.100.0.3:53", "--ingress", "udp:8080:[2001:db8::1]:80",
			       "--socks5", "127.0.0.1:1080", "--max-flows", "10", "--max-flows-per-rule", "5",
			       "--tcp-idle-timeout", "30", "--udp-idle-timeout", "7"),
			 0);
	assert_true(o.proxy);
	assert_true(o.exit_node_client);
	assert_false(o.router_exit_node);
	assert_int_equal(o.n_proxy_rules, 3);
	assert_int_equal(o.proxy_rules[0].dir, PROXY_INGRESS);
	assert_int_equal(o.proxy_rules[0].port, 8080);
	assert_int_equal(o.proxy_rules[1].dir, PROXY_EGRESS);
	assert_int_equal(o.proxy_rules[1].proto, IPPROTO_UDP);
	assert_int_equal(o.proxy_rules[2].family, AF_INET6);
	assert_true(o.has_socks5);
	assert_int_equal(o.socks5.sa.sa_family, AF_INET);
	assert_int_equal(ntohs(o.socks5.in4.sin_port), 1080);
	assert_int_equal(o.max_flows, 10);
	assert_int_equal(o.max_flows_per_rule, 5);
	assert_int_equal(o.tcp_idle_s, 30);
	assert_int_equal(o.udp_idle_s, 7);
}

static void test_exit_node(void **state)
{
	struct nexd_options o;
	char err[256];

	assert_int_equal(PARSE(&o, err, URL, "proxy", "--exit-node", "--exit-node-allow-lan"), 0);
	assert_true(o.proxy);
	assert_true(o.router_exit_node);
	assert_true(o.exit_node_allow_lan);
	assert_int_equal(o.n_proxy_rules, 0);
}

static void refused(const char *want, int argc, char **argv)
{
	struct nexd_options o;
	char err[256] = "";

	assert_int_equal(options_parse(argc, argv, &o, err, sizeof(err)), -EINVAL);
	if (!strstr(err, want))
		fail_msg("message \"%s\" lacks \"%s\"", err, want);
}

#define REFUSED(want, ...)                                                                              \
	do {                                                                                            \
		char *argv_[] = { "nexd", URL, __VA_ARGS__ };                                           \
		refused(want, (int)(sizeof(argv_) / sizeof(argv_[0])), argv_);                          \
	} while (0)

static void test_refused(void **state)
{
	REFUSED("port must be 1 to 65535", "proxy", "--ingress", "tcp:0:127.0.0.1:80");
	REFUSED("--egress", "proxy", "--egress", "sctp:1:127.0.0.1:80");
	REFUSED("port 8080 is in another ingress rule", "proxy", "--ingress", "tcp:8080:127.0.0.1:80", "--ingress",
		"tcp:8080:127.0.0.1:81");
	REFUSED("missing value", "proxy", "--ingress");
	REFUSED("unknown option", "proxy", "--bogus", "1");
	REFUSED("not a numeric HOST:PORT", "proxy", "--socks5", "localhost:1080");
	REFUSED("--socks5-auth-file goes with --socks5", "proxy", "--socks5-auth-file", "/x");
	REFUSED("--exit-node-allow-lan goes with --exit-node", "proxy", "--exit-node-allow-lan");
	REFUSED("not a number from 1 to", "proxy", "--max-flows", "0");
	REFUSED("not a number from 1 to", "proxy", "--udp-idle-timeout", "-5");
	REFUSED("not a number from 1 to", "proxy", "--tcp-idle-timeout", "99999999999");
	REFUSED("cannot also be an exit-node client", "--exit-node-client", "proxy", "--exit-node");
}

static void test_rule_limit(void **state)
{
	char *argv[4 + 2 * (NEXD_MAX_PROXY_RULES + 1)];
	char text[NEXD_MAX_PROXY_RULES + 1][32];
	struct nexd_options o;
	char err[256];
	int argc = 0;

	argv[argc++] = "nexd";
	argv[argc++] = "--service-url";
	argv[argc++] = "https://api.example.test";
	argv[argc++] = "proxy";
	for (int i = 0; i <= NEXD_MAX_PROXY_RULES; i++) {
		snprintf(text[i], sizeof(text[i]), "tcp:%d:127.0.0.1:80", 1000 + i);
		argv[argc++] = "--ingress";
		argv[argc++] = text[i];
	}
	refused("at most", argc, argv);                 /* one too many */
	assert_int_equal(options_parse(argc - 2, argv, &o, err, sizeof(err)), 0);   /* the maximum */
	assert_int_equal(o.n_proxy_rules, NEXD_MAX_PROXY_RULES);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_exit_node),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_rule_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
