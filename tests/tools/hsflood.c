/* hsflood: a flood of WireGuard handshake initiations with a valid mac1, for
 * the end-to-end test of a responder under load (tests/e2e/test_nexwg_flood.sh).
 *
 *   hsflood [-m initiation|junk] [-d SECONDS] [-r PER_SECOND] [-p PORTS] PUBKEY IP:PORT
 *
 * PUBKEY is the responder's public key (base64). Every initiation is 148
 * bytes of random content with the right type, zero reserved bytes, a zero
 * mac2 and a valid mac1 = BLAKE2s-128 keyed with HASH("mac1----" || PUBKEY)
 * over the first 116 bytes (paper section 5.4.4), so that the responder has
 * to take it past its cheap checks. With -m junk, bad input instead: every
 * message type truncated, one byte too long, with non-zero reserved bytes,
 * a wrong mac1, data messages with random indexes and counters down to the
 * minimum size and below, unknown types, empty and oversized datagrams.
 * Sent with sendmmsg in batches from PORTS
 * sockets (distinct source ports, default 16), for SECONDS (default 10, at
 * most 600), at PER_SECOND (0, the default: as fast as possible).
 *
 * Only test addresses are accepted as destinations (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24, 100.100.0.0/16, 2001:db8::/32).
 * Prints one line: initiations sent, seconds, rate, send errors. */
#include <blake2.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/key.h"
#include "wg/messages.h"

#define BATCH 64
#define MAX_PORTS 1024
#define MAX_SECONDS 600
#define MAX_RATE 100000000UL

static const char *const test_ranges[] = {
	"192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "100.100.0.0/16", "2001:db8::/32",
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(void)
{
	fprintf(stderr, "usage: hsflood [-m initiation|junk] [-d SECONDS] [-r PER_SECOND] [-p PORTS] PUBKEY IP:PORT\n");
	exit(2);
}

/* A number from text: decimal, within [min, max], nothing left over. */
static unsigned long parse_number(const char *what, const char *s, unsigned long min,
				  unsigned long max)
{
	char *end = NULL;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "hsflood: bad %s '%s' (%lu..%lu)\n", what, s, min, max);
		exit(2);
	}
	return v;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: cheap filler for packet content (not a secret). */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545F4914F6CDD1DULL;
}

static int destination_allowed(const union sockaddr_any *dst)
{
	const void *ip = dst->sa.sa_family == AF_INET ? (const void *)&dst->in4.sin_addr
						      : (const void *)&dst->in6.sin6_addr;
	size_t i;

	for (i = 0; i < sizeof(test_ranges) / sizeof(test_ranges[0]); i++) {
		struct cidr net;

		if (cidr_parse(test_ranges[i], &net) == 0 && cidr_contains(&net, dst->sa.sa_family, ip))
			return 1;
	}
	return 0;
}

/* mac1 key = BLAKE2s-256("mac1----" || responder public key). */
static int mac1_key_derive(uint8_t key[NOISE_SYMMETRIC_KEY_LEN], const uint8_t pub[KEY_LEN])
{
	uint8_t in[8 + KEY_LEN];

	memcpy(in, "mac1----", 8);
	memcpy(in + 8, pub, KEY_LEN);
	return blake2s(key, in, NULL, NOISE_SYMMETRIC_KEY_LEN, sizeof(in), 0) == 0 ? 0 : -EINVAL;
}

static void initiation_fill(struct message_handshake_initiation *m, uint64_t *rng,
			    const uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN])
{
	uint8_t *p = (uint8_t *)m;
	size_t i;

	for (i = 0; i + 8 <= sizeof(*m); i += 8) {
		uint64_t r = rng_next(rng);

		memcpy(p + i, &r, 8);
	}
	le32_store(&m->header.type, MESSAGE_HANDSHAKE_INITIATION);
	memset(m->macs.mac2, 0, sizeof(m->macs.mac2));
	blake2s(m->macs.mac1, m, mac1_key, COOKIE_LEN, offsetof(struct message_handshake_initiation, macs),
		NOISE_SYMMETRIC_KEY_LEN);
}

/* Bad input of every kind the responder must drop (see the header). Writes
 * into buf (MAX_JUNK bytes) and returns the length. */
#define MAX_JUNK 2048
static size_t junk_fill(uint8_t *buf, uint64_t *rng, const uint8_t mac1_key[NOISE_SYMMETRIC_KEY_LEN])
{
	static const size_t sizes[] = { sizeof(struct message_handshake_initiation),
					sizeof(struct message_handshake_response),
					sizeof(struct message_handshake_cookie), MESSAGE_MINIMUM_LENGTH };
	uint64_t r = rng_next(rng);
	unsigned kind = (unsigned)(r % 10), type = (unsigned)((r >> 8) % 4) + 1;
	size_t len, i;

	for (i = 0; i < MAX_JUNK; i += 8) {
		uint64_t v = rng_next(rng);

		memcpy(buf + i, &v, 8);
	}
	switch (kind) {
	case 0: /* a handshake message, truncated (valid mac1 where it fits) */
		len = sizes[type - 1] - 1 - (size_t)((r >> 16) % 8);
		break;
	case 1: /* one byte too long */
		len = sizes[type - 1] + 1;
		break;
	case 2: /* right size, reserved bytes not zero */
		len = type == 4 ? 32 + (size_t)((r >> 16) % 1400) : sizes[type - 1];
		le32_store(buf, type | (uint32_t)(1 + (r >> 24) % 255) << 8);
		return len;
	case 3: /* an initiation with a wrong mac1 */
		len = sizeof(struct message_handshake_initiation);
		le32_store(buf, MESSAGE_HANDSHAKE_INITIATION);
		return len;
	case 4: /* data below the minimum length */
		type = MESSAGE_DATA;
		len = 4 + (size_t)((r >> 16) % (MESSAGE_MINIMUM_LENGTH - 4));
		break;
	case 5:
	case 6: /* data with a random receiver index and counter */
		type = MESSAGE_DATA;
		len = MESSAGE_MINIMUM_LENGTH + (size_t)((r >> 16) % 1440);
		break;
	case 7: /* an unknown type */
		type = 5 + (unsigned)((r >> 16) % 250);
		len = (size_t)((r >> 24) % 200);
		break;
	case 8: /* empty, or shorter than a header */
		return (size_t)((r >> 16) % 4);
	default: /* oversized for its type: a big datagram */
		len = 1500 + (size_t)((r >> 16) % (MAX_JUNK - 1500));
		break;
	}
	if (len >= 4)
		le32_store(buf, type);
	if (type == MESSAGE_HANDSHAKE_INITIATION && len >= sizeof(struct message_macs))
		blake2s(buf + len - sizeof(struct message_macs), buf, mac1_key, COOKIE_LEN,
			len - sizeof(struct message_macs), NOISE_SYMMETRIC_KEY_LEN);
	return len;
}

int main(int argc, char **argv)
{
	unsigned long seconds = 10, rate = 0, nports = 16;
	uint8_t pub[KEY_LEN], mac1_key[NOISE_SYMMETRIC_KEY_LEN];
	static struct message_handshake_initiation pkts[BATCH];
	static uint8_t junk[BATCH][MAX_JUNK];
	int junk_mode = 0;
	struct mmsghdr msgs[BATCH];
	struct iovec iovs[BATCH];
	union sockaddr_any dst;
	char dst_text[ADDR_ENDPOINT_STRLEN];
	int socks[MAX_PORTS];
	uint64_t rng, start, deadline, now, sent = 0, errors = 0;
	unsigned long i, turn = 0;
	struct sigaction sa;
	int opt, ret = 1;

	while ((opt = getopt(argc, argv, "m:d:r:p:h")) != -1) {
		switch (opt) {
		case 'm':
			if (strcmp(optarg, "junk") == 0)
				junk_mode = 1;
			else if (strcmp(optarg, "initiation") != 0)
				usage();
			break;
		case 'd': seconds = parse_number("duration", optarg, 1, MAX_SECONDS); break;
		case 'r': rate = parse_number("rate", optarg, 0, MAX_RATE); break;
		case 'p': nports = parse_number("port count", optarg, 1, MAX_PORTS); break;
		default: usage();
		}
	}
	if (argc - optind != 2)
		usage();
	if (key_from_base64(pub, argv[optind]) != 0) {
		fprintf(stderr, "hsflood: bad public key '%s'\n", argv[optind]);
		return 2;
	}
	if (addr_endpoint_parse(argv[optind + 1], &dst) != 0) {
		fprintf(stderr, "hsflood: bad destination '%s' (IP:PORT or [IPv6]:PORT)\n", argv[optind + 1]);
		return 2;
	}
	addr_unmap(&dst);
	addr_endpoint_format(&dst, dst_text);
	if (!destination_allowed(&dst)) {
		fprintf(stderr, "hsflood: refusing to flood %s: not a test address\n", dst_text);
		return 2;
	}
	if (mac1_key_derive(mac1_key, pub) != 0) {
		fprintf(stderr, "hsflood: blake2s failed\n");
		return 1;
	}

	for (i = 0; i < nports; i++) {
		socks[i] = socket(dst.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (socks[i] < 0) {
			perror("hsflood: socket");
			goto out_close_sockets;
		}
		/* connect: an ephemeral source port per socket, and no sendto lookups */
		if (connect(socks[i], &dst.sa, addr_len(&dst)) < 0) {
			perror("hsflood: connect");
			close(socks[i]);
			goto out_close_sockets;
		}
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		iovs[i].iov_base = junk_mode ? (void *)junk[i] : (void *)&pkts[i];
		iovs[i].iov_len = sizeof(pkts[i]);
		msgs[i].msg_hdr.msg_iov = &iovs[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	rng = now_ns() ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	if (!rng)
		rng = 1;

	start = now_ns();
	deadline = start + (uint64_t)seconds * 1000000000ULL;
	while (!stop_requested && (now = now_ns()) < deadline) {
		int n, j;

		if (rate) {
			uint64_t allowed = (uint64_t)((double)rate * (double)(now - start) / 1e9);

			if (allowed < sent + BATCH) {
				struct timespec ts = { 0, 200000 };

				nanosleep(&ts, NULL);
				continue;
			}
		}
		for (j = 0; j < BATCH; j++) {
			if (junk_mode)
				iovs[j].iov_len = junk_fill(junk[j], &rng, mac1_key);
			else
				initiation_fill(&pkts[j], &rng, mac1_key);
		}
		n = sendmmsg(socks[turn], msgs, BATCH, 0);
		if (n < 0) {
			if (errno != ENOBUFS && errno != EAGAIN && errno != ECONNREFUSED && errno != EINTR) {
				perror("hsflood: sendmmsg");
				goto out_report;
			}
			errors++;
		} else {
			sent += (uint64_t)n;
		}
		turn = (turn + 1) % nports;
	}
	ret = 0;

out_report:
	{
		double secs = (double)(now_ns() - start) / 1e9;

		printf("hsflood: sent %llu %s to %s in %.1f s (%.0f/s) from %lu ports, %llu send errors\n",
		       (unsigned long long)sent, junk_mode ? "bad packets" : "initiations", dst_text, secs, secs > 0 ? (double)sent / secs : 0.0, nports,
		       (unsigned long long)errors);
		fflush(stdout);
	}
	i = nports;
out_close_sockets:
	while (i-- > 0)
		close(socks[i]);
	return ret;
}
