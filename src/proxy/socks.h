/* The SOCKS5 server of the proxy: a host TCP listener, each client a flow
 * in FLOW_HANDSHAKE read with the socks5 parser up to its CONNECT; names
 * resolved off-thread (resolve.h); mesh destinations (and others while via
 * an exit node) dialled in lwIP; the reply sent when the dial ends. */
#ifndef PROXY_SOCKS_H
#define PROXY_SOCKS_H

#include <stddef.h>

#include "proxy/engine.h"

struct flow;

/* Binds the listener (p->socks): 0, or a negative errno with a message. */
int socks_open(struct proxy *p, const struct proxy_config *c, char *err, size_t errlen);
void socks_close(struct proxy *p);

/* The listener and the resolver's results. */
void socks_poll_prepare(struct proxy *p, struct pollvec *pv);
void socks_poll_done(struct proxy *p, const struct pollvec *pv);

/* A flow in FLOW_HANDSHAKE. */
void socks_flow_prepare(struct flow *f, struct pollvec *pv);
void socks_flow_done(struct flow *f, const struct pollvec *pv);

#endif
