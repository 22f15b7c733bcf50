/* The prober's packets (probe.h). */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "proxy/probe.h"

enum { ICMP_ECHO_REPLY = 0, ICMP_ECHO_REQUEST = 8, IPPROTO_ICMP_ = 1 };

int probe_open(struct proxy *p, uint16_t id)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	probe_close(p);
	p->probe_fd = sv[0];
	p->probe_id = id;
	return sv[1];
}

void probe_close(struct proxy *p)
{
	if (p->probe_fd >= 0)
		close(p->probe_fd);
	p->probe_fd = -1;
}

/* The ICMP header's offset in an IPv4 packet of len bytes (checked), or 0. */
static size_t icmp_at(const uint8_t *b, size_t len)
{
	size_t ihl = (size_t)(b[0] & 15) * 4;

	if (len < 20 || b[0] >> 4 != 4 || ihl < 20 || len < ihl + 8 || b[9] != IPPROTO_ICMP_)
		return 0;
	if (((size_t)b[2] << 8 | b[3]) != len)
		return 0;
	return ihl;
}

bool probe_deliver(struct proxy *p, const uint8_t *pkt, size_t len)
{
	size_t at;

	if (p->probe_fd < 0 || !(at = icmp_at(pkt, len)) || pkt[at] != ICMP_ECHO_REPLY ||
	    ((uint16_t)pkt[at + 4] << 8 | pkt[at + 5]) != p->probe_id)
		return false;
	if (send(p->probe_fd, pkt, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		p->dropped++;
	return true;
}

void probe_poll_prepare(struct proxy *p, struct pollvec *pv)
{
	p->probe_idx = p->probe_fd >= 0 ? pollvec_add(pv, p->probe_fd, POLLIN) : -1;
}

void probe_poll_done(struct proxy *p, const struct pollvec *pv)
{
	short re = pollvec_revents(pv, p->probe_idx);

	if (p->probe_fd < 0 || !(re & (POLLIN | POLLHUP | POLLERR)))
		return;
	for (int i = 0; i < ENGINE_READ_BURST; i++) {
		ssize_t n = recv(p->probe_fd, p->scratch, ENGINE_UDP_MAX, MSG_DONTWAIT | MSG_TRUNC);
		size_t at;

		if (n < 0)
			return;
		if (n == 0) {
			log_debug("proxy: prober closed its end");
			probe_close(p);
			return;
		}
		at = (size_t)n <= p->mtu ? icmp_at(p->scratch, (size_t)n) : 0;
		if (!at || p->scratch[at] != ICMP_ECHO_REQUEST || !p->have4 ||
		    memcmp(p->scratch + 12, p->self4.addr, 4)) {
			p->dropped++;
			continue;
		}
		engine_send(p, p->scratch, (size_t)n);
	}
}
