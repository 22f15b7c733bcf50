/* The crypto worker pool: every item exactly once per batch, whoever runs
 * it; workers really take items; two callers at once; small batches and
 * empty pools stay on the caller. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "wg/pool.h"

#define N_ITEMS 64

struct batch {
	atomic_uint hits[N_ITEMS];
	pthread_t caller;
	atomic_uint foreign;   /* items run on another thread than the caller */
	unsigned spin_ns;
};

static void spin(unsigned ns)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	do
		clock_gettime(CLOCK_MONOTONIC, &b);
	while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < (long)ns);
}

static void item(void *ctx, unsigned i)
{
	struct batch *b = ctx;

	/* no cmocka assertion here: this may run on a worker thread */
	if (i < N_ITEMS)
		atomic_fetch_add(&b->hits[i], 1);
	if (!pthread_equal(pthread_self(), b->caller))
		atomic_fetch_add(&b->foreign, 1);
	if (b->spin_ns)
		spin(b->spin_ns);
}

/* Runs rounds batches of n items; a wrong count goes to *bad when given
 * (threads other than the test's own must not fail a cmocka assertion). */
static unsigned run_batches_to(struct pool *p, unsigned rounds, unsigned n, unsigned min, unsigned spin_ns,
			       unsigned *bad)
{
	unsigned foreign = 0;

	for (unsigned r = 0; r < rounds; r++) {
		struct batch b = { .caller = pthread_self(), .spin_ns = spin_ns };

		pool_run(p, item, &b, n, min);
		for (unsigned i = 0; i < N_ITEMS; i++) {
			if (bad)
				*bad += atomic_load(&b.hits[i]) != (i < n ? 1u : 0u);
			else
				assert_int_equal(atomic_load(&b.hits[i]), i < n ? 1 : 0);
		}
		foreign += atomic_load(&b.foreign);
	}
	return foreign;
}

static unsigned run_batches(struct pool *p, unsigned rounds, unsigned n, unsigned min, unsigned spin_ns)
{
	return run_batches_to(p, rounds, n, min, spin_ns, NULL);
}

static void test_no_workers(void **state)
{
	struct pool *p = NULL;

	(void)state;
	assert_int_equal(pool_create(&p, 0, "t"), 0);
	assert_int_equal(pool_workers(p), 0);
	assert_int_equal(run_batches(p, 100, N_ITEMS, 1, 0), 0);
	assert_int_equal(run_batches(NULL, 10, N_ITEMS, 1, 0), 0);
	pool_destroy(p);
	pool_destroy(NULL);
}

static void test_workers_take_items(void **state)
{
	struct pool *p = NULL;
	unsigned foreign;

	(void)state;
	assert_int_equal(pool_create(&p, 2, "t"), 0);
	assert_int_equal(pool_workers(p), 2);
	/* items of 20 us: a worker that wakes at all takes some */
	foreign = run_batches(p, 300, N_ITEMS, 8, 20000);
	assert_true(foreign > 0);
	assert_int_equal(pool_items_by_workers(p), foreign);
	/* every size, quick items (mostly the caller's) */
	for (unsigned n = 0; n <= N_ITEMS; n++)
		run_batches(p, 20, n, 2, 0);
	pool_destroy(p);
}

static void test_small_batches_stay(void **state)
{
	struct pool *p = NULL;

	(void)state;
	assert_int_equal(pool_create(&p, 1, "t"), 0);
	assert_int_equal(run_batches(p, 200, 7, 8, 2000), 0);
	assert_int_equal(pool_items_by_workers(p), 0);
	pool_destroy(p);
}

struct caller_arg {
	struct pool *p;
	unsigned rounds, bad;
};

static void *caller(void *arg)
{
	struct caller_arg *a = arg;

	run_batches_to(a->p, a->rounds, N_ITEMS, 4, 1000, &a->bad);
	return NULL;
}

/* Two callers (a device's send and receive threads) share one pool. */
static void test_two_callers(void **state)
{
	struct pool *p = NULL;
	pthread_t t[2];
	struct caller_arg a[2];

	(void)state;
	assert_int_equal(pool_create(&p, 1, "t"), 0);
	for (int i = 0; i < 2; i++) {
		a[i] = (struct caller_arg){ .p = p, .rounds = 300 };
		assert_int_equal(pthread_create(&t[i], NULL, caller, &a[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(a[i].bad, 0);
	}
	pool_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_workers),
		cmocka_unit_test(test_workers_take_items),
		cmocka_unit_test(test_small_batches_stay),
		cmocka_unit_test(test_two_callers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
