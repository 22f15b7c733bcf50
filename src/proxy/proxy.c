/* The proxy engine (proxy.h): its thread, one poll loop, and the commands
 * that other threads hand it.
 *
 * A round: build the poll vector (wake-up, endpoint, egress listeners,
 * SOCKS, flows, associations, the exit server), let go of lwIP's core
 * lock, poll, take the lock again; then the command, the endpoint's
 * packets, listeners, flows, associations, the exit server, the timers
 * (twice a second), and last the reaping of dead flows. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lwip/tcpip.h"

#include "common/log.h"
#include "proxy/exitsrv.h"
#include "proxy/flow.h"
#include "proxy/lwnet.h"
#include "proxy/probe.h"
#include "proxy/resolve.h"
#include "proxy/ruleset.h"
#include "proxy/socks.h"
#include "proxy/udpassoc.h"

enum { TICK_MS = 500 };

enum cmd_kind { CMD_ADDR, CMD_EXIT, CMD_ADD, CMD_REMOVE, CMD_LIST, CMD_STATS, CMD_PROBE, CMD_STOP };

struct cmd {
	enum cmd_kind kind;
	struct cidr self4, mesh4, self6, mesh6;
	bool has6, via_exit;
	uint16_t probe_id;
	const struct proxy_rule *rule;
	char *why;
	size_t why_len;
	struct proxy_rule_info **list;
	struct proxy_stats *stats;
	int result;
	bool done;
};

static pthread_once_t lwip_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t singleton_mu = PTHREAD_MUTEX_INITIALIZER;
static bool singleton_used;

static void lwip_start(void)
{
	tcpip_init(NULL, NULL);
}

static void exit_out(void *ctx, const uint8_t *pkt, size_t len)
{
	engine_send(ctx, pkt, len);
}

static void exit_restart(struct proxy *p)
{
	struct exitsrv_config c = {
		.self4 = p->self4, .mesh4 = p->mesh4, .allow_lan = p->exit_allow_lan, .mtu = p->mtu,
		.max_flows = p->lim.max_flows, .out = exit_out, .ctx = p,
	};
	char err[256] = "";

	if (p->exit) {
		exitsrv_free(p->exit);
		p->exit = NULL;
	}
	if (!p->exit_node || !p->have4)
		return;
	if (exitsrv_new(&p->exit, &c, err, sizeof(err)) < 0)
		log_error("proxy: exit server: %s", err);
	else
		log_info("proxy: exit server started");
}

static int set_addresses(struct proxy *p, const struct cmd *c)
{
	bool same = p->have4 && cidr_equal(&p->self4, &c->self4) && cidr_equal(&p->mesh4, &c->mesh4) &&
		    p->have6 == c->has6 &&
		    (!c->has6 || (cidr_equal(&p->self6, &c->self6) && cidr_equal(&p->mesh6, &c->mesh6)));
	char s4[ADDR_CIDR_STRLEN], s6[ADDR_CIDR_STRLEN] = "";

	if (same)
		return 0;
	p->self4 = c->self4;
	p->mesh4 = c->mesh4;
	cidr_normalize(&p->mesh4);
	p->have4 = true;
	p->have6 = c->has6;
	if (c->has6) {
		p->self6 = c->self6;
		p->mesh6 = c->mesh6;
		cidr_normalize(&p->mesh6);
	}
	lwnet_set_addresses(p);
	exit_restart(p);
	cidr_format(&p->self4, s4);
	if (c->has6)
		cidr_format(&p->self6, s6);
	log_info("proxy: tunnel address %s%s%s", s4, c->has6 ? " " : "", s6);
	return 0;
}

static void get_stats(struct proxy *p, struct proxy_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->flows = p->nflows;
	s->socks_flows = p->socks_own.flows;
	if (p->exit) {
		struct exitsrv_stats x;

		exitsrv_get_stats(p->exit, &x);
		s->exit_flows = x.flows;
	}
	s->rx_packets = p->rx_packets;
	s->tx_packets = p->tx_packets;
	s->dropped = p->dropped;
	s->via_exit = p->via_exit;
}

/* Runs the pending command, if any; true when it is CMD_STOP. */
static bool run_command(struct proxy *p)
{
	struct cmd *c;
	bool stop = false;

	pthread_mutex_lock(&p->ctl_mu);
	c = p->cmd;
	pthread_mutex_unlock(&p->ctl_mu);
	if (!c)
		return false;
	switch (c->kind) {
	case CMD_ADDR:
		c->result = set_addresses(p, c);
		break;
	case CMD_EXIT:
		if (p->via_exit != c->via_exit)
			log_info("proxy: destinations outside the mesh %s", c->via_exit ? "via the exit node" : "refused");
		p->via_exit = c->via_exit;
		break;
	case CMD_ADD:
		c->result = ruleset_add(p, c->rule, c->why, c->why_len);
		break;
	case CMD_REMOVE:
		c->result = ruleset_remove(p, c->rule);
		break;
	case CMD_LIST:
		c->result = ruleset_list(p, c->list);
		break;
	case CMD_STATS:
		get_stats(p, c->stats);
		break;
	case CMD_PROBE:
		c->result = probe_open(p, c->probe_id);
		break;
	case CMD_STOP:
		stop = true;
		break;
	}
	pthread_mutex_lock(&p->ctl_mu);
	c->done = true;
	p->cmd = NULL;
	pthread_cond_broadcast(&p->ctl_cv);
	pthread_mutex_unlock(&p->ctl_mu);
	return stop;
}

static void timers(struct proxy *p)
{
	uint64_t now = engine_now_ms();

	for (struct flow *f = p->flows; f; f = f->next)
		flow_timers(f, now);
	for (struct udpassoc *a = p->assocs; a; a = a->next)
		udpassoc_timers(a, now);
}

static void prepare(struct proxy *p, struct pollvec *pv, int *timeout)
{
	pollvec_reset(pv);
	pollvec_add(pv, p->wake_fd, POLLIN);                        /* index 0 */
	pollvec_add(pv, p->ep_closed ? -1 : p->ep_fd, POLLIN);      /* index 1 */
	probe_poll_prepare(p, pv);
	ruleset_poll_prepare(p, pv);
	if (p->socks)
		socks_poll_prepare(p, pv);
	for (struct flow *f = p->flows; f; f = f->next) {
		if (f->state == FLOW_HANDSHAKE)
			socks_flow_prepare(f, pv);
		else
			flow_poll_prepare(f, pv);
	}
	for (struct udpassoc *a = p->assocs; a; a = a->next)
		udpassoc_poll_prepare(a, pv);
	if (p->exit)
		exitsrv_poll_prepare(p->exit, pv, timeout);
}

static void done(struct proxy *p, const struct pollvec *pv, bool poll_failed)
{
	if (pollvec_revents(pv, 1) & (POLLIN | POLLHUP | POLLERR)) {
		lwnet_input(p);
		if (p->ep_closed)
			log_warn("proxy: the packet endpoint was closed by the device");
	}
	probe_poll_done(p, pv);
	ruleset_poll_done(p, pv);
	if (p->socks)
		socks_poll_done(p, pv);
	for (struct flow *f = p->flows; f; f = f->next) {
		if (f->state == FLOW_HANDSHAKE)
			socks_flow_done(f, pv);
		else
			flow_poll_done(f, pv);
	}
	for (struct udpassoc *a = p->assocs; a; a = a->next)
		udpassoc_poll_done(a, pv);
	if (p->exit)
		exitsrv_poll_done(p->exit, pv, poll_failed);
}

static void *run(void *arg)
{
	struct proxy *p = arg;
	struct pollvec pv;
	uint64_t next_tick = engine_now_ms() + TICK_MS;

	pollvec_init(&pv);
	LOCK_TCPIP_CORE();
	for (;;) {
		uint64_t now = engine_now_ms();
		int timeout = next_tick > now ? (int)(next_tick - now) : 0, n;
		uint64_t v;

		prepare(p, &pv, &timeout);
		if (p->again)
			timeout = 0;
		p->again = false;
		UNLOCK_TCPIP_CORE();
		n = poll(pv.fds, pv.n, timeout);
		LOCK_TCPIP_CORE();
		if (n < 0 && errno != EINTR)
			log_warn("proxy: poll: %s", strerror(errno));
		if (pollvec_revents(&pv, 0) & POLLIN) {
			if (read(p->wake_fd, &v, sizeof(v)) < 0) {
				/* a kick raced us: nothing to count */
			}
			if (run_command(p))
				break;
		}
		done(p, &pv, n < 0 && errno != EINTR);
		if (engine_now_ms() >= next_tick) {
			timers(p);
			next_tick = engine_now_ms() + TICK_MS;
		}
		if (p->need_reap) {
			flow_reap(p);
			udpassoc_reap(p);
			p->need_reap = false;
		}
	}
	ruleset_free_all(p);    /* also every SOCKS flow: NULL kills all */
	if (p->exit) {
		exitsrv_free(p->exit);
		p->exit = NULL;
	}
	lwnet_remove(p);
	probe_close(p);
	UNLOCK_TCPIP_CORE();
	pollvec_release(&pv);
	return NULL;
}

/* Hands a command to the thread and waits until it was done. */
static int call(struct proxy *p, struct cmd *c)
{
	uint64_t one = 1;

	pthread_mutex_lock(&p->call_mu);
	pthread_mutex_lock(&p->ctl_mu);
	c->done = false;
	p->cmd = c;
	pthread_mutex_unlock(&p->ctl_mu);
	if (write(p->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("proxy: wake-up: %s", strerror(errno));
	pthread_mutex_lock(&p->ctl_mu);
	while (!c->done)
		pthread_cond_wait(&p->ctl_cv, &p->ctl_mu);
	pthread_mutex_unlock(&p->ctl_mu);
	pthread_mutex_unlock(&p->call_mu);
	return c->result;
}

static void limits_default(struct proxy_limits *l)
{
	if (!l->max_flows)
		l->max_flows = 4096;
	if (!l->max_flows_per_rule)
		l->max_flows_per_rule = 1024;
	if (!l->flow_buffer)
		l->flow_buffer = 256 * 1024;
	if (!l->tcp_idle_s)
		l->tcp_idle_s = 7200;
	if (!l->udp_idle_s)
		l->udp_idle_s = 60;
}

static void free_proxy(struct proxy *p)
{
	if (p->resolver)
		resolver_release(p->resolver);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	pthread_mutex_destroy(&p->call_mu);
	pthread_mutex_destroy(&p->ctl_mu);
	pthread_cond_destroy(&p->ctl_cv);
	free(p->scratch);
	free(p->pkt);
	free(p);
}

int proxy_start(struct proxy **out, const struct proxy_config *c, char *err, size_t errlen)
{
	struct proxy *p;
	int r;

	if (c->endpoint_fd < 0 || (c->mtu && (c->mtu < 1280 || c->mtu > 9000))) {
		snprintf(err, errlen, "proxy: bad endpoint or MTU %u", c->mtu);
		return -EINVAL;
	}
	pthread_mutex_lock(&singleton_mu);
	if (singleton_used) {
		pthread_mutex_unlock(&singleton_mu);
		snprintf(err, errlen, "proxy: already running in this process (lwIP is one per process)");
		return -EBUSY;
	}
	singleton_used = true;
	pthread_mutex_unlock(&singleton_mu);
	p = calloc(1, sizeof(*p));
	if (!p) {
		r = -ENOMEM;
		goto err_singleton;
	}
	p->wake_fd = -1;
	p->probe_fd = -1;
	pthread_mutex_init(&p->call_mu, NULL);
	pthread_mutex_init(&p->ctl_mu, NULL);
	pthread_cond_init(&p->ctl_cv, NULL);
	p->lim = c->limits;
	limits_default(&p->lim);
	p->socks_own.limit = p->lim.max_flows_per_rule;
	p->mtu = c->mtu ? c->mtu : 1420;
	p->ep_fd = c->endpoint_fd;
	p->exit_node = c->exit_node;
	p->exit_allow_lan = c->exit_allow_lan;
	p->scratch = malloc(ENGINE_UDP_MAX);
	p->pkt = malloc(ENGINE_UDP_MAX);
	p->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!p->scratch || !p->pkt || p->wake_fd < 0) {
		r = p->wake_fd < 0 ? -errno : -ENOMEM;
		snprintf(err, errlen, "proxy: %s", strerror(-r));
		goto err_free;
	}
	r = resolver_new(&p->resolver);
	if (r < 0) {
		snprintf(err, errlen, "proxy: resolver: %s", strerror(-r));
		goto err_free;
	}
	if (c->has_socks && (r = socks_open(p, c, err, errlen)) < 0)
		goto err_free;
	pthread_once(&lwip_once, lwip_start);
	LOCK_TCPIP_CORE();
	lwnet_add(p);
	UNLOCK_TCPIP_CORE();
	r = pthread_create(&p->thread, NULL, run, p);
	if (r) {
		r = -r;
		snprintf(err, errlen, "proxy: thread: %s", strerror(-r));
		goto err_netif;
	}
	*out = p;
	return 0;
err_netif:
	LOCK_TCPIP_CORE();
	lwnet_remove(p);
	UNLOCK_TCPIP_CORE();
	socks_close(p);
err_free:
	free_proxy(p);
err_singleton:
	pthread_mutex_lock(&singleton_mu);
	singleton_used = false;
	pthread_mutex_unlock(&singleton_mu);
	close(c->endpoint_fd);
	return r;
}

int proxy_set_addresses(struct proxy *p, const struct cidr *self4, const struct cidr *mesh4,
			const struct cidr *self6, const struct cidr *mesh6)
{
	struct cmd c = { .kind = CMD_ADDR };

	if (!self4 || !mesh4 || self4->family != AF_INET || mesh4->family != AF_INET ||
	    !self6 != !mesh6 || (self6 && (self6->family != AF_INET6 || mesh6->family != AF_INET6)))
		return -EINVAL;
	c.self4 = *self4;
	c.mesh4 = *mesh4;
	if (self6) {
		c.has6 = true;
		c.self6 = *self6;
		c.mesh6 = *mesh6;
	}
	return call(p, &c);
}

void proxy_set_exit(struct proxy *p, bool via_exit)
{
	struct cmd c = { .kind = CMD_EXIT, .via_exit = via_exit };

	call(p, &c);
}

int proxy_add_rule(struct proxy *p, const struct proxy_rule *r, char *why, size_t why_len)
{
	char dummy[PROXY_RULE_WHY_MAX];
	struct cmd c = { .kind = CMD_ADD, .rule = r, .why = why ? why : dummy,
			 .why_len = why ? why_len : sizeof(dummy) };

	if (c.why_len)
		c.why[0] = '\0';
	return call(p, &c);
}

int proxy_remove_rule(struct proxy *p, const struct proxy_rule *r)
{
	struct cmd c = { .kind = CMD_REMOVE, .rule = r };

	return call(p, &c);
}

int proxy_list_rules(struct proxy *p, struct proxy_rule_info **out)
{
	struct cmd c = { .kind = CMD_LIST, .list = out };

	return call(p, &c);
}

void proxy_get_stats(struct proxy *p, struct proxy_stats *out)
{
	struct cmd c = { .kind = CMD_STATS, .stats = out };

	call(p, &c);
}

int proxy_probe_socket(struct proxy *p, uint16_t id)
{
	struct cmd c = { .kind = CMD_PROBE, .probe_id = id };

	return call(p, &c);
}

void proxy_stop(struct proxy *p)
{
	struct cmd c = { .kind = CMD_STOP };

	if (!p)
		return;
	call(p, &c);
	pthread_join(p->thread, NULL);
	socks_close(p);
	close(p->ep_fd);
	free_proxy(p);
	pthread_mutex_lock(&singleton_mu);
	singleton_used = false;
	pthread_mutex_unlock(&singleton_mu);
}
