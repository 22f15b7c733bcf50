#include "nexapi/validate.h"

#include <errno.h>
#include <string.h>

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

int validate_endpoint(const char *s, char out[ADDR_ENDPOINT_STRLEN])
{
	union sockaddr_any a;

	if (strchr(s, '%') || addr_endpoint_parse(s, &a))
		return -EINVAL;
	if ((a.sa.sa_family == AF_INET && a.in4.sin_port == 0) ||
	    (a.sa.sa_family == AF_INET6 && a.in6.sin6_port == 0))
		return -EINVAL;
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
