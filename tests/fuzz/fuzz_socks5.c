/* libFuzzer target: the SOCKS5 server parser (proxy/socks5). The first
 * input byte picks the configuration (bit 0: authentication required; bit
 * 1: 255-byte credentials instead of "user"/"pass"), the second seeds the
 * split; the rest is the client stream. It is fed at once, byte by byte,
 * and in pseudo-random chunks: the result, the bytes consumed, the bytes
 * to send back and the request must be the same every time, and within
 * the bounds the header promises. A request's address is encoded as a
 * reply's bound address and read back. */
#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy/socks5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct outcome {
	int rc;
	size_t consumed;
	uint8_t out[4 * SOCKS5_FEED_OUT_MAX];
	size_t out_len;
	struct socks5_request req;
};

static char long_user[SOCKS5_CRED_MAX + 1], long_pass[SOCKS5_CRED_MAX + 1];

static void configure(uint8_t flags, struct socks5_config *cfg)
{
	memset(long_user, 'u', SOCKS5_CRED_MAX);
	memset(long_pass, 'p', SOCKS5_CRED_MAX);
	cfg->auth_required = flags & 1;
	cfg->username = flags & 2 ? long_user : "user";
	cfg->password = flags & 2 ? long_pass : "pass";
}

/* Chunk sizes: 0 = all at once, 1 = byte by byte, else pseudo-random 1..16. */
static size_t chunk(uint32_t *rng, int mode, size_t left)
{
	size_t n;

	if (mode == 0)
		return left;
	if (mode == 1)
		return left ? 1 : 0;
	*rng ^= *rng << 13;
	*rng ^= *rng >> 17;
	*rng ^= *rng << 5;
	n = 1 + *rng % 16;
	return n < left ? n : left;
}

static void feed(const struct socks5_config *cfg, const uint8_t *in, size_t len, int mode, uint32_t seed,
		 struct outcome *o)
{
	uint8_t out[SOCKS5_FEED_OUT_MAX];
	const struct socks5_request *req;
	uint32_t rng = seed | 1;
	struct socks5 s;
	size_t used, out_len, n;

	memset(o, 0, sizeof(*o));
	if (socks5_init(&s, cfg))
		abort();
	o->rc = SOCKS5_NEED_MORE;
	do {
		n = chunk(&rng, mode, len - o->consumed);
		o->rc = socks5_feed(&s, in + o->consumed, n, &used, out, sizeof(out), &out_len);
		if (o->rc < 0 || used > n || out_len > sizeof(out) || o->out_len + out_len > sizeof(o->out))
			abort();
		if (o->rc == SOCKS5_NEED_MORE && used != n)
			abort();
		memcpy(o->out + o->out_len, out, out_len);
		o->out_len += out_len;
		o->consumed += used;
	} while (o->rc == SOCKS5_NEED_MORE && o->consumed < len);
	req = socks5_request(&s);
	if ((o->rc == SOCKS5_REQUEST) != (req != NULL))
		abort();
	if (req)
		o->req = *req;
	/* once decided, the same answer, nothing more consumed or written */
	if (o->rc != SOCKS5_NEED_MORE) {
		if (socks5_feed(&s, in + o->consumed, len - o->consumed, &used, out, sizeof(out), &out_len) != o->rc ||
		    used || out_len)
			abort();
	}
	socks5_clear(&s);
}

static void check_request(const struct socks5_request *r)
{
	if (r->cmd != SOCKS5_CMD_CONNECT)
		abort();
	switch (r->atyp) {
	case SOCKS5_ATYP_IPV4:
	case SOCKS5_ATYP_IPV6:
		if (r->domain_len || r->domain[0])
			abort();
		break;
	case SOCKS5_ATYP_DOMAIN:
		if (r->domain_len == 0 || strnlen(r->domain, sizeof(r->domain)) != r->domain_len)
			abort();
		break;
	default:
		abort();
	}
}

/* The request's address as the bound address of a reply, read back. */
static void check_reply(const struct socks5_request *r, uint8_t rep)
{
	struct sockaddr_in6 in6 = { .sin6_family = AF_INET6, .sin6_port = htons(r->port) };
	struct sockaddr_in in4 = { .sin_family = AF_INET, .sin_port = htons(r->port) };
	const struct sockaddr *sa = (const struct sockaddr *)&in4;
	uint8_t out[SOCKS5_REPLY_MAX];
	const uint8_t *want;
	size_t n, alen = 4;

	if (r->atyp == SOCKS5_ATYP_IPV4) {
		memcpy(&in4.sin_addr, r->addr, 4);
	} else if (r->atyp == SOCKS5_ATYP_IPV6) {
		memcpy(&in6.sin6_addr, r->addr, 16);
		sa = (const struct sockaddr *)&in6;
		alen = IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr) ? 4 : 16;
	} else {
		sa = NULL;
	}
	n = socks5_reply(rep, sa, out, sizeof(out));
	if (rep > SOCKS5_REP_ADDRESS_NOT_SUPPORTED) {
		if (n)
			abort();
		return;
	}
	if (n != 4 + alen + 2 || out[0] != 5 || out[1] != rep || out[2] != 0 ||
	    out[3] != (alen == 4 ? SOCKS5_ATYP_IPV4 : SOCKS5_ATYP_IPV6))
		abort();
	want = r->atyp == SOCKS5_ATYP_IPV6 && alen == 4 ? r->addr + 12 : r->addr;   /* mapped: as IPv4 */
	if (sa && (memcmp(out + 4, want, alen) || (out[4 + alen] << 8 | out[5 + alen]) != r->port))
		abort();
	if (socks5_reply(rep, sa, out, n - 1) != 0)
		abort();
}

static bool same(const struct outcome *a, const struct outcome *b)
{
	return a->rc == b->rc && a->consumed == b->consumed && a->out_len == b->out_len &&
	       !memcmp(a->out, b->out, a->out_len) && !memcmp(&a->req, &b->req, sizeof(a->req));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome once, bytes, chunks;
	struct socks5_config cfg;

	if (size < 2)
		return 0;
	configure(data[0], &cfg);
	feed(&cfg, data + 2, size - 2, 0, 0, &once);
	feed(&cfg, data + 2, size - 2, 1, 0, &bytes);
	feed(&cfg, data + 2, size - 2, 2, (uint32_t)data[1] << 8 | data[0], &chunks);
	if (!same(&once, &bytes) || !same(&once, &chunks))
		abort();
	if (once.rc == SOCKS5_NEED_MORE && once.consumed != size - 2)
		abort();
	if (once.rc == SOCKS5_REQUEST) {
		check_request(&once.req);
		check_reply(&once.req, data[1] & 0x0f);
	}
	return 0;
}
