/* Parsing the API's device record, device list and watch answer: every field
 * is looked up by name, checked for its JSON type, then for its syntax and
 * length. A reason naming the field goes into err. */
#include "apiclient/device.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EBADMSG;
}

/* A JSON string without NUL bytes or control characters, of at most max
 * bytes (and at least one when !may_be_empty). */
static int get_text(const json_t *obj, const char *key, bool may_be_null, bool may_be_empty,
		    size_t max, const char **out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);
	const char *s;
	size_t len;

	if (!v)
		return fail(err, errlen, "%s: missing", key);
	if (json_is_null(v) && may_be_null) {
		*out = "";
		return 0;
	}
	if (!json_is_string(v))
		return fail(err, errlen, "%s: not a string", key);
	s = json_string_value(v);
	len = json_string_length(v);
	if (strlen(s) != len)
		return fail(err, errlen, "%s: contains a NUL byte", key);
	if (len > max)
		return fail(err, errlen, "%s: longer than %zu bytes", key, max);
	if (!len && !may_be_empty)
		return fail(err, errlen, "%s: empty", key);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch < 0x20 || ch == 0x7f)
			return fail(err, errlen, "%s: contains a control character", key);
	}
	*out = s;
	return 0;
}

static int get_bool(const json_t *obj, const char *key, bool *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return fail(err, errlen, "%s: missing", key);
	if (!json_is_boolean(v))
		return fail(err, errlen, "%s: not a boolean", key);
	*out = json_is_true(v);
	return 0;
}

static int get_uint(const json_t *obj, const char *key, uint64_t *out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return fail(err, errlen, "%s: missing", key);
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return fail(err, errlen, "%s: not a non-negative integer", key);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int get_time(const json_t *obj, const char *key, bool may_be_null, int64_t *out,
		    char *err, size_t errlen)
{
	const json_t *v = json_object_get(obj, key);

	if (!v)
		return fail(err, errlen, "%s: missing", key);
	if (json_is_null(v) && may_be_null) {
		*out = -1;
		return 0;
	}
	if (!json_is_string(v) || api_time_parse(json_string_value(v), out) < 0 ||
	    strlen(json_string_value(v)) != json_string_length(v))
		return fail(err, errlen, "%s: not an RFC 3339 time", key);
	return 0;
}

/* "tunnel_ip6": optional (an older server has none; null when the
 * organization has no prefix6); a string must be an IPv6 address. */
static int parse_tunnel_ip6(const json_t *j, struct api_device *d, char *err, size_t errlen)
{
	uint8_t a[16];
	const char *s;
	int family, r;

	d->has_tunnel_ip6 = false;
	if (!json_object_get(j, "tunnel_ip6"))
		return 0;
	if ((r = get_text(j, "tunnel_ip6", true, true, INET6_ADDRSTRLEN, &s, err, errlen)) < 0)
		return r;
	if (!s[0] && json_is_null(json_object_get(j, "tunnel_ip6")))
		return 0;
	if (addr_ip_parse(s, &family, a) < 0 || family != AF_INET6)
		return fail(err, errlen, "tunnel_ip6: not an IPv6 address");
	memcpy(d->tunnel_ip6, a, sizeof(d->tunnel_ip6));
	d->has_tunnel_ip6 = true;
	return 0;
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool uuid_valid(const char *s)
{
	for (size_t i = 0; i < API_UUID_LEN; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return false;
		} else if (!is_hex(s[i])) {
			return false;
		}
	}
	return s[API_UUID_LEN] == '\0';
}

/* [a-z0-9][a-z0-9-]{0,62} */
static bool org_name_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > API_ORG_NAME_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

static bool hostname_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > API_HOSTNAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

static int parse_endpoints(const json_t *obj, struct api_device *d, char *err, size_t errlen)
{
	const json_t *arr = json_object_get(obj, "endpoints");
	size_t n;

	if (!arr)
		return fail(err, errlen, "endpoints: missing");
	if (!json_is_array(arr))
		return fail(err, errlen, "endpoints: not an array");
	n = json_array_size(arr);
	if (n > API_MAX_ENDPOINTS)
		return fail(err, errlen, "endpoints: more than %d", API_MAX_ENDPOINTS);
	if (!n)
		return 0;
	d->endpoints = calloc(n, sizeof(*d->endpoints));
	if (!d->endpoints)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(arr, i);
		struct api_endpoint *ep = &d->endpoints[i];
		const char *source, *address;
		char inner[API_PARSE_ERROR_MAX];

		if (!json_is_object(e))
			return fail(err, errlen, "endpoints[%zu]: not an object", i);
		if (get_text(e, "source", false, false, 16, &source, inner, sizeof(inner)) < 0 ||
		    get_text(e, "address", false, false, ADDR_ENDPOINT_STRLEN, &address, inner,
			     sizeof(inner)) < 0)
			return fail(err, errlen, "endpoints[%zu].%s", i, inner);
		if (!strcmp(source, "local"))
			ep->source = API_ENDPOINT_LOCAL;
		else if (!strcmp(source, "stun"))
			ep->source = API_ENDPOINT_STUN;
		else if (!strcmp(source, "relay"))
			ep->source = API_ENDPOINT_RELAY;
		else
			return fail(err, errlen, "endpoints[%zu].source: not \"local\", \"stun\" or \"relay\"", i);
		if (addr_endpoint_parse(address, &ep->addr) < 0)
			return fail(err, errlen, "endpoints[%zu].address: not an ip:port", i);
		d->n_endpoints = i + 1;
	}
	return 0;
}

/* An array of CIDRs under key, at most API_MAX_ADVERTISE_CIDRS, each parsed
 * and normalized; when optional, an absent key is an empty list. */
static int parse_cidrs(const json_t *obj, const char *key, bool optional, struct cidr **out,
		       size_t *n_out, char *err, size_t errlen)
{
	const json_t *arr = json_object_get(obj, key);
	size_t n;

	if (!arr)
		return optional ? 0 : fail(err, errlen, "%s: missing", key);
	if (!json_is_array(arr))
		return fail(err, errlen, "%s: not an array", key);
	n = json_array_size(arr);
	if (n > API_MAX_ADVERTISE_CIDRS)
		return fail(err, errlen, "%s: more than %d", key, API_MAX_ADVERTISE_CIDRS);
	if (!n)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);

		if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v) ||
		    json_string_length(v) >= ADDR_CIDR_STRLEN ||
		    cidr_parse(json_string_value(v), &(*out)[i]) < 0)
			return fail(err, errlen, "%s[%zu]: not a CIDR", key, i);
		cidr_normalize(&(*out)[i]);
		*n_out = i + 1;
	}
	return 0;
}

static int device_parse(const json_t *j, struct api_device *d, char *err, size_t errlen)
{
	const char *s;
	int r;

	if (!json_is_object(j))
		return fail(err, errlen, "device: not an object");

	if ((r = get_text(j, "id", false, false, API_UUID_LEN, &s, err, errlen)) < 0)
		return r;
	if (!uuid_valid(s))
		return fail(err, errlen, "id: not a UUID");
	memcpy(d->id, s, API_UUID_LEN + 1);

	if ((r = get_text(j, "organization", false, false, API_ORG_NAME_MAX, &s, err, errlen)) < 0)
		return r;
	if (!org_name_valid(s))
		return fail(err, errlen, "organization: not an organization name");
	strcpy(d->organization, s);

	if ((r = get_text(j, "hostname", false, false, API_HOSTNAME_MAX, &s, err, errlen)) < 0)
		return r;
	if (!hostname_valid(s))
		return fail(err, errlen, "hostname: not a host name");
	strcpy(d->hostname, s);

	if ((r = get_text(j, "public_key", false, false, KEY_B64_LEN, &s, err, errlen)) < 0)
		return r;
	if (key_from_base64(d->public_key, s) < 0 || key_is_zero(d->public_key))
		return fail(err, errlen, "public_key: not a base64 WireGuard key");

	if ((r = get_text(j, "tunnel_ip", false, false, INET6_ADDRSTRLEN, &s, err, errlen)) < 0)
		return r;
	if (addr_ip_parse(s, &d->tunnel_family, d->tunnel_ip) < 0)
		return fail(err, errlen, "tunnel_ip: not an IP address");
	if ((r = parse_tunnel_ip6(j, d, err, errlen)) < 0)
		return r;

	if ((r = parse_endpoints(j, d, err, errlen)) < 0)
		return r;
	if ((r = parse_cidrs(j, "advertise_cidrs", false, &d->advertise_cidrs, &d->n_advertise_cidrs,
			     err, errlen)) < 0)
		return r;
	/* absent from an older server: nothing approved. Not checked against
	 * advertise_cidrs (the server keeps approved within advertised): what
	 * counts is in both lists, see api_device_is_exit_node. */
	if ((r = parse_cidrs(j, "approved_cidrs", true, &d->approved_cidrs, &d->n_approved_cidrs,
			     err, errlen)) < 0)
		return r;

	if ((r = get_bool(j, "exit_node_client", &d->exit_node_client, err, errlen)) < 0)
		return r;
	if ((r = get_text(j, "exit_node_status", false, true, API_TEXT_MAX, &s, err, errlen)) < 0)
		return r;
	strcpy(d->exit_node_status, s);
	if ((r = get_text(j, "os", true, true, API_TEXT_MAX, &s, err, errlen)) < 0)
		return r;
	strcpy(d->os, s);
	if ((r = get_text(j, "version", true, true, API_TEXT_MAX, &s, err, errlen)) < 0)
		return r;
	strcpy(d->version, s);

	if ((r = get_time(j, "last_seen", true, &d->last_seen, err, errlen)) < 0)
		return r;
	if ((r = get_bool(j, "online", &d->online, err, errlen)) < 0)
		return r;
	if ((r = get_uint(j, "revision", &d->revision, err, errlen)) < 0)
		return r;
	if ((r = get_time(j, "created_at", false, &d->created_at, err, errlen)) < 0)
		return r;
	return 0;
}

int api_device_from_json(const json_t *j, struct api_device *out, char *err, size_t errlen)
{
	int r;

	memset(out, 0, sizeof(*out));
	if (err && errlen)
		err[0] = '\0';
	r = device_parse(j, out, err, errlen);
	if (r < 0) {
		if (r == -ENOMEM)
			fail(err, errlen, "out of memory");
		api_device_free(out);
	}
	return r;
}

void api_device_free(struct api_device *d)
{
	if (!d)
		return;
	free(d->endpoints);
	free(d->advertise_cidrs);
	free(d->approved_cidrs);
	d->endpoints = NULL;
	d->advertise_cidrs = NULL;
	d->approved_cidrs = NULL;
	d->n_endpoints = d->n_advertise_cidrs = d->n_approved_cidrs = 0;
}

/* The shape shared by a list and a watch answer: {"revision": N, KEY: [...]}
 * with at most max elements. *arr is NULL when the array is empty. */
static int revision_and_array(const json_t *j, const char *what, const char *key, size_t max, uint64_t *revision,
			      const json_t **arr, size_t *n, char *err, size_t errlen)
{
	const json_t *a;
	int r;

	*arr = NULL;
	*n = 0;
	if (err && errlen)
		err[0] = '\0';
	if (!json_is_object(j))
		return fail(err, errlen, "%s: not an object", what);
	if ((r = get_uint(j, "revision", revision, err, errlen)) < 0)
		return r;
	a = json_object_get(j, key);
	if (!a)
		return fail(err, errlen, "%s: missing", key);
	if (!json_is_array(a))
		return fail(err, errlen, "%s: not an array", key);
	if (json_array_size(a) > max)
		return fail(err, errlen, "%s: more than %zu", key, max);
	*n = json_array_size(a);
	*arr = *n ? a : NULL;
	return 0;
}

int api_device_list_from_json(const json_t *j, struct api_device_list *out, char *err, size_t errlen)
{
	const json_t *arr;
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	r = revision_and_array(j, "device list", "devices", API_MAX_DEVICES, &out->revision, &arr, &n, err, errlen);
	if (r < 0 || !n)
		return r;
	out->devices = calloc(n, sizeof(*out->devices));
	if (!out->devices)
		return fail(err, errlen, "out of memory"), -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char inner[API_PARSE_ERROR_MAX];

		r = api_device_from_json(json_array_get(arr, i), &out->devices[i], inner, sizeof(inner));
		if (r < 0) {
			fail(err, errlen, "devices[%zu].%s", i, inner);
			api_device_list_free(out);
			return r;
		}
		out->n_devices = i + 1;
	}
	return 0;
}

void api_device_list_free(struct api_device_list *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n_devices; i++)
		api_device_free(&l->devices[i]);
	free(l->devices);
	l->devices = NULL;
	l->n_devices = 0;
}

static int watch_event_parse(const json_t *e, struct api_watch_event *ev, char *err, size_t errlen)
{
	const char *type;
	char inner[API_PARSE_ERROR_MAX];
	int r;

	if (!json_is_object(e))
		return fail(err, errlen, "not an object");
	if ((r = get_uint(e, "revision", &ev->revision, err, errlen)) < 0)
		return r;
	if ((r = get_text(e, "type", false, false, 16, &type, err, errlen)) < 0)
		return r;
	if (!strcmp(type, "upsert"))
		ev->type = API_WATCH_UPSERT;
	else if (!strcmp(type, "delete"))
		ev->type = API_WATCH_DELETE;
	else
		return fail(err, errlen, "type: not \"upsert\" or \"delete\"");
	if (!json_object_get(e, "device"))
		return fail(err, errlen, "device: missing");
	r = api_device_from_json(json_object_get(e, "device"), &ev->device, inner, sizeof(inner));
	if (r < 0)
		return fail(err, errlen, "device.%s", inner), r;
	return 0;
}

int api_watch_from_json(const json_t *j, struct api_watch *out, char *err, size_t errlen)
{
	const json_t *arr;
	size_t n;
	int r;

	memset(out, 0, sizeof(*out));
	r = revision_and_array(j, "watch", "events", API_MAX_WATCH_EVENTS, &out->revision, &arr, &n, err, errlen);
	if (r < 0 || !n)
		return r;
	out->events = calloc(n, sizeof(*out->events));
	if (!out->events)
		return fail(err, errlen, "out of memory"), -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char inner[API_PARSE_ERROR_MAX];

		r = watch_event_parse(json_array_get(arr, i), &out->events[i], inner, sizeof(inner));
		if (r < 0) {
			fail(err, errlen, "events[%zu].%s", i, inner);
			api_watch_free(out);
			return r;
		}
		out->n_events = i + 1;
		if (out->events[i].revision > out->revision) {
			fail(err, errlen, "events[%zu].revision: after the answer's revision", i);
			api_watch_free(out);
			return -EBADMSG;
		}
	}
	return 0;
}

void api_watch_free(struct api_watch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_events; i++)
		api_device_free(&w->events[i].device);
	free(w->events);
	w->events = NULL;
	w->n_events = 0;
}

/* The default route of a family (0.0.0.0/0, ::/0) is in the list. */
static bool has_default(const struct cidr *c, size_t n, int family)
{
	for (size_t i = 0; i < n; i++) {
		if (c[i].family == family && c[i].prefix == 0)
			return true;
	}
	return false;
}

bool api_device_is_exit_node(const struct api_device *d)
{
	return has_default(d->advertise_cidrs, d->n_advertise_cidrs, AF_INET) &&
	       has_default(d->approved_cidrs, d->n_approved_cidrs, AF_INET);
}

bool api_device_exit_v6(const struct api_device *d)
{
	return has_default(d->advertise_cidrs, d->n_advertise_cidrs, AF_INET6) &&
	       has_default(d->approved_cidrs, d->n_approved_cidrs, AF_INET6);
}

bool api_device_exit_pending(const struct api_device *d)
{
	return has_default(d->advertise_cidrs, d->n_advertise_cidrs, AF_INET) &&
	       !has_default(d->approved_cidrs, d->n_approved_cidrs, AF_INET);
}

const char *api_endpoint_source_name(enum api_endpoint_source s)
{
	switch (s) {
	case API_ENDPOINT_LOCAL: return "local";
	case API_ENDPOINT_STUN: return "stun";
	case API_ENDPOINT_RELAY: return "relay";
	}
	return "local";
}

/* Exactly n decimal digits at s. */
static int digits(const char *s, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return 0;
}

static bool leap_year(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d of the proleptic Gregorian calendar. */
static int64_t days_from_civil(int y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int api_time_parse(const char *s, int64_t *out)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0, dim;
	const char *p;

	if (!s || strnlen(s, 20) < 20)
		return -EINVAL;
	if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
	    digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	dim = mdays[mo - 1] + (mo == 2 && leap_year(y));
	if (d < 1 || d > dim)
		return -EINVAL;
	p = s + 19;
	if (*p == '.') {
		size_t n = 0;
		p++;
		while (p[n] >= '0' && p[n] <= '9')
			n++;
		if (n == 0 || n > 9)
			return -EINVAL;
		p += n;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		sign = *p == '+' ? 1 : -1;
		if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		p += 6;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	if (sec == 60)
		sec = 59;
	*out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec -
	       sign * (oh * 3600 + om * 60);
	return 0;
}

void api_time_format(int64_t t, char out[API_TIME_STRLEN])
{
	struct tm tm;
	time_t tt = (time_t)t;

	if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999) {
		snprintf(out, API_TIME_STRLEN, "-");
		return;
	}
	if (strftime(out, API_TIME_STRLEN, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, API_TIME_STRLEN, "-");
}
