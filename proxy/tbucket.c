/*
 * Token buckets: see tbucket.h.  Tokens are kept in thousandths so that
 * slow rates (a few per second) refill smoothly at millisecond steps.
 */
#include <stddef.h>

#include "tbucket.h"

/*
 * rate per second (0: unlimited), at most burst (at least one second's
 * worth is sensible), full at now.
 */
void
tbucket_init(struct tbucket *b, int64_t rate, int64_t burst, int64_t now)
{
	b->rate = rate;
	b->burst = burst > 0 ? burst : rate;
	b->tokens = b->burst * 1000;
	b->last = now;
}

static void
refill(struct tbucket *b, int64_t now)
{
	int64_t dt = now - b->last;

	if (dt <= 0)
		return;
	b->last = now;
	if (dt > 3600 * 1000)
		dt = 3600 * 1000;
	b->tokens += dt * b->rate;
	if (b->tokens > b->burst * 1000)
		b->tokens = b->burst * 1000;
}

/*
 * Whole tokens available at now.
 */
int64_t
tbucket_avail(struct tbucket *b, int64_t now)
{
	if (b->rate == 0)
		return INT64_MAX;
	refill(b, now);
	return b->tokens / 1000;
}

/*
 * Take up to want tokens at now; returns how many were taken (0 when the
 * bucket is empty).  An unlimited bucket gives everything.
 */
int64_t
tbucket_take(struct tbucket *b, int64_t want, int64_t now)
{
	int64_t have;

	if (b->rate == 0)
		return want;
	refill(b, now);
	have = b->tokens / 1000;
	if (want > have)
		want = have;
	b->tokens -= want * 1000;
	return want;
}

/*
 * Milliseconds from now until n tokens are there (0 when they are).
 */
int64_t
tbucket_wait_ms(const struct tbucket *b, int64_t n, int64_t now)
{
	int64_t have, need, dt = now - b->last;

	if (b->rate == 0)
		return 0;
	if (n > b->burst)
		n = b->burst;
	/* as refill() counts it: never backwards, at most an hour */
	if (dt < 0)
		dt = 0;
	if (dt > 3600 * 1000)
		dt = 3600 * 1000;
	have = b->tokens + dt * b->rate;
	if (have > b->burst * 1000)
		have = b->burst * 1000;
	need = n * 1000 - have;
	if (need <= 0)
		return 0;
	return (need + b->rate - 1) / b->rate;
}

/*
 * Several buckets limiting one flow (the connection's and the user's):
 * how many of want bytes may go now.  0 when a bucket is too low to be
 * worth using (below min(burst / 8, 16 KiB): trickling a few bytes per
 * wake-up costs more than it moves); then *wait_ms says when to look
 * again.  NULL entries and unlimited buckets are skipped.
 */
int64_t
tbucket_allow(struct tbucket **b, int n, int64_t want, int64_t now,
    int64_t *wait_ms)
{
	int64_t avail, min, w;
	int i;

	*wait_ms = 0;
	for (i = 0; i < n; i++) {
		if (b[i] == NULL || b[i]->rate == 0)
			continue;
		avail = tbucket_avail(b[i], now);
		min = b[i]->burst / 8 < 16384 ? b[i]->burst / 8 : 16384;
		if (min < 1)
			min = 1;
		if (avail < min) {
			w = tbucket_wait_ms(b[i], min, now);
			if (w < 1)
				w = 1;
			if (w > *wait_ms)
				*wait_ms = w;
			want = 0;
		} else if (avail < want)
			want = avail;
	}
	return want;
}

/*
 * Spend n tokens from each bucket (after moving n bytes).
 */
void
tbucket_spend(struct tbucket **b, int n, int64_t amount, int64_t now)
{
	int i;

	for (i = 0; i < n; i++)
		if (b[i] != NULL && b[i]->rate > 0)
			tbucket_take(b[i], amount, now);
}
