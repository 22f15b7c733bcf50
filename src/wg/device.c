/* The device: creation and teardown of the TUN, the socket and the four
 * threads (receive, send, handshake, timers), configuration changes
 * (apply) and snapshots (get). Locking is described in device.h. */
#include "wg/device.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/key.h"
#include "common/log.h"
#include "common/timeutil.h"
#include "wg/crypto.h"

#define TIMER_TICK_MS 50

int wg_init(void)
{
	int err = wg_crypto_init();

	if (err)
		return err;
	noise_init();
	return 0;
}

/* ---- peers ---- */

void device_forget_initiation(struct wg_device *dev, struct wg_peer *peer)
{
	unsigned i, kept = 0;
	struct wg_peer *keep[DEVICE_INIT_RING];

	pthread_mutex_lock(&dev->hs_lock);
	for (i = 0; i < dev->init_count; i++) {
		struct wg_peer *p = dev->init_ring[(dev->init_head + i) % DEVICE_INIT_RING];

		if (p != peer)
			keep[kept++] = p;
	}
	memcpy(dev->init_ring, keep, kept * sizeof(keep[0]));
	dev->init_head = 0;
	dev->init_count = kept;
	pthread_mutex_unlock(&dev->hs_lock);
}

void device_peer_zero_keys(struct wg_device *dev, struct wg_peer *peer)
{
	pthread_mutex_lock(&peer->lock);
	keypairs_clear(&peer->keypairs, dev->index);
	index_remove(dev->index, &peer->hs_entry);
	noise_handshake_clear(&peer->handshake);
	pthread_mutex_unlock(&peer->lock);
}

/* cfg_lock held for writing. */
static void remove_peer(struct wg_device *dev, struct wg_peer *peer)
{
	pthread_mutex_lock(&peer->lock);
	peer->dead = true;
	keypairs_clear(&peer->keypairs, dev->index);
	index_remove(dev->index, &peer->hs_entry);
	noise_handshake_clear(&peer->handshake);
	timers_stop(&peer->timers);
	peer_clear_staged(peer);
	pthread_mutex_unlock(&peer->lock);
	allowedips_remove_by_peer(dev->aips, peer);
	peer_table_del(dev->peers, peer);
	device_forget_initiation(dev, peer);
	log_info("%s removed", peer->label);
	peer_free(peer);
}

static void remove_all_peers(struct wg_device *dev)
{
	struct wg_peer *p;

	while ((p = peer_table_first(dev->peers)))
		remove_peer(dev, p);
}

/* ---- the timer thread ---- */

static void timers_run(struct wg_device *dev, uint64_t now)
{
	struct wg_peer *p;

	pthread_rwlock_rdlock(&dev->cfg_lock);
	for (p = peer_table_first(dev->peers); p; p = p->list_next) {
		unsigned a;

		pthread_mutex_lock(&p->lock);
		a = timers_tick(&p->timers, now);
		if (a & TIMERS_GIVE_UP)
			peer_clear_staged(p);
		pthread_mutex_unlock(&p->lock);
		if (!a)
			continue;
		if (a & TIMERS_GIVE_UP)
			log_debug("%s: handshake did not complete after %d attempts, giving up", p->label,
				  MAX_TIMER_HANDSHAKES + 2);
		if (a & TIMERS_ZERO_KEYS) {
			log_debug("%s: zeroing keys after %d s without a new handshake", p->label,
				  REJECT_AFTER_TIME_S * 3);
			device_peer_zero_keys(dev, p);
		}
		if (a & TIMERS_SEND_INITIATION)
			send_request_initiation(dev, p, true);
		if (a & TIMERS_SEND_KEEPALIVE)
			send_keepalive(dev, p);
	}
	pthread_rwlock_unlock(&dev->cfg_lock);
}

static void *timer_thread(void *arg)
{
	struct wg_device *dev = arg;
	uint64_t last_mtu = 0;

	for (;;) {
		struct pollfd pfd = { .fd = dev->stop_efd, .events = POLLIN };
		uint64_t now;
		int r = poll(&pfd, 1, TIMER_TICK_MS);

		if (r < 0 && errno != EINTR)
			break;
		if (r > 0)
			break;
		now = time_now_ns();
		timers_run(dev, now);
		if (now - last_mtu >= NSEC_PER_SEC) {
			/* The MTU may be changed with ip link; padding follows it. */
			unsigned mtu;

			if (!tun_read_mtu(&dev->tun, &mtu))
				atomic_store(&dev->mtu, mtu);
			last_mtu = now;
		}
	}
	return NULL;
}

/* ---- the data threads' waiting and scheduling ---- */

bool device_poll(struct wg_device *dev, struct pollfd *pfd, nfds_t n)
{
	while (poll(pfd, n, -1) < 0) {
		if (errno != EINTR) {
			log_error("%s: poll: %s", dev->tun.ifname, strerror(errno));
			return false;
		}
	}
	return !pfd[1].revents;
}


/* struct sched_attr as sched_setattr(2) defines it (SCHED_ATTR_SIZE_VER0);
 * <linux/sched/types.h> cannot be included beside <sched.h>. */
struct sched_attr_v0 {
	uint32_t size, sched_policy;
	uint64_t sched_flags;
	int32_t sched_nice;
	uint32_t sched_priority;
	uint64_t sched_runtime, sched_deadline, sched_period;
};

#define DATA_THREAD_SLICE_NS 100000
#define SCHED_WINDOW_NS (50 * NSEC_PER_MSEC)

/* The time slice of the calling (SCHED_OTHER) thread: short, or the
 * scheduler's default. Older kernels ignore the field. Same nice value. */
static void set_slice(bool short_slice)
{
	struct sched_attr_v0 a = {
		.size = sizeof(a),
		.sched_policy = SCHED_OTHER,
		.sched_runtime = short_slice ? DATA_THREAD_SLICE_NS : 0,
	};

	errno = 0;
	a.sched_nice = getpriority(PRIO_PROCESS, 0);
	if (errno || syscall(SYS_sched_setattr, 0, &a, 0))
		log_debug("cannot set a data thread's time slice: %s", strerror(errno));
}

/* A short time slice makes the EEVDF scheduler (Linux 6.12 and later) run
 * a thread sooner when it wakes, for a shorter time. That is what a data
 * thread that wakes for a few packets wants: a ping or the ACKs of a bulk
 * transfer in the other direction wait less behind saturated CPUs (median
 * RTT under load ~1.7 -> ~1.45 ms here). A thread busy moving bulk
 * traffic would only be preempted more often with it (-6 % throughput
 * here), so the slice follows the thread's load: short while it was busy
 * less than half of the last 50 ms window, the default otherwise. */
void device_sched_init(struct device_sched *s)
{
	s->window_start = time_now_ns();
	s->busy_ns = 0;
	s->short_slice = true;
	set_slice(true);
}

void device_sched_account(struct device_sched *s, uint64_t busy_from, uint64_t now)
{
	bool want;

	s->busy_ns += now - busy_from;
	if (now - s->window_start < SCHED_WINDOW_NS)
		return;
	want = s->busy_ns * 2 < now - s->window_start;
	if (want != s->short_slice) {
		s->short_slice = want;
		set_slice(want);
	}
	s->window_start = now;
	s->busy_ns = 0;
}

/* ---- life cycle ---- */

static int make_eventfd(int *fd)
{
	*fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	return *fd < 0 ? -errno : 0;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void stop_threads(struct wg_device *dev)
{
	unsigned i;

	wg_device_stop(dev);
	for (i = 0; i < dev->n_threads; i++)
		pthread_join(dev->threads[i], NULL);
	dev->n_threads = 0;
}

static void free_device(struct wg_device *dev)
{
	close_fd(&dev->stop_efd);
	close_fd(&dev->dead_efd);
	close_fd(&dev->hs_efd);
	close_fd(&dev->rx_efd);
	close_fd(&dev->endpoint_fd);   /* never taken */
	if (dev->hs_ring) {
		wg_wipe(dev->hs_ring, MAX_QUEUED_INCOMING_HANDSHAKES * sizeof(*dev->hs_ring));
		free(dev->hs_ring);
	}
	ratelimiter_free(dev->ratelimiter);
	index_table_free(dev->index);
	peer_table_free(dev->peers);
	allowedips_free(dev->aips);
	cookie_checker_destroy(&dev->cookie_checker);
	pool_destroy(dev->pool);
	pthread_mutex_destroy(&dev->hs_lock);
	pthread_rwlock_destroy(&dev->cfg_lock);
	wg_wipe(&dev->identity, sizeof(dev->identity));
	free(dev);
}

/* By default one worker per CPU beyond the two that the send and receive
 * threads keep busy under load: on two CPUs a worker only takes time from
 * them (measured: -10 % in a single-flow benchmark with both ends on two
 * CPUs, where the machine is already saturated). */
static unsigned crypto_workers(const struct wg_device_opts *opts)
{
	long cpus;

	if (opts && opts->crypto_workers < 0)
		return 0;
	if (opts && opts->crypto_workers > 0)
		return opts->crypto_workers > WG_MAX_CRYPTO_WORKERS ? WG_MAX_CRYPTO_WORKERS
								     : (unsigned)opts->crypto_workers;
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (cpus <= 2)
		return 0;
	return cpus - 2 > WG_MAX_CRYPTO_WORKERS ? WG_MAX_CRYPTO_WORKERS : (unsigned)(cpus - 2);
}

int wg_device_create(struct wg_device **out, const struct wg_device_opts *opts)
{
	static void *(*const fns[])(void *) = { receive_thread, send_thread, receive_handshake_thread, timer_thread };
	pthread_rwlockattr_t attr;
	struct wg_device *dev;
	unsigned i;
	int err;

	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->stop_efd = dev->dead_efd = dev->hs_efd = dev->rx_efd = -1;
	dev->tun.fd = dev->sock.fd = dev->sock.hs_fd = dev->endpoint_fd = -1;
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	pthread_rwlock_init(&dev->cfg_lock, &attr);
	pthread_rwlockattr_destroy(&attr);
	pthread_mutex_init(&dev->hs_lock, NULL);
	cookie_checker_init(&dev->cookie_checker);
	dev->next_peer_id = 1;

	err = allowedips_create(&dev->aips);
	if (!err)
		err = peer_table_create(&dev->peers);
	if (!err)
		err = index_table_create(&dev->index);
	if (!err)
		err = ratelimiter_create(&dev->ratelimiter);
	if (!err && !(dev->hs_ring = calloc(MAX_QUEUED_INCOMING_HANDSHAKES, sizeof(*dev->hs_ring))))
		err = -ENOMEM;
	if (!err)
		err = pool_create(&dev->pool, crypto_workers(opts), "wg-crypto");
	if (!err)
		err = make_eventfd(&dev->stop_efd);
	if (!err)
		err = make_eventfd(&dev->dead_efd);
	if (!err)
		err = make_eventfd(&dev->hs_efd);
	if (!err)
		err = make_eventfd(&dev->rx_efd);
	if (err)
		goto err_free;

	if (opts && opts->packet_endpoint)
		err = tun_open_endpoint(&dev->tun, opts->ifname ? opts->ifname : "wg-endpoint", opts->mtu,
					&dev->endpoint_fd);
	else
		err = tun_open(&dev->tun, opts && opts->ifname ? opts->ifname : "wg%d",
			       opts ? opts->tun_fd : -1, opts ? opts->mtu : 0);
	if (err) {
		log_error("cannot open the TUN device: %s", strerror(-err));
		goto err_free;
	}
	atomic_store(&dev->mtu, dev->tun.mtu);
	err = socket_open(&dev->sock, 0, 0);
	if (err) {
		log_error("%s: cannot open the UDP socket: %s", dev->tun.ifname, strerror(-err));
		goto err_close_tun;
	}

	for (i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		err = -pthread_create(&dev->threads[i], NULL, fns[i], dev);
		if (err)
			goto err_stop_threads;
		dev->n_threads++;
	}
	log_info("%s: device created (mtu %u, port %u, %u crypto workers)", dev->tun.ifname, dev->tun.mtu,
		 dev->sock.port, pool_workers(dev->pool));
	*out = dev;
	return 0;

err_stop_threads:
	stop_threads(dev);
	socket_close(&dev->sock);
err_close_tun:
	tun_close(&dev->tun);
err_free:
	free_device(dev);
	return err;
}

const char *wg_device_ifname(const struct wg_device *dev)
{
	return dev->tun.ifname;
}

int wg_device_ifindex(const struct wg_device *dev)
{
	return dev->tun.ifindex;
}

int wg_device_take_endpoint(struct wg_device *dev)
{
	int fd = dev->endpoint_fd;

	dev->endpoint_fd = -1;
	return fd >= 0 ? fd : -EBADF;
}

void wg_device_stop(struct wg_device *dev)
{
	uint64_t one = 1;

	/* write(2) on an eventfd, and a lock-free atomic store, are
	 * async-signal-safe. */
	atomic_store(&dev->stopping, true);
	if (write(dev->stop_efd, &one, sizeof(one)) < 0) {
		/* already signalled enough */
	}
}

int wg_device_wait(struct wg_device *dev)
{
	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = dev->stop_efd, .events = POLLIN },
			{ .fd = dev->dead_efd, .events = POLLIN },
		};

		if (poll(pfd, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (pfd[0].revents)
			return 0;
		if (pfd[1].revents)
			return -ENODEV;
	}
}

int wg_device_dead_fd(const struct wg_device *dev)
{
	return dev->dead_efd;
}

void wg_device_destroy(struct wg_device *dev)
{
	char ifname[sizeof(dev->tun.ifname)];

	if (!dev)
		return;
	memcpy(ifname, dev->tun.ifname, sizeof(ifname));
	stop_threads(dev);
	pthread_rwlock_wrlock(&dev->cfg_lock);
	remove_all_peers(dev);
	pthread_rwlock_unlock(&dev->cfg_lock);
	socket_close(&dev->sock);
	tun_close(&dev->tun);
	free_device(dev);
	log_info("%s: device destroyed", ifname);
}

/* ---- apply ---- */

static int validate_cidr(const struct cidr *c)
{
	if (c->family == AF_INET)
		return c->prefix <= 32 ? 0 : -EINVAL;
	if (c->family == AF_INET6)
		return c->prefix <= 128 ? 0 : -EINVAL;
	return -EINVAL;
}

static int validate(const struct wg_config *c)
{
	size_t i, j;

	if (c->n_peers && !c->peers)
		return -EINVAL;
	if (c->n_peers > MAX_PEERS_PER_DEVICE)
		return -E2BIG;
	for (i = 0; i < c->n_peers; i++) {
		const struct wg_peer_config *p = &c->peers[i];

		if (p->has_endpoint && p->endpoint.sa.sa_family != AF_INET && p->endpoint.sa.sa_family != AF_INET6)
			return -EINVAL;
		if (p->n_allowed_ips && !p->allowed_ips)
			return -EINVAL;
		for (j = 0; j < p->n_allowed_ips; j++)
			if (validate_cidr(&p->allowed_ips[j]))
				return -EINVAL;
	}
	return 0;
}

static bool is_own_key(const struct wg_device *dev, const uint8_t key[WG_KEY_SIZE])
{
	return dev->identity.has_identity && !memcmp(dev->identity.static_public, key, WG_KEY_SIZE);
}

static void set_identity(struct wg_device *dev, const uint8_t priv[WG_KEY_SIZE], const uint8_t pub[WG_KEY_SIZE])
{
	struct wg_peer *p, *next;

	if (priv && dev->identity.has_identity && wg_equal(dev->identity.static_private, priv, WG_KEY_SIZE))
		return;
	wg_wipe(&dev->identity, sizeof(dev->identity));
	if (priv) {
		memcpy(dev->identity.static_private, priv, WG_KEY_SIZE);
		memcpy(dev->identity.static_public, pub, WG_KEY_SIZE);
		dev->identity.has_identity = true;
	}
	cookie_checker_set_key(&dev->cookie_checker, priv ? pub : NULL);
	for (p = peer_table_first(dev->peers); p; p = next) {
		next = p->list_next;
		if (is_own_key(dev, p->public_key)) {
			remove_peer(dev, p); /* as wireguard-go: no peer with our own key */
			continue;
		}
		pthread_mutex_lock(&p->lock);
		index_remove(dev->index, &p->hs_entry);
		noise_handshake_precompute(&p->handshake, &dev->identity);
		keypairs_expire_current(&p->keypairs);
		pthread_mutex_unlock(&p->lock);
	}
}

static int apply_peer(struct wg_device *dev, const struct wg_peer_config *pc, struct wg_peer **fresh)
{
	struct wg_peer *p = peer_table_lookup(dev->peers, pc->public_key);
	bool kick = false;
	size_t j;
	int err;

	if (pc->remove) {
		if (p)
			remove_peer(dev, p);
		return 0;
	}
	if (!p) {
		if (pc->update_only || is_own_key(dev, pc->public_key))
			return 0;
		if (peer_table_count(dev->peers) >= MAX_PEERS_PER_DEVICE)
			return -E2BIG;
		p = *fresh;
		*fresh = NULL;
		peer_set_id(p, dev->tun.ifname, dev->next_peer_id++);
		noise_handshake_precompute(&p->handshake, &dev->identity);
		peer_table_add(dev->peers, p);
		log_info("%s created", p->label);
	}
	pthread_mutex_lock(&p->lock);
	if (pc->has_preshared_key)
		noise_handshake_set_psk(&p->handshake, key_is_zero(pc->preshared_key) ? NULL : pc->preshared_key);
	if (pc->has_endpoint)
		p->endpoint = pc->endpoint;
	if (pc->has_persistent_keepalive)
		kick = timers_set_persistent_keepalive(&p->timers, pc->persistent_keepalive_interval);
	pthread_mutex_unlock(&p->lock);
	if (pc->replace_allowed_ips)
		allowedips_remove_by_peer(dev->aips, p);
	for (j = 0; j < pc->n_allowed_ips; j++) {
		struct cidr c = pc->allowed_ips[j];

		cidr_normalize(&c);
		err = allowedips_insert(dev->aips, &c, p);
		if (err)
			return err;
	}
	/* Turned on for a running device: one keepalive now, as the kernel
	 * does (the identity was set above, before the peers). */
	if (kick && dev->identity.has_identity)
		send_keepalive(dev, p);
	return 0;
}

int wg_device_apply(struct wg_device *dev, const struct wg_config *c)
{
	uint8_t pub[WG_KEY_SIZE];
	struct wg_socket fresh_sock = { .fd = -1, .hs_fd = -1 };
	struct wg_peer **fresh = NULL; /* preallocated, one per peer config (or NULL) */
	bool has_priv = false;
	size_t i;
	int err;

	err = validate(c);
	if (err)
		return err;
	if (c->has_private_key && !key_is_zero(c->private_key)) {
		if (key_public_from_private(pub, c->private_key))
			return -EINVAL;
		has_priv = true;
	}
	if (c->n_peers && !(fresh = calloc(c->n_peers, sizeof(*fresh)))) {
		err = -ENOMEM;
		goto out_free;
	}
	/* Allocate every peer that may be created, so that nothing fails
	 * for want of memory half way. */
	for (i = 0; i < c->n_peers; i++) {
		const struct wg_peer_config *pc = &c->peers[i];

		if (pc->remove || pc->update_only)
			continue;
		fresh[i] = peer_create(0, pc->public_key, NULL);
		if (!fresh[i]) {
			err = -ENOMEM;
			goto out_free;
		}
	}

	pthread_rwlock_wrlock(&dev->cfg_lock);
	/* A new port, or 0 (random) after a fixed one: rebind. */
	if (c->has_listen_port && c->listen_port != dev->sock.port &&
	    !(c->listen_port == 0 && !dev->has_listen_port)) {
		err = socket_prepare(&fresh_sock, c->listen_port, c->has_fwmark ? c->fwmark : dev->sock.fwmark);
		if (err)
			goto out_unlock;
	}
	if (c->has_fwmark && c->fwmark != dev->sock.fwmark) {
		err = socket_set_fwmark(&dev->sock, c->fwmark);
		if (err)
			goto out_unlock;
	}
	if (fresh_sock.fd >= 0) {
		uint64_t one = 1;

		err = socket_adopt(&dev->sock, &fresh_sock);
		if (err)
			goto out_unlock;
		if (write(dev->rx_efd, &one, sizeof(one)) < 0) {
			/* the receive thread wakes anyway */
		}
		log_info("%s: listening on port %u", dev->tun.ifname, dev->sock.port);
	}
	if (c->has_listen_port)
		dev->has_listen_port = c->listen_port != 0;
	if (c->has_private_key)
		set_identity(dev, has_priv ? c->private_key : NULL, pub);
	if (c->replace_peers)
		remove_all_peers(dev);
	for (i = 0; i < c->n_peers; i++) {
		err = apply_peer(dev, &c->peers[i], &fresh[i]);
		if (err) {
			log_warn("%s: applying a peer: %s", dev->tun.ifname, strerror(-err));
			break;
		}
	}
out_unlock:
	pthread_rwlock_unlock(&dev->cfg_lock);
out_free:
	if (fresh_sock.fd >= 0)
		socket_close(&fresh_sock);
	for (i = 0; fresh && i < c->n_peers; i++)
		peer_free(fresh[i]);
	free(fresh);
	wg_wipe(pub, sizeof(pub));
	return err;
}

/* ---- get ---- */

struct aip_collect {
	struct cidr *v;
	size_t n, cap;
	int err;
};

static int collect_aip(void *ctx, const struct cidr *prefix)
{
	struct aip_collect *a = ctx;

	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 8;
		struct cidr *v = realloc(a->v, cap * sizeof(*v));

		if (!v) {
			a->err = -ENOMEM;
			return 1;
		}
		a->v = v;
		a->cap = cap;
	}
	a->v[a->n++] = *prefix;
	return 0;
}

int wg_device_get(struct wg_device *dev, struct wg_device_info **out)
{
	struct wg_device_info *info = calloc(1, sizeof(*info));
	struct wg_peer *p;
	size_t i = 0;
	int err = 0;

	if (!info)
		return -ENOMEM;
	pthread_rwlock_rdlock(&dev->cfg_lock);
	snprintf(info->ifname, sizeof(info->ifname), "%s", dev->tun.ifname);
	info->has_private_key = dev->identity.has_identity;
	if (info->has_private_key) {
		memcpy(info->private_key, dev->identity.static_private, WG_KEY_SIZE);
		memcpy(info->public_key, dev->identity.static_public, WG_KEY_SIZE);
	}
	info->listen_port = dev->sock.port;
	info->fwmark = dev->sock.fwmark;
	info->n_peers = peer_table_count(dev->peers);
	if (info->n_peers && !(info->peers = calloc(info->n_peers, sizeof(*info->peers)))) {
		err = -ENOMEM;
		goto out_unlock;
	}
	for (p = peer_table_first(dev->peers); p && i < info->n_peers; p = p->list_next, i++) {
		struct wg_peer_info *pi = &info->peers[i];
		struct aip_collect a = { 0 };

		memcpy(pi->public_key, p->public_key, WG_KEY_SIZE);
		pthread_mutex_lock(&p->lock);
		pi->has_preshared_key = !key_is_zero(p->handshake.preshared_key);
		if (pi->has_preshared_key)
			memcpy(pi->preshared_key, p->handshake.preshared_key, WG_KEY_SIZE);
		pi->endpoint = p->endpoint;
		pi->persistent_keepalive_interval = p->timers.persistent_keepalive_interval;
		pi->last_handshake_sec = p->last_handshake_wall_ns / (int64_t)NSEC_PER_SEC;
		pi->last_handshake_nsec = p->last_handshake_wall_ns % (int64_t)NSEC_PER_SEC;
		pthread_mutex_unlock(&p->lock);
		pi->rx_bytes = atomic_load(&p->rx_bytes);
		pi->tx_bytes = atomic_load(&p->tx_bytes);
		allowedips_walk_by_peer(dev->aips, p, collect_aip, &a);
		if (a.err) {
			free(a.v);
			err = a.err;
			goto out_unlock;
		}
		pi->allowed_ips = a.v;
		pi->n_allowed_ips = a.n;
	}
out_unlock:
	pthread_rwlock_unlock(&dev->cfg_lock);
	if (err) {
		wg_device_info_free(info);
		return err;
	}
	*out = info;
	return 0;
}

void wg_device_info_free(struct wg_device_info *info)
{
	size_t i;

	if (!info)
		return;
	for (i = 0; i < info->n_peers && info->peers; i++)
		free(info->peers[i].allowed_ips);
	if (info->peers)
		wg_wipe(info->peers, info->n_peers * sizeof(*info->peers));
	free(info->peers);
	wg_wipe(info, sizeof(*info));
	free(info);
}

/* ---- the rest ---- */

void wg_device_set_stray_handler(struct wg_device *dev, wg_stray_fn fn, void *ctx)
{
	atomic_store(&dev->stray_ctx, ctx);
	atomic_store(&dev->stray_fn, fn);
}

int wg_device_send_raw(struct wg_device *dev, const union sockaddr_any *to, const void *buf, size_t len)
{
	if (!to || (to->sa.sa_family != AF_INET && to->sa.sa_family != AF_INET6) || len > MESSAGE_MAX_LENGTH)
		return -EINVAL;
	return socket_send(&dev->sock, to, buf, len);
}

void wg_device_stats(struct wg_device *dev, struct wg_device_stats *out)
{
	struct device_stats *s = &dev->stats;

	out->rx_invalid = atomic_load(&s->rx_invalid);
	out->rx_bad_mac = atomic_load(&s->rx_bad_mac);
	out->rx_bad_auth = atomic_load(&s->rx_bad_auth);
	out->rx_replayed = atomic_load(&s->rx_replayed);
	out->rx_bad_source = atomic_load(&s->rx_bad_source);
	out->rx_no_keypair = atomic_load(&s->rx_no_keypair);
	out->handshake_dropped = atomic_load(&s->handshake_dropped);
	out->cookies_sent = atomic_load(&s->cookies_sent);
	out->tx_no_peer = atomic_load(&s->tx_no_peer);
	out->tx_dropped = atomic_load(&s->tx_dropped);
}
