/*
 * Origin connections and their pool: see origin.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "fmt.h"
#include "origin.h"

/*
 * The pool key for host and port: lower case, IPv6 in brackets.  Returns
 * its length (truncated keys never match a real one: the host is at most
 * 255 bytes and buf should be 264).
 */
size_t
origin_key(char *buf, size_t len, const char *host, uint16_t port)
{
	char d[FMT_U64_LEN], *p = fmt_u64(d + sizeof(d), port);
	size_t n = 0;
	int v6 = strchr(host, ':') != NULL;
	unsigned char c;

	if (len == 0)
		return 0;
#define PUT(ch)	do { if (n + 1 < len) buf[n++] = (char)(ch); } while (0)
	if (v6)
		PUT('[');
	for (; *host != '\0'; host++) {
		c = (unsigned char)*host;
		PUT(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
	}
	if (v6)
		PUT(']');
	PUT(':');
	for (; p < d + sizeof(d); p++)
		PUT(*p);
#undef PUT
	buf[n] = '\0';
	return n;
}

/*
 * A pool keeping at most max_idle connections, per_origin per key, each
 * for idle_sec.  Returns 0, or -1 (ENOMEM, no random key).
 */
int
origin_pool_init(struct origin_pool *p, size_t max_idle, size_t per_origin,
    int idle_sec)
{
	memset(p, 0, sizeof(*p));
	p->lru.newer = p->lru.older = &p->lru;
	p->max_idle = max_idle;
	p->per_origin = per_origin;
	p->idle_sec = idle_sec;
	p->nbuckets = 64;
	while (p->nbuckets < max_idle && p->nbuckets < 65536)
		p->nbuckets <<= 1;
	if (siphash_key_random(&p->skey) == -1)
		return -1;
	p->buckets = calloc(p->nbuckets, sizeof(*p->buckets));
	return p->buckets == NULL ? -1 : 0;
}

/*
 * A connection on fd (connected to addr), owned from now on: closed by
 * origin_conn_free().  NULL on allocation failure (fd is then closed).
 */
struct origin_conn *
origin_conn_new(struct event_base *base, int fd, const union sockaddr_u *addr,
    const char *key)
{
	struct origin_conn *oc;
	size_t klen = strlen(key);

	if ((oc = calloc(1, sizeof(*oc) + klen + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	memcpy(oc->key, key, klen + 1);
	oc->addr = *addr;
	oc->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (oc->bev == NULL) {
		close(fd);
		free(oc);
		return NULL;
	}
	return oc;
}

static void
pool_unlink(struct origin_pool *p, struct origin_conn *oc)
{
	struct origin_conn **pp;

	pp = &p->buckets[oc->hash & (p->nbuckets - 1)];
	while (*pp != oc)
		pp = &(*pp)->hnext;
	*pp = oc->hnext;
	oc->hnext = NULL;
	oc->newer->older = oc->older;
	oc->older->newer = oc->newer;
	oc->newer = oc->older = NULL;
	oc->pool = NULL;
	p->idle--;
}

/*
 * Close the connection (and take it out of the pool if it is there).
 */
void
origin_conn_free(struct origin_conn *oc)
{
	if (oc == NULL)
		return;
	if (oc->pool != NULL)
		pool_unlink(oc->pool, oc);
	bufferevent_free(oc->bev);
	free(oc);
}

/*
 * Give up the object but keep the socket (it becomes a tunnel): returns
 * the descriptor, now the caller's.  What the bufferevent held is lost:
 * copy it out first.
 */
int
origin_conn_take_fd(struct origin_conn *oc)
{
	int fd = (int)bufferevent_getfd(oc->bev);

	bufferevent_setfd(oc->bev, -1);
	bufferevent_free(oc->bev);
	free(oc);
	return fd;
}

void
origin_pool_free(struct origin_pool *p)
{
	while (p->lru.newer != &p->lru)
		origin_conn_free(p->lru.newer);
	free(p->buckets);
	p->buckets = NULL;
}

/* An idle origin that speaks, closes or times out is done. */
static void
pool_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	origin_conn_free(arg);
}

static void
pool_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	origin_conn_free(arg);
}

/*
 * Keep a connection whose last response was read to its end, with nothing
 * after it, for the next request to the same origin; closes it when the
 * pool is off or the origin has its share.
 */
void
origin_pool_put(struct origin_pool *p, struct origin_conn *oc)
{
	struct origin_conn *o;
	struct timeval tv = { p->idle_sec, 0 };
	size_t same = 0, slot;

	if (p->max_idle == 0 || evbuffer_get_length(
	    bufferevent_get_input(oc->bev)) != 0) {
		origin_conn_free(oc);
		return;
	}
	oc->hash = siphash64(&p->skey, oc->key, strlen(oc->key));
	slot = oc->hash & (p->nbuckets - 1);
	for (o = p->buckets[slot]; o != NULL; o = o->hnext)
		if (o->hash == oc->hash && strcmp(o->key, oc->key) == 0)
			same++;
	if (same >= p->per_origin) {
		origin_conn_free(oc);
		return;
	}
	if (p->idle >= p->max_idle)
		origin_conn_free(p->lru.newer);		/* the oldest */
	oc->hnext = p->buckets[slot];
	p->buckets[slot] = oc;
	oc->older = p->lru.older;
	oc->newer = &p->lru;
	p->lru.older->newer = oc;
	p->lru.older = oc;
	oc->pool = p;
	p->idle++;
	bufferevent_setcb(oc->bev, pool_read_cb, NULL, pool_event_cb, oc);
	bufferevent_set_timeouts(oc->bev, &tv, NULL);
	bufferevent_enable(oc->bev, EV_READ);
}

/*
 * The most recently pooled connection to key, out of the pool (callbacks
 * and timeouts cleared: the caller sets its own), or NULL.
 */
struct origin_conn *
origin_pool_get(struct origin_pool *p, const char *key)
{
	struct origin_conn *oc;
	uint64_t h;

	if (p->idle == 0)
		return NULL;
	h = siphash64(&p->skey, key, strlen(key));
	for (oc = p->buckets[h & (p->nbuckets - 1)]; oc != NULL;
	    oc = oc->hnext)
		if (oc->hash == h && strcmp(oc->key, key) == 0)
			break;
	if (oc == NULL)
		return NULL;
	pool_unlink(p, oc);
	bufferevent_set_timeouts(oc->bev, NULL, NULL);
	bufferevent_setcb(oc->bev, NULL, NULL, NULL, NULL);
	p->reused++;
	return oc;
}

/*
 * Close the oldest idle connections until at most keep are left (their
 * descriptors are wanted).  Returns how many were closed.
 */
size_t
origin_pool_trim(struct origin_pool *p, size_t keep)
{
	size_t n = 0;

	for (; p->idle > keep; n++)
		origin_conn_free(p->lru.newer);
	return n;
}

/*
 * New bounds (a reload); pooled connections over them are closed.
 */
void
origin_pool_configure(struct origin_pool *p, size_t max_idle,
    size_t per_origin, int idle_sec)
{
	p->max_idle = max_idle;
	p->per_origin = per_origin;
	p->idle_sec = idle_sec;
	while (p->idle > p->max_idle)
		origin_conn_free(p->lru.newer);
}
