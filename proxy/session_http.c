/*
 * The HTTP proxy on a session (RFC 9110, RFC 9112): requests in absolute
 * form are forwarded in origin form over pooled origin connections, bodies
 * stream both ways with their framing followed (never a whole message in
 * memory), several requests share a client connection (pipelined ones are
 * answered in order, simply by not reading the next head before the
 * current response is complete), CONNECT and a passed-on Upgrade become
 * tunnels on the relay.  Basic credentials come in Proxy-Authorization.
 *
 * One request at a time per session: its state lives in struct http_state
 * (allocated for HTTP sessions only).  Each request gets one access-log
 * line; a CONNECT or an upgraded request gets it when its tunnel ends.
 */
#include <sys/uio.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "acct.h"
#include "clock.h"
#include "http.h"
#include "origin.h"
#include "pac.h"
#include "policy.h"
#include "rules.h"
#include "server.h"
#include "session-internal.h"
#include "socks5.h"
#include "tbucket.h"
#include "worker.h"
#include "../auth/auth.h"
#include "../auth/base64.h"
#include "../auth/crypt_pool.h"
#include "../conf/conf.h"
#include "fmt.h"

#define BODY_HWM	(256 * 1024)	/* bytes queued towards a peer before
					   its source stops being read */
/*
 * Largest read or write per call on either side.  libevent 2.1 moves at
 * most 16 KiB (reads start at 4 KiB) per call, which caps a body's
 * throughput well below the relay's; a read only takes what the socket
 * holds, so small requests and responses do not grow their buffers.
 */
#define BODY_IO_MAX	(128 * 1024)
#define CHUNK_SCAN	(64 * 1024)	/* chunked framing examined per step */
/*
 * A body with at least this much of its Content-Length still to come goes
 * by splice() through a pipe of the relay's pool, as tunnels do: no copy
 * into user space, 256 KiB per call.  A response from the origin to the
 * client, once the request is all written; a request body (an upload)
 * from the client to the origin until the origin says anything, which
 * buffered I/O then reads while it carries the rest.  Only without
 * bandwidth limits (their pacing works on the copy path); a quota still
 * cuts it at its byte.  An EOF or error met on the way goes to the
 * handler buffered I/O would have called.
 */
#define BODY_SPLICE_MIN	(256 * 1024)
#define LOG_URL_MAX	2048

enum http_resp {
	RESP_HEAD = 0,		/* waiting for the response head */
	RESP_BODY,		/* forwarding its body */
	RESP_DONE,
};

struct http_state {
	struct http_parser parser;	/* request head in progress */
	struct origin_conn *oc;		/* origin of the current request */
	struct evbuffer	*head;		/* rewritten request head, kept until
					   the response head (for a retry) */
	char		*url;		/* the request target, for the log */
	char		method[24];	/* request method (truncated) */
	char		ctype[48];	/* response Content-Type (log) */
	uint8_t		version;	/* client's: 10 or 11 */
	unsigned	active:1;	/* a request is being served */
	unsigned	is_head:1;	/* method HEAD */
	unsigned	tunnel:1;	/* CONNECT or Upgrade: relay */
	unsigned	upgrade:1;	/* Upgrade passed on */
	unsigned	client_ka:1;	/* keep the client connection */
	unsigned	origin_ka:1;	/* keep the origin connection */
	unsigned	req_done:1;	/* request body all forwarded */
	unsigned	resp_started:1;	/* response head went to the client */
	unsigned	dechunk:1;	/* HTTP/1.0 client, chunked response */
	unsigned	reused:1;	/* origin came from the pool */
	unsigned	retried:1;	/* sent again on a fresh connection */
	unsigned	client_paused:1; /* client read off: origin is full */
	unsigned	origin_paused:1; /* origin read off: client is full */
	unsigned	client_eof:1;	/* client half-closed */
	int		crypt_verdict;	/* 1/-1: the pool's answer for the
					   head being parsed again; 0: none */
	struct relay_pipe *pipe;	/* a body goes by splice() (raw mode
					   on both sockets), or NULL */
	unsigned	pipe_up:1;	/* it is the request body's */
	struct tbucket	conn_bw[2];	/* conn_bandwidth: up, down */
	struct event	throttle;	/* a bandwidth limit lets go */
	unsigned	throttled;	/* directions held (bit per dir) */
	enum http_framing req_framing;
	uint64_t	req_left;	/* HTTP_BODY_LENGTH: bytes to go */
	struct http_chunked req_chunk;
	enum http_resp	resp;
	enum http_framing resp_framing;
	uint64_t	resp_left;
	struct http_chunked resp_chunk;
	struct http_parser resp_parser;
	int		status;		/* what the client got */
	uint64_t	up, down;	/* bytes of this request */
	int64_t		t_req;		/* ms: request head complete */
	int64_t		last_active;	/* ms: bytes moved */
	uint32_t	requests;	/* completed on this connection */
};

static void	origin_read_cb(struct sio *, void *);
static void	origin_write_cb(struct sio *, void *);
static void	origin_event_cb(struct sio *, short, void *);
static void	pump_request(struct session *);
static void	throttle_cb(evutil_socket_t, short, void *);
static int	pump_response(struct session *);
static int	splice_start(struct session *);
static int	splice_stop(struct session *);
static int	body_splice(struct session *);
static int	upload_start(struct session *);
static int	upload_splice(struct session *);
static void	request_complete(struct session *);
static int	parse_request(struct session *);
static void	answered(struct session *, const struct http_head *, int,
		    const char *);

/*
 * The origin pool's key for the session's current target (s->host and
 * s->port are the request's URL host and port), in buf: computed where it
 * is needed rather than kept, so that a CONNECT tunnel or an idle client
 * connection does not carry 264 bytes for it.
 */
static const char *
pool_key(const struct session *s, char *buf)
{
	origin_key(buf, ORIGIN_KEY_MAX, s->host != NULL ? s->host : "",
	    s->port);
	return buf;
}

static struct http_limits
limits(const struct session *s)
{
	const struct conf *c = s->conf;
	struct http_limits l = {
		.head_max = (uint32_t)c->http_head_max,
		.line_max = (uint32_t)c->http_line_max,
		.headers_max = (uint32_t)c->http_headers_max,
	};

	return l;
}

/*
 * The method of the request in progress (for the rules), or NULL.
 */
const char *
session_http_method(const struct session *s)
{
	return s->http != NULL && s->http->method[0] ? s->http->method : NULL;
}

/*
 * HTTP state for a new session.  Returns 0, or -1 (ENOMEM).
 */
int
session_http_init(struct session *s)
{
	if ((s->http = calloc(1, sizeof(*s->http))) == NULL)
		return -1;
	http_parser_init(&s->http->parser);
	evtimer_assign(&s->http->throttle, s->w->base, throttle_cb, s);
	/* the client's write callback reports room for more response */
	sio_set_write_low(s->io, BODY_HWM / 2);
	sio_set_max_read(s->io, BODY_IO_MAX);
	return 0;
}

/* ----- the access log ----------------------------------------------------- */

/* The record of the current request; final ones end it. */
static void
request_record(struct session *s, const char *end, int final)
{
	struct http_state *h = s->http;
	struct acct_record r;
	char status[8];
	uint64_t up = h->up, down = h->down;

	if (h->tunnel) {
		up += s->relay.dir[RELAY_UP].bytes;
		down += s->relay.dir[RELAY_DOWN].bytes;
	}
	/* h->status is 0 or 100..999 (the codec refuses others) */
	status[0] = (char)('0' + h->status / 100 % 10);
	status[1] = (char)('0' + h->status / 10 % 10);
	status[2] = (char)('0' + h->status % 10);
	status[3] = '\0';
	memset(&r, 0, sizeof(r));
	r.id = s->id;
	r.worker = s->w->id;
	r.proto = h->tunnel && h->method[0] == 'C' ? "connect" : "http";
	r.client = &s->client;
	r.user = s->user != NULL ? s->user->name : NULL;
	r.method = h->method;
	r.url = h->url;
	r.target = s->host;
	r.port = s->port;
	r.connected = &s->connected;
	r.status = h->status ? status : "-";
	r.http_status = h->status;
	r.content_type = h->ctype[0] ? h->ctype : NULL;
	r.up = up;
	r.down = down;
	r.dur_ms = clock_ms() - (h->t_req ? h->t_req : s->t_start);
	r.end = end != NULL ? end : "-";
	worker_record(s->w, &r);
	if (!final)
		return;
	if (!h->tunnel) {
		s->w->ctr.bytes_up += up;
		s->w->ctr.bytes_down += down;
	}
	s->flags |= SESSION_F_LOGGED;
}

static void
log_request(struct session *s, const char *end)
{
	struct http_state *h = s->http;

	if (!h->active)
		return;
	h->active = 0;
	request_record(s, end, 1);
}

/*
 * An interim record of the request in progress (log.interim).
 */
void
session_http_log_interim(struct session *s)
{
	if (s->http != NULL && s->http->active)
		request_record(s, "interim", 0);
}

/*
 * Bytes of the forwarded request in flight, not yet in the worker's
 * totals (a CONNECT tunnel's are the relay's, counted apart).
 */
void
session_http_live(const struct session *s, uint64_t *up, uint64_t *down)
{
	const struct http_state *h = s->http;

	*up = *down = 0;
	if (h != NULL && h->active && !h->tunnel) {
		*up = h->up;
		*down = h->down;
	}
}

/*
 * Called from session_close(): log the request in flight (or the
 * connection, when it never got a request through) and free the state.
 */
void
session_http_free(struct session *s)
{
	struct http_state *h = s->http;

	if (h->active)
		log_request(s, s->end);
	else if (h->requests == 0 && !(s->flags & SESSION_F_LOGGED)) {
		h->active = 1;
		log_request(s, s->end);
	}
	s->flags |= SESSION_F_LOGGED;	/* no SOCKS-style line */
	evtimer_del(&h->throttle);
	if (h->pipe != NULL)
		relay_pipe_put(&s->w->relay_pool, h->pipe);
	origin_conn_free(h->oc);
	if (h->head != NULL)
		evbuffer_free(h->head);
	free(h->url);
	free(h);
	s->http = NULL;
}

/* ----- answers sluice writes itself ------------------------------------------ */

/*
 * A response of ours: status, a short text/plain body, and either a
 * lingering close or (keep) the next request.
 */
static void
respond(struct session *s, int status, int keep, const char *extra,
    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static void
respond(struct session *s, int status, int keep, const char *extra,
    const char *fmt, ...)
{
	struct http_state *h = s->http;
	struct evbuffer *out = sio_out(s->io);
	size_t before = evbuffer_get_length(out);
	char body[600];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(body, sizeof(body) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n > sizeof(body) - 2)
		n = sizeof(body) - 2;
	body[n++] = '\n';
	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: %d\r\n%s%s\r\n", status, http_reason(status), n,
	    extra != NULL ? extra : "", keep ? (h->version == 10 ?
	    "Connection: keep-alive\r\n" : "") : "Connection: close\r\n");
	if (!h->is_head)
		evbuffer_add(out, body, (size_t)n);
	h->status = status;
	h->resp_started = 1;
	h->down += evbuffer_get_length(out) - before;
}

/* The request could not be served: answer, log, close. */
static void
fail_request(struct session *s, int status, const char *end, const char *why)
{
	struct http_state *h = s->http;

	/* an upload in the pipe: the answer and the linger are buffered */
	if (h->pipe_up && splice_stop(s) == -1)
		return;		/* s is gone */
	if (!h->active) {
		h->active = 1;
		h->t_req = clock_ms();
	}
	if (s->end == NULL)
		s->end = end;
	if (h->resp_started) {
		/*
		 * The response is half out: all we can do is cut it, the
		 * way the close says "short" (a reset when the origin reset).
		 * What is queued for the client, up to a quota's last byte
		 * say, goes out first as far as the socket takes it: a large
		 * read can queue the head and the cut in one pass.
		 */
		slog_info(s, "%s %s: %s (response cut)", h->method,
		    h->url ? h->url : "-", why);
		log_request(s, end);
		if (s->io != NULL)	/* no callbacks: s is closing */
			(void)sio_flush_raw(s->io);
		session_close(s, end);
		return;
	}
	respond(s, status, 0, NULL, "sluice: %s", why);
	slog_info(s, "%s %s: %d %s", h->method[0] ? h->method : "-",
	    h->url ? h->url : "-", status, why);
	log_request(s, end);
	origin_conn_free(h->oc);
	h->oc = NULL;
	session_linger(s);
}

/*
 * session_fail() for HTTP sessions (resolve and connect failures).
 */
void
session_http_fail(struct session *s, int status, const char *end,
    const char *why)
{
	fail_request(s, status ? status : 502, end, why);
}

/*
 * 1 while the client may still have a request for this connection: it has
 * not half-closed, or bytes beyond the `consumed` of the current request
 * are already here (requests pipelined before its FIN are all answered).
 */
static int
client_may_send(struct session *s, size_t consumed)
{
	return !s->http->client_eof ||
	    evbuffer_get_length(sio_in(s->io)) > consumed;
}

/*
 * A request is over: wait for the next one on this connection (keep, and
 * the client may still send one), parsing at once what is pipelined, or
 * close after the response.
 */
static void
await_next_request(struct session *s, int keep)
{
	struct http_state *h = s->http;

	if (!keep || !client_may_send(s, 0)) {
		session_linger(s);
		return;
	}
	if (s->state != SESSION_S_HTTP_HEAD)
		session_set_state(s, SESSION_S_HTTP_HEAD);
	http_parser_init(&h->parser);
	session_deadline(s, (int64_t)s->conf->http_keepalive * 1000);
	/* a pipelined request may be waiting already */
	if (evbuffer_get_length(sio_in(s->io)) > 0)
		parse_request(s);
}

/*
 * The client half-closed before the Content-Length body of its request
 * was all here: the rest will never come.
 */
static int
body_cut_short(struct session *s)
{
	struct http_state *h = s->http;

	return h->client_eof && !h->req_done &&
	    h->req_framing == HTTP_BODY_LENGTH &&
	    evbuffer_get_length(sio_in(s->io)) < h->req_left;
}

/*
 * The client half-closed with its request incomplete: no answer to give,
 * the origin connection (if any) has half a request on it; what is queued
 * for the client (earlier answers) still goes out before the close.
 */
static void
client_gone_mid_request(struct session *s)
{
	struct http_state *h = s->http;

	if (s->end == NULL)
		s->end = "client_closed";
	slog_info(s, "%s %s: the client closed in the middle of the request",
	    h->method, h->url ? h->url : "-");
	log_request(s, "client_closed");
	origin_conn_free(h->oc);
	h->oc = NULL;
	session_linger(s);
}

/* ----- authentication ------------------------------------------------------ */

/* 407, keeping the connection when the request has no body to skip. */
static void
ask_credentials(struct session *s, const struct http_head *hd,
    const char *why)
{
	struct http_state *h = s->http;
	char extra[300];
	int keep;

	s->w->ctr.auth_failed++;
	snprintf(extra, sizeof(extra), "Proxy-Authenticate: Basic "
	    "realm=\"%s\"\r\n", s->conf->realm);
	keep = h->client_ka && hd->framing == HTTP_BODY_NONE &&
	    client_may_send(s, hd->skipped + hd->head_len);
	respond(s, 407, keep, extra, "sluice: proxy authentication required"
	    " (%s)", why);
	slog_info(s, "%s %s: 407 %s", h->method, h->url ? h->url : "-", why);
	answered(s, hd, keep, "auth_required");
}

/*
 * A request sluice answered itself (its response queued): consume its
 * head, log it, then wait for the next one on the connection (keep) or
 * close after the response.
 */
static void
answered(struct session *s, const struct http_head *hd, int keep,
    const char *end)
{
	struct http_state *h = s->http;

	evbuffer_drain(sio_in(s->io), hd->skipped +
	    hd->head_len);
	log_request(s, end);
	h->requests++;
	await_next_request(s, keep);
}

/*
 * GET /proxy.pac (or /wpad.dat) asked of the proxy itself: the PAC file
 * naming this listener as the client reached it.  No credentials needed:
 * a browser fetches it before it knows it has a proxy.
 */
static void
serve_pac(struct session *s, const struct http_head *hd)
{
	struct http_state *h = s->http;
	struct evbuffer *out = sio_out(s->io);
	union sockaddr_u local, at;
	socklen_t sl = sizeof(local);
	char route[PAC_ROUTE_MAX], *text;
	size_t before = evbuffer_get_length(out), len;
	int keep = h->client_ka && hd->framing == HTTP_BODY_NONE &&
	    client_may_send(s, hd->skipped + hd->head_len);

	memset(&local, 0, sizeof(local));
	if (getsockname(sio_fd(s->io), &local.sa, &sl) == -1 ||
	    (pac_reached(s->lstat != NULL && s->lstat->addr.sa.sa_family !=
	    AF_UNSPEC ? &s->lstat->addr : &local, &local, &at),
	    pac_route(route, sizeof(route), s->listener, &at)) == -1 ||
	    (text = pac_script(&s->conf->pac_bypass, route, &len)) == NULL) {
		fail_request(s, 503, "out_of_memory", "cannot make the PAC "
		    "file");
		return;
	}
	evbuffer_add_printf(out, "HTTP/1.1 200 OK\r\n"
	    "Content-Type: " PAC_CONTENT_TYPE "\r\n"
	    "Content-Length: %zu\r\nCache-Control: max-age=300\r\n%s\r\n",
	    len, keep ? (h->version == 10 ? "Connection: keep-alive\r\n" :
	    "") : "Connection: close\r\n");
	if (!h->is_head)
		evbuffer_add(out, text, len);
	free(text);
	h->status = 200;
	h->resp_started = 1;
	snprintf(h->ctype, sizeof(h->ctype), "%s", PAC_CONTENT_TYPE);
	h->down += evbuffer_get_length(out) - before;
	slog_debug(s, "%s %s: the PAC file (%s)", h->method, h->url, route);
	answered(s, hd, keep, "done");
}

static void
crypt_done(struct crypt_job *j)
{
	struct session *s = j->arg;

	if (s == NULL) {
		crypt_job_free(j);
		return;
	}
	s->crypt = NULL;
	if (j->ok && s->user != NULL) {
		auth_remember(s->pol->auth, s->user, j->pass, j->plen);
		s->http->crypt_verdict = 1;
	} else {
		s->user = NULL;
		s->http->crypt_verdict = -1;
	}
	crypt_job_free(j);
	/* parse the same head again: the check is now answered from the
	   remembered digest (or fails fast) */
	session_set_state(s, SESSION_S_HTTP_HEAD);
	s->http->active = 0;
	http_parser_init(&s->http->parser);
	parse_request(s);
}

/*
 * Proxy-Authorization: Basic.  Returns 1 (s->user set), 0 (answered 407
 * or waiting for the crypt pool: stop), -1 (s is gone).
 */
static int
check_credentials(struct session *s, const char *p, const struct http_head *hd)
{
	struct worker *w = s->w;
	const struct http_field *f;
	unsigned char dec[600];
	const char *v, *colon;
	struct auth_user *u;
	struct crypt_job *j;
	size_t vlen, dlen;

	if (hd->proxy_auth_field < 0) {
		if (!s->conf->auth_required)
			return 1;
		ask_credentials(s, hd, "no credentials");
		return 0;
	}
	f = &hd->fields[hd->proxy_auth_field];
	v = p + f->value.off;
	vlen = f->value.len;
	if (vlen < 6 || strncasecmp(v, "basic ", 6) != 0) {
		ask_credentials(s, hd, "not Basic credentials");
		return 0;
	}
	v += 6;
	vlen -= 6;
	while (vlen > 0 && *v == ' ') {
		v++;
		vlen--;
	}
	if (base64_decode(v, vlen, dec, sizeof(dec) - 1, &dlen) == -1 ||
	    (colon = memchr(dec, ':', dlen)) == NULL) {
		ask_credentials(s, hd, "malformed credentials");
		return 0;
	}
	if (s->http->crypt_verdict == 1)
		s->http->crypt_verdict = 0;
	switch (auth_check(s->pol->auth, (const char *)dec,
	    (size_t)(colon - (const char *)dec), colon + 1,
	    dlen - (size_t)(colon + 1 - (const char *)dec), &u)) {
	case AUTH_OK:
		explicit_bzero(dec, sizeof(dec));
		if (s->user != u)
			session_user_release(s);
		s->user = u;
		if (s->conf->remember_client > 0) {
			pthread_mutex_lock(&w->srv->mu);
			acct_remember_add(&w->srv->remember, &s->client, u,
			    s->pol->generation, clock_ms(), clock_ms() +
			    (int64_t)s->conf->remember_client * 1000);
			pthread_mutex_unlock(&w->srv->mu);
		}
		return 1;
	case AUTH_DENIED:
		explicit_bzero(dec, sizeof(dec));
		ask_credentials(s, hd, "wrong user or password");
		return 0;
	case AUTH_NEED_CRYPT:
		break;
	}
	if (s->http->crypt_verdict != 0) {
		/* the pool already said no to this very head */
		s->http->crypt_verdict = 0;
		explicit_bzero(dec, sizeof(dec));
		ask_credentials(s, hd, "wrong user or password");
		return 0;
	}
	j = crypt_job_new(&w->crypt, u != NULL ? u->hash : s->pol->auth->dummy_hash,
	    colon + 1, dlen - (size_t)(colon + 1 - (const char *)dec),
	    crypt_done, s);
	explicit_bzero(dec, sizeof(dec));
	if (j == NULL || crypt_pool_submit(j) == -1) {
		crypt_job_free(j);
		log_warn("[w%d s%llu] password check queue full: refusing",
		    w->id, (unsigned long long)s->id);
		ask_credentials(s, hd, "password check queue full");
		return 0;
	}
	if (s->user != u)
		session_user_release(s);
	s->user = u;
	s->crypt = j;
	session_set_state(s, SESSION_S_HTTP_AUTH_WAIT);
	return 0;
}

/* ----- the request ---------------------------------------------------------- */

/*
 * A head written into space reserved at the end of an evbuffer, in one
 * piece: one reservation and one commit rather than an evbuffer_add() (and
 * a run of the output's callbacks) per field.  cap is an
 * upper bound of the head's size worked out from what it is made of, so
 * the writes below never run short; if one would, it is cut rather than
 * overrun.
 */
struct headw {
	struct evbuffer	*b;
	struct evbuffer_iovec v;
	char		*p;
	size_t		n, cap;
};

static int
headw_begin(struct headw *w, struct evbuffer *b, size_t cap)
{
	w->b = b;
	w->n = 0;
	if (evbuffer_reserve_space(b, (ev_ssize_t)cap, &w->v, 1) != 1 ||
	    w->v.iov_len < cap)
		return -1;
	w->p = w->v.iov_base;
	w->cap = cap;
	return 0;
}

static void
headw_put(struct headw *w, const void *src, size_t n)
{
	if (n > w->cap - w->n)
		n = w->cap - w->n;
	memcpy(w->p + w->n, src, n);
	w->n += n;
}

#define headw_lit(w, s)	headw_put((w), (s), sizeof(s) - 1)

static void
headw_span(struct headw *w, const char *p, struct http_span sp)
{
	headw_put(w, p + sp.off, sp.len);
}

static void
headw_uint(struct headw *w, unsigned v)
{
	char d[FMT_U64_LEN], *p = fmt_u64(d + sizeof(d), v);

	headw_put(w, p, (size_t)(d + sizeof(d) - p));
}

static void
headw_end(struct headw *w)
{
	w->v.iov_len = w->n;
	evbuffer_commit_space(w->b, &w->v, 1);
}

/* "name: value CRLF" for each field kept; its size bound is in the callers */
static void
headw_field(struct headw *w, const char *p, const struct http_field *f)
{
	headw_span(w, p, f->name);
	headw_lit(w, ": ");
	headw_span(w, p, f->value);
	headw_lit(w, "\r\n");
}

/*
 * Bound of what a head's own bytes become: each field gains at most ": "
 * and a CR over "name:value\n"; the lines sluice adds (Host, Via,
 * Connection, X-Forwarded-For) fit in HEAD_EXTRA besides the host name.
 */
#define HEAD_EXTRA	256

static size_t
head_bound(const struct http_head *hd)
{
	return (size_t)hd->head_len + 2 * (size_t)hd->nfields + HEAD_EXTRA;
}

/*
 * The request head as the origin gets it: origin-form target, HTTP/1.1,
 * Host from the URL, hop-by-hop fields dropped (Upgrade kept when passed
 * on), Via added, X-Forwarded-For when configured.  Returns -1 when out of
 * memory.
 */
static int
build_request_head(struct session *s, const char *p,
    const struct http_head *hd, const struct http_url *u)
{
	struct http_state *h = s->http;
	const struct http_field *f;
	char ip[NETADDR_STRLEN];
	struct headw w;
	uint32_t i;

	evbuffer_drain(h->head, evbuffer_get_length(h->head));
	if (headw_begin(&w, h->head, head_bound(hd) + strlen(u->host)) == -1)
		return -1;
	headw_span(&w, p, hd->method);
	headw_lit(&w, " ");
	if (u->path.len == 0 || p[u->path.off] == '?')
		headw_lit(&w, "/");
	headw_span(&w, p, u->path);
	headw_lit(&w, " HTTP/1.1\r\nHost: ");
	if (u->is_ipv6)
		headw_lit(&w, "[");
	headw_put(&w, u->host, strlen(u->host));
	if (u->is_ipv6)
		headw_lit(&w, "]");
	if (!u->default_port && u->port != 80) {
		headw_lit(&w, ":");
		headw_uint(&w, u->port);
	}
	headw_lit(&w, "\r\n");
	for (i = 0; i < hd->nfields; i++) {
		f = &hd->fields[i];
		if ((int)i == hd->host_field)
			continue;
		if (http_is_hop_by_hop(p, hd, f) &&
		    !(h->upgrade && (int)i == hd->upgrade_field))
			continue;
		headw_field(&w, p, f);
	}
	if (h->upgrade)
		headw_lit(&w, "Connection: upgrade\r\n");
	if (hd->version == 10)
		headw_lit(&w, "Via: 1.0 sluice\r\n");
	else
		headw_lit(&w, "Via: 1.1 sluice\r\n");
	if (s->conf->http_forwarded_for) {
		headw_lit(&w, "X-Forwarded-For: ");
		netaddr_ip_str(&s->client, ip, sizeof(ip));
		headw_put(&w, ip, strlen(ip));
		headw_lit(&w, "\r\n");
	}
	headw_lit(&w, "\r\n");
	headw_end(&w);
	return 0;
}

static char *
copy_span(const char *p, struct http_span sp, size_t max)
{
	size_t n = sp.len < max ? sp.len : max;
	char *out = malloc(n + 1);

	if (out != NULL) {
		memcpy(out, p + sp.off, n);
		out[n] = '\0';
	}
	return out;
}

/* Attach an origin connection and send the request head. */
static void
start_forward(struct session *s, struct origin_conn *oc)
{
	struct http_state *h = s->http;
	struct evbuffer *out;

	h->oc = oc;
	oc->requests++;
	s->connected = oc->addr;
	sio_setcb(oc->io, origin_read_cb, origin_write_cb,
	    origin_event_cb, s);
	sio_set_write_low(oc->io, BODY_HWM / 2);
	sio_set_read_hwm(oc->io, BODY_HWM);
	sio_set_max_read(oc->io, BODY_IO_MAX);
	sio_set_greedy(oc->io, 1);	/* we wait on its answer */
	sio_read_on(oc->io);
	session_set_state(s, SESSION_S_HTTP_FORWARD);
	h->resp = RESP_HEAD;
	http_parser_init(&h->resp_parser);
	out = sio_out(oc->io);
	h->up += evbuffer_get_length(h->head);
	(void)session_charge(s, evbuffer_get_length(h->head), 0);
	evbuffer_add(out, evbuffer_pullup(h->head, -1),
	    evbuffer_get_length(h->head));
	h->last_active = clock_ms();
	session_deadline(s, (int64_t)s->conf->to_idle * 1000);
	pump_request(s);
}

/*
 * Target connected (session_target() ended well).
 */
void
session_http_connected(struct session *s)
{
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	struct http_state *h = s->http;
	struct relay_end *e = &s->relay.end[RELAY_TARGET];
	struct origin_conn *oc;
	char key[ORIGIN_KEY_MAX];
	int fd;

	if (h->tunnel) {
		h->status = 200;
		session_relay_start(s, ok, sizeof(ok) - 1);
		return;
	}
	event_del(&e->ev);
	fd = e->fd;
	e->fd = -1;
	e->rd_ready = e->wr_ready = 0;
	oc = origin_conn_new(s->w->base, fd, &s->connected, pool_key(s, key));
	if (oc == NULL) {
		fail_request(s, 503, "out_of_memory", "out of memory");
		return;
	}
	start_forward(s, oc);
}

/*
 * The configuration was reloaded since this connection's last request:
 * the next one runs under the new policy (rules, users, limits).
 */
static void
switch_policy(struct session *s)
{
	session_user_release(s);
	s->user = NULL;
	policy_release(s->pol);
	s->pol = policy_ref(s->w->pol);
	s->conf = &s->pol->conf;
}

/* A new request begins (its head parsed, or failed to parse). */
static void
request_reset(struct http_state *h)
{
	h->active = 1;
	h->status = 0;
	h->up = h->down = 0;
	h->ctype[0] = '\0';
	h->method[0] = '\0';
	h->is_head = 0;
	h->resp_started = h->tunnel = h->upgrade = h->dechunk = 0;
	h->reused = h->retried = h->req_done = 0;
	h->t_req = clock_ms();
	free(h->url);
	h->url = NULL;
}

/*
 * A complete request head at p: check it, answer what we answer ourselves,
 * and send the rest on.  Returns -1 when s is gone, else 0.
 */
static int
handle_request(struct session *s, const char *p, const struct http_head *hd)
{
	struct http_state *h = s->http;
	struct worker *w = s->w;
	const struct conf *c;
	struct evbuffer *in = sio_in(s->io);
	struct origin_conn *oc;
	struct rules_verdict v;
	union sockaddr_u ip;
	struct http_url u;
	char key[ORIGIN_KEY_MAX];
	size_t mlen;
	int rc;

	if (s->pol != w->pol)
		switch_policy(s);	/* may free the old one: c after */
	c = s->conf;
	request_reset(h);
	mlen = hd->method.len < sizeof(h->method) - 1 ? hd->method.len :
	    sizeof(h->method) - 1;
	memcpy(h->method, p + hd->method.off, mlen);
	h->method[mlen] = '\0';
	h->version = (uint8_t)hd->version;
	h->is_head = strcmp(h->method, "HEAD") == 0;
	h->url = copy_span(p, hd->target, LOG_URL_MAX);
	if (hd->version == 11)
		h->client_ka = !(hd->flags & (HTTP_F_CONN_CLOSE |
		    HTTP_F_PROXY_CONN_CLOSE));
	else
		h->client_ka = (hd->flags & (HTTP_F_CONN_KEEPALIVE |
		    HTTP_F_PROXY_CONN_KA)) && !(hd->flags &
		    (HTTP_F_CONN_CLOSE | HTTP_F_PROXY_CONN_CLOSE));
	if (h->url == NULL) {
		fail_request(s, 503, "out_of_memory", "out of memory");
		return -1;
	}

	if (hd->form == HTTP_TARGET_ORIGIN && (h->is_head ||
	    strcmp(h->method, "GET") == 0) && pac_is_request(p +
	    hd->target.off, hd->target.len)) {
		serve_pac(s, hd);
		return 0;
	}
	if (c->auth_required || hd->proxy_auth_field >= 0) {
		if (c->nusers == 0 && !c->auth_required)
			;	/* credentials for nobody: ignore them */
		else if ((rc = check_credentials(s, p, hd)) != 1)
			return rc;
	}
	if (hd->form == HTTP_TARGET_ORIGIN || hd->form == HTTP_TARGET_ASTERISK) {
		fail_request(s, 400, "bad_request", "this is a proxy: ask for "
		    "an absolute URL (http://host/path) or CONNECT host:port");
		return -1;
	}
	if ((rc = http_parse_url(p, hd, &u)) != 0) {
		fail_request(s, rc, "bad_request", rc == 501 ?
		    "only http:// URLs are forwarded (https through CONNECT)" :
		    "bad request target");
		return -1;
	}
	switch (session_user_admit(s)) {
	case SESSION_ADMIT_OK:
		break;
	case SESSION_ADMIT_PER_USER:
		fail_request(s, 429, "limit_per_user", "too many connections "
		    "for this user (limits.per_user)");
		return -1;
	case SESSION_ADMIT_QUOTA_DAY:
		w->ctr.refused_quota++;
		fail_request(s, 403, "quota_daily", "this user's daily "
		    "transfer quota is used up (limits.user_quota_daily)");
		return -1;
	case SESSION_ADMIT_QUOTA_MONTH:
		w->ctr.refused_quota++;
		fail_request(s, 403, "quota_monthly", "this user's monthly "
		    "transfer quota is used up (limits.user_quota_monthly)");
		return -1;
	}
	free(s->host);
	if ((s->host = strdup(u.host)) == NULL) {
		fail_request(s, 503, "out_of_memory", "out of memory");
		return -1;
	}
	s->port = u.port;
	memset(&s->connected, 0, sizeof(s->connected));

	if (hd->form == HTTP_TARGET_AUTHORITY) {
		/* CONNECT: what follows the head is tunnel data */
		h->tunnel = 1;
		evbuffer_drain(in, hd->skipped + hd->head_len);
		session_target(s, netaddr_parse_ip(u.host, &ip) == 0 ?
		    (netaddr_set_port(&ip, u.port), &ip) : NULL);
		return 0;
	}

	h->upgrade = (hd->flags & HTTP_F_CONN_UPGRADE) &&
	    hd->upgrade_field >= 0;
	if ((h->head == NULL && (h->head = evbuffer_new()) == NULL) ||
	    build_request_head(s, p, hd, &u) == -1) {
		fail_request(s, 503, "out_of_memory", "out of memory");
		return -1;
	}
	h->req_framing = hd->framing;
	h->req_left = hd->content_length;
	http_chunked_init(&h->req_chunk, (uint32_t)c->http_head_max);
	h->req_done = hd->framing == HTTP_BODY_NONE;
	evbuffer_drain(in, hd->skipped + hd->head_len);
	if (body_cut_short(s)) {
		/* nothing to ask the origin (a chunked body cut short is
		   found out as it goes) */
		client_gone_mid_request(s);
		return -1;
	}
	if (!h->req_done)
		sio_set_greedy(s->io, 1);	/* we wait on the body */

	if ((oc = origin_pool_get(&w->origins, pool_key(s, key))) != NULL) {
		session_rules(s, &oc->addr, &v);
		if (v.action == CONF_ALLOW) {
			h->reused = 1;
			start_forward(s, oc);
			return 0;
		}
		/* the long way gives the refusal its words */
		origin_conn_free(oc);
	}
	session_target(s, netaddr_parse_ip(u.host, &ip) == 0 ?
	    (netaddr_set_port(&ip, u.port), &ip) : NULL);
	return 0;
}

/*
 * State HTTP_HEAD: parse the next request head from the client's bytes.
 */
static int
parse_request(struct session *s)
{
	struct http_state *h = s->http;
	struct evbuffer *in = sio_in(s->io);
	struct http_limits lim = limits(s);
	struct http_head *hd = s->w->http_head;
	enum codec_result r;
	const char *p;
	size_t len;
	int status;

	len = evbuffer_get_length(in);
	if (len == 0)
		return 0;
	if (len > lim.head_max + 8)
		len = lim.head_max + 8;
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	r = http_parse_request(&h->parser, p, len, &lim, hd, &status);
	if (r == CODEC_OK)
		return handle_request(s, p, hd);
	if (r == CODEC_AGAIN && !h->client_eof)
		return 0;
	request_reset(h);
	h->client_ka = 0;
	if (r == CODEC_AGAIN)	/* half-closed in the middle of a head */
		fail_request(s, 400, "bad_request", "request cut short by the "
		    "client's close");
	else
		fail_request(s, status, status == 431 || status == 414 ?
		    "request_too_large" : "bad_request", status == 431 ?
		    "request header fields too large" : status == 414 ?
		    "request line too long" : status == 505 ?
		    "HTTP version not supported" : status == 501 ?
		    "transfer coding not implemented" : "malformed request");
	return -1;
}

/*
 * Bytes from the client: a head to parse, or body bytes to forward.
 */
int
session_http_input(struct session *s)
{
	switch (s->state) {
	case SESSION_S_HTTP_HEAD:
		return parse_request(s);
	case SESSION_S_HTTP_FORWARD:
		pump_request(s);
		return 0;
	default:
		/* resolving, connecting, auth: the bytes wait */
		return 0;
	}
}

/* ----- bandwidth limits and quotas on forwarded bodies ------------------------ */

/*
 * Bytes direction d (RELAY_UP: request body, RELAY_DOWN: response body)
 * may move now under conn_bandwidth and the user's user_bandwidth, the
 * same limits tunnels have.  0 when a limit holds it: its source is then
 * paused and the throttle timer resumes it.
 */
static size_t
http_allow(struct session *s, int d, size_t want)
{
	struct http_state *h = s->http;
	struct user_state *st = s->user != NULL ? s->user->st : NULL;
	int64_t ubw = s->user != NULL ? s->user->bandwidth : 0;
	int64_t now, wait, cbw = s->conf->conn_bandwidth;
	struct tbucket *b[2];
	struct timeval tv;
	uint64_t left;

	/* a quota's rest, and one byte more when it is used up: the move
	   whose charge then ends the request */
	if (s->user != NULL && (left = session_quota_left(s)) < want)
		want = left > 0 ? (size_t)left : 1;
	if (cbw <= 0 && ubw <= 0)
		return want;
	now = clock_ms();
	if (h->conn_bw[d].rate != cbw)
		tbucket_init(&h->conn_bw[d], cbw, cbw, now);
	if (st != NULL && ubw > 0)
		user_state_bw_init(st, ubw, now);
	b[0] = &h->conn_bw[d];
	b[1] = ubw > 0 ? &st->bw[d] : NULL;
	if (b[1] != NULL)		/* the user's: shared by workers */
		pthread_mutex_lock(&st->mu);
	want = (size_t)tbucket_allow(b, 2, (int64_t)want, now, &wait);
	if (b[1] != NULL)
		pthread_mutex_unlock(&st->mu);
	if (want > 0)
		return want;
	if (d == RELAY_UP)
		sio_read_off(s->io);
	else if (h->oc != NULL)
		sio_read_off(h->oc->io);
	h->throttled |= 1u << d;
	if (!evtimer_pending(&h->throttle, NULL)) {
		tv = clock_tv(wait);
		evtimer_add(&h->throttle, &tv);
	}
	return 0;
}

/*
 * n bytes moved in direction d: spend the tokens, count them for the
 * user.  Returns -1 when a quota is now used up (the caller ends the
 * request), else 0.
 */
static int
http_moved(struct session *s, int d, size_t n)
{
	struct http_state *h = s->http;
	struct tbucket *b[2];
	int64_t now = clock_ms();

	if (d == RELAY_UP)
		h->up += n;
	else
		h->down += n;
	h->last_active = now;
	b[0] = &h->conn_bw[d];
	b[1] = s->user != NULL && s->user->bandwidth > 0 ?
	    &s->user->st->bw[d] : NULL;
	if (b[1] != NULL)
		pthread_mutex_lock(&s->user->st->mu);
	tbucket_spend(b, 2, (int64_t)n, now);
	if (b[1] != NULL)
		pthread_mutex_unlock(&s->user->st->mu);
	if (session_charge(s, d == RELAY_UP ? n : 0, d == RELAY_DOWN ? n : 0)
	    == -1) {
		slog_info(s, "user \"%s\" used up a transfer quota: request "
		    "cut", s->user->name);
		s->w->ctr.refused_quota++;
		return -1;
	}
	return 0;
}

/* A move's charge used up the user's quota: the request ends with it. */
static void
quota_cut(struct session *s)
{
	s->http->origin_ka = 0;
	fail_request(s, 403, "quota_exceeded", "this user's transfer quota is "
	    "used up");
}

static void
throttle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct session *s = arg;
	struct http_state *h = s->http;
	unsigned t = h->throttled;

	(void)fd;
	(void)what;
	h->throttled = 0;
	if ((t & (1u << RELAY_DOWN)) && h->oc != NULL && !h->origin_paused) {
		sio_read_on(h->oc->io);
		if (pump_response(s) == -1)
			return;
	}
	if ((t & (1u << RELAY_UP)) && !h->client_paused &&
	    s->state == SESSION_S_HTTP_FORWARD) {
		sio_read_on(s->io);
		pump_request(s);
	}
}

/* ----- forwarding the request body ------------------------------------------ */

static void
pump_request(struct session *s)
{
	struct http_state *h = s->http;
	struct evbuffer *in = sio_in(s->io);
	struct evbuffer *out;
	size_t avail, n, used, doff, dlen, step;
	const char *p;

	if (h->oc == NULL)
		return;
	out = sio_out(h->oc->io);
	while (!h->req_done && (avail = evbuffer_get_length(in)) > 0) {
		if (evbuffer_get_length(out) >= BODY_HWM) {
			/* the origin is slow: stop reading the client */
			sio_read_off(s->io);
			h->client_paused = 1;
			return;
		}
		if ((avail = http_allow(s, RELAY_UP, avail)) == 0)
			return;		/* the throttle timer resumes it */
		if (h->req_framing == HTTP_BODY_LENGTH) {
			n = avail < h->req_left ? avail : (size_t)h->req_left;
			evbuffer_remove_buffer(in, out, n);
			h->req_left -= n;
			if (h->req_left == 0)
				h->req_done = 1;
			if (http_moved(s, RELAY_UP, n) == -1)
				goto quota;
		} else {
			n = avail < CHUNK_SCAN ? avail : CHUNK_SCAN;
			p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
			used = 0;
			while (used < n && h->req_chunk.state !=
			    HTTP_CHUNK_DONE && h->req_chunk.state !=
			    HTTP_CHUNK_ERROR) {
				step = http_chunked_step(&h->req_chunk,
				    p + used, n - used, &doff, &dlen);
				if (step == 0)
					break;
				used += step;
			}
			if (h->req_chunk.state == HTTP_CHUNK_ERROR) {
				fail_request(s, 400, "bad_request",
				    "malformed chunked request body");
				return;
			}
			evbuffer_remove_buffer(in, out, used);
			if (h->req_chunk.state == HTTP_CHUNK_DONE)
				h->req_done = 1;
			if (http_moved(s, RELAY_UP, used) == -1)
				goto quota;
		}
	}
	if (!h->req_done && h->client_eof) {
		/* the client half-closed in the middle of its body */
		client_gone_mid_request(s);
		return;
	}
	if (!h->req_done && upload_start(s)) {
		(void)upload_splice(s);
		return;
	}
	if (h->req_done)
		sio_set_greedy(s->io, 0);
	if (h->req_done && h->client_paused) {
		sio_read_on(s->io);
		h->client_paused = 0;
	}
	if (h->req_done && h->resp == RESP_DONE)
		request_complete(s);
	return;
quota:
	quota_cut(s);
}

static void
origin_write_cb(struct sio *io, void *arg)
{
	struct session *s = arg;
	struct http_state *h = s->http;

	(void)io;
	if (h->client_paused) {
		/* the origin caught up: read the client again */
		h->client_paused = 0;
		sio_read_on(s->io);
		pump_request(s);
	}
}

/*
 * The client's output drained below its low watermark.
 */
void
session_http_client_drained(struct session *s)
{
	struct http_state *h = s->http;

	if (h == NULL || !h->origin_paused || h->oc == NULL)
		return;
	h->origin_paused = 0;
	sio_read_on(h->oc->io);
	pump_response(s);
}

/* ----- the response ----------------------------------------------------------- */

/*
 * The response head as the client gets it: HTTP/1.1 status line as the
 * origin gave it, hop-by-hop fields dropped (Upgrade kept for a 101),
 * Content-Length dropped beside Transfer-Encoding (RFC 9112 §6.3), and
 * Transfer-Encoding dropped when de-chunking for an HTTP/1.0 client; then
 * our Connection and Via.
 */
static int
build_response_head(struct session *s, const char *p,
    const struct http_head *hd, struct evbuffer *out)
{
	struct http_state *h = s->http;
	const struct http_field *f;
	int upgrading = hd->status == 101;
	struct headw w;
	size_t n;
	uint32_t i;

	if (headw_begin(&w, out, head_bound(hd)) == -1)
		return -1;
	headw_lit(&w, "HTTP/1.1 ");
	headw_uint(&w, (unsigned)hd->status);
	headw_lit(&w, " ");
	headw_span(&w, p, hd->reason);
	headw_lit(&w, "\r\n");
	for (i = 0; i < hd->nfields; i++) {
		f = &hd->fields[i];
		if (http_is_hop_by_hop(p, hd, f) &&
		    !(upgrading && (int)i == hd->upgrade_field))
			continue;
		if ((hd->flags & HTTP_F_HAS_TE) &&
		    http_field_is(p, f, "content-length"))
			continue;
		if (h->dechunk && http_field_is(p, f, "transfer-encoding"))
			continue;
		if (!h->ctype[0] && http_field_is(p, f, "content-type")) {
			n = f->value.len < sizeof(h->ctype) - 1 ? f->value.len :
			    sizeof(h->ctype) - 1;
			memcpy(h->ctype, p + f->value.off, n);
			h->ctype[n] = '\0';
		}
		headw_field(&w, p, f);
	}
	if (upgrading)
		headw_lit(&w, "Connection: upgrade\r\n");
	else if (!h->client_ka)
		headw_lit(&w, "Connection: close\r\n");
	else if (h->version == 10)
		headw_lit(&w, "Connection: keep-alive\r\n");
	if (hd->version == 10)
		headw_lit(&w, "Via: 1.0 sluice\r\n\r\n");
	else
		headw_lit(&w, "Via: 1.1 sluice\r\n\r\n");
	headw_end(&w);
	return 0;
}

/* 101 Switching Protocols went out: both sides become a tunnel. */
static void
upgrade_to_tunnel(struct session *s)
{
	struct http_state *h = s->http;
	struct relay_end *e = &s->relay.end[RELAY_TARGET];
	struct evbuffer *left = sio_in(h->oc->io);
	size_t n = evbuffer_get_length(left);
	char *copy = NULL;

	/* what the origin sent after the 101 follows it to the client */
	if (n > 0 && (copy = malloc(n)) == NULL) {
		fail_request(s, 503, "out_of_memory", "out of memory");
		return;
	}
	if (n > 0)
		evbuffer_remove(left, copy, n);
	(void)e;
	h->tunnel = 1;
	if (session_target_adopt(s, origin_conn_take_fd(h->oc)) == -1) {
		h->oc = NULL;
		free(copy);
		session_close(s, "out_of_memory");
		return;
	}
	h->oc = NULL;
	session_relay_start(s, copy, n);
	free(copy);
}

/* The origin answered the head; forward it.  Returns -1 when s is gone. */
static int
response_head(struct session *s, const char *p, const struct http_head *hd)
{
	struct http_state *h = s->http;
	struct evbuffer *in = sio_in(h->oc->io);
	struct evbuffer *out = sio_out(s->io);
	size_t before = evbuffer_get_length(out);

	if (hd->status >= 100 && hd->status < 200 && hd->status != 101) {
		/* interim (100 Continue, 103): passed to HTTP/1.1 clients */
		if (h->version == 11 &&
		    build_response_head(s, p, hd, out) == -1) {
			fail_request(s, 502, "out_of_memory", "out of memory");
			return -1;
		}
		h->down += evbuffer_get_length(out) - before;
		evbuffer_drain(in, hd->head_len);
		http_parser_init(&h->resp_parser);
		return 0;
	}
	if (hd->status == 101 && !h->upgrade) {
		fail_request(s, 502, "bad_response", "the origin switched "
		    "protocols unasked");
		return -1;
	}
	if (h->head != NULL)
		evbuffer_drain(h->head, evbuffer_get_length(h->head));
	h->resp_framing = hd->framing;
	h->resp_left = hd->content_length;
	http_chunked_init(&h->resp_chunk, (uint32_t)s->conf->http_head_max);
	if (hd->framing == HTTP_BODY_CHUNKED && h->version == 10) {
		h->dechunk = 1;		/* HTTP/1.0 cannot read chunks */
		h->client_ka = 0;
	}
	if (hd->framing == HTTP_BODY_CLOSE)
		h->client_ka = 0;	/* only the close ends the body */
	h->origin_ka = hd->framing != HTTP_BODY_CLOSE && (hd->version == 11 ?
	    !(hd->flags & HTTP_F_CONN_CLOSE) :
	    !!(hd->flags & HTTP_F_CONN_KEEPALIVE));
	if (!h->req_done || !client_may_send(s, 0))
		h->client_ka = 0;	/* an early answer ends it too */
	h->status = hd->status;
	if (build_response_head(s, p, hd, out) == -1) {
		fail_request(s, 502, "out_of_memory", "out of memory");
		return -1;
	}
	h->down += evbuffer_get_length(out) - before;
	(void)session_charge(s, 0, evbuffer_get_length(out) - before);
	h->resp_started = 1;
	evbuffer_drain(in, hd->head_len);
	if (hd->status == 101) {
		upgrade_to_tunnel(s);
		return -1;
	}
	h->resp = hd->framing == HTTP_BODY_NONE ? RESP_DONE : RESP_BODY;
	return 0;
}

/* Move response body bytes; returns 0 to go on, 1 to wait, -1 s gone. */
static int
response_body(struct session *s)
{
	struct http_state *h = s->http;
	struct evbuffer *in = sio_in(h->oc->io);
	struct evbuffer *out = sio_out(s->io);
	size_t avail = evbuffer_get_length(in), n, used, step, doff, dlen;
	size_t moved = 0;
	const char *p;

	if (avail == 0)
		return 1;
	if (evbuffer_get_length(out) >= BODY_HWM) {
		/* the client is slow: stop reading the origin */
		sio_read_off(h->oc->io);
		h->origin_paused = 1;
		return 1;
	}
	if ((avail = http_allow(s, RELAY_DOWN, avail)) == 0)
		return 1;		/* the throttle timer resumes it */
	switch (h->resp_framing) {
	case HTTP_BODY_LENGTH:
		n = avail < h->resp_left ? avail : (size_t)h->resp_left;
		evbuffer_remove_buffer(in, out, n);
		h->resp_left -= n;
		if (h->resp_left == 0)
			h->resp = RESP_DONE;
		moved = n;
		break;
	case HTTP_BODY_CHUNKED:
		n = avail < CHUNK_SCAN ? avail : CHUNK_SCAN;
		p = (const char *)evbuffer_pullup(in, (ev_ssize_t)n);
		used = 0;
		while (used < n && h->resp_chunk.state != HTTP_CHUNK_DONE &&
		    h->resp_chunk.state != HTTP_CHUNK_ERROR) {
			step = http_chunked_step(&h->resp_chunk, p + used,
			    n - used, &doff, &dlen);
			if (step == 0)
				break;
			if (h->dechunk && dlen > 0) {
				evbuffer_add(out, p + used + doff, dlen);
				moved += dlen;
			}
			used += step;
		}
		if (h->resp_chunk.state == HTTP_CHUNK_ERROR) {
			h->origin_ka = 0;
			fail_request(s, 502, "bad_response", "malformed "
			    "chunked response from the origin");
			return -1;
		}
		if (h->dechunk)
			evbuffer_drain(in, used);
		else {
			evbuffer_remove_buffer(in, out, used);
			moved = used;
		}
		if (h->resp_chunk.state == HTTP_CHUNK_DONE)
			h->resp = RESP_DONE;
		break;
	default:			/* until the origin closes */
		evbuffer_remove_buffer(in, out, avail);
		moved = avail;
		break;
	}
	if (http_moved(s, RELAY_DOWN, moved) == -1) {
		quota_cut(s);
		return -1;
	}
	return 0;
}

/* ----- large bodies by splice() ---------------------------------------------- */

/*
 * Both sockets of a spliced body at libevent priority pri: the bulk one
 * once it spends a budget (below handshakes, requests and interactive
 * tunnels, as a busy tunnel goes), the default again when it ends, for
 * the next request on either connection.  -1 when s is gone (a socket
 * could not be registered again).
 */
static int
body_priority(struct session *s, int pri)
{
	struct http_state *h = s->http;

	if (pri < 0)
		return 0;	/* a pool without a bulk priority */
	if (sio_set_priority(s->io, pri) == -1 ||
	    (h->oc != NULL && sio_set_priority(h->oc->io, pri) == -1)) {
		s->err = errno;
		session_close(s, "out_of_memory");
		return -1;
	}
	return 0;
}

/*
 * Both sockets back to buffered I/O.  Request bytes still in the pipe go
 * on, in order, through the origin's output.  -1 when s is gone; else 0
 * with errno as it was (for the handler of what ended the splice).
 */
static int
splice_stop(struct session *s)
{
	struct http_state *h = s->http;
	int rc = 0, err = errno;

	if (h->pipe_up && h->oc != NULL)
		rc = relay_pipe_drain(h->pipe, sio_out(h->oc->io));
	sio_set_raw(s->io, NULL);
	if (h->oc != NULL)
		sio_set_raw(h->oc->io, NULL);
	relay_pipe_put(&s->w->relay_pool, h->pipe);
	h->pipe = NULL;
	h->pipe_up = 0;
	if (rc == -1) {
		s->err = errno;
		session_close(s, "out_of_memory");
		return -1;
	}
	if (body_priority(s, WORKER_PRI_NORMAL) == -1)
		return -1;
	errno = err;
	return 0;
}

/* What splice_pump() stopped on. */
enum pump_rc {
	PUMP_WAIT,		/* for an edge */
	PUMP_DONE,		/* the body is all through, the pipe empty */
	PUMP_SRC_END,		/* the source's EOF (errno 0) or error */
	PUMP_DST_ERR,		/* writing the destination failed (errno) */
	PUMP_GONE,		/* s is gone, or the request was cut (a quota) */
};

/*
 * Move *left bytes of a body from src to dst through the session's pipe,
 * as far as the sockets and one budget allow.  A spent budget makes it a
 * bulk transfer, as a tunnel's: both sockets go to the bulk priority and
 * src's event comes back after the others.  A request body is counted as
 * it is read (as the copy path does), a response body as it is written.
 */
static enum pump_rc
splice_pump(struct session *s, struct sio *src, struct sio *dst,
    uint64_t *left, int d)
{
	struct relay_pipe *pp = s->http->pipe;
	size_t budget = RELAY_BUDGET, want;
	ssize_t n;

	for (;;) {
		if (pp->bytes > 0) {
			if (!dst->wr_ready)
				return PUMP_WAIT;
			n = relay_pipe_out(&s->w->relay_pool, pp, dst->fd);
			if (n < 0) {
				if (errno != EAGAIN)
					return PUMP_DST_ERR;
				dst->wr_ready = 0;
				return PUMP_WAIT;
			}
			if (d == RELAY_DOWN && http_moved(s, d, (size_t)n) == -1)
				goto quota;
			continue;
		}
		if (*left == 0)
			return PUMP_DONE;
		if (!src->rd_ready)
			return PUMP_WAIT;
		if (budget == 0) {
			if (body_priority(s, s->w->relay_pool.bulk_pri) == -1)
				return PUMP_GONE;
			relay_come_back(src->ev);
			return PUMP_WAIT;
		}
		want = budget < *left ? budget : (size_t)*left;
		/* a quota's rest; never 0: bandwidth limits, which could
		   hold a move, keep a body on the copy path */
		if ((want = http_allow(s, d, want)) == 0)
			return PUMP_WAIT;
		if ((n = relay_pipe_in(pp, src->fd, want)) > 0) {
			*left -= (uint64_t)n;
			budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
			if (d == RELAY_UP && http_moved(s, d, (size_t)n) == -1)
				goto quota;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			src->rd_ready = 0;
			return PUMP_WAIT;
		}
		if (n == 0)
			errno = 0;
		return PUMP_SRC_END;
	}
quota:
	quota_cut(s);
	return PUMP_GONE;
}

/*
 * The rest of a Content-Length response body, from the origin to the
 * client.  Returns 0 when it waits for an edge, -1 when the request ended
 * (completed or failed) or s is gone.
 */
static int
body_splice(struct session *s)
{
	struct http_state *h = s->http;
	int rc;

	/* what was queued for the client before goes first */
	if ((rc = sio_flush_raw(s->io)) == -1) {
		session_http_client_event(s, SIO_ERROR);
		return -1;
	}
	if (rc == 0)
		return 0;
	switch (splice_pump(s, h->oc->io, s->io, &h->resp_left, RELAY_DOWN)) {
	case PUMP_WAIT:
		return 0;
	case PUMP_DONE:
		if (splice_stop(s) == -1)
			return -1;
		h->resp = RESP_DONE;
		request_complete(s);
		return -1;
	case PUMP_SRC_END:
		h->origin_ka = 0;
		if (errno == ECONNRESET) {
			s->relay.err = ECONNRESET;	/* reset the client */
			s->relay.err_end = RELAY_TARGET;
		}
		fail_request(s, 502, errno ? "target_reset" : "target_closed",
		    "the origin closed the connection in the middle of the "
		    "response");
		break;
	case PUMP_DST_ERR:
		session_http_client_event(s, SIO_ERROR);
		break;
	case PUMP_GONE:
		break;
	}
	return -1;
}

/* An edge on either socket while the body is spliced. */
static void
body_raw_cb(struct sio *io, short what, void *arg)
{
	(void)io;
	(void)what;
	(void)body_splice(arg);
}

/*
 * Whether a body with left bytes still to come goes by splice() (no
 * bandwidth limit to pace it, a pipe to be had), and if so set it up: a
 * pipe from the relay's pool, both sockets in raw mode with cb.
 */
static int
splice_begin(struct session *s, uint64_t left, struct sio *dst,
    sio_event_cb cb)
{
	struct http_state *h = s->http;

	if (left < BODY_SPLICE_MIN || h->pipe != NULL ||
	    !s->w->relay_pool.splice_ok || s->conf->conn_bandwidth > 0 ||
	    (s->user != NULL && s->user->bandwidth > 0) ||
	    (h->pipe = relay_pipe_get(&s->w->relay_pool)) == NULL)
		return 0;
	/* a bulk sink, as a tunnel's (relay.h) */
	relay_sink_lowat(sio_fd(dst), s->relay.notsent_lowat);
	sio_set_raw(s->io, cb);
	sio_set_raw(h->oc->io, cb);
	return 1;
}

/*
 * Whether the rest of the response body goes by splice().  What the
 * origin's input held has been moved to the client's output by then.
 * Only once the request is all written to the origin: one may answer as
 * it reads (an echo), and a splice that left the client unread, or the
 * request's last bytes queued, would stop both sides.
 */
static int
splice_start(struct session *s)
{
	struct http_state *h = s->http;

	return h->resp_framing == HTTP_BODY_LENGTH && h->req_done &&
	    evbuffer_get_length(sio_out(h->oc->io)) == 0 &&
	    evbuffer_get_length(sio_in(h->oc->io)) == 0 &&
	    splice_begin(s, h->resp_left, s->io, body_raw_cb);
}

/*
 * The rest of a Content-Length request body, from the client to the
 * origin.  Returns 0 when it waits for an edge, -1 when the body ended
 * (all sent, or cut) or s is gone.
 */
static int
upload_splice(struct session *s)
{
	struct http_state *h = s->http;
	struct origin_conn *oc = h->oc;
	int rc;

	/* an earlier answer still queued for the client, and the head and
	   first body bytes queued for the origin, go first */
	if (sio_flush_raw(s->io) == -1)
		goto client_ended;
	if ((rc = sio_flush_raw(oc->io)) == -1)
		goto origin_failed;
	if (rc == 0)
		return 0;
	switch (splice_pump(s, s->io, oc->io, &h->req_left, RELAY_UP)) {
	case PUMP_WAIT:
		return 0;
	case PUMP_DONE:
		h->req_done = 1;
		if (splice_stop(s) == -1)
			return -1;
		pump_request(s);	/* the body is all sent */
		return -1;
	case PUMP_SRC_END:
		goto client_ended;	/* its FIN (errno 0), or an error */
	case PUMP_DST_ERR:
		goto origin_failed;
	case PUMP_GONE:
		break;
	}
	return -1;
client_ended:
	if (splice_stop(s) == 0)
		session_http_client_event(s, errno != 0 ? SIO_ERROR : SIO_EOF);
	return -1;
origin_failed:
	/* what the origin answered first is still read (origin_event_cb) */
	if (splice_stop(s) == 0)
		origin_event_cb(oc->io, SIO_ERROR, s);
	return -1;
}

/* An edge on either socket while the request body is spliced. */
static void
upload_raw_cb(struct sio *io, short what, void *arg)
{
	struct session *s = arg;

	if (io != s->io && (what & (EV_READ | EV_CLOSED))) {
		/* the origin answers early, or closes: buffered I/O reads
		   it and carries the rest of the body */
		(void)splice_stop(s);
		return;
	}
	(void)upload_splice(s);
}

/*
 * Whether the rest of the request body goes by splice(): everything the
 * client's input held has gone to the origin's output, the client is not
 * held back, and the origin has said nothing yet.
 */
static int
upload_start(struct session *s)
{
	struct http_state *h = s->http;
	struct sio *oio = h->oc->io;

	if (h->req_framing != HTTP_BODY_LENGTH || h->client_paused ||
	    h->client_eof || h->throttled || h->resp != RESP_HEAD ||
	    oio->rd_ready || evbuffer_get_length(sio_in(s->io)) > 0 ||
	    evbuffer_get_length(sio_in(oio)) > 0 ||
	    !splice_begin(s, h->req_left, h->oc->io, upload_raw_cb))
		return 0;
	h->pipe_up = 1;
	return 1;
}

/*
 * Forward what the origin sent.  Returns 0 when it waits for more of the
 * same response, -1 when the request ended (completed, failed, became a
 * tunnel) or s is gone: the caller must not look at s again.
 */
static int
pump_response(struct session *s)
{
	struct http_state *h = s->http;
	struct http_limits lim = limits(s);
	struct http_head *hd = s->w->http_head;
	struct evbuffer *in;
	enum codec_result r;
	const char *p;
	size_t len;
	int status, rc;

	while (h->oc != NULL) {
		in = sio_in(h->oc->io);
		switch (h->resp) {
		case RESP_HEAD:
			len = evbuffer_get_length(in);
			if (len == 0)
				return 0;
			if (len > lim.head_max + 8)
				len = lim.head_max + 8;
			p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
			r = http_parse_response(&h->resp_parser, p, len, &lim,
			    h->is_head, hd, &status);
			if (r == CODEC_AGAIN)
				return 0;
			if (r == CODEC_ERR) {
				h->origin_ka = 0;
				fail_request(s, 502, "bad_response", "the "
				    "origin's response is malformed");
				return -1;
			}
			if (response_head(s, p, hd) == -1)
				return -1;
			break;
		case RESP_BODY:
			if ((rc = response_body(s)) == -1)
				return -1;
			if (rc == 1)
				return 0;
			if (h->resp == RESP_BODY && splice_start(s))
				return body_splice(s);
			break;
		case RESP_DONE:
			if (evbuffer_get_length(in) > 0)
				h->origin_ka = 0;	/* more than it said */
			/* complete even when the request body is not all
			   sent (the origin answered early): the connection
			   then closes */
			request_complete(s);
			return -1;
		}
	}
	return -1;
}

static void
origin_read_cb(struct sio *io, void *arg)
{
	(void)io;
	pump_response(arg);
}

/* Send the request again on a fresh connection (a pooled one was stale). */
static void
retry_fresh(struct session *s)
{
	struct http_state *h = s->http;
	union sockaddr_u ip;
	char key[ORIGIN_KEY_MAX];

	origin_conn_free(h->oc);
	h->oc = NULL;
	h->retried = 1;
	h->reused = 0;
	h->up = 0;
	slog_debug(s, "pooled connection to %s was closed: retrying",
	    pool_key(s, key));
	session_target(s, netaddr_parse_ip(s->host, &ip) == 0 ?
	    (netaddr_set_port(&ip, s->port), &ip) : NULL);
}

static void
origin_event_cb(struct sio *io, short what, void *arg)
{
	struct session *s = arg;
	struct http_state *h = s->http;
	struct evbuffer *in = sio_in(io);
	int err = (what & SIO_ERROR) ? errno : 0;

	if ((what & SIO_ERROR) && h->resp != RESP_DONE) {
		/* a write error (an origin that answered early and reset the
		   request body it did not read) can come before its answer
		   was read: take what the kernel still holds first */
		while (evbuffer_read(in, sio_fd(io), 65536) > 0)
			;
		if (evbuffer_get_length(in) > 0 && pump_response(s) == -1)
			return;
	}
	if (h->resp == RESP_HEAD && h->reused && !h->retried &&
	    h->req_framing == HTTP_BODY_NONE && h->resp_parser.scanned == 0) {
		retry_fresh(s);
		return;
	}
	if (h->resp == RESP_BODY && h->resp_framing == HTTP_BODY_CLOSE &&
	    !(what & SIO_ERROR)) {
		/* the close is the end of this body */
		pump_response(s);
		h->resp = RESP_DONE;
		h->origin_ka = 0;
		request_complete(s);
		return;
	}
	if (h->resp == RESP_DONE) {
		h->origin_ka = 0;
		return;		/* closed after its response: fine */
	}
	if (err == ECONNRESET) {
		s->relay.err = ECONNRESET;	/* reset the client in turn */
		s->relay.err_end = RELAY_TARGET;
	}
	h->origin_ka = 0;
	fail_request(s, 502, err ? "target_reset" : "target_closed",
	    h->resp == RESP_HEAD ? "the origin closed the connection "
	    "without answering" : "the origin closed the connection in the "
	    "middle of the response");
}

/* The response is complete (and the request was all sent, or not). */
static void
request_complete(struct session *s)
{
	struct http_state *h = s->http;
	struct origin_conn *oc = h->oc;

	if (h->pipe_up && splice_stop(s) == -1)
		return;
	if (!h->req_done) {
		/* the origin answered before the body was all sent */
		h->client_ka = 0;
		h->origin_ka = 0;
	}
	h->oc = NULL;
	if (oc != NULL) {
		if (h->origin_ka)
			origin_pool_put(&s->w->origins, oc);
		else
			origin_conn_free(oc);
	}
	log_request(s, "done");
	h->requests++;
	h->origin_paused = 0;
	if (h->client_paused) {
		h->client_paused = 0;
		sio_read_on(s->io);
	}
	await_next_request(s, h->client_ka);
}

/* ----- client events and timeouts ---------------------------------------------- */

/*
 * EOF or an error on the client while it is an HTTP session.
 */
void
session_http_client_event(struct session *s, short what)
{
	struct http_state *h = s->http;

	if (what & SIO_ERROR) {
		s->err = errno;
		session_close(s, "client_reset");
		return;
	}
	if (!(what & SIO_EOF))
		return;
	/* what it sent before its FIN is still answered (client_may_send) */
	h->client_eof = 1;
	s->flags |= SESSION_F_CLIENT_EOF;
	switch (s->state) {
	case SESSION_S_HTTP_HEAD:
		if (evbuffer_get_length(sio_in(s->io)) > 0) {
			/* a request, or the start of one */
			(void)parse_request(s);
			return;
		}
		break;
	case SESSION_S_HTTP_AUTH_WAIT:
	case SESSION_S_RESOLVING:
	case SESSION_S_CONNECTING:
		if (h->tunnel)
			return;	/* CONNECT: data and a FIN sent early pass
				   on (SESSION_F_CLIENT_EOF) */
		if (s->state == SESSION_S_HTTP_AUTH_WAIT)
			return;	/* the head is checked once it is let in */
		if (!body_cut_short(s))
			return;	/* the response still goes out (a chunked
				   body cut short is found as it is sent) */
		client_gone_mid_request(s);	/* the lookup or connect
						   ends with it */
		return;
	case SESSION_S_HTTP_FORWARD:
		if (h->req_done)
			return;		/* half-closed after its request */
		pump_request(s);	/* what is here goes on; if the
					   body is still short, it ends */
		return;
	default:
		break;
	}
	session_close(s, "client_closed");
}

/*
 * The session timer fired in HTTP_HEAD or HTTP_FORWARD.
 */
void
session_http_timeout(struct session *s)
{
	struct http_state *h = s->http;
	int64_t now = clock_ms(), idle = (int64_t)s->conf->to_idle * 1000;

	if (s->state == SESSION_S_HTTP_HEAD) {
		if (h->requests > 0 && evbuffer_get_length(
		    sio_in(s->io)) == 0) {
			s->flags |= SESSION_F_LOGGED;
			session_close(s, "keepalive_timeout");
			return;
		}
		h->active = 1;
		h->t_req = s->t_start;
		h->client_ka = 0;
		fail_request(s, 408, "handshake_timeout", "the request head "
		    "did not arrive in time");
		return;
	}
	if (now - h->last_active < idle) {
		session_deadline(s, h->last_active + idle - now);
		return;
	}
	h->origin_ka = 0;
	fail_request(s, 504, "idle_timeout", "the origin did not answer in "
	    "time");
}
