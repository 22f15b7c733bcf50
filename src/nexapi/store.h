/* The store: every query nexapi makes, behind one table of operations.
 * Nothing above this header knows SQL. The SQLite backend is
 * store_sqlite.c; a PostgreSQL backend implements the same table.
 *
 * Errors: 0 or -errno. -ENOENT no such object, -EEXIST name/unique taken,
 * -EDQUOT a count limit reached, -ENOSPC no free tunnel address,
 * -EKEYREVOKED / -EKEYEXPIRED / -EKEYREJECTED (used) for registration
 * keys, -ENOTCONN the database cannot be reached now (the backend tries
 * again on the next call; the API answers 503), -EIO anything else (logged
 * by the backend).
 * Times are Unix seconds; 0 means "none" (NULL in the database). */
#ifndef NEXAPI_STORE_H
#define NEXAPI_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"
#include "common/key.h"

#define STORE_ID_LEN 36          /* uuid text */
#define STORE_TOKEN_ID_LEN 16    /* hex */
#define STORE_NAME_MAX 63
#define STORE_HOSTNAME_MAX 253
#define STORE_SHORT_MAX 64       /* os, version */
#define STORE_STATUS_MAX 128     /* exit_node_status */
#define STORE_HASH_LEN 32
#define STORE_IP4_STRLEN 16
#define STORE_IP6_STRLEN INET6_ADDRSTRLEN

struct store;

struct org_rec {
	char id[STORE_ID_LEN + 1];
	char name[STORE_NAME_MAX + 1];
	char prefix[ADDR_CIDR_STRLEN];
	char prefix6[ADDR_CIDR_STRLEN];   /* IPv6 /64; "" when none */
	bool approval_auto;               /* exit_node_approval: "auto" (true) or "admin" */
	int64_t created_at;
};

enum token_kind { TOKEN_ADMIN = 'a', TOKEN_ORG = 'o', TOKEN_DEVICE = 'd', TOKEN_REGKEY = 'r' };

struct token_rec {
	char id[STORE_TOKEN_ID_LEN + 1];
	char kind;                        /* enum token_kind, never TOKEN_REGKEY */
	char org_id[STORE_ID_LEN + 1];    /* "" for admin */
	char device_id[STORE_ID_LEN + 1]; /* "" unless device */
	uint8_t hash[STORE_HASH_LEN];
	int64_t created_at;
	int64_t expires_at;               /* 0: never */
	char org_name[STORE_NAME_MAX + 1];   /* read only (lists) */
};

struct regkey_rec {
	char id[STORE_TOKEN_ID_LEN + 1];
	char org_id[STORE_ID_LEN + 1];
	char org_name[STORE_NAME_MAX + 1];  /* filled on reads */
	uint8_t hash[STORE_HASH_LEN];
	bool single_use, used, revoked;
	bool auto_approve;                /* devices enrolled with it: approved_cidrs follow
	                                   * advertise_cidrs */
	char used_by[KEY_B64_LEN + 1];    /* filled on reads: the public key of its first use */
	int64_t used_at;                  /* filled on reads: the time of its first use; 0: none */
	int64_t expires_at;               /* 0: never */
	int64_t created_at;
};

struct device_rec {
	char id[STORE_ID_LEN + 1];
	char org_id[STORE_ID_LEN + 1];
	char org_name[STORE_NAME_MAX + 1];  /* filled on reads */
	char hostname[STORE_HOSTNAME_MAX + 1];
	char public_key[KEY_B64_LEN + 1];
	char tunnel_ip[STORE_IP4_STRLEN];
	char tunnel_ip6[STORE_IP6_STRLEN];  /* filled on reads, derived from the
	                                     * organization's prefix6 and tunnel_ip;
	                                     * "" when it has none */
	char *endpoints_json;             /* owned; JSON array text */
	char *cidrs_json;                 /* owned; JSON array text (advertise_cidrs) */
	char *approved_json;              /* owned; JSON array text (approved_cidrs), filled on
	                                   * reads: a subset of cidrs_json, in its order */
	bool auto_approve;                /* filled on reads: enrolled with an auto_approve key */
	bool exit_node_client;
	char exit_node_status[STORE_STATUS_MAX + 1];
	char os[STORE_SHORT_MAX + 1];
	char version[STORE_SHORT_MAX + 1];
	int64_t last_seen;                /* 0: never */
	int64_t revision;
	int64_t created_at;
};

enum event_type { EVENT_UPSERT = 0, EVENT_DELETE = 1 };

struct event_rec {
	int64_t revision;
	enum event_type type;
	struct device_rec device;         /* the device as of this event */
};

/* How long a consumed single-use key is accepted again for the public key
 * that consumed it (a registration whose answer the device never got). */
#define STORE_REGKEY_RETRY_SECONDS 600

/* A registration: consumes the key, creates or refreshes the device with
 * the key's organization and public key, replaces its device tokens by
 * `token` (whose device_id/org_id the store fills in), all in one
 * transaction.
 * - A single-use key already used is accepted again only for the public
 *   key that used it, within STORE_REGKEY_RETRY_SECONDS of that use.
 * - A public key already registered in the organization: only with
 *   allow_existing (the caller checked a proof of its private key);
 *   otherwise -EEXIST, nothing changed (the key not consumed) and the
 *   existing device's id in out->id (out's other fields zero).
 * - approved_cidrs: advertise_cidrs when the organization's approval is
 *   "auto" or the key has auto_approve (remembered by the device); else
 *   empty for a new device, and what stays advertised for an existing one. */
struct store_register {
	const char *regkey_id;
	int64_t now;
	bool allow_existing;
	struct device_rec dev;   /* id (used if new), hostname, public_key, endpoints_json,
	                          * cidrs_json, os, version; exit_node_status "off" if new */
	struct token_rec token;  /* id, hash, created_at */
	unsigned max_devices;
};

/* Which fields of a device an update changes. */
enum device_field {
	DEV_HOSTNAME = 1 << 0,
	DEV_ENDPOINTS = 1 << 1,
	DEV_CIDRS = 1 << 2,
	DEV_EXIT_CLIENT = 1 << 3,
	DEV_EXIT_STATUS = 1 << 4,
	DEV_OS = 1 << 5,
	DEV_VERSION = 1 << 6,
};

struct store_options {
	unsigned events_kept;    /* watch history: the newest events kept (at least 10) */
	/* Called from a thread of the backend when another process sharing
	 * the database (a replica) changed devices of org_id, or with NULL
	 * when such changes may have been missed (notifications lost and
	 * regained): every watcher should read the history again. NULL: none. */
	void (*changed)(void *ctx, const char *org_id);
	void *changed_ctx;
};

struct store_ops {
	const char *name;
	/* path: the file (SQLite) or the libpq connection URI (PostgreSQL).
	 * -ENOTCONN: the database cannot be reached (worth trying again). */
	int (*open)(const char *path, const struct store_options *opt, struct store **out);
	void (*close)(struct store *s);
	/* Held (lock) from before bootstrap until the admin token file is
	 * written, released (!lock) after: processes sharing the database
	 * start one at a time, so that only the first mints an admin token. */
	int (*startup_lock)(struct store *s, bool lock);
	/* Errors met since open (metrics). */
	uint64_t (*errors)(struct store *s);

	/* First start: creates `org` and the admin token (pending, below)
	 * unless an organization exists; *created says whether it did. */
	int (*bootstrap)(struct store *s, const struct org_rec *org, const struct token_rec *admin,
			 bool *created);
	/* The admin token of a first start (or of a rotation) stays pending
	 * until its file is written: admin_pending gives its id ("" when
	 * none), admin_rotate (below) replaces it, admin_written clears the
	 * mark. */
	int (*admin_pending)(struct store *s, char id[STORE_TOKEN_ID_LEN + 1]);
	int (*admin_written)(struct store *s);
	/* A small committed write (for /healthz): 0, or -ENOSPC, -EROFS, -EIO
	 * with why (the database's words). */
	int (*write_check)(struct store *s, char *why, size_t len);

	int (*org_create)(struct store *s, const struct org_rec *org, unsigned max_orgs);
	int (*org_get)(struct store *s, const char *id_or_name, struct org_rec *out);
	/* Sets exit_node_approval ("auto" when approval_auto); out: the record.
	 * Nothing is approved or unapproved by it. */
	int (*org_set_approval)(struct store *s, const char *id, bool approval_auto, struct org_rec *out);
	/* Every organization, or only `only_id` if not NULL; by name. */
	int (*org_list)(struct store *s, const char *only_id, struct org_rec **out, size_t *n);

	int (*token_create)(struct store *s, const struct token_rec *t, unsigned max_per_org);
	int (*token_get)(struct store *s, const char *id, struct token_rec *out);
	/* Organization tokens, of org_id (NULL: every organization), newest
	 * first. */
	int (*token_list)(struct store *s, const char *org_id, struct token_rec **out, size_t *n);
	/* Revokes token id; -ENOENT when there is none. */
	int (*token_delete)(struct store *s, const char *id);
	/* A new token for t->device_id; the device's expired tokens go. */
	int (*device_token_renew)(struct store *s, const struct token_rec *t, int64_t now);
	/* Revokes every admin token for `admin` (pending until admin_written):
	 * a rotation, and the repair of a first start that did not finish. */
	int (*admin_rotate)(struct store *s, const struct token_rec *admin);

	int (*regkey_create)(struct store *s, const struct regkey_rec *k, unsigned max_per_org);
	int (*regkey_get)(struct store *s, const char *id, struct regkey_rec *out);
	/* Newest first; every organization if org_id is NULL. */
	int (*regkey_list)(struct store *s, const char *org_id, struct regkey_rec **out, size_t *n);
	int (*regkey_revoke)(struct store *s, const char *id);

	/* *created: a new device (else an existing one refreshed). out: the device. */
	int (*device_register)(struct store *s, const struct store_register *r,
			       struct device_rec *out, bool *created);
	int (*device_get)(struct store *s, const char *id, struct device_rec *out);
	/* Ordered by tunnel address, with the server's current revision. */
	/* At most limit devices (0: all) whose tunnel address number is above
	 * after, in that order; *last: the last one's number (-1: none). */
	int (*device_page)(struct store *s, const char *org_id, int64_t after, size_t limit,
			   struct device_rec **out, size_t *n, int64_t *revision, int64_t *last);
	/* Devices per organization (names and counts, malloc'd), by name. */
	int (*device_counts)(struct store *s, char (**names)[64], int64_t **counts, size_t *n);
	int (*device_list)(struct store *s, const char *org_id, struct device_rec **out, size_t *n,
			   int64_t *revision);
	/* Sets the fields named in `fields` from `in`; out: the new record. A
	 * change of advertise_cidrs (DEV_CIDRS) updates approved_cidrs as a
	 * registration does. */
	int (*device_update)(struct store *s, const char *id, unsigned fields,
			     const struct device_rec *in, struct device_rec *out);
	/* Approves (approve) or unapproves prefixes of a device: cidrs_json, a
	 * JSON array of canonical CIDRs, or NULL for every advertised one.
	 * approve: approved ∪ given, each given prefix advertised, else -EINVAL
	 * with it in bad; unapprove: approved − given. A new revision and event
	 * either way. out: the new record. */
	int (*device_approve)(struct store *s, const char *id, bool approve, const char *cidrs_json,
			      struct device_rec *out, char bad[ADDR_CIDR_STRLEN]);
	/* Deletes the device and keeps a tombstone (id, organization, time, and
	 * its device tokens' ids and hashes) so that its tokens can be told
	 * apart from unknown ones. out: the last record (may be NULL). */
	int (*device_delete)(struct store *s, const char *id, int64_t now, struct device_rec *out);
	/* A device token of a deleted device: its id and hash, device_id and
	 * org_id (kind TOKEN_DEVICE). -ENOENT when there is none. */
	int (*deleted_token_get)(struct store *s, const char *id, struct token_rec *out);
	/* Sets last_seen = now if it is older than min_age seconds. No event. */
	int (*device_touch)(struct store *s, const char *id, int64_t now, int64_t min_age);

	/* Events of org_id with revision > since, oldest first, at most limit.
	 * *current: the server's revision; *oldest: revisions <= it may have
	 * been dropped (since < *oldest means history is gone). */
	int (*events_since)(struct store *s, const char *org_id, int64_t since, size_t limit,
			    struct event_rec **out, size_t *n, int64_t *current, int64_t *oldest);
	int (*revision)(struct store *s, int64_t *current);

	/* The server's X25519 key pair (re-registration proofs): the stored
	 * one, or, when there is none yet, `fresh_priv`/`fresh_pub`, stored
	 * first. Every replica of a database gets the same pair. */
	int (*server_key)(struct store *s, const uint8_t fresh_priv[KEY_LEN], const uint8_t fresh_pub[KEY_LEN],
			  uint8_t priv[KEY_LEN], uint8_t pub[KEY_LEN]);
};

extern const struct store_ops store_sqlite_ops;
extern const struct store_ops store_pg_ops;

/* The backend for --db: store_pg_ops for a postgresql:// or postgres://
 * URI, store_sqlite_ops for anything else (a path). */
const struct store_ops *store_for(const char *db);
/* Whether db names a PostgreSQL database. */
bool store_is_uri(const char *db);
/* db as it may be logged: a URI's password (USER:PASSWORD@ or a
 * password=... parameter) replaced by "****"; always NUL-terminated,
 * truncated to size. */
void store_db_shown(const char *db, char *out, size_t size);

/* A store handle starts with its ops so that callers can dispatch. */
struct store_base {
	const struct store_ops *ops;
};
static inline const struct store_ops *store_ops_of(struct store *s)
{
	return ((struct store_base *)(void *)s)->ops;
}

void store_device_clear(struct device_rec *d);   /* frees the owned strings */
void store_devices_free(struct device_rec *d, size_t n);
void store_events_free(struct event_rec *e, size_t n);

#endif
