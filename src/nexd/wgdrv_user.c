/* The userspace backend: our WireGuard (src/wg) and the UAPI socket beside
 * it, so that `wg show` works on nexd's interface as on wireguard-go's. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nexd/wgdrv.h"
#include "wg/uapi.h"

struct user_dev {
	struct wg_device *dev;
	struct uapi_server *uapi;
};

static void user_destroy(void *p)
{
	struct user_dev *u = p;

	if (!u)
		return;
	uapi_server_stop(u->uapi);
	if (u->dev) {
		wg_device_stop(u->dev);
		wg_device_destroy(u->dev);
	}
	free(u);
}

static int create(void **out, const char *ifname, const struct wg_config *initial, bool endpoint, char *err,
		  size_t errlen)
{
	struct wg_device_opts o = { .ifname = ifname, .tun_fd = -1, .packet_endpoint = endpoint };
	struct user_dev *u = calloc(1, sizeof(*u));
	int r;

	if (!u) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	r = wg_device_create(&u->dev, &o);
	if (r) {
		snprintf(err, errlen, "cannot create interface %s: %s", ifname, strerror(-r));
		goto fail;
	}
	r = wg_device_apply(u->dev, initial);
	if (r) {
		if (r == -EADDRINUSE)
			snprintf(err, errlen, "UDP port %u is already in use (see --listen-port)", initial->listen_port);
		else
			snprintf(err, errlen, "cannot configure %s: %s", ifname, strerror(-r));
		goto fail;
	}
	if (endpoint)
		goto done;
	r = uapi_server_start(&u->uapi, u->dev, wg_device_ifname(u->dev));
	if (r) {
		snprintf(err, errlen, "cannot serve the UAPI socket of %s: %s", ifname, strerror(-r));
		goto fail;
	}
done:
	*out = u;
	return 0;

fail:
	user_destroy(u);
	return r;
}

static int user_create(void **out, const char *ifname, const struct wg_config *initial, char *err, size_t errlen)
{
	return create(out, ifname, initial, false, err, errlen);
}

static int endpoint_create(void **out, const char *ifname, const struct wg_config *initial, char *err,
			   size_t errlen)
{
	return create(out, ifname, initial, true, err, errlen);
}

static int endpoint_take(void *p)
{
	return wg_device_take_endpoint(((struct user_dev *)p)->dev);
}

static int user_ifindex(void *p)
{
	return wg_device_ifindex(((struct user_dev *)p)->dev);
}

static int user_apply(void *p, const struct wg_config *c)
{
	return wg_device_apply(((struct user_dev *)p)->dev, c);
}

static int user_get(void *p, struct wg_device_info **out)
{
	return wg_device_get(((struct user_dev *)p)->dev, out);
}

static int user_dead_fd(void *p)
{
	return wg_device_dead_fd(((struct user_dev *)p)->dev);
}

static int user_send_raw(void *p, const union sockaddr_any *to, const void *buf, size_t len)
{
	return wg_device_send_raw(((struct user_dev *)p)->dev, to, buf, len);
}

static void user_set_stray(void *p, wg_stray_fn fn, void *ctx)
{
	wg_device_set_stray_handler(((struct user_dev *)p)->dev, fn, ctx);
}

const struct wg_driver wg_driver_user = {
	.name = "userspace",
	.create = user_create,
	.destroy = user_destroy,
	.ifindex = user_ifindex,
	.apply = user_apply,
	.get = user_get,
	.dead_fd = user_dead_fd,
	.send_raw = user_send_raw,
	.set_stray = user_set_stray,
};

const struct wg_driver wg_driver_endpoint = {
	.name = "userspace, no TUN",
	.create = endpoint_create,
	.destroy = user_destroy,
	.ifindex = user_ifindex,
	.apply = user_apply,
	.get = user_get,
	.dead_fd = user_dead_fd,
	.send_raw = user_send_raw,
	.set_stray = user_set_stray,
	.take_endpoint = endpoint_take,
};
