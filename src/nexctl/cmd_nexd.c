/* nexctl nexd [--unix-socket PATH] status | version | peers list
 *             | exit-node enable | disable | list
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

#define NEXD_DEFAULT_SOCKET "/var/run/nexd.sock"

static const char *socket_path = NEXD_DEFAULT_SOCKET;

static int nexd_status(struct nexctl *ctx, int argc, char *argv[]);
static int nexd_version(struct nexctl *ctx, int argc, char *argv[]);
static int nexd_peers(struct nexctl *ctx, int argc, char *argv[]);
static int nexd_exit_node(struct nexctl *ctx, int argc, char *argv[]);

static const struct nexctl_subcommand nexd_commands[] = {
	{ "status", nexd_status, "nexd [--unix-socket PATH] status", "the agent's state" },
	{ "version", nexd_version, "nexd [--unix-socket PATH] version", "the agent's version" },
	{ "peers", nexd_peers, "nexd [--unix-socket PATH] peers list", "the mesh peers and their health" },
	{ "exit-node", nexd_exit_node,
	  "nexd [--unix-socket PATH] exit-node enable [--exit-node A[,B...]] [--failover] | disable | list",
	  "use an exit node of the organization, or stop; list them" },
	{ NULL, NULL, NULL, NULL },
};

static const char nexd_help[] =
	"Talks to the nexd agent of this machine through its control socket\n"
	"(root only).\n"
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
				"nexd [--unix-socket PATH] status|version|peers list|exit-node enable|disable|list",
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
