/* nexd's Prometheus metrics (--metrics-listen HOST:PORT, off by default):
 * per peer bytes, handshake age, path, reachability and latency; the
 * exit-node client's state and its switches between exit nodes; whether
 * the API server answers. Read from the status board and the interface
 * (both thread-safe) by a libmicrohttpd daemon of its own. */
#ifndef NEXD_METRICS_H
#define NEXD_METRICS_H

#include <stddef.h>

#include "nexd/status.h"

struct metricsd;

/* metricsd_start (common/metricsd.h) with nexd's metrics of b; stop it
 * (metricsd_stop) before the interface goes: the metrics read it. */
int nexd_metrics_start(struct status_board *b, const char *listen, struct metricsd **out, char *bound,
		       size_t boundlen);

#endif
