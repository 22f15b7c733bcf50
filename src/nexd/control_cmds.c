#include "nexd/control_cmds.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>

#include "common/key.h"
#include "common/log.h"
#include "common/version.h"
#include "proxy/proxy.h"

#define CONTROL_APPLY_WAIT_MS 3000

typedef json_t *(*cmd_fn)(struct control_cmds *cc, const json_t *args, char *err, size_t errlen);

static json_t *cmd_version(struct control_cmds *cc, const json_t *args, char *err, size_t errlen)
{
	return json_pack("{s:s}", "version", NEXODUS_VERSION);
}

/* The interface's snapshot, when it is up; NULL otherwise. */
static struct wg_device_info *interface_info(struct control_cmds *cc, bool *up, bool *failed)
{
	struct status_board *b = cc->board;
	const struct wg_driver *drv;
	struct wg_device_info *info = NULL;
	void *dev;

	pthread_mutex_lock(&b->lock);
	drv = b->drv;
	dev = b->dev;
	pthread_mutex_unlock(&b->lock);
	*up = drv != NULL;
	*failed = false;
	if (drv && drv->get(dev, &info) < 0) {
		info = NULL;
		*failed = true;
	}
	return info;
}

static json_t *cmd_status(struct control_cmds *cc, const json_t *args, char *err, size_t errlen)
{
	struct status_board *b = cc->board;
	const struct status_fixed *f = &b->fixed;
	char pub[KEY_B64_LEN + 1], refl[ADDR_ENDPOINT_STRLEN] = "";
	struct wg_device_info *info;
	bool up, failed;
	json_t *r, *eps;

	info = interface_info(cc, &up, &failed);
	key_to_base64(pub, f->public_key);
	pthread_mutex_lock(&b->lock);
	const struct status_view *v = &b->view;
	if (v->has_reflexive)
		addr_endpoint_format(&v->reflexive, refl);
	eps = json_array();
	for (size_t i = 0; i < v->n_eps; i++) {
		char e[ADDR_ENDPOINT_STRLEN];
		addr_endpoint_format(&v->eps[i].addr, e);
		json_array_append_new(eps, json_pack("{s:s, s:s}", "source", api_endpoint_source_name(v->eps[i].source),
						     "address", e));
	}
	r = json_pack("{s:s, s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:b, s:s, s:o, s:s, s:i}",
		      "version", NEXODUS_VERSION,
		      "hostname", f->hostname,
		      "device_id", v->device_id,
		      "organization", v->organization,
		      "listen_port", info ? info->listen_port : f->listen_port,
		      "interface", f->interface,
		      "public_key", pub,
		      "tunnel_ip", v->tunnel_ip,
		      "api_connected", v->api_connected,
		      "api_state", v->api_state,
		      "endpoints", eps,
		      "reflexive_endpoint", refl,
		      "peers", info ? (int)info->n_peers : 0);
	json_object_set_new(r, "interface_up", json_boolean(v->up));
	json_object_set_new(r, "exit_node", json_string(f->exit_node ? "yes" : "no"));
	json_object_set_new(r, "exit_node_client", json_string(v->exit_status));
	json_object_set_new(r, "exit_node_client_wanted", json_boolean(v->sub_wanted));
	json_object_set_new(r, "warnings", json_string(v->warnings));
	json_object_set_new(r, "service_url", json_string(f->service_url));
	json_object_set_new(r, "relay", json_string(v->relay_status));
	json_object_set_new(r, "relay_endpoint", json_string(v->relay_endpoint));
	pthread_mutex_unlock(&b->lock);
	wg_device_info_free(info);
	return r;
}

static const struct status_peer *find_peer(const struct status_view *v, const uint8_t key[32])
{
	for (size_t i = 0; i < v->n_peers; i++)
		if (!memcmp(v->peers[i].key, key, 32))
			return &v->peers[i];
	return NULL;
}

static json_t *cmd_peers(struct control_cmds *cc, const json_t *args, char *err, size_t errlen)
{
	struct status_board *b = cc->board;
	struct wg_device_info *info;
	struct health *health;
	bool up, failed;
	json_t *list;

	info = interface_info(cc, &up, &failed);
	if (failed) {
		snprintf(err, errlen, "cannot read the interface");
		return NULL;
	}
	list = json_array();
	pthread_mutex_lock(&b->lock);
	health = b->health;
	for (size_t i = 0; info && i < info->n_peers; i++) {
		const struct wg_peer_info *p = &info->peers[i];
		const struct status_peer *d = find_peer(&b->view, p->public_key);
		struct health_result h = { 0 };
		bool probed = health && health_get(health, p->public_key, &h);
		char pub[KEY_B64_LEN + 1], ep[ADDR_ENDPOINT_STRLEN] = "";
		json_t *o;

		key_to_base64(pub, p->public_key);
		if (p->endpoint.sa.sa_family)
			addr_endpoint_format(&p->endpoint, ep);
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b}",
			      "hostname", d ? d->hostname : "",
			      "device_id", d ? d->id : "",
			      "public_key", pub,
			      "tunnel_ip", d ? d->tunnel_ip : "",
			      "endpoint", ep,
			      "latest_handshake", (json_int_t)p->last_handshake_sec,
			      "rx_bytes", (json_int_t)p->rx_bytes,
			      "tx_bytes", (json_int_t)p->tx_bytes,
			      "reachable", probed && h.reachable);
		json_object_set_new(o, "latency_ms", probed && h.has_latency ? json_real(h.latency_us / 1000.0)
									 : json_null());
		/* the path, or "none" while the peer answers on no path */
		json_object_set_new(o, "path", json_string(probed && h.reachable && d ? d->path : "none"));
		json_array_append_new(list, o);
	}
	pthread_mutex_unlock(&b->lock);
	wg_device_info_free(info);
	return list;
}

static json_t *subscribe(struct control_cmds *cc, const json_t *args, bool on, char *err, size_t errlen)
{
	struct event e = { .type = EV_CONTROL };
	const json_t *v;
	uint64_t gen;

	if (cc->board->fixed.exit_node) {
		snprintf(err, errlen, "this device is an exit node; it cannot be an exit-node client");
		return NULL;
	}
	v = json_object_get(args, "exit_node");
	if (on && v && (!json_is_string(v) || exit_prefs_parse(json_string_value(v), &e.u.control.prefs))) {
		snprintf(err, errlen, "--exit-node: not a list of names, tunnel IPs or public keys");
		return NULL;
	}
	v = json_object_get(args, "failover");
	if (on && v) {
		if (!json_is_boolean(v)) {
			snprintf(err, errlen, "\"failover\" must be a boolean");
			return NULL;
		}
		e.u.control.prefs.failover = json_is_true(v);
	}
	e.u.control.on = on;
	gen = status_next_control(cc->board);
	e.u.control.gen = gen;
	/* the queue takes the event over (and clears it): wait on our copy of gen */
	if (evq_post(cc->w.q, &e)) {
		snprintf(err, errlen, "nexd did not apply the change in time");
		return NULL;
	}
	switch (status_wait_applied(cc->board, gen, CONTROL_APPLY_WAIT_MS, err, errlen)) {
	case 0:
		break;
	case -EPERM:
		return NULL;   /* refused, nothing changed: err says why */
	default:
		snprintf(err, errlen, "nexd did not apply the change in time");
		return NULL;
	}
	return json_pack("{s:b}", "exit_node_client", on);
}

static json_t *cmd_exit_enable(struct control_cmds *cc, const json_t *args, char *err, size_t errlen)
{
	return subscribe(cc, args, true, err, errlen);
}

static json_t *cmd_exit_disable(struct control_cmds *cc, const json_t *args, char *err, size_t errlen)
{
	return subscribe(cc, args, false, err, errlen);
}

static json_t *cmd_exit_list(struct control_cmds *cc, const json_t *args, char *err, size_t errlen)
{
	struct status_board *b = cc->board;
	struct wg_device_info *info;
	bool up, failed;
	json_t *list = json_array();

	info = interface_info(cc, &up, &failed);
	pthread_mutex_lock(&b->lock);
	for (size_t i = 0; i < b->view.n_exits; i++) {
		const struct status_exit *x = &b->view.exits[i];
		char pub[KEY_B64_LEN + 1], ep[ADDR_ENDPOINT_STRLEN];
		json_t *o;

		key_to_base64(pub, x->key);
		snprintf(ep, sizeof(ep), "%s", x->endpoint);
		for (size_t k = 0; info && k < info->n_peers; k++)
			if (!memcmp(info->peers[k].public_key, x->key, 32) && info->peers[k].endpoint.sa.sa_family)
				addr_endpoint_format(&info->peers[k].endpoint, ep);
		o = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "endpoint", ep, "public_key", pub, "tunnel_ip",
			      x->tunnel_ip, "hostname", x->hostname, "reachable", x->reachable, "ipv6", x->ipv6,
			      "in_use", x->in_use);
		json_object_set_new(o, "latency_ms", x->measured ? json_real(x->latency_us / 1000.0) : json_null());
		json_object_set_new(o, "device_id", json_string(x->id));
		json_object_set_new(o, "approved", json_boolean(x->approved));
		json_array_append_new(list, o);
	}
	pthread_mutex_unlock(&b->lock);
	wg_device_info_free(info);
	return list;
}

/* ---- nexd proxy's rules ------------------------------------------------- */

static struct proxy *proxy_of(struct control_cmds *cc, char *err, size_t errlen)
{
	struct proxy *p;

	pthread_mutex_lock(&cc->board->lock);
	p = cc->board->proxy;
	pthread_mutex_unlock(&cc->board->lock);
	if (!p)
		snprintf(err, errlen, "nexd is not running as a proxy (nexd proxy)");
	return p;
}

static const char *dir_name(enum proxy_dir d)
{
	return d == PROXY_INGRESS ? "ingress" : "egress";
}

/* args {"direction":"ingress"|"egress","rule":TEXT} */
static int rule_arg(const json_t *args, struct proxy_rule *r, char *err, size_t errlen)
{
	const char *dir = json_string_value(json_object_get(args, "direction"));
	const json_t *text = json_object_get(args, "rule");
	char why[PROXY_RULE_WHY_MAX];
	enum proxy_dir d;

	if (dir && !strcmp(dir, "ingress"))
		d = PROXY_INGRESS;
	else if (dir && !strcmp(dir, "egress"))
		d = PROXY_EGRESS;
	else {
		snprintf(err, errlen, "direction must be \"ingress\" or \"egress\"");
		return -EINVAL;
	}
	if (!json_is_string(text)) {
		snprintf(err, errlen, "rule missing");
		return -EINVAL;
	}
	if (proxy_rule_parse(json_string_value(text), json_string_length(text), d, r, why, sizeof(why))) {
		snprintf(err, errlen, "%s", why);
		return -EINVAL;
	}
	return 0;
}

static json_t *cmd_proxy_list(struct control_cmds *cc, const json_t *args, char *err, size_t errlen)
{
	struct proxy *p = proxy_of(cc, err, errlen);
	struct proxy_rule_info *info = NULL;
	struct proxy_stats st;
	json_t *rules, *out;
	char socks[ADDR_ENDPOINT_STRLEN] = "";
	int n;

	if (!p)
		return NULL;
	n = proxy_list_rules(p, &info);
	if (n < 0) {
		snprintf(err, errlen, "%s", strerror(-n));
		return NULL;
	}
	proxy_get_stats(p, &st);
	rules = json_array();
	for (int i = 0; rules && i < n; i++) {
		char text[PROXY_RULE_STRLEN];

		if (proxy_rule_format(&info[i].rule, text, sizeof(text)) < 0)
			continue;
		json_array_append_new(rules, json_pack("{s:s, s:s, s:I, s:I, s:I}", "direction",
						       dir_name(info[i].rule.dir), "rule", text, "flows",
						       (json_int_t)info[i].flows, "total", (json_int_t)info[i].total,
						       "refused", (json_int_t)info[i].refused));
	}
	free(info);
	if (cc->opt && cc->opt->has_socks5)
		addr_endpoint_format(&cc->opt->socks5, socks);
	out = json_pack("{s:o, s:o, s:b, s:b, s:I}", "rules", rules ? rules : json_array(), "socks5",
			socks[0] ? json_string(socks) : json_null(), "exit_node", cc->opt && cc->opt->router_exit_node,
			"via_exit", st.via_exit, "flows", (json_int_t)st.flows);
	return out;
}

static json_t *cmd_proxy_add(struct control_cmds *cc, const json_t *args, char *err, size_t errlen)
{
	struct proxy *p = proxy_of(cc, err, errlen);
	struct proxy_rule r;
	char text[PROXY_RULE_STRLEN];

	if (!p || rule_arg(args, &r, err, errlen))
		return NULL;
	if (proxy_add_rule(p, &r, err, errlen))
		return NULL;
	proxy_rule_format(&r, text, sizeof(text));
	log_info("proxy: rule added by nexctl: %s %s", dir_name(r.dir), text);
	return json_pack("{s:s, s:s}", "direction", dir_name(r.dir), "rule", text);
}

static json_t *cmd_proxy_remove(struct control_cmds *cc, const json_t *args, char *err, size_t errlen)
{
	struct proxy *p = proxy_of(cc, err, errlen);
	struct proxy_rule r;
	char text[PROXY_RULE_STRLEN];

	if (!p || rule_arg(args, &r, err, errlen))
		return NULL;
	proxy_rule_format(&r, text, sizeof(text));
	if (proxy_remove_rule(p, &r)) {
		snprintf(err, errlen, "no such rule: %s %s", dir_name(r.dir), text);
		return NULL;
	}
	log_info("proxy: rule removed by nexctl: %s %s", dir_name(r.dir), text);
	return json_object();
}

/* Indexed by enum control_command. */
static const cmd_fn commands[CONTROL_CMD_COUNT] = {
	[CONTROL_CMD_VERSION] = cmd_version,
	[CONTROL_CMD_STATUS] = cmd_status,
	[CONTROL_CMD_PEERS] = cmd_peers,
	[CONTROL_CMD_EXIT_NODE_ENABLE] = cmd_exit_enable,
	[CONTROL_CMD_EXIT_NODE_DISABLE] = cmd_exit_disable,
	[CONTROL_CMD_EXIT_NODE_LIST] = cmd_exit_list,
	[CONTROL_CMD_PROXY_LIST] = cmd_proxy_list,
	[CONTROL_CMD_PROXY_ADD] = cmd_proxy_add,
	[CONTROL_CMD_PROXY_REMOVE] = cmd_proxy_remove,
};

json_t *control_cmds_handle(void *ctx, const struct control_request *req, char *err, size_t errlen)
{
	struct control_cmds *cc = ctx;

	if ((unsigned)req->cmd >= CONTROL_CMD_COUNT || !commands[req->cmd]) {
		snprintf(err, errlen, "\"%s\" is not supported by this nexd", req->command);
		return NULL;
	}
	return commands[req->cmd](cc, req->args, err, errlen);
}
