/* nexctl device list [--org NAME] | device get ID | device delete ID
 *        device update ID [--exit-node-client on|off] [--hostname NAME]
 *        device approve ID [--cidr C ...] | device unapprove ID [--cidr C ...]
 * Device replies are validated (apiclient/device.h) before they are shown. */
#include <arpa/inet.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "apiclient/apiclient.h"
#include "nexctl/nexctl.h"

static int device_list(struct nexctl *ctx, int argc, char *argv[]);
static int device_get(struct nexctl *ctx, int argc, char *argv[]);
static int device_delete(struct nexctl *ctx, int argc, char *argv[]);
static int device_update(struct nexctl *ctx, int argc, char *argv[]);
static int device_approve(struct nexctl *ctx, int argc, char *argv[]);
static int device_unapprove(struct nexctl *ctx, int argc, char *argv[]);

static const struct nexctl_subcommand device_commands[] = {
	{ "list", device_list, "device list [--org NAME]", "list an organization's devices" },
	{ "get", device_get, "device get ID", "show one device" },
	{ "delete", device_delete, "device delete ID", "delete a device, releasing its address" },
	{ "update", device_update, "device update ID [--exit-node-client on|off] [--hostname NAME]",
	  "change a device's exit-node subscription or name" },
	{ "approve", device_approve, "device approve ID [--cidr C ...]",
	  "approve what a device advertises (e.g. as an exit node)" },
	{ "unapprove", device_unapprove, "device unapprove ID [--cidr C ...]",
	  "withdraw approvals of a device" },
	{ NULL, NULL, NULL, NULL },
};

static const char device_list_help[] =
	"Lists the devices of an organization, by tunnel address.\n"
	"Columns: ID HOSTNAME TUNNEL-IP TUNNEL-IP6 PUBLIC-KEY ONLINE EXIT-NODE EXIT-CLIENT\n"
	"LAST-SEEN (TUNNEL-IP6 \"-\": its organization has no prefix6; EXIT-NODE:\n"
	"\"yes\" when the device advertises 0.0.0.0/0 and it is approved (clients use\n"
	"it), \"pending\" when it advertises 0.0.0.0/0 not approved yet (nexctl device\n"
	"approve), \"no\" otherwise; EXIT-CLIENT: its subscription).\n"
	"With -o json: the server's {\"revision\", \"devices\"}.\n"
	"  --org NAME   the organization (admin token: default \"default\";\n"
	"               organization token: its own)\n";

static const char device_get_help[] =
	"Shows the device ID (from device list), one field a line.\n";

static const char device_delete_help[] =
	"Deletes the device ID: its tunnel address is released and its device\n"
	"tokens are revoked. Needs an admin or organization token.\n";

static const char device_approve_help[] =
	"Approves prefixes the device ID advertises: the organization's devices then\n"
	"route them through it (0.0.0.0/0, ::/0: it becomes their exit node, and\n"
	"sees their traffic). Needs an admin or organization token.\n"
	"  --cidr C   a prefix to approve, one the device advertises, canonical\n"
	"             (no host bits set); may be repeated (at most 64). Default:\n"
	"             everything the device advertises now\n"
	"Shows the device as changed (approved_cidrs).\n";

static const char device_unapprove_help[] =
	"Withdraws approvals of the device ID: its clients stop using it for those\n"
	"prefixes at once (an exit node's clients fail over, or fail closed). Needs\n"
	"an admin or organization token.\n"
	"  --cidr C   a prefix to unapprove; may be repeated (at most 64). Default:\n"
	"             every approval of the device\n"
	"Shows the device as changed (approved_cidrs).\n";

static const char device_update_help[] =
	"Changes the device ID. Needs an admin or organization token. At least one of:\n"
	"  --exit-node-client on|off   whether the device should send its traffic\n"
	"                              through an exit node of the organization\n"
	"  --hostname NAME             its name (1-253 of [A-Za-z0-9._-])\n"
	"Shows the device as changed.\n";

static void tunnel_ip_text(const struct api_device *d, char out[INET6_ADDRSTRLEN])
{
	if (!inet_ntop(d->tunnel_family, d->tunnel_ip, out, INET6_ADDRSTRLEN))
		snprintf(out, INET6_ADDRSTRLEN, "?");
}

/* "-" when the device has no IPv6 tunnel address. */
static void tunnel_ip6_text(const struct api_device *d, char out[INET6_ADDRSTRLEN])
{
	if (!d->has_tunnel_ip6 || !inet_ntop(AF_INET6, d->tunnel_ip6, out, INET6_ADDRSTRLEN))
		snprintf(out, INET6_ADDRSTRLEN, "-");
}

/* "yes" (advertised and approved), pending (advertised only), "no". */
static const char *exit_node_text(const struct api_device *d, const char *pending)
{
	if (api_device_is_exit_node(d))
		return "yes";
	return api_device_exit_pending(d) ? pending : "no";
}

static void last_seen_text(const struct api_device *d, char out[API_TIME_STRLEN])
{
	if (d->last_seen < 0)
		snprintf(out, API_TIME_STRLEN, "never");
	else
		api_time_format(d->last_seen, out);
}

static int print_device_table(const struct api_device_list *l)
{
	static const char *const headers[] = { "ID", "HOSTNAME", "TUNNEL-IP", "TUNNEL-IP6",
					       "PUBLIC-KEY", "ONLINE", "EXIT-NODE", "EXIT-CLIENT",
					       "LAST-SEEN" };
	struct out_table *t = out_table_new(9, headers);
	int r = NEXCTL_OK;

	if (!t)
		return NEXCTL_ERROR;
	for (size_t i = 0; i < l->n_devices; i++) {
		const struct api_device *d = &l->devices[i];
		char ip[INET6_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN], key[KEY_B64_LEN + 1];
		char seen[API_TIME_STRLEN];
		const char *row[9];

		tunnel_ip_text(d, ip);
		tunnel_ip6_text(d, ip6);
		key_to_base64(key, d->public_key);
		last_seen_text(d, seen);
		row[0] = d->id;
		row[1] = d->hostname;
		row[2] = ip;
		row[3] = ip6;
		row[4] = key;
		row[5] = d->online ? "yes" : "no";
		row[6] = exit_node_text(d, "pending");
		row[7] = d->exit_node_client ? "on" : "off";
		row[8] = seen;
		if (out_table_add(t, row) < 0) {
			out_error("out of memory");
			r = NEXCTL_ERROR;
			break;
		}
	}
	if (r == NEXCTL_OK)
		out_table_print(t, stdout);
	out_table_free(t);
	return r;
}

/* A list of endpoints or CIDRs on one line, ", " apart. */
static void join_endpoints(const struct api_device *d, char *out, size_t cap)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < d->n_endpoints && o < cap; i++) {
		char a[ADDR_ENDPOINT_STRLEN];
		int n;

		addr_endpoint_format(&d->endpoints[i].addr, a);
		n = snprintf(out + o, cap - o, "%s%s (%s)", i ? ", " : "", a,
			     api_endpoint_source_name(d->endpoints[i].source));
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

/* "-" for none. */
static void join_cidrs(const struct cidr *cidrs, size_t count, char *out, size_t cap)
{
	size_t o = 0;

	snprintf(out, cap, "%s", count ? "" : "-");
	for (size_t i = 0; i < count && o < cap; i++) {
		char c[ADDR_CIDR_STRLEN];
		int n;

		cidr_format(&cidrs[i], c);
		n = snprintf(out + o, cap - o, "%s%s", i ? ", " : "", c);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

static int print_device(const struct api_device *d)
{
	static const char *const headers[] = { "FIELD", "VALUE" };
	char ip[INET6_ADDRSTRLEN], ip6[INET6_ADDRSTRLEN], key[KEY_B64_LEN + 1];
	char seen[API_TIME_STRLEN], created[API_TIME_STRLEN], revision[24];
	char endpoints[API_MAX_ENDPOINTS * (ADDR_ENDPOINT_STRLEN + 12)];
	char cidrs[API_MAX_ADVERTISE_CIDRS * (ADDR_CIDR_STRLEN + 2)];
	char approved[API_MAX_ADVERTISE_CIDRS * (ADDR_CIDR_STRLEN + 2)];
	struct out_table *t = out_table_new(2, headers);
	int r = NEXCTL_OK;

	if (!t)
		return NEXCTL_ERROR;
	tunnel_ip_text(d, ip);
	tunnel_ip6_text(d, ip6);
	key_to_base64(key, d->public_key);
	last_seen_text(d, seen);
	api_time_format(d->created_at, created);
	snprintf(revision, sizeof(revision), "%llu", (unsigned long long)d->revision);
	join_endpoints(d, endpoints, sizeof(endpoints));
	join_cidrs(d->advertise_cidrs, d->n_advertise_cidrs, cidrs, sizeof(cidrs));
	join_cidrs(d->approved_cidrs, d->n_approved_cidrs, approved, sizeof(approved));
	{
		const char *rows[][2] = {
			{ "id", d->id },
			{ "organization", d->organization },
			{ "hostname", d->hostname },
			{ "tunnel_ip", ip },
			{ "tunnel_ip6", ip6 },
			{ "public_key", key },
			{ "endpoints", endpoints },
			{ "advertise_cidrs", cidrs },
			{ "approved_cidrs", approved },
			{ "exit_node", exit_node_text(d, "pending approval") },
			{ "exit_node_client", d->exit_node_client ? "on" : "off" },
			{ "exit_node_status", d->exit_node_status },
			{ "os", d->os },
			{ "version", d->version },
			{ "online", d->online ? "yes" : "no" },
			{ "last_seen", seen },
			{ "revision", revision },
			{ "created_at", created },
		};
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			if (out_table_add(t, rows[i]) < 0) {
				out_error("out of memory");
				r = NEXCTL_ERROR;
				break;
			}
		}
	}
	if (r == NEXCTL_OK)
		out_table_print(t, stdout);
	out_table_free(t);
	return r;
}

static int device_list(struct nexctl *ctx, int argc, char *argv[])
{
	const struct nexctl_subcommand *sub = &device_commands[0];
	const char *org;
	struct api_device_list list;
	json_t *reply = NULL;
	int r;

	if (nexctl_org_flag_only(ctx, sub, device_list_help, argc, argv, &org, &r))
		return r;
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_device_list(ctx->api, org, &reply, &list) < 0)
		return nexctl_api_failed(ctx, "device list");
	if (ctx->format == OUT_TABLE)
		r = print_device_table(&list);
	else
		r = out_json(reply, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
	api_device_list_free(&list);
	json_decref(reply);
	return r;
}

/* Shows a device reply in the format asked for. */
static int show_device(struct nexctl *ctx, json_t *reply, const struct api_device *d)
{
	if (ctx->format == OUT_TABLE)
		return print_device(d);
	return out_json(reply, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
}

/* The flags of a command taking only ID. */
static int id_only(struct nexctl *ctx, const struct nexctl_subcommand *sub, const char *help,
		   int argc, char *argv[], int *status)
{
	int opt;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", NULL)) != -1) {
		if (opt == 'h') {
			nexctl_usage(stdout, sub, help);
			*status = NEXCTL_OK;
			return -1;
		}
		*status = nexctl_bad_flags(sub);
		return -1;
	}
	if (optind + 1 != argc) {
		*status = nexctl_usage_error(sub, "%s takes one ID", sub->usage);
		return -1;
	}
	return 0;
}

static int device_get(struct nexctl *ctx, int argc, char *argv[])
{
	struct api_device d;
	json_t *reply = NULL;
	int r;

	if (id_only(ctx, &device_commands[1], device_get_help, argc, argv, &r) < 0)
		return r;
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_device_get(ctx->api, argv[optind], &reply, &d) < 0)
		return nexctl_api_failed(ctx, "device get");
	r = show_device(ctx, reply, &d);
	api_device_free(&d);
	json_decref(reply);
	return r;
}

static int device_delete(struct nexctl *ctx, int argc, char *argv[])
{
	int r;

	if (id_only(ctx, &device_commands[2], device_delete_help, argc, argv, &r) < 0)
		return r;
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_device_delete(ctx->api, argv[optind]) < 0)
		return nexctl_api_failed(ctx, "device delete");
	if (ctx->format == OUT_TABLE)
		printf("device %s deleted\n", argv[optind]);
	return NEXCTL_OK;
}

static int device_update(struct nexctl *ctx, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "exit-node-client", required_argument, NULL, 'X' },
		{ "hostname", required_argument, NULL, 'H' },
		{ NULL, 0, NULL, 0 },
	};
	const struct nexctl_subcommand *sub = &device_commands[3];
	json_t *patch, *reply = NULL;
	struct api_device d;
	int opt, r = NEXCTL_ERROR;

	patch = json_object();
	if (!patch) {
		out_error("out of memory");
		return NEXCTL_ERROR;
	}
	while ((opt = nexctl_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case 'X':
			if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
				r = nexctl_usage_error(sub, "--exit-node-client: \"%s\" is not on or off",
						       optarg);
				goto out;
			}
			json_object_set_new(patch, "exit_node_client", json_boolean(!strcmp(optarg, "on")));
			break;
		case 'H':
			if (json_object_set_new(patch, "hostname", json_string(optarg))) {
				r = nexctl_usage_error(sub, "--hostname: not UTF-8");
				goto out;
			}
			break;
		case 'h':
			nexctl_usage(stdout, sub, device_update_help);
			r = NEXCTL_OK;
			goto out;
		default:
			r = nexctl_bad_flags(sub);
			goto out;
		}
	}
	if (optind + 1 != argc) {
		r = nexctl_usage_error(sub, "device update takes one ID");
		goto out;
	}
	if (json_object_size(patch) == 0) {
		r = nexctl_usage_error(sub, "nothing to change: give --exit-node-client or --hostname");
		goto out;
	}
	if (!nexctl_api(ctx))
		goto out;
	if (api_device_patch(ctx->api, argv[optind], patch, &reply, &d) < 0) {
		r = nexctl_api_failed(ctx, "device update");
		goto out;
	}
	r = show_device(ctx, reply, &d);
	api_device_free(&d);
	json_decref(reply);
out:
	json_decref(patch);
	return r;
}

/* device approve|unapprove ID [--cidr C ...] */
static int approval(struct nexctl *ctx, int argc, char *argv[], const struct nexctl_subcommand *sub,
		    const char *help, bool approve)
{
	static const struct option opts[] = {
		{ "cidr", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct cidr cidrs[API_MAX_ADVERTISE_CIDRS];
	size_t n = 0;
	json_t *reply = NULL;
	struct api_device d;
	int opt, r;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", opts)) != -1) {
		struct cidr canonical;
		char want[ADDR_CIDR_STRLEN];

		switch (opt) {
		case 'c':
			if (n == API_MAX_ADVERTISE_CIDRS)
				return nexctl_usage_error(sub, "--cidr: more than %d", API_MAX_ADVERTISE_CIDRS);
			if (strlen(optarg) >= ADDR_CIDR_STRLEN || cidr_parse(optarg, &cidrs[n]) < 0)
				return nexctl_usage_error(sub, "--cidr \"%s\": not a CIDR (e.g. 0.0.0.0/0)", optarg);
			canonical = cidrs[n];
			cidr_normalize(&canonical);
			if (memcmp(canonical.addr, cidrs[n].addr, sizeof(canonical.addr))) {
				cidr_format(&canonical, want);
				return nexctl_usage_error(sub, "--cidr \"%s\": not canonical (host bits set); %s is",
							  optarg, want);
			}
			n++;
			break;
		case 'h':
			nexctl_usage(stdout, sub, help);
			return NEXCTL_OK;
		default:
			return nexctl_bad_flags(sub);
		}
	}
	if (optind + 1 != argc)
		return nexctl_usage_error(sub, "device %s takes one ID", sub->name);
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	r = approve ? api_device_approve(ctx->api, argv[optind], cidrs, n, &reply, &d)
		    : api_device_unapprove(ctx->api, argv[optind], cidrs, n, &reply, &d);
	if (r < 0)
		return nexctl_api_failed(ctx, approve ? "device approve" : "device unapprove");
	r = show_device(ctx, reply, &d);
	api_device_free(&d);
	json_decref(reply);
	return r;
}

static int device_approve(struct nexctl *ctx, int argc, char *argv[])
{
	return approval(ctx, argc, argv, &device_commands[4], device_approve_help, true);
}

static int device_unapprove(struct nexctl *ctx, int argc, char *argv[])
{
	return approval(ctx, argc, argv, &device_commands[5], device_unapprove_help, false);
}

int cmd_device(struct nexctl *ctx, int argc, char *argv[])
{
	return nexctl_dispatch(ctx, "device", device_commands, argc, argv);
}
