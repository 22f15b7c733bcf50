/* mac1, mac2 and cookie replies (paper sections 5.4.4 and 5.4.7).
 *
 *   mac1 key   = HASH("mac1----" || S_pub of the responder)
 *   cookie key = HASH("cookie--" || S_pub of the responder)
 *   mac1       = MAC(mac1 key, msg[0 : len - 32])
 *   mac2       = MAC(cookie,   msg[0 : len - 16])
 *   cookie     = MAC(secret, source IP bytes || source port, big endian),
 *                the secret rotated every COOKIE_SECRET_MAX_AGE_S
 *   reply      = XAEAD(cookie key, random 24-byte nonce, cookie, AD = mac1)
 */
#include "wg/cookie.h"

#include <errno.h>
#include <string.h>

#include "common/timeutil.h"
#include "wg/crypto.h"

static const char mac1_label[8] = "mac1----";
static const char cookie_label[8] = "cookie--";

static void precompute_key(uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const char label[8],
			   const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	wg_hash2(key, label, 8, pub, NOISE_PUBLIC_KEY_LEN);
}

/* birthdate + max_age_s has passed; birthdate 0 means never set. */
static bool has_expired(uint64_t birthdate_ns, uint64_t max_age_s, uint64_t now_ns)
{
	return birthdate_ns == 0 || birthdate_ns + max_age_s * NSEC_PER_SEC <= now_ns;
}

static const struct message_macs *macs_of(const void *msg, size_t len)
{
	return (const struct message_macs *)((const uint8_t *)msg + len - sizeof(struct message_macs));
}

static void compute_mac1(uint8_t mac[COOKIE_LEN], const void *msg, size_t len,
			 const uint8_t key[NOISE_SYMMETRIC_KEY_LEN])
{
	wg_mac(mac, key, NOISE_SYMMETRIC_KEY_LEN, msg, len - sizeof(struct message_macs));
}

static void compute_mac2(uint8_t mac[COOKIE_LEN], const void *msg, size_t len, const uint8_t cookie[COOKIE_LEN])
{
	wg_mac(mac, cookie, COOKIE_LEN, msg, len - COOKIE_LEN);
}

void cookie_checker_init(struct cookie_checker *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void cookie_checker_destroy(struct cookie_checker *c)
{
	pthread_mutex_destroy(&c->lock);
	wg_wipe(c->secret, sizeof(c->secret));
	wg_wipe(c->cookie_encryption_key, sizeof(c->cookie_encryption_key));
	wg_wipe(c->message_mac1_key, sizeof(c->message_mac1_key));
	c->has_key = false;
}

void cookie_checker_set_key(struct cookie_checker *c, const uint8_t local_public[NOISE_PUBLIC_KEY_LEN])
{
	pthread_mutex_lock(&c->lock);
	if (local_public) {
		precompute_key(c->cookie_encryption_key, cookie_label, local_public);
		precompute_key(c->message_mac1_key, mac1_label, local_public);
		c->has_key = true;
	} else {
		wg_wipe(c->cookie_encryption_key, sizeof(c->cookie_encryption_key));
		wg_wipe(c->message_mac1_key, sizeof(c->message_mac1_key));
		c->has_key = false;
	}
	pthread_mutex_unlock(&c->lock);
}

/* The cookie for a source address: MAC(secret, ip || port). A v4-mapped
 * IPv6 source gives the same cookie as its IPv4 address. Called locked. */
static void make_cookie(uint8_t cookie[COOKIE_LEN], struct cookie_checker *c, const union sockaddr_any *src)
{
	union sockaddr_any a = *src;
	uint8_t input[16 + 2];
	size_t len = 0;
	uint64_t now = time_now_ns();

	if (has_expired(c->secret_birthdate_ns, COOKIE_SECRET_MAX_AGE_S, now)) {
		wg_random(c->secret, sizeof(c->secret));
		c->secret_birthdate_ns = now ? now : 1;
	}

	addr_unmap(&a);
	if (a.sa.sa_family == AF_INET) {
		memcpy(input, &a.in4.sin_addr, 4);
		memcpy(input + 4, &a.in4.sin_port, 2); /* already big endian */
		len = 4 + 2;
	} else if (a.sa.sa_family == AF_INET6) {
		memcpy(input, &a.in6.sin6_addr, 16);
		memcpy(input + 16, &a.in6.sin6_port, 2);
		len = 16 + 2;
	}
	wg_mac(cookie, c->secret, sizeof(c->secret), input, len);
	wg_wipe(&a, sizeof(a));
}

enum cookie_mac_state cookie_validate_packet(struct cookie_checker *c, const void *msg, size_t len,
					     const union sockaddr_any *src, bool check_cookie)
{
	const struct message_macs *macs;
	uint8_t computed[COOKIE_LEN], cookie[COOKIE_LEN];
	enum cookie_mac_state ret = INVALID_MAC;

	if (len < sizeof(struct message_header) + sizeof(struct message_macs))
		return INVALID_MAC;
	macs = macs_of(msg, len);

	pthread_mutex_lock(&c->lock);
	if (!c->has_key)
		goto out_unlock;
	compute_mac1(computed, msg, len, c->message_mac1_key);
	if (!wg_equal(computed, macs->mac1, COOKIE_LEN))
		goto out_unlock;
	ret = VALID_MAC_BUT_NO_COOKIE;
	if (!check_cookie || !src)
		goto out_unlock;

	make_cookie(cookie, c, src);
	compute_mac2(computed, msg, len, cookie);
	if (wg_equal(computed, macs->mac2, COOKIE_LEN))
		ret = VALID_MAC_WITH_COOKIE;
	wg_wipe(cookie, sizeof(cookie));
out_unlock:
	pthread_mutex_unlock(&c->lock);
	wg_wipe(computed, sizeof(computed));
	return ret;
}

void cookie_message_create(struct message_handshake_cookie *dst, struct cookie_checker *c,
			   const void *msg, size_t len, uint32_t index, const union sockaddr_any *src)
{
	uint8_t cookie[COOKIE_LEN];

	memset(dst, 0, sizeof(*dst));
	if (len < sizeof(struct message_header) + sizeof(struct message_macs))
		return; /* not a handshake message; leave an invalid (type 0) reply */

	le32_store(&dst->header.type, MESSAGE_HANDSHAKE_COOKIE);
	le32_store(&dst->receiver_index, index);
	wg_random(dst->nonce, COOKIE_NONCE_LEN);

	pthread_mutex_lock(&c->lock);
	make_cookie(cookie, c, src);
	wg_xaead_encrypt(dst->encrypted_cookie, cookie, COOKIE_LEN, macs_of(msg, len)->mac1, COOKIE_LEN, dst->nonce,
			 c->cookie_encryption_key);
	pthread_mutex_unlock(&c->lock);
	wg_wipe(cookie, sizeof(cookie));
}

void cookie_maker_init(struct cookie_maker *m, const uint8_t remote_public[NOISE_PUBLIC_KEY_LEN])
{
	memset(m, 0, sizeof(*m));
	precompute_key(m->cookie_decryption_key, cookie_label, remote_public);
	precompute_key(m->message_mac1_key, mac1_label, remote_public);
}

void cookie_add_mac_to_packet(void *msg, size_t len, struct cookie_maker *m)
{
	struct message_macs *macs;

	if (len < sizeof(struct message_header) + sizeof(struct message_macs))
		return;
	macs = (struct message_macs *)((uint8_t *)msg + len - sizeof(*macs));

	compute_mac1(macs->mac1, msg, len, m->message_mac1_key);
	memcpy(m->last_mac1_sent, macs->mac1, COOKIE_LEN);
	m->have_sent_mac1 = true;

	if (m->is_valid &&
	    !has_expired(m->cookie_birthdate_ns, COOKIE_SECRET_MAX_AGE_S - COOKIE_SECRET_LATENCY_S, time_now_ns()))
		compute_mac2(macs->mac2, msg, len, m->cookie);
	else
		memset(macs->mac2, 0, COOKIE_LEN);
}

int cookie_message_consume(const struct message_handshake_cookie *src, struct cookie_maker *m)
{
	uint8_t cookie[COOKIE_LEN];
	uint64_t now;

	if (!m->have_sent_mac1)
		return -EINVAL;
	if (wg_xaead_decrypt(cookie, src->encrypted_cookie, sizeof(src->encrypted_cookie), m->last_mac1_sent,
			     COOKIE_LEN, src->nonce, m->cookie_decryption_key) != 0)
		return -EBADMSG;

	memcpy(m->cookie, cookie, COOKIE_LEN);
	now = time_now_ns();
	m->cookie_birthdate_ns = now ? now : 1;
	m->is_valid = true;
	m->have_sent_mac1 = false;
	wg_wipe(cookie, sizeof(cookie));
	return 0;
}
