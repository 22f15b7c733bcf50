/* nexctl nexd [--unix-socket PATH] status | version | peers list
 *             | exit-node enable | disable | list
 *             | proxy list | add-ingress RULE | add-egress RULE | remove ingress|egress RULE
 * Talks to the local agent over its control socket (src/control). */
#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/control.h"
#include "nexctl/nexctl.h"
#include "proxy/rule.h"

#define NEXD_DEFAULT_SOCKET "/var/run/nexd.sock"

static const char *socket_path = NEXD_DEFAULT_SOCKET;

static int nexd_status(struct nexctl *ctx, int argc, char *argv[]);
static int nexd_version(struct nexctl *ctx, int argc, char *argv[]);
static int nexd_peers(struct nexctl *ctx, int argc, char *argv[]);
static int nexd_exit_node(struct nexctl *ctx, int argc, char *argv[]);
static int nexd_proxy(struct nexctl *ctx, int argc, char *argv[]);

static const struct nexctl_subcommand nexd_commands[] = {
	{ "status", nexd_status, "nexd [--unix-socket PATH] status", "the agent's state" },
	{ "version", nexd_version, "nexd [--unix-socket PATH] version", "the agent's version" },
	{ "peers", nexd_peers, "nexd [--unix-socket PATH] peers list", "the mesh peers and their health" },
	{ "exit-node", nexd_exit_node,
	  "nexd [--unix-socket PATH] exit-node enable [--exit-node A[,B...]] [--failover] | disable | list",
	  "use an exit node of the organization, or stop; list them" },
	{ "proxy", nexd_proxy,
	  "nexd [--unix-socket PATH] proxy list | add-ingress RULE | add-egress RULE | remove ingress|egress RULE",
	  "the forwarding rules of nexd proxy: list, add, remove" },
	{ NULL, NULL, NULL, NULL },
};

static const char nexd_help[] =
	"Talks to the nexd agent of this machine through its control socket: root's\n"
	"only, except the socket of nexd proxy, which also admits the user that runs it.\n"
	"  --unix-socket PATH   the agent's socket (default " NEXD_DEFAULT_SOCKET ")\n";

/* Sends one command; prints the error and returns NULL on failure. */
static json_t *call(enum control_command cmd, json_t *args)
{
	char err[512] = "";
	json_t *r = control_call(socket_path, control_command_names[cmd], args, err, sizeof(err));

	if (!r)
		out_error("%s", err);
	return r;
}

/* Only the global flags (and --help). 1 when the command must stop with *status. */
static int no_flags(struct nexctl *ctx, const struct nexctl_subcommand *sub, const char *help, int argc,
		    char *argv[], int nargs, int *status)
{
	int opt;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", NULL)) != -1) {
		if (opt == 'h') {
			nexctl_usage(stdout, sub, help);
			*status = NEXCTL_OK;
			return 1;
		}
		*status = nexctl_bad_flags(sub);
		return 1;
	}
	if (argc - optind != nargs) {
		*status = nexctl_usage_error(sub, "unexpected arguments");
		return 1;
	}
	return 0;
}

static const char *str(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s && *s ? s : "-";
}

static int print_rows(const char *const rows[][2], size_t n)
{
	static const char *const headers[] = { "FIELD", "VALUE" };
	struct out_table *t = out_table_new(2, headers);

	if (!t)
		return NEXCTL_ERROR;
	for (size_t i = 0; i < n; i++)
		out_table_add(t, rows[i]);
	out_table_print(t, stdout);
	out_table_free(t);
	return NEXCTL_OK;
}

static int nexd_status(struct nexctl *ctx, int argc, char *argv[])
{
	const struct nexctl_subcommand *sub = &nexd_commands[0];
	char port[16], peers[16], endpoints[512] = "";
	json_t *r, *eps, *e;
	size_t i, o = 0;
	int status;

	if (no_flags(ctx, sub, "Shows the agent's device, interface, API connection and endpoints.\n", argc, argv,
		     0, &status))
		return status;
	r = call(CONTROL_CMD_STATUS, NULL);
	if (!r)
		return NEXCTL_ERROR;
	if (ctx->format != OUT_TABLE) {
		status = out_json(r, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
		json_decref(r);
		return status;
	}
	snprintf(port, sizeof(port), "%lld", (long long)json_integer_value(json_object_get(r, "listen_port")));
	snprintf(peers, sizeof(peers), "%lld", (long long)json_integer_value(json_object_get(r, "peers")));
	eps = json_object_get(r, "endpoints");
	json_array_foreach(eps, i, e) {
		int n = snprintf(endpoints + o, sizeof(endpoints) - o, "%s%s (%s)", i ? ", " : "", str(e, "address"),
				 str(e, "source"));
		if (n < 0 || (size_t)n >= sizeof(endpoints) - o)
			break;
		o += (size_t)n;
	}
	{
		const char *rows[][2] = {
			{ "hostname", str(r, "hostname") },
			{ "device_id", str(r, "device_id") },
			{ "organization", str(r, "organization") },
			{ "interface", str(r, "interface") },
			{ "listen_port", port },
			{ "public_key", str(r, "public_key") },
			{ "tunnel_ip", str(r, "tunnel_ip") },
			{ "endpoints", endpoints[0] ? endpoints : "-" },
			{ "peers", peers },
			{ "service_url", str(r, "service_url") },
			{ "api", str(r, "api_state") },
			{ "exit_node", str(r, "exit_node") },
			{ "exit_node_client", str(r, "exit_node_client") },
			{ "warnings", str(r, "warnings") },
			{ "relay", str(r, "relay")[0] ? str(r, "relay") : "-" },
			{ "version", str(r, "version") },
		};
		status = print_rows(rows, sizeof(rows) / sizeof(rows[0]));
	}
	json_decref(r);
	return status;
}

static int nexd_version(struct nexctl *ctx, int argc, char *argv[])
{
	json_t *r;
	int status;

	if (no_flags(ctx, &nexd_commands[1], "Prints the version of the running agent.\n", argc, argv, 0, &status))
		return status;
	r = call(CONTROL_CMD_VERSION, NULL);
	if (!r)
		return NEXCTL_ERROR;
	if (ctx->format != OUT_TABLE)
		status = out_json(r, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
	else
		printf("nexd %s\n", str(r, "version"));
	json_decref(r);
	return status;
}

static void ago(json_int_t t, char *out, size_t len)
{
	time_t now = time(NULL);

	if (t <= 0)
		snprintf(out, len, "never");
	else if (now - t < 0)
		snprintf(out, len, "just now");
	else
		snprintf(out, len, "%llds ago", (long long)(now - t));
}

static void bytes(json_int_t b, char *out, size_t len)
{
	const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)b;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%lld B", (long long)b);
	else
		snprintf(out, len, "%.1f %s", v, units[u]);
}

static int nexd_peers(struct nexctl *ctx, int argc, char *argv[])
{
	static const char *const headers[] = { "HOSTNAME", "TUNNEL-IP", "ENDPOINT", "PATH", "LATEST-HANDSHAKE",
					       "RX", "TX", "REACHABLE", "LATENCY" };
	const struct nexctl_subcommand *sub = &nexd_commands[2];
	struct out_table *t;
	json_t *r, *p;
	size_t i;
	int status;

	if (no_flags(ctx, sub,
		     "Lists the mesh peers of this device: name, tunnel address, endpoint in use,\n"
		     "path (direct, relay through the TURN server, or none while it answers on\n"
		     "no path), latest handshake, bytes received and sent, and whether the\n"
		     "health probe over the tunnel reaches it (with the latest round-trip time).\n",
		     argc, argv, 1, &status))
		return status;
	if (strcmp(argv[optind], "list"))
		return nexctl_usage_error(sub, "unknown peers command \"%s\"", argv[optind]);
	r = call(CONTROL_CMD_PEERS, NULL);
	if (!r)
		return NEXCTL_ERROR;
	if (ctx->format != OUT_TABLE) {
		status = out_json(r, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
		json_decref(r);
		return status;
	}
	t = out_table_new(9, headers);
	if (!t) {
		json_decref(r);
		return NEXCTL_ERROR;
	}
	json_array_foreach(r, i, p) {
		char hs[32], rx[32], tx[32], lat[32];
		json_t *l = json_object_get(p, "latency_ms");
		const char *row[9];
		const char *path = str(p, "path");

		ago(json_integer_value(json_object_get(p, "latest_handshake")), hs, sizeof(hs));
		bytes(json_integer_value(json_object_get(p, "rx_bytes")), rx, sizeof(rx));
		bytes(json_integer_value(json_object_get(p, "tx_bytes")), tx, sizeof(tx));
		if (json_is_number(l))
			snprintf(lat, sizeof(lat), "%.2f ms", json_number_value(l));
		else
			snprintf(lat, sizeof(lat), "-");
		row[0] = str(p, "hostname");
		row[1] = str(p, "tunnel_ip");
		row[2] = str(p, "endpoint");
		row[3] = path[0] ? path : "-";
		row[4] = hs;
		row[5] = rx;
		row[6] = tx;
		row[7] = json_is_true(json_object_get(p, "reachable")) ? "yes" : "no";
		row[8] = lat;
		out_table_add(t, row);
	}
	out_table_print(t, stdout);
	out_table_free(t);
	json_decref(r);
	return NEXCTL_OK;
}

/* The design's exact output: "ENDPOINT ADDRESS" and "PUBLIC KEY" columns,
 * the first at least 25 characters wide; further columns follow. */
static int print_exit_nodes(json_t *list)
{
	size_t i, w = 25, hw = 10;
	json_t *e;

	json_array_foreach(list, i, e) {
		size_t n = strlen(str(e, "endpoint")) + 1, h = strlen(str(e, "hostname")) + 2;
		if (n > w)
			w = n;
		if (h > hw)
			hw = h;
	}
	printf("%-*s%-46s%-*s%-17s%-11s%-8s%s\n", (int)w, "ENDPOINT ADDRESS", "PUBLIC KEY", (int)hw, "HOSTNAME",
	       "TUNNEL IP", "LATENCY", "IN USE", "APPROVED");
	json_array_foreach(list, i, e) {
		json_t *l = json_object_get(e, "latency_ms");
		char lat[32];

		if (json_is_number(l))
			snprintf(lat, sizeof(lat), "%.1f ms", json_number_value(l));
		else
			snprintf(lat, sizeof(lat), "%s", json_is_false(json_object_get(e, "reachable")) ? "-" : "?");
		printf("%-*s%-46s%-*s%-17s%-11s%-8s%s\n", (int)w, str(e, "endpoint"), str(e, "public_key"), (int)hw,
		       str(e, "hostname"), str(e, "tunnel_ip"), lat,
		       json_is_true(json_object_get(e, "in_use")) ? "yes" : "no",
		       json_is_false(json_object_get(e, "approved")) ? "no (pending)" : "yes");
	}
	return NEXCTL_OK;
}

static const char exit_node_help[] =
	"enable [--exit-node A[,B...]] [--failover]\n"
	"         send all traffic of this device through an approved exit node of the\n"
	"         organization (traffic blocked while none answers); the subscription\n"
	"         is kept until disabled, also across restarts. Without --exit-node: the\n"
	"         one with the lowest latency; with it: the first that answers of the\n"
	"         listed ones (device ids, public keys, tunnel IPs, or hostnames that\n"
	"         exactly one approved exit node has); one listed exit node is kept even\n"
	"         when it stops answering, unless --failover. An error, nothing changed,\n"
	"         when the organization has no approved exit node or a listed one is not\n"
	"         an approved exit node\n"
	"disable  stop using an exit node\n"
	"list     the organization's exit nodes, their latency, the one in use, and\n"
	"         those that wait for an admin's approval (never used until approved)\n";

static int nexd_exit_node(struct nexctl *ctx, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "exit-node", required_argument, NULL, 'E' },
		{ "failover", no_argument, NULL, 'F' },
		{ NULL, 0, NULL, 0 },
	};
	const struct nexctl_subcommand *sub = &nexd_commands[3];
	const char *what, *pin = NULL;
	bool failover = false;
	json_t *r, *args = NULL;
	int status, opt;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case 'E':
			pin = optarg;
			break;
		case 'F':
			failover = true;
			break;
		case 'h':
			nexctl_usage(stdout, sub, exit_node_help);
			return NEXCTL_OK;
		default:
			return nexctl_bad_flags(sub);
		}
	}
	if (argc - optind != 1)
		return nexctl_usage_error(sub, "which of enable, disable or list?");
	what = argv[optind];
	if ((pin || failover) && strcmp(what, "enable"))
		return nexctl_usage_error(sub, "--exit-node and --failover go with enable");
	if (!strcmp(what, "enable") || !strcmp(what, "disable")) {
		if (pin || failover) {
			args = json_object();
			if (pin)
				json_object_set_new(args, "exit_node", json_string(pin));
			if (failover)
				json_object_set_new(args, "failover", json_true());
		}
		r = call(!strcmp(what, "enable") ? CONTROL_CMD_EXIT_NODE_ENABLE : CONTROL_CMD_EXIT_NODE_DISABLE, args);
		json_decref(args);
		if (!r)
			return NEXCTL_ERROR;
		json_decref(r);
		printf("Successfully %s exit node client on this device\n",
		       !strcmp(what, "enable") ? "enabled" : "disabled");
		return NEXCTL_OK;
	}
	if (strcmp(what, "list"))
		return nexctl_usage_error(sub, "unknown exit-node command \"%s\"", what);
	r = call(CONTROL_CMD_EXIT_NODE_LIST, NULL);
	if (!r)
		return NEXCTL_ERROR;
	if (!json_is_array(r)) {
		out_error("garbled reply from nexd");
		json_decref(r);
		return NEXCTL_ERROR;
	}
	if (json_array_size(r) == 0) {
		out_error("no exit node in this device's organization");
		json_decref(r);
		return NEXCTL_ERROR;
	}
	if (ctx->format != OUT_TABLE)
		status = out_json(r, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
	else
		status = print_exit_nodes(r);
	json_decref(r);
	return status;
}

static const char proxy_help[] =
	"list     the forwarding rules (DIRECTION RULE FLOWS TOTAL REFUSED: flows open\n"
	"         now, accepted since the rule was added, refused over a limit or for\n"
	"         an unreachable destination), then the SOCKS5 listener, whether this\n"
	"         proxy is an exit node, and whether it sends through one\n"
	"add-ingress RULE\n"
	"         connections from the mesh to this device's tunnel address and PORT\n"
	"         go to DEST_IP:DEST_PORT, dialled from an ordinary socket of the host\n"
	"add-egress RULE\n"
	"         a listener on 127.0.0.1:PORT forwards into the mesh to\n"
	"         DEST_IP:DEST_PORT (UDP: one association per client address)\n"
	"remove ingress|egress RULE\n"
	"         remove a rule and close its flows\n"
	"\n"
	"RULE is PROTO:PORT:DEST_IP:DEST_PORT: tcp or udp (lowercase), ports 1 to\n"
	"65535 without leading zeros, a unicast IPv4 address or an IPv6 one in\n"
	"brackets: tcp:8080:127.0.0.1:80, udp:5353:[2001:db8::53]:53. It is checked\n"
	"here before it is sent (exit 2 when malformed). Only a nexd started as\n"
	"nexd proxy has rules (docs/proxy.md).\n";

/* "ingress" or "egress" as the parser's direction; -1 for anything else. */
static int proxy_dir_of(const char *s)
{
	if (!strcmp(s, "ingress"))
		return PROXY_INGRESS;
	if (!strcmp(s, "egress"))
		return PROXY_EGRESS;
	return -1;
}

static const char *proxy_dir_name(enum proxy_dir dir)
{
	return dir == PROXY_INGRESS ? "ingress" : "egress";
}

/* A non-negative integer field as text; "?" when it is not one. */
static void count_text(const json_t *o, const char *key, char *out, size_t len)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		snprintf(out, len, "%lld", (long long)json_integer_value(v));
	else
		snprintf(out, len, "?");
}

static const char *const proxy_headers[] = { "DIRECTION", "RULE", "FLOWS", "TOTAL", "REFUSED" };

/* The cells are copied by out_table_add before the next row. */
static void proxy_row(const json_t *r, const char *row[])
{
	static char flows[24], total[24], refused[24];

	count_text(r, "flows", flows, sizeof(flows));
	count_text(r, "total", total, sizeof(total));
	count_text(r, "refused", refused, sizeof(refused));
	row[0] = out_field(r, "direction", "?");
	row[1] = out_field(r, "rule", "?");
	row[2] = flows;
	row[3] = total;
	row[4] = refused;
}

static int proxy_list(struct nexctl *ctx)
{
	json_t *r = call(CONTROL_CMD_PROXY_LIST, NULL);
	int status;

	if (!r)
		return NEXCTL_ERROR;
	if (!json_is_object(r) || !json_is_array(json_object_get(r, "rules"))) {
		out_error("garbled reply from nexd");
		json_decref(r);
		return NEXCTL_ERROR;
	}
	if (ctx->format != OUT_TABLE) {
		status = out_json(r, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
		json_decref(r);
		return status;
	}
	if (out_objects_table(json_object_get(r, "rules"), "proxy rule list", 5, proxy_headers, proxy_row)) {
		json_decref(r);
		return NEXCTL_ERROR;
	}
	printf("socks5: %s\n", out_field(r, "socks5", "off"));
	printf("exit node: %s\n", json_is_true(json_object_get(r, "exit_node")) ? "on" : "off");
	printf("through an exit node: %s\n", json_is_true(json_object_get(r, "via_exit")) ? "yes" : "no");
	json_decref(r);
	return NEXCTL_OK;
}

/* Adds or removes one rule, given as the operand after the command. */
static int proxy_change(struct nexctl *ctx, const struct nexctl_subcommand *sub, bool add, enum proxy_dir dir,
			const char *text)
{
	char why[PROXY_RULE_WHY_MAX], canon[PROXY_RULE_STRLEN];
	struct proxy_rule rule, echoed;
	const char *back;
	json_t *args, *r;
	int status = NEXCTL_OK;

	if (proxy_rule_parse(text, strlen(text), dir, &rule, why, sizeof(why)))
		return nexctl_usage_error(sub, "%s %s", proxy_dir_name(dir), why);
	if (proxy_rule_format(&rule, canon, sizeof(canon)) < 0) {
		out_error("%s: cannot format the rule", text);
		return NEXCTL_ERROR;
	}
	args = json_pack("{s:s, s:s}", "direction", proxy_dir_name(dir), "rule", canon);
	if (!args) {
		out_error("out of memory");
		return NEXCTL_ERROR;
	}
	r = call(add ? CONTROL_CMD_PROXY_ADD : CONTROL_CMD_PROXY_REMOVE, args);
	json_decref(args);
	if (!r)
		return NEXCTL_ERROR;
	if (add && ctx->format != OUT_TABLE) {
		status = out_json(r, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
	} else if (ctx->format == OUT_TABLE) {
		/* nexd's canonical text when it is a rule, else ours (the same). */
		back = json_string_value(json_object_get(r, "rule"));
		if (add && back && !proxy_rule_parse(back, strlen(back), dir, &echoed, NULL, 0))
			proxy_rule_format(&echoed, canon, sizeof(canon));
		printf("%s %s %s\n", add ? "added" : "removed", proxy_dir_name(dir), canon);
	}
	json_decref(r);
	return status;
}

static int nexd_proxy(struct nexctl *ctx, int argc, char *argv[])
{
	const struct nexctl_subcommand *sub = &nexd_commands[4];
	const char *what;
	int opt, nargs, dir;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", NULL)) != -1) {
		if (opt == 'h') {
			nexctl_usage(stdout, sub, proxy_help);
			return NEXCTL_OK;
		}
		return nexctl_bad_flags(sub);
	}
	nargs = argc - optind;
	if (nargs < 1)
		return nexctl_usage_error(sub, "which of list, add-ingress, add-egress or remove?");
	what = argv[optind];
	if (!strcmp(what, "list")) {
		if (nargs != 1)
			return nexctl_usage_error(sub, "proxy list takes no arguments");
		return proxy_list(ctx);
	}
	if (!strcmp(what, "add-ingress") || !strcmp(what, "add-egress")) {
		if (nargs != 2)
			return nexctl_usage_error(sub, "proxy %s takes one RULE", what);
		return proxy_change(ctx, sub, true, !strcmp(what, "add-ingress") ? PROXY_INGRESS : PROXY_EGRESS,
				    argv[optind + 1]);
	}
	if (!strcmp(what, "remove")) {
		if (nargs != 3)
			return nexctl_usage_error(sub, "proxy remove takes ingress or egress, and one RULE");
		dir = proxy_dir_of(argv[optind + 1]);
		if (dir < 0)
			return nexctl_usage_error(sub, "proxy remove: \"%s\" is not ingress or egress",
						  argv[optind + 1]);
		return proxy_change(ctx, sub, false, (enum proxy_dir)dir, argv[optind + 2]);
	}
	return nexctl_usage_error(sub, "unknown proxy command \"%s\"", what);
}

int cmd_nexd(struct nexctl *ctx, int argc, char *argv[])
{
	int i = 1;

	while (i < argc && argv[i][0] == '-') {
		if (!strcmp(argv[i], "--unix-socket") && i + 1 < argc) {
			socket_path = argv[i + 1];
			i += 2;
		} else if (!strncmp(argv[i], "--unix-socket=", 14)) {
			socket_path = argv[i] + 14;
			i++;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			nexctl_usage(stdout, &(struct nexctl_subcommand){ "nexd", NULL,
				"nexd [--unix-socket PATH] status|version|peers list|exit-node enable|disable|list\n"
				"       |proxy list|add-ingress RULE|add-egress RULE|remove ingress|egress RULE",
				NULL }, nexd_help);
			return NEXCTL_OK;
		} else {
			out_error("nexd: unknown option %s", argv[i]);
			return NEXCTL_USAGE;
		}
	}
	/* nexctl_dispatch wants argv[0] to be the command's name. */
	argv[i - 1] = (char *)"nexd";
	return nexctl_dispatch(ctx, "nexd", nexd_commands, argc - (i - 1), argv + (i - 1));
}
