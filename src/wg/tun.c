#include "wg/tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "wg/messages.h"
#include "wg/offload.h"

#define TUN_TXQUEUELEN 2000

static bool want_offload(void)
{
	const char *e = getenv("NEXWG_NO_OFFLOAD");

	return !e || strcmp(e, "1");
}

static int ifreq_ioctl(unsigned long req, struct ifreq *ifr)
{
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		err = -errno;
	close(s);
	return err;
}

static int set_mtu(struct wg_tun *t, unsigned mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
	ifr.ifr_mtu = (int)mtu;
	return ifreq_ioctl(SIOCSIFMTU, &ifr);
}

int tun_read_mtu(const struct wg_tun *t, unsigned *mtu)
{
	if (t->endpoint) {
		*mtu = t->mtu;
		return 0;
	}
	struct ifreq ifr;
	int err;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
	err = ifreq_ioctl(SIOCGIFMTU, &ifr);
	if (err)
		return err;
	if (ifr.ifr_mtu <= 0)
		return -EINVAL;
	*mtu = (unsigned)ifr.ifr_mtu;
	return 0;
}

int tun_open(struct wg_tun *t, const char *ifname, int fd, unsigned mtu)
{
	struct ifreq ifr;
	int err, flags;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	memset(&ifr, 0, sizeof(ifr));
	if (fd >= 0) {
		if (ioctl(fd, TUNGETIFF, &ifr) < 0)
			return -errno;
		t->fd = fd;
	} else {
		if (!ifname || strlen(ifname) >= IFNAMSIZ)
			return -EINVAL;
		t->fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
		if (t->fd < 0)
			return -errno;
		ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (want_offload() ? IFF_VNET_HDR : 0);
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
		if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
			err = -errno;
			goto err_close;
		}
		if (ifr.ifr_flags & IFF_VNET_HDR) {
			int hdr = OFFLOAD_VNET_HDR_LEN;

			if (ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
			    ioctl(t->fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0)
				log_debug("%s: no TCP offload on the TUN: %s", ifr.ifr_name, strerror(errno));
		}
	}
	t->vnet = ifr.ifr_flags & IFF_VNET_HDR;
	snprintf(t->ifname, sizeof(t->ifname), "%s", ifr.ifr_name);
	flags = fcntl(t->fd, F_GETFL);
	if (flags < 0 || fcntl(t->fd, F_SETFL, flags | O_NONBLOCK) < 0) {
		err = -errno;
		goto err_close;
	}
	(void)fcntl(t->fd, F_SETFD, FD_CLOEXEC);
	if (mtu || fd < 0) {
		err = set_mtu(t, mtu ? mtu : WG_DEFAULT_MTU);
		if (err)
			goto err_close;
		t->mtu = mtu ? mtu : WG_DEFAULT_MTU;
	} else {
		t->mtu = WG_DEFAULT_MTU;
		(void)tun_read_mtu(t, &t->mtu);
	}
	if (fd < 0) {
		/* A longer queue in front of our reader: bursts from TCP are
		 * otherwise dropped (the default is 500) while a batch is
		 * being encrypted. Best effort. */
		memset(&ifr, 0, sizeof(ifr));
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
		ifr.ifr_qlen = TUN_TXQUEUELEN;
		(void)ifreq_ioctl(SIOCSIFTXQLEN, &ifr);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", t->ifname);
	err = ifreq_ioctl(SIOCGIFINDEX, &ifr);
	if (err)
		goto err_close;
	t->ifindex = ifr.ifr_ifindex;
	return 0;

err_close:
	close(t->fd);
	t->fd = -1;
	return err;
}

/* Room for bursts in both directions (best effort: capped by
 * net.core.wmem_max and rmem_max). */
#define ENDPOINT_BUFFER (4 << 20)

int tun_open_endpoint(struct wg_tun *t, const char *name, unsigned mtu, int *peer_fd)
{
	int sv[2], size = ENDPOINT_BUFFER;

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	if (!name || strlen(name) >= sizeof(t->ifname))
		return -EINVAL;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	for (int i = 0; i < 2; i++) {
		(void)setsockopt(sv[i], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
		(void)setsockopt(sv[i], SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	}
	if (fcntl(sv[0], F_SETFL, O_NONBLOCK) < 0) {
		int err = -errno;

		close(sv[0]);
		close(sv[1]);
		return err;
	}
	t->fd = sv[0];
	t->endpoint = true;
	t->mtu = mtu ? mtu : WG_DEFAULT_MTU;
	snprintf(t->ifname, sizeof(t->ifname), "%s", name);
	*peer_fd = sv[1];
	return 0;
}

void tun_close(struct wg_tun *t)
{
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
}

ssize_t tun_read(struct wg_tun *t, void *buf, size_t len)
{
	ssize_t n = read(t->fd, buf, len);

	if (n == 0 && t->endpoint)
		return -ENODEV;   /* the stack closed its end (it sends no empty packets) */
	if (n >= 0)
		return n;
	if (errno == EAGAIN || errno == EINTR)
		return -EAGAIN;
	if (errno == EBADFD || errno == EIO || errno == ENXIO || errno == EBADF)
		return -ENODEV;
	return -errno;
}

ssize_t tun_write(struct wg_tun *t, const void *buf, size_t len)
{
	/* an endpoint whose stack is gone: EPIPE, not SIGPIPE */
	ssize_t n = t->endpoint ? send(t->fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) : write(t->fd, buf, len);

	return n < 0 ? -errno : n;
}
