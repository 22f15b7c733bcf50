/* The exit thread: the exit node's side when nexd runs as one, and the
 * exit-node client's subscription, installed and removed as one
 * convergence (desired: subscribed and an exit node present; running: what
 * is installed). Every nftables change happens on this thread. */
#ifndef NEXD_EXIT_CLIENT_H
#define NEXD_EXIT_CLIENT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

struct agent;
struct api_device;

/* Before anything is created: removes what a crashed run left (nft tables
 * of this interface, the policy rules and tables when this state directory
 * says a subscription was installed, sysctls from the journal), and loads
 * the subscription. 0 or -errno with a message. */
int exit_prepare(struct agent *a, char *err, size_t errlen);
void *exit_main(void *arg);
/* Wakes the exit thread to converge again (after a mesh change). */
void exit_wake(struct agent *a);
/* The API server's record of this device changed (sync thread). */
void exit_on_self(struct agent *a, const struct api_device *self);
/* Control commands. */
json_t *exit_cmd_subscribe(struct agent *a, const json_t *args, bool on, char *err, size_t errlen);
json_t *exit_cmd_list(struct agent *a, char *err, size_t errlen);

#endif
