/*
 * A worker: one event_base and everything that lives on it (resolver,
 * relay pool, crypt-pool home, counters, access log, listeners, sessions).
 * Nothing in a worker is touched from another thread.  This version runs
 * one worker, on the main thread, which also handles the signals.
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "acct.h"
#include "iptable.h"
#include "origin.h"
#include "relay.h"
#include "../auth/crypt_pool.h"

struct auth_db;
struct conf;
struct http_head;
struct listener;
struct resolver;
struct session;

struct worker {
	int		id;
	struct event_base *base;
	const struct conf *conf;
	struct auth_db	*auth;
	struct resolver	*resolver;
	struct relay_pool relay_pool;
	struct crypt_home crypt;
	struct acct_counters ctr;
	struct acct_log	alog;
	struct iptable	clients;	/* per_client counts */
	struct iptable	remember;	/* auth.remember_client */
	struct origin_pool origins;	/* idle HTTP origin connections */
	struct http_head *http_head;	/* scratch for parsing one head */
	struct listener	*listeners;
	int		nlisteners;
	struct session	*sessions;	/* every live session */
	uint64_t	next_id;
	uint64_t	max_sessions;	/* max_connections and the fd budget */
	int		fd_limit;	/* RLIMIT_NOFILE */
	int		reserve_fd;	/* /dev/null, given up to shed on EMFILE */
	int		paused;		/* listeners off (out of descriptors) */
	struct event	resume_timer;	/* turns them back on */
	int		draining;	/* stop signal seen: no new clients */
	struct event	drain_timer;
	struct event	sig_int, sig_term;
	int		exit_code;
};

int	worker_init(struct worker *, const struct conf *, struct auth_db *,
	    char *, size_t);
int	worker_open_listeners(struct worker *, char *, size_t);
void	worker_run(struct worker *);
void	worker_free(struct worker *);
void	worker_session_gone(struct worker *);
void	worker_out_of_fds(struct worker *);

#endif
