/* libFuzzer target: the rootless exit server's packet input (proxy/exitsrv):
 * each input is a run of client packets (2-byte length, then the packet)
 * fed to exitsrv_input, with a poll round of the slirp stack after each,
 * so that slirp parses whatever the filter lets through and its answers
 * (Ethernet frames, ARP) come back through the output path, which checks
 * that every packet it hands to the mesh is a sane IPv4 packet for a
 * client address.
 *
 * The target runs in a network namespace of its own with nothing but a
 * loopback that is down (unshare at start: CLONE_NEWNET, or with
 * CLONE_NEWUSER when not root), so that whatever slirp dials goes nowhere;
 * it refuses to run when it cannot make one. */
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proxy/exitsrv.h"
#include "proxy/pollvec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct exitsrv *x;
static struct pollvec pv;

static void out(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	/* an IPv4 packet of at most the MTU, to a client in 100.100.0.0/16 */
	if (len < 20 || len > 1420 || (pkt[0] >> 4) != 4 || pkt[16] != 100 || pkt[17] != 100)
		abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct exitsrv_config c = { .allow_lan = true, .mtu = 1420, .max_flows = 64, .out = out };
	char err[256];

	(void)argc;
	(void)argv;
	if (unshare(CLONE_NEWNET) && unshare(CLONE_NEWUSER | CLONE_NEWNET)) {
		perror("fuzz_exitsrv: cannot make a network namespace of its own");
		exit(1);
	}
	if (cidr_parse("100.100.0.1/32", &c.self4) || cidr_parse("100.100.0.0/16", &c.mesh4) ||
	    exitsrv_new(&x, &c, err, sizeof(err))) {
		fprintf(stderr, "fuzz_exitsrv: %s\n", err);
		exit(1);
	}
	pollvec_init(&pv);
	return 0;
}

static void round_once(void)
{
	int timeout = 0;

	pollvec_reset(&pv);
	exitsrv_poll_prepare(x, &pv, &timeout);
	(void)poll(pv.fds, pv.n, 0);
	exitsrv_poll_done(x, &pv, false);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	while (size >= 2) {
		size_t len = (size_t)data[0] << 8 | data[1];

		data += 2;
		size -= 2;
		if (len > size)
			len = size;
		exitsrv_input(x, data, len);
		round_once();
		data += len;
		size -= len;
	}
	return 0;
}
