#include "nexd/agent.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "common/log.h"
#include "common/metricsd.h"
#include "common/version.h"
#include "nexd/apisync.h"
#include "nexd/control_cmds.h"
#include "nexd/control_server.h"
#include "nexd/discovery.h"
#include "nexd/events.h"
#include "nexd/loop.h"
#include "nexd/metrics.h"
#include "nexd/recover.h"
#include "nexd/relay.h"
#include "nexd/report.h"
#include "nexd/state.h"
#include "nexd/status.h"
#include "nexd/subscription.h"
#include "nexd/wgdrv.h"
#include "wg/wg.h"

struct agent {
	struct nexd_options opt;
	struct nexd_state state;
	char hostname[256];
	atomic_int stopping;
	int stop_fd;                     /* eventfd: readable once stopping */
	struct event_queue *q;
	struct status_board board;
	bool board_ready;
	struct control_cmds cmds;
	struct control_server *control;
	struct loop *loop;
	struct discovery *discovery;
	struct report *report;
	struct apisync *apisync;
	struct relay *relay;
	struct metricsd *metrics;
};

void agent_request_stop(struct agent *a)
{
	uint64_t one = 1;

	atomic_store(&a->stopping, 1);
	if (write(a->stop_fd, &one, sizeof(one)) < 0) {
		/* nothing to do in a signal handler */
	}
}

static int start_workers(struct agent *a, const struct ev_endpoints *first, char *err, size_t errlen)
{
	struct worker w = { .q = a->q, .stopping = &a->stopping, .stop_fd = a->stop_fd };
	struct discovery_config dc = {
		.service_url = a->opt.service_url,
		.stun_servers = a->opt.stun_servers,
		.n_stun = a->opt.n_stun_servers,
		.listen_port = a->opt.listen_port,
	};
	struct apisync_config ac = {
		.service_url = a->opt.service_url,
		.ca_cert = a->opt.ca_cert,
		.reg_key = a->opt.reg_key,
		.reg_key_file = a->opt.reg_key_file,
		.hostname = a->hostname,
		.state = &a->state,
		.router_exit_node = a->opt.router_exit_node,
	};
	int r;

	memcpy(dc.public_key, a->state.public_key, 32);
	memcpy(ac.eps, first->eps, sizeof(ac.eps));
	ac.n_eps = first->n;
	r = discovery_start(&a->discovery, &w, &dc);
	if (!r)
		r = relay_start(&a->relay, &w, a->opt.listen_port, a->opt.ca_cert);
	if (!r)
		r = report_start(&a->report, &w, a->opt.service_url, a->opt.ca_cert);
	if (!r)
		r = apisync_start(&a->apisync, &w, &ac);
	if (r == -EINVAL)
		snprintf(err, errlen, "cannot use --service-url %s", a->opt.service_url);
	else if (r)
		snprintf(err, errlen, "cannot start a thread: %s", strerror(-r));
	return r;
}

int agent_start(struct agent **out, const struct nexd_options *o, char *err, size_t errlen)
{
	struct status_fixed fixed = { 0 };
	struct loop_config lc = { 0 };
	struct event first = { .type = EV_ENDPOINTS };
	struct agent *a;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->opt = *o;
	a->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->stop_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		free(a);
		return r;
	}
	*out = a; /* agent_stop undoes whatever part of the start happened */

	if (o->hostname)
		snprintf(a->hostname, sizeof(a->hostname), "%s", o->hostname);
	else if (gethostname(a->hostname, sizeof(a->hostname) - 1) < 0)
		snprintf(a->hostname, sizeof(a->hostname), "localhost");
	r = state_load(&a->state, o->state_dir, err, errlen);
	if (r)
		return r;
	if (!a->state.device_id[0] && !o->reg_key) {
		snprintf(err, errlen, "this device is not registered yet: --reg-key is required");
		return -EINVAL;
	}
	r = wg_init();
	if (r) {
		snprintf(err, errlen, "cannot initialise cryptography: %s", strerror(-r));
		return r;
	}
	if (o->proxy) {
		/* nothing of ours on the host to recover */
		lc.drv = &wg_driver_endpoint;
		goto driver_chosen;
	}
	r = recover_leftovers(o->interface, a->state.dir, err, errlen);
	if (r)
		return r;
	lc.drv = wgdrv_choose(o->wg_backend, err, errlen);
	if (!lc.drv)
		return -ENODEV;
driver_chosen:
	r = evq_new(&a->q);
	if (r) {
		snprintf(err, errlen, "out of memory");
		return r;
	}

	snprintf(fixed.hostname, sizeof(fixed.hostname), "%s", a->hostname);
	fixed.interface = o->interface;
	fixed.service_url = o->service_url;
	fixed.listen_port = o->listen_port;
	memcpy(fixed.public_key, a->state.public_key, 32);
	fixed.exit_node = o->router_exit_node;
	status_board_init(&a->board, &fixed);
	a->board_ready = true;
	a->cmds = (struct control_cmds){ .board = &a->board, .opt = &a->opt,
					 .w = { .q = a->q, .stopping = &a->stopping, .stop_fd = a->stop_fd } };
	r = control_server_start(&a->control, o->unix_socket, control_cmds_handle, &a->cmds);
	if (r) {
		if (r == -EADDRINUSE)
			snprintf(err, errlen, "another nexd serves %s (see --unix-socket)", o->unix_socket);
		else
			snprintf(err, errlen, "cannot create the control socket %s: %s", o->unix_socket, strerror(-r));
		return r;
	}
	if (o->metrics_listen) {
		char bound[ADDR_ENDPOINT_STRLEN];

		r = nexd_metrics_start(&a->board, o->metrics_listen, &a->metrics, bound, sizeof(bound));
		if (r) {
			snprintf(err, errlen, "--metrics-listen %s: %s", o->metrics_listen,
				 r == -EINVAL ? "not a numeric HOST:PORT" : "cannot listen there");
			return r;
		}
		log_info("metrics on http://%s/metrics", bound);
	}
	if (o->proxy)
		log_info("nexd %s starting as a proxy (no interface; uid %u)", NEXODUS_VERSION, (unsigned)getuid());
	else
		log_info("nexd %s starting for interface %s", NEXODUS_VERSION, o->interface);

	{
		struct discovery_config dc = { .service_url = o->service_url, .stun_servers = o->stun_servers,
					       .n_stun = o->n_stun_servers, .listen_port = o->listen_port };
		r = discovery_first_round(&dc, &first.u.endpoints, err, errlen);
		if (r)
			return r;
	}
	/* the loop before the workers: what it cannot set up (nexd proxy: a
	 * rule's port taken) fails the start before anything is registered */
	lc.opt = &a->opt;
	lc.state = &a->state;
	subscription_load(a->state.dir, o, &lc.sub);
	lc.board = &a->board;
	lc.q = a->q;
	lc.stopping = &a->stopping;
	lc.stop_fd = a->stop_fd;
	r = loop_new(&a->loop, &lc, err, errlen);
	if (r)
		return r;
	r = start_workers(a, &first.u.endpoints, err, errlen);
	if (r)
		return r;
	loop_attach_workers(a->loop, a->apisync, a->report, a->discovery, a->relay);
	evq_post(a->q, &first);
	return 0;
}

int agent_run(struct agent *a)
{
	int status = loop_run(a->loop);

	agent_request_stop(a);
	return status;
}

void agent_stop(struct agent *a)
{
	if (!a)
		return;
	agent_request_stop(a);
	control_server_stop(a->control);
	metricsd_stop(a->metrics);            /* before the interface goes: it reads it */
	discovery_stop(a->discovery);
	relay_stop(a->relay);                 /* deletes the allocation */
	report_stop(a->report);
	apisync_stop(a->apisync);
	loop_free(a->loop);                   /* the interface goes: its stray hook with it */
	discovery_free(a->discovery);
	evq_free(a->q);
	if (a->board_ready)
		status_board_destroy(&a->board);
	state_wipe(&a->state);
	close(a->stop_fd);
	free(a);
}
