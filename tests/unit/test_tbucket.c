/*
 * Unit tests for the token bucket: proxy/tbucket.c.
 *
 * Tokens are kept in thousandths: the tests check that no fraction of a
 * token is lost or made up at millisecond steps, that the bucket never
 * holds more than its burst, and that a clock going backwards neither
 * refills it nor drives it negative.  The clock is the caller's: every
 * time here is a plain number of milliseconds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>

#include <cmocka.h>

#include "tbucket.h"

#define T0	1000000		/* an arbitrary start, in ms */

/* Empty b at now (everything taken); checks it is empty afterwards. */
static void
drain(struct tbucket *b, int64_t now)
{
	int64_t had = tbucket_avail(b, now);

	assert_int_equal(tbucket_take(b, had, now), had);
	assert_int_equal(tbucket_avail(b, now), 0);
	assert_int_equal(tbucket_take(b, 1, now), 0);
}

static void
test_init_full(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 10, 20, T0);
	assert_int_equal(b.rate, 10);
	assert_int_equal(b.burst, 20);
	assert_int_equal(b.tokens, 20 * 1000);
	assert_int_equal(b.last, T0);
	assert_int_equal(tbucket_avail(&b, T0), 20);
	assert_int_equal(tbucket_wait_ms(&b, 20, T0), 0);

	/* burst 0 (or less): one second's worth */
	tbucket_init(&b, 7, 0, T0);
	assert_int_equal(b.burst, 7);
	assert_int_equal(tbucket_avail(&b, T0), 7);
	tbucket_init(&b, 7, -3, T0);
	assert_int_equal(b.burst, 7);
	assert_int_equal(tbucket_avail(&b, T0), 7);

	/* init again: full again, whatever it held */
	drain(&b, T0);
	tbucket_init(&b, 5, 9, T0 + 1);
	assert_int_equal(tbucket_avail(&b, T0 + 1), 9);
	assert_int_equal(b.last, T0 + 1);
}

static void
test_take_gives_what_is_there(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 10, 20, T0);
	assert_int_equal(tbucket_take(&b, 0, T0), 0);
	assert_int_equal(tbucket_avail(&b, T0), 20);
	assert_int_equal(tbucket_take(&b, 5, T0), 5);
	assert_int_equal(tbucket_avail(&b, T0), 15);
	assert_int_equal(tbucket_take(&b, 100, T0), 15);
	assert_int_equal(tbucket_avail(&b, T0), 0);
	assert_int_equal(tbucket_take(&b, 1, T0), 0);
	assert_int_equal(tbucket_take(&b, 100, T0), 0);
	assert_int_equal(b.tokens, 0);
	/* 10/s: one token every 100 ms */
	assert_int_equal(tbucket_take(&b, 100, T0 + 99), 0);
	assert_int_equal(tbucket_take(&b, 100, T0 + 100), 1);
	assert_int_equal(tbucket_take(&b, 100, T0 + 350), 2);
	/* the half token of 300..350 was kept */
	assert_int_equal(tbucket_take(&b, 100, T0 + 399), 0);
	assert_int_equal(tbucket_take(&b, 100, T0 + 400), 1);
}

/* rate 1000/s: one more token every millisecond, exactly */
static void
test_refill_per_ms(void **state)
{
	struct tbucket b;
	int64_t t, got = 0;

	(void)state;
	tbucket_init(&b, 1000, 1000, T0);
	drain(&b, T0);
	assert_int_equal(tbucket_avail(&b, T0 + 1), 1);
	assert_int_equal(tbucket_avail(&b, T0 + 1), 1);	/* no double count */
	assert_int_equal(tbucket_avail(&b, T0 + 2), 2);
	assert_int_equal(tbucket_take(&b, 5, T0 + 2), 2);
	for (t = T0 + 3; t <= T0 + 1002; t++) {
		assert_int_equal(tbucket_take(&b, 1000, t), 1);
		got++;
	}
	assert_int_equal(got, 1000);
	assert_int_equal(tbucket_avail(&b, T0 + 1002), 0);
	/* 250 ms later: 250 tokens */
	assert_int_equal(tbucket_avail(&b, T0 + 1252), 250);
}

/* rate 1/s: nothing until the second is over */
static void
test_slow_rate_one(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 1, 1, T0);
	assert_int_equal(tbucket_take(&b, 1, T0), 1);
	assert_int_equal(tbucket_avail(&b, T0 + 1), 0);
	assert_int_equal(tbucket_avail(&b, T0 + 999), 0);
	assert_int_equal(tbucket_wait_ms(&b, 1, T0 + 999), 1);
	assert_int_equal(tbucket_avail(&b, T0 + 1000), 1);
	assert_int_equal(tbucket_wait_ms(&b, 1, T0 + 1000), 0);
	/* burst 1: an hour later still one */
	assert_int_equal(tbucket_avail(&b, T0 + 3600 * 1000), 1);
	assert_int_equal(tbucket_take(&b, 2, T0 + 3600 * 1000), 1);
	assert_int_equal(tbucket_take(&b, 1, T0 + 3600 * 1000 + 999), 0);
	assert_int_equal(tbucket_take(&b, 1, T0 + 3600 * 1000 + 1000), 1);
}

/* rate 3/s: 333 ms is not a token, 334 ms is; no fraction is lost */
static void
test_slow_rate_three(void **state)
{
	struct tbucket b;
	int64_t t, got = 0;

	(void)state;
	tbucket_init(&b, 3, 3, T0);
	drain(&b, T0);
	assert_int_equal(tbucket_avail(&b, T0 + 333), 0);
	assert_int_equal(tbucket_avail(&b, T0 + 334), 1);
	assert_int_equal(tbucket_avail(&b, T0 + 666), 1);
	assert_int_equal(tbucket_avail(&b, T0 + 667), 2);
	assert_int_equal(tbucket_avail(&b, T0 + 1000), 3);
	drain(&b, T0 + 1000);

	/* polled every millisecond for 10 s: exactly 30 tokens */
	for (t = T0 + 1001; t <= T0 + 11000; t++)
		got += tbucket_take(&b, 1, t);
	assert_int_equal(got, 30);
	assert_int_equal(tbucket_avail(&b, T0 + 11000), 0);

	/* polled at uneven steps: still 3 per second */
	got = 0;
	for (t = T0 + 11007; t <= T0 + 21000; t += 7)
		got += tbucket_take(&b, 100, t);
	got += tbucket_take(&b, 100, T0 + 21000);
	assert_int_equal(got, 30);
}

static void
test_burst_cap(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 100, 50, T0);
	drain(&b, T0);
	assert_int_equal(tbucket_avail(&b, T0 + 100), 10);
	assert_int_equal(tbucket_avail(&b, T0 + 500), 50);
	assert_int_equal(tbucket_avail(&b, T0 + 501), 50);
	assert_int_equal(tbucket_avail(&b, T0 + 60 * 1000), 50);
	assert_int_equal(b.tokens, 50 * 1000);
	/* what was capped is gone: after taking all, 10 ms is one token */
	assert_int_equal(tbucket_take(&b, 1000, T0 + 60 * 1000), 50);
	assert_int_equal(tbucket_avail(&b, T0 + 60 * 1000 + 9), 0);
	assert_int_equal(tbucket_avail(&b, T0 + 60 * 1000 + 10), 1);

	/* a burst larger than a second's worth fills over longer */
	tbucket_init(&b, 10, 100, T0);
	drain(&b, T0);
	assert_int_equal(tbucket_avail(&b, T0 + 5000), 50);
	assert_int_equal(tbucket_avail(&b, T0 + 10000), 100);
	assert_int_equal(tbucket_avail(&b, T0 + 20000), 100);
}

/* bytes per second at 1 GB/s: no overflow in milli-tokens */
static void
test_large_rate(void **state)
{
	struct tbucket b;
	const int64_t g = 1000000000;

	(void)state;
	tbucket_init(&b, g, g, T0);
	assert_int_equal(tbucket_avail(&b, T0), g);
	assert_int_equal(tbucket_take(&b, INT64_MAX / 2000, T0), g);
	assert_int_equal(tbucket_avail(&b, T0 + 1), g / 1000);
	assert_int_equal(tbucket_take(&b, 1, T0 + 1), 1);
	assert_int_equal(tbucket_avail(&b, T0 + 1), g / 1000 - 1);
	assert_int_equal(tbucket_avail(&b, T0 + 500), g / 2 - 1);
	assert_int_equal(tbucket_avail(&b, T0 + 1001), g);
	assert_int_equal(tbucket_avail(&b, T0 + 3600 * 1000), g);
	/* a day and a week idle */
	assert_int_equal(tbucket_avail(&b, T0 + 86400LL * 1000), g);
	assert_int_equal(tbucket_avail(&b, T0 + 7 * 86400LL * 1000), g);
	drain(&b, T0 + 7 * 86400LL * 1000);
	assert_int_equal(tbucket_wait_ms(&b, g, T0 + 7 * 86400LL * 1000),
	    1000);
	assert_int_equal(tbucket_wait_ms(&b, 1, T0 + 7 * 86400LL * 1000), 1);
	assert_int_equal(tbucket_wait_ms(&b, g / 1000 + 1,
	    T0 + 7 * 86400LL * 1000), 2);

	/* 10 GB/s with a 10 GB burst */
	tbucket_init(&b, 10 * g, 10 * g, T0);
	drain(&b, T0);
	assert_int_equal(tbucket_avail(&b, T0 + 1), 10 * g / 1000);
	assert_int_equal(tbucket_avail(&b, T0 + 24 * 3600 * 1000LL), 10 * g);
}

/* The clock going backwards: no refill, never negative. */
static void
test_time_backwards(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 1000, 1000, T0);
	drain(&b, T0 + 5000);
	assert_int_equal(b.last, T0 + 5000);
	assert_int_equal(tbucket_avail(&b, T0 + 4000), 0);
	assert_int_equal(tbucket_take(&b, 10, T0 + 4000), 0);
	assert_int_equal(tbucket_avail(&b, 0), 0);
	assert_int_equal(tbucket_take(&b, 10, -1000000), 0);
	assert_true(b.tokens >= 0);
	/* the refill is measured from the latest time seen */
	assert_int_equal(b.last, T0 + 5000);
	assert_int_equal(tbucket_avail(&b, T0 + 5001), 1);
	assert_int_equal(tbucket_avail(&b, T0 + 5010), 10);

	/* tokens held are still there at an earlier time */
	tbucket_init(&b, 10, 10, T0 + 10000);
	assert_int_equal(tbucket_take(&b, 4, T0 + 9000), 4);
	assert_int_equal(tbucket_avail(&b, T0 + 9000), 6);
	assert_int_equal(tbucket_avail(&b, T0 + 10000), 6);
	assert_int_equal(tbucket_avail(&b, T0 + 10100), 7);
	assert_true(b.tokens >= 0);
}

/*
 * tbucket_wait_ms() agrees with tbucket_take(): when the tokens are there
 * (take would give them), the wait is 0, even at a time before the last
 * refill (a clock that stepped back).
 */
static void
test_wait_time_backwards(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 10, 10, T0 + 10000);
	/* full: take(1) at T0 + 9000 gives 1, so there is nothing to wait */
	assert_int_equal(tbucket_avail(&b, T0 + 9000), 10);
	assert_int_equal(tbucket_wait_ms(&b, 1, T0 + 9000), 0);
	assert_int_equal(tbucket_wait_ms(&b, 10, T0 + 9999), 0);
	/* empty: the wait is counted from the last refill, not from now */
	drain(&b, T0 + 10000);
	assert_int_equal(tbucket_wait_ms(&b, 1, T0 + 10000), 100);
	assert_true(tbucket_wait_ms(&b, 1, T0 + 9000) >= 100);
	assert_true(tbucket_wait_ms(&b, 1, T0 + 9000) <= 1100);
}

/* Idle for a long time: full, and nothing to wait, whatever the rate. */
static void
test_long_idle(void **state)
{
	struct tbucket b;
	const int64_t g = 1000000000;
	const int64_t year = 365LL * 86400 * 1000;

	(void)state;
	tbucket_init(&b, 3, 3, T0);
	drain(&b, T0);
	assert_int_equal(tbucket_wait_ms(&b, 3, T0 + year), 0);
	assert_int_equal(tbucket_avail(&b, T0 + year), 3);
	assert_int_equal(b.tokens, 3000);

	/* a user at 1 GB/s who comes back after a year */
	tbucket_init(&b, g, g, T0);
	drain(&b, T0);
	assert_int_equal(tbucket_wait_ms(&b, 1, T0 + 3600 * 1000), 0);
	assert_int_equal(tbucket_wait_ms(&b, g, T0 + year), 0);
	assert_int_equal(tbucket_wait_ms(&b, 1, T0 + year), 0);
	assert_int_equal(tbucket_avail(&b, T0 + year), g);
	assert_int_equal(tbucket_take(&b, 2 * g, T0 + year), g);
}

static void
test_wait_ms(void **state)
{
	struct tbucket b;
	int64_t w;
	int n;

	(void)state;
	tbucket_init(&b, 1000, 1000, T0);
	drain(&b, T0);
	assert_int_equal(tbucket_wait_ms(&b, 0, T0), 0);
	assert_int_equal(tbucket_wait_ms(&b, 1, T0), 1);
	assert_int_equal(tbucket_wait_ms(&b, 10, T0), 10);
	assert_int_equal(tbucket_wait_ms(&b, 1000, T0), 1000);
	/* n is capped at burst: it could never be more */
	assert_int_equal(tbucket_wait_ms(&b, 5000, T0), 1000);
	/* wait_ms does not change the bucket, and counts from now */
	assert_int_equal(tbucket_wait_ms(&b, 10, T0 + 4), 6);
	assert_int_equal(b.last, T0);
	assert_int_equal(b.tokens, 0);
	assert_int_equal(tbucket_wait_ms(&b, 10, T0 + 10), 0);
	assert_int_equal(tbucket_wait_ms(&b, 10, T0 + 11), 0);

	/* 3/s: a token in 334 ms (333 is 999 thousandths) */
	tbucket_init(&b, 3, 3, T0);
	drain(&b, T0);
	assert_int_equal(tbucket_wait_ms(&b, 1, T0), 334);
	assert_int_equal(tbucket_wait_ms(&b, 2, T0), 667);
	assert_int_equal(tbucket_wait_ms(&b, 3, T0), 1000);
	assert_int_equal(tbucket_wait_ms(&b, 9, T0), 1000);

	/* 1/s with a burst of 5 */
	tbucket_init(&b, 1, 5, T0);
	drain(&b, T0);
	assert_int_equal(tbucket_wait_ms(&b, 100, T0), 5000);
	assert_int_equal(tbucket_wait_ms(&b, 1, T0 + 250), 750);

	/* for every rate and n: after the wait, take(n) gives n; a
	   millisecond earlier it would not have */
	for (n = 1; n <= 7; n++) {
		static const int64_t rates[] = { 1, 2, 3, 7, 13, 333, 999,
		    1000, 1001, 65536 };
		size_t i;

		for (i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
			tbucket_init(&b, rates[i], 7, T0);
			drain(&b, T0);
			w = tbucket_wait_ms(&b, n, T0);
			assert_true(w > 0);
			if (w > 1 && tbucket_avail(&b, T0 + w - 1) >= n)
				fail_msg("rate %lld n %d: %lld ms is too long",
				    (long long)rates[i], n, (long long)w);
			if (tbucket_take(&b, n, T0 + w) != n)
				fail_msg("rate %lld n %d: not there after "
				    "%lld ms", (long long)rates[i], n,
				    (long long)w);
		}
	}
}

/* rate 0: no limit at all */
static void
test_unlimited(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 0, 0, T0);
	assert_int_equal(tbucket_take(&b, 1, T0), 1);
	assert_int_equal(tbucket_take(&b, 1000000000000LL, T0),
	    1000000000000LL);
	assert_int_equal(tbucket_take(&b, INT64_MAX, T0), INT64_MAX);
	assert_int_equal(tbucket_avail(&b, T0), INT64_MAX);
	assert_int_equal(tbucket_avail(&b, T0 - 5000), INT64_MAX);
	assert_int_equal(tbucket_wait_ms(&b, 1, T0), 0);
	assert_int_equal(tbucket_wait_ms(&b, INT64_MAX, T0), 0);
	assert_int_equal(tbucket_wait_ms(&b, 1, 0), 0);
	/* a burst does not limit an unlimited bucket */
	tbucket_init(&b, 0, 10, T0);
	assert_int_equal(tbucket_take(&b, 11, T0), 11);
	assert_int_equal(tbucket_take(&b, 11, T0), 11);
	assert_int_equal(tbucket_avail(&b, T0), INT64_MAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_full),
		cmocka_unit_test(test_take_gives_what_is_there),
		cmocka_unit_test(test_refill_per_ms),
		cmocka_unit_test(test_slow_rate_one),
		cmocka_unit_test(test_slow_rate_three),
		cmocka_unit_test(test_burst_cap),
		cmocka_unit_test(test_large_rate),
		cmocka_unit_test(test_time_backwards),
		cmocka_unit_test(test_wait_time_backwards),
		cmocka_unit_test(test_wait_ms),
		cmocka_unit_test(test_unlimited),
		/* last: UBSan stops the run at its overflow */
		cmocka_unit_test(test_long_idle),
	};

	return cmocka_run_group_tests_name("tbucket", tests, NULL, NULL);
}
