/* libFuzzer target: kernel WireGuard's GET_DEVICE reply parser (wgnl.c),
 * as wgdrv_kernel.c runs it: a datagram walked by wgnl_reply_feed, its
 * parts gathered by wgnl_get_parse. The family id, sequence number and
 * port id are taken from the input's first header so that the fuzzer gets
 * past the checks of "is this ours"; then the same bytes go to the single
 * part parser and to the generic netlink family parser. Whatever is
 * accepted or refused, the gathered info must be consistent. The seeds
 * (corpus/wgnl) are the captured replies of tests/unit/test_wgnl.c, framed
 * as there, and the generic netlink controller's reply captured there. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <linux/netlink.h>

#include "nexd/wgnl.h"
#include "wg/wg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct wg_device_info *info)
{
	if (!info || !memchr(info->ifname, '\0', sizeof(info->ifname)) || info->n_peers > WGNL_MAX_PEERS ||
	    (info->n_peers && !info->peers))
		abort();
	for (size_t i = 0; i < info->n_peers; i++) {
		const struct wg_peer_info *p = &info->peers[i];

		if (p->n_allowed_ips && !p->allowed_ips)
			abort();
		for (size_t j = 0; j < p->n_allowed_ips; j++) {
			const struct cidr *c = &p->allowed_ips[j];

			if (!(c->family == AF_INET && c->prefix <= 32) && !(c->family == AF_INET6 && c->prefix <= 128))
				abort();
		}
		if (p->endpoint.sa.sa_family != 0 && p->endpoint.sa.sa_family != AF_INET &&
		    p->endpoint.sa.sa_family != AF_INET6)
			abort();
		if (p->last_handshake_nsec < 0 || p->last_handshake_nsec >= 1000000000)
			abort();
	}
}

static int part(const struct nlmsghdr *nlh, void *ctx)
{
	return wgnl_get_parse(ctx, nlh, nlh->nlmsg_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct nlmsghdr first = { .nlmsg_type = 0x15 };
	struct wgnl_reply r;
	struct wgnl_get g;
	uint8_t *buf;
	uint16_t id;
	int err;

	if (size > 4 * WGNL_RECV_MAX)
		return 0;
	/* an aligned copy of exactly the input, as a receive buffer is */
	buf = malloc(size ? size : 1);
	if (!buf)
		return 0;
	memcpy(buf, data, size);
	if (size >= sizeof(first))
		memcpy(&first, buf, sizeof(first));

	if (wgnl_get_begin(&g, first.nlmsg_type) == 0) {
		wgnl_reply_init(&r, first.nlmsg_seq, first.nlmsg_pid, part, &g);
		err = wgnl_reply_feed(&r, buf, size);
		if (err > 1 || err < -4095)
			abort();
		check(g.info);
		wgnl_get_end(&g, NULL);
	}
	if (size >= NLMSG_HDRLEN && wgnl_get_begin(&g, first.nlmsg_type) == 0) {
		err = wgnl_get_parse(&g, (const struct nlmsghdr *)buf, size);
		if (err > 0)
			abort();
		check(g.info);
		wgnl_get_end(&g, NULL);
	}
	if (size >= NLMSG_HDRLEN && wgnl_family_parse((const struct nlmsghdr *)buf, size, "wireguard", &id) == 0 &&
	    id < NLMSG_MIN_TYPE)
		abort();
	free(buf);
	return 0;
}
