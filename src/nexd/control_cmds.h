/* The control socket's commands (the names are control/control.h's), as a
 * table of handlers. The read commands answer from the loop's status board
 * and the interface's counters; the two mutating ones check their
 * arguments, post EV_CONTROL to the loop and answer once it is applied. */
#ifndef NEXD_CONTROL_CMDS_H
#define NEXD_CONTROL_CMDS_H

#include <jansson.h>
#include <stddef.h>

#include "control/control.h"
#include "nexd/events.h"
#include "nexd/options.h"
#include "nexd/status.h"

struct control_cmds {
	struct status_board *board;
	struct worker w;                 /* where EV_CONTROL goes */
	const struct nexd_options *opt;  /* (nexd proxy) the SOCKS address, exit node */
};

/* A control_handler_fn (control_server.h) with ctx a struct control_cmds. */
json_t *control_cmds_handle(void *ctx, const struct control_request *req, char *err, size_t errlen);

#endif
