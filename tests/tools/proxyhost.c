/* proxyhost: the proxy engine (src/proxy/proxy.h) on a userspace WireGuard
 * device with a packet endpoint, for the end-to-end tests. No privileges.
 *
 *   proxyhost --private-key-file F [--listen-port N] [--mtu N]
 *             [--peer PUB --endpoint IP:PORT --allowed-ips CIDR[,CIDR...]]...
 *             --self 100.100.0.2/32 --mesh 100.100.0.0/16
 *             [--self6 ADDR/128 --mesh6 PREFIX]
 *             [--ingress RULE]... [--egress RULE]... [--socks5 HOST:PORT]
 *             [--socks-user U --socks-password P] [--via-exit] [--exit-node]
 *             [--tcp-idle S] [--udp-idle S] [--max-flows N] [--log-level L]
 *
 * Runs until SIGTERM or SIGINT; SIGUSR1 prints the rules and counters (one
 * "stats ..." line and one "rule ..." line each) to stdout. Exit 1 with the
 * engine's message when a rule or the SOCKS listener cannot be set up. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/addr.h"
#include "common/key.h"
#include "common/log.h"
#include "proxy/proxy.h"
#include "proxy/rule.h"
#include "wg/wg.h"

enum { MAX_PEERS = 8, MAX_RULES = 32, MAX_IPS = 8 };

struct opts {
	const char *key_file;
	unsigned long listen_port, mtu;
	size_t n_peers;
	struct wg_peer_config peers[MAX_PEERS];
	struct cidr ips[MAX_PEERS][MAX_IPS];
	struct cidr self4, mesh4, self6, mesh6;
	bool has6, via_exit, exit_node;
	size_t n_rules;
	struct proxy_rule rules[MAX_RULES];
	struct proxy_config pc;
};

static void usage_exit(const char *why)
{
	fprintf(stderr, "proxyhost: %s (see the comment at the top of tests/tools/proxyhost.c)\n", why);
	exit(2);
}

static unsigned long number(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || *s == '-' || v > max) {
		fprintf(stderr, "proxyhost: bad number '%s' (0 to %lu)\n", s, max);
		exit(2);
	}
	return v;
}

static void read_key(const char *path, uint8_t key[KEY_LEN])
{
	char buf[128];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n < 0)
		usage_exit("cannot read the private key file");
	buf[n] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (key_from_base64(key, buf) < 0)
		usage_exit("the private key file holds no base64 key");
}

static void allowed_ips(struct opts *o, const char *list)
{
	struct wg_peer_config *pc;
	const char *s = list;

	if (!o->n_peers)
		usage_exit("--allowed-ips before --peer");
	pc = &o->peers[o->n_peers - 1];
	while (*s) {
		size_t len = strcspn(s, ",");

		if (pc->n_allowed_ips >= MAX_IPS || cidr_parse_n(s, len, &o->ips[o->n_peers - 1][pc->n_allowed_ips]) < 0)
			usage_exit("bad --allowed-ips");
		pc->n_allowed_ips++;
		s += len;
		if (*s == ',')
			s++;
	}
	pc->allowed_ips = o->ips[o->n_peers - 1];
	pc->replace_allowed_ips = true;
}

static void add_rule(struct opts *o, const char *text, enum proxy_dir dir)
{
	char why[PROXY_RULE_WHY_MAX];

	if (o->n_rules >= MAX_RULES)
		usage_exit("too many rules");
	if (proxy_rule_parse(text, strlen(text), dir, &o->rules[o->n_rules], why, sizeof(why)) < 0) {
		fprintf(stderr, "proxyhost: %s\n", why);
		exit(2);
	}
	o->n_rules++;
}

static void parse(struct opts *o, int argc, char **argv)
{
	union sockaddr_any sa;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--via-exit")) {
			o->via_exit = true;
			continue;
		}
		if (!strcmp(a, "--exit-node")) {
			o->exit_node = true;
			continue;
		}
		if (!v)
			usage_exit("an option without its value");
		i++;
		if (!strcmp(a, "--private-key-file")) {
			o->key_file = v;
		} else if (!strcmp(a, "--listen-port")) {
			o->listen_port = number(v, 65535);
		} else if (!strcmp(a, "--mtu")) {
			o->mtu = number(v, 9000);
		} else if (!strcmp(a, "--peer")) {
			if (o->n_peers >= MAX_PEERS || key_from_base64(o->peers[o->n_peers].public_key, v) < 0)
				usage_exit("bad --peer");
			o->n_peers++;
		} else if (!strcmp(a, "--endpoint")) {
			if (!o->n_peers || addr_endpoint_parse(v, &o->peers[o->n_peers - 1].endpoint) < 0)
				usage_exit("bad --endpoint");
			o->peers[o->n_peers - 1].has_endpoint = true;
		} else if (!strcmp(a, "--allowed-ips")) {
			allowed_ips(o, v);
		} else if (!strcmp(a, "--self")) {
			if (cidr_parse(v, &o->self4) < 0 || o->self4.family != AF_INET)
				usage_exit("bad --self");
		} else if (!strcmp(a, "--mesh")) {
			if (cidr_parse(v, &o->mesh4) < 0 || o->mesh4.family != AF_INET)
				usage_exit("bad --mesh");
		} else if (!strcmp(a, "--self6")) {
			if (cidr_parse(v, &o->self6) < 0 || o->self6.family != AF_INET6)
				usage_exit("bad --self6");
			o->has6 = true;
		} else if (!strcmp(a, "--mesh6")) {
			if (cidr_parse(v, &o->mesh6) < 0 || o->mesh6.family != AF_INET6)
				usage_exit("bad --mesh6");
		} else if (!strcmp(a, "--ingress")) {
			add_rule(o, v, PROXY_INGRESS);
		} else if (!strcmp(a, "--egress")) {
			add_rule(o, v, PROXY_EGRESS);
		} else if (!strcmp(a, "--socks5")) {
			if (addr_endpoint_parse(v, &sa) < 0)
				usage_exit("bad --socks5");
			memcpy(&o->pc.socks, &sa, addr_len(&sa));
			o->pc.socks_len = addr_len(&sa);
			o->pc.has_socks = true;
		} else if (!strcmp(a, "--socks-user")) {
			o->pc.socks_user = v;
		} else if (!strcmp(a, "--socks-password")) {
			o->pc.socks_password = v;
		} else if (!strcmp(a, "--tcp-idle")) {
			o->pc.limits.tcp_idle_s = (unsigned)number(v, 86400);
		} else if (!strcmp(a, "--udp-idle")) {
			o->pc.limits.udp_idle_s = (unsigned)number(v, 86400);
		} else if (!strcmp(a, "--max-flows")) {
			o->pc.limits.max_flows = (unsigned)number(v, 1000000);
		} else if (!strcmp(a, "--log-level")) {
			enum log_level l;

			if (log_level_parse(v, &l) < 0)
				usage_exit("bad --log-level");
			log_set_level(l);
		} else {
			usage_exit("unknown option");
		}
	}
	if (!o->key_file || !o->self4.family || !o->mesh4.family)
		usage_exit("--private-key-file, --self and --mesh are required");
	if (o->has6 && !o->mesh6.family)
		usage_exit("--self6 without --mesh6");
}

static void print_state(struct proxy *p)
{
	struct proxy_rule_info *v;
	struct proxy_stats s;
	int n;

	proxy_get_stats(p, &s);
	printf("stats flows=%u socks_flows=%u exit_flows=%u rx_packets=%llu tx_packets=%llu dropped=%llu\n",
	       s.flows, s.socks_flows, s.exit_flows, (unsigned long long)s.rx_packets,
	       (unsigned long long)s.tx_packets, (unsigned long long)s.dropped);
	n = proxy_list_rules(p, &v);
	for (int i = 0; i < n; i++) {
		char text[PROXY_RULE_STRLEN];

		proxy_rule_format(&v[i].rule, text, sizeof(text));
		printf("rule %s %s flows=%u total=%llu refused=%llu\n",
		       v[i].rule.dir == PROXY_INGRESS ? "ingress" : "egress", text, v[i].flows,
		       (unsigned long long)v[i].total, (unsigned long long)v[i].refused);
	}
	if (n >= 0)
		free(v);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	static struct opts o;
	struct wg_device_opts wo = { .ifname = "proxyhost", .tun_fd = -1, .packet_endpoint = true };
	struct wg_config wc = { .has_private_key = true, .has_listen_port = true };
	struct wg_device *dev;
	struct proxy *p;
	char err[256];
	sigset_t set;
	int sig = 0, r, rc = 1;

	log_init("proxyhost", LOG_LEVEL_INFO);
	parse(&o, argc, argv);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);    /* every thread inherits it */

	if (wg_init() < 0)
		fatal("wg_init failed");
	wo.mtu = (unsigned)o.mtu;
	r = wg_device_create(&dev, &wo);
	if (r < 0)
		fatal("wg_device_create: %s", strerror(-r));
	read_key(o.key_file, wc.private_key);
	wc.listen_port = (uint16_t)o.listen_port;
	wc.n_peers = o.n_peers;
	wc.peers = o.peers;
	r = wg_device_apply(dev, &wc);
	memset(wc.private_key, 0, sizeof(wc.private_key));
	if (r < 0) {
		log_error("wg_device_apply: %s", strerror(-r));
		goto out_dev;
	}
	o.pc.endpoint_fd = wg_device_take_endpoint(dev);
	o.pc.mtu = (unsigned)o.mtu;
	o.pc.exit_node = o.exit_node;
	if (proxy_start(&p, &o.pc, err, sizeof(err)) < 0) {
		log_error("%s", err);
		goto out_dev;
	}
	r = proxy_set_addresses(p, &o.self4, &o.mesh4, o.has6 ? &o.self6 : NULL, o.has6 ? &o.mesh6 : NULL);
	if (r < 0) {
		log_error("proxy_set_addresses: %s", strerror(-r));
		goto out_proxy;
	}
	proxy_set_exit(p, o.via_exit);
	for (size_t i = 0; i < o.n_rules; i++) {
		char why[PROXY_RULE_WHY_MAX];

		if (proxy_add_rule(p, &o.rules[i], why, sizeof(why)) < 0) {
			log_error("%s", why);
			goto out_proxy;
		}
	}
	log_info("ready");
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig != SIGUSR1)
			break;
		print_state(p);
	}
	print_state(p);
	rc = 0;
out_proxy:
	proxy_stop(p);
out_dev:
	wg_device_destroy(dev);
	return rc;
}
