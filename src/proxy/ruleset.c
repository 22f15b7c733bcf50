/* The rule table (ruleset.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "proxy/egress.h"
#include "proxy/flow.h"
#include "proxy/ingress.h"
#include "proxy/ruleset.h"
#include "proxy/udpassoc.h"

static const char *dir_name(const struct proxy_rule *r)
{
	return r->dir == PROXY_INGRESS ? "ingress" : "egress";
}

int ruleset_add(struct proxy *p, const struct proxy_rule *r, char *why, size_t why_len)
{
	struct prule *pr, **tail = &p->rules;
	char text[PROXY_RULE_STRLEN];
	int err;

	if (proxy_rule_format(r, text, sizeof(text)) < 0) {
		snprintf(why, why_len, "not a valid rule");
		return -EINVAL;
	}
	for (pr = p->rules; pr; pr = pr->next, tail = &(*tail)->next)
		if (pr->rule.dir == r->dir && pr->rule.proto == r->proto && pr->rule.port == r->port) {
			snprintf(why, why_len, "%s %s: %s", dir_name(r), text,
				 proxy_rule_equal(&pr->rule, r) ? "already added"
								: "the same protocol and port as another rule");
			return -EEXIST;
		}
	pr = calloc(1, sizeof(*pr));
	if (!pr) {
		snprintf(why, why_len, "%s %s: out of memory", dir_name(r), text);
		return -ENOMEM;
	}
	pr->p = p;
	pr->rule = *r;
	memcpy(pr->text, text, sizeof(text));
	pr->own.limit = p->lim.max_flows_per_rule;
	pr->fd = -1;
	pr->pidx = -1;
	err = r->dir == PROXY_INGRESS ? ingress_listen(p, pr, why, why_len) : egress_listen(pr, why, why_len);
	if (err < 0) {
		free(pr);
		return err;
	}
	*tail = pr;
	if (r->dir == PROXY_EGRESS)
		log_info("proxy: egress %s added: listening on 127.0.0.1:%u", text, r->port);
	else
		log_info("proxy: ingress %s added: listening on port %u of the tunnel address", text, r->port);
	return 0;
}

static void close_flows(struct proxy *p, struct prule *pr)
{
	for (struct flow *f = p->flows; f; f = f->next)
		if (!pr || f->own == &pr->own)
			flow_kill(f, true);
	for (struct udpassoc *a = p->assocs; a; a = a->next)
		if (!pr || a->rule == pr)
			udpassoc_kill(a);
	flow_reap(p);
	udpassoc_reap(p);
}

static void free_rule(struct prule *pr)
{
	if (pr->rule.dir == PROXY_INGRESS)
		ingress_close(pr);
	else
		egress_close(pr);
	free(pr);
}

int ruleset_remove(struct proxy *p, const struct proxy_rule *r)
{
	struct prule **pp, *pr;

	for (pp = &p->rules; *pp; pp = &(*pp)->next)
		if (proxy_rule_equal(&(*pp)->rule, r))
			break;
	pr = *pp;
	if (!pr)
		return -ENOENT;
	close_flows(p, pr);
	*pp = pr->next;
	log_info("proxy: %s %s removed (%llu flows served)", dir_name(&pr->rule), pr->text,
		 (unsigned long long)pr->own.total);
	free_rule(pr);
	return 0;
}

int ruleset_list(struct proxy *p, struct proxy_rule_info **out)
{
	struct proxy_rule_info *v;
	struct prule *pr;
	int n = 0, i = 0;

	for (pr = p->rules; pr; pr = pr->next)
		n++;
	v = calloc(n ? (size_t)n : 1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (pr = p->rules; pr; pr = pr->next, i++) {
		v[i].rule = pr->rule;
		v[i].flows = pr->own.flows;
		v[i].total = pr->own.total;
		v[i].refused = pr->own.refused;
	}
	*out = v;
	return n;
}

void ruleset_poll_prepare(struct proxy *p, struct pollvec *pv)
{
	for (struct prule *pr = p->rules; pr; pr = pr->next)
		if (pr->rule.dir == PROXY_EGRESS)
			egress_poll_prepare(pr, pv);
}

void ruleset_poll_done(struct proxy *p, const struct pollvec *pv)
{
	for (struct prule *pr = p->rules; pr; pr = pr->next)
		if (pr->rule.dir == PROXY_EGRESS)
			egress_poll_done(p, pr, pv);
}

void ruleset_free_all(struct proxy *p)
{
	close_flows(p, NULL);
	while (p->rules) {
		struct prule *pr = p->rules;

		p->rules = pr->next;
		free_rule(pr);
	}
}
