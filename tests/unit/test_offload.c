/* TCP segmentation and coalescing for the vnet-header TUN (src/wg/offload.c):
 * segments checked field by field against a naive checksum, then merged
 * back and compared, for IPv4 and IPv6; and the cases that must not merge. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wg/offload.h"

#define MAX_SEGS 128

struct segs {
	uint8_t buf[MAX_SEGS][OFFLOAD_MAX_PACKET];
	size_t len[MAX_SEGS];
	unsigned n;
};

static uint8_t *next_buf(void *ctx)
{
	struct segs *s = ctx;

	assert_true(s->n < MAX_SEGS);
	return s->buf[s->n];
}

static void done_buf(void *ctx, size_t len)
{
	struct segs *s = ctx;

	s->len[s->n++] = len;
}

/* RFC 1071, the slow way. */
static uint16_t naive_csum(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

static uint32_t naive_pseudo(const uint8_t *ip, bool v6, size_t tcp_len)
{
	uint32_t s = 6 + (uint32_t)tcp_len;

	return v6 ? naive_csum(ip + 8, 32, s) : naive_csum(ip + 12, 8, s);
}

static bool tcp_csum_ok(const uint8_t *ip, size_t len, bool v6)
{
	size_t ip_len = v6 ? 40 : (size_t)(ip[0] & 15) * 4;

	return naive_csum(ip + ip_len, len - ip_len, naive_pseudo(ip, v6, len - ip_len)) == 0xffff;
}

/* A TCP super-packet as the kernel hands it over with TSO: one header with
 * the full length, timestamps option, the checksum field holding the
 * pseudo-header sum. */
static size_t make_super(uint8_t *p, bool v6, size_t payload, uint8_t flags)
{
	size_t ip_len = v6 ? 40 : 20, tcp_len = 32 + payload, i;
	uint8_t *tcp = p + ip_len;

	memset(p, 0, ip_len + 32);
	if (v6) {
		p[0] = 0x60;
		p[4] = (uint8_t)(tcp_len >> 8);
		p[5] = (uint8_t)tcp_len;
		p[6] = 6;
		p[7] = 64;
		inet_pton(AF_INET6, "2001:db8::1", p + 8);
		inet_pton(AF_INET6, "2001:db8::2", p + 24);
	} else {
		p[0] = 0x45;
		p[2] = (uint8_t)((20 + tcp_len) >> 8);
		p[3] = (uint8_t)(20 + tcp_len);
		p[4] = 0x12;
		p[5] = 0x34;
		p[6] = 0x40; /* DF */
		p[8] = 64;
		p[9] = 6;
		inet_pton(AF_INET, "100.100.0.1", p + 12);
		inet_pton(AF_INET, "100.100.0.2", p + 16);
		p[10] = p[11] = 0;
		uint16_t c = (uint16_t)~naive_csum(p, 20, 0);
		p[10] = (uint8_t)(c >> 8);
		p[11] = (uint8_t)c;
	}
	tcp[0] = 0x9c; tcp[1] = 0x40; tcp[2] = 0x14; tcp[3] = 0x51;           /* ports */
	tcp[4] = 0xff; tcp[5] = 0xff; tcp[6] = 0xf0; tcp[7] = 0x00;           /* seq: wraps */
	tcp[8] = 0x01; tcp[9] = 0x02; tcp[10] = 0x03; tcp[11] = 0x04;         /* ack */
	tcp[12] = 8 << 4;
	tcp[13] = flags;
	tcp[14] = 0x01; tcp[15] = 0xf5;                                       /* window */
	tcp[20] = 1; tcp[21] = 1; tcp[22] = 8; tcp[23] = 10;                  /* NOP NOP TS */
	for (i = 24; i < 32; i++)
		tcp[i] = (uint8_t)i;
	for (i = 0; i < payload; i++)
		tcp[32 + i] = (uint8_t)(i * 7 + 3);
	uint16_t ps = naive_csum(NULL, 0, naive_pseudo(p, v6, tcp_len));
	tcp[16] = (uint8_t)(ps >> 8);
	tcp[17] = (uint8_t)ps;
	return ip_len + tcp_len;
}

static void check_roundtrip(bool v6, size_t payload, uint16_t mss, uint8_t flags)
{
	static uint8_t super[OFFLOAD_MAX_PACKET], merged[OFFLOAD_VNET_HDR_LEN + OFFLOAD_MAX_PACKET];
	static struct segs s, again;
	struct offload_vnet v = { 0 }, mv;
	struct offload_gro g = { .buf = merged };
	size_t len = make_super(super, v6, payload, flags), ip_len = v6 ? 40 : 20, off = 0, n;
	unsigned i, expect = (unsigned)((payload + mss - 1) / mss);

	v.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	v.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	v.gso_size = mss;
	v.hdr_len = (uint16_t)(ip_len + 32);
	v.csum_start = (uint16_t)ip_len;
	v.csum_offset = 16;
	s.n = 0;
	assert_int_equal(offload_segment(&v, super, len, next_buf, done_buf, &s), 0);
	assert_int_equal(s.n, expect);
	for (i = 0; i < s.n; i++) {
		const uint8_t *p = s.buf[i], *tcp = p + ip_len;
		size_t seg = payload - off < mss ? payload - off : mss;
		bool last = i == s.n - 1;

		assert_int_equal(s.len[i], ip_len + 32 + seg);
		if (v6) {
			assert_int_equal(p[4] << 8 | p[5], 32 + seg);
		} else {
			assert_int_equal(p[2] << 8 | p[3], s.len[i]);
			assert_int_equal(p[4] << 8 | p[5], 0x1234 + i);
			assert_int_equal(naive_csum(p, 20, 0), 0xffff);
		}
		assert_true(tcp_csum_ok(p, s.len[i], v6));
		assert_int_equal((uint32_t)tcp[4] << 24 | (uint32_t)tcp[5] << 16 | (uint32_t)tcp[6] << 8 | tcp[7],
				 (uint32_t)(0xfffff000u + off));
		assert_int_equal(tcp[13] & 0x09, last ? (flags & 0x09) : 0); /* PSH, FIN on the last only */
		assert_memory_equal(tcp + 32, super + ip_len + 32 + off, seg);
		off += seg;
	}

	/* Merged back: everything but a FIN run goes into one packet. */
	for (i = 0; i < s.n; i++)
		if (!offload_gro_add(&g, s.buf[i], s.len[i]))
			break;
	if (flags & 0x01) {
		assert_true(i < s.n || s.n == 1); /* FIN segments are not merged */
		offload_gro_finish(&g);
		return;
	}
	assert_int_equal(i, s.n);
	n = offload_gro_finish(&g);
	assert_int_equal(n, OFFLOAD_VNET_HDR_LEN + len);
	offload_vnet_read(&mv, merged);
	if (s.n == 1) {
		assert_int_equal(mv.gso_type, VIRTIO_NET_HDR_GSO_NONE);
		assert_int_equal(mv.flags, 0);
		assert_true(tcp_csum_ok(merged + OFFLOAD_VNET_HDR_LEN, len, v6));
		return;
	}
	assert_int_equal(mv.gso_type, v.gso_type);
	assert_int_equal(mv.gso_size, mss);
	assert_int_equal(mv.csum_start, ip_len);
	assert_int_equal(mv.csum_offset, 16);
	assert_int_equal(mv.hdr_len, ip_len + 32);
	/* The same packet as the kernel's (the PSH of the last kept). */
	assert_memory_equal(merged + OFFLOAD_VNET_HDR_LEN + ip_len + 32, super + ip_len + 32, payload);
	assert_memory_equal(merged + OFFLOAD_VNET_HDR_LEN + ip_len + 16, super + ip_len + 16, 2);
	/* And cut again, it gives the same segments. */
	again.n = 0;
	assert_int_equal(offload_segment(&mv, merged + OFFLOAD_VNET_HDR_LEN, len, next_buf, done_buf, &again), 0);
	assert_int_equal(again.n, s.n);
	for (i = 0; i < s.n; i++) {
		assert_int_equal(again.len[i], s.len[i]);
		assert_memory_equal(again.buf[i], s.buf[i], s.len[i]);
	}
}

static void test_roundtrip_v4(void **state)
{
	(void)state;
	check_roundtrip(false, 20000, 1368, 0x18);
	check_roundtrip(false, 1368 * 5, 1368, 0x10); /* exact multiple */
	check_roundtrip(false, 100, 1368, 0x18);      /* a single segment */
	check_roundtrip(false, 65535 - 52, 536, 0x18);
	check_roundtrip(false, 5000, 1368, 0x19);     /* FIN */
}

static void test_roundtrip_v6(void **state)
{
	(void)state;
	check_roundtrip(true, 20000, 1348, 0x18);
	check_roundtrip(true, 65535 - 72, 1348, 0x10);
	check_roundtrip(true, 7, 1348, 0x18);
}

static void test_partial_checksum_completed(void **state)
{
	static struct segs s;
	uint8_t p[64];
	struct offload_vnet v = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM, .csum_start = 20, .csum_offset = 6 };
	uint16_t ps;
	size_t i;

	(void)state;
	/* UDP over IPv4, 28 + 20 bytes, the field holding the pseudo-header sum */
	memset(p, 0, sizeof(p));
	p[0] = 0x45; p[3] = 48; p[8] = 64; p[9] = 17;
	inet_pton(AF_INET, "100.100.0.1", p + 12);
	inet_pton(AF_INET, "100.100.0.2", p + 16);
	p[20] = 0x12; p[22] = 0x13; p[25] = 28;
	for (i = 28; i < 48; i++)
		p[i] = (uint8_t)i;
	ps = naive_csum(p + 12, 8, 17 + 28);
	p[26] = (uint8_t)(ps >> 8);
	p[27] = (uint8_t)ps;
	s.n = 0;
	assert_int_equal(offload_segment(&v, p, 48, next_buf, done_buf, &s), 0);
	assert_int_equal(s.n, 1);
	assert_int_equal(naive_csum(s.buf[0] + 20, 28, naive_csum(p + 12, 8, 17 + 28)), 0xffff);

	/* csum_start/offset past the end */
	v.csum_start = 47;
	s.n = 0;
	assert_int_equal(offload_segment(&v, p, 48, next_buf, done_buf, &s), -EINVAL);
	assert_int_equal(s.n, 0);
}

static void test_malformed_gso(void **state)
{
	static struct segs s;
	static uint8_t p[2000];
	struct offload_vnet v = { .gso_type = VIRTIO_NET_HDR_GSO_TCPV4, .gso_size = 1000 };
	size_t len = make_super(p, false, 1500, 0x10);

	(void)state;
	s.n = 0;
	v.gso_size = 0;
	assert_int_equal(offload_segment(&v, p, len, next_buf, done_buf, &s), -EINVAL);
	v.gso_size = 1000;
	v.gso_type = VIRTIO_NET_HDR_GSO_TCPV6; /* an IPv4 packet */
	assert_int_equal(offload_segment(&v, p, len, next_buf, done_buf, &s), -EINVAL);
	v.gso_type = VIRTIO_NET_HDR_GSO_UDP;
	assert_int_equal(offload_segment(&v, p, len, next_buf, done_buf, &s), -EINVAL);
	v.gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
	p[20 + 12] = 15 << 4; /* data offset past the end of a short packet */
	assert_int_equal(offload_segment(&v, p, 50, next_buf, done_buf, &s), -EINVAL);
	assert_int_equal(s.n, 0);
}

static void make_segments(struct segs *s, bool v6)
{
	static uint8_t super[OFFLOAD_MAX_PACKET];
	struct offload_vnet v = { .gso_size = 1000 };
	size_t len = make_super(super, v6, 4000, 0x10);

	v.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
	v.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
	v.csum_start = v6 ? 40 : 20;
	v.csum_offset = 16;
	s->n = 0;
	assert_int_equal(offload_segment(&v, super, len, next_buf, done_buf, s), 0);
	assert_int_equal(s->n, 4);
}

static void test_gro_refuses(void **state)
{
	static struct segs s;
	static uint8_t merged[OFFLOAD_VNET_HDR_LEN + OFFLOAD_MAX_PACKET];
	struct offload_gro g = { .buf = merged };

	(void)state;
	make_segments(&s, false);
	/* a corrupted checksum: not even started */
	s.buf[0][60] ^= 1;
	assert_false(offload_gro_add(&g, s.buf[0], s.len[0]));
	assert_int_equal(g.len, 0);
	s.buf[0][60] ^= 1;

	/* a gap in the sequence */
	assert_true(offload_gro_add(&g, s.buf[0], s.len[0]));
	assert_false(offload_gro_add(&g, s.buf[2], s.len[2]));
	assert_true(offload_gro_add(&g, s.buf[1], s.len[1]));
	offload_gro_finish(&g);

	/* another flow (other port, checksum fixed up) */
	make_segments(&s, false);
	assert_true(offload_gro_add(&g, s.buf[0], s.len[0]));
	s.buf[1][20 + 1] ^= 1;
	s.buf[1][20 + 17] ^= 1;
	assert_true(tcp_csum_ok(s.buf[1], s.len[1], false));
	assert_false(offload_gro_add(&g, s.buf[1], s.len[1]));
	offload_gro_finish(&g);

	/* a SYN is never merged; a PSH ends the run */
	make_segments(&s, true);
	s.buf[0][40 + 13] |= 0x02;
	assert_false(offload_gro_add(&g, s.buf[0], s.len[0]));
	make_segments(&s, true);
	s.buf[1][40 + 13] |= 0x08;
	s.buf[1][40 + 17] -= 0x08; /* keep the checksum right */
	assert_true(tcp_csum_ok(s.buf[1], s.len[1], true));
	assert_true(offload_gro_add(&g, s.buf[0], s.len[0]));
	assert_true(offload_gro_add(&g, s.buf[1], s.len[1]));
	assert_false(offload_gro_add(&g, s.buf[2], s.len[2]));
	assert_int_equal(g.segs, 2);
	assert_int_equal(offload_gro_finish(&g), OFFLOAD_VNET_HDR_LEN + 40 + 32 + 2000);
	assert_int_equal(offload_gro_finish(&g), 0);

	/* not TCP at all */
	make_segments(&s, false);
	s.buf[0][9] = 17;
	assert_false(offload_gro_add(&g, s.buf[0], s.len[0]));
}

static void test_csum_helpers(void **state)
{
	uint8_t p[301];
	size_t i, len;

	(void)state;
	for (i = 0; i < sizeof(p); i++)
		p[i] = (uint8_t)(i * 131 + 17);
	for (len = 0; len <= sizeof(p); len++)
		assert_int_equal(offload_csum_fold(offload_csum_add(0, p, len)), naive_csum(p, len, 0));
	assert_int_equal(offload_csum_fold(offload_csum_add(0x1fffe, p, 10)), naive_csum(p, 10, 0x1fffe));

	/* long runs of all-ones words carry on every addition; random data;
	 * every length and alignment around the 32- and 8-byte strides */
	{
		static uint8_t q[4096];
		unsigned seed = 7;

		memset(q, 0xff, sizeof(q));
		for (len = 0; len <= 200; len++)
			assert_int_equal(offload_csum_fold(offload_csum_add(0, q, len)), naive_csum(q, len, 0));
		assert_int_equal(offload_csum_fold(offload_csum_add(0, q, sizeof(q))), naive_csum(q, sizeof(q), 0));
		for (i = 0; i < sizeof(q); i++)
			q[i] = (uint8_t)((seed = seed * 1103515245u + 12345u) >> 16);
		for (len = 0; len <= 1600; len += 7)
			for (i = 0; i < 40; i += 2)
				assert_int_equal(offload_csum_fold(offload_csum_add(0, q + i, len)),
						 naive_csum(q + i, len, 0));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_v4),
		cmocka_unit_test(test_roundtrip_v6),
		cmocka_unit_test(test_partial_checksum_completed),
		cmocka_unit_test(test_malformed_gso),
		cmocka_unit_test(test_gro_refuses),
		cmocka_unit_test(test_csum_helpers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
