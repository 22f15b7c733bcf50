/* The web UI's static files: the allow-list lookup, path traversal and
 * other odd paths refused, content types, the header policy (also on a real
 * MHD response, and through a real httpd with static_serve as its fallback,
 * fetched with libcurl), load limits, locating the web root, and the real
 * files of src/nexapi/web checked against the CSP (no inline script or
 * style, no innerHTML). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/addr.h"
#include "nexapi/http.h"
#include "nexapi/static.h"

struct fixture {
	char dir[64];
	struct static_site *site;
};

static void write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[PATH_MAX];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "we");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void remove_dir(const char *dir)
{
	static const char *names[] = { "index.html", "app.js", "style.css", "secret.txt" };
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (unlink(path))
			rmdir(path);   /* a directory left by a failed test */
	}
	rmdir(dir);
}

static int setup(void **st)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_static.XXXXXX");
	if (!mkdtemp(fx->dir))
		return -1;
	write_file(fx->dir, "index.html", "<!doctype html><p>index</p>", 27);
	write_file(fx->dir, "app.js", "'use strict';", 13);
	write_file(fx->dir, "style.css", "body{}", 6);
	write_file(fx->dir, "secret.txt", "do not serve", 12);
	*st = fx;
	return 0;
}

static int teardown(void **st)
{
	struct fixture *fx = *st;

	static_site_free(fx->site);
	remove_dir(fx->dir);
	free(fx);
	return 0;
}

static const char *header(const struct static_file *f, const char *name)
{
	const struct static_header *h;
	size_t n = static_file_headers(f, &h);

	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(h[i].name, name))
			return h[i].value;
	return NULL;
}

static void test_lookup(void **st)
{
	struct fixture *fx = *st;
	const struct static_file *f;
	const char *body;
	size_t len;

	assert_int_equal(static_site_load(fx->dir, &fx->site), 0);

	f = static_find(fx->site, "/");
	assert_non_null(f);
	assert_string_equal(static_file_name(f), "index.html");
	body = static_file_body(f, &len);
	assert_int_equal(len, 27);
	assert_memory_equal(body, "<!doctype html><p>index</p>", 27);
	assert_ptr_equal(static_find(fx->site, "/index.html"), f);

	f = static_find(fx->site, "/app.js");
	assert_non_null(f);
	body = static_file_body(f, &len);
	assert_int_equal(len, 13);
	assert_memory_equal(body, "'use strict';", 13);

	f = static_find(fx->site, "/style.css");
	assert_non_null(f);
	assert_string_equal(static_file_name(f), "style.css");
}

static void test_refused(void **st)
{
	struct fixture *fx = *st;
	static const char *bad[] = {
		"", "index.html", "app.js", "//", "//index.html", "/.", "/..", "/../", "/./index.html",
		"/../index.html", "/../../../../etc/passwd", "/..%2findex.html", "/%2e%2e/app.js",
		"/index.html/", "/index.html/../app.js", "/app.js/", "/app.js.map", "/APP.JS",
		"/Index.html", "/index.htm", "/index.html ", " /index.html", "/index.html?x=1",
		"/index.html#top", "/secret.txt", "/style.css\\", "/static/app.js", "/web/index.html",
		"/src/nexapi/web/index.html", "/api/v1/devices", "/healthz", "/favicon.ico",
		"\\index.html", "/\\..\\app.js",
	};

	assert_int_equal(static_site_load(fx->dir, &fx->site), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (static_find(fx->site, bad[i]))
			fail_msg("path \"%s\" was served", bad[i]);
	}
	assert_null(static_find(fx->site, NULL));
	assert_null(static_find(NULL, "/"));
}

static void test_types_and_headers(void **st)
{
	struct fixture *fx = *st;
	static const struct {
		const char *url, *type, *cache;
	} want[] = {
		{ "/", "text/html; charset=utf-8", "no-store" },
		{ "/index.html", "text/html; charset=utf-8", "no-store" },
		{ "/app.js", "text/javascript; charset=utf-8", "no-cache" },
		{ "/style.css", "text/css; charset=utf-8", "no-cache" },
	};
	const char *csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
			  "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

	assert_int_equal(static_site_load(fx->dir, &fx->site), 0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct static_file *f = static_find(fx->site, want[i].url);
		struct MHD_Response *resp;

		assert_non_null(f);
		assert_string_equal(static_file_type(f), want[i].type);
		assert_string_equal(header(f, "Content-Type"), want[i].type);
		assert_string_equal(header(f, "Content-Security-Policy"), csp);
		assert_string_equal(header(f, "X-Content-Type-Options"), "nosniff");
		assert_string_equal(header(f, "Referrer-Policy"), "no-referrer");
		assert_string_equal(header(f, "X-Frame-Options"), "DENY");
		assert_string_equal(header(f, "Cache-Control"), want[i].cache);

		/* The MHD response carries exactly these headers. */
		resp = static_response(f);
		assert_non_null(resp);
		assert_string_equal(MHD_get_response_header(resp, "Content-Type"), want[i].type);
		assert_string_equal(MHD_get_response_header(resp, "Content-Security-Policy"), csp);
		assert_string_equal(MHD_get_response_header(resp, "X-Content-Type-Options"), "nosniff");
		assert_string_equal(MHD_get_response_header(resp, "Referrer-Policy"), "no-referrer");
		assert_string_equal(MHD_get_response_header(resp, "Cache-Control"), want[i].cache);
		MHD_destroy_response(resp);
	}
	assert_string_equal(STATIC_CSP, csp);
}

static void test_load_limits(void **st)
{
	struct fixture *fx = *st;
	char path[PATH_MAX];
	char *big;

	/* A missing file: nothing loaded. */
	snprintf(path, sizeof(path), "%s/app.js", fx->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(static_site_load(fx->dir, &fx->site), -ENOENT);
	assert_null(fx->site);

	/* A directory in place of a file. */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(static_site_load(fx->dir, &fx->site), -EINVAL);
	assert_int_equal(rmdir(path), 0);

	/* Exactly the limit loads; one byte more does not. */
	big = malloc(STATIC_FILE_MAX + 1);
	assert_non_null(big);
	memset(big, 'x', STATIC_FILE_MAX + 1);
	write_file(fx->dir, "app.js", big, STATIC_FILE_MAX);
	assert_int_equal(static_site_load(fx->dir, &fx->site), 0);
	static_site_free(fx->site);
	fx->site = NULL;
	write_file(fx->dir, "app.js", big, STATIC_FILE_MAX + 1);
	assert_int_equal(static_site_load(fx->dir, &fx->site), -EFBIG);
	assert_null(fx->site);
	free(big);

	/* An empty file is fine. */
	write_file(fx->dir, "app.js", "", 0);
	assert_int_equal(static_site_load(fx->dir, &fx->site), 0);
	{
		size_t len = 1;
		static_file_body(static_find(fx->site, "/app.js"), &len);
		assert_int_equal(len, 0);
	}
	assert_int_equal(static_site_load("/nonexistent/h9", &fx->site), -ENOENT);
}

static void test_locate(void **st)
{
	struct fixture *fx = *st;
	char out[PATH_MAX], small[8];

	unsetenv("NEXAPI_WEB_ROOT");
	assert_int_equal(static_locate(fx->dir, out, sizeof(out)), 0);
	assert_string_equal(out, fx->dir);
	assert_int_equal(static_locate(fx->dir, small, sizeof(small)), -ENAMETOOLONG);
	assert_int_equal(static_locate("/nonexistent/h9", out, sizeof(out)), -ENOENT);
	assert_int_equal(static_locate("/tmp", out, sizeof(out)), -ENOENT);   /* no index.html */

	/* The environment, when no flag is given; the flag wins over it. */
	setenv("NEXAPI_WEB_ROOT", fx->dir, 1);
	assert_int_equal(static_locate(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, fx->dir);
	setenv("NEXAPI_WEB_ROOT", "/nonexistent/h9", 1);
	assert_int_equal(static_locate(NULL, out, sizeof(out)), -ENOENT);
	assert_int_equal(static_locate(fx->dir, out, sizeof(out)), 0);

	/* static_site_open: a flag or variable that cannot be used is an
	 * error; a found root is loaded. */
	assert_int_equal(static_site_open(NULL, &fx->site), -ENOENT);
	assert_null(fx->site);
	unsetenv("NEXAPI_WEB_ROOT");
	assert_int_equal(static_site_open("/nonexistent/h9", &fx->site), -ENOENT);
	assert_null(fx->site);
	assert_int_equal(static_site_open(fx->dir, &fx->site), 0);
	assert_non_null(static_find(fx->site, "/"));
}

/* ---- through a real httpd: the fallback handler and libcurl ---- */

struct buf {
	char data[8192];
	size_t len;
};

static size_t on_bytes(char *p, size_t size, size_t n, void *userdata)
{
	struct buf *b = userdata;
	size_t len = size * n;

	if (len > sizeof(b->data) - 1 - b->len)
		len = sizeof(b->data) - 1 - b->len;
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = 0;
	return size * n;
}

struct reply {
	long status;
	struct buf headers, body;
};

static void http(uint16_t port, const char *method, const char *path, struct reply *out)
{
	char url[512];
	CURL *c = curl_easy_init();

	assert_non_null(c);
	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);   /* send "/../" as is */
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_bytes);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &out->headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_bytes);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &out->body);
	if (!strcmp(method, "HEAD")) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(method, "POST")) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "{}");
	}
	assert_int_equal(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_easy_cleanup(c);
}

static enum httpd_result handle_api(struct httpd_request *r, void *ctx)
{
	httpd_reply_json(r, 200, json_pack("{s:s}", "route", "api"));
	return HTTPD_DONE;
}

static enum httpd_result handle_web(struct httpd_request *r, void *ctx)
{
	return static_serve(ctx, r);
}

static void test_served(void **st)
{
	static const struct httpd_route routes[] = { { "GET", "/api/x", handle_api } };
	struct fixture *fx = *st;
	struct httpd_config cfg;
	struct httpd *h;
	struct reply rp;
	uint16_t port;

	assert_true(sodium_init() >= 0);
	assert_int_equal(static_site_load(fx->dir, &fx->site), 0);
	memset(&cfg, 0, sizeof(cfg));
	assert_int_equal(addr_endpoint_parse("127.0.0.1:0", &cfg.listen), 0);
	cfg.connection_limit = 16;
	cfg.body_limit = 1024;
	cfg.fallback = handle_web;
	assert_int_equal(httpd_start(&cfg, routes, 1, fx->site, &h), 0);
	port = httpd_port(h);

	http(port, "GET", "/", &rp);
	assert_int_equal(rp.status, 200);
	assert_string_equal(rp.body.data, "<!doctype html><p>index</p>");
	assert_non_null(strcasestr(rp.headers.data, "\r\nContent-Type: text/html; charset=utf-8\r\n"));
	assert_non_null(strcasestr(rp.headers.data, "\r\nContent-Security-Policy: " STATIC_CSP "\r\n"));
	assert_non_null(strcasestr(rp.headers.data, "\r\nX-Content-Type-Options: nosniff\r\n"));
	assert_non_null(strcasestr(rp.headers.data, "\r\nReferrer-Policy: no-referrer\r\n"));
	assert_non_null(strcasestr(rp.headers.data, "\r\nCache-Control: no-store\r\n"));

	http(port, "GET", "/app.js?v=1", &rp);   /* the query is not part of the path */
	assert_int_equal(rp.status, 200);
	assert_string_equal(rp.body.data, "'use strict';");
	assert_non_null(strcasestr(rp.headers.data, "\r\nContent-Type: text/javascript; charset=utf-8\r\n"));

	http(port, "HEAD", "/style.css", &rp);
	assert_int_equal(rp.status, 200);
	assert_int_equal(rp.body.len, 0);
	assert_non_null(strcasestr(rp.headers.data, "\r\nContent-Type: text/css; charset=utf-8\r\n"));

	/* Routes win; the fallback sees only GET and HEAD; the rest is 404. */
	http(port, "GET", "/api/x", &rp);
	assert_int_equal(rp.status, 200);
	assert_non_null(strstr(rp.body.data, "\"api\""));
	http(port, "POST", "/", &rp);
	assert_int_equal(rp.status, 404);
	{
		static const char *bad[] = { "/../index.html", "/%2e%2e/index.html", "/..%2fapp.js",
					     "/secret.txt", "/x/../app.js", "//app.js", "/app.js/",
					     "/%2fetc%2fpasswd" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			http(port, "GET", bad[i], &rp);
			if (rp.status != 404)
				fail_msg("GET %s: %ld", bad[i], rp.status);
			assert_null(strstr(rp.body.data, "do not serve"));
			assert_non_null(strstr(rp.body.data, "\"not_found\""));
		}
	}
	/* libmicrohttpd decodes %00 into a NUL that ends the path: this is
	 * "/index.html" to us, so at most that allow-listed file, never more. */
	http(port, "GET", "/index.html%00/../secret.txt", &rp);
	assert_null(strstr(rp.body.data, "do not serve"));
	if (rp.status == 200)
		assert_string_equal(rp.body.data, "<!doctype html><p>index</p>");
	else
		assert_int_equal(rp.status, 404);
	httpd_stop(h);
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[PATH_MAX];
	struct stat sb;
	char *buf;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "re");
	assert_non_null(f);
	assert_int_equal(fstat(fileno(f), &sb), 0);
	buf = calloc(1, (size_t)sb.st_size + 1);
	assert_non_null(buf);
	*len = fread(buf, 1, (size_t)sb.st_size, f);
	fclose(f);
	buf[*len] = 0;
	return buf;
}

/* Case-insensitive search in a NUL-terminated text. */
static const char *find_ci(const char *hay, const char *needle)
{
	size_t n = strlen(needle);

	for (; *hay; hay++)
		if (!strncasecmp(hay, needle, n))
			return hay;
	return NULL;
}

/* The real UI, found from the test binary (build/<tag>/tests/) the way
 * nexapi finds it in the build tree: loadable, and written for the CSP. */
static void test_real_ui(void **st)
{
	char dir[PATH_MAX];
	struct static_site *site;
	char *html, *js, *css;
	const char *p;
	size_t len;

	(void)st;
	unsetenv("NEXAPI_WEB_ROOT");
	assert_int_equal(static_locate(NULL, dir, sizeof(dir)), 0);
	assert_non_null(strstr(dir, "src/nexapi/web"));
	assert_int_equal(static_site_load(dir, &site), 0);
	static_site_free(site);

	html = slurp(dir, "index.html", &len);
	assert_non_null(strstr(html, "<script src=\"/app.js\""));
	assert_non_null(strstr(html, "<link rel=\"stylesheet\" href=\"/style.css\">"));
	/* Every <script> has a src (no inline script), no inline style, no
	 * inline event handler: all would be blocked by the CSP. */
	for (p = html; (p = find_ci(p, "<script")); p++) {
		const char *end = strchr(p, '>');
		assert_non_null(end);
		assert_true(memmem(p, (size_t)(end - p), " src=", 5) != NULL);
	}
	assert_null(find_ci(html, "<style"));
	assert_null(find_ci(html, " style="));
	assert_null(find_ci(html, " onclick="));
	assert_null(find_ci(html, " onload="));
	assert_null(find_ci(html, "javascript:"));
	free(html);

	/* Strings from the API are rendered as text: no HTML sinks at all. */
	js = slurp(dir, "app.js", &len);
	assert_null(strstr(js, "innerHTML"));
	assert_null(strstr(js, "outerHTML"));
	assert_null(strstr(js, "insertAdjacentHTML"));
	assert_null(strstr(js, "document.write"));
	assert_null(strstr(js, "eval("));
	assert_null(strstr(js, "new Function"));
	/* The token lives in sessionStorage only, never in localStorage. */
	assert_non_null(strstr(js, "sessionStorage"));
	assert_null(strstr(js, "localStorage"));
	free(js);

	css = slurp(dir, "style.css", &len);
	assert_null(find_ci(css, "@import"));
	assert_null(find_ci(css, "url(http"));
	free(css);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lookup, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_types_and_headers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_load_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_locate, setup, teardown),
		cmocka_unit_test_setup_teardown(test_served, setup, teardown),
		cmocka_unit_test(test_real_ui),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
