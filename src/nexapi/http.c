#include "nexapi/http.h"

#include <errno.h>
#include <microhttpd.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/timeutil.h"

/* A chunked body past the limit is counted and dropped; past this many
 * bytes the connection is closed instead. */
#define DISCARD_MAX (1024 * 1024)
#define PARAM_MAX 64

struct httpd {
	struct MHD_Daemon *mhd;
	const struct httpd_route *routes;
	size_t n_routes;
	void *ctx;
	size_t body_limit;
	httpd_handler fallback;
	uint32_t id_prefix;
	uint64_t next_id;
	bool tls;
	httpd_handler precheck;
	void (*release)(struct httpd_request *req, void *ctx);
	void (*completed)(struct httpd_request *req, unsigned status, uint64_t us, void *ctx);
	/* the deadlines: every connection, and a thread that closes the late */
	unsigned header_timeout_s, body_timeout_s;
	pthread_mutex_t conns_lock;
	struct conn *conns;
	pthread_t reaper;
	bool reaper_started, stopping;
	unsigned long closed_late;
};

/* A connection, for its deadline (under conns_lock). */
struct conn {
	struct conn *prev, *next;
	int fd;
	uint64_t deadline_ns;   /* 0: none (a request being handled, or a watch waiting) */
};

/* TLS 1.2 and 1.3 only, AEAD ciphers with forward secrecy (GnuTLS
 * priority string: libmicrohttpd's TLS is GnuTLS). */
#define HTTPD_TLS_PRIORITIES                                                                           \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-CIPHER-ALL:+CHACHA20-POLY1305:+AES-256-GCM:"      \
	"+AES-128-GCM:-MAC-ALL:+AEAD:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"

struct httpd_request {
	struct httpd *h;
	struct MHD_Connection *conn;
	const char *method;
	const char *url;
	char id[17];
	uint64_t start_ns;
	char *body;
	size_t body_len, discarded;
	bool too_large, replied, queued;
	unsigned status;
	const struct httpd_route *route;
	char param[PARAM_MAX + 1];
	void *state;
	void (*state_free)(void *);
	struct httpd_guard guard;
	void *pre;              /* httpd_set_pre */
	bool prechecked;
	unsigned retry_after;
};

/* A copy of untrusted text safe for a log line: non-printable bytes
 * become '?', cut at size - 1. */
static const char *printable(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < size; i++)
		dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = 0;
	return dst;
}

static const char *code_for_status(unsigned status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 410: return "gone";
	case 413: return "payload_too_large";
	case 415: return "unsupported_media_type";
	case 429: return "too_many_requests";
	case 503: return "unavailable";
	default: return "internal";
	}
}

const char *httpd_method(struct httpd_request *r) { return r->method; }
const char *httpd_param(struct httpd_request *r) { return r->param; }
const char *httpd_url(struct httpd_request *r) { return r->url; }
struct MHD_Connection *httpd_connection(struct httpd_request *r) { return r->conn; }
void *httpd_state(struct httpd_request *r) { return r->state; }

void httpd_set_state(struct httpd_request *r, void *state, void (*free_fn)(void *))
{
	if (r->state && r->state_free)
		r->state_free(r->state);
	r->state = state;
	r->state_free = free_fn;
}

const char *httpd_query(struct httpd_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *httpd_header(struct httpd_request *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *httpd_body(struct httpd_request *r, size_t *len)
{
	*len = r->body_len;
	return r->body ? r->body : "";
}

static void queue(struct httpd_request *r, unsigned status, struct MHD_Response *resp, bool json)
{
	if (!resp) {
		log_error("req=%s: cannot create a response", r->id);
		r->replied = true;
		r->status = 500;
		return;
	}
	if (json) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
		/* API answers may carry tokens and keys: never stored by a cache */
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	}
	if (r->h->tls)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_STRICT_TRANSPORT_SECURITY, "max-age=31536000");
	if (r->retry_after) {
		char v[16];

		snprintf(v, sizeof(v), "%u", r->retry_after);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	MHD_add_response_header(resp, "X-Request-Id", r->id);
	if (MHD_queue_response(r->conn, status, resp) == MHD_YES)
		r->queued = true;
	else
		log_error("req=%s: cannot queue the response", r->id);
	MHD_destroy_response(resp);
	r->replied = true;
	r->status = status;
}

void httpd_reply_raw(struct httpd_request *r, unsigned status, char *body, size_t len)
{
	struct MHD_Response *resp;

	if (r->replied) {
		free(body);
		return;
	}
	resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!resp)
		free(body);
	queue(r, status, resp, true);
}

void httpd_reply_json(struct httpd_request *r, unsigned status, json_t *json)
{
	char *s = json ? json_dumps(json, JSON_COMPACT) : NULL;
	size_t len;

	json_decref(json);
	if (!s) {
		httpd_reply_error(r, 500, "out of memory");
		return;
	}
	len = strlen(s);
	/* One trailing newline, as curl users expect. */
	{
		char *t = realloc(s, len + 2);
		if (t) {
			s = t;
			s[len++] = '\n';
			s[len] = 0;
		}
	}
	httpd_reply_raw(r, status, s, len);
}

void httpd_reply_mhd(struct httpd_request *r, unsigned status, struct MHD_Response *resp)
{
	if (r->replied) {
		if (resp)
			MHD_destroy_response(resp);
		return;
	}
	queue(r, status, resp, false);
}

void httpd_reply_empty(struct httpd_request *r, unsigned status)
{
	if (r->replied)
		return;
	queue(r, status, MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT), false);
}

static void reply_error_v(struct httpd_request *r, unsigned status, json_t *extra, const char *fmt,
			  va_list ap)
{
	char msg[512];
	json_t *j;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (status >= 500 || log_get_level() >= LOG_LEVEL_DEBUG) {
		char safe[sizeof(msg)];
		log_msg(status >= 500 ? LOG_LEVEL_WARN : LOG_LEVEL_DEBUG, "req=%s: %u %s", r->id, status,
			printable(safe, sizeof(safe), msg));
	}
	j = json_pack("{s:s, s:s}", "error", code_for_status(status), "message", msg);
	if (j && extra && json_object_update_missing(j, extra)) {
		json_decref(j);
		j = NULL;
	}
	json_decref(extra);
	if (!j) {
		queue(r, status, MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT), false);
		return;
	}
	httpd_reply_json(r, status, j);
}

void httpd_reply_error(struct httpd_request *r, unsigned status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_error_v(r, status, NULL, fmt, ap);
	va_end(ap);
}

void httpd_reply_error_with(struct httpd_request *r, unsigned status, json_t *extra, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	reply_error_v(r, status, extra, fmt, ap);
	va_end(ap);
}

/* Matches path against pattern; a "*" segment captures one segment. */
static bool match(const char *pattern, const char *path, char param[PARAM_MAX + 1])
{
	param[0] = 0;
	while (*pattern && *path) {
		if (pattern[0] == '*' && (pattern[1] == '/' || pattern[1] == 0)) {
			size_t n = strcspn(path, "/");
			if (n == 0 || n > PARAM_MAX)
				return false;
			memcpy(param, path, n);
			param[n] = 0;
			path += n;
			pattern++;
			continue;
		}
		if (*pattern != *path)
			return false;
		pattern++;
		path++;
	}
	return *pattern == 0 && *path == 0;
}

/* The route of r (r->route), or a reply (404, 405, 415): true when it may
 * go on (r->route may stay NULL for the fallback). */
static bool route(struct httpd *h, struct httpd_request *r)
{
	bool path_found = false;

	if (!r->route) {
		for (size_t i = 0; i < h->n_routes; i++) {
			char param[PARAM_MAX + 1];
			if (!match(h->routes[i].pattern, r->url, param))
				continue;
			path_found = true;
			if (strcmp(h->routes[i].method, r->method))
				continue;
			r->route = &h->routes[i];
			memcpy(r->param, param, sizeof(param));
			break;
		}
		if (!r->route) {
			if (path_found)
				httpd_reply_error(r, 405, "method %.16s not allowed on %.128s", r->method, r->url);
			else if (h->fallback && (!strcmp(r->method, "GET") || !strcmp(r->method, "HEAD")))
				return true;
			else
				httpd_reply_error(r, 404, "no such path: %.128s", r->url);
			return false;
		}
		if (!strcmp(r->method, "POST") || !strcmp(r->method, "PATCH") || !strcmp(r->method, "PUT")) {
			const char *ct = httpd_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
			size_t n = strlen("application/json");
			if (!ct || strncasecmp(ct, "application/json", n) || (ct[n] && ct[n] != ';' && ct[n] != ' ')) {
				httpd_reply_error(r, 415, "Content-Type must be application/json");
				return false;
			}
		}
	}
	return true;
}

static enum httpd_result dispatch(struct httpd *h, struct httpd_request *r)
{
	if (!r->route)
		return h->fallback(r, h->ctx);
	return r->route->fn(r, h->ctx);
}

static struct conn *conn_of(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* The deadline of c's connection: seconds from now (0: none). */
static void set_deadline(struct httpd *h, struct MHD_Connection *c, unsigned seconds)
{
	struct conn *k = conn_of(c);

	if (!k)
		return;
	pthread_mutex_lock(&h->conns_lock);
	k->deadline_ns = seconds ? time_now_ns() + (uint64_t)seconds * 1000000000ULL : 0;
	pthread_mutex_unlock(&h->conns_lock);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct httpd *h = cls;
	struct conn *k = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);

		k = calloc(1, sizeof(*k));
		if (!k)
			return;   /* no deadline for it: libmicrohttpd's idle timeout only */
		k->fd = ci ? ci->connect_fd : -1;
		k->deadline_ns = h->header_timeout_s ? time_now_ns() + h->header_timeout_s * 1000000000ULL : 0;
		pthread_mutex_lock(&h->conns_lock);
		k->next = h->conns;
		if (h->conns)
			h->conns->prev = k;
		h->conns = k;
		pthread_mutex_unlock(&h->conns_lock);
		*socket_context = k;
	} else if (k) {
		/* libmicrohttpd closes the socket after this: under the lock, the
		 * reaper never touches a closed descriptor */
		pthread_mutex_lock(&h->conns_lock);
		if (k->prev)
			k->prev->next = k->next;
		else
			h->conns = k->next;
		if (k->next)
			k->next->prev = k->prev;
		pthread_mutex_unlock(&h->conns_lock);
		free(k);
		*socket_context = NULL;
	}
}

/* Closes (shutdown) the connections past their deadline, twice a second. */
static void *reaper_main(void *arg)
{
	struct httpd *h = arg;

	for (;;) {
		unsigned long late = 0;
		uint64_t now;
		struct conn *k;

		usleep(250 * 1000);
		now = time_now_ns();
		pthread_mutex_lock(&h->conns_lock);
		if (h->stopping) {
			pthread_mutex_unlock(&h->conns_lock);
			return NULL;
		}
		for (k = h->conns; k; k = k->next) {
			if (k->deadline_ns && now > k->deadline_ns && k->fd >= 0) {
				shutdown(k->fd, SHUT_RDWR);
				k->deadline_ns = 0;
				late++;
			}
		}
		h->closed_late += late;
		pthread_mutex_unlock(&h->conns_lock);
		if (late)
			log_info("http: closed %lu connection%s that did not send a whole request in time", late,
				 late == 1 ? "" : "s");
	}
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct httpd *h = cls;
	struct httpd_request *r = *con_cls;

	if (!r) {
		const char *cl;

		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->h = h;
		r->conn = c;
		r->method = method;
		r->url = url;
		r->start_ns = time_now_ns();
		snprintf(r->id, sizeof(r->id), "%08x%08x", h->id_prefix,
			 (uint32_t)__atomic_add_fetch(&h->next_id, 1, __ATOMIC_RELAXED));
		*con_cls = r;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			char *end;
			unsigned long long v;

			errno = 0;
			v = strtoull(cl, &end, 10);
			if (errno || end == cl || *end || v > h->body_limit) {
				r->too_large = true;
				httpd_reply_error(r, 413, "request body over %zu bytes", h->body_limit);
				return r->queued ? MHD_YES : MHD_NO;
			}
		}
		/* the headers are in: routed and checked before any body is read */
		if (!route(h, r))
			return r->queued ? MHD_YES : MHD_NO;
		if (h->precheck) {
			r->prechecked = true;
			if (h->precheck(r, h->ctx) == HTTPD_DONE && r->replied)
				return r->queued ? MHD_YES : MHD_NO;
		}
		set_deadline(h, c, h->body_timeout_s);
		return MHD_YES;
	}
	if (r->replied) {
		/* Answered early (413): drop whatever body still arrives. */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (r->too_large || r->body_len + n > h->body_limit) {
			r->too_large = true;
			r->discarded += n;
			free(r->body);
			r->body = NULL;
			r->body_len = 0;
			return r->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
		}
		{
			char *nb = realloc(r->body, r->body_len + n + 1);
			if (!nb)
				return MHD_NO;
			r->body = nb;
		}
		memcpy(r->body + r->body_len, upload_data, n);
		r->body_len += n;
		r->body[r->body_len] = 0;
		return MHD_YES;
	}
	if (r->too_large) {
		httpd_reply_error(r, 413, "request body over %zu bytes", h->body_limit);
		return r->queued ? MHD_YES : MHD_NO;
	}
	set_deadline(h, c, 0);   /* the request is whole: handled, or a watch waits */
	if (dispatch(h, r) == HTTPD_SUSPENDED)
		return MHD_YES;
	if (!r->replied)
		httpd_reply_error(r, 500, "no reply");
	/* No response could be queued: close the connection. */
	return r->queued ? MHD_YES : MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct httpd_request *r = *con_cls;
	char method[16], url[160];
	uint64_t us;

	if (!r)
		return;
	if (r->prechecked && r->h->release)
		r->h->release(r, r->h->ctx);
	/* the next request on this connection: its headers in time */
	set_deadline(r->h, c, r->h->header_timeout_s);
	us = (time_now_ns() - r->start_ns) / 1000;
	if (r->h->completed)
		r->h->completed(r, r->replied ? r->status : 0, us, r->h->ctx);
	log_info("req=%s %s %s %u %llu.%03llums%s", r->id, printable(method, sizeof(method), r->method),
		 printable(url, sizeof(url), r->url),
		 r->replied ? r->status : 0, (unsigned long long)(us / 1000),
		 (unsigned long long)(us % 1000),
		 toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended)");
	httpd_set_state(r, NULL, NULL);
	free(r->pre);
	free(r->body);
	free(r);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	log_warn("http: %s", line);
}

int httpd_start(const struct httpd_config *cfg, const struct httpd_route *routes, size_t n_routes,
		void *ctx, struct httpd **out)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	struct httpd *h;
	struct MHD_OptionItem ops[14];
	int n = 0;

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->routes = routes;
	h->n_routes = n_routes;
	h->ctx = ctx;
	h->body_limit = cfg->body_limit;
	h->fallback = cfg->fallback;
	h->id_prefix = randombytes_random();
	h->precheck = cfg->precheck;
	h->release = cfg->release;
	h->completed = cfg->completed;
	h->header_timeout_s = cfg->header_timeout_s;
	h->body_timeout_s = cfg->body_timeout_s;
	pthread_mutex_init(&h->conns_lock, NULL);

	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL };
	if (cfg->listen.sa.sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cfg->tls_cert_pem || cfg->tls_callback) {
		if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
			log_error("http: this libmicrohttpd has no TLS support");
			free(h);
			return -ENOTSUP;
		}
		flags |= MHD_USE_TLS;
		if (cfg->tls_callback) {
			ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_CERT_CALLBACK, 0, cfg->tls_callback };
		} else {
			ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)cfg->tls_cert_pem };
			ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)cfg->tls_key_pem };
		}
		ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)HTTPD_TLS_PRIORITIES };
		h->tls = true;
	}
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_SOCK_ADDR, 0, (void *)&cfg->listen.sa };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_LIMIT, cfg->connection_limit, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->per_address_connections, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, h };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_CONNECTION_TIMEOUT, 120, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_LISTEN_BACKLOG_SIZE, 4096, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL };
	ops[n++] = (struct MHD_OptionItem){ MHD_OPTION_END, 0, NULL };

	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_access, h, MHD_OPTION_ARRAY, ops,
				  MHD_OPTION_END);
	if (!h->mhd) {
		pthread_mutex_destroy(&h->conns_lock);
		free(h);
		return -EADDRNOTAVAIL;
	}
	if ((h->header_timeout_s || h->body_timeout_s) && pthread_create(&h->reaper, NULL, reaper_main, h) == 0)
		h->reaper_started = true;
	*out = h;
	return 0;
}

uint16_t httpd_port(struct httpd *h)
{
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);

	return info ? info->port : 0;
}

void httpd_stop(struct httpd *h)
{
	if (!h)
		return;
	if (h->reaper_started) {
		pthread_mutex_lock(&h->conns_lock);
		h->stopping = true;
		pthread_mutex_unlock(&h->conns_lock);
		pthread_join(h->reaper, NULL);
	}
	MHD_stop_daemon(h->mhd);
	pthread_mutex_destroy(&h->conns_lock);
	free(h);
}

const char *httpd_route_pattern(struct httpd_request *r)
{
	return r->route ? r->route->pattern : "";
}

void httpd_client_address(struct httpd_request *r, char out[48])
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	union sockaddr_any a;

	snprintf(out, 48, "?");
	if (!ci || !ci->client_addr)
		return;
	memset(&a, 0, sizeof(a));
	if (ci->client_addr->sa_family == AF_INET)
		memcpy(&a.in4, ci->client_addr, sizeof(a.in4));
	else if (ci->client_addr->sa_family == AF_INET6)
		memcpy(&a.in6, ci->client_addr, sizeof(a.in6));
	else
		return;
	if (a.sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a.in4.sin_addr, out, 48);
	else
		inet_ntop(AF_INET6, &a.in6.sin6_addr, out, 48);
}

struct httpd_guard *httpd_guard(struct httpd_request *r)
{
	return &r->guard;
}

void httpd_set_pre(struct httpd_request *r, void *pre)
{
	free(r->pre);
	r->pre = pre;
}

void *httpd_take_pre(struct httpd_request *r)
{
	void *p = r->pre;

	r->pre = NULL;
	return p;
}

void httpd_set_retry_after(struct httpd_request *r, unsigned seconds)
{
	r->retry_after = seconds;
}

void httpd_quiesce(struct httpd *h)
{
	MHD_socket fd = MHD_quiesce_daemon(h->mhd);

	if (fd != MHD_INVALID_SOCKET)
		close(fd);
}
