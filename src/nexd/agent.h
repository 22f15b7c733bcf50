/* The agent: everything nexd runs, started and stopped in mirror order.
 *
 *   state (keys, registration) -> WireGuard device + UAPI socket -> netlink
 *   -> control socket -> health prober -> endpoint discovery thread
 *   -> API sync thread (register, list, watch, converge)
 *
 * Stopping removes what was installed: the interface (and with it its
 * addresses and routes), the sockets; the device record on the server is
 * kept. */
#ifndef NEXD_AGENT_H
#define NEXD_AGENT_H

#include <stddef.h>

#include "nexd/options.h"

struct agent;

/* 0, or -errno with a message for the user in err. */
int agent_start(struct agent **out, const struct nexd_options *o, char *err, size_t errlen);
/* Blocks until a stop is requested or a part fails for good; returns the
 * process exit status (0 after a requested stop). */
int agent_wait(struct agent *a);
/* Async-signal-safe. */
void agent_request_stop(struct agent *a);
void agent_destroy(struct agent *a);

#endif
