/* apiclient: the device JSON parser (valid records, every field missing or of
 * the wrong type or value, arrays over their limits, approved_cidrs and what
 * makes an exit node), device lists and watch answers, RFC 3339 times, the
 * TURN relay list, the re-registration challenge and its proof; the HTTP
 * client against a canned server (errors, a deleted device's 401, garbled
 * and oversized replies, the bearer header, registration with relays and
 * with a proof, the relays request, approve/unapprove, organization update,
 * registration keys); nexctl's table output. */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "apiclient/apiclient.h"
#include "apiclient/challenge.h"
#include "apiclient/device.h"
#include "common/key.h"
#include "common/regproof.h"
#include "nexctl/output.h"

#define KEY_A "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

static const char valid_device[] =
	"{\"id\": \"0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6b\", \"organization\": \"acme-1\","
	" \"hostname\": \"laptop.example_1\", \"public_key\": \"" KEY_A "\","
	" \"tunnel_ip\": \"100.100.0.7\","
	" \"endpoints\": [{\"source\": \"local\", \"address\": \"192.0.2.10:51820\"},"
	"                {\"source\": \"stun\", \"address\": \"[2001:db8::1]:40001\"}],"
	" \"advertise_cidrs\": [\"0.0.0.0/0\", \"198.51.100.7/24\"],"
	" \"exit_node_client\": true, \"exit_node_status\": \"off\", \"os\": \"linux\","
	" \"version\": \"0.1.0\", \"last_seen\": \"2026-11-25T08:46:00Z\", \"online\": true,"
	" \"revision\": 42, \"created_at\": \"2026-11-25T08:45:40.123+01:00\", \"future\": [1]}";

static json_t *load(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &e);

	if (!j)
		fail_msg("bad test JSON: %s", e.text);
	return j;
}

static void test_device_valid(void **state)
{
	json_t *j = load(valid_device);
	struct api_device d;
	char err[API_PARSE_ERROR_MAX];
	char text[ADDR_ENDPOINT_STRLEN];

	(void)state;
	assert_int_equal(api_device_from_json(j, &d, err, sizeof(err)), 0);
	assert_string_equal(d.id, "0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6b");
	assert_string_equal(d.organization, "acme-1");
	assert_string_equal(d.hostname, "laptop.example_1");
	assert_int_equal(d.tunnel_family, AF_INET);
	assert_memory_equal(d.tunnel_ip, ((uint8_t[]){ 100, 100, 0, 7 }), 4);
	assert_false(d.has_tunnel_ip6);   /* absent: an older server */
	assert_int_equal(d.n_endpoints, 2);
	assert_int_equal(d.endpoints[0].source, API_ENDPOINT_LOCAL);
	assert_int_equal(d.endpoints[1].source, API_ENDPOINT_STUN);
	addr_endpoint_format(&d.endpoints[1].addr, text);
	assert_string_equal(text, "[2001:db8::1]:40001");
	assert_int_equal(d.n_advertise_cidrs, 2);
	/* stored normalized */
	assert_int_equal(d.advertise_cidrs[1].prefix, 24);
	assert_memory_equal(d.advertise_cidrs[1].addr, ((uint8_t[]){ 198, 51, 100, 0 }), 4);
	/* no "approved_cidrs" (an older server): nothing approved, so an
	 * advertised 0.0.0.0/0 is not an exit node yet */
	assert_int_equal(d.n_approved_cidrs, 0);
	assert_null(d.approved_cidrs);
	assert_false(api_device_is_exit_node(&d));
	assert_true(api_device_exit_pending(&d));
	assert_false(api_device_exit_v6(&d));
	assert_true(d.exit_node_client);
	assert_string_equal(d.exit_node_status, "off");
	assert_string_equal(d.os, "linux");
	assert_string_equal(d.version, "0.1.0");
	assert_true(d.online);
	assert_int_equal(d.revision, 42);
	assert_int_equal(d.last_seen, 1795596360);            /* 2026-11-25T08:46:00Z */
	assert_int_equal(d.created_at, 1795596340 - 3600);    /* 08:45:40+01:00 */
	api_device_free(&d);
	api_device_free(&d); /* twice is harmless */
	json_decref(j);
}

static void test_device_nulls_and_empties(void **state)
{
	json_t *j = load(valid_device);
	struct api_device d;

	(void)state;
	json_object_set_new(j, "last_seen", json_null());
	json_object_set_new(j, "os", json_null());
	json_object_set_new(j, "version", json_string(""));
	json_object_set_new(j, "endpoints", json_array());
	json_object_set_new(j, "advertise_cidrs", json_array());
	json_object_set_new(j, "tunnel_ip", json_string("2001:db8::5"));
	assert_int_equal(api_device_from_json(j, &d, NULL, 0), 0);
	assert_int_equal(d.last_seen, -1);
	assert_string_equal(d.os, "");
	assert_int_equal(d.n_endpoints, 0);
	assert_null(d.endpoints);
	assert_false(api_device_is_exit_node(&d));
	assert_false(api_device_exit_pending(&d));
	assert_int_equal(d.tunnel_family, AF_INET6);
	api_device_free(&d);
	json_decref(j);
}

/* "tunnel_ip6": optional; null or absent is none, a string an IPv6 address. */
static void test_device_tunnel_ip6(void **state)
{
	static const uint8_t want[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x64, 0x64, 0, 0,
					  0, 0, 0, 0, 0x64, 0x64, 0, 7 };
	json_t *j = load(valid_device);
	struct api_device d;
	char err[API_PARSE_ERROR_MAX];

	(void)state;
	json_object_set_new(j, "tunnel_ip6", json_string("2001:db8:6464::6464:7"));
	assert_int_equal(api_device_from_json(j, &d, err, sizeof(err)), 0);
	assert_true(d.has_tunnel_ip6);
	assert_memory_equal(d.tunnel_ip6, want, 16);
	assert_int_equal(d.tunnel_family, AF_INET);
	api_device_free(&d);

	json_object_set_new(j, "tunnel_ip6", json_null());
	assert_int_equal(api_device_from_json(j, &d, err, sizeof(err)), 0);
	assert_false(d.has_tunnel_ip6);
	api_device_free(&d);
	json_decref(j);
}

/* "approved_cidrs": parsed like advertise_cidrs; an exit node needs 0.0.0.0/0
 * (::/0 for IPv6) in both lists. */
static void test_device_approved(void **state)
{
	json_t *j = load(valid_device);
	struct api_device d;
	char err[API_PARSE_ERROR_MAX];

	(void)state;
	json_object_set_new(j, "approved_cidrs", json_pack("[s, s]", "0.0.0.0/0", "198.51.100.9/24"));
	assert_int_equal(api_device_from_json(j, &d, err, sizeof(err)), 0);
	assert_int_equal(d.n_approved_cidrs, 2);
	assert_int_equal(d.approved_cidrs[0].family, AF_INET);
	assert_int_equal(d.approved_cidrs[0].prefix, 0);
	/* stored normalized */
	assert_int_equal(d.approved_cidrs[1].prefix, 24);
	assert_memory_equal(d.approved_cidrs[1].addr, ((uint8_t[]){ 198, 51, 100, 0 }), 4);
	assert_true(api_device_is_exit_node(&d));
	assert_false(api_device_exit_pending(&d));
	assert_false(api_device_exit_v6(&d));
	api_device_free(&d);
	assert_null(d.approved_cidrs);
	assert_int_equal(d.n_approved_cidrs, 0);

	/* approved but no longer advertised: not an exit node (both lists) */
	json_object_set_new(j, "advertise_cidrs", json_pack("[s]", "198.51.100.0/24"));
	assert_int_equal(api_device_from_json(j, &d, err, sizeof(err)), 0);
	assert_false(api_device_is_exit_node(&d));
	assert_false(api_device_exit_pending(&d));
	api_device_free(&d);

	/* ::/0: IPv6 through it only when advertised and approved too */
	json_object_set_new(j, "advertise_cidrs", json_pack("[s, s]", "0.0.0.0/0", "::/0"));
	json_object_set_new(j, "approved_cidrs", json_pack("[s]", "0.0.0.0/0"));
	assert_int_equal(api_device_from_json(j, &d, err, sizeof(err)), 0);
	assert_true(api_device_is_exit_node(&d));
	assert_false(api_device_exit_v6(&d));
	api_device_free(&d);
	json_object_set_new(j, "approved_cidrs", json_pack("[s, s]", "::/0", "0.0.0.0/0"));
	assert_int_equal(api_device_from_json(j, &d, err, sizeof(err)), 0);
	assert_true(api_device_is_exit_node(&d));
	assert_true(api_device_exit_v6(&d));
	api_device_free(&d);
	/* ::/0 alone approved: IPv6 yes, IPv4 pending */
	json_object_set_new(j, "approved_cidrs", json_pack("[s]", "::/0"));
	assert_int_equal(api_device_from_json(j, &d, err, sizeof(err)), 0);
	assert_false(api_device_is_exit_node(&d));
	assert_true(api_device_exit_pending(&d));
	assert_true(api_device_exit_v6(&d));
	api_device_free(&d);
	/* an empty list */
	json_object_set_new(j, "approved_cidrs", json_array());
	assert_int_equal(api_device_from_json(j, &d, err, sizeof(err)), 0);
	assert_int_equal(d.n_approved_cidrs, 0);
	assert_true(api_device_exit_pending(&d));
	api_device_free(&d);
	json_decref(j);
}

static const char *const fields[] = {
	"id", "organization", "hostname", "public_key", "tunnel_ip", "endpoints", "advertise_cidrs",
	"exit_node_client", "exit_node_status", "os", "version", "last_seen", "online", "revision",
	"created_at",
};
#define N_FIELDS (sizeof(fields) / sizeof(fields[0]))

/* Sets one field to a value and expects -EBADMSG naming that field. */
static void expect_bad(const char *field, json_t *value)
{
	json_t *j = load(valid_device);
	struct api_device d;
	char err[API_PARSE_ERROR_MAX];

	if (value)
		json_object_set_new(j, field, value);
	else
		json_object_del(j, field);
	if (api_device_from_json(j, &d, err, sizeof(err)) != -EBADMSG)
		fail_msg("field %s: accepted", field);
	if (strncmp(err, field, strlen(field)))
		fail_msg("field %s: error \"%s\" does not name it", field, err);
	assert_null(d.endpoints);
	assert_null(d.advertise_cidrs);
	assert_null(d.approved_cidrs);
	api_device_free(&d);
	json_decref(j);
}

static void test_device_missing_fields(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++)
		expect_bad(fields[i], NULL);
}

static void test_device_wrong_types(void **state)
{
	(void)state;
	for (size_t i = 0; i < N_FIELDS; i++) {
		bool is_bool = !strcmp(fields[i], "exit_node_client") || !strcmp(fields[i], "online");
		bool is_int = !strcmp(fields[i], "revision");

		expect_bad(fields[i], json_integer(is_int ? -1 : 7));
		expect_bad(fields[i], json_object());
		expect_bad(fields[i], json_real(1.0));
		if (is_bool || is_int)
			expect_bad(fields[i], json_string("true"));
		else
			expect_bad(fields[i], json_true());
		if (strcmp(fields[i], "os") && strcmp(fields[i], "version") &&
		    strcmp(fields[i], "last_seen"))
			expect_bad(fields[i], json_null());
		if (strcmp(fields[i], "endpoints") && strcmp(fields[i], "advertise_cidrs"))
			expect_bad(fields[i], json_array());
	}
}

static void test_device_bad_values(void **state)
{
	char long_host[API_HOSTNAME_MAX + 2];

	(void)state;
	expect_bad("id", json_string("0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6"));
	expect_bad("id", json_string("0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6bb"));
	expect_bad("id", json_string("0f8e2a64x7d1c-4b6e-9a0b-1c2d3e4f5a6b"));
	expect_bad("id", json_string("0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6g"));
	expect_bad("id", json_string(""));
	expect_bad("organization", json_string("Acme"));
	expect_bad("organization", json_string("-acme"));
	expect_bad("organization", json_string("a/b"));
	expect_bad("hostname", json_string("lap top"));
	expect_bad("hostname", json_string(""));
	expect_bad("hostname", json_string("a\x1b[31m"));
	memset(long_host, 'a', sizeof(long_host) - 1);
	long_host[sizeof(long_host) - 1] = '\0';
	expect_bad("hostname", json_string(long_host));
	expect_bad("hostname", json_stringn("ab\0cd", 5));
	expect_bad("public_key", json_string("AAAA"));
	expect_bad("public_key", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	expect_bad("public_key", json_string(KEY_A "x"));
	expect_bad("tunnel_ip", json_string("100.100.0.256"));
	expect_bad("tunnel_ip", json_string("100.100.0.1/32"));
	expect_bad("tunnel_ip", json_string("100.100.0.1:5"));
	expect_bad("tunnel_ip6", json_string("100.100.0.7"));
	expect_bad("tunnel_ip6", json_string("2001:db8::7/128"));
	expect_bad("tunnel_ip6", json_string("2001:db8::7 "));
	expect_bad("tunnel_ip6", json_string("fe80::1%lo"));
	expect_bad("tunnel_ip6", json_string("2001:db8:::7"));
	expect_bad("tunnel_ip6", json_string(""));
	expect_bad("tunnel_ip6", json_stringn("2001:db8::7\0", 12));
	expect_bad("tunnel_ip6", json_string("2001:db8::7\n"));
	expect_bad("tunnel_ip6", json_integer(7));
	expect_bad("tunnel_ip6", json_true());
	expect_bad("tunnel_ip6", json_pack("[s]", "2001:db8::7"));
	expect_bad("tunnel_ip6", json_object());
	expect_bad("endpoints", json_pack("[{s:s, s:s}]", "source", "turn", "address", "192.0.2.1:1"));
	expect_bad("endpoints", json_pack("[{s:s, s:s}]", "source", "Relay", "address", "192.0.2.1:1"));
	expect_bad("endpoints", json_pack("[{s:s, s:s}]", "source", "", "address", "192.0.2.1:1"));
	expect_bad("endpoints", json_pack("[{s:s, s:s}]", "source", "local", "address", "192.0.2.1"));
	expect_bad("endpoints", json_pack("[{s:s, s:s}]", "source", "local", "address", "192.0.2.1:70000"));
	expect_bad("endpoints", json_pack("[{s:s}]", "source", "local"));
	expect_bad("endpoints", json_pack("[{s:i, s:s}]", "source", 1, "address", "192.0.2.1:1"));
	expect_bad("endpoints", json_pack("[s]", "192.0.2.1:1"));
	expect_bad("advertise_cidrs", json_pack("[s]", "10.0.0.0/33"));
	expect_bad("advertise_cidrs", json_pack("[s]", "example.com/8"));
	expect_bad("advertise_cidrs", json_pack("[i]", 10));
	/* approved_cidrs: may be absent, but when present, a list of CIDRs */
	expect_bad("approved_cidrs", json_pack("[s]", "10.0.0.0/33"));
	expect_bad("approved_cidrs", json_pack("[s]", "example.com/8"));
	expect_bad("approved_cidrs", json_pack("[s]", ""));
	expect_bad("approved_cidrs", json_pack("[i]", 10));
	expect_bad("approved_cidrs", json_pack("[n]"));
	expect_bad("approved_cidrs", json_pack("[s, s]", "0.0.0.0/0", "0.0.0.0/0 "));
	expect_bad("approved_cidrs", json_pack("[o]", json_stringn("0.0.0.0/0\0/8", 12)));
	expect_bad("approved_cidrs", json_string("0.0.0.0/0"));
	expect_bad("approved_cidrs", json_null());
	expect_bad("approved_cidrs", json_true());
	expect_bad("approved_cidrs", json_integer(0));
	expect_bad("approved_cidrs", json_object());
	expect_bad("exit_node_status", json_string("on\nfire"));
	expect_bad("os", json_string("linux\x7f"));
	expect_bad("last_seen", json_string("2026-11-25 08:46:00Z"));
	expect_bad("last_seen", json_string("2026-02-29T08:46:00Z"));
	expect_bad("last_seen", json_string("2026-11-25T24:00:00Z"));
	expect_bad("last_seen", json_string("2026-11-25T08:46:00"));
	expect_bad("created_at", json_string("2026-11-25T08:46:00Zjunk"));
	expect_bad("created_at", json_null());
	expect_bad("revision", json_integer(-5));
}

static void test_device_array_limits(void **state)
{
	json_t *eps = json_array(), *cidrs = json_array(), *j;
	struct api_device d;

	(void)state;
	for (int i = 0; i < API_MAX_ENDPOINTS; i++)
		json_array_append_new(eps, json_pack("{s:s, s:s}", "source", "local", "address", "192.0.2.1:1"));
	for (int i = 0; i < API_MAX_ADVERTISE_CIDRS; i++)
		json_array_append_new(cidrs, json_string("203.0.113.0/24"));
	j = load(valid_device);
	json_object_set(j, "endpoints", eps);
	json_object_set(j, "advertise_cidrs", cidrs);
	json_object_set(j, "approved_cidrs", cidrs);
	assert_int_equal(api_device_from_json(j, &d, NULL, 0), 0);
	assert_int_equal(d.n_endpoints, API_MAX_ENDPOINTS);
	assert_int_equal(d.n_advertise_cidrs, API_MAX_ADVERTISE_CIDRS);
	assert_int_equal(d.n_approved_cidrs, API_MAX_ADVERTISE_CIDRS);
	api_device_free(&d);
	json_decref(j);

	/* one over each limit */
	json_array_append_new(eps, json_pack("{s:s, s:s}", "source", "local", "address", "192.0.2.1:1"));
	json_array_append_new(cidrs, json_string("203.0.113.0/24"));
	expect_bad("endpoints", json_incref(eps));
	expect_bad("advertise_cidrs", json_incref(cidrs));
	expect_bad("approved_cidrs", json_incref(cidrs));
	/* a huge array is refused by its size, before any element is looked at */
	for (int i = 0; i < 100000; i++)
		json_array_append_new(cidrs, json_null());
	expect_bad("advertise_cidrs", json_incref(cidrs));
	expect_bad("approved_cidrs", json_incref(cidrs));
	json_decref(eps);
	json_decref(cidrs);
}

static void test_device_not_object(void **state)
{
	struct api_device d;
	json_t *j = json_array();

	(void)state;
	assert_int_equal(api_device_from_json(j, &d, NULL, 0), -EBADMSG);
	assert_int_equal(api_device_from_json(NULL, &d, NULL, 0), -EBADMSG);
	json_decref(j);
}

static void test_device_list(void **state)
{
	json_t *dev = load(valid_device), *j, *arr, *bad;
	struct api_device_list l;
	char err[API_PARSE_ERROR_MAX];

	(void)state;
	arr = json_array();
	for (int i = 0; i < 3; i++)
		json_array_append_new(arr, json_deep_copy(dev));
	j = json_pack("{s:i, s:o}", "revision", 9, "devices", arr);
	assert_int_equal(api_device_list_from_json(j, &l, err, sizeof(err)), 0);
	assert_int_equal(l.revision, 9);
	assert_int_equal(l.n_devices, 3);
	assert_string_equal(l.devices[2].hostname, "laptop.example_1");
	api_device_list_free(&l);

	/* one bad device spoils the list, and the message says which */
	bad = json_array_get(arr, 1);
	json_object_set_new(bad, "online", json_string("yes"));
	assert_int_equal(api_device_list_from_json(j, &l, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "devices[1].online: not a boolean");
	assert_null(l.devices);
	json_decref(j);

	j = json_pack("{s:i}", "revision", 1);
	assert_int_equal(api_device_list_from_json(j, &l, err, sizeof(err)), -EBADMSG);
	json_decref(j);
	j = json_pack("{s:s, s:[]}", "revision", "1", "devices");
	assert_int_equal(api_device_list_from_json(j, &l, err, sizeof(err)), -EBADMSG);
	json_decref(j);

	/* over the count limit */
	arr = json_array();
	for (int i = 0; i <= API_MAX_DEVICES; i++)
		json_array_append_new(arr, json_null());
	j = json_pack("{s:i, s:o}", "revision", 1, "devices", arr);
	assert_int_equal(api_device_list_from_json(j, &l, err, sizeof(err)), -EBADMSG);
	assert_non_null(strstr(err, "more than"));
	json_decref(j);
	json_decref(dev);
}

static void test_watch(void **state)
{
	json_t *dev = load(valid_device), *j;
	struct api_watch w;
	char err[API_PARSE_ERROR_MAX];

	(void)state;
	j = json_pack("{s:i, s:[{s:i, s:s, s:O}, {s:i, s:s, s:O}]}", "revision", 12, "events",
		      "revision", 11, "type", "upsert", "device", dev,
		      "revision", 12, "type", "delete", "device", dev);
	assert_int_equal(api_watch_from_json(j, &w, err, sizeof(err)), 0);
	assert_int_equal(w.revision, 12);
	assert_int_equal(w.n_events, 2);
	assert_int_equal(w.events[0].type, API_WATCH_UPSERT);
	assert_int_equal(w.events[1].type, API_WATCH_DELETE);
	assert_int_equal(w.events[1].revision, 12);
	api_watch_free(&w);
	json_decref(j);

	j = json_pack("{s:i, s:[]}", "revision", 3, "events");
	assert_int_equal(api_watch_from_json(j, &w, err, sizeof(err)), 0);
	assert_int_equal(w.n_events, 0);
	api_watch_free(&w);
	json_decref(j);

	j = json_pack("{s:i, s:[{s:i, s:s, s:O}]}", "revision", 12, "events", "revision", 11,
		      "type", "replace", "device", dev);
	assert_int_equal(api_watch_from_json(j, &w, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "events[0].type: not \"upsert\" or \"delete\"");
	json_decref(j);

	/* an event after the answer's own revision is a lie */
	j = json_pack("{s:i, s:[{s:i, s:s, s:O}]}", "revision", 10, "events", "revision", 11,
		      "type", "upsert", "device", dev);
	assert_int_equal(api_watch_from_json(j, &w, err, sizeof(err)), -EBADMSG);
	json_decref(j);

	j = json_pack("{s:i, s:[{s:i, s:s}]}", "revision", 12, "events", "revision", 11, "type", "upsert");
	assert_int_equal(api_watch_from_json(j, &w, err, sizeof(err)), -EBADMSG);
	assert_string_equal(err, "events[0].device: missing");
	json_decref(j);
	json_decref(dev);
}

static void test_time(void **state)
{
	int64_t t;
	char out[API_TIME_STRLEN];

	(void)state;
	assert_int_equal(api_time_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(api_time_parse("2000-02-29T12:00:00z", &t), 0);
	assert_int_equal(t, 951825600);
	assert_int_equal(api_time_parse("2026-11-25T08:45:33.123456789Z", &t), 0);
	api_time_format(t, out);
	assert_string_equal(out, "2026-11-25T08:45:33Z");
	assert_int_equal(api_time_parse("2026-11-25T10:45:33+02:00", &t), 0);
	api_time_format(t, out);
	assert_string_equal(out, "2026-11-25T08:45:33Z");
	assert_int_equal(api_time_parse("1969-12-31T23:59:59Z", &t), 0);
	assert_int_equal(t, -1);
	assert_int_equal(api_time_parse("2026-11-25T08:45:33.Z", &t), -EINVAL);
	assert_int_equal(api_time_parse("2026-13-25T08:45:33Z", &t), -EINVAL);
	assert_int_equal(api_time_parse("2026-11-25T08:45:33+2:00", &t), -EINVAL);
	assert_int_equal(api_time_parse("2026-11-25T08:45", &t), -EINVAL);
	assert_int_equal(api_time_parse("", &t), -EINVAL);
	assert_int_equal(api_time_parse(NULL, &t), -EINVAL);
	assert_int_equal(api_time_parse("2100-02-29T00:00:00Z", &t), -EINVAL);
}

/* "source": "relay": an address a TURN relay allocated for the device. */
static void test_device_relay_endpoint(void **state)
{
	json_t *j = load(valid_device);
	struct api_device d;
	char err[API_PARSE_ERROR_MAX], text[ADDR_ENDPOINT_STRLEN];

	(void)state;
	json_array_append_new(json_object_get(j, "endpoints"),
			      json_pack("{s:s, s:s}", "source", "relay", "address", "203.0.113.30:49152"));
	assert_int_equal(api_device_from_json(j, &d, err, sizeof(err)), 0);
	assert_int_equal(d.n_endpoints, 3);
	assert_int_equal(d.endpoints[2].source, API_ENDPOINT_RELAY);
	addr_endpoint_format(&d.endpoints[2].addr, text);
	assert_string_equal(text, "203.0.113.30:49152");
	assert_string_equal(api_endpoint_source_name(API_ENDPOINT_LOCAL), "local");
	assert_string_equal(api_endpoint_source_name(API_ENDPOINT_STUN), "stun");
	assert_string_equal(api_endpoint_source_name(API_ENDPOINT_RELAY), "relay");
	api_device_free(&d);
	json_decref(j);
}

#define RELAY_USER "1795682740:0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6b"
#define RELAY_PASS "kCZ5Xw0vqOr7GxOVhjr6DeJvTjo="

static const char valid_relays[] =
	"{\"relays\": [{\"uri\": \"turn:203.0.113.30:3478\", \"username\": \"" RELAY_USER "\","
	"               \"password\": \"" RELAY_PASS "\", \"expires_at\": \"2026-11-26T08:45:40Z\"},"
	"              {\"uri\": \"TURN:Relay.Example?transport=tcp\", \"username\": \"" RELAY_USER "\","
	"               \"password\": \"" RELAY_PASS "\", \"expires_at\": \"2026-11-26T08:45:40Z\","
	"               \"future\": 1}],"
	" \"ttl\": 86400}";

static void test_relays_valid(void **state)
{
	json_t *j = load(valid_relays);
	struct api_relays r;
	char err[API_PARSE_ERROR_MAX];

	(void)state;
	assert_int_equal(api_relays_from_json(j, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ttl, 86400);
	assert_string_equal(r.items[0].uri, "turn:203.0.113.30:3478");
	assert_string_equal(r.items[0].username, RELAY_USER);
	assert_string_equal(r.items[0].password, RELAY_PASS);
	assert_int_equal(r.items[0].expires_at, 1795596340 + 86400);
	/* kept in canonical form */
	assert_string_equal(r.items[1].uri, "turn:relay.example:3478?transport=tcp");
	api_relays_wipe(&r);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.items[0].password[0], 0);

	/* none configured: an empty list */
	json_object_set_new(j, "relays", json_array());
	assert_int_equal(api_relays_from_json(j, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 0);
	assert_int_equal(r.ttl, 86400);
	/* the list alone (a registration answer's) */
	json_decref(j);
	j = load(valid_relays);
	assert_int_equal(api_relays_list_from_json(json_object_get(j, "relays"), &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.ttl, 0);
	api_relays_wipe(&r);
	api_relays_wipe(NULL);
	json_decref(j);
}

/* Sets one member of relays[0] (or of the answer, when item is false) and
 * expects -EBADMSG with a reason that names it, never the password. */
static void expect_bad_relay(bool item, const char *field, json_t *value)
{
	json_t *j = load(valid_relays), *o = item ? json_array_get(json_object_get(j, "relays"), 0) : j;
	struct api_relays r;
	char err[API_PARSE_ERROR_MAX], want[64];

	if (value)
		json_object_set_new(o, field, value);
	else
		json_object_del(o, field);
	memset(&r, 0x5a, sizeof(r));
	if (api_relays_from_json(j, &r, err, sizeof(err)) != -EBADMSG)
		fail_msg("relay field %s: accepted", field);
	snprintf(want, sizeof(want), "%s%s", item ? "relays[0]." : "", field);
	if (strncmp(err, want, strlen(want)))
		fail_msg("relay field %s: error \"%s\" does not name it", field, err);
	assert_null(strstr(err, RELAY_PASS));
	assert_int_equal(r.n, 0);
	for (size_t i = 0; i < sizeof(r); i++)
		if (((const uint8_t *)&r)[i])
			fail_msg("relay field %s: not wiped at byte %zu", field, i);
	json_decref(j);
}

static void test_relays_bad(void **state)
{
	static const char *const item_fields[] = { "uri", "username", "password", "expires_at" };
	char long_text[API_RELAY_USERNAME_MAX + 2];
	json_t *arr, *j;
	struct api_relays r;

	(void)state;
	for (size_t i = 0; i < sizeof(item_fields) / sizeof(item_fields[0]); i++) {
		expect_bad_relay(true, item_fields[i], NULL);
		expect_bad_relay(true, item_fields[i], json_integer(7));
		expect_bad_relay(true, item_fields[i], json_null());
		expect_bad_relay(true, item_fields[i], json_string(""));
		expect_bad_relay(true, item_fields[i], json_pack("[s]", "x"));
	}
	expect_bad_relay(true, "uri", json_string("stun:203.0.113.30:3478"));
	expect_bad_relay(true, "uri", json_string("turn:203.0.113.30:0"));
	expect_bad_relay(true, "uri", json_string("turn:user@203.0.113.30"));
	expect_bad_relay(true, "uri", json_string("turns:203.0.113.30?transport=udp"));
	expect_bad_relay(true, "uri", json_stringn("turn:203.0.113.30\0x", 19));
	expect_bad_relay(true, "username", json_string("a b"));
	expect_bad_relay(true, "username", json_string("a\x1b[2J"));
	expect_bad_relay(true, "password", json_string("pass\nword"));
	expect_bad_relay(true, "password", json_stringn("pass\0word", 9));
	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = 0;
	expect_bad_relay(true, "username", json_string(long_text));
	long_text[API_RELAY_PASSWORD_MAX + 1] = 0;
	expect_bad_relay(true, "password", json_string(long_text));
	long_text[API_RELAY_PASSWORD_MAX] = 0;   /* the longest password is fine */
	j = load(valid_relays);
	json_object_set_new(json_array_get(json_object_get(j, "relays"), 0), "password", json_string(long_text));
	assert_int_equal(api_relays_from_json(j, &r, NULL, 0), 0);
	api_relays_wipe(&r);
	json_decref(j);
	expect_bad_relay(true, "expires_at", json_string("tomorrow"));
	expect_bad_relay(true, "expires_at", json_integer(1795682740));
	expect_bad_relay(false, "relays", NULL);
	expect_bad_relay(false, "relays", json_object());
	expect_bad_relay(false, "relays", json_null());
	expect_bad_relay(false, "ttl", NULL);
	expect_bad_relay(false, "ttl", json_integer(0));
	expect_bad_relay(false, "ttl", json_integer(-1));
	expect_bad_relay(false, "ttl", json_integer(API_RELAY_TTL_MAX + 1));
	expect_bad_relay(false, "ttl", json_real(86400.0));
	expect_bad_relay(false, "ttl", json_string("86400"));
	/* an element that is not an object */
	j = load(valid_relays);
	json_array_append_new(json_object_get(j, "relays"), json_string("turn:203.0.113.30"));
	assert_int_equal(api_relays_from_json(j, &r, NULL, 0), -EBADMSG);
	json_decref(j);
	/* the count limit */
	arr = json_array();
	j = load(valid_relays);
	for (int i = 0; i < API_MAX_RELAYS; i++)
		json_array_append(arr, json_array_get(json_object_get(j, "relays"), 0));
	json_object_set(j, "relays", arr);
	assert_int_equal(api_relays_from_json(j, &r, NULL, 0), 0);
	assert_int_equal(r.n, API_MAX_RELAYS);
	api_relays_wipe(&r);
	json_array_append(arr, json_array_get(arr, 0));
	assert_int_equal(api_relays_from_json(j, &r, NULL, 0), -EBADMSG);
	json_decref(arr);
	json_decref(j);
	/* not an object at all */
	j = json_array();
	assert_int_equal(api_relays_from_json(j, &r, NULL, 0), -EBADMSG);
	assert_int_equal(api_relays_from_json(NULL, &r, NULL, 0), -EBADMSG);
	assert_int_equal(api_relays_list_from_json(j, &r, NULL, 0), 0);
	assert_int_equal(api_relays_list_from_json(NULL, &r, NULL, 0), -EBADMSG);
	json_decref(j);
}

/* ---- the HTTP client against a canned server ---- */

struct canned {
	int listen_fd;
	int port;
	const char *reply;       /* whole response, or NULL: big_body */
	size_t big_body;         /* bytes of a 200 reply body of '[' */
	int repeat;              /* requests answered on the one connection (0: 1) */
	const char *replies[4];  /* when set: request i is answered with replies[i], n_replies of them */
	int n_replies;
	int served;
	char first[8192];        /* the first request, when there were several */
	char request[8192];      /* what the client sent */
	pthread_t thread;
};

/* Reads one request, headers and Content-Length bytes of body, into buf. */
static int read_request(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	buf[0] = '\0';
	for (;;) {
		const char *end = strstr(buf, "\r\n\r\n");
		ssize_t r;

		if (end) {
			const char *cl = strcasestr(buf, "\r\nContent-Length:");
			size_t body = cl && cl < end ? strtoul(cl + 17, NULL, 10) : 0;

			if (n >= (size_t)(end + 4 - buf) + body)
				return 0;
		}
		if (n >= cap - 1)
			return -1;
		r = read(fd, buf + n, cap - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
		buf[n] = '\0';
	}
}

/* Accepts one connection and answers `repeat` requests on it (keep-alive). */
static void *canned_serve(void *arg)
{
	struct canned *c = arg;
	int fd = accept(c->listen_fd, NULL, NULL);

	struct timeval tv = { .tv_sec = 5 };
	int n = c->n_replies ? c->n_replies : (c->repeat ? c->repeat : 1);

	if (fd < 0)
		return NULL;
	/* a client that sends fewer requests than expected: give up, not hang */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < n; i++) {
		if (read_request(fd, c->request, sizeof(c->request)) < 0)
			goto out;
		if (i == 0)
			memcpy(c->first, c->request, sizeof(c->first));
		c->served++;
		if (c->n_replies) {
			if (write(fd, c->replies[i], strlen(c->replies[i])) < 0)
				goto out;
		} else if (c->reply) {
			if (write(fd, c->reply, strlen(c->reply)) < 0)
				goto out;
		} else {
			char head[128], chunk[65536];
			size_t left = c->big_body;

			snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
						     "Connection: close\r\n\r\n");
			if (write(fd, head, strlen(head)) < 0)
				goto out;
			memset(chunk, '[', sizeof(chunk));
			while (left) {
				size_t k = left < sizeof(chunk) ? left : sizeof(chunk);
				ssize_t w = write(fd, chunk, k);
				if (w <= 0)
					break;
				left -= (size_t)w;
			}
		}
	}
out:
	close(fd);
	return NULL;
}

static void canned_start(struct canned *c)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);

	c->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(c->listen_fd >= 0);
	assert_int_equal(bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(c->listen_fd, 4), 0);
	assert_int_equal(getsockname(c->listen_fd, (struct sockaddr *)&sa, &len), 0);
	c->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&c->thread, NULL, canned_serve, c), 0);
}

static void canned_stop(struct canned *c)
{
	pthread_join(c->thread, NULL);
	close(c->listen_fd);
}

static struct api_client *client_for(struct canned *c, const char *token)
{
	char url[64];
	struct api_client_config cfg = { .base_url = url, .token = token, .timeout_ms = 10000 };
	struct api_client *api;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/", c->port);
	assert_int_equal(api_client_new(&cfg, &api), 0);
	return api;
}

static int canned_request(const char *reply, size_t big, int (*fn)(struct api_client *),
			  struct canned *c, struct api_client **api_out)
{
	int r;

	memset(c, 0, sizeof(*c));
	c->reply = reply;
	c->big_body = big;
	canned_start(c);
	*api_out = client_for(c, "nxo_0123456789abcdef_secret");
	r = fn(*api_out);
	canned_stop(c);
	return r;
}

static int do_org_list(struct api_client *api)
{
	json_t *j = NULL;
	int r = api_org_list(api, &j);

	json_decref(j);
	return r;
}

static int do_device_get(struct api_client *api)
{
	struct api_device d;
	json_t *j = NULL;
	int r = api_device_get(api, "../../organizations", &j, &d);

	if (r == 0)
		api_device_free(&d);
	json_decref(j);
	return r;
}

static void test_client_ok_and_header(void **state)
{
	struct canned c;
	struct api_client *api;

	(void)state;
	assert_int_equal(canned_request("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n[]",
					0, do_org_list, &c, &api), 0);
	assert_non_null(strstr(c.request, "GET /api/v1/organizations HTTP/1.1\r\n"));
	assert_non_null(strstr(c.request, "\r\nAuthorization: Bearer nxo_0123456789abcdef_secret\r\n"));
	assert_string_equal(api_client_error(api), "");
	assert_int_equal(api_client_status(api), 200);
	api_client_free(api);
}

static void test_client_http_error(void **state)
{
	static const char body[] = "{\"error\": \"not_found\", \"message\": \"no such device\\u001b[2J\"}";
	char reply[512];
	struct canned c;
	struct api_client *api;

	(void)state;
	snprintf(reply, sizeof(reply), "HTTP/1.1 404 Not Found\r\nContent-Length: %zu\r\n"
				       "Connection: close\r\n\r\n%s", strlen(body), body);
	assert_int_equal(canned_request(reply, 0, do_device_get, &c, &api), -ENOENT);
	/* the id is escaped into one path segment */
	assert_non_null(strstr(c.request, "GET /api/v1/devices/..%2F..%2Forganizations HTTP/1.1"));
	assert_int_equal(api_client_status(api), 404);
	assert_string_equal(api_client_error_code(api), "not_found");
	/* the server's message, with its escape character made harmless */
	assert_string_equal(api_client_error(api), "no such device?[2J (HTTP 404, not_found)");
	api_client_free(api);

	assert_int_equal(canned_request("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n"
					"Connection: close\r\n\r\n<html", 0, do_org_list, &c, &api),
			 -EREMOTEIO);
	assert_string_equal(api_client_error(api), "the server answered HTTP 502");
	api_client_free(api);

	assert_int_equal(canned_request("HTTP/1.1 410 Gone\r\nContent-Length: 0\r\n"
					"Connection: close\r\n\r\n", 0, do_org_list, &c, &api), -ESTALE);
	api_client_free(api);
}

static void test_client_garbled(void **state)
{
	int r;
	struct canned c;
	struct api_client *api;

	(void)state;
	/* not JSON */
	assert_int_equal(canned_request("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n[1, 2",
					0, do_org_list, &c, &api), -EBADMSG);
	assert_non_null(strstr(api_client_error(api), "not JSON"));
	api_client_free(api);
	/* JSON of the wrong shape */
	assert_int_equal(canned_request("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
					0, do_org_list, &c, &api), -EBADMSG);
	api_client_free(api);
	/* a device that is not one */
	assert_int_equal(canned_request("HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\n{\"id\": 5.5}",
					0, do_device_get, &c, &api), -EBADMSG);
	assert_non_null(strstr(api_client_error(api), "id: not a string"));
	api_client_free(api);
	/* duplicate keys */
	assert_int_equal(canned_request("HTTP/1.1 200 OK\r\nContent-Length: 16\r\nConnection: close\r\n\r\n{\"a\": 1, \"a\": 2}",
					0, do_device_get, &c, &api), -EBADMSG);
	api_client_free(api);
	/* a body cut short of its Content-Length */
	assert_int_equal(canned_request("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n[1",
					0, do_org_list, &c, &api), -EPROTO);
	api_client_free(api);
	/* the connection closed with no answer */
	r = canned_request("", 0, do_org_list, &c, &api);
	if (r != -EPROTO)
		fail_msg("%d: %s", r, api_client_error(api));
	assert_int_equal(api_client_status(api), 0);
	api_client_free(api);
}

static void test_client_reply_limit(void **state)
{
	struct canned c;
	struct api_client *api;

	(void)state;
	/* no Content-Length: refused by the write callback */
	assert_int_equal(canned_request(NULL, API_REPLY_MAX + 1, do_org_list, &c, &api), -EFBIG);
	assert_non_null(strstr(api_client_error(api), "larger than"));
	api_client_free(api);
	/* announced too big: refused at once */
	assert_int_equal(canned_request("HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n"
					"Connection: close\r\n\r\n[", 0, do_org_list, &c, &api), -EFBIG);
	api_client_free(api);
}

static void test_client_keepalive(void **state)
{
	struct canned c;
	struct api_client *api;
	char url[64];
	struct api_client_config cfg = { .base_url = url, .token = "nxa_x", .timeout_ms = 3000 };

	(void)state;
	memset(&c, 0, sizeof(c));
	c.reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n[]";
	c.repeat = 3;
	canned_start(&c);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d", c.port);
	assert_int_equal(api_client_new(&cfg, &api), 0);
	/* the server accepts one connection only: a second one would time out */
	assert_int_equal(do_org_list(api), 0);
	assert_int_equal(do_org_list(api), 0);
	assert_int_equal(api_client_set_token(api, "nxd_other"), 0);
	assert_int_equal(do_org_list(api), 0);
	assert_non_null(strstr(c.request, "\r\nAuthorization: Bearer nxd_other\r\n"));
	canned_stop(&c);
	assert_int_equal(c.served, 3);
	api_client_free(api);
}

static int do_watch(struct api_client *api)
{
	struct api_watch w;
	int r = api_device_watch(api, 5, 1, "a b", &w);

	if (r == 0) {
		assert_int_equal(w.revision, 7);
		assert_int_equal(w.n_events, 0);
		api_watch_free(&w);
	}
	return r;
}

static void test_client_watch(void **state)
{
	struct canned c;
	struct api_client *api;
	struct api_watch w;

	(void)state;
	assert_int_equal(canned_request("HTTP/1.1 200 OK\r\nContent-Length: 29\r\nConnection: close\r\n\r\n"
					"{\"revision\": 7, \"events\": []}", 0, do_watch, &c, &api), 0);
	assert_non_null(strstr(c.request, "GET /api/v1/devices/watch?revision=5&timeout=1&organization=a%20b HTTP/1.1"));
	assert_int_equal(api_device_watch(api, 5, API_WATCH_TIMEOUT_MAX + 1, NULL, &w), -EINVAL);
	api_client_free(api);
	assert_int_equal(canned_request("HTTP/1.1 410 Gone\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
					0, do_watch, &c, &api), -ESTALE);
	api_client_free(api);
}

static char *registered_token;
static struct api_relays registered_relays;

static int do_register(struct api_client *api)
{
	struct api_endpoint ep = { .source = API_ENDPOINT_STUN };
	struct cidr cidr;
	struct api_registration reg = {
		.public_key = KEY_A, .hostname = "laptop", .os = "linux", .version = "0.1.0",
		.endpoints = &ep, .n_endpoints = 1, .advertise_cidrs = &cidr, .n_advertise_cidrs = 1,
	};
	struct api_device d;
	int r;

	assert_int_equal(addr_endpoint_parse("198.51.100.7:40001", &ep.addr), 0);
	assert_int_equal(cidr_parse("0.0.0.0/0", &cidr), 0);
	r = api_device_register(api, &reg, &d, &registered_token, &registered_relays);
	if (r == 0) {
		assert_string_equal(d.hostname, "laptop.example_1");
		api_device_free(&d);
	}
	return r;
}

static void test_client_register(void **state)
{
	static const char head[] = "HTTP/1.1 201 Created\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s";
	char body[2048], reply[2400];
	struct canned c;
	struct api_client *api;
	const char *json_body;
	json_t *sent;

	(void)state;
	snprintf(body, sizeof(body), "{\"device\": %s, \"device_token\": \"nxd_0123_abc\"}", valid_device);
	snprintf(reply, sizeof(reply), head, strlen(body), body);
	assert_int_equal(canned_request(reply, 0, do_register, &c, &api), 0);
	assert_string_equal(registered_token, "nxd_0123_abc");
	free(registered_token);
	registered_token = NULL;
	assert_non_null(strstr(c.request, "POST /api/v1/devices HTTP/1.1\r\n"));
	assert_non_null(strstr(c.request, "\r\nContent-Type: application/json\r\n"));
	json_body = strstr(c.request, "\r\n\r\n") + 4;
	sent = load(json_body);
	assert_string_equal(json_string_value(json_object_get(sent, "public_key")), KEY_A);
	assert_string_equal(json_string_value(json_object_get(sent, "version")), "0.1.0");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(sent, "endpoints"), 0), "source")), "stun");
	assert_string_equal(json_string_value(json_object_get(json_array_get(json_object_get(sent, "endpoints"), 0), "address")), "198.51.100.7:40001");
	assert_string_equal(json_string_value(json_array_get(json_object_get(sent, "advertise_cidrs"), 0)), "0.0.0.0/0");
	json_decref(sent);
	/* an answer without "relays" (an older server): none */
	assert_int_equal(registered_relays.n, 0);
	api_client_free(api);

	/* with relays: the list, without a ttl */
	snprintf(body, sizeof(body), "{\"device\": %s, \"device_token\": \"nxd_0123_abc\", \"relays\": %s}",
		 valid_device, strstr(valid_relays, "["));
	strcpy(strrchr(body, ','), "}");   /* drop the answer's ttl: the list alone */
	snprintf(reply, sizeof(reply), head, strlen(body), body);
	assert_int_equal(canned_request(reply, 0, do_register, &c, &api), 0);
	assert_int_equal(registered_relays.n, 2);
	assert_int_equal(registered_relays.ttl, 0);
	assert_string_equal(registered_relays.items[1].uri, "turn:relay.example:3478?transport=tcp");
	assert_string_equal(registered_relays.items[0].password, RELAY_PASS);
	api_relays_wipe(&registered_relays);
	free(registered_token);
	registered_token = NULL;
	api_client_free(api);
	/* a malformed relay list fails the call, and leaves nothing behind */
	snprintf(body, sizeof(body), "{\"device\": %s, \"device_token\": \"nxd_0123_abc\", "
				     "\"relays\": [{\"uri\": \"turn:x\"}]}", valid_device);
	snprintf(reply, sizeof(reply), head, strlen(body), body);
	assert_int_equal(canned_request(reply, 0, do_register, &c, &api), -EBADMSG);
	assert_non_null(strstr(api_client_error(api), "registration answer is malformed: relays[0].username: missing"));
	assert_null(registered_token);
	assert_int_equal(registered_relays.n, 0);
	api_client_free(api);

	/* an answer without a usable device token is refused */
	snprintf(body, sizeof(body), "{\"device\": %s, \"device_token\": \"a b\"}", valid_device);
	snprintf(reply, sizeof(reply), head, strlen(body), body);
	assert_int_equal(canned_request(reply, 0, do_register, &c, &api), -EBADMSG);
	assert_null(registered_token);
	api_client_free(api);
	/* and one whose device is bad */
	snprintf(body, sizeof(body), "{\"device\": {}, \"device_token\": \"nxd_1\"}");
	snprintf(reply, sizeof(reply), head, strlen(body), body);
	assert_int_equal(canned_request(reply, 0, do_register, &c, &api), -EBADMSG);
	assert_non_null(strstr(api_client_error(api), "registration answer is malformed: id: missing"));
	assert_null(registered_token);
	api_client_free(api);
}

static int do_relays(struct api_client *api)
{
	struct api_relays r;
	int rc = api_device_relays(api, "0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6b", &r);

	if (rc == 0) {
		assert_int_equal(r.n, 2);
		assert_int_equal(r.ttl, 86400);
		assert_string_equal(r.items[0].username, RELAY_USER);
	} else {
		assert_int_equal(r.n, 0);
	}
	api_relays_wipe(&r);
	return rc;
}

static void test_client_relays(void **state)
{
	static const char head[] = "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s";
	char reply[2048];
	struct canned c;
	struct api_client *api;
	struct api_relays r;

	(void)state;
	snprintf(reply, sizeof(reply), head, strlen(valid_relays), valid_relays);
	assert_int_equal(canned_request(reply, 0, do_relays, &c, &api), 0);
	assert_non_null(strstr(c.request, "GET /api/v1/devices/0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6b/relays HTTP/1.1\r\n"));
	assert_int_equal(api_device_relays(api, "", &r), -EINVAL);
	assert_int_equal(api_device_relays(api, NULL, &r), -EINVAL);
	api_client_free(api);
	/* another device's: 403 */
	assert_int_equal(canned_request("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
					0, do_relays, &c, &api), -EPERM);
	api_client_free(api);
	/* malformed: refused with the field named */
	snprintf(reply, sizeof(reply), head, strlen("{\"relays\": []}"), "{\"relays\": []}");
	assert_int_equal(canned_request(reply, 0, do_relays, &c, &api), -EBADMSG);
	assert_non_null(strstr(api_client_error(api), "relays answer is malformed: ttl: missing"));
	api_client_free(api);
}

/* ---- the re-registration challenge ---- */

static json_t *challenge_json(const char *server_key, const char *nonce)
{
	return json_pack("{s:s, s:s}", "server_key", server_key, "nonce", nonce);
}

/* A challenge object with one field replaced (NULL value: removed); -EBADMSG naming it. */
static void expect_bad_challenge(const char *field, json_t *value)
{
	json_t *j = challenge_json(KEY_A, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==");
	struct api_challenge ch;
	char err[API_PARSE_ERROR_MAX], want[64];

	memset(&ch, 0xa5, sizeof(ch));
	if (value)
		json_object_set_new(j, field, value);
	else
		json_object_del(j, field);
	if (api_challenge_from_json(j, &ch, err, sizeof(err)) != -EBADMSG)
		fail_msg("challenge.%s: accepted", field);
	snprintf(want, sizeof(want), "challenge.%s", field);
	if (strncmp(err, want, strlen(want)))
		fail_msg("challenge.%s: error \"%s\" does not name it", field, err);
	/* nothing written on failure */
	assert_int_equal(((uint8_t *)&ch)[0], 0xa5);
	json_decref(j);
}

static void test_challenge_parse(void **state)
{
	static const char nonce40[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==";
	uint8_t key_a[KEY_LEN];
	char b64_31[64], b64_33[64], b64_49[80], long_nonce[API_CHALLENGE_NONCE_B64_MAX + 2];
	uint8_t raw[49] = { 1 };
	struct api_challenge ch;
	char err[API_PARSE_ERROR_MAX];
	json_t *j;

	(void)state;
	assert_int_equal(key_from_base64(key_a, KEY_A), 0);
	j = challenge_json(KEY_A, nonce40);
	json_object_set_new(j, "future", json_integer(1));   /* unknown members: ignored */
	assert_int_equal(api_challenge_from_json(j, &ch, err, sizeof(err)), 0);
	assert_memory_equal(ch.server_key, key_a, KEY_LEN);
	assert_int_equal(ch.nonce_len, 40);
	for (size_t i = 0; i < 40; i++)
		assert_int_equal(ch.nonce[i], i);
	assert_string_equal(ch.nonce_b64, nonce40);   /* sent back as received */
	json_decref(j);
	/* the shortest nonce: one byte */
	j = challenge_json(KEY_A, "AQ==");
	assert_int_equal(api_challenge_from_json(j, &ch, err, sizeof(err)), 0);
	assert_int_equal(ch.nonce_len, 1);
	assert_int_equal(ch.nonce[0], 1);
	json_decref(j);

	/* server_key: exactly 32 bytes of standard base64 */
	sodium_bin2base64(b64_31, sizeof(b64_31), raw, 31, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(b64_33, sizeof(b64_33), raw, 33, sodium_base64_VARIANT_ORIGINAL);
	assert_int_equal(strlen(b64_31), KEY_B64_LEN);   /* the right length of text, */
	assert_int_equal(strlen(b64_33), KEY_B64_LEN);   /* the wrong number of bytes */
	expect_bad_challenge("server_key", json_string(b64_31));
	expect_bad_challenge("server_key", json_string(b64_33));
	expect_bad_challenge("server_key", json_string("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="));
	expect_bad_challenge("server_key", json_string("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg"));
	expect_bad_challenge("server_key", json_string("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dh="));
	expect_bad_challenge("server_key", json_string("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=="));
	expect_bad_challenge("server_key", json_string("xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8D!="));
	expect_bad_challenge("server_key", json_string("xTIBA5rboUvnH4htodjb6e697QjL-Rt1NAB4mZqp8Dg="));
	expect_bad_challenge("server_key", json_string(KEY_A " "));
	expect_bad_challenge("server_key", json_stringn(KEY_A "\0", KEY_B64_LEN + 1));
	expect_bad_challenge("server_key", json_string(""));
	expect_bad_challenge("server_key", json_integer(5));
	expect_bad_challenge("server_key", json_null());
	expect_bad_challenge("server_key", NULL);
	/* nonce: 1 to 64 characters of standard base64 */
	sodium_bin2base64(b64_49, sizeof(b64_49), raw, 49, sodium_base64_VARIANT_ORIGINAL);
	expect_bad_challenge("nonce", json_string(b64_49));   /* 68 characters */
	memset(long_nonce, 'A', sizeof(long_nonce) - 1);
	long_nonce[sizeof(long_nonce) - 1] = '\0';              /* 65 */
	expect_bad_challenge("nonce", json_string(long_nonce));
	expect_bad_challenge("nonce", json_string(""));
	expect_bad_challenge("nonce", json_string("AQ"));       /* no padding */
	expect_bad_challenge("nonce", json_string("AR=="));     /* bits past the end */
	expect_bad_challenge("nonce", json_string("AQ==AQ=="));
	expect_bad_challenge("nonce", json_string("AQ== "));
	expect_bad_challenge("nonce", json_string("A_-="));
	expect_bad_challenge("nonce", json_stringn("AQ==\0", 5));
	expect_bad_challenge("nonce", json_pack("[s]", nonce40));
	expect_bad_challenge("nonce", NULL);
	/* not an object at all */
	j = json_string(nonce40);
	assert_int_equal(api_challenge_from_json(j, &ch, err, sizeof(err)), -EBADMSG);
	assert_int_equal(api_challenge_from_json(NULL, &ch, NULL, 0), -EBADMSG);
	json_decref(j);
}

static void test_challenge_proof(void **state)
{
	uint8_t dev_priv[KEY_LEN], dev_pub[KEY_LEN], srv_priv[KEY_LEN], srv_pub[KEY_LEN];
	uint8_t mac[REGPROOF_MAC_LEN], want[REGPROOF_MAC_LEN];
	char srv_b64[KEY_B64_LEN + 1];
	struct api_challenge ch;
	json_t *j, *proof = NULL;
	size_t got = 0;

	(void)state;
	key_generate(dev_priv, dev_pub);
	key_generate(srv_priv, srv_pub);
	key_to_base64(srv_b64, srv_pub);
	j = challenge_json(srv_b64, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==");
	assert_int_equal(api_challenge_from_json(j, &ch, NULL, 0), 0);
	json_decref(j);
	assert_int_equal(api_challenge_proof(&ch, dev_priv, &proof), 0);
	assert_string_equal(json_string_value(json_object_get(proof, "nonce")), ch.nonce_b64);
	assert_int_equal(sodium_base642bin(mac, sizeof(mac), json_string_value(json_object_get(proof, "mac")),
					   json_string_length(json_object_get(proof, "mac")), NULL, &got, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(got, REGPROOF_MAC_LEN);
	assert_int_equal(regproof_mac(want, dev_priv, srv_pub, ch.nonce, ch.nonce_len), 0);
	assert_memory_equal(mac, want, sizeof(mac));
	/* and the server side agrees */
	assert_int_equal(regproof_verify(mac, srv_priv, dev_pub, ch.nonce, ch.nonce_len), 0);
	json_decref(proof);
	/* another nonce, another mac */
	ch.nonce[0] ^= 1;
	assert_int_equal(api_challenge_proof(&ch, dev_priv, &proof), 0);
	assert_int_equal(sodium_base642bin(mac, sizeof(mac), json_string_value(json_object_get(proof, "mac")),
					   json_string_length(json_object_get(proof, "mac")), NULL, &got, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	assert_memory_not_equal(mac, want, sizeof(mac));
	json_decref(proof);
	/* a low-order server key (here: 1) gives no proof */
	memset(ch.server_key, 0, KEY_LEN);
	ch.server_key[0] = 1;
	proof = NULL;
	assert_int_equal(api_challenge_proof(&ch, dev_priv, &proof), -EINVAL);
	assert_null(proof);
}

/* ---- registration with a proof, against the canned server ---- */

#define HTTP_201 "HTTP/1.1 201 Created\r\nContent-Length: %zu\r\n\r\n%s"
#define HTTP_409 "HTTP/1.1 409 Conflict\r\nContent-Length: %zu\r\n\r\n%s"

static uint8_t proof_priv[KEY_LEN], proof_pub[KEY_LEN], proof_srv_priv[KEY_LEN], proof_srv_pub[KEY_LEN];
static const uint8_t *proof_key_given;   /* the private key registration gets, or NULL */

static int do_register_proof(struct api_client *api)
{
	char pub_b64[KEY_B64_LEN + 1];
	struct api_registration reg = { .hostname = "laptop", .os = "linux" };
	struct api_device d;
	char *token = NULL;
	int r;

	key_to_base64(pub_b64, proof_pub);
	reg.public_key = pub_b64;
	reg.private_key = proof_key_given;
	r = api_device_register(api, &reg, &d, &token, NULL);
	if (r == 0) {
		assert_string_equal(token, "nxd_0123_abc");
		api_device_free(&d);
		free(token);
	} else {
		assert_null(token);
	}
	return r;
}

/* The 409 answer: with a challenge from the test's server key, or without. */
static void reply_409(char *out, size_t cap, bool with_challenge, const char *nonce)
{
	char srv_b64[KEY_B64_LEN + 1], body[1024];

	key_to_base64(srv_b64, proof_srv_pub);
	if (with_challenge)
		snprintf(body, sizeof(body), "{\"error\": \"conflict\", \"message\": \"public key is already "
			 "registered\", \"challenge\": {\"server_key\": \"%s\", \"nonce\": \"%s\"}}", srv_b64, nonce);
	else
		snprintf(body, sizeof(body), "{\"error\": \"conflict\", \"message\": \"no free tunnel address\"}");
	snprintf(out, cap, HTTP_409, strlen(body), body);
}

static int canned_sequence(const char *const *replies, int n, int (*fn)(struct api_client *),
			   struct canned *c, struct api_client **api_out)
{
	int r;

	memset(c, 0, sizeof(*c));
	for (int i = 0; i < n; i++)
		c->replies[i] = replies[i];
	c->n_replies = n;
	canned_start(c);
	*api_out = client_for(c, "nxr_0123456789abcdef_key");
	r = fn(*api_out);
	canned_stop(c);
	return r;
}

static void test_client_register_proof(void **state)
{
	static const char nonce[] = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJw==";
	char ok[2400], body[2048], conflict[1400], conflict2[1400], plain[600];
	const char *seq[2];
	uint8_t mac[REGPROOF_MAC_LEN], nonce_bin[40];
	size_t got = 0;
	struct canned c;
	struct api_client *api;
	json_t *sent, *proof;

	(void)state;
	key_generate(proof_priv, proof_pub);
	key_generate(proof_srv_priv, proof_srv_pub);
	snprintf(body, sizeof(body), "{\"device\": %s, \"device_token\": \"nxd_0123_abc\"}", valid_device);
	snprintf(ok, sizeof(ok), HTTP_201, strlen(body), body);
	reply_409(conflict, sizeof(conflict), true, nonce);

	/* 409 with a challenge, then 201: answered with a proof the server takes */
	proof_key_given = proof_priv;
	seq[0] = conflict;
	seq[1] = ok;
	assert_int_equal(canned_sequence(seq, 2, do_register_proof, &c, &api), 0);
	assert_int_equal(c.served, 2);
	sent = load(strstr(c.first, "\r\n\r\n") + 4);
	assert_null(json_object_get(sent, "proof"));   /* none before a challenge */
	json_decref(sent);
	sent = load(strstr(c.request, "\r\n\r\n") + 4);
	proof = json_object_get(sent, "proof");
	assert_string_equal(json_string_value(json_object_get(proof, "nonce")), nonce);
	assert_int_equal(sodium_base642bin(mac, sizeof(mac), json_string_value(json_object_get(proof, "mac")),
					   json_string_length(json_object_get(proof, "mac")), NULL, &got, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(got, sizeof(mac));
	assert_int_equal(sodium_base642bin(nonce_bin, sizeof(nonce_bin), nonce, strlen(nonce), NULL, &got, NULL,
					   sodium_base64_VARIANT_ORIGINAL), 0);
	assert_int_equal(regproof_verify(mac, proof_srv_priv, proof_pub, nonce_bin, got), 0);
	/* the rest of the registration is sent again unchanged */
	assert_string_equal(json_string_value(json_object_get(sent, "hostname")), "laptop");
	json_decref(sent);
	assert_null(strstr(c.request, "private"));
	api_client_free(api);

	/* a second 409: -EEXIST with the server's message, no third try */
	reply_409(conflict2, sizeof(conflict2), true, "AQ==");
	seq[1] = conflict2;
	assert_int_equal(canned_sequence(seq, 2, do_register_proof, &c, &api), -EEXIST);
	assert_int_equal(c.served, 2);
	assert_non_null(strstr(api_client_error(api), "public key is already registered"));
	assert_non_null(strstr(api_client_error(api), "proof of the private key was not accepted"));
	api_client_free(api);

	/* a 409 without a challenge: -EEXIST at once */
	reply_409(plain, sizeof(plain), false, NULL);
	seq[0] = plain;
	assert_int_equal(canned_sequence(seq, 1, do_register_proof, &c, &api), -EEXIST);
	assert_int_equal(c.served, 1);
	assert_non_null(strstr(api_client_error(api), "no free tunnel address (HTTP 409, conflict)"));
	api_client_free(api);

	/* a malformed challenge: -EBADMSG, nothing more sent */
	reply_409(conflict2, sizeof(conflict2), true, "not base64!");
	seq[0] = conflict2;
	assert_int_equal(canned_sequence(seq, 1, do_register_proof, &c, &api), -EBADMSG);
	assert_int_equal(c.served, 1);
	assert_non_null(strstr(api_client_error(api), "challenge.nonce"));
	api_client_free(api);

	/* no private key given: the challenge is not answered */
	proof_key_given = NULL;
	seq[0] = conflict;
	assert_int_equal(canned_sequence(seq, 1, do_register_proof, &c, &api), -EEXIST);
	assert_int_equal(c.served, 1);
	api_client_free(api);

	/* a private key that is not the public key's: refused before sending */
	{
		uint8_t other_priv[KEY_LEN], other_pub[KEY_LEN];
		struct api_client_config cfg = { .base_url = "http://127.0.0.1:1", .token = "nxr_x" };

		key_generate(other_priv, other_pub);
		proof_key_given = other_priv;
		assert_int_equal(api_client_new(&cfg, &api), 0);
		assert_int_equal(do_register_proof(api), -EINVAL);
		assert_non_null(strstr(api_client_error(api), "private key"));
		api_client_free(api);
	}
	proof_key_given = NULL;
}

/* ---- a deleted device's token: -EOWNERDEAD, on any call ---- */

static void test_client_device_deleted(void **state)
{
	static const char deleted[] = "{\"error\": \"unauthorized\", \"message\": \"device x was deleted\", "
				      "\"reason\": \"device_deleted\"}";
	static const char other[] = "{\"error\": \"unauthorized\", \"message\": \"unknown token\", "
				    "\"reason\": \"something_else\"}";
	char reply[512];
	struct canned c;
	struct api_client *api;

	(void)state;
	snprintf(reply, sizeof(reply), "HTTP/1.1 401 Unauthorized\r\nContent-Length: %zu\r\n"
				       "Connection: close\r\n\r\n%s", strlen(deleted), deleted);
	assert_int_equal(canned_request(reply, 0, do_device_get, &c, &api), -EOWNERDEAD);
	assert_int_equal(api_client_status(api), 401);
	assert_string_equal(api_client_error(api), "device x was deleted (HTTP 401, unauthorized)");
	api_client_free(api);
	assert_int_equal(canned_request(reply, 0, do_org_list, &c, &api), -EOWNERDEAD);
	api_client_free(api);
	assert_int_equal(canned_request(reply, 0, do_watch, &c, &api), -EOWNERDEAD);
	api_client_free(api);
	/* the same reason with another status is not it */
	snprintf(reply, sizeof(reply), "HTTP/1.1 403 Forbidden\r\nContent-Length: %zu\r\n"
				       "Connection: close\r\n\r\n%s", strlen(deleted), deleted);
	assert_int_equal(canned_request(reply, 0, do_device_get, &c, &api), -EPERM);
	api_client_free(api);
	/* other 401s stay -EACCES */
	snprintf(reply, sizeof(reply), "HTTP/1.1 401 Unauthorized\r\nContent-Length: %zu\r\n"
				       "Connection: close\r\n\r\n%s", strlen(other), other);
	assert_int_equal(canned_request(reply, 0, do_device_get, &c, &api), -EACCES);
	api_client_free(api);
	assert_int_equal(canned_request("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n"
					"Connection: close\r\n\r\n", 0, do_org_list, &c, &api), -EACCES);
	api_client_free(api);
}

/* ---- approve / unapprove, organization update, registration keys ---- */

static const char *approve_action = "approve";
static size_t approve_n;

static int do_approve(struct api_client *api)
{
	struct cidr cidrs[2];
	struct api_device d;
	json_t *j = NULL;
	int r;

	assert_int_equal(cidr_parse("0.0.0.0/0", &cidrs[0]), 0);
	assert_int_equal(cidr_parse("2001:db8::/32", &cidrs[1]), 0);
	if (!strcmp(approve_action, "approve"))
		r = api_device_approve(api, "0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6b", cidrs, approve_n, &j, &d);
	else
		r = api_device_unapprove(api, "0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6b", cidrs, approve_n, &j, &d);
	if (r == 0) {
		assert_int_equal(d.n_approved_cidrs, 1);
		assert_true(api_device_is_exit_node(&d));
		assert_non_null(json_object_get(j, "approved_cidrs"));
		api_device_free(&d);
	}
	json_decref(j);
	return r;
}

static json_t *request_body(const struct canned *c)
{
	return load(strstr(c->request, "\r\n\r\n") + 4);
}

static void test_client_approve(void **state)
{
	char body[2048], reply[2400];
	struct canned c;
	struct api_client *api;
	struct api_device d;
	json_t *sent, *dev = load(valid_device);
	char *text;

	(void)state;
	json_object_set_new(dev, "approved_cidrs", json_pack("[s]", "0.0.0.0/0"));
	text = json_dumps(dev, JSON_COMPACT);
	snprintf(body, sizeof(body), "%s", text);
	free(text);
	json_decref(dev);
	snprintf(reply, sizeof(reply), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 strlen(body), body);

	approve_action = "approve";
	approve_n = 2;
	assert_int_equal(canned_request(reply, 0, do_approve, &c, &api), 0);
	assert_non_null(strstr(c.request, "POST /api/v1/devices/0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6b/approve HTTP/1.1\r\n"));
	sent = request_body(&c);
	assert_int_equal(json_array_size(json_object_get(sent, "cidrs")), 2);
	assert_string_equal(json_string_value(json_array_get(json_object_get(sent, "cidrs"), 0)), "0.0.0.0/0");
	assert_string_equal(json_string_value(json_array_get(json_object_get(sent, "cidrs"), 1)), "2001:db8::/32");
	json_decref(sent);
	api_client_free(api);

	/* none given: {} (everything the device advertises) */
	approve_action = "unapprove";
	approve_n = 0;
	assert_int_equal(canned_request(reply, 0, do_approve, &c, &api), 0);
	assert_non_null(strstr(c.request, "POST /api/v1/devices/0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6b/unapprove HTTP/1.1\r\n"));
	sent = request_body(&c);
	assert_int_equal(json_object_size(sent), 0);
	json_decref(sent);
	/* refused before sending: too many prefixes, a bad id */
	assert_int_equal(api_device_approve(api, "x", NULL, API_MAX_ADVERTISE_CIDRS + 1, NULL, &d), -EINVAL);
	assert_int_equal(api_device_approve(api, "", NULL, 0, NULL, &d), -EINVAL);
	assert_int_equal(api_device_unapprove(api, NULL, NULL, 0, NULL, NULL), -EINVAL);
	api_client_free(api);

	/* the server's 400, and a device token's 403 */
	approve_action = "approve";
	assert_int_equal(canned_request("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
					0, do_approve, &c, &api), -EINVAL);
	api_client_free(api);
	assert_int_equal(canned_request("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
					0, do_approve, &c, &api), -EPERM);
	api_client_free(api);
}

static int do_org_update(struct api_client *api)
{
	json_t *j = NULL;
	int r = api_org_update(api, "acme", "auto", &j);

	if (r == 0)
		assert_string_equal(json_string_value(json_object_get(j, "exit_node_approval")), "auto");
	json_decref(j);
	return r;
}

static int do_regkey_auto(struct api_client *api)
{
	struct api_regkey_spec spec = { .org = "acme", .auto_approve = true, .expires_in_s = 60 };

	return api_regkey_create(api, &spec, NULL);
}

static int do_regkey_plain(struct api_client *api)
{
	struct api_regkey_spec spec = { 0 };

	return api_regkey_create(api, &spec, NULL);
}

static int do_regkey_reusable(struct api_client *api)
{
	struct api_regkey_spec spec = { .reusable = true, .never_expires = true };

	return api_regkey_create(api, &spec, NULL);
}

static int do_org_create(struct api_client *api)
{
	return api_org_create(api, "acme", NULL, NULL, "auto", NULL);
}

static void test_client_org_and_keys(void **state)
{
	static const char org[] = "{\"id\": \"x\", \"name\": \"acme\", \"exit_node_approval\": \"auto\"}";
	static const char key[] = "{\"id\": \"1\", \"key\": \"nxr_1_x\", \"auto_approve\": true}";
	char reply[512];
	struct canned c;
	struct api_client *api;
	json_t *sent;

	(void)state;
	snprintf(reply, sizeof(reply), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 strlen(org), org);
	assert_int_equal(canned_request(reply, 0, do_org_update, &c, &api), 0);
	assert_non_null(strstr(c.request, "PATCH /api/v1/organizations/acme HTTP/1.1\r\n"));
	sent = request_body(&c);
	assert_string_equal(json_string_value(json_object_get(sent, "exit_node_approval")), "auto");
	assert_int_equal(json_object_size(sent), 1);
	json_decref(sent);
	assert_int_equal(api_org_update(api, "acme", NULL, NULL), -EINVAL);
	api_client_free(api);

	assert_int_equal(canned_request(reply, 0, do_org_create, &c, &api), 0);
	sent = request_body(&c);
	assert_string_equal(json_string_value(json_object_get(sent, "exit_node_approval")), "auto");
	assert_null(json_object_get(sent, "prefix"));
	json_decref(sent);
	api_client_free(api);

	snprintf(reply, sizeof(reply), "HTTP/1.1 201 Created\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n%s",
		 strlen(key), key);
	assert_int_equal(canned_request(reply, 0, do_regkey_auto, &c, &api), 0);
	sent = request_body(&c);
	assert_true(json_is_true(json_object_get(sent, "auto_approve")));
	assert_int_equal(json_integer_value(json_object_get(sent, "expires_in")), 60);
	json_decref(sent);
	api_client_free(api);
	/* not asked for: not sent (an older server refuses unknown fields) */
	assert_int_equal(canned_request(reply, 0, do_regkey_plain, &c, &api), 0);
	sent = request_body(&c);
	assert_null(json_object_get(sent, "auto_approve"));
	assert_true(json_is_true(json_object_get(sent, "single_use")));
	assert_null(json_object_get(sent, "expires_in"));
	json_decref(sent);
	api_client_free(api);
	assert_int_equal(canned_request(reply, 0, do_regkey_reusable, &c, &api), 0);
	sent = request_body(&c);
	assert_true(json_is_false(json_object_get(sent, "single_use")));
	assert_true(json_is_null(json_object_get(sent, "expires_in")));
	json_decref(sent);
	api_client_free(api);
}

static void test_client_config(void **state)
{
	struct api_client_config cfg = { .base_url = "ftp://example" };
	struct api_client *api;

	(void)state;
	assert_int_equal(api_client_new(&cfg, &api), -EINVAL);
	cfg.base_url = "http://exa mple";
	assert_int_equal(api_client_new(&cfg, &api), -EINVAL);
	cfg.base_url = "http://127.0.0.1:1";
	cfg.token = "abc\r\nX-Evil: 1";
	assert_int_equal(api_client_new(&cfg, &api), -EINVAL);
	cfg.token = "";
	assert_int_equal(api_client_new(&cfg, &api), -EINVAL);
	cfg.token = "nxa_good";
	assert_int_equal(api_client_new(&cfg, &api), 0);
	assert_int_equal(api_client_set_token(api, "bad token"), -EINVAL);
	assert_int_equal(api_client_set_token(api, NULL), 0);
	/* nothing listens on port 1 */
	assert_int_equal(api_health(api), -ECONNREFUSED);
	assert_non_null(strstr(api_client_error(api), "cannot connect"));
	assert_int_equal(api_device_get(api, "", NULL, NULL), -EINVAL);
	api_client_free(api);
}

/* ---- nexctl's tables ---- */

static void test_table_alignment(void **state)
{
	static const char *const headers[] = { "ID", "NAME", "LAST" };
	static const char *const r1[] = { "1", "a-long-name", "x" };
	static const char *const r2[] = { "12345", "", "yes" };
	static const char *const r3[] = { "\x1b[31mred", "h\xc3\xa9llo", "\xff" };
	struct out_table *t = out_table_new(3, headers);
	char *buf;
	size_t len;

	(void)state;
	assert_non_null(t);
	assert_int_equal(out_table_add(t, r1), 0);
	assert_int_equal(out_table_add(t, r2), 0);
	assert_int_equal(out_table_add(t, r3), 0);
	assert_int_equal(out_table_format(t, &buf, &len), 0);
	assert_string_equal(buf,
			    "ID        NAME         LAST\n"
			    "1         a-long-name  x\n"
			    "12345     -            yes\n"
			    "?[31mred  h\xc3\xa9llo        ?\n");
	assert_int_equal(len, strlen(buf));
	free(buf);
	out_table_free(t);

	/* only the header */
	t = out_table_new(3, headers);
	assert_int_equal(out_table_format(t, &buf, &len), 0);
	assert_string_equal(buf, "ID  NAME  LAST\n");
	free(buf);
	out_table_free(t);

	assert_null(out_table_new(0, headers));
	assert_null(out_table_new(OUT_TABLE_MAX_COLS + 1, headers));
}

static void test_output_format_parse(void **state)
{
	enum out_format f;

	(void)state;
	assert_int_equal(out_format_parse("json", &f), 0);
	assert_int_equal(f, OUT_JSON);
	assert_int_equal(out_format_parse("table", &f), 0);
	assert_int_equal(f, OUT_TABLE);
	assert_int_equal(out_format_parse("json-compact", &f), 0);
	assert_int_equal(f, OUT_JSON_COMPACT);
	assert_int_equal(out_format_parse("yaml", &f), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_device_valid),
		cmocka_unit_test(test_device_nulls_and_empties),
		cmocka_unit_test(test_device_tunnel_ip6),
		cmocka_unit_test(test_device_approved),
		cmocka_unit_test(test_device_missing_fields),
		cmocka_unit_test(test_device_wrong_types),
		cmocka_unit_test(test_device_bad_values),
		cmocka_unit_test(test_device_array_limits),
		cmocka_unit_test(test_device_not_object),
		cmocka_unit_test(test_device_relay_endpoint),
		cmocka_unit_test(test_relays_valid),
		cmocka_unit_test(test_relays_bad),
		cmocka_unit_test(test_device_list),
		cmocka_unit_test(test_watch),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_client_ok_and_header),
		cmocka_unit_test(test_client_http_error),
		cmocka_unit_test(test_client_garbled),
		cmocka_unit_test(test_client_reply_limit),
		cmocka_unit_test(test_client_keepalive),
		cmocka_unit_test(test_client_watch),
		cmocka_unit_test(test_client_register),
		cmocka_unit_test(test_client_relays),
		cmocka_unit_test(test_challenge_parse),
		cmocka_unit_test(test_challenge_proof),
		cmocka_unit_test(test_client_register_proof),
		cmocka_unit_test(test_client_device_deleted),
		cmocka_unit_test(test_client_approve),
		cmocka_unit_test(test_client_org_and_keys),
		cmocka_unit_test(test_client_config),
		cmocka_unit_test(test_table_alignment),
		cmocka_unit_test(test_output_format_parse),
	};

	signal(SIGPIPE, SIG_IGN); /* the canned server writes to a client that gave up */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
