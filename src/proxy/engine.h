/* The proxy engine's shared state (struct proxy's body) and its lowest
 * helpers: the clock, the wake-up of the proxy thread from lwIP's thread,
 * the flow limits, the destination policy. Internal to src/proxy.
 *
 * Locking: the proxy thread holds lwIP's core lock for its whole round and
 * lets it go only inside poll(). lwIP's callbacks run with that lock held,
 * in the proxy thread (input fed by it) or in lwIP's thread (timers,
 * loopback); so everything below is touched by one thread at a time. A
 * callback in lwIP's thread calls engine_kick() so that the proxy thread
 * looks again (new flows, new data, errors). Flows are never freed inside a
 * callback: they are marked dead and reaped by the proxy thread. */
#ifndef PROXY_ENGINE_H
#define PROXY_ENGINE_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "lwip/ip_addr.h"
#include "lwip/netif.h"

#include "common/addr.h"
#include "proxy/pollvec.h"
#include "proxy/proxy.h"
#include "proxy/rule.h"

struct flow;
struct udpassoc;
struct exitsrv;
struct resolver;
struct socks_listener;

enum {
	ENGINE_CONNECT_TIMEOUT_MS = 10000,   /* a dial through lwIP or from the host */
	ENGINE_HANDSHAKE_TIMEOUT_MS = 30000, /* a SOCKS client up to its request */
	ENGINE_READ_BURST = 64,              /* packets or datagrams read per round */
	ENGINE_UDP_MAX = 65535,
};

/* What flows count against: a rule, or the SOCKS listener. */
struct owner {
	unsigned flows;
	unsigned limit;
	uint64_t total, refused;
};

/* A rule and its listener: an lwIP pcb (ingress) or a host socket (egress). */
struct prule {
	struct proxy *p;
	struct proxy_rule rule;
	char text[PROXY_RULE_STRLEN];
	struct owner own;
	struct tcp_pcb *tl;          /* ingress tcp: lwIP listener */
	struct udp_pcb *ul;          /* ingress udp: lwIP pcb on PORT */
	int fd;                      /* egress: host listener, else -1 */
	int pidx;
	struct prule *next;
};

struct proxy {
	struct proxy_limits lim;
	unsigned mtu;
	int ep_fd;                   /* the packet endpoint */
	int wake_fd;                 /* eventfd: commands, kicks from lwIP's thread */
	pthread_t thread;
	bool again;                  /* a callback in our round: poll without sleeping */

	bool exit_node, exit_allow_lan;
	bool via_exit;
	bool have4, have6;
	struct cidr self4, mesh4, self6, mesh6;

	struct netif netif;
	bool netif_added;
	struct exitsrv *exit;

	struct prule *rules;         /* in the order added */
	struct flow *flows;          /* TCP flows */
	struct udpassoc *assocs;     /* UDP associations */
	unsigned nflows;             /* both kinds */
	bool need_reap;

	struct socks_listener *socks;
	struct owner socks_own;
	struct resolver *resolver;

	uint64_t rx_packets, tx_packets, dropped;
	uint8_t *scratch;            /* ENGINE_UDP_MAX bytes for one datagram */
	uint8_t *pkt;                /* ENGINE_UDP_MAX bytes for one packet of the endpoint */
	bool ep_closed;              /* the device closed its end */
	int probe_fd;                /* the prober's pair (probe.h), -1 none */
	int probe_idx;
	uint16_t probe_id;

	/* commands from other threads (proxy.c) */
	pthread_mutex_t call_mu;     /* one caller at a time */
	pthread_mutex_t ctl_mu;
	pthread_cond_t ctl_cv;
	void *cmd;                   /* the pending command, NULL none */
};

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t engine_now_ms(void);

/* From an lwIP callback: make the proxy thread run a round (a no-op when
 * the callback runs in the proxy thread's round). */
void engine_kick(struct proxy *p);

/* A new flow for owner o: false (counted as refused) over a limit. */
bool engine_admit(struct proxy *p, struct owner *o);
void engine_release(struct proxy *p, struct owner *o);

/* Whether a destination may be dialled through lwIP: 0, -ENETUNREACH (no
 * tunnel address of that family yet), -EACCES (outside the mesh and not
 * via an exit node). */
int engine_dest_check(const struct proxy *p, int family, const uint8_t *addr);

/* Our tunnel address of a family as an lwIP address: 0 or -ENETUNREACH. */
int engine_self_ip(const struct proxy *p, int family, ip_addr_t *out);

/* Conversions between the host's and lwIP's addresses. */
void engine_to_ip(int family, const uint8_t *addr, ip_addr_t *out);
void engine_to_sockaddr(const ip_addr_t *ip, uint16_t port, union sockaddr_any *out);

/* One packet to the mesh through the endpoint (non-blocking: a full
 * endpoint drops it), counted. */
void engine_send(struct proxy *p, const uint8_t *pkt, size_t len);

/* A socket option that makes close() send a RST. */
void engine_close_rst(int fd);

#endif
