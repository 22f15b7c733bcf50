/* Socket I/O shared by both ends of the control protocol. */
#ifndef CONTROL_IO_H
#define CONTROL_IO_H

#include <stddef.h>

/* Writes all of buf within CONTROL_IO_TIMEOUT_MS, giving up silently on
 * errors (the other end went away). */
void control_write_all(int fd, const char *buf, size_t len);

#endif
