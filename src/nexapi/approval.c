#include "nexapi/approval.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

/* Bounds the work on a stored list (the API accepts at most 64). */
#define APPROVAL_MAX 1024

/* Parses a JSON array of strings (NULL: an absent list, *out NULL). */
static int load(const char *text, json_t **out)
{
	json_t *a, *v;
	size_t i;

	*out = NULL;
	if (!text)
		return 0;
	a = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(a) || json_array_size(a) > APPROVAL_MAX) {
		json_decref(a);
		return -EIO;
	}
	json_array_foreach(a, i, v) {
		if (!json_is_string(v)) {
			json_decref(a);
			return -EIO;
		}
	}
	*out = a;
	return 0;
}

static bool has(const json_t *a, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(a, i, v)
		if (!strcmp(json_string_value(v), s))
			return true;
	return false;
}

enum op { OP_FOLLOW, OP_ADD, OP_REMOVE };

static int compute(enum op op, const char *approved_text, const char *advertised_text,
		   const char *given_text, bool all, char bad[ADDR_CIDR_STRLEN], char **out)
{
	json_t *approved = NULL, *advertised = NULL, *given = NULL, *res = NULL, *v;
	size_t i;
	int err;

	if ((err = load(approved_text, &approved)) || (err = load(advertised_text, &advertised)) ||
	    (err = load(given_text, &given)))
		goto out;
	if (!approved || !advertised) {
		err = -EIO;
		goto out;
	}
	if (op == OP_ADD && given) {
		json_array_foreach(given, i, v) {
			if (!has(advertised, json_string_value(v))) {
				if (bad)
					snprintf(bad, ADDR_CIDR_STRLEN, "%s", json_string_value(v));
				err = -EINVAL;
				goto out;
			}
		}
	}
	err = -ENOMEM;
	if (!(res = json_array()))
		goto out;
	json_array_foreach(advertised, i, v) {
		const char *c = json_string_value(v);
		bool keep;

		switch (op) {
		case OP_FOLLOW:
			keep = all || has(approved, c);
			break;
		case OP_ADD:
			keep = !given || has(approved, c) || has(given, c);
			break;
		default:
			keep = given && has(approved, c) && !has(given, c);
			break;
		}
		if (keep && !has(res, c) && json_array_append(res, v))
			goto out;
	}
	*out = json_dumps(res, JSON_COMPACT);
	err = *out ? 0 : -ENOMEM;
out:
	json_decref(approved);
	json_decref(advertised);
	json_decref(given);
	json_decref(res);
	return err;
}

int approval_follow(const char *approved, const char *advertised, bool automatic, char **out)
{
	return compute(OP_FOLLOW, approved, advertised, NULL, automatic, NULL, out);
}

int approval_add(const char *approved, const char *advertised, const char *given,
		 char bad[ADDR_CIDR_STRLEN], char **out)
{
	return compute(OP_ADD, approved, advertised, given, false, bad, out);
}

int approval_remove(const char *approved, const char *advertised, const char *given, char **out)
{
	return compute(OP_REMOVE, approved, advertised, given, false, NULL, out);
}
