/* The passes of nexd's loop look peers up by index (keyindex.h) instead of
 * scanning (issue 15). On a few hundred devices, with keys and ids that two
 * records share and keys that nothing has, each gives exactly what the
 * linear code it replaced gave (that code is kept here as the reference):
 * the WireGuard plan and its memory, a watch answer applied to the device
 * list, a relay channel's local end, the path table of every peer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexd/converge.h"
#include "nexd/model.h"
#include "nexd/path.h"

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Key k of a pool: all alike but two bytes. */
static void key_of(uint32_t k, uint8_t key[32])
{
	memset(key, 0x42, 32);
	key[9] = (uint8_t)k;
	key[30] = (uint8_t)(k >> 8);
}

static union sockaddr_any ep4(uint32_t ip, uint16_t port)
{
	union sockaddr_any a = { 0 };

	a.in4.sin_family = AF_INET;
	a.in4.sin_addr.s_addr = htonl(ip);
	a.in4.sin_port = htons(port);
	return a;
}

/* ---- converge_plan, and the linear code it had ---------------------------- */

static size_t ref_desired_ips(const struct mesh_peer *p, struct cidr *out)
{
	size_t n = 0;

	out[n++] = p->tunnel_ip;
	for (size_t i = 0; i < p->n_extra && i < MESH_MAX_EXTRA_IPS; i++)
		out[n++] = p->extra[i];
	for (size_t i = 0; i < n; i++)
		cidr_normalize(&out[i]);
	return n;
}

static bool ref_ips_equal(const struct cidr *want, size_t nw, const struct cidr *have, size_t nh)
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

static int ref_plan(const struct mesh_self *self, const struct mesh_peer *desired, size_t n,
		    const struct wg_device_info *running, struct converge_memory *mem, struct wg_config *out,
		    bool *changed)
{
	size_t nrun = running ? running->n_peers : 0, np = 0, nmem = 0;
	struct wg_peer_config *peers = calloc(n + nrun + 1, sizeof(*peers));
	typeof(mem->entries) entries = calloc(n + 1, sizeof(*entries));

	memset(out, 0, sizeof(*out));
	assert_non_null(peers);
	assert_non_null(entries);
	for (size_t i = 0; i < nrun; i++) {
		bool wanted = false;

		for (size_t j = 0; j < n && !wanted; j++)
			wanted = !memcmp(desired[j].public_key, running->peers[i].public_key, 32);
		if (wanted)
			continue;
		memcpy(peers[np].public_key, running->peers[i].public_key, WG_KEY_SIZE);
		peers[np++].remove = true;
	}
	for (size_t i = 0; i < n; i++) {
		const struct mesh_peer *d = &desired[i];
		const struct wg_peer_info *r = NULL;
		const union sockaddr_any *last = NULL;
		struct cidr want[1 + MESH_MAX_EXTRA_IPS];
		size_t nw = ref_desired_ips(d, want);
		union sockaddr_any ep;
		bool has_ep = converge_pick_endpoint(self, d, &ep);
		struct wg_peer_config *pc = &peers[np];
		bool need = false;

		for (size_t j = 0; j < nrun && !r; j++)
			if (!memcmp(running->peers[j].public_key, d->public_key, 32))
				r = &running->peers[j];
		for (size_t j = 0; j < mem->n && !last; j++)
			if (!memcmp(mem->entries[j].public_key, d->public_key, 32))
				last = &mem->entries[j].endpoint;
		memcpy(pc->public_key, d->public_key, WG_KEY_SIZE);
		memcpy(entries[nmem].public_key, d->public_key, WG_KEY_SIZE);
		if (has_ep)
			entries[nmem].endpoint = ep;
		else if (last)
			entries[nmem].endpoint = *last;
		nmem++;
		if (!r || !ref_ips_equal(want, nw, r->allowed_ips, r->n_allowed_ips)) {
			pc->replace_allowed_ips = true;
			pc->allowed_ips = calloc(nw, sizeof(struct cidr));
			assert_non_null(pc->allowed_ips);
			memcpy(pc->allowed_ips, want, nw * sizeof(struct cidr));
			pc->n_allowed_ips = nw;
			need = true;
		}
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
	converge_memory_release(mem);
	mem->entries = entries;
	mem->n = nmem;
	out->peers = peers;
	out->n_peers = np;
	*changed = np > 0;
	return 0;
}

static void assert_same_config(const struct wg_config *a, const struct wg_config *b)
{
	assert_int_equal(a->n_peers, b->n_peers);
	for (size_t i = 0; i < a->n_peers; i++) {
		const struct wg_peer_config *x = &a->peers[i], *y = &b->peers[i];

		assert_memory_equal(x->public_key, y->public_key, 32);
		assert_int_equal(x->remove, y->remove);
		assert_int_equal(x->has_endpoint, y->has_endpoint);
		if (x->has_endpoint)
			assert_true(addr_endpoint_equal(&x->endpoint, &y->endpoint));
		assert_int_equal(x->has_persistent_keepalive, y->has_persistent_keepalive);
		assert_int_equal(x->persistent_keepalive_interval, y->persistent_keepalive_interval);
		assert_int_equal(x->replace_allowed_ips, y->replace_allowed_ips);
		assert_int_equal(x->n_allowed_ips, y->n_allowed_ips);
		for (size_t j = 0; j < x->n_allowed_ips; j++)
			assert_true(cidr_equal(&x->allowed_ips[j], &y->allowed_ips[j]));
	}
}

static void assert_same_memory(const struct converge_memory *a, const struct converge_memory *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_memory_equal(a->entries[i].public_key, b->entries[i].public_key, 32);
		assert_int_equal(a->entries[i].endpoint.sa.sa_family, b->entries[i].endpoint.sa.sa_family);
		if (a->entries[i].endpoint.sa.sa_family)
			assert_true(addr_endpoint_equal(&a->entries[i].endpoint, &b->entries[i].endpoint));
	}
}

#define POOL 600

/* A desired peer with key k: endpoints from a few choices, sometimes a path
 * endpoint or the default route. */
static void make_desired(struct mesh_peer *p, uint32_t k, uint64_t *s)
{
	memset(p, 0, sizeof(*p));
	key_of(k, p->public_key);
	p->tunnel_ip.family = AF_INET;
	p->tunnel_ip.addr[0] = 100;
	p->tunnel_ip.addr[1] = 100;
	p->tunnel_ip.addr[2] = (uint8_t)(k >> 8);
	p->tunnel_ip.addr[3] = (uint8_t)k;
	p->tunnel_ip.prefix = 32;
	if (rnd(s) % 4) {
		p->has_local = true;
		p->local_ep = ep4(0xc0000200u + k % 200, 51820);
	}
	if (rnd(s) % 3) {
		p->has_reflexive = true;
		p->reflexive_ep = ep4(0xcb007100u + (uint32_t)(rnd(s) % 3), (uint16_t)(40000 + k));
	}
	if (rnd(s) % 10 == 0) {
		p->has_path_ep = true;
		p->path_ep = ep4(0x7f000001u, (uint16_t)(30000 + k));
	}
	if (rnd(s) % 20 == 0)
		cidr_parse("0.0.0.0/0", &p->extra[p->n_extra++]);
}

/* The interface after applying c (roughly as WireGuard does), with noise:
 * roamed endpoints, keepalive turned off, allowed IPs changed, strangers. */
static void apply_noisy(struct wg_device_info *info, const struct wg_config *c, uint64_t *s)
{
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct wg_peer_config *p = &c->peers[i];
		struct wg_peer_info *r = NULL;

		for (size_t j = 0; j < info->n_peers && !r; j++)
			if (!memcmp(info->peers[j].public_key, p->public_key, 32))
				r = &info->peers[j];
		if (p->remove) {
			if (r) {
				free(r->allowed_ips);
				*r = info->peers[--info->n_peers];
			}
			continue;
		}
		if (!r) {
			r = &info->peers[info->n_peers++];
			memset(r, 0, sizeof(*r));
			memcpy(r->public_key, p->public_key, 32);
		}
		if (p->has_endpoint)
			r->endpoint = p->endpoint;
		if (p->has_persistent_keepalive)
			r->persistent_keepalive_interval = p->persistent_keepalive_interval;
		if (p->replace_allowed_ips) {
			free(r->allowed_ips);
			r->allowed_ips = calloc(p->n_allowed_ips + 1, sizeof(struct cidr));
			assert_non_null(r->allowed_ips);
			memcpy(r->allowed_ips, p->allowed_ips, p->n_allowed_ips * sizeof(struct cidr));
			r->n_allowed_ips = p->n_allowed_ips;
		}
	}
	for (size_t i = 0; i < info->n_peers; i++) {
		struct wg_peer_info *r = &info->peers[i];
		uint64_t v = rnd(s) % 40;

		if (v == 0)
			r->endpoint = ep4(0xc6336401u, (uint16_t)(9000 + i));
		else if (v == 1)
			r->persistent_keepalive_interval = 0;
		else if (v == 2 && r->n_allowed_ips)
			r->n_allowed_ips--;
		else if (v == 3)
			memset(&r->endpoint, 0, sizeof(r->endpoint));
	}
	/* a few peers nobody asked for, one twice */
	for (int k = 0; k < 3; k++) {
		struct wg_peer_info *r = &info->peers[info->n_peers++];

		memset(r, 0, sizeof(*r));
		key_of(POOL + (uint32_t)(rnd(s) % 5), r->public_key);
	}
}

static void plan_matches_linear(void **state)
{
	struct mesh_self self = { 0 };
	struct mesh_peer *want = calloc(POOL, sizeof(*want));
	struct wg_device_info info = { 0 };
	struct converge_memory mem_a = { 0 }, mem_b = { 0 };
	uint64_t s = 11;
	size_t n = 300;

	(void)state;
	assert_non_null(want);
	info.peers = calloc(4 * POOL, sizeof(*info.peers));
	assert_non_null(info.peers);
	for (size_t i = 0; i < n; i++)
		make_desired(&want[i], (uint32_t)(rnd(&s) % 400), &s);  /* some keys twice */
	for (int round = 0; round < 12; round++) {
		struct wg_config a, b;
		bool ch_a, ch_b;
		const struct wg_device_info *running = round == 0 ? NULL : &info;

		if (round % 3 == 2) {
			self.has_reflexive = !self.has_reflexive;
			self.reflexive_ep = ep4(0xcb007101u, 51820);
		}
		assert_int_equal(converge_plan(&self, want, n, running, &mem_a, &a, &ch_a), 0);
		assert_int_equal(ref_plan(&self, want, n, running, &mem_b, &b, &ch_b), 0);
		assert_int_equal(ch_a, ch_b);
		assert_same_config(&a, &b);
		assert_same_memory(&mem_a, &mem_b);
		if (round == 11)
			assert_true(a.n_peers > 0);
		apply_noisy(&info, &a, &s);
		wg_config_release(&a);
		wg_config_release(&b);
		/* the organization moves: some go, some come, some change */
		for (int k = 0; k < 20 && n > 1; k++) {
			size_t pos = rnd(&s) % n;
			want[pos] = want[--n];
		}
		for (int k = 0; k < 25 && n < POOL; k++)
			make_desired(&want[n++], (uint32_t)(rnd(&s) % 450), &s);
		for (int k = 0; k < 15; k++) {
			size_t pos = rnd(&s) % n;
			make_desired(&want[pos], (uint32_t)(rnd(&s) % 450), &s);
		}
	}
	/* nothing to change: the same plan, twice over */
	{
		struct wg_config a, b;
		bool ch_a, ch_b;

		for (int k = 0; k < 2; k++) {
			assert_int_equal(converge_plan(&self, want, n, &info, &mem_a, &a, &ch_a), 0);
			assert_int_equal(ref_plan(&self, want, n, &info, &mem_b, &b, &ch_b), 0);
			assert_int_equal(ch_a, ch_b);
			assert_same_config(&a, &b);
			assert_same_memory(&mem_a, &mem_b);
			if (k == 0)
				apply_noisy(&info, &a, &s);
			wg_config_release(&a);
			wg_config_release(&b);
		}
	}
	for (size_t i = 0; i < info.n_peers; i++)
		free(info.peers[i].allowed_ips);
	free(info.peers);
	converge_memory_release(&mem_a);
	converge_memory_release(&mem_b);
	free(want);
}

/* ---- model_apply_watch, and the linear code it had ------------------------ */

static void make_device(struct api_device *d, uint32_t id, uint32_t k, uint64_t rev)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "00000000-0000-4000-8000-%012x", id);
	snprintf(d->hostname, sizeof(d->hostname), "host-%u-%u", id, (unsigned)rev);
	key_of(k, d->public_key);
	d->tunnel_family = AF_INET;
	d->revision = rev;
	d->last_seen = -1;
	d->endpoints = calloc(1, sizeof(*d->endpoints));
	assert_non_null(d->endpoints);
	d->n_endpoints = 1;
	d->endpoints[0].addr = ep4(0xc0000200u + id % 250, 51820);
}

static void ref_apply_watch(struct mesh_model *m, struct api_watch *w)
{
	for (size_t i = 0; i < w->n_events; i++) {
		struct api_watch_event *e = &w->events[i];
		struct api_device_list *l = &m->mesh;
		size_t j;

		for (j = 0; j < l->n_devices; j++)
			if (!strcmp(l->devices[j].id, e->device.id))
				break;
		if (e->type == API_WATCH_DELETE) {
			if (j < l->n_devices) {
				api_device_free(&l->devices[j]);
				l->devices[j] = l->devices[l->n_devices - 1];
				memset(&l->devices[l->n_devices - 1], 0, sizeof(l->devices[0]));
				l->n_devices--;
			}
			continue;
		}
		if (j == l->n_devices) {
			struct api_device *grown = realloc(l->devices, (l->n_devices + 1) * sizeof(*grown));

			assert_non_null(grown);
			l->devices = grown;
			memset(&l->devices[j], 0, sizeof(l->devices[0]));
			l->n_devices++;
		}
		api_device_free(&l->devices[j]);
		l->devices[j] = e->device;
		memset(&e->device, 0, sizeof(e->device));
	}
	m->mesh.revision = w->revision;
}

/* A list of n devices, ids from a pool (dup_every > 0: every so often an
 * id twice), the same for a given seed. */
static void make_list(struct api_device_list *l, size_t n, unsigned dup_every, uint64_t seed)
{
	uint64_t s = seed;

	l->revision = 1;
	l->devices = calloc(n, sizeof(*l->devices));
	assert_non_null(l->devices);
	l->n_devices = n;
	for (size_t i = 0; i < n; i++) {
		uint32_t id = dup_every && i % dup_every == dup_every - 1 ? (uint32_t)(rnd(&s) % i) : (uint32_t)i;
		make_device(&l->devices[i], id, (uint32_t)(rnd(&s) % POOL), 1);
	}
}

/* Upserts of devices there and new ones, deletes of devices there and
 * gone, one id several times: the same for a given seed. */
static void make_watch(struct api_watch *w, size_t n, uint32_t ids, uint64_t rev, uint64_t seed)
{
	uint64_t s = seed;

	w->revision = rev;
	w->events = calloc(n, sizeof(*w->events));
	assert_non_null(w->events);
	w->n_events = n;
	for (size_t i = 0; i < n; i++) {
		struct api_watch_event *e = &w->events[i];
		uint32_t id = i % 9 == 8 ? 7 : (uint32_t)(rnd(&s) % ids);

		e->revision = rev;
		e->type = rnd(&s) % 3 == 0 ? API_WATCH_DELETE : API_WATCH_UPSERT;
		make_device(&e->device, id, (uint32_t)(rnd(&s) % POOL), rev);
	}
}

static void assert_same_devices(const struct mesh_model *a, const struct mesh_model *b)
{
	assert_int_equal(a->mesh.n_devices, b->mesh.n_devices);
	assert_int_equal(a->mesh.revision, b->mesh.revision);
	for (size_t i = 0; i < a->mesh.n_devices; i++) {
		assert_string_equal(a->mesh.devices[i].id, b->mesh.devices[i].id);
		assert_string_equal(a->mesh.devices[i].hostname, b->mesh.devices[i].hostname);
		assert_memory_equal(a->mesh.devices[i].public_key, b->mesh.devices[i].public_key, 32);
		assert_int_equal(a->mesh.devices[i].revision, b->mesh.devices[i].revision);
	}
}

static void watch_run(unsigned dup_every, uint64_t seed)
{
	struct mesh_model a, b;
	struct api_device_list la, lb;

	model_init(&a);
	model_init(&b);
	make_list(&la, 300, dup_every, seed);
	make_list(&lb, 300, dup_every, seed);
	model_apply_list(&a, &la);
	model_apply_list(&b, &lb);
	assert_same_devices(&a, &b);
	for (uint64_t rev = 2; rev < 10; rev++) {
		struct api_watch wa, wb;

		make_watch(&wa, 150, 420, rev, seed * 100 + rev);
		make_watch(&wb, 150, 420, rev, seed * 100 + rev);
		model_apply_watch(&a, &wa);
		ref_apply_watch(&b, &wb);
		api_watch_free(&wa);
		api_watch_free(&wb);
		assert_same_devices(&a, &b);
		/* and model_find still answers as a scan */
		for (uint32_t k = 0; k < POOL; k++) {
			uint8_t key[32];
			const struct api_device *want = NULL;

			key_of(k, key);
			for (size_t i = 0; i < a.mesh.n_devices && !want; i++)
				if (!memcmp(a.mesh.devices[i].public_key, key, 32))
					want = &a.mesh.devices[i];
			assert_ptr_equal(model_find(&a, key), want);
		}
	}
	model_release(&a);
	model_release(&b);
}

static void watch_matches_linear(void **state)
{
	(void)state;
	watch_run(0, 1);    /* ids unique */
	watch_run(25, 2);   /* some ids twice in the list (a server's slip) */
	watch_run(3, 3);    /* many */
}

/* ---- model_relay_path ------------------------------------------------------ */

static void relay_path_matches_linear(void **state)
{
	struct mesh_model m;
	uint64_t s = 5;

	(void)state;
	model_init(&m);
	for (int round = 0; round < 4; round++) {
		struct ev_relay r = { .allocated = round != 2 };

		r.n = round == 3 ? 0 : 200;
		r.paths = calloc(r.n + 1, sizeof(*r.paths));
		assert_non_null(r.paths);
		for (size_t i = 0; i < r.n; i++) {
			key_of((uint32_t)(rnd(&s) % 260), r.paths[i].key);   /* some twice */
			r.paths[i].local = ep4(0x7f000001u, (uint16_t)(30000 + i));
		}
		model_set_relay(&m, &r);
		for (uint32_t k = 0; k < 300; k++) {
			uint8_t key[32];
			const union sockaddr_any *want = NULL;

			key_of(k, key);
			for (size_t i = 0; m.relay.allocated && i < m.relay.n && !want; i++)
				if (!memcmp(m.relay.paths[i].key, key, 32))
					want = &m.relay.paths[i].local;
			assert_ptr_equal(model_relay_path(&m, key), want);
		}
	}
	model_release(&m);
}

/* ---- the path table, and the loop's linear code it replaced --------------- */

struct ref_path {
	uint8_t key[32];
	bool seen;
};

struct ref_table {
	struct ref_path *p;
	size_t n;
};

static struct ref_path *ref_find(struct ref_table *t, const uint8_t key[32])
{
	for (size_t i = 0; i < t->n; i++)
		if (!memcmp(t->p[i].key, key, 32))
			return &t->p[i];
	return NULL;
}

static void path_table_matches_linear(void **state)
{
	struct path_table t;
	struct ref_table r = { 0 };
	uint64_t s = 9;

	(void)state;
	path_table_init(&t);
	for (int pass = 0; pass < 30; pass++) {
		size_t n = 200 + rnd(&s) % 200;
		uint32_t span = pass < 10 ? 300 : 500;

		path_table_begin(&t);
		for (size_t i = 0; i < r.n; i++)
			r.p[i].seen = false;
		for (size_t i = 0; i < n; i++) {
			uint8_t key[32];
			struct ref_path *q;
			struct path_peer *p;

			key_of((uint32_t)(rnd(&s) % span), key);   /* some devices share a key */
			q = ref_find(&r, key);
			if (!q) {
				struct ref_path *grown = realloc(r.p, (r.n + 1) * sizeof(*grown));

				assert_non_null(grown);
				r.p = grown;
				q = &r.p[r.n++];
				memset(q, 0, sizeof(*q));
				memcpy(q->key, key, 32);
			}
			q->seen = true;
			p = path_table_see(&t, key, 1000);
			assert_non_null(p);
			assert_int_equal(p - t.peers, q - r.p);
			assert_true(p->seen);
		}
		for (size_t i = 0; i < r.n;) {
			if (r.p[i].seen)
				i++;
			else
				r.p[i] = r.p[--r.n];
		}
		path_table_end(&t);
		assert_int_equal(t.n, r.n);
		for (size_t i = 0; i < r.n; i++)
			assert_memory_equal(t.peers[i].key, r.p[i].key, 32);
		for (uint32_t k = 0; k < 520; k++) {
			uint8_t key[32];
			struct ref_path *q;
			struct path_peer *p;

			key_of(k, key);
			q = ref_find(&r, key);
			p = path_table_find(&t, key);
			assert_int_equal(p != NULL, q != NULL);
			if (p)
				assert_int_equal(p - t.peers, q - r.p);
		}
	}
	path_table_release(&t);
	free(r.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(plan_matches_linear),
		cmocka_unit_test(watch_matches_linear),
		cmocka_unit_test(relay_path_matches_linear),
		cmocka_unit_test(path_table_matches_linear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
