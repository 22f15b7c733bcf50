/* turnprobe: src/nexd/turn.c against a real TURN server (coturn).
 *
 *   turnprobe --server IP:PORT [--tcp] --user U --password P [--peer-test]
 *
 * Without --peer-test: one allocation, a Refresh, then its deletion
 * (Refresh with lifetime 0). With --peer-test: two allocations from two
 * sockets (two TCP connections with --tcp; the relayed transport is UDP
 * either way), CreatePermission and ChannelBind of each to the other's
 * relayed address, ChannelData both ways (it must arrive unchanged), a
 * Refresh of each, then both deleted. A 401 is answered by asking again
 * with the realm and nonce it gave, a 438 (stale nonce) once per request
 * with the new nonce. One line per step on stdout; exit 0 only when every
 * step worked, else the failing step and the server's error (as
 * turn_error_text says it) on stderr and exit 1 (2: a bad command line).
 * --pause MS waits that long before each request after the first Allocate
 * (to let a server's nonce go stale: 438). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "common/addr.h"
#include "common/log.h"
#include "nexd/stun.h"
#include "nexd/turn.h"

#define UDP_TRIES 4               /* RTO 500 ms, doubling: 7.5 s in all */
#define TCP_TIMEOUT_MS 5000
#define DATA_TRIES 3
#define DATA_WAIT_MS 1000
#define DATA_LEN 173              /* not a multiple of 4: the padding on TCP */
#define FRAME_MAX (TURN_MESSAGE_MAX + 8)

static const char *prog = "turnprobe";
static unsigned pause_ms;         /* --pause */

struct conn {
	const char *name;             /* "A", "B" */
	int fd;
	bool tcp;
	union sockaddr_any server;
	uint8_t stream[2 * FRAME_MAX];
	size_t slen;
	const char *user, *password;
	bool authed;
	char realm[TURN_REALM_MAX + 1];
	char nonce[TURN_NONCE_MAX + 1];
	uint8_t key[TURN_KEY_LEN];
	bool allocated;
	union sockaddr_any relayed, mapped;
	uint16_t channel;
};

enum req_kind { REQ_ALLOCATE, REQ_REFRESH, REQ_PERMISSION, REQ_BIND };

struct req {
	enum req_kind kind;
	uint32_t lifetime;
	const union sockaddr_any *peer;
	uint16_t channel;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: %s --server IP:PORT [--tcp] --user USER --password PASSWORD [--peer-test] [--pause MS]\n",
		prog);
}

static __attribute__((noreturn)) void bad(const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s '%s'\n", prog, what, arg ? arg : "(missing)");
	usage(stderr);
	exit(2);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *ep(const union sockaddr_any *a)
{
	static char s[4][ADDR_ENDPOINT_STRLEN];
	static int i;

	i = (i + 1) % 4;
	addr_endpoint_format(a, s[i]);
	return s[i];
}

/* A sentence for what a step returned: an error response, or -errno. */
static void failure_text(int err, const struct turn_response *r, char *out, size_t len)
{
	switch (err) {
	case 0:
		turn_error_text(r, out, len);
		return;
	case -ETIMEDOUT:
		snprintf(out, len, "no answer from the TURN server");
		return;
	case -EACCES:
		snprintf(out, len, "a success answer without a valid MESSAGE-INTEGRITY");
		return;
	case -EBADMSG:
		snprintf(out, len, "malformed answer from the TURN server");
		return;
	case -EPROTO:
		snprintf(out, len, "an answer with an unknown comprehension-required attribute");
		return;
	}
	snprintf(out, len, "%s", strerror(-err));
}

/* ------------------------------------------------------------ transport */

static int conn_open(struct conn *c)
{
	int fd = socket(c->server.sa.sa_family, (c->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	struct pollfd p;
	int err = 0;
	socklen_t elen = sizeof(err);

	if (fd < 0)
		return -errno;
	if (connect(fd, &c->server.sa, addr_len(&c->server)) < 0) {
		if (errno != EINPROGRESS) {
			err = -errno;
			goto err_close;
		}
		p = (struct pollfd){ .fd = fd, .events = POLLOUT };
		if (poll(&p, 1, TCP_TIMEOUT_MS) <= 0) {
			err = -ETIMEDOUT;
			goto err_close;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err) {
			err = err ? -err : -errno;
			goto err_close;
		}
	}
	c->fd = fd;
	return 0;
err_close:
	close(fd);
	return err;
}

static int send_all(struct conn *c, const uint8_t *buf, size_t len)
{
	size_t off = 0;

	while (off < len) {
		ssize_t n = send(c->fd, buf + off, len - off, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = c->fd, .events = POLLOUT };

			if (poll(&p, 1, TCP_TIMEOUT_MS) <= 0)
				return -ETIMEDOUT;
			continue;
		}
		if (n < 0)
			return -errno;
		if (!c->tcp)
			return (size_t)n == len ? 0 : -EMSGSIZE;
		off += (size_t)n;
	}
	return 0;
}

/* One frame (a datagram, or one STUN message or ChannelData of the
 * stream) into out: its length, 0 when the deadline passed, or -errno. */
static ssize_t read_frame(struct conn *c, uint8_t *out, size_t cap, int64_t deadline)
{
	for (;;) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		int64_t wait;
		ssize_t n;

		if (c->tcp) {
			ssize_t f = turn_stream_frame_len(c->stream, c->slen);

			if (f < 0)
				return -EBADMSG;   /* garbage on the stream: nothing after it can be trusted */
			if (f > 0 && (size_t)f <= c->slen) {
				if ((size_t)f > cap)
					return -EMSGSIZE;
				memcpy(out, c->stream, (size_t)f);
				memmove(c->stream, c->stream + f, c->slen - (size_t)f);
				c->slen -= (size_t)f;
				return f;
			}
		}
		wait = deadline - now_ms();
		if (wait <= 0)
			return 0;
		n = poll(&p, 1, (int)wait);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0;
		if (c->tcp) {
			n = recv(c->fd, c->stream + c->slen, sizeof(c->stream) - c->slen, 0);
			if (n == 0)
				return -ECONNRESET;
		} else {
			n = recv(c->fd, out, cap, MSG_TRUNC);
			if (n > (ssize_t)cap)
				continue;   /* too large for anything we expect */
		}
		if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK))
			continue;
		if (n < 0)
			return -errno;
		if (!c->tcp)
			return n;
		c->slen += (size_t)n;
	}
}

/* ---------------------------------------------------------- transactions */

static int build_req(struct conn *c, const struct req *rq, uint8_t *buf, size_t cap, struct stun_txid *txid)
{
	struct turn_auth a = { .username = c->user };
	int n = -EINVAL;

	if (c->authed) {
		a.realm = c->realm;
		a.nonce = c->nonce;
		memcpy(a.key, c->key, sizeof(a.key));
	}
	switch (rq->kind) {
	case REQ_ALLOCATE:
		n = turn_build_allocate(buf, cap, txid, &a, rq->lifetime);
		break;
	case REQ_REFRESH:
		n = turn_build_refresh(buf, cap, txid, &a, rq->lifetime);
		break;
	case REQ_PERMISSION:
		n = turn_build_create_permission(buf, cap, txid, &a, rq->peer, 1);
		break;
	case REQ_BIND:
		n = turn_build_channel_bind(buf, cap, txid, &a, rq->channel, rq->peer);
		break;
	}
	sodium_memzero(a.key, sizeof(a.key));
	return n;
}

/* One request and its answer: retransmitted over UDP (RFC 8489 timing),
 * sent once over TCP. Other frames, answers to other transactions and
 * bad answers are skipped; 0 with *resp, or -ETIMEDOUT (or the last bad
 * answer's error). */
static int exchange(struct conn *c, const struct req *rq, struct turn_response *resp)
{
	uint8_t req[TURN_MESSAGE_MAX], buf[FRAME_MAX];
	struct stun_txid txid;
	int rto = STUN_RTO_MS, last_bad = 0;
	int n = build_req(c, rq, req, sizeof(req), &txid);

	if (n < 0)
		return n;
	for (int t = 0; t < (c->tcp ? 1 : UDP_TRIES); t++, rto *= 2) {
		int64_t deadline = now_ms() + (c->tcp ? TCP_TIMEOUT_MS : rto);
		int err = send_all(c, req, (size_t)n);

		if (err < 0)
			return err;
		for (;;) {
			ssize_t f = read_frame(c, buf, sizeof(buf), deadline);

			if (f < 0)
				return (int)f;
			if (f == 0)
				break;
			if (!stun_is_message(buf, (size_t)f))
				continue;
			err = turn_parse_response(buf, (size_t)f, &txid, c->authed ? c->key : NULL, resp);
			if (err == 0)
				return 0;
			if (err != -ESRCH)
				last_bad = err;
		}
	}
	return last_bad ? last_bad : -ETIMEDOUT;
}

/* A request to its end: a 401 with a nonce makes us authenticate (once),
 * a 438 gives a new nonce (once). 0 with *resp (success or error), or
 * -errno. */
static int transact(struct conn *c, const struct req *rq, struct turn_response *resp)
{
	bool did_401 = false, did_438 = false;

	for (;;) {
		int err = exchange(c, rq, resp);

		if (err < 0 || resp->success)
			return err;
		if (resp->error_code == 401 && !c->authed && !did_401 && resp->nonce[0]) {
			snprintf(c->realm, sizeof(c->realm), "%s", resp->realm);
			snprintf(c->nonce, sizeof(c->nonce), "%s", resp->nonce);
			err = turn_key(c->user, c->realm, c->password, c->key);
			if (err < 0)
				return err;
			c->authed = true;
			did_401 = true;
			printf("auth %s: 401, realm \"%s\": asking again with credentials\n", c->name, c->realm);
			continue;
		}
		if (resp->error_code == 438 && c->authed && !did_438 && resp->nonce[0]) {
			snprintf(c->nonce, sizeof(c->nonce), "%s", resp->nonce);
			if (resp->realm[0] && strcmp(resp->realm, c->realm) != 0) {
				snprintf(c->realm, sizeof(c->realm), "%s", resp->realm);
				err = turn_key(c->user, c->realm, c->password, c->key);
				if (err < 0)
					return err;
			}
			did_438 = true;
			printf("auth %s: 438 Stale Nonce: asking again with the new nonce\n", c->name);
			continue;
		}
		return 0;
	}
}

/* A step that must succeed: prints the failure and returns -1 otherwise. */
static int step(struct conn *c, const char *what, const struct req *rq, struct turn_response *resp)
{
	char text[256];
	int err;

	if (pause_ms && c->allocated) {
		struct timespec ts = { pause_ms / 1000, (long)(pause_ms % 1000) * 1000000 };

		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
	}
	err = transact(c, rq, resp);

	if (err == 0 && resp->success)
		return 0;
	failure_text(err, resp, text, sizeof(text));
	fflush(stdout);
	fprintf(stderr, "%s: %s %s: %s\n", prog, what, c->name, text);
	return -1;
}

static int allocate(struct conn *c)
{
	struct req rq = { .kind = REQ_ALLOCATE, .lifetime = TURN_DEFAULT_LIFETIME };
	struct turn_response r;

	if (step(c, "allocate", &rq, &r) < 0)
		return -1;
	if (!r.has_relayed) {
		fprintf(stderr, "%s: allocate %s: no XOR-RELAYED-ADDRESS in the answer\n", prog, c->name);
		return -1;
	}
	c->allocated = true;
	c->relayed = r.relayed;
	addr_unmap(&c->relayed);
	c->mapped = r.mapped;
	printf("allocate %s: relayed %s mapped %s lifetime %u\n", c->name, ep(&c->relayed),
	       r.has_mapped ? ep(&c->mapped) : "-", r.lifetime);
	return 0;
}

static int refresh(struct conn *c, uint32_t lifetime)
{
	struct req rq = { .kind = REQ_REFRESH, .lifetime = lifetime };
	struct turn_response r;

	if (step(c, lifetime ? "refresh" : "delete", &rq, &r) < 0)
		return -1;
	if (lifetime == 0) {
		c->allocated = false;
		printf("delete %s: ok\n", c->name);
	} else {
		printf("refresh %s: lifetime %u\n", c->name, r.lifetime);
	}
	return 0;
}

static int permission(struct conn *c, const struct conn *peer)
{
	struct req rq = { .kind = REQ_PERMISSION, .peer = &peer->relayed };
	struct turn_response r;

	if (step(c, "permission", &rq, &r) < 0)
		return -1;
	printf("permission %s: for %s (%s's relayed address)\n", c->name, ep(&peer->relayed), peer->name);
	return 0;
}

static int bind_channel(struct conn *c, const struct conn *peer)
{
	struct req rq = { .kind = REQ_BIND, .peer = &peer->relayed, .channel = c->channel };
	struct turn_response r;

	if (step(c, "channel", &rq, &r) < 0)
		return -1;
	printf("channel %s: 0x%04x to %s (%s's relayed address)\n", c->name, c->channel, ep(&peer->relayed),
	       peer->name);
	return 0;
}

/* ChannelData from `from` on its channel must arrive at `to` unchanged,
 * on to's channel for from (or, should the server prefer, as a Data
 * indication from from's relayed address). */
static int data(struct conn *from, struct conn *to)
{
	uint8_t payload[DATA_LEN], pkt[TURN_CHANNEL_HEADER + DATA_LEN + 3], buf[FRAME_MAX];
	size_t len = TURN_CHANNEL_HEADER + DATA_LEN;

	randombytes_buf(payload, sizeof(payload));
	turn_channeldata_header(pkt, from->channel, DATA_LEN);
	memcpy(pkt + TURN_CHANNEL_HEADER, payload, DATA_LEN);
	if (from->tcp)
		while (len % 4)
			pkt[len++] = 0;
	for (int t = 0; t < DATA_TRIES; t++) {
		int64_t deadline = now_ms() + DATA_WAIT_MS;
		int err = send_all(from, pkt, len);

		if (err < 0) {
			fprintf(stderr, "%s: data %s -> %s: sending: %s\n", prog, from->name, to->name, strerror(-err));
			return -1;
		}
		for (;;) {
			ssize_t f = read_frame(to, buf, sizeof(buf), deadline);
			union sockaddr_any peer;
			const uint8_t *d;
			size_t dlen;
			uint16_t ch = 0;
			const char *how;

			if (f < 0) {
				fprintf(stderr, "%s: data %s -> %s: %s\n", prog, from->name, to->name, strerror((int)-f));
				return -1;
			}
			if (f == 0)
				break;
			if (turn_is_channeldata(buf, (size_t)f)) {
				if (turn_channeldata_parse(buf, (size_t)f, &ch, &d, &dlen) < 0 || ch != to->channel)
					continue;
				how = "ChannelData";
			} else if (turn_parse_data_indication(buf, (size_t)f, &peer, &d, &dlen) == 0) {
				addr_unmap(&peer);
				if (!addr_endpoint_equal(&peer, &from->relayed))
					continue;
				how = "Data indication";
			} else {
				continue;
			}
			if (dlen != DATA_LEN || memcmp(d, payload, DATA_LEN) != 0) {
				fprintf(stderr, "%s: data %s -> %s: %zu bytes arrived changed\n", prog, from->name,
					to->name, dlen);
				return -1;
			}
			printf("data %s -> %s: %d bytes unchanged (%s, channel 0x%04x)\n", from->name, to->name,
			       DATA_LEN, how, how[0] == 'C' ? ch : 0);
			return 0;
		}
	}
	fprintf(stderr, "%s: data %s -> %s: nothing arrived\n", prog, from->name, to->name);
	return -1;
}

/* Best effort, quiet: what a failed run leaves is deleted. */
static void cleanup(struct conn *c)
{
	if (c->fd >= 0 && c->allocated) {
		struct req rq = { .kind = REQ_REFRESH, .lifetime = 0 };
		struct turn_response r;

		if (transact(c, &rq, &r) == 0 && r.success)
			printf("delete %s: ok (cleanup)\n", c->name);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	sodium_memzero(c->key, sizeof(c->key));
}

static int run(struct conn *a, struct conn *b, bool peer_test)
{
	int err;

	err = conn_open(a);
	if (err == 0 && peer_test)
		err = conn_open(b);
	if (err < 0) {
		fprintf(stderr, "%s: connecting to %s: %s\n", prog, ep(&a->server), strerror(-err));
		return -1;
	}
	if (allocate(a) < 0)
		return -1;
	if (!peer_test)
		return refresh(a, TURN_DEFAULT_LIFETIME) < 0 || refresh(a, 0) < 0 ? -1 : 0;
	if (allocate(b) < 0 || permission(a, b) < 0 || permission(b, a) < 0 || bind_channel(a, b) < 0 ||
	    bind_channel(b, a) < 0 || data(a, b) < 0 || data(b, a) < 0 || refresh(a, TURN_DEFAULT_LIFETIME) < 0 ||
	    refresh(b, TURN_DEFAULT_LIFETIME) < 0 || refresh(a, 0) < 0 || refresh(b, 0) < 0)
		return -1;
	return 0;
}

int main(int argc, char **argv)
{
	static struct conn a = { .name = "A", .fd = -1, .channel = TURN_CHANNEL_MIN };
	static struct conn b = { .name = "B", .fd = -1, .channel = TURN_CHANNEL_MIN + 1 };
	const char *server = NULL, *user = NULL, *password = NULL;
	bool tcp = false, peer_test = false;
	int ret;

	log_init(prog, LOG_LEVEL_WARN);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *next = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(argv[i], "--server") == 0) {
			server = next;
			i++;
		} else if (strcmp(argv[i], "--user") == 0) {
			user = next;
			i++;
		} else if (strcmp(argv[i], "--password") == 0) {
			password = next;
			i++;
		} else if (strcmp(argv[i], "--tcp") == 0) {
			tcp = true;
		} else if (strcmp(argv[i], "--peer-test") == 0) {
			peer_test = true;
		} else if (strcmp(argv[i], "--pause") == 0) {
			char *end;
			unsigned long v;

			if (!next)
				bad("bad --pause", next);
			errno = 0;
			v = strtoul(next, &end, 10);
			if (errno || *end || end == next || v > 60000)
				bad("bad --pause (0..60000 ms)", next);
			pause_ms = (unsigned)v;
			i++;
		} else {
			bad("unknown argument", argv[i]);
		}
	}
	if (!server || addr_endpoint_parse(server, &a.server) < 0)
		bad("bad --server (IP:PORT)", server);
	if (!user || !*user || strlen(user) > TURN_USERNAME_MAX)
		bad("bad --user", user);
	if (!password || strlen(password) > TURN_PASSWORD_MAX)
		bad("bad --password", password ? "..." : NULL);
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium failed to start\n", prog);
		return 1;
	}
	b.server = a.server;
	a.tcp = b.tcp = tcp;
	a.user = b.user = user;
	a.password = b.password = password;

	ret = run(&a, &b, peer_test);
	cleanup(&b);
	cleanup(&a);
	if (ret == 0)
		printf("all steps passed\n");
	return ret == 0 ? 0 : 1;
}
