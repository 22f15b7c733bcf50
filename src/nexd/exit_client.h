/* The exit-node client's data plane: what `desired.c` decided, applied.
 * Installed, the subscription is: src_valid_mark (journalled), the client
 * table (out-of-band sets, marks, masquerade), the WireGuard socket's mark,
 * the policy rules and tables (policy.h), and the marker in the state
 * directory; the loop then puts the default routes on the chosen exit
 * node's peer. Install and teardown are each one ordered sequence; every
 * failure is a return value. Called only by the loop. */
#ifndef NEXD_EXIT_CLIENT_H
#define NEXD_EXIT_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"
#include "nexd/desired.h"
#include "nexd/oob.h"
#include "nexd/wgdrv.h"

struct nl;
struct journal;
struct exit_client;

/* The loop's tools, lent for the client's lifetime. */
struct exit_client_env {
	struct nl *nl;
	struct journal *journal;
	const struct wg_driver *drv;
	void *dev;
	unsigned ifindex;
	const char *ifname;
	const char *state_dir;
	/* nexd proxy: nothing on the host (no table, rules, marks, sysctls or
	 * marker); the choice of exit node alone, whose peer gets the default
	 * routes and whose use the proxy learns from exit_client_current. */
	bool rootless;
};

struct exit_client_input {
	const struct desired_exit *x;
	const struct oob *oob;      /* NULL until discovery gathered it: install waits */
	struct cidr mesh4;          /* family 0 when not known yet */
	bool has_mesh6;
	struct cidr mesh6;
	bool routes_changed;        /* netlink saw a route or link change */
	uint64_t now_ns;
};

/* What a step changed. */
enum {
	EXIT_CLIENT_ROUTING = 1u << 0,   /* the host's routing changed: API clients should re-dial */
	EXIT_CLIENT_INSTALLED = 1u << 1, /* installed or torn down */
};

int exit_client_new(struct exit_client **out, const struct exit_client_env *env);
/* Tears an installed subscription down, then frees. */
void exit_client_free(struct exit_client *xc);
unsigned exit_client_step(struct exit_client *xc, const struct exit_client_input *in);

bool exit_client_installed(const struct exit_client *xc);
/* The exit node whose peer carries the default routes; false when none. */
/* How often it moved from one exit node to another (metrics). */
unsigned long long exit_client_switches(const struct exit_client *xc);
bool exit_client_current(const struct exit_client *xc, uint8_t key[32]);
/* Why the last install failed ("" when it did not). */
const char *exit_client_error(const struct exit_client *xc);

#endif
