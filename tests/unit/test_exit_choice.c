/* Which exit node a client uses: latency with hysteresis, pinning, ordered
 * preference with return, failover, fail closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "common/key.h"
#include "common/timeutil.h"
#include "nexd/exit_choice.h"

#define S NSEC_PER_SEC

static struct exit_candidate cand(const char *name, const char *ip, uint8_t key, bool reachable, uint32_t lat_ms,
				  uint64_t since)
{
	struct exit_candidate c;

	memset(&c, 0, sizeof(c));
	c.hostname = name;
	c.family = AF_INET;
	inet_pton(AF_INET, ip, c.tunnel_ip);
	memset(c.public_key, key, 32);
	c.measured = true;
	c.reachable = reachable;
	c.latency_us = lat_ms * 1000;
	c.reachable_since_ns = reachable ? since : 0;
	return c;
}

static void latency_and_hysteresis(void **state)
{
	struct exit_candidate c[3] = {
		cand("a", "100.100.0.1", 1, true, 50, 1),
		cand("b", "100.100.0.2", 2, true, 2, 1),
		cand("c", "100.100.0.3", 3, false, 0, 0),
	};

	(void)state;
	assert_int_equal(exit_choose(c, 3, -1, NULL, 100 * S), 1);
	/* In use, and only a little slower than the best: kept. */
	c[0].latency_us = 2500;
	assert_int_equal(exit_choose(c, 3, 0, NULL, 100 * S), 0);
	/* Clearly slower: moved. */
	c[0].latency_us = 60000;
	assert_int_equal(exit_choose(c, 3, 0, NULL, 100 * S), 1);
	/* The one in use stops answering: the next best. */
	c[1].reachable = false;
	assert_int_equal(exit_choose(c, 3, 1, NULL, 100 * S), 0);
	/* None answers: stay where we are (fail closed). */
	c[0].reachable = false;
	assert_int_equal(exit_choose(c, 3, 1, NULL, 100 * S), 1);
	/* None at all. */
	assert_int_equal(exit_choose(c, 0, -1, NULL, 100 * S), -1);
	/* Not measured yet: the first, provisionally. */
	c[0].measured = c[1].measured = c[2].measured = false;
	assert_int_equal(exit_choose(c, 3, -1, NULL, 100 * S), 0);
}

static void pinned(void **state)
{
	struct exit_candidate c[2] = {
		cand("a", "100.100.0.1", 1, true, 1, 1),
		cand("b", "100.100.0.2", 2, true, 50, 1),
	};
	struct exit_prefs p;
	char key[KEY_B64_LEN + 1];

	(void)state;
	assert_int_equal(exit_prefs_parse("b", &p), 0);
	assert_int_equal(exit_choose(c, 2, -1, &p, 100 * S), 1);
	/* Pinned and dead: stays (fail closed) without --failover... */
	c[1].reachable = false;
	assert_int_equal(exit_choose(c, 2, 1, &p, 100 * S), 1);
	/* ...and fails over with it. */
	p.failover = true;
	assert_int_equal(exit_choose(c, 2, 1, &p, 100 * S), 0);
	/* By tunnel IP and by public key. */
	assert_int_equal(exit_prefs_parse("100.100.0.1", &p), 0);
	assert_int_equal(exit_choose(c, 2, -1, &p, 100 * S), 0);
	key_to_base64(key, c[1].public_key);
	assert_int_equal(exit_prefs_parse(key, &p), 0);
	assert_int_equal(exit_choose(c, 2, -1, &p, 100 * S), 1);
	/* A pinned one that is not there: none. */
	assert_int_equal(exit_prefs_parse("zzz", &p), 0);
	assert_int_equal(exit_choose(c, 2, -1, &p, 100 * S), -1);
}

static void ordered_with_return(void **state)
{
	struct exit_candidate c[2] = {
		cand("a", "100.100.0.1", 1, false, 0, 0),
		cand("b", "100.100.0.2", 2, true, 50, 1),
	};
	struct exit_prefs p;

	(void)state;
	assert_int_equal(exit_prefs_parse("a,b", &p), 0);
	/* The first that answers. */
	assert_int_equal(exit_choose(c, 2, -1, &p, 100 * S), 1);
	/* a answers again, but not for long enough: stay on b. */
	c[0] = cand("a", "100.100.0.1", 1, true, 1, 90 * S);
	assert_int_equal(exit_choose(c, 2, 1, &p, 100 * S), 1);
	/* Steady for 30 s: back to a. */
	assert_int_equal(exit_choose(c, 2, 1, &p, 121 * S), 0);
	/* None answers: stay (fail closed). */
	c[0].reachable = c[1].reachable = false;
	assert_int_equal(exit_choose(c, 2, 0, &p, 200 * S), 0);
}

static void prefs_parse(void **state)
{
	struct exit_prefs p;
	char out[64];

	(void)state;
	assert_int_equal(exit_prefs_parse("a,b,c", &p), 0);
	assert_int_equal(p.n, 3);
	exit_prefs_format(&p, out, sizeof(out));
	assert_string_equal(out, "a,b,c");
	assert_int_equal(exit_prefs_parse("", &p), -EINVAL);
	assert_int_equal(exit_prefs_parse("a,,b", &p), -EINVAL);
	assert_int_equal(exit_prefs_parse("a,", &p), -EINVAL);
	assert_int_equal(exit_prefs_parse("a b", &p), -EINVAL);
	assert_int_equal(exit_prefs_parse("1,2,3,4,5,6,7,8,9", &p), -EINVAL);
}

/* A pin names a device by id, key or tunnel IP first; a hostname only
 * when exactly one exit node has it, and never one that looks like an
 * address (a device named "100.100.0.1" must not capture that pin). */
static void pins_cannot_be_spoofed(void **state)
{
	struct exit_candidate c[3] = {
		cand("100.100.0.1", "100.100.0.9", 9, true, 1, 1),   /* the spoofer, listed first */
		cand("exit-a", "100.100.0.1", 1, true, 50, 1),
		cand("exit-a", "100.100.0.2", 2, true, 50, 1),
	};
	struct exit_prefs p;
	char err[512] = "";
	char key[KEY_B64_LEN + 1];

	(void)state;
	c[1].id = "3f2b0c1e-0000-4000-8000-000000000001";
	c[2].id = "3f2b0c1e-0000-4000-8000-000000000002";
	assert_int_equal(exit_pref_find("100.100.0.1", c, 3), 1);
	assert_int_equal(exit_pref_find("100.100.0.7", c, 3), -ENOENT);
	assert_int_equal(exit_pref_find("3F2B0C1E-0000-4000-8000-000000000002", c, 3), 2);
	assert_int_equal(exit_pref_find("3f2b0c1e-0000-4000-8000-000000000009", c, 3), -ENOENT);
	key_to_base64(key, c[2].public_key);
	assert_int_equal(exit_pref_find(key, c, 3), 2);
	assert_int_equal(exit_pref_find("exit-a", c, 3), -EEXIST);
	assert_int_equal(exit_pref_find("nosuch", c, 3), -ENOENT);
	c[2].hostname = "exit-b";
	assert_int_equal(exit_pref_find("exit-a", c, 3), 1);

	/* exit_choose with the spoofed pin: the real one, even when the
	 * spoofer is faster. */
	assert_int_equal(exit_prefs_parse("100.100.0.1", &p), 0);
	assert_int_equal(exit_choose(c, 3, -1, &p, 100 * S), 1);

	c[2].hostname = "exit-a";
	assert_int_equal(exit_prefs_parse("exit-a", &p), 0);
	assert_int_equal(exit_prefs_check(&p, c, 3, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "100.100.0.1 (3f2b0c1e-0000-4000-8000-000000000001)"));
	assert_non_null(strstr(err, "100.100.0.2 (3f2b0c1e-0000-4000-8000-000000000002)"));
	assert_int_equal(exit_choose(c, 3, -1, &p, 100 * S), -1);
	assert_int_equal(exit_prefs_parse("100.100.0.2,nosuch", &p), 0);
	assert_int_equal(exit_prefs_check(&p, c, 3, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "nosuch is not an approved exit node"));
	assert_int_equal(exit_prefs_parse("100.100.0.2,100.100.0.1", &p), 0);
	assert_int_equal(exit_prefs_check(&p, c, 3, err, sizeof(err)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(latency_and_hysteresis),
		cmocka_unit_test(pinned),
		cmocka_unit_test(ordered_with_return),
		cmocka_unit_test(prefs_parse),
		cmocka_unit_test(pins_cannot_be_spoofed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
