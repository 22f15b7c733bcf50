/* The discovery worker: this device's endpoints and the out-of-band
 * addresses. The local endpoint is the address this host uses to reach the
 * API server, with the WireGuard port; the reflexive one comes from STUN
 * (RFC 8489), sent from the WireGuard socket itself so that the NAT
 * mapping found is the one peers will use (the driver's send_raw, the
 * replies through its stray hook). Re-checked every 60 s, posted as
 * EV_ENDPOINTS. The out-of-band addresses (oob.h: the API server, the
 * host's DNS servers, the STUN servers) are resolved here too, every 60 s
 * and whenever resolv.conf changes, and posted as EV_OOB: no DNS wait ever
 * blocks the loop. */
#ifndef NEXD_DISCOVERY_H
#define NEXD_DISCOVERY_H

#include <stddef.h>
#include <stdint.h>

#include "nexd/events.h"
#include "nexd/wgdrv.h"

struct discovery_config {
	const char *service_url;
	const char *const *stun_servers;
	size_t n_stun;
	uint16_t listen_port;
	uint8_t public_key[32];          /* ours: the checks we answer name it */
};

/* The first round, before the interface exists: STUN from a socket bound to
 * the WireGuard port (the NAT keeps the same mapping for the interface's
 * socket later), so that the registration carries endpoints. 0, or -errno
 * with a message (the port is taken). */
int discovery_first_round(const struct discovery_config *cfg, struct ev_endpoints *out, char *err, size_t errlen);

struct discovery;
int discovery_start(struct discovery **out, const struct worker *w, const struct discovery_config *cfg);
/* From the loop, once the interface exists: STUN through it from now on
 * (the stray hook is installed here). */
void discovery_attach(struct discovery *d, const struct wg_driver *drv, void *dev);
/* A round within a second (the routing changed: an exit node's routes went
 * in or out). */
void discovery_kick(struct discovery *d);
/* Connectivity checks (stuncheck.h): from the loop, the peers whose direct
 * candidates to check, each second, through the WireGuard socket; an answer
 * posts EV_PROBE. Binding requests from peers are answered in any case. */
#define DISCOVERY_CHECKS_MAX 256
struct discovery_check {
	uint8_t key[32];
	union sockaddr_any eps[2];       /* local and reflexive candidates */
	size_t n;
};
void discovery_set_checks(struct discovery *d, const struct discovery_check *c, size_t n);

/* Joins the thread (after the agent's stop flag is set). */
void discovery_stop(struct discovery *d);
/* Frees, once the interface (whose stray hook points here) is gone. */
void discovery_free(struct discovery *d);

#endif
