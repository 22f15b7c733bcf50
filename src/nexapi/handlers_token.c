/* POST /api/v1/tokens: organization tokens, made by an admin. */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "common/log.h"
#include "nexapi/api.h"
#include "nexapi/body.h"

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
	t.created_at = api_now();
	err = a->ops->token_create(a->store, &t, API_MAX_ORG_TOKENS);
	if (err) {
		sodium_memzero(text, sizeof(text));
		api_reply_store_error(r, err, "organization token");
		return HTTPD_DONE;
	}
	log_info("organization token %s created for %s", t.id, org.name);
	httpd_reply_json(r, 201, json_pack("{s:s, s:s, s:s}", "id", t.id, "organization", org.name,
					   "token", text));
	sodium_memzero(text, sizeof(text));
	return HTTPD_DONE;
}
