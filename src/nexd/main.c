/* nexd: the agent that joins this machine to the mesh. */
#include <errno.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/sdnotify.h"
#include "common/version.h"
#include "nexd/agent.h"
#include "nexd/options.h"
#include "nexd/secretfile.h"

static struct agent *the_agent;

static void on_signal(int sig)
{
	(void)sig;
	if (the_agent)
		agent_request_stop(the_agent);
}

/* the registration key read from --reg-key-file (wiped at exit) */
static char reg_key[512];

/* the SOCKS5 credentials of --socks5-auth-file (wiped at exit) */
static char socks_auth[520];

static void wipe_reg_key(void)
{
	sodium_memzero(reg_key, sizeof(reg_key));
	sodium_memzero(socks_auth, sizeof(socks_auth));
}

int main(int argc, char **argv)
{
	struct nexd_options o;
	struct sigaction sa;
	char err[512] = "";
	int status, r;

	atexit(wipe_reg_key);
	r = options_parse(argc, argv, &o, err, sizeof(err));
	if (r) {
		fprintf(stderr, "nexd: %s\n", err);
		return 2;
	}
	if (o.help) {
		options_usage(stdout);
		return 0;
	}
	if (o.version) {
		printf("nexd %s\n", NEXODUS_VERSION);
		return 0;
	}
	log_init("nexd", o.log_level);
	if (o.reg_key_file) {
		r = secret_file_read(o.reg_key_file, reg_key, sizeof(reg_key), err, sizeof(err));
		if (r) {
			fprintf(stderr, "nexd: --reg-key-file: %s\n", err);
			return 2;
		}
		o.reg_key = reg_key;
	}
	if (o.socks5_auth_file) {
		char *colon;

		r = secret_file_read(o.socks5_auth_file, socks_auth, sizeof(socks_auth), err, sizeof(err));
		colon = r ? NULL : strchr(socks_auth, ':');
		if (!colon || colon == socks_auth || !colon[1] || colon - socks_auth > 255 || strlen(colon + 1) > 255) {
			fprintf(stderr, "nexd: --socks5-auth-file: %s\n",
				r ? err : "the first line must be USER:PASSWORD (each 1 to 255 bytes)");
			return 2;
		}
		*colon = 0;
		o.socks5_user = socks_auth;
		o.socks5_password = colon + 1;
	}
	if (geteuid() != 0 && !o.proxy) {
		fprintf(stderr, "nexd: must run as root (it creates an interface, routes and rules; "
			"nexd proxy runs as any user)\n");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	/* SIGHUP (systemctl reload) does not stop nexd: its one configuration
	 * file, --reg-key-file, is read again at every registration */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);

	r = agent_start(&the_agent, &o, err, sizeof(err));
	if (r) {
		log_error("%s", err);
		agent_stop(the_agent);
		return 1;
	}
	/* the agent runs: its control socket answers (registration goes on in the background) */
	if ((r = sd_notify_text("READY=1\nSTATUS=running")))
		log_warn("cannot tell systemd we are ready: %s", strerror(-r));
	status = agent_run(the_agent);
	sd_notify_text("STOPPING=1\nSTATUS=stopping");
	log_info("stopping");
	agent_stop(the_agent);
	the_agent = NULL;
	log_info("stopped");
	return status;
}
