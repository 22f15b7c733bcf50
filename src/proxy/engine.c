/* The engine's lowest helpers (engine.h): clock, kicks, limits, policy. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "proxy/engine.h"

uint64_t engine_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void engine_kick(struct proxy *p)
{
	uint64_t one = 1;

	if (pthread_equal(pthread_self(), p->thread)) {
		p->again = true;     /* the round looks again before it sleeps */
		return;
	}
	/* a full counter (EAGAIN) already wakes the thread */
	if (write(p->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN) {
		static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 3);

		if (log_ratelimit_ok(&rl))
			log_warn("proxy: wake-up: %s", strerror(errno));
	}
}

bool engine_admit(struct proxy *p, struct owner *o)
{
	if (p->nflows >= p->lim.max_flows || o->flows >= o->limit) {
		static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 5);

		o->refused++;
		if (log_ratelimit_ok(&rl))
			log_warn("proxy: flow refused: %u open (limit %u), %u for this rule (limit %u)",
				 p->nflows, p->lim.max_flows, o->flows, o->limit);
		return false;
	}
	p->nflows++;
	o->flows++;
	o->total++;
	return true;
}

void engine_release(struct proxy *p, struct owner *o)
{
	p->nflows--;
	o->flows--;
}

int engine_dest_check(const struct proxy *p, int family, const uint8_t *addr)
{
	if (family == AF_INET) {
		if (!p->have4)
			return -ENETUNREACH;
		if (cidr_contains(&p->mesh4, AF_INET, addr))
			return 0;
	} else if (family == AF_INET6) {
		if (!p->have6)
			return -ENETUNREACH;
		if (cidr_contains(&p->mesh6, AF_INET6, addr))
			return 0;
	} else {
		return -EAFNOSUPPORT;
	}
	return p->via_exit ? 0 : -EACCES;
}

void engine_to_ip(int family, const uint8_t *addr, ip_addr_t *out)
{
	memset(out, 0, sizeof(*out));
	if (family == AF_INET) {
		memcpy(&ip_2_ip4(out)->addr, addr, 4);
		IP_SET_TYPE_VAL(*out, IPADDR_TYPE_V4);
	} else {
		memcpy(ip_2_ip6(out)->addr, addr, 16);
		ip6_addr_clear_zone(ip_2_ip6(out));
		IP_SET_TYPE_VAL(*out, IPADDR_TYPE_V6);
	}
}

int engine_self_ip(const struct proxy *p, int family, ip_addr_t *out)
{
	if (family == AF_INET && p->have4)
		engine_to_ip(AF_INET, p->self4.addr, out);
	else if (family == AF_INET6 && p->have6)
		engine_to_ip(AF_INET6, p->self6.addr, out);
	else
		return -ENETUNREACH;
	return 0;
}

void engine_to_sockaddr(const ip_addr_t *ip, uint16_t port, union sockaddr_any *out)
{
	memset(out, 0, sizeof(*out));
	if (IP_IS_V6(ip)) {
		out->in6.sin6_family = AF_INET6;
		memcpy(&out->in6.sin6_addr, ip_2_ip6(ip)->addr, 16);
		out->in6.sin6_port = htons(port);
	} else {
		out->in4.sin_family = AF_INET;
		memcpy(&out->in4.sin_addr, &ip_2_ip4(ip)->addr, 4);
		out->in4.sin_port = htons(port);
	}
}

void engine_send(struct proxy *p, const uint8_t *pkt, size_t len)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(1, 5);

	if (send(p->ep_fd, pkt, len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		p->dropped++;
		if (errno != EAGAIN && errno != EWOULDBLOCK && log_ratelimit_ok(&rl))
			log_warn("proxy: endpoint: send: %s", strerror(errno));
		return;
	}
	p->tx_packets++;
}

void engine_close_rst(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}
