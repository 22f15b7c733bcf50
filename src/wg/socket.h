/* The device's UDP port: AF_INET6 with IPV6_V6ONLY off (IPv4 peers are
 * addressed as v4-mapped), or AF_INET when IPv6 is unavailable.
 *
 * The port is served by two sockets in one SO_REUSEPORT group, with a
 * classic BPF program that steers data messages (type 4) to the first and
 * everything else (handshakes, cookies, STUN) to the second. A flood of
 * handshake messages then fills only the second socket's queue, and the
 * receive thread, which reads the data socket first, keeps the tunnel
 * going. Where the kernel refuses, one socket does both (hs_fd -1).
 * Before the group binds, a plain probe bind checks that the port is free,
 * so a port held by anyone still gives -EADDRINUSE.
 *
 * Sending uses UDP segmentation offload (one sendmsg for a run of
 * equal-sized datagrams) until the kernel refuses it, and the data socket
 * receives with UDP_GRO (coalesced datagrams, split again by the reader).
 * NEXWG_NO_OFFLOAD=1 in the environment turns both off.
 *
 * The fd numbers stay the same for the device's life: a rebind makes new
 * sockets and dup3()s them over the old numbers, so threads polling or
 * sending on them never see a closed or reused descriptor. */
#ifndef WG_SOCKET_H
#define WG_SOCKET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"

struct wg_socket {
	int fd;           /* data messages; all sending */
	int hs_fd;        /* the rest; -1 when one socket does both */
	int family;       /* AF_INET6 or AF_INET */
	uint16_t port;    /* bound, host order */
	uint32_t fwmark;
	atomic_bool udp_gso;  /* send runs of datagrams with UDP_SEGMENT */
};

int socket_open(struct wg_socket *s, uint16_t port, uint32_t fwmark);
void socket_close(struct wg_socket *s);

/* A fresh socket bound to port, ready to take over with socket_adopt.
 * -EADDRINUSE when the port is taken. */
int socket_prepare(struct wg_socket *fresh, uint16_t port, uint32_t fwmark);
/* Moves fresh onto s's fd number and closes fresh's own. */
int socket_adopt(struct wg_socket *s, struct wg_socket *fresh);
int socket_set_fwmark(struct wg_socket *s, uint32_t mark);

/* Writes the address to send to on this socket (v4-mapped on AF_INET6). */
socklen_t socket_dest(const struct wg_socket *s, const union sockaddr_any *to, union sockaddr_any *out);
int socket_send(const struct wg_socket *s, const union sockaddr_any *to, const void *buf, size_t len);

#endif
