/* The PostgreSQL store, on libpq: the same operations, return codes and
 * data as the SQLite store (store_sqlite.c), for several nexapi processes
 * (replicas) sharing one database.
 *
 * Writers. Every write transaction is BEGIN (READ COMMITTED) followed at
 * once by pg_advisory_xact_lock(LOCK_WRITE): writers are serialized across
 * every replica exactly as SQLite's BEGIN IMMEDIATE serializes them, so
 * that address allocation (read the free address, insert), the use of a
 * single-use key, the bootstrap's "is there an organization" and the
 * revision counter are race-free. Each statement after the lock sees every
 * transaction committed before it (a new snapshot per statement).
 * UNIQUE (org_id, tunnel_ip_num) and UNIQUE (org_id, public_key) back that
 * up; a unique violation (SQLSTATE 23505) is -EEXIST where the SQLite store
 * maps a constraint failure to it. The one-statement writes that SQLite
 * also serializes against a registration (revoking a key or a token) take
 * the lock too; device_touch and write_check do not need it.
 *
 * Fewer round trips. A registration is the hot write: it reads the
 * organization's approval mode with the device lookup and computes
 * approved_cidrs (approval_follow) before its insert or update, replaces
 * the device's tokens in one statement, and records its event (revision,
 * device, event, pg_notify) in one statement that also answers the device.
 * The O(devices) count behind the dense-allocation check is skipped while
 * the revision is the one of this process's last allocation (struct
 * alloc_hint): no device was added or removed anywhere since.
 *
 * Revisions. The revision is the meta row 'revision', bumped inside the
 * locked transaction: a transactional counter. A SEQUENCE would not do: its
 * values are taken outside of the transactions, so revision 6 could commit
 * (and be seen by a watcher, who then asks for events after 6) before
 * revision 5 does, and the watcher would never see 5.
 *
 * Readers. A read that needs several statements to agree (device_page and
 * device_list: the rows and the current revision; events_since: the events,
 * the current revision and the pruned floor) runs in BEGIN ISOLATION LEVEL
 * REPEATABLE READ READ ONLY (one snapshot); single statements run in
 * autocommit.
 *
 * Replicas. A transaction that records an event also runs
 * pg_notify('nexapi_changes', org_id), delivered at commit and only if it
 * commits. When store_options.changed is set, a listener thread owns a
 * second connection that LISTENs on that channel and calls changed(ctx,
 * org_id) for each notification of another process (those of this
 * process's own connection are left out: its writers wake their watchers
 * themselves). When that connection is lost it reconnects (0.5 s doubling
 * to 5 s), LISTENs again and calls changed(ctx, NULL): notifications may
 * have been missed, every watcher reads the history again.
 *
 * Connection. The main connection is used under a mutex (nexapi calls the
 * store from one thread; the mutex is a guard). Each operation starts by
 * checking it (an idle connection that the server ended is noticed then,
 * not at the first statement): a lost connection is reset once, and if it
 * still does not work the operation answers -ENOTCONN; while it is down,
 * reconnection is tried at most every RECONNECT_MS (an attempt can block
 * up to connect_timeout). A statement that fails because the connection
 * went away answers -ENOTCONN; a failed statement never gives a success.
 * The URI may hold a password: it is never logged (host, port and database
 * name are).
 *
 * Schema. Versioned migrations (migrations[], each a list of statements),
 * applied on open in one transaction under pg_advisory_xact_lock
 * (LOCK_SCHEMA): replicas starting at once on an empty database wait for
 * each other instead of racing on CREATE TABLE (a transaction-level lock,
 * released with the transaction even when a statement fails). Version 1 is
 * the SQLite store's schema 4 in PostgreSQL types (INTEGER 0/1 for the
 * booleans, as in SQLite). A database of a newer version is refused
 * (-EPROTONOSUPPORT).
 *
 * startup_lock holds the session-level advisory lock LOCK_STARTUP.
 *
 * Statements are parameterized ($1, ...; values are never formatted into
 * SQL text), prepared once per connection (by the address of their static
 * text, as the SQLite store caches them) and prepared again after a
 * reconnection; results are text, integers parsed with bounds checks. */
#include "nexapi/store.h"
#include "nexapi/store_schema.h"
#include "nexapi/validate.h"

#include <errno.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "nexapi/approval.h"
#include "nexapi/ipam.h"

/* Advisory lock keys ("nexapi" then a number). */
#define LOCK_WRITE "7954896676712939521"
#define LOCK_SCHEMA "7954896676712939522"
#define LOCK_STARTUP "7954896676712939523"

#define CHANNEL "nexapi_changes"

#define STMT_CACHE 128
/* While the database cannot be reached, operations try again this often. */
#define RECONNECT_MS 500
/* Tombstones of deleted devices are kept this long (as in SQLite). */
#define TOMBSTONE_SECONDS (366 * 86400)

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

struct store {
	struct store_base base;
	pthread_mutex_t lock;
	PGconn *conn;
	char *conninfo;             /* the URI: never logged */
	int64_t events_kept, prune_every;
	uint64_t errors;            /* atomic */
	bool down;                  /* unreachable (said once) */
	struct timespec tried;      /* the last reconnection attempt while down */
	int backend_pid;            /* atomic: the main connection's server process */
	const char *prepared[STMT_CACHE];   /* statements prepared on conn, by address */
	unsigned n_prepared;
	/* The device count and highest address number of one organization
	 * as of a revision (allocate). Every transaction that adds or removes
	 * a device (here or in another replica) takes a new revision, so
	 * while the revision is the same the count need not be read again
	 * (an O(devices) scan). `next`: this registration's, kept once it
	 * commits. */
	struct alloc_hint {
		bool valid;
		char org_id[STORE_ID_LEN + 1];
		int64_t revision, count;
		uint32_t max_used;
	} hint, hint_next;

	/* change notifications (listener thread) */
	void (*changed)(void *ctx, const char *org_id);
	void *changed_ctx;
	bool listening;
	pthread_t listener;
	int stop_fd;
	PGconn *lconn;              /* the listener's, owned by its thread once started */
};

/* ---- schema ---- */

/* Version 1: the shared tables (store_schema.c, run first by migrate)
 * and the counters. */
static const char *const schema_v1[] = {
	"INSERT INTO meta (key, value) VALUES ('revision', 0) ON CONFLICT (key) DO NOTHING",
	"INSERT INTO meta (key, value) VALUES ('pruned', 0) ON CONFLICT (key) DO NOTHING",
};

/* migrations[i] brings a database from schema version i to i + 1. */
static const struct {
	const char *const *sql;
	size_t n;
} migrations[] = {
	{ schema_v1, ARRAY_LEN(schema_v1) },
};

#define SCHEMA_VERSION ((int64_t)ARRAY_LEN(migrations))


#define TOKEN_COLS "t.id, t.kind, t.org_id, t.device_id, t.hash, t.created_at, t.expires_at, o.name"

#define REGKEY_COLS "k.id, k.org_id, o.name, k.hash, k.single_use, k.expires_at, k.used, k.revoked, " \
	"k.created_at, k.auto_approve, k.used_by_public_key, k.used_at"

/* ---- small helpers ---- */

/* The first line of msg, bounded, into buf. */
static const char *first_line(const char *msg, char *buf, size_t size)
{
	size_t n = msg ? strcspn(msg, "\r\n") : 0;

	if (n >= size)
		n = size - 1;
	memcpy(buf, msg ? msg : "", n);
	buf[n] = 0;
	return buf;
}

static void notice(void *arg, const char *message)
{
	char line[256];

	(void)arg;
	log_debug("store: PostgreSQL: %s", first_line(message, line, sizeof(line)));
}

static void count_error(struct store *s)
{
	__atomic_add_fetch(&s->errors, 1, __ATOMIC_RELAXED);
}

static uint64_t pg_errors(struct store *s)
{
	return __atomic_load_n(&s->errors, __ATOMIC_RELAXED);
}

/* A text parameter for an integer. */
struct num {
	char t[24];
};

static const char *num(struct num *b, int64_t v)
{
	snprintf(b->t, sizeof(b->t), "%lld", (long long)v);
	return b->t;
}

/* NULL (SQL NULL) for 0: an optional time. */
/* A limit (size_t) as a parameter, within int64. */
static const char *num_limit(struct num *b, size_t v)
{
	return num(b, v > (size_t)INT64_MAX ? INT64_MAX : (int64_t)v);
}

static const char *opt_num(struct num *b, int64_t v)
{
	return v ? num(b, v) : NULL;
}

static void col_copy(const PGresult *res, int row, int col, char *out, size_t size)
{
	const char *t = PQgetvalue(res, row, col);   /* "" for NULL */
	size_t n = strlen(t);

	if (n >= size)
		n = size - 1;
	memcpy(out, t, n);
	out[n] = 0;
}

/* A JSON text column; NULL reads as "[]" (as in SQLite). */
static char *col_dup(const PGresult *res, int row, int col)
{
	return strdup(PQgetisnull(res, row, col) ? "[]" : PQgetvalue(res, row, col));
}

/* An integer column; NULL reads as 0. -EIO when it is not an integer. */
static int col_i64(const PGresult *res, int row, int col, int64_t *out)
{
	const char *t;
	char *end;
	long long v;

	*out = 0;
	if (PQgetisnull(res, row, col))
		return 0;
	t = PQgetvalue(res, row, col);
	errno = 0;
	v = strtoll(t, &end, 10);
	if (errno || end == t || *end) {
		log_error("store: column %d is not an integer", col);
		return -EIO;
	}
	*out = v;
	return 0;
}

/* An integer 0/1 column as a bool. */
static int col_bool(const PGresult *res, int row, int col, bool *out)
{
	int64_t v;
	int err = col_i64(res, row, col, &v);

	*out = v != 0;
	return err;
}

static void hash_to_hex(char out[STORE_HASH_LEN * 2 + 1], const uint8_t h[STORE_HASH_LEN])
{
	sodium_bin2hex(out, STORE_HASH_LEN * 2 + 1, h, STORE_HASH_LEN);
}

static int hash_from_col(const PGresult *res, int row, int col, uint8_t h[STORE_HASH_LEN])
{
	const char *t = PQgetvalue(res, row, col);
	size_t n = 0;

	if (PQgetisnull(res, row, col) ||
	    sodium_hex2bin(h, STORE_HASH_LEN, t, strlen(t), NULL, &n, NULL) || n != STORE_HASH_LEN)
		return -EIO;
	return 0;
}

/* ---- running statements ---- */

/* A failed statement (res may be NULL): logged and counted. -ENOTCONN when
 * the connection is gone, else -EIO. */
static int fail(struct store *s, const char *what, const PGresult *res)
{
	const char *primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	char line[512];

	count_error(s);
	if (primary)
		log_error("store: %s: %s (SQLSTATE %s)", what, first_line(primary, line, sizeof(line)),
			  state ? state : "?");
	else
		log_error("store: %s: %s", what, first_line(PQerrorMessage(s->conn), line, sizeof(line)));
	return PQstatus(s->conn) == CONNECTION_BAD ? -ENOTCONN : -EIO;
}

static bool result_ok(const PGresult *res)
{
	ExecStatusType st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;

	return st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
}

/* Runs a static statement (prepared on first use on this connection). */
static PGresult *exec_stmt(struct store *s, const char *sql, int n, const char *const *params)
{
	char name[16];
	unsigned i;

	for (i = 0; i < s->n_prepared; i++)
		if (s->prepared[i] == sql)
			break;
	if (i == s->n_prepared) {
		PGresult *res;

		if (i == STMT_CACHE)
			return PQexecParams(s->conn, sql, n, NULL, params, NULL, NULL, 0);
		snprintf(name, sizeof(name), "nx%u", i);
		res = PQprepare(s->conn, name, sql, n, NULL);
		if (!result_ok(res))
			return res;
		PQclear(res);
		s->prepared[s->n_prepared++] = sql;
	}
	snprintf(name, sizeof(name), "nx%u", i);
	return PQexecPrepared(s->conn, name, n, params, NULL, NULL, 0);
}

#define RUN_UNIQUE 1   /* a unique violation is -EEXIST (not logged) */

/* Runs sql (a static text) with n text parameters. out: the result (the
 * caller PQclear()s it), or NULL. 0, -EEXIST (RUN_UNIQUE), -ENOTCONN, -EIO. */
static int run(struct store *s, int flags, const char *what, const char *sql, int n,
	       const char *const *params, PGresult **out)
{
	PGresult *res = exec_stmt(s, sql, n, params);
	int err;

	if (out)
		*out = NULL;
	if (result_ok(res)) {
		if (out)
			*out = res;
		else
			PQclear(res);
		return 0;
	}
	if ((flags & RUN_UNIQUE) && res) {
		const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);

		if (state && !strcmp(state, "23505")) {
			PQclear(res);
			return -EEXIST;
		}
	}
	err = fail(s, what, res);
	PQclear(res);
	return err;
}

/* Runs a statement; *changes: the rows it changed. */
static int run_changes(struct store *s, const char *what, const char *sql, int n,
		       const char *const *params, int64_t *changes)
{
	PGresult *res;
	int err;

	if ((err = run(s, 0, what, sql, n, params, &res)))
		return err;
	*changes = strtoll(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return 0;
}

/* Runs a statement that answers one integer (0 rows: -ENOENT). */
static int run_int(struct store *s, const char *what, const char *sql, int n,
		   const char *const *params, int64_t *v)
{
	PGresult *res;
	int err;

	if ((err = run(s, 0, what, sql, n, params, &res)))
		return err;
	if (PQntuples(res) < 1 || PQnfields(res) < 1)
		err = -ENOENT;
	else
		err = col_i64(res, 0, 0, v);
	PQclear(res);
	return err;
}

/* A transaction-control (or schema) statement without parameters. */
static int exec_simple(struct store *s, const char *what, const char *sql)
{
	PGresult *res = PQexec(s->conn, sql);
	int err = 0;

	if (!result_ok(res))
		err = fail(s, what, res);
	PQclear(res);
	return err;
}

/* A write transaction: serialized with every writer of every replica. */
static int begin(struct store *s)
{
	return exec_simple(s, "begin", "BEGIN; SELECT pg_advisory_xact_lock(" LOCK_WRITE ")");
}

/* A read transaction: one snapshot for its statements. */
static int begin_read(struct store *s)
{
	return exec_simple(s, "begin", "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

static int commit(struct store *s)
{
	PGresult *res;
	int err = 0;

	if (PQtransactionStatus(s->conn) != PQTRANS_INTRANS) {
		/* a failed transaction: COMMIT would roll it back */
		count_error(s);
		log_error("store: commit: the transaction is not in progress");
		return PQstatus(s->conn) == CONNECTION_BAD ? -ENOTCONN : -EIO;
	}
	res = PQexec(s->conn, "COMMIT");
	if (!result_ok(res))
		err = fail(s, "commit", res);
	else if (strcmp(PQcmdStatus(res), "COMMIT")) {
		count_error(s);
		log_error("store: commit: rolled back");
		err = -EIO;
	}
	PQclear(res);
	return err;
}

static void rollback(struct store *s)
{
	PGTransactionStatusType ts = PQtransactionStatus(s->conn);

	if (PQstatus(s->conn) == CONNECTION_OK && (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR))
		PQclear(PQexec(s->conn, "ROLLBACK"));
}

/* ---- connections ---- */

static PGconn *connect_db(const char *conninfo)
{
	/* ours first: the URI's own settings win */
	static const char *const keys[] = { "application_name", "connect_timeout", "keepalives",
					    "keepalives_idle", "keepalives_interval", "keepalives_count",
					    "dbname", NULL };
	const char *values[] = { "nexapi", "10", "1", "60", "10", "3", conninfo, NULL };
	PGconn *c = PQconnectdbParams(keys, values, 1);

	if (c)
		PQsetNoticeProcessor(c, notice, NULL);
	return c;
}

/* Where conn goes, for the log (never the URI: it may hold a password). */
static void conn_where(PGconn *c, char *out, size_t size)
{
	const char *host = c ? PQhost(c) : NULL, *port = c ? PQport(c) : NULL, *db = c ? PQdb(c) : NULL;

	snprintf(out, size, "%s:%s/%s", host && *host ? host : "?", port && *port ? port : "?",
		 db && *db ? db : "?");
}

/* Every operation starts here (the lock taken) and ends with leave(). */
static int enter(struct store *s)
{
	char where[256], line[512];

	pthread_mutex_lock(&s->lock);
	if (PQstatus(s->conn) == CONNECTION_OK) {
		/* An idle connection has nothing to read unless the server
		 * ended it (a restart, a failover): read that now, so that the
		 * first operation after it reconnects instead of failing. */
		struct pollfd p = { .fd = PQsocket(s->conn), .events = POLLIN };
		int i;

		/* (its last words first, then the end of the stream) */
		for (i = 0; i < 8 && poll(&p, 1, 0) > 0; i++)
			if (!PQconsumeInput(s->conn) || PQstatus(s->conn) != CONNECTION_OK)
				break;
		if (PQstatus(s->conn) == CONNECTION_OK)
			return 0;
	}
	/* While it is down, one attempt per RECONNECT_MS at most: a connection
	 * attempt can block (connect_timeout), and every request would. */
	if (s->down) {
		struct timespec now;

		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - s->tried.tv_sec) * 1000 + (now.tv_nsec - s->tried.tv_nsec) / 1000000 <
		    RECONNECT_MS) {
			count_error(s);
			return -ENOTCONN;
		}
	}
	PQreset(s->conn);
	clock_gettime(CLOCK_MONOTONIC, &s->tried);
	s->n_prepared = 0;   /* a new session: nothing prepared */
	conn_where(s->conn, where, sizeof(where));
	if (PQstatus(s->conn) != CONNECTION_OK) {
		count_error(s);
		if (!s->down)
			log_error("store: PostgreSQL %s cannot be reached: %s", where,
				  first_line(PQerrorMessage(s->conn), line, sizeof(line)));
		s->down = true;
		return -ENOTCONN;
	}
	PQsetNoticeProcessor(s->conn, notice, NULL);
	__atomic_store_n(&s->backend_pid, PQbackendPID(s->conn), __ATOMIC_RELAXED);
	log_info("store: PostgreSQL %s reached again", where);
	s->down = false;
	return 0;
}

static int leave(struct store *s, int err)
{
	/* nothing may stay open on the connection between operations */
	rollback(s);
	pthread_mutex_unlock(&s->lock);
	return err;
}

/* ---- schema ---- */

static int migrate(struct store *s, int64_t *version_out)
{
	static const char sql_get[] = "SELECT value FROM meta WHERE key = 'schema'";
	static const char sql_set[] = "INSERT INTO meta (key, value) VALUES ('schema', $1::bigint)"
				      " ON CONFLICT (key) DO UPDATE SET value = excluded.value";
	PGresult *res;
	int64_t version = 0;
	struct num b;
	const char *p[1];
	int err;

	if ((err = exec_simple(s, "begin", "BEGIN; SELECT pg_advisory_xact_lock(" LOCK_SCHEMA ")")))
		return err;
	res = PQexec(s->conn, "SELECT to_regclass('meta') IS NOT NULL");
	if (!result_ok(res) || PQntuples(res) != 1) {
		err = fail(s, "schema", res);
		PQclear(res);
		goto err_rollback;
	}
	if (!strcmp(PQgetvalue(res, 0, 0), "t")) {
		err = run_int(s, "schema version", sql_get, 0, NULL, &version);
		if (err == -ENOENT)
			version = 0;
		else if (err) {
			PQclear(res);
			goto err_rollback;
		}
	}
	PQclear(res);
	if (version > SCHEMA_VERSION) {
		log_error("store: database schema %lld is newer than this nexapi's (%lld)",
			  (long long)version, (long long)SCHEMA_VERSION);
		err = -EPROTONOSUPPORT;
		goto err_rollback;
	}
	if (version < 0) {
		log_error("store: database schema %lld is not a version", (long long)version);
		err = -EIO;
		goto err_rollback;
	}
	for (int64_t v = version; v < SCHEMA_VERSION; v++) {
		for (size_t i = 0; v == 0 && i < store_tables_n; i++)
			if ((err = exec_simple(s, "schema", store_tables[i])))
				goto err_rollback;
		for (size_t i = 0; i < migrations[v].n; i++)
			if ((err = exec_simple(s, "schema", migrations[v].sql[i])))
				goto err_rollback;
	}
	if (version < SCHEMA_VERSION) {
		p[0] = num(&b, SCHEMA_VERSION);
		if ((err = run(s, 0, "set schema version", sql_set, 1, p, NULL)))
			goto err_rollback;
	}
	if ((err = commit(s)))
		goto err_rollback;
	if (version && version < SCHEMA_VERSION)
		log_info("store: database schema upgraded from %lld to %lld", (long long)version,
			 (long long)SCHEMA_VERSION);
	*version_out = SCHEMA_VERSION;
	return 0;

err_rollback:
	rollback(s);
	return err;
}

/* ---- change notifications ---- */

/* A connection LISTENing on CHANNEL, or NULL (*why: the reason). */
static PGconn *listen_connect(struct store *s, char *why, size_t len)
{
	PGconn *c = connect_db(s->conninfo);
	PGresult *res;

	if (!c) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		first_line(PQerrorMessage(c), why, len);
		PQfinish(c);
		return NULL;
	}
	res = PQexec(c, "LISTEN " CHANNEL);
	if (!result_ok(res)) {
		first_line(PQerrorMessage(c), why, len);
		PQclear(res);
		PQfinish(c);
		return NULL;
	}
	PQclear(res);
	return c;
}

/* Waits ms or until close() asks to stop: true when stopping. */
static bool wait_stop(struct store *s, int ms)
{
	struct pollfd p = { .fd = s->stop_fd, .events = POLLIN };

	return poll(&p, 1, ms) > 0;
}

static void deliver(struct store *s, PGconn *c)
{
	PGnotify *n;
	int own = __atomic_load_n(&s->backend_pid, __ATOMIC_RELAXED);

	while ((n = PQnotifies(c))) {
		if (!strcmp(n->relname, CHANNEL) && n->be_pid != own)
			s->changed(s->changed_ctx, n->extra);
		PQfreemem(n);
	}
}

static void *listen_main(void *arg)
{
	struct store *s = arg;
	PGconn *c = s->lconn;
	int backoff = 500;
	char why[256];

	s->lconn = NULL;
	for (;;) {
		struct pollfd p[2];
		int r;

		if (!c) {
			if (wait_stop(s, backoff))
				break;
			if (!(c = listen_connect(s, why, sizeof(why)))) {
				log_debug("store: change notifications: %s", why);
				backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
				continue;
			}
			backoff = 500;
			log_info("store: change notifications restored");
			s->changed(s->changed_ctx, NULL);
			continue;
		}
		p[0] = (struct pollfd){ .fd = PQsocket(c), .events = POLLIN };
		p[1] = (struct pollfd){ .fd = s->stop_fd, .events = POLLIN };
		r = poll(p, 2, 1000);
		if (r < 0 && errno != EINTR) {
			log_error("store: change notifications: poll: %s", strerror(errno));
			wait_stop(s, 1000);
			continue;
		}
		if (r > 0 && p[1].revents)
			break;
		if (r > 0 && p[0].revents && !PQconsumeInput(c)) {
			log_warn("store: change notifications lost: %s; reconnecting",
				 first_line(PQerrorMessage(c), why, sizeof(why)));
			PQfinish(c);
			c = NULL;
			continue;
		}
		deliver(s, c);
		if (PQstatus(c) != CONNECTION_OK) {
			log_warn("store: change notifications lost: %s; reconnecting",
				 first_line(PQerrorMessage(c), why, sizeof(why)));
			PQfinish(c);
			c = NULL;
		}
	}
	if (c)
		PQfinish(c);
	return NULL;
}

/* ---- open, close, locks ---- */

static void pg_close(struct store *s)
{
	if (!s)
		return;
	if (s->listening) {
		uint64_t one = 1;

		if (write(s->stop_fd, &one, sizeof(one)) != sizeof(one))
			log_warn("store: cannot stop the notification listener: %s", strerror(errno));
		else
			pthread_join(s->listener, NULL);
	}
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	if (s->lconn)
		PQfinish(s->lconn);
	if (s->conn)
		PQfinish(s->conn);
	if (s->conninfo) {
		sodium_memzero(s->conninfo, strlen(s->conninfo));
		free(s->conninfo);
	}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int pg_open(const char *uri, const struct store_options *opt, struct store **out)
{
	PQconninfoOption *parsed;
	char where[256], line[512];
	struct store *s;
	int64_t version;
	char *errmsg = NULL;
	int err;

	/* not the parser's message: it may quote the URI */
	if (!(parsed = PQconninfoParse(uri, &errmsg))) {
		log_error("store: the PostgreSQL URI is malformed");
		PQfreemem(errmsg);
		return -EINVAL;
	}
	PQconninfoFree(parsed);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &store_pg_ops;
	s->stop_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	s->events_kept = opt->events_kept < 10 ? 10 : opt->events_kept;
	s->prune_every = s->events_kept / 10;
	s->changed = opt->changed;
	s->changed_ctx = opt->changed_ctx;
	if (!(s->conninfo = strdup(uri))) {
		err = -ENOMEM;
		goto err_close;
	}
	s->conn = connect_db(uri);
	if (!s->conn) {
		err = -ENOMEM;
		goto err_close;
	}
	if (PQstatus(s->conn) != CONNECTION_OK) {
		log_error("store: cannot connect to PostgreSQL: %s",
			  first_line(PQerrorMessage(s->conn), line, sizeof(line)));
		err = -ENOTCONN;
		goto err_close;
	}
	__atomic_store_n(&s->backend_pid, PQbackendPID(s->conn), __ATOMIC_RELAXED);
	if ((err = migrate(s, &version)))
		goto err_close;
	if (s->changed) {
		if ((s->stop_fd = eventfd(0, EFD_CLOEXEC)) < 0) {
			err = -errno;
			log_error("store: eventfd: %s", strerror(errno));
			goto err_close;
		}
		if (!(s->lconn = listen_connect(s, line, sizeof(line)))) {
			log_error("store: cannot connect to PostgreSQL (notifications): %s", line);
			err = -ENOTCONN;
			goto err_close;
		}
		if ((err = -pthread_create(&s->listener, NULL, listen_main, s))) {
			log_error("store: cannot start the notification listener: %s", strerror(-err));
			goto err_close;
		}
		s->listening = true;
	}
	conn_where(s->conn, where, sizeof(where));
	log_info("store: PostgreSQL %s, schema %lld", where, (long long)version);
	*out = s;
	return 0;

err_close:
	pg_close(s);
	return err;
}

static int pg_startup_lock(struct store *s, bool lock)
{
	static const char sql_lock[] = "SELECT pg_advisory_lock(" LOCK_STARTUP ")";
	static const char sql_unlock[] = "SELECT pg_advisory_unlock(" LOCK_STARTUP ")";
	PGresult *res;
	int err;

	if (!(err = enter(s)) &&
	    !(err = run(s, 0, lock ? "startup lock" : "startup unlock", lock ? sql_lock : sql_unlock, 0, NULL,
			&res))) {
		/* false: not held (the connection was reset since) */
		if (!lock && (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 0), "t")))
			err = -ENOLCK;
		PQclear(res);
	}
	return leave(s, err);
}

/* ---- organizations, tokens ---- */

static int insert_org(struct store *s, const struct org_rec *o)
{
	static const char sql[] =
		"INSERT INTO organizations (id, name, prefix, created_at, prefix6, exit_node_approval)"
		" VALUES ($1, $2, $3, $4, $5, $6)";
	struct num b;
	const char *p[] = { o->id, o->name, o->prefix, num(&b, o->created_at), o->prefix6[0] ? o->prefix6 : NULL,
			    o->approval_auto ? "auto" : "admin" };

	return run(s, RUN_UNIQUE, "insert organization", sql, 6, p, NULL);
}

/* replace: the device's tokens (t->device_id's) go first, in the same
 * statement. */
static int insert_token_ex(struct store *s, const struct token_rec *t, bool replace)
{
	static const char sql[] =
		"INSERT INTO tokens (id, kind, org_id, device_id, hash, created_at, expires_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7)";
	static const char sql_replace[] =
		"WITH gone AS (DELETE FROM tokens WHERE device_id = $4)"
		" INSERT INTO tokens (id, kind, org_id, device_id, hash, created_at, expires_at)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7)";
	char kind[2] = { t->kind, 0 };
	char hex[STORE_HASH_LEN * 2 + 1];
	struct num b1, b2;
	const char *p[7];

	hash_to_hex(hex, t->hash);
	p[0] = t->id;
	p[1] = kind;
	p[2] = t->org_id[0] ? t->org_id : NULL;
	p[3] = t->device_id[0] ? t->device_id : NULL;
	p[4] = hex;
	p[5] = num(&b1, t->created_at);
	p[6] = opt_num(&b2, t->expires_at);
	return run(s, RUN_UNIQUE, "insert token", replace ? sql_replace : sql, 7, p, NULL);
}

static int insert_token(struct store *s, const struct token_rec *t)
{
	return insert_token_ex(s, t, false);
}

static int set_admin_pending(struct store *s, const char *id)
{
	static const char sql_clear[] = "DELETE FROM admin_pending";
	static const char sql_set[] = "INSERT INTO admin_pending (id) VALUES ($1)";
	const char *p[] = { id };
	int err;

	if ((err = run(s, 0, "clear admin_pending", sql_clear, 0, NULL, NULL)) || !id)
		return err;
	return run(s, 0, "set admin_pending", sql_set, 1, p, NULL);
}

static int count_orgs(struct store *s, int64_t *n)
{
	static const char sql[] = "SELECT COUNT(*) FROM organizations";

	return run_int(s, "count", sql, 0, NULL, n);
}

static int pg_bootstrap(struct store *s, const struct org_rec *org, const struct token_rec *admin,
			bool *created)
{
	int64_t n;
	int err;

	*created = false;
	if ((err = enter(s)) || (err = begin(s)) || (err = count_orgs(s, &n)))
		goto out;
	if (n == 0) {
		if ((err = insert_org(s, org)) || (err = insert_token(s, admin)) ||
		    (err = set_admin_pending(s, admin->id)))
			goto out;
	}
	if ((err = commit(s)))
		goto out;
	*created = n == 0;
out:
	return leave(s, err);
}

static int pg_admin_pending(struct store *s, char id[STORE_TOKEN_ID_LEN + 1])
{
	static const char sql[] = "SELECT id FROM admin_pending LIMIT 1";
	PGresult *res;
	int err;

	id[0] = 0;
	if (!(err = enter(s)) && !(err = run(s, 0, "get admin_pending", sql, 0, NULL, &res))) {
		if (PQntuples(res) > 0)
			col_copy(res, 0, 0, id, STORE_TOKEN_ID_LEN + 1);
		PQclear(res);
	}
	return leave(s, err);
}

static int pg_admin_written(struct store *s)
{
	int err;

	if (!(err = enter(s)) && !(err = begin(s)) && !(err = set_admin_pending(s, NULL)))
		err = commit(s);
	return leave(s, err);
}

/* A committed write of one row, without the writers' lock (a health check
 * does not wait for a long write of another replica). */
static int pg_write_check(struct store *s, char *why, size_t len)
{
	static const char sql[] = "INSERT INTO meta (key, value) VALUES ('health', $1::bigint)"
				  " ON CONFLICT (key) DO UPDATE SET value = excluded.value";
	struct num b;
	const char *p[] = { num(&b, (int64_t)time(NULL)) };
	const char *state, *primary;
	PGresult *res;
	int err;

	if ((err = enter(s))) {
		first_line(PQerrorMessage(s->conn), why, len);
		return leave(s, err);
	}
	res = exec_stmt(s, sql, 1, p);
	if (result_ok(res)) {
		PQclear(res);
		return leave(s, 0);
	}
	state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	first_line(primary ? primary : PQerrorMessage(s->conn), why, len);
	/* counted, not logged: /healthz says it (once) */
	count_error(s);
	err = PQstatus(s->conn) == CONNECTION_BAD ? -ENOTCONN : -EIO;
	if (state && !strcmp(state, "53100"))   /* disk_full */
		err = -ENOSPC;
	else if (state && !strcmp(state, "25006"))   /* read_only_sql_transaction */
		err = -EROFS;
	PQclear(res);
	return leave(s, err);
}

static int pg_org_create(struct store *s, const struct org_rec *org, unsigned max_orgs)
{
	int64_t n;
	int err;

	if ((err = enter(s)) || (err = begin(s)) || (err = count_orgs(s, &n)))
		goto out;
	if (n >= max_orgs) {
		err = -EDQUOT;
		goto out;
	}
	if (!(err = insert_org(s, org)))
		err = commit(s);
out:
	return leave(s, err);
}

static int read_org(const PGresult *res, int row, void *rec)
{
	struct org_rec *o = rec;
	memset(o, 0, sizeof(*o));
	col_copy(res, row, 0, o->id, sizeof(o->id));
	col_copy(res, row, 1, o->name, sizeof(o->name));
	col_copy(res, row, 2, o->prefix, sizeof(o->prefix));
	col_copy(res, row, 4, o->prefix6, sizeof(o->prefix6));
	o->approval_auto = !strcmp(PQgetvalue(res, row, 5), "auto");
	return col_i64(res, row, 3, &o->created_at);
}

static int org_get(struct store *s, const char *id_or_name, struct org_rec *out)
{
	/* an id has a uuid's form and a name never has it: one or the other */
	static const char by_id[] = "SELECT " STORE_ORG_COLS " FROM organizations WHERE id = $1";
	static const char by_name[] = "SELECT " STORE_ORG_COLS " FROM organizations WHERE name = $1";
	const char *p[] = { id_or_name };
	PGresult *res;
	int err;

	if ((err = run(s, 0, "get organization", validate_uuid(id_or_name) == 0 ? by_id : by_name, 1, p,
		       &res)))
		return err;
	err = PQntuples(res) < 1 ? -ENOENT : read_org(res, 0, out);
	PQclear(res);
	return err;
}

static int pg_org_get(struct store *s, const char *id_or_name, struct org_rec *out)
{
	int err;

	if (!(err = enter(s)))
		err = org_get(s, id_or_name, out);
	return leave(s, err);
}

static int pg_org_set_approval(struct store *s, const char *id, bool approval_auto, struct org_rec *out)
{
	static const char sql[] = "UPDATE organizations SET exit_node_approval = $1 WHERE id = $2";
	const char *p[] = { approval_auto ? "auto" : "admin", id };
	struct org_rec o;
	int64_t changes;
	int err;

	if ((err = enter(s)) || (err = begin(s)) ||
	    (err = run_changes(s, "set exit_node_approval", sql, 2, p, &changes)))
		goto out;
	if (changes != 1) {
		err = -ENOENT;
		goto out;
	}
	if ((err = org_get(s, id, &o)) || (err = commit(s)))
		goto out;
	*out = o;
out:
	return leave(s, err);
}

/* Runs sql and reads every row with read_row into a new array of
 * `size`-byte records (*out, *n; NULL and 0 for none). */
static int list_rows(struct store *s, const char *what, const char *sql, int n_params,
		     const char *const *params, size_t size, int (*read_row)(const PGresult *, int, void *),
		     void **out, size_t *n)
{
	PGresult *res = NULL;
	char *v = NULL;
	int err, rows = 0;

	if ((err = enter(s)) || (err = run(s, 0, what, sql, n_params, params, &res)))
		goto out;
	rows = PQntuples(res);
	if (rows && !(v = calloc((size_t)rows, size))) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < rows; i++)
		if ((err = read_row(res, i, v + (size_t)i * size)))
			goto out;
	*out = v;
	*n = (size_t)rows;
	v = NULL;
out:
	free(v);
	PQclear(res);
	return leave(s, err);
}

static int pg_org_list(struct store *s, const char *only_id, struct org_rec **out, size_t *n)
{
	static const char sql_all[] = "SELECT " STORE_ORG_COLS " FROM organizations ORDER BY name";
	static const char sql_one[] = "SELECT " STORE_ORG_COLS " FROM organizations WHERE id = $1 ORDER BY name";
	const char *p[] = { only_id };
	void *v = NULL;
	int err = list_rows(s, "list organizations", only_id ? sql_one : sql_all, only_id ? 1 : 0,
			    p, sizeof(struct org_rec), read_org, &v, n);

	if (!err)
		*out = v;
	return err;
}

static int pg_token_create(struct store *s, const struct token_rec *t, unsigned max_per_org)
{
	static const char sql[] = "SELECT COUNT(*) FROM tokens WHERE org_id = $1 AND kind = 'o'";
	const char *p[] = { t->org_id };
	int64_t n = 0;
	int err;

	if ((err = enter(s)) || (err = begin(s)))
		goto out;
	if (t->org_id[0] && (err = run_int(s, "count", sql, 1, p, &n)))
		goto out;
	if (n >= max_per_org) {
		err = -EDQUOT;
		goto out;
	}
	if (!(err = insert_token(s, t)))
		err = commit(s);
out:
	return leave(s, err);
}

static int read_token(const PGresult *res, int row, void *rec)
{
	struct token_rec *out = rec;
	int err;

	memset(out, 0, sizeof(*out));
	col_copy(res, row, 0, out->id, sizeof(out->id));
	out->kind = PQgetvalue(res, row, 1)[0];
	col_copy(res, row, 2, out->org_id, sizeof(out->org_id));
	col_copy(res, row, 3, out->device_id, sizeof(out->device_id));
	col_copy(res, row, 7, out->org_name, sizeof(out->org_name));
	if ((err = col_i64(res, row, 5, &out->created_at)) || (err = col_i64(res, row, 6, &out->expires_at)))
		return err;
	return hash_from_col(res, row, 4, out->hash);
}

static int pg_token_get(struct store *s, const char *id, struct token_rec *out)
{
	static const char sql[] = "SELECT " TOKEN_COLS
		" FROM tokens t LEFT JOIN organizations o ON o.id = t.org_id WHERE t.id = $1";
	const char *p[] = { id };
	PGresult *res;
	int err;

	if (!(err = enter(s)) && !(err = run(s, 0, "get token", sql, 1, p, &res))) {
		err = PQntuples(res) < 1 ? -ENOENT : read_token(res, 0, out);
		PQclear(res);
	}
	return leave(s, err);
}

static int pg_token_list(struct store *s, const char *org_id, struct token_rec **out, size_t *n)
{
	static const char sql_all[] = "SELECT " TOKEN_COLS
		" FROM tokens t JOIN organizations o ON o.id = t.org_id WHERE t.kind = 'o'"
		" ORDER BY t.created_at DESC, t.id";
	static const char sql_org[] = "SELECT " TOKEN_COLS
		" FROM tokens t JOIN organizations o ON o.id = t.org_id WHERE t.kind = 'o' AND t.org_id = $1"
		" ORDER BY t.created_at DESC, t.id";
	const char *p[] = { org_id };
	void *v = NULL;
	int err = list_rows(s, "list tokens", org_id ? sql_org : sql_all, org_id ? 1 : 0,
			    p, sizeof(struct token_rec), read_token, &v, n);

	if (!err)
		*out = v;
	return err;
}

static int pg_token_delete(struct store *s, const char *id)
{
	static const char sql[] = "DELETE FROM tokens WHERE id = $1";
	const char *p[] = { id };
	int64_t changes;
	int err;

	/* with the writers' lock: not in the middle of a registration that
	 * checked it (as SQLite serializes every write) */
	if (!(err = enter(s)) && !(err = begin(s)) && !(err = run_changes(s, "delete token", sql, 1, p, &changes)))
		err = changes ? commit(s) : -ENOENT;
	return leave(s, err);
}

static int pg_device_token_renew(struct store *s, const struct token_rec *t, int64_t now)
{
	/* the device's expired tokens go; the ones still valid stay until they expire */
	static const char sql[] =
		"DELETE FROM tokens WHERE device_id = $1 AND expires_at IS NOT NULL AND expires_at <= $2";
	struct num b;
	const char *p[] = { t->device_id, num(&b, now) };
	int err;

	if (!(err = enter(s)) && !(err = begin(s)) &&
	    !(err = run(s, 0, "prune device tokens", sql, 2, p, NULL)) && !(err = insert_token(s, t)))
		err = commit(s);
	return leave(s, err);
}

static int pg_admin_rotate(struct store *s, const struct token_rec *admin)
{
	static const char sql[] = "DELETE FROM tokens WHERE kind = 'a'";
	int err;

	if (!(err = enter(s)) && !(err = begin(s)) && !(err = run(s, 0, "revoke admin tokens", sql, 0, NULL, NULL)) &&
	    !(err = insert_token(s, admin)) && !(err = set_admin_pending(s, admin->id)))
		err = commit(s);
	return leave(s, err);
}

/* ---- registration keys ---- */

static int pg_regkey_create(struct store *s, const struct regkey_rec *k, unsigned max_per_org)
{
	static const char sql_count[] = "SELECT COUNT(*) FROM reg_keys WHERE org_id = $1";
	static const char sql[] =
		"INSERT INTO reg_keys (id, org_id, hash, single_use, expires_at, used, revoked, created_at,"
		" auto_approve) VALUES ($1, $2, $3, $4, $5, 0, 0, $6, $7)";
	char hex[STORE_HASH_LEN * 2 + 1];
	struct num b1, b2;
	const char *pc[] = { k->org_id };
	const char *p[7];
	int64_t n;
	int err;

	if ((err = enter(s)) || (err = begin(s)) || (err = run_int(s, "count", sql_count, 1, pc, &n)))
		goto out;
	if (n >= max_per_org) {
		err = -EDQUOT;
		goto out;
	}
	hash_to_hex(hex, k->hash);
	p[0] = k->id;
	p[1] = k->org_id;
	p[2] = hex;
	p[3] = k->single_use ? "1" : "0";
	p[4] = opt_num(&b1, k->expires_at);
	p[5] = num(&b2, k->created_at);
	p[6] = k->auto_approve ? "1" : "0";
	if (!(err = run(s, RUN_UNIQUE, "insert reg key", sql, 7, p, NULL)))
		err = commit(s);
out:
	return leave(s, err);
}

static int read_regkey(const PGresult *res, int row, void *rec)
{
	struct regkey_rec *k = rec;
	int err;

	memset(k, 0, sizeof(*k));
	col_copy(res, row, 0, k->id, sizeof(k->id));
	col_copy(res, row, 1, k->org_id, sizeof(k->org_id));
	col_copy(res, row, 2, k->org_name, sizeof(k->org_name));
	col_copy(res, row, 10, k->used_by, sizeof(k->used_by));
	if ((err = col_bool(res, row, 4, &k->single_use)) || (err = col_i64(res, row, 5, &k->expires_at)) ||
	    (err = col_bool(res, row, 6, &k->used)) || (err = col_bool(res, row, 7, &k->revoked)) ||
	    (err = col_i64(res, row, 8, &k->created_at)) || (err = col_bool(res, row, 9, &k->auto_approve)) ||
	    (err = col_i64(res, row, 11, &k->used_at)))
		return err;
	return hash_from_col(res, row, 3, k->hash);
}

static int regkey_get(struct store *s, const char *id, struct regkey_rec *out)
{
	static const char sql[] = "SELECT " REGKEY_COLS
		" FROM reg_keys k JOIN organizations o ON o.id = k.org_id WHERE k.id = $1";
	const char *p[] = { id };
	PGresult *res;
	int err;

	if ((err = run(s, 0, "get reg key", sql, 1, p, &res)))
		return err;
	err = PQntuples(res) < 1 ? -ENOENT : read_regkey(res, 0, out);
	PQclear(res);
	return err;
}

static int pg_regkey_get(struct store *s, const char *id, struct regkey_rec *out)
{
	int err;

	if (!(err = enter(s)))
		err = regkey_get(s, id, out);
	return leave(s, err);
}

static int pg_regkey_list(struct store *s, const char *org_id, struct regkey_rec **out, size_t *n)
{
	static const char sql_all[] = "SELECT " REGKEY_COLS
		" FROM reg_keys k JOIN organizations o ON o.id = k.org_id"
		" ORDER BY k.created_at DESC, k.id";
	static const char sql_org[] = "SELECT " REGKEY_COLS
		" FROM reg_keys k JOIN organizations o ON o.id = k.org_id WHERE k.org_id = $1"
		" ORDER BY k.created_at DESC, k.id";
	const char *p[] = { org_id };
	void *v = NULL;
	int err = list_rows(s, "list reg keys", org_id ? sql_org : sql_all, org_id ? 1 : 0,
			    p, sizeof(struct regkey_rec), read_regkey, &v, n);

	if (!err)
		*out = v;
	return err;
}

static int pg_regkey_revoke(struct store *s, const char *id)
{
	static const char sql[] = "UPDATE reg_keys SET revoked = 1 WHERE id = $1";
	const char *p[] = { id };
	int64_t changes;
	int err;

	/* with the writers' lock: a registration that checked the key
	 * commits before, or sees it revoked */
	if (!(err = enter(s)) && !(err = begin(s)) && !(err = run_changes(s, "revoke reg key", sql, 1, p, &changes)))
		err = changes ? commit(s) : -ENOENT;
	return leave(s, err);
}

/* ---- devices ---- */

/* Reads STORE_DEVICE_COLS starting at column c (the events query has the same
 * columns, a constant for auto_approve). */
static int read_device(const PGresult *res, int row, int c, struct device_rec *d)
{
	int err;

	memset(d, 0, sizeof(*d));
	col_copy(res, row, c + 0, d->id, sizeof(d->id));
	col_copy(res, row, c + 1, d->org_id, sizeof(d->org_id));
	col_copy(res, row, c + 2, d->org_name, sizeof(d->org_name));
	col_copy(res, row, c + 3, d->hostname, sizeof(d->hostname));
	col_copy(res, row, c + 4, d->public_key, sizeof(d->public_key));
	col_copy(res, row, c + 5, d->tunnel_ip, sizeof(d->tunnel_ip));
	col_copy(res, row, c + 9, d->exit_node_status, sizeof(d->exit_node_status));
	col_copy(res, row, c + 10, d->os, sizeof(d->os));
	col_copy(res, row, c + 11, d->version, sizeof(d->version));
	if ((err = col_bool(res, row, c + 8, &d->exit_node_client)) ||
	    (err = col_i64(res, row, c + 12, &d->last_seen)) || (err = col_i64(res, row, c + 13, &d->revision)) ||
	    (err = col_i64(res, row, c + 14, &d->created_at)) || (err = col_bool(res, row, c + 17, &d->auto_approve)))
		return err;
	d->endpoints_json = col_dup(res, row, c + 6);
	d->cidrs_json = col_dup(res, row, c + 7);
	d->approved_json = col_dup(res, row, c + 16);
	if (!d->endpoints_json || !d->cidrs_json || !d->approved_json) {
		store_device_clear(d);
		return -ENOMEM;
	}
	if (!PQgetisnull(res, row, c + 15)) {
		const char *prefix6 = PQgetvalue(res, row, c + 15);

		if (ipam_derive6(prefix6, d->tunnel_ip, d->tunnel_ip6)) {
			log_error("store: device %s: bad prefix6 %s or tunnel_ip %s", d->id, prefix6,
				  d->tunnel_ip);
			store_device_clear(d);
			return -EIO;
		}
	}
	return 0;
}

/* Keeps the newest events_kept events of org_id (its own count: another
 * organization's changes never push an organization's watchers out of the
 * history). */
static int prune_history(struct store *s, const char *org_id)
{
	static const char sql_cut[] =
		"SELECT revision FROM events WHERE org_id = $1 ORDER BY revision DESC LIMIT 1 OFFSET $2";
	static const char sql_del[] = "DELETE FROM events WHERE org_id = $1 AND revision <= $2";
	static const char sql_mark[] =
		"INSERT INTO history_pruned (org_id, revision) VALUES ($1, $2)"
		" ON CONFLICT (org_id) DO UPDATE SET revision = excluded.revision";
	struct num b1, b2;
	const char *p[2] = { org_id, num(&b1, s->events_kept) };
	int64_t cut;
	int err;

	err = run_int(s, "prune events", sql_cut, 2, p, &cut);
	if (err == -ENOENT)
		return 0;   /* not more than events_kept */
	if (err)
		return err;
	p[1] = num(&b2, cut);
	if ((err = run(s, 0, "prune events", sql_del, 2, p, NULL)))
		return err;
	return run(s, 0, "prune events", sql_mark, 2, p, NULL);
}

/* Takes the next revision and records an event for device `id` (which must
 * still exist: else -ENOENT), notifying the other replicas at commit, in
 * one statement; out (if not NULL): the device as recorded (as get_device
 * reads it). Drops old events now and then. */
static int record_event(struct store *s, const char *id, enum event_type type, int64_t *rev_out,
			struct device_rec *out)
{
	static const char sql[] =
		"WITH r AS (UPDATE meta SET value = value + 1 WHERE key = 'revision' RETURNING value),"
		" d AS (UPDATE devices SET revision = (SELECT value FROM r) WHERE id = $1 RETURNING *),"
		" e AS (INSERT INTO events (revision, org_id, type, device_id, hostname, public_key,"
		" tunnel_ip, endpoints, advertise_cidrs, exit_node_client, exit_node_status, os, version,"
		" last_seen, created_at, approved_cidrs) SELECT revision, org_id, $2::integer, id,"
		" hostname, public_key, tunnel_ip, endpoints, advertise_cidrs, exit_node_client,"
		" exit_node_status, os, version, last_seen, created_at, approved_cidrs FROM d"
		" RETURNING revision, org_id, device_id)"
		" SELECT e.revision, e.org_id, pg_notify('" CHANNEL "', e.org_id), " STORE_DEVICE_COLS
		" FROM e JOIN d ON d.id = e.device_id JOIN organizations o ON o.id = d.org_id";
	char org_id[STORE_ID_LEN + 1];
	struct num b;
	const char *p[] = { id, num(&b, type) };
	PGresult *res;
	int64_t rev;
	int err;

	if ((err = run(s, 0, "record event", sql, 2, p, &res)))
		return err;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return -ENOENT;   /* no such device */
	}
	col_copy(res, 0, 1, org_id, sizeof(org_id));
	if (!(err = col_i64(res, 0, 0, &rev)) && out)
		err = read_device(res, 0, 3, out);
	PQclear(res);
	if (err)
		return err;
	if (rev % s->prune_every == 0 && (err = prune_history(s, org_id))) {
		if (out)
			store_device_clear(out);
		return err;
	}
	*rev_out = rev;
	return 0;
}

static int get_device(struct store *s, const char *id, struct device_rec *out)
{
	static const char sql[] = "SELECT " STORE_DEVICE_COLS
		" FROM devices d JOIN organizations o ON o.id = d.org_id WHERE d.id = $1";
	const char *p[] = { id };
	PGresult *res;
	int err;

	if ((err = run(s, 0, "get device", sql, 1, p, &res)))
		return err;
	err = PQntuples(res) < 1 ? -ENOENT : read_device(res, 0, 0, out);
	PQclear(res);
	return err;
}

/* An address number column: within 0..UINT32_MAX. */
static int col_addr(const PGresult *res, int row, int col, uint32_t *out)
{
	int64_t v;
	int err = col_i64(res, row, col, &v);

	if (err)
		return err;
	if (v < 0 || v > UINT32_MAX) {
		log_error("store: address number %lld out of range", (long long)v);
		return -EIO;
	}
	*out = (uint32_t)v;
	return 0;
}

/* The lowest free address of org_id's prefix (inside a write transaction).
 * Sets s->hint_next (but for its revision, known at the event). */
static int allocate(struct store *s, const char *org_id, unsigned max_devices, uint32_t *addr)
{
	/* the count and highest address only when the hint's revision is not
	 * the current one (PostgreSQL evaluates those subqueries lazily) */
	static const char sql_dense[] =
		"SELECT o.prefix, m.value,"
		" CASE WHEN m.value = $2::bigint THEN NULL"
		" ELSE (SELECT COUNT(*) FROM devices WHERE org_id = $1) END,"
		" CASE WHEN m.value = $2::bigint THEN NULL"
		" ELSE (SELECT COALESCE(MAX(tunnel_ip_num), 0) FROM devices WHERE org_id = $1) END"
		" FROM organizations o JOIN meta m ON m.key = 'revision' WHERE o.id = $1";
	static const char sql_used[] =
		"SELECT tunnel_ip_num FROM devices WHERE org_id = $1 ORDER BY tunnel_ip_num";
	bool hinted = s->hint.valid && !strcmp(s->hint.org_id, org_id);
	struct num b;
	const char *p[] = { org_id, num(&b, hinted ? s->hint.revision : -1) };
	char prefix[ADDR_CIDR_STRLEN];
	uint32_t net, max_used, *used = NULL;
	PGresult *res;
	int64_t n, rev;
	unsigned len;
	int rows, err;

	if ((err = run(s, 0, "count addresses", sql_dense, 2, p, &res)))
		return err;
	if (PQntuples(res) != 1) {
		PQclear(res);
		count_error(s);
		log_error("store: organization prefix: no organization %s", org_id);
		return -EIO;
	}
	col_copy(res, 0, 0, prefix, sizeof(prefix));
	if ((err = col_i64(res, 0, 1, &rev))) {
		PQclear(res);
		return err;
	}
	if (hinted && rev == s->hint.revision) {
		n = s->hint.count;
		max_used = s->hint.max_used;
	} else if ((err = col_i64(res, 0, 2, &n)) || (err = col_addr(res, 0, 3, &max_used))) {
		PQclear(res);
		return err;
	}
	PQclear(res);
	if (ipam_prefix_parse(prefix, &net, &len)) {
		log_error("store: organization %s has a bad prefix %s", org_id, prefix);
		return -EIO;
	}
	if (n >= max_devices)
		return -EDQUOT;
	err = ipam_next_if_dense(net, len, (size_t)n, max_used, addr);
	if (err == -EAGAIN) {
		if ((err = run(s, 0, "used addresses", sql_used, 1, p, &res)))
			return err;
		rows = PQntuples(res);
		if (rows && !(used = calloc((size_t)rows, sizeof(*used)))) {
			PQclear(res);
			return -ENOMEM;
		}
		for (int i = 0; i < rows; i++) {
			if ((err = col_addr(res, i, 0, &used[i]))) {
				PQclear(res);
				free(used);
				return err;
			}
		}
		PQclear(res);
		err = ipam_first_free(net, len, used, (size_t)rows, addr);
		free(used);
	}
	if (err)
		return err;
	s->hint_next.valid = true;
	snprintf(s->hint_next.org_id, sizeof(s->hint_next.org_id), "%s", org_id);
	s->hint_next.count = n + 1;
	s->hint_next.max_used = *addr > max_used ? *addr : max_used;
	return 0;
}

/* Recomputes approved_cidrs of device `id` after a change of its
 * advertise_cidrs (inside a write transaction), as in SQLite. */
static int follow_approval(struct store *s, const char *id)
{
	static const char sql_get[] =
		"SELECT d.advertise_cidrs, d.approved_cidrs, d.auto_approve, o.exit_node_approval"
		" FROM devices d JOIN organizations o ON o.id = d.org_id WHERE d.id = $1";
	static const char sql_set[] = "UPDATE devices SET approved_cidrs = $1 WHERE id = $2";
	char *advertised = NULL, *approved = NULL, *next = NULL;
	const char *p[2] = { id };
	PGresult *res;
	bool automatic;
	int err;

	if ((err = run(s, 0, "device approval", sql_get, 1, p, &res)))
		return err;
	if (PQntuples(res) < 1) {
		PQclear(res);
		return -ENOENT;
	}
	advertised = col_dup(res, 0, 0);
	approved = col_dup(res, 0, 1);
	err = col_bool(res, 0, 2, &automatic);
	automatic = automatic || !strcmp(PQgetvalue(res, 0, 3), "auto");
	PQclear(res);
	if (err)
		goto out;
	if (!advertised || !approved) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = approval_follow(approved, advertised, automatic, &next))) {
		if (err == -EIO)
			log_error("store: device %s: approved_cidrs or advertise_cidrs is not a list", id);
		goto out;
	}
	p[0] = next;
	p[1] = id;
	err = run(s, 0, "set approved_cidrs", sql_set, 2, p, NULL);
out:
	free(advertised);
	free(approved);
	free(next);
	return err;
}

static int device_register(struct store *s, const struct store_register *r, struct device_rec *out,
			   bool *created)
{
	/* the organization's approval mode, and the device if there is one */
	static const char sql_find[] =
		"SELECT o.exit_node_approval, d.id, d.approved_cidrs FROM organizations o"
		" LEFT JOIN devices d ON d.org_id = o.id AND d.public_key = $2 WHERE o.id = $1";
	/* A used single-use key passes again only for the public key that used
	 * it, within the retry window; the first use is what is remembered. */
	static const char sql_used[] =
		"UPDATE reg_keys SET used = 1,"
		" used_by_public_key = CASE WHEN used = 0 THEN $1::text ELSE used_by_public_key END,"
		" used_at = CASE WHEN used = 0 THEN $2::bigint ELSE used_at END"
		" WHERE id = $3 AND (single_use = 0 OR used = 0"
		" OR (used_by_public_key = $4::text AND used_at >= $5::bigint))";
	static const char sql_insert[] =
		"INSERT INTO devices (id, org_id, hostname, public_key, tunnel_ip, tunnel_ip_num, endpoints,"
		" advertise_cidrs, exit_node_client, exit_node_status, os, version, last_seen, revision,"
		" created_at, approved_cidrs, auto_approve)"
		" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, 'off', $9, $10, $11, 0, $12, $13, $14)";
	static const char sql_update[] =
		"UPDATE devices SET hostname = $1, endpoints = $2, advertise_cidrs = $3, os = $4, version = $5,"
		" last_seen = $6, auto_approve = $7, approved_cidrs = $8 WHERE id = $9";
	const char *ak = r->regkey_id ? r->regkey_id : "";
	char *approved = NULL, *next = NULL;
	struct regkey_rec key;
	struct token_rec tok;
	char id[STORE_ID_LEN + 1];
	struct num b1, b2, b3;
	const char *p[14];
	PGresult *res;
	bool automatic;
	int64_t rev, changes;
	int err;

	s->hint_next.valid = false;
	if ((err = begin(s)) || (err = regkey_get(s, ak, &key)))
		return err;
	if (key.revoked)
		return -EKEYREVOKED;
	if (key.expires_at && key.expires_at <= r->now)
		return -EKEYEXPIRED;
	if (key.single_use && key.used &&
	    (strcmp(key.used_by, r->dev.public_key) || key.used_at < r->now - STORE_REGKEY_RETRY_SECONDS))
		return -EKEYREJECTED;

	p[0] = key.org_id;
	p[1] = r->dev.public_key;
	if ((err = run(s, 0, "find device", sql_find, 2, p, &res)))
		return err;
	if (PQntuples(res) != 1) {
		PQclear(res);
		count_error(s);
		log_error("store: find device: no organization %s", key.org_id);
		return -EIO;
	}
	*created = PQgetisnull(res, 0, 1);
	if (*created)
		snprintf(id, sizeof(id), "%s", r->dev.id);
	else
		col_copy(res, 0, 1, id, sizeof(id));
	/* approved_cidrs as follow_approval would make them after the
	 * insert or update below (one statement fewer) */
	automatic = key.auto_approve || !strcmp(PQgetvalue(res, 0, 0), "auto");
	approved = *created ? strdup("[]") : col_dup(res, 0, 2);
	PQclear(res);
	if (!*created && !r->allow_existing) {
		/* Needs proof of its private key: nothing changes, the key is
		 * not consumed. */
		free(approved);
		memset(out, 0, sizeof(*out));
		snprintf(out->id, sizeof(out->id), "%s", id);
		return -EEXIST;
	}
	if (!approved) {
		err = -ENOMEM;
		goto out;
	}
	if (r->dev.cidrs_json && (err = approval_follow(approved, r->dev.cidrs_json, automatic, &next))) {
		if (err == -EIO)
			log_error("store: device %s: approved_cidrs or advertise_cidrs is not a list", id);
		goto out;
	}

	p[0] = r->dev.public_key;
	p[1] = num(&b1, r->now);
	p[2] = key.id;
	p[3] = r->dev.public_key;
	p[4] = num(&b2, r->now - STORE_REGKEY_RETRY_SECONDS);
	if ((err = run_changes(s, "use reg key", sql_used, 5, p, &changes)))
		goto out;
	if (changes != 1) {
		err = -EKEYREJECTED;
		goto out;
	}

	if (!*created) {
		p[0] = r->dev.hostname;
		p[1] = r->dev.endpoints_json;
		p[2] = r->dev.cidrs_json;
		p[3] = r->dev.os;
		p[4] = r->dev.version;
		p[5] = num(&b1, r->now);
		p[6] = key.auto_approve ? "1" : "0";
		p[7] = next;
		p[8] = id;
		if ((err = run(s, 0, "update device", sql_update, 9, p, NULL)))
			goto out;
	} else {
		uint32_t addr;
		char ip[16];

		if ((err = allocate(s, key.org_id, r->max_devices, &addr)))
			goto out;
		ipam_format(addr, ip);
		p[0] = id;
		p[1] = key.org_id;
		p[2] = r->dev.hostname;
		p[3] = r->dev.public_key;
		p[4] = ip;
		p[5] = num(&b1, addr);
		p[6] = r->dev.endpoints_json;
		p[7] = r->dev.cidrs_json;
		p[8] = r->dev.os;
		p[9] = r->dev.version;
		p[10] = num(&b2, r->now);
		p[11] = num(&b3, r->now);
		p[12] = next;
		p[13] = key.auto_approve ? "1" : "0";
		/* A duplicate address cannot pass the UNIQUE constraint (-EIO). */
		if ((err = run(s, 0, "insert device", sql_insert, 14, p, NULL)))
			goto out;
	}

	/* the device's tokens are replaced by this one */
	tok = r->token;
	tok.kind = TOKEN_DEVICE;
	snprintf(tok.org_id, sizeof(tok.org_id), "%s", key.org_id);
	snprintf(tok.device_id, sizeof(tok.device_id), "%s", id);
	if ((err = insert_token_ex(s, &tok, true)) || (err = record_event(s, id, EVENT_UPSERT, &rev, out)))
		goto out;
	if ((err = commit(s))) {
		store_device_clear(out);
		goto out;
	}
	if (s->hint_next.valid) {
		s->hint = s->hint_next;
		s->hint.revision = rev;
	}
out:
	free(approved);
	free(next);
	return err;
}

static int pg_device_register(struct store *s, const struct store_register *r, struct device_rec *out,
			      bool *created)
{
	int err;

	if (!(err = enter(s)))
		err = device_register(s, r, out, created);
	return leave(s, err);   /* rolls back what did not commit */
}

static int pg_device_get(struct store *s, const char *id, struct device_rec *out)
{
	int err;

	if (!(err = enter(s)))
		err = get_device(s, id, out);
	return leave(s, err);
}

static int current_revision(struct store *s, int64_t *rev)
{
	static const char sql[] = "SELECT value FROM meta WHERE key = 'revision'";
	int err = run_int(s, "revision", sql, 0, NULL, rev);

	if (err == -ENOENT) {
		count_error(s);
		log_error("store: no revision in meta");
		err = -EIO;
	}
	return err;
}

static int pg_device_page(struct store *s, const char *org_id, int64_t after, size_t limit,
			  struct device_rec **out, size_t *n, int64_t *revision, int64_t *last)
{
	static const char sql_all[] = "SELECT " STORE_DEVICE_COLS ", d.tunnel_ip_num"
		" FROM devices d JOIN organizations o ON o.id = d.org_id WHERE d.org_id = $1"
		" ORDER BY d.tunnel_ip_num";
	static const char sql_page[] = "SELECT " STORE_DEVICE_COLS ", d.tunnel_ip_num"
		" FROM devices d JOIN organizations o ON o.id = d.org_id"
		" WHERE d.org_id = $1 AND d.tunnel_ip_num > $2 ORDER BY d.tunnel_ip_num LIMIT $3";
	struct num b1, b2;
	const char *p[3] = { org_id, num(&b1, after), num_limit(&b2, limit) };
	struct device_rec *v = NULL;
	PGresult *res = NULL;
	int err, rows = 0;

	*last = -1;
	/* One read transaction: the list and the revision agree. */
	if ((err = enter(s)) || (err = begin_read(s)) || (err = current_revision(s, revision)) ||
	    (err = run(s, 0, "list devices", limit ? sql_page : sql_all, limit ? 3 : 1, p, &res)))
		goto out;
	rows = PQntuples(res);
	if (rows && !(v = calloc((size_t)rows, sizeof(*v)))) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < rows; i++) {
		if ((err = read_device(res, i, 0, &v[i])) || (err = col_i64(res, i, 18, last)))
			goto out;
	}
	if ((err = commit(s)))
		goto out;
	*out = v;
	*n = (size_t)rows;
	v = NULL;
out:
	if (v)   /* calloc'd: the rows not read are empty */
		store_devices_free(v, (size_t)rows);
	PQclear(res);
	return leave(s, err);
}

static int pg_device_list(struct store *s, const char *org_id, struct device_rec **out, size_t *n,
			  int64_t *revision)
{
	int64_t last;

	return pg_device_page(s, org_id, 0, 0, out, n, revision, &last);
}

static int pg_device_counts(struct store *s, char (**names)[64], int64_t **counts, size_t *n)
{
	static const char sql[] = "SELECT o.name, COUNT(d.id) FROM organizations o"
				  " LEFT JOIN devices d ON d.org_id = o.id GROUP BY o.id ORDER BY o.name";
	char (*nv)[64] = NULL;
	int64_t *cv = NULL;
	PGresult *res = NULL;
	int err, rows;

	if ((err = enter(s)) || (err = run(s, 0, "count devices", sql, 0, NULL, &res)))
		goto out;
	rows = PQntuples(res);
	if (rows && (!(nv = calloc((size_t)rows, sizeof(*nv))) || !(cv = calloc((size_t)rows, sizeof(*cv))))) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < rows; i++) {
		col_copy(res, i, 0, nv[i], sizeof(nv[i]));
		if ((err = col_i64(res, i, 1, &cv[i])))
			goto out;
	}
	*names = nv;
	*counts = cv;
	*n = (size_t)rows;
	nv = NULL;
	cv = NULL;
out:
	free(nv);
	free(cv);
	PQclear(res);
	return leave(s, err);
}

static int pg_device_update(struct store *s, const char *id, unsigned fields, const struct device_rec *in,
			    struct device_rec *out)
{
	static const char sql[] =
		"UPDATE devices SET"
		" hostname = CASE WHEN $1::boolean THEN $2::text ELSE hostname END,"
		" endpoints = CASE WHEN $3::boolean THEN $4::text ELSE endpoints END,"
		" advertise_cidrs = CASE WHEN $5::boolean THEN $6::text ELSE advertise_cidrs END,"
		" exit_node_client = CASE WHEN $7::boolean THEN $8::integer ELSE exit_node_client END,"
		" exit_node_status = CASE WHEN $9::boolean THEN $10::text ELSE exit_node_status END,"
		" os = CASE WHEN $11::boolean THEN $12::text ELSE os END,"
		" version = CASE WHEN $13::boolean THEN $14::text ELSE version END"
		" WHERE id = $15";
#define FLAG(f) ((fields & (f)) ? "1" : "0")
	const char *p[15] = {
		FLAG(DEV_HOSTNAME), in->hostname,
		FLAG(DEV_ENDPOINTS), in->endpoints_json ? in->endpoints_json : "[]",
		FLAG(DEV_CIDRS), in->cidrs_json ? in->cidrs_json : "[]",
		FLAG(DEV_EXIT_CLIENT), in->exit_node_client ? "1" : "0",
		FLAG(DEV_EXIT_STATUS), in->exit_node_status,
		FLAG(DEV_OS), in->os,
		FLAG(DEV_VERSION), in->version,
		id,
	};
#undef FLAG
	int64_t rev, changes;
	int err;

	if ((err = enter(s)) || (err = begin(s)) || (err = run_changes(s, "update device", sql, 15, p, &changes)))
		goto out;
	if (changes != 1) {
		err = -ENOENT;
		goto out;
	}
	if ((fields & DEV_CIDRS) && (err = follow_approval(s, id)))
		goto out;
	if ((err = record_event(s, id, EVENT_UPSERT, &rev, out)))
		goto out;
	if ((err = commit(s)))
		store_device_clear(out);
out:
	return leave(s, err);
}

static int pg_device_approve(struct store *s, const char *id, bool approve, const char *cidrs_json,
			     struct device_rec *out, char bad[ADDR_CIDR_STRLEN])
{
	static const char sql_get[] = "SELECT advertise_cidrs, approved_cidrs FROM devices WHERE id = $1";
	static const char sql_set[] = "UPDATE devices SET approved_cidrs = $1 WHERE id = $2";
	char *advertised = NULL, *approved = NULL, *next = NULL;
	const char *p[2] = { id };
	PGresult *res;
	int64_t rev;
	int err;

	if ((err = enter(s)) || (err = begin(s)) || (err = run(s, 0, "get device approval", sql_get, 1, p, &res)))
		goto out;
	if (PQntuples(res) < 1) {
		PQclear(res);
		err = -ENOENT;
		goto out;
	}
	advertised = col_dup(res, 0, 0);
	approved = col_dup(res, 0, 1);
	PQclear(res);
	if (!advertised || !approved) {
		err = -ENOMEM;
		goto out;
	}
	err = approve ? approval_add(approved, advertised, cidrs_json, bad, &next)
		      : approval_remove(approved, advertised, cidrs_json, &next);
	if (err)
		goto out;
	p[0] = next;
	p[1] = id;
	if ((err = run(s, 0, "set approved_cidrs", sql_set, 2, p, NULL)) ||
	    (err = record_event(s, id, EVENT_UPSERT, &rev, out)))
		goto out;
	if ((err = commit(s)))
		store_device_clear(out);
out:
	free(advertised);
	free(approved);
	free(next);
	return leave(s, err);
}

/* Keeps a tombstone of device `id` (inside the deleting transaction), as
 * in SQLite; drops tombstones past TOMBSTONE_SECONDS. */
static int bury(struct store *s, const char *id, const char *org_id, int64_t now)
{
	static const char sql_prune[] = "DELETE FROM deleted_devices WHERE deleted_at < $1";
	static const char sql_dev[] =
		"INSERT INTO deleted_devices (id, org_id, deleted_at) VALUES ($1, $2, $3)"
		" ON CONFLICT (id) DO NOTHING";
	static const char sql_tok[] =
		"INSERT INTO deleted_device_tokens (id, device_id, hash, created_at)"
		" SELECT id, device_id, hash, created_at FROM tokens WHERE device_id = $1"
		" ON CONFLICT (id) DO NOTHING";
	struct num b1, b2;
	const char *pp[] = { num(&b1, now - TOMBSTONE_SECONDS) };
	const char *pd[] = { id, org_id, num(&b2, now) };
	int err;

	if ((err = run(s, 0, "prune tombstones", sql_prune, 1, pp, NULL)) ||
	    (err = run(s, 0, "insert tombstone", sql_dev, 3, pd, NULL)))
		return err;
	return run(s, 0, "keep deleted device tokens", sql_tok, 1, pd, NULL);
}

static int pg_device_delete(struct store *s, const char *id, int64_t now, struct device_rec *out)
{
	static const char sql[] = "DELETE FROM devices WHERE id = $1";
	const char *p[] = { id };
	struct device_rec last;
	bool have = false;
	int64_t rev;
	int err;

	if ((err = enter(s)) || (err = begin(s)) || (err = record_event(s, id, EVENT_DELETE, &rev, &last)))
		goto out;
	have = true;
	if ((err = bury(s, id, last.org_id, now)) || (err = run(s, 0, "delete device", sql, 1, p, NULL)) ||
	    (err = commit(s)))
		goto out;
	if (out) {
		*out = last;
		have = false;
	}
out:
	if (have)
		store_device_clear(&last);
	return leave(s, err);
}

static int pg_deleted_token_get(struct store *s, const char *id, struct token_rec *out)
{
	static const char sql[] =
		"SELECT t.id, t.device_id, d.org_id, t.hash, t.created_at FROM deleted_device_tokens t"
		" JOIN deleted_devices d ON d.id = t.device_id WHERE t.id = $1";
	const char *p[] = { id };
	struct token_rec t;
	PGresult *res;
	int err;

	if ((err = enter(s)) || (err = run(s, 0, "get deleted token", sql, 1, p, &res)))
		return leave(s, err);
	if (PQntuples(res) < 1) {
		err = -ENOENT;
	} else {
		memset(&t, 0, sizeof(t));
		t.kind = TOKEN_DEVICE;
		col_copy(res, 0, 0, t.id, sizeof(t.id));
		col_copy(res, 0, 1, t.device_id, sizeof(t.device_id));
		col_copy(res, 0, 2, t.org_id, sizeof(t.org_id));
		if (!(err = hash_from_col(res, 0, 3, t.hash)) && !(err = col_i64(res, 0, 4, &t.created_at)))
			*out = t;
	}
	PQclear(res);
	return leave(s, err);
}

static int pg_device_touch(struct store *s, const char *id, int64_t now, int64_t min_age)
{
	static const char sql[] =
		"UPDATE devices SET last_seen = $1 WHERE id = $2 AND (last_seen IS NULL OR last_seen <= $3)";
	struct num b1, b2;
	const char *p[] = { num(&b1, now), id, num(&b2, now - min_age) };
	int err;

	if (!(err = enter(s)))
		err = run(s, 0, "touch device", sql, 3, p, NULL);
	return leave(s, err);
}

/* ---- history ---- */

static int pg_events_since(struct store *s, const char *org_id, int64_t since, size_t limit,
			   struct event_rec **out, size_t *n, int64_t *current, int64_t *oldest)
{
	static const char sql_pruned[] =
		"SELECT GREATEST((SELECT value FROM meta WHERE key = 'pruned'),"
		" COALESCE((SELECT revision FROM history_pruned WHERE org_id = $1), 0))";
	static const char sql[] =
		"SELECT e.revision, e.type, e.device_id, e.org_id, o.name, e.hostname, e.public_key,"
		" e.tunnel_ip, e.endpoints, e.advertise_cidrs, e.exit_node_client, e.exit_node_status,"
		" e.os, e.version, e.last_seen, e.revision, e.created_at, o.prefix6, e.approved_cidrs, 0"
		" FROM events e JOIN organizations o ON o.id = e.org_id"
		" WHERE e.org_id = $1 AND e.revision > $2 ORDER BY e.revision LIMIT $3";
	struct num b1, b2;
	const char *p[3] = { org_id, num(&b1, since), num_limit(&b2, limit) };
	struct event_rec *v = NULL;
	PGresult *res = NULL;
	int err, rows = 0;

	if ((err = enter(s)) || (err = begin_read(s)) || (err = current_revision(s, current)) ||
	    (err = run_int(s, "pruned", sql_pruned, 1, p, oldest)) ||
	    (err = run(s, 0, "events", sql, 3, p, &res)))
		goto out;
	rows = PQntuples(res);
	if (rows && !(v = calloc((size_t)rows, sizeof(*v)))) {
		err = -ENOMEM;
		goto out;
	}
	for (int i = 0; i < rows; i++) {
		int64_t type;

		if ((err = read_device(res, i, 2, &v[i].device)) || (err = col_i64(res, i, 0, &v[i].revision)) ||
		    (err = col_i64(res, i, 1, &type)))
			goto out;
		v[i].type = type ? EVENT_DELETE : EVENT_UPSERT;
	}
	if ((err = commit(s)))
		goto out;
	*out = v;
	*n = (size_t)rows;
	v = NULL;
out:
	if (v)   /* calloc'd: the rows not read are empty */
		store_events_free(v, (size_t)rows);
	PQclear(res);
	return leave(s, err);
}

static int pg_revision(struct store *s, int64_t *current)
{
	int err;

	if (!(err = enter(s)))
		err = current_revision(s, current);
	return leave(s, err);
}

/* The key pair is stored as hex text (the database's access control
 * protects it). */
static int pg_server_key(struct store *s, const uint8_t fresh_priv[KEY_LEN], const uint8_t fresh_pub[KEY_LEN],
			 uint8_t priv[KEY_LEN], uint8_t pub[KEY_LEN])
{
	static const char sql_add[] =
		"INSERT INTO server_keys (name, private_key, public_key, created_at)"
		" VALUES ('register-proof', $1, $2, $3) ON CONFLICT (name) DO NOTHING";
	static const char sql_get[] =
		"SELECT private_key, public_key FROM server_keys WHERE name = 'register-proof'";
	char priv_hex[KEY_HEX_LEN + 1], pub_hex[KEY_HEX_LEN + 1];
	uint8_t p[KEY_LEN], q[KEY_LEN];
	struct num b;
	const char *params[] = { priv_hex, pub_hex, num(&b, (int64_t)time(NULL)) };
	PGresult *res = NULL;
	int err;

	key_to_hex(priv_hex, fresh_priv);
	key_to_hex(pub_hex, fresh_pub);
	if ((err = enter(s)) || (err = begin(s)) || (err = run(s, 0, "insert server key", sql_add, 3, params, NULL)) ||
	    (err = run(s, 0, "get server key", sql_get, 0, NULL, &res)))
		goto out;
	if (PQntuples(res) != 1 || PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1) ||
	    key_from_hex(p, PQgetvalue(res, 0, 0)) || key_from_hex(q, PQgetvalue(res, 0, 1))) {
		log_error("store: the server key in the database is malformed");
		err = -EIO;
		goto out;
	}
	if ((err = commit(s)))
		goto out;
	memcpy(priv, p, KEY_LEN);
	memcpy(pub, q, KEY_LEN);
out:
	if (res) {
		if (PQntuples(res) > 0)
			sodium_memzero(PQgetvalue(res, 0, 0), (size_t)PQgetlength(res, 0, 0));
		PQclear(res);
	}
	sodium_memzero(priv_hex, sizeof(priv_hex));
	sodium_memzero(p, sizeof(p));
	return leave(s, err);
}

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.startup_lock = pg_startup_lock,
	.errors = pg_errors,
	.bootstrap = pg_bootstrap,
	.admin_pending = pg_admin_pending,
	.admin_written = pg_admin_written,
	.write_check = pg_write_check,
	.org_create = pg_org_create,
	.org_get = pg_org_get,
	.org_set_approval = pg_org_set_approval,
	.org_list = pg_org_list,
	.token_create = pg_token_create,
	.token_get = pg_token_get,
	.token_list = pg_token_list,
	.token_delete = pg_token_delete,
	.device_token_renew = pg_device_token_renew,
	.admin_rotate = pg_admin_rotate,
	.regkey_create = pg_regkey_create,
	.regkey_get = pg_regkey_get,
	.regkey_list = pg_regkey_list,
	.regkey_revoke = pg_regkey_revoke,
	.device_register = pg_device_register,
	.device_get = pg_device_get,
	.device_list = pg_device_list,
	.device_page = pg_device_page,
	.device_counts = pg_device_counts,
	.device_update = pg_device_update,
	.device_approve = pg_device_approve,
	.device_delete = pg_device_delete,
	.deleted_token_get = pg_deleted_token_get,
	.device_touch = pg_device_touch,
	.events_since = pg_events_since,
	.revision = pg_revision,
	.server_key = pg_server_key,
};
