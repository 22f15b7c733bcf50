/* The API sync thread: register (or check the stored registration), learn
 * the organization's prefix, install the tunnel address and mesh route,
 * then list the organization's devices and follow them with watch,
 * converging the interface on every change. Outages of the API server
 * change nothing on the data plane: the thread backs off and relists. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/key.h"
#include "common/log.h"
#include "common/version.h"
#include "nexd/agent_priv.h"
#include "nexd/exit_client.h"
#include "nexd/health.h"
#include "nexd/netlink.h"
#include "wg/wg.h"

#define SYNC_BACKOFF_MIN_MS 1000
#define SYNC_BACKOFF_MAX_MS 30000
#define SYNC_WATCH_TIMEOUT_S 25

enum sync_result { SYNC_OK = 0, SYNC_RETRY, SYNC_FATAL, SYNC_REREGISTER };

static void set_api_state(struct agent *a, bool connected, const char *text)
{
	pthread_mutex_lock(&a->lock);
	if (a->api_connected != connected || strcmp(a->api_state, text)) {
		if (connected)
			log_info("api: %s", text);
		else
			log_warn("api: %s", text);
	}
	a->api_connected = connected;
	snprintf(a->api_state, sizeof(a->api_state), "%s", text);
	pthread_mutex_unlock(&a->lock);
}

/* Transport trouble and server errors are retried; what cannot get better
 * by waiting (a rejected key, an untrusted certificate, a refused request)
 * is fatal. */
static enum sync_result classify(struct agent *a, struct api_client *c, int r, const char *what)
{
	char text[256];

	snprintf(text, sizeof(text), "%s: %s", what, api_client_error(c));
	switch (r) {
	case -EKEYREJECTED:
		agent_fail(a, 1, "%s (is --ca-cert right?)", text);
		return SYNC_FATAL;
	case -EACCES:
	case -ENOENT:
		return SYNC_REREGISTER;
	case -EINVAL:
	case -EPERM:
		agent_fail(a, 1, "%s", text);
		return SYNC_FATAL;
	default:
		set_api_state(a, false, text);
		return SYNC_RETRY;
	}
}

static size_t copy_endpoints(struct agent *a, struct api_endpoint *out)
{
	size_t n;

	pthread_mutex_lock(&a->lock);
	n = a->n_endpoints;
	memcpy(out, a->endpoints, n * sizeof(*out));
	pthread_mutex_unlock(&a->lock);
	return n;
}

static enum sync_result do_register(struct agent *a, struct api_client *c)
{
	struct api_endpoint eps[AGENT_MAX_ENDPOINTS];
	struct api_registration reg = { 0 };
	struct api_device dev = { 0 };
	struct cidr default_routes[2];
	char pub[KEY_B64_LEN + 1];
	char *token = NULL;
	int r;

	if (!a->opt.reg_key) {
		agent_fail(a, 1, "the device token was rejected and no --reg-key was given to register again");
		return SYNC_FATAL;
	}
	cidr_parse("0.0.0.0/0", &default_routes[0]);
	cidr_parse("::/0", &default_routes[1]);
	key_to_base64(pub, a->state.public_key);
	reg.public_key = pub;
	reg.hostname = a->hostname;
	reg.os = "linux";
	reg.version = NEXODUS_VERSION;
	reg.n_endpoints = copy_endpoints(a, eps);
	reg.endpoints = eps;
	if (a->opt.router_exit_node) {
		reg.advertise_cidrs = default_routes;
		reg.n_advertise_cidrs = a->exit_ipv6 ? 2 : 1;
	}
	if (api_client_set_token(c, a->opt.reg_key)) {
		agent_fail(a, 1, "the registration key has characters a token cannot have");
		return SYNC_FATAL;
	}
	r = api_device_register(c, &reg, &dev, &token);
	if (r == -EACCES || r == -ENOENT) {
		agent_fail(a, 1, "registration refused: %s", api_client_error(c));
		return SYNC_FATAL;
	}
	if (r)
		return classify(a, c, r, "registration");
	r = state_save_registration(&a->state, dev.id, token, a->opt.service_url);
	if (r) {
		agent_fail(a, 1, "cannot save the registration in %s: %s", a->state.dir, strerror(-r));
		goto out;
	}
	api_client_set_token(c, token);
	pthread_mutex_lock(&a->lock);
	api_device_free(&a->self);
	a->self = dev;
	memset(&dev, 0, sizeof(dev));
	a->registered = true;
	a->endpoints_published = reg.n_endpoints == a->n_endpoints &&
				 !memcmp(eps, a->endpoints, reg.n_endpoints * sizeof(eps[0]));
	pthread_mutex_unlock(&a->lock);
	log_info("registered as device %s in organization %s", a->self.id, a->self.organization);
out:
	if (token) {
		memset(token, 0, strlen(token));
		free(token);
	}
	api_device_free(&dev);
	return r ? SYNC_FATAL : SYNC_OK;
}

/* Uses the stored registration when it still holds, else registers. */
static enum sync_result ensure_registered(struct agent *a, struct api_client *c)
{
	struct api_device dev = { 0 };
	int r;

	if (!a->state.device_id[0] || strcmp(a->state.service_url, a->opt.service_url))
		return do_register(a, c);
	api_client_set_token(c, a->state.device_token);
	r = api_device_get(c, a->state.device_id, NULL, &dev);
	if (r == -EACCES || r == -ENOENT) {
		log_warn("the stored registration (device %s) is no longer valid: %s; registering again",
			 a->state.device_id, api_client_error(c));
		state_clear_registration(&a->state);
		return do_register(a, c);
	}
	if (r)
		return classify(a, c, r, "checking the registration");
	pthread_mutex_lock(&a->lock);
	api_device_free(&a->self);
	a->self = dev;
	a->registered = true;
	pthread_mutex_unlock(&a->lock);
	return SYNC_OK;
}

/* The device record must say what this device is: an exit node advertises
 * 0.0.0.0/0, any other device does not. */
static enum sync_result publish_role(struct agent *a, struct api_client *c)
{
	bool has4 = false, has6 = false;
	json_t *patch, *cidrs;
	int r;

	exit_on_self(a, &a->self);
	for (size_t i = 0; i < a->self.n_advertise_cidrs; i++) {
		const struct cidr *p = &a->self.advertise_cidrs[i];
		if (p->prefix == 0 && p->family == AF_INET)
			has4 = true;
		else if (p->prefix == 0)
			has6 = true;
	}
	if (has4 == a->opt.router_exit_node && has6 == (a->opt.router_exit_node && a->exit_ipv6))
		return SYNC_OK;
	cidrs = json_array();
	if (a->opt.router_exit_node)
		json_array_append_new(cidrs, json_string("0.0.0.0/0"));
	if (a->opt.router_exit_node && a->exit_ipv6)
		json_array_append_new(cidrs, json_string("::/0"));
	patch = json_pack("{s:o}", "advertise_cidrs", cidrs);
	r = api_device_patch(c, a->self.id, patch, NULL, NULL);
	json_decref(patch);
	if (r)
		return classify(a, c, r, "publishing the advertised prefixes");
	log_info("advertising %s", a->opt.router_exit_node ? (a->exit_ipv6 ? "0.0.0.0/0 and ::/0" : "0.0.0.0/0")
							     : "no default route");
	return SYNC_OK;
}

/* One tunnel address (a host prefix) on the interface and its mesh
 * prefix routed there; `old` is replaced when it differs. 0 or -errno. */
static int install_one(struct agent *a, const struct cidr *addr, const struct cidr *prefix, const struct cidr *old,
		       bool had_old)
{
	struct nl_route route = { 0 };
	char at[ADDR_CIDR_STRLEN], pt[ADDR_CIDR_STRLEN];
	int r;

	cidr_format(addr, at);
	cidr_format(prefix, pt);
	pthread_mutex_lock(&a->nl_lock);
	if (had_old && !cidr_equal(addr, old))
		nl_addr_del(a->nl, a->ifindex, old);
	r = nl_addr_add(a->nl, a->ifindex, addr);
	if (r && r != -EEXIST) {
		pthread_mutex_unlock(&a->nl_lock);
		agent_fail(a, 1, "cannot add the tunnel address %s to %s: %s", at, a->opt.interface, strerror(-r));
		return r;
	}
	route.dst = *prefix;
	route.table = RT_TABLE_MAIN;
	route.type = RTN_UNICAST;
	route.oif = a->ifindex;
	r = nl_route_add(a->nl, &route);
	pthread_mutex_unlock(&a->nl_lock);
	if (r == -EEXIST)
		log_warn("the mesh prefix %s is already routed elsewhere (another nexd in the same mesh on this "
			 "host?); traffic to it may not reach %s", pt, a->opt.interface);
	else if (r) {
		agent_fail(a, 1, "cannot route %s onto %s: %s", pt, a->opt.interface, strerror(-r));
		return r;
	}
	log_info("tunnel address %s on %s, mesh %s routed there", at, a->opt.interface, pt);
	return 0;
}

/* The organization's prefixes, then our addresses as host addresses and
 * the mesh prefixes routed onto the interface: IPv4, and IPv6 when the
 * organization has an IPv6 prefix (the device's IPv6 address is derived:
 * the prefix with the IPv4 address in its last 32 bits). */
static enum sync_result install_address(struct agent *a, struct api_client *c)
{
	struct cidr addr = { 0 }, prefix, addr6 = { 0 }, prefix6 = { 0 };
	bool has6 = false;
	json_t *org = NULL;
	const char *ptext, *p6text;
	int r;

	r = api_org_get(c, a->self.organization, &org);
	if (r)
		return classify(a, c, r, "reading the organization");
	ptext = json_string_value(json_object_get(org, "prefix"));
	p6text = json_string_value(json_object_get(org, "prefix6"));
	if (!ptext || cidr_parse(ptext, &prefix) || prefix.family != AF_INET ||
	    (p6text && (cidr_parse(p6text, &prefix6) || prefix6.family != AF_INET6 || prefix6.prefix > 96))) {
		json_decref(org);
		set_api_state(a, false, "the organization's prefix is missing or malformed");
		return SYNC_RETRY;
	}
	json_decref(org);
	cidr_normalize(&prefix);
	addr.family = a->self.tunnel_family;
	memcpy(addr.addr, a->self.tunnel_ip, 16);
	addr.prefix = addr.family == AF_INET ? 32 : 128;
	if (p6text && addr.family == AF_INET) {
		cidr_normalize(&prefix6);
		addr6 = prefix6;
		memcpy(addr6.addr + 12, addr.addr, 4);
		addr6.prefix = 128;
		has6 = true;
	}
	if (install_one(a, &addr, &prefix, &a->tunnel_addr, a->has_tunnel_addr))
		return SYNC_FATAL;
	if (has6 && install_one(a, &addr6, &prefix6, &a->tunnel_addr6, a->has_tunnel_addr6))
		return SYNC_FATAL;
	pthread_mutex_lock(&a->lock);
	a->tunnel_addr = addr;
	a->has_tunnel_addr = true;
	a->org_prefix = prefix;
	a->has_org_prefix = true;
	a->tunnel_addr6 = addr6;
	a->has_tunnel_addr6 = has6;
	a->org_prefix6 = prefix6;
	a->has_org_prefix6 = has6;
	a->exit_ipv6 = a->opt.router_exit_node && has6 && a->host_has_ipv6_default;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return SYNC_OK;
}

static void log_change(const struct agent *a, const struct wg_config *c, const struct wg_device_info *before)
{
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct wg_peer_config *p = &c->peers[i];
		const char *name = "?";
		char pub[KEY_B64_LEN + 1];
		bool existed = false;

		key_to_base64(pub, p->public_key);
		for (size_t j = 0; j < a->mesh.n_devices; j++)
			if (!memcmp(a->mesh.devices[j].public_key, p->public_key, 32))
				name = a->mesh.devices[j].hostname;
		for (size_t j = 0; before && j < before->n_peers; j++)
			if (!memcmp(before->peers[j].public_key, p->public_key, 32))
				existed = true;
		log_info("peer %s (%.8s...) %s", name, pub, p->remove ? "removed" : existed ? "updated" : "added");
	}
}

/* Computes the desired mesh from a->mesh and applies the difference.
 * Called with a->lock held. */
static void converge_locked(struct agent *a)
{
	struct mesh_peer *want = calloc(a->mesh.n_devices + 1, sizeof(*want));
	struct health_target *targets = calloc(a->mesh.n_devices + 1, sizeof(*targets));
	struct wg_device_info *info = NULL;
	struct wg_config c;
	size_t n = 0, nt = 0;
	bool changed;
	int r;

	if (!want || !targets || !a->up)
		goto out;
	for (size_t i = 0; i < a->mesh.n_devices; i++) {
		const struct api_device *d = &a->mesh.devices[i];
		struct mesh_peer *p = &want[n];

		if (!strcmp(d->id, a->self.id) || !memcmp(d->public_key, a->state.public_key, 32))
			continue;
		memcpy(p->public_key, d->public_key, 32);
		if (a->has_org_prefix6 && d->tunnel_family == AF_INET) {
			/* its IPv6 tunnel address, derived as ours is */
			struct cidr *t6 = &p->extra[p->n_extra++];
			*t6 = a->org_prefix6;
			memcpy(t6->addr + 12, d->tunnel_ip, 4);
			t6->prefix = 128;
		}
		p->tunnel_ip.family = d->tunnel_family;
		memcpy(p->tunnel_ip.addr, d->tunnel_ip, 16);
		p->tunnel_ip.prefix = d->tunnel_family == AF_INET ? 32 : 128;
		for (size_t e = 0; e < d->n_endpoints; e++) {
			if (d->endpoints[e].source == API_ENDPOINT_LOCAL && !p->has_local) {
				p->local_ep = d->endpoints[e].addr;
				p->has_local = true;
			} else if (d->endpoints[e].source == API_ENDPOINT_STUN && !p->has_reflexive) {
				p->reflexive_ep = d->endpoints[e].addr;
				p->has_reflexive = true;
			}
		}
		p->exit_node = api_device_is_exit_node(d);
		if (a->exit_active && a->has_exit_peer && !memcmp(d->public_key, a->exit_peer, 32)) {
			cidr_parse("0.0.0.0/0", &p->extra[p->n_extra++]);
			if (a->exit_peer_v6)
				cidr_parse("::/0", &p->extra[p->n_extra++]);
		}
		if (d->tunnel_family == AF_INET) {
			memcpy(targets[nt].public_key, d->public_key, 32);
			memcpy(targets[nt].ip, d->tunnel_ip, 4);
			nt++;
		}
		n++;
	}
	r = wg_device_get(a->dev, &info);
	if (r) {
		log_error("cannot read %s: %s", a->opt.interface, strerror(-r));
		goto out;
	}
	r = converge_plan(&a->mesh_self, want, n, info, &a->memory, &c, &changed);
	if (r) {
		log_error("cannot plan the mesh: %s", strerror(-r));
		goto out;
	}
	if (changed) {
		log_change(a, &c, info);
		r = wg_device_apply(a->dev, &c);
		if (r)
			log_error("cannot apply the mesh to %s: %s", a->opt.interface, strerror(-r));
	}
	wg_config_release(&c);
	if (a->health)
		health_set_targets(a->health, targets, nt);
out:
	wg_device_info_free(info);
	free(want);
	free(targets);
}

void sync_reconverge(struct agent *a)
{
	pthread_mutex_lock(&a->lock);
	if (a->registered)
		converge_locked(a);
	pthread_mutex_unlock(&a->lock);
}

/* Keeps our own record current from the mesh view: a shallow copy whose
 * arrays stay with the list (so they are not kept). Under a->lock. */
static struct api_device keep_self(struct agent *a, const struct api_device *d)
{
	api_device_free(&a->self);
	a->self = *d;
	a->self.endpoints = NULL;
	a->self.n_endpoints = 0;
	a->self.advertise_cidrs = NULL;
	a->self.n_advertise_cidrs = 0;
	return a->self;
}

static enum sync_result relist(struct agent *a, struct api_client *c, uint64_t *revision)
{
	struct api_device_list l = { 0 };
	int r = api_device_list(c, NULL, NULL, &l);

	if (r)
		return classify(a, c, r, "listing devices");
	struct api_device self_copy;
	bool self_seen = false;

	pthread_mutex_lock(&a->lock);
	api_device_list_free(&a->mesh);
	a->mesh = l;
	*revision = l.revision;
	for (size_t i = 0; i < l.n_devices; i++) {
		if (strcmp(l.devices[i].id, a->self.id))
			continue;
		self_copy = keep_self(a, &l.devices[i]);
		self_seen = true;
	}
	converge_locked(a);
	pthread_mutex_unlock(&a->lock);
	if (self_seen)
		exit_on_self(a, &self_copy);
	exit_wake(a);
	set_api_state(a, true, "connected");
	return SYNC_OK;
}

/* Applies watch events to the mesh view. Returns false when one of them
 * deleted this very device. */
static bool apply_events(struct agent *a, struct api_watch *w)
{
	bool self_deleted = false, self_seen = false;
	struct api_device self_copy;

	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < w->n_events; i++) {
		struct api_watch_event *e = &w->events[i];
		size_t j;

		for (j = 0; j < a->mesh.n_devices; j++)
			if (!strcmp(a->mesh.devices[j].id, e->device.id))
				break;
		if (e->type == API_WATCH_DELETE) {
			if (!strcmp(e->device.id, a->self.id))
				self_deleted = true;
			if (j < a->mesh.n_devices) {
				api_device_free(&a->mesh.devices[j]);
				a->mesh.devices[j] = a->mesh.devices[a->mesh.n_devices - 1];
				memset(&a->mesh.devices[a->mesh.n_devices - 1], 0, sizeof(struct api_device));
				a->mesh.n_devices--;
			}
			continue;
		}
		if (j == a->mesh.n_devices) {
			struct api_device *grown =
				realloc(a->mesh.devices, (a->mesh.n_devices + 1) * sizeof(struct api_device));
			if (!grown)
				continue;
			a->mesh.devices = grown;
			memset(&a->mesh.devices[j], 0, sizeof(struct api_device));
			a->mesh.n_devices++;
		}
		api_device_free(&a->mesh.devices[j]);
		a->mesh.devices[j] = e->device;
		memset(&e->device, 0, sizeof(e->device));
		if (!strcmp(a->mesh.devices[j].id, a->self.id)) {
			self_copy = keep_self(a, &a->mesh.devices[j]);
			self_seen = true;
		}
	}
	a->mesh.revision = w->revision;
	if (!self_deleted)
		converge_locked(a);
	pthread_mutex_unlock(&a->lock);
	if (self_seen)
		exit_on_self(a, &self_copy);
	exit_wake(a);
	return !self_deleted;
}

static enum sync_result watch_loop(struct agent *a, struct api_client *c, uint64_t revision)
{
	while (!agent_stopping(a)) {
		struct api_watch w = { 0 };
		int r = api_device_watch(c, revision, SYNC_WATCH_TIMEOUT_S, NULL, &w);

		if (agent_stopping(a))
			return SYNC_OK;
		if (r == -ESTALE || r == -ECANCELED)
			return SYNC_OK; /* relist (after a re-dial, on a new connection) */
		if (r)
			return classify(a, c, r, "watching devices");
		set_api_state(a, true, "connected");
		revision = w.revision;
		if (w.n_events && !apply_events(a, &w)) {
			api_watch_free(&w);
			agent_fail(a, 1, "this device was deleted from the API server; stopping");
			return SYNC_FATAL;
		}
		api_watch_free(&w);
	}
	return SYNC_OK;
}

/* The first discovery, before the interface exists: STUN from a socket
 * bound to the WireGuard port (the NAT keeps the same mapping for the
 * interface's socket later), so that the registration carries endpoints. */
static bool first_discovery(struct agent *a)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(a->opt.listen_port) };
	struct api_endpoint eps[AGENT_MAX_ENDPOINTS];
	union sockaddr_any refl;
	bool has_refl;
	size_t n;
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		agent_fail(a, 1, "socket: %s", strerror(errno));
		return false;
	}
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int e = errno;
		close(fd);
		if (e == EADDRINUSE)
			agent_fail(a, 1, "UDP port %u is already in use (see --listen-port)", a->opt.listen_port);
		else
			agent_fail(a, 1, "cannot bind UDP port %u: %s", a->opt.listen_port, strerror(e));
		return false;
	}
	n = endpoint_discover(a, fd, eps, &refl, &has_refl);
	close(fd);
	endpoint_record(a, eps, n, &refl, has_refl);
	return true;
}

void *sync_main(void *arg)
{
	struct agent *a = arg;
	struct api_client_config cfg = {
		.base_url = a->opt.service_url,
		.ca_file = a->opt.ca_cert,
		.connect_timeout_ms = 5000,
		.timeout_ms = 15000,
	};
	struct api_client *c = NULL;
	unsigned backoff = SYNC_BACKOFF_MIN_MS;
	bool have_registration = false, have_address = false, up = false;
	char err[512];
	int r;

	r = api_client_new(&cfg, &c);
	if (r) {
		agent_fail(a, 1, "cannot use --service-url %s: %s", a->opt.service_url, strerror(-r));
		return NULL;
	}
	api_client_set_abort(c, &a->stopping);
	agent_set_client(a, AGENT_CLIENT_SYNC, c);
	if (!first_discovery(a))
		goto out;
	while (!agent_stopping(a)) {
		enum sync_result s = SYNC_OK;
		uint64_t revision = 0;

		if (!have_registration) {
			s = ensure_registered(a, c);
			have_registration = s == SYNC_OK;
		}
		if (s == SYNC_OK && !up) {
			r = agent_bring_up(a, err, sizeof(err));
			if (r) {
				agent_fail(a, 1, "%s", err);
				break;
			}
			up = true;
		}
		if (s == SYNC_OK && !have_address) {
			s = install_address(a, c);
			if (s == SYNC_OK)
				s = publish_role(a, c);
			have_address = s == SYNC_OK;
		}
		if (s == SYNC_OK)
			s = relist(a, c, &revision);
		if (s == SYNC_OK) {
			backoff = SYNC_BACKOFF_MIN_MS;
			s = watch_loop(a, c, revision);
		}
		if (s == SYNC_FATAL || agent_stopping(a))
			break;
		if (s == SYNC_REREGISTER) {
			log_warn("api: the device token was rejected (%s); registering again", api_client_error(c));
			state_clear_registration(&a->state);
			have_registration = false;
			have_address = false;
			continue;
		}
		if (s == SYNC_RETRY) {
			agent_sleep(a, backoff);
			backoff = backoff * 2 > SYNC_BACKOFF_MAX_MS ? SYNC_BACKOFF_MAX_MS : backoff * 2;
		}
	}
out:
	agent_set_client(a, AGENT_CLIENT_SYNC, NULL);
	api_client_free(c);
	return NULL;
}
