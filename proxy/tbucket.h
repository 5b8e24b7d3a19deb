/*
 * A token bucket for byte rates (user_bandwidth, conn_bandwidth) and
 * connection rates (rate_per_client): tokens accrue at rate per second up
 * to burst; taking spends them.  Pure: the caller passes the time (ms).
 */
#ifndef SLUICE_TBUCKET_H
#define SLUICE_TBUCKET_H

#include <stdint.h>

struct tbucket {
	int64_t		rate;		/* tokens per second; 0: unlimited */
	int64_t		burst;		/* most tokens it holds */
	int64_t		tokens;		/* scaled by 1000 (milli-tokens) */
	int64_t		last;		/* ms of the last refill */
};

void	tbucket_init(struct tbucket *, int64_t, int64_t, int64_t);
int64_t	tbucket_take(struct tbucket *, int64_t, int64_t);
int64_t	tbucket_avail(struct tbucket *, int64_t);
int64_t	tbucket_wait_ms(const struct tbucket *, int64_t, int64_t);
int64_t	tbucket_allow(struct tbucket **, int, int64_t, int64_t, int64_t *);
void	tbucket_spend(struct tbucket **, int, int64_t, int64_t);

#endif
