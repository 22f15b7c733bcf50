#include "nexd/discovery.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "nexd/marks.h"
#include "nexd/oob.h"
#include "nexd/resolvconf.h"
#include "nexd/stun.h"
#include "nexd/stuncheck.h"

#define DISCOVERY_RECHECK_MS 60000
#define DISCOVERY_RETRY_MS 5000
#define DISCOVERY_RELAYED_MS 10000    /* while peers are relayed: a NAT that turns friendly is
				       * seen soon, and its new mapping published for their checks */
#define OOB_REGATHER_MS 60000
#define DISCOVERY_TICK_MS 1000
#define STUN_TRIES 3

struct discovery {
	struct worker w;
	struct discovery_config cfg;
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;            /* guards the interface and the transaction */
	pthread_cond_t cond;             /* an answer came, or stop */
	const struct wg_driver *drv;
	void *dev;
	struct stun_txid txid;           /* the STUN transaction in flight */
	bool waiting, answered;
	union sockaddr_any mapped;

	/* connectivity checks (under lock) */
	struct discovery_check *checks;
	size_t n_checks;
	struct {
		uint8_t key[32];
		struct stun_txid txid;
	} *sent;                          /* the last round's requests, one per candidate */
	size_t n_sent;
	bool kicked;                      /* a round now (under lock) */
};

/* The first address of "host:port". */
static int resolve(const char *hostport, int socktype, union sockaddr_any *out)
{
	size_t n;

	return oob_resolve(hostport, socktype, out, 1, &n);
}

/* The source address the kernel picks to reach `to`: a connected UDP
 * socket sends nothing. It carries the WireGuard socket's mark, so that
 * while this device uses an exit node the answer is the uplink's address
 * (what the WireGuard socket sends from), never the tunnel's: the policy
 * rule that sends everything into the tunnel skips that mark. */
static int local_address_towards(const union sockaddr_any *to, union sockaddr_any *out)
{
	socklen_t sl = sizeof(*out);
	int fd = socket(to->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;
	unsigned mark = MARK_WG;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		r = -errno;
	else if (connect(fd, &to->sa, addr_len(to)) < 0 || getsockname(fd, &out->sa, &sl) < 0)
		r = -errno;
	close(fd);
	return r;
}

static void set_port(union sockaddr_any *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in4.sin_port = htons(port);
	else
		a->in6.sin6_port = htons(port);
}

/* The stray hook of the WireGuard socket: STUN answers. */
static void on_datagram(void *ctx, const uint8_t *buf, size_t len, const union sockaddr_any *from)
{
	struct discovery *d = ctx;
	struct stun_response resp;

	struct stun_txid txid;
	struct event e = { .type = EV_PROBE };
	bool probed = false;

	if (!stun_is_message(buf, len))
		return;
	bool for_me;

	if (stuncheck_request_parse(buf, len, d->cfg.public_key, &txid, &for_me) == 0) {
		/* a peer's connectivity check, meant for us: tell it where it
		 * comes from */
		uint8_t out[STUNCHECK_RESPONSE_MAX];
		int n = for_me ? stuncheck_response_build(out, sizeof(out), &txid, from) : -EINVAL;

		if (n > 0 && d->drv && d->drv->send_raw)
			d->drv->send_raw(d->dev, from, out, (size_t)n);
		return;
	}
	pthread_mutex_lock(&d->lock);
	if (d->waiting && stun_response_parse(buf, len, &d->txid, &resp) == 0) {
		d->mapped = resp.mapped;
		d->answered = true;
		pthread_cond_broadcast(&d->cond);
	}
	for (size_t i = 0; !probed && i < d->n_sent; i++) {
		if (memcmp(buf + 8, d->sent[i].txid.b, STUN_TXID_LEN) ||
		    stun_response_parse(buf, len, &d->sent[i].txid, &resp))
			continue;
		memcpy(e.u.probe.key, d->sent[i].key, 32);
		e.u.probe.from = *from;
		addr_unmap(&e.u.probe.from);
		probed = true;
	}
	pthread_mutex_unlock(&d->lock);
	if (probed)
		evq_post(d->w.q, &e);
}

void discovery_set_checks(struct discovery *d, const struct discovery_check *c, size_t n)
{
	struct discovery_check *copy;

	if (n > DISCOVERY_CHECKS_MAX)
		n = DISCOVERY_CHECKS_MAX;
	copy = malloc((n + 1) * sizeof(*copy));
	if (!copy)
		return;
	memcpy(copy, c, n * sizeof(*c));
	pthread_mutex_lock(&d->lock);
	free(d->checks);
	d->checks = copy;
	d->n_checks = n;
	pthread_mutex_unlock(&d->lock);
}

/* One round of checks: a Binding request to every candidate of every peer
 * the loop listed, each with a fresh transaction id. */
static void send_checks(struct discovery *d, const struct wg_driver *drv)
{
	struct { union sockaddr_any to; uint8_t msg[STUNCHECK_REQUEST_MAX]; int len; } *out;
	size_t n = 0;

	if (!drv->send_raw)
		return;
	pthread_mutex_lock(&d->lock);
	out = calloc(2 * d->n_checks + 1, sizeof(*out));
	free(d->sent);
	d->sent = calloc(2 * d->n_checks + 1, sizeof(*d->sent));
	d->n_sent = 0;
	for (size_t i = 0; out && d->sent && i < d->n_checks; i++) {
		for (size_t k = 0; k < d->checks[i].n && k < 2; k++) {
			struct stun_txid txid;
			int len = stuncheck_request_build(out[n].msg, sizeof(out[n].msg), d->checks[i].key, &txid);

			if (len < 0)
				continue;
			out[n].len = len;
			out[n].to = d->checks[i].eps[k];
			memcpy(d->sent[d->n_sent].key, d->checks[i].key, 32);
			d->sent[d->n_sent++].txid = txid;
			n++;
		}
	}
	pthread_mutex_unlock(&d->lock);
	for (size_t i = 0; out && i < n; i++)
		drv->send_raw(d->dev, &out[i].to, out[i].msg, (size_t)out[i].len);
	free(out);
}

/* One STUN Binding transaction from the WireGuard socket. */
static int stun_query(struct discovery *d, const union sockaddr_any *server, union sockaddr_any *mapped)
{
	uint8_t req[STUN_REQUEST_MAX];
	unsigned rto = STUN_RTO_MS;
	int len, r = -ETIMEDOUT;

	pthread_mutex_lock(&d->lock);
	len = stun_request_build(req, sizeof(req), true, &d->txid);
	d->waiting = true;
	d->answered = false;
	pthread_mutex_unlock(&d->lock);
	if (len < 0)
		return len;
	for (int t = 0; t < STUN_TRIES && !worker_stopping(&d->w); t++, rto *= 2) {
		struct timespec ts;

		d->drv->send_raw(d->dev, server, req, (size_t)len);
		time_deadline(&ts, CLOCK_MONOTONIC, rto);
		pthread_mutex_lock(&d->lock);
		while (!d->answered && !worker_stopping(&d->w))
			if (pthread_cond_timedwait(&d->cond, &d->lock, &ts) == ETIMEDOUT)
				break;
		if (d->answered) {
			*mapped = d->mapped;
			r = 0;
		}
		pthread_mutex_unlock(&d->lock);
		if (r == 0)
			break;
	}
	pthread_mutex_lock(&d->lock);
	d->waiting = false;
	pthread_mutex_unlock(&d->lock);
	return r;
}

/* One round. STUN goes out of `fd` when it is a socket, else through the
 * interface (d). With a socket of its own that is not bound to the
 * WireGuard port (a driver without send_raw), the mapped port is only the
 * socket's: the WireGuard port is assumed kept by the NAT. */
static void discover(const struct discovery_config *cfg, struct discovery *d, int fd, bool own_port,
		     struct ev_endpoints *out)
{
	union sockaddr_any api, local;
	char hp[300];

	memset(out, 0, sizeof(*out));
	if (oob_url_hostport(cfg->service_url, hp, sizeof(hp)) == 0 && resolve(hp, SOCK_STREAM, &api) == 0 &&
	    local_address_towards(&api, &local) == 0) {
		addr_unmap(&local);
		set_port(&local, cfg->listen_port);
		out->eps[out->n].source = API_ENDPOINT_LOCAL;
		out->eps[out->n].addr = local;
		out->n++;
	}
	for (size_t i = 0; i < cfg->n_stun && !(d && worker_stopping(&d->w)); i++) {
		union sockaddr_any server, mapped;
		char text[ADDR_ENDPOINT_STRLEN];

		if (resolve(cfg->stun_servers[i], SOCK_DGRAM, &server)) {
			log_debug("stun: cannot resolve %s", cfg->stun_servers[i]);
			continue;
		}
		if (fd >= 0) {
			struct stun_response resp;
			int r = stun_binding(fd, &server, STUN_TRIES, &resp);
			if (r) {
				log_info("stun: %s: %s", cfg->stun_servers[i], stun_strerror(r));
				continue;
			}
			mapped = resp.mapped;
			if (own_port)
				set_port(&mapped, cfg->listen_port);
		} else if (stun_query(d, &server, &mapped)) {
			log_debug("stun: no answer from %s", cfg->stun_servers[i]);
			continue;
		}
		addr_unmap(&mapped);
		addr_endpoint_format(&mapped, text);
		log_debug("stun: %s says we are %s", cfg->stun_servers[i], text);
		out->eps[out->n].source = API_ENDPOINT_STUN;
		out->eps[out->n].addr = mapped;
		out->n++;
		out->reflexive = mapped;
		out->has_reflexive = true;
		break;
	}
}

int discovery_first_round(const struct discovery_config *cfg, struct ev_endpoints *out, char *err, size_t errlen)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(cfg->listen_port) };
	int fd, r;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return r;
	}
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		r = -errno;
		close(fd);
		if (r == -EADDRINUSE)
			snprintf(err, errlen, "UDP port %u is already in use (see --listen-port)", cfg->listen_port);
		else
			snprintf(err, errlen, "cannot bind UDP port %u: %s", cfg->listen_port, strerror(-r));
		return r;
	}
	discover(cfg, NULL, fd, false, out);
	close(fd);
	return 0;
}

/* A round through the interface, or through a socket of our own when the
 * driver shares none. */
static void round_now(struct discovery *d, const struct wg_driver *drv, struct ev_endpoints *out)
{
	int fd;

	if (drv->send_raw) {
		discover(&d->cfg, d, -1, false, out);
		return;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	discover(&d->cfg, d, fd, true, out);
	if (fd >= 0)
		close(fd);
}

static void *discovery_main(void *arg)
{
	struct discovery *d = arg;
	struct resolvconf_watch rcw = { 0 };
	uint64_t next_round = 0, next_oob = 0;

	do {
		const struct wg_driver *drv;
		uint64_t now = time_now_ns();

		if (resolvconf_changed(&rcw, NULL, NULL) == 1 || now >= next_oob) {
			struct event e = { .type = EV_OOB };

			oob_gather(d->cfg.service_url, d->cfg.stun_servers, d->cfg.n_stun, &e.u.oob);
			evq_post(d->w.q, &e);
			next_oob = time_now_ns() + OOB_REGATHER_MS * NSEC_PER_MSEC;
		}
		pthread_mutex_lock(&d->lock);
		drv = d->drv;
		pthread_mutex_unlock(&d->lock);
		if (drv)
			send_checks(d, drv);
		pthread_mutex_lock(&d->lock);
		if (d->n_checks && next_round > now + DISCOVERY_RELAYED_MS * NSEC_PER_MSEC)
			next_round = now + DISCOVERY_RELAYED_MS * NSEC_PER_MSEC;
		if (d->kicked && drv) {
			d->kicked = false;
			next_round = now;
		}
		pthread_mutex_unlock(&d->lock);
		if (drv && !next_round) {
			next_round = now + DISCOVERY_RECHECK_MS * NSEC_PER_MSEC; /* the first round was at start */
		} else if (drv && now >= next_round) {
			struct event e = { .type = EV_ENDPOINTS };
			size_t checking;

			round_now(d, drv, &e.u.endpoints);
			if (worker_stopping(&d->w))
				break;
			pthread_mutex_lock(&d->lock);
			checking = d->n_checks;
			pthread_mutex_unlock(&d->lock);
			next_round = time_now_ns() + (!e.u.endpoints.n ? DISCOVERY_RETRY_MS
						      : checking ? DISCOVERY_RELAYED_MS
								 : DISCOVERY_RECHECK_MS) * NSEC_PER_MSEC;
			evq_post(d->w.q, &e);
		}
	} while (!worker_sleep(&d->w, DISCOVERY_TICK_MS));
	return NULL;
}

void discovery_kick(struct discovery *d)
{
	pthread_mutex_lock(&d->lock);
	d->kicked = true;
	pthread_mutex_unlock(&d->lock);
}

int discovery_start(struct discovery **out, const struct worker *w, const struct discovery_config *cfg)
{
	struct discovery *d = calloc(1, sizeof(*d));
	pthread_condattr_t ca;
	int r;

	if (!d)
		return -ENOMEM;
	d->w = *w;
	d->cfg = *cfg;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->cond, &ca);
	pthread_condattr_destroy(&ca);
	r = -pthread_create(&d->thread, NULL, discovery_main, d);
	if (r) {
		discovery_free(d);
		return r;
	}
	d->started = true;
	*out = d;
	return 0;
}

void discovery_attach(struct discovery *d, const struct wg_driver *drv, void *dev)
{
	pthread_mutex_lock(&d->lock);
	d->drv = drv;
	d->dev = dev;
	pthread_mutex_unlock(&d->lock);
	if (drv->set_stray)
		drv->set_stray(dev, on_datagram, d); /* which reads drv and dev, set before */
}

void discovery_stop(struct discovery *d)
{
	if (!d || !d->started)
		return;
	pthread_mutex_lock(&d->lock);
	pthread_cond_broadcast(&d->cond);
	pthread_mutex_unlock(&d->lock);
	pthread_join(d->thread, NULL);
	d->started = false;
}

void discovery_free(struct discovery *d)
{
	if (!d)
		return;
	discovery_stop(d);
	free(d->checks);
	free(d->sent);
	pthread_cond_destroy(&d->cond);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
