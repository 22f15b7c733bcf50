/* The agent's insides, shared by its files (agent.c, sync.c, endpoint.c)
 * and nobody else. */
#ifndef NEXD_AGENT_PRIV_H
#define NEXD_AGENT_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "apiclient/apiclient.h"
#include "nexd/agent.h"
#include "nexd/converge.h"
#include "nexd/exit_choice.h"
#include "nexd/options.h"
#include "nexd/state.h"
#include "nexd/stun.h"

#define AGENT_MAX_ENDPOINTS 4

struct agent {
	struct nexd_options opt;
	char hostname[256];
	struct nexd_state state;          /* keys: read-only after start; registration under lock */

	struct wg_device *dev;            /* set by the sync thread; usable once up */
	bool up;                          /* under lock */
	struct uapi_server *uapi;
	struct control_server *control;
	struct health *health;
	struct nl *nl;                    /* used under nl_lock */
	pthread_mutex_t nl_lock;
	unsigned ifindex;

	pthread_mutex_t lock;             /* guards everything below */
	pthread_cond_t cond;              /* signalled on endpoint discovery and stop */
	struct api_device self;           /* our record, once registered */
	bool registered;
	struct cidr org_prefix;
	bool has_org_prefix;
	struct cidr tunnel_addr;          /* installed on the interface */
	bool has_tunnel_addr;
	struct cidr org_prefix6;          /* the organization's IPv6 prefix, if it has one */
	bool has_org_prefix6;
	struct cidr tunnel_addr6;         /* derived: org_prefix6 + the IPv4 address */
	bool has_tunnel_addr6;
	bool host_has_ipv6_default;       /* the host has an IPv6 default route (at start) */
	struct api_device_list mesh;      /* the organization's devices, as last seen */
	struct converge_memory memory;
	char api_state[256];              /* "connected", or what is wrong */
	bool api_connected;

	struct api_endpoint endpoints[AGENT_MAX_ENDPOINTS]; /* discovered */
	size_t n_endpoints;
	bool endpoints_known;             /* a first discovery round finished */
	bool endpoints_published;
	struct mesh_self mesh_self;

	/* STUN: the transaction in flight, answered by the stray handler. */
	pthread_mutex_t stun_lock;
	pthread_cond_t stun_cond;
	struct stun_txid stun_txid;
	bool stun_waiting, stun_answered;
	union sockaddr_any stun_mapped;

	/* Exit nodes (under lock). */
	bool sub_wanted;                  /* the exit-node client subscription wanted */
	bool sub_pushed;                  /* the API server has sub_wanted */
	bool exit_active;                 /* the subscription's rules are installed */
	struct exit_prefs sub_prefs;      /* which exit node(s), in order; none: by latency */
	bool has_exit_peer;
	uint8_t exit_peer[32];            /* the exit node in use: 0.0.0.0/0 on its peer */
	bool exit_peer_v6;                /* and ::/0 (it advertises it) */
	bool exit_ipv6;                   /* exit node: the uplink carries IPv6 (::/0 advertised) */
	char exit_status[160];            /* reported as exit_node_status */
	char exit_warning[512];           /* exit node: a foreign forward chain drops */
	int exit_wake_fd;                 /* eventfd: wakes the exit thread */
	struct api_client *clients[3];    /* every thread's API client: re-dialled after a
	                                     subscription change (sync, endpoint, exit) */

	atomic_int stopping;              /* also aborts API requests in flight */
	int stop_fd;                      /* eventfd: wakes agent_wait */
	atomic_int exit_code;
	char fatal_msg[512];

	pthread_t sync_thread, endpoint_thread, device_thread, exit_thread;
	bool sync_started, endpoint_started, device_started, exit_started;
};

enum { AGENT_CLIENT_SYNC, AGENT_CLIENT_ENDPOINT, AGENT_CLIENT_EXIT };
/* Records (or with NULL, forgets) a thread's API client. */
void agent_set_client(struct agent *a, int slot, struct api_client *c);
/* Every API client ends its request in flight and dials anew: after a
 * change of the routing that its connection depended on. */
void agent_redial(struct agent *a);

/* Ends the agent with a message and an exit status (from any thread). */
void agent_fail(struct agent *a, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool agent_stopping(struct agent *a);
/* Sleeps up to ms, returning early (true) when the agent stops. */
bool agent_sleep(struct agent *a, unsigned ms);

void *sync_main(void *arg);
/* Creates the interface and everything that lives on it (after the
 * registration holds): device, UAPI socket, link up, prober, threads. */
int agent_bring_up(struct agent *a, char *err, size_t errlen);
/* One discovery round; see endpoint.c. */
size_t endpoint_discover(struct agent *a, int fd, struct api_endpoint *eps, union sockaddr_any *reflexive,
			 bool *has_reflexive);
/* Records a discovery round; true when the reflexive endpoint changed. */
bool endpoint_record(struct agent *a, const struct api_endpoint *eps, size_t n, const union sockaddr_any *refl,
		     bool has_refl);
void *endpoint_main(void *arg);
/* The stray-datagram handler of the WireGuard socket (STUN replies). */
void endpoint_on_datagram(void *ctx, const uint8_t *buf, size_t len, const union sockaddr_any *from);
/* Re-runs convergence with the current mesh view (after a discovery). */
void sync_reconverge(struct agent *a);

#endif
