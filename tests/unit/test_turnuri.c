/* common/turnuri: the URI shapes of RFC 7065 that nexapi hands out, their
 * defaults and canonical text, and the inputs that must be refused. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "common/turnuri.h"

static void good(const char *in, const char *host, unsigned port, enum turn_transport t, const char *canonical)
{
	struct turn_uri u, again;
	char text[TURN_URI_STRLEN];

	if (turn_uri_parse(in, &u))
		fail_msg("refused: %s", in);
	assert_string_equal(u.host, host);
	assert_int_equal(u.port, port);
	assert_int_equal(u.transport, t);
	assert_int_equal(turn_uri_format(&u, text, sizeof(text)), (int)strlen(canonical));
	assert_string_equal(text, canonical);
	/* the canonical text parses to the same */
	assert_int_equal(turn_uri_parse(text, &again), 0);
	assert_memory_equal(&u, &again, sizeof(u));
}

static void bad(const char *in)
{
	struct turn_uri u;

	memset(&u, 0x5a, sizeof(u));
	if (turn_uri_parse(in, &u) != -EINVAL)
		fail_msg("accepted: %s", in);
	assert_int_equal(u.port, 0x5a5a);   /* untouched */
}

static void test_good(void **state)
{
	(void)state;
	good("turn:203.0.113.30:3478", "203.0.113.30", 3478, TURN_TRANSPORT_UDP, "turn:203.0.113.30:3478");
	good("turn:203.0.113.30", "203.0.113.30", 3478, TURN_TRANSPORT_UDP, "turn:203.0.113.30:3478");
	good("turn:203.0.113.30:80?transport=tcp", "203.0.113.30", 80, TURN_TRANSPORT_TCP,
	     "turn:203.0.113.30:80?transport=tcp");
	good("turn:203.0.113.30?transport=udp", "203.0.113.30", 3478, TURN_TRANSPORT_UDP, "turn:203.0.113.30:3478");
	good("turns:relay.example.com", "relay.example.com", 5349, TURN_TRANSPORT_TLS,
	     "turns:relay.example.com:5349");
	good("turns:relay.example.com:443?transport=tcp", "relay.example.com", 443, TURN_TRANSPORT_TLS,
	     "turns:relay.example.com:443");
	good("TURN:Relay-1.Example.COM:65535?Transport=TCP", "relay-1.example.com", 65535, TURN_TRANSPORT_TCP,
	     "turn:relay-1.example.com:65535?transport=tcp");
	good("turn:[2001:db8::1]:3478", "2001:db8::1", 3478, TURN_TRANSPORT_UDP, "turn:[2001:db8::1]:3478");
	good("turn:[2001:DB8:0:0::1]?transport=tcp", "2001:db8::1", 3478, TURN_TRANSPORT_TCP,
	     "turn:[2001:db8::1]:3478?transport=tcp");
	good("turns:[::ffff:203.0.113.30]:1", "::ffff:203.0.113.30", 1, TURN_TRANSPORT_TLS,
	     "turns:[::ffff:203.0.113.30]:1");
	good("turn:localhost", "localhost", 3478, TURN_TRANSPORT_UDP, "turn:localhost:3478");
	good("turn:1a", "1a", 3478, TURN_TRANSPORT_UDP, "turn:1a:3478");
	good("turn:10.0.0.0x", "10.0.0.0x", 3478, TURN_TRANSPORT_UDP, "turn:10.0.0.0x:3478");
}

static void test_lengths(void **state)
{
	char label63[64], name[300], uri[TURN_URI_STRLEN + 16], text[TURN_URI_STRLEN];
	struct turn_uri u;

	(void)state;
	memset(label63, 'a', 63);
	label63[63] = 0;
	snprintf(uri, sizeof(uri), "turn:%s.example", label63);
	assert_int_equal(turn_uri_parse(uri, &u), 0);
	snprintf(uri, sizeof(uri), "turn:a%s.example", label63);   /* a label of 64 */
	bad(uri);
	/* 253 bytes of name: accepted; 254: refused */
	snprintf(name, sizeof(name), "%s.%s.%s.%.61s", label63, label63, label63, label63);
	assert_int_equal(strlen(name), 253);
	snprintf(uri, sizeof(uri), "turns:%s:65535?transport=tcp", name);
	assert_int_equal(turn_uri_parse(uri, &u), 0);
	/* the longest canonical text fits */
	u.transport = TURN_TRANSPORT_TCP;
	assert_int_equal(turn_uri_format(&u, text, sizeof(text)), (int)strlen("turn::65535?transport=tcp") + 253);
	assert_int_equal(turn_uri_format(&u, text, 20), -ENOSPC);
	snprintf(name, sizeof(name), "%s.%s.%s.%.62s", label63, label63, label63, label63);
	snprintf(uri, sizeof(uri), "turn:%s", name);
	bad(uri);
	/* a whole URI longer than TURN_URI_MAX */
	memset(uri, 'a', sizeof(uri) - 1);
	uri[sizeof(uri) - 1] = 0;
	memcpy(uri, "turn:", 5);
	bad(uri);
	/* exactly len bytes: a NUL inside is refused, bytes after len are not read */
	assert_int_equal(turn_uri_parse_n("turn:a.example:1X", 16, &u), 0);
	assert_int_equal(u.port, 1);
	assert_int_equal(turn_uri_parse_n("turn:a\0b", 8, &u), -EINVAL);
	assert_int_equal(turn_uri_parse_n("turn:", 5, &u), -EINVAL);
	assert_int_equal(turn_uri_parse(NULL, &u), -EINVAL);
}

static void test_bad(void **state)
{
	static const char *const inputs[] = {
		"", "turn", "turn:", "turns:", "stun:203.0.113.30", "turnx:203.0.113.30",
		" turn:203.0.113.30", "turn:203.0.113.30 ", "turn: 203.0.113.30",
		"turn://203.0.113.30:3478",                 /* no authority form */
		"turn:user@203.0.113.30", "turn:user:pw@relay.example", /* no userinfo */
		"turn:203.0.113.30:", "turn:203.0.113.30:0", "turn:203.0.113.30:65536",
		"turn:203.0.113.30:03478", "turn:203.0.113.30:123456", "turn:203.0.113.30:+1",
		"turn:203.0.113.30:-1", "turn:203.0.113.30:3478:1", "turn:203.0.113.30:34x",
		"turn:203.0.113.300", "turn:203.0.113", "turn:1.2.3.4.5", "turn:203.0.113.030",
		"turn:203.0.113.30/", "turn:203.0.113.30/path", "turn:203.0.113.30#frag",
		"turn:203.0.113.30?", "turn:203.0.113.30?transport=", "turn:203.0.113.30?transport=sctp",
		"turn:203.0.113.30?transport=tcp&x=1", "turn:203.0.113.30?x=1",
		"turn:203.0.113.30?transport=tcpx", "turn:203.0.113.30?transport=udp?transport=tcp",
		"turns:relay.example?transport=udp",        /* DTLS: not offered */
		"turn:[2001:db8::1", "turn:2001:db8::1", "turn:[2001:db8::1%eth0]:3478", "turn:[203.0.113.30]",
		"turn:[]", "turn:[:]", "turn:[2001:db8::1]x", "turn:[2001:db8::g]", "turn:[[::1]]",
		"turn:-relay.example", "turn:relay-.example", "turn:relay..example", "turn:.relay.example",
		"turn:relay.example.", "turn:rel_ay.example", "turn:relay.exämple", "turn:relay\n.example",
		"turn:relay.example\r\n", "turn:%72elay.example",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++)
		bad(inputs[i]);
}

static void test_format(void **state)
{
	struct turn_uri u = { .host = "203.0.113.30", .port = 3478, .transport = TURN_TRANSPORT_TLS };
	char text[TURN_URI_STRLEN];

	(void)state;
	assert_int_equal(turn_uri_format(&u, text, sizeof(text)), 23);
	assert_string_equal(text, "turns:203.0.113.30:3478");
	u.port = 0;
	assert_int_equal(turn_uri_format(&u, text, sizeof(text)), -EINVAL);
	u.port = 1;
	u.transport = (enum turn_transport)7;
	assert_int_equal(turn_uri_format(&u, text, sizeof(text)), -EINVAL);
	u.transport = TURN_TRANSPORT_UDP;
	u.host[0] = 0;
	assert_int_equal(turn_uri_format(&u, text, sizeof(text)), -EINVAL);
	memset(u.host, 'a', sizeof(u.host));   /* not terminated */
	assert_int_equal(turn_uri_format(&u, text, sizeof(text)), -EINVAL);
	assert_string_equal(turn_transport_name(TURN_TRANSPORT_UDP), "udp");
	assert_string_equal(turn_transport_name(TURN_TRANSPORT_TCP), "tcp");
	assert_string_equal(turn_transport_name(TURN_TRANSPORT_TLS), "tls");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
