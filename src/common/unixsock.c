/* Listening unix stream sockets: bind under a tight umask, replace a stale
 * file only when nobody answers on it, check peers with SO_PEERCRED. */
#include "common/unixsock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define UNIXSOCK_BACKLOG 16

static int fill_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

static int bind_tight(int fd, const struct sockaddr_un *sun)
{
	mode_t old = umask(0077);
	int r = bind(fd, (const struct sockaddr *)sun, sizeof(*sun));
	int err = errno;

	umask(old);
	return r < 0 ? -err : 0;
}

/* After bind(2) found the path taken: 1 when the file there was stale and
 * is gone, 0 when it went away by itself, -EADDRINUSE when a process
 * answers on it, another -errno when it may not be replaced. */
static int remove_stale(const struct sockaddr_un *sun, int flags)
{
	struct stat st;
	int fd, r, err;

	if (!(flags & UNIXSOCK_REPLACE_ANY)) {
		if (lstat(sun->sun_path, &st) < 0)
			return errno == ENOENT ? 0 : -errno;
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	err = errno;
	close(fd);
	if (r == 0)
		return -EADDRINUSE;
	if ((flags & UNIXSOCK_REPLACE_ANY) && err != ECONNREFUSED && err != ENOENT)
		return -err;
	if (unlink(sun->sun_path) < 0 && errno != ENOENT)
		return -errno;
	return 1;
}

int unixsock_listen(const char *path, mode_t mode, int flags, bool *replaced)
{
	struct sockaddr_un sun;
	int fd, r;

	if (replaced)
		*replaced = false;
	r = fill_addr(&sun, path);
	if (r)
		return r;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (flags & UNIXSOCK_NONBLOCK ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -errno;
	for (int attempt = 0;; attempt++) {
		r = bind_tight(fd, &sun);
		if (r != -EADDRINUSE || attempt)
			break;
		r = remove_stale(&sun, flags);
		if (r < 0)
			goto err_close;
		if (r > 0 && replaced)
			*replaced = true;
	}
	if (r)
		goto err_close;
	if ((mode && chmod(path, mode) < 0) || listen(fd, UNIXSOCK_BACKLOG) < 0) {
		r = -errno;
		goto err_unlink;
	}
	return fd;

err_unlink:
	unlink(path);
err_close:
	close(fd);
	return r;
}

int unixsock_peer_cred(int fd, struct ucred *out)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	if (len != sizeof(cred))
		return -EINVAL;
	*out = cred;
	return 0;
}

bool unixsock_cred_allowed(const struct ucred *cred)
{
	return cred->uid == 0 || cred->uid == geteuid();
}
