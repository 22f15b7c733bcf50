/* sysctl reads and writes, on a temporary tree standing in for /proc/sys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nexd/sysctl.h"

static char root[PATH_MAX];

static void path_of(const char *rel, char *out, size_t cap)
{
	assert_true((size_t)snprintf(out, cap, "%s/%s", root, rel) < cap);
}

static void mkdirs(const char *rel)
{
	char p[PATH_MAX];

	path_of(rel, p, sizeof(p));
	for (char *s = p + strlen(root) + 1; *s; s++) {
		if (*s == '/') {
			*s = '\0';
			mkdir(p, 0755);
			*s = '/';
		}
	}
	mkdir(p, 0755);
}

static void put_file(const char *rel, const char *content)
{
	char p[PATH_MAX];
	FILE *f;

	path_of(rel, p, sizeof(p));
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
}

/* the file's exact bytes */
static const char *file(const char *rel)
{
	static char buf[4096];
	char p[PATH_MAX];
	FILE *f;
	size_t n;

	path_of(rel, p, sizeof(p));
	f = fopen(p, "r");
	if (!f)
		return "(missing)";
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "%s/nx-sysctl-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(root))
		return -1;
	mkdirs("net/ipv4/conf/wg0");
	mkdirs("net/ipv4/conf/eth0.100");
	put_file("net/ipv4/conf/wg0/forwarding", "0\n");
	put_file("net/ipv4/conf/eth0.100/forwarding", "0\n");
	put_file("net/ipv4/ip_local_port_range", "32768\t60999\n");
	put_file("net/ipv4/empty", "");
	return 0;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int teardown(void **state)
{
	(void)state;
	/* our own temporary tree only, deepest entries first */
	if (!strstr(root, "/nx-sysctl-"))
		return -1;
	return nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void test_read(void **state)
{
	char v[64];

	(void)state;
	assert_int_equal(sysctl_read(root, "net.ipv4.conf.wg0.forwarding", v, sizeof(v)), 0);
	assert_string_equal(v, "0");
	assert_int_equal(sysctl_read(root, "net.ipv4.ip_local_port_range", v, sizeof(v)), 0);
	assert_string_equal(v, "32768\t60999");
	assert_int_equal(sysctl_read(root, "net/ipv4/conf/eth0.100/forwarding", v, sizeof(v)), 0);
	assert_string_equal(v, "0");
	assert_int_equal(sysctl_read(root, "net.ipv4.empty", v, sizeof(v)), 0);
	assert_string_equal(v, "");
	assert_int_equal(sysctl_read(root, "net.ipv4.conf.nope.forwarding", v, sizeof(v)), -ENOENT);
}

static void test_read_bounded(void **state)
{
	char v[12];

	(void)state;
	/* "32768\t60999\n": 11 characters and a newline */
	assert_int_equal(sysctl_read(root, "net.ipv4.ip_local_port_range", v, 12), 0);
	assert_string_equal(v, "32768\t60999");
	/* one byte less: an error, never a silent truncation */
	memset(v, 'x', sizeof(v));
	assert_int_equal(sysctl_read(root, "net.ipv4.ip_local_port_range", v, 11), -E2BIG);
	assert_int_equal(sysctl_read(root, "net.ipv4.ip_local_port_range", v, 5), -E2BIG);
	assert_int_equal(sysctl_read(root, "net.ipv4.conf.wg0.forwarding", v, 1), -E2BIG);
	assert_int_equal(sysctl_read(root, "net.ipv4.conf.wg0.forwarding", v, 2), 0);
	assert_string_equal(v, "0");
	assert_int_equal(sysctl_read(root, "net.ipv4.conf.wg0.forwarding", v, 0), -EINVAL);
}

static void test_bad_keys(void **state)
{
	static const char *bad[] = {
		"", ".", "..", "net..ipv4", ".net.ipv4", "net.ipv4.", "net/../../etc/passwd",
		"net/./ipv4", "/net/ipv4", "net/ipv4/", "net.ipv4.conf.a b.forwarding",
		"net.ipv4\n", "net.ipv4.conf.wg0*.forwarding",
	};
	char v[16], longkey[SYSCTL_KEY_MAX + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(sysctl_read(root, bad[i], v, sizeof(v)), -EINVAL);
		assert_int_equal(sysctl_write(root, bad[i], "1"), -EINVAL);
	}
	memset(longkey, 'a', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	assert_int_equal(sysctl_read(root, longkey, v, sizeof(v)), -EINVAL);
}

static void test_write(void **state)
{
	char big[SYSCTL_VALUE_MAX + 2];

	(void)state;
	assert_int_equal(sysctl_write(root, "net.ipv4.conf.wg0.forwarding", "1"), 0);
	assert_string_equal(file("net/ipv4/conf/wg0/forwarding"), "1");
	/* the whole value replaces the old one */
	assert_int_equal(sysctl_write(root, "net.ipv4.ip_local_port_range", "1024\t2048"), 0);
	assert_string_equal(file("net/ipv4/ip_local_port_range"), "1024\t2048");
	/* never creates a key */
	assert_int_equal(sysctl_write(root, "net.ipv4.conf.wg0.nope", "1"), -ENOENT);
	assert_string_equal(file("net/ipv4/conf/wg0/nope"), "(missing)");
	assert_int_equal(sysctl_write(root, "net.ipv4.conf.wg0.forwarding", "1\n0"), -EINVAL);
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sysctl_write(root, "net.ipv4.conf.wg0.forwarding", big), -EINVAL);
	assert_string_equal(file("net/ipv4/conf/wg0/forwarding"), "1");
	/* put the tree back for the next tests */
	put_file("net/ipv4/conf/wg0/forwarding", "0\n");
	put_file("net/ipv4/ip_local_port_range", "32768\t60999\n");
}

/* The real /proc/sys, read only: a key every Linux has. */
static void test_proc_read(void **state)
{
	char v[32];

	(void)state;
	assert_int_equal(sysctl_read(NULL, "net.ipv4.conf.lo.forwarding", v, sizeof(v)), 0);
	assert_true(strcmp(v, "0") == 0 || strcmp(v, "1") == 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_read_bounded),
		cmocka_unit_test(test_bad_keys),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_proc_read),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
