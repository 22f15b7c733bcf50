/* Tunnel address allocation: the lowest free host address of an
 * organization's IPv4 prefix, never its network or broadcast address. */
#ifndef NEXAPI_IPAM_H
#define NEXAPI_IPAM_H

#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

/* Parses an organization prefix: IPv4, /8 to /30, host bits zero.
 * *net and *len receive the network (host order) and prefix length. */
int ipam_prefix_parse(const char *s, uint32_t *net, unsigned *len);

/* used: the addresses taken (host order), sorted ascending, each inside the
 * prefix. *out: the lowest free host address. -ENOSPC when none is free. */
int ipam_first_free(uint32_t net, unsigned len, const uint32_t *used, size_t n, uint32_t *out);

/* The fast path when the taken addresses are exactly the first `count`
 * host addresses (no gap): *out is the next one. -EAGAIN when there is a
 * gap (then use ipam_first_free), -ENOSPC when the prefix is full. */
int ipam_next_if_dense(uint32_t net, unsigned len, size_t count, uint32_t max_used, uint32_t *out);

/* Parses an organization's IPv6 prefix: IPv6, exactly /64, host bits
 * zero. net: its 16 bytes (network order). */
#define IPAM_PREFIX6_LEN 64
int ipam_prefix6_parse(const char *s, uint8_t net[16]);

/* A device's IPv6 tunnel address: the /64 prefix6 (text) with the low 32
 * bits set to the IPv4 tunnel address tunnel_ip (dotted-quad text), in
 * canonical text. -EINVAL when either is malformed. */
int ipam_derive6(const char *prefix6, const char *tunnel_ip, char out[INET6_ADDRSTRLEN]);

/* Dotted-quad text of a host-order address. */
void ipam_format(uint32_t a, char out[16]);
int ipam_parse(const char *s, uint32_t *out);

#endif
