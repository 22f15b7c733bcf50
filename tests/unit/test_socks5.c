/* proxy/socks5: the server side of RFC 1928 and RFC 1929 - method
 * negotiation, username/password, CONNECT to IPv4, IPv6 and a domain name
 * (the shapes of the RFC's examples), every refusal with its reply bytes,
 * feeding byte by byte, pipelined data left alone, and reply encoding. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cmocka.h>

#include "proxy/socks5.h"

#define B(...) ((const uint8_t[]){ __VA_ARGS__ }), sizeof((const uint8_t[]){ __VA_ARGS__ })

static const struct socks5_config NOAUTH = { .auth_required = false };
static const struct socks5_config AUTH = { .auth_required = true, .username = "alice", .password = "s3cret" };

/* What a stream gives, fed in one call or one byte per call. */
struct result {
	int rc;
	size_t consumed;
	uint8_t out[64];
	size_t out_len;
	struct socks5_request req;
};

static void run(const struct socks5_config *cfg, const uint8_t *in, size_t len, bool bytewise, struct result *r)
{
	uint8_t out[SOCKS5_FEED_OUT_MAX];
	struct socks5 s;
	size_t used, out_len, n;

	memset(r, 0, sizeof(*r));
	assert_int_equal(socks5_init(&s, cfg), 0);
	r->rc = SOCKS5_NEED_MORE;
	while (r->rc == SOCKS5_NEED_MORE && r->consumed < len) {
		n = bytewise ? 1 : len - r->consumed;
		r->rc = socks5_feed(&s, in + r->consumed, n, &used, out, sizeof(out), &out_len);
		assert_true(r->rc >= 0);
		assert_true(used <= n);
		assert_true(r->out_len + out_len <= sizeof(r->out));
		memcpy(r->out + r->out_len, out, out_len);
		r->out_len += out_len;
		r->consumed += used;
	}
	if (r->rc == SOCKS5_REQUEST)
		r->req = *socks5_request(&s);
	else
		assert_null(socks5_request(&s));
	socks5_clear(&s);
}

/* Fed at once and byte by byte, the same outcome; that outcome. */
static struct result expect(const struct socks5_config *cfg, const uint8_t *in, size_t len, int rc, size_t consumed,
			    const uint8_t *out, size_t out_len)
{
	struct result once, bytes;

	run(cfg, in, len, false, &once);
	run(cfg, in, len, true, &bytes);
	assert_int_equal(once.rc, rc);
	assert_int_equal(once.consumed, consumed);
	assert_int_equal(once.out_len, out_len);
	if (out_len)
		assert_memory_equal(once.out, out, out_len);
	assert_int_equal(bytes.rc, once.rc);
	assert_int_equal(bytes.consumed, once.consumed);
	assert_int_equal(bytes.out_len, once.out_len);
	assert_memory_equal(bytes.out, once.out, once.out_len);
	assert_memory_equal(&bytes.req, &once.req, sizeof(once.req));
	return once;
}

static void test_greeting(void **state)
{
	(void)state;
	/* one method, several, and the one the server wants among them */
	expect(&NOAUTH, B(5, 1, 0), SOCKS5_NEED_MORE, 3, B(5, 0));
	expect(&NOAUTH, B(5, 3, 1, 2, 0), SOCKS5_NEED_MORE, 5, B(5, 0));
	expect(&AUTH, B(5, 2, 0, 2), SOCKS5_NEED_MORE, 4, B(5, 2));
	expect(&AUTH, B(5, 3, 2, 0x80, 0xfe), SOCKS5_NEED_MORE, 5, B(5, 2));
	/* incomplete: everything consumed, nothing answered */
	expect(&NOAUTH, B(5), SOCKS5_NEED_MORE, 1, NULL, 0);
	expect(&NOAUTH, B(5, 2, 1), SOCKS5_NEED_MORE, 3, NULL, 0);
	expect(&NOAUTH, NULL, 0, SOCKS5_NEED_MORE, 0, NULL, 0);
}

static void test_no_acceptable_method(void **state)
{
	uint8_t all[257];

	(void)state;
	expect(&NOAUTH, B(5, 1, 2), SOCKS5_CLOSE, 3, B(5, 0xff));      /* user/pass not configured */
	expect(&AUTH, B(5, 1, 0), SOCKS5_CLOSE, 3, B(5, 0xff));        /* no auth not allowed */
	expect(&AUTH, B(5, 2, 1, 3), SOCKS5_CLOSE, 4, B(5, 0xff));     /* GSSAPI, unknown */
	expect(&NOAUTH, B(5, 0, 0, 1), SOCKS5_CLOSE, 2, B(5, 0xff));   /* NMETHODS 0 */
	/* 255 methods, the wanted one last */
	all[0] = 5;
	all[1] = 255;
	memset(all + 2, 0x7f, 255);
	all[256] = 2;
	expect(&AUTH, all, sizeof(all), SOCKS5_NEED_MORE, sizeof(all), B(5, 2));
	all[256] = 0x7f;
	expect(&AUTH, all, sizeof(all), SOCKS5_CLOSE, sizeof(all), B(5, 0xff));
}

static void test_wrong_version(void **state)
{
	(void)state;
	/* SOCKS4, HTTP: closed at the first byte, no reply */
	expect(&NOAUTH, B(4, 1, 0, 0x50, 10, 0, 0, 1, 0), SOCKS5_CLOSE, 1, NULL, 0);
	expect(&NOAUTH, (const uint8_t *)"GET / HTTP/1.1\r\n", 16, SOCKS5_CLOSE, 1, NULL, 0);
	expect(&AUTH, B(0, 1, 2), SOCKS5_CLOSE, 1, NULL, 0);
	/* the request's version: general failure */
	expect(&NOAUTH, B(5, 1, 0, 4, 1, 0, 1, 10, 0, 0, 1, 0, 80), SOCKS5_CLOSE, 4,
	       B(5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0));
}

static void test_connect_ipv4(void **state)
{
	struct result r;

	(void)state;
	/* CONNECT 192.0.2.1:80 */
	r = expect(&NOAUTH, B(5, 1, 0, 5, 1, 0, 1, 192, 0, 2, 1, 0, 80), SOCKS5_REQUEST, 13, B(5, 0));
	assert_int_equal(r.req.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(r.req.atyp, SOCKS5_ATYP_IPV4);
	assert_memory_equal(r.req.addr, "\xc0\x00\x02\x01", 4);
	assert_int_equal(r.req.port, 80);
	assert_int_equal(r.req.domain_len, 0);
	assert_string_equal(r.req.domain, "");
	/* port 65535 */
	r = expect(&NOAUTH, B(5, 1, 0, 5, 1, 0, 1, 10, 1, 2, 3, 0xff, 0xff), SOCKS5_REQUEST, 13, B(5, 0));
	assert_int_equal(r.req.port, 65535);
}

static void test_connect_ipv6(void **state)
{
	struct result r;
	struct in6_addr a;

	(void)state;
	/* CONNECT [2001:db8::5]:443 */
	r = expect(&NOAUTH,
		   B(5, 1, 0, 5, 1, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0x01, 0xbb),
		   SOCKS5_REQUEST, 25, B(5, 0));
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::5", &a), 1);
	assert_int_equal(r.req.atyp, SOCKS5_ATYP_IPV6);
	assert_memory_equal(r.req.addr, &a, 16);
	assert_int_equal(r.req.port, 443);
}

static void test_connect_domain(void **state)
{
	uint8_t in[3 + 5 + 255 + 2];
	struct result r;

	(void)state;
	/* CONNECT example.com:80 */
	r = expect(&NOAUTH, B(5, 1, 0, 5, 1, 0, 3, 11, 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'c', 'o', 'm', 0, 80),
		   SOCKS5_REQUEST, 21, B(5, 0));
	assert_int_equal(r.req.atyp, SOCKS5_ATYP_DOMAIN);
	assert_int_equal(r.req.domain_len, 11);
	assert_string_equal(r.req.domain, "example.com");
	assert_int_equal(r.req.port, 80);
	/* 255 bytes, the longest */
	memcpy(in, "\x05\x01\x00\x05\x01\x00\x03\xff", 8);
	memset(in + 8, 'a', 255);
	memcpy(in + 263, "\x1f\x90", 2);
	r = expect(&NOAUTH, in, sizeof(in), SOCKS5_REQUEST, sizeof(in), B(5, 0));
	assert_int_equal(r.req.domain_len, 255);
	assert_int_equal(strlen(r.req.domain), 255);
	assert_int_equal(r.req.port, 8080);
	/* 1 byte */
	r = expect(&NOAUTH, B(5, 1, 0, 5, 1, 0, 3, 1, 'x', 0, 1), SOCKS5_REQUEST, 11, B(5, 0));
	assert_string_equal(r.req.domain, "x");
	/* empty: refused at its length byte; a NUL inside: at the end */
	expect(&NOAUTH, B(5, 1, 0, 5, 1, 0, 3, 0, 0, 80), SOCKS5_CLOSE, 8, B(5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0));
	expect(&NOAUTH, B(5, 1, 0, 5, 1, 0, 3, 3, 'a', 0, 'b', 0, 80), SOCKS5_CLOSE, 13,
	       B(5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0));
	expect(&NOAUTH, B(5, 1, 0, 5, 1, 0, 3, 2, 'a', 0, 0, 80), SOCKS5_CLOSE, 12,
	       B(5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0));
}

static void test_auth(void **state)
{
	struct result r;

	(void)state;
	/* success, the request after it */
	r = expect(&AUTH,
		   B(5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 't', 5, 1, 0, 1, 10, 0, 0, 1,
		     0x1f, 0x90),
		   SOCKS5_REQUEST, 27, B(5, 2, 1, 0));
	assert_int_equal(r.req.port, 8080);
	/* success, then waiting for the request */
	expect(&AUTH, B(5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 't'), SOCKS5_NEED_MORE,
	       17, B(5, 2, 1, 0));
	/* wrong password, same length; shorter; longer; wrong user */
	expect(&AUTH, B(5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 'T', 5, 1),
	       SOCKS5_CLOSE, 17, B(5, 2, 1, 1));
	expect(&AUTH, B(5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 5, 's', '3', 'c', 'r', 'e'), SOCKS5_CLOSE, 16,
	       B(5, 2, 1, 1));
	expect(&AUTH, B(5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 7, 's', '3', 'c', 'r', 'e', 't', 0), SOCKS5_CLOSE,
	       18, B(5, 2, 1, 1));
	expect(&AUTH, B(5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'E', 6, 's', '3', 'c', 'r', 'e', 't'), SOCKS5_CLOSE, 17,
	       B(5, 2, 1, 1));
	expect(&AUTH, B(5, 1, 2, 1, 6, 'a', 'l', 'i', 'c', 'e', 0, 6, 's', '3', 'c', 'r', 'e', 't'), SOCKS5_CLOSE,
	       18, B(5, 2, 1, 1));
	/* sub-negotiation version not 1, ULEN 0, PLEN 0: refused at that byte */
	expect(&AUTH, B(5, 1, 2, 5, 5, 'a'), SOCKS5_CLOSE, 4, B(5, 2, 1, 1));
	expect(&AUTH, B(5, 1, 2, 1, 0, 6), SOCKS5_CLOSE, 5, B(5, 2, 1, 1));
	expect(&AUTH, B(5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 0, 'x'), SOCKS5_CLOSE, 11, B(5, 2, 1, 1));
	/* incomplete */
	expect(&AUTH, B(5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's'), SOCKS5_NEED_MORE, 12, B(5, 2));
}

static void test_auth_longest(void **state)
{
	char user[256], pass[256];
	uint8_t in[3 + 3 + 255 + 255];
	struct socks5_config cfg = { .auth_required = true, .username = user, .password = pass };

	(void)state;
	memset(user, 'u', 255);
	user[255] = 0;
	memset(pass, 'p', 255);
	pass[255] = 0;
	memcpy(in, "\x05\x01\x02\x01\xff", 5);
	memset(in + 5, 'u', 255);
	in[260] = 255;
	memset(in + 261, 'p', 255);
	expect(&cfg, in, sizeof(in), SOCKS5_NEED_MORE, sizeof(in), B(5, 2, 1, 0));
	in[515] = 'q';
	expect(&cfg, in, sizeof(in), SOCKS5_CLOSE, sizeof(in), B(5, 2, 1, 1));
}

static void test_request_refused(void **state)
{
	(void)state;
	/* BIND, UDP ASSOCIATE, unknown: read to the end, then 0x07 */
	expect(&NOAUTH, B(5, 1, 0, 5, 2, 0, 1, 10, 0, 0, 1, 0, 80, 'x'), SOCKS5_CLOSE, 13,
	       B(5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0));
	expect(&NOAUTH, B(5, 1, 0, 5, 3, 0, 1, 0, 0, 0, 0, 0, 0), SOCKS5_CLOSE, 13,
	       B(5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0));
	expect(&NOAUTH, B(5, 1, 0, 5, 9, 0, 3, 1, 'h', 0, 80), SOCKS5_CLOSE, 11, B(5, 0, 5, 7, 0, 1, 0, 0, 0, 0, 0, 0));
	/* address types other than 1, 3, 4: 0x08 at that byte */
	expect(&NOAUTH, B(5, 1, 0, 5, 1, 0, 2, 10, 0, 0, 1, 0, 80), SOCKS5_CLOSE, 7,
	       B(5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0));
	expect(&NOAUTH, B(5, 1, 0, 5, 1, 0, 0), SOCKS5_CLOSE, 7, B(5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0));
	expect(&NOAUTH, B(5, 1, 0, 5, 1, 0, 0xff), SOCKS5_CLOSE, 7, B(5, 0, 5, 8, 0, 1, 0, 0, 0, 0, 0, 0));
	/* RSV not 0: general failure at that byte */
	expect(&NOAUTH, B(5, 1, 0, 5, 1, 1, 1, 10, 0, 0, 1, 0, 80), SOCKS5_CLOSE, 6,
	       B(5, 0, 5, 1, 0, 1, 0, 0, 0, 0, 0, 0));
}

static void test_pipelined(void **state)
{
	static const uint8_t in[] = { 5, 1, 0, 5, 1, 0, 1, 10, 0, 0, 1, 0, 80, 'G', 'E', 'T', ' ', '/' };
	uint8_t out[SOCKS5_FEED_OUT_MAX];
	size_t used, out_len;
	struct socks5 s;

	(void)state;
	/* the data after the request stays with the caller */
	expect(&NOAUTH, in, sizeof(in), SOCKS5_REQUEST, 13, B(5, 0));
	/* and the parser neither takes it later */
	assert_int_equal(socks5_init(&s, &NOAUTH), 0);
	assert_int_equal(socks5_feed(&s, in, sizeof(in), &used, out, sizeof(out), &out_len), SOCKS5_REQUEST);
	assert_int_equal(used, 13);
	assert_int_equal(socks5_feed(&s, in + 13, 5, &used, out, sizeof(out), &out_len), SOCKS5_REQUEST);
	assert_int_equal(used, 0);
	assert_int_equal(out_len, 0);
	assert_non_null(socks5_request(&s));
	/* after a close: the same */
	assert_int_equal(socks5_init(&s, &AUTH), 0);
	assert_int_equal(socks5_feed(&s, in, sizeof(in), &used, out, sizeof(out), &out_len), SOCKS5_CLOSE);
	assert_int_equal(used, 3);
	assert_int_equal(out_len, 2);
	assert_int_equal(socks5_feed(&s, in + 3, 5, &used, out, sizeof(out), &out_len), SOCKS5_CLOSE);
	assert_int_equal(used, 0);
	assert_int_equal(out_len, 0);
	assert_null(socks5_request(&s));
}

/* Streams of all kinds, fed in every split into two, equal to at once. */
static void test_splits(void **state)
{
	static const struct {
		const struct socks5_config *cfg;
		uint8_t in[40];
		size_t len;
	} cases[] = {
		{ &NOAUTH, { 5, 1, 0, 5, 1, 0, 1, 10, 0, 0, 1, 0, 80, 1, 2 }, 15 },
		{ &NOAUTH, { 5, 1, 0, 5, 1, 0, 3, 3, 'a', '.', 'b', 0, 80 }, 13 },
		{ &NOAUTH, { 5, 1, 0, 5, 2, 0, 1, 10, 0, 0, 1, 0, 80 }, 13 },
		{ &AUTH, { 5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 't',
			   5, 1, 0, 1, 10, 0, 0, 1, 0, 80, 9 }, 28 },
		{ &AUTH, { 5, 1, 2, 1, 5, 'a', 'l', 'i', 'c', 'e', 6, 's', '3', 'c', 'r', 'e', 'x', 5 }, 18 },
	};
	uint8_t out[SOCKS5_FEED_OUT_MAX], all[64];
	size_t used, out_len, total, all_len;
	struct result once;
	struct socks5 s;
	int rc;

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		run(cases[c].cfg, cases[c].in, cases[c].len, false, &once);
		for (size_t cut = 0; cut <= cases[c].len; cut++) {
			assert_int_equal(socks5_init(&s, cases[c].cfg), 0);
			rc = socks5_feed(&s, cases[c].in, cut, &used, out, sizeof(out), &out_len);
			total = used;
			memcpy(all, out, out_len);
			all_len = out_len;
			if (rc == SOCKS5_NEED_MORE) {
				rc = socks5_feed(&s, cases[c].in + cut, cases[c].len - cut, &used, out, sizeof(out),
						 &out_len);
				total += used;
				memcpy(all + all_len, out, out_len);
				all_len += out_len;
			}
			assert_int_equal(rc, once.rc);
			assert_int_equal(total, once.consumed);
			assert_int_equal(all_len, once.out_len);
			assert_memory_equal(all, once.out, all_len);
			if (rc == SOCKS5_REQUEST)
				assert_memory_equal(socks5_request(&s), &once.req, sizeof(once.req));
		}
	}
}

static void test_reply(void **state)
{
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(1080) };
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(443) };
	struct sockaddr_un un = { .sun_family = AF_UNIX };
	uint8_t out[SOCKS5_REPLY_MAX + 4];

	(void)state;
	assert_int_equal(socks5_reply(SOCKS5_REP_SUCCEEDED, NULL, out, sizeof(out)), 10);
	assert_memory_equal(out, ((const uint8_t[]){ 5, 0, 0, 1, 0, 0, 0, 0, 0, 0 }), 10);
	assert_int_equal(socks5_reply(SOCKS5_REP_CONNECTION_REFUSED, NULL, out, 10), 10);
	assert_memory_equal(out, ((const uint8_t[]){ 5, 5, 0, 1, 0, 0, 0, 0, 0, 0 }), 10);
	/* IPv4 */
	assert_int_equal(inet_pton(AF_INET, "198.51.100.7", &in4.sin_addr), 1);
	assert_int_equal(socks5_reply(SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&in4, out, sizeof(out)), 10);
	assert_memory_equal(out, ((const uint8_t[]){ 5, 0, 0, 1, 198, 51, 100, 7, 0x04, 0x38 }), 10);
	assert_int_equal(socks5_reply(SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&in4, out, 9), 0);
	/* IPv6 */
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1", &in6.sin6_addr), 1);
	assert_int_equal(socks5_reply(SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&in6, out, sizeof(out)), 22);
	assert_memory_equal(out, ((const uint8_t[]){ 5, 0, 0, 4, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
						     0, 1, 0x01, 0xbb }),
			    22);
	assert_int_equal(socks5_reply(SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&in6, out, 21), 0);
	/* IPv4-mapped IPv6 (a dual-stack socket): as IPv4 */
	assert_int_equal(inet_pton(AF_INET6, "::ffff:192.0.2.9", &in6.sin6_addr), 1);
	assert_int_equal(socks5_reply(SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&in6, out, sizeof(out)), 10);
	assert_memory_equal(out, ((const uint8_t[]){ 5, 0, 0, 1, 192, 0, 2, 9, 0x01, 0xbb }), 10);
	/* every code of RFC 1928; nothing else; no other family */
	for (unsigned rep = 0; rep <= 8; rep++) {
		assert_int_equal(socks5_reply((uint8_t)rep, NULL, out, sizeof(out)), 10);
		assert_int_equal(out[1], rep);
	}
	assert_int_equal(SOCKS5_REP_GENERAL_FAILURE, 1);
	assert_int_equal(SOCKS5_REP_NOT_ALLOWED, 2);
	assert_int_equal(SOCKS5_REP_NETWORK_UNREACHABLE, 3);
	assert_int_equal(SOCKS5_REP_HOST_UNREACHABLE, 4);
	assert_int_equal(SOCKS5_REP_TTL_EXPIRED, 6);
	assert_int_equal(SOCKS5_REP_COMMAND_NOT_SUPPORTED, 7);
	assert_int_equal(SOCKS5_REP_ADDRESS_NOT_SUPPORTED, 8);
	assert_int_equal(socks5_reply(9, NULL, out, sizeof(out)), 0);
	assert_int_equal(socks5_reply(SOCKS5_REP_SUCCEEDED, (struct sockaddr *)&un, out, sizeof(out)), 0);
	assert_int_equal(socks5_reply(SOCKS5_REP_SUCCEEDED, NULL, NULL, sizeof(out)), 0);
	/* failed connects */
	assert_int_equal(socks5_rep_from_errno(-ECONNREFUSED), SOCKS5_REP_CONNECTION_REFUSED);
	assert_int_equal(socks5_rep_from_errno(ENETUNREACH), SOCKS5_REP_NETWORK_UNREACHABLE);
	assert_int_equal(socks5_rep_from_errno(-EHOSTUNREACH), SOCKS5_REP_HOST_UNREACHABLE);
	assert_int_equal(socks5_rep_from_errno(-ETIMEDOUT), SOCKS5_REP_HOST_UNREACHABLE);
	assert_int_equal(socks5_rep_from_errno(-EACCES), SOCKS5_REP_NOT_ALLOWED);
	assert_int_equal(socks5_rep_from_errno(-EAFNOSUPPORT), SOCKS5_REP_ADDRESS_NOT_SUPPORTED);
	assert_int_equal(socks5_rep_from_errno(-EIO), SOCKS5_REP_GENERAL_FAILURE);
}

static void test_api(void **state)
{
	struct socks5_config cfg = { .auth_required = true, .username = "u", .password = "p" };
	uint8_t out[SOCKS5_FEED_OUT_MAX], in[1] = { 5 };
	char long_name[257];
	size_t used = 99, out_len = 99;
	struct socks5 s;

	(void)state;
	assert_int_equal(socks5_size(), sizeof(struct socks5));
	assert_int_equal(socks5_init(&s, &cfg), 0);
	assert_int_equal(socks5_init(NULL, &cfg), -EINVAL);
	assert_int_equal(socks5_init(&s, NULL), -EINVAL);
	cfg.username = "";
	assert_int_equal(socks5_init(&s, &cfg), -EINVAL);
	cfg.username = NULL;
	assert_int_equal(socks5_init(&s, &cfg), -EINVAL);
	memset(long_name, 'n', 256);
	long_name[256] = 0;
	cfg.username = long_name;
	assert_int_equal(socks5_init(&s, &cfg), -EINVAL);
	long_name[255] = 0;
	assert_int_equal(socks5_init(&s, &cfg), 0);
	cfg.password = NULL;
	assert_int_equal(socks5_init(&s, &cfg), -EINVAL);
	cfg.auth_required = false;   /* then the credentials are not looked at */
	assert_int_equal(socks5_init(&s, &cfg), 0);
	/* bad calls: nothing consumed or written */
	assert_int_equal(socks5_feed(&s, in, 1, &used, out, sizeof(out) - 1, &out_len), -ENOSPC);
	assert_int_equal(used, 0);
	assert_int_equal(out_len, 0);
	assert_int_equal(socks5_feed(&s, NULL, 1, &used, out, sizeof(out), &out_len), -EINVAL);
	assert_int_equal(socks5_feed(&s, in, 1, NULL, out, sizeof(out), &out_len), -EINVAL);
	assert_int_equal(socks5_feed(&s, in, 1, &used, NULL, sizeof(out), &out_len), -EINVAL);
	assert_int_equal(socks5_feed(&s, in, 1, &used, out, sizeof(out), NULL), -EINVAL);
	assert_int_equal(socks5_feed(NULL, in, 1, &used, out, sizeof(out), &out_len), -EINVAL);
	assert_int_equal(socks5_feed(&s, in, 1, &used, out, sizeof(out), &out_len), SOCKS5_NEED_MORE);
	assert_int_equal(used, 1);
	/* cleared: no longer usable until initialized again */
	socks5_clear(&s);
	assert_int_equal(socks5_feed(&s, in, 1, &used, out, sizeof(out), &out_len), -EINVAL);
	assert_null(socks5_request(&s));
	assert_null(socks5_request(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting),       cmocka_unit_test(test_no_acceptable_method),
		cmocka_unit_test(test_wrong_version),  cmocka_unit_test(test_connect_ipv4),
		cmocka_unit_test(test_connect_ipv6),   cmocka_unit_test(test_connect_domain),
		cmocka_unit_test(test_auth),           cmocka_unit_test(test_auth_longest),
		cmocka_unit_test(test_request_refused), cmocka_unit_test(test_pipelined),
		cmocka_unit_test(test_splits),         cmocka_unit_test(test_reply),
		cmocka_unit_test(test_api),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
