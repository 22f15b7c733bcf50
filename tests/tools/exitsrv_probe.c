/* exitsrv_probe: src/proxy/exitsrv.c with real traffic, for
 * tests/e2e/test_exitsrv.sh. An exit server for self 100.100.0.1, mesh
 * 100.100.0.0/16; hand-crafted client packets from 100.100.0.2 (and up) go
 * in, the replies that come out are checked (addresses, ports, checksums).
 *
 *   exitsrv_probe [OPTIONS] udp DEST PORT TEXT   one datagram from
 *                 100.100.0.2:40000; prints "reply PAYLOAD"
 *   exitsrv_probe [OPTIONS] tcp DEST PORT TEXT   SYN, SYN-ACK, ACK + TEXT,
 *                 expects TEXT echoed, then FIN both ways; prints
 *                 "reply TEXT" and "flows N" (after the close)
 *   exitsrv_probe [OPTIONS] icmp DEST            an echo request; prints
 *                 "reply PAYLOAD"
 *   exitsrv_probe serve ADDR PORT                UDP and TCP echo server:
 *                 UDP answers "FROM TEXT", TCP echoes; logs "udp FROM:PORT"
 *                 and "tcp FROM:PORT" lines on stdout
 *
 * OPTIONS: --allow-lan, --mtu N (1420), --max-flows N (0), --clients N (udp:
 * N clients 100.100.0.2.. at once, each must get its answer, except those
 * over --max-flows; prints "replies GOT/N refused R").
 * Exit: 0 as expected, 1 no (or a wrong) answer, 3 refused by the exit
 * server, 2 usage. */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/log.h"
#include "proxy/exitsrv.h"
#include "proxy/pollvec.h"

#define MAXQ 256
#define MAXPKT 65535
#define MAX_CLIENTS 200

static struct {
	uint8_t *pkt[MAXQ];
	size_t len[MAXQ];
	unsigned n;
} q;

static struct exitsrv *X;
static uint8_t DEST[4];
static const uint8_t CLIENT0[4] = { 100, 100, 0, 2 };

static void on_out(void *ctx, const uint8_t *pkt, size_t len)
{
	(void)ctx;
	if (q.n >= MAXQ || len > MAXPKT)
		return;
	q.pkt[q.n] = malloc(len);
	if (!q.pkt[q.n])
		return;
	memcpy(q.pkt[q.n], pkt, len);
	q.len[q.n++] = len;
}

static void q_clear(void)
{
	for (unsigned i = 0; i < q.n; i++)
		free(q.pkt[i]);
	q.n = 0;
}

static uint64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* One round of the owner's loop, at most ms long. */
static void loop_once(struct pollvec *pv, int ms)
{
	int timeout = ms, r;

	pollvec_reset(pv);
	exitsrv_poll_prepare(X, pv, &timeout);
	r = poll(pv->fds, pv->n, timeout);
	exitsrv_poll_done(X, pv, r < 0);
}

/* ---------------------------------------------------------------- checksums */

static uint32_t sum_add(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t sum_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

static uint32_t pseudo(const uint8_t *ip, uint8_t proto, size_t l4len)
{
	uint32_t s = sum_add(0, ip + 12, 8);

	return s + proto + (uint32_t)l4len;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

/* An IPv4 header of 20 bytes with its checksum; total = 20 + l4len. */
static void ip4_build(uint8_t *p, const uint8_t src[4], const uint8_t dst[4], uint8_t proto, size_t l4len)
{
	static uint16_t id = 1;

	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)(20 + l4len));
	put16(p + 4, id++);
	put16(p + 6, 0x4000);                           /* DF */
	p[8] = 64;
	p[9] = proto;
	memcpy(p + 12, src, 4);
	memcpy(p + 16, dst, 4);
	put16(p + 10, (uint16_t)~sum_fold(sum_add(0, p, 20)));
}

static void l4_checksum(uint8_t *ip, size_t l4len, uint8_t proto, size_t sum_off)
{
	uint8_t *l4 = ip + 20;
	uint16_t c;

	put16(l4 + sum_off, 0);
	c = (uint16_t)~sum_fold(sum_add(proto == IPPROTO_ICMP ? 0 : pseudo(ip, proto, l4len), l4, l4len));
	if (proto == IPPROTO_UDP && c == 0)
		c = 0xffff;
	put16(l4 + sum_off, c);
}

/* A reply: IPv4 from DEST to client, protocol proto, both checksums right.
 * Returns the transport header and its length, or NULL. */
static const uint8_t *reply_check(const uint8_t *p, size_t len, const uint8_t client[4], uint8_t proto, size_t *l4len,
				  const char **why)
{
	size_t hl, tot;

	*why = NULL;
	if (len < 20 || (p[0] >> 4) != 4) {
		*why = "not IPv4";
		return NULL;
	}
	hl = (size_t)(p[0] & 15) * 4;
	tot = get16(p + 2);
	if (hl < 20 || tot < hl || tot > len) {
		*why = "bad IPv4 lengths";
		return NULL;
	}
	if (sum_fold(sum_add(0, p, hl)) != 0xffff) {
		*why = "bad IPv4 header checksum";
		return NULL;
	}
	if (p[9] != proto || memcmp(p + 12, DEST, 4) || memcmp(p + 16, client, 4)) {
		*why = "another protocol or other addresses";
		return NULL;
	}
	*l4len = tot - hl;
	if (sum_fold(sum_add(proto == IPPROTO_ICMP ? 0 : pseudo(p, proto, *l4len), p + hl, *l4len)) != 0xffff) {
		*why = "bad transport checksum";
		return NULL;
	}
	return p + hl;
}

/* ---------------------------------------------------------------- UDP */

static void udp_send(const uint8_t src[4], uint16_t sport, uint16_t dport, const char *text)
{
	uint8_t pkt[20 + 8 + 1400];
	size_t n = strlen(text), l4 = 8 + n;

	ip4_build(pkt, src, DEST, IPPROTO_UDP, l4);
	put16(pkt + 20, sport);
	put16(pkt + 22, dport);
	put16(pkt + 24, (uint16_t)l4);
	memcpy(pkt + 28, text, n);
	l4_checksum(pkt, l4, IPPROTO_UDP, 6);
	exitsrv_input(X, pkt, 20 + l4);
}

static int mode_udp(uint16_t port, const char *text, unsigned clients)
{
	struct pollvec pv;
	struct exitsrv_stats st;
	bool got[MAX_CLIENTS] = { false };
	bool refused[MAX_CLIENTS] = { false };
	unsigned n_got = 0, n_refused = 0;
	uint64_t end = ms_now() + 5000, resend = 0;
	char payloads[MAX_CLIENTS][256];

	pollvec_init(&pv);
	for (unsigned i = 0; i < clients; i++)
		snprintf(payloads[i], sizeof(payloads[i]), clients > 1 ? "%s-%u" : "%s", text, i);
	while (n_got + n_refused < clients && ms_now() < end) {
		if (ms_now() >= resend) {
			for (unsigned i = 0; i < clients; i++) {
				uint8_t src[4] = { 100, 100, (uint8_t)((2 + i) >> 8), (uint8_t)(2 + i) };

				if (got[i] || refused[i])
					continue;
				exitsrv_get_stats(X, &st);
				uint64_t before = st.refused;
				udp_send(src, 40000, port, payloads[i]);
				exitsrv_get_stats(X, &st);
				if (st.refused != before) {
					refused[i] = true;
					n_refused++;
				}
			}
			resend = ms_now() + 500;
		}
		loop_once(&pv, 100);
		for (unsigned j = 0; j < q.n; j++) {
			const uint8_t *p = q.pkt[j];
			const char *why;
			size_t l4;
			unsigned i;

			if (q.len[j] < 20)
				continue;
			i = (unsigned)(get16(p + 18) - 2);   /* the client's index */
			if (i >= clients) {
				fprintf(stderr, "exitsrv_probe: a packet for an unknown client\n");
				continue;
			}
			uint8_t client[4] = { 100, 100, (uint8_t)((2 + i) >> 8), (uint8_t)(2 + i) };
			const uint8_t *u = reply_check(p, q.len[j], client, IPPROTO_UDP, &l4, &why);

			if (!u) {
				fprintf(stderr, "exitsrv_probe: unexpected packet (%zu bytes): %s\n", q.len[j], why);
				continue;
			}
			if (l4 < 8 || get16(u) != port || get16(u + 2) != 40000 || get16(u + 4) != l4) {
				fprintf(stderr, "exitsrv_probe: a UDP reply with wrong ports or length\n");
				continue;
			}
			if (got[i])
				continue;
			/* the echo server answers "FROM TEXT" */
			if (l4 - 8 < strlen(payloads[i]) ||
			    memcmp(u + l4 - strlen(payloads[i]), payloads[i], strlen(payloads[i]))) {
				fprintf(stderr, "exitsrv_probe: client %u got another payload\n", i);
				continue;
			}
			got[i] = true;
			n_got++;
			if (clients == 1)
				printf("reply %.*s\n", (int)(l4 - 8), (const char *)u + 8);
		}
		q_clear();
	}
	pollvec_release(&pv);
	if (clients > 1) {
		printf("replies %u/%u refused %u\n", n_got, clients, n_refused);
		return n_got + n_refused == clients && n_got > 0 ? 0 : 1;
	}
	if (n_refused)
		return 3;
	if (!n_got) {
		fprintf(stderr, "exitsrv_probe: no UDP reply in 5 s\n");
		return 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- TCP */

enum { F_FIN = 1, F_SYN = 2, F_RST = 4, F_PSH = 8, F_ACK = 16 };

static void tcp_send(uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags, const void *data,
		     size_t n)
{
	uint8_t pkt[20 + 24 + 1400];
	size_t hl = (flags & F_SYN) ? 24 : 20, l4 = hl + n;
	uint8_t *t = pkt + 20;

	ip4_build(pkt, CLIENT0, DEST, IPPROTO_TCP, l4);
	memset(t, 0, hl);
	put16(t, sport);
	put16(t + 2, dport);
	put32(t + 4, seq);
	put32(t + 8, ack);
	t[12] = (uint8_t)((hl / 4) << 4);
	t[13] = flags;
	put16(t + 14, 65535);
	if (flags & F_SYN) {                            /* MSS 1360 */
		t[20] = 2;
		t[21] = 4;
		put16(t + 22, 1360);
	}
	if (n)
		memcpy(t + hl, data, n);
	l4_checksum(pkt, l4, IPPROTO_TCP, 16);
	exitsrv_input(X, pkt, 20 + l4);
}

static int mode_tcp(uint16_t port, const char *text)
{
	enum { SYN_SENT, ESTABLISHED, FIN_SENT, DONE } state = SYN_SENT;
	const uint16_t sport = 40001;
	const uint32_t iss = 1000;
	uint32_t snd_nxt = iss, rcv_nxt = 0;
	size_t n = strlen(text), got = 0;
	char buf[1500];
	bool peer_fin = false, acked_data = false, ack_now;
	struct pollvec pv;
	struct exitsrv_stats st, st0;
	uint64_t end = ms_now() + 8000, resend = 0;
	int rc = 1;

	if (n >= sizeof(buf))
		return 2;
	pollvec_init(&pv);
	exitsrv_get_stats(X, &st0);
	while (state != DONE && ms_now() < end) {
		if (ms_now() >= resend) {
			if (state == SYN_SENT) {
				tcp_send(sport, port, iss, 0, F_SYN, NULL, 0);
				exitsrv_get_stats(X, &st);
				if (st.refused != st0.refused) {
					rc = 3;
					goto out;
				}
				snd_nxt = iss + 1;
			} else if (state == ESTABLISHED && !acked_data) {
				tcp_send(sport, port, iss + 1, rcv_nxt, F_ACK | F_PSH, text, n);
			} else if (state == FIN_SENT) {
				tcp_send(sport, port, iss + 1 + (uint32_t)n, rcv_nxt, F_ACK | F_FIN, NULL, 0);
			}
			resend = ms_now() + 1000;
		}
		loop_once(&pv, 100);
		for (unsigned j = 0; j < q.n; j++) {
			const char *why;
			size_t l4, hl, dl;
			const uint8_t *t = reply_check(q.pkt[j], q.len[j], CLIENT0, IPPROTO_TCP, &l4, &why);
			uint8_t fl;
			uint32_t seq, ack;

			if (!t) {
				fprintf(stderr, "exitsrv_probe: unexpected packet (%zu bytes): %s\n", q.len[j], why);
				continue;
			}
			hl = (size_t)(t[12] >> 4) * 4;
			if (l4 < 20 || hl < 20 || hl > l4 || get16(t) != port || get16(t + 2) != sport) {
				fprintf(stderr, "exitsrv_probe: a TCP segment with wrong ports or lengths\n");
				continue;
			}
			fl = t[13];
			seq = get32(t + 4);
			ack = get32(t + 8);
			dl = l4 - hl;
			if (fl & F_RST) {
				fprintf(stderr, "exitsrv_probe: connection reset\n");
				goto out;
			}
			if (state == SYN_SENT) {
				if ((fl & (F_SYN | F_ACK)) != (F_SYN | F_ACK) || ack != iss + 1)
					continue;
				rcv_nxt = seq + 1;
				state = ESTABLISHED;
				tcp_send(sport, port, snd_nxt, rcv_nxt, F_ACK, NULL, 0);
				tcp_send(sport, port, snd_nxt, rcv_nxt, F_ACK | F_PSH, text, n);
				resend = ms_now() + 1000;
				continue;
			}
			if ((fl & F_ACK) && ack == iss + 1 + n)
				acked_data = true;
			ack_now = false;
			if (dl && seq == rcv_nxt && got + dl <= n) {
				memcpy(buf + got, t + hl, dl);
				got += dl;
				rcv_nxt += (uint32_t)dl;
				ack_now = true;
			}
			if ((fl & F_FIN) && !peer_fin && seq + dl == rcv_nxt) {
				peer_fin = true;
				rcv_nxt++;
				ack_now = true;
			}
			if (ack_now)
				tcp_send(sport, port, iss + 1 + (uint32_t)n + (state == FIN_SENT), rcv_nxt, F_ACK, NULL, 0);
			if (state == ESTABLISHED && got == n && acked_data) {
				buf[got] = 0;
				printf("reply %s\n", buf);
				fflush(stdout);
				state = FIN_SENT;
				tcp_send(sport, port, iss + 1 + (uint32_t)n, rcv_nxt, F_ACK | F_FIN, NULL, 0);
				resend = ms_now() + 1000;
			}
			if (state == FIN_SENT && peer_fin && (fl & F_ACK) && ack == iss + 2 + n)
				state = DONE;
		}
		q_clear();
	}
	if (state != DONE) {
		fprintf(stderr, "exitsrv_probe: TCP exchange incomplete (state %d, %zu of %zu bytes back, peer FIN %s)\n",
			(int)state, got, n, peer_fin ? "yes" : "no");
		goto out;
	}
	/* a few more rounds for the last segments */
	for (int i = 0; i < 5; i++)
		loop_once(&pv, 20);
	q_clear();
	exitsrv_get_stats(X, &st);
	printf("flows %u\n", st.flows);
	rc = 0;
out:
	q_clear();
	pollvec_release(&pv);
	return rc;
}

/* ---------------------------------------------------------------- ICMP */

static int mode_icmp(void)
{
	static const char payload[] = "nexodus-echo";
	uint8_t pkt[20 + 8 + sizeof(payload)];
	size_t l4 = 8 + sizeof(payload) - 1;
	struct pollvec pv;
	struct exitsrv_stats st0, st;
	uint64_t end = ms_now() + 5000, resend = 0;
	int rc = 1;

	pollvec_init(&pv);
	while (ms_now() < end && rc == 1) {
		if (ms_now() >= resend) {
			ip4_build(pkt, CLIENT0, DEST, IPPROTO_ICMP, l4);
			memset(pkt + 20, 0, 8);
			pkt[20] = 8;
			put16(pkt + 24, 0x4e58);
			put16(pkt + 26, 1);
			memcpy(pkt + 28, payload, sizeof(payload) - 1);
			l4_checksum(pkt, l4, IPPROTO_ICMP, 2);
			exitsrv_get_stats(X, &st0);
			exitsrv_input(X, pkt, 20 + l4);
			exitsrv_get_stats(X, &st);
			if (st.refused != st0.refused) {
				rc = 3;
				break;
			}
			resend = ms_now() + 1000;
		}
		loop_once(&pv, 100);
		for (unsigned j = 0; j < q.n && rc == 1; j++) {
			const char *why;
			size_t n;
			const uint8_t *c = reply_check(q.pkt[j], q.len[j], CLIENT0, IPPROTO_ICMP, &n, &why);

			if (!c) {
				fprintf(stderr, "exitsrv_probe: unexpected packet (%zu bytes): %s\n", q.len[j], why);
				continue;
			}
			if (n < 8 || c[0] != 0 || get16(c + 4) != 0x4e58 || get16(c + 6) != 1) {
				fprintf(stderr, "exitsrv_probe: ICMP type %u, not our echo reply\n", n ? c[0] : 0);
				continue;
			}
			printf("reply %.*s\n", (int)(n - 8), (const char *)c + 8);
			rc = 0;
		}
		q_clear();
	}
	if (rc == 1)
		fprintf(stderr, "exitsrv_probe: no echo reply in 5 s\n");
	exitsrv_get_stats(X, &st);
	pollvec_release(&pv);
	return rc;
}

/* ---------------------------------------------------------------- the echo server */

static int serve(const char *ip, const char *port)
{
	char ep[ADDR_ENDPOINT_STRLEN + 8], from[ADDR_ENDPOINT_STRLEN];
	union sockaddr_any at;
	int u, l, one = 1;
	int conns[8];

	snprintf(ep, sizeof(ep), "%s:%s", ip, port);
	if (addr_endpoint_parse(ep, &at) < 0) {
		fprintf(stderr, "exitsrv_probe: bad endpoint '%s'\n", ep);
		return 2;
	}
	u = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (u < 0 || l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(u, &at.sa, addr_len(&at)) < 0 || bind(l, &at.sa, addr_len(&at)) < 0 || listen(l, 8) < 0) {
		perror("exitsrv_probe: serve");
		return 1;
	}
	for (int i = 0; i < 8; i++)
		conns[i] = -1;
	printf("serving %s\n", ep);
	fflush(stdout);
	for (;;) {
		struct pollfd p[10];
		char buf[2048], out[2200];

		p[0] = (struct pollfd){ .fd = u, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = l, .events = POLLIN };
		for (int i = 0; i < 8; i++)
			p[2 + i] = (struct pollfd){ .fd = conns[i], .events = POLLIN };
		if (poll(p, 10, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (p[0].revents & POLLIN) {
			union sockaddr_any f;
			socklen_t fl = sizeof(f);
			ssize_t n = recvfrom(u, buf, sizeof(buf) - 1, 0, &f.sa, &fl);

			if (n >= 0) {
				char a[INET_ADDRSTRLEN] = "?";
				int m;

				buf[n] = 0;
				addr_endpoint_format(&f, from);
				inet_ntop(AF_INET, &f.in4.sin_addr, a, sizeof(a));
				printf("udp %s\n", from);
				fflush(stdout);
				m = snprintf(out, sizeof(out), "%s %s", a, buf);
				(void)sendto(u, out, (size_t)m, 0, &f.sa, fl);
			}
		}
		if (p[1].revents & POLLIN) {
			union sockaddr_any f;
			socklen_t fl = sizeof(f);
			int c = accept4(l, &f.sa, &fl, SOCK_CLOEXEC);

			if (c >= 0) {
				int slot = -1;

				addr_endpoint_format(&f, from);
				printf("tcp %s\n", from);
				fflush(stdout);
				for (int i = 0; i < 8 && slot < 0; i++)
					if (conns[i] < 0)
						slot = i;
				if (slot < 0)
					close(c);
				else
					conns[slot] = c;
			}
		}
		for (int i = 0; i < 8; i++) {
			ssize_t n;

			if (conns[i] < 0 || !(p[2 + i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(conns[i], buf, sizeof(buf));
			if (n <= 0 || write(conns[i], buf, (size_t)n) != n) {
				close(conns[i]);
				conns[i] = -1;
			}
		}
	}
}

/* ---------------------------------------------------------------- main */

static int usage(void)
{
	fprintf(stderr, "usage: exitsrv_probe [--allow-lan] [--mtu N] [--max-flows N] [--clients N] udp DEST PORT TEXT\n"
			"       exitsrv_probe [--allow-lan] [--mtu N] tcp DEST PORT TEXT\n"
			"       exitsrv_probe [--allow-lan] icmp DEST\n"
			"       exitsrv_probe serve ADDR PORT\n");
	return 2;
}

static int num(const char *s, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max) {
		fprintf(stderr, "exitsrv_probe: bad number '%s'\n", s);
		return -1;
	}
	*out = v;
	return 0;
}

int main(int argc, char **argv)
{
	struct exitsrv_config c;
	char err[256];
	unsigned long mtu = 1420, max_flows = 0, clients = 1, port = 0;
	bool allow_lan = false;
	int i = 1, rc, fam;
	uint8_t a16[16];

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	log_init("exitsrv_probe", LOG_LEVEL_INFO);
	if (argc == 4 && !strcmp(argv[1], "serve"))
		return serve(argv[2], argv[3]);
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--allow-lan"))
			allow_lan = true;
		else if (!strcmp(argv[i], "--mtu") && i + 1 < argc)
			rc = num(argv[++i], 65535, &mtu);
		else if (!strcmp(argv[i], "--max-flows") && i + 1 < argc)
			rc = num(argv[++i], 1000000, &max_flows);
		else if (!strcmp(argv[i], "--clients") && i + 1 < argc)
			rc = num(argv[++i], MAX_CLIENTS, &clients);
		else
			return usage();
		if (rc < 0)
			return 2;
		rc = 0;
	}
	if (i + 2 > argc || clients == 0)
		return usage();
	if (addr_ip_parse(argv[i + 1], &fam, a16) < 0 || fam != AF_INET) {
		fprintf(stderr, "exitsrv_probe: bad IPv4 address '%s'\n", argv[i + 1]);
		return 2;
	}
	memcpy(DEST, a16, 4);
	if (strcmp(argv[i], "icmp")) {
		if (i + 4 != argc || num(argv[i + 2], 65535, &port) < 0 || port == 0)
			return usage();
	} else if (i + 2 != argc) {
		return usage();
	}

	memset(&c, 0, sizeof(c));
	if (cidr_parse("100.100.0.1/32", &c.self4) < 0 || cidr_parse("100.100.0.0/16", &c.mesh4) < 0)
		return 1;
	c.allow_lan = allow_lan;
	c.mtu = (unsigned)mtu;
	c.max_flows = (unsigned)max_flows;
	c.out = on_out;
	if (exitsrv_new(&X, &c, err, sizeof(err)) < 0) {
		fprintf(stderr, "exitsrv_probe: %s\n", err);
		return 1;
	}
	if (!strcmp(argv[i], "udp"))
		rc = mode_udp((uint16_t)port, argv[i + 3], (unsigned)clients);
	else if (!strcmp(argv[i], "tcp"))
		rc = mode_tcp((uint16_t)port, argv[i + 3]);
	else if (!strcmp(argv[i], "icmp"))
		rc = mode_icmp();
	else
		rc = usage();
	{
		struct exitsrv_stats st;

		exitsrv_get_stats(X, &st);
		fprintf(stderr, "exitsrv_probe: in %llu out %llu refused %llu flows %u\n",
			(unsigned long long)st.in_packets, (unsigned long long)st.out_packets,
			(unsigned long long)st.refused, st.flows);
	}
	exitsrv_free(X);
	q_clear();
	return rc;
}
