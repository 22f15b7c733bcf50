/* The rootless exit node's server side on libslirp (exitsrv.h).
 *
 * slirp emulates an Ethernet segment with one guest behind it. We play the
 * guest for every mesh client at once: each client packet goes in wrapped in
 * an Ethernet header from a made-up guest MAC to slirp's MAC, and slirp's
 * frames come back through send_packet, where IPv4 is unwrapped for
 * cfg->out and ARP requests are answered (queued, fed after the slirp call
 * that asked returns: slirp is not re-entrant).
 *
 * What libslirp 4.7 does that shapes this file (read in its source):
 * - ARP: the table has ARP_TABLE_SIZE (16) entries, replaced round robin; it
 *   learns only from ARP (a gratuitous request, a reply, a request for its
 *   own addresses), never from IP packets. A packet for an unknown address is
 *   held with one ARP request and dropped after 1 s (if_encap4, if_start). So
 *   before a client's packet we feed a gratuitous ARP for its source unless
 *   our mirror of slirp's table (same size, same replacement) says slirp has
 *   it; for more than 16 active clients, replies to an evicted one still
 *   flow through slirp's ARP request and our reply, and we ask the owner for
 *   an immediate poll round (timeout 0) so that slirp's queue is retried.
 * - UDP: one host socket per client source address and port, unconnected
 *   (sendto any destination, and it takes replies from any host), expiring
 *   SO_EXPIRE (240 s) after its last use.
 * - ICMP echo: one unprivileged ICMP datagram socket per request, closed at
 *   the reply; without them (net.ipv4.ping_group_range) slirp falls back to
 *   a "pseudo-PING" UDP datagram to port 7 of the destination, so we pass
 *   echo requests only while such a socket can be opened here.
 * - TCP: a host socket per connection, created for a SYN only (other
 *   segments without a socket are answered with a RST).
 * - Destinations inside vnetwork are aliases (vhost and vnameserver to host
 *   loopback or DNS, the broadcast address to loopback): we never pass them.
 * - slirp_new checks only the config version, if_mtu/if_mru (68..65521) and
 *   the boot file; vdhcp_start and vnameserver are ours to choose (both are
 *   self4, which never reaches slirp); DNS, DHCP, TFTP and host loopback are
 *   off; no host forwarding is ever added, so slirp listens on nothing.
 * - Timers: only the IPv6 router advertisement timer exists (IPv6 is off),
 *   served anyway through timer_new_opaque and slirp_handle_timer. */
#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <slirp/libslirp.h>

#include "common/log.h"
#include "proxy/exitsrv.h"
#include "wg/offload.h"

enum {
	ETH_HDR = 14,
	ETHERTYPE_IP4 = 0x0800,
	ETHERTYPE_ARP = 0x0806,
	ARP_BODY = 28,
	ARP_REQUEST = 1,
	ARP_REPLY = 2,
	IP4_HDR_MIN = 20,
	IP4_LEN_MAX = 65535,
	TCP_HDR_MIN = 20,
	UDP_HDR = 8,
	ICMP_HDR = 8,
	ICMP_ECHO_REPLY = 0,
	ICMP_ECHO = 8,
	TCP_FIN = 0x01,
	TCP_SYN = 0x02,
	TCP_RST = 0x04,
	TCP_ACK = 0x10,
};

#define EXITSRV_MTU_MIN 68u           /* slirp's IF_MTU_MIN / IF_MRU_MIN */
#define EXITSRV_MTU_MAX 65521u        /* slirp's IF_MTU_MAX / IF_MRU_MAX */
#define SLIRP_ARP_SLOTS 16u           /* slirp's ARP_TABLE_SIZE */
#define ARPQ_MAX 4096u                /* ARP replies waiting (one per address) */
#define FLOWS_CAP 65536u              /* flows tracked when max_flows is 0 */
#define FLOW_BUCKETS 4096u            /* power of two */
#define LAN_MAX 256u                  /* host networks kept */
#define TIMERS_MAX 16u
#define NS_PER_MS 1000000ULL
#define NS_PER_S 1000000000ULL
#define LAN_REFRESH_NS (5 * NS_PER_S)
#define SWEEP_NS NS_PER_S
#define UDP_IDLE_NS (240 * NS_PER_S)  /* slirp's SO_EXPIRE */
#define ICMP_IDLE_NS (240 * NS_PER_S)
#define TCP_IDLE_NS (2 * 3600 * NS_PER_S)
#define TCP_UNANSWERED_NS (180 * NS_PER_S)

/* Locally administered unicast: "nx" and a 1. */
static const uint8_t guest_mac[6] = { 0x0a, 0x6e, 0x78, 0x00, 0x00, 0x01 };

/* One tracked flow. The key follows slirp's host sockets: TCP by 4-tuple;
 * UDP by the client's address and port only (dst, dport zero); ICMP echo by
 * client, destination, identifier (sport) and sequence number (dport). */
struct flow_key {
	uint32_t src, dst;            /* network byte order */
	uint16_t sport, dport;        /* host byte order */
	uint8_t proto;
	uint8_t zero[3];
};

struct flow {
	struct flow *next;
	struct flow_key k;
	uint64_t last_ns;
	bool answered, fin_in, fin_out;
};

struct exitsrv_timer {
	struct exitsrv_timer *next;
	SlirpTimerCb cb;              /* timer_new (older API) or NULL */
	SlirpTimerId id;              /* timer_new_opaque */
	void *cb_opaque;
	int64_t expire_ms;            /* -1: not armed */
};

struct exitsrv {
	struct exitsrv_config cfg;
	Slirp *slirp;
	uint8_t slirp_mac[6];
	uint32_t self, mesh_net, mesh_mask, mesh_bcast; /* network byte order */
	bool closing, kick, icmp_ok;

	struct cidr *lan;
	size_t n_lan;
	uint64_t lan_ns;

	uint32_t arpq[ARPQ_MAX];
	unsigned n_arpq;
	uint32_t arp_mirror[SLIRP_ARP_SLOTS];
	unsigned arp_victim;

	struct flow *buckets[FLOW_BUCKETS];
	unsigned n_flows, flows_cap;
	uint64_t swept_ns;
	uint8_t hkey[crypto_shorthash_KEYBYTES];

	struct exitsrv_timer *timers;
	unsigned n_timers;

	struct exitsrv_stats st;
	struct log_ratelimit guest_rl, warn_rl;
	uint8_t frame[ETH_HDR + IP4_LEN_MAX];
};

/* ------------------------------------------------------------ small helpers */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t rd32n(const uint8_t *p)   /* as stored: network order */
{
	uint32_t v;

	memcpy(&v, p, 4);
	return v;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* The Internet checksum of an IPv4 header is right when it sums to 0xffff. */
static bool ip4_header_sum_ok(const uint8_t *h, size_t hlen)
{
	return offload_csum_fold(offload_csum_add(0, h, hlen)) == 0xffff;
}

static uint32_t prefix_mask(unsigned prefix)   /* host order */
{
	return prefix ? ~(uint32_t)0 << (32 - prefix) : 0;
}

/* ---------------------------------------------------------------- the rules */

bool exitsrv_allowed(const struct exitsrv_config *c, const struct cidr *lan, size_t n_lan, const uint8_t dst[4])
{
	uint32_t a = ntohl(rd32n(dst));

	if (c->mesh4.family == AF_INET && cidr_contains(&c->mesh4, AF_INET, dst))
		return false;
	if (c->self4.family == AF_INET && !memcmp(c->self4.addr, dst, 4))
		return false;
	if ((a >> 24) == 0 || (a >> 24) == 127)        /* 0.0.0.0/8, 127.0.0.0/8 */
		return false;
	if ((a >> 16) == 0xa9fe)                       /* 169.254.0.0/16 */
		return false;
	if ((a >> 28) >= 0xe)                          /* 224.0.0.0/4, 240.0.0.0/4 */
		return false;
	for (size_t i = 0; i < n_lan; i++) {
		uint32_t m, net;

		if (lan[i].family != AF_INET || lan[i].prefix > 32)
			continue;
		if (!c->allow_lan) {
			if (cidr_contains(&lan[i], AF_INET, dst))
				return false;
			continue;
		}
		/* even with allow_lan: never a directed broadcast */
		if (lan[i].prefix > 30)
			continue;
		m = prefix_mask(lan[i].prefix);
		net = ntohl(rd32n(lan[i].addr)) & m;
		if (a == (net | ~m))
			return false;
	}
	return true;
}

/* ------------------------------------------------------- the host networks */

/* The host's directly connected IPv4 networks, loopback left out. */
static int lan_read(struct cidr **out, size_t *n_out)
{
	struct ifaddrs *ifa, *i;
	struct cidr *v;
	size_t n = 0;

	if (getifaddrs(&ifa) < 0)
		return -errno;
	v = calloc(LAN_MAX, sizeof(*v));
	if (!v) {
		freeifaddrs(ifa);
		return -ENOMEM;
	}
	for (i = ifa; i && n < LAN_MAX; i = i->ifa_next) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)i->ifa_addr;
		const struct sockaddr_in *m = (const struct sockaddr_in *)i->ifa_netmask;
		uint32_t mask, net;
		unsigned prefix = 0;
		struct cidr c;
		bool dup = false;

		if (!a || !m || a->sin_family != AF_INET || (i->ifa_flags & IFF_LOOPBACK))
			continue;
		mask = ntohl(m->sin_addr.s_addr);
		while (prefix < 32 && (mask & (0x80000000u >> prefix)))
			prefix++;
		if (prefix == 0)
			continue;                      /* a /0 would refuse everything */
		net = htonl(ntohl(a->sin_addr.s_addr) & prefix_mask(prefix));
		memset(&c, 0, sizeof(c));
		c.family = AF_INET;
		memcpy(c.addr, &net, 4);
		c.prefix = (uint8_t)prefix;
		for (size_t j = 0; j < n && !dup; j++)
			dup = cidr_equal(&v[j], &c);
		if (!dup)
			v[n++] = c;
	}
	freeifaddrs(ifa);
	*out = v;
	*n_out = n;
	return 0;
}

/* Whether unprivileged ICMP echo sockets work here (ping_group_range). */
static bool icmp_sockets_work(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, IPPROTO_ICMP);

	if (fd < 0)
		return false;
	close(fd);
	return true;
}

static void lan_refresh(struct exitsrv *x, uint64_t now)
{
	struct cidr *v;
	size_t n;
	int r;

	x->lan_ns = now;
	x->icmp_ok = icmp_sockets_work();
	r = lan_read(&v, &n);
	if (r < 0) {
		if (log_ratelimit_ok(&x->warn_rl))
			log_warn("exitsrv: host networks: %s (keeping the last list)", strerror(-r));
		return;
	}
	free(x->lan);
	x->lan = v;
	x->n_lan = n;
}

/* -------------------------------------------------------------------- flows */

static unsigned flow_bucket(const struct exitsrv *x, const struct flow_key *k)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint32_t v;

	crypto_shorthash(h, (const unsigned char *)k, sizeof(*k), x->hkey);
	memcpy(&v, h, sizeof(v));
	return v & (FLOW_BUCKETS - 1);
}

static struct flow *flow_find(struct exitsrv *x, const struct flow_key *k, struct flow ***link)
{
	struct flow **pp = &x->buckets[flow_bucket(x, k)];

	for (; *pp; pp = &(*pp)->next)
		if (!memcmp(&(*pp)->k, k, sizeof(*k))) {
			if (link)
				*link = pp;
			return *pp;
		}
	return NULL;
}

/* A new flow, or NULL when the limit is reached (or memory is short). */
static struct flow *flow_add(struct exitsrv *x, const struct flow_key *k, uint64_t now)
{
	unsigned b = flow_bucket(x, k);
	struct flow *f;

	if (x->n_flows >= x->flows_cap)
		return NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->k = *k;
	f->last_ns = now;
	f->next = x->buckets[b];
	x->buckets[b] = f;
	x->n_flows++;
	return f;
}

static void flow_remove(struct exitsrv *x, const struct flow_key *k)
{
	struct flow **link, *f = flow_find(x, k, &link);

	if (!f)
		return;
	*link = f->next;
	free(f);
	x->n_flows--;
}

static uint64_t flow_idle_limit(const struct flow *f)
{
	switch (f->k.proto) {
	case IPPROTO_TCP:
		return f->answered ? TCP_IDLE_NS : TCP_UNANSWERED_NS;
	case IPPROTO_UDP:
		return UDP_IDLE_NS;
	default:
		return ICMP_IDLE_NS;
	}
}

static void flow_sweep(struct exitsrv *x, uint64_t now)
{
	x->swept_ns = now;
	for (unsigned b = 0; b < FLOW_BUCKETS; b++) {
		struct flow **pp = &x->buckets[b];

		while (*pp) {
			struct flow *f = *pp;

			if (now - f->last_ns > flow_idle_limit(f)) {
				*pp = f->next;
				free(f);
				x->n_flows--;
			} else {
				pp = &f->next;
			}
		}
	}
}

static void flow_free_all(struct exitsrv *x)
{
	for (unsigned b = 0; b < FLOW_BUCKETS; b++) {
		struct flow *f = x->buckets[b], *next;

		for (; f; f = next) {
			next = f->next;
			free(f);
		}
		x->buckets[b] = NULL;
	}
	x->n_flows = 0;
}

/* ---------------------------------------------------------------- parsing */

/* An IPv4 packet's fields that the rules and the flow table use. */
struct pkt4 {
	size_t tot, hlen;
	uint32_t src, dst;            /* network order */
	uint8_t proto;
	bool frag;                    /* a fragment (any part) */
	uint16_t sport, dport;        /* TCP, UDP; ICMP: id, seq */
	uint8_t tcp_flags, icmp_type;
};

/* Bounded parse: every length checked against the bytes really there.
 * Transport fields are read only when the packet is not a fragment. */
static bool pkt4_parse(const uint8_t *p, size_t len, struct pkt4 *o)
{
	size_t l4;
	uint16_t off;

	memset(o, 0, sizeof(*o));
	if (len < IP4_HDR_MIN || len > IP4_LEN_MAX || (p[0] >> 4) != 4)
		return false;
	o->hlen = (size_t)(p[0] & 0x0f) * 4;
	o->tot = rd16(p + 2);
	if (o->hlen < IP4_HDR_MIN || o->hlen > len || o->tot < o->hlen || o->tot > len)
		return false;
	if (!ip4_header_sum_ok(p, o->hlen))
		return false;
	off = rd16(p + 6);
	if (off & 0x8000)                               /* reserved bit */
		return false;
	o->frag = (off & 0x3fff) != 0;                  /* MF or an offset */
	o->proto = p[9];
	o->src = rd32n(p + 12);
	o->dst = rd32n(p + 16);
	if (o->frag)
		return true;
	l4 = o->tot - o->hlen;
	p += o->hlen;
	switch (o->proto) {
	case IPPROTO_TCP: {
		size_t doff;

		if (l4 < TCP_HDR_MIN)
			return false;
		doff = (size_t)(p[12] >> 4) * 4;
		if (doff < TCP_HDR_MIN || doff > l4)
			return false;
		o->sport = rd16(p);
		o->dport = rd16(p + 2);
		o->tcp_flags = p[13];
		break;
	}
	case IPPROTO_UDP: {
		size_t ulen;

		if (l4 < UDP_HDR)
			return false;
		ulen = rd16(p + 4);
		if (ulen < UDP_HDR || ulen > l4)
			return false;
		o->sport = rd16(p);
		o->dport = rd16(p + 2);
		break;
	}
	case IPPROTO_ICMP:
		if (l4 < ICMP_HDR)
			return false;
		o->icmp_type = p[0];
		o->sport = rd16(p + 4);                 /* identifier */
		o->dport = rd16(p + 6);                 /* sequence number */
		break;
	default:
		break;
	}
	return true;
}

/* ---------------------------------------------------------------- ARP */

static bool arp_mirror_has(const struct exitsrv *x, uint32_t ip)
{
	for (unsigned i = 0; i < SLIRP_ARP_SLOTS; i++)
		if (x->arp_mirror[i] == ip)
			return true;
	return false;
}

/* As slirp's arp_table_add: update in place, else replace round robin. */
static void arp_mirror_add(struct exitsrv *x, uint32_t ip)
{
	if (ip == 0 || ip == 0xffffffffu || ip == x->mesh_bcast || arp_mirror_has(x, ip))
		return;
	x->arp_mirror[x->arp_victim] = ip;
	x->arp_victim = (x->arp_victim + 1) % SLIRP_ARP_SLOTS;
}

/* An ARP frame from the guest MAC: a gratuitous request for ip (sip == tip),
 * or a reply telling slirp that ip is at the guest MAC. */
static void arp_feed(struct exitsrv *x, uint16_t op, uint32_t ip)
{
	uint8_t f[ETH_HDR + ARP_BODY];
	uint8_t *a = f + ETH_HDR;

	if (op == ARP_REQUEST)
		memset(f, 0xff, 6);
	else
		memcpy(f, x->slirp_mac, 6);
	memcpy(f + 6, guest_mac, 6);
	wr16(f + 12, ETHERTYPE_ARP);
	wr16(a, 1);                                     /* Ethernet */
	wr16(a + 2, ETHERTYPE_IP4);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, guest_mac, 6);
	memcpy(a + 14, &ip, 4);
	if (op == ARP_REQUEST) {
		memset(a + 18, 0, 6);
		memcpy(a + 24, &ip, 4);
	} else {
		memcpy(a + 18, x->slirp_mac, 6);
		memcpy(a + 24, &x->self, 4);
	}
	slirp_input(x->slirp, f, (int)sizeof(f));
	arp_mirror_add(x, ip);
}

/* The replies slirp asked for during its last call; it then holds the
 * packets until its next if_start, so the owner polls again at once. At most
 * a table's worth per round: more would evict entries just fed before slirp
 * used them, and those packets (asked for once) would be dropped after 1 s.
 * The rest wait for the next round (the owner's timeout is then 0). */
static void arp_flush(struct exitsrv *x)
{
	unsigned n = x->n_arpq < SLIRP_ARP_SLOTS ? x->n_arpq : SLIRP_ARP_SLOTS;

	if (!n)
		return;
	for (unsigned i = 0; i < n; i++)
		arp_feed(x, ARP_REPLY, x->arpq[i]);
	memmove(x->arpq, x->arpq + n, (x->n_arpq - n) * sizeof(x->arpq[0]));
	x->n_arpq -= n;
	x->kick = true;
}

static void arp_request_from_slirp(struct exitsrv *x, const uint8_t *f, size_t len)
{
	const uint8_t *a = f + ETH_HDR;
	uint32_t tip;

	if (len < ETH_HDR + ARP_BODY)
		return;
	if (rd16(a) != 1 || rd16(a + 2) != ETHERTYPE_IP4 || a[4] != 6 || a[5] != 4 || rd16(a + 6) != ARP_REQUEST)
		return;
	tip = rd32n(a + 24);
	if (tip == 0 || tip == 0xffffffffu)
		return;
	for (unsigned i = 0; i < x->n_arpq; i++)
		if (x->arpq[i] == tip)
			return;
	if (x->n_arpq < ARPQ_MAX)
		x->arpq[x->n_arpq++] = tip;
}

/* ---------------------------------------------------------------- slirp's callbacks */

/* A reply on its way to a client: its flow is alive, or closing. */
static void track_out(struct exitsrv *x, const struct pkt4 *p)
{
	struct flow_key k;
	struct flow *f;
	uint64_t now;

	if (p->frag)
		return;
	memset(&k, 0, sizeof(k));
	k.proto = p->proto;
	k.src = p->dst;                                 /* the client */
	now = now_ns();
	switch (p->proto) {
	case IPPROTO_TCP:
		k.dst = p->src;
		k.sport = p->dport;
		k.dport = p->sport;
		f = flow_find(x, &k, NULL);
		if (!f)
			return;
		f->last_ns = now;
		f->answered = true;
		if (p->tcp_flags & TCP_FIN)
			f->fin_out = true;
		if ((p->tcp_flags & TCP_RST) || (f->fin_in && f->fin_out))
			flow_remove(x, &k);
		return;
	case IPPROTO_UDP:
		k.sport = p->dport;
		f = flow_find(x, &k, NULL);
		if (f)
			f->last_ns = now;
		return;
	case IPPROTO_ICMP:
		if (p->icmp_type != ICMP_ECHO_REPLY)
			return;
		k.dst = p->src;
		k.sport = p->sport;
		k.dport = p->dport;
		flow_remove(x, &k);                     /* slirp closed its socket */
		return;
	default:
		return;
	}
}

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
	struct exitsrv *x = opaque;
	const uint8_t *f = buf;
	const uint8_t *ip;
	struct pkt4 p;
	size_t l;

	if (x->closing || !f || len < ETH_HDR)
		return (ssize_t)len;
	switch (rd16(f + 12)) {
	case ETHERTYPE_ARP:
		arp_request_from_slirp(x, f, len);
		break;
	case ETHERTYPE_IP4:
		ip = f + ETH_HDR;
		l = len - ETH_HDR;
		if (!pkt4_parse(ip, l, &p)) {
			if (log_ratelimit_ok(&x->warn_rl))
				log_warn("exitsrv: dropped a malformed packet from slirp (%zu bytes)", l);
			break;
		}
		l = p.tot;
		if (l > x->cfg.mtu || (p.dst & x->mesh_mask) != x->mesh_net) {
			if (log_ratelimit_ok(&x->warn_rl))
				log_warn("exitsrv: dropped a packet from slirp: %zu bytes, to outside the mesh: %s", l,
					 (p.dst & x->mesh_mask) != x->mesh_net ? "yes" : "no");
			break;
		}
		track_out(x, &p);
		x->st.out_packets++;
		x->cfg.out(x->cfg.ctx, ip, l);
		break;
	default:
		break;
	}
	return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
	struct exitsrv *x = opaque;

	if (log_ratelimit_ok(&x->guest_rl))
		log_warn("exitsrv: slirp: %s", msg ? msg : "(no message)");
}

static int64_t cb_clock_get_ns(void *opaque)
{
	(void)opaque;
	return (int64_t)now_ns();
}

static struct exitsrv_timer *timer_add(struct exitsrv *x)
{
	struct exitsrv_timer *t;

	if (x->n_timers >= TIMERS_MAX) {
		log_warn("exitsrv: slirp wants more than %u timers", TIMERS_MAX);
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->expire_ms = -1;
	t->next = x->timers;
	x->timers = t;
	x->n_timers++;
	return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
	struct exitsrv_timer *t = timer_add(opaque);

	if (t) {
		t->cb = cb;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct exitsrv_timer *t = timer_add(opaque);

	if (t) {
		t->id = id;
		t->cb_opaque = cb_opaque;
	}
	return t;
}

static void cb_timer_free(void *timer, void *opaque)
{
	struct exitsrv *x = opaque;
	struct exitsrv_timer **pp;

	for (pp = &x->timers; *pp; pp = &(*pp)->next)
		if (*pp == timer) {
			*pp = ((struct exitsrv_timer *)timer)->next;
			free(timer);
			x->n_timers--;
			return;
		}
}

static void cb_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct exitsrv_timer *t = timer;

	(void)opaque;
	if (t)
		t->expire_ms = expire_ms < 0 ? 0 : expire_ms;
}

static void cb_register_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
	(void)fd;
	(void)opaque;
}

static void cb_notify(void *opaque)
{
	(void)opaque;
}

static const SlirpCb exitsrv_cbs = {
	.send_packet = cb_send_packet,
	.guest_error = cb_guest_error,
	.clock_get_ns = cb_clock_get_ns,
	.timer_new = cb_timer_new,
	.timer_free = cb_timer_free,
	.timer_mod = cb_timer_mod,
	.register_poll_fd = cb_register_poll_fd,
	.unregister_poll_fd = cb_unregister_poll_fd,
	.notify = cb_notify,
	.timer_new_opaque = cb_timer_new_opaque,
};

/* Fires the due timers; a handler may re-arm or free any timer, so the scan
 * restarts after each one (bounded). */
static void timers_run(struct exitsrv *x)
{
	unsigned budget = 2 * TIMERS_MAX + 1;

	while (budget--) {
		int64_t now_ms = (int64_t)(now_ns() / NS_PER_MS);
		struct exitsrv_timer *t;

		for (t = x->timers; t; t = t->next)
			if (t->expire_ms >= 0 && t->expire_ms <= now_ms)
				break;
		if (!t)
			return;
		t->expire_ms = -1;
		if (t->cb)
			t->cb(t->cb_opaque);
		else
			slirp_handle_timer(x->slirp, t->id, t->cb_opaque);
	}
}

/* ---------------------------------------------------------------- the API */

static void __attribute__((format(printf, 3, 4))) seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

int exitsrv_new(struct exitsrv **out, const struct exitsrv_config *c, char *err, size_t errlen)
{
	SlirpConfig sc;
	struct exitsrv *x;
	struct in_addr self;
	char mesh_s[ADDR_CIDR_STRLEN], self_s[ADDR_CIDR_STRLEN];
	uint64_t now;
	int r;

	seterr(err, errlen, "%s", "");
	if (!out || !c || !c->out) {
		seterr(err, errlen, "exit server: no output function");
		return -EINVAL;
	}
	if (c->self4.family != AF_INET || c->mesh4.family != AF_INET || c->mesh4.prefix < 1 ||
	    c->mesh4.prefix > 30) {
		seterr(err, errlen, "exit server: needs an IPv4 tunnel address and an IPv4 mesh prefix of /1 to /30");
		return -EINVAL;
	}
	if (!cidr_contains(&c->mesh4, AF_INET, c->self4.addr)) {
		seterr(err, errlen, "exit server: the tunnel address is outside the mesh prefix");
		return -EINVAL;
	}
	if (c->mtu < EXITSRV_MTU_MIN || c->mtu > EXITSRV_MTU_MAX) {
		seterr(err, errlen, "exit server: MTU %u out of range (%u to %u)", c->mtu, EXITSRV_MTU_MIN,
			 EXITSRV_MTU_MAX);
		return -EINVAL;
	}
	if (sodium_init() < 0) {
		seterr(err, errlen, "exit server: libsodium failed to start");
		return -EIO;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		seterr(err, errlen, "exit server: out of memory");
		return -ENOMEM;
	}
	x->cfg = *c;
	cidr_normalize(&x->cfg.mesh4);
	x->cfg.self4.prefix = 32;
	memcpy(&x->self, x->cfg.self4.addr, 4);
	memcpy(&x->mesh_net, x->cfg.mesh4.addr, 4);
	x->mesh_mask = htonl(prefix_mask(x->cfg.mesh4.prefix));
	x->mesh_bcast = x->mesh_net | ~x->mesh_mask;
	x->flows_cap = c->max_flows ? c->max_flows : FLOWS_CAP;
	x->guest_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1, 1);
	x->warn_rl = (struct log_ratelimit)LOG_RATELIMIT_INIT(1, 1);
	randombytes_buf(x->hkey, sizeof(x->hkey));
	/* slirp's own MAC, as it writes it: 52:55 and its address */
	x->slirp_mac[0] = 0x52;
	x->slirp_mac[1] = 0x55;
	memcpy(x->slirp_mac + 2, &x->self, 4);

	now = now_ns();
	x->swept_ns = now;
	x->lan_ns = now;
	x->icmp_ok = icmp_sockets_work();
	r = lan_read(&x->lan, &x->n_lan);
	if (r < 0) {
		seterr(err, errlen, "exit server: the host's networks (getifaddrs): %s", strerror(-r));
		goto err_free;
	}

	memset(&sc, 0, sizeof(sc));
	memcpy(&self, &x->self, 4);
	sc.version = 4;
	sc.restricted = 0;
	sc.in_enabled = true;
	sc.vnetwork.s_addr = x->mesh_net;
	sc.vnetmask.s_addr = x->mesh_mask;
	sc.vhost = self;
	sc.in6_enabled = false;
	/* inside vnetwork, as slirp assumes; never served (DHCP and DNS off)
	 * and never reached (self4 is refused before slirp) */
	sc.vdhcp_start = self;
	sc.vnameserver = self;
	sc.if_mtu = c->mtu;
	sc.if_mru = c->mtu;
	sc.disable_host_loopback = true;
	sc.enable_emu = false;
	sc.disable_dns = true;
	sc.disable_dhcp = true;
	x->slirp = slirp_new(&sc, &exitsrv_cbs, x);
	if (!x->slirp) {
		seterr(err, errlen, "exit server: libslirp refused its configuration");
		r = -EINVAL;
		goto err_free_lan;
	}

	cidr_format(&x->cfg.mesh4, mesh_s);
	cidr_format(&x->cfg.self4, self_s);
	log_info("exitsrv: created (mesh %s, self %s, mtu %u, %zu host networks %s, ICMP echo %s, max flows %u)",
		 mesh_s, self_s, c->mtu, x->n_lan, c->allow_lan ? "allowed" : "refused",
		 x->icmp_ok ? "on" : "off (no unprivileged ICMP sockets)", x->flows_cap);
	*out = x;
	return 0;

err_free_lan:
	free(x->lan);
err_free:
	free(x);
	return r;
}

void exitsrv_input(struct exitsrv *x, const uint8_t *pkt, size_t len)
{
	struct flow_key k;
	struct flow *f;
	struct pkt4 p;
	uint64_t now;

	x->st.in_packets++;
	if (!pkt || !pkt4_parse(pkt, len, &p) || p.frag)
		goto refuse;
	/* the source: a client of this mesh, not us, not its network or
	 * broadcast address */
	if ((p.src & x->mesh_mask) != x->mesh_net || p.src == x->self || p.src == x->mesh_net ||
	    p.src == x->mesh_bcast)
		goto refuse;
	if (!exitsrv_allowed(&x->cfg, x->lan, x->n_lan, (const uint8_t *)&p.dst))
		goto refuse;

	memset(&k, 0, sizeof(k));
	k.proto = p.proto;
	k.src = p.src;
	now = now_ns();
	switch (p.proto) {
	case IPPROTO_TCP:
		if (p.dport == 0 || p.sport == 0)
			goto refuse;
		k.dst = p.dst;
		k.sport = p.sport;
		k.dport = p.dport;
		f = flow_find(x, &k, NULL);
		if (!f && (p.tcp_flags & (TCP_SYN | TCP_ACK | TCP_RST)) == TCP_SYN) {
			f = flow_add(x, &k, now);
			if (!f)
				goto refuse;
		}
		/* without a flow: not a SYN, so slirp opens nothing (RST) */
		if (f) {
			f->last_ns = now;
			if (p.tcp_flags & TCP_FIN)
				f->fin_in = true;
			if ((p.tcp_flags & TCP_RST) || (f->fin_in && f->fin_out))
				flow_remove(x, &k);
		}
		break;
	case IPPROTO_UDP:
		if (p.dport == 0 || p.sport == 0)
			goto refuse;
		k.sport = p.sport;
		break;
	case IPPROTO_ICMP:
		if (p.icmp_type != ICMP_ECHO || !x->icmp_ok)
			goto refuse;
		k.dst = p.dst;
		k.sport = p.sport;
		k.dport = p.dport;
		break;
	default:
		goto refuse;
	}
	if (p.proto != IPPROTO_TCP) {
		f = flow_find(x, &k, NULL);
		if (!f) {
			f = flow_add(x, &k, now);
			if (!f)
				goto refuse;
		}
		f->last_ns = now;
	}

	if (!arp_mirror_has(x, p.src))
		arp_feed(x, ARP_REQUEST, p.src);
	memcpy(x->frame, x->slirp_mac, 6);
	memcpy(x->frame + 6, guest_mac, 6);
	wr16(x->frame + 12, ETHERTYPE_IP4);
	memcpy(x->frame + ETH_HDR, pkt, p.tot);
	slirp_input(x->slirp, x->frame, (int)(ETH_HDR + p.tot));
	arp_flush(x);
	return;

refuse:
	x->st.refused++;
}

struct fill_ctx {
	struct pollvec *pv;
};

static int cb_add_poll(int fd, int events, void *opaque)
{
	struct fill_ctx *fc = opaque;
	short ev = 0;
	int idx;

	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	if (events & SLIRP_POLL_ERR)
		ev |= POLLERR;
	if (events & SLIRP_POLL_HUP)
		ev |= POLLHUP;
	idx = pollvec_add(fc->pv, fd, ev);
	return idx < 0 ? -1 : idx;
}

static int cb_get_revents(int idx, void *opaque)
{
	const struct pollvec *pv = opaque;
	short r = pollvec_revents(pv, idx);
	int ev = 0;

	if (r & POLLIN)
		ev |= SLIRP_POLL_IN;
	if (r & POLLOUT)
		ev |= SLIRP_POLL_OUT;
	if (r & POLLPRI)
		ev |= SLIRP_POLL_PRI;
	if (r & (POLLERR | POLLNVAL))
		ev |= SLIRP_POLL_ERR;
	if (r & POLLHUP)
		ev |= SLIRP_POLL_HUP;
	return ev;
}

void exitsrv_poll_prepare(struct exitsrv *x, struct pollvec *pv, int *timeout_ms)
{
	struct fill_ctx fc = { .pv = pv };
	uint32_t t = *timeout_ms < 0 ? UINT32_MAX : (uint32_t)*timeout_ms;
	int64_t now_ms;
	int ms;

	slirp_pollfds_fill(x->slirp, &t, cb_add_poll, &fc);
	ms = t > (uint32_t)INT_MAX ? -1 : (int)t;
	now_ms = (int64_t)(now_ns() / NS_PER_MS);
	for (struct exitsrv_timer *tm = x->timers; tm; tm = tm->next) {
		int64_t d;

		if (tm->expire_ms < 0)
			continue;
		d = tm->expire_ms - now_ms;
		if (d < 0)
			d = 0;
		if (d > INT_MAX)
			d = INT_MAX;
		if (ms < 0 || d < ms)
			ms = (int)d;
	}
	if (x->kick || x->n_arpq)
		ms = 0;
	if (*timeout_ms < 0 || (ms >= 0 && ms < *timeout_ms))
		*timeout_ms = ms;
}

void exitsrv_poll_done(struct exitsrv *x, const struct pollvec *pv, bool error)
{
	uint64_t now;

	x->kick = false;           /* slirp_pollfds_poll ends with if_start */
	slirp_pollfds_poll(x->slirp, error ? 1 : 0, cb_get_revents, (void *)pv);
	timers_run(x);
	arp_flush(x);
	now = now_ns();
	if (now - x->lan_ns >= LAN_REFRESH_NS)
		lan_refresh(x, now);
	if (now - x->swept_ns >= SWEEP_NS)
		flow_sweep(x, now);
}

void exitsrv_get_stats(const struct exitsrv *x, struct exitsrv_stats *out)
{
	*out = x->st;
	out->flows = x->n_flows;
}

void exitsrv_free(struct exitsrv *x)
{
	struct exitsrv_timer *t, *next;

	if (!x)
		return;
	x->closing = true;
	slirp_cleanup(x->slirp);   /* closes its host sockets; may free timers */
	for (t = x->timers; t; t = next) {
		next = t->next;
		free(t);
	}
	flow_free_all(x);
	free(x->lan);
	log_info("exitsrv: destroyed (in %llu, out %llu, refused %llu)", (unsigned long long)x->st.in_packets,
		 (unsigned long long)x->st.out_packets, (unsigned long long)x->st.refused);
	free(x);
}
