/* delaylink: a link with added latency, relayed in userspace (this kernel
 * has no netem).
 *
 *   delaylink [--delay-ms N] [--limit-pkts N] IFA IFB
 *
 * Creates two TUN interfaces (IFF_TUN | IFF_NO_PI, left down, MTU 1500) named
 * IFA and IFB in the current namespace, prints "ready" on stdout once both
 * exist, then forwards every packet read from IFA to IFB and from IFB to IFA,
 * each held N ms (--delay-ms, default 50, 0..60000) in a FIFO per direction
 * of at most --limit-pkts packets (default 4096, 1..65536) and 64 MiB; a
 * packet that does not fit is dropped and counted. The caller may move
 * either interface into another namespace after "ready" (`ip link set IFB
 * netns NS`): the fd stays here and keeps working. The caller configures
 * addresses, MTU, and sets the interfaces up.
 *
 * SIGTERM or SIGINT: one line per direction on stderr,
 *   "IFA->IFB forwarded N dropped N errors N" (errors: writes that failed,
 *   e.g. while the interface was down), then exit 0; the interfaces vanish
 *   with the process. Exit 1 if an interface is deleted under us (its
 *   namespace removed), 2 on bad usage.
 *
 * Example (R routes for B, every packet of B's takes +50 ms each way):
 *   ip netns exec R delaylink --delay-ms 50 dlA dlB &   # wait for "ready"
 *   ip -n R link set dlB netns B
 *   ip -n R addr add 192.0.2.65/30 dev dlA; ip -n R link set dlA up
 *   ip -n B addr add 192.0.2.66/30 dev dlB; ip -n B link set dlB up
 *   ip -n B route add default dev dlB */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"

enum {
	DELAY_MS_DEFAULT = 50,
	DELAY_MS_MAX = 60000,
	LIMIT_PKTS_DEFAULT = 4096,
	LIMIT_PKTS_MAX = 65536,
	QUEUE_BYTES_MAX = 64 << 20, /* per direction */
	PKT_MAX = 65535,            /* the largest IP packet a TUN hands us */
	READ_BATCH = 64,            /* packets read per fd per wakeup */
};

static const char *prog = "delaylink";

/* A packet held until due_ns. */
struct held_pkt {
	uint64_t due_ns;
	uint8_t *data;
	size_t len;
};

/* One direction: packets read from `from` wait here, then go to `to`.
 * A ring of `cap` slots; the delay is constant, so the head is always the
 * next one due. */
struct direction {
	char name[2 * IFNAMSIZ + 4];
	int from_fd, to_fd;
	struct held_pkt *ring;
	uint32_t cap, head, count;
	size_t bytes;
	uint64_t forwarded, dropped, errors;
	struct log_ratelimit rl;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: %s [--delay-ms N] [--limit-pkts N] IFA IFB\n", prog);
}

static __attribute__((noreturn)) void bad(const char *what, const char *arg)
{
	fprintf(stderr, "%s: %s '%s'\n", prog, what, arg ? arg : "(missing)");
	usage(stderr);
	exit(2);
}

static unsigned long parse_num(const char *what, const char *s, unsigned long min, unsigned long max)
{
	unsigned long v;
	char *end;

	if (!s || !*s || *s == '-' || *s == '+')
		bad(what, s);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		bad(what, s);
	return v;
}

/* A TUN interface named `name`; its fd (non-blocking) or -errno. */
static int tun_open(const char *name)
{
	struct ifreq ifr;
	int fd, err;

	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	memcpy(ifr.ifr_name, name, strlen(name)); /* length checked by the caller */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	/* The kernel may rename on a '%d' pattern: refuse, the caller asked for
	 * an exact name. */
	if (strncmp(ifr.ifr_name, name, IFNAMSIZ)) {
		close(fd);
		return -EEXIST;
	}
	return fd;
}

static int direction_init(struct direction *d, const char *from, const char *to, int from_fd,
			  int to_fd, uint32_t cap)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->name, sizeof(d->name), "%s->%s", from, to);
	d->from_fd = from_fd;
	d->to_fd = to_fd;
	d->cap = cap;
	d->ring = calloc(cap, sizeof(*d->ring));
	if (!d->ring)
		return -ENOMEM;
	d->rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1, 5);
	return 0;
}

static void direction_free(struct direction *d)
{
	while (d->count) {
		free(d->ring[d->head].data);
		d->head = (d->head + 1) % d->cap;
		d->count--;
	}
	free(d->ring);
	d->ring = NULL;
}

/* Holds a copy of buf[0..len) until now + delay; drops it when full. */
static void direction_push(struct direction *d, const uint8_t *buf, size_t len, uint64_t due_ns)
{
	struct held_pkt *p;

	if (d->count == d->cap || d->bytes + len > QUEUE_BYTES_MAX) {
		d->dropped++;
		return;
	}
	p = &d->ring[(d->head + d->count) % d->cap];
	p->data = malloc(len);
	if (!p->data) {
		d->dropped++;
		return;
	}
	memcpy(p->data, buf, len);
	p->len = len;
	p->due_ns = due_ns;
	d->bytes += len;
	d->count++;
}

/* Writes out every packet due by now. */
static void direction_flush(struct direction *d, uint64_t now)
{
	while (d->count && d->ring[d->head].due_ns <= now) {
		struct held_pkt *p = &d->ring[d->head];
		ssize_t w = write(d->to_fd, p->data, p->len);

		if (w == (ssize_t)p->len) {
			d->forwarded++;
		} else {
			d->errors++;
			if (log_ratelimit_ok(&d->rl))
				log_warn("%s: write of %zu bytes: %s", d->name, p->len,
					 w < 0 ? strerror(errno) : "short write");
		}
		d->bytes -= p->len;
		free(p->data);
		p->data = NULL;
		d->head = (d->head + 1) % d->cap;
		d->count--;
	}
}

/* Reads up to READ_BATCH packets from d->from_fd. 0, or -errno when the
 * interface is gone. */
static int direction_read(struct direction *d, uint64_t delay_ns)
{
	static uint8_t buf[PKT_MAX];

	for (int i = 0; i < READ_BATCH; i++) {
		ssize_t r = read(d->from_fd, buf, sizeof(buf));

		if (r < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		if (r == 0)
			continue;
		direction_push(d, buf, (size_t)r, time_now_ns() + delay_ns);
	}
	return 0;
}

/* The earliest due time over both directions, or UINT64_MAX. */
static uint64_t next_due(const struct direction *dirs, int n)
{
	uint64_t due = UINT64_MAX;

	for (int i = 0; i < n; i++)
		if (dirs[i].count && dirs[i].ring[dirs[i].head].due_ns < due)
			due = dirs[i].ring[dirs[i].head].due_ns;
	return due;
}

/* The loop: flush what is due, wait for input or the next due time, read.
 * Signals are blocked except inside ppoll, so a SIGTERM is never lost. */
static int relay(struct direction *dirs, uint64_t delay_ns, const sigset_t *waitmask)
{
	while (!stop) {
		struct pollfd pfd[2] = {
			{ .fd = dirs[0].from_fd, .events = POLLIN },
			{ .fd = dirs[1].from_fd, .events = POLLIN },
		};
		struct timespec ts, *tsp = NULL;
		uint64_t now = time_now_ns(), due;
		int r;

		direction_flush(&dirs[0], now);
		direction_flush(&dirs[1], now);
		due = next_due(dirs, 2);
		if (due != UINT64_MAX) {
			uint64_t wait = due > now ? due - now : 0;

			ts.tv_sec = (time_t)(wait / NSEC_PER_SEC);
			ts.tv_nsec = (long)(wait % NSEC_PER_SEC);
			tsp = &ts;
		}
		r = ppoll(pfd, 2, tsp, waitmask);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			log_error("poll: %s", strerror(errno));
			return -errno;
		}
		for (int i = 0; i < 2; i++) {
			if (!pfd[i].revents)
				continue;
			r = direction_read(&dirs[i], delay_ns);
			if (!r && (pfd[i].revents & (POLLERR | POLLHUP | POLLNVAL)))
				r = -EBADFD;
			if (r) {
				log_error("%s: interface gone: %s", dirs[i].name, strerror(-r));
				return r;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long delay_ms = DELAY_MS_DEFAULT, limit = LIMIT_PKTS_DEFAULT;
	struct sigaction sa = { .sa_handler = on_signal };
	struct direction dirs[2];
	sigset_t block, waitmask;
	const char *ifa, *ifb;
	int fda, fdb, i, rc = 1, err;

	log_init(prog, LOG_LEVEL_INFO);
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--delay-ms") && i + 1 < argc)
			delay_ms = parse_num("bad --delay-ms", argv[++i], 0, DELAY_MS_MAX);
		else if (!strcmp(argv[i], "--limit-pkts") && i + 1 < argc)
			limit = parse_num("bad --limit-pkts", argv[++i], 1, LIMIT_PKTS_MAX);
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return 0;
		} else
			bad("unknown option", argv[i]);
	}
	if (argc - i != 2)
		bad("need two interface names", argc - i > 2 ? argv[i + 2] : NULL);
	ifa = argv[i];
	ifb = argv[i + 1];
	if (!*ifa || strlen(ifa) >= IFNAMSIZ)
		bad("bad interface name", ifa);
	if (!*ifb || strlen(ifb) >= IFNAMSIZ || !strcmp(ifa, ifb))
		bad("bad interface name", ifb);

	/* Signals wait until ppoll; a SIGTERM before that ends the loop at once. */
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	fda = tun_open(ifa);
	if (fda < 0) {
		log_error("TUN %s: %s", ifa, strerror(-fda));
		goto out;
	}
	fdb = tun_open(ifb);
	if (fdb < 0) {
		log_error("TUN %s: %s", ifb, strerror(-fdb));
		goto err_close_a;
	}
	if ((err = direction_init(&dirs[0], ifa, ifb, fda, fdb, (uint32_t)limit)) < 0) {
		log_error("queue: %s", strerror(-err));
		goto err_close_b;
	}
	if ((err = direction_init(&dirs[1], ifb, ifa, fdb, fda, (uint32_t)limit)) < 0) {
		log_error("queue: %s", strerror(-err));
		goto err_free_dir0;
	}
	log_info("%s <-> %s, delay %lu ms, limit %lu packets per direction", ifa, ifb, delay_ms,
		 limit);
	printf("ready\n");
	fflush(stdout);

	rc = relay(dirs, (uint64_t)delay_ms * NSEC_PER_MSEC, &waitmask) ? 1 : 0;
	for (int d = 0; d < 2; d++)
		log_info("%s forwarded %llu dropped %llu errors %llu", dirs[d].name,
			 (unsigned long long)dirs[d].forwarded, (unsigned long long)dirs[d].dropped,
			 (unsigned long long)dirs[d].errors);

	direction_free(&dirs[1]);
err_free_dir0:
	direction_free(&dirs[0]);
err_close_b:
	close(fdb);
err_close_a:
	close(fda);
out:
	return rc;
}
