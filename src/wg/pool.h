/* A small pool of worker threads that share the cryptography of a batch
 * with the thread that owns it: pool_run(fn, ctx, n) calls fn(ctx, i) once
 * for every i < n, on the calling thread and on whichever workers are free
 * to help, and returns when all n calls have returned. Items are claimed
 * from a shared counter, so a worker that is late (asleep, preempted, or
 * helping another caller) simply takes fewer or none: the caller never
 * waits for a worker to start, only for items a worker has claimed.
 *
 * The caller keeps order: fn only transforms item i in place; whatever
 * must happen in sequence (nonces, replay checks, sending) happens before
 * or after pool_run on the owning thread.
 *
 * One batch at a time is shared: a second caller while a batch is out
 * (the send and receive threads of one device) runs its own alone. */
#ifndef WG_POOL_H
#define WG_POOL_H

struct pool;

typedef void (*pool_fn)(void *ctx, unsigned i);

/* A pool with `workers` threads (0: none; pool_run then calls fn on the
 * caller only). 0 or a negative errno. */
int pool_create(struct pool **out, unsigned workers, const char *name);
/* Stops and joins the workers. NULL is ignored. */
void pool_destroy(struct pool *p);
unsigned pool_workers(const struct pool *p);
/* Batches below `min_items` are not shared (waking a worker costs more
 * than it saves on a few packets). */
void pool_run(struct pool *p, pool_fn fn, void *ctx, unsigned n, unsigned min_items);
/* Items done by workers (not by callers) so far. */
unsigned long long pool_items_by_workers(const struct pool *p);

#endif
