/* Forwarding rules of `nexd proxy`: a cursor over exactly len bytes, one
 * field after the other (protocol, port, destination address, destination
 * port), each checked against its own grammar and bounds, with a message
 * naming the field that is wrong. */
#include "proxy/rule.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#define SHAPE "expected PROTO:PORT:DEST_IP:DEST_PORT"
#define IPV6_TEXT_MAX (INET6_ADDRSTRLEN - 1)

struct cursor {
	const char *p, *end;
};

static size_t left(const struct cursor *c)
{
	return (size_t)(c->end - c->p);
}

/* The bytes up to the next ':' (or the end); the cursor moves past them. */
static size_t field(struct cursor *c, const char **start)
{
	const char *colon = memchr(c->p, ':', left(c));
	size_t n = colon ? (size_t)(colon - c->p) : left(c);

	*start = c->p;
	c->p += n;
	return n;
}

/* Consumes a ':' when it is next. */
static bool take_colon(struct cursor *c)
{
	if (!left(c) || *c->p != ':')
		return false;
	c->p++;
	return true;
}

static bool is_digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool is_hex(char ch)
{
	return is_digit(ch) || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* The rule as shown in messages: printable ASCII, at most
 * PROXY_RULE_TEXT_MAX bytes and then "...". */
static void show(const char *text, size_t len, char out[PROXY_RULE_TEXT_MAX + 4])
{
	size_t n = len > PROXY_RULE_TEXT_MAX ? PROXY_RULE_TEXT_MAX : len;

	for (size_t i = 0; i < n; i++)
		out[i] = text[i] >= 0x20 && text[i] < 0x7f ? text[i] : '?';
	if (n < len) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = 0;
}

static int refuse(const char *text, size_t len, char *why, size_t why_len, const char *reason)
{
	char shown[PROXY_RULE_TEXT_MAX + 4];

	if (why && why_len) {
		show(text, len, shown);
		snprintf(why, why_len, "%s: %s", shown, reason);
	}
	return -EINVAL;
}

/* A port field: 1*5DIGIT, no leading zero, 1..65535. NULL, or why not. */
static const char *port_value(const char *s, size_t n, uint16_t *out, bool dest)
{
	unsigned v = 0;

	if (n == 0)
		return dest ? "destination port is missing" : "port is missing";
	for (size_t i = 0; i < n; i++)
		if (!is_digit(s[i]))
			return dest ? "destination port must be a decimal number" : "port must be a decimal number";
	for (size_t i = 0; i < n && i < 6; i++)
		v = v * 10 + (unsigned)(s[i] - '0');
	if (n > 5 || v == 0 || v > 65535)
		return dest ? "destination port must be 1 to 65535" : "port must be 1 to 65535";
	if (s[0] == '0')
		return dest ? "destination port must not have leading zeros" : "port must not have leading zeros";
	*out = (uint16_t)v;
	return NULL;
}

/* A dotted quad: four parts of 1 to 3 digits, 0..255, no leading zeros. */
static bool ipv4_value(const char *s, size_t n, uint8_t out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned v = 0;

		if (part > 0) {
			if (i >= n || s[i] != '.')
				return false;
			start = ++i;
		}
		while (i < n && is_digit(s[i]) && i - start < 3)
			v = v * 10 + (unsigned)(s[i++] - '0');
		if (i == start || v > 255 || (s[start] == '0' && i - start > 1))
			return false;
		out[part] = (uint8_t)v;
	}
	return i == n;
}

/* The bracketed IPv6 text of n bytes (brackets excluded). */
static const char *ipv6_value(const char *s, size_t n, uint8_t out[16])
{
	char buf[IPV6_TEXT_MAX + 1];

	if (memchr(s, '%', n))
		return "destination address must not have an IPv6 zone";
	if (n < 2 || n > IPV6_TEXT_MAX)
		return "destination address is not a valid IPv6 address";
	memcpy(buf, s, n);
	buf[n] = 0;
	if (strspn(buf, "0123456789abcdefABCDEF:.") != n || inet_pton(AF_INET6, buf, out) != 1)
		return "destination address is not a valid IPv6 address";
	return NULL;
}

/* Only unicast destinations, each in one family. NULL, or why not. */
static const char *dest_check(int family, const uint8_t a[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t zero[16];

	if (family == AF_INET) {
		if (!memcmp(a, zero, 4))
			return "destination address must not be unspecified (0.0.0.0)";
		if ((a[0] & 0xf0) == 0xe0 || !memcmp(a, "\xff\xff\xff\xff", 4))
			return "destination address must be unicast";
		return NULL;
	}
	if (!memcmp(a, zero, 16))
		return "destination address must not be unspecified (::)";
	if (a[0] == 0xff)
		return "destination address must be unicast";
	if (!memcmp(a, mapped, sizeof(mapped)))
		return "destination address is IPv4-mapped: write it as IPv4";
	return NULL;
}

/* DEST_IP and the ':' after it: "[v6]:" or "a.b.c.d:". */
static const char *parse_dest(struct cursor *c, int *family, uint8_t dest[16])
{
	const char *s, *why;
	size_t n;

	memset(dest, 0, 16);
	if (left(c) && *c->p == '[') {
		const char *close = memchr(c->p, ']', left(c));

		if (!close)
			return "destination IPv6 address has no closing ']'";
		s = c->p + 1;
		n = (size_t)(close - s);
		if ((why = ipv6_value(s, n, dest)))
			return why;
		c->p = close + 1;
		*family = AF_INET6;
	} else {
		size_t colons = 0, hex = 0;

		for (size_t i = 0; i < left(c); i++)
			colons += c->p[i] == ':';
		n = field(c, &s);
		if (!ipv4_value(s, n, dest)) {
			while (hex < n && is_hex(s[hex]))
				hex++;
			/* "2001:db8::5:80": an IPv6 address without brackets */
			if (hex == n && colons >= 2)
				return "destination IPv6 address must be in brackets";
			return n ? "destination address is not a valid IPv4 address" : "destination address is missing";
		}
		*family = AF_INET;
	}
	if ((why = dest_check(*family, dest)))
		return why;
	if (!take_colon(c))
		return left(c) ? "destination address must be followed by ':' and a port" : SHAPE;
	return NULL;
}

static const char *parse_proto(struct cursor *c, int *proto)
{
	const char *s;
	size_t n = field(c, &s);

	if (n == 3 && !memcmp(s, "tcp", 3))
		*proto = IPPROTO_TCP;
	else if (n == 3 && !memcmp(s, "udp", 3))
		*proto = IPPROTO_UDP;
	else
		return "protocol must be tcp or udp";
	return take_colon(c) ? NULL : SHAPE;
}

static const char *parse_port(struct cursor *c, uint16_t *port)
{
	const char *s, *why;
	size_t n = field(c, &s);

	if ((why = port_value(s, n, port, false)))
		return why;
	return take_colon(c) ? NULL : SHAPE;
}

static const char *parse_all(const char *text, size_t len, struct proxy_rule *r)
{
	struct cursor c = { text, text + len };
	const char *s, *why;
	size_t n;

	if (len > PROXY_RULE_TEXT_MAX)
		return "rule is longer than 63 bytes";
	if (memchr(text, 0, len))
		return "rule contains a NUL byte";
	if ((why = parse_proto(&c, &r->proto)) || (why = parse_port(&c, &r->port)) ||
	    (why = parse_dest(&c, &r->family, r->dest)))
		return why;
	n = field(&c, &s);
	if ((why = port_value(s, n, &r->dest_port, true)))
		return why;
	if (left(&c))
		return "unexpected text after the destination port";
	return NULL;
}

int proxy_rule_parse(const char *text, size_t len, enum proxy_dir dir, struct proxy_rule *out,
		     char *why, size_t why_len)
{
	struct proxy_rule r;
	const char *reason;

	if (why && why_len)
		why[0] = 0;
	if (!text || !out)
		return -EINVAL;
	if (dir != PROXY_INGRESS && dir != PROXY_EGRESS)
		return refuse(text, len, why, why_len, "unknown direction");
	if (len == 0) {
		if (why && why_len)
			snprintf(why, why_len, "empty rule: " SHAPE);
		return -EINVAL;
	}
	memset(&r, 0, sizeof(r));
	r.dir = dir;
	if ((reason = parse_all(text, len, &r)))
		return refuse(text, len, why, why_len, reason);
	*out = r;
	return 0;
}

static bool rule_valid(const struct proxy_rule *r)
{
	if (r->dir != PROXY_INGRESS && r->dir != PROXY_EGRESS)
		return false;
	if (r->proto != IPPROTO_TCP && r->proto != IPPROTO_UDP)
		return false;
	if (r->port == 0 || r->dest_port == 0)
		return false;
	return (r->family == AF_INET || r->family == AF_INET6) && dest_check(r->family, r->dest) == NULL;
}

int proxy_rule_format(const struct proxy_rule *r, char *out, size_t size)
{
	char addr[INET6_ADDRSTRLEN];
	bool v6;
	int n;

	if (!r || !out || !rule_valid(r))
		return -EINVAL;
	v6 = r->family == AF_INET6;
	if (!inet_ntop(r->family, r->dest, addr, sizeof(addr)))
		return -EINVAL;
	n = snprintf(out, size, "%s:%u:%s%s%s:%u", r->proto == IPPROTO_TCP ? "tcp" : "udp", r->port,
		     v6 ? "[" : "", addr, v6 ? "]" : "", r->dest_port);
	if (n < 0 || (size_t)n >= size)
		return -ENOSPC;
	return n;
}

bool proxy_rule_equal(const struct proxy_rule *a, const struct proxy_rule *b)
{
	size_t alen = a->family == AF_INET ? 4 : 16;

	return a->dir == b->dir && a->proto == b->proto && a->port == b->port && a->family == b->family &&
	       a->dest_port == b->dest_port && !memcmp(a->dest, b->dest, alen);
}
