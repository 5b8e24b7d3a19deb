/*
 * Name resolution inside the worker's event loop: c-ares 1.18 driven by
 * libevent (socket-state callback -> level-triggered events, ares_timeout()
 * -> one timer), with the per-worker cache of dnscache.c in front.  Cache
 * hits and /etc/hosts answers complete synchronously; the rest arrive
 * through the waiter's callback.  A waiter that goes away cancels itself;
 * the query runs on and its answer still fills the cache.
 */
#ifndef SLUICE_RESOLVER_H
#define SLUICE_RESOLVER_H

#include <stdint.h>

#include <event2/event.h>

#include "dnscache.h"

struct conf;
struct resolver;

enum resolver_rc {
	RESOLVER_DONE = 0,	/* *status and *addrs set now */
	RESOLVER_PENDING,	/* the waiter's callback will run later */
};

struct resolver_stats {
	uint64_t	lookups;	/* resolver_lookup() calls */
	uint64_t	hits;		/* answered from the cache */
	uint64_t	shared;		/* joined a query in flight */
	uint64_t	queries;	/* sent to c-ares */
	uint64_t	failures;	/* queries that ended in an error */
};

struct resolver *resolver_new(struct event_base *, const struct conf *,
		    char *, size_t);
void		resolver_free(struct resolver *);
void		resolver_reconfigure(struct resolver *, const struct conf *);
enum resolver_rc resolver_lookup(struct resolver *, const char *,
		    struct dns_waiter *, dns_waiter_cb, int *,
		    struct dns_addrs **);
const struct resolver_stats *resolver_stats(const struct resolver *);
const char	*resolver_strerror(int);
int		resolver_is_timeout(int);

#endif
