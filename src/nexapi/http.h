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

struct httpd_config {
	union sockaddr_any listen;
	const char *tls_cert_pem;   /* both NULL: plain HTTP */
	const char *tls_key_pem;
	unsigned connection_limit;
	size_t body_limit;
	/* Called for a GET or HEAD that no route matches (e.g. the web UI's
	 * static files), with the server's ctx; NULL: 404. */
	httpd_handler fallback;
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
