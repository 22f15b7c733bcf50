/* Peer health: an ICMP echo to each peer's tunnel address over the mesh
 * interface every HEALTH_INTERVAL_MS gives each peer a reachable flag and a
 * latency figure. Runs on its own thread; results read under a lock. */
#ifndef NEXD_HEALTH_H
#define NEXD_HEALTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HEALTH_INTERVAL_MS 400
#define HEALTH_REACHABLE_WINDOW_MS 1100 /* a reply within this: reachable (two probes missed: not) */
#define HEALTH_MAX_TARGETS 4096

struct health_target {
	uint8_t public_key[32];
	uint8_t ip[4];   /* tunnel IPv4 address */
};

struct health_result {
	bool reachable;
	bool has_latency;
	uint32_t latency_us;      /* latest round trip */
	uint64_t last_reply_ns;   /* monotonic, 0 never */
	uint64_t reachable_since_ns; /* start of the current reachable streak, 0 when unreachable */
};

struct health;

int health_start(struct health **out, const char *ifname);
/* nexd proxy (no raw sockets): probes as whole IPv4 packets on fd (a
 * SOCK_SEQPACKET socket into the userspace stack, proxy_probe_socket),
 * which the prober owns from now on; from source address src, set with
 * health_set_source once known (nothing is sent before). id: the ICMP id
 * the stack hands back. */
int health_start_packets(struct health **out, int fd, uint16_t id);
void health_set_source(struct health *h, const uint8_t src[4]);
/* Called on the prober's thread when a peer's reachable flag flips. */
void health_set_notify(struct health *h, void (*fn)(void *ctx), void *ctx);
/* Replaces the set of probed peers; results of kept peers are kept. */
int health_set_targets(struct health *h, const struct health_target *t, size_t n);
/* False when the peer is not probed. */
bool health_get(struct health *h, const uint8_t public_key[32], struct health_result *out);
void health_stop(struct health *h);

/* Parses an ICMP echo reply as received on a raw IPv4 socket (IP header
 * included): true when it is an echo reply with our id, giving its source
 * and sequence. Pure; fuzzed. */
bool health_parse_reply(const uint8_t *buf, size_t len, uint16_t id, uint8_t src[4], uint16_t *seq);

#endif
