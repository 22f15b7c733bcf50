/* The rules of one engine in the order added, each with its listener and
 * counters; removing one closes its flows. Proxy thread only. */
#ifndef PROXY_RULESET_H
#define PROXY_RULESET_H

#include <stddef.h>

#include "proxy/engine.h"

int ruleset_add(struct proxy *p, const struct proxy_rule *r, char *why, size_t why_len);
int ruleset_remove(struct proxy *p, const struct proxy_rule *r);
/* A malloc'd array in *out, its length; -ENOMEM. */
int ruleset_list(struct proxy *p, struct proxy_rule_info **out);
void ruleset_poll_prepare(struct proxy *p, struct pollvec *pv);
void ruleset_poll_done(struct proxy *p, const struct pollvec *pv);
/* Every flow and association closed (reset), every rule removed. */
void ruleset_free_all(struct proxy *p);

#endif
