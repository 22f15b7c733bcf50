#include "nexapi/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/metricsd.h"

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
	uint64_t (*db_errors)(void *ctx);
	void *db_ctx;
};

int metrics_new(uint64_t (*db_errors)(void *ctx), void *ctx, struct metrics **out)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	m->db_errors = db_errors;
	m->db_ctx = ctx;
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

char *metrics_render(void *ctx)
{
	struct metrics *m = ctx;
	struct promtext t;
	uint64_t cum = 0;

	if (promtext_init(&t))
		return NULL;
	pthread_mutex_lock(&m->lock);
	promtext_add(&t, "# HELP nexapi_requests_total Requests answered, by method, route and status.\n"
		"# TYPE nexapi_requests_total counter\n");
	for (size_t i = 0; i < m->n; i++)
		promtext_add(&t, "nexapi_requests_total{method=\"%s\",route=\"%s\",status=\"%u\"} %llu\n", m->s[i].method,
		    m->s[i].route, m->s[i].status, (unsigned long long)m->s[i].count);
	if (m->overflow)
		promtext_add(&t, "nexapi_requests_total{method=\"other\",route=\"other\",status=\"other\"} %llu\n",
		    (unsigned long long)m->overflow);
	promtext_add(&t, "# HELP nexapi_request_duration_seconds Time from a request's first byte to its answer.\n"
		"# TYPE nexapi_request_duration_seconds histogram\n");
	for (size_t i = 0; i < N_BUCKETS; i++) {
		cum += m->hist[i];
		promtext_add(&t, "nexapi_request_duration_seconds_bucket{le=\"%g\"} %llu\n", buckets[i], (unsigned long long)cum);
	}
	cum += m->hist[N_BUCKETS];
	promtext_add(&t, "nexapi_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n", (unsigned long long)cum);
	promtext_add(&t, "nexapi_request_duration_seconds_sum %.6f\nnexapi_request_duration_seconds_count %llu\n", m->sum_s,
	    (unsigned long long)m->total);
	promtext_add(&t, "# HELP nexapi_watchers Watches waiting for a change.\n# TYPE nexapi_watchers gauge\n"
		"nexapi_watchers %lld\n", (long long)m->watchers);
	promtext_add(&t, "# HELP nexapi_devices Devices per organization.\n# TYPE nexapi_devices gauge\n");
	for (size_t i = 0; i < m->n_orgs; i++)
		promtext_add(&t, "nexapi_devices{organization=\"%s\"} %lld\n", m->orgs[i], (long long)m->counts[i]);
	pthread_mutex_unlock(&m->lock);
	promtext_add(&t, "# HELP nexapi_database_errors_total Errors of the database.\n"
		"# TYPE nexapi_database_errors_total counter\nnexapi_database_errors_total %llu\n",
	    (unsigned long long)(m->db_errors ? m->db_errors(m->db_ctx) : 0));
	return promtext_finish(&t);
}
