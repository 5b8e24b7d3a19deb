/*
 * Unit tests for the DNS cache: proxy/dnscache.c.
 *
 * The cache is a pure data structure: the time is passed in (ms), so expiry
 * is tested with an explicit clock.  Run under valgrind to prove the entry
 * and address-list lifetimes (nothing here frees behind the cache's back).
 */
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ares.h>

#include "dnscache.h"

static const struct siphash_key test_key = {
	0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL
};

/* A waiter embedded in a record of how it was called. */
struct test_waiter {
	struct dns_waiter w;
	int		calls;
	int		status;
	struct dns_addrs *addrs;
	struct test_waiter *cancel;	/* cancelled from the callback */
	int		*seq;		/* counts calls, if set */
	int		order;		/* 1 for the first call counted */
};

#define TW(p)	((struct test_waiter *)(void *)((char *)(p) - \
		    offsetof(struct test_waiter, w)))

static void
waiter_cb(struct dns_waiter *w, int status, struct dns_addrs *addrs)
{
	struct test_waiter *t = TW(w);

	/* unlinked before its callback runs */
	assert_null(w->pprev);
	t->calls++;
	t->status = status;
	t->addrs = addrs;
	if (t->seq != NULL)
		t->order = ++*t->seq;
	if (t->cancel != NULL)
		dns_waiter_cancel(&t->cancel->w);
}

static void
cache_init(struct dnscache *c, size_t max)
{
	assert_int_equal(dnscache_init(c, max, &test_key), 0);
}

/* A list of n IPv4 addresses 192.0.2.1, .2, ... */
static struct dns_addrs *
addrs_v4(int n)
{
	struct dns_addrs *a;
	int i;

	a = dns_addrs_new(n);
	assert_non_null(a);
	for (i = 0; i < n; i++) {
		a->a[i].in.sin_family = AF_INET;
		a->a[i].in.sin_addr.s_addr = htonl(0xc0000200u + (unsigned)i +
		    1);
	}
	a->n = n;
	return a;
}

/* Add name and complete it at once with one address. */
static struct dns_entry *
add_completed(struct dnscache *c, const char *name, int64_t ttl,
    int64_t now)
{
	struct dns_entry *e;

	e = dnscache_add_pending(c, name, now);
	assert_non_null(e);
	dnscache_complete(c, e, ARES_SUCCESS, addrs_v4(1), ttl, now);
	assert_int_equal(e->pending, 0);
	assert_int_equal(e->in_table, 1);
	return e;
}

/* Completed entries on the LRU ring. */
static size_t
lru_len(const struct dnscache *c)
{
	const struct dns_entry *e;
	size_t n = 0;

	for (e = c->lru.lru_next; e != &c->lru; e = e->lru_next)
		n++;
	return n;
}

/* ----- init ----------------------------------------------------------- */

static void
test_init_max0(void **state)
{
	struct dnscache c;

	(void)state;
	cache_init(&c, 0);
	assert_non_null(c.buckets);
	assert_int_equal(c.nbuckets, 64);
	assert_int_equal(c.count, 0);
	assert_int_equal(c.max, 0);
	assert_ptr_equal(c.lru.lru_next, &c.lru);
	assert_ptr_equal(c.lru.lru_prev, &c.lru);
	assert_null(dnscache_find(&c, "example.com", 0));
	dnscache_free(&c);
	assert_null(c.buckets);
	/* a second free is harmless */
	dnscache_free(&c);
}

static void
test_init_max4(void **state)
{
	struct dnscache c;

	(void)state;
	cache_init(&c, 4);
	assert_non_null(c.buckets);
	assert_int_equal(c.nbuckets, 64);
	assert_int_equal(c.count, 0);
	assert_int_equal(c.max, 4);
	assert_memory_equal(&c.key, &test_key, sizeof(test_key));
	dnscache_free(&c);
}

static void
test_init_large_max_starts_small(void **state)
{
	struct dnscache c;

	(void)state;
	/* a large cache costs nothing until names come */
	cache_init(&c, 100000);
	assert_int_equal(c.nbuckets, 64);
	assert_int_equal(c.max, 100000);
	dnscache_free(&c);
}

/* Buckets double whenever the table holds more entries than buckets. */
static void
test_table_grows_with_names(void **state)
{
	struct dnscache c;
	struct dns_entry *e;
	char name[32];
	int i;

	(void)state;
	cache_init(&c, 10000);
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "grow%d.example", i);
		if (i % 3 == 0) {
			/* some still in flight, the rest answered */
			assert_non_null(dnscache_add_pending(&c, name, 0));
		} else
			add_completed(&c, name, 60000, 0);
		assert_true(c.count <= c.nbuckets);
		assert_true(c.nbuckets <= 2 * (size_t)(i + 1) ||
		    c.nbuckets == 64);
	}
	assert_int_equal(c.count, 3000);
	assert_int_equal(c.nbuckets, 4096);
	assert_int_equal(c.cached, 2000);
	assert_int_equal(lru_len(&c), 2000);
	/* every entry is found, in flight or answered, after the moves */
	for (i = 0; i < 3000; i++) {
		snprintf(name, sizeof(name), "GROW%d.example", i);
		e = dnscache_find(&c, name, 1);
		assert_non_null(e);
		assert_int_equal(e->pending, i % 3 == 0);
		snprintf(name, sizeof(name), "grow%d.example", i);
		assert_string_equal(e->name, name);
	}
	/* chains hold only their own hash's entries */
	for (i = 0; i < (int)c.nbuckets; i++)
		for (e = c.buckets[i]; e != NULL; e = e->hnext)
			assert_int_equal(e->hash & (c.nbuckets - 1),
			    (uint64_t)i);
	for (i = 0; i < 3000; i += 3) {
		snprintf(name, sizeof(name), "grow%d.example", i);
		e = dnscache_find(&c, name, 1);
		dnscache_remove(&c, e);		/* pending: stays allocated */
		dnscache_entry_free(e);
	}
	assert_int_equal(c.count, 2000);
	dnscache_free(&c);
}

/* ----- pending, complete, expiry -------------------------------------- */

static void
test_add_pending_then_find(void **state)
{
	struct dnscache c;
	struct dns_entry *e;

	(void)state;
	cache_init(&c, 4);
	e = dnscache_add_pending(&c, "example.com", 500);
	assert_non_null(e);
	assert_int_equal(e->pending, 1);
	assert_int_equal(e->in_table, 1);
	assert_int_equal(e->started, 500);
	assert_null(e->addrs);
	assert_null(e->waiters);
	assert_string_equal(e->name, "example.com");
	assert_int_equal(c.count, 1);

	assert_ptr_equal(dnscache_find(&c, "example.com", 500), e);
	/* a query in flight never expires */
	assert_ptr_equal(dnscache_find(&c, "example.com", INT64_MAX / 2), e);
	assert_null(dnscache_find(&c, "example.org", 500));
	/* pending entries are not on the LRU ring */
	assert_int_equal(lru_len(&c), 0);
	assert_int_equal(c.count, 1);

	dnscache_free(&c);
	/* detached, not freed: the resolver frees it when its query ends */
	assert_int_equal(e->pending, 1);
	assert_int_equal(e->in_table, 0);
	dnscache_entry_free(e);
}

static void
test_complete_ttl_expiry(void **state)
{
	struct dnscache c;
	struct dns_entry *e;
	struct dns_addrs *a, *mine;

	(void)state;
	cache_init(&c, 4);
	e = dnscache_add_pending(&c, "example.com", 1000);
	assert_non_null(e);
	a = addrs_v4(2);
	dnscache_complete(&c, e, ARES_SUCCESS, a, 30000, 1000);
	assert_int_equal(e->pending, 0);
	assert_int_equal(e->in_table, 1);
	assert_int_equal(e->expires, 31000);
	assert_int_equal(c.count, 1);
	assert_int_equal(lru_len(&c), 1);

	assert_ptr_equal(dnscache_find(&c, "example.com", 30999), e);
	assert_int_equal(e->status, ARES_SUCCESS);
	assert_ptr_equal(e->addrs, a);
	assert_int_equal(a->refs, 1);		/* the entry's */
	assert_int_equal(a->n, 2);
	assert_int_equal(ntohl(a->a[0].in.sin_addr.s_addr), 0xc0000201u);
	assert_int_equal(ntohl(a->a[1].in.sin_addr.s_addr), 0xc0000202u);

	/* a session takes its own reference, as resolver_lookup() does */
	mine = dns_addrs_ref(e->addrs);
	assert_ptr_equal(mine, a);
	assert_int_equal(a->refs, 2);

	/* expires at exactly now + ttl: removed and freed */
	assert_null(dnscache_find(&c, "example.com", 31000));
	assert_int_equal(c.count, 0);
	assert_int_equal(lru_len(&c), 0);
	assert_int_equal(a->refs, 1);		/* ours survives the entry */
	assert_null(dnscache_find(&c, "example.com", 31000));
	assert_int_equal(mine->n, 2);
	dns_addrs_release(mine);
	dnscache_free(&c);
}

static void
test_complete_expired_find_later(void **state)
{
	struct dnscache c;

	(void)state;
	cache_init(&c, 4);
	(void)add_completed(&c, "a.example", 100, 0);
	(void)add_completed(&c, "b.example", 1000, 0);
	assert_int_equal(c.count, 2);
	/* a.example expired: dropped by the lookup; b stays */
	assert_null(dnscache_find(&c, "a.example", 500));
	assert_int_equal(c.count, 1);
	assert_int_equal(lru_len(&c), 1);
	assert_non_null(dnscache_find(&c, "b.example", 500));
	/* the ring is still sound after the unlink */
	(void)add_completed(&c, "c.example", 1000, 600);
	assert_int_equal(lru_len(&c), 2);
	assert_ptr_equal(c.lru.lru_next->lru_prev, &c.lru);
	assert_ptr_equal(c.lru.lru_prev->lru_next, &c.lru);
	dnscache_free(&c);
}

static void
test_complete_ttl_zero_leaves_table(void **state)
{
	struct dnscache c;
	struct dns_entry *e;
	struct dns_addrs *a;

	(void)state;
	cache_init(&c, 4);
	e = dnscache_add_pending(&c, "example.com", 1000);
	assert_non_null(e);
	a = addrs_v4(1);
	dnscache_complete(&c, e, ARES_SUCCESS, a, 0, 1000);
	assert_int_equal(e->in_table, 0);
	assert_int_equal(e->pending, 0);
	assert_int_equal(e->status, ARES_SUCCESS);
	assert_ptr_equal(e->addrs, a);
	assert_int_equal(a->refs, 1);
	assert_int_equal(c.count, 0);
	assert_int_equal(lru_len(&c), 0);
	assert_null(dnscache_find(&c, "example.com", 1000));
	/* the owner frees it after notifying the waiters */
	dnscache_entry_free(e);

	/* a negative TTL is no better */
	e = dnscache_add_pending(&c, "example.com", 1000);
	assert_non_null(e);
	dnscache_complete(&c, e, ARES_ETIMEOUT, NULL, -5, 1000);
	assert_int_equal(e->in_table, 0);
	assert_int_equal(e->status, ARES_ETIMEOUT);
	assert_int_equal(c.count, 0);
	dnscache_entry_free(e);
	dnscache_free(&c);
}

static void
test_complete_negative_answer_cached(void **state)
{
	struct dnscache c;
	struct dns_entry *e;

	(void)state;
	cache_init(&c, 4);
	e = dnscache_add_pending(&c, "nx.example", 0);
	assert_non_null(e);
	dnscache_complete(&c, e, ARES_ENOTFOUND, NULL, 10000, 0);
	assert_int_equal(e->in_table, 1);
	assert_ptr_equal(dnscache_find(&c, "nx.example", 9999), e);
	assert_int_equal(e->status, ARES_ENOTFOUND);
	assert_null(e->addrs);
	assert_null(dnscache_find(&c, "nx.example", 10000));
	assert_int_equal(c.count, 0);
	dnscache_free(&c);
}

static void
test_max0_keeps_nothing(void **state)
{
	struct dnscache c;
	struct dns_entry *e;

	(void)state;
	cache_init(&c, 0);
	e = dnscache_add_pending(&c, "example.com", 0);
	assert_non_null(e);
	/* lookups in flight are still shared */
	assert_ptr_equal(dnscache_find(&c, "example.com", 1), e);
	assert_int_equal(c.count, 1);
	dnscache_complete(&c, e, ARES_SUCCESS, addrs_v4(3), 60000, 1);
	assert_int_equal(e->in_table, 0);
	assert_int_equal(e->pending, 0);
	assert_int_equal(e->addrs->n, 3);
	assert_int_equal(c.count, 0);
	assert_int_equal(lru_len(&c), 0);
	assert_null(dnscache_find(&c, "example.com", 2));
	dnscache_entry_free(e);
	dnscache_free(&c);
}

/* ----- names ---------------------------------------------------------- */

static void
test_case_insensitive(void **state)
{
	struct dnscache c;
	struct dns_entry *e;

	(void)state;
	cache_init(&c, 4);
	e = dnscache_add_pending(&c, "Example.COM", 0);
	assert_non_null(e);
	assert_string_equal(e->name, "example.com");
	assert_ptr_equal(dnscache_find(&c, "example.com", 0), e);
	assert_ptr_equal(dnscache_find(&c, "EXAMPLE.COM", 0), e);
	dnscache_complete(&c, e, ARES_SUCCESS, addrs_v4(1), 1000, 0);
	assert_ptr_equal(dnscache_find(&c, "eXaMpLe.CoM", 10), e);
	assert_null(dnscache_find(&c, "example.co", 10));
	assert_null(dnscache_find(&c, "example.comm", 10));
	assert_int_equal(c.count, 1);
	dnscache_free(&c);
}

static void
test_name_255_ok_256_rejected(void **state)
{
	struct dnscache c;
	struct dns_entry *e;
	char n255[256], n256[257], up255[256];
	size_t count;

	(void)state;
	memset(n255, 'a', 255);
	n255[255] = '\0';
	memset(up255, 'A', 255);
	up255[255] = '\0';
	memset(n256, 'a', 256);
	n256[256] = '\0';

	cache_init(&c, 4);
	e = dnscache_add_pending(&c, n255, 0);
	assert_non_null(e);
	assert_int_equal(strlen(e->name), 255);
	assert_string_equal(e->name, n255);
	assert_ptr_equal(dnscache_find(&c, n255, 0), e);
	assert_ptr_equal(dnscache_find(&c, up255, 0), e);
	count = c.count;

	assert_null(dnscache_add_pending(&c, n256, 0));
	assert_int_equal(c.count, count);
	/* not a prefix match on the first 255 bytes either */
	assert_null(dnscache_find(&c, n256, 0));

	dnscache_complete(&c, e, ARES_SUCCESS, addrs_v4(1), 1000, 0);
	assert_ptr_equal(dnscache_find(&c, n255, 1), e);
	assert_null(dnscache_find(&c, n256, 1));

	/* the empty name is just a name */
	e = dnscache_add_pending(&c, "", 0);
	assert_non_null(e);
	assert_ptr_equal(dnscache_find(&c, "", 0), e);
	dnscache_free(&c);
	dnscache_entry_free(e);
}

static void
test_many_names_share_buckets(void **state)
{
	struct dnscache c;
	struct dns_entry *e[1000];
	char name[32];
	int i;

	(void)state;
	cache_init(&c, 0);	/* pending entries grow the table too */
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "host%d.example", i);
		e[i] = dnscache_add_pending(&c, name, 0);
		assert_non_null(e[i]);
	}
	assert_int_equal(c.count, 1000);
	for (i = 0; i < 1000; i += 2)
		dnscache_remove(&c, e[i]);	/* pending: stays allocated */
	assert_int_equal(c.count, 500);
	for (i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "HOST%d.example", i);
		if (i % 2 == 0) {
			assert_null(dnscache_find(&c, name, 0));
			assert_int_equal(e[i]->in_table, 0);
		} else
			assert_ptr_equal(dnscache_find(&c, name, 0), e[i]);
	}
	dnscache_free(&c);
	for (i = 0; i < 1000; i++) {
		assert_int_equal(e[i]->in_table, 0);
		dnscache_entry_free(e[i]);
	}
}

/* ----- LRU ------------------------------------------------------------ */

static void
test_lru_evicts_oldest(void **state)
{
	struct dnscache c;
	struct dns_entry *b, *cc;

	(void)state;
	cache_init(&c, 2);
	(void)add_completed(&c, "a.example", 60000, 1);
	b = add_completed(&c, "b.example", 60000, 2);
	cc = add_completed(&c, "c.example", 60000, 3);
	assert_int_equal(c.count, 2);
	assert_int_equal(lru_len(&c), 2);
	assert_null(dnscache_find(&c, "a.example", 4));
	assert_ptr_equal(dnscache_find(&c, "b.example", 4), b);
	assert_ptr_equal(dnscache_find(&c, "c.example", 4), cc);
	dnscache_free(&c);
}

static void
test_lru_find_refreshes(void **state)
{
	struct dnscache c;
	struct dns_entry *a, *cc;

	(void)state;
	cache_init(&c, 2);
	a = add_completed(&c, "a.example", 60000, 1);
	(void)add_completed(&c, "b.example", 60000, 2);
	assert_ptr_equal(dnscache_find(&c, "a.example", 3), a);
	cc = add_completed(&c, "c.example", 60000, 4);
	assert_int_equal(c.count, 2);
	assert_null(dnscache_find(&c, "b.example", 5));
	assert_ptr_equal(dnscache_find(&c, "a.example", 5), a);
	assert_ptr_equal(dnscache_find(&c, "c.example", 5), cc);
	/* the ring is oldest first: a was found before c */
	assert_ptr_equal(c.lru.lru_next, a);
	assert_ptr_equal(c.lru.lru_prev, cc);
	dnscache_free(&c);
}

static void
test_lru_pending_never_evicted(void **state)
{
	struct dnscache c;
	struct dns_entry *p[3], *last = NULL;
	char name[32];
	int i;

	(void)state;
	cache_init(&c, 2);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "pending%d.example", i);
		p[i] = dnscache_add_pending(&c, name, 0);
		assert_non_null(p[i]);
	}
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "done%d.example", i);
		last = add_completed(&c, name, 60000, 10 + i);
		/* exactly max completed entries once there are that many:
		   lookups in flight do not take their room */
		assert_int_equal(lru_len(&c), i < 2 ? i + 1 : 2);
		assert_int_equal(c.cached, lru_len(&c));
	}
	/* the newest completed entry is kept */
	assert_ptr_equal(dnscache_find(&c, "done4.example", 20), last);
	for (i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "pending%d.example", i);
		assert_ptr_equal(dnscache_find(&c, name, 20), p[i]);
		assert_int_equal(p[i]->pending, 1);
		assert_int_equal(p[i]->in_table, 1);
	}
	assert_int_equal(c.count, 3 + lru_len(&c));
	/* a pending entry completing late is kept as the youngest */
	dnscache_complete(&c, p[0], ARES_SUCCESS, addrs_v4(1), 60000, 30);
	assert_int_equal(p[0]->in_table, 1);
	assert_ptr_equal(c.lru.lru_prev, p[0]);
	assert_ptr_equal(dnscache_find(&c, "pending0.example", 31), p[0]);
	dnscache_free(&c);
	dnscache_entry_free(p[1]);
	dnscache_entry_free(p[2]);
}

/* ----- remove --------------------------------------------------------- */

static void
test_remove_pending_keeps_it(void **state)
{
	struct dnscache c;
	struct dns_entry *e, *e2;

	(void)state;
	cache_init(&c, 4);
	e = dnscache_add_pending(&c, "example.com", 0);
	assert_non_null(e);
	dnscache_remove(&c, e);
	assert_int_equal(e->pending, 1);
	assert_int_equal(e->in_table, 0);
	assert_string_equal(e->name, "example.com");	/* still allocated */
	assert_int_equal(c.count, 0);
	assert_null(dnscache_find(&c, "example.com", 0));

	/* a new lookup of the name gets a new entry */
	e2 = dnscache_add_pending(&c, "example.com", 1);
	assert_non_null(e2);
	assert_ptr_not_equal(e2, e);
	assert_ptr_equal(dnscache_find(&c, "example.com", 1), e2);

	/* the old query ends: out of the table, nothing is cached */
	dnscache_complete(&c, e, ARES_SUCCESS, addrs_v4(1), 60000, 2);
	assert_int_equal(e->in_table, 0);
	assert_int_equal(e->pending, 0);
	assert_int_equal(e->addrs->n, 1);
	assert_int_equal(c.count, 1);
	assert_int_equal(lru_len(&c), 0);
	assert_ptr_equal(dnscache_find(&c, "example.com", 3), e2);
	dnscache_entry_free(e);

	dnscache_free(&c);
	dnscache_entry_free(e2);
}

static void
test_remove_completed_frees_it(void **state)
{
	struct dnscache c;
	struct dns_entry *e;
	struct dns_addrs *a;

	(void)state;
	cache_init(&c, 4);
	e = add_completed(&c, "example.com", 60000, 0);
	a = dns_addrs_ref(e->addrs);
	assert_int_equal(a->refs, 2);
	dnscache_remove(&c, e);		/* freed: do not touch e again */
	assert_int_equal(c.count, 0);
	assert_int_equal(lru_len(&c), 0);
	assert_int_equal(a->refs, 1);
	assert_null(dnscache_find(&c, "example.com", 1));
	dns_addrs_release(a);
	dnscache_free(&c);
}

/* ----- waiters -------------------------------------------------------- */

static void
test_waiters_notified_once(void **state)
{
	struct dnscache c;
	struct dns_entry *e;
	struct test_waiter t[3];
	struct dns_addrs *a;
	int i;

	(void)state;
	memset(t, 0, sizeof(t));
	cache_init(&c, 4);
	e = dnscache_add_pending(&c, "example.com", 0);
	assert_non_null(e);
	for (i = 0; i < 3; i++) {
		t[i].status = -1;
		dnscache_wait(e, &t[i].w, waiter_cb);
		assert_non_null(t[i].w.pprev);
	}
	a = addrs_v4(2);
	dnscache_complete(&c, e, ARES_SUCCESS, a, 60000, 5);
	for (i = 0; i < 3; i++)
		assert_int_equal(t[i].calls, 0);
	dnscache_notify(e);
	for (i = 0; i < 3; i++) {
		assert_int_equal(t[i].calls, 1);
		assert_int_equal(t[i].status, ARES_SUCCESS);
		assert_ptr_equal(t[i].addrs, a);
		assert_null(t[i].w.pprev);
		assert_null(t[i].w.next);
	}
	assert_null(e->waiters);
	assert_int_equal(a->refs, 1);	/* borrowed, not taken */
	/* nobody left to tell */
	dnscache_notify(e);
	for (i = 0; i < 3; i++)
		assert_int_equal(t[i].calls, 1);
	dnscache_free(&c);
}

static void
test_waiters_failure_status(void **state)
{
	struct dnscache c;
	struct dns_entry *e;
	struct test_waiter t;

	(void)state;
	memset(&t, 0, sizeof(t));
	cache_init(&c, 4);
	e = dnscache_add_pending(&c, "nx.example", 0);
	assert_non_null(e);
	dnscache_wait(e, &t.w, waiter_cb);
	t.addrs = (struct dns_addrs *)&t;	/* must be overwritten */
	dnscache_complete(&c, e, ARES_ENOTFOUND, NULL, 0, 1);
	dnscache_notify(e);
	assert_int_equal(t.calls, 1);
	assert_int_equal(t.status, ARES_ENOTFOUND);
	assert_null(t.addrs);
	dnscache_entry_free(e);
	dnscache_free(&c);
}

static void
test_waiter_cancels_other(void **state)
{
	struct dnscache c;
	struct dns_entry *e;
	struct test_waiter t[3];
	int i, seq, first;

	(void)state;
	memset(t, 0, sizeof(t));
	cache_init(&c, 4);
	e = dnscache_add_pending(&c, "example.com", 0);
	assert_non_null(e);
	/* whichever of t[0], t[1] runs first cancels the other one */
	t[0].cancel = &t[1];
	t[1].cancel = &t[0];
	dnscache_wait(e, &t[0].w, waiter_cb);
	dnscache_wait(e, &t[1].w, waiter_cb);
	dnscache_wait(e, &t[2].w, waiter_cb);
	dnscache_complete(&c, e, ARES_SUCCESS, addrs_v4(1), 0, 1);
	dnscache_notify(e);
	assert_int_equal(t[0].calls + t[1].calls, 1);
	assert_int_equal(t[2].calls, 1);
	assert_null(t[0].w.pprev);
	assert_null(t[1].w.pprev);
	assert_null(e->waiters);
	dnscache_entry_free(e);

	/*
	 * A ring: t[i] cancels t[(i + 1) % 3].  Whatever the order of the
	 * calls, the first one called cancels its (not yet called) target,
	 * and the remaining one is called; its own target was called already.
	 */
	memset(t, 0, sizeof(t));
	seq = 0;
	e = dnscache_add_pending(&c, "example.com", 2);
	assert_non_null(e);
	for (i = 0; i < 3; i++) {
		t[i].cancel = &t[(i + 1) % 3];
		t[i].seq = &seq;
		dnscache_wait(e, &t[i].w, waiter_cb);
	}
	dnscache_complete(&c, e, ARES_SUCCESS, addrs_v4(1), 0, 3);
	dnscache_notify(e);
	assert_int_equal(t[0].calls + t[1].calls + t[2].calls, 2);
	first = -1;
	for (i = 0; i < 3; i++)
		if (t[i].calls == 1 && t[i].order == 1)
			first = i;
	assert_true(first != -1);
	assert_int_equal(t[(first + 1) % 3].calls, 0);
	assert_int_equal(t[(first + 2) % 3].calls, 1);
	assert_int_equal(t[(first + 2) % 3].order, 2);
	assert_null(e->waiters);
	dnscache_entry_free(e);
	dnscache_free(&c);
}

static void
test_waiter_cancel_self_in_callback(void **state)
{
	struct dnscache c;
	struct dns_entry *e;
	struct test_waiter t[2];

	(void)state;
	memset(t, 0, sizeof(t));
	cache_init(&c, 4);
	e = dnscache_add_pending(&c, "example.com", 0);
	assert_non_null(e);
	t[0].cancel = &t[0];		/* already unlinked: a no-op */
	t[1].cancel = &t[1];
	dnscache_wait(e, &t[0].w, waiter_cb);
	dnscache_wait(e, &t[1].w, waiter_cb);
	dnscache_complete(&c, e, ARES_SUCCESS, addrs_v4(1), 0, 1);
	dnscache_notify(e);
	assert_int_equal(t[0].calls, 1);
	assert_int_equal(t[1].calls, 1);
	dnscache_entry_free(e);
	dnscache_free(&c);
}

static void
test_waiter_cancel_not_waiting(void **state)
{
	struct dnscache c;
	struct dns_entry *e;
	struct test_waiter t[3], idle;
	int i;

	(void)state;
	memset(t, 0, sizeof(t));
	memset(&idle, 0, sizeof(idle));
	/* never waited */
	dns_waiter_cancel(&idle.w);
	assert_null(idle.w.pprev);
	assert_null(idle.w.next);

	cache_init(&c, 4);
	e = dnscache_add_pending(&c, "example.com", 0);
	assert_non_null(e);
	for (i = 0; i < 3; i++)
		dnscache_wait(e, &t[i].w, waiter_cb);
	/* cancel the middle one of the list, then again: a no-op */
	dns_waiter_cancel(&t[1].w);
	assert_null(t[1].w.pprev);
	dns_waiter_cancel(&t[1].w);
	/* and the head (the last to wait) */
	dns_waiter_cancel(&t[2].w);
	assert_ptr_equal(e->waiters, &t[0].w);
	assert_ptr_equal(t[0].w.pprev, &e->waiters);
	assert_null(t[0].w.next);
	dnscache_complete(&c, e, ARES_SUCCESS, addrs_v4(1), 60000, 1);
	dnscache_notify(e);
	assert_int_equal(t[0].calls, 1);
	assert_int_equal(t[1].calls, 0);
	assert_int_equal(t[2].calls, 0);
	/* after being told */
	dns_waiter_cancel(&t[0].w);
	assert_null(t[0].w.pprev);
	assert_null(e->waiters);
	dnscache_free(&c);
}

/* ----- address lists -------------------------------------------------- */

static void
test_addrs_refcount(void **state)
{
	struct dns_addrs *a, *b;

	(void)state;
	a = dns_addrs_new(DNS_MAX_ADDRS);
	assert_non_null(a);
	assert_int_equal(a->refs, 1);
	assert_int_equal(a->n, 0);
	/* zeroed room for all the addresses */
	assert_int_equal(a->a[DNS_MAX_ADDRS - 1].sa.sa_family, AF_UNSPEC);
	b = dns_addrs_ref(a);
	assert_ptr_equal(b, a);
	assert_int_equal(a->refs, 2);
	assert_ptr_equal(dns_addrs_ref(a), a);
	assert_int_equal(a->refs, 3);
	dns_addrs_release(a);
	dns_addrs_release(b);
	assert_int_equal(a->refs, 1);
	dns_addrs_release(a);		/* freed: valgrind says if it is not */

	a = dns_addrs_new(0);
	assert_non_null(a);
	assert_int_equal(a->refs, 1);
	dns_addrs_release(a);

	assert_null(dns_addrs_ref(NULL));
	dns_addrs_release(NULL);
}

/* ----- free ----------------------------------------------------------- */

static void
test_free_mixed(void **state)
{
	struct dnscache c;
	struct dns_entry *p1, *p2, *gone;
	struct dns_addrs *held;

	(void)state;
	cache_init(&c, 4);
	(void)add_completed(&c, "a.example", 60000, 0);
	held = dns_addrs_ref(add_completed(&c, "b.example", 60000, 0)->addrs);
	p1 = dnscache_add_pending(&c, "p1.example", 0);
	p2 = dnscache_add_pending(&c, "p2.example", 0);
	gone = dnscache_add_pending(&c, "gone.example", 0);
	assert_non_null(p1);
	assert_non_null(p2);
	assert_non_null(gone);
	dnscache_remove(&c, gone);
	assert_int_equal(c.count, 4);

	dnscache_free(&c);
	assert_null(c.buckets);
	assert_int_equal(c.count, 0);
	/* completed entries went with the cache, and their reference */
	assert_int_equal(held->refs, 1);
	dns_addrs_release(held);
	/* pending ones stay for their owner */
	assert_int_equal(p1->pending, 1);
	assert_int_equal(p1->in_table, 0);
	assert_string_equal(p1->name, "p1.example");
	assert_int_equal(p2->pending, 1);
	assert_int_equal(p2->in_table, 0);
	/* as the resolver's ARES_EDESTRUCTION callback does */
	dnscache_entry_free(p1);
	dnscache_entry_free(p2);
	dnscache_entry_free(gone);
	dnscache_entry_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_max0),
		cmocka_unit_test(test_init_max4),
		cmocka_unit_test(test_init_large_max_starts_small),
		cmocka_unit_test(test_table_grows_with_names),
		cmocka_unit_test(test_add_pending_then_find),
		cmocka_unit_test(test_complete_ttl_expiry),
		cmocka_unit_test(test_complete_expired_find_later),
		cmocka_unit_test(test_complete_ttl_zero_leaves_table),
		cmocka_unit_test(test_complete_negative_answer_cached),
		cmocka_unit_test(test_max0_keeps_nothing),
		cmocka_unit_test(test_case_insensitive),
		cmocka_unit_test(test_name_255_ok_256_rejected),
		cmocka_unit_test(test_many_names_share_buckets),
		cmocka_unit_test(test_lru_evicts_oldest),
		cmocka_unit_test(test_lru_find_refreshes),
		cmocka_unit_test(test_lru_pending_never_evicted),
		cmocka_unit_test(test_remove_pending_keeps_it),
		cmocka_unit_test(test_remove_completed_frees_it),
		cmocka_unit_test(test_waiters_notified_once),
		cmocka_unit_test(test_waiters_failure_status),
		cmocka_unit_test(test_waiter_cancels_other),
		cmocka_unit_test(test_waiter_cancel_self_in_callback),
		cmocka_unit_test(test_waiter_cancel_not_waiting),
		cmocka_unit_test(test_addrs_refcount),
		cmocka_unit_test(test_free_mixed),
	};

	return cmocka_run_group_tests_name("dnscache", tests, NULL, NULL);
}
