/* Fuzzes apiclient's parsers of the server's JSON: one device, a device list
 * and a watch answer (nexd trusts what they accept). Checks that whatever is
 * accepted holds to the limits the parser promises. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "apiclient/device.h"

static void check_device(const struct api_device *d)
{
	if (strlen(d->id) != API_UUID_LEN || d->n_endpoints > API_MAX_ENDPOINTS ||
	    d->n_advertise_cidrs > API_MAX_ADVERTISE_CIDRS || !d->hostname[0] ||
	    (d->tunnel_family != AF_INET && d->tunnel_family != AF_INET6))
		abort();
	for (size_t i = 0; i < d->n_advertise_cidrs; i++) {
		if (d->advertise_cidrs[i].prefix > (d->advertise_cidrs[i].family == AF_INET ? 32 : 128))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[API_PARSE_ERROR_MAX];
	struct api_device d;
	struct api_device_list l;
	struct api_watch w;
	json_t *j;

	if (size > (1u << 20))
		return 0;
	j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	if (!j)
		return 0;
	if (api_device_from_json(j, &d, err, sizeof(err)) == 0) {
		check_device(&d);
		api_device_free(&d);
	}
	if (api_device_list_from_json(j, &l, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < l.n_devices; i++)
			check_device(&l.devices[i]);
		api_device_list_free(&l);
	}
	if (api_watch_from_json(j, &w, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < w.n_events; i++) {
			if (w.events[i].revision > w.revision)
				abort();
			check_device(&w.events[i].device);
		}
		api_watch_free(&w);
	}
	/* the time parser alone, on the raw bytes */
	{
		char s[64];
		int64_t t;
		size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;

		memcpy(s, data, n);
		s[n] = '\0';
		if (api_time_parse(s, &t) == 0) {
			char out[API_TIME_STRLEN];
			api_time_format(t, out);
		}
	}
	json_decref(j);
	return 0;
}
