#include "nexd/exit_choice.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

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

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

int exit_pref_find(const char *item, const struct exit_candidate *c, size_t n)
{
	uint8_t key[32], ip[16] = { 0 };
	int family, found = -ENOENT;

	if (is_uuid(item)) {
		for (size_t i = 0; i < n; i++)
			if (c[i].id && !strcasecmp(item, c[i].id))
				return (int)i;
		return -ENOENT;
	}
	if (addr_ip_parse(item, &family, ip) == 0) {
		for (size_t i = 0; i < n; i++)
			if (family == c[i].family && !memcmp(ip, c[i].tunnel_ip, family == AF_INET ? 4 : 16))
				return (int)i;
		return -ENOENT;
	}
	if (key_from_base64(key, item) == 0) {
		for (size_t i = 0; i < n; i++)
			if (!memcmp(key, c[i].public_key, 32))
				return (int)i;
		return -ENOENT;
	}
	for (size_t i = 0; i < n; i++) {
		if (!c[i].hostname || strcmp(item, c[i].hostname))
			continue;
		if (found >= 0)
			return -EEXIST;
		found = (int)i;
	}
	return found;
}

int exit_prefs_check(const struct exit_prefs *p, const struct exit_candidate *c, size_t n, char *err, size_t errlen)
{
	for (size_t k = 0; k < p->n; k++) {
		int r = exit_pref_find(p->items[k], c, n);
		size_t o;

		if (r >= 0)
			continue;
		if (r == -ENOENT) {
			snprintf(err, errlen, "%.64s is not an approved exit node of the organization "
				 "(give a device id, public key, tunnel IP or hostname; see `nexctl nexd exit-node list`)",
				 p->items[k]);
			return r;
		}
		o = (size_t)snprintf(err, errlen, "%.64s names several exit nodes; give a device id, public key "
				     "or tunnel IP instead:", p->items[k]);
		for (size_t i = 0; i < n && o < errlen; i++) {
			char ip[INET6_ADDRSTRLEN] = "";

			if (!c[i].hostname || strcmp(p->items[k], c[i].hostname))
				continue;
			inet_ntop(c[i].family, c[i].tunnel_ip, ip, sizeof(ip));
			o += (size_t)snprintf(err + o, errlen - o, " %s (%s)", ip, c[i].id ? c[i].id : "?");
		}
		return r;
	}
	return 0;
}

static int find(const struct exit_candidate *c, size_t n, const char *item)
{
	int r = exit_pref_find(item, c, n);

	return r < 0 ? -1 : r;
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
