/* TURN relays: the server list, the secret file, and the credentials (HMAC
 * and base64 from libcrypto). */
#include "nexapi/relay.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/log.h"

int relay_add_server(struct relay_config *rc, const char *uri)
{
	char text[TURN_URI_STRLEN];
	struct turn_uri u;

	if (turn_uri_parse(uri, &u) || turn_uri_format(&u, text, sizeof(text)) < 0)
		return -EINVAL;
	for (size_t i = 0; i < rc->n; i++)
		if (!strcmp(rc->uris[i], text))
			return -EEXIST;
	if (rc->n == RELAY_MAX_SERVERS)
		return -E2BIG;
	memcpy(rc->uris[rc->n++], text, sizeof(text));
	return 0;
}

int relay_secret_load(struct relay_config *rc, const char *path, const char **why)
{
	uint8_t buf[RELAY_SECRET_MAX + 3];
	size_t len = 0;
	struct stat st;
	int fd, err = 0;

	*why = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		*why = "not a regular file";
		err = -EINVAL;
		goto out_close;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		*why = "group or others may read or change it: chmod 600 it";
		err = -EPERM;
		goto out_close;
	}
	while (len < sizeof(buf)) {
		ssize_t n = read(fd, buf + len, sizeof(buf) - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = -errno;
			goto out_wipe;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len && buf[len - 1] == '\n') {
		len--;
		if (len && buf[len - 1] == '\r')
			len--;
	}
	if (len == 0) {
		*why = "empty (the secret is the file's one line)";
		err = -ENODATA;
		goto out_wipe;
	}
	if (len > RELAY_SECRET_MAX) {
		*why = "longer than 1024 bytes";
		err = -EFBIG;
		goto out_wipe;
	}
	if (memchr(buf, 0, len) || memchr(buf, '\n', len) || memchr(buf, '\r', len)) {
		*why = "more than one line, or a NUL byte (the secret is the file's one line)";
		err = -EINVAL;
		goto out_wipe;
	}
	rc->secret = sodium_malloc(len);
	if (!rc->secret) {
		err = -ENOMEM;
		goto out_wipe;
	}
	memcpy(rc->secret, buf, len);
	rc->secret_len = len;
	sodium_mprotect_readonly(rc->secret);
out_wipe:
	sodium_memzero(buf, sizeof(buf));
out_close:
	close(fd);
	return err;
}

void relay_config_clear(struct relay_config *rc)
{
	if (rc->secret)
		sodium_free(rc->secret);   /* wipes it */
	rc->secret = NULL;
	rc->secret_len = 0;
}

int relay_password(const uint8_t *secret, size_t secret_len, const char *username,
		   char out[RELAY_PASSWORD_LEN + 1])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	int err = 0;

	if (!secret || !secret_len || secret_len > RELAY_SECRET_MAX)
		return -EINVAL;
	if (!HMAC(EVP_sha1(), secret, (int)secret_len, (const unsigned char *)username, strlen(username),
		  mac, &mac_len) || mac_len != 20) {
		err = -EIO;
		goto out;
	}
	if (EVP_EncodeBlock((unsigned char *)out, mac, (int)mac_len) != RELAY_PASSWORD_LEN)
		err = -EIO;
out:
	sodium_memzero(mac, sizeof(mac));
	if (err)
		sodium_memzero(out, RELAY_PASSWORD_LEN + 1);
	return err;
}

int relay_credentials(const struct relay_config *rc, const char *device_id, int64_t now,
		      char username[RELAY_USERNAME_MAX + 1], char password[RELAY_PASSWORD_LEN + 1],
		      int64_t *expires_at)
{
	int64_t expiry = now + (int64_t)rc->ttl;
	int n, err;

	n = snprintf(username, RELAY_USERNAME_MAX + 1, "%" PRId64 ":%s", expiry, device_id);
	if (n < 0 || n > RELAY_USERNAME_MAX)
		return -EINVAL;
	if ((err = relay_password(rc->secret, rc->secret_len, username, password)))
		return err;
	*expires_at = expiry;
	return 0;
}
