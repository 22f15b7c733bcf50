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

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "common/timeutil.h"

#define HMAC_BLOCK_LEN BLAKE2S_BLOCKBYTES
#define AEAD_NONCE_LEN 12

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

/* The data path. Each thread owns two EVP contexts, one per direction, keyed
 * with the key it last used; a packet under the same key only sets the IV.
 * A pthread key's destructor frees them when the thread exits; the __thread
 * pointer makes the lookup free on the packet path. */
struct evp_slot {
	EVP_CIPHER_CTX *ctx;
	uint8_t key[WG_KEY_LEN];
	bool keyed;
};

struct evp_thread {
	struct evp_slot seal, open;
};

static pthread_key_t evp_key;
static pthread_once_t evp_once = PTHREAD_ONCE_INIT;
static __thread struct evp_thread *evp_self;

static void evp_slot_free(struct evp_slot *s)
{
	EVP_CIPHER_CTX_free(s->ctx);
	sodium_memzero(s->key, sizeof(s->key));
	s->ctx = NULL;
	s->keyed = false;
}

static void evp_thread_free(void *p)
{
	struct evp_thread *t = p;

	evp_slot_free(&t->seal);
	evp_slot_free(&t->open);
	free(t);
}

static void evp_key_create(void)
{
	if (pthread_key_create(&evp_key, evp_thread_free) != 0)
		abort();
}

static struct evp_thread *evp_thread_get(void)
{
	struct evp_thread *t;

	if (evp_self)
		return evp_self;
	pthread_once(&evp_once, evp_key_create);
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->seal.ctx = EVP_CIPHER_CTX_new();
	t->open.ctx = EVP_CIPHER_CTX_new();
	if (!t->seal.ctx || !t->open.ctx || pthread_setspecific(evp_key, t) != 0) {
		evp_thread_free(t);
		return NULL;
	}
	evp_self = t;
	return t;
}

/* Prepares the slot for one packet: key (when changed) and IV, and for
 * opening the expected tag, in one EVP_CipherInit_ex2 call. OpenSSL 3's
 * EVP_CIPHER_CTX_ctrl builds and looks up parameters on every call: about
 * 15 % of sealing a full-size packet; the params calls skip the wrapper. */
static int evp_slot_begin(struct evp_slot *s, const uint8_t key[WG_KEY_LEN], uint64_t nonce, int enc,
			  uint8_t tag[WG_TAG_LEN])
{
	OSSL_PARAM params[2] = { OSSL_PARAM_END, OSSL_PARAM_END };
	uint8_t iv[AEAD_NONCE_LEN];

	if (!s->keyed || memcmp(s->key, key, WG_KEY_LEN) != 0) {
		s->keyed = false;
		if (EVP_CipherInit_ex2(s->ctx, EVP_chacha20_poly1305(), key, NULL, enc, NULL) != 1)
			return -ENOMEM;
		memcpy(s->key, key, WG_KEY_LEN);
		s->keyed = true;
	}
	if (tag)
		params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, WG_TAG_LEN);
	aead_nonce(iv, nonce);
	if (EVP_CipherInit_ex2(s->ctx, NULL, NULL, iv, enc, tag ? params : NULL) != 1)
		return -ENOMEM;
	return 0;
}

int wg_data_seal(const uint8_t key[WG_KEY_LEN], uint64_t nonce, uint8_t *dst, const uint8_t *src, size_t len)
{
	struct evp_thread *t = evp_thread_get();
	OSSL_PARAM params[2] = { OSSL_PARAM_END, OSSL_PARAM_END };
	int outl, ret;

	if (!t)
		return -ENOMEM;
	if (len > INT_MAX - WG_TAG_LEN)
		return -EMSGSIZE;
	ret = evp_slot_begin(&t->seal, key, nonce, 1, NULL);
	if (ret)
		return ret;
	if (len && (EVP_EncryptUpdate(t->seal.ctx, dst, &outl, src, (int)len) != 1 || (size_t)outl != len))
		goto err;
	if (EVP_EncryptFinal_ex(t->seal.ctx, dst + len, &outl) != 1)
		goto err;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, dst + len, WG_TAG_LEN);
	if (EVP_CIPHER_CTX_get_params(t->seal.ctx, params) != 1)
		goto err;
	return 0;
err:
	t->seal.keyed = false;
	return -ENOMEM;
}

int wg_data_open(const uint8_t key[WG_KEY_LEN], uint64_t nonce, uint8_t *dst, const uint8_t *src, size_t len)
{
	struct evp_thread *t = evp_thread_get();
	uint8_t tag[WG_TAG_LEN];
	size_t plain_len;
	int outl, ret;

	if (!t)
		return -ENOMEM;
	if (len < WG_TAG_LEN)
		return -EBADMSG;
	if (len > INT_MAX)
		return -EMSGSIZE;
	plain_len = len - WG_TAG_LEN;
	/* Read the tag first: in place, the plaintext does not reach it, but
	 * keep it independent of dst anyway. */
	memcpy(tag, src + plain_len, WG_TAG_LEN);
	ret = evp_slot_begin(&t->open, key, nonce, 0, tag);
	if (ret) {
		t->open.keyed = false;
		return ret;
	}
	if (plain_len &&
	    (EVP_DecryptUpdate(t->open.ctx, dst, &outl, src, (int)plain_len) != 1 || (size_t)outl != plain_len))
		goto err_reset;
	if (EVP_DecryptFinal_ex(t->open.ctx, dst + plain_len, &outl) != 1) {
		sodium_memzero(dst, plain_len);
		return -EBADMSG;
	}
	return 0;
err_reset:
	t->open.keyed = false;
	sodium_memzero(dst, plain_len);
	return -ENOMEM;
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
