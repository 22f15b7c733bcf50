/* The UAPI's text: parsing the body of a set=1 request into a struct
 * wg_config, and formatting the reply to get=1. Pure functions: nothing
 * here touches a device (the socket server is uapi_server.c).
 *
 * Behaviour follows wireguard-go's device/uapi.go: a line without '=' is a
 * protocol error (EPROTO); an unknown key, a device key after the first
 * public_key, or a bad value is EINVAL; booleans accept only "true";
 * protocol_version only "1". Keys after remove=true are still checked. */
#include "wg/uapi.h"

#include <errno.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/key.h"
#include "wg/messages.h"

/* Allowed IPs in one request, over all its peers (the trie's own limit). */
#define UAPI_MAX_ALLOWED_IPS (1u << 20)

struct parser {
	struct wg_config *c;
	struct wg_peer_config *peer; /* NULL while on the device's keys */
	size_t cap_peers;
	size_t cap_ips;              /* of peer->allowed_ips */
	size_t total_ips;
};

static bool str_is(const char *s, size_t len, const char *lit)
{
	size_t n = strlen(lit);

	return len == n && !memcmp(s, lit, n);
}

/* Decimal digits only (as Go's strconv.ParseUint with base 10), at most max. */
static int parse_uint(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		unsigned d;

		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		d = (unsigned)(s[i] - '0');
		if (v > (max - d) / 10)
			return -EINVAL;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int parse_true(const char *s, size_t len, bool *out)
{
	if (!str_is(s, len, "true"))
		return -EINVAL;
	*out = true;
	return 0;
}

static int add_peer(struct parser *p, const char *value, size_t vlen)
{
	struct wg_config *c = p->c;
	struct wg_peer_config *peer;

	if (c->n_peers >= MAX_PEERS_PER_DEVICE)
		return -E2BIG;
	if (c->n_peers == p->cap_peers) {
		size_t cap = p->cap_peers ? p->cap_peers * 2 : 4;
		struct wg_peer_config *peers;

		if (cap > MAX_PEERS_PER_DEVICE)
			cap = MAX_PEERS_PER_DEVICE;
		/* Copied and wiped rather than realloc'd: peers hold preshared keys. */
		peers = malloc(cap * sizeof(*peers));
		if (!peers)
			return -ENOMEM;
		if (c->peers) {
			memcpy(peers, c->peers, c->n_peers * sizeof(*peers));
			sodium_memzero(c->peers, p->cap_peers * sizeof(*peers));
			free(c->peers);
		}
		c->peers = peers;
		p->cap_peers = cap;
	}
	peer = &c->peers[c->n_peers];
	memset(peer, 0, sizeof(*peer));
	if (key_from_hex_n(peer->public_key, value, vlen))
		return -EINVAL;
	c->n_peers++;
	p->peer = peer;
	p->cap_ips = 0;
	return 0;
}

static int add_allowed_ip(struct parser *p, const char *value, size_t vlen)
{
	struct wg_peer_config *peer = p->peer;
	struct cidr prefix;

	if (cidr_parse_n(value, vlen, &prefix))
		return -EINVAL;
	cidr_normalize(&prefix);
	if (p->total_ips >= UAPI_MAX_ALLOWED_IPS)
		return -E2BIG;
	if (peer->n_allowed_ips == p->cap_ips) {
		size_t cap = p->cap_ips ? p->cap_ips * 2 : 4;
		struct cidr *ips = realloc(peer->allowed_ips, cap * sizeof(*ips));

		if (!ips)
			return -ENOMEM;
		peer->allowed_ips = ips;
		p->cap_ips = cap;
	}
	peer->allowed_ips[peer->n_allowed_ips++] = prefix;
	p->total_ips++;
	return 0;
}

static int device_line(struct parser *p, const char *key, size_t klen, const char *value, size_t vlen)
{
	struct wg_config *c = p->c;
	uint64_t v;

	if (str_is(key, klen, "private_key")) {
		if (key_from_hex_n(c->private_key, value, vlen))
			return -EINVAL;
		c->has_private_key = true;
	} else if (str_is(key, klen, "listen_port")) {
		if (parse_uint(value, vlen, UINT16_MAX, &v))
			return -EINVAL;
		c->listen_port = (uint16_t)v;
		c->has_listen_port = true;
	} else if (str_is(key, klen, "fwmark")) {
		if (parse_uint(value, vlen, UINT32_MAX, &v))
			return -EINVAL;
		c->fwmark = (uint32_t)v;
		c->has_fwmark = true;
	} else if (str_is(key, klen, "replace_peers")) {
		return parse_true(value, vlen, &c->replace_peers);
	} else {
		return -EINVAL;
	}
	return 0;
}

static int peer_line(struct parser *p, const char *key, size_t klen, const char *value, size_t vlen)
{
	struct wg_peer_config *peer = p->peer;
	uint64_t v;

	if (str_is(key, klen, "allowed_ip")) {
		return add_allowed_ip(p, value, vlen);
	} else if (str_is(key, klen, "endpoint")) {
		if (addr_endpoint_parse_n(value, vlen, &peer->endpoint))
			return -EINVAL;
		peer->has_endpoint = true;
	} else if (str_is(key, klen, "preshared_key")) {
		if (key_from_hex_n(peer->preshared_key, value, vlen))
			return -EINVAL;
		peer->has_preshared_key = true;
	} else if (str_is(key, klen, "persistent_keepalive_interval")) {
		if (parse_uint(value, vlen, UINT16_MAX, &v))
			return -EINVAL;
		peer->persistent_keepalive_interval = (uint16_t)v;
		peer->has_persistent_keepalive = true;
	} else if (str_is(key, klen, "replace_allowed_ips")) {
		if (parse_true(value, vlen, &peer->replace_allowed_ips))
			return -EINVAL;
		/* Replaces the ones given so far for this peer too. */
		p->total_ips -= peer->n_allowed_ips;
		peer->n_allowed_ips = 0;
	} else if (str_is(key, klen, "update_only")) {
		return parse_true(value, vlen, &peer->update_only);
	} else if (str_is(key, klen, "remove")) {
		return parse_true(value, vlen, &peer->remove);
	} else if (str_is(key, klen, "protocol_version")) {
		if (!str_is(value, vlen, "1"))
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int parse_line(struct parser *p, const char *line, size_t len)
{
	const char *eq = memchr(line, '=', len);
	size_t klen, vlen;
	const char *value;

	if (!eq)
		return -EPROTO;
	klen = (size_t)(eq - line);
	value = eq + 1;
	vlen = len - klen - 1;
	/* The value parsers read C strings in places: no NUL may hide a tail. */
	if (memchr(value, '\0', vlen))
		return -EINVAL;
	if (str_is(line, klen, "public_key"))
		return add_peer(p, value, vlen);
	if (!p->peer)
		return device_line(p, line, klen, value, vlen);
	return peer_line(p, line, klen, value, vlen);
}

int uapi_parse_set(const char *text, size_t len, struct wg_config *out)
{
	struct parser p = { .c = out };
	size_t pos = 0;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!text && len)
		return -EINVAL;
	if (len > UAPI_MAX_REQUEST)
		return -E2BIG;
	while (pos < len) {
		const char *line = text + pos, *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) : len - pos;

		pos += n + (nl ? 1 : 0);
		if (n && line[n - 1] == '\r')
			n--; /* as Go's bufio.ScanLines */
		if (n == 0) {
			ret = -EPROTO; /* the blank line ends a request; none may be inside */
			break;
		}
		if ((ret = parse_line(&p, line, n)))
			break;
	}
	if (ret) {
		wg_config_release(out);
		memset(out, 0, sizeof(*out));
	}
	return ret;
}

/* --- get ------------------------------------------------------------------ */

struct outbuf {
	char *buf;
	size_t len, cap;
	bool failed;
};

/* Grows by copying and wiping, since the buffer holds keys. */
static bool out_reserve(struct outbuf *o, size_t more)
{
	size_t cap;
	char *buf;

	if (o->failed)
		return false;
	if (o->len + more + 1 <= o->cap)
		return true;
	cap = o->cap ? o->cap : 1024;
	while (cap < o->len + more + 1)
		cap *= 2;
	buf = malloc(cap);
	if (!buf) {
		o->failed = true;
		return false;
	}
	if (o->buf) {
		memcpy(buf, o->buf, o->len);
		sodium_memzero(o->buf, o->cap);
		free(o->buf);
	}
	o->buf = buf;
	o->cap = cap;
	return true;
}

__attribute__((format(printf, 2, 3)))
static void out_printf(struct outbuf *o, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line)) {
		o->failed = true;
	} else if (out_reserve(o, (size_t)n)) {
		memcpy(o->buf + o->len, line, (size_t)n);
		o->len += (size_t)n;
		o->buf[o->len] = 0;
	}
	sodium_memzero(line, sizeof(line));
}

static void out_key(struct outbuf *o, const char *name, const uint8_t key[WG_KEY_SIZE])
{
	char hex[KEY_HEX_LEN + 1];

	key_to_hex(hex, key);
	out_printf(o, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
}

char *uapi_format_get(const struct wg_device_info *info, size_t *len_out)
{
	static const uint8_t zero_key[WG_KEY_SIZE];
	struct outbuf o = { 0 };

	if (!out_reserve(&o, 0))
		return NULL;
	o.buf[0] = 0;
	if (info->has_private_key && !key_is_zero(info->private_key))
		out_key(&o, "private_key", info->private_key);
	if (info->listen_port)
		out_printf(&o, "listen_port=%u\n", info->listen_port);
	if (info->fwmark)
		out_printf(&o, "fwmark=%" PRIu32 "\n", info->fwmark);
	for (size_t i = 0; i < info->n_peers && !o.failed; i++) {
		const struct wg_peer_info *peer = &info->peers[i];
		int family = peer->endpoint.sa.sa_family;

		out_key(&o, "public_key", peer->public_key);
		out_key(&o, "preshared_key", peer->has_preshared_key ? peer->preshared_key : zero_key);
		out_printf(&o, "protocol_version=1\n");
		if (family == AF_INET || family == AF_INET6) {
			char ep[ADDR_ENDPOINT_STRLEN];

			addr_endpoint_format(&peer->endpoint, ep);
			out_printf(&o, "endpoint=%s\n", ep);
		}
		out_printf(&o, "last_handshake_time_sec=%" PRId64 "\n", peer->last_handshake_sec);
		out_printf(&o, "last_handshake_time_nsec=%" PRId64 "\n", peer->last_handshake_nsec);
		out_printf(&o, "tx_bytes=%" PRIu64 "\n", peer->tx_bytes);
		out_printf(&o, "rx_bytes=%" PRIu64 "\n", peer->rx_bytes);
		out_printf(&o, "persistent_keepalive_interval=%u\n", peer->persistent_keepalive_interval);
		for (size_t j = 0; j < peer->n_allowed_ips; j++) {
			char ip[ADDR_CIDR_STRLEN];

			cidr_format(&peer->allowed_ips[j], ip);
			out_printf(&o, "allowed_ip=%s\n", ip);
		}
	}
	if (o.failed) {
		if (o.buf) {
			sodium_memzero(o.buf, o.cap);
			free(o.buf);
		}
		return NULL;
	}
	if (len_out)
		*len_out = o.len;
	return o.buf;
}
