/* nexd's peer prober through the proxy (proxy_probe_socket): one end of a
 * SOCK_SEQPACKET pair carrying whole IPv4 packets. ICMP echo requests from
 * our tunnel address written to it go to the mesh as they are (anything
 * else is dropped); ICMP echo replies to our address with the prober's ICMP
 * id are copied to it. One prober at a time. Proxy thread only. */
#ifndef PROXY_PROBE_H
#define PROXY_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/engine.h"

/* Replaces the prober: the caller's end of a new pair, or -errno. */
int probe_open(struct proxy *p, uint16_t id);
void probe_close(struct proxy *p);
void probe_poll_prepare(struct proxy *p, struct pollvec *pv);
void probe_poll_done(struct proxy *p, const struct pollvec *pv);
/* A packet for our address (len checked by the caller, IPv4 header
 * complete): true when it was the prober's echo reply (then it is taken). */
bool probe_deliver(struct proxy *p, const uint8_t *pkt, size_t len);

#endif
