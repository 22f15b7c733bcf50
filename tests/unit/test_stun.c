/* STUN Binding: the RFC 5769 sample responses (sections 2.2 and 2.3, whose
 * MESSAGE-INTEGRITY and FINGERPRINT were checked against the RFC's password
 * and CRC-32 when copied), the request builder, malformed responses, and the
 * blocking helper against a server thread on loopback. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include "nexd/stun.h"

/* RFC 5769 section 2.2: Binding success, SOFTWARE "test vector",
 * XOR-MAPPED-ADDRESS 192.0.2.1:32853, MESSAGE-INTEGRITY, FINGERPRINT. */
static const uint8_t rfc5769_v4[80] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 section 2.3: the same with XOR-MAPPED-ADDRESS
 * [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc5769_v6[92] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const struct stun_txid rfc_txid = { {
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
} };

static char *fmt(const union sockaddr_any *a)
{
	static char s[ADDR_ENDPOINT_STRLEN];

	addr_endpoint_format(a, s);
	return s;
}

static uint32_t fp_of(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n) ^ 0x5354554eu;
}

/* ------------------------------------------------- building test responses */

struct msg {
	uint8_t b[2048];
	size_t len;
};

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void msg_start(struct msg *m, unsigned type, const struct stun_txid *txid)
{
	memset(m, 0, sizeof(*m));
	put16(m->b, type);
	m->b[4] = 0x21, m->b[5] = 0x12, m->b[6] = 0xa4, m->b[7] = 0x42;
	memcpy(m->b + 8, txid->b, 12);
	m->len = 20;
}

/* an attribute with its padding (zeros); the header length follows */
static void msg_attr(struct msg *m, unsigned type, const void *val, size_t len)
{
	put16(m->b + m->len, type);
	put16(m->b + m->len + 2, (unsigned)len);
	memcpy(m->b + m->len + 4, val, len);
	m->len += 4 + len;
	while (m->len % 4)
		m->b[m->len++] = 0;
	put16(m->b + 2, (unsigned)(m->len - 20));
}

static void msg_fingerprint(struct msg *m)
{
	uint32_t fp;
	uint8_t v[4];

	put16(m->b + 2, (unsigned)(m->len + 8 - 20));
	fp = fp_of(m->b, m->len);
	v[0] = (uint8_t)(fp >> 24), v[1] = (uint8_t)(fp >> 16), v[2] = (uint8_t)(fp >> 8), v[3] = (uint8_t)fp;
	msg_attr(m, STUN_ATTR_FINGERPRINT, v, 4);
}

/* XOR-MAPPED-ADDRESS value for an IPv4 endpoint */
static size_t xor_v4(uint8_t v[8], const char *ip, unsigned port)
{
	uint8_t a[4];

	assert_int_equal(inet_pton(AF_INET, ip, a), 1);
	v[0] = 0;
	v[1] = 1;
	put16(v + 2, port ^ 0x2112);
	v[4] = a[0] ^ 0x21, v[5] = a[1] ^ 0x12, v[6] = a[2] ^ 0xa4, v[7] = a[3] ^ 0x42;
	return 8;
}

static size_t plain_v4(uint8_t v[8], const char *ip, unsigned port)
{
	v[0] = 0;
	v[1] = 1;
	put16(v + 2, port);
	assert_int_equal(inet_pton(AF_INET, ip, v + 4), 1);
	return 8;
}

static int parse(const struct msg *m, struct stun_response *r)
{
	return stun_response_parse(m->b, m->len, &rfc_txid, r);
}

/* ------------------------------------------------------------------ vectors */

static void test_rfc5769_ipv4(void **state)
{
	struct stun_response r;

	(void)state;
	assert_true(stun_is_message(rfc5769_v4, sizeof(rfc5769_v4)));
	assert_int_equal(stun_response_parse(rfc5769_v4, sizeof(rfc5769_v4), &rfc_txid, &r), 0);
	assert_string_equal(fmt(&r.mapped), "192.0.2.1:32853");
	assert_true(r.from_xor);
	assert_true(r.fingerprint);
}

static void test_rfc5769_ipv6(void **state)
{
	struct stun_response r;

	(void)state;
	assert_true(stun_is_message(rfc5769_v6, sizeof(rfc5769_v6)));
	assert_int_equal(stun_response_parse(rfc5769_v6, sizeof(rfc5769_v6), &rfc_txid, &r), 0);
	assert_string_equal(fmt(&r.mapped), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
	assert_true(r.from_xor);
	assert_true(r.fingerprint);
}

static void test_rfc5769_fingerprint_checked(void **state)
{
	uint8_t b[sizeof(rfc5769_v4)];
	struct stun_response r;

	(void)state;
	/* a changed byte of SOFTWARE (covered by nothing but FINGERPRINT) */
	memcpy(b, rfc5769_v4, sizeof(b));
	b[24] ^= 0x01;
	assert_int_equal(stun_response_parse(b, sizeof(b), &rfc_txid, &r), -EBADMSG);
	/* a changed FINGERPRINT */
	memcpy(b, rfc5769_v4, sizeof(b));
	b[79] ^= 0x80;
	assert_int_equal(stun_response_parse(b, sizeof(b), &rfc_txid, &r), -EBADMSG);
}

/* ------------------------------------------------------------------ request */

static void test_request(void **state)
{
	uint8_t b[STUN_REQUEST_MAX], b2[STUN_REQUEST_MAX];
	struct stun_txid t1, t2;
	uint32_t fp;

	(void)state;
	assert_int_equal(stun_request_build_txid(b, sizeof(b), false, &rfc_txid), 20);
	assert_memory_equal(b, "\x00\x01\x00\x00\x21\x12\xa4\x42", 8);
	assert_memory_equal(b + 8, rfc_txid.b, 12);
	assert_true(stun_is_message(b, 20));

	assert_int_equal(stun_request_build_txid(b, sizeof(b), true, &rfc_txid), 28);
	assert_memory_equal(b, "\x00\x01\x00\x08\x21\x12\xa4\x42", 8);
	assert_memory_equal(b + 20, "\x80\x28\x00\x04", 4);
	fp = fp_of(b, 20);
	assert_int_equal(((uint32_t)b[24] << 24 | (uint32_t)b[25] << 16 | (uint32_t)b[26] << 8 | b[27]), fp);
	assert_true(stun_is_message(b, 28));
	/* a request is not a response */
	{
		struct stun_response r;

		assert_int_equal(stun_response_parse(b, 28, &rfc_txid, &r), -EPROTO);
	}

	assert_int_equal(stun_request_build_txid(b, 27, true, &rfc_txid), -ENOSPC);
	assert_int_equal(stun_request_build_txid(b, 19, false, &rfc_txid), -ENOSPC);

	/* random transaction ids */
	assert_int_equal(stun_request_build(b, sizeof(b), false, &t1), 20);
	assert_int_equal(stun_request_build(b2, sizeof(b2), false, &t2), 20);
	assert_memory_equal(b + 8, t1.b, 12);
	assert_memory_not_equal(t1.b, t2.b, 12);
}

static void test_is_message(void **state)
{
	uint8_t wg[148] = { 1, 0, 0, 0 };
	uint8_t b[80];

	(void)state;
	assert_false(stun_is_message(wg, sizeof(wg)));
	wg[0] = 4;
	assert_false(stun_is_message(wg, 32));
	assert_false(stun_is_message(rfc5769_v4, 19));
	assert_false(stun_is_message(rfc5769_v4, 0));
	assert_false(stun_is_message(rfc5769_v4, 79));   /* length disagrees */
	memcpy(b, rfc5769_v4, sizeof(b));
	b[0] |= 0x40;   /* first two bits must be zero */
	assert_false(stun_is_message(b, sizeof(b)));
	memcpy(b, rfc5769_v4, sizeof(b));
	b[6] = 0;       /* cookie */
	assert_false(stun_is_message(b, sizeof(b)));
	memcpy(b, rfc5769_v4, sizeof(b));
	b[3] = 0x3d;    /* length not a multiple of 4 */
	assert_false(stun_is_message(b, sizeof(b)));
}

/* ---------------------------------------------------------------- malformed */

static void test_truncated(void **state)
{
	struct stun_response r;

	(void)state;
	for (size_t n = 0; n < sizeof(rfc5769_v4); n++)
		assert_int_equal(stun_response_parse(rfc5769_v4, n, &rfc_txid, &r), -EBADMSG);
	for (size_t n = 0; n < sizeof(rfc5769_v6); n++)
		assert_int_equal(stun_response_parse(rfc5769_v6, n, &rfc_txid, &r), -EBADMSG);
}

static void test_bad_lengths(void **state)
{
	uint8_t b[sizeof(rfc5769_v4) + 8];
	struct stun_response r;

	(void)state;
	/* header length larger, smaller, not a multiple of 4 */
	memcpy(b, rfc5769_v4, sizeof(rfc5769_v4));
	b[3] = 0x40;
	assert_int_equal(stun_response_parse(b, sizeof(rfc5769_v4), &rfc_txid, &r), -EBADMSG);
	b[3] = 0x38;
	assert_int_equal(stun_response_parse(b, sizeof(rfc5769_v4), &rfc_txid, &r), -EBADMSG);
	b[3] = 0x3e;
	assert_int_equal(stun_response_parse(b, sizeof(rfc5769_v4), &rfc_txid, &r), -EBADMSG);
	/* trailing garbage after the message */
	memcpy(b, rfc5769_v4, sizeof(rfc5769_v4));
	memset(b + sizeof(rfc5769_v4), 0, 8);
	assert_int_equal(stun_response_parse(b, sizeof(b), &rfc_txid, &r), -EBADMSG);
	/* ... also when the header length covers it: nothing may follow FINGERPRINT */
	b[3] = 0x3c + 8;
	assert_int_equal(stun_response_parse(b, sizeof(b), &rfc_txid, &r), -EBADMSG);
	/* SOFTWARE claiming more than the message holds */
	memcpy(b, rfc5769_v4, sizeof(rfc5769_v4));
	b[22] = 0x01;
	assert_int_equal(stun_response_parse(b, sizeof(rfc5769_v4), &rfc_txid, &r), -EBADMSG);
}

static void test_attribute_overrun_and_padding(void **state)
{
	struct msg m;
	struct stun_response r;
	uint8_t v[8];

	(void)state;
	/* XOR-MAPPED-ADDRESS says 12 bytes, 8 are there */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, v, xor_v4(v, "192.0.2.1", 32853));
	m.b[23] = 12;
	assert_int_equal(parse(&m, &r), -EBADMSG);

	/* an attribute header cut in half */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, v, xor_v4(v, "192.0.2.1", 32853));
	m.b[m.len++] = 0x80, m.b[m.len++] = 0x22, m.b[m.len++] = 0, m.b[m.len++] = 0;
	assert_int_equal(parse(&m, &r), -EBADMSG);   /* header length not updated */
	put16(m.b + 2, (unsigned)(m.len - 20));
	assert_int_equal(parse(&m, &r), 0);          /* an empty SOFTWARE is fine */

	/* a last attribute of 11 bytes without its padding byte */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, v, xor_v4(v, "192.0.2.1", 32853));
	msg_attr(&m, STUN_ATTR_SOFTWARE, "test vector", 11);
	m.len -= 1;
	put16(m.b + 2, (unsigned)(m.len - 20));
	assert_int_equal(parse(&m, &r), -EBADMSG);
}

static void test_cookie_and_txid(void **state)
{
	uint8_t b[sizeof(rfc5769_v4)];
	struct stun_response r;
	struct stun_txid other = rfc_txid;

	(void)state;
	struct msg m;
	uint8_t x[8];

	memcpy(b, rfc5769_v4, sizeof(b));
	b[7] = 0x43;
	assert_int_equal(stun_response_parse(b, sizeof(b), &rfc_txid, &r), -EBADMSG);
	/* without a FINGERPRINT to give it away: the cookie alone */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, x, xor_v4(x, "192.0.2.1", 32853));
	assert_int_equal(parse(&m, &r), 0);
	m.b[4] = 0x12;
	assert_int_equal(parse(&m, &r), -EBADMSG);
	assert_false(stun_is_message(m.b, m.len));
	other.b[11] ^= 1;
	assert_int_equal(stun_response_parse(rfc5769_v4, sizeof(rfc5769_v4), &other, &r), -ESRCH);
	/* first two bits set */
	memcpy(b, rfc5769_v4, sizeof(b));
	b[0] = 0x81;
	assert_int_equal(stun_response_parse(b, sizeof(b), &rfc_txid, &r), -EBADMSG);
	/* another method (Allocate success 0x0103), an indication (0x0011) */
	memcpy(b, rfc5769_v4, sizeof(b));
	b[1] = 0x03;
	assert_int_equal(stun_response_parse(b, sizeof(b), &rfc_txid, &r), -EPROTO);
	b[0] = 0x00, b[1] = 0x11;
	assert_int_equal(stun_response_parse(b, sizeof(b), &rfc_txid, &r), -EPROTO);
}

static void test_odd_families(void **state)
{
	struct msg m;
	struct stun_response r;
	uint8_t v[24];

	(void)state;
	/* family 3 */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	xor_v4(v, "192.0.2.1", 32853);
	v[1] = 3;
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, v, 8);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	/* family 0 */
	v[1] = 0;
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, v, 8);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	/* IPv6 family with an IPv4-sized value */
	v[1] = 2;
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, v, 8);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	/* IPv4 family with an IPv6-sized value */
	memset(v + 8, 0x11, 12);
	v[1] = 1;
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, v, 20);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	/* too short for family and port */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, v, 3);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_MAPPED_ADDRESS, v, 0);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	/* port 0, address 0.0.0.0 */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_MAPPED_ADDRESS, v, plain_v4(v, "192.0.2.1", 0));
	assert_int_equal(parse(&m, &r), -EBADMSG);
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_MAPPED_ADDRESS, v, plain_v4(v, "0.0.0.0", 9));
	assert_int_equal(parse(&m, &r), -EBADMSG);
}

static void test_mapped_fallback_and_order(void **state)
{
	struct msg m;
	struct stun_response r;
	uint8_t x[8], p[8];

	(void)state;
	/* MAPPED-ADDRESS alone */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_MAPPED_ADDRESS, p, plain_v4(p, "198.51.100.7", 4000));
	assert_int_equal(parse(&m, &r), 0);
	assert_string_equal(fmt(&r.mapped), "198.51.100.7:4000");
	assert_false(r.from_xor);
	assert_false(r.fingerprint);
	/* both, plain first: XOR-MAPPED-ADDRESS wins */
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, x, xor_v4(x, "203.0.113.9", 51820));
	assert_int_equal(parse(&m, &r), 0);
	assert_string_equal(fmt(&r.mapped), "203.0.113.9:51820");
	assert_true(r.from_xor);
	/* a second XOR-MAPPED-ADDRESS is ignored */
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, x, xor_v4(x, "203.0.113.10", 1));
	msg_fingerprint(&m);
	assert_int_equal(parse(&m, &r), 0);
	assert_string_equal(fmt(&r.mapped), "203.0.113.9:51820");
	assert_true(r.fingerprint);
	/* no address at all */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	assert_int_equal(parse(&m, &r), -ENOENT);
	msg_attr(&m, STUN_ATTR_SOFTWARE, "x", 1);
	assert_int_equal(parse(&m, &r), -ENOENT);
}

static void test_integrity_and_unknown(void **state)
{
	struct msg m;
	struct stun_response r;
	uint8_t x[8], mi[20] = { 0 };

	(void)state;
	/* an address after MESSAGE-INTEGRITY is ignored */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY, mi, 20);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, x, xor_v4(x, "192.0.2.1", 32853));
	assert_int_equal(parse(&m, &r), -ENOENT);
	/* MESSAGE-INTEGRITY of a wrong size */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, x, xor_v4(x, "192.0.2.1", 32853));
	msg_attr(&m, STUN_ATTR_MESSAGE_INTEGRITY, mi, 16);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	/* unknown comprehension-optional: ignored; comprehension-required: refused */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, 0x802b, x, 8);   /* RESPONSE-ORIGIN */
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, x, xor_v4(x, "192.0.2.1", 32853));
	assert_int_equal(parse(&m, &r), 0);
	msg_attr(&m, 0x7f00, x, 4);
	assert_int_equal(parse(&m, &r), -EPROTO);
	/* FINGERPRINT not last, or of a wrong size */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, x, xor_v4(x, "192.0.2.1", 32853));
	msg_fingerprint(&m);
	assert_int_equal(parse(&m, &r), 0);
	msg_attr(&m, STUN_ATTR_SOFTWARE, "x", 1);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, x, xor_v4(x, "192.0.2.1", 32853));
	msg_attr(&m, STUN_ATTR_FINGERPRINT, x, 8);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	/* a correct FINGERPRINT (its CRC over a header that counts what follows)
	 * with an attribute after it: refused for the position alone */
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, x, xor_v4(x, "192.0.2.1", 32853));
	{
		size_t at = m.len;
		uint32_t fp;

		put16(m.b + 2, (unsigned)(m.len + 8 + 8 - 20));
		fp = fp_of(m.b, at);
		put16(m.b + at, STUN_ATTR_FINGERPRINT);
		put16(m.b + at + 2, 4);
		m.b[at + 4] = (uint8_t)(fp >> 24), m.b[at + 5] = (uint8_t)(fp >> 16);
		m.b[at + 6] = (uint8_t)(fp >> 8), m.b[at + 7] = (uint8_t)fp;
		put16(m.b + at + 8, STUN_ATTR_SOFTWARE);
		put16(m.b + at + 10, 4);
		memcpy(m.b + at + 12, "abcd", 4);
		m.len = at + 16;
		assert_int_equal(parse(&m, &r), -EBADMSG);
		/* cutting the trailing attribute off does not help: the CRC
		 * covered the old length */
		put16(m.b + 2, (unsigned)(m.len - 8 - 20));
		m.len -= 8;
		assert_int_equal(parse(&m, &r), -EBADMSG);
	}
}

static void test_too_many_attributes(void **state)
{
	struct msg m;
	struct stun_response r;
	uint8_t x[8];

	(void)state;
	msg_start(&m, STUN_BINDING_SUCCESS, &rfc_txid);
	msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, x, xor_v4(x, "192.0.2.1", 32853));
	for (int i = 1; i < STUN_ATTRS_MAX; i++)
		msg_attr(&m, STUN_ATTR_SOFTWARE, "", 0);
	assert_int_equal(parse(&m, &r), 0);
	msg_attr(&m, STUN_ATTR_SOFTWARE, "", 0);
	assert_int_equal(parse(&m, &r), -EBADMSG);
}

static void test_error_response(void **state)
{
	struct msg m;
	struct stun_response r;
	uint8_t e[4 + 20] = { 0, 0, 4, 20 };

	(void)state;
	memcpy(e + 4, "Unknown\001Attribute", 17);
	msg_start(&m, STUN_BINDING_ERROR, &rfc_txid);
	msg_attr(&m, STUN_ATTR_ERROR_CODE, e, 4 + 17);
	msg_fingerprint(&m);
	memset(&r, 0, sizeof(r));
	assert_int_equal(parse(&m, &r), -ECONNREFUSED);
	assert_int_equal(r.error_code, 420);
	assert_string_equal(r.reason, "Unknown?Attribute");
	/* without ERROR-CODE */
	msg_start(&m, STUN_BINDING_ERROR, &rfc_txid);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	/* class 7, number 100, too short */
	msg_start(&m, STUN_BINDING_ERROR, &rfc_txid);
	e[2] = 7;
	msg_attr(&m, STUN_ATTR_ERROR_CODE, e, 4);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	msg_start(&m, STUN_BINDING_ERROR, &rfc_txid);
	e[2] = 4, e[3] = 100;
	msg_attr(&m, STUN_ATTR_ERROR_CODE, e, 4);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	msg_start(&m, STUN_BINDING_ERROR, &rfc_txid);
	msg_attr(&m, STUN_ATTR_ERROR_CODE, e, 3);
	assert_int_equal(parse(&m, &r), -EBADMSG);
	assert_string_equal(stun_strerror(-EBADMSG), "malformed STUN answer");
}

/* ------------------------------------------------- blocking helper (loopback) */

enum server_mode { ANSWER, ANSWER_SECOND, GARBAGE, ERROR_REPLY, SILENT };

struct server {
	int fd;
	enum server_mode mode;
	int requests;
};

static void *server_main(void *arg)
{
	struct server *s = arg;
	uint8_t buf[1500];

	for (;;) {
		union sockaddr_any from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(s->fd, buf, sizeof(buf), 0, &from.sa, &flen);
		struct stun_txid txid;
		struct msg m;
		uint8_t v[8] = { 0 }, e[8] = { 0, 0, 4, 1, 'n', 'o', 'p', 'e' };
		char ip[INET_ADDRSTRLEN];

		if (n <= 0)
			return NULL;   /* socket shut down: the test is over */
		if (n == 1)
			return NULL;
		s->requests++;
		if (!stun_is_message(buf, (size_t)n) || buf[0] != 0 || buf[1] != 1)
			continue;
		memcpy(txid.b, buf + 8, 12);
		switch (s->mode) {
		case SILENT:
			continue;
		case ANSWER_SECOND:
			if (s->requests < 2)
				continue;
			/* fall through */
		case ANSWER:
			/* first a stale answer to another transaction, which must be ignored */
			txid.b[0] ^= 0xff;
			msg_start(&m, STUN_BINDING_SUCCESS, &txid);
			msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, v, xor_v4(v, "203.0.113.1", 1));
			sendto(s->fd, m.b, m.len, 0, &from.sa, flen);
			txid.b[0] ^= 0xff;
			inet_ntop(AF_INET, &from.in4.sin_addr, ip, sizeof(ip));
			msg_start(&m, STUN_BINDING_SUCCESS, &txid);
			msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, v,
				 xor_v4(v, ip, ntohs(from.in4.sin_port)));
			msg_fingerprint(&m);
			break;
		case GARBAGE:
			msg_start(&m, STUN_BINDING_SUCCESS, &txid);
			msg_attr(&m, STUN_ATTR_XOR_MAPPED_ADDRESS, v, 8);
			m.b[23] = 9;   /* overruns */
			break;
		case ERROR_REPLY:
			msg_start(&m, STUN_BINDING_ERROR, &txid);
			msg_attr(&m, STUN_ATTR_ERROR_CODE, e, 8);
			break;
		}
		sendto(s->fd, m.b, m.len, 0, &from.sa, flen);
	}
}

static int udp_loopback(union sockaddr_any *bound)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	socklen_t len = sizeof(*bound);

	assert_true(fd >= 0);
	memset(bound, 0, sizeof(*bound));
	bound->in4.sin_family = AF_INET;
	bound->in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, &bound->sa, sizeof(bound->in4)), 0);
	assert_int_equal(getsockname(fd, &bound->sa, &len), 0);
	return fd;
}

static int run_binding(enum server_mode mode, unsigned tries, struct stun_response *r,
		       union sockaddr_any *client_addr, int *requests)
{
	struct server s = { .mode = mode };
	union sockaddr_any server_addr;
	pthread_t th;
	int cfd, err;

	s.fd = udp_loopback(&server_addr);
	cfd = udp_loopback(client_addr);
	assert_int_equal(pthread_create(&th, NULL, server_main, &s), 0);
	err = stun_binding(cfd, &server_addr, tries, r);
	/* stop the server thread: a 1-byte datagram */
	sendto(cfd, "x", 1, 0, &server_addr.sa, sizeof(server_addr.in4));
	pthread_join(th, NULL);
	*requests = s.requests;
	close(cfd);
	close(s.fd);
	return err;
}

static void test_binding_loopback(void **state)
{
	struct stun_response r;
	union sockaddr_any client;
	int requests;
	char want[ADDR_ENDPOINT_STRLEN];

	(void)state;
	assert_int_equal(run_binding(ANSWER, 3, &r, &client, &requests), 0);
	addr_endpoint_format(&client, want);
	assert_string_equal(fmt(&r.mapped), want);
	assert_true(r.fingerprint);
	assert_int_equal(requests, 1);

	/* the first request goes unanswered: a retransmission gets the answer */
	assert_int_equal(run_binding(ANSWER_SECOND, 3, &r, &client, &requests), 0);
	addr_endpoint_format(&client, want);
	assert_string_equal(fmt(&r.mapped), want);
	assert_int_equal(requests, 2);

	assert_int_equal(run_binding(ERROR_REPLY, 3, &r, &client, &requests), -ECONNREFUSED);
	assert_int_equal(r.error_code, 401);
	assert_string_equal(r.reason, "nope");

	/* garbage: retransmits, then reports the malformed answer */
	assert_int_equal(run_binding(GARBAGE, 2, &r, &client, &requests), -EBADMSG);
	assert_int_equal(requests, 2);

	/* silence: 500 ms, then a timeout */
	assert_int_equal(run_binding(SILENT, 1, &r, &client, &requests), -ETIMEDOUT);
	assert_int_equal(requests, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769_ipv4),
		cmocka_unit_test(test_rfc5769_ipv6),
		cmocka_unit_test(test_rfc5769_fingerprint_checked),
		cmocka_unit_test(test_request),
		cmocka_unit_test(test_is_message),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_attribute_overrun_and_padding),
		cmocka_unit_test(test_cookie_and_txid),
		cmocka_unit_test(test_odd_families),
		cmocka_unit_test(test_mapped_fallback_and_order),
		cmocka_unit_test(test_integrity_and_unknown),
		cmocka_unit_test(test_too_many_attributes),
		cmocka_unit_test(test_error_response),
		cmocka_unit_test(test_binding_loopback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
