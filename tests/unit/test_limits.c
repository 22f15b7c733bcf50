/* nexapi's limits: token buckets, requests and watches at once, a full table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "nexapi/limits.h"

#define S 1000000000ULL

static void test_rate(void **state)
{
	struct limits_config cfg = { .rate = 2, .burst = 4, .capacity = 16 };
	struct limits *l;
	unsigned retry;

	(void)state;
	assert_int_equal(limits_new(&cfg, &l), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(limits_admit(l, "t:a", false, 10 * S, &retry), LIMITS_OK);
		limits_release(l, "t:a", false);
	}
	assert_int_equal(limits_admit(l, "t:a", false, 10 * S, &retry), LIMITS_RATE);
	assert_int_equal(retry, 1);
	/* another key is not affected */
	assert_int_equal(limits_admit(l, "t:b", false, 10 * S, &retry), LIMITS_OK);
	/* half a second later: one more (rate 2/s) */
	assert_int_equal(limits_admit(l, "t:a", false, 10 * S + S / 2, &retry), LIMITS_OK);
	assert_int_equal(limits_admit(l, "t:a", false, 10 * S + S / 2, &retry), LIMITS_RATE);
	/* a long pause refills the bucket to its size only */
	for (int i = 0; i < 4; i++)
		assert_int_equal(limits_admit(l, "t:c", false, 100 * S, &retry), LIMITS_OK);
	limits_free(l);
}

static void test_inflight_and_watches(void **state)
{
	struct limits_config cfg = { .rate = 1000, .burst = 1000, .max_inflight = 3, .max_watches = 2,
				     .capacity = 16 };
	struct limits *l;
	unsigned retry;

	(void)state;
	assert_int_equal(limits_new(&cfg, &l), 0);
	assert_int_equal(limits_admit(l, "k", true, S, &retry), LIMITS_OK);
	assert_int_equal(limits_admit(l, "k", true, S, &retry), LIMITS_OK);
	assert_int_equal(limits_admit(l, "k", true, S, &retry), LIMITS_WATCHES);
	assert_int_equal(limits_admit(l, "k", false, S, &retry), LIMITS_OK);
	assert_int_equal(limits_admit(l, "k", false, S, &retry), LIMITS_INFLIGHT);
	limits_release(l, "k", true);
	assert_int_equal(limits_admit(l, "k", true, S, &retry), LIMITS_OK);
	limits_release(l, "nothing", false);   /* unknown: no effect */
	limits_free(l);
}

static void test_full_table(void **state)
{
	struct limits_config cfg = { .rate = 1, .burst = 1, .max_inflight = 1, .capacity = 8 };
	struct limits *l;
	unsigned retry;
	char key[16];

	(void)state;
	assert_int_equal(limits_new(&cfg, &l), 0);
	/* busy keys fill it; then new keys pass untracked (fail open) */
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "a:%d", i);
		assert_int_equal(limits_admit(l, key, false, S, &retry), LIMITS_OK);
	}
	assert_true(limits_count(l) <= 16);
	/* once idle (released, bucket refilled), they are dropped to make room */
	for (int i = 0; i < 40; i++) {
		snprintf(key, sizeof(key), "a:%d", i);
		limits_release(l, key, false);
	}
	assert_int_equal(limits_admit(l, "new", false, 100 * S, &retry), LIMITS_OK);
	assert_true(limits_count(l) <= 2);
	limits_free(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate),
		cmocka_unit_test(test_inflight_and_watches),
		cmocka_unit_test(test_full_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
