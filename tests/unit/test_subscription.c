/* The exit-node client subscription: "last to act wins" between this device
 * and the API server (subscription_on_self, subscription_on_pushed), the
 * saved file (round trip, mode 0600, malformed content) and
 * --exit-node-client overriding what was saved; the active marker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nexd/options.h"
#include "nexd/subscription.h"

/* Our record as the server returns it: only what the rule reads. */
static struct api_device record(bool client, uint64_t rev)
{
	struct api_device d;

	memset(&d, 0, sizeof(d));
	d.exit_node_client = client;
	d.revision = rev;
	return d;
}

static void on_self_last_to_act_wins(void **state)
{
	struct subscription s;
	struct api_device d;

	(void)state;
	memset(&s, 0, sizeof(s));

	/* Ours has not reached the server: its word does not count yet. */
	d = record(true, 10);
	assert_false(subscription_on_self(&s, &d));
	assert_false(s.wanted);

	s.pushed = true;
	s.pushed_revision = 20;
	/* A record older than our push: ignored. */
	d = record(true, 19);
	assert_false(subscription_on_self(&s, &d));
	assert_false(s.wanted);
	/* As new as our push (or newer) and different: taken. */
	d = record(true, 20);
	assert_true(subscription_on_self(&s, &d));
	assert_true(s.wanted);
	assert_true(s.pushed);
	/* The same again: nothing. */
	assert_false(subscription_on_self(&s, &d));
	assert_true(s.wanted);
	d = record(true, 30);
	assert_false(subscription_on_self(&s, &d));
	/* Turned off on the server. */
	d = record(false, 31);
	assert_true(subscription_on_self(&s, &d));
	assert_false(s.wanted);
	assert_false(subscription_on_self(&s, &d));
}

static void on_pushed(void **state)
{
	struct subscription s;

	(void)state;
	memset(&s, 0, sizeof(s));
	s.wanted = true;

	/* An answer carrying the other value: not ours. */
	assert_false(subscription_on_pushed(&s, false, 7));
	assert_false(s.pushed);
	assert_int_equal(s.pushed_revision, 0);
	/* Ours: pushed, as of that revision. */
	assert_true(subscription_on_pushed(&s, true, 7));
	assert_true(s.pushed);
	assert_int_equal(s.pushed_revision, 7);
	/* Once only. */
	assert_false(subscription_on_pushed(&s, true, 9));
	assert_int_equal(s.pushed_revision, 7);
}

static void the_whole_story(void **state)
{
	struct subscription s;
	struct api_device d;

	(void)state;
	memset(&s, 0, sizeof(s));
	/* nexctl nexd exit-node enable. */
	s.wanted = true;
	s.pushed = false;
	/* The server's record still says off (our PATCH on its way): kept on. */
	d = record(false, 5);
	assert_false(subscription_on_self(&s, &d));
	assert_true(s.wanted);
	/* The PATCH answered with revision 8. */
	assert_true(subscription_on_pushed(&s, true, 8));
	/* A watch event from before it arrives late: ignored. */
	d = record(false, 6);
	assert_false(subscription_on_self(&s, &d));
	assert_true(s.wanted);
	/* Our own change comes back: nothing to do. */
	d = record(true, 8);
	assert_false(subscription_on_self(&s, &d));
	/* The web UI turns it off later: the server wins now. */
	d = record(false, 12);
	assert_true(subscription_on_self(&s, &d));
	assert_false(s.wanted);
}

/* ---- the saved file ----------------------------------------------------- */

static char dir[64];

static int make_dir(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/test_subscription.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

/* Everything we created is gone: rmdir fails otherwise. */
static int remove_dir(void **state)
{
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/exit-client.json", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/exit-client.active", dir);
	unlink(path);
	return rmdir(dir);
}

static void parse_options(struct nexd_options *o, int argc, char **argv)
{
	char err[256];

	if (options_parse(argc, argv, o, err, sizeof(err)))
		fail_msg("options: %s", err);
}

static void options_plain(struct nexd_options *o)
{
	static char *argv[] = { "nexd", "--service-url", "https://api.example", NULL };

	parse_options(o, 3, argv);
	assert_false(o->exit_node_client);
}

static void write_text(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	chmod(path, 0600);
}

static void save_load_round_trip(void **state)
{
	struct nexd_options o;
	struct subscription s, got;
	struct stat st;
	char path[128];

	(void)state;
	options_plain(&o);

	/* Nothing saved: off. */
	memset(&got, 0xff, sizeof(got));
	subscription_load(dir, &o, &got);
	assert_false(got.wanted);
	assert_false(got.pushed);
	assert_int_equal(got.prefs.n, 0);
	assert_false(got.prefs.failover);
	assert_int_equal(got.pushed_revision, 0);

	memset(&s, 0, sizeof(s));
	s.wanted = true;
	s.pushed = true;
	assert_int_equal(exit_prefs_parse("exit-a,100.100.0.3", &s.prefs), 0);
	s.prefs.failover = true;
	s.pushed_revision = 42;
	assert_int_equal(subscription_save(dir, &s), 0);

	snprintf(path, sizeof(path), "%s/exit-client.json", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);

	subscription_load(dir, &o, &got);
	assert_true(got.wanted);
	assert_true(got.pushed);
	assert_int_equal(got.prefs.n, 2);
	assert_string_equal(got.prefs.items[0], "exit-a");
	assert_string_equal(got.prefs.items[1], "100.100.0.3");
	assert_true(got.prefs.failover);
	assert_int_equal(got.pushed_revision, 0);     /* memory only */

	/* Off, no preference. */
	memset(&s, 0, sizeof(s));
	assert_int_equal(subscription_save(dir, &s), 0);
	subscription_load(dir, &o, &got);
	assert_false(got.wanted);
	assert_false(got.pushed);
	assert_int_equal(got.prefs.n, 0);
	assert_false(got.prefs.failover);
}

static void malformed_file(void **state)
{
	struct nexd_options o;
	struct subscription got;

	(void)state;
	options_plain(&o);

	/* Not JSON: off. */
	write_text("exit-client.json", "{\"wanted\": tru");
	subscription_load(dir, &o, &got);
	assert_false(got.wanted);
	assert_false(got.pushed);

	/* Not an object: off. */
	write_text("exit-client.json", "[true]");
	subscription_load(dir, &o, &got);
	assert_false(got.wanted);

	/* A bad preference is dropped, the rest kept. */
	write_text("exit-client.json", "{\"wanted\": true, \"pushed\": true, \"exit_node\": \"a,,b\", \"failover\": false}");
	subscription_load(dir, &o, &got);
	assert_true(got.wanted);
	assert_true(got.pushed);
	assert_int_equal(got.prefs.n, 0);

	/* Mistyped values count as false. */
	write_text("exit-client.json", "{\"wanted\": \"yes\", \"pushed\": 1}");
	subscription_load(dir, &o, &got);
	assert_false(got.wanted);
	assert_false(got.pushed);
}

static void option_overrides_saved(void **state)
{
	static char *argv[] = { "nexd", "--service-url", "https://api.example", "--exit-node-client",
				"--exit-node", "exit-b", "--failover", NULL };
	static char *argv_plain_client[] = { "nexd", "--service-url", "https://api.example", "--exit-node-client",
					     NULL };
	struct nexd_options o, plain;
	struct subscription s, got;

	(void)state;
	options_plain(&plain);
	parse_options(&o, 7, argv);
	assert_true(o.exit_node_client);

	/* Saved "off", pushed to the server: --exit-node-client turns it on,
	 * and on is not pushed yet. */
	memset(&s, 0, sizeof(s));
	s.wanted = false;
	s.pushed = true;
	assert_int_equal(exit_prefs_parse("exit-a", &s.prefs), 0);
	assert_int_equal(subscription_save(dir, &s), 0);
	subscription_load(dir, &o, &got);
	assert_true(got.wanted);
	assert_false(got.pushed);
	assert_int_equal(got.prefs.n, 1);
	assert_string_equal(got.prefs.items[0], "exit-b");
	assert_true(got.prefs.failover);
	/* ...and saved so: a start without the option finds it on. */
	subscription_load(dir, &plain, &got);
	assert_true(got.wanted);
	assert_false(got.pushed);
	assert_int_equal(got.prefs.n, 1);
	assert_string_equal(got.prefs.items[0], "exit-b");
	assert_true(got.prefs.failover);

	/* Saved "on" and pushed: stays pushed; the option's preference wins
	 * (here: none). */
	memset(&s, 0, sizeof(s));
	s.wanted = true;
	s.pushed = true;
	assert_int_equal(exit_prefs_parse("exit-a", &s.prefs), 0);
	assert_int_equal(subscription_save(dir, &s), 0);
	parse_options(&o, 4, argv_plain_client);
	subscription_load(dir, &o, &got);
	assert_true(got.wanted);
	assert_true(got.pushed);
	assert_int_equal(got.prefs.n, 0);
	assert_false(got.prefs.failover);

	/* Nothing saved at all: on, not pushed. */
	remove_dir(NULL);
	assert_non_null(mkdtemp(strcpy(dir, "/tmp/test_subscription.XXXXXX")));
	subscription_load(dir, &o, &got);
	assert_true(got.wanted);
	assert_false(got.pushed);
}

static void marker(void **state)
{
	(void)state;
	assert_false(subscription_marker_exists(dir));
	subscription_marker_set(dir, true);
	assert_true(subscription_marker_exists(dir));
	subscription_marker_set(dir, true);
	assert_true(subscription_marker_exists(dir));
	subscription_marker_set(dir, false);
	assert_false(subscription_marker_exists(dir));
	subscription_marker_set(dir, false);
	assert_false(subscription_marker_exists(dir));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(on_self_last_to_act_wins),
		cmocka_unit_test(on_pushed),
		cmocka_unit_test(the_whole_story),
		cmocka_unit_test_setup_teardown(save_load_round_trip, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(malformed_file, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(option_overrides_saved, make_dir, remove_dir),
		cmocka_unit_test_setup_teardown(marker, make_dir, remove_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
