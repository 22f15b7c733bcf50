/* Asynchronous name resolution for SOCKS (resolve.h). */
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "proxy/resolve.h"

struct resolver {
	pthread_mutex_t mu;
	int efd;
	unsigned refs;               /* the owner's and one per running thread */
	unsigned inflight;
	bool released;
	struct resolve_job *done, *done_tail;
};

int resolver_new(struct resolver **out)
{
	struct resolver *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (r->efd < 0) {
		int err = -errno;

		free(r);
		return err;
	}
	pthread_mutex_init(&r->mu, NULL);
	r->refs = 1;
	*out = r;
	return 0;
}

int resolver_fd(const struct resolver *r)
{
	return r->efd;
}

/* Drops a reference; the last one frees. Called with mu held; unlocks. */
static void unref_unlock(struct resolver *r)
{
	bool last = --r->refs == 0;

	pthread_mutex_unlock(&r->mu);
	if (!last)
		return;
	while (r->done) {
		struct resolve_job *j = r->done;

		r->done = j->next;
		free(j);
	}
	close(r->efd);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

static void lookup(struct resolve_job *j)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_ADDRCONFIG };
	struct addrinfo *res, *ai;
	int rc = getaddrinfo(j->name, NULL, &hints, &res);

	if (rc != 0) {
		j->err = rc == EAI_SYSTEM ? -errno : -EHOSTUNREACH;
		return;
	}
	for (ai = res; ai && j->n < RESOLVE_MAX_ADDRS; ai = ai->ai_next) {
		if (ai->ai_family == AF_INET && ai->ai_addrlen == sizeof(struct sockaddr_in))
			memcpy(&j->addrs[j->n++].in4, ai->ai_addr, sizeof(struct sockaddr_in));
		else if (ai->ai_family == AF_INET6 && ai->ai_addrlen == sizeof(struct sockaddr_in6))
			memcpy(&j->addrs[j->n++].in6, ai->ai_addr, sizeof(struct sockaddr_in6));
	}
	freeaddrinfo(res);
	if (!j->n)
		j->err = -EHOSTUNREACH;
}

static void *worker(void *arg)
{
	struct resolve_job *j = arg;
	struct resolver *r = j->r;
	uint64_t one = 1;

	lookup(j);
	pthread_mutex_lock(&r->mu);
	r->inflight--;
	if (r->released) {
		free(j);
	} else {
		j->next = NULL;
		if (r->done_tail)
			r->done_tail->next = j;
		else
			r->done = j;
		r->done_tail = j;
		if (write(r->efd, &one, sizeof(one)) < 0) {
			/* a full counter is readable already */
		}
	}
	unref_unlock(r);
	return NULL;
}

int resolver_start(struct resolver *r, const char *name, void *cookie, struct resolve_job **out)
{
	struct resolve_job *j;
	pthread_attr_t attr;
	pthread_t t;
	size_t len = strlen(name);
	int err;

	if (len >= sizeof(j->name))
		return -ENAMETOOLONG;
	pthread_mutex_lock(&r->mu);
	if (r->inflight >= RESOLVE_MAX_INFLIGHT) {
		pthread_mutex_unlock(&r->mu);
		return -EAGAIN;
	}
	pthread_mutex_unlock(&r->mu);
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	memcpy(j->name, name, len + 1);
	j->cookie = cookie;
	j->r = r;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_mutex_lock(&r->mu);
	r->inflight++;
	r->refs++;
	pthread_mutex_unlock(&r->mu);
	err = pthread_create(&t, &attr, worker, j);
	pthread_attr_destroy(&attr);
	if (err) {
		pthread_mutex_lock(&r->mu);
		r->inflight--;
		r->refs--;
		pthread_mutex_unlock(&r->mu);
		free(j);
		return -err;
	}
	*out = j;
	return 0;
}

void resolver_cancel(struct resolve_job *j)
{
	struct resolver *r = j->r;

	pthread_mutex_lock(&r->mu);
	j->cookie = NULL;
	pthread_mutex_unlock(&r->mu);
}

struct resolve_job *resolver_take(struct resolver *r)
{
	struct resolve_job *j;
	uint64_t v;

	if (read(r->efd, &v, sizeof(v)) < 0) {
		/* nothing counted: the list says */
	}
	pthread_mutex_lock(&r->mu);
	j = r->done;
	if (j) {
		r->done = j->next;
		if (!r->done)
			r->done_tail = NULL;
	}
	pthread_mutex_unlock(&r->mu);
	return j;
}

void resolver_job_free(struct resolve_job *j)
{
	free(j);
}

void resolver_release(struct resolver *r)
{
	pthread_mutex_lock(&r->mu);
	r->released = true;
	unref_unlock(r);
}
