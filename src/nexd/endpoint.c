/* Endpoint discovery: the local endpoint (the address this host uses to
 * reach the API server, with the WireGuard port) and the reflexive one
 * (STUN, RFC 8489, sent from the WireGuard port itself so that the NAT
 * mapping found is the one peers will use). Re-checked periodically and
 * published to the API server when it changes. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/timeutil.h"
#include "nexd/agent_priv.h"
#include "nexd/oob.h"
#include "nexd/stun.h"
#include "wg/wg.h"

#define ENDPOINT_RECHECK_MS 60000
#define ENDPOINT_RETRY_MS 5000
#define STUN_TRIES 3

/* The first address of "host:port". */
static int resolve(const char *hostport, int socktype, union sockaddr_any *out)
{
	size_t n;

	return oob_resolve(hostport, socktype, out, 1, &n);
}

/* The source address the kernel picks to reach `to`: a connected UDP
 * socket sends nothing. */
static int local_address_towards(const union sockaddr_any *to, union sockaddr_any *out)
{
	socklen_t sl = sizeof(*out);
	int fd = socket(to->sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = 0;

	if (fd < 0)
		return -errno;
	if (connect(fd, &to->sa, addr_len(to)) < 0 || getsockname(fd, &out->sa, &sl) < 0)
		r = -errno;
	close(fd);
	return r;
}

void endpoint_on_datagram(void *ctx, const uint8_t *buf, size_t len, const union sockaddr_any *from)
{
	struct agent *a = ctx;
	struct stun_response resp;

	(void)from;
	if (!stun_is_message(buf, len))
		return;
	pthread_mutex_lock(&a->stun_lock);
	if (a->stun_waiting && stun_response_parse(buf, len, &a->stun_txid, &resp) == 0) {
		a->stun_mapped = resp.mapped;
		a->stun_answered = true;
		pthread_cond_broadcast(&a->stun_cond);
	}
	pthread_mutex_unlock(&a->stun_lock);
}

/* One STUN Binding transaction from the WireGuard socket. */
static int stun_query(struct agent *a, const union sockaddr_any *server, union sockaddr_any *mapped)
{
	uint8_t req[STUN_REQUEST_MAX];
	int len, r = -ETIMEDOUT;
	unsigned rto = STUN_RTO_MS;

	pthread_mutex_lock(&a->stun_lock);
	len = stun_request_build(req, sizeof(req), true, &a->stun_txid);
	a->stun_waiting = true;
	a->stun_answered = false;
	pthread_mutex_unlock(&a->stun_lock);
	if (len < 0)
		return len;
	for (int t = 0; t < STUN_TRIES && !agent_stopping(a); t++, rto *= 2) {
		struct timespec ts;

		wg_device_send_raw(a->dev, server, req, (size_t)len);
		time_deadline(&ts, CLOCK_REALTIME, rto);
		pthread_mutex_lock(&a->stun_lock);
		while (!a->stun_answered && !agent_stopping(a))
			if (pthread_cond_timedwait(&a->stun_cond, &a->stun_lock, &ts) == ETIMEDOUT)
				break;
		if (a->stun_answered) {
			*mapped = a->stun_mapped;
			r = 0;
		}
		pthread_mutex_unlock(&a->stun_lock);
		if (r == 0)
			break;
	}
	pthread_mutex_lock(&a->stun_lock);
	a->stun_waiting = false;
	pthread_mutex_unlock(&a->stun_lock);
	return r;
}

/* One round: returns the number of endpoints found. STUN goes out of
 * `fd` when it is a socket (before the interface exists), else out of the
 * WireGuard socket. */
size_t endpoint_discover(struct agent *a, int fd, struct api_endpoint *eps, union sockaddr_any *reflexive,
			 bool *has_reflexive)
{
	char hp[300];
	union sockaddr_any api, local;
	size_t n = 0;

	*has_reflexive = false;
	if (oob_url_hostport(a->opt.service_url, hp, sizeof(hp)) == 0 && resolve(hp, SOCK_STREAM, &api) == 0 &&
	    local_address_towards(&api, &local) == 0) {
		addr_unmap(&local);
		if (local.sa.sa_family == AF_INET)
			local.in4.sin_port = htons(a->opt.listen_port);
		else
			local.in6.sin6_port = htons(a->opt.listen_port);
		eps[n].source = API_ENDPOINT_LOCAL;
		eps[n].addr = local;
		n++;
	}
	for (size_t i = 0; i < a->opt.n_stun_servers && !agent_stopping(a); i++) {
		union sockaddr_any server, mapped;
		char text[ADDR_ENDPOINT_STRLEN];

		if (resolve(a->opt.stun_servers[i], SOCK_DGRAM, &server)) {
			log_debug("stun: cannot resolve %s", a->opt.stun_servers[i]);
			continue;
		}
		if (fd >= 0) {
			struct stun_response resp;
			int r = stun_binding(fd, &server, STUN_TRIES, &resp);
			if (r) {
				log_info("stun: %s: %s", a->opt.stun_servers[i], stun_strerror(r));
				continue;
			}
			mapped = resp.mapped;
		} else if (stun_query(a, &server, &mapped)) {
			log_debug("stun: no answer from %s", a->opt.stun_servers[i]);
			continue;
		}
		addr_unmap(&mapped);
		addr_endpoint_format(&mapped, text);
		log_debug("stun: %s says we are %s", a->opt.stun_servers[i], text);
		eps[n].source = API_ENDPOINT_STUN;
		eps[n].addr = mapped;
		n++;
		*reflexive = mapped;
		*has_reflexive = true;
		break;
	}
	return n;
}

static bool endpoints_equal(const struct api_endpoint *x, size_t nx, const struct api_endpoint *y, size_t ny)
{
	if (nx != ny)
		return false;
	for (size_t i = 0; i < nx; i++)
		if (x[i].source != y[i].source || !addr_endpoint_equal(&x[i].addr, &y[i].addr))
			return false;
	return true;
}

static int publish(struct agent *a, struct api_client **cp, const struct api_endpoint *eps, size_t n)
{
	struct api_client_config cfg = {
		.base_url = a->opt.service_url,
		.ca_file = a->opt.ca_cert,
		.connect_timeout_ms = 5000,
		.timeout_ms = 15000,
	};
	char id[STATE_ID_MAX], token[STATE_TOKEN_MAX];
	json_t *patch, *list;
	int r;

	pthread_mutex_lock(&a->lock);
	snprintf(id, sizeof(id), "%s", a->state.device_id);
	snprintf(token, sizeof(token), "%s", a->state.device_token);
	pthread_mutex_unlock(&a->lock);
	if (!*cp) {
		r = api_client_new(&cfg, cp);
		if (r)
			goto out;
		api_client_set_abort(*cp, &a->stopping);
		agent_set_client(a, AGENT_CLIENT_ENDPOINT, *cp);
	}
	api_client_set_token(*cp, token);
	list = json_array();
	for (size_t i = 0; i < n; i++) {
		char text[ADDR_ENDPOINT_STRLEN];
		addr_endpoint_format(&eps[i].addr, text);
		json_array_append_new(list, json_pack("{s:s, s:s}", "source", api_endpoint_source_name(eps[i].source),
						      "address", text));
	}
	patch = json_pack("{s:o}", "endpoints", list);
	r = patch ? api_device_patch(*cp, id, patch, NULL, NULL) : -ENOMEM;
	json_decref(patch);
	if (r)
		log_warn("api: cannot publish endpoints: %s", api_client_error(*cp));
out:
	memset(token, 0, sizeof(token));
	return r;
}

bool endpoint_record(struct agent *a, const struct api_endpoint *eps, size_t n, const union sockaddr_any *refl,
		     bool has_refl)
{
	bool changed, reflexive_changed;

	pthread_mutex_lock(&a->lock);
	changed = !endpoints_equal(eps, n, a->endpoints, a->n_endpoints);
	reflexive_changed = has_refl != a->mesh_self.has_reflexive ||
			    (has_refl && !addr_endpoint_equal(refl, &a->mesh_self.reflexive_ep));
	if (changed) {
		memcpy(a->endpoints, eps, n * sizeof(eps[0]));
		a->n_endpoints = n;
		a->endpoints_published = false;
		for (size_t i = 0; i < n; i++) {
			char text[ADDR_ENDPOINT_STRLEN];
			addr_endpoint_format(&eps[i].addr, text);
			log_info("endpoint (%s): %s", api_endpoint_source_name(eps[i].source), text);
		}
	}
	a->mesh_self.has_reflexive = has_refl;
	if (has_refl)
		a->mesh_self.reflexive_ep = *refl;
	a->endpoints_known = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->lock);
	return reflexive_changed;
}

void *endpoint_main(void *arg)
{
	struct agent *a = arg;
	struct api_client *c = NULL;
	unsigned next = ENDPOINT_RECHECK_MS;

	while (!agent_sleep(a, next)) {
		struct api_endpoint eps[AGENT_MAX_ENDPOINTS];
		union sockaddr_any refl;
		bool has_refl, published;
		size_t n = endpoint_discover(a, -1, eps, &refl, &has_refl);

		if (agent_stopping(a))
			break;
		if (endpoint_record(a, eps, n, &refl, has_refl))
			sync_reconverge(a);
		pthread_mutex_lock(&a->lock);
		published = a->endpoints_published;
		pthread_mutex_unlock(&a->lock);
		next = n ? ENDPOINT_RECHECK_MS : ENDPOINT_RETRY_MS;
		if (!published) {
			if (publish(a, &c, eps, n) == 0) {
				pthread_mutex_lock(&a->lock);
				if (endpoints_equal(eps, n, a->endpoints, a->n_endpoints))
					a->endpoints_published = true;
				pthread_mutex_unlock(&a->lock);
			} else {
				next = ENDPOINT_RETRY_MS;
			}
		}
	}
	agent_set_client(a, AGENT_CLIENT_ENDPOINT, NULL);
	api_client_free(c);
	return NULL;
}
