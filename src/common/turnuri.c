/* TURN URIs: a cursor over the bytes, one part after the other (scheme,
 * host, port, query), each checked against its own grammar and bounds;
 * nothing may be left over. */
#include "common/turnuri.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

struct cursor {
	const char *p, *end;
};

static size_t left(const struct cursor *c)
{
	return (size_t)(c->end - c->p);
}

/* Consumes the case-insensitive literal lit when it is next. */
static bool take(struct cursor *c, const char *lit)
{
	size_t n = strlen(lit);

	if (left(c) < n || strncasecmp(c->p, lit, n))
		return false;
	c->p += n;
	return true;
}

static bool is_alnum(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

static char lower(char ch)
{
	return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* A DNS name of len bytes, written in lowercase to out. */
static int dns_name(const char *s, size_t len, char out[256])
{
	size_t label = 0, start = 0;
	bool all_digits = true;

	if (len == 0 || len > TURN_URI_HOST_MAX)
		return -EINVAL;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || s[i] == '.') {
			/* a label ends: 1..63 bytes, no "-" at either end */
			if (label == 0 || label > 63 || s[start] == '-' || s[i - 1] == '-')
				return -EINVAL;
			if (i < len) {
				label = 0;
				start = i + 1;
				all_digits = true;
			}
			continue;
		}
		if (!is_alnum(s[i]) && s[i] != '-')
			return -EINVAL;
		if (s[i] < '0' || s[i] > '9')
			all_digits = false;
		label++;
	}
	/* "203.0.113.300" or "1.2.3" is a bad address, not a name */
	if (all_digits)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		out[i] = lower(s[i]);
	out[len] = 0;
	return 0;
}

static int parse_host(struct cursor *c, char out[256])
{
	char buf[TURN_URI_HOST_MAX + 1];
	uint8_t a[16];
	size_t n;

	if (left(c) && *c->p == '[') {
		const char *close = memchr(c->p, ']', left(c));

		if (!close)
			return -EINVAL;
		n = (size_t)(close - c->p - 1);
		if (n < 2 || n >= INET6_ADDRSTRLEN)
			return -EINVAL;
		memcpy(buf, c->p + 1, n);
		buf[n] = 0;
		if (strspn(buf, "0123456789abcdefABCDEF:.") != n || inet_pton(AF_INET6, buf, a) != 1)
			return -EINVAL;
		if (!inet_ntop(AF_INET6, a, out, 256))
			return -EINVAL;
		c->p = close + 1;
		return 0;
	}
	n = 0;
	while (n < left(c) && c->p[n] != ':' && c->p[n] != '?')
		n++;
	if (n == 0 || n > TURN_URI_HOST_MAX)
		return -EINVAL;
	memcpy(buf, c->p, n);
	buf[n] = 0;
	if (inet_pton(AF_INET, buf, a) == 1) {
		memcpy(out, buf, n + 1);   /* dotted quad, no leading zeros: canonical */
	} else if (dns_name(buf, n, out)) {
		return -EINVAL;
	}
	c->p += n;
	return 0;
}

/* ":" 1*5DIGIT, no leading zero, 1..65535. */
static int parse_port(struct cursor *c, uint16_t *out)
{
	unsigned v = 0;
	size_t n = 0;

	while (n < left(c) && c->p[n] >= '0' && c->p[n] <= '9') {
		if (n == 5)
			return -EINVAL;
		v = v * 10 + (unsigned)(c->p[n] - '0');
		n++;
	}
	if (n == 0 || c->p[0] == '0' || v > 65535)
		return -EINVAL;
	c->p += n;
	*out = (uint16_t)v;
	return 0;
}

int turn_uri_parse_n(const char *s, size_t len, struct turn_uri *out)
{
	struct cursor c;
	struct turn_uri u;
	bool tls;

	if (!s || len > TURN_URI_MAX || memchr(s, 0, len))
		return -EINVAL;
	c.p = s;
	c.end = s + len;
	memset(&u, 0, sizeof(u));
	if (take(&c, "turns:"))
		tls = true;
	else if (take(&c, "turn:"))
		tls = false;
	else
		return -EINVAL;
	if (parse_host(&c, u.host))
		return -EINVAL;
	u.port = tls ? TURN_URI_TLS_PORT : TURN_URI_PORT;
	if (take(&c, ":") && parse_port(&c, &u.port))
		return -EINVAL;
	u.transport = tls ? TURN_TRANSPORT_TLS : TURN_TRANSPORT_UDP;
	if (take(&c, "?transport=")) {
		if (take(&c, "tcp"))
			u.transport = tls ? TURN_TRANSPORT_TLS : TURN_TRANSPORT_TCP;
		else if (tls || !take(&c, "udp"))
			return -EINVAL;   /* turns over UDP would be DTLS: not offered */
	}
	if (left(&c))
		return -EINVAL;
	*out = u;
	return 0;
}

int turn_uri_parse(const char *s, struct turn_uri *out)
{
	return s ? turn_uri_parse_n(s, strnlen(s, TURN_URI_MAX + 1), out) : -EINVAL;
}

int turn_uri_format(const struct turn_uri *u, char *out, size_t cap)
{
	const char *query = u->transport == TURN_TRANSPORT_TCP ? "?transport=tcp" : "";
	bool v6 = strchr(u->host, ':') != NULL;
	size_t hlen = strnlen(u->host, sizeof(u->host));
	int n;

	if (hlen == 0 || hlen == sizeof(u->host) || u->port == 0 ||
	    (u->transport != TURN_TRANSPORT_UDP && u->transport != TURN_TRANSPORT_TCP &&
	     u->transport != TURN_TRANSPORT_TLS))
		return -EINVAL;
	n = snprintf(out, cap, "%s:%s%s%s:%u%s", u->transport == TURN_TRANSPORT_TLS ? "turns" : "turn",
		     v6 ? "[" : "", u->host, v6 ? "]" : "", u->port, query);
	if (n < 0 || (size_t)n >= cap)
		return -ENOSPC;
	return n;
}

const char *turn_transport_name(enum turn_transport t)
{
	switch (t) {
	case TURN_TRANSPORT_UDP: return "udp";
	case TURN_TRANSPORT_TCP: return "tcp";
	case TURN_TRANSPORT_TLS: return "tls";
	}
	return "?";
}
