/* The web UI's static files. A fixed allow-list of names is read once, at
 * start, from one directory into memory; a request path is only ever
 * compared with that list (no file system access per request, so no path
 * traversal). Every response carries the same strict header policy
 * (Content-Security-Policy, nosniff, no referrer, no framing). */
#ifndef NEXAPI_STATIC_H
#define NEXAPI_STATIC_H

#include <stddef.h>

#include "nexapi/http.h"

struct static_site;
struct static_file;

/* Largest file read from the web root. */
#define STATIC_FILE_MAX (1024 * 1024)

#define STATIC_CSP                                                                             \
	"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "      \
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct static_header {
	const char *name, *value;
};

/* Finds the web root directory, the first of: `flag` (--web-root, may be
 * NULL), $NEXAPI_WEB_ROOT, <dir of the binary>/../share/nexodus/web (an
 * install), the first src/nexapi/web found in the binary's directory or up
 * to three above it (the build tree). A candidate counts when it holds
 * index.html. Writes the path to out (NUL-terminated). -ENOENT if none,
 * -ENAMETOOLONG if out is too small. */
int static_locate(const char *flag, char *out, size_t out_len);

/* Reads every allow-listed file of dir into memory. Each must be a regular
 * file of at most STATIC_FILE_MAX bytes. 0 or -errno (nothing allocated). */
int static_site_load(const char *dir, struct static_site **out);

/* static_locate + static_site_load, with logging: *out is the site, or
 * NULL when there is no UI to serve. Returns 0 when the UI was loaded or
 * simply not found (not an error: the API runs without it); -errno when
 * `flag` was given and cannot be used, or a found root cannot be read. */
int static_site_open(const char *flag, struct static_site **out);

void static_site_free(struct static_site *s);

/* The file served for a request path (MHD's url: decoded, without the
 * query): "/" is index.html; only exact allow-listed names match. NULL for
 * anything else. s may be NULL. */
const struct static_file *static_find(const struct static_site *s, const char *url);

const char *static_file_name(const struct static_file *f);
const void *static_file_body(const struct static_file *f, size_t *len);
const char *static_file_type(const struct static_file *f);

/* The headers every response for f carries (Content-Type included), n of
 * them in *out. Valid for the life of the site. */
size_t static_file_headers(const struct static_file *f, const struct static_header **out);

/* A 200 response for f with every header of static_file_headers; the body
 * is not copied (valid while the site lives). NULL on allocation failure. */
struct MHD_Response *static_response(const struct static_file *f);

/* Replies to a GET or HEAD with the file for its path, or a 404 (JSON, as
 * for any unknown path). For httpd's fallback handler:
 *
 *     static enum httpd_result handle_web(struct httpd_request *r, void *ctx)
 *     {
 *             return static_serve(((struct api *)ctx)->web, r);
 *     }
 *
 * s may be NULL (no UI loaded: every path is 404). */
enum httpd_result static_serve(const struct static_site *s, struct httpd_request *r);

#endif
