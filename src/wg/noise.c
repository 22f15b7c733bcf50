/* Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s as WireGuard uses it (paper section
 * 5.4.2 to 5.4.5). Each step works on local copies of the chaining key and
 * hash and commits them to the handshake only when the whole message has
 * been processed, so a bad message leaves the state as it was. Every
 * temporary secret is wiped before returning. Nothing is allocated. */
#include "wg/noise.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "common/timeutil.h"
#include "wg/crypto.h"

static const char construction[] = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
static const char identifier[] = "WireGuard v1 zx2c4 Jason@zx2c4.com";

static uint8_t initial_chaining_key[NOISE_HASH_LEN];
static uint8_t initial_hash[NOISE_HASH_LEN];
static pthread_once_t initial_once = PTHREAD_ONCE_INIT;

static void initial_compute(void)
{
	/* Ci = HASH(CONSTRUCTION); Hi = HASH(Ci || IDENTIFIER) */
	wg_hash(initial_chaining_key, construction, sizeof(construction) - 1);
	wg_hash2(initial_hash, initial_chaining_key, NOISE_HASH_LEN, identifier, sizeof(identifier) - 1);
}

void noise_init(void)
{
	pthread_once(&initial_once, initial_compute);
}

/* The working copy of the symmetric state during one message. */
struct symmetric {
	uint8_t chaining_key[NOISE_HASH_LEN];
	uint8_t hash[NOISE_HASH_LEN];
	uint8_t key[NOISE_SYMMETRIC_KEY_LEN];
};

static void symmetric_wipe(struct symmetric *sym)
{
	wg_wipe(sym, sizeof(*sym));
}

/* C = Ci, H = HASH(Hi || S_pub of the responder). */
static void symmetric_start(struct symmetric *sym, const uint8_t responder_static[NOISE_PUBLIC_KEY_LEN])
{
	noise_init();
	memcpy(sym->chaining_key, initial_chaining_key, NOISE_HASH_LEN);
	wg_hash2(sym->hash, initial_hash, NOISE_HASH_LEN, responder_static, NOISE_PUBLIC_KEY_LEN);
	wg_wipe(sym->key, sizeof(sym->key));
}

static void symmetric_load(struct symmetric *sym, const uint8_t chaining_key[NOISE_HASH_LEN],
			   const uint8_t hash[NOISE_HASH_LEN])
{
	memcpy(sym->chaining_key, chaining_key, NOISE_HASH_LEN);
	memcpy(sym->hash, hash, NOISE_HASH_LEN);
	wg_wipe(sym->key, sizeof(sym->key));
}

static void mix_hash(struct symmetric *sym, const void *in, size_t len)
{
	wg_hash2(sym->hash, sym->hash, NOISE_HASH_LEN, in, len);
}

/* C, k = KDF2(C, in) */
static void mix_key(struct symmetric *sym, const void *in, size_t len)
{
	wg_kdf(sym->chaining_key, sym->key, NULL, sym->chaining_key, in, len);
}

/* The ephemeral step: C = KDF1(C, e); H = HASH(H || e). */
static void mix_ephemeral(struct symmetric *sym, const uint8_t e[NOISE_PUBLIC_KEY_LEN])
{
	wg_kdf(sym->chaining_key, NULL, NULL, sym->chaining_key, e, NOISE_PUBLIC_KEY_LEN);
	mix_hash(sym, e, NOISE_PUBLIC_KEY_LEN);
}

/* C, k = KDF2(C, DH(priv, pub)); false on a low-order point. */
static bool mix_dh(struct symmetric *sym, const uint8_t priv[NOISE_PUBLIC_KEY_LEN],
		   const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t shared[NOISE_PUBLIC_KEY_LEN];
	bool ok = wg_dh(shared, priv, pub) == 0;

	if (ok)
		mix_key(sym, shared, sizeof(shared));
	wg_wipe(shared, sizeof(shared));
	return ok;
}

static bool is_zero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

/* The static-static DH, precomputed; all zeros when it failed. */
static bool mix_precomputed_dh(struct symmetric *sym, const uint8_t precomputed[NOISE_PUBLIC_KEY_LEN])
{
	if (is_zero(precomputed, NOISE_PUBLIC_KEY_LEN))
		return false;
	mix_key(sym, precomputed, NOISE_PUBLIC_KEY_LEN);
	return true;
}

/* C, tau, k = KDF3(C, Q); H = HASH(H || tau) */
static void mix_psk(struct symmetric *sym, const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t tau[NOISE_HASH_LEN];

	wg_kdf(sym->chaining_key, tau, sym->key, sym->chaining_key, psk, NOISE_SYMMETRIC_KEY_LEN);
	mix_hash(sym, tau, sizeof(tau));
	wg_wipe(tau, sizeof(tau));
}

/* dst = AEAD(k, 0, src, H); H = HASH(H || dst) */
static void encrypt_and_hash(struct symmetric *sym, uint8_t *dst, const void *src, size_t len)
{
	wg_aead_encrypt(dst, src, len, sym->hash, NOISE_HASH_LEN, 0, sym->key);
	mix_hash(sym, dst, NOISE_ENCRYPTED_LEN(len));
}

/* dst = AEAD-open(k, 0, src, H); H = HASH(H || src). len is the plaintext's. */
static bool decrypt_and_hash(struct symmetric *sym, uint8_t *dst, const uint8_t *src, size_t len)
{
	if (wg_aead_decrypt(dst, src, NOISE_ENCRYPTED_LEN(len), sym->hash, NOISE_HASH_LEN, 0, sym->key) != 0)
		return false;
	mix_hash(sym, src, NOISE_ENCRYPTED_LEN(len));
	return true;
}

void noise_handshake_clear(struct noise_handshake *hs)
{
	wg_wipe(hs->ephemeral_private, sizeof(hs->ephemeral_private));
	wg_wipe(hs->remote_ephemeral, sizeof(hs->remote_ephemeral));
	wg_wipe(hs->hash, sizeof(hs->hash));
	wg_wipe(hs->chaining_key, sizeof(hs->chaining_key));
	hs->remote_index = 0;
	hs->state = HANDSHAKE_ZEROED;
}

void noise_handshake_precompute(struct noise_handshake *hs, const struct noise_static_identity *id)
{
	if (!id || !id->has_identity ||
	    wg_dh(hs->precomputed_static_static, id->static_private, hs->remote_static) != 0)
		wg_wipe(hs->precomputed_static_static, sizeof(hs->precomputed_static_static));
	noise_handshake_clear(hs);
}

void noise_handshake_set_psk(struct noise_handshake *hs, const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	if (psk)
		memcpy(hs->preshared_key, psk, NOISE_SYMMETRIC_KEY_LEN);
	else
		wg_wipe(hs->preshared_key, NOISE_SYMMETRIC_KEY_LEN);
}

void noise_handshake_init(struct noise_handshake *hs, const struct noise_static_identity *id,
			  const uint8_t remote_static[NOISE_PUBLIC_KEY_LEN],
			  const uint8_t psk[NOISE_SYMMETRIC_KEY_LEN])
{
	wg_wipe(hs, sizeof(*hs));
	memcpy(hs->remote_static, remote_static, NOISE_PUBLIC_KEY_LEN);
	noise_handshake_set_psk(hs, psk);
	noise_handshake_precompute(hs, id);
}

int noise_create_initiation(struct message_handshake_initiation *dst, struct noise_handshake *hs,
			    const struct noise_static_identity *id)
{
	struct symmetric sym;
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t ephemeral_public[NOISE_PUBLIC_KEY_LEN];
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	int ret = -EINVAL;

	if (!id || !id->has_identity || is_zero(hs->precomputed_static_static, NOISE_PUBLIC_KEY_LEN))
		return -EINVAL;

	memset(dst, 0, sizeof(*dst));
	le32_store(&dst->header.type, MESSAGE_HANDSHAKE_INITIATION);
	le32_store(&dst->sender_index, hs->local_index);
	symmetric_start(&sym, hs->remote_static);

	/* e */
	wg_dh_generate(ephemeral_private, ephemeral_public);
	memcpy(dst->unencrypted_ephemeral, ephemeral_public, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(&sym, ephemeral_public);

	/* es, then s */
	if (!mix_dh(&sym, ephemeral_private, hs->remote_static))
		goto out_wipe;
	encrypt_and_hash(&sym, dst->encrypted_static, id->static_public, NOISE_PUBLIC_KEY_LEN);

	/* ss, then the timestamp */
	if (!mix_precomputed_dh(&sym, hs->precomputed_static_static))
		goto out_wipe;
	wg_tai64n_now(timestamp);
	encrypt_and_hash(&sym, dst->encrypted_timestamp, timestamp, NOISE_TIMESTAMP_LEN);

	memcpy(hs->ephemeral_private, ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->hash, sym.hash, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, sym.chaining_key, NOISE_HASH_LEN);
	hs->remote_index = 0;
	hs->state = HANDSHAKE_CREATED_INITIATION;
	ret = 0;
out_wipe:
	if (ret)
		wg_wipe(dst, sizeof(*dst));
	symmetric_wipe(&sym);
	wg_wipe(ephemeral_private, sizeof(ephemeral_private));
	wg_wipe(timestamp, sizeof(timestamp));
	return ret;
}

int noise_consume_initiation_begin(const struct message_handshake_initiation *src,
				   const struct noise_static_identity *id,
				   struct noise_initiation_scratch *s)
{
	struct symmetric sym;
	int ret = -EBADMSG;

	wg_wipe(s, sizeof(*s));
	if (!id || !id->has_identity || le32_load(&src->header.type) != MESSAGE_HANDSHAKE_INITIATION)
		return -EINVAL;

	symmetric_start(&sym, id->static_public);

	/* e */
	memcpy(s->remote_ephemeral, src->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(&sym, s->remote_ephemeral);

	/* es, then s */
	if (!mix_dh(&sym, id->static_private, s->remote_ephemeral))
		goto out_wipe;
	if (!decrypt_and_hash(&sym, s->remote_static, src->encrypted_static, NOISE_PUBLIC_KEY_LEN))
		goto out_wipe;

	memcpy(s->hash, sym.hash, NOISE_HASH_LEN);
	memcpy(s->chaining_key, sym.chaining_key, NOISE_HASH_LEN);
	s->sender_index = le32_load(&src->sender_index);
	s->msg = src;
	ret = 0;
out_wipe:
	if (ret)
		wg_wipe(s, sizeof(*s));
	symmetric_wipe(&sym);
	return ret;
}

int noise_consume_initiation_finish(struct noise_initiation_scratch *s, struct noise_handshake *hs,
				    uint64_t now_ns)
{
	struct symmetric sym;
	uint8_t timestamp[NOISE_TIMESTAMP_LEN];
	bool flood;
	int ret = -EINVAL;

	if (!s->msg || !wg_equal(s->remote_static, hs->remote_static, NOISE_PUBLIC_KEY_LEN))
		goto out_wipe_scratch;
	symmetric_load(&sym, s->chaining_key, s->hash);

	/* ss, then the timestamp */
	if (!mix_precomputed_dh(&sym, hs->precomputed_static_static))
		goto out_wipe;
	ret = -EBADMSG;
	if (!decrypt_and_hash(&sym, timestamp, s->msg->encrypted_timestamp, NOISE_TIMESTAMP_LEN))
		goto out_wipe;

	/* A timestamp must be strictly newer than the last accepted one (the
	 * big-endian TAI64N label compares as bytes), and initiations may not
	 * come faster than INITIATIONS_PER_SECOND; 0 means none yet. */
	ret = -EALREADY;
	if (memcmp(timestamp, hs->latest_timestamp, NOISE_TIMESTAMP_LEN) <= 0)
		goto out_wipe;
	flood = hs->last_initiation_consumption_ns != 0 &&
		hs->last_initiation_consumption_ns + NSEC_PER_SEC / INITIATIONS_PER_SECOND > now_ns;
	ret = -EBUSY;
	if (flood)
		goto out_wipe;

	memcpy(hs->remote_ephemeral, s->remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->latest_timestamp, timestamp, NOISE_TIMESTAMP_LEN);
	memcpy(hs->hash, sym.hash, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, sym.chaining_key, NOISE_HASH_LEN);
	hs->remote_index = s->sender_index;
	if (now_ns > hs->last_initiation_consumption_ns)
		hs->last_initiation_consumption_ns = now_ns;
	hs->state = HANDSHAKE_CONSUMED_INITIATION;
	ret = 0;
out_wipe:
	symmetric_wipe(&sym);
	wg_wipe(timestamp, sizeof(timestamp));
out_wipe_scratch:
	wg_wipe(s, sizeof(*s));
	return ret;
}

int noise_create_response(struct message_handshake_response *dst, struct noise_handshake *hs)
{
	struct symmetric sym;
	uint8_t ephemeral_private[NOISE_PUBLIC_KEY_LEN];
	uint8_t ephemeral_public[NOISE_PUBLIC_KEY_LEN];
	int ret = -EINVAL;

	if (hs->state != HANDSHAKE_CONSUMED_INITIATION)
		return -EINVAL;

	memset(dst, 0, sizeof(*dst));
	le32_store(&dst->header.type, MESSAGE_HANDSHAKE_RESPONSE);
	le32_store(&dst->sender_index, hs->local_index);
	le32_store(&dst->receiver_index, hs->remote_index);
	symmetric_load(&sym, hs->chaining_key, hs->hash);

	/* e */
	wg_dh_generate(ephemeral_private, ephemeral_public);
	memcpy(dst->unencrypted_ephemeral, ephemeral_public, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(&sym, ephemeral_public);

	/* ee, se */
	if (!mix_dh(&sym, ephemeral_private, hs->remote_ephemeral))
		goto out_wipe;
	if (!mix_dh(&sym, ephemeral_private, hs->remote_static))
		goto out_wipe;

	/* psk, then the empty payload */
	mix_psk(&sym, hs->preshared_key);
	encrypt_and_hash(&sym, dst->encrypted_nothing, NULL, 0);

	memcpy(hs->ephemeral_private, ephemeral_private, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->hash, sym.hash, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, sym.chaining_key, NOISE_HASH_LEN);
	hs->state = HANDSHAKE_CREATED_RESPONSE;
	ret = 0;
out_wipe:
	if (ret)
		wg_wipe(dst, sizeof(*dst));
	symmetric_wipe(&sym);
	wg_wipe(ephemeral_private, sizeof(ephemeral_private));
	return ret;
}

int noise_consume_response(const struct message_handshake_response *src, struct noise_handshake *hs,
			   const struct noise_static_identity *id)
{
	struct symmetric sym;
	uint8_t remote_ephemeral[NOISE_PUBLIC_KEY_LEN];
	uint8_t nothing[1];
	int ret = -EBADMSG;

	if (!id || !id->has_identity || hs->state != HANDSHAKE_CREATED_INITIATION ||
	    le32_load(&src->header.type) != MESSAGE_HANDSHAKE_RESPONSE ||
	    le32_load(&src->receiver_index) != hs->local_index)
		return -EINVAL;

	symmetric_load(&sym, hs->chaining_key, hs->hash);

	/* e */
	memcpy(remote_ephemeral, src->unencrypted_ephemeral, NOISE_PUBLIC_KEY_LEN);
	mix_ephemeral(&sym, remote_ephemeral);

	/* ee, se */
	if (!mix_dh(&sym, hs->ephemeral_private, remote_ephemeral))
		goto out_wipe;
	if (!mix_dh(&sym, id->static_private, remote_ephemeral))
		goto out_wipe;

	/* psk, then the empty payload */
	mix_psk(&sym, hs->preshared_key);
	if (!decrypt_and_hash(&sym, nothing, src->encrypted_nothing, 0))
		goto out_wipe;

	memcpy(hs->remote_ephemeral, remote_ephemeral, NOISE_PUBLIC_KEY_LEN);
	memcpy(hs->hash, sym.hash, NOISE_HASH_LEN);
	memcpy(hs->chaining_key, sym.chaining_key, NOISE_HASH_LEN);
	hs->remote_index = le32_load(&src->sender_index);
	hs->state = HANDSHAKE_CONSUMED_RESPONSE;
	ret = 0;
out_wipe:
	symmetric_wipe(&sym);
	return ret;
}

int noise_derive_session(struct noise_handshake *hs, struct noise_session *out)
{
	uint8_t first[NOISE_SYMMETRIC_KEY_LEN], second[NOISE_SYMMETRIC_KEY_LEN];
	bool initiator;

	if (hs->state == HANDSHAKE_CONSUMED_RESPONSE)
		initiator = true;
	else if (hs->state == HANDSHAKE_CREATED_RESPONSE)
		initiator = false;
	else
		return -EINVAL;

	/* T_send(i) = T_recv(r), T_recv(i) = T_send(r) = KDF2(C, empty) */
	wg_kdf(first, second, NULL, hs->chaining_key, NULL, 0);
	memcpy(out->sending_key, initiator ? first : second, NOISE_SYMMETRIC_KEY_LEN);
	memcpy(out->receiving_key, initiator ? second : first, NOISE_SYMMETRIC_KEY_LEN);
	out->local_index = hs->local_index;
	out->remote_index = hs->remote_index;
	out->initiator = initiator;
	wg_wipe(first, sizeof(first));
	wg_wipe(second, sizeof(second));
	noise_handshake_clear(hs);
	return 0;
}
