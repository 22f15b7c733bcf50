/* Converge by diff: from the organization's devices as the API server sees
 * them (the desired mesh) and the interface as it runs, compute the one
 * WireGuard change that makes the interface match, as wireguard-tools'
 * sync_conf does. Pure functions; unit-tested. */
#ifndef NEXD_CONVERGE_H
#define NEXD_CONVERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "wg/wg.h"

#define MESH_PERSISTENT_KEEPALIVE 20
#define MESH_MAX_EXTRA_IPS 4

/* One other device of the organization, as the mesh wants it. */
struct mesh_peer {
	uint8_t public_key[WG_KEY_SIZE];
	struct cidr tunnel_ip;           /* a host prefix */
	bool has_local, has_reflexive;
	union sockaddr_any local_ep;     /* "source": "local" */
	union sockaddr_any reflexive_ep; /* "source": "stun" */
	bool exit_node;                  /* advertises 0.0.0.0/0 */
	bool has_path_ep;                /* the path choice's endpoint (path.h): a relay channel's */
	union sockaddr_any path_ep;      /* local end, or a direct address that answered a check */
	size_t n_extra;                  /* further allowed IPs (e.g. 0.0.0.0/0 on the chosen exit node) */
	struct cidr extra[MESH_MAX_EXTRA_IPS];
};

/* What this device knows of itself, to choose endpoints. */
struct mesh_self {
	bool has_reflexive;
	union sockaddr_any reflexive_ep;
};

/* The endpoint to use for a peer: the path choice's when it made one; else
 * its local endpoint when both devices sit behind the same public address
 * (same network), else its reflexive one; the local one when it has no
 * reflexive one. False when it has none of these. */
bool converge_pick_endpoint(const struct mesh_self *self, const struct mesh_peer *p, union sockaddr_any *out);

/* Memory of the endpoints we set, so that a peer that roamed (WireGuard
 * updated its endpoint from an authenticated packet) is not pulled back
 * unless the API server's view changed. */
struct converge_memory {
	size_t n;
	struct {
		uint8_t public_key[WG_KEY_SIZE];
		union sockaddr_any endpoint;
	} *entries;
};
void converge_memory_release(struct converge_memory *m);

/* Fills *out (heap arrays; release with wg_config_release) with the change
 * from running to desired, and updates the memory. *changed is false when
 * nothing needs doing. 0 or -ENOMEM. */
int converge_plan(const struct mesh_self *self, const struct mesh_peer *desired, size_t n,
		  const struct wg_device_info *running, struct converge_memory *mem,
		  struct wg_config *out, bool *changed);

#endif
