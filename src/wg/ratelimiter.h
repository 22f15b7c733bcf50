/* A token bucket per source address (IPv4 /32, IPv6 /64), as the Linux
 * module's ratelimiter.c: RATELIMITER_PER_SECOND packets a second with a
 * burst of RATELIMITER_BURST. The table is bounded: buckets idle for a
 * second are reused, and when a probe window is full the stalest entry is
 * evicted. Thread-safe. */
#ifndef WG_RATELIMITER_H
#define WG_RATELIMITER_H

#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"

#define RATELIMITER_PER_SECOND 20
#define RATELIMITER_BURST 5
#define RATELIMITER_SLOTS 8192

struct ratelimiter;

int ratelimiter_create(struct ratelimiter **out);
void ratelimiter_free(struct ratelimiter *r);
/* True when a packet from `src` may pass at `now` (monotonic ns). */
bool ratelimiter_allow(struct ratelimiter *r, const union sockaddr_any *src, uint64_t now);

#endif
