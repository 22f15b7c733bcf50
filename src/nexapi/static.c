#include "nexapi/static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

/* How far above the binary's directory the build tree's src/ is looked for
 * (build/nexapi, build/<tag>/nexapi, build/<tag>/tests/test_*). */
#define LOCATE_UP_MAX 3
#define N_HEADERS 7

/* The allow-list: the only names ever served. */
static const struct {
	const char *name;
	const char *type;
	const char *cache;
} allowed[] = {
	{ "index.html", "text/html; charset=utf-8", "no-store" },
	{ "app.js", "text/javascript; charset=utf-8", "no-cache" },
	{ "style.css", "text/css; charset=utf-8", "no-cache" },
};
#define N_FILES (sizeof(allowed) / sizeof(allowed[0]))

struct static_file {
	const char *name;
	char *body;
	size_t len;
	struct static_header headers[N_HEADERS];
};

struct static_site {
	struct static_file files[N_FILES];
};

static bool has_index(const char *dir)
{
	char path[PATH_MAX];
	struct stat st;

	if ((size_t)snprintf(path, sizeof(path), "%s/index.html", dir) >= sizeof(path))
		return false;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int put(char *out, size_t out_len, const char *path)
{
	if (strlen(path) >= out_len)
		return -ENAMETOOLONG;
	strcpy(out, path);
	return 0;
}

int static_locate(const char *flag, char *out, size_t out_len)
{
	char exe[PATH_MAX], cand[PATH_MAX];
	const char *env = getenv("NEXAPI_WEB_ROOT");
	ssize_t n;
	char *slash;

	if (flag && *flag)
		return has_index(flag) ? put(out, out_len, flag) : -ENOENT;
	if (env && *env)
		return has_index(env) ? put(out, out_len, env) : -ENOENT;

	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0 || (size_t)n >= sizeof(exe) - 1)
		return -ENOENT;
	exe[n] = 0;
	slash = strrchr(exe, '/');
	if (!slash)
		return -ENOENT;
	*slash = 0;   /* exe is now the binary's directory */

	if ((size_t)snprintf(cand, sizeof(cand), "%s/../share/nexodus/web", exe) < sizeof(cand) &&
	    has_index(cand))
		return put(out, out_len, cand);
	for (int up = 0; up <= LOCATE_UP_MAX; up++) {
		if ((size_t)snprintf(cand, sizeof(cand), "%s/src/nexapi/web", exe) < sizeof(cand) &&
		    has_index(cand))
			return put(out, out_len, cand);
		slash = strrchr(exe, '/');
		if (!slash || slash == exe)
			break;
		*slash = 0;
	}
	return -ENOENT;
}

/* Reads dir/name whole: a regular file of at most STATIC_FILE_MAX bytes. */
static int read_whole(const char *dir, const char *name, char **body, size_t *len)
{
	char path[PATH_MAX];
	struct stat st;
	size_t got = 0;
	char *buf;
	int fd, err;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto err_close;
	}
	if (!S_ISREG(st.st_mode)) {
		err = -EINVAL;
		goto err_close;
	}
	if (st.st_size > STATIC_FILE_MAX) {
		err = -EFBIG;
		goto err_close;
	}
	/* One byte more than allowed, to see a file that grew since fstat. */
	buf = malloc(STATIC_FILE_MAX + 1);
	if (!buf) {
		err = -ENOMEM;
		goto err_close;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, STATIC_FILE_MAX + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto err_free;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > STATIC_FILE_MAX) {
			err = -EFBIG;
			goto err_free;
		}
	}
	close(fd);
	{
		char *shrunk = realloc(buf, got ? got : 1);
		if (shrunk)
			buf = shrunk;
	}
	*body = buf;
	*len = got;
	return 0;

err_free:
	free(buf);
err_close:
	close(fd);
	return err;
}

static void set_headers(struct static_file *f, size_t i)
{
	const struct static_header h[N_HEADERS] = {
		{ MHD_HTTP_HEADER_CONTENT_TYPE, allowed[i].type },
		{ "Content-Security-Policy", STATIC_CSP },
		{ "X-Content-Type-Options", "nosniff" },
		{ "Referrer-Policy", "no-referrer" },
		{ "X-Frame-Options", "DENY" },
		{ "Cross-Origin-Opener-Policy", "same-origin" },
		{ MHD_HTTP_HEADER_CACHE_CONTROL, allowed[i].cache },
	};

	memcpy(f->headers, h, sizeof(h));
}

void static_site_free(struct static_site *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < N_FILES; i++)
		free(s->files[i].body);
	free(s);
}

int static_site_load(const char *dir, struct static_site **out)
{
	struct static_site *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < N_FILES; i++) {
		struct static_file *f = &s->files[i];

		f->name = allowed[i].name;
		if ((err = read_whole(dir, f->name, &f->body, &f->len))) {
			log_warn("web: cannot read %s/%s: %s", dir, f->name,
				 err == -EFBIG ? "larger than the limit" :
				 err == -EINVAL ? "not a regular file" : strerror(-err));
			static_site_free(s);
			return err;
		}
		set_headers(f, i);
	}
	*out = s;
	return 0;
}

int static_site_open(const char *flag, struct static_site **out)
{
	char dir[PATH_MAX];
	int err;

	*out = NULL;
	if ((err = static_locate(flag, dir, sizeof(dir)))) {
		if (flag && *flag) {
			log_error("web: --web-root %s: no index.html there", flag);
			return err;
		}
		if (getenv("NEXAPI_WEB_ROOT") && *getenv("NEXAPI_WEB_ROOT")) {
			log_error("web: NEXAPI_WEB_ROOT=%s: no index.html there", getenv("NEXAPI_WEB_ROOT"));
			return err;
		}
		log_warn("web: no web UI found (give --web-root DIR); serving the API only");
		return 0;
	}
	if ((err = static_site_load(dir, out)))
		return err;
	log_info("web: serving the web UI from %s", dir);
	return 0;
}

const struct static_file *static_find(const struct static_site *s, const char *url)
{
	if (!s || !url || url[0] != '/')
		return NULL;
	if (!strcmp(url, "/"))
		return &s->files[0];
	for (size_t i = 0; i < N_FILES; i++)
		if (!strcmp(url + 1, s->files[i].name))
			return &s->files[i];
	return NULL;
}

const char *static_file_name(const struct static_file *f)
{
	return f->name;
}

const void *static_file_body(const struct static_file *f, size_t *len)
{
	*len = f->len;
	return f->body;
}

const char *static_file_type(const struct static_file *f)
{
	return f->headers[0].value;
}

size_t static_file_headers(const struct static_file *f, const struct static_header **out)
{
	*out = f->headers;
	return N_HEADERS;
}

struct MHD_Response *static_response(const struct static_file *f)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(f->len, f->body, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return NULL;
	for (size_t i = 0; i < N_HEADERS; i++) {
		if (MHD_add_response_header(resp, f->headers[i].name, f->headers[i].value) != MHD_YES) {
			MHD_destroy_response(resp);
			return NULL;
		}
	}
	return resp;
}

enum httpd_result static_serve(const struct static_site *s, struct httpd_request *r)
{
	const struct static_file *f = static_find(s, httpd_url(r));

	if (!f) {
		httpd_reply_error(r, 404, "no such path: %.128s", httpd_url(r));
		return HTTPD_DONE;
	}
	httpd_reply_mhd(r, MHD_HTTP_OK, static_response(f));
	return HTTPD_DONE;
}
