/* What this device should look like, as a pure function of the model (and
 * of the prober's view and the exit node in use): the WireGuard peers with
 * their allowed IPs and endpoints (for converge_plan), the peers to probe,
 * the exit node to use and why, and what our record should advertise.
 * No threads, locks or system calls; unit-tested. */
#ifndef NEXD_DESIRED_H
#define NEXD_DESIRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiclient/device.h"
#include "nexd/converge.h"
#include "nexd/exit_choice.h"
#include "nexd/health.h"
#include "nexd/model.h"
#include "nexd/subscription.h"

/* The prober's result for a peer; false when it is not probed. */
typedef bool (*desired_health_fn)(void *ctx, const uint8_t key[32], struct health_result *out);
/* The path choice's endpoint for a peer (path.h); false when it made none. */
typedef bool (*desired_path_fn)(void *ctx, const uint8_t key[32], union sockaddr_any *out);

struct desired_input {
	const struct mesh_model *m;
	const uint8_t *self_key;           /* our public key (32 bytes) */
	const struct subscription *sub;
	desired_health_fn health;          /* NULL: nothing probed yet */
	void *health_ctx;
	desired_path_fn path;              /* NULL: no path choice (direct) */
	void *path_ctx;
	bool up;                           /* the interface exists */
	bool router_exit_node;             /* we are an exit node */
	bool host_ipv6_default;            /* (exit node) the uplink has an IPv6 default route */
	bool exit_installed;               /* (client) the subscription's base is installed */
	bool has_current;                  /* (client) the exit node in use */
	uint8_t current[32];
	uint64_t now_ns;
};

#define DESIRED_WHY_MAX 200

struct desired_exit {
	bool wanted;                       /* subscribed, registered and up */
	bool has_pick;
	struct exit_candidate pick;        /* .hostname points into pick_name */
	char pick_name[API_HOSTNAME_MAX + 1];
	bool pick_v6;                      /* the pick advertises ::/0 too */
	char why[DESIRED_WHY_MAX];         /* why the exit node in use changes, or "" */
};

/* A peer that has a relay endpoint: our relay keeps a channel to it. */
struct desired_relay {
	uint8_t key[32];
	union sockaddr_any relayed;
};

struct desired {
	struct mesh_peer *peers;           /* every other device, heap */
	size_t n_peers;
	struct health_target *targets;     /* heap */
	size_t n_targets;
	struct desired_relay *relays;      /* heap: the peers with a relay endpoint */
	size_t n_relays;
	struct desired_exit exit;
	bool known_role;                   /* the organization is known: the next two hold */
	bool advertise4, advertise6;       /* 0.0.0.0/0, ::/0 in our record */
};

/* 0 or -ENOMEM (then *out is empty). */
int desired_build(const struct desired_input *in, struct desired *out);
void desired_release(struct desired *d);

/* The organization's exit nodes other than us, with their health: fills at
 * most cap candidates (hostnames point into the model) and, when dev is not
 * NULL, their records. Returns how many. */
size_t desired_exit_candidates(const struct desired_input *in, struct exit_candidate *c,
			       const struct api_device **dev, size_t cap);
bool desired_advertises_v6(const struct api_device *d);

/* The exit-node client's status line (exit_node_status, `status`): "off",
 * "starting" (wanted, not installed yet: the interface or the out-of-band
 * addresses are not there yet), "error: ..." (the install failed: err),
 * "waiting for an exit node", "X does not answer; traffic blocked",
 * "using X (ip)". err: why the install failed, or "". */
void desired_exit_status(bool sub_wanted, bool installed, const char *err, const struct desired_exit *e,
			 char *out, size_t len);

#endif
