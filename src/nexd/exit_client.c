#include "nexd/exit_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "nexd/journal.h"
#include "nexd/marks.h"
#include "nexd/netlink.h"
#include "nexd/nft.h"
#include "nexd/nftrules.h"
#include "nexd/policy.h"
#include "nexd/subscription.h"

#define EXIT_RETRY_MS 5000

struct exit_client {
	struct exit_client_env env;
	char table[NFTRULES_TABLE_NAME_MAX + 1];
	bool installed;
	struct oob oob;                  /* the out-of-band sets as installed */
	char uplink[IF_NAMESIZE];        /* the masquerade's uplink */
	struct cidr mesh4;
	bool has_mesh6;
	struct cidr mesh6;
	bool v6_in_table;                /* the client table lets IPv6 into the tunnel */
	bool has_current;
	uint8_t current[32];
	bool current_v6;
	unsigned long long switches;     /* moved from one exit node to another (metrics) */
	uint64_t retry_after_ns;
	char error[200];
};

int exit_client_new(struct exit_client **out, const struct exit_client_env *env)
{
	struct exit_client *xc = calloc(1, sizeof(*xc));

	if (!xc)
		return -ENOMEM;
	xc->env = *env;
	if (nftrules_client_table(env->ifname, xc->table)) {
		free(xc);
		return -EINVAL;
	}
	*out = xc;
	return 0;
}

bool exit_client_installed(const struct exit_client *xc)
{
	return xc->installed;
}

unsigned long long exit_client_switches(const struct exit_client *xc)
{
	return xc ? xc->switches : 0;
}

bool exit_client_current(const struct exit_client *xc, uint8_t key[32])
{
	if (xc->has_current)
		memcpy(key, xc->current, 32);
	return xc->has_current;
}

const char *exit_client_error(const struct exit_client *xc)
{
	return xc->error;
}

static int set_fwmark(struct exit_client *xc, uint32_t mark)
{
	struct wg_config c = { .has_fwmark = true, .fwmark = mark };

	return xc->env.drv->apply(xc->env.dev, &c);
}

static int apply_table(struct exit_client *xc, char *err, size_t errlen)
{
	struct nftrules_client p = { 0 };
	char *script = NULL;
	int r;

	if (xc->env.rootless)
		return 0;
	p.ifname = xc->env.ifname;
	p.uplink = xc->uplink[0] ? xc->uplink : NULL;
	p.mesh4 = xc->mesh4;
	if (p.mesh4.family != AF_INET)
		cidr_parse("100.100.0.0/16", &p.mesh4);
	p.has_mesh6 = xc->has_mesh6;
	p.mesh6 = xc->mesh6;
	p.exit_ipv6 = xc->v6_in_table;
	p.oob = (struct nftrules_oob){ xc->oob.api, xc->oob.n_api, xc->oob.dns, xc->oob.n_dns,
				       xc->oob.stun, xc->oob.n_stun };
	r = nftrules_client_script(&p, &script);
	if (r) {
		snprintf(err, errlen, "cannot build the client table: %s", strerror(-r));
		return r;
	}
	r = nft_apply(script, err, errlen);
	free(script);
	return r;
}

static void uplink_of_default(struct exit_client *xc)
{
	struct nl_route def;

	xc->uplink[0] = 0;
	if (nl_route_get_default(xc->env.nl, AF_INET, &def) == 0 && !if_indextoname(def.oif, xc->uplink))
		xc->uplink[0] = 0;
}

static void teardown(struct exit_client *xc)
{
	unsigned removed = 0;
	int r;

	if (xc->env.rootless) {
		xc->installed = false;
		xc->has_current = false;
		log_info("exit client: destinations outside the mesh are refused again");
		return;
	}
	r = policy_remove(xc->env.nl, &removed);
	if (r)
		log_warn("exit client: removing the policy rules: %s", strerror(-r));
	xc->installed = false;
	xc->has_current = false;
	set_fwmark(xc, 0);
	r = nft_table_delete(NFTRULES_FAMILY, xc->table);
	if (r)
		log_warn("exit client: removing table %s: %s", xc->table, strerror(-r));
	journal_restore(xc->env.journal);
	subscription_marker_set(xc->env.state_dir, false);
	xc->v6_in_table = false;
	log_info("exit client: traffic leaves through the uplink again");
}

/* The subscription's base: everything but the exit node's default routes.
 * Once it is there, traffic to the internet goes into the tunnel or
 * nowhere (fail closed); the out-of-band flows keep the uplink. */
static int install(struct exit_client *xc, const struct exit_client_input *in, char *err, size_t errlen)
{
	int r;

	if (xc->env.rootless) {
		xc->installed = true;
		xc->has_current = false;
		log_info("exit client: subscribed; destinations outside the mesh go through the exit node");
		return 0;
	}
	subscription_marker_set(xc->env.state_dir, true);
	r = journal_sysctl_set(xc->env.journal, "net/ipv4/conf/all/src_valid_mark", "1");
	if (r) {
		snprintf(err, errlen, "cannot set src_valid_mark: %s", strerror(-r));
		goto err_teardown;
	}
	xc->oob = *in->oob;
	xc->mesh4 = in->mesh4;
	xc->has_mesh6 = in->has_mesh6;
	xc->mesh6 = in->mesh6;
	uplink_of_default(xc);
	xc->v6_in_table = false;
	r = apply_table(xc, err, errlen);
	if (r)
		goto err_teardown;
	r = set_fwmark(xc, MARK_WG);
	if (r) {
		snprintf(err, errlen, "cannot mark the WireGuard socket: %s", strerror(-r));
		goto err_teardown;
	}
	xc->installed = true;
	xc->has_current = false;
	r = policy_install(xc->env.nl, xc->env.ifindex);
	if (r) {
		snprintf(err, errlen, "cannot install the policy rules: %s", strerror(-r));
		goto err_teardown;
	}
	log_info("exit client: subscribed; internet traffic goes into the tunnel (out of band through %s)",
		 xc->uplink[0] ? xc->uplink : "-");
	return 0;

err_teardown:
	teardown(xc);
	return r;
}

/* Records the exit node whose peer gets the default routes (the loop puts
 * them there); true when it changed. */
static bool use_exit(struct exit_client *xc, const struct desired_exit *x)
{
	const struct exit_candidate *c = x->has_pick ? &x->pick : NULL;
	char err[256];
	bool changed;

	changed = !c ? xc->has_current
		     : (!xc->has_current || memcmp(xc->current, c->public_key, 32) || xc->current_v6 != x->pick_v6);
	if (!changed)
		return false;
	if (c) {
		if (xc->has_current && memcmp(xc->current, c->public_key, 32))
			xc->switches++;
		memcpy(xc->current, c->public_key, 32);
		xc->current_v6 = x->pick_v6;
	}
	xc->has_current = c != NULL;
	if ((c && x->pick_v6) != xc->v6_in_table) {
		xc->v6_in_table = c && x->pick_v6;
		if (apply_table(xc, err, sizeof(err)))
			log_warn("exit client: cannot update the IPv6 rules: %s", err);
	}
	if (c) {
		char ip[INET6_ADDRSTRLEN] = "";
		inet_ntop(c->family, c->tunnel_ip, ip, sizeof(ip));
		log_info("exit client: traffic now leaves through exit node %s (%s)%s%s", c->hostname, ip,
			 x->why[0] ? ": " : "", x->why);
	}
	return true;
}

/* Keeps an installed subscription in step: table 19302 and the masquerade
 * with the uplink, the out-of-band sets with DNS, the API and STUN. */
static void follow(struct exit_client *xc, const struct exit_client_input *in)
{
	char err[256];
	bool changed = false;
	unsigned uplink_idx = 0;
	int r;

	if (xc->env.rootless)
		return;
	if (in->routes_changed) {
		char uplink[IF_NAMESIZE] = "";

		r = policy_sync_oob_table(xc->env.nl, &changed, &uplink_idx);
		if (r)
			log_warn("exit client: cannot follow the default route: %s", strerror(-r));
		if (changed)
			log_info("exit client: table %u follows the new default route", TABLE_OOB);
		if (uplink_idx)
			if_indextoname(uplink_idx, uplink);
		if (strcmp(uplink, xc->uplink)) {
			snprintf(xc->uplink, sizeof(xc->uplink), "%s", uplink);
			if (apply_table(xc, err, sizeof(err)))
				log_warn("exit client: cannot move the masquerade to %s: %s", uplink, err);
			else
				log_info("exit client: out-of-band traffic now leaves through %s", uplink[0] ? uplink : "-");
		}
	}
	if (in->oob && !oob_equal(in->oob, &xc->oob)) {
		const struct oob *now = in->oob;
		struct nftrules_oob o = { now->api, now->n_api, now->dns, now->n_dns, now->stun, now->n_stun };
		char *script = NULL;

		if (nftrules_client_sets_script(xc->env.ifname, &o, &script) == 0 &&
		    nft_apply(script, err, sizeof(err)) == 0) {
			xc->oob = *now;
			log_info("exit client: out-of-band addresses updated");
		} else {
			log_warn("exit client: cannot update the out-of-band addresses");
		}
		free(script);
	}
}

unsigned exit_client_step(struct exit_client *xc, const struct exit_client_input *in)
{
	const struct desired_exit *x = in->x;
	unsigned done = 0;

	if (xc->installed && !x->wanted) {
		teardown(xc);
		done |= EXIT_CLIENT_ROUTING | EXIT_CLIENT_INSTALLED;
	}
	if (!xc->installed && !x->wanted)
		xc->error[0] = 0;
	if (!xc->installed && x->wanted && (in->oob || xc->env.rootless) && in->now_ns >= xc->retry_after_ns) {
		if (install(xc, in, xc->error, sizeof(xc->error)) == 0) {
			xc->error[0] = 0;
			done |= EXIT_CLIENT_ROUTING | EXIT_CLIENT_INSTALLED;
		} else {
			log_error("exit client: %s", xc->error);
			xc->retry_after_ns = in->now_ns + EXIT_RETRY_MS * NSEC_PER_MSEC;
		}
	}
	if (!xc->installed)
		return done;
	if (!x->has_pick && x->why[0] && xc->has_current)
		log_warn("exit client: %s; no exit node left, traffic is blocked (fail closed)", x->why);
	if (use_exit(xc, x))
		done |= EXIT_CLIENT_ROUTING;
	follow(xc, in);
	return done;
}

void exit_client_free(struct exit_client *xc)
{
	if (!xc)
		return;
	if (xc->installed)
		teardown(xc);
	free(xc);
}
