#include "nexd/journal.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "nexd/state.h"
#include "nexd/sysctl.h"

#define JOURNAL_FILE "sysctl-journal.json"
#define JOURNAL_MAX_ENTRIES 64

struct journal {
	char dir[256];
	char *root;
	json_t *entries; /* object: key -> original value */
};

static int save(struct journal *j)
{
	char *text;
	int r;

	if (json_object_size(j->entries) == 0) {
		char path[300];
		snprintf(path, sizeof(path), "%s/%s", j->dir, JOURNAL_FILE);
		if (unlink(path) < 0 && errno != ENOENT)
			return -errno;
		return 0;
	}
	text = json_dumps(j->entries, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	r = state_write_file(j->dir, JOURNAL_FILE, text, strlen(text));
	free(text);
	return r;
}

int journal_open(struct journal **out, const char *state_dir, const char *sysctl_root)
{
	struct journal *j;
	char path[300];
	json_error_t jerr;
	json_t *loaded;

	if (strlen(state_dir) >= sizeof(j->dir))
		return -ENAMETOOLONG;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	strcpy(j->dir, state_dir);
	if (sysctl_root && !(j->root = strdup(sysctl_root))) {
		free(j);
		return -ENOMEM;
	}
	snprintf(path, sizeof(path), "%s/%s", state_dir, JOURNAL_FILE);
	loaded = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (loaded && json_is_object(loaded) && json_object_size(loaded) <= JOURNAL_MAX_ENTRIES) {
		const char *k;
		json_t *v;
		j->entries = json_object();
		json_object_foreach(loaded, k, v) {
			if (json_is_string(v) && strlen(k) <= SYSCTL_KEY_MAX &&
			    strlen(json_string_value(v)) < SYSCTL_VALUE_MAX)
				json_object_set(j->entries, k, v);
		}
		json_decref(loaded);
	} else {
		if (loaded)
			log_warn("journal: %s is malformed; ignoring it", path);
		json_decref(loaded);
		j->entries = json_object();
	}
	if (!j->entries) {
		free(j->root);
		free(j);
		return -ENOMEM;
	}
	*out = j;
	return 0;
}

int journal_sysctl_set(struct journal *j, const char *key, const char *value)
{
	char cur[SYSCTL_VALUE_MAX];
	int r;

	r = sysctl_read(j->root, key, cur, sizeof(cur));
	if (r)
		return r;
	if (!strcmp(cur, value))
		return 0;
	if (!json_object_get(j->entries, key)) {
		if (json_object_size(j->entries) >= JOURNAL_MAX_ENTRIES)
			return -ENOSPC;
		json_object_set_new(j->entries, key, json_string(cur));
		r = save(j);
		if (r) {
			json_object_del(j->entries, key);
			return r;
		}
	}
	r = sysctl_write(j->root, key, value);
	if (r == 0)
		log_info("sysctl %s = %s (was %s)", key, value, cur);
	return r;
}

int journal_restore(struct journal *j)
{
	const char *k;
	json_t *v;
	int n = 0, first_err = 0, r;

	json_object_foreach(j->entries, k, v) {
		r = sysctl_write(j->root, k, json_string_value(v));
		if (r == 0) {
			log_info("sysctl %s restored to %s", k, json_string_value(v));
			n++;
		} else if (r != -ENOENT && !first_err) {
			log_warn("sysctl %s: cannot restore %s: %s", k, json_string_value(v), strerror(-r));
			first_err = r;
		}
	}
	json_object_clear(j->entries);
	r = save(j);
	if (r && !first_err)
		first_err = r;
	return first_err ? first_err : n;
}

void journal_close(struct journal *j)
{
	if (!j)
		return;
	json_decref(j->entries);
	free(j->root);
	free(j);
}
