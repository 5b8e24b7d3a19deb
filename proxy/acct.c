/*
 * Accounting: see acct.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acct.h"
#include "iptable.h"
#include "log.h"
#include "../conf/conf.h"

#define LOG_BUF_SIZE	(64 * 1024)
#define LOG_FLUSH_AT	(48 * 1024)	/* write when this full */
#define LOG_FLUSH_MS	200		/* or this long after the first line */
#define LOG_LINE_MAX	1024

static void
log_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct acct_log *l = arg;

	(void)fd;
	(void)what;
	l->armed = 0;
	acct_log_flush(l);
}

/*
 * Open the access log: a path (appended to, created 0640), "-" for stderr,
 * or "off"; format is an enum conf_log_format.  Returns 0, or -1 with the
 * reason in err.
 */
int
acct_log_open(struct acct_log *l, const char *spec, int format,
    struct event_base *base, char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->format = format;
	evtimer_assign(&l->timer, base, log_timer_cb, l);
	if (strcmp(spec, "off") == 0 || strcmp(spec, "none") == 0)
		return 0;
	if (strcmp(spec, "-") == 0)
		l->fd = STDERR_FILENO;
	else {
		l->fd = open(spec, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0640);
		if (l->fd == -1) {
			snprintf(err, errlen, "log.access: cannot open \"%s\": "
			    "%s", spec, strerror(errno));
			return -1;
		}
		l->owned = 1;
		l->path = strdup(spec);
	}
	if ((l->buf = malloc(LOG_BUF_SIZE)) == NULL) {
		snprintf(err, errlen, "log.access: out of memory");
		acct_log_close(l);
		return -1;
	}
	l->cap = LOG_BUF_SIZE;
	return 0;
}

/*
 * Write out what is buffered.  A failed write drops the batch (counted in
 * lost): the log must never stall or kill the proxy.
 */
void
acct_log_flush(struct acct_log *l)
{
	size_t off = 0;
	ssize_t n;

	while (off < l->len) {
		n = write(l->fd, l->buf + off, l->len - off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			l->lost += l->len - off;
			log_warn("access log%s%s: write: %s (%zu bytes lost)",
			    l->path ? " " : "", l->path ? l->path : "",
			    strerror(errno), l->len - off);
			break;
		}
		off += (size_t)n;
	}
	l->len = 0;
	if (l->armed) {
		evtimer_del(&l->timer);
		l->armed = 0;
	}
}

void
acct_log_close(struct acct_log *l)
{
	if (l->fd != -1 && l->buf != NULL)
		acct_log_flush(l);
	if (l->armed)
		evtimer_del(&l->timer);
	if (l->owned && l->fd != -1)
		close(l->fd);
	free(l->buf);
	free(l->path);
	l->buf = NULL;
	l->path = NULL;
	l->fd = -1;
}

/* A line being built: appends never pass cap - 1 (room for the '\n'). */
struct line {
	char		buf[LOG_LINE_MAX];
	size_t		n;
};

static void
line_printf(struct line *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
line_printf(struct line *l, const char *fmt, ...)
{
	size_t room = sizeof(l->buf) - 1 - l->n;
	va_list ap;
	int rc;

	if (room == 0)
		return;
	va_start(ap, fmt);
	rc = vsnprintf(l->buf + l->n, room + 1, fmt, ap);
	va_end(ap);
	if (rc > 0)
		l->n += (size_t)rc < room ? (size_t)rc : room;
}

static void
line_putc(struct line *l, char c)
{
	if (l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = c;
}

/*
 * A key=value value: printable ASCII without spaces or quotes is written
 * as is, anything else as a quoted string with escapes, so a line always
 * parses back into the same fields.  A value cut short by the line length
 * keeps its escapes whole.
 */
static void
line_value(struct line *l, const char *v)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	int plain = *v != '\0';

	for (p = (const unsigned char *)v; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			plain = 0;
	if (plain) {
		line_printf(l, "%s", v);
		return;
	}
	line_putc(l, '"');
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (l->n + 5 >= sizeof(l->buf) - 1)
			break;
		if (*p == '"' || *p == '\\') {
			line_putc(l, '\\');
			line_putc(l, (char)*p);
		} else if (*p < 0x20 || *p >= 0x7f) {
			line_putc(l, '\\');
			line_putc(l, 'x');
			line_putc(l, hex[*p >> 4]);
			line_putc(l, hex[*p & 15]);
		} else
			line_putc(l, (char)*p);
	}
	line_putc(l, '"');
}

/*
 * The sluice format:
 *   TIME proto=http client=A:P user=U method=GET url=URL target=HOST:PORT
 *   connected=A:P status=200 up=N down=N dur=S.mmm end=REASON id=W.N
 * (method and url only for HTTP), "-" marking an absent field.
 */
static void
format_sluice(struct line *ln, const struct acct_record *r, long long sec,
    long usec)
{
	char ts[32], a[NETADDR_STRLEN], tgt[300];

	log_format_time(ts, sizeof(ts), sec, usec);
	line_printf(ln, "%s proto=%s client=%s user=", ts, r->proto,
	    netaddr_str(r->client, a, sizeof(a)));
	line_value(ln, r->user ? r->user : "-");
	if (r->method != NULL) {
		line_printf(ln, " method=");
		line_value(ln, r->method[0] ? r->method : "-");
		line_printf(ln, " url=");
		line_value(ln, r->url != NULL && r->url[0] ? r->url : "-");
	}
	if (r->target != NULL) {
		if (strchr(r->target, ':') != NULL)
			snprintf(tgt, sizeof(tgt), "[%s]:%u", r->target,
			    r->port);
		else
			snprintf(tgt, sizeof(tgt), "%s:%u", r->target, r->port);
	} else
		snprintf(tgt, sizeof(tgt), "-");
	line_printf(ln, " target=");
	line_value(ln, tgt);
	if (r->connected != NULL && r->connected->sa.sa_family != AF_UNSPEC)
		netaddr_str(r->connected, a, sizeof(a));
	else
		snprintf(a, sizeof(a), "-");
	line_printf(ln, " connected=%s status=%s up=%" PRIu64 " down=%"
	    PRIu64 " dur=%" PRId64 ".%03" PRId64 " end=%s id=%d.%" PRIu64, a,
	    r->status, r->up, r->down, r->dur_ms / 1000, r->dur_ms % 1000,
	    r->end, r->worker, r->id);
}

/*
 * Squid's native access.log layout, so its analysers read ours:
 *   time.ms elapsed_ms client action/code bytes method URL user
 *   hierarchy/peer type
 * SOCKS sessions and CONNECT tunnels are TCP_TUNNEL with method CONNECT and
 * host:port as the URL; answers sluice gave itself (407, 502...) are
 * TCP_DENIED or NONE; bytes are those sent to the client.
 */
static void
format_squid(struct line *ln, const struct acct_record *r, long long sec,
    long usec)
{
	char ip[NETADDR_STRLEN], peer[NETADDR_STRLEN], url[300];
	const char *action, *method, *u;
	int code = r->http_status;
	int tunnel = r->method == NULL || strcmp(r->proto, "connect") == 0;

	if (code == 407 || code == 403)
		action = "TCP_DENIED";
	else if (r->connected == NULL ||
	    r->connected->sa.sa_family == AF_UNSPEC)
		action = code == 0 ? "NONE_NONE" : "NONE";
	else
		action = tunnel ? "TCP_TUNNEL" : "TCP_MISS";
	method = r->method != NULL && r->method[0] ? r->method : "CONNECT";
	if (r->method == NULL || strcmp(r->proto, "connect") == 0) {
		if (r->target != NULL)
			snprintf(url, sizeof(url), strchr(r->target, ':') ?
			    "[%s]:%u" : "%s:%u", r->target, r->port);
		else
			snprintf(url, sizeof(url), "-");
		u = url;
	} else
		u = r->url != NULL && r->url[0] ? r->url : "-";
	if (r->connected != NULL && r->connected->sa.sa_family != AF_UNSPEC)
		netaddr_ip_str(r->connected, peer, sizeof(peer));
	else
		snprintf(peer, sizeof(peer), "-");
	line_printf(ln, "%lld.%03ld %6" PRId64 " %s %s/%03d %" PRIu64 " ",
	    sec, usec / 1000, r->dur_ms, netaddr_ip_str(r->client, ip,
	    sizeof(ip)), action, code, r->down);
	line_value(ln, method);
	line_printf(ln, " ");
	line_value(ln, u);
	line_printf(ln, " ");
	line_value(ln, r->user != NULL ? r->user : "-");
	line_printf(ln, " %s/%s ", strcmp(peer, "-") ? "HIER_DIRECT" :
	    "HIER_NONE", peer);
	line_value(ln, r->content_type != NULL ? r->content_type : "-");
}

/*
 * Append the line for a finished session or HTTP request (sec/usec:
 * wall-clock time of its end) in the configured format.  A line never
 * exceeds LOG_LINE_MAX bytes.
 */
void
acct_log_session(struct acct_log *l, const struct acct_record *r,
    long long sec, long usec)
{
	struct line ln;

	if (l->fd == -1)
		return;
	ln.n = 0;
	if (l->format == CONF_LOG_SQUID)
		format_squid(&ln, r, sec, usec);
	else
		format_sluice(&ln, r, sec, usec);
	ln.buf[ln.n++] = '\n';
	if (l->len + ln.n > l->cap)
		acct_log_flush(l);
	memcpy(l->buf + l->len, ln.buf, ln.n);
	l->len += ln.n;
	if (l->len >= LOG_FLUSH_AT)
		acct_log_flush(l);
	else if (!l->armed) {
		struct timeval tv = { 0, LOG_FLUSH_MS * 1000 };

		evtimer_add(&l->timer, &tv);
		l->armed = 1;
	}
}

/* ----- concurrent sessions per client address ------------------------- */

struct acct_client {
	struct iptable_entry e;
	int		count;		/* sessions of this address */
};

/*
 * Returns 0, or -1 (ENOMEM or no random key).
 */
int
acct_clients_init(struct iptable *t)
{
	return iptable_init(t, 1024, sizeof(struct acct_client));
}

/*
 * Count one more session for the client's address, unless it already has
 * limit (> 0) sessions.  Returns 0, or -1 when over the limit (errno
 * EBUSY) or out of memory (ENOMEM); then nothing was counted.
 */
int
acct_client_acquire(struct iptable *t, const union sockaddr_u *a, int limit)
{
	struct acct_client *c;

	if ((c = iptable_get(t, a, 1)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	if (limit > 0 && c->count >= limit) {
		errno = EBUSY;
		return -1;
	}
	c->count++;
	return 0;
}

/*
 * Undo one acct_client_acquire() for the address.
 */
void
acct_client_release(struct iptable *t, const union sockaddr_u *a)
{
	struct acct_client *c = iptable_get(t, a, 0);

	if (c != NULL && --c->count <= 0)
		iptable_remove(t, c);
}

/* ----- clients remembered after an HTTP login ------------------------- */

struct acct_remembered {
	struct iptable_entry e;
	struct auth_user *user;
	int64_t		expires;	/* ms */
};

#define REMEMBER_SWEEP	1024	/* logins between sweeps of stale entries */

int
acct_remember_init(struct iptable *t)
{
	return iptable_init(t, 256, sizeof(struct acct_remembered));
}

static int
remember_expired(void *entry, void *now)
{
	return ((struct acct_remembered *)entry)->expires <= *(int64_t *)now;
}

/*
 * Remember that the address logged in as user (at now), until expires
 * (ms).
 */
void
acct_remember_add(struct iptable *t, const union sockaddr_u *a,
    struct auth_user *user, int64_t now, int64_t expires)
{
	struct acct_remembered *r;

	if (t->count >= REMEMBER_SWEEP && t->count % REMEMBER_SWEEP == 0)
		iptable_sweep(t, remember_expired, &now);
	if ((r = iptable_get(t, a, 1)) == NULL)
		return;
	r->user = user;
	r->expires = expires;
}

/*
 * The user the address logged in as, if that is still remembered at now.
 */
struct auth_user *
acct_remember_find(struct iptable *t, const union sockaddr_u *a, int64_t now)
{
	struct acct_remembered *r = iptable_get(t, a, 0);

	if (r == NULL)
		return NULL;
	if (r->expires <= now) {
		iptable_remove(t, r);
		return NULL;
	}
	return r->user;
}
