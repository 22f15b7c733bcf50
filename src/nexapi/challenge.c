#include "nexapi/challenge.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/regproof.h"

#define NONCE_TIME 8
#define NONCE_RANDOM 16
#define NONCE_MAC 16

/* In guarded memory, read-only once set. */
struct challenge_secret {
	uint8_t priv[KEY_LEN];
	uint8_t nonce_key[32];
};

struct used_nonce {
	uint8_t random[NONCE_RANDOM];
	int64_t expires;
};

struct challenge {
	struct challenge_secret *secret;   /* NULL until challenge_set_key */
	uint8_t pub[KEY_LEN];
	struct used_nonce *used;           /* CHALLENGE_USED_MAX entries */
	size_t n_used;
};

int challenge_create(struct challenge **out)
{
	struct challenge *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->used = calloc(CHALLENGE_USED_MAX, sizeof(*c->used));
	if (!c->used) {
		free(c);
		return -ENOMEM;
	}
	*out = c;
	return 0;
}

void challenge_destroy(struct challenge *c)
{
	if (!c)
		return;
	sodium_free(c->secret);   /* wipes it */
	free(c->used);
	free(c);
}

int challenge_set_key(struct challenge *c, const uint8_t priv[KEY_LEN], const uint8_t pub[KEY_LEN])
{
	static const char label[] = "nexodus register nonce key v1";
	struct challenge_secret *s;

	if (c->secret)
		return -EALREADY;
	s = sodium_malloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	memcpy(s->priv, priv, KEY_LEN);
	crypto_generichash(s->nonce_key, sizeof(s->nonce_key), (const unsigned char *)label, sizeof(label) - 1,
			   priv, KEY_LEN);
	sodium_mprotect_readonly(s);
	c->secret = s;
	memcpy(c->pub, pub, KEY_LEN);
	return 0;
}

bool challenge_has_key(const struct challenge *c)
{
	return c->secret != NULL;
}

void challenge_server_key(const struct challenge *c, char out[KEY_B64_LEN + 1])
{
	key_to_base64(out, c->pub);
}

static void nonce_mac(const struct challenge *c, const uint8_t *n, uint8_t mac[NONCE_MAC])
{
	crypto_generichash(mac, NONCE_MAC, n, NONCE_TIME + NONCE_RANDOM, c->secret->nonce_key,
			   sizeof(c->secret->nonce_key));
}

void challenge_nonce(struct challenge *c, int64_t now, char out[CHALLENGE_NONCE_B64_LEN + 1])
{
	uint8_t n[CHALLENGE_NONCE_LEN];
	uint64_t t = (uint64_t)now;

	for (int i = 0; i < NONCE_TIME; i++)
		n[i] = (uint8_t)(t >> (56 - 8 * i));
	randombytes_buf(n + NONCE_TIME, NONCE_RANDOM);
	nonce_mac(c, n, n + NONCE_TIME + NONCE_RANDOM);
	sodium_bin2base64(out, CHALLENGE_NONCE_B64_LEN + 1, n, sizeof(n), sodium_base64_VARIANT_ORIGINAL);
}

/* Exactly `len` bytes from exactly `b64_len` characters of standard base64. */
static int decode(const char *b64, size_t b64_len, uint8_t *out, size_t len)
{
	size_t got = 0;
	const char *end = NULL;

	if (!b64 || strlen(b64) != b64_len)
		return -EBADMSG;
	if (sodium_base642bin(out, len, b64, b64_len, NULL, &got, &end, sodium_base64_VARIANT_ORIGINAL) ||
	    got != len || *end)
		return -EBADMSG;
	return 0;
}

/* Drops the remembered nonces that have expired. */
static void prune(struct challenge *c, int64_t now)
{
	size_t j = 0;

	for (size_t i = 0; i < c->n_used; i++)
		if (c->used[i].expires >= now)
			c->used[j++] = c->used[i];
	c->n_used = j;
}

int challenge_verify(struct challenge *c, int64_t now, const char *nonce_b64, const char *mac_b64,
		     const uint8_t dev_pub[KEY_LEN])
{
	uint8_t n[CHALLENGE_NONCE_LEN], want[NONCE_MAC], mac[REGPROOF_MAC_LEN];
	uint64_t t = 0;
	int64_t made;

	if (!c->secret)
		return -ENOKEY;
	/* cheap things first: lengths, then the nonce's own MAC, then time */
	if (decode(nonce_b64, CHALLENGE_NONCE_B64_LEN, n, sizeof(n)) ||
	    decode(mac_b64, CHALLENGE_MAC_B64_LEN, mac, sizeof(mac)))
		return -EBADMSG;
	nonce_mac(c, n, want);
	if (crypto_verify_16(want, n + NONCE_TIME + NONCE_RANDOM))
		return -EBADMSG;
	for (int i = 0; i < NONCE_TIME; i++)
		t = t << 8 | n[i];
	if (t > INT64_MAX)
		return -EBADMSG;
	made = (int64_t)t;
	if (made > now + CHALLENGE_SKEW || now - made > CHALLENGE_TTL)
		return -ETIMEDOUT;
	for (size_t i = 0; i < c->n_used; i++)
		if (!sodium_memcmp(c->used[i].random, n + NONCE_TIME, NONCE_RANDOM))
			return -EALREADY;
	if (regproof_verify(mac, c->secret->priv, dev_pub, n, sizeof(n)))
		return -EBADMSG;
	prune(c, now);
	if (c->n_used == CHALLENGE_USED_MAX)
		return -EBUSY;
	memcpy(c->used[c->n_used].random, n + NONCE_TIME, NONCE_RANDOM);
	c->used[c->n_used].expires = made + CHALLENGE_TTL;
	c->n_used++;
	return 0;
}
