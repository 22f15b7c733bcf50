#include "common/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "common/timeutil.h"

static const char *log_prog = "nexodus";
static enum log_level log_level = LOG_LEVEL_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = { "error", "warn", "info", "debug" };
/* syslog priorities of the levels: err, warning, info, debug */
static const char *const level_prefix[] = { "<3>", "<4>", "<6>", "<7>" };
static bool log_journal;   /* stderr is the journal: <N> prefixes, its own timestamps */

/* systemd sets JOURNAL_STREAM=DEV:INO for the stream it connected to
 * stderr; it counts only while stderr is still that stream. */
static bool stderr_is_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char tail;

	if (!v || sscanf(v, "%llu:%llu%c", &dev, &ino, &tail) != 2 || fstat(2, &st) < 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *prog, enum log_level level)
{
	if (prog)
		log_prog = prog;
	log_level = level;
	log_journal = stderr_is_journal();
}

void log_set_level(enum log_level level) { __atomic_store_n(&log_level, level, __ATOMIC_RELAXED); }
enum log_level log_get_level(void) { return __atomic_load_n(&log_level, __ATOMIC_RELAXED); }

int log_level_parse(const char *s, enum log_level *out)
{
	for (unsigned i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void log_vmsg(enum log_level level, const char *fmt, va_list ap)
{
	char line[1024];
	struct timespec ts;
	struct tm tm;
	int n;

	if (log_journal) {
		n = snprintf(line, sizeof(line), "%s%s: ", level_prefix[level], level_names[level]);
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		gmtime_r(&ts.tv_sec, &tm);
		n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: ",
			     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
			     ts.tv_nsec / 1000000, log_prog, level_names[level]);
	}
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	pthread_mutex_lock(&log_lock);
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
	pthread_mutex_unlock(&log_lock);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	va_list ap;

	if (level > log_get_level())
		return;
	va_start(ap, fmt);
	log_vmsg(level, fmt, ap);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(LOG_LEVEL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

bool log_ratelimit_ok(struct log_ratelimit *rl)
{
	uint64_t now = time_now_ns();
	bool ok = false;

	while (__atomic_exchange_n(&rl->lock, 1, __ATOMIC_ACQUIRE))
		;
	if (rl->last_ns) {
		double add = (double)(now - rl->last_ns) / 1e9 * rl->per_second;
		rl->tokens += add;
		if (rl->tokens > rl->burst)
			rl->tokens = rl->burst;
	}
	rl->last_ns = now;
	if (rl->tokens >= 1.0) {
		rl->tokens -= 1.0;
		ok = true;
	} else {
		rl->suppressed++;
	}
	__atomic_store_n(&rl->lock, 0, __ATOMIC_RELEASE);
	return ok;
}
