/* nexctl token create --org NAME */
#include <jansson.h>
#include <stdio.h>

#include "apiclient/apiclient.h"
#include "nexctl/nexctl.h"

static int token_create(struct nexctl *ctx, int argc, char *argv[]);

static const struct nexctl_subcommand token_commands[] = {
	{ "create", token_create, "token create --org NAME",
	  "create a token for one organization (admin token)" },
	{ NULL, NULL, NULL, NULL },
};

static const char token_create_help[] =
	"Creates an organization token: it acts on organization NAME only. Needs an\n"
	"admin token. Prints the new token alone on a line (with -o json: the\n"
	"server's answer, {\"id\", \"organization\", \"token\"}). It is shown only once.\n"
	"  --org NAME   the organization (required)\n";

static int token_create(struct nexctl *ctx, int argc, char *argv[])
{
	const struct nexctl_subcommand *sub = &token_commands[0];
	const char *org;
	json_t *reply = NULL;
	int r;

	if (nexctl_org_flag_only(ctx, sub, token_create_help, argc, argv, &org, &r))
		return r;
	if (!org)
		return nexctl_usage_error(sub, "token create needs --org NAME");
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_token_create(ctx->api, org, &reply) < 0)
		return nexctl_api_failed(ctx, "token create");
	r = nexctl_print_secret(ctx, reply, "token");
	json_decref(reply);
	return r;
}

int cmd_token(struct nexctl *ctx, int argc, char *argv[])
{
	return nexctl_dispatch(ctx, "token", token_commands, argc, argv);
}
