/* The relay worker: a TURN client (RFC 8656; turn.h) for the peers no
 * direct path reaches. It keeps one allocation on the first of the API
 * server's relays that answers (over UDP, or over TCP where UDP gets no
 * answer, or TLS for turns:), refreshes it, creates a permission for and
 * binds a channel to each peer's relayed address (the binding refreshes
 * both from then on) and carries WireGuard's packets:
 * for each such peer a UDP socket on 127.0.0.1 is the endpoint WireGuard
 * sends to, and what arrives on the channel is handed to WireGuard's port
 * from that socket. WireGuard stays end to end: the relay sees ciphertext.
 *
 * Its sockets carry the WireGuard socket's mark, so that an exit-node
 * client's policy routing keeps them out of band. It posts EV_RELAY with
 * the allocation and the channels' local endpoints; the loop tells it the
 * credentials (relay_set_servers) and the peers (relay_set_peers). */
#ifndef NEXD_RELAY_H
#define NEXD_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "apiclient/relay.h"
#include "nexd/events.h"

#define RELAY_PEERS_MAX 256

struct relay_peer {
	uint8_t key[32];
	union sockaddr_any relayed;       /* the peer's relay endpoint, as its record says */
};

struct relay;
/* ca_cert: the CAs to check turns: servers with (nexd's --ca-cert); NULL:
 * the system's. */
int relay_start(struct relay **out, const struct worker *w, uint16_t wg_port, const char *ca_cert);
/* From the loop: the relays and credentials (copied; none: no relay). */
void relay_set_servers(struct relay *r, const struct api_relays *servers);
/* From the loop: the peers to keep a channel to (copied, at most RELAY_PEERS_MAX). */
void relay_set_peers(struct relay *r, const struct relay_peer *peers, size_t n);
/* From the loop: a relayed peer stopped answering: make sure the
 * allocation is still ours (a Refresh now; a new allocation on 437). */
void relay_check(struct relay *r);
/* Joins the thread (after the agent's stop flag is set): the allocation
 * is deleted on the server, the sockets closed. */
void relay_stop(struct relay *r);

#endif
