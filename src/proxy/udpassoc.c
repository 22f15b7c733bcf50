/* UDP associations (udpassoc.h). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lwip/udp.h"

#include "common/log.h"
#include "proxy/udpassoc.h"

static struct log_ratelimit warn_rl = LOG_RATELIMIT_INIT(1, 5);

static struct udpassoc *assoc_new(struct proxy *p, struct prule *r)
{
	struct udpassoc *a;

	if (!engine_admit(p, &r->own))
		return NULL;
	a = calloc(1, sizeof(*a));
	if (!a) {
		engine_release(p, &r->own);
		return NULL;
	}
	a->p = p;
	a->rule = r;
	a->fd = -1;
	a->pidx = -1;
	a->last_ms = engine_now_ms();
	return a;
}

static void assoc_link(struct proxy *p, struct udpassoc *a)
{
	a->next = p->assocs;
	if (p->assocs)
		p->assocs->prev = a;
	p->assocs = a;
}

static void assoc_free(struct proxy *p, struct udpassoc *a)
{
	engine_release(p, &a->rule->own);
	free(a);
}

struct udpassoc *udpassoc_ingress(struct proxy *p, struct prule *r, const ip_addr_t *ip, uint16_t port)
{
	union sockaddr_any dst = { 0 };
	struct udpassoc *a;
	int fam = r->rule.family;

	for (a = p->assocs; a; a = a->next)
		if (!a->dead && a->rule == r && a->peer_port == port && ip_addr_cmp(&a->peer_ip, ip))
			return a;
	a = assoc_new(p, r);
	if (!a)
		return NULL;
	a->pcb = r->ul;
	ip_addr_copy(a->peer_ip, *ip);
	a->peer_port = port;
	if (fam == AF_INET) {
		dst.in4.sin_family = AF_INET;
		memcpy(&dst.in4.sin_addr, r->rule.dest, 4);
		dst.in4.sin_port = htons(r->rule.dest_port);
	} else {
		dst.in6.sin6_family = AF_INET6;
		memcpy(&dst.in6.sin6_addr, r->rule.dest, 16);
		dst.in6.sin6_port = htons(r->rule.dest_port);
	}
	a->fd = socket(fam, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (a->fd < 0 || connect(a->fd, &dst.sa, addr_len(&dst)) < 0) {
		if (log_ratelimit_ok(&warn_rl))
			log_warn("proxy: ingress %s: host socket: %s", r->text, strerror(errno));
		if (a->fd >= 0)
			close(a->fd);
		r->own.refused++;
		assoc_free(p, a);
		return NULL;
	}
	assoc_link(p, a);
	log_debug("proxy: ingress %s: new association (%u open)", r->text, r->own.flows);
	return a;
}

static void on_mesh_reply(void *arg, struct udp_pcb *pcb, struct pbuf *pb, const ip_addr_t *ip, u16_t port)
{
	struct udpassoc *a = arg;
	uint8_t *buf = a->p->scratch;
	u16_t n = pb->tot_len;

	pbuf_copy_partial(pb, buf, n, 0);
	pbuf_free(pb);
	if (a->dead)
		return;
	a->last_ms = engine_now_ms();
	if (sendto(a->fd, buf, n, MSG_DONTWAIT | MSG_NOSIGNAL, &a->client.sa, addr_len(&a->client)) < 0)
		a->p->dropped++;
}

struct udpassoc *udpassoc_egress(struct proxy *p, struct prule *r, const union sockaddr_any *client)
{
	ip_addr_t src, dst;
	struct udpassoc *a;
	int fam = r->rule.family;

	for (a = p->assocs; a; a = a->next)
		if (!a->dead && a->rule == r && addr_endpoint_equal(&a->client, client))
			return a;
	if (engine_dest_check(p, fam, r->rule.dest) < 0 || engine_self_ip(p, fam, &src) < 0) {
		r->own.refused++;
		return NULL;
	}
	a = assoc_new(p, r);
	if (!a)
		return NULL;
	a->egress = true;
	a->fd = r->fd;
	a->client = *client;
	engine_to_ip(fam, r->rule.dest, &dst);
	a->pcb = udp_new_ip_type(fam == AF_INET ? IPADDR_TYPE_V4 : IPADDR_TYPE_V6);
	if (!a->pcb || udp_bind(a->pcb, &src, 0) != ERR_OK ||
	    udp_connect(a->pcb, &dst, r->rule.dest_port) != ERR_OK) {
		if (a->pcb)
			udp_remove(a->pcb);
		r->own.refused++;
		assoc_free(p, a);
		return NULL;
	}
	udp_recv(a->pcb, on_mesh_reply, a);
	assoc_link(p, a);
	log_debug("proxy: egress %s: new association (%u open)", r->text, r->own.flows);
	return a;
}

void udpassoc_send_host(struct udpassoc *a, const uint8_t *buf, size_t len)
{
	a->last_ms = engine_now_ms();
	if (send(a->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		a->p->dropped++;
}

static void send_pcb(struct udpassoc *a, const uint8_t *buf, size_t len)
{
	struct pbuf *pb;
	err_t err;

	if (len > ENGINE_UDP_MAX - 48) {
		a->p->dropped++;
		return;
	}
	pb = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
	if (!pb) {
		a->p->dropped++;
		return;
	}
	pbuf_take(pb, buf, (u16_t)len);
	if (a->egress)
		err = udp_send(a->pcb, pb);
	else
		err = udp_sendto(a->pcb, pb, &a->peer_ip, a->peer_port);
	if (err != ERR_OK)
		a->p->dropped++;
	pbuf_free(pb);
}

void udpassoc_send_mesh(struct udpassoc *a, const uint8_t *buf, size_t len)
{
	a->last_ms = engine_now_ms();
	send_pcb(a, buf, len);
}

void udpassoc_poll_prepare(struct udpassoc *a, struct pollvec *pv)
{
	a->pidx = -1;
	if (!a->dead && !a->egress)
		a->pidx = pollvec_add(pv, a->fd, POLLIN);
}

/* Ingress: replies from DEST go back to the mesh peer. */
void udpassoc_poll_done(struct udpassoc *a, const struct pollvec *pv)
{
	short re = a->pidx >= 0 ? pollvec_revents(pv, a->pidx) : 0;

	a->pidx = -1;
	if (a->dead || !(re & (POLLIN | POLLERR)))
		return;
	for (int i = 0; i < ENGINE_READ_BURST; i++) {
		ssize_t n = recv(a->fd, a->p->scratch, ENGINE_UDP_MAX, MSG_DONTWAIT);

		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_debug("proxy: ingress %s: host socket: %s", a->rule->text, strerror(errno));
			break;
		}
		a->last_ms = engine_now_ms();
		send_pcb(a, a->p->scratch, (size_t)n);
	}
}

void udpassoc_timers(struct udpassoc *a, uint64_t now)
{
	if (!a->dead && now - a->last_ms >= (uint64_t)a->p->lim.udp_idle_s * 1000u) {
		log_debug("proxy: %s: association idle for %us, closed", a->rule->text, a->p->lim.udp_idle_s);
		udpassoc_kill(a);
	}
}

void udpassoc_kill(struct udpassoc *a)
{
	if (a->dead)
		return;
	a->dead = true;
	a->p->need_reap = true;
	if (a->egress) {
		udp_remove(a->pcb);
		a->pcb = NULL;
	}
}

void udpassoc_reap(struct proxy *p)
{
	struct udpassoc *a = p->assocs, *next;

	for (; a; a = next) {
		next = a->next;
		if (!a->dead)
			continue;
		if (a->prev)
			a->prev->next = a->next;
		else
			p->assocs = a->next;
		if (a->next)
			a->next->prev = a->prev;
		if (!a->egress)
			close(a->fd);
		assoc_free(p, a);
	}
}
