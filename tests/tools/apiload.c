/* apiload: load for nexapi over keep-alive connections (libcurl multi), for
 * bench/api.sh.
 *
 *   apiload register URL KEY COUNT CONCURRENCY
 *       COUNT device registrations (random public keys) with registration
 *       key KEY, CONCURRENCY at a time; prints the rate.
 *   apiload get URL TOKEN PATH COUNT
 *       COUNT sequential GETs of PATH; prints min, median, p90, max latency
 *       and the size of one answer.
 *   apiload flood URL TOKEN PATH SECONDS CONCURRENCY
 *       GETs of PATH as fast as CONCURRENCY connections go, for SECONDS;
 *       prints how many, and how many answered 2xx, 401, 429 or else
 *       (never fails on an answer: it is the abuser of bench/api_abuse.sh).
 *
 * APILOAD_INTERFACE: the local address to send from (curl --interface).
 * URL is the server's base ("http://127.0.0.1:8080"). Exits 1 if any
 * request does not answer 2xx. */
#include <curl/curl.h>
#include <errno.h>
#include <stdbool.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/key.h"
#include "common/timeutil.h"

#define MAX_CONC 256

struct slot {
	CURL *easy;
	char body[256];
	size_t received;
};

static size_t sink(char *p, size_t size, size_t n, void *ud)
{
	size_t *count = ud;

	(void)p;
	*count += size * n;
	return size * n;
}

static unsigned long parse_num(const char *s, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || !*s || *end || v == 0 || v > max) {
		fprintf(stderr, "apiload: bad number %s (1 to %lu)\n", s, max);
		exit(2);
	}
	return v;
}

static void source(CURL *easy)
{
	const char *ifc = getenv("APILOAD_INTERFACE");

	if (ifc && *ifc)
		curl_easy_setopt(easy, CURLOPT_INTERFACE, ifc);
}

static void fill_body(struct slot *s, unsigned long i)
{
	uint8_t k[KEY_LEN];
	char b64[KEY_B64_LEN + 1];

	randombytes_buf(k, sizeof(k));
	key_to_base64(b64, k);
	snprintf(s->body, sizeof(s->body),
		 "{\"public_key\":\"%s\",\"hostname\":\"load-%lu\",\"os\":\"linux\","
		 "\"endpoints\":[{\"source\":\"local\",\"address\":\"192.0.2.%lu:51820\"}]}",
		 b64, i, 1 + i % 250);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
}

static int do_register(const char *url, const char *key, unsigned long count, unsigned long conc)
{
	char full[512], auth[256];
	struct curl_slist *hdrs = NULL;
	struct slot slots[MAX_CONC];
	unsigned long started = 0, done = 0, failed = 0;
	CURLM *multi = curl_multi_init();
	uint64_t t0;
	double secs;

	snprintf(full, sizeof(full), "%s/api/v1/devices", url);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
	hdrs = curl_slist_append(hdrs, auth);
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
	t0 = time_now_ns();
	for (unsigned long i = 0; i < conc && started < count; i++) {
		struct slot *s = &slots[i];
		s->easy = curl_easy_init();
		curl_easy_setopt(s->easy, CURLOPT_URL, full);
		curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, &s->received);
		curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s);
		source(s->easy);
		fill_body(s, started++);
		curl_multi_add_handle(multi, s->easy);
	}
	while (done < count) {
		int running, left;
		CURLMsg *m;

		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &left))) {
			struct slot *s;
			long code = 0;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			if (m->data.result != CURLE_OK || code / 100 != 2) {
				if (failed++ < 5)
					fprintf(stderr, "apiload: registration failed: %s, HTTP %ld\n",
						curl_easy_strerror(m->data.result), code);
			}
			done++;
			curl_multi_remove_handle(multi, s->easy);
			if (started < count) {
				fill_body(s, started++);
				curl_multi_add_handle(multi, s->easy);
			}
		}
		if (done < count)
			curl_multi_poll(multi, NULL, 0, 100, NULL);
	}
	secs = (double)(time_now_ns() - t0) / 1e9;
	printf("registrations: %lu in %.2f s over %lu keep-alive connections: %.0f per second (%lu failed)\n",
	       count, secs, conc, (double)count / secs, failed);
	for (unsigned long i = 0; i < conc && i < count; i++)
		curl_easy_cleanup(slots[i].easy);
	curl_multi_cleanup(multi);
	curl_slist_free_all(hdrs);
	return failed ? 1 : 0;
}

static int do_flood(const char *url, const char *token, const char *path, unsigned long secs,
		    unsigned long conc)
{
	char full[1024], auth[256];
	struct curl_slist *hdrs = NULL;
	CURL *easy[MAX_CONC];
	size_t received = 0;
	unsigned long n = 0, ok = 0, unauth = 0, limited = 0, other = 0;
	CURLM *multi = curl_multi_init();
	uint64_t end = time_now_ns() + secs * 1000000000ULL;

	snprintf(full, sizeof(full), "%s%s", url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdrs = curl_slist_append(hdrs, auth);
	curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)conc);
	for (unsigned long i = 0; i < conc; i++) {
		easy[i] = curl_easy_init();
		curl_easy_setopt(easy[i], CURLOPT_URL, full);
		curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, sink);
		curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &received);
		source(easy[i]);
		curl_multi_add_handle(multi, easy[i]);
	}
	for (;;) {
		int running, left;
		bool more = time_now_ns() < end;
		CURLMsg *m;

		curl_multi_perform(multi, &running);
		while ((m = curl_multi_info_read(multi, &left))) {
			long code = 0;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			n++;
			if (code / 100 == 2)
				ok++;
			else if (code == 401)
				unauth++;
			else if (code == 429)
				limited++;
			else
				other++;
			curl_multi_remove_handle(multi, m->easy_handle);
			if (more)
				curl_multi_add_handle(multi, m->easy_handle);
		}
		if (!more && running == 0)
			break;
		curl_multi_poll(multi, NULL, 0, 50, NULL);
	}
	printf("flood: %lu requests in %lu s (%.0f/s): %lu 2xx, %lu 401, %lu 429, %lu other\n", n, secs,
	       (double)n / (double)secs, ok, unauth, limited, other);
	for (unsigned long i = 0; i < conc; i++)
		curl_easy_cleanup(easy[i]);
	curl_multi_cleanup(multi);
	curl_slist_free_all(hdrs);
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int do_get(const char *url, const char *token, const char *path, unsigned long count)
{
	char full[1024], auth[256];
	struct curl_slist *hdrs = NULL;
	uint64_t *lat = calloc(count, sizeof(*lat));
	size_t received = 0, one = 0;
	CURL *easy = curl_easy_init();
	int failed = 0;

	if (!lat || !easy)
		return 1;
	snprintf(full, sizeof(full), "%s%s", url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdrs = curl_slist_append(hdrs, auth);
	curl_easy_setopt(easy, CURLOPT_URL, full);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, sink);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &received);
	source(easy);
	for (unsigned long i = 0; i < count; i++) {
		uint64_t t = time_now_ns();
		long code = 0;
		CURLcode rc;

		received = 0;
		rc = curl_easy_perform(easy);
		lat[i] = time_now_ns() - t;
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
		if (rc != CURLE_OK || code != 200) {
			fprintf(stderr, "apiload: GET %s: %s, HTTP %ld\n", path, curl_easy_strerror(rc), code);
			failed = 1;
		}
		one = received;
	}
	qsort(lat, count, sizeof(*lat), cmp_u64);
	printf("GET %s: %lu requests, %zu bytes each: min %.1f ms, median %.1f ms, p90 %.1f ms, max %.1f ms\n",
	       path, count, one, (double)lat[0] / 1e6, (double)lat[count / 2] / 1e6,
	       (double)lat[count * 9 / 10] / 1e6, (double)lat[count - 1] / 1e6);
	curl_easy_cleanup(easy);
	curl_slist_free_all(hdrs);
	free(lat);
	return failed;
}

int main(int argc, char **argv)
{
	int rc = 2;

	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	if (argc == 6 && !strcmp(argv[1], "register"))
		rc = do_register(argv[2], argv[3], parse_num(argv[4], 10000000),
				 parse_num(argv[5], MAX_CONC));
	else if (argc == 6 && !strcmp(argv[1], "get"))
		rc = do_get(argv[2], argv[3], argv[4], parse_num(argv[5], 1000000));
	else if (argc == 7 && !strcmp(argv[1], "flood"))
		rc = do_flood(argv[2], argv[3], argv[4], parse_num(argv[5], 3600), parse_num(argv[6], MAX_CONC));
	else
		fprintf(stderr, "usage: apiload register URL KEY COUNT CONCURRENCY\n"
				"       apiload get URL TOKEN PATH COUNT\n"
				"       apiload flood URL TOKEN PATH SECONDS CONCURRENCY\n");
	curl_global_cleanup();
	return rc;
}
