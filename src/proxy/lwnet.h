/* lwIP's one network interface on the packet endpoint: packets read from
 * the endpoint are checked (version, lengths) and handed to lwIP when they
 * are for our tunnel address, to the exit server when this is an exit node,
 * else dropped; lwIP's packets are written to the endpoint (non-blocking: a
 * full endpoint drops and counts). */
#ifndef PROXY_LWNET_H
#define PROXY_LWNET_H

#include <stddef.h>
#include <stdint.h>

#include "proxy/engine.h"

/* Adds the interface (down until addresses are set); core lock held. */
void lwnet_add(struct proxy *p);
/* Applies p->self4/mesh4/self6 (have4/have6): sets it up. */
void lwnet_set_addresses(struct proxy *p);
void lwnet_remove(struct proxy *p);

/* Reads up to ENGINE_READ_BURST packets and dispatches them. */
void lwnet_input(struct proxy *p);

#endif
