/* The host's DNS servers from resolv.conf(5) text: the `nameserver` lines
 * only (IPv4, IPv6, IPv6 with "%scope"), bounded, and when the file names
 * only a local stub (systemd-resolved's 127.0.0.53, a 127.0.0.1-style
 * loopback, ::1) the stub's upstream servers from
 * /run/systemd/resolve/resolv.conf instead.
 *
 * Change detection: by stat(2) (device, inode, size, mtime with nanoseconds)
 * of both files, polled by the caller (say every few seconds). Chosen over
 * inotify because /etc/resolv.conf is usually replaced, not written
 * (NetworkManager, resolvconf and systemd-resolved rename a new file into
 * place or re-point a symlink), which an inotify watch on the old inode
 * misses; stat follows the symlink and sees the new inode. A poll costs two
 * stat calls and keeps no file descriptor. */
#ifndef NEXD_RESOLVCONF_H
#define NEXD_RESOLVCONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "common/addr.h"

#define RESOLVCONF_PATH "/etc/resolv.conf"
#define RESOLVCONF_UPSTREAM_PATH "/run/systemd/resolve/resolv.conf"
#define RESOLVCONF_DNS_PORT 53

enum resolvconf_limits {
	RESOLVCONF_TEXT_MAX = 64 * 1024,  /* bytes of a file */
	RESOLVCONF_SERVERS_MAX = 16,      /* nameservers kept; later lines ignored */
};

struct resolvconf {
	size_t n;
	/* each with port 53 (network order), IPv6 with its scope id */
	union sockaddr_any servers[RESOLVCONF_SERVERS_MAX];
	bool truncated;      /* more nameserver lines than RESOLVCONF_SERVERS_MAX */
	bool from_upstream;  /* resolvconf_servers: read from the upstream file */
};

/* Parses len bytes of text (need not be NUL-terminated). Comments (a line
 * starting with '#' or ';', after blanks) and every line but `nameserver
 * ADDR` are ignored, as is anything after ADDR and a blank; an ADDR that is
 * not an IP address (or whose scope is unknown) ignores the line; a repeated
 * server is kept once. 0, or -EFBIG when len > RESOLVCONF_TEXT_MAX
 * (out untouched), -EINVAL for NULL arguments. */
int resolvconf_parse(const char *text, size_t len, struct resolvconf *out);

/* True when the list is not empty and every server is loopback
 * (127.0.0.0/8, ::1, ::ffff:127.0.0.0/104). */
bool resolvconf_only_local(const struct resolvconf *rc);

/* The servers the host's resolver really uses: those of `path` (NULL:
 * RESOLVCONF_PATH); when that file names only a local stub, those of
 * `upstream` (NULL: RESOLVCONF_UPSTREAM_PATH) if it exists and names a
 * non-loopback server, else the stub's own. 0, or -ENOENT (no `path`),
 * -EFBIG, -errno of reading. */
int resolvconf_servers(const char *path, const char *upstream, struct resolvconf *out);

/* What stat(2) says of a file; `exists` false when it is absent. */
struct resolvconf_stamp {
	bool exists;
	uint64_t dev, ino;
	int64_t size;
	struct timespec mtime;
};

struct resolvconf_watch {
	bool primed;
	struct resolvconf_stamp main, upstream;
};

/* 1 when either file (path, upstream; NULL: the defaults) differs from what
 * the previous call saw, or on the first call; 0 when both are unchanged.
 * Zero-initialise the watch before the first call. */
int resolvconf_changed(struct resolvconf_watch *w, const char *path, const char *upstream);

#endif
