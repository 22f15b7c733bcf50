/* The public interface of our userspace WireGuard: the only header that
 * nexwg and nexd include. A device owns a TUN interface and a UDP socket and
 * runs its own threads; it is configured with the same set of keys as the
 * cross-platform UAPI, and its state is read back the same way. */
#ifndef WG_WG_H
#define WG_WG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

#define WG_KEY_SIZE 32

struct wg_device;

/* One peer's change, the UAPI's peer keys. Fields are applied only when
 * their has_ flag is set. */
struct wg_peer_config {
	uint8_t public_key[WG_KEY_SIZE];
	bool remove;                  /* remove=true */
	bool update_only;             /* update_only=true: do not create */
	bool has_preshared_key;
	uint8_t preshared_key[WG_KEY_SIZE]; /* all zero removes it */
	bool has_endpoint;
	union sockaddr_any endpoint;
	bool has_persistent_keepalive;
	uint16_t persistent_keepalive_interval; /* seconds, 0 = off */
	bool replace_allowed_ips;
	size_t n_allowed_ips;
	struct cidr *allowed_ips;
};

/* A device change, the UAPI's interface keys, then the peers in order. */
struct wg_config {
	bool has_private_key;
	uint8_t private_key[WG_KEY_SIZE]; /* all zero removes it */
	bool has_listen_port;
	uint16_t listen_port;             /* 0 = a random port */
	bool has_fwmark;
	uint32_t fwmark;                  /* 0 = none */
	bool replace_peers;
	size_t n_peers;
	struct wg_peer_config *peers;
};

/* Frees the arrays of a config built on the heap (as the UAPI parser does)
 * and wipes its keys; the struct itself is the caller's. */
void wg_config_release(struct wg_config *c);

struct wg_peer_info {
	uint8_t public_key[WG_KEY_SIZE];
	bool has_preshared_key;
	uint8_t preshared_key[WG_KEY_SIZE];
	union sockaddr_any endpoint;      /* sa_family 0 when none */
	uint16_t persistent_keepalive_interval;
	int64_t last_handshake_sec;       /* wall clock; 0 when never */
	int64_t last_handshake_nsec;
	uint64_t rx_bytes, tx_bytes;
	size_t n_allowed_ips;
	struct cidr *allowed_ips;
};

struct wg_device_info {
	char ifname[16];
	bool has_private_key;
	uint8_t private_key[WG_KEY_SIZE];
	uint8_t public_key[WG_KEY_SIZE];
	uint16_t listen_port;             /* the port really bound */
	uint32_t fwmark;
	size_t n_peers;
	struct wg_peer_info *peers;
};

struct wg_device_opts {
	const char *ifname;   /* TUN name to create (a "%d" template allowed) */
	int tun_fd;           /* >= 0: use this open TUN fd instead (WG_TUN_FD) */
	/* No TUN: a packet endpoint (ifname names it in logs), for a userspace
	 * TCP/IP stack; wg_device_take_endpoint gives the stack's end. */
	bool packet_endpoint;
	unsigned mtu;         /* 0: WG_DEFAULT_MTU (1420) */
	/* Threads that share the cryptography of large batches with the send
	 * and receive threads: 0 chooses (one per online CPU beyond two, at
	 * most WG_MAX_CRYPTO_WORKERS), < 0 none. */
	int crypto_workers;
};

#define WG_MAX_CRYPTO_WORKERS 8

/* Process-wide set-up (crypto libraries); call once before anything else. */
int wg_init(void);

/* Creates the TUN interface and the UDP socket (random port until one is
 * configured) and starts the device's threads. 0 or -errno. */
int wg_device_create(struct wg_device **out, const struct wg_device_opts *opts);
const char *wg_device_ifname(const struct wg_device *dev);
/* A device made with packet_endpoint: the stack's end of the endpoint (an
 * AF_UNIX SOCK_SEQPACKET socket; one raw IPv4/IPv6 packet per message each
 * way, at most the MTU; closing it stops the device as a deleted interface
 * does). The caller owns it; the first call only, else -EBADF. */
int wg_device_take_endpoint(struct wg_device *dev);
int wg_device_ifindex(const struct wg_device *dev);

/* Applies a change as one step: on error nothing of it was applied, save
 * what the error names. -EINVAL, -ENOMEM, -EADDRINUSE, -ENOENT, ... */
int wg_device_apply(struct wg_device *dev, const struct wg_config *c);
/* A snapshot of the configuration and counters; free with wg_device_info_free. */
int wg_device_get(struct wg_device *dev, struct wg_device_info **out);
void wg_device_info_free(struct wg_device_info *info);

/* Blocks until the device stops: wg_device_stop was called (returns 0) or
 * the interface was deleted from under it (returns -ENODEV). */
int wg_device_wait(struct wg_device *dev);
/* An eventfd that turns readable once the interface was deleted from under
 * the device (what wg_device_wait waits for), for callers that poll. */
int wg_device_dead_fd(const struct wg_device *dev);
/* Asks the device to stop. Async-signal-safe. */
void wg_device_stop(struct wg_device *dev);
/* Stops the threads, closes the socket and the TUN (the interface goes
 * away with it) and wipes all keys. */
void wg_device_destroy(struct wg_device *dev);

/* Datagrams that arrive on the WireGuard port and are not WireGuard
 * messages (STUN replies, for nexd) are handed to this callback, on the
 * receive thread; it must not block. */
typedef void (*wg_stray_fn)(void *ctx, const uint8_t *buf, size_t len, const union sockaddr_any *from);
void wg_device_set_stray_handler(struct wg_device *dev, wg_stray_fn fn, void *ctx);
/* Sends one datagram from the WireGuard socket (for STUN). 0 or -errno. */
int wg_device_send_raw(struct wg_device *dev, const union sockaddr_any *to, const void *buf, size_t len);

/* Counters of what was dropped and why, for tests and status output. */
struct wg_device_stats {
	uint64_t rx_invalid;        /* malformed or unknown datagrams */
	uint64_t rx_bad_mac;        /* handshake messages with a wrong mac1 */
	uint64_t rx_bad_auth;       /* data or handshake that failed authentication */
	uint64_t rx_replayed;       /* replayed or too-old data counters */
	uint64_t rx_bad_source;     /* inner source not in the peer's allowed IPs */
	uint64_t rx_no_keypair;     /* data for an unknown or expired index */
	uint64_t handshake_dropped; /* handshakes dropped: queue full or rate limited */
	uint64_t cookies_sent;      /* cookie replies sent under load */
	uint64_t tx_no_peer;        /* TUN packets with no peer for their destination */
	uint64_t tx_dropped;        /* TUN packets dropped: queue full, no endpoint */
};
void wg_device_stats(struct wg_device *dev, struct wg_device_stats *out);

#endif
