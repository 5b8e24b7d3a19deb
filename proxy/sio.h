/*
 * A socket with an input and an output buffer on one edge-triggered event:
 * what negotiation and HTTP forwarding run on, in place of libevent's
 * bufferevents.
 *
 * Why not bufferevents: a bufferevent_socket asks FIONREAD before every
 * read and reads at most 4 KiB per wake, and it adds its write event to
 * epoll when output appears and removes it when the output drained: per
 * HTTP request that was 2 ioctls and 4 epoll_ctl calls on top of the two
 * reads and two writes that do the work.  Here the socket is registered
 * once (EV_READ | EV_WRITE | EV_ET | EV_PERSIST) for its whole life, the
 * edges are remembered as rd_ready / wr_ready, reads take what the socket
 * holds (small first, large once a read fills its buffer), and output is
 * written in the same loop turn it was queued in (one writev for all the
 * pieces queued by a callback) without touching epoll unless the socket
 * buffer is full.
 *
 * Callbacks mirror a bufferevent's: readcb after bytes were added to the
 * input, writecb when the output drained to its low watermark after a
 * write, eventcb with SIO_EOF or SIO_ERROR (errno set) once.  Any of them
 * may free the sio (sio_free() then only marks it; the dispatcher frees
 * it on the way out).
 *
 * Raw mode (sio_set_raw): for a while the owner moves the bytes itself
 * (splice() of a large body); the sio only keeps the ready bits, which the
 * owner clears on EAGAIN, and passes every edge to the raw callback.
 *
 * The event is either the sio's own (sio_new) or the owner's (sio_new_on:
 * the owner assigned and added it, calls sio_handle() from its callback,
 * and keeps the registration when it takes the socket back, as a session
 * does when a tunnel starts: no epoll_ctl at the hand-over).
 */
#ifndef SLUICE_SIO_H
#define SLUICE_SIO_H

#include <stddef.h>

#include <event2/event.h>
#include <event2/event_struct.h>

struct evbuffer;
struct sio;

#define SIO_EOF		0x01
#define SIO_ERROR	0x02

typedef void	(*sio_data_cb)(struct sio *, void *);
typedef void	(*sio_event_cb)(struct sio *, short, void *);

struct sio {
	struct sio	*next;		/* the thread's cache of freed ones */
	int		fd;
	struct event	*ev;		/* own_ev, or the owner's */
	struct event	own_ev;
	struct evbuffer	*in, *out;
	sio_data_cb	readcb, writecb;
	sio_event_cb	eventcb;
	sio_event_cb	rawcb;		/* raw mode: the owner does the I/O */
	void		*arg;
	size_t		rd_hwm;		/* stop reading at this input (0: no) */
	size_t		wr_low;		/* writecb at or below this output */
	size_t		rd_max;		/* largest read per call */
	unsigned	busy;		/* callbacks on the stack */
	unsigned	rd_ready:1;	/* may have bytes or EOF to read */
	unsigned	wr_ready:1;	/* may have room to write */
	unsigned	rd_on:1;	/* reading wanted */
	unsigned	rd_big:1;	/* the last read filled its buffer */
	unsigned	rd_sched:1;	/* a read is activated */
	unsigned	in_readcb:1;	/* readcb is running */
	unsigned	wr_sched:1;	/* a flush is activated */
	unsigned	rd_hup:1;	/* EV_CLOSED seen: read on to the EOF */
	unsigned	greedy:1;	/* never trust a short read */
	unsigned	eof:1;		/* EOF reported: no more reads */
	unsigned	failed:1;	/* error reported: no more I/O */
	unsigned	owned_ev:1;	/* ev is own_ev */
	unsigned	close_fd:1;	/* sio_free() closes fd */
	unsigned	dead:1;		/* freed while busy */
};

struct sio *sio_new(struct event_base *, int, int);
struct sio *sio_new_on(struct event *, int);
void	sio_free(struct sio *);
void	sio_cache_free(void);
int	sio_release(struct sio *, int *, int *);
void	sio_handle(struct sio *, short);
void	sio_setcb(struct sio *, sio_data_cb, sio_data_cb, sio_event_cb,
	    void *);
int	sio_set_priority(struct sio *, int);
void	sio_read_on(struct sio *);
void	sio_read_off(struct sio *);
void	sio_set_read_hwm(struct sio *, size_t);
void	sio_set_greedy(struct sio *, int);
int	sio_write(struct sio *, const void *, size_t);
void	sio_set_raw(struct sio *, sio_event_cb);
int	sio_flush_raw(struct sio *);

static inline struct evbuffer *
sio_in(const struct sio *io)
{
	return io->in;
}

static inline struct evbuffer *
sio_out(const struct sio *io)
{
	return io->out;
}

static inline int
sio_fd(const struct sio *io)
{
	return io->fd;
}

static inline void
sio_set_write_low(struct sio *io, size_t low)
{
	io->wr_low = low;
}

static inline void
sio_set_max_read(struct sio *io, size_t n)
{
	io->rd_max = n;
}

#endif
