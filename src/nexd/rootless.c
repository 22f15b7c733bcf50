#include "nexd/rootless.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "proxy/proxy.h"

int rootless_start(struct proxy **out, const struct nexd_options *o, int endpoint_fd, char *err, size_t errlen)
{
	struct proxy_config c = {
		.endpoint_fd = endpoint_fd,
		.exit_node = o->router_exit_node,
		.exit_allow_lan = o->exit_node_allow_lan,
		.has_socks = o->has_socks5,
		.socks_user = o->socks5_user,
		.socks_password = o->socks5_password,
		.limits = { .max_flows = o->max_flows, .max_flows_per_rule = o->max_flows_per_rule,
			    .tcp_idle_s = o->tcp_idle_s, .udp_idle_s = o->udp_idle_s },
	};
	struct proxy *p;
	int r;

	if (o->has_socks5) {
		bool loopback = o->socks5.sa.sa_family == AF_INET
					? (ntohl(o->socks5.in4.sin_addr.s_addr) >> 24) == 127
					: IN6_IS_ADDR_LOOPBACK(&o->socks5.in6.sin6_addr);

		if (!loopback && !o->socks5_user)
			log_warn("proxy: the SOCKS5 server listens beyond loopback without authentication: whoever "
				 "reaches it reaches the mesh as this device (see --socks5-auth-file)");
		c.socks_len = o->socks5.sa.sa_family == AF_INET ? sizeof(o->socks5.in4) : sizeof(o->socks5.in6);
		memcpy(&c.socks, &o->socks5, c.socks_len);
	}
	r = proxy_start(&p, &c, err, errlen);
	if (r)
		return r;
	for (size_t i = 0; i < o->n_proxy_rules; i++) {
		char why[PROXY_RULE_WHY_MAX];

		r = proxy_add_rule(p, &o->proxy_rules[i], why, sizeof(why));
		if (r) {
			snprintf(err, errlen, "%s", why);
			proxy_stop(p);
			return r;
		}
	}
	*out = p;
	return 0;
}

void rootless_set_addresses(struct proxy *p, const struct cidr *self4, const struct cidr *mesh4,
			    const struct cidr *self6, const struct cidr *mesh6)
{
	char t4[ADDR_CIDR_STRLEN], t6[ADDR_CIDR_STRLEN] = "";
	int r = proxy_set_addresses(p, self4, mesh4, self6, mesh6);

	if (!r)   /* the engine logs the addresses it takes */
		return;
	cidr_format(self4, t4);
	if (self6)
		cidr_format(self6, t6);
	log_error("proxy: cannot take the tunnel address %s%s%s: %s", t4, self6 ? " and " : "", t6, strerror(-r));
}
