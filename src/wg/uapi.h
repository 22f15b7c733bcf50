/* The cross-platform UAPI (https://www.wireguard.com/xplatform/): the text
 * protocol that `wg` speaks over /var/run/wireguard/<ifname>.sock. The
 * parser and formatter are pure functions (fuzzed); the server accepts
 * connections on its own thread. */
#ifndef WG_UAPI_H
#define WG_UAPI_H

#include <stddef.h>

#include "wg/wg.h"

#define UAPI_SOCKET_DIR "/var/run/wireguard"
#define UAPI_MAX_REQUEST (4u << 20) /* bytes in one set=1 request */

/* Parses the body of a set=1 request (the lines after "set=1", up to but
 * not including the terminating blank line) into *out. 0, or a negative
 * errno for the reply, as wireguard-go answers: -EPROTO for a line that is
 * not key=value, -EINVAL for an unknown or misplaced key or a bad value,
 * -E2BIG past UAPI_MAX_REQUEST bytes (or too many peers or allowed IPs),
 * -ENOMEM. On error *out is released and zeroed. */
int uapi_parse_set(const char *text, size_t len, struct wg_config *out);

/* Formats the reply body of a get=1 request (without "errno=0" and the
 * blank line). Returns a malloc'd string, or NULL on allocation failure. */
char *uapi_format_get(const struct wg_device_info *info, size_t *len_out);

struct uapi_server;
/* Listens on UAPI_SOCKET_DIR/<ifname>.sock (created 0755 / socket 0600),
 * serving get and set for dev on a thread of its own. */
int uapi_server_start(struct uapi_server **out, struct wg_device *dev, const char *ifname);
/* Stops the thread, closes and unlinks the socket. */
void uapi_server_stop(struct uapi_server *s);

#endif
