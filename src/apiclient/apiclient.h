/* A client of the nexapi REST/JSON API (docs/api.md), shared by nexctl and
 * nexd: one libcurl handle kept alive between requests, a bearer token, an
 * optional CA file, timeouts, a bounded reply size, and a clear error text
 * for every failure. Never logs a token.
 *
 * A client is used by one thread at a time; a program that watches and
 * patches at once keeps one client per thread.
 *
 * Every request function returns 0 on a 2xx answer, else a negative errno:
 *   transport   -ECONNREFUSED (cannot connect), -EHOSTUNREACH (name does not
 *               resolve), -ETIMEDOUT, -EKEYREJECTED (TLS certificate not
 *               verified), -EPROTO (other TLS or HTTP failure), -EIO (other)
 *   reply       -EFBIG (larger than API_REPLY_MAX), -EBADMSG (not the JSON
 *               promised, or a field of the wrong type or value)
 *   HTTP status 400 -EINVAL, 401 -EACCES (but -EOWNERDEAD when the answer
 *               says "reason": "device_deleted": the token is a deleted
 *               device's, see docs/api.md "Deleted devices"), 403 -EPERM,
 *               404 -ENOENT, 409 -EEXIST, 410 -ESTALE (watch: relist),
 *               413 -EMSGSIZE, other 4xx -EPROTO, 5xx -EREMOTEIO
 * and api_client_error() says what happened, in one line, for a human. */
#ifndef APICLIENT_APICLIENT_H
#define APICLIENT_APICLIENT_H

#include <jansson.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiclient/device.h"
#include "apiclient/relay.h"

#define API_REPLY_MAX (16u << 20)       /* bytes of one reply */
#define API_LIST_PAGE 1000              /* devices asked per page of a typed device list */
#define API_TOKEN_MAX 1024              /* bytes of a token */
#define API_URL_MAX 2048
#define API_ERROR_MAX 512
#define API_WATCH_TIMEOUT_MAX 60        /* seconds, as the server caps it */

struct api_client;

struct api_client_config {
	const char *base_url;      /* "https://host:port" (a trailing "/" is dropped) */
	const char *token;         /* bearer token, or NULL */
	const char *ca_file;       /* PEM bundle to verify the server, or NULL: system CAs */
	unsigned connect_timeout_ms; /* 0: 10 s */
	unsigned timeout_ms;       /* whole request; 0: 30 s (a watch adds its own wait) */
};

/* -EINVAL for a URL that is not http(s)://..., a token with characters
 * outside printable ASCII; -ENOMEM. */
int api_client_new(const struct api_client_config *cfg, struct api_client **out);
/* Wipes the token. NULL is fine. */
void api_client_free(struct api_client *c);
/* Replaces the bearer token (nexd: registration key, then device token);
 * NULL removes it. The old one is wiped. */
int api_client_set_token(struct api_client *c, const char *token);

/* Makes requests end early with -ECANCELED while *flag != 0 (a program's
 * "stopping" flag); NULL: never. */
void api_client_set_abort(struct api_client *c, const atomic_int *flag);
/* From any thread: the request in flight, if any, ends with -ECANCELED,
 * and the next one dials a new connection (nexd re-dials after a change
 * of its routing). */
void api_client_interrupt(struct api_client *c);

/* The last request's outcome: a one-line text ("" after success), the HTTP
 * status (0 when no answer came) and the server's error code ("not_found",
 * "" when none). Valid until the next request. */
const char *api_client_error(const struct api_client *c);
long api_client_status(const struct api_client *c);
const char *api_client_error_code(const struct api_client *c);

/* One request. path starts with "/" and is appended to the base URL; body
 * (may be NULL) is sent as JSON. On success *reply holds the parsed JSON
 * (NULL for an empty body, e.g. 204); the caller json_decref()s it. reply
 * may be NULL when the caller does not want it. */
int api_request(struct api_client *c, const char *method, const char *path,
		const json_t *body, json_t **reply);

/* The endpoints. The json_t ** results are the server's JSON as answered,
 * for callers that print it (nexctl -o json); the typed results are
 * validated. Any output pointer may be NULL unless noted. Names and ids are
 * escaped into the URL. */
int api_health(struct api_client *c);
/* A token's times (unix seconds; expires_at 0: never). */
struct api_token_times {
	int64_t created_at, expires_at;
};
/* GET /api/v1/whoami: the token in use. */
int api_whoami(struct api_client *c, json_t **reply, struct api_token_times *out);
/* POST /api/v1/devices/{id}/token: a new device token (*token: malloc'd,
 * the caller wipes and frees it) and its times. */
int api_device_token_renew(struct api_client *c, const char *id, char **token, struct api_token_times *out);
int api_org_list(struct api_client *c, json_t **reply);
int api_org_get(struct api_client *c, const char *id_or_name, json_t **reply);
/* prefix, prefix6, exit_node_approval ("admin" or "auto"): NULL, not sent
 * (the server's default). */
int api_org_create(struct api_client *c, const char *name, const char *prefix,
		   const char *prefix6, const char *exit_node_approval, json_t **reply);
/* PATCH: exit_node_approval "admin" or "auto" (required; the server checks
 * the value). */
int api_org_update(struct api_client *c, const char *id_or_name, const char *exit_node_approval,
		   json_t **reply);
/* expires_in_s 0: the token never expires. */
int api_token_create(struct api_client *c, const char *org, uint64_t expires_in_s, json_t **reply);
/* Organization tokens (org NULL: the token's own, or every one for an admin). */
int api_token_list(struct api_client *c, const char *org, json_t **reply);
int api_token_revoke(struct api_client *c, const char *id);
struct api_regkey_spec {
	const char *org;           /* NULL: the server's default */
	bool reusable;             /* registers any number of devices (else one) */
	bool auto_approve;         /* the devices enrolled with it are approved for what
				    * they advertise (sent only when true) */
	bool never_expires;        /* sent as "expires_in": null */
	uint64_t expires_in_s;     /* 0: the server's default (24 h) */
};
int api_regkey_create(struct api_client *c, const struct api_regkey_spec *spec, json_t **reply);
int api_regkey_list(struct api_client *c, const char *org, json_t **reply);
int api_regkey_delete(struct api_client *c, const char *id);

/* org NULL: the token's own (or, for an admin, every one). */
int api_device_list(struct api_client *c, const char *org, json_t **reply,
		    struct api_device_list *out);
int api_device_get(struct api_client *c, const char *id, json_t **reply, struct api_device *out);
int api_device_delete(struct api_client *c, const char *id);
/* patch: an object of the fields to change (docs/api.md). */
int api_device_patch(struct api_client *c, const char *id, const json_t *patch,
		     json_t **reply, struct api_device *out);
/* POST /api/v1/devices/{id}/approve (unapprove): approved_cidrs gains (loses)
 * the n prefixes given, sent as cidr_format() writes them; n 0: everything
 * the device advertises. Admin or organization token. n over
 * API_MAX_ADVERTISE_CIDRS: -EINVAL. The device as changed in *out and *reply. */
int api_device_approve(struct api_client *c, const char *id, const struct cidr *cidrs, size_t n,
		       json_t **reply, struct api_device *out);
int api_device_unapprove(struct api_client *c, const char *id, const struct cidr *cidrs, size_t n,
			 json_t **reply, struct api_device *out);

/* Registration, with the registration key as the client's token. On success
 * *device_token (required) is a new string the caller wipes and frees.
 * relays (may be NULL: not wanted) gets the answer's TURN relays (ttl 0; a
 * server without relays, or older than them, gives none); an answer whose
 * "relays" is malformed fails the call with -EBADMSG. The caller
 * api_relays_wipe()s it.
 *
 * A public key already registered in the organization is answered 409 with
 * a challenge (docs/api.md, "Re-registration needs proof"). With
 * private_key set, the call answers it once with a proof (apiclient/
 * challenge.h) and returns what the second answer says (200: the same
 * device, new token); a 409 without a challenge, a second 409, or a 409
 * without private_key: -EEXIST with the server's message. A malformed
 * challenge: -EBADMSG. A private_key that is not public_key's: -EINVAL,
 * nothing sent. The private key is only read (never sent, copied or
 * logged). */
struct api_registration {
	const char *public_key;            /* base64 */
	const char *hostname;
	const char *os;                    /* may be NULL */
	const char *version;               /* may be NULL: not sent */
	const struct api_endpoint *endpoints;
	size_t n_endpoints;
	const struct cidr *advertise_cidrs;
	size_t n_advertise_cidrs;
	const uint8_t *private_key;        /* KEY_LEN bytes, or NULL: a challenge is not answered */
};
int api_device_register(struct api_client *c, const struct api_registration *reg,
			struct api_device *out, char **device_token, struct api_relays *relays);

/* GET /api/v1/devices/{id}/relays, with that device's own token: fresh
 * credentials for each relay (an empty list when the server has none).
 * out is required; the caller api_relays_wipe()s it. */
int api_device_relays(struct api_client *c, const char *id, struct api_relays *out);

/* Long poll for the changes after `revision`, waiting up to timeout_s
 * (0..API_WATCH_TIMEOUT_MAX; 0 answers at once) for one. -ESTALE: the revision is older than
 * the server keeps; list again. out is required. */
int api_device_watch(struct api_client *c, uint64_t revision, unsigned timeout_s,
		     const char *org, struct api_watch *out);

#endif
