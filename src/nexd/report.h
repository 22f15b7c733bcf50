/* The report worker: the one writer of this device's record on the API
 * server. The loop says what the record should hold (report_want: our
 * endpoints, the advertised default routes, the exit-node client's status
 * and subscription), only for the fields where the record it last saw
 * differs; the worker PATCHes what it has not pushed yet, retries on
 * failure, and posts EV_REPORTED. It owns its API client. */
#ifndef NEXD_REPORT_H
#define NEXD_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "nexd/events.h"

struct report_fields {
	char device_id[API_UUID_LEN + 1];   /* "" while not registered: nothing is sent */
	char token[256];
	bool has_endpoints;
	struct api_endpoint eps[EV_MAX_ENDPOINTS];
	size_t n_eps;
	bool has_advertise;
	bool advertise4, advertise6;        /* 0.0.0.0/0, ::/0 */
	bool has_status;
	char status[API_TEXT_MAX + 1];      /* exit_node_status */
	bool has_client;
	bool client;                        /* exit_node_client */
};

struct report;
int report_start(struct report **out, const struct worker *w, const char *service_url, const char *ca_cert);
/* From the loop: replaces what the record should hold (copied). */
void report_want(struct report *r, const struct report_fields *f);
/* From the loop: end the request in flight and dial anew. */
void report_redial(struct report *r);
/* Joins the thread (after the agent's stop flag is set), wipes the token and frees. */
void report_stop(struct report *r);

#endif
