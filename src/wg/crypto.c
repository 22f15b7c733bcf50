/* WireGuard's primitives over libb2, libsodium and OpenSSL (see crypto.h).
 * Nothing here implements a primitive; this file only adapts calling
 * conventions: the paper's HMAC and KDF over BLAKE2s, WireGuard's nonce
 * layout, and a per-thread OpenSSL context for the data path. */
#include "wg/crypto.h"

#include <blake2.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "common/timeutil.h"

#define HMAC_BLOCK_LEN BLAKE2S_BLOCKBYTES
#define AEAD_NONCE_LEN 12
#define CHACHA_BLOCK_LEN 64

int wg_crypto_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

/* libb2 only fails on invalid arguments (a NULL pointer with a length, an
 * oversized key or output), which our callers never pass. */
void wg_hash(uint8_t out[WG_HASH_LEN], const void *in, size_t len)
{
	blake2s(out, in, NULL, WG_HASH_LEN, len, 0);
}

void wg_hash2(uint8_t out[WG_HASH_LEN], const void *a, size_t alen, const void *b, size_t blen)
{
	blake2s_state st;

	blake2s_init(&st, WG_HASH_LEN);
	blake2s_update(&st, a, alen);
	blake2s_update(&st, b, blen);
	blake2s_final(&st, out, WG_HASH_LEN);
	sodium_memzero(&st, sizeof(st));
}

void wg_mac(uint8_t out[16], const uint8_t *key, size_t keylen, const void *in, size_t len)
{
	blake2s(out, in, key, 16, len, keylen);
}

void wg_hmac(uint8_t out[WG_HASH_LEN], const uint8_t *key, size_t keylen, const void *in, size_t len)
{
	uint8_t x_key[HMAC_BLOCK_LEN] = { 0 };
	uint8_t i_hash[WG_HASH_LEN];
	blake2s_state st;
	size_t i;

	if (keylen > HMAC_BLOCK_LEN)
		wg_hash(x_key, key, keylen);
	else if (keylen)
		memcpy(x_key, key, keylen);

	for (i = 0; i < HMAC_BLOCK_LEN; i++)
		x_key[i] ^= 0x36;
	blake2s_init(&st, WG_HASH_LEN);
	blake2s_update(&st, x_key, HMAC_BLOCK_LEN);
	blake2s_update(&st, in, len);
	blake2s_final(&st, i_hash, WG_HASH_LEN);

	for (i = 0; i < HMAC_BLOCK_LEN; i++)
		x_key[i] ^= 0x5c ^ 0x36;
	blake2s_init(&st, WG_HASH_LEN);
	blake2s_update(&st, x_key, HMAC_BLOCK_LEN);
	blake2s_update(&st, i_hash, WG_HASH_LEN);
	blake2s_final(&st, out, WG_HASH_LEN);

	sodium_memzero(x_key, sizeof(x_key));
	sodium_memzero(i_hash, sizeof(i_hash));
	sodium_memzero(&st, sizeof(st));
}

/* Outputs are written last, so any of them may alias ck or in. */
void wg_kdf(uint8_t *t1, uint8_t *t2, uint8_t *t3, const uint8_t ck[WG_HASH_LEN], const void *in, size_t len)
{
	uint8_t secret[WG_HASH_LEN];
	uint8_t out[WG_HASH_LEN + 1];
	uint8_t o1[WG_HASH_LEN], o2[WG_HASH_LEN] = { 0 };

	wg_hmac(secret, ck, WG_HASH_LEN, in, len);

	out[0] = 1;
	wg_hmac(o1, secret, WG_HASH_LEN, out, 1);
	if (!t2 && !t3)
		goto out;

	memcpy(out, o1, WG_HASH_LEN);
	out[WG_HASH_LEN] = 2;
	wg_hmac(o2, secret, WG_HASH_LEN, out, WG_HASH_LEN + 1);
	if (!t3)
		goto out;

	memcpy(out, o2, WG_HASH_LEN);
	out[WG_HASH_LEN] = 3;
	wg_hmac(out, secret, WG_HASH_LEN, out, WG_HASH_LEN + 1);
	memcpy(t3, out, WG_HASH_LEN);
out:
	if (t1)
		memcpy(t1, o1, WG_HASH_LEN);
	if (t2)
		memcpy(t2, o2, WG_HASH_LEN);
	sodium_memzero(secret, sizeof(secret));
	sodium_memzero(out, sizeof(out));
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
}

int wg_dh(uint8_t out[WG_KEY_LEN], const uint8_t priv[WG_KEY_LEN], const uint8_t pub[WG_KEY_LEN])
{
	uint8_t shared[WG_KEY_LEN];

	/* libsodium refuses an all-zero result itself; check it again anyway. */
	if (crypto_scalarmult(shared, priv, pub) != 0 || sodium_is_zero(shared, sizeof(shared))) {
		sodium_memzero(shared, sizeof(shared));
		return -EINVAL;
	}
	memcpy(out, shared, WG_KEY_LEN);
	sodium_memzero(shared, sizeof(shared));
	return 0;
}

void wg_dh_generate(uint8_t priv[WG_KEY_LEN], uint8_t pub[WG_KEY_LEN])
{
	randombytes_buf(priv, WG_KEY_LEN);
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	crypto_scalarmult_base(pub, priv);
}

static void aead_nonce(uint8_t n[AEAD_NONCE_LEN], uint64_t counter)
{
	memset(n, 0, 4);
	for (int i = 0; i < 8; i++)
		n[4 + i] = (uint8_t)(counter >> (8 * i));
}

/* libsodium accepts NULL with a zero length, but let it never see one. */
static const uint8_t empty[1];
#define NONNULL(p) ((p) ? (const unsigned char *)(p) : empty)

void wg_aead_encrypt(uint8_t *dst, const void *src, size_t len, const void *ad, size_t adlen,
		     uint64_t nonce, const uint8_t key[WG_KEY_LEN])
{
	uint8_t n[AEAD_NONCE_LEN];

	aead_nonce(n, nonce);
	crypto_aead_chacha20poly1305_ietf_encrypt(dst, NULL, NONNULL(src), len, NONNULL(ad), adlen, NULL, n, key);
}

int wg_aead_decrypt(uint8_t *dst, const void *src, size_t len, const void *ad, size_t adlen,
		    uint64_t nonce, const uint8_t key[WG_KEY_LEN])
{
	uint8_t n[AEAD_NONCE_LEN];

	if (len < WG_TAG_LEN)
		return -EBADMSG;
	aead_nonce(n, nonce);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, NONNULL(ad), adlen, n, key) != 0) {
		sodium_memzero(dst, len - WG_TAG_LEN);
		return -EBADMSG;
	}
	return 0;
}

void wg_xaead_encrypt(uint8_t *dst, const void *src, size_t len, const void *ad, size_t adlen,
		      const uint8_t nonce[WG_XNONCE_LEN], const uint8_t key[WG_KEY_LEN])
{
	crypto_aead_xchacha20poly1305_ietf_encrypt(dst, NULL, NONNULL(src), len, NONNULL(ad), adlen, NULL, nonce,
						   key);
}

int wg_xaead_decrypt(uint8_t *dst, const void *src, size_t len, const void *ad, size_t adlen,
		     const uint8_t nonce[WG_XNONCE_LEN], const uint8_t key[WG_KEY_LEN])
{
	if (len < WG_TAG_LEN)
		return -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(dst, NULL, NULL, src, len, NONNULL(ad), adlen, nonce, key) !=
	    0) {
		sodium_memzero(dst, len - WG_TAG_LEN);
		return -EBADMSG;
	}
	return 0;
}

/* The data path: RFC 8439's AEAD construction (section 2.8) over OpenSSL's
 * ChaCha20 and Poly1305 primitives, no associated data. OpenSSL's own
 * chacha20-poly1305 cipher spends about as long per packet on its
 * parameter plumbing as on the cryptography (a 1424-byte seal: 1,000 ns
 * through EVP_chacha20_poly1305, 630-700 ns this way, on our CPU); the
 * primitives themselves are OpenSSL's assembly either way.
 *
 * Each thread owns a ChaCha20 context keyed with the key it last used (a
 * packet under the same key only sets the IV) and a Poly1305 MAC context.
 * A pthread key's destructor frees them when the thread exits; the
 * __thread pointer makes the lookup free on the packet path. */
struct evp_thread {
	EVP_CIPHER_CTX *chacha;
	EVP_MAC_CTX *poly;
	uint8_t key[WG_KEY_LEN];
	bool keyed;
};

static pthread_key_t evp_key;
static pthread_once_t evp_once = PTHREAD_ONCE_INIT;
static EVP_MAC *poly1305_mac;
static __thread struct evp_thread *evp_self;

static void evp_thread_free(void *p)
{
	struct evp_thread *t = p;

	EVP_CIPHER_CTX_free(t->chacha);
	EVP_MAC_CTX_free(t->poly);
	sodium_memzero(t, sizeof(*t));
	free(t);
}

static void evp_key_create(void)
{
	if (pthread_key_create(&evp_key, evp_thread_free) != 0)
		abort();
	poly1305_mac = EVP_MAC_fetch(NULL, "POLY1305", NULL);
}

static struct evp_thread *evp_thread_get(void)
{
	struct evp_thread *t;

	if (evp_self)
		return evp_self;
	pthread_once(&evp_once, evp_key_create);
	if (!poly1305_mac)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->chacha = EVP_CIPHER_CTX_new();
	t->poly = EVP_MAC_CTX_new(poly1305_mac);
	if (!t->chacha || !t->poly || pthread_setspecific(evp_key, t) != 0) {
		evp_thread_free(t);
		return NULL;
	}
	evp_self = t;
	return t;
}

/* Starts the ChaCha20 key stream of a packet at block 0 (re-keying the
 * thread's context only when the key changed). OpenSSL's ChaCha20 IV is the
 * 32-bit little-endian block counter followed by the 96-bit nonce. */
static int chacha_start(struct evp_thread *t, const uint8_t key[WG_KEY_LEN], uint64_t nonce)
{
	uint8_t iv[16] = { 0 };

	aead_nonce(iv + 4, nonce);
	if (!t->keyed || memcmp(t->key, key, WG_KEY_LEN) != 0) {
		t->keyed = false;
		if (EVP_CipherInit_ex2(t->chacha, EVP_chacha20(), key, iv, 1, NULL) != 1)
			return -ENOMEM;
		memcpy(t->key, key, WG_KEY_LEN);
		t->keyed = true;
	} else if (EVP_CipherInit_ex2(t->chacha, NULL, NULL, iv, 1, NULL) != 1) {
		t->keyed = false;
		return -ENOMEM;
	}
	return 0;
}

/* Starts the key stream and takes the Poly1305 one-time key from block 0
 * (RFC 8439 2.6); the stream goes on at block 1, where the message starts. */
static int data_begin(struct evp_thread *t, const uint8_t key[WG_KEY_LEN], uint64_t nonce,
		      uint8_t poly_key[CHACHA_BLOCK_LEN])
{
	static const uint8_t zeros[CHACHA_BLOCK_LEN];
	int outl, ret = chacha_start(t, key, nonce);

	if (ret)
		return ret;
	if (EVP_CipherUpdate(t->chacha, poly_key, &outl, zeros, CHACHA_BLOCK_LEN) != 1 || outl != CHACHA_BLOCK_LEN) {
		t->keyed = false;
		return -ENOMEM;
	}
	return 0;
}

/* Poly1305 over ct, pad16(ct), le64(0) (no associated data), le64(len).
 * The tail of ct that is not a whole block goes with the padding and the
 * lengths in one buffer, and so do the last 16 whole bytes when there are
 * any: OpenSSL's vector Poly1305 is much slower on a lone 16-byte update
 * after a long one (a third of the MAC of a 1424-byte packet). */
static int data_mac(struct evp_thread *t, const uint8_t poly_key[32], const uint8_t *ct, size_t len,
		    uint8_t tag[WG_TAG_LEN])
{
	uint8_t tail[48] = { 0 };
	size_t head = len & ~(size_t)15, rest, outl;

	if (head >= 16)
		head -= 16;
	rest = len - head;                             /* 0..31 bytes of ct */
	memcpy(tail, ct + head, rest);
	rest = (rest + 15) & ~(size_t)15;              /* padded */
	for (int i = 0; i < 8; i++)
		tail[rest + 8 + i] = (uint8_t)((uint64_t)len >> (8 * i));
	rest += 16;
	if (EVP_MAC_init(t->poly, poly_key, 32, NULL) != 1 || (head && EVP_MAC_update(t->poly, ct, head) != 1) ||
	    EVP_MAC_update(t->poly, tail, rest) != 1 || EVP_MAC_final(t->poly, tag, &outl, WG_TAG_LEN) != 1 ||
	    outl != WG_TAG_LEN)
		return -ENOMEM;
	return 0;
}

int wg_data_seal(const uint8_t key[WG_KEY_LEN], uint64_t nonce, uint8_t *dst, const uint8_t *src, size_t len)
{
	struct evp_thread *t = evp_thread_get();
	uint8_t poly_key[CHACHA_BLOCK_LEN], tag[WG_TAG_LEN];
	int outl, ret;

	if (!t)
		return -ENOMEM;
	if (len > INT_MAX - WG_TAG_LEN)
		return -EMSGSIZE;
	ret = data_begin(t, key, nonce, poly_key);
	if (ret)
		return ret;
	if (len && (EVP_CipherUpdate(t->chacha, dst, &outl, src, (int)len) != 1 || (size_t)outl != len)) {
		t->keyed = false;
		ret = -ENOMEM;
	}
	if (!ret)
		ret = data_mac(t, poly_key, dst, len, tag);
	sodium_memzero(poly_key, sizeof(poly_key));
	if (!ret)
		memcpy(dst + len, tag, WG_TAG_LEN);
	return ret;
}

int wg_data_seal_lead(const uint8_t key[WG_KEY_LEN], uint64_t nonce, uint8_t *buf, size_t len)
{
	struct evp_thread *t = evp_thread_get();
	uint8_t *lead = buf - WG_DATA_SEAL_LEAD, poly_key[32], tag[WG_TAG_LEN];
	int outl, ret;

	if (!t)
		return -ENOMEM;
	if (len > INT_MAX - WG_DATA_SEAL_LEAD - WG_TAG_LEN)
		return -EMSGSIZE;
	ret = chacha_start(t, key, nonce);
	if (ret)
		return ret;
	/* Block 0 over the zeroed lead, the message from block 1 on: one call. */
	memset(lead, 0, WG_DATA_SEAL_LEAD);
	if (EVP_CipherUpdate(t->chacha, lead, &outl, lead, (int)(WG_DATA_SEAL_LEAD + len)) != 1 ||
	    (size_t)outl != WG_DATA_SEAL_LEAD + len) {
		t->keyed = false;
		ret = -ENOMEM;
	}
	memcpy(poly_key, lead, sizeof(poly_key));
	sodium_memzero(lead, WG_DATA_SEAL_LEAD);
	if (!ret)
		ret = data_mac(t, poly_key, buf, len, tag);
	sodium_memzero(poly_key, sizeof(poly_key));
	if (!ret)
		memcpy(buf + len, tag, WG_TAG_LEN);
	return ret;
}

/* The tag is checked (in constant time) before anything is decrypted: a
 * forged packet costs a MAC, never a decryption, and leaves dst as it was. */
int wg_data_open(const uint8_t key[WG_KEY_LEN], uint64_t nonce, uint8_t *dst, const uint8_t *src, size_t len)
{
	struct evp_thread *t = evp_thread_get();
	uint8_t poly_key[CHACHA_BLOCK_LEN], tag[WG_TAG_LEN];
	size_t plain_len;
	int outl, ret;

	if (!t)
		return -ENOMEM;
	if (len < WG_TAG_LEN)
		return -EBADMSG;
	if (len > INT_MAX)
		return -EMSGSIZE;
	plain_len = len - WG_TAG_LEN;
	ret = data_begin(t, key, nonce, poly_key);
	if (ret)
		return ret;
	ret = data_mac(t, poly_key, src, plain_len, tag);
	sodium_memzero(poly_key, sizeof(poly_key));
	if (ret)
		return ret;
	if (CRYPTO_memcmp(tag, src + plain_len, WG_TAG_LEN) != 0)
		return -EBADMSG;
	if (plain_len && (EVP_CipherUpdate(t->chacha, dst, &outl, src, (int)plain_len) != 1 ||
			  (size_t)outl != plain_len)) {
		t->keyed = false;
		sodium_memzero(dst, plain_len);
		return -ENOMEM;
	}
	return 0;
}

void wg_wipe(void *p, size_t len)
{
	sodium_memzero(p, len);
}

bool wg_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

void wg_random(void *p, size_t len)
{
	randombytes_buf(p, len);
}

uint32_t wg_random_u32(void)
{
	return randombytes_random();
}

uint32_t wg_random_uniform(uint32_t upper)
{
	return randombytes_uniform(upper);
}

/* TAI64N label: 2^62 + 10 + Unix seconds, then nanoseconds, both big endian.
 * Nanoseconds are rounded down to a multiple of 2^24 (the largest power of
 * two below 1 s / INITIATIONS_PER_SECOND) so the timestamp does not leak
 * precise timing, as the Linux module does. */
void wg_tai64n_now(uint8_t out[12])
{
	uint64_t now = time_wall_ns();
	uint64_t secs = 0x400000000000000aULL + now / NSEC_PER_SEC;
	uint32_t nsec = (uint32_t)(now % NSEC_PER_SEC) & ~((1U << 24) - 1);

	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(secs >> (56 - 8 * i));
	for (int i = 0; i < 4; i++)
		out[8 + i] = (uint8_t)(nsec >> (24 - 8 * i));
}
