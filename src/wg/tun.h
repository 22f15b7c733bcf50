/* The TUN interface: /dev/net/tun in IFF_TUN | IFF_NO_PI mode (raw IP
 * packets), non-blocking and close-on-exec, its MTU set through a datagram
 * socket. Deletion of the interface shows as a read error (EBADFD, EIO) or
 * POLLERR/POLLHUP.
 *
 * Or, for a device without a kernel interface (proxy mode: a userspace
 * TCP/IP stack, no privileges), a packet endpoint: one end of an AF_UNIX
 * SOCK_SEQPACKET pair, one raw IP packet per message each way; the other
 * end belongs to the stack. Its closing is the interface's deletion. */
#ifndef WG_TUN_H
#define WG_TUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct wg_tun {
	int fd;
	bool vnet;        /* IFF_VNET_HDR: each packet has a virtio header (offload.h) */
	int ifindex;
	unsigned mtu;     /* at creation; the device follows changes */
	char ifname[16];
	bool endpoint;    /* a packet endpoint (no interface: ifindex 0, MTU fixed) */
};

/* Creates the interface with IFF_VNET_HDR and TCP segmentation offload
 * (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) unless NEXWG_NO_OFFLOAD=1 is in
 * the environment or the kernel refuses; an adopted fd keeps its flags.
 * ifname may be a template ("wg%d"); fd >= 0 adopts an open TUN fd instead.
 * mtu 0 keeps the interface's MTU when adopting, else WG_DEFAULT_MTU. */
int tun_open(struct wg_tun *t, const char *ifname, int fd, unsigned mtu);
/* A packet endpoint named name (logs only), MTU mtu (0: WG_DEFAULT_MTU);
 * *peer_fd: the stack's end (close-on-exec, blocking; the caller owns it). */
int tun_open_endpoint(struct wg_tun *t, const char *name, unsigned mtu, int *peer_fd);
void tun_close(struct wg_tun *t);
/* Reads the interface's current MTU (it can be changed with ip link). */
int tun_read_mtu(const struct wg_tun *t, unsigned *mtu);
/* One packet; -EAGAIN when none; -ENODEV when the interface is gone. */
ssize_t tun_read(struct wg_tun *t, void *buf, size_t len);
ssize_t tun_write(struct wg_tun *t, const void *buf, size_t len);

#endif
