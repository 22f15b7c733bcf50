/* watchers: N concurrent nexapi long-poll watchers on plain HTTP, with
 * epoll and one thread, for bench/api.sh. Opens N connections, sends each a
 * watch request from REVISION, waits until the server holds them all, then
 * sends one PATCH itself and measures the time from just before the PATCH
 * until every watcher has its full answer (which must be 200 and carry the
 * event).
 *
 *   watchers HOST:PORT[,HOST:PORT...] TOKEN REVISION N DEVICE_ID PATCH_BODY
 *
 * HOST is a numeric IPv4 address (127.0.0.1). Several servers (replicas of
 * one database): the watchers are spread over them in turn and the PATCH
 * goes to the first. TOKEN is used both for the watches and the PATCH (an
 * admin or organization token). Prints one line; exits 1 on any failure. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/timeutil.h"

#define MAX_WATCHERS 20000
#define HEAD_MAX 4096
#define CONNECTING_MAX 256
#define SERVERS_MAX 8

enum state { S_IDLE, S_CONNECTING, S_SENT, S_DONE };

struct conn {
	int fd;
	enum state st;
	char head[HEAD_MAX];
	size_t have;           /* bytes kept in head */
	size_t total;          /* bytes received */
	long want;             /* header length + content length, once known */
	uint64_t done_ns;
	bool ok;
};

static struct sockaddr_in servers[SERVERS_MAX];
static unsigned n_servers;
static char request[2048];
static size_t request_len;

static void die(const char *what)
{
	fprintf(stderr, "watchers: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void raise_nofile(unsigned long want)
{
	struct rlimit rl = { want, want };

	if (setrlimit(RLIMIT_NOFILE, &rl) && (getrlimit(RLIMIT_NOFILE, &rl) || rl.rlim_cur < want)) {
		fprintf(stderr, "watchers: cannot raise the open file limit to %lu\n", want);
		exit(1);
	}
}

static void start_connect(int ep, struct conn *c, unsigned idx)
{
	struct epoll_event ev = { .events = EPOLLOUT, .data.u32 = idx };

	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		die("socket");
	if (connect(c->fd, (struct sockaddr *)&servers[idx % n_servers], sizeof(servers[0])) &&
	    errno != EINPROGRESS)
		die("connect");
	if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev))
		die("epoll_ctl");
	c->st = S_CONNECTING;
}

/* Parses the status line and Content-Length once the head is complete. */
static void check_head(struct conn *c)
{
	char *end, *cl;

	if (c->want >= 0)
		return;
	c->head[c->have < HEAD_MAX ? c->have : HEAD_MAX - 1] = 0;
	end = strstr(c->head, "\r\n\r\n");
	if (!end)
		return;
	cl = strcasestr(c->head, "\r\nContent-Length:");
	if (!cl || cl > end) {
		c->want = 0;
		return;
	}
	c->want = (end + 4 - c->head) + strtol(cl + 17, NULL, 10);
}

int main(int argc, char **argv)
{
	struct conn *conns;
	unsigned long n, connected = 0, sent = 0, answered = 0, good = 0;
	unsigned next = 0, connecting = 0;
	char patch[4096];
	uint64_t t0, first = 0, last = 0, deadline;
	int ep, pfd;
	char *colon, *item, *save = NULL;

	if (argc != 7) {
		fprintf(stderr, "usage: watchers HOST:PORT[,HOST:PORT...] TOKEN REVISION N DEVICE_ID PATCH_BODY\n");
		return 2;
	}
	n = strtoul(argv[4], NULL, 10);
	if (n == 0 || n > MAX_WATCHERS) {
		fprintf(stderr, "watchers: N must be 1 to %d\n", MAX_WATCHERS);
		return 2;
	}
	for (item = strtok_r(argv[1], ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		struct sockaddr_in *sv = &servers[n_servers];

		if (n_servers == SERVERS_MAX || !(colon = strrchr(item, ':')))
			return 2;
		*colon = 0;
		sv->sin_family = AF_INET;
		sv->sin_port = htons((uint16_t)strtoul(colon + 1, NULL, 10));
		if (inet_pton(AF_INET, item, &sv->sin_addr) != 1)
			return 2;
		n_servers++;
	}
	if (!n_servers)
		return 2;
	request_len = (size_t)snprintf(request, sizeof(request),
		"GET /api/v1/devices/watch?revision=%s&timeout=60 HTTP/1.1\r\nHost: %s\r\n"
		"Authorization: Bearer %s\r\n\r\n", argv[3], argv[1], argv[2]);
	raise_nofile(n + 64);
	conns = calloc(n, sizeof(*conns));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!conns || ep < 0)
		die("setup");

	/* Connect and send every watch, at most CONNECTING_MAX handshakes at once. */
	deadline = time_now_ns() + 60 * NSEC_PER_SEC;
	while (sent < n) {
		struct epoll_event evs[256];
		int k;

		while (next < n && connecting < CONNECTING_MAX) {
			start_connect(ep, &conns[next], next);
			next++;
			connecting++;
		}
		k = epoll_wait(ep, evs, 256, 1000);
		if (k < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < k; i++) {
			struct conn *c = &conns[evs[i].data.u32];
			struct epoll_event ev = { .events = EPOLLIN, .data.u32 = evs[i].data.u32 };
			int err = 0;
			socklen_t len = sizeof(err);

			if (c->st != S_CONNECTING) {
				fprintf(stderr, "watchers: a watcher was answered before the change\n");
				return 1;
			}
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) || err) {
				errno = err;
				die("connect");
			}
			if (write(c->fd, request, request_len) != (ssize_t)request_len)
				die("write");
			if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev))
				die("epoll_ctl");
			c->st = S_SENT;
			c->want = -1;
			connecting--;
			connected++;
			sent++;
		}
		if (time_now_ns() > deadline) {
			fprintf(stderr, "watchers: only %lu of %lu connected\n", connected, n);
			return 1;
		}
	}
	/* Let the server read and park every request. */
	{
		struct epoll_event evs[16];
		int k = epoll_wait(ep, evs, 16, 1000 + (int)(n / 5));
		if (k > 0) {
			fprintf(stderr, "watchers: a watcher was answered before the change\n");
			return 1;
		}
	}

	pfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (pfd < 0 || connect(pfd, (struct sockaddr *)&servers[0], sizeof(servers[0])))
		die("connect for the PATCH");
	{
		int one = 1;
		setsockopt(pfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	snprintf(patch, sizeof(patch),
		 "PATCH /api/v1/devices/%s HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\n"
		 "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n%s",
		 argv[5], argv[1], argv[2], strlen(argv[6]), argv[6]);
	t0 = time_now_ns();
	if (write(pfd, patch, strlen(patch)) != (ssize_t)strlen(patch))
		die("write PATCH");

	deadline = t0 + 60 * NSEC_PER_SEC;
	while (answered < n && time_now_ns() < deadline) {
		struct epoll_event evs[256];
		int k = epoll_wait(ep, evs, 256, 1000);

		if (k < 0 && errno != EINTR)
			die("epoll_wait");
		for (int i = 0; i < k; i++) {
			struct conn *c = &conns[evs[i].data.u32];
			char buf[16384];
			ssize_t r;

			if (c->st != S_SENT)
				continue;
			r = read(c->fd, buf, sizeof(buf));
			if (r < 0 && errno == EAGAIN)
				continue;
			if (r > 0) {
				size_t keep = (size_t)r;
				if (c->have + keep > HEAD_MAX - 1)
					keep = HEAD_MAX - 1 - c->have;
				memcpy(c->head + c->have, buf, keep);
				c->have += keep;
				c->total += (size_t)r;
				check_head(c);
			}
			if (r <= 0 || (c->want >= 0 && (long)c->total >= c->want)) {
				c->head[c->have] = 0;
				c->ok = !strncmp(c->head, "HTTP/1.1 200", 12) &&
					strstr(c->head, "\"events\":[{") != NULL;
				c->done_ns = time_now_ns() - t0;
				if (!first)
					first = c->done_ns;
				last = c->done_ns;
				c->st = S_DONE;
				answered++;
				good += c->ok;
				epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
				close(c->fd);
			}
		}
	}
	printf("%lu watchers on %u server%s: %lu answered with the event; first %.1f ms, last %.1f ms after "
	       "the PATCH\n", n, n_servers, n_servers == 1 ? "" : "s", good, (double)first / 1e6, (double)last / 1e6);
	close(pfd);
	for (unsigned long i = 0; i < n; i++)
		if (conns[i].st != S_DONE)
			close(conns[i].fd);
	free(conns);
	close(ep);
	return good == n ? 0 : 1;
}
