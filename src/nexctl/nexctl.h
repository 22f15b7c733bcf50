/* nexctl: what main.c shares with the command files (cmd_*.c). */
#ifndef NEXCTL_NEXCTL_H
#define NEXCTL_NEXCTL_H

#include <getopt.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "nexctl/output.h"

struct api_client;

/* Exit statuses. */
enum { NEXCTL_OK = 0, NEXCTL_ERROR = 1, NEXCTL_USAGE = 2 };

/* The global settings, from flags (before or after the command) and the
 * environment, and the API client made from them on first use. */
struct nexctl {
	const char *service_url;
	const char *token;         /* --token */
	const char *token_file;    /* --token-file */
	const char *ca_cert;
	enum out_format format;
	struct api_client *api;
};

/* The global flags: long options (and -o, -h) that every getopt loop takes. */
enum {
	NEXCTL_OPT_SERVICE_URL = 0x100,
	NEXCTL_OPT_TOKEN,
	NEXCTL_OPT_TOKEN_FILE,
	NEXCTL_OPT_CA_CERT,
	NEXCTL_OPT_VERSION,
};
#define NEXCTL_N_GLOBAL_OPTIONS 6
extern const struct option nexctl_global_options[NEXCTL_N_GLOBAL_OPTIONS + 1];
/* Applies one global option; 0, or NEXCTL_USAGE after a message. */
int nexctl_apply_global(struct nexctl *ctx, int opt, const char *arg);

/* The global flags, in the words of every usage text. */
#define NEXCTL_GLOBAL_USAGE \
	"[--service-url URL] [--token T | --token-file F] [--ca-cert F] [-o table|json|json-compact]"

/* getopt_long over a command's own options and the global ones (applied to
 * ctx here). Returns the command's option character, -1 at the end, 'h' for
 * --help, '?' after printing a usage error. argv[0] is the command's name;
 * afterwards optind indexes the first operand. */
int nexctl_getopt(struct nexctl *ctx, int argc, char *argv[], const char *shortopts,
		  const struct option *longopts);

/* The API client, made on first use from the settings; NULL after printing
 * why it cannot be made (no URL, no token, unreadable token file). */
struct api_client *nexctl_api(struct nexctl *ctx);
/* Prints the client's last error and returns NEXCTL_ERROR. */
int nexctl_api_failed(struct nexctl *ctx, const char *what);

/* Prints a new secret from the server's reply: alone on a line (table
 * format; refused unless printable ASCII), or the whole reply as JSON. Then
 * wipes it in the reply. Returns an exit status. */
int nexctl_print_secret(struct nexctl *ctx, json_t *reply, const char *key);

/* A command's own subcommands: a table like the top one. */
struct nexctl_subcommand {
	const char *name;
	int (*run)(struct nexctl *ctx, int argc, char *argv[]);
	const char *usage;  /* "org create NAME [--prefix CIDR]" */
	const char *summary;
};
/* Runs argv[1] of a command that has subcommands (argv[0] is the command);
 * prints the list for --help, none, or an unknown one. */
int nexctl_dispatch(struct nexctl *ctx, const char *command, const struct nexctl_subcommand *subs,
		    int argc, char *argv[]);
/* Prints "usage: nexctl [global flags] <usage>" and the help text to f. */
void nexctl_usage(FILE *f, const struct nexctl_subcommand *sub, const char *help);
/* Usage error: message and the usage line on stderr; returns NEXCTL_USAGE. */
int nexctl_usage_error(const struct nexctl_subcommand *sub, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* After nexctl_getopt returned '?' or an unknown option: the usage line on
 * stderr; returns NEXCTL_USAGE. */
int nexctl_bad_flags(const struct nexctl_subcommand *sub);

/* The flags of a command that takes only an optional --org NAME (and the
 * global ones) and no operands: 1 when the command must end with *status
 * (--help, a usage error), else 0 with *org set (NULL when not given). */
int nexctl_org_flag_only(struct nexctl *ctx, const struct nexctl_subcommand *sub, const char *help, int argc,
			 char *argv[], const char **org, int *status);

int cmd_org(struct nexctl *ctx, int argc, char *argv[]);
int cmd_token(struct nexctl *ctx, int argc, char *argv[]);
int cmd_whoami(struct nexctl *ctx, int argc, char *argv[]);
int cmd_regkey(struct nexctl *ctx, int argc, char *argv[]);
int cmd_device(struct nexctl *ctx, int argc, char *argv[]);
int cmd_nexd(struct nexctl *ctx, int argc, char *argv[]);

#endif
