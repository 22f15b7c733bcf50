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
	static const struct option opts[] = {
		{ "org", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	const struct nexctl_subcommand *sub = &token_commands[0];
	const char *org = NULL;
	json_t *reply = NULL;
	int opt, r;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case 'O':
			org = optarg;
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
