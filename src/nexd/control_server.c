#include "nexd/control_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/unixsock.h"
#include "control/io.h"

struct control_server {
	int fd;
	int stop_fd;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	control_handler_fn fn;
	void *ctx;
	pthread_t thread;
};

/* Reads until a newline, EOF, the limit or the deadline. Returns bytes
 * read (without the newline) or -errno. */
static ssize_t read_request(int fd, char *buf, size_t cap)
{
	uint64_t deadline = time_now_ns() + CONTROL_IO_TIMEOUT_MS * NSEC_PER_MSEC;
	size_t len = 0;

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t now = time_now_ns();
		ssize_t n;
		char *nl;

		if (now >= deadline)
			return -ETIMEDOUT;
		if (poll(&p, 1, (int)((deadline - now) / NSEC_PER_MSEC) + 1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (len == cap)
			return -EMSGSIZE;
		n = recv(fd, buf + len, cap - len, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -errno;
		}
		if (n == 0)
			return (ssize_t)len;
		nl = memchr(buf + len, '\n', (size_t)n);
		if (nl)
			return nl - buf;
		len += (size_t)n;
	}
}

static void reply(int fd, json_t *result, const char *error)
{
	char *text = control_reply_format(result, error);

	if (text) {
		control_write_all(fd, text, strlen(text));
		free(text);
	}
}

static void serve_connection(struct control_server *s, int fd)
{
	char buf[CONTROL_MAX_REQUEST + 1];
	char err[256] = "";
	struct control_request req;
	struct ucred cred;
	json_t *result;
	ssize_t n;

	if (unixsock_peer_cred(fd, &cred) < 0) {
		reply(fd, NULL, "cannot read peer credentials");
		return;
	}
	if (!unixsock_cred_allowed(&cred)) {
		log_warn("control: refused a request from uid %u (pid %d)", cred.uid, cred.pid);
		reply(fd, NULL, "permission denied: the control socket is for root and the user nexd runs as");
		return;
	}
	n = read_request(fd, buf, sizeof(buf) - 1);
	if (n == 0)
		return; /* connected and closed: a liveness probe */
	if (n < 0) {
		reply(fd, NULL, n == -EMSGSIZE ? "request too large" : "request not received");
		return;
	}
	if (control_request_parse(buf, (size_t)n, &req, err, sizeof(err)) < 0) {
		log_info("control: bad request from pid %d: %s", cred.pid, err);
		reply(fd, NULL, err);
		return;
	}
	log_debug("control: \"%s\" from pid %d", req.command, cred.pid);
	result = s->fn(s->ctx, &req, err, sizeof(err));
	if (result)
		reply(fd, result, NULL);
	else
		reply(fd, NULL, err[0] ? err : "command failed");
	json_decref(result);
	control_request_release(&req);
}

static void *control_thread(void *arg)
{
	struct control_server *s = arg;

	for (;;) {
		struct pollfd p[2] = { { .fd = s->fd, .events = POLLIN }, { .fd = s->stop_fd, .events = POLLIN } };
		int c;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_error("control: poll: %s", strerror(errno));
			break;
		}
		if (p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		c = accept4(s->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		serve_connection(s, c);
		close(c);
	}
	return NULL;
}

int control_server_start(struct control_server **out, const char *path, control_handler_fn fn, void *ctx)
{
	struct control_server *s;
	bool replaced;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	s->ctx = ctx;
	snprintf(s->path, sizeof(s->path), "%s", path);
	s->fd = unixsock_listen(path, 0600, 0, &replaced);
	if (replaced)
		log_info("control: removed stale socket %s", path);
	if (s->fd < 0) {
		r = s->fd;
		goto err_free;
	}
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		r = -errno;
		goto err_close_socket;
	}
	r = -pthread_create(&s->thread, NULL, control_thread, s);
	if (r)
		goto err_close_stop;
	log_info("control: listening on %s", path);
	*out = s;
	return 0;

err_close_stop:
	close(s->stop_fd);
err_close_socket:
	unlink(path);
	close(s->fd);
err_free:
	free(s);
	return r;
}

void control_server_stop(struct control_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (write(s->stop_fd, &one, sizeof(one)) < 0)
		log_warn("control: cannot signal stop: %s", strerror(errno));
	pthread_join(s->thread, NULL);
	close(s->stop_fd);
	close(s->fd);
	unlink(s->path);
	log_info("control: socket %s removed", s->path);
	free(s);
}

