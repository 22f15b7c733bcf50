/* The SQLite store: one connection, WAL journal, synchronous=FULL (a
 * response leaves only after its commit is on disk: a token shown to a
 * client survives a power cut, and every commit survives kill -9), foreign
 * keys on, a busy timeout, parameterized statements only (prepared once and
 * cached). Write transactions are BEGIN IMMEDIATE so that allocation reads
 * and writes are serialized; UNIQUE(org_id, tunnel_ip_num) backs that up.
 * The schema uses only types and constraints that PostgreSQL also has
 * (TEXT, BIGINT, INTEGER, UNIQUE, REFERENCES). */
#include "nexapi/store.h"
#include "nexapi/store_schema.h"
#include "nexapi/validate.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "nexapi/approval.h"
#include "nexapi/ipam.h"

#define STMT_CACHE 128
/* Tombstones of deleted devices are kept this long (then their tokens are
 * answered as unknown ones). */
#define TOMBSTONE_SECONDS (366 * 86400)

struct store {
	struct store_base base;
	sqlite3 *db;
	int64_t events_kept, prune_every;
	struct {
		const char *sql;
		sqlite3_stmt *st;
	} cache[STMT_CACHE];
};

/* The schema version this code writes (meta 'schema'). A database of an
 * older version is upgraded on open (upgrade_schema):
 *   1 -> 2: organizations.prefix6 (TEXT, NULL: no IPv6 prefix).
 *   2 -> 3: organizations.exit_node_approval ('admin'), devices.approved_cidrs
 *           (grandfathered: = advertise_cidrs) and auto_approve, the same
 *           approved_cidrs in events, reg_keys.auto_approve, used_by_public_key
 *           and used_at; the tables deleted_devices, deleted_device_tokens
 *           and server_keys (created by the CREATE ... IF NOT EXISTS). */
#define SCHEMA_VERSION 4
#define SCHEMA_VERSION_TEXT "4"

static const char *const schema_meta[] = {
	"INSERT INTO meta (key, value) VALUES ('schema', " SCHEMA_VERSION_TEXT ") ON CONFLICT (key) DO NOTHING",
	"INSERT INTO meta (key, value) VALUES ('revision', 0) ON CONFLICT (key) DO NOTHING",
	"INSERT INTO meta (key, value) VALUES ('pruned', 0) ON CONFLICT (key) DO NOTHING",
};


static uint64_t db_errors;   /* every db_error (metrics) */

static uint64_t sq_errors(struct store *s)
{
	(void)s;
	return __atomic_load_n(&db_errors, __ATOMIC_RELAXED);
}

static int db_error(struct store *s, const char *what)
{
	__atomic_add_fetch(&db_errors, 1, __ATOMIC_RELAXED);
	log_error("store: %s: %s", what, sqlite3_errmsg(s->db));
	return -EIO;
}

static sqlite3_stmt *stmt(struct store *s, const char *sql)
{
	unsigned i;

	for (i = 0; i < STMT_CACHE && s->cache[i].sql; i++) {
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].st);
			sqlite3_clear_bindings(s->cache[i].st);
			return s->cache[i].st;
		}
	}
	if (i == STMT_CACHE) {
		log_error("store: statement cache full");
		return NULL;
	}
	if (sqlite3_prepare_v2(s->db, sql, -1, &s->cache[i].st, NULL) != SQLITE_OK) {
		db_error(s, "prepare");
		return NULL;
	}
	s->cache[i].sql = sql;
	return s->cache[i].st;
}

static int exec(struct store *s, const char *sql)
{
	char *err = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
		log_error("store: %s: %s", sql, err ? err : "?");
		sqlite3_free(err);
		return -EIO;
	}
	return 0;
}

static int begin(struct store *s) { return exec(s, "BEGIN IMMEDIATE"); }
static int commit(struct store *s) { return exec(s, "COMMIT"); }
static void rollback(struct store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		exec(s, "ROLLBACK");
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

static void bind_opt_time(sqlite3_stmt *st, int i, int64_t v)
{
	if (v)
		sqlite3_bind_int64(st, i, v);
	else
		sqlite3_bind_null(st, i);
}

static void col_copy(sqlite3_stmt *st, int i, char *out, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	size_t n = t ? strlen((const char *)t) : 0;

	if (n >= size)
		n = size - 1;
	memcpy(out, t ? (const char *)t : "", n);
	out[n] = 0;
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	return strdup(t ? (const char *)t : "[]");
}

static void hash_to_hex(char out[STORE_HASH_LEN * 2 + 1], const uint8_t h[STORE_HASH_LEN])
{
	sodium_bin2hex(out, STORE_HASH_LEN * 2 + 1, h, STORE_HASH_LEN);
}

static int hash_from_col(sqlite3_stmt *st, int i, uint8_t h[STORE_HASH_LEN])
{
	const char *t = (const char *)sqlite3_column_text(st, i);
	size_t n = 0;

	if (!t || sodium_hex2bin(h, STORE_HASH_LEN, t, strlen(t), NULL, &n, NULL) || n != STORE_HASH_LEN)
		return -EIO;
	return 0;
}

void store_device_clear(struct device_rec *d)
{
	free(d->endpoints_json);
	free(d->cidrs_json);
	free(d->approved_json);
	d->endpoints_json = d->cidrs_json = d->approved_json = NULL;
}

void store_devices_free(struct device_rec *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_device_clear(&d[i]);
	free(d);
}

void store_events_free(struct event_rec *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		store_device_clear(&e[i].device);
	free(e);
}

/* Reads STORE_DEVICE_COLS starting at column `c` (the events query has the same
 * columns, a constant for auto_approve). */
static int read_device(sqlite3_stmt *st, int c, struct device_rec *d)
{
	const char *prefix6;

	memset(d, 0, sizeof(*d));
	col_copy(st, c + 0, d->id, sizeof(d->id));
	col_copy(st, c + 1, d->org_id, sizeof(d->org_id));
	col_copy(st, c + 2, d->org_name, sizeof(d->org_name));
	col_copy(st, c + 3, d->hostname, sizeof(d->hostname));
	col_copy(st, c + 4, d->public_key, sizeof(d->public_key));
	col_copy(st, c + 5, d->tunnel_ip, sizeof(d->tunnel_ip));
	d->endpoints_json = col_dup(st, c + 6);
	d->cidrs_json = col_dup(st, c + 7);
	d->exit_node_client = sqlite3_column_int(st, c + 8) != 0;
	col_copy(st, c + 9, d->exit_node_status, sizeof(d->exit_node_status));
	col_copy(st, c + 10, d->os, sizeof(d->os));
	col_copy(st, c + 11, d->version, sizeof(d->version));
	d->last_seen = sqlite3_column_int64(st, c + 12);
	d->revision = sqlite3_column_int64(st, c + 13);
	d->created_at = sqlite3_column_int64(st, c + 14);
	d->approved_json = col_dup(st, c + 16);
	d->auto_approve = sqlite3_column_int(st, c + 17) != 0;
	if (!d->endpoints_json || !d->cidrs_json || !d->approved_json) {
		store_device_clear(d);
		return -ENOMEM;
	}
	prefix6 = (const char *)sqlite3_column_text(st, c + 15);
	if (prefix6 && ipam_derive6(prefix6, d->tunnel_ip, d->tunnel_ip6)) {
		log_error("store: device %s: bad prefix6 %s or tunnel_ip %s", d->id, prefix6,
			  d->tunnel_ip);
		store_device_clear(d);
		return -EIO;
	}
	return 0;
}

static int count(struct store *s, const char *sql, const char *arg, int64_t *n);

static int has_column(struct store *s, const char *table_info_sql, const char *column,
		      bool *found)
{
	sqlite3_stmt *st;
	int rc;

	*found = false;
	if (sqlite3_prepare_v2(s->db, table_info_sql, -1, &st, NULL) != SQLITE_OK)
		return db_error(s, "table_info");
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		if (name && !strcmp(name, column))
			*found = true;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return db_error(s, "table_info");
	return 0;
}

/* The columns added since schema 1, each with what fills it in rows that
 * existed before (run only when the column is added). */
static const struct {
	const char *table_info, *column, *add, *fill;
} added_columns[] = {
	{ "PRAGMA table_info(organizations)", "prefix6", "ALTER TABLE organizations ADD COLUMN prefix6 TEXT",
	  NULL },
	{ "PRAGMA table_info(organizations)", "exit_node_approval",
	  "ALTER TABLE organizations ADD COLUMN exit_node_approval TEXT NOT NULL DEFAULT 'admin'", NULL },
	/* grandfathered: an upgrade does not cut a running exit node */
	{ "PRAGMA table_info(devices)", "approved_cidrs",
	  "ALTER TABLE devices ADD COLUMN approved_cidrs TEXT NOT NULL DEFAULT '[]'",
	  "UPDATE devices SET approved_cidrs = advertise_cidrs" },
	{ "PRAGMA table_info(devices)", "auto_approve",
	  "ALTER TABLE devices ADD COLUMN auto_approve INTEGER NOT NULL DEFAULT 0", NULL },
	{ "PRAGMA table_info(events)", "approved_cidrs",
	  "ALTER TABLE events ADD COLUMN approved_cidrs TEXT NOT NULL DEFAULT '[]'",
	  "UPDATE events SET approved_cidrs = advertise_cidrs" },
	{ "PRAGMA table_info(reg_keys)", "auto_approve",
	  "ALTER TABLE reg_keys ADD COLUMN auto_approve INTEGER NOT NULL DEFAULT 0", NULL },
	{ "PRAGMA table_info(reg_keys)", "used_by_public_key",
	  "ALTER TABLE reg_keys ADD COLUMN used_by_public_key TEXT", NULL },
	{ "PRAGMA table_info(reg_keys)", "used_at", "ALTER TABLE reg_keys ADD COLUMN used_at BIGINT", NULL },
	/* tokens from before never expire */
	{ "PRAGMA table_info(tokens)", "expires_at", "ALTER TABLE tokens ADD COLUMN expires_at BIGINT", NULL },
};

/* Inside the open transaction, after the CREATE ... IF NOT EXISTS: brings
 * a database written by an older version up to SCHEMA_VERSION. Each step
 * checks the catalog too, so a half-known state cannot add a column twice. */
static int upgrade_schema(struct store *s)
{
	static const char sql_get[] = "SELECT value FROM meta WHERE key = 'schema'";
	static const char sql_set[] = "UPDATE meta SET value = ? WHERE key = 'schema'";
	sqlite3_stmt *st;
	int64_t version;
	bool found;
	int err;

	if ((err = count(s, sql_get, NULL, &version)))
		return err;
	if (version > SCHEMA_VERSION) {
		log_error("store: database schema %lld is newer than this nexapi's (%d)",
			  (long long)version, SCHEMA_VERSION);
		return -EIO;
	}
	if (version == SCHEMA_VERSION)
		return 0;
	for (size_t i = 0; i < sizeof(added_columns) / sizeof(added_columns[0]); i++) {
		if ((err = has_column(s, added_columns[i].table_info, added_columns[i].column, &found)))
			return err;
		if (found)
			continue;
		if ((err = exec(s, added_columns[i].add)) ||
		    (added_columns[i].fill && (err = exec(s, added_columns[i].fill))))
			return err;
	}
	if (!(st = stmt(s, sql_set)))
		return -EIO;
	sqlite3_bind_int64(st, 1, SCHEMA_VERSION);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "set schema version");
	log_info("store: database schema upgraded from %lld to %d", (long long)version,
		 SCHEMA_VERSION);
	return 0;
}

static int sq_open(const char *path, const struct store_options *opt, struct store **out)
{
	struct store *s;
	int fd, err = -EIO;

	/* Create the file ourselves so that it is 0600 from the start;
	 * SQLite gives the -wal and -shm files the same mode. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		log_error("store: %s: %s", path, strerror(errno));
		return err;
	}
	if (fchmod(fd, 0600) < 0)
		log_warn("store: chmod %s: %s", path, strerror(errno));
	close(fd);

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &store_sqlite_ops;
	s->events_kept = opt->events_kept < 10 ? 10 : opt->events_kept;
	s->prune_every = s->events_kept / 10;
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		log_error("store: open %s: %s", path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto err_close_db;
	}
	sqlite3_busy_timeout(s->db, 5000);
	if (exec(s, "PRAGMA journal_mode=WAL") || exec(s, "PRAGMA synchronous=FULL") ||
	    exec(s, "PRAGMA foreign_keys=ON"))
		goto err_close_db;
	if (begin(s))
		goto err_close_db;
	for (size_t i = 0; i < store_tables_n + sizeof(schema_meta) / sizeof(schema_meta[0]); i++) {
		if (exec(s, i < store_tables_n ? store_tables[i] : schema_meta[i - store_tables_n])) {
			rollback(s);
			goto err_close_db;
		}
	}
	if (upgrade_schema(s)) {
		rollback(s);
		goto err_close_db;
	}
	if (commit(s))
		goto err_close_db;
	*out = s;
	return 0;

err_close_db:
	for (unsigned i = 0; i < STMT_CACHE && s->cache[i].sql; i++)
		sqlite3_finalize(s->cache[i].st);
	sqlite3_close(s->db);
	free(s);
	return err;
}

/* One process per database file: nothing to serialize. */
static int sq_startup_lock(struct store *s, bool lock)
{
	(void)s;
	(void)lock;
	return 0;
}

static void sq_close(struct store *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < STMT_CACHE && s->cache[i].sql; i++)
		sqlite3_finalize(s->cache[i].st);
	if (sqlite3_close(s->db) != SQLITE_OK)
		log_warn("store: close: %s", sqlite3_errmsg(s->db));
	free(s);
}

static int insert_org(struct store *s, const struct org_rec *o)
{
	static const char sql[] =
		"INSERT INTO organizations (id, name, prefix, created_at, prefix6, exit_node_approval)"
		" VALUES (?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st = stmt(s, sql);
	int rc;

	if (!st)
		return -EIO;
	bind_text(st, 1, o->id);
	bind_text(st, 2, o->name);
	bind_text(st, 3, o->prefix);
	sqlite3_bind_int64(st, 4, o->created_at);
	if (o->prefix6[0])
		bind_text(st, 5, o->prefix6);
	else
		sqlite3_bind_null(st, 5);
	bind_text(st, 6, o->approval_auto ? "auto" : "admin");
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	if (rc != SQLITE_DONE)
		return db_error(s, "insert organization");
	return 0;
}

static int count(struct store *s, const char *sql, const char *arg, int64_t *n)
{
	sqlite3_stmt *st = stmt(s, sql);

	if (!st)
		return -EIO;
	if (arg)
		bind_text(st, 1, arg);
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_error(s, "count");
	*n = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return 0;
}

static int insert_token(struct store *s, const struct token_rec *t)
{
	static const char sql[] =
		"INSERT INTO tokens (id, kind, org_id, device_id, hash, created_at, expires_at)"
		" VALUES (?, ?, ?, ?, ?, ?, ?)";
	sqlite3_stmt *st = stmt(s, sql);
	char kind[2] = { t->kind, 0 };
	char hex[STORE_HASH_LEN * 2 + 1];
	int rc;

	if (!st)
		return -EIO;
	hash_to_hex(hex, t->hash);
	bind_text(st, 1, t->id);
	bind_text(st, 2, kind);
	if (t->org_id[0])
		bind_text(st, 3, t->org_id);
	if (t->device_id[0])
		bind_text(st, 4, t->device_id);
	bind_text(st, 5, hex);
	sqlite3_bind_int64(st, 6, t->created_at);
	if (t->expires_at)
		sqlite3_bind_int64(st, 7, t->expires_at);
	rc = sqlite3_step(st);
	if (rc == SQLITE_CONSTRAINT)
		return -EEXIST;
	if (rc != SQLITE_DONE)
		return db_error(s, "insert token");
	return 0;
}

static int set_admin_pending(struct store *s, const char *id)
{
	static const char sql_clear[] = "DELETE FROM admin_pending";
	static const char sql_set[] = "INSERT INTO admin_pending (id) VALUES (?)";
	sqlite3_stmt *st = stmt(s, sql_clear);

	if (!st)
		return -EIO;
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "clear admin_pending");
	if (!id)
		return 0;
	st = stmt(s, sql_set);
	if (!st)
		return -EIO;
	bind_text(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "set admin_pending");
	return 0;
}

static int sq_bootstrap(struct store *s, const struct org_rec *org, const struct token_rec *admin,
			bool *created)
{
	static const char sql[] = "SELECT COUNT(*) FROM organizations";
	int64_t n;
	int err;

	*created = false;
	if ((err = begin(s)))
		return err;
	if ((err = count(s, sql, NULL, &n)))
		goto err_rollback;
	if (n == 0) {
		if ((err = insert_org(s, org)) || (err = insert_token(s, admin)) ||
		    (err = set_admin_pending(s, admin->id)))
			goto err_rollback;
		*created = true;
	}
	if ((err = commit(s)))
		goto err_rollback;
	return 0;

err_rollback:
	rollback(s);
	return err;
}

static int sq_admin_pending(struct store *s, char id[STORE_TOKEN_ID_LEN + 1])
{
	static const char sql[] = "SELECT id FROM admin_pending LIMIT 1";
	sqlite3_stmt *st = stmt(s, sql);
	int rc;

	id[0] = 0;
	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		col_copy(st, 0, id, STORE_TOKEN_ID_LEN + 1);
	else if (rc != SQLITE_DONE)
		return db_error(s, "get admin_pending");
	sqlite3_reset(st);
	return 0;
}

static int sq_admin_written(struct store *s)
{
	int err;

	if ((err = begin(s)))
		return err;
	if ((err = set_admin_pending(s, NULL)) || (err = commit(s))) {
		rollback(s);
		return err;
	}
	return 0;
}

static int sq_write_check(struct store *s, char *why, size_t len)
{
	static const char sql[] = "INSERT INTO meta (key, value) VALUES ('health', ?) "
				  "ON CONFLICT (key) DO UPDATE SET value = excluded.value";
	sqlite3_stmt *st;
	int rc, err;

	if ((err = begin(s))) {
		snprintf(why, len, "%s", sqlite3_errmsg(s->db));
		return err;
	}
	st = stmt(s, sql);
	if (!st) {
		err = -EIO;
		goto fail;
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)time(NULL));
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		err = (rc & 0xff) == SQLITE_FULL ? -ENOSPC : (rc & 0xff) == SQLITE_READONLY ? -EROFS : -EIO;
		goto fail;
	}
	if (exec(s, "COMMIT")) {
		err = -EIO;
		goto fail;
	}
	return 0;

fail:
	snprintf(why, len, "%s", sqlite3_errmsg(s->db));
	rollback(s);
	return err;
}

static int sq_org_create(struct store *s, const struct org_rec *org, unsigned max_orgs)
{
	static const char sql[] = "SELECT COUNT(*) FROM organizations";
	int64_t n;
	int err;

	if ((err = begin(s)))
		return err;
	if ((err = count(s, sql, NULL, &n)))
		goto err_rollback;
	if (n >= max_orgs) {
		err = -EDQUOT;
		goto err_rollback;
	}
	if ((err = insert_org(s, org)) || (err = commit(s)))
		goto err_rollback;
	return 0;

err_rollback:
	rollback(s);
	return err;
}

static void read_org(sqlite3_stmt *st, struct org_rec *o)
{
	memset(o, 0, sizeof(*o));
	col_copy(st, 0, o->id, sizeof(o->id));
	col_copy(st, 1, o->name, sizeof(o->name));
	col_copy(st, 2, o->prefix, sizeof(o->prefix));
	o->created_at = sqlite3_column_int64(st, 3);
	col_copy(st, 4, o->prefix6, sizeof(o->prefix6));
	{
		const char *mode = (const char *)sqlite3_column_text(st, 5);
		o->approval_auto = mode && !strcmp(mode, "auto");
	}
}

static int sq_org_get(struct store *s, const char *id_or_name, struct org_rec *out)
{
	/* an id has a uuid's form and a name never has it: one or the other */
	static const char by_id[] = "SELECT " STORE_ORG_COLS " FROM organizations WHERE id = ?";
	static const char by_name[] = "SELECT " STORE_ORG_COLS " FROM organizations WHERE name = ?";
	sqlite3_stmt *st = stmt(s, validate_uuid(id_or_name) == 0 ? by_id : by_name);
	int rc;

	if (!st)
		return -EIO;
	bind_text(st, 1, id_or_name);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_error(s, "get organization");
	read_org(st, out);
	sqlite3_reset(st);
	return 0;
}

static int sq_org_set_approval(struct store *s, const char *id, bool approval_auto, struct org_rec *out)
{
	static const char sql[] = "UPDATE organizations SET exit_node_approval = ? WHERE id = ?";
	sqlite3_stmt *st;
	struct org_rec o;
	int err;

	if ((err = begin(s)))
		return err;
	err = -EIO;
	if (!(st = stmt(s, sql)))
		goto err_rollback;
	bind_text(st, 1, approval_auto ? "auto" : "admin");
	bind_text(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_error(s, "set exit_node_approval");
		goto err_rollback;
	}
	if (sqlite3_changes(s->db) != 1) {
		err = -ENOENT;
		goto err_rollback;
	}
	if ((err = sq_org_get(s, id, &o)) || (err = commit(s)))
		goto err_rollback;
	*out = o;
	return 0;

err_rollback:
	rollback(s);
	return err;
}

static int sq_org_list(struct store *s, const char *only_id, struct org_rec **out, size_t *n)
{
	static const char sql_all[] =
		"SELECT " STORE_ORG_COLS " FROM organizations ORDER BY name";
	static const char sql_one[] =
		"SELECT " STORE_ORG_COLS " FROM organizations WHERE id = ? ORDER BY name";
	sqlite3_stmt *st = stmt(s, only_id ? sql_one : sql_all);
	struct org_rec *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (!st)
		return -EIO;
	if (only_id)
		bind_text(st, 1, only_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			struct org_rec *nv;
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				sqlite3_reset(st);
				return -ENOMEM;
			}
			v = nv;
		}
		read_org(st, &v[len++]);
	}
	if (rc != SQLITE_DONE) {
		free(v);
		return db_error(s, "list organizations");
	}
	*out = v;
	*n = len;
	return 0;
}

static int sq_token_create(struct store *s, const struct token_rec *t, unsigned max_per_org)
{
	static const char sql[] = "SELECT COUNT(*) FROM tokens WHERE org_id = ? AND kind = 'o'";
	int64_t n = 0;
	int err;

	if ((err = begin(s)))
		return err;
	if (t->org_id[0] && (err = count(s, sql, t->org_id, &n)))
		goto err_rollback;
	if (n >= max_per_org) {
		err = -EDQUOT;
		goto err_rollback;
	}
	if ((err = insert_token(s, t)) || (err = commit(s)))
		goto err_rollback;
	return 0;

err_rollback:
	rollback(s);
	return err;
}

#define TOKEN_COLS "t.id, t.kind, t.org_id, t.device_id, t.hash, t.created_at, t.expires_at, o.name"

static int read_token(sqlite3_stmt *st, struct token_rec *out)
{
	const char *kind;

	memset(out, 0, sizeof(*out));
	col_copy(st, 0, out->id, sizeof(out->id));
	kind = (const char *)sqlite3_column_text(st, 1);
	out->kind = kind ? kind[0] : 0;
	col_copy(st, 2, out->org_id, sizeof(out->org_id));
	col_copy(st, 3, out->device_id, sizeof(out->device_id));
	out->created_at = sqlite3_column_int64(st, 5);
	out->expires_at = sqlite3_column_type(st, 6) == SQLITE_NULL ? 0 : sqlite3_column_int64(st, 6);
	col_copy(st, 7, out->org_name, sizeof(out->org_name));
	return hash_from_col(st, 4, out->hash);
}

static int sq_token_get(struct store *s, const char *id, struct token_rec *out)
{
	static const char sql[] = "SELECT " TOKEN_COLS
		" FROM tokens t LEFT JOIN organizations o ON o.id = t.org_id WHERE t.id = ?";
	sqlite3_stmt *st = stmt(s, sql);
	int rc;

	if (!st)
		return -EIO;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_error(s, "get token");
	rc = read_token(st, out);
	sqlite3_reset(st);
	return rc;
}

static int sq_token_list(struct store *s, const char *org_id, struct token_rec **out, size_t *n)
{
	static const char sql_all[] = "SELECT " TOKEN_COLS
		" FROM tokens t JOIN organizations o ON o.id = t.org_id WHERE t.kind = 'o'"
		" ORDER BY t.created_at DESC, t.id";
	static const char sql_org[] = "SELECT " TOKEN_COLS
		" FROM tokens t JOIN organizations o ON o.id = t.org_id WHERE t.kind = 'o' AND t.org_id = ?"
		" ORDER BY t.created_at DESC, t.id";
	sqlite3_stmt *st = stmt(s, org_id ? sql_org : sql_all);
	struct token_rec *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (!st)
		return -EIO;
	if (org_id)
		bind_text(st, 1, org_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			struct token_rec *nv;

			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				sqlite3_reset(st);
				return -ENOMEM;
			}
			v = nv;
		}
		if ((rc = read_token(st, &v[len])))
			break;
		len++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(v);
		return rc < 0 ? rc : db_error(s, "list tokens");
	}
	*out = v;
	*n = len;
	return 0;
}

static int sq_token_delete(struct store *s, const char *id)
{
	static const char sql[] = "DELETE FROM tokens WHERE id = ?";
	sqlite3_stmt *st = stmt(s, sql);

	if (!st)
		return -EIO;
	bind_text(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "delete token");
	return sqlite3_changes(s->db) ? 0 : -ENOENT;
}

static int sq_device_token_renew(struct store *s, const struct token_rec *t, int64_t now)
{
	/* the device's expired tokens go; the ones still valid stay until they expire */
	static const char sql[] =
		"DELETE FROM tokens WHERE device_id = ? AND expires_at IS NOT NULL AND expires_at <= ?";
	sqlite3_stmt *st;
	int err;

	if ((err = begin(s)))
		return err;
	err = -EIO;
	if (!(st = stmt(s, sql)))
		goto err_rollback;
	bind_text(st, 1, t->device_id);
	sqlite3_bind_int64(st, 2, now);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_error(s, "prune device tokens");
		goto err_rollback;
	}
	if ((err = insert_token(s, t)) || (err = commit(s)))
		goto err_rollback;
	return 0;

err_rollback:
	rollback(s);
	return err;
}

static int sq_admin_rotate(struct store *s, const struct token_rec *admin)
{
	static const char sql[] = "DELETE FROM tokens WHERE kind = 'a'";
	sqlite3_stmt *st;
	int err;

	if ((err = begin(s)))
		return err;
	err = -EIO;
	if (!(st = stmt(s, sql)))
		goto err_rollback;
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_error(s, "revoke admin tokens");
		goto err_rollback;
	}
	if ((err = insert_token(s, admin)) || (err = set_admin_pending(s, admin->id)) || (err = commit(s)))
		goto err_rollback;
	return 0;

err_rollback:
	rollback(s);
	return err;
}

static int sq_regkey_create(struct store *s, const struct regkey_rec *k, unsigned max_per_org)
{
	static const char sql_count[] = "SELECT COUNT(*) FROM reg_keys WHERE org_id = ?";
	static const char sql[] =
		"INSERT INTO reg_keys (id, org_id, hash, single_use, expires_at, used, revoked, created_at,"
		" auto_approve) VALUES (?, ?, ?, ?, ?, 0, 0, ?, ?)";
	char hex[STORE_HASH_LEN * 2 + 1];
	sqlite3_stmt *st;
	int64_t n;
	int err, rc;

	if ((err = begin(s)))
		return err;
	if ((err = count(s, sql_count, k->org_id, &n)))
		goto err_rollback;
	if (n >= max_per_org) {
		err = -EDQUOT;
		goto err_rollback;
	}
	err = -EIO;
	if (!(st = stmt(s, sql)))
		goto err_rollback;
	hash_to_hex(hex, k->hash);
	bind_text(st, 1, k->id);
	bind_text(st, 2, k->org_id);
	bind_text(st, 3, hex);
	sqlite3_bind_int(st, 4, k->single_use);
	bind_opt_time(st, 5, k->expires_at);
	sqlite3_bind_int64(st, 6, k->created_at);
	sqlite3_bind_int(st, 7, k->auto_approve);
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		err = rc == SQLITE_CONSTRAINT ? -EEXIST : db_error(s, "insert reg key");
		goto err_rollback;
	}
	if ((err = commit(s)))
		goto err_rollback;
	return 0;

err_rollback:
	rollback(s);
	return err;
}

#define REGKEY_COLS "k.id, k.org_id, o.name, k.hash, k.single_use, k.expires_at, k.used, k.revoked, " \
	"k.created_at, k.auto_approve, k.used_by_public_key, k.used_at"

static int read_regkey(sqlite3_stmt *st, struct regkey_rec *k)
{
	memset(k, 0, sizeof(*k));
	col_copy(st, 0, k->id, sizeof(k->id));
	col_copy(st, 1, k->org_id, sizeof(k->org_id));
	col_copy(st, 2, k->org_name, sizeof(k->org_name));
	k->single_use = sqlite3_column_int(st, 4) != 0;
	k->expires_at = sqlite3_column_int64(st, 5);
	k->used = sqlite3_column_int(st, 6) != 0;
	k->revoked = sqlite3_column_int(st, 7) != 0;
	k->created_at = sqlite3_column_int64(st, 8);
	k->auto_approve = sqlite3_column_int(st, 9) != 0;
	col_copy(st, 10, k->used_by, sizeof(k->used_by));
	k->used_at = sqlite3_column_int64(st, 11);
	return hash_from_col(st, 3, k->hash);
}

static int sq_regkey_get(struct store *s, const char *id, struct regkey_rec *out)
{
	static const char sql[] = "SELECT " REGKEY_COLS
		" FROM reg_keys k JOIN organizations o ON o.id = k.org_id WHERE k.id = ?";
	sqlite3_stmt *st = stmt(s, sql);
	int rc;

	if (!st)
		return -EIO;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_error(s, "get reg key");
	rc = read_regkey(st, out);
	sqlite3_reset(st);
	return rc;
}

static int sq_regkey_list(struct store *s, const char *org_id, struct regkey_rec **out, size_t *n)
{
	static const char sql_all[] = "SELECT " REGKEY_COLS
		" FROM reg_keys k JOIN organizations o ON o.id = k.org_id"
		" ORDER BY k.created_at DESC, k.id";
	static const char sql_org[] = "SELECT " REGKEY_COLS
		" FROM reg_keys k JOIN organizations o ON o.id = k.org_id WHERE k.org_id = ?"
		" ORDER BY k.created_at DESC, k.id";
	sqlite3_stmt *st = stmt(s, org_id ? sql_org : sql_all);
	struct regkey_rec *v = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (!st)
		return -EIO;
	if (org_id)
		bind_text(st, 1, org_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			struct regkey_rec *nv;
			cap = cap ? cap * 2 : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv)
				goto err_free;
			v = nv;
		}
		if (read_regkey(st, &v[len++]))
			goto err_free;
	}
	if (rc != SQLITE_DONE) {
		free(v);
		return db_error(s, "list reg keys");
	}
	*out = v;
	*n = len;
	return 0;

err_free:
	sqlite3_reset(st);
	free(v);
	return -ENOMEM;
}

static int sq_regkey_revoke(struct store *s, const char *id)
{
	static const char sql[] = "UPDATE reg_keys SET revoked = 1 WHERE id = ?";
	sqlite3_stmt *st = stmt(s, sql);

	if (!st)
		return -EIO;
	bind_text(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "revoke reg key");
	return sqlite3_changes(s->db) ? 0 : -ENOENT;
}


/* Keeps the newest events_kept events of the organization of device id
 * (its own count: another organization's changes never push an
 * organization's watchers out of the history). */
static int prune_history(struct store *s, const char *id)
{
	static const char sql_cut[] =
		"SELECT e.revision FROM events e WHERE e.org_id = (SELECT org_id FROM devices WHERE id = ?)"
		" ORDER BY e.revision DESC LIMIT 1 OFFSET ?";
	static const char sql_del[] =
		"DELETE FROM events WHERE org_id = (SELECT org_id FROM devices WHERE id = ?) AND revision <= ?";
	static const char sql_mark[] =
		"INSERT INTO history_pruned (org_id, revision) SELECT org_id, ? FROM devices WHERE id = ?"
		" ON CONFLICT (org_id) DO UPDATE SET revision = excluded.revision";
	sqlite3_stmt *st;
	int64_t cut;
	int rc;

	if (!(st = stmt(s, sql_cut)))
		return -EIO;
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, s->events_kept);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return 0;   /* not more than events_kept */
	if (rc != SQLITE_ROW)
		return db_error(s, "prune events");
	cut = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (!(st = stmt(s, sql_del)))
		return -EIO;
	bind_text(st, 1, id);
	sqlite3_bind_int64(st, 2, cut);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "prune events");
	if (!(st = stmt(s, sql_mark)))
		return -EIO;
	sqlite3_bind_int64(st, 1, cut);
	bind_text(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "prune events");
	return 0;
}

/* Takes the next revision and records an event for device `id` (which must
 * still exist). Drops old events now and then. */
static int record_event(struct store *s, const char *id, enum event_type type, int64_t *rev_out)
{
	static const char sql_bump[] = "UPDATE meta SET value = value + 1 WHERE key = 'revision'";
	static const char sql_rev[] = "SELECT value FROM meta WHERE key = 'revision'";
	static const char sql_dev[] = "UPDATE devices SET revision = ? WHERE id = ?";
	static const char sql_ev[] =
		"INSERT INTO events (revision, org_id, type, device_id, hostname, public_key, tunnel_ip,"
		" endpoints, advertise_cidrs, exit_node_client, exit_node_status, os, version, last_seen,"
		" created_at, approved_cidrs) SELECT ?, org_id, ?, id, hostname, public_key, tunnel_ip,"
		" endpoints, advertise_cidrs, exit_node_client, exit_node_status, os, version, last_seen,"
		" created_at, approved_cidrs FROM devices WHERE id = ?";
	sqlite3_stmt *st;
	int64_t rev;
	int err;

	if (!(st = stmt(s, sql_bump)) || sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "bump revision");
	if (count(s, sql_rev, NULL, &rev))
		return -EIO;
	if (!(st = stmt(s, sql_dev)))
		return -EIO;
	sqlite3_bind_int64(st, 1, rev);
	bind_text(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "device revision");
	if (sqlite3_changes(s->db) != 1)
		return -ENOENT;
	if (!(st = stmt(s, sql_ev)))
		return -EIO;
	sqlite3_bind_int64(st, 1, rev);
	sqlite3_bind_int(st, 2, type);
	bind_text(st, 3, id);
	if (sqlite3_step(st) != SQLITE_DONE || sqlite3_changes(s->db) != 1)
		return db_error(s, "insert event");
	if (rev % s->prune_every == 0 && (err = prune_history(s, id)))
		return err;
	*rev_out = rev;
	return 0;
}

static int get_device(struct store *s, const char *id, struct device_rec *out)
{
	static const char sql[] = "SELECT " STORE_DEVICE_COLS
		" FROM devices d JOIN organizations o ON o.id = d.org_id WHERE d.id = ?";
	sqlite3_stmt *st = stmt(s, sql);
	int rc;

	if (!st)
		return -EIO;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_error(s, "get device");
	rc = read_device(st, 0, out);
	sqlite3_reset(st);
	return rc;
}

/* The lowest free address of org_id's prefix (inside a write transaction). */
static int allocate(struct store *s, const char *org_id, unsigned max_devices, uint32_t *addr)
{
	static const char sql_prefix[] = "SELECT prefix FROM organizations WHERE id = ?";
	static const char sql_dense[] =
		"SELECT COUNT(*), COALESCE(MAX(tunnel_ip_num), 0) FROM devices WHERE org_id = ?";
	static const char sql_used[] =
		"SELECT tunnel_ip_num FROM devices WHERE org_id = ? ORDER BY tunnel_ip_num";
	sqlite3_stmt *st;
	char prefix[ADDR_CIDR_STRLEN];
	uint32_t net, *used = NULL;
	size_t n = 0, cap = 0;
	unsigned len;
	int rc, err;

	if (!(st = stmt(s, sql_prefix)))
		return -EIO;
	bind_text(st, 1, org_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_error(s, "organization prefix");
	col_copy(st, 0, prefix, sizeof(prefix));
	sqlite3_reset(st);
	if (ipam_prefix_parse(prefix, &net, &len)) {
		log_error("store: organization %s has a bad prefix %s", org_id, prefix);
		return -EIO;
	}
	if (!(st = stmt(s, sql_dense)))
		return -EIO;
	bind_text(st, 1, org_id);
	if (sqlite3_step(st) != SQLITE_ROW)
		return db_error(s, "count addresses");
	if (sqlite3_column_int64(st, 0) >= max_devices) {
		sqlite3_reset(st);
		return -EDQUOT;
	}
	err = ipam_next_if_dense(net, len, (size_t)sqlite3_column_int64(st, 0),
				 (uint32_t)sqlite3_column_int64(st, 1), addr);
	sqlite3_reset(st);
	if (err != -EAGAIN)
		return err;
	if (!(st = stmt(s, sql_used)))
		return -EIO;
	bind_text(st, 1, org_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			uint32_t *nu;
			cap = cap ? cap * 2 : 256;
			nu = realloc(used, cap * sizeof(*used));
			if (!nu) {
				free(used);
				sqlite3_reset(st);
				return -ENOMEM;
			}
			used = nu;
		}
		used[n++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		free(used);
		return db_error(s, "used addresses");
	}
	err = ipam_first_free(net, len, used, n, addr);
	free(used);
	return err;
}

/* Recomputes approved_cidrs of device `id` after a change of its
 * advertise_cidrs (inside a write transaction): everything advertised when
 * its organization approves automatically or it was enrolled with an
 * auto_approve key, else what stays advertised of what was approved. */
static int follow_approval(struct store *s, const char *id)
{
	static const char sql_get[] =
		"SELECT d.advertise_cidrs, d.approved_cidrs, d.auto_approve, o.exit_node_approval"
		" FROM devices d JOIN organizations o ON o.id = d.org_id WHERE d.id = ?";
	static const char sql_set[] = "UPDATE devices SET approved_cidrs = ? WHERE id = ?";
	char *advertised = NULL, *approved = NULL, *next = NULL;
	const char *mode;
	sqlite3_stmt *st;
	bool automatic;
	int rc, err = -EIO;

	if (!(st = stmt(s, sql_get)))
		return -EIO;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_error(s, "device approval");
	advertised = col_dup(st, 0);
	approved = col_dup(st, 1);
	mode = (const char *)sqlite3_column_text(st, 3);
	automatic = sqlite3_column_int(st, 2) != 0 || (mode && !strcmp(mode, "auto"));
	sqlite3_reset(st);
	if (!advertised || !approved) {
		err = -ENOMEM;
		goto out;
	}
	if ((err = approval_follow(approved, advertised, automatic, &next))) {
		if (err == -EIO)
			log_error("store: device %s: approved_cidrs or advertise_cidrs is not a list", id);
		goto out;
	}
	err = -EIO;
	if (!(st = stmt(s, sql_set)))
		goto out;
	bind_text(st, 1, next);
	bind_text(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_error(s, "set approved_cidrs");
		goto out;
	}
	err = 0;
out:
	free(advertised);
	free(approved);
	free(next);
	return err;
}

static int sq_device_register(struct store *s, const struct store_register *r,
			      struct device_rec *out, bool *created)
{
	static const char sql_find[] = "SELECT id FROM devices WHERE org_id = ? AND public_key = ?";
	/* A used single-use key passes again only for the public key that used
	 * it, within the retry window; the first use is what is remembered. */
	static const char sql_used[] =
		"UPDATE reg_keys SET used = 1,"
		" used_by_public_key = CASE WHEN used = 0 THEN ? ELSE used_by_public_key END,"
		" used_at = CASE WHEN used = 0 THEN ? ELSE used_at END"
		" WHERE id = ? AND (single_use = 0 OR used = 0 OR (used_by_public_key = ? AND used_at >= ?))";
	static const char sql_insert[] =
		"INSERT INTO devices (id, org_id, hostname, public_key, tunnel_ip, tunnel_ip_num, endpoints,"
		" advertise_cidrs, exit_node_client, exit_node_status, os, version, last_seen, revision,"
		" created_at, approved_cidrs, auto_approve)"
		" VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 'off', ?, ?, ?, 0, ?, '[]', ?)";
	static const char sql_update[] =
		"UPDATE devices SET hostname = ?, endpoints = ?, advertise_cidrs = ?, os = ?, version = ?,"
		" last_seen = ?, auto_approve = ? WHERE id = ?";
	static const char sql_revoke[] = "DELETE FROM tokens WHERE device_id = ?";
	struct regkey_rec key;
	struct token_rec tok;
	char id[STORE_ID_LEN + 1];
	sqlite3_stmt *st;
	int64_t rev;
	int err, rc;

	if ((err = begin(s)))
		return err;
	if ((err = sq_regkey_get(s, r->regkey_id, &key)))
		goto err_rollback;
	if (key.revoked)
		err = -EKEYREVOKED;
	else if (key.expires_at && key.expires_at <= r->now)
		err = -EKEYEXPIRED;
	else if (key.single_use && key.used &&
		 (strcmp(key.used_by, r->dev.public_key) ||
		  key.used_at < r->now - STORE_REGKEY_RETRY_SECONDS))
		err = -EKEYREJECTED;
	if (err)
		goto err_rollback;

	err = -EIO;
	if (!(st = stmt(s, sql_find)))
		goto err_rollback;
	bind_text(st, 1, key.org_id);
	bind_text(st, 2, r->dev.public_key);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		col_copy(st, 0, id, sizeof(id));
		sqlite3_reset(st);
		*created = false;
	} else if (rc == SQLITE_DONE) {
		*created = true;
		snprintf(id, sizeof(id), "%s", r->dev.id);
	} else {
		err = db_error(s, "find device");
		goto err_rollback;
	}
	if (!*created && !r->allow_existing) {
		/* Needs proof of its private key: nothing changes, the key is
		 * not consumed. */
		rollback(s);
		memset(out, 0, sizeof(*out));
		snprintf(out->id, sizeof(out->id), "%s", id);
		return -EEXIST;
	}

	if (!(st = stmt(s, sql_used)))
		goto err_rollback;
	bind_text(st, 1, r->dev.public_key);
	sqlite3_bind_int64(st, 2, r->now);
	bind_text(st, 3, key.id);
	bind_text(st, 4, r->dev.public_key);
	sqlite3_bind_int64(st, 5, r->now - STORE_REGKEY_RETRY_SECONDS);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_error(s, "use reg key");
		goto err_rollback;
	}
	if (sqlite3_changes(s->db) != 1) {
		err = -EKEYREJECTED;
		goto err_rollback;
	}

	if (!*created) {
		if (!(st = stmt(s, sql_update)))
			goto err_rollback;
		bind_text(st, 1, r->dev.hostname);
		bind_text(st, 2, r->dev.endpoints_json);
		bind_text(st, 3, r->dev.cidrs_json);
		bind_text(st, 4, r->dev.os);
		bind_text(st, 5, r->dev.version);
		sqlite3_bind_int64(st, 6, r->now);
		sqlite3_bind_int(st, 7, key.auto_approve);
		bind_text(st, 8, id);
		if (sqlite3_step(st) != SQLITE_DONE) {
			err = db_error(s, "update device");
			goto err_rollback;
		}
	} else {
		uint32_t addr;
		char ip[16];

		if ((err = allocate(s, key.org_id, r->max_devices, &addr)))
			goto err_rollback;
		ipam_format(addr, ip);
		err = -EIO;
		if (!(st = stmt(s, sql_insert)))
			goto err_rollback;
		bind_text(st, 1, id);
		bind_text(st, 2, key.org_id);
		bind_text(st, 3, r->dev.hostname);
		bind_text(st, 4, r->dev.public_key);
		bind_text(st, 5, ip);
		sqlite3_bind_int64(st, 6, addr);
		bind_text(st, 7, r->dev.endpoints_json);
		bind_text(st, 8, r->dev.cidrs_json);
		bind_text(st, 9, r->dev.os);
		bind_text(st, 10, r->dev.version);
		sqlite3_bind_int64(st, 11, r->now);
		sqlite3_bind_int64(st, 12, r->now);
		sqlite3_bind_int(st, 13, key.auto_approve);
		rc = sqlite3_step(st);
		if (rc != SQLITE_DONE) {
			/* A duplicate address cannot pass the UNIQUE constraint. */
			err = rc == SQLITE_CONSTRAINT ? -EIO : db_error(s, "insert device");
			if (rc == SQLITE_CONSTRAINT)
				log_error("store: insert device: %s", sqlite3_errmsg(s->db));
			goto err_rollback;
		}
	}
	if ((err = follow_approval(s, id)))
		goto err_rollback;

	err = -EIO;
	if (!(st = stmt(s, sql_revoke)))
		goto err_rollback;
	bind_text(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_error(s, "revoke device tokens");
		goto err_rollback;
	}
	tok = r->token;
	tok.kind = TOKEN_DEVICE;
	snprintf(tok.org_id, sizeof(tok.org_id), "%s", key.org_id);
	snprintf(tok.device_id, sizeof(tok.device_id), "%s", id);
	if ((err = insert_token(s, &tok)))
		goto err_rollback;
	if ((err = record_event(s, id, EVENT_UPSERT, &rev)))
		goto err_rollback;
	if ((err = get_device(s, id, out)))
		goto err_rollback;
	if ((err = commit(s))) {
		store_device_clear(out);
		goto err_rollback;
	}
	return 0;

err_rollback:
	rollback(s);
	return err;
}

static int sq_device_get(struct store *s, const char *id, struct device_rec *out)
{
	return get_device(s, id, out);
}

static int current_revision(struct store *s, int64_t *rev)
{
	static const char sql[] = "SELECT value FROM meta WHERE key = 'revision'";
	return count(s, sql, NULL, rev);
}

static int sq_device_page(struct store *s, const char *org_id, int64_t after, size_t limit,
			  struct device_rec **out, size_t *n, int64_t *revision, int64_t *last)
{
	static const char sql_all[] = "SELECT " STORE_DEVICE_COLS ", d.tunnel_ip_num"
		" FROM devices d JOIN organizations o ON o.id = d.org_id WHERE d.org_id = ?"
		" ORDER BY d.tunnel_ip_num";
	static const char sql_page[] = "SELECT " STORE_DEVICE_COLS ", d.tunnel_ip_num"
		" FROM devices d JOIN organizations o ON o.id = d.org_id"
		" WHERE d.org_id = ? AND d.tunnel_ip_num > ? ORDER BY d.tunnel_ip_num LIMIT ?";
	struct device_rec *v = NULL;
	size_t len = 0, cap = 0;
	sqlite3_stmt *st;
	int rc, err;

	*last = -1;
	/* One read transaction: the list and the revision agree. */
	if ((err = exec(s, "BEGIN")))
		return err;
	if ((err = current_revision(s, revision)))
		goto err_rollback;
	err = -EIO;
	if (!(st = stmt(s, limit ? sql_page : sql_all)))
		goto err_rollback;
	bind_text(st, 1, org_id);
	if (limit) {
		sqlite3_bind_int64(st, 2, after);
		sqlite3_bind_int64(st, 3, (int64_t)limit);
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			struct device_rec *nv;
			cap = cap ? cap * 2 : 64;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				goto err_free;
			}
			v = nv;
		}
		if ((err = read_device(st, 0, &v[len])))
			goto err_free;
		*last = sqlite3_column_int64(st, 18);
		len++;
	}
	if (rc != SQLITE_DONE) {
		err = db_error(s, "list devices");
		goto err_free;
	}
	exec(s, "COMMIT");
	*out = v;
	*n = len;
	return 0;

err_free:
	sqlite3_reset(st);
	store_devices_free(v, len);
err_rollback:
	rollback(s);
	return err;
}

static int sq_device_counts(struct store *s, char (**names)[64], int64_t **counts, size_t *n)
{
	static const char sql[] = "SELECT o.name, COUNT(d.id) FROM organizations o"
				  " LEFT JOIN devices d ON d.org_id = o.id GROUP BY o.id ORDER BY o.name";
	sqlite3_stmt *st = stmt(s, sql);
	char (*nv)[64] = NULL;
	int64_t *cv = NULL;
	size_t len = 0, cap = 0;
	int rc;

	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			char (*a)[64];
			int64_t *b;

			cap = cap ? cap * 2 : 16;
			a = realloc(nv, cap * sizeof(*nv));
			if (a)
				nv = a;
			b = realloc(cv, cap * sizeof(*cv));
			if (b)
				cv = b;
			if (!a || !b) {
				free(nv);
				free(cv);
				sqlite3_reset(st);
				return -ENOMEM;
			}
		}
		col_copy(st, 0, nv[len], sizeof(nv[len]));
		cv[len] = sqlite3_column_int64(st, 1);
		len++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE) {
		free(nv);
		free(cv);
		return db_error(s, "count devices");
	}
	*names = nv;
	*counts = cv;
	*n = len;
	return 0;
}

static int sq_device_list(struct store *s, const char *org_id, struct device_rec **out, size_t *n,
			  int64_t *revision)
{
	int64_t last;

	return sq_device_page(s, org_id, 0, 0, out, n, revision, &last);
}

static int sq_device_update(struct store *s, const char *id, unsigned fields,
			    const struct device_rec *in, struct device_rec *out)
{
	static const char sql[] =
		"UPDATE devices SET"
		" hostname = CASE WHEN ? THEN ? ELSE hostname END,"
		" endpoints = CASE WHEN ? THEN ? ELSE endpoints END,"
		" advertise_cidrs = CASE WHEN ? THEN ? ELSE advertise_cidrs END,"
		" exit_node_client = CASE WHEN ? THEN ? ELSE exit_node_client END,"
		" exit_node_status = CASE WHEN ? THEN ? ELSE exit_node_status END,"
		" os = CASE WHEN ? THEN ? ELSE os END,"
		" version = CASE WHEN ? THEN ? ELSE version END"
		" WHERE id = ?";
	sqlite3_stmt *st;
	int64_t rev;
	int err;

	if ((err = begin(s)))
		return err;
	err = -EIO;
	if (!(st = stmt(s, sql)))
		goto err_rollback;
	sqlite3_bind_int(st, 1, !!(fields & DEV_HOSTNAME));
	bind_text(st, 2, in->hostname);
	sqlite3_bind_int(st, 3, !!(fields & DEV_ENDPOINTS));
	bind_text(st, 4, in->endpoints_json ? in->endpoints_json : "[]");
	sqlite3_bind_int(st, 5, !!(fields & DEV_CIDRS));
	bind_text(st, 6, in->cidrs_json ? in->cidrs_json : "[]");
	sqlite3_bind_int(st, 7, !!(fields & DEV_EXIT_CLIENT));
	sqlite3_bind_int(st, 8, in->exit_node_client);
	sqlite3_bind_int(st, 9, !!(fields & DEV_EXIT_STATUS));
	bind_text(st, 10, in->exit_node_status);
	sqlite3_bind_int(st, 11, !!(fields & DEV_OS));
	bind_text(st, 12, in->os);
	sqlite3_bind_int(st, 13, !!(fields & DEV_VERSION));
	bind_text(st, 14, in->version);
	bind_text(st, 15, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_error(s, "update device");
		goto err_rollback;
	}
	if (sqlite3_changes(s->db) != 1) {
		err = -ENOENT;
		goto err_rollback;
	}
	if ((fields & DEV_CIDRS) && (err = follow_approval(s, id)))
		goto err_rollback;
	if ((err = record_event(s, id, EVENT_UPSERT, &rev)) || (err = get_device(s, id, out)))
		goto err_rollback;
	if ((err = commit(s))) {
		store_device_clear(out);
		goto err_rollback;
	}
	return 0;

err_rollback:
	rollback(s);
	return err;
}

static int sq_device_approve(struct store *s, const char *id, bool approve, const char *cidrs_json,
			     struct device_rec *out, char bad[ADDR_CIDR_STRLEN])
{
	static const char sql_get[] = "SELECT advertise_cidrs, approved_cidrs FROM devices WHERE id = ?";
	static const char sql_set[] = "UPDATE devices SET approved_cidrs = ? WHERE id = ?";
	char *advertised = NULL, *approved = NULL, *next = NULL;
	sqlite3_stmt *st;
	int64_t rev;
	int rc, err;

	if ((err = begin(s)))
		return err;
	err = -EIO;
	if (!(st = stmt(s, sql_get)))
		goto err_rollback;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		err = rc == SQLITE_DONE ? -ENOENT : db_error(s, "get device approval");
		goto err_rollback;
	}
	advertised = col_dup(st, 0);
	approved = col_dup(st, 1);
	sqlite3_reset(st);
	if (!advertised || !approved) {
		err = -ENOMEM;
		goto err_rollback;
	}
	err = approve ? approval_add(approved, advertised, cidrs_json, bad, &next)
		      : approval_remove(approved, advertised, cidrs_json, &next);
	if (err)
		goto err_rollback;
	err = -EIO;
	if (!(st = stmt(s, sql_set)))
		goto err_rollback;
	bind_text(st, 1, next);
	bind_text(st, 2, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_error(s, "set approved_cidrs");
		goto err_rollback;
	}
	if ((err = record_event(s, id, EVENT_UPSERT, &rev)) || (err = get_device(s, id, out)))
		goto err_rollback;
	if ((err = commit(s))) {
		store_device_clear(out);
		goto err_rollback;
	}
	free(advertised);
	free(approved);
	free(next);
	return 0;

err_rollback:
	rollback(s);
	free(advertised);
	free(approved);
	free(next);
	return err;
}

/* Keeps a tombstone of device `id` (inside the deleting transaction): its
 * organization, the time, and its device tokens' ids and hashes; drops
 * tombstones past TOMBSTONE_SECONDS. */
static int bury(struct store *s, const char *id, const char *org_id, int64_t now)
{
	static const char sql_dev[] =
		"INSERT INTO deleted_devices (id, org_id, deleted_at) VALUES (?, ?, ?)"
		" ON CONFLICT (id) DO NOTHING";
	static const char sql_tok[] =
		"INSERT INTO deleted_device_tokens (id, device_id, hash, created_at)"
		" SELECT id, device_id, hash, created_at FROM tokens WHERE device_id = ?"
		" ON CONFLICT (id) DO NOTHING";
	static const char sql_prune[] = "DELETE FROM deleted_devices WHERE deleted_at < ?";
	sqlite3_stmt *st;

	if (!(st = stmt(s, sql_prune)))
		return -EIO;
	sqlite3_bind_int64(st, 1, now - TOMBSTONE_SECONDS);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "prune tombstones");
	if (!(st = stmt(s, sql_dev)))
		return -EIO;
	bind_text(st, 1, id);
	bind_text(st, 2, org_id);
	sqlite3_bind_int64(st, 3, now);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "insert tombstone");
	if (!(st = stmt(s, sql_tok)))
		return -EIO;
	bind_text(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "keep deleted device tokens");
	return 0;
}

static int sq_device_delete(struct store *s, const char *id, int64_t now, struct device_rec *out)
{
	static const char sql[] = "DELETE FROM devices WHERE id = ?";
	struct device_rec last;
	sqlite3_stmt *st;
	int64_t rev;
	int err;

	if ((err = begin(s)))
		return err;
	if ((err = record_event(s, id, EVENT_DELETE, &rev)))
		goto err_rollback;
	if ((err = get_device(s, id, &last)))
		goto err_rollback;
	if ((err = bury(s, id, last.org_id, now)))
		goto err_clear;
	err = -EIO;
	if (!(st = stmt(s, sql)))
		goto err_clear;
	bind_text(st, 1, id);
	if (sqlite3_step(st) != SQLITE_DONE) {
		err = db_error(s, "delete device");
		goto err_clear;
	}
	if ((err = commit(s)))
		goto err_clear;
	if (out)
		*out = last;
	else
		store_device_clear(&last);
	return 0;

err_clear:
	store_device_clear(&last);
err_rollback:
	rollback(s);
	return err;
}

static int sq_deleted_token_get(struct store *s, const char *id, struct token_rec *out)
{
	static const char sql[] =
		"SELECT t.id, t.device_id, d.org_id, t.hash, t.created_at FROM deleted_device_tokens t"
		" JOIN deleted_devices d ON d.id = t.device_id WHERE t.id = ?";
	sqlite3_stmt *st = stmt(s, sql);
	struct token_rec t;
	int rc;

	if (!st)
		return -EIO;
	bind_text(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		return -ENOENT;
	if (rc != SQLITE_ROW)
		return db_error(s, "get deleted token");
	memset(&t, 0, sizeof(t));
	t.kind = TOKEN_DEVICE;
	col_copy(st, 0, t.id, sizeof(t.id));
	col_copy(st, 1, t.device_id, sizeof(t.device_id));
	col_copy(st, 2, t.org_id, sizeof(t.org_id));
	rc = hash_from_col(st, 3, t.hash);
	t.created_at = sqlite3_column_int64(st, 4);
	sqlite3_reset(st);
	if (rc)
		return rc;
	*out = t;
	return 0;
}

static int sq_device_touch(struct store *s, const char *id, int64_t now, int64_t min_age)
{
	static const char sql[] =
		"UPDATE devices SET last_seen = ? WHERE id = ? AND (last_seen IS NULL OR last_seen <= ?)";
	sqlite3_stmt *st = stmt(s, sql);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, now);
	bind_text(st, 2, id);
	sqlite3_bind_int64(st, 3, now - min_age);
	if (sqlite3_step(st) != SQLITE_DONE)
		return db_error(s, "touch device");
	return 0;
}

static int sq_events_since(struct store *s, const char *org_id, int64_t since, size_t limit,
			   struct event_rec **out, size_t *n, int64_t *current, int64_t *oldest)
{
	static const char sql_pruned[] =
		"SELECT MAX((SELECT value FROM meta WHERE key = 'pruned'),"
		" COALESCE((SELECT revision FROM history_pruned WHERE org_id = ?), 0))";
	static const char sql[] =
		"SELECT e.revision, e.type, e.device_id, e.org_id, o.name, e.hostname, e.public_key,"
		" e.tunnel_ip, e.endpoints, e.advertise_cidrs, e.exit_node_client, e.exit_node_status,"
		" e.os, e.version, e.last_seen, e.revision, e.created_at, o.prefix6, e.approved_cidrs, 0"
		" FROM events e JOIN organizations o ON o.id = e.org_id"
		" WHERE e.org_id = ? AND e.revision > ? ORDER BY e.revision LIMIT ?";
	struct event_rec *v = NULL;
	size_t len = 0, cap = 0;
	sqlite3_stmt *st;
	int rc, err;

	if ((err = exec(s, "BEGIN")))
		return err;
	if ((err = current_revision(s, current)) || (err = count(s, sql_pruned, org_id, oldest)))
		goto err_rollback;
	err = -EIO;
	if (!(st = stmt(s, sql)))
		goto err_rollback;
	bind_text(st, 1, org_id);
	sqlite3_bind_int64(st, 2, since);
	sqlite3_bind_int64(st, 3, (int64_t)limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (len == cap) {
			struct event_rec *nv;
			cap = cap ? cap * 2 : 8;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				err = -ENOMEM;
				goto err_free;
			}
			v = nv;
		}
		v[len].revision = sqlite3_column_int64(st, 0);
		v[len].type = sqlite3_column_int(st, 1) ? EVENT_DELETE : EVENT_UPSERT;
		if ((err = read_device(st, 2, &v[len].device)))
			goto err_free;
		len++;
	}
	if (rc != SQLITE_DONE) {
		err = db_error(s, "events");
		goto err_free;
	}
	exec(s, "COMMIT");
	*out = v;
	*n = len;
	return 0;

err_free:
	sqlite3_reset(st);
	store_events_free(v, len);
err_rollback:
	rollback(s);
	return err;
}

static int sq_revision(struct store *s, int64_t *current)
{
	return current_revision(s, current);
}

static int key_from_col(sqlite3_stmt *st, int i, uint8_t k[KEY_LEN])
{
	const char *t = (const char *)sqlite3_column_text(st, i);

	return t ? key_from_hex(k, t) : -EINVAL;
}

/* The key pair is stored as hex text; the database file is 0600. */
static int sq_server_key(struct store *s, const uint8_t fresh_priv[KEY_LEN], const uint8_t fresh_pub[KEY_LEN],
			 uint8_t priv[KEY_LEN], uint8_t pub[KEY_LEN])
{
	static const char sql_add[] =
		"INSERT INTO server_keys (name, private_key, public_key, created_at)"
		" VALUES ('register-proof', ?, ?, ?) ON CONFLICT (name) DO NOTHING";
	static const char sql_get[] =
		"SELECT private_key, public_key FROM server_keys WHERE name = 'register-proof'";
	char priv_hex[KEY_HEX_LEN + 1], pub_hex[KEY_HEX_LEN + 1];
	uint8_t p[KEY_LEN], q[KEY_LEN];
	sqlite3_stmt *st;
	int err, rc;

	key_to_hex(priv_hex, fresh_priv);
	key_to_hex(pub_hex, fresh_pub);
	if ((err = begin(s)))
		goto out_wipe;
	err = -EIO;
	if (!(st = stmt(s, sql_add)))
		goto err_rollback;
	bind_text(st, 1, priv_hex);
	bind_text(st, 2, pub_hex);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	rc = sqlite3_step(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		err = db_error(s, "insert server key");
		goto err_rollback;
	}
	if (!(st = stmt(s, sql_get)))
		goto err_rollback;
	if (sqlite3_step(st) != SQLITE_ROW) {
		err = db_error(s, "get server key");
		goto err_rollback;
	}
	if (key_from_col(st, 0, p) || key_from_col(st, 1, q)) {
		sqlite3_reset(st);
		log_error("store: the server key in the database is malformed");
		goto err_rollback;
	}
	sqlite3_reset(st);
	if ((err = commit(s)))
		goto err_rollback;
	memcpy(priv, p, KEY_LEN);
	memcpy(pub, q, KEY_LEN);
	goto out_wipe;

err_rollback:
	rollback(s);
out_wipe:
	sodium_memzero(priv_hex, sizeof(priv_hex));
	sodium_memzero(p, sizeof(p));
	return err;
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.startup_lock = sq_startup_lock,
	.errors = sq_errors,
	.bootstrap = sq_bootstrap,
	.admin_pending = sq_admin_pending,
	.admin_written = sq_admin_written,
	.write_check = sq_write_check,
	.org_create = sq_org_create,
	.org_get = sq_org_get,
	.org_set_approval = sq_org_set_approval,
	.org_list = sq_org_list,
	.token_create = sq_token_create,
	.token_get = sq_token_get,
	.token_list = sq_token_list,
	.token_delete = sq_token_delete,
	.device_token_renew = sq_device_token_renew,
	.admin_rotate = sq_admin_rotate,
	.regkey_create = sq_regkey_create,
	.regkey_get = sq_regkey_get,
	.regkey_list = sq_regkey_list,
	.regkey_revoke = sq_regkey_revoke,
	.device_register = sq_device_register,
	.device_get = sq_device_get,
	.device_list = sq_device_list,
	.device_page = sq_device_page,
	.device_counts = sq_device_counts,
	.device_update = sq_device_update,
	.device_approve = sq_device_approve,
	.device_delete = sq_device_delete,
	.deleted_token_get = sq_deleted_token_get,
	.device_touch = sq_device_touch,
	.events_since = sq_events_since,
	.revision = sq_revision,
	.server_key = sq_server_key,
};
