#include "nexapi/jsonv.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int jsonv_fail(struct jsonv_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int jsonv_load_object(const char *buf, size_t len, json_t **out, struct jsonv_err *e)
{
	json_error_t jerr;
	json_t *v;

	v = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!v)
		return jsonv_fail(e, "invalid JSON at line %d column %d: %.80s", jerr.line,
				  jerr.column, jerr.text);
	if (!json_is_object(v)) {
		json_decref(v);
		return jsonv_fail(e, "the body must be a JSON object");
	}
	*out = v;
	return 0;
}

int jsonv_known_keys(json_t *obj, const char *const *allowed, struct jsonv_err *e)
{
	const char *key;
	json_t *val;

	json_object_foreach(obj, key, val) {
		const char *const *a;

		(void)val;
		for (a = allowed; *a; a++)
			if (!strcmp(*a, key))
				break;
		if (!*a)
			return jsonv_fail(e, "unknown field \"%.64s\"", key);
	}
	return 0;
}

int jsonv_string(json_t *obj, const char *key, bool required, size_t min, size_t max,
		 char *out, size_t outsize, struct jsonv_err *e)
{
	json_t *v = json_object_get(obj, key);
	const char *s;
	size_t len;

	if (!v) {
		if (required)
			return jsonv_fail(e, "missing field \"%s\"", key);
		return -ENOENT;
	}
	if (!json_is_string(v))
		return jsonv_fail(e, "field \"%s\" must be a string", key);
	s = json_string_value(v);
	len = json_string_length(v);
	if (len < min || len > max || len >= outsize)
		return jsonv_fail(e, "field \"%s\" must be %zu to %zu bytes long", key, min, max);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7f)
			return jsonv_fail(e, "field \"%s\" contains a control character", key);
	}
	memcpy(out, s, len);
	out[len] = 0;
	return 0;
}

int jsonv_bool(json_t *obj, const char *key, bool *out, struct jsonv_err *e)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return -ENOENT;
	if (!json_is_boolean(v))
		return jsonv_fail(e, "field \"%s\" must be true or false", key);
	*out = json_is_true(v);
	return 0;
}

int jsonv_int(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out,
	      struct jsonv_err *e)
{
	json_t *v = json_object_get(obj, key);
	json_int_t n;

	if (!v)
		return -ENOENT;
	if (!json_is_integer(v))
		return jsonv_fail(e, "field \"%s\" must be an integer", key);
	n = json_integer_value(v);
	if (n < min || n > max)
		return jsonv_fail(e, "field \"%s\" must be between %lld and %lld", key,
				  (long long)min, (long long)max);
	*out = n;
	return 0;
}

int jsonv_array(json_t *obj, const char *key, size_t max, json_t **out, struct jsonv_err *e)
{
	json_t *v = json_object_get(obj, key);

	if (!v)
		return -ENOENT;
	if (!json_is_array(v))
		return jsonv_fail(e, "field \"%s\" must be an array", key);
	if (json_array_size(v) > max)
		return jsonv_fail(e, "field \"%s\" has more than %zu elements", key, max);
	*out = v;
	return 0;
}
