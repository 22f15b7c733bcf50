/* SOCKS5 server side: the client stream is taken one byte at a time into
 * the message being read, and each message (greeting, RFC 1929
 * authentication, request) is checked as soon as a byte decides something:
 * a wrong field closes, a complete message answers and moves on. Taking one
 * byte at a time makes the result independent of how the stream is split. */
#include "proxy/socks5.h"

#include <errno.h>
#include <netinet/in.h>
#include <sodium.h>
#include <string.h>

enum state { ST_GREETING = 1, ST_AUTH, ST_REQUEST, ST_DONE, ST_CLOSED };

/* What a step tells the feeding loop. */
enum step { STEP_MORE, STEP_DONE, STEP_CLOSE };

struct sink {
	uint8_t *p;
	size_t size, len;
};

static void emit(struct sink *o, const uint8_t *b, size_t n)
{
	/* never short: socks5_feed demands SOCKS5_FEED_OUT_MAX bytes of room */
	if (n > o->size - o->len)
		return;
	memcpy(o->p + o->len, b, n);
	o->len += n;
}

static void emit2(struct sink *o, uint8_t a, uint8_t b)
{
	const uint8_t two[2] = { a, b };

	emit(o, two, 2);
}

/* An error reply to the request, then close. */
static enum step fail(struct socks5 *s, struct sink *o, uint8_t rep)
{
	uint8_t r[SOCKS5_REPLY_MAX];

	emit(o, r, socks5_reply(rep, NULL, r, sizeof(r)));
	s->state = ST_CLOSED;
	return STEP_CLOSE;
}

static enum step next(struct socks5 *s, enum state st)
{
	s->state = st;
	s->have = 0;
	return STEP_MORE;
}

/* VER NMETHODS METHODS... */
static enum step greeting(struct socks5 *s, struct sink *o)
{
	uint8_t want = s->auth_required ? SOCKS5_METHOD_USERPASS : SOCKS5_METHOD_NONE;
	const uint8_t *m = s->msg;

	if (s->have == 1 && m[0] != 5) {
		s->state = ST_CLOSED;
		return STEP_CLOSE;
	}
	if (s->have < 2 || s->have < 2 + (size_t)m[1])
		return STEP_MORE;
	/* complete (NMETHODS 0 at once: nothing offered, nothing acceptable) */
	if (memchr(m + 2, want, m[1])) {
		emit2(o, 5, want);
		return next(s, s->auth_required ? ST_AUTH : ST_REQUEST);
	}
	emit2(o, 5, SOCKS5_METHOD_UNACCEPTABLE);
	s->state = ST_CLOSED;
	return STEP_CLOSE;
}

/* Constant time in the bytes: both sides zero-padded to 255 bytes. */
static bool credentials_match(const struct socks5 *s, const uint8_t *user, uint8_t ulen, const uint8_t *pass,
			      uint8_t plen)
{
	uint8_t u[SOCKS5_CRED_MAX] = { 0 }, p[SOCKS5_CRED_MAX] = { 0 };
	int bad;

	memcpy(u, user, ulen);
	memcpy(p, pass, plen);
	bad = sodium_memcmp(u, s->user, sizeof(u)) | sodium_memcmp(p, s->pass, sizeof(p));
	bad |= (ulen != s->ulen) | (plen != s->plen);
	sodium_memzero(u, sizeof(u));
	sodium_memzero(p, sizeof(p));
	return bad == 0;
}

/* The RFC 1929 status; the message (the password in it) is wiped. */
static enum step auth_status(struct socks5 *s, struct sink *o, bool ok)
{
	sodium_memzero(s->msg, sizeof(s->msg));
	emit2(o, 1, ok ? 0 : 1);
	if (ok)
		return next(s, ST_REQUEST);
	s->state = ST_CLOSED;
	return STEP_CLOSE;
}

/* RFC 1929: VER ULEN UNAME PLEN PASSWD. */
static enum step auth(struct socks5 *s, struct sink *o)
{
	const uint8_t *m = s->msg;
	size_t ulen, plen;

	if ((s->have == 1 && m[0] != 1) || (s->have == 2 && m[1] == 0))
		return auth_status(s, o, false);
	if (s->have < 3)
		return STEP_MORE;
	ulen = m[1];
	if (s->have < 3 + ulen)
		return STEP_MORE;
	plen = m[2 + ulen];
	if (plen == 0)
		return auth_status(s, o, false);
	if (s->have < 3 + ulen + plen)
		return STEP_MORE;
	return auth_status(s, o, credentials_match(s, m + 2, (uint8_t)ulen, m + 3 + ulen, (uint8_t)plen));
}

/* The length of the whole request once its first bytes are known, else 0. */
static size_t request_len(const uint8_t *m, size_t have)
{
	if (have < 4)
		return 0;
	switch (m[3]) {
	case SOCKS5_ATYP_IPV4: return 4 + 4 + 2;
	case SOCKS5_ATYP_IPV6: return 4 + 16 + 2;
	default: return have < 5 ? 0 : 5 + (size_t)m[4] + 2;
	}
}

/* The complete request into s->req: 0, or the REP of an error. */
static uint8_t request_fill(struct socks5 *s, size_t total)
{
	struct socks5_request *r = &s->req;
	const uint8_t *m = s->msg;

	memset(r, 0, sizeof(*r));
	r->cmd = m[1];
	r->atyp = m[3];
	r->port = (uint16_t)(m[total - 2] << 8 | m[total - 1]);
	if (r->cmd != SOCKS5_CMD_CONNECT)
		return SOCKS5_REP_COMMAND_NOT_SUPPORTED;
	if (r->atyp == SOCKS5_ATYP_IPV4) {
		memcpy(r->addr, m + 4, 4);
	} else if (r->atyp == SOCKS5_ATYP_IPV6) {
		memcpy(r->addr, m + 4, 16);
	} else {
		r->domain_len = m[4];
		if (memchr(m + 5, 0, r->domain_len))
			return SOCKS5_REP_GENERAL_FAILURE;
		memcpy(r->domain, m + 5, r->domain_len);
	}
	return 0;
}

/* VER CMD RSV ATYP DST.ADDR DST.PORT. */
static enum step request(struct socks5 *s, struct sink *o)
{
	const uint8_t *m = s->msg;
	size_t total;
	uint8_t rep;

	if ((s->have == 1 && m[0] != 5) || (s->have == 3 && m[2] != 0))
		return fail(s, o, SOCKS5_REP_GENERAL_FAILURE);
	if (s->have == 4 && m[3] != SOCKS5_ATYP_IPV4 && m[3] != SOCKS5_ATYP_IPV6 && m[3] != SOCKS5_ATYP_DOMAIN)
		return fail(s, o, SOCKS5_REP_ADDRESS_NOT_SUPPORTED);
	if (s->have == 5 && m[3] == SOCKS5_ATYP_DOMAIN && m[4] == 0)
		return fail(s, o, SOCKS5_REP_GENERAL_FAILURE);
	total = request_len(m, s->have);
	if (total == 0 || s->have < total)
		return STEP_MORE;
	if ((rep = request_fill(s, total))) {
		memset(&s->req, 0, sizeof(s->req));
		return fail(s, o, rep);
	}
	s->state = ST_DONE;
	return STEP_DONE;
}

static enum step step(struct socks5 *s, struct sink *o)
{
	switch (s->state) {
	case ST_GREETING: return greeting(s, o);
	case ST_AUTH: return auth(s, o);
	case ST_REQUEST: return request(s, o);
	default: return STEP_CLOSE;
	}
}

size_t socks5_size(void)
{
	return sizeof(struct socks5);
}

static int copy_cred(const char *in, uint8_t out[SOCKS5_CRED_MAX], uint8_t *len)
{
	size_t n;

	if (!in)
		return -EINVAL;
	n = strnlen(in, SOCKS5_CRED_MAX + 1);
	if (n == 0 || n > SOCKS5_CRED_MAX)
		return -EINVAL;
	memcpy(out, in, n);
	*len = (uint8_t)n;
	return 0;
}

int socks5_init(struct socks5 *s, const struct socks5_config *cfg)
{
	if (!s || !cfg)
		return -EINVAL;
	sodium_memzero(s, sizeof(*s));
	if (cfg->auth_required &&
	    (copy_cred(cfg->username, s->user, &s->ulen) || copy_cred(cfg->password, s->pass, &s->plen))) {
		sodium_memzero(s, sizeof(*s));
		return -EINVAL;
	}
	s->auth_required = cfg->auth_required;
	s->state = ST_GREETING;
	return 0;
}

void socks5_clear(struct socks5 *s)
{
	if (s)
		sodium_memzero(s, sizeof(*s));
}

int socks5_feed(struct socks5 *s, const uint8_t *in, size_t len, size_t *consumed, uint8_t *out,
		size_t out_size, size_t *out_len)
{
	struct sink o = { out, out_size, 0 };
	enum step r = STEP_MORE;
	size_t i = 0;

	if (!s || (!in && len) || !consumed || !out || !out_len)
		return -EINVAL;
	*consumed = 0;
	*out_len = 0;
	if (out_size < SOCKS5_FEED_OUT_MAX)
		return -ENOSPC;
	if (s->state == ST_DONE)
		return SOCKS5_REQUEST;
	if (s->state == ST_CLOSED)
		return SOCKS5_CLOSE;
	if (s->state < ST_GREETING || s->state > ST_REQUEST)
		return -EINVAL;   /* not initialized */
	while (r == STEP_MORE && i < len) {
		if (s->have >= sizeof(s->msg))   /* cannot happen: every message fits */
			return SOCKS5_CLOSE;
		s->msg[s->have++] = in[i++];
		r = step(s, &o);
	}
	*consumed = i;
	*out_len = o.len;
	return r == STEP_DONE ? SOCKS5_REQUEST : r == STEP_CLOSE ? SOCKS5_CLOSE : SOCKS5_NEED_MORE;
}

const struct socks5_request *socks5_request(const struct socks5 *s)
{
	return s && s->state == ST_DONE ? &s->req : NULL;
}

size_t socks5_reply(uint8_t rep, const struct sockaddr *bound, uint8_t *out, size_t size)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *addr = NULL;
	uint16_t port = 0;   /* network order */
	size_t alen = 4, n;

	if (!out || rep > SOCKS5_REP_ADDRESS_NOT_SUPPORTED)
		return 0;
	if (bound && bound->sa_family == AF_INET) {
		const struct sockaddr_in *in4 = (const struct sockaddr_in *)bound;

		addr = (const uint8_t *)&in4->sin_addr;
		port = in4->sin_port;
	} else if (bound && bound->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)bound;

		addr = in6->sin6_addr.s6_addr;
		port = in6->sin6_port;
		alen = 16;
		if (!memcmp(addr, mapped, sizeof(mapped))) {
			addr += 12;
			alen = 4;
		}
	} else if (bound) {
		return 0;
	}
	n = 4 + alen + 2;
	if (size < n)
		return 0;
	out[0] = 5;
	out[1] = rep;
	out[2] = 0;
	out[3] = alen == 4 ? SOCKS5_ATYP_IPV4 : SOCKS5_ATYP_IPV6;
	if (addr)
		memcpy(out + 4, addr, alen);
	else
		memset(out + 4, 0, alen);
	memcpy(out + 4 + alen, &port, 2);
	return n;
}

uint8_t socks5_rep_from_errno(int err)
{
	switch (err < 0 ? -err : err) {
	case ECONNREFUSED: return SOCKS5_REP_CONNECTION_REFUSED;
	case ENETUNREACH: return SOCKS5_REP_NETWORK_UNREACHABLE;
	case EHOSTUNREACH:
	case ETIMEDOUT: return SOCKS5_REP_HOST_UNREACHABLE;
	case EACCES:
	case EPERM: return SOCKS5_REP_NOT_ALLOWED;
	case EAFNOSUPPORT: return SOCKS5_REP_ADDRESS_NOT_SUPPORTED;
	default: return SOCKS5_REP_GENERAL_FAILURE;
	}
}
