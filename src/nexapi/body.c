#include "nexapi/body.h"

#include <errno.h>
#include <string.h>

#include "nexapi/validate.h"

static int opt(int rc)
{
	return rc == -ENOENT ? 0 : rc;
}

/* "exit_node_approval": "admin" or "auto"; -ENOENT when absent. */
static int parse_approval(json_t *o, bool required, bool *approval_auto, struct jsonv_err *e)
{
	char mode[8];
	int rc = jsonv_string(o, "exit_node_approval", required, 1, sizeof(mode) - 1, mode, sizeof(mode), e);

	if (rc == -EINVAL && json_is_string(json_object_get(o, "exit_node_approval")))
		return jsonv_fail(e, "field \"exit_node_approval\" must be \"admin\" or \"auto\"");
	if (rc)
		return rc;
	if (strcmp(mode, "admin") && strcmp(mode, "auto"))
		return jsonv_fail(e, "field \"exit_node_approval\" must be \"admin\" or \"auto\"");
	*approval_auto = !strcmp(mode, "auto");
	return 0;
}

int body_parse_org_patch(const char *buf, size_t len, struct body_org_patch *out, struct jsonv_err *e)
{
	static const char *const keys[] = { "exit_node_approval", NULL };
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = jsonv_load_object(buf, len, &o, e)))
		return rc;
	if ((rc = jsonv_known_keys(o, keys, e)))
		goto out;
	rc = parse_approval(o, true, &out->approval_auto, e);
out:
	json_decref(o);
	return rc;
}

int body_parse_org(const char *buf, size_t len, struct body_org *out, struct jsonv_err *e)
{
	static const char *const keys[] = { "name", "prefix", "prefix6", "exit_node_approval", NULL };
	char prefix6[ADDR_CIDR_STRLEN];
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = jsonv_load_object(buf, len, &o, e)))
		return rc;
	if ((rc = jsonv_known_keys(o, keys, e)))
		goto out;
	if ((rc = jsonv_string(o, "name", true, 1, STORE_NAME_MAX, out->name, sizeof(out->name), e)))
		goto out;
	switch (validate_org_name(out->name)) {
	case 0:
		break;
	case -EEXIST:
		rc = jsonv_fail(e, "field \"name\" looks like an organization id; choose a name that is not a uuid");
		goto out;
	default:
		rc = jsonv_fail(e, "field \"name\" must match [a-z0-9][a-z0-9-]{0,62}");
		goto out;
	}
	rc = jsonv_string(o, "prefix", false, 1, ADDR_CIDR_STRLEN - 1, out->prefix, sizeof(out->prefix), e);
	if (rc == 0 && validate_org_prefix(out->prefix))
		rc = jsonv_fail(e, "field \"prefix\" must be an IPv4 prefix from /8 to /30 with no host bits set");
	if ((rc = opt(rc)))
		goto out;
	if ((rc = opt(parse_approval(o, false, &out->approval_auto, e))))
		goto out;
	if (json_is_null(json_object_get(o, "prefix6")))
		goto out;
	rc = jsonv_string(o, "prefix6", false, 1, ADDR_CIDR_STRLEN - 1, prefix6, sizeof(prefix6), e);
	if (rc == 0 && validate_org_prefix6(prefix6, out->prefix6))
		rc = jsonv_fail(e, "field \"prefix6\" must be an IPv6 /64 prefix with no host bits set");
	rc = opt(rc);
out:
	json_decref(o);
	return rc;
}

int body_parse_token(const char *buf, size_t len, struct body_token *out, struct jsonv_err *e)
{
	static const char *const keys[] = { "organization", "expires_in", NULL };
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = jsonv_load_object(buf, len, &o, e)))
		return rc;
	if ((rc = jsonv_known_keys(o, keys, e)))
		goto out;
	if ((rc = jsonv_string(o, "organization", true, 1, STORE_NAME_MAX, out->organization,
			       sizeof(out->organization), e)))
		goto out;
	if (!json_is_null(json_object_get(o, "expires_in")))
		rc = opt(jsonv_int(o, "expires_in", 1, BODY_MAX_EXPIRES_IN, &out->expires_in, e));
out:
	json_decref(o);
	return rc;
}

int body_parse_regkey(const char *buf, size_t len, struct body_regkey *out, struct jsonv_err *e)
{
	static const char *const keys[] = { "organization", "single_use", "expires_in", "auto_approve", NULL };
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = jsonv_load_object(buf, len, &o, e)))
		return rc;
	if ((rc = jsonv_known_keys(o, keys, e)))
		goto out;
	if ((rc = opt(jsonv_string(o, "organization", false, 1, STORE_NAME_MAX, out->organization,
				   sizeof(out->organization), e))))
		goto out;
	/* safe unless asked otherwise: single use, expiring in 24 h */
	out->single_use = true;
	if ((rc = opt(jsonv_bool(o, "single_use", &out->single_use, e))))
		goto out;
	if ((rc = opt(jsonv_bool(o, "auto_approve", &out->auto_approve, e))))
		goto out;
	if (json_is_null(json_object_get(o, "expires_in"))) {
		out->expires_in = 0;   /* never */
		goto out;
	}
	out->expires_in = BODY_DEFAULT_EXPIRES_IN;
	rc = opt(jsonv_int(o, "expires_in", 1, BODY_MAX_EXPIRES_IN, &out->expires_in, e));
out:
	json_decref(o);
	return rc;
}

static int parse_endpoints(json_t *arr, struct body_device *d, struct jsonv_err *e)
{
	static const char *const keys[] = { "source", "address", NULL };
	size_t i;
	json_t *ep;

	json_array_foreach(arr, i, ep) {
		struct body_endpoint *b = &d->endpoints[i];
		char addr[ADDR_ENDPOINT_STRLEN + 8];
		const char *why;

		if (!json_is_object(ep))
			return jsonv_fail(e, "endpoints[%zu] must be an object", i);
		if (jsonv_known_keys(ep, keys, e) ||
		    jsonv_string(ep, "source", true, 1, sizeof(b->source) - 1, b->source,
				 sizeof(b->source), e) ||
		    jsonv_string(ep, "address", true, 1, sizeof(addr) - 1, addr, sizeof(addr), e))
			return -EINVAL;
		if (strcmp(b->source, "local") && strcmp(b->source, "stun") && strcmp(b->source, "relay"))
			return jsonv_fail(e, "endpoints[%zu].source must be \"local\", \"stun\" or \"relay\"", i);
		if (validate_endpoint(addr, b->address, &why))
			return jsonv_fail(e, "endpoints[%zu].address \"%.64s\" %s", i, addr, why);
	}
	d->n_endpoints = json_array_size(arr);
	return 0;
}

/* A list of canonical CIDRs without duplicates (at most BODY_MAX_CIDRS,
 * checked by the caller); `what` names one in messages. */
static int parse_cidr_list(json_t *arr, const char *field, const char *what,
			   char (*out)[ADDR_CIDR_STRLEN], size_t *n, struct jsonv_err *e)
{
	size_t i;
	json_t *c;

	json_array_foreach(arr, i, c) {
		const char *s;
		int rc;

		if (!json_is_string(c))
			return jsonv_fail(e, "%s[%zu] must be a string", field, i);
		s = json_string_value(c);
		if (json_string_length(c) >= ADDR_CIDR_STRLEN || strlen(s) != json_string_length(c))
			return jsonv_fail(e, "%s[%zu] \"%.64s\" is not a CIDR", field, i, s);
		rc = validate_cidr_canonical(s, out[i]);
		if (rc == -ERANGE)
			return jsonv_fail(e, "%s %s is not canonical (host bits set); %s is", what, s, out[i]);
		if (rc)
			return jsonv_fail(e, "%s[%zu] \"%.64s\" is not a CIDR", field, i, s);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(out[j], out[i]))
				return jsonv_fail(e, "%s %s is listed twice", what, out[i]);
	}
	*n = json_array_size(arr);
	return 0;
}

static int parse_cidrs(json_t *arr, struct body_device *d, struct jsonv_err *e)
{
	return parse_cidr_list(arr, "advertise_cidrs", "advertised prefix", d->cidrs, &d->n_cidrs, e);
}

/* "proof": {"nonce": "...", "mac": "..."}: only its shape here. */
static int parse_proof(json_t *o, struct body_device *d, struct jsonv_err *e)
{
	static const char *const keys[] = { "nonce", "mac", NULL };
	json_t *p = json_object_get(o, "proof");

	if (!p)
		return 0;
	if (!json_is_object(p))
		return jsonv_fail(e, "field \"proof\" must be an object {\"nonce\": ..., \"mac\": ...}");
	if (jsonv_known_keys(p, keys, e) ||
	    jsonv_string(p, "nonce", true, 1, BODY_PROOF_MAX, d->proof_nonce, sizeof(d->proof_nonce), e) ||
	    jsonv_string(p, "mac", true, 1, BODY_PROOF_MAX, d->proof_mac, sizeof(d->proof_mac), e))
		return -EINVAL;
	d->has_proof = true;
	return 0;
}

/* An optional printable-ASCII text field; sets bit in d->fields when present. */
static int printable_field(json_t *o, const char *key, char *out, size_t cap, unsigned bit, struct body_device *d,
			   struct jsonv_err *e)
{
	int rc = jsonv_string(o, key, false, 0, STORE_SHORT_MAX, out, cap, e);

	if (rc == -ENOENT)
		return 0;
	if (rc)
		return rc;
	if (validate_printable(out))
		return jsonv_fail(e, "field \"%s\" must be printable ASCII", key);
	d->fields |= bit;
	return 0;
}

/* The fields common to registration and update. */
static int parse_device_fields(json_t *o, struct body_device *d, struct jsonv_err *e)
{
	json_t *arr;
	int rc;

	rc = jsonv_string(o, "hostname", false, 1, STORE_HOSTNAME_MAX, d->hostname, sizeof(d->hostname), e);
	if (rc == 0) {
		if (validate_hostname(d->hostname))
			return jsonv_fail(e, "field \"hostname\" must be 1 to 253 of [A-Za-z0-9._-]");
		d->fields |= DEV_HOSTNAME;
	} else if (rc != -ENOENT) {
		return rc;
	}
	if ((rc = printable_field(o, "os", d->os, sizeof(d->os), DEV_OS, d, e)))
		return rc;
	if ((rc = printable_field(o, "version", d->version, sizeof(d->version), DEV_VERSION, d, e)))
		return rc;
	rc = jsonv_array(o, "endpoints", BODY_MAX_ENDPOINTS, &arr, e);
	if (rc == 0) {
		if ((rc = parse_endpoints(arr, d, e)))
			return rc;
		d->fields |= DEV_ENDPOINTS;
	} else if (rc != -ENOENT) {
		return rc;
	}
	rc = jsonv_array(o, "advertise_cidrs", BODY_MAX_CIDRS, &arr, e);
	if (rc == 0) {
		if ((rc = parse_cidrs(arr, d, e)))
			return rc;
		d->fields |= DEV_CIDRS;
	} else if (rc != -ENOENT) {
		return rc;
	}
	return 0;
}

int body_parse_register(const char *buf, size_t len, struct body_device *out, struct jsonv_err *e)
{
	static const char *const keys[] = { "public_key", "hostname", "os", "version", "endpoints",
					    "advertise_cidrs", "proof", NULL };
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = jsonv_load_object(buf, len, &o, e)))
		return rc;
	if ((rc = jsonv_known_keys(o, keys, e)))
		goto out;
	if ((rc = jsonv_string(o, "public_key", true, KEY_B64_LEN, KEY_B64_LEN, out->public_key,
			       sizeof(out->public_key), e)))
		goto out;
	if (validate_public_key(out->public_key)) {
		rc = jsonv_fail(e, "field \"public_key\" is not a WireGuard public key (base64 of 32 bytes)");
		goto out;
	}
	if ((rc = parse_device_fields(o, out, e)))
		goto out;
	if (!(out->fields & DEV_HOSTNAME)) {
		rc = jsonv_fail(e, "missing field \"hostname\"");
		goto out;
	}
	rc = parse_proof(o, out, e);
out:
	json_decref(o);
	return rc;
}

int body_parse_patch(const char *buf, size_t len, struct body_device *out, struct jsonv_err *e)
{
	static const char *const keys[] = { "hostname", "os", "version", "endpoints", "advertise_cidrs",
					    "exit_node_client", "exit_node_status", NULL };
	json_t *o;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = jsonv_load_object(buf, len, &o, e)))
		return rc;
	if ((rc = jsonv_known_keys(o, keys, e)))
		goto out;
	if ((rc = parse_device_fields(o, out, e)))
		goto out;
	rc = jsonv_bool(o, "exit_node_client", &out->exit_node_client, e);
	if (rc == 0)
		out->fields |= DEV_EXIT_CLIENT;
	else if (rc != -ENOENT)
		goto out;
	rc = jsonv_string(o, "exit_node_status", false, 1, STORE_STATUS_MAX, out->exit_node_status,
			  sizeof(out->exit_node_status), e);
	if (rc == 0) {
		if (validate_printable(out->exit_node_status)) {
			rc = jsonv_fail(e, "field \"exit_node_status\" must be printable ASCII");
			goto out;
		}
		out->fields |= DEV_EXIT_STATUS;
	} else if (rc != -ENOENT) {
		goto out;
	}
	rc = 0;
	if (!out->fields)
		rc = jsonv_fail(e, "no field to change");
out:
	json_decref(o);
	return rc;
}

int body_parse_approve(const char *buf, size_t len, struct body_approve *out, struct jsonv_err *e)
{
	static const char *const keys[] = { "cidrs", NULL };
	json_t *o, *arr;
	int rc;

	memset(out, 0, sizeof(*out));
	out->all = true;
	if (len == 0)
		return 0;
	if ((rc = jsonv_load_object(buf, len, &o, e)))
		return rc;
	if ((rc = jsonv_known_keys(o, keys, e)))
		goto out;
	rc = jsonv_array(o, "cidrs", BODY_MAX_CIDRS, &arr, e);
	if (rc == -ENOENT) {
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	out->all = false;
	rc = parse_cidr_list(arr, "cidrs", "prefix", out->cidrs, &out->n_cidrs, e);
out:
	json_decref(o);
	return rc;
}

char *body_approve_json(const struct body_approve *b)
{
	json_t *arr;
	char *s = NULL;

	if (b->all || !(arr = json_array()))
		return NULL;
	for (size_t i = 0; i < b->n_cidrs; i++)
		if (json_array_append_new(arr, json_string(b->cidrs[i])))
			goto out;
	s = json_dumps(arr, JSON_COMPACT);
out:
	json_decref(arr);
	return s;
}

char *body_endpoints_json(const struct body_device *d)
{
	json_t *arr = json_array();
	char *s = NULL;

	if (!arr)
		return NULL;
	for (size_t i = 0; i < d->n_endpoints; i++) {
		if (json_array_append_new(arr, json_pack("{s:s, s:s}", "source", d->endpoints[i].source,
							 "address", d->endpoints[i].address)))
			goto out;
	}
	s = json_dumps(arr, JSON_COMPACT);
out:
	json_decref(arr);
	return s;
}

char *body_cidrs_json(const struct body_device *d)
{
	json_t *arr = json_array();
	char *s = NULL;

	if (!arr)
		return NULL;
	for (size_t i = 0; i < d->n_cidrs; i++)
		if (json_array_append_new(arr, json_string(d->cidrs[i])))
			goto out;
	s = json_dumps(arr, JSON_COMPACT);
out:
	json_decref(arr);
	return s;
}
