#include "control/control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control/io.h"

static int fill_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun->sun_path))
		return -ENAMETOOLONG;
	strcpy(sun->sun_path, path);
	return 0;
}

json_t *control_call(const char *path, const char *command, json_t *args, char *err, size_t errlen)
{
	struct sockaddr_un sun;
	json_t *req, *rep = NULL, *result = NULL, *v;
	char *text = NULL;
	char *buf = NULL;
	size_t len = 0;
	json_error_t jerr;
	int fd;

	if (fill_addr(&sun, path)) {
		snprintf(err, errlen, "socket path too long: %s", path);
		return NULL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			snprintf(err, errlen, "nexd is not running (no agent listening on %s)", path);
		else if (errno == EACCES || errno == EPERM)
			snprintf(err, errlen, "permission denied on %s: run as root (or as the user that runs nexd proxy)", path);
		else
			snprintf(err, errlen, "cannot connect to %s: %s", path, strerror(errno));
		goto out;
	}
	req = json_pack("{s:i, s:s}", "version", CONTROL_PROTOCOL_VERSION, "command", command);
	if (req && args)
		json_object_set(req, "args", args);
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!text) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	control_write_all(fd, text, strlen(text));
	control_write_all(fd, "\n", 1);
	shutdown(fd, SHUT_WR);
	buf = malloc(CONTROL_MAX_REPLY);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, 10000) <= 0) {
			snprintf(err, errlen, "no reply from nexd on %s", path);
			goto out;
		}
		n = recv(fd, buf + len, CONTROL_MAX_REPLY - len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(err, errlen, "reading reply: %s", strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == CONTROL_MAX_REPLY) {
			snprintf(err, errlen, "reply from nexd too large");
			goto out;
		}
	}
	rep = json_loadb(buf, len, 0, &jerr);
	if (!json_is_object(rep) || !json_is_integer(json_object_get(rep, "version"))) {
		snprintf(err, errlen, "garbled reply from nexd");
		goto out;
	}
	if (json_integer_value(json_object_get(rep, "version")) != CONTROL_PROTOCOL_VERSION) {
		snprintf(err, errlen, "nexd speaks another control protocol version");
		goto out;
	}
	if (!json_is_true(json_object_get(rep, "ok"))) {
		v = json_object_get(rep, "error");
		snprintf(err, errlen, "%s", json_is_string(v) ? json_string_value(v) : "command failed");
		goto out;
	}
	result = json_incref(json_object_get(rep, "result"));
	if (!result)
		snprintf(err, errlen, "garbled reply from nexd (no result)");
out:
	json_decref(rep);
	free(buf);
	free(text);
	close(fd);
	return result;
}
