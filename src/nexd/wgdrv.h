/* What nexd needs of a WireGuard interface, whoever runs it: our userspace
 * WireGuard (src/wg, with the UAPI socket that `wg` talks to) or the Linux
 * module (rtnetlink "wireguard" link, generic netlink WG_CMD_SET_DEVICE /
 * WG_CMD_GET_DEVICE). The configuration model is wg.h's for both, as
 * wireguard-tools' ipc.h does it for its backends.
 *
 * Only nexd's loop creates, applies and destroys; `get` may be called from
 * any thread (the control socket's). */
#ifndef NEXD_WGDRV_H
#define NEXD_WGDRV_H

#include <stdbool.h>
#include <stddef.h>

#include "nexd/options.h"
#include "wg/wg.h"

struct wg_driver {
	const char *name;    /* "userspace" or "kernel" */
	/* Creates the interface (down) and applies `initial` (private key,
	 * listen port). 0, or -errno with a message for the user in err. */
	int (*create)(void **dev, const char *ifname, const struct wg_config *initial, char *err, size_t errlen);
	/* Removes the interface and frees the handle; NULL is a no-op. */
	void (*destroy)(void *dev);
	int (*ifindex)(void *dev);
	/* Applies a change (wg.h's model). 0 or -errno. The userspace driver
	 * applies it as one step; the kernel's, when the change needs several
	 * netlink messages (many peers), message by message as `wg` does. */
	int (*apply)(void *dev, const struct wg_config *c);
	/* A snapshot; free with wg_device_info_free. Thread-safe. */
	int (*get)(void *dev, struct wg_device_info **out);
	/* Readable once the interface vanished under us, or -1 when the driver
	 * cannot tell (the loop then notices through netlink link events). */
	int (*dead_fd)(void *dev);
	/* Optional, NULL when the driver does not share its UDP socket (the
	 * kernel's): then STUN goes out of a socket of its own. */
	int (*send_raw)(void *dev, const union sockaddr_any *to, const void *buf, size_t len);
	void (*set_stray)(void *dev, wg_stray_fn fn, void *ctx);
	/* Optional, for interfaces that outlive the process (the kernel's): the
	 * interface of this name that a crashed run of ours left is removed.
	 * 0, or -errno (-ENODEV: there was none). */
	int (*remove_stale)(const char *ifname);
	/* Optional, for a device without a TUN (nexd proxy): the stack's end
	 * of its packet endpoint (wg.h), once; -EBADF after. */
	int (*take_endpoint)(void *dev);
};

extern const struct wg_driver wg_driver_user;    /* wgdrv_user.c: src/wg + UAPI socket */
extern const struct wg_driver wg_driver_kernel;  /* wgdrv_kernel.c: the Linux module */
/* wgdrv_user.c: src/wg on a packet endpoint, for nexd proxy: no TUN, no
 * interface and no UAPI socket (nothing on the host but the UDP port). */
extern const struct wg_driver wg_driver_endpoint;

/* True when this host can create kernel WireGuard links: the "wireguard"
 * generic netlink family answers when asked by name (which makes the kernel
 * load the module if it has it). */
bool wgdrv_kernel_available(void);
/* The driver for a --wg-backend choice: auto takes the kernel's where
 * available. NULL with a message when "kernel" is asked for and missing. */
const struct wg_driver *wgdrv_choose(enum wg_backend b, char *err, size_t errlen);

#endif
