/* nexwg: our userspace WireGuard as a drop-in for wireguard-go, with the
 * command line of https://www.wireguard.com/xplatform/:
 *
 *     nexwg [-f|--foreground] INTERFACE-NAME
 *
 * Creates the TUN interface, listens on UAPI_SOCKET_DIR/<name>.sock for
 * `wg`, and daemonizes unless told not to. The parent of the daemon waits
 * until the interface and the socket exist (so that `nexwg wg0 && wg setconf
 * wg0 ...` works), then exits 0, or prints the daemon's error and exits 1.
 *
 * Environment, as wireguard-go reads it:
 *   WG_PROCESS_FOREGROUND=1  same as -f
 *   WG_TUN_FD=N              use the already open TUN file descriptor N
 * and of our own:
 *   NEXWG_CRYPTO_WORKERS=N   threads that share the cryptography of large
 *                            batches (0: none; default: one per CPU beyond
 *                            two, at most 8)
 *   NEXWG_NO_OFFLOAD=1       no TUN or UDP segmentation offloads
 *   LOG_LEVEL=verbose|debug|info|warn|error|silent   (default: error). When
 *                            set (and not silent), a daemon keeps stdout and
 *                            stderr; otherwise they go to /dev/null.
 *
 * Stops on SIGINT/SIGTERM, when the interface is deleted, or when the socket
 * file is removed; exits 0 then. Exits 1 when setting up failed. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/log.h"
#include "wg/uapi.h"
#include "wg/wg.h"

#define NEXWG_VERSION "0.1.0"

enum { EXIT_SETUP_OK = 0, EXIT_SETUP_FAILED = 1 };

/* The signal thread and main share the device under this lock. */
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct wg_device *g_dev;
static bool g_stop;
static sigset_t g_signals;

/* The daemon's end of the readiness pipe; -1 in the foreground. */
static int g_ready_fd = -1;

static void usage(FILE *f, const char *prog)
{
	fprintf(f,
		"Usage: %s [-f/--foreground] INTERFACE-NAME\n"
		"\n"
		"Userspace WireGuard: creates the TUN interface INTERFACE-NAME and serves\n"
		"the configuration socket %s/INTERFACE-NAME.sock for wg(8).\n"
		"Runs as a daemon unless -f/--foreground or WG_PROCESS_FOREGROUND=1.\n"
		"\n"
		"Environment:\n"
		"  WG_PROCESS_FOREGROUND=1   stay in the foreground\n"
		"  WG_TUN_FD=N               use the open TUN file descriptor N\n"
		"  NEXWG_CRYPTO_WORKERS=N    crypto threads besides send and receive (0: none;\n"
		"                            default: one per CPU beyond two, at most %d)\n"
		"  NEXWG_NO_OFFLOAD=1        no TUN/UDP segmentation offloads\n"
		"  LOG_LEVEL=LEVEL           verbose, debug, info, warn, error (default), silent\n"
		"\n"
		"Options:\n"
		"  --version                 print the version\n"
		"  --help                    print this help\n",
		prog, UAPI_SOCKET_DIR, WG_MAX_CRYPTO_WORKERS);
}

static void version(void)
{
	struct utsname u;

	if (uname(&u))
		snprintf(u.machine, sizeof(u.machine), "unknown");
	printf("nexwg v%s\n\nUserspace WireGuard daemon for linux-%s, part of nexodus-c.\n",
	       NEXWG_VERSION, u.machine);
}

/* Reports a failure during setup: to the waiting parent when daemonized
 * (the daemon's stderr is usually /dev/null), else to the log. */
__attribute__((format(printf, 1, 2)))
static void setup_failed(const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (g_ready_fd >= 0) {
		ssize_t n = write(g_ready_fd, msg, strlen(msg));

		(void)n;
		close(g_ready_fd);
		g_ready_fd = -1;
	} else {
		log_error("%s", msg);
	}
}

static void report_ready(void)
{
	char ok = 0;

	if (g_ready_fd < 0)
		return;
	if (write(g_ready_fd, &ok, 1) != 1)
		log_warn("cannot tell the parent we are ready: %s", strerror(errno));
	close(g_ready_fd);
	g_ready_fd = -1;
}

/* The parent: waits for the daemon's word, exits with it. */
static int parent_wait(int fd, pid_t child)
{
	char msg[513];
	size_t len = 0;
	ssize_t n;

	for (;;) {
		n = read(fd, msg + len, sizeof(msg) - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (msg[0] == 0 || len == sizeof(msg) - 1)
			break;
	}
	close(fd);
	if (len > 0 && msg[0] == 0)
		return EXIT_SETUP_OK;
	msg[len] = 0;
	if (len)
		log_error("%s", msg);
	else
		log_error("the daemon exited while starting");
	waitpid(child, NULL, WNOHANG);
	return EXIT_SETUP_FAILED;
}

static void *signal_thread(void *arg)
{
	(void)arg;
	for (;;) {
		int sig;

		if (sigwait(&g_signals, &sig))
			continue;
		log_info("received %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
		pthread_mutex_lock(&g_lock);
		g_stop = true;
		if (g_dev)
			wg_device_stop(g_dev);
		pthread_mutex_unlock(&g_lock);
	}
	return NULL;
}

static int parse_uint(const char *s, int *out)
{
	char *end;
	unsigned long v;

	if (!s || s[0] < '0' || s[0] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v > 1024 * 1024)
		return -EINVAL;
	*out = (int)v;
	return 0;
}

/* LOG_LEVEL as wireguard-go reads it; unknown values mean the default. */
static enum log_level log_level_from_env(const char *s, bool *silent)
{
	enum log_level level;

	*silent = false;
	if (!s)
		return LOG_LEVEL_ERROR;
	if (!strcmp(s, "verbose") || !strcmp(s, "debug"))
		return LOG_LEVEL_DEBUG;
	if (!strcmp(s, "silent")) {
		*silent = true;
		return LOG_LEVEL_ERROR;
	}
	if (!log_level_parse(s, &level))
		return level;
	return LOG_LEVEL_ERROR;
}

static int redirect_to_null(bool keep_output)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	if (dup2(fd, STDIN_FILENO) < 0 ||
	    (!keep_output && (dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0))) {
		int err = errno;

		close(fd);
		return -err;
	}
	close(fd);
	return 0;
}

/* Creates the device and its socket, runs until it stops, tears down. */
static int run(const char *ifname_arg, int tun_fd, int crypto_workers)
{
	struct wg_device_opts opts = {
		.ifname = ifname_arg, .tun_fd = tun_fd, .mtu = 0, .crypto_workers = crypto_workers
	};
	struct uapi_server *uapi = NULL;
	struct wg_device *dev = NULL;
	char ifname[16];
	pthread_t sig_thread;
	int ret;

	ret = -pthread_create(&sig_thread, NULL, signal_thread, NULL);
	if (ret) {
		setup_failed("cannot start the signal thread: %s", strerror(-ret));
		return EXIT_SETUP_FAILED;
	}
	pthread_detach(sig_thread);
	if ((ret = wg_init())) {
		setup_failed("cannot initialize: %s", strerror(-ret));
		return EXIT_SETUP_FAILED;
	}
	if ((ret = wg_device_create(&dev, &opts))) {
		setup_failed("failed to create TUN device %s: %s", ifname_arg, strerror(-ret));
		return EXIT_SETUP_FAILED;
	}
	snprintf(ifname, sizeof(ifname), "%s", wg_device_ifname(dev));
	if ((ret = uapi_server_start(&uapi, dev, ifname))) {
		setup_failed("%s: UAPI listen error on %s/%s.sock: %s", ifname, UAPI_SOCKET_DIR, ifname,
			     ret == -EADDRINUSE ? "socket in use by another process" : strerror(-ret));
		goto err_destroy_device;
	}
	pthread_mutex_lock(&g_lock);
	g_dev = dev;
	if (g_stop)
		wg_device_stop(dev);
	pthread_mutex_unlock(&g_lock);
	log_info("%s: created", ifname);
	report_ready();

	ret = wg_device_wait(dev);
	if (ret == -ENODEV)
		log_info("%s: the interface was deleted", ifname);
	else if (ret)
		log_error("%s: device failed: %s", ifname, strerror(-ret));

	pthread_mutex_lock(&g_lock);
	g_dev = NULL;
	pthread_mutex_unlock(&g_lock);
	uapi_server_stop(uapi);
	wg_device_destroy(dev);
	log_info("%s: destroyed", ifname);
	return ret == 0 || ret == -ENODEV ? EXIT_SUCCESS : EXIT_FAILURE;

err_destroy_device:
	wg_device_destroy(dev);
	return EXIT_SETUP_FAILED;
}

int main(int argc, char **argv)
{
	const char *prog = argc > 0 ? argv[0] : "nexwg";
	const char *ifname, *env;
	bool foreground = false, silent, keep_output;
	enum log_level level;
	int tun_fd = -1, crypto_workers = 0, pipefd[2];
	pid_t pid;

	if (argc == 2 && !strcmp(argv[1], "--version")) {
		version();
		return EXIT_SUCCESS;
	}
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout, prog);
		return EXIT_SUCCESS;
	}
	if (argc == 3 && (!strcmp(argv[1], "-f") || !strcmp(argv[1], "--foreground"))) {
		foreground = true;
		ifname = argv[2];
	} else if (argc == 2) {
		ifname = argv[1];
	} else {
		usage(stderr, prog);
		return EXIT_SETUP_FAILED;
	}
	if (ifname[0] == '-') {
		usage(stderr, prog);
		return EXIT_SETUP_FAILED;
	}

	env = getenv("LOG_LEVEL");
	level = log_level_from_env(env, &silent);
	keep_output = env && *env && !silent;
	log_init("nexwg", level);
	if (!foreground) {
		env = getenv("WG_PROCESS_FOREGROUND");
		foreground = env && !strcmp(env, "1");
	}
	if (!ifname[0] || strlen(ifname) >= 16) {
		log_error("invalid interface name '%s': 1 to 15 characters", ifname);
		return EXIT_SETUP_FAILED;
	}
	env = getenv("WG_TUN_FD");
	if (env && *env && parse_uint(env, &tun_fd)) {
		log_error("invalid WG_TUN_FD '%s'", env);
		return EXIT_SETUP_FAILED;
	}
	env = getenv("NEXWG_CRYPTO_WORKERS");
	if (env && *env) {
		int n;

		if (parse_uint(env, &n) || n > WG_MAX_CRYPTO_WORKERS) {
			log_error("invalid NEXWG_CRYPTO_WORKERS '%s': 0 to %d", env, WG_MAX_CRYPTO_WORKERS);
			return EXIT_SETUP_FAILED;
		}
		crypto_workers = n ? n : -1;
	}
	signal(SIGPIPE, SIG_IGN);

	if (!foreground) {
		/* Fork before any thread exists; the parent waits for "ready". */
		if (pipe2(pipefd, O_CLOEXEC)) {
			log_error("pipe: %s", strerror(errno));
			return EXIT_SETUP_FAILED;
		}
		pid = fork();
		if (pid < 0) {
			log_error("failed to daemonize: %s", strerror(errno));
			return EXIT_SETUP_FAILED;
		}
		if (pid > 0) {
			close(pipefd[1]);
			return parent_wait(pipefd[0], pid);
		}
		close(pipefd[0]);
		g_ready_fd = pipefd[1];
		if (setsid() < 0 || chdir("/") || redirect_to_null(keep_output)) {
			setup_failed("failed to daemonize: %s", strerror(errno));
			return EXIT_SETUP_FAILED;
		}
	} else if (silent && redirect_to_null(false)) {
		log_error("cannot open /dev/null: %s", strerror(errno));
		return EXIT_SETUP_FAILED;
	}

	/* Only the signal thread takes SIGINT and SIGTERM; every thread
	 * created from here on inherits the mask. */
	sigemptyset(&g_signals);
	sigaddset(&g_signals, SIGINT);
	sigaddset(&g_signals, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &g_signals, NULL);
	return run(ifname, tun_fd, crypto_workers);
}
