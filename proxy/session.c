/*
 * Sessions: see session.h.
 *
 * Negotiation runs on a bufferevent that borrows the client socket (it is
 * created without BEV_OPT_CLOSE_ON_FREE: the session owns the descriptor).
 * Callbacks are not deferred: there is one bufferevent per session and
 * nothing calls back into another session's, so there is no recursion to
 * break, and each deferral would cost a loop pass.  The outbound socket gets
 * one edge-triggered READ|WRITE event at connect time that it keeps into the
 * relay.  When the reply is due, the client socket leaves the bufferevent
 * (bufferevent_setfd(-1) removes its events at once) and gets its own
 * edge-triggered event; what the bufferevent still held (bytes the client
 * sent after its request, replies not yet written) goes into the relay
 * first, followed by the reply.
 *
 * Every callback that ends a session calls session_close() and returns
 * without touching the session again.  Nothing completes synchronously under
 * a frame that still uses the session (cache hits are returned, not called
 * back; crypt results come through the loop), so no reference count is
 * needed.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ares.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "acct.h"
#include "clock.h"
#include "log.h"
#include "resolver.h"
#include "session.h"
#include "socks5.h"
#include "upstream.h"
#include "worker.h"
#include "../auth/auth.h"
#include "../auth/crypt_pool.h"

#define HEAD_MAX	(SOCKS5_AUTH_MAX + SOCKS5_REQUEST_MAX)
#define PENDING_MAX	(64 * 1024)	/* client bytes buffered before the
					   tunnel is up */
#define LINGER_MS	2000		/* reading after an error reply */

#define slog_info(s, fmt, ...)						\
	log_info("[w%d s%llu] " fmt, (s)->w->id,			\
	    (unsigned long long)(s)->id, ##__VA_ARGS__)
#define slog_debug(s, fmt, ...)						\
	log_debug("[w%d s%llu] " fmt, (s)->w->id,			\
	    (unsigned long long)(s)->id, ##__VA_ARGS__)

static void	session_read_cb(struct bufferevent *, void *);
static void	session_write_cb(struct bufferevent *, void *);
static void	session_event_cb(struct bufferevent *, short, void *);
static void	session_timer_cb(evutil_socket_t, short, void *);
static void	session_target_cb(evutil_socket_t, short, void *);
static void	session_client_cb(evutil_socket_t, short, void *);
static int	session_handshake(struct session *);
static void	session_connect_next(struct session *);

static const char *const state_names[] = {
	"sniff", "greeting", "auth", "auth-wait", "request", "resolving",
	"connecting", "relay", "linger", "closed",
};

const char *
session_state_name(enum session_state st)
{
	return (unsigned)st < sizeof(state_names) / sizeof(state_names[0]) ?
	    state_names[st] : "?";
}

static void
session_set_state(struct session *s, enum session_state st)
{
	slog_debug(s, "state %s -> %s", session_state_name(s->state),
	    session_state_name(st));
	s->state = st;
}

/* Arm the session's one timer to fire ms from now. */
static void
session_deadline(struct session *s, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(&s->timer, &tv);
}

static int
client_fd(const struct session *s)
{
	return s->relay.end[RELAY_CLIENT].fd;
}

/*
 * Accept a client on fd (now owned by the session machinery: closed on any
 * failure).  Returns 0, or -1 when the client was refused.
 */
int
session_accept(struct worker *w, int fd, const union sockaddr_u *peer,
    enum conf_proto proto)
{
	const struct conf *c = w->conf;
	struct session *s;
	int one = 1;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		log_warn("%s: out of memory", __func__);
		close(fd);
		return -1;
	}
	s->w = w;
	s->id = ++w->next_id;
	s->proto = proto;
	s->client = *peer;
	netaddr_normalize(&s->client);
	s->t_start = clock_ms();
	relay_init(&s->relay, &w->relay_pool);
	s->relay.end[RELAY_CLIENT].fd = fd;
	evtimer_assign(&s->timer, w->base, session_timer_cb, s);

	if (c->per_client > 0) {
		if (acct_client_acquire(&w->clients, &s->client,
		    c->per_client) == -1) {
			w->ctr.refused_client++;
			s->end = "limit_per_client";
			goto refuse;
		}
		s->flags |= SESSION_F_CLIENT_SLOT;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->bev = bufferevent_socket_new(w->base, fd, 0);
	if (s->bev == NULL) {
		s->end = "out_of_memory";
		goto refuse;
	}
	bufferevent_setcb(s->bev, session_read_cb, session_write_cb,
	    session_event_cb, s);
	bufferevent_setwatermark(s->bev, EV_READ, 0, PENDING_MAX);
	bufferevent_enable(s->bev, EV_READ);

	s->next = w->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	w->sessions = s;
	w->ctr.sessions_active++;
	w->ctr.sessions_total++;
	s->state = proto == CONF_PROTO_SOCKS5 ? SESSION_S_S5_GREETING :
	    SESSION_S_SNIFF;
	session_deadline(s, (int64_t)c->to_handshake * 1000);
	return 0;
refuse:
	/* a plain close; the client sees its connection end */
	w->ctr.sessions_active++;
	s->next = w->sessions;
	if (s->next != NULL)
		s->next->prev = s;
	w->sessions = s;
	session_close(s, s->end);
	return -1;
}

/* ----- ending --------------------------------------------------------- */

static void
close_abortive(int fd)
{
	struct linger l = { 1, 0 };

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
}

static void
session_log(struct session *s)
{
	struct worker *w = s->w;
	struct acct_record r;
	struct timeval tv;
	char status[8];

	if (s->flags & SESSION_F_REPLIED)
		snprintf(status, sizeof(status), "0x%02x", s->rep);
	else
		snprintf(status, sizeof(status), "-");
	memset(&r, 0, sizeof(r));
	r.id = s->id;
	r.worker = w->id;
	r.proto = conf_proto_name(s->proto);
	r.client = &s->client;
	r.user = s->user != NULL ? s->user->name : NULL;
	r.target = s->host;
	r.port = s->port;
	r.connected = &s->connected;
	r.status = status;
	r.up = s->relay.dir[RELAY_UP].bytes;
	r.down = s->relay.dir[RELAY_DOWN].bytes;
	r.dur_ms = clock_ms() - s->t_start;
	r.end = s->end != NULL ? s->end : "-";
	gettimeofday(&tv, NULL);
	acct_log_session(&w->alog, &r, tv.tv_sec, tv.tv_usec);
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
	if (s->end == NULL)
		s->end = reason;
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
	if (s->bev != NULL) {
		bufferevent_setfd(s->bev, -1);
		bufferevent_free(s->bev);
		s->bev = NULL;
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

	if (s->flags & SESSION_F_CLIENT_SLOT)
		acct_client_release(&w->clients, &s->client);
	if ((s->flags & SESSION_F_USER_SLOT) && s->user != NULL)
		s->user->active--;
	w->ctr.sessions_active--;
	w->ctr.bytes_up += s->relay.dir[RELAY_UP].bytes;
	w->ctr.bytes_down += s->relay.dir[RELAY_DOWN].bytes;
	session_log(s);

	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		w->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
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
 * End the negotiation with an error: send the SOCKS5 reply rep (none for
 * SOCKS5_REP_NONE), then shut our side, read what the client still sends
 * for a moment and close.  Closing with unread input would reset the
 * connection and could destroy the reply before the client reads it.
 */
static void
session_fail(struct session *s, uint8_t rep, const char *end)
{
	uint8_t buf[SOCKS5_REPLY_MAX];
	size_t n;

	if (s->end == NULL)
		s->end = end;
	if (s->bev == NULL) {
		session_close(s, end);
		return;
	}
	if (rep != SOCKS5_REP_NONE) {
		n = socks5_encode_reply(buf, rep, NULL);
		bufferevent_write(s->bev, buf, n);
		s->rep = rep;
		s->flags |= SESSION_F_REPLIED;
	}
	dns_waiter_cancel(&s->dns);
	session_set_state(s, SESSION_S_LINGER);
	s->flags |= SESSION_F_FLUSH_CLOSE;
	evbuffer_drain(bufferevent_get_input(s->bev),
	    evbuffer_get_length(bufferevent_get_input(s->bev)));
	bufferevent_enable(s->bev, EV_READ);
	session_deadline(s, LINGER_MS);
	if (evbuffer_get_length(bufferevent_get_output(s->bev)) == 0)
		session_write_cb(s->bev, s);
}

/*
 * A method-selection or RFC 1929 answer that ends the session (0xFF, auth
 * failure): same lingering close, no SOCKS5 reply.
 */
static void
session_fail_with(struct session *s, const uint8_t *msg, size_t len,
    const char *end)
{
	bufferevent_write(s->bev, msg, len);
	session_fail(s, SOCKS5_REP_NONE, end);
}

/* ----- bufferevent callbacks (negotiation) ---------------------------- */

static void
session_read_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	if (s->state == SESSION_S_LINGER) {
		evbuffer_drain(in, evbuffer_get_length(in));
		return;
	}
	session_handshake(s);
}

static void
session_write_cb(struct bufferevent *bev, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (!(s->flags & SESSION_F_FLUSH_CLOSE))
		return;
	/* the error reply is out: half-close, keep reading until EOF */
	s->flags &= ~SESSION_F_FLUSH_CLOSE;
	if (shutdown(client_fd(s), SHUT_WR) == -1)
		session_close(s, s->end);
}

static void
session_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_ERROR) {
		s->err = EVUTIL_SOCKET_ERROR();
		session_close(s, s->state == SESSION_S_LINGER ? s->end :
		    "client_reset");
		return;
	}
	if (!(what & BEV_EVENT_EOF))
		return;
	switch (s->state) {
	case SESSION_S_RESOLVING:
	case SESSION_S_CONNECTING:
		/* a half-close after the request: passed on once the tunnel
		   is up, with the bytes before it */
		s->flags |= SESSION_F_CLIENT_EOF;
		return;
	case SESSION_S_LINGER:
		session_close(s, s->end);
		return;
	default:
		session_close(s, "client_closed");
		return;
	}
}

/* ----- authentication -------------------------------------------------- */

static void
auth_accepted(struct session *s)
{
	uint8_t buf[2];

	socks5_encode_auth_status(buf, SOCKS5_AUTH_OK);
	bufferevent_write(s->bev, buf, 2);
	session_set_state(s, SESSION_S_S5_REQUEST);
}

static void
auth_rejected(struct session *s, const char *name)
{
	char ip[NETADDR_STRLEN];
	uint8_t buf[2];

	s->w->ctr.auth_failed++;
	slog_info(s, "client %s: authentication failed for user \"%.64s\"",
	    netaddr_ip_str(&s->client, ip, sizeof(ip)), name);
	socks5_encode_auth_status(buf, SOCKS5_AUTH_FAIL);
	session_fail_with(s, buf, 2, "auth_failed");
}

/* Runs on the loop when the crypt pool has the answer. */
static void
crypt_done(struct crypt_job *j)
{
	struct session *s = j->arg;

	if (s == NULL) {		/* the client went away meanwhile */
		crypt_job_free(j);
		return;
	}
	s->crypt = NULL;
	if (j->ok && s->user != NULL) {
		auth_remember(s->w->auth, s->user, j->pass, j->plen);
		crypt_job_free(j);
		auth_accepted(s);
		session_handshake(s);
		return;
	}
	crypt_job_free(j);
	auth_rejected(s, s->user != NULL ? s->user->name : "(unknown)");
}

/* RFC 1929: returns 0 to go on parsing, 1 to wait, -1 if s is gone. */
static int
handle_auth(struct session *s, const struct socks5_auth *a)
{
	struct worker *w = s->w;
	struct auth_user *u;
	struct crypt_job *j;
	const char *hash;

	switch (auth_check(w->auth, a->user, a->ulen, a->pass, a->plen, &u)) {
	case AUTH_OK:
		s->user = u;
		auth_accepted(s);
		return 0;
	case AUTH_DENIED:
		auth_rejected(s, a->user);
		return -1;
	case AUTH_NEED_CRYPT:
		break;
	}
	s->user = u;
	hash = u != NULL ? u->hash : w->auth->dummy_hash;
	j = crypt_job_new(&w->crypt, hash, a->pass, a->plen, crypt_done, s);
	if (j == NULL || crypt_pool_submit(j) == -1) {
		crypt_job_free(j);
		s->user = NULL;
		log_warn("[w%d s%llu] password check queue full: refusing",
		    w->id, (unsigned long long)s->id);
		auth_rejected(s, a->user);
		return -1;
	}
	s->crypt = j;
	session_set_state(s, SESSION_S_S5_AUTH_WAIT);
	return 1;
}

/* ----- the request ----------------------------------------------------- */

static void
session_resolved(struct session *s, int status, struct dns_addrs *addrs)
{
	if (status != ARES_SUCCESS || addrs == NULL || addrs->n == 0) {
		s->w->ctr.dns_failed++;
		slog_info(s, "resolve %s: %s", s->host,
		    resolver_strerror(status));
		session_fail(s, upstream_dns_to_rep(status),
		    resolver_is_timeout(status) ? "dns_timeout" :
		    "dns_failed");
		return;
	}
	s->addrs = dns_addrs_ref(addrs);
	s->addr_idx = 0;
	session_set_state(s, SESSION_S_CONNECTING);
	s->t_deadline = clock_ms() + (int64_t)s->w->conf->to_connect * 1000;
	session_connect_next(s);
}

static void
dns_cb(struct dns_waiter *wt, int status, struct dns_addrs *addrs)
{
	struct session *s = (struct session *)(void *)((char *)wt -
	    offsetof(struct session, dns));

	session_resolved(s, status, addrs);
}

/* CONNECT to the parsed target: returns 1 (waiting) or -1 (s gone). */
static int
handle_connect(struct session *s, const struct socks5_request *rq)
{
	struct worker *w = s->w;
	const struct conf *c = w->conf;
	struct dns_addrs *addrs;
	int status;

	if ((s->host = strdup(rq->host)) == NULL) {
		session_fail(s, SOCKS5_REP_FAILURE, "out_of_memory");
		return -1;
	}
	s->port = rq->port;
	if (s->user != NULL && c->per_user > 0) {
		if (s->user->active >= c->per_user) {
			w->ctr.refused_user++;
			slog_info(s, "user \"%s\" has %d sessions "
			    "(limits.per_user): refused", s->user->name,
			    s->user->active);
			session_fail(s, SOCKS5_REP_NOT_ALLOWED,
			    "limit_per_user");
			return -1;
		}
		s->user->active++;
		s->flags |= SESSION_F_USER_SLOT;
	}
	if (rq->is_ip) {
		if ((addrs = dns_addrs_new(1)) == NULL) {
			session_fail(s, SOCKS5_REP_FAILURE, "out_of_memory");
			return -1;
		}
		addrs->a[0] = rq->addr;
		addrs->n = 1;
		session_resolved(s, ARES_SUCCESS, addrs);
		dns_addrs_release(addrs);
		return 1;
	}
	session_set_state(s, SESSION_S_RESOLVING);
	/* c-ares gives up after its tries; this is a backstop */
	session_deadline(s, (int64_t)c->dns_timeout_ms * c->dns_tries *
	    (c->ndns_servers > 1 ? c->ndns_servers : 1) + 2000);
	if (resolver_lookup(w->resolver, s->host, &s->dns, dns_cb, &status,
	    &addrs) == RESOLVER_DONE) {
		session_resolved(s, status, addrs);
		dns_addrs_release(addrs);
	}
	return 1;
}

/*
 * Parse what the client sent, as far as it goes.  Returns 0 when it waits
 * for more bytes or for an asynchronous step, -1 when s is gone.
 */
static int
session_handshake(struct session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct socks5_greeting g;
	struct socks5_auth a;
	struct socks5_request rq;
	const struct conf *c = s->w->conf;
	const uint8_t *p;
	size_t len, used = 0;
	enum codec_result r;
	uint8_t buf[2], method, rep;
	int rc;

	for (;;) {
		len = evbuffer_get_length(in);
		if (len > HEAD_MAX)
			len = HEAD_MAX;
		p = len > 0 ? evbuffer_pullup(in, (ev_ssize_t)len) : NULL;
		switch (s->state) {
		case SESSION_S_S5_GREETING:
			r = socks5_parse_greeting(p, len, &g, &used);
			if (r == CODEC_AGAIN)
				return 0;
			if (r == CODEC_ERR) {
				slog_info(s, "not SOCKS5 (first byte 0x%02x)",
				    p[0]);
				session_close(s, "bad_version");
				return -1;
			}
			evbuffer_drain(in, used);
			method = socks5_select_method(&g, c->auth_required,
			    c->nusers > 0);
			socks5_encode_method(buf, method);
			if (method == SOCKS5_METHOD_NONE) {
				slog_info(s, "no acceptable method offered "
				    "(auth %s)", c->auth_required ?
				    "required" : "off");
				session_fail_with(s, buf, 2, "no_method");
				return -1;
			}
			bufferevent_write(s->bev, buf, 2);
			session_set_state(s, method == SOCKS5_METHOD_USERPASS ?
			    SESSION_S_S5_AUTH : SESSION_S_S5_REQUEST);
			break;
		case SESSION_S_S5_AUTH:
			r = socks5_parse_auth(p, len, &a, &used);
			if (r == CODEC_AGAIN)
				return 0;
			if (r == CODEC_ERR) {
				slog_info(s, "bad RFC 1929 version 0x%02x",
				    p[0]);
				session_close(s, "bad_auth_version");
				return -1;
			}
			evbuffer_drain(in, used);
			rc = handle_auth(s, &a);
			explicit_bzero(&a, sizeof(a));
			if (rc != 0)
				return rc == -1 ? -1 : 0;
			break;
		case SESSION_S_S5_REQUEST:
			r = socks5_parse_request(p, len, &rq, &used, &rep);
			if (r == CODEC_AGAIN)
				return 0;
			if (r == CODEC_ERR) {
				if (rep == SOCKS5_REP_NONE) {
					slog_info(s, "bad request version "
					    "0x%02x", p[0]);
					session_close(s, "bad_version");
				} else {
					slog_info(s, "bad request: %s",
					    socks5_rep_str(rep));
					session_fail(s, rep, rep ==
					    SOCKS5_REP_ATYP_UNSUPP ?
					    "bad_atyp" : "bad_host");
				}
				return -1;
			}
			evbuffer_drain(in, used);
			if (rq.cmd != SOCKS5_CMD_CONNECT) {
				slog_info(s, "command 0x%02x not supported",
				    rq.cmd);
				s->host = strdup(rq.host);
				s->port = rq.port;
				session_fail(s, SOCKS5_REP_CMD_UNSUPP,
				    "bad_command");
				return -1;
			}
			return handle_connect(s, &rq) == -1 ? -1 : 0;
		default:
			/* resolving, connecting: the bytes are tunnel data */
			return 0;
		}
	}
}

/* ----- connecting ----------------------------------------------------- */

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
	slog_info(s, "connect %s (%s): %s", s->host,
	    netaddr_str(&s->trying, a, sizeof(a)), strerror(s->err));
	if (s->err == EMFILE || s->err == ENFILE)
		worker_out_of_fds(s->w);
	session_fail(s, upstream_errno_to_rep(s->err), s->err == ETIMEDOUT ?
	    "connect_timeout" : "connect_failed");
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
		if (upstream_connect(&a, &fd) == -1) {
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

/* The tunnel is up: reply, hand both sockets to the relay. */
static void
session_start_relay(struct session *s)
{
	struct relay *r = &s->relay;
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer *out = bufferevent_get_output(s->bev);
	uint8_t reply[SOCKS5_REPLY_MAX];
	union sockaddr_u bnd;
	socklen_t blen = sizeof(bnd);
	struct relay_end *ce = &r->end[RELAY_CLIENT];
	size_t n;
	int fd = client_fd(s);

	memset(&bnd, 0, sizeof(bnd));
	if (getsockname(r->end[RELAY_TARGET].fd, &bnd.sa, &blen) == -1)
		memset(&bnd, 0, sizeof(bnd));
	n = socks5_encode_reply(reply, SOCKS5_REP_SUCCESS, &bnd);
	/* unwritten negotiation answers, then the reply, to the client;
	   what the client sent after its request, to the target */
	if (relay_preload(r, RELAY_DOWN, evbuffer_pullup(out, -1),
	    evbuffer_get_length(out)) == -1 ||
	    relay_preload(r, RELAY_DOWN, reply, n) == -1 ||
	    relay_preload(r, RELAY_UP, evbuffer_pullup(in, -1),
	    evbuffer_get_length(in)) == -1) {
		s->err = ENOMEM;
		session_fail(s, SOCKS5_REP_FAILURE, "out_of_memory");
		return;
	}
	s->rep = SOCKS5_REP_SUCCESS;
	s->flags |= SESSION_F_REPLIED;
	dns_addrs_release(s->addrs);
	s->addrs = NULL;

	bufferevent_setfd(s->bev, -1);
	bufferevent_free(s->bev);
	s->bev = NULL;
	if (s->flags & SESSION_F_CLIENT_EOF)
		r->dir[RELAY_UP].eof = 1;
	event_assign(&ce->ev, s->w->base, fd,
	    EV_READ | EV_WRITE | EV_ET | EV_PERSIST, session_client_cb, s);
	if (event_add(&ce->ev, NULL) == -1) {
		session_close(s, "out_of_memory");
		return;
	}
	/* a fresh registration reports the client's readiness; writing
	   the reply into an empty socket buffer can start at once */
	ce->wr_ready = 1;
	session_set_state(s, SESSION_S_RELAY);
	r->last_active = clock_ms();
	session_deadline(s, (int64_t)s->w->conf->to_idle * 1000);
	switch (relay_io(r, RELAY_CLIENT, 0, r->last_active)) {
	case RELAY_OK:
		break;
	case RELAY_DONE:
		session_close(s, "done");
		break;
	case RELAY_ERROR:
		session_close(s, "relay_error");
		break;
	}
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

static void
session_relay_event(struct session *s, int end, short what)
{
	switch (relay_io(&s->relay, end, what, clock_ms())) {
	case RELAY_OK:
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
	s->err = upstream_connect_result(fd);
	if (s->err == 0) {
		s->connected = s->trying;
		session_start_relay(s);
		return;
	}
	target_close(s);
	session_connect_next(s);
}

static void
session_client_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	session_relay_event(arg, RELAY_CLIENT, what);
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
		idle_ms = (int64_t)s->w->conf->to_idle * 1000;
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
		session_fail(s, SOCKS5_REP_HOST_UNREACH, "dns_timeout");
		return;
	case SESSION_S_LINGER:
		session_close(s, s->end);
		return;
	default:
		slog_info(s, "handshake timeout in state %s",
		    session_state_name(s->state));
		session_close(s, "handshake_timeout");
		return;
	}
}
