/* The HTTP server: libmicrohttpd with one internal epoll thread, TLS from
 * PEM in memory, a routing table, JSON replies and errors, request bodies
 * bounded before they are read whole, one access-log line per request
 * with a request id. Handlers run on the server thread, one at a time. */
#ifndef NEXAPI_HTTP_H
#define NEXAPI_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/addr.h"

struct httpd;
struct httpd_request;
struct MHD_Connection;
struct MHD_Response;

enum httpd_result { HTTPD_DONE = 0, HTTPD_SUSPENDED = 1 };

/* A handler replies (httpd_reply_*) and returns HTTPD_DONE, or suspends the
 * connection (see watch.h) and returns HTTPD_SUSPENDED; it is then called
 * again, with the same request, when the connection is resumed. */
typedef enum httpd_result (*httpd_handler)(struct httpd_request *req, void *ctx);

struct httpd_route {
	const char *method;
	const char *pattern;    /* path; a "*" segment matches one segment (httpd_param) */
	httpd_handler fn;
};

/* What a precheck admitted, released when the request ends (the
 * precheck's own bookkeeping; see httpd_guard). */
struct httpd_guard {
	char keys[2][56];
	unsigned n;
	bool watch;
	bool watcher_counted;   /* counted in the watchers metric */
};

struct httpd_config {
	union sockaddr_any listen;
	const char *tls_cert_pem;   /* both NULL: plain HTTP (unless tls_callback) */
	const char *tls_key_pem;
	void *tls_callback;         /* instead: a gnutls_certificate_retrieve_function2 (tlscert.h) */
	unsigned connection_limit;
	unsigned per_address_connections;   /* 0: no cap */
	/* A request's headers must arrive within header_timeout_s of the
	 * connection (or of the previous answer on it), its body within
	 * body_timeout_s of the headers; else the connection is closed
	 * (0: only libmicrohttpd's idle timeout). */
	unsigned header_timeout_s, body_timeout_s;
	size_t body_limit;
	/* Called for a GET or HEAD that no route matches (e.g. the web UI's
	 * static files), with the server's ctx; NULL: 404. */
	httpd_handler fallback;
	/* Called once the headers of a routed request are in, before its body
	 * is read: replies (and returns HTTPD_DONE with a reply) to refuse it,
	 * e.g. a bad token or a rate limit; NULL: none. release, when the
	 * request ends, undoes what it counted (httpd_guard). */
	httpd_handler precheck;
	void (*release)(struct httpd_request *req, void *ctx);
	/* Every request that ended: its status (0: none) and microseconds. */
	void (*completed)(struct httpd_request *req, unsigned status, uint64_t us, void *ctx);
};

int httpd_start(const struct httpd_config *cfg, const struct httpd_route *routes, size_t n_routes,
		void *ctx, struct httpd **out);
/* Port actually bound (useful with port 0). */
uint16_t httpd_port(struct httpd *h);
/* Stops accepting new connections (the existing ones go on). */
void httpd_quiesce(struct httpd *h);
void httpd_stop(struct httpd *h);

const char *httpd_method(struct httpd_request *r);
const char *httpd_url(struct httpd_request *r);            /* path, decoded, no query */
const char *httpd_param(struct httpd_request *r);          /* the "*" segment, or "" */
const char *httpd_query(struct httpd_request *r, const char *name);   /* NULL if absent */
const char *httpd_header(struct httpd_request *r, const char *name);  /* NULL if absent */
const char *httpd_body(struct httpd_request *r, size_t *len);
struct MHD_Connection *httpd_connection(struct httpd_request *r);
/* The route's pattern ("" for none, e.g. the fallback). */
const char *httpd_route_pattern(struct httpd_request *r);
/* The client's address as text ("?" when unknown). */
void httpd_client_address(struct httpd_request *r, char out[48]);
struct httpd_guard *httpd_guard(struct httpd_request *r);
/* What the precheck learnt (malloc'd; freed with the request unless
 * taken), for the handler: set by the precheck, taken once by the
 * handler (NULL when none). */
void httpd_set_pre(struct httpd_request *r, void *pre);
void *httpd_take_pre(struct httpd_request *r);
/* The next reply carries Retry-After: seconds (a 429 or 503). */
void httpd_set_retry_after(struct httpd_request *r, unsigned seconds);
/* Per-request handler state, freed with free_fn when the request ends. */
void *httpd_state(struct httpd_request *r);
void httpd_set_state(struct httpd_request *r, void *state, void (*free_fn)(void *));

/* Replies. json is consumed. */
void httpd_reply_json(struct httpd_request *r, unsigned status, json_t *json);
/* body: malloc'd, consumed. */
void httpd_reply_raw(struct httpd_request *r, unsigned status, char *body, size_t len);
void httpd_reply_empty(struct httpd_request *r, unsigned status);
/* A libmicrohttpd response made by the caller (consumed: destroyed here). */
void httpd_reply_mhd(struct httpd_request *r, unsigned status, struct MHD_Response *resp);
/* {"error": code-for-status, "message": ...} */
void httpd_reply_error(struct httpd_request *r, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The same with the members of the object `extra` (consumed; NULL: none)
 * added, e.g. {"error": ..., "message": ..., "challenge": {...}}. */
void httpd_reply_error_with(struct httpd_request *r, unsigned status, json_t *extra, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

#endif
