#include "nexd/options.h"

#include "common/addr.h"
#include "nexd/exit_choice.h"

#include <errno.h>
#include <stddef.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

void options_usage(FILE *f)
{
	fprintf(f,
		"Usage: nexd --service-url URL [--reg-key KEY | --reg-key-file FILE] [options]\n"
		"\n"
		"Joins this machine to the mesh of the API server at URL.\n"
		"\n"
		"  --service-url URL       the API server, e.g. https://api.example.com\n"
		"  --reg-key KEY           registration key (needed until this device is registered;\n"
		"                          visible in ps: prefer --reg-key-file or $NEXD_REG_KEY)\n"
		"  --reg-key-file FILE     read the registration key from FILE's first line (mode 0600)\n"
		"  --ca-cert FILE          CA certificate(s) to verify the API server with\n"
		"  --insecure-http         allow an http:// service URL that is not on loopback\n"
		"                          (the device token would cross the network in clear)\n"
		"  --state-dir DIR         keys and registration (default " NEXD_DEFAULT_STATE_DIR ")\n"
		"  --interface NAME        mesh interface (default " NEXD_DEFAULT_INTERFACE ")\n"
		"  --listen-port N         WireGuard UDP port (default %d)\n"
		"  --stun-server HOST:PORT STUN server, repeatable (default stun.l.google.com:19302\n"
		"                          and stun1.l.google.com:19302)\n"
		"  --unix-socket PATH      control socket for nexctl (default " NEXD_DEFAULT_SOCKET ")\n"
		"  --hostname NAME         name of this device (default: the system's hostname)\n"
		"  --log-level LEVEL       error, warn, info (default) or debug\n"
		"  --metrics-listen HOST:PORT  serve Prometheus metrics at http://HOST:PORT/metrics\n"
		"                          (plain HTTP; off by default)\n"
		"  --wg-backend B          auto (default: the kernel's WireGuard where the module is\n"
		"                          there, else our userspace one), kernel or userspace\n"
		"  --exit-node-client      send all traffic through the organization's exit node\n"
		"                          (kept until disabled with nexctl nexd exit-node disable)\n"
		"  --exit-node A[,B...]    with --exit-node-client: the exit node(s) to use, by name,\n"
		"                          tunnel IP or public key, in order of preference\n"
		"  --failover              with one --exit-node: move to another when it stops answering\n"
		"  --version               print the version and exit\n"
		"  -h, --help              this text\n"
		"\n"
		"nexd [options] router --exit-node [--egress-interface IFACE] [--exit-node-allow-lan]\n"
		"  Makes this device an exit node: it advertises 0.0.0.0/0 and, once an admin\n"
		"  approves it (nexctl device approve ID), forwards and masquerades mesh traffic\n"
		"  out of IFACE (default: the default route's), and only out of it. Never to\n"
		"  the networks this host is directly connected to (--exit-node-allow-lan opens\n"
		"  those on IFACE's side), to link-local addresses or to this host itself.\n"
		"\n"
		"nexd [options] proxy [--ingress RULE]... [--egress RULE]... [--socks5 HOST:PORT]\n"
		"                     [--socks5-auth-file FILE] [--exit-node [--exit-node-allow-lan]]\n"
		"  Rootless: no interface, routes, rules or firewall; the mesh ends in a userspace\n"
		"  TCP/IP stack (docs/proxy.md). RULE is PROTO:PORT:DEST_IP:DEST_PORT (tcp or udp).\n"
		"  --ingress RULE          connections from the mesh to this device's PORT go to\n"
		"                          DEST_IP:DEST_PORT from this host\n"
		"  --egress RULE           a listener on 127.0.0.1:PORT forwards into the mesh\n"
		"  --socks5 HOST:PORT      a SOCKS5 server (CONNECT): mesh addresses, and others\n"
		"                          through the exit node while subscribed\n"
		"  --socks5-auth-file FILE require USER:PASSWORD (FILE's first line, mode 0600)\n"
		"  --exit-node             a rootless exit node: re-originates clients' TCP, UDP\n"
		"                          and ICMP echo from this host's own sockets\n"
		"  --exit-node-allow-lan   let clients reach this host's directly connected networks\n"
		"  --max-flows N           connections and UDP associations in all (default 4096)\n"
		"  --max-flows-per-rule N  per rule and for SOCKS (default 1024)\n"
		"  --tcp-idle-timeout S    close a TCP flow silent that long (default 7200)\n"
		"  --udp-idle-timeout S    forget a UDP association silent that long (default 60)\n",
		NEXD_DEFAULT_PORT);
}

static int parse_count(const char *s, unsigned max, unsigned *out)
{
	char *end;
	unsigned long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v == 0 || v > max)
		return -EINVAL;
	*out = (unsigned)v;
	return 0;
}

static int parse_port(const char *s, uint16_t *out)
{
	unsigned v;

	if (parse_count(s, 65535, &v))
		return -EINVAL;
	*out = (uint16_t)v;
	return 0;
}

/* proxy [...]: the rest of the line. */
static int parse_proxy(int argc, char **argv, int i, struct nexd_options *o, char *err, size_t errlen)
{
	static const struct { const char *name; size_t off; unsigned max; } counts[] = {
		{ "--max-flows", offsetof(struct nexd_options, max_flows), 1000000 },
		{ "--max-flows-per-rule", offsetof(struct nexd_options, max_flows_per_rule), 1000000 },
		{ "--tcp-idle-timeout", offsetof(struct nexd_options, tcp_idle_s), 7 * 86400 },
		{ "--udp-idle-timeout", offsetof(struct nexd_options, udp_idle_s), 86400 },
	};

	o->proxy = true;
	if (!strcmp(o->interface, NEXD_DEFAULT_INTERFACE))
		o->interface = "proxy";      /* a name in logs and status: there is no interface */
	for (; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool ingress = !strcmp(a, "--ingress");
		size_t c;

		if (!strcmp(a, "--exit-node")) {
			o->router_exit_node = true;
			continue;
		}
		if (!strcmp(a, "--exit-node-allow-lan")) {
			o->exit_node_allow_lan = true;
			continue;
		}
		if (!v) {
			snprintf(err, errlen, "proxy: %.64s: missing value (or unknown option)", a);
			return -EINVAL;
		}
		i++;
		if (ingress || !strcmp(a, "--egress")) {
			char why[PROXY_RULE_WHY_MAX];
			struct proxy_rule r;

			if (proxy_rule_parse(v, strlen(v), ingress ? PROXY_INGRESS : PROXY_EGRESS, &r, why, sizeof(why))) {
				snprintf(err, errlen, "%s: %s", a, why);
				return -EINVAL;
			}
			for (size_t k = 0; k < o->n_proxy_rules; k++)
				if (o->proxy_rules[k].dir == r.dir && o->proxy_rules[k].proto == r.proto &&
				    o->proxy_rules[k].port == r.port) {
					snprintf(err, errlen, "%s %s: port %u is in another %s rule already", a, v, r.port, a + 2);
					return -EINVAL;
				}
			if (o->n_proxy_rules == NEXD_MAX_PROXY_RULES) {
				snprintf(err, errlen, "proxy: at most %d rules on the command line", NEXD_MAX_PROXY_RULES);
				return -EINVAL;
			}
			o->proxy_rules[o->n_proxy_rules++] = r;
			continue;
		}
		if (!strcmp(a, "--socks5")) {
			if (addr_endpoint_parse(v, &o->socks5)) {
				snprintf(err, errlen, "--socks5: \"%.64s\" is not a numeric HOST:PORT (such as 127.0.0.1:1080)", v);
				return -EINVAL;
			}
			o->has_socks5 = true;
			continue;
		}
		if (!strcmp(a, "--socks5-auth-file")) {
			o->socks5_auth_file = v;
			continue;
		}
		for (c = 0; c < sizeof(counts) / sizeof(counts[0]); c++)
			if (!strcmp(a, counts[c].name))
				break;
		if (c == sizeof(counts) / sizeof(counts[0])) {
			snprintf(err, errlen, "proxy: unknown option \"%.64s\"", a);
			return -EINVAL;
		}
		if (parse_count(v, counts[c].max, (unsigned *)((char *)o + counts[c].off))) {
			snprintf(err, errlen, "%s: \"%.32s\" is not a number from 1 to %u", a, v, counts[c].max);
			return -EINVAL;
		}
	}
	if (o->socks5_auth_file && !o->has_socks5) {
		snprintf(err, errlen, "--socks5-auth-file goes with --socks5");
		return -EINVAL;
	}
	if (o->exit_node_allow_lan && !o->router_exit_node) {
		snprintf(err, errlen, "--exit-node-allow-lan goes with --exit-node");
		return -EINVAL;
	}
	return 0;
}

static bool valid_hostname(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
		      c == '.' || c == '_'))
			return false;
	}
	return true;
}

/* The host of "HOST[:PORT][/...]" (after "http://") is 127.0.0.0/8, ::1 or
 * localhost. */
static bool url_on_loopback(const char *hostport)
{
	char host[256];
	uint8_t ip[16];
	int family;
	size_t n;

	if (hostport[0] == '[') {
		const char *end = strchr(hostport, ']');
		n = end ? (size_t)(end - hostport - 1) : 0;
		hostport++;
	} else {
		n = strcspn(hostport, ":/?#");
	}
	if (n == 0 || n >= sizeof(host))
		return false;
	memcpy(host, hostport, n);
	host[n] = 0;
	if (!strcasecmp(host, "localhost"))
		return true;
	if (addr_ip_parse(host, &family, ip))
		return false;
	if (family == AF_INET)
		return ip[0] == 127;
	for (int i = 0; i < 15; i++)
		if (ip[i])
			return false;
	return ip[15] == 1;
}

int options_parse(int argc, char **argv, struct nexd_options *o, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->state_dir = NEXD_DEFAULT_STATE_DIR;
	o->interface = NEXD_DEFAULT_INTERFACE;
	o->listen_port = NEXD_DEFAULT_PORT;
	o->unix_socket = NEXD_DEFAULT_SOCKET;
	o->log_level = LOG_LEVEL_INFO;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;

		if (!strcmp(a, "proxy")) {
			int r = parse_proxy(argc, argv, i + 1, o, err, errlen);

			if (r)
				return r;
			break;
		}
		if (!strcmp(a, "router")) {
			/* router [--exit-node] [--egress-interface IFACE]: the rest of the line */
			for (i++; i < argc; i++) {
				if (!strcmp(argv[i], "--exit-node")) {
					o->router_exit_node = true;
				} else if (!strcmp(argv[i], "--exit-node-allow-lan")) {
					o->exit_node_allow_lan = true;
				} else if (!strcmp(argv[i], "--egress-interface") && i + 1 < argc) {
					if (strlen(argv[i + 1]) == 0 || strlen(argv[i + 1]) >= IFNAMSIZ) {
						snprintf(err, errlen, "--egress-interface: \"%.64s\" is not an interface name", argv[i + 1]);
						return -EINVAL;
					}
					o->egress_interface = argv[++i];
				} else {
					snprintf(err, errlen, "router: unknown option \"%.64s\"", argv[i]);
					return -EINVAL;
				}
			}
			if (!o->router_exit_node) {
				snprintf(err, errlen, "router: nothing to do (use router --exit-node)");
				return -EINVAL;
			}
			break;
		}
		if (!strcmp(a, "--exit-node-client")) {
			o->exit_node_client = true;
			continue;
		}
		if (!strcmp(a, "--insecure-http")) {
			o->insecure_http = true;
			continue;
		}
		if (!strcmp(a, "--failover")) {
			o->failover = true;
			continue;
		}
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			o->help = true;
			takes = false;
		} else if (!strcmp(a, "--version")) {
			o->version = true;
			takes = false;
		} else if (!v) {
			snprintf(err, errlen, "%s: missing value (or unknown option)", a);
			return -EINVAL;
		} else if (!strcmp(a, "--service-url")) {
			if (strncmp(v, "https://", 8) && strncmp(v, "http://", 7)) {
				snprintf(err, errlen, "--service-url: \"%.200s\" is not an http(s):// URL", v);
				return -EINVAL;
			}
			o->service_url = v;
		} else if (!strcmp(a, "--exit-node")) {
			struct exit_prefs p;
			if (exit_prefs_parse(v, &p)) {
				snprintf(err, errlen, "--exit-node: \"%.64s\" is not a list of names, tunnel IPs or keys", v);
				return -EINVAL;
			}
			o->exit_node = v;
		} else if (!strcmp(a, "--reg-key")) {
			o->reg_key = v;
		} else if (!strcmp(a, "--reg-key-file")) {
			o->reg_key_file = v;
		} else if (!strcmp(a, "--metrics-listen")) {
			o->metrics_listen = v;
		} else if (!strcmp(a, "--ca-cert")) {
			o->ca_cert = v;
		} else if (!strcmp(a, "--state-dir")) {
			o->state_dir = v;
		} else if (!strcmp(a, "--interface")) {
			if (strlen(v) == 0 || strlen(v) >= IFNAMSIZ || strchr(v, '/') || strchr(v, ' ')) {
				snprintf(err, errlen, "--interface: \"%.64s\" is not a valid interface name", v);
				return -EINVAL;
			}
			o->interface = v;
		} else if (!strcmp(a, "--listen-port")) {
			if (parse_port(v, &o->listen_port)) {
				snprintf(err, errlen, "--listen-port: \"%.32s\" is not a port (1-65535)", v);
				return -EINVAL;
			}
		} else if (!strcmp(a, "--stun-server")) {
			if (o->n_stun_servers == NEXD_MAX_STUN_SERVERS) {
				snprintf(err, errlen, "--stun-server: at most %d servers", NEXD_MAX_STUN_SERVERS);
				return -EINVAL;
			}
			if (!strrchr(v, ':') || strlen(v) > 255) {
				snprintf(err, errlen, "--stun-server: \"%.64s\" is not HOST:PORT", v);
				return -EINVAL;
			}
			o->stun_servers[o->n_stun_servers++] = v;
		} else if (!strcmp(a, "--wg-backend")) {
			if (!strcmp(v, "auto"))
				o->wg_backend = WG_BACKEND_AUTO;
			else if (!strcmp(v, "kernel"))
				o->wg_backend = WG_BACKEND_KERNEL;
			else if (!strcmp(v, "userspace"))
				o->wg_backend = WG_BACKEND_USERSPACE;
			else {
				snprintf(err, errlen, "--wg-backend: \"%.32s\" is not auto, kernel or userspace", v);
				return -EINVAL;
			}
		} else if (!strcmp(a, "--unix-socket")) {
			if (strlen(v) >= 100) {
				snprintf(err, errlen, "--unix-socket: path too long");
				return -EINVAL;
			}
			o->unix_socket = v;
		} else if (!strcmp(a, "--hostname")) {
			if (!valid_hostname(v)) {
				snprintf(err, errlen, "--hostname: \"%.64s\" is not a valid host name", v);
				return -EINVAL;
			}
			o->hostname = v;
		} else if (!strcmp(a, "--log-level")) {
			if (log_level_parse(v, &o->log_level)) {
				snprintf(err, errlen, "--log-level: \"%.32s\" is not error, warn, info or debug", v);
				return -EINVAL;
			}
		} else {
			snprintf(err, errlen, "unknown option \"%.64s\" (see --help)", a);
			return -EINVAL;
		}
		if (takes)
			i++;
	}
	if (o->help || o->version)
		return 0;
	if ((o->exit_node || o->failover) && !o->exit_node_client) {
		snprintf(err, errlen, "--exit-node and --failover go with --exit-node-client");
		return -EINVAL;
	}
	if (o->router_exit_node && o->exit_node_client) {
		snprintf(err, errlen, "an exit node cannot also be an exit-node client");
		return -EINVAL;
	}
	if (!o->service_url) {
		snprintf(err, errlen, "--service-url is required");
		return -EINVAL;
	}
	if (o->reg_key && o->reg_key_file) {
		snprintf(err, errlen, "give --reg-key or --reg-key-file, not both");
		return -EINVAL;
	}
	if (!o->reg_key && !o->reg_key_file && getenv("NEXD_REG_KEY") && *getenv("NEXD_REG_KEY"))
		o->reg_key = getenv("NEXD_REG_KEY");
	if (!strncmp(o->service_url, "http://", 7) && !o->insecure_http && !url_on_loopback(o->service_url + 7)) {
		snprintf(err, errlen, "--service-url: %.200s is plain HTTP to a host that is not on loopback: the "
			 "registration key and the device token would cross the network in clear; use https:// "
			 "(or --insecure-http if you mean it)", o->service_url);
		return -EINVAL;
	}
	if (o->n_stun_servers == 0) {
		o->stun_servers[0] = "stun.l.google.com:19302";
		o->stun_servers[1] = "stun1.l.google.com:19302";
		o->n_stun_servers = 2;
	}
	return 0;
}
