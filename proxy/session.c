/*
 * Sessions: life cycle and what every protocol shares.  See session.h.
 *
 * The client socket gets one edge-triggered READ|WRITE|CLOSED event when it
 * is accepted (relay.end[RELAY_CLIENT].ev, the session's) and keeps it to
 * the end: negotiation and HTTP run on a buffered socket (sio.h) fed by
 * that event, and when a tunnel starts the sio lets go of the socket and
 * the same registration carries on into the relay; what the sio still held
 * (bytes the client sent after its request, answers not yet written) goes
 * into the relay first, followed by the reply.  No epoll_ctl between the
 * accept and the close on that socket.  The outbound socket gets one
 * edge-triggered READ|WRITE event at connect time that it keeps into the
 * relay.
 *
 * Every callback that ends a session calls session_close() and returns
 * without touching the session again.  Nothing completes synchronously under
 * a frame that still uses the session (cache hits are returned, not called
 * back; crypt results come through the loop), so no reference count is
 * needed.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ares.h>
#include <event2/buffer.h>
#include <event2/event.h>

#include "acct.h"
#include "clock.h"
#include "log.h"
#include "policy.h"
#include "resolver.h"
#include "rules.h"
#include "server.h"
#include "session-internal.h"
#include "sio.h"
#include "socks4.h"
#include "socks5.h"
#include "tcpcc.h"
#include "upstream.h"
#include "worker.h"
#include "../auth/auth.h"
#include "../auth/crypt_pool.h"

#define LINGER_MS	2000		/* reading after a final answer */

static void	session_read_cb(struct sio *, void *);
static void	session_write_cb(struct sio *, void *);
static void	session_event_cb(struct sio *, short, void *);
static void	session_timer_cb(evutil_socket_t, short, void *);
static void	session_target_cb(evutil_socket_t, short, void *);
static void	session_client_cb(evutil_socket_t, short, void *);
static void	target_close(struct session *);
static void	session_connect_next(struct session *);
static int	session_shape(struct session *, int64_t);
static void	session_relay_event(struct session *, int, short);

static const char *const state_names[] = {
	"sniff", "s5-greeting", "s5-auth", "s5-auth-wait", "s5-request",
	"s4-request", "http-head", "http-auth-wait", "resolving",
	"connecting", "http-forward", "relay", "linger", "closed",
};

const char *
session_state_name(enum session_state st)
{
	return (unsigned)st < sizeof(state_names) / sizeof(state_names[0]) ?
	    state_names[st] : "?";
}

/*
 * Every state change goes through here (and is logged at debug level).
 */
void
session_set_state(struct session *s, enum session_state st)
{
	slog_debug(s, "state %s -> %s", session_state_name(s->state),
	    session_state_name(st));
	s->state = st;
}

/*
 * Arm the session's one timer to fire ms from now (replacing what it was).
 */
void
session_deadline(struct session *s, int64_t ms)
{
	struct timeval tv = clock_tv(ms);

	evtimer_add(&s->timer, &tv);
}

static void
session_link(struct worker *w, struct session *s)
{
	s->next = w->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	w->sessions = s;
	w->ctr.sessions_active++;
	if (w->ctr.sessions_active > w->trim_peak)
		w->trim_peak = w->ctr.sessions_active;
}

/* Set the protocol once it is known; HTTP needs its state. */
static int
session_set_kind(struct session *s, enum session_kind k)
{
	s->kind = k;
	switch (k) {
	case SESSION_K_SOCKS5:
		session_set_state(s, SESSION_S_S5_GREETING);
		return 0;
	case SESSION_K_SOCKS4:
		session_set_state(s, SESSION_S_S4_REQUEST);
		return 0;
	case SESSION_K_HTTP:
		session_set_state(s, SESSION_S_HTTP_HEAD);
		return session_http_init(s);
	case SESSION_K_SNIFF:
		break;
	}
	return 0;
}

/*
 * Accept a client on fd (now owned by the session machinery: closed on any
 * failure).  Returns 0, or -1 when the client was refused.
 */
int
session_accept(struct worker *w, int fd, const union sockaddr_u *peer,
    enum conf_proto listener, int lstat)
{
	const struct conf *c = &w->pol->conf;
	struct relay_end *e;
	struct session *s;
	int slot, why;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("%s: out of memory", __func__);
		close(fd);
		__atomic_sub_fetch(&w->srv->active, 1, __ATOMIC_RELAXED);
		return -1;
	}
	s->w = w;
	s->pol = policy_ref(w->pol);
	s->conf = &s->pol->conf;
	s->id = ++w->next_id;
	s->listener = listener;
	s->client = *peer;
	netaddr_normalize(&s->client);
	s->t_start = clock_ms();
	relay_init(&s->relay, &w->relay_pool);
	s->relay.notsent_lowat = c->tcp_notsent_lowat;
	s->relay.end[RELAY_CLIENT].fd = fd;
	evtimer_assign(&s->timer, w->base, session_timer_cb, s);
	session_link(w, s);

	pthread_mutex_lock(&w->srv->mu);
	slot = acct_client_acquire(&w->srv->clients, &s->client,
	    c->per_client, c->rate_per_client, s->t_start) != NULL;
	why = errno;
	pthread_mutex_unlock(&w->srv->mu);
	if (!slot) {
		if (why == EBUSY)
			w->ctr.refused_client++;
		else if (why == EAGAIN)
			w->ctr.refused_rate++;
		session_close(s, why == EBUSY ? "limit_per_client" :
		    why == EAGAIN ? "limit_rate" : "out_of_memory");
		return -1;
	}
	s->flags |= SESSION_F_CLIENT_SLOT;
	s->lstat = worker_listener_stats(w, lstat);
	s->lstat->active++;
	s->lstat->sessions++;
	/* TCP_NODELAY: inherited from the listener (listener.c) */
	e = &s->relay.end[RELAY_CLIENT];
	if ((s->io = sio_new_on(&e->ev, fd)) == NULL) {
		session_close(s, "out_of_memory");
		return -1;
	}
	sio_setcb(s->io, session_read_cb, session_write_cb,
	    session_event_cb, s);
	event_assign(&e->ev, w->base, fd, EV_READ | EV_WRITE | EV_CLOSED |
	    EV_ET | EV_PERSIST, session_client_cb, s);
	if (event_add(&e->ev, NULL) == -1) {
		session_close(s, "out_of_memory");
		return -1;
	}
	w->ctr.sessions_total++;
	switch (listener) {
	case CONF_PROTO_SOCKS5:
		session_set_kind(s, SESSION_K_SOCKS5);
		break;
	case CONF_PROTO_SOCKS4:
		session_set_kind(s, SESSION_K_SOCKS4);
		break;
	case CONF_PROTO_HTTP:
		if (session_set_kind(s, SESSION_K_HTTP) == -1) {
			session_close(s, "out_of_memory");
			return -1;
		}
		break;
	case CONF_PROTO_AUTO:
		s->state = SESSION_S_SNIFF;
		break;
	}
	/* an HTTP head may be larger than a SOCKS one: its own bound */
	sio_set_read_hwm(s->io, s->kind ==
	    SESSION_K_HTTP || s->kind == SESSION_K_SNIFF ?
	    c->http_head_max + SESSION_PENDING_MAX : SESSION_PENDING_MAX);
	session_deadline(s, (int64_t)c->to_handshake * 1000);
	return 0;
}

/* ----- users: slots, quotas, accounting ------------------------------------ */

const char *
session_admit_str(enum session_admit a)
{
	switch (a) {
	case SESSION_ADMIT_OK:
		return "ok";
	case SESSION_ADMIT_PER_USER:
		return "limit_per_user";
	case SESSION_ADMIT_QUOTA_DAY:
		return "quota_daily";
	case SESSION_ADMIT_QUOTA_MONTH:
		return "quota_monthly";
	}
	return "?";
}

static int64_t
wall_ms(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/*
 * 1 when the user's daily or monthly quota is used up (2: monthly).  The
 * caller holds u->st->mu.
 */
static int
quota_reached(const struct auth_user *u)
{
	struct user_state *st = u->st;
	int64_t now = wall_ms();

	user_state_roll(st, policy_day(now), policy_month(now));
	if (u->quota_daily > 0 && st->used_day >= (uint64_t)u->quota_daily)
		return 1;
	if (u->quota_monthly > 0 &&
	    st->used_month >= (uint64_t)u->quota_monthly)
		return 2;
	return 0;
}

/*
 * The session has a user: count it (limits.per_user, the user's own
 * override first) and check the quotas.  Returns SESSION_ADMIT_OK, or why
 * not (then nothing is counted; the caller refuses).
 */
enum session_admit
session_user_admit(struct session *s)
{
	struct auth_user *u = s->user;
	int q;

	if (u == NULL)
		return SESSION_ADMIT_OK;
	pthread_mutex_lock(&u->st->mu);
	if ((q = quota_reached(u)) != 0) {
		u->st->denied++;
		pthread_mutex_unlock(&u->st->mu);
		slog_info(s, "user \"%s\" has used the %s quota", u->name,
		    q == 1 ? "daily" : "monthly");
		return q == 1 ? SESSION_ADMIT_QUOTA_DAY :
		    SESSION_ADMIT_QUOTA_MONTH;
	}
	if (s->flags & SESSION_F_USER_SLOT) {
		pthread_mutex_unlock(&u->st->mu);
		return SESSION_ADMIT_OK;
	}
	if (u->per_user > 0 && (q = u->st->active) >= u->per_user) {
		u->st->denied++;
		pthread_mutex_unlock(&u->st->mu);
		s->w->ctr.refused_user++;
		slog_info(s, "user \"%s\" has %d sessions (limits.per_user "
		    "%d): refused", u->name, q, u->per_user);
		return SESSION_ADMIT_PER_USER;
	}
	u->st->active++;
	u->st->sessions++;
	pthread_mutex_unlock(&u->st->mu);
	s->flags |= SESSION_F_USER_SLOT;
	return SESSION_ADMIT_OK;
}

/*
 * Give back the user's slot (closing, or an HTTP connection switching
 * users between requests).
 */
void
session_user_release(struct session *s)
{
	if ((s->flags & SESSION_F_USER_SLOT) && s->user != NULL) {
		pthread_mutex_lock(&s->user->st->mu);
		s->user->st->active--;
		pthread_mutex_unlock(&s->user->st->mu);
	}
	s->flags &= ~SESSION_F_USER_SLOT;
}

/*
 * Count bytes against the user (counters, quotas): up/down for HTTP, and
 * whatever the relay moved since the last call.  Returns -1 when a quota
 * is now used up (the caller ends the session), else 0.
 */
int
session_charge(struct session *s, uint64_t up, uint64_t down)
{
	struct user_state *st;
	int64_t now;
	int rc;
	uint64_t ru = s->relay.dir[RELAY_UP].bytes;
	uint64_t rd = s->relay.dir[RELAY_DOWN].bytes;

	s->http_up += up;
	s->http_down += down;
	up += ru - s->charged[0];
	down += rd - s->charged[1];
	s->charged[0] = ru;
	s->charged[1] = rd;
	if (s->user == NULL || up + down == 0)
		return 0;
	st = s->user->st;
	pthread_mutex_lock(&st->mu);
	st->bytes_up += up;
	st->bytes_down += down;
	if (s->user->quota_daily == 0 && s->user->quota_monthly == 0) {
		pthread_mutex_unlock(&st->mu);
		return 0;
	}
	now = wall_ms();
	user_state_roll(st, policy_day(now), policy_month(now));
	st->used_day += up + down;
	st->used_month += up + down;
	rc = quota_reached(s->user) ? -1 : 0;
	pthread_mutex_unlock(&st->mu);
	__atomic_store_n(&s->w->srv->users.dirty, 1, __ATOMIC_RELAXED);
	return rc;
}

/*
 * The CONF_P_* the rules see for this session (and its current request).
 */
unsigned
session_protocol(const struct session *s)
{
	switch (s->kind) {
	case SESSION_K_SOCKS5:
		return CONF_P_SOCKS5;
	case SESSION_K_SOCKS4:
		return CONF_P_SOCKS4;
	case SESSION_K_HTTP:
		return session_http_method(s) != NULL &&
		    strcmp(session_http_method(s), "CONNECT") == 0 ?
		    CONF_P_CONNECT : CONF_P_HTTP;
	case SESSION_K_SNIFF:
		break;
	}
	return 0;
}

/* ----- ending --------------------------------------------------------- */

static void
close_abortive(int fd)
{
	struct linger l = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static const char *
kind_name(const struct session *s)
{
	switch (s->kind) {
	case SESSION_K_SOCKS5:
		return "socks5";
	case SESSION_K_SOCKS4:
		return "socks4";
	case SESSION_K_HTTP:
		return "http";
	case SESSION_K_SNIFF:
		break;
	}
	return conf_proto_name(s->listener);
}

/* Write the access-log record of a SOCKS session (final or interim). */
static void
session_record(struct session *s, const char *end)
{
	struct worker *w = s->w;
	struct acct_record r;
	char status[8];

	if (s->flags & SESSION_F_REPLIED) {
		status[0] = '0';
		status[1] = 'x';
		status[2] = "0123456789abcdef"[s->rep >> 4];
		status[3] = "0123456789abcdef"[s->rep & 15];
		status[4] = '\0';
	} else {
		status[0] = '-';
		status[1] = '\0';
	}
	memset(&r, 0, sizeof(r));
	r.id = s->id;
	r.worker = w->id;
	r.proto = kind_name(s);
	r.client = &s->client;
	r.user = s->user != NULL ? s->user->name : NULL;
	r.target = s->host;
	r.port = s->port;
	r.connected = &s->connected;
	r.status = status;
	r.http_status = s->flags & SESSION_F_REPLIED ?
	    (s->rep == SOCKS5_REP_SUCCESS || s->rep == SOCKS4_REP_GRANTED ?
	    200 : s->rep == SOCKS5_REP_NOT_ALLOWED ? 403 : 502) : 0;
	r.up = s->relay.dir[RELAY_UP].bytes;
	r.down = s->relay.dir[RELAY_DOWN].bytes;
	r.dur_ms = clock_ms() - s->t_start;
	r.end = end != NULL ? end : "-";
	worker_record(w, &r);
}

/*
 * The access-log line of a SOCKS session (HTTP logs each request).
 */
void
session_log(struct session *s)
{
	if (s->flags & SESSION_F_LOGGED)
		return;
	s->flags |= SESSION_F_LOGGED;
	session_record(s, s->end);
}

/*
 * An interim record (log.interim) of a live session: the bytes so far,
 * end=interim.
 */
void
session_log_interim(struct session *s)
{
	if (s->kind == SESSION_K_HTTP)
		session_http_log_interim(s);
	else
		session_record(s, "interim");
}

/*
 * Release everything the session holds, write its access-log line and free
 * it.  Callers return at once and never touch s again.  reason is a token
 * kept for the log line (the first reason given wins).
 */
void
session_close(struct session *s, const char *reason)
{
	struct worker *w = s->w;
	struct relay_end *e;
	int i, abortive;

	if (s->state == SESSION_S_CLOSED)
		return;
	if (s->end == NULL)	/* an HTTP connection lingering after its
				   last response has no reason of its own */
		s->end = reason != NULL ? reason : "done";
	slog_debug(s, "close in state %s: %s", session_state_name(s->state),
	    s->end);
	s->state = SESSION_S_CLOSED;

	dns_waiter_cancel(&s->dns);
	dns_addrs_release(s->addrs);
	s->addrs = NULL;
	if (s->crypt != NULL) {
		s->crypt->arg = NULL;	/* the pool frees it */
		s->crypt = NULL;
	}
	evtimer_del(&s->timer);
	if (s->http != NULL)
		session_http_free(s);	/* logs what HTTP has not logged */
	if (s->io != NULL) {
		sio_free(s->io);	/* the socket and event are below */
		s->io = NULL;
	}
	for (i = 0; i < 2; i++) {
		e = &s->relay.end[i];
		if (e->fd == -1)
			continue;
		if (event_initialized(&e->ev))
			event_del(&e->ev);
		/* a reset on one side is passed on as a reset, so the other
		   side cannot mistake a cut transfer for a complete one */
		abortive = s->relay.err_end == !i &&
		    (s->relay.err == ECONNRESET || s->relay.err == EPIPE);
		if (abortive)
			close_abortive(e->fd);
		else
			close(e->fd);
		e->fd = -1;
	}
	relay_release(&s->relay);

	if (s->flags & SESSION_F_CLIENT_SLOT) {
		pthread_mutex_lock(&w->srv->mu);
		acct_client_release(&w->srv->clients, &s->client,
		    s->relay.dir[RELAY_UP].bytes + s->http_up,
		    s->relay.dir[RELAY_DOWN].bytes + s->http_down, clock_ms());
		pthread_mutex_unlock(&w->srv->mu);
	}
	if (s->lstat != NULL) {
		s->lstat->active--;
		s->lstat->bytes_up += s->relay.dir[RELAY_UP].bytes +
		    s->http_up;
		s->lstat->bytes_down += s->relay.dir[RELAY_DOWN].bytes +
		    s->http_down;
	}
	session_user_release(s);
	w->ctr.sessions_active--;
	__atomic_sub_fetch(&w->srv->active, 1, __ATOMIC_RELAXED);
	w->ctr.bytes_up += s->relay.dir[RELAY_UP].bytes;
	w->ctr.bytes_down += s->relay.dir[RELAY_DOWN].bytes;
	session_charge(s, 0, 0);
	session_log(s);

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	policy_release(s->pol);
	free(s->host);
	free(s);
	worker_session_gone(w);
}

/*
 * Close every session of the worker (drain timeout, second signal).
 */
void
session_close_all(struct worker *w, const char *reason)
{
	while (w->sessions != NULL)
		session_close(w->sessions, reason);
}

/*
 * After a final answer: shut our side once it is written, read what the
 * client still sends for a moment, then close.  Closing with unread input
 * would reset the connection and could destroy the answer before the
 * client reads it.
 */
void
session_linger(struct session *s)
{
	struct evbuffer *in;

	if (s->io == NULL) {
		session_close(s, s->end);
		return;
	}
	dns_waiter_cancel(&s->dns);
	target_close(s);	/* a connect in progress has no use now */
	session_set_state(s, SESSION_S_LINGER);
	s->flags |= SESSION_F_FLUSH_CLOSE;
	/* the write callback must mean "all written" from now on */
	sio_set_write_low(s->io, 0);
	in = sio_in(s->io);
	evbuffer_drain(in, evbuffer_get_length(in));
	sio_set_greedy(s->io, 1); /* a close after our shutdown shows as
				     EPOLLHUP: read to the EOF, not less */
	if (!(s->flags & SESSION_F_CLIENT_EOF))
		sio_read_on(s->io);
	session_deadline(s, LINGER_MS);
	if (evbuffer_get_length(sio_out(s->io)) == 0)
		session_write_cb(s->io, s);
}

/*
 * End the negotiation with an error: the protocol's answer (SOCKS5 reply
 * rep; SOCKS4 "rejected"; HTTP status with a short text/plain body from
 * fmt), the end token for the log, and a lingering close.
 */
void
session_fail(struct session *s, uint8_t rep, int status, const char *end,
    const char *fmt, ...)
{
	uint8_t buf[SOCKS5_REPLY_MAX];
	char why[512];
	va_list ap;
	size_t n;

	if (s->end == NULL)
		s->end = end;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (s->io == NULL) {
		session_close(s, end);
		return;
	}
	switch (s->kind) {
	case SESSION_K_SOCKS5:
		if (rep == SOCKS5_REP_NONE)
			break;
		n = socks5_encode_reply(buf, rep, NULL);
		sio_write(s->io, buf, n);
		s->rep = rep;
		s->flags |= SESSION_F_REPLIED;
		break;
	case SESSION_K_SOCKS4:
		if (rep == SOCKS5_REP_NONE)
			break;
		n = socks4_encode_reply(buf, SOCKS4_REP_REJECTED);
		sio_write(s->io, buf, n);
		s->rep = SOCKS4_REP_REJECTED;
		s->flags |= SESSION_F_REPLIED;
		break;
	case SESSION_K_HTTP:
		session_http_fail(s, status, end, why);
		return;		/* it lingers or keeps the connection */
	case SESSION_K_SNIFF:
		break;
	}
	session_linger(s);
}

/*
 * A final answer given as bytes (SOCKS5 method 0xFF, an RFC 1929 failure,
 * SOCKS4 0x5D): write it and linger.
 */
void
session_fail_raw(struct session *s, const void *msg, size_t len,
    const char *end)
{
	if (s->end == NULL)
		s->end = end;
	if (s->io != NULL)
		sio_write(s->io, msg, len);
	session_linger(s);
}

/* ----- client socket callbacks (before a tunnel) ---------------------- */

/*
 * auto listeners: the first byte tells SOCKS5, SOCKS4 and HTTP apart.
 * Returns 0 (known, or no byte yet), or -1 when s is gone.
 */
static int
session_sniff(struct session *s)
{
	struct evbuffer *in = sio_in(s->io);
	enum session_kind k;
	unsigned char c;

	if (evbuffer_copyout(in, &c, 1) != 1)
		return 0;
	if (c == SOCKS5_VERSION)
		k = SESSION_K_SOCKS5;
	else if (c == SOCKS4_VERSION)
		k = SESSION_K_SOCKS4;
	else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    c == '\r')
		k = SESSION_K_HTTP;
	else {
		slog_info(s, "unknown protocol (first byte 0x%02x)", c);
		session_close(s, "bad_protocol");
		return -1;
	}
	if (session_set_kind(s, k) == -1) {
		session_close(s, "out_of_memory");
		return -1;
	}
	return 0;
}

static void
session_read_cb(struct sio *io, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = sio_in(io);

	if (s->state == SESSION_S_LINGER) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	if (s->state == SESSION_S_SNIFF) {
		if (session_sniff(s) == -1)
			return;		/* s is gone */
		if (s->state == SESSION_S_SNIFF)
			return;
	}
	switch (s->kind) {
	case SESSION_K_SOCKS5:
		session_socks5_input(s);
		break;
	case SESSION_K_SOCKS4:
		session_socks4_input(s);
		break;
	case SESSION_K_HTTP:
		session_http_input(s);
		break;
	case SESSION_K_SNIFF:
		break;
	}
}

static void
session_write_cb(struct sio *io, void *arg)
{
	struct session *s = arg;

	if (s->flags & SESSION_F_FLUSH_CLOSE) {
		if (evbuffer_get_length(sio_out(io)) > 0)
			return;
		/* the final answer is out: half-close, read until EOF (or
		   close now if the client's EOF came already) */
		s->flags &= ~SESSION_F_FLUSH_CLOSE;
		if (shutdown(session_client_fd(s), SHUT_WR) == -1 ||
		    (s->flags & SESSION_F_CLIENT_EOF))
			session_close(s, s->end);
		return;
	}
	if (s->kind == SESSION_K_HTTP)
		session_http_client_drained(s);
}

static void
session_event_cb(struct sio *io, short what, void *arg)
{
	struct session *s = arg;

	(void)io;
	if (s->state == SESSION_S_LINGER) {
		if ((what & SIO_EOF) && !(what & SIO_ERROR) &&
		    (s->flags & SESSION_F_FLUSH_CLOSE)) {
			/* the client is done sending; our answer is still
			   going out: close once it is written */
			s->flags |= SESSION_F_CLIENT_EOF;
			sio_read_off(s->io);
			return;
		}
		session_close(s, s->end);
		return;
	}
	if (s->kind == SESSION_K_HTTP) {
		session_http_client_event(s, what);
		return;
	}
	if (what & SIO_ERROR) {
		s->err = errno;
		session_close(s, "client_reset");
		return;
	}
	if (!(what & SIO_EOF))
		return;
	switch (s->state) {
	case SESSION_S_S5_AUTH_WAIT:
	case SESSION_S_RESOLVING:
	case SESSION_S_CONNECTING:
		/* a half-close after the request: passed on once the tunnel
		   is up, with the bytes before it (while a password is being
		   checked, the request may be here already: see
		   session_socks5_input) */
		s->flags |= SESSION_F_CLIENT_EOF;
		return;
	default:
		session_close(s, "client_closed");
		return;
	}
}

/* ----- resolving and connecting ----------------------------------------- */

/*
 * The rules' verdict on reaching the session's target (s->host, s->port)
 * at addr, for its user, client and protocol.
 */
void
session_rules(struct session *s, const union sockaddr_u *addr,
    struct rules_verdict *v)
{
	struct rules_query q;

	memset(&q, 0, sizeof(q));
	q.user = s->user != NULL ? s->user->name : NULL;
	q.client = &s->client;
	q.protocol = session_protocol(s);
	q.method = s->kind == SESSION_K_HTTP ? session_http_method(s) : NULL;
	q.host = s->host;
	q.port = s->port;
	q.addr = addr;
	rules_check(&s->pol->conf, &s->pol->guard, &q, v);
}

/*
 * The rules on every address the target resolved to: returns the list of
 * allowed ones (a new reference), or NULL after refusing the client (no
 * address allowed; the first refusal names the rule).
 */
static struct dns_addrs *
session_allowed(struct session *s, struct dns_addrs *addrs)
{
	struct policy *p = s->pol;
	struct rules_verdict v, first;
	struct dns_addrs *ok;
	char a[NETADDR_STRLEN], why[600];
	int i;

	if (p->conf.nrules == 0 && !p->guard.shared)
		return dns_addrs_ref(addrs);
	if ((ok = dns_addrs_new(addrs->n)) == NULL) {
		session_fail(s, SOCKS5_REP_FAILURE, 503, "out_of_memory",
		    "out of memory");
		return NULL;
	}
	memset(&first, 0, sizeof(first));
	for (i = 0; i < addrs->n; i++) {
		session_rules(s, &addrs->a[i], &v);
		if (v.action == CONF_ALLOW)
			ok->a[ok->n++] = addrs->a[i];
		else if (first.action == CONF_ALLOW) {
			first = v;
			s->trying = addrs->a[i];
			netaddr_set_port(&s->trying, s->port);
		}
	}
	if (ok->n > 0)
		return ok;
	dns_addrs_release(ok);
	s->denied_rule = first.rule;
	s->w->ctr.denied++;
	if (s->user != NULL)
		user_state_inc(s->user->st, &s->user->st->denied);
	netaddr_ip_str(&s->trying, a, sizeof(a));
	if (first.protected)
		snprintf(why, sizeof(why), "%s (%s) is a protected destination "
		    "on this gateway (loopback, link-local or the proxy's own "
		    "address): a rule must allow it by address", s->host, a);
	else {
		const struct conf_rule *r = &p->conf.rules[first.rule - 1];

		snprintf(why, sizeof(why), "%s port %u (%s) is denied by rule "
		    "#%d%s%s%s", s->host, s->port, a, first.rule,
		    r->name ? " \"" : "", r->name ? r->name : "",
		    r->name ? "\"" : "");
	}
	slog_info(s, "%s", why);
	session_fail(s, SOCKS5_REP_NOT_ALLOWED, 403, first.protected ?
	    "denied_protected" : "denied", "%s", why);
	return NULL;
}

static void
session_resolved(struct session *s, int status, struct dns_addrs *addrs)
{
	if (status != ARES_SUCCESS || addrs == NULL || addrs->n == 0) {
		s->w->ctr.dns_failed++;
		if (status == ARES_ENOTFOUND || status == ARES_ENODATA)
			s->w->ctr.dns_nx++;
		else if (resolver_is_timeout(status))
			s->w->ctr.dns_timeout++;
		else
			s->w->ctr.dns_other++;
		slog_info(s, "resolve %s: %s", s->host,
		    resolver_strerror(status));
		session_fail(s, upstream_dns_to_rep(status),
		    upstream_dns_to_http(status), resolver_is_timeout(status) ?
		    "dns_timeout" : "dns_failed", "cannot resolve %s: %s",
		    s->host, resolver_strerror(status));
		return;
	}
	if ((s->addrs = session_allowed(s, addrs)) == NULL)
		return;		/* refused */
	s->addr_idx = 0;
	session_set_state(s, SESSION_S_CONNECTING);
	s->t_phase = clock_ms();
	s->t_deadline = s->t_phase + (int64_t)s->conf->to_connect * 1000;
	session_connect_next(s);
}

static void
dns_cb(struct dns_waiter *wt, int status, struct dns_addrs *addrs)
{
	struct session *s = (struct session *)(void *)((char *)wt -
	    offsetof(struct session, dns));

	acct_hist_add(&s->w->ctr.dns_time,
	    (double)(clock_ms() - s->t_phase) / 1000);
	session_resolved(s, status, addrs);
}

/*
 * Reach the target in s->host, s->port: the address ip when the client
 * gave one (or the name is a literal), else what the name resolves to.
 * Ends in the protocol's connected() or in session_fail().
 */
void
session_target(struct session *s, const union sockaddr_u *ip)
{
	const struct conf *c = s->conf;
	struct dns_addrs *addrs;
	int status;

	if (ip != NULL) {
		if ((addrs = dns_addrs_new(1)) == NULL) {
			session_fail(s, SOCKS5_REP_FAILURE, 503,
			    "out_of_memory", "out of memory");
			return;
		}
		addrs->a[0] = *ip;
		addrs->n = 1;
		session_resolved(s, ARES_SUCCESS, addrs);
		dns_addrs_release(addrs);
		return;
	}
	session_set_state(s, SESSION_S_RESOLVING);
	s->t_phase = clock_ms();
	/* c-ares gives up after its tries; this is a backstop */
	session_deadline(s, (int64_t)c->dns_timeout_ms * c->dns_tries *
	    (c->ndns_servers > 1 ? c->ndns_servers : 1) + 2000);
	if (resolver_lookup(s->w->resolver, s->host, &s->dns, dns_cb, &status,
	    &addrs) == RESOLVER_DONE) {
		session_resolved(s, status, addrs);
		dns_addrs_release(addrs);
	}
}

static void
target_close(struct session *s)
{
	struct relay_end *e = &s->relay.end[RELAY_TARGET];

	if (e->fd == -1)
		return;
	event_del(&e->ev);
	close(e->fd);
	e->fd = -1;
	e->rd_ready = e->wr_ready = 0;
}

static void
session_connect_failed(struct session *s)
{
	char a[NETADDR_STRLEN];

	s->w->ctr.connect_failed++;
	switch (s->err) {
	case ECONNREFUSED:
		s->w->ctr.fail_refused++;
		break;
	case ENETUNREACH:
	case EHOSTUNREACH:
	case ENETDOWN:
	case EHOSTDOWN:
		s->w->ctr.fail_unreach++;
		break;
	case ETIMEDOUT:
		s->w->ctr.fail_timeout++;
		break;
	default:
		s->w->ctr.fail_other++;
		break;
	}
	if (s->user != NULL)
		user_state_inc(s->user->st, &s->user->st->connect_failed);
	netaddr_str(&s->trying, a, sizeof(a));
	slog_info(s, "connect %s (%s): %s", s->host, a, strerror(s->err));
	if (s->err == EMFILE || s->err == ENFILE)
		worker_out_of_fds(s->w);
	session_fail(s, upstream_errno_to_rep(s->err),
	    upstream_errno_to_http(s->err), s->err == ETIMEDOUT ?
	    "connect_timeout" : "connect_failed", "cannot connect to %s "
	    "port %u (%s): %s", s->host, s->port, a, s->err == ETIMEDOUT ?
	    "no answer in time" : strerror(s->err));
}

/*
 * Try the next address, with a share of the time left (so one silent
 * address cannot use it all); fail when none is left.
 */
static void
session_connect_next(struct session *s)
{
	struct relay_end *e = &s->relay.end[RELAY_TARGET];
	union sockaddr_u a;
	int64_t left, share;
	int remaining, fd;

	while (s->addr_idx < s->addrs->n) {
		a = s->addrs->a[s->addr_idx++];
		netaddr_set_port(&a, s->port);
		s->trying = a;
		if (upstream_connect(&a, tcpcc_for(s->conf, &a), &fd) == -1) {
			s->err = errno;
			if (errno == EMFILE || errno == ENFILE)
				break;
			continue;
		}
		e->fd = fd;
		event_assign(&e->ev, s->w->base, fd,
		    EV_READ | EV_WRITE | EV_ET | EV_PERSIST, session_target_cb,
		    s);
		if (event_add(&e->ev, NULL) == -1) {
			s->err = ENOMEM;
			target_close(s);
			continue;
		}
		left = s->t_deadline - clock_ms();
		remaining = s->addrs->n - s->addr_idx + 1;
		share = left / remaining;
		if (remaining > 1 && share < 1000)
			share = left < 1000 ? left : 1000;
		session_deadline(s, share);
		return;
	}
	session_connect_failed(s);
}

/*
 * Make fd, already connected (an origin connection that switched
 * protocols), the target end of the relay.  Returns 0, or -1 (the
 * descriptor is closed).
 */
int
session_target_adopt(struct session *s, int fd)
{
	struct relay_end *e = &s->relay.end[RELAY_TARGET];

	e->fd = fd;
	event_assign(&e->ev, s->w->base, fd,
	    EV_READ | EV_WRITE | EV_ET | EV_PERSIST, session_target_cb, s);
	if (event_add(&e->ev, NULL) == -1) {
		close(fd);
		e->fd = -1;
		return -1;
	}
	/* what it holds is unknown: look */
	e->rd_ready = e->wr_ready = 1;
	return 0;
}

static void
session_connected(struct session *s)
{
	acct_hist_add(&s->w->ctr.connect_time,
	    (double)(clock_ms() - s->t_phase) / 1000);
	s->connected = s->trying;
	dns_addrs_release(s->addrs);
	s->addrs = NULL;
	if (s->kind == SESSION_K_HTTP)
		session_http_connected(s);
	else
		session_socks_connected(s);
}

/* ----- the relay -------------------------------------------------------- */

/*
 * The target is connected and reply (len bytes) is the answer that makes
 * the client's connection a tunnel: hand both sockets to the relay, with
 * what the client's sio still holds going first.
 */
void
session_relay_start(struct session *s, const void *reply, size_t n)
{
	struct relay *r = &s->relay;
	struct evbuffer *in = sio_in(s->io);
	struct evbuffer *out = sio_out(s->io);
	struct relay_end *ce = &r->end[RELAY_CLIENT];
	int rd, wr;

	/* unwritten negotiation answers, then the reply, to the client;
	   what the client sent after its request, to the target */
	if (relay_preload(r, RELAY_DOWN, evbuffer_pullup(out, -1),
	    evbuffer_get_length(out)) == -1 ||
	    relay_preload(r, RELAY_DOWN, reply, n) == -1 ||
	    relay_preload(r, RELAY_UP, evbuffer_pullup(in, -1),
	    evbuffer_get_length(in)) == -1) {
		s->err = ENOMEM;
		session_close(s, "out_of_memory");
		return;
	}
	/* the registration stays; what the sio knew of it goes on */
	(void)sio_release(s->io, &rd, &wr);
	s->io = NULL;
	ce->rd_ready = rd != 0;
	ce->wr_ready = wr != 0;
	if (s->flags & SESSION_F_CLIENT_EOF)
		r->dir[RELAY_UP].eof = 1;
	session_set_state(s, SESSION_S_RELAY);
	r->last_active = clock_ms();
	if (session_shape(s, r->last_active) == -1) {
		session_close(s, "out_of_memory");
		return;
	}
	session_deadline(s, (int64_t)s->conf->to_idle * 1000);
	session_relay_event(s, RELAY_CLIENT, 0);
}

/*
 * The tunnel's bandwidth limits: conn_bandwidth for itself, and the
 * user's user_bandwidth (the user's own, else the global one), shared by
 * all the user's tunnels.  Returns 0, or -1 (ENOMEM).
 */
static int
session_shape(struct session *s, int64_t now)
{
	struct user_state *st = s->user != NULL ? s->user->st : NULL;
	int64_t ubw = s->user != NULL ? s->user->bandwidth : 0;

	if (st != NULL && ubw > 0)
		user_state_bw_init(st, ubw, now);
	return relay_shape(&s->relay, s->w->base, s->conf->conn_bandwidth,
	    ubw > 0 ? &st->bw[RELAY_UP] : NULL,
	    ubw > 0 ? &st->bw[RELAY_DOWN] : NULL, ubw > 0 ? &st->mu : NULL, now);
}

static const char *
relay_end_reason(const struct relay *r)
{
	int client = r->err_end == RELAY_CLIENT;

	switch (r->err) {
	case ECONNRESET:
	case EPIPE:
		return client ? "client_reset" : "target_reset";
	case ETIMEDOUT:
		return client ? "client_timeout" : "target_timeout";
	case ENOMEM:
	case ENOBUFS:
		return "out_of_memory";
	default:
		return client ? "client_error" : "target_error";
	}
}

/*
 * What the user's quotas still allow (RELAY_NO_CAP: no quota): a tunnel,
 * or an HTTP body, moves no more than that before its bytes are charged,
 * so a quota is cut at the byte, not a read later.
 */
uint64_t
session_quota_left(const struct session *s)
{
	const struct auth_user *u = s->user;
	uint64_t left = RELAY_NO_CAP, q;

	if (u == NULL || (u->quota_daily == 0 && u->quota_monthly == 0))
		return left;
	pthread_mutex_lock(&u->st->mu);
	(void)quota_reached(u);		/* rolls the periods */
	if (u->quota_daily > 0) {
		q = (uint64_t)u->quota_daily;
		left = u->st->used_day >= q ? 0 : q - u->st->used_day;
	}
	if (u->quota_monthly > 0) {
		q = (uint64_t)u->quota_monthly;
		q = u->st->used_month >= q ? 0 : q - u->st->used_month;
		if (q < left)
			left = q;
	}
	pthread_mutex_unlock(&u->st->mu);
	return left;
}

static void
session_relay_event(struct session *s, int end, short what)
{
	s->relay.cap = session_quota_left(s);
	switch (relay_io(&s->relay, end, what, clock_ms())) {
	case RELAY_OK:
		if (s->user != NULL && session_charge(s, 0, 0) == -1) {
			slog_info(s, "user \"%s\" used up a transfer quota: "
			    "tunnel closed", s->user->name);
			s->w->ctr.refused_quota++;
			session_close(s, "quota_exceeded");
		}
		return;
	case RELAY_DONE:
		session_close(s, "done");
		return;
	case RELAY_ERROR:
		s->err = s->relay.err;
		s->w->ctr.relay_errors++;
		session_close(s, relay_end_reason(&s->relay));
		return;
	}
}

static void
session_target_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct relay_end *e = &s->relay.end[RELAY_TARGET];

	if (s->state == SESSION_S_RELAY) {
		session_relay_event(s, RELAY_TARGET, what);
		return;
	}
	if (what & EV_READ)
		e->rd_ready = 1;	/* a target that speaks first */
	if (s->state != SESSION_S_CONNECTING || !(what & EV_WRITE))
		return;
	e->wr_ready = 1;
	/* libevent reports EPOLLERR and EPOLLHUP as READ|WRITE, and a socket
	   still in SYN_SENT is not writable: WRITE alone is a connect that
	   succeeded, with no getsockopt to ask */
	s->err = (what & EV_READ) ? upstream_connect_result(fd) : 0;
	if (s->err == 0) {
		session_connected(s);
		return;
	}
	target_close(s);
	session_connect_next(s);
}

static void
session_client_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;

	(void)fd;
	if (s->io != NULL)
		sio_handle(s->io, what);	/* may free s */
	else if (s->state == SESSION_S_RELAY)
		session_relay_event(s, RELAY_CLIENT, what);
}

static void
session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	int64_t now, idle_ms;

	(void)fd;
	(void)what;
	switch (s->state) {
	case SESSION_S_RELAY:
		now = clock_ms();
		idle_ms = (int64_t)s->conf->to_idle * 1000;
		if (now - s->relay.last_active < idle_ms) {
			/* bytes moved since it was armed: re-arm lazily */
			session_deadline(s, s->relay.last_active + idle_ms -
			    now);
			return;
		}
		session_close(s, "idle_timeout");
		return;
	case SESSION_S_CONNECTING:
		target_close(s);
		s->err = ETIMEDOUT;
		if (clock_ms() >= s->t_deadline) {
			session_connect_failed(s);
			return;
		}
		session_connect_next(s);
		return;
	case SESSION_S_RESOLVING:
		s->w->ctr.dns_failed++;
		slog_info(s, "resolve %s: no answer in time", s->host);
		session_fail(s, SOCKS5_REP_HOST_UNREACH, 504, "dns_timeout",
		    "cannot resolve %s: no answer in time", s->host);
		return;
	case SESSION_S_LINGER:
		session_close(s, s->end);
		return;
	case SESSION_S_HTTP_HEAD:
	case SESSION_S_HTTP_FORWARD:
		session_http_timeout(s);
		return;
	default:
		slog_info(s, "handshake timeout in state %s",
		    session_state_name(s->state));
		session_close(s, "handshake_timeout");
		return;
	}
}
