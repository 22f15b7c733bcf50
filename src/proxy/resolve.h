/* Names of SOCKS requests resolved with the host's resolver, off the proxy
 * thread: one short-lived detached thread per name, at most
 * RESOLVE_MAX_INFLIGHT at once. Results are queued and an eventfd turns
 * readable; the owner takes them with resolver_take(). A job whose flow
 * went away is cancelled (its result is dropped). The resolver outlives
 * its owner while threads still run (reference counted). */
#ifndef PROXY_RESOLVE_H
#define PROXY_RESOLVE_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

enum { RESOLVE_MAX_INFLIGHT = 32, RESOLVE_MAX_ADDRS = 8 };

struct resolver;

struct resolve_job {
	void *cookie;                          /* the caller's; NULL once cancelled */
	char name[256];
	int err;                               /* 0, or a negative errno */
	size_t n;
	union sockaddr_any addrs[RESOLVE_MAX_ADDRS];
	struct resolver *r;
	struct resolve_job *next;
};

int resolver_new(struct resolver **out);
/* The eventfd to poll for POLLIN. */
int resolver_fd(const struct resolver *r);
/* Starts a job: 0, -EAGAIN (too many in flight), -ENOMEM, or an error of
 * pthread_create. */
int resolver_start(struct resolver *r, const char *name, void *cookie, struct resolve_job **out);
/* The cookie is forgotten: the result will be dropped. */
void resolver_cancel(struct resolve_job *j);
/* One finished job (free it with resolver_job_free), or NULL. */
struct resolve_job *resolver_take(struct resolver *r);
void resolver_job_free(struct resolve_job *j);
/* The owner lets go: pending results are dropped, running threads finish. */
void resolver_release(struct resolver *r);

#endif
