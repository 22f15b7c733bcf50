#include "nexd/health.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/ip_icmp.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "nexd/keyindex.h"

struct probe {
	struct health_target target;
	struct health_result result;
	uint16_t seq;           /* of the outstanding echo */
	uint64_t sent_ns;       /* 0: none outstanding */
};

struct health {
	pthread_mutex_t lock;
	struct probe *probes;
	size_t n;
	/* over probes (under lock): by public key (health_get, set_targets)
	 * and by tunnel address (replies), so that no pass is quadratic */
	struct keyindex by_key, by_ip;
	int fd;
	int stop_fd;
	uint16_t id;
	uint16_t next_seq;
	bool packets;                    /* whole IPv4 packets (health_start_packets) */
	bool has_src;
	uint8_t src[4];
	pthread_t thread;
	char ifname[16];
	void (*notify)(void *ctx);
	void *notify_ctx;
};

bool health_parse_reply(const uint8_t *buf, size_t len, uint16_t id, uint8_t src[4], uint16_t *seq)
{
	size_t ihl;
	const uint8_t *icmp;

	if (len < 20 || (buf[0] >> 4) != 4)
		return false;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	if (ihl < 20 || len < ihl + 8 || buf[9] != IPPROTO_ICMP)
		return false;
	icmp = buf + ihl;
	if (icmp[0] != ICMP_ECHOREPLY || icmp[1] != 0)
		return false;
	if ((uint16_t)(icmp[4] << 8 | icmp[5]) != id)
		return false;
	memcpy(src, buf + 12, 4);
	*seq = (uint16_t)(icmp[6] << 8 | icmp[7]);
	return true;
}

static uint16_t checksum(const uint8_t *p, size_t len)
{
	uint32_t sum = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)(p[len - 1] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

void health_set_notify(struct health *h, void (*fn)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&h->lock);
	h->notify = fn;
	h->notify_ctx = ctx;
	pthread_mutex_unlock(&h->lock);
}

static void notify(struct health *h)
{
	void (*fn)(void *ctx);
	void *ctx;

	pthread_mutex_lock(&h->lock);
	fn = h->notify;
	ctx = h->notify_ctx;
	pthread_mutex_unlock(&h->lock);
	if (fn)
		fn(ctx);
}

/* An IPv4 header before the ICMP message, as the kernel would add it. */
static bool send_packet(struct health *h, const uint8_t dst[4], const uint8_t *icmp, size_t len)
{
	uint8_t pkt[20 + 16];
	uint16_t c;

	if (!h->has_src || len > sizeof(pkt) - 20)
		return false;
	memset(pkt, 0, 20);
	pkt[0] = 0x45;
	pkt[2] = (uint8_t)((20 + len) >> 8);
	pkt[3] = (uint8_t)(20 + len);
	pkt[6] = 0x40;                   /* DF */
	pkt[8] = 64;                     /* TTL */
	pkt[9] = IPPROTO_ICMP;
	memcpy(pkt + 12, h->src, 4);
	memcpy(pkt + 16, dst, 4);
	c = checksum(pkt, 20);
	pkt[10] = (uint8_t)(c >> 8);
	pkt[11] = (uint8_t)c;
	memcpy(pkt + 20, icmp, len);
	return send(h->fd, pkt, 20 + len, MSG_DONTWAIT) == (ssize_t)(20 + len);
}

void health_set_source(struct health *h, const uint8_t src[4])
{
	pthread_mutex_lock(&h->lock);
	memcpy(h->src, src, 4);
	h->has_src = true;
	pthread_mutex_unlock(&h->lock);
}

static void send_round(struct health *h)
{
	uint64_t now = time_now_ns();
	bool flipped = false;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < h->n; i++) {
		struct probe *p = &h->probes[i];
		uint8_t pkt[16] = { ICMP_ECHO, 0, 0, 0 };
		struct sockaddr_in to = { .sin_family = AF_INET };
		uint16_t c;

		if (p->result.reachable && now - p->result.last_reply_ns > HEALTH_REACHABLE_WINDOW_MS * NSEC_PER_MSEC) {
			p->result.reachable = false;
			p->result.reachable_since_ns = 0;
			flipped = true;
		}
		p->seq = h->next_seq++;
		pkt[4] = (uint8_t)(h->id >> 8);
		pkt[5] = (uint8_t)h->id;
		pkt[6] = (uint8_t)(p->seq >> 8);
		pkt[7] = (uint8_t)p->seq;
		memcpy(pkt + 8, "nexodus!", 8);
		c = checksum(pkt, sizeof(pkt));
		pkt[2] = (uint8_t)(c >> 8);
		pkt[3] = (uint8_t)c;
		memcpy(&to.sin_addr, p->target.ip, 4);
		if (h->packets) {
			if (send_packet(h, p->target.ip, pkt, sizeof(pkt)))
				p->sent_ns = now;
		} else if (sendto(h->fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to)) ==
			   sizeof(pkt)) {
			p->sent_ns = now;
		}
	}
	pthread_mutex_unlock(&h->lock);
	if (flipped)
		notify(h);
}

static void receive_replies(struct health *h)
{
	uint8_t buf[1500];

	for (;;) {
		uint8_t src[4];
		uint16_t seq;
		ssize_t n = recv(h->fd, buf, sizeof(buf), MSG_DONTWAIT);
		uint64_t now;

		if (n <= 0)          /* 0: the stack closed its end (packets) */
			return;
		if (!health_parse_reply(buf, (size_t)n, h->id, src, &seq))
			continue;
		now = time_now_ns();
		bool flipped = false;
		size_t first;
		pthread_mutex_lock(&h->lock);
		/* the probes of this address: from the lowest position the index knows */
		if (!keyindex_find(&h->by_ip, src, &first))
			first = h->n;
		for (size_t i = first; i < h->n; i++) {
			struct probe *p = &h->probes[i];
			if (memcmp(p->target.ip, src, 4) || p->seq != seq || !p->sent_ns)
				continue;
			p->result.latency_us = (uint32_t)((now - p->sent_ns) / 1000);
			p->result.has_latency = true;
			if (!p->result.reachable) {
				p->result.reachable_since_ns = now;
				flipped = true;
			}
			p->result.reachable = true;
			p->result.last_reply_ns = now;
			p->sent_ns = 0;
			break;   /* a sequence number is one probe's */
		}
		pthread_mutex_unlock(&h->lock);
		if (flipped)
			notify(h);
	}
}

static void *health_thread(void *arg)
{
	struct health *h = arg;
	uint64_t next = time_now_ns();
	bool gone = false;

	for (;;) {
		struct pollfd p[2] = { { .fd = gone ? -1 : h->fd, .events = POLLIN }, { .fd = h->stop_fd, .events = POLLIN } };
		uint64_t now = time_now_ns();
		int timeout;

		if (now >= next) {
			send_round(h);
			next = now + HEALTH_INTERVAL_MS * NSEC_PER_MSEC;
		}
		timeout = (int)((next - now) / NSEC_PER_MSEC) + 1;
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			break;
		if (p[1].revents)
			break;
		if (p[0].revents & POLLIN)
			receive_replies(h);
		/* the stack's end closed (nexd proxy stopping): wait for stop */
		if (p[0].revents & (POLLHUP | POLLERR) && h->packets)
			gone = true;
	}
	return NULL;
}

/* Starts the thread on fd (the prober's from now on, closed on failure). */
static int start(struct health **out, int fd, bool packets, uint16_t id, const char *ifname)
{
	struct health *h = calloc(1, sizeof(*h));
	int r;

	if (!h) {
		close(fd);
		return -ENOMEM;
	}
	pthread_mutex_init(&h->lock, NULL);
	keyindex_init(&h->by_key, sizeof(struct probe), offsetof(struct probe, target.public_key), 32);
	keyindex_init(&h->by_ip, sizeof(struct probe), offsetof(struct probe, target.ip), 4);
	snprintf(h->ifname, sizeof(h->ifname), "%s", ifname);
	h->fd = fd;
	h->packets = packets;
	h->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (h->stop_fd < 0) {
		r = -errno;
		goto err_close;
	}
	h->id = id;
	r = -pthread_create(&h->thread, NULL, health_thread, h);
	if (r)
		goto err_close_stop;
	*out = h;
	return 0;

err_close_stop:
	close(h->stop_fd);
err_close:
	close(h->fd);
	pthread_mutex_destroy(&h->lock);
	keyindex_release(&h->by_key);
	keyindex_release(&h->by_ip);
	free(h);
	return r;
}

int health_start(struct health **out, const char *ifname)
{
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_ICMP);

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname)) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	return start(out, fd, false, (uint16_t)(getpid() ^ 0x6e78), ifname);
}

int health_start_packets(struct health **out, int fd, uint16_t id)
{
	return start(out, fd, true, id, "proxy");
}

int health_set_targets(struct health *h, const struct health_target *t, size_t n)
{
	struct probe *np;

	if (n > HEALTH_MAX_TARGETS)
		return -E2BIG;
	np = calloc(n ? n : 1, sizeof(*np));
	if (!np)
		return -ENOMEM;
	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < n; i++) {
		size_t j;

		np[i].target = t[i];
		/* the old probe of this key and address keeps its results */
		if (keyindex_find(&h->by_key, t[i].public_key, &j)) {
			for (; j < h->n; j++) {
				if (!memcmp(h->probes[j].target.public_key, t[i].public_key, 32) &&
				    !memcmp(h->probes[j].target.ip, t[i].ip, 4)) {
					np[i] = h->probes[j];
					break;
				}
			}
		}
	}
	free(h->probes);
	h->probes = np;
	h->n = n;
	keyindex_build(&h->by_key, h->probes, n);
	keyindex_build(&h->by_ip, h->probes, n);
	pthread_mutex_unlock(&h->lock);
	return 0;
}

bool health_get(struct health *h, const uint8_t public_key[32], struct health_result *out)
{
	bool found = false;

	size_t i;

	pthread_mutex_lock(&h->lock);
	if (keyindex_find(&h->by_key, public_key, &i)) {
		*out = h->probes[i].result;
		found = true;
	}
	pthread_mutex_unlock(&h->lock);
	return found;
}

void health_stop(struct health *h)
{
	uint64_t one = 1;

	if (!h)
		return;
	if (write(h->stop_fd, &one, sizeof(one)) < 0)
		log_warn("health: cannot signal stop");
	pthread_join(h->thread, NULL);
	close(h->stop_fd);
	close(h->fd);
	free(h->probes);
	keyindex_release(&h->by_key);
	keyindex_release(&h->by_ip);
	pthread_mutex_destroy(&h->lock);
	free(h);
}
