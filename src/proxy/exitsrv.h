/* The rootless exit node's server side, on libslirp: mesh clients' packets to
 * destinations outside the mesh are terminated (TCP, UDP; ICMP echo where
 * the host allows unprivileged ICMP sockets) and re-originated from ordinary
 * host sockets, so that the destination sees the host's address. Replies
 * come back as IP packets for the clients' tunnel addresses.
 *
 * Refused (dropped, counted): destinations in the mesh prefixes, our own
 * tunnel address, 0.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16, multicast and
 * broadcast, and unless allow_lan the host's directly connected networks
 * (getifaddrs), as the kernel-mode exit node refuses them; sources outside
 * the mesh prefix. slirp's DHCP, DNS, TFTP and host loopback are off.
 *
 * Single-threaded: every call from the thread that owns it. IPv4. */
#ifndef PROXY_EXITSRV_H
#define PROXY_EXITSRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "proxy/pollvec.h"

struct exitsrv;

/* An IP packet for the mesh (a reply to a client); len <= mtu. Called from
 * inside exitsrv_input and exitsrv_poll_done: it must not call back into
 * this exit server. */
typedef void (*exitsrv_out_fn)(void *ctx, const uint8_t *pkt, size_t len);

struct exitsrv_config {
	struct cidr self4;             /* our tunnel address (/32) */
	struct cidr mesh4;             /* the organization's IPv4 prefix */
	bool allow_lan;
	unsigned mtu;                  /* the device's MTU */
	unsigned max_flows;            /* refuse new flows beyond (0: the built-in
	                                  cap of 65536) */
	exitsrv_out_fn out;
	void *ctx;
};

int exitsrv_new(struct exitsrv **out, const struct exitsrv_config *c, char *err, size_t errlen);

/* A packet from the mesh whose destination is not ours. */
void exitsrv_input(struct exitsrv *x, const uint8_t *pkt, size_t len);

/* Before the owner's poll(): add what the stack waits for, lower *timeout_ms
 * (milliseconds, -1 = none) to its next timer. After poll(): hand the same
 * vector back (error: poll failed). */
void exitsrv_poll_prepare(struct exitsrv *x, struct pollvec *pv, int *timeout_ms);
void exitsrv_poll_done(struct exitsrv *x, const struct pollvec *pv, bool error);

struct exitsrv_stats {
	uint64_t in_packets;           /* every packet given to exitsrv_input */
	uint64_t out_packets;          /* every packet given to out */
	/* Dropped by exitsrv_input: malformed IPv4 (header, lengths, header
	 * checksum), fragments, the rules above, protocols other than TCP, UDP
	 * and ICMP echo (echo only while this user may open unprivileged ICMP
	 * sockets, else slirp would send a UDP datagram to port 7 instead),
	 * port 0, and new flows beyond max_flows. */
	uint64_t refused;
	/* Flows let through and not yet over, an estimate of slirp's host
	 * sockets counted as slirp opens them: a TCP connection from its SYN
	 * until RST or FIN both ways (or 2 h idle, 180 s if never answered); a
	 * client's UDP source address and port (slirp's socket is per source,
	 * to any destination) until 240 s idle; an ICMP echo request until its
	 * reply (or 240 s). */
	unsigned flows;
};
void exitsrv_get_stats(const struct exitsrv *x, struct exitsrv_stats *out);

/* Pure: whether a destination may be dialled (the rules above, with the
 * host's networks given): used by exitsrv_input, exported for tests. */
bool exitsrv_allowed(const struct exitsrv_config *c, const struct cidr *lan, size_t n_lan, const uint8_t dst[4]);

void exitsrv_free(struct exitsrv *x);

#endif
