/* The send side: the TUN reader thread (read a batch, find each packet's
 * peer by allowed IPs, encrypt with the current keypair, sendmmsg), the
 * staged packets of peers without a session, keepalives, and the
 * handshake messages we send (initiations, cookie replies). */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "wg/crypto.h"
#include "wg/device.h"
#include "wg/offload.h"

static _Thread_local uint64_t jitter_state;

/* Timer jitter needs no cryptographic randomness: xorshift, seeded once. */
static uint64_t jitter_ns(void)
{
	uint64_t x = jitter_state;

	if (!x)
		wg_random(&x, sizeof(x));
	x |= 1;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	jitter_state = x;
	return x % ((uint64_t)REKEY_TIMEOUT_JITTER_MAX_MS * NSEC_PER_MSEC);
}

size_t send_prepare(uint8_t *buf, size_t plain_len, unsigned mtu, size_t *padded_len)
{
	uint8_t *plain = buf + DATA_PACKET_HEAD_ROOM;
	size_t last_unit = plain_len, padded;

	/* Pad to a multiple of 16, but not past the MTU (as the kernel). */
	if (mtu && last_unit > mtu)
		last_unit %= mtu;
	padded = (last_unit + MESSAGE_PADDING_MULTIPLE - 1) & ~(size_t)(MESSAGE_PADDING_MULTIPLE - 1);
	if (mtu && padded > mtu)
		padded = mtu;
	padded = plain_len + (padded - last_unit);
	memset(plain + plain_len, 0, padded - plain_len);
	*padded_len = padded;
	return DATA_PACKET_HEAD_ROOM + padded + NOISE_AUTHTAG_LEN;
}

static void put_header(const struct keypair *kp, uint64_t nonce, uint8_t *buf)
{
	le32_store(buf, MESSAGE_DATA);
	le32_store(buf + 4, kp->remote_index);
	le64_store(buf + 8, nonce);
}

void send_seal_lead(const struct keypair *kp, uint64_t nonce, uint8_t *buf, size_t padded_len)
{
	(void)wg_data_seal_lead(kp->sending_key, nonce, buf + DATA_PACKET_HEAD_ROOM, padded_len);
	put_header(kp, nonce, buf);
}

size_t send_encapsulate(const struct keypair *kp, uint64_t nonce, uint8_t *buf, size_t plain_len, unsigned mtu)
{
	size_t padded, len = send_prepare(buf, plain_len, mtu, &padded);
	uint8_t *plain = buf + DATA_PACKET_HEAD_ROOM;

	put_header(kp, nonce, buf);
	(void)wg_data_seal(kp->sending_key, nonce, plain, plain, padded);
	return len;
}

void send_request_initiation(struct wg_device *dev, struct wg_peer *peer, bool is_retry)
{
	uint64_t now = time_now_ns(), one = 1;
	bool ok;

	pthread_mutex_lock(&peer->lock);
	timers_initiation_wanted(&peer->timers, is_retry);
	ok = !peer->dead && timers_may_send_initiation(&peer->timers, now);
	pthread_mutex_unlock(&peer->lock);
	if (!ok || atomic_exchange(&peer->initiation_queued, true))
		return;
	pthread_mutex_lock(&dev->hs_lock);
	if (dev->init_count < DEVICE_INIT_RING) {
		dev->init_ring[(dev->init_head + dev->init_count) % DEVICE_INIT_RING] = peer;
		dev->init_count++;
		ok = true;
	} else {
		atomic_store(&peer->initiation_queued, false);
		ok = false;
	}
	pthread_mutex_unlock(&dev->hs_lock);
	if (ok && write(dev->hs_efd, &one, sizeof(one)) < 0) {
		/* the counter cannot overflow in practice; nothing to do */
	}
}

void send_initiation(struct wg_device *dev, struct wg_peer *peer)
{
	struct message_handshake_initiation msg;
	union sockaddr_any ep;
	uint64_t now = time_now_ns();
	int err;

	pthread_mutex_lock(&peer->lock);
	if (peer->dead || !dev->identity.has_identity || !timers_may_send_initiation(&peer->timers, now)) {
		pthread_mutex_unlock(&peer->lock);
		return;
	}
	timers_initiation_sent(&peer->timers, now);
	peer->handshake.local_index = index_insert(dev->index, &peer->hs_entry);
	err = noise_create_initiation(&msg, &peer->handshake, &dev->identity);
	if (err) {
		index_remove(dev->index, &peer->hs_entry);
		pthread_mutex_unlock(&peer->lock);
		log_debug("%s: cannot create a handshake initiation: %d", peer->label, err);
		return;
	}
	cookie_add_mac_to_packet(&msg, sizeof(msg), &peer->cookie_maker);
	timers_any_authenticated_packet_traversal(&peer->timers, now);
	timers_any_authenticated_packet_sent(&peer->timers);
	timers_handshake_initiated(&peer->timers, now, jitter_ns());
	ep = peer->endpoint;
	pthread_mutex_unlock(&peer->lock);

	if (ep.sa.sa_family) {
		log_debug("%s: sending handshake initiation", peer->label);
		err = socket_send(&dev->sock, &ep, &msg, sizeof(msg));
		if (!err)
			atomic_fetch_add(&peer->tx_bytes, sizeof(msg));
		if (err)
			log_debug("%s: sending handshake initiation: %s", peer->label, strerror(-err));
	}
}

void send_staged(struct wg_device *dev, struct wg_peer *peer)
{
	struct staged_packet *batch[MAX_STAGED_PACKETS];
	unsigned n = 0, i, mtu = atomic_load(&dev->mtu);
	uint64_t now = time_now_ns(), bytes = 0;
	struct keypair *kp;
	union sockaddr_any ep;
	bool data = false, rekey = false, usable;

	pthread_mutex_lock(&peer->lock);
	if (!peer->staged_count) {
		pthread_mutex_unlock(&peer->lock);
		return;
	}
	kp = keypairs_current(&peer->keypairs);
	ep = peer->endpoint;
	usable = keypair_sending_usable(kp, now) && ep.sa.sa_family;
	if (usable)
		while (n < MAX_STAGED_PACKETS && (batch[n] = peer_unstage(peer)))
			n++;
	pthread_mutex_unlock(&peer->lock);
	if (!usable) {
		keypair_put(kp);
		if (ep.sa.sa_family)
			send_request_initiation(dev, peer, false);
		return;
	}

	for (i = 0; i < n; i++) {
		struct staged_packet *sp = batch[i];
		uint64_t nonce = atomic_fetch_add(&kp->sending_counter, 1);

		if (nonce < REJECT_AFTER_MESSAGES) {
			size_t len = send_encapsulate(kp, nonce, sp->data, sp->len, mtu);

			if (!socket_send(&dev->sock, &ep, sp->data, len)) {
				bytes += len;
				data |= sp->len > 0;
			} else {
				STAT_INC(dev, tx_dropped);
			}
		} else {
			STAT_INC(dev, tx_dropped);
		}
		free(sp);
	}

	pthread_mutex_lock(&peer->lock);
	if (bytes) {
		timers_any_authenticated_packet_traversal(&peer->timers, now);
		timers_any_authenticated_packet_sent(&peer->timers);
		if (data)
			timers_data_sent(&peer->timers, now, jitter_ns());
	}
	rekey = timers_want_rekey_on_send(kp->initiator, kp->birthdate_ns,
					  atomic_load(&kp->sending_counter), now);
	pthread_mutex_unlock(&peer->lock);
	atomic_fetch_add(&peer->tx_bytes, bytes);
	keypair_put(kp);
	if (rekey)
		send_request_initiation(dev, peer, false);
}

void send_keepalive(struct wg_device *dev, struct wg_peer *peer)
{
	pthread_mutex_lock(&peer->lock);
	if (!peer->staged_count) {
		struct staged_packet *sp = staged_packet_new(NULL, 0);

		if (sp)
			peer_stage(peer, sp);
	}
	pthread_mutex_unlock(&peer->lock);
	send_staged(dev, peer);
}

void send_cookie_reply(struct wg_device *dev, const void *msg, size_t len, const union sockaddr_any *src)
{
	struct message_handshake_cookie reply;

	cookie_message_create(&reply, &dev->cookie_checker, msg, len, le32_load((const uint8_t *)msg + 4), src);
	if (!socket_send(&dev->sock, src, &reply, sizeof(reply)))
		STAT_INC(dev, cookies_sent);
}

/* ---- the TUN reader thread ---- */

/* A message starts this far into its slot: with its header, the lead that
 * wg_data_seal_lead uses as scratch. */
#define TX_SLOT_LEAD (WG_DATA_SEAL_LEAD - DATA_PACKET_HEAD_ROOM)

struct tx_ctx {
	struct wg_device *dev;
	uint8_t *slots;
	uint8_t *rbuf;        /* a TUN read with its virtio header (vnet mode) */
	unsigned n;           /* slots filled */
	size_t lens[DEVICE_BATCH];
	/* the encrypted datagrams of a batch, then the messages that carry
	 * them: a run of equal-sized datagrams to one address goes as one
	 * UDP GSO message (UDP_SEGMENT) where the kernel allows */
	struct iovec iovs[DEVICE_BATCH];
	union sockaddr_any addrs[DEVICE_BATCH];
	socklen_t alens[DEVICE_BATCH];
	struct mmsghdr msgs[DEVICE_BATCH];
	unsigned msg_first[DEVICE_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} ctrl[DEVICE_BATCH];
	/* the sealing still to do for each datagram, shared with the pool */
	struct tx_job {
		struct keypair *kp;
		uint64_t nonce;
		size_t padded;
	} jobs[DEVICE_BATCH];
	/* keypairs of finished runs, put once their packets are sealed */
	struct keypair *done_kps[DEVICE_BATCH];
	unsigned n_done_kps;
	/* the run of packets to one peer being assembled */
	struct wg_peer *peer;
	struct keypair *kp;
	union sockaddr_any ep;
	uint64_t bytes;
	bool data, want_handshake;
};

static uint8_t *slot(struct tx_ctx *c, unsigned i)
{
	return c->slots + (size_t)i * DEVICE_SLOT_SIZE + TX_SLOT_LEAD;
}

/* Finds the destination address of an IP packet. */
static int packet_dest(const uint8_t *p, size_t len, int *family, const uint8_t **dst)
{
	if (len >= 20 && (p[0] >> 4) == 4) {
		*family = AF_INET;
		*dst = p + 16;
		return 0;
	}
	if (len >= 40 && (p[0] >> 4) == 6) {
		*family = AF_INET6;
		*dst = p + 24;
		return 0;
	}
	return -EINVAL;
}

static void run_flush(struct tx_ctx *c, uint64_t now)
{
	struct wg_peer *peer = c->peer;
	bool rekey = false;

	if (!peer)
		return;
	if (c->bytes || c->kp) {
		pthread_mutex_lock(&peer->lock);
		if (c->bytes) {
			timers_any_authenticated_packet_traversal(&peer->timers, now);
			timers_any_authenticated_packet_sent(&peer->timers);
			if (c->data)
				timers_data_sent(&peer->timers, now, jitter_ns());
		}
		if (c->kp)
			rekey = timers_want_rekey_on_send(c->kp->initiator, c->kp->birthdate_ns,
							  atomic_load(&c->kp->sending_counter), now);
		pthread_mutex_unlock(&peer->lock);
		atomic_fetch_add(&peer->tx_bytes, c->bytes);
	}
	if (c->want_handshake)
		send_staged(c->dev, peer); /* sends them if a session is up, else asks for one */
	else if (rekey)
		send_request_initiation(c->dev, peer, false);
	if (c->kp)
		c->done_kps[c->n_done_kps++] = c->kp;
	c->kp = NULL;
	c->peer = NULL;
	c->bytes = 0;
	c->data = c->want_handshake = false;
}

static void run_start(struct tx_ctx *c, struct wg_peer *peer)
{
	c->peer = peer;
	pthread_mutex_lock(&peer->lock);
	c->kp = keypairs_current(&peer->keypairs);
	c->ep = peer->endpoint;
	/* Keep order: while packets wait for a session, new ones queue too. */
	if (peer->staged_count) {
		keypair_put(c->kp);
		c->kp = NULL;
	}
	pthread_mutex_unlock(&peer->lock);
}

static void stage(struct tx_ctx *c, const uint8_t *pkt, size_t len)
{
	struct staged_packet *sp = staged_packet_new(pkt, len);
	bool dropped;

	if (!sp) {
		STAT_INC(c->dev, tx_dropped);
		return;
	}
	pthread_mutex_lock(&c->peer->lock);
	dropped = peer_stage(c->peer, sp);
	pthread_mutex_unlock(&c->peer->lock);
	if (dropped)
		STAT_INC(c->dev, tx_dropped);
	c->want_handshake = true;
}

static void seal_job(void *ctx, unsigned i)
{
	struct tx_ctx *c = ctx;

	send_seal_lead(c->jobs[i].kp, c->jobs[i].nonce, c->iovs[i].iov_base, c->jobs[i].padded);
}

/* Finds each packet's peer, gives it a nonce and a header in order, then
 * seals the batch (shared with the pool's workers). */
static unsigned encrypt_batch(struct tx_ctx *c, unsigned n)
{
	struct wg_device *dev = c->dev;
	unsigned i, nmsg = 0, mtu = atomic_load(&dev->mtu);
	uint64_t now = time_now_ns();

	pthread_rwlock_rdlock(&dev->cfg_lock);
	for (i = 0; i < n; i++) {
		uint8_t *buf = slot(c, i), *pkt = buf + DATA_PACKET_HEAD_ROOM;
		const uint8_t *dst;
		struct wg_peer *peer;
		uint64_t nonce;
		size_t len;
		int family;
		socklen_t alen;

		if (packet_dest(pkt, c->lens[i], &family, &dst)) {
			STAT_INC(dev, tx_dropped);
			continue;
		}
		peer = allowedips_lookup(dev->aips, family, dst);
		if (!peer) {
			STAT_INC(dev, tx_no_peer);
			continue;
		}
		if (peer != c->peer) {
			run_flush(c, now);
			run_start(c, peer);
		}
		if (!c->ep.sa.sa_family) {
			STAT_INC(dev, tx_dropped);
			continue;
		}
		if (!keypair_sending_usable(c->kp, now)) {
			stage(c, pkt, c->lens[i]);
			continue;
		}
		nonce = atomic_fetch_add_explicit(&c->kp->sending_counter, 1, memory_order_relaxed);
		if (nonce >= REJECT_AFTER_MESSAGES) {
			stage(c, pkt, c->lens[i]);
			continue;
		}
		alen = socket_dest(&dev->sock, &c->ep, &c->addrs[nmsg]);
		if (!alen) {
			STAT_INC(dev, tx_dropped);
			continue;
		}
		len = send_prepare(buf, c->lens[i], mtu, &c->jobs[nmsg].padded);
		c->jobs[nmsg].kp = c->kp;
		c->jobs[nmsg].nonce = nonce;
		c->alens[nmsg] = alen;
		c->iovs[nmsg].iov_base = buf;
		c->iovs[nmsg].iov_len = len;
		nmsg++;
		c->bytes += len;
		c->data |= c->lens[i] > 0;
	}
	run_flush(c, now);
	/* The keypairs stay referenced until their packets are sealed. */
	pool_run(dev->pool, seal_job, c, nmsg, POOL_MIN_ITEMS);
	for (i = 0; i < c->n_done_kps; i++)
		keypair_put(c->done_kps[i]);
	c->n_done_kps = 0;
	pthread_rwlock_unlock(&dev->cfg_lock);
	return nmsg;
}

#define GSO_MAX_SEGMENTS 64
#define GSO_MAX_BYTES 60000

/* Groups datagrams first.. of the batch into messages: with GSO, a run to
 * one address whose datagrams all have the size of the first (the last
 * may be shorter) is one message. Returns the number of messages. */
static unsigned build_msgs(struct tx_ctx *c, unsigned first, unsigned n, bool gso)
{
	unsigned i = first, m = 0;

	while (i < n) {
		struct msghdr *h = &c->msgs[m].msg_hdr;
		size_t seg = c->iovs[i].iov_len, total = seg;
		unsigned j = i + 1;

		if (gso) {
			while (j < n && j - i < GSO_MAX_SEGMENTS && c->iovs[j].iov_len <= seg &&
			       total + c->iovs[j].iov_len <= GSO_MAX_BYTES && c->alens[j] == c->alens[i] &&
			       !memcmp(&c->addrs[j], &c->addrs[i], c->alens[i])) {
				total += c->iovs[j].iov_len;
				if (c->iovs[j++].iov_len < seg)
					break; /* a short one ends the run */
			}
		}
		memset(h, 0, sizeof(*h));
		h->msg_name = &c->addrs[i];
		h->msg_namelen = c->alens[i];
		h->msg_iov = &c->iovs[i];
		h->msg_iovlen = j - i;
		if (j - i > 1) {
			struct cmsghdr *cm;
			uint16_t size = (uint16_t)seg;

			h->msg_control = c->ctrl[m].buf;
			h->msg_controllen = sizeof(c->ctrl[m].buf);
			cm = CMSG_FIRSTHDR(h);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(size));
			memcpy(CMSG_DATA(cm), &size, sizeof(size));
		}
		c->msg_first[m++] = i;
		i = j;
	}
	return m;
}

static void send_batch(struct tx_ctx *c, unsigned n)
{
	struct wg_device *dev = c->dev;
	bool gso = atomic_load_explicit(&dev->sock.udp_gso, memory_order_relaxed);
	unsigned done = 0, nmsg = build_msgs(c, 0, n, gso);

	while (done < nmsg) {
		int r = sendmmsg(dev->sock.fd, c->msgs + done, nmsg - done, MSG_DONTWAIT);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == ENOBUFS) {
				struct pollfd p = { .fd = dev->sock.fd, .events = POLLOUT };

				if (poll(&p, 1, 10) > 0)
					continue;
			}
			if (gso && c->msgs[done].msg_hdr.msg_iovlen > 1 &&
			    (errno == EIO || errno == EINVAL || errno == EMSGSIZE)) {
				/* The route cannot take UDP segmentation (no checksum
				 * offload, xfrm, segments above the path MTU that must
				 * be fragmented, ...): one datagram a message from now on. */
				log_info("%s: UDP segmentation offload refused (%s); not using it",
					 dev->tun.ifname, strerror(errno));
				atomic_store(&dev->sock.udp_gso, false);
				gso = false;
				nmsg = build_msgs(c, c->msg_first[done], n, false);
				done = 0;
				continue;
			}
			/* This message cannot go (unreachable, ...): skip it. */
			atomic_fetch_add_explicit(&dev->stats.tx_dropped, c->msgs[done].msg_hdr.msg_iovlen,
						  memory_order_relaxed);
			done++;
			continue;
		}
		done += (unsigned)r;
	}
}

static void mark_dead(struct wg_device *dev)
{
	uint64_t one = 1;

	if (write(dev->dead_efd, &one, sizeof(one)) < 0) {
		/* nothing better to do */
	}
}

/* The segmentation callbacks: the next free slot (sending the batch first
 * when it is full), and the length of what was written there. */
static uint8_t *tx_next(void *ctx)
{
	struct tx_ctx *c = ctx;

	if (c->n == DEVICE_BATCH) {
		send_batch(c, encrypt_batch(c, c->n));
		c->n = 0;
	}
	return slot(c, c->n) + DATA_PACKET_HEAD_ROOM;
}

static void tx_done(void *ctx, size_t len)
{
	struct tx_ctx *c = ctx;

	c->lens[c->n++] = len;
}

#define RBUF_SIZE (OFFLOAD_VNET_HDR_LEN + OFFLOAD_MAX_PACKET)

/* Reads one packet into the next slot(s): 0, -EAGAIN, -ENODEV, or another
 * error. */
static int read_one(struct tx_ctx *c)
{
	struct wg_device *dev = c->dev;
	struct offload_vnet v;
	ssize_t r;

	if (!dev->tun.vnet) {
		r = tun_read(&dev->tun, slot(c, c->n) + DATA_PACKET_HEAD_ROOM,
			     DEVICE_SLOT_SIZE - TX_SLOT_LEAD - DATA_PACKET_HEAD_ROOM - 48);
		if (r < 0)
			return (int)r;
		c->lens[c->n++] = (size_t)r;
		return 0;
	}
	r = tun_read(&dev->tun, c->rbuf, RBUF_SIZE);
	if (r < 0)
		return (int)r;
	if (r < OFFLOAD_VNET_HDR_LEN) {
		STAT_INC(dev, tx_dropped);
		return 0;
	}
	offload_vnet_read(&v, c->rbuf);
	if (offload_segment(&v, c->rbuf + OFFLOAD_VNET_HDR_LEN, (size_t)r - OFFLOAD_VNET_HDR_LEN, tx_next, tx_done, c))
		STAT_INC(dev, tx_dropped);
	return 0;
}

void *send_thread(void *arg)
{
	struct tx_ctx *c = calloc(1, sizeof(*c));
	struct wg_device *dev = arg;
	struct device_sched sched;

	device_sched_init(&sched);
	if (!c || !(c->slots = malloc((size_t)DEVICE_BATCH * DEVICE_SLOT_SIZE)) || !(c->rbuf = malloc(RBUF_SIZE))) {
		log_error("%s: send thread: out of memory", dev->tun.ifname);
		if (c)
			free(c->slots);
		free(c);
		mark_dead(dev);
		return NULL;
	}
	c->dev = dev;
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = dev->tun.fd, .events = POLLIN },
			{ .fd = dev->stop_efd, .events = POLLIN },
		};
		bool gone = false;
		uint64_t woke;

		if (!device_poll(dev, pfd, 2))
			break;
		woke = time_now_ns();
		if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL))
			gone = true;
		c->n = 0;
		while (!gone && c->n < DEVICE_BATCH) {
			int r = read_one(c);

			if (r == -EAGAIN)
				break;
			if (r == -ENODEV) {
				gone = true;
				break;
			}
			if (r < 0) {
				log_warn("%s: reading the TUN: %s", dev->tun.ifname, strerror(-r));
				break;
			}
		}
		if (c->n)
			send_batch(c, encrypt_batch(c, c->n));
		c->n = 0;
		device_sched_account(&sched, woke, time_now_ns());
		if (gone) {
			log_warn("%s: the interface is gone", dev->tun.ifname);
			mark_dead(dev);
			break;
		}
	}
	free(c->rbuf);
	free(c->slots);
	free(c);
	return NULL;
}
