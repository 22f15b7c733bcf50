/* nexapi's pure modules: tunnel address allocation (ipam), value checks
 * (validate), token texts (auth), the request body parsers (body), the
 * TURN relays (relay: server list, secret file, credentials), approvals
 * (approval) and re-registration challenges (challenge); and the SQLite
 * store's rules for issue #14 (approval, proof-gated re-registration, the
 * single-use retry window, tombstones, the server key), on a database in
 * a temporary directory. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "common/regproof.h"
#include "nexapi/approval.h"
#include "nexapi/auth.h"
#include "nexapi/body.h"
#include "nexapi/challenge.h"
#include "nexapi/ipam.h"
#include "nexapi/relay.h"
#include "nexapi/store.h"
#include "nexapi/validate.h"

#define PK "hvhjKkxSvv6oLv2GYR4g2lFQDKjycgYH1+q9MBbID3o="

static uint32_t ip(const char *s)
{
	uint32_t a;

	assert_int_equal(ipam_parse(s, &a), 0);
	return a;
}

static void test_ipam_prefix(void **state)
{
	uint32_t net;
	unsigned len;

	assert_int_equal(ipam_prefix_parse("100.100.0.0/16", &net, &len), 0);
	assert_int_equal(net, ip("100.100.0.0"));
	assert_int_equal(len, 16);
	assert_int_equal(ipam_prefix_parse("100.100.9.0/30", &net, &len), 0);
	assert_int_equal(ipam_prefix_parse("100.100.0.1/16", &net, &len), -EINVAL);   /* host bits */
	assert_int_equal(ipam_prefix_parse("100.100.9.0/31", &net, &len), -EINVAL);
	assert_int_equal(ipam_prefix_parse("10.0.0.0/7", &net, &len), -EINVAL);
	assert_int_equal(ipam_prefix_parse("2001:db8::/64", &net, &len), -EINVAL);
	assert_int_equal(ipam_prefix_parse("100.100.0.0", &net, &len), -EINVAL);       /* /32 */
	assert_int_equal(ipam_prefix_parse("", &net, &len), -EINVAL);
}

static void test_ipam_first_free(void **state)
{
	uint32_t net = ip("100.100.9.0"), out = 0;
	uint32_t used[6];

	/* Empty: the first host address, never the network address. */
	assert_int_equal(ipam_first_free(net, 29, NULL, 0, &out), 0);
	assert_int_equal(out, net + 1);
	/* A gap is filled first. */
	used[0] = net + 1;
	used[1] = net + 3;
	assert_int_equal(ipam_first_free(net, 29, used, 2, &out), 0);
	assert_int_equal(out, net + 2);
	/* Dense: the next one. */
	used[1] = net + 2;
	assert_int_equal(ipam_first_free(net, 29, used, 2, &out), 0);
	assert_int_equal(out, net + 3);
	/* Full /29: .1 to .6 taken; .7 is the broadcast address. */
	for (int i = 0; i < 6; i++)
		used[i] = net + 1 + (uint32_t)i;
	assert_int_equal(ipam_first_free(net, 29, used, 6, &out), -ENOSPC);
	/* /30: two hosts. */
	used[0] = net + 1;
	used[1] = net + 2;
	assert_int_equal(ipam_first_free(net, 30, used, 2, &out), -ENOSPC);
	assert_int_equal(ipam_first_free(net, 30, used, 1, &out), 0);
	assert_int_equal(out, net + 2);
}

static void test_ipam_dense(void **state)
{
	uint32_t net = ip("100.100.0.0"), out = 0;

	assert_int_equal(ipam_next_if_dense(net, 16, 0, 0, &out), 0);
	assert_int_equal(out, net + 1);
	assert_int_equal(ipam_next_if_dense(net, 16, 3, net + 3, &out), 0);
	assert_int_equal(out, net + 4);
	assert_int_equal(ipam_next_if_dense(net, 16, 2, net + 3, &out), -EAGAIN);   /* a gap */
	assert_int_equal(ipam_next_if_dense(net, 30, 2, net + 2, &out), -ENOSPC);
	assert_int_equal(ipam_next_if_dense(net, 16, 1, net + 70000, &out), -EAGAIN); /* outside */
}

static void test_validate(void **state)
{
	char out[ADDR_CIDR_STRLEN], ep[ADDR_ENDPOINT_STRLEN];
	const char *why;
	char longname[300];

	assert_int_equal(validate_org_name("acme-1"), 0);
	assert_int_equal(validate_org_name("-acme"), -EINVAL);
	assert_int_equal(validate_org_name("Acme"), -EINVAL);
	assert_int_equal(validate_org_name("0f8fad5b-d9cb-469f-a165-70867728950e"), -EEXIST);
	assert_int_equal(validate_org_name("0f8fad5b-d9cb-469f-a165-70867728950"), 0);
	assert_int_equal(validate_org_name(""), -EINVAL);
	memset(longname, 'a', 64);
	longname[64] = 0;
	assert_int_equal(validate_org_name(longname), -EINVAL);
	longname[63] = 0;
	assert_int_equal(validate_org_name(longname), 0);

	assert_int_equal(validate_hostname("my-host.example_1"), 0);
	assert_int_equal(validate_hostname("bad host"), -EINVAL);
	assert_int_equal(validate_hostname(""), -EINVAL);
	memset(longname, 'h', 254);
	longname[254] = 0;
	assert_int_equal(validate_hostname(longname), -EINVAL);
	longname[253] = 0;
	assert_int_equal(validate_hostname(longname), 0);

	assert_int_equal(validate_cidr("192.0.2.77/24", out), 0);
	assert_string_equal(out, "192.0.2.0/24");
	assert_int_equal(validate_cidr("0.0.0.0/0", out), 0);
	assert_int_equal(validate_cidr("2001:db8::1/32", out), 0);
	assert_string_equal(out, "2001:db8::/32");
	assert_int_equal(validate_cidr("192.0.2.1", out), -EINVAL);
	assert_int_equal(validate_cidr("192.0.2.0/33", out), -EINVAL);

	assert_int_equal(validate_public_key(PK), 0);
	assert_int_equal(validate_public_key("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), -EINVAL);
	assert_int_equal(validate_public_key("short"), -EINVAL);

	assert_int_equal(validate_endpoint("192.0.2.1:51820", ep, &why), 0);
	assert_string_equal(ep, "192.0.2.1:51820");
	assert_int_equal(validate_endpoint("[2001:db8::1]:1", ep, &why), 0);
	assert_int_equal(validate_endpoint("192.0.2.1:0", ep, &why), -EINVAL);
	assert_int_equal(validate_endpoint("192.0.2.1", ep, &why), -EINVAL);
	assert_int_equal(validate_endpoint("[fe80::1%1]:5", ep, &why), -EINVAL);
	assert_int_equal(validate_endpoint("host.example:5", ep, &why), -EINVAL);
	assert_string_equal(why, "is not ip:port");
	/* addresses no peer can send to */
	static const char *const bad[][2] = {
		{ "127.0.0.1:22", "is a loopback address" },
		{ "127.9.9.9:51820", "is a loopback address" },
		{ "[::1]:51820", "is a loopback address" },
		{ "[::ffff:127.0.0.1]:51820", "is a loopback address" },
		{ "0.0.0.0:51820", "is an unspecified (0.0.0.0/8) address" },
		{ "[::]:51820", "is an unspecified address" },
		{ "224.0.0.1:51820", "is a multicast address" },
		{ "239.255.255.250:1900", "is a multicast address" },
		{ "[ff02::1]:51820", "is a multicast address" },
		{ "255.255.255.255:9", "is the broadcast address" },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(validate_endpoint(bad[i][0], ep, &why), -EADDRNOTAVAIL);
		assert_string_equal(why, bad[i][1]);
	}
	assert_int_equal(validate_endpoint("192.0.2.1:0", ep, &why), -EINVAL);
	assert_string_equal(why, "has port 0");
	assert_int_equal(validate_endpoint("223.255.255.254:1", ep, &why), 0);
	assert_int_equal(validate_endpoint("[2001:db8::ffff:7f00:1]:1", ep, &why), 0);

	assert_int_equal(validate_uuid("0f8fad5b-d9cb-469f-a165-70867728950e"), 0);
	assert_int_equal(validate_uuid("0F8FAD5B-d9cb-469f-a165-70867728950e"), -EINVAL);
	assert_int_equal(validate_uuid("0f8fad5b-d9cb-469f-a165-70867728950"), -EINVAL);
}

static void test_auth_tokens(void **state)
{
	char text[AUTH_TOKEN_LEN + 1], id[STORE_TOKEN_ID_LEN + 1], id2[STORE_TOKEN_ID_LEN + 1];
	uint8_t hash[STORE_HASH_LEN], again[STORE_HASH_LEN];
	char kind;

	auth_token_new(TOKEN_ORG, text, id, hash);
	assert_int_equal(strlen(text), AUTH_TOKEN_LEN);
	assert_memory_equal(text, "nxo_", 4);
	assert_int_equal(auth_token_parse(text, &kind, id2), 0);
	assert_int_equal(kind, TOKEN_ORG);
	assert_string_equal(id, id2);
	auth_hash(text, again);
	assert_memory_equal(hash, again, STORE_HASH_LEN);
	/* One character changed: another hash. */
	text[AUTH_TOKEN_LEN - 1] = text[AUTH_TOKEN_LEN - 1] == 'A' ? 'B' : 'A';
	auth_hash(text, again);
	assert_true(memcmp(hash, again, STORE_HASH_LEN) != 0);

	assert_int_equal(auth_token_parse("", &kind, id2), -EINVAL);
	assert_int_equal(auth_token_parse("nxq_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
					  &kind, id2), -EINVAL);
	assert_int_equal(auth_token_parse("nxa_0123456789ABCDEF_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
					  &kind, id2), -EINVAL);
	assert_int_equal(auth_token_parse("nxa_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
					  &kind, id2), -EINVAL);
	assert_int_equal(auth_token_parse("nxa_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
					  &kind, id2), 0);
	assert_int_equal(auth_token_parse("nxa_0123456789abcdef_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
					  &kind, id2), -EINVAL);
}

#define PARSE(fn, s, out) fn(s, strlen(s), out, &e)

static void test_prefix6(void **state)
{
	char out[ADDR_CIDR_STRLEN], a6[INET6_ADDRSTRLEN];
	uint8_t net[16];
	static const char *const bad[] = {
		"2001:db8:6464::1/64",     /* host bits */
		"2001:db8:6464:0:1::/64",  /* host bits */
		"2001:db8:6464::/48", "2001:db8:6464::/96", "2001:db8:6464::/128", "2001:db8::/65",
		"2001:db8:6464::",         /* no length */
		"100.100.0.0/16", "100.100.0.0/64", "::ffff:100.100.0.0/64",
		"2001:db8::/64 ", " 2001:db8::/64", "2001:db8::/064x", "2001:db8::/-64", "2001:db8::/",
		"2001:db8::%lo/64", "2001:db8:::/64", "", "/64",
	};

	assert_int_equal(ipam_prefix6_parse("2001:db8:6464::/64", net), 0);
	assert_memory_equal(net, ((uint8_t[16]){ 0x20, 0x01, 0x0d, 0xb8, 0x64, 0x64 }), 16);
	assert_int_equal(validate_org_prefix6("2001:DB8:6464:0:0::/64", out), 0);
	assert_string_equal(out, "2001:db8:6464::/64");
	assert_int_equal(validate_org_prefix6("fd00:1:2:3::/64", out), 0);
	assert_string_equal(out, "fd00:1:2:3::/64");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		strcpy(out, "untouched");
		if (validate_org_prefix6(bad[i], out) != -EINVAL)
			fail_msg("accepted prefix6 \"%s\"", bad[i]);
		assert_int_equal(ipam_prefix6_parse(bad[i], net), -EINVAL);
	}

	/* tunnel_ip6: prefix6 with the low 32 bits of the IPv4 tunnel address. */
	assert_int_equal(ipam_derive6("2001:db8:6464::/64", "100.100.0.5", a6), 0);
	assert_string_equal(a6, "2001:db8:6464::6464:5");
	assert_int_equal(ipam_derive6("2001:db8:6464::/64", "100.100.16.1", a6), 0);
	assert_string_equal(a6, "2001:db8:6464::6464:1001");
	assert_int_equal(ipam_derive6("fd00:1:2:3::/64", "100.100.255.254", a6), 0);
	assert_string_equal(a6, "fd00:1:2:3::6464:fffe");
	assert_int_equal(ipam_derive6("2001:db8::/64", "10.0.0.1", a6), 0);
	assert_string_equal(a6, "2001:db8::a00:1");
	assert_int_equal(ipam_derive6("2001:db8::1/64", "100.100.0.5", a6), -EINVAL);
	assert_int_equal(ipam_derive6("2001:db8::/48", "100.100.0.5", a6), -EINVAL);
	assert_int_equal(ipam_derive6("2001:db8::/64", "100.100.0.256", a6), -EINVAL);
	assert_int_equal(ipam_derive6("2001:db8::/64", "2001:db8::5", a6), -EINVAL);
	assert_int_equal(ipam_derive6("2001:db8::/64", "", a6), -EINVAL);
}

static void test_body_org_token_regkey(void **state)
{
	struct body_org o;
	struct body_token t;
	struct body_regkey k;
	struct jsonv_err e;

	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\"}", &o), 0);
	assert_string_equal(o.name, "acme");
	assert_string_equal(o.prefix, "");
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"prefix\":\"100.100.8.0/22\"}", &o), 0);
	assert_string_equal(o.prefix, "100.100.8.0/22");
	assert_string_equal(o.prefix6, "");
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"prefix6\":\"2001:DB8:1:0::/64\"}", &o), 0);
	assert_string_equal(o.prefix, "");
	assert_string_equal(o.prefix6, "2001:db8:1::/64");
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"prefix6\":null}", &o), 0);
	assert_string_equal(o.prefix6, "");
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"prefix6\":\"2001:db8:1::1/64\"}", &o), -EINVAL);
	assert_non_null(strstr(e.msg, "prefix6"));
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"prefix6\":\"2001:db8::/56\"}", &o), -EINVAL);
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"prefix6\":\"100.100.0.0/16\"}", &o), -EINVAL);
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"prefix6\":\"\"}", &o), -EINVAL);
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"prefix6\":64}", &o), -EINVAL);
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"prefix\":\"100.100.0.1/16\",\"prefix6\":\"2001:db8::/64\"}", &o), -EINVAL);
	assert_non_null(strstr(e.msg, "\"prefix\""));
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"x\":1}", &o), -EINVAL);
	assert_non_null(strstr(e.msg, "unknown field"));
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"a\",\"name\":\"b\"}", &o), -EINVAL);
	assert_int_equal(PARSE(body_parse_org, "{}", &o), -EINVAL);
	assert_int_equal(PARSE(body_parse_org, "[]", &o), -EINVAL);
	assert_int_equal(PARSE(body_parse_org, "", &o), -EINVAL);
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\"} x", &o), -EINVAL);

	assert_int_equal(PARSE(body_parse_token, "{\"organization\":\"acme\"}", &t), 0);
	assert_int_equal(PARSE(body_parse_token, "{\"organization\":null}", &t), -EINVAL);

	assert_int_equal(PARSE(body_parse_regkey, "{}", &k), 0);
	assert_true(k.single_use);
	assert_int_equal(k.expires_in, 86400);
	assert_int_equal(PARSE(body_parse_regkey, "{\"single_use\":false,\"expires_in\":null}", &k), 0);
	assert_false(k.single_use);
	assert_int_equal(k.expires_in, 0);
	assert_int_equal(PARSE(body_parse_regkey, "{\"single_use\":true,\"expires_in\":60}", &k), 0);
	assert_true(k.single_use);
	assert_int_equal(k.expires_in, 60);
	assert_int_equal(PARSE(body_parse_regkey, "{\"expires_in\":0}", &k), -EINVAL);
	assert_int_equal(PARSE(body_parse_regkey, "{\"expires_in\":31536001}", &k), -EINVAL);
	assert_int_equal(PARSE(body_parse_regkey, "{\"expires_in\":60.0}", &k), -EINVAL);
	assert_int_equal(PARSE(body_parse_regkey, "{\"single_use\":1}", &k), -EINVAL);
}

static void test_body_device(void **state)
{
	struct body_device *d = malloc(sizeof(*d));
	struct jsonv_err e;
	char *s;

	assert_non_null(d);
	assert_int_equal(PARSE(body_parse_register,
			       "{\"public_key\":\"" PK "\",\"hostname\":\"h\",\"endpoints\":"
			       "[{\"source\":\"stun\",\"address\":\"[2001:db8::1]:5\"}],"
			       "\"advertise_cidrs\":[\"0.0.0.0/0\",\"192.0.2.0/24\"]}", d), 0);
	assert_int_equal(d->n_endpoints, 1);
	assert_int_equal(d->n_cidrs, 2);
	assert_string_equal(d->cidrs[1], "192.0.2.0/24");
	assert_false(d->has_proof);
	s = body_endpoints_json(d);
	assert_string_equal(s, "[{\"source\":\"stun\",\"address\":\"[2001:db8::1]:5\"}]");
	free(s);
	s = body_cidrs_json(d);
	assert_string_equal(s, "[\"0.0.0.0/0\",\"192.0.2.0/24\"]");
	free(s);
	/* Registration needs a key and a hostname; no exit fields. */
	assert_int_equal(PARSE(body_parse_register, "{\"hostname\":\"h\"}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_register, "{\"public_key\":\"" PK "\"}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_register,
			       "{\"public_key\":\"" PK "\",\"hostname\":\"h\",\"exit_node_client\":true}", d),
			 -EINVAL);
	/* Updates. */
	assert_int_equal(PARSE(body_parse_patch, "{\"exit_node_client\":true}", d), 0);
	assert_int_equal(d->fields, DEV_EXIT_CLIENT);
	assert_true(d->exit_node_client);
	assert_int_equal(PARSE(body_parse_patch, "{\"exit_node_status\":\"via 100.100.0.2\",\"os\":\"\"}", d), 0);
	assert_int_equal(d->fields, DEV_EXIT_STATUS | DEV_OS);
	assert_int_equal(PARSE(body_parse_patch, "{}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_patch, "{\"public_key\":\"" PK "\"}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_patch, "{\"exit_node_status\":\"\"}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_patch, "{\"os\":\"a\\u0001b\"}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_patch, "{\"os\":\"caf\\u00e9\"}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_patch, "{\"hostname\":\"a\\u0000b\"}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_patch, "{\"endpoints\":[{\"source\":\"local\"}]}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_patch, "{\"endpoints\":[\"192.0.2.1:1\"]}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_patch, "{\"advertise_cidrs\":[1]}", d), -EINVAL);
	/* A relayed address (TURN) is an endpoint too; other sources are not. */
	assert_int_equal(PARSE(body_parse_patch,
			       "{\"endpoints\":[{\"source\":\"relay\",\"address\":\"203.0.113.30:49152\"},"
			       "{\"source\":\"local\",\"address\":\"192.0.2.1:1\"}]}", d), 0);
	assert_int_equal(d->n_endpoints, 2);
	assert_string_equal(d->endpoints[0].source, "relay");
	s = body_endpoints_json(d);
	assert_string_equal(s, "[{\"source\":\"relay\",\"address\":\"203.0.113.30:49152\"},"
			       "{\"source\":\"local\",\"address\":\"192.0.2.1:1\"}]");
	free(s);
	assert_int_equal(PARSE(body_parse_patch,
			       "{\"endpoints\":[{\"source\":\"turn\",\"address\":\"203.0.113.30:1\"}]}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_patch,
			       "{\"endpoints\":[{\"source\":\"relays\",\"address\":\"203.0.113.30:1\"}]}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_register,
			       "{\"public_key\":\"" PK "\",\"hostname\":\"h\",\"endpoints\":"
			       "[{\"source\":\"relay\",\"address\":\"[2001:db8::30]:49152\"}]}", d), 0);
	free(d);
}

static void test_relay_servers(void **state)
{
	struct relay_config rc;

	memset(&rc, 0, sizeof(rc));
	assert_int_equal(relay_add_server(&rc, "turn:203.0.113.30:3478"), 0);
	assert_int_equal(relay_add_server(&rc, "turn:203.0.113.30?transport=tcp"), 0);
	assert_int_equal(relay_add_server(&rc, "TURNS:Relay.Example"), 0);
	assert_string_equal(rc.uris[1], "turn:203.0.113.30:3478?transport=tcp");
	assert_string_equal(rc.uris[2], "turns:relay.example:5349");
	/* the same server twice, in another spelling */
	assert_int_equal(relay_add_server(&rc, "turn:203.0.113.30"), -EEXIST);
	assert_int_equal(relay_add_server(&rc, "turn:203.0.113.30:3478?transport=udp"), -EEXIST);
	assert_int_equal(relay_add_server(&rc, "turn:203.0.113.300"), -EINVAL);
	assert_int_equal(relay_add_server(&rc, "stun:203.0.113.30"), -EINVAL);
	assert_int_equal(rc.n, 3);
	for (int port = 1; rc.n < RELAY_MAX_SERVERS; port++) {
		char uri[64];
		snprintf(uri, sizeof(uri), "turn:203.0.113.31:%d", port);
		assert_int_equal(relay_add_server(&rc, uri), 0);
	}
	assert_int_equal(relay_add_server(&rc, "turn:203.0.113.32"), -E2BIG);
	assert_int_equal(rc.n, RELAY_MAX_SERVERS);
}

/* HMAC-SHA1 and base64: RFC 2202 test case 2, and a TURN REST username
 * (the expected values come from `openssl dgst -sha1 -hmac KEY -binary | base64`). */
static void test_relay_credentials(void **state)
{
	static const char secret[] = "s3cret-of-the-relays";
	char user[RELAY_USERNAME_MAX + 1], pw[RELAY_PASSWORD_LEN + 1];
	struct relay_config rc;
	int64_t expires = 0;

	assert_int_equal(relay_password((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", pw), 0);
	assert_string_equal(pw, "7/zfauXrL6LSdBbV8YTfnCWafHk=");
	assert_int_equal(relay_password(NULL, 0, "x", pw), -EINVAL);

	memset(&rc, 0, sizeof(rc));
	rc.ttl = 86400;
	rc.secret = (uint8_t *)secret;
	rc.secret_len = strlen(secret);
	assert_int_equal(relay_credentials(&rc, "0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6b", 1795596340, user, pw,
					   &expires), 0);
	assert_string_equal(user, "1795682740:0f8e2a64-7d1c-4b6e-9a0b-1c2d3e4f5a6b");
	assert_string_equal(pw, "/7eQIpBxaeYHCxj4QcT4I5SF6H8=");
	assert_int_equal(expires, 1795596340 + 86400);
	assert_int_equal(strlen(user), RELAY_USERNAME_MAX - 10);   /* a 10-digit time of the 20 allowed */
}

/* Writes content to a new file of mode in dir; returns its path. */
static const char *secret_file(const char *dir, const char *name, const void *content, size_t len, mode_t mode)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void test_relay_secret_file(void **state)
{
	char dir[] = "/tmp/nexapi-test-XXXXXX", big[RELAY_SECRET_MAX + 2];
	struct relay_config rc;
	const char *why, *p;

	assert_non_null(mkdtemp(dir));
	memset(&rc, 0, sizeof(rc));
	/* one line; its newline dropped */
	p = secret_file(dir, "ok", "s3cret\n", 7, 0600);
	assert_int_equal(relay_secret_load(&rc, p, &why), 0);
	assert_int_equal(rc.secret_len, 6);
	assert_memory_equal(rc.secret, "s3cret", 6);
	relay_config_clear(&rc);
	assert_null(rc.secret);
	assert_int_equal(rc.secret_len, 0);
	p = secret_file(dir, "crlf", "s3cret\r\n", 8, 0600);
	assert_int_equal(relay_secret_load(&rc, p, &why), 0);
	assert_int_equal(rc.secret_len, 6);
	relay_config_clear(&rc);
	/* without a newline */
	p = secret_file(dir, "open", "s e c r e t", 11, 0600);
	assert_int_equal(relay_secret_load(&rc, p, &why), 0);
	assert_int_equal(rc.secret_len, 11);
	relay_config_clear(&rc);
	/* readable by others: refused (a secret file is the owner's only) */
	chmod(p, 0644);
	assert_int_equal(relay_secret_load(&rc, p, &why), -EPERM);
	assert_non_null(why);
	assert_null(rc.secret);
	/* refused */
	p = secret_file(dir, "empty", "", 0, 0600);
	assert_int_equal(relay_secret_load(&rc, p, &why), -ENODATA);
	assert_non_null(why);
	p = secret_file(dir, "newline", "\n", 1, 0600);
	assert_int_equal(relay_secret_load(&rc, p, &why), -ENODATA);
	p = secret_file(dir, "two-lines", "a\nb\n", 4, 0600);
	assert_int_equal(relay_secret_load(&rc, p, &why), -EINVAL);
	p = secret_file(dir, "nul", "a\0b", 3, 0600);
	assert_int_equal(relay_secret_load(&rc, p, &why), -EINVAL);
	memset(big, 'x', sizeof(big));
	big[sizeof(big) - 1] = '\n';
	p = secret_file(dir, "big", big, sizeof(big), 0600);   /* 1025 bytes and a newline */
	assert_int_equal(relay_secret_load(&rc, p, &why), -EFBIG);
	p = secret_file(dir, "max", big + 1, sizeof(big) - 1, 0600);   /* 1024 and a newline */
	assert_int_equal(relay_secret_load(&rc, p, &why), 0);
	assert_int_equal(rc.secret_len, RELAY_SECRET_MAX);
	relay_config_clear(&rc);
	assert_int_equal(relay_secret_load(&rc, "/nonexistent/secret", &why), -ENOENT);
	assert_null(why);
	assert_int_equal(relay_secret_load(&rc, dir, &why), -EINVAL);   /* a directory */
	assert_null(rc.secret);
	for (const char *const *n = (const char *const[]){ "ok", "crlf", "open", "empty", "newline", "two-lines",
							  "nul", "big", "max", NULL }; *n; n++) {
		char path[256];
		snprintf(path, sizeof(path), "%s/%s", dir, *n);
		unlink(path);
	}
	rmdir(dir);
}

/* Issue #14: the new body fields. */
static void test_body_approval_fields(void **state)
{
	struct body_device *d = malloc(sizeof(*d));
	struct body_approve *a = malloc(sizeof(*a));
	struct body_org_patch op;
	struct body_regkey k;
	struct body_org o;
	struct jsonv_err e;
	char *s;

	assert_non_null(d);
	assert_non_null(a);
	/* organizations */
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\"}", &o), 0);
	assert_false(o.approval_auto);
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"exit_node_approval\":\"auto\"}", &o), 0);
	assert_true(o.approval_auto);
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"exit_node_approval\":\"admin\"}", &o), 0);
	assert_false(o.approval_auto);
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"exit_node_approval\":\"Auto\"}", &o), -EINVAL);
	assert_string_equal(e.msg, "field \"exit_node_approval\" must be \"admin\" or \"auto\"");
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"exit_node_approval\":\"automatic\"}", &o), -EINVAL);
	assert_string_equal(e.msg, "field \"exit_node_approval\" must be \"admin\" or \"auto\"");
	assert_int_equal(PARSE(body_parse_org, "{\"name\":\"acme\",\"exit_node_approval\":null}", &o), -EINVAL);
	assert_int_equal(PARSE(body_parse_org_patch, "{\"exit_node_approval\":\"auto\"}", &op), 0);
	assert_true(op.approval_auto);
	assert_int_equal(PARSE(body_parse_org_patch, "{\"exit_node_approval\":\"admin\"}", &op), 0);
	assert_false(op.approval_auto);
	assert_int_equal(PARSE(body_parse_org_patch, "{}", &op), -EINVAL);
	assert_int_equal(PARSE(body_parse_org_patch, "{\"exit_node_approval\":1}", &op), -EINVAL);
	assert_int_equal(PARSE(body_parse_org_patch, "{\"exit_node_approval\":\"auto\",\"prefix\":\"10.0.0.0/8\"}", &op), -EINVAL);
	/* registration keys */
	assert_int_equal(PARSE(body_parse_regkey, "{}", &k), 0);
	assert_false(k.auto_approve);
	assert_int_equal(PARSE(body_parse_regkey, "{\"auto_approve\":true}", &k), 0);
	assert_true(k.auto_approve);
	assert_int_equal(PARSE(body_parse_regkey, "{\"auto_approve\":\"true\"}", &k), -EINVAL);
	/* advertised prefixes: canonical, no duplicates */
	assert_int_equal(PARSE(body_parse_patch, "{\"advertise_cidrs\":[\"203.0.113.2/24\"]}", d), -EINVAL);
	assert_string_equal(e.msg, "advertised prefix 203.0.113.2/24 is not canonical (host bits set); 203.0.113.0/24 is");
	assert_int_equal(PARSE(body_parse_register,
			       "{\"public_key\":\"" PK "\",\"hostname\":\"h\",\"advertise_cidrs\":[\"2001:db8::1/64\"]}", d),
			 -EINVAL);
	assert_string_equal(e.msg, "advertised prefix 2001:db8::1/64 is not canonical (host bits set); 2001:db8::/64 is");
	assert_int_equal(PARSE(body_parse_patch, "{\"advertise_cidrs\":[\"0.0.0.0/0\",\"0.0.0.0/0\"]}", d), -EINVAL);
	assert_string_equal(e.msg, "advertised prefix 0.0.0.0/0 is listed twice");
	assert_int_equal(PARSE(body_parse_patch, "{\"advertise_cidrs\":[\"2001:DB8::/32\"]}", d), 0);
	assert_string_equal(d->cidrs[0], "2001:db8::/32");   /* the text canonical too */
	assert_int_equal(PARSE(body_parse_patch, "{\"advertise_cidrs\":[\"::/0\",\"0.0.0.0/0\"]}", d), 0);
	/* a proof: only on registration, an object of two bounded strings */
	assert_int_equal(PARSE(body_parse_register,
			       "{\"public_key\":\"" PK "\",\"hostname\":\"h\",\"proof\":{\"nonce\":\"bm9uY2U=\",\"mac\":\"bWFj\"}}",
			       d), 0);
	assert_true(d->has_proof);
	assert_string_equal(d->proof_nonce, "bm9uY2U=");
	assert_string_equal(d->proof_mac, "bWFj");
	assert_int_equal(PARSE(body_parse_register,
			       "{\"public_key\":\"" PK "\",\"hostname\":\"h\",\"proof\":{\"nonce\":\"bm9uY2U=\"}}", d), -EINVAL);
	assert_int_equal(PARSE(body_parse_register,
			       "{\"public_key\":\"" PK "\",\"hostname\":\"h\",\"proof\":{\"nonce\":\"a\",\"mac\":\"b\",\"x\":1}}",
			       d), -EINVAL);
	assert_int_equal(PARSE(body_parse_register, "{\"public_key\":\"" PK "\",\"hostname\":\"h\",\"proof\":\"x\"}", d),
			 -EINVAL);
	assert_int_equal(PARSE(body_parse_register, "{\"public_key\":\"" PK "\",\"hostname\":\"h\",\"proof\":null}", d),
			 -EINVAL);
	assert_int_equal(PARSE(body_parse_register,
			       "{\"public_key\":\"" PK "\",\"hostname\":\"h\",\"proof\":{\"nonce\":\"" 
			       "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\",\"mac\":\"b\"}}", d),
			 -EINVAL);   /* 65 characters */
	assert_int_equal(PARSE(body_parse_patch, "{\"proof\":{\"nonce\":\"a\",\"mac\":\"b\"}}", d), -EINVAL);
	/* approve bodies */
	assert_int_equal(body_parse_approve("", 0, a, &e), 0);
	assert_true(a->all);
	assert_null(body_approve_json(a));
	assert_int_equal(PARSE(body_parse_approve, "{}", a), 0);
	assert_true(a->all);
	assert_int_equal(PARSE(body_parse_approve, "{\"cidrs\":[\"0.0.0.0/0\",\"::/0\"]}", a), 0);
	assert_false(a->all);
	assert_int_equal(a->n_cidrs, 2);
	s = body_approve_json(a);
	assert_string_equal(s, "[\"0.0.0.0/0\",\"::/0\"]");
	free(s);
	assert_int_equal(PARSE(body_parse_approve, "{\"cidrs\":[]}", a), 0);
	assert_false(a->all);
	s = body_approve_json(a);
	assert_string_equal(s, "[]");
	free(s);
	assert_int_equal(PARSE(body_parse_approve, "{\"cidrs\":[\"10.0.0.1/8\"]}", a), -EINVAL);
	assert_string_equal(e.msg, "prefix 10.0.0.1/8 is not canonical (host bits set); 10.0.0.0/8 is");
	assert_int_equal(PARSE(body_parse_approve, "{\"cidrs\":\"0.0.0.0/0\"}", a), -EINVAL);
	assert_int_equal(PARSE(body_parse_approve, "{\"cidrs\":null}", a), -EINVAL);
	assert_int_equal(PARSE(body_parse_approve, "{\"cidr\":[]}", a), -EINVAL);
	assert_int_equal(PARSE(body_parse_approve, "[]", a), -EINVAL);
	free(a);
	free(d);
}

static void test_validate_prefixes(void **state)
{
	char out[ADDR_CIDR_STRLEN];

	assert_int_equal(validate_cidr_canonical("192.0.2.0/24", out), 0);
	assert_string_equal(out, "192.0.2.0/24");
	assert_int_equal(validate_cidr_canonical("192.0.2.1/24", out), -ERANGE);
	assert_string_equal(out, "192.0.2.0/24");
	assert_int_equal(validate_cidr_canonical("192.0.2.1/32", out), 0);
	assert_int_equal(validate_cidr_canonical("0.0.0.0/0", out), 0);
	assert_int_equal(validate_cidr_canonical("1.0.0.0/0", out), -ERANGE);
	assert_int_equal(validate_cidr_canonical("::/0", out), 0);
	assert_int_equal(validate_cidr_canonical("2001:db8::8000/113", out), 0);
	assert_int_equal(validate_cidr_canonical("2001:db8::4000/113", out), -ERANGE);
	assert_int_equal(validate_cidr_canonical("192.0.2.0", out), -EINVAL);
	assert_int_equal(validate_cidr_canonical("192.0.2.0/33", out), -EINVAL);

	/* the rule: prefix length > 0, one family, one contains the other */
	assert_true(validate_overlaps("100.100.0.0/16", "100.100.0.0/16"));
	assert_true(validate_overlaps("100.64.0.0/10", "100.100.0.0/16"));
	assert_true(validate_overlaps("100.100.9.0/24", "100.100.0.0/16"));
	assert_true(validate_overlaps("100.100.0.1/32", "100.100.0.0/16"));
	assert_true(validate_overlaps("0.0.0.0/1", "100.100.0.0/16"));
	assert_false(validate_overlaps("0.0.0.0/0", "100.100.0.0/16"));
	assert_false(validate_overlaps("128.0.0.0/1", "100.100.0.0/16"));
	assert_false(validate_overlaps("100.101.0.0/16", "100.100.0.0/16"));
	assert_false(validate_overlaps("100.99.255.0/24", "100.100.0.0/16"));
	assert_true(validate_overlaps("2001:db8::/32", "2001:db8:6464::/64"));
	assert_true(validate_overlaps("2001:db8:6464::5/128", "2001:db8:6464::/64"));
	assert_false(validate_overlaps("::/0", "2001:db8:6464::/64"));
	assert_false(validate_overlaps("2001:db8:6465::/64", "2001:db8:6464::/64"));
	assert_false(validate_overlaps("::ffff:100.100.0.0/112", "100.100.0.0/16"));   /* another family */
	assert_false(validate_overlaps("100.100.0.0/16", "2001:db8:6464::/64"));
	assert_false(validate_overlaps("garbage", "100.100.0.0/16"));
}

static void follow(const char *approved, const char *advertised, bool automatic, const char *want)
{
	char *out = NULL;

	assert_int_equal(approval_follow(approved, advertised, automatic, &out), 0);
	assert_string_equal(out, want);
	free(out);
}

static void test_approval(void **state)
{
	char bad[ADDR_CIDR_STRLEN] = "", *out = NULL;

	/* a change of advertised: the intersection, or everything when automatic */
	follow("[]", "[\"0.0.0.0/0\"]", false, "[]");
	follow("[]", "[\"0.0.0.0/0\",\"::/0\"]", true, "[\"0.0.0.0/0\",\"::/0\"]");
	follow("[\"0.0.0.0/0\",\"::/0\"]", "[\"::/0\",\"10.0.0.0/8\"]", false, "[\"::/0\"]");
	follow("[\"0.0.0.0/0\"]", "[]", false, "[]");
	follow("[\"0.0.0.0/0\"]", "[]", true, "[]");
	/* the advertised order, no duplicates even from a bad stored list */
	follow("[\"10.0.0.0/8\",\"0.0.0.0/0\"]", "[\"0.0.0.0/0\",\"10.0.0.0/8\",\"0.0.0.0/0\"]", false,
	       "[\"0.0.0.0/0\",\"10.0.0.0/8\"]");
	assert_int_equal(approval_follow("{}", "[]", false, &out), -EIO);
	assert_int_equal(approval_follow("[]", "[1]", false, &out), -EIO);
	assert_int_equal(approval_follow("[]", "not json", false, &out), -EIO);
	assert_null(out);

	/* approve: all, a subset, one not advertised */
	assert_int_equal(approval_add("[]", "[\"0.0.0.0/0\",\"::/0\"]", NULL, bad, &out), 0);
	assert_string_equal(out, "[\"0.0.0.0/0\",\"::/0\"]");
	free(out);
	assert_int_equal(approval_add("[\"::/0\"]", "[\"0.0.0.0/0\",\"::/0\",\"10.0.0.0/8\"]", "[\"10.0.0.0/8\"]", bad,
				      &out), 0);
	assert_string_equal(out, "[\"::/0\",\"10.0.0.0/8\"]");
	free(out);
	out = NULL;
	assert_int_equal(approval_add("[]", "[\"0.0.0.0/0\"]", "[\"0.0.0.0/0\",\"192.0.2.0/24\"]", bad, &out), -EINVAL);
	assert_string_equal(bad, "192.0.2.0/24");
	assert_null(out);
	/* approved entries no longer advertised are dropped on the way */
	assert_int_equal(approval_add("[\"10.0.0.0/8\"]", "[\"0.0.0.0/0\"]", "[]", bad, &out), 0);
	assert_string_equal(out, "[]");
	free(out);

	/* unapprove: all, a subset (unknown ones ignored) */
	assert_int_equal(approval_remove("[\"0.0.0.0/0\",\"::/0\"]", "[\"0.0.0.0/0\",\"::/0\"]", NULL, &out), 0);
	assert_string_equal(out, "[]");
	free(out);
	assert_int_equal(approval_remove("[\"0.0.0.0/0\",\"::/0\"]", "[\"0.0.0.0/0\",\"::/0\"]",
					 "[\"0.0.0.0/0\",\"203.0.113.0/24\"]", &out), 0);
	assert_string_equal(out, "[\"::/0\"]");
	free(out);
}

/* The challenge's nonces: made and checked with one server key; valid
 * CHALLENGE_TTL seconds, once; made by this server only. */
static void test_challenge(void **state)
{
	uint8_t srv_priv[KEY_LEN], srv_pub[KEY_LEN], dev_priv[KEY_LEN], dev_pub[KEY_LEN], other_priv[KEY_LEN],
		other_pub[KEY_LEN], nonce[CHALLENGE_NONCE_LEN], mac[REGPROOF_MAC_LEN];
	char nonce_b64[CHALLENGE_NONCE_B64_LEN + 1], mac_b64[CHALLENGE_MAC_B64_LEN + 1], key_b64[KEY_B64_LEN + 1];
	const int64_t t0 = 1795596340;
	struct challenge *c, *c2;
	size_t len;

	key_generate(srv_priv, srv_pub);
	key_generate(dev_priv, dev_pub);
	key_generate(other_priv, other_pub);
	assert_int_equal(challenge_create(&c), 0);
	assert_false(challenge_has_key(c));
	assert_int_equal(challenge_verify(c, t0, "x", "y", dev_pub), -ENOKEY);
	assert_int_equal(challenge_set_key(c, srv_priv, srv_pub), 0);
	assert_int_equal(challenge_set_key(c, srv_priv, srv_pub), -EALREADY);
	challenge_server_key(c, key_b64);
	assert_int_equal(key_from_base64(srv_pub, key_b64), 0);

#define PROVE(priv, at)                                                                                        \
	do {                                                                                                   \
		challenge_nonce(c, (at), nonce_b64);                                                           \
		assert_int_equal(strlen(nonce_b64), CHALLENGE_NONCE_B64_LEN);                                  \
		assert_int_equal(sodium_base642bin(nonce, sizeof(nonce), nonce_b64, strlen(nonce_b64), NULL,  \
						   &len, NULL, sodium_base64_VARIANT_ORIGINAL), 0);            \
		assert_int_equal(len, CHALLENGE_NONCE_LEN);                                                    \
		assert_int_equal(regproof_mac(mac, (priv), srv_pub, nonce, len), 0);                           \
		sodium_bin2base64(mac_b64, sizeof(mac_b64), mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL); \
	} while (0)

	/* accepted once */
	PROVE(dev_priv, t0);
	assert_int_equal(challenge_verify(c, t0 + 1, nonce_b64, mac_b64, dev_pub), 0);
	assert_int_equal(challenge_verify(c, t0 + 2, nonce_b64, mac_b64, dev_pub), -EALREADY);
	/* the proof of another key; then the right one still passes (a wrong
	 * proof does not use the nonce up) */
	PROVE(other_priv, t0);
	assert_int_equal(challenge_verify(c, t0, nonce_b64, mac_b64, dev_pub), -EBADMSG);
	assert_int_equal(challenge_verify(c, t0, nonce_b64, mac_b64, other_pub), 0);
	/* the time window: CHALLENGE_TTL seconds, CHALLENGE_SKEW from the future */
	PROVE(dev_priv, t0);
	assert_int_equal(challenge_verify(c, t0 + CHALLENGE_TTL + 1, nonce_b64, mac_b64, dev_pub), -ETIMEDOUT);
	assert_int_equal(challenge_verify(c, t0 - CHALLENGE_SKEW - 1, nonce_b64, mac_b64, dev_pub), -ETIMEDOUT);
	assert_int_equal(challenge_verify(c, t0 + CHALLENGE_TTL, nonce_b64, mac_b64, dev_pub), 0);
	/* a nonce changed by one bit (time, random or its own mac) is not ours */
	for (size_t i = 0; i < CHALLENGE_NONCE_LEN; i += 13) {
		PROVE(dev_priv, t0);
		nonce[i] ^= 1;
		sodium_bin2base64(nonce_b64, sizeof(nonce_b64), nonce, sizeof(nonce), sodium_base64_VARIANT_ORIGINAL);
		assert_int_equal(regproof_mac(mac, dev_priv, srv_pub, nonce, sizeof(nonce)), 0);
		sodium_bin2base64(mac_b64, sizeof(mac_b64), mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
		assert_int_equal(challenge_verify(c, t0, nonce_b64, mac_b64, dev_pub), -EBADMSG);
	}
	/* malformed texts */
	PROVE(dev_priv, t0);
	assert_int_equal(challenge_verify(c, t0, "AAAA", mac_b64, dev_pub), -EBADMSG);
	assert_int_equal(challenge_verify(c, t0, nonce_b64, "AAAA", dev_pub), -EBADMSG);
	mac_b64[3] = '*';
	assert_int_equal(challenge_verify(c, t0, nonce_b64, mac_b64, dev_pub), -EBADMSG);
	/* another server (another key) does not take this one's nonces */
	assert_int_equal(challenge_create(&c2), 0);
	assert_int_equal(challenge_set_key(c2, other_priv, other_pub), 0);
	PROVE(dev_priv, t0);
	assert_int_equal(challenge_verify(c2, t0, nonce_b64, mac_b64, dev_pub), -EBADMSG);
	challenge_destroy(c2);
	/* a second instance with the same key (a replica) takes them */
	assert_int_equal(challenge_create(&c2), 0);
	assert_int_equal(challenge_set_key(c2, srv_priv, srv_pub), 0);
	assert_int_equal(challenge_verify(c2, t0, nonce_b64, mac_b64, dev_pub), 0);
	challenge_destroy(c2);
	challenge_destroy(c);
}

/* The used-nonce memory is bounded: full, proofs wait until some expire. */
static void test_challenge_full(void **state)
{
	uint8_t srv_priv[KEY_LEN], srv_pub[KEY_LEN], dev_priv[KEY_LEN], dev_pub[KEY_LEN], nonce[CHALLENGE_NONCE_LEN],
		mac[REGPROOF_MAC_LEN];
	char nonce_b64[CHALLENGE_NONCE_B64_LEN + 1], mac_b64[CHALLENGE_MAC_B64_LEN + 1];
	const int64_t t0 = 1795596340;
	struct challenge *c;
	size_t len;

	key_generate(srv_priv, srv_pub);
	key_generate(dev_priv, dev_pub);
	assert_int_equal(challenge_create(&c), 0);
	assert_int_equal(challenge_set_key(c, srv_priv, srv_pub), 0);
	for (int i = 0; i < CHALLENGE_USED_MAX; i++) {
		PROVE(dev_priv, t0);
		assert_int_equal(challenge_verify(c, t0, nonce_b64, mac_b64, dev_pub), 0);
	}
	PROVE(dev_priv, t0 + 10);
	assert_int_equal(challenge_verify(c, t0 + 10, nonce_b64, mac_b64, dev_pub), -EBUSY);
	/* the first ones expired: room again, and the refused nonce still good */
	assert_int_equal(challenge_verify(c, t0 + CHALLENGE_TTL + 1, nonce_b64, mac_b64, dev_pub), 0);
	challenge_destroy(c);
}
#undef PROVE

/* The store's rules, on a real SQLite database. */
struct db {
	char dir[64], path[96];
	struct store *s;
	const struct store_ops *ops;
	struct org_rec org;
};

static void db_open(struct db *d)
{
	struct store_options opt = { .events_kept = 100 };
	struct token_rec admin;
	bool created;

	snprintf(d->dir, sizeof(d->dir), "/tmp/nexapi-store-XXXXXX");
	assert_non_null(mkdtemp(d->dir));
	snprintf(d->path, sizeof(d->path), "%s/api.db", d->dir);
	d->ops = &store_sqlite_ops;
	assert_int_equal(d->ops->open(d->path, &opt, &d->s), 0);
	memset(&d->org, 0, sizeof(d->org));
	snprintf(d->org.id, sizeof(d->org.id), "0f8fad5b-d9cb-469f-a165-70867728950e");
	snprintf(d->org.name, sizeof(d->org.name), "default");
	snprintf(d->org.prefix, sizeof(d->org.prefix), "100.100.0.0/16");
	memset(&admin, 0, sizeof(admin));
	snprintf(admin.id, sizeof(admin.id), "0123456789abcdef");
	admin.kind = TOKEN_ADMIN;
	assert_int_equal(d->ops->bootstrap(d->s, &d->org, &admin, &created), 0);
	assert_true(created);
}

static void db_close(struct db *d)
{
	char p[128];

	d->ops->close(d->s);
	unlink(d->path);
	snprintf(p, sizeof(p), "%s-wal", d->path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", d->path);
	unlink(p);
	rmdir(d->dir);
}

static void db_key(struct db *d, const char *id, bool single_use, bool auto_approve)
{
	struct regkey_rec k;

	memset(&k, 0, sizeof(k));
	snprintf(k.id, sizeof(k.id), "%s", id);
	snprintf(k.org_id, sizeof(k.org_id), "%s", d->org.id);
	k.single_use = single_use;
	k.auto_approve = auto_approve;
	k.created_at = 1795596340;
	assert_int_equal(d->ops->regkey_create(d->s, &k, 100), 0);
}

/* One registration; out cleared by the caller. */
static int db_register(struct db *d, const char *key_id, const char *pub, const char *cidrs, bool allow_existing,
		       int64_t now, const char *token_id, struct device_rec *out)
{
	struct store_register r;
	bool created;
	int err;

	memset(&r, 0, sizeof(r));
	r.regkey_id = key_id;
	r.now = now;
	r.allow_existing = allow_existing;
	r.max_devices = 100;
	auth_uuid(r.dev.id);
	snprintf(r.dev.hostname, sizeof(r.dev.hostname), "h");
	snprintf(r.dev.public_key, sizeof(r.dev.public_key), "%s", pub);
	r.dev.endpoints_json = strdup("[]");
	r.dev.cidrs_json = strdup(cidrs);
	snprintf(r.token.id, sizeof(r.token.id), "%s", token_id);
	r.token.created_at = now;
	err = d->ops->device_register(d->s, &r, out, &created);
	store_device_clear(&r.dev);
	return err;
}

static void test_store_approval(void **state)
{
	static const char PK2[] = "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=";
	struct device_rec dev, upd, in;
	char bad[ADDR_CIDR_STRLEN];
	struct org_rec o;
	struct db d;
	int64_t rev;

	db_open(&d);
	db_key(&d, "00000000000000a1", false, false);
	db_key(&d, "00000000000000a2", false, true);
	assert_int_equal(db_register(&d, "00000000000000a1", PK, "[\"0.0.0.0/0\",\"::/0\"]", false, 1795596340,
				     "00000000000000d1", &dev), 0);
	assert_string_equal(dev.approved_json, "[]");   /* a request */
	assert_false(dev.auto_approve);
	/* approve one, then one not advertised */
	assert_int_equal(d.ops->device_approve(d.s, dev.id, true, "[\"::/0\"]", &upd, bad), 0);
	assert_string_equal(upd.approved_json, "[\"::/0\"]");
	assert_true(upd.revision > dev.revision);
	rev = upd.revision;
	store_device_clear(&upd);
	assert_int_equal(d.ops->device_approve(d.s, dev.id, true, "[\"10.0.0.0/8\"]", &upd, bad), -EINVAL);
	assert_string_equal(bad, "10.0.0.0/8");
	assert_int_equal(d.ops->device_get(d.s, dev.id, &upd), 0);
	assert_int_equal(upd.revision, rev);   /* nothing happened */
	store_device_clear(&upd);
	/* withdrawn: the approval goes; advertised again: it waits */
	memset(&in, 0, sizeof(in));
	in.cidrs_json = "[\"0.0.0.0/0\"]";
	assert_int_equal(d.ops->device_update(d.s, dev.id, DEV_CIDRS, &in, &upd), 0);
	assert_string_equal(upd.approved_json, "[]");
	store_device_clear(&upd);
	in.cidrs_json = "[\"0.0.0.0/0\",\"::/0\"]";
	assert_int_equal(d.ops->device_update(d.s, dev.id, DEV_CIDRS, &in, &upd), 0);
	assert_string_equal(upd.approved_json, "[]");
	store_device_clear(&upd);
	/* approve all, unapprove all */
	assert_int_equal(d.ops->device_approve(d.s, dev.id, true, NULL, &upd, bad), 0);
	assert_string_equal(upd.approved_json, "[\"0.0.0.0/0\",\"::/0\"]");
	store_device_clear(&upd);
	/* other fields keep it */
	snprintf(in.hostname, sizeof(in.hostname), "renamed");
	assert_int_equal(d.ops->device_update(d.s, dev.id, DEV_HOSTNAME, &in, &upd), 0);
	assert_string_equal(upd.approved_json, "[\"0.0.0.0/0\",\"::/0\"]");
	store_device_clear(&upd);
	assert_int_equal(d.ops->device_approve(d.s, dev.id, false, NULL, &upd, bad), 0);
	assert_string_equal(upd.approved_json, "[]");
	store_device_clear(&upd);
	/* the organization in auto: nothing retroactive, the next change is approved */
	assert_int_equal(d.ops->org_set_approval(d.s, d.org.id, true, &o), 0);
	assert_true(o.approval_auto);
	assert_int_equal(d.ops->device_get(d.s, dev.id, &upd), 0);
	assert_string_equal(upd.approved_json, "[]");
	store_device_clear(&upd);
	assert_int_equal(d.ops->device_update(d.s, dev.id, DEV_CIDRS, &in, &upd), 0);
	assert_string_equal(upd.approved_json, "[\"0.0.0.0/0\",\"::/0\"]");
	store_device_clear(&upd);
	assert_int_equal(d.ops->org_set_approval(d.s, d.org.id, false, &o), 0);
	assert_false(o.approval_auto);
	assert_int_equal(d.ops->org_get(d.s, "default", &o), 0);
	assert_false(o.approval_auto);
	/* an auto_approve key: remembered by the device */
	assert_int_equal(db_register(&d, "00000000000000a2", PK2, "[\"0.0.0.0/0\"]", false, 1795596340,
				     "00000000000000d2", &upd), 0);
	assert_string_equal(upd.approved_json, "[\"0.0.0.0/0\"]");
	assert_true(upd.auto_approve);
	in.cidrs_json = "[\"0.0.0.0/0\",\"198.51.100.0/24\"]";
	store_device_clear(&dev);
	dev = upd;
	assert_int_equal(d.ops->device_update(d.s, dev.id, DEV_CIDRS, &in, &upd), 0);
	assert_string_equal(upd.approved_json, "[\"0.0.0.0/0\",\"198.51.100.0/24\"]");
	store_device_clear(&upd);
	store_device_clear(&dev);
	assert_int_equal(d.ops->device_approve(d.s, "00000000-0000-4000-8000-000000000000", true, NULL, &upd, bad),
			 -ENOENT);
	db_close(&d);
}

static void test_store_reregister(void **state)
{
	struct device_rec dev, again;
	struct token_rec t;
	struct regkey_rec k;
	const int64_t t0 = 1795596340;
	uint8_t fresh_priv[KEY_LEN], fresh_pub[KEY_LEN], priv[KEY_LEN], pub[KEY_LEN], priv2[KEY_LEN],
		pub2[KEY_LEN];
	struct db d;

	db_open(&d);
	db_key(&d, "00000000000000b1", true, false);   /* single use */
	assert_int_equal(db_register(&d, "00000000000000b1", PK, "[]", false, t0, "00000000000000e1", &dev), 0);
	/* the same public key again without proof: -EEXIST with the id, the
	 * existing token untouched */
	assert_int_equal(db_register(&d, "00000000000000b1", PK, "[]", false, t0 + 1, "00000000000000e2", &again),
			 -EEXIST);
	assert_string_equal(again.id, dev.id);
	assert_null(again.cidrs_json);
	assert_int_equal(d.ops->token_get(d.s, "00000000000000e1", &t), 0);
	assert_int_equal(d.ops->token_get(d.s, "00000000000000e2", &t), -ENOENT);
	/* with proof, within the window: the same device, tokens replaced */
	assert_int_equal(db_register(&d, "00000000000000b1", PK, "[]", true, t0 + STORE_REGKEY_RETRY_SECONDS,
				     "00000000000000e3", &again), 0);
	assert_string_equal(again.id, dev.id);
	assert_string_equal(again.tunnel_ip, dev.tunnel_ip);
	store_device_clear(&again);
	assert_int_equal(d.ops->token_get(d.s, "00000000000000e1", &t), -ENOENT);
	assert_int_equal(d.ops->token_get(d.s, "00000000000000e3", &t), 0);
	/* the window is counted from the first use */
	assert_int_equal(db_register(&d, "00000000000000b1", PK, "[]", true, t0 + STORE_REGKEY_RETRY_SECONDS + 1,
				     "00000000000000e4", &again), -EKEYREJECTED);
	/* another public key: used */
	assert_int_equal(db_register(&d, "00000000000000b1", "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=", "[]",
				     true, t0 + 2, "00000000000000e5", &again), -EKEYREJECTED);
	assert_int_equal(d.ops->regkey_get(d.s, "00000000000000b1", &k), 0);
	assert_true(k.used);
	assert_string_equal(k.used_by, PK);
	assert_int_equal(k.used_at, t0);

	/* deletion keeps a tombstone with the device's tokens */
	assert_int_equal(d.ops->deleted_token_get(d.s, "00000000000000e3", &t), -ENOENT);
	assert_int_equal(d.ops->device_delete(d.s, dev.id, t0 + 5, NULL), 0);
	assert_int_equal(d.ops->token_get(d.s, "00000000000000e3", &t), -ENOENT);
	assert_int_equal(d.ops->deleted_token_get(d.s, "00000000000000e3", &t), 0);
	assert_string_equal(t.device_id, dev.id);
	assert_string_equal(t.org_id, d.org.id);
	assert_int_equal(t.kind, TOKEN_DEVICE);
	assert_int_equal(d.ops->deleted_token_get(d.s, "00000000000000e1", &t), -ENOENT);   /* revoked before */
	store_device_clear(&dev);

	/* the server key: made once, the same afterwards */
	key_generate(fresh_priv, fresh_pub);
	assert_int_equal(d.ops->server_key(d.s, fresh_priv, fresh_pub, priv, pub), 0);
	assert_memory_equal(priv, fresh_priv, KEY_LEN);
	assert_memory_equal(pub, fresh_pub, KEY_LEN);
	key_generate(fresh_priv, fresh_pub);
	assert_int_equal(d.ops->server_key(d.s, fresh_priv, fresh_pub, priv2, pub2), 0);
	assert_memory_equal(priv2, priv, KEY_LEN);
	assert_memory_equal(pub2, pub, KEY_LEN);
	db_close(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipam_prefix),
		cmocka_unit_test(test_ipam_first_free),
		cmocka_unit_test(test_ipam_dense),
		cmocka_unit_test(test_validate),
		cmocka_unit_test(test_prefix6),
		cmocka_unit_test(test_auth_tokens),
		cmocka_unit_test(test_body_org_token_regkey),
		cmocka_unit_test(test_body_device),
		cmocka_unit_test(test_relay_servers),
		cmocka_unit_test(test_relay_credentials),
		cmocka_unit_test(test_relay_secret_file),
		cmocka_unit_test(test_body_approval_fields),
		cmocka_unit_test(test_validate_prefixes),
		cmocka_unit_test(test_approval),
		cmocka_unit_test(test_challenge),
		cmocka_unit_test(test_challenge_full),
		cmocka_unit_test(test_store_approval),
		cmocka_unit_test(test_store_reregister),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
