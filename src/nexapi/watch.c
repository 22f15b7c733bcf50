#include "nexapi/watch.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/timeutil.h"

#define TICK_MS 100

struct watch {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t timer;
	struct watch_waiter head;   /* circular list */
	unsigned count;
	uint64_t seq;               /* notifications so far */
	bool stopping;
};

static void unlist(struct watch *w, struct watch_waiter *x)
{
	x->prev->next = x->next;
	x->next->prev = x->prev;
	x->prev = x->next = NULL;
	x->listed = false;
	w->count--;
}

/* Under the lock: moves x from the list to the chain *out (through its
 * next pointer). Its connection stays suspended, so its request, which
 * owns x, cannot end before resume_chain. */
static void take(struct watch *w, struct watch_waiter *x, struct watch_waiter **out)
{
	unlist(w, x);
	x->next = *out;
	*out = x;
}

/* Without the lock (libmicrohttpd takes its own locks in
 * MHD_resume_connection, and may call back into watch_cancel while holding
 * them). A resumed request may run, and reuse its waiter, at once: each
 * waiter is read before its connection is resumed. */
static unsigned resume_chain(struct watch_waiter *x)
{
	unsigned n = 0;

	while (x) {
		struct watch_waiter *next = x->next;
		struct MHD_Connection *conn = x->conn;

		x->next = NULL;
		MHD_resume_connection(conn);
		x = next;
		n++;
	}
	return n;
}

static void *timer_main(void *arg)
{
	struct watch *w = arg;

	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		struct watch_waiter *x, *next, *due = NULL;
		struct timespec ts;
		uint64_t now;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cond, &w->lock, &ts);
		now = time_now_ns();
		for (x = w->head.next; x != &w->head; x = next) {
			next = x->next;
			if (x->deadline_ns <= now)
				take(w, x, &due);
		}
		if (due) {
			pthread_mutex_unlock(&w->lock);
			resume_chain(due);
			pthread_mutex_lock(&w->lock);
		}
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int watch_create(struct watch **out)
{
	struct watch *w = calloc(1, sizeof(*w));
	int err;

	if (!w)
		return -ENOMEM;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->head.next = w->head.prev = &w->head;
	err = pthread_create(&w->timer, NULL, timer_main, w);
	if (err) {
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return -err;
	}
	*out = w;
	return 0;
}

void watch_shutdown(struct watch *w)
{
	struct watch_waiter *all = NULL;

	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		return;
	}
	w->stopping = true;
	while (w->head.next != &w->head)
		take(w, w->head.next, &all);
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	resume_chain(all);
	pthread_join(w->timer, NULL);
}

void watch_destroy(struct watch *w)
{
	if (!w)
		return;
	watch_shutdown(w);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

uint64_t watch_seq(struct watch *w)
{
	uint64_t seq;

	pthread_mutex_lock(&w->lock);
	seq = w->seq;
	pthread_mutex_unlock(&w->lock);
	return seq;
}

int watch_wait(struct watch *w, struct watch_waiter *x, struct MHD_Connection *conn,
	       const char *org_id, uint64_t deadline_ns, uint64_t seen)
{
	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		return -ESHUTDOWN;
	}
	if (w->seq != seen) {
		/* a notification (from another thread) came in since the
		 * caller read the history: read it again */
		pthread_mutex_unlock(&w->lock);
		return -EAGAIN;
	}
	if (x->listed)
		unlist(w, x);
	x->conn = conn;
	strncpy(x->org_id, org_id, sizeof(x->org_id) - 1);
	x->org_id[sizeof(x->org_id) - 1] = 0;
	x->deadline_ns = deadline_ns;
	x->next = &w->head;
	x->prev = w->head.prev;
	w->head.prev->next = x;
	w->head.prev = x;
	x->listed = true;
	w->count++;
	/* Suspended under the lock: nothing can resume it before this. */
	MHD_suspend_connection(conn);
	pthread_mutex_unlock(&w->lock);
	return 0;
}

void watch_cancel(struct watch *w, struct watch_waiter *x)
{
	pthread_mutex_lock(&w->lock);
	if (x->listed)
		unlist(w, x);
	pthread_mutex_unlock(&w->lock);
}

void watch_notify(struct watch *w, const char *org_id)
{
	struct watch_waiter *x, *next, *woken = NULL;
	unsigned n;

	pthread_mutex_lock(&w->lock);
	w->seq++;
	for (x = w->head.next; x != &w->head; x = next) {
		next = x->next;
		if (!org_id || !strcmp(x->org_id, org_id))
			take(w, x, &woken);
	}
	pthread_mutex_unlock(&w->lock);
	n = resume_chain(woken);
	if (n)
		log_debug("watch: woke %u watchers", n);
}

unsigned watch_count(struct watch *w)
{
	unsigned n;

	pthread_mutex_lock(&w->lock);
	n = w->count;
	pthread_mutex_unlock(&w->lock);
	return n;
}
