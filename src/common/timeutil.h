/* Clocks. Monotonic time includes suspend (CLOCK_BOOTTIME), as WireGuard's
 * timers want. */
#ifndef COMMON_TIMEUTIL_H
#define COMMON_TIMEUTIL_H

#include <stdint.h>
#include <time.h>

#define NSEC_PER_SEC 1000000000ULL
#define NSEC_PER_MSEC 1000000ULL

uint64_t time_now_ns(void);      /* CLOCK_BOOTTIME */
uint64_t time_wall_ns(void);     /* CLOCK_REALTIME */
void time_sleep_ns(uint64_t ns);
/* An absolute deadline ms from now on clock (for pthread_cond_timedwait). */
void time_deadline(struct timespec *ts, clockid_t clock, unsigned ms);

/* Parses a duration such as "90s", "15m", "24h", "7d" or a plain number of
 * seconds into seconds; -EINVAL on anything else, -ERANGE past max_s. */
int time_parse_duration(const char *s, uint64_t max_s, uint64_t *out_s);

#endif
