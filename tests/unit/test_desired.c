/* nexd's desired state, from records shaped like the API server's answers:
 * the peers (not ourselves; host prefixes; endpoints by "source"; IPv6 taken
 * from "tunnel_ip6" only), the exit routes on the chosen exit node, keeping
 * the one in use, failing closed, the health targets, what our record
 * advertises, and the exit client's status line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient/device.h"
#include "common/key.h"
#include "common/timeutil.h"
#include "nexd/desired.h"

#define S NSEC_PER_SEC
#define NOW (1000 * S)
#define P6(n) "2001:db8:6464::6464:" #n   /* what the server sends with prefix6 2001:db8:6464::/64 */

/* Device n: id ...-<n>, public key n repeated, tunnel_ip 100.100.0.n, a
 * "stun" endpoint (listed first) and a "local" one. ip6 NULL: null. */
static json_t *device_json_approved(unsigned n, const char *host, const char *ip6, const char *adv,
				    const char *approved, bool client, uint64_t rev)
{
	char key[KEY_B64_LEN + 1], six[64], text[2048];
	uint8_t k[KEY_LEN];
	json_error_t e;
	json_t *j;

	memset(k, (int)n, sizeof(k));
	key_to_base64(key, k);
	if (ip6)
		snprintf(six, sizeof(six), "\"%s\"", ip6);
	else
		snprintf(six, sizeof(six), "null");
	snprintf(text, sizeof(text),
		 "{\"id\": \"00000000-0000-4000-8000-%012x\", \"organization\": \"acme\","
		 " \"hostname\": \"%s\", \"public_key\": \"%s\", \"tunnel_ip\": \"100.100.0.%u\","
		 " \"tunnel_ip6\": %s,"
		 " \"endpoints\": [{\"source\": \"stun\", \"address\": \"198.51.100.%u:%u\"},"
		 "               {\"source\": \"local\", \"address\": \"192.0.2.%u:51820\"}],"
		 " \"advertise_cidrs\": %s, \"approved_cidrs\": %s, \"exit_node_client\": %s, \"exit_node_status\": \"off\","
		 " \"os\": \"linux\", \"version\": \"0.1.0\", \"last_seen\": null, \"online\": true,"
		 " \"revision\": %" PRIu64 ", \"created_at\": \"2026-11-25T08:45:40Z\"}",
		 n, host, key, n, six, n, 40000 + n, n, adv ? adv : "[]", approved ? approved : "[]", client ? "true" : "false", rev);
	j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		fail_msg("bad test JSON: %s", e.text);
	return j;
}

/* approved_cidrs = advertise_cidrs: an exit node the organization honours */
static json_t *device_json(unsigned n, const char *host, const char *ip6, const char *adv, bool client, uint64_t rev)
{
	return device_json_approved(n, host, ip6, adv, adv, client, rev);
}

#define EXIT4 "[\"0.0.0.0/0\"]"
#define EXIT46 "[\"0.0.0.0/0\", \"::/0\"]"

static void parse_device(struct api_device *out, json_t *j)
{
	char err[API_PARSE_ERROR_MAX];

	if (api_device_from_json(j, out, err, sizeof(err)))
		fail_msg("device: %s", err);
	json_decref(j);
}

/* Our world: device 1 is us. */
struct world {
	struct mesh_model m;
	struct subscription sub;
	struct desired_input in;
	uint8_t self_key[KEY_LEN];
	struct {
		uint8_t id;
		struct health_result r;
	} probe[8];
	size_t n_probe;
};

static bool probe_get(void *ctx, const uint8_t key[32], struct health_result *out)
{
	struct world *w = ctx;

	for (size_t i = 0; i < w->n_probe; i++) {
		uint8_t k[KEY_LEN];

		memset(k, w->probe[i].id, sizeof(k));
		if (!memcmp(k, key, KEY_LEN)) {
			*out = w->probe[i].r;
			return true;
		}
	}
	return false;
}

/* The prober's view of device id: answering with ms, or not any more. */
static void probe_set(struct world *w, uint8_t id, bool reachable, uint32_t ms)
{
	size_t i;

	for (i = 0; i < w->n_probe && w->probe[i].id != id; i++)
		;
	if (i == w->n_probe)
		w->n_probe++;
	memset(&w->probe[i], 0, sizeof(w->probe[i]));
	w->probe[i].id = id;
	w->probe[i].r.reachable = reachable;
	w->probe[i].r.has_latency = true;
	w->probe[i].r.latency_us = ms * 1000;
	w->probe[i].r.last_reply_ns = NOW - S;
	w->probe[i].r.reachable_since_ns = reachable ? S : 0;
}

/* A registered device 1 of an organization (with prefix6 when six), the
 * interface up, nothing subscribed, then the device list of the n given. */
static void world_init(struct world *w, bool registered, bool six, size_t n, ...)
{
	struct api_device_list l;
	struct ev_org o;
	char err[API_PARSE_ERROR_MAX];
	json_t *j = json_pack("{s:I, s:[]}", "revision", (json_int_t)100, "devices");
	va_list ap;

	memset(w, 0, sizeof(*w));
	model_init(&w->m);
	if (registered) {
		struct api_device self;

		parse_device(&self, device_json(1, "self", six ? P6(1) : NULL, NULL, false, 1));
		model_set_registered(&w->m, &self);
	}
	memset(&o, 0, sizeof(o));
	assert_int_equal(cidr_parse("100.100.0.0/16", &o.prefix), 0);
	o.has_prefix6 = six;
	if (six)
		assert_int_equal(cidr_parse("2001:db8:6464::/64", &o.prefix6), 0);
	model_set_org(&w->m, &o);

	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(json_object_get(j, "devices"), va_arg(ap, json_t *));
	va_end(ap);
	if (api_device_list_from_json(j, &l, err, sizeof(err)))
		fail_msg("list: %s", err);
	json_decref(j);
	model_apply_list(&w->m, &l);

	memset(w->self_key, 1, sizeof(w->self_key));
	w->in.m = &w->m;
	w->in.self_key = w->self_key;
	w->in.sub = &w->sub;
	w->in.health = probe_get;
	w->in.health_ctx = w;
	w->in.up = true;
	w->in.now_ns = NOW;
}

/* The usual mesh: us, exit-a (v4 only), exit-b (v4 and v6), a laptop. */
static void world_exit(struct world *w, bool six)
{
	world_init(w, true, six, 4, device_json(1, "self", six ? P6(1) : NULL, NULL, false, 1),
		   device_json(2, "exit-a", six ? P6(2) : NULL, EXIT4, false, 2),
		   device_json(3, "exit-b", six ? P6(3) : NULL, EXIT46, false, 3),
		   device_json(4, "laptop", six ? P6(4) : NULL, NULL, false, 4));
}

static void subscribe(struct world *w)
{
	w->sub.wanted = true;
	w->in.exit_installed = true;
}

static const struct mesh_peer *peer_of(const struct desired *d, uint8_t id)
{
	for (size_t i = 0; i < d->n_peers; i++)
		if (d->peers[i].public_key[0] == id)
			return &d->peers[i];
	return NULL;
}

static bool has_extra(const struct mesh_peer *p, const char *cidr)
{
	char text[ADDR_CIDR_STRLEN];

	for (size_t i = 0; i < p->n_extra; i++) {
		cidr_format(&p->extra[i], text);
		if (!strcmp(text, cidr))
			return true;
	}
	return false;
}

/* Which peers carry 0.0.0.0/0, as a string of ids ("3", "" ...). */
static const char *default_routes(const struct desired *d)
{
	static char out[16];
	size_t k = 0;

	for (size_t i = 0; i < d->n_peers && k + 1 < sizeof(out); i++)
		if (has_extra(&d->peers[i], "0.0.0.0/0"))
			out[k++] = (char)('0' + d->peers[i].public_key[0]);
	out[k] = 0;
	return out;
}

static void assert_cidr(const struct cidr *c, const char *want)
{
	char text[ADDR_CIDR_STRLEN];

	cidr_format(c, text);
	assert_string_equal(text, want);
}

static void assert_endpoint(const union sockaddr_any *a, const char *want)
{
	char text[ADDR_ENDPOINT_STRLEN];

	addr_endpoint_format(a, text);
	assert_string_equal(text, want);
}

static void build(struct world *w, struct desired *d)
{
	assert_int_equal(desired_build(&w->in, d), 0);
}

static void peers_from_records(void **state)
{
	struct world w;
	struct desired d;
	json_t *only_local, *v6_tunnel;
	const struct mesh_peer *p;

	(void)state;
	only_local = device_json(5, "only-local", P6(5), NULL, false, 5);
	json_object_set_new(only_local, "endpoints",
			    json_pack("[{s:s, s:s}]", "source", "local", "address", "192.0.2.5:51820"));
	v6_tunnel = device_json(6, "v6-tunnel", NULL, NULL, false, 6);
	json_object_set_new(v6_tunnel, "tunnel_ip", json_string("fd00::6"));
	world_init(&w, true, true, 6, device_json(2, "exit-a", P6(2), EXIT4, false, 2),
		   device_json(1, "self", P6(1), NULL, false, 1),
		   device_json(3, "exit-b", P6(3), EXIT46, false, 3),
		   device_json(4, "laptop", P6(4), NULL, false, 4), only_local, v6_tunnel);
	build(&w, &d);

	/* Every device but us, in the list's order. */
	assert_int_equal(d.n_peers, 5);
	assert_int_equal(d.peers[0].public_key[0], 2);
	assert_int_equal(d.peers[1].public_key[0], 3);
	assert_int_equal(d.peers[2].public_key[0], 4);
	assert_int_equal(d.peers[3].public_key[0], 5);
	assert_int_equal(d.peers[4].public_key[0], 6);
	assert_null(peer_of(&d, 1));

	p = peer_of(&d, 2);
	assert_memory_equal(p->public_key, ((uint8_t[KEY_LEN]){ [0 ... KEY_LEN - 1] = 2 }), KEY_LEN);
	assert_cidr(&p->tunnel_ip, "100.100.0.2/32");
	/* By "source", not by position (the record lists "stun" first). */
	assert_true(p->has_local);
	assert_endpoint(&p->local_ep, "192.0.2.2:51820");
	assert_true(p->has_reflexive);
	assert_endpoint(&p->reflexive_ep, "198.51.100.2:40002");
	assert_true(p->exit_node);
	assert_true(peer_of(&d, 3)->exit_node);
	assert_false(peer_of(&d, 4)->exit_node);

	p = peer_of(&d, 5);
	assert_true(p->has_local);
	assert_endpoint(&p->local_ep, "192.0.2.5:51820");
	assert_false(p->has_reflexive);

	p = peer_of(&d, 6);
	assert_cidr(&p->tunnel_ip, "fd00::6/128");
	assert_int_equal(p->n_extra, 0);

	/* Health targets: every IPv4 peer, not us, not the IPv6-only one. */
	assert_int_equal(d.n_targets, 4);
	for (size_t i = 0; i < d.n_targets; i++) {
		uint8_t id = d.targets[i].public_key[0];

		assert_in_range(id, 2, 5);
		assert_memory_equal(d.targets[i].ip, ((uint8_t[4]){ 100, 100, 0, id }), 4);
	}
	/* Nothing subscribed: no default route anywhere. */
	assert_string_equal(default_routes(&d), "");
	assert_false(d.exit.wanted);
	assert_false(d.exit.has_pick);
	desired_release(&d);
	desired_release(&d);                    /* twice is harmless */
	model_release(&w.m);
}

static void self_by_id_or_key(void **state)
{
	struct world w;
	struct desired d;

	(void)state;
	/* Registered, and our key is another (a re-keyed state): us by id. */
	world_exit(&w, false);
	memset(w.self_key, 0xee, sizeof(w.self_key));
	build(&w, &d);
	assert_int_equal(d.n_peers, 3);
	assert_null(peer_of(&d, 1));
	assert_int_equal(d.n_targets, 3);
	desired_release(&d);
	model_release(&w.m);

	/* Not registered yet: us by public key. */
	world_init(&w, false, false, 2, device_json(1, "self", NULL, NULL, false, 1),
		   device_json(2, "two", NULL, NULL, false, 2));
	build(&w, &d);
	assert_int_equal(d.n_peers, 1);
	assert_int_equal(d.peers[0].public_key[0], 2);
	assert_int_equal(d.n_targets, 1);
	desired_release(&d);
	model_release(&w.m);

	/* An exit node among our own records is no candidate. */
	world_init(&w, true, false, 2, device_json(1, "self", NULL, EXIT4, false, 1),
		   device_json(2, "two", NULL, NULL, false, 2));
	subscribe(&w);
	build(&w, &d);
	assert_true(d.exit.wanted);
	assert_false(d.exit.has_pick);
	desired_release(&d);
	model_release(&w.m);
}

static void ipv6_from_tunnel_ip6(void **state)
{
	struct world w;
	struct desired d;
	struct ev_org o;
	const struct mesh_peer *p;

	(void)state;
	/* The organization has prefix6; the records carry their address as
	 * the server sends it, one of them not what a derivation would give,
	 * one without any. */
	world_init(&w, true, true, 4, device_json(1, "self", P6(1), NULL, false, 1),
		   device_json(2, "two", P6(2), NULL, false, 2),
		   device_json(3, "three", "2001:db8:6464::beef", NULL, false, 3),
		   device_json(4, "four", NULL, NULL, false, 4));
	build(&w, &d);
	p = peer_of(&d, 2);
	assert_int_equal(p->n_extra, 1);
	assert_cidr(&p->extra[0], "2001:db8:6464::6464:2/128");
	p = peer_of(&d, 3);
	assert_int_equal(p->n_extra, 1);
	assert_cidr(&p->extra[0], "2001:db8:6464::beef/128");
	p = peer_of(&d, 4);
	assert_int_equal(p->n_extra, 0);        /* nothing derived from the prefix */
	desired_release(&d);

	/* Another prefix6 in the model changes nothing: the record's address. */
	memset(&o, 0, sizeof(o));
	assert_int_equal(cidr_parse("100.100.0.0/16", &o.prefix), 0);
	o.has_prefix6 = true;
	assert_int_equal(cidr_parse("2001:db8:1::/64", &o.prefix6), 0);
	model_set_org(&w.m, &o);
	build(&w, &d);
	assert_cidr(&peer_of(&d, 2)->extra[0], "2001:db8:6464::6464:2/128");
	assert_int_equal(peer_of(&d, 4)->n_extra, 0);
	desired_release(&d);
	model_release(&w.m);

	/* An organization without prefix6: the server sends null, no IPv6. */
	world_exit(&w, false);
	build(&w, &d);
	for (size_t i = 0; i < d.n_peers; i++)
		assert_int_equal(d.peers[i].n_extra, 0);
	desired_release(&d);
	model_release(&w.m);
}

static void exit_routes_on_pick(void **state)
{
	struct world w;
	struct desired d;
	const struct mesh_peer *p;

	(void)state;
	world_exit(&w, true);
	subscribe(&w);
	probe_set(&w, 2, true, 40);
	probe_set(&w, 3, true, 10);

	/* The faster one, exit-b, which also advertises ::/0. */
	build(&w, &d);
	assert_true(d.exit.wanted);
	assert_true(d.exit.has_pick);
	assert_int_equal(d.exit.pick.public_key[0], 3);
	assert_string_equal(d.exit.pick_name, "exit-b");
	assert_ptr_equal(d.exit.pick.hostname, d.exit.pick_name);
	assert_true(d.exit.pick_v6);
	assert_string_equal(d.exit.why, "");
	assert_string_equal(default_routes(&d), "3");
	p = peer_of(&d, 3);
	assert_int_equal(p->n_extra, 3);
	assert_cidr(&p->extra[0], "2001:db8:6464::6464:3/128");
	assert_true(has_extra(p, "0.0.0.0/0"));
	assert_true(has_extra(p, "::/0"));
	p = peer_of(&d, 2);
	assert_int_equal(p->n_extra, 1);
	assert_false(has_extra(p, "::/0"));
	assert_false(has_extra(peer_of(&d, 4), "::/0"));
	desired_release(&d);

	/* exit-a faster: 0.0.0.0/0 there, and no ::/0 (it does not advertise it). */
	probe_set(&w, 2, true, 5);
	probe_set(&w, 3, true, 60);
	build(&w, &d);
	assert_int_equal(d.exit.pick.public_key[0], 2);
	assert_false(d.exit.pick_v6);
	assert_string_equal(default_routes(&d), "2");
	p = peer_of(&d, 2);
	assert_int_equal(p->n_extra, 2);
	assert_false(has_extra(p, "::/0"));
	assert_int_equal(peer_of(&d, 3)->n_extra, 1);
	desired_release(&d);

	/* Not installed (yet): the pick is known, no peer carries the route. */
	w.in.exit_installed = false;
	build(&w, &d);
	assert_true(d.exit.wanted);
	assert_true(d.exit.has_pick);
	assert_int_equal(d.exit.pick.public_key[0], 2);
	assert_string_equal(default_routes(&d), "");
	desired_release(&d);
	w.in.exit_installed = true;

	/* Not subscribed. */
	w.sub.wanted = false;
	build(&w, &d);
	assert_false(d.exit.wanted);
	assert_false(d.exit.has_pick);
	assert_string_equal(default_routes(&d), "");
	desired_release(&d);
	w.sub.wanted = true;

	/* We are an exit node ourselves: never wanted. */
	w.in.router_exit_node = true;
	build(&w, &d);
	assert_false(d.exit.wanted);
	assert_false(d.exit.has_pick);
	assert_string_equal(default_routes(&d), "");
	desired_release(&d);
	w.in.router_exit_node = false;

	/* The interface is not up yet. */
	w.in.up = false;
	build(&w, &d);
	assert_false(d.exit.wanted);
	assert_false(d.exit.has_pick);
	desired_release(&d);
	w.in.up = true;

	/* Not measured yet: the first, provisionally. */
	w.in.health = NULL;
	build(&w, &d);
	assert_true(d.exit.has_pick);
	assert_int_equal(d.exit.pick.public_key[0], 2);
	assert_false(d.exit.pick.measured);
	desired_release(&d);
	model_release(&w.m);

	/* Not registered: not wanted. */
	world_init(&w, false, false, 1, device_json(2, "exit-a", NULL, EXIT4, false, 2));
	subscribe(&w);
	build(&w, &d);
	assert_false(d.exit.wanted);
	assert_false(d.exit.has_pick);
	desired_release(&d);
	model_release(&w.m);
}

static void keep_current_and_why(void **state)
{
	struct world w;
	struct desired d;
	struct api_watch wa;
	char err[API_PARSE_ERROR_MAX];
	json_t *j;

	(void)state;
	world_exit(&w, false);
	subscribe(&w);
	w.in.has_current = true;
	memset(w.in.current, 2, sizeof(w.in.current));   /* exit-a in use */

	/* exit-b a little faster: exit-a kept. */
	probe_set(&w, 2, true, 40);
	probe_set(&w, 3, true, 35);
	build(&w, &d);
	assert_int_equal(d.exit.pick.public_key[0], 2);
	assert_string_equal(d.exit.why, "");
	assert_string_equal(default_routes(&d), "2");
	desired_release(&d);

	/* Clearly faster: moved. */
	probe_set(&w, 3, true, 10);
	build(&w, &d);
	assert_int_equal(d.exit.pick.public_key[0], 3);
	assert_string_equal(d.exit.why, "exit-a is slower or not preferred");
	assert_string_equal(default_routes(&d), "3");
	desired_release(&d);

	/* exit-a stops answering. */
	probe_set(&w, 2, false, 40);
	probe_set(&w, 3, true, 35);
	build(&w, &d);
	assert_int_equal(d.exit.pick.public_key[0], 3);
	assert_string_equal(d.exit.why, "exit-a stopped answering");
	desired_release(&d);

	/* Neither answers: stay on exit-a (fail closed there). */
	probe_set(&w, 3, false, 35);
	build(&w, &d);
	assert_true(d.exit.has_pick);
	assert_int_equal(d.exit.pick.public_key[0], 2);
	assert_string_equal(d.exit.why, "");
	assert_string_equal(default_routes(&d), "2");
	desired_release(&d);
	model_release(&w.m);

	/* The only exit node, in use, is deleted on the server: gone. */
	world_init(&w, true, false, 3, device_json(1, "self", NULL, NULL, false, 1),
		   device_json(2, "exit-a", NULL, EXIT4, false, 2), device_json(4, "laptop", NULL, NULL, false, 4));
	subscribe(&w);
	w.in.has_current = true;
	memset(w.in.current, 2, sizeof(w.in.current));
	probe_set(&w, 2, true, 40);
	build(&w, &d);
	assert_int_equal(d.exit.pick.public_key[0], 2);
	desired_release(&d);
	j = json_pack("{s:I, s:[{s:I, s:s, s:o}]}", "revision", (json_int_t)200, "events", "revision",
		      (json_int_t)200, "type", "delete", "device", device_json(2, "exit-a", NULL, EXIT4, false, 2));
	if (api_watch_from_json(j, &wa, err, sizeof(err)))
		fail_msg("watch: %s", err);
	json_decref(j);
	model_apply_watch(&w.m, &wa);
	api_watch_free(&wa);
	build(&w, &d);
	assert_true(d.exit.wanted);
	assert_false(d.exit.has_pick);
	assert_string_equal(d.exit.why, "the exit node in use is gone");
	assert_string_equal(default_routes(&d), "");
	desired_release(&d);
	model_release(&w.m);

	/* The one in use is deleted while another is there: the other, and why. */
	world_init(&w, true, false, 3, device_json(1, "self", NULL, NULL, false, 1),
		   device_json(2, "exit-a", NULL, EXIT4, false, 2), device_json(3, "exit-b", NULL, EXIT4, false, 3));
	subscribe(&w);
	w.in.has_current = true;
	memset(w.in.current, 2, sizeof(w.in.current));
	probe_set(&w, 2, true, 40);
	probe_set(&w, 3, true, 40);
	j = json_pack("{s:I, s:[{s:I, s:s, s:o}]}", "revision", (json_int_t)201, "events", "revision",
		      (json_int_t)201, "type", "delete", "device", device_json(2, "exit-a", NULL, EXIT4, false, 2));
	if (api_watch_from_json(j, &wa, err, sizeof(err)))
		fail_msg("watch: %s", err);
	json_decref(j);
	model_apply_watch(&w.m, &wa);
	api_watch_free(&wa);
	build(&w, &d);
	assert_true(d.exit.has_pick);
	assert_int_equal(d.exit.pick.public_key[0], 3);
	assert_string_equal(d.exit.why, "the exit node in use is gone");
	desired_release(&d);
	model_release(&w.m);
}

static void fail_closed(void **state)
{
	struct world w;
	struct desired d;
	char status[160];

	(void)state;
	/* Pinned to exit-a, no failover: kept although it does not answer. */
	world_exit(&w, false);
	subscribe(&w);
	assert_int_equal(exit_prefs_parse("exit-a", &w.sub.prefs), 0);
	w.sub.prefs.failover = false;
	probe_set(&w, 2, false, 40);
	probe_set(&w, 3, true, 10);
	build(&w, &d);
	assert_true(d.exit.has_pick);
	assert_int_equal(d.exit.pick.public_key[0], 2);
	assert_false(d.exit.pick.reachable);
	assert_string_equal(default_routes(&d), "2");
	desired_exit_status(true, true, "", &d.exit, status, sizeof(status));
	assert_string_equal(status, "exit-a does not answer; traffic blocked");
	desired_release(&d);

	/* With failover: the other one. */
	w.sub.prefs.failover = true;
	build(&w, &d);
	assert_int_equal(d.exit.pick.public_key[0], 3);
	desired_release(&d);
	model_release(&w.m);

	/* No exit node at all. */
	world_init(&w, true, false, 2, device_json(1, "self", NULL, NULL, false, 1),
		   device_json(4, "laptop", NULL, NULL, false, 4));
	subscribe(&w);
	build(&w, &d);
	assert_true(d.exit.wanted);
	assert_false(d.exit.has_pick);
	assert_string_equal(d.exit.why, "");
	assert_string_equal(default_routes(&d), "");
	desired_exit_status(true, true, "", &d.exit, status, sizeof(status));
	assert_string_equal(status, "waiting for an exit node");
	desired_release(&d);
	model_release(&w.m);
}

/* Advertised but not approved: not an exit node (waits for an admin), not a
 * failover target; ::/0 approved only with 0.0.0.0/0 makes no exit node. */
static void pending_exit_never_used(void **state)
{
	struct world w;
	struct desired d;
	struct exit_candidate c[8];

	(void)state;
	world_init(&w, true, true, 4, device_json(1, "self", P6(1), NULL, false, 1),
		   device_json_approved(2, "exit-a", P6(2), EXIT46, "[\"::/0\"]", false, 2),
		   device_json(3, "exit-b", P6(3), EXIT4, false, 3),
		   device_json_approved(4, "pending", P6(4), EXIT46, "[]", false, 4));
	subscribe(&w);
	probe_set(&w, 2, true, 1);
	probe_set(&w, 3, true, 90);
	probe_set(&w, 4, true, 1);
	assert_int_equal(desired_exit_candidates(&w.in, c, NULL, 8), 1);
	assert_int_equal(c[0].public_key[0], 3);
	build(&w, &d);
	assert_true(d.exit.has_pick);
	assert_int_equal(d.exit.pick.public_key[0], 3);
	assert_string_equal(default_routes(&d), "3");
	assert_false(d.exit.pick_v6);
	assert_false(has_extra(peer_of(&d, 2), "::/0"));
	assert_false(has_extra(peer_of(&d, 4), "0.0.0.0/0"));
	desired_release(&d);

	/* exit-b stops answering: nothing to fail over to, fail closed on it */
	probe_set(&w, 3, false, 0);
	w.in.has_current = true;
	memset(w.in.current, 3, 32);
	build(&w, &d);
	assert_int_equal(d.exit.pick.public_key[0], 3);
	assert_false(d.exit.pick.reachable);
	assert_string_equal(default_routes(&d), "3");
	desired_release(&d);
	model_release(&w.m);
}

static void advertise_and_role(void **state)
{
	struct world w;
	struct desired d;

	(void)state;
	world_exit(&w, true);
	w.in.router_exit_node = true;
	w.in.host_ipv6_default = true;
	build(&w, &d);
	assert_true(d.known_role);
	assert_true(d.advertise4);
	assert_true(d.advertise6);
	desired_release(&d);

	/* The uplink has no IPv6 default route: v4 only. */
	w.in.host_ipv6_default = false;
	build(&w, &d);
	assert_true(d.advertise4);
	assert_false(d.advertise6);
	desired_release(&d);

	/* Not a router: neither. */
	w.in.router_exit_node = false;
	w.in.host_ipv6_default = true;
	build(&w, &d);
	assert_true(d.known_role);
	assert_false(d.advertise4);
	assert_false(d.advertise6);
	desired_release(&d);
	model_release(&w.m);

	/* The organization has no prefix6: v4 only, whatever the host has. */
	world_exit(&w, false);
	w.in.router_exit_node = true;
	w.in.host_ipv6_default = true;
	build(&w, &d);
	assert_true(d.advertise4);
	assert_false(d.advertise6);
	desired_release(&d);
	model_release(&w.m);

	/* The organization is not known yet: the role is not known. */
	memset(&w, 0, sizeof(w));
	model_init(&w.m);
	memset(w.self_key, 1, sizeof(w.self_key));
	w.in.m = &w.m;
	w.in.self_key = w.self_key;
	w.in.sub = &w.sub;
	w.in.router_exit_node = true;
	build(&w, &d);
	assert_false(d.known_role);
	assert_int_equal(d.n_peers, 0);
	assert_int_equal(d.n_targets, 0);
	desired_release(&d);
	model_release(&w.m);
}

static void candidates(void **state)
{
	struct world w;
	struct exit_candidate c[4];
	const struct api_device *dev[4];
	struct api_device rec;

	(void)state;
	world_exit(&w, false);
	probe_set(&w, 2, false, 40);
	probe_set(&w, 3, true, 10);
	assert_int_equal(desired_exit_candidates(&w.in, c, dev, 4), 2);
	assert_int_equal(c[0].public_key[0], 2);
	assert_string_equal(c[0].hostname, "exit-a");
	assert_ptr_equal(dev[0], model_find(&w.m, c[0].public_key));
	assert_int_equal(c[0].family, AF_INET);
	assert_memory_equal(c[0].tunnel_ip, ((uint8_t[4]){ 100, 100, 0, 2 }), 4);
	assert_true(c[0].measured);
	assert_false(c[0].reachable);
	assert_int_equal(c[1].public_key[0], 3);
	assert_true(c[1].reachable);
	assert_int_equal(c[1].latency_us, 10000);
	assert_int_equal(c[1].reachable_since_ns, S);
	/* Bounded by cap; dev may be NULL. */
	assert_int_equal(desired_exit_candidates(&w.in, c, NULL, 1), 1);
	model_release(&w.m);

	parse_device(&rec, device_json(3, "b", NULL, EXIT46, false, 1));
	assert_true(desired_advertises_v6(&rec));
	api_device_free(&rec);
	parse_device(&rec, device_json(3, "b", NULL, "[\"0.0.0.0/0\", \"2001:db8::/32\"]", false, 1));
	assert_false(desired_advertises_v6(&rec));
	api_device_free(&rec);
}

static void exit_status_texts(void **state)
{
	struct world w;
	struct desired d;
	char status[160];

	(void)state;
	world_exit(&w, false);
	subscribe(&w);
	probe_set(&w, 2, true, 40);
	probe_set(&w, 3, true, 10);
	build(&w, &d);

	desired_exit_status(false, false, "", &d.exit, status, sizeof(status));
	assert_string_equal(status, "off");
	desired_exit_status(true, false, "cannot create table inet nexodus-wg0", &d.exit, status, sizeof(status));
	assert_string_equal(status, "error: cannot create table inet nexodus-wg0");
	/* wanted, not installed, no failure: the interface or the out-of-band
	 * addresses are not there yet */
	desired_exit_status(true, false, "", &d.exit, status, sizeof(status));
	assert_string_equal(status, "starting");
	desired_exit_status(true, false, NULL, &d.exit, status, sizeof(status));
	assert_string_equal(status, "starting");
	desired_exit_status(true, true, "", &d.exit, status, sizeof(status));
	assert_string_equal(status, "using exit-b (100.100.0.3)");
	desired_release(&d);

	/* The one in use stops answering and none other does. */
	w.in.has_current = true;
	memset(w.in.current, 3, sizeof(w.in.current));
	probe_set(&w, 2, false, 40);
	probe_set(&w, 3, false, 10);
	build(&w, &d);
	desired_exit_status(true, true, "", &d.exit, status, sizeof(status));
	assert_string_equal(status, "exit-b does not answer; traffic blocked");
	desired_release(&d);

	/* Nothing to pick. */
	w.sub.wanted = false;
	build(&w, &d);
	desired_exit_status(true, true, "", &d.exit, status, sizeof(status));
	assert_string_equal(status, "waiting for an exit node");
	/* A short buffer is cut, not overrun. */
	desired_exit_status(true, true, "", &d.exit, status, 8);
	assert_string_equal(status, "waiting");
	desired_release(&d);
	model_release(&w.m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(peers_from_records),
		cmocka_unit_test(self_by_id_or_key),
		cmocka_unit_test(ipv6_from_tunnel_ip6),
		cmocka_unit_test(exit_routes_on_pick),
		cmocka_unit_test(keep_current_and_why),
		cmocka_unit_test(fail_closed),
		cmocka_unit_test(pending_exit_never_used),
		cmocka_unit_test(advertise_and_role),
		cmocka_unit_test(candidates),
		cmocka_unit_test(exit_status_texts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
