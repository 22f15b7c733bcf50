#include "nexd/report.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "apiclient/apiclient.h"
#include "common/log.h"

#define REPORT_RETRY_MS 5000

struct report {
	struct worker w;
	struct api_client *c;
	pthread_mutex_t lock;            /* guards want */
	struct report_fields want;
	int wake_fd;                     /* eventfd: want changed */
	struct report_fields pushed;     /* the worker's own: what the server has from us */
	char last_error[256];
	pthread_t thread;
};

static bool endpoints_differ(const struct report_fields *a, const struct report_fields *b)
{
	if (a->n_eps != b->n_eps)
		return true;
	for (size_t i = 0; i < a->n_eps; i++)
		if (a->eps[i].source != b->eps[i].source || !addr_endpoint_equal(&a->eps[i].addr, &b->eps[i].addr))
			return true;
	return false;
}

/* The fields of want the server does not have from us yet, as a PATCH
 * body; NULL when there are none. */
static json_t *build_patch(const struct report_fields *want, const struct report_fields *pushed)
{
	json_t *p = json_object();

	if (want->has_endpoints && (!pushed->has_endpoints || endpoints_differ(want, pushed))) {
		json_t *list = json_array();
		for (size_t i = 0; i < want->n_eps; i++) {
			char text[ADDR_ENDPOINT_STRLEN];
			addr_endpoint_format(&want->eps[i].addr, text);
			json_array_append_new(list, json_pack("{s:s, s:s}", "source",
							      api_endpoint_source_name(want->eps[i].source), "address", text));
		}
		json_object_set_new(p, "endpoints", list);
	}
	if (want->has_advertise && (!pushed->has_advertise || want->advertise4 != pushed->advertise4 ||
				    want->advertise6 != pushed->advertise6)) {
		json_t *cidrs = json_array();
		if (want->advertise4)
			json_array_append_new(cidrs, json_string("0.0.0.0/0"));
		if (want->advertise6)
			json_array_append_new(cidrs, json_string("::/0"));
		json_object_set_new(p, "advertise_cidrs", cidrs);
	}
	if (want->has_status && (!pushed->has_status || strcmp(want->status, pushed->status)))
		json_object_set_new(p, "exit_node_status", json_string(want->status));
	if (want->has_client && (!pushed->has_client || want->client != pushed->client))
		json_object_set_new(p, "exit_node_client", json_boolean(want->client));
	if (json_object_size(p) == 0) {
		json_decref(p);
		return NULL;
	}
	return p;
}

/* Records a successful PATCH of want's fields. */
static void pushed_now(struct report *r, const struct report_fields *want, const json_t *patch)
{
	struct report_fields *p = &r->pushed;

	if (json_object_get(patch, "endpoints")) {
		p->has_endpoints = true;
		memcpy(p->eps, want->eps, sizeof(p->eps));
		p->n_eps = want->n_eps;
	}
	if (json_object_get(patch, "advertise_cidrs")) {
		p->has_advertise = true;
		p->advertise4 = want->advertise4;
		p->advertise6 = want->advertise6;
		log_info("advertising %s", want->advertise4 ? (want->advertise6 ? "0.0.0.0/0 and ::/0" : "0.0.0.0/0")
							    : "no default route");
	}
	if (json_object_get(patch, "exit_node_status")) {
		p->has_status = true;
		snprintf(p->status, sizeof(p->status), "%s", want->status);
	}
	if (json_object_get(patch, "exit_node_client")) {
		p->has_client = true;
		p->client = want->client;
	}
}

/* Waits for a new want, a retry, or the stop. */
static void wait_for_work(struct report *r, unsigned ms)
{
	struct pollfd p[2] = { { .fd = r->wake_fd, .events = POLLIN }, { .fd = r->w.stop_fd, .events = POLLIN } };
	uint64_t v;

	if (poll(p, 2, (int)ms) > 0 && (p[0].revents & POLLIN))
		(void)!read(r->wake_fd, &v, sizeof(v));
}

static void *report_main(void *arg)
{
	struct report *r = arg;
	struct report_fields want;
	unsigned next = 0;

	while (!worker_stopping(&r->w)) {
		struct api_device rec = { 0 };
		json_t *patch;
		int rc;

		wait_for_work(r, next);
		next = 60000;
		if (worker_stopping(&r->w))
			break;
		pthread_mutex_lock(&r->lock);
		want = r->want;
		pthread_mutex_unlock(&r->lock);
		if (!want.device_id[0])
			continue;
		if (strcmp(want.device_id, r->pushed.device_id)) {
			memset(&r->pushed, 0, sizeof(r->pushed)); /* a new registration */
			snprintf(r->pushed.device_id, sizeof(r->pushed.device_id), "%s", want.device_id);
		}
		/* A field the record already holds is forgotten: should the
		 * record drift from it later, it is pushed again. */
		r->pushed.has_endpoints &= want.has_endpoints;
		r->pushed.has_advertise &= want.has_advertise;
		r->pushed.has_status &= want.has_status;
		r->pushed.has_client &= want.has_client;
		patch = build_patch(&want, &r->pushed);
		if (!patch)
			continue;
		api_client_set_token(r->c, want.token);
		rc = api_device_patch(r->c, want.device_id, patch, NULL, &rec);
		if (rc == -ECANCELED) {
			next = 0; /* re-dialled (the routing changed): again at once, on a new connection */
		} else if (rc) {
			if (strcmp(r->last_error, api_client_error(r->c)))
				log_warn("api: cannot update this device's record yet: %s", api_client_error(r->c));
			snprintf(r->last_error, sizeof(r->last_error), "%s", api_client_error(r->c));
			next = REPORT_RETRY_MS;
		} else {
			struct event e = { .type = EV_REPORTED };

			r->last_error[0] = 0;
			pushed_now(r, &want, patch);
			if (json_object_get(patch, "exit_node_client")) {
				e.u.reported.has_client = true;
				e.u.reported.client = want.client;
				e.u.reported.revision = rec.revision;
				evq_post(r->w.q, &e);
			}
			next = 0; /* the want may have moved on meanwhile */
		}
		api_device_free(&rec);
		json_decref(patch);
		explicit_bzero(&want, sizeof(want));
	}
	explicit_bzero(&want, sizeof(want));
	return NULL;
}

int report_start(struct report **out, const struct worker *w, const char *service_url, const char *ca_cert)
{
	struct report *r = calloc(1, sizeof(*r));
	int rc;

	if (!r)
		return -ENOMEM;
	r->w = *w;
	pthread_mutex_init(&r->lock, NULL);
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wake_fd < 0) {
		rc = -errno;
		goto fail;
	}
	rc = worker_client_new(w, service_url, ca_cert, &r->c);
	if (rc)
		goto fail;
	rc = -pthread_create(&r->thread, NULL, report_main, r);
	if (rc)
		goto fail;
	*out = r;
	return 0;
fail:
	api_client_free(r->c);
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return rc;
}

void report_want(struct report *r, const struct report_fields *f)
{
	uint64_t one = 1;
	bool same;

	pthread_mutex_lock(&r->lock);
	same = !memcmp(&r->want, f, sizeof(*f));
	if (!same)
		r->want = *f;
	pthread_mutex_unlock(&r->lock);
	if (!same && write(r->wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: it is awake anyway */
	}
}

void report_redial(struct report *r)
{
	if (r)
		api_client_interrupt(r->c);
}

void report_stop(struct report *r)
{
	if (!r)
		return;
	api_client_interrupt(r->c);
	pthread_join(r->thread, NULL);
	api_client_free(r->c);
	close(r->wake_fd);
	explicit_bzero(&r->want, sizeof(r->want));
	pthread_mutex_destroy(&r->lock);
	free(r);
}
