/* /proc/sys keys as files: bounded reads, whole-value writes. */
#include "nexd/sysctl.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define SYSCTL_ROOT "/proc/sys"

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
