#include "nexd/metrics.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/addr.h"
#include "common/key.h"

struct nexd_metrics {
	struct MHD_Daemon *mhd;
	struct status_board *b;
};

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

			if (!nb)
				t->failed = true;
			else {
				t->buf = nb;
				t->cap = cap;
			}
		}
	}
}

/* The exit client's state as one word (desired_exit_status's texts). */
static const char *exit_state(const char *s)
{
	if (!strcmp(s, "off"))
		return "off";
	if (!strncmp(s, "using ", 6))
		return "using";
	if (strstr(s, "traffic blocked"))
		return "blocked";
	if (!strncmp(s, "waiting", 7))
		return "waiting";
	if (!strncmp(s, "error", 5))
		return "error";
	return "starting";
}

static char *render(struct status_board *b)
{
	static const char *const states[] = { "off", "starting", "using", "blocked", "waiting", "error" };
	struct text t = { .buf = malloc(8192), .cap = 8192 };
	struct wg_device_info *info = NULL;
	const struct wg_driver *drv;
	struct health *health;
	void *dev;
	time_t now = time(NULL);
	const char *state;

	if (!t.buf)
		return NULL;
	t.buf[0] = 0;
	pthread_mutex_lock(&b->lock);
	drv = b->drv;
	dev = b->dev;
	pthread_mutex_unlock(&b->lock);
	if (drv && drv->get(dev, &info) < 0)
		info = NULL;
	pthread_mutex_lock(&b->lock);
	health = b->health;
	add(&t, "# HELP nexd_api_connected Whether the API server answers.\n# TYPE nexd_api_connected gauge\n"
		"nexd_api_connected %d\n", b->view.api_connected ? 1 : 0);
	add(&t, "# HELP nexd_interface_up Whether the mesh interface is up.\n# TYPE nexd_interface_up gauge\n"
		"nexd_interface_up %d\n", drv ? 1 : 0);
	state = exit_state(b->view.exit_status);
	add(&t, "# HELP nexd_exit_client_state The exit-node client's state (1 for the current one).\n"
		"# TYPE nexd_exit_client_state gauge\n");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		add(&t, "nexd_exit_client_state{state=\"%s\"} %d\n", states[i], !strcmp(states[i], state));
	add(&t, "# HELP nexd_exit_switches_total Times the exit client moved to another exit node.\n"
		"# TYPE nexd_exit_switches_total counter\nnexd_exit_switches_total %llu\n",
	    (unsigned long long)b->view.exit_switches);
	add(&t, "# HELP nexd_peers Peers of the mesh.\n# TYPE nexd_peers gauge\nnexd_peers %zu\n", b->view.n_peers);
	add(&t, "# HELP nexd_peer_receive_bytes_total Bytes received from a peer.\n"
		"# TYPE nexd_peer_receive_bytes_total counter\n"
		"# HELP nexd_peer_transmit_bytes_total Bytes sent to a peer.\n"
		"# TYPE nexd_peer_transmit_bytes_total counter\n"
		"# HELP nexd_peer_handshake_age_seconds Seconds since the last handshake (-1: none).\n"
		"# TYPE nexd_peer_handshake_age_seconds gauge\n"
		"# HELP nexd_peer_reachable Whether the peer answers the health probe.\n"
		"# TYPE nexd_peer_reachable gauge\n"
		"# HELP nexd_peer_latency_seconds The last probe's round trip.\n"
		"# TYPE nexd_peer_latency_seconds gauge\n"
		"# HELP nexd_peer_path The path to a peer (1 for the one in use).\n"
		"# TYPE nexd_peer_path gauge\n");
	for (size_t i = 0; info && i < info->n_peers; i++) {
		const struct wg_peer_info *p = &info->peers[i];
		const struct status_peer *d = NULL;
		struct health_result h = { 0 };
		bool probed;
		char pub[KEY_B64_LEN + 1], labels[400];

		for (size_t k = 0; k < b->view.n_peers; k++)
			if (!memcmp(b->view.peers[k].key, p->public_key, 32)) {
				d = &b->view.peers[k];
				break;
			}
		probed = health && health_get(health, p->public_key, &h);
		key_to_base64(pub, p->public_key);
		snprintf(labels, sizeof(labels), "peer=\"%s\",hostname=\"%s\"", pub, d ? d->hostname : "");
		add(&t, "nexd_peer_receive_bytes_total{%s} %llu\n", labels, (unsigned long long)p->rx_bytes);
		add(&t, "nexd_peer_transmit_bytes_total{%s} %llu\n", labels, (unsigned long long)p->tx_bytes);
		add(&t, "nexd_peer_handshake_age_seconds{%s} %lld\n", labels,
		    p->last_handshake_sec ? (long long)(now - (time_t)p->last_handshake_sec) : -1LL);
		add(&t, "nexd_peer_reachable{%s} %d\n", labels, probed && h.reachable);
		if (probed && h.has_latency)
			add(&t, "nexd_peer_latency_seconds{%s} %.6f\n", labels, h.latency_us / 1e6);
		if (d && d->path[0])
			add(&t, "nexd_peer_path{%s,path=\"%s\"} 1\n", labels, d->path);
	}
	pthread_mutex_unlock(&b->lock);
	wg_device_info_free(info);
	if (t.failed) {
		free(t.buf);
		return NULL;
	}
	return t.buf;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	struct nexd_metrics *m = cls;
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
		if (!(text = render(m->b)))
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

int nexd_metrics_start(struct status_board *b, const char *listen, struct nexd_metrics **out, char *bound,
		       size_t boundlen)
{
	struct nexd_metrics *m;
	union sockaddr_any a;
	const union MHD_DaemonInfo *di;
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL;

	if (addr_endpoint_parse(listen, &a))
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	if (a.sa.sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->b = b;
	m->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, m, MHD_OPTION_SOCK_ADDR, &a.sa,
				  MHD_OPTION_CONNECTION_LIMIT, 16u, MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	if (!m->mhd) {
		free(m);
		return -EADDRNOTAVAIL;
	}
	di = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
	if (a.sa.sa_family == AF_INET)
		a.in4.sin_port = htons(di ? di->port : 0);
	else
		a.in6.sin6_port = htons(di ? di->port : 0);
	if (bound && boundlen >= ADDR_ENDPOINT_STRLEN)
		addr_endpoint_format(&a, bound);
	*out = m;
	return 0;
}

void nexd_metrics_stop(struct nexd_metrics *m)
{
	if (!m)
		return;
	MHD_stop_daemon(m->mhd);
	free(m);
}
