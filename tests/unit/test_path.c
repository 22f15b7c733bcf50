/* The path choice of a peer: direct first, the relay when no direct path
 * answers within the grace, back to direct when a connectivity check
 * answers, the relay again when the direct path stops answering, with the
 * back-off after a failed direct path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <string.h>

#include "common/timeutil.h"
#include "nexd/path.h"

#define S(x) ((uint64_t)(x) * 1000 * NSEC_PER_MSEC)
#define T0 S(1000)

static union sockaddr_any ep(const char *ip, uint16_t port)
{
	union sockaddr_any a = { 0 };

	a.in4.sin_family = AF_INET;
	a.in4.sin_port = htons(port);
	inet_pton(AF_INET, ip, &a.in4.sin_addr);
	return a;
}

static bool step(struct path_state *s, struct path_input *in, uint64_t now, char *why)
{
	in->now_ns = now;
	return path_step(s, in, why, 160);
}

static void no_relay_stays_direct(void **state)
{
	struct path_state s;
	struct path_input in = { 0 };
	char why[160];

	(void)state;
	path_init(&s, T0);
	assert_int_equal(s.kind, PATH_DIRECT);
	assert_false(step(&s, &in, T0 + S(60), why));
	assert_int_equal(s.kind, PATH_DIRECT);
}

static void falls_back_then_upgrades(void **state)
{
	struct path_state s;
	struct path_input in = { .relay_ready = true };
	char why[160];

	(void)state;
	path_init(&s, T0);
	/* within the grace: direct */
	assert_false(step(&s, &in, T0 + S(2), why));
	assert_int_equal(s.kind, PATH_DIRECT);
	/* no answer after the grace: relay */
	assert_true(step(&s, &in, T0 + S(3), why));
	assert_int_equal(s.kind, PATH_RELAY);
	assert_string_equal(why, "no direct path answers");
	assert_int_equal(s.direct_failed_ns, 0); /* nothing had worked: no back-off */
	/* relayed and answering: stays */
	in.reachable = true;
	in.last_reply_ns = T0 + S(4);
	assert_false(step(&s, &in, T0 + S(5), why));
	/* an old check answer does not count */
	in.probe_ok_ns = T0 + S(1);
	in.probe_ep = ep("203.0.113.2", 51820);
	assert_false(step(&s, &in, T0 + S(6), why));
	/* a fresh one does: direct, to where it came from */
	in.probe_ok_ns = T0 + S(6);
	assert_true(step(&s, &in, T0 + S(6) + 1, why));
	assert_int_equal(s.kind, PATH_DIRECT);
	assert_true(s.has_direct_ep);
	assert_true(addr_endpoint_equal(&s.direct_ep, &in.probe_ep));
	assert_string_equal(why, "203.0.113.2:51820 answers directly");
}

static void direct_dies_then_backoff(void **state)
{
	struct path_state s;
	struct path_input in = { .relay_ready = true, .reachable = true };
	char why[160];

	(void)state;
	path_init(&s, T0);
	in.last_reply_ns = T0 + S(1);
	assert_false(step(&s, &in, T0 + S(1), why));
	/* the replies stop: after the grace from the last one, the relay */
	in.reachable = false;
	assert_false(step(&s, &in, T0 + S(3), why));
	assert_true(step(&s, &in, T0 + S(4), why));
	assert_int_equal(s.kind, PATH_RELAY);
	assert_string_equal(why, "the direct path stopped answering");
	assert_int_equal(s.direct_failed_ns, T0 + S(4));
	/* a check answers right away: not yet (back-off) */
	in.reachable = true;
	in.last_reply_ns = T0 + S(5);
	in.probe_ok_ns = T0 + S(5);
	in.probe_ep = ep("198.51.100.9", 4000);
	assert_false(step(&s, &in, T0 + S(5), why));
	assert_int_equal(s.kind, PATH_RELAY);
	/* one after the back-off: direct */
	in.probe_ok_ns = T0 + S(4) + S(PATH_RETRY_BACKOFF_MS / 1000);
	assert_true(step(&s, &in, in.probe_ok_ns + 1, why));
	assert_int_equal(s.kind, PATH_DIRECT);
}

static void relay_gone(void **state)
{
	struct path_state s;
	struct path_input in = { .relay_ready = true };
	char why[160];

	(void)state;
	path_init(&s, T0);
	assert_true(step(&s, &in, T0 + S(3), why));
	assert_int_equal(s.kind, PATH_RELAY);
	in.relay_ready = false;
	/* a relay that moves (a new allocation) is waited for a while */
	assert_false(step(&s, &in, T0 + S(4), why));
	assert_int_equal(s.kind, PATH_RELAY);
	in.relay_ready = true;
	assert_false(step(&s, &in, T0 + S(5), why));
	in.relay_ready = false;
	assert_false(step(&s, &in, T0 + S(6), why));
	assert_false(step(&s, &in, T0 + S(10), why));
	assert_true(step(&s, &in, T0 + S(11), why));
	assert_int_equal(s.kind, PATH_DIRECT);
	assert_string_equal(why, "the relay is gone");
	assert_false(s.has_direct_ep);
	assert_string_equal(path_name(PATH_RELAY), "relay");
	assert_string_equal(path_name(PATH_DIRECT), "direct");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(no_relay_stays_direct),
		cmocka_unit_test(falls_back_then_upgrades),
		cmocka_unit_test(direct_dies_then_backoff),
		cmocka_unit_test(relay_gone),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
