/* STUN Binding requests and responses (RFC 8489), read with a cursor and a
 * sticky error: every length is checked against the bytes really there,
 * attributes are padded to 4, and nothing may be left over. The header
 * check, the attribute walk, addresses, ERROR-CODE and FINGERPRINT are
 * shared with turn.c (stun.h, "The wire"). */
#include "nexd/stun.h"

#include <errno.h>
#include <arpa/inet.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <sodium.h>
#include <zlib.h>

#include "common/log.h"

#define STUN_FINGERPRINT_XOR 0x5354554eu
#define STUN_REASON_WIRE_MAX 763   /* RFC 8489 section 14.8 */

/* ------------------------------------------------------------------ cursor */

struct cursor {
	const uint8_t *p;
	size_t left;
	bool err;
};

static const uint8_t *take(struct cursor *c, size_t n)
{
	const uint8_t *r;

	if (c->err || n > c->left) {
		c->err = true;
		return NULL;
	}
	r = c->p;
	c->p += n;
	c->left -= n;
	return r;
}

static uint8_t get8(struct cursor *c)
{
	const uint8_t *p = take(c, 1);

	return p ? p[0] : 0;
}

static uint16_t get16(struct cursor *c)
{
	const uint8_t *p = take(c, 2);

	return p ? (uint16_t)(p[0] << 8 | p[1]) : 0;
}

static uint32_t get32(struct cursor *c)
{
	const uint8_t *p = take(c, 4);

	return p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t fingerprint_of(const uint8_t *msg, size_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, msg, (uInt)len);
	return (uint32_t)crc ^ STUN_FINGERPRINT_XOR;
}

/* ----------------------------------------------------------------- request */

int stun_request_build_txid(uint8_t *buf, size_t cap, bool fingerprint,
			    const struct stun_txid *txid)
{
	size_t len = STUN_HEADER_LEN + (fingerprint ? 8 : 0);

	if (cap < len)
		return -ENOSPC;
	put16(buf, STUN_BINDING_REQUEST);
	put16(buf + 2, (uint16_t)(len - STUN_HEADER_LEN));
	put32(buf + 4, STUN_MAGIC_COOKIE);
	memcpy(buf + 8, txid->b, STUN_TXID_LEN);
	if (fingerprint) {
		put16(buf + 20, STUN_ATTR_FINGERPRINT);
		put16(buf + 22, 4);
		/* the CRC covers the header whose length already counts FINGERPRINT */
		put32(buf + 24, fingerprint_of(buf, 20));
	}
	return (int)len;
}

int stun_request_build(uint8_t *buf, size_t cap, bool fingerprint, struct stun_txid *txid)
{
	if (sodium_init() < 0)
		return -EIO;
	randombytes_buf(txid->b, sizeof(txid->b));
	return stun_request_build_txid(buf, cap, fingerprint, txid);
}

bool stun_is_message(const uint8_t *buf, size_t len)
{
	const uint8_t *txid;
	uint16_t type;

	return stun_header_parse(buf, len, &type, &txid) == 0;
}

/* ------------------------------------------------------------ the wire */

uint16_t stun_type_method(uint16_t type)
{
	return (uint16_t)((type & 0x000F) | (type & 0x00E0) >> 1 | (type & 0x3E00) >> 2);
}

uint16_t stun_type_of(uint16_t method, uint16_t cls)
{
	return (uint16_t)((method & 0x000F) | (method & 0x0070) << 1 | (method & 0x0F80) << 2 |
			  (cls & STUN_CLASS_MASK));
}

uint32_t stun_fingerprint(const uint8_t *msg, size_t len)
{
	return fingerprint_of(msg, len);
}

int stun_header_parse(const uint8_t *buf, size_t len, uint16_t *type, const uint8_t **txid)
{
	struct cursor c = { buf, len, false };
	uint16_t t, mlen;
	uint32_t cookie;
	const uint8_t *id;

	t = get16(&c);
	mlen = get16(&c);
	cookie = get32(&c);
	id = take(&c, STUN_TXID_LEN);
	if (c.err || (t & 0xC000) != 0 || cookie != STUN_MAGIC_COOKIE)
		return -EBADMSG;
	if (mlen % 4 != 0 || mlen != c.left)
		return -EBADMSG;
	*type = t;
	*txid = id;
	return 0;
}

void stun_attr_walk_init(struct stun_attr_walk *w, const uint8_t *msg, size_t len)
{
	memset(w, 0, sizeof(*w));
	w->msg = msg;
	w->len = len;
	w->off = len < STUN_HEADER_LEN ? len : STUN_HEADER_LEN;
}

int stun_attr_next(struct stun_attr_walk *w, struct stun_tlv *a)
{
	struct cursor c = { w->msg + w->off, w->len - w->off, w->err };
	uint16_t type, alen;
	const uint8_t *val;

	if (!c.err && c.left == 0)
		return 0;
	type = get16(&c);
	alen = get16(&c);
	val = take(&c, alen);
	take(&c, (4 - alen % 4) % 4);   /* padding: contents ignored */
	if (c.err || ++w->n > STUN_ATTRS_MAX || w->fingerprint)
		goto bad;
	if (type == STUN_ATTR_FINGERPRINT) {
		if (alen != 4)
			goto bad;
		if (((uint32_t)val[0] << 24 | (uint32_t)val[1] << 16 | (uint32_t)val[2] << 8 | val[3]) !=
		    fingerprint_of(w->msg, w->off))
			goto bad;
		w->fingerprint = true;
	}
	a->type = type;
	a->len = alen;
	a->val = val;
	a->at = w->off;
	w->off = w->len - c.left;
	return 1;
bad:
	w->err = true;
	return -EBADMSG;
}

int stun_addr_decode(const uint8_t *val, size_t alen, bool xor, const uint8_t txid[STUN_TXID_LEN],
		     union sockaddr_any *out)
{
	struct cursor c = { val, alen, false };
	uint8_t mask[16];
	uint16_t port;
	uint8_t family;
	const uint8_t *ip;

	get8(&c);   /* reserved: ignored by receivers */
	family = get8(&c);
	port = get16(&c);
	if (c.err)
		return -EBADMSG;
	put32(mask, STUN_MAGIC_COOKIE);
	memcpy(mask + 4, txid, STUN_TXID_LEN);
	if (xor)
		port ^= (uint16_t)(STUN_MAGIC_COOKIE >> 16);
	memset(out, 0, sizeof(*out));
	if (family == 0x01) {
		uint8_t a[4];

		ip = take(&c, 4);
		if (c.err || c.left != 0)
			return -EBADMSG;
		for (int i = 0; i < 4; i++)
			a[i] = ip[i] ^ (xor ? mask[i] : 0);
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = htons(port);
		memcpy(&out->in4.sin_addr, a, 4);
		if (out->in4.sin_addr.s_addr == 0)
			return -EBADMSG;
	} else if (family == 0x02) {
		uint8_t a[16];

		ip = take(&c, 16);
		if (c.err || c.left != 0)
			return -EBADMSG;
		for (int i = 0; i < 16; i++)
			a[i] = ip[i] ^ (xor ? mask[i] : 0);
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(port);
		memcpy(&out->in6.sin6_addr, a, 16);
		if (IN6_IS_ADDR_UNSPECIFIED(&out->in6.sin6_addr))
			return -EBADMSG;
	} else {
		return -EBADMSG;
	}
	if (port == 0)
		return -EBADMSG;
	return 0;
}

int stun_xor_addr_encode(uint8_t out[20], const union sockaddr_any *a, const uint8_t txid[STUN_TXID_LEN])
{
	union sockaddr_any u = *a;
	uint8_t mask[16];
	const uint8_t *ip;
	size_t n;

	if (u.sa.sa_family == AF_INET6)
		addr_unmap(&u);
	put32(mask, STUN_MAGIC_COOKIE);
	memcpy(mask + 4, txid, STUN_TXID_LEN);
	out[0] = 0;
	if (u.sa.sa_family == AF_INET) {
		out[1] = 0x01;
		put16(out + 2, ntohs(u.in4.sin_port) ^ (uint16_t)(STUN_MAGIC_COOKIE >> 16));
		ip = (const uint8_t *)&u.in4.sin_addr;
		n = 4;
	} else if (u.sa.sa_family == AF_INET6) {
		out[1] = 0x02;
		put16(out + 2, ntohs(u.in6.sin6_port) ^ (uint16_t)(STUN_MAGIC_COOKIE >> 16));
		ip = u.in6.sin6_addr.s6_addr;
		n = 16;
	} else {
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		out[4 + i] = ip[i] ^ mask[i];
	return (int)(4 + n);
}

int stun_error_decode(const uint8_t *val, size_t alen, unsigned *code, char *reason, size_t reason_cap)
{
	struct cursor c = { val, alen, false };
	unsigned cls, number;
	size_t rlen, i;

	if (alen < 4 || alen > 4 + STUN_REASON_WIRE_MAX || reason_cap == 0)
		return -EBADMSG;
	take(&c, 2);   /* reserved */
	cls = get8(&c) & 0x07;
	number = get8(&c);
	if (cls < 3 || cls > 6 || number > 99)
		return -EBADMSG;
	*code = cls * 100 + number;
	rlen = c.left < reason_cap - 1 ? c.left : reason_cap - 1;
	for (i = 0; i < rlen; i++) {
		uint8_t ch = c.p[i];

		reason[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	reason[i] = '\0';
	return 0;
}

/* ---------------------------------------------------------------- response */

/* Comprehension-required attributes (0x0000-0x7FFF) that may appear in a
 * Binding response and need nothing from us. */
static bool known_required(uint16_t type)
{
	switch (type) {
	case 0x0002: case 0x0003: case 0x0004: case 0x0005:   /* RFC 3489 legacy */
	case 0x0006:                                          /* USERNAME */
	case 0x000A:                                          /* UNKNOWN-ATTRIBUTES */
	case 0x0014: case 0x0015:                             /* REALM, NONCE */
	case 0x001D: case 0x001E:                             /* PASSWORD-ALGORITHM, USERHASH */
	case 0x0026: case 0x0027:                             /* PADDING, RESPONSE-PORT */
		return true;
	}
	return false;
}

int stun_response_parse(const uint8_t *buf, size_t len, const struct stun_txid *txid,
			struct stun_response *out)
{
	struct stun_attr_walk w;
	struct stun_tlv a;
	struct stun_response r;
	union sockaddr_any xor_addr, plain_addr;
	bool have_xor = false, have_plain = false, have_error = false;
	bool after_integrity = false;
	const uint8_t *msg_txid;
	uint16_t type;
	int err;

	memset(&r, 0, sizeof(r));
	if (stun_header_parse(buf, len, &type, &msg_txid) < 0)
		return -EBADMSG;
	if (type != STUN_BINDING_SUCCESS && type != STUN_BINDING_ERROR)
		return -EPROTO;
	if (memcmp(msg_txid, txid->b, STUN_TXID_LEN) != 0)
		return -ESRCH;

	stun_attr_walk_init(&w, buf, len);
	while ((err = stun_attr_next(&w, &a)) > 0) {
		if (a.type == STUN_ATTR_FINGERPRINT) {
			r.fingerprint = true;   /* checked by the walk */
			continue;
		}
		if (after_integrity)
			continue;   /* RFC 8489 14.5: ignored after MESSAGE-INTEGRITY */
		switch (a.type) {
		case STUN_ATTR_XOR_MAPPED_ADDRESS:
			if (have_xor)
				break;   /* only the first counts */
			err = stun_addr_decode(a.val, a.len, true, txid->b, &xor_addr);
			if (err < 0)
				return err;
			have_xor = true;
			break;
		case STUN_ATTR_MAPPED_ADDRESS:
			if (have_plain)
				break;
			err = stun_addr_decode(a.val, a.len, false, txid->b, &plain_addr);
			if (err < 0)
				return err;
			have_plain = true;
			break;
		case STUN_ATTR_ERROR_CODE:
			if (have_error)
				break;
			err = stun_error_decode(a.val, a.len, &r.error_code, r.reason, sizeof(r.reason));
			if (err < 0)
				return err;
			have_error = true;
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY:
			if (a.len != 20)
				return -EBADMSG;
			after_integrity = true;
			break;
		case STUN_ATTR_MESSAGE_INTEGRITY_SHA256:
			if (a.len < 16 || a.len > 32 || a.len % 4 != 0)
				return -EBADMSG;
			after_integrity = true;
			break;
		default:
			if (a.type < 0x8000 && !known_required(a.type) && type == STUN_BINDING_SUCCESS) {
				log_debug("stun: unknown comprehension-required attribute 0x%04x", a.type);
				return -EPROTO;
			}
			break;
		}
	}
	if (err < 0)
		return -EBADMSG;

	if (type == STUN_BINDING_ERROR) {
		if (!have_error)
			return -EBADMSG;
		*out = r;
		return -ECONNREFUSED;
	}
	if (have_xor) {
		r.mapped = xor_addr;
		r.from_xor = true;
	} else if (have_plain) {
		r.mapped = plain_addr;
	} else {
		return -ENOENT;
	}
	*out = r;
	return 0;
}

const char *stun_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case -ECONNREFUSED:
		return "the STUN server answered with an error";
	case -ESRCH:
		return "STUN answer to another transaction";
	case -EPROTO:
		return "STUN message that is not a Binding response we understand";
	case -ENOENT:
		return "STUN answer without a mapped address";
	case -EBADMSG:
		return "malformed STUN answer";
	case -ETIMEDOUT:
		return "no answer from the STUN server";
	case -EMSGSIZE:
		return "STUN answer too large";
	}
	return strerror(err < 0 ? -err : err);
}

/* ---------------------------------------------------------- blocking helper */

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The server's address in the socket's family (v4-mapped on a v6 socket). */
static int server_for_socket(int fd, const union sockaddr_any *server, union sockaddr_any *to)
{
	union sockaddr_any local;
	socklen_t llen = sizeof(local);

	if (getsockname(fd, &local.sa, &llen) < 0)
		return -errno;
	*to = *server;
	if (local.sa.sa_family == AF_INET6 && server->sa.sa_family == AF_INET) {
		memset(to, 0, sizeof(*to));
		to->in6.sin6_family = AF_INET6;
		to->in6.sin6_port = server->in4.sin_port;
		to->in6.sin6_addr.s6_addr[10] = 0xff;
		to->in6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&to->in6.sin6_addr.s6_addr[12], &server->in4.sin_addr, 4);
	} else if (local.sa.sa_family != server->sa.sa_family) {
		return -EAFNOSUPPORT;
	}
	return 0;
}

int stun_binding(int fd, const union sockaddr_any *server, unsigned tries,
		 struct stun_response *out)
{
	uint8_t req[STUN_REQUEST_MAX], buf[STUN_MESSAGE_MAX + 1];
	struct stun_txid txid;
	union sockaddr_any to, want;
	int reqlen, err, last_bad = 0;
	int rto = STUN_RTO_MS;

	err = server_for_socket(fd, server, &to);
	if (err < 0)
		return err;
	want = *server;
	addr_unmap(&want);
	reqlen = stun_request_build(req, sizeof(req), true, &txid);
	if (reqlen < 0)
		return reqlen;

	for (unsigned t = 0; t < tries; t++, rto *= 2) {
		int64_t deadline;

		if (sendto(fd, req, (size_t)reqlen, 0, &to.sa, addr_len(&to)) < 0)
			return -errno;
		deadline = now_ms() + rto;
		for (;;) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			union sockaddr_any from;
			socklen_t flen = sizeof(from);
			int64_t wait = deadline - now_ms();
			ssize_t n;
			int pr;

			if (wait <= 0)
				break;
			pr = poll(&pfd, 1, (int)wait);
			if (pr < 0 && errno == EINTR)
				continue;
			if (pr < 0)
				return -errno;
			if (pr == 0)
				break;
			n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, &from.sa, &flen);
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
					continue;
				return -errno;
			}
			addr_unmap(&from);
			if (!addr_endpoint_equal(&from, &want))
				continue;   /* not from the server */
			if ((size_t)n > STUN_MESSAGE_MAX) {
				last_bad = -EMSGSIZE;
				continue;
			}
			err = stun_response_parse(buf, (size_t)n, &txid, out);
			if (err == 0 || err == -ECONNREFUSED)
				return err;
			if (err != -ESRCH)
				last_bad = err;
		}
	}
	return last_bad ? last_bad : -ETIMEDOUT;
}
