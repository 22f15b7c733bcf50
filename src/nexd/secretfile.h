/* Secrets from files (nexd --reg-key-file): the first line of a regular
 * file that only its owner may read. */
#ifndef NEXD_SECRETFILE_H
#define NEXD_SECRETFILE_H

#include <stddef.h>

/* The first line of path (without its newline) into out (cap bytes). 0,
 * or a negative errno with err saying why: not a regular file, readable
 * or writable by group or others (-EPERM), empty or too long (-EINVAL). */
int secret_file_read(const char *path, char *out, size_t cap, char *err, size_t errlen);

#endif
