/* A peer of the device: its keys, handshake, keypairs, timers, endpoint,
 * staged packets and counters. A peer is created and removed only under the
 * device's config lock held for writing; every other use happens under its
 * read side, so a peer pointer is valid for as long as that is held. The
 * mutable protocol state (handshake, keypair slots, timers, endpoint,
 * staged packets) is guarded by the peer's own lock. */
#ifndef WG_PEER_H
#define WG_PEER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "common/addr.h"
#include "wg/cookie.h"
#include "wg/index.h"
#include "wg/keypair.h"
#include "wg/messages.h"
#include "wg/noise.h"
#include "wg/timers.h"

/* A packet waiting for a session: room for the data header in front, and
 * for padding and the tag behind. */
struct staged_packet {
	size_t len;          /* plaintext length, at data[DATA_PACKET_HEAD_ROOM] */
	uint8_t data[];
};

struct wg_peer {
	struct wg_peer *hash_next;               /* public key table */
	struct wg_peer *list_prev, *list_next;   /* the device's list, in creation order */
	uint64_t id;
	char label[56];                          /* "wg0: peer 3 (AbCdEfGh…)" for logs */
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];

	pthread_mutex_t lock;
	struct noise_handshake handshake;
	struct index_entry hs_entry;
	struct cookie_maker cookie_maker;
	struct keypairs keypairs;
	struct wg_timers timers;
	union sockaddr_any endpoint;             /* sa_family 0: none */
	struct staged_packet *staged[MAX_STAGED_PACKETS];
	unsigned staged_head, staged_count;
	int64_t last_handshake_wall_ns;
	bool dead;

	atomic_bool initiation_queued;
	atomic_uint_fast64_t rx_bytes, tx_bytes;
};

struct peer_table;

int peer_table_create(struct peer_table **out);
void peer_table_free(struct peer_table *t);
struct wg_peer *peer_table_lookup(struct peer_table *t, const uint8_t key[NOISE_PUBLIC_KEY_LEN]);
void peer_table_add(struct peer_table *t, struct wg_peer *p);
void peer_table_del(struct peer_table *t, struct wg_peer *p);
size_t peer_table_count(const struct peer_table *t);
/* The peers in creation order: for (p = peer_table_first(t); p; p = p->list_next). */
struct wg_peer *peer_table_first(struct peer_table *t);

/* A new peer, not yet in any table. NULL on allocation failure. */
struct wg_peer *peer_create(uint64_t id, const uint8_t public_key[NOISE_PUBLIC_KEY_LEN],
			    const struct noise_static_identity *identity);
/* Sets the stable id shown in logs. */
void peer_set_id(struct wg_peer *p, const char *ifname, uint64_t id);
/* Wipes and frees; the caller has taken it out of every table. */
void peer_free(struct wg_peer *p);

/* Staged packets, under the peer's lock. Stage takes ownership and drops the
 * oldest when full (returns true when it dropped one). */
bool peer_stage(struct wg_peer *p, struct staged_packet *sp);
struct staged_packet *peer_unstage(struct wg_peer *p);
void peer_clear_staged(struct wg_peer *p);
/* A staged packet with room for a plaintext of len bytes and its padding to
 * mtu, and the tag. */
struct staged_packet *staged_packet_new(const void *plain, size_t len);

#endif
