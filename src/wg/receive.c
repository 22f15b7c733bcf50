/* The receive side: the socket reader thread (recvmmsg a batch, decrypt data
 * messages and write them to the TUN, check the macs of handshake messages
 * and queue them, answer with cookies under load) and the handshake thread
 * (does the Diffie-Hellman work of queued handshake messages, and sends
 * the initiations the other threads asked for). The reader never does DH. */
#include "wg/receive.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/udp.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "wg/crypto.h"
#include "wg/device.h"
#include "wg/offload.h"

#define UNDER_LOAD_AFTER_NS NSEC_PER_SEC
#define RX_MAX_JOBS 1024 /* data messages opened together */

int receive_open(const struct keypair *kp, uint8_t *msg, size_t len, uint64_t *counter, size_t *plain_len)
{
	uint64_t c;

	if (len < MESSAGE_MINIMUM_LENGTH)
		return -EBADMSG;
	c = le64_load(msg + 8);
	if (wg_data_open(kp->receiving_key, c, msg + DATA_PACKET_HEAD_ROOM, msg + DATA_PACKET_HEAD_ROOM,
			 len - DATA_PACKET_HEAD_ROOM))
		return -EBADMSG;
	*counter = c;
	*plain_len = len - DATA_PACKET_HEAD_ROOM - NOISE_AUTHTAG_LEN;
	return 0;
}

int receive_inner_packet(const uint8_t *pkt, size_t len, size_t *inner_len, int *family, const uint8_t **src)
{
	size_t total;

	if (len >= 20 && (pkt[0] >> 4) == 4) {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;

		total = (size_t)pkt[2] << 8 | pkt[3];
		if (ihl < 20 || total < ihl || total > len)
			return -EINVAL;
		*family = AF_INET;
		*src = pkt + 12;
	} else if (len >= 40 && (pkt[0] >> 4) == 6) {
		total = 40 + ((size_t)pkt[4] << 8 | pkt[5]);
		if (total > len)
			return -EINVAL;
		*family = AF_INET6;
		*src = pkt + 8;
	} else {
		return -EINVAL;
	}
	*inner_len = total;
	return 0;
}

/* ---- the socket reader thread ---- */

struct rx_ctx {
	struct wg_device *dev;
	uint8_t *slots;
	struct offload_gro gro;  /* vnet mode: packets merged for one TUN write */
	struct mmsghdr msgs[DEVICE_BATCH];
	struct iovec iovs[DEVICE_BATCH];
	union sockaddr_any addrs[DEVICE_BATCH];
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} ctrl[DEVICE_BATCH];     /* UDP_GRO: the size of coalesced datagrams */
	/* the data messages of a batch: found (in order), opened (shared with
	 * the pool), then checked and delivered (in order) */
	struct rx_job {
		uint8_t *buf;
		size_t len, plain_len;
		union sockaddr_any *src;
		struct wg_peer *peer;
		struct keypair *kp;   /* a reference */
		uint32_t index;
		uint64_t counter;
		int err;
	} *jobs;
	unsigned n_jobs;
	/* the run of data messages under one keypair */
	struct wg_peer *peer;
	struct keypair *kp;
	union sockaddr_any src;
	uint64_t bytes;
	bool authenticated, data;
};

static void run_flush(struct rx_ctx *c, uint64_t now)
{
	struct wg_peer *peer = c->peer;
	struct keypair *kp = c->kp;
	bool rotated = false, rekey = false;

	if (peer && c->authenticated) {
		pthread_mutex_lock(&peer->lock);
		if (keypairs_received_with(&peer->keypairs, c->dev->index, kp)) {
			/* The initiator confirmed our response: the handshake is done. */
			timers_handshake_complete(&peer->timers);
			peer->last_handshake_wall_ns = (int64_t)time_wall_ns();
			rotated = true;
		}
		timers_any_authenticated_packet_received(&peer->timers);
		timers_any_authenticated_packet_traversal(&peer->timers, now);
		if (c->data)
			timers_data_received(&peer->timers, now);
		rekey = timers_want_rekey_on_receive(&peer->timers, kp->initiator, kp->birthdate_ns, now);
		pthread_mutex_unlock(&peer->lock);
		atomic_fetch_add(&peer->rx_bytes, c->bytes);
		if (rotated)
			send_staged(c->dev, peer);
		if (rekey)
			send_request_initiation(c->dev, peer, false);
	}
	keypair_put(kp);
	c->kp = NULL;
	c->peer = NULL;
	c->bytes = 0;
	c->authenticated = c->data = false;
}

static void gro_flush(struct rx_ctx *c)
{
	size_t n = offload_gro_finish(&c->gro);

	if (n && tun_write(&c->dev->tun, c->gro.buf, n) < 0)
		STAT_INC(c->dev, tx_dropped);
}

/* Writes a packet to the TUN; in vnet mode, consecutive segments of one TCP
 * flow are merged first. pkt has head room for the virtio header. */
static void deliver(struct rx_ctx *c, uint8_t *pkt, size_t len)
{
	struct wg_device *dev = c->dev;
	ssize_t r;

	if (dev->tun.vnet) {
		if (offload_gro_add(&c->gro, pkt, len))
			return;
		if (c->gro.len) {
			gro_flush(c);
			if (offload_gro_add(&c->gro, pkt, len))
				return;
		}
		memset(pkt - OFFLOAD_VNET_HDR_LEN, 0, OFFLOAD_VNET_HDR_LEN);
		r = tun_write(&dev->tun, pkt - OFFLOAD_VNET_HDR_LEN, len + OFFLOAD_VNET_HDR_LEN);
	} else {
		r = tun_write(&dev->tun, pkt, len);
	}
	if (r < 0)
		STAT_INC(dev, tx_dropped);
}

static void receive_opened(struct rx_ctx *c, struct rx_job *j, uint64_t now);
static void open_job(void *ctx, unsigned i);

/* Opens the queued data messages (with the pool's help) and hands them on
 * in order. */
static void receive_jobs(struct rx_ctx *c, uint64_t now)
{
	unsigned i;

	pool_run(c->dev->pool, open_job, c, c->n_jobs, POOL_MIN_ITEMS);
	for (i = 0; i < c->n_jobs; i++)
		receive_opened(c, &c->jobs[i], now);
	c->n_jobs = 0;
}

/* Finds the keypair of a data message and queues it to be opened. */
static void receive_data(struct rx_ctx *c, uint8_t *buf, size_t len, union sockaddr_any *src, uint64_t now)
{
	struct wg_device *dev = c->dev;
	uint32_t index = le32_load(buf + 4);
	struct rx_job *j = &c->jobs[c->n_jobs], *prev = c->n_jobs ? j - 1 : NULL;
	struct keypair *kp = NULL;
	struct wg_peer *peer;

	if (c->n_jobs == RX_MAX_JOBS) {
		/* Full (a batch of coalesced reads can hold more): open and
		 * deliver what is queued first, in order, then go on. */
		receive_jobs(c, now);
		j = c->jobs;
		prev = NULL;
	}
	if (prev && prev->index == index) {
		peer = prev->peer;
		kp = keypair_get(prev->kp);
	} else {
		peer = index_lookup(dev->index, index, INDEX_KEYPAIR, NULL, &kp);
		if (!peer) {
			STAT_INC(dev, rx_no_keypair);
			return;
		}
	}
	if (!keypair_receiving_usable(kp, now)) {
		keypair_put(kp);
		STAT_INC(dev, rx_no_keypair);
		return;
	}
	j->buf = buf;
	j->len = len;
	j->src = src;
	j->peer = peer;
	j->kp = kp;
	j->index = index;
	c->n_jobs++;
}

static void open_job(void *ctx, unsigned i)
{
	struct rx_job *j = &((struct rx_ctx *)ctx)->jobs[i];

	j->err = receive_open(j->kp, j->buf, j->len, &j->counter, &j->plain_len);
}

/* An opened data message, in order: replay window, roaming, the inner
 * packet's source against the peer's allowed IPs, delivery. Takes over the
 * job's keypair reference. */
static void receive_opened(struct rx_ctx *c, struct rx_job *j, uint64_t now)
{
	struct wg_device *dev = c->dev;
	const uint8_t *inner_src;
	size_t inner_len;
	int family;

	if (j->kp != c->kp) {
		run_flush(c, now);
		c->peer = j->peer;
		c->kp = j->kp;
	} else {
		keypair_put(j->kp);
	}
	if (j->err) {
		STAT_INC(dev, rx_bad_auth);
		return;
	}
	if (!replay_check(&c->kp->replay, j->counter)) {
		STAT_INC(dev, rx_replayed);
		return;
	}
	if (!c->authenticated || !addr_endpoint_equal(&c->src, j->src)) {
		/* Roaming: follow the source of authenticated packets, before
		 * the packet goes up (an answer must go to the new address). */
		c->src = *j->src;
		pthread_mutex_lock(&c->peer->lock);
		if (!addr_endpoint_equal(&c->peer->endpoint, j->src))
			c->peer->endpoint = *j->src;
		pthread_mutex_unlock(&c->peer->lock);
	}
	c->authenticated = true;
	c->bytes += j->len;
	if (!j->plain_len)
		return; /* a keepalive */
	if (receive_inner_packet(j->buf + DATA_PACKET_HEAD_ROOM, j->plain_len, &inner_len, &family, &inner_src)) {
		STAT_INC(dev, rx_invalid);
		return;
	}
	if (allowedips_lookup(dev->aips, family, inner_src) != c->peer) {
		STAT_INC(dev, rx_bad_source);
		return;
	}
	c->data = true;
	deliver(c, j->buf + DATA_PACKET_HEAD_ROOM, inner_len);
}

/* A cookie reply: cheap (no DH), so the reader does it at once instead of
 * queueing it, and a flood of them cannot fill the handshake queue. */
static void consume_cookie(struct wg_device *dev, const uint8_t *buf)
{
	const struct message_handshake_cookie *msg = (const void *)buf;
	struct keypair *kp = NULL;
	struct wg_peer *peer;
	int err;

	peer = index_lookup(dev->index, le32_load(&msg->receiver_index), INDEX_HANDSHAKE | INDEX_KEYPAIR, NULL, &kp);
	keypair_put(kp);
	if (!peer) {
		STAT_INC(dev, rx_no_keypair);
		return;
	}
	pthread_mutex_lock(&peer->lock);
	err = cookie_message_consume(msg, &peer->cookie_maker);
	pthread_mutex_unlock(&peer->lock);
	if (err)
		STAT_INC(dev, rx_bad_auth);
	else
		log_debug("%s: received a cookie", peer->label);
}

static bool under_load(struct wg_device *dev, uint64_t now)
{
	uint64_t last;

	if (atomic_load_explicit(&dev->hs_queue_len, memory_order_relaxed) >= MAX_QUEUED_INCOMING_HANDSHAKES / 8) {
		atomic_store_explicit(&dev->last_under_load_ns, now, memory_order_relaxed);
		return true;
	}
	last = atomic_load_explicit(&dev->last_under_load_ns, memory_order_relaxed);
	return last && now - last < UNDER_LOAD_AFTER_NS;
}

static void enqueue_handshake(struct wg_device *dev, const uint8_t *buf, size_t len, const union sockaddr_any *src)
{
	bool queued = false;

	pthread_mutex_lock(&dev->hs_lock);
	if (dev->hs_count < MAX_QUEUED_INCOMING_HANDSHAKES) {
		struct hs_work *w = &dev->hs_ring[(dev->hs_head + dev->hs_count) % MAX_QUEUED_INCOMING_HANDSHAKES];

		memcpy(w->msg, buf, len);
		w->len = (uint16_t)len;
		w->src = *src;
		dev->hs_count++;
		atomic_store_explicit(&dev->hs_queue_len, dev->hs_count, memory_order_relaxed);
		queued = true;
	}
	pthread_mutex_unlock(&dev->hs_lock);
	if (!queued)
		STAT_INC(dev, handshake_dropped);
}

static bool receive_handshake(struct wg_device *dev, enum message_type type, const uint8_t *buf, size_t len,
			      const union sockaddr_any *src, uint64_t now)
{
	bool load;
	enum cookie_mac_state mac;

	if (type == MESSAGE_HANDSHAKE_COOKIE) {
		consume_cookie(dev, buf);
		return false;
	}
	load = under_load(dev, now);
	mac = cookie_validate_packet(&dev->cookie_checker, buf, len, src, load);
	if (mac == INVALID_MAC) {
		STAT_INC(dev, rx_bad_mac);
		return false;
	}
	if (load) {
		if (mac != VALID_MAC_WITH_COOKIE) {
			if (ratelimiter_allow(dev->ratelimiter, src, now))
				send_cookie_reply(dev, buf, len, src);
			else
				STAT_INC(dev, handshake_dropped);
			return false;
		}
		if (!ratelimiter_allow(dev->ratelimiter, src, now)) {
			STAT_INC(dev, handshake_dropped);
			return false;
		}
	}
	enqueue_handshake(dev, buf, len, src);
	return true;
}

static void receive_one(struct rx_ctx *c, uint8_t *buf, size_t len, union sockaddr_any *src, uint64_t now,
			bool *wake)
{
	struct wg_device *dev = c->dev;
	enum message_type type = message_classify(buf, len);

	switch (type) {
	case MESSAGE_DATA:
		receive_data(c, buf, len, src, now);
		break;
	case MESSAGE_HANDSHAKE_INITIATION:
	case MESSAGE_HANDSHAKE_RESPONSE:
	case MESSAGE_HANDSHAKE_COOKIE:
		*wake |= receive_handshake(dev, type, buf, len, src, now);
		break;
	default: {
		wg_stray_fn fn = atomic_load(&dev->stray_fn);

		if (fn)
			fn(atomic_load(&dev->stray_ctx), buf, len, src);
		else
			STAT_INC(dev, rx_invalid);
		break;
	}
	}
}

/* The segment size of datagrams coalesced by UDP GRO, or 0. */
static size_t gro_size(const struct msghdr *h)
{
	const struct cmsghdr *cm;

	for (cm = CMSG_FIRSTHDR(h); cm; cm = CMSG_NXTHDR((struct msghdr *)h, (struct cmsghdr *)cm)) {
		if (cm->cmsg_level == SOL_UDP && cm->cmsg_type == UDP_GRO && cm->cmsg_len >= CMSG_LEN(sizeof(int))) {
			int size;

			memcpy(&size, CMSG_DATA(cm), sizeof(size));
			return size > 0 ? (size_t)size : 0;
		}
	}
	return 0;
}

static void receive_batch(struct rx_ctx *c, unsigned n)
{
	struct wg_device *dev = c->dev;
	uint64_t now = time_now_ns(), one = 1;
	bool wake = false;
	unsigned i;

	pthread_rwlock_rdlock(&dev->cfg_lock);
	for (i = 0; i < n; i++) {
		uint8_t *buf = c->slots + (size_t)i * DEVICE_SLOT_SIZE;
		size_t total = c->msgs[i].msg_len, seg = gro_size(&c->msgs[i].msg_hdr), off;
		union sockaddr_any *src = &c->addrs[i];

		if (c->msgs[i].msg_hdr.msg_flags & MSG_TRUNC) {
			STAT_INC(dev, rx_invalid);
			continue;
		}
		addr_unmap(src);
		if (!seg || seg >= total) {
			receive_one(c, buf, total, src, now, &wake);
			continue;
		}
		/* Coalesced by UDP GRO: datagrams of seg bytes, the last shorter.
		 * Each is handled in place, in order. */
		for (off = 0; off < total; off += seg)
			receive_one(c, buf + off, total - off < seg ? total - off : seg, src, now, &wake);
	}
	receive_jobs(c, now);
	run_flush(c, now);
	pthread_rwlock_unlock(&dev->cfg_lock);
	gro_flush(c);
	if (wake && write(dev->hs_efd, &one, sizeof(one)) < 0) {
		/* cannot overflow in practice */
	}
}

static int receive_some(struct rx_ctx *c, int fd)
{
	unsigned i;
	int n;

	for (i = 0; i < DEVICE_BATCH; i++) {
		c->iovs[i].iov_base = c->slots + (size_t)i * DEVICE_SLOT_SIZE;
		c->iovs[i].iov_len = DEVICE_SLOT_SIZE;
		memset(&c->msgs[i].msg_hdr, 0, sizeof(c->msgs[i].msg_hdr));
		c->msgs[i].msg_hdr.msg_name = &c->addrs[i];
		c->msgs[i].msg_hdr.msg_namelen = sizeof(c->addrs[i]);
		c->msgs[i].msg_hdr.msg_iov = &c->iovs[i];
		c->msgs[i].msg_hdr.msg_iovlen = 1;
		c->msgs[i].msg_hdr.msg_control = c->ctrl[i].buf;
		c->msgs[i].msg_hdr.msg_controllen = sizeof(c->ctrl[i].buf);
	}
	n = recvmmsg(fd, c->msgs, DEVICE_BATCH, MSG_DONTWAIT, NULL);
	if (n > 0)
		receive_batch(c, (unsigned)n);
	return n;
}

/* Data first: the data socket is drained (a few batches) before each batch
 * of the handshake socket, so a handshake flood cannot starve the tunnel. */
#define DATA_BATCHES_PER_ROUND 8

void *receive_thread(void *arg)
{
	struct wg_device *dev = arg;
	struct rx_ctx *c = calloc(1, sizeof(*c));
	struct device_sched sched;

	device_sched_init(&sched);
	if (!c || !(c->slots = malloc((size_t)DEVICE_BATCH * DEVICE_SLOT_SIZE)) ||
	    !(c->gro.buf = malloc(OFFLOAD_VNET_HDR_LEN + OFFLOAD_MAX_PACKET)) ||
	    !(c->jobs = calloc(RX_MAX_JOBS, sizeof(*c->jobs)))) {
		log_error("%s: receive thread: out of memory", dev->tun.ifname);
		if (c) {
			free(c->gro.buf);
			free(c->slots);
		}
		free(c);
		return NULL;
	}
	c->dev = dev;
	for (;;) {
		struct pollfd pfd[4] = {
			{ .fd = dev->sock.fd, .events = POLLIN },
			{ .fd = dev->stop_efd, .events = POLLIN },
			{ .fd = dev->rx_efd, .events = POLLIN },
			{ .fd = dev->sock.hs_fd, .events = POLLIN },
		};
		uint64_t v, woke;
		int n, k;

		if (!device_poll(dev, pfd, 4))
			break;
		woke = time_now_ns();
		if (pfd[2].revents && read(dev->rx_efd, &v, sizeof(v)) < 0) {
			/* drained already */
		}
		do {
			for (k = 0; k < DATA_BATCHES_PER_ROUND; k++)
				if (receive_some(c, dev->sock.fd) < DEVICE_BATCH)
					break;
			n = dev->sock.hs_fd >= 0 ? receive_some(c, dev->sock.hs_fd) : 0;
		} while (n == DEVICE_BATCH && !atomic_load_explicit(&dev->stopping, memory_order_relaxed));
		device_sched_account(&sched, woke, time_now_ns());
	}
	free(c->jobs);
	free(c->gro.buf);
	free(c->slots);
	free(c);
	return NULL;
}

/* ---- the handshake thread ---- */

/* Derives the session of a completed handshake and installs its keypair in
 * place of the handshake's index entry. Peer lock held. */
static bool install_session(struct wg_device *dev, struct wg_peer *peer, uint64_t now)
{
	struct noise_session session;
	struct keypair *kp = NULL;
	bool ok = false;

	if (!noise_derive_session(&peer->handshake, &session)) {
		kp = keypair_create(&session, peer, now);
		ok = kp && index_replace(dev->index, &peer->hs_entry, &kp->entry);
	}
	wg_wipe(&session, sizeof(session));
	if (ok)
		keypairs_add(&peer->keypairs, dev->index, kp);
	else
		keypair_put(kp);
	return ok;
}

static void consume_initiation(struct wg_device *dev, const struct hs_work *w, uint64_t now)
{
	const struct message_handshake_initiation *msg = (const void *)w->msg;
	struct message_handshake_response resp;
	struct noise_initiation_scratch s;
	struct wg_peer *peer;
	union sockaddr_any ep;
	int err;

	if (noise_consume_initiation_begin(msg, &dev->identity, &s)) {
		STAT_INC(dev, rx_bad_auth);
		wg_wipe(&s, sizeof(s));
		return;
	}
	peer = peer_table_lookup(dev->peers, s.remote_static);
	if (!peer) {
		STAT_INC(dev, rx_bad_auth);
		wg_wipe(&s, sizeof(s));
		return;
	}
	pthread_mutex_lock(&peer->lock);
	err = noise_consume_initiation_finish(&s, &peer->handshake, now);
	if (err) {
		pthread_mutex_unlock(&peer->lock);
		if (err == -EBADMSG)
			STAT_INC(dev, rx_bad_auth);
		else
			STAT_INC(dev, handshake_dropped);
		log_debug("%s: handshake initiation refused: %d", peer->label, err);
		return;
	}
	peer->endpoint = w->src;
	timers_any_authenticated_packet_received(&peer->timers);
	timers_any_authenticated_packet_traversal(&peer->timers, now);

	peer->handshake.local_index = index_insert(dev->index, &peer->hs_entry);
	err = noise_create_response(&resp, &peer->handshake);
	if (!err)
		cookie_add_mac_to_packet(&resp, sizeof(resp), &peer->cookie_maker);
	if (err || !install_session(dev, peer, now)) {
		index_remove(dev->index, &peer->hs_entry);
		noise_handshake_clear(&peer->handshake);
		pthread_mutex_unlock(&peer->lock);
		log_debug("%s: cannot answer a handshake initiation", peer->label);
		return;
	}
	timers_session_derived(&peer->timers, now);
	timers_any_authenticated_packet_traversal(&peer->timers, now);
	timers_any_authenticated_packet_sent(&peer->timers);
	ep = peer->endpoint;
	pthread_mutex_unlock(&peer->lock);
	log_debug("%s: received handshake initiation, sending response", peer->label);
	atomic_fetch_add(&peer->rx_bytes, sizeof(*msg));
	if (!socket_send(&dev->sock, &ep, &resp, sizeof(resp)))
		atomic_fetch_add(&peer->tx_bytes, sizeof(resp));
}

static void consume_response(struct wg_device *dev, const struct hs_work *w, uint64_t now)
{
	const struct message_handshake_response *msg = (const void *)w->msg;
	uint32_t index = le32_load(&msg->receiver_index);
	struct wg_peer *peer;
	int err;

	peer = index_lookup(dev->index, index, INDEX_HANDSHAKE, NULL, NULL);
	if (!peer) {
		STAT_INC(dev, rx_no_keypair);
		return;
	}
	pthread_mutex_lock(&peer->lock);
	if (peer->handshake.state != HANDSHAKE_CREATED_INITIATION || peer->handshake.local_index != index ||
	    !peer->hs_entry.hashed) {
		pthread_mutex_unlock(&peer->lock);
		STAT_INC(dev, handshake_dropped);
		return;
	}
	err = noise_consume_response(msg, &peer->handshake, &dev->identity);
	if (err) {
		pthread_mutex_unlock(&peer->lock);
		STAT_INC(dev, rx_bad_auth);
		return;
	}
	if (!install_session(dev, peer, now)) {
		index_remove(dev->index, &peer->hs_entry);
		pthread_mutex_unlock(&peer->lock);
		return;
	}
	peer->endpoint = w->src;
	timers_any_authenticated_packet_received(&peer->timers);
	timers_any_authenticated_packet_traversal(&peer->timers, now);
	timers_handshake_complete(&peer->timers);
	timers_session_derived(&peer->timers, now);
	peer->last_handshake_wall_ns = (int64_t)time_wall_ns();
	pthread_mutex_unlock(&peer->lock);
	log_debug("%s: received handshake response, session up", peer->label);
	atomic_fetch_add(&peer->rx_bytes, sizeof(*msg));
	/* Confirm the session to the responder (with data if some waits). */
	send_keepalive(dev, peer);
}

void *receive_handshake_thread(void *arg)
{
	struct wg_device *dev = arg;
	struct hs_work *work = calloc(DEVICE_HS_BATCH, sizeof(*work));

	if (!work) {
		log_error("%s: handshake thread: out of memory", dev->tun.ifname);
		return NULL;
	}
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = dev->hs_efd, .events = POLLIN },
			{ .fd = dev->stop_efd, .events = POLLIN },
		};
		uint64_t v;

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pfd[1].revents)
			break;
		if (read(dev->hs_efd, &v, sizeof(v)) < 0) {
			/* another wakeup raced us */
		}
		for (;;) {
			struct wg_peer *peers[DEVICE_HS_BATCH];
			unsigned nw = 0, np = 0, i;
			uint64_t now;

			pthread_rwlock_rdlock(&dev->cfg_lock);
			pthread_mutex_lock(&dev->hs_lock);
			while (nw < DEVICE_HS_BATCH && dev->hs_count) {
				work[nw++] = dev->hs_ring[dev->hs_head];
				dev->hs_head = (dev->hs_head + 1) % MAX_QUEUED_INCOMING_HANDSHAKES;
				dev->hs_count--;
			}
			atomic_store(&dev->hs_queue_len, dev->hs_count);
			while (np < DEVICE_HS_BATCH && dev->init_count) {
				peers[np++] = dev->init_ring[dev->init_head];
				dev->init_head = (dev->init_head + 1) % DEVICE_INIT_RING;
				dev->init_count--;
			}
			pthread_mutex_unlock(&dev->hs_lock);
			if (!nw && !np) {
				pthread_rwlock_unlock(&dev->cfg_lock);
				break;
			}
			now = time_now_ns();
			for (i = 0; i < nw; i++) {
				switch (message_classify(work[i].msg, work[i].len)) {
				case MESSAGE_HANDSHAKE_INITIATION:
					consume_initiation(dev, &work[i], now);
					break;
				case MESSAGE_HANDSHAKE_RESPONSE:
					consume_response(dev, &work[i], now);
					break;
				default:
					break;
				}
			}
			for (i = 0; i < np; i++) {
				atomic_store(&peers[i]->initiation_queued, false);
				send_initiation(dev, peers[i]);
			}
			pthread_rwlock_unlock(&dev->cfg_lock);
			if (atomic_load_explicit(&dev->stopping, memory_order_relaxed))
				break;
		}
	}
	wg_wipe(work, DEVICE_HS_BATCH * sizeof(*work));
	free(work);
	return NULL;
}
