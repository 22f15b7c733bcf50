/* /proc/sys keys as files: bounded reads, whole-value writes, and a record
 * of changes for teardown. */
#include "nexd/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

#define SYSCTL_ROOT "/proc/sys"

struct sysctl_change {
	char key[SYSCTL_KEY_MAX + 1];
	char original[SYSCTL_VALUE_MAX + 1];
};

struct sysctl_changes {
	char root[PATH_MAX];
	size_t n;
	struct sysctl_change entries[SYSCTL_CHANGES_MAX];
};

static bool key_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.' || c == '/' || c == '@' || c == ':' || c == '+';
}

/* root + "/" + key with dots turned into slashes (unless the key already
 * uses slashes). Rejects empty components, "." and "..", leading or trailing
 * separators and characters outside the set of interface and key names. */
static int key_path(const char *root, const char *key, char *path, size_t cap)
{
	size_t len = strnlen(key, SYSCTL_KEY_MAX + 1);
	char rel[SYSCTL_KEY_MAX + 1];
	bool slashes = strchr(key, '/') != NULL;
	char sep = slashes ? '/' : '.';
	size_t comp = 0;
	int n;

	if (len == 0 || len > SYSCTL_KEY_MAX)
		return -EINVAL;
	for (size_t i = 0; i <= len; i++) {
		char c = key[i];

		if (c == sep || c == '\0') {
			/* end of a component: not empty, not "." or ".." */
			if (comp == 0)
				return -EINVAL;
			if ((comp == 1 && key[i - 1] == '.') ||
			    (comp == 2 && key[i - 1] == '.' && key[i - 2] == '.'))
				return -EINVAL;
			comp = 0;
			rel[i] = c == '\0' ? '\0' : '/';
			continue;
		}
		if (!key_char_ok(c))
			return -EINVAL;
		rel[i] = c;
		comp++;
	}
	n = snprintf(path, cap, "%s/%s", root ? root : SYSCTL_ROOT, rel);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int sysctl_read(const char *root, const char *key, char *out, size_t cap)
{
	char path[PATH_MAX];
	size_t len = 0;
	int fd, err;

	if (cap == 0)
		return -EINVAL;
	err = key_path(root, key, path, sizeof(path));
	if (err < 0)
		return err;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r;

		if (len == cap) {
			/* full: only fine if the file ends here (with a newline to strip) */
			char extra;

			r = read(fd, &extra, 1);
			if (r < 0 && errno == EINTR)
				continue;
			if (r < 0) {
				err = -errno;
				goto out_close;
			}
			if (r > 0 || out[len - 1] != '\n') {
				err = -E2BIG;
				goto out_close;
			}
			break;
		}
		r = read(fd, out + len, cap - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			err = -errno;
			goto out_close;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	if (len > 0 && out[len - 1] == '\n')
		len--;
	if (len >= cap) {
		err = -E2BIG;
		goto out_close;
	}
	if (memchr(out, '\0', len)) {
		err = -EINVAL;
		goto out_close;
	}
	out[len] = '\0';
	err = 0;
out_close:
	close(fd);
	return err;
}

int sysctl_write(const char *root, const char *key, const char *value)
{
	char path[PATH_MAX];
	size_t len = strnlen(value, SYSCTL_VALUE_MAX + 1), done = 0;
	int fd, err;

	if (len > SYSCTL_VALUE_MAX || memchr(value, '\n', len))
		return -EINVAL;
	err = key_path(root, key, path, sizeof(path));
	if (err < 0)
		return err;
	/* no O_CREAT: only keys that exist */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* one write: procfs parses each write() as a whole value */
	while (done < len || len == 0) {
		ssize_t w = write(fd, value + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = -errno;
			goto out_close;
		}
		if (len == 0)
			break;
		if (w == 0) {
			err = -EIO;
			goto out_close;
		}
		done += (size_t)w;
	}
	err = 0;
out_close:
	if (close(fd) < 0 && err == 0)
		err = -errno;
	return err;
}

int sysctl_changes_new(const char *root, struct sysctl_changes **out)
{
	struct sysctl_changes *c;
	int n;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	n = snprintf(c->root, sizeof(c->root), "%s", root ? root : SYSCTL_ROOT);
	if (n < 0 || (size_t)n >= sizeof(c->root)) {
		free(c);
		return -ENAMETOOLONG;
	}
	*out = c;
	return 0;
}

static struct sysctl_change *find_change(struct sysctl_changes *c, const char *key)
{
	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->entries[i].key, key) == 0)
			return &c->entries[i];
	return NULL;
}

int sysctl_changes_set(struct sysctl_changes *c, const char *key, const char *value)
{
	char current[SYSCTL_VALUE_MAX + 1];
	struct sysctl_change *e;
	int err;

	if (strnlen(key, SYSCTL_KEY_MAX + 1) > SYSCTL_KEY_MAX)
		return -EINVAL;
	if (find_change(c, key))
		return sysctl_write(c->root, key, value);
	err = sysctl_read(c->root, key, current, sizeof(current));
	if (err < 0)
		return err;
	if (strcmp(current, value) == 0)
		return 0;
	if (c->n == SYSCTL_CHANGES_MAX)
		return -ENOSPC;
	err = sysctl_write(c->root, key, value);
	if (err < 0)
		return err;
	e = &c->entries[c->n++];
	snprintf(e->key, sizeof(e->key), "%s", key);
	memcpy(e->original, current, sizeof(e->original));
	log_info("sysctl %s = %s (was %s)", key, value, current);
	return 0;
}

int sysctl_changes_restore(struct sysctl_changes *c)
{
	int first = 0;

	while (c->n > 0) {
		struct sysctl_change *e = &c->entries[--c->n];
		int err = sysctl_write(c->root, e->key, e->original);

		if (err < 0) {
			/* an interface that went away takes its keys with it */
			if (err != -ENOENT)
				log_warn("sysctl %s: cannot restore %s: %s", e->key, e->original,
					 strerror(-err));
			if (first == 0 && err != -ENOENT)
				first = err;
			continue;
		}
		log_info("sysctl %s = %s (restored)", e->key, e->original);
	}
	return first;
}

size_t sysctl_changes_count(const struct sysctl_changes *c)
{
	return c->n;
}

void sysctl_changes_free(struct sysctl_changes *c)
{
	free(c);
}
