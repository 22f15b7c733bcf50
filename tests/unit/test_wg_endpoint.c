/* The packet endpoint of src/wg (a device without a TUN, for a userspace
 * TCP/IP stack): two devices in this process, each with an endpoint, peers
 * of each other over UDP on loopback. A packet written into one endpoint
 * comes out of the other after a real handshake, both ways; a destination
 * outside the allowed IPs is not sent; closing the stack's end stops the
 * device as a deleted interface does. No privileges needed. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/key.h"
#include "wg/wg.h"

struct side {
	struct wg_device *dev;
	int fd;                       /* the stack's end */
	uint8_t priv[KEY_LEN], pub[KEY_LEN];
	uint16_t port;
};

static struct side a, b;

static void make_side(struct side *s, const char *name)
{
	struct wg_device_opts o = { .ifname = name, .tun_fd = -1, .packet_endpoint = true, .crypto_workers = -1 };
	struct wg_config c = { .has_private_key = true, .has_listen_port = true };
	struct wg_device_info *info;

	assert_int_equal(wg_device_create(&s->dev, &o), 0);
	s->fd = wg_device_take_endpoint(s->dev);
	assert_true(s->fd >= 0);
	assert_int_equal(wg_device_take_endpoint(s->dev), -EBADF);   /* once */
	assert_int_equal(wg_device_ifindex(s->dev), 0);
	key_generate(s->priv, s->pub);
	memcpy(c.private_key, s->priv, KEY_LEN);
	assert_int_equal(wg_device_apply(s->dev, &c), 0);
	assert_int_equal(wg_device_get(s->dev, &info), 0);
	s->port = info->listen_port;
	assert_true(s->port != 0);
	wg_device_info_free(info);
}

/* Peer `to` on `s`: allowed IPs 10.0.0.N/32, endpoint 127.0.0.1:to's port. */
static void add_peer(struct side *s, const struct side *to, uint8_t n)
{
	struct cidr allowed = { .family = AF_INET, .addr = { 10, 0, 0, n }, .prefix = 32 };
	struct wg_peer_config p = { .has_endpoint = true, .replace_allowed_ips = true, .n_allowed_ips = 1,
				    .allowed_ips = &allowed };
	struct wg_config c = { .n_peers = 1, .peers = &p };

	memcpy(p.public_key, to->pub, KEY_LEN);
	p.endpoint.in4.sin_family = AF_INET;
	p.endpoint.in4.sin_port = htons(to->port);
	p.endpoint.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(wg_device_apply(s->dev, &c), 0);
}

static uint16_t checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An IPv4/UDP packet 10.0.0.src -> 10.0.0.dst carrying text. */
static size_t udp_packet(uint8_t *pkt, uint8_t src, uint8_t dst, const char *text)
{
	size_t plen = strlen(text), len = 20 + 8 + plen;
	uint16_t c;

	memset(pkt, 0, 28);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)(len >> 8);
	pkt[3] = (uint8_t)len;
	pkt[8] = 64;
	pkt[9] = 17;
	memcpy(pkt + 12, (uint8_t[]){ 10, 0, 0, src }, 4);
	memcpy(pkt + 16, (uint8_t[]){ 10, 0, 0, dst }, 4);
	c = checksum(pkt, 20);
	pkt[10] = (uint8_t)(c >> 8);
	pkt[11] = (uint8_t)c;
	pkt[20] = 0x30;                      /* ports 12345 -> 53 */
	pkt[21] = 0x39;
	pkt[23] = 53;
	pkt[24] = (uint8_t)((8 + plen) >> 8);
	pkt[25] = (uint8_t)(8 + plen);
	memcpy(pkt + 28, text, plen);
	return len;
}

/* The next packet out of fd within ms (its length), or -1. */
static ssize_t next_packet(int fd, uint8_t *buf, size_t size, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	if (poll(&p, 1, ms) != 1)
		return -1;
	return recv(fd, buf, size, 0);
}

static int setup(void **state)
{
	assert_int_equal(wg_init(), 0);
	make_side(&a, "ep-a");
	make_side(&b, "ep-b");
	add_peer(&a, &b, 2);
	add_peer(&b, &a, 1);
	return 0;
}

static int teardown(void **state)
{
	wg_device_destroy(a.dev);
	wg_device_destroy(b.dev);
	if (b.fd >= 0)
		close(b.fd);
	return 0;
}

static void through(struct side *from, struct side *to, uint8_t src, uint8_t dst, const char *text)
{
	uint8_t pkt[256], got[2048];
	size_t len = udp_packet(pkt, src, dst, text);
	ssize_t n = -1;

	/* the first packet starts the handshake and waits for it */
	for (int tries = 0; tries < 3 && n < 0; tries++) {
		assert_int_equal(send(from->fd, pkt, len, 0), (ssize_t)len);
		n = next_packet(to->fd, got, sizeof(got), 3000);
	}
	assert_int_equal(n, (ssize_t)len);
	assert_memory_equal(got, pkt, len);
}

static void test_both_ways(void **state)
{
	through(&a, &b, 1, 2, "from a to b over a real handshake");
	through(&b, &a, 2, 1, "and back");
	through(&a, &b, 1, 2, "again, on the session");
}

static void test_not_allowed(void **state)
{
	struct wg_device_stats before, after;
	uint8_t pkt[256], got[2048];
	size_t len = udp_packet(pkt, 1, 9, "to nobody");

	wg_device_stats(a.dev, &before);
	assert_int_equal(send(a.fd, pkt, len, 0), (ssize_t)len);
	assert_int_equal(next_packet(b.fd, got, sizeof(got), 300), -1);
	wg_device_stats(a.dev, &after);
	assert_int_equal(after.tx_no_peer, before.tx_no_peer + 1);
	/* a spoofed inner source is dropped by the receiver */
	len = udp_packet(pkt, 7, 2, "spoofed source");
	assert_int_equal(send(a.fd, pkt, len, 0), (ssize_t)len);
	assert_int_equal(next_packet(b.fd, got, sizeof(got), 300), -1);
}

static void test_close_stops(void **state)
{
	struct pollfd p = { .fd = wg_device_dead_fd(a.dev), .events = POLLIN };

	close(a.fd);
	a.fd = -1;
	assert_int_equal(poll(&p, 1, 3000), 1);
	assert_int_equal(wg_device_wait(a.dev), -ENODEV);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_both_ways),
		cmocka_unit_test(test_not_allowed),
		cmocka_unit_test(test_close_stops),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
