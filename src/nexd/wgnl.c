/* Kernel WireGuard's netlink messages, built and parsed in memory. The
 * layout is the UAPI's (<linux/wireguard.h>); how a change is cut into
 * messages and how a dump is put back together follows wireguard-tools'
 * ipc-linux.h (kernel_set_device, kernel_get_device, coalesce_peers).
 *
 * Parsing walks attributes with explicit bounds (attrs_walk): every
 * attribute must lie whole inside its parent and nothing may be left over
 * but the padding of the last; fixed-size attributes are checked with
 * mnl_attr_validate or against their exact size. Unknown attribute types
 * are skipped (a newer kernel), known ones of the wrong size are not. */
#include "nexd/wgnl.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <net/if.h>
#include <netinet/in.h>
#include <linux/genetlink.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <linux/wireguard.h>
#include <libmnl/libmnl.h>
#include <sodium.h>

#include "common/key.h"

#define WG_KIND "wireguard"
#define CTRL_VERSION 1

_Static_assert(WG_KEY_SIZE == WG_KEY_LEN, "key sizes");
_Static_assert(WG_KEY_SIZE == KEY_LEN, "key sizes");

/* ---------------------------------------------------------------- building */

static int check_ifname(const char *ifname)
{
	size_t n;

	if (!ifname)
		return -EINVAL;
	n = strnlen(ifname, IFNAMSIZ);
	return n == 0 || n >= IFNAMSIZ ? -EINVAL : 0;
}

/* The header of a request, and `extra` zeroed bytes of family header. */
static struct nlmsghdr *msg_start(void *buf, size_t cap, uint16_t type, uint16_t flags, uint32_t seq,
				  size_t extra)
{
	struct nlmsghdr *nlh;

	if (!buf || cap < NLMSG_HDRLEN + MNL_ALIGN(extra) || cap > UINT32_MAX)
		return NULL;
	/* libmnl before 1.0.5 leaves the padding of attributes as it finds it */
	memset(buf, 0, cap);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = 0;
	if (extra)
		mnl_nlmsg_put_extra_header(nlh, extra);
	return nlh;
}

static struct nlmsghdr *genl_start(void *buf, size_t cap, uint16_t family, uint8_t cmd, uint8_t version,
				   uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = msg_start(buf, cap, family, flags, seq, sizeof(struct genlmsghdr));
	struct genlmsghdr *g;

	if (!nlh)
		return NULL;
	g = mnl_nlmsg_get_payload(nlh);
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

int wgnl_getfamily_build(void *buf, size_t cap, uint32_t seq, const char *name)
{
	uint16_t flags = NLM_F_REQUEST | (name ? NLM_F_ACK : NLM_F_DUMP);
	struct nlmsghdr *nlh;

	if (name && (name[0] == '\0' || strnlen(name, GENL_NAMSIZ) >= GENL_NAMSIZ))
		return -EINVAL;
	nlh = genl_start(buf, cap, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, CTRL_VERSION, flags, seq);
	if (!nlh)
		return -EMSGSIZE;
	if (name && !mnl_attr_put_strz_check(nlh, cap, CTRL_ATTR_FAMILY_NAME, name))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

static struct nlmsghdr *link_start(void *buf, size_t cap, uint16_t type, uint16_t flags, uint32_t seq)
{
	struct nlmsghdr *nlh = msg_start(buf, cap, type, flags, seq, sizeof(struct ifinfomsg));

	if (nlh)
		((struct ifinfomsg *)mnl_nlmsg_get_payload(nlh))->ifi_family = AF_UNSPEC;
	return nlh;
}

int wgnl_newlink_build(void *buf, size_t cap, uint32_t seq, const char *ifname)
{
	struct nlmsghdr *nlh;
	struct nlattr *info;
	int err = check_ifname(ifname);

	if (err)
		return err;
	nlh = link_start(buf, cap, RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
	if (!nlh || !mnl_attr_put_strz_check(nlh, cap, IFLA_IFNAME, ifname))
		return -EMSGSIZE;
	info = mnl_attr_nest_start_check(nlh, cap, IFLA_LINKINFO);
	if (!info || !mnl_attr_put_strz_check(nlh, cap, IFLA_INFO_KIND, WG_KIND))
		return -EMSGSIZE;
	mnl_attr_nest_end(nlh, info);
	return (int)nlh->nlmsg_len;
}

int wgnl_dellink_build(void *buf, size_t cap, uint32_t seq, const char *ifname)
{
	struct nlmsghdr *nlh;
	int err = check_ifname(ifname);

	if (err)
		return err;
	nlh = link_start(buf, cap, RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
	if (!nlh || !mnl_attr_put_strz_check(nlh, cap, IFLA_IFNAME, ifname))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

int wgnl_get_build(void *buf, size_t cap, uint16_t family, uint32_t seq, const char *ifname)
{
	struct nlmsghdr *nlh;
	int err = check_ifname(ifname);

	if (err)
		return err;
	nlh = genl_start(buf, cap, family, WG_CMD_GET_DEVICE, WG_GENL_VERSION,
			 NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, seq);
	if (!nlh || !mnl_attr_put_strz_check(nlh, cap, WGDEVICE_A_IFNAME, ifname))
		return -EMSGSIZE;
	return (int)nlh->nlmsg_len;
}

/* ----------------------------------------------------------- SET_DEVICE */

static bool cidr_ok(const struct cidr *c)
{
	return (c->family == AF_INET && c->prefix <= 32) || (c->family == AF_INET6 && c->prefix <= 128);
}

/* What wg_device_apply refuses, refused before anything is sent. */
static int set_validate(const struct wg_config *c)
{
	if (c->n_peers && !c->peers)
		return -EINVAL;
	if (c->n_peers > WGNL_MAX_PEERS)
		return -E2BIG;
	for (size_t i = 0; i < c->n_peers; i++) {
		const struct wg_peer_config *p = &c->peers[i];

		if (p->has_endpoint && p->endpoint.sa.sa_family != AF_INET &&
		    p->endpoint.sa.sa_family != AF_INET6)
			return -EINVAL;
		if (p->n_allowed_ips && !p->allowed_ips)
			return -EINVAL;
		for (size_t j = 0; j < p->n_allowed_ips; j++)
			if (!cidr_ok(&p->allowed_ips[j]))
				return -EINVAL;
	}
	return 0;
}

static bool put_device(struct nlmsghdr *nlh, size_t cap, const struct wg_config *c)
{
	if (c->has_private_key &&
	    !mnl_attr_put_check(nlh, cap, WGDEVICE_A_PRIVATE_KEY, WG_KEY_SIZE, c->private_key))
		return false;
	if (c->has_listen_port && !mnl_attr_put_u16_check(nlh, cap, WGDEVICE_A_LISTEN_PORT, c->listen_port))
		return false;
	if (c->has_fwmark && !mnl_attr_put_u32_check(nlh, cap, WGDEVICE_A_FWMARK, c->fwmark))
		return false;
	if (c->replace_peers && !mnl_attr_put_u32_check(nlh, cap, WGDEVICE_A_FLAGS, WGDEVICE_F_REPLACE_PEERS))
		return false;
	return true;
}

static bool put_allowed_ip(struct nlmsghdr *nlh, size_t cap, const struct cidr *in)
{
	struct cidr c = *in;
	struct nlattr *nest = mnl_attr_nest_start_check(nlh, cap, 0);

	if (!nest)
		return false;
	cidr_normalize(&c);
	if (!mnl_attr_put_u16_check(nlh, cap, WGALLOWEDIP_A_FAMILY, (uint16_t)c.family) ||
	    !mnl_attr_put_check(nlh, cap, WGALLOWEDIP_A_IPADDR, c.family == AF_INET ? 4 : 16, c.addr) ||
	    !mnl_attr_put_u8_check(nlh, cap, WGALLOWEDIP_A_CIDR_MASK, c.prefix)) {
		mnl_attr_nest_cancel(nlh, nest);
		return false;
	}
	mnl_attr_nest_end(nlh, nest);
	return true;
}

/* The attributes of a peer's first part, after its key. */
static bool put_peer_head(struct nlmsghdr *nlh, size_t cap, const struct wg_peer_config *p)
{
	if (p->has_preshared_key &&
	    !mnl_attr_put_check(nlh, cap, WGPEER_A_PRESHARED_KEY, WG_KEY_SIZE, p->preshared_key))
		return false;
	if (p->has_endpoint) {
		size_t len = p->endpoint.sa.sa_family == AF_INET ? sizeof(p->endpoint.in4) : sizeof(p->endpoint.in6);

		if (!mnl_attr_put_check(nlh, cap, WGPEER_A_ENDPOINT, len, &p->endpoint))
			return false;
	}
	if (p->has_persistent_keepalive &&
	    !mnl_attr_put_u16_check(nlh, cap, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
				    p->persistent_keepalive_interval))
		return false;
	return true;
}

/* As much of the peer at pos as fits. True when something of it was
 * written (pos advanced); false when nothing was (the message is full). */
static bool put_peer(struct nlmsghdr *nlh, size_t cap, const struct wg_peer_config *p, struct wgnl_set *pos)
{
	struct nlattr *peer, *aips;
	size_t aip = pos->aip;
	uint32_t flags = 0;

	peer = mnl_attr_nest_start_check(nlh, cap, 0);
	if (!peer)
		return false;
	if (!mnl_attr_put_check(nlh, cap, WGPEER_A_PUBLIC_KEY, WG_KEY_SIZE, p->public_key))
		goto err_cancel_peer;
	if (p->remove)
		flags |= WGPEER_F_REMOVE_ME;
	/* Every part: a peer that does not exist must not be created by the
	 * allowed IPs of its second part either. */
	if (p->update_only)
		flags |= WGPEER_F_UPDATE_ONLY;
	if (!pos->peer_started && !p->remove) {
		if (p->replace_allowed_ips)
			flags |= WGPEER_F_REPLACE_ALLOWEDIPS;
		if (!put_peer_head(nlh, cap, p))
			goto err_cancel_peer;
	}
	if (flags && !mnl_attr_put_u32_check(nlh, cap, WGPEER_A_FLAGS, flags))
		goto err_cancel_peer;
	if (!p->remove && aip < p->n_allowed_ips) {
		aips = mnl_attr_nest_start_check(nlh, cap, WGPEER_A_ALLOWEDIPS);
		if (aips) {
			while (aip < p->n_allowed_ips && put_allowed_ip(nlh, cap, &p->allowed_ips[aip]))
				aip++;
			if (aip == pos->aip)
				mnl_attr_nest_cancel(nlh, aips);
			else
				mnl_attr_nest_end(nlh, aips);
		}
	}
	/* A continuation that carries no allowed IP says nothing new. */
	if (pos->peer_started && aip == pos->aip)
		goto err_cancel_peer;
	mnl_attr_nest_end(nlh, peer);
	if (p->remove || aip == p->n_allowed_ips) {
		pos->peer++;
		pos->aip = 0;
		pos->peer_started = false;
	} else {
		pos->aip = aip;
		pos->peer_started = true;
	}
	return true;

err_cancel_peer:
	mnl_attr_nest_cancel(nlh, peer);
	return false;
}

int wgnl_set_build(void *buf, size_t cap, uint16_t family, uint32_t seq, const char *ifname,
		   const struct wg_config *c, struct wgnl_set *pos)
{
	struct nlmsghdr *nlh;
	struct nlattr *peers;
	bool progress = false;
	int err;

	if (!c || !pos || pos->done || family < NLMSG_MIN_TYPE)
		return -EINVAL;
	err = check_ifname(ifname);
	if (err)
		return err;
	if (!pos->started) {
		err = set_validate(c);
		if (err)
			return err;
	} else if (pos->peer >= c->n_peers) {
		return -EINVAL;
	}
	nlh = genl_start(buf, cap, family, WG_CMD_SET_DEVICE, WG_GENL_VERSION, NLM_F_REQUEST | NLM_F_ACK, seq);
	if (!nlh || !mnl_attr_put_strz_check(nlh, cap, WGDEVICE_A_IFNAME, ifname))
		return -EMSGSIZE;
	if (!pos->started) {
		if (!put_device(nlh, cap, c))
			return -EMSGSIZE;
		progress = true;
	}
	if (pos->peer < c->n_peers) {
		struct wgnl_set next = *pos;

		peers = mnl_attr_nest_start_check(nlh, cap, WGDEVICE_A_PEERS);
		if (peers) {
			while (next.peer < c->n_peers && put_peer(nlh, cap, &c->peers[next.peer], &next))
				progress = true;
			if (next.peer == pos->peer && next.aip == pos->aip && next.peer_started == pos->peer_started)
				mnl_attr_nest_cancel(nlh, peers);
			else
				mnl_attr_nest_end(nlh, peers);
		}
		if (!progress)
			return -EMSGSIZE;
		*pos = next;
	}
	pos->started = true;
	pos->done = pos->peer >= c->n_peers;
	return (int)nlh->nlmsg_len;
}

/* ----------------------------------------------------------------- parsing */

typedef int (*attr_fn)(const struct nlattr *a, void *ctx);

/* Each attribute of [p, p + len), whole; nothing left over but the
 * padding of the last one. */
static int attrs_walk(const void *p, size_t len, attr_fn fn, void *ctx)
{
	const struct nlattr *a = p;
	size_t left = len;

	if (len > INT_MAX)
		return -EBADMSG;
	while (left > 0) {
		size_t step;
		int err;

		if (!mnl_attr_ok(a, (int)left))
			return -EBADMSG;
		err = fn(a, ctx);
		if (err)
			return err;
		step = MNL_ALIGN(a->nla_len);
		if (step >= left)
			break;
		left -= step;
		a = (const struct nlattr *)((const uint8_t *)a + step);
	}
	return 0;
}

static int nested_walk(const struct nlattr *a, attr_fn fn, void *ctx)
{
	return attrs_walk(mnl_attr_get_payload(a), mnl_attr_get_payload_len(a), fn, ctx);
}

static bool valid(const struct nlattr *a, enum mnl_attr_data_type t)
{
	return mnl_attr_validate(a, t) == 0;
}

/* The attributes after the generic netlink header of a whole message. */
static int genl_attrs(const struct nlmsghdr *nlh, size_t len, attr_fn fn, void *ctx)
{
	if (!nlh || len < NLMSG_HDRLEN || nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN || nlh->nlmsg_len > len)
		return -EBADMSG;
	return attrs_walk((const uint8_t *)nlh + NLMSG_HDRLEN + GENL_HDRLEN,
			  nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, fn, ctx);
}

/* -------------------------------------------------------------- replies */

void wgnl_reply_init(struct wgnl_reply *r, uint32_t seq, uint32_t portid, wgnl_msg_fn cb, void *ctx)
{
	memset(r, 0, sizeof(*r));
	r->seq = seq;
	r->portid = portid;
	r->cb = cb;
	r->ctx = ctx;
}

static int errmsg_attr(const struct nlattr *a, void *ctx)
{
	struct wgnl_reply *r = ctx;

	if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && valid(a, MNL_TYPE_NUL_STRING)) {
		size_t n = strnlen(mnl_attr_get_str(a), sizeof(r->errmsg) - 1);

		memcpy(r->errmsg, mnl_attr_get_str(a), n);
		r->errmsg[n] = '\0';
	}
	return 0;
}

/* The error of an NLMSG_ERROR (0: an ack), and its text when it has one. */
static int reply_error(struct wgnl_reply *r, const struct nlmsghdr *nlh)
{
	struct nlmsgerr e;
	size_t off;

	if (nlh->nlmsg_len < NLMSG_HDRLEN + sizeof(e))
		return -EBADMSG;
	memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
	if (e.error > 0 || e.error < -4095)
		return -EBADMSG;
	if (e.error == 0 || !(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return e.error;
	off = sizeof(e);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (e.msg.nlmsg_len < sizeof(struct nlmsghdr))
			return e.error;
		off += MNL_ALIGN((size_t)e.msg.nlmsg_len - sizeof(struct nlmsghdr));
	}
	/* The text is a courtesy: a malformed one is ignored, not the error. */
	if (NLMSG_HDRLEN + off < nlh->nlmsg_len)
		(void)attrs_walk((const uint8_t *)nlh + NLMSG_HDRLEN + off, nlh->nlmsg_len - NLMSG_HDRLEN - off,
				 errmsg_attr, r);
	return e.error;
}

/* Not mnl_nlmsg_ok: it compares (int)nlmsg_len, and a length of 2^31 or
 * more passes as negative. */
static bool msg_ok(const struct nlmsghdr *nlh, size_t left)
{
	return left >= sizeof(*nlh) && nlh->nlmsg_len >= sizeof(*nlh) && nlh->nlmsg_len <= left;
}

int wgnl_reply_feed(struct wgnl_reply *r, const void *buf, size_t len)
{
	const struct nlmsghdr *nlh = buf;
	size_t left = len;

	if (!buf || len == 0 || len > INT_MAX)
		return -EBADMSG;
	while (left > 0) {
		size_t step;
		int err, derr;

		if (!msg_ok(nlh, left))
			return -EBADMSG;
		if (nlh->nlmsg_seq != r->seq || nlh->nlmsg_pid != r->portid) {
			/* an answer to an earlier request, or not for us */
			if (++r->junk > WGNL_JUNK_MAX)
				return -EPROTO;
			goto next;
		}
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			break;
		case NLMSG_OVERRUN:
			return -ENOBUFS;
		case NLMSG_ERROR:
			return reply_error(r, nlh);
		case NLMSG_DONE:
			/* a dump that failed half way puts its error here */
			if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(derr)) {
				memcpy(&derr, mnl_nlmsg_get_payload(nlh), sizeof(derr));
				if (derr > 0 || derr < -4095)
					return -EBADMSG;
				if (derr < 0)
					return derr;
			}
			return r->interrupted ? -EINTR : 0;
		default:
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
				return -EBADMSG;
			if (nlh->nlmsg_flags & NLM_F_DUMP_INTR)
				r->interrupted = true;
			if (r->cb) {
				err = r->cb(nlh, r->ctx);
				if (err)
					return err < 0 ? err : -EINVAL;
			}
		}
next:
		step = NLMSG_ALIGN(nlh->nlmsg_len);
		if (step >= left)
			break;
		left -= step;
		nlh = (const struct nlmsghdr *)((const uint8_t *)nlh + step);
	}
	return 1;
}

/* ------------------------------------------------------------- families */

struct family_acc {
	bool has_id, has_name;
	uint16_t id;
	char name[GENL_NAMSIZ];
};

static int family_attr(const struct nlattr *a, void *ctx)
{
	struct family_acc *f = ctx;

	switch (mnl_attr_get_type(a)) {
	case CTRL_ATTR_FAMILY_ID:
		if (!valid(a, MNL_TYPE_U16))
			return -EBADMSG;
		f->id = mnl_attr_get_u16(a);
		f->has_id = true;
		break;
	case CTRL_ATTR_FAMILY_NAME:
		if (!valid(a, MNL_TYPE_NUL_STRING) || mnl_attr_get_payload_len(a) > GENL_NAMSIZ)
			return -EBADMSG;
		memcpy(f->name, mnl_attr_get_payload(a), mnl_attr_get_payload_len(a));
		f->has_name = true;
		break;
	}
	return 0;
}

int wgnl_family_parse(const struct nlmsghdr *nlh, size_t len, const char *name, uint16_t *id)
{
	struct family_acc f = { 0 };
	const struct genlmsghdr *g;
	int err;

	if (!nlh || !name || len < NLMSG_HDRLEN || nlh->nlmsg_type != GENL_ID_CTRL)
		return -EBADMSG;
	err = genl_attrs(nlh, len, family_attr, &f);
	if (err)
		return err;
	g = mnl_nlmsg_get_payload(nlh);
	if (g->cmd != CTRL_CMD_NEWFAMILY || !f.has_id || !f.has_name || f.id < NLMSG_MIN_TYPE)
		return -EBADMSG;
	if (strcmp(f.name, name) != 0)
		return -ENOENT;
	*id = f.id;
	return 0;
}

/* ---------------------------------------------------------- GET_DEVICE */

/* Arrays grown by doubling, their capacity implied by their length. */
static size_t cap_for(size_t n)
{
	size_t c = 4;

	while (c < n)
		c <<= 1;
	return c;
}

/* Room for `add` more elements after n. The old block is wiped (keys). */
static int grow(void **v, size_t n, size_t add, size_t elem)
{
	size_t have = n ? cap_for(n) : 0, want;
	void *nv;

	if (n + add <= have)
		return 0;
	want = cap_for(n + add);
	nv = calloc(want, elem);
	if (!nv)
		return -ENOMEM;
	if (n) {
		memcpy(nv, *v, n * elem);
		sodium_memzero(*v, n * elem);
	}
	free(*v);
	*v = nv;
	return 0;
}

struct aip_acc {
	bool has_family, has_mask;
	uint16_t family;
	size_t addr_len;
	uint8_t addr[16];
	uint8_t mask;
};

static int aip_attr(const struct nlattr *a, void *ctx)
{
	struct aip_acc *x = ctx;
	size_t n = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case WGALLOWEDIP_A_FAMILY:
		if (!valid(a, MNL_TYPE_U16))
			return -EBADMSG;
		x->family = mnl_attr_get_u16(a);
		x->has_family = true;
		break;
	case WGALLOWEDIP_A_IPADDR:
		if (n != 4 && n != 16)
			return -EBADMSG;
		memcpy(x->addr, mnl_attr_get_payload(a), n);
		x->addr_len = n;
		break;
	case WGALLOWEDIP_A_CIDR_MASK:
		if (!valid(a, MNL_TYPE_U8))
			return -EBADMSG;
		x->mask = mnl_attr_get_u8(a);
		x->has_mask = true;
		break;
	}
	return 0;
}

/* One peer of a part, before it is merged or added. */
struct peer_acc {
	struct wgnl_get *g;
	struct wg_peer_info pi;
	bool has_key;
};

static int aip_entry(const struct nlattr *a, void *ctx)
{
	struct peer_acc *pa = ctx;
	struct aip_acc x = { 0 };
	struct cidr *c;
	int err = nested_walk(a, aip_attr, &x);

	if (err)
		return err;
	if (!x.has_family || !x.has_mask ||
	    !((x.family == AF_INET && x.addr_len == 4 && x.mask <= 32) ||
	      (x.family == AF_INET6 && x.addr_len == 16 && x.mask <= 128)))
		return -EBADMSG;
	if (pa->g->n_allowed_ips >= WGNL_MAX_ALLOWED_IPS)
		return -E2BIG;
	err = grow((void **)&pa->pi.allowed_ips, pa->pi.n_allowed_ips, 1, sizeof(*pa->pi.allowed_ips));
	if (err)
		return err;
	c = &pa->pi.allowed_ips[pa->pi.n_allowed_ips++];
	memset(c, 0, sizeof(*c));
	c->family = x.family;
	memcpy(c->addr, x.addr, x.addr_len);
	c->prefix = x.mask;
	pa->g->n_allowed_ips++;
	return 0;
}

static int parse_endpoint(const struct nlattr *a, union sockaddr_any *out)
{
	size_t n = mnl_attr_get_payload_len(a);
	sa_family_t family;

	if (n < sizeof(family))
		return -EBADMSG;
	memcpy(&family, mnl_attr_get_payload(a), sizeof(family));
	if (!(family == AF_INET && n == sizeof(out->in4)) && !(family == AF_INET6 && n == sizeof(out->in6)))
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	memcpy(out, mnl_attr_get_payload(a), n);
	return 0;
}

static int peer_attr(const struct nlattr *a, void *ctx)
{
	struct peer_acc *pa = ctx;
	struct wg_peer_info *pi = &pa->pi;
	size_t n = mnl_attr_get_payload_len(a);
	int64_t ts[2];

	switch (mnl_attr_get_type(a)) {
	case WGPEER_A_PUBLIC_KEY:
		if (n != WG_KEY_SIZE)
			return -EBADMSG;
		memcpy(pi->public_key, mnl_attr_get_payload(a), WG_KEY_SIZE);
		pa->has_key = true;
		break;
	case WGPEER_A_PRESHARED_KEY:
		if (n != WG_KEY_SIZE)
			return -EBADMSG;
		memcpy(pi->preshared_key, mnl_attr_get_payload(a), WG_KEY_SIZE);
		pi->has_preshared_key = !key_is_zero(pi->preshared_key);
		if (!pi->has_preshared_key)
			memset(pi->preshared_key, 0, WG_KEY_SIZE);
		break;
	case WGPEER_A_ENDPOINT:
		return parse_endpoint(a, &pi->endpoint);
	case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
		if (!valid(a, MNL_TYPE_U16))
			return -EBADMSG;
		pi->persistent_keepalive_interval = mnl_attr_get_u16(a);
		break;
	case WGPEER_A_LAST_HANDSHAKE_TIME:
		/* struct __kernel_timespec: two 64-bit fields */
		if (n != sizeof(ts))
			return -EBADMSG;
		memcpy(ts, mnl_attr_get_payload(a), sizeof(ts));
		if (ts[0] < 0 || ts[1] < 0 || ts[1] >= 1000000000)
			return -EBADMSG;
		pi->last_handshake_sec = ts[0];
		pi->last_handshake_nsec = ts[1];
		break;
	case WGPEER_A_RX_BYTES:
		if (!valid(a, MNL_TYPE_U64))
			return -EBADMSG;
		pi->rx_bytes = mnl_attr_get_u64(a);
		break;
	case WGPEER_A_TX_BYTES:
		if (!valid(a, MNL_TYPE_U64))
			return -EBADMSG;
		pi->tx_bytes = mnl_attr_get_u64(a);
		break;
	case WGPEER_A_ALLOWEDIPS:
		return nested_walk(a, aip_entry, pa);
	case WGPEER_A_FLAGS:
	case WGPEER_A_PROTOCOL_VERSION:
		if (!valid(a, MNL_TYPE_U32))
			return -EBADMSG;
		break;
	}
	return 0;
}

/* The parsed peer into the info: appended to the last peer when the kernel
 * continued that one (same key), else added. Takes pi's allowed IPs. */
static int peer_commit(struct wgnl_get *g, struct wg_peer_info *pi)
{
	struct wg_device_info *info = g->info;
	struct wg_peer_info *last = info->n_peers ? &info->peers[info->n_peers - 1] : NULL;
	int err;

	if (last && key_equal(last->public_key, pi->public_key)) {
		if (!pi->n_allowed_ips)
			return 0;
		err = grow((void **)&last->allowed_ips, last->n_allowed_ips, pi->n_allowed_ips,
			   sizeof(*last->allowed_ips));
		if (err)
			return err;
		memcpy(&last->allowed_ips[last->n_allowed_ips], pi->allowed_ips,
		       pi->n_allowed_ips * sizeof(*pi->allowed_ips));
		last->n_allowed_ips += pi->n_allowed_ips;
		free(pi->allowed_ips);
		pi->allowed_ips = NULL;
		pi->n_allowed_ips = 0;
		return 0;
	}
	if (info->n_peers >= WGNL_MAX_PEERS)
		return -E2BIG;
	err = grow((void **)&info->peers, info->n_peers, 1, sizeof(*info->peers));
	if (err)
		return err;
	info->peers[info->n_peers++] = *pi;
	pi->allowed_ips = NULL;
	pi->n_allowed_ips = 0;
	return 0;
}

static int peer_entry(const struct nlattr *a, void *ctx)
{
	struct peer_acc pa = { .g = ctx };
	int err = nested_walk(a, peer_attr, &pa);

	if (!err && !pa.has_key)
		err = -EBADMSG;
	if (!err)
		err = peer_commit(pa.g, &pa.pi);
	free(pa.pi.allowed_ips);
	sodium_memzero(&pa.pi, sizeof(pa.pi));
	return err;
}

static int device_attr(const struct nlattr *a, void *ctx)
{
	struct wgnl_get *g = ctx;
	struct wg_device_info *info = g->info;
	size_t n = mnl_attr_get_payload_len(a);

	switch (mnl_attr_get_type(a)) {
	case WGDEVICE_A_IFINDEX:
	case WGDEVICE_A_FLAGS:
		if (!valid(a, MNL_TYPE_U32))
			return -EBADMSG;
		break;
	case WGDEVICE_A_IFNAME:
		if (!valid(a, MNL_TYPE_NUL_STRING) || n > sizeof(info->ifname))
			return -EBADMSG;
		memset(info->ifname, 0, sizeof(info->ifname));
		memcpy(info->ifname, mnl_attr_get_payload(a), n);
		break;
	case WGDEVICE_A_PRIVATE_KEY:
		if (n != WG_KEY_SIZE)
			return -EBADMSG;
		memcpy(info->private_key, mnl_attr_get_payload(a), WG_KEY_SIZE);
		info->has_private_key = !key_is_zero(info->private_key);
		break;
	case WGDEVICE_A_PUBLIC_KEY:
		if (n != WG_KEY_SIZE)
			return -EBADMSG;
		memcpy(info->public_key, mnl_attr_get_payload(a), WG_KEY_SIZE);
		break;
	case WGDEVICE_A_LISTEN_PORT:
		if (!valid(a, MNL_TYPE_U16))
			return -EBADMSG;
		info->listen_port = mnl_attr_get_u16(a);
		break;
	case WGDEVICE_A_FWMARK:
		if (!valid(a, MNL_TYPE_U32))
			return -EBADMSG;
		info->fwmark = mnl_attr_get_u32(a);
		break;
	case WGDEVICE_A_PEERS:
		return nested_walk(a, peer_entry, g);
	}
	return 0;
}

int wgnl_get_begin(struct wgnl_get *g, uint16_t family)
{
	memset(g, 0, sizeof(*g));
	g->family = family;
	g->info = calloc(1, sizeof(*g->info));
	return g->info ? 0 : -ENOMEM;
}

int wgnl_get_parse(struct wgnl_get *g, const struct nlmsghdr *nlh, size_t len)
{
	if (!g->info || !nlh || len < NLMSG_HDRLEN || nlh->nlmsg_type != g->family)
		return -EBADMSG;
	return genl_attrs(nlh, len, device_attr, g);
}

void wgnl_get_end(struct wgnl_get *g, struct wg_device_info **out)
{
	if (out)
		*out = g->info;
	else
		wg_device_info_free(g->info);
	g->info = NULL;
}
