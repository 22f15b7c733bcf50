/* The netlink messages of kernel WireGuard, built and parsed without a
 * socket (wgdrv_kernel.c sends them): generic netlink CTRL_CMD_GETFAMILY
 * for the "wireguard" family, WG_CMD_SET_DEVICE (split over several
 * messages when a change does not fit one, as wireguard-tools' ipc-linux.h
 * kernel_set_device does), the WG_CMD_GET_DEVICE dump and its reply parts,
 * and rtnetlink RTM_NEWLINK / RTM_DELLINK for a "wireguard" link.
 *
 * Builders write one request into a caller's buffer (4-byte aligned) and
 * return its length or -errno; the family id and sequence number are the
 * caller's. Parsers treat every length as a lie: a message or attribute
 * that overruns, leaves bytes over, or has the wrong size for its type gives
 * -EBADMSG and nothing is read outside the bytes given. */
#ifndef NEXD_WGNL_H
#define NEXD_WGNL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "wg/wg.h"

enum wgnl_limits {
	WGNL_MSG_MAX = 8192,             /* a SET_DEVICE message, as wg(8) (one page) */
	WGNL_RECV_MAX = 32768,           /* a datagram of replies (MNL_SOCKET_DUMP_SIZE) */
	WGNL_MAX_PEERS = 1 << 20,        /* the kernel's MAX_PEERS_PER_DEVICE */
	WGNL_MAX_ALLOWED_IPS = 1 << 22,  /* allowed IPs of all peers in one GET */
	WGNL_JUNK_MAX = 1024,            /* stale replies (other sequence numbers) skipped */
	WGNL_ERRMSG_LEN = 128,
};

/* ---------------------------------------------------------------- requests */

/* CTRL_CMD_GETFAMILY for the generic netlink family `name` ("wireguard"),
 * with NLM_F_ACK; name NULL: a dump of every family (which, unlike a
 * request by name, never makes the kernel load a module). */
int wgnl_getfamily_build(void *buf, size_t cap, uint32_t seq, const char *name);
/* RTM_NEWLINK (create, exclusive) of a link of kind "wireguard" named ifname. */
int wgnl_newlink_build(void *buf, size_t cap, uint32_t seq, const char *ifname);
/* RTM_DELLINK of the link named ifname. */
int wgnl_dellink_build(void *buf, size_t cap, uint32_t seq, const char *ifname);
/* WG_CMD_GET_DEVICE, a dump, for the interface named ifname. */
int wgnl_get_build(void *buf, size_t cap, uint16_t family, uint32_t seq, const char *ifname);

/* Where the next WG_CMD_SET_DEVICE message of a change continues; start
 * from all zero. */
struct wgnl_set {
	size_t peer;        /* the next peer of the config */
	size_t aip;         /* its next allowed IP */
	bool peer_started;  /* its first part (flags, keys, endpoint) went out */
	bool started;       /* the device's own attributes went out */
	bool done;          /* nothing is left: the last message was the last */
};

/* The next WG_CMD_SET_DEVICE message of change c for ifname: the device's
 * attributes (private key, listen port, fwmark, WGDEVICE_F_REPLACE_PEERS)
 * in the first, then as many peers and allowed IPs as fit in cap bytes. A
 * peer cut short continues in the next message with its public key and
 * its WGPEER_F_UPDATE_ONLY repeated, and only its allowed IPs after that:
 * WGPEER_F_REPLACE_ALLOWEDIPS, the preshared key, the endpoint and the
 * keepalive go out once, in its first part. Returns the message's length
 * and advances *pos (pos->done after the last); the caller sends it, waits
 * for the ack and calls again until done. -EINVAL for a bad ifname or
 * config (as wg_device_apply's), -E2BIG for too many peers, -EMSGSIZE when
 * cap cannot hold the next item at all. */
int wgnl_set_build(void *buf, size_t cap, uint16_t family, uint32_t seq, const char *ifname,
		   const struct wg_config *c, struct wgnl_set *pos);

/* ----------------------------------------------------------------- replies */

/* A data message of a reply, whole (nlmsg_len within the bytes received). */
typedef int (*wgnl_msg_fn)(const struct nlmsghdr *nlh, void *ctx);

/* The replies to one request, fed datagram by datagram. */
struct wgnl_reply {
	uint32_t seq, portid;   /* ours: messages with others are skipped */
	wgnl_msg_fn cb;         /* data messages (may be NULL) */
	void *ctx;
	unsigned junk;          /* stale messages skipped so far */
	bool interrupted;       /* a part carried NLM_F_DUMP_INTR */
	char errmsg[WGNL_ERRMSG_LEN]; /* the kernel's extended ack text, "" if none */
};

void wgnl_reply_init(struct wgnl_reply *r, uint32_t seq, uint32_t portid, wgnl_msg_fn cb, void *ctx);
/* One datagram: 1 when the reply continues in the next, 0 when it ended
 * (an ack, or NLMSG_DONE of a dump), or -errno: the kernel's error, the
 * callback's, -EINTR for a dump that changed under it (start again),
 * -EBADMSG for a malformed datagram, -EPROTO after too many stale ones. */
int wgnl_reply_feed(struct wgnl_reply *r, const void *buf, size_t len);

/* A CTRL_CMD_NEWFAMILY message (the reply to wgnl_getfamily_build, or one
 * part of the dump): 0 and *id when it describes family `name`, -ENOENT
 * when another family, -EBADMSG when malformed. len: the bytes at nlh. */
int wgnl_family_parse(const struct nlmsghdr *nlh, size_t len, const char *name, uint16_t *id);

/* The parts of a WG_CMD_GET_DEVICE dump gathered into one wg_device_info:
 * peers and allowed IPs accumulate across parts, and a peer that the kernel
 * continued in the next part (its public key repeated) is merged. */
struct wgnl_get {
	uint16_t family;
	struct wg_device_info *info;
	size_t n_allowed_ips;   /* of all peers, against WGNL_MAX_ALLOWED_IPS */
};

/* 0 or -ENOMEM. */
int wgnl_get_begin(struct wgnl_get *g, uint16_t family);
/* One part of the reply. 0, -EBADMSG (malformed: wrong type, sizes,
 * missing public key or allowed IP fields), -E2BIG (limits), -ENOMEM.
 * After an error the gathered info stays consistent (for wgnl_get_end). */
int wgnl_get_parse(struct wgnl_get *g, const struct nlmsghdr *nlh, size_t len);
/* Hands the info over to *out (free with wg_device_info_free), or frees
 * it when out is NULL. */
void wgnl_get_end(struct wgnl_get *g, struct wg_device_info **out);

#endif
