#include "control/control.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "common/timeutil.h"
#include "control/io.h"

const char *const control_command_names[CONTROL_CMD_COUNT] = {
	[CONTROL_CMD_VERSION] = "version",
	[CONTROL_CMD_STATUS] = "status",
	[CONTROL_CMD_PEERS] = "peers",
	[CONTROL_CMD_EXIT_NODE_ENABLE] = "exit-node-enable",
	[CONTROL_CMD_EXIT_NODE_DISABLE] = "exit-node-disable",
	[CONTROL_CMD_EXIT_NODE_LIST] = "exit-node-list",
	[CONTROL_CMD_PROXY_LIST] = "proxy-list",
	[CONTROL_CMD_PROXY_ADD] = "proxy-add",
	[CONTROL_CMD_PROXY_REMOVE] = "proxy-remove",
};

int control_command_lookup(const char *name)
{
	if (!name)
		return -1;
	for (int i = 0; i < CONTROL_CMD_COUNT; i++)
		if (!strcmp(name, control_command_names[i]))
			return i;
	return -1;
}

int control_request_parse(const char *buf, size_t len, struct control_request *out, char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *root, *v;
	const char *key;
	const char *cmd;
	int c;

	memset(out, 0, sizeof(*out));
	if (len > CONTROL_MAX_REQUEST) {
		snprintf(err, errlen, "request larger than %u bytes", CONTROL_MAX_REQUEST);
		return -EINVAL;
	}
	root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root) {
		snprintf(err, errlen, "malformed JSON: %s", jerr.text);
		return -EINVAL;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "request must be a JSON object");
		goto err_free;
	}
	json_object_foreach(root, key, v) {
		if (strcmp(key, "version") && strcmp(key, "command") && strcmp(key, "args")) {
			snprintf(err, errlen, "unknown field \"%.32s\"", key);
			goto err_free;
		}
	}
	v = json_object_get(root, "version");
	if (!json_is_integer(v) || json_integer_value(v) != CONTROL_PROTOCOL_VERSION) {
		snprintf(err, errlen, "unsupported protocol version (want %d)", CONTROL_PROTOCOL_VERSION);
		goto err_free;
	}
	v = json_object_get(root, "command");
	if (!json_is_string(v)) {
		snprintf(err, errlen, "\"command\" must be a string");
		goto err_free;
	}
	cmd = json_string_value(v);
	c = control_command_lookup(cmd);
	if (c < 0) {
		snprintf(err, errlen, "unknown command \"%.32s\"", cmd);
		goto err_free;
	}
	out->cmd = (enum control_command)c;
	snprintf(out->command, sizeof(out->command), "%s", control_command_names[c]);
	v = json_object_get(root, "args");
	if (v && !json_is_object(v)) {
		snprintf(err, errlen, "\"args\" must be an object");
		goto err_free;
	}
	out->args = v ? json_incref(v) : json_object();
	json_decref(root);
	if (!out->args) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;

err_free:
	json_decref(root);
	return -EINVAL;
}

void control_request_release(struct control_request *r)
{
	json_decref(r->args);
	r->args = NULL;
}

char *control_reply_format(const json_t *result, const char *error)
{
	json_t *r = json_pack("{s:i, s:b}", "version", CONTROL_PROTOCOL_VERSION, "ok", error == NULL);
	char *text, *line;
	size_t n;

	if (!r)
		return NULL;
	if (error)
		json_object_set_new(r, "error", json_string(error));
	else
		json_object_set(r, "result", result ? (json_t *)result : json_null());
	text = json_dumps(r, JSON_COMPACT);
	json_decref(r);
	if (!text)
		return NULL;
	n = strlen(text);
	line = realloc(text, n + 2);
	if (!line) {
		free(text);
		return NULL;
	}
	line[n] = '\n';
	line[n + 1] = 0;
	return line;
}

void control_write_all(int fd, const char *buf, size_t len)
{
	uint64_t deadline = time_now_ns() + CONTROL_IO_TIMEOUT_MS * NSEC_PER_MSEC;

	while (len) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		ssize_t n;

		if (time_now_ns() >= deadline)
			return;
		if (poll(&p, 1, CONTROL_IO_TIMEOUT_MS) <= 0)
			continue;
		n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

