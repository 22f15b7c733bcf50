/* A TCP flow: a host socket and an lwIP connection piped both ways.
 *
 *   mesh -> host: lwIP's segments are copied into a buffer of at most
 *     flow_buffer bytes (80 KiB most: more than the TCP window) and written
 *     to the host socket; tcp_recved() only for bytes written, so the TCP
 *     window (64 KiB) throttles the mesh sender. A segment that does not fit
 *     is refused (ERR_MEM) and lwIP offers it again later.
 *   host -> mesh: the host socket is read only while lwIP can take more
 *     (tcp_sndbuf), into a buffer of at most flow_buffer bytes (64 KiB
 *     most) that tcp_write() empties.
 *
 * Half-closes are passed on (FIN <-> shutdown(SHUT_WR)); an error on one
 * side resets the other; idle flows are reset both ways. Dead flows are
 * freed by flow_reap() in the proxy thread. */
#ifndef PROXY_FLOW_H
#define PROXY_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/engine.h"

struct tcp_pcb;

enum flow_state {
	FLOW_HANDSHAKE,          /* SOCKS: reading the client's request (socks.c) */
	FLOW_RESOLVING,          /* SOCKS: a name being resolved */
	FLOW_DIAL_HOST,          /* ingress: the host socket connecting */
	FLOW_DIAL_MESH,          /* egress, SOCKS: tcp_connect in lwIP */
	FLOW_OPEN,
};

struct flow {
	struct proxy *p;
	struct owner *own;
	enum flow_state state;
	int fd;                  /* the host socket */
	struct tcp_pcb *pcb;     /* NULL once lwIP's side is gone */
	int pidx;                /* this round's pollvec index, -1 none */
	uint64_t last_ms;        /* data either way */
	uint64_t deadline_ms;    /* of a dial or handshake, 0 none */
	bool dead;

	uint8_t *rx;             /* mesh -> host, not yet written (nor tcp_recved) */
	size_t rx_off, rx_len, rx_cap;
	bool rx_fin;             /* FIN from the mesh */
	bool host_shut;          /* shutdown(SHUT_WR) done */
	bool host_wblocked;      /* the host socket said EAGAIN */
	uint8_t *tx;             /* host -> mesh, not yet taken by tcp_write */
	size_t tx_off, tx_len, tx_cap;
	bool host_eof;
	bool mesh_shut;          /* FIN sent into the mesh */
	int lw_err;              /* lwIP's error (negative errno) once gone */
	bool lw_connected;

	/* SOCKS: called when the dial in lwIP ends (0 or a negative errno);
	 * a negative return kills the flow. ext freed by ext_free. */
	int (*on_dialled)(struct flow *f, int err);
	void *ext;
	void (*ext_free)(void *ext);

	struct flow *next, *prev;
};

/* A flow around a host socket (owned from here on, closed on failure),
 * already admitted for o; linked into p->flows. NULL on ENOMEM. */
struct flow *flow_new(struct proxy *p, struct owner *o, int fd, enum flow_state st);

/* Takes an accepted lwIP connection (ingress); FLOW_DIAL_HOST. */
void flow_attach(struct flow *f, struct tcp_pcb *pcb);

/* Dials DEST in lwIP from our tunnel address (egress, SOCKS): 0 or -errno. */
int flow_dial_mesh(struct flow *f, int family, const uint8_t *addr, uint16_t port);

/* Data to send into the mesh once open (SOCKS early data): 0 or -ENOBUFS. */
int flow_queue_tx(struct flow *f, const uint8_t *buf, size_t len);

void flow_poll_prepare(struct flow *f, struct pollvec *pv);
void flow_poll_done(struct flow *f, const struct pollvec *pv);

/* Deadlines and idleness. */
void flow_timers(struct flow *f, uint64_t now);

/* Ends the flow: rst resets both sides, else a graceful close. */
void flow_kill(struct flow *f, bool rst);

/* Frees the dead flows (proxy thread, outside any walk of the list). */
void flow_reap(struct proxy *p);

#endif
