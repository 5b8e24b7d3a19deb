/*
 * What session.c, session_socks.c and session_http.c share.  Not for use
 * outside those three files.
 */
#ifndef SLUICE_SESSION_INTERNAL_H
#define SLUICE_SESSION_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"
#include "session.h"
#include "sio.h"

#define slog_info(s, fmt, ...)						\
	log_info("[w%d s%llu] " fmt, (s)->w->id,			\
	    (unsigned long long)(s)->id, ##__VA_ARGS__)
#define slog_debug(s, fmt, ...)						\
	log_debug("[w%d s%llu] " fmt, (s)->w->id,			\
	    (unsigned long long)(s)->id, ##__VA_ARGS__)

#define SESSION_PENDING_MAX	(64 * 1024)	/* client bytes buffered
						   before a tunnel is up */

static inline int
session_client_fd(const struct session *s)
{
	return s->relay.end[RELAY_CLIENT].fd;
}

enum session_admit {
	SESSION_ADMIT_OK = 0,
	SESSION_ADMIT_PER_USER,		/* limits.per_user */
	SESSION_ADMIT_QUOTA_DAY,	/* limits.user_quota_daily */
	SESSION_ADMIT_QUOTA_MONTH,	/* limits.user_quota_monthly */
};

/* session.c */
void	session_set_state(struct session *, enum session_state);
enum session_admit session_user_admit(struct session *);
void	session_user_release(struct session *);
int	session_charge(struct session *, uint64_t, uint64_t);
uint64_t session_quota_left(const struct session *);
unsigned session_protocol(const struct session *);
struct rules_verdict;
void	session_rules(struct session *, const union sockaddr_u *,
	    struct rules_verdict *);
const char *session_admit_str(enum session_admit);
void	session_deadline(struct session *, int64_t);
void	session_fail(struct session *, uint8_t, int, const char *,
	    const char *, ...) __attribute__((format(printf, 5, 6)));
void	session_fail_raw(struct session *, const void *, size_t,
	    const char *);
void	session_linger(struct session *);
void	session_target(struct session *, const union sockaddr_u *);
int	session_target_adopt(struct session *, int);
void	session_relay_start(struct session *, const void *, size_t);
void	session_log(struct session *);

/* session_socks.c */
int	session_socks5_input(struct session *);
int	session_socks4_input(struct session *);
void	session_socks_connected(struct session *);
int	session_remembered(struct session *);

/* session_http.c */
int	session_http_init(struct session *);
void	session_http_free(struct session *);
int	session_http_input(struct session *);
void	session_http_connected(struct session *);
void	session_http_client_event(struct session *, short);
void	session_http_client_drained(struct session *);
void	session_http_timeout(struct session *);
void	session_http_fail(struct session *, int, const char *, const char *);
const char *session_http_method(const struct session *);
void	session_http_log_interim(struct session *);

#endif
