#include "nexd/apisync.h"
#include "nexd/secretfile.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "apiclient/apiclient.h"
#include "common/key.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "common/version.h"

#define SYNC_BACKOFF_MIN_MS 1000
#define SYNC_BACKOFF_MAX_MS 30000
#define SYNC_WATCH_TIMEOUT_S 25

enum sync_result { SYNC_OK = 0, SYNC_RETRY, SYNC_FATAL, SYNC_REREGISTER };

struct apisync {
	struct worker w;
	struct apisync_config cfg;
	struct api_client *c;
	char org[API_ORG_NAME_MAX + 1];  /* of the registration */
	uint64_t relays_due_ns;          /* renew the relay credentials then; 0: never */
	uint64_t token_due_ns;           /* renew the device token then; 0: learn when (whoami) */
	bool token_forever;              /* the device token does not expire */
	pthread_t thread;
};

static void post_api_state(struct apisync *s, bool connected, const char *text)
{
	struct event e = { .type = EV_API_STATE };

	e.u.api.connected = connected;
	snprintf(e.u.api.text, sizeof(e.u.api.text), "%s", text);
	evq_post(s->w.q, &e);
}

/* The device was deleted on the API server: an admin's decision, so it is
 * final. Forget the registration (starting nexd again with a valid key
 * enrolls afresh, deliberately) and stop with NEXD_EXIT_DELETED; never
 * register again by ourselves. */
static void deleted(struct apisync *s, const char *text)
{
	state_clear_registration(s->cfg.state);
	worker_fail(&s->w, NEXD_EXIT_DELETED, "this device was deleted on the API server (%s); removing "
		    "everything it installed and exiting", text);
}

/* Transport trouble and server errors are retried; what cannot get better
 * by waiting (a rejected key, an untrusted certificate, a refused request)
 * is fatal. */
static enum sync_result classify(struct apisync *s, int r, const char *what)
{
	char text[256];

	snprintf(text, sizeof(text), "%s: %s", what, api_client_error(s->c));
	switch (r) {
	case -EOWNERDEAD:
		deleted(s, text);
		return SYNC_FATAL;
	case -EKEYREJECTED:
		worker_fail(&s->w, 1, "%s (is --ca-cert right?)", text);
		return SYNC_FATAL;
	case -EACCES:
	case -ENOENT:
		return SYNC_REREGISTER;
	case -EINVAL:
	case -EPERM:
		worker_fail(&s->w, 1, "%s", text);
		return SYNC_FATAL;
	default:
		post_api_state(s, false, text);
		return SYNC_RETRY;
	}
}

#define RELAYS_RETRY_MS 60000
#define TOKEN_RETRY_MS 30000

/* The relays and credentials to the loop; renewed when half their time is
 * gone (by the earliest expiry). */
static void post_relays(struct apisync *s, struct api_relays *r)
{
	struct event e = { .type = EV_RELAYS };
	int64_t now = (int64_t)time(NULL), first = 0;

	for (size_t i = 0; i < r->n; i++)
		if (!first || r->items[i].expires_at < first)
			first = r->items[i].expires_at;
	s->relays_due_ns = 0;
	if (first > now)
		s->relays_due_ns = time_now_ns() + (uint64_t)(first - now) / 2 * 1000 * NSEC_PER_MSEC;
	e.u.relays = *r;
	explicit_bzero(r, sizeof(*r));
	evq_post(s->w.q, &e);
}

/* Asks for fresh credentials. Not being able to is no reason to stop: the
 * direct paths work without them. */
static void renew_relays(struct apisync *s)
{
	struct api_relays r = { 0 };
	int err = api_device_relays(s->c, s->cfg.state->device_id, &r);

	if (err == -ENOENT || err == -EOPNOTSUPP) {
		log_info("api: this API server hands out no relays");
		s->relays_due_ns = 0;
	} else if (err) {
		log_warn("api: cannot renew the relay credentials: %s", api_client_error(s->c));
		s->relays_due_ns = time_now_ns() + RELAYS_RETRY_MS * NSEC_PER_MSEC;
	} else {
		post_relays(s, &r);
	}
	api_relays_wipe(&r);
}

/* The device token is renewed at half its life (an agent down for the
 * whole of its life enrolls again). When: from its times. */
static void token_schedule(struct apisync *s, const struct api_token_times *t)
{
	int64_t now = (int64_t)time(NULL), due;

	s->token_forever = !t->expires_at;
	if (s->token_forever)
		return;
	due = t->created_at + (t->expires_at - t->created_at) / 2;
	s->token_due_ns = time_now_ns() + (uint64_t)(due > now ? due - now : 0) * NSEC_PER_SEC;
}

static void renew_token(struct apisync *s)
{
	struct nexd_state *st = s->cfg.state;
	struct api_token_times t;
	struct event e = { .type = EV_TOKEN };
	char *token = NULL;
	int r;

	if (!s->token_due_ns) {   /* when is it due? */
		if (api_whoami(s->c, NULL, &t)) {
			if (api_client_status(s->c) == 404) {
				log_info("api: this API server has no whoami: device tokens do not expire");
				s->token_forever = true;
				return;
			}
			log_warn("api: cannot read the device token's expiry: %s", api_client_error(s->c));
			s->token_due_ns = time_now_ns() + TOKEN_RETRY_MS * NSEC_PER_MSEC;
			return;
		}
		token_schedule(s, &t);
		if (s->token_forever || time_now_ns() < s->token_due_ns)
			return;
	}
	r = api_device_token_renew(s->c, st->device_id, &token, &t);
	if (r) {
		log_warn("api: cannot renew the device token: %s", api_client_error(s->c));
		s->token_due_ns = time_now_ns() + TOKEN_RETRY_MS * NSEC_PER_MSEC;
		goto out;
	}
	/* stored first: the old token stays valid until it expires, the new
	 * one is used once it is on disk */
	r = state_save_registration(st, st->device_id, token, s->cfg.service_url);
	if (r) {
		log_warn("api: cannot store the renewed device token in %s: %s", st->dir, strerror(-r));
		s->token_due_ns = time_now_ns() + TOKEN_RETRY_MS * NSEC_PER_MSEC;
		goto out;
	}
	api_client_set_token(s->c, token);
	snprintf(e.u.token.token, sizeof(e.u.token.token), "%s", token);
	evq_post(s->w.q, &e);
	token_schedule(s, &t);
	log_info("api: device token renewed (valid for %lld s more)", (long long)(t.expires_at - t.created_at));
out:
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
}

static void post_registered(struct apisync *s, struct api_device *dev, const char *token)
{
	struct event e = { .type = EV_REGISTERED };

	snprintf(s->org, sizeof(s->org), "%s", dev->organization);
	e.u.registered.self = *dev;
	memset(dev, 0, sizeof(*dev));
	snprintf(e.u.registered.token, sizeof(e.u.registered.token), "%s", token);
	evq_post(s->w.q, &e);
}

static enum sync_result do_register(struct apisync *s)
{
	struct nexd_state *st = s->cfg.state;
	struct api_registration reg = { 0 };
	struct api_device dev = { 0 };
	struct api_relays relays = { 0 };
	struct cidr default_route;
	char pub[KEY_B64_LEN + 1], key[512], why[256];
	const char *reg_key = s->cfg.reg_key;
	char *token = NULL;
	int r;

	/* the key file as it is now: a key replaced in it since the start counts */
	if (s->cfg.reg_key_file) {
		if (secret_file_read(s->cfg.reg_key_file, key, sizeof(key), why, sizeof(why)) == 0)
			reg_key = key;
		else
			log_warn("api: --reg-key-file: %s; using the key read at start", why);
	}
	if (!reg_key) {
		worker_fail(&s->w, 1, "the device token was rejected and no --reg-key was given to register again");
		return SYNC_FATAL;
	}
	cidr_parse("0.0.0.0/0", &default_route);
	key_to_base64(pub, st->public_key);
	reg.public_key = pub;
	reg.private_key = st->private_key; /* answers the server's challenge when the key is known */
	reg.hostname = s->cfg.hostname;
	reg.os = "linux";
	reg.version = NEXODUS_VERSION;
	reg.n_endpoints = s->cfg.n_eps;
	reg.endpoints = s->cfg.eps;
	if (s->cfg.router_exit_node) {
		reg.advertise_cidrs = &default_route; /* ::/0 follows once the organization is known */
		reg.n_advertise_cidrs = 1;
	}
	r = api_client_set_token(s->c, reg_key);
	sodium_memzero(key, sizeof(key));
	if (r) {
		worker_fail(&s->w, 1, "the registration key has characters a token cannot have");
		return SYNC_FATAL;
	}
	r = api_device_register(s->c, &reg, &dev, &token, &relays);
	if (r == -EACCES || r == -ENOENT || r == -EEXIST || r == -EINVAL) {
		worker_fail(&s->w, 1, "registration refused: %s", api_client_error(s->c));
		return SYNC_FATAL;
	}
	if (r)
		return classify(s, r, "registration");
	r = state_save_registration(st, dev.id, token, s->cfg.service_url);
	if (r) {
		worker_fail(&s->w, 1, "cannot save the registration in %s: %s", st->dir, strerror(-r));
		goto out;
	}
	api_client_set_token(s->c, token);
	s->token_due_ns = 0;   /* a new token: learn its expiry (whoami) */
	s->token_forever = false;
	log_info("registered as device %s in organization %s", dev.id, dev.organization);
	post_registered(s, &dev, token);
	post_relays(s, &relays);
out:
	api_relays_wipe(&relays);
	if (token) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	api_device_free(&dev);
	return r ? SYNC_FATAL : SYNC_OK;
}

/* Uses the stored registration when it still holds, else registers. */
static enum sync_result ensure_registered(struct apisync *s)
{
	struct nexd_state *st = s->cfg.state;
	struct api_device dev = { 0 };
	int r;

	if (!st->device_id[0] || strcmp(st->service_url, s->cfg.service_url))
		return do_register(s);
	api_client_set_token(s->c, st->device_token);
	s->token_due_ns = 0;   /* a new token: learn its expiry (whoami) */
	s->token_forever = false;
	r = api_device_get(s->c, st->device_id, NULL, &dev);
	if (r == -EOWNERDEAD) {
		deleted(s, api_client_error(s->c));
		return SYNC_FATAL;
	}
	if (r == -EACCES || r == -ENOENT) {
		log_warn("the stored registration (device %s) is no longer valid: %s; registering again",
			 st->device_id, api_client_error(s->c));
		state_clear_registration(st);
		return do_register(s);
	}
	if (r)
		return classify(s, r, "checking the registration");
	post_registered(s, &dev, st->device_token);
	renew_relays(s);
	return SYNC_OK;
}

/* The organization's prefixes: IPv4, and IPv6 when it has one. */
static enum sync_result read_org(struct apisync *s, const char *org_name)
{
	struct event e = { .type = EV_ORG };
	const char *ptext, *p6text;
	json_t *org = NULL;
	bool bad;
	int r;

	r = api_org_get(s->c, org_name, &org);
	if (r)
		return classify(s, r, "reading the organization");
	ptext = json_string_value(json_object_get(org, "prefix"));
	p6text = json_string_value(json_object_get(org, "prefix6"));
	bad = !ptext || cidr_parse(ptext, &e.u.org.prefix) || e.u.org.prefix.family != AF_INET ||
	      (p6text && (cidr_parse(p6text, &e.u.org.prefix6) || e.u.org.prefix6.family != AF_INET6 ||
			  e.u.org.prefix6.prefix > 96));
	json_decref(org);
	if (bad) {
		post_api_state(s, false, "the organization's prefix is missing or malformed");
		return SYNC_RETRY;
	}
	cidr_normalize(&e.u.org.prefix);
	if (p6text) {
		cidr_normalize(&e.u.org.prefix6);
		e.u.org.has_prefix6 = true;
	}
	evq_post(s->w.q, &e);
	return SYNC_OK;
}

static enum sync_result relist(struct apisync *s, uint64_t *revision)
{
	struct event e = { .type = EV_MESH_LIST };
	int r = api_device_list(s->c, NULL, NULL, &e.u.list);

	if (r)
		return classify(s, r, "listing devices");
	*revision = e.u.list.revision;
	evq_post(s->w.q, &e);
	post_api_state(s, true, "connected");
	return SYNC_OK;
}

/* A watch returns by the time the device token is due for renewal. */
static unsigned watch_timeout(const struct apisync *s)
{
	uint64_t now = time_now_ns(), left;

	if (s->token_forever || !s->token_due_ns || s->token_due_ns <= now)
		return SYNC_WATCH_TIMEOUT_S;
	left = (s->token_due_ns - now) / NSEC_PER_SEC + 1;
	return left < SYNC_WATCH_TIMEOUT_S ? (unsigned)left : SYNC_WATCH_TIMEOUT_S;
}

static enum sync_result watch_loop(struct apisync *s, uint64_t revision)
{
	while (!worker_stopping(&s->w)) {
		struct event e = { .type = EV_MESH_EVENTS };
		int r;

		if (s->relays_due_ns && time_now_ns() >= s->relays_due_ns)
			renew_relays(s);
		if (!s->token_forever && time_now_ns() >= s->token_due_ns)
			renew_token(s);
		r = api_device_watch(s->c, revision, watch_timeout(s), NULL, &e.u.watch);

		if (worker_stopping(&s->w)) {
			api_watch_free(&e.u.watch);
			return SYNC_OK;
		}
		if (r == -ESTALE || r == -ECANCELED)
			return SYNC_OK; /* relist (after a re-dial, on a new connection) */
		if (r)
			return classify(s, r, "watching devices");
		post_api_state(s, true, "connected");
		revision = e.u.watch.revision;
		for (size_t i = 0; i < e.u.watch.n_events; i++) {
			const struct api_watch_event *ev = &e.u.watch.events[i];

			if (ev->type == API_WATCH_DELETE && !strcmp(ev->device.id, s->cfg.state->device_id)) {
				deleted(s, "a watch event removed it");
				evq_post(s->w.q, &e);
				return SYNC_FATAL;
			}
		}
		if (e.u.watch.n_events)
			evq_post(s->w.q, &e);
		else
			api_watch_free(&e.u.watch);
	}
	return SYNC_OK;
}

static void *apisync_main(void *arg)
{
	struct apisync *s = arg;
	unsigned backoff = SYNC_BACKOFF_MIN_MS;
	bool have_registration = false, have_org = false;

	while (!worker_stopping(&s->w)) {
		enum sync_result r = SYNC_OK;
		uint64_t revision = 0;

		if (!have_registration) {
			r = ensure_registered(s);
			have_registration = r == SYNC_OK;
			have_org = false;
		}
		if (r == SYNC_OK && !have_org) {
			r = read_org(s, s->org);
			have_org = r == SYNC_OK;
		}
		if (r == SYNC_OK)
			r = relist(s, &revision);
		if (r == SYNC_OK) {
			backoff = SYNC_BACKOFF_MIN_MS;
			r = watch_loop(s, revision);
		}
		if (r == SYNC_FATAL || worker_stopping(&s->w))
			break;
		if (r == SYNC_REREGISTER) {
			log_warn("api: the device token was rejected (%s); registering again", api_client_error(s->c));
			state_clear_registration(s->cfg.state);
			have_registration = false;
			continue;
		}
		if (r == SYNC_RETRY) {
			worker_sleep(&s->w, backoff);
			backoff = backoff * 2 > SYNC_BACKOFF_MAX_MS ? SYNC_BACKOFF_MAX_MS : backoff * 2;
		}
	}
	return NULL;
}

int apisync_start(struct apisync **out, const struct worker *w, const struct apisync_config *cfg)
{
	struct apisync *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->w = *w;
	s->cfg = *cfg;
	r = worker_client_new(w, cfg->service_url, cfg->ca_cert, &s->c);
	if (r)
		goto fail;
	r = -pthread_create(&s->thread, NULL, apisync_main, s);
	if (r)
		goto fail;
	*out = s;
	return 0;
fail:
	api_client_free(s->c);
	free(s);
	return r;
}

void apisync_redial(struct apisync *s)
{
	if (s)
		api_client_interrupt(s->c);
}

void apisync_stop(struct apisync *s)
{
	if (!s)
		return;
	api_client_interrupt(s->c);
	pthread_join(s->thread, NULL);
	api_client_free(s->c);
	free(s);
}
