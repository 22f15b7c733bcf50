/* nexapi's Prometheus metrics (--metrics-listen): requests by method,
 * route and status, a latency histogram, watchers, devices per
 * organization (a snapshot the server thread refreshes), database
 * errors. Updated on the server thread, read by the metrics server's
 * thread: one mutex. */
#ifndef NEXAPI_METRICS_H
#define NEXAPI_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

int metrics_new(struct metrics **out);
void metrics_free(struct metrics *m);
/* A request ended: route is its pattern ("" for none). */
void metrics_request(struct metrics *m, const char *method, const char *route, unsigned status, uint64_t us);
void metrics_watchers(struct metrics *m, int delta);
/* Replaces the devices-per-organization snapshot (names are copied). */
void metrics_devices(struct metrics *m, const char *const *orgs, const int64_t *counts, size_t n);
/* The exposition text (malloc'd), with db_errors. */
char *metrics_text(struct metrics *m, uint64_t db_errors);

/* The metrics server: GET /metrics on its own address (plain HTTP). */
struct metrics_server;
int metrics_server_start(struct metrics *m, const char *listen, uint64_t (*db_errors)(void),
			 struct metrics_server **out, char *bound, size_t boundlen);
void metrics_server_stop(struct metrics_server *s);

#endif
