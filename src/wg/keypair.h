/* Session keypairs and a peer's three slots (current, previous, next),
 * rotated as the Linux module's noise.c does: an initiator installs a new
 * keypair as current at once; a responder keeps it as next until the first
 * data packet under it arrives. Keypairs are reference counted so that the
 * data threads can use one while the handshake thread rotates them; the
 * slots themselves are guarded by the peer's lock. */
#ifndef WG_KEYPAIR_H
#define WG_KEYPAIR_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "wg/index.h"
#include "wg/messages.h"
#include "wg/replay.h"

struct wg_peer;
struct noise_session;

struct keypair {
	atomic_uint refcount;
	atomic_bool sending_valid;
	atomic_bool receiving_valid;
	bool initiator;
	atomic_uint_fast64_t sending_counter; /* next nonce to use */
	uint64_t birthdate_ns;                /* monotonic */
	uint32_t remote_index;
	struct index_entry entry;             /* local index -> this keypair */
	struct replay_counter replay;         /* the receive thread's alone */
	uint8_t sending_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t receiving_key[NOISE_SYMMETRIC_KEY_LEN];
};

struct keypairs {
	struct keypair *current, *previous, *next;
};

/* A keypair from a finished handshake, with one reference (the caller's).
 * The session's keys are copied; the caller wipes the session. */
struct keypair *keypair_create(const struct noise_session *s, struct wg_peer *peer, uint64_t now);
struct keypair *keypair_get(struct keypair *kp);
/* Drops a reference; the last one wipes and frees. NULL is fine. */
void keypair_put(struct keypair *kp);

/* True when the keypair may still encrypt/decrypt at `now`. */
bool keypair_sending_usable(const struct keypair *kp, uint64_t now);
bool keypair_receiving_usable(const struct keypair *kp, uint64_t now);

/* All of these need the peer's lock. A keypair that leaves the slots is
 * removed from the index table (so no new packet finds it) and put. */
/* Installs a new keypair (the slots take over the caller's reference, and
 * its index entry must already be in the table). */
void keypairs_add(struct keypairs *k, struct index_table *t, struct keypair *kp);
/* The responder's confirmation: if kp is the next keypair, it becomes
 * current. True when that happened (the handshake is then complete). */
bool keypairs_received_with(struct keypairs *k, struct index_table *t, struct keypair *kp);
/* The current keypair with a reference, or NULL. */
struct keypair *keypairs_current(struct keypairs *k);
/* Stops sending with current and next (new private key). */
void keypairs_expire_current(struct keypairs *k);
/* Removes all three. */
void keypairs_clear(struct keypairs *k, struct index_table *t);

#endif
