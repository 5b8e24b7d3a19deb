/*
 * Diagnostic log.  Lines are "TIME LEVEL: message" on stderr, written with
 * one write(2) each so that lines from several threads never interleave.
 * This log is for the operator; it is not on the hot path (sessions are
 * accounted in acct.c, which batches).
 */
#include <sys/time.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

enum log_level log_level_current = LOG_LVL_INFO;

static const char *const level_names[] = {
	"error", "warn", "info", "debug",
};

static void
log_libevent_cb(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_ERR:
		log_msg(LOG_LVL_ERR, "libevent: %s", msg);
		break;
	case EVENT_LOG_WARN:
		log_msg(LOG_LVL_WARN, "libevent: %s", msg);
		break;
	default:
		log_debug("libevent: %s", msg);
		break;
	}
}

/*
 * Set the level and route libevent's own messages here.
 */
void
log_init(enum log_level lvl)
{
	__atomic_store_n(&log_level_current, lvl, __ATOMIC_RELAXED);
	event_set_log_callback(log_libevent_cb);
}

void
log_set_level(enum log_level lvl)
{
	__atomic_store_n(&log_level_current, lvl, __ATOMIC_RELAXED);
}

/*
 * "error", "warn" (or "warning"), "info", "debug" -> level.  Returns 0, or
 * -1 for an unknown name.
 */
int
log_level_parse(const char *s, enum log_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	if (strcasecmp(s, "warning") == 0) {
		*out = LOG_LVL_WARN;
		return 0;
	}
	return -1;
}

/*
 * ISO 8601 UTC with milliseconds: 2026-11-21T10:49:00.123Z (24 bytes and
 * the NUL; shorter buffers get "").  Called for every access-log line, so
 * the part up to the seconds is kept per thread and redone only when the
 * second changes: no gmtime_r() or printf on the hot path.
 */
void
log_format_time(char *buf, unsigned long len, long long sec, long usec)
{
	static _Thread_local long long cached_sec = -1;
	static _Thread_local char cached[20];	/* 2026-11-21T10:49:00 */
	long ms = usec / 1000;
	struct tm tm;
	time_t t = (time_t)sec;

	if (len < LOG_TIME_LEN) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	if (sec != cached_sec) {
		gmtime_r(&t, &tm);
		snprintf(cached, sizeof(cached), "%04u-%02u-%02uT%02u:%02u:%02u",
		    (unsigned)(tm.tm_year + 1900) % 10000,
		    (unsigned)(tm.tm_mon + 1) % 100, (unsigned)tm.tm_mday % 100,
		    (unsigned)tm.tm_hour % 100, (unsigned)tm.tm_min % 100,
		    (unsigned)tm.tm_sec % 100);
		cached_sec = sec;
	}
	if (ms < 0 || ms > 999)
		ms = 0;
	memcpy(buf, cached, 19);
	buf[19] = '.';
	buf[20] = (char)('0' + ms / 100);
	buf[21] = (char)('0' + ms / 10 % 10);
	buf[22] = (char)('0' + ms % 10);
	buf[23] = 'Z';
	buf[24] = '\0';
}

void
log_vmsg(enum log_level lvl, const char *fmt, va_list ap)
{
	char line[2048], ts[32];
	struct timeval tv;
	int n, m, saved = errno;

	if (!log_enabled(lvl))
		return;
	gettimeofday(&tv, NULL);
	log_format_time(ts, sizeof(ts), tv.tv_sec, tv.tv_usec);
	n = snprintf(line, sizeof(line), "%s %s: ", ts, level_names[lvl]);
	m = vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	if (m < 0)
		m = 0;
	n += m;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	/* one write per line: a short or failed write of a log is dropped */
	if (write(STDERR_FILENO, line, (size_t)n) == -1)
		(void)0;
	errno = saved;
}

/*
 * Log one line at the level (printf format).  errno is preserved.
 */
void
log_msg(enum log_level lvl, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(lvl, fmt, ap);
	va_end(ap);
}
