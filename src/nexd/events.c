#include "nexd/events.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "apiclient/apiclient.h"
#include "common/log.h"
#include "common/timeutil.h"

struct event_node {
	struct event_node *next;
	struct event ev;
};

struct event_queue {
	pthread_mutex_t lock;
	struct event_node *head, *tail;
	bool health_pending;             /* an EV_HEALTH is queued: coalesce */
	int fd;                          /* eventfd, readable while events wait */
};

void event_release(struct event *e)
{
	switch (e->type) {
	case EV_REGISTERED:
		api_device_free(&e->u.registered.self);
		explicit_bzero(e->u.registered.token, sizeof(e->u.registered.token));
		break;
	case EV_TOKEN:
		explicit_bzero(e->u.token.token, sizeof(e->u.token.token));
		break;
	case EV_MESH_LIST:
		api_device_list_free(&e->u.list);
		break;
	case EV_MESH_EVENTS:
		api_watch_free(&e->u.watch);
		break;
	case EV_RELAYS:
		api_relays_wipe(&e->u.relays);
		break;
	case EV_RELAY:
		free(e->u.relay.paths);
		break;
	default:
		break;
	}
	memset(&e->u, 0, sizeof(e->u));
}

int evq_new(struct event_queue **out)
{
	struct event_queue *q = calloc(1, sizeof(*q));

	if (!q)
		return -ENOMEM;
	q->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->fd < 0) {
		int r = -errno;
		free(q);
		return r;
	}
	pthread_mutex_init(&q->lock, NULL);
	*out = q;
	return 0;
}

void evq_free(struct event_queue *q)
{
	struct event ev;

	if (!q)
		return;
	while (evq_take(q, &ev))
		event_release(&ev);
	close(q->fd);
	pthread_mutex_destroy(&q->lock);
	free(q);
}

int evq_post(struct event_queue *q, struct event *e)
{
	struct event_node *n;
	uint64_t one = 1;

	pthread_mutex_lock(&q->lock);
	if (e->type == EV_HEALTH && q->health_pending) {
		pthread_mutex_unlock(&q->lock);
		return 0;
	}
	n = malloc(sizeof(*n));
	if (!n) {
		pthread_mutex_unlock(&q->lock);
		log_error("out of memory: an event is lost");
		event_release(e);
		return -ENOMEM;
	}
	n->ev = *e;
	n->next = NULL;
	memset(&e->u, 0, sizeof(e->u));
	if (q->tail)
		q->tail->next = n;
	else
		q->head = n;
	q->tail = n;
	if (n->ev.type == EV_HEALTH)
		q->health_pending = true;
	if (write(q->fd, &one, sizeof(one)) < 0) {
		/* the counter is full: the loop is awake anyway */
	}
	pthread_mutex_unlock(&q->lock);
	return 0;
}

bool evq_take(struct event_queue *q, struct event *out)
{
	struct event_node *n;
	uint64_t v;

	pthread_mutex_lock(&q->lock);
	n = q->head;
	if (n) {
		q->head = n->next;
		if (!q->head)
			q->tail = NULL;
		if (n->ev.type == EV_HEALTH)
			q->health_pending = false;
	}
	if (!q->head)
		(void)!read(q->fd, &v, sizeof(v));
	pthread_mutex_unlock(&q->lock);
	if (!n)
		return false;
	*out = n->ev;
	free(n);
	return true;
}

int evq_fd(const struct event_queue *q)
{
	return q->fd;
}

bool worker_stopping(const struct worker *w)
{
	return atomic_load(w->stopping) != 0;
}

bool worker_sleep(const struct worker *w, unsigned ms)
{
	uint64_t deadline = time_now_ns() + (uint64_t)ms * NSEC_PER_MSEC;

	while (!worker_stopping(w)) {
		struct pollfd p = { .fd = w->stop_fd, .events = POLLIN };
		uint64_t now = time_now_ns();

		if (now >= deadline)
			return false;
		if (poll(&p, 1, (int)((deadline - now + NSEC_PER_MSEC - 1) / NSEC_PER_MSEC)) < 0 && errno != EINTR)
			return worker_stopping(w);
	}
	return true;
}

void worker_fail(const struct worker *w, int status, const char *fmt, ...)
{
	struct event e = { .type = EV_FATAL };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e.u.fatal.msg, sizeof(e.u.fatal.msg), fmt, ap);
	va_end(ap);
	e.u.fatal.status = status;
	evq_post(w->q, &e);
}

int worker_client_new(const struct worker *w, const char *service_url, const char *ca_cert, struct api_client **out)
{
	struct api_client_config cfg = {
		.base_url = service_url,
		.ca_file = ca_cert,
		.connect_timeout_ms = 5000,
		.timeout_ms = 15000,
	};
	int r = api_client_new(&cfg, out);

	if (r == 0)
		api_client_set_abort(*out, w->stopping);
	return r;
}
