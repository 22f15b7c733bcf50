/* Egress rules (egress.h): a host listener on 127.0.0.1:PORT; each
 * connection or client is dialled in lwIP to DEST through the mesh. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "proxy/egress.h"
#include "proxy/flow.h"
#include "proxy/udpassoc.h"

int egress_listen(struct prule *r, char *why, size_t why_len)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(r->rule.port) };
	int tcp = r->rule.proto == IPPROTO_TCP, one = 1, err;
	int fd = socket(AF_INET, (tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0) {
		err = -errno;
		goto err_msg;
	}
	if (tcp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0) {
		err = -errno;
		goto err_close;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || (tcp && listen(fd, 128) < 0)) {
		err = -errno;
		goto err_close;
	}
	r->fd = fd;
	return 0;
err_close:
	close(fd);
err_msg:
	if (err == -EADDRINUSE)
		snprintf(why, why_len, "egress %s: 127.0.0.1:%u is in use", r->text, r->rule.port);
	else
		snprintf(why, why_len, "egress %s: 127.0.0.1:%u: %s", r->text, r->rule.port, strerror(-err));
	return err;
}

void egress_poll_prepare(struct prule *r, struct pollvec *pv)
{
	r->pidx = r->fd >= 0 ? pollvec_add(pv, r->fd, POLLIN) : -1;
}

static void accept_one(struct proxy *p, struct prule *r, int fd)
{
	struct flow *f;
	int err = engine_dest_check(p, r->rule.family, r->rule.dest);

	if (err < 0) {
		static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 3);

		if (log_ratelimit_ok(&rl))
			log_warn("proxy: egress %s: connection closed: %s", r->text,
				 err == -ENETUNREACH ? "no tunnel address yet" : "destination outside the mesh");
		r->own.refused++;
		close(fd);
		return;
	}
	if (!engine_admit(p, &r->own)) {
		close(fd);
		return;
	}
	f = flow_new(p, &r->own, fd, FLOW_DIAL_MESH);
	if (!f)
		return;
	err = flow_dial_mesh(f, r->rule.family, r->rule.dest, r->rule.dest_port);
	if (err < 0) {
		log_debug("proxy: egress %s: dial: %s", r->text, strerror(-err));
		r->own.refused++;
		flow_kill(f, true);
		return;
	}
	log_debug("proxy: egress %s: connection (%u open)", r->text, r->own.flows);
}

static void datagrams(struct proxy *p, struct prule *r)
{
	for (int i = 0; i < ENGINE_READ_BURST; i++) {
		union sockaddr_any from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(r->fd, p->scratch, ENGINE_UDP_MAX, MSG_DONTWAIT, &from.sa, &fl);
		struct udpassoc *a;

		if (n < 0)
			break;
		a = udpassoc_egress(p, r, &from);
		if (!a) {
			p->dropped++;
			continue;
		}
		udpassoc_send_mesh(a, p->scratch, (size_t)n);
	}
}

void egress_poll_done(struct proxy *p, struct prule *r, const struct pollvec *pv)
{
	short re = r->pidx >= 0 ? pollvec_revents(pv, r->pidx) : 0;

	r->pidx = -1;
	if (!(re & POLLIN))
		return;
	if (r->rule.proto == IPPROTO_UDP) {
		datagrams(p, r);
		return;
	}
	for (int i = 0; i < ENGINE_READ_BURST; i++) {
		int fd = accept4(r->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			break;
		accept_one(p, r, fd);
	}
}

void egress_close(struct prule *r)
{
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
}
