/* The primitives of WireGuard, as thin wrappers over the libraries we trust:
 * BLAKE2s from libb2, X25519 and (X)ChaCha20-Poly1305 from libsodium for the
 * handshake and cookies, and OpenSSL's EVP ChaCha20-Poly1305 on the data
 * path (twice libsodium's speed on our CPUs). No primitive is written here. */
#ifndef WG_CRYPTO_H
#define WG_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WG_HASH_LEN 32
#define WG_KEY_LEN 32
#define WG_TAG_LEN 16
#define WG_XNONCE_LEN 24

/* Must be called once before anything else (sodium_init); 0 or -errno. */
int wg_crypto_init(void);

/* HASH(in): BLAKE2s-256. */
void wg_hash(uint8_t out[WG_HASH_LEN], const void *in, size_t len);
/* HASH(a || b), for the handshake's mixHash. */
void wg_hash2(uint8_t out[WG_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen);
/* MAC(key, in): keyed BLAKE2s with a 16-byte output (mac1, mac2, cookies). */
void wg_mac(uint8_t out[16], const uint8_t *key, size_t keylen, const void *in, size_t len);
/* HMAC-BLAKE2s-256 (RFC 2104 over BLAKE2s, 64-byte block). */
void wg_hmac(uint8_t out[WG_HASH_LEN], const uint8_t *key, size_t keylen, const void *in, size_t len);
/* HKDF with HMAC-BLAKE2s as in the paper: t0 = HMAC(ck, in); t1 = HMAC(t0, 0x1);
 * t2 = HMAC(t0, t1 || 0x2); t3 = HMAC(t0, t2 || 0x3). Null outputs are not computed. */
void wg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t ck[WG_HASH_LEN], const void *in, size_t len);

/* X25519. Returns -EINVAL when the result is all zeros (a low-order point). */
int wg_dh(uint8_t out[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN], const uint8_t pub[WG_KEY_LEN]);
void wg_dh_generate(uint8_t priv[WG_KEY_LEN], uint8_t pub[WG_KEY_LEN]);

/* ChaCha20-Poly1305 (RFC 8439) with WireGuard's nonce: 32 zero bits then the
 * 64-bit counter, little endian. dst holds len + 16 bytes; in place allowed.
 * These are for the handshake (libsodium). */
void wg_aead_encrypt(uint8_t *dst, const void *src, size_t len, const void *ad, size_t adlen,
		     uint64_t nonce, const uint8_t key[WG_KEY_LEN]);
/* len includes the tag; 0, or -EBADMSG when the tag does not verify (dst is then wiped). */
int wg_aead_decrypt(uint8_t *dst, const void *src, size_t len, const void *ad, size_t adlen,
		    uint64_t nonce, const uint8_t key[WG_KEY_LEN]);

/* XChaCha20-Poly1305, for cookie replies (libsodium). */
void wg_xaead_encrypt(uint8_t *dst, const void *src, size_t len, const void *ad, size_t adlen,
		      const uint8_t nonce[WG_XNONCE_LEN], const uint8_t key[WG_KEY_LEN]);
int wg_xaead_decrypt(uint8_t *dst, const void *src, size_t len, const void *ad, size_t adlen,
		     const uint8_t nonce[WG_XNONCE_LEN], const uint8_t key[WG_KEY_LEN]);

/* Data path: ChaCha20-Poly1305 (RFC 8439) from OpenSSL's ChaCha20 and
 * Poly1305, no associated data; open checks the tag before decrypting.
 * Thread-safe: each thread keeps its own EVP contexts (thread-local), and
 * re-keys one only when the key differs from the last it used.
 * seal writes len + 16 bytes to dst; open takes len including the tag and
 * writes len - 16 bytes. In place (dst == src) allowed. 0 or -EBADMSG/-ENOMEM. */
int wg_data_seal(const uint8_t key[WG_KEY_LEN], uint64_t nonce, uint8_t *dst, const uint8_t *src, size_t len);
int wg_data_open(const uint8_t key[WG_KEY_LEN], uint64_t nonce, uint8_t *dst, const uint8_t *src, size_t len);
/* wg_data_seal in place, with the WG_DATA_SEAL_LEAD bytes before buf as
 * scratch (they are zero afterwards): the key stream block of the one-time
 * MAC key and the message's come out of one call, ~10 % cheaper on a
 * full-size packet. */
#define WG_DATA_SEAL_LEAD 64
int wg_data_seal_lead(const uint8_t key[WG_KEY_LEN], uint64_t nonce, uint8_t *buf, size_t len);

/* Wipes memory (sodium_memzero); constant-time compare (sodium_memcmp). */
void wg_wipe(void *p, size_t len);
bool wg_equal(const void *a, const void *b, size_t len);
void wg_random(void *p, size_t len);
uint32_t wg_random_u32(void);
uint32_t wg_random_uniform(uint32_t upper);

/* TAI64N of the wall clock, 12 bytes, big endian, as the paper's timestamp. */
void wg_tai64n_now(uint8_t out[12]);

#endif
