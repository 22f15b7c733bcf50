/* nexapi's pure modules: tunnel address allocation (ipam), value checks
 * (validate), token texts (auth), the request body parsers (body), and the
 * TURN relays (relay: server list, secret file, credentials). */
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

#include "nexapi/auth.h"
#include "nexapi/body.h"
#include "nexapi/ipam.h"
#include "nexapi/relay.h"
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
	char longname[300];

	assert_int_equal(validate_org_name("acme-1"), 0);
	assert_int_equal(validate_org_name("-acme"), -EINVAL);
	assert_int_equal(validate_org_name("Acme"), -EINVAL);
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

	assert_int_equal(validate_endpoint("192.0.2.1:51820", ep), 0);
	assert_string_equal(ep, "192.0.2.1:51820");
	assert_int_equal(validate_endpoint("[2001:db8::1]:1", ep), 0);
	assert_int_equal(validate_endpoint("192.0.2.1:0", ep), -EINVAL);
	assert_int_equal(validate_endpoint("192.0.2.1", ep), -EINVAL);
	assert_int_equal(validate_endpoint("[fe80::1%1]:5", ep), -EINVAL);
	assert_int_equal(validate_endpoint("host.example:5", ep), -EINVAL);

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
			       "\"advertise_cidrs\":[\"0.0.0.0/0\",\"192.0.2.9/24\"]}", d), 0);
	assert_int_equal(d->n_endpoints, 1);
	assert_int_equal(d->n_cidrs, 2);
	assert_string_equal(d->cidrs[1], "192.0.2.0/24");
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
	/* without a newline; readable by others: loaded (with a warning) */
	p = secret_file(dir, "open", "s e c r e t", 11, 0644);
	assert_int_equal(relay_secret_load(&rc, p, &why), 0);
	assert_int_equal(rc.secret_len, 11);
	relay_config_clear(&rc);
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
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
