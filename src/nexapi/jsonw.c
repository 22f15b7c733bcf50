#include "nexapi/jsonw.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jsonw_init(struct jsonw *w)
{
	memset(w, 0, sizeof(*w));
}

static bool reserve(struct jsonw *w, size_t n)
{
	size_t cap;
	char *nb;

	if (w->failed)
		return false;
	if (w->len + n + 1 <= w->cap)
		return true;
	cap = w->cap ? w->cap : 4096;
	while (cap < w->len + n + 1)
		cap *= 2;
	nb = realloc(w->buf, cap);
	if (!nb) {
		w->failed = true;
		return false;
	}
	w->buf = nb;
	w->cap = cap;
	return true;
}

void jsonw_raw_n(struct jsonw *w, const char *s, size_t n)
{
	if (!reserve(w, n))
		return;
	memcpy(w->buf + w->len, s, n);
	w->len += n;
	w->buf[w->len] = 0;
}

void jsonw_raw(struct jsonw *w, const char *s)
{
	jsonw_raw_n(w, s, strlen(s));
}

void jsonw_string(struct jsonw *w, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = strlen(s);
	char *o;

	/* Worst case: every byte becomes \u00XX. */
	if (!reserve(w, n * 6 + 2))
		return;
	o = w->buf + w->len;
	*o++ = '"';
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			*o++ = '\\';
			*o++ = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			*o++ = '\\';
			*o++ = 'u';
			*o++ = '0';
			*o++ = '0';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		} else {
			*o++ = (char)c;
		}
	}
	*o++ = '"';
	w->len = (size_t)(o - w->buf);
	w->buf[w->len] = 0;
}

void jsonw_int(struct jsonw *w, int64_t v)
{
	char t[24];
	int n = snprintf(t, sizeof(t), "%" PRId64, v);

	jsonw_raw_n(w, t, (size_t)n);
}

void jsonw_bool(struct jsonw *w, bool v)
{
	jsonw_raw(w, v ? "true" : "false");
}

void jsonw_key(struct jsonw *w, const char *key, bool first)
{
	if (!first)
		jsonw_raw_n(w, ",", 1);
	jsonw_string(w, key);
	jsonw_raw_n(w, ":", 1);
}

char *jsonw_finish(struct jsonw *w, size_t *len)
{
	char *s;

	if (w->failed || !reserve(w, 0)) {
		jsonw_free(w);
		return NULL;
	}
	s = w->buf;
	*len = w->len;
	memset(w, 0, sizeof(*w));
	return s;
}

void jsonw_free(struct jsonw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}
