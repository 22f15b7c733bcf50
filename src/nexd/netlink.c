/* rtnetlink through libmnl. Requests are built in a small aligned buffer;
 * replies are read into the object's buffer and walked message by message:
 * the sender must be the kernel, the sequence number and port id ours (stale
 * replies are skipped, a bounded number of them), every message and every
 * attribute inside the bytes really received. */
#include "nexd/netlink.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <libmnl/libmnl.h>

#include "common/log.h"

#define NL_RECV_BUF 32768
#define NL_REQ_BUF 1024
#define NL_ERRMSG_LEN 256
#define NL_FLUSH_BATCH 256
#define NL_DUMP_RETRIES 3
#define NL_MONITOR_BATCH 64

struct nl {
	struct mnl_socket *sock;
	uint32_t portid;
	uint32_t seq;
	char errmsg[NL_ERRMSG_LEN];
	uint8_t buf[NL_RECV_BUF] __attribute__((aligned(8)));
};

struct nl_monitor {
	struct mnl_socket *sock;
	uint8_t buf[NL_RECV_BUF] __attribute__((aligned(8)));
};

union nl_req {
	struct nlmsghdr nlh;
	uint8_t b[NL_REQ_BUF];
};

typedef int (*nl_data_cb)(const struct nlmsghdr *nlh, void *data);

/* ------------------------------------------------------------------ socket */

int nl_open(struct nl **out)
{
	struct nl *nl;
	struct timeval tv = { .tv_sec = NL_RECV_TIMEOUT_MS / 1000,
			      .tv_usec = (NL_RECV_TIMEOUT_MS % 1000) * 1000 };
	int one = 1, err;

	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return -ENOMEM;
	nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl->sock) {
		err = -errno;
		goto err_free;
	}
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto err_close_sock;
	}
	if (setsockopt(mnl_socket_get_fd(nl->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		err = -errno;
		goto err_close_sock;
	}
	/* Error texts from the kernel, and acks without a copy of the request.
	 * Both are optional: old kernels without them still work. */
	mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	nl->portid = mnl_socket_get_portid(nl->sock);
	nl->seq = (uint32_t)time(NULL);
	*out = nl;
	return 0;

err_close_sock:
	mnl_socket_close(nl->sock);
err_free:
	free(nl);
	return err;
}

void nl_close(struct nl *nl)
{
	if (!nl)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

const char *nl_last_error(const struct nl *nl)
{
	return nl->errmsg;
}

/* One datagram from the kernel into buf; -ETIMEDOUT after the receive timeout. */
static ssize_t recv_from_kernel(int fd, uint8_t *buf, size_t cap, int flags, unsigned *foreign)
{
	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov = { .iov_base = buf, .iov_len = cap };
		struct msghdr msg = { .msg_name = &sa, .msg_namelen = sizeof(sa),
				      .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(fd, &msg, flags);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return (flags & MSG_DONTWAIT) ? -EAGAIN : -ETIMEDOUT;
			return -errno;
		}
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (msg.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK)
			return -EPROTO;
		if (sa.nl_pid != 0) {
			/* another process, not the kernel */
			if (++*foreign > NL_JUNK_MAX)
				return -EPROTO;
			continue;
		}
		return n;
	}
}

static int errmsg_attr_cb(const struct nlattr *attr, void *data)
{
	struct nl *nl = data;

	if (mnl_attr_type_valid(attr, NLMSGERR_ATTR_MAX) < 0)
		return MNL_CB_OK;
	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG) {
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0)
			return MNL_CB_OK;
		snprintf(nl->errmsg, sizeof(nl->errmsg), "%s", mnl_attr_get_str(attr));
	}
	return MNL_CB_OK;
}

/* The error of an NLMSG_ERROR message (0 for an ack), its text if any. */
static int parse_error(struct nl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *e;
	size_t off;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*e))
		return -EBADMSG;
	e = mnl_nlmsg_get_payload(nlh);
	if (e->error > 0 || e->error < -4095)
		return -EBADMSG;
	if (e->error == 0 || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return e->error;
	off = sizeof(*e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e->msg.nlmsg_len < sizeof(struct nlmsghdr))
			return e->error;
		off += NLMSG_ALIGN(e->msg.nlmsg_len - sizeof(struct nlmsghdr));
	}
	if (NLMSG_HDRLEN + off <= nlh->nlmsg_len)
		mnl_attr_parse(nlh, (unsigned)off, errmsg_attr_cb, nl);
	return e->error;
}

/* Reads the replies to request `seq` until its ack, error or end of dump.
 * Data messages go to cb; a callback error is kept (and returned at the
 * end) while the rest of the reply is drained. */
static int recv_reply(struct nl *nl, uint32_t seq, nl_data_cb cb, void *data)
{
	int fd = mnl_socket_get_fd(nl->sock);
	unsigned junk = 0;
	bool interrupted = false;
	int cb_err = 0;

	for (;;) {
		ssize_t n = recv_from_kernel(fd, nl->buf, sizeof(nl->buf), 0, &junk);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)nl->buf;
		int left;

		if (n < 0)
			return (int)n;
		left = (int)n;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			int err;

			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != nl->portid) {
				log_debug("netlink: skipping a stale reply (seq %u, port %u; want %u, %u)",
					  nlh->nlmsg_seq, nlh->nlmsg_pid, seq, nl->portid);
				if (++junk > NL_JUNK_MAX)
					return -EPROTO;
				continue;
			}
			switch (nlh->nlmsg_type) {
			case NLMSG_NOOP:
				continue;
			case NLMSG_OVERRUN:
				return -ENOBUFS;
			case NLMSG_ERROR:
				err = parse_error(nl, nlh);
				if (err < 0)
					return err;
				return cb_err;
			case NLMSG_DONE:
				/* a failed dump puts its error after the header */
				if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
					int derr;

					memcpy(&derr, mnl_nlmsg_get_payload(nlh), sizeof(derr));
					if (derr < 0 && derr >= -4095)
						return derr;
				}
				if (cb_err == 0 && interrupted)
					return -EINTR;
				return cb_err;
			default:
				if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
					interrupted = true;
				if (cb && cb_err == 0) {
					err = cb(nlh, data);
					if (err < 0)
						cb_err = err;
				}
			}
		}
		if (left != 0)
			return -EBADMSG;
	}
}

static int talk(struct nl *nl, struct nlmsghdr *req, nl_data_cb cb, void *data)
{
	uint32_t seq = ++nl->seq;

	if (seq == 0)
		seq = ++nl->seq;
	req->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	req->nlmsg_seq = seq;
	req->nlmsg_pid = 0;
	nl->errmsg[0] = '\0';
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) < 0)
		return -errno;
	return recv_reply(nl, seq, cb, data);
}

/* A dump, retried when the kernel says it was interrupted by a change. */
static int dump(struct nl *nl, struct nlmsghdr *req, nl_data_cb cb, void *data,
		void (*reset)(void *data))
{
	int err = -EINTR;

	for (int i = 0; i < NL_DUMP_RETRIES && err == -EINTR; i++) {
		if (reset)
			reset(data);
		req->nlmsg_flags = NLM_F_DUMP;
		err = talk(nl, req, cb, data);
	}
	return err == -EINTR ? -EAGAIN : err;
}

/* ----------------------------------------------------------------- helpers */

static size_t family_len(int family)
{
	return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

static int check_cidr(const struct cidr *c)
{
	if (c->family == AF_INET && c->prefix <= 32)
		return 0;
	if (c->family == AF_INET6 && c->prefix <= 128)
		return 0;
	return -EINVAL;
}

/* A list being filled by a dump callback. */
struct list_acc {
	void *out;
	size_t elem, max, n;
	/* filters */
	int family;
	unsigned ifindex;
	uint32_t table;
};

static void *list_slot(struct list_acc *acc)
{
	void *slot = NULL;

	if (acc->n < acc->max)
		slot = (uint8_t *)acc->out + acc->n * acc->elem;
	acc->n++;
	return slot;
}

static void list_reset(void *data)
{
	((struct list_acc *)data)->n = 0;
}

static int list_result(const struct list_acc *acc, size_t *n, int err)
{
	if (err < 0)
		return err;
	*n = acc->n < acc->max ? acc->n : acc->max;
	return acc->n > acc->max ? -ENOSPC : 0;
}

/* Attributes of one message into tb[0..max], each type at most once and
 * checked against its expected type/length by the validate callback. */
struct attr_table {
	const struct nlattr **tb;
	unsigned max;
	int (*validate)(const struct nlattr *attr, int family);
	int family;
	bool bad;
};

static int attr_table_cb(const struct nlattr *attr, void *data)
{
	struct attr_table *t = data;
	unsigned type = mnl_attr_get_type(attr);

	if (type > t->max)
		return MNL_CB_OK;   /* newer kernel, unknown attribute */
	if (t->validate(attr, t->family) < 0) {
		t->bad = true;
		return MNL_CB_ERROR;
	}
	t->tb[type] = attr;
	return MNL_CB_OK;
}

static int parse_attrs(const struct nlmsghdr *nlh, size_t hdrlen, const struct nlattr **tb,
		       unsigned max, int (*validate)(const struct nlattr *, int), int family)
{
	struct attr_table t = { tb, max, validate, family, false };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (nlh->nlmsg_len < NLMSG_HDRLEN + NLMSG_ALIGN(hdrlen))
		return -EBADMSG;
	if (mnl_attr_parse(nlh, (unsigned)hdrlen, attr_table_cb, &t) < 0 || t.bad)
		return -EBADMSG;
	return 0;
}

static int validate_addr_attr(const struct nlattr *attr, size_t want)
{
	if (want == 0 || mnl_attr_get_payload_len(attr) != want) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------- links */

static int validate_link(const struct nlattr *attr, int family)
{
	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		return mnl_attr_validate(attr, MNL_TYPE_NUL_STRING);
	case IFLA_MTU:
		return mnl_attr_validate(attr, MNL_TYPE_U32);
	}
	return 0;
}

struct link_query {
	const char *name;
	unsigned ifindex;
};

static int link_index_cb(const struct nlmsghdr *nlh, void *data)
{
	struct link_query *q = data;
	const struct nlattr *tb[IFLA_MTU + 1];
	const struct ifinfomsg *ifi;
	int err;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return 0;
	err = parse_attrs(nlh, sizeof(*ifi), tb, IFLA_MTU, validate_link, AF_UNSPEC);
	if (err < 0)
		return err;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (ifi->ifi_index <= 0 || !tb[IFLA_IFNAME] ||
	    strcmp(mnl_attr_get_str(tb[IFLA_IFNAME]), q->name) != 0)
		return -EBADMSG;
	q->ifindex = (unsigned)ifi->ifi_index;
	return 0;
}

int nl_link_index(struct nl *nl, const char *name, unsigned *ifindex)
{
	union nl_req req = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	struct link_query q = { name, 0 };
	size_t len = strnlen(name, IFNAMSIZ);
	int err;

	if (len == 0 || len >= IFNAMSIZ)
		return -EINVAL;
	nlh = mnl_nlmsg_put_header(req.b);
	nlh->nlmsg_type = RTM_GETLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	err = talk(nl, nlh, link_index_cb, &q);
	if (err < 0)
		return err;
	if (q.ifindex == 0)
		return -ENODEV;
	*ifindex = q.ifindex;
	return 0;
}

static struct nlmsghdr *link_req(union nl_req *req, unsigned ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(req->b);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = RTM_NEWLINK;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)ifindex;
	return nlh;
}

int nl_link_set_up(struct nl *nl, unsigned ifindex, bool up)
{
	union nl_req req = { 0 };
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	if (ifindex == 0 || ifindex > INT32_MAX)
		return -EINVAL;
	nlh = link_req(&req, ifindex);
	ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return talk(nl, nlh, NULL, NULL);
}

int nl_link_set_mtu(struct nl *nl, unsigned ifindex, unsigned mtu)
{
	union nl_req req = { 0 };
	struct nlmsghdr *nlh;

	if (ifindex == 0 || ifindex > INT32_MAX || mtu < 68 || mtu > INT32_MAX)
		return -EINVAL;
	nlh = link_req(&req, ifindex);
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	return talk(nl, nlh, NULL, NULL);
}

/* --------------------------------------------------------------- addresses */

static int validate_addr(const struct nlattr *attr, int family)
{
	switch (mnl_attr_get_type(attr)) {
	case IFA_ADDRESS:
	case IFA_LOCAL:
		return validate_addr_attr(attr, family_len(family));
	case IFA_FLAGS:
		return mnl_attr_validate(attr, MNL_TYPE_U32);
	}
	return 0;
}

static int addr_change(struct nl *nl, int type, unsigned ifindex, const struct cidr *addr)
{
	union nl_req req = { 0 };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	size_t alen;

	if (ifindex == 0 || check_cidr(addr) < 0)
		return -EINVAL;
	alen = family_len(addr->family);
	nlh = mnl_nlmsg_put_header(req.b);
	nlh->nlmsg_type = (uint16_t)type;
	if (type == RTM_NEWADDR)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)addr->family;
	ifa->ifa_prefixlen = addr->prefix;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = ifindex;
	mnl_attr_put(nlh, IFA_LOCAL, alen, addr->addr);
	mnl_attr_put(nlh, IFA_ADDRESS, alen, addr->addr);
	return talk(nl, nlh, NULL, NULL);
}

int nl_addr_add(struct nl *nl, unsigned ifindex, const struct cidr *addr)
{
	return addr_change(nl, RTM_NEWADDR, ifindex, addr);
}

int nl_addr_del(struct nl *nl, unsigned ifindex, const struct cidr *addr)
{
	return addr_change(nl, RTM_DELADDR, ifindex, addr);
}

static int addr_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct list_acc *acc = data;
	const struct nlattr *tb[IFA_FLAGS + 1], *a;
	const struct ifaddrmsg *ifa;
	struct nl_addr *slot;
	int err;

	if (nlh->nlmsg_type != RTM_NEWADDR)
		return 0;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*ifa))
		return -EBADMSG;
	ifa = mnl_nlmsg_get_payload(nlh);
	if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6)
		return 0;
	if (acc->family != AF_UNSPEC && ifa->ifa_family != acc->family)
		return 0;
	if (acc->ifindex && ifa->ifa_index != acc->ifindex)
		return 0;
	if (ifa->ifa_prefixlen > 8 * family_len(ifa->ifa_family))
		return -EBADMSG;
	err = parse_attrs(nlh, sizeof(*ifa), tb, IFA_FLAGS, validate_addr, ifa->ifa_family);
	if (err < 0)
		return err;
	a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
	if (!a)
		return -EBADMSG;
	slot = list_slot(acc);
	if (slot) {
		memset(slot, 0, sizeof(*slot));
		slot->ifindex = ifa->ifa_index;
		slot->addr.family = ifa->ifa_family;
		slot->addr.prefix = ifa->ifa_prefixlen;
		memcpy(slot->addr.addr, mnl_attr_get_payload(a), family_len(ifa->ifa_family));
	}
	return 0;
}

int nl_addr_list(struct nl *nl, unsigned ifindex, int family,
		 struct nl_addr *out, size_t max, size_t *n)
{
	union nl_req req = { 0 };
	struct nlmsghdr *nlh;
	struct ifaddrmsg *ifa;
	struct list_acc acc = { .out = out, .elem = sizeof(*out), .max = max,
				.family = family, .ifindex = ifindex };

	if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
		return -EINVAL;
	nlh = mnl_nlmsg_put_header(req.b);
	nlh->nlmsg_type = RTM_GETADDR;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = (uint8_t)family;
	return list_result(&acc, n, dump(nl, nlh, addr_list_cb, &acc, list_reset));
}

/* ------------------------------------------------------------------ routes */

static int validate_route(const struct nlattr *attr, int family)
{
	switch (mnl_attr_get_type(attr)) {
	case RTA_DST:
	case RTA_GATEWAY:
	case RTA_PREFSRC:
		return validate_addr_attr(attr, family_len(family));
	case RTA_OIF:
	case RTA_PRIORITY:
	case RTA_TABLE:
		return mnl_attr_validate(attr, MNL_TYPE_U32);
	}
	return 0;
}

static int check_route(const struct nl_route *r, bool del)
{
	if (check_cidr(&r->dst) < 0 || r->table == RT_TABLE_UNSPEC)
		return -EINVAL;
	if (r->type != RTN_UNICAST && r->type != RTN_BLACKHOLE && !del)
		return -EINVAL;
	if (r->type > RTN_MAX || r->protocol > 255)
		return -EINVAL;
	if (r->type == RTN_BLACKHOLE && (r->oif || r->has_gateway) && !del)
		return -EINVAL;
	if (r->type == RTN_UNICAST && !del && !r->oif && !r->has_gateway)
		return -EINVAL;
	return 0;
}

static int route_change(struct nl *nl, int type, const struct nl_route *r)
{
	union nl_req req = { 0 };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	bool del = type == RTM_DELROUTE;
	size_t alen;
	int err;

	err = check_route(r, del);
	if (err < 0)
		return err;
	alen = family_len(r->dst.family);
	nlh = mnl_nlmsg_put_header(req.b);
	nlh->nlmsg_type = (uint16_t)type;
	if (!del)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)r->dst.family;
	rtm->rtm_dst_len = r->dst.prefix;
	rtm->rtm_table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	rtm->rtm_type = (uint8_t)r->type;
	if (del) {
		rtm->rtm_protocol = (uint8_t)r->protocol;
		rtm->rtm_scope = RT_SCOPE_NOWHERE;
	} else {
		rtm->rtm_protocol = r->protocol ? (uint8_t)r->protocol : RTPROT_BOOT;
		/* like ip(8): a v4 route straight onto a link has link scope */
		rtm->rtm_scope = (r->dst.family == AF_INET && r->type == RTN_UNICAST &&
				  !r->has_gateway) ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
	}
	mnl_attr_put_u32(nlh, RTA_TABLE, r->table);
	if (r->dst.prefix > 0) {
		struct cidr net = r->dst;

		cidr_normalize(&net);
		mnl_attr_put(nlh, RTA_DST, alen, net.addr);
	}
	if (r->oif)
		mnl_attr_put_u32(nlh, RTA_OIF, r->oif);
	if (r->has_gateway)
		mnl_attr_put(nlh, RTA_GATEWAY, alen, r->gateway);
	if (r->metric)
		mnl_attr_put_u32(nlh, RTA_PRIORITY, r->metric);
	return talk(nl, nlh, NULL, NULL);
}

int nl_route_add(struct nl *nl, const struct nl_route *r)
{
	return route_change(nl, RTM_NEWROUTE, r);
}

int nl_route_del(struct nl *nl, const struct nl_route *r)
{
	return route_change(nl, RTM_DELROUTE, r);
}

/* The first next hop of RTA_MULTIPATH: each struct rtnexthop is followed
 * by its own attributes, all inside rtnh_len. */
static void route_first_hop(const struct nlattr *mp, struct nl_route *r)
{
	const uint8_t *p = mnl_attr_get_payload(mp);
	size_t left = mnl_attr_get_payload_len(mp);
	const struct rtnexthop *nh = (const struct rtnexthop *)p;
	size_t nhlen, off;
	size_t alen = family_len(r->dst.family);

	if (left < sizeof(*nh))
		return;
	nhlen = nh->rtnh_len;
	if (nhlen < sizeof(*nh) || nhlen > left)
		return;
	r->oif = (unsigned)nh->rtnh_ifindex;
	for (off = RTNH_ALIGN(sizeof(*nh)); off + sizeof(struct nlattr) <= nhlen;) {
		const struct nlattr *a = (const struct nlattr *)(p + off);

		if (a->nla_len < sizeof(struct nlattr) || a->nla_len > nhlen - off)
			return;
		if ((a->nla_type & NLA_TYPE_MASK) == RTA_GATEWAY &&
		    a->nla_len == sizeof(struct nlattr) + alen) {
			memcpy(r->gateway, (const uint8_t *)a + sizeof(struct nlattr), alen);
			r->has_gateway = true;
		}
		off += NLA_ALIGN(a->nla_len);
	}
}

static int route_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct list_acc *acc = data;
	const struct nlattr *tb[RTA_MAX + 1];
	const struct rtmsg *rtm;
	struct nl_route r, *slot;
	uint32_t table;
	size_t alen;
	int err;

	if (nlh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*rtm))
		return -EBADMSG;
	rtm = mnl_nlmsg_get_payload(nlh);
	if (rtm->rtm_family != acc->family || (rtm->rtm_flags & RTM_F_CLONED))
		return 0;
	alen = family_len(rtm->rtm_family);
	if (rtm->rtm_dst_len > 8 * alen)
		return -EBADMSG;
	err = parse_attrs(nlh, sizeof(*rtm), tb, RTA_MAX, validate_route, rtm->rtm_family);
	if (err < 0)
		return err;
	table = tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : rtm->rtm_table;
	if (table != acc->table)
		return 0;
	memset(&r, 0, sizeof(r));
	r.dst.family = rtm->rtm_family;
	r.dst.prefix = rtm->rtm_dst_len;
	if (tb[RTA_DST])
		memcpy(r.dst.addr, mnl_attr_get_payload(tb[RTA_DST]), alen);
	r.table = table;
	r.type = rtm->rtm_type;
	r.protocol = rtm->rtm_protocol;
	r.scope = rtm->rtm_scope;
	if (tb[RTA_OIF])
		r.oif = mnl_attr_get_u32(tb[RTA_OIF]);
	if (tb[RTA_GATEWAY]) {
		memcpy(r.gateway, mnl_attr_get_payload(tb[RTA_GATEWAY]), alen);
		r.has_gateway = true;
	}
	if (tb[RTA_PRIORITY])
		r.metric = mnl_attr_get_u32(tb[RTA_PRIORITY]);
	if (tb[RTA_MULTIPATH] && !r.oif && !r.has_gateway)
		route_first_hop(tb[RTA_MULTIPATH], &r);
	slot = list_slot(acc);
	if (slot)
		*slot = r;
	return 0;
}

int nl_route_list(struct nl *nl, int family, uint32_t table,
		  struct nl_route *out, size_t max, size_t *n)
{
	union nl_req req = { 0 };
	struct nlmsghdr *nlh;
	struct rtmsg *rtm;
	struct list_acc acc = { .out = out, .elem = sizeof(*out), .max = max,
				.family = family, .table = table };

	if ((family != AF_INET && family != AF_INET6) || table == RT_TABLE_UNSPEC)
		return -EINVAL;
	nlh = mnl_nlmsg_put_header(req.b);
	nlh->nlmsg_type = RTM_GETROUTE;
	rtm = mnl_nlmsg_put_extra_header(nlh, sizeof(*rtm));
	rtm->rtm_family = (uint8_t)family;
	return list_result(&acc, n, dump(nl, nlh, route_list_cb, &acc, list_reset));
}

int nl_route_flush_table(struct nl *nl, int family, uint32_t table, unsigned *removed)
{
	struct nl_route *batch;
	unsigned count = 0;
	int err;

	batch = calloc(NL_FLUSH_BATCH, sizeof(*batch));
	if (!batch)
		return -ENOMEM;
	for (unsigned round = 0; round < NL_LIST_MAX / NL_FLUSH_BATCH; round++) {
		size_t n = 0, deleted = 0;
		int lerr = nl_route_list(nl, family, table, batch, NL_FLUSH_BATCH, &n);

		if (lerr < 0 && lerr != -ENOSPC) {
			err = lerr;
			goto out_free;
		}
		for (size_t i = 0; i < n; i++) {
			int derr = nl_route_del(nl, &batch[i]);

			if (derr == -ESRCH || derr == -ENOENT)
				continue;   /* gone meanwhile */
			if (derr < 0) {
				err = derr;
				goto out_free;
			}
			deleted++;
			count++;
		}
		if (lerr == 0) {
			err = 0;
			goto out_free;
		}
		if (deleted == 0) {
			err = -EBUSY;   /* routes that do not go away */
			goto out_free;
		}
	}
	err = -E2BIG;
out_free:
	free(batch);
	if (removed)
		*removed = count;
	return err;
}

int nl_route_get_default(struct nl *nl, int family, struct nl_route *out)
{
	struct nl_route *all;
	size_t n = 0, best = SIZE_MAX;
	size_t cap = 64;
	int err;

	for (;;) {
		all = calloc(cap, sizeof(*all));
		if (!all)
			return -ENOMEM;
		err = nl_route_list(nl, family, RT_TABLE_MAIN, all, cap, &n);
		if (err != -ENOSPC || cap >= NL_LIST_MAX)
			break;
		free(all);
		cap *= 4;
	}
	if (err < 0 && err != -ENOSPC)
		goto out_free;
	for (size_t i = 0; i < n; i++) {
		if (all[i].dst.prefix != 0 || all[i].type != RTN_UNICAST)
			continue;
		if (!all[i].oif && !all[i].has_gateway)
			continue;
		if (best == SIZE_MAX || all[i].metric < all[best].metric)
			best = i;
	}
	if (best == SIZE_MAX) {
		err = -ENOENT;
		goto out_free;
	}
	*out = all[best];
	err = 0;
out_free:
	free(all);
	return err;
}

/* ------------------------------------------------------------------- rules */

static int validate_rule(const struct nlattr *attr, int family)
{
	switch (mnl_attr_get_type(attr)) {
	case FRA_PRIORITY:
	case FRA_TABLE:
	case FRA_FWMARK:
	case FRA_FWMASK:
	case FRA_SUPPRESS_PREFIXLEN:
		return mnl_attr_validate(attr, MNL_TYPE_U32);
	}
	return 0;
}

static int rule_change(struct nl *nl, int type, const struct nl_rule *r, bool only_priority)
{
	union nl_req req = { 0 };
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;

	if (r->family != AF_INET && r->family != AF_INET6)
		return -EINVAL;
	if (!only_priority && (r->table == RT_TABLE_UNSPEC ||
			       (r->has_suppress_prefixlen &&
				r->suppress_prefixlen > 8 * family_len(r->family))))
		return -EINVAL;
	nlh = mnl_nlmsg_put_header(req.b);
	nlh->nlmsg_type = (uint16_t)type;
	if (type == RTM_NEWRULE)
		nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)r->family;
	mnl_attr_put_u32(nlh, FRA_PRIORITY, r->priority);
	if (only_priority)
		return talk(nl, nlh, NULL, NULL);
	frh->action = FR_ACT_TO_TBL;
	frh->table = r->table < 256 ? (uint8_t)r->table : RT_TABLE_UNSPEC;
	if (r->invert)
		frh->flags |= FIB_RULE_INVERT;
	mnl_attr_put_u32(nlh, FRA_TABLE, r->table);
	if (r->has_fwmark) {
		mnl_attr_put_u32(nlh, FRA_FWMARK, r->fwmark);
		mnl_attr_put_u32(nlh, FRA_FWMASK, r->fwmask ? r->fwmask : 0xffffffffu);
	}
	if (r->has_suppress_prefixlen)
		mnl_attr_put_u32(nlh, FRA_SUPPRESS_PREFIXLEN, r->suppress_prefixlen);
	return talk(nl, nlh, NULL, NULL);
}

int nl_rule_add(struct nl *nl, const struct nl_rule *r)
{
	return rule_change(nl, RTM_NEWRULE, r, false);
}

int nl_rule_del(struct nl *nl, const struct nl_rule *r)
{
	return rule_change(nl, RTM_DELRULE, r, false);
}

static int rule_list_cb(const struct nlmsghdr *nlh, void *data)
{
	struct list_acc *acc = data;
	const struct nlattr *tb[FRA_MAX + 1];
	const struct fib_rule_hdr *frh;
	struct nl_rule r, *slot;
	int err;

	if (nlh->nlmsg_type != RTM_NEWRULE)
		return 0;
	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(*frh))
		return -EBADMSG;
	frh = mnl_nlmsg_get_payload(nlh);
	if (frh->family != acc->family)
		return 0;
	err = parse_attrs(nlh, sizeof(*frh), tb, FRA_MAX, validate_rule, frh->family);
	if (err < 0)
		return err;
	memset(&r, 0, sizeof(r));
	r.family = frh->family;
	r.priority = tb[FRA_PRIORITY] ? mnl_attr_get_u32(tb[FRA_PRIORITY]) : 0;
	r.table = tb[FRA_TABLE] ? mnl_attr_get_u32(tb[FRA_TABLE]) : frh->table;
	r.invert = (frh->flags & FIB_RULE_INVERT) != 0;
	if (tb[FRA_FWMARK] || tb[FRA_FWMASK]) {
		r.has_fwmark = true;
		r.fwmark = tb[FRA_FWMARK] ? mnl_attr_get_u32(tb[FRA_FWMARK]) : 0;
		r.fwmask = tb[FRA_FWMASK] ? mnl_attr_get_u32(tb[FRA_FWMASK]) : 0xffffffffu;
	}
	if (tb[FRA_SUPPRESS_PREFIXLEN] &&
	    mnl_attr_get_u32(tb[FRA_SUPPRESS_PREFIXLEN]) != 0xffffffffu) {
		r.has_suppress_prefixlen = true;
		r.suppress_prefixlen = mnl_attr_get_u32(tb[FRA_SUPPRESS_PREFIXLEN]);
	}
	slot = list_slot(acc);
	if (slot)
		*slot = r;
	return 0;
}

int nl_rule_list(struct nl *nl, int family, struct nl_rule *out, size_t max, size_t *n)
{
	union nl_req req = { 0 };
	struct nlmsghdr *nlh;
	struct fib_rule_hdr *frh;
	struct list_acc acc = { .out = out, .elem = sizeof(*out), .max = max, .family = family };

	if (family != AF_INET && family != AF_INET6)
		return -EINVAL;
	nlh = mnl_nlmsg_put_header(req.b);
	nlh->nlmsg_type = RTM_GETRULE;
	frh = mnl_nlmsg_put_extra_header(nlh, sizeof(*frh));
	frh->family = (uint8_t)family;
	return list_result(&acc, n, dump(nl, nlh, rule_list_cb, &acc, list_reset));
}

int nl_rule_del_priority(struct nl *nl, int family, uint32_t priority, unsigned *removed)
{
	struct nl_rule r = { .family = family, .priority = priority };
	unsigned count = 0;
	int err = -E2BIG;

	for (unsigned i = 0; i < NL_LIST_MAX; i++) {
		err = rule_change(nl, RTM_DELRULE, &r, true);
		if (err == -ENOENT || err == -ESRCH) {
			err = 0;
			break;
		}
		if (err < 0)
			break;
		count++;
		err = -E2BIG;
	}
	if (removed)
		*removed = count;
	return err;
}

/* ----------------------------------------------------------------- monitor */

int nl_monitor_open(struct nl_monitor **out)
{
	struct nl_monitor *m;
	int err;

	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!m->sock) {
		err = -errno;
		goto err_free;
	}
	if (mnl_socket_bind(m->sock, RTMGRP_LINK | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE,
			    MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto err_close_sock;
	}
	*out = m;
	return 0;

err_close_sock:
	mnl_socket_close(m->sock);
err_free:
	free(m);
	return err;
}

int nl_monitor_fd(const struct nl_monitor *m)
{
	return mnl_socket_get_fd(m->sock);
}

int nl_monitor_drain(struct nl_monitor *m, unsigned *events)
{
	int fd = mnl_socket_get_fd(m->sock);
	unsigned ev = 0, foreign = 0;

	for (int i = 0; i < NL_MONITOR_BATCH; i++) {
		ssize_t n = recv_from_kernel(fd, m->buf, sizeof(m->buf), MSG_DONTWAIT, &foreign);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)m->buf;
		int left;

		if (n == -EAGAIN)
			break;
		if (n == -ENOBUFS) {
			/* the kernel dropped notifications: everything may have changed */
			ev |= NL_EVENT_LINK | NL_EVENT_ROUTE;
			continue;
		}
		if (n < 0)
			return (int)n;
		left = (int)n;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			switch (nlh->nlmsg_type) {
			case RTM_NEWLINK:
			case RTM_DELLINK:
				if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(struct ifinfomsg))
					ev |= NL_EVENT_LINK;
				break;
			case RTM_NEWROUTE:
			case RTM_DELROUTE:
				if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(struct rtmsg))
					ev |= NL_EVENT_ROUTE;
				break;
			}
		}
		if (left != 0)
			log_debug("netlink: monitor: %d stray bytes after the last message", left);
	}
	*events = ev;
	return 0;
}

void nl_monitor_close(struct nl_monitor *m)
{
	if (!m)
		return;
	mnl_socket_close(m->sock);
	free(m);
}
