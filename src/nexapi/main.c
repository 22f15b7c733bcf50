/* nexapi: the control-plane API server. Flags, start-up, signals, shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "common/metricsd.h"
#include "common/sdnotify.h"
#include "common/timeutil.h"
#include "common/version.h"
#include "nexapi/api.h"
#include "nexapi/limits.h"
#include "nexapi/metrics.h"
#include "nexapi/tlscert.h"

#define CONNECTION_LIMIT 10000
#define PEM_MAX (256 * 1024)

struct options {
	const char *listen, *db, *tls_cert, *tls_key, *admin_token_file, *web_root;
	const char *turn_secret_file;
	const char *metrics_listen;
	unsigned long history, device_token_ttl;
	unsigned long rate_token, rate_address, requests_token, watches_token, conns_address;
	unsigned long header_timeout, body_timeout, db_wait;
	bool insecure_http, turn_ttl_given, rotate_admin;
	enum log_level level;
	struct relay_config relay;   /* --turn-server, --turn-ttl; the secret is read later */
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: nexapi --listen HOST:PORT --db PATH|URI [--tls-cert FILE --tls-key FILE]\n"
		"              [--admin-token-file FILE] [--db-wait SECONDS] [--insecure-http]\n"
		"              [--log-level LEVEL]\n"
		"              [--web-root DIR]\n"
		"              [--history N] [--device-token-ttl SECONDS]\n"
		"              [--rate-limit R] [--address-rate-limit R] [--max-requests-per-token N]\n"
		"              [--max-watches-per-token N] [--max-connections-per-address N]\n"
		"              [--header-timeout S] [--body-timeout S] [--metrics-listen HOST:PORT]\n"
		"              [--turn-server URI ... --turn-secret-file FILE [--turn-ttl SECONDS]]\n"
		"\n"
		"  --listen HOST:PORT       address to serve on (127.0.0.1:8080, [::1]:8080, localhost:8080)\n"
		"  --db PATH                SQLite database (created, mode 0600)\n"
		"  --db URI                 PostgreSQL database, a libpq URI: postgresql://[USER@]HOST\n"
		"                           [:PORT]/DBNAME[?PARAM=VALUE...] (replicas share one)\n"
		"  --db-wait SECONDS        wait this long for the database at start (default 30,\n"
		"                           0 to 3600); then exit with status 3\n"
		"  --tls-cert, --tls-key    PEM certificate chain and key: serve HTTPS\n"
		"  --admin-token-file FILE  where the first start writes the admin token\n"
		"                           (default: <db>.admin-token, mode 0600; required with\n"
		"                           a PostgreSQL URI)\n"
		"  --insecure-http          allow plain HTTP on a non-loopback address\n"
		"  --log-level LEVEL        error, warn, info (default), debug; when stderr is the\n"
		"                           journal (JOURNAL_STREAM), lines carry <N> priorities\n"
		"  --version                print the version and exit\n"
		"  --web-root DIR           the web UI's files (default: $NEXAPI_WEB_ROOT, else\n"
		"                           <bin>/../share/nexodus/web, else the build tree's)\n"
		"  --history N              device changes kept for watchers, per organization\n"
		"                           (default 10000, 10 to 10000000); a watcher from an\n"
		"                           older revision relists\n"
		"  --device-token-ttl SECONDS  how long a device token is valid (default 2592000,\n"
		"                           30 days; 10 to 31536000); nexd renews it at half-life\n"
		"  --rate-limit R           requests per second per token (default 20; bursts of 10 s)\n"
		"  --address-rate-limit R   requests per second per client address (default 200;\n"
		"                           bursts of 5 s); over either: 429 with Retry-After\n"
		"  --max-requests-per-token N  requests at once per token (default 32)\n"
		"  --max-watches-per-token N   watches at once per token (default 8)\n"
		"  --max-connections-per-address N  (default 1024: a NAT hides many devices)\n"
		"  --header-timeout S       a request's headers must arrive within S seconds of the\n"
		"                           connection or of the previous answer (default 10)\n"
		"  --body-timeout S         its body within S seconds of the headers (default 30)\n"
		"  --metrics-listen HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics\n"
		"                           (plain HTTP; off by default)\n"
		"  --turn-server URI        a TURN relay handed to the devices (repeatable, at most 8):\n"
		"                           turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT]\n"
		"  --turn-secret-file FILE  the relays' shared secret (coturn's static-auth-secret with\n"
		"                           use-auth-secret), one line; required with --turn-server\n"
		"  --turn-ttl SECONDS       how long a relay credential is valid (default 86400,\n"
		"                           300 to 604800)\n"
		"\n"
		"nexapi --db PATH|URI --rotate-admin-token [--admin-token-file FILE]\n"
		"  Revokes every admin token and writes a new one (mode 0600) to FILE (default\n"
		"  <db>.admin-token), replacing it; a running server takes it at once.\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longs[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "db", required_argument, NULL, 'd' },
		{ "tls-cert", required_argument, NULL, 'c' },
		{ "tls-key", required_argument, NULL, 'k' },
		{ "admin-token-file", required_argument, NULL, 'a' },
		{ "insecure-http", no_argument, NULL, 'i' },
		{ "web-root", required_argument, NULL, 'w' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "history", required_argument, NULL, 'H' },
		{ "turn-server", required_argument, NULL, 'T' },
		{ "turn-secret-file", required_argument, NULL, 'S' },
		{ "turn-ttl", required_argument, NULL, 'D' },
		{ "device-token-ttl", required_argument, NULL, 'E' },
		{ "rotate-admin-token", no_argument, NULL, 'R' },
		{ "rate-limit", required_argument, NULL, 1001 },
		{ "address-rate-limit", required_argument, NULL, 1002 },
		{ "max-requests-per-token", required_argument, NULL, 1003 },
		{ "max-watches-per-token", required_argument, NULL, 1004 },
		{ "max-connections-per-address", required_argument, NULL, 1005 },
		{ "header-timeout", required_argument, NULL, 1006 },
		{ "body-timeout", required_argument, NULL, 1007 },
		{ "metrics-listen", required_argument, NULL, 1010 },
		{ "db-wait", required_argument, NULL, 1008 },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'v' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->level = LOG_LEVEL_INFO;
	o->history = 10000;
	o->device_token_ttl = 30 * 86400;
	o->rate_token = 20;
	o->rate_address = 200;
	o->requests_token = 32;
	o->watches_token = 8;
	o->conns_address = 1024;
	o->header_timeout = 10;
	o->body_timeout = 30;
	o->db_wait = 30;
	o->relay.ttl = RELAY_TTL_DEFAULT;
	while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
		switch (c) {
		case 'l': o->listen = optarg; break;
		case 'd': o->db = optarg; break;
		case 'c': o->tls_cert = optarg; break;
		case 'k': o->tls_key = optarg; break;
		case 'a': o->admin_token_file = optarg; break;
		case 'i': o->insecure_http = true; break;
		case 'w': o->web_root = optarg; break;
		case 'L':
			if (log_level_parse(optarg, &o->level)) {
				fprintf(stderr, "nexapi: bad --log-level %s\n", optarg);
				return -EINVAL;
			}
			break;
		case 'H': {
			char *end;
			errno = 0;
			o->history = strtoul(optarg, &end, 10);
			if (errno || !*optarg || *end || o->history < 10 || o->history > 10000000) {
				fprintf(stderr, "nexapi: --history %s: expected 10 to 10000000\n", optarg);
				return -EINVAL;
			}
			break;
		}
		case 'T':
			switch (relay_add_server(&o->relay, optarg)) {
			case 0:
				break;
			case -EEXIST:
				fprintf(stderr, "nexapi: --turn-server %s: given twice\n", optarg);
				return -EINVAL;
			case -E2BIG:
				fprintf(stderr, "nexapi: --turn-server %s: at most %d TURN servers\n", optarg,
					RELAY_MAX_SERVERS);
				return -EINVAL;
			default:
				fprintf(stderr, "nexapi: --turn-server %s: not a TURN URI (expected "
						"turn:HOST[:PORT][?transport=udp|tcp] or turns:HOST[:PORT])\n", optarg);
				return -EINVAL;
			}
			break;
		case 'S': o->turn_secret_file = optarg; break;
		case 'R': o->rotate_admin = true; break;
		case 1010: o->metrics_listen = optarg; break;
		case 1001: case 1002: case 1003: case 1004: case 1005: case 1006: case 1007: case 1008: {
			static const struct { const char *name; unsigned long min, max; } lim[] = {
				{ "--rate-limit", 1, 100000 }, { "--address-rate-limit", 1, 1000000 },
				{ "--max-requests-per-token", 1, 100000 }, { "--max-watches-per-token", 1, 100000 },
				{ "--max-connections-per-address", 1, 100000 }, { "--header-timeout", 1, 3600 },
				{ "--body-timeout", 1, 3600 }, { "--db-wait", 0, 3600 },
			};
			unsigned long *dst[] = { &o->rate_token, &o->rate_address, &o->requests_token,
						 &o->watches_token, &o->conns_address, &o->header_timeout,
						 &o->body_timeout, &o->db_wait };
			unsigned i = (unsigned)(c - 1001);
			char *end;
			unsigned long v;

			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *optarg < '0' || *optarg > '9' || *end || v < lim[i].min || v > lim[i].max) {
				fprintf(stderr, "nexapi: %s %s: expected %lu to %lu\n", lim[i].name, optarg, lim[i].min,
					lim[i].max);
				return -EINVAL;
			}
			*dst[i] = v;
			break;
		}
		case 'E': {
			char *end;
			errno = 0;
			o->device_token_ttl = strtoul(optarg, &end, 10);
			if (errno || *optarg < '0' || *optarg > '9' || *end || o->device_token_ttl < 10 ||
			    o->device_token_ttl > 31536000) {
				fprintf(stderr, "nexapi: --device-token-ttl %s: expected 10 to 31536000 seconds\n",
					optarg);
				return -EINVAL;
			}
			break;
		}
		case 'D': {
			char *end;
			unsigned long v;
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *optarg < '0' || *optarg > '9' || *end || v < RELAY_TTL_MIN ||
			    v > RELAY_TTL_MAX) {
				fprintf(stderr, "nexapi: --turn-ttl %s: expected %d to %d seconds\n", optarg,
					RELAY_TTL_MIN, RELAY_TTL_MAX);
				return -EINVAL;
			}
			o->relay.ttl = (unsigned)v;
			o->turn_ttl_given = true;
			break;
		}
		case 'h': usage(stdout); exit(0);
		case 'v': printf("nexapi %s\n", NEXODUS_VERSION); exit(0);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (o->db && store_is_uri(o->db) && !o->admin_token_file) {
		fprintf(stderr, "nexapi: --db with a PostgreSQL URI needs --admin-token-file FILE (where the "
				"first start of the database writes the admin token)\n");
		return -EINVAL;
	}
	if (o->rotate_admin) {
		if (optind != argc || !o->db || o->listen) {
			fprintf(stderr, "nexapi: --rotate-admin-token takes --db (and --admin-token-file), "
					"not --listen\n");
			return -EINVAL;
		}
		return 0;
	}
	if (optind != argc || !o->listen || !o->db) {
		usage(stderr);
		return -EINVAL;
	}
	if (!o->tls_cert != !o->tls_key) {
		fprintf(stderr, "nexapi: --tls-cert and --tls-key go together\n");
		return -EINVAL;
	}
	if (o->relay.n && !o->turn_secret_file) {
		fprintf(stderr, "nexapi: --turn-server needs --turn-secret-file (the secret the TURN "
				"servers check credentials with)\n");
		return -EINVAL;
	}
	if (!o->relay.n && (o->turn_secret_file || o->turn_ttl_given)) {
		fprintf(stderr, "nexapi: %s is for TURN relays: give --turn-server too\n",
			o->turn_secret_file ? "--turn-secret-file" : "--turn-ttl");
		return -EINVAL;
	}
	return 0;
}

/* The secret is wiped on every way out, fatal() included. */
static struct relay_config *relay_at_exit;

static void relay_wipe_at_exit(void)
{
	if (relay_at_exit)
		relay_config_clear(relay_at_exit);
}

/* The TURN secret, read once at start; the servers logged (never the secret). */
static void relays_load(struct options *o)
{
	const char *why;
	int err;

	if (!o->relay.n)
		return;
	relay_at_exit = &o->relay;
	atexit(relay_wipe_at_exit);
	err = relay_secret_load(&o->relay, o->turn_secret_file, &why);
	if (err)
		fatal("--turn-secret-file %s: %s", o->turn_secret_file, why ? why : strerror(-err));
	for (size_t i = 0; i < o->relay.n; i++)
		log_info("TURN relay %s handed to the devices (credentials valid %u s)", o->relay.uris[i],
			 o->relay.ttl);
}

static int parse_listen(const char *s, union sockaddr_any *out)
{
	char buf[ADDR_ENDPOINT_STRLEN + 16];

	if (!strncmp(s, "localhost:", 10)) {
		snprintf(buf, sizeof(buf), "127.0.0.1:%s", s + 10);
		s = buf;
	}
	if (addr_endpoint_parse(s, out))
		return -EINVAL;
	addr_unmap(out);
	return 0;
}

static bool is_loopback(const union sockaddr_any *a)
{
	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->in4.sin_addr.s_addr) >> 24) == 127;
	return IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr);
}

static char *read_file(const char *path)
{
	char *buf;
	size_t n = 0;
	FILE *f = fopen(path, "re");

	if (!f)
		return NULL;
	buf = malloc(PEM_MAX + 1);
	if (buf) {
		n = fread(buf, 1, PEM_MAX, f);
		if (ferror(f) || n == PEM_MAX) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = 0;
		}
	}
	fclose(f);
	return buf;
}

static void raise_nofile(unsigned want)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return;
	if (rl.rlim_cur >= want)
		return;
	if (rl.rlim_max < want) {
		struct rlimit up = { want, want };
		if (setrlimit(RLIMIT_NOFILE, &up) == 0)
			return;
		want = (unsigned)rl.rlim_max;
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		log_warn("cannot raise the open file limit to %u: %s", want, strerror(errno));
}

/* Writes the token, alone on a line, to path: mode 0600, through a
 * temporary file, fsync, rename and fsync of the directory. replace: an
 * existing file is overwritten (else it is an error, -EEXIST). */
static int write_token_file(const char *path, const char *token, bool replace)
{
	char *tmp = NULL, *dir = NULL, *slash;
	size_t len = strlen(token);
	int fd = -1, dfd, err = 0;

	if (!replace && access(path, F_OK) == 0)
		return -EEXIST;
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		tmp = NULL;
		goto oom;
	}
	if (!(dir = strdup(path)))
		goto oom;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = 0;
	else if (slash)
		*slash = 0;
	else
		strcpy(dir, ".");
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	if (write(fd, token, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd)) {
		err = errno ? -errno : -EIO;
		goto out_unlink;
	}
	close(fd);
	fd = -1;
	if (!replace && access(path, F_OK) == 0) {
		err = -EEXIST;
		goto out_unlink;
	}
	if (rename(tmp, path) < 0) {
		err = -errno;
		goto out_unlink;
	}
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0 || fsync(dfd) < 0)
		err = -errno;
	if (dfd >= 0)
		close(dfd);
	goto out;

out_unlink:
	if (fd >= 0)
		close(fd);
	fd = -1;
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(dir);
	return err;
oom:
	free(tmp);
	free(dir);
	return -ENOMEM;
}

/* A new admin token (text and record). */
static void admin_token_new(char text[AUTH_TOKEN_LEN + 1], struct token_rec *admin)
{
	memset(admin, 0, sizeof(*admin));
	auth_token_new(TOKEN_ADMIN, text, admin->id, admin->hash);
	admin->kind = TOKEN_ADMIN;
	admin->created_at = api_now();
}

/* The token is committed first, then its file written, then the pending
 * mark cleared: a crash in between leaves the mark, and the next start
 * revokes that token and writes a new one (the first one may never have
 * reached the file). */
static int finish_admin_token(struct store *s, const char *path, const char *text, const char *id, bool replace)
{
	const struct store_ops *ops = store_ops_of(s);
	int err = write_token_file(path, text, replace);

	if (err) {
		log_error("cannot write the admin token file %s: %s%s", path, strerror(-err),
			  err == -EEXIST ? " (it exists already; remove it or name another with --admin-token-file)"
					 : "; the next start makes a new one");
		return err;
	}
	if ((err = ops->admin_written(s)))
		return err;
	log_info("admin token %s written to %s", id, path);
	return 0;
}

/* First start: the default organization and an admin token, written to
 * `path` (0600, must not exist). A start after a crash of the first one
 * finishes it. */
static int bootstrap_locked(struct store *s, const char *path)
{
	const struct store_ops *ops = store_ops_of(s);
	char text[AUTH_TOKEN_LEN + 1], pending[STORE_TOKEN_ID_LEN + 1];
	struct token_rec admin;
	struct org_rec org, *orgs;
	bool created;
	size_t n;
	int err;

	if ((err = ops->org_list(s, NULL, &orgs, &n)))
		return err;
	free(orgs);
	if (n) {
		if ((err = ops->admin_pending(s, pending)) || !pending[0])
			return err;
		log_warn("the first start did not finish writing its admin token file; revoking admin token %s "
			 "and writing a new one to %s", pending, path);
		admin_token_new(text, &admin);
		if (!(err = ops->admin_rotate(s, &admin)))
			err = finish_admin_token(s, path, text, admin.id, true);
		sodium_memzero(text, sizeof(text));
		return err;
	}
	if (access(path, F_OK) == 0) {
		log_error("cannot create the admin token file %s: it exists already (remove it or name another "
			  "with --admin-token-file)", path);
		return -EEXIST;
	}
	memset(&org, 0, sizeof(org));
	auth_uuid(org.id);
	snprintf(org.name, sizeof(org.name), "%s", API_DEFAULT_ORG);
	snprintf(org.prefix, sizeof(org.prefix), "%s", API_DEFAULT_PREFIX);
	org.created_at = api_now();
	admin_token_new(text, &admin);
	if ((err = ops->bootstrap(s, &org, &admin, &created)) || !created) {
		sodium_memzero(text, sizeof(text));
		return err;
	}
	log_info("first start: organization %s (%s) and admin token %s created", org.name, org.prefix, admin.id);
	err = finish_admin_token(s, path, text, admin.id, false);
	sodium_memzero(text, sizeof(text));
	return err;
}

/* Replicas sharing a database start one at a time: the first mints the
 * admin token, the others find it (not pending) and go on. */
static int bootstrap(struct store *s, const char *path)
{
	const struct store_ops *ops = store_ops_of(s);
	int err, err2;

	if ((err = ops->startup_lock(s, true))) {
		log_error("cannot take the database's startup lock: %s", strerror(-err));
		return err;
	}
	err = bootstrap_locked(s, path);
	if ((err2 = ops->startup_lock(s, false)))
		log_warn("cannot release the database's startup lock: %s", strerror(-err2));
	return err;
}

static uint64_t store_errors(void *ctx)
{
	struct store *s = ctx;

	return store_ops_of(s)->errors(s);
}

/* Another replica changed org_id (NULL: perhaps any): wake our watchers. */
static void store_changed(void *ctx, const char *org_id)
{
	struct watch **w = ctx;

	watch_notify(*w, org_id);
}

static enum httpd_result handle_web(struct httpd_request *r, void *ctx)
{
	return static_serve(((struct api *)ctx)->web, r);
}

/* Opens the database, waiting up to `wait` seconds for it to be reachable
 * (a PostgreSQL server that starts later). 0, -ETIMEDOUT when it was never
 * reachable, or another negative errno (said in the log). */
static int store_open_wait(const struct store_ops *ops, const char *db, const struct store_options *sopt,
			   unsigned long wait, struct store **out)
{
	uint64_t give_up = time_now_ns() + (uint64_t)wait * NSEC_PER_SEC;
	char shown[512];
	bool said = false;
	int err;

	store_db_shown(db, shown, sizeof(shown));
	while ((err = ops->open(db, sopt, out)) == -ENOTCONN) {
		if (time_now_ns() >= give_up) {
			log_error("cannot reach the database %s: gave up after %lu s (--db-wait)", shown, wait);
			return -ETIMEDOUT;
		}
		if (!said)
			log_warn("cannot reach the database %s; trying again every second for up to %lu s",
				 shown, wait);
		said = true;
		time_sleep_ns(NSEC_PER_SEC);
	}
	if (err)
		log_error("cannot open the database %s: %s", shown, strerror(-err));
	else if (said)
		log_info("database %s reached", shown);
	return err;
}

/* nexapi --rotate-admin-token: every admin token revoked, a new one in
 * path (replaced). 0, or a negative errno (said in the log). */
static int rotate_admin(const char *db, const char *path, unsigned long wait)
{
	const struct store_ops *ops = store_for(db);
	struct store_options sopt = { .events_kept = 10000 };
	char text[AUTH_TOKEN_LEN + 1];
	struct token_rec admin;
	struct org_rec *orgs;
	struct store *s;
	size_t n;
	int err;

	if (!store_is_uri(db) && access(db, F_OK)) {
		log_error("no database %s: nothing to rotate (a first start writes the admin token)", db);
		return -ENOENT;
	}
	if ((err = store_open_wait(ops, db, &sopt, wait, &s)))
		return err;
	if ((err = ops->org_list(s, NULL, &orgs, &n)) == 0) {
		free(orgs);
		if (n == 0) {
			log_error("the database %s was never started: nothing to rotate", db);
			err = -ENOENT;
		}
	}
	if (!err) {
		admin_token_new(text, &admin);
		if (!(err = ops->admin_rotate(s, &admin)))
			err = finish_admin_token(s, path, text, admin.id, true);
		sodium_memzero(text, sizeof(text));
		if (!err)
			log_info("admin token rotated: the old ones are revoked, the new one (%s) is in %s", admin.id,
				 path);
	}
	ops->close(s);
	return err;
}

/* A private key file only its owner may read or change. */
static bool key_file_private(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && !(st.st_mode & (S_IRWXG | S_IRWXO));
}

/* The certificate and key from their files into tlscert.c (at start, and
 * again on SIGHUP: a renewal). 0, or -1 with why (nothing changed). */
static int load_tls(const struct options *o, char *why, size_t len)
{
	char *cert = NULL, *key = NULL, err[200];
	int r = -1;

	if (!key_file_private(o->tls_key))
		snprintf(why, len, "--tls-key %s: group or others may read or change it: chmod 600 it", o->tls_key);
	else if (!(cert = read_file(o->tls_cert)) || !(key = read_file(o->tls_key)))
		snprintf(why, len, "cannot read %s", !cert ? o->tls_cert : o->tls_key);
	else if (tlscert_load(cert, key, err, sizeof(err)))
		snprintf(why, len, "--tls-cert %s, --tls-key %s do not load (%s)", o->tls_cert, o->tls_key, err);
	else
		r = 0;
	free(cert);
	if (key)
		sodium_memzero(key, strlen(key));
	free(key);
	return r;
}

/* SIGHUP: a pair that does not load is logged and the one in use stays. */
static void reload_tls(const struct options *o)
{
	char why[512];

	if (!o->tls_cert)
		log_info("SIGHUP: no certificate to reload (plain HTTP)");
	else if (load_tls(o, why, sizeof(why)))
		log_error("SIGHUP: %s; the certificate in use stays", why);
	else
		log_info("SIGHUP: certificate %s and key %s reloaded: new connections get them", o->tls_cert,
			 o->tls_key);
}

int main(int argc, char **argv)
{
	struct store_options sopt;
	struct httpd_config hc;
	static struct options o;   /* static: the secret in it is wiped at exit */
	struct api api;
	struct httpd *h;
	char *token_path = NULL;
	struct metricsd *msrv = NULL;
	sigset_t sigs;
	int sig, err, status = 1;

	if (parse_options(argc, argv, &o))
		return 2;
	log_init("nexapi", o.level);
	if (sodium_init() < 0)
		fatal("libsodium cannot start");
	umask(077);
	if (o.rotate_admin) {
		char *path = NULL;

		if (o.admin_token_file)
			path = strdup(o.admin_token_file);
		else if (asprintf(&path, "%s.admin-token", o.db) < 0)
			path = NULL;
		if (!path)
			fatal("out of memory");
		err = rotate_admin(o.db, path, o.db_wait);
		free(path);
		return err == -ETIMEDOUT ? 3 : err ? 1 : 0;
	}

	memset(&hc, 0, sizeof(hc));
	if (parse_listen(o.listen, &hc.listen))
		fatal("--listen %s: expected HOST:PORT with a numeric address or localhost", o.listen);
	if (!o.tls_cert && !is_loopback(&hc.listen) && !o.insecure_http)
		fatal("refusing to serve plain HTTP on %s, which is not a loopback address: give "
		      "--tls-cert and --tls-key, or --insecure-http", o.listen);
	if (o.tls_cert) {
		char why[512];

		if (load_tls(&o, why, sizeof(why)))
			fatal("%s", why);
		hc.tls_callback = tlscert_callback();   /* replaceable on SIGHUP */
	}
	relays_load(&o);
	hc.connection_limit = CONNECTION_LIMIT;
	hc.per_address_connections = (unsigned)o.conns_address;
	hc.header_timeout_s = (unsigned)o.header_timeout;
	hc.body_timeout_s = (unsigned)o.body_timeout;
	hc.precheck = api_precheck;
	hc.release = api_release;
	hc.completed = api_completed;
	hc.body_limit = API_BODY_LIMIT;
	raise_nofile(CONNECTION_LIMIT + 256);

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	memset(&api, 0, sizeof(api));
	api.relay = &o.relay;
	api.device_token_ttl = (int64_t)o.device_token_ttl;
	{
		struct limits_config by_token = { .rate = (double)o.rate_token, .burst = 10.0 * o.rate_token,
						  .max_inflight = (unsigned)o.requests_token,
						  .max_watches = (unsigned)o.watches_token, .capacity = 100000 };
		struct limits_config by_address = { .rate = (double)o.rate_address,
						    .burst = 5.0 * o.rate_address, .capacity = 100000 };

		if (limits_new(&by_token, &api.by_token) || limits_new(&by_address, &api.by_address))
			fatal("out of memory");
	}
	if (static_site_open(o.web_root, &api.web))
		fatal("cannot load the web UI (--web-root, NEXAPI_WEB_ROOT)");
	hc.fallback = handle_web;
	api.ops = store_for(o.db);
	if ((err = watch_create(&api.watch)))
		fatal("cannot start the watch timer: %s", strerror(-err));
	memset(&sopt, 0, sizeof(sopt));
	sopt.events_kept = (unsigned)o.history;
	sopt.changed = store_changed;
	sopt.changed_ctx = &api.watch;
	if ((err = store_open_wait(api.ops, o.db, &sopt, o.db_wait, &api.store))) {
		status = err == -ETIMEDOUT ? 3 : 1;
		goto err_free;
	}
	if (o.admin_token_file) {
		token_path = strdup(o.admin_token_file);
	} else if (asprintf(&token_path, "%s.admin-token", o.db) < 0) {
		token_path = NULL;
	}
	if (!token_path) {
		log_error("out of memory");
		goto err_close_store;
	}
	if (bootstrap(api.store, token_path))
		goto err_close_store;
	if ((err = challenge_create(&api.challenge))) {
		log_error("out of memory");
		goto err_close_store;
	}
	if (o.metrics_listen && metrics_new(store_errors, api.store, &api.metrics))
		fatal("out of memory");
	if ((err = httpd_start(&hc, api_routes, api_n_routes, &api, &h))) {
		log_error("cannot serve on %s (address in use or not available)", o.listen);
		goto err_destroy_challenge;
	}
	if (o.metrics_listen) {
		char bound[ADDR_ENDPOINT_STRLEN];

		if (metricsd_start(o.metrics_listen, metrics_render, api.metrics, &msrv, bound, sizeof(bound))) {
			log_error("--metrics-listen %s: cannot serve there (expected a numeric HOST:PORT, free)",
				  o.metrics_listen);
			httpd_stop(h);
			goto err_destroy_challenge;
		}
		log_info("metrics on http://%s/metrics", bound);
	}
	{
		char a[ADDR_ENDPOINT_STRLEN];
		union sockaddr_any bound = hc.listen;

		if (bound.sa.sa_family == AF_INET)
			bound.in4.sin_port = htons(httpd_port(h));
		else
			bound.in6.sin6_port = htons(httpd_port(h));
		addr_endpoint_format(&bound, a);
		char shown[512];

		store_db_shown(o.db, shown, sizeof(shown));
		log_info("listening on %s://%s (database %s, store %s)", o.tls_cert ? "https" : "http", a,
			 shown, api.ops->name);
		{
			char note[160];

			snprintf(note, sizeof(note), "READY=1\nSTATUS=listening on %s://%s",
				 o.tls_cert ? "https" : "http", a);
			if ((err = sd_notify_text(note)))
				log_warn("cannot tell systemd we are ready: %s", strerror(-err));
		}
	}

	for (;;) {
		do {
			err = sigwait(&sigs, &sig);
		} while (err == EINTR);
		if (sig != SIGHUP)
			break;
		reload_tls(&o);
	}
	log_info("signal %d: stopping", sig);
	sd_notify_text("STOPPING=1\nSTATUS=stopping");

	httpd_quiesce(h);
	watch_shutdown(api.watch);
	time_sleep_ns(200 * NSEC_PER_MSEC);   /* let resumed watchers get their answer */
	httpd_stop(h);
	metricsd_stop(msrv);
	status = 0;
err_destroy_challenge:
	challenge_destroy(api.challenge);
err_close_store:
	api.ops->close(api.store);   /* its notification thread first: it wakes watchers */
err_free:
	watch_destroy(api.watch);
	free(api.cache.body);
	static_site_free(api.web);
	limits_free(api.by_token);
	limits_free(api.by_address);
	tlscert_free_all();
	metrics_free(api.metrics);
	free(token_path);
	relay_config_clear(&o.relay);
	if (status == 0)
		log_info("stopped");
	return status;
}
