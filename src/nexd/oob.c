#include "nexd/oob.h"

#include <curl/curl.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "common/log.h"
#include "nexd/resolvconf.h"

int oob_url_hostport(const char *url, char *out, size_t len)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL;
	int r = -EINVAL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		/* curl gives an IPv6 host in brackets already */
		if ((size_t)snprintf(out, len, "%s:%s", host, port) < len)
			r = 0;
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return r;
}

int oob_resolve(const char *hostport, int socktype, union sockaddr_any *out, size_t cap, size_t *n)
{
	char host[256], port[8];
	const char *colon;
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = socktype }, *res = NULL, *ai;
	size_t hl;

	*n = 0;
	if (hostport[0] == '[') {
		const char *close = strchr(hostport, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		hl = (size_t)(close - hostport - 1);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, hostport + 1, hl);
		colon = close + 1;
	} else {
		colon = strrchr(hostport, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - hostport);
		if (hl >= sizeof(host))
			return -EINVAL;
		memcpy(host, hostport, hl);
	}
	host[hl] = 0;
	if (!colon[1] || strlen(colon + 1) >= sizeof(port))
		return -EINVAL;
	strcpy(port, colon + 1);
	if (getaddrinfo(host, port, &hints, &res))
		return -EHOSTUNREACH;
	for (ai = res; ai && *n < cap; ai = ai->ai_next) {
		union sockaddr_any a;
		bool dup = false;

		if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) || ai->ai_addrlen > sizeof(a))
			continue;
		memset(&a, 0, sizeof(a));
		memcpy(&a, ai->ai_addr, ai->ai_addrlen);
		for (size_t i = 0; i < *n && !dup; i++)
			dup = addr_endpoint_equal(&out[i], &a);
		if (!dup)
			out[(*n)++] = a;
	}
	freeaddrinfo(res);
	return *n ? 0 : -EHOSTUNREACH;
}

void oob_gather(const char *service_url, const char *const *stun_servers, size_t n_stun, struct oob *out)
{
	char hp[300];
	struct resolvconf rc;

	memset(out, 0, sizeof(*out));
	if (oob_url_hostport(service_url, hp, sizeof(hp)) == 0)
		oob_resolve(hp, SOCK_STREAM, out->api, OOB_MAX, &out->n_api);
	if (resolvconf_servers(NULL, NULL, &rc) == 0) {
		for (size_t i = 0; i < rc.n && out->n_dns < OOB_MAX; i++)
			out->dns[out->n_dns++] = rc.servers[i];
	}
	for (size_t i = 0; i < n_stun && out->n_stun < OOB_MAX; i++) {
		size_t n = 0;
		oob_resolve(stun_servers[i], SOCK_DGRAM, out->stun + out->n_stun, OOB_MAX - out->n_stun, &n);
		out->n_stun += n;
	}
}

static bool list_equal(const union sockaddr_any *a, size_t na, const union sockaddr_any *b, size_t nb)
{
	if (na != nb)
		return false;
	for (size_t i = 0; i < na; i++)
		if (!addr_endpoint_equal(&a[i], &b[i]))
			return false;
	return true;
}

bool oob_equal(const struct oob *a, const struct oob *b)
{
	return list_equal(a->api, a->n_api, b->api, b->n_api) && list_equal(a->dns, a->n_dns, b->dns, b->n_dns) &&
	       list_equal(a->stun, a->n_stun, b->stun, b->n_stun);
}
