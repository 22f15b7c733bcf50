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

static void parse_ok(void **state)
{
	struct control_request r;
	char err[128];
	const char *s = "{\"version\":1,\"command\":\"peers\"}";

	(void)state;
	assert_int_equal(control_request_parse(s, strlen(s), &r, err, sizeof(err)), 0);
	assert_string_equal(r.command, "peers");
	assert_true(json_is_object(r.args));
	control_request_release(&r);
	s = "{\"version\":1,\"command\":\"exit-node-enable\",\"args\":{\"exit_node\":\"a\"}}";
	assert_int_equal(control_request_parse(s, strlen(s), &r, err, sizeof(err)), 0);
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
	if (!strcmp(req->command, "version"))
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
		cmocka_unit_test(parse_ok),
		cmocka_unit_test(parse_bad),
		cmocka_unit_test(server_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
