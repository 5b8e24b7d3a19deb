/*
 * SOCKS5 (RFC 1928, RFC 1929) and SOCKS4/4a negotiation on a session's
 * client socket (its sio): parse with the pure codecs, answer, and hand the
 * target to session_target().  See session.h.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>

#include "clock.h"
#include "server.h"
#include "session-internal.h"
#include "socks4.h"
#include "socks5.h"
#include "worker.h"
#include "../auth/auth.h"
#include "../auth/crypt_pool.h"
#include "../conf/conf.h"

#define HEAD_MAX	(SOCKS5_AUTH_MAX + SOCKS5_REQUEST_MAX)

/*
 * Count the session against its user; on a limit or a used-up quota,
 * refuse with 0x02 (not allowed).  Returns 0, or -1 when s is refused.
 */
static int
admit_user(struct session *s)
{
	enum session_admit a = session_user_admit(s);

	if (a == SESSION_ADMIT_OK)
		return 0;
	if (a != SESSION_ADMIT_PER_USER)
		s->w->ctr.refused_quota++;
	session_fail(s, SOCKS5_REP_NOT_ALLOWED, 0, session_admit_str(a), "-");
	return -1;
}

/* ----- SOCKS5 authentication ------------------------------------------- */

static void
auth_accepted(struct session *s)
{
	uint8_t buf[2];

	socks5_encode_auth_status(buf, SOCKS5_AUTH_OK);
	sio_write(s->io, buf, 2);
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
	session_fail_raw(s, buf, 2, "auth_failed");
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
		auth_remember(s->pol->auth, s->user, j->pass, j->plen);
		crypt_job_free(j);
		auth_accepted(s);
		session_socks5_input(s);
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

	switch (auth_check(s->pol->auth, a->user, a->ulen, a->pass, a->plen, &u)) {
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
	hash = u != NULL ? u->hash : s->pol->auth->dummy_hash;
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

/*
 * auth.remember_client: a client address that authenticated over HTTP a
 * moment ago may use SOCKS without credentials.  Returns 1 and sets the
 * user when it may.
 */
int
session_remembered(struct session *s)
{
	struct auth_user *u;

	if (s->conf->remember_client <= 0)
		return 0;
	pthread_mutex_lock(&s->w->srv->mu);
	u = acct_remember_find(&s->w->srv->remember, &s->client,
	    s->pol->generation, clock_ms());
	pthread_mutex_unlock(&s->w->srv->mu);
	if (u == NULL)
		return 0;
	s->user = u;
	slog_info(s, "client remembered as user \"%s\" (auth.remember_client)",
	    u->name);
	return 1;
}

/* ----- SOCKS5 ------------------------------------------------------------ */

/* CONNECT to the parsed target: returns 0 (waiting) or -1 (s gone). */
static int
socks5_connect(struct session *s, const struct socks5_request *rq)
{
	if ((s->host = strdup(rq->host)) == NULL) {
		session_fail(s, SOCKS5_REP_FAILURE, 0, "out_of_memory", "-");
		return -1;
	}
	s->port = rq->port;
	if (admit_user(s) == -1)
		return -1;
	session_target(s, rq->is_ip ? &rq->addr : NULL);
	return 0;
}

/*
 * The client's bytes end in the middle of a message: wait for more (0),
 * or, when it has half-closed already, close once what is queued for it
 * is written (-1: s may be gone).
 */
static int
socks5_wait_more(struct session *s)
{
	if (!(s->flags & SESSION_F_CLIENT_EOF))
		return 0;
	slog_info(s, "closed in the middle of its %s",
	    session_state_name(s->state));
	if (s->end == NULL)
		s->end = "client_closed";
	session_linger(s);	/* the answers so far still go out */
	return -1;
}

/*
 * Parse what the client sent, as far as it goes.  Returns 0 when it waits
 * for more bytes or for an asynchronous step, -1 when s is gone.
 */
int
session_socks5_input(struct session *s)
{
	struct evbuffer *in = sio_in(s->io);
	struct socks5_greeting g;
	struct socks5_auth a;
	struct socks5_request rq;
	const struct conf *c = s->conf;
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
				return socks5_wait_more(s);
			if (r == CODEC_ERR) {
				slog_info(s, "not SOCKS5 (first byte 0x%02x)",
				    p[0]);
				session_close(s, "bad_version");
				return -1;
			}
			evbuffer_drain(in, used);
			method = socks5_select_method(&g, c->auth_required,
			    c->nusers > 0);
			if (method == SOCKS5_METHOD_NONE &&
			    socks5_greeting_offers(&g, SOCKS5_METHOD_NOAUTH) &&
			    session_remembered(s))
				method = SOCKS5_METHOD_NOAUTH;
			socks5_encode_method(buf, method);
			if (method == SOCKS5_METHOD_NONE) {
				slog_info(s, "no acceptable method offered "
				    "(auth %s)", c->auth_required ?
				    "required" : "off");
				session_fail_raw(s, buf, 2, "no_method");
				return -1;
			}
			sio_write(s->io, buf, 2);
			session_set_state(s, method == SOCKS5_METHOD_USERPASS ?
			    SESSION_S_S5_AUTH : SESSION_S_S5_REQUEST);
			break;
		case SESSION_S_S5_AUTH:
			r = socks5_parse_auth(p, len, &a, &used);
			if (r == CODEC_AGAIN)
				return socks5_wait_more(s);
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
				return socks5_wait_more(s);
			if (r == CODEC_ERR) {
				if (rep == SOCKS5_REP_NONE) {
					slog_info(s, "bad request version "
					    "0x%02x", p[0]);
					session_close(s, "bad_version");
				} else {
					slog_info(s, "bad request: %s",
					    socks5_rep_str(rep));
					session_fail(s, rep, 0, rep ==
					    SOCKS5_REP_ATYP_UNSUPP ?
					    "bad_atyp" : "bad_host", "-");
				}
				return -1;
			}
			evbuffer_drain(in, used);
			if (rq.cmd != SOCKS5_CMD_CONNECT) {
				slog_info(s, "command 0x%02x not supported",
				    rq.cmd);
				s->host = strdup(rq.host);
				s->port = rq.port;
				session_fail(s, SOCKS5_REP_CMD_UNSUPP, 0,
				    "bad_command", "-");
				return -1;
			}
			return socks5_connect(s, &rq);
		default:
			/* resolving, connecting: the bytes are tunnel data */
			return 0;
		}
	}
}

/* ----- SOCKS4 ------------------------------------------------------------ */

/*
 * SOCKS4 has no password.  With auth required it is refused, unless
 * auth.socks4_userid lets the USERID field name a user (weak: anyone who
 * knows a user name gets in; documented as such).
 */
static int
socks4_allowed(struct session *s, const struct socks4_request *rq)
{
	const struct conf *c = s->conf;
	uint8_t buf[SOCKS4_REPLY_LEN];

	if (!c->auth_required)
		return 1;
	if (session_remembered(s))
		return 1;
	if (c->socks4_userid) {
		s->user = auth_db_find(s->pol->auth, rq->userid,
		    strlen(rq->userid));
		if (s->user != NULL)
			return 1;
		s->w->ctr.auth_failed++;
		slog_info(s, "SOCKS4 user id \"%.64s\" is not a user",
		    rq->userid);
		socks4_encode_reply(buf, SOCKS4_REP_BAD_USERID);
		s->rep = SOCKS4_REP_BAD_USERID;
		s->flags |= SESSION_F_REPLIED;
		session_fail_raw(s, buf, sizeof(buf), "auth_failed");
		return 0;
	}
	s->w->ctr.auth_failed++;
	slog_info(s, "SOCKS4 refused: authentication is required and SOCKS4 "
	    "has no password (see auth.socks4_userid)");
	session_fail(s, SOCKS5_REP_NOT_ALLOWED, 0, "auth_required", "-");
	return 0;
}

/*
 * Parse a SOCKS4/4a request.  Returns 0 when waiting, -1 when s is gone.
 */
int
session_socks4_input(struct session *s)
{
	struct evbuffer *in = sio_in(s->io);
	struct socks4_request rq;
	const uint8_t *p;
	size_t len, used = 0;
	enum codec_result r;

	if (s->state != SESSION_S_S4_REQUEST)
		return 0;	/* after the request: tunnel data */
	len = evbuffer_get_length(in);
	if (len > SOCKS4_REQUEST_MAX)
		len = SOCKS4_REQUEST_MAX;
	p = len > 0 ? evbuffer_pullup(in, (ev_ssize_t)len) : NULL;
	r = socks4_parse_request(p, len, &rq, &used);
	if (r == CODEC_AGAIN)
		return 0;
	if (r == CODEC_ERR) {
		slog_info(s, "bad SOCKS4 request");
		if (len > 0 && p[0] == SOCKS4_VERSION)
			session_fail(s, SOCKS5_REP_FAILURE, 0, "bad_request",
			    "-");
		else
			session_close(s, "bad_version");
		return -1;
	}
	evbuffer_drain(in, used);
	if ((s->host = strdup(rq.host)) == NULL) {
		session_fail(s, SOCKS5_REP_FAILURE, 0, "out_of_memory", "-");
		return -1;
	}
	s->port = rq.port;
	if (!socks4_allowed(s, &rq))
		return -1;
	if (rq.cmd != SOCKS4_CMD_CONNECT) {
		slog_info(s, "SOCKS4 command 0x%02x not supported", rq.cmd);
		session_fail(s, SOCKS5_REP_CMD_UNSUPP, 0, "bad_command", "-");
		return -1;
	}
	if (admit_user(s) == -1)
		return -1;
	session_target(s, rq.is_4a ? NULL : &rq.addr);
	return 0;
}

/* ----- connected ---------------------------------------------------------- */

/*
 * The target is connected: reply (SOCKS5 with BND.ADDR/BND.PORT, the
 * outbound socket's local address) and become a tunnel.
 */
void
session_socks_connected(struct session *s)
{
	uint8_t reply[SOCKS5_REPLY_MAX];
	union sockaddr_u bnd;
	socklen_t blen = sizeof(bnd);
	size_t n;

	if (s->kind == SESSION_K_SOCKS4) {
		n = socks4_encode_reply(reply, SOCKS4_REP_GRANTED);
		s->rep = SOCKS4_REP_GRANTED;
	} else {
		memset(&bnd, 0, sizeof(bnd));
		if (getsockname(s->relay.end[RELAY_TARGET].fd, &bnd.sa,
		    &blen) == -1)
			memset(&bnd, 0, sizeof(bnd));
		n = socks5_encode_reply(reply, SOCKS5_REP_SUCCESS, &bnd);
		s->rep = SOCKS5_REP_SUCCESS;
	}
	s->flags |= SESSION_F_REPLIED;
	session_relay_start(s, reply, n);
}
