/* Ingress rules' listeners in lwIP: TCP (each accepted connection becomes
 * a flow dialling DEST from the host) and UDP (each mesh peer an
 * association). They bind to any address, so they work from the moment
 * our tunnel address is known. */
#ifndef PROXY_INGRESS_H
#define PROXY_INGRESS_H

#include <stddef.h>

#include "proxy/engine.h"

/* 0, or -EADDRINUSE / -ENOMEM with a message in why. */
int ingress_listen(struct proxy *p, struct prule *r, char *why, size_t why_len);
/* Closes the listener (the flows are the caller's). */
void ingress_close(struct prule *r);

#endif
