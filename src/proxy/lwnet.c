/* lwIP's network interface on the packet endpoint (lwnet.h). */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "lwip/ip.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"

#include "common/log.h"
#include "proxy/exitsrv.h"
#include "proxy/lwnet.h"
#include "proxy/probe.h"

static err_t output(struct netif *n, struct pbuf *pb)
{
	struct proxy *p = n->state;
	uint8_t buf[2048];

	if (pb->tot_len > p->mtu || pb->tot_len > sizeof(buf)) {
		p->dropped++;
		return ERR_OK;
	}
	pbuf_copy_partial(pb, buf, pb->tot_len, 0);
	engine_send(p, buf, pb->tot_len);
	return ERR_OK;
}

static err_t output4(struct netif *n, struct pbuf *pb, const ip4_addr_t *to)
{
	return output(n, pb);
}

static err_t output6(struct netif *n, struct pbuf *pb, const ip6_addr_t *to)
{
	return output(n, pb);
}

static err_t init(struct netif *n)
{
	struct proxy *p = n->state;

	n->name[0] = 'n';
	n->name[1] = 'x';
	n->output = output4;
	n->output_ip6 = output6;
	n->mtu = (u16_t)p->mtu;
#if LWIP_ND6_ALLOW_RA_UPDATES
	n->mtu6 = (u16_t)p->mtu;
#endif
	n->flags = 0;               /* point to point: no ARP, no broadcast, no MLD */
	return ERR_OK;
}

void lwnet_add(struct proxy *p)
{
	netif_add(&p->netif, IP4_ADDR_ANY4, IP4_ADDR_ANY4, IP4_ADDR_ANY4, p, init, ip_input);
	netif_set_ip6_autoconfig_enabled(&p->netif, 0);
	p->netif_added = true;
}

void lwnet_set_addresses(struct proxy *p)
{
	ip_addr_t a;
	ip4_addr_t ip = { 0 }, mask = { 0 };

	if (p->have4) {
		uint32_t m = p->mesh4.prefix ? htonl(~0u << (32 - p->mesh4.prefix)) : 0;

		memcpy(&ip.addr, p->self4.addr, 4);
		mask.addr = m;
	}
	netif_set_addr(&p->netif, &ip, &mask, IP4_ADDR_ANY4);
	/* slot 1: slot 0 is the link-local one, whose validity starts router solicitations */
	if (p->have6) {
		engine_to_ip(AF_INET6, p->self6.addr, &a);
		netif_ip6_addr_set(&p->netif, 1, ip_2_ip6(&a));
		netif_ip6_addr_set_state(&p->netif, 1, IP6_ADDR_PREFERRED);
	} else {
		netif_ip6_addr_set_state(&p->netif, 1, IP6_ADDR_INVALID);
	}
	netif_set_default(&p->netif);
	netif_set_up(&p->netif);
	netif_set_link_up(&p->netif);
#if LWIP_IPV6_SEND_ROUTER_SOLICIT
	p->netif.rs_count = 0;
#endif
}

void lwnet_remove(struct proxy *p)
{
	if (!p->netif_added)
		return;
	netif_set_down(&p->netif);
	netif_remove(&p->netif);
	p->netif_added = false;
}

/* The packet's length by its header, and whether it is for us; 0 when malformed. */
static size_t check(const struct proxy *p, const uint8_t *b, size_t n, bool *ours, int *version)
{
	size_t tot;

	if (n < 1)
		return 0;
	*version = b[0] >> 4;
	if (*version == 4) {
		size_t ihl = (size_t)(b[0] & 15) * 4;

		if (n < 20 || ihl < 20)
			return 0;
		tot = (size_t)b[2] << 8 | b[3];
		if (tot < ihl || tot > n)
			return 0;
		*ours = p->have4 && !memcmp(b + 16, p->self4.addr, 4);
		return tot;
	}
	if (*version == 6) {
		if (n < 40)
			return 0;
		tot = 40 + ((size_t)b[4] << 8 | b[5]);
		if (tot > n)
			return 0;
		*ours = p->have6 && !memcmp(b + 24, p->self6.addr, 16);
		return tot;
	}
	return 0;
}

static void to_lwip(struct proxy *p, const uint8_t *b, size_t len)
{
	struct pbuf *pb = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_RAM);

	if (!pb) {
		p->dropped++;
		return;
	}
	pbuf_take(pb, b, (u16_t)len);
	if (p->netif.input(pb, &p->netif) != ERR_OK) {
		pbuf_free(pb);
		p->dropped++;
	}
}

void lwnet_input(struct proxy *p)
{
	uint8_t *b = p->pkt;

	for (int i = 0; i < ENGINE_READ_BURST; i++) {
		ssize_t n = recv(p->ep_fd, b, ENGINE_UDP_MAX, MSG_DONTWAIT | MSG_TRUNC);
		bool ours = false;
		int version = 0;
		size_t len;

		if (n < 0)
			return;
		if (n == 0) {
			p->ep_closed = true;  /* the device went away */
			return;
		}
		p->rx_packets++;
		len = (size_t)n <= p->mtu ? check(p, b, (size_t)n, &ours, &version) : 0;
		if (!len)
			p->dropped++;
		else if (ours) {
			/* the prober's echo replies are taken before lwIP sees them */
			if (version != 4 || !probe_deliver(p, b, len))
				to_lwip(p, b, len);
		}
		else if (p->exit && version == 4)
			exitsrv_input(p->exit, b, len);
		else
			p->dropped++;
	}
}
