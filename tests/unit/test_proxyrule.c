/* proxy/rule: the forwarding rules of `nexd proxy` (--ingress, --egress):
 * the accepted shapes and their canonical text, every kind of bad input
 * with its message, lengths, and the round trip parse(format(r)) == r. */
#include <arpa/inet.h>
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

#include "proxy/rule.h"

static struct proxy_rule parse_ok(const char *in, enum proxy_dir dir)
{
	struct proxy_rule r;
	char why[PROXY_RULE_WHY_MAX];

	memset(&r, 0, sizeof(r));
	if (proxy_rule_parse(in, strlen(in), dir, &r, why, sizeof(why)))
		fail_msg("refused: %s (%s)", in, why);
	assert_string_equal(why, "");
	return r;
}

/* Accepted, with the fields given, canonical text, and a round trip. */
static void good(const char *in, int proto, unsigned port, int family, const char *dest_text, unsigned dest_port,
		 const char *canonical)
{
	uint8_t dest[16] = { 0 };
	char text[PROXY_RULE_STRLEN];
	struct proxy_rule r, again;

	for (int dir = PROXY_INGRESS; dir <= PROXY_EGRESS; dir++) {
		r = parse_ok(in, (enum proxy_dir)dir);
		assert_int_equal(r.dir, dir);
		assert_int_equal(r.proto, proto);
		assert_int_equal(r.port, port);
		assert_int_equal(r.family, family);
		assert_int_equal(inet_pton(family, dest_text, dest), 1);
		assert_memory_equal(r.dest, dest, 16);
		assert_int_equal(r.dest_port, dest_port);
		assert_int_equal(proxy_rule_format(&r, text, sizeof(text)), (int)strlen(canonical));
		assert_string_equal(text, canonical);
		again = parse_ok(text, (enum proxy_dir)dir);
		assert_true(proxy_rule_equal(&r, &again));
	}
}

/* Refused with exactly this message; out untouched. */
static void bad_n(const char *in, size_t len, const char *message)
{
	struct proxy_rule r;
	char why[PROXY_RULE_WHY_MAX];

	memset(&r, 0x5a, sizeof(r));
	if (proxy_rule_parse(in, len, PROXY_INGRESS, &r, why, sizeof(why)) != -EINVAL)
		fail_msg("accepted: %.*s", (int)len, in);
	assert_string_equal(why, message);
	assert_int_equal(r.port, 0x5a5a);
	assert_int_equal(r.dest_port, 0x5a5a);
}

static void bad(const char *in, const char *message)
{
	bad_n(in, strlen(in), message);
}

static void test_good(void **state)
{
	(void)state;
	good("tcp:8080:10.0.0.5:80", IPPROTO_TCP, 8080, AF_INET, "10.0.0.5", 80, "tcp:8080:10.0.0.5:80");
	good("udp:53:192.168.1.1:5353", IPPROTO_UDP, 53, AF_INET, "192.168.1.1", 5353, "udp:53:192.168.1.1:5353");
	good("tcp:1:127.0.0.1:65535", IPPROTO_TCP, 1, AF_INET, "127.0.0.1", 65535, "tcp:1:127.0.0.1:65535");
	good("tcp:65535:255.255.255.254:1", IPPROTO_TCP, 65535, AF_INET, "255.255.255.254", 1,
	     "tcp:65535:255.255.255.254:1");
	good("udp:10:0.0.0.1:10", IPPROTO_UDP, 10, AF_INET, "0.0.0.1", 10, "udp:10:0.0.0.1:10");
	good("tcp:8080:[2001:db8::5]:80", IPPROTO_TCP, 8080, AF_INET6, "2001:db8::5", 80, "tcp:8080:[2001:db8::5]:80");
	good("udp:443:[::1]:8443", IPPROTO_UDP, 443, AF_INET6, "::1", 8443, "udp:443:[::1]:8443");
	/* IPv6 text in other forms: accepted, written canonically */
	good("tcp:80:[2001:DB8:0:0:0:0:0:5]:80", IPPROTO_TCP, 80, AF_INET6, "2001:db8::5", 80,
	     "tcp:80:[2001:db8::5]:80");
	good("tcp:80:[fe80::0001]:80", IPPROTO_TCP, 80, AF_INET6, "fe80::1", 80, "tcp:80:[fe80::1]:80");
	good("tcp:80:[64:ff9b::192.0.2.1]:80", IPPROTO_TCP, 80, AF_INET6, "64:ff9b::c000:201", 80,
	     "tcp:80:[64:ff9b::c000:201]:80");
}

static void test_bad_shape(void **state)
{
	(void)state;
	bad("", "empty rule: expected PROTO:PORT:DEST_IP:DEST_PORT");
	bad("tcp", "tcp: expected PROTO:PORT:DEST_IP:DEST_PORT");
	bad("tcp:", "tcp:: port is missing");
	bad("tcp:80", "tcp:80: expected PROTO:PORT:DEST_IP:DEST_PORT");
	bad("tcp:80:", "tcp:80:: destination address is missing");
	bad("tcp:80:10.0.0.1", "tcp:80:10.0.0.1: expected PROTO:PORT:DEST_IP:DEST_PORT");
	bad("tcp:80:10.0.0.1:", "tcp:80:10.0.0.1:: destination port is missing");
	bad("tcp:80:10.0.0.1:80:", "tcp:80:10.0.0.1:80:: unexpected text after the destination port");
	bad("tcp:80:10.0.0.1:80:90", "tcp:80:10.0.0.1:80:90: unexpected text after the destination port");
	bad("80:10.0.0.1:80", "80:10.0.0.1:80: protocol must be tcp or udp");
	bad(":80:10.0.0.1:80", ":80:10.0.0.1:80: protocol must be tcp or udp");
	bad("10.0.0.1:80", "10.0.0.1:80: protocol must be tcp or udp");
}

static void test_bad_proto(void **state)
{
	(void)state;
	bad("TCP:80:10.0.0.1:80", "TCP:80:10.0.0.1:80: protocol must be tcp or udp");
	bad("Udp:80:10.0.0.1:80", "Udp:80:10.0.0.1:80: protocol must be tcp or udp");
	bad("sctp:80:10.0.0.1:80", "sctp:80:10.0.0.1:80: protocol must be tcp or udp");
	bad("tcpx:80:10.0.0.1:80", "tcpx:80:10.0.0.1:80: protocol must be tcp or udp");
	bad("tc:80:10.0.0.1:80", "tc:80:10.0.0.1:80: protocol must be tcp or udp");
	bad(" tcp:80:10.0.0.1:80", " tcp:80:10.0.0.1:80: protocol must be tcp or udp");
	bad("tcp4:80:10.0.0.1:80", "tcp4:80:10.0.0.1:80: protocol must be tcp or udp");
}

static void test_bad_ports(void **state)
{
	(void)state;
	bad("tcp:0:10.0.0.1:80", "tcp:0:10.0.0.1:80: port must be 1 to 65535");
	bad("tcp:00:10.0.0.1:80", "tcp:00:10.0.0.1:80: port must be 1 to 65535");
	bad("tcp:65536:10.0.0.1:80", "tcp:65536:10.0.0.1:80: port must be 1 to 65535");
	bad("tcp:99999:10.0.0.1:80", "tcp:99999:10.0.0.1:80: port must be 1 to 65535");
	bad("tcp:123456:10.0.0.1:80", "tcp:123456:10.0.0.1:80: port must be 1 to 65535");
	bad("tcp:4294967377:10.0.0.1:80", "tcp:4294967377:10.0.0.1:80: port must be 1 to 65535");
	bad("tcp:080:10.0.0.1:80", "tcp:080:10.0.0.1:80: port must not have leading zeros");
	bad("tcp:00080:10.0.0.1:80", "tcp:00080:10.0.0.1:80: port must not have leading zeros");
	bad("tcp:+80:10.0.0.1:80", "tcp:+80:10.0.0.1:80: port must be a decimal number");
	bad("tcp:-80:10.0.0.1:80", "tcp:-80:10.0.0.1:80: port must be a decimal number");
	bad("tcp: 80:10.0.0.1:80", "tcp: 80:10.0.0.1:80: port must be a decimal number");
	bad("tcp:80 :10.0.0.1:80", "tcp:80 :10.0.0.1:80: port must be a decimal number");
	bad("tcp:0x50:10.0.0.1:80", "tcp:0x50:10.0.0.1:80: port must be a decimal number");
	bad("tcp:http:10.0.0.1:80", "tcp:http:10.0.0.1:80: port must be a decimal number");
	bad("tcp::10.0.0.1:80", "tcp::10.0.0.1:80: port is missing");
	bad("tcp:80:10.0.0.1:0", "tcp:80:10.0.0.1:0: destination port must be 1 to 65535");
	bad("tcp:80:10.0.0.1:65536", "tcp:80:10.0.0.1:65536: destination port must be 1 to 65535");
	bad("tcp:80:10.0.0.1:080", "tcp:80:10.0.0.1:080: destination port must not have leading zeros");
	bad("tcp:80:10.0.0.1:+80", "tcp:80:10.0.0.1:+80: destination port must be a decimal number");
	bad("tcp:80:10.0.0.1:80 ", "tcp:80:10.0.0.1:80 : destination port must be a decimal number");
	bad("tcp:80:[::1]:8x", "tcp:80:[::1]:8x: destination port must be a decimal number");
	bad("tcp:80:[::1]:", "tcp:80:[::1]:: destination port is missing");
}

static void test_bad_ipv4(void **state)
{
	static const char *const inputs[] = {
		"tcp:80:10.0.0:80", "tcp:80:10.0.0.1.2:80", "tcp:80:10.0.0.256:80", "tcp:80:10.0.0.01:80",
		"tcp:80:010.0.0.1:80", "tcp:80:10..0.1:80", "tcp:80:10.0.0.:80", "tcp:80:.10.0.0.1:80",
		"tcp:80:10.0.0.1000:80", "tcp:80: 10.0.0.1:80", "tcp:80:10.0.0.1 :80", "tcp:80:10.0.0.x:80",
		"tcp:80:localhost:80", "tcp:80:example.com:80", "tcp:80:0x0a.0.0.1:80", "tcp:80:167772161:80",
		"tcp:80:10.0.0.-1:80", "tcp:80:10.0.0.+1:80",
	};
	char message[PROXY_RULE_WHY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		snprintf(message, sizeof(message), "%s: destination address is not a valid IPv4 address", inputs[i]);
		bad(inputs[i], message);
	}
	bad("tcp:80:0.0.0.0:80", "tcp:80:0.0.0.0:80: destination address must not be unspecified (0.0.0.0)");
	bad("tcp:80:224.0.0.1:80", "tcp:80:224.0.0.1:80: destination address must be unicast");
	bad("udp:80:239.255.255.250:1900", "udp:80:239.255.255.250:1900: destination address must be unicast");
	bad("udp:80:255.255.255.255:80", "udp:80:255.255.255.255:80: destination address must be unicast");
}

static void test_bad_ipv6(void **state)
{
	static const char *const inputs[] = {
		"tcp:80:[]:80", "tcp:80:[:]:80", "tcp:80:[2001:db8::g]:80", "tcp:80:[2001:db8:::1]:80",
		"tcp:80:[1:2:3:4:5:6:7:8:9]:80", "tcp:80:[10.0.0.1]:80", "tcp:80:[ ::1]:80",
		"tcp:80:[[::1]]:80", "tcp:80:[::1/128]:80", "tcp:80:[12345::1]:80",
		"tcp:80:[0000:0000:0000:0000:0000:0000:0000:00001]:80",
	};
	char message[PROXY_RULE_WHY_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		snprintf(message, sizeof(message), "%s: destination address is not a valid IPv6 address", inputs[i]);
		bad(inputs[i], message);
	}
	bad("tcp:80:2001:db8::5:80", "tcp:80:2001:db8::5:80: destination IPv6 address must be in brackets");
	bad("tcp:80:::1:80", "tcp:80:::1:80: destination IPv6 address must be in brackets");
	bad("tcp:80:fe80::1:80", "tcp:80:fe80::1:80: destination IPv6 address must be in brackets");
	bad("tcp:80:[::1:80", "tcp:80:[::1:80: destination IPv6 address has no closing ']'");
	bad("tcp:80:[::1]80", "tcp:80:[::1]80: destination address must be followed by ':' and a port");
	bad("tcp:80:[::1]", "tcp:80:[::1]: expected PROTO:PORT:DEST_IP:DEST_PORT");
	bad("tcp:80:[::1]]:80", "tcp:80:[::1]]:80: destination address must be followed by ':' and a port");
	bad("tcp:80:[fe80::1%eth0]:80", "tcp:80:[fe80::1%eth0]:80: destination address must not have an IPv6 zone");
	bad("tcp:80:[::]:80", "tcp:80:[::]:80: destination address must not be unspecified (::)");
	bad("tcp:80:[ff02::1]:80", "tcp:80:[ff02::1]:80: destination address must be unicast");
	bad("tcp:80:[::ffff:10.0.0.1]:80", "tcp:80:[::ffff:10.0.0.1]:80: destination address is IPv4-mapped: write it as IPv4");
}

static void test_lengths(void **state)
{
	static const char longest[] = "tcp:65535:[2001:ffff:ffff:ffff:ffff:ffff:255.255.255.254]:65535";
	char text[PROXY_RULE_STRLEN], in[PROXY_RULE_TEXT_MAX + 16], why[PROXY_RULE_WHY_MAX];
	struct proxy_rule r;

	(void)state;
	/* the longest text is exactly PROXY_RULE_TEXT_MAX */
	assert_int_equal(strlen(longest), PROXY_RULE_TEXT_MAX);
	r = parse_ok(longest, PROXY_INGRESS);
	assert_int_equal(r.family, AF_INET6);
	assert_int_equal(proxy_rule_format(&r, text, sizeof(text)), (int)strlen("tcp:65535:[2001:ffff:ffff:ffff:ffff:ffff:ffff:fffe]:65535"));
	/* one byte more is refused before anything else, the message shortened */
	memcpy(in, longest, sizeof(longest));
	memcpy(in + 10, "[0", 2);
	memcpy(in + 12, longest + 11, sizeof(longest) - 11);
	assert_int_equal(strlen(in), PROXY_RULE_TEXT_MAX + 1);
	assert_int_equal(proxy_rule_parse(in, strlen(in), PROXY_INGRESS, &r, why, sizeof(why)), -EINVAL);
	snprintf(text, sizeof(text), "%.*s", PROXY_RULE_TEXT_MAX, in);
	assert_int_equal(strncmp(why, text, PROXY_RULE_TEXT_MAX), 0);
	assert_string_equal(why + PROXY_RULE_TEXT_MAX, "...: rule is longer than 63 bytes");
	/* exactly len bytes: nothing after len is read */
	assert_int_equal(proxy_rule_parse("tcp:80:10.0.0.1:8080X", 20, PROXY_EGRESS, &r, why, sizeof(why)), 0);
	assert_int_equal(r.dest_port, 8080);
	assert_int_equal(r.dir, PROXY_EGRESS);
	assert_int_equal(proxy_rule_parse("tcp:80:10.0.0.1:8", 16, PROXY_EGRESS, &r, why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "tcp:80:10.0.0.1:: destination port is missing");
	/* a NUL among the bytes; other bytes shown as '?' */
	bad_n("tcp:80:10.0.0.1:80\0", 19, "tcp:80:10.0.0.1:80?: rule contains a NUL byte");
	bad_n("tcp:80:10.0.0.1:8\0", 18, "tcp:80:10.0.0.1:8?: rule contains a NUL byte");
	bad("tcp:80:10.0.0.1:80\n", "tcp:80:10.0.0.1:80?: destination port must be a decimal number");
	bad("tcp:80:10.0.0.1:\xc3\xa9", "tcp:80:10.0.0.1:??: destination port must be a decimal number");
	/* why may be short, or absent */
	assert_int_equal(proxy_rule_parse("tcp:0:10.0.0.1:80", 17, PROXY_INGRESS, &r, why, 8), -EINVAL);
	assert_string_equal(why, "tcp:0:1");
	assert_int_equal(proxy_rule_parse("tcp:0:10.0.0.1:80", 17, PROXY_INGRESS, &r, NULL, 0), -EINVAL);
	assert_int_equal(proxy_rule_parse("tcp:0:10.0.0.1:80", 17, PROXY_INGRESS, &r, why, 0), -EINVAL);
	assert_int_equal(proxy_rule_parse(NULL, 0, PROXY_INGRESS, &r, why, sizeof(why)), -EINVAL);
	assert_int_equal(proxy_rule_parse("tcp:80:10.0.0.1:80", 18, PROXY_INGRESS, NULL, why, sizeof(why)), -EINVAL);
	assert_int_equal(proxy_rule_parse("tcp:80:10.0.0.1:80", 18, (enum proxy_dir)7, &r, why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "tcp:80:10.0.0.1:80: unknown direction");
}

static void test_format(void **state)
{
	char text[PROXY_RULE_STRLEN];
	struct proxy_rule r = parse_ok("udp:53:[2001:db8::53]:53", PROXY_EGRESS), s;

	(void)state;
	assert_int_equal(proxy_rule_format(&r, text, sizeof(text)), 24);
	assert_string_equal(text, "udp:53:[2001:db8::53]:53");
	assert_int_equal(proxy_rule_format(&r, text, 24), -ENOSPC);
	assert_int_equal(proxy_rule_format(&r, text, 25), 24);
	/* what no parse could give */
	s = r;
	s.proto = IPPROTO_ICMP;
	assert_int_equal(proxy_rule_format(&s, text, sizeof(text)), -EINVAL);
	s = r;
	s.port = 0;
	assert_int_equal(proxy_rule_format(&s, text, sizeof(text)), -EINVAL);
	s = r;
	s.dest_port = 0;
	assert_int_equal(proxy_rule_format(&s, text, sizeof(text)), -EINVAL);
	s = r;
	s.family = AF_UNIX;
	assert_int_equal(proxy_rule_format(&s, text, sizeof(text)), -EINVAL);
	s = r;
	s.dir = (enum proxy_dir)9;
	assert_int_equal(proxy_rule_format(&s, text, sizeof(text)), -EINVAL);
	s = r;
	memset(s.dest, 0, 16);
	assert_int_equal(proxy_rule_format(&s, text, sizeof(text)), -EINVAL);
	s.dest[0] = 0xff;
	assert_int_equal(proxy_rule_format(&s, text, sizeof(text)), -EINVAL);
	memcpy(s.dest, "\0\0\0\0\0\0\0\0\0\0\xff\xff\x0a\0\0\x01", 16);
	assert_int_equal(proxy_rule_format(&s, text, sizeof(text)), -EINVAL);
	s.family = AF_INET;
	memset(s.dest, 0, 16);
	assert_int_equal(proxy_rule_format(&s, text, sizeof(text)), -EINVAL);
	assert_int_equal(proxy_rule_format(NULL, text, sizeof(text)), -EINVAL);
}

static void test_equal(void **state)
{
	struct proxy_rule a = parse_ok("tcp:8080:10.0.0.5:80", PROXY_INGRESS), b;

	(void)state;
	b = parse_ok("tcp:8080:10.0.0.5:80", PROXY_INGRESS);
	assert_true(proxy_rule_equal(&a, &b));
	b.dest[7] = 1;   /* beyond the 4 bytes of IPv4: not part of the rule */
	assert_true(proxy_rule_equal(&a, &b));
	b = parse_ok("tcp:8080:10.0.0.5:80", PROXY_EGRESS);
	assert_false(proxy_rule_equal(&a, &b));
	b = parse_ok("udp:8080:10.0.0.5:80", PROXY_INGRESS);
	assert_false(proxy_rule_equal(&a, &b));
	b = parse_ok("tcp:8081:10.0.0.5:80", PROXY_INGRESS);
	assert_false(proxy_rule_equal(&a, &b));
	b = parse_ok("tcp:8080:10.0.0.6:80", PROXY_INGRESS);
	assert_false(proxy_rule_equal(&a, &b));
	b = parse_ok("tcp:8080:10.0.0.5:81", PROXY_INGRESS);
	assert_false(proxy_rule_equal(&a, &b));
	b = parse_ok("tcp:8080:[::a00:5]:80", PROXY_INGRESS);
	assert_false(proxy_rule_equal(&a, &b));
	a = parse_ok("tcp:8080:[2001:db8::5]:80", PROXY_INGRESS);
	b = parse_ok("tcp:8080:[2001:db8:0::5]:80", PROXY_INGRESS);
	assert_true(proxy_rule_equal(&a, &b));
	b = parse_ok("tcp:8080:[2001:db8::6]:80", PROXY_INGRESS);
	assert_false(proxy_rule_equal(&a, &b));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),      cmocka_unit_test(test_bad_shape), cmocka_unit_test(test_bad_proto),
		cmocka_unit_test(test_bad_ports), cmocka_unit_test(test_bad_ipv4),  cmocka_unit_test(test_bad_ipv6),
		cmocka_unit_test(test_lengths),   cmocka_unit_test(test_format),    cmocka_unit_test(test_equal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
