/* libFuzzer target: the resolv.conf parser. Whatever the input, the result
 * holds at most RESOLVCONF_SERVERS_MAX servers, each IPv4 or IPv6 with port
 * 53, no two alike, and a parse of the same bytes gives the same list. */
#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nexd/resolvconf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct resolvconf a, b;
	int err = resolvconf_parse((const char *)data, size, &a);

	if (size > RESOLVCONF_TEXT_MAX) {
		if (err != -EFBIG)
			abort();
		return 0;
	}
	if (err != 0 || a.n > RESOLVCONF_SERVERS_MAX || (a.truncated && a.n != RESOLVCONF_SERVERS_MAX))
		abort();
	for (size_t i = 0; i < a.n; i++) {
		const union sockaddr_any *s = &a.servers[i];

		if (s->sa.sa_family == AF_INET) {
			if (ntohs(s->in4.sin_port) != RESOLVCONF_DNS_PORT)
				abort();
		} else if (s->sa.sa_family == AF_INET6) {
			if (ntohs(s->in6.sin6_port) != RESOLVCONF_DNS_PORT)
				abort();
		} else {
			abort();
		}
		for (size_t j = 0; j < i; j++)
			if (addr_endpoint_equal(s, &a.servers[j]))
				abort();
	}
	(void)resolvconf_only_local(&a);
	if (resolvconf_parse((const char *)data, size, &b) != 0 || b.n != a.n ||
	    memcmp(b.servers, a.servers, a.n * sizeof(a.servers[0])) != 0)
		abort();
	return 0;
}
