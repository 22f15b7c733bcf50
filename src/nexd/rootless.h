/* nexd proxy's side of the loop: the userspace stack (src/proxy) started on
 * the device's packet endpoint with the command line's rules, told our
 * addresses once the organization is known, and whether destinations
 * outside the mesh may go to an exit node. Nothing on the host. */
#ifndef NEXD_ROOTLESS_H
#define NEXD_ROOTLESS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/addr.h"
#include "nexd/options.h"

struct proxy;

/* Takes endpoint_fd in every case. 0, or -errno with a message in err (a
 * rule whose port is taken, the SOCKS address in use). */
int rootless_start(struct proxy **out, const struct nexd_options *o, int endpoint_fd, char *err, size_t errlen);

/* Our tunnel addresses (host prefixes) and the mesh prefixes; self6 and
 * mesh6 NULL without IPv6. A refusal is logged. */
void rootless_set_addresses(struct proxy *p, const struct cidr *self4, const struct cidr *mesh4,
			    const struct cidr *self6, const struct cidr *mesh6);

#endif
