/*
 * A worker: one event_base and everything that lives on it (resolver,
 * relay pool, crypt-pool home, counters, access log, listeners, sessions,
 * the admin listener).  Nothing in a worker is touched from another
 * thread.  This version runs one worker, on the main thread, which also
 * handles the signals: SIGTERM/SIGINT (drain and stop), SIGHUP (reload the
 * configuration), SIGUSR1 (reopen the access log).
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "acct.h"
#include "iptable.h"
#include "origin.h"
#include "policy.h"
#include "relay.h"
#include "../auth/crypt_pool.h"

struct admin;
struct conf;
struct http_head;
struct listener;
struct resolver;
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

/* Builds the configuration again (file and command line) for a reload. */
typedef int (*worker_reconf_fn)(struct conf *, char *, size_t, void *);

struct worker {
	int		id;
	struct event_base *base;
	struct policy	*pol;		/* for new sessions */
	const struct conf *conf;	/* &pol->conf */
	struct user_states users;	/* per-user state, across reloads */
	worker_reconf_fn reconf;	/* SIGHUP: the new configuration */
	void		*reconf_arg;
	struct resolver	*resolver;
	struct relay_pool relay_pool;
	struct crypt_home crypt;
	struct acct_counters ctr;
	struct acct_log	alog;
	struct iptable	clients;	/* per client address */
	struct iptable	remember;	/* auth.remember_client */
	struct origin_pool origins;	/* idle HTTP origin connections */
	struct http_head *http_head;	/* scratch for parsing one head */
	struct listener	**listeners;
	int		nlisteners;
	struct listener_stats **lstats;	/* every listener seen */
	int		nlstats;
	struct admin	*admin;		/* the admin listener, or NULL */
	struct session	*sessions;	/* every live session */
	uint64_t	next_id;
	uint64_t	max_sessions;	/* max_connections and the fd budget */
	int		fd_limit;	/* RLIMIT_NOFILE */
	int		pipes;		/* splice pipes allowed */
	int		reserve_fd;	/* /dev/null, given up to shed on EMFILE */
	int		paused;		/* listeners off (out of descriptors) */
	struct event	resume_timer;	/* turns them back on */
	int		draining;	/* stop signal seen: no new clients */
	struct event	drain_timer;
	struct event	tick;		/* once a second: state file, interim
					   records, sweeps */
	int64_t		last_save;	/* ms: state file written */
	int64_t		last_interim;	/* ms: interim records written */
	struct event	sig_int, sig_term, sig_hup, sig_usr1;
	int64_t		started;	/* ms */
};

int	worker_init(struct worker *, struct policy *, char *, size_t);
int	worker_open_listeners(struct worker *, char *, size_t);
void	worker_run(struct worker *);
void	worker_free(struct worker *);
void	worker_session_gone(struct worker *);
void	worker_out_of_fds(struct worker *);
int	worker_reload(struct worker *);
struct listener_stats *worker_listener_stats(struct worker *, int);

#endif
