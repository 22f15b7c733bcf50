/* nexd's model: device lists and watch answers folded in (our own record
 * kept as a deep copy, deleted, changed), payloads moved, endpoints, the
 * organization, the out-of-band addresses and the API state reported only
 * when they change. Records come from JSON shaped like the API server's. */
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
#include "nexd/model.h"

/* Device n: id ...-<n>, public key n repeated, tunnel_ip 100.100.0.n, a
 * "stun" endpoint (listed first) and a "local" one. ip6 NULL: null. */
static json_t *device_json(unsigned n, const char *host, const char *ip6, const char *adv, bool client, uint64_t rev)
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
		 n, host, key, n, six, n, 40000 + n, n, adv ? adv : "[]", adv ? adv : "[]", client ? "true" : "false", rev);
	j = json_loads(text, JSON_REJECT_DUPLICATES, &e);
	if (!j)
		fail_msg("bad test JSON: %s", e.text);
	return j;
}

static void parse_device(struct api_device *out, json_t *j)
{
	char err[API_PARSE_ERROR_MAX];

	if (api_device_from_json(j, out, err, sizeof(err)))
		fail_msg("device: %s", err);
	json_decref(j);
}

/* {"revision": rev, "devices": [...]}; takes the n json_t * given. */
static void parse_list(struct api_device_list *out, uint64_t rev, size_t n, ...)
{
	char err[API_PARSE_ERROR_MAX];
	json_t *j = json_pack("{s:I, s:[]}", "revision", (json_int_t)rev, "devices");
	va_list ap;

	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(json_object_get(j, "devices"), va_arg(ap, json_t *));
	va_end(ap);
	if (api_device_list_from_json(j, out, err, sizeof(err)))
		fail_msg("list: %s", err);
	json_decref(j);
}

struct wev {
	const char *type;
	json_t *device;
};

/* {"revision": rev, "events": [{"revision": rev, "type", "device"}...]} */
static void parse_watch(struct api_watch *out, uint64_t rev, size_t n, const struct wev *ev)
{
	char err[API_PARSE_ERROR_MAX];
	json_t *j = json_pack("{s:I, s:[]}", "revision", (json_int_t)rev, "events");

	for (size_t i = 0; i < n; i++)
		json_array_append_new(json_object_get(j, "events"),
				      json_pack("{s:I, s:s, s:o}", "revision", (json_int_t)rev, "type", ev[i].type,
						"device", ev[i].device));
	if (api_watch_from_json(j, out, err, sizeof(err)))
		fail_msg("watch: %s", err);
	json_decref(j);
}

static const uint8_t *key_of(unsigned n)
{
	static uint8_t k[KEY_LEN];

	memset(k, (int)n, sizeof(k));
	return k;
}

static void assert_endpoint(const union sockaddr_any *a, const char *want)
{
	char text[ADDR_ENDPOINT_STRLEN];

	addr_endpoint_format(a, text);
	assert_string_equal(text, want);
}

/* A model registered as device 1. */
static void registered_model(struct mesh_model *m, bool client, uint64_t rev)
{
	struct api_device self;

	model_init(m);
	parse_device(&self, device_json(1, "self", NULL, NULL, client, rev));
	assert_int_equal(model_set_registered(m, &self), MODEL_REGISTERED | MODEL_SELF);
}

static void list_replaces_mesh_and_copies_self(void **state)
{
	struct mesh_model m;
	struct api_device self;
	struct api_device_list l;
	const struct api_device *d;

	(void)state;
	model_init(&m);
	assert_false(m.listed);

	/* Not registered yet: our record in the list is just a device. */
	parse_list(&l, 10, 2, device_json(1, "self", NULL, NULL, false, 3), device_json(2, "two", NULL, NULL, false, 4));
	assert_int_equal(model_apply_list(&m, &l), MODEL_MESH);
	assert_true(m.listed);
	assert_int_equal(m.mesh.revision, 10);
	assert_int_equal(m.mesh.n_devices, 2);
	assert_null(l.devices);               /* moved */
	assert_int_equal(l.n_devices, 0);
	api_device_list_free(&l);             /* harmless */

	parse_device(&self, device_json(1, "self", NULL, NULL, false, 3));
	assert_int_equal(model_set_registered(&m, &self), MODEL_REGISTERED | MODEL_SELF);
	assert_true(m.registered);

	/* Our record in the list: MODEL_SELF, m.self a deep copy of it. */
	parse_list(&l, 11, 3, device_json(2, "two", NULL, NULL, false, 4),
		   device_json(1, "self-renamed", NULL, "[\"10.1.0.0/24\"]", true, 11),
		   device_json(3, "three", NULL, NULL, false, 5));
	assert_int_equal(model_apply_list(&m, &l), MODEL_MESH | MODEL_SELF);
	api_device_list_free(&l);
	assert_int_equal(m.mesh.n_devices, 3);
	assert_int_equal(m.mesh.revision, 11);
	assert_string_equal(m.self.hostname, "self-renamed");
	assert_true(m.self.exit_node_client);
	assert_int_equal(m.self.revision, 11);
	d = model_find(&m, key_of(1));
	assert_non_null(d);
	assert_ptr_not_equal(m.self.endpoints, d->endpoints);
	assert_ptr_not_equal(m.self.advertise_cidrs, d->advertise_cidrs);

	/* Another list without us: m.self stays, still valid after the old
	 * list's arrays are gone (ASan would see a use after free). */
	parse_list(&l, 12, 1, device_json(2, "two", NULL, NULL, false, 4));
	assert_int_equal(model_apply_list(&m, &l), MODEL_MESH);
	assert_int_equal(m.mesh.n_devices, 1);
	assert_null(model_find(&m, key_of(1)));
	assert_string_equal(m.self.hostname, "self-renamed");
	assert_int_equal(m.self.n_endpoints, 2);
	assert_int_equal(m.self.endpoints[0].source, API_ENDPOINT_STUN);
	assert_endpoint(&m.self.endpoints[0].addr, "198.51.100.1:40001");
	assert_endpoint(&m.self.endpoints[1].addr, "192.0.2.1:51820");
	assert_int_equal(m.self.n_advertise_cidrs, 1);
	assert_int_equal(m.self.advertise_cidrs[0].prefix, 24);

	/* A device with our public key but another id is not us. */
	parse_list(&l, 13, 1, device_json(1, "self", NULL, NULL, false, 13));
	snprintf(l.devices[0].id, sizeof(l.devices[0].id), "00000000-0000-4000-8000-0000000000ff");
	assert_int_equal(model_apply_list(&m, &l), MODEL_MESH);
	assert_int_equal(m.self.revision, 11);

	/* An empty list. */
	parse_list(&l, 14, 0);
	assert_int_equal(model_apply_list(&m, &l), MODEL_MESH);
	assert_int_equal(m.mesh.n_devices, 0);
	model_release(&m);
}

static void watch_upsert_delete(void **state)
{
	struct mesh_model m;
	struct api_device_list l;
	struct api_watch w;
	const struct api_device *d;
	const void *moved;

	(void)state;
	registered_model(&m, false, 3);
	parse_list(&l, 10, 2, device_json(1, "self", NULL, NULL, false, 3), device_json(2, "two", NULL, NULL, false, 4));
	assert_int_equal(model_apply_list(&m, &l), MODEL_MESH | MODEL_SELF);

	/* A new device: added; its payload moved, not copied. */
	parse_watch(&w, 12, 1, (struct wev[]){ { "upsert", device_json(3, "three", NULL, NULL, false, 12) } });
	moved = w.events[0].device.endpoints;
	assert_int_equal(model_apply_watch(&m, &w), MODEL_MESH);
	assert_null(w.events[0].device.endpoints);
	api_watch_free(&w);                    /* no double free */
	assert_int_equal(m.mesh.revision, 12);
	assert_int_equal(m.mesh.n_devices, 3);
	d = model_find(&m, key_of(3));
	assert_non_null(d);
	assert_ptr_equal(d->endpoints, moved);
	assert_string_equal(d->hostname, "three");
	assert_endpoint(&d->endpoints[1].addr, "192.0.2.3:51820");

	/* A known device: replaced (the count stays). */
	parse_watch(&w, 13, 1, (struct wev[]){ { "upsert", device_json(2, "two-now-exit", NULL, "[\"0.0.0.0/0\"]", false, 13) } });
	assert_int_equal(model_apply_watch(&m, &w), MODEL_MESH);
	api_watch_free(&w);
	assert_int_equal(m.mesh.n_devices, 3);
	d = model_find(&m, key_of(2));
	assert_non_null(d);
	assert_string_equal(d->hostname, "two-now-exit");
	assert_true(api_device_is_exit_node(d));
	assert_int_equal(d->revision, 13);

	/* A delete: removed. */
	parse_watch(&w, 14, 1, (struct wev[]){ { "delete", device_json(3, "three", NULL, NULL, false, 12) } });
	assert_int_equal(model_apply_watch(&m, &w), MODEL_MESH);
	api_watch_free(&w);
	assert_int_equal(m.mesh.n_devices, 2);
	assert_null(model_find(&m, key_of(3)));
	assert_non_null(model_find(&m, key_of(2)));
	assert_non_null(model_find(&m, key_of(1)));

	/* A delete of a device we never heard of: nothing breaks. */
	parse_watch(&w, 15, 1, (struct wev[]){ { "delete", device_json(9, "nine", NULL, NULL, false, 15) } });
	assert_int_equal(model_apply_watch(&m, &w), MODEL_MESH);
	api_watch_free(&w);
	assert_int_equal(m.mesh.n_devices, 2);

	/* Several events in one answer, in order: added, then deleted again,
	 * and another added. */
	parse_watch(&w, 17, 3,
		    (struct wev[]){ { "upsert", device_json(4, "four", NULL, NULL, false, 16) },
				    { "upsert", device_json(5, "five", NULL, NULL, false, 16) },
				    { "delete", device_json(4, "four", NULL, NULL, false, 17) } });
	assert_int_equal(model_apply_watch(&m, &w), MODEL_MESH);
	api_watch_free(&w);
	assert_int_equal(m.mesh.n_devices, 3);
	assert_null(model_find(&m, key_of(4)));
	assert_non_null(model_find(&m, key_of(5)));
	assert_int_equal(m.mesh.revision, 17);

	/* A watch that timed out: nothing changed but the revision. */
	parse_watch(&w, 30, 0, NULL);
	assert_int_equal(model_apply_watch(&m, &w), 0);
	api_watch_free(&w);
	assert_int_equal(m.mesh.revision, 30);
	assert_int_equal(m.mesh.n_devices, 3);
	model_release(&m);
}

static void watch_self(void **state)
{
	struct mesh_model m;
	struct api_device_list l;
	struct api_watch w;
	const struct api_device *d;

	(void)state;
	registered_model(&m, false, 3);
	parse_list(&l, 10, 2, device_json(1, "self", NULL, NULL, false, 3), device_json(2, "two", NULL, NULL, false, 4));
	model_apply_list(&m, &l);
	assert_false(m.self.exit_node_client);

	/* Our record changed on the server (exit_node_client on). */
	parse_watch(&w, 15, 1, (struct wev[]){ { "upsert", device_json(1, "self", NULL, NULL, true, 15) } });
	assert_int_equal(model_apply_watch(&m, &w), MODEL_MESH | MODEL_SELF);
	api_watch_free(&w);
	assert_true(m.self.exit_node_client);
	assert_int_equal(m.self.revision, 15);
	assert_int_equal(m.mesh.revision, 15);
	d = model_find(&m, key_of(1));
	assert_non_null(d);
	assert_true(d->exit_node_client);
	assert_ptr_not_equal(m.self.endpoints, d->endpoints);   /* a copy of its own */

	/* And off again. */
	parse_watch(&w, 16, 1, (struct wev[]){ { "upsert", device_json(1, "self", NULL, NULL, false, 16) } });
	assert_int_equal(model_apply_watch(&m, &w), MODEL_MESH | MODEL_SELF);
	api_watch_free(&w);
	assert_false(m.self.exit_node_client);

	/* Deleted on the server. */
	parse_watch(&w, 17, 1, (struct wev[]){ { "delete", device_json(1, "self", NULL, NULL, false, 16) } });
	assert_int_equal(model_apply_watch(&m, &w), MODEL_MESH | MODEL_SELF_DELETED);
	api_watch_free(&w);
	assert_null(model_find(&m, key_of(1)));
	assert_int_equal(m.mesh.n_devices, 1);
	/* The record we had stays readable (the loop still needs our id). */
	assert_string_equal(m.self.id, "00000000-0000-4000-8000-000000000001");
	assert_int_equal(m.self.n_endpoints, 2);
	assert_endpoint(&m.self.endpoints[1].addr, "192.0.2.1:51820");
	model_release(&m);

	/* Not registered: our id deleted is no "self deleted". */
	model_init(&m);
	parse_watch(&w, 5, 1, (struct wev[]){ { "delete", device_json(1, "self", NULL, NULL, false, 5) } });
	assert_int_equal(model_apply_watch(&m, &w), MODEL_MESH);
	api_watch_free(&w);
	model_release(&m);
}

static void endpoints_changes(void **state)
{
	struct mesh_model m;
	struct ev_endpoints e;

	(void)state;
	model_init(&m);
	assert_false(m.endpoints_known);

	/* First round, even with nothing found: reported. */
	memset(&e, 0, sizeof(e));
	assert_int_equal(model_set_endpoints(&m, &e), MODEL_ENDPOINTS);
	assert_true(m.endpoints_known);
	assert_int_equal(model_set_endpoints(&m, &e), 0);
	model_release(&m);

	model_init(&m);
	memset(&e, 0, sizeof(e));
	e.n = 2;
	e.eps[0].source = API_ENDPOINT_LOCAL;
	assert_int_equal(addr_endpoint_parse("192.0.2.1:51820", &e.eps[0].addr), 0);
	e.eps[1].source = API_ENDPOINT_STUN;
	assert_int_equal(addr_endpoint_parse("198.51.100.1:40001", &e.eps[1].addr), 0);
	e.has_reflexive = true;
	e.reflexive = e.eps[1].addr;
	assert_int_equal(model_set_endpoints(&m, &e), MODEL_ENDPOINTS | MODEL_REFLEXIVE);
	assert_int_equal(m.n_eps, 2);
	assert_true(m.mesh_self.has_reflexive);
	assert_endpoint(&m.mesh_self.reflexive_ep, "198.51.100.1:40001");

	/* The same again: nothing. */
	assert_int_equal(model_set_endpoints(&m, &e), 0);

	/* The NAT gave another port: both. */
	assert_int_equal(addr_endpoint_parse("198.51.100.1:40002", &e.eps[1].addr), 0);
	e.reflexive = e.eps[1].addr;
	assert_int_equal(model_set_endpoints(&m, &e), MODEL_ENDPOINTS | MODEL_REFLEXIVE);
	assert_endpoint(&m.mesh_self.reflexive_ep, "198.51.100.1:40002");

	/* Only the local address moved: only the endpoints. */
	assert_int_equal(addr_endpoint_parse("192.0.2.99:51820", &e.eps[0].addr), 0);
	assert_int_equal(model_set_endpoints(&m, &e), MODEL_ENDPOINTS);

	/* The reflexive address is lost (the list unchanged): only that. */
	e.has_reflexive = false;
	assert_int_equal(model_set_endpoints(&m, &e), MODEL_REFLEXIVE);
	assert_false(m.mesh_self.has_reflexive);
	assert_int_equal(model_set_endpoints(&m, &e), 0);

	/* The source counts, not only the address. */
	e.eps[0].source = API_ENDPOINT_STUN;
	assert_int_equal(model_set_endpoints(&m, &e), MODEL_ENDPOINTS);

	/* A count over the limit is clamped. */
	e.n = 100;
	model_set_endpoints(&m, &e);
	assert_int_equal(m.n_eps, EV_MAX_ENDPOINTS);
	model_release(&m);

	/* model_endpoints_equal */
	{
		struct api_endpoint a[1], b[1];

		a[0].source = b[0].source = API_ENDPOINT_LOCAL;
		assert_int_equal(addr_endpoint_parse("192.0.2.1:1", &a[0].addr), 0);
		b[0].addr = a[0].addr;
		assert_true(model_endpoints_equal(a, 1, b, 1));
		assert_false(model_endpoints_equal(a, 1, b, 0));
		b[0].addr.in4.sin_port = htons(2);
		assert_false(model_endpoints_equal(a, 1, b, 1));
	}
}

static void org_oob_api_changes(void **state)
{
	struct mesh_model m;
	struct ev_org o;
	struct oob oob;

	(void)state;
	model_init(&m);

	memset(&o, 0, sizeof(o));
	assert_int_equal(cidr_parse("100.100.0.0/16", &o.prefix), 0);
	assert_int_equal(model_set_org(&m, &o), MODEL_ORG);
	assert_true(m.has_org);
	assert_false(m.has_prefix6);
	assert_int_equal(model_set_org(&m, &o), 0);
	o.has_prefix6 = true;
	assert_int_equal(cidr_parse("2001:db8:6464::/64", &o.prefix6), 0);
	assert_int_equal(model_set_org(&m, &o), MODEL_ORG);
	assert_true(m.has_prefix6);
	assert_true(cidr_equal(&m.prefix6, &o.prefix6));
	assert_int_equal(model_set_org(&m, &o), 0);
	assert_int_equal(cidr_parse("2001:db8:1::/64", &o.prefix6), 0);
	assert_int_equal(model_set_org(&m, &o), MODEL_ORG);
	assert_int_equal(cidr_parse("100.101.0.0/16", &o.prefix), 0);
	assert_int_equal(model_set_org(&m, &o), MODEL_ORG);
	o.has_prefix6 = false;
	assert_int_equal(model_set_org(&m, &o), MODEL_ORG);
	assert_false(m.has_prefix6);
	assert_int_equal(model_set_org(&m, &o), 0);

	/* Out-of-band addresses: the first set (even empty), then changes only. */
	memset(&oob, 0, sizeof(oob));
	assert_int_equal(model_set_oob(&m, &oob), MODEL_OOB);
	assert_true(m.oob_known);
	assert_int_equal(model_set_oob(&m, &oob), 0);
	assert_int_equal(addr_endpoint_parse("192.0.2.53:53", &oob.dns[0]), 0);
	oob.n_dns = 1;
	assert_int_equal(model_set_oob(&m, &oob), MODEL_OOB);
	assert_int_equal(model_set_oob(&m, &oob), 0);
	assert_int_equal(addr_endpoint_parse("192.0.2.54:53", &oob.dns[0]), 0);
	assert_int_equal(model_set_oob(&m, &oob), MODEL_OOB);

	/* API state: starts "connecting", not connected. */
	assert_false(m.api_connected);
	assert_string_equal(m.api_state, "connecting");
	assert_int_equal(model_set_api_state(&m, false, "connecting"), 0);
	assert_int_equal(model_set_api_state(&m, true, "connected"), MODEL_API);
	assert_true(m.api_connected);
	assert_string_equal(m.api_state, "connected");
	assert_int_equal(model_set_api_state(&m, true, "connected"), 0);
	assert_int_equal(model_set_api_state(&m, false, "connected"), MODEL_API);
	assert_int_equal(model_set_api_state(&m, false, "cannot reach the API server"), MODEL_API);
	assert_string_equal(m.api_state, "cannot reach the API server");
	assert_int_equal(model_set_api_state(&m, false, "cannot reach the API server"), 0);
	model_release(&m);
}

static void registered_takes_ownership(void **state)
{
	struct mesh_model m;
	struct api_device self;

	(void)state;
	model_init(&m);
	parse_device(&self, device_json(1, "self", NULL, "[\"10.0.0.0/8\"]", false, 3));
	assert_non_null(self.endpoints);
	assert_int_equal(model_set_registered(&m, &self), MODEL_REGISTERED | MODEL_SELF);
	assert_true(m.registered);
	assert_null(self.endpoints);
	assert_null(self.advertise_cidrs);
	assert_int_equal(self.n_endpoints, 0);
	assert_int_equal(self.n_advertise_cidrs, 0);
	assert_string_equal(self.id, "");
	api_device_free(&self);               /* harmless: nothing left */
	assert_string_equal(m.self.id, "00000000-0000-4000-8000-000000000001");
	assert_int_equal(m.self.n_endpoints, 2);
	assert_int_equal(m.self.n_advertise_cidrs, 1);

	/* A new registration replaces the old record (whose arrays are freed:
	 * LeakSanitizer would see them otherwise). */
	parse_device(&self, device_json(1, "self-again", NULL, NULL, false, 9));
	assert_int_equal(model_set_registered(&m, &self), MODEL_REGISTERED | MODEL_SELF);
	assert_string_equal(m.self.hostname, "self-again");
	assert_int_equal(m.self.n_advertise_cidrs, 0);
	model_release(&m);
	model_release(&m);                    /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(list_replaces_mesh_and_copies_self),
		cmocka_unit_test(watch_upsert_delete),
		cmocka_unit_test(watch_self),
		cmocka_unit_test(endpoints_changes),
		cmocka_unit_test(org_oob_api_changes),
		cmocka_unit_test(registered_takes_ownership),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
