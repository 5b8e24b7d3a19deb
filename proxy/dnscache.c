/*
 * DNS cache: see dnscache.h.
 *
 * Lifetime of an entry: dnscache_add_pending() puts it in the table with a
 * query in flight; dnscache_complete() records the answer and either keeps
 * it (TTL > 0, cache on) on the LRU ring or takes it out of the table.  An
 * entry out of the table is freed by its owner (the resolver) once its
 * waiters were told, or at once by dnscache_remove() when nothing is in
 * flight.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "dnscache.h"

#define MIN_BUCKETS	64
#define MAX_BUCKETS	((size_t)1 << 24)

/*
 * A list with room for n addresses and n = 0; one reference.
 */
struct dns_addrs *
dns_addrs_new(int n)
{
	struct dns_addrs *a;

	a = calloc(1, sizeof(*a) + (size_t)n * sizeof(a->a[0]));
	if (a != NULL)
		a->refs = 1;
	return a;
}

struct dns_addrs *
dns_addrs_ref(struct dns_addrs *a)
{
	if (a != NULL)
		a->refs++;
	return a;
}

void
dns_addrs_release(struct dns_addrs *a)
{
	if (a != NULL && --a->refs == 0)
		free(a);
}

/*
 * An empty cache keeping at most max completed entries (0: keep none,
 * lookups in flight are still shared).  The table starts small and doubles
 * as names come (grow()), so a worker that resolves little holds little,
 * and a reload that raises dns.cache_size needs no rebuild.  Returns 0, or
 * -1 (ENOMEM).
 */
int
dnscache_init(struct dnscache *c, size_t max, const struct siphash_key *key)
{
	memset(c, 0, sizeof(*c));
	c->buckets = calloc(MIN_BUCKETS, sizeof(*c->buckets));
	if (c->buckets == NULL)
		return -1;
	c->nbuckets = MIN_BUCKETS;
	c->max = max;
	c->key = *key;
	c->lru.lru_prev = c->lru.lru_next = &c->lru;
	return 0;
}

/*
 * Twice the buckets once the table holds more entries than buckets.
 * Without memory the table stays as it is: chains grow longer, lookups
 * stay right.
 */
static void
grow(struct dnscache *c)
{
	struct dns_entry **nb, *e;
	size_t i, n = c->nbuckets * 2;

	if (c->count <= c->nbuckets || n > MAX_BUCKETS ||
	    (nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	for (i = 0; i < c->nbuckets; i++)
		while ((e = c->buckets[i]) != NULL) {
			c->buckets[i] = e->hnext;
			e->hnext = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	free(c->buckets);
	c->buckets = nb;
	c->nbuckets = n;
}

void
dnscache_entry_free(struct dns_entry *e)
{
	if (e == NULL)
		return;
	dns_addrs_release(e->addrs);
	free(e);
}

static void
lru_unlink(struct dnscache *c, struct dns_entry *e)
{
	if (e->lru_next == NULL)
		return;
	c->cached--;
	e->lru_prev->lru_next = e->lru_next;
	e->lru_next->lru_prev = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void
lru_append(struct dnscache *c, struct dns_entry *e)
{
	e->lru_prev = c->lru.lru_prev;
	e->lru_next = &c->lru;
	c->lru.lru_prev->lru_next = e;
	c->lru.lru_prev = e;
	c->cached++;
}

/*
 * Take e out of the table.  A completed entry is freed; one with a query in
 * flight stays allocated for its owner to free when the query ends.
 */
void
dnscache_remove(struct dnscache *c, struct dns_entry *e)
{
	struct dns_entry **pp;

	if (e->in_table) {
		pp = &c->buckets[e->hash & (c->nbuckets - 1)];
		while (*pp != e)
			pp = &(*pp)->hnext;
		*pp = e->hnext;
		e->hnext = NULL;
		e->in_table = 0;
		c->count--;
	}
	lru_unlink(c, e);
	if (!e->pending)
		dnscache_entry_free(e);
}

/*
 * Empty the cache.  Entries with a query in flight are only detached (their
 * owner frees them when the query ends, as ares_destroy() makes it).
 */
void
dnscache_free(struct dnscache *c)
{
	struct dns_entry *e;
	size_t i;

	if (c->buckets == NULL)
		return;
	for (i = 0; i < c->nbuckets; i++)
		while ((e = c->buckets[i]) != NULL)
			dnscache_remove(c, e);
	free(c->buckets);
	c->buckets = NULL;
}

/* Lower-case copy into buf (256 bytes); returns the length or -1. */
static int
fold(const char *name, char *buf)
{
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		if (i >= 255)
			return -1;
		buf[i] = (char)tolower((unsigned char)name[i]);
	}
	buf[i] = '\0';
	return (int)i;
}

/*
 * The entry for name (case-insensitive), or NULL.  An expired entry is
 * dropped and NULL returned.  A hit moves to the young end of the LRU ring.
 */
struct dns_entry *
dnscache_find(struct dnscache *c, const char *name, int64_t now)
{
	struct dns_entry *e;
	char key[256];
	uint64_t h;
	int len;

	if ((len = fold(name, key)) == -1)
		return NULL;
	h = siphash64(&c->key, key, (size_t)len);
	for (e = c->buckets[h & (c->nbuckets - 1)]; e != NULL; e = e->hnext) {
		if (e->hash != h || strcmp(e->name, key) != 0)
			continue;
		if (!e->pending && e->expires <= now) {
			dnscache_remove(c, e);
			return NULL;
		}
		if (!e->pending) {
			lru_unlink(c, e);
			lru_append(c, e);
		}
		return e;
	}
	return NULL;
}

/*
 * A new entry for name with its query in flight, in the table.  NULL on
 * allocation failure or a name longer than 255 bytes.
 */
struct dns_entry *
dnscache_add_pending(struct dnscache *c, const char *name, int64_t now)
{
	struct dns_entry *e;
	char key[256];
	size_t slot;
	int len;

	if ((len = fold(name, key)) == -1)
		return NULL;
	if ((e = calloc(1, sizeof(*e) + (size_t)len + 1)) == NULL)
		return NULL;
	memcpy(e->name, key, (size_t)len + 1);
	e->hash = siphash64(&c->key, key, (size_t)len);
	e->pending = 1;
	e->started = now;
	e->in_table = 1;
	slot = e->hash & (c->nbuckets - 1);
	e->hnext = c->buckets[slot];
	c->buckets[slot] = e;
	c->count++;
	grow(c);
	return e;
}

/*
 * Record the answer: status (0 or ARES_*) and addrs (the entry takes that
 * reference; NULL on failure).  With ttl_ms > 0 and room in the cache the
 * entry stays until now + ttl_ms; otherwise it leaves the table (its owner
 * frees it after dnscache_notify()).  Completing may evict the oldest
 * completed entries.
 */
void
dnscache_complete(struct dnscache *c, struct dns_entry *e, int status,
    struct dns_addrs *addrs, int64_t ttl_ms, int64_t now)
{
	e->pending = 0;
	e->status = status;
	e->addrs = addrs;
	if (!e->in_table)
		return;
	if (ttl_ms <= 0 || c->max == 0) {
		e->pending = 1;		/* keep it allocated for the owner */
		dnscache_remove(c, e);
		e->pending = 0;
		return;
	}
	e->expires = now + ttl_ms;
	lru_append(c, e);
	while (c->cached > c->max && c->lru.lru_next != e)
		dnscache_remove(c, c->lru.lru_next);
}

/*
 * Wait on a pending entry: cb runs from dnscache_notify().
 */
void
dnscache_wait(struct dns_entry *e, struct dns_waiter *w, dns_waiter_cb cb)
{
	w->cb = cb;
	w->next = e->waiters;
	if (w->next != NULL)
		w->next->pprev = &w->next;
	w->pprev = &e->waiters;
	e->waiters = w;
}

/*
 * Stop waiting; safe to call on a waiter that is not waiting.
 */
void
dns_waiter_cancel(struct dns_waiter *w)
{
	if (w->pprev == NULL)
		return;
	*w->pprev = w->next;
	if (w->next != NULL)
		w->next->pprev = w->pprev;
	w->next = NULL;
	w->pprev = NULL;
}

/*
 * Tell every waiter the answer.  A callback may cancel other waiters of the
 * same entry (they are then skipped) but must not free e.
 */
void
dnscache_notify(struct dns_entry *e)
{
	struct dns_waiter *w;

	while ((w = e->waiters) != NULL) {
		dns_waiter_cancel(w);
		w->cb(w, e->status, e->addrs);
	}
}

/*
 * Drop every completed entry (lookups in flight stay, and are cached when
 * they end).
 */
void
dnscache_flush(struct dnscache *c)
{
	while (c->lru.lru_next != &c->lru)
		dnscache_remove(c, c->lru.lru_next);
}
