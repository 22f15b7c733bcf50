/* nexctl org list
 *        org create NAME [--prefix CIDR] [--prefix6 CIDR6] [--exit-node-approval auto|admin]
 *        org update NAME-OR-ID --exit-node-approval auto|admin */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient/apiclient.h"
#include "nexctl/nexctl.h"

static int org_list(struct nexctl *ctx, int argc, char *argv[]);
static int org_create(struct nexctl *ctx, int argc, char *argv[]);
static int org_update(struct nexctl *ctx, int argc, char *argv[]);

static const struct nexctl_subcommand org_commands[] = {
	{ "list", org_list, "org list", "list the organizations the token can see" },
	{ "create", org_create,
	  "org create NAME [--prefix CIDR] [--prefix6 CIDR6] [--exit-node-approval auto|admin]",
	  "create an organization (admin token)" },
	{ "update", org_update, "org update NAME-OR-ID --exit-node-approval auto|admin",
	  "change how an organization approves exit nodes" },
	{ NULL, NULL, NULL, NULL },
};

static const char org_list_help[] =
	"Lists the organizations: every one for an admin token, its own for an\n"
	"organization token. Columns: NAME PREFIX PREFIX6 ID CREATED\n"
	"EXIT-NODE-APPROVAL (PREFIX6 \"-\": no IPv6 tunnel addresses;\n"
	"EXIT-NODE-APPROVAL: admin or auto, see org update --help).\n";

static const char org_create_help[] =
	"Creates the organization NAME ([a-z0-9][a-z0-9-]{0,62}); needs an admin token.\n"
	"  --prefix CIDR   the IPv4 prefix its tunnel addresses come from\n"
	"                  (default 100.100.0.0/16)\n"
	"  --prefix6 CIDR6 an IPv6 /64 (host bits zero) for IPv6 tunnel addresses:\n"
	"                  each device gets CIDR6 with the low 32 bits of its IPv4\n"
	"                  tunnel address (default: none)\n"
	"  --exit-node-approval auto|admin\n"
	"                  admin (default): a prefix a device advertises (an exit\n"
	"                  node's 0.0.0.0/0) is used once an admin approves it\n"
	"                  (nexctl device approve); auto: as soon as advertised\n";

static const char org_update_help[] =
	"Changes the organization NAME-OR-ID (its name or id). Needs an admin token,\n"
	"or an organization token for its own organization.\n"
	"  --exit-node-approval auto|admin\n"
	"                  admin: advertised prefixes (an exit node's 0.0.0.0/0) are\n"
	"                  used once approved (nexctl device approve); auto: approved\n"
	"                  as advertised, from each device's next registration or\n"
	"                  change of what it advertises. Switching changes no approval\n"
	"                  already made or missing: approve those by hand.\n"
	"Shows the organization as changed.\n";

/* --exit-node-approval: "auto" or "admin"; NULL otherwise. */
static const char *approval_arg(const char *arg)
{
	if (!strcmp(arg, "auto"))
		return "auto";
	if (!strcmp(arg, "admin"))
		return "admin";
	return NULL;
}

static void org_row(const json_t *org, const char *row[])
{
	row[0] = out_field(org, "name", "?");
	row[1] = out_field(org, "prefix", "?");
	row[2] = out_field(org, "prefix6", "-");   /* null, or absent (an older server) */
	row[3] = out_field(org, "id", "?");
	row[4] = out_field(org, "created_at", "?");
	row[5] = out_field(org, "exit_node_approval", "-");
}

/* The table of an array of organizations. */
static int print_orgs(const json_t *arr)
{
	static const char *const headers[] = { "NAME", "PREFIX", "PREFIX6", "ID", "CREATED",
					       "EXIT-NODE-APPROVAL" };

	return out_objects_table(arr, "organization list", 6, headers, org_row) ? NEXCTL_ERROR : NEXCTL_OK;
}

static int org_list(struct nexctl *ctx, int argc, char *argv[])
{
	const struct nexctl_subcommand *sub = &org_commands[0];
	json_t *reply = NULL;
	int opt, r;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", NULL)) != -1) {
		if (opt == 'h') {
			nexctl_usage(stdout, sub, org_list_help);
			return NEXCTL_OK;
		}
		return nexctl_bad_flags(sub);
	}
	if (optind != argc)
		return nexctl_usage_error(sub, "org list takes no arguments");
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_org_list(ctx->api, &reply) < 0)
		return nexctl_api_failed(ctx, "org list");
	if (ctx->format == OUT_TABLE)
		r = print_orgs(reply);
	else
		r = out_json(reply, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
	json_decref(reply);
	return r;
}

/* One organization reply, as a one-row table or as JSON. */
static int show_org(struct nexctl *ctx, json_t *reply)
{
	json_t *one;
	int r;

	if (ctx->format != OUT_TABLE)
		return out_json(reply, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
	one = json_pack("[O]", reply);
	r = one ? print_orgs(one) : NEXCTL_ERROR;
	json_decref(one);
	return r;
}

static int org_create(struct nexctl *ctx, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "prefix6", required_argument, NULL, '6' },
		{ "exit-node-approval", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	const struct nexctl_subcommand *sub = &org_commands[1];
	const char *prefix = NULL, *prefix6 = NULL, *approval = NULL;
	json_t *reply = NULL;
	int opt, r;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case 'p':
			prefix = optarg;
			break;
		case '6':
			prefix6 = optarg;
			break;
		case 'A':
			approval = approval_arg(optarg);
			if (!approval)
				return nexctl_usage_error(sub, "--exit-node-approval: \"%s\" is not auto or admin",
							  optarg);
			break;
		case 'h':
			nexctl_usage(stdout, sub, org_create_help);
			return NEXCTL_OK;
		default:
			return nexctl_bad_flags(sub);
		}
	}
	if (optind + 1 != argc)
		return nexctl_usage_error(sub, "org create takes one NAME");
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_org_create(ctx->api, argv[optind], prefix, prefix6, approval, &reply) < 0)
		return nexctl_api_failed(ctx, "org create");
	r = show_org(ctx, reply);
	json_decref(reply);
	return r;
}

static int org_update(struct nexctl *ctx, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "exit-node-approval", required_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	const struct nexctl_subcommand *sub = &org_commands[2];
	const char *approval = NULL;
	json_t *reply = NULL;
	int opt, r;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case 'A':
			approval = approval_arg(optarg);
			if (!approval)
				return nexctl_usage_error(sub, "--exit-node-approval: \"%s\" is not auto or admin",
							  optarg);
			break;
		case 'h':
			nexctl_usage(stdout, sub, org_update_help);
			return NEXCTL_OK;
		default:
			return nexctl_bad_flags(sub);
		}
	}
	if (optind + 1 != argc)
		return nexctl_usage_error(sub, "org update takes one NAME-OR-ID");
	if (!approval)
		return nexctl_usage_error(sub, "nothing to change: give --exit-node-approval auto|admin");
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_org_update(ctx->api, argv[optind], approval, &reply) < 0)
		return nexctl_api_failed(ctx, "org update");
	r = show_org(ctx, reply);
	json_decref(reply);
	return r;
}

int cmd_org(struct nexctl *ctx, int argc, char *argv[])
{
	return nexctl_dispatch(ctx, "org", org_commands, argc, argv);
}
