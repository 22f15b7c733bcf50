/* nexctl reg-key create [--org NAME] [--single-use|--reusable] [--expires DURATION|never] [--auto-approve]
 *        reg-key list [--org NAME]
 *        reg-key delete ID */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "apiclient/apiclient.h"
#include "common/timeutil.h"
#include "nexctl/nexctl.h"

/* The server's limit for expires_in: one year. */
#define REGKEY_EXPIRES_MAX (365ull * 86400)

static int regkey_create(struct nexctl *ctx, int argc, char *argv[]);
static int regkey_list(struct nexctl *ctx, int argc, char *argv[]);
static int regkey_delete(struct nexctl *ctx, int argc, char *argv[]);

static const struct nexctl_subcommand regkey_commands[] = {
	{ "create", regkey_create,
	  "reg-key create [--org NAME] [--single-use|--reusable] [--expires DURATION|never] [--auto-approve]",
	  "create a registration key" },
	{ "list", regkey_list, "reg-key list [--org NAME]", "list registration keys (without the keys)" },
	{ "delete", regkey_delete, "reg-key delete ID", "revoke a registration key" },
	{ NULL, NULL, NULL, NULL },
};

static const char regkey_create_help[] =
	"Creates a registration key, with which a device (nexd) registers into the\n"
	"organization. Prints the key alone on a line (with -o json: the server's\n"
	"answer). The key is shown only once.\n"
	"  --org NAME           the organization (admin token: default \"default\";\n"
	"                       organization token: its own)\n"
	"  --reusable           the key registers any number of devices (default:\n"
	"                       one; --single-use says so explicitly)\n"
	"  --expires DURATION|never\n"
	"                       the key expires after DURATION: 90s, 15m, 24h, 7d or\n"
	"                       plain seconds (at most 365d), or never; default: 24h\n"
	"  --auto-approve       the devices enrolled with this key have what they\n"
	"                       advertise approved at once (an exit node's\n"
	"                       0.0.0.0/0: used without nexctl device approve).\n"
	"                       Give such a key only to machines you trust as exit\n"
	"                       nodes: they see their clients' traffic\n";

static const char regkey_list_help[] =
	"Lists registration keys, newest first, without their secret part.\n"
	"Columns: ID ORGANIZATION SINGLE-USE USED REVOKED EXPIRES CREATED\n"
	"AUTO-APPROVE.\n"
	"  --org NAME   only this organization's keys (admin token: default all)\n";

static const char regkey_delete_help[] =
	"Revokes the registration key ID (from reg-key list). Devices already\n"
	"registered with it stay.\n";

static int regkey_create(struct nexctl *ctx, int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "org", required_argument, NULL, 'O' },
		{ "single-use", no_argument, NULL, 'S' },
		{ "reusable", no_argument, NULL, 'R' },
		{ "expires", required_argument, NULL, 'E' },
		{ "auto-approve", no_argument, NULL, 'A' },
		{ NULL, 0, NULL, 0 },
	};
	const struct nexctl_subcommand *sub = &regkey_commands[0];
	struct api_regkey_spec spec = { 0 };
	uint64_t expires = 0;
	bool single = false;
	json_t *reply = NULL;
	int opt, r;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case 'O':
			spec.org = optarg;
			break;
		case 'S':
			single = true;
			break;
		case 'R':
			spec.reusable = true;
			break;
		case 'A':
			spec.auto_approve = true;
			break;
		case 'E':
			if (!strcmp(optarg, "never")) {
				spec.never_expires = true;
				break;
			}
			spec.never_expires = false;
			r = time_parse_duration(optarg, REGKEY_EXPIRES_MAX, &expires);
			if (r == -ERANGE)
				return nexctl_usage_error(sub, "--expires \"%s\": longer than 365d", optarg);
			if (r < 0 || expires == 0)
				return nexctl_usage_error(sub, "--expires \"%s\": not a duration "
							  "(e.g. 90s, 15m, 24h, 7d)", optarg);
			break;
		case 'h':
			nexctl_usage(stdout, sub, regkey_create_help);
			return NEXCTL_OK;
		default:
			return nexctl_bad_flags(sub);
		}
	}
	if (optind != argc)
		return nexctl_usage_error(sub, "reg-key create takes no arguments");
	if (single && spec.reusable)
		return nexctl_usage_error(sub, "--single-use and --reusable contradict each other");
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	spec.expires_in_s = expires;
	if (api_regkey_create(ctx->api, &spec, &reply) < 0)
		return nexctl_api_failed(ctx, "reg-key create");
	r = nexctl_print_secret(ctx, reply, "key");
	json_decref(reply);
	return r;
}

static const char *yes_no(const json_t *obj, const char *key)
{
	const json_t *v = json_object_get(obj, key);

	return json_is_boolean(v) ? (json_is_true(v) ? "yes" : "no") : "?";
}

static const char *const regkey_headers[] = { "ID", "ORGANIZATION", "SINGLE-USE", "USED",
					       "REVOKED", "EXPIRES", "CREATED", "AUTO-APPROVE" };

static void regkey_row(const json_t *k, const char *row[])
{
	row[0] = out_field(k, "id", "?");
	row[1] = out_field(k, "organization", "?");
	row[2] = yes_no(k, "single_use");
	row[3] = yes_no(k, "used");
	row[4] = yes_no(k, "revoked");
	row[5] = out_field(k, "expires_at", "never");
	row[6] = out_field(k, "created_at", "?");
	/* absent: a server older than auto_approve */
	row[7] = json_object_get(k, "auto_approve") ? yes_no(k, "auto_approve") : "-";
}

static int regkey_list(struct nexctl *ctx, int argc, char *argv[])
{
	const struct nexctl_subcommand *sub = &regkey_commands[1];
	const char *org;
	json_t *reply = NULL;
	int r;

	if (nexctl_org_flag_only(ctx, sub, regkey_list_help, argc, argv, &org, &r))
		return r;
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_regkey_list(ctx->api, org, &reply) < 0)
		return nexctl_api_failed(ctx, "reg-key list");
	if (ctx->format == OUT_TABLE)
		r = out_objects_table(reply, "registration key list", 8, regkey_headers, regkey_row) ? NEXCTL_ERROR
												       : NEXCTL_OK;
	else
		r = out_json(reply, ctx->format, stdout) < 0 ? NEXCTL_ERROR : NEXCTL_OK;
	json_decref(reply);
	return r;
}

static int regkey_delete(struct nexctl *ctx, int argc, char *argv[])
{
	const struct nexctl_subcommand *sub = &regkey_commands[2];
	int opt;

	while ((opt = nexctl_getopt(ctx, argc, argv, "", NULL)) != -1) {
		if (opt == 'h') {
			nexctl_usage(stdout, sub, regkey_delete_help);
			return NEXCTL_OK;
		}
		return nexctl_bad_flags(sub);
	}
	if (optind + 1 != argc)
		return nexctl_usage_error(sub, "reg-key delete takes one ID");
	if (!nexctl_api(ctx))
		return NEXCTL_ERROR;
	if (api_regkey_delete(ctx->api, argv[optind]) < 0)
		return nexctl_api_failed(ctx, "reg-key delete");
	if (ctx->format == OUT_TABLE)
		printf("registration key %s revoked\n", argv[optind]);
	return NEXCTL_OK;
}

int cmd_regkey(struct nexctl *ctx, int argc, char *argv[])
{
	return nexctl_dispatch(ctx, "reg-key", regkey_commands, argc, argv);
}
