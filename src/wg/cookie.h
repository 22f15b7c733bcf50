/* Cookies and the mac1/mac2 fields (paper section 5.4.4, 5.4.7): the
 * responder's checker, which validates macs and makes cookie replies under
 * load, and the initiator's maker, which stores a received cookie and adds
 * mac2. The caller locks a maker (it belongs to a peer); a checker locks
 * itself. */
#ifndef WG_COOKIE_H
#define WG_COOKIE_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "wg/messages.h"

struct cookie_checker {
	pthread_mutex_t lock;  /* guards secret rotation */
	uint8_t secret[NOISE_HASH_LEN];
	uint64_t secret_birthdate_ns;
	uint8_t cookie_encryption_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	bool has_key;
};

enum cookie_mac_state {
	INVALID_MAC,
	VALID_MAC_BUT_NO_COOKIE,
	VALID_MAC_WITH_COOKIE,
};

void cookie_checker_init(struct cookie_checker *c);
void cookie_checker_destroy(struct cookie_checker *c);
/* Derives the mac1 and cookie keys from our public key (NULL: no key; all
 * macs are then invalid). */
void cookie_checker_set_key(struct cookie_checker *c, const uint8_t local_public[NOISE_PUBLIC_KEY_LEN]);

/* Checks mac1 of a handshake message (the last 32 bytes are the macs), and
 * mac2 against the cookie for `src` when check_cookie. */
enum cookie_mac_state cookie_validate_packet(struct cookie_checker *c, const void *msg, size_t len,
					     const union sockaddr_any *src, bool check_cookie);
/* A cookie reply to the handshake message msg, whose sender index is
 * `index`, for the source address `src`. */
void cookie_message_create(struct message_handshake_cookie *dst, struct cookie_checker *c,
			   const void *msg, size_t len, uint32_t index, const union sockaddr_any *src);

struct cookie_maker {
	uint8_t cookie_decryption_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t message_mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t cookie[COOKIE_LEN];
	uint64_t cookie_birthdate_ns;
	bool is_valid;
	uint8_t last_mac1_sent[COOKIE_LEN];
	bool have_sent_mac1;
};

void cookie_maker_init(struct cookie_maker *m, const uint8_t remote_public[NOISE_PUBLIC_KEY_LEN]);
/* Writes mac1, and mac2 when a cookie younger than COOKIE_SECRET_MAX_AGE -
 * COOKIE_SECRET_LATENCY is held (else mac2 = 0). msg's last 32 bytes are
 * the macs. */
void cookie_add_mac_to_packet(void *msg, size_t len, struct cookie_maker *m);
/* Decrypts a cookie reply addressed to this maker (the caller found it by
 * receiver_index) with the last mac1 sent as associated data.
 * 0, -EINVAL (no mac1 sent yet) or -EBADMSG. */
int cookie_message_consume(const struct message_handshake_cookie *src, struct cookie_maker *m);

#endif
