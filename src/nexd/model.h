/* What nexd knows, in one value owned by the loop: this device's record and
 * registration, its organization's prefixes, the organization's devices as
 * the API server last said, the endpoints discovery found, the out-of-band
 * addresses, the API connection's state. The updates are pure functions of
 * the model and an event's payload (no threads, locks or system calls) and
 * say what changed, so that the loop knows what to do next. Unit-tested. */
#ifndef NEXD_MODEL_H
#define NEXD_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiclient/device.h"
#include "nexd/converge.h"
#include "nexd/events.h"
#include "nexd/keyindex.h"
#include "nexd/oob.h"

struct mesh_model {
	bool registered;
	struct api_device self;            /* our record (own arrays) */

	bool has_org;
	struct cidr prefix;                /* the organization's IPv4 prefix */
	bool has_prefix6;
	struct cidr prefix6;               /* and IPv6 prefix, when it has one */

	bool listed;                       /* a first device list arrived */
	struct api_device_list mesh;       /* every device of the organization, us included */

	bool endpoints_known;              /* a first discovery round finished */
	struct api_endpoint eps[EV_MAX_ENDPOINTS];
	size_t n_eps;
	struct mesh_self mesh_self;        /* our reflexive endpoint */

	bool oob_known;
	struct oob oob;

	bool api_connected;
	char api_state[256];

	struct api_relays relays;          /* the relays and our credentials (secret) */
	struct ev_relay relay;             /* our allocation and the channels' endpoints (own array) */
	struct keyindex relay_ix;          /* relay.paths by key (model_relay_path) */
};

/* What an update changed. */
enum {
	MODEL_MESH = 1u << 0,              /* the device list */
	MODEL_SELF = 1u << 1,              /* our record arrived (changed or not) */
	MODEL_SELF_DELETED = 1u << 2,      /* a watch event deleted this device */
	MODEL_ENDPOINTS = 1u << 3,         /* our endpoints */
	MODEL_REFLEXIVE = 1u << 4,         /* our reflexive endpoint */
	MODEL_ORG = 1u << 5,
	MODEL_OOB = 1u << 6,
	MODEL_API = 1u << 7,
	MODEL_REGISTERED = 1u << 8,        /* a (new) registration */
	MODEL_RELAYS = 1u << 9,            /* the relay list or credentials */
	MODEL_RELAY = 1u << 10,            /* our allocation or channels */
};

void model_init(struct mesh_model *m);
void model_release(struct mesh_model *m);

/* Each takes what it is given (the payload is moved, *in left empty). */
unsigned model_set_registered(struct mesh_model *m, struct api_device *self);
unsigned model_set_org(struct mesh_model *m, const struct ev_org *o);
unsigned model_apply_list(struct mesh_model *m, struct api_device_list *l);
unsigned model_apply_watch(struct mesh_model *m, struct api_watch *w);
unsigned model_set_endpoints(struct mesh_model *m, const struct ev_endpoints *e);
unsigned model_set_oob(struct mesh_model *m, const struct oob *o);
unsigned model_set_api_state(struct mesh_model *m, bool connected, const char *text);
unsigned model_set_relays(struct mesh_model *m, struct api_relays *r);
unsigned model_set_relay(struct mesh_model *m, struct ev_relay *r);

/* The local end of our channel to a peer, or NULL. */
const union sockaddr_any *model_relay_path(const struct mesh_model *m, const uint8_t key[32]);
/* A device's relay endpoint ("source": "relay"), or NULL. */
const union sockaddr_any *model_relay_endpoint(const struct api_device *d);
/* The endpoints we publish: discovery's, and the relayed one when allocated.
 * Returns how many (at most EV_MAX_ENDPOINTS + 1). */
size_t model_our_endpoints(const struct mesh_model *m, struct api_endpoint out[EV_MAX_ENDPOINTS + 1]);

/* The device of a public key, or NULL. */
const struct api_device *model_find(const struct mesh_model *m, const uint8_t key[32]);
bool model_endpoints_equal(const struct api_endpoint *x, size_t nx, const struct api_endpoint *y, size_t ny);

#endif
