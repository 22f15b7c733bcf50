/* nexctl org list | org create NAME [--prefix CIDR] [--prefix6 CIDR6] */
#include <jansson.h>
#include <stdlib.h>

#include "apiclient/apiclient.h"
#include "nexctl/nexctl.h"

static int org_list(struct nexctl *ctx, int argc, char *argv[]);
static int org_create(struct nexctl *ctx, int argc, char *argv[]);

static const struct nexctl_subcommand org_commands[] = {
	{ "list", org_list, "org list", "list the organizations the token can see" },
	{ "create", org_create, "org create NAME [--prefix CIDR] [--prefix6 CIDR6]",
	  "create an organization (admin token)" },
	{ NULL, NULL, NULL, NULL },
};

static const char org_list_help[] =
	"Lists the organizations: every one for an admin token, its own for an\n"
	"organization token. Columns: NAME PREFIX PREFIX6 ID CREATED (PREFIX6 \"-\":\n"
	"no IPv6 tunnel addresses).\n";

static const char org_create_help[] =
	"Creates the organization NAME ([a-z0-9][a-z0-9-]{0,62}); needs an admin token.\n"
	"  --prefix CIDR   the IPv4 prefix its tunnel addresses come from\n"
	"                  (default 100.100.0.0/16)\n"
	"  --prefix6 CIDR6 an IPv6 /64 (host bits zero) for IPv6 tunnel addresses:\n"
	"                  each device gets CIDR6 with the low 32 bits of its IPv4\n"
	"                  tunnel address (default: none)\n";

static const char *text_field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : "?";
}

/* A string, "-" for null or absent (an older server), else "?". */
static const char *opt_text_field(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	if (!v || json_is_null(v))
		return "-";
	return text_field(obj, key);
}

/* The table of an array of organizations; -EBADMSG if it holds something else. */
static int print_orgs(const json_t *arr)
{
	static const char *const headers[] = { "NAME", "PREFIX", "PREFIX6", "ID", "CREATED" };
	struct out_table *t = out_table_new(5, headers);
	size_t i;
	json_t *org;
	int r = 0;

	if (!t)
		return NEXCTL_ERROR;
	json_array_foreach(arr, i, org) {
		const char *row[5];

		if (!json_is_object(org)) {
			out_error("the server's organization list holds a non-object");
			r = NEXCTL_ERROR;
			goto out;
		}
		row[0] = text_field(org, "name");
		row[1] = text_field(org, "prefix");
		row[2] = opt_text_field(org, "prefix6");
		row[3] = text_field(org, "id");
		row[4] = text_field(org, "created_at");
		if (out_table_add(t, row) < 0) {
			out_error("out of memory");
			r = NEXCTL_ERROR;
			goto out;
		}
	}
	out_table_print(t, stdout);
out:
	out_table_free(t);
	return r;
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

static int org_create(struct nexctl *ctx, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "prefix", required_argument, NULL, 'p' },
		{ "prefix6", required_argument, NULL, '6' },
		{ NULL, 0, NULL, 0 },
	};
	const struct nexctl_subcommand *sub = &org_commands[1];
	const char *prefix = NULL, *prefix6 = NULL;
	json_t *reply = NULL, *one;
	int opt, r;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case 'p':
			prefix = optarg;
			break;
		case '6':
			prefix6 = optarg;
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
	if (api_org_create(ctx->api, argv[optind], prefix, prefix6, &reply) < 0)
		return nexctl_api_failed(ctx, "org create");
	if (ctx->format == OUT_TABLE) {
		one = json_pack("[O]", reply);
		r = one ? print_orgs(one) : NEXCTL_ERROR;
		json_decref(one);
	} else {
		r = out_json(reply, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
	}
	json_decref(reply);
	return r;
}

int cmd_org(struct nexctl *ctx, int argc, char *argv[])
{
	return nexctl_dispatch(ctx, "org", org_commands, argc, argv);
}
