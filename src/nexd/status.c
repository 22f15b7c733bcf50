#include "nexd/status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timeutil.h"

void status_view_release(struct status_view *v)
{
	free(v->peers);
	free(v->exits);
	v->peers = NULL;
	v->exits = NULL;
	v->n_peers = v->n_exits = 0;
}

void status_board_init(struct status_board *b, const struct status_fixed *f)
{
	pthread_condattr_t ca;

	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&b->cond, &ca);
	pthread_condattr_destroy(&ca);
	b->fixed = *f;
	snprintf(b->view.api_state, sizeof(b->view.api_state), "connecting");
	snprintf(b->view.exit_status, sizeof(b->view.exit_status), "off");
}

void status_board_destroy(struct status_board *b)
{
	status_view_release(&b->view);
	pthread_cond_destroy(&b->cond);
	pthread_mutex_destroy(&b->lock);
}

void status_publish(struct status_board *b, struct status_view *v, bool replace_peers)
{
	pthread_mutex_lock(&b->lock);
	if (!replace_peers) {
		v->peers = b->view.peers;
		v->n_peers = b->view.n_peers;
		b->view.peers = NULL;
	}
	status_view_release(&b->view);
	b->view = *v;
	pthread_mutex_unlock(&b->lock);
	v->peers = NULL;
	v->exits = NULL;
	v->n_peers = v->n_exits = 0;
}

void status_set_interface(struct status_board *b, const struct wg_driver *drv, void *dev, struct health *h)
{
	pthread_mutex_lock(&b->lock);
	b->drv = drv;
	b->dev = dev;
	b->health = h;
	pthread_mutex_unlock(&b->lock);
}

void status_set_proxy(struct status_board *b, struct proxy *p)
{
	pthread_mutex_lock(&b->lock);
	b->proxy = p;
	pthread_mutex_unlock(&b->lock);
}

void status_ack(struct status_board *b, uint64_t gen)
{
	pthread_mutex_lock(&b->lock);
	if (gen > b->control_applied)
		b->control_applied = gen;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

void status_refuse(struct status_board *b, uint64_t gen, const char *why)
{
	pthread_mutex_lock(&b->lock);
	b->control_refused = gen;
	snprintf(b->refused_text, sizeof(b->refused_text), "%s", why);
	if (gen > b->control_applied)
		b->control_applied = gen;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

uint64_t status_next_control(struct status_board *b)
{
	uint64_t gen;

	pthread_mutex_lock(&b->lock);
	gen = ++b->control_posted;
	pthread_mutex_unlock(&b->lock);
	return gen;
}

int status_wait_applied(struct status_board *b, uint64_t gen, unsigned ms, char *err, size_t errlen)
{
	struct timespec ts;
	int r = 0;

	time_deadline(&ts, CLOCK_MONOTONIC, ms);
	pthread_mutex_lock(&b->lock);
	while (b->control_applied < gen)
		if (pthread_cond_timedwait(&b->cond, &b->lock, &ts) == ETIMEDOUT)
			break;
	if (b->control_applied < gen)
		r = -ETIMEDOUT;
	else if (b->control_refused == gen) {
		snprintf(err, errlen, "%s", b->refused_text);
		r = -EPERM;
	}
	pthread_mutex_unlock(&b->lock);
	return r;
}
