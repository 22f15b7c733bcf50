#include "nexd/path.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"

#define MS(x) ((uint64_t)(x) * NSEC_PER_MSEC)

void path_init(struct path_state *s, uint64_t now_ns)
{
	memset(s, 0, sizeof(*s));
	s->kind = PATH_DIRECT;
	s->since_ns = now_ns;
}

const char *path_name(enum path_kind k)
{
	return k == PATH_RELAY ? "relay" : "direct";
}

/* No reply over the tunnel for the grace period, counted from when this
 * path began or from the last reply, whichever is later. */
static bool silent(const struct path_state *s, const struct path_input *in)
{
	uint64_t from = in->last_reply_ns > s->since_ns ? in->last_reply_ns : s->since_ns;

	return !in->reachable && in->now_ns - from >= MS(PATH_DIRECT_GRACE_MS);
}

bool path_step(struct path_state *s, const struct path_input *in, char *why, size_t whylen)
{
	bool fresh_check = in->probe_ok_ns && in->now_ns - in->probe_ok_ns <= MS(PATH_PROBE_FRESH_MS);

	why[0] = 0;
	if (s->kind == PATH_DIRECT) {
		if (!in->relay_ready || !silent(s, in))
			return false;
		if (in->last_reply_ns > s->since_ns || s->has_direct_ep)
			s->direct_failed_ns = in->now_ns;
		snprintf(why, whylen, "%s", in->last_reply_ns > s->since_ns ? "the direct path stopped answering"
									   : "no direct path answers");
		s->kind = PATH_RELAY;
		s->since_ns = in->now_ns;
		s->relay_down_ns = 0;
		return true;
	}
	if (!in->relay_ready) {
		if (!s->relay_down_ns)
			s->relay_down_ns = in->now_ns;
		if (in->now_ns - s->relay_down_ns < MS(PATH_RELAY_LOSS_MS))
			return false;
		s->relay_down_ns = 0;
		s->kind = PATH_DIRECT;
		s->since_ns = in->now_ns;
		s->has_direct_ep = false;
		snprintf(why, whylen, "the relay is gone");
		return true;
	}
	s->relay_down_ns = 0;
	/* Relayed: a direct candidate answered a check. Not right after a
	 * direct path failed, unless the check came after the back-off. */
	if (fresh_check && (!s->direct_failed_ns || in->probe_ok_ns >= s->direct_failed_ns + MS(PATH_RETRY_BACKOFF_MS))) {
		char ep[ADDR_ENDPOINT_STRLEN];

		s->kind = PATH_DIRECT;
		s->since_ns = in->now_ns;
		s->has_direct_ep = true;
		s->direct_ep = in->probe_ep;
		addr_endpoint_format(&in->probe_ep, ep);
		snprintf(why, whylen, "%s answers directly", ep);
		return true;
	}
	return false;
}

/* ---- the table ----------------------------------------------------------- */

void path_table_init(struct path_table *t)
{
	memset(t, 0, sizeof(*t));
	keyindex_init(&t->ix, sizeof(*t->peers), offsetof(struct path_peer, key), sizeof(t->peers->key));
	(void)keyindex_build(&t->ix, NULL, 0);
}

void path_table_release(struct path_table *t)
{
	keyindex_release(&t->ix);
	free(t->peers);
	t->peers = NULL;
	t->n = t->cap = 0;
}

struct path_peer *path_table_find(const struct path_table *t, const uint8_t key[32])
{
	size_t i;

	return keyindex_find(&t->ix, key, &i) ? &t->peers[i] : NULL;
}

void path_table_begin(struct path_table *t)
{
	for (size_t i = 0; i < t->n; i++)
		t->peers[i].seen = false;
}

struct path_peer *path_table_see(struct path_table *t, const uint8_t key[32], uint64_t now_ns)
{
	struct path_peer *p = path_table_find(t, key);

	if (!p) {
		if (t->n == t->cap) {
			size_t cap = t->cap ? 2 * t->cap : 16;
			struct path_peer *grown = realloc(t->peers, cap * sizeof(*grown));

			if (!grown)
				return NULL;
			t->peers = grown;
			t->cap = cap;
			keyindex_rebase(&t->ix, t->peers);
		}
		p = &t->peers[t->n++];
		memset(p, 0, sizeof(*p));
		memcpy(p->key, key, 32);
		path_init(&p->st, now_ns);
		keyindex_append(&t->ix);
	}
	p->seen = true;
	return p;
}

void path_table_end(struct path_table *t)
{
	for (size_t i = 0; i < t->n;) {
		if (t->peers[i].seen) {
			i++;
			continue;
		}
		keyindex_swap_remove(&t->ix, i);
		t->peers[i] = t->peers[--t->n];
	}
}
