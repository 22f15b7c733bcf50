/* The kernel backend: a "wireguard" link made with rtnetlink and configured
 * over generic netlink, as ip-link(8) and wg(8) do (wireguard-tools'
 * ipc-linux.h). The messages are wgnl.c's; this file only talks.
 *
 * Every exchange opens a netlink socket of its own, so that `get` can run
 * on any thread beside the loop's `apply` without a lock, and a reply that
 * came too late can never be taken for the next one. Replies are accepted
 * only from the kernel, with our port id and sequence number. */
#include "nexd/wgdrv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <net/if.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <linux/wireguard.h>
#include <libmnl/libmnl.h>
#include <sodium.h>

#include "common/log.h"
#include "nexd/wgnl.h"

#define KERNEL_RECV_TIMEOUT_MS 5000
#define KERNEL_DUMP_RETRIES 3
#define NO_MODULE_MSG "the kernel has no WireGuard module (try --wg-backend userspace)"

struct kernel_dev {
	char ifname[IFNAMSIZ];
	int ifindex;
	uint16_t family;   /* the "wireguard" generic netlink family */
};

/* One request/reply exchange on a socket of its own. */
struct xchg {
	struct mnl_socket *sock;
	uint32_t portid, seq;
	uint8_t *req;      /* WGNL_MSG_MAX */
	uint8_t *buf;      /* WGNL_RECV_MAX */
	char errmsg[WGNL_ERRMSG_LEN];
};

/* The buffers are wiped: requests carry keys, and so do GET replies and
 * the errors of kernels that echo a request whole (no NETLINK_CAP_ACK). */
static void xchg_close(struct xchg *x)
{
	if (x->sock)
		mnl_socket_close(x->sock);
	if (x->req)
		sodium_memzero(x->req, WGNL_MSG_MAX);
	if (x->buf)
		sodium_memzero(x->buf, WGNL_RECV_MAX);
	free(x->req);
	free(x->buf);
	memset(x, 0, sizeof(*x));
}

static int xchg_open(struct xchg *x, int proto)
{
	struct timeval tv = { .tv_sec = KERNEL_RECV_TIMEOUT_MS / 1000,
			      .tv_usec = (KERNEL_RECV_TIMEOUT_MS % 1000) * 1000 };
	int one = 1, err;

	memset(x, 0, sizeof(*x));
	/* aligned for the headers written and read in them */
	x->req = aligned_alloc(8, WGNL_MSG_MAX);
	x->buf = aligned_alloc(8, WGNL_RECV_MAX);
	if (!x->req || !x->buf) {
		err = -ENOMEM;
		goto err_close;
	}
	x->sock = mnl_socket_open2(proto, SOCK_CLOEXEC);
	if (!x->sock) {
		err = -errno;
		goto err_close;
	}
	if (mnl_socket_bind(x->sock, 0, MNL_SOCKET_AUTOPID) < 0) {
		err = -errno;
		goto err_close;
	}
	if (setsockopt(mnl_socket_get_fd(x->sock), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0) {
		err = -errno;
		goto err_close;
	}
	/* the kernel's error texts; optional (old kernels) */
	mnl_socket_setsockopt(x->sock, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(x->sock, NETLINK_CAP_ACK, &one, sizeof(one));
	x->portid = mnl_socket_get_portid(x->sock);
	x->seq = (uint32_t)time(NULL);
	return 0;

err_close:
	xchg_close(x);
	return err;
}

static uint32_t xchg_next_seq(struct xchg *x)
{
	if (++x->seq == 0)
		++x->seq;
	return x->seq;
}

/* One datagram from the kernel (port 0); -ETIMEDOUT after the timeout. */
static ssize_t xchg_recv(struct xchg *x)
{
	unsigned foreign = 0;

	for (;;) {
		struct sockaddr_nl sa;
		struct iovec iov = { .iov_base = x->buf, .iov_len = WGNL_RECV_MAX };
		struct msghdr msg = { .msg_name = &sa, .msg_namelen = sizeof(sa), .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n = recvmsg(mnl_socket_get_fd(x->sock), &msg, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return -ETIMEDOUT;
			return -errno;
		}
		if (msg.msg_flags & MSG_TRUNC)
			return -EMSGSIZE;
		if (msg.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK)
			return -EPROTO;
		if (sa.nl_pid != 0) {
			/* another process: not an answer */
			if (++foreign > WGNL_JUNK_MAX)
				return -EPROTO;
			continue;
		}
		return n;
	}
}

/* Sends the request in x->req (its sequence number x->seq) and reads the
 * replies to it, data messages to cb, until its ack or end of dump. */
static int xchg_talk(struct xchg *x, wgnl_msg_fn cb, void *ctx)
{
	const struct nlmsghdr *req = (const struct nlmsghdr *)x->req;
	struct wgnl_reply r;
	int err;

	x->errmsg[0] = '\0';
	if (mnl_socket_sendto(x->sock, req, req->nlmsg_len) < 0)
		return -errno;
	wgnl_reply_init(&r, x->seq, x->portid, cb, ctx);
	do {
		ssize_t n = xchg_recv(x);

		if (n < 0)
			return (int)n;
		err = wgnl_reply_feed(&r, x->buf, (size_t)n);
	} while (err == 1);
	if (err < 0 && r.errmsg[0])
		snprintf(x->errmsg, sizeof(x->errmsg), "%s", r.errmsg);
	return err;
}

/* -------------------------------------------------------- the family id */

struct family_query {
	const char *name;
	uint16_t id;
	bool found;
};

static int family_cb(const struct nlmsghdr *nlh, void *ctx)
{
	struct family_query *q = ctx;
	int err = wgnl_family_parse(nlh, nlh->nlmsg_len, q->name, &q->id);

	if (err == -ENOENT)
		return 0;   /* another family of the dump */
	if (err == 0)
		q->found = true;
	return err;
}

/* The id of generic netlink family "wireguard". By name (the kernel may
 * load the module for it), or from a dump of every family (it will not). */
static int resolve_family(bool by_name, uint16_t *id)
{
	struct family_query q = { .name = WG_GENL_NAME };
	struct xchg x;
	int n, err;

	err = xchg_open(&x, NETLINK_GENERIC);
	if (err)
		return err;
	n = wgnl_getfamily_build(x.req, WGNL_MSG_MAX, xchg_next_seq(&x), by_name ? WG_GENL_NAME : NULL);
	if (n < 0) {
		err = n;
		goto out_close;
	}
	err = xchg_talk(&x, family_cb, &q);
	if (err == 0 && !q.found)
		err = -ENOENT;
	if (err == 0)
		*id = q.id;
out_close:
	xchg_close(&x);
	return err;
}

/* ----------------------------------------------------------- the link */

static int link_talk(const char *ifname, bool create, char *errmsg, size_t errlen)
{
	struct xchg x;
	int n, err;

	err = xchg_open(&x, NETLINK_ROUTE);
	if (err) {
		if (errmsg)
			snprintf(errmsg, errlen, "%s", strerror(-err));
		return err;
	}
	if (create)
		n = wgnl_newlink_build(x.req, WGNL_MSG_MAX, xchg_next_seq(&x), ifname);
	else
		n = wgnl_dellink_build(x.req, WGNL_MSG_MAX, xchg_next_seq(&x), ifname);
	if (n < 0) {
		err = n;
		goto out_close;
	}
	err = xchg_talk(&x, NULL, NULL);
out_close:
	if (err && errmsg)
		snprintf(errmsg, errlen, "%s", x.errmsg[0] ? x.errmsg : strerror(-err));
	xchg_close(&x);
	return err;
}

/* ----------------------------------------------------------- the driver */

static int kernel_apply(void *p, const struct wg_config *c)
{
	struct kernel_dev *d = p;
	struct wgnl_set pos = { 0 };
	struct xchg x;
	int err;

	if (!d || !c)
		return -EINVAL;
	err = xchg_open(&x, NETLINK_GENERIC);
	if (err)
		return err;
	/* A change too big for one message goes out in several, each acked
	 * before the next (as wg(8)); an error stops at its message. */
	while (!pos.done) {
		int n = wgnl_set_build(x.req, WGNL_MSG_MAX, d->family, xchg_next_seq(&x), d->ifname, c, &pos);

		if (n < 0) {
			err = n;
			goto out_close;
		}
		err = xchg_talk(&x, NULL, NULL);
		if (err) {
			log_warn("%s: configuring kernel WireGuard: %s%s%s", d->ifname, strerror(-err),
				 x.errmsg[0] ? ": " : "", x.errmsg);
			goto out_close;
		}
	}
out_close:
	xchg_close(&x);
	return err;
}

static int get_cb(const struct nlmsghdr *nlh, void *ctx)
{
	return wgnl_get_parse(ctx, nlh, nlh->nlmsg_len);
}

static int kernel_get(void *p, struct wg_device_info **out)
{
	struct kernel_dev *d = p;
	struct xchg x;
	int err;

	if (!d || !out)
		return -EINVAL;
	err = xchg_open(&x, NETLINK_GENERIC);
	if (err)
		return err;
	err = -EINTR;
	/* A dump that a change interrupted is read again from the start. */
	for (int i = 0; i < KERNEL_DUMP_RETRIES && err == -EINTR; i++) {
		struct wgnl_get g;
		int n;

		err = wgnl_get_begin(&g, d->family);
		if (err)
			break;
		n = wgnl_get_build(x.req, WGNL_MSG_MAX, d->family, xchg_next_seq(&x), d->ifname);
		err = n < 0 ? n : xchg_talk(&x, get_cb, &g);
		if (err) {
			wgnl_get_end(&g, NULL);
			continue;
		}
		if (g.info->ifname[0] == '\0')
			snprintf(g.info->ifname, sizeof(g.info->ifname), "%s", d->ifname);
		wgnl_get_end(&g, out);
	}
	xchg_close(&x);
	return err == -EINTR ? -EAGAIN : err;
}

static void kernel_destroy(void *p)
{
	struct kernel_dev *d = p;
	char msg[WGNL_ERRMSG_LEN];
	int err;

	if (!d)
		return;
	err = link_talk(d->ifname, false, msg, sizeof(msg));
	if (err && err != -ENODEV)
		log_warn("%s: deleting the kernel WireGuard interface: %s", d->ifname, msg);
	else
		log_info("%s: kernel WireGuard interface destroyed", d->ifname);
	free(d);
}

static int kernel_create(void **out, const char *ifname, const struct wg_config *initial, char *err,
			 size_t errlen)
{
	struct kernel_dev *d;
	char msg[WGNL_ERRMSG_LEN];
	unsigned idx;
	int r;

	/* a concrete name: the kernel would expand a "%d" template, and the
	 * handle would not know the name it got */
	if (!ifname || strnlen(ifname, IFNAMSIZ) == 0 || strnlen(ifname, IFNAMSIZ) >= IFNAMSIZ ||
	    strchr(ifname, '%')) {
		snprintf(err, errlen, "bad interface name \"%s\" for kernel WireGuard", ifname ? ifname : "");
		return -EINVAL;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	snprintf(d->ifname, sizeof(d->ifname), "%s", ifname);
	r = link_talk(ifname, true, msg, sizeof(msg));
	if (r) {
		if (r == -EOPNOTSUPP)
			snprintf(err, errlen, NO_MODULE_MSG);
		else if (r == -EEXIST)
			snprintf(err, errlen, "cannot create interface %s: it exists already", ifname);
		else
			snprintf(err, errlen, "cannot create interface %s: %s", ifname, msg);
		goto err_free;
	}
	/* The link exists now, so the module is loaded. */
	r = resolve_family(true, &d->family);
	if (r) {
		snprintf(err, errlen, "cannot reach kernel WireGuard for %s: %s", ifname, strerror(-r));
		goto err_del_link;
	}
	idx = if_nametoindex(ifname);
	if (idx == 0 || idx > INT32_MAX) {
		r = idx == 0 ? -errno : -ERANGE;
		snprintf(err, errlen, "cannot find interface %s: %s", ifname, strerror(-r));
		goto err_del_link;
	}
	d->ifindex = (int)idx;
	if (initial) {
		r = kernel_apply(d, initial);
		if (r == -EADDRINUSE) {
			snprintf(err, errlen, "UDP port %u is already in use (see --listen-port)", initial->listen_port);
			goto err_del_link;
		} else if (r) {
			snprintf(err, errlen, "cannot configure %s: %s", ifname, strerror(-r));
			goto err_del_link;
		}
	}
	log_info("%s: kernel WireGuard interface created (index %d)", ifname, d->ifindex);
	*out = d;
	return 0;

err_del_link:
	if (link_talk(ifname, false, NULL, 0) < 0)
		log_warn("%s: could not delete the half-made interface", ifname);
err_free:
	free(d);
	return r;
}

static int kernel_ifindex(void *p)
{
	return ((struct kernel_dev *)p)->ifindex;
}

static int kernel_remove_stale(const char *ifname)
{
	return link_talk(ifname, false, NULL, 0);
}

static int kernel_dead_fd(void *p)
{
	(void)p;
	return -1;   /* the loop notices the link going through netlink */
}

const struct wg_driver wg_driver_kernel = {
	.name = "kernel",
	.create = kernel_create,
	.destroy = kernel_destroy,
	.ifindex = kernel_ifindex,
	.apply = kernel_apply,
	.get = kernel_get,
	.dead_fd = kernel_dead_fd,
	.send_raw = NULL,
	.set_stray = NULL,
	.remove_stale = kernel_remove_stale,
};

bool wgdrv_kernel_available(void)
{
	uint16_t id;

	/* By name: the kernel loads the module when it is there but not yet
	 * loaded (as `ip link add type wireguard` would). */
	return resolve_family(true, &id) == 0;
}

const struct wg_driver *wgdrv_choose(enum wg_backend b, char *err, size_t errlen)
{
	switch (b) {
	case WG_BACKEND_AUTO:
		return wgdrv_kernel_available() ? &wg_driver_kernel : &wg_driver_user;
	case WG_BACKEND_KERNEL:
		if (wgdrv_kernel_available())
			return &wg_driver_kernel;
		snprintf(err, errlen, NO_MODULE_MSG);
		return NULL;
	case WG_BACKEND_USERSPACE:
		return &wg_driver_user;
	}
	snprintf(err, errlen, "unknown WireGuard backend %d", (int)b);
	return NULL;
}
