/* Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s, the WireGuard handshake (paper
 * section 5.4), as a state machine over one peer's handshake state. The
 * caller owns locking (the peer's handshake lock) and index allocation;
 * this module only does the cryptography and the checks the paper asks for
 * (timestamp newer than the last, initiation flood rate). mac1/mac2 are the
 * cookie module's. */
#ifndef WG_NOISE_H
#define WG_NOISE_H

#include <stdbool.h>
#include <stdint.h>

#include "wg/messages.h"

struct noise_static_identity {
	uint8_t static_public[NOISE_PUBLIC_KEY_LEN];
	uint8_t static_private[NOISE_PUBLIC_KEY_LEN];
	bool has_identity;
};

enum noise_handshake_state {
	HANDSHAKE_ZEROED,
	HANDSHAKE_CREATED_INITIATION,
	HANDSHAKE_CONSUMED_INITIATION,
	HANDSHAKE_CREATED_RESPONSE,
	HANDSHAKE_CONSUMED_RESPONSE,
};

struct noise_handshake {
	enum noise_handshake_state state;
	uint64_t last_initiation_consumption_ns;  /* monotonic, for the flood check */
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t precomputed_static_static[NOISE_PUBLIC_KEY_LEN]; /* DH(s_priv, S_remote); zero if none */
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t preshared_key[NOISE_SYMMETRIC_KEY_LEN];          /* zero if none */
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint8_t latest_timestamp[NOISE_TIMESTAMP_LEN];
	uint32_t local_index;   /* ours, chosen by the caller */
	uint32_t remote_index;  /* theirs */
};

/* Session keys derived at the end of a handshake. */
struct noise_session {
	uint8_t sending_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t receiving_key[NOISE_SYMMETRIC_KEY_LEN];
	uint32_t local_index, remote_index;
	bool initiator;
};

/* Precomputes the protocol's initial chaining key and hash. Call once. */
void noise_init(void);

/* Sets up a peer's handshake: remote static key, optional preshared key
 * (NULL for none), and the static-static DH from the local identity. */
void noise_handshake_init(struct noise_handshake *hs, const struct noise_static_identity *id,
			  const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			  const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN]);
/* Recomputes precomputed_static_static after the local identity changed
 * (and clears the handshake). */
void noise_handshake_precompute(struct noise_handshake *hs, const struct noise_static_identity *id);
void noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN]);
/* Back to HANDSHAKE_ZEROED: ephemeral state wiped; remote static, psk,
 * precomputation and latest timestamp kept. */
void noise_handshake_clear(struct noise_handshake *hs);

/* Initiator, message 1. Fills everything but the macs; the caller has set
 * hs->local_index. 0, or -EINVAL without identity / with a bad remote key. */
int noise_create_initiation(struct message_handshake_initiation *dst, struct noise_handshake *hs,
			    const struct noise_static_identity *id);

/* Responder, message 1, first half: decrypts the initiator's static key.
 * The caller then finds the peer with that key and calls _finish with the
 * peer's handshake, locked. */
struct noise_initiation_scratch {
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint8_t remote_static[NOISE_PUBLIC_KEY_LEN];
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint32_t sender_index;
	const struct message_handshake_initiation *msg;
};
int noise_consume_initiation_begin(const struct message_handshake_initiation *src,
				   const struct noise_static_identity *id,
				   struct noise_initiation_scratch *s);
/* Second half: decrypts the timestamp with the peer's static-static DH,
 * rejects one not newer than the last accepted (-EALREADY) or an initiation
 * sooner than 1/INITIATIONS_PER_SECOND after the last (-EBUSY), then moves hs
 * to HANDSHAKE_CONSUMED_INITIATION. -EBADMSG on a bad tag. Wipes s. */
int noise_consume_initiation_finish(struct noise_initiation_scratch *s, struct noise_handshake *hs,
				    uint64_t now_ns);

/* Responder, message 2, from HANDSHAKE_CONSUMED_INITIATION; the caller has
 * set hs->local_index. Fills everything but the macs. */
int noise_create_response(struct message_handshake_response *dst, struct noise_handshake *hs);

/* Initiator, message 2: hs must be in HANDSHAKE_CREATED_INITIATION with
 * local_index == src->receiver_index (the caller found hs by that index).
 * Moves hs to HANDSHAKE_CONSUMED_RESPONSE. 0, -EBADMSG or -EINVAL. */
int noise_consume_response(const struct message_handshake_response *src, struct noise_handshake *hs,
			   const struct noise_static_identity *id);

/* Derives the transport keys from HANDSHAKE_CONSUMED_RESPONSE (initiator)
 * or HANDSHAKE_CREATED_RESPONSE (responder), then clears hs. -EINVAL from
 * any other state. */
int noise_derive_session(struct noise_handshake *hs, struct noise_session *out);

#endif
