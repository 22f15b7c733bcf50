/* The API client: one CURL handle per client, reused (keep-alive) for every
 * request; replies gathered into a buffer bounded by API_REPLY_MAX; the
 * bearer token kept in one place and wiped when replaced or freed. */
#include "apiclient/apiclient.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdatomic.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiclient/challenge.h"
#include "common/key.h"
#include "common/log.h"

#define DEFAULT_CONNECT_TIMEOUT_MS 10000u
#define DEFAULT_TIMEOUT_MS 30000u

struct reply_buf {
	char *data;
	size_t len, cap;
	bool too_big;
};

struct api_client {
	CURL *curl;
	char *base_url;
	char *token;               /* NULL: none; wiped on change */
	char *ca_file;
	unsigned connect_timeout_ms, timeout_ms;
	long status;
	char error[API_ERROR_MAX];
	char error_code[32];
	char curl_error[CURL_ERROR_SIZE];
	json_t *error_body;            /* the last error answer's JSON object, or NULL */
	const atomic_int *abort_flag;  /* requests end while *abort_flag != 0 */
	atomic_int interrupts;         /* bumped by api_client_interrupt */
	int interrupts_seen;           /* the count when the request began */
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init_once(void)
{
	curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void set_error(struct api_client *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_error(struct api_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->error, sizeof(c->error), fmt, ap);
	va_end(ap);
}

/* Printable ASCII without spaces: nothing that could end a header line. */
static bool token_valid(const char *t)
{
	size_t n = strnlen(t, API_TOKEN_MAX + 1);

	if (n == 0 || n > API_TOKEN_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		if (t[i] <= 0x20 || t[i] >= 0x7f)
			return false;
	}
	return true;
}

static void wipe_free(char *s)
{
	if (s) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

int api_client_set_token(struct api_client *c, const char *token)
{
	char *copy = NULL;

	if (token) {
		if (!token_valid(token))
			return -EINVAL;
		copy = strdup(token);
		if (!copy)
			return -ENOMEM;
	}
	wipe_free(c->token);
	c->token = copy;
	return 0;
}

int api_client_new(const struct api_client_config *cfg, struct api_client **out)
{
	struct api_client *c;
	size_t n;
	int r;

	if (!cfg->base_url || (strncmp(cfg->base_url, "http://", 7) && strncmp(cfg->base_url, "https://", 8)))
		return -EINVAL;
	n = strnlen(cfg->base_url, API_URL_MAX);
	if (n >= API_URL_MAX / 2)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (cfg->base_url[i] <= 0x20 || cfg->base_url[i] >= 0x7f)
			return -EINVAL;
	}
	if (sodium_init() < 0)
		return -EIO;
	pthread_once(&curl_once, curl_init_once);
	if (curl_init_result != CURLE_OK)
		return -EIO;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->base_url = strdup(cfg->base_url);
	if (!c->base_url) {
		r = -ENOMEM;
		goto err_free_client;
	}
	while (n > 0 && c->base_url[n - 1] == '/')
		c->base_url[--n] = '\0';
	if (cfg->ca_file) {
		c->ca_file = strdup(cfg->ca_file);
		if (!c->ca_file) {
			r = -ENOMEM;
			goto err_free_url;
		}
	}
	if (cfg->token && (r = api_client_set_token(c, cfg->token)) < 0)
		goto err_free_ca;
	c->connect_timeout_ms = cfg->connect_timeout_ms ? cfg->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS;
	c->timeout_ms = cfg->timeout_ms ? cfg->timeout_ms : DEFAULT_TIMEOUT_MS;
	c->curl = curl_easy_init();
	if (!c->curl) {
		r = -ENOMEM;
		goto err_wipe_token;
	}
	*out = c;
	return 0;

err_wipe_token:
	wipe_free(c->token);
err_free_ca:
	free(c->ca_file);
err_free_url:
	free(c->base_url);
err_free_client:
	free(c);
	return r;
}

void api_client_free(struct api_client *c)
{
	if (!c)
		return;
	curl_easy_cleanup(c->curl);
	json_decref(c->error_body);
	wipe_free(c->token);
	free(c->ca_file);
	free(c->base_url);
	free(c);
}

const char *api_client_error(const struct api_client *c) { return c->error; }
long api_client_status(const struct api_client *c) { return c->status; }
const char *api_client_error_code(const struct api_client *c) { return c->error_code; }

static size_t write_cb(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct reply_buf *b = userdata;
	size_t n = size * nmemb;

	if (n > API_REPLY_MAX - b->len) {
		b->too_big = true;
		return 0; /* curl fails the transfer with CURLE_WRITE_ERROR */
	}
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		if (cap > API_REPLY_MAX + 1)
			cap = API_REPLY_MAX + 1;
		p = realloc(b->data, cap);
		if (!p)
			return 0;
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

void api_client_set_abort(struct api_client *c, const atomic_int *flag)
{
	c->abort_flag = flag;
}

void api_client_interrupt(struct api_client *c)
{
	atomic_fetch_add(&c->interrupts, 1);
}

/* libcurl calls this about once a second, and more often while data flows. */
static int progress_cb(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct api_client *c = arg;

	(void)dltotal;
	(void)dlnow;
	(void)ultotal;
	(void)ulnow;
	if (c->abort_flag && atomic_load(c->abort_flag))
		return 1;
	return atomic_load(&c->interrupts) != c->interrupts_seen;
}

static int transport_error(struct api_client *c, CURLcode cc)
{
	const char *detail = c->curl_error[0] ? c->curl_error : curl_easy_strerror(cc);

	switch (cc) {
	case CURLE_ABORTED_BY_CALLBACK:
		set_error(c, "request to %s cancelled", c->base_url);
		return -ECANCELED;
	case CURLE_COULDNT_CONNECT:
		set_error(c, "cannot connect to %s: %s", c->base_url, detail);
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
		set_error(c, "cannot resolve the host of %s: %s", c->base_url, detail);
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		set_error(c, "no answer from %s in time: %s", c->base_url, detail);
		return -ETIMEDOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
		set_error(c, "TLS: the certificate of %s is not trusted: %s", c->base_url, detail);
		return -EKEYREJECTED;
	case CURLE_SSL_CACERT_BADFILE:
		set_error(c, "TLS: cannot use the CA file %s: %s", c->ca_file ? c->ca_file : "(system)",
			  detail);
		return -EKEYREJECTED;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_GOT_NOTHING:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_PARTIAL_FILE:
		set_error(c, "talking to %s: %s", c->base_url, detail);
		return -EPROTO;
	default:
		set_error(c, "request to %s failed: %s", c->base_url, detail);
		return -EIO;
	}
}

static int status_errno(long status)
{
	switch (status) {
	case 400: return -EINVAL;
	case 401: return -EACCES;
	case 403: return -EPERM;
	case 404: return -ENOENT;
	case 409: return -EEXIST;
	case 410: return -ESTALE;
	case 413: return -EMSGSIZE;
	case 429: return -EAGAIN;   /* a rate limit: try again later */
	default: return status >= 500 ? -EREMOTEIO : -EPROTO;
	}
}

/* Copies a server-sent text for display: printable ASCII only, bounded. */
static void copy_printable(char *dst, size_t cap, const char *src)
{
	size_t i = 0;

	for (; src && *src && i + 1 < cap; src++)
		dst[i++] = (*src >= 0x20 && *src < 0x7f) ? *src : '?';
	dst[i] = '\0';
}

/* The answer to a deleted device's token: 401 with "reason": "device_deleted". */
static bool device_deleted(long status, const json_t *j)
{
	const json_t *reason = json_object_get(j, "reason");

	return status == 401 && json_is_string(reason) && !strcmp(json_string_value(reason), "device_deleted");
}

/* An error answer: its message and code, its errno; its JSON object is kept
 * in c->error_body until the next request (a registration reads its
 * "challenge" there). */
static int http_error(struct api_client *c, const struct reply_buf *b)
{
	json_t *j = NULL;
	char msg[API_ERROR_MAX / 2] = "";

	if (b->len)
		j = json_loadb(b->data, b->len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(j)) {
		const json_t *code = json_object_get(j, "error");
		const json_t *m = json_object_get(j, "message");
		if (json_is_string(code))
			copy_printable(c->error_code, sizeof(c->error_code), json_string_value(code));
		if (json_is_string(m))
			copy_printable(msg, sizeof(msg), json_string_value(m));
		c->error_body = j;
	} else {
		json_decref(j);
	}
	if (msg[0])
		set_error(c, "%s (HTTP %ld%s%s)", msg, c->status, c->error_code[0] ? ", " : "",
			  c->error_code);
	else
		set_error(c, "the server answered HTTP %ld%s%s", c->status,
			  c->error_code[0] ? " " : "", c->error_code);
	if (device_deleted(c->status, c->error_body))
		return -EOWNERDEAD;
	return status_errno(c->status);
}

static void free_headers(struct curl_slist *hl)
{
	for (struct curl_slist *s = hl; s; s = s->next)
		sodium_memzero(s->data, strlen(s->data));
	curl_slist_free_all(hl);
}

static int setup_request(struct api_client *c, const char *method, const char *url,
			 const char *body, struct curl_slist **headers, struct reply_buf *b,
			 unsigned timeout_ms)
{
	struct curl_slist *hl = NULL, *next;
	char auth[API_TOKEN_MAX + 32];
	int interrupts = atomic_load(&c->interrupts);
	CURL *h;

	if (interrupts != c->interrupts_seen) {
		/* After an interrupt, new connections: the old ones may live on
		 * state (a masquerade) that is gone. A new handle has none. */
		CURL *fresh = curl_easy_init();
		if (fresh) {
			curl_easy_cleanup(c->curl);
			c->curl = fresh;
		}
		c->interrupts_seen = interrupts;
	}
	h = c->curl;
	curl_easy_reset(h); /* keeps the connection cache: keep-alive */
	next = curl_slist_append(hl, "Accept: application/json");
	if (!next)
		goto err_free_headers;
	hl = next;
	if (body) {
		next = curl_slist_append(hl, "Content-Type: application/json");
		if (!next)
			goto err_free_headers;
		hl = next;
	}
	if (c->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c->token);
		next = curl_slist_append(hl, auth);
		sodium_memzero(auth, sizeof(auth));
		if (!next)
			goto err_free_headers;
		hl = next;
	}
	*headers = hl;

	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)c->connect_timeout_ms);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "nexodus-c-apiclient/1");
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->curl_error);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)API_REPLY_MAX);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(h, CURLOPT_XFERINFODATA, c);
	curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
	if (body) {
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	} else if (!strcmp(method, "GET")) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
	}
	return 0;

err_free_headers:
	free_headers(hl);
	return -ENOMEM;
}

static int request(struct api_client *c, const char *method, const char *path, const json_t *body,
		   unsigned timeout_ms, json_t **reply)
{
	struct reply_buf b = { 0 };
	struct curl_slist *headers = NULL;
	char *body_text = NULL, *url = NULL;
	json_error_t jerr;
	json_t *j = NULL;
	CURLcode cc;
	int r;

	c->status = 0;
	c->error[0] = c->error_code[0] = c->curl_error[0] = '\0';
	json_decref(c->error_body);
	c->error_body = NULL;
	if (reply)
		*reply = NULL;
	if (path[0] != '/' || strlen(path) >= API_URL_MAX / 2) {
		set_error(c, "bad request path");
		return -EINVAL;
	}
	if (asprintf(&url, "%s%s", c->base_url, path) < 0) {
		url = NULL;
		r = -ENOMEM;
		goto out_no_memory;
	}
	if (body) {
		body_text = json_dumps(body, JSON_COMPACT);
		if (!body_text) {
			r = -ENOMEM;
			goto out_no_memory;
		}
	}
	r = setup_request(c, method, url, body_text, &headers, &b, timeout_ms);
	if (r < 0)
		goto out_no_memory;
	cc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &c->status);
	log_debug("%s %s -> %ld (%zu bytes)", method, path, c->status, b.len);
	if (b.too_big) {
		set_error(c, "the reply of %s is larger than %u bytes", c->base_url, API_REPLY_MAX);
		r = -EFBIG;
		goto out;
	}
	if (cc == CURLE_FILESIZE_EXCEEDED) {
		set_error(c, "the reply of %s is larger than %u bytes", c->base_url, API_REPLY_MAX);
		r = -EFBIG;
		goto out;
	}
	if (cc != CURLE_OK) {
		r = transport_error(c, cc);
		goto out;
	}
	if (c->status < 200 || c->status > 299) {
		r = http_error(c, &b);
		goto out;
	}
	if (b.len) {
		j = json_loadb(b.data, b.len, JSON_REJECT_DUPLICATES, &jerr);
		if (!j) {
			char why[96];

			copy_printable(why, sizeof(why), jerr.text); /* it may quote the reply */
			set_error(c, "the reply of %s is not JSON (line %d: %s)", c->base_url,
				  jerr.line, why);
			r = -EBADMSG;
			goto out;
		}
	}
	if (reply)
		*reply = j;
	else
		json_decref(j);
	r = 0;
	goto out;

out_no_memory:
	set_error(c, "out of memory");
out:
	free_headers(headers);
	if (body_text) {
		sodium_memzero(body_text, strlen(body_text));
		free(body_text);
	}
	free(url);
	if (b.data) {
		sodium_memzero(b.data, b.cap); /* replies may carry tokens */
		free(b.data);
	}
	return r;
}

int api_request(struct api_client *c, const char *method, const char *path, const json_t *body,
		json_t **reply)
{
	return request(c, method, path, body, c->timeout_ms, reply);
}

/* "/prefix/<escaped segment>" into a new string. */
static char *path_with(struct api_client *c, const char *prefix, const char *segment)
{
	char *esc, *p = NULL;

	if (!segment || !*segment || strlen(segment) > 512)
		return NULL;
	esc = curl_easy_escape(c->curl, segment, 0);
	if (!esc)
		return NULL;
	if (asprintf(&p, "%s/%s", prefix, esc) < 0)
		p = NULL;
	curl_free(esc);
	return p;
}

/* A request on "/prefix/<segment>"; -EINVAL for an empty or overlong segment. */
static int request_on(struct api_client *c, const char *method, const char *prefix,
		      const char *segment, const json_t *body, json_t **reply)
{
	char *path = path_with(c, prefix, segment);
	int r;

	if (!path) {
		c->status = 0;
		c->error_code[0] = '\0';
		set_error(c, "bad name or id \"%.64s\"", segment ? segment : "");
		if (reply)
			*reply = NULL;
		return -EINVAL;
	}
	r = request(c, method, path, body, c->timeout_ms, reply);
	free(path);
	return r;
}

/* Appends "?organization=<escaped>" (or "&...") when org is set. */
static char *with_org(struct api_client *c, const char *path, const char *org)
{
	char *esc, *p = NULL;

	if (!org)
		return strdup(path);
	if (!*org || strlen(org) > 512)
		return NULL;
	esc = curl_easy_escape(c->curl, org, 0);
	if (!esc)
		return NULL;
	if (asprintf(&p, "%s%corganization=%s", path, strchr(path, '?') ? '&' : '?', esc) < 0)
		p = NULL;
	curl_free(esc);
	return p;
}

static int bad_reply(struct api_client *c, const char *what, const char *why)
{
	set_error(c, "the server's %s is malformed: %s", what, why);
	return -EBADMSG;
}

int api_health(struct api_client *c)
{
	json_t *j = NULL;
	int r = request(c, "GET", "/healthz", NULL, c->timeout_ms, &j);

	if (r == 0 && !json_is_object(j))
		r = bad_reply(c, "health answer", "not an object");
	json_decref(j);
	return r;
}

/* Keeps a reply only when it has the JSON type expected. */
static int expect(struct api_client *c, int r, json_t *j, bool array, const char *what, json_t **reply)
{
	if (r == 0 && !(array ? json_is_array(j) : json_is_object(j)))
		r = bad_reply(c, what, array ? "not an array" : "not an object");
	if (r == 0 && reply)
		*reply = j;
	else
		json_decref(j);
	return r;
}

/* created_at (required) and expires_at (a time or null) of a token answer. */
static int token_times(const json_t *j, struct api_token_times *out)
{
	const json_t *e = json_object_get(j, "expires_at");

	memset(out, 0, sizeof(*out));
	if (api_time_parse(json_string_value(json_object_get(j, "created_at")), &out->created_at))
		return -EBADMSG;
	if (json_is_null(e))
		return 0;
	return api_time_parse(json_string_value(e), &out->expires_at) ? -EBADMSG : 0;
}

int api_whoami(struct api_client *c, json_t **reply, struct api_token_times *out)
{
	json_t *j = NULL;
	int r = request(c, "GET", "/api/v1/whoami", NULL, c->timeout_ms, &j);

	if (r == 0 && out && token_times(j, out))
		r = bad_reply(c, "whoami answer", "no valid created_at/expires_at");
	return expect(c, r, j, false, "whoami answer", reply);
}

int api_device_token_renew(struct api_client *c, const char *id, char **token, struct api_token_times *out)
{
	json_t *body = json_object(), *j = NULL;
	char *path = path_with(c, "/api/v1/devices", id), *full = NULL;
	const char *t;
	int r = -ENOMEM;

	*token = NULL;
	if (!body || !path || asprintf(&full, "%s/token", path) < 0) {
		full = NULL;
		set_error(c, "out of memory (or a bad device id)");
		goto out;
	}
	r = request(c, "POST", full, body, c->timeout_ms, &j);
	if (r == 0) {
		t = json_string_value(json_object_get(j, "device_token"));
		if (!t || strlen(t) > 255 || token_times(j, out))
			r = bad_reply(c, "token answer", "no valid device_token, created_at or expires_at");
		else if (!(*token = strdup(t)))
			r = -ENOMEM;
	}
	if (j) {
		json_t *v = json_object_get(j, "device_token");

		if (json_is_string(v))
			explicit_bzero((char *)json_string_value(v), strlen(json_string_value(v)));
		json_decref(j);
	}
out:
	free(full);
	free(path);
	json_decref(body);
	return r;
}

int api_org_list(struct api_client *c, json_t **reply)
{
	json_t *j = NULL;
	int r = request(c, "GET", "/api/v1/organizations", NULL, c->timeout_ms, &j);

	return expect(c, r, j, true, "organization list", reply);
}

int api_org_get(struct api_client *c, const char *id_or_name, json_t **reply)
{
	json_t *j = NULL;
	int r = request_on(c, "GET", "/api/v1/organizations", id_or_name, NULL, &j);

	return expect(c, r, j, false, "organization", reply);
}

int api_org_create(struct api_client *c, const char *name, const char *prefix,
		   const char *prefix6, const char *exit_node_approval, json_t **reply)
{
	json_t *body = json_object(), *j = NULL;
	int r = -ENOMEM;

	if (!body || json_object_set_new(body, "name", json_string(name ? name : "")) ||
	    (prefix && json_object_set_new(body, "prefix", json_string(prefix))) ||
	    (prefix6 && json_object_set_new(body, "prefix6", json_string(prefix6))) ||
	    (exit_node_approval &&
	     json_object_set_new(body, "exit_node_approval", json_string(exit_node_approval)))) {
		set_error(c, "out of memory (or a name that is not UTF-8)");
		goto out;
	}
	r = request(c, "POST", "/api/v1/organizations", body, c->timeout_ms, &j);
	r = expect(c, r, j, false, "organization", reply);
out:
	json_decref(body);
	return r;
}

int api_org_update(struct api_client *c, const char *id_or_name, const char *exit_node_approval,
		   json_t **reply)
{
	json_t *body, *j = NULL;
	int r;

	if (!exit_node_approval) {
		c->status = 0;
		c->error_code[0] = '\0';
		set_error(c, "nothing to change");
		return -EINVAL;
	}
	body = json_pack("{s:s}", "exit_node_approval", exit_node_approval);
	if (!body) {
		set_error(c, "out of memory (or a value that is not UTF-8)");
		return -ENOMEM;
	}
	r = request_on(c, "PATCH", "/api/v1/organizations", id_or_name, body, &j);
	json_decref(body);
	return expect(c, r, j, false, "organization", reply);
}

int api_token_create(struct api_client *c, const char *org, uint64_t expires_in_s, json_t **reply)
{
	json_t *body = json_object(), *j = NULL;
	int r = -ENOMEM;

	if (!body || json_object_set_new(body, "organization", json_string(org ? org : "")) ||
	    (expires_in_s && json_object_set_new(body, "expires_in", json_integer((json_int_t)expires_in_s)))) {
		set_error(c, "out of memory (or a name that is not UTF-8)");
		goto out;
	}
	r = request(c, "POST", "/api/v1/tokens", body, c->timeout_ms, &j);
	if (r == 0 && !json_is_string(json_object_get(j, "token")))
		r = bad_reply(c, "token answer", "no \"token\" string");
	r = expect(c, r, j, false, "token answer", reply);
out:
	json_decref(body);
	return r;
}

/* GET base[?organization=org]: an array, named what in errors. */
static int list_of(struct api_client *c, const char *base, const char *org, const char *what, json_t **reply)
{
	char *path = with_org(c, base, org);
	json_t *j = NULL;
	int r;

	if (!path) {
		set_error(c, "bad organization name");
		return -EINVAL;
	}
	r = request(c, "GET", path, NULL, c->timeout_ms, &j);
	free(path);
	return expect(c, r, j, true, what, reply);
}

int api_token_list(struct api_client *c, const char *org, json_t **reply)
{
	return list_of(c, "/api/v1/tokens", org, "token list", reply);
}

int api_token_revoke(struct api_client *c, const char *id)
{
	return request_on(c, "DELETE", "/api/v1/tokens", id, NULL, NULL);
}

int api_regkey_create(struct api_client *c, const struct api_regkey_spec *spec, json_t **reply)
{
	json_t *body = json_object(), *j = NULL;
	int r = -ENOMEM;

	if (!body || (spec->org && json_object_set_new(body, "organization", json_string(spec->org))) ||
	    json_object_set_new(body, "single_use", json_boolean(!spec->reusable)) ||
	    (spec->auto_approve && json_object_set_new(body, "auto_approve", json_true())) ||
	    (spec->never_expires && json_object_set_new(body, "expires_in", json_null())) ||
	    (!spec->never_expires && spec->expires_in_s &&
	     json_object_set_new(body, "expires_in", json_integer((json_int_t)spec->expires_in_s)))) {
		set_error(c, "out of memory (or a name that is not UTF-8)");
		goto out;
	}
	r = request(c, "POST", "/api/v1/reg-keys", body, c->timeout_ms, &j);
	if (r == 0 && !json_is_string(json_object_get(j, "key")))
		r = bad_reply(c, "registration key answer", "no \"key\" string");
	r = expect(c, r, j, false, "registration key answer", reply);
out:
	json_decref(body);
	return r;
}

int api_regkey_list(struct api_client *c, const char *org, json_t **reply)
{
	return list_of(c, "/api/v1/reg-keys", org, "registration key list", reply);
}

int api_regkey_delete(struct api_client *c, const char *id)
{
	return request_on(c, "DELETE", "/api/v1/reg-keys", id, NULL, NULL);
}

/* Parses a device reply into out (when wanted), keeping the JSON in reply
 * (when wanted). */
static int device_reply(struct api_client *c, int r, json_t *j, json_t **reply, struct api_device *out)
{
	char why[API_PARSE_ERROR_MAX];
	struct api_device tmp;

	if (r == 0) {
		r = api_device_from_json(j, out ? out : &tmp, why, sizeof(why));
		if (r < 0)
			r = bad_reply(c, "device", why);
		else if (!out)
			api_device_free(&tmp);
	}
	if (r == 0 && reply)
		*reply = j;
	else
		json_decref(j);
	return r;
}

/* The typed list in pages of API_LIST_PAGE devices (an organization of any
 * size fits the reply limit); the first page's revision is the list's: a
 * watch from it replays what changed while the later pages were read. */
static int device_list_paged(struct api_client *c, const char *base, struct api_device_list *out)
{
	char why[API_PARSE_ERROR_MAX], next[24] = "";
	int r = 0;

	memset(out, 0, sizeof(*out));
	for (unsigned page = 0;; page++) {
		struct api_device_list part;
		const json_t *nx;
		json_t *j = NULL;
		char *path = NULL;

		if (asprintf(&path, "%s%climit=%d%s%s", base, strchr(base, '?') ? '&' : '?', API_LIST_PAGE,
			     next[0] ? "&after=" : "", next) < 0) {
			r = -ENOMEM;
			break;
		}
		r = request(c, "GET", path, NULL, c->timeout_ms, &j);
		free(path);
		if (r)
			break;
		r = api_device_list_from_json(j, &part, why, sizeof(why));
		if (r < 0) {
			json_decref(j);
			r = bad_reply(c, "device list", why);
			break;
		}
		if (page == 0)
			out->revision = part.revision;
		if (part.n_devices) {
			struct api_device *nd = realloc(out->devices, (out->n_devices + part.n_devices) * sizeof(*nd));

			if (!nd) {
				api_device_list_free(&part);
				json_decref(j);
				r = -ENOMEM;
				break;
			}
			out->devices = nd;
			memcpy(out->devices + out->n_devices, part.devices, part.n_devices * sizeof(*nd));
			out->n_devices += part.n_devices;
			free(part.devices);   /* moved */
		} else {
			api_device_list_free(&part);
		}
		nx = json_object_get(j, "next");
		if (!json_is_string(nx) || strlen(json_string_value(nx)) >= sizeof(next) || page > 100000) {
			json_decref(j);
			break;   /* the last page (or a server without pages: all of it) */
		}
		snprintf(next, sizeof(next), "%s", json_string_value(nx));
		json_decref(j);
	}
	if (r)
		api_device_list_free(out);
	return r;
}

int api_device_list(struct api_client *c, const char *org, json_t **reply, struct api_device_list *out)
{
	char *path = with_org(c, "/api/v1/devices", org);
	char why[API_PARSE_ERROR_MAX];
	struct api_device_list tmp;
	json_t *j = NULL;
	int r;

	if (!path) {
		set_error(c, "bad organization name");
		return -EINVAL;
	}
	if (!reply && out) {
		r = device_list_paged(c, path, out);
		free(path);
		return r;
	}
	r = request(c, "GET", path, NULL, c->timeout_ms, &j);
	free(path);
	if (r == 0) {
		r = api_device_list_from_json(j, out ? out : &tmp, why, sizeof(why));
		if (r < 0)
			r = bad_reply(c, "device list", why);
		else if (!out)
			api_device_list_free(&tmp);
	}
	if (r == 0 && reply)
		*reply = j;
	else
		json_decref(j);
	return r;
}

int api_device_get(struct api_client *c, const char *id, json_t **reply, struct api_device *out)
{
	json_t *j = NULL;
	int r = request_on(c, "GET", "/api/v1/devices", id, NULL, &j);

	return device_reply(c, r, j, reply, out);
}

int api_device_delete(struct api_client *c, const char *id)
{
	return request_on(c, "DELETE", "/api/v1/devices", id, NULL, NULL);
}

int api_device_patch(struct api_client *c, const char *id, const json_t *patch, json_t **reply,
		     struct api_device *out)
{
	json_t *j = NULL;
	int r = request_on(c, "PATCH", "/api/v1/devices", id, patch, &j);

	return device_reply(c, r, j, reply, out);
}

/* "/api/v1/devices/<escaped id>/<suffix>" into a new string; NULL after
 * setting the error (a bad id, or no memory). */
static char *device_path(struct api_client *c, const char *id, const char *suffix)
{
	char *base = path_with(c, "/api/v1/devices", id), *path = NULL;

	if (!base || asprintf(&path, "%s/%s", base, suffix) < 0)
		path = NULL;
	free(base);
	if (!path) {
		c->status = 0;
		c->error_code[0] = '\0';
		set_error(c, "bad device id \"%.64s\"", id ? id : "");
	}
	return path;
}

/* POST .../approve or .../unapprove with {"cidrs": [...]} ({} for none: all). */
static int device_approval(struct api_client *c, const char *action, const char *id,
			   const struct cidr *cidrs, size_t n, json_t **reply, struct api_device *out)
{
	json_t *body = NULL, *arr, *j = NULL;
	char *path;
	int r;

	if (reply)
		*reply = NULL;
	if (n > API_MAX_ADVERTISE_CIDRS || (n && !cidrs)) {
		c->status = 0;
		c->error_code[0] = '\0';
		set_error(c, "%zu prefixes: at most %d", n, API_MAX_ADVERTISE_CIDRS);
		return -EINVAL;
	}
	path = device_path(c, id, action);
	if (!path)
		return -EINVAL;
	body = json_object();
	if (!body)
		goto err_no_memory;
	if (n) {
		arr = json_array();
		if (!arr || json_object_set_new(body, "cidrs", arr))
			goto err_no_memory;
		for (size_t i = 0; i < n; i++) {
			char text[ADDR_CIDR_STRLEN];

			cidr_format(&cidrs[i], text);
			if (json_array_append_new(arr, json_string(text)))
				goto err_no_memory;
		}
	}
	r = request(c, "POST", path, body, c->timeout_ms, &j);
	json_decref(body);
	free(path);
	return device_reply(c, r, j, reply, out);

err_no_memory:
	json_decref(body);
	free(path);
	set_error(c, "out of memory");
	return -ENOMEM;
}

int api_device_approve(struct api_client *c, const char *id, const struct cidr *cidrs, size_t n,
		       json_t **reply, struct api_device *out)
{
	return device_approval(c, "approve", id, cidrs, n, reply, out);
}

int api_device_unapprove(struct api_client *c, const char *id, const struct cidr *cidrs, size_t n,
			 json_t **reply, struct api_device *out)
{
	return device_approval(c, "unapprove", id, cidrs, n, reply, out);
}

static json_t *registration_body(const struct api_registration *reg)
{
	json_t *body = json_object(), *eps = json_array(), *cidrs = json_array();

	if (!body || !eps || !cidrs)
		goto err;
	for (size_t i = 0; i < reg->n_endpoints; i++) {
		char text[ADDR_ENDPOINT_STRLEN];
		json_t *e;

		addr_endpoint_format(&reg->endpoints[i].addr, text);
		e = json_pack("{s:s, s:s}", "source", api_endpoint_source_name(reg->endpoints[i].source),
			      "address", text);
		if (!e || json_array_append_new(eps, e))
			goto err;
	}
	for (size_t i = 0; i < reg->n_advertise_cidrs; i++) {
		char text[ADDR_CIDR_STRLEN];

		cidr_format(&reg->advertise_cidrs[i], text);
		if (json_array_append_new(cidrs, json_string(text)))
			goto err;
	}
	if (json_object_set_new(body, "public_key", json_string(reg->public_key ? reg->public_key : "")) ||
	    json_object_set_new(body, "hostname", json_string(reg->hostname ? reg->hostname : "")) ||
	    json_object_set_new(body, "os", json_string(reg->os ? reg->os : "")) ||
	    (reg->version && json_object_set_new(body, "version", json_string(reg->version))) ||
	    json_object_set(body, "endpoints", eps) || json_object_set(body, "advertise_cidrs", cidrs))
		goto err;
	json_decref(eps);
	json_decref(cidrs);
	return body;
err:
	json_decref(cidrs);
	json_decref(eps);
	json_decref(body);
	return NULL;
}

/* A reply's relay list holds passwords: wiped in the JSON before it goes. */
static void wipe_relay_passwords(json_t *arr)
{
	size_t i;
	json_t *item;

	if (!json_is_array(arr))
		return;
	json_array_foreach(arr, i, item) {
		json_t *pw = json_object_get(item, "password");

		if (json_is_string(pw))
			sodium_memzero((char *)json_string_value(pw), json_string_length(pw));
	}
}

/* The private key given is the one of the public key registered. */
static int check_key_pair(struct api_client *c, const struct api_registration *reg)
{
	uint8_t pub[KEY_LEN], derived[KEY_LEN];

	if (!reg->public_key || key_from_base64(pub, reg->public_key) < 0 ||
	    key_public_from_private(derived, reg->private_key) < 0 || !key_equal(pub, derived)) {
		c->status = 0;
		c->error_code[0] = '\0';
		set_error(c, "the private key given is not the one of the public key registered");
		return -EINVAL;
	}
	return 0;
}

/* After a 409: puts the proof answering its challenge into body. 1 when
 * done, 0 when the answer has no challenge (the 409 stands), else a
 * negative errno with the error set. */
static int add_proof(struct api_client *c, const struct api_registration *reg, json_t *body)
{
	const json_t *chj = json_object_get(c->error_body, "challenge");
	char why[API_PARSE_ERROR_MAX];
	struct api_challenge ch;
	json_t *proof = NULL;
	int r;

	if (!chj)
		return 0;
	if (api_challenge_from_json(chj, &ch, why, sizeof(why)) < 0)
		return bad_reply(c, "registration challenge", why);
	r = api_challenge_proof(&ch, reg->private_key, &proof);
	if (r == -EINVAL)
		return bad_reply(c, "registration challenge", "challenge.server_key: a low-order point");
	if (r < 0 || json_object_set_new(body, "proof", proof)) {
		set_error(c, "out of memory");
		return -ENOMEM;
	}
	return 1;
}

int api_device_register(struct api_client *c, const struct api_registration *reg,
			struct api_device *out, char **device_token, struct api_relays *relays)
{
	char why[API_PARSE_ERROR_MAX];
	const json_t *tok;
	json_t *body, *j = NULL;
	struct api_device tmp;
	int r;

	*device_token = NULL;
	if (relays)
		api_relays_wipe(relays);
	if (reg->private_key && (r = check_key_pair(c, reg)) < 0)
		return r;
	body = registration_body(reg);
	if (!body) {
		set_error(c, "out of memory (or a field that is not UTF-8)");
		return -ENOMEM;
	}
	r = request(c, "POST", "/api/v1/devices", body, c->timeout_ms, &j);
	if (r == -EEXIST && reg->private_key) {
		/* the public key is registered already: prove that this is its
		 * device, once */
		r = add_proof(c, reg, body);
		if (r == 0)
			r = -EEXIST;
		else if (r > 0) {
			r = request(c, "POST", "/api/v1/devices", body, c->timeout_ms, &j);
			if (r == -EEXIST) {
				char server[API_ERROR_MAX];

				memcpy(server, c->error, sizeof(server));
				set_error(c, "%.400s; the proof of the private key was not accepted", server);
			}
		}
	}
	json_decref(body);
	if (r < 0)
		return r;
	if (!json_is_object(j)) {
		r = bad_reply(c, "registration answer", "not an object");
		goto out;
	}
	tok = json_object_get(j, "device_token");
	if (!json_is_string(tok) || !token_valid(json_string_value(tok))) {
		r = bad_reply(c, "registration answer", "device_token: missing or not a token");
		goto out;
	}
	if (relays && json_object_get(j, "relays") &&
	    api_relays_list_from_json(json_object_get(j, "relays"), relays, why, sizeof(why)) < 0) {
		r = bad_reply(c, "registration answer", why);
		goto out;
	}
	r = api_device_from_json(json_object_get(j, "device"), out ? out : &tmp, why, sizeof(why));
	if (r < 0) {
		r = bad_reply(c, "registration answer", why);
		goto out_wipe_relays;
	}
	if (!out)
		api_device_free(&tmp);
	*device_token = strdup(json_string_value(tok));
	if (!*device_token) {
		if (out)
			api_device_free(out);
		set_error(c, "out of memory");
		r = -ENOMEM;
		goto out_wipe_relays;
	}
	goto out;

out_wipe_relays:
	api_relays_wipe(relays);
out:
	/* the reply holds the device token and the relay passwords: wipe them
	 * before it goes */
	tok = json_object_get(j, "device_token");
	if (json_is_string(tok))
		sodium_memzero((char *)json_string_value(tok), json_string_length(tok));
	wipe_relay_passwords(json_object_get(j, "relays"));
	json_decref(j);
	return r;
}

int api_device_relays(struct api_client *c, const char *id, struct api_relays *out)
{
	char why[API_PARSE_ERROR_MAX];
	char *path;
	json_t *j = NULL;
	int r;

	api_relays_wipe(out);
	path = device_path(c, id, "relays");
	if (!path)
		return -EINVAL;
	r = request(c, "GET", path, NULL, c->timeout_ms, &j);
	free(path);
	if (r == 0) {
		r = api_relays_from_json(j, out, why, sizeof(why));
		if (r < 0)
			r = bad_reply(c, "relays answer", why);
	}
	if (json_is_object(j))
		wipe_relay_passwords(json_object_get(j, "relays"));
	json_decref(j);
	return r;
}

int api_device_watch(struct api_client *c, uint64_t revision, unsigned timeout_s, const char *org,
		     struct api_watch *out)
{
	char base[96], *path;
	char why[API_PARSE_ERROR_MAX];
	json_t *j = NULL;
	int r;

	memset(out, 0, sizeof(*out));
	if (timeout_s > API_WATCH_TIMEOUT_MAX) {
		set_error(c, "watch timeout out of range");
		return -EINVAL;
	}
	snprintf(base, sizeof(base), "/api/v1/devices/watch?revision=%llu&timeout=%u",
		 (unsigned long long)revision, timeout_s);
	path = with_org(c, base, org);
	if (!path) {
		set_error(c, "bad organization name");
		return -EINVAL;
	}
	/* the server may hold the request for timeout_s: wait that long, and more */
	r = request(c, "GET", path, NULL, c->timeout_ms + timeout_s * 1000u, &j);
	free(path);
	if (r == 0) {
		r = api_watch_from_json(j, out, why, sizeof(why));
		if (r < 0)
			r = bad_reply(c, "watch answer", why);
	}
	json_decref(j);
	return r;
}
