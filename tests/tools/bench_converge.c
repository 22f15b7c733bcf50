/* bench_converge: one pass of nexd's loop over a large organization, with
 * nothing to change (issue 15: the pass must stay O(n log n)).
 *
 *   bench_converge [N ...]        (default 1000 5000 20000)
 *
 * For each N, an organization of N devices (us included) in the model, then
 * PASSES passes of what the loop's reconcile does with the mesh: the path
 * table's step over every device (path.h), the desired state (desired_build,
 * with the loop's path callback) and the WireGuard plan (converge_plan)
 * against an interface that already runs every peer as wanted. Each pass is
 * checked (nothing to change, every peer there) and a mismatch exits 1.
 * Then a watch answer that updates every device at once (model_apply_watch).
 * Prints the median of PASSES per N, in ms ("desired": the path step and
 * desired_build; "plan": converge_plan; "pass": both; "watch": the watch
 * answer), and the ratio to the first N: linear work gives ratios near
 * N / N0, quadratic work near (N / N0)^2. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "apiclient/device.h"
#include "nexd/converge.h"
#include "nexd/desired.h"
#include "nexd/model.h"
#include "nexd/path.h"

#define PASSES 5
#define NS_MAX 16

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Device i: a key from a fixed stream, 100.100.0.0/16 + i, a "stun" and a
 * "local" endpoint; device 0 is us. */
static int make_device(struct api_device *d, size_t i, uint64_t rev)
{
	uint64_t s = 0x5eed0000u + i;
	uint32_t ip = 0x64640000u + (uint32_t)i + 1;

	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "00000000-0000-4000-8000-%012zx", i);
	snprintf(d->organization, sizeof(d->organization), "bench");
	snprintf(d->hostname, sizeof(d->hostname), "host-%zu", i);
	for (size_t k = 0; k < sizeof(d->public_key); k += 8) {
		uint64_t v = splitmix(&s);
		memcpy(d->public_key + k, &v, 8);
	}
	d->tunnel_family = AF_INET;
	for (int k = 0; k < 4; k++)
		d->tunnel_ip[k] = (uint8_t)(ip >> (24 - 8 * k));
	d->endpoints = calloc(2, sizeof(*d->endpoints));
	if (!d->endpoints)
		return -ENOMEM;
	d->n_endpoints = 2;
	d->endpoints[0].source = API_ENDPOINT_STUN;
	d->endpoints[0].addr.in4.sin_family = AF_INET;
	d->endpoints[0].addr.in4.sin_addr.s_addr = htonl(0xc6336400u + (uint32_t)(i & 0xff));
	d->endpoints[0].addr.in4.sin_port = htons((uint16_t)(20000 + i % 40000));
	d->endpoints[1].source = API_ENDPOINT_LOCAL;
	d->endpoints[1].addr.in4.sin_family = AF_INET;
	d->endpoints[1].addr.in4.sin_addr.s_addr = htonl(0xc0000200u + (uint32_t)(i & 0xff));
	d->endpoints[1].addr.in4.sin_port = htons(51820);
	d->last_seen = -1;
	d->online = true;
	d->revision = rev;
	return 0;
}

static int make_model(struct mesh_model *m, size_t n)
{
	struct api_device self;
	struct api_device_list l = { .revision = 1 };
	struct ev_org o;

	model_init(m);
	if (make_device(&self, 0, 1))
		return -ENOMEM;
	model_set_registered(m, &self);
	memset(&o, 0, sizeof(o));
	cidr_parse("100.100.0.0/16", &o.prefix);
	model_set_org(m, &o);
	l.devices = calloc(n, sizeof(*l.devices));
	if (!l.devices)
		return -ENOMEM;
	l.n_devices = n;
	for (size_t i = 0; i < n; i++)
		if (make_device(&l.devices[i], i, 1)) {
			api_device_list_free(&l);
			return -ENOMEM;
		}
	model_apply_list(m, &l);
	return 0;
}

/* ---- the loop's path step (step_paths, without the prober and the relay) - */

struct paths {
	struct path_table t;
	const struct mesh_model *m;
};

static void step_paths(struct paths *t, const uint8_t self_key[32], uint64_t now)
{
	const struct mesh_model *m = t->m;

	path_table_begin(&t->t);
	for (size_t i = 0; i < m->mesh.n_devices; i++) {
		const struct api_device *d = &m->mesh.devices[i];
		struct path_peer *p;
		struct path_input in = { .now_ns = now };
		char why[160];

		if (!memcmp(d->public_key, self_key, 32) || (m->registered && !strcmp(d->id, m->self.id)))
			continue;
		p = path_table_see(&t->t, d->public_key, now);
		if (!p)
			continue;
		in.relay_ready = model_relay_endpoint(d) && model_relay_path(m, d->public_key);
		path_step(&p->st, &in, why, sizeof(why));
	}
	path_table_end(&t->t);
}

/* The loop's path_endpoint. */
static bool path_endpoint(void *ctx, const uint8_t key[32], union sockaddr_any *out)
{
	struct paths *t = ctx;
	struct path_peer *p = path_table_find(&t->t, key);
	const union sockaddr_any *local;

	if (!p)
		return false;
	if (p->st.kind == PATH_RELAY && (local = model_relay_path(t->m, key))) {
		*out = *local;
		return true;
	}
	if (p->st.kind == PATH_DIRECT && p->st.has_direct_ep) {
		*out = p->st.direct_ep;
		return true;
	}
	return false;
}

/* ---- the pass ------------------------------------------------------------ */

/* The interface as the first plan leaves it: every peer, as wanted. */
static int make_running(const struct wg_config *c, struct wg_device_info *info)
{
	memset(info, 0, sizeof(*info));
	info->peers = calloc(c->n_peers + 1, sizeof(*info->peers));
	if (!info->peers)
		return -ENOMEM;
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct wg_peer_config *p = &c->peers[i];
		struct wg_peer_info *r = &info->peers[info->n_peers++];

		memcpy(r->public_key, p->public_key, 32);
		r->endpoint = p->endpoint;
		r->persistent_keepalive_interval = p->persistent_keepalive_interval;
		r->allowed_ips = malloc(p->n_allowed_ips * sizeof(*r->allowed_ips) + 1);
		if (!r->allowed_ips)
			return -ENOMEM;
		memcpy(r->allowed_ips, p->allowed_ips, p->n_allowed_ips * sizeof(*r->allowed_ips));
		r->n_allowed_ips = p->n_allowed_ips;
	}
	return 0;
}

static void running_release(struct wg_device_info *info)
{
	for (size_t i = 0; i < info->n_peers; i++)
		free(info->peers[i].allowed_ips);
	free(info->peers);
	memset(info, 0, sizeof(*info));
}

struct timing {
	double desired, plan, pass, watch;
};

/* One pass; -EPROTO when the plan is not "nothing to change". */
static int one_pass(struct paths *t, const struct desired_input *in, const struct wg_device_info *running,
		    struct converge_memory *mem, size_t want_peers, struct timing *tm)
{
	struct desired d;
	struct wg_config c;
	bool changed;
	double t0, t1, t2;
	int r;

	t0 = now_ms();
	step_paths(t, in->self_key, in->now_ns);
	r = desired_build(in, &d);
	if (r)
		return r;
	t1 = now_ms();
	r = converge_plan(&in->m->mesh_self, d.peers, d.n_peers, running, mem, &c, &changed);
	t2 = now_ms();
	if (!r && (changed || d.n_peers != want_peers))
		r = -EPROTO;
	wg_config_release(&c); /* zeroed or released on error */
	desired_release(&d);
	tm->desired = t1 - t0;
	tm->plan = t2 - t1;
	tm->pass = t2 - t0;
	return r;
}

/* A watch answer that updates every device (a new revision of each). */
static int one_watch(struct mesh_model *m, size_t n, uint64_t rev, double *ms)
{
	struct api_watch w = { .revision = rev };
	double t0;

	w.events = calloc(n, sizeof(*w.events));
	if (!w.events)
		return -ENOMEM;
	w.n_events = n;
	for (size_t i = 0; i < n; i++) {
		w.events[i].revision = rev;
		w.events[i].type = API_WATCH_UPSERT;
		if (make_device(&w.events[i].device, (i * 7919) % n, rev)) {
			api_watch_free(&w);
			return -ENOMEM;
		}
	}
	t0 = now_ms();
	model_apply_watch(m, &w);
	*ms = now_ms() - t0;
	api_watch_free(&w);
	return m->mesh.n_devices == n ? 0 : -EPROTO;
}

static int bench(size_t n, struct timing *out)
{
	struct mesh_model m;
	struct subscription sub = { 0 };
	struct paths t;
	struct converge_memory mem = { 0 };
	struct wg_device_info running = { 0 };
	struct desired d;
	struct wg_config c;
	struct desired_input in = { 0 };
	double desired[PASSES], plan[PASSES], pass[PASSES], watch[PASSES];
	bool changed;
	int r;

	path_table_init(&t.t);
	t.m = &m;
	r = make_model(&m, n);
	if (r)
		goto out;
	in.m = &m;
	in.self_key = m.self.public_key;
	in.sub = &sub;
	in.path = path_endpoint;
	in.path_ctx = &t;
	in.up = true;
	in.now_ns = 1000000000ull;
	/* the first plan, on an empty interface: what then runs */
	step_paths(&t, in.self_key, in.now_ns);
	r = desired_build(&in, &d);
	if (r)
		goto out;
	r = converge_plan(&m.mesh_self, d.peers, d.n_peers, NULL, &mem, &c, &changed);
	desired_release(&d);
	if (r)
		goto out;
	r = make_running(&c, &running);
	wg_config_release(&c);
	if (r)
		goto out;
	for (int i = 0; i < PASSES; i++) {
		struct timing tm;

		in.now_ns += 1000000000ull;
		r = one_pass(&t, &in, &running, &mem, n - 1, &tm);
		if (r)
			goto out;
		desired[i] = tm.desired;
		plan[i] = tm.plan;
		pass[i] = tm.pass;
	}
	for (int i = 0; i < PASSES; i++) {
		r = one_watch(&m, n, 2 + (uint64_t)i, &watch[i]);
		if (r)
			goto out;
	}
	out->desired = median(desired, PASSES);
	out->plan = median(plan, PASSES);
	out->pass = median(pass, PASSES);
	out->watch = median(watch, PASSES);
out:
	running_release(&running);
	converge_memory_release(&mem);
	path_table_release(&t.t);
	model_release(&m);
	return r;
}

int main(int argc, char **argv)
{
	size_t ns[NS_MAX] = { 1000, 5000, 20000 }, count = 3;
	struct timing first = { 0 };

	if (argc > 1) {
		count = 0;
		for (int i = 1; i < argc && count < NS_MAX; i++) {
			char *end;
			unsigned long v = strtoul(argv[i], &end, 10);

			if (*end || v < 2 || v > 60000) {
				fprintf(stderr, "bench_converge: bad N \"%s\" (2..60000)\n", argv[i]);
				return 2;
			}
			ns[count++] = v;
		}
	}
	printf("nexd convergence, nothing to change: median of %d passes, ms (ratio to N=%zu)\n", PASSES, ns[0]);
	for (size_t k = 0; k < count; k++) {
		struct timing tm;
		int r = bench(ns[k], &tm);

		if (r) {
			fprintf(stderr, "bench_converge: N=%zu: %s\n", ns[k],
				r == -EPROTO ? "the plan is not \"nothing to change\"" : strerror(-r));
			return 1;
		}
		if (k == 0)
			first = tm;
		printf("N=%-6zu desired %9.3f  plan %9.3f  pass %9.3f (x%7.1f)  watch %9.3f (x%7.1f)\n", ns[k],
		       tm.desired, tm.plan, tm.pass, tm.pass / first.pass, tm.watch, tm.watch / first.watch);
		fflush(stdout);
	}
	return 0;
}
