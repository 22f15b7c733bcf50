/* nexapi's Prometheus metrics (--metrics-listen): requests by method,
 * route and status, a latency histogram, watchers, devices per
 * organization (a snapshot the server thread refreshes), database
 * errors. Updated on the server thread, read by the metrics server's
 * thread (common/metricsd.h): one mutex. */
#ifndef NEXAPI_METRICS_H
#define NEXAPI_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/* db_errors: the database's error count (NULL: none). */
int metrics_new(uint64_t (*db_errors)(void *ctx), void *ctx, struct metrics **out);
void metrics_free(struct metrics *m);
/* A request ended: route is its pattern ("" for none). */
void metrics_request(struct metrics *m, const char *method, const char *route, unsigned status, uint64_t us);
void metrics_watchers(struct metrics *m, int delta);
/* Replaces the devices-per-organization snapshot (names are copied). */
void metrics_devices(struct metrics *m, const char *const *orgs, const int64_t *counts, size_t n);
/* The exposition text (malloc'd), for metricsd_start (common/metricsd.h). */
char *metrics_render(void *m);

#endif
