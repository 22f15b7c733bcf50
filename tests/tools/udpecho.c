/* udpecho: UDP both ways for the proxy tests.
 *
 *   udpecho serve ADDR PORT        answers each datagram with "FROM TEXT"
 *                                  (FROM = the sender's address, no port)
 *   udpecho send ADDR PORT TEXT    sends TEXT, prints the answer; exit 1
 *                                  when none comes within 3 s (resent
 *                                  every 500 ms) */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/addr.h"

static int endpoint(const char *ip, const char *port, union sockaddr_any *out)
{
	char ep[ADDR_ENDPOINT_STRLEN + 8];

	if (strchr(ip, ':'))
		snprintf(ep, sizeof(ep), "[%s]:%s", ip, port);
	else
		snprintf(ep, sizeof(ep), "%s:%s", ip, port);
	return addr_endpoint_parse(ep, out);
}

static socklen_t len_of(const union sockaddr_any *a)
{
	return a->sa.sa_family == AF_INET ? sizeof(a->in4) : sizeof(a->in6);
}

static int serve(const union sockaddr_any *at)
{
	int fd = socket(at->sa.sa_family, SOCK_DGRAM, 0);
	char buf[2048], out[2200];

	if (fd < 0 || bind(fd, &at->sa, len_of(at)) < 0) {
		perror("udpecho: bind");
		return 1;
	}
	for (;;) {
		union sockaddr_any from;
		socklen_t fl = sizeof(from);
		char ip[INET6_ADDRSTRLEN] = "?";
		ssize_t n = recvfrom(fd, buf, sizeof(buf) - 1, 0, &from.sa, &fl);
		int m;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			perror("udpecho: recvfrom");
			return 1;
		}
		buf[n] = 0;
		inet_ntop(from.sa.sa_family, from.sa.sa_family == AF_INET ? (void *)&from.in4.sin_addr
									  : (void *)&from.in6.sin6_addr, ip, sizeof(ip));
		m = snprintf(out, sizeof(out), "%s %s", ip, buf);
		(void)sendto(fd, out, (size_t)m, 0, &from.sa, fl);
	}
}

static int send_one(const union sockaddr_any *to, const char *text)
{
	int fd = socket(to->sa.sa_family, SOCK_DGRAM, 0);
	char buf[2300];

	if (fd < 0 || connect(fd, &to->sa, len_of(to)) < 0) {
		perror("udpecho: connect");
		return 1;
	}
	for (int i = 0; i < 6; i++) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		(void)send(fd, text, strlen(text), 0);
		if (poll(&p, 1, 500) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			continue;
		buf[n] = 0;
		printf("%s\n", buf);
		return 0;
	}
	fprintf(stderr, "udpecho: no answer from the server in 3 s\n");
	return 1;
}

int main(int argc, char **argv)
{
	union sockaddr_any a;

	signal(SIGPIPE, SIG_IGN);
	if (argc >= 4 && endpoint(argv[2], argv[3], &a) == 0) {
		if (!strcmp(argv[1], "serve") && argc == 4)
			return serve(&a);
		if (!strcmp(argv[1], "send") && argc == 5)
			return send_one(&a, argv[4]);
	}
	fprintf(stderr, "usage: udpecho serve ADDR PORT | udpecho send ADDR PORT TEXT\n");
	return 2;
}
