/* Tables, JSON and messages for nexctl. */
#include "nexctl/output.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define CELL_MAX 4096          /* bytes shown of one cell */
#define TABLE_MAX_ROWS 1000000

struct cell {
	char *text;     /* sanitized */
	size_t width;   /* in characters */
};

struct out_table {
	size_t ncols, nrows, cap;
	struct cell *cells;          /* (nrows + 1) * ncols, row 0 the header */
	size_t widths[OUT_TABLE_MAX_COLS];
};

int out_format_parse(const char *s, enum out_format *out)
{
	if (!strcmp(s, "table"))
		*out = OUT_TABLE;
	else if (!strcmp(s, "json"))
		*out = OUT_JSON;
	else if (!strcmp(s, "json-compact"))
		*out = OUT_JSON_COMPACT;
	else
		return -EINVAL;
	return 0;
}

/* Length of the UTF-8 sequence at s (of n bytes left) if it is a valid,
 * printable one; 0 otherwise. ASCII controls and C1 controls are not. */
static size_t utf8_printable(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] >= 0x20 && s[0] < 0x7f)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
		return 0;
	return len;
}

static int cell_set(struct cell *c, const char *s)
{
	const unsigned char *p;
	size_t n, o = 0;

	if (!s || !*s)
		s = "-";
	p = (const unsigned char *)s;
	n = strnlen(s, CELL_MAX);
	c->text = malloc(n + 1);
	if (!c->text)
		return -ENOMEM;
	c->width = 0;
	for (size_t i = 0; i < n;) {
		size_t len = utf8_printable(p + i, n - i);

		if (len) {
			memcpy(c->text + o, p + i, len);
			o += len;
			i += len;
		} else {
			c->text[o++] = '?';
			i++;
		}
		c->width++;
	}
	c->text[o] = '\0';
	return 0;
}

struct out_table *out_table_new(size_t ncols, const char *const headers[])
{
	struct out_table *t;

	if (ncols == 0 || ncols > OUT_TABLE_MAX_COLS)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->ncols = ncols;
	if (out_table_add(t, headers) < 0) {
		out_table_free(t);
		return NULL;
	}
	t->nrows = 0; /* the header is row 0, not counted */
	return t;
}

void out_table_free(struct out_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < (t->nrows + 1) * t->ncols && t->cells; i++)
		free(t->cells[i].text);
	free(t->cells);
	free(t);
}

int out_table_add(struct out_table *t, const char *const cells[])
{
	size_t used = t->cells ? (t->nrows + 1) * t->ncols : 0;
	struct cell *row;

	if (t->nrows >= TABLE_MAX_ROWS)
		return -E2BIG;
	if (used + t->ncols > t->cap) {
		size_t cap = t->cap ? t->cap * 2 : t->ncols * 16;
		struct cell *c = realloc(t->cells, cap * sizeof(*c));

		if (!c)
			return -ENOMEM;
		t->cells = c;
		t->cap = cap;
	}
	row = t->cells + used;
	for (size_t i = 0; i < t->ncols; i++) {
		if (cell_set(&row[i], cells[i]) < 0) {
			while (i-- > 0)
				free(row[i].text);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < t->ncols; i++) {
		if (row[i].width > t->widths[i])
			t->widths[i] = row[i].width;
	}
	if (used)
		t->nrows++;
	return 0;
}

int out_table_format(const struct out_table *t, char **buf, size_t *len)
{
	FILE *f;
	char *b = NULL;
	size_t n = 0;

	f = open_memstream(&b, &n);
	if (!f)
		return -ENOMEM;
	for (size_t r = 0; r <= t->nrows; r++) {
		const struct cell *row = t->cells + r * t->ncols;

		for (size_t i = 0; i < t->ncols; i++) {
			fputs(row[i].text, f);
			if (i + 1 < t->ncols)
				fprintf(f, "%*s", (int)(t->widths[i] - row[i].width + 2), "");
		}
		fputc('\n', f);
	}
	if (fclose(f) != 0) {
		free(b);
		return -ENOMEM;
	}
	*buf = b;
	*len = n;
	return 0;
}

int out_table_print(const struct out_table *t, FILE *f)
{
	char *buf;
	size_t len;
	int r = out_table_format(t, &buf, &len);

	if (r < 0)
		return r;
	if (fwrite(buf, 1, len, f) != len)
		r = -EIO;
	free(buf);
	return r;
}

int out_json(const json_t *j, enum out_format format, FILE *f)
{
	size_t flags = format == OUT_JSON_COMPACT ? JSON_COMPACT : JSON_INDENT(2);

	if (!j)
		return 0;
	if (json_dumpf(j, f, flags | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY) < 0)
		return -EIO;
	fputc('\n', f);
	return 0;
}

static void vmessage(const char *kind, const char *fmt, va_list ap)
{
	char buf[1024];

	vsnprintf(buf, sizeof(buf), fmt, ap);
	fprintf(stderr, "nexctl: %s%s\n", kind, buf);
}

void out_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("", fmt, ap);
	va_end(ap);
}

void out_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmessage("warning: ", fmt, ap);
	va_end(ap);
}

const char *out_field(const json_t *obj, const char *key, const char *missing)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return missing;
	return json_is_string(v) ? json_string_value(v) : "?";
}

int out_objects_table(const json_t *arr, const char *what, size_t ncols, const char *const headers[],
		      void (*row)(const json_t *obj, const char *cells[]))
{
	struct out_table *t = out_table_new(ncols, headers);
	const char *cells[OUT_TABLE_MAX_COLS];
	json_t *obj;
	size_t i;
	int r = 0;

	if (!t)
		return -1;
	json_array_foreach(arr, i, obj) {
		if (!json_is_object(obj)) {
			out_error("the server's %s holds a non-object", what);
			r = -1;
			goto out;
		}
		memset(cells, 0, sizeof(cells));
		row(obj, cells);
		if (out_table_add(t, cells) < 0) {
			out_error("out of memory");
			r = -1;
			goto out;
		}
	}
	out_table_print(t, stdout);
out:
	out_table_free(t);
	return r;
}
