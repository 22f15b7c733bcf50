#include "nexd/relay.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "common/turnuri.h"
#include "nexd/marks.h"
#include "nexd/tlsconn.h"
#include "nexd/turn.h"

#define MS(x) ((uint64_t)(x) * NSEC_PER_MSEC)
#define RELAY_UDP_TRIES 3             /* then TCP to the same server */
#define RELAY_TCP_TIMEOUT_MS 5000
#define RELAY_RETRY_MS 10000          /* after every server failed */
#define RELAY_REFRESH_BEFORE_S 60     /* refresh the allocation this long before it expires */
#define RELAY_KEEPALIVE_MS 25000      /* and at least this often: keeps the NAT's mapping, and
				       * finds out (437) when a NAT gave us a new one */
#define RELAY_BIND_EVERY_MS 240000    /* channels and permissions: refreshed well inside 300 s */
#define RELAY_STREAM_MAX (2 * (TURN_MESSAGE_MAX + 8))
#define RELAY_PACKET_MAX 65535

enum conn_state { CONN_NONE, CONN_ALLOCATING, CONN_READY };
enum txn_kind { TXN_NONE, TXN_ALLOCATE, TXN_REFRESH, TXN_PERMIT, TXN_BIND, TXN_DELETE };

struct channel {
	uint8_t key[32];
	union sockaddr_any peer;          /* the peer's relayed address */
	uint16_t number;
	int fd;                           /* 127.0.0.1:port, WireGuard's endpoint for the peer */
	union sockaddr_any local;
	bool permitted;                   /* CreatePermission answered (ChannelBind refreshes it) */
	bool bound;
	uint64_t bind_due_ns;
	bool wanted;                      /* still in the loop's list */
};

struct relay {
	struct worker w;
	uint16_t wg_port;
	const char *ca_cert;              /* to check turns: servers; NULL: the system's CAs */
	pthread_t thread;
	bool started;

	pthread_mutex_t lock;             /* guards the two inputs */
	struct api_relays servers;
	uint64_t servers_gen;
	struct relay_peer *peers;
	size_t n_peers;
	uint64_t peers_gen;
	int wake_fd;

	/* the thread's own */
	struct api_relays cur;            /* the credentials in use */
	uint64_t cur_gen, peers_seen;
	size_t server_idx;                /* which of cur.items */
	bool tcp;                         /* this attempt over TCP */
	int fd;                           /* to the TURN server */
	struct tlsconn *tls;              /* over it, for turns: */
	union sockaddr_any server;
	enum conn_state state;
	uint8_t key[TURN_KEY_LEN];
	char realm[TURN_REALM_MAX + 1], nonce[TURN_NONCE_MAX + 1];
	bool authed;
	union sockaddr_any relayed;
	uint64_t refresh_due_ns;
	uint64_t keepalive_ns;            /* the next Refresh even if not yet due */
	bool check_now;                   /* the loop asked: is the allocation still ours? */
	atomic_bool check_asked;
	uint64_t retry_ns;                /* next attempt after a failure */
	char status[200];
	/* the one transaction in flight */
	enum txn_kind txn;
	struct stun_txid txid;
	size_t txn_chan;
	uint8_t txn_msg[TURN_MESSAGE_MAX];
	size_t txn_len;
	unsigned txn_tries;
	uint64_t txn_due_ns;              /* retransmit or give up */
	bool txn_stale_retried;
	/* a TCP stream's bytes not yet framed */
	uint8_t stream[RELAY_STREAM_MAX];
	size_t stream_len;
	struct channel *chans;
	size_t n_chans;
	uint16_t next_number;
	bool dirty;                       /* post EV_RELAY */
	uint8_t pkt[RELAY_PACKET_MAX + TURN_CHANNEL_HEADER + 4];
};

/* ---- inputs from the loop ---------------------------------------------- */

static void wake(struct relay *r)
{
	uint64_t one = 1;

	if (write(r->wake_fd, &one, sizeof(one)) < 0) {
		/* the counter is full: awake anyway */
	}
}

void relay_set_servers(struct relay *r, const struct api_relays *servers)
{
	pthread_mutex_lock(&r->lock);
	if (memcmp(&r->servers, servers, sizeof(*servers))) {
		explicit_bzero(&r->servers, sizeof(r->servers));
		r->servers = *servers;
		r->servers_gen++;
	}
	pthread_mutex_unlock(&r->lock);
	wake(r);
}

void relay_check(struct relay *r)
{
	if (atomic_exchange(&r->check_asked, true))
		return;
	wake(r);
}

void relay_set_peers(struct relay *r, const struct relay_peer *peers, size_t n)
{
	struct relay_peer *copy;

	if (n > RELAY_PEERS_MAX)
		n = RELAY_PEERS_MAX;
	pthread_mutex_lock(&r->lock);
	if (n == r->n_peers && (!n || !memcmp(peers, r->peers, n * sizeof(*peers)))) {
		pthread_mutex_unlock(&r->lock);
		return;
	}
	copy = malloc((n + 1) * sizeof(*copy));
	if (copy) {
		memcpy(copy, peers, n * sizeof(*peers));
		free(r->peers);
		r->peers = copy;
		r->n_peers = n;
		r->peers_gen++;
	}
	pthread_mutex_unlock(&r->lock);
	wake(r);
}

/* ---- the report to the loop --------------------------------------------- */

static void post_state(struct relay *r)
{
	struct event e = { .type = EV_RELAY };
	struct ev_relay *v = &e.u.relay;

	v->allocated = r->state == CONN_READY;
	v->relayed = r->relayed;
	snprintf(v->status, sizeof(v->status), "%s", r->status);
	v->paths = calloc(r->n_chans + 1, sizeof(*v->paths));
	for (size_t i = 0; v->paths && i < r->n_chans; i++) {
		if (!r->chans[i].bound || r->state != CONN_READY)
			continue;
		memcpy(v->paths[v->n].key, r->chans[i].key, 32);
		v->paths[v->n].local = r->chans[i].local;
		v->n++;
	}
	evq_post(r->w.q, &e);
	r->dirty = false;
}

static void set_status(struct relay *r, bool warn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_status(struct relay *r, bool warn, const char *fmt, ...)
{
	char text[sizeof(r->status)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (strcmp(text, r->status)) {
		if (warn)
			log_warn("relay: %s", text);
		else
			log_info("relay: %s", text);
		snprintf(r->status, sizeof(r->status), "%s", text);
		r->dirty = true;
	}
}

/* ---- the connection to the TURN server ---------------------------------- */

static void chan_close_all(struct relay *r)
{
	for (size_t i = 0; i < r->n_chans; i++) {
		if (r->chans[i].fd >= 0)
			close(r->chans[i].fd);
	}
	free(r->chans);
	r->chans = NULL;
	r->n_chans = 0;
}

static void conn_close(struct relay *r)
{
	tlsconn_close(r->tls);
	r->tls = NULL;
	if (r->fd >= 0)
		close(r->fd);
	r->fd = -1;
	r->state = CONN_NONE;
	r->txn = TXN_NONE;
	r->authed = false;
	r->stream_len = 0;
	memset(&r->relayed, 0, sizeof(r->relayed));
	for (size_t i = 0; i < r->n_chans; i++) {
		r->chans[i].bound = false;
		r->chans[i].permitted = false;
	}
	r->dirty = true;
}

static int conn_open(struct relay *r, char *why, size_t whylen)
{
	const struct api_relay *s = &r->cur.items[r->server_idx];
	struct turn_uri u;
	struct addrinfo hints = { .ai_socktype = 0 }, *res = NULL;
	char port[8];
	int mark = MARK_WG, fd, err;

	if (turn_uri_parse(s->uri, &u)) {
		snprintf(why, whylen, "not a TURN URI");
		return -EINVAL;
	}
	if (u.transport != TURN_TRANSPORT_UDP)
		r->tcp = true;
	hints.ai_socktype = r->tcp ? SOCK_STREAM : SOCK_DGRAM;
	snprintf(port, sizeof(port), "%u", u.port);
	err = getaddrinfo(u.host, port, &hints, &res);
	if (err || !res) {
		if (res)
			freeaddrinfo(res);
		snprintf(why, whylen, "cannot resolve %.100s", u.host);
		return -EHOSTUNREACH;
	}
	memset(&r->server, 0, sizeof(r->server));
	memcpy(&r->server, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	fd = socket(r->server.sa.sa_family, (r->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(errno));
		return -errno;
	}
	/* out of band, like the WireGuard socket (policy rule 19302) */
	(void)setsockopt(fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark));
	if (connect(fd, &r->server.sa, addr_len(&r->server)) < 0) {
		struct pollfd p[2] = { { .fd = fd, .events = POLLOUT }, { .fd = r->w.stop_fd, .events = POLLIN } };
		socklen_t sl = sizeof(err);

		err = -errno;
		/* TCP: wait for the handshake, a bounded time, or the stop */
		if (err == -EINPROGRESS) {
			err = -ETIMEDOUT;
			if (poll(p, 2, RELAY_TCP_TIMEOUT_MS) > 0 && (p[0].revents & (POLLOUT | POLLERR | POLLHUP)) &&
			    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &sl) == 0)
				err = -err;
		}
		if (err) {
			close(fd);
			snprintf(why, whylen, "%s", strerror(-err));
			return err;
		}
	}
	if (u.transport == TURN_TRANSPORT_TLS) {
		err = tlsconn_open(&r->tls, fd, u.host, r->ca_cert, r->w.stop_fd, RELAY_TCP_TIMEOUT_MS, why, whylen);
		if (err) {
			close(fd);
			return err;
		}
	}
	r->fd = fd;
	r->state = CONN_ALLOCATING;
	r->stream_len = 0;
	return 0;
}

static int send_frame(struct relay *r, const uint8_t *buf, size_t len)
{
	ssize_t n;

	if (r->fd < 0)
		return -ENOTCONN;
	if (!r->tcp) {
		n = send(r->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		return n < 0 ? -errno : 0;      /* a datagram lost is a datagram lost */
	}
	/* A stream: a frame goes whole or the connection is no good. */
	if (r->tls)
		return tlsconn_write_all(r->tls, buf, len, 1000);
	while (len) {
		struct pollfd p = { .fd = r->fd, .events = POLLOUT };

		n = send(r->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
			continue;
		}
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -errno;
		if (poll(&p, 1, 1000) <= 0)
			return -ETIMEDOUT;
	}
	return 0;
}

static struct turn_auth auth_of(struct relay *r)
{
	struct turn_auth a = { .username = r->cur.items[r->server_idx].username };

	if (r->authed) {
		a.realm = r->realm;
		a.nonce = r->nonce;
		memcpy(a.key, r->key, sizeof(a.key));
	}
	return a;
}

/* Builds the request of the transaction kind and sends it. */
static int txn_start(struct relay *r, enum txn_kind kind, size_t chan)
{
	struct turn_auth a = auth_of(r);
	int len = -EINVAL;

	switch (kind) {
	case TXN_ALLOCATE:
		len = turn_build_allocate(r->txn_msg, sizeof(r->txn_msg), &r->txid, &a, TURN_DEFAULT_LIFETIME);
		break;
	case TXN_REFRESH:
		len = turn_build_refresh(r->txn_msg, sizeof(r->txn_msg), &r->txid, &a, TURN_DEFAULT_LIFETIME);
		break;
	case TXN_DELETE:
		len = turn_build_refresh(r->txn_msg, sizeof(r->txn_msg), &r->txid, &a, 0);
		break;
	case TXN_PERMIT:
		len = turn_build_create_permission(r->txn_msg, sizeof(r->txn_msg), &r->txid, &a, &r->chans[chan].peer, 1);
		break;
	case TXN_BIND:
		len = turn_build_channel_bind(r->txn_msg, sizeof(r->txn_msg), &r->txid, &a, r->chans[chan].number,
					      &r->chans[chan].peer);
		break;
	case TXN_NONE:
		break;
	}
	explicit_bzero(&a, sizeof(a));
	if (len < 0)
		return len;
	r->txn = kind;
	r->txn_chan = chan;
	r->txn_len = (size_t)len;
	r->txn_tries = 1;
	r->txn_due_ns = time_now_ns() + MS(r->tcp ? RELAY_TCP_TIMEOUT_MS : STUN_RTO_MS);
	return send_frame(r, r->txn_msg, r->txn_len);
}

/* The same request again, with a new transaction id (a new nonce, say). */
static int txn_again(struct relay *r)
{
	enum txn_kind k = r->txn;

	r->txn = TXN_NONE;
	return txn_start(r, k, r->txn_chan);
}

static bool is_tls(const struct api_relay *s)
{
	struct turn_uri u;

	return turn_uri_parse(s->uri, &u) == 0 && u.transport == TURN_TRANSPORT_TLS;
}

/* Gives up on this server (and transport): the next one, TCP after UDP. */
static void server_failed(struct relay *r, bool transport, const char *why)
{
	const struct api_relay *s = &r->cur.items[r->server_idx];
	struct turn_uri u;

	set_status(r, true, "%s%s: %s", s->uri, r->tcp && !is_tls(s) ? " (over TCP)" : "", why);
	conn_close(r);
	if (transport && !r->tcp && turn_uri_parse(s->uri, &u) == 0 && u.transport == TURN_TRANSPORT_UDP) {
		r->tcp = true;               /* where UDP is blocked, TCP may pass */
		return;
	}
	r->tcp = false;
	r->server_idx++;
	if (r->server_idx >= r->cur.n) {
		r->server_idx = 0;
		r->retry_ns = time_now_ns() + MS(RELAY_RETRY_MS);
	}
}

/* ---- channels ------------------------------------------------------------ */

static int chan_open(struct channel *c)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(c->local);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 || getsockname(fd, &c->local.sa, &sl) < 0) {
		int err = -errno;
		close(fd);
		return err;
	}
	c->fd = fd;
	return 0;
}

static struct channel *chan_find_key(struct relay *r, const uint8_t key[32])
{
	for (size_t i = 0; i < r->n_chans; i++)
		if (!memcmp(r->chans[i].key, key, 32))
			return &r->chans[i];
	return NULL;
}

static uint16_t next_channel(struct relay *r)
{
	if (r->next_number < TURN_CHANNEL_MIN || r->next_number > TURN_CHANNEL_MAX)
		r->next_number = TURN_CHANNEL_MIN;
	return r->next_number++;
}

/* Brings the channels in line with the loop's peers. */
static void sync_peers(struct relay *r)
{
	struct relay_peer *peers = NULL;
	size_t n = 0;

	pthread_mutex_lock(&r->lock);
	if (r->peers_gen != r->peers_seen) {
		peers = malloc((r->n_peers + 1) * sizeof(*peers));
		if (peers) {
			memcpy(peers, r->peers, r->n_peers * sizeof(*peers));
			n = r->n_peers;
			r->peers_seen = r->peers_gen;
		}
	}
	pthread_mutex_unlock(&r->lock);
	if (!peers)
		return;
	for (size_t i = 0; i < r->n_chans; i++)
		r->chans[i].wanted = false;
	for (size_t i = 0; i < n; i++) {
		struct channel *c = chan_find_key(r, peers[i].key);

		if (c && !addr_endpoint_equal(&c->peer, &peers[i].relayed)) {
			/* The peer's allocation moved: bind again, on a new number (a
			 * number stays with its peer until it expires, RFC 8656 12). */
			c->peer = peers[i].relayed;
			c->number = next_channel(r);
			c->permitted = false;
			c->bound = false;
			c->bind_due_ns = 0;
			r->dirty = true;
		}
		if (!c) {
			struct channel *grown = realloc(r->chans, (r->n_chans + 1) * sizeof(*grown));
			if (!grown)
				break;
			r->chans = grown;
			c = &r->chans[r->n_chans];
			memset(c, 0, sizeof(*c));
			c->fd = -1;
			memcpy(c->key, peers[i].key, 32);
			c->peer = peers[i].relayed;
			c->number = next_channel(r);
			if (chan_open(c))
				continue;
			r->n_chans++;
		}
		c->wanted = true;
	}
	/* Channels of peers no longer listed: closed (the server forgets them). */
	for (size_t i = 0; i < r->n_chans;) {
		if (r->chans[i].wanted) {
			i++;
			continue;
		}
		if ((r->txn == TXN_BIND || r->txn == TXN_PERMIT) && r->txn_chan == i)
			r->txn = TXN_NONE;
		else if ((r->txn == TXN_BIND || r->txn == TXN_PERMIT) && r->txn_chan == r->n_chans - 1)
			r->txn_chan = i;
		close(r->chans[i].fd);
		r->chans[i] = r->chans[--r->n_chans];
		r->dirty = true;
	}
	free(peers);
}

/* ---- what arrives from the TURN server ---------------------------------- */

static void deliver(struct relay *r, const union sockaddr_any *peer, uint16_t number, bool by_number,
		    const uint8_t *data, size_t len)
{
	struct sockaddr_in wg = { .sin_family = AF_INET, .sin_port = htons(r->wg_port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };

	for (size_t i = 0; i < r->n_chans; i++) {
		struct channel *c = &r->chans[i];
		if (by_number ? c->number != number : !addr_endpoint_equal(&c->peer, peer))
			continue;
		(void)sendto(c->fd, data, len, MSG_DONTWAIT, (struct sockaddr *)&wg, sizeof(wg));
		return;
	}
}

static void on_response(struct relay *r, const struct turn_response *resp)
{
	const struct api_relay *s = &r->cur.items[r->server_idx];
	enum txn_kind k = r->txn;
	char text[200];

	r->txn = TXN_NONE;
	/* The first answer asks who we are (401 with a realm and a nonce); a
	 * stale nonce (438) asks again, once per request. */
	if (!resp->success && resp->nonce[0] &&
	    ((resp->error_code == 401 && !r->authed) || (resp->error_code == 438 && !r->txn_stale_retried))) {
		if (resp->realm[0])
			snprintf(r->realm, sizeof(r->realm), "%s", resp->realm);
		snprintf(r->nonce, sizeof(r->nonce), "%s", resp->nonce);
		if (turn_key(s->username, r->realm, s->password, r->key)) {
			server_failed(r, false, "unusable credentials");
			return;
		}
		r->authed = true;
		r->txn_stale_retried = resp->error_code == 438;
		r->txn = k;
		txn_again(r);
		return;
	}
	r->txn_stale_retried = false;
	if (!resp->success && resp->error_code == 437 && k != TXN_ALLOCATE) {
		/* Allocation Mismatch: a NAT gave our socket a new mapping and the
		 * server knows us no more. A new allocation, at once. */
		set_status(r, true, "%s: the allocation is gone (a new NAT mapping?); allocating again", s->uri);
		conn_close(r);
		return;
	}
	if (!resp->success) {
		turn_error_text(resp, text, sizeof(text));
		if (k == TXN_BIND || k == TXN_PERMIT) {
			log_warn("relay: %s: %s", k == TXN_BIND ? "binding a channel" : "creating a permission", text);
			r->chans[r->txn_chan].bind_due_ns = time_now_ns() + MS(RELAY_RETRY_MS);
			return;
		}
		if (k == TXN_DELETE)
			return;
		server_failed(r, false, text);
		return;
	}
	switch (k) {
	case TXN_ALLOCATE: {
		char ep[ADDR_ENDPOINT_STRLEN];

		if (!resp->has_relayed) {
			server_failed(r, false, "the allocation has no relayed address");
			return;
		}
		r->relayed = resp->relayed;
		addr_unmap(&r->relayed);
		r->state = CONN_READY;
		r->refresh_due_ns = time_now_ns() +
				    MS(1000ull * ((resp->lifetime > 2 * RELAY_REFRESH_BEFORE_S ? resp->lifetime
											 : TURN_DEFAULT_LIFETIME) -
						  RELAY_REFRESH_BEFORE_S));
		for (size_t i = 0; i < r->n_chans; i++) {
			r->chans[i].bound = false;
			r->chans[i].permitted = false;
			r->chans[i].bind_due_ns = 0;
		}
		addr_endpoint_format(&r->relayed, ep);
		set_status(r, false, "allocated %s on %s%s", ep, r->cur.items[r->server_idx].uri,
			   r->tls ? " (over TLS)" : r->tcp ? " (over TCP)" : "");
		r->dirty = true;
		break;
	}
	case TXN_REFRESH:
		r->refresh_due_ns = time_now_ns() +
				    MS(1000ull * ((resp->lifetime > 2 * RELAY_REFRESH_BEFORE_S ? resp->lifetime
											 : TURN_DEFAULT_LIFETIME) -
						  RELAY_REFRESH_BEFORE_S));
		break;
	case TXN_PERMIT:
		r->chans[r->txn_chan].permitted = true;
		break;
	case TXN_BIND: {
		struct channel *c = &r->chans[r->txn_chan];
		if (!c->bound)
			r->dirty = true;
		c->bound = true;
		c->bind_due_ns = time_now_ns() + MS(RELAY_BIND_EVERY_MS);
		break;
	}
	default:
		break;
	}
}

/* One datagram, or one frame of the stream. */
static void on_frame(struct relay *r, const uint8_t *buf, size_t len)
{
	if (turn_is_channeldata(buf, len)) {
		uint16_t number;
		const uint8_t *data;
		size_t dlen;

		if (turn_channeldata_parse(buf, len, &number, &data, &dlen) == 0)
			deliver(r, NULL, number, true, data, dlen);
		return;
	}
	if (!stun_is_message(buf, len))
		return;
	{
		union sockaddr_any peer;
		const uint8_t *data;
		size_t dlen;

		if (turn_parse_data_indication(buf, len, &peer, &data, &dlen) == 0) {
			addr_unmap(&peer);
			deliver(r, &peer, 0, false, data, dlen);
			return;
		}
	}
	if (r->txn != TXN_NONE) {
		struct turn_response resp;
		int err = turn_parse_response(buf, len, &r->txid, r->authed ? r->key : NULL, &resp);

		if (err == 0)
			on_response(r, &resp);
		else if (err != -ESRCH)
			log_debug("relay: a bad answer from the server: %s", strerror(-err));
	}
}

static void read_server(struct relay *r)
{
	if (!r->tcp) {
		ssize_t n = recv(r->fd, r->pkt, sizeof(r->pkt), MSG_DONTWAIT);

		if (n > 0)
			on_frame(r, r->pkt, (size_t)n);
		return;
	}
	/* TLS may hold decrypted bytes the socket no longer shows: read until
	 * there is nothing. */
	for (int rounds = 0; rounds < 64 && r->fd >= 0; rounds++) {
		size_t room = sizeof(r->stream) - r->stream_len, off = 0;
		ssize_t n;

		if (r->tls) {
			n = tlsconn_read(r->tls, r->stream + r->stream_len, room);
			if (n == -EAGAIN)
				return;
			if (n <= 0) {
				server_failed(r, true, n == 0 ? "the server closed the connection" : "TLS read failed");
				return;
			}
		} else {
			n = recv(r->fd, r->stream + r->stream_len, room, MSG_DONTWAIT);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
			if (n <= 0) {
				server_failed(r, true, n == 0 ? "the server closed the connection" : strerror(errno));
				return;
			}
		}
		r->stream_len += (size_t)n;
		for (;;) {
			ssize_t f = turn_stream_frame_len(r->stream + off, r->stream_len - off);

			if (f < 0) {
				server_failed(r, true, "the server sent garbage on the stream");
				return;
			}
			if (f == 0 || (size_t)f > r->stream_len - off)
				break;
			on_frame(r, r->stream + off, (size_t)f);
			if (r->fd < 0)
				return;
			off += (size_t)f;
		}
		memmove(r->stream, r->stream + off, r->stream_len - off);
		r->stream_len -= off;
	}
}

/* WireGuard sent a packet to a peer's local endpoint: onto its channel. */
static void read_channel(struct relay *r, struct channel *c)
{
	for (int burst = 0; burst < 64; burst++) {
		ssize_t n = recv(c->fd, r->pkt + TURN_CHANNEL_HEADER, RELAY_PACKET_MAX, MSG_DONTWAIT);
		size_t len;

		if (n <= 0)
			return;
		if (r->state != CONN_READY || !c->bound)
			continue;
		turn_channeldata_header(r->pkt, c->number, (uint16_t)n);
		len = TURN_CHANNEL_HEADER + (size_t)n;
		if (r->tcp)
			while (len % 4)
				r->pkt[len++] = 0;
		if (send_frame(r, r->pkt, len) && r->tcp) {
			server_failed(r, true, "cannot write to the server");
			return;
		}
	}
}

/* ---- the thread ----------------------------------------------------------- */

/* What to ask the server next, when nothing is in flight. */
static void next_request(struct relay *r, uint64_t now)
{
	if (r->txn != TXN_NONE || r->cur.n == 0)
		return;
	if (r->state == CONN_NONE) {
		int err;

		if (now < r->retry_ns)
			return;
		char why[160] = "";

		err = conn_open(r, why, sizeof(why));
		if (err) {
			server_failed(r, err != -EINVAL && err != -EKEYREJECTED, why);
			return;
		}
		r->authed = false;
		if (txn_start(r, TXN_ALLOCATE, 0))
			server_failed(r, true, "cannot send the allocation request");
		return;
	}
	if (r->state != CONN_READY)
		return;
	if (now >= r->refresh_due_ns || now >= r->keepalive_ns || r->check_now) {
		r->check_now = false;
		r->keepalive_ns = now + MS(RELAY_KEEPALIVE_MS);
		if (txn_start(r, TXN_REFRESH, 0))
			server_failed(r, true, "cannot refresh the allocation");
		return;
	}
	for (size_t i = 0; i < r->n_chans; i++) {
		if (now < r->chans[i].bind_due_ns)
			continue;
		/* a permission for the peer's address first (RFC 8656 9), then
		 * the channel, whose binding refreshes both from then on */
		if (txn_start(r, r->chans[i].permitted ? TXN_BIND : TXN_PERMIT, i))
			server_failed(r, true, "cannot bind a channel");
		return;
	}
}

static void check_timeout(struct relay *r, uint64_t now)
{
	if (r->txn == TXN_NONE || now < r->txn_due_ns)
		return;
	if (!r->tcp && r->txn_tries < RELAY_UDP_TRIES) {
		r->txn_tries++;
		r->txn_due_ns = now + MS((uint64_t)STUN_RTO_MS << (r->txn_tries - 1));
		(void)send_frame(r, r->txn_msg, r->txn_len);
		return;
	}
	if (r->txn == TXN_BIND || r->txn == TXN_PERMIT) {
		r->chans[r->txn_chan].bind_due_ns = now + MS(RELAY_RETRY_MS);
		r->txn = TXN_NONE;
		return;
	}
	server_failed(r, true, "no answer");
}

static void take_servers(struct relay *r)
{
	bool changed = false;

	pthread_mutex_lock(&r->lock);
	if (r->servers_gen != r->cur_gen) {
		changed = r->cur.n != r->servers.n;
		for (size_t i = 0; !changed && i < r->cur.n; i++)
			changed = strcmp(r->cur.items[i].uri, r->servers.items[i].uri) != 0;
		explicit_bzero(&r->cur, sizeof(r->cur));
		r->cur = r->servers;
		r->cur_gen = r->servers_gen;
	}
	pthread_mutex_unlock(&r->lock);
	if (changed) {
		/* other relays: start over (new credentials alone serve the next
		 * request: the allocation stays) */
		conn_close(r);
		r->server_idx = 0;
		r->tcp = false;
		r->retry_ns = 0;
		if (!r->cur.n)
			set_status(r, false, "no relay configured");
	}
}

static void *relay_main(void *arg)
{
	struct relay *r = arg;

	while (!worker_stopping(&r->w)) {
		uint64_t now = time_now_ns(), wait_ms = 1000, v;
		struct pollfd *p;
		size_t np;

		take_servers(r);
		sync_peers(r);
		if (atomic_exchange(&r->check_asked, false))
			r->check_now = true;
		next_request(r, now);
		if (r->dirty)
			post_state(r);
		np = 3 + r->n_chans;              /* the channels as they are now */
		p = calloc(np, sizeof(*p));
		if (!p) {
			worker_sleep(&r->w, 1000);
			continue;
		}
		if (r->txn != TXN_NONE && r->txn_due_ns > now)
			wait_ms = (r->txn_due_ns - now) / NSEC_PER_MSEC + 1;
		p[0] = (struct pollfd){ .fd = r->wake_fd, .events = POLLIN };
		p[1] = (struct pollfd){ .fd = r->w.stop_fd, .events = POLLIN };
		p[2] = (struct pollfd){ .fd = r->fd, .events = POLLIN };
		for (size_t i = 0; i < r->n_chans; i++)
			p[3 + i] = (struct pollfd){ .fd = r->chans[i].fd, .events = POLLIN };
		if (poll(p, np, (int)(wait_ms > 1000 ? 1000 : wait_ms)) < 0 && errno != EINTR) {
			free(p);
			break;
		}
		if (p[0].revents & POLLIN)
			(void)!read(r->wake_fd, &v, sizeof(v));
		if (r->fd >= 0 && (p[2].revents & (POLLIN | POLLERR | POLLHUP)))
			read_server(r);
		for (size_t i = 0; i < r->n_chans && 3 + i < np; i++)
			if (p[3 + i].revents & POLLIN)
				read_channel(r, &r->chans[i]);
		check_timeout(r, time_now_ns());
		free(p);
	}
	/* Leave politely: the allocation is deleted on the server. */
	if (r->state == CONN_READY && txn_start(r, TXN_DELETE, 0) == 0) {
		struct pollfd p = { .fd = r->fd, .events = POLLIN };
		if (poll(&p, 1, 300) > 0)
			read_server(r);
	}
	conn_close(r);
	chan_close_all(r);
	return NULL;
}

int relay_start(struct relay **out, const struct worker *w, uint16_t wg_port, const char *ca_cert)
{
	struct relay *r = calloc(1, sizeof(*r));
	int err;

	if (!r)
		return -ENOMEM;
	r->w = *w;
	r->wg_port = wg_port;
	r->ca_cert = ca_cert;
	r->fd = -1;
	pthread_mutex_init(&r->lock, NULL);
	r->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->wake_fd < 0) {
		err = -errno;
		goto fail;
	}
	err = -pthread_create(&r->thread, NULL, relay_main, r);
	if (err)
		goto fail;
	r->started = true;
	*out = r;
	return 0;
fail:
	if (r->wake_fd >= 0)
		close(r->wake_fd);
	pthread_mutex_destroy(&r->lock);
	free(r);
	return err;
}

void relay_stop(struct relay *r)
{
	if (!r)
		return;
	if (r->started)
		pthread_join(r->thread, NULL);
	close(r->wake_fd);
	free(r->peers);
	explicit_bzero(&r->servers, sizeof(r->servers));
	explicit_bzero(&r->cur, sizeof(r->cur));
	explicit_bzero(r->key, sizeof(r->key));
	pthread_mutex_destroy(&r->lock);
	free(r);
}
