/* The UAPI socket: UAPI_SOCKET_DIR/<ifname>.sock, a unix stream socket that
 * `wg` talks to. One thread polls the listening socket, a stop eventfd and
 * an inotify watch on the socket file (deleting the file stops the device,
 * as the cross-platform spec asks). Connections are served one at a time on
 * that thread, each request within UAPI_IO_TIMEOUT_MS and UAPI_MAX_REQUEST
 * bytes; a connection may carry several requests until EOF.
 *
 * Replies end in "errno=N\n\n": 0 on success, else the negated errno, as
 * wireguard-go writes it ("errno=-22"). The spec only says "the errno", but
 * wg(8) sets errno = -N after a set, so a positive N would make it print
 * "Unknown error -22" instead of "Invalid argument". An unknown operation
 * closes the connection without a reply, as wireguard-go does. */
#include "wg/uapi.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/unixsock.h"

#define UAPI_IO_TIMEOUT_MS 5000
#define UAPI_OP_MAX 16                 /* "get=1\n" and "set=1\n" are 6 bytes */
#define UAPI_BUF_MAX (UAPI_MAX_REQUEST + UAPI_OP_MAX + 2)

struct uapi_server {
	struct wg_device *dev;
	char ifname[16];
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t sock_dev;                 /* the socket file we made, to unlink */
	ino_t sock_ino;                 /* only that one */
	int listen_fd;
	int stop_fd;
	int inotify_fd;                 /* -1 when not watching */
	pthread_t thread;
};

struct conn {
	struct uapi_server *s;
	int fd;
	char *buf;
	size_t len, cap;
};

/* --- connection I/O ------------------------------------------------------- */

/* Waits until fd is ready for `events`, the server stops, or deadline_ns
 * passes. 0 when ready; -ETIMEDOUT, -ECANCELED or -errno otherwise. */
static int conn_wait(struct conn *c, short events, uint64_t deadline_ns)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = c->fd, .events = events },
			{ .fd = c->s->stop_fd, .events = POLLIN },
		};
		uint64_t now = time_now_ns();
		int ms, n;

		if (now >= deadline_ns)
			return -ETIMEDOUT;
		ms = (int)((deadline_ns - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC);
		n = poll(pfd, 2, ms);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (pfd[1].revents)
			return -ECANCELED;
		if (pfd[0].revents)
			return 0;
	}
}

/* Reads more bytes into the buffer. 0, or -EOF-like errors: -ECONNRESET on
 * EOF, -E2BIG when the buffer is at its limit, -ETIMEDOUT, ... */
static int conn_fill(struct conn *c, uint64_t deadline_ns)
{
	ssize_t n;
	int ret;

	if (c->len == c->cap) {
		size_t cap = c->cap * 2;
		char *buf;

		if (c->cap >= UAPI_BUF_MAX)
			return -E2BIG;
		if (cap > UAPI_BUF_MAX)
			cap = UAPI_BUF_MAX;
		/* Copied and wiped rather than realloc'd: requests carry keys. */
		buf = malloc(cap);
		if (!buf)
			return -ENOMEM;
		memcpy(buf, c->buf, c->len);
		sodium_memzero(c->buf, c->cap);
		free(c->buf);
		c->buf = buf;
		c->cap = cap;
	}
	for (;;) {
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
		if (n > 0) {
			c->len += (size_t)n;
			return 0;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		if ((ret = conn_wait(c, POLLIN, deadline_ns)))
			return ret;
	}
}

static int conn_write(struct conn *c, const char *p, size_t len)
{
	while (len) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		int ret;

		if (n > 0) {
			p += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		/* Idle timeout: a reader that keeps reading may take longer. */
		ret = conn_wait(c, POLLOUT, time_now_ns() + UAPI_IO_TIMEOUT_MS * NSEC_PER_MSEC);
		if (ret)
			return ret;
	}
	return 0;
}

/* err: 0 or a negative errno, sent as it is. */
static int conn_reply_errno(struct conn *c, int err)
{
	char line[32];
	int n = snprintf(line, sizeof(line), "errno=%d\n\n", err > 0 ? -err : err);

	return conn_write(c, line, (size_t)n);
}

/* Drops the first `n` bytes of the buffer (wiping them) and keeps the rest. */
static void conn_consume(struct conn *c, size_t n)
{
	sodium_memzero(c->buf, n);
	memmove(c->buf, c->buf + n, c->len - n);
	c->len -= n;
	sodium_memzero(c->buf + c->len, n);
}

/* --- operations ------------------------------------------------------------- */

static int do_get(struct conn *c)
{
	struct wg_device_info *info = NULL;
	size_t len = 0;
	char *body;
	int ret;

	ret = wg_device_get(c->s->dev, &info);
	if (ret) {
		log_debug("%s: uapi get failed: %s", c->s->ifname, strerror(-ret));
		return conn_reply_errno(c, ret);
	}
	body = uapi_format_get(info, &len);
	wg_device_info_free(info);
	if (!body)
		return conn_reply_errno(c, -ENOMEM);
	ret = conn_write(c, body, len);
	sodium_memzero(body, len);
	free(body);
	if (ret)
		return ret;
	log_debug("%s: uapi get", c->s->ifname);
	return conn_reply_errno(c, 0);
}

static int do_set(struct conn *c, const char *body, size_t len)
{
	struct wg_config cfg;
	int ret;

	ret = uapi_parse_set(body, len, &cfg);
	if (ret) {
		log_debug("%s: uapi set: bad request: %s", c->s->ifname, strerror(-ret));
		return conn_reply_errno(c, ret);
	}
	ret = wg_device_apply(c->s->dev, &cfg);
	if (ret)
		log_debug("%s: uapi set (%zu peers) failed: %s", c->s->ifname, cfg.n_peers, strerror(-ret));
	else
		log_debug("%s: uapi set (%zu peers)", c->s->ifname, cfg.n_peers);
	wg_config_release(&cfg);
	return conn_reply_errno(c, ret < 0 ? ret : 0);
}

/* Serves requests on one connection until EOF, an error or a bad request. */
static void conn_serve(struct conn *c)
{
	for (;;) {
		uint64_t deadline = time_now_ns() + UAPI_IO_TIMEOUT_MS * NSEC_PER_MSEC;
		char *nl;
		size_t op_len, scan;
		int ret = 0;

		/* The operation line. */
		while (!(nl = memchr(c->buf, '\n', c->len))) {
			if (c->len >= UAPI_OP_MAX || (ret = conn_fill(c, deadline)))
				break;
		}
		if (!nl) {
			if (ret != -ECONNRESET || c->len)
				log_debug("%s: uapi connection closed: %s", c->s->ifname,
					  ret ? strerror(-ret) : "no operation line");
			return;
		}
		op_len = (size_t)(nl - c->buf) + 1;
		if (op_len == 6 && !memcmp(c->buf, "get=1\n", 6)) {
			while (c->len < op_len + 1 && !(ret = conn_fill(c, deadline)))
				;
			if (ret)
				return;
			if (c->buf[op_len] != '\n') {
				log_debug("%s: uapi get: trailing character", c->s->ifname);
				conn_reply_errno(c, -EINVAL);
				return;
			}
			conn_consume(c, op_len + 1);
			if (do_get(c))
				return;
		} else if (op_len == 6 && !memcmp(c->buf, "set=1\n", 6)) {
			/* The body ends at the first empty line. */
			size_t end = 0;

			for (scan = op_len;;) {
				for (; scan < c->len; scan++) {
					if (c->buf[scan] == '\n' && (scan == op_len || c->buf[scan - 1] == '\n')) {
						end = scan;
						break;
					}
				}
				if (end || c->len - op_len > UAPI_MAX_REQUEST)
					break;
				if ((ret = conn_fill(c, deadline)))
					break;
			}
			if (!end) {
				log_debug("%s: uapi set: %s", c->s->ifname,
					  ret ? strerror(-ret) : "request too large");
				if (ret == -E2BIG || !ret)
					conn_reply_errno(c, -E2BIG);
				return;
			}
			ret = do_set(c, c->buf + op_len, end - op_len);
			conn_consume(c, end + 1);
			if (ret)
				return;
		} else {
			log_debug("%s: uapi: invalid operation", c->s->ifname);
			return;
		}
	}
}

static void serve_one(struct uapi_server *s, int fd)
{
	struct conn c = { .s = s, .fd = fd, .cap = 4096 };
	struct ucred cred;

	if (unixsock_peer_cred(fd, &cred) < 0 || !unixsock_cred_allowed(&cred)) {
		log_warn("%s: uapi: refused a connection from another user", s->ifname);
		return;
	}
	c.buf = malloc(c.cap);
	if (!c.buf)
		return;
	conn_serve(&c);
	sodium_memzero(c.buf, c.cap);
	free(c.buf);
}

/* --- the listening thread ------------------------------------------------------ */

/* True when the socket file we bound is gone or replaced. */
static bool socket_file_gone(const struct uapi_server *s)
{
	struct stat st;

	if (lstat(s->path, &st))
		return errno == ENOENT;
	return st.st_dev != s->sock_dev || st.st_ino != s->sock_ino;
}

static void *server_thread(void *arg)
{
	struct uapi_server *s = arg;

	for (;;) {
		struct pollfd pfd[3] = {
			{ .fd = s->listen_fd, .events = POLLIN },
			{ .fd = s->stop_fd, .events = POLLIN },
			{ .fd = s->inotify_fd, .events = POLLIN },
		};
		int n = poll(pfd, s->inotify_fd >= 0 ? 3 : 2, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_error("%s: uapi poll: %s", s->ifname, strerror(errno));
			break;
		}
		if (pfd[1].revents)
			break;
		if (s->inotify_fd >= 0 && pfd[2].revents) {
			char ev[4096] __attribute__((aligned(__alignof__(struct inotify_event))));

			while (read(s->inotify_fd, ev, sizeof(ev)) > 0)
				;
			if (socket_file_gone(s)) {
				log_info("%s: uapi socket %s was removed, stopping", s->ifname, s->path);
				close(s->inotify_fd);
				s->inotify_fd = -1;
				wg_device_stop(s->dev);
			}
		}
		if (pfd[0].revents) {
			int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (fd < 0) {
				if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
				    errno != ECONNABORTED) {
					log_warn("%s: uapi accept: %s", s->ifname, strerror(errno));
					time_sleep_ns(100 * NSEC_PER_MSEC); /* EMFILE and the like */
				}
				continue;
			}
			serve_one(s, fd);
			close(fd);
		}
	}
	return NULL;
}

/* --- start and stop ------------------------------------------------------------- */

static bool ifname_ok(const char *ifname)
{
	size_t len = ifname ? strlen(ifname) : 0;

	if (len == 0 || len >= 16 || !strcmp(ifname, ".") || !strcmp(ifname, ".."))
		return false;
	for (size_t i = 0; i < len; i++)
		if (ifname[i] == '/' || (unsigned char)ifname[i] <= ' ' || ifname[i] == 0x7f)
			return false;
	return true;
}

int uapi_server_start(struct uapi_server **out, struct wg_device *dev, const char *ifname)
{
	struct uapi_server *s;
	struct stat st;
	bool replaced;
	int n, ret;

	if (!out || !dev || !ifname_ok(ifname))
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dev = dev;
	s->listen_fd = s->stop_fd = s->inotify_fd = -1;
	snprintf(s->ifname, sizeof(s->ifname), "%s", ifname);
	n = snprintf(s->path, sizeof(s->path), "%s/%s.sock", UAPI_SOCKET_DIR, ifname);
	if (n < 0 || (size_t)n >= sizeof(s->path)) {
		ret = -ENAMETOOLONG;
		goto err_free;
	}

	if (mkdir(UAPI_SOCKET_DIR, 0755) && errno != EEXIST) {
		ret = -errno;
		log_error("cannot create %s: %s", UAPI_SOCKET_DIR, strerror(-ret));
		goto err_free;
	}
	/* As wireguard-go: whatever file nobody answers on is replaced; the
	 * socket keeps the 0700 of the umask. */
	s->listen_fd = unixsock_listen(s->path, 0, UNIXSOCK_NONBLOCK | UNIXSOCK_REPLACE_ANY, &replaced);
	if (replaced)
		log_debug("removed stale socket %s", s->path);
	if (s->listen_fd < 0) {
		ret = s->listen_fd;
		log_error("%s: cannot bind %s: %s", ifname, s->path,
			  ret == -EADDRINUSE ? "another process serves it" : strerror(-ret));
		goto err_free;
	}
	if (lstat(s->path, &st)) {
		ret = -errno;
		goto err_close_socket;
	}
	s->sock_dev = st.st_dev;
	s->sock_ino = st.st_ino;
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		ret = -errno;
		goto err_close_socket;
	}
	/* Best effort: without inotify the socket file's removal goes unseen. */
	s->inotify_fd = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (s->inotify_fd >= 0 &&
	    inotify_add_watch(s->inotify_fd, s->path, IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF) < 0) {
		close(s->inotify_fd);
		s->inotify_fd = -1;
	}
	if (s->inotify_fd < 0)
		log_warn("%s: not watching %s: %s", ifname, s->path, strerror(errno));
	ret = -pthread_create(&s->thread, NULL, server_thread, s);
	if (ret)
		goto err_close_inotify;
	log_debug("%s: uapi listening on %s", ifname, s->path);
	*out = s;
	return 0;

err_close_inotify:
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	close(s->stop_fd);
err_close_socket:
	unlink(s->path);
	close(s->listen_fd);
err_free:
	free(s);
	return ret;
}

void uapi_server_stop(struct uapi_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	while (write(s->stop_fd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
	pthread_join(s->thread, NULL);
	if (!socket_file_gone(s))
		unlink(s->path);
	close(s->listen_fd);
	close(s->stop_fd);
	if (s->inotify_fd >= 0)
		close(s->inotify_fd);
	log_debug("%s: uapi socket closed", s->ifname);
	free(s);
}
