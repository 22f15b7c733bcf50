#include "nexd/converge.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/key.h"
#include "nexd/keyindex.h"

static bool same_ip(const union sockaddr_any *a, const union sockaddr_any *b)
{
	union sockaddr_any x = *a, y = *b;

	addr_unmap(&x);
	addr_unmap(&y);
	if (x.sa.sa_family != y.sa.sa_family)
		return false;
	if (x.sa.sa_family == AF_INET)
		return x.in4.sin_addr.s_addr == y.in4.sin_addr.s_addr;
	if (x.sa.sa_family == AF_INET6)
		return !memcmp(&x.in6.sin6_addr, &y.in6.sin6_addr, 16);
	return false;
}

bool converge_pick_endpoint(const struct mesh_self *self, const struct mesh_peer *p, union sockaddr_any *out)
{
	if (p->has_path_ep) {
		*out = p->path_ep;
		return true;
	}
	if (p->has_local && (!p->has_reflexive ||
			     (self->has_reflexive && same_ip(&self->reflexive_ep, &p->reflexive_ep)))) {
		*out = p->local_ep;
		return true;
	}
	if (p->has_reflexive) {
		*out = p->reflexive_ep;
		return true;
	}
	return false;
}

void converge_memory_release(struct converge_memory *m)
{
	free(m->entries);
	m->entries = NULL;
	m->n = 0;
}

/* The allowed IPs of a desired peer, in a fixed order. */
static size_t desired_ips(const struct mesh_peer *p, struct cidr *out)
{
	size_t n = 0;

	out[n++] = p->tunnel_ip;
	for (size_t i = 0; i < p->n_extra && i < MESH_MAX_EXTRA_IPS; i++)
		out[n++] = p->extra[i];
	for (size_t i = 0; i < n; i++)
		cidr_normalize(&out[i]);
	return n;
}

static bool ips_equal(const struct cidr *want, size_t nw, const struct cidr *have, size_t nh)
{
	if (nw != nh)
		return false;
	for (size_t i = 0; i < nw; i++) {
		bool found = false;
		for (size_t j = 0; j < nh && !found; j++)
			found = cidr_equal(&want[i], &have[j]);
		if (!found)
			return false;
	}
	return true;
}

/* The desired peers, the running ones and the memory, by public key: one
 * lookup per peer in each instead of a scan (issue 15). Building them
 * cannot fail in a way that matters: short of memory they scan. */
struct plan_index {
	struct keyindex desired, running, memory;
};

static void plan_index_build(struct plan_index *x, const struct mesh_peer *desired, size_t n,
			     const struct wg_device_info *running, const struct converge_memory *mem)
{
	keyindex_init(&x->desired, sizeof(*desired), offsetof(struct mesh_peer, public_key), WG_KEY_SIZE);
	keyindex_init(&x->running, sizeof(struct wg_peer_info), offsetof(struct wg_peer_info, public_key),
		      WG_KEY_SIZE);
	keyindex_init(&x->memory, sizeof(*mem->entries), offsetof(typeof(*mem->entries), public_key), WG_KEY_SIZE);
	(void)keyindex_build(&x->desired, desired, n);
	(void)keyindex_build(&x->running, running ? running->peers : NULL, running ? running->n_peers : 0);
	(void)keyindex_build(&x->memory, mem->entries, mem->n);
}

static void plan_index_release(struct plan_index *x)
{
	keyindex_release(&x->desired);
	keyindex_release(&x->running);
	keyindex_release(&x->memory);
}

static const union sockaddr_any *memory_get(const struct plan_index *x, const struct converge_memory *m,
					    const uint8_t key[WG_KEY_SIZE])
{
	size_t i;

	return keyindex_find(&x->memory, key, &i) ? &m->entries[i].endpoint : NULL;
}

static const struct wg_peer_info *running_get(const struct plan_index *x, const struct wg_device_info *r,
					      const uint8_t key[WG_KEY_SIZE])
{
	size_t i;

	return keyindex_find(&x->running, key, &i) ? &r->peers[i] : NULL;
}

int converge_plan(const struct mesh_self *self, const struct mesh_peer *desired, size_t n,
		  const struct wg_device_info *running, struct converge_memory *mem,
		  struct wg_config *out, bool *changed)
{
	size_t nrun = running ? running->n_peers : 0, np = 0, nmem = 0, at;
	struct wg_peer_config *peers;
	typeof(mem->entries) entries = NULL;
	struct plan_index x;

	memset(out, 0, sizeof(*out));
	*changed = false;
	peers = calloc(n + nrun + 1, sizeof(*peers));
	if (n)
		entries = calloc(n, sizeof(*entries));
	if (!peers || (n && !entries)) {
		free(peers);
		free(entries);
		return -ENOMEM;
	}
	plan_index_build(&x, desired, n, running, mem);
	/* Peers that run but are no longer wanted. */
	for (size_t i = 0; i < nrun; i++) {
		if (keyindex_find(&x.desired, running->peers[i].public_key, &at))
			continue;
		memcpy(peers[np].public_key, running->peers[i].public_key, WG_KEY_SIZE);
		peers[np++].remove = true;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mesh_peer *d = &desired[i];
		const struct wg_peer_info *r = running_get(&x, running, d->public_key);
		const union sockaddr_any *last = memory_get(&x, mem, d->public_key);
		struct cidr want[1 + MESH_MAX_EXTRA_IPS];
		size_t nw = desired_ips(d, want);
		union sockaddr_any ep;
		bool has_ep = converge_pick_endpoint(self, d, &ep);
		struct wg_peer_config *pc = &peers[np];
		bool need = false;

		memcpy(pc->public_key, d->public_key, WG_KEY_SIZE);
		memcpy(entries[nmem].public_key, d->public_key, WG_KEY_SIZE);
		if (has_ep)
			entries[nmem].endpoint = ep;
		else if (last)
			entries[nmem].endpoint = *last;
		nmem++;
		if (!r || !ips_equal(want, nw, r->allowed_ips, r->n_allowed_ips)) {
			pc->replace_allowed_ips = true;
			pc->allowed_ips = calloc(nw, sizeof(struct cidr));
			if (!pc->allowed_ips)
				goto err_nomem;
			memcpy(pc->allowed_ips, want, nw * sizeof(struct cidr));
			pc->n_allowed_ips = nw;
			need = true;
		}
		/* Set the endpoint when the peer is new, has none, or the API
		 * server's choice changed since we last set it. */
		if (has_ep && (!r || r->endpoint.sa.sa_family == 0 || !last || !addr_endpoint_equal(last, &ep))) {
			pc->has_endpoint = true;
			pc->endpoint = ep;
			need = true;
		}
		if (!r || r->persistent_keepalive_interval != MESH_PERSISTENT_KEEPALIVE) {
			pc->has_persistent_keepalive = true;
			pc->persistent_keepalive_interval = MESH_PERSISTENT_KEEPALIVE;
			need = true;
		}
		if (need)
			np++;
		else
			memset(pc, 0, sizeof(*pc));
	}
	plan_index_release(&x);
	converge_memory_release(mem);
	mem->entries = entries;
	mem->n = nmem;
	out->peers = peers;
	out->n_peers = np;
	*changed = np > 0;
	return 0;

err_nomem:
	plan_index_release(&x);
	out->peers = peers;
	out->n_peers = np + 1;
	wg_config_release(out);
	free(entries);
	return -ENOMEM;
}
