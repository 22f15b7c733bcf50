/* Listening unix stream sockets for local control: nexd's control socket and
 * the UAPI sockets of src/wg. Bound under a tight umask, a stale socket file
 * replaced only when nobody answers on it, peers checked with SO_PEERCRED. */
#ifndef COMMON_UNIXSOCK_H
#define COMMON_UNIXSOCK_H

#include <stdbool.h>
#include <sys/types.h>

struct ucred;

enum unixsock_flags {
	UNIXSOCK_NONBLOCK = 1 << 0,   /* the listening socket is non-blocking */
	/* What may be replaced. Without this flag: only a socket, and only when
	 * connecting to it fails; any other file at the path is -EEXIST. With
	 * it, as wireguard-go does: any file, when connecting to it is refused;
	 * another error of connect(2) is returned. */
	UNIXSOCK_REPLACE_ANY = 1 << 1,
};

/* Binds a SOCK_STREAM | SOCK_CLOEXEC socket to path under umask 0077, sets
 * mode (0: keeps the 0700 the umask gives), and listens. A file already at
 * path that nobody answers on is removed and the bind tried once more (see
 * the flags). Returns the listening fd, or -errno: -ENAMETOOLONG,
 * -EADDRINUSE when another process serves path, -EEXIST for a file that may
 * not be replaced; a socket it bound is unlinked again on failure.
 * *replaced (replaced may be NULL) says whether a stale file was removed,
 * on failure too, for the caller's log. */
int unixsock_listen(const char *path, mode_t mode, int flags, bool *replaced);

/* The credentials of a connected socket's peer: 0 or -errno. */
int unixsock_peer_cred(int fd, struct ucred *out);
/* True when the peer is root or this process's effective user. */
bool unixsock_cred_allowed(const struct ucred *cred);

#endif
