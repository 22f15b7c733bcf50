/* nexd's command line, parsed strictly into one struct (pure; unit-tested). */
#ifndef NEXD_OPTIONS_H
#define NEXD_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/addr.h"
#include "common/log.h"
#include "proxy/rule.h"

#define NEXD_MAX_STUN_SERVERS 8
#define NEXD_MAX_PROXY_RULES 64     /* --ingress and --egress together */
#define NEXD_DEFAULT_STATE_DIR "/var/lib/nexd"
#define NEXD_DEFAULT_INTERFACE "wg0"
#define NEXD_DEFAULT_PORT 51820
#define NEXD_DEFAULT_SOCKET "/var/run/nexd.sock"

/* --wg-backend: who runs the WireGuard interface. */
enum wg_backend { WG_BACKEND_AUTO, WG_BACKEND_KERNEL, WG_BACKEND_USERSPACE };

struct nexd_options {
	const char *service_url;
	const char *reg_key;           /* --reg-key, or $NEXD_REG_KEY */
	const char *reg_key_file;      /* --reg-key-file (main reads it into reg_key) */
	const char *ca_cert;
	const char *state_dir;
	const char *interface;
	uint16_t listen_port;
	const char *stun_servers[NEXD_MAX_STUN_SERVERS];
	size_t n_stun_servers;
	const char *unix_socket;
	const char *hostname;          /* NULL: the system's */
	enum log_level log_level;
	bool exit_node_client;         /* --exit-node-client */
	const char *exit_node;         /* --exit-node A,B,... (names, tunnel IPs, keys) */
	bool failover;                 /* --failover */
	bool router_exit_node;         /* router --exit-node */
	const char *egress_interface;  /* router --egress-interface */
	bool exit_node_allow_lan;      /* router --exit-node-allow-lan */
	enum wg_backend wg_backend;    /* --wg-backend auto|kernel|userspace (default auto) */
	bool insecure_http;            /* --insecure-http: plain HTTP to a host not on loopback */
	const char *metrics_listen;    /* --metrics-listen HOST:PORT (NULL: none) */
	/* proxy [...]: rootless, no TUN; the exit node of `proxy --exit-node`
	 * sets router_exit_node too (advertised as any exit node) */
	bool proxy;
	struct proxy_rule proxy_rules[NEXD_MAX_PROXY_RULES];
	size_t n_proxy_rules;
	bool has_socks5;
	union sockaddr_any socks5;     /* --socks5 HOST:PORT (numeric) */
	const char *socks5_auth_file;  /* --socks5-auth-file FILE: USER:PASSWORD */
	const char *socks5_user, *socks5_password;  /* main reads them from the file */
	unsigned max_flows, max_flows_per_rule;    /* 0: the engine's defaults */
	unsigned tcp_idle_s, udp_idle_s;
	bool help, version;
};

/* Parses argv (argv[0] is the program). 0, or -EINVAL with a message in
 * err naming the bad argument. Values point into argv. */
int options_parse(int argc, char **argv, struct nexd_options *o, char *err, size_t errlen);
void options_usage(FILE *f);

#endif
