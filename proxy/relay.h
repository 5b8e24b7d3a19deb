/*
 * The data phase of a tunnel, on raw edge-triggered events.
 *
 * Two ends (client, target), each one socket, and two directions (up:
 * client -> target, down: target -> client).  A direction's bytes in flight
 * sit in one carrier taken from the worker's pool only while they are in
 * flight: a pipe (moved with splice(), for bulk) or a buffer (read/write,
 * for the first bytes of every direction, where two splices cost more than
 * a copy).  Idle tunnels hold neither.  Each socket is drained until EAGAIN
 * because its events are edge-triggered; a per-call budget keeps one busy
 * tunnel from starving the others: the event is re-activated instead, at
 * the pool's bulk priority, and the loop pass ends there, so whatever
 * else became ready (a handshake, a request) waits for at most one budget.
 *
 * Backpressure: a direction with bytes in flight reads its source only
 * into the room left in its buffer (a pipe: not at all) until its sink took
 * them, so at most one carrier (a RELAY_BUF_SIZE buffer, or one pipe of
 * RELAY_PIPE_SIZE) is held per direction, beside the kernel's socket
 * buffers.
 *
 * A direction that turns bulk (RELAY_SPLICE_AFTER bytes delivered) sets
 * TCP_NOTSENT_LOWAT (notsent_lowat) on its sink, once: the sink then takes
 * only what it can send soon, and is written again as that goes out.  The
 * relay sends its bytes itself, as it writes them, instead of leaving most
 * of them queued for the peer's acknowledgements to push out (on loopback
 * that is the peer's core, and a flow sent from two cores is reordered);
 * and a slow client holds a pipe's worth in the proxy, not megabytes of
 * send buffer.  One setsockopt per bulk direction; short exchanges never
 * pay it.
 *
 * Half-close: EOF on a source, once the carrier is empty, becomes
 * shutdown(SHUT_WR) on the sink; the other direction flows on.  The relay
 * is done when both directions are shut.  Bytes read with the EOF right
 * behind them are written with MSG_MORE, so the FIN leaves in their last
 * segment.
 *
 * The relay does not own the events or the sockets: the session registers
 * them (EV_READ | EV_WRITE | EV_ET | EV_PERSIST) and feeds what fired to
 * relay_io().  That keeps this file testable with socketpairs.
 */
#ifndef SLUICE_RELAY_H
#define SLUICE_RELAY_H

#include <sys/types.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "tbucket.h"

#define RELAY_CLIENT	0	/* end index; also dir index of "up" */
#define RELAY_TARGET	1	/* end index; also dir index of "down" */
#define RELAY_UP	0	/* client -> target: source is end[0] */
#define RELAY_DOWN	1	/* target -> client: source is end[1] */

#define RELAY_BUF_SIZE		(64 * 1024)
#ifndef RELAY_PIPE_SIZE
#define RELAY_PIPE_SIZE		(256 * 1024)	/* asked for; the kernel may
						   give less */
#endif
#define RELAY_SPLICE_AFTER	(64 * 1024)	/* bytes a direction copies
						   before it splices */
#ifndef RELAY_BUDGET
#define RELAY_BUDGET		(2 * 1024 * 1024)	/* bytes per direction
						   per relay_io() call: ~0.8 ms
						   of splicing here */
#endif

struct relay_buf {
	struct relay_buf *next;		/* pool free list */
	uint32_t	off;		/* first byte not yet written */
	uint32_t	len;		/* bytes held */
	uint32_t	cap;		/* size of data[] */
	uint8_t		data[];
};

struct evbuffer;

struct relay_pipe {
	struct relay_pipe *next;	/* pool free list */
	int		rfd, wfd;
	uint32_t	size;		/* capacity (F_GETPIPE_SZ) */
	uint32_t	bytes;		/* bytes held in the pipe */
};

struct relay_pool {
	struct relay_buf *bufs;		/* free buffers */
	struct relay_pipe *pipes;	/* free (empty) pipes */
	int		nbufs, npipes;	/* on the free lists */
	int		bufs_out;	/* buffers held by tunnels */
	int		pipes_out;	/* pipes held by tunnels */
	int		pipes_max;	/* pipes in existence at most */
	int		splice_ok;	/* cleared when splice() is refused */
	uint64_t	spliced;	/* bytes moved by splice() */
	uint64_t	copied;		/* bytes moved by read/write */
	struct event	trim;		/* frees the free lists when unused */
	unsigned	trim_set:1;	/* trim is assigned (pool attached) */
	int		bulk_pri;	/* event priority of a relay that
					   spends its budget, or -1 */
};

struct tbucket;

/* Bandwidth limits of a relay (only relays that have some). */
struct relay_shaping {
	struct tbucket	conn[2];	/* conn_bandwidth, per direction */
	struct tbucket	*user[2];	/* the user's shared buckets, or NULL */
	pthread_mutex_t	*user_mu;	/* their lock (workers share them) */
	struct event	timer;		/* buckets refilled: read again */
	unsigned	waiting;	/* directions held (bit per dir) */
};

struct relay_end {
	int		fd;
	struct event	ev;		/* the session's; edge-triggered */
	unsigned	rd_ready:1;	/* may have bytes or EOF to read */
	unsigned	wr_ready:1;	/* may have room to write */
};

struct relay_dir {
	struct relay_buf *buf;		/* bytes in flight, copy mode */
	struct relay_pipe *pipe;	/* bytes in flight, splice mode */
	uint64_t	bytes;		/* delivered to the sink */
	unsigned	eof:1;		/* the source said EOF */
	unsigned	shut:1;		/* sink shut for writing */
	unsigned	bulk:1;		/* went bulk: its sink has notsent_lowat */
};

struct relay {
	struct relay_pool *pool;
	struct relay_end end[2];	/* RELAY_CLIENT, RELAY_TARGET */
	struct relay_dir dir[2];	/* RELAY_UP, RELAY_DOWN */
	int		err;		/* errno of a failure */
	int		err_end;	/* which end failed */
	int64_t		last_active;	/* ms of the last byte moved */
	struct relay_shaping *shaping;	/* bandwidth limits, or NULL */
	uint64_t	cap;		/* bytes it may still read, both ways
					   (a quota's rest; RELAY_NO_CAP) */
	int		notsent_lowat;	/* TCP_NOTSENT_LOWAT for the sink of
					   a bulk direction; 0: the system's */
};

#define RELAY_NO_CAP	UINT64_MAX

enum relay_status {
	RELAY_OK = 0,		/* wait for more events */
	RELAY_DONE,		/* both directions ended cleanly */
	RELAY_ERROR,		/* err / err_end say what broke */
};

void	relay_pool_init(struct relay_pool *, int);
void	relay_pool_attach(struct relay_pool *, struct event_base *);
void	relay_pool_free(struct relay_pool *);
void	relay_init(struct relay *, struct relay_pool *);
int	relay_preload(struct relay *, int, const void *, size_t);
enum relay_status relay_io(struct relay *, int, short, int64_t);
void	relay_release(struct relay *);
void	relay_come_back(struct event *);
int	relay_shape(struct relay *, struct event_base *, int64_t,
	    struct tbucket *, struct tbucket *, pthread_mutex_t *, int64_t);
size_t	relay_in_flight(const struct relay *, int);
struct relay_pipe *relay_pipe_get(struct relay_pool *);
void	relay_pipe_put(struct relay_pool *, struct relay_pipe *);
ssize_t	relay_pipe_in(struct relay_pipe *, int, size_t);
ssize_t	relay_pipe_out(struct relay_pool *, struct relay_pipe *, int);
int	relay_pipe_drain(struct relay_pipe *, struct evbuffer *);
void	relay_sink_lowat(int, int);

#endif
