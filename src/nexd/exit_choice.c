#include "nexd/exit_choice.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/addr.h"
#include "common/key.h"
#include "common/timeutil.h"

int exit_prefs_parse(const char *list, struct exit_prefs *out)
{
	const char *p = list;

	memset(out, 0, sizeof(*out));
	if (!list || !*list)
		return -EINVAL;
	while (*p) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);

		if (len == 0 || len >= EXIT_PREF_LEN || out->n == EXIT_PREFS_MAX)
			return -EINVAL;
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)p[i] <= ' ' || (unsigned char)p[i] >= 0x7f)
				return -EINVAL;
		memcpy(out->items[out->n], p, len);
		out->items[out->n][len] = 0;
		out->n++;
		if (!comma)
			break;
		p = comma + 1;
		if (!*p)
			return -EINVAL;
	}
	return 0;
}

void exit_prefs_format(const struct exit_prefs *p, char *out, size_t len)
{
	size_t o = 0;

	if (len)
		out[0] = 0;
	for (size_t i = 0; i < p->n && o < len; i++) {
		int n = snprintf(out + o, len - o, "%s%s", i ? "," : "", p->items[i]);
		if (n < 0)
			break;
		o += (size_t)n;
	}
}

bool exit_pref_matches(const char *item, const struct exit_candidate *c)
{
	uint8_t key[32], ip[16] = { 0 };
	int family;

	if (c->hostname && !strcmp(item, c->hostname))
		return true;
	if (addr_ip_parse(item, &family, ip) == 0)
		return family == c->family && !memcmp(ip, c->tunnel_ip, family == AF_INET ? 4 : 16);
	if (key_from_base64(key, item) == 0)
		return !memcmp(key, c->public_key, 32);
	return false;
}

static int find(const struct exit_candidate *c, size_t n, const char *item)
{
	for (size_t i = 0; i < n; i++)
		if (exit_pref_matches(item, &c[i]))
			return (int)i;
	return -1;
}

/* The default choice: lowest latency among those that answer, with
 * hysteresis for the one in use. */
static int by_latency(const struct exit_candidate *c, size_t n, int current)
{
	int best = -1;

	for (size_t i = 0; i < n; i++) {
		if (!c[i].reachable)
			continue;
		if (best < 0 || c[i].latency_us < c[best].latency_us)
			best = (int)i;
	}
	if (current >= 0 && c[current].reachable) {
		uint32_t cur = c[current].latency_us, b = best >= 0 ? c[best].latency_us : cur;

		if (best >= 0 && best != current && (uint64_t)b * 100 < (uint64_t)cur * (100 - EXIT_HYSTERESIS_PCT) &&
		    cur - b >= EXIT_HYSTERESIS_MIN_US)
			return best;
		return current;
	}
	if (best >= 0)
		return best;
	if (current >= 0)
		return current; /* nothing answers: fail closed where we are */
	/* Nothing answers, or nothing was measured yet (just subscribed, or
	 * the exit nodes just appeared): the first, until the prober says
	 * more; traffic fails closed on it meanwhile. */
	return n ? 0 : -1;
}

int exit_choose(const struct exit_candidate *c, size_t n, int current, const struct exit_prefs *p, uint64_t now_ns)
{
	int idx[EXIT_PREFS_MAX];
	int first_ok = -1, pos_current = -1;

	if (current >= (int)n)
		current = -1;
	if (!p || p->n == 0)
		return by_latency(c, n, current);
	for (size_t k = 0; k < p->n; k++) {
		idx[k] = find(c, n, p->items[k]);
		if (idx[k] >= 0 && idx[k] == current && pos_current < 0)
			pos_current = (int)k;
		if (first_ok < 0 && idx[k] >= 0 && (c[idx[k]].reachable || !c[idx[k]].measured))
			first_ok = (int)k;
	}
	if (p->n == 1 && !p->failover)
		return idx[0];
	if (pos_current >= 0 && (c[current].reachable || !c[current].measured)) {
		/* Back to an earlier one once it has answered steadily. */
		for (int k = 0; k < pos_current; k++) {
			if (idx[k] >= 0 && c[idx[k]].reachable &&
			    now_ns - c[idx[k]].reachable_since_ns >= (uint64_t)EXIT_RETURN_STEADY_S * NSEC_PER_SEC)
				return idx[k];
		}
		return current;
	}
	if (first_ok >= 0)
		return idx[first_ok];
	if (p->failover) {
		int other = by_latency(c, n, -1);
		if (other >= 0 && c[other].reachable)
			return other;
	}
	if (pos_current >= 0)
		return current;
	for (size_t k = 0; k < p->n; k++)
		if (idx[k] >= 0)
			return idx[k];
	return -1;
}
