/* The SOCKS5 listener and each client's handshake (socks.h). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lwip/tcp.h"

#include "common/log.h"
#include "proxy/flow.h"
#include "proxy/resolve.h"
#include "proxy/socks.h"
#include "proxy/socks5.h"

enum { SOCKS_READ = 1024 };

struct socks_listener {
	int fd;
	int pidx, ridx;
	struct socks5_config cfg;
	char *user, *pass;
};

/* A client up to its CONNECT (the flow's ext). */
struct socks_hs {
	struct socks5 s;
	struct resolve_job *job;
	uint16_t port;
};

static void hs_free(void *ext)
{
	struct socks_hs *hs = ext;

	if (hs->job)
		resolver_cancel(hs->job);
	socks5_clear(&hs->s);
	free(hs);
}

static void reply(struct flow *f, uint8_t rep, const struct sockaddr *bound)
{
	uint8_t out[SOCKS5_REPLY_MAX];
	size_t n = socks5_reply(rep, bound, out, sizeof(out));

	if (n && send(f->fd, out, n, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)n)
		log_debug("proxy: socks: reply not sent");
}

static uint8_t rep_of(int err)
{
	if (err == -EACCES)
		return SOCKS5_REP_NOT_ALLOWED;
	return socks5_rep_from_errno(err);
}

static int on_dialled(struct flow *f, int err)
{
	union sockaddr_any bound;

	if (err < 0) {
		reply(f, rep_of(err), NULL);
		return err;
	}
	engine_to_sockaddr(&f->pcb->local_ip, f->pcb->local_port, &bound);
	reply(f, SOCKS5_REP_SUCCEEDED, &bound.sa);
	log_debug("proxy: socks: connected (%u open)", f->own->flows);
	return 0;
}

/* Dial the destination, or reply why not and close. */
static void dial(struct flow *f, int family, const uint8_t *addr, uint16_t port)
{
	int err = engine_dest_check(f->p, family, addr);

	if (!err)
		err = flow_dial_mesh(f, family, addr, port);
	if (err < 0) {
		log_debug("proxy: socks: refused: %s", strerror(-err));
		f->own->refused++;
		reply(f, rep_of(err), NULL);
		flow_kill(f, false);
	}
}

static void request(struct flow *f)
{
	struct socks_hs *hs = f->ext;
	const struct socks5_request *req = socks5_request(&hs->s);
	int err;

	f->on_dialled = on_dialled;
	if (req->atyp == SOCKS5_ATYP_DOMAIN) {
		err = resolver_start(f->p->resolver, req->domain, f, &hs->job);
		if (err < 0) {
			log_debug("proxy: socks: resolve %s: %s", req->domain, strerror(-err));
			reply(f, SOCKS5_REP_GENERAL_FAILURE, NULL);
			flow_kill(f, false);
			return;
		}
		hs->port = req->port;
		f->state = FLOW_RESOLVING;
		f->deadline_ms = engine_now_ms() + ENGINE_CONNECT_TIMEOUT_MS;
		return;
	}
	dial(f, req->atyp == SOCKS5_ATYP_IPV4 ? AF_INET : AF_INET6, req->addr, req->port);
}

void socks_flow_prepare(struct flow *f, struct pollvec *pv)
{
	f->pidx = f->dead ? -1 : pollvec_add(pv, f->fd, POLLIN);
}

void socks_flow_done(struct flow *f, const struct pollvec *pv)
{
	struct socks_hs *hs = f->ext;
	short re = f->pidx >= 0 ? pollvec_revents(pv, f->pidx) : 0;
	uint8_t in[SOCKS_READ], out[SOCKS5_FEED_OUT_MAX];
	size_t off = 0;
	ssize_t n;

	f->pidx = -1;
	if (f->dead || !(re & (POLLIN | POLLHUP | POLLERR)))
		return;
	n = recv(f->fd, in, sizeof(in), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		flow_kill(f, n < 0);
		return;
	}
	while (off < (size_t)n) {
		size_t used = 0, out_len = 0;
		int res = socks5_feed(&hs->s, in + off, (size_t)n - off, &used, out, sizeof(out), &out_len);

		if (out_len && send(f->fd, out, out_len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)out_len)
			res = SOCKS5_CLOSE;
		off += used;
		if (res == SOCKS5_REQUEST) {
			/* bytes after the request: the stream's first data */
			if (flow_queue_tx(f, in + off, (size_t)n - off) < 0) {
				flow_kill(f, true);
				return;
			}
			request(f);
			return;
		}
		if (res != SOCKS5_NEED_MORE) {
			flow_kill(f, false);
			return;
		}
		if (!used)
			break;
	}
}

static void accept_clients(struct proxy *p, struct socks_listener *l)
{
	for (int i = 0; i < ENGINE_READ_BURST; i++) {
		int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct socks_hs *hs;
		struct flow *f;

		if (fd < 0)
			return;
		if (!engine_admit(p, &p->socks_own)) {
			close(fd);
			continue;
		}
		hs = calloc(1, sizeof(*hs));
		if (!hs || socks5_init(&hs->s, &l->cfg) < 0) {
			free(hs);
			close(fd);
			engine_release(p, &p->socks_own);
			continue;
		}
		f = flow_new(p, &p->socks_own, fd, FLOW_HANDSHAKE);
		if (!f) {
			hs_free(hs);
			continue;
		}
		f->ext = hs;
		f->ext_free = hs_free;
		f->deadline_ms = engine_now_ms() + ENGINE_HANDSHAKE_TIMEOUT_MS;
		log_debug("proxy: socks: client (%u open)", p->socks_own.flows);
	}
}

/* The first address we may dial, or why none. */
static void resolved(struct flow *f, struct resolve_job *j)
{
	struct socks_hs *hs = f->ext;
	int err = j->err ? j->err : -EHOSTUNREACH;

	hs->job = NULL;
	for (size_t i = 0; !j->err && i < j->n; i++) {
		const union sockaddr_any *a = &j->addrs[i];
		int fam = a->sa.sa_family;
		const uint8_t *ip = fam == AF_INET ? (const uint8_t *)&a->in4.sin_addr
						   : (const uint8_t *)&a->in6.sin6_addr;
		int e = engine_dest_check(f->p, fam, ip);

		if (!e) {
			dial(f, fam, ip, hs->port);
			return;
		}
		if (err != -EACCES)
			err = e;
	}
	log_debug("proxy: socks: %s: %s", j->name, strerror(-err));
	f->own->refused++;
	reply(f, rep_of(err), NULL);
	flow_kill(f, false);
}

void socks_poll_prepare(struct proxy *p, struct pollvec *pv)
{
	struct socks_listener *l = p->socks;

	l->pidx = pollvec_add(pv, l->fd, POLLIN);
	l->ridx = pollvec_add(pv, resolver_fd(p->resolver), POLLIN);
}

void socks_poll_done(struct proxy *p, const struct pollvec *pv)
{
	struct socks_listener *l = p->socks;
	struct resolve_job *j;

	if (pollvec_revents(pv, l->pidx) & POLLIN)
		accept_clients(p, l);
	if (!(pollvec_revents(pv, l->ridx) & POLLIN))
		return;
	while ((j = resolver_take(p->resolver))) {
		struct flow *f = j->cookie;

		if (f && !f->dead && f->state == FLOW_RESOLVING)
			resolved(f, j);
		resolver_job_free(j);
	}
}

int socks_open(struct proxy *p, const struct proxy_config *c, char *err, size_t errlen)
{
	struct socks_listener *l = calloc(1, sizeof(*l));
	union sockaddr_any sa = { 0 };
	char text[ADDR_ENDPOINT_STRLEN];
	int one = 1, r;

	if (!l)
		return -ENOMEM;
	memcpy(&sa, &c->socks, c->socks_len < sizeof(sa) ? c->socks_len : sizeof(sa));
	addr_endpoint_format(&sa, text);
	if (c->socks_user && c->socks_password) {
		l->user = strdup(c->socks_user);
		l->pass = strdup(c->socks_password);
		if (!l->user || !l->pass) {
			r = -ENOMEM;
			goto err_free;
		}
		l->cfg = (struct socks5_config){ .auth_required = true, .username = l->user, .password = l->pass };
		if (strlen(l->user) > SOCKS5_CRED_MAX ||
		    strlen(l->pass) > SOCKS5_CRED_MAX || !*l->user || !*l->pass) {
			snprintf(err, errlen, "--socks5 %s: user and password must be 1 to 255 bytes", text);
			r = -EINVAL;
			goto err_free;
		}
	}
	l->fd = socket(sa.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		r = -errno;
		snprintf(err, errlen, "--socks5 %s: %s", text, strerror(-r));
		goto err_free;
	}
	setsockopt(l->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l->fd, &sa.sa, addr_len(&sa)) < 0 || listen(l->fd, 128) < 0) {
		r = -errno;
		snprintf(err, errlen, "--socks5 %s: %s", text,
			 r == -EADDRINUSE ? "address in use" : strerror(-r));
		goto err_close;
	}
	p->socks = l;
	log_info("proxy: SOCKS5 listening on %s%s", text, l->cfg.auth_required ? " (username/password)" : "");
	return 0;
err_close:
	close(l->fd);
err_free:
	if (l->pass)
		memset(l->pass, 0, strlen(l->pass));
	free(l->user);
	free(l->pass);
	free(l);
	return r;
}

void socks_close(struct proxy *p)
{
	struct socks_listener *l = p->socks;

	if (!l)
		return;
	close(l->fd);
	if (l->pass)
		memset(l->pass, 0, strlen(l->pass));
	free(l->user);
	free(l->pass);
	free(l);
	p->socks = NULL;
}
