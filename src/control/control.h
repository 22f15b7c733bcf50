/* The control protocol between nexctl and nexd's local socket
 * (/var/run/nexd.sock): one bounded JSON request per connection, one
 * versioned JSON reply:
 *
 *   -> {"version":1,"command":"peers"}\n
 *   <- {"version":1,"ok":true,"result":...}\n   or   {"version":1,"ok":false,"error":"..."}\n
 *
 * The request parser (nexd's side) is a pure function, fuzzed; the client
 * (nexctl's side) sends one command and returns the result. */
#ifndef CONTROL_CONTROL_H
#define CONTROL_CONTROL_H

#include <jansson.h>
#include <stddef.h>

#define CONTROL_PROTOCOL_VERSION 1
#define CONTROL_MAX_REQUEST 4096
#define CONTROL_MAX_REPLY (1u << 20)
#define CONTROL_MAX_COMMAND 32
#define CONTROL_IO_TIMEOUT_MS 2000

/* The commands the protocol knows; control_command_names holds their names
 * on the wire, in this order. */
enum control_command {
	CONTROL_CMD_VERSION,
	CONTROL_CMD_STATUS,
	CONTROL_CMD_PEERS,
	CONTROL_CMD_EXIT_NODE_ENABLE,
	CONTROL_CMD_EXIT_NODE_DISABLE,
	CONTROL_CMD_EXIT_NODE_LIST,
	CONTROL_CMD_PROXY_LIST,
	CONTROL_CMD_PROXY_ADD,
	CONTROL_CMD_PROXY_REMOVE,
	CONTROL_CMD_COUNT
};

extern const char *const control_command_names[CONTROL_CMD_COUNT];

/* The command of a name, or -1. */
int control_command_lookup(const char *name);

struct control_request {
	enum control_command cmd;
	char command[CONTROL_MAX_COMMAND];  /* its name, control_command_names[cmd] */
	json_t *args;  /* an object (possibly empty); owned by the request */
};

/* Parses one request. 0, or -EINVAL with a reason in err. On success the
 * caller frees with control_request_release. Known commands only. */
int control_request_parse(const char *buf, size_t len, struct control_request *out, char *err, size_t errlen);
void control_request_release(struct control_request *r);

/* The reply text (with its newline) for a result or an error; NULL on
 * allocation failure. The caller frees it. */
char *control_reply_format(const json_t *result, const char *error);

/* Client side: sends one command, returns the reply's result (a new
 * reference) or NULL with the error text in err. */
json_t *control_call(const char *path, const char *command, json_t *args, char *err, size_t errlen);

#endif
