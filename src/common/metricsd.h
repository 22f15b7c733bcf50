/* Prometheus metrics over HTTP for the daemons (--metrics-listen): a
 * libmicrohttpd daemon of its own answering GET /metrics with what a
 * render callback builds (404 elsewhere), and a growing text buffer to
 * build it with. */
#ifndef COMMON_METRICSD_H
#define COMMON_METRICSD_H

#include <stdbool.h>
#include <stddef.h>

/* The exposition text being built; failed once memory ran out. */
struct promtext {
	char *buf;
	size_t len, cap;
	bool failed;
};

/* 0, or -ENOMEM. */
int promtext_init(struct promtext *t);
void promtext_add(struct promtext *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The text (the caller frees it), or NULL when building it failed. */
char *promtext_finish(struct promtext *t);

struct metricsd;

/* Serves render(ctx) (a malloc'd string, NULL: no answer) on listen, a
 * numeric HOST:PORT (port 0: any). 0, -EINVAL (not HOST:PORT), -ENOMEM or
 * -EADDRNOTAVAIL; bound: the address taken (ADDR_ENDPOINT_STRLEN). */
int metricsd_start(const char *listen, char *(*render)(void *ctx), void *ctx, struct metricsd **out, char *bound,
		   size_t boundlen);
void metricsd_stop(struct metricsd *d);

#endif
