/* nexd's control socket server: a unix stream socket, root only (checked
 * with SO_PEERCRED), created under a tight umask, one request at a time on
 * its own thread. The protocol is src/control/control.h. */
#ifndef NEXD_CONTROL_SERVER_H
#define NEXD_CONTROL_SERVER_H

#include <jansson.h>
#include <stddef.h>

#include "control/control.h"

/* A handler returns a new reference to the result (any JSON value), or
 * NULL with a message in err for a failed command. Runs on the control
 * thread, one request at a time. */
typedef json_t *(*control_handler_fn)(void *ctx, const struct control_request *req, char *err, size_t errlen);

struct control_server;
/* Creates the socket (0600, under a tight umask), removing a stale one;
 * -EADDRINUSE when another process serves the path. */
int control_server_start(struct control_server **out, const char *path, control_handler_fn fn, void *ctx);
/* Stops the thread, closes and unlinks the socket. */
void control_server_stop(struct control_server *s);

#endif
