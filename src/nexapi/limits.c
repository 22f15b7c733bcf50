#include "nexapi/limits.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

struct entry {
	char key[LIMITS_KEY_MAX + 1];   /* "" empty */
	double tokens;
	uint64_t last_ns;
	unsigned inflight, watches;
	bool tomb;                      /* removed: keeps probe chains intact */
};

struct limits {
	struct limits_config cfg;
	struct entry *e;
	size_t cap, used;               /* slots (power of two), live + tombstones */
	uint8_t seed[crypto_shorthash_KEYBYTES];
	bool warned;
};

int limits_new(const struct limits_config *cfg, struct limits **out)
{
	struct limits *l = calloc(1, sizeof(*l));
	size_t cap = 16;

	if (!l)
		return -ENOMEM;
	while (cap < cfg->capacity * 2)
		cap *= 2;
	l->e = calloc(cap, sizeof(*l->e));
	if (!l->e) {
		free(l);
		return -ENOMEM;
	}
	l->cfg = *cfg;
	l->cap = cap;
	randombytes_buf(l->seed, sizeof(l->seed));
	*out = l;
	return 0;
}

void limits_free(struct limits *l)
{
	if (!l)
		return;
	free(l->e);
	free(l);
}

static size_t slot_of(const struct limits *l, const char *key)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, (const unsigned char *)key, strlen(key), l->seed);
	memcpy(&v, h, sizeof(v));
	return (size_t)v & (l->cap - 1);
}

static void refill(const struct limits *l, struct entry *e, uint64_t now_ns)
{
	if (now_ns > e->last_ns) {
		e->tokens += (double)(now_ns - e->last_ns) / 1e9 * l->cfg.rate;
		if (e->tokens > l->cfg.burst)
			e->tokens = l->cfg.burst;
	}
	e->last_ns = now_ns;
}

static bool idle(const struct limits *l, struct entry *e, uint64_t now_ns)
{
	refill(l, e, now_ns);
	return !e->inflight && !e->watches && e->tokens >= l->cfg.burst;
}

/* Drops the idle entries and rebuilds the table without tombstones. */
static void compact(struct limits *l, uint64_t now_ns)
{
	struct entry *old = l->e, *ne = calloc(l->cap, sizeof(*ne));

	if (!ne)
		return;
	l->e = ne;
	l->used = 0;
	for (size_t i = 0; i < l->cap; i++) {
		size_t j;

		if (!old[i].key[0] || old[i].tomb || idle(l, &old[i], now_ns))
			continue;
		for (j = slot_of(l, old[i].key); ne[j].key[0]; j = (j + 1) & (l->cap - 1))
			;
		ne[j] = old[i];
		l->used++;
	}
	free(old);
}

static struct entry *find(const struct limits *l, const char *key)
{
	for (size_t i = slot_of(l, key), n = 0; n < l->cap; i = (i + 1) & (l->cap - 1), n++) {
		if (!l->e[i].key[0])
			return NULL;
		if (!l->e[i].tomb && !strcmp(l->e[i].key, key))
			return &l->e[i];
	}
	return NULL;
}

static struct entry *get(struct limits *l, const char *key, uint64_t now_ns)
{
	struct entry *e = find(l, key);
	size_t i;

	if (e)
		return e;
	if (l->used + 1 > l->cap / 2)
		compact(l, now_ns);
	if (l->used + 1 > l->cap / 2) {
		if (!l->warned)
			log_warn("limits: %zu clients tracked, the table is full of busy ones: new ones pass "
				 "unlimited", l->used);
		l->warned = true;
		return NULL;
	}
	for (i = slot_of(l, key); l->e[i].key[0] && !l->e[i].tomb; i = (i + 1) & (l->cap - 1))
		;
	if (!l->e[i].key[0])
		l->used++;
	memset(&l->e[i], 0, sizeof(l->e[i]));
	snprintf(l->e[i].key, sizeof(l->e[i].key), "%s", key);
	l->e[i].tokens = l->cfg.burst;
	l->e[i].last_ns = now_ns;
	return &l->e[i];
}

enum limits_verdict limits_admit(struct limits *l, const char *key, bool watch, uint64_t now_ns,
				 unsigned *retry_after_s)
{
	struct entry *e = get(l, key, now_ns);

	*retry_after_s = 0;
	if (!e)
		return LIMITS_OK;
	refill(l, e, now_ns);
	if (l->cfg.max_inflight && e->inflight >= l->cfg.max_inflight)
		return LIMITS_INFLIGHT;
	if (watch && l->cfg.max_watches && e->watches >= l->cfg.max_watches)
		return LIMITS_WATCHES;
	if (e->tokens < 1.0) {
		*retry_after_s = (unsigned)ceil((1.0 - e->tokens) / l->cfg.rate);
		if (!*retry_after_s)
			*retry_after_s = 1;
		return LIMITS_RATE;
	}
	e->tokens -= 1.0;
	e->inflight++;
	if (watch)
		e->watches++;
	return LIMITS_OK;
}

void limits_release(struct limits *l, const char *key, bool watch)
{
	struct entry *e = find(l, key);

	if (!e)
		return;
	if (e->inflight)
		e->inflight--;
	if (watch && e->watches)
		e->watches--;
}

size_t limits_count(const struct limits *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->cap; i++)
		n += l->e[i].key[0] && !l->e[i].tomb;
	return n;
}
