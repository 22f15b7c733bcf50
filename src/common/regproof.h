/* Proof of a device's private key for a re-registration (issue #14).
 *
 * The API server has an X25519 key pair; a device that registers a public
 * key already known to the organization must show that it holds the
 * matching private key. The server hands out a fresh nonce; the device
 * answers with
 *
 *   shared = X25519(dev_priv, server_pub)          (= X25519(server_priv, dev_pub))
 *   k      = BLAKE2b-256("nexodus register proof v1" || shared || server_pub || dev_pub)
 *   mac    = BLAKE2b-256(key = k, nonce)
 *
 * (the label is the 25 bytes of the text, no NUL; BLAKE2b is libsodium's
 * crypto_generichash, unkeyed for k). A DH result of all zeros (a
 * low-order public key) is refused on both sides. */
#ifndef COMMON_REGPROOF_H
#define COMMON_REGPROOF_H

#include <stddef.h>
#include <stdint.h>

#define REGPROOF_MAC_LEN 32
#define REGPROOF_NONCE_MAX 256   /* bytes of a nonce accepted by both functions */

/* client: mac over nonce and the device public key, keyed by DH(dev_priv,
 * server_pub). 0 or -EINVAL (low-order point, or a nonce of 0 or more than
 * REGPROOF_NONCE_MAX bytes); mac is written only on success. */
int regproof_mac(uint8_t mac[REGPROOF_MAC_LEN], const uint8_t dev_priv[32], const uint8_t server_pub[32],
		 const uint8_t *nonce, size_t nonce_len);

/* server: 0 when mac is right, -EBADMSG otherwise (constant-time compare;
 * a low-order device key or a bad nonce length is -EBADMSG too). */
int regproof_verify(const uint8_t mac[REGPROOF_MAC_LEN], const uint8_t server_priv[32], const uint8_t dev_pub[32],
		    const uint8_t *nonce, size_t nonce_len);

#endif
