/* The loop's published view, for the control socket: what `status`, `peers`
 * and `exit-node list` show. The loop writes it after each change (under
 * the board's lock, a leaf); the control thread reads it, and reads the
 * interface's counters and the prober's results itself (both are
 * thread-safe). The board also carries the acknowledgement of the
 * mutating commands: a command returns once the loop has applied it. */
#ifndef NEXD_STATUS_H
#define NEXD_STATUS_H

#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "apiclient/device.h"
#include "nexd/events.h"
#include "nexd/health.h"
#include "nexd/wgdrv.h"

struct status_peer {
	uint8_t key[32];
	char hostname[API_HOSTNAME_MAX + 1];
	char id[API_UUID_LEN + 1];
	char tunnel_ip[INET6_ADDRSTRLEN];
	char path[8];                          /* "direct" or "relay" (path.h) */
};

struct status_exit {
	uint8_t key[32];
	char hostname[API_HOSTNAME_MAX + 1];
	char tunnel_ip[INET6_ADDRSTRLEN];
	char endpoint[ADDR_ENDPOINT_STRLEN];   /* the record's first, "" when none */
	char id[API_UUID_LEN + 1];
	bool ipv6, in_use, reachable, measured;
	bool approved;                         /* false: advertises 0.0.0.0/0, waits for approval */
	uint32_t latency_us;
};

struct status_view {
	char device_id[API_UUID_LEN + 1];
	char organization[API_ORG_NAME_MAX + 1];
	char tunnel_ip[INET6_ADDRSTRLEN];
	bool up;
	bool api_connected;
	char api_state[256];
	struct api_endpoint eps[EV_MAX_ENDPOINTS];
	size_t n_eps;
	bool has_reflexive;
	union sockaddr_any reflexive;
	char exit_status[160];
	unsigned long long exit_switches;      /* the exit client moved from one exit node to another */
	bool sub_wanted;
	char warnings[512];
	char relay_status[200];                /* the relay worker's last word, "" when none */
	char relay_endpoint[ADDR_ENDPOINT_STRLEN]; /* our relayed address, "" when none */
	struct status_peer *peers;             /* heap */
	size_t n_peers;
	struct status_exit *exits;             /* heap */
	size_t n_exits;
};

/* What does not change while nexd runs. */
struct status_fixed {
	char hostname[256];
	const char *interface;
	const char *service_url;
	uint16_t listen_port;
	uint8_t public_key[32];
	bool exit_node;                        /* router --exit-node */
};

struct proxy;

struct status_board {
	pthread_mutex_t lock;
	pthread_cond_t cond;                   /* control_applied moved */
	struct status_fixed fixed;
	struct status_view view;
	const struct wg_driver *drv;           /* set once the interface is up */
	void *dev;
	struct health *health;
	struct proxy *proxy;                   /* nexd proxy: the engine, once started */
	uint64_t control_posted, control_applied;
	uint64_t control_refused;              /* the generation refused_text answers */
	char refused_text[512];
};

void status_board_init(struct status_board *b, const struct status_fixed *f);
void status_board_destroy(struct status_board *b);
/* The loop: replace the view (its arrays move into the board); the peer
 * list only with replace_peers, else the board keeps its own. */
void status_publish(struct status_board *b, struct status_view *v, bool replace_peers);
void status_set_interface(struct status_board *b, const struct wg_driver *drv, void *dev, struct health *h);
/* The loop: the proxy engine (nexd proxy), or NULL before it stops. Its
 * functions are thread-safe; the control server stops before the loop
 * stops the engine. */
void status_set_proxy(struct status_board *b, struct proxy *p);
/* The loop: the mutating command of generation gen is applied. */
void status_ack(struct status_board *b, uint64_t gen);
/* The loop: the command of generation gen was refused (nothing changed). */
void status_refuse(struct status_board *b, uint64_t gen, const char *why);
/* The control thread: the next generation; then wait (up to ms) for it. */
uint64_t status_next_control(struct status_board *b);
/* -ETIMEDOUT, -EPERM (refused: why in err) or 0. */
int status_wait_applied(struct status_board *b, uint64_t gen, unsigned ms, char *err, size_t errlen);
void status_view_release(struct status_view *v);

#endif
