/* TSO and GRO for TCP over a vnet-header TUN: see offload.h. Only what the
 * kernel can hand us with TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 is handled:
 * partial checksums and TCP over IPv4 (with or without IP options) and
 * IPv6 (without extension headers). */
#include "wg/offload.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/socket.h>

#define TCP_FIN 0x01
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_CWR 0x80

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void be16_put(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void offload_vnet_read(struct offload_vnet *v, const uint8_t h[OFFLOAD_VNET_HDR_LEN])
{
	v->flags = h[0];
	v->gso_type = h[1];
	v->hdr_len = (uint16_t)(h[2] | h[3] << 8);
	v->gso_size = (uint16_t)(h[4] | h[5] << 8);
	v->csum_start = (uint16_t)(h[6] | h[7] << 8);
	v->csum_offset = (uint16_t)(h[8] | h[9] << 8);
}

void offload_vnet_write(uint8_t h[OFFLOAD_VNET_HDR_LEN], const struct offload_vnet *v)
{
	h[0] = v->flags;
	h[1] = v->gso_type;
	h[2] = (uint8_t)v->hdr_len;
	h[3] = (uint8_t)(v->hdr_len >> 8);
	h[4] = (uint8_t)v->gso_size;
	h[5] = (uint8_t)(v->gso_size >> 8);
	h[6] = (uint8_t)v->csum_start;
	h[7] = (uint8_t)(v->csum_start >> 8);
	h[8] = (uint8_t)v->csum_offset;
	h[9] = (uint8_t)(v->csum_offset >> 8);
}

/* Sums in the host's byte order (the one's complement sum does not care
 * where the byte swap happens, RFC 1071 2(B)) and returns the sum in
 * network order added to `sum`. Starts at an even offset of the data. */
uint32_t offload_csum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	/* 64-bit words into two accumulators, their carries counted apart
	 * and added back at the end (2^64 = 1 modulo 2^16 - 1). */
	uint64_t s0 = 0, s1 = 0, c = 0, w0, w1, w2, w3, acc;
	uint32_t a;
	uint16_t h;

	while (len >= 32) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		s0 += w0;
		c += s0 < w0;
		s1 += w1;
		c += s1 < w1;
		s0 += w2;
		c += s0 < w2;
		s1 += w3;
		c += s1 < w3;
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		memcpy(&w0, p, 8);
		s0 += w0;
		c += s0 < w0;
		p += 8;
		len -= 8;
	}
	s0 += s1;
	c += s0 < s1;
	s0 += c;
	c = s0 < c; /* at most one more */
	acc = (s0 & 0xffffffff) + (s0 >> 32) + c;
	if (len >= 4) {
		memcpy(&a, p, 4);
		acc += a;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&h, p, 2);
		acc += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		h = 0;
		memcpy(&h, p, 1);
		acc += h;
	}
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return sum + ntohs((uint16_t)acc);
}

uint16_t offload_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/* The pseudo-header's sum for TCP over the IP header at ip. */
static uint32_t pseudo_sum(const uint8_t *ip, bool v6, size_t tcp_len)
{
	uint32_t sum = 6 + (uint32_t)tcp_len;

	if (v6)
		return offload_csum_add(sum, ip + 8, 32);
	return offload_csum_add(sum, ip + 12, 8);
}

static void ipv4_fix_csum(uint8_t *ip, size_t ihl)
{
	ip[10] = ip[11] = 0;
	be16_put(ip + 10, (uint16_t)~offload_csum_fold(offload_csum_add(0, ip, ihl)));
}

static int copy_with_csum(const struct offload_vnet *v, const uint8_t *pkt, size_t len, uint8_t *out)
{
	memcpy(out, pkt, len);
	if (v->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		size_t cs = v->csum_start, co = v->csum_offset;
		uint16_t c;

		if (cs > len || co + 2 > len - cs)
			return -EINVAL;
		/* The field holds the pseudo-header's sum already. */
		c = (uint16_t)~offload_csum_fold(offload_csum_add(0, out + cs, len - cs));
		if (!c && co == 6)
			c = 0xffff; /* UDP: 0 would mean "no checksum" */
		be16_put(out + cs + co, c);
	}
	return 0;
}

int offload_segment(const struct offload_vnet *v, const uint8_t *pkt, size_t len, offload_next_fn next,
		    offload_done_fn done, void *ctx)
{
	size_t ip_len, doff, hdr, payload, off, mss;
	uint32_t seq0;
	uint16_t id0 = 0;
	uint8_t flags0, gso = v->gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN;
	unsigned i;
	bool v6;

	if (len > OFFLOAD_MAX_PACKET)
		return -EINVAL;
	if (gso == VIRTIO_NET_HDR_GSO_NONE) {
		uint8_t *out = next(ctx);
		int err = copy_with_csum(v, pkt, len, out);

		if (!err)
			done(ctx, len);
		return err;
	}
	if (gso == VIRTIO_NET_HDR_GSO_TCPV4) {
		if (len < 20 || (pkt[0] >> 4) != 4 || pkt[9] != IPPROTO_TCP)
			return -EINVAL;
		ip_len = (size_t)(pkt[0] & 0x0f) * 4;
		if (ip_len < 20)
			return -EINVAL;
		id0 = be16(pkt + 4);
		v6 = false;
	} else if (gso == VIRTIO_NET_HDR_GSO_TCPV6) {
		if (len < 40 || (pkt[0] >> 4) != 6 || pkt[6] != IPPROTO_TCP)
			return -EINVAL;
		ip_len = 40;
		v6 = true;
	} else {
		return -EINVAL;
	}
	if (len < ip_len + 20)
		return -EINVAL;
	doff = (size_t)(pkt[ip_len + 12] >> 4) * 4;
	hdr = ip_len + doff;
	mss = v->gso_size;
	if (doff < 20 || hdr > len || !mss)
		return -EINVAL;
	payload = len - hdr;
	seq0 = be32(pkt + ip_len + 4);
	flags0 = pkt[ip_len + 13];

	for (off = 0, i = 0; off < payload || (!payload && !i); i++) {
		size_t seg = payload - off < mss ? payload - off : mss, total = hdr + seg;
		uint8_t *out = next(ctx), *tcp = out + ip_len, fl = flags0;

		memcpy(out, pkt, hdr);
		memcpy(out + hdr, pkt + hdr + off, seg);
		if (v6) {
			be16_put(out + 4, (uint16_t)(total - 40));
		} else {
			be16_put(out + 2, (uint16_t)total);
			be16_put(out + 4, (uint16_t)(id0 + i));
			ipv4_fix_csum(out, ip_len);
		}
		be32_put(tcp + 4, seq0 + (uint32_t)off);
		if (off + seg < payload)
			fl &= (uint8_t)~(TCP_FIN | TCP_PSH);
		if (i)
			fl &= (uint8_t)~TCP_CWR;
		tcp[13] = fl;
		tcp[16] = tcp[17] = 0;
		be16_put(tcp + 16, (uint16_t)~offload_csum_fold(offload_csum_add(pseudo_sum(out, v6, total - ip_len), tcp,
										 total - ip_len)));
		done(ctx, total);
		off += seg;
	}
	return 0;
}

/* ---- coalescing ---- */

struct tcp_view {
	size_t ip_len, hdr_len, payload;
	bool v6;
};

/* A TCP segment we may merge: no IP options or fragments, no extension
 * headers, only ACK (and PSH), some payload, and valid checksums (a merged
 * packet goes up as "checksum partial", that is trusted). */
static bool parse_tcp(const uint8_t *p, size_t len, struct tcp_view *t)
{
	const uint8_t *tcp;
	size_t doff;

	if (len >= 20 && p[0] == 0x45) {
		if (be16(p + 2) != len || (be16(p + 6) & 0x3fff) || p[9] != IPPROTO_TCP ||
		    offload_csum_fold(offload_csum_add(0, p, 20)) != 0xffff)
			return false;
		t->ip_len = 20;
		t->v6 = false;
	} else if (len >= 40 && (p[0] >> 4) == 6) {
		if ((size_t)be16(p + 4) + 40 != len || p[6] != IPPROTO_TCP)
			return false;
		t->ip_len = 40;
		t->v6 = true;
	} else {
		return false;
	}
	if (len < t->ip_len + 20)
		return false;
	tcp = p + t->ip_len;
	doff = (size_t)(tcp[12] >> 4) * 4;
	if (doff < 20 || t->ip_len + doff >= len)
		return false; /* no payload: nothing to merge */
	if ((tcp[13] & (uint8_t)~(TCP_ACK | TCP_PSH)) || !(tcp[13] & TCP_ACK))
		return false;
	t->hdr_len = t->ip_len + doff;
	t->payload = len - t->hdr_len;
	return offload_csum_fold(offload_csum_add(pseudo_sum(p, t->v6, len - t->ip_len), tcp, len - t->ip_len)) ==
	       0xffff;
}

static bool same_flow(const uint8_t *a, const uint8_t *b, const struct tcp_view *t)
{
	const uint8_t *ta = a + t->ip_len, *tb = b + t->ip_len;

	if (t->v6) {
		if (memcmp(a, b, 4) || a[7] != b[7] || memcmp(a + 8, b + 8, 32))
			return false;
	} else {
		if (a[1] != b[1] || a[6] != b[6] || a[8] != b[8] || memcmp(a + 12, b + 12, 8))
			return false;
	}
	/* ports, ack, data offset, window, and the options, all the same */
	return !memcmp(ta, tb, 4) && !memcmp(ta + 8, tb + 8, 5) && !memcmp(ta + 14, tb + 14, 2) &&
	       !memcmp(ta + 20, tb + 20, t->hdr_len - t->ip_len - 20);
}

bool offload_gro_add(struct offload_gro *g, const uint8_t *pkt, size_t len)
{
	uint8_t *p0 = g->buf + OFFLOAD_VNET_HDR_LEN;
	struct tcp_view t;
	uint8_t flags;

	if (len > OFFLOAD_MAX_PACKET || !parse_tcp(pkt, len, &t))
		return false;
	flags = pkt[t.ip_len + 13];
	if (!g->len) {
		memcpy(p0, pkt, len);
		g->len = len;
		g->ip_len = t.ip_len;
		g->hdr_len = t.hdr_len;
		g->seg_size = t.payload;
		g->segs = 1;
		g->next_seq = be32(pkt + t.ip_len + 4) + (uint32_t)t.payload;
		g->closed = flags & TCP_PSH;
		return true;
	}
	if (g->closed || t.hdr_len != g->hdr_len || t.ip_len != g->ip_len || (p0[0] >> 4) != (pkt[0] >> 4) ||
	    t.payload > g->seg_size || g->len + t.payload > OFFLOAD_MAX_PACKET ||
	    be32(pkt + t.ip_len + 4) != g->next_seq || !same_flow(p0, pkt, &t))
		return false;
	memcpy(p0 + g->len, pkt + t.hdr_len, t.payload);
	g->len += t.payload;
	g->segs++;
	g->next_seq += (uint32_t)t.payload;
	if (t.payload < g->seg_size)
		g->closed = true;
	if (flags & TCP_PSH) {
		p0[g->ip_len + 13] |= TCP_PSH;
		g->closed = true;
	}
	return true;
}

size_t offload_gro_finish(struct offload_gro *g)
{
	uint8_t *p0 = g->buf + OFFLOAD_VNET_HDR_LEN;
	struct offload_vnet v = { 0 };
	size_t n;

	if (!g->len)
		return 0;
	if (g->segs > 1) {
		bool v6 = (p0[0] >> 4) == 6;
		uint8_t *tcp = p0 + g->ip_len;

		if (v6) {
			be16_put(p0 + 4, (uint16_t)(g->len - 40));
		} else {
			be16_put(p0 + 2, (uint16_t)g->len);
			ipv4_fix_csum(p0, g->ip_len);
		}
		/* Checksum partial: the field holds the pseudo-header's sum. */
		be16_put(tcp + 16, offload_csum_fold(pseudo_sum(p0, v6, g->len - g->ip_len)));
		v.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		v.gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
		v.hdr_len = (uint16_t)g->hdr_len;
		v.gso_size = (uint16_t)g->seg_size;
		v.csum_start = (uint16_t)g->ip_len;
		v.csum_offset = 16;
	}
	offload_vnet_write(g->buf, &v);
	n = OFFLOAD_VNET_HDR_LEN + g->len;
	g->len = 0;
	g->segs = 0;
	g->closed = false;
	return n;
}
