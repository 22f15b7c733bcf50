#include "nexd/agent.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/key.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "nexd/agent_priv.h"
#include "nexd/control_server.h"
#include "nexd/exit_client.h"
#include "nexd/health.h"
#include "nexd/netlink.h"
#include "common/version.h"
#include "wg/uapi.h"
#include "wg/wg.h"

bool agent_stopping(struct agent *a)
{
	return atomic_load(&a->stopping) != 0;
}

void agent_request_stop(struct agent *a)
{
	uint64_t one = 1;

	atomic_store(&a->stopping, 1);
	if (write(a->stop_fd, &one, sizeof(one)) < 0) {
		/* nothing to do in a signal handler */
	}
}

void agent_fail(struct agent *a, int status, const char *fmt, ...)
{
	va_list ap;
	char msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&a->lock);
	if (!a->fatal_msg[0]) {
		snprintf(a->fatal_msg, sizeof(a->fatal_msg), "%s", msg);
		atomic_store(&a->exit_code, status);
	}
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	log_error("%s", msg);
	agent_request_stop(a);
}

bool agent_sleep(struct agent *a, unsigned ms)
{
	struct timespec ts;
	bool stop;

	time_deadline(&ts, CLOCK_MONOTONIC, ms);
	pthread_mutex_lock(&a->lock);
	while (!(stop = agent_stopping(a))) {
		if (pthread_cond_timedwait(&a->cond, &a->lock, &ts) == ETIMEDOUT)
			break;
	}
	pthread_mutex_unlock(&a->lock);
	return stop || agent_stopping(a);
}

void agent_set_client(struct agent *a, int slot, struct api_client *c)
{
	pthread_mutex_lock(&a->lock);
	a->clients[slot] = c;
	pthread_mutex_unlock(&a->lock);
}

void agent_redial(struct agent *a)
{
	pthread_mutex_lock(&a->lock);
	for (size_t i = 0; i < sizeof(a->clients) / sizeof(a->clients[0]); i++)
		if (a->clients[i])
			api_client_interrupt(a->clients[i]);
	pthread_mutex_unlock(&a->lock);
}

/* Waits for the device to die under us (interface deleted) or be stopped. */
static void *device_main(void *arg)
{
	struct agent *a = arg;
	int r = wg_device_wait(a->dev);

	if (r == -ENODEV && !agent_stopping(a))
		agent_fail(a, 1, "interface %s was deleted; stopping", a->opt.interface);
	return NULL;
}

/* ---- control socket ---------------------------------------------------- */

static json_t *cmd_version(struct agent *a)
{
	(void)a;
	return json_pack("{s:s}", "version", NEXODUS_VERSION);
}

static void format_ip(int family, const uint8_t *ip, char *out, size_t len)
{
	if (!inet_ntop(family, ip, out, (socklen_t)len))
		snprintf(out, len, "-");
}

static json_t *cmd_status(struct agent *a)
{
	char pub[KEY_B64_LEN + 1], ip[INET6_ADDRSTRLEN] = "", refl[ADDR_ENDPOINT_STRLEN] = "";
	struct wg_device_info *info = NULL;
	json_t *r, *eps;

	key_to_base64(pub, a->state.public_key);
	pthread_mutex_lock(&a->lock);
	if (!a->up || wg_device_get(a->dev, &info) < 0)
		info = NULL;
	if (a->registered)
		format_ip(a->self.tunnel_family, a->self.tunnel_ip, ip, sizeof(ip));
	if (a->mesh_self.has_reflexive)
		addr_endpoint_format(&a->mesh_self.reflexive_ep, refl);
	eps = json_array();
	for (size_t i = 0; i < a->n_endpoints; i++) {
		char e[ADDR_ENDPOINT_STRLEN];
		addr_endpoint_format(&a->endpoints[i].addr, e);
		json_array_append_new(eps, json_pack("{s:s, s:s}", "source",
						     api_endpoint_source_name(a->endpoints[i].source),
						     "address", e));
	}
	r = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:s, s:o, s:s, s:i}",
		      "version", NEXODUS_VERSION,
		      "hostname", a->hostname,
		      "device_id", a->registered ? a->self.id : "",
		      "organization", a->registered ? a->self.organization : "",
		      "listen_port", info ? info->listen_port : a->opt.listen_port,
		      "interface", a->opt.interface,
		      "public_key", pub,
		      "tunnel_ip", ip,
		      "api_connected", a->api_connected,
		      "api_state", a->api_state,
		      "endpoints", eps,
		      "reflexive_endpoint", refl,
		      "peers", info ? (int)info->n_peers : 0);
	json_object_set_new(r, "interface_up", json_boolean(a->up));
	json_object_set_new(r, "exit_node", json_string(a->opt.router_exit_node ? "yes" : "no"));
	json_object_set_new(r, "exit_node_client", json_string(a->exit_status));
	json_object_set_new(r, "exit_node_client_wanted", json_boolean(a->sub_wanted));
	json_object_set_new(r, "warnings", json_string(a->exit_warning));
	json_object_set_new(r, "service_url", json_string(a->opt.service_url));
	pthread_mutex_unlock(&a->lock);
	wg_device_info_free(info);
	return r;
}

static const struct api_device *mesh_find(const struct agent *a, const uint8_t key[32])
{
	for (size_t i = 0; i < a->mesh.n_devices; i++)
		if (!memcmp(a->mesh.devices[i].public_key, key, 32))
			return &a->mesh.devices[i];
	return NULL;
}

static json_t *cmd_peers(struct agent *a)
{
	struct wg_device_info *info = NULL;
	json_t *list;

	list = json_array();
	pthread_mutex_lock(&a->lock);
	if (!a->up) {
		pthread_mutex_unlock(&a->lock);
		return list;
	}
	if (wg_device_get(a->dev, &info) < 0) {
		pthread_mutex_unlock(&a->lock);
		json_decref(list);
		return NULL;
	}
	for (size_t i = 0; i < info->n_peers; i++) {
		const struct wg_peer_info *p = &info->peers[i];
		const struct api_device *d = mesh_find(a, p->public_key);
		struct health_result h = { 0 };
		bool probed = a->health && health_get(a->health, p->public_key, &h);
		char pub[KEY_B64_LEN + 1], ep[ADDR_ENDPOINT_STRLEN] = "", ip[INET6_ADDRSTRLEN] = "";
		json_t *o;

		key_to_base64(pub, p->public_key);
		if (p->endpoint.sa.sa_family)
			addr_endpoint_format(&p->endpoint, ep);
		if (d)
			format_ip(d->tunnel_family, d->tunnel_ip, ip, sizeof(ip));
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b}",
			      "hostname", d ? d->hostname : "",
			      "device_id", d ? d->id : "",
			      "public_key", pub,
			      "tunnel_ip", ip,
			      "endpoint", ep,
			      "latest_handshake", (json_int_t)p->last_handshake_sec,
			      "rx_bytes", (json_int_t)p->rx_bytes,
			      "tx_bytes", (json_int_t)p->tx_bytes,
			      "reachable", probed && h.reachable);
		if (probed && h.has_latency)
			json_object_set_new(o, "latency_ms", json_real(h.latency_us / 1000.0));
		else
			json_object_set_new(o, "latency_ms", json_null());
		json_array_append_new(list, o);
	}
	pthread_mutex_unlock(&a->lock);
	wg_device_info_free(info);
	return list;
}

static json_t *control_handler(void *ctx, const struct control_request *req, char *err, size_t errlen)
{
	struct agent *a = ctx;

	if (!strcmp(req->command, "version"))
		return cmd_version(a);
	if (!strcmp(req->command, "status"))
		return cmd_status(a);
	if (!strcmp(req->command, "peers")) {
		json_t *r = cmd_peers(a);
		if (!r)
			snprintf(err, errlen, "cannot read the interface");
		return r;
	}
	if (!strcmp(req->command, "exit-node-enable"))
		return exit_cmd_subscribe(a, req->args, true, err, errlen);
	if (!strcmp(req->command, "exit-node-disable"))
		return exit_cmd_subscribe(a, req->args, false, err, errlen);
	if (!strcmp(req->command, "exit-node-list"))
		return exit_cmd_list(a, err, errlen);
	snprintf(err, errlen, "\"%s\" is not supported by this nexd", req->command);
	return NULL;
}

/* ---- start and stop ---------------------------------------------------- */

static int setup_device(struct agent *a, char *err, size_t errlen)
{
	struct wg_device_opts dopts = { .ifname = a->opt.interface, .tun_fd = -1 };
	struct wg_config c = { 0 };
	int r;

	r = wg_device_create(&a->dev, &dopts);
	if (r) {
		snprintf(err, errlen, "cannot create interface %s: %s", a->opt.interface, strerror(-r));
		return r;
	}
	c.has_private_key = true;
	memcpy(c.private_key, a->state.private_key, sizeof(c.private_key));
	c.has_listen_port = true;
	c.listen_port = a->opt.listen_port;
	r = wg_device_apply(a->dev, &c);
	memset(c.private_key, 0, sizeof(c.private_key));
	if (r) {
		if (r == -EADDRINUSE)
			snprintf(err, errlen, "UDP port %u is already in use (see --listen-port)", a->opt.listen_port);
		else
			snprintf(err, errlen, "cannot configure %s: %s", a->opt.interface, strerror(-r));
		return r;
	}
	wg_device_set_stray_handler(a->dev, endpoint_on_datagram, a);
	r = uapi_server_start(&a->uapi, a->dev, wg_device_ifname(a->dev));
	if (r) {
		snprintf(err, errlen, "cannot serve the UAPI socket of %s: %s", a->opt.interface, strerror(-r));
		return r;
	}
	r = nl_open(&a->nl);
	if (r) {
		snprintf(err, errlen, "netlink: %s", strerror(-r));
		return r;
	}
	a->ifindex = (unsigned)wg_device_ifindex(a->dev);
	r = nl_link_set_up(a->nl, a->ifindex, true);
	if (r) {
		snprintf(err, errlen, "cannot bring %s up: %s", a->opt.interface, strerror(-r));
		return r;
	}
	return 0;
}

int agent_bring_up(struct agent *a, char *err, size_t errlen)
{
	int r;

	r = setup_device(a, err, errlen);
	if (r)
		return r;
	r = health_start(&a->health, wg_device_ifname(a->dev));
	if (r) {
		snprintf(err, errlen, "cannot start the peer prober: %s", strerror(-r));
		return r;
	}
	r = -pthread_create(&a->device_thread, NULL, device_main, a);
	if (r)
		goto err_thread;
	a->device_started = true;
	r = -pthread_create(&a->endpoint_thread, NULL, endpoint_main, a);
	if (r)
		goto err_thread;
	a->endpoint_started = true;
	r = -pthread_create(&a->exit_thread, NULL, exit_main, a);
	if (r)
		goto err_thread;
	a->exit_started = true;
	pthread_mutex_lock(&a->lock);
	a->up = true;
	pthread_mutex_unlock(&a->lock);
	log_info("interface %s is up (port %u)", a->opt.interface, a->opt.listen_port);
	return 0;

err_thread:
	snprintf(err, errlen, "cannot start a thread: %s", strerror(-r));
	return r;
}

int agent_start(struct agent **out, const struct nexd_options *o, char *err, size_t errlen)
{
	struct agent *a;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	a->opt = *o;
	pthread_mutex_init(&a->lock, NULL);
	pthread_mutex_init(&a->nl_lock, NULL);
	pthread_mutex_init(&a->stun_lock, NULL);
	pthread_cond_init(&a->stun_cond, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&a->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	snprintf(a->api_state, sizeof(a->api_state), "connecting");
	a->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->stop_fd < 0) {
		r = -errno;
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		free(a);
		return r;
	}
	*out = a; /* agent_destroy undoes whatever part of the start happened */

	if (o->hostname) {
		snprintf(a->hostname, sizeof(a->hostname), "%s", o->hostname);
	} else if (gethostname(a->hostname, sizeof(a->hostname) - 1) < 0) {
		snprintf(a->hostname, sizeof(a->hostname), "localhost");
	}
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
	r = exit_prepare(a, err, errlen);
	if (r)
		return r;
	r = control_server_start(&a->control, o->unix_socket, control_handler, a);
	if (r) {
		if (r == -EADDRINUSE)
			snprintf(err, errlen, "another nexd serves %s (see --unix-socket)", o->unix_socket);
		else
			snprintf(err, errlen, "cannot create the control socket %s: %s", o->unix_socket, strerror(-r));
		return r;
	}
	r = -pthread_create(&a->sync_thread, NULL, sync_main, a);
	if (r) {
		snprintf(err, errlen, "cannot start a thread: %s", strerror(-r));
		return r;
	}
	a->sync_started = true;
	log_info("nexd %s starting for interface %s", NEXODUS_VERSION, a->opt.interface);
	return 0;
}

int agent_wait(struct agent *a)
{
	struct pollfd p = { .fd = a->stop_fd, .events = POLLIN };

	while (!agent_stopping(a)) {
		if (poll(&p, 1, 1000) < 0 && errno != EINTR)
			break;
	}
	return atomic_load(&a->exit_code);
}

void agent_destroy(struct agent *a)
{
	if (!a)
		return;
	atomic_store(&a->stopping, 1);
	pthread_mutex_lock(&a->lock);
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	pthread_mutex_lock(&a->stun_lock);
	pthread_cond_broadcast(&a->stun_cond);
	pthread_mutex_unlock(&a->stun_lock);
	if (a->sync_started)
		pthread_join(a->sync_thread, NULL);
	if (a->endpoint_started)
		pthread_join(a->endpoint_thread, NULL);
	exit_wake(a);
	if (a->exit_started)
		pthread_join(a->exit_thread, NULL); /* tears the subscription down */
	health_stop(a->health);
	control_server_stop(a->control);
	if (a->nl) {
		/* The interface takes its address and routes with it; remove them
		 * first all the same so that nothing outlives us if it lingers. */
		if (a->has_tunnel_addr)
			nl_addr_del(a->nl, a->ifindex, &a->tunnel_addr);
		if (a->has_tunnel_addr6)
			nl_addr_del(a->nl, a->ifindex, &a->tunnel_addr6);
		nl_close(a->nl);
	}
	uapi_server_stop(a->uapi);
	if (a->dev) {
		wg_device_stop(a->dev);
		if (a->device_started)
			pthread_join(a->device_thread, NULL);
		wg_device_destroy(a->dev);
		log_info("interface %s removed", a->opt.interface);
	}
	api_device_list_free(&a->mesh);
	api_device_free(&a->self);
	converge_memory_release(&a->memory);
	state_wipe(&a->state);
	close(a->stop_fd);
	if (a->exit_wake_fd > 0)
		close(a->exit_wake_fd);
	pthread_cond_destroy(&a->cond);
	pthread_cond_destroy(&a->stun_cond);
	pthread_mutex_destroy(&a->stun_lock);
	pthread_mutex_destroy(&a->nl_lock);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
