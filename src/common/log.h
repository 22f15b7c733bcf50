/* One logging module for every program: levels, a program tag, stderr or
 * syslog-less plain lines, and a rate limiter for the packet path. Secrets
 * are never passed to these functions. */
#ifndef COMMON_LOG_H
#define COMMON_LOG_H

#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_ERROR = 0, LOG_LEVEL_WARN, LOG_LEVEL_INFO, LOG_LEVEL_DEBUG };

/* Program name shown on every line, and the most verbose level printed. */
void log_init(const char *prog, enum log_level level);
void log_set_level(enum log_level level);
enum log_level log_get_level(void);
/* Parses "error", "warn", "info", "debug"; -EINVAL otherwise. */
int log_level_parse(const char *s, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) do { if (log_get_level() >= LOG_LEVEL_DEBUG) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__); } while (0)

/* Logs at error level and exits with status 1. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* A token bucket for log lines on hot paths: at most `burst` lines, refilled
 * at `per_second`. Returns true when a line may be printed. Thread-safe. */
struct log_ratelimit {
	uint64_t last_ns;
	double tokens;
	unsigned per_second, burst;
	uint64_t suppressed;
	int lock; /* spin flag */
};
#define LOG_RATELIMIT_INIT(ps, b) { 0, (double)(b), (ps), (b), 0, 0 }
bool log_ratelimit_ok(struct log_ratelimit *rl);

#endif
