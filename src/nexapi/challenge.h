/* Re-registration challenges (issue #14): the server's X25519 key and the
 * nonces a device answers with a proof of its private key (regproof.h).
 *
 * A nonce is stateless: 8 bytes of Unix time (big endian), 16 random bytes
 * and a 16-byte MAC of both (BLAKE2b keyed with a key derived from the
 * server's private key, so replicas sharing the database accept each
 * other's nonces), sent in standard base64. It is valid CHALLENGE_TTL
 * seconds and accepted once: a nonce whose proof was accepted is
 * remembered until it expires (at most CHALLENGE_USED_MAX at once; past
 * that, proofs are refused with -EBUSY until some expire). Used from the
 * server thread only. The private key lives in guarded memory (read-only,
 * wiped when destroyed). */
#ifndef NEXAPI_CHALLENGE_H
#define NEXAPI_CHALLENGE_H

#include <stdbool.h>
#include <stdint.h>

#include "common/key.h"

#define CHALLENGE_TTL 120
#define CHALLENGE_SKEW 30           /* seconds a nonce may come from the future (replica clocks) */
#define CHALLENGE_USED_MAX 8192
#define CHALLENGE_NONCE_LEN 40      /* time 8, random 16, mac 16 */
#define CHALLENGE_NONCE_B64_LEN 56
#define CHALLENGE_MAC_B64_LEN 44    /* base64 of REGPROOF_MAC_LEN bytes */

struct challenge;

int challenge_create(struct challenge **out);
void challenge_destroy(struct challenge *c);

/* Sets the server key pair (from the store); once. 0, -EALREADY or -ENOMEM. */
int challenge_set_key(struct challenge *c, const uint8_t priv[KEY_LEN], const uint8_t pub[KEY_LEN]);
bool challenge_has_key(const struct challenge *c);
/* The server's public key in base64 (with a key set). */
void challenge_server_key(const struct challenge *c, char out[KEY_B64_LEN + 1]);
/* A new nonce made at `now`, in base64 (with a key set). */
void challenge_nonce(struct challenge *c, int64_t now, char out[CHALLENGE_NONCE_B64_LEN + 1]);

/* Checks a proof for the device key dev_pub: nonce and mac as sent
 * (base64). 0 (and the nonce is used up), -EBADMSG (malformed, not made
 * by this server, or a wrong mac), -ETIMEDOUT (expired), -EALREADY (used
 * before), -EBUSY (too many remembered nonces), -ENOKEY (no key set). */
int challenge_verify(struct challenge *c, int64_t now, const char *nonce_b64, const char *mac_b64,
		     const uint8_t dev_pub[KEY_LEN]);

#endif
