/* Worker threads sharing the items of a batch (see pool.h).
 *
 * A posted batch is a task on the caller's stack. Workers sleep on a
 * generation counter (a futex) that each post bumps; a woken worker
 * registers as a user, takes the posted task if there still is one, and
 * claims items from its counter until none are left. The caller claims
 * items the same way, then waits for the items others claimed (a short
 * spin, then a futex on the done counter), unposts the task and waits for
 * the users to leave it, so the task never outlives a worker's view of it.
 * The post/unpost against register/look is Dekker's pattern: sequentially
 * consistent atomics on both sides. */
#include "wg/pool.h"

#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SPIN_WAIT 4000   /* pause loops before sleeping on a claimed item */
/* A worker that just helped stays awake this long for the next batch:
 * under load batches follow each other within tens of microseconds, and
 * a futex wake-up costs about as much. */
#define LINGER_NS 50000

struct pool_task {
	pool_fn fn;
	void *ctx;
	unsigned n;
	atomic_uint next;     /* the next item to claim */
	atomic_uint done;     /* items finished */
	atomic_uint waiting;  /* the caller sleeps on done */
};

struct pool {
	_Atomic(struct pool_task *) task;
	atomic_uint users;    /* workers looking at task */
	atomic_uint gen;      /* bumped by every post; workers sleep on it */
	atomic_uint sleepers;
	atomic_bool stop;
	atomic_ullong by_workers;
	unsigned n;
	pthread_t threads[];
};

static void futex_wait(atomic_uint *addr, unsigned val)
{
	syscall(SYS_futex, addr, FUTEX_WAIT_PRIVATE, val, NULL, NULL, 0);
}

static void futex_wake(atomic_uint *addr, int n)
{
	syscall(SYS_futex, addr, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Claims and runs items until none are left; returns how many it ran. */
static unsigned help(struct pool_task *t)
{
	unsigned ran = 0, i;

	while ((i = atomic_fetch_add(&t->next, 1)) < t->n) {
		t->fn(t->ctx, i);
		ran++;
		if (atomic_fetch_add(&t->done, 1) + 1 == t->n && atomic_load(&t->waiting))
			futex_wake(&t->done, 1);
	}
	return ran;
}

static uint64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Waits up to LINGER_NS for the generation to move on from g. */
static void linger(struct pool *p, unsigned g)
{
	uint64_t until = mono_ns() + LINGER_NS;
	unsigned k = 0;

	while (atomic_load_explicit(&p->gen, memory_order_relaxed) == g && !atomic_load(&p->stop)) {
		cpu_relax();
		if (!(++k & 63) && mono_ns() > until)
			break;
	}
}

static void *worker(void *arg)
{
	struct pool *p = arg;
	unsigned seen = atomic_load(&p->gen);
	bool helped = false;

	for (;;) {
		unsigned g = atomic_load(&p->gen);

		if (atomic_load(&p->stop))
			break;
		if (g == seen && helped) {
			helped = false;
			linger(p, g);
			continue;
		}
		if (g != seen) {
			struct pool_task *t;

			seen = g;
			atomic_fetch_add(&p->users, 1);
			t = atomic_load(&p->task);
			if (t) {
				unsigned ran = help(t);

				if (ran)
					atomic_fetch_add_explicit(&p->by_workers, ran, memory_order_relaxed);
				helped = true;
			}
			atomic_fetch_sub(&p->users, 1);
			continue;
		}
		atomic_fetch_add(&p->sleepers, 1);
		if (atomic_load(&p->gen) == g && !atomic_load(&p->stop))
			futex_wait(&p->gen, g);
		atomic_fetch_sub(&p->sleepers, 1);
	}
	return NULL;
}

int pool_create(struct pool **out, unsigned workers, const char *name)
{
	struct pool *p = calloc(1, sizeof(*p) + workers * sizeof(pthread_t));
	unsigned i;
	int err;

	if (!p)
		return -ENOMEM;
	for (i = 0; i < workers; i++) {
		err = pthread_create(&p->threads[i], NULL, worker, p);
		if (err) {
			p->n = i;
			pool_destroy(p);
			return -err;
		}
		p->n = i + 1;
		if (name) {
			char tn[32];

			snprintf(tn, sizeof(tn), "%.10s-%u", name, i);
			tn[15] = '\0'; /* the kernel's limit */
			pthread_setname_np(p->threads[i], tn);
		}
	}
	*out = p;
	return 0;
}

void pool_destroy(struct pool *p)
{
	unsigned i;

	if (!p)
		return;
	atomic_store(&p->stop, true);
	atomic_fetch_add(&p->gen, 1);
	futex_wake(&p->gen, INT_MAX);
	for (i = 0; i < p->n; i++)
		pthread_join(p->threads[i], NULL);
	free(p);
}

unsigned pool_workers(const struct pool *p)
{
	return p ? p->n : 0;
}

unsigned long long pool_items_by_workers(const struct pool *p)
{
	return p ? atomic_load_explicit(&p->by_workers, memory_order_relaxed) : 0;
}

void pool_run(struct pool *p, pool_fn fn, void *ctx, unsigned n, unsigned min_items)
{
	struct pool_task t = { .fn = fn, .ctx = ctx, .n = n };
	struct pool_task *none = NULL;
	unsigned d, k;

	if (!p || !p->n || n < min_items || n < 2 || !atomic_compare_exchange_strong(&p->task, &none, &t)) {
		for (unsigned i = 0; i < n; i++)
			fn(ctx, i);
		return;
	}
	atomic_fetch_add(&p->gen, 1);
	if (atomic_load(&p->sleepers))
		futex_wake(&p->gen, (int)p->n);
	help(&t);

	/* Items a worker claimed: it is running them now (or was preempted). */
	for (k = 0; atomic_load(&t.done) < n && k < SPIN_WAIT; k++)
		cpu_relax();
	while ((d = atomic_load(&t.done)) < n) {
		atomic_store(&t.waiting, 1);
		if (atomic_load(&t.done) == d)
			futex_wait(&t.done, d);
	}

	atomic_store(&p->task, NULL);
	for (k = 0; atomic_load(&p->users); k++) {
		if (k < SPIN_WAIT)
			cpu_relax();
		else
			sched_yield();
	}
}
