/* Connectivity checks: our Binding request as the peer parses it, the
 * answer as our STUN response parser reads it (IPv4, IPv6, v4-mapped), and
 * what is not a request we answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "nexd/stuncheck.h"

static const uint8_t me[32] = { 0xa1, 0xb2, 0xc3, 0xd4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17 };
static const uint8_t someone[32] = { 0xa1, 0xb2, 0xc3, 0xd4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 0x99 };

static void request_round_trip(void **state)
{
	uint8_t buf[STUNCHECK_REQUEST_MAX];
	struct stun_txid sent, got;
	bool for_me;
	int len;

	(void)state;
	/* ours, for us and for another */
	len = stuncheck_request_build(buf, sizeof(buf), me, &sent);
	assert_int_equal(len, STUNCHECK_REQUEST_MAX);
	assert_int_equal(stuncheck_request_parse(buf, (size_t)len, me, &got, &for_me), 0);
	assert_true(for_me);
	assert_memory_equal(got.b, sent.b, STUN_TXID_LEN);
	assert_int_equal(stuncheck_request_parse(buf, (size_t)len, someone, &got, &for_me), 0);
	assert_false(for_me);
	/* a plain Binding request (a STUN client's) is for nobody */
	for (int fp = 0; fp < 2; fp++) {
		len = stun_request_build(buf, sizeof(buf), fp, &sent);
		assert_int_equal(stuncheck_request_parse(buf, (size_t)len, me, &got, &for_me), 0);
		assert_false(for_me);
	}
	/* a flipped bit under the FINGERPRINT */
	len = stuncheck_request_build(buf, sizeof(buf), me, &sent);
	buf[30] ^= 1;
	assert_int_equal(stuncheck_request_parse(buf, (size_t)len, me, &got, &for_me), -EBADMSG);
	assert_int_equal(stuncheck_request_build(buf, 20, me, &sent), -ENOSPC);
}

static void not_a_request(void **state)
{
	uint8_t buf[STUNCHECK_RESPONSE_MAX];
	struct stun_txid txid = { { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 } }, got;
	union sockaddr_any from = { 0 };
	bool for_me;
	int len;

	(void)state;
	from.in4.sin_family = AF_INET;
	from.in4.sin_port = htons(51820);
	inet_pton(AF_INET, "203.0.113.2", &from.in4.sin_addr);
	len = stuncheck_response_build(buf, sizeof(buf), &txid, &from);
	assert_true(len > 0);
	/* a response is not answered */
	assert_int_equal(stuncheck_request_parse(buf, (size_t)len, me, &got, &for_me), -EPROTO);
	/* nor a WireGuard message */
	memset(buf, 0, sizeof(buf));
	buf[0] = 1;
	assert_int_equal(stuncheck_request_parse(buf, 148, me, &got, &for_me), -EBADMSG);
	/* nor a request with an unknown comprehension-required attribute */
	len = stun_request_build(buf, sizeof(buf), false, &got);
	buf[2] = 0;
	buf[3] = 8;
	buf[20] = 0x00;
	buf[21] = 0x2a; /* unknown, < 0x8000 */
	buf[22] = 0;
	buf[23] = 4;
	assert_int_equal(stuncheck_request_parse(buf, (size_t)len + 8, me, &got, &for_me), -EPROTO);
	/* an attribute running past the end */
	buf[23] = 8;
	assert_int_equal(stuncheck_request_parse(buf, (size_t)len + 8, me, &got, &for_me), -EBADMSG);
}

static void answer(const char *ip, uint16_t port)
{
	uint8_t buf[STUNCHECK_RESPONSE_MAX], req[STUN_REQUEST_MAX];
	struct stun_txid txid, other;
	struct stun_response r;
	union sockaddr_any from = { 0 }, want = { 0 };
	int len;

	stun_request_build(req, sizeof(req), true, &txid);
	if (strchr(ip, ':')) {
		from.in6.sin6_family = AF_INET6;
		from.in6.sin6_port = htons(port);
		assert_int_equal(inet_pton(AF_INET6, ip, &from.in6.sin6_addr), 1);
	} else {
		from.in4.sin_family = AF_INET;
		from.in4.sin_port = htons(port);
		assert_int_equal(inet_pton(AF_INET, ip, &from.in4.sin_addr), 1);
	}
	want = from;
	addr_unmap(&want);
	len = stuncheck_response_build(buf, sizeof(buf), &txid, &from);
	assert_true(len > 0);
	assert_int_equal(stun_response_parse(buf, (size_t)len, &txid, &r), 0);
	assert_true(r.from_xor);
	assert_true(r.fingerprint);
	assert_true(addr_endpoint_equal(&r.mapped, &want));
	stun_request_build(req, sizeof(req), true, &other);
	assert_int_equal(stun_response_parse(buf, (size_t)len, &other, &r), -ESRCH);
	assert_int_equal(stuncheck_response_build(buf, 20, &txid, &from), -ENOSPC);
}

static void answers(void **state)
{
	(void)state;
	answer("203.0.113.2", 51820);
	answer("2001:db8:1234:5678:11:2233:4455:6677", 32853);
	answer("::ffff:198.51.100.7", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(request_round_trip),
		cmocka_unit_test(not_a_request),
		cmocka_unit_test(answers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
