/*
 * Accounting: session counters, the per-client concurrency table, and the
 * access log (one line per session, written in batches: never one write per
 * session on the hot path, never lost at exit).
 */
#ifndef SLUICE_ACCT_H
#define SLUICE_ACCT_H

#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "iptable.h"
#include "netaddr.h"
#include "tbucket.h"
#include "../auth/siphash.h"

#define ACCT_HIST_BUCKETS	12

/* A Prometheus-style histogram of durations, in seconds. */
struct acct_hist {
	uint64_t	le[ACCT_HIST_BUCKETS];	/* counts <= acct_hist_le[i] */
	uint64_t	count;
	double		sum;
};

extern const double acct_hist_le[ACCT_HIST_BUCKETS];

/*
 * The access log's end= values (why a SOCKS session, an HTTP request or
 * a CONNECT tunnel ended, or why a client was refused at accept), in the
 * order /metrics lists them; the last, "other", counts any value not in
 * the list.  "interim" (a live session's periodic record) is not an end
 * and is not counted.
 */
#define ACCT_END_N	42
extern const char *const acct_end_names[ACCT_END_N];

struct acct_counters {
	uint64_t	sessions_total;		/* accepted and served */
	uint64_t	sessions_active;
	uint64_t	bytes_up;		/* client -> target, closed
						   sessions */
	uint64_t	bytes_down;		/* target -> client */
	uint64_t	refused_max;		/* over max_connections */
	uint64_t	refused_fd;		/* out of descriptors */
	uint64_t	refused_client;		/* over per_client */
	uint64_t	refused_user;		/* over per_user */
	uint64_t	refused_rate;		/* over rate_per_client */
	uint64_t	refused_quota;		/* over a user's quota */
	uint64_t	denied;			/* by the rules */
	uint64_t	fail_refused;		/* connect: refused */
	uint64_t	fail_unreach;		/* connect: unreachable */
	uint64_t	fail_timeout;		/* connect: timed out */
	uint64_t	fail_other;		/* connect: anything else */
	uint64_t	dns_nx;			/* no such name / no data */
	uint64_t	dns_timeout;
	uint64_t	dns_other;
	struct acct_hist dns_time;		/* lookups that went out */
	struct acct_hist connect_time;		/* connects that succeeded */
	uint64_t	auth_failed;
	uint64_t	dns_failed;
	uint64_t	connect_failed;
	uint64_t	relay_errors;		/* resets mid-tunnel */
	uint64_t	ends[ACCT_END_N];	/* records by end=, as
						   acct_end_names */
};

struct acct_log {
	int		fd;		/* -1: off */
	int		format;		/* enum conf_log_format */
	int		owned;		/* fd is ours to close */
	int		syslog;		/* fd is a syslog datagram socket */
	char		*path;		/* for messages; NULL for stderr */
	char		*buf;
	size_t		len;
	size_t		cap;
	struct event	timer;		/* flushes a partly filled buffer */
	unsigned	armed:1;
	uint64_t	lost;		/* bytes dropped on write errors */
};

/* What one access-log line says about one session or HTTP request. */
struct acct_record {
	uint64_t	id;
	int		worker;
	const char	*proto;		/* socks5, socks4, http, connect */
	const union sockaddr_u *client;
	const char	*user;		/* NULL: none */
	const char	*method;	/* HTTP request method, or NULL */
	const char	*url;		/* HTTP request target, or NULL */
	const char	*target;	/* host as requested, NULL: none */
	uint16_t	port;
	const union sockaddr_u *connected;	/* NULL or unset: none */
	const char	*status;	/* "0x00" (SOCKS), "200" (HTTP) */
	int		http_status;	/* the HTTP equivalent, 0: none */
	const char	*content_type;	/* response Content-Type, or NULL */
	uint64_t	up, down;
	int64_t		dur_ms;
	const char	*end;		/* why it ended: one token */
};

struct auth_user;
struct iptable;

int	acct_log_open(struct acct_log *, const char *, int, const char *,
	    struct event_base *, char *, size_t);
int	acct_log_reopen(struct acct_log *);
void	acct_log_replace(struct acct_log *, struct acct_log *);
void	acct_log_session(struct acct_log *, const struct acct_record *,
	    long long, long);
void	acct_log_flush(struct acct_log *);
void	acct_log_close(struct acct_log *);
int	acct_end_index(const char *);
void	acct_count_end(struct acct_counters *, const char *);

/* A client address: its sessions, its connection rate, its counters. */
struct acct_client {
	struct iptable_entry e;
	int		active;		/* sessions now */
	uint64_t	sessions;	/* since it was first seen */
	uint64_t	bytes_up;	/* of its closed sessions */
	uint64_t	bytes_down;
	int64_t		last;		/* ms: last session began or ended */
	struct tbucket	rate;		/* rate_per_client */
};

void	acct_hist_add(struct acct_hist *, double);
void	acct_counters_add(struct acct_counters *,
	    const struct acct_counters *);

int	acct_clients_init(struct iptable *);
struct acct_client *acct_client_acquire(struct iptable *,
	    const union sockaddr_u *, int, int, int64_t);
void	acct_client_release(struct iptable *, const union sockaddr_u *,
	    uint64_t, uint64_t, int64_t);
void	acct_clients_sweep(struct iptable *, int64_t);

int	acct_remember_init(struct iptable *);
void	acct_remember_add(struct iptable *, const union sockaddr_u *,
	    struct auth_user *, uint64_t, int64_t, int64_t);
struct auth_user *acct_remember_find(struct iptable *,
	    const union sockaddr_u *, uint64_t, int64_t);

#endif
