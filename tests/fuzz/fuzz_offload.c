/* The TUN offload paths (src/wg/offload.c) on hostile input: a virtio
 * header and a packet are segmented; every segment is fed to the
 * coalescer, as the receive side would with decrypted packets. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wg/offload.h"

static uint8_t seg[OFFLOAD_MAX_PACKET + 64];
static uint8_t gro_buf[OFFLOAD_VNET_HDR_LEN + OFFLOAD_MAX_PACKET];
static struct offload_gro gro = { .buf = gro_buf };
static unsigned nsegs;

static uint8_t *next_buf(void *ctx)
{
	(void)ctx;
	return seg;
}

static void done_buf(void *ctx, size_t len)
{
	(void)ctx;
	if (len > OFFLOAD_MAX_PACKET)
		abort();
	nsegs++;
	if (!offload_gro_add(&gro, seg, len)) {
		offload_gro_finish(&gro);
		(void)offload_gro_add(&gro, seg, len);
	}
	if (gro.len > OFFLOAD_MAX_PACKET)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct offload_vnet v;
	size_t n;

	if (size < OFFLOAD_VNET_HDR_LEN || size - OFFLOAD_VNET_HDR_LEN > OFFLOAD_MAX_PACKET)
		return 0;
	offload_vnet_read(&v, data);
	nsegs = 0;
	(void)offload_segment(&v, data + OFFLOAD_VNET_HDR_LEN, size - OFFLOAD_VNET_HDR_LEN, next_buf, done_buf, NULL);
	n = offload_gro_finish(&gro);
	if (n > OFFLOAD_VNET_HDR_LEN + OFFLOAD_MAX_PACKET)
		abort();
	return 0;
}
