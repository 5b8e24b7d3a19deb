/*
 * Unit tests for accounting: proxy/acct.c.  The per-client concurrency
 * table, and the access log written to a temporary file.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <event2/event.h>

#include "acct.h"
#include "iptable.h"
#include "auth.h"
#include "clock.h"
#include "conf.h"
#include "log.h"
#include "netaddr.h"

#define LINE_MAX_BYTES	1024		/* acct.c's LOG_LINE_MAX */

/* 2024-01-02T03:04:05.678Z */
#define T_SEC		1704164645LL
#define T_USEC		678901L
#define T_STR		"2024-01-02T03:04:05.678Z"

static union sockaddr_u
addr_of(const char *s)
{
	union sockaddr_u a;

	if (netaddr_parse_hostport(s, &a, 0) != 0)
		fail_msg("test address \"%s\" does not parse", s);
	return a;
}

/* ----- per-client table ----------------------------------------------- */

#define NOW		5000000LL	/* ms, an arbitrary monotonic time */
#define IDLE_MS		(10 * 60 * 1000)	/* acct.c's CLIENT_IDLE_MS */

/* The entry's counters, all at once. */
static void
check_client(const struct acct_client *c, int active, uint64_t sessions,
    uint64_t up, uint64_t down, int64_t last)
{
	assert_non_null(c);
	if (c->active != active || c->sessions != sessions ||
	    c->bytes_up != up || c->bytes_down != down || c->last != last)
		fail_msg("active %d sessions %llu up %llu down %llu last %lld, "
		    "want %d %llu %llu %llu %lld", c->active,
		    (unsigned long long)c->sessions,
		    (unsigned long long)c->bytes_up,
		    (unsigned long long)c->bytes_down, (long long)c->last,
		    active, (unsigned long long)sessions,
		    (unsigned long long)up, (unsigned long long)down,
		    (long long)last);
}

/* acct_client_acquire() must refuse with errno e. */
static void
check_refused(struct iptable *t, const union sockaddr_u *a, int limit,
    int rate, int64_t now, int e)
{
	struct acct_client *c;

	errno = 0;
	c = acct_client_acquire(t, a, limit, rate, now);
	if (c != NULL)
		fail_msg("acquired (active %d), want errno %d", c->active, e);
	assert_int_equal(errno, e);
}

/* The entry for a, without creating one: NULL when there is none. */
static struct acct_client *
entry_of(struct iptable *t, const union sockaddr_u *a)
{
	return iptable_get(t, a, 0);
}

static void
test_clients_limit(void **state)
{
	struct iptable t;
	struct acct_client *c1, *cb;
	union sockaddr_u a1, a2, a3, b;
	char s[NETADDR_STRLEN];

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	assert_int_equal(t.count, 0);
	a1 = addr_of("10.0.0.1:1000");
	a2 = addr_of("10.0.0.1:2000");		/* same IP, other ports */
	a3 = addr_of("10.0.0.1:3000");
	b = addr_of("10.0.0.2:1000");

	c1 = acct_client_acquire(&t, &a1, 2, 0, NOW);
	check_client(c1, 1, 1, 0, 0, NOW);
	assert_int_equal(t.count, 1);
	/* the entry is the address, without a port */
	assert_string_equal(netaddr_str(&c1->e.addr, s, sizeof(s)),
	    "10.0.0.1:0");
	assert_ptr_equal(acct_client_acquire(&t, &a2, 2, 0, NOW + 1), c1);
	check_client(c1, 2, 2, 0, 0, NOW + 1);
	assert_int_equal(t.count, 1);
	check_refused(&t, &a3, 2, 0, NOW + 2, EBUSY);
	check_refused(&t, &a1, 2, 0, NOW + 2, EBUSY);
	/* a refusal counts nothing (the entry saw the attempt) */
	check_client(c1, 2, 2, 0, 0, NOW + 2);

	/* another address has its own count */
	cb = acct_client_acquire(&t, &b, 2, 0, NOW);
	assert_non_null(cb);
	assert_ptr_not_equal(cb, c1);
	assert_ptr_equal(acct_client_acquire(&t, &b, 2, 0, NOW), cb);
	check_refused(&t, &b, 2, 0, NOW, EBUSY);
	check_client(cb, 2, 2, 0, 0, NOW);
	assert_int_equal(t.count, 2);

	/* a release (from any port of the address) lets one in */
	acct_client_release(&t, &a3, 100, 2000, NOW + 10);
	check_client(c1, 1, 2, 100, 2000, NOW + 10);
	assert_ptr_equal(acct_client_acquire(&t, &a3, 2, 0, NOW + 11), c1);
	check_client(c1, 2, 3, 100, 2000, NOW + 11);
	check_refused(&t, &a3, 2, 0, NOW + 12, EBUSY);

	/* a larger limit for the same address */
	assert_ptr_equal(acct_client_acquire(&t, &a1, 3, 0, NOW + 13), c1);
	check_refused(&t, &a1, 3, 0, NOW + 14, EBUSY);
	check_client(c1, 3, 4, 100, 2000, NOW + 14);

	/* back to zero: the entry stays, with its counters */
	acct_client_release(&t, &a1, 1, 2, NOW + 20);
	acct_client_release(&t, &a1, 10, 20, NOW + 21);
	acct_client_release(&t, &a2, 1000, 20000, NOW + 22);
	check_client(c1, 0, 4, 1111, 22022, NOW + 22);
	acct_client_release(&t, &b, 0, 0, NOW + 23);
	acct_client_release(&t, &b, 0, 0, NOW + 24);
	check_client(cb, 0, 2, 0, 0, NOW + 24);
	assert_int_equal(t.count, 2);
	assert_ptr_equal(entry_of(&t, &a1), c1);
	assert_ptr_equal(entry_of(&t, &b), cb);
	iptable_free(&t);
	assert_null(t.buckets);
}

static void
test_clients_failed_acquire_not_counted(void **state)
{
	struct iptable t;
	struct acct_client *c;
	union sockaddr_u a;
	int i;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	a = addr_of("192.0.2.7:1");
	c = acct_client_acquire(&t, &a, 2, 0, NOW);
	assert_ptr_equal(acct_client_acquire(&t, &a, 2, 0, NOW), c);
	for (i = 0; i < 10; i++)
		check_refused(&t, &a, 2, 0, NOW, EBUSY);
	check_client(c, 2, 2, 0, 0, NOW);
	acct_client_release(&t, &a, 5, 6, NOW + 1);
	acct_client_release(&t, &a, 5, 6, NOW + 2);
	check_client(c, 0, 2, 10, 12, NOW + 2);
	assert_int_equal(t.count, 1);
	/* and the slate is clean */
	assert_ptr_equal(acct_client_acquire(&t, &a, 1, 0, NOW + 3), c);
	check_refused(&t, &a, 1, 0, NOW + 3, EBUSY);
	acct_client_release(&t, &a, 0, 0, NOW + 4);
	check_client(c, 0, 3, 10, 12, NOW + 4);
	iptable_free(&t);
}

static void
test_clients_v4_v6_distinct(void **state)
{
	struct iptable t;
	struct acct_client *c4, *c6, *c6c;
	union sockaddr_u v4, v6, v6b, v6c;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	v4 = addr_of("127.0.0.1:80");
	v6 = addr_of("[::1]:80");
	v6b = addr_of("[::1]:8080");
	v6c = addr_of("[2001:db8::1]:80");
	c4 = acct_client_acquire(&t, &v4, 1, 0, NOW);
	c6 = acct_client_acquire(&t, &v6, 1, 0, NOW);
	assert_non_null(c4);
	assert_non_null(c6);
	assert_ptr_not_equal(c4, c6);
	assert_int_equal(t.count, 2);
	check_refused(&t, &v4, 1, 0, NOW, EBUSY);
	check_refused(&t, &v6b, 1, 0, NOW, EBUSY);
	c6c = acct_client_acquire(&t, &v6c, 1, 0, NOW);
	assert_non_null(c6c);
	assert_int_equal(t.count, 3);
	acct_client_release(&t, &v6b, 7, 8, NOW + 1);
	check_client(c6, 0, 1, 7, 8, NOW + 1);
	check_client(c4, 1, 1, 0, 0, NOW);
	check_refused(&t, &v4, 1, 0, NOW + 2, EBUSY);
	assert_ptr_equal(acct_client_acquire(&t, &v6, 1, 0, NOW + 2), c6);
	acct_client_release(&t, &v4, 0, 0, NOW + 3);
	acct_client_release(&t, &v6c, 0, 0, NOW + 3);
	acct_client_release(&t, &v6, 0, 0, NOW + 3);
	assert_int_equal(t.count, 3);
	check_client(c6, 0, 2, 7, 8, NOW + 3);
	iptable_free(&t);
}

static void
test_clients_unlimited(void **state)
{
	struct iptable t;
	struct acct_client *c;
	union sockaddr_u a;
	int i;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	a = addr_of("198.51.100.1:1");
	c = acct_client_acquire(&t, &a, 0, 0, NOW);
	for (i = 1; i < 1000; i++)
		assert_ptr_equal(acct_client_acquire(&t, &a, 0, 0, NOW), c);
	assert_int_equal(t.count, 1);
	check_client(c, 1000, 1000, 0, 0, NOW);
	/* still counted: a limit applied now sees all 1000 */
	check_refused(&t, &a, 1000, 0, NOW, EBUSY);
	assert_ptr_equal(acct_client_acquire(&t, &a, 1001, 0, NOW), c);
	for (i = 0; i < 1001; i++)
		acct_client_release(&t, &a, 1, 1, NOW + 1);
	check_client(c, 0, 1001, 1001, 1001, NOW + 1);
	assert_int_equal(t.count, 1);
	iptable_free(&t);
}

static void
test_clients_release_unknown(void **state)
{
	struct iptable t;
	struct acct_client *c;
	union sockaddr_u a, b;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	a = addr_of("203.0.113.1:1");
	b = addr_of("203.0.113.2:1");
	/* never acquired: no entry is made */
	acct_client_release(&t, &a, 10, 10, NOW);
	assert_int_equal(t.count, 0);
	assert_null(entry_of(&t, &a));
	c = acct_client_acquire(&t, &a, 1, 0, NOW);
	assert_non_null(c);
	acct_client_release(&t, &b, 10, 10, NOW);
	assert_int_equal(t.count, 1);
	assert_null(entry_of(&t, &b));
	check_client(c, 1, 1, 0, 0, NOW);
	check_refused(&t, &a, 1, 0, NOW, EBUSY);
	acct_client_release(&t, &a, 0, 0, NOW + 1);
	acct_client_release(&t, &a, 0, 0, NOW + 2);	/* one too many */
	check_client(c, 0, 1, 0, 0, NOW + 2);		/* not negative */
	assert_ptr_equal(acct_client_acquire(&t, &a, 1, 0, NOW + 3), c);
	check_refused(&t, &a, 1, 0, NOW + 3, EBUSY);
	acct_client_release(&t, &a, 0, 0, NOW + 4);
	iptable_free(&t);
}

static void
test_clients_many(void **state)
{
	struct iptable t;
	union sockaddr_u a;
	int i;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	memset(&a, 0, sizeof(a));
	a.in.sin_family = AF_INET;
	/* more addresses than buckets: chains */
	for (i = 0; i < 4000; i++) {
		a.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		assert_non_null(acct_client_acquire(&t, &a, 1, 0, NOW));
	}
	assert_int_equal(t.count, 4000);
	for (i = 0; i < 4000; i += 7) {
		a.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		check_refused(&t, &a, 1, 0, NOW, EBUSY);
	}
	for (i = 0; i < 4000; i += 2) {
		a.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		acct_client_release(&t, &a, (uint64_t)i, 0, NOW);
	}
	assert_int_equal(t.count, 4000);
	for (i = 0; i < 4000; i++) {
		struct acct_client *c;

		a.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		c = entry_of(&t, &a);
		if (i % 2 == 0)
			check_client(c, 0, 1, (uint64_t)i, 0, NOW);
		else
			check_client(c, 1, 1, 0, 0, NOW);
	}
	/* the released half goes after 10 minutes idle */
	acct_clients_sweep(&t, NOW + IDLE_MS);
	assert_int_equal(t.count, 2000);
	for (i = 0; i < 4000; i++) {
		a.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		if ((entry_of(&t, &a) != NULL) != (i % 2 == 1))
			fail_msg("10.0.%d.%d: %s after the sweep", i >> 8,
			    i & 255, i % 2 ? "gone" : "kept");
	}
	iptable_free(&t);
}

static void
test_clients_free_with_entries(void **state)
{
	struct iptable t;
	union sockaddr_u a, b;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	a = addr_of("10.1.1.1:1");
	b = addr_of("[2001:db8::2]:1");
	assert_non_null(acct_client_acquire(&t, &a, 0, 0, NOW));
	assert_non_null(acct_client_acquire(&t, &b, 0, 5, NOW));
	/* freed with sessions still counted: valgrind checks nothing leaks */
	iptable_free(&t);
	assert_null(t.buckets);
}

/* rate_per_client: a bucket of rate per second, burst rate. */
static void
test_clients_rate(void **state)
{
	struct iptable t;
	struct acct_client *c, *d;
	union sockaddr_u a, b;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	a = addr_of("192.0.2.1:1");
	b = addr_of("192.0.2.2:1");
	c = acct_client_acquire(&t, &a, 0, 2, NOW);
	assert_non_null(c);
	assert_ptr_equal(acct_client_acquire(&t, &a, 0, 2, NOW), c);
	check_refused(&t, &a, 0, 2, NOW, EAGAIN);
	check_client(c, 2, 2, 0, 0, NOW);
	/* a release gives no new connection back */
	acct_client_release(&t, &a, 0, 0, NOW + 1);
	acct_client_release(&t, &a, 0, 0, NOW + 1);
	check_refused(&t, &a, 0, 2, NOW + 1, EAGAIN);
	/* another address has its own rate */
	d = acct_client_acquire(&t, &b, 0, 2, NOW + 1);
	assert_non_null(d);
	assert_ptr_not_equal(d, c);
	/* 2 per second: one more after 500 ms */
	check_refused(&t, &a, 0, 2, NOW + 499, EAGAIN);
	assert_ptr_equal(acct_client_acquire(&t, &a, 0, 2, NOW + 500), c);
	check_refused(&t, &a, 0, 2, NOW + 500, EAGAIN);
	/* a long pause: the burst (2), no more */
	assert_ptr_equal(acct_client_acquire(&t, &a, 0, 2, NOW + 60000), c);
	assert_ptr_equal(acct_client_acquire(&t, &a, 0, 2, NOW + 60000), c);
	check_refused(&t, &a, 0, 2, NOW + 60000, EAGAIN);
	check_client(c, 3, 5, 0, 0, NOW + 60000);
	/* rate 0: off */
	assert_ptr_equal(acct_client_acquire(&t, &a, 0, 0, NOW + 60000), c);
	assert_ptr_equal(acct_client_acquire(&t, &a, 0, 0, NOW + 60000), c);
	check_client(c, 5, 7, 0, 0, NOW + 60000);
	/* a new rate (a reload) starts a full bucket of it */
	assert_ptr_equal(acct_client_acquire(&t, &a, 0, 3, NOW + 60001), c);
	assert_ptr_equal(acct_client_acquire(&t, &a, 0, 3, NOW + 60001), c);
	assert_ptr_equal(acct_client_acquire(&t, &a, 0, 3, NOW + 60001), c);
	check_refused(&t, &a, 0, 3, NOW + 60001, EAGAIN);
	iptable_free(&t);
}

/* Over the limit is EBUSY, and costs no connection of the rate. */
static void
test_clients_limit_before_rate(void **state)
{
	struct iptable t;
	struct acct_client *c;
	union sockaddr_u a;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	a = addr_of("[2001:db8::7]:1");
	c = acct_client_acquire(&t, &a, 1, 2, NOW);
	assert_non_null(c);
	check_refused(&t, &a, 1, 2, NOW, EBUSY);
	check_refused(&t, &a, 1, 2, NOW, EBUSY);
	acct_client_release(&t, &a, 0, 0, NOW);
	/* the second of the two per second is still there */
	assert_ptr_equal(acct_client_acquire(&t, &a, 1, 2, NOW), c);
	acct_client_release(&t, &a, 0, 0, NOW);
	check_refused(&t, &a, 1, 2, NOW, EAGAIN);
	check_client(c, 0, 2, 0, 0, NOW);
	/* both at once: the limit is what is reported */
	assert_ptr_equal(acct_client_acquire(&t, &a, 1, 2, NOW + 500), c);
	check_refused(&t, &a, 1, 2, NOW + 500, EBUSY);
	iptable_free(&t);
}

/* Entries with no session go after 10 minutes idle; busy ones stay. */
static void
test_clients_sweep(void **state)
{
	struct iptable t;
	struct acct_client *c;
	union sockaddr_u a, b, d;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	a = addr_of("198.51.100.10:1");
	b = addr_of("198.51.100.11:1");
	d = addr_of("[2001:db8::11]:1");
	assert_non_null(acct_client_acquire(&t, &a, 0, 0, NOW));
	assert_non_null(acct_client_acquire(&t, &b, 0, 0, NOW));
	assert_non_null(acct_client_acquire(&t, &d, 0, 0, NOW));
	acct_client_release(&t, &b, 1, 1, NOW);
	acct_client_release(&t, &d, 1, 1, NOW + 60000);
	assert_int_equal(t.count, 3);

	acct_clients_sweep(&t, NOW + IDLE_MS - 1);
	assert_int_equal(t.count, 3);
	acct_clients_sweep(&t, NOW + IDLE_MS);
	assert_int_equal(t.count, 2);
	assert_null(entry_of(&t, &b));
	assert_non_null(entry_of(&t, &d));
	acct_clients_sweep(&t, NOW + 60000 + IDLE_MS - 1);
	assert_non_null(entry_of(&t, &d));
	acct_clients_sweep(&t, NOW + 60000 + IDLE_MS);
	assert_null(entry_of(&t, &d));
	/* a session going on for days keeps its entry */
	acct_clients_sweep(&t, NOW + 7 * 86400000LL);
	assert_int_equal(t.count, 1);
	c = entry_of(&t, &a);
	check_client(c, 1, 1, 0, 0, NOW);
	acct_client_release(&t, &a, 0, 0, NOW + 7 * 86400000LL);
	acct_clients_sweep(&t, NOW + 7 * 86400000LL + IDLE_MS - 1);
	assert_int_equal(t.count, 1);
	acct_clients_sweep(&t, NOW + 7 * 86400000LL + IDLE_MS);
	assert_int_equal(t.count, 0);

	/* swept and seen again: a new entry, counters from zero */
	c = acct_client_acquire(&t, &b, 0, 0, NOW + 8 * 86400000LL);
	check_client(c, 1, 1, 0, 0, NOW + 8 * 86400000LL);
	/* an idle entry seen again is not idle any more */
	acct_client_release(&t, &b, 0, 0, NOW + 8 * 86400000LL);
	assert_ptr_equal(acct_client_acquire(&t, &b, 0, 0,
	    NOW + 8 * 86400000LL + IDLE_MS - 1), c);
	acct_client_release(&t, &b, 0, 0, NOW + 8 * 86400000LL + IDLE_MS - 1);
	acct_clients_sweep(&t, NOW + 8 * 86400000LL + IDLE_MS);
	assert_ptr_equal(entry_of(&t, &b), c);
	iptable_free(&t);
}

/* A table grown to 4096 entries sweeps itself on the next acquire. */
static void
test_clients_sweep_on_acquire(void **state)
{
	struct iptable t;
	union sockaddr_u a;
	int i;

	(void)state;
	assert_int_equal(acct_clients_init(&t), 0);
	memset(&a, 0, sizeof(a));
	a.in.sin_family = AF_INET;
	for (i = 0; i < 4096; i++) {
		a.in.sin_addr.s_addr = htonl(0x0b000000u + (uint32_t)i);
		assert_non_null(acct_client_acquire(&t, &a, 0, 0, NOW));
		if (i % 2 == 0)
			acct_client_release(&t, &a, 0, 0, NOW);
	}
	assert_int_equal(t.count, 4096);
	/* not idle long enough: nothing goes */
	a.in.sin_addr.s_addr = htonl(0x0c000000u);
	assert_non_null(acct_client_acquire(&t, &a, 0, 0, NOW + 1));
	assert_int_equal(t.count, 4097);
	acct_client_release(&t, &a, 0, 0, NOW + 1);
	/* 8191 more would be needed to sweep again; sweep by hand instead */
	acct_clients_sweep(&t, NOW + IDLE_MS);
	assert_int_equal(t.count, 2049);
	/* idle ones go before a new address is added at 4096 */
	for (i = 0; t.count < 4096; i++) {
		a.in.sin_addr.s_addr = htonl(0x0d000000u + (uint32_t)i);
		assert_non_null(acct_client_acquire(&t, &a, 0, 0, NOW));
		acct_client_release(&t, &a, 0, 0, NOW);
	}
	a.in.sin_addr.s_addr = htonl(0x0e000000u);
	assert_non_null(acct_client_acquire(&t, &a, 0, 0,
	    NOW + 1 + IDLE_MS));
	/* left: the 2048 busy ones and the new one */
	assert_int_equal(t.count, 2049);
	iptable_free(&t);
}

/* ----- histograms ------------------------------------------------------ */

static void
test_hist(void **state)
{
	static const double le[ACCT_HIST_BUCKETS] = {
		0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
		2.5, 10,
	};
	struct acct_hist h;
	double sum;
	int i;

	(void)state;
	for (i = 0; i < ACCT_HIST_BUCKETS; i++)
		assert_true(acct_hist_le[i] == le[i]);
	memset(&h, 0, sizeof(h));
	acct_hist_add(&h, 0);
	for (i = 0; i < ACCT_HIST_BUCKETS; i++)
		assert_int_equal(h.le[i], 1);
	/* a bucket's bound is inclusive ("le") */
	acct_hist_add(&h, 0.001);
	for (i = 0; i < ACCT_HIST_BUCKETS; i++)
		assert_int_equal(h.le[i], 2);
	acct_hist_add(&h, 0.003);
	assert_int_equal(h.le[0], 2);
	assert_int_equal(h.le[1], 2);
	for (i = 2; i < ACCT_HIST_BUCKETS; i++)
		assert_int_equal(h.le[i], 3);
	acct_hist_add(&h, 0.75);
	assert_int_equal(h.le[8], 3);		/* <= 0.5 */
	assert_int_equal(h.le[9], 4);		/* <= 1 */
	acct_hist_add(&h, 10);
	assert_int_equal(h.le[10], 4);
	assert_int_equal(h.le[11], 5);
	/* above the last bound: in count (+Inf) only */
	acct_hist_add(&h, 11);
	acct_hist_add(&h, 3600);
	assert_int_equal(h.le[11], 5);
	assert_int_equal(h.count, 7);
	sum = 0 + 0.001 + 0.003 + 0.75 + 10 + 11 + 3600;
	assert_true(h.sum > sum - 1e-9 && h.sum < sum + 1e-9);
	/* cumulative */
	for (i = 1; i < ACCT_HIST_BUCKETS; i++)
		assert_true(h.le[i - 1] <= h.le[i]);
	assert_true(h.le[ACCT_HIST_BUCKETS - 1] <= h.count);
	assert_int_equal(h.le[0], 2);
	assert_int_equal(h.le[1], 2);
	assert_int_equal(h.le[2], 3);
	assert_int_equal(h.le[7], 3);
}

/*
 * Records counted by end=: every listed value in its own slot, anything
 * else in "other", interim records not at all; the workers' slots sum.
 */
static void
test_end_counts(void **state)
{
	struct acct_counters a, b, sum;
	char name[64];
	int i, j;

	(void)state;
	assert_string_equal(acct_end_names[0], "done");
	assert_string_equal(acct_end_names[ACCT_END_N - 1], "other");
	for (i = 0; i < ACCT_END_N; i++) {
		assert_int_equal(acct_end_index(acct_end_names[i]), i);
		for (j = 0; j < i; j++)	/* no name twice */
			assert_string_not_equal(acct_end_names[i],
			    acct_end_names[j]);
	}
	/* whole names only, case and all */
	assert_int_equal(acct_end_index("don"), ACCT_END_N - 1);
	assert_int_equal(acct_end_index("done2"), ACCT_END_N - 1);
	assert_int_equal(acct_end_index("Done"), ACCT_END_N - 1);
	assert_int_equal(acct_end_index(""), ACCT_END_N - 1);
	assert_int_equal(acct_end_index("-"), ACCT_END_N - 1);
	assert_int_equal(acct_end_index("interim"), -1);

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (i = 0; i < ACCT_END_N; i++)
		for (j = 0; j <= i; j++)	/* name i: i + 1 times */
			acct_count_end(&a, acct_end_names[i]);
	acct_count_end(&a, "interim");
	acct_count_end(&a, "something_new");
	for (i = 0; i < ACCT_END_N - 1; i++)
		assert_int_equal(a.ends[i], (uint64_t)i + 1);
	assert_int_equal(a.ends[ACCT_END_N - 1], (uint64_t)ACCT_END_N + 1);

	snprintf(name, sizeof(name), "%s", "idle_timeout");
	acct_count_end(&b, name);	/* by value, not by pointer */
	acct_count_end(&b, "done");
	b.sessions_total = 2;
	memset(&sum, 0, sizeof(sum));
	acct_counters_add(&sum, &a);
	acct_counters_add(&sum, &b);
	assert_int_equal(sum.ends[0], a.ends[0] + 1);
	assert_int_equal(sum.ends[acct_end_index("idle_timeout")],
	    a.ends[acct_end_index("idle_timeout")] + 1);
	for (i = 1; i < ACCT_END_N; i++)
		if (i != acct_end_index("idle_timeout"))
			assert_int_equal(sum.ends[i], a.ends[i]);
	assert_int_equal(sum.sessions_total, 2);
}

/* ----- access log ----------------------------------------------------- */

struct logfile {
	char		path[64];
	struct event_base *base;
	struct acct_log	log;
};

static int
setup_log(void **state)
{
	struct logfile *f;
	char err[256];
	int fd;

	f = calloc(1, sizeof(*f));
	assert_non_null(f);
	snprintf(f->path, sizeof(f->path), "/tmp/sluice-acct-XXXXXX");
	fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	f->base = event_base_new();
	assert_non_null(f->base);
	err[0] = '\0';
	assert_int_equal(acct_log_open(&f->log, f->path, 0, NULL, f->base,
	    err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(f->log.fd >= 0);
	*state = f;
	return 0;
}

static int
teardown_log(void **state)
{
	struct logfile *f = *state;

	acct_log_close(&f->log);
	event_base_free(f->base);
	unlink(f->path);
	free(f);
	return 0;
}

/* The whole file, NUL-terminated; *len its size.  Free it. */
static char *
slurp(const char *path, size_t *len)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t off = 0;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	while (off < (size_t)st.st_size) {
		n = read(fd, buf + off, (size_t)st.st_size - off);
		assert_true(n > 0);
		off += (size_t)n;
	}
	close(fd);
	buf[off] = '\0';
	if (len != NULL)
		*len = off;
	return buf;
}

static size_t
file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return (size_t)st.st_size;
}

/* The example session of the brief. */
static void
example_record(struct acct_record *r, union sockaddr_u *client,
    union sockaddr_u *connected)
{
	*client = addr_of("127.0.0.1:5555");
	*connected = addr_of("93.184.216.34:443");
	memset(r, 0, sizeof(*r));
	r->id = 7;
	r->worker = 0;
	r->proto = "socks5";
	r->client = client;
	r->user = "alice";
	r->target = "example.com";
	r->port = 443;
	r->connected = connected;
	r->status = "0x00";
	r->up = 123;
	r->down = 4567;
	r->dur_ms = 12345;
	r->end = "done";
}

/* Log one record, flush, and return the file (one line expected). */
static char *
log_one(struct logfile *f, const struct acct_record *r)
{
	char *s;

	assert_int_equal(ftruncate(f->log.fd, 0), 0);
	acct_log_session(&f->log, r, T_SEC, T_USEC);
	acct_log_flush(&f->log);
	s = slurp(f->path, NULL);
	return s;
}

static void
test_log_line_format(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s;

	example_record(&r, &client, &connected);
	acct_log_session(&f->log, &r, T_SEC, T_USEC);
	/* buffered: nothing written before a flush */
	assert_int_equal(file_size(f->path), 0);
	assert_int_equal(f->log.armed, 1);
	acct_log_flush(&f->log);
	assert_int_equal(f->log.armed, 0);
	assert_int_equal(f->log.len, 0);
	s = slurp(f->path, NULL);
	assert_string_equal(s, T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=alice target=example.com:443 connected=93.184.216.34:443 "
	    "status=0x00 up=123 down=4567 dur=12.345 end=done id=0.7\n");
	free(s);

	/* a second line goes after the first */
	r.id = 8;
	r.worker = 3;
	r.up = 0;
	r.down = 18446744073709551615ULL;
	acct_log_session(&f->log, &r, T_SEC + 1, 0);
	acct_log_flush(&f->log);
	s = slurp(f->path, NULL);
	assert_string_equal(s, T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=alice target=example.com:443 connected=93.184.216.34:443 "
	    "status=0x00 up=123 down=4567 dur=12.345 end=done id=0.7\n"
	    "2024-01-02T03:04:06.000Z proto=socks5 client=127.0.0.1:5555 "
	    "user=alice target=example.com:443 connected=93.184.216.34:443 "
	    "status=0x00 up=0 down=18446744073709551615 dur=12.345 end=done "
	    "id=3.8\n");
	free(s);
	assert_int_equal(f->log.lost, 0);
}

/* The user field of a one-line log for user u. */
static void
check_user(struct logfile *f, const char *u, const char *want)
{
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s, expect[600];

	example_record(&r, &client, &connected);
	r.user = u;
	s = log_one(f, &r);
	snprintf(expect, sizeof(expect), T_STR " proto=socks5 "
	    "client=127.0.0.1:5555 user=%s target=example.com:443 ", want);
	if (strncmp(s, expect, strlen(expect)) != 0)
		fail_msg("user \"%s\": got \"%s\", want a line starting \"%s\"",
		    u, s, expect);
	assert_non_null(strstr(s, " end=done id=0.7\n"));
	assert_int_equal(strchr(s, '\n') - s + 1, strlen(s));
	free(s);
}

static void
test_log_user_quoting(void **state)
{
	struct logfile *f = *state;

	check_user(f, "alice", "alice");
	check_user(f, "a b", "\"a b\"");
	check_user(f, "x\"y", "\"x\\\"y\"");
	check_user(f, "back\\slash", "\"back\\\\slash\"");
	check_user(f, "tab\there", "\"tab\\x09here\"");
	check_user(f, "nl\nx", "\"nl\\x0ax\"");
	check_user(f, "\xc3\xa9t\xc3\xa9", "\"\\xc3\\xa9t\\xc3\\xa9\"");
	check_user(f, "del\x7f", "\"del\\x7f\"");
	check_user(f, "", "\"\"");
	/* printable punctuation is plain */
	check_user(f, "=~!#$%&'()*+,-./:;<>?@[]^_`{|}",
	    "=~!#$%&'()*+,-./:;<>?@[]^_`{|}");
}

static void
test_log_ipv6(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s;

	example_record(&r, &client, &connected);
	client = addr_of("[2001:db8::5]:40000");
	connected = addr_of("[::1]:80");
	r.target = "::1";
	r.port = 80;
	r.id = 12;
	r.worker = 2;
	s = log_one(f, &r);
	assert_string_equal(s, T_STR " proto=socks5 client=[2001:db8::5]:40000 "
	    "user=alice target=[::1]:80 connected=[::1]:80 status=0x00 "
	    "up=123 down=4567 dur=12.345 end=done id=2.12\n");
	free(s);
}

static void
test_log_absent_fields(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s;

	example_record(&r, &client, &connected);
	r.user = NULL;
	r.target = NULL;
	r.port = 0;
	r.connected = NULL;
	r.status = "-";
	r.up = r.down = 0;
	r.dur_ms = 0;
	r.end = "auth_failed";
	s = log_one(f, &r);
	assert_string_equal(s, T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=- target=- connected=- status=- up=0 down=0 dur=0.000 "
	    "end=auth_failed id=0.7\n");
	free(s);

	/* a connected address that was never set (AF_UNSPEC) is absent */
	memset(&connected, 0, sizeof(connected));
	r.connected = &connected;
	s = log_one(f, &r);
	assert_non_null(strstr(s, " connected=- "));
	free(s);
}

static void
test_log_durations(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	static const struct {
		int64_t		ms;
		const char	*want;
	} d[] = {
		{ 0, " dur=0.000 " },
		{ 5, " dur=0.005 " },
		{ 999, " dur=0.999 " },
		{ 1000, " dur=1.000 " },
		{ 61001, " dur=61.001 " },
		{ 86400123, " dur=86400.123 " },
	};
	size_t i;
	char *s;

	example_record(&r, &client, &connected);
	for (i = 0; i < sizeof(d) / sizeof(d[0]); i++) {
		r.dur_ms = d[i].ms;
		s = log_one(f, &r);
		if (strstr(s, d[i].want) == NULL)
			fail_msg("dur_ms %lld: \"%s\" lacks \"%s\"",
			    (long long)d[i].ms, s, d[i].want);
		free(s);
	}
}

/*
 * The longest user name the configuration accepts (255 bytes, any byte
 * above 0x20 but 0x7f: conf.c's user_name_problem()), in UTF-8, is written
 * with \x escapes, 4 bytes per byte: more than a line holds.  The line
 * must still be one line of at most LOG_LINE_MAX bytes, and nothing may be
 * written outside the line buffer.  Run in a child: a stack overflow must
 * not take the test runner down.
 */
static void
test_log_longest_user(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	const char *prefix = T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=\"\\xc3\\xa9\\xc3\\xa9";
	char user[256], *s, *nl;
	size_t len, i;
	pid_t pid;
	int st;

	for (i = 0; i + 1 < 255; i += 2) {
		user[i] = (char)0xc3;
		user[i + 1] = (char)0xa9;	/* é */
	}
	user[254] = 'x';
	user[255] = '\0';
	assert_int_equal(strlen(user), 255);
	example_record(&r, &client, &connected);
	r.user = user;

	assert_int_equal(ftruncate(f->log.fd, 0), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		/* die of the signal: not cmocka's handler, in the child */
		signal(SIGSEGV, SIG_DFL);
		signal(SIGBUS, SIG_DFL);
		signal(SIGILL, SIG_DFL);
		signal(SIGFPE, SIG_DFL);
		signal(SIGSYS, SIG_DFL);
		acct_log_session(&f->log, &r, T_SEC, T_USEC);
		acct_log_flush(&f->log);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("acct_log_session() crashed (%s %d)",
		    WIFSIGNALED(st) ? "signal" : "status",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
	s = slurp(f->path, &len);
	nl = strchr(s, '\n');
	if (nl == NULL || (size_t)(nl - s) + 1 != len || len > LINE_MAX_BYTES)
		fail_msg("not one line of at most %d bytes: %zu bytes, first "
		    "newline at %td", LINE_MAX_BYTES, len,
		    nl != NULL ? nl - s : (ptrdiff_t)-1);
	if (strncmp(s, prefix, strlen(prefix)) != 0)
		fail_msg("the line starts \"%.90s\"", s);
	free(s);
}

static void
test_log_timer_flushes(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	int64_t start, deadline;
	char *s;

	example_record(&r, &client, &connected);
	acct_log_session(&f->log, &r, T_SEC, T_USEC);
	assert_int_equal(f->log.armed, 1);
	assert_int_equal(file_size(f->path), 0);
	start = clock_ms();
	deadline = start + 2000;
	while (file_size(f->path) == 0) {
		if (clock_ms() > deadline)
			fail_msg("the timer did not flush the log in 2 s");
		assert_int_not_equal(event_base_loop(f->base, EVLOOP_ONCE),
		    -1);
	}
	/* LOG_FLUSH_MS (200) after the first line */
	assert_true(clock_ms() - start >= 150);
	assert_int_equal(f->log.armed, 0);
	assert_int_equal(f->log.len, 0);
	s = slurp(f->path, NULL);
	assert_non_null(strstr(s, " id=0.7\n"));
	free(s);
}

static void
test_log_appends(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	const char *old = "old line\n" T_STR " proto=socks5 ";
	char err[256];
	char *s;
	int fd;

	acct_log_close(&f->log);
	fd = open(f->path, O_WRONLY | O_TRUNC);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old line\n", 9), 9);
	close(fd);
	assert_int_equal(acct_log_open(&f->log, f->path, 0, NULL, f->base,
	    err, sizeof(err)), 0);
	example_record(&r, &client, &connected);
	acct_log_session(&f->log, &r, T_SEC, T_USEC);
	acct_log_close(&f->log);
	s = slurp(f->path, NULL);
	if (strncmp(s, old, strlen(old)) != 0)
		fail_msg("not appended: \"%s\"", s);
	assert_int_equal(strchr(s + 9, '\n') - s + 1, strlen(s));
	free(s);
	/* closing twice is harmless */
	acct_log_close(&f->log);
}

static void
test_log_many_lines(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	const char *prefix = T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=alice target=example.com:443 connected=93.184.216.34:443 "
	    "status=0x00 ";
	char *s, *p, *nl, want[32];
	size_t len, mid;
	int i, n;

	example_record(&r, &client, &connected);
	for (i = 0; i < 5000; i++) {
		r.id = (uint64_t)i;
		r.up = (uint64_t)i * 3;
		acct_log_session(&f->log, &r, T_SEC, T_USEC);
		if (i == 2500) {
			/* batches went out on the way, whole lines only */
			mid = file_size(f->path);
			assert_true(mid > 0);
			s = slurp(f->path, &len);
			assert_int_equal(s[len - 1], '\n');
			free(s);
		}
	}
	acct_log_close(&f->log);
	assert_int_equal(f->log.lost, 0);

	s = slurp(f->path, &len);
	n = 0;
	for (p = s; *p != '\0'; p = nl + 1) {
		nl = strchr(p, '\n');
		if (nl == NULL)
			fail_msg("line %d is incomplete", n);
		*nl = '\0';
		if (strncmp(p, prefix, strlen(prefix)) != 0)
			fail_msg("line %d: \"%s\"", n, p);
		snprintf(want, sizeof(want), " up=%d ", n * 3);
		if (strstr(p, want) == NULL)
			fail_msg("line %d: \"%s\" lacks \"%s\"", n, p, want);
		snprintf(want, sizeof(want), " end=done id=0.%d", n);
		if (strlen(p) < strlen(want) ||
		    strcmp(p + strlen(p) - strlen(want), want) != 0)
			fail_msg("line %d: \"%s\" does not end \"%s\"", n, p,
			    want);
		n++;
	}
	assert_int_equal(n, 5000);
	free(s);
}

/*
 * Point stderr at a new temporary file (path in tmpl); returns the saved
 * stderr for restore_stderr().
 */
static int
redirect_stderr(char *tmpl)
{
	int fd, saved;

	fd = mkstemp(tmpl);
	assert_true(fd >= 0);
	saved = dup(STDERR_FILENO);
	assert_true(saved >= 0);
	assert_int_equal(dup2(fd, STDERR_FILENO), STDERR_FILENO);
	close(fd);
	return saved;
}

static void
restore_stderr(int saved)
{
	assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
	close(saved);
}

static void
test_log_stderr(void **state)
{
	struct acct_log l;
	struct acct_record r;
	union sockaddr_u client, connected;
	struct event_base *base;
	char path[] = "/tmp/sluice-acct-err-XXXXXX", err[64];
	char *s;
	int saved, open_after;

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	example_record(&r, &client, &connected);
	saved = redirect_stderr(path);
	assert_int_equal(acct_log_open(&l, "-", 0, NULL, base, err,
	    sizeof(err)), 0);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	acct_log_close(&l);
	/* stderr is not the log's to close */
	open_after = fcntl(STDERR_FILENO, F_GETFD) != -1;
	restore_stderr(saved);
	assert_true(open_after);
	s = slurp(path, NULL);
	unlink(path);
	assert_string_equal(s, T_STR " proto=socks5 client=127.0.0.1:5555 "
	    "user=alice target=example.com:443 connected=93.184.216.34:443 "
	    "status=0x00 up=123 down=4567 dur=12.345 end=done id=0.7\n");
	free(s);
	event_base_free(base);
}

/* A failed write drops the batch, counts it, and goes on. */
static void
test_log_write_error(void **state)
{
	struct acct_log l;
	struct acct_record r;
	union sockaddr_u client, connected;
	struct event_base *base;
	char path[] = "/tmp/sluice-acct-err-XXXXXX", err[64];
	char *s;
	size_t held;
	int saved;

	(void)state;
	if (access("/dev/full", W_OK) != 0)
		skip();
	base = event_base_new();
	assert_non_null(base);
	example_record(&r, &client, &connected);
	assert_int_equal(acct_log_open(&l, "/dev/full", 0, NULL, base, err,
	    sizeof(err)), 0);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	held = l.len;
	assert_true(held > 0);
	saved = redirect_stderr(path);
	acct_log_flush(&l);
	restore_stderr(saved);
	assert_int_equal(l.lost, held);
	assert_int_equal(l.len, 0);
	assert_int_equal(l.armed, 0);
	/* the warning says what was lost */
	s = slurp(path, NULL);
	unlink(path);
	assert_non_null(strstr(s, "/dev/full"));
	free(s);
	acct_log_close(&l);
	event_base_free(base);
}

static void
test_log_off(void **state)
{
	struct acct_log l;
	struct acct_record r;
	union sockaddr_u client, connected;
	struct event_base *base;
	char err[64];

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	assert_int_not_equal(access("off", F_OK), 0);
	err[0] = '\0';
	assert_int_equal(acct_log_open(&l, "off", 0, NULL, base, err,
	    sizeof(err)), 0);
	assert_int_equal(l.fd, -1);
	example_record(&r, &client, &connected);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	assert_int_equal(l.len, 0);
	assert_int_equal(l.armed, 0);
	acct_log_flush(&l);
	acct_log_close(&l);
	/* "off" is no file name */
	assert_int_not_equal(access("off", F_OK), 0);
	assert_string_equal(err, "");

	assert_int_equal(acct_log_open(&l, "none", 0, NULL, base, err,
	    sizeof(err)), 0);
	assert_int_equal(l.fd, -1);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	acct_log_close(&l);
	assert_int_not_equal(access("none", F_OK), 0);
	event_base_free(base);
}

static void
test_log_open_fails(void **state)
{
	struct acct_log l;
	struct event_base *base;
	char err[256];

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	err[0] = '\0';
	assert_int_equal(acct_log_open(&l, "/nonexistent-sluice-dir/a.log", 0,
	    NULL, base, err, sizeof(err)), -1);
	assert_int_equal(l.fd, -1);
	assert_non_null(strstr(err, "cannot open"));
	assert_non_null(strstr(err, "/nonexistent-sluice-dir/a.log"));
	acct_log_close(&l);
	event_base_free(base);
}

/* ----- JSON format ------------------------------------------------------ */

#define JSON_EXAMPLE	"{\"time\":\"" T_STR "\",\"proto\":\"socks5\","	\
	"\"client\":\"127.0.0.1:5555\",\"user\":\"alice\","		\
	"\"target\":\"example.com:443\","				\
	"\"connected\":\"93.184.216.34:443\",\"status\":\"0x00\","	\
	"\"up\":123,\"down\":4567,\"duration\":12.345,"		\
	"\"end\":\"done\",\"id\":\"0.7\"}\n"

static int
setup_json(void **state)
{
	struct logfile *f;

	setup_log(state);
	f = *state;
	f->log.format = CONF_LOG_JSON;
	return 0;
}

static void
test_json_line(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s;

	example_record(&r, &client, &connected);
	s = log_one(f, &r);
	assert_string_equal(s, JSON_EXAMPLE);
	free(s);

	/* two lines, the second after the first */
	assert_int_equal(ftruncate(f->log.fd, 0), 0);
	acct_log_session(&f->log, &r, T_SEC, T_USEC);
	r.id = 8;
	r.worker = 3;
	r.up = 0;
	r.down = 18446744073709551615ULL;
	r.dur_ms = 5;
	acct_log_session(&f->log, &r, T_SEC + 1, 0);
	acct_log_flush(&f->log);
	s = slurp(f->path, NULL);
	assert_string_equal(s, JSON_EXAMPLE
	    "{\"time\":\"2024-01-02T03:04:06.000Z\",\"proto\":\"socks5\","
	    "\"client\":\"127.0.0.1:5555\",\"user\":\"alice\","
	    "\"target\":\"example.com:443\","
	    "\"connected\":\"93.184.216.34:443\",\"status\":\"0x00\","
	    "\"up\":0,\"down\":18446744073709551615,\"duration\":0.005,"
	    "\"end\":\"done\",\"id\":\"3.8\"}\n");
	free(s);
}

/* HTTP records carry method and url; SOCKS records do not. */
static void
test_json_http(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s;

	example_record(&r, &client, &connected);
	client = addr_of("[2001:db8::5]:40000");
	connected = addr_of("93.184.216.34:80");
	r.proto = "http";
	r.method = "GET";
	r.url = "http://example.com/a?b=1&c=%22";
	r.port = 80;
	r.status = "200";
	r.http_status = 200;
	r.content_type = "text/html";
	r.dur_ms = 61001;
	s = log_one(f, &r);
	assert_string_equal(s, "{\"time\":\"" T_STR "\",\"proto\":\"http\","
	    "\"client\":\"[2001:db8::5]:40000\",\"user\":\"alice\","
	    "\"method\":\"GET\",\"url\":\"http://example.com/a?b=1&c=%22\","
	    "\"target\":\"example.com:80\","
	    "\"connected\":\"93.184.216.34:80\",\"status\":\"200\","
	    "\"up\":123,\"down\":4567,\"duration\":61.001,\"end\":\"done\","
	    "\"id\":\"0.7\"}\n");
	free(s);

	/* an IPv6 target in brackets; a request refused before any URL */
	r.target = "::1";
	r.port = 8080;
	r.method = "";
	r.url = NULL;
	r.connected = NULL;
	r.user = NULL;
	r.status = "407";
	r.up = r.down = 0;
	r.dur_ms = 0;
	r.end = "auth_required";
	s = log_one(f, &r);
	assert_string_equal(s, "{\"time\":\"" T_STR "\",\"proto\":\"http\","
	    "\"client\":\"[2001:db8::5]:40000\",\"user\":null,"
	    "\"method\":null,\"url\":null,\"target\":\"[::1]:8080\","
	    "\"connected\":null,\"status\":\"407\",\"up\":0,\"down\":0,"
	    "\"duration\":0.000,\"end\":\"auth_required\",\"id\":\"0.7\"}\n");
	free(s);
}

static void
test_json_absent_fields(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s;

	example_record(&r, &client, &connected);
	r.user = NULL;
	r.target = NULL;
	r.port = 0;
	r.connected = NULL;
	r.status = "-";
	r.up = r.down = 0;
	r.dur_ms = 0;
	r.end = "auth_failed";
	s = log_one(f, &r);
	assert_string_equal(s, "{\"time\":\"" T_STR "\",\"proto\":\"socks5\","
	    "\"client\":\"127.0.0.1:5555\",\"user\":null,\"target\":null,"
	    "\"connected\":null,\"status\":\"-\",\"up\":0,\"down\":0,"
	    "\"duration\":0.000,\"end\":\"auth_failed\",\"id\":\"0.7\"}\n");
	free(s);
	/* a connected address never set (AF_UNSPEC) is null too */
	memset(&connected, 0, sizeof(connected));
	r.connected = &connected;
	s = log_one(f, &r);
	assert_non_null(strstr(s, ",\"connected\":null,"));
	free(s);
}

/* The user field of a one-line JSON log for user u. */
static void
check_json_user(struct logfile *f, const char *u, const char *want)
{
	struct acct_record r;
	union sockaddr_u client, connected;
	char *s, expect[600], got[LINE_MAX_BYTES + 1];

	example_record(&r, &client, &connected);
	r.user = u;
	s = log_one(f, &r);
	snprintf(expect, sizeof(expect), "{\"time\":\"" T_STR "\","
	    "\"proto\":\"socks5\",\"client\":\"127.0.0.1:5555\",\"user\":%s,"
	    "\"target\":\"example.com:443\",\"connected\":"
	    "\"93.184.216.34:443\",\"status\":\"0x00\",\"up\":123,"
	    "\"down\":4567,\"duration\":12.345,\"end\":\"done\","
	    "\"id\":\"0.7\"}\n", want);
	if (strcmp(s, expect) != 0) {
		snprintf(got, sizeof(got), "%s", s);
		free(s);
		fail_msg("user \"%s\":\n got %s\nwant %s", u, got, expect);
	}
	free(s);
}

static void
test_json_escaping(void **state)
{
	struct logfile *f = *state;

	check_json_user(f, "alice", "\"alice\"");
	check_json_user(f, "a b", "\"a b\"");
	check_json_user(f, "", "\"\"");
	check_json_user(f, "x\"y", "\"x\\\"y\"");
	check_json_user(f, "back\\slash", "\"back\\\\slash\"");
	check_json_user(f, "\\\"", "\"\\\\\\\"\"");
	check_json_user(f, "tab\there", "\"tab\\u0009here\"");
	check_json_user(f, "nl\nx", "\"nl\\u000ax\"");
	check_json_user(f, "cr\rx", "\"cr\\u000dx\"");
	check_json_user(f, "\x01\x1f", "\"\\u0001\\u001f\"");
	check_json_user(f, "del\x7f", "\"del\\u007f\"");
	/* bytes, not code points: any input stays valid JSON */
	check_json_user(f, "\xc3\xa9t\xc3\xa9",
	    "\"\\u00c3\\u00a9t\\u00c3\\u00a9\"");
	check_json_user(f, "\xff", "\"\\u00ff\"");
	/* printable punctuation is plain ('/' needs no escape) */
	check_json_user(f, "=~!#$%&'()*+,-./:;<>?@[]^_`{|}",
	    "\"=~!#$%&'()*+,-./:;<>?@[]^_`{|}\"");
}

/*
 * A line cut to LOG_LINE_MAX must still be one JSON object: a long URL
 * (an HTTP request line may be 8 KB) is shortened, and the fields after it
 * are still there, ending in "}".
 */
static void
test_json_long_url(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	const char *tail = ",\"target\":\"example.com:80\","
	    "\"connected\":\"93.184.216.34:443\",\"status\":\"200\","
	    "\"up\":123,\"down\":4567,\"duration\":12.345,\"end\":\"done\","
	    "\"id\":\"0.7\"}\n";
	const char *head = "{\"time\":\"" T_STR "\",\"proto\":\"http\","
	    "\"client\":\"127.0.0.1:5555\",\"user\":\"alice\","
	    "\"method\":\"GET\",\"url\":\"http://example.com/aaaa";
	char *url, *s, end[81];
	size_t len;

	url = malloc(4001);
	assert_non_null(url);
	memcpy(url, "http://example.com/", 19);
	memset(url + 19, 'a', 4000 - 19);
	url[4000] = '\0';
	example_record(&r, &client, &connected);
	r.proto = "http";
	r.method = "GET";
	r.url = url;
	r.port = 80;
	r.status = "200";
	s = log_one(f, &r);
	free(url);
	len = strlen(s);
	if (len > LINE_MAX_BYTES || strchr(s, '\n') != s + len - 1 ||
	    strncmp(s, head, strlen(head)) != 0 || len < strlen(tail) ||
	    strcmp(s + len - strlen(tail), tail) != 0) {
		snprintf(end, sizeof(end), "%s", len > 80 ? s + len - 80 : s);
		free(s);
		fail_msg("not one JSON object of at most %d bytes ending "
		    "\"...%s\": %zu bytes, ending \"%s\"", LINE_MAX_BYTES,
		    tail, len, end);
	}
	free(s);
}

/* The longest user name in JSON: 6 bytes per byte; still one object. */
static void
test_json_longest_user(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	const char *tail = ",\"id\":\"0.7\"}\n";
	char user[256], *s, end[81];
	size_t len, i;

	for (i = 0; i + 1 < 255; i += 2) {
		user[i] = (char)0xc3;
		user[i + 1] = (char)0xa9;	/* é */
	}
	user[254] = 'x';
	user[255] = '\0';
	example_record(&r, &client, &connected);
	r.user = user;
	s = log_one(f, &r);
	len = strlen(s);
	if (len > LINE_MAX_BYTES || strchr(s, '\n') != s + len - 1 ||
	    len < strlen(tail) || strcmp(s + len - strlen(tail), tail) != 0) {
		snprintf(end, sizeof(end), "%s", len > 80 ? s + len - 80 : s);
		free(s);
		fail_msg("not one JSON object of at most %d bytes: %zu bytes, "
		    "ending \"%s\"", LINE_MAX_BYTES, len, end);
	}
	assert_non_null(strstr(s, ",\"user\":\"\\u00c3\\u00a9\\u00c3"));
	free(s);
}

/* ----- syslog ----------------------------------------------------------- */

struct syslogd {
	char		dir[64];
	char		path[96];
	int		fd;
};

/* A unix datagram socket standing in for /dev/log. */
static void
syslogd_start(struct syslogd *d)
{
	struct sockaddr_un sun;

	if (d->dir[0] == '\0') {
		snprintf(d->dir, sizeof(d->dir), "/tmp/sluice-syslog-XXXXXX");
		assert_non_null(mkdtemp(d->dir));
		snprintf(d->path, sizeof(d->path), "%s/log", d->dir);
	}
	d->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(d->fd >= 0);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	assert_true(strlen(d->path) < sizeof(sun.sun_path));
	strcpy(sun.sun_path, d->path);
	assert_int_equal(bind(d->fd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
}

static void
syslogd_stop(struct syslogd *d, int remove_dir)
{
	close(d->fd);
	d->fd = -1;
	unlink(d->path);
	if (remove_dir)
		rmdir(d->dir);
}

/* The next datagram, NUL-terminated; "" when none is waiting. */
static void
syslogd_recv(struct syslogd *d, char *buf, size_t len)
{
	ssize_t n;

	n = recv(d->fd, buf, len - 1, MSG_DONTWAIT);
	if (n == -1) {
		assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
		n = 0;
	}
	buf[n] = '\0';
}

static void
test_syslog(void **state)
{
	struct syslogd d = { .fd = -1 };
	struct acct_log l;
	struct acct_record r;
	union sockaddr_u client, connected;
	struct event_base *base;
	char err[256], got[2048], want[2048], pfx[64];

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	syslogd_start(&d);
	snprintf(pfx, sizeof(pfx), "<30>sluice[%ld]: ", (long)getpid());
	err[0] = '\0';
	assert_int_equal(acct_log_open(&l, "syslog", CONF_LOG_SLUICE, d.path,
	    base, err, sizeof(err)), 0);
	assert_string_equal(err, "");
	assert_true(l.fd >= 0);
	assert_int_equal(l.syslog, 1);

	example_record(&r, &client, &connected);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	r.id = 8;
	r.user = NULL;
	acct_log_session(&l, &r, T_SEC + 1, 0);
	/* batched as for a file: nothing before the flush */
	syslogd_recv(&d, got, sizeof(got));
	assert_string_equal(got, "");
	acct_log_flush(&l);

	/* one datagram per line, without the newline */
	syslogd_recv(&d, got, sizeof(got));
	snprintf(want, sizeof(want), "%s" T_STR " proto=socks5 "
	    "client=127.0.0.1:5555 user=alice target=example.com:443 "
	    "connected=93.184.216.34:443 status=0x00 up=123 down=4567 "
	    "dur=12.345 end=done id=0.7", pfx);
	assert_string_equal(got, want);
	syslogd_recv(&d, got, sizeof(got));
	snprintf(want, sizeof(want), "%s2024-01-02T03:04:06.000Z "
	    "proto=socks5 client=127.0.0.1:5555 user=- "
	    "target=example.com:443 connected=93.184.216.34:443 status=0x00 "
	    "up=123 down=4567 dur=12.345 end=done id=0.8", pfx);
	assert_string_equal(got, want);
	syslogd_recv(&d, got, sizeof(got));
	assert_string_equal(got, "");
	assert_int_equal(l.lost, 0);
	assert_int_equal(l.len, 0);

	/* JSON through syslog */
	l.format = CONF_LOG_JSON;
	r.id = 7;
	r.user = "alice";
	acct_log_session(&l, &r, T_SEC, T_USEC);
	acct_log_close(&l);		/* flushes */
	syslogd_recv(&d, got, sizeof(got));
	snprintf(want, sizeof(want), "%s%s", pfx, JSON_EXAMPLE);
	want[strlen(want) - 1] = '\0';
	assert_string_equal(got, want);

	syslogd_stop(&d, 1);
	event_base_free(base);
}

/* syslogd restarted (a new socket at the same path): reopen reaches it. */
static void
test_syslog_reopen(void **state)
{
	struct syslogd d = { .fd = -1 };
	struct acct_log l;
	struct acct_record r;
	union sockaddr_u client, connected;
	struct event_base *base;
	char err[256], got[2048];

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	syslogd_start(&d);
	assert_int_equal(acct_log_open(&l, "syslog", CONF_LOG_SLUICE, d.path,
	    base, err, sizeof(err)), 0);
	example_record(&r, &client, &connected);
	syslogd_stop(&d, 0);
	syslogd_start(&d);
	assert_int_equal(acct_log_reopen(&l), 0);
	acct_log_session(&l, &r, T_SEC, T_USEC);
	acct_log_flush(&l);
	syslogd_recv(&d, got, sizeof(got));
	assert_non_null(strstr(got, " end=done id=0.7"));
	assert_int_equal(strncmp(got, "<30>sluice[", 11), 0);
	assert_int_equal(l.lost, 0);
	acct_log_close(&l);
	syslogd_stop(&d, 1);
	event_base_free(base);
}

static void
test_syslog_unreachable(void **state)
{
	struct acct_log l;
	struct event_base *base;
	char err[256];

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	err[0] = '\0';
	assert_int_equal(acct_log_open(&l, "syslog", CONF_LOG_SLUICE,
	    "/nonexistent-sluice-dir/log", base, err, sizeof(err)), -1);
	assert_int_equal(l.fd, -1);
	assert_int_equal(strncmp(err, "log.access: cannot reach syslog at "
	    "\"/nonexistent-sluice-dir/log\": ", 65), 0);
	acct_log_close(&l);
	event_base_free(base);
}

/* ----- reopen (logrotate) and replace (reload) --------------------- */

static void
test_log_reopen(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	char rotated[80], *s;

	snprintf(rotated, sizeof(rotated), "%s.1", f->path);
	example_record(&r, &client, &connected);
	r.id = 1;
	acct_log_session(&f->log, &r, T_SEC, T_USEC);
	acct_log_flush(&f->log);
	/* logrotate: rename, then SIGUSR1 */
	assert_int_equal(rename(f->path, rotated), 0);
	r.id = 2;
	acct_log_session(&f->log, &r, T_SEC, T_USEC);	/* buffered */
	assert_int_equal(acct_log_reopen(&f->log), 0);
	r.id = 3;
	acct_log_session(&f->log, &r, T_SEC, T_USEC);
	acct_log_flush(&f->log);

	s = slurp(rotated, NULL);
	assert_int_equal(strncmp(s, T_STR " proto=socks5 ", 30), 0);
	assert_non_null(strstr(s, " id=0.1\n" T_STR " proto=socks5 "));
	/* the line buffered before the reopen went to the old file, last */
	assert_true(strlen(s) > 8);
	assert_string_equal(s + strlen(s) - 8, " id=0.2\n");
	assert_null(strstr(s, "id=0.3"));
	free(s);
	s = slurp(f->path, NULL);
	assert_int_equal(strncmp(s, T_STR " proto=socks5 ", 30), 0);
	assert_non_null(strstr(s, " id=0.3\n"));
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
	free(s);
	unlink(rotated);
}

/* Reopen fails (a directory in the way): the old file stays in use. */
static void
test_log_reopen_fails(void **state)
{
	struct logfile *f = *state;
	struct acct_record r;
	union sockaddr_u client, connected;
	char rotated[80], errpath[] = "/tmp/sluice-acct-err-XXXXXX", *s;
	int saved;

	snprintf(rotated, sizeof(rotated), "%s.1", f->path);
	example_record(&r, &client, &connected);
	assert_int_equal(rename(f->path, rotated), 0);
	assert_int_equal(mkdir(f->path, 0700), 0);
	saved = redirect_stderr(errpath);
	assert_int_equal(acct_log_reopen(&f->log), -1);
	restore_stderr(saved);
	acct_log_session(&f->log, &r, T_SEC, T_USEC);
	acct_log_flush(&f->log);
	s = slurp(rotated, NULL);
	assert_non_null(strstr(s, " id=0.7\n"));
	free(s);
	s = slurp(errpath, NULL);
	assert_non_null(strstr(s, f->path));
	free(s);
	unlink(errpath);
	rmdir(f->path);
	/* the teardown unlinks f->path: give it a file */
	assert_int_equal(rename(rotated, f->path), 0);
}

/* stderr and "off" have nothing to reopen. */
static void
test_log_reopen_not_a_file(void **state)
{
	struct acct_log l;
	struct event_base *base;
	char err[64];

	(void)state;
	base = event_base_new();
	assert_non_null(base);
	assert_int_equal(acct_log_open(&l, "-", 0, NULL, base, err,
	    sizeof(err)), 0);
	assert_int_equal(acct_log_reopen(&l), 0);
	assert_int_equal(l.fd, STDERR_FILENO);
	acct_log_close(&l);
	assert_true(fcntl(STDERR_FILENO, F_GETFD) != -1);
	assert_int_equal(acct_log_open(&l, "off", 0, NULL, base, err,
	    sizeof(err)), 0);
	assert_int_equal(acct_log_reopen(&l), 0);
	assert_int_equal(l.fd, -1);
	acct_log_close(&l);
	event_base_free(base);
}

/*
 * A reload opens the new log beside the old one, then replaces it: what
 * the old one buffered goes to the old file, and the new one's timer
 * flushes the struct it now lives in.
 */
static void
test_log_replace(void **state)
{
	struct logfile *f = *state;
	struct acct_log src;
	struct acct_record r;
	union sockaddr_u client, connected;
	char path2[] = "/tmp/sluice-acct-new-XXXXXX", err[256], *s;
	int64_t deadline;
	int fd;

	fd = mkstemp(path2);
	assert_true(fd >= 0);
	close(fd);
	example_record(&r, &client, &connected);
	r.id = 1;
	acct_log_session(&f->log, &r, T_SEC, T_USEC);	/* old: buffered */
	assert_int_equal(f->log.armed, 1);
	assert_int_equal(acct_log_open(&src, path2, CONF_LOG_JSON, NULL,
	    f->base, err, sizeof(err)), 0);
	r.id = 2;
	acct_log_session(&src, &r, T_SEC, T_USEC);	/* new: buffered */
	assert_int_equal(src.armed, 1);

	acct_log_replace(&f->log, &src);
	assert_int_equal(src.fd, -1);
	assert_null(src.buf);
	assert_null(src.path);
	assert_int_equal(src.armed, 0);
	assert_int_equal(f->log.format, CONF_LOG_JSON);
	assert_int_equal(f->log.armed, 0);
	s = slurp(f->path, NULL);
	assert_non_null(strstr(s, " id=0.1\n"));
	assert_ptr_equal(strchr(s, '\n'), s + strlen(s) - 1);
	free(s);
	s = slurp(path2, NULL);
	assert_string_equal(s, "{\"time\":\"" T_STR "\",\"proto\":\"socks5\","
	    "\"client\":\"127.0.0.1:5555\",\"user\":\"alice\","
	    "\"target\":\"example.com:443\","
	    "\"connected\":\"93.184.216.34:443\",\"status\":\"0x00\","
	    "\"up\":123,\"down\":4567,\"duration\":12.345,\"end\":\"done\","
	    "\"id\":\"0.2\"}\n");
	free(s);
	/* closing the emptied src is harmless */
	acct_log_close(&src);

	/* the timer of the replaced log flushes it */
	r.id = 3;
	acct_log_session(&f->log, &r, T_SEC, T_USEC);
	assert_int_equal(f->log.armed, 1);
	deadline = clock_ms() + 2000;
	while (f->log.armed) {
		if (clock_ms() > deadline)
			fail_msg("the timer did not flush the log in 2 s");
		assert_int_not_equal(event_base_loop(f->base, EVLOOP_ONCE),
		    -1);
	}
	assert_int_equal(f->log.len, 0);
	s = slurp(path2, NULL);
	assert_non_null(strstr(s, "\"id\":\"0.2\"}\n{"));
	assert_non_null(strstr(s, "\"id\":\"0.3\"}\n"));
	free(s);
	/* the old file got nothing more */
	s = slurp(f->path, NULL);
	assert_null(strstr(s, "id=0.3"));
	free(s);
	/* the teardown closes f->log (now path2's) and unlinks f->path */
	unlink(path2);
}

/* auth.remember_client: an address remembered after an HTTP login */
static void
test_remember_expiry(void **state)
{
	struct iptable t;
	struct auth_user alice = { .name = (char *)"alice" };
	struct auth_user bob = { .name = (char *)"bob" };
	union sockaddr_u a, b;
	int i;

	(void)state;
	assert_int_equal(acct_remember_init(&t), 0);
	assert_int_equal(netaddr_parse_hostport("127.0.0.7:5000", &a, -1), 0);
	assert_int_equal(netaddr_parse_hostport("[::1]:5000", &b, -1), 0);
	assert_null(acct_remember_find(&t, &a, 1, 0));
	acct_remember_add(&t, &a, &alice, 1, 1000, 31000);
	/* the port does not matter, the family does */
	netaddr_set_port(&a, 6000);
	assert_ptr_equal(acct_remember_find(&t, &a, 1, 30999), &alice);
	assert_null(acct_remember_find(&t, &b, 1, 30999));
	/* a later login replaces it */
	acct_remember_add(&t, &a, &bob, 1, 2000, 32000);
	assert_ptr_equal(acct_remember_find(&t, &a, 1, 31500), &bob);
	assert_int_equal(t.count, 1);
	/* a login under another policy (a reload since) is not used */
	assert_null(acct_remember_find(&t, &a, 2, 31500));
	assert_int_equal(t.count, 1);
	/* expired: forgotten, and the entry is gone */
	assert_null(acct_remember_find(&t, &a, 1, 32000));
	assert_int_equal(t.count, 0);
	/* stale entries are swept as logins come */
	for (i = 0; i < 1100; i++) {
		union sockaddr_u c;

		memset(&c, 0, sizeof(c));
		c.in.sin_family = AF_INET;
		c.in.sin_addr.s_addr = htonl(0x0a000000u + (uint32_t)i);
		acct_remember_add(&t, &c, &alice, 1, 100000 + i, 100000 + i + 10);
	}
	assert_true(t.count < 1100);
	iptable_free(&t);
}

/*
 * log_format_time() keeps the date and time of the last second it
 * printed: later milliseconds of that second, a new second, an earlier
 * one and a short buffer must all come out right.
 */
static void
test_log_format_time(void **state)
{
	char ts[LOG_TIME_LEN], small[LOG_TIME_LEN - 1];

	(void)state;
	log_format_time(ts, sizeof(ts), 1795258140LL, 123456);
	assert_string_equal(ts, "2026-11-21T10:49:00.123Z");
	log_format_time(ts, sizeof(ts), 1795258140LL, 999999);
	assert_string_equal(ts, "2026-11-21T10:49:00.999Z");
	log_format_time(ts, sizeof(ts), 1795258141LL, 0);
	assert_string_equal(ts, "2026-11-21T10:49:01.000Z");
	log_format_time(ts, sizeof(ts), 0, 7000);
	assert_string_equal(ts, "1970-01-01T00:00:00.007Z");
	log_format_time(ts, sizeof(ts), 951868799LL, 50000);	/* leap day */
	assert_string_equal(ts, "2000-02-29T23:59:59.050Z");
	memset(small, 'x', sizeof(small));
	log_format_time(small, sizeof(small), 1795258140LL, 0);
	assert_string_equal(small, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clients_limit),
		cmocka_unit_test(test_clients_failed_acquire_not_counted),
		cmocka_unit_test(test_clients_v4_v6_distinct),
		cmocka_unit_test(test_clients_unlimited),
		cmocka_unit_test(test_remember_expiry),
		cmocka_unit_test(test_clients_release_unknown),
		cmocka_unit_test(test_clients_many),
		cmocka_unit_test(test_clients_free_with_entries),
		cmocka_unit_test(test_clients_rate),
		cmocka_unit_test(test_clients_limit_before_rate),
		cmocka_unit_test(test_clients_sweep),
		cmocka_unit_test(test_clients_sweep_on_acquire),
		cmocka_unit_test(test_hist),
		cmocka_unit_test_setup_teardown(test_log_line_format,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_user_quoting,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_ipv6,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_absent_fields,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_durations,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_longest_user,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_timer_flushes,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_appends,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_many_lines,
		    setup_log, teardown_log),
		cmocka_unit_test(test_log_stderr),
		cmocka_unit_test(test_log_write_error),
		cmocka_unit_test(test_log_off),
		cmocka_unit_test(test_log_open_fails),
		cmocka_unit_test_setup_teardown(test_json_line,
		    setup_json, teardown_log),
		cmocka_unit_test_setup_teardown(test_json_http,
		    setup_json, teardown_log),
		cmocka_unit_test_setup_teardown(test_json_absent_fields,
		    setup_json, teardown_log),
		cmocka_unit_test_setup_teardown(test_json_escaping,
		    setup_json, teardown_log),
		cmocka_unit_test_setup_teardown(test_json_long_url,
		    setup_json, teardown_log),
		cmocka_unit_test_setup_teardown(test_json_longest_user,
		    setup_json, teardown_log),
		cmocka_unit_test(test_end_counts),
		cmocka_unit_test(test_syslog),
		cmocka_unit_test(test_syslog_reopen),
		cmocka_unit_test(test_syslog_unreachable),
		cmocka_unit_test_setup_teardown(test_log_reopen,
		    setup_log, teardown_log),
		cmocka_unit_test_setup_teardown(test_log_reopen_fails,
		    setup_log, teardown_log),
		cmocka_unit_test(test_log_reopen_not_a_file),
		cmocka_unit_test(test_log_format_time),
		cmocka_unit_test_setup_teardown(test_log_replace,
		    setup_log, teardown_log),
	};

	return cmocka_run_group_tests_name("acct", tests, NULL, NULL);
}
