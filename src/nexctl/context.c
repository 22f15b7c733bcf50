/* nexctl's shared machinery: the global flags (accepted before and after
 * the command), the API client made from them, the token file, usage texts
 * and the dispatch of a command's subcommands. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "apiclient/apiclient.h"
#include "nexctl/nexctl.h"

#define TOKEN_FILE_MAX API_TOKEN_MAX
#define MAX_COMMAND_OPTIONS 16

const struct option nexctl_global_options[NEXCTL_N_GLOBAL_OPTIONS + 1] = {
	{ "service-url", required_argument, NULL, NEXCTL_OPT_SERVICE_URL },
	{ "token", required_argument, NULL, NEXCTL_OPT_TOKEN },
	{ "token-file", required_argument, NULL, NEXCTL_OPT_TOKEN_FILE },
	{ "ca-cert", required_argument, NULL, NEXCTL_OPT_CA_CERT },
	{ "output", required_argument, NULL, 'o' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};
#define N_GLOBAL_OPTIONS NEXCTL_N_GLOBAL_OPTIONS

int nexctl_apply_global(struct nexctl *ctx, int opt, const char *arg)
{
	switch (opt) {
	case NEXCTL_OPT_SERVICE_URL:
		ctx->service_url = arg;
		return 0;
	case NEXCTL_OPT_TOKEN:
		ctx->token = arg;
		return 0;
	case NEXCTL_OPT_TOKEN_FILE:
		ctx->token_file = arg;
		return 0;
	case NEXCTL_OPT_CA_CERT:
		ctx->ca_cert = arg;
		return 0;
	case 'o':
		if (out_format_parse(arg, &ctx->format) < 0) {
			out_error("-o: unknown output format \"%s\" (table, json, json-compact)", arg);
			return NEXCTL_USAGE;
		}
		return 0;
	default:
		return NEXCTL_USAGE;
	}
}

int nexctl_getopt(struct nexctl *ctx, int argc, char *argv[], const char *shortopts,
		  const struct option *longopts)
{
	struct option all[MAX_COMMAND_OPTIONS + N_GLOBAL_OPTIONS + 1];
	char shorts[64];
	size_t n = 0;
	int opt;

	for (; longopts && longopts[n].name; n++) {
		if (n >= MAX_COMMAND_OPTIONS)
			abort(); /* a programming error: the table is ours */
		all[n] = longopts[n];
	}
	memcpy(all + n, nexctl_global_options, sizeof(nexctl_global_options));
	snprintf(shorts, sizeof(shorts), ":%sho:", shortopts ? shortopts : "");

	for (;;) {
		opt = getopt_long(argc, argv, shorts, all, NULL);
		switch (opt) {
		case NEXCTL_OPT_SERVICE_URL:
		case NEXCTL_OPT_TOKEN:
		case NEXCTL_OPT_TOKEN_FILE:
		case NEXCTL_OPT_CA_CERT:
		case 'o':
			if (nexctl_apply_global(ctx, opt, optarg))
				return '?';
			continue;
		case ':':
			out_error("%s: option %s needs a value", argv[0], argv[optind - 1]);
			return '?';
		case '?':
			if (optopt)
				out_error("%s: unknown option -%c", argv[0], optopt);
			else
				out_error("%s: unknown option %s", argv[0], argv[optind - 1]);
			return '?';
		default:
			return opt;
		}
	}
}

/* The token's text from a file: its first line, without the line end. */
static int read_token_file(const char *path, char **out)
{
	char buf[TOKEN_FILE_MAX + 2];
	struct stat st;
	ssize_t n;
	size_t len;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		out_error("cannot open the token file %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		out_error("the token file %s is not a regular file", path);
		r = -EINVAL;
		goto out_close;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		out_error("the token file %s can be read or changed by other users (mode %04o): "
			  "chmod 600 it", path, (unsigned)(st.st_mode & 07777));
		r = -EPERM;
		goto out_close;
	}
	len = 0;
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			out_error("cannot read the token file %s: %s", path, strerror(errno));
			goto out_wipe;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	for (size_t i = 0; i < len; i++) {
		if (buf[i] == '\n' || buf[i] == '\r') {
			len = i;
			break;
		}
	}
	if (len == 0 || len > TOKEN_FILE_MAX) {
		out_error("the token file %s %s", path, len ? "holds a line that is too long" : "is empty");
		r = -EINVAL;
		goto out_wipe;
	}
	buf[len] = '\0';
	*out = strdup(buf);
	if (!*out)
		r = -ENOMEM;
out_wipe:
	sodium_memzero(buf, sizeof(buf));
out_close:
	close(fd);
	return r;
}

struct api_client *nexctl_api(struct nexctl *ctx)
{
	struct api_client_config cfg = { 0 };
	const char *url = ctx->service_url, *token = ctx->token;
	char *file_token = NULL;
	int r;

	if (ctx->api)
		return ctx->api;
	if (!url)
		url = getenv("NEXCTL_SERVICE_URL");
	if (!url || !*url) {
		out_error("no API server: give --service-url URL or set NEXCTL_SERVICE_URL");
		return NULL;
	}
	if (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)) {
		out_error("bad service URL \"%.200s\": give https://HOST:PORT (or http:// on loopback)", url);
		return NULL;
	}
	if (ctx->token && ctx->token_file) {
		out_error("give --token or --token-file, not both");
		return NULL;
	}
	if (ctx->token_file) {
		if (read_token_file(ctx->token_file, &file_token) < 0)
			return NULL;
		token = file_token;
	}
	if (!token)
		token = getenv("NEXCTL_TOKEN");
	if (!token || !*token) {
		out_error("no token: give --token-file F or --token T, or set NEXCTL_TOKEN");
		goto out_wipe;
	}
	if (!ctx->ca_cert && getenv("NEXCTL_CA_CERT") && *getenv("NEXCTL_CA_CERT"))
		ctx->ca_cert = getenv("NEXCTL_CA_CERT");
	if (ctx->ca_cert && access(ctx->ca_cert, R_OK) < 0) {
		out_error("cannot read the CA file %s: %s", ctx->ca_cert, strerror(errno));
		goto out_wipe;
	}
	cfg.base_url = url;
	cfg.token = token;
	cfg.ca_file = ctx->ca_cert;
	r = api_client_new(&cfg, &ctx->api);
	if (r == -EINVAL)
		out_error("bad service URL \"%.200s\" (spaces or control characters), or a token "
			  "with spaces or control characters", url);
	else if (r < 0)
		out_error("cannot set up the API client: %s", strerror(-r));
	if (r == 0 && !strncmp(url, "http://", 7) &&
	    strncmp(url + 7, "127.", 4) && strncmp(url + 7, "localhost", 9) &&
	    strncmp(url + 7, "[::1]", 5))
		out_warn("the token goes to %s without TLS", url);
out_wipe:
	if (file_token) {
		sodium_memzero(file_token, strlen(file_token));
		free(file_token);
	}
	return ctx->api;
}

int nexctl_api_failed(struct nexctl *ctx, const char *what)
{
	out_error("%s: %s", what, api_client_error(ctx->api));
	return NEXCTL_ERROR;
}

void nexctl_usage(FILE *f, const struct nexctl_subcommand *sub, const char *help)
{
	fprintf(f, "usage: nexctl [global flags] %s\n", sub->usage);
	if (help)
		fprintf(f, "\n%s", help);
	if (f == stdout)
		fprintf(f, "\nGlobal flags: " NEXCTL_GLOBAL_USAGE " (see nexctl --help)\n");
}

int nexctl_usage_error(const struct nexctl_subcommand *sub, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out_error("%s", buf);
	nexctl_usage(stderr, sub, NULL);
	return NEXCTL_USAGE;
}

int nexctl_bad_flags(const struct nexctl_subcommand *sub)
{
	nexctl_usage(stderr, sub, NULL);
	return NEXCTL_USAGE;
}

int nexctl_org_flag_only(struct nexctl *ctx, const struct nexctl_subcommand *sub, const char *help, int argc,
			 char *argv[], const char **org, int *status)
{
	static const struct option opts[] = {
		{ "org", required_argument, NULL, 'O' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	*org = NULL;
	while ((opt = nexctl_getopt(ctx, argc, argv, "", opts)) != -1) {
		switch (opt) {
		case 'O':
			*org = optarg;
			break;
		case 'h':
			nexctl_usage(stdout, sub, help);
			*status = NEXCTL_OK;
			return 1;
		default:
			*status = nexctl_bad_flags(sub);
			return 1;
		}
	}
	if (optind != argc) {
		/* "device list [--org NAME]" -> "device list" */
		int n = (int)strcspn(sub->usage, "[");

		while (n > 0 && sub->usage[n - 1] == ' ')
			n--;
		*status = nexctl_usage_error(sub, "%.*s takes no arguments", n, sub->usage);
		return 1;
	}
	return 0;
}

int nexctl_dispatch(struct nexctl *ctx, const char *command, const struct nexctl_subcommand *subs,
		    int argc, char *argv[])
{
	FILE *f = stderr;
	const char *name = argc > 1 ? argv[1] : NULL;
	size_t width = 0;

	if (name && name[0] != '-') {
		for (size_t i = 0; subs[i].name; i++) {
			if (!strcmp(name, subs[i].name))
				return subs[i].run(ctx, argc - 1, argv + 1);
		}
		out_error("%s: unknown command \"%s\"", command, name);
	} else if (name && (!strcmp(name, "--help") || !strcmp(name, "-h"))) {
		f = stdout;
	} else if (name) {
		out_error("%s: a command comes before the flags", command);
	} else {
		out_error("%s: which command?", command);
	}
	for (size_t i = 0; subs[i].name; i++) {
		if (strlen(subs[i].usage) > width)
			width = strlen(subs[i].usage);
	}
	fprintf(f, "usage:\n");
	for (size_t i = 0; subs[i].name; i++)
		fprintf(f, "  nexctl [global flags] %-*s  %s\n", (int)width, subs[i].usage, subs[i].summary);
	if (f == stdout)
		fprintf(f, "\nRun 'nexctl %s COMMAND --help' for details.\n", command);
	return f == stdout ? NEXCTL_OK : NEXCTL_USAGE;
}


int nexctl_print_secret(struct nexctl *ctx, json_t *reply, const char *key)
{
	json_t *v = json_object_get(reply, key);
	const char *s = json_string_value(v);
	int r = NEXCTL_OK;

	if (ctx->format != OUT_TABLE) {
		if (out_json(reply, ctx->format, stdout) < 0)
			r = NEXCTL_ERROR;
	} else if (!s || strlen(s) != json_string_length(v) ||
		   strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~+/=") !=
			   strlen(s)) {
		out_error("the server's answer has no usable \"%s\"", key);
		r = NEXCTL_ERROR;
	} else if (printf("%s\n", s) < 0) {
		r = NEXCTL_ERROR;
	}
	fflush(stdout);
	if (json_is_string(v))
		sodium_memzero((char *)s, json_string_length(v));
	return r;
}
