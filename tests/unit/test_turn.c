/* TURN client messages: the RFC 5769 samples byte for byte (2.1 short-term
 * request, 2.2/2.3 responses, 2.4 long-term request), every request read
 * back by a reader written here from the RFCs (attribute numbers, XOR of
 * addresses, HMAC-SHA1 and CRC-32 computed here, not by turn.c), responses
 * built here and parsed (success, each error code, integrity, unknown
 * attributes, malformed ones), Data indications, ChannelData and the
 * framing of a TCP stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <zlib.h>

#include "nexd/turn.h"

/* Attribute numbers, from RFC 8489 18.3 and RFC 8656 18 (not turn.h's). */
enum {
	A_USERNAME = 0x0006,
	A_MESSAGE_INTEGRITY = 0x0008,
	A_ERROR_CODE = 0x0009,
	A_CHANNEL_NUMBER = 0x000C,
	A_LIFETIME = 0x000D,
	A_XOR_PEER_ADDRESS = 0x0012,
	A_DATA = 0x0013,
	A_REALM = 0x0014,
	A_NONCE = 0x0015,
	A_XOR_RELAYED_ADDRESS = 0x0016,
	A_REQUESTED_TRANSPORT = 0x0019,
	A_XOR_MAPPED_ADDRESS = 0x0020,
	A_SOFTWARE = 0x8022,
	A_FINGERPRINT = 0x8028,
};

/* ------------------------------------------------------------ RFC 5769 */

/* 2.1: Binding request, SOFTWARE "STUN test client", PRIORITY,
 * ICE-CONTROLLED, USERNAME "evtj:h6vY" (padded with spaces),
 * MESSAGE-INTEGRITY under the short-term password, FINGERPRINT. */
static const uint8_t rfc_req[108] = {
	0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
	0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
	0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
	0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
	0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
	0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
	0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
	0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};
#define RFC_REQ_MI_AT 76

/* 2.2: Binding success, XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
static const uint8_t rfc_v4[80] = {
	0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
	0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
	0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
	0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* 2.3: the same with [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t rfc_v6[92] = {
	0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
	0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
	0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
	0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
	0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
	0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
	0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
	0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

/* 2.4: Binding request with long-term credentials: USERNAME (UTF-8),
 * NONCE, REALM, MESSAGE-INTEGRITY; no FINGERPRINT. */
static const uint8_t rfc_ltc[116] = {
	0x00, 0x01, 0x00, 0x60, 0x21, 0x12, 0xa4, 0x42, 0x78, 0xad, 0x34, 0x33,
	0xc6, 0xad, 0x72, 0xc0, 0x29, 0xda, 0x41, 0x2e, 0x00, 0x06, 0x00, 0x12,
	0xe3, 0x83, 0x9e, 0xe3, 0x83, 0x88, 0xe3, 0x83, 0xaa, 0xe3, 0x83, 0x83,
	0xe3, 0x82, 0xaf, 0xe3, 0x82, 0xb9, 0x00, 0x00, 0x00, 0x15, 0x00, 0x1c,
	0x66, 0x2f, 0x2f, 0x34, 0x39, 0x39, 0x6b, 0x39, 0x35, 0x34, 0x64, 0x36,
	0x4f, 0x4c, 0x33, 0x34, 0x6f, 0x4c, 0x39, 0x46, 0x53, 0x54, 0x76, 0x79,
	0x36, 0x34, 0x73, 0x41, 0x00, 0x14, 0x00, 0x0b, 0x65, 0x78, 0x61, 0x6d,
	0x70, 0x6c, 0x65, 0x2e, 0x6f, 0x72, 0x67, 0x00, 0x00, 0x08, 0x00, 0x14,
	0xf6, 0x70, 0x24, 0x65, 0x6d, 0xd6, 0x4a, 0x3e, 0x02, 0xb8, 0xe0, 0x71,
	0x2e, 0x85, 0xc9, 0xa2, 0x8c, 0xa8, 0x96, 0x66,
};
#define RFC_LTC_MI_AT 92

static const char rfc_password[] = "VOkJxbRl1RmTxUk/WvJxBt";
static const struct stun_txid rfc_txid = { {
	0xb7, 0xe7, 0xa7, 0x01, 0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae,
} };

/* MD5("マトリックス:example.org:TheMatrIX") */
static const uint8_t rfc_ltc_key[16] = {
	0xe8, 0xca, 0x7a, 0xd5, 0x9d, 0x5e, 0xb0, 0x51, 0x8e, 0x31, 0x29, 0x11, 0xd2, 0xda, 0xb2, 0xa9,
};

/* MD5("user:realm:pass"), the key of the hand-built responses */
static const uint8_t test_key[16] = {
	0x84, 0x93, 0xfb, 0xc5, 0x3b, 0xa5, 0x82, 0xfb, 0x4c, 0x04, 0x4c, 0x45, 0x6b, 0xdc, 0x40, 0xeb,
};

/* ------------------------------------------------------- test-side wire */

static char *fmt(const union sockaddr_any *a)
{
	static char s[ADDR_ENDPOINT_STRLEN];

	addr_endpoint_format(a, s);
	return s;
}

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v & 0xffff);
}

static unsigned rd16(const uint8_t *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)rd16(p) << 16 | rd16(p + 2);
}

static uint32_t fp_of(const uint8_t *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n) ^ 0x5354554eu;
}

/* HMAC-SHA1 under key of msg[0..at) with the header length set to mlen */
static void mi_of(const uint8_t *msg, size_t at, unsigned mlen, const uint8_t *key, size_t keylen,
		  uint8_t out[20])
{
	uint8_t copy[2048];
	unsigned int n = 0;

	assert_true(at <= sizeof(copy));
	memcpy(copy, msg, at);
	put16(copy + 2, mlen);
	assert_non_null(HMAC(EVP_sha1(), key, (int)keylen, copy, at, out, &n));
	assert_int_equal(n, 20);
}

struct msg {
	uint8_t b[2048];
	size_t len;
};

static void msg_start(struct msg *m, unsigned type, const struct stun_txid *txid)
{
	memset(m, 0, sizeof(*m));
	put16(m->b, type);
	put32(m->b + 4, 0x2112a442u);
	memcpy(m->b + 8, txid->b, 12);
	m->len = 20;
}

static void msg_attr(struct msg *m, unsigned type, const void *val, size_t len)
{
	put16(m->b + m->len, type);
	put16(m->b + m->len + 2, (unsigned)len);
	if (len)
		memcpy(m->b + m->len + 4, val, len);
	m->len += 4 + len;
	while (m->len % 4)
		m->b[m->len++] = 0;
	put16(m->b + 2, (unsigned)(m->len - 20));
}

static void msg_u32(struct msg *m, unsigned type, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	msg_attr(m, type, b, 4);
}

static void msg_integrity(struct msg *m, const uint8_t *key, size_t keylen)
{
	uint8_t mac[20];

	mi_of(m->b, m->len, (unsigned)(m->len + 24 - 20), key, keylen, mac);
	msg_attr(m, A_MESSAGE_INTEGRITY, mac, 20);
}

static void msg_fingerprint(struct msg *m)
{
	uint8_t v[4];

	put16(m->b + 2, (unsigned)(m->len + 8 - 20));
	put32(v, fp_of(m->b, m->len));
	msg_attr(m, A_FINGERPRINT, v, 4);
}

static void msg_error(struct msg *m, unsigned code, const char *reason)
{
	uint8_t e[4 + 128] = { 0, 0, (uint8_t)(code / 100), (uint8_t)(code % 100) };
	size_t n = strlen(reason);

	memcpy(e + 4, reason, n);
	msg_attr(m, A_ERROR_CODE, e, 4 + n);
}

/* an XOR-...-ADDRESS value for "ip" (v4 or v6) and port, masked with the
 * cookie and txid */
static size_t xor_addr(uint8_t v[20], const char *ip, unsigned port, const struct stun_txid *txid)
{
	uint8_t mask[16] = { 0x21, 0x12, 0xa4, 0x42 };
	size_t n;

	memcpy(mask + 4, txid->b, 12);
	v[0] = 0;
	if (strchr(ip, ':')) {
		v[1] = 2;
		assert_int_equal(inet_pton(AF_INET6, ip, v + 4), 1);
		n = 16;
	} else {
		v[1] = 1;
		assert_int_equal(inet_pton(AF_INET, ip, v + 4), 1);
		n = 4;
	}
	put16(v + 2, port ^ 0x2112);
	for (size_t i = 0; i < n; i++)
		v[4 + i] ^= mask[i];
	return 4 + n;
}

static void ep(const char *s, union sockaddr_any *a)
{
	assert_int_equal(addr_endpoint_parse(s, a), 0);
}

/* A request read back: every attribute in order, with the checks that
 * hold for every message we build (cookie, length, zero padding,
 * FINGERPRINT last and right). */
struct attr {
	unsigned type, len;
	const uint8_t *val;
	size_t at;
};
struct parsed {
	unsigned type;
	struct stun_txid txid;
	struct attr a[32];
	size_t n;
};

static void read_msg(const uint8_t *b, size_t len, struct parsed *p)
{
	size_t off = 20;

	memset(p, 0, sizeof(*p));
	assert_true(len >= 28);
	assert_int_equal(len % 4, 0);
	assert_int_equal(rd16(b + 2), len - 20);
	assert_int_equal(rd32(b + 4), 0x2112a442u);
	p->type = rd16(b);
	memcpy(p->txid.b, b + 8, 12);
	while (off < len) {
		struct attr *a = &p->a[p->n++];

		assert_true(p->n <= 32);
		assert_true(off + 4 <= len);
		a->type = rd16(b + off);
		a->len = rd16(b + off + 2);
		a->val = b + off + 4;
		a->at = off;
		assert_true(off + 4 + a->len <= len);
		off += 4 + a->len;
		while (off % 4) {
			assert_int_equal(b[off], 0);   /* we pad with zeros */
			off++;
		}
	}
	assert_int_equal(off, len);
	/* FINGERPRINT last, over everything before it */
	assert_int_equal(p->a[p->n - 1].type, A_FINGERPRINT);
	assert_int_equal(p->a[p->n - 1].len, 4);
	assert_int_equal(rd32(p->a[p->n - 1].val), fp_of(b, len - 8));
}

static const struct attr *find(const struct parsed *p, unsigned type, unsigned nth)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->a[i].type == type && nth-- == 0)
			return &p->a[i];
	return NULL;
}

/* the XOR-PEER-ADDRESS value decoded here */
static char *peer_of(const struct attr *a, const struct stun_txid *txid)
{
	uint8_t mask[16] = { 0x21, 0x12, 0xa4, 0x42 }, ip[16];
	union sockaddr_any u;
	size_t n = a->val[1] == 1 ? 4 : 16;

	assert_int_equal(a->len, 4 + n);
	memcpy(mask + 4, txid->b, 12);
	for (size_t i = 0; i < n; i++)
		ip[i] = a->val[4 + i] ^ mask[i];
	memset(&u, 0, sizeof(u));
	if (n == 4) {
		u.in4.sin_family = AF_INET;
		u.in4.sin_port = htons((uint16_t)(rd16(a->val + 2) ^ 0x2112));
		memcpy(&u.in4.sin_addr, ip, 4);
	} else {
		u.in6.sin6_family = AF_INET6;
		u.in6.sin6_port = htons((uint16_t)(rd16(a->val + 2) ^ 0x2112));
		memcpy(&u.in6.sin6_addr, ip, 16);
	}
	return fmt(&u);
}

/* USERNAME, REALM, NONCE as given, MESSAGE-INTEGRITY right under key and
 * just before FINGERPRINT */
static void check_auth(const uint8_t *b, const struct parsed *p, const struct turn_auth *auth)
{
	const struct attr *u = find(p, A_USERNAME, 0), *r = find(p, A_REALM, 0), *n = find(p, A_NONCE, 0);
	const struct attr *mi = find(p, A_MESSAGE_INTEGRITY, 0);
	uint8_t mac[20];

	assert_non_null(u);
	assert_non_null(r);
	assert_non_null(n);
	assert_non_null(mi);
	assert_int_equal(u->len, strlen(auth->username));
	assert_memory_equal(u->val, auth->username, u->len);
	assert_int_equal(r->len, strlen(auth->realm));
	assert_memory_equal(r->val, auth->realm, r->len);
	assert_int_equal(n->len, strlen(auth->nonce));
	assert_memory_equal(n->val, auth->nonce, n->len);
	assert_int_equal(mi->len, 20);
	assert_ptr_equal(mi, &p->a[p->n - 2]);
	mi_of(b, mi->at, (unsigned)(mi->at + 24 - 20), auth->key, TURN_KEY_LEN, mac);
	assert_memory_equal(mi->val, mac, 20);
}

static void check_no_auth(const struct parsed *p)
{
	assert_null(find(p, A_USERNAME, 0));
	assert_null(find(p, A_REALM, 0));
	assert_null(find(p, A_NONCE, 0));
	assert_null(find(p, A_MESSAGE_INTEGRITY, 0));
}

static struct turn_auth test_auth(void)
{
	struct turn_auth a = { .username = "1700000000:dev1", .realm = "nexodus.test", .nonce = "abc123def" };

	assert_int_equal(turn_key(a.username, a.realm, "pw", a.key), 0);
	return a;
}

/* ------------------------------------------------------------ RFC 5769 */

static void test_rfc5769_request(void **state)
{
	uint8_t b[256];
	size_t pwlen = strlen(rfc_password);

	(void)state;
	/* our MESSAGE-INTEGRITY and FINGERPRINT over the sample's bytes */
	assert_int_equal(turn_message_verify(rfc_req, sizeof(rfc_req), (const uint8_t *)rfc_password, pwlen), 0);
	memset(b, 0xee, sizeof(b));
	memcpy(b, rfc_req, RFC_REQ_MI_AT);
	put16(b + 2, 0);   /* sign sets the length */
	assert_int_equal(turn_message_sign(b, RFC_REQ_MI_AT, sizeof(b), (const uint8_t *)rfc_password, pwlen),
			 sizeof(rfc_req));
	assert_memory_equal(b, rfc_req, sizeof(rfc_req));
	/* no room */
	for (size_t cap = RFC_REQ_MI_AT; cap < sizeof(rfc_req); cap++)
		assert_int_equal(turn_message_sign(b, RFC_REQ_MI_AT, cap, (const uint8_t *)rfc_password, pwlen),
				 -ENOSPC);
	assert_int_equal(turn_message_sign(b, RFC_REQ_MI_AT - 1, sizeof(b), (const uint8_t *)rfc_password, pwlen),
			 -EINVAL);

	/* another password */
	assert_int_equal(turn_message_verify(rfc_req, sizeof(rfc_req), (const uint8_t *)"VOkJxbRl1RmTxUk/WvJxBu", pwlen),
			 -EACCES);
	/* a changed USERNAME: FINGERPRINT gives it away first */
	memcpy(b, rfc_req, sizeof(rfc_req));
	b[64] ^= 0x20;
	assert_int_equal(turn_message_verify(b, sizeof(rfc_req), (const uint8_t *)rfc_password, pwlen), -EBADMSG);
	/* without FINGERPRINT: MESSAGE-INTEGRITY alone (its length excludes it) */
	memcpy(b, rfc_req, sizeof(rfc_req));
	put16(b + 2, 100 - 20);
	assert_int_equal(turn_message_verify(b, 100, (const uint8_t *)rfc_password, pwlen), 0);
	b[64] ^= 0x20;
	assert_int_equal(turn_message_verify(b, 100, (const uint8_t *)rfc_password, pwlen), -EACCES);
	/* no MESSAGE-INTEGRITY at all */
	put16(b + 2, RFC_REQ_MI_AT - 20);
	assert_int_equal(turn_message_verify(b, RFC_REQ_MI_AT, (const uint8_t *)rfc_password, pwlen), -ENOENT);
}

static void test_rfc5769_responses(void **state)
{
	struct turn_response r;
	size_t pwlen = strlen(rfc_password);
	uint8_t wrong[TURN_KEY_LEN] = { 0 };

	(void)state;
	assert_int_equal(turn_parse_response(rfc_v4, sizeof(rfc_v4), &rfc_txid, NULL, &r), 0);
	assert_true(r.success);
	assert_int_equal(r.method, 0x001);
	assert_true(r.has_mapped);
	assert_string_equal(fmt(&r.mapped), "192.0.2.1:32853");
	assert_false(r.has_relayed);
	assert_false(r.integrity);
	assert_int_equal(turn_message_verify(rfc_v4, sizeof(rfc_v4), (const uint8_t *)rfc_password, pwlen), 0);

	assert_int_equal(turn_parse_response(rfc_v6, sizeof(rfc_v6), &rfc_txid, NULL, &r), 0);
	assert_true(r.has_mapped);
	assert_string_equal(fmt(&r.mapped), "[2001:db8:1234:5678:11:2233:4455:6677]:32853");
	assert_int_equal(turn_message_verify(rfc_v6, sizeof(rfc_v6), (const uint8_t *)rfc_password, pwlen), 0);

	/* with a (16-byte) key it does not match: a success is refused */
	assert_int_equal(turn_parse_response(rfc_v4, sizeof(rfc_v4), &rfc_txid, wrong, &r), -EACCES);
	/* the FINGERPRINT is checked */
	{
		uint8_t b[sizeof(rfc_v6)];

		memcpy(b, rfc_v6, sizeof(b));
		b[50] ^= 1;
		assert_int_equal(turn_parse_response(b, sizeof(b), &rfc_txid, NULL, &r), -EBADMSG);
	}
}

static void test_rfc5769_long_term(void **state)
{
	static const char user[] = "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83\xe3\x82\xaf\xe3\x82\xb9";
	uint8_t key[TURN_KEY_LEN], b[160];

	(void)state;
	assert_string_equal(user, "マトリックス");
	assert_int_equal(turn_key(user, "example.org", "TheMatrIX", key), 0);
	assert_memory_equal(key, rfc_ltc_key, sizeof(key));
	assert_int_equal(turn_message_verify(rfc_ltc, sizeof(rfc_ltc), key, sizeof(key)), 0);
	/* the nonce and username are the sample's */
	assert_memory_equal(rfc_ltc + 48, "f//499k954d6OL34oL9FSTvy64sA", 28);
	assert_memory_equal(rfc_ltc + 24, user, 18);
	/* our MESSAGE-INTEGRITY over its bytes is the sample's; FINGERPRINT
	 * follows and changes nothing before it but the header length */
	memcpy(b, rfc_ltc, RFC_LTC_MI_AT);
	assert_int_equal(turn_message_sign(b, RFC_LTC_MI_AT, sizeof(b), key, sizeof(key)), sizeof(rfc_ltc) + 8);
	assert_memory_equal(b + 4, rfc_ltc + 4, sizeof(rfc_ltc) - 4);
	assert_int_equal(rd16(b + 2), sizeof(rfc_ltc) + 8 - 20);
	assert_int_equal(turn_message_verify(b, sizeof(rfc_ltc) + 8, key, sizeof(key)), 0);
	/* another password, a changed nonce */
	assert_int_equal(turn_key(user, "example.org", "TheMatrix", key), 0);
	assert_int_equal(turn_message_verify(rfc_ltc, sizeof(rfc_ltc), key, sizeof(key)), -EACCES);
	memcpy(b, rfc_ltc, sizeof(rfc_ltc));
	b[50] ^= 1;
	assert_int_equal(turn_message_verify(b, sizeof(rfc_ltc), rfc_ltc_key, sizeof(key)), -EACCES);
}

static void test_turn_key(void **state)
{
	uint8_t key[TURN_KEY_LEN];
	char long_s[TURN_USERNAME_MAX + 2];

	(void)state;
	assert_int_equal(turn_key("user", "realm", "pass", key), 0);
	assert_memory_equal(key, test_key, sizeof(key));
	memset(long_s, 'a', sizeof(long_s) - 1);
	long_s[sizeof(long_s) - 1] = '\0';
	assert_int_equal(turn_key(long_s, "realm", "pass", key), -EINVAL);
	long_s[TURN_USERNAME_MAX] = '\0';
	assert_int_equal(turn_key(long_s, "realm", "pass", key), 0);
	long_s[TURN_REALM_MAX + 1] = '\0';
	assert_int_equal(turn_key("u", long_s, "pass", key), -EINVAL);
	assert_int_equal(turn_key(NULL, "realm", "pass", key), -EINVAL);
	assert_int_equal(turn_key("u", "realm", NULL, key), -EINVAL);
}

/* ------------------------------------------------------------- requests */

static void test_allocate(void **state)
{
	uint8_t b[TURN_MESSAGE_MAX];
	struct stun_txid t1, t2;
	struct parsed p;
	struct turn_auth auth = test_auth();
	const struct attr *a;
	int n;

	(void)state;
	/* unauthenticated: REQUESTED-TRANSPORT (UDP), LIFETIME, FINGERPRINT */
	n = turn_build_allocate(b, sizeof(b), &t1, NULL, 600);
	assert_true(n > 0);
	read_msg(b, (size_t)n, &p);
	assert_int_equal(p.type, 0x0003);
	assert_memory_equal(p.txid.b, t1.b, 12);
	a = find(&p, A_REQUESTED_TRANSPORT, 0);
	assert_non_null(a);
	assert_int_equal(a->len, 4);
	assert_memory_equal(a->val, "\x11\x00\x00\x00", 4);
	a = find(&p, A_LIFETIME, 0);
	assert_non_null(a);
	assert_int_equal(a->len, 4);
	assert_int_equal(rd32(a->val), 600);
	check_no_auth(&p);
	assert_int_equal(p.n, 3);
	/* an auth without a realm is the unauthenticated first request */
	auth.realm = NULL;
	n = turn_build_allocate(b, sizeof(b), &t2, &auth, 0);
	assert_true(n > 0);
	read_msg(b, (size_t)n, &p);
	check_no_auth(&p);
	assert_null(find(&p, A_LIFETIME, 0));   /* 0: the server's default */
	assert_memory_not_equal(t1.b, t2.b, 12);

	/* authenticated */
	auth = test_auth();
	n = turn_build_allocate(b, sizeof(b), &t1, &auth, 600);
	assert_true(n > 0);
	read_msg(b, (size_t)n, &p);
	assert_int_equal(p.type, 0x0003);
	check_auth(b, &p, &auth);
	assert_non_null(find(&p, A_REQUESTED_TRANSPORT, 0));
	/* and our own verifier agrees */
	assert_int_equal(turn_message_verify(b, (size_t)n, auth.key, TURN_KEY_LEN), 0);

	/* every capacity short of the message: -ENOSPC, txid untouched */
	for (int cap = 0; cap < n; cap++) {
		memset(&t2, 0x5a, sizeof(t2));
		assert_int_equal(turn_build_allocate(b, (size_t)cap, &t2, &auth, 600), -ENOSPC);
		assert_int_equal(t2.b[0], 0x5a);
	}
	assert_int_equal(turn_build_allocate(b, (size_t)n, &t2, &auth, 600), n);
}

static void test_bad_auth(void **state)
{
	uint8_t b[TURN_MESSAGE_MAX];
	struct stun_txid t;
	struct turn_auth auth = test_auth();
	char nonce[TURN_NONCE_MAX + 2];

	(void)state;
	auth.username = "bad\001user";
	assert_int_equal(turn_build_allocate(b, sizeof(b), &t, &auth, 600), -EINVAL);
	auth.username = "";
	assert_int_equal(turn_build_allocate(b, sizeof(b), &t, &auth, 600), -EINVAL);
	auth.username = NULL;
	assert_int_equal(turn_build_refresh(b, sizeof(b), &t, &auth, 600), -EINVAL);
	auth = test_auth();
	memset(nonce, 'n', sizeof(nonce) - 1);
	nonce[sizeof(nonce) - 1] = '\0';
	auth.nonce = nonce;
	assert_int_equal(turn_build_allocate(b, sizeof(b), &t, &auth, 600), -EINVAL);
	nonce[TURN_NONCE_MAX] = '\0';   /* 127 bytes: fine */
	assert_true(turn_build_allocate(b, sizeof(b), &t, &auth, 600) > 0);
	auth.nonce = NULL;
	assert_int_equal(turn_build_allocate(b, sizeof(b), &t, &auth, 600), -EINVAL);
	auth = test_auth();
	auth.realm = "r\x7f";
	assert_int_equal(turn_build_allocate(b, sizeof(b), &t, &auth, 600), -EINVAL);
}

static void test_refresh(void **state)
{
	uint8_t b[TURN_MESSAGE_MAX];
	struct stun_txid t;
	struct parsed p;
	struct turn_auth auth = test_auth();
	const struct attr *a;
	int n;

	(void)state;
	n = turn_build_refresh(b, sizeof(b), &t, &auth, 0);   /* delete */
	assert_true(n > 0);
	read_msg(b, (size_t)n, &p);
	assert_int_equal(p.type, 0x0004);
	assert_memory_equal(p.txid.b, t.b, 12);
	a = find(&p, A_LIFETIME, 0);
	assert_non_null(a);
	assert_int_equal(rd32(a->val), 0);
	assert_null(find(&p, A_REQUESTED_TRANSPORT, 0));
	check_auth(b, &p, &auth);
	n = turn_build_refresh(b, sizeof(b), &t, &auth, 3600);
	read_msg(b, (size_t)n, &p);
	assert_int_equal(rd32(find(&p, A_LIFETIME, 0)->val), 3600);
}

static void test_create_permission(void **state)
{
	uint8_t b[TURN_MESSAGE_MAX];
	struct stun_txid t;
	struct parsed p;
	struct turn_auth auth = test_auth();
	union sockaddr_any peers[TURN_PEERS_MAX + 1];
	int n;

	(void)state;
	ep("203.0.113.7:49152", &peers[0]);
	ep("[2001:db8::1:2]:3478", &peers[1]);
	ep("[::ffff:198.51.100.9]:1", &peers[2]);   /* v4-mapped: sent as IPv4 */
	n = turn_build_create_permission(b, sizeof(b), &t, &auth, peers, 3);
	assert_true(n > 0);
	read_msg(b, (size_t)n, &p);
	assert_int_equal(p.type, 0x0008);
	assert_string_equal(peer_of(find(&p, A_XOR_PEER_ADDRESS, 0), &t), "203.0.113.7:49152");
	assert_string_equal(peer_of(find(&p, A_XOR_PEER_ADDRESS, 1), &t), "[2001:db8::1:2]:3478");
	assert_int_equal(find(&p, A_XOR_PEER_ADDRESS, 2)->val[1], 1);
	assert_string_equal(peer_of(find(&p, A_XOR_PEER_ADDRESS, 2), &t), "198.51.100.9:1");
	assert_null(find(&p, A_XOR_PEER_ADDRESS, 3));
	check_auth(b, &p, &auth);

	for (size_t i = 0; i <= TURN_PEERS_MAX; i++)
		ep("203.0.113.8:1000", &peers[i]);
	assert_true(turn_build_create_permission(b, sizeof(b), &t, &auth, peers, TURN_PEERS_MAX) > 0);
	assert_int_equal(turn_build_create_permission(b, sizeof(b), &t, &auth, peers, TURN_PEERS_MAX + 1), -EINVAL);
	assert_int_equal(turn_build_create_permission(b, sizeof(b), &t, &auth, peers, 0), -EINVAL);
	peers[1].sa.sa_family = AF_UNIX;
	assert_int_equal(turn_build_create_permission(b, sizeof(b), &t, &auth, peers, 2), -EINVAL);
}

static void test_channel_bind(void **state)
{
	uint8_t b[TURN_MESSAGE_MAX];
	struct stun_txid t;
	struct parsed p;
	struct turn_auth auth = test_auth();
	union sockaddr_any peer;
	const struct attr *a;
	int n;

	(void)state;
	ep("203.0.113.30:40001", &peer);
	n = turn_build_channel_bind(b, sizeof(b), &t, &auth, 0x4001, &peer);
	assert_true(n > 0);
	read_msg(b, (size_t)n, &p);
	assert_int_equal(p.type, 0x0009);
	a = find(&p, A_CHANNEL_NUMBER, 0);
	assert_non_null(a);
	assert_int_equal(a->len, 4);
	assert_memory_equal(a->val, "\x40\x01\x00\x00", 4);   /* RFFU zero */
	assert_string_equal(peer_of(find(&p, A_XOR_PEER_ADDRESS, 0), &t), "203.0.113.30:40001");
	check_auth(b, &p, &auth);

	assert_true(turn_build_channel_bind(b, sizeof(b), &t, &auth, 0x4000, &peer) > 0);
	assert_true(turn_build_channel_bind(b, sizeof(b), &t, &auth, 0x4FFF, &peer) > 0);
	assert_int_equal(turn_build_channel_bind(b, sizeof(b), &t, &auth, 0x3FFF, &peer), -EINVAL);
	assert_int_equal(turn_build_channel_bind(b, sizeof(b), &t, &auth, 0x5000, &peer), -EINVAL);
	assert_int_equal(turn_build_channel_bind(b, sizeof(b), &t, &auth, 0x4001, NULL), -EINVAL);
}

/* ------------------------------------------------------------ responses */

static const struct stun_txid txid_a = { { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 } };

/* An Allocate success: XOR-RELAYED-ADDRESS, XOR-MAPPED-ADDRESS, LIFETIME,
 * SOFTWARE, then MESSAGE-INTEGRITY under key (unless NULL), FINGERPRINT. */
static void allocate_success(struct msg *m, const char *relayed, const char *mapped, const uint8_t *key)
{
	uint8_t v[20];

	msg_start(m, 0x0103, &txid_a);
	msg_attr(m, A_XOR_RELAYED_ADDRESS, v, xor_addr(v, relayed, 40001, &txid_a));
	msg_attr(m, A_XOR_MAPPED_ADDRESS, v, xor_addr(v, mapped, 51820, &txid_a));
	msg_u32(m, A_LIFETIME, 600);
	msg_attr(m, A_SOFTWARE, "Coturn-4.6.1", 12);
	if (key)
		msg_integrity(m, key, 16);
	msg_fingerprint(m);
}

static int parse(const struct msg *m, const uint8_t *key, struct turn_response *r)
{
	return turn_parse_response(m->b, m->len, &txid_a, key, r);
}

static void test_allocate_success(void **state)
{
	struct msg m;
	struct turn_response r;
	uint8_t wrong[16];

	(void)state;
	allocate_success(&m, "203.0.113.30", "192.0.2.2", test_key);
	memset(&r, 0xff, sizeof(r));
	assert_int_equal(parse(&m, test_key, &r), 0);
	assert_true(r.success);
	assert_int_equal(r.method, TURN_ALLOCATE);
	assert_true(r.has_relayed);
	assert_string_equal(fmt(&r.relayed), "203.0.113.30:40001");
	assert_true(r.has_mapped);
	assert_string_equal(fmt(&r.mapped), "192.0.2.2:51820");
	assert_int_equal(r.lifetime, 600);
	assert_true(r.integrity);
	assert_int_equal(r.error_code, 0);
	assert_string_equal(r.realm, "");
	/* no key: not checked */
	assert_int_equal(parse(&m, NULL, &r), 0);
	assert_false(r.integrity);
	assert_string_equal(fmt(&r.relayed), "203.0.113.30:40001");
	/* a wrong key; no MESSAGE-INTEGRITY at all */
	memcpy(wrong, test_key, 16);
	wrong[15] ^= 1;
	memset(&r, 0x5a, sizeof(r));
	assert_int_equal(parse(&m, wrong, &r), -EACCES);
	assert_int_equal(r.lifetime, 0x5a5a5a5a);   /* not written */
	allocate_success(&m, "203.0.113.30", "192.0.2.2", NULL);
	assert_int_equal(parse(&m, test_key, &r), -EACCES);
	assert_int_equal(parse(&m, NULL, &r), 0);
	/* a changed byte under MESSAGE-INTEGRITY, FINGERPRINT made right again */
	allocate_success(&m, "203.0.113.30", "192.0.2.2", test_key);
	m.len -= 8;
	m.b[m.len - 24 - 1] ^= 1;   /* in SOFTWARE */
	msg_fingerprint(&m);
	assert_int_equal(parse(&m, test_key, &r), -EACCES);
	assert_int_equal(parse(&m, NULL, &r), 0);

	/* IPv6 */
	allocate_success(&m, "2001:db8:3::30", "2001:db8:1::2", test_key);
	assert_int_equal(parse(&m, test_key, &r), 0);
	assert_string_equal(fmt(&r.relayed), "[2001:db8:3::30]:40001");
	assert_string_equal(fmt(&r.mapped), "[2001:db8:1::2]:51820");
}

static void test_other_successes(void **state)
{
	struct msg m;
	struct turn_response r;

	(void)state;
	/* Refresh: LIFETIME only */
	msg_start(&m, 0x0104, &txid_a);
	msg_u32(&m, A_LIFETIME, 0);
	msg_integrity(&m, test_key, 16);
	msg_fingerprint(&m);
	assert_int_equal(parse(&m, test_key, &r), 0);
	assert_int_equal(r.method, TURN_REFRESH);
	assert_int_equal(r.lifetime, 0);
	assert_false(r.has_relayed);
	/* CreatePermission and ChannelBind: nothing but integrity */
	msg_start(&m, 0x0108, &txid_a);
	msg_integrity(&m, test_key, 16);
	assert_int_equal(parse(&m, test_key, &r), 0);
	assert_int_equal(r.method, TURN_CREATE_PERMISSION);
	msg_start(&m, 0x0109, &txid_a);
	msg_integrity(&m, test_key, 16);
	msg_fingerprint(&m);
	assert_int_equal(parse(&m, test_key, &r), 0);
	assert_int_equal(r.method, TURN_CHANNEL_BIND);
	assert_true(r.integrity);
}

static void test_error_responses(void **state)
{
	static const struct {
		unsigned code;
		const char *reason, *text;
	} cases[] = {
		{ 401, "Unauthorized", "401 Unauthorized" },
		{ 438, "Stale Nonce", "438 Stale Nonce" },
		{ 437, "Mismatch", "437 Allocation Mismatch: Mismatch" },
		{ 441, "Wrong Credentials", "441 Wrong Credentials" },
		{ 442, "", "442 Unsupported Transport Protocol" },
		{ 486, "Allocation Quota Reached", "486 Allocation Quota Reached" },
		{ 508, "Cannot create socket", "508 Insufficient Capacity: Cannot create socket" },
		{ 599, "", "599 error" },
		{ 420, "Unknown\001Attribute", "420 Unknown Attribute: Unknown?Attribute" },
	};
	struct msg m;
	struct turn_response r;
	char text[160];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		msg_start(&m, 0x0113, &txid_a);
		msg_error(&m, cases[i].code, cases[i].reason);
		if (cases[i].code == 401)
			msg_attr(&m, A_REALM, "nexodus.test", 12);
		if (cases[i].code == 401 || cases[i].code == 438)
			msg_attr(&m, A_NONCE, "0123456789abcdef", 16);
		msg_attr(&m, A_SOFTWARE, "Coturn-4.6.1", 12);
		msg_fingerprint(&m);
		/* with or without a key: an error need not be authenticated */
		for (int k = 0; k < 2; k++) {
			memset(&r, 0x5a, sizeof(r));
			assert_int_equal(parse(&m, k ? test_key : NULL, &r), 0);
			assert_false(r.success);
			assert_false(r.integrity);
			assert_int_equal(r.method, TURN_ALLOCATE);
			assert_int_equal(r.error_code, cases[i].code);
			assert_false(r.has_relayed);
			turn_error_text(&r, text, sizeof(text));
			assert_string_equal(text, cases[i].text);
			assert_string_equal(r.realm, cases[i].code == 401 ? "nexodus.test" : "");
			assert_string_equal(r.nonce, cases[i].code == 401 || cases[i].code == 438 ? "0123456789abcdef" : "");
		}
	}
	/* an authenticated error says so */
	msg_start(&m, 0x0113, &txid_a);
	msg_error(&m, 486, "Allocation Quota Reached");
	msg_integrity(&m, test_key, 16);
	assert_int_equal(parse(&m, test_key, &r), 0);
	assert_true(r.integrity);
	/* a short buffer for the text is cut, never overrun */
	turn_error_text(&r, text, 8);
	assert_string_equal(text, "486 All");
	r.success = true;
	turn_error_text(&r, text, sizeof(text));
	assert_string_equal(text, "success");
	/* an error without ERROR-CODE; a bad ERROR-CODE */
	msg_start(&m, 0x0113, &txid_a);
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	msg_start(&m, 0x0113, &txid_a);
	msg_error(&m, 700, "");
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	msg_start(&m, 0x0113, &txid_a);
	msg_attr(&m, A_ERROR_CODE, "\0\0\4", 3);
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
}

static void test_realm_nonce_bounds(void **state)
{
	char big[200];
	struct msg m;
	struct turn_response r;

	(void)state;
	memset(big, 'x', sizeof(big));
	/* 127 bytes each: kept */
	msg_start(&m, 0x0113, &txid_a);
	msg_error(&m, 401, "Unauthorized");
	msg_attr(&m, A_REALM, big, TURN_REALM_MAX);
	msg_attr(&m, A_NONCE, big, TURN_NONCE_MAX);
	assert_int_equal(parse(&m, NULL, &r), 0);
	assert_int_equal(strlen(r.realm), TURN_REALM_MAX);
	assert_int_equal(strlen(r.nonce), TURN_NONCE_MAX);
	/* 128: refused */
	msg_start(&m, 0x0113, &txid_a);
	msg_error(&m, 401, "Unauthorized");
	msg_attr(&m, A_REALM, big, TURN_REALM_MAX + 1);
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	msg_start(&m, 0x0113, &txid_a);
	msg_error(&m, 401, "Unauthorized");
	msg_attr(&m, A_NONCE, big, TURN_NONCE_MAX + 1);
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	/* not printable */
	msg_start(&m, 0x0113, &txid_a);
	msg_error(&m, 438, "Stale Nonce");
	msg_attr(&m, A_NONCE, "abc\0def", 7);
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	msg_start(&m, 0x0113, &txid_a);
	msg_error(&m, 401, "Unauthorized");
	msg_attr(&m, A_REALM, "r\xc3\xa9", 3);
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	/* a second REALM is ignored, a bad one included */
	msg_start(&m, 0x0113, &txid_a);
	msg_error(&m, 401, "Unauthorized");
	msg_attr(&m, A_REALM, "first", 5);
	msg_attr(&m, A_REALM, "\x01", 1);
	assert_int_equal(parse(&m, NULL, &r), 0);
	assert_string_equal(r.realm, "first");
}

static void test_classes_and_txid(void **state)
{
	struct msg m;
	struct turn_response r;
	struct stun_txid other = txid_a;

	(void)state;
	allocate_success(&m, "203.0.113.30", "192.0.2.2", test_key);
	other.b[11] ^= 1;
	assert_int_equal(turn_parse_response(m.b, m.len, &other, test_key, &r), -ESRCH);
	assert_int_equal(turn_parse_response(m.b, m.len, &other, NULL, &r), -ESRCH);
	/* a request, an indication */
	msg_start(&m, 0x0003, &txid_a);
	assert_int_equal(parse(&m, NULL, &r), -EPROTO);
	msg_start(&m, 0x0017, &txid_a);
	assert_int_equal(parse(&m, NULL, &r), -EPROTO);
	/* first two bits set: not STUN */
	msg_start(&m, 0x0103, &txid_a);
	m.b[0] |= 0x80;
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	/* a wrong cookie */
	msg_start(&m, 0x0103, &txid_a);
	m.b[7] = 0x43;
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
}

static void test_unknown_and_after_integrity(void **state)
{
	struct msg m;
	struct turn_response r;
	uint8_t v[20] = { 0 };

	(void)state;
	/* an unknown comprehension-optional attribute: skipped */
	msg_start(&m, 0x0103, &txid_a);
	msg_attr(&m, 0x8055, "zz", 2);
	msg_attr(&m, 0x802b, v, 8);   /* RESPONSE-ORIGIN */
	msg_attr(&m, 0x0022, "12345678", 8);   /* RESERVATION-TOKEN: known */
	msg_attr(&m, A_XOR_RELAYED_ADDRESS, v, xor_addr(v, "203.0.113.30", 40001, &txid_a));
	msg_integrity(&m, test_key, 16);
	assert_int_equal(parse(&m, test_key, &r), 0);
	assert_true(r.has_relayed);
	/* comprehension-required and unknown: refused, in success and error */
	msg_start(&m, 0x0103, &txid_a);
	msg_attr(&m, 0x7f00, "zz", 2);
	msg_attr(&m, A_XOR_RELAYED_ADDRESS, v, xor_addr(v, "203.0.113.30", 40001, &txid_a));
	msg_integrity(&m, test_key, 16);
	assert_int_equal(parse(&m, test_key, &r), -EPROTO);
	assert_int_equal(parse(&m, NULL, &r), -EPROTO);
	msg_start(&m, 0x0113, &txid_a);
	msg_error(&m, 486, "quota");
	msg_attr(&m, 0x0031, "z", 1);
	assert_int_equal(parse(&m, NULL, &r), -EPROTO);
	/* ... but a malformed message is malformed first */
	m.b[m.len - 5] = 9;   /* the unknown attribute now overruns */
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);

	/* after MESSAGE-INTEGRITY only FINGERPRINT counts: the rest is ignored,
	 * an unknown comprehension-required attribute included */
	msg_start(&m, 0x0103, &txid_a);
	msg_u32(&m, A_LIFETIME, 600);
	msg_integrity(&m, test_key, 16);
	msg_attr(&m, A_XOR_RELAYED_ADDRESS, v, xor_addr(v, "203.0.113.30", 40001, &txid_a));
	msg_attr(&m, 0x7f00, "zz", 2);
	msg_u32(&m, A_LIFETIME, 1);
	msg_fingerprint(&m);
	assert_int_equal(parse(&m, test_key, &r), 0);
	assert_true(r.integrity);
	assert_false(r.has_relayed);
	assert_int_equal(r.lifetime, 600);
	/* a MESSAGE-INTEGRITY of a wrong size */
	msg_start(&m, 0x0103, &txid_a);
	msg_attr(&m, A_MESSAGE_INTEGRITY, v, 16);
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	/* LIFETIME of a wrong size; a bad relayed address family */
	msg_start(&m, 0x0104, &txid_a);
	msg_attr(&m, A_LIFETIME, "\0\0\2", 3);
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	msg_start(&m, 0x0103, &txid_a);
	xor_addr(v, "203.0.113.30", 40001, &txid_a);
	v[1] = 3;
	msg_attr(&m, A_XOR_RELAYED_ADDRESS, v, 8);
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	/* only the first XOR-RELAYED-ADDRESS counts */
	msg_start(&m, 0x0103, &txid_a);
	msg_attr(&m, A_XOR_RELAYED_ADDRESS, v, xor_addr(v, "203.0.113.30", 40001, &txid_a));
	msg_attr(&m, A_XOR_RELAYED_ADDRESS, v, xor_addr(v, "2001:db8::30", 40002, &txid_a));
	assert_int_equal(parse(&m, NULL, &r), 0);
	assert_string_equal(fmt(&r.relayed), "203.0.113.30:40001");
}

static void test_malformed(void **state)
{
	struct msg m, big;
	struct turn_response r;
	uint8_t pad[400] = { 0 };

	(void)state;
	allocate_success(&m, "2001:db8:3::30", "192.0.2.2", test_key);
	/* every truncation */
	for (size_t n = 0; n < m.len; n++)
		assert_int_equal(turn_parse_response(m.b, n, &txid_a, test_key, &r), -EBADMSG);
	/* trailing bytes; the header counting them too (after FINGERPRINT) */
	m.len += 4;
	assert_int_equal(parse(&m, test_key, &r), -EBADMSG);
	put16(m.b + 2, (unsigned)(m.len - 20));
	assert_int_equal(parse(&m, test_key, &r), -EBADMSG);
	/* an attribute overrunning the message */
	allocate_success(&m, "203.0.113.30", "192.0.2.2", NULL);
	m.b[23] = 0x40;   /* XOR-RELAYED-ADDRESS claims 64 bytes */
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	/* a last attribute without its padding */
	msg_start(&m, 0x0104, &txid_a);
	msg_u32(&m, A_LIFETIME, 600);
	msg_attr(&m, A_SOFTWARE, "abcde", 5);
	m.len -= 3;
	put16(m.b + 2, (unsigned)(m.len - 20));
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
	/* header length not a multiple of 4 */
	m.len += 3;
	put16(m.b + 2, (unsigned)(m.len - 20 - 1));
	assert_int_equal(turn_parse_response(m.b, m.len - 1, &txid_a, NULL, &r), -EBADMSG);
	/* a wrong FINGERPRINT */
	allocate_success(&m, "203.0.113.30", "192.0.2.2", test_key);
	m.b[m.len - 1] ^= 1;
	assert_int_equal(parse(&m, test_key, &r), -EBADMSG);
	/* larger than TURN_MESSAGE_MAX */
	msg_start(&big, 0x0104, &txid_a);
	msg_u32(&big, A_LIFETIME, 600);
	while (big.len + 404 <= TURN_MESSAGE_MAX)
		msg_attr(&big, A_SOFTWARE, pad, 400);
	msg_attr(&big, A_SOFTWARE, pad, TURN_MESSAGE_MAX - big.len - 4);
	assert_int_equal(big.len, TURN_MESSAGE_MAX);
	assert_int_equal(turn_parse_response(big.b, big.len, &txid_a, NULL, &r), 0);
	msg_attr(&big, A_SOFTWARE, "", 0);
	assert_int_equal(turn_parse_response(big.b, big.len, &txid_a, NULL, &r), -EBADMSG);
	/* more than STUN_ATTRS_MAX attributes */
	msg_start(&m, 0x0104, &txid_a);
	for (int i = 0; i < STUN_ATTRS_MAX; i++)
		msg_attr(&m, A_SOFTWARE, "", 0);
	assert_int_equal(parse(&m, NULL, &r), 0);
	msg_attr(&m, A_SOFTWARE, "", 0);
	assert_int_equal(parse(&m, NULL, &r), -EBADMSG);
}

/* ------------------------------------------------------ Data indication */

static void data_indication(struct msg *m, const char *peer, const void *data, size_t n)
{
	uint8_t v[20];

	msg_start(m, 0x0017, &txid_a);
	if (peer)
		msg_attr(m, A_XOR_PEER_ADDRESS, v, xor_addr(v, peer, 40002, &txid_a));
	if (data)
		msg_attr(m, A_DATA, data, n);
}

static void test_data_indication(void **state)
{
	struct msg m;
	union sockaddr_any peer;
	const uint8_t *data;
	size_t dlen;
	struct turn_response r;

	(void)state;
	data_indication(&m, "203.0.113.30", "hello", 5);
	msg_fingerprint(&m);
	assert_int_equal(turn_parse_data_indication(m.b, m.len, &peer, &data, &dlen), 0);
	assert_string_equal(fmt(&peer), "203.0.113.30:40002");
	assert_int_equal(dlen, 5);
	assert_memory_equal(data, "hello", 5);
	assert_true(data > m.b && data + dlen <= m.b + m.len);
	/* not a response */
	assert_int_equal(parse(&m, NULL, &r), -EPROTO);
	/* IPv6, empty data */
	data_indication(&m, "2001:db8::30", "", 0);
	assert_int_equal(turn_parse_data_indication(m.b, m.len, &peer, &data, &dlen), 0);
	assert_string_equal(fmt(&peer), "[2001:db8::30]:40002");
	assert_int_equal(dlen, 0);
	/* missing DATA, missing XOR-PEER-ADDRESS */
	data_indication(&m, "203.0.113.30", NULL, 0);
	assert_int_equal(turn_parse_data_indication(m.b, m.len, &peer, &data, &dlen), -EBADMSG);
	data_indication(&m, NULL, "x", 1);
	assert_int_equal(turn_parse_data_indication(m.b, m.len, &peer, &data, &dlen), -EBADMSG);
	/* a Send indication, a response: another message */
	data_indication(&m, "203.0.113.30", "x", 1);
	m.b[1] = 0x16;
	assert_int_equal(turn_parse_data_indication(m.b, m.len, &peer, &data, &dlen), -EPROTO);
	m.b[0] = 0x01, m.b[1] = 0x03;
	assert_int_equal(turn_parse_data_indication(m.b, m.len, &peer, &data, &dlen), -EPROTO);
	/* DATA overrunning; a wrong FINGERPRINT; truncations */
	data_indication(&m, "203.0.113.30", "hello", 5);
	m.b[m.len - 12 + 3] = 9;   /* DATA says 9 bytes, 8 are there */
	assert_int_equal(turn_parse_data_indication(m.b, m.len, &peer, &data, &dlen), -EBADMSG);
	data_indication(&m, "203.0.113.30", "hello", 5);
	msg_fingerprint(&m);
	for (size_t n = 0; n < m.len; n++)
		assert_int_equal(turn_parse_data_indication(m.b, n, &peer, &data, &dlen), -EBADMSG);
	m.b[m.len - 1] ^= 1;
	assert_int_equal(turn_parse_data_indication(m.b, m.len, &peer, &data, &dlen), -EBADMSG);
	/* an unknown comprehension-required attribute */
	data_indication(&m, "203.0.113.30", "hello", 5);
	msg_attr(&m, 0x7ff0, "", 0);
	assert_int_equal(turn_parse_data_indication(m.b, m.len, &peer, &data, &dlen), -EPROTO);
}

/* ----------------------------------------------------------- ChannelData */

static void test_channeldata(void **state)
{
	uint8_t b[64];
	uint16_t ch;
	const uint8_t *data;
	size_t dlen;

	(void)state;
	turn_channeldata_header(b, 0x4001, 5);
	assert_memory_equal(b, "\x40\x01\x00\x05", 4);
	memcpy(b + 4, "hello\0\0\0", 8);
	assert_true(turn_is_channeldata(b, 9));
	/* exact (UDP), and with its padding (TCP) */
	assert_int_equal(turn_channeldata_parse(b, 9, &ch, &data, &dlen), 0);
	assert_int_equal(ch, 0x4001);
	assert_int_equal(dlen, 5);
	assert_ptr_equal(data, b + 4);
	assert_int_equal(turn_channeldata_parse(b, 12, &ch, &data, &dlen), 0);
	assert_int_equal(dlen, 5);
	/* part of the padding, more than the padding, data beyond the buffer */
	assert_int_equal(turn_channeldata_parse(b, 10, &ch, &data, &dlen), -EBADMSG);
	assert_int_equal(turn_channeldata_parse(b, 16, &ch, &data, &dlen), -EBADMSG);
	assert_int_equal(turn_channeldata_parse(b, 8, &ch, &data, &dlen), -EBADMSG);
	/* a multiple of 4: nothing may follow */
	turn_channeldata_header(b, 0x4FFF, 8);
	assert_int_equal(turn_channeldata_parse(b, 12, &ch, &data, &dlen), 0);
	assert_int_equal(ch, 0x4FFF);
	assert_int_equal(turn_channeldata_parse(b, 13, &ch, &data, &dlen), -EBADMSG);
	/* empty */
	turn_channeldata_header(b, 0x4000, 0);
	assert_int_equal(turn_channeldata_parse(b, 4, &ch, &data, &dlen), 0);
	assert_int_equal(dlen, 0);
	/* short, channels out of range */
	assert_int_equal(turn_channeldata_parse(b, 3, &ch, &data, &dlen), -EBADMSG);
	assert_false(turn_is_channeldata(b, 3));
	turn_channeldata_header(b, 0x5000, 0);
	assert_true(turn_is_channeldata(b, 4));
	assert_int_equal(turn_channeldata_parse(b, 4, &ch, &data, &dlen), -EBADMSG);
	turn_channeldata_header(b, 0x7FFF, 0);
	assert_int_equal(turn_channeldata_parse(b, 4, &ch, &data, &dlen), -EBADMSG);
	turn_channeldata_header(b, 0x3FFF, 0);
	assert_false(turn_is_channeldata(b, 4));
	assert_int_equal(turn_channeldata_parse(b, 4, &ch, &data, &dlen), -EBADMSG);
	/* STUN and WireGuard are not ChannelData */
	assert_false(turn_is_channeldata(rfc_v4, sizeof(rfc_v4)));
	b[0] = 1, b[1] = b[2] = b[3] = 0;
	assert_false(turn_is_channeldata(b, 32));
}

static void test_stream_frames(void **state)
{
	uint8_t s[4096], cd[16];
	size_t off = 0, n = 0;

	(void)state;
	/* STUN: 8 bytes tell the length */
	for (size_t a = 0; a < 8; a++)
		assert_int_equal(turn_stream_frame_len(rfc_v4, a), 0);
	for (size_t a = 8; a <= sizeof(rfc_v4); a++)
		assert_int_equal(turn_stream_frame_len(rfc_v4, a), sizeof(rfc_v4));
	/* ChannelData, padded to 4 */
	turn_channeldata_header(cd, 0x4002, 5);
	for (size_t a = 1; a < 4; a++)
		assert_int_equal(turn_stream_frame_len(cd, a), 0);
	assert_int_equal(turn_stream_frame_len(cd, 4), 12);
	turn_channeldata_header(cd, 0x4002, 8);
	assert_int_equal(turn_stream_frame_len(cd, 4), 12);
	turn_channeldata_header(cd, 0x4002, 0);
	assert_int_equal(turn_stream_frame_len(cd, 4), 4);
	turn_channeldata_header(cd, 0x4002, TURN_MESSAGE_MAX);
	assert_int_equal(turn_stream_frame_len(cd, 4), TURN_MESSAGE_MAX + 4);
	turn_channeldata_header(cd, 0x4002, TURN_MESSAGE_MAX + 1);
	assert_int_equal(turn_stream_frame_len(cd, 4), -EBADMSG);
	/* garbage: 10 or 11 first, reserved channels, a bad cookie or length */
	cd[0] = 0x80;
	assert_int_equal(turn_stream_frame_len(cd, 1), -EBADMSG);
	cd[0] = 0xC0;
	assert_int_equal(turn_stream_frame_len(cd, 4), -EBADMSG);
	cd[0] = 0x50;
	assert_int_equal(turn_stream_frame_len(cd, 1), -EBADMSG);
	memcpy(s, rfc_v4, sizeof(rfc_v4));
	s[5] = 0;
	assert_int_equal(turn_stream_frame_len(s, sizeof(rfc_v4)), -EBADMSG);
	memcpy(s, rfc_v4, sizeof(rfc_v4));
	s[3] = 0x3d;
	assert_int_equal(turn_stream_frame_len(s, 8), -EBADMSG);
	s[2] = 0x10, s[3] = 0;   /* 20 + 4096 */
	assert_int_equal(turn_stream_frame_len(s, 8), -EBADMSG);
	assert_int_equal(turn_stream_frame_len(s, 0), 0);

	/* a stream: STUN, ChannelData (5 bytes, padded), STUN, ChannelData (8) */
	memcpy(s + n, rfc_v4, sizeof(rfc_v4)), n += sizeof(rfc_v4);
	turn_channeldata_header(s + n, 0x4000, 5), memcpy(s + n + 4, "abcde\0\0\0", 8), n += 12;
	memcpy(s + n, rfc_v6, sizeof(rfc_v6)), n += sizeof(rfc_v6);
	turn_channeldata_header(s + n, 0x4FFF, 8), memcpy(s + n + 4, "12345678", 8), n += 12;
	{
		static const size_t want[] = { 80, 12, 92, 12 };
		size_t k = 0;

		while (off < n) {
			ssize_t f = turn_stream_frame_len(s + off, n - off);
			uint16_t ch;
			const uint8_t *data;
			size_t dlen;

			assert_true(k < 4);
			assert_int_equal(f, want[k]);
			if (turn_is_channeldata(s + off, (size_t)f))
				assert_int_equal(turn_channeldata_parse(s + off, (size_t)f, &ch, &data, &dlen), 0);
			else
				assert_true(stun_is_message(s + off, (size_t)f));
			off += (size_t)f;
			k++;
		}
		assert_int_equal(k, 4);
		assert_int_equal(off, n);
	}
	/* the last frame cut: its length is known, the caller waits */
	assert_int_equal(turn_stream_frame_len(s + n - 12, 7), 12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc5769_request),
		cmocka_unit_test(test_rfc5769_responses),
		cmocka_unit_test(test_rfc5769_long_term),
		cmocka_unit_test(test_turn_key),
		cmocka_unit_test(test_allocate),
		cmocka_unit_test(test_bad_auth),
		cmocka_unit_test(test_refresh),
		cmocka_unit_test(test_create_permission),
		cmocka_unit_test(test_channel_bind),
		cmocka_unit_test(test_allocate_success),
		cmocka_unit_test(test_other_successes),
		cmocka_unit_test(test_error_responses),
		cmocka_unit_test(test_realm_nonce_bounds),
		cmocka_unit_test(test_classes_and_txid),
		cmocka_unit_test(test_unknown_and_after_integrity),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_data_indication),
		cmocka_unit_test(test_channeldata),
		cmocka_unit_test(test_stream_frames),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
