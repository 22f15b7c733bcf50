#include "nexd/loop.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/key.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "nexd/converge.h"
#include "nexd/desired.h"
#include "nexd/exit_client.h"
#include "nexd/exit_node.h"
#include "nexd/health.h"
#include "nexd/journal.h"
#include "nexd/keyindex.h"
#include "nexd/model.h"
#include "nexd/netlink.h"
#include "nexd/path.h"
#include "nexd/recover.h"
#include "nexd/rootless.h"
#include "proxy/proxy.h"

#define LOOP_TICK_MS 1000

struct loop {
	struct loop_config cfg;
	const struct nexd_options *opt;
	struct mesh_model m;
	struct subscription sub;
	char token[256];                 /* the device token, for report */

	struct nl *nl;
	struct nl_monitor *mon;
	struct journal *journal;
	bool host_ipv6_default;          /* at start */

	void *dev;                       /* the interface, once registered */
	unsigned ifindex;
	struct health *health;
	struct exit_client *xc;
	struct exit_node *node;
	uint64_t node_check_ns;          /* the exit node's next firewall check */
	char warnings[512];

	bool has_addr, has_addr6;        /* installed on the interface */
	struct cidr addr, addr6;

	struct converge_memory memory;
	struct mesh_peer *applied;       /* the desired peers last applied */
	size_t n_applied;
	bool wg_dirty;                   /* plan WireGuard again even if desired looks the same */
	struct health_target *probed;    /* the prober's targets as last set */
	size_t n_probed;
	bool peers_dirty;                /* the status board's peer list is stale */
	char exit_status[160];
	uint64_t acked;                  /* the control generation to acknowledge */
	bool routes_changed;

	struct path_table paths;         /* each peer's path choice */

	struct proxy *px;                /* nexd proxy: the userspace stack */
	bool via_exit;                   /* as last told to it */
	char fatal_msg[EV_TEXT_MAX];

	bool fatal;
	int exit_code;
};

static void fail(struct loop *l, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct loop *l, int status, const char *fmt, ...)
{
	va_list ap;
	char msg[EV_TEXT_MAX];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_error("%s", msg);
	if (!l->fatal) {
		snprintf(l->fatal_msg, sizeof(l->fatal_msg), "%s", msg);
		l->fatal = true;
		l->exit_code = status;
	}
}

/* ---- the interface ------------------------------------------------------ */

static void on_health_change(void *ctx)
{
	struct loop *l = ctx;
	struct event e = { .type = EV_HEALTH };

	evq_post(l->cfg.q, &e);
}

static bool health_view(void *ctx, const uint8_t key[32], struct health_result *out)
{
	struct loop *l = ctx;

	return l->health && health_get(l->health, key, out);
}

#define PROBE_ICMP_ID 0x6e78

/* nexd proxy: the device's packet endpoint goes to the userspace stack;
 * no link, prober socket or host tables. */
static int bring_up_rootless(struct loop *l)
{
	const struct nexd_options *o = l->opt;
	struct exit_client_env env = { .drv = l->cfg.drv, .dev = l->dev, .ifname = o->interface,
				       .state_dir = l->cfg.state->dir, .rootless = true };
	char err[512];
	int fd, r;

	fd = l->cfg.drv->take_endpoint(l->dev);
	if (fd < 0) {
		fail(l, 1, "cannot take the packet endpoint: %s", strerror(-fd));
		return fd;
	}
	r = rootless_start(&l->px, o, fd, err, sizeof(err));
	if (r) {
		fail(l, 1, "%s", err);
		return r;
	}
	status_set_proxy(l->cfg.board, l->px);
	fd = proxy_probe_socket(l->px, PROBE_ICMP_ID);
	r = fd < 0 ? fd : health_start_packets(&l->health, fd, PROBE_ICMP_ID);
	if (r) {
		fail(l, 1, "cannot start the peer prober: %s", strerror(-r));
		return r;
	}
	health_set_notify(l->health, on_health_change, l);
	r = exit_client_new(&l->xc, &env);
	if (r) {
		fail(l, 1, "exit client: %s", strerror(-r));
		return r;
	}
	status_set_interface(l->cfg.board, l->cfg.drv, l->dev, l->health);
	log_info("proxy is up (port %u, userspace WireGuard and TCP/IP, no interface)", o->listen_port);
	return 0;
}

/* Creates the interface and everything that lives on it: device, link up,
 * prober, exit-node client, STUN through it. */
static int bring_up(struct loop *l)
{
	const struct nexd_options *o = l->opt;
	struct wg_config c = { .has_private_key = true, .has_listen_port = true, .listen_port = o->listen_port };
	struct exit_client_env env;
	char err[512];
	int r;

	memcpy(c.private_key, l->cfg.state->private_key, sizeof(c.private_key));
	r = l->cfg.drv->create(&l->dev, o->interface, &c, err, sizeof(err));
	explicit_bzero(c.private_key, sizeof(c.private_key));
	if (r) {
		l->dev = NULL;
		fail(l, 1, "%s", err);
		return r;
	}
	if (l->cfg.drv->remove_stale)
		recover_mark_link(l->cfg.state->dir, o->interface, true);
	if (o->proxy)
		return bring_up_rootless(l);
	l->ifindex = (unsigned)l->cfg.drv->ifindex(l->dev);
	r = nl_link_set_up(l->nl, l->ifindex, true);
	if (r) {
		fail(l, 1, "cannot bring %s up: %s", o->interface, strerror(-r));
		return r;
	}
	r = health_start(&l->health, o->interface);
	if (r) {
		fail(l, 1, "cannot start the peer prober: %s", strerror(-r));
		return r;
	}
	health_set_notify(l->health, on_health_change, l);
	env = (struct exit_client_env){ .nl = l->nl, .journal = l->journal, .drv = l->cfg.drv, .dev = l->dev,
					.ifindex = l->ifindex, .ifname = o->interface,
					.state_dir = l->cfg.state->dir };
	r = exit_client_new(&l->xc, &env);
	if (r) {
		fail(l, 1, "exit client: %s", strerror(-r));
		return r;
	}
	discovery_attach(l->cfg.discovery, l->cfg.drv, l->dev);
	status_set_interface(l->cfg.board, l->cfg.drv, l->dev, l->health);
	log_info("interface %s is up (port %u, %s WireGuard)", o->interface, o->listen_port, l->cfg.drv->name);
	return 0;
}

/* One tunnel address (a host prefix) on the interface and its mesh prefix
 * routed there; the address installed before is replaced when it differs. */
static int install_one(struct loop *l, const struct cidr *addr, const struct cidr *prefix, struct cidr *old,
		       bool *had_old)
{
	struct nl_route route = { 0 };
	char at[ADDR_CIDR_STRLEN], pt[ADDR_CIDR_STRLEN];
	const char *ifname = l->opt->interface;
	int r;

	cidr_format(addr, at);
	cidr_format(prefix, pt);
	if (*had_old && !cidr_equal(addr, old))
		nl_addr_del(l->nl, l->ifindex, old);
	r = nl_addr_add(l->nl, l->ifindex, addr);
	if (r && r != -EEXIST) {
		fail(l, 1, "cannot add the tunnel address %s to %s: %s", at, ifname, strerror(-r));
		return r;
	}
	*old = *addr;
	*had_old = true;
	route.dst = *prefix;
	route.table = RT_TABLE_MAIN;
	route.type = RTN_UNICAST;
	route.oif = l->ifindex;
	r = nl_route_add(l->nl, &route);
	if (r == -EEXIST)
		log_warn("the mesh prefix %s is already routed elsewhere (another nexd in the same mesh on this "
			 "host?); traffic to it may not reach %s", pt, ifname);
	else if (r) {
		fail(l, 1, "cannot route %s onto %s: %s", pt, ifname, strerror(-r));
		return r;
	}
	log_info("tunnel address %s on %s, mesh %s routed there", at, ifname, pt);
	return 0;
}

static bool exit_ipv6(const struct loop *l)
{
	return l->opt->router_exit_node && l->m.has_prefix6 && l->host_ipv6_default;
}

/* The organization is known: our addresses (IPv4, and IPv6 as the record
 * gives it when the organization has an IPv6 prefix), then the exit node's
 * side when we are one. */
/* The exit node's firewall check (exit_node.h), at start and every
 * NODE_CHECK_MS: a firewall that comes after us is seen within seconds. */
#define NODE_CHECK_MS 3000
static void check_node(struct loop *l)
{
	if (!l->node)
		return;
	l->node_check_ns = time_now_ns() + NODE_CHECK_MS * NSEC_PER_MSEC;
	exit_node_check(l->node);
	snprintf(l->warnings, sizeof(l->warnings), "%s", exit_node_warning(l->node));
}

static void on_org(struct loop *l)
{
	const struct api_device *self = &l->m.self;
	struct cidr addr = { 0 }, addr6 = { 0 };
	bool v6 = l->m.has_prefix6 && self->has_tunnel_ip6 && self->tunnel_family == AF_INET;
	char err[512];
	int r;

	if (!l->dev)
		return;
	addr.family = self->tunnel_family;
	memcpy(addr.addr, self->tunnel_ip, 16);
	addr.prefix = addr.family == AF_INET ? 32 : 128;
	if (v6) {
		addr6.family = AF_INET6;
		memcpy(addr6.addr, self->tunnel_ip6, 16);
		addr6.prefix = 128;
	}
	if (l->px) {
		rootless_set_addresses(l->px, &addr, &l->m.prefix, v6 ? &addr6 : NULL, v6 ? &l->m.prefix6 : NULL);
		if (self->tunnel_family == AF_INET)
			health_set_source(l->health, self->tunnel_ip);
		return;
	}
	if (install_one(l, &addr, &l->m.prefix, &l->addr, &l->has_addr))
		return;
	if (v6 && install_one(l, &addr6, &l->m.prefix6, &l->addr6, &l->has_addr6))
		return;
	if (!l->opt->router_exit_node || l->node)
		return;
	r = exit_node_start(&l->node, l->nl, l->journal, l->opt->interface, l->opt->egress_interface, exit_ipv6(l),
			    l->opt->exit_node_allow_lan, err, sizeof(err));
	if (r) {
		fail(l, 1, "exit node: %s", err);
		return;
	}
	check_node(l);
}

/* ---- events ------------------------------------------------------------- */

static void on_self(struct loop *l)
{
	if (subscription_on_self(&l->sub, &l->m.self)) {
		log_info("exit client: subscription turned %s on the API server", l->sub.wanted ? "on" : "off");
		subscription_save(l->cfg.state->dir, &l->sub);
	}
}

static void log_endpoints(const struct mesh_model *m)
{
	for (size_t i = 0; i < m->n_eps; i++) {
		char text[ADDR_ENDPOINT_STRLEN];
		addr_endpoint_format(&m->eps[i].addr, text);
		log_info("endpoint (%s): %s", api_endpoint_source_name(m->eps[i].source), text);
	}
}

/* `exit-node enable` must name something that exists: an approved exit
 * node of the organization, and every item of --exit-node one of them.
 * Refused (nothing changed, the reason to nexctl): true. */
static bool refuse_subscription(struct loop *l, const struct exit_prefs *prefs, uint64_t gen)
{
	struct desired_input in = {
		.m = &l->m,
		.self_key = l->cfg.state->public_key,
		.sub = &l->sub,
	};
	struct exit_candidate c[64];
	char why[512] = "";
	size_t n;

	if (!l->m.registered || !l->m.listed) {
		snprintf(why, sizeof(why), "the organization's devices are not known yet (%s); try again once "
			 "nexd is connected to the API server", l->m.api_state[0] ? l->m.api_state : "not registered");
	} else {
		n = desired_exit_candidates(&in, c, NULL, 64);
		if (n == 0) {
			size_t pending = 0;

			for (size_t i = 0; i < l->m.mesh.n_devices; i++)
				pending += api_device_exit_pending(&l->m.mesh.devices[i]);
			snprintf(why, sizeof(why), "the organization has no approved exit node%s", pending ?
				 " (one waits for approval: nexctl device approve ID)" : "");
		} else if (prefs->n) {
			exit_prefs_check(prefs, c, n, why, sizeof(why));
		}
	}
	if (!why[0])
		return false;
	log_warn("exit client: enable refused: %s", why);
	status_refuse(l->cfg.board, gen, why);
	return true;
}

static void handle(struct loop *l, struct event *e)
{
	struct path_peer *p;
	unsigned ch = 0;

	switch (e->type) {
	case EV_REGISTERED:
		snprintf(l->token, sizeof(l->token), "%s", e->u.registered.token);
		ch = model_set_registered(&l->m, &e->u.registered.self);
		if (!l->dev)
			bring_up(l);
		break;
	case EV_TOKEN:
		snprintf(l->token, sizeof(l->token), "%s", e->u.token.token);
		break;
	case EV_ORG:
		ch = model_set_org(&l->m, &e->u.org);
		on_org(l);
		break;
	case EV_MESH_LIST:
		ch = model_apply_list(&l->m, &e->u.list);
		break;
	case EV_MESH_EVENTS:
		ch = model_apply_watch(&l->m, &e->u.watch);
		if (ch & MODEL_SELF_DELETED) {
			/* apisync forgets the registration (deleted()) */
			fail(l, NEXD_EXIT_DELETED, "this device was deleted on the API server; removing everything "
			     "it installed and exiting");
		}
		break;
	case EV_API_STATE:
		ch = model_set_api_state(&l->m, e->u.api.connected, e->u.api.text);
		if ((ch & MODEL_API) && e->u.api.connected)
			log_info("api: %s", e->u.api.text);
		else if (ch & MODEL_API)
			log_warn("api: %s", e->u.api.text);
		break;
	case EV_ENDPOINTS:
		ch = model_set_endpoints(&l->m, &e->u.endpoints);
		if (ch & MODEL_ENDPOINTS)
			log_endpoints(&l->m);
		break;
	case EV_OOB:
		ch = model_set_oob(&l->m, &e->u.oob);
		break;
	case EV_HEALTH:
		break;
	case EV_CONTROL:
		if (e->u.control.on && refuse_subscription(l, &e->u.control.prefs, e->u.control.gen))
			break;
		l->sub.wanted = e->u.control.on;
		l->sub.pushed = false;
		if (e->u.control.on)
			l->sub.prefs = e->u.control.prefs;
		subscription_save(l->cfg.state->dir, &l->sub);
		log_info("exit client: subscription turned %s (nexctl)", e->u.control.on ? "on" : "off");
		l->acked = e->u.control.gen;
		break;
	case EV_REPORTED:
		if (e->u.reported.has_client &&
		    subscription_on_pushed(&l->sub, e->u.reported.client, e->u.reported.revision))
			subscription_save(l->cfg.state->dir, &l->sub);
		break;
	case EV_FATAL:
		fail(l, e->u.fatal.status, "%s", e->u.fatal.msg);
		break;
	case EV_RELAYS:
		ch = model_set_relays(&l->m, &e->u.relays);
		if (l->cfg.relay)
			relay_set_servers(l->cfg.relay, &l->m.relays);
		break;
	case EV_RELAY:
		ch = model_set_relay(&l->m, &e->u.relay);
		break;
	case EV_PROBE:
		p = path_table_find(&l->paths, e->u.probe.key);
		if (p) {
			p->probe_ok_ns = time_now_ns();
			p->probe_ep = e->u.probe.from;
		}
		break;
	}
	if (ch & MODEL_SELF)
		on_self(l);
	if (ch & (MODEL_MESH | MODEL_REGISTERED | MODEL_REFLEXIVE | MODEL_ORG | MODEL_RELAY))
		l->wg_dirty = true;
	if (ch & (MODEL_MESH | MODEL_REGISTERED))
		l->peers_dirty = true;
	event_release(e);
}

/* ---- reconcile ---------------------------------------------------------- */

/* One line per peer changed; the devices and the peers before by key, so
 * that a change of every peer costs O(n) (issue 15). */
static void log_change(const struct loop *l, const struct wg_config *c, const struct wg_device_info *before)
{
	const struct api_device_list *mesh = &l->m.mesh;
	struct keyindex devs, had;

	keyindex_init(&devs, sizeof(*mesh->devices), offsetof(struct api_device, public_key), 32);
	keyindex_init(&had, sizeof(struct wg_peer_info), offsetof(struct wg_peer_info, public_key), 32);
	/* short of memory they scan */
	(void)keyindex_build(&devs, mesh->devices, mesh->n_devices);
	(void)keyindex_build(&had, before ? before->peers : NULL, before ? before->n_peers : 0);
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct wg_peer_config *p = &c->peers[i];
		char pub[KEY_B64_LEN + 1];
		size_t at;
		const struct api_device *d = keyindex_find(&devs, p->public_key, &at) ? &mesh->devices[at] : NULL;
		bool existed = keyindex_find(&had, p->public_key, &at);

		key_to_base64(pub, p->public_key);
		log_info("peer %s (%.8s...) %s", d ? d->hostname : "?", pub,
			 p->remove ? "removed" : existed ? "updated" : "added");
	}
	keyindex_release(&devs);
	keyindex_release(&had);
}

/* The WireGuard side: plan against the running interface and apply the
 * difference, when the desired peers moved (or an event asks). */
static void converge_wg(struct loop *l, const struct desired *d)
{
	struct wg_device_info *info = NULL;
	struct wg_config c;
	bool changed;
	int r;

	if (!l->wg_dirty && d->n_peers == l->n_applied &&
	    (!d->n_peers || !memcmp(d->peers, l->applied, d->n_peers * sizeof(d->peers[0]))))
		return;
	for (size_t i = 0; i < l->paths.n; i++) {
		struct wg_peer_config gone = { .remove = true };
		struct wg_config c1 = { .n_peers = 1, .peers = &gone };

		if (!l->paths.peers[i].recreate)
			continue;
		l->paths.peers[i].recreate = false;
		memcpy(gone.public_key, l->paths.peers[i].key, 32);
		(void)l->cfg.drv->apply(l->dev, &c1); /* the plan below adds it back */
	}
	r = l->cfg.drv->get(l->dev, &info);
	if (r) {
		log_error("cannot read %s: %s", l->opt->interface, strerror(-r));
		return;
	}
	r = converge_plan(&l->m.mesh_self, d->peers, d->n_peers, info, &l->memory, &c, &changed);
	if (r) {
		log_error("cannot plan the mesh: %s", strerror(-r));
		goto out;
	}
	if (changed) {
		log_change(l, &c, info);
		r = l->cfg.drv->apply(l->dev, &c);
		if (r)
			log_error("cannot apply the mesh to %s: %s", l->opt->interface, strerror(-r));
	}
	wg_config_release(&c);
	if (r == 0) {
		struct mesh_peer *copy = malloc((d->n_peers + 1) * sizeof(*copy));
		if (copy) {
			memcpy(copy, d->peers, d->n_peers * sizeof(*copy));
			free(l->applied);
			l->applied = copy;
			l->n_applied = d->n_peers;
			l->wg_dirty = false;
		}
	}
out:
	wg_device_info_free(info);
}

static void set_probes(struct loop *l, const struct desired *d)
{
	struct health_target *copy;

	if (!l->health)
		return;
	if (d->n_targets == l->n_probed &&
	    (!d->n_targets || !memcmp(d->targets, l->probed, d->n_targets * sizeof(d->targets[0]))))
		return;
	if (health_set_targets(l->health, d->targets, d->n_targets))
		return;
	copy = malloc((d->n_targets + 1) * sizeof(*copy));
	if (!copy)
		return;
	memcpy(copy, d->targets, d->n_targets * sizeof(*copy));
	free(l->probed);
	l->probed = copy;
	l->n_probed = d->n_targets;
}

/* A rootless exit node's line in its record (there is no firewall of ours
 * to check: it forwards nothing, it re-dials). */
#define PROXY_EXIT_STATUS "exit node: forwarding (rootless, from this host's sockets)"

static bool advertises(const struct api_device *d, int family)
{
	for (size_t i = 0; i < d->n_advertise_cidrs; i++)
		if (d->advertise_cidrs[i].family == family && d->advertise_cidrs[i].prefix == 0)
			return true;
	return false;
}

/* What our record should say where it does not say it yet. */
static void want_report(struct loop *l, const struct desired *d)
{
	const struct api_device *self = &l->m.self;
	struct report_fields f;

	memset(&f, 0, sizeof(f));
	if (l->m.registered) {
		snprintf(f.device_id, sizeof(f.device_id), "%s", self->id);
		snprintf(f.token, sizeof(f.token), "%s", l->token);
		struct api_endpoint eps[EV_MAX_ENDPOINTS + 1];
		size_t n = model_our_endpoints(&l->m, eps);

		if (l->m.endpoints_known && !model_endpoints_equal(eps, n, self->endpoints, self->n_endpoints)) {
			f.has_endpoints = true;
			memcpy(f.eps, eps, n * sizeof(eps[0]));
			f.n_eps = n;
		}
		if (d->known_role &&
		    (advertises(self, AF_INET) != d->advertise4 || advertises(self, AF_INET6) != d->advertise6)) {
			f.has_advertise = true;
			f.advertise4 = d->advertise4;
			f.advertise6 = d->advertise6;
		}
		if (!l->opt->router_exit_node && l->dev && strcmp(self->exit_node_status, l->exit_status)) {
			f.has_status = true;
			snprintf(f.status, sizeof(f.status), "%s", l->exit_status);
		}
		if (l->px && l->opt->router_exit_node && strcmp(self->exit_node_status, PROXY_EXIT_STATUS)) {
			f.has_status = true;
			snprintf(f.status, sizeof(f.status), "%s", PROXY_EXIT_STATUS);
		}
		if (l->node) {
			char st[sizeof(f.status)];

			exit_node_status(l->node, st, sizeof(st));
			if (strcmp(self->exit_node_status, st)) {
				f.has_status = true;
				snprintf(f.status, sizeof(f.status), "%s", st);
			}
		}
		if (!l->opt->router_exit_node && !l->sub.pushed) {
			f.has_client = true;
			f.client = l->sub.wanted;
		}
	}
	report_want(l->cfg.report, &f);
	explicit_bzero(&f, sizeof(f));
}

static void format_ip(int family, const uint8_t *ip, char *out, size_t len)
{
	if (!inet_ntop(family, ip, out, (socklen_t)len))
		snprintf(out, len, "-");
}

static void publish(struct loop *l, const struct desired_input *in)
{
	struct exit_candidate c[64];
	const struct api_device *dev[64];
	struct status_view v;
	uint8_t current[32];
	bool has_current = l->xc && exit_client_installed(l->xc) && exit_client_current(l->xc, current);
	struct path_peer *pp;
	size_t n;

	memset(&v, 0, sizeof(v));
	if (l->m.registered) {
		snprintf(v.device_id, sizeof(v.device_id), "%s", l->m.self.id);
		snprintf(v.organization, sizeof(v.organization), "%s", l->m.self.organization);
		format_ip(l->m.self.tunnel_family, l->m.self.tunnel_ip, v.tunnel_ip, sizeof(v.tunnel_ip));
	}
	v.up = l->dev != NULL;
	v.api_connected = l->m.api_connected;
	snprintf(v.api_state, sizeof(v.api_state), "%s", l->m.api_state);
	memcpy(v.eps, l->m.eps, sizeof(v.eps));
	v.n_eps = l->m.n_eps;
	v.has_reflexive = l->m.mesh_self.has_reflexive;
	v.reflexive = l->m.mesh_self.reflexive_ep;
	snprintf(v.exit_status, sizeof(v.exit_status), "%s", l->exit_status);
	v.exit_switches = exit_client_switches(l->xc);
	v.sub_wanted = l->sub.wanted;
	snprintf(v.warnings, sizeof(v.warnings), "%s", l->warnings);
	snprintf(v.relay_status, sizeof(v.relay_status), "%s", l->m.relay.status);
	if (l->m.relay.allocated)
		addr_endpoint_format(&l->m.relay.relayed, v.relay_endpoint);
	n = desired_exit_candidates(in, c, dev, 64);
	v.exits = calloc(n + l->m.mesh.n_devices + 1, sizeof(*v.exits));
	for (size_t i = 0; v.exits && i < n; i++) {
		struct status_exit *x = &v.exits[v.n_exits++];
		memcpy(x->key, c[i].public_key, 32);
		snprintf(x->id, sizeof(x->id), "%s", c[i].id);
		x->approved = true;
		snprintf(x->hostname, sizeof(x->hostname), "%s", c[i].hostname);
		format_ip(c[i].family, c[i].tunnel_ip, x->tunnel_ip, sizeof(x->tunnel_ip));
		if (dev[i]->n_endpoints)
			addr_endpoint_format(&dev[i]->endpoints[0].addr, x->endpoint);
		x->ipv6 = api_device_exit_v6(dev[i]);
		x->in_use = has_current && !memcmp(current, c[i].public_key, 32);
		x->reachable = c[i].reachable;
		x->measured = c[i].measured;
		x->latency_us = c[i].latency_us;
	}
	/* those that wait for approval, marked, never used */
	for (size_t i = 0; v.exits && i < l->m.mesh.n_devices; i++) {
		const struct api_device *d = &l->m.mesh.devices[i];
		struct status_exit *x;

		if (!api_device_exit_pending(d) || !memcmp(d->public_key, l->cfg.state->public_key, 32))
			continue;
		x = &v.exits[v.n_exits++];
		memcpy(x->key, d->public_key, 32);
		snprintf(x->id, sizeof(x->id), "%s", d->id);
		snprintf(x->hostname, sizeof(x->hostname), "%s", d->hostname);
		format_ip(d->tunnel_family, d->tunnel_ip, x->tunnel_ip, sizeof(x->tunnel_ip));
		if (d->n_endpoints)
			addr_endpoint_format(&d->endpoints[0].addr, x->endpoint);
	}
	if (l->peers_dirty) {
		v.peers = calloc(l->m.mesh.n_devices + 1, sizeof(*v.peers));
		for (size_t i = 0; v.peers && i < l->m.mesh.n_devices; i++) {
			const struct api_device *d = &l->m.mesh.devices[i];
			struct status_peer *p = &v.peers[v.n_peers++];
			memcpy(p->key, d->public_key, 32);
			snprintf(p->hostname, sizeof(p->hostname), "%s", d->hostname);
			snprintf(p->id, sizeof(p->id), "%s", d->id);
			format_ip(d->tunnel_family, d->tunnel_ip, p->tunnel_ip, sizeof(p->tunnel_ip));
			pp = path_table_find(&l->paths, d->public_key);
			snprintf(p->path, sizeof(p->path), "%s", pp ? path_name(pp->st.kind) : "direct");
		}
		l->peers_dirty = v.peers == NULL;
	}
	status_publish(l->cfg.board, &v, v.peers != NULL);
	status_view_release(&v);
}

static bool path_endpoint(void *ctx, const uint8_t key[32], union sockaddr_any *out)
{
	struct loop *l = ctx;
	struct path_peer *p = path_table_find(&l->paths, key);
	const union sockaddr_any *local;

	if (!p)
		return false;
	if (p->st.kind == PATH_RELAY && (local = model_relay_path(&l->m, key))) {
		*out = *local;
		return true;
	}
	if (p->st.kind == PATH_DIRECT && p->st.has_direct_ep) {
		*out = p->st.direct_ep;
		return true;
	}
	return false;
}

/* Each peer's path (path.h), and the connectivity checks of the relayed
 * ones' direct candidates. */
static void step_paths(struct loop *l, uint64_t now)
{
	struct discovery_check *checks = calloc(l->m.mesh.n_devices + 1, sizeof(*checks));
	size_t n_checks = 0;

	path_table_begin(&l->paths);
	for (size_t i = 0; i < l->m.mesh.n_devices; i++) {
		const struct api_device *d = &l->m.mesh.devices[i];
		struct path_peer *p;
		struct path_input in = { .now_ns = now };
		struct health_result h = { 0 };
		char why[160];

		if (!memcmp(d->public_key, l->cfg.state->public_key, 32) || (l->m.registered && !strcmp(d->id, l->m.self.id)))
			continue;
		p = path_table_see(&l->paths, d->public_key, now);
		if (!p)
			continue;
		in.relay_ready = model_relay_endpoint(d) && model_relay_path(&l->m, d->public_key);
		if (l->health && health_get(l->health, d->public_key, &h)) {
			in.reachable = h.reachable;
			in.last_reply_ns = h.last_reply_ns;
		}
		in.probe_ok_ns = p->probe_ok_ns;
		in.probe_ep = p->probe_ep;
		/* relayed, and silent: is our allocation still there? */
		if (p->st.kind == PATH_RELAY && in.relay_ready && !in.reachable && l->cfg.relay &&
		    now - (in.last_reply_ns > p->st.since_ns ? in.last_reply_ns : p->st.since_ns) >
			    PATH_DIRECT_GRACE_MS * NSEC_PER_MSEC)
			relay_check(l->cfg.relay);
		if (path_step(&p->st, &in, why, sizeof(why))) {
			log_info("peer %s: path %s (%s)", d->hostname, path_name(p->st.kind), why);
			/* WireGuard waits 5 s (REKEY_TIMEOUT) before it repeats an
			 * initiation that went nowhere; a peer that never answered
			 * is made anew so that its first packet on the new path
			 * starts a handshake at once. */
			p->recreate = !in.last_reply_ns;
			l->wg_dirty = true;
			l->peers_dirty = true;
		}
		if (checks && p->st.kind == PATH_RELAY) {
			struct discovery_check *c = &checks[n_checks];
			for (size_t e = 0; e < d->n_endpoints && c->n < 2; e++)
				if (d->endpoints[e].source != API_ENDPOINT_RELAY)
					c->eps[c->n++] = d->endpoints[e].addr;
			memcpy(c->key, d->public_key, 32);
			if (c->n)
				n_checks++;
		}
	}
	path_table_end(&l->paths);
	if (checks && l->dev)
		discovery_set_checks(l->cfg.discovery, checks, n_checks);
	free(checks);
}

/* The relay's channels: to every peer with a relay endpoint. */
static void want_channels(struct loop *l, const struct desired *d)
{
	struct relay_peer *p;

	if (!l->cfg.relay)
		return;
	p = calloc(d->n_relays + 1, sizeof(*p));
	if (!p)
		return;
	for (size_t i = 0; i < d->n_relays; i++) {
		memcpy(p[i].key, d->relays[i].key, 32);
		p[i].relayed = d->relays[i].relayed;
	}
	relay_set_peers(l->cfg.relay, p, d->n_relays);
	free(p);
}

static void reconcile(struct loop *l)
{
	struct desired_input in = {
		.m = &l->m,
		.self_key = l->cfg.state->public_key,
		.sub = &l->sub,
		.health = health_view,
		.health_ctx = l,
		.path = path_endpoint,
		.path_ctx = l,
		.up = l->dev != NULL,
		.router_exit_node = l->opt->router_exit_node,
		.host_ipv6_default = l->host_ipv6_default,
		.now_ns = time_now_ns(),
	};
	struct desired d;
	unsigned done = 0;
	char status[160];

	if (l->xc) {
		in.exit_installed = exit_client_installed(l->xc);
		in.has_current = exit_client_current(l->xc, in.current);
	}
	step_paths(l, in.now_ns);
	if (l->node && in.now_ns >= l->node_check_ns)
		check_node(l);
	if (desired_build(&in, &d)) {
		log_error("out of memory planning the mesh");
		return;
	}
	if (l->xc) {
		struct exit_client_input xi = {
			.x = &d.exit,
			.oob = l->m.oob_known ? &l->m.oob : NULL,
			.mesh4 = l->m.prefix,
			.has_mesh6 = l->m.has_prefix6,
			.mesh6 = l->m.prefix6,
			.routes_changed = l->routes_changed,
			.now_ns = in.now_ns,
		};
		done = exit_client_step(l->xc, &xi);
		l->routes_changed = false;
		if (done & EXIT_CLIENT_ROUTING) {
			/* before anything asks the API server again: the connections
			 * in use may live on routing that is gone */
			apisync_redial(l->cfg.apisync);
			report_redial(l->cfg.report);
			discovery_kick(l->cfg.discovery); /* the local endpoint, checked again */
		}
		if (exit_client_installed(l->xc) != in.exit_installed) {
			/* the default routes go onto the exit node's peer, or off it */
			desired_release(&d);
			in.exit_installed = exit_client_installed(l->xc);
			in.has_current = exit_client_current(l->xc, in.current);
			if (desired_build(&in, &d)) {
				log_error("out of memory planning the mesh");
				return;
			}
		}
		desired_exit_status(l->sub.wanted && !l->opt->router_exit_node, exit_client_installed(l->xc),
				    exit_client_error(l->xc), &d.exit, status, sizeof(status));
		if (strcmp(status, l->exit_status))
			/* traffic blocked, or an error: a warning (journalctl -p warning) */
			log_msg(strstr(status, "traffic blocked") || !strncmp(status, "error", 5) ||
					!strncmp(status, "waiting", 7) ? LOG_LEVEL_WARN : LOG_LEVEL_INFO,
				"exit client: %s", status);
		snprintf(l->exit_status, sizeof(l->exit_status), "%s", status);
		if (l->px) {
			uint8_t cur[32];
			bool via = exit_client_installed(l->xc) && exit_client_current(l->xc, cur);

			if (via != l->via_exit) {
				proxy_set_exit(l->px, via);
				l->via_exit = via;
			}
		}
	}
	if (l->dev && l->m.listed) {
		converge_wg(l, &d);
		set_probes(l, &d);
	}
	want_channels(l, &d);
	want_report(l, &d);
	publish(l, &in);
	desired_release(&d);
	if (l->acked) {
		status_ack(l->cfg.board, l->acked);
		l->acked = 0;
	}
}

/* ---- the loop ----------------------------------------------------------- */

void loop_attach_workers(struct loop *l, struct apisync *apisync, struct report *report, struct discovery *discovery,
			 struct relay *relay)
{
	l->cfg.apisync = apisync;
	l->cfg.report = report;
	l->cfg.discovery = discovery;
	l->cfg.relay = relay;
	if (l->dev)                           /* nexd proxy: made in loop_new */
		discovery_attach(discovery, l->cfg.drv, l->dev);
}

int loop_run(struct loop *l)
{
	uint64_t next_tick = time_now_ns();

	while (!atomic_load(l->cfg.stopping) && !l->fatal) {
		struct pollfd p[4] = {
			{ .fd = evq_fd(l->cfg.q), .events = POLLIN },
			{ .fd = l->cfg.stop_fd, .events = POLLIN },
			{ .fd = l->mon ? nl_monitor_fd(l->mon) : -1, .events = POLLIN },
			{ .fd = l->dev ? l->cfg.drv->dead_fd(l->dev) : -1, .events = POLLIN },
		};
		uint64_t now = time_now_ns();
		int timeout = now >= next_tick ? 0 : (int)((next_tick - now) / NSEC_PER_MSEC) + 1;
		struct event e;
		bool work = false;

		if (poll(p, 4, timeout) < 0 && errno != EINTR)
			break;
		if (atomic_load(l->cfg.stopping))
			break;
		if (p[3].revents & POLLIN) {
			fail(l, 1, "interface %s was deleted; stopping", l->opt->interface);
			break;
		}
		if (p[2].revents & POLLIN) {
			unsigned ev = 0;

			nl_monitor_drain(l->mon, &ev);
			if (ev & (NL_EVENT_ROUTE | NL_EVENT_LINK)) {
				l->routes_changed = true;
				work = true;
			}
			if ((ev & NL_EVENT_LINK) && l->dev && !if_nametoindex(l->opt->interface)) {
				fail(l, 1, "interface %s was deleted; stopping", l->opt->interface);
				break;
			}
		}
		while (!l->fatal && evq_take(l->cfg.q, &e)) {
			handle(l, &e);
			work = true;
		}
		if (l->fatal)
			break;
		now = time_now_ns();
		if (now >= next_tick) {
			next_tick = now + LOOP_TICK_MS * NSEC_PER_MSEC;
			work = true;
		}
		if (work)
			reconcile(l);
	}
	return l->exit_code;
}

int loop_new(struct loop **out, const struct loop_config *cfg, char *err, size_t errlen)
{
	struct loop *l = calloc(1, sizeof(*l));
	struct nl_route def;
	int r;

	if (!l) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	path_table_init(&l->paths);
	l->cfg = *cfg;
	l->opt = cfg->opt;
	l->sub = cfg->sub;
	l->peers_dirty = true;
	snprintf(l->exit_status, sizeof(l->exit_status), "off");
	model_init(&l->m);
	if (l->opt->proxy) {
		/* no netlink, journal or host routes: the device at once, so
		 * that a rule's taken port fails the start */
		if (bring_up(l)) {
			snprintf(err, errlen, "%s", l->fatal_msg);
			r = -EINVAL;
			goto fail;
		}
		*out = l;
		return 0;
	}
	r = nl_open(&l->nl);
	if (!r)
		r = nl_monitor_open(&l->mon);
	if (r) {
		snprintf(err, errlen, "netlink: %s", strerror(-r));
		goto fail;
	}
	r = journal_open(&l->journal, cfg->state->dir, NULL);
	if (r) {
		snprintf(err, errlen, "cannot open the sysctl journal in %s: %s", cfg->state->dir, strerror(-r));
		goto fail;
	}
	/* IPv6 through an exit node needs IPv6 tunnel addresses on the mesh
	 * (the exit node routes the replies back by them): an exit node
	 * carries IPv6 when its host has an IPv6 default route and its
	 * organization an IPv6 prefix (known once registered). */
	if (l->opt->router_exit_node)
		l->host_ipv6_default = nl_route_get_default(l->nl, AF_INET6, &def) == 0;
	*out = l;
	return 0;
fail:
	loop_free(l);
	return r;
}

void loop_free(struct loop *l)
{
	if (!l)
		return;
	exit_client_free(l->xc);              /* tears the subscription down */
	if (l->px) {
		status_set_proxy(l->cfg.board, NULL);
		proxy_stop(l->px);                /* before the device: its endpoint */
	}
	if (l->node)
		exit_node_stop(l->node, l->journal);
	health_stop(l->health);
	if (l->dev) {
		/* The interface takes its addresses and routes with it; remove
		 * them first all the same so that nothing outlives us. */
		if (l->has_addr && l->nl)
			nl_addr_del(l->nl, l->ifindex, &l->addr);
		if (l->has_addr6 && l->nl)
			nl_addr_del(l->nl, l->ifindex, &l->addr6);
		status_set_interface(l->cfg.board, NULL, NULL, NULL);
		l->cfg.drv->destroy(l->dev);
		if (l->cfg.drv->remove_stale)
			recover_mark_link(l->cfg.state->dir, l->opt->interface, false);
		log_info("interface %s removed", l->opt->interface);
	}
	journal_close(l->journal);
	nl_monitor_close(l->mon);
	nl_close(l->nl);
	converge_memory_release(&l->memory);
	model_release(&l->m);
	free(l->applied);
	free(l->probed);
	path_table_release(&l->paths);
	explicit_bzero(l->token, sizeof(l->token));
	free(l);
}
