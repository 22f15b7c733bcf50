#include "nexd/path.h"

#include <stdio.h>
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
