/* nexctl output: aligned tables for people, the server's JSON for scripts,
 * and messages on stderr. Text from the server is shown with control
 * characters replaced, so that a reply cannot drive the terminal. */
#ifndef NEXCTL_OUTPUT_H
#define NEXCTL_OUTPUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

enum out_format { OUT_TABLE, OUT_JSON, OUT_JSON_COMPACT };

/* "table", "json", "json-compact"; -EINVAL otherwise. */
int out_format_parse(const char *s, enum out_format *out);

#define OUT_TABLE_MAX_COLS 16

struct out_table;

/* A table with ncols (1..OUT_TABLE_MAX_COLS) columns and their headers. */
struct out_table *out_table_new(size_t ncols, const char *const headers[]);
void out_table_free(struct out_table *t);
/* Appends a row of ncols cells (copied; NULL or "" shows as "-"). */
int out_table_add(struct out_table *t, const char *const cells[]);
/* The table as text: header and rows, columns padded to their widest cell
 * (in characters) and two spaces apart, the last column unpadded, each line
 * ending in "\n". *buf is the caller's to free. */
int out_table_format(const struct out_table *t, char **buf, size_t *len);
int out_table_print(const struct out_table *t, FILE *f);

/* obj[key] as text: missing when it is null or absent, "?" when it is not
 * a string. */
const char *out_field(const json_t *obj, const char *key, const char *missing);
/* The array arr of objects as a table, one row each filled by row(obj,
 * cells) (ncols cells), on stdout. 0, or -1 after saying what is wrong
 * ("the server's <what> holds a non-object", out of memory). */
int out_objects_table(const json_t *arr, const char *what, size_t ncols, const char *const headers[],
		      void (*row)(const json_t *obj, const char *cells[]));

/* The JSON as the format asks (pretty or on one line), with a newline. */
int out_json(const json_t *j, enum out_format format, FILE *f);

/* "nexctl: <message>" on stderr. */
void out_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void out_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
