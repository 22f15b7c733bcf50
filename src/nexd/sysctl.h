/* Kernel parameters under /proc/sys, read and written as files (never by
 * running sysctl(8)). The journal (nexd/journal.h) records the ones nexd
 * changes, so that teardown puts the original values back.
 *
 * Keys are written as sysctl(8) does: "net.ipv4.conf.wg0.forwarding", or
 * with slashes ("net/ipv4/conf/eth0.100/forwarding") when a component holds
 * a dot. `root` is the directory standing for /proc/sys (NULL: /proc/sys);
 * tests point it at a temporary tree. */
#ifndef NEXD_SYSCTL_H
#define NEXD_SYSCTL_H

#include <stddef.h>

enum sysctl_limits {
	SYSCTL_KEY_MAX = 255,       /* characters of a key */
	SYSCTL_VALUE_MAX = 1024,    /* bytes of a value */
};

/* The value without its trailing newline. -E2BIG if it does not fit in
 * `cap` bytes with its terminating NUL (nothing is truncated silently);
 * -EINVAL for a malformed key; -ENOENT for an unknown one. */
int sysctl_read(const char *root, const char *key, char *out, size_t cap);
int sysctl_write(const char *root, const char *key, const char *value);

#endif
