/* libnftables, one context per call, output and errors buffered; listings
 * read as JSON with jansson, bounded in size and count. */
#include "nexd/nft.h"

#include <errno.h>
#include <jansson.h>
#include <nftables/libnftables.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

/* A context whose output and error streams are buffered; json: listings as
 * JSON. NULL when out of memory. */
static struct nft_ctx *ctx_open(bool json)
{
	struct nft_ctx *ctx = nft_ctx_new(NFT_CTX_DEFAULT);

	if (!ctx)
		return NULL;
	if (nft_ctx_buffer_output(ctx) != 0 || nft_ctx_buffer_error(ctx) != 0) {
		nft_ctx_free(ctx);
		return NULL;
	}
	if (json)
		nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
	return ctx;
}

/* The first line of nft's error text, and the script line it quotes. */
static void error_text(struct nft_ctx *ctx, char *err, size_t errlen)
{
	const char *e = nft_ctx_get_error_buffer(ctx);
	size_t l1, l2 = 0;
	const char *second = NULL;

	if (!err || errlen == 0)
		return;
	if (!e || !*e)
		e = "nft failed without a message";
	l1 = strcspn(e, "\n");
	if (e[l1] == '\n') {
		second = e + l1 + 1;
		second += strspn(second, " \t");
		l2 = strcspn(second, "\n");
	}
	if (l2 > 0)
		snprintf(err, errlen, "%.*s (in: %.*s)", (int)l1, e, (int)l2, second);
	else
		snprintf(err, errlen, "%.*s", (int)l1, e);
}

int nft_apply(const char *script, char *err, size_t errlen)
{
	struct nft_ctx *ctx;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!script)
		return -EINVAL;
	ctx = ctx_open(false);
	if (!ctx)
		return -ENOMEM;
	rc = nft_run_cmd_from_buffer(ctx, script);
	if (rc != 0) {
		error_text(ctx, err, errlen);
		nft_ctx_free(ctx);
		return -EIO;
	}
	nft_ctx_free(ctx);
	return 0;
}

static bool family_valid(const char *f)
{
	static const char *const families[] = { "ip", "ip6", "inet", "arp", "bridge", "netdev" };

	if (!f)
		return false;
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++)
		if (strcmp(f, families[i]) == 0)
			return true;
	return false;
}

/* An identifier as nft's scanner reads one unquoted. */
static bool name_valid(const char *s)
{
	size_t len;

	if (!s)
		return false;
	len = strnlen(s, NFT_NAME_MAX + 1);
	if (len == 0 || len > NFT_NAME_MAX)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < len; i++) {
		char c = s[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* Runs a listing command with JSON output; the parsed document in *out.
 * `cmd` is built from validated names only. */
static int list_json(const char *cmd, json_t **out)
{
	struct nft_ctx *ctx = ctx_open(true);
	const char *text;
	json_error_t jerr;
	size_t len;
	json_t *doc;
	char err[256];
	int rc;

	if (!ctx)
		return -ENOMEM;
	if (nft_run_cmd_from_buffer(ctx, cmd) != 0) {
		error_text(ctx, err, sizeof(err));
		log_debug("nft: '%s': %s", cmd, err);
		rc = -EIO;
		goto out_free_ctx;
	}
	text = nft_ctx_get_output_buffer(ctx);
	len = text ? strnlen(text, (size_t)NFT_LIST_MAX + 1) : 0;
	if (len > NFT_LIST_MAX) {
		rc = -E2BIG;
		goto out_free_ctx;
	}
	doc = json_loadb(text ? text : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc || !json_is_object(doc)) {
		json_decref(doc);
		rc = -EBADMSG;
		goto out_free_ctx;
	}
	*out = doc;
	rc = 0;
out_free_ctx:
	nft_ctx_free(ctx);
	return rc;
}

/* The array of {"<kind>": {...}} objects of a listing. */
static json_t *listing_items(json_t *doc)
{
	json_t *items = json_object_get(doc, "nftables");

	return json_is_array(items) ? items : NULL;
}

static const char *str_field(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int nft_table_exists(const char *family, const char *name)
{
	char cmd[64];
	json_t *doc, *items, *it;
	size_t i;
	int found = 0, err;

	if (!family_valid(family) || !name_valid(name))
		return -EINVAL;
	snprintf(cmd, sizeof(cmd), "list tables %s", family);
	err = list_json(cmd, &doc);
	if (err < 0)
		return err;
	items = listing_items(doc);
	if (!items) {
		json_decref(doc);
		return -EBADMSG;
	}
	json_array_foreach(items, i, it) {
		json_t *t = json_object_get(it, "table");
		const char *f, *nm;

		if (i >= NFT_CHAINS_MAX)
			break;
		if (!json_is_object(t))
			continue;
		f = str_field(t, "family");
		nm = str_field(t, "name");
		if (f && nm && strcmp(f, family) == 0 && strcmp(nm, name) == 0) {
			found = 1;
			break;
		}
	}
	json_decref(doc);
	return found;
}

int nft_table_delete(const char *family, const char *name)
{
	char script[2 * NFT_NAME_MAX + 64];
	char err[256];
	int rc;

	if (!family_valid(family) || !name_valid(name))
		return -EINVAL;
	/* one transaction: creating it first makes the delete always valid */
	snprintf(script, sizeof(script), "add table %s %s\ndelete table %s %s\n", family, name,
		 family, name);
	rc = nft_apply(script, err, sizeof(err));
	if (rc < 0)
		log_warn("nft: deleting table %s %s: %s", family, name, err);
	return rc;
}

int nft_forward_drop_chains(const char *skip_family, const char *skip_table,
			    struct nft_chain_ref *out, size_t cap, size_t *n)
{
	json_t *doc, *items, *it;
	size_t i, found = 0;
	int err;

	if (!n || (cap && !out))
		return -EINVAL;
	err = list_json("list chains", &doc);
	if (err < 0)
		return err;
	items = listing_items(doc);
	if (!items) {
		json_decref(doc);
		return -EBADMSG;
	}
	json_array_foreach(items, i, it) {
		json_t *c = json_object_get(it, "chain");
		const char *f, *t, *nm, *hook, *policy;

		if (i >= NFT_CHAINS_MAX)
			break;
		if (!json_is_object(c))
			continue;
		f = str_field(c, "family");
		t = str_field(c, "table");
		nm = str_field(c, "name");
		hook = str_field(c, "hook");
		policy = str_field(c, "policy");
		if (!f || !t || !nm || !hook || !policy)
			continue;  /* not a base chain */
		if (strcmp(hook, "forward") != 0 || strcmp(policy, "drop") != 0)
			continue;
		if (strcmp(f, "ip") != 0 && strcmp(f, "ip6") != 0 && strcmp(f, "inet") != 0)
			continue;
		if (skip_family && skip_table && strcmp(f, skip_family) == 0 &&
		    strcmp(t, skip_table) == 0)
			continue;
		if (found < cap) {
			struct nft_chain_ref *r = &out[found];

			snprintf(r->family, sizeof(r->family), "%s", f);
			snprintf(r->table, sizeof(r->table), "%s", t);
			snprintf(r->chain, sizeof(r->chain), "%s", nm);
		}
		found++;
	}
	json_decref(doc);
	*n = found;
	return 0;
}

void nft_chain_ref_format(const struct nft_chain_ref *c, char *buf, size_t len)
{
	if (len == 0)
		return;
	snprintf(buf, len, "table %s %s, chain %s", c->family, c->table, c->chain);
}
