/* Long-poll watchers without a thread each: a waiting request's connection
 * is suspended (libmicrohttpd) and listed here; a committed change resumes
 * every waiter of its organization, and one timer thread resumes those
 * whose deadline has passed. A resumed request runs its handler again,
 * which answers or waits again. */
#ifndef NEXAPI_WATCH_H
#define NEXAPI_WATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "nexapi/store.h"

struct watch;
struct MHD_Connection;

/* One waiting request; owned by the request, opaque contents. */
struct watch_waiter {
	struct watch_waiter *prev, *next;
	struct MHD_Connection *conn;
	char org_id[STORE_ID_LEN + 1];
	uint64_t deadline_ns;
	bool listed;
};

int watch_create(struct watch **out);
/* Resumes every waiter and stops the timer; later waits fail with -ESHUTDOWN. */
void watch_shutdown(struct watch *w);
void watch_destroy(struct watch *w);

/* The count of notifications so far: read it before reading the history,
 * pass it to watch_wait. */
uint64_t watch_seq(struct watch *w);
/* Lists w and suspends its connection until a change of org_id or
 * deadline_ns (time_now_ns clock). Call from the handler only. -EAGAIN:
 * a notification came since `seen` (watch_seq): read the history again. */
int watch_wait(struct watch *w, struct watch_waiter *waiter, struct MHD_Connection *conn,
	       const char *org_id, uint64_t deadline_ns, uint64_t seen);
/* Unlists a waiter (request ending). */
void watch_cancel(struct watch *w, struct watch_waiter *waiter);
/* A change of org_id was committed: resume its waiters (every waiter when
 * org_id is NULL). Thread-safe: a store backend's thread calls it for
 * changes made by other replicas. */
void watch_notify(struct watch *w, const char *org_id);
unsigned watch_count(struct watch *w);

#endif
