/* resolv.conf(5): the nameserver lines, read as glibc's resolver reads them
 * (keyword at the start of the line, the address up to the first blank,
 * anything after ignored), with bounds on the text and the list. */
#include "nexd/resolvconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#define TOKEN_MAX 63  /* INET6_ADDRSTRLEN + "%" + an interface name fits */

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool token_char_ok(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       c == '.' || c == ':' || c == '%' || c == '_' || c == '-';
}

/* A scope: an interface name known here, or a number. 0 or -EINVAL. */
static int scope_parse(const char *s, uint32_t *out)
{
	unsigned idx;
	unsigned long v;
	char *end;

	if (!*s)
		return -EINVAL;
	if (strlen(s) < IF_NAMESIZE && (idx = if_nametoindex(s)) != 0) {
		*out = idx;
		return 0;
	}
	if (!(*s >= '0' && *s <= '9'))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > UINT32_MAX)
		return -EINVAL;
	*out = (uint32_t)v;
	return 0;
}

/* An address token ("192.0.2.53", "2001:db8::53", "fe80::1%eth0") into a
 * sockaddr with port 53. 0 or -EINVAL. */
static int server_parse(const char *tok, size_t len, union sockaddr_any *out)
{
	char buf[TOKEN_MAX + 1];
	char *pct;
	uint32_t scope = 0;

	if (len == 0 || len > TOKEN_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (!token_char_ok(tok[i]))
			return -EINVAL;
	memcpy(buf, tok, len);
	buf[len] = '\0';
	memset(out, 0, sizeof(*out));
	pct = strchr(buf, '%');
	if (!pct && inet_pton(AF_INET, buf, &out->in4.sin_addr) == 1) {
		out->in4.sin_family = AF_INET;
		out->in4.sin_port = htons(RESOLVCONF_DNS_PORT);
		return 0;
	}
	if (pct) {
		*pct = '\0';
		if (scope_parse(pct + 1, &scope) < 0)
			return -EINVAL;
	}
	if (inet_pton(AF_INET6, buf, &out->in6.sin6_addr) != 1)
		return -EINVAL;
	out->in6.sin6_family = AF_INET6;
	out->in6.sin6_port = htons(RESOLVCONF_DNS_PORT);
	out->in6.sin6_scope_id = scope;
	return 0;
}

static bool server_equal(const union sockaddr_any *a, const union sockaddr_any *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in4.sin_addr.s_addr == b->in4.sin_addr.s_addr;
	return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0 &&
	       a->in6.sin6_scope_id == b->in6.sin6_scope_id;
}

/* One line (without its newline). */
static void line_parse(const char *p, size_t len, struct resolvconf *rc)
{
	static const char kw[] = "nameserver";
	const size_t kwlen = sizeof(kw) - 1;
	union sockaddr_any a;
	size_t i, tok;

	if (len <= kwlen || memcmp(p, kw, kwlen) != 0 || !is_blank(p[kwlen]))
		return;
	for (i = kwlen; i < len && is_blank(p[i]); i++)
		;
	for (tok = i; i < len && !is_blank(p[i]); i++)
		;
	if (server_parse(p + tok, i - tok, &a) < 0)
		return;
	for (size_t k = 0; k < rc->n; k++)
		if (server_equal(&rc->servers[k], &a))
			return;
	if (rc->n >= RESOLVCONF_SERVERS_MAX) {
		rc->truncated = true;
		return;
	}
	rc->servers[rc->n++] = a;
}

int resolvconf_parse(const char *text, size_t len, struct resolvconf *out)
{
	struct resolvconf rc;
	size_t pos = 0;

	if (!out || (len && !text))
		return -EINVAL;
	if (len > RESOLVCONF_TEXT_MAX)
		return -EFBIG;
	memset(&rc, 0, sizeof(rc));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len;

		line_parse(text + pos, end - pos, &rc);
		pos = end + 1;
	}
	*out = rc;
	return 0;
}

static bool server_local(const union sockaddr_any *a)
{
	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->in4.sin_addr.s_addr) >> 24) == 127;
	if (IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr) && a->in6.sin6_addr.s6_addr[12] == 127;
}

bool resolvconf_only_local(const struct resolvconf *rc)
{
	if (rc->n == 0)
		return false;
	for (size_t i = 0; i < rc->n; i++)
		if (!server_local(&rc->servers[i]))
			return false;
	return true;
}

/* The whole file, at most RESOLVCONF_TEXT_MAX bytes, parsed. */
static int file_parse(const char *path, struct resolvconf *out)
{
	char *buf;
	size_t len = 0;
	ssize_t r;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = malloc(RESOLVCONF_TEXT_MAX + 1);
	if (!buf) {
		err = -ENOMEM;
		goto out_close;
	}
	for (;;) {
		r = read(fd, buf + len, RESOLVCONF_TEXT_MAX + 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			err = -errno;
			goto out_free;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		if (len > RESOLVCONF_TEXT_MAX) {
			err = -EFBIG;
			goto out_free;
		}
	}
	err = resolvconf_parse(buf, len, out);
out_free:
	free(buf);
out_close:
	close(fd);
	return err;
}

int resolvconf_servers(const char *path, const char *upstream, struct resolvconf *out)
{
	struct resolvconf rc, up;
	int err;

	if (!out)
		return -EINVAL;
	path = path ? path : RESOLVCONF_PATH;
	upstream = upstream ? upstream : RESOLVCONF_UPSTREAM_PATH;
	err = file_parse(path, &rc);
	if (err < 0)
		return err;
	if (resolvconf_only_local(&rc)) {
		err = file_parse(upstream, &up);
		if (err == 0 && up.n > 0 && !resolvconf_only_local(&up)) {
			up.from_upstream = true;
			*out = up;
			return 0;
		}
		if (err < 0 && err != -ENOENT)
			log_warn("resolvconf: %s: %s; using the stub's address", upstream, strerror(-err));
	}
	*out = rc;
	return 0;
}

static void stamp_read(const char *path, struct resolvconf_stamp *s)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	if (stat(path, &st) != 0)
		return;
	s->exists = true;
	s->dev = (uint64_t)st.st_dev;
	s->ino = (uint64_t)st.st_ino;
	s->size = (int64_t)st.st_size;
	s->mtime = st.st_mtim;
}

static bool stamp_equal(const struct resolvconf_stamp *a, const struct resolvconf_stamp *b)
{
	if (a->exists != b->exists)
		return false;
	if (!a->exists)
		return true;
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec;
}

int resolvconf_changed(struct resolvconf_watch *w, const char *path, const char *upstream)
{
	struct resolvconf_stamp m, u;
	bool changed;

	if (!w)
		return -EINVAL;
	stamp_read(path ? path : RESOLVCONF_PATH, &m);
	stamp_read(upstream ? upstream : RESOLVCONF_UPSTREAM_PATH, &u);
	changed = !w->primed || !stamp_equal(&w->main, &m) || !stamp_equal(&w->upstream, &u);
	w->primed = true;
	w->main = m;
	w->upstream = u;
	return changed ? 1 : 0;
}
