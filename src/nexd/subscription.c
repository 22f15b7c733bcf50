#include "nexd/subscription.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "nexd/state.h"

#define SUB_FILE "exit-client.json"
#define ACTIVE_MARKER "exit-client.active"

int subscription_save(const char *state_dir, const struct subscription *s)
{
	char prefs[EXIT_PREFS_MAX * EXIT_PREF_LEN];
	char *text = NULL;
	json_t *j;
	int r = -ENOMEM;

	exit_prefs_format(&s->prefs, prefs, sizeof(prefs));
	j = json_pack("{s:b, s:b, s:s, s:b}", "wanted", s->wanted, "pushed", s->pushed, "exit_node", prefs,
		      "failover", s->prefs.failover);
	if (j)
		text = json_dumps(j, JSON_INDENT(2));
	json_decref(j);
	if (text)
		r = state_write_file(state_dir, SUB_FILE, text, strlen(text));
	if (r)
		log_warn("exit client: cannot save the subscription in %s", state_dir);
	free(text);
	return r;
}

void subscription_load(const char *state_dir, const struct nexd_options *o, struct subscription *out)
{
	char path[300];
	json_error_t jerr;
	const char *prefs;
	json_t *j;

	memset(out, 0, sizeof(*out));
	snprintf(path, sizeof(path), "%s/%s", state_dir, SUB_FILE);
	j = json_load_file(path, 0, &jerr);
	if (json_is_object(j)) {
		out->wanted = json_is_true(json_object_get(j, "wanted"));
		out->pushed = json_is_true(json_object_get(j, "pushed"));
		prefs = json_string_value(json_object_get(j, "exit_node"));
		if (prefs && *prefs && exit_prefs_parse(prefs, &out->prefs)) {
			log_warn("exit client: ignoring a malformed exit-node preference in %s", path);
			memset(&out->prefs, 0, sizeof(out->prefs));
		}
		out->prefs.failover = json_is_true(json_object_get(j, "failover"));
	}
	json_decref(j);
	if (o->exit_node_client) {
		struct exit_prefs p = { 0 };

		if (o->exit_node)
			exit_prefs_parse(o->exit_node, &p);
		p.failover = o->failover;
		if (!out->wanted)
			out->pushed = false;
		out->wanted = true;
		out->prefs = p;
		subscription_save(state_dir, out);
	}
}

bool subscription_on_self(struct subscription *s, const struct api_device *self)
{
	if (!s->pushed || self->revision < s->pushed_revision || self->exit_node_client == s->wanted)
		return false;
	s->wanted = self->exit_node_client;
	return true;
}

bool subscription_on_pushed(struct subscription *s, bool wanted, uint64_t rev)
{
	if (s->wanted != wanted || s->pushed)
		return false;
	s->pushed = true;
	s->pushed_revision = rev;
	return true;
}

static void marker_path(const char *state_dir, char *out, size_t len)
{
	snprintf(out, len, "%s/%s", state_dir, ACTIVE_MARKER);
}

bool subscription_marker_exists(const char *state_dir)
{
	char path[300];

	marker_path(state_dir, path, sizeof(path));
	return access(path, F_OK) == 0;
}

void subscription_marker_set(const char *state_dir, bool on)
{
	char path[300];

	marker_path(state_dir, path, sizeof(path));
	if (on)
		state_write_file(state_dir, ACTIVE_MARKER, "1\n", 2);
	else
		unlink(path);
}
