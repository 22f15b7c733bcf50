/* The engine of `nexd proxy`: a userspace TCP/IP stack on the WireGuard
 * device's packet endpoint (wg.h, packet_endpoint), no privileges.
 *
 *   mesh packet, destination = our tunnel address  -> lwIP (ingress rules'
 *        listeners, the other ends of egress and SOCKS connections, ICMP echo)
 *   mesh packet, another destination               -> the exit server (slirp,
 *        exitsrv.h) when this proxy is an exit node, else dropped
 *
 * Ingress rule: lwIP listens on PORT (TCP, or UDP) at our tunnel address;
 * each connection (UDP: each peer address and port) is re-dialled from an
 * ordinary host socket to DEST_IP:DEST_PORT. Egress rule: a host listener on
 * 127.0.0.1:PORT; each connection (UDP: each client address) is dialled in
 * lwIP from our tunnel address to DEST_IP:DEST_PORT through the mesh.
 * SOCKS5 (CONNECT): mesh destinations through lwIP; other destinations only
 * while proxy_set_exit(true) (they go into the mesh, to the exit node, by
 * the device's allowed IPs), else the "not allowed" reply.
 *
 * Threads: proxy_start starts the proxy thread (it owns every flow and host
 * socket) and lwIP's own thread. Every function here is safe from any other
 * thread; each that changes something waits until the proxy thread did it,
 * so its return value is the outcome. */
#ifndef PROXY_PROXY_H
#define PROXY_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "common/addr.h"
#include "proxy/rule.h"

struct proxy;

struct proxy_limits {
	unsigned max_flows;            /* every flow, all rules and SOCKS: 0 -> 4096 */
	unsigned max_flows_per_rule;   /* per rule, and for the SOCKS listener: 0 -> 1024 */
	unsigned flow_buffer;          /* bytes buffered per direction of a flow: 0 -> 256 KiB,
	                                * at most 64 KiB to the mesh, 80 KiB to the host (flow.h) */
	unsigned tcp_idle_s;           /* a TCP flow with no data either way: 0 -> 7200 */
	unsigned udp_idle_s;           /* a UDP association with no datagram: 0 -> 60 */
};

struct proxy_config {
	int endpoint_fd;               /* the packet endpoint; the proxy owns it from proxy_start on */
	unsigned mtu;                  /* the device's MTU (wg.h; 0 -> 1420) */
	bool exit_node;                /* terminate flows to other destinations (exitsrv.h) */
	bool exit_allow_lan;           /* ... including the host's directly connected networks */
	bool has_socks;
	struct sockaddr_storage socks; /* where the SOCKS5 server listens */
	socklen_t socks_len;
	const char *socks_user;        /* RFC 1929 when both set (copied), else no authentication */
	const char *socks_password;
	struct proxy_limits limits;
};

/* Starts the engine and binds the SOCKS listener: 0, or a negative errno
 * with a message in err ("--socks5 127.0.0.1:1080: address in use"). */
int proxy_start(struct proxy **out, const struct proxy_config *c, char *err, size_t errlen);

/* Our tunnel addresses (host prefixes) and the mesh prefixes, once the
 * organization is known (self6/mesh6 NULL without IPv6). Until then egress
 * and SOCKS connections are refused and ingress listeners see nothing.
 * Called again when they change. */
int proxy_set_addresses(struct proxy *p, const struct cidr *self4, const struct cidr *mesh4,
			const struct cidr *self6, const struct cidr *mesh6);

/* Whether destinations outside the mesh may be dialled into the mesh (this
 * proxy is subscribed to an exit node and one is in use). */
void proxy_set_exit(struct proxy *p, bool via_exit);

/* Adds a rule: an egress rule binds its host listener at once. 0; -EEXIST
 * (the same rule, or the same direction, protocol and port); -EADDRINUSE
 * ("egress tcp:8080:...: 127.0.0.1:8080 is in use"); -EMFILE; a message in
 * why either way (PROXY_RULE_WHY_MAX holds it). */
int proxy_add_rule(struct proxy *p, const struct proxy_rule *r, char *why, size_t why_len);

/* Removes a rule and closes its flows: 0, or -ENOENT. */
int proxy_remove_rule(struct proxy *p, const struct proxy_rule *r);

struct proxy_rule_info {
	struct proxy_rule rule;
	unsigned flows;                /* open now */
	uint64_t total;                /* accepted since added */
	uint64_t refused;              /* over a limit, or the destination unreachable */
};

/* The rules in the order added: a malloc'd array in *out (free()), its
 * length returned; -ENOMEM. */
int proxy_list_rules(struct proxy *p, struct proxy_rule_info **out);

struct proxy_stats {
	unsigned flows;                /* open now, all kinds */
	unsigned socks_flows;
	unsigned exit_flows;           /* the exit server's, when an exit node */
	uint64_t rx_packets, tx_packets;   /* on the endpoint */
	uint64_t dropped;              /* not for us, not allowed, or the endpoint full */
	bool via_exit;                 /* as proxy_set_exit last said */
};
void proxy_get_stats(struct proxy *p, struct proxy_stats *out);

/* A prober's way into the mesh (nexd's peer health checks, which cannot
 * open raw sockets here): one end of a SOCK_SEQPACKET pair carrying whole
 * IPv4 packets. A packet written to it goes to the mesh as it is when it is
 * an ICMP echo request from our tunnel address (anything else is dropped);
 * every ICMP echo reply to our address with ICMP id `id` is copied to it.
 * One prober at a time (a second call replaces the first). The caller owns
 * the fd. -errno. */
int proxy_probe_socket(struct proxy *p, uint16_t id);

/* Stops the threads, closes every flow, listener and the endpoint. */
void proxy_stop(struct proxy *p);

#endif
