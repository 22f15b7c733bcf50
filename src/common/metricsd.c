#include "common/metricsd.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"

int promtext_init(struct promtext *t)
{
	memset(t, 0, sizeof(*t));
	t->buf = malloc(8192);
	if (!t->buf) {
		t->failed = true;
		return -ENOMEM;
	}
	t->cap = 8192;
	t->buf[0] = 0;
	return 0;
}

void promtext_add(struct promtext *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	while (!t->failed) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
		} else if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		} else {
			size_t cap = t->cap * 2 + (size_t)n + 1;
			char *nb = realloc(t->buf, cap);

			if (!nb) {
				t->failed = true;
			} else {
				t->buf = nb;
				t->cap = cap;
			}
		}
	}
}

char *promtext_finish(struct promtext *t)
{
	if (t->failed) {
		free(t->buf);
		t->buf = NULL;
	}
	return t->buf;
}

struct metricsd {
	struct MHD_Daemon *mhd;
	char *(*render)(void *ctx);
	void *ctx;
};

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct metricsd *d = cls;
	struct MHD_Response *resp;
	enum MHD_Result r;
	unsigned status = 200;
	char *text = NULL;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, "GET") || strcmp(url, "/metrics")) {
		status = 404;
		resp = MHD_create_response_from_buffer(10, (void *)"not found\n", MHD_RESPMEM_PERSISTENT);
	} else {
		if (!(text = d->render(d->ctx)))
			return MHD_NO;
		resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
		if (resp)
			MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
						"text/plain; version=0.0.4; charset=utf-8");
	}
	if (!resp) {
		free(text);
		return MHD_NO;
	}
	r = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return r;
}

int metricsd_start(const char *listen, char *(*render)(void *ctx), void *ctx, struct metricsd **out, char *bound,
		   size_t boundlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;
	const union MHD_DaemonInfo *di;
	union sockaddr_any a;
	struct metricsd *d;

	if (addr_endpoint_parse(listen, &a))
		return -EINVAL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	if (a.sa.sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	d->render = render;
	d->ctx = ctx;
	d->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, d, MHD_OPTION_SOCK_ADDR, &a.sa,
				  MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!d->mhd) {
		free(d);
		return -EADDRNOTAVAIL;
	}
	di = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (a.sa.sa_family == AF_INET)
		a.in4.sin_port = htons(di ? di->port : 0);
	else
		a.in6.sin6_port = htons(di ? di->port : 0);
	if (bound && boundlen >= ADDR_ENDPOINT_STRLEN)
		addr_endpoint_format(&a, bound);
	*out = d;
	return 0;
}

void metricsd_stop(struct metricsd *d)
{
	if (!d)
		return;
	MHD_stop_daemon(d->mhd);
	free(d);
}
