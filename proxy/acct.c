/*
 * Accounting: see acct.h.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acct.h"
#include "fmt.h"
#include "iptable.h"
#include "tbucket.h"
#include "log.h"
#include "../conf/conf.h"

#define LOG_BUF_SIZE	(64 * 1024)
#define LOG_FLUSH_AT	(48 * 1024)	/* write when this full */
#define LOG_FLUSH_MS	200		/* or this long after the first line */
#define LOG_LINE_MAX	2048	/* fields are cut to fit (see *_MAX) */
#define FIELD_MAX	400	/* a user name or target, as written */
#define URL_MAX		700
#define SHORT_MAX	128	/* method, status, content type... */

static void
log_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct acct_log *l = arg;

	(void)fd;
	(void)what;
	l->armed = 0;
	acct_log_flush(l);
}

/* A datagram socket connected to the syslog socket (usually /dev/log). */
static int
syslog_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd, saved;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(sun.sun_path, path);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * Open the access log: a path (appended to, created 0640), "-" for
 * stderr, "syslog" (datagrams to syslog_socket, facility daemon), or
 * "off"; format is an enum conf_log_format.  Returns 0, or -1 with the
 * reason in err.
 */
int
acct_log_open(struct acct_log *l, const char *spec, int format,
    const char *syslog_socket, struct event_base *base, char *err,
    size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->format = format;
	evtimer_assign(&l->timer, base, log_timer_cb, l);
	if (strcmp(spec, "off") == 0 || strcmp(spec, "none") == 0)
		return 0;
	if (strcmp(spec, "-") == 0)
		l->fd = STDERR_FILENO;
	else if (strcmp(spec, "syslog") == 0) {
		if ((l->fd = syslog_connect(syslog_socket)) == -1) {
			snprintf(err, errlen, "log.access: cannot reach syslog "
			    "at \"%s\": %s", syslog_socket, strerror(errno));
			return -1;
		}
		l->owned = 1;
		l->syslog = 1;
		l->path = strdup(syslog_socket);
	} else {
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
 * SIGUSR1 (logrotate): what is buffered goes to the old file, then the
 * path is opened again.  Returns 0, or -1 (the old file stays in use).
 */
int
acct_log_reopen(struct acct_log *l)
{
	int fd;

	if (!l->owned || l->path == NULL)
		return 0;
	acct_log_flush(l);
	if (l->syslog)
		fd = syslog_connect(l->path);
	else
		fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		    0640);
	if (fd == -1) {
		log_warn("access log %s: reopen: %s", l->path,
		    strerror(errno));
		return -1;
	}
	close(l->fd);
	l->fd = fd;
	return 0;
}

/* syslog: one datagram per line, "<30>sluice[pid]: line" (daemon.info). */
static void
flush_syslog(struct acct_log *l)
{
	char msg[LOG_LINE_MAX + 64];
	size_t off = 0, n, hl;
	char *nl;

	hl = (size_t)snprintf(msg, sizeof(msg), "<30>sluice[%ld]: ",
	    (long)getpid());
	while (off < l->len) {
		nl = memchr(l->buf + off, '\n', l->len - off);
		n = nl != NULL ? (size_t)(nl - (l->buf + off)) : l->len - off;
		if (n > sizeof(msg) - hl)
			n = sizeof(msg) - hl;
		memcpy(msg + hl, l->buf + off, n);
		if (send(l->fd, msg, hl + n, MSG_DONTWAIT | MSG_NOSIGNAL)
		    == -1)
			l->lost += n + 1;
		off += (nl != NULL ? (size_t)(nl - (l->buf + off)) + 1 :
		    l->len - off);
	}
	l->len = 0;
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

	if (l->syslog) {
		flush_syslog(l);
		goto done;
	}
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
done:
	if (l->armed) {
		evtimer_del(&l->timer);
		l->armed = 0;
	}
}

/*
 * Close dst and make it the log src was opened as (src is left closed).
 */
void
acct_log_replace(struct acct_log *dst, struct acct_log *src)
{
	struct event_base *base = event_get_base(&src->timer);

	acct_log_flush(src);
	if (src->armed)
		evtimer_del(&src->timer);
	src->armed = 0;
	acct_log_close(dst);
	*dst = *src;
	/* the timer's argument is the struct itself: point it home */
	evtimer_assign(&dst->timer, base, log_timer_cb, dst);
	memset(src, 0, sizeof(*src));
	src->fd = -1;
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
line_putc(struct line *l, char c)
{
	if (l->n < sizeof(l->buf) - 1)
		l->buf[l->n++] = c;
}

/*
 * The appenders below build every access-log line without printf, which
 * cost more than the rest of an HTTP request's forwarding together.
 */
static void
line_mem(struct line *l, const char *p, size_t n)
{
	size_t room = sizeof(l->buf) - 1 - l->n;

	if (n > room)
		n = room;
	memcpy(l->buf + l->n, p, n);
	l->n += n;
}

static void
line_str(struct line *l, const char *s)
{
	line_mem(l, s, strlen(s));
}

/* v in decimal, at least width digits wide, padded with pad. */
static void
line_uint(struct line *l, uint64_t v, int width, char pad)
{
	char d[FMT_U64_LEN + 8], *p = fmt_u64(d + sizeof(d), v);

	while (d + sizeof(d) - p < width && p > d)
		*--p = pad;
	line_mem(l, p, (size_t)(d + sizeof(d) - p));
}

/* Milliseconds as seconds: 1234 -> "1.234" (negative shown as 0). */
static void
line_secs(struct line *l, int64_t ms)
{
	if (ms < 0)
		ms = 0;
	line_uint(l, (uint64_t)ms / 1000, 1, '0');
	line_putc(l, '.');
	line_uint(l, (uint64_t)ms % 1000, 3, '0');
}

/* "host:port", or "[host]:port" for an IPv6 literal, in buf. */
static const char *
target_str(char *buf, size_t len, const char *host, unsigned port)
{
	size_t n = strlen(host), i = 0, pn;
	char d[FMT_U64_LEN], *p = fmt_u64(d + sizeof(d), port);
	int v6 = strchr(host, ':') != NULL;

	pn = (size_t)(d + sizeof(d) - p);
	if (n + 3 + pn >= len)				/* cannot happen */
		n = len - 4 - pn;
	if (v6)
		buf[i++] = '[';
	memcpy(buf + i, host, n);
	i += n;
	if (v6)
		buf[i++] = ']';
	buf[i++] = ':';
	memcpy(buf + i, p, pn);
	i += pn;
	buf[i] = '\0';
	return buf;
}

/*
 * A quoted string taking at most max bytes of the line: '"' and '\\'
 * escaped, other bytes outside printable ASCII as \xHH (json: \u00HH, a
 * byte rather than a code point, so the line is valid JSON whatever the
 * input was).  One cut short keeps its escapes whole and ends in "...".
 */
static void
line_quoted(struct line *l, const char *v, size_t max, int json)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t used = 2, need;

	line_putc(l, '"');
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		need = *p == '"' || *p == '\\' ? 2 :
		    *p < 0x20 || *p >= 0x7f ? (json ? 6 : 4) : 1;
		/* room for this byte, and for "..." if more follow */
		if (used + need + (p[1] != '\0' ? 3 : 0) > max) {
			line_str(l, "...");
			break;
		}
		used += need;
		if (need == 1)
			line_putc(l, (char)*p);
		else if (need == 2) {
			line_putc(l, '\\');
			line_putc(l, (char)*p);
		} else {
			line_str(l, json ? "\\u00" : "\\x");
			line_putc(l, hex[*p >> 4]);
			line_putc(l, hex[*p & 15]);
		}
	}
	line_putc(l, '"');
}

/*
 * A key=value value: printable ASCII without spaces or quotes is written
 * as is, anything else (or longer than max) quoted, so a line always
 * parses back into the same fields and the fields after it always fit.
 */
static void
line_value(struct line *l, const char *v, size_t max)
{
	const unsigned char *p;
	size_t len = strlen(v);
	int plain = len > 0 && len <= max;

	for (p = (const unsigned char *)v; plain && *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f || *p == '"' || *p == '\\')
			plain = 0;
	if (plain)
		line_mem(l, v, len);
	else
		line_quoted(l, v, max, 0);
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
	char ts[LOG_TIME_LEN], a[NETADDR_STRLEN], tgt[300];

	log_format_time(ts, sizeof(ts), sec, usec);
	line_str(ln, ts);
	line_str(ln, " proto=");
	line_str(ln, r->proto);
	line_str(ln, " client=");
	line_str(ln, netaddr_str(r->client, a, sizeof(a)));
	line_str(ln, " user=");
	line_value(ln, r->user ? r->user : "-", FIELD_MAX);
	if (r->method != NULL) {
		line_str(ln, " method=");
		line_value(ln, r->method[0] ? r->method : "-", SHORT_MAX);
		line_str(ln, " url=");
		line_value(ln, r->url != NULL && r->url[0] ? r->url : "-",
		    URL_MAX);
	}
	line_str(ln, " target=");
	line_value(ln, r->target != NULL ? target_str(tgt, sizeof(tgt),
	    r->target, r->port) : "-", FIELD_MAX);
	line_str(ln, " connected=");
	line_str(ln, r->connected != NULL &&
	    r->connected->sa.sa_family != AF_UNSPEC ?
	    netaddr_str(r->connected, a, sizeof(a)) : "-");
	line_str(ln, " status=");
	line_str(ln, r->status);
	line_str(ln, " up=");
	line_uint(ln, r->up, 1, '0');
	line_str(ln, " down=");
	line_uint(ln, r->down, 1, '0');
	line_str(ln, " dur=");
	line_secs(ln, r->dur_ms);
	line_str(ln, " end=");
	line_str(ln, r->end);
	line_str(ln, " id=");
	line_uint(ln, (uint64_t)(r->worker < 0 ? 0 : r->worker), 1, '0');
	line_putc(ln, '.');
	line_uint(ln, r->id, 1, '0');
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
		u = r->target != NULL ? target_str(url, sizeof(url),
		    r->target, r->port) : "-";
	} else
		u = r->url != NULL && r->url[0] ? r->url : "-";
	if (r->connected != NULL && r->connected->sa.sa_family != AF_UNSPEC)
		netaddr_ip_str(r->connected, peer, sizeof(peer));
	else
		snprintf(peer, sizeof(peer), "-");
	line_uint(ln, sec < 0 ? 0 : (uint64_t)sec, 1, '0');
	line_putc(ln, '.');
	line_uint(ln, (uint64_t)(usec / 1000) % 1000, 3, '0');
	line_putc(ln, ' ');
	line_uint(ln, r->dur_ms < 0 ? 0 : (uint64_t)r->dur_ms, 6, ' ');
	line_putc(ln, ' ');
	line_str(ln, netaddr_ip_str(r->client, ip, sizeof(ip)));
	line_putc(ln, ' ');
	line_str(ln, action);
	line_putc(ln, '/');
	line_uint(ln, code < 0 ? 0 : (uint64_t)code, 3, '0');
	line_putc(ln, ' ');
	line_uint(ln, r->down, 1, '0');
	line_putc(ln, ' ');
	line_value(ln, method, SHORT_MAX);
	line_putc(ln, ' ');
	line_value(ln, u, URL_MAX);
	line_putc(ln, ' ');
	line_value(ln, r->user != NULL ? r->user : "-", FIELD_MAX);
	line_str(ln, strcmp(peer, "-") ? " HIER_DIRECT/" : " HIER_NONE/");
	line_str(ln, peer);
	line_putc(ln, ' ');
	line_value(ln, r->content_type != NULL ? r->content_type : "-",
	    SHORT_MAX);
}

/* A JSON string (RFC 8259 §7) of at most max bytes, or null for NULL. */
static void
json_str(struct line *ln, const char *v, size_t max)
{
	if (v == NULL)
		line_str(ln, "null");
	else
		line_quoted(ln, v, max, 1);
}

/*
 * One JSON object per line, the same fields as the sluice format.
 */
static void
format_json(struct line *ln, const struct acct_record *r, long long sec,
    long usec)
{
	char ts[LOG_TIME_LEN], a[NETADDR_STRLEN], tgt[300];

	log_format_time(ts, sizeof(ts), sec, usec);
	line_str(ln, "{\"time\":\"");
	line_str(ln, ts);
	line_str(ln, "\",\"proto\":");
	json_str(ln, r->proto, SHORT_MAX);
	line_str(ln, ",\"client\":");
	json_str(ln, netaddr_str(r->client, a, sizeof(a)), SHORT_MAX);
	line_str(ln, ",\"user\":");
	json_str(ln, r->user, FIELD_MAX);
	if (r->method != NULL) {
		line_str(ln, ",\"method\":");
		json_str(ln, r->method[0] ? r->method : NULL, SHORT_MAX);
		line_str(ln, ",\"url\":");
		json_str(ln, r->url, URL_MAX);
	}
	line_str(ln, ",\"target\":");
	json_str(ln, r->target != NULL ? target_str(tgt, sizeof(tgt),
	    r->target, r->port) : NULL, FIELD_MAX);
	line_str(ln, ",\"connected\":");
	json_str(ln, r->connected != NULL &&
	    r->connected->sa.sa_family != AF_UNSPEC ?
	    netaddr_str(r->connected, a, sizeof(a)) : NULL, SHORT_MAX);
	line_str(ln, ",\"status\":");
	json_str(ln, r->status, SHORT_MAX);
	line_str(ln, ",\"up\":");
	line_uint(ln, r->up, 1, '0');
	line_str(ln, ",\"down\":");
	line_uint(ln, r->down, 1, '0');
	line_str(ln, ",\"duration\":");
	line_secs(ln, r->dur_ms);
	line_str(ln, ",\"end\":");
	json_str(ln, r->end, SHORT_MAX);
	line_str(ln, ",\"id\":\"");
	line_uint(ln, (uint64_t)(r->worker < 0 ? 0 : r->worker), 1, '0');
	line_putc(ln, '.');
	line_uint(ln, r->id, 1, '0');
	line_str(ln, "\"}");
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
	else if (l->format == CONF_LOG_JSON)
		format_json(&ln, r, sec, usec);
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

/* ----- histograms --------------------------------------------------------- */

const double acct_hist_le[ACCT_HIST_BUCKETS] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10,
};

static void
hist_sum(struct acct_hist *to, const struct acct_hist *h)
{
	int i;

	for (i = 0; i < ACCT_HIST_BUCKETS; i++)
		to->le[i] += h->le[i];
	to->count += h->count;
	to->sum += h->sum;
}

/*
 * The most frequent first: a finished session or request ("done") costs
 * one comparison.
 */
const char *const acct_end_names[ACCT_END_N] = {
	"done", "client_closed", "client_reset", "client_timeout",
	"client_error", "target_closed", "target_reset", "target_timeout",
	"target_error", "idle_timeout", "handshake_timeout",
	"keepalive_timeout", "auth_failed", "auth_required", "no_method",
	"dns_failed", "dns_timeout", "connect_failed", "connect_timeout",
	"bad_version", "bad_auth_version", "bad_command", "bad_atyp",
	"bad_host", "bad_request", "bad_response", "request_too_large",
	"bad_protocol", "denied", "denied_protected", "limit_max_connections",
	"limit_descriptors", "limit_per_client", "limit_rate",
	"limit_per_user", "quota_daily", "quota_monthly", "quota_exceeded",
	"admin_closed", "shutdown", "out_of_memory", "other",
};

/*
 * The index of end in acct_end_names: ACCT_END_N - 1 ("other") for a
 * value not in the list, -1 for "interim", which is not an end.
 */
int
acct_end_index(const char *end)
{
	int i;

	for (i = 0; i < ACCT_END_N - 1; i++)
		if (strcmp(end, acct_end_names[i]) == 0)
			return i;
	return strcmp(end, "interim") == 0 ? -1 : ACCT_END_N - 1;
}

/* Count one access-log record by its end= value. */
void
acct_count_end(struct acct_counters *c, const char *end)
{
	int i = acct_end_index(end);

	if (i >= 0)
		c->ends[i]++;
}

/* to += c, field by field (the workers' counters, summed). */
_Static_assert(sizeof(struct acct_counters) ==
    (22 + ACCT_END_N) * sizeof(uint64_t) + 2 * sizeof(struct acct_hist),
    "acct_counters_add() must add every counter");

void
acct_counters_add(struct acct_counters *to, const struct acct_counters *c)
{
	int i;

#define ADD(f)	(to->f += c->f)
	ADD(sessions_total);
	ADD(sessions_active);
	ADD(bytes_up);
	ADD(bytes_down);
	ADD(refused_max);
	ADD(refused_fd);
	ADD(refused_client);
	ADD(refused_user);
	ADD(refused_rate);
	ADD(refused_quota);
	ADD(denied);
	ADD(fail_refused);
	ADD(fail_unreach);
	ADD(fail_timeout);
	ADD(fail_other);
	ADD(dns_nx);
	ADD(dns_timeout);
	ADD(dns_other);
	ADD(auth_failed);
	ADD(dns_failed);
	ADD(connect_failed);
	ADD(relay_errors);
#undef ADD
	for (i = 0; i < ACCT_END_N; i++)
		to->ends[i] += c->ends[i];
	hist_sum(&to->dns_time, &c->dns_time);
	hist_sum(&to->connect_time, &c->connect_time);
}

/*
 * Count one duration (seconds).
 */
void
acct_hist_add(struct acct_hist *h, double v)
{
	int i;

	for (i = 0; i < ACCT_HIST_BUCKETS; i++)
		if (v <= acct_hist_le[i])
			h->le[i]++;
	h->count++;
	h->sum += v;
}

/* ----- per client address: sessions, rate, counters ------------------- */

#define CLIENT_IDLE_MS	(10 * 60 * 1000)	/* idle entries kept this long */
#define CLIENT_SWEEP	4096			/* entries before a sweep */

/*
 * The client table: one entry per address with sessions now or lately.
 */
int
acct_clients_init(struct iptable *t)
{
	return iptable_init(t, 1024, sizeof(struct acct_client));
}

static int
client_idle(void *entry, void *now)
{
	struct acct_client *c = entry;

	return c->active == 0 && c->last + CLIENT_IDLE_MS <= *(int64_t *)now;
}

/*
 * Forget clients idle for a while (their counters stop being reported).
 */
void
acct_clients_sweep(struct iptable *t, int64_t now)
{
	iptable_sweep(t, client_idle, &now);
}

/*
 * A new session from the client's address, unless it already has limit
 * (> 0) sessions (errno EBUSY) or opened more than rate (> 0) per second
 * lately (EAGAIN).  Returns the entry (counted), or NULL (nothing
 * counted; ENOMEM too).
 */
struct acct_client *
acct_client_acquire(struct iptable *t, const union sockaddr_u *a, int limit,
    int rate, int64_t now)
{
	struct acct_client *c;

	if (t->count >= CLIENT_SWEEP && t->count % CLIENT_SWEEP == 0)
		iptable_sweep(t, client_idle, &now);
	if ((c = iptable_get(t, a, 1)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	if (c->rate.rate != rate)
		tbucket_init(&c->rate, rate, rate, now);
	c->last = now;
	if (limit > 0 && c->active >= limit) {
		errno = EBUSY;
		return NULL;
	}
	if (rate > 0 && tbucket_take(&c->rate, 1, now) == 0) {
		errno = EAGAIN;
		return NULL;
	}
	c->active++;
	c->sessions++;
	return c;
}

/*
 * A session of the client ended, having moved up/down bytes.
 */
void
acct_client_release(struct iptable *t, const union sockaddr_u *a,
    uint64_t up, uint64_t down, int64_t now)
{
	struct acct_client *c = iptable_get(t, a, 0);

	if (c == NULL)
		return;
	if (c->active > 0)
		c->active--;
	c->bytes_up += up;
	c->bytes_down += down;
	c->last = now;
}

/* ----- clients remembered after an HTTP login ------------------------- */

struct acct_remembered {
	struct iptable_entry e;
	struct auth_user *user;		/* of the policy of generation gen */
	uint64_t	gen;
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
 * Remember that the address logged in as user (of the policy of
 * generation gen) at now, until expires (ms).
 */
void
acct_remember_add(struct iptable *t, const union sockaddr_u *a,
    struct auth_user *user, uint64_t gen, int64_t now, int64_t expires)
{
	struct acct_remembered *r;

	if (t->count >= REMEMBER_SWEEP && t->count % REMEMBER_SWEEP == 0)
		iptable_sweep(t, remember_expired, &now);
	if ((r = iptable_get(t, a, 1)) == NULL)
		return;
	r->user = user;
	r->gen = gen;
	r->expires = expires;
}

/*
 * The user the address logged in as, if that is still remembered at now
 * and was a user of the policy of generation gen (the asker's: a user of
 * another policy may be gone).
 */
struct auth_user *
acct_remember_find(struct iptable *t, const union sockaddr_u *a,
    uint64_t gen, int64_t now)
{
	struct acct_remembered *r = iptable_get(t, a, 0);

	if (r == NULL)
		return NULL;
	if (r->expires <= now) {
		iptable_remove(t, r);
		return NULL;
	}
	return r->gen == gen ? r->user : NULL;
}
