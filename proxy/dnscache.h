/*
 * The per-worker DNS cache (c-ares 1.18 has none): name -> address list,
 * with expiry from the answers' TTLs (capped), a bound on the number of
 * entries (least recently used completed entries go first), and a waiter
 * list on entries whose query is still in flight, so concurrent lookups of
 * one name share one query (nginx's resolver does the same).  Pure data
 * structure: the caller passes the time; resolver.c drives c-ares.
 */
#ifndef SLUICE_DNSCACHE_H
#define SLUICE_DNSCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"
#include "../auth/siphash.h"

#define DNS_MAX_ADDRS	16		/* addresses kept per name */

/* An immutable address list, shared by the cache and connecting sessions. */
struct dns_addrs {
	int		refs;
	int		n;
	union sockaddr_u a[];		/* ports 0 */
};

struct dns_waiter;
typedef void (*dns_waiter_cb)(struct dns_waiter *, int, struct dns_addrs *);

/* Embedded in whoever waits; unlinked before its callback runs. */
struct dns_waiter {
	struct dns_waiter *next;
	struct dns_waiter **pprev;	/* NULL when not waiting */
	dns_waiter_cb	cb;		/* status 0 or ARES_*; addrs borrowed */
};

struct dns_entry {
	struct dns_entry *hnext;	/* hash chain */
	struct dns_entry *lru_prev;	/* completed entries, oldest first */
	struct dns_entry *lru_next;
	uint64_t	hash;
	int64_t		expires;	/* ms; valid when !pending */
	int64_t		started;	/* ms when the query was sent */
	int		status;		/* 0 or ARES_* once complete */
	unsigned	pending:1;	/* query in flight */
	unsigned	in_table:1;	/* reachable from the hash table */
	unsigned	retried:1;	/* sent again after a lost connection */
	struct dns_addrs *addrs;	/* one reference, NULL on failure */
	struct dns_waiter *waiters;	/* while pending */
	void		*owner;		/* the resolver that runs the query */
	char		name[];		/* lower case */
};

struct dnscache {
	struct dns_entry **buckets;
	size_t		nbuckets;	/* power of two */
	size_t		count;		/* entries in the table */
	size_t		cached;		/* completed entries (on the LRU) */
	size_t		max;		/* completed entries kept at most */
	struct dns_entry lru;		/* sentinel of the LRU ring */
	struct siphash_key key;
};

struct dns_addrs *dns_addrs_new(int);
struct dns_addrs *dns_addrs_ref(struct dns_addrs *);
void	dns_addrs_release(struct dns_addrs *);

int	dnscache_init(struct dnscache *, size_t, const struct siphash_key *);
void	dnscache_free(struct dnscache *);
void	dnscache_flush(struct dnscache *);
struct dns_entry *dnscache_find(struct dnscache *, const char *, int64_t);
struct dns_entry *dnscache_add_pending(struct dnscache *, const char *,
	    int64_t);
void	dnscache_complete(struct dnscache *, struct dns_entry *, int,
	    struct dns_addrs *, int64_t, int64_t);
void	dnscache_remove(struct dnscache *, struct dns_entry *);
void	dnscache_entry_free(struct dns_entry *);
void	dnscache_wait(struct dns_entry *, struct dns_waiter *, dns_waiter_cb);
void	dnscache_notify(struct dns_entry *);
void	dns_waiter_cancel(struct dns_waiter *);

#endif
