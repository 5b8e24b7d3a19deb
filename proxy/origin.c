/*
 * Origin connections and their pool: see origin.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "clock.h"
#include "fmt.h"
#include "origin.h"
#include "sio.h"

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
static void	pool_expire_cb(evutil_socket_t, short, void *);

int
origin_pool_init(struct origin_pool *p, struct event_base *base,
    size_t max_idle, size_t per_origin, int idle_sec)
{
	memset(p, 0, sizeof(*p));
	if ((p->expire = evtimer_new(base, pool_expire_cb, p)) == NULL)
		return -1;
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
	oc->io = sio_new(base, fd, 1);
	if (oc->io == NULL) {
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
	sio_free(oc->io);
	free(oc);
}

/*
 * Give up the object but keep the socket (it becomes a tunnel): returns
 * the descriptor, now the caller's.  What its buffers held is lost: copy
 * it out first.
 */
int
origin_conn_take_fd(struct origin_conn *oc)
{
	int fd = sio_release(oc->io, NULL, NULL);

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
	if (p->expire != NULL)
		event_free(p->expire);
	p->expire = NULL;
}

/* An idle origin that speaks, closes or times out is done. */
static void
pool_read_cb(struct sio *io, void *arg)
{
	(void)io;
	origin_conn_free(arg);
}

static void
pool_event_cb(struct sio *io, short what, void *arg)
{
	(void)io;
	(void)what;
	origin_conn_free(arg);
}

/* Arm the timer for the oldest pooled connection's end. */
static void
pool_arm(struct origin_pool *p, int64_t now)
{
	int64_t due;
	struct timeval tv;

	if (p->lru.newer == &p->lru)
		return;
	due = p->lru.newer->pooled_at + (int64_t)p->idle_sec * 1000 - now;
	if (due < 0)
		due = 0;
	tv = clock_tv(due + 1);		/* it has expired when this fires */
	evtimer_add(p->expire, &tv);
}

/* Close what has been idle for idle_sec (the oldest first). */
static void
pool_expire_cb(evutil_socket_t fd, short what, void *arg)
{
	struct origin_pool *p = arg;
	int64_t now = clock_ms();

	(void)fd;
	(void)what;
	while (p->lru.newer != &p->lru && now - p->lru.newer->pooled_at >=
	    (int64_t)p->idle_sec * 1000)
		origin_conn_free(p->lru.newer);
	pool_arm(p, now);
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
	size_t same = 0, slot;

	if (p->max_idle == 0 || evbuffer_get_length(
	    sio_in(oc->io)) != 0) {
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
	oc->pooled_at = clock_ms();
	p->idle++;
	sio_setcb(oc->io, pool_read_cb, NULL, pool_event_cb, oc);
	sio_set_greedy(oc->io, 0);	/* idle: nothing is waited on */
	sio_read_on(oc->io);
	if (!evtimer_pending(p->expire, NULL))
		pool_arm(p, oc->pooled_at);
}

/*
 * The most recently pooled connection to key, out of the pool (callbacks
 * cleared: the caller sets its own), or NULL.
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
	sio_setcb(oc->io, NULL, NULL, NULL, NULL);
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
