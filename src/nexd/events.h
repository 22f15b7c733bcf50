/* Events: how the workers (API sync, reporting, discovery, the control
 * socket, the prober) tell nexd's loop what they learnt. A worker owns its
 * resources and never touches the loop's state: it posts an event, whose
 * payload moves with it, and the loop folds it into the model.
 *
 * The queue is a mutex-guarded list and an eventfd that the loop polls;
 * events that carry no payload of their own (EV_HEALTH) are coalesced, as
 * uv_async_send does, so a chatty prober cannot flood the loop. */
#ifndef NEXD_EVENTS_H
#define NEXD_EVENTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiclient/device.h"
#include "apiclient/relay.h"
#include "common/addr.h"
#include "nexd/exit_choice.h"
#include "nexd/oob.h"

#define EV_MAX_ENDPOINTS 4
#define EV_TEXT_MAX 512

enum event_type {
	EV_REGISTERED,   /* apisync: the registration holds; u.registered */
	EV_ORG,          /* apisync: the organization's prefixes; u.org */
	EV_MESH_LIST,    /* apisync: a full device list; u.list */
	EV_MESH_EVENTS,  /* apisync: a watch answer; u.watch */
	EV_API_STATE,    /* apisync: connected, or what is wrong; u.api */
	EV_ENDPOINTS,    /* discovery: a round's endpoints; u.endpoints */
	EV_OOB,          /* discovery: the out-of-band addresses; u.oob */
	EV_HEALTH,       /* the prober: a peer's reachability flipped (no payload) */
	EV_CONTROL,      /* control socket: the subscription changed; u.control */
	EV_REPORTED,     /* report: fields the API server now has; u.reported */
	EV_FATAL,        /* any worker: stop with u.fatal */
	EV_RELAYS,       /* apisync: the relays and fresh credentials; u.relays */
	EV_RELAY,        /* relay: the allocation and the channels' endpoints; u.relay */
	EV_PROBE,        /* discovery: a connectivity check to a peer answered; u.probe */
	EV_TOKEN,        /* apisync: the device token was renewed; u.token */
};

struct ev_registered {
	struct api_device self;          /* our record as the server returned it */
	char token[256];                 /* the device token (wiped when freed) */
};

struct ev_token {
	char token[256];                 /* the new device token (wiped when freed) */
};

struct ev_org {
	struct cidr prefix;              /* IPv4 */
	bool has_prefix6;
	struct cidr prefix6;
};

struct ev_api_state {
	bool connected;
	char text[256];
};

struct ev_endpoints {
	struct api_endpoint eps[EV_MAX_ENDPOINTS];
	size_t n;
	bool has_reflexive;
	union sockaddr_any reflexive;
};

struct ev_control {
	bool on;                         /* exit-node enable / disable */
	struct exit_prefs prefs;         /* with on */
	uint64_t gen;                    /* acknowledged on the status board once applied */
};

/* What a PATCH of our record carried (report.h). */
struct ev_reported {
	bool has_client;
	bool client;                     /* exit_node_client */
	uint64_t revision;               /* of the record after the PATCH */
};

struct ev_relay_path {
	uint8_t key[32];
	union sockaddr_any local;        /* 127.0.0.1:port: WireGuard's endpoint for the peer */
};

struct ev_relay {
	bool allocated;
	union sockaddr_any relayed;      /* our relayed address, when allocated */
	char status[200];
	struct ev_relay_path *paths;     /* heap: the peers with a bound channel */
	size_t n;
};

struct ev_probe {
	uint8_t key[32];
	union sockaddr_any from;         /* the peer's address that answered */
};

struct ev_fatal {
	int status;
	char msg[EV_TEXT_MAX];
};

struct event {
	enum event_type type;
	union {
		struct ev_registered registered;
		struct ev_token token;
		struct ev_org org;
		struct api_device_list list;
		struct api_watch watch;
		struct ev_api_state api;
		struct ev_endpoints endpoints;
		struct oob oob;
		struct ev_control control;
		struct ev_reported reported;
		struct ev_fatal fatal;
		struct api_relays relays;
		struct ev_relay relay;
		struct ev_probe probe;
	} u;
};

/* Frees what an event owns (device lists, watch answers, the token). */
void event_release(struct event *e);

struct event_queue;
int evq_new(struct event_queue **out);
void evq_free(struct event_queue *q);
/* From any thread: the event (and its payload) moves into the queue; *e is
 * left empty. 0, or -ENOMEM (the payload is released). */
int evq_post(struct event_queue *q, struct event *e);
/* The loop's thread only: the oldest event, false when none. */
bool evq_take(struct event_queue *q, struct event *out);
/* Readable while events wait. */
int evq_fd(const struct event_queue *q);

/* What every worker thread gets: where to post, and when to stop. */
struct worker {
	struct event_queue *q;
	const atomic_int *stopping;
	int stop_fd;                     /* readable once stopping (never drained) */
};

bool worker_stopping(const struct worker *w);
/* Sleeps up to ms; true (at once) when the agent is stopping. */
bool worker_sleep(const struct worker *w, unsigned ms);
/* Posts EV_FATAL: the loop logs the message and stops nexd with status. */
/* nexd's exit statuses: 0 clean stop, 1 an error, 2 bad usage, and: */
#define NEXD_EXIT_DELETED 3   /* the device was deleted on the API server (docs/nexd.md) */

void worker_fail(const struct worker *w, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* An API client for a worker (each owns its own): requests end early when
 * the agent stops. 0 or -errno. */
struct api_client;
int worker_client_new(const struct worker *w, const char *service_url, const char *ca_cert, struct api_client **out);

#endif
