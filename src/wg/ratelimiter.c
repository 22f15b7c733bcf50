/* Open addressing over a fixed table, keyed by a seeded hash of the
 * address, with a short probe window. */
#include "wg/ratelimiter.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/timeutil.h"
#include "wg/crypto.h"

#define PACKET_COST (NSEC_PER_SEC / RATELIMITER_PER_SECOND)
#define TOKEN_MAX (PACKET_COST * RATELIMITER_BURST)
#define PROBES 8

struct bucket {
	uint8_t key[9];     /* family tag + 8 address bytes (v4 /32, v6 /64) */
	bool used;
	uint64_t last_ns;
	uint64_t tokens;
};

struct ratelimiter {
	pthread_mutex_t lock;
	uint64_t seed[2];
	struct bucket slots[RATELIMITER_SLOTS];
};

int ratelimiter_create(struct ratelimiter **out)
{
	struct ratelimiter *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	wg_random(r->seed, sizeof(r->seed));
	*out = r;
	return 0;
}

void ratelimiter_free(struct ratelimiter *r)
{
	if (!r)
		return;
	pthread_mutex_destroy(&r->lock);
	free(r);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static uint64_t hash_key(const struct ratelimiter *r, const uint8_t key[9])
{
	uint64_t v;

	memcpy(&v, key + 1, 8);
	return mix(v ^ r->seed[0]) ^ mix((uint64_t)key[0] + r->seed[1]);
}

static bool make_key(const union sockaddr_any *src, uint8_t key[9])
{
	memset(key, 0, 9);
	if (src->sa.sa_family == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &src->in4.sin_addr, 4);
		return true;
	}
	if (src->sa.sa_family == AF_INET6) {
		const uint8_t *a = src->in6.sin6_addr.s6_addr;

		if (IN6_IS_ADDR_V4MAPPED(&src->in6.sin6_addr)) {
			key[0] = 4;
			memcpy(key + 1, a + 12, 4);
		} else {
			key[0] = 6;
			memcpy(key + 1, a, 8);
		}
		return true;
	}
	return false;
}

bool ratelimiter_allow(struct ratelimiter *r, const union sockaddr_any *src, uint64_t now)
{
	struct bucket *b = NULL, *victim = NULL;
	uint8_t key[9];
	uint64_t h;
	bool ok = false;
	unsigned i;

	if (!make_key(src, key))
		return false;
	h = hash_key(r, key);
	pthread_mutex_lock(&r->lock);
	for (i = 0; i < PROBES; i++) {
		struct bucket *s = &r->slots[(h + i) & (RATELIMITER_SLOTS - 1)];

		if (s->used && !memcmp(s->key, key, sizeof(key))) {
			b = s;
			break;
		}
		/* Free, idle for a second, or else the stalest: reusable. */
		if (!victim || !s->used || (victim->used && s->last_ns < victim->last_ns))
			victim = s;
	}
	if (!b) {
		b = victim;
		memcpy(b->key, key, sizeof(key));
		b->used = true;
		b->tokens = TOKEN_MAX;
		b->last_ns = now;
	}
	if (now > b->last_ns) {
		uint64_t t = b->tokens + (now - b->last_ns);

		b->tokens = t > TOKEN_MAX ? TOKEN_MAX : t;
	}
	b->last_ns = now;
	if (b->tokens >= PACKET_COST) {
		b->tokens -= PACKET_COST;
		ok = true;
	}
	pthread_mutex_unlock(&r->lock);
	return ok;
}
