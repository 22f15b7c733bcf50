/* WireGuard keys (32 bytes) in their two text forms: base64 (wg, the API)
 * and lowercase hex (the UAPI). Parsers are strict: exact length, no
 * trailing characters. */
#ifndef COMMON_KEY_H
#define COMMON_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_LEN 32
#define KEY_B64_LEN 44   /* without the terminating NUL */
#define KEY_HEX_LEN 64

void key_to_base64(char out[KEY_B64_LEN + 1], const uint8_t key[KEY_LEN]);
int key_from_base64(uint8_t key[KEY_LEN], const char *s);   /* 0 or -EINVAL */
void key_to_hex(char out[KEY_HEX_LEN + 1], const uint8_t key[KEY_LEN]);
int key_from_hex(uint8_t key[KEY_LEN], const char *s);      /* 0 or -EINVAL */
/* Same as key_from_hex on exactly `len` characters (not NUL-terminated). */
int key_from_hex_n(uint8_t key[KEY_LEN], const char *s, size_t len);
bool key_is_zero(const uint8_t key[KEY_LEN]);               /* constant time */
bool key_equal(const uint8_t a[KEY_LEN], const uint8_t b[KEY_LEN]); /* constant time */

/* A new X25519 private key (clamped) and its public key. */
void key_generate(uint8_t priv[KEY_LEN], uint8_t pub[KEY_LEN]);
int key_public_from_private(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN]);

#endif
