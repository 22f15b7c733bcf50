/* Fuzzes nexapi's request body parsers (pure functions of the bytes): the
 * first byte picks the parser (organization, token, registration key,
 * device registration, device update, organization update, approve), the
 * rest is the body. A body that parses must hold only valid values, and a
 * registration, update or approve body must survive a round trip: its
 * values written back as JSON parse to the same struct. The JSON writer's
 * escaping is checked too (selector 5), and the re-registration challenge
 * check takes any nonce and mac text without crashing or accepting a
 * forgery (selector 8). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "nexapi/body.h"
#include "nexapi/challenge.h"
#include "nexapi/jsonw.h"
#include "nexapi/validate.h"

static char *device_body(const struct body_device *d, bool with_key)
{
	json_t *o = json_object();
	char *eps = body_endpoints_json(d), *cidrs = body_cidrs_json(d), *s = NULL;

	if (!o || !eps || !cidrs)
		abort();
	if (with_key)
		json_object_set_new(o, "public_key", json_string(d->public_key));
	if (d->fields & DEV_HOSTNAME)
		json_object_set_new(o, "hostname", json_string(d->hostname));
	if (d->fields & DEV_OS)
		json_object_set_new(o, "os", json_string(d->os));
	if (d->fields & DEV_VERSION)
		json_object_set_new(o, "version", json_string(d->version));
	if (d->fields & DEV_ENDPOINTS)
		json_object_set_new(o, "endpoints", json_loads(eps, 0, NULL));
	if (d->fields & DEV_CIDRS)
		json_object_set_new(o, "advertise_cidrs", json_loads(cidrs, 0, NULL));
	if (d->fields & DEV_EXIT_CLIENT)
		json_object_set_new(o, "exit_node_client", json_boolean(d->exit_node_client));
	if (d->fields & DEV_EXIT_STATUS)
		json_object_set_new(o, "exit_node_status", json_string(d->exit_node_status));
	if (d->has_proof)
		json_object_set_new(o, "proof", json_pack("{s:s, s:s}", "nonce", d->proof_nonce, "mac", d->proof_mac));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	free(eps);
	free(cidrs);
	if (!s)
		abort();
	return s;
}

static void check_device(const struct body_device *d, bool reg)
{
	if (d->n_endpoints > BODY_MAX_ENDPOINTS || d->n_cidrs > BODY_MAX_CIDRS)
		abort();
	if ((d->fields & DEV_HOSTNAME) && validate_hostname(d->hostname))
		abort();
	if (reg && validate_public_key(d->public_key))
		abort();
	for (size_t i = 0; i < d->n_endpoints; i++) {
		char again[ADDR_ENDPOINT_STRLEN];
		const char *why;

		if (validate_endpoint(d->endpoints[i].address, again, &why) ||
		    strcmp(again, d->endpoints[i].address))
			abort();
	}
	for (size_t i = 0; i < d->n_cidrs; i++) {
		char again[ADDR_CIDR_STRLEN];
		if (validate_cidr_canonical(d->cidrs[i], again) || strcmp(again, d->cidrs[i]))
			abort();
		for (size_t j = 0; j < i; j++)
			if (!strcmp(d->cidrs[i], d->cidrs[j]))
				abort();
	}
	if (d->has_proof && (!reg || !d->proof_nonce[0] || !d->proof_mac[0] ||
			     strlen(d->proof_nonce) > BODY_PROOF_MAX || strlen(d->proof_mac) > BODY_PROOF_MAX))
		abort();
}

static void check_approve(const struct body_approve *b)
{
	struct body_approve *back;
	struct jsonv_err e;
	char *arr, *s;

	if (b->all) {
		if (b->n_cidrs || body_approve_json(b))
			abort();
		return;
	}
	if (b->n_cidrs > BODY_MAX_CIDRS)
		abort();
	for (size_t i = 0; i < b->n_cidrs; i++) {
		char again[ADDR_CIDR_STRLEN];
		if (validate_cidr_canonical(b->cidrs[i], again) || strcmp(again, b->cidrs[i]))
			abort();
	}
	arr = body_approve_json(b);
	back = malloc(sizeof(*back));
	if (!arr || !back || asprintf(&s, "{\"cidrs\":%s}", arr) < 0)
		abort();
	if (body_parse_approve(s, strlen(s), back, &e) || back->all || back->n_cidrs != b->n_cidrs ||
	    memcmp(back->cidrs, b->cidrs, sizeof(b->cidrs[0]) * b->n_cidrs))
		abort();
	free(s);
	free(arr);
	free(back);
}

/* A challenge with a fixed key: arbitrary nonce and mac texts (the body,
 * split at its first NUL or in the middle) are never accepted. */
static void check_challenge(const char *in, size_t len)
{
	static struct challenge *c;
	char *nonce, *mac;
	uint8_t pub[KEY_LEN] = { 9 };
	size_t cut;

	if (!c) {
		uint8_t priv[KEY_LEN] = { 1, 2, 3 }, spub[KEY_LEN];
		if (sodium_init() < 0 || challenge_create(&c) || key_public_from_private(spub, priv) ||
		    challenge_set_key(c, priv, spub))
			abort();
	}
	cut = strnlen(in, len);
	if (cut == len)
		cut = len / 2;
	nonce = strndup(in, cut);
	mac = strndup(in + (cut < len ? cut + 1 : len), len - (cut < len ? cut + 1 : len));
	if (!nonce || !mac)
		abort();
	if (challenge_verify(c, 1795596340, nonce, mac, pub) == 0)
		abort();
	free(nonce);
	free(mac);
}

static void round_trip(const struct body_device *d, bool reg)
{
	struct body_device *back = malloc(sizeof(*back));
	struct jsonv_err e;
	char *s = device_body(d, reg);
	int rc;

	if (!back)
		abort();
	rc = reg ? body_parse_register(s, strlen(s), back, &e) : body_parse_patch(s, strlen(s), back, &e);
	if (rc || back->fields != d->fields || back->n_endpoints != d->n_endpoints ||
	    back->n_cidrs != d->n_cidrs || strcmp(back->hostname, d->hostname) ||
	    strcmp(back->os, d->os) || strcmp(back->version, d->version) ||
	    strcmp(back->exit_node_status, d->exit_node_status) ||
	    back->exit_node_client != d->exit_node_client || back->has_proof != d->has_proof ||
	    strcmp(back->proof_nonce, d->proof_nonce) || strcmp(back->proof_mac, d->proof_mac) ||
	    memcmp(back->endpoints, d->endpoints, sizeof(d->endpoints[0]) * d->n_endpoints) ||
	    memcmp(back->cidrs, d->cidrs, sizeof(d->cidrs[0]) * d->n_cidrs)) {
		fprintf(stderr, "round trip failed (%d: %s) for %s\n", rc, rc ? e.msg : "", s);
		abort();
	}
	free(s);
	free(back);
}

/* The JSON writer's string escaping: any ASCII text (NUL excluded) written
 * as a JSON string reads back as the same text. */
static void check_writer(const char *in, size_t len)
{
	char *text = malloc(len + 1), *out;
	struct jsonw w;
	json_t *back;
	size_t n = 0, outlen;

	if (!text)
		abort();
	for (size_t i = 0; i < len; i++)
		if (in[i] & 0x7f)
			text[n++] = in[i] & 0x7f;
	text[n] = 0;
	jsonw_init(&w);
	jsonw_raw(&w, "[");
	jsonw_string(&w, text);
	jsonw_raw(&w, ",");
	jsonw_int(&w, (int64_t)n * -7);
	jsonw_raw(&w, "]");
	out = jsonw_finish(&w, &outlen);
	if (!out)
		abort();
	back = json_loadb(out, outlen, 0, NULL);
	if (!back || strcmp(json_string_value(json_array_get(back, 0)), text) ||
	    json_integer_value(json_array_get(back, 1)) != (json_int_t)n * -7)
		abort();
	json_decref(back);
	free(out);
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct jsonv_err e;
	const char *body;
	size_t len;

	if (size < 1)
		return 0;
	body = (const char *)data + 1;
	len = size - 1;
	switch (data[0] % 9) {
	case 0: {
		struct body_org o;
		if (body_parse_org(body, len, &o, &e) == 0) {
			if (validate_org_name(o.name) || (o.prefix[0] && validate_org_prefix(o.prefix)))
				abort();
		}
		break;
	}
	case 1: {
		struct body_token t;
		if (body_parse_token(body, len, &t, &e) == 0 &&
		    (!t.organization[0] || t.expires_in < 0 || t.expires_in > BODY_MAX_EXPIRES_IN))
			abort();
		break;
	}
	case 2: {
		struct body_regkey k;
		if (body_parse_regkey(body, len, &k, &e) == 0 &&
		    (k.expires_in < 0 || k.expires_in > BODY_MAX_EXPIRES_IN))
			abort();
		break;
	}
	case 3:
	case 4: {
		bool reg = data[0] % 9 == 3;
		struct body_device *d = malloc(sizeof(*d));
		int rc;

		if (!d)
			abort();
		rc = reg ? body_parse_register(body, len, d, &e) : body_parse_patch(body, len, d, &e);
		if (rc == 0) {
			check_device(d, reg);
			round_trip(d, reg);
		} else if (!e.msg[0]) {
			abort();   /* every refusal has a reason */
		}
		free(d);
		break;
	}
	case 5:
		check_writer(body, len);
		break;
	case 6: {
		struct body_org_patch p;
		if (body_parse_org_patch(body, len, &p, &e) && !e.msg[0])
			abort();
		break;
	}
	case 7: {
		struct body_approve *b = malloc(sizeof(*b));

		if (!b)
			abort();
		if (body_parse_approve(body, len, b, &e) == 0)
			check_approve(b);
		else if (!e.msg[0])
			abort();
		free(b);
		break;
	}
	case 8:
		check_challenge(body, len);
		break;
	}
	return 0;
}
