/* What every handler shares: the context (store, watchers), the route
 * table, authentication and organization scoping, and the JSON forms of
 * the objects. */
#ifndef NEXAPI_API_H
#define NEXAPI_API_H

#include <jansson.h>
#include <stdint.h>

#include "nexapi/auth.h"
#include "nexapi/challenge.h"
#include "nexapi/http.h"
#include "nexapi/jsonw.h"
#include "nexapi/relay.h"
#include "nexapi/static.h"
#include "nexapi/store.h"
#include "nexapi/watch.h"

#define API_BODY_LIMIT (64 * 1024)
#define API_MAX_ORGS 1000
#define API_MAX_ORG_TOKENS 1000
#define API_MAX_REGKEYS 10000
#define API_MAX_DEVICES 65536
#define API_ONLINE_SECONDS 90
#define API_TOUCH_SECONDS 30
#define API_WATCH_DEFAULT 30
#define API_WATCH_MAX 60
#define API_WATCH_EVENTS_MAX 1000
#define API_PAGE_MAX 1000          /* devices in one page of a list (?limit=) */
#define API_DEFAULT_ORG "default"
#define API_DEFAULT_PREFIX "100.100.0.0/16"

/* The last non-empty watch answer: every watcher of an organization that
 * waits from the same revision gets the same answer, built once. */
struct api_watch_cache {
	char org_id[STORE_ID_LEN + 1];
	int64_t since, current;
	char *body;
	size_t len;
};

struct api {
	struct store *store;
	const struct store_ops *ops;
	struct watch *watch;
	struct static_site *web;   /* the web UI (static.h), or NULL */
	const struct relay_config *relay;   /* the TURN relays handed out (n may be 0) */
	struct challenge *challenge;   /* re-registration proofs; its key loaded on first use */
	struct api_watch_cache cache;
	int64_t device_token_ttl;   /* seconds a device token is valid (0: forever) */
	struct limits *by_address, *by_token;   /* limits.h: rates, requests and watches at once */
	struct metrics *metrics;                /* metrics.h, or NULL (no --metrics-listen) */
	uint64_t devices_counted_ns;            /* when the devices-per-organization gauge was read */
	/* /healthz: the last write check (at most one a second) */
	int64_t health_checked_ms;
	int health_err;
	char health_why[160];
};

extern const struct httpd_route api_routes[];
extern const size_t api_n_routes;

int64_t api_now(void);
/* RFC 3339 UTC ("2026-11-25T08:45:33Z"). */
void api_time(int64_t t, char out[32]);

/* Authenticates the request. kinds: the token kinds allowed ("aod",
 * "r"...). On failure replies (401, or 403 for a kind not allowed) and
 * returns non-zero. A device token's request refreshes its last_seen. The
 * token of a deleted device is answered 401 with "reason":
 * "device_deleted". */
int api_auth(struct api *a, struct httpd_request *r, const char *kinds, struct auth *out);
/* The organization a request acts on: `name` (may be NULL) for an admin
 * (default: "default"); for other tokens their own, and a different name is
 * 404. Replies on failure and returns non-zero. */
int api_org_scope(struct api *a, struct httpd_request *r, const struct auth *au, const char *name,
		  struct org_rec *out);
/* Who made a request, for the log: "admin token <id>" (the token's id,
 * never its secret). */
#define API_WHO_LEN 64
void api_who(const struct auth *au, char out[API_WHO_LEN]);
/* May this token see an object of org_id? (404 otherwise) */
bool api_can_see(const struct auth *au, const char *org_id);
/* Replies to a store error with the right status. */
void api_reply_store_error(struct httpd_request *r, int err, const char *what);
/* Loads (or makes, on first use) the server's key pair for re-registration
 * proofs into a->challenge. 0 or -errno. */
int api_server_key(struct api *a);

json_t *api_org_json(const struct org_rec *o);
json_t *api_regkey_json(const struct regkey_rec *k, const char *key_text);
/* Writes the JSON object of a device. */
void api_device_write(struct jsonw *w, const struct device_rec *d, int64_t now);
/* Writes the JSON array of the TURN relays with fresh credentials for
 * device_id ("[]" when none is configured). 0, or -errno (nothing written)
 * when the credentials cannot be made. */
int api_relays_write(struct jsonw *w, const struct relay_config *rc, const char *device_id, int64_t now);
/* Replies with the text of w (consumed), a newline added. */
void api_reply_jsonw(struct httpd_request *r, unsigned status, struct jsonw *w);

enum httpd_result handle_healthz(struct httpd_request *r, void *ctx);
enum httpd_result handle_org_list(struct httpd_request *r, void *ctx);
enum httpd_result handle_org_create(struct httpd_request *r, void *ctx);
enum httpd_result handle_org_get(struct httpd_request *r, void *ctx);
enum httpd_result handle_org_patch(struct httpd_request *r, void *ctx);
enum httpd_result handle_token_create(struct httpd_request *r, void *ctx);
enum httpd_result handle_token_list(struct httpd_request *r, void *ctx);
enum httpd_result handle_token_delete(struct httpd_request *r, void *ctx);
enum httpd_result handle_whoami(struct httpd_request *r, void *ctx);
/* httpd's precheck and release: the limits of the client's address and of
 * its token, and the token itself, before a body is read. */
enum httpd_result api_precheck(struct httpd_request *r, void *ctx);
void api_release(struct httpd_request *r, void *ctx);
/* httpd's completed: the request metrics (and, at most every 5 s, the
 * devices per organization). */
void api_completed(struct httpd_request *r, unsigned status, uint64_t us, void *ctx);
enum httpd_result handle_device_token_renew(struct httpd_request *r, void *ctx);
enum httpd_result handle_regkey_create(struct httpd_request *r, void *ctx);
enum httpd_result handle_regkey_list(struct httpd_request *r, void *ctx);
enum httpd_result handle_regkey_delete(struct httpd_request *r, void *ctx);
enum httpd_result handle_device_register(struct httpd_request *r, void *ctx);
enum httpd_result handle_device_list(struct httpd_request *r, void *ctx);
enum httpd_result handle_device_get(struct httpd_request *r, void *ctx);
enum httpd_result handle_device_patch(struct httpd_request *r, void *ctx);
enum httpd_result handle_device_delete(struct httpd_request *r, void *ctx);
enum httpd_result handle_device_watch(struct httpd_request *r, void *ctx);
enum httpd_result handle_device_relays(struct httpd_request *r, void *ctx);
enum httpd_result handle_device_approve(struct httpd_request *r, void *ctx);
enum httpd_result handle_device_unapprove(struct httpd_request *r, void *ctx);

#endif
