/* Egress rules' host listeners on 127.0.0.1:PORT: TCP (each accepted
 * connection becomes a flow dialled in lwIP) and UDP (each client address
 * an association). */
#ifndef PROXY_EGRESS_H
#define PROXY_EGRESS_H

#include <stddef.h>

#include "proxy/engine.h"

/* Binds at once: 0, or a negative errno with a message in why
 * ("egress tcp:8080:...: 127.0.0.1:8080 is in use"). */
int egress_listen(struct prule *r, char *why, size_t why_len);
void egress_poll_prepare(struct prule *r, struct pollvec *pv);
void egress_poll_done(struct proxy *p, struct prule *r, const struct pollvec *pv);
void egress_close(struct prule *r);

#endif
