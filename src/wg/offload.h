/* TCP segmentation offload across the TUN (IFF_VNET_HDR): the kernel hands
 * us TCP "super-packets" of up to 64 KiB that we cut into MTU-sized
 * segments before encryption (as a NIC's TSO would), and we hand it back
 * runs of consecutive segments of one TCP flow as one super-packet (as GRO
 * would). One read or write then carries dozens of packets, which is most
 * of the cost of a userspace tunnel. Pure functions over buffers; every
 * length in the input is checked. */
#ifndef WG_OFFLOAD_H
#define WG_OFFLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OFFLOAD_VNET_HDR_LEN 10   /* struct virtio_net_hdr */
#define OFFLOAD_MAX_PACKET 65535

/* The virtio header, decoded (its fields are little endian on the wire). */
struct offload_vnet {
	uint8_t flags;        /* VIRTIO_NET_HDR_F_NEEDS_CSUM */
	uint8_t gso_type;     /* VIRTIO_NET_HDR_GSO_* */
	uint16_t hdr_len, gso_size, csum_start, csum_offset;
};

void offload_vnet_read(struct offload_vnet *v, const uint8_t hdr[OFFLOAD_VNET_HDR_LEN]);
void offload_vnet_write(uint8_t hdr[OFFLOAD_VNET_HDR_LEN], const struct offload_vnet *v);

/* Segmentation: for each plain IP packet cut out of pkt, next(ctx) gives a
 * buffer of at least len bytes, and done(ctx, n) takes the n bytes written
 * there. A packet without GSO is copied (its checksum completed when the
 * kernel left it partial). 0, or -EINVAL for a malformed packet (nothing
 * or only some segments were emitted). */
typedef uint8_t *(*offload_next_fn)(void *ctx);
typedef void (*offload_done_fn)(void *ctx, size_t len);
int offload_segment(const struct offload_vnet *v, const uint8_t *pkt, size_t len, offload_next_fn next,
		    offload_done_fn done, void *ctx);

/* Coalescing: a pending super-packet in a buffer of
 * OFFLOAD_VNET_HDR_LEN + OFFLOAD_MAX_PACKET bytes. */
struct offload_gro {
	uint8_t *buf;         /* the virtio header, then the packet */
	size_t len;           /* packet bytes (after the header); 0: none pending */
	size_t ip_len, hdr_len, seg_size;
	unsigned segs;
	uint32_t next_seq;
	bool closed;          /* a short or PSH segment ended the run */
};

/* Appends pkt to the pending super-packet if it continues it, or starts a
 * new one with it if none is pending and it is a TCP segment that can be
 * coalesced (valid checksums, only ACK/PSH). False: the caller must
 * finish the pending one and try again, or write pkt alone. */
bool offload_gro_add(struct offload_gro *g, const uint8_t *pkt, size_t len);
/* Completes the pending super-packet (lengths, checksums, virtio header)
 * and returns the bytes to write from g->buf (header included), 0 when
 * nothing was pending. The state is then empty. */
size_t offload_gro_finish(struct offload_gro *g);

/* The Internet checksum (RFC 1071) pieces, exposed for tests. */
uint32_t offload_csum_add(uint32_t sum, const uint8_t *p, size_t len);
uint16_t offload_csum_fold(uint32_t sum);

#endif
