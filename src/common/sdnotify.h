/* systemd's readiness protocol (sd_notify(3), without libsystemd): one
 * datagram of "KEY=VALUE" lines to the AF_UNIX socket named by
 * $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace). A unit
 * of Type=notify waits for READY=1. */
#ifndef COMMON_SDNOTIFY_H
#define COMMON_SDNOTIFY_H

/* Sends text. 0 (also when $NOTIFY_SOCKET is not set: not run by systemd),
 * or a negative errno. */
int sd_notify_text(const char *text);

#endif
