/* Strict JSON validation helpers over jansson: a body is one object, keys
 * are known, types are exact, strings and arrays have bounds. Each helper
 * writes a reason into err (quoting the field) and returns -EINVAL. */
#ifndef NEXAPI_JSONV_H
#define NEXAPI_JSONV_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonv_err {
	char msg[200];
};

/* Parses exactly len bytes as one JSON object (duplicate keys rejected). */
int jsonv_load_object(const char *buf, size_t len, json_t **out, struct jsonv_err *e);
/* Every key of obj must be in the NULL-terminated list `allowed`. */
int jsonv_known_keys(json_t *obj, const char *const *allowed, struct jsonv_err *e);
/* String field: absent is -ENOENT (no error written) unless required.
 * Length in bytes within [min, max]; no control characters; copied to out
 * (size max + 1 at least). */
int jsonv_string(json_t *obj, const char *key, bool required, size_t min, size_t max,
		 char *out, size_t outsize, struct jsonv_err *e);
int jsonv_bool(json_t *obj, const char *key, bool *out, struct jsonv_err *e);
int jsonv_int(json_t *obj, const char *key, int64_t min, int64_t max, int64_t *out,
	      struct jsonv_err *e);
/* Array field with at most max elements; *out borrowed. */
int jsonv_array(json_t *obj, const char *key, size_t max, json_t **out, struct jsonv_err *e);

int jsonv_fail(struct jsonv_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
