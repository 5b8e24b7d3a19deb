/*
 * Diagnostic log: levels, one line per message to stderr (or a file), and
 * the hooks that route libevent's and our helpers' complaints through it.
 * The access log (one line per session) lives in acct.c.
 */
#ifndef SLUICE_LOG_H
#define SLUICE_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERR = 0,	/* the proxy itself is in trouble */
	LOG_LVL_WARN,		/* resource pressure, refused starts */
	LOG_LVL_INFO,		/* start, stop, one line per notable event */
	LOG_LVL_DEBUG,		/* state transitions */
};

extern enum log_level log_level_current;

void	log_init(enum log_level);
void	log_set_level(enum log_level);
int	log_level_parse(const char *, enum log_level *);
void	log_msg(enum log_level, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_vmsg(enum log_level, const char *, va_list)
	    __attribute__((format(printf, 2, 0)));
#define LOG_TIME_LEN	25	/* 2026-11-21T10:49:00.123Z and NUL */
void	log_format_time(char *, unsigned long, long long, long);

/* the level may change (a reload) while workers log: a relaxed load */
#define log_enabled(lvl)	\
	((lvl) <= __atomic_load_n(&log_level_current, __ATOMIC_RELAXED))
#define log_err(...)		log_msg(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)		log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)							\
	do {								\
		if (log_enabled(LOG_LVL_INFO))				\
			log_msg(LOG_LVL_INFO, __VA_ARGS__);		\
	} while (0)
#define log_debug(...)							\
	do {								\
		if (log_enabled(LOG_LVL_DEBUG))				\
			log_msg(LOG_LVL_DEBUG, __VA_ARGS__);		\
	} while (0)

#endif
