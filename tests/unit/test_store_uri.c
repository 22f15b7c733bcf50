/* The store's --db helpers (src/nexapi/store.c): which backend a value
 * names, and its form for the log, where a password never appears. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "nexapi/store.h"

static void test_backend(void **state)
{
	assert_ptr_equal(store_for("/var/lib/nexapi/api.db"), &store_sqlite_ops);
	assert_ptr_equal(store_for("postgresql:///nexodus?host=/run/pg"), &store_pg_ops);
	assert_ptr_equal(store_for("postgres://db/nexodus"), &store_pg_ops);
	assert_ptr_equal(store_for("postgresql"), &store_sqlite_ops);   /* a file of that name */
	assert_false(store_is_uri("./postgresql://x"));
}

static void shown(const char *db, const char *want)
{
	char out[256];

	store_db_shown(db, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_shown(void **state)
{
	shown("/var/lib/nexapi/api.db", "/var/lib/nexapi/api.db");
	shown("postgresql:///nx?host=/tmp/pg&user=postgres", "postgresql:///nx?host=/tmp/pg&user=postgres");
	shown("postgresql://nexapi:s3cret@db.example:5432/nexodus", "postgresql://nexapi:****@db.example:5432/nexodus");
	shown("postgresql://nexapi@db/nexodus?password=s3cret&sslmode=verify-full",
	      "postgresql://nexapi@db/nexodus?password=****&sslmode=verify-full");
	shown("postgres://u:p@h/d?sslmode=require&password=x", "postgres://u:****@h/d?sslmode=require&password=****");
	shown("postgresql://u:p@h", "postgresql://u:****@h");
	shown("postgresql://h/d?passfile=/etc/nexapi/pgpass", "postgresql://h/d?passfile=/etc/nexapi/pgpass");
	shown("postgresql://h?password=", "postgresql://h?password=****");
}

static void test_truncated(void **state)
{
	char out[20];

	memset(out, 'x', sizeof(out));
	store_db_shown("postgresql://user:password-long@host/db", out, sizeof(out));
	assert_int_equal(strlen(out), sizeof(out) - 1);
	assert_null(strstr(out, "password-long"));
	store_db_shown("postgresql://u:p@h/d", out, 1);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backend),
		cmocka_unit_test(test_shown),
		cmocka_unit_test(test_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
