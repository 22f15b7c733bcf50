#include "common/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_port(const char *s, size_t len, uint16_t *port)
{
	unsigned v = 0;

	if (len == 0 || len > 5)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned)(s[i] - '0');
	}
	if (v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int addr_endpoint_parse_n(const char *s, size_t len, union sockaddr_any *out)
{
	char host[INET6_ADDRSTRLEN + 1 + IF_NAMESIZE + 1];
	union sockaddr_any a;
	const char *colon;
	uint16_t port;

	memset(&a, 0, sizeof(a));
	if (!s || len < 3)
		return -EINVAL;
	if (s[0] == '[') {
		const char *close = memchr(s, ']', len);
		size_t hlen;
		char *pct;

		if (!close || close + 1 >= s + len || close[1] != ':')
			return -EINVAL;
		hlen = (size_t)(close - s - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, hlen);
		host[hlen] = 0;
		if (parse_port(close + 2, (size_t)(s + len - close - 2), &port))
			return -EINVAL;
		pct = strchr(host, '%');
		if (pct) {
			*pct++ = 0;
			a.in6.sin6_scope_id = if_nametoindex(pct);
			if (!a.in6.sin6_scope_id) {
				char *end;
				unsigned long v = strtoul(pct, &end, 10);
				if (!*pct || *end || v > UINT32_MAX)
					return -EINVAL;
				a.in6.sin6_scope_id = (uint32_t)v;
			}
		}
		if (inet_pton(AF_INET6, host, &a.in6.sin6_addr) != 1)
			return -EINVAL;
		a.in6.sin6_family = AF_INET6;
		a.in6.sin6_port = htons(port);
	} else {
		size_t hlen;

		colon = memrchr(s, ':', len);
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - s);
		if (hlen == 0 || hlen >= sizeof(host) || memchr(s, ':', hlen))
			return -EINVAL;
		memcpy(host, s, hlen);
		host[hlen] = 0;
		if (parse_port(colon + 1, (size_t)(s + len - colon - 1), &port))
			return -EINVAL;
		if (inet_pton(AF_INET, host, &a.in4.sin_addr) != 1)
			return -EINVAL;
		a.in4.sin_family = AF_INET;
		a.in4.sin_port = htons(port);
	}
	*out = a;
	return 0;
}

int addr_endpoint_parse(const char *s, union sockaddr_any *out)
{
	return s ? addr_endpoint_parse_n(s, strlen(s), out) : -EINVAL;
}

void addr_unmap(union sockaddr_any *a)
{
	if (a->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
		struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = a->in6.sin6_port };

		memcpy(&v4.sin_addr, &a->in6.sin6_addr.s6_addr[12], 4);
		memset(a, 0, sizeof(*a));
		a->in4 = v4;
	}
}

void addr_endpoint_format(const union sockaddr_any *in, char out[ADDR_ENDPOINT_STRLEN])
{
	union sockaddr_any a = *in;
	char ip[INET6_ADDRSTRLEN];

	addr_unmap(&a);
	if (a.sa.sa_family == AF_INET) {
		inet_ntop(AF_INET, &a.in4.sin_addr, ip, sizeof(ip));
		snprintf(out, ADDR_ENDPOINT_STRLEN, "%s:%u", ip, ntohs(a.in4.sin_port));
	} else if (a.sa.sa_family == AF_INET6) {
		inet_ntop(AF_INET6, &a.in6.sin6_addr, ip, sizeof(ip));
		if (a.in6.sin6_scope_id)
			snprintf(out, ADDR_ENDPOINT_STRLEN, "[%s%%%u]:%u", ip, a.in6.sin6_scope_id,
				 ntohs(a.in6.sin6_port));
		else
			snprintf(out, ADDR_ENDPOINT_STRLEN, "[%s]:%u", ip, ntohs(a.in6.sin6_port));
	} else {
		snprintf(out, ADDR_ENDPOINT_STRLEN, "(none)");
	}
}

socklen_t addr_len(const union sockaddr_any *a)
{
	return a->sa.sa_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

bool addr_endpoint_equal(const union sockaddr_any *x, const union sockaddr_any *y)
{
	if (x->sa.sa_family != y->sa.sa_family)
		return false;
	if (x->sa.sa_family == AF_INET)
		return x->in4.sin_port == y->in4.sin_port && x->in4.sin_addr.s_addr == y->in4.sin_addr.s_addr;
	if (x->sa.sa_family == AF_INET6)
		return x->in6.sin6_port == y->in6.sin6_port &&
		       !memcmp(&x->in6.sin6_addr, &y->in6.sin6_addr, 16) &&
		       x->in6.sin6_scope_id == y->in6.sin6_scope_id;
	return false;
}

int addr_ip_parse(const char *s, int *family, uint8_t addr[16])
{
	uint8_t buf[16] = { 0 };

	if (!s)
		return -EINVAL;
	if (inet_pton(AF_INET, s, buf) == 1) {
		*family = AF_INET;
	} else if (inet_pton(AF_INET6, s, buf) == 1) {
		*family = AF_INET6;
	} else {
		return -EINVAL;
	}
	memcpy(addr, buf, 16);
	return 0;
}

int cidr_parse_n(const char *s, size_t len, struct cidr *out)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *slash;
	size_t iplen;
	struct cidr c;
	unsigned max, prefix;

	memset(&c, 0, sizeof(c));
	if (!s || len == 0)
		return -EINVAL;
	slash = memchr(s, '/', len);
	iplen = slash ? (size_t)(slash - s) : len;
	if (iplen == 0 || iplen >= sizeof(ip))
		return -EINVAL;
	memcpy(ip, s, iplen);
	ip[iplen] = 0;
	if (addr_ip_parse(ip, &c.family, c.addr))
		return -EINVAL;
	max = c.family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash) {
		const char *p = slash + 1;
		size_t plen = (size_t)(s + len - p);

		if (plen == 0 || plen > 3)
			return -EINVAL;
		prefix = 0;
		for (size_t i = 0; i < plen; i++) {
			if (p[i] < '0' || p[i] > '9')
				return -EINVAL;
			prefix = prefix * 10 + (unsigned)(p[i] - '0');
		}
		if (plen > 1 && p[0] == '0')
			return -EINVAL;
	}
	if (prefix > max)
		return -EINVAL;
	c.prefix = (uint8_t)prefix;
	*out = c;
	return 0;
}

int cidr_parse(const char *s, struct cidr *out)
{
	return s ? cidr_parse_n(s, strlen(s), out) : -EINVAL;
}

void cidr_format(const struct cidr *c, char out[ADDR_CIDR_STRLEN])
{
	char ip[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, ip, sizeof(ip));
	snprintf(out, ADDR_CIDR_STRLEN, "%s/%u", ip, c->prefix);
}

void cidr_normalize(struct cidr *c)
{
	unsigned bytes = c->family == AF_INET ? 4 : 16;

	for (unsigned i = 0; i < 16; i++) {
		unsigned bit = i * 8;

		if (i >= bytes || bit >= c->prefix)
			c->addr[i] = 0;
		else if (bit + 8 > c->prefix)
			c->addr[i] &= (uint8_t)(0xff << (8 - (c->prefix - bit)));
	}
}

bool cidr_contains(const struct cidr *net, int family, const void *addr)
{
	const uint8_t *a = addr;
	unsigned full, rem;

	if (net->family != family)
		return false;
	full = net->prefix / 8;
	rem = net->prefix % 8;
	if (memcmp(net->addr, a, full))
		return false;
	if (rem) {
		uint8_t mask = (uint8_t)(0xff << (8 - rem));
		if ((net->addr[full] & mask) != (a[full] & mask))
			return false;
	}
	return true;
}

bool cidr_equal(const struct cidr *a, const struct cidr *b)
{
	struct cidr x = *a, y = *b;

	cidr_normalize(&x);
	cidr_normalize(&y);
	return x.family == y.family && x.prefix == y.prefix && !memcmp(x.addr, y.addr, 16);
}
