#include "wg/socket.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <linux/filter.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"

#define SOCKET_BUFFER (8 << 20)
#define HS_SOCKET_BUFFER (1 << 20)
#define PROBE_TRIES 8

static void set_buffers(int fd)
{
	int size = SOCKET_BUFFER;

	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
}

static int bound_port(int fd, uint16_t *port)
{
	union sockaddr_any a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, &a.sa, &len) < 0)
		return -errno;
	*port = ntohs(a.sa.sa_family == AF_INET6 ? a.in6.sin6_port : a.in4.sin_port);
	return 0;
}

static void set_rcvbuf(int fd, int size)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size));
}

static void set_offloads(struct wg_socket *s)
{
	const char *e = getenv("NEXWG_NO_OFFLOAD");
	int on = 1;

	atomic_init(&s->udp_gso, false);
	if (e && !strcmp(e, "1"))
		return;
	atomic_init(&s->udp_gso, true);
	/* Best effort: without it the kernel splits coalesced datagrams. */
	(void)setsockopt(s->fd, SOL_UDP, UDP_GRO, &on, sizeof(on));
}

static void make_any(union sockaddr_any *a, int family, uint16_t port)
{
	memset(a, 0, sizeof(*a));
	if (family == AF_INET6) {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_addr = in6addr_any;
		a->in6.sin6_port = htons(port);
	} else {
		a->in4.sin_family = AF_INET;
		a->in4.sin_addr.s_addr = htonl(INADDR_ANY);
		a->in4.sin_port = htons(port);
	}
}

/* One UDP socket of `family`, options set, bound to port (reuse: in a
 * SO_REUSEPORT group). */
static int open_one(int family, uint16_t port, uint32_t fwmark, bool reuse, int *out)
{
	union sockaddr_any a;
	int fd, off = 0, on = 1, err;

	fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0)
		goto err_errno;
	if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0)
		goto err_errno;
	if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		goto err_errno;
	make_any(&a, family, port);
	if (bind(fd, &a.sa, addr_len(&a)) < 0)
		goto err_errno;
	*out = fd;
	return 0;

err_errno:
	err = -errno;
	close(fd);
	return err;
}

/* Steers data messages (first word 04 00 00 00) to the group's socket 0
 * and the rest to socket 1. The program sees the UDP payload; a datagram
 * too short to load from goes to socket 0, which reads anything anyway. */
static int attach_steering(int fd)
{
	struct sock_filter code[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 0),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0x04000000, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, 0),
		BPF_STMT(BPF_RET | BPF_K, 1),
	};
	struct sock_fprog prog = { .len = sizeof(code) / sizeof(code[0]), .filter = code };

	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)) < 0)
		return -errno;
	return 0;
}

/* The split pair on a port checked free by a plain bind. */
static int open_pair(struct wg_socket *s, uint16_t port, uint32_t fwmark)
{
	int probe, err, tries;

	for (tries = 0; tries < PROBE_TRIES; tries++) {
		uint16_t p;

		err = open_one(s->family, port, fwmark, false, &probe);
		if (err)
			return err; /* -EADDRINUSE: taken */
		err = bound_port(probe, &p);
		close(probe);
		if (err)
			return err;
		err = open_one(s->family, p, fwmark, true, &s->fd);
		if (err == -EADDRINUSE && !port)
			continue; /* the random port went in between: another */
		if (err)
			return err;
		err = open_one(s->family, p, fwmark, true, &s->hs_fd);
		if (!err)
			err = attach_steering(s->fd);
		if (err) {
			close(s->fd);
			if (s->hs_fd >= 0)
				close(s->hs_fd);
			s->fd = s->hs_fd = -1;
			return err;
		}
		s->port = p;
		return 0;
	}
	return -EADDRINUSE;
}

int socket_prepare(struct wg_socket *s, uint16_t port, uint32_t fwmark)
{
	int err, probe;

	memset(s, 0, sizeof(*s));
	s->fd = s->hs_fd = -1;
	s->fwmark = fwmark;
	s->family = AF_INET6;
	probe = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (probe < 0) {
		if (errno != EAFNOSUPPORT)
			return -errno;
		s->family = AF_INET;
	} else {
		close(probe);
	}

	err = open_pair(s, port, fwmark);
	if (err == -EADDRINUSE || err == -EACCES || err == -EPERM)
		return err;
	if (err) {
		log_debug("no steering socket pair (%s); one socket for all", strerror(-err));
		err = open_one(s->family, port, fwmark, false, &s->fd);
		if (err)
			return err;
		err = bound_port(s->fd, &s->port);
		if (err) {
			close(s->fd);
			s->fd = -1;
			return err;
		}
	}
	set_buffers(s->fd);
	if (s->hs_fd >= 0)
		set_rcvbuf(s->hs_fd, HS_SOCKET_BUFFER);
	set_offloads(s);
	return 0;
}

int socket_open(struct wg_socket *s, uint16_t port, uint32_t fwmark)
{
	return socket_prepare(s, port, fwmark);
}

int socket_adopt(struct wg_socket *s, struct wg_socket *fresh)
{
	if (s->hs_fd >= 0) {
		/* Keep the number: a fresh pair's second socket, or else a
		 * socket that receives nothing. */
		int hs = fresh->hs_fd >= 0 ? fresh->hs_fd : socket(s->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);

		if (hs < 0)
			return -errno;
		if (dup3(hs, s->hs_fd, O_CLOEXEC) < 0) {
			int err = -errno;

			if (hs != fresh->hs_fd)
				close(hs);
			return err;
		}
		close(hs);
	} else if (fresh->hs_fd >= 0) {
		/* Without a reader the second socket would swallow handshakes:
		 * once it closes, the group falls back to the first. */
		close(fresh->hs_fd);
	}
	fresh->hs_fd = -1;
	if (dup3(fresh->fd, s->fd, O_CLOEXEC) < 0)
		return -errno;
	close(fresh->fd);
	fresh->fd = -1;
	s->family = fresh->family;
	s->port = fresh->port;
	s->fwmark = fresh->fwmark;
	atomic_store(&s->udp_gso, atomic_load(&fresh->udp_gso));
	return 0;
}

void socket_close(struct wg_socket *s)
{
	if (s->fd >= 0)
		close(s->fd);
	if (s->hs_fd >= 0)
		close(s->hs_fd);
	s->fd = s->hs_fd = -1;
}

int socket_set_fwmark(struct wg_socket *s, uint32_t mark)
{
	if (setsockopt(s->fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return -errno;
	if (s->hs_fd >= 0 && setsockopt(s->hs_fd, SOL_SOCKET, SO_MARK, &mark, sizeof(mark)) < 0)
		return -errno;
	s->fwmark = mark;
	return 0;
}

socklen_t socket_dest(const struct wg_socket *s, const union sockaddr_any *to, union sockaddr_any *out)
{
	if (s->family == AF_INET6 && to->sa.sa_family == AF_INET) {
		memset(out, 0, sizeof(*out));
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = to->in4.sin_port;
		out->in6.sin6_addr.s6_addr[10] = 0xff;
		out->in6.sin6_addr.s6_addr[11] = 0xff;
		memcpy(&out->in6.sin6_addr.s6_addr[12], &to->in4.sin_addr, 4);
		return sizeof(out->in6);
	}
	if (s->family == AF_INET && to->sa.sa_family == AF_INET6) {
		if (!IN6_IS_ADDR_V4MAPPED(&to->in6.sin6_addr))
			return 0;
		*out = *to;
		addr_unmap(out);
		return sizeof(out->in4);
	}
	*out = *to;
	return addr_len(out);
}

int socket_send(const struct wg_socket *s, const union sockaddr_any *to, const void *buf, size_t len)
{
	union sockaddr_any dst;
	socklen_t dlen = socket_dest(s, to, &dst);

	if (!dlen)
		return -EAFNOSUPPORT;
	if (sendto(s->fd, buf, len, MSG_DONTWAIT, &dst.sa, dlen) < 0)
		return -errno;
	return 0;
}
