/* Kernel parameters under /proc/sys, read and written as files (never by
 * running sysctl(8)), and a record of the ones we changed so that teardown
 * puts the original values back.
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
	SYSCTL_CHANGES_MAX = 64,    /* entries in one record */
};

/* The value without its trailing newline. -E2BIG if it does not fit in
 * `cap` bytes with its terminating NUL (nothing is truncated silently);
 * -EINVAL for a malformed key; -ENOENT for an unknown one. */
int sysctl_read(const char *root, const char *key, char *out, size_t cap);
int sysctl_write(const char *root, const char *key, const char *value);

/* A record of changed sysctls. set() writes a value, and the first time it
 * changes a key it remembers the original; a key that already holds the
 * value is not recorded (there is nothing to restore). restore() writes the
 * originals back in reverse order, tries every entry, returns the first
 * error, and empties the record; a key that no longer exists (the keys of an
 * interface that went away) is skipped without error. -ENOSPC beyond
 * SYSCTL_CHANGES_MAX entries. */
struct sysctl_changes;
int sysctl_changes_new(const char *root, struct sysctl_changes **out);
int sysctl_changes_set(struct sysctl_changes *c, const char *key, const char *value);
int sysctl_changes_restore(struct sysctl_changes *c);
size_t sysctl_changes_count(const struct sysctl_changes *c);
/* Frees the record without restoring anything. */
void sysctl_changes_free(struct sysctl_changes *c);

#endif
