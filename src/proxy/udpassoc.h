/* A UDP association: the datagrams of one peer, relayed between a host
 * socket and lwIP, until udp_idle_s without a datagram.
 *
 *   ingress: a mesh peer (address, port) on the rule's lwIP pcb <-> a host
 *     socket of its own, connected to DEST; replies are sent from the
 *     rule's port back to the peer.
 *   egress: a host client (address, port) on the rule's 127.0.0.1 socket
 *     <-> an lwIP pcb of its own (ephemeral port) connected to DEST;
 *     replies are sent from the rule's socket back to the client. */
#ifndef PROXY_UDPASSOC_H
#define PROXY_UDPASSOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proxy/engine.h"

struct udpassoc {
	struct proxy *p;
	struct prule *rule;
	bool egress;
	int fd;                      /* ingress: its own host socket; egress: the rule's */
	struct udp_pcb *pcb;         /* ingress: the rule's; egress: its own */
	ip_addr_t peer_ip;           /* ingress: the mesh peer */
	uint16_t peer_port;
	union sockaddr_any client;   /* egress: the host client */
	uint64_t last_ms;
	int pidx;
	bool dead;
	struct udpassoc *next, *prev;
};

/* Ingress: the association of a mesh peer, made when missing (NULL: over
 * a limit, or no socket). */
struct udpassoc *udpassoc_ingress(struct proxy *p, struct prule *r, const ip_addr_t *ip, uint16_t port);
/* Egress: the association of a host client, made when missing. */
struct udpassoc *udpassoc_egress(struct proxy *p, struct prule *r, const union sockaddr_any *client);

/* Ingress: a datagram from the mesh to DEST. Egress: one into the mesh. */
void udpassoc_send_host(struct udpassoc *a, const uint8_t *buf, size_t len);
void udpassoc_send_mesh(struct udpassoc *a, const uint8_t *buf, size_t len);

void udpassoc_poll_prepare(struct udpassoc *a, struct pollvec *pv);
void udpassoc_poll_done(struct udpassoc *a, const struct pollvec *pv);
void udpassoc_timers(struct udpassoc *a, uint64_t now);
void udpassoc_kill(struct udpassoc *a);
void udpassoc_reap(struct proxy *p);

#endif
