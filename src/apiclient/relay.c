/* Parsing the relay list: each item looked up by name, checked for its JSON
 * type, then for its syntax and length. A reason naming the field goes into
 * err; it never quotes a value (a password must not reach a log). */
#include "apiclient/relay.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "apiclient/device.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* A string of 1 to max bytes of printable ASCII without spaces, copied
 * into out (max + 1 bytes). */
static int get_token(const json_t *obj, const char *key, size_t max, char *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;
	size_t len;

	if (!v)
		return fail(err, errlen, "%s: missing", key);
	if (!json_is_string(v))
		return fail(err, errlen, "%s: not a string", key);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len == 0)
		return fail(err, errlen, "%s: empty", key);
	if (len > max)
		return fail(err, errlen, "%s: longer than %zu bytes", key, max);
	for (size_t i = 0; i < len; i++) {
		if (s[i] <= 0x20 || s[i] >= 0x7f)
			return fail(err, errlen, "%s: not printable ASCII", key);
	}
	memcpy(out, s, len + 1);
	return 0;
}

static int relay_parse(const json_t *j, struct api_relay *r, char *err, size_t errlen)
{
	char uri[TURN_URI_STRLEN];
	struct turn_uri u;
	const json_t *v;
	int rc;

	if (!json_is_object(j))
		return fail(err, errlen, "not an object");
	if ((rc = get_token(j, "uri", TURN_URI_MAX, uri, err, errlen)) < 0)
		return rc;
	if (turn_uri_parse(uri, &u) < 0 || turn_uri_format(&u, r->uri, sizeof(r->uri)) < 0)
		return fail(err, errlen, "uri: not a turn: or turns: URI");
	if ((rc = get_token(j, "username", API_RELAY_USERNAME_MAX, r->username, err, errlen)) < 0)
		return rc;
	if ((rc = get_token(j, "password", API_RELAY_PASSWORD_MAX, r->password, err, errlen)) < 0)
		return rc;
	v = json_object_get(j, "expires_at");
	if (!v)
		return fail(err, errlen, "expires_at: missing");
	if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
	    api_time_parse(json_string_value(v), &r->expires_at) < 0)
		return fail(err, errlen, "expires_at: not an RFC 3339 time");
	return 0;
}

static int list_parse(const json_t *arr, struct api_relays *out, char *err, size_t errlen)
{
	size_t n;

	if (!json_is_array(arr))
		return fail(err, errlen, "relays: not an array");
	n = json_array_size(arr);
	if (n > API_MAX_RELAYS)
		return fail(err, errlen, "relays: more than %d", API_MAX_RELAYS);
	for (size_t i = 0; i < n; i++) {
		char inner[API_PARSE_ERROR_MAX];

		if (relay_parse(json_array_get(arr, i), &out->items[i], inner, sizeof(inner)) < 0)
			return fail(err, errlen, "relays[%zu].%s", i, inner);
		out->n = i + 1;
	}
	return 0;
}

int api_relays_list_from_json(const json_t *arr, struct api_relays *out, char *err, size_t errlen)
{
	int r;

	sodium_memzero(out, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	r = list_parse(arr, out, err, errlen);
	if (r < 0)
		api_relays_wipe(out);
	return r;
}

int api_relays_from_json(const json_t *j, struct api_relays *out, char *err, size_t errlen)
{
	const json_t *arr, *ttl;
	int r;

	sodium_memzero(out, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	if (!json_is_object(j))
		return fail(err, errlen, "relays answer: not an object");
	arr = json_object_get(j, "relays");
	if (!arr)
		return fail(err, errlen, "relays: missing");
	ttl = json_object_get(j, "ttl");
	if (!ttl)
		return fail(err, errlen, "ttl: missing");
	if (!json_is_integer(ttl) || json_integer_value(ttl) < 1 || json_integer_value(ttl) > API_RELAY_TTL_MAX)
		return fail(err, errlen, "ttl: not an integer from 1 to %d", API_RELAY_TTL_MAX);
	r = list_parse(arr, out, err, errlen);
	if (r < 0) {
		api_relays_wipe(out);
		return r;
	}
	out->ttl = json_integer_value(ttl);
	return 0;
}

void api_relays_wipe(struct api_relays *r)
{
	if (r)
		sodium_memzero(r, sizeof(*r));
}
