/*
 * Buffered socket I/O on one edge-triggered event (see sio.h).
 *
 * Readiness is kept as two bits: an edge sets them, EAGAIN (or a short
 * read or write) clears them.  A short read is taken to mean "drained":
 * with EPOLLET a later arrival raises a new edge.  What a short read can
 * hide is an end that came with the last bytes: a FIN shows as EV_CLOSED
 * (EPOLLRDHUP), and with it seen reads go on until they return 0; but a
 * reset (EPOLLERR) or a close after we shut our side (EPOLLHUP) is
 * reported by libevent 2.1 as plain READ|WRITE, like any edge.  So an
 * owner that waits on a socket's bytes (an upload, a response, a lingering
 * close) makes it greedy: reads go on to EAGAIN, one syscall more per wake.
 * Where it does not wait on them (a keep-alive client between requests, an
 * idle pooled origin) the short read is trusted: a reset missed there is
 * found by the next write or the next timeout.
 *
 * Activation instead of syscalls: output queued by a callback and a read
 * left for later (budget, or a watermark that lifted) are run by
 * event_active() on the sio's own event, which the loop runs in the same
 * turn, after the callbacks already pending.  Several pieces of output
 * queued in one turn leave in one writev.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "sio.h"

#define SIO_READ_SMALL	(4096 - 128)	/* a first read: one 4 KiB chunk of
					   libevent's (its header included) */
#define SIO_READ_MAX	(64 * 1024)	/* default largest read */
#define SIO_IOV		64		/* chunks per writev */
#define SIO_CACHE	256		/* freed sios kept per thread */

/*
 * Freed sios, with their (empty) evbuffers and callbacks still attached,
 * kept for the next connection on this thread: a session's sio costs
 * five mallocs and five frees otherwise.  Sios are made and freed on the
 * worker's thread (or, at shutdown, on the main thread), so the cache is
 * the thread's own and needs no lock.
 */
static __thread struct sio *cache;
static __thread int ncache;

/* Output is queued: write it in this loop turn, if the socket takes it. */
static void
schedule_write(struct sio *io)
{
	if (io->wr_sched || !io->wr_ready || io->failed ||
	    evbuffer_get_length(io->out) == 0)
		return;
	io->wr_sched = 1;
	event_active(io->ev, EV_WRITE, 1);
}

static void
out_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	(void)b;
	if (info->n_added > 0)
		schedule_write(arg);
}

/* Whether a read is wanted now: on, not ended, input under the mark. */
static int
wants_read(const struct sio *io)
{
	return io->rd_on && !io->eof && !io->failed && (io->rd_hwm == 0 ||
	    evbuffer_get_length(io->in) < io->rd_hwm);
}

static void
schedule_read(struct sio *io)
{
	/* inside the read callback, do_read() decides when it returns
	   (the input drained there, or greedy set, must not cost a read) */
	if (io->rd_sched || io->in_readcb || !io->rd_ready || !wants_read(io))
		return;
	io->rd_sched = 1;
	event_active(io->ev, EV_READ, 1);
}

/* The consumer took input: a read stopped by the watermark may go on. */
static void
in_cb(struct evbuffer *b, const struct evbuffer_cb_info *info, void *arg)
{
	struct sio *io = arg;

	(void)b;
	if (info->n_deleted > 0 && io->rd_hwm != 0)
		schedule_read(io);
}

static void
own_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	sio_handle(arg, what);
}

static void
release_mem(struct sio *io)
{
	if (io->in != NULL)
		evbuffer_free(io->in);
	if (io->out != NULL)
		evbuffer_free(io->out);
	free(io);
}

static struct sio *
sio_alloc(int fd)
{
	struct evbuffer *in, *out;
	struct sio *io;

	if ((io = cache) != NULL) {
		cache = io->next;
		ncache--;
		in = io->in;
		out = io->out;
		memset(io, 0, sizeof(*io));
		io->in = in;
		io->out = out;
	} else if ((io = calloc(1, sizeof(*io))) == NULL)
		return NULL;
	io->fd = fd;
	io->rd_max = SIO_READ_MAX;
	io->wr_ready = 1;	/* a socket buffer starts empty */
	io->rd_on = 1;
	if (io->in != NULL)
		return io;	/* from the cache: callbacks attached */
	if ((io->in = evbuffer_new()) == NULL ||
	    (io->out = evbuffer_new()) == NULL ||
	    evbuffer_add_cb(io->out, out_cb, io) == NULL ||
	    evbuffer_add_cb(io->in, in_cb, io) == NULL) {
		release_mem(io);
		return NULL;
	}
	return io;
}

/*
 * On fd, with an event of its own (registered here, closed with the sio
 * when close_fd).  NULL on failure (fd untouched).
 */
struct sio *
sio_new(struct event_base *base, int fd, int close_fd)
{
	struct sio *io;

	if ((io = sio_alloc(fd)) == NULL)
		return NULL;
	io->ev = &io->own_ev;
	io->owned_ev = 1;
	io->close_fd = close_fd != 0;
	event_assign(io->ev, base, fd, EV_READ | EV_WRITE | EV_CLOSED | EV_ET |
	    EV_PERSIST, own_cb, io);
	if (event_add(io->ev, NULL) == -1) {
		io->close_fd = 0;
		sio_free(io);
		return NULL;
	}
	return io;
}

/*
 * On fd, whose event ev the owner assigned (EV_READ | EV_WRITE | EV_CLOSED
 * | EV_ET | EV_PERSIST) and added; its callback calls sio_handle().  The
 * socket and the event stay the owner's.
 */
struct sio *
sio_new_on(struct event *ev, int fd)
{
	struct sio *io;

	if ((io = sio_alloc(fd)) == NULL)
		return NULL;
	io->ev = ev;
	return io;
}

static void
destroy(struct sio *io)
{
	if (ncache < SIO_CACHE) {
		/* its callbacks see it failed: the drains do nothing more */
		evbuffer_drain(io->in, evbuffer_get_length(io->in));
		evbuffer_drain(io->out, evbuffer_get_length(io->out));
		io->next = cache;
		cache = io;
		ncache++;
		return;
	}
	release_mem(io);
}

/* Free this thread's cache (a worker's thread ends, the process exits). */
void
sio_cache_free(void)
{
	struct sio *io;

	while ((io = cache) != NULL) {
		cache = io->next;
		release_mem(io);
	}
	ncache = 0;
}

/*
 * Close it (its socket too when it owns it).  Inside one of its callbacks
 * the memory lives on until the dispatcher returns; nothing runs for it
 * any more.
 */
void
sio_free(struct sio *io)
{
	if (io == NULL || io->dead)
		return;
	io->dead = 1;
	io->failed = 1;
	io->readcb = io->writecb = NULL;
	io->eventcb = NULL;
	if (io->owned_ev)
		event_del(io->ev);
	if (io->close_fd && io->fd != -1)
		close(io->fd);
	io->fd = -1;
	if (io->busy == 0)
		destroy(io);
}

/*
 * Give the socket back without closing it (it becomes a tunnel's): what
 * the buffers held is lost, so take it first.  With rd and wr, what is
 * known of its readiness.  Returns the descriptor.
 */
int
sio_release(struct sio *io, int *rd, int *wr)
{
	int fd = io->fd;

	if (rd != NULL)
		*rd = io->rd_ready;
	if (wr != NULL)
		*wr = io->wr_ready;
	io->close_fd = 0;
	sio_free(io);
	return fd;
}

void
sio_setcb(struct sio *io, sio_data_cb readcb, sio_data_cb writecb,
    sio_event_cb eventcb, void *arg)
{
	io->readcb = readcb;
	io->writecb = writecb;
	io->eventcb = eventcb;
	io->arg = arg;
}

/* EOF (err 0: reading ends, writing goes on) or an error (both end). */
static void
fail(struct sio *io, short what, int err)
{
	if (what & SIO_ERROR)
		io->failed = 1;
	io->eof = 1;
	io->rd_on = 0;
	if (io->eventcb != NULL) {
		errno = err;
		io->eventcb(io, what, io->arg);
	}
}

/*
 * Write what the output holds until it is empty or the socket is full,
 * without callbacks.  Returns 1 when it is empty, 0 when the socket is
 * full, -1 on an error (errno).
 */
static int
write_out(struct sio *io)
{
	struct evbuffer_iovec v[SIO_IOV];
	struct iovec iov[SIO_IOV];
	size_t len, want;
	ssize_t n;
	int i, nv;

	while ((len = evbuffer_get_length(io->out)) > 0) {
		if (!io->wr_ready)
			return 0;
		nv = evbuffer_peek(io->out, (ev_ssize_t)len, NULL, v, SIO_IOV);
		if (nv > SIO_IOV)
			nv = SIO_IOV;
		for (i = 0, want = 0; i < nv; i++) {
			iov[i].iov_base = v[i].iov_base;
			iov[i].iov_len = v[i].iov_len;
			want += v[i].iov_len;
		}
		n = writev(io->fd, iov, nv);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				io->wr_ready = 0;
				return 0;
			}
			return -1;
		}
		evbuffer_drain(io->out, (size_t)n);
		if ((size_t)n < want)
			io->wr_ready = 0;	/* the socket buffer is full */
	}
	return 1;
}

/* Write what is queued; writecb once it is at the low watermark. */
static void
flush(struct sio *io)
{
	size_t before = evbuffer_get_length(io->out);

	if (write_out(io) == -1) {
		fail(io, SIO_ERROR, errno);
		return;
	}
	if (io->writecb != NULL && evbuffer_get_length(io->out) < before &&
	    evbuffer_get_length(io->out) <= io->wr_low)
		io->writecb(io, io->arg);
}

/*
 * One read: a small one unless the last read filled its buffer, never
 * more than rd_max or the room under the watermark.
 */
static void
do_read(struct sio *io)
{
	struct evbuffer_iovec v[2];
	struct iovec iov[2];
	size_t room = io->rd_max, left;
	ssize_t got;
	int i, n;

	/* the caller checked wants_read(): the input is under the mark */
	if (io->rd_hwm != 0 && io->rd_hwm - evbuffer_get_length(io->in) < room)
		room = io->rd_hwm - evbuffer_get_length(io->in);
	if (!io->rd_big && room > SIO_READ_SMALL)
		room = SIO_READ_SMALL;
	if ((n = evbuffer_reserve_space(io->in, (ev_ssize_t)room, v, 2)) <= 0) {
		fail(io, SIO_ERROR, ENOMEM);
		return;
	}
	for (i = 0, left = room; i < n; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
		iov[i].iov_base = v[i].iov_base;
		iov[i].iov_len = v[i].iov_len;
	}
	got = readv(io->fd, iov, n);
	if (got <= 0) {
		evbuffer_commit_space(io->in, v, 0);
		if (got == 0) {
			io->rd_ready = 0;
			fail(io, SIO_EOF, 0);
		} else if (errno == EAGAIN || errno == EWOULDBLOCK) {
			io->rd_ready = 0;
			io->rd_big = 0;
		} else if (errno == EINTR)
			schedule_read(io);
		else
			fail(io, SIO_ERROR, errno);
		return;
	}
	for (i = 0, left = (size_t)got; i < n; i++) {
		if (v[i].iov_len > left)
			v[i].iov_len = left;
		left -= v[i].iov_len;
	}
	evbuffer_commit_space(io->in, v, n);
	io->rd_big = (size_t)got == room;
	if (io->readcb != NULL) {
		io->in_readcb = 1;
		io->readcb(io, io->arg);
		io->in_readcb = 0;
	}
	if (io->dead)
		return;
	/* the owner said after looking at the bytes whether it waits on
	   this socket (greedy): then only EAGAIN or the EOF ends a read */
	if ((size_t)got < room && !io->rd_hup && !io->greedy)
		io->rd_ready = 0;	/* drained; a new edge says more */
	schedule_read(io);		/* more to read: after the others */
}

/*
 * An edge came while we do not read (paused, or the input is full): a
 * reset then shows as nothing but that edge (libevent reports EPOLLERR as
 * READ|WRITE), and with nothing to write it would go unseen until a
 * timeout.  Ask the socket.
 */
static void
probe(struct sio *io)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(io->fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0 &&
	    err != 0)
		fail(io, SIO_ERROR, err);
}

/*
 * The event fired (or was activated): write what is queued, then read.
 */
void
sio_handle(struct sio *io, short what)
{
	io->busy++;
	io->rd_sched = io->wr_sched = 0;
	if (what & EV_READ)
		io->rd_ready = 1;
	if (what & EV_CLOSED)
		io->rd_ready = io->rd_hup = 1;
	if (what & EV_WRITE)
		io->wr_ready = 1;
	if (io->rawcb != NULL) {
		if (!io->failed)
			io->rawcb(io, what, io->arg);
		if (--io->busy == 0 && io->dead)
			destroy(io);
		return;
	}
	if (!io->failed && io->wr_ready && evbuffer_get_length(io->out) > 0)
		flush(io);
	if (!io->dead && !io->failed && !io->eof && io->rd_ready) {
		if (wants_read(io))
			do_read(io);
		else if (what & (EV_READ | EV_CLOSED))
			probe(io);
	}
	if (--io->busy == 0 && io->dead)
		destroy(io);
}

/*
 * Run its event at libevent priority pri from now on (a spliced body
 * moves to the worker's bulk priority while it spends budgets, and back
 * when it ends).  libevent refuses to change an event queued to run: that
 * one is registered again, and epoll reports the socket's readiness
 * afresh, so no edge is lost.  -1 if it could not be registered again
 * (the sio has failed then).
 */
int
sio_set_priority(struct sio *io, int pri)
{
	if (io->dead || io->failed || event_get_priority(io->ev) == pri ||
	    event_priority_set(io->ev, pri) == 0)
		return 0;
	(void)event_del(io->ev);
	(void)event_priority_set(io->ev, pri);
	io->rd_sched = io->wr_sched = 0;
	if (event_add(io->ev, NULL) == -1) {
		io->failed = 1;
		return -1;
	}
	return 0;
}

void
sio_read_on(struct sio *io)
{
	if (io->rd_on || io->eof || io->failed)
		return;
	io->rd_on = 1;
	schedule_read(io);
}

void
sio_read_off(struct sio *io)
{
	io->rd_on = 0;
}

/* Reads stop while the input holds hwm bytes (0: no bound). */
void
sio_set_read_hwm(struct sio *io, size_t hwm)
{
	io->rd_hwm = hwm;
	schedule_read(io);
}

/*
 * Whether the owner waits on this socket's bytes (an upload, a response
 * in progress, a lingering close): then reads go on to EAGAIN or the EOF,
 * since a reset that came with the last bytes raises no edge of its own.
 */
void
sio_set_greedy(struct sio *io, int on)
{
	io->greedy = on != 0;
	if (on)
		schedule_read(io);
}

/* Queue len bytes; they leave in this loop turn.  0, or -1 (ENOMEM). */
int
sio_write(struct sio *io, const void *data, size_t len)
{
	return evbuffer_add(io->out, data, len);
}

/*
 * Raw mode on (cb) or off (NULL).  Off: what the ready bits say is acted
 * on again (queued output written, a pending read done).
 */
void
sio_set_raw(struct sio *io, sio_event_cb cb)
{
	io->rawcb = cb;
	if (cb != NULL || io->failed)
		return;
	schedule_read(io);
	schedule_write(io);
}

/*
 * Raw mode: write what the output still holds, without callbacks.
 * Returns 1 when it is empty, 0 when the socket is full, -1 on an error
 * (errno).
 */
int
sio_flush_raw(struct sio *io)
{
	return write_out(io);
}
