/*
 * The data phase: see relay.h for the design.
 *
 * The pump for one direction is a loop with three moves, tried in order:
 * write what is in flight (while the sink takes it), pass an EOF on once
 * nothing is in flight, read more (while the source has some and the budget
 * lasts).  Readiness is tracked per socket (nginx's ev->ready): set by the
 * edge that epoll reported, cleared only by EAGAIN.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "clock.h"
#include "relay.h"
#include "tbucket.h"

#define POOL_KEEP_BUFS	16	/* free buffers kept (1 MiB) */
#define POOL_KEEP_PIPES	16	/* free pipes kept (32 descriptors) */
#define POOL_TRIM_SEC	2	/* free lists emptied after this long */

/*
 * A pool allowing at most pipes_max pipes at once (0: never splice).
 */
void
relay_pool_init(struct relay_pool *p, int pipes_max)
{
	memset(p, 0, sizeof(*p));
	p->pipes_max = pipes_max;
	p->splice_ok = pipes_max > 0;
	p->bulk_pri = -1;
}

/*
 * A relay that spends its budget is a bulk transfer: its events go to
 * the pool's bulk priority, below handshakes, requests and interactive
 * tunnels (worker.c).  An event queued to run cannot change; the next
 * spent budget tries again.
 */
static void
demote(struct relay *r)
{
	int i, pri = r->pool->bulk_pri;

	if (pri < 0)
		return;
	for (i = 0; i < 2; i++)
		if (event_get_priority(&r->end[i].ev) != pri)
			(void)event_priority_set(&r->end[i].ev, pri);
}

/*
 * Run ev again after the events already ready, a budget spent: libevent
 * runs an event activated during a loop pass in that same pass, so the
 * pass is ended here and epoll is asked what else is ready first (the
 * worker's own pass limit reads a clock that moves once a kernel tick).
 */
void
relay_come_back(struct event *ev)
{
	event_active(ev, EV_READ, 1);
	(void)event_base_loopcontinue(event_get_base(ev));
}

static void
pipe_close(struct relay_pipe *pp)
{
	close(pp->rfd);
	close(pp->wfd);
	free(pp);
}

static void
pool_empty(struct relay_pool *p)
{
	struct relay_buf *b;
	struct relay_pipe *pp;

	while ((b = p->bufs) != NULL) {
		p->bufs = b->next;
		free(b);
	}
	while ((pp = p->pipes) != NULL) {
		p->pipes = pp->next;
		pipe_close(pp);
	}
	p->nbufs = p->npipes = 0;
}

static void
pool_trim_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	pool_empty(arg);
}

/*
 * Let the pool give its free buffers and pipes back after a quiet spell:
 * a proxy at rest holds no pipe descriptors and no buffer memory.
 */
void
relay_pool_attach(struct relay_pool *p, struct event_base *base)
{
	evtimer_assign(&p->trim, base, pool_trim_cb, p);
	p->trim_set = 1;
}

/* Something went onto a free list: empty them if nobody takes it. */
static void
pool_touch(struct relay_pool *p)
{
	struct timeval tv = { POOL_TRIM_SEC, 0 };

	if (p->trim_set && !evtimer_pending(&p->trim, NULL))
		evtimer_add(&p->trim, &tv);
}

void
relay_pool_free(struct relay_pool *p)
{
	if (p->trim_set)
		evtimer_del(&p->trim);
	pool_empty(p);
}

static struct relay_buf *
buf_get(struct relay_pool *p, size_t cap)
{
	struct relay_buf *b;

	if (cap <= RELAY_BUF_SIZE && (b = p->bufs) != NULL) {
		p->bufs = b->next;
		p->nbufs--;
	} else {
		if (cap < RELAY_BUF_SIZE)
			cap = RELAY_BUF_SIZE;
		if ((b = malloc(sizeof(*b) + cap)) == NULL)
			return NULL;
		b->cap = (uint32_t)cap;
	}
	b->next = NULL;
	b->off = b->len = 0;
	p->bufs_out++;
	return b;
}

static void
buf_put(struct relay_pool *p, struct relay_buf *b)
{
	p->bufs_out--;
	if (b->cap == RELAY_BUF_SIZE && p->nbufs < POOL_KEEP_BUFS) {
		b->next = p->bufs;
		p->bufs = b;
		p->nbufs++;
		pool_touch(p);
	} else
		free(b);
}

/* A pipe, or NULL when the pool is at its limit or pipe2() fails. */
struct relay_pipe *
relay_pipe_get(struct relay_pool *p)
{
	struct relay_pipe *pp;
	int fds[2], n;

	if ((pp = p->pipes) != NULL) {
		p->pipes = pp->next;
		p->npipes--;
	} else {
		if (p->pipes_out + p->npipes >= p->pipes_max)
			return NULL;
		if (pipe2(fds, O_NONBLOCK | O_CLOEXEC) == -1)
			return NULL;
		/* a larger pipe moves more per splice: +30% on 8 busy
		   tunnels (64 KiB -> 256 KiB measured); keep the default
		   when the system will not grant it */
		(void)fcntl(fds[1], F_SETPIPE_SZ, RELAY_PIPE_SIZE);
		if ((pp = malloc(sizeof(*pp))) == NULL) {
			close(fds[0]);
			close(fds[1]);
			return NULL;
		}
		pp->rfd = fds[0];
		pp->wfd = fds[1];
		n = fcntl(fds[1], F_GETPIPE_SZ);
		pp->size = n > 0 ? (uint32_t)n : RELAY_BUF_SIZE;
	}
	pp->next = NULL;
	pp->bytes = 0;
	p->pipes_out++;
	return pp;
}

/* Back to the pool if empty; a pipe with bytes stuck in it is closed. */
void
relay_pipe_put(struct relay_pool *p, struct relay_pipe *pp)
{
	p->pipes_out--;
	if (pp->bytes == 0 && p->npipes < POOL_KEEP_PIPES) {
		pp->next = p->pipes;
		p->pipes = pp;
		p->npipes++;
		pool_touch(p);
	} else
		pipe_close(pp);
}

/*
 * One splice() from fd into an empty pipe, up to max bytes: the bytes
 * moved, 0 at EOF, or -1 (errno; EAGAIN: nothing to read now).
 */
ssize_t
relay_pipe_in(struct relay_pipe *pp, int fd, size_t max)
{
	ssize_t n;

	do
		n = splice(fd, NULL, pp->wfd, NULL, pp->size < max ? pp->size :
		    max, SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		pp->bytes += (uint32_t)n;
	return n;
}

/*
 * One splice() of what the pipe holds into fd: the bytes moved (counted
 * in the pool's spliced), or -1 (errno; EAGAIN: fd is full).
 */
ssize_t
relay_pipe_out(struct relay_pool *p, struct relay_pipe *pp, int fd)
{
	ssize_t n;

	do
		n = splice(pp->rfd, NULL, fd, NULL, pp->bytes,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		pp->bytes -= (uint32_t)n;
		p->spliced += (uint64_t)n;
	}
	return n;
}

/*
 * Read what the pipe holds into buf (a splice that stops with bytes in
 * flight hands them to buffered I/O, in order).  0, or -1 (errno).
 */
int
relay_pipe_drain(struct relay_pipe *pp, struct evbuffer *buf)
{
	int n;

	while (pp->bytes > 0) {
		n = evbuffer_read(buf, pp->rfd, (int)pp->bytes);
		if (n > 0)
			pp->bytes -= (uint32_t)n;
		else if (n == 0 || errno != EINTR) {
			if (n == 0)
				errno = EIO;	/* the pipe said less */
			return -1;
		}
	}
	return 0;
}

/*
 * A relay on no sockets yet: the caller sets end[].fd and the events.
 */
void
relay_init(struct relay *r, struct relay_pool *pool)
{
	memset(r, 0, sizeof(*r));
	r->pool = pool;
	r->end[RELAY_CLIENT].fd = -1;
	r->end[RELAY_TARGET].fd = -1;
	r->err_end = -1;
	r->cap = RELAY_NO_CAP;
}

/*
 * Put bytes in flight in direction d before the relay runs: what the
 * handshake already read from the client (up), or the handshake's reply
 * still to be written to the client (down).  Appends to what is there.
 * Returns 0, or -1 (ENOMEM).
 */
int
relay_preload(struct relay *r, int d, const void *data, size_t len)
{
	struct relay_dir *dir = &r->dir[d];
	struct relay_buf *b = dir->buf, *nb;
	size_t have;

	if (len == 0)
		return 0;
	if (b == NULL) {
		if ((b = buf_get(r->pool, len)) == NULL)
			return -1;
		dir->buf = b;
	}
	have = b->len - b->off;
	if (b->off + b->len + len > b->cap) {
		if ((nb = buf_get(r->pool, have + len)) == NULL)
			return -1;
		memcpy(nb->data, b->data + b->off, have);
		nb->len = (uint32_t)have;
		buf_put(r->pool, b);
		dir->buf = b = nb;
	}
	memcpy(b->data + b->len, data, len);
	b->len += (uint32_t)len;
	return 0;
}

/*
 * Bytes held in flight in direction d.
 */
size_t
relay_in_flight(const struct relay *r, int d)
{
	const struct relay_dir *dir = &r->dir[d];

	if (dir->buf != NULL)
		return dir->buf->len - dir->buf->off;
	if (dir->pipe != NULL)
		return dir->pipe->bytes;
	return 0;
}

static int
fail(struct relay *r, int end, int err)
{
	r->err = err;
	r->err_end = end;
	return -1;
}

/*
 * Write what is in flight to the sink.  Returns 1 when everything went
 * (the carrier is back in the pool), 0 when the sink is full, -1 on error.
 */
static int
flush_dir(struct relay *r, int d)
{
	struct relay_dir *dir = &r->dir[d];
	struct relay_end *dst = &r->end[!d];
	struct relay_buf *b;
	struct relay_pipe *pp;
	ssize_t n;

	if ((b = dir->buf) != NULL) {
		while (b->off < b->len) {
			/* at the EOF, the FIN follows at once (pump) */
			n = send(dst->fd, b->data + b->off, b->len - b->off,
			    MSG_NOSIGNAL | (dir->eof ? MSG_MORE : 0));
			if (n == -1) {
				if (errno == EINTR)
					continue;
				if (errno == EAGAIN) {
					dst->wr_ready = 0;
					return 0;
				}
				return fail(r, !d, errno);
			}
			b->off += (uint32_t)n;
			dir->bytes += (uint64_t)n;
			r->pool->copied += (uint64_t)n;
			if (b->off < b->len) {
				/* a short write: the socket buffer is full */
				dst->wr_ready = 0;
				return 0;
			}
		}
		dir->buf = NULL;
		buf_put(r->pool, b);
		return 1;
	}
	if ((pp = dir->pipe) != NULL) {
		while (pp->bytes > 0) {
			if ((n = relay_pipe_out(r->pool, pp, dst->fd)) == -1) {
				if (errno == EAGAIN) {
					dst->wr_ready = 0;
					return 0;
				}
				return fail(r, !d, errno);
			}
			dir->bytes += (uint64_t)n;
		}
		dir->pipe = NULL;
		relay_pipe_put(r->pool, pp);
	}
	return 1;
}

/*
 * Cap what fd, the sink of a bulk transfer, queues unsent at lowat bytes
 * (TCP_NOTSENT_LOWAT; relay.h says why).  0 leaves the system's setting;
 * a socket that is not TCP refuses it and keeps its own ways.
 */
void
relay_sink_lowat(int fd, int lowat)
{
	if (lowat > 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat,
		    sizeof(lowat));
}

/*
 * Read from the source into a carrier.  Returns the bytes read, 0 at EOF,
 * -1 with errno EAGAIN when nothing more can be read now (the source is
 * empty, or a pipe may be full: then bytes are in flight and the caller
 * writes them first), or -1 with another errno on error.
 */
static ssize_t
fill_dir(struct relay *r, int d, size_t max)
{
	struct relay_dir *dir = &r->dir[d];
	struct relay_end *src = &r->end[d];
	struct relay_pool *p = r->pool;
	ssize_t n;

	if (dir->buf == NULL && dir->pipe == NULL) {
		if (dir->bytes >= RELAY_SPLICE_AFTER) {
			if (!dir->bulk) {
				dir->bulk = 1;
				relay_sink_lowat(r->end[!d].fd,
				    r->notsent_lowat);
			}
			if (p->splice_ok)
				dir->pipe = relay_pipe_get(p);
		}
		if (dir->pipe == NULL && (dir->buf = buf_get(p, 0)) == NULL) {
			errno = ENOMEM;
			return -1;
		}
	}
	if (dir->pipe != NULL) {
		if ((n = relay_pipe_in(dir->pipe, src->fd, max)) > 0)
			return n;
		if (n == -1 && (errno == EINVAL || errno == ENOSYS) &&
		    dir->pipe->bytes == 0) {
			/* this kernel or socket will not splice: copy */
			p->splice_ok = 0;
			relay_pipe_put(p, dir->pipe);
			dir->pipe = NULL;
			return fill_dir(r, d, max);
		}
		if (n == -1 && errno == EAGAIN && dir->pipe->bytes == 0) {
			relay_pipe_put(p, dir->pipe);
			dir->pipe = NULL;
		}
		return n;
	}
	do
		n = read(src->fd, dir->buf->data + dir->buf->len,
		    dir->buf->cap - dir->buf->len < max ?
		    dir->buf->cap - dir->buf->len : max);
	while (n == -1 && errno == EINTR);
	if (n > 0) {
		dir->buf->len += (uint32_t)n;
		return n;
	}
	if (dir->buf->len == 0) {
		buf_put(p, dir->buf);
		dir->buf = NULL;
	}
	return n;
}

/*
 * Bytes direction d may read now under its bandwidth limits (up to want):
 * 0 when a bucket is empty, and then the shaping timer is armed for when
 * enough will have accrued.
 */
static size_t
shape_allow(struct relay *r, int d, size_t want, int64_t now)
{
	struct relay_shaping *sh = r->shaping;
	struct tbucket *b[2];
	struct timeval tv;
	int64_t wait;

	if (sh == NULL)
		return want;
	b[0] = &sh->conn[d];
	b[1] = sh->user[d];
	if (b[1] != NULL)
		pthread_mutex_lock(sh->user_mu);
	want = (size_t)tbucket_allow(b, 2, (int64_t)want, now, &wait);
	if (b[1] != NULL)
		pthread_mutex_unlock(sh->user_mu);
	if (want > 0)
		return want;
	if (!evtimer_pending(&sh->timer, NULL)) {
		tv = clock_tv(wait);
		evtimer_add(&sh->timer, &tv);
	}
	sh->waiting |= 1u << d;
	return 0;
}

static void
shape_spend(struct relay *r, int d, size_t n, int64_t now)
{
	struct tbucket *b[2];

	if (r->shaping == NULL)
		return;
	b[0] = &r->shaping->conn[d];
	b[1] = r->shaping->user[d];
	if (b[1] != NULL)
		pthread_mutex_lock(r->shaping->user_mu);
	tbucket_spend(b, 2, (int64_t)n, now);
	if (b[1] != NULL)
		pthread_mutex_unlock(r->shaping->user_mu);
}

static void
shape_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct relay *r = arg;
	int d;

	(void)fd;
	(void)what;
	/* the buckets refilled: the throttled sources read again */
	for (d = 0; d < 2; d++)
		if (r->shaping->waiting & (1u << d))
			event_active(&r->end[d].ev, EV_READ, 1);
	r->shaping->waiting = 0;
}

/*
 * Limit the relay's bandwidth: conn_rate bytes/s each way for this relay
 * (0: none), and the user's shared buckets user[RELAY_UP/DOWN] (NULL:
 * none), locked with mu.  Returns 0, or -1 (ENOMEM).
 */
int
relay_shape(struct relay *r, struct event_base *base, int64_t conn_rate,
    struct tbucket *user_up, struct tbucket *user_down, pthread_mutex_t *mu,
    int64_t now)
{
	struct relay_shaping *sh;

	if (conn_rate <= 0 && user_up == NULL && user_down == NULL)
		return 0;
	if ((sh = calloc(1, sizeof(*sh))) == NULL)
		return -1;
	tbucket_init(&sh->conn[RELAY_UP], conn_rate, conn_rate, now);
	tbucket_init(&sh->conn[RELAY_DOWN], conn_rate, conn_rate, now);
	sh->user[RELAY_UP] = user_up;
	sh->user[RELAY_DOWN] = user_down;
	sh->user_mu = mu;
	evtimer_assign(&sh->timer, base, shape_timer_cb, r);
	r->shaping = sh;
	return 0;
}

/*
 * One read for direction d into its carrier, within *budget, the quota
 * cap and the bandwidth limits.  Returns 1 when it moved bytes or met the
 * EOF (or a full pipe is to be written first), 0 when nothing can be read
 * now (the source is empty, or the budget, the cap or a limit holds it),
 * -1 on error.
 */
static int
read_once(struct relay *r, int d, size_t *budget, int64_t now)
{
	struct relay_dir *dir = &r->dir[d];
	struct relay_end *src = &r->end[d];
	size_t allow;
	ssize_t n;

	if (*budget == 0 || r->cap == 0)
		return 0;	/* the caller says which */
	if ((allow = shape_allow(r, d, *budget, now)) == 0)
		return 0;	/* the shaping timer comes back */
	if (allow > r->cap)
		allow = (size_t)r->cap;
	n = fill_dir(r, d, allow);
	if (n > 0) {
		shape_spend(r, d, (size_t)n, now);
		if (r->cap != RELAY_NO_CAP)
			r->cap -= (uint64_t)n;
		*budget = (size_t)n >= *budget ? 0 : *budget - (size_t)n;
		r->last_active = now;
		return 1;
	}
	if (n == 0) {
		dir->eof = 1;
		src->rd_ready = 0;
		r->last_active = now;
		return 1;
	}
	if (errno == EAGAIN) {
		if (dir->pipe == NULL) {
			src->rd_ready = 0;
			return 0;
		}
		return 1;	/* a pipe may be full: write it, then retry */
	}
	return fail(r, d, errno);
}

/*
 * Move bytes in direction d until the source is empty, the sink is full,
 * the budget is spent or a bandwidth limit holds it.  A buffer is filled
 * while the source has bytes and the buffer room, before it is written:
 * what arrived in pieces leaves in one send, and an EOF right behind the
 * bytes is seen before they go, so they go with MSG_MORE and the FIN
 * rides in their last segment (a short answer and its close: one packet
 * to the client instead of two).  A pipe is written before it is filled
 * again, as before.  Returns 1 when it stopped on the budget with the
 * source still readable, 0 otherwise, -1 on error.
 */
static int
pump(struct relay *r, int d, int64_t now)
{
	struct relay_dir *dir = &r->dir[d];
	struct relay_end *src = &r->end[d], *dst = &r->end[!d];
	size_t budget = RELAY_BUDGET;
	int rc;

	for (;;) {
		if (!dir->eof && src->rd_ready && dir->pipe == NULL &&
		    (dir->buf == NULL || dir->buf->len < dir->buf->cap)) {
			if ((rc = read_once(r, d, &budget, now)) == -1)
				return -1;
			if (rc == 1)
				continue;
		}
		if (dir->buf != NULL || dir->pipe != NULL) {
			if (!dst->wr_ready)
				return 0;
			if ((rc = flush_dir(r, d)) == -1)
				return -1;
			r->last_active = now;
			if (rc == 0)
				return 0;
			continue;
		}
		if (dir->eof) {
			if (!dir->shut) {
				dir->shut = 1;
				/* When the other way is already shut, the
				   relay is done and the owner closes both
				   sockets now: dst was read to its EOF, so
				   that close sends the FIN.  Otherwise
				   ENOTCONN means the peer is gone; its own
				   error or EOF will tell. */
				if (!r->dir[!d].shut)
					(void)shutdown(dst->fd, SHUT_WR);
			}
			return 0;
		}
		/* nothing in flight, nothing read: the budget is spent with
		   the source still readable (1), or the source is empty, or
		   the quota cap (the owner decides what next) or a bandwidth
		   limit (its timer comes back) holds it (0) */
		return src->rd_ready && budget == 0;
	}
}

/*
 * Feed an event: what (EV_READ / EV_WRITE) fired on end e (RELAY_CLIENT or
 * RELAY_TARGET), or 0 to just run the pumps (at the start).  now is the
 * caller's clock in ms, stored in last_active when bytes move.
 */
enum relay_status
relay_io(struct relay *r, int e, short what, int64_t now)
{
	int d, more;

	if (what & EV_READ)
		r->end[e].rd_ready = 1;
	if (what & EV_WRITE)
		r->end[e].wr_ready = 1;
	for (d = 0; d < 2; d++) {
		more = pump(r, d, now);
		if (more == -1)
			return RELAY_ERROR;
		if (more == 1) {
			/* budget spent: a bulk transfer */
			demote(r);
			relay_come_back(&r->end[d].ev);
		}
	}
	if (r->dir[RELAY_UP].shut && r->dir[RELAY_DOWN].shut)
		return RELAY_DONE;
	return RELAY_OK;
}

/*
 * Give the carriers back to the pool (a pipe with bytes left is closed).
 * The sockets and events stay the caller's.
 */
void
relay_release(struct relay *r)
{
	int d;

	if (r->shaping != NULL) {
		evtimer_del(&r->shaping->timer);
		free(r->shaping);
		r->shaping = NULL;
	}

	for (d = 0; d < 2; d++) {
		if (r->dir[d].buf != NULL)
			buf_put(r->pool, r->dir[d].buf);
		if (r->dir[d].pipe != NULL)
			relay_pipe_put(r->pool, r->dir[d].pipe);
		r->dir[d].buf = NULL;
		r->dir[d].pipe = NULL;
	}
}
