/* Keypair rotation (current/previous/next, as the Linux module's noise.c),
 * the index table, the per-source rate limiter, and the data message
 * format (padding, header, open) of send.c/receive.c. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <arpa/inet.h>

#include <cmocka.h>

#include "common/timeutil.h"
#include "wg/crypto.h"
#include "wg/device.h"
#include "wg/index.h"
#include "wg/keypair.h"
#include "wg/noise.h"
#include "wg/ratelimiter.h"
#include "wg/receive.h"

static struct wg_peer *const PEER = (struct wg_peer *)0x1000;

static struct keypair *make(struct index_table *t, bool initiator)
{
	struct noise_session s;
	struct keypair *kp;

	memset(&s, 0, sizeof(s));
	wg_random(s.sending_key, sizeof(s.sending_key));
	memcpy(s.receiving_key, s.sending_key, sizeof(s.receiving_key));
	s.initiator = initiator;
	s.remote_index = 77;
	kp = keypair_create(&s, PEER, time_now_ns());
	assert_non_null(kp);
	index_insert(t, &kp->entry);
	return kp;
}

static bool findable(struct index_table *t, struct keypair *kp)
{
	struct keypair *got = NULL;
	struct wg_peer *p = index_lookup(t, kp->entry.index, INDEX_KEYPAIR, NULL, &got);

	keypair_put(got);
	return p == PEER && got == kp;
}

static void test_initiator_rotation(void **state)
{
	struct index_table *t;
	struct keypairs k = { 0 };
	struct keypair *a, *b, *c, *held;
	uint32_t idx;

	(void)state;
	assert_int_equal(index_table_create(&t), 0);
	a = make(t, true);
	keypairs_add(&k, t, a);
	assert_ptr_equal(k.current, a);
	assert_null(k.previous);
	b = make(t, true);
	keypairs_add(&k, t, b);
	assert_ptr_equal(k.current, b);
	assert_ptr_equal(k.previous, a);
	/* a third: the first leaves the slots and the index, but a holder of
	 * a reference keeps it alive (and unusable). */
	held = keypair_get(a);
	c = make(t, true);
	keypairs_add(&k, t, c);
	assert_ptr_equal(k.current, c);
	assert_ptr_equal(k.previous, b);
	assert_false(findable(t, a));
	assert_true(findable(t, b));
	assert_true(findable(t, c));
	assert_false(keypair_receiving_usable(held, time_now_ns()));
	keypair_put(held);
	idx = b->entry.index;
	keypairs_clear(&k, t);
	assert_null(index_lookup(t, idx, INDEX_KEYPAIR, NULL, NULL));
	assert_null(k.current);
	index_table_free(t);
}

static void test_responder_confirmation(void **state)
{
	struct index_table *t;
	struct keypairs k = { 0 };
	struct keypair *old, *n1, *n2, *cur;
	uint32_t idx;

	(void)state;
	assert_int_equal(index_table_create(&t), 0);
	old = make(t, true);
	keypairs_add(&k, t, old);
	n1 = make(t, false);
	keypairs_add(&k, t, n1);
	/* Not usable for sending until the initiator's first data arrives. */
	cur = keypairs_current(&k);
	assert_ptr_equal(cur, old);
	keypair_put(cur);
	assert_ptr_equal(k.next, n1);
	/* A second initiation replaces the unconfirmed next. */
	n2 = make(t, false);
	idx = n1->entry.index;
	keypairs_add(&k, t, n2);
	assert_ptr_equal(k.next, n2);
	assert_null(index_lookup(t, idx, INDEX_KEYPAIR, NULL, NULL));
	assert_false(keypairs_received_with(&k, t, old)); /* not the next one */
	assert_true(keypairs_received_with(&k, t, n2));
	assert_ptr_equal(k.current, n2);
	assert_ptr_equal(k.previous, old);
	assert_null(k.next);
	assert_false(keypairs_received_with(&k, t, n2)); /* once */
	/* An initiator's new keypair with a next pending: the next becomes
	 * previous and the current goes (as the kernel). */
	n1 = make(t, false);
	keypairs_add(&k, t, n1);
	cur = make(t, true);
	idx = n2->entry.index;
	keypairs_add(&k, t, cur);
	assert_ptr_equal(k.current, cur);
	assert_ptr_equal(k.previous, n1);
	assert_null(k.next);
	assert_null(index_lookup(t, idx, INDEX_KEYPAIR, NULL, NULL));
	assert_true(findable(t, n1));
	keypairs_clear(&k, t);
	index_table_free(t);
}

static void test_expire_and_limits(void **state)
{
	struct index_table *t;
	struct keypairs k = { 0 };
	struct keypair *a;
	uint64_t now;

	(void)state;
	assert_int_equal(index_table_create(&t), 0);
	a = make(t, true);
	now = time_now_ns();
	keypairs_add(&k, t, a);
	assert_true(keypair_sending_usable(a, now));
	atomic_store(&a->sending_counter, REJECT_AFTER_MESSAGES);
	assert_false(keypair_sending_usable(a, now));
	atomic_store(&a->sending_counter, 0);
	assert_false(keypair_sending_usable(a, a->birthdate_ns + (uint64_t)REJECT_AFTER_TIME_S * NSEC_PER_SEC));
	assert_false(keypair_receiving_usable(a, a->birthdate_ns + (uint64_t)REJECT_AFTER_TIME_S * NSEC_PER_SEC));
	keypairs_expire_current(&k);
	assert_false(keypair_sending_usable(a, now));
	assert_true(keypair_receiving_usable(a, now)); /* still decrypts what is in flight */
	keypairs_clear(&k, t);
	index_table_free(t);
}

static void test_index_table(void **state)
{
	struct index_table *t;
	struct index_entry hs = { .type = INDEX_HANDSHAKE, .peer = PEER }, hs2 = { .type = INDEX_HANDSHAKE };
	struct keypair *kp;
	enum index_type type;
	uint32_t i1, i2;

	(void)state;
	assert_int_equal(index_table_create(&t), 0);
	i1 = index_insert(t, &hs);
	assert_ptr_equal(index_lookup(t, i1, INDEX_HANDSHAKE, &type, NULL), PEER);
	assert_int_equal(type, INDEX_HANDSHAKE);
	assert_null(index_lookup(t, i1, INDEX_KEYPAIR, NULL, NULL)); /* wrong type */
	i2 = index_insert(t, &hs); /* re-inserting takes a new index */
	assert_null(index_lookup(t, i1, INDEX_HANDSHAKE, NULL, NULL));
	assert_ptr_equal(index_lookup(t, i2, INDEX_HANDSHAKE, NULL, NULL), PEER);
	/* the handshake's index passes to its keypair */
	kp = make(t, true);
	index_remove(t, &kp->entry);
	assert_true(index_replace(t, &hs, &kp->entry));
	assert_int_equal(kp->entry.index, i2);
	assert_false(hs.hashed);
	assert_true(findable(t, kp));
	assert_false(index_replace(t, &hs2, &hs)); /* hs2 was never in */
	index_remove(t, &kp->entry);
	index_remove(t, &kp->entry); /* twice is fine */
	assert_null(index_lookup(t, i2, INDEX_KEYPAIR, NULL, NULL));
	keypair_put(kp);
	index_table_free(t);
}

static void test_ratelimiter(void **state)
{
	struct ratelimiter *r;
	union sockaddr_any a = { 0 }, b = { 0 }, c6 = { 0 }, d6 = { 0 };
	uint64_t now = 5 * NSEC_PER_SEC;
	int i, ok = 0;

	(void)state;
	assert_int_equal(ratelimiter_create(&r), 0);
	a.in4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1", &a.in4.sin_addr);
	b.in4.sin_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.2", &b.in4.sin_addr);
	for (i = 0; i < 100; i++)
		ok += ratelimiter_allow(r, &a, now);
	assert_int_equal(ok, RATELIMITER_BURST);
	assert_true(ratelimiter_allow(r, &b, now)); /* another source has its own bucket */
	assert_false(ratelimiter_allow(r, &a, now + NSEC_PER_SEC / RATELIMITER_PER_SECOND - 1));
	assert_true(ratelimiter_allow(r, &a, now + NSEC_PER_SEC / RATELIMITER_PER_SECOND));
	/* IPv6: the /64 shares a bucket */
	c6.in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::1", &c6.in6.sin6_addr);
	d6.in6.sin6_family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:1:2::ffff", &d6.in6.sin6_addr);
	for (i = 0; i < RATELIMITER_BURST; i++)
		assert_true(ratelimiter_allow(r, &c6, now));
	assert_false(ratelimiter_allow(r, &d6, now));
	/* a v4-mapped source is the v4 address */
	d6.in6.sin6_addr = (struct in6_addr){ { { 0 } } };
	d6.in6.sin6_addr.s6_addr[10] = d6.in6.sin6_addr.s6_addr[11] = 0xff;
	inet_pton(AF_INET, "192.0.2.1", &d6.in6.sin6_addr.s6_addr[12]);
	assert_false(ratelimiter_allow(r, &d6, now + NSEC_PER_SEC / RATELIMITER_PER_SECOND));
	/* many sources: bounded table, still answers */
	for (i = 0; i < 3 * RATELIMITER_SLOTS; i++) {
		a.in4.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		assert_true(ratelimiter_allow(r, &a, now));
	}
	ratelimiter_free(r);
}

static void test_data_message(void **state)
{
	static uint8_t buf[DEVICE_SLOT_SIZE];
	struct index_table *t;
	struct keypair *kp;
	size_t lens[] = { 0, 1, 15, 16, 17, 1400, 1419, 1420, 1421, 3000 };
	size_t i, plain_len;
	uint64_t counter;

	(void)state;
	assert_int_equal(index_table_create(&t), 0);
	kp = make(t, true);
	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		size_t len = lens[i], padded = (len + 15) / 16 * 16, out;

		if (len <= 1420 && padded > 1420)
			padded = 1420;
		if (len > 1420)
			padded = len + ((len % 1420 + 15) / 16 * 16 - len % 1420);
		memset(buf + DATA_PACKET_HEAD_ROOM, 0xab, len);
		out = send_encapsulate(kp, 1000 + i, buf, len, 1420);
		assert_int_equal(out, DATA_PACKET_HEAD_ROOM + padded + NOISE_AUTHTAG_LEN);
		assert_int_equal(le32_load(buf), MESSAGE_DATA);
		assert_int_equal(le32_load(buf + 4), 77);
		assert_int_equal(le64_load(buf + 8), 1000 + i);
		assert_int_equal(message_classify(buf, out), MESSAGE_DATA);
		assert_int_equal(receive_open(kp, buf, out, &counter, &plain_len), 0);
		assert_int_equal(counter, 1000 + i);
		assert_int_equal(plain_len, padded);
		/* the padding is zeros */
		for (size_t j = len; j < padded; j++)
			assert_int_equal(buf[DATA_PACKET_HEAD_ROOM + j], 0);
		/* a flipped bit anywhere fails */
		out = send_encapsulate(kp, 5, buf, len, 1420);
		buf[out - 1] ^= 0x80;
		assert_int_equal(receive_open(kp, buf, out, &counter, &plain_len), -EBADMSG);
	}
	keypair_put(kp);
	index_table_free(t);
}

static void test_inner_packet(void **state)
{
	uint8_t p[100];
	const uint8_t *src;
	size_t inner;
	int family;

	(void)state;
	memset(p, 0, sizeof(p));
	p[0] = 0x45;
	p[3] = 60; /* 60 bytes, 40 of padding behind */
	inet_pton(AF_INET, "100.100.0.2", p + 12);
	assert_int_equal(receive_inner_packet(p, 100, &inner, &family, &src), 0);
	assert_int_equal(inner, 60);
	assert_int_equal(family, AF_INET);
	assert_ptr_equal(src, p + 12);
	p[3] = 101; /* longer than what was decrypted: a lie */
	assert_int_equal(receive_inner_packet(p, 100, &inner, &family, &src), -EINVAL);
	p[3] = 19; /* shorter than its header */
	assert_int_equal(receive_inner_packet(p, 100, &inner, &family, &src), -EINVAL);
	p[3] = 60;
	p[0] = 0x44; /* IHL 16 bytes */
	assert_int_equal(receive_inner_packet(p, 100, &inner, &family, &src), -EINVAL);
	memset(p, 0, sizeof(p));
	p[0] = 0x60;
	p[5] = 20;
	assert_int_equal(receive_inner_packet(p, 100, &inner, &family, &src), 0);
	assert_int_equal(inner, 60);
	assert_int_equal(family, AF_INET6);
	assert_ptr_equal(src, p + 8);
	p[5] = 61;
	assert_int_equal(receive_inner_packet(p, 100, &inner, &family, &src), -EINVAL);
	assert_int_equal(receive_inner_packet(p, 39, &inner, &family, &src), -EINVAL);
	p[0] = 0x50;
	assert_int_equal(receive_inner_packet(p, 100, &inner, &family, &src), -EINVAL);
	assert_int_equal(receive_inner_packet(p, 0, &inner, &family, &src), -EINVAL);
}

static int setup(void **state)
{
	(void)state;
	return wg_init();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_initiator_rotation),
		cmocka_unit_test(test_responder_confirmation),
		cmocka_unit_test(test_expire_and_limits),
		cmocka_unit_test(test_index_table),
		cmocka_unit_test(test_ratelimiter),
		cmocka_unit_test(test_data_message),
		cmocka_unit_test(test_inner_packet),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
