#include "nexd/state.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

#define STATE_FILE_MAX 8192

int state_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

int state_write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char tmp[512], final[512];
	int fd, r = 0;

	if ((size_t)snprintf(final, sizeof(final), "%s/%s", dir, name) >= sizeof(final) ||
	    (size_t)snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, name) >= sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return -errno;
	while (len) {
		ssize_t n = write(fd, data, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto err_close;
		}
		data += n;
		len -= (size_t)n;
	}
	if (fsync(fd) < 0) {
		r = -errno;
		goto err_close;
	}
	close(fd);
	if (rename(tmp, final) < 0) {
		r = -errno;
		unlink(tmp);
		return r;
	}
	/* the rename itself survives a power cut only once the directory is synced */
	return state_sync_dir(dir);

err_close:
	close(fd);
	unlink(tmp);
	return r;
}

/* Reads a small file whole; -ENOENT when absent. Refuses files others can read. */
static int read_file(const char *dir, const char *name, char *buf, size_t cap, size_t *len)
{
	char path[512];
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (st.st_mode & 0077) {
		log_warn("state: %s was readable by others (mode %03o); fixing to 0600", path,
			 (unsigned)(st.st_mode & 0777));
		if (fchmod(fd, 0600) < 0) {
			close(fd);
			return -errno;
		}
	}
	while ((n = read(fd, buf + got, cap - 1 - got)) > 0) {
		got += (size_t)n;
		if (got == cap - 1)
			break;
	}
	close(fd);
	if (n < 0)
		return -EIO;
	if (got == cap - 1)
		return -EFBIG;
	buf[got] = 0;
	*len = got;
	return 0;
}

static int load_or_create_key(struct nexd_state *st, char *err, size_t errlen)
{
	char buf[128];
	size_t len;
	int r;

	r = read_file(st->dir, "private.key", buf, sizeof(buf), &len);
	if (r == 0) {
		while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
			buf[--len] = 0;
		r = key_from_base64(st->private_key, buf);
		sodium_memzero(buf, sizeof(buf));
		if (r || key_public_from_private(st->public_key, st->private_key)) {
			snprintf(err, errlen, "%s/private.key is not a valid WireGuard private key", st->dir);
			return -EINVAL;
		}
		return 0;
	}
	if (r != -ENOENT) {
		snprintf(err, errlen, "cannot read %s/private.key: %s", st->dir, strerror(-r));
		return r;
	}
	key_generate(st->private_key, st->public_key);
	{
		char b64[KEY_B64_LEN + 2];
		key_to_base64(b64, st->private_key);
		strcat(b64, "\n");
		r = state_write_file(st->dir, "private.key", b64, strlen(b64));
		sodium_memzero(b64, sizeof(b64));
	}
	if (r) {
		snprintf(err, errlen, "cannot write %s/private.key: %s", st->dir, strerror(-r));
		return r;
	}
	{
		char pub[KEY_B64_LEN + 1];
		key_to_base64(pub, st->public_key);
		log_info("state: created a new key pair, public key %s", pub);
	}
	return 0;
}

static int load_registration(struct nexd_state *st)
{
	char buf[STATE_FILE_MAX];
	json_error_t jerr;
	json_t *root, *id, *tok, *url;
	size_t len;
	int r;

	r = read_file(st->dir, "device.json", buf, sizeof(buf), &len);
	if (r == -ENOENT)
		return 0;
	if (r)
		return r;
	root = json_loadb(buf, len, 0, &jerr);
	sodium_memzero(buf, sizeof(buf));
	id = json_object_get(root, "device_id");
	tok = json_object_get(root, "device_token");
	url = json_object_get(root, "service_url");
	if (!json_is_string(id) || !json_is_string(tok) || !json_is_string(url) ||
	    strlen(json_string_value(id)) >= sizeof(st->device_id) ||
	    strlen(json_string_value(tok)) >= sizeof(st->device_token) ||
	    strlen(json_string_value(url)) >= sizeof(st->service_url)) {
		log_warn("state: %s/device.json is malformed; registering anew", st->dir);
		json_decref(root);
		return 0;
	}
	snprintf(st->device_id, sizeof(st->device_id), "%s", json_string_value(id));
	snprintf(st->device_token, sizeof(st->device_token), "%s", json_string_value(tok));
	snprintf(st->service_url, sizeof(st->service_url), "%s", json_string_value(url));
	json_decref(root);
	return 0;
}

int state_load(struct nexd_state *st, const char *dir, char *err, size_t errlen)
{
	struct stat sb;
	int r;

	memset(st, 0, sizeof(*st));
	if (strlen(dir) >= sizeof(st->dir) - 32) {
		snprintf(err, errlen, "state directory path too long");
		return -ENAMETOOLONG;
	}
	strcpy(st->dir, dir);
	if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		snprintf(err, errlen, "cannot create state directory %s: %s", dir, strerror(errno));
		return r;
	}
	if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "state directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	r = load_or_create_key(st, err, errlen);
	if (r)
		return r;
	r = load_registration(st);
	if (r) {
		snprintf(err, errlen, "cannot read %s/device.json: %s", dir, strerror(-r));
		return r;
	}
	return 0;
}

int state_save_registration(struct nexd_state *st, const char *device_id, const char *device_token,
			    const char *service_url)
{
	json_t *root;
	char *text;
	int r;

	if (strlen(device_id) >= sizeof(st->device_id) || strlen(device_token) >= sizeof(st->device_token) ||
	    strlen(service_url) >= sizeof(st->service_url))
		return -EINVAL;
	root = json_pack("{s:s, s:s, s:s}", "device_id", device_id, "device_token", device_token,
			 "service_url", service_url);
	text = root ? json_dumps(root, JSON_INDENT(2)) : NULL;
	json_decref(root);
	if (!text)
		return -ENOMEM;
	r = state_write_file(st->dir, "device.json", text, strlen(text));
	sodium_memzero(text, strlen(text));
	free(text);
	if (r)
		return r;
	if (st->device_id != device_id)
		snprintf(st->device_id, sizeof(st->device_id), "%s", device_id);
	if (st->device_token != device_token)
		snprintf(st->device_token, sizeof(st->device_token), "%s", device_token);
	if (st->service_url != service_url)
		snprintf(st->service_url, sizeof(st->service_url), "%s", service_url);
	return 0;
}

int state_clear_registration(struct nexd_state *st)
{
	char path[512];

	sodium_memzero(st->device_token, sizeof(st->device_token));
	st->device_id[0] = 0;
	snprintf(path, sizeof(path), "%s/device.json", st->dir);
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return 0;
		return -errno;
	}
	return state_sync_dir(st->dir);
}

void state_wipe(struct nexd_state *st)
{
	sodium_memzero(st->private_key, sizeof(st->private_key));
	sodium_memzero(st->device_token, sizeof(st->device_token));
}
