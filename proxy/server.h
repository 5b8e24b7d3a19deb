/*
 * The server: the workers (one event-loop thread each, SO_REUSEPORT
 * listeners of their own) and what they share.
 *
 * Worker 0 runs on the main thread and also does what is done once for
 * the process: signals (stop, reload, reopen), the admin listener, the
 * quota state file, the reload and the drain, which it hands to the other
 * workers as messages (worker_post()).  Shared state is little and has
 * its own locks: the per-user states (a mutex each), the client and
 * remembered-login tables (one mutex), the count of live sessions
 * (atomic, for limits.max_connections) and the current policy (changed by
 * the main thread only; each worker holds its own reference).  Counters
 * are per worker and summed when asked for, by messages, never locked on
 * the hot path.
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include <pthread.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "iptable.h"
#include "policy.h"

struct admin;
struct conf;
struct worker;

/* Builds the configuration again (file and command line) for a reload. */
typedef int (*server_reconf_fn)(struct conf *, char *, size_t, void *);

struct server {
	int		nworkers;
	struct worker	**workers;	/* [0]: the main thread's */
	pthread_t	*threads;	/* [i] runs workers[i], i >= 1 */
	struct policy	*pol;		/* the current one (main thread) */
	server_reconf_fn reconf;
	void		*reconf_arg;

	struct user_states users;	/* table: main thread; states: locked */
	pthread_mutex_t	mu;		/* clients and remember */
	struct iptable	clients;	/* per client address */
	struct iptable	remember;	/* auth.remember_client */
	uint64_t	active;		/* live sessions, all workers (atomic) */

	struct admin	*admin;		/* on worker 0, or NULL */
	struct event	sig_int, sig_term, sig_hup, sig_usr1;
	struct event	drain_timer;
	int		draining;	/* a stop signal was seen */
	int		running;	/* workers not finished yet */
	int		reloading;	/* workers still applying a reload */
	int		reload_again;	/* SIGHUP while one was running */
	int64_t		last_save;	/* ms: state file written */
	int64_t		started;	/* ms */
};

struct server	*server_new(struct policy *, server_reconf_fn, void *, char *,
		    size_t);
int		server_open_listeners(struct server *, char *, size_t);
void		server_run(struct server *);
void		server_free(struct server *);
void		server_tick(struct server *, int64_t);
void		server_worker_finished(struct server *);
int		server_workers_default(void);

#endif
