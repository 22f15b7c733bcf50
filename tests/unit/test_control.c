/* nexd's control socket: the request parser and a real server round trip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nexd/control_server.h"

/* The names on the wire, as nexctl and nexd of earlier versions send them. */
static void command_lookup(void **state)
{
	static const struct {
		const char *name;
		enum control_command cmd;
	} known[] = {
		{ "version", CONTROL_CMD_VERSION },
		{ "status", CONTROL_CMD_STATUS },
		{ "peers", CONTROL_CMD_PEERS },
		{ "exit-node-enable", CONTROL_CMD_EXIT_NODE_ENABLE },
		{ "exit-node-disable", CONTROL_CMD_EXIT_NODE_DISABLE },
		{ "exit-node-list", CONTROL_CMD_EXIT_NODE_LIST },
		{ "proxy-list", CONTROL_CMD_PROXY_LIST },
		{ "proxy-add", CONTROL_CMD_PROXY_ADD },
		{ "proxy-remove", CONTROL_CMD_PROXY_REMOVE },
	};
	static const char *const unknown[] = {
		"", "frobnicate", "Version", "peers ", " peers", "exit-node", "exit-node-enable\n", "exit_node_list", "proxy",
	};

	(void)state;
	assert_int_equal(sizeof(known) / sizeof(known[0]), CONTROL_CMD_COUNT);
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		assert_string_equal(control_command_names[known[i].cmd], known[i].name);
		assert_int_equal(control_command_lookup(known[i].name), known[i].cmd);
	}
	for (int c = 0; c < CONTROL_CMD_COUNT; c++)
		assert_int_equal(control_command_lookup(control_command_names[c]), c);
	for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
		assert_int_equal(control_command_lookup(unknown[i]), -1);
	assert_int_equal(control_command_lookup(NULL), -1);
}

static void parse_ok(void **state)
{
	static const char with_args[] = "{\"version\":1,\"command\":\"exit-node-enable\",\"args\":{\"exit_node\":\"a\"}}";
	struct control_request r;
	char err[128], s[128];

	(void)state;
	for (int c = 0; c < CONTROL_CMD_COUNT; c++) {
		snprintf(s, sizeof(s), "{\"version\":1,\"command\":\"%s\"}", control_command_names[c]);
		assert_int_equal(control_request_parse(s, strlen(s), &r, err, sizeof(err)), 0);
		assert_int_equal(r.cmd, c);
		assert_string_equal(r.command, control_command_names[c]);
		assert_true(json_is_object(r.args));
		assert_int_equal(json_object_size(r.args), 0);
		control_request_release(&r);
	}
	assert_int_equal(control_request_parse(with_args, strlen(with_args), &r, err, sizeof(err)), 0);
	assert_int_equal(r.cmd, CONTROL_CMD_EXIT_NODE_ENABLE);
	assert_string_equal(json_string_value(json_object_get(r.args, "exit_node")), "a");
	control_request_release(&r);
}

static void parse_bad(void **state)
{
	static const char *const bad[] = {
		"", "{", "[]", "1", "null",
		"{\"command\":\"peers\"}",
		"{\"version\":2,\"command\":\"peers\"}",
		"{\"version\":\"1\",\"command\":\"peers\"}",
		"{\"version\":1}",
		"{\"version\":1,\"command\":7}",
		"{\"version\":1,\"command\":\"rm -rf\"}",
		"{\"version\":1,\"command\":\"\"}",
		"{\"version\":1,\"command\":\"exit-node-enable-and-then-some-more-text\"}",
		"{\"version\":1,\"command\":\"peers\",\"extra\":1}",
		"{\"version\":1,\"command\":\"peers\",\"args\":[]}",
		"{\"version\":1,\"version\":1,\"command\":\"peers\"}",
	};
	struct control_request r;
	char err[128];
	char big[CONTROL_MAX_REQUEST + 2];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		assert_int_equal(control_request_parse(bad[i], strlen(bad[i]), &r, err, sizeof(err)), -EINVAL);
		assert_true(err[0] != 0);
	}
	memset(big, ' ', sizeof(big));
	assert_int_equal(control_request_parse(big, sizeof(big), &r, err, sizeof(err)), -EINVAL);
}

static json_t *handler(void *ctx, const struct control_request *req, char *err, size_t errlen)
{
	(void)ctx;
	if (req->cmd == CONTROL_CMD_VERSION)
		return json_pack("{s:s}", "version", "test");
	snprintf(err, errlen, "no such thing");
	return NULL;
}

static void server_roundtrip(void **state)
{
	struct control_server *s, *s2;
	char path[128], err[256];
	json_t *r;

	(void)state;
	snprintf(path, sizeof(path), "/tmp/nexd-test-%d.sock", getpid());
	assert_int_equal(control_server_start(&s, path, handler, NULL), 0);
	/* A second server on the same path is refused. */
	assert_int_equal(control_server_start(&s2, path, handler, NULL), -EADDRINUSE);
	r = control_call(path, "version", NULL, err, sizeof(err));
	assert_non_null(r);
	assert_string_equal(json_string_value(json_object_get(r, "version")), "test");
	json_decref(r);
	r = control_call(path, "status", NULL, err, sizeof(err));
	assert_null(r);
	assert_string_equal(err, "no such thing");
	control_server_stop(s);
	assert_int_equal(access(path, F_OK), -1);
	r = control_call(path, "version", NULL, err, sizeof(err));
	assert_null(r);
	assert_non_null(strstr(err, "not running"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(command_lookup),
		cmocka_unit_test(parse_ok),
		cmocka_unit_test(parse_bad),
		cmocka_unit_test(server_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
