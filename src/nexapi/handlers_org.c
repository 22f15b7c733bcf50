/* GET /healthz and the organization endpoints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "nexapi/api.h"
#include "nexapi/body.h"

/* ok only while the store can commit a write (a full disk or a
 * read-only database is not healthy), checked at most once a second. */
enum httpd_result handle_healthz(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	struct timespec ts;
	int64_t now_ms;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (!a->health_checked_ms || now_ms - a->health_checked_ms >= 1000) {
		int err = a->ops->write_check(a->store, a->health_why, sizeof(a->health_why));

		if (err && !a->health_err)
			log_error("healthz: the store cannot write: %s", a->health_why);
		else if (!err && a->health_err)
			log_info("healthz: the store writes again");
		a->health_err = err;
		a->health_checked_ms = now_ms;
	}
	if (a->health_err) {
		httpd_reply_json(r, 503, json_pack("{s:s, s:s+}", "status", "unavailable", "error",
						   "the store cannot write: ", a->health_why));
		return HTTPD_DONE;
	}
	httpd_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
	return HTTPD_DONE;
}

enum httpd_result handle_org_list(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	struct org_rec *orgs;
	struct auth au;
	size_t n;
	json_t *arr;
	int err;

	if (api_auth(a, r, "aod", &au))
		return HTTPD_DONE;
	err = a->ops->org_list(a->store, au.kind == TOKEN_ADMIN ? NULL : au.org_id, &orgs, &n);
	if (err) {
		api_reply_store_error(r, err, "organization");
		return HTTPD_DONE;
	}
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++)
		json_array_append_new(arr, api_org_json(&orgs[i]));
	free(orgs);
	httpd_reply_json(r, 200, arr);
	return HTTPD_DONE;
}

enum httpd_result handle_org_create(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	struct body_org b;
	struct jsonv_err e;
	struct org_rec org;
	struct auth au;
	const char *body;
	size_t len;
	int err;

	if (api_auth(a, r, "a", &au))
		return HTTPD_DONE;
	body = httpd_body(r, &len);
	if (body_parse_org(body, len, &b, &e)) {
		httpd_reply_error(r, 400, "%s", e.msg);
		return HTTPD_DONE;
	}
	memset(&org, 0, sizeof(org));
	auth_uuid(org.id);
	snprintf(org.name, sizeof(org.name), "%s", b.name);
	snprintf(org.prefix, sizeof(org.prefix), "%s", b.prefix[0] ? b.prefix : API_DEFAULT_PREFIX);
	snprintf(org.prefix6, sizeof(org.prefix6), "%s", b.prefix6);
	org.approval_auto = b.approval_auto;
	org.created_at = api_now();
	err = a->ops->org_create(a->store, &org, API_MAX_ORGS);
	if (err == -EEXIST) {
		httpd_reply_error(r, 409, "organization %s already exists", org.name);
		return HTTPD_DONE;
	}
	if (err) {
		api_reply_store_error(r, err, "organization");
		return HTTPD_DONE;
	}
	{
		char who[API_WHO_LEN];

		api_who(&au, who);
		log_info("organization %s created by %s (%s, prefix %s%s%s, exit_node_approval %s)", org.name, who,
			 org.id, org.prefix, org.prefix6[0] ? ", prefix6 " : "", org.prefix6,
			 org.approval_auto ? "auto" : "admin");
	}
	httpd_reply_json(r, 201, api_org_json(&org));
	return HTTPD_DONE;
}

enum httpd_result handle_org_get(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	struct org_rec org;
	struct auth au;
	int err;

	if (api_auth(a, r, "aod", &au))
		return HTTPD_DONE;
	err = a->ops->org_get(a->store, httpd_param(r), &org);
	if (err == -ENOENT || (!err && !api_can_see(&au, org.id))) {
		httpd_reply_error(r, 404, "no such organization: %s", httpd_param(r));
		return HTTPD_DONE;
	}
	if (err) {
		api_reply_store_error(r, err, "organization");
		return HTTPD_DONE;
	}
	httpd_reply_json(r, 200, api_org_json(&org));
	return HTTPD_DONE;
}

/* PATCH: exit_node_approval. Admin: any organization; organization token:
 * its own (another: 404). Switching to "auto" approves nothing already
 * advertised; the rule applies from the devices' next registration or
 * change of advertise_cidrs. */
enum httpd_result handle_org_patch(struct httpd_request *r, void *ctx)
{
	struct api *a = ctx;
	struct body_org_patch b;
	struct jsonv_err e;
	struct org_rec org;
	struct auth au;
	char who[API_WHO_LEN];
	const char *body;
	size_t len;
	int err;

	if (api_auth(a, r, "ao", &au))
		return HTTPD_DONE;
	err = a->ops->org_get(a->store, httpd_param(r), &org);
	if (err == -ENOENT || (!err && !api_can_see(&au, org.id))) {
		httpd_reply_error(r, 404, "no such organization: %s", httpd_param(r));
		return HTTPD_DONE;
	}
	if (err) {
		api_reply_store_error(r, err, "organization");
		return HTTPD_DONE;
	}
	body = httpd_body(r, &len);
	if (body_parse_org_patch(body, len, &b, &e)) {
		httpd_reply_error(r, 400, "%s", e.msg);
		return HTTPD_DONE;
	}
	err = a->ops->org_set_approval(a->store, org.id, b.approval_auto, &org);
	if (err) {
		api_reply_store_error(r, err, "organization");
		return HTTPD_DONE;
	}
	api_who(&au, who);
	log_info("organization %s: exit_node_approval %s (by %s)", org.name, org.approval_auto ? "auto" : "admin",
		 who);
	httpd_reply_json(r, 200, api_org_json(&org));
	return HTTPD_DONE;
}
