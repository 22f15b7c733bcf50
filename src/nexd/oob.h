/* The out-of-band flows of an exit-node client: the API server's addresses
 * (all of them, from the service URL) on its port, the host's DNS servers
 * on port 53 (resolv.conf, with systemd-resolved's upstreams behind its
 * stub), the configured STUN servers on their port. Gathered by resolving
 * names; compared to notice changes. */
#ifndef NEXD_OOB_H
#define NEXD_OOB_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"

#define OOB_MAX 16

struct oob {
	union sockaddr_any api[OOB_MAX];
	size_t n_api;
	union sockaddr_any dns[OOB_MAX];
	size_t n_dns;
	union sockaddr_any stun[OOB_MAX];
	size_t n_stun;
};

/* Resolves everything (names through the host's resolver). A part that
 * cannot be resolved stays empty; never fails as a whole. */
void oob_gather(const char *service_url, const char *const *stun_servers, size_t n_stun, struct oob *out);
bool oob_equal(const struct oob *a, const struct oob *b);

/* All addresses of "host:port" (or "[v6]:port"); 0 or -errno. */
int oob_resolve(const char *hostport, int socktype, union sockaddr_any *out, size_t cap, size_t *n);
/* "host:port" of an http(s) URL (default ports 80/443). */
int oob_url_hostport(const char *url, char *out, size_t len);

#endif
