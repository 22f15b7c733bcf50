/* Organization tokens (POST/GET /api/v1/tokens, DELETE /api/v1/tokens/{id}),
 * GET /api/v1/whoami, and a device's token renewal
 * (POST /api/v1/devices/{id}/token). */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "nexapi/api.h"
#include "nexapi/body.h"
#include "nexapi/validate.h"

static json_t *expiry_json(int64_t t)
{
	char text[32];

	if (!t)
		return json_null();
	api_time(t, text);
	return json_string(text);
}

static json_t *token_json(const struct token_rec *t)
{
	char created[32];

	api_time(t->created_at, created);
	return json_pack("{s:s, s:s, s:s, s:o}", "id", t->id, "organization", t->org_name, "created_at", created,
			 "expires_at", expiry_json(t->expires_at));
}

enum httpd_result handle_token_create(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	char text[AUTH_TOKEN_LEN + 1];
	struct body_token b;
	struct jsonv_err e;
	struct token_rec t;
	struct org_rec org;
	struct auth au;
	const char *body;
	size_t len;
	int err;

	if (api_auth(a, r, "a", &au))
		return HTTPD_DONE;
	body = httpd_body(r, &len);
	if (body_parse_token(body, len, &b, &e)) {
		httpd_reply_error(r, 400, "%s", e.msg);
		return HTTPD_DONE;
	}
	if (api_org_scope(a, r, &au, b.organization, &org))
		return HTTPD_DONE;
	memset(&t, 0, sizeof(t));
	auth_token_new(TOKEN_ORG, text, t.id, t.hash);
	t.kind = TOKEN_ORG;
	snprintf(t.org_id, sizeof(t.org_id), "%s", org.id);
	snprintf(t.org_name, sizeof(t.org_name), "%s", org.name);
	t.created_at = api_now();
	t.expires_at = b.expires_in ? t.created_at + b.expires_in : 0;
	err = a->ops->token_create(a->store, &t, API_MAX_ORG_TOKENS);
	if (err) {
		sodium_memzero(text, sizeof(text));
		api_reply_store_error(r, err, "organization token");
		return HTTPD_DONE;
	}
	{
		char who[API_WHO_LEN];

		api_who(&au, who);
		log_info("organization token %s created for %s by %s%s", t.id, org.name, who,
			 t.expires_at ? " (expiring)" : "");
	}
	{
		json_t *j = token_json(&t);

		if (j)
			json_object_set_new(j, "token", json_string(text));
		httpd_reply_json(r, 201, j);
	}
	sodium_memzero(text, sizeof(text));
	return HTTPD_DONE;
}

enum httpd_result handle_token_list(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	const char *name = httpd_query(r, "organization");
	struct token_rec *v;
	struct org_rec org;
	struct auth au;
	json_t *arr;
	size_t n;
	int err;

	if (api_auth(a, r, "ao", &au))
		return HTTPD_DONE;
	if ((name || au.kind != TOKEN_ADMIN) && api_org_scope(a, r, &au, name, &org))
		return HTTPD_DONE;
	err = a->ops->token_list(a->store, name || au.kind != TOKEN_ADMIN ? org.id : NULL, &v, &n);
	if (err) {
		api_reply_store_error(r, err, "organization token");
		return HTTPD_DONE;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, token_json(&v[i]));
	free(v);
	httpd_reply_json(r, 200, arr);
	return HTTPD_DONE;
}

/* An admin revokes any organization token; an organization token those of
 * its organization (itself included). Another organization's: 404. */
enum httpd_result handle_token_delete(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	const char *id = httpd_param(r);
	char who[API_WHO_LEN];
	struct token_rec t;
	struct auth au;
	int err;

	if (api_auth(a, r, "ao", &au))
		return HTTPD_DONE;
	if (validate_token_id(id) || a->ops->token_get(a->store, id, &t) || t.kind != TOKEN_ORG ||
	    !api_can_see(&au, t.org_id)) {
		httpd_reply_error(r, 404, "no such organization token: %.32s", id);
		return HTTPD_DONE;
	}
	err = a->ops->token_delete(a->store, id);
	if (err && err != -ENOENT) {
		api_reply_store_error(r, err, "organization token");
		return HTTPD_DONE;
	}
	api_who(&au, who);
	log_info("organization token %s of %s revoked by %s", id, t.org_name, who);
	httpd_reply_empty(r, 204);
	return HTTPD_DONE;
}

enum httpd_result handle_whoami(struct httpd_request *r, void *ctx)
{
	static const char *const kinds[] = { [TOKEN_ADMIN] = "admin", [TOKEN_ORG] = "organization",
					     [TOKEN_DEVICE] = "device" };
	struct api *a = ctx;
	struct org_rec org;
	struct auth au;
	json_t *j;

	if (api_auth(a, r, "aod", &au))
		return HTTPD_DONE;
	j = json_pack("{s:s, s:s, s:o, s:o}", "kind", kinds[(unsigned char)au.kind], "token_id", au.id,
		      "created_at", expiry_json(au.created_at), "expires_at", expiry_json(au.expires_at));
	if (j && au.org_id[0] && a->ops->org_get(a->store, au.org_id, &org) == 0)
		json_object_set_new(j, "organization", json_string(org.name));
	if (j && au.device_id[0])
		json_object_set_new(j, "device_id", json_string(au.device_id));
	httpd_reply_json(r, 200, j);
	return HTTPD_DONE;
}

/* The device's own token: a new one, valid for the server's device-token
 * lifetime; the one used stays valid until it expires (an agent that dies
 * before it stores the new one is not locked out). */
enum httpd_result handle_device_token_renew(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	const char *id = httpd_param(r);
	char text[AUTH_TOKEN_LEN + 1];
	struct token_rec t;
	struct auth au;
	int err;

	if (api_auth(a, r, "d", &au))
		return HTTPD_DONE;
	if (strcmp(au.device_id, id)) {
		httpd_reply_error(r, 403, "a device renews its own token only");
		return HTTPD_DONE;
	}
	memset(&t, 0, sizeof(t));
	auth_token_new(TOKEN_DEVICE, text, t.id, t.hash);
	t.kind = TOKEN_DEVICE;
	snprintf(t.org_id, sizeof(t.org_id), "%s", au.org_id);
	snprintf(t.device_id, sizeof(t.device_id), "%s", au.device_id);
	t.created_at = api_now();
	t.expires_at = a->device_token_ttl ? t.created_at + a->device_token_ttl : 0;
	err = a->ops->device_token_renew(a->store, &t, t.created_at);
	if (err) {
		sodium_memzero(text, sizeof(text));
		api_reply_store_error(r, err, "device token");
		return HTTPD_DONE;
	}
	log_info("device %s renewed its token (%s)", id, t.id);
	httpd_reply_json(r, 201, json_pack("{s:s, s:s, s:o, s:o}", "device_token", text, "token_id", t.id,
					   "created_at", expiry_json(t.created_at), "expires_at",
					   expiry_json(t.expires_at)));
	sodium_memzero(text, sizeof(text));
	return HTTPD_DONE;
}
