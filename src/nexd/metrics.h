/* nexd's Prometheus metrics (--metrics-listen HOST:PORT, off by default):
 * per peer bytes, handshake age, path, reachability and latency; the
 * exit-node client's state and its switches between exit nodes; whether
 * the API server answers. Read from the status board and the interface
 * (both thread-safe) by a libmicrohttpd daemon of its own. */
#ifndef NEXD_METRICS_H
#define NEXD_METRICS_H

#include <stddef.h>

#include "nexd/status.h"

struct nexd_metrics;

/* 0, or a negative errno (-EINVAL: not a numeric HOST:PORT,
 * -EADDRNOTAVAIL: cannot listen there); bound: the address taken. */
int nexd_metrics_start(struct status_board *b, const char *listen, struct nexd_metrics **out, char *bound,
		       size_t boundlen);
/* Before the interface goes (the metrics read it). */
void nexd_metrics_stop(struct nexd_metrics *m);

#endif
