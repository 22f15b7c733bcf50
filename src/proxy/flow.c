/* A TCP flow (flow.h): lwIP's callbacks only record, the proxy thread
 * pumps in flow_poll_done(). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lwip/tcp.h"

#include "common/log.h"
#include "proxy/flow.h"

enum { FLOW_BUF_MAX_TX = 64 * 1024, FLOW_BUF_MAX_RX = 80 * 1024 };

static size_t buf_cap(const struct proxy *p, size_t most)
{
	return p->lim.flow_buffer < most ? p->lim.flow_buffer : most;
}

/* Room for n more bytes at the end of a linear buffer: moves the content
 * to the front when needed; allocates it the first time. */
static int buf_room(uint8_t **buf, size_t *off, size_t len, size_t *cap, size_t want_cap, size_t n)
{
	if (!*buf) {
		*buf = malloc(want_cap);
		if (!*buf)
			return -ENOMEM;
		*cap = want_cap;
		*off = 0;
	}
	if (len + n > *cap)
		return -ENOBUFS;
	if (*off + len + n > *cap) {
		memmove(*buf, *buf + *off, len);
		*off = 0;
	}
	return 0;
}

static err_t on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *pb, err_t err)
{
	struct flow *f = arg;

	if (!pb) {
		f->rx_fin = true;
		engine_kick(f->p);
		return ERR_OK;
	}
	if (err != ERR_OK) {
		pbuf_free(pb);
		return ERR_OK;
	}
	if (buf_room(&f->rx, &f->rx_off, f->rx_len, &f->rx_cap, buf_cap(f->p, FLOW_BUF_MAX_RX),
		     pb->tot_len) < 0)
		return ERR_MEM;      /* lwIP keeps it and offers it again */
	pbuf_copy_partial(pb, f->rx + f->rx_off + f->rx_len, pb->tot_len, 0);
	f->rx_len += pb->tot_len;
	f->last_ms = engine_now_ms();
	pbuf_free(pb);
	engine_kick(f->p);
	return ERR_OK;
}

static err_t on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
	struct flow *f = arg;

	f->last_ms = engine_now_ms();
	engine_kick(f->p);
	return ERR_OK;
}

/* lwIP freed the pcb. */
static void on_err(void *arg, err_t err)
{
	struct flow *f = arg;

	f->pcb = NULL;
	if (err == ERR_CLSD)
		f->lw_err = 0;                   /* closed both ways */
	else if (f->state == FLOW_DIAL_MESH)
		f->lw_err = err == ERR_RST ? -ECONNREFUSED : -ETIMEDOUT;
	else
		f->lw_err = err == ERR_RST ? -ECONNRESET : -ECONNABORTED;
	engine_kick(f->p);
}

static err_t on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
	struct flow *f = arg;

	f->lw_connected = true;
	engine_kick(f->p);
	return ERR_OK;
}

static void set_callbacks(struct flow *f, struct tcp_pcb *pcb)
{
	tcp_arg(pcb, f);
	tcp_recv(pcb, on_recv);
	tcp_sent(pcb, on_sent);
	tcp_err(pcb, on_err);
	tcp_nagle_disable(pcb);
}

static void detach(struct tcp_pcb *pcb)
{
	tcp_arg(pcb, NULL);
	tcp_recv(pcb, NULL);
	tcp_sent(pcb, NULL);
	tcp_err(pcb, NULL);
}

struct flow *flow_new(struct proxy *p, struct owner *o, int fd, enum flow_state st)
{
	struct flow *f = calloc(1, sizeof(*f));

	if (!f) {
		close(fd);
		engine_release(p, o);
		return NULL;
	}
	f->p = p;
	f->own = o;
	f->fd = fd;
	f->state = st;
	f->pidx = -1;
	f->last_ms = engine_now_ms();
	f->next = p->flows;
	if (p->flows)
		p->flows->prev = f;
	p->flows = f;
	return f;
}

void flow_attach(struct flow *f, struct tcp_pcb *pcb)
{
	f->pcb = pcb;
	f->state = FLOW_DIAL_HOST;
	f->deadline_ms = engine_now_ms() + ENGINE_CONNECT_TIMEOUT_MS;
	set_callbacks(f, pcb);
}

int flow_dial_mesh(struct flow *f, int family, const uint8_t *addr, uint16_t port)
{
	ip_addr_t src, dst;
	struct tcp_pcb *pcb;
	err_t err;
	int r = engine_self_ip(f->p, family, &src);

	if (r < 0)
		return r;
	engine_to_ip(family, addr, &dst);
	pcb = tcp_new_ip_type(family == AF_INET ? IPADDR_TYPE_V4 : IPADDR_TYPE_V6);
	if (!pcb)
		return -ENOMEM;
	if (tcp_bind(pcb, &src, 0) != ERR_OK) {
		tcp_close(pcb);
		return -EADDRNOTAVAIL;
	}
	set_callbacks(f, pcb);
	f->state = FLOW_DIAL_MESH;
	err = tcp_connect(pcb, &dst, port, on_connected);
	if (err != ERR_OK) {
		detach(pcb);
		tcp_abort(pcb);
		return err == ERR_RTE ? -ENETUNREACH : -ENOMEM;
	}
	f->pcb = pcb;
	f->deadline_ms = engine_now_ms() + ENGINE_CONNECT_TIMEOUT_MS;
	return 0;
}

int flow_queue_tx(struct flow *f, const uint8_t *buf, size_t len)
{
	int r;

	if (!len)
		return 0;
	r = buf_room(&f->tx, &f->tx_off, f->tx_len, &f->tx_cap, buf_cap(f->p, FLOW_BUF_MAX_TX), len);
	if (r < 0)
		return r;
	memcpy(f->tx + f->tx_off + f->tx_len, buf, len);
	f->tx_len += len;
	return 0;
}

void flow_kill(struct flow *f, bool rst)
{
	if (f->dead)
		return;
	f->dead = true;
	f->p->need_reap = true;
	if (f->pcb) {
		detach(f->pcb);
		if (rst || tcp_close(f->pcb) != ERR_OK)
			tcp_abort(f->pcb);
		f->pcb = NULL;
	}
	if (rst)
		engine_close_rst(f->fd);
}

void flow_poll_prepare(struct flow *f, struct pollvec *pv)
{
	short ev = 0;

	f->pidx = -1;
	if (f->dead)
		return;
	if (f->state == FLOW_DIAL_HOST) {
		ev = POLLOUT;
	} else if (f->state == FLOW_OPEN) {
		if (f->rx_len && f->host_wblocked)
			ev |= POLLOUT;
		if (f->pcb && !f->host_eof && !f->mesh_shut && tcp_sndbuf(f->pcb) > 0 &&
		    (!f->tx || f->tx_len < f->tx_cap))
			ev |= POLLIN;
	}
	if (ev)
		f->pidx = pollvec_add(pv, f->fd, ev);
}

static void recved(struct tcp_pcb *pcb, size_t n)
{
	while (n) {
		u16_t c = n > 0xffff ? 0xffff : (u16_t)n;

		tcp_recved(pcb, c);
		n -= c;
	}
}

/* mesh -> host: -1 when the flow died. */
static int pump_to_host(struct flow *f)
{
	while (f->rx_len && !f->host_wblocked) {
		ssize_t n = send(f->fd, f->rx + f->rx_off, f->rx_len, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				f->host_wblocked = true;
				break;
			}
			log_debug("proxy: flow fd %d: write: %s", f->fd, strerror(errno));
			flow_kill(f, true);
			return -1;
		}
		f->rx_off += (size_t)n;
		f->rx_len -= (size_t)n;
		if (f->pcb)
			recved(f->pcb, (size_t)n);
		f->last_ms = engine_now_ms();
	}
	if (!f->rx_len && (f->rx_fin || !f->pcb) && !f->host_shut) {
		shutdown(f->fd, SHUT_WR);
		f->host_shut = true;
	}
	return 0;
}

/* host -> mesh: one read, then as much as lwIP takes. -1 when it died. */
static int pump_to_mesh(struct flow *f, short re)
{
	bool wrote = false;

	if ((re & (POLLIN | POLLHUP | POLLERR)) && !f->host_eof &&
	    buf_room(&f->tx, &f->tx_off, f->tx_len, &f->tx_cap, buf_cap(f->p, FLOW_BUF_MAX_TX), 1) == 0) {
		size_t room = f->tx_cap - f->tx_off - f->tx_len;
		ssize_t n = recv(f->fd, f->tx + f->tx_off + f->tx_len, room, MSG_DONTWAIT);

		if (n > 0) {
			f->tx_len += (size_t)n;
			f->last_ms = engine_now_ms();
		} else if (n == 0) {
			f->host_eof = true;
		} else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			log_debug("proxy: flow fd %d: read: %s", f->fd, strerror(errno));
			flow_kill(f, true);
			return -1;
		}
	}
	while (f->tx_len) {
		size_t n = f->tx_len;
		err_t err;

		if (n > tcp_sndbuf(f->pcb))
			n = tcp_sndbuf(f->pcb);
		if (n > 0xffff)
			n = 0xffff;
		if (!n)
			break;
		err = tcp_write(f->pcb, f->tx + f->tx_off, (u16_t)n, TCP_WRITE_FLAG_COPY);
		if (err == ERR_MEM)
			break;          /* the segment queue is full: on_sent brings us back */
		if (err != ERR_OK) {
			flow_kill(f, true);
			return -1;
		}
		f->tx_off += n;
		f->tx_len -= n;
		wrote = true;
	}
	if (f->host_eof && !f->tx_len && !f->mesh_shut) {
		tcp_shutdown(f->pcb, 0, 1);
		f->mesh_shut = true;
	} else if (wrote) {
		tcp_output(f->pcb);
	}
	return 0;
}

/* The dial ended: 0, or the flow died. */
static int dial_done(struct flow *f, short re)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (f->state == FLOW_DIAL_HOST) {
		if (!f->pcb) {
			flow_kill(f, true);
			return -1;
		}
		if (!(re & (POLLOUT | POLLERR | POLLHUP)))
			return -1;
		if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			log_debug("proxy: ingress flow: host connect: %s", strerror(err));
			flow_kill(f, true);
			return -1;
		}
	} else {
		if (!f->pcb) {
			err = f->lw_err ? f->lw_err : -ECONNRESET;
			log_debug("proxy: flow fd %d: dial in the mesh: %s", f->fd, strerror(-err));
			/* SOCKS: its reply went out, let it reach the client */
			if (f->on_dialled)
				f->on_dialled(f, err);
			flow_kill(f, !f->on_dialled);
			return -1;
		}
		if (!f->lw_connected)
			return -1;
		if (f->on_dialled && f->on_dialled(f, 0) < 0) {
			flow_kill(f, true);
			return -1;
		}
	}
	f->state = FLOW_OPEN;
	f->deadline_ms = 0;
	f->last_ms = engine_now_ms();
	return 0;
}

void flow_poll_done(struct flow *f, const struct pollvec *pv)
{
	short re = f->pidx >= 0 ? pollvec_revents(pv, f->pidx) : 0;

	f->pidx = -1;
	if (f->dead || f->state == FLOW_HANDSHAKE || f->state == FLOW_RESOLVING)
		return;
	if (f->state != FLOW_OPEN && dial_done(f, re) < 0)
		return;
	if (!f->pcb && f->lw_err) {
		log_debug("proxy: flow fd %d: reset from the mesh", f->fd);
		flow_kill(f, true);
		return;
	}
	if (re & POLLERR) {
		flow_kill(f, true);
		return;
	}
	if (re & POLLOUT)
		f->host_wblocked = false;
	if (pump_to_host(f) < 0)
		return;
	if (f->pcb && !f->mesh_shut && pump_to_mesh(f, re) < 0)
		return;
	if (f->host_shut && (f->mesh_shut || !f->pcb))
		flow_kill(f, false);
}

void flow_timers(struct flow *f, uint64_t now)
{
	if (f->dead)
		return;
	if (f->deadline_ms && now >= f->deadline_ms) {
		log_debug("proxy: flow fd %d: timed out (state %d)", f->fd, (int)f->state);
		if (f->on_dialled && (f->state == FLOW_DIAL_MESH || f->state == FLOW_RESOLVING)) {
			f->on_dialled(f, -ETIMEDOUT);
			flow_kill(f, false);
			return;
		}
		flow_kill(f, true);
		return;
	}
	if (f->state == FLOW_OPEN && now - f->last_ms >= (uint64_t)f->p->lim.tcp_idle_s * 1000u) {
		log_debug("proxy: flow fd %d: idle for %us, reset", f->fd, f->p->lim.tcp_idle_s);
		flow_kill(f, true);
	}
}

void flow_reap(struct proxy *p)
{
	struct flow *f = p->flows, *next;

	for (; f; f = next) {
		next = f->next;
		if (!f->dead)
			continue;
		if (f->prev)
			f->prev->next = f->next;
		else
			p->flows = f->next;
		if (f->next)
			f->next->prev = f->prev;
		engine_release(p, f->own);
		close(f->fd);
		if (f->ext_free)
			f->ext_free(f->ext);
		free(f->rx);
		free(f->tx);
		free(f);
	}
}
