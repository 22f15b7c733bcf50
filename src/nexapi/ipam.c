#include "nexapi/ipam.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

int ipam_prefix_parse(const char *s, uint32_t *net, unsigned *len)
{
	struct cidr c, n;
	uint32_t a;

	if (cidr_parse(s, &c) || c.family != AF_INET || c.prefix < 8 || c.prefix > 30)
		return -EINVAL;
	n = c;
	cidr_normalize(&n);
	if (memcmp(n.addr, c.addr, 4))
		return -EINVAL;
	a = (uint32_t)c.addr[0] << 24 | (uint32_t)c.addr[1] << 16 | (uint32_t)c.addr[2] << 8 | c.addr[3];
	*net = a;
	*len = c.prefix;
	return 0;
}

int ipam_first_free(uint32_t net, unsigned len, const uint32_t *used, size_t n, uint32_t *out)
{
	uint32_t first, last, cand;
	size_t i = 0;

	if (len < 8 || len > 30)
		return -EINVAL;
	first = net + 1;
	last = net + (uint32_t)((1ULL << (32 - len)) - 2);
	cand = first;
	while (i < n && used[i] < cand)
		i++;
	for (; i < n && cand <= last; i++) {
		if (used[i] > cand)
			break;
		if (used[i] == cand)
			cand++;
	}
	if (cand > last)
		return -ENOSPC;
	*out = cand;
	return 0;
}

int ipam_next_if_dense(uint32_t net, unsigned len, size_t count, uint32_t max_used, uint32_t *out)
{
	uint32_t first, last;

	if (len < 8 || len > 30)
		return -EINVAL;
	first = net + 1;
	last = net + (uint32_t)((1ULL << (32 - len)) - 2);
	if (count == 0) {
		*out = first;
		return 0;
	}
	if (max_used < first || max_used > last || (uint64_t)(max_used - first) + 1 != count)
		return -EAGAIN;
	if (max_used == last)
		return -ENOSPC;
	*out = max_used + 1;
	return 0;
}

void ipam_format(uint32_t a, char out[16])
{
	snprintf(out, 16, "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255, a & 255);
}

int ipam_parse(const char *s, uint32_t *out)
{
	struct in_addr in;

	if (inet_pton(AF_INET, s, &in) != 1)
		return -EINVAL;
	*out = ntohl(in.s_addr);
	return 0;
}

int ipam_prefix6_parse(const char *s, uint8_t net[16])
{
	struct cidr c, n;

	if (!strchr(s, '/') || cidr_parse(s, &c) || c.family != AF_INET6 ||
	    c.prefix != IPAM_PREFIX6_LEN)
		return -EINVAL;
	n = c;
	cidr_normalize(&n);
	if (memcmp(n.addr, c.addr, 16))
		return -EINVAL;
	memcpy(net, c.addr, 16);
	return 0;
}

int ipam_derive6(const char *prefix6, const char *tunnel_ip, char out[INET6_ADDRSTRLEN])
{
	uint8_t a[16];
	uint32_t ip4;

	if (ipam_prefix6_parse(prefix6, a) || ipam_parse(tunnel_ip, &ip4))
		return -EINVAL;
	a[12] = (uint8_t)(ip4 >> 24);
	a[13] = (uint8_t)(ip4 >> 16);
	a[14] = (uint8_t)(ip4 >> 8);
	a[15] = (uint8_t)ip4;
	if (!inet_ntop(AF_INET6, a, out, INET6_ADDRSTRLEN))
		return -EINVAL;
	return 0;
}
