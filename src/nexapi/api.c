#include "nexapi/api.h"
#include "nexapi/limits.h"
#include "nexapi/metrics.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/timeutil.h"

const struct httpd_route api_routes[] = {
	{ "GET", "/healthz", handle_healthz },
	{ "GET", "/api/v1/organizations", handle_org_list },
	{ "POST", "/api/v1/organizations", handle_org_create },
	{ "GET", "/api/v1/organizations/*", handle_org_get },
	{ "PATCH", "/api/v1/organizations/*", handle_org_patch },
	{ "POST", "/api/v1/tokens", handle_token_create },
	{ "GET", "/api/v1/tokens", handle_token_list },
	{ "DELETE", "/api/v1/tokens/*", handle_token_delete },
	{ "GET", "/api/v1/whoami", handle_whoami },
	{ "POST", "/api/v1/reg-keys", handle_regkey_create },
	{ "GET", "/api/v1/reg-keys", handle_regkey_list },
	{ "DELETE", "/api/v1/reg-keys/*", handle_regkey_delete },
	{ "POST", "/api/v1/devices", handle_device_register },
	{ "GET", "/api/v1/devices", handle_device_list },
	{ "GET", "/api/v1/devices/watch", handle_device_watch },
	{ "GET", "/api/v1/devices/*", handle_device_get },
	{ "GET", "/api/v1/devices/*/relays", handle_device_relays },
	{ "POST", "/api/v1/devices/*/approve", handle_device_approve },
	{ "POST", "/api/v1/devices/*/token", handle_device_token_renew },
	{ "POST", "/api/v1/devices/*/unapprove", handle_device_unapprove },
	{ "PATCH", "/api/v1/devices/*", handle_device_patch },
	{ "DELETE", "/api/v1/devices/*", handle_device_delete },
};
const size_t api_n_routes = sizeof(api_routes) / sizeof(api_routes[0]);

int64_t api_now(void)
{
	return (int64_t)time(NULL);
}

void api_time(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const struct {
	char kind;
	const char *name;
} kind_names[] = { { TOKEN_ADMIN, "an admin token" }, { TOKEN_ORG, "an organization token" },
		   { TOKEN_DEVICE, "a device token" }, { TOKEN_REGKEY, "a registration key" } };

static const char *kind_name(char kind)
{
	for (size_t i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++)
		if (kind_names[i].kind == kind)
			return kind_names[i].name;
	return "this token";
}

void api_who(const struct auth *au, char out[API_WHO_LEN])
{
	const char *name = kind_name(au->kind);

	/* "an admin token" -> "admin token <id>" */
	if (!strncmp(name, "an ", 3))
		name += 3;
	else if (!strncmp(name, "a ", 2))
		name += 2;
	snprintf(out, API_WHO_LEN, "%s %s", name, au->id);
}

int api_auth(struct api *a, struct httpd_request *r, const char *kinds, struct auth *out)
{
	struct auth *checked = httpd_take_pre(r);
	const char *why;
	int err;

	/* the precheck checked the token before the body came: once is enough
	 * (a watch resumed later checks again) */
	if (checked) {
		*out = *checked;
		free(checked);
		err = 0;
	} else {
		err = auth_check(a->store, httpd_header(r, "Authorization"), out, &why);
	}
	if (err == -EOWNERDEAD) {
		httpd_reply_error_with(r, 401, json_pack("{s:s}", "reason", "device_deleted"),
				       "device %s was deleted", out->device_id);
		return -EACCES;
	}
	if (err && err != -EACCES) {
		api_reply_store_error(r, err, "token");
		return err;
	}
	if (err) {
		httpd_reply_error(r, 401, "%s", why);
		return -EACCES;
	}
	if (out->kind == TOKEN_DEVICE)
		a->ops->device_touch(a->store, out->device_id, api_now(), API_TOUCH_SECONDS);
	if (!strchr(kinds, out->kind)) {
		httpd_reply_error(r, 403, "%s may not do this", kind_name(out->kind));
		return -EPERM;
	}
	return 0;
}

bool api_can_see(const struct auth *au, const char *org_id)
{
	return au->kind == TOKEN_ADMIN || !strcmp(au->org_id, org_id);
}

int api_org_scope(struct api *a, struct httpd_request *r, const struct auth *au, const char *name,
		  struct org_rec *out)
{
	int err;

	if (au->kind == TOKEN_ADMIN) {
		err = a->ops->org_get(a->store, name ? name : API_DEFAULT_ORG, out);
	} else {
		err = a->ops->org_get(a->store, au->org_id, out);
		if (!err && name && strcmp(name, out->name) && strcmp(name, out->id))
			err = -ENOENT;
	}
	if (err == -ENOENT) {
		httpd_reply_error(r, 404, "no such organization: %.64s", name ? name : API_DEFAULT_ORG);
		return err;
	}
	if (err) {
		api_reply_store_error(r, err, "organization");
		return err;
	}
	return 0;
}

void api_reply_store_error(struct httpd_request *r, int err, const char *what)
{
	switch (err) {
	case -ENOENT:
		httpd_reply_error(r, 404, "no such %s", what);
		break;
	case -EEXIST:
		httpd_reply_error(r, 409, "%s already exists", what);
		break;
	case -EDQUOT:
		httpd_reply_error(r, 409, "limit of %ss reached", what);
		break;
	case -ENOMEM:
		httpd_reply_error(r, 500, "out of memory");
		break;
	case -ENOTCONN:
		httpd_reply_error(r, 503, "the database cannot be reached; try again");
		break;
	default:
		httpd_reply_error(r, 500, "store error (%s)", what);
		break;
	}
}

json_t *api_org_json(const struct org_rec *o)
{
	char t[32];

	api_time(o->created_at, t);
	return json_pack("{s:s, s:s, s:s, s:o, s:s, s:s}", "id", o->id, "name", o->name, "prefix", o->prefix,
			 "prefix6", o->prefix6[0] ? json_string(o->prefix6) : json_null(),
			 "exit_node_approval", o->approval_auto ? "auto" : "admin", "created_at", t);
}

json_t *api_regkey_json(const struct regkey_rec *k, const char *key_text)
{
	char created[32], expires[32];
	json_t *j;

	api_time(k->created_at, created);
	api_time(k->expires_at, expires);
	j = json_pack("{s:s, s:s, s:b, s:o, s:b, s:b, s:b, s:s}", "id", k->id, "organization", k->org_name,
		      "single_use", k->single_use, "expires_at",
		      k->expires_at ? json_string(expires) : json_null(), "used", k->used, "revoked",
		      k->revoked, "auto_approve", k->auto_approve, "created_at", created);
	if (j && key_text)
		json_object_set_new(j, "key", json_string(key_text));
	return j;
}

/* endpoints and advertise_cidrs are stored as canonical JSON arrays
 * (written by body_endpoints_json / body_cidrs_json): embedded as they are. */
static void raw_array(struct jsonw *w, const char *json)
{
	jsonw_raw(w, json && json[0] == '[' ? json : "[]");
}

void api_device_write(struct jsonw *w, const struct device_rec *d, int64_t now)
{
	char t[32];

	jsonw_raw(w, "{");
	jsonw_key(w, "id", true);
	jsonw_string(w, d->id);
	jsonw_key(w, "organization", false);
	jsonw_string(w, d->org_name);
	jsonw_key(w, "hostname", false);
	jsonw_string(w, d->hostname);
	jsonw_key(w, "public_key", false);
	jsonw_string(w, d->public_key);
	jsonw_key(w, "tunnel_ip", false);
	jsonw_string(w, d->tunnel_ip);
	jsonw_key(w, "tunnel_ip6", false);
	if (d->tunnel_ip6[0])
		jsonw_string(w, d->tunnel_ip6);
	else
		jsonw_raw(w, "null");
	jsonw_key(w, "endpoints", false);
	raw_array(w, d->endpoints_json);
	jsonw_key(w, "advertise_cidrs", false);
	raw_array(w, d->cidrs_json);
	jsonw_key(w, "approved_cidrs", false);
	raw_array(w, d->approved_json);
	jsonw_key(w, "exit_node_client", false);
	jsonw_bool(w, d->exit_node_client);
	jsonw_key(w, "exit_node_status", false);
	jsonw_string(w, d->exit_node_status);
	jsonw_key(w, "os", false);
	jsonw_string(w, d->os);
	jsonw_key(w, "version", false);
	jsonw_string(w, d->version);
	jsonw_key(w, "last_seen", false);
	if (d->last_seen) {
		api_time(d->last_seen, t);
		jsonw_string(w, t);
	} else {
		jsonw_raw(w, "null");
	}
	jsonw_key(w, "online", false);
	jsonw_bool(w, d->last_seen && now - d->last_seen <= API_ONLINE_SECONDS);
	jsonw_key(w, "revision", false);
	jsonw_int(w, d->revision);
	jsonw_key(w, "created_at", false);
	api_time(d->created_at, t);
	jsonw_string(w, t);
	jsonw_raw(w, "}");
}

int api_server_key(struct api *a)
{
	uint8_t fresh_priv[KEY_LEN], fresh_pub[KEY_LEN], priv[KEY_LEN], pub[KEY_LEN];
	int err;

	if (challenge_has_key(a->challenge))
		return 0;
	key_generate(fresh_priv, fresh_pub);
	err = a->ops->server_key(a->store, fresh_priv, fresh_pub, priv, pub);
	sodium_memzero(fresh_priv, sizeof(fresh_priv));
	if (err) {
		log_error("cannot load or store the server's key for re-registration proofs (%s)",
			  strerror(-err));
		return err;
	}
	err = challenge_set_key(a->challenge, priv, pub);
	sodium_memzero(priv, sizeof(priv));
	if (!err) {
		char b64[KEY_B64_LEN + 1];
		challenge_server_key(a->challenge, b64);
		log_info("re-registration proofs: server key %s", b64);
	}
	return err;
}

int api_relays_write(struct jsonw *w, const struct relay_config *rc, const char *device_id, int64_t now)
{
	char username[RELAY_USERNAME_MAX + 1], password[RELAY_PASSWORD_LEN + 1], t[32];
	int64_t expires;
	int err;

	if (!rc || rc->n == 0) {
		jsonw_raw(w, "[]");
		return 0;
	}
	/* one secret: the same credentials for every server */
	if ((err = relay_credentials(rc, device_id, now, username, password, &expires))) {
		log_error("cannot make TURN credentials for device %s (%s)", device_id, strerror(-err));
		return err;
	}
	api_time(expires, t);
	jsonw_raw(w, "[");
	for (size_t i = 0; i < rc->n; i++) {
		jsonw_raw(w, i ? ",{" : "{");
		jsonw_key(w, "uri", true);
		jsonw_string(w, rc->uris[i]);
		jsonw_key(w, "username", false);
		jsonw_string(w, username);
		jsonw_key(w, "password", false);
		jsonw_string(w, password);
		jsonw_key(w, "expires_at", false);
		jsonw_string(w, t);
		jsonw_raw(w, "}");
	}
	jsonw_raw(w, "]");
	sodium_memzero(password, sizeof(password));
	return 0;
}

void api_reply_jsonw(struct httpd_request *r, unsigned status, struct jsonw *w)
{
	char *body;
	size_t len;

	jsonw_raw(w, "\n");
	body = jsonw_finish(w, &len);
	if (!body) {
		httpd_reply_error(r, 500, "out of memory");
		return;
	}
	httpd_reply_raw(r, status, body, len);
}

static const char *const limit_why[] = {
	[LIMITS_RATE] = "too many requests",
	[LIMITS_INFLIGHT] = "too many requests at once",
	[LIMITS_WATCHES] = "too many watches at once",
};

/* key admitted into l, or a 429 (Retry-After) naming whose limit. */
static bool admit(struct api *a, struct limits *l, struct httpd_request *r, const char *key, const char *whose,
		  bool watch)
{
	struct httpd_guard *g = httpd_guard(r);
	unsigned retry;
	enum limits_verdict v;

	if (!l)
		return true;
	v = limits_admit(l, key, watch, time_now_ns(), &retry);
	if (v == LIMITS_OK) {
		snprintf(g->keys[g->n++], sizeof(g->keys[0]), "%s", key);
		return true;
	}
	httpd_set_retry_after(r, retry ? retry : 1);
	httpd_reply_error(r, 429, "%s from %s; try again later", limit_why[v], whose);
	(void)a;
	return false;
}

enum httpd_result api_precheck(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	struct httpd_guard *g = httpd_guard(r);
	const char *pattern = httpd_route_pattern(r);
	char addr[48], key[56], whose[64];
	const char *why;
	struct auth au;
	int err;

	g->watch = !strcmp(pattern, "/api/v1/devices/watch");
	httpd_client_address(r, addr);
	snprintf(key, sizeof(key), "a:%s", addr);
	snprintf(whose, sizeof(whose), "address %s", addr);
	if (!admit(a, a->by_address, r, key, whose, g->watch))
		return HTTPD_DONE;
	if (strncmp(pattern, "/api/v1/", 8))
		return HTTPD_DONE;   /* /healthz, the web UI: no token */
	/* the token, before any body is read (the handler checks its kind) */
	err = auth_check(a->store, httpd_header(r, "Authorization"), &au, &why);
	if (err == -EOWNERDEAD)
		return HTTPD_DONE;   /* a deleted device: its handler says so */
	if (err && err != -EACCES) {
		api_reply_store_error(r, err, "token");
		return HTTPD_DONE;
	}
	if (err) {
		httpd_reply_error(r, 401, "%s", why);
		return HTTPD_DONE;
	}
	{
		struct auth *keep = malloc(sizeof(*keep));

		if (keep) {
			*keep = au;
			httpd_set_pre(r, keep);   /* api_auth takes it */
		}
	}
	snprintf(key, sizeof(key), "t:%s", au.id);
	snprintf(whose, sizeof(whose), "token %s", au.id);
	if (admit(a, a->by_token, r, key, whose, g->watch) && g->watch && a->metrics) {
		metrics_watchers(a->metrics, 1);
		g->watcher_counted = true;
	}
	return HTTPD_DONE;
}

void api_release(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	struct httpd_guard *g = httpd_guard(r);

	for (unsigned i = 0; i < g->n; i++)
		limits_release(g->keys[i][0] == 'a' ? a->by_address : a->by_token, g->keys[i], g->watch);
	g->n = 0;
	if (g->watcher_counted)
		metrics_watchers(a->metrics, -1);
	g->watcher_counted = false;
}

void api_completed(struct httpd_request *r, unsigned status, uint64_t us, void *ctx)
{
	struct api *a = ctx;
	uint64_t now = time_now_ns();

	if (!a->metrics)
		return;
	metrics_request(a->metrics, httpd_method(r), httpd_route_pattern(r), status, us);
	if (!a->devices_counted_ns || now - a->devices_counted_ns >= 5 * NSEC_PER_SEC) {
		char (*names)[64];
		int64_t *counts;
		size_t n;

		a->devices_counted_ns = now;
		if (a->ops->device_counts(a->store, &names, &counts, &n) == 0) {
			const char **p = calloc(n ? n : 1, sizeof(*p));

			for (size_t i = 0; p && i < n; i++)
				p[i] = names[i];
			if (p)
				metrics_devices(a->metrics, p, counts, n);
			free(p);
			free(names);
			free(counts);
		}
	}
}
