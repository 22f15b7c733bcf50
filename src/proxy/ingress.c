/* Ingress rules (ingress.h): lwIP listens on PORT at any address of ours;
 * each connection or UDP peer is re-dialled from a host socket to DEST. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lwip/tcp.h"
#include "lwip/udp.h"

#include "common/log.h"
#include "proxy/flow.h"
#include "proxy/ingress.h"
#include "proxy/udpassoc.h"

static struct log_ratelimit warn_rl = LOG_RATELIMIT_INIT(1, 5);

static void dest_sockaddr(const struct proxy_rule *r, union sockaddr_any *out)
{
	memset(out, 0, sizeof(*out));
	if (r->family == AF_INET) {
		out->in4.sin_family = AF_INET;
		memcpy(&out->in4.sin_addr, r->dest, 4);
		out->in4.sin_port = htons(r->dest_port);
	} else {
		out->in6.sin6_family = AF_INET6;
		memcpy(&out->in6.sin6_addr, r->dest, 16);
		out->in6.sin6_port = htons(r->dest_port);
	}
}

/* A connection from the mesh: dial DEST from the host. A non-ERR_OK return
 * makes lwIP reset it. */
static err_t on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct prule *r = arg;
	struct proxy *p;
	union sockaddr_any dst;
	struct flow *f;
	int fd;

	if (err != ERR_OK || !pcb || !r)
		return ERR_VAL;
	p = r->p;
	if (!engine_admit(p, &r->own))
		return ERR_MEM;
	dest_sockaddr(&r->rule, &dst);
	fd = socket(r->rule.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || (connect(fd, &dst.sa, addr_len(&dst)) < 0 && errno != EINPROGRESS)) {
		if (log_ratelimit_ok(&warn_rl))
			log_warn("proxy: ingress %s: connect: %s", r->text, strerror(errno));
		if (fd >= 0)
			close(fd);
		engine_release(p, &r->own);
		r->own.refused++;
		return ERR_CONN;
	}
	f = flow_new(p, &r->own, fd, FLOW_DIAL_HOST);
	if (!f)
		return ERR_MEM;
	flow_attach(f, pcb);
	log_debug("proxy: ingress %s: connection (%u open)", r->text, r->own.flows);
	engine_kick(p);
	return ERR_OK;
}

static void on_datagram(void *arg, struct udp_pcb *pcb, struct pbuf *pb, const ip_addr_t *ip, u16_t port)
{
	struct prule *r = arg;
	struct proxy *p = r->p;
	struct udpassoc *a = udpassoc_ingress(p, r, ip, port);
	u16_t n = pb->tot_len;

	if (!a) {
		p->dropped++;
		pbuf_free(pb);
		return;
	}
	pbuf_copy_partial(pb, p->scratch, n, 0);
	pbuf_free(pb);
	udpassoc_send_host(a, p->scratch, n);
	engine_kick(p);
}

int ingress_listen(struct proxy *p, struct prule *r, char *why, size_t why_len)
{
	if (r->rule.proto == IPPROTO_TCP) {
		struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_ANY), *l;

		if (!pcb)
			goto err_nomem;
		ip_set_option(pcb, SOF_REUSEADDR);
		if (tcp_bind(pcb, IP_ANY_TYPE, r->rule.port) != ERR_OK) {
			tcp_close(pcb);
			snprintf(why, why_len, "ingress %s: port %u is taken in the userspace stack", r->text,
				 r->rule.port);
			return -EADDRINUSE;
		}
		l = tcp_listen_with_backlog(pcb, 64);
		if (!l) {
			tcp_close(pcb);
			goto err_nomem;
		}
		tcp_arg(l, r);
		tcp_accept(l, on_accept);
		r->tl = l;
	} else {
		struct udp_pcb *pcb = udp_new_ip_type(IPADDR_TYPE_ANY);

		if (!pcb)
			goto err_nomem;
		if (udp_bind(pcb, IP_ANY_TYPE, r->rule.port) != ERR_OK) {
			udp_remove(pcb);
			snprintf(why, why_len, "ingress %s: port %u is taken in the userspace stack", r->text,
				 r->rule.port);
			return -EADDRINUSE;
		}
		udp_recv(pcb, on_datagram, r);
		r->ul = pcb;
	}
	return 0;
err_nomem:
	snprintf(why, why_len, "ingress %s: out of memory", r->text);
	return -ENOMEM;
}

void ingress_close(struct prule *r)
{
	if (r->tl) {
		tcp_arg(r->tl, NULL);
		tcp_accept(r->tl, NULL);
		tcp_close(r->tl);
		r->tl = NULL;
	}
	if (r->ul) {
		udp_remove(r->ul);
		r->ul = NULL;
	}
}
