/* The device's insides, shared by device.c, send.c and receive.c only
 * (wg.h is the public face).
 *
 * Locking, outermost first:
 *   cfg_lock (rwlock, writer-preferring): written by apply and destroy,
 *     read by each data thread around one batch and by get. It guards the
 *     identity, the peer table, allowed IPs, and peer lifetime. Never taken
 *     twice for reading on one thread.
 *   peer->lock: the peer's handshake, keypair slots, timers, endpoint,
 *     staged packets. Held briefly; never two at once.
 *   index table lock, hs_lock, the ratelimiter's and cookie checker's:
 *     leaves, nothing is taken under them.
 * Keypairs are reference counted: a data thread holds references only
 * within its read section, so a keypair never outlives its peer. */
#ifndef WG_DEVICE_H
#define WG_DEVICE_H

#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "wg/allowedips.h"
#include "wg/cookie.h"
#include "wg/index.h"
#include "wg/noise.h"
#include "wg/peer.h"
#include "wg/pool.h"
#include "wg/ratelimiter.h"
#include "wg/socket.h"
#include "wg/tun.h"
#include "wg/wg.h"

#define DEVICE_BATCH 64
#define DEVICE_INIT_RING 1024
#define DEVICE_HS_BATCH 16
/* Batches of fewer packets are sealed or opened by their own thread. */
#define POOL_MIN_ITEMS 8
/* A slot big enough for any datagram or TUN packet with head room. */
#define DEVICE_SLOT_SIZE (MESSAGE_MAX_LENGTH + 128)

struct hs_work {
	uint8_t msg[sizeof(struct message_handshake_initiation)];
	uint16_t len;
	union sockaddr_any src;
};

struct device_stats {
	atomic_uint_fast64_t rx_invalid, rx_bad_mac, rx_bad_auth, rx_replayed, rx_bad_source,
		rx_no_keypair, handshake_dropped, cookies_sent, tx_no_peer, tx_dropped;
};

struct wg_device {
	pthread_rwlock_t cfg_lock;
	struct noise_static_identity identity;   /* cfg_lock */
	struct cookie_checker cookie_checker;
	struct allowedips *aips;                 /* cfg_lock */
	struct peer_table *peers;                /* cfg_lock */
	struct index_table *index;
	struct ratelimiter *ratelimiter;
	uint64_t next_peer_id;                   /* cfg_lock (write) */
	bool has_listen_port;                    /* a port was configured */

	struct wg_tun tun;
	int endpoint_fd;              /* a packet endpoint's other end until taken, else -1 */
	atomic_uint mtu;
	struct wg_socket sock;

	int stop_efd;   /* readable once stop was asked: every thread exits */
	atomic_bool stopping; /* the same, for loops that do not poll */
	int dead_efd;   /* readable once the interface vanished */
	int hs_efd;     /* wakes the handshake thread */
	int rx_efd;     /* wakes the receive thread (socket replaced) */

	pthread_mutex_t hs_lock;                 /* the two rings below */
	struct hs_work *hs_ring;
	unsigned hs_head, hs_count;
	atomic_uint hs_queue_len;
	struct wg_peer *init_ring[DEVICE_INIT_RING];
	unsigned init_head, init_count;
	atomic_uint_fast64_t last_under_load_ns;

	_Atomic(wg_stray_fn) stray_fn;
	void *_Atomic stray_ctx;

	struct pool *pool;  /* crypto workers, shared by the send and receive threads */
	pthread_t threads[4];
	unsigned n_threads;

	struct device_stats stats;
};

#define STAT_INC(dev, name) atomic_fetch_add_explicit(&(dev)->stats.name, 1, memory_order_relaxed)

/* send.c */
void *send_thread(void *dev);
/* Encapsulates the plaintext at buf + DATA_PACKET_HEAD_ROOM (plain_len
 * bytes, with room behind it for padding and the tag) into a data message
 * starting at buf; returns the message length. */
size_t send_encapsulate(const struct keypair *kp, uint64_t nonce, uint8_t *buf, size_t plain_len, unsigned mtu);
/* The same in two steps: the padding (padded_len: the bytes to seal), then
 * sealing and the header, which may run on another thread; buf must have
 * the WG_DATA_SEAL_LEAD - DATA_PACKET_HEAD_ROOM bytes before it to spare. */
size_t send_prepare(uint8_t *buf, size_t plain_len, unsigned mtu, size_t *padded_len);
void send_seal_lead(const struct keypair *kp, uint64_t nonce, uint8_t *buf, size_t padded_len);
/* Asks the handshake thread to send an initiation (rate limited: at most
 * one per REKEY_TIMEOUT). Caller holds cfg_lock (any side), not the peer lock. */
void send_request_initiation(struct wg_device *dev, struct wg_peer *peer, bool is_retry);
/* On the handshake thread: creates and sends an initiation now. */
void send_initiation(struct wg_device *dev, struct wg_peer *peer);
/* Sends the staged packets with the current keypair, or asks for a
 * handshake when there is none. Caller holds cfg_lock, not the peer lock. */
void send_staged(struct wg_device *dev, struct wg_peer *peer);
void send_keepalive(struct wg_device *dev, struct wg_peer *peer);
/* A cookie reply to a handshake message from src. */
void send_cookie_reply(struct wg_device *dev, const void *msg, size_t len, const union sockaddr_any *src);

/* receive.c */
void *receive_thread(void *dev);
void *receive_handshake_thread(void *dev);

/* device.c: waits on pfd, whose pfd[1] is the stop eventfd; false when the
 * thread is to end (stop asked, or poll failed: logged). */
bool device_poll(struct wg_device *dev, struct pollfd *pfd, nfds_t n);
/* device.c: the scheduler time slice of a data thread follows its load
 * (see device.c); init on the thread, then account each busy stretch. */
struct device_sched {
	uint64_t window_start, busy_ns;
	bool short_slice;
};
void device_sched_init(struct device_sched *s);
void device_sched_account(struct device_sched *s, uint64_t busy_from, uint64_t now);
/* device.c: removes a peer's pending initiation request (cfg_lock written). */
void device_forget_initiation(struct wg_device *dev, struct wg_peer *peer);
/* device.c: wipes a peer's sessions (timers' zero-key action, key change). */
void device_peer_zero_keys(struct wg_device *dev, struct wg_peer *peer);

#endif
