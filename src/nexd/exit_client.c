/* The exit thread. One loop converges the exit-node client: desired is
 * "subscribed and an exit node is there", running is what is installed;
 * install and teardown are each one ordered sequence, and a teardown also
 * runs for leftovers after a crash. The exit node's own side starts and
 * stops here too, so that all nftables work stays on one thread. */
#include "nexd/exit_client.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/key.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "nexd/agent_priv.h"
#include "nexd/exit_node.h"
#include "nexd/health.h"
#include "nexd/journal.h"
#include "nexd/netlink.h"
#include "nexd/nft.h"
#include "nexd/nftrules.h"
#include "nexd/oob.h"
#include "nexd/policy.h"
#include "nexd/resolvconf.h"
#include "wg/wg.h"

#define EXIT_TICK_MS 1000
#define EXIT_REGATHER_MS 60000
#define EXIT_RETRY_MS 5000
#define SUB_FILE "exit-client.json"
#define ACTIVE_MARKER "exit-client.active"

/* What the exit thread alone owns. */
struct exit_ctx {
	struct agent *a;
	struct nl *nl;
	struct nl_monitor *mon;
	struct journal *journal;
	struct exit_node *node;
	struct api_client *api;
	struct oob oob;
	struct resolvconf_watch rcw;
	char uplink[IF_NAMESIZE];
	char table[NFTRULES_TABLE_NAME_MAX + 1];
	uint64_t last_gather_ns;
	uint64_t retry_after_ns;
	char pushed_status[160];
	char chosen_name[API_HOSTNAME_MAX + 1];
	bool exit_v6_in_table;  /* the client table lets IPv6 into the tunnel */
};

/* ---- the subscription, kept in the state directory -------------------- */

static void save_subscription(struct agent *a)
{
	char prefs[EXIT_PREFS_MAX * EXIT_PREF_LEN];
	json_t *j;
	char *text;

	exit_prefs_format(&a->sub_prefs, prefs, sizeof(prefs));
	j = json_pack("{s:b, s:b, s:s, s:b}", "wanted", a->sub_wanted, "pushed", a->sub_pushed, "exit_node", prefs,
		      "failover", a->sub_prefs.failover);
	text = j ? json_dumps(j, JSON_INDENT(2)) : NULL;
	json_decref(j);
	if (!text || state_write_file(a->state.dir, SUB_FILE, text, strlen(text)))
		log_warn("exit client: cannot save the subscription in %s", a->state.dir);
	free(text);
}

static void load_subscription(struct agent *a)
{
	char path[300];
	json_error_t jerr;
	const char *prefs;
	json_t *j;

	snprintf(path, sizeof(path), "%s/%s", a->state.dir, SUB_FILE);
	j = json_load_file(path, 0, &jerr);
	if (json_is_object(j)) {
		a->sub_wanted = json_is_true(json_object_get(j, "wanted"));
		a->sub_pushed = json_is_true(json_object_get(j, "pushed"));
		prefs = json_string_value(json_object_get(j, "exit_node"));
		if (prefs && *prefs && exit_prefs_parse(prefs, &a->sub_prefs))
			log_warn("exit client: ignoring a malformed exit-node preference in %s", path);
		a->sub_prefs.failover = json_is_true(json_object_get(j, "failover"));
	}
	json_decref(j);
}

static bool marker_exists(struct agent *a)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", a->state.dir, ACTIVE_MARKER);
	return access(path, F_OK) == 0;
}

static void marker_set(struct agent *a, bool on)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/%s", a->state.dir, ACTIVE_MARKER);
	if (on)
		state_write_file(a->state.dir, ACTIVE_MARKER, "1\n", 2);
	else
		unlink(path);
}

int exit_prepare(struct agent *a, char *err, size_t errlen)
{
	struct journal *j;
	struct nl *nl;
	char table[NFTRULES_TABLE_NAME_MAX + 1];
	int r;

	if (!nftrules_ifname_valid(a->opt.interface)) {
		snprintf(err, errlen, "interface name %s cannot be used", a->opt.interface);
		return -EINVAL;
	}
	/* Tables of this interface's name: ours, by their fixed names. */
	exit_node_remove_leftovers(a->opt.interface);
	if (nftrules_client_table(a->opt.interface, table) == 0 && nft_table_exists(NFTRULES_FAMILY, table) == 1) {
		nft_table_delete(NFTRULES_FAMILY, table);
		log_info("exit client: removed the table %s left by an earlier run", table);
	}
	/* Policy rules and tables: by their fixed numbers, when this state
	 * directory says a subscription was installed when we went down. */
	if (marker_exists(a)) {
		unsigned removed = 0;

		r = nl_open(&nl);
		if (r) {
			snprintf(err, errlen, "netlink: %s", strerror(-r));
			return r;
		}
		policy_remove(nl, &removed);
		nl_close(nl);
		marker_set(a, false);
		log_info("exit client: removed %u rules and routes left by an earlier run", removed);
	}
	r = journal_open(&j, a->state.dir, NULL);
	if (r) {
		snprintf(err, errlen, "cannot read the sysctl journal in %s: %s", a->state.dir, strerror(-r));
		return r;
	}
	r = journal_restore(j);
	if (r > 0)
		log_info("restored %d sysctls changed by an earlier run", r);
	journal_close(j);

	load_subscription(a);
	if (a->opt.exit_node_client) {
		struct exit_prefs prefs = { 0 };

		if (a->opt.exit_node)
			exit_prefs_parse(a->opt.exit_node, &prefs);
		prefs.failover = a->opt.failover;
		if (!a->sub_wanted || !a->sub_pushed)
			a->sub_pushed = false;
		a->sub_wanted = true;
		a->sub_prefs = prefs;
		save_subscription(a);
	}
	/* IPv6 through an exit node needs IPv6 tunnel addresses on the mesh
	 * (the exit node routes the replies back by them): an exit node
	 * carries IPv6 when its host has an IPv6 default route and its
	 * organization an IPv6 prefix (known once registered). */
	if (a->opt.router_exit_node) {
		struct nl_route def;

		r = nl_open(&nl);
		if (r) {
			snprintf(err, errlen, "netlink: %s", strerror(-r));
			return r;
		}
		a->host_has_ipv6_default = nl_route_get_default(nl, AF_INET6, &def) == 0;
		nl_close(nl);
	}
	snprintf(a->exit_status, sizeof(a->exit_status), "off");
	a->exit_wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->exit_wake_fd < 0) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -errno;
	}
	return 0;
}

void exit_wake(struct agent *a)
{
	uint64_t one = 1;

	if (a->exit_wake_fd > 0 && write(a->exit_wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: it is awake anyway */
	}
}

void exit_on_self(struct agent *a, const struct api_device *self)
{
	bool changed = false;

	pthread_mutex_lock(&a->lock);
	/* The last to act wins: a change on the API server (the web UI, nexctl
	 * device update) unless ours is still on its way there. */
	if (a->sub_pushed && self->exit_node_client != a->sub_wanted) {
		a->sub_wanted = self->exit_node_client;
		changed = true;
		log_info("exit client: subscription turned %s on the API server", a->sub_wanted ? "on" : "off");
	}
	if (changed)
		save_subscription(a);
	pthread_mutex_unlock(&a->lock);
	if (changed)
		exit_wake(a);
}

json_t *exit_cmd_subscribe(struct agent *a, const json_t *args, bool on, char *err, size_t errlen)
{
	struct exit_prefs prefs = { 0 };
	const json_t *v;

	if (a->opt.router_exit_node) {
		snprintf(err, errlen, "this device is an exit node; it cannot be an exit-node client");
		return NULL;
	}
	v = json_object_get(args, "exit_node");
	if (on && v) {
		if (!json_is_string(v) || exit_prefs_parse(json_string_value(v), &prefs)) {
			snprintf(err, errlen, "--exit-node: not a list of names, tunnel IPs or public keys");
			return NULL;
		}
	}
	v = json_object_get(args, "failover");
	if (on && v) {
		if (!json_is_boolean(v)) {
			snprintf(err, errlen, "\"failover\" must be a boolean");
			return NULL;
		}
		prefs.failover = json_is_true(v);
	}
	pthread_mutex_lock(&a->lock);
	a->sub_wanted = on;
	a->sub_pushed = false;
	if (on)
		a->sub_prefs = prefs;
	save_subscription(a);
	pthread_mutex_unlock(&a->lock);
	log_info("exit client: subscription turned %s (nexctl)", on ? "on" : "off");
	exit_wake(a);
	return json_pack("{s:b}", "exit_node_client", on);
}

/* The exit nodes of the organization (not ourselves); under a->lock. */
static bool is_exit_candidate(const struct agent *a, const struct api_device *d)
{
	return api_device_is_exit_node(d) && strcmp(d->id, a->self.id) &&
	       memcmp(d->public_key, a->state.public_key, 32);
}

static bool advertises_v6_default(const struct api_device *d)
{
	for (size_t i = 0; i < d->n_advertise_cidrs; i++)
		if (d->advertise_cidrs[i].family == AF_INET6 && d->advertise_cidrs[i].prefix == 0)
			return true;
	return false;
}

/* The organization's exit nodes with their health, for the choice. The
 * hostnames point into a->mesh: use under a->lock. */
static size_t candidates(struct agent *a, struct exit_candidate *c, const struct api_device **dev, size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < a->mesh.n_devices && n < cap; i++) {
		const struct api_device *d = &a->mesh.devices[i];
		struct health_result h;

		if (!is_exit_candidate(a, d))
			continue;
		memset(&c[n], 0, sizeof(c[n]));
		memcpy(c[n].public_key, d->public_key, 32);
		c[n].hostname = d->hostname;
		c[n].family = d->tunnel_family;
		memcpy(c[n].tunnel_ip, d->tunnel_ip, 16);
		if (a->health && health_get(a->health, d->public_key, &h)) {
			c[n].measured = h.has_latency;
			c[n].reachable = h.reachable;
			c[n].latency_us = h.latency_us;
			c[n].reachable_since_ns = h.reachable_since_ns;
		}
		dev[n++] = d;
	}
	return n;
}

#define EXIT_CANDIDATES_MAX 64

json_t *exit_cmd_list(struct agent *a, char *err, size_t errlen)
{
	struct exit_candidate c[EXIT_CANDIDATES_MAX];
	const struct api_device *dev[EXIT_CANDIDATES_MAX];
	struct wg_device_info *info = NULL;
	json_t *list = json_array();
	size_t n;

	(void)err;
	(void)errlen;
	pthread_mutex_lock(&a->lock);
	if (a->up && wg_device_get(a->dev, &info) < 0)
		info = NULL;
	n = candidates(a, c, dev, EXIT_CANDIDATES_MAX);
	for (size_t i = 0; i < n; i++) {
		const struct api_device *d = dev[i];
		char pub[KEY_B64_LEN + 1], ep[ADDR_ENDPOINT_STRLEN] = "", ip[INET6_ADDRSTRLEN] = "";
		json_t *o;

		key_to_base64(pub, d->public_key);
		inet_ntop(d->tunnel_family, d->tunnel_ip, ip, sizeof(ip));
		for (size_t k = 0; info && k < info->n_peers; k++)
			if (!memcmp(info->peers[k].public_key, d->public_key, 32) && info->peers[k].endpoint.sa.sa_family)
				addr_endpoint_format(&info->peers[k].endpoint, ep);
		if (!ep[0] && d->n_endpoints)
			addr_endpoint_format(&d->endpoints[0].addr, ep);
		o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "endpoint", ep, "public_key", pub, "tunnel_ip", ip,
			      "hostname", d->hostname, "reachable", c[i].reachable, "ipv6", advertises_v6_default(d),
			      "in_use", a->exit_active && a->has_exit_peer && !memcmp(a->exit_peer, d->public_key, 32));
		json_object_set_new(o, "latency_ms", c[i].measured ? json_real(c[i].latency_us / 1000.0) : json_null());
		json_array_append_new(list, o);
	}
	pthread_mutex_unlock(&a->lock);
	wg_device_info_free(info);
	return list;
}

/* ---- the exit thread ---------------------------------------------------- */

static int set_fwmark(struct agent *a, uint32_t mark)
{
	struct wg_config c = { .has_fwmark = true, .fwmark = mark };

	return wg_device_apply(a->dev, &c);
}

static int uplink_of_default(struct exit_ctx *x, char out[IF_NAMESIZE])
{
	struct nl_route def;
	int r = nl_route_get_default(x->nl, AF_INET, &def);

	if (r)
		return r;
	if (!if_indextoname(def.oif, out))
		return -ENODEV;
	return 0;
}

static int apply_client_table(struct exit_ctx *x, char *err, size_t errlen)
{
	struct agent *a = x->a;
	struct nftrules_client p = { 0 };
	char *script = NULL;
	int r;

	p.ifname = a->opt.interface;
	p.uplink = x->uplink[0] ? x->uplink : NULL;
	pthread_mutex_lock(&a->lock);
	p.mesh4 = a->org_prefix;
	pthread_mutex_unlock(&a->lock);
	if (p.mesh4.family != AF_INET)
		cidr_parse("100.100.0.0/16", &p.mesh4);
	pthread_mutex_lock(&a->lock);
	p.has_mesh6 = a->has_org_prefix6;
	p.mesh6 = a->org_prefix6;
	pthread_mutex_unlock(&a->lock);
	p.exit_ipv6 = x->exit_v6_in_table;
	p.oob.api = x->oob.api;
	p.oob.n_api = x->oob.n_api;
	p.oob.dns = x->oob.dns;
	p.oob.n_dns = x->oob.n_dns;
	p.oob.stun = x->oob.stun;
	p.oob.n_stun = x->oob.n_stun;
	r = nftrules_client_script(&p, &script);
	if (r) {
		snprintf(err, errlen, "cannot build the client table: %s", strerror(-r));
		return r;
	}
	r = nft_apply(script, err, errlen);
	free(script);
	return r;
}

static void teardown(struct exit_ctx *x)
{
	struct agent *a = x->a;
	unsigned removed = 0;
	int r;

	r = policy_remove(x->nl, &removed);
	if (r)
		log_warn("exit client: removing the policy rules: %s", strerror(-r));
	pthread_mutex_lock(&a->lock);
	a->exit_active = false;
	a->has_exit_peer = false;
	pthread_mutex_unlock(&a->lock);
	sync_reconverge(a);
	set_fwmark(a, 0);
	r = nft_table_delete(NFTRULES_FAMILY, x->table);
	if (r)
		log_warn("exit client: removing table %s: %s", x->table, strerror(-r));
	journal_restore(x->journal);
	marker_set(a, false);
	x->exit_v6_in_table = false;
	log_info("exit client: traffic leaves through the uplink again");
	agent_redial(a);
}

/* The subscription's base: everything but the exit node's default routes.
 * Once it is there, traffic to the internet goes into the tunnel or
 * nowhere (fail closed); the out-of-band flows keep the uplink. */
static int install(struct exit_ctx *x, char *err, size_t errlen)
{
	struct agent *a = x->a;
	int r;

	marker_set(a, true);
	r = journal_sysctl_set(x->journal, "net/ipv4/conf/all/src_valid_mark", "1");
	if (r) {
		snprintf(err, errlen, "cannot set src_valid_mark: %s", strerror(-r));
		goto err_teardown;
	}
	oob_gather(a->opt.service_url, a->opt.stun_servers, a->opt.n_stun_servers, &x->oob);
	x->last_gather_ns = time_now_ns();
	resolvconf_changed(&x->rcw, NULL, NULL);
	x->uplink[0] = 0;
	uplink_of_default(x, x->uplink);
	x->exit_v6_in_table = false;
	r = apply_client_table(x, err, errlen);
	if (r)
		goto err_teardown;
	r = set_fwmark(a, POLICY_MARK_WG);
	if (r) {
		snprintf(err, errlen, "cannot mark the WireGuard socket: %s", strerror(-r));
		goto err_teardown;
	}
	pthread_mutex_lock(&a->lock);
	a->exit_active = true;
	a->has_exit_peer = false;
	pthread_mutex_unlock(&a->lock);
	r = policy_install(x->nl, a->ifindex);
	if (r) {
		snprintf(err, errlen, "cannot install the policy rules: %s", strerror(-r));
		goto err_teardown;
	}
	log_info("exit client: subscribed; internet traffic goes into the tunnel (out of band through %s)",
		 x->uplink[0] ? x->uplink : "-");
	agent_redial(a);
	return 0;

err_teardown:
	teardown(x);
	return r;
}

/* Puts the default routes on the chosen exit node's peer (or on none). */
static void use_exit(struct exit_ctx *x, const struct exit_candidate *c, bool v6, const char *why)
{
	struct agent *a = x->a;
	char err[256];
	bool changed;

	pthread_mutex_lock(&a->lock);
	changed = !c ? a->has_exit_peer
		     : (!a->has_exit_peer || memcmp(a->exit_peer, c->public_key, 32) || a->exit_peer_v6 != v6);
	if (c) {
		memcpy(a->exit_peer, c->public_key, 32);
		a->exit_peer_v6 = v6;
	}
	a->has_exit_peer = c != NULL;
	pthread_mutex_unlock(&a->lock);
	if (!changed)
		return;
	sync_reconverge(a);
	if (v6 != x->exit_v6_in_table) {
		x->exit_v6_in_table = v6;
		if (apply_client_table(x, err, sizeof(err)))
			log_warn("exit client: cannot update the IPv6 rules: %s", err);
	}
	if (c) {
		char ip[INET6_ADDRSTRLEN] = "";
		inet_ntop(c->family, c->tunnel_ip, ip, sizeof(ip));
		log_info("exit client: traffic now leaves through exit node %s (%s)%s%s", c->hostname, ip,
			 why ? ": " : "", why ? why : "");
	}
	agent_redial(a);
}

/* Keeps an installed subscription in step: table 19302 and the masquerade
 * with the uplink, the out-of-band sets with DNS, the API and STUN. */
static void follow(struct exit_ctx *x, bool routes_changed)
{
	struct agent *a = x->a;
	char err[256];
	bool changed = false;
	unsigned uplink_idx;
	int r;

	if (routes_changed) {
		char uplink[IF_NAMESIZE] = "";

		r = policy_sync_oob_table(x->nl, &changed, &uplink_idx);
		if (r)
			log_warn("exit client: cannot follow the default route: %s", strerror(-r));
		if (changed)
			log_info("exit client: table %u follows the new default route", POLICY_TABLE_OOB);
		if (uplink_idx)
			if_indextoname(uplink_idx, uplink);
		if (strcmp(uplink, x->uplink)) {
			snprintf(x->uplink, sizeof(x->uplink), "%s", uplink);
			if (apply_client_table(x, err, sizeof(err)))
				log_warn("exit client: cannot move the masquerade to %s: %s", uplink, err);
			else
				log_info("exit client: out-of-band traffic now leaves through %s", uplink[0] ? uplink : "-");
		}
	}
	if (resolvconf_changed(&x->rcw, NULL, NULL) == 1 ||
	    time_now_ns() - x->last_gather_ns > EXIT_REGATHER_MS * NSEC_PER_MSEC) {
		struct oob now;

		oob_gather(a->opt.service_url, a->opt.stun_servers, a->opt.n_stun_servers, &now);
		x->last_gather_ns = time_now_ns();
		if (!oob_equal(&now, &x->oob)) {
			struct nftrules_oob o = { now.api, now.n_api, now.dns, now.n_dns, now.stun, now.n_stun };
			char *script = NULL;

			if (nftrules_client_sets_script(a->opt.interface, &o, &script) == 0 &&
			    nft_apply(script, err, sizeof(err)) == 0) {
				x->oob = now;
				log_info("exit client: out-of-band addresses updated");
			} else {
				log_warn("exit client: cannot update the out-of-band addresses");
			}
			free(script);
		}
	}
}

static void push_state(struct exit_ctx *x)
{
	struct agent *a = x->a;
	struct api_client_config cfg = {
		.base_url = a->opt.service_url,
		.ca_file = a->opt.ca_cert,
		.connect_timeout_ms = 5000,
		.timeout_ms = 15000,
	};
	char id[STATE_ID_MAX], token[STATE_TOKEN_MAX], status[160];
	bool wanted, pushed, registered;
	json_t *patch;
	int r;

	pthread_mutex_lock(&a->lock);
	wanted = a->sub_wanted;
	pushed = a->sub_pushed;
	registered = a->registered;
	snprintf(status, sizeof(status), "%s", a->exit_status);
	snprintf(id, sizeof(id), "%s", a->state.device_id);
	snprintf(token, sizeof(token), "%s", a->state.device_token);
	pthread_mutex_unlock(&a->lock);
	if (!registered || (pushed && !strcmp(status, x->pushed_status)))
		goto out;
	if (!x->api) {
		if (api_client_new(&cfg, &x->api))
			goto out;
		api_client_set_abort(x->api, &a->stopping);
		agent_set_client(a, AGENT_CLIENT_EXIT, x->api);
	}
	api_client_set_token(x->api, token);
	patch = json_pack("{s:s}", "exit_node_status", status);
	if (!pushed)
		json_object_set_new(patch, "exit_node_client", json_boolean(wanted));
	r = api_device_patch(x->api, id, patch, NULL, NULL);
	json_decref(patch);
	if (r) {
		log_info("exit client: cannot tell the API server yet: %s", api_client_error(x->api));
		goto out;
	}
	snprintf(x->pushed_status, sizeof(x->pushed_status), "%s", status);
	pthread_mutex_lock(&a->lock);
	if (a->sub_wanted == wanted && !a->sub_pushed) {
		a->sub_pushed = true;
		save_subscription(a);
	}
	pthread_mutex_unlock(&a->lock);
out:
	memset(token, 0, sizeof(token));
}

static void converge_client(struct exit_ctx *x, bool routes_changed)
{
	struct agent *a = x->a;
	struct exit_candidate c[EXIT_CANDIDATES_MAX];
	const struct api_device *dev[EXIT_CANDIDATES_MAX];
	struct exit_candidate chosen;
	struct exit_prefs prefs;
	char status[160], err[256] = "", why[200] = "";
	bool wanted, active, v6 = false, have = false;
	int current = -1, pick;
	size_t n;

	memset(&chosen, 0, sizeof(chosen));
	pthread_mutex_lock(&a->lock);
	wanted = a->sub_wanted && a->registered && a->up;
	active = a->exit_active;
	prefs = a->sub_prefs;
	n = candidates(a, c, dev, EXIT_CANDIDATES_MAX);
	for (size_t i = 0; i < n; i++)
		if (a->has_exit_peer && !memcmp(c[i].public_key, a->exit_peer, 32))
			current = (int)i;
	pick = wanted ? exit_choose(c, n, current, &prefs, time_now_ns()) : -1;
	if (pick >= 0) {
		chosen = c[pick];
		snprintf(x->chosen_name, sizeof(x->chosen_name), "%s", c[pick].hostname);
		chosen.hostname = x->chosen_name;
		v6 = advertises_v6_default(dev[pick]);
		have = true;
		if (current >= 0 && pick != current)
			snprintf(why, sizeof(why), "%.100s %s", c[current].hostname,
				 c[current].reachable ? "is slower or not preferred" : "stopped answering");
	} else if (a->has_exit_peer && current < 0) {
		snprintf(why, sizeof(why), "the exit node in use is gone");
	}
	pthread_mutex_unlock(&a->lock);

	if (active && !wanted) {
		teardown(x);
		active = false;
	}
	if (!active && wanted && time_now_ns() >= x->retry_after_ns) {
		if (install(x, err, sizeof(err)) == 0) {
			active = true;
		} else {
			log_error("exit client: %s", err);
			x->retry_after_ns = time_now_ns() + EXIT_RETRY_MS * NSEC_PER_MSEC;
		}
	}
	if (active) {
		if (!have && why[0])
			log_warn("exit client: %s; no exit node left, traffic is blocked (fail closed)", why);
		use_exit(x, have ? &chosen : NULL, v6, why[0] ? why : NULL);
		follow(x, routes_changed);
	}

	if (!a->sub_wanted)
		snprintf(status, sizeof(status), "off");
	else if (!active)
		snprintf(status, sizeof(status), "error: %.140s", err[0] ? err : "cannot install the subscription");
	else if (!have)
		snprintf(status, sizeof(status), "waiting for an exit node");
	else if (!chosen.reachable && chosen.measured)
		snprintf(status, sizeof(status), "%.100s does not answer; traffic blocked", chosen.hostname);
	else {
		char ip[INET6_ADDRSTRLEN] = "";
		inet_ntop(chosen.family, chosen.tunnel_ip, ip, sizeof(ip));
		snprintf(status, sizeof(status), "using %.100s (%s)", chosen.hostname, ip);
	}
	pthread_mutex_lock(&a->lock);
	if (strcmp(status, a->exit_status))
		log_info("exit client: %s", status);
	snprintf(a->exit_status, sizeof(a->exit_status), "%s", status);
	pthread_mutex_unlock(&a->lock);
	push_state(x);
}

static void on_health_change(void *ctx)
{
	exit_wake(ctx);
}

void *exit_main(void *arg)
{
	struct exit_ctx x = { .a = arg };
	struct agent *a = x.a;
	char err[512], warn[512];
	int r;

	r = nl_open(&x.nl);
	if (!r)
		r = nl_monitor_open(&x.mon);
	if (!r)
		r = journal_open(&x.journal, a->state.dir, NULL);
	if (r) {
		agent_fail(a, 1, "exit thread: %s", strerror(-r));
		goto out;
	}
	nftrules_client_table(a->opt.interface, x.table);
	if (a->health)
		health_set_notify(a->health, on_health_change, a);
	if (a->opt.router_exit_node) {
		/* The organization's prefixes decide whether IPv6 is carried. */
		pthread_mutex_lock(&a->lock);
		while (!a->has_org_prefix && !agent_stopping(a))
			pthread_cond_wait(&a->cond, &a->lock);
		pthread_mutex_unlock(&a->lock);
		if (agent_stopping(a))
			goto out;
		r = exit_node_start(&x.node, x.nl, x.journal, a->opt.interface, a->opt.egress_interface, a->exit_ipv6,
				    warn, sizeof(warn), err, sizeof(err));
		if (r) {
			agent_fail(a, 1, "exit node: %s", err);
			goto out;
		}
		pthread_mutex_lock(&a->lock);
		snprintf(a->exit_warning, sizeof(a->exit_warning), "%s", warn);
		pthread_mutex_unlock(&a->lock);
	}
	while (!agent_stopping(a)) {
		struct pollfd p[2] = { { .fd = a->exit_wake_fd, .events = POLLIN },
				       { .fd = nl_monitor_fd(x.mon), .events = POLLIN } };
		unsigned events = 0;
		uint64_t v;

		if (poll(p, 2, EXIT_TICK_MS) < 0 && errno != EINTR)
			break;
		if (agent_stopping(a))
			break;
		if (p[0].revents & POLLIN)
			(void)!read(a->exit_wake_fd, &v, sizeof(v));
		if (p[1].revents & POLLIN)
			nl_monitor_drain(x.mon, &events);
		if (!a->opt.router_exit_node)
			converge_client(&x, (events & (NL_EVENT_ROUTE | NL_EVENT_LINK)) != 0);
	}
	pthread_mutex_lock(&a->lock);
	if (a->exit_active) {
		pthread_mutex_unlock(&a->lock);
		teardown(&x);
	} else {
		pthread_mutex_unlock(&a->lock);
	}
	exit_node_stop(x.node, x.journal);
out:
	agent_set_client(a, AGENT_CLIENT_EXIT, NULL);
	api_client_free(x.api);
	journal_close(x.journal);
	nl_monitor_close(x.mon);
	nl_close(x.nl);
	return NULL;
}
