/* The handshake (src/wg/noise.c) and cookies (src/wg/cookie.c): full
 * in-memory handshakes, every rejection the paper asks for, the state
 * machine's misuse, a known-answer transcript computed with Python
 * (noise_kat.h, from gen_noise_kat.py), and the mac1/mac2/cookie exchange. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "common/addr.h"
#include "common/timeutil.h"
#include "wg/cookie.h"
#include "wg/crypto.h"
#include "wg/noise.h"

#include "noise_kat.h"

#define INDEX_A 0xa1a2a3a4U
#define INDEX_B 0xb1b2b3b4U
/* A plausible monotonic clock value for the flood check. */
#define T0 (1000 * NSEC_PER_SEC)
#define MS NSEC_PER_MSEC

struct pair {
	struct noise_static_identity a, b; /* a initiates to b */
	struct noise_handshake ha, hb;     /* a's view of b, b's view of a */
};

static void identity_new(struct noise_static_identity *id)
{
	memset(id, 0, sizeof(*id));
	wg_dh_generate(id->static_private, id->static_public);
	id->has_identity = true;
}

static void pair_init(struct pair *p, const uint8_t *psk_a, const uint8_t *psk_b)
{
	identity_new(&p->a);
	identity_new(&p->b);
	noise_handshake_init(&p->ha, &p->a, p->b.static_public, psk_a);
	noise_handshake_init(&p->hb, &p->b, p->a.static_public, psk_b);
	p->ha.local_index = INDEX_A;
	p->hb.local_index = INDEX_B;
}

/* b consumes an initiation: both halves. */
static int consume_initiation(struct pair *p, const struct message_handshake_initiation *m, uint64_t now)
{
	struct noise_initiation_scratch s;
	int ret = noise_consume_initiation_begin(m, &p->b, &s);

	if (ret)
		return ret;
	assert_memory_equal(s.remote_static, p->a.static_public, 32);
	assert_int_equal(s.sender_index, INDEX_A);
	return noise_consume_initiation_finish(&s, &p->hb, now);
}

static void run_handshake(const uint8_t *psk)
{
	struct pair p;
	struct message_handshake_initiation m1;
	struct message_handshake_response m2;
	struct noise_session sa, sb;
	uint8_t plain[64], ct[80], out[64];

	pair_init(&p, psk, psk);
	assert_int_equal(noise_create_initiation(&m1, &p.ha, &p.a), 0);
	assert_int_equal(p.ha.state, HANDSHAKE_CREATED_INITIATION);
	assert_int_equal(le32_load(&m1.header.type), MESSAGE_HANDSHAKE_INITIATION);
	assert_int_equal(le32_load(&m1.sender_index), INDEX_A);
	assert_int_equal(message_classify(&m1, sizeof(m1)), MESSAGE_HANDSHAKE_INITIATION);

	assert_int_equal(consume_initiation(&p, &m1, T0), 0);
	assert_int_equal(p.hb.state, HANDSHAKE_CONSUMED_INITIATION);
	assert_int_equal(p.hb.remote_index, INDEX_A);

	assert_int_equal(noise_create_response(&m2, &p.hb), 0);
	assert_int_equal(p.hb.state, HANDSHAKE_CREATED_RESPONSE);
	assert_int_equal(le32_load(&m2.header.type), MESSAGE_HANDSHAKE_RESPONSE);
	assert_int_equal(le32_load(&m2.sender_index), INDEX_B);
	assert_int_equal(le32_load(&m2.receiver_index), INDEX_A);
	assert_int_equal(message_classify(&m2, sizeof(m2)), MESSAGE_HANDSHAKE_RESPONSE);

	assert_int_equal(noise_consume_response(&m2, &p.ha, &p.a), 0);
	assert_int_equal(p.ha.state, HANDSHAKE_CONSUMED_RESPONSE);
	assert_int_equal(p.ha.remote_index, INDEX_B);
	assert_memory_equal(p.ha.hash, p.hb.hash, 32);
	assert_memory_equal(p.ha.chaining_key, p.hb.chaining_key, 32);

	assert_int_equal(noise_derive_session(&p.ha, &sa), 0);
	assert_int_equal(noise_derive_session(&p.hb, &sb), 0);
	assert_true(sa.initiator);
	assert_false(sb.initiator);
	assert_memory_equal(sa.sending_key, sb.receiving_key, 32);
	assert_memory_equal(sa.receiving_key, sb.sending_key, 32);
	assert_memory_not_equal(sa.sending_key, sa.receiving_key, 32);
	assert_int_equal(sa.local_index, INDEX_A);
	assert_int_equal(sa.remote_index, INDEX_B);
	assert_int_equal(sb.local_index, INDEX_B);
	assert_int_equal(sb.remote_index, INDEX_A);

	/* derive cleared both handshakes */
	assert_int_equal(p.ha.state, HANDSHAKE_ZEROED);
	assert_int_equal(p.hb.state, HANDSHAKE_ZEROED);
	for (size_t i = 0; i < 32; i++) {
		assert_int_equal(p.ha.chaining_key[i] | p.ha.ephemeral_private[i] | p.ha.hash[i], 0);
		assert_int_equal(p.hb.chaining_key[i] | p.hb.ephemeral_private[i] | p.hb.hash[i], 0);
	}

	/* the keys carry data both ways */
	wg_random(plain, sizeof(plain));
	assert_int_equal(wg_data_seal(sa.sending_key, 0, ct, plain, sizeof(plain)), 0);
	assert_int_equal(wg_data_open(sb.receiving_key, 0, out, ct, sizeof(ct)), 0);
	assert_memory_equal(out, plain, sizeof(plain));
	assert_int_equal(wg_data_seal(sb.sending_key, 7, ct, plain, sizeof(plain)), 0);
	assert_int_equal(wg_data_open(sa.receiving_key, 7, out, ct, sizeof(ct)), 0);
	assert_int_equal(wg_data_open(sa.sending_key, 7, out, ct, sizeof(ct)), -EBADMSG);
}

static void test_handshake_no_psk(void **state)
{
	(void)state;
	run_handshake(NULL);
}

static void test_handshake_psk(void **state)
{
	uint8_t psk[32];

	(void)state;
	wg_random(psk, sizeof(psk));
	run_handshake(psk);
}

static void test_replay_rejected(void **state)
{
	struct pair p;
	struct message_handshake_initiation m1;
	struct message_handshake_response m2;
	struct noise_session sb;

	(void)state;
	pair_init(&p, NULL, NULL);
	assert_int_equal(noise_create_initiation(&m1, &p.ha, &p.a), 0);
	assert_int_equal(consume_initiation(&p, &m1, T0), 0);
	/* the same initiation later: its timestamp is not newer */
	assert_int_equal(consume_initiation(&p, &m1, T0 + 10 * NSEC_PER_SEC), -EALREADY);
	/* the rejection did not disturb the state */
	assert_int_equal(noise_create_response(&m2, &p.hb), 0);
	assert_int_equal(noise_consume_response(&m2, &p.ha, &p.a), 0);
	/* the latest timestamp survives the session derivation (clear) */
	assert_int_equal(noise_derive_session(&p.hb, &sb), 0);
	assert_int_equal(consume_initiation(&p, &m1, T0 + 20 * NSEC_PER_SEC), -EALREADY);
}

static void test_flood_rejected(void **state)
{
	struct pair p;
	struct message_handshake_initiation m1, m1b;

	(void)state;
	pair_init(&p, NULL, NULL);
	assert_int_equal(noise_create_initiation(&m1, &p.ha, &p.a), 0);
	/* the timestamp has a 2^24 ns granularity: wait for the next one */
	time_sleep_ns(20 * MS);
	assert_int_equal(noise_create_initiation(&m1b, &p.ha, &p.a), 0);

	assert_int_equal(consume_initiation(&p, &m1, T0), 0);
	/* newer, but 1 ms later: under 1/INITIATIONS_PER_SECOND */
	assert_int_equal(consume_initiation(&p, &m1b, T0 + 1 * MS), -EBUSY);
	assert_int_equal(consume_initiation(&p, &m1b, T0 + 19 * MS), -EBUSY);
	/* the rejection did not move the window: 20 ms after the first is fine */
	assert_int_equal(consume_initiation(&p, &m1b, T0 + 20 * MS), 0);
	assert_int_equal(p.hb.last_initiation_consumption_ns, T0 + 20 * MS);
}

static void test_wrong_responder_key(void **state)
{
	struct pair p;
	struct noise_static_identity c;
	struct message_handshake_initiation m1;
	struct noise_initiation_scratch s;

	(void)state;
	pair_init(&p, NULL, NULL);
	identity_new(&c);
	/* a believes b's key is c's */
	noise_handshake_init(&p.ha, &p.a, c.static_public, NULL);
	assert_int_equal(noise_create_initiation(&m1, &p.ha, &p.a), 0);
	assert_int_equal(noise_consume_initiation_begin(&m1, &p.b, &s), -EBADMSG);
	assert_null(s.msg);
	/* c itself can read it */
	assert_int_equal(noise_consume_initiation_begin(&m1, &c, &s), 0);
	assert_memory_equal(s.remote_static, p.a.static_public, 32);
	/* finishing it against a handshake for another peer is refused */
	assert_int_equal(noise_consume_initiation_finish(&s, &p.ha, T0), -EINVAL);
	/* and against b's handshake for a, set up with b's identity, fails the
	 * timestamp's tag (its static-static DH is b's, not c's) */
	assert_int_equal(noise_consume_initiation_begin(&m1, &c, &s), 0);
	assert_int_equal(noise_consume_initiation_finish(&s, &p.hb, T0), -EBADMSG);
	assert_int_equal(p.hb.state, HANDSHAKE_ZEROED);
}

/* Every single flipped bit of either message must fail: the noise fields
 * in the handshake, and everything up to mac2 in the mac1 check. */
static void test_bit_flips(void **state)
{
	struct pair p;
	struct cookie_checker ca, cb;
	struct cookie_maker ma, mb;
	struct message_handshake_initiation m1, t1;
	struct message_handshake_response m2, t2;
	struct noise_initiation_scratch s;
	uint8_t saved_hash[32];

	(void)state;
	pair_init(&p, NULL, NULL);
	cookie_checker_init(&ca);
	cookie_checker_init(&cb);
	cookie_checker_set_key(&ca, p.a.static_public);
	cookie_checker_set_key(&cb, p.b.static_public);
	cookie_maker_init(&ma, p.b.static_public);
	cookie_maker_init(&mb, p.a.static_public);

	assert_int_equal(noise_create_initiation(&m1, &p.ha, &p.a), 0);
	cookie_add_mac_to_packet(&m1, sizeof(m1), &ma);
	assert_int_equal(cookie_validate_packet(&cb, &m1, sizeof(m1), NULL, false), VALID_MAC_BUT_NO_COOKIE);

	for (size_t bit = 0; bit < 8 * (sizeof(m1) - COOKIE_LEN); bit++) {
		t1 = m1;
		((uint8_t *)&t1)[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(cookie_validate_packet(&cb, &t1, sizeof(t1), NULL, false), INVALID_MAC);
		/* the sender index is covered by mac1 only */
		if (bit / 8 >= offsetof(struct message_handshake_initiation, sender_index) &&
		    bit / 8 < offsetof(struct message_handshake_initiation, unencrypted_ephemeral))
			continue;
		if (bit / 8 >= offsetof(struct message_handshake_initiation, macs))
			continue;
		if (noise_consume_initiation_begin(&t1, &p.b, &s) == 0)
			assert_int_not_equal(noise_consume_initiation_finish(&s, &p.hb, T0), 0);
		assert_int_equal(p.hb.state, HANDSHAKE_ZEROED);
	}
	assert_int_equal(consume_initiation(&p, &m1, T0), 0);
	assert_int_equal(noise_create_response(&m2, &p.hb), 0);
	cookie_add_mac_to_packet(&m2, sizeof(m2), &mb);
	assert_int_equal(cookie_validate_packet(&ca, &m2, sizeof(m2), NULL, false), VALID_MAC_BUT_NO_COOKIE);

	memcpy(saved_hash, p.ha.hash, 32);
	for (size_t bit = 0; bit < 8 * (sizeof(m2) - COOKIE_LEN); bit++) {
		size_t at = bit / 8;

		t2 = m2;
		((uint8_t *)&t2)[at] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(cookie_validate_packet(&ca, &t2, sizeof(t2), NULL, false), INVALID_MAC);
		/* the sender index is covered by mac1 only */
		if (at >= offsetof(struct message_handshake_response, sender_index) &&
		    at < offsetof(struct message_handshake_response, receiver_index))
			continue;
		if (at >= offsetof(struct message_handshake_response, macs))
			continue;
		assert_int_not_equal(noise_consume_response(&t2, &p.ha, &p.a), 0);
		assert_int_equal(p.ha.state, HANDSHAKE_CREATED_INITIATION);
		assert_memory_equal(p.ha.hash, saved_hash, 32);
	}
	assert_int_equal(noise_consume_response(&m2, &p.ha, &p.a), 0);

	cookie_checker_destroy(&ca);
	cookie_checker_destroy(&cb);
}

static void test_wrong_psk(void **state)
{
	uint8_t psk1[32], psk2[32];
	struct pair p;
	struct message_handshake_initiation m1;
	struct message_handshake_response m2;

	(void)state;
	wg_random(psk1, sizeof(psk1));
	memcpy(psk2, psk1, sizeof(psk2));
	psk2[0] ^= 1;

	/* different psks: the initiation passes, the response does not */
	pair_init(&p, psk1, psk2);
	assert_int_equal(noise_create_initiation(&m1, &p.ha, &p.a), 0);
	assert_int_equal(consume_initiation(&p, &m1, T0), 0);
	assert_int_equal(noise_create_response(&m2, &p.hb), 0);
	assert_int_equal(noise_consume_response(&m2, &p.ha, &p.a), -EBADMSG);
	assert_int_equal(p.ha.state, HANDSHAKE_CREATED_INITIATION);

	/* a psk on one side only */
	pair_init(&p, psk1, NULL);
	assert_int_equal(noise_create_initiation(&m1, &p.ha, &p.a), 0);
	assert_int_equal(consume_initiation(&p, &m1, T0), 0);
	assert_int_equal(noise_create_response(&m2, &p.hb), 0);
	assert_int_equal(noise_consume_response(&m2, &p.ha, &p.a), -EBADMSG);

	/* set_psk fixes it for the next handshake */
	noise_handshake_set_psk(&p.hb, psk1);
	time_sleep_ns(20 * MS);
	assert_int_equal(noise_create_initiation(&m1, &p.ha, &p.a), 0);
	assert_int_equal(consume_initiation(&p, &m1, T0 + NSEC_PER_SEC), 0);
	assert_int_equal(noise_create_response(&m2, &p.hb), 0);
	assert_int_equal(noise_consume_response(&m2, &p.ha, &p.a), 0);
}

static void test_state_machine_misuse(void **state)
{
	struct pair p;
	struct noise_static_identity none = { .has_identity = false };
	struct message_handshake_initiation m1;
	struct message_handshake_response m2;
	struct noise_initiation_scratch s;
	struct noise_session sess;
	struct noise_handshake low;
	uint8_t low_order[32] = { 0 };

	(void)state;
	pair_init(&p, NULL, NULL);

	/* nothing to respond to, nothing to derive */
	assert_int_equal(noise_create_response(&m2, &p.hb), -EINVAL);
	assert_int_equal(noise_derive_session(&p.ha, &sess), -EINVAL);
	/* without an identity */
	assert_int_equal(noise_create_initiation(&m1, &p.ha, &none), -EINVAL);
	assert_int_equal(noise_create_initiation(&m1, &p.ha, NULL), -EINVAL);
	/* a low-order remote key: no static-static DH */
	noise_handshake_init(&low, &p.a, low_order, NULL);
	assert_int_equal(noise_create_initiation(&m1, &low, &p.a), -EINVAL);
	/* a handshake set up before the identity existed, then precomputed */
	noise_handshake_init(&low, &none, p.b.static_public, NULL);
	assert_int_equal(noise_create_initiation(&m1, &low, &p.a), -EINVAL);
	noise_handshake_precompute(&low, &p.a);
	assert_int_equal(noise_create_initiation(&m1, &low, &p.a), 0);

	assert_int_equal(noise_create_initiation(&m1, &p.ha, &p.a), 0);
	/* the initiator cannot derive before the response */
	assert_int_equal(noise_derive_session(&p.ha, &sess), -EINVAL);
	/* responder without identity */
	assert_int_equal(noise_consume_initiation_begin(&m1, &none, &s), -EINVAL);
	/* a wiped scratch cannot be finished */
	memset(&s, 0, sizeof(s));
	assert_int_equal(noise_consume_initiation_finish(&s, &p.hb, T0), -EINVAL);
	/* a response before any initiation was consumed */
	assert_int_equal(noise_consume_response((struct message_handshake_response *)&m1, &p.ha, &p.a), -EINVAL);

	assert_int_equal(consume_initiation(&p, &m1, T0), 0);
	/* the responder cannot derive before creating its response */
	assert_int_equal(noise_derive_session(&p.hb, &sess), -EINVAL);
	assert_int_equal(noise_create_response(&m2, &p.hb), 0);
	/* not twice */
	assert_int_equal(noise_create_response(&m2, &p.hb), -EINVAL);

	/* a response to another index */
	le32_store(&m2.receiver_index, INDEX_A + 1);
	assert_int_equal(noise_consume_response(&m2, &p.ha, &p.a), -EINVAL);
	le32_store(&m2.receiver_index, INDEX_A);
	/* consumed by a handshake that did not initiate */
	assert_int_equal(noise_consume_response(&m2, &p.hb, &p.b), -EINVAL);
	assert_int_equal(noise_consume_response(&m2, &p.ha, &none), -EINVAL);
	assert_int_equal(noise_consume_response(&m2, &p.ha, &p.a), 0);
	/* not twice */
	assert_int_equal(noise_consume_response(&m2, &p.ha, &p.a), -EINVAL);

	assert_int_equal(noise_derive_session(&p.ha, &sess), 0);
	assert_int_equal(noise_derive_session(&p.ha, &sess), -EINVAL);

	/* clear from any state goes back to zeroed, keeping the peer's setup */
	assert_int_equal(noise_create_initiation(&m1, &p.ha, &p.a), 0);
	noise_handshake_clear(&p.ha);
	assert_int_equal(p.ha.state, HANDSHAKE_ZEROED);
	assert_memory_equal(p.ha.remote_static, p.b.static_public, 32);
	assert_int_equal(noise_create_initiation(&m1, &p.ha, &p.a), 0);
}

/* The Python transcript: our responder accepts its initiation and reaches
 * the same chaining key and hash; our initiator, put in the transcript's
 * state, accepts its response and derives the same keys, which open its
 * first data packet. */
static void test_known_answer(void **state)
{
	struct noise_static_identity ii, ri;
	struct noise_handshake hi, hr;
	struct noise_initiation_scratch s;
	struct noise_session sess;
	struct cookie_checker cr, ci;
	uint8_t plain[sizeof(kat_data_payload)];
	const struct message_handshake_initiation *m1 = (const void *)kat_initiation;
	const struct message_handshake_response *m2 = (const void *)kat_response;
	uint8_t out[32];

	(void)state;
	_Static_assert(sizeof(kat_initiation) == sizeof(struct message_handshake_initiation), "kat m1");
	_Static_assert(sizeof(kat_response) == sizeof(struct message_handshake_response), "kat m2");

	memcpy(ii.static_private, kat_initiator_private, 32);
	memcpy(ii.static_public, kat_initiator_public, 32);
	ii.has_identity = true;
	memcpy(ri.static_private, kat_responder_private, 32);
	memcpy(ri.static_public, kat_responder_public, 32);
	ri.has_identity = true;
	/* the public keys agree with X25519 of the private ones */
	{
		uint8_t nine[32] = { 9 };

		assert_int_equal(wg_dh(out, kat_initiator_private, nine), 0);
		assert_memory_equal(out, kat_initiator_public, 32);
	}

	/* mac1 of both messages */
	cookie_checker_init(&cr);
	cookie_checker_init(&ci);
	cookie_checker_set_key(&cr, kat_responder_public);
	cookie_checker_set_key(&ci, kat_initiator_public);
	assert_int_equal(cookie_validate_packet(&cr, kat_initiation, sizeof(kat_initiation), NULL, false),
			 VALID_MAC_BUT_NO_COOKIE);
	assert_int_equal(cookie_validate_packet(&ci, kat_response, sizeof(kat_response), NULL, false),
			 VALID_MAC_BUT_NO_COOKIE);
	cookie_checker_destroy(&cr);
	cookie_checker_destroy(&ci);

	/* responder side */
	noise_handshake_init(&hr, &ri, kat_initiator_public, kat_psk);
	assert_int_equal(noise_consume_initiation_begin(m1, &ri, &s), 0);
	assert_memory_equal(s.remote_static, kat_initiator_public, 32);
	assert_int_equal(s.sender_index, KAT_INITIATOR_INDEX);
	assert_int_equal(noise_consume_initiation_finish(&s, &hr, T0), 0);
	assert_memory_equal(hr.chaining_key, kat_chaining_key_after_initiation, 32);
	assert_memory_equal(hr.hash, kat_hash_after_initiation, 32);
	assert_memory_equal(hr.latest_timestamp, kat_timestamp, 12);
	assert_int_equal(hr.remote_index, KAT_INITIATOR_INDEX);

	/* initiator side, from the transcript's state after message 1 */
	noise_handshake_init(&hi, &ii, kat_responder_public, kat_psk);
	hi.local_index = KAT_INITIATOR_INDEX;
	memcpy(hi.ephemeral_private, kat_initiator_ephemeral_private, 32);
	memcpy(hi.chaining_key, kat_chaining_key_after_initiation, 32);
	memcpy(hi.hash, kat_hash_after_initiation, 32);
	hi.state = HANDSHAKE_CREATED_INITIATION;
	assert_int_equal(noise_consume_response(m2, &hi, &ii), 0);
	assert_int_equal(hi.remote_index, KAT_RESPONDER_INDEX);
	assert_int_equal(noise_derive_session(&hi, &sess), 0);
	assert_memory_equal(sess.sending_key, kat_initiator_sending_key, 32);
	assert_memory_equal(sess.receiving_key, kat_initiator_receiving_key, 32);

	/* the first data packet: our seal matches, and opens */
	{
		uint8_t ct[sizeof(kat_data_payload) + 16];

		assert_int_equal(le32_load(kat_data_packet + 4), KAT_RESPONDER_INDEX);
		assert_int_equal(wg_data_seal(sess.sending_key, 0, ct, kat_data_payload, sizeof(kat_data_payload)), 0);
		assert_memory_equal(ct, kat_data_packet + 16, sizeof(ct));
		assert_int_equal(wg_data_open(sess.sending_key, le64_load(kat_data_packet + 8), plain,
					      kat_data_packet + 16, sizeof(kat_data_packet) - 16),
				 0);
		assert_memory_equal(plain, kat_data_payload, sizeof(plain));
	}

	/* with the wrong psk the same response fails */
	noise_handshake_init(&hi, &ii, kat_responder_public, NULL);
	hi.local_index = KAT_INITIATOR_INDEX;
	memcpy(hi.ephemeral_private, kat_initiator_ephemeral_private, 32);
	memcpy(hi.chaining_key, kat_chaining_key_after_initiation, 32);
	memcpy(hi.hash, kat_hash_after_initiation, 32);
	hi.state = HANDSHAKE_CREATED_INITIATION;
	assert_int_equal(noise_consume_response(m2, &hi, &ii), -EBADMSG);
}

/* ---- cookies ---- */

static void sockaddr_v4(union sockaddr_any *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in4.sin_family = AF_INET;
	a->in4.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &a->in4.sin_addr), 1);
}

static void sockaddr_v6(union sockaddr_any *a, const char *ip, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->in6.sin6_family = AF_INET6;
	a->in6.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &a->in6.sin6_addr), 1);
}

struct cookie_setup {
	struct noise_static_identity a, b;
	struct cookie_checker checker; /* b's */
	struct cookie_maker maker;     /* a's, for b */
	struct noise_handshake ha;
	struct message_handshake_initiation m1;
};

static void cookie_setup(struct cookie_setup *c)
{
	identity_new(&c->a);
	identity_new(&c->b);
	cookie_checker_init(&c->checker);
	cookie_checker_set_key(&c->checker, c->b.static_public);
	cookie_maker_init(&c->maker, c->b.static_public);
	noise_handshake_init(&c->ha, &c->a, c->b.static_public, NULL);
	c->ha.local_index = INDEX_A;
	assert_int_equal(noise_create_initiation(&c->m1, &c->ha, &c->a), 0);
}

static void test_cookie_mac1(void **state)
{
	struct cookie_setup c;
	struct cookie_checker other, nokey;
	union sockaddr_any src;

	(void)state;
	cookie_setup(&c);
	sockaddr_v4(&src, "192.0.2.1", 51820);

	/* no mac yet */
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &src, false), INVALID_MAC);
	cookie_add_mac_to_packet(&c.m1, sizeof(c.m1), &c.maker);
	assert_true(c.maker.have_sent_mac1);
	assert_memory_equal(c.maker.last_mac1_sent, c.m1.macs.mac1, COOKIE_LEN);
	for (size_t i = 0; i < COOKIE_LEN; i++)
		assert_int_equal(c.m1.macs.mac2[i], 0);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &src, false),
			 VALID_MAC_BUT_NO_COOKIE);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &src, true),
			 VALID_MAC_BUT_NO_COOKIE);

	/* another responder's key, or none */
	cookie_checker_init(&other);
	cookie_checker_set_key(&other, c.a.static_public);
	assert_int_equal(cookie_validate_packet(&other, &c.m1, sizeof(c.m1), &src, false), INVALID_MAC);
	cookie_checker_init(&nokey);
	assert_int_equal(cookie_validate_packet(&nokey, &c.m1, sizeof(c.m1), &src, false), INVALID_MAC);
	cookie_checker_set_key(&c.checker, NULL);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &src, false), INVALID_MAC);
	cookie_checker_set_key(&c.checker, c.b.static_public);

	/* truncated */
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, 35, &src, false), INVALID_MAC);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1) - 1, &src, false), INVALID_MAC);
	/* a flipped mac1 bit */
	c.m1.macs.mac1[3] ^= 4;
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &src, false), INVALID_MAC);

	cookie_checker_destroy(&other);
	cookie_checker_destroy(&nokey);
	cookie_checker_destroy(&c.checker);
}

static void test_cookie_round_trip(void **state)
{
	struct cookie_setup c;
	struct message_handshake_cookie reply;
	union sockaddr_any src, other_ip, other_port, mapped, v6, v6_other;
	uint32_t sender;

	(void)state;
	cookie_setup(&c);
	sockaddr_v4(&src, "192.0.2.1", 51820);
	sockaddr_v4(&other_ip, "192.0.2.2", 51820);
	sockaddr_v4(&other_port, "192.0.2.1", 51821);
	sockaddr_v6(&mapped, "::ffff:192.0.2.1", 51820);
	sockaddr_v6(&v6, "2001:db8::1", 51820);
	sockaddr_v6(&v6_other, "2001:db8::2", 51820);

	cookie_add_mac_to_packet(&c.m1, sizeof(c.m1), &c.maker);
	sender = le32_load(&c.m1.sender_index);
	/* under load b answers with a cookie reply */
	cookie_message_create(&reply, &c.checker, &c.m1, sizeof(c.m1), sender, &src);
	assert_int_equal(message_classify(&reply, sizeof(reply)), MESSAGE_HANDSHAKE_COOKIE);
	assert_int_equal(le32_load(&reply.receiver_index), INDEX_A);
	assert_int_equal(cookie_message_consume(&reply, &c.maker), 0);
	assert_true(c.maker.is_valid);
	/* only once per mac1 sent */
	assert_int_equal(cookie_message_consume(&reply, &c.maker), -EINVAL);

	/* the next message carries mac2, valid from the same source only */
	time_sleep_ns(20 * MS);
	assert_int_equal(noise_create_initiation(&c.m1, &c.ha, &c.a), 0);
	cookie_add_mac_to_packet(&c.m1, sizeof(c.m1), &c.maker);
	assert_true(c.m1.macs.mac2[0] | c.m1.macs.mac2[1] | c.m1.macs.mac2[15]);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &src, true),
			 VALID_MAC_WITH_COOKIE);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &mapped, true),
			 VALID_MAC_WITH_COOKIE);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &other_ip, true),
			 VALID_MAC_BUT_NO_COOKIE);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &other_port, true),
			 VALID_MAC_BUT_NO_COOKIE);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &v6, true),
			 VALID_MAC_BUT_NO_COOKIE);
	/* without check_cookie mac2 is not looked at */
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &src, false),
			 VALID_MAC_BUT_NO_COOKIE);
	/* a flipped mac2 bit */
	c.m1.macs.mac2[7] ^= 1;
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &src, true),
			 VALID_MAC_BUT_NO_COOKIE);
	c.m1.macs.mac2[7] ^= 1;

	/* IPv6 sources, from a v4-mapped reply address's point of view too */
	cookie_message_create(&reply, &c.checker, &c.m1, sizeof(c.m1), sender, &v6);
	assert_int_equal(cookie_message_consume(&reply, &c.maker), 0);
	cookie_add_mac_to_packet(&c.m1, sizeof(c.m1), &c.maker);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &v6, true),
			 VALID_MAC_WITH_COOKIE);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &v6_other, true),
			 VALID_MAC_BUT_NO_COOKIE);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &src, true),
			 VALID_MAC_BUT_NO_COOKIE);

	/* Ageing below: birthdates are CLOCK_BOOTTIME, so they can be moved
	 * back only on a machine up for longer than the ages tested. */
	if (time_now_ns() < 2 * COOKIE_SECRET_MAX_AGE_S * NSEC_PER_SEC) {
		print_message("machine up for less than %d s: cookie ageing not tested\n",
			      2 * COOKIE_SECRET_MAX_AGE_S);
		cookie_checker_destroy(&c.checker);
		return;
	}
	/* the maker stops using a cookie older than MAX_AGE - LATENCY */
	c.maker.cookie_birthdate_ns -= (COOKIE_SECRET_MAX_AGE_S - COOKIE_SECRET_LATENCY_S) * NSEC_PER_SEC;
	cookie_add_mac_to_packet(&c.m1, sizeof(c.m1), &c.maker);
	for (size_t i = 0; i < COOKIE_LEN; i++)
		assert_int_equal(c.m1.macs.mac2[i], 0);

	/* the checker rotates its secret after MAX_AGE: old cookies stop working */
	cookie_message_create(&reply, &c.checker, &c.m1, sizeof(c.m1), sender, &src);
	assert_int_equal(cookie_message_consume(&reply, &c.maker), 0);
	cookie_add_mac_to_packet(&c.m1, sizeof(c.m1), &c.maker);
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &src, true),
			 VALID_MAC_WITH_COOKIE);
	c.checker.secret_birthdate_ns -= COOKIE_SECRET_MAX_AGE_S * NSEC_PER_SEC;
	assert_int_equal(cookie_validate_packet(&c.checker, &c.m1, sizeof(c.m1), &src, true),
			 VALID_MAC_BUT_NO_COOKIE);

	cookie_checker_destroy(&c.checker);
}

static void test_cookie_wrong_ad(void **state)
{
	struct cookie_setup c;
	struct message_handshake_cookie reply;
	struct message_handshake_initiation other;
	union sockaddr_any src;
	struct cookie_maker fresh;

	(void)state;
	cookie_setup(&c);
	sockaddr_v4(&src, "198.51.100.7", 4000);

	/* nothing sent yet */
	cookie_add_mac_to_packet(&c.m1, sizeof(c.m1), &c.maker);
	cookie_maker_init(&fresh, c.b.static_public);
	cookie_message_create(&reply, &c.checker, &c.m1, sizeof(c.m1), INDEX_A, &src);
	assert_int_equal(cookie_message_consume(&reply, &fresh), -EINVAL);

	/* a reply to a message whose mac1 is not the last we sent */
	other = c.m1;
	other.macs.mac1[0] ^= 1;
	cookie_message_create(&reply, &c.checker, &other, sizeof(other), INDEX_A, &src);
	assert_int_equal(cookie_message_consume(&reply, &c.maker), -EBADMSG);
	assert_false(c.maker.is_valid);

	/* tampered replies */
	cookie_message_create(&reply, &c.checker, &c.m1, sizeof(c.m1), INDEX_A, &src);
	for (size_t at = offsetof(struct message_handshake_cookie, nonce); at < sizeof(reply); at++) {
		struct message_handshake_cookie t = reply;

		((uint8_t *)&t)[at] ^= 0x10;
		assert_int_equal(cookie_message_consume(&t, &c.maker), -EBADMSG);
	}
	/* a reply from another responder's cookie key */
	{
		struct cookie_checker wrong;
		struct message_handshake_cookie r2;

		cookie_checker_init(&wrong);
		cookie_checker_set_key(&wrong, c.a.static_public);
		cookie_message_create(&r2, &wrong, &c.m1, sizeof(c.m1), INDEX_A, &src);
		assert_int_equal(cookie_message_consume(&r2, &c.maker), -EBADMSG);
		cookie_checker_destroy(&wrong);
	}
	assert_false(c.maker.is_valid);
	assert_int_equal(cookie_message_consume(&reply, &c.maker), 0);
	assert_true(c.maker.is_valid);

	cookie_checker_destroy(&c.checker);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_no_psk),
		cmocka_unit_test(test_handshake_psk),
		cmocka_unit_test(test_replay_rejected),
		cmocka_unit_test(test_flood_rejected),
		cmocka_unit_test(test_wrong_responder_key),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_wrong_psk),
		cmocka_unit_test(test_state_machine_misuse),
		cmocka_unit_test(test_known_answer),
		cmocka_unit_test(test_cookie_mac1),
		cmocka_unit_test(test_cookie_round_trip),
		cmocka_unit_test(test_cookie_wrong_ad),
	};

	if (wg_crypto_init() != 0)
		return 1;
	noise_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
