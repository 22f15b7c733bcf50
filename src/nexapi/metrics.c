#include "nexapi/metrics.h"

#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/addr.h"

#define SERIES_MAX 512
#define ORGS_MAX 1000

static const double buckets[] = { 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5 };
#define N_BUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct series {
	char method[8];
	char route[64];
	unsigned status;
	uint64_t count;
};

struct metrics {
	pthread_mutex_t lock;
	struct series s[SERIES_MAX];
	size_t n;
	uint64_t overflow;                  /* requests of series beyond SERIES_MAX */
	uint64_t hist[N_BUCKETS + 1];       /* the last: +Inf */
	double sum_s;
	uint64_t total;
	int64_t watchers;
	char (*orgs)[64];
	int64_t *counts;
	size_t n_orgs;
};

int metrics_new(struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	*out = m;
	return 0;
}

void metrics_free(struct metrics *m)
{
	if (!m)
		return;
	free(m->orgs);
	free(m->counts);
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void metrics_request(struct metrics *m, const char *method, const char *route, unsigned status, uint64_t us)
{
	double secs = (double)us / 1e6;
	size_t i;

	if (!m)
		return;
	if (!route || !*route)
		route = "other";
	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->n; i++)
		if (m->s[i].status == status && !strcmp(m->s[i].route, route) && !strcmp(m->s[i].method, method))
			break;
	if (i == m->n && m->n < SERIES_MAX) {
		snprintf(m->s[i].method, sizeof(m->s[i].method), "%s", method);
		snprintf(m->s[i].route, sizeof(m->s[i].route), "%s", route);
		m->s[i].status = status;
		m->n++;
	}
	if (i < m->n)
		m->s[i].count++;
	else
		m->overflow++;
	for (i = 0; i < N_BUCKETS && secs > buckets[i]; i++)
		;
	m->hist[i]++;
	m->sum_s += secs;
	m->total++;
	pthread_mutex_unlock(&m->lock);
}

void metrics_watchers(struct metrics *m, int delta)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->lock);
	m->watchers += delta;
	pthread_mutex_unlock(&m->lock);
}

void metrics_devices(struct metrics *m, const char *const *orgs, const int64_t *counts, size_t n)
{
	char (*no)[64];
	int64_t *nc;

	if (!m)
		return;
	if (n > ORGS_MAX)
		n = ORGS_MAX;
	no = calloc(n ? n : 1, sizeof(*no));
	nc = calloc(n ? n : 1, sizeof(*nc));
	if (!no || !nc) {
		free(no);
		free(nc);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(no[i], sizeof(no[i]), "%s", orgs[i]);
		nc[i] = counts[i];
	}
	pthread_mutex_lock(&m->lock);
	free(m->orgs);
	free(m->counts);
	m->orgs = no;
	m->counts = nc;
	m->n_orgs = n;
	pthread_mutex_unlock(&m->lock);
}

struct text {
	char *buf;
	size_t len, cap;
	bool failed;
};

static void add(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add(struct text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			t->failed = true;
			return;
		}
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		{
			size_t cap = t->cap * 2 + (size_t)n + 1;
			char *nb = realloc(t->buf, cap);

			if (!nb) {
				t->failed = true;
				return;
			}
			t->buf = nb;
			t->cap = cap;
		}
	}
}

char *metrics_text(struct metrics *m, uint64_t db_errors)
{
	struct text t = { .buf = malloc(4096), .cap = 4096 };
	uint64_t cum = 0;

	if (!t.buf)
		return NULL;
	t.buf[0] = 0;
	pthread_mutex_lock(&m->lock);
	add(&t, "# HELP nexapi_requests_total Requests answered, by method, route and status.\n"
		"# TYPE nexapi_requests_total counter\n");
	for (size_t i = 0; i < m->n; i++)
		add(&t, "nexapi_requests_total{method=\"%s\",route=\"%s\",status=\"%u\"} %llu\n", m->s[i].method,
		    m->s[i].route, m->s[i].status, (unsigned long long)m->s[i].count);
	if (m->overflow)
		add(&t, "nexapi_requests_total{method=\"other\",route=\"other\",status=\"other\"} %llu\n",
		    (unsigned long long)m->overflow);
	add(&t, "# HELP nexapi_request_duration_seconds Time from a request's first byte to its answer.\n"
		"# TYPE nexapi_request_duration_seconds histogram\n");
	for (size_t i = 0; i < N_BUCKETS; i++) {
		cum += m->hist[i];
		add(&t, "nexapi_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i], (unsigned long long)cum);
	}
	cum += m->hist[N_BUCKETS];
	add(&t, "nexapi_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	add(&t, "nexapi_request_duration_seconds_sum %.6f\nnexapi_request_duration_seconds_count %llu\n", m->sum_s,
	    (unsigned long long)m->total);
	add(&t, "# HELP nexapi_watchers Watches waiting for a change.\n# TYPE nexapi_watchers gauge\n"
		"nexapi_watchers %lld\n", (long long)m->watchers);
	add(&t, "# HELP nexapi_devices Devices per organization.\n# TYPE nexapi_devices gauge\n");
	for (size_t i = 0; i < m->n_orgs; i++)
		add(&t, "nexapi_devices{organization=\"%s\"} %lld\n", m->orgs[i], (long long)m->counts[i]);
	pthread_mutex_unlock(&m->lock);
	add(&t, "# HELP nexapi_database_errors_total Errors of the database.\n"
		"# TYPE nexapi_database_errors_total counter\nnexapi_database_errors_total %llu\n",
	    (unsigned long long)db_errors);
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}

struct metrics_server {
	struct MHD_Daemon *mhd;
	struct metrics *m;
	uint64_t (*db_errors)(void);
};

static enum MHD_Result on_metrics(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct metrics_server *s = cls;
	struct MHD_Response *resp;
	enum MHD_Result r;
	char *text = NULL;
	unsigned status = 200;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, "GET") || strcmp(url, "/metrics")) {
		status = 404;
		resp = MHD_create_response_from_buffer(10, (void *)"not found\n", MHD_RESPMEM_PERSISTENT);
	} else {
		text = metrics_text(s->m, s->db_errors ? s->db_errors() : 0);
		if (!text)
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

int metrics_server_start(struct metrics *m, const char *listen, uint64_t (*db_errors)(void),
			 struct metrics_server **out, char *bound, size_t boundlen)
{
	struct metrics_server *s = calloc(1, sizeof(*s));
	union sockaddr_any a;
	const union MHD_DaemonInfo *di;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;

	if (!s)
		return -ENOMEM;
	if (addr_endpoint_parse(listen, &a)) {
		free(s);
		return -EINVAL;
	}
	if (a.sa.sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	s->m = m;
	s->db_errors = db_errors;
	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_metrics, s, MHD_OPTION_SOCK_ADDR, &a.sa,
				  MHD_OPTION_CONNECTION_LIMIT, 64u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!s->mhd) {
		free(s);
		return -EADDRNOTAVAIL;
	}
	di = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (a.sa.sa_family == AF_INET)
		a.in4.sin_port = htons(di ? di->port : 0);
	else
		a.in6.sin6_port = htons(di ? di->port : 0);
	if (bound && boundlen >= ADDR_ENDPOINT_STRLEN)
		addr_endpoint_format(&a, bound);
	*out = s;
	return 0;
}

void metrics_server_stop(struct metrics_server *s)
{
	if (!s)
		return;
	MHD_stop_daemon(s->mhd);
	free(s);
}
