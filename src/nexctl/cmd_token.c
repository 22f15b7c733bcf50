/* nexctl token create --org NAME [--expires DURATION|never] | token list
 * [--org NAME] | token revoke ID, and nexctl whoami. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "apiclient/apiclient.h"
#include "common/timeutil.h"
#include "nexctl/nexctl.h"

#define TOKEN_EXPIRES_MAX (365ULL * 86400)

static int token_create(struct nexctl *ctx, int argc, char *argv[]);
static int token_list(struct nexctl *ctx, int argc, char *argv[]);
static int token_revoke(struct nexctl *ctx, int argc, char *argv[]);

static const struct nexctl_subcommand token_commands[] = {
	{ "create", token_create, "token create --org NAME [--expires DURATION|never]",
	  "create a token for one organization (admin token)" },
	{ "list", token_list, "token list [--org NAME]", "list organization tokens (without their secret)" },
	{ "revoke", token_revoke, "token revoke ID", "revoke an organization token" },
	{ NULL, NULL, NULL, NULL },
};

static const char token_create_help[] =
	"Creates an organization token: it acts on organization NAME only. Needs an\n"
	"admin token. Prints the new token alone on a line (with -o json: the\n"
	"server's answer, {\"id\", \"organization\", \"created_at\", \"expires_at\",\n"
	"\"token\"}). It is shown only once.\n"
	"  --org NAME                 the organization (required)\n"
	"  --expires DURATION|never   the token stops working after DURATION: 90s, 15m,\n"
	"                             24h, 7d or plain seconds (at most 365d); default:\n"
	"                             never\n";

static const char token_list_help[] =
	"Lists organization tokens, newest first, without their secret part.\n"
	"Columns: ID ORGANIZATION CREATED EXPIRES.\n"
	"  --org NAME   only this organization's (admin token: default all; an\n"
	"               organization token sees its own organization's)\n";

static const char token_revoke_help[] =
	"Revokes the organization token ID (from token list): requests with it are\n"
	"refused from now on. An admin revokes any; an organization token those of\n"
	"its organization (itself included).\n";

static int token_create(struct nexctl *ctx, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "org", required_argument, NULL, 'O' },
		{ "expires", required_argument, NULL, 'E' },
		{ NULL, 0, NULL, 0 },
	};
	const struct nexctl_subcommand *sub = &token_commands[0];
	const char *org = NULL;
	uint64_t expires = 0;
	json_t *reply = NULL;
	int opt, r;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case 'O':
			org = optarg;
			break;
		case 'E':
			if (!strcmp(optarg, "never")) {
				expires = 0;
				break;
			}
			r = time_parse_duration(optarg, TOKEN_EXPIRES_MAX, &expires);
			if (r == -ERANGE)
				return nexctl_usage_error(sub, "--expires \"%s\": longer than 365d", optarg);
			if (r < 0 || expires == 0)
				return nexctl_usage_error(sub, "--expires \"%s\": not a duration "
							  "(e.g. 90s, 15m, 24h, 7d) or never", optarg);
			break;
		case 'h':
			nexctl_usage(stdout, sub, token_create_help);
			return NEXCTL_OK;
		default:
			return nexctl_bad_flags(sub);
		}
	}
	if (optind != argc)
		return nexctl_usage_error(sub, "token create takes no arguments");
	if (!org)
		return nexctl_usage_error(sub, "token create needs --org NAME");
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_token_create(ctx->api, org, expires, &reply) < 0)
		return nexctl_api_failed(ctx, "token create");
	r = nexctl_print_secret(ctx, reply, "token");
	json_decref(reply);
	return r;
}

static const char *const token_headers[] = { "ID", "ORGANIZATION", "CREATED", "EXPIRES" };

static void token_row(const json_t *k, const char *row[])
{
	row[0] = out_field(k, "id", "?");
	row[1] = out_field(k, "organization", "?");
	row[2] = out_field(k, "created_at", "?");
	row[3] = out_field(k, "expires_at", "never");
}

static int token_list(struct nexctl *ctx, int argc, char *argv[])
{
	const struct nexctl_subcommand *sub = &token_commands[1];
	const char *org;
	json_t *reply = NULL;
	int r;

	if (nexctl_org_flag_only(ctx, sub, token_list_help, argc, argv, &org, &r))
		return r;
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_token_list(ctx->api, org, &reply) < 0)
		return nexctl_api_failed(ctx, "token list");
	if (ctx->format == OUT_TABLE)
		r = out_objects_table(reply, "token list", 4, token_headers, token_row) ? NEXCTL_ERROR : NEXCTL_OK;
	else
		r = out_json(reply, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
	json_decref(reply);
	return r;
}

static int token_revoke(struct nexctl *ctx, int argc, char *argv[])
{
	const struct nexctl_subcommand *sub = &token_commands[2];
	int opt;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", NULL)) != -1) {
		if (opt == 'h') {
			nexctl_usage(stdout, sub, token_revoke_help);
			return NEXCTL_OK;
		}
		return nexctl_bad_flags(sub);
	}
	if (optind + 1 != argc)
		return nexctl_usage_error(sub, "token revoke takes one ID");
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_token_revoke(ctx->api, argv[optind]) < 0)
		return nexctl_api_failed(ctx, "token revoke");
	if (ctx->format == OUT_TABLE)
		printf("organization token %s revoked\n", argv[optind]);
	return NEXCTL_OK;
}

int cmd_token(struct nexctl *ctx, int argc, char *argv[])
{
	return nexctl_dispatch(ctx, "token", token_commands, argc, argv);
}

/* nexctl whoami: what the token in use is. */
int cmd_whoami(struct nexctl *ctx, int argc, char *argv[])
{
	static const struct nexctl_subcommand sub = { "whoami", cmd_whoami, "whoami",
						      "what the token in use is" };
	json_t *reply = NULL;
	int opt, r = NEXCTL_OK;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", NULL)) != -1) {
		if (opt == 'h') {
			nexctl_usage(stdout, &sub, "Shows the kind of the token in use (admin, organization, device),\n"
						   "its id, organization, device and expiry.\n");
			return NEXCTL_OK;
		}
		return nexctl_bad_flags(&sub);
	}
	if (optind != argc)
		return nexctl_usage_error(&sub, "whoami takes no arguments");
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_whoami(ctx->api, &reply, NULL) < 0)
		return nexctl_api_failed(ctx, "whoami");
	if (ctx->format == OUT_TABLE) {
		printf("kind: %s\n", out_field(reply, "kind", "?"));
		printf("token: %s\n", out_field(reply, "token_id", "?"));
		if (json_object_get(reply, "organization"))
			printf("organization: %s\n", out_field(reply, "organization", "?"));
		if (json_object_get(reply, "device_id"))
			printf("device: %s\n", out_field(reply, "device_id", "?"));
		printf("expires: %s\n", out_field(reply, "expires_at", "never"));
	} else {
		r = out_json(reply, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
	}
	json_decref(reply);
	return r;
}
