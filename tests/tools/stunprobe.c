/* stunprobe: asks a STUN server for our reflexive address through
 * src/nexd/stun.c, or plays a broken STUN server for the tests.
 *
 *   stunprobe [--bind IP:PORT] [--tries N] SERVER:PORT
 *       prints "local IP:PORT", "mapped IP:PORT", the attribute it came
 *       from and whether a FINGERPRINT was verified; exit 0, or a clear
 *       error on stderr and exit 1
 *   stunprobe --serve MODE IP:PORT
 *       answers every Binding request with: garbage (a response whose
 *       attribute overruns the message), noise (bytes that are not STUN),
 *       wrong-txid (a good response to another transaction), error (a 401
 *       error response), good (a correct XOR-MAPPED-ADDRESS); prints
 *       "serving" when ready, runs until killed. */
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "nexd/stun.h"

static const char *prog = "stunprobe";

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s [--bind IP:PORT] [--tries N] SERVER:PORT\n"
		"       %s --serve garbage|noise|wrong-txid|error|good IP:PORT\n",
		prog, prog);
}

static __attribute__((noreturn)) void bad(const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s '%s'\n", prog, what, arg ? arg : "(missing)");
	usage(stderr);
	exit(2);
}

static int udp_socket(const union sockaddr_any *bind_to, int family)
{
	int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		exit(1);
	}
	if (bind_to && bind(fd, &bind_to->sa, addr_len(bind_to)) < 0) {
		char s[ADDR_ENDPOINT_STRLEN];

		addr_endpoint_format(bind_to, s);
		fprintf(stderr, "%s: bind %s: %s\n", prog, s, strerror(errno));
		exit(1);
	}
	return fd;
}

/* ------------------------------------------------------------------ server */

static void put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* a response header and one XOR-MAPPED-ADDRESS for `to` */
static size_t good_response(uint8_t *b, const uint8_t *txid, const union sockaddr_any *to)
{
	static const uint8_t cookie[4] = { 0x21, 0x12, 0xa4, 0x42 };
	uint8_t mask[16];
	size_t alen;

	memcpy(mask, cookie, 4);
	memcpy(mask + 4, txid, 12);
	put16(b, STUN_BINDING_SUCCESS);
	memcpy(b + 4, cookie, 4);
	memcpy(b + 8, txid, 12);
	put16(b + 20, STUN_ATTR_XOR_MAPPED_ADDRESS);
	b[24] = 0;
	if (to->sa.sa_family == AF_INET) {
		b[25] = 1;
		put16(b + 26, ntohs(to->in4.sin_port) ^ 0x2112);
		for (int i = 0; i < 4; i++)
			b[28 + i] = ((const uint8_t *)&to->in4.sin_addr)[i] ^ mask[i];
		alen = 8;
	} else {
		b[25] = 2;
		put16(b + 26, ntohs(to->in6.sin6_port) ^ 0x2112);
		for (int i = 0; i < 16; i++)
			b[28 + i] = to->in6.sin6_addr.s6_addr[i] ^ mask[i];
		alen = 20;
	}
	put16(b + 22, (unsigned)alen);
	put16(b + 2, (unsigned)(4 + alen));
	return 24 + alen;
}

static int serve(const char *mode, const char *where)
{
	union sockaddr_any addr;
	uint8_t buf[1500], out[256];
	int fd;

	if (addr_endpoint_parse(where, &addr) < 0)
		bad("bad address", where);
	if (strcmp(mode, "garbage") && strcmp(mode, "noise") && strcmp(mode, "wrong-txid") &&
	    strcmp(mode, "error") && strcmp(mode, "good"))
		bad("unknown mode", mode);
	fd = udp_socket(&addr, addr.sa.sa_family);
	printf("serving\n");
	fflush(stdout);
	for (;;) {
		union sockaddr_any from;
		socklen_t flen = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, &from.sa, &flen);
		uint8_t txid[12];
		size_t len;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: recvfrom: %s\n", prog, strerror(errno));
			return 1;
		}
		if (!stun_is_message(buf, (size_t)n) || buf[0] != 0 || buf[1] != 1)
			continue;
		memcpy(txid, buf + 8, 12);
		if (strcmp(mode, "noise") == 0) {
			memset(out, 0x5a, 64);
			len = 64;
		} else if (strcmp(mode, "error") == 0) {
			len = good_response(out, txid, &from);
			put16(out, STUN_BINDING_ERROR);
			put16(out + 2, 12);
			put16(out + 20, STUN_ATTR_ERROR_CODE);
			put16(out + 22, 8);
			memcpy(out + 24, "\0\0\x04\x01nope", 8);
			len = 32;
		} else {
			if (strcmp(mode, "wrong-txid") == 0)
				txid[5] ^= 0x01;
			len = good_response(out, txid, &from);
			if (strcmp(mode, "garbage") == 0)
				put16(out + 22, 200);   /* the attribute overruns the message */
		}
		sendto(fd, out, len, 0, &from.sa, flen);
	}
}

/* ------------------------------------------------------------------ client */

int main(int argc, char **argv)
{
	union sockaddr_any server, bind_to, local;
	socklen_t llen = sizeof(local);
	struct stun_response r;
	char s[ADDR_ENDPOINT_STRLEN];
	bool have_bind = false;
	unsigned tries = 3;
	const char *target = NULL;
	int fd, err;

	log_init(prog, LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	for (int i = 1; i < argc; i++) {
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--serve") == 0) {
			if (!next || i + 2 >= argc)
				bad("--serve needs MODE and IP:PORT", next);
			return serve(next, argv[i + 2]);
		} else if (strcmp(argv[i], "--bind") == 0) {
			if (!next || addr_endpoint_parse(next, &bind_to) < 0)
				bad("bad --bind", next);
			have_bind = true;
			i++;
		} else if (strcmp(argv[i], "--tries") == 0) {
			char *end;
			unsigned long v;

			if (!next)
				bad("bad --tries", next);
			errno = 0;
			v = strtoul(next, &end, 10);
			if (errno || *end || end == next || v < 1 || v > 10)
				bad("bad --tries (1..10)", next);
			tries = (unsigned)v;
			i++;
		} else if (!target && argv[i][0] != '-') {
			target = argv[i];
		} else {
			bad("unknown argument", argv[i]);
		}
	}
	if (!target || addr_endpoint_parse(target, &server) < 0)
		bad("bad server", target);
	if (have_bind && bind_to.sa.sa_family != server.sa.sa_family)
		bad("--bind and the server differ in family", target);

	fd = udp_socket(have_bind ? &bind_to : NULL, server.sa.sa_family);
	err = stun_binding(fd, &server, tries, &r);
	if (getsockname(fd, &local.sa, &llen) == 0) {
		addr_endpoint_format(&local, s);
		printf("local %s\n", s);
	}
	close(fd);
	if (err == -ECONNREFUSED) {
		fprintf(stderr, "%s: %s: %s: %u %s\n", prog, target, stun_strerror(err),
			r.error_code, r.reason);
		return 1;
	}
	if (err < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, target, stun_strerror(err));
		return 1;
	}
	addr_endpoint_format(&r.mapped, s);
	printf("mapped %s\n", s);
	printf("attribute %s\n", r.from_xor ? "XOR-MAPPED-ADDRESS" : "MAPPED-ADDRESS");
	printf("fingerprint %s\n", r.fingerprint ? "verified" : "absent");
	return 0;
}
