/*
 * The one clock the proxy reads for timeouts, TTLs and durations:
 * CLOCK_MONOTONIC in milliseconds (a vDSO call, no syscall).  Wall-clock
 * time only appears in log lines.
 */
#ifndef SLUICE_CLOCK_H
#define SLUICE_CLOCK_H

#include <sys/time.h>

#include <stdint.h>
#include <time.h>

static inline int64_t
clock_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ms from now (a negative one: now) as libevent's timers take it. */
static inline struct timeval
clock_tv(int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	return tv;
}

#endif
