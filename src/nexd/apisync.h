/* The API sync worker: registers this device (or checks the stored
 * registration), reads the organization's prefixes, lists the
 * organization's devices and follows them with watch. It posts what it
 * learns (EV_REGISTERED, EV_ORG, EV_MESH_LIST, EV_MESH_EVENTS,
 * EV_API_STATE, EV_FATAL) and changes nothing else: outages of the API
 * server change nothing on the data plane, the worker backs off and lists
 * again. It is the one writer of the registration in the state directory. */
#ifndef NEXD_APISYNC_H
#define NEXD_APISYNC_H

#include <stdbool.h>
#include <stddef.h>

#include "nexd/events.h"
#include "nexd/state.h"

struct apisync_config {
	const char *service_url;
	const char *ca_cert;
	const char *reg_key;             /* NULL: cannot register again */
	const char *reg_key_file;        /* read again at each registration (a new key in it counts) */
	const char *hostname;
	struct nexd_state *state;        /* keys (read) and registration (written) */
	bool router_exit_node;           /* register advertising 0.0.0.0/0 */
	struct api_endpoint eps[EV_MAX_ENDPOINTS]; /* the first discovery's, for the registration */
	size_t n_eps;
};

struct apisync;
int apisync_start(struct apisync **out, const struct worker *w, const struct apisync_config *cfg);
/* From the loop: end the request in flight and dial anew (the routing that
 * the connection used changed). */
void apisync_redial(struct apisync *s);
/* Joins the thread (after the agent's stop flag is set) and frees. */
void apisync_stop(struct apisync *s);

#endif
