#include "nexd/desired.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define EXIT_CANDIDATES_MAX 64

bool desired_advertises_v6(const struct api_device *d)
{
	for (size_t i = 0; i < d->n_advertise_cidrs; i++)
		if (d->advertise_cidrs[i].family == AF_INET6 && d->advertise_cidrs[i].prefix == 0)
			return true;
	return false;
}

static bool is_self(const struct desired_input *in, const struct api_device *d)
{
	return (in->m->registered && !strcmp(d->id, in->m->self.id)) || !memcmp(d->public_key, in->self_key, 32);
}

size_t desired_exit_candidates(const struct desired_input *in, struct exit_candidate *c,
			       const struct api_device **dev, size_t cap)
{
	const struct mesh_model *m = in->m;
	size_t n = 0;

	for (size_t i = 0; i < m->mesh.n_devices && n < cap; i++) {
		const struct api_device *d = &m->mesh.devices[i];
		struct health_result h;

		if (!api_device_is_exit_node(d) || is_self(in, d))
			continue;
		memset(&c[n], 0, sizeof(c[n]));
		memcpy(c[n].public_key, d->public_key, 32);
		c[n].id = d->id;
		c[n].hostname = d->hostname;
		c[n].family = d->tunnel_family;
		memcpy(c[n].tunnel_ip, d->tunnel_ip, 16);
		if (in->health && in->health(in->health_ctx, d->public_key, &h)) {
			c[n].measured = h.has_latency;
			c[n].reachable = h.reachable;
			c[n].latency_us = h.latency_us;
			c[n].reachable_since_ns = h.reachable_since_ns;
		}
		if (dev)
			dev[n] = d;
		n++;
	}
	return n;
}

/* The exit node to use, and why it changes. */
static void choose_exit(const struct desired_input *in, struct desired_exit *x)
{
	struct exit_candidate c[EXIT_CANDIDATES_MAX];
	const struct api_device *dev[EXIT_CANDIDATES_MAX];
	int current = -1, pick;
	size_t n;

	memset(x, 0, sizeof(*x));
	x->wanted = !in->router_exit_node && in->sub->wanted && in->m->registered && in->up;
	n = desired_exit_candidates(in, c, dev, EXIT_CANDIDATES_MAX);
	for (size_t i = 0; in->has_current && i < n; i++)
		if (!memcmp(c[i].public_key, in->current, 32))
			current = (int)i;
	pick = x->wanted ? exit_choose(c, n, current, &in->sub->prefs, in->now_ns) : -1;
	if (pick >= 0) {
		x->has_pick = true;
		x->pick = c[pick];
		snprintf(x->pick_name, sizeof(x->pick_name), "%s", c[pick].hostname);
		x->pick.hostname = x->pick_name;
		x->pick_v6 = api_device_exit_v6(dev[pick]);
		if (current >= 0 && pick != current)
			snprintf(x->why, sizeof(x->why), "%.100s %s", c[current].hostname,
				 c[current].reachable ? "is slower or not preferred" : "stopped answering");
	}
	if (x->wanted && in->has_current && current < 0)
		snprintf(x->why, sizeof(x->why), "the exit node in use is gone");
}

static void host_prefix(struct cidr *out, int family, const uint8_t *ip)
{
	memset(out, 0, sizeof(*out));
	out->family = family;
	memcpy(out->addr, ip, family == AF_INET ? 4 : 16);
	out->prefix = family == AF_INET ? 32 : 128;
}

int desired_build(const struct desired_input *in, struct desired *out)
{
	const struct mesh_model *m = in->m;
	const struct desired_exit *x = &out->exit;
	size_t n_exit_targets = 0;

	memset(out, 0, sizeof(*out));
	choose_exit(in, &out->exit);
	out->known_role = m->has_org;
	out->advertise4 = in->router_exit_node;
	out->advertise6 = in->router_exit_node && m->has_prefix6 && in->host_ipv6_default;
	out->peers = calloc(m->mesh.n_devices + 1, sizeof(*out->peers));
	out->targets = calloc(m->mesh.n_devices + 1, sizeof(*out->targets));
	out->relays = calloc(m->mesh.n_devices + 1, sizeof(*out->relays));
	if (!out->peers || !out->targets || !out->relays) {
		desired_release(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->mesh.n_devices; i++) {
		const struct api_device *d = &m->mesh.devices[i];
		struct mesh_peer *p = &out->peers[out->n_peers];
		const union sockaddr_any *relayed = NULL;

		if (is_self(in, d))
			continue;
		memcpy(p->public_key, d->public_key, 32);
		host_prefix(&p->tunnel_ip, d->tunnel_family, d->tunnel_ip);
		if (d->has_tunnel_ip6 && d->tunnel_family == AF_INET)
			host_prefix(&p->extra[p->n_extra++], AF_INET6, d->tunnel_ip6);
		for (size_t e = 0; e < d->n_endpoints; e++) {
			if (d->endpoints[e].source == API_ENDPOINT_LOCAL && !p->has_local) {
				p->local_ep = d->endpoints[e].addr;
				p->has_local = true;
			} else if (d->endpoints[e].source == API_ENDPOINT_STUN && !p->has_reflexive) {
				p->reflexive_ep = d->endpoints[e].addr;
				p->has_reflexive = true;
			} else if (d->endpoints[e].source == API_ENDPOINT_RELAY && !relayed) {
				relayed = &d->endpoints[e].addr;
			}
		}
		if (relayed) {
			memcpy(out->relays[out->n_relays].key, d->public_key, 32);
			out->relays[out->n_relays++].relayed = *relayed;
		}
		if (in->path)
			p->has_path_ep = in->path(in->path_ctx, d->public_key, &p->path_ep);
		p->exit_node = api_device_is_exit_node(d);
		if (in->exit_installed && x->has_pick && !memcmp(d->public_key, x->pick.public_key, 32)) {
			cidr_parse("0.0.0.0/0", &p->extra[p->n_extra++]);
			if (x->pick_v6)
				cidr_parse("::/0", &p->extra[p->n_extra++]);
		}
		if (d->tunnel_family == AF_INET) {
			struct health_target *t = &out->targets[out->n_targets++];
			memcpy(t->public_key, d->public_key, 32);
			memcpy(t->ip, d->tunnel_ip, 4);
			if (p->exit_node && out->n_targets - 1 > n_exit_targets) {
				/* exit nodes first: failover needs them probed even when
				 * the organization has more peers than the prober takes */
				struct health_target tmp = out->targets[n_exit_targets];
				out->targets[n_exit_targets] = *t;
				*t = tmp;
			}
			if (p->exit_node)
				n_exit_targets++;
		}
		out->n_peers++;
	}
	if (out->n_targets > HEALTH_MAX_TARGETS)
		out->n_targets = HEALTH_MAX_TARGETS;
	return 0;
}

void desired_release(struct desired *d)
{
	free(d->peers);
	free(d->targets);
	free(d->relays);
	d->peers = NULL;
	d->targets = NULL;
	d->relays = NULL;
	d->n_peers = d->n_targets = d->n_relays = 0;
}

void desired_exit_status(bool sub_wanted, bool installed, const char *err, const struct desired_exit *e,
			 char *out, size_t len)
{
	if (!sub_wanted)
		snprintf(out, len, "off");
	else if (!installed && err && err[0])
		snprintf(out, len, "error: %.140s", err);
	else if (!installed)
		snprintf(out, len, "starting");
	else if (!e->has_pick)
		snprintf(out, len, "waiting for an exit node");
	else if (!e->pick.reachable && e->pick.measured)
		snprintf(out, len, "%.100s does not answer; traffic blocked", e->pick.hostname);
	else {
		char ip[INET6_ADDRSTRLEN] = "";
		inet_ntop(e->pick.family, e->pick.tunnel_ip, ip, sizeof(ip));
		snprintf(out, len, "using %.100s (%s)", e->pick.hostname, ip);
	}
}
