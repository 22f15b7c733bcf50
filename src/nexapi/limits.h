/* Limits that hold under abuse (issue 15): token buckets of requests per
 * second and counters of requests in flight and of watches, per client
 * address and per token. A table of bounded size on the server thread
 * (no locks): idle entries are dropped when it fills; when it is full of
 * busy ones a new key is let through (fail open, said once in the log)
 * rather than refusing everybody. */
#ifndef NEXAPI_LIMITS_H
#define NEXAPI_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LIMITS_KEY_MAX 55

struct limits;

struct limits_config {
	double rate, burst;            /* requests per second, and the bucket's size */
	unsigned max_inflight;         /* requests at once (0: no cap) */
	unsigned max_watches;          /* watches at once (0: no cap) */
	size_t capacity;               /* keys tracked at most */
};

int limits_new(const struct limits_config *cfg, struct limits **out);
void limits_free(struct limits *l);

enum limits_verdict { LIMITS_OK, LIMITS_RATE, LIMITS_INFLIGHT, LIMITS_WATCHES };

/* A request of key (watch: a watch) at now_ns: LIMITS_OK (then counted in
 * flight until limits_release), or why not; *retry_after_s: when to try
 * again (LIMITS_RATE). */
enum limits_verdict limits_admit(struct limits *l, const char *key, bool watch, uint64_t now_ns,
				 unsigned *retry_after_s);
/* The request admitted for key ended. */
void limits_release(struct limits *l, const char *key, bool watch);
/* Keys tracked now (tests). */
size_t limits_count(const struct limits *l);

#endif
