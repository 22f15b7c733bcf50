/* Registration keys: create, list, revoke. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "nexapi/api.h"
#include "nexapi/body.h"
#include "nexapi/validate.h"

enum httpd_result handle_regkey_create(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	char text[AUTH_TOKEN_LEN + 1], who[API_WHO_LEN];
	struct body_regkey b;
	struct regkey_rec k;
	struct jsonv_err e;
	struct org_rec org;
	struct auth au;
	const char *body;
	json_t *j;
	size_t len;
	int err;

	if (api_auth(a, r, "ao", &au))
		return HTTPD_DONE;
	body = httpd_body(r, &len);
	if (body_parse_regkey(body, len, &b, &e)) {
		httpd_reply_error(r, 400, "%s", e.msg);
		return HTTPD_DONE;
	}
	if (api_org_scope(a, r, &au, b.organization[0] ? b.organization : NULL, &org))
		return HTTPD_DONE;
	memset(&k, 0, sizeof(k));
	auth_token_new(TOKEN_REGKEY, text, k.id, k.hash);
	snprintf(k.org_id, sizeof(k.org_id), "%s", org.id);
	snprintf(k.org_name, sizeof(k.org_name), "%s", org.name);
	k.single_use = b.single_use;
	k.auto_approve = b.auto_approve;
	k.created_at = api_now();
	k.expires_at = b.expires_in ? k.created_at + b.expires_in : 0;
	err = a->ops->regkey_create(a->store, &k, API_MAX_REGKEYS);
	if (err) {
		sodium_memzero(text, sizeof(text));
		api_reply_store_error(r, err, "registration key");
		return HTTPD_DONE;
	}
	api_who(&au, who);
	log_info("registration key %s created for %s by %s%s%s", k.id, org.name, who,
		 k.single_use ? " (single use)" : "", k.auto_approve ? " (auto-approve)" : "");
	j = api_regkey_json(&k, text);
	sodium_memzero(text, sizeof(text));
	httpd_reply_json(r, 201, j);
	return HTTPD_DONE;
}

enum httpd_result handle_regkey_list(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	const char *name = httpd_query(r, "organization");
	struct regkey_rec *keys;
	struct org_rec org;
	struct auth au;
	json_t *arr;
	size_t n;
	int err;

	if (api_auth(a, r, "ao", &au))
		return HTTPD_DONE;
	if (au.kind == TOKEN_ADMIN && !name) {
		err = a->ops->regkey_list(a->store, NULL, &keys, &n);
	} else {
		if (api_org_scope(a, r, &au, name, &org))
			return HTTPD_DONE;
		err = a->ops->regkey_list(a->store, org.id, &keys, &n);
	}
	if (err) {
		api_reply_store_error(r, err, "registration key");
		return HTTPD_DONE;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, api_regkey_json(&keys[i], NULL));
	free(keys);
	httpd_reply_json(r, 200, arr);
	return HTTPD_DONE;
}

enum httpd_result handle_regkey_delete(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	const char *id = httpd_param(r);
	struct regkey_rec k;
	struct auth au;
	int err;

	if (api_auth(a, r, "ao", &au))
		return HTTPD_DONE;
	err = validate_token_id(id) ? -ENOENT : a->ops->regkey_get(a->store, id, &k);
	if (err == -ENOENT || (!err && !api_can_see(&au, k.org_id))) {
		httpd_reply_error(r, 404, "no such registration key: %s", id);
		return HTTPD_DONE;
	}
	if (!err)
		err = a->ops->regkey_revoke(a->store, id);
	if (err) {
		api_reply_store_error(r, err, "registration key");
		return HTTPD_DONE;
	}
	{
		char who[API_WHO_LEN];

		api_who(&au, who);
		log_info("registration key %s revoked by %s", id, who);
	}
	httpd_reply_empty(r, 204);
	return HTTPD_DONE;
}
