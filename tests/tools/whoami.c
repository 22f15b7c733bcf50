/* whoami ADDR PORT: a tiny HTTP server, like icanhazip: answers every
 * request with the caller's source address. For the exit-node tests (the
 * "internet" host that shows which address a client comes from). One
 * connection at a time; requests are read up to a bound, then answered. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/addr.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	union sockaddr_any bind_addr;
	char ep[ADDR_ENDPOINT_STRLEN + 8];
	struct sigaction sa = { .sa_handler = on_signal };
	int fd, one = 1;

	if (argc != 3) {
		fprintf(stderr, "usage: whoami ADDR PORT\n");
		return 2;
	}
	snprintf(ep, sizeof(ep), strchr(argv[1], ':') ? "[%s]:%s" : "%s:%s", argv[1], argv[2]);
	if (addr_endpoint_parse(ep, &bind_addr)) {
		fprintf(stderr, "whoami: bad address %s\n", ep);
		return 2;
	}
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	fd = socket(bind_addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, &bind_addr.sa, addr_len(&bind_addr)) < 0 || listen(fd, 64) < 0) {
		fprintf(stderr, "whoami: %s: %s\n", ep, strerror(errno));
		return 1;
	}
	fprintf(stderr, "whoami: listening on %s\n", ep);
	while (!stop) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		union sockaddr_any peer;
		socklen_t pl = sizeof(peer);
		char req[4096], ip[INET6_ADDRSTRLEN], resp[512];
		size_t got = 0;
		int c, n;

		if (poll(&p, 1, 500) <= 0)
			continue;
		c = accept4(fd, &peer.sa, &pl, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* Read the request head (bounded, 2 s). */
		while (got < sizeof(req) - 1) {
			struct pollfd q = { .fd = c, .events = POLLIN };
			ssize_t r;

			if (poll(&q, 1, 2000) <= 0)
				break;
			r = recv(c, req + got, sizeof(req) - 1 - got, 0);
			if (r <= 0)
				break;
			got += (size_t)r;
			req[got] = 0;
			if (strstr(req, "\r\n\r\n"))
				break;
		}
		addr_unmap(&peer);
		if (peer.sa.sa_family == AF_INET)
			inet_ntop(AF_INET, &peer.in4.sin_addr, ip, sizeof(ip));
		else
			inet_ntop(AF_INET6, &peer.in6.sin6_addr, ip, sizeof(ip));
		n = snprintf(resp, sizeof(resp),
			     "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
			     "Connection: close\r\n\r\n%s\n",
			     strlen(ip) + 1, ip);
		if (send(c, resp, (size_t)n, MSG_NOSIGNAL) < 0)
			fprintf(stderr, "whoami: send: %s\n", strerror(errno));
		fprintf(stderr, "whoami: %s\n", ip);
		close(c);
	}
	close(fd);
	return 0;
}
