/* nexctl: the command line of nexodus. main() reads the global flags, then
 * runs one command of the table below; each command lives in its own file
 * (cmd_*.c), the shared machinery in context.c. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient/apiclient.h"
#include "common/log.h"
#include "common/version.h"
#include "nexctl/nexctl.h"

static const struct {
	const char *name;
	int (*run)(struct nexctl *ctx, int argc, char *argv[]);
	const char *summary;
} commands[] = {
	{ "org", cmd_org, "list, create and update organizations" },
	{ "token", cmd_token, "create, list and revoke organization tokens" },
	{ "whoami", cmd_whoami, "what the token in use is" },
	{ "reg-key", cmd_regkey, "create, list and revoke registration keys" },
	{ "device", cmd_device, "list, show, update, approve and delete devices" },
	{ "nexd", cmd_nexd, "the local agent: status, peers, exit node, proxy rules (root, or the proxy's user)" },
};

static void print_main_usage(FILE *f)
{
	fprintf(f, "usage: nexctl " NEXCTL_GLOBAL_USAGE " COMMAND [ARGS]\n"
		   "       nexctl --version\n\n"
		   "Commands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\nGlobal flags (before or after the command):\n"
		"  --service-url URL   the API server, e.g. https://api.example:8443 (env NEXCTL_SERVICE_URL)\n"
		"  --token T           the bearer token (env NEXCTL_TOKEN; visible to other users in ps:\n"
		"                      prefer --token-file or the environment)\n"
		"  --token-file F      read the token from F (its first line; mode 0600, else refused)\n"
		"  --ca-cert F         verify the server's TLS certificate with the CAs in F (PEM)\n"
		"                      (env NEXCTL_CA_CERT)\n"
		"  -o, --output FMT    table (default), json (pretty) or json-compact (one line)\n"
		"  -h, --help          this text; after a command, that command's help\n"
		"  --version           print the version\n\n"
		"Run 'nexctl COMMAND --help' for the commands' flags.\n");
}

int main(int argc, char *argv[])
{
	struct nexctl ctx = { .format = OUT_TABLE };
	struct option opts[NEXCTL_N_GLOBAL_OPTIONS + 2];
	int opt, r;

	log_init("nexctl", LOG_LEVEL_WARN);
	memcpy(opts, nexctl_global_options, NEXCTL_N_GLOBAL_OPTIONS * sizeof(opts[0]));
	opts[NEXCTL_N_GLOBAL_OPTIONS] = (struct option){ "version", no_argument, NULL, NEXCTL_OPT_VERSION };
	memset(&opts[NEXCTL_N_GLOBAL_OPTIONS + 1], 0, sizeof(opts[0]));

	/* "+": stop at the command; its own flags are its business */
	while ((opt = getopt_long(argc, argv, "+:ho:", opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			print_main_usage(stdout);
			return NEXCTL_OK;
		case NEXCTL_OPT_VERSION:
			printf("nexctl %s\n", NEXODUS_VERSION);
			return NEXCTL_OK;
		case ':':
			out_error("option %s needs a value", argv[optind - 1]);
			print_main_usage(stderr);
			return NEXCTL_USAGE;
		case '?':
			if (optopt)
				out_error("unknown option -%c", optopt);
			else
				out_error("unknown option %s", argv[optind - 1]);
			print_main_usage(stderr);
			return NEXCTL_USAGE;
		default:
			if (nexctl_apply_global(&ctx, opt, optarg))
				return NEXCTL_USAGE;
		}
	}
	if (optind >= argc) {
		out_error("which command?");
		print_main_usage(stderr);
		return NEXCTL_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (!strcmp(argv[optind], commands[i].name)) {
			char **sub_argv = argv + optind;
			int sub_argc = argc - optind;

			optind = 0; /* reinitialize getopt for the command */
			r = commands[i].run(&ctx, sub_argc, sub_argv);
			api_client_free(ctx.api);
			if (fflush(stdout) != 0 || ferror(stdout)) {
				out_error("cannot write the output: %s", strerror(errno));
				return NEXCTL_ERROR;
			}
			return r;
		}
	}
	out_error("unknown command \"%s\"", argv[optind]);
	print_main_usage(stderr);
	return NEXCTL_USAGE;
}
