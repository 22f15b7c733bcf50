/* A JSON text writer into a growing buffer, for the large answers (device
 * lists, watch events) where building a jansson tree costs more than the
 * query. Errors (allocation) are sticky: check once with jsonw_finish. */
#ifndef NEXAPI_JSONW_H
#define NEXAPI_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jsonw {
	char *buf;
	size_t len, cap;
	bool failed;
};

void jsonw_init(struct jsonw *w);
void jsonw_raw(struct jsonw *w, const char *s);            /* as is */
void jsonw_raw_n(struct jsonw *w, const char *s, size_t n);
void jsonw_string(struct jsonw *w, const char *s);         /* quoted and escaped */
void jsonw_int(struct jsonw *w, int64_t v);
void jsonw_bool(struct jsonw *w, bool v);
/* "key": (with a leading comma unless first) */
void jsonw_key(struct jsonw *w, const char *key, bool first);
/* The text (malloc'd, NUL-terminated, *len without the NUL), or NULL after
 * an allocation failure (the buffer is freed either way). */
char *jsonw_finish(struct jsonw *w, size_t *len);
void jsonw_free(struct jsonw *w);

#endif
