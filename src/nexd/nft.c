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

/* A base chain on hook forward of a table we do not skip. */
static bool foreign_forward_chain(json_t *c, const char *skip_family, const char *skip_table)
{
	const char *f = str_field(c, "family"), *t = str_field(c, "table"), *hook = str_field(c, "hook");

	if (!f || !t || !str_field(c, "name") || !hook || strcmp(hook, "forward") != 0)
		return false;
	if (strcmp(f, "ip") != 0 && strcmp(f, "ip6") != 0 && strcmp(f, "inet") != 0)
		return false;
	return !(skip_family && skip_table && strcmp(f, skip_family) == 0 && strcmp(t, skip_table) == 0);
}

static bool is_one_of(const char *name, const char *const *ifs, size_t n_ifs)
{
	for (size_t i = 0; i < n_ifs; i++)
		if (ifs[i] && strcmp(name, ifs[i]) == 0)
			return true;
	return false;
}

/* The right side of an interface match can be satisfied by one of ifs
 * (a name, a wildcard "eth*", an anonymous set of those; op "==" or "!="). */
static bool if_match_ours(json_t *right, const char *op, const char *const *ifs, size_t n_ifs)
{
	json_t *set = json_is_object(right) ? json_object_get(right, "set") : NULL;
	bool any = false, neq = op && strcmp(op, "!=") == 0;
	size_t i;
	json_t *v;

	if (json_is_string(right)) {
		const char *r = json_string_value(right);
		size_t len = strlen(r);

		if (len && r[len - 1] == '*') {
			for (size_t k = 0; k < n_ifs; k++)
				any |= ifs[k] && strncmp(ifs[k], r, len - 1) == 0;
		} else {
			any = is_one_of(r, ifs, n_ifs);
		}
		/* "!= X" matches ours unless every one of ours is X: with
		 * several of ours, always possible */
		return neq ? (!any || n_ifs > 1) : any;
	}
	if (!json_is_array(set))
		return true;  /* something we do not read: assume it can */
	json_array_foreach(set, i, v)
		if (json_is_string(v) && is_one_of(json_string_value(v), ifs, n_ifs))
			any = true;
	return neq ? (!any || n_ifs > 1) : any;
}

/* A rule that drops (or rejects) forwarded traffic between ifs for sure:
 * its verdict is drop or reject and every match it has is on an interface
 * name one of ifs satisfies. Rules that match anything else (addresses,
 * ports, ct state invalid) are a host's own policy and not judged. */
static bool rule_drops_ours(json_t *expr, const char *const *ifs, size_t n_ifs)
{
	bool drops = false;
	size_t i;
	json_t *e;

	if (!json_is_array(expr))
		return false;
	json_array_foreach(expr, i, e) {
		json_t *m = json_object_get(e, "match");

		if (json_object_get(e, "drop") || json_object_get(e, "reject")) {
			drops = true;
			continue;
		}
		if (json_object_get(e, "counter") || json_object_get(e, "log"))
			continue;
		if (json_is_object(m)) {
			json_t *meta = json_object_get(json_object_get(m, "left"), "meta");
			const char *key = json_is_object(meta) ? str_field(meta, "key") : NULL;

			if (key && (!strcmp(key, "iifname") || !strcmp(key, "oifname") || !strcmp(key, "iif") ||
				    !strcmp(key, "oif"))) {
				if (!if_match_ours(json_object_get(m, "right"), str_field(m, "op"), ifs, n_ifs))
					return false;
				continue;
			}
		}
		return false;  /* any other expression: not judged */
	}
	return drops;
}

static void add_drop(struct nft_drop *out, size_t cap, size_t *found, const char *f, const char *t,
		     const char *c, bool rule)
{
	for (size_t i = 0; i < *found && i < cap; i++)
		if (!strcmp(out[i].chain.family, f) && !strcmp(out[i].chain.table, t) &&
		    !strcmp(out[i].chain.chain, c) && out[i].rule == rule)
			return;
	if (*found < cap) {
		struct nft_drop *d = &out[*found];

		snprintf(d->chain.family, sizeof(d->chain.family), "%s", f);
		snprintf(d->chain.table, sizeof(d->chain.table), "%s", t);
		snprintf(d->chain.chain, sizeof(d->chain.chain), "%s", c);
		d->rule = rule;
	}
	(*found)++;
}

static int drops_in(json_t *doc, const char *skip_family, const char *skip_table, const char *const *ifs,
		    size_t n_ifs, struct nft_drop *out, size_t cap, size_t *n)
{
	json_t *items = listing_items(doc), *it;
	size_t i, found = 0;

	if (!items)
		return -EBADMSG;
	/* chains come before their rules in a listing */
	json_array_foreach(items, i, it) {
		json_t *c = json_object_get(it, "chain"), *r = json_object_get(it, "rule");

		if (i >= NFT_CHAINS_MAX)
			break;
		if (json_is_object(c) && foreign_forward_chain(c, skip_family, skip_table)) {
			const char *policy = str_field(c, "policy");

			if (policy && strcmp(policy, "drop") == 0)
				add_drop(out, cap, &found, str_field(c, "family"), str_field(c, "table"),
					 str_field(c, "name"), false);
		} else if (json_is_object(r)) {
			const char *f = str_field(r, "family"), *t = str_field(r, "table"), *cn = str_field(r, "chain");
			json_t *ch;
			size_t k;
			bool base = false;

			if (!f || !t || !cn || !rule_drops_ours(json_object_get(r, "expr"), ifs, n_ifs))
				continue;
			json_array_foreach(items, k, ch) {
				json_t *cc = json_object_get(ch, "chain");

				if (k >= i)
					break;
				if (json_is_object(cc) && foreign_forward_chain(cc, skip_family, skip_table) &&
				    !strcmp(str_field(cc, "family"), f) && !strcmp(str_field(cc, "table"), t) &&
				    !strcmp(str_field(cc, "name"), cn)) {
					base = true;
					break;
				}
			}
			if (base)
				add_drop(out, cap, &found, f, t, cn, true);
		}
	}
	*n = found;
	return 0;
}

int nft_forward_drops_parse(const char *json_text, size_t len, const char *skip_family, const char *skip_table,
			    const char *const *ifs, size_t n_ifs, struct nft_drop *out, size_t cap, size_t *n)
{
	json_error_t jerr;
	json_t *doc;
	int r;

	if (!json_text || !n || (cap && !out) || len > NFT_LIST_MAX)
		return -EINVAL;
	doc = json_loadb(json_text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(doc)) {
		json_decref(doc);
		return -EBADMSG;
	}
	r = drops_in(doc, skip_family, skip_table, ifs, n_ifs, out, cap, n);
	json_decref(doc);
	return r;
}

int nft_forward_drops(const char *skip_family, const char *skip_table, const char *const *ifs, size_t n_ifs,
		      struct nft_drop *out, size_t cap, size_t *n)
{
	json_t *doc;
	int err;

	if (!n || (cap && !out))
		return -EINVAL;
	err = list_json("list ruleset", &doc);
	if (err < 0)
		return err;
	err = drops_in(doc, skip_family, skip_table, ifs, n_ifs, out, cap, n);
	json_decref(doc);
	return err;
}

void nft_drop_format(const struct nft_drop *d, char *buf, size_t len)
{
	if (len == 0)
		return;
	snprintf(buf, len, "table %s %s, chain %s %s", d->chain.family, d->chain.table, d->chain.chain,
		 d->rule ? "has a rule that drops it" : "has policy drop");
}
