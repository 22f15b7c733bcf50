/* The agent's lifecycle, the only part that knows every other:
 *
 *   agent_start: state (keys, registration) -> leftovers of a crash removed
 *     -> subscription -> WireGuard backend chosen -> loop -> control socket
 *     -> first STUN round (bound to the WireGuard port) -> workers
 *     (discovery, report, API sync)
 *   agent_run:   the loop, on the calling thread, until a stop
 *   agent_stop:  the mirror order: control socket, workers, then the loop
 *     removes what it installed (subscription, exit node, addresses, the
 *     interface); the device record on the server is kept. */
#ifndef NEXD_AGENT_H
#define NEXD_AGENT_H

#include <stddef.h>

#include "nexd/options.h"

struct agent;

/* 0, or -errno with a message for the user in err; agent_stop undoes
 * whatever part of the start happened, also on failure. */
int agent_start(struct agent **out, const struct nexd_options *o, char *err, size_t errlen);
/* Runs until a stop is requested or a part fails for good; returns the
 * process exit status (0 after a requested stop). */
int agent_run(struct agent *a);
/* Async-signal-safe. */
void agent_request_stop(struct agent *a);
void agent_stop(struct agent *a);

#endif
