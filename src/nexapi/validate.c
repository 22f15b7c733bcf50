#include "nexapi/validate.h"

#include <errno.h>
#include <string.h>
#include <netinet/in.h>

#include "common/key.h"
#include "nexapi/ipam.h"

static int is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static int is_hex_lower(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= '0' && c <= '9');
}

int validate_org_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 63 || !is_lower_alnum(s[0]))
		return -EINVAL;
	for (size_t i = 1; i < n; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return -EINVAL;
	/* a name is never taken for an id: lookups tell them apart by form */
	if (validate_uuid(s) == 0)
		return -EEXIST;
	return 0;
}

int validate_hostname(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 253)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!is_lower_alnum(c) && !(c >= 'A' && c <= 'Z') && c != '.' && c != '-' && c != '_')
			return -EINVAL;
	}
	return 0;
}

int validate_printable(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return -EINVAL;
	return 0;
}

int validate_org_prefix(const char *s)
{
	uint32_t net;
	unsigned len;

	return ipam_prefix_parse(s, &net, &len);
}

int validate_org_prefix6(const char *s, char out[ADDR_CIDR_STRLEN])
{
	struct cidr c;

	if (ipam_prefix6_parse(s, c.addr))
		return -EINVAL;
	c.family = AF_INET6;
	c.prefix = IPAM_PREFIX6_LEN;
	cidr_format(&c, out);
	return 0;
}

int validate_cidr(const char *s, char out[ADDR_CIDR_STRLEN])
{
	struct cidr c;

	if (!strchr(s, '/') || cidr_parse(s, &c))
		return -EINVAL;
	cidr_normalize(&c);
	cidr_format(&c, out);
	return 0;
}

int validate_cidr_canonical(const char *s, char out[ADDR_CIDR_STRLEN])
{
	struct cidr c, n;

	if (!strchr(s, '/') || cidr_parse(s, &c))
		return -EINVAL;
	n = c;
	cidr_normalize(&n);
	cidr_format(&n, out);
	return memcmp(n.addr, c.addr, sizeof(c.addr)) ? -ERANGE : 0;
}

bool validate_overlaps(const char *advertised, const char *mesh)
{
	struct cidr a, m;

	if (!strchr(advertised, '/') || !strchr(mesh, '/') || cidr_parse(advertised, &a) ||
	    cidr_parse(mesh, &m))
		return false;
	cidr_normalize(&a);
	cidr_normalize(&m);
	if (a.family != m.family || a.prefix == 0)
		return false;
	return a.prefix <= m.prefix ? cidr_contains(&a, m.family, m.addr) : cidr_contains(&m, a.family, a.addr);
}

int validate_public_key(const char *s)
{
	uint8_t k[KEY_LEN];

	if (key_from_base64(k, s) || key_is_zero(k))
		return -EINVAL;
	return 0;
}

/* Why a peer cannot be sent to this IPv4 address (NULL: it can). */
static const char *v4_unusable(const uint8_t a[4])
{
	if (a[0] == 0)
		return "is an unspecified (0.0.0.0/8) address";
	if (a[0] == 127)
		return "is a loopback address";
	if (a[0] >= 224 && a[0] <= 239)
		return "is a multicast address";
	if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255)
		return "is the broadcast address";
	return NULL;
}

static const char *unusable(const union sockaddr_any *a)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	const uint8_t *b;

	if (a->sa.sa_family == AF_INET)
		return v4_unusable((const uint8_t *)&a->in4.sin_addr);
	b = a->in6.sin6_addr.s6_addr;
	if (!memcmp(b, mapped, sizeof(mapped)))
		return v4_unusable(b + 12);
	if (IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr))
		return "is an unspecified address";
	if (IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr))
		return "is a loopback address";
	if (IN6_IS_ADDR_MULTICAST(&a->in6.sin6_addr))
		return "is a multicast address";
	return NULL;
}

int validate_endpoint(const char *s, char out[ADDR_ENDPOINT_STRLEN], const char **why)
{
	union sockaddr_any a;

	*why = "is not ip:port";
	if (strchr(s, '%') || addr_endpoint_parse(s, &a))
		return -EINVAL;
	if ((a.sa.sa_family == AF_INET && a.in4.sin_port == 0) ||
	    (a.sa.sa_family == AF_INET6 && a.in6.sin6_port == 0)) {
		*why = "has port 0";
		return -EINVAL;
	}
	*why = unusable(&a);
	if (*why)
		return -EADDRNOTAVAIL;
	addr_endpoint_format(&a, out);
	return 0;
}

int validate_uuid(const char *s)
{
	if (strlen(s) != 36)
		return -EINVAL;
	for (int i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return -EINVAL;
		} else if (!is_hex_lower(s[i])) {
			return -EINVAL;
		}
	}
	return 0;
}

int validate_token_id(const char *s)
{
	if (strlen(s) != 16)
		return -EINVAL;
	for (int i = 0; i < 16; i++)
		if (!is_hex_lower(s[i]))
			return -EINVAL;
	return 0;
}
