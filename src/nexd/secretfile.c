#include "nexd/secretfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int secret_file_read(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
	char buf[1024];
	struct stat st;
	size_t len = 0, line;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s is not a regular file", path);
		r = -EINVAL;
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "%s can be read or changed by other users (mode %04o): chmod 600 it", path,
			 (unsigned)(st.st_mode & 07777));
		r = -EPERM;
		goto out;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	for (line = 0; line < len && buf[line] != '\n' && buf[line] != '\r'; line++)
		;
	if (line == 0 || line >= cap) {
		snprintf(err, errlen, "%s: the first line is %s", path, line ? "too long" : "empty");
		r = -EINVAL;
		goto out;
	}
	memcpy(out, buf, line);
	out[line] = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return r;
}
