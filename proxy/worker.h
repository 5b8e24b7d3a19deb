/*
 * A worker: one event-loop thread and everything that lives on it
 * (resolver, relay pool, crypt-pool home, origin pool, counters, access
 * log, listeners of its own, sessions).  Nothing in a worker is touched
 * from another thread: other threads send it messages (worker_post()),
 * run on its loop.  What workers share is in the server (server.h).
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <pthread.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "acct.h"
#include "iptable.h"
#include "origin.h"
#include "policy.h"
#include "relay.h"
#include "../auth/crypt_pool.h"

/* libevent priorities in a worker's base (lower runs first) */
#define WORKER_PRIORITIES	3
#define WORKER_PRI_NORMAL	1	/* the default: nqueues / 2 */
#define WORKER_PRI_BULK		2	/* tunnels: after everything else */

struct conf;
struct http_head;
struct listener;
struct resolver;
struct server;
struct session;

/* Counters of one listener (kept across reloads, found by address). */
struct listener_stats {
	enum conf_proto	proto;
	union sockaddr_u addr;
	uint64_t	active;
	uint64_t	sessions;
	uint64_t	bytes_up;
	uint64_t	bytes_down;
};

/* A message: fn(w, arg) run on w's loop. */
typedef void (*worker_fn)(struct worker *, void *);

struct worker_msg {
	struct worker_msg *next;
	worker_fn	fn;
	void		*arg;
};

/* A reload as one worker applies it (made by the main thread). */
struct worker_reload {
	struct policy	*pol;		/* a reference for this worker */
	int		nlisten;
	int		*from;		/* per listener: the kept one, or -1 */
	int		*fds;		/* per listener with from -1: bound */
	int		logchanged;	/* open the access log again */
};

struct worker {
	int		id;
	struct server	*srv;
	struct event_base *base;
	struct policy	*pol;		/* for new sessions */
	const struct conf *conf;	/* &pol->conf */
	struct resolver	*resolver;
	struct relay_pool relay_pool;
	struct crypt_home crypt;
	struct acct_counters ctr;
	struct acct_log	alog;
	struct origin_pool origins;	/* idle HTTP origin connections */
	struct http_head *http_head;	/* scratch for parsing one head */
	struct listener	**listeners;
	int		nlisteners;
	struct listener_stats **lstats;	/* every listener seen */
	int		nlstats;
	struct session	*sessions;	/* every live session */
	uint64_t	next_id;
	uint64_t	max_sessions;	/* its share of the descriptors */
	int		fd_limit;	/* RLIMIT_NOFILE, the process's */
	int		pipes;		/* splice pipes allowed */
	int		reserve_fd;	/* /dev/null, given up to shed on EMFILE */
	int		paused;		/* listeners off (out of descriptors) */
	int64_t		fd_warned;	/* ms: last out-of-descriptors warning */
	uint64_t	fd_refused;	/* reset since then */
	struct event	resume_timer;	/* turns them back on */
	int		draining;	/* no new clients; stop when empty */
	int		finished;	/* drained: told the main thread */
	int		has_thread;	/* runs on a thread of its own */
	struct event	tick;		/* once a second: interim records */
	struct event	trim_ev;	/* hands freed memory back: */
	uint64_t	trim_peak;	/* most sessions since the last trim */
	int		trim_armed;
	int64_t		last_interim;	/* ms: interim records written */
	int64_t		started;	/* ms */
	pthread_mutex_t	mbox_mu;	/* the messages to run */
	struct worker_msg *mbox, **mbox_tail;
	int		mbox_fd;	/* eventfd: messages are waiting */
	struct event	mbox_ev;
};

int	worker_init(struct worker *, struct server *, int, struct policy *,
	    char *, size_t);
int	worker_attach_listeners(struct worker *, const int *, char *,
	    size_t);
int	worker_find_listener(const struct worker *,
	    const struct conf_listen *);
void	worker_close_listeners(struct worker *);
void	worker_run(struct worker *);
void	worker_free(struct worker *);
int	worker_post(struct worker *, worker_fn, void *);
void	worker_session_gone(struct worker *);
void	worker_record(struct worker *, const struct acct_record *);
void	worker_out_of_fds(struct worker *);
void	worker_drain(struct worker *);
void	worker_apply_reload(struct worker *, struct worker_reload *);
void	worker_set_max_sessions(struct worker *);
struct listener_stats *worker_listener_stats(struct worker *, int);

#endif
