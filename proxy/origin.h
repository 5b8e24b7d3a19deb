/*
 * Connections to origin servers for HTTP forwarding, and the per-worker
 * pool of idle ones, keyed by "host:port" as the client named it.  A
 * pooled connection is watched for EOF and data (either ends it: an idle
 * origin has nothing to say) and closed after an idle timeout (one timer
 * per pool, for the oldest); the pool is bounded per origin and in total
 * (the least recently pooled go first).
 */
#ifndef SLUICE_ORIGIN_H
#define SLUICE_ORIGIN_H

#include <stddef.h>
#include <stdint.h>

#include "netaddr.h"
#include "../auth/siphash.h"

struct sio;
struct event_base;

struct origin_conn {
	struct origin_conn *hnext;	/* pool: bucket chain */
	struct origin_conn *older;	/* pool: LRU ring */
	struct origin_conn *newer;
	struct origin_pool *pool;	/* set while pooled */
	struct sio	*io;		/* owns the socket */
	int64_t		pooled_at;	/* ms: went into the pool */
	union sockaddr_u addr;		/* the origin's address */
	uint64_t	hash;		/* of key */
	uint32_t	requests;	/* requests it carried */
	char		key[];		/* "host:port", lower case */
};

struct origin_pool {
	struct origin_conn **buckets;
	size_t		nbuckets;	/* power of two */
	struct origin_conn lru;		/* sentinel: lru.newer is the oldest */
	size_t		idle;		/* connections pooled */
	size_t		max_idle;	/* 0: no pooling */
	size_t		per_origin;	/* pooled per key at most */
	int		idle_sec;	/* pooled this long at most */
	struct event	*expire;	/* closes the oldest when due */
	struct siphash_key skey;
	uint64_t	reused;		/* connections taken from the pool */
};

int	origin_pool_init(struct origin_pool *, struct event_base *, size_t,
	    size_t, int);
void	origin_pool_free(struct origin_pool *);
void	origin_pool_configure(struct origin_pool *, size_t, size_t, int);
size_t	origin_pool_trim(struct origin_pool *, size_t);
#define ORIGIN_KEY_MAX	264	/* "[" host(255) "]:" port, NUL */
size_t	origin_key(char *, size_t, const char *, uint16_t);
struct origin_conn *origin_conn_new(struct event_base *, int,
	    const union sockaddr_u *, const char *);
void	origin_conn_free(struct origin_conn *);
int	origin_conn_take_fd(struct origin_conn *);
void	origin_pool_put(struct origin_pool *, struct origin_conn *);
struct origin_conn *origin_pool_get(struct origin_pool *, const char *);

#endif
