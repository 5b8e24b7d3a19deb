/*
 * A policy: one loaded configuration with everything derived from it (the
 * user table, the protected destinations), reference-counted so that a
 * reload (SIGHUP) swaps in a new one for new connections while every live
 * session keeps the one it started with.
 *
 * What must outlive a reload lives beside it: the per-user state (sessions
 * counted against per_user, bandwidth buckets, quota usage, counters),
 * found by user name, which users of old and new policies share.
 */
#ifndef SLUICE_POLICY_H
#define SLUICE_POLICY_H

#include <pthread.h>
#include <stdint.h>

#include "rules.h"
#include "tbucket.h"
#include "../auth/siphash.h"
#include "../conf/conf.h"

struct auth_db;

/*
 * The table (chains, inserts, walks) is the main thread's; a state's
 * fields are shared by the workers' sessions of that user, under mu.
 */
struct user_state {
	struct user_state *next;	/* table chain */
	pthread_mutex_t	mu;
	int		active;		/* sessions on a per_user slot */
	uint64_t	sessions;	/* started */
	uint64_t	bytes_up;	/* client -> target */
	uint64_t	bytes_down;	/* target -> client */
	uint64_t	connect_failed;
	uint64_t	denied;		/* by rules or limits */
	int64_t		day;		/* period of used_day: year * 400 +
					   day of the year, local time */
	int64_t		month;		/* period of used_month (year*12+m) */
	uint64_t	used_day;	/* bytes both ways, for quotas */
	uint64_t	used_month;
	struct tbucket	bw[2];		/* user_bandwidth: up, down */
	int64_t		bw_rate;	/* what bw[] were set up with */
	char		name[];
};

struct user_states {
	struct user_state **buckets;
	size_t		nbuckets;
	size_t		count;
	struct siphash_key key;
	int		dirty;		/* quota usage changed since saved */
};

struct policy {
	int		refs;
	uint64_t	generation;	/* 1 for the first, +1 per reload */
	struct conf	conf;		/* owned */
	struct auth_db	*auth;		/* owned */
	struct rules_guard guard;	/* protected destinations */
	struct netaddr_cidr *own;	/* this host's addresses */
};

/* One counter of a user's state, under its lock. */
static inline void
user_state_inc(struct user_state *st, uint64_t *field)
{
	pthread_mutex_lock(&st->mu);
	(*field)++;
	pthread_mutex_unlock(&st->mu);
}

void	user_state_bw_init(struct user_state *, int64_t, int64_t);
int	user_states_init(struct user_states *);
void	user_states_free(struct user_states *);
struct user_state *user_state_get(struct user_states *, const char *);
int	user_states_save(struct user_states *, const char *, char *, size_t);
int	user_states_load(struct user_states *, const char *, char *, size_t);

struct policy *policy_new(struct conf *, uint64_t, char *, size_t);
int	policy_bind(struct policy *, struct user_states *);
struct policy *policy_ref(struct policy *);
void	policy_release(struct policy *);
int64_t	policy_day(int64_t);
int64_t	policy_month(int64_t);
void	user_state_roll(struct user_state *, int64_t, int64_t);

#endif
