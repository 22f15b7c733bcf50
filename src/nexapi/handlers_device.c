/* Devices: registration, list, get, update, delete, watch, relays. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "nexapi/api.h"
#include "nexapi/body.h"
#include "nexapi/validate.h"

/* Fetches device `id` if the token may see it; replies 404 otherwise. */
static int visible_device(struct api *a, struct httpd_request *r, const struct auth *au,
			  const char *id, struct device_rec *out)
{
	int err = validate_uuid(id) ? -ENOENT : a->ops->device_get(a->store, id, out);

	if (!err && !api_can_see(au, out->org_id)) {
		store_device_clear(out);
		err = -ENOENT;
	}
	if (err == -ENOENT)
		httpd_reply_error(r, 404, "no such device: %s", id);
	else if (err)
		api_reply_store_error(r, err, "device");
	return err;
}

static void reply_device(struct httpd_request *r, const struct device_rec *d)
{
	struct jsonw w;

	jsonw_init(&w);
	api_device_write(&w, d, api_now());
	api_reply_jsonw(r, 200, &w);
}

/* The advertised prefixes must not overlap the organization's own mesh
 * prefixes (canonical form is checked by the body parser). Replies 400 and
 * returns non-zero on the first that does. */
static int check_overlap(struct httpd_request *r, const struct body_device *b, const struct org_rec *org)
{
	for (size_t i = 0; i < b->n_cidrs; i++) {
		const char *mesh = NULL;

		if (validate_overlaps(b->cidrs[i], org->prefix))
			mesh = org->prefix;
		else if (org->prefix6[0] && validate_overlaps(b->cidrs[i], org->prefix6))
			mesh = org->prefix6;
		if (mesh) {
			httpd_reply_error(r, 400, "advertised prefix %s overlaps the organization's mesh prefix %s",
					  b->cidrs[i], mesh);
			return -EINVAL;
		}
	}
	return 0;
}

/* 409 for a public key already registered without a valid proof: a fresh
 * challenge to answer (regproof.h). */
static void reply_challenge(struct api *a, struct httpd_request *r, const char *public_key,
			    const char *device_id)
{
	char server_key[KEY_B64_LEN + 1], nonce[CHALLENGE_NONCE_B64_LEN + 1];

	if (api_server_key(a)) {
		httpd_reply_error(r, 500, "cannot make a challenge");
		return;
	}
	challenge_server_key(a->challenge, server_key);
	challenge_nonce(a->challenge, api_now(), nonce);
	httpd_reply_error_with(r, 409,
			       json_pack("{s:{s:s, s:s}}", "challenge", "server_key", server_key, "nonce", nonce),
			       "public key %s is already registered in this organization as device %s; "
			       "registering it again needs proof of its private key",
			       public_key, device_id);
}

/* Checks the proof of a registration body, if any. true: a valid proof of
 * b->public_key's private key (its nonce now used up). Replies (and sets
 * *replied) only when the server cannot take proofs now. */
static bool proof_ok(struct api *a, struct httpd_request *r, const struct body_device *b, bool *replied)
{
	static const struct {
		int err;
		const char *why;
	} whys[] = { { -EBADMSG, "malformed or wrong" }, { -ETIMEDOUT, "nonce expired" },
		     { -EALREADY, "nonce already used" } };
	uint8_t pub[KEY_LEN];
	const char *why = "refused";
	int err;

	*replied = false;
	if (!b->has_proof)
		return false;
	if (api_server_key(a)) {
		httpd_reply_error(r, 500, "cannot check the proof");
		*replied = true;
		return false;
	}
	if (key_from_base64(pub, b->public_key))
		return false;
	err = challenge_verify(a->challenge, api_now(), b->proof_nonce, b->proof_mac, pub);
	if (err == 0)
		return true;
	if (err == -EBUSY) {
		httpd_reply_error(r, 409, "too many re-registrations in the last %d seconds; try again later",
				  CHALLENGE_TTL);
		*replied = true;
		return false;
	}
	for (size_t i = 0; i < sizeof(whys) / sizeof(whys[0]); i++)
		if (whys[i].err == err)
			why = whys[i].why;
	log_info("registration of public key %s: proof refused (%s)", b->public_key, why);
	return false;
}

enum httpd_result handle_device_register(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	char text[AUTH_TOKEN_LEN + 1];
	struct store_register reg;
	struct device_rec dev;
	struct body_device *b;
	struct jsonv_err e;
	struct org_rec org;
	struct auth au;
	const char *body;
	struct jsonw w;
	bool created, replied;
	size_t len;
	int err;

	if (api_auth(a, r, "r", &au))
		return HTTPD_DONE;
	b = malloc(sizeof(*b));
	if (!b) {
		httpd_reply_error(r, 500, "out of memory");
		return HTTPD_DONE;
	}
	body = httpd_body(r, &len);
	if (body_parse_register(body, len, b, &e)) {
		httpd_reply_error(r, 400, "%s", e.msg);
		goto out_free_body;
	}
	err = a->ops->org_get(a->store, au.org_id, &org);
	if (err) {
		api_reply_store_error(r, err == -ENOENT ? -EIO : err, "organization");
		goto out_free_body;
	}
	if (check_overlap(r, b, &org))
		goto out_free_body;
	memset(&reg, 0, sizeof(reg));
	reg.allow_existing = proof_ok(a, r, b, &replied);
	if (replied)
		goto out_free_body;
	reg.regkey_id = au.id;
	reg.now = api_now();
	reg.max_devices = API_MAX_DEVICES;
	auth_uuid(reg.dev.id);
	snprintf(reg.dev.hostname, sizeof(reg.dev.hostname), "%s", b->hostname);
	snprintf(reg.dev.public_key, sizeof(reg.dev.public_key), "%s", b->public_key);
	snprintf(reg.dev.os, sizeof(reg.dev.os), "%s", b->os);
	snprintf(reg.dev.version, sizeof(reg.dev.version), "%s", b->version);
	reg.dev.endpoints_json = body_endpoints_json(b);
	reg.dev.cidrs_json = body_cidrs_json(b);
	if (!reg.dev.endpoints_json || !reg.dev.cidrs_json) {
		httpd_reply_error(r, 500, "out of memory");
		goto out_clear_reg;
	}
	auth_token_new(TOKEN_DEVICE, text, reg.token.id, reg.token.hash);
	reg.token.created_at = reg.now;
	reg.token.expires_at = a->device_token_ttl ? reg.now + a->device_token_ttl : 0;

	err = a->ops->device_register(a->store, &reg, &dev, &created);
	switch (err) {
	case 0:
		break;
	case -EEXIST:
		if (!dev.id[0]) {
			api_reply_store_error(r, -EIO, "device");
			goto out_wipe;
		}
		log_info("registration of public key %s: already device %s, no valid proof: challenged",
			 b->public_key, dev.id);
		reply_challenge(a, r, b->public_key, dev.id);
		goto out_wipe;
	case -EKEYREVOKED:
		httpd_reply_error(r, 401, "registration key revoked");
		goto out_wipe;
	case -EKEYEXPIRED:
		httpd_reply_error(r, 401, "registration key expired");
		goto out_wipe;
	case -EKEYREJECTED:
		httpd_reply_error(r, 401, "registration key already used");
		goto out_wipe;
	case -ENOENT:
		httpd_reply_error(r, 401, "invalid token");
		goto out_wipe;
	case -ENOSPC:
		httpd_reply_error(r, 409, "no free tunnel address in %s", org.prefix);
		goto out_wipe;
	case -EDQUOT:
		httpd_reply_error(r, 409, "the organization has %d devices, the most allowed",
				  API_MAX_DEVICES);
		goto out_wipe;
	default:
		api_reply_store_error(r, err, "device");
		goto out_wipe;
	}
	log_info("device %s %s in %s: %s tunnel %s, approved %s", dev.id,
		 created ? "registered" : "re-registered with proof", dev.org_name, dev.hostname, dev.tunnel_ip,
		 dev.approved_json);
	watch_notify(a->watch, dev.org_id);
	jsonw_init(&w);
	jsonw_raw(&w, "{");
	jsonw_key(&w, "device", true);
	api_device_write(&w, &dev, reg.now);
	jsonw_key(&w, "device_token", false);
	jsonw_string(&w, text);
	jsonw_key(&w, "device_token_expires_at", false);
	if (reg.token.expires_at) {
		char t[32];

		api_time(reg.token.expires_at, t);
		jsonw_string(&w, t);
	} else {
		jsonw_raw(&w, "null");
	}
	jsonw_key(&w, "relays", false);
	if (api_relays_write(&w, a->relay, dev.id, reg.now))
		jsonw_raw(&w, "[]");   /* the device asks again with GET .../relays */
	jsonw_raw(&w, "}");
	api_reply_jsonw(r, created ? 201 : 200, &w);
	store_device_clear(&dev);
out_wipe:
	sodium_memzero(text, sizeof(text));
out_clear_reg:
	store_device_clear(&reg.dev);
out_free_body:
	free(b);
	return HTTPD_DONE;
}

/* A decimal integer query parameter in [min, max]: 0 or -EINVAL. */
static int parse_int_param(const char *s, int64_t min, int64_t max, int64_t *out)
{
	char *end;
	long long v;

	if (!*s || *s < '0' || *s > '9' || strlen(s) > 19)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

enum httpd_result handle_device_list(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	struct device_rec *devs;
	struct org_rec org;
	struct auth au;
	int64_t rev, now;
	struct jsonw w;
	size_t n;
	int err;

	const char *limit_text = httpd_query(r, "limit"), *after_text = httpd_query(r, "after");
	int64_t limit = 0, after = 0, last;

	if (api_auth(a, r, "aod", &au))
		return HTTPD_DONE;
	if (api_org_scope(a, r, &au, httpd_query(r, "organization"), &org))
		return HTTPD_DONE;
	/* pages: ?limit=N (1 to API_PAGE_MAX) and then ?after=<next of the previous page> */
	if ((limit_text && parse_int_param(limit_text, 1, API_PAGE_MAX, &limit)) ||
	    (after_text && (!limit_text || parse_int_param(after_text, 0, INT64_MAX, &after)))) {
		httpd_reply_error(r, 400, "limit must be 1 to %d, and after (the \"next\" of a page) goes with it",
				  API_PAGE_MAX);
		return HTTPD_DONE;
	}
	err = a->ops->device_page(a->store, org.id, after, (size_t)limit, &devs, &n, &rev, &last);
	if (err) {
		api_reply_store_error(r, err, "device");
		return HTTPD_DONE;
	}
	now = api_now();
	jsonw_init(&w);
	jsonw_raw(&w, "{");
	jsonw_key(&w, "revision", true);
	jsonw_int(&w, rev);
	if (limit) {
		char next[24];

		jsonw_key(&w, "next", false);
		if (n == (size_t)limit) {
			snprintf(next, sizeof(next), "%lld", (long long)last);
			jsonw_string(&w, next);
		} else {
			jsonw_raw(&w, "null");
		}
	}
	jsonw_key(&w, "devices", false);
	jsonw_raw(&w, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			jsonw_raw(&w, ",");
		api_device_write(&w, &devs[i], now);
	}
	jsonw_raw(&w, "]}");
	store_devices_free(devs, n);
	api_reply_jsonw(r, 200, &w);
	return HTTPD_DONE;
}

enum httpd_result handle_device_get(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	struct device_rec dev;
	struct auth au;

	if (api_auth(a, r, "aod", &au))
		return HTTPD_DONE;
	if (visible_device(a, r, &au, httpd_param(r), &dev))
		return HTTPD_DONE;
	reply_device(r, &dev);
	store_device_clear(&dev);
	return HTTPD_DONE;
}

enum httpd_result handle_device_patch(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	const char *id = httpd_param(r);
	struct device_rec dev, in, out;
	char org_id[STORE_ID_LEN + 1];
	struct body_device *b;
	struct jsonv_err e;
	struct org_rec org;
	struct auth au;
	const char *body;
	size_t len;
	int err;

	if (api_auth(a, r, "aod", &au))
		return HTTPD_DONE;
	if (visible_device(a, r, &au, id, &dev))
		return HTTPD_DONE;
	snprintf(org_id, sizeof(org_id), "%s", dev.org_id);
	store_device_clear(&dev);
	if (au.kind == TOKEN_DEVICE && strcmp(au.device_id, id)) {
		httpd_reply_error(r, 403, "a device token may change only its own device");
		return HTTPD_DONE;
	}
	b = malloc(sizeof(*b));
	if (!b) {
		httpd_reply_error(r, 500, "out of memory");
		return HTTPD_DONE;
	}
	body = httpd_body(r, &len);
	if (body_parse_patch(body, len, b, &e)) {
		httpd_reply_error(r, 400, "%s", e.msg);
		goto out_free_body;
	}
	if (au.kind != TOKEN_DEVICE && (b->fields & ~(unsigned)(DEV_HOSTNAME | DEV_EXIT_CLIENT))) {
		httpd_reply_error(r, 403, "an admin or organization token may change only hostname and "
					  "exit_node_client");
		goto out_free_body;
	}
	if (b->fields & DEV_CIDRS) {
		if ((err = a->ops->org_get(a->store, org_id, &org))) {
			api_reply_store_error(r, err == -ENOENT ? -EIO : err, "organization");
			goto out_free_body;
		}
		if (check_overlap(r, b, &org))
			goto out_free_body;
	}
	memset(&in, 0, sizeof(in));
	snprintf(in.hostname, sizeof(in.hostname), "%s", b->hostname);
	snprintf(in.os, sizeof(in.os), "%s", b->os);
	snprintf(in.version, sizeof(in.version), "%s", b->version);
	snprintf(in.exit_node_status, sizeof(in.exit_node_status), "%s", b->exit_node_status);
	in.exit_node_client = b->exit_node_client;
	if (b->fields & DEV_ENDPOINTS)
		in.endpoints_json = body_endpoints_json(b);
	if (b->fields & DEV_CIDRS)
		in.cidrs_json = body_cidrs_json(b);
	if (((b->fields & DEV_ENDPOINTS) && !in.endpoints_json) ||
	    ((b->fields & DEV_CIDRS) && !in.cidrs_json)) {
		httpd_reply_error(r, 500, "out of memory");
		goto out_clear_in;
	}
	err = a->ops->device_update(a->store, id, b->fields, &in, &out);
	if (err) {
		api_reply_store_error(r, err, "device");
		goto out_clear_in;
	}
	{
		char who[API_WHO_LEN];

		api_who(&au, who);
		if (b->fields & DEV_CIDRS)
			log_info("device %s updated by %s (revision %lld): advertises %s, approved %s", out.id, who,
				 (long long)out.revision, out.cidrs_json, out.approved_json);
		else
			log_info("device %s updated by %s (revision %lld)", out.id, who, (long long)out.revision);
	}
	watch_notify(a->watch, out.org_id);
	reply_device(r, &out);
	store_device_clear(&out);
out_clear_in:
	store_device_clear(&in);
out_free_body:
	free(b);
	return HTTPD_DONE;
}

enum httpd_result handle_device_delete(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	const char *id = httpd_param(r);
	char who[API_WHO_LEN];
	struct device_rec dev;
	struct auth au;
	int err;

	if (api_auth(a, r, "ao", &au))
		return HTTPD_DONE;
	if (visible_device(a, r, &au, id, &dev))
		return HTTPD_DONE;
	store_device_clear(&dev);
	err = a->ops->device_delete(a->store, id, api_now(), &dev);
	if (err) {
		api_reply_store_error(r, err, "device");
		return HTTPD_DONE;
	}
	api_who(&au, who);
	log_info("device %s deleted from %s by %s (tunnel %s released; its tokens now answer "
		 "device_deleted)", dev.id, dev.org_name, who, dev.tunnel_ip);
	watch_notify(a->watch, dev.org_id);
	store_device_clear(&dev);
	httpd_reply_empty(r, 204);
	return HTTPD_DONE;
}

/* The TURN relays, with credentials for the device itself: only its own
 * device token (relay.h). */
enum httpd_result handle_device_relays(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	const char *id = httpd_param(r);
	struct device_rec dev;
	struct auth au;
	struct jsonw w;

	if (api_auth(a, r, "d", &au))
		return HTTPD_DONE;
	if (visible_device(a, r, &au, id, &dev))
		return HTTPD_DONE;
	store_device_clear(&dev);
	if (strcmp(au.device_id, id)) {
		httpd_reply_error(r, 403, "a device token may get only its own device's relays");
		return HTTPD_DONE;
	}
	jsonw_init(&w);
	jsonw_raw(&w, "{");
	jsonw_key(&w, "relays", true);
	if (api_relays_write(&w, a->relay, id, api_now())) {
		jsonw_free(&w);
		httpd_reply_error(r, 500, "cannot make TURN credentials");
		return HTTPD_DONE;
	}
	jsonw_key(&w, "ttl", false);
	jsonw_int(&w, a->relay ? a->relay->ttl : RELAY_TTL_DEFAULT);
	jsonw_raw(&w, "}");
	api_reply_jsonw(r, 200, &w);
	return HTTPD_DONE;
}

/* POST .../approve and .../unapprove: admin or organization token (device
 * tokens 403, another organization's device 404). */
static enum httpd_result approve_or_unapprove(struct httpd_request *r, struct api *a, bool approve)
{
	const char *id = httpd_param(r);
	char bad[ADDR_CIDR_STRLEN] = "", who[API_WHO_LEN];
	struct device_rec dev;
	struct body_approve *b;
	struct jsonv_err e;
	struct auth au;
	const char *body;
	char *given = NULL;
	size_t len;
	int err;

	if (api_auth(a, r, "ao", &au))
		return HTTPD_DONE;
	if (visible_device(a, r, &au, id, &dev))
		return HTTPD_DONE;
	store_device_clear(&dev);
	b = malloc(sizeof(*b));
	if (!b) {
		httpd_reply_error(r, 500, "out of memory");
		return HTTPD_DONE;
	}
	body = httpd_body(r, &len);
	if (body_parse_approve(body, len, b, &e)) {
		httpd_reply_error(r, 400, "%s", e.msg);
		goto out_free_body;
	}
	if (!b->all && !(given = body_approve_json(b))) {
		httpd_reply_error(r, 500, "out of memory");
		goto out_free_body;
	}
	err = a->ops->device_approve(a->store, id, approve, given, &dev, bad);
	if (err == -EINVAL) {
		httpd_reply_error(r, 400, "%s is not advertised by device %s", bad, id);
		goto out_free_given;
	}
	if (err) {
		api_reply_store_error(r, err, "device");
		goto out_free_given;
	}
	api_who(&au, who);
	log_info("device %s (%s) %s %s by %s: approved now %s", dev.id, dev.hostname,
		 approve ? "approved" : "unapproved", given ? given : approve ? "everything advertised" : "everything", who,
		 dev.approved_json);
	watch_notify(a->watch, dev.org_id);
	reply_device(r, &dev);
	store_device_clear(&dev);
out_free_given:
	free(given);
out_free_body:
	free(b);
	return HTTPD_DONE;
}

enum httpd_result handle_device_approve(struct httpd_request *r, void *ctx)
{
	return approve_or_unapprove(r, ctx, true);
}

enum httpd_result handle_device_unapprove(struct httpd_request *r, void *ctx)
{
	return approve_or_unapprove(r, ctx, false);
}

/* A watch request between its calls. */
struct watch_state {
	struct watch *watch;
	struct watch_waiter waiter;
	char org_id[STORE_ID_LEN + 1];
	int64_t since;
	uint64_t deadline_ns;
};

static void watch_state_free(void *p)
{
	struct watch_state *st = p;

	watch_cancel(st->watch, &st->waiter);
	free(st);
}

static int parse_int(const char *s, long long max, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s || *s == '-' || *s == '+' || *s == ' ')
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < 0 || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static enum httpd_result watch_start(struct api *a, struct httpd_request *r)
{
	const char *rev_s = httpd_query(r, "revision"), *to_s = httpd_query(r, "timeout");
	long long since, timeout = API_WATCH_DEFAULT;
	struct watch_state *st;
	struct org_rec org;
	struct auth au;

	if (api_auth(a, r, "aod", &au))
		return HTTPD_DONE;
	if (!rev_s || parse_int(rev_s, INT64_MAX, &since)) {
		httpd_reply_error(r, 400, "query parameter revision must be a revision number (0 or more)");
		return HTTPD_DONE;
	}
	if (to_s && parse_int(to_s, API_WATCH_MAX, &timeout)) {
		httpd_reply_error(r, 400, "query parameter timeout must be 0 to %d seconds", API_WATCH_MAX);
		return HTTPD_DONE;
	}
	if (api_org_scope(a, r, &au, httpd_query(r, "organization"), &org))
		return HTTPD_DONE;
	st = calloc(1, sizeof(*st));
	if (!st) {
		httpd_reply_error(r, 500, "out of memory");
		return HTTPD_DONE;
	}
	st->watch = a->watch;
	snprintf(st->org_id, sizeof(st->org_id), "%s", org.id);
	st->since = since;
	st->deadline_ns = time_now_ns() + (uint64_t)timeout * NSEC_PER_SEC;
	httpd_set_state(r, st, watch_state_free);
	return HTTPD_DONE;
}

/* Answers if there are events (or the wait is over); else waits. */
static enum httpd_result watch_step(struct api *a, struct httpd_request *r, struct watch_state *st)
{
	struct api_watch_cache *c = &a->cache;
	struct event_rec *ev;
	int64_t current, oldest, now;
	struct jsonw w;
	char *body;
	size_t n, len;
	uint64_t seen;
	int err;

again:
	seen = watch_seq(a->watch);
	/* The same question as the last answered one, and nothing new since:
	 * the same answer. */
	if (c->body && c->since == st->since && !strcmp(c->org_id, st->org_id) &&
	    a->ops->revision(a->store, &current) == 0 && current == c->current) {
		char *copy = malloc(c->len);
		if (copy) {
			memcpy(copy, c->body, c->len);
			httpd_reply_raw(r, 200, copy, c->len);
			return HTTPD_DONE;
		}
	}
	err = a->ops->events_since(a->store, st->org_id, st->since, API_WATCH_EVENTS_MAX, &ev, &n,
				   &current, &oldest);
	if (err) {
		api_reply_store_error(r, err, "event");
		return HTTPD_DONE;
	}
	if (st->since > current || st->since < oldest) {
		store_events_free(ev, n);
		httpd_reply_error(r, 410, "revision %lld is outside the history (%lld to %lld); list again",
				  (long long)st->since, (long long)oldest, (long long)current);
		return HTTPD_DONE;
	}
	if (n == 0 && time_now_ns() < st->deadline_ns) {
		err = watch_wait(a->watch, &st->waiter, httpd_connection(r), st->org_id, st->deadline_ns, seen);
		store_events_free(ev, n);
		if (err == 0)
			return HTTPD_SUSPENDED;
		if (err == -EAGAIN)
			goto again;
		ev = NULL;
	}
	now = api_now();
	if (n == API_WATCH_EVENTS_MAX)
		current = ev[n - 1].revision;
	jsonw_init(&w);
	jsonw_raw(&w, "{");
	jsonw_key(&w, "revision", true);
	jsonw_int(&w, current);
	jsonw_key(&w, "events", false);
	jsonw_raw(&w, "[");
	for (size_t i = 0; i < n; i++) {
		jsonw_raw(&w, i ? ",{" : "{");
		jsonw_key(&w, "revision", true);
		jsonw_int(&w, ev[i].revision);
		jsonw_key(&w, "type", false);
		jsonw_string(&w, ev[i].type == EVENT_DELETE ? "delete" : "upsert");
		jsonw_key(&w, "device", false);
		api_device_write(&w, &ev[i].device, now);
		jsonw_raw(&w, "}");
	}
	jsonw_raw(&w, "]}\n");
	store_events_free(ev, n);
	body = jsonw_finish(&w, &len);
	if (!body) {
		httpd_reply_error(r, 500, "out of memory");
		return HTTPD_DONE;
	}
	if (n && n < API_WATCH_EVENTS_MAX) {
		char *copy = malloc(len);

		if (copy) {
			memcpy(copy, body, len);
			free(c->body);
			c->body = copy;
			c->len = len;
			c->since = st->since;
			c->current = current;
			snprintf(c->org_id, sizeof(c->org_id), "%s", st->org_id);
		}
	}
	httpd_reply_raw(r, 200, body, len);
	return HTTPD_DONE;
}

enum httpd_result handle_device_watch(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	struct watch_state *st = httpd_state(r);

	if (!st) {
		if (watch_start(a, r) != HTTPD_DONE)
			return HTTPD_DONE;
		st = httpd_state(r);
		if (!st)
			return HTTPD_DONE;   /* replied with an error */
	}
	return watch_step(a, r, st);
}
