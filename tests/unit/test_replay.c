/* The anti-replay window: the cases of the Linux module's counter selftest
 * (in order, reordered, duplicates, far jumps, window edges, the
 * REJECT_AFTER_MESSAGES limit), each numbered so that a failure names it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "wg/messages.h"
#include "wg/replay.h"

static struct replay_counter r;
static unsigned step;

#define LIM ((uint64_t)REPLAY_WINDOW + 1)

static void expect(uint64_t counter, bool want)
{
	bool got = replay_check(&r, counter);

	step++;
	if (got != want)
		fail_msg("step %u: counter %llu: want %s, got %s", step, (unsigned long long)counter,
			 want ? "accept" : "reject", got ? "accept" : "reject");
}

static void reset(void)
{
	replay_init(&r);
	step = 0;
}

static void test_sequence(void **state)
{
	(void)state;
	reset();
	expect(0, true);
	expect(1, true);
	expect(1, false);                  /* duplicate */
	expect(9, true);                   /* a jump forward */
	expect(8, true);                   /* reordered, inside the window */
	expect(7, true);
	expect(7, false);
	expect(LIM, true);
	expect(LIM - 1, true);
	expect(LIM - 1, false);
	expect(LIM - 2, true);
	expect(2, true);                   /* the oldest counter still in the window */
	expect(2, false);
	expect(LIM + 16, true);
	expect(3, false);                  /* slid out of the window */
	expect(LIM + 16, false);
	expect(LIM * 4, true);             /* a far jump clears the whole ring */
	expect(LIM * 4 - (LIM - 1), true);
	expect(10, false);
	expect(LIM * 4 - LIM, false);      /* just outside the window */
	expect(LIM * 4 - (LIM + 1), false);
	expect(LIM * 4 - (LIM - 2), true);
	expect(LIM * 4 + 1 - LIM, false);  /* already seen */
	expect(0, false);
	expect(REJECT_AFTER_MESSAGES, false);
	expect(REJECT_AFTER_MESSAGES - 1, true);
	expect(REJECT_AFTER_MESSAGES, false);
	expect(REJECT_AFTER_MESSAGES - 1, false);
	expect(REJECT_AFTER_MESSAGES - 2, true);
	expect(REJECT_AFTER_MESSAGES + 1, false);
	expect(REJECT_AFTER_MESSAGES + 2, false);
	expect(REJECT_AFTER_MESSAGES - 2, false);
	expect(REJECT_AFTER_MESSAGES - 3, true);
	expect(0, false);
	expect(UINT64_MAX, false);
}

static void test_fill_forward_then_zero(void **state)
{
	(void)state;
	reset();
	for (uint64_t i = 1; i <= REPLAY_WINDOW; i++)
		expect(i, true);
	expect(0, true);                   /* exactly at the window's far edge */
	expect(0, false);

	reset();
	for (uint64_t i = 2; i <= REPLAY_WINDOW + 1; i++)
		expect(i, true);
	expect(1, true);
	expect(0, false);                  /* one past the edge */
}

static void test_fill_backward(void **state)
{
	(void)state;
	reset();
	for (uint64_t i = REPLAY_WINDOW + 1; i-- > 0;)
		expect(i, true);

	reset();
	for (uint64_t i = REPLAY_WINDOW + 2; i-- > 1;)
		expect(i, true);
	expect(0, false);

	reset();
	for (uint64_t i = REPLAY_WINDOW + 1; i-- > 1;)
		expect(i, true);
	expect(REPLAY_WINDOW + 1, true);
	expect(0, false);

	reset();
	for (uint64_t i = REPLAY_WINDOW + 1; i-- > 1;)
		expect(i, true);
	expect(0, true);
	expect(REPLAY_WINDOW + 1, true);
}

/* Every counter of a long in-order run is accepted once; a second pass
 * over the last window rejects all of them. */
static void test_in_order_then_replayed(void **state)
{
	(void)state;
	reset();
	for (uint64_t i = 0; i < 5 * REPLAY_BITS_TOTAL; i++)
		expect(i, true);
	for (uint64_t i = 5 * REPLAY_BITS_TOTAL - REPLAY_WINDOW; i < 5 * REPLAY_BITS_TOTAL; i++)
		expect(i, false);
	/* Below the window: too old, even though never seen as such. */
	expect(5 * REPLAY_BITS_TOTAL - REPLAY_WINDOW - 2, false);
}

/* Reordering inside the window, in a scrambled but complete order. */
static void test_reordered_window(void **state)
{
	uint64_t base = 1000000;

	(void)state;
	reset();
	expect(base + REPLAY_WINDOW - 1, true);
	for (uint64_t k = 0; k < REPLAY_WINDOW - 1; k++) {
		uint64_t c = base + (k * 4099) % (REPLAY_WINDOW - 1); /* 4099 is coprime to 8127 */

		expect(c, true);
	}
	for (uint64_t k = 0; k < REPLAY_WINDOW; k += 97)
		expect(base + k, false);
}

/* A jump of exactly the ring's size and of one word wipes what it must. */
static void test_word_boundaries(void **state)
{
	(void)state;
	reset();
	expect(63, true);
	expect(64, true);
	expect(127, true);
	expect(63, false);
	expect(64 + REPLAY_BITS_TOTAL, true);
	expect(64, false);                 /* far behind now */
	expect(64 + REPLAY_BITS_TOTAL - REPLAY_WINDOW + 1, true);
	expect(64 + REPLAY_BITS_TOTAL - 1, true);
	expect(64 + REPLAY_BITS_TOTAL - 1, false);
	expect(64 + REPLAY_BITS_TOTAL + 64, true);
	expect(64 + REPLAY_BITS_TOTAL + 1, true);
	expect(64 + REPLAY_BITS_TOTAL + 1, false);

	/* After a far jump no stale bit survives anywhere in the ring, not
	 * even in the word that was the top before. */
	reset();
	expect(1000, true);
	expect(1000 + 3 * REPLAY_BITS_TOTAL + 100, true);
	expect(1000 + 3 * REPLAY_BITS_TOTAL, true);
	expect(1000 + 2 * REPLAY_BITS_TOTAL + 100, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sequence),
		cmocka_unit_test(test_fill_forward_then_zero),
		cmocka_unit_test(test_fill_backward),
		cmocka_unit_test(test_in_order_then_replayed),
		cmocka_unit_test(test_reordered_window),
		cmocka_unit_test(test_word_boundaries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
