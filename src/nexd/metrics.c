#include "nexd/metrics.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/metricsd.h"
#include "common/key.h"

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

static char *render(void *ctx)
{
	struct status_board *b = ctx;
	static const char *const states[] = { "off", "starting", "using", "blocked", "waiting", "error" };
	struct promtext t;
	struct wg_device_info *info = NULL;
	const struct wg_driver *drv;
	struct health *health;
	void *dev;
	time_t now = time(NULL);
	const char *state;

	if (promtext_init(&t))
		return NULL;
	pthread_mutex_lock(&b->lock);
	drv = b->drv;
	dev = b->dev;
	pthread_mutex_unlock(&b->lock);
	if (drv && drv->get(dev, &info) < 0)
		info = NULL;
	pthread_mutex_lock(&b->lock);
	health = b->health;
	promtext_add(&t, "# HELP nexd_api_connected Whether the API server answers.\n# TYPE nexd_api_connected gauge\n"
		"nexd_api_connected %d\n", b->view.api_connected ? 1 : 0);
	promtext_add(&t, "# HELP nexd_interface_up Whether the mesh interface is up.\n# TYPE nexd_interface_up gauge\n"
		"nexd_interface_up %d\n", drv ? 1 : 0);
	state = exit_state(b->view.exit_status);
	promtext_add(&t, "# HELP nexd_exit_client_state The exit-node client's state (1 for the current one).\n"
		"# TYPE nexd_exit_client_state gauge\n");
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		promtext_add(&t, "nexd_exit_client_state{state=\"%s\"} %d\n", states[i], !strcmp(states[i], state));
	promtext_add(&t, "# HELP nexd_exit_switches_total Times the exit client moved to another exit node.\n"
		"# TYPE nexd_exit_switches_total counter\nnexd_exit_switches_total %llu\n",
	    (unsigned long long)b->view.exit_switches);
	promtext_add(&t, "# HELP nexd_peers Peers of the mesh.\n# TYPE nexd_peers gauge\nnexd_peers %zu\n", b->view.n_peers);
	promtext_add(&t, "# HELP nexd_peer_receive_bytes_total Bytes received from a peer.\n"
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
		promtext_add(&t, "nexd_peer_receive_bytes_total{%s} %llu\n", labels, (unsigned long long)p->rx_bytes);
		promtext_add(&t, "nexd_peer_transmit_bytes_total{%s} %llu\n", labels, (unsigned long long)p->tx_bytes);
		promtext_add(&t, "nexd_peer_handshake_age_seconds{%s} %lld\n", labels,
		    p->last_handshake_sec ? (long long)(now - (time_t)p->last_handshake_sec) : -1LL);
		promtext_add(&t, "nexd_peer_reachable{%s} %d\n", labels, probed && h.reachable);
		if (probed && h.has_latency)
			promtext_add(&t, "nexd_peer_latency_seconds{%s} %.6f\n", labels, h.latency_us / 1e6);
		if (d && d->path[0])
			promtext_add(&t, "nexd_peer_path{%s,path=\"%s\"} 1\n", labels, d->path);
	}
	pthread_mutex_unlock(&b->lock);
	wg_device_info_free(info);
	return promtext_finish(&t);
}

int nexd_metrics_start(struct status_board *b, const char *listen, struct metricsd **out, char *bound,
		       size_t boundlen)
{
	return metricsd_start(listen, render, b, out, bound, boundlen);
}
