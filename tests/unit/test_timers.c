/* The timer state machine (src/wg/timers.c): every rule of the paper's
 * section 6 as the Linux module's timers.c implements it, driven with an
 * explicit clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common/timeutil.h"
#include "wg/messages.h"
#include "wg/timers.h"

#define S(x) ((uint64_t)(x) * NSEC_PER_SEC)
#define MS(x) ((uint64_t)(x) * NSEC_PER_MSEC)
#define T0 S(1000) /* an arbitrary start, far from 0 */
#define JITTER_MAX MS(REKEY_TIMEOUT_JITTER_MAX_MS)

static void test_keepalive_after_data_received(void **state)
{
	struct wg_timers t;

	(void)state;
	timers_init(&t);
	timers_data_received(&t, T0);
	assert_int_equal(timers_tick(&t, T0 + S(KEEPALIVE_TIMEOUT_S) - 1), 0);
	assert_int_equal(timers_tick(&t, T0 + S(KEEPALIVE_TIMEOUT_S)), TIMERS_SEND_KEEPALIVE);
	assert_int_equal(timers_tick(&t, T0 + S(100)), 0); /* once only */
}

static void test_keepalive_cancelled_by_sending(void **state)
{
	struct wg_timers t;

	(void)state;
	timers_init(&t);
	timers_data_received(&t, T0);
	timers_any_authenticated_packet_sent(&t); /* we answered: no keepalive needed */
	assert_int_equal(timers_tick(&t, T0 + S(KEEPALIVE_TIMEOUT_S)), 0);
}

static void test_need_another_keepalive(void **state)
{
	struct wg_timers t;

	(void)state;
	timers_init(&t);
	timers_data_received(&t, T0);
	timers_data_received(&t, T0 + S(3)); /* pending: not moved, but another wanted */
	assert_int_equal(timers_tick(&t, T0 + S(KEEPALIVE_TIMEOUT_S)), TIMERS_SEND_KEEPALIVE);
	assert_int_equal(timers_tick(&t, T0 + S(2 * KEEPALIVE_TIMEOUT_S) - 1), 0);
	assert_int_equal(timers_tick(&t, T0 + S(2 * KEEPALIVE_TIMEOUT_S)), TIMERS_SEND_KEEPALIVE);
	assert_int_equal(timers_tick(&t, T0 + S(10 * KEEPALIVE_TIMEOUT_S)), 0);
}

static void test_new_handshake_when_not_hearing_back(void **state)
{
	struct wg_timers t;
	uint64_t jitter = MS(100), due = T0 + S(KEEPALIVE_TIMEOUT_S + REKEY_TIMEOUT_S) + jitter;

	(void)state;
	timers_init(&t);
	t.handshake_attempts = 7;
	timers_data_sent(&t, T0, jitter);
	timers_data_sent(&t, T0 + S(4), 0); /* already pending: not pushed back */
	assert_int_equal(timers_tick(&t, due - 1), 0);
	assert_int_equal(timers_tick(&t, due), TIMERS_SEND_INITIATION);
	assert_int_equal(t.handshake_attempts, 0); /* a new handshake, not a retry */
	assert_int_equal(timers_tick(&t, due + S(100)), 0);
}

static void test_new_handshake_cancelled_by_receiving(void **state)
{
	struct wg_timers t;

	(void)state;
	timers_init(&t);
	timers_data_sent(&t, T0, 0);
	timers_any_authenticated_packet_received(&t);
	assert_int_equal(timers_tick(&t, T0 + S(60)), 0);
}

static void test_retransmit_jitter_bounds(void **state)
{
	uint64_t jitters[] = { 0, 1, MS(200), JITTER_MAX - 1 };
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(jitters) / sizeof(jitters[0]); i++) {
		struct wg_timers t;
		uint64_t due = T0 + S(REKEY_TIMEOUT_S) + jitters[i];

		timers_init(&t);
		timers_handshake_initiated(&t, T0, jitters[i]);
		assert_int_equal(timers_tick(&t, T0 + S(REKEY_TIMEOUT_S) - 1), 0); /* never early */
		assert_int_equal(timers_tick(&t, due - 1), 0);
		assert_int_equal(timers_tick(&t, due), TIMERS_SEND_INITIATION);
	}
}

static void test_retransmit_then_give_up(void **state)
{
	struct wg_timers t;
	uint64_t now = T0;
	unsigned retries = 0, a;

	(void)state;
	timers_init(&t);
	timers_initiation_wanted(&t, false);
	timers_handshake_initiated(&t, now, 0); /* the first initiation */
	for (;;) {
		now += S(REKEY_TIMEOUT_S);
		a = timers_tick(&t, now);
		if (a != TIMERS_SEND_INITIATION)
			break;
		retries++;
		timers_initiation_wanted(&t, true); /* a retry keeps the count */
		timers_handshake_initiated(&t, now, JITTER_MAX - 1);
		now += JITTER_MAX - 1;
		assert_true(retries < 100);
	}
	/* As the kernel: MAX_TIMER_HANDSHAKES + 1 retries (20 initiations in
	 * all, about 90 s + jitter), then give up. */
	assert_int_equal(retries, MAX_TIMER_HANDSHAKES + 1);
	assert_int_equal(a, TIMERS_GIVE_UP);
	/* Nothing more is retried; the keys go after 3 * REJECT_AFTER_TIME. */
	assert_int_equal(timers_tick(&t, now + S(REJECT_AFTER_TIME_S * 3) - 1), 0);
	assert_int_equal(timers_tick(&t, now + S(REJECT_AFTER_TIME_S * 3)), TIMERS_ZERO_KEYS);
}

static void test_give_up_keeps_pending_zeroing(void **state)
{
	struct wg_timers t;

	(void)state;
	timers_init(&t);
	timers_session_derived(&t, T0); /* zero at T0 + 540 s */
	t.handshake_attempts = MAX_TIMER_HANDSHAKES + 1;
	timers_data_received(&t, T0);
	timers_handshake_initiated(&t, T0 + S(200), 0);
	/* Give up drops the pending keepalive too. */
	assert_int_equal(timers_tick(&t, T0 + S(205)), TIMERS_GIVE_UP);
	assert_int_equal(timers_tick(&t, T0 + S(REJECT_AFTER_TIME_S * 3) - 1), 0);
	assert_int_equal(timers_tick(&t, T0 + S(REJECT_AFTER_TIME_S * 3)), TIMERS_ZERO_KEYS);
}

static void test_handshake_complete_stops_retransmits(void **state)
{
	struct wg_timers t;

	(void)state;
	timers_init(&t);
	timers_handshake_initiated(&t, T0, 0);
	assert_int_equal(timers_tick(&t, T0 + S(REKEY_TIMEOUT_S)), TIMERS_SEND_INITIATION);
	assert_int_equal(t.handshake_attempts, 1);
	timers_handshake_initiated(&t, T0 + S(REKEY_TIMEOUT_S), 0);
	timers_handshake_complete(&t);
	assert_int_equal(t.handshake_attempts, 0);
	assert_int_equal(timers_tick(&t, T0 + S(60)), 0);
}

static void test_zero_keys_after_session(void **state)
{
	struct wg_timers t;

	(void)state;
	timers_init(&t);
	timers_session_derived(&t, T0);
	assert_int_equal(timers_tick(&t, T0 + S(539)), 0);
	timers_session_derived(&t, T0 + S(100)); /* a new session pushes it back */
	assert_int_equal(timers_tick(&t, T0 + S(540)), 0);
	assert_int_equal(timers_tick(&t, T0 + S(640) - 1), 0);
	assert_int_equal(timers_tick(&t, T0 + S(640)), TIMERS_ZERO_KEYS);
	assert_int_equal(timers_tick(&t, T0 + S(2000)), 0);
}

static void test_persistent_keepalive(void **state)
{
	struct wg_timers t;

	(void)state;
	timers_init(&t);
	timers_any_authenticated_packet_traversal(&t, T0); /* off: nothing armed */
	assert_int_equal(timers_tick(&t, T0 + S(1000)), 0);

	assert_true(timers_set_persistent_keepalive(&t, 25));   /* off -> on: send one now */
	assert_false(timers_set_persistent_keepalive(&t, 30));  /* on -> on: no */
	timers_any_authenticated_packet_traversal(&t, T0);
	assert_int_equal(timers_tick(&t, T0 + S(30) - 1), 0);
	assert_int_equal(timers_tick(&t, T0 + S(30)), TIMERS_SEND_KEEPALIVE);
	/* Each packet either way pushes it back. */
	timers_any_authenticated_packet_traversal(&t, T0 + S(30));
	timers_any_authenticated_packet_traversal(&t, T0 + S(50));
	assert_int_equal(timers_tick(&t, T0 + S(79)), 0);
	assert_int_equal(timers_tick(&t, T0 + S(80)), TIMERS_SEND_KEEPALIVE);
	/* Turned off: disarmed. */
	timers_any_authenticated_packet_traversal(&t, T0 + S(80));
	assert_false(timers_set_persistent_keepalive(&t, 0));
	assert_int_equal(timers_tick(&t, T0 + S(1000)), 0);
	assert_true(timers_set_persistent_keepalive(&t, 1));
}

static void test_initiation_rate_limit(void **state)
{
	struct wg_timers t;

	(void)state;
	timers_init(&t);
	assert_true(timers_may_send_initiation(&t, T0));
	timers_initiation_sent(&t, T0);
	assert_false(timers_may_send_initiation(&t, T0));
	assert_false(timers_may_send_initiation(&t, T0 + S(REKEY_TIMEOUT_S) - 1));
	assert_true(timers_may_send_initiation(&t, T0 + S(REKEY_TIMEOUT_S)));
	t.handshake_attempts = 5;
	timers_initiation_wanted(&t, true);
	assert_int_equal(t.handshake_attempts, 5);
	timers_initiation_wanted(&t, false);
	assert_int_equal(t.handshake_attempts, 0);
}

static void test_rekey_on_send(void **state)
{
	(void)state;
	assert_false(timers_want_rekey_on_send(true, T0, 0, T0 + S(REKEY_AFTER_TIME_S) - 1));
	assert_true(timers_want_rekey_on_send(true, T0, 0, T0 + S(REKEY_AFTER_TIME_S)));
	assert_false(timers_want_rekey_on_send(false, T0, 0, T0 + S(REKEY_AFTER_TIME_S)));  /* responder */
	assert_false(timers_want_rekey_on_send(true, T0, REKEY_AFTER_MESSAGES, T0));
	assert_true(timers_want_rekey_on_send(true, T0, REKEY_AFTER_MESSAGES + 1, T0));
	assert_false(timers_want_rekey_on_send(false, T0, REKEY_AFTER_MESSAGES + 1, T0));
}

static void test_rekey_on_receive(void **state)
{
	struct wg_timers t;
	uint64_t age = S(REJECT_AFTER_TIME_S - KEEPALIVE_TIMEOUT_S - REKEY_TIMEOUT_S);

	(void)state;
	timers_init(&t);
	assert_false(timers_want_rekey_on_receive(&t, true, T0, T0 + age - 1));
	assert_false(timers_want_rekey_on_receive(&t, false, T0, T0 + age));   /* responder */
	assert_true(timers_want_rekey_on_receive(&t, true, T0, T0 + age));
	assert_false(timers_want_rekey_on_receive(&t, true, T0, T0 + age + 1)); /* once */
	timers_handshake_complete(&t);
	assert_true(timers_want_rekey_on_receive(&t, true, T0, T0 + age + 2));
}

static void test_expired(void **state)
{
	(void)state;
	assert_false(timers_expired(T0, 10, T0 + S(10) - 1));
	assert_true(timers_expired(T0, 10, T0 + S(10)));
	assert_true(timers_expired(T0 + 5, 10, T0)); /* from the future: treat as expired */
}

static void test_stop(void **state)
{
	struct wg_timers t;

	(void)state;
	timers_init(&t);
	timers_set_persistent_keepalive(&t, 5);
	timers_data_sent(&t, T0, 0);
	timers_data_received(&t, T0);
	timers_handshake_initiated(&t, T0, 0);
	timers_session_derived(&t, T0);
	timers_any_authenticated_packet_traversal(&t, T0);
	timers_stop(&t);
	assert_int_equal(timers_tick(&t, T0 + S(10000)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keepalive_after_data_received),
		cmocka_unit_test(test_keepalive_cancelled_by_sending),
		cmocka_unit_test(test_need_another_keepalive),
		cmocka_unit_test(test_new_handshake_when_not_hearing_back),
		cmocka_unit_test(test_new_handshake_cancelled_by_receiving),
		cmocka_unit_test(test_retransmit_jitter_bounds),
		cmocka_unit_test(test_retransmit_then_give_up),
		cmocka_unit_test(test_give_up_keeps_pending_zeroing),
		cmocka_unit_test(test_handshake_complete_stops_retransmits),
		cmocka_unit_test(test_zero_keys_after_session),
		cmocka_unit_test(test_persistent_keepalive),
		cmocka_unit_test(test_initiation_rate_limit),
		cmocka_unit_test(test_rekey_on_send),
		cmocka_unit_test(test_rekey_on_receive),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
