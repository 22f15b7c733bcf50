/* The UAPI text: every key of a set request, an error for each kind of bad
 * input, the exact text of a get reply, and round trips between the two. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/key.h"
#include "wg/messages.h"
#include "wg/uapi.h"

/* Keys as repeated bytes: K(0x11) is 32 bytes of 0x11. */
#define HEX11 "1111111111111111111111111111111111111111111111111111111111111111"
#define HEX22 "2222222222222222222222222222222222222222222222222222222222222222"
#define HEX33 "3333333333333333333333333333333333333333333333333333333333333333"
#define HEX44 "4444444444444444444444444444444444444444444444444444444444444444"
#define HEXAB "abababababababababababababababababababababababababababababababab"
#define HEX00 "0000000000000000000000000000000000000000000000000000000000000000"

static void fill(uint8_t key[32], uint8_t b)
{
	memset(key, b, 32);
}

static bool key_is(const uint8_t key[32], uint8_t b)
{
	for (int i = 0; i < 32; i++)
		if (key[i] != b)
			return false;
	return true;
}

static int parse(const char *s, struct wg_config *c)
{
	return uapi_parse_set(s, strlen(s), c);
}

static void assert_cidr(const struct cidr *c, const char *want)
{
	char buf[ADDR_CIDR_STRLEN];

	cidr_format(c, buf);
	assert_string_equal(buf, want);
}

static void assert_endpoint(const union sockaddr_any *a, const char *want)
{
	char buf[ADDR_ENDPOINT_STRLEN];

	addr_endpoint_format(a, buf);
	assert_string_equal(buf, want);
}

static void test_parse_every_key(void **state)
{
	const char *req =
		"private_key=" HEX11 "\n"
		"listen_port=51820\n"
		"fwmark=4294967295\n"
		"replace_peers=true\n"
		"public_key=" HEX22 "\n"
		"protocol_version=1\n"
		"preshared_key=" HEX33 "\n"
		"endpoint=192.0.2.1:51820\n"
		"persistent_keepalive_interval=25\n"
		"replace_allowed_ips=true\n"
		"allowed_ip=100.100.1.0/24\n"
		"allowed_ip=2001:db8::/32\n"
		"allowed_ip=192.0.2.7\n"
		"public_key=" HEXAB "\n"
		"update_only=true\n"
		"endpoint=[2001:db8::1]:65535\n"
		"persistent_keepalive_interval=0\n"
		"allowed_ip=0.0.0.0/0\n"
		"allowed_ip=::/0\n"
		"public_key=" HEX44 "\n"
		"remove=true\n";
	struct wg_config c;

	(void)state;
	assert_int_equal(parse(req, &c), 0);
	assert_true(c.has_private_key);
	assert_true(key_is(c.private_key, 0x11));
	assert_true(c.has_listen_port);
	assert_int_equal(c.listen_port, 51820);
	assert_true(c.has_fwmark);
	assert_int_equal(c.fwmark, 4294967295u);
	assert_true(c.replace_peers);
	assert_int_equal(c.n_peers, 3);

	assert_true(key_is(c.peers[0].public_key, 0x22));
	assert_false(c.peers[0].remove);
	assert_false(c.peers[0].update_only);
	assert_true(c.peers[0].has_preshared_key);
	assert_true(key_is(c.peers[0].preshared_key, 0x33));
	assert_true(c.peers[0].has_endpoint);
	assert_endpoint(&c.peers[0].endpoint, "192.0.2.1:51820");
	assert_true(c.peers[0].has_persistent_keepalive);
	assert_int_equal(c.peers[0].persistent_keepalive_interval, 25);
	assert_true(c.peers[0].replace_allowed_ips);
	assert_int_equal(c.peers[0].n_allowed_ips, 3);
	assert_cidr(&c.peers[0].allowed_ips[0], "100.100.1.0/24");
	assert_cidr(&c.peers[0].allowed_ips[1], "2001:db8::/32");
	assert_cidr(&c.peers[0].allowed_ips[2], "192.0.2.7/32");

	assert_true(key_is(c.peers[1].public_key, 0xab));
	assert_true(c.peers[1].update_only);
	assert_false(c.peers[1].remove);
	assert_false(c.peers[1].has_preshared_key);
	assert_false(c.peers[1].replace_allowed_ips);
	assert_true(c.peers[1].has_endpoint);
	assert_int_equal(c.peers[1].endpoint.sa.sa_family, AF_INET6);
	assert_endpoint(&c.peers[1].endpoint, "[2001:db8::1]:65535");
	assert_true(c.peers[1].has_persistent_keepalive);
	assert_int_equal(c.peers[1].persistent_keepalive_interval, 0);
	assert_int_equal(c.peers[1].n_allowed_ips, 2);
	assert_cidr(&c.peers[1].allowed_ips[0], "0.0.0.0/0");
	assert_cidr(&c.peers[1].allowed_ips[1], "::/0");

	assert_true(key_is(c.peers[2].public_key, 0x44));
	assert_true(c.peers[2].remove);
	assert_false(c.peers[2].has_endpoint);
	assert_int_equal(c.peers[2].n_allowed_ips, 0);

	wg_config_release(&c);
	assert_null(c.peers);
	assert_int_equal(c.n_peers, 0);
	assert_true(key_is(c.private_key, 0));
}

static void test_parse_small_things(void **state)
{
	struct wg_config c;

	(void)state;
	/* Nothing at all: a valid, empty change. */
	assert_int_equal(uapi_parse_set("", 0, &c), 0);
	assert_false(c.has_private_key || c.has_listen_port || c.has_fwmark || c.replace_peers);
	assert_int_equal(c.n_peers, 0);
	wg_config_release(&c);
	assert_int_equal(uapi_parse_set(NULL, 0, &c), 0);
	wg_config_release(&c);

	/* No final newline; CRLF lines; leading zeros; the last value wins;
	 * upper-case hex; an all-zero private key (which removes it). */
	assert_int_equal(parse("listen_port=0080\r\nfwmark=0\r\nlisten_port=00000000000000000000000443", &c), 0);
	assert_int_equal(c.listen_port, 443);
	assert_true(c.has_fwmark);
	assert_int_equal(c.fwmark, 0);
	wg_config_release(&c);
	assert_int_equal(parse("private_key=" HEX00 "\npublic_key=ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\n", &c), 0);
	assert_true(c.has_private_key);
	assert_true(key_is(c.private_key, 0));
	assert_true(key_is(c.peers[0].public_key, 0xab));
	wg_config_release(&c);

	/* Host bits are cleared. */
	assert_int_equal(parse("public_key=" HEX22 "\nallowed_ip=192.0.2.77/24\nallowed_ip=2001:db8::1/32\n", &c), 0);
	assert_cidr(&c.peers[0].allowed_ips[0], "192.0.2.0/24");
	assert_cidr(&c.peers[0].allowed_ips[1], "2001:db8::/32");
	wg_config_release(&c);

	/* replace_allowed_ips also drops the ones listed before it. */
	assert_int_equal(parse("public_key=" HEX22 "\nallowed_ip=192.0.2.0/24\n"
			       "replace_allowed_ips=true\nallowed_ip=198.51.100.0/24\n", &c), 0);
	assert_true(c.peers[0].replace_allowed_ips);
	assert_int_equal(c.peers[0].n_allowed_ips, 1);
	assert_cidr(&c.peers[0].allowed_ips[0], "198.51.100.0/24");
	wg_config_release(&c);

	/* A scoped v6 endpoint. */
	assert_int_equal(parse("public_key=" HEX22 "\nendpoint=[fe80::1%1]:51820\n", &c), 0);
	assert_int_equal(c.peers[0].endpoint.in6.sin6_scope_id, 1);
	assert_int_equal(ntohs(c.peers[0].endpoint.in6.sin6_port), 51820);
	wg_config_release(&c);

	/* The same peer twice stays two entries, in order. */
	assert_int_equal(parse("public_key=" HEX22 "\nremove=true\npublic_key=" HEX22 "\n"
			       "allowed_ip=192.0.2.1\n", &c), 0);
	assert_int_equal(c.n_peers, 2);
	assert_true(c.peers[0].remove);
	assert_false(c.peers[1].remove);
	assert_int_equal(c.peers[1].n_allowed_ips, 1);
	wg_config_release(&c);
}

static void test_parse_many(void **state)
{
	size_t cap = 2000 * 200, len = 0;
	char *req = malloc(cap);
	struct wg_config c;

	(void)state;
	assert_non_null(req);
	for (int i = 0; i < 2000; i++) {
		char hex[KEY_HEX_LEN + 1];
		uint8_t key[32];

		memset(key, 0, sizeof(key));
		key[0] = (uint8_t)(i >> 8);
		key[1] = (uint8_t)i;
		key_to_hex(hex, key);
		len += (size_t)snprintf(req + len, cap - len,
					"public_key=%s\nallowed_ip=100.100.%d.%d/32\nallowed_ip=2001:db8::%x/128\n",
					hex, i / 256, i % 256, i);
	}
	assert_int_equal(uapi_parse_set(req, len, &c), 0);
	assert_int_equal(c.n_peers, 2000);
	for (int i = 0; i < 2000; i++) {
		char want[64];

		assert_int_equal(c.peers[i].public_key[0], (uint8_t)(i >> 8));
		assert_int_equal(c.peers[i].public_key[1], (uint8_t)i);
		assert_int_equal(c.peers[i].n_allowed_ips, 2);
		snprintf(want, sizeof(want), "100.100.%d.%d/32", i / 256, i % 256);
		assert_cidr(&c.peers[i].allowed_ips[0], want);
	}
	wg_config_release(&c);
	free(req);
}

static void test_parse_errors(void **state)
{
	static const struct {
		const char *text;
		int err;
	} cases[] = {
		/* not key=value */
		{ "listen_port\n", -EPROTO },
		{ "hello\n", -EPROTO },
		{ "listen_port=1\n\nfwmark=1\n", -EPROTO },
		{ "public_key=" HEX22 "\nallowed_ip\n", -EPROTO },
		/* unknown keys, and keys in the wrong section */
		{ "unknown=1\n", -EINVAL },
		{ "=1\n", -EINVAL },
		{ "listen_port =1\n", -EINVAL },
		{ "Listen_port=1\n", -EINVAL },
		{ "protocol_version=1\n", -EINVAL },
		{ "allowed_ip=192.0.2.0/24\n", -EINVAL },
		{ "endpoint=192.0.2.1:1\n", -EINVAL },
		{ "errno=0\n", -EINVAL },
		{ "public_key=" HEX22 "\nprivate_key=" HEX11 "\n", -EINVAL },
		{ "public_key=" HEX22 "\nlisten_port=1\n", -EINVAL },
		{ "public_key=" HEX22 "\nfwmark=1\n", -EINVAL },
		{ "public_key=" HEX22 "\nreplace_peers=true\n", -EINVAL },
		{ "public_key=" HEX22 "\ntx_bytes=1\n", -EINVAL },
		{ "public_key=" HEX22 "\nlast_handshake_time_sec=1\n", -EINVAL },
		/* keys */
		{ "private_key=" HEX11 "1\n", -EINVAL },
		{ "private_key=111\n", -EINVAL },
		{ "private_key=\n", -EINVAL },
		{ "private_key=zz11111111111111111111111111111111111111111111111111111111111111\n", -EINVAL },
		{ "private_key= 111111111111111111111111111111111111111111111111111111111111111\n", -EINVAL },
		{ "public_key=" HEX22 "=\n", -EINVAL },
		{ "public_key=ERS7/tY+1UZV4bwnxmMZWwaIfJEX/AOu1pP2Ty70xB0=\n", -EINVAL },
		{ "public_key=" HEX22 "\npreshared_key=" HEX22 "g\n", -EINVAL },
		{ "public_key=" HEX22 "\npreshared_key=xyz\n", -EINVAL },
		/* numbers */
		{ "listen_port=65536\n", -EINVAL },
		{ "listen_port=-1\n", -EINVAL },
		{ "listen_port=+1\n", -EINVAL },
		{ "listen_port=\n", -EINVAL },
		{ "listen_port= 1\n", -EINVAL },
		{ "listen_port=1 \n", -EINVAL },
		{ "listen_port=1a\n", -EINVAL },
		{ "listen_port=0x10\n", -EINVAL },
		{ "listen_port=99999999999999999999999999999\n", -EINVAL },
		{ "listen_port=18446744073709551617\n", -EINVAL },
		{ "fwmark=4294967296\n", -EINVAL },
		{ "fwmark=0x1\n", -EINVAL },
		{ "fwmark=off\n", -EINVAL },
		{ "public_key=" HEX22 "\npersistent_keepalive_interval=65536\n", -EINVAL },
		{ "public_key=" HEX22 "\npersistent_keepalive_interval=off\n", -EINVAL },
		/* booleans: only "true" */
		{ "replace_peers=false\n", -EINVAL },
		{ "replace_peers=TRUE\n", -EINVAL },
		{ "replace_peers=1\n", -EINVAL },
		{ "replace_peers=\n", -EINVAL },
		{ "public_key=" HEX22 "\nremove=yes\n", -EINVAL },
		{ "public_key=" HEX22 "\nremove=false\n", -EINVAL },
		{ "public_key=" HEX22 "\nupdate_only=false\n", -EINVAL },
		{ "public_key=" HEX22 "\nreplace_allowed_ips=True\n", -EINVAL },
		{ "public_key=" HEX22 "\nprotocol_version=2\n", -EINVAL },
		{ "public_key=" HEX22 "\nprotocol_version=01\n", -EINVAL },
		/* prefixes */
		{ "public_key=" HEX22 "\nallowed_ip=192.0.2.0/33\n", -EINVAL },
		{ "public_key=" HEX22 "\nallowed_ip=192.0.2.0/\n", -EINVAL },
		{ "public_key=" HEX22 "\nallowed_ip=192.0.2.0/-1\n", -EINVAL },
		{ "public_key=" HEX22 "\nallowed_ip=192.0.2.256/32\n", -EINVAL },
		{ "public_key=" HEX22 "\nallowed_ip=2001:db8::/129\n", -EINVAL },
		{ "public_key=" HEX22 "\nallowed_ip=\n", -EINVAL },
		{ "public_key=" HEX22 "\nallowed_ip=example.com/24\n", -EINVAL },
		{ "public_key=" HEX22 "\nallowed_ip=192.0.2.0/24,198.51.100.0/24\n", -EINVAL },
		/* endpoints */
		{ "public_key=" HEX22 "\nendpoint=192.0.2.1\n", -EINVAL },
		{ "public_key=" HEX22 "\nendpoint=192.0.2.1:\n", -EINVAL },
		{ "public_key=" HEX22 "\nendpoint=192.0.2.1:65536\n", -EINVAL },
		{ "public_key=" HEX22 "\nendpoint=2001:db8::1:51820\n", -EINVAL },
		{ "public_key=" HEX22 "\nendpoint=[2001:db8::1]\n", -EINVAL },
		{ "public_key=" HEX22 "\nendpoint=[2001:db8::1]51820\n", -EINVAL },
		{ "public_key=" HEX22 "\nendpoint=vpn.example.com:51820\n", -EINVAL },
		{ "public_key=" HEX22 "\nendpoint=\n", -EINVAL },
	};
	struct wg_config c;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int ret = parse(cases[i].text, &c);

		if (ret != cases[i].err)
			fail_msg("case %zu (%s): want %d, got %d", i, cases[i].text, cases[i].err, ret);
		/* On error the config is released and zeroed. */
		assert_null(c.peers);
		assert_int_equal(c.n_peers, 0);
		assert_false(c.has_private_key);
	}
}

static void test_parse_error_after_peers(void **state)
{
	static const char nul_ip[] = "public_key=" HEX22 "\nallowed_ip=192.0.2.1\0/8\n";
	static const char nul_ep[] = "public_key=" HEX22 "\nendpoint=192.0.2.1:1\0junk\n";
	struct wg_config c;

	(void)state;
	/* Memory built up before a late error is given back (ASan checks). */
	assert_int_equal(parse("private_key=" HEX11 "\npublic_key=" HEX22 "\nallowed_ip=192.0.2.0/24\n"
			       "public_key=" HEX33 "\nallowed_ip=198.51.100.0/24\nbogus\n", &c), -EPROTO);
	assert_null(c.peers);
	assert_false(c.has_private_key);
	assert_true(key_is(c.private_key, 0));
	/* A NUL inside a value does not hide a tail from the parsers. */
	assert_int_equal(uapi_parse_set(nul_ip, sizeof(nul_ip) - 1, &c), -EINVAL);
	assert_int_equal(uapi_parse_set(nul_ep, sizeof(nul_ep) - 1, &c), -EINVAL);
}

static void test_parse_too_large(void **state)
{
	size_t len = UAPI_MAX_REQUEST + 1;
	char *req = malloc(len);
	struct wg_config c;

	(void)state;
	assert_non_null(req);
	for (size_t i = 0; i < len; i++)
		req[i] = i % 16 == 15 ? '\n' : 'x';
	assert_int_equal(uapi_parse_set(req, len, &c), -E2BIG);
	assert_null(c.peers);
	free(req);
}

/* --- get --------------------------------------------------------------------- */

static struct cidr P(const char *s)
{
	struct cidr c;

	assert_int_equal(cidr_parse(s, &c), 0);
	return c;
}

static union sockaddr_any EP(const char *s)
{
	union sockaddr_any a;

	assert_int_equal(addr_endpoint_parse(s, &a), 0);
	return a;
}

static const char expected_get[] =
	"private_key=" HEX11 "\n"
	"listen_port=51820\n"
	"fwmark=51\n"
	"public_key=" HEX22 "\n"
	"preshared_key=" HEX33 "\n"
	"protocol_version=1\n"
	"endpoint=192.0.2.1:51820\n"
	"last_handshake_time_sec=1700000000\n"
	"last_handshake_time_nsec=123456789\n"
	"tx_bytes=18446744073709551615\n"
	"rx_bytes=100\n"
	"persistent_keepalive_interval=25\n"
	"allowed_ip=100.100.1.0/24\n"
	"allowed_ip=2001:db8::/32\n"
	"public_key=" HEXAB "\n"
	"preshared_key=" HEX00 "\n"
	"protocol_version=1\n"
	"endpoint=[2001:db8::1]:65535\n"
	"last_handshake_time_sec=0\n"
	"last_handshake_time_nsec=0\n"
	"tx_bytes=0\n"
	"rx_bytes=0\n"
	"persistent_keepalive_interval=0\n"
	"allowed_ip=0.0.0.0/0\n"
	"allowed_ip=::/0\n"
	"allowed_ip=192.0.2.7/32\n"
	"public_key=" HEX44 "\n"
	"preshared_key=" HEX00 "\n"
	"protocol_version=1\n"
	"last_handshake_time_sec=0\n"
	"last_handshake_time_nsec=0\n"
	"tx_bytes=0\n"
	"rx_bytes=0\n"
	"persistent_keepalive_interval=0\n";

struct filled {
	struct wg_device_info info;
	struct wg_peer_info peers[3];
	struct cidr ips0[2], ips1[3];
};

static void fill_info(struct filled *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->info.ifname, sizeof(f->info.ifname), "wg0");
	f->info.has_private_key = true;
	fill(f->info.private_key, 0x11);
	fill(f->info.public_key, 0x99);
	f->info.listen_port = 51820;
	f->info.fwmark = 51;
	f->info.n_peers = 3;
	f->info.peers = f->peers;

	fill(f->peers[0].public_key, 0x22);
	f->peers[0].has_preshared_key = true;
	fill(f->peers[0].preshared_key, 0x33);
	f->peers[0].endpoint = EP("192.0.2.1:51820");
	f->peers[0].persistent_keepalive_interval = 25;
	f->peers[0].last_handshake_sec = 1700000000;
	f->peers[0].last_handshake_nsec = 123456789;
	f->peers[0].tx_bytes = UINT64_MAX;
	f->peers[0].rx_bytes = 100;
	f->ips0[0] = P("100.100.1.0/24");
	f->ips0[1] = P("2001:db8::/32");
	f->peers[0].n_allowed_ips = 2;
	f->peers[0].allowed_ips = f->ips0;

	fill(f->peers[1].public_key, 0xab);
	f->peers[1].endpoint = EP("[2001:db8::1]:65535");
	f->ips1[0] = P("0.0.0.0/0");
	f->ips1[1] = P("::/0");
	f->ips1[2] = P("192.0.2.7/32");
	f->peers[1].n_allowed_ips = 3;
	f->peers[1].allowed_ips = f->ips1;

	fill(f->peers[2].public_key, 0x44);
	/* A preshared key flagged absent prints as zeros even if set. */
	fill(f->peers[2].preshared_key, 0x55);
}

static void test_format_get(void **state)
{
	struct filled f;
	size_t len = 0;
	char *text;

	(void)state;
	fill_info(&f);
	text = uapi_format_get(&f.info, &len);
	assert_non_null(text);
	assert_string_equal(text, expected_get);
	assert_int_equal(len, strlen(expected_get));
	free(text);

	/* Without a private key, port or fwmark: those lines are left out. */
	f.info.has_private_key = false;
	f.info.listen_port = 0;
	f.info.fwmark = 0;
	f.info.n_peers = 0;
	text = uapi_format_get(&f.info, &len);
	assert_non_null(text);
	assert_string_equal(text, "");
	assert_int_equal(len, 0);
	free(text);

	/* A private key flagged present but all zero is not shown either. */
	f.info.has_private_key = true;
	fill(f.info.private_key, 0);
	f.info.listen_port = 1;
	text = uapi_format_get(&f.info, NULL);
	assert_string_equal(text, "listen_port=1\n");
	free(text);
}

/* Many peers: the output buffer grows past its first size. */
static void test_format_many(void **state)
{
	struct wg_peer_info *peers = calloc(3000, sizeof(*peers));
	struct wg_device_info info = { .n_peers = 3000, .peers = peers };
	size_t len = 0;
	char *text;

	(void)state;
	assert_non_null(peers);
	for (int i = 0; i < 3000; i++)
		peers[i].public_key[0] = (uint8_t)i;
	text = uapi_format_get(&info, &len);
	assert_non_null(text);
	assert_int_equal(strlen(text), len);
	/* Each peer: eight lines, none of them an endpoint or allowed_ip. */
	size_t lines = 0;

	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	assert_int_equal(lines, 3000 * 8);
	assert_null(strstr(text, "endpoint="));
	assert_non_null(strstr(text, "public_key=ff00"));
	free(text);
	free(peers);
}

/* get → (the set keys of it) → set parses back to the same state. */
static void test_round_trip(void **state)
{
	struct filled f;
	struct wg_config c;
	char *text, *set, *line, *save = NULL;
	size_t len = 0;

	(void)state;
	fill_info(&f);
	text = uapi_format_get(&f.info, &len);
	assert_non_null(text);
	set = calloc(1, len + 1);
	assert_non_null(set);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "last_handshake", 14) || !strncmp(line, "tx_bytes", 8) ||
		    !strncmp(line, "rx_bytes", 8))
			continue;
		strcat(set, line);
		strcat(set, "\n");
	}
	assert_int_equal(parse(set, &c), 0);
	assert_true(c.has_private_key);
	assert_memory_equal(c.private_key, f.info.private_key, 32);
	assert_int_equal(c.listen_port, f.info.listen_port);
	assert_int_equal(c.fwmark, f.info.fwmark);
	assert_int_equal(c.n_peers, f.info.n_peers);
	for (size_t i = 0; i < c.n_peers; i++) {
		const struct wg_peer_info *want = &f.info.peers[i];

		assert_memory_equal(c.peers[i].public_key, want->public_key, 32);
		if (want->has_preshared_key)
			assert_memory_equal(c.peers[i].preshared_key, want->preshared_key, 32);
		else
			assert_true(key_is(c.peers[i].preshared_key, 0));
		assert_int_equal(c.peers[i].has_endpoint, want->endpoint.sa.sa_family != 0);
		if (c.peers[i].has_endpoint)
			assert_true(addr_endpoint_equal(&c.peers[i].endpoint, &want->endpoint));
		assert_int_equal(c.peers[i].persistent_keepalive_interval, want->persistent_keepalive_interval);
		assert_int_equal(c.peers[i].n_allowed_ips, want->n_allowed_ips);
		for (size_t j = 0; j < want->n_allowed_ips; j++)
			assert_true(cidr_equal(&c.peers[i].allowed_ips[j], &want->allowed_ips[j]));
	}
	wg_config_release(&c);
	free(set);
	free(text);
}

/* set → config → the info a device would report → get shows the same. */
static void test_round_trip_set_first(void **state)
{
	const char *req =
		"private_key=" HEX11 "\n"
		"listen_port=51820\n"
		"public_key=" HEX22 "\n"
		"preshared_key=" HEX33 "\n"
		"protocol_version=1\n"
		"endpoint=[2001:db8::2]:1\n"
		"persistent_keepalive_interval=65535\n"
		"allowed_ip=2001:db8:1::/48\n"
		"allowed_ip=198.51.100.0/24\n";
	const char *want =
		"private_key=" HEX11 "\n"
		"listen_port=51820\n"
		"public_key=" HEX22 "\n"
		"preshared_key=" HEX33 "\n"
		"protocol_version=1\n"
		"endpoint=[2001:db8::2]:1\n"
		"last_handshake_time_sec=0\n"
		"last_handshake_time_nsec=0\n"
		"tx_bytes=0\n"
		"rx_bytes=0\n"
		"persistent_keepalive_interval=65535\n"
		"allowed_ip=2001:db8:1::/48\n"
		"allowed_ip=198.51.100.0/24\n";
	struct wg_device_info info = { 0 };
	struct wg_peer_info peer = { 0 };
	struct wg_config c;
	char *text;

	(void)state;
	assert_int_equal(parse(req, &c), 0);
	info.has_private_key = c.has_private_key;
	memcpy(info.private_key, c.private_key, 32);
	info.listen_port = c.listen_port;
	info.n_peers = 1;
	info.peers = &peer;
	memcpy(peer.public_key, c.peers[0].public_key, 32);
	peer.has_preshared_key = c.peers[0].has_preshared_key;
	memcpy(peer.preshared_key, c.peers[0].preshared_key, 32);
	peer.endpoint = c.peers[0].endpoint;
	peer.persistent_keepalive_interval = c.peers[0].persistent_keepalive_interval;
	peer.n_allowed_ips = c.peers[0].n_allowed_ips;
	peer.allowed_ips = c.peers[0].allowed_ips;
	text = uapi_format_get(&info, NULL);
	assert_non_null(text);
	assert_string_equal(text, want);
	free(text);
	wg_config_release(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_every_key),
		cmocka_unit_test(test_parse_small_things),
		cmocka_unit_test(test_parse_many),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_error_after_peers),
		cmocka_unit_test(test_parse_too_large),
		cmocka_unit_test(test_format_get),
		cmocka_unit_test(test_format_many),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_round_trip_set_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
