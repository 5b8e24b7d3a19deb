/*
 * The admin listener: see admin.h.  Requests are parsed with the same
 * codec as proxied ones (small limits); answers are built in an evbuffer
 * and the connection closes once they are written.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/listener.h>

#include "admin.h"
#include "clock.h"
#include "http.h"
#include "log.h"
#include "origin.h"
#include "pac.h"
#include "pkgcheck.h"
#include "policy.h"
#include "resolver.h"
#include "server.h"
#include "session.h"
#include "worker.h"
#include "../auth/auth.h"

#define ADMIN_HEAD_MAX	(16 * 1024)
#define ADMIN_TIMEOUT	10		/* seconds for a request to arrive */

struct admin {
	struct worker	*w;		/* worker 0 */
	struct evconnlistener *lev;
	struct admin_conn *conns;	/* open admin connections */
};

struct admin_conn {
	struct admin_conn *next, **pprev;
	struct admin	*a;
	struct bufferevent *bev;
	struct http_parser parser;
	int		done;		/* answered: close once written */
	int		head;		/* a HEAD request: no body */
	struct ask	*ask;		/* asked of the workers, or NULL */
};

/* What one worker contributes to an answer, made on its own thread. */
struct snap {
	struct acct_counters ctr;
	struct resolver_stats rs;
	size_t		pool_idle;
	uint64_t	pool_reused;
	uint64_t	spliced, copied;	/* relay pool: bytes moved */
	uint64_t	live_up, live_down;	/* bytes of live sessions */
	struct listener_stats *lstats;		/* copies */
	int		nlstats;
	struct evbuffer	*sessions;		/* JSON objects */
	int		nsessions;
	int		closed;
};

enum ask_what {
	ASK_METRICS,
	ASK_SESSIONS,
	ASK_CLOSE_SESSION,
	ASK_CLOSE_USER,
};

/*
 * A request spread over the workers: each fills its snap on its own loop
 * and hands the ask back to worker 0, which answers once all have.
 */
struct ask {
	struct admin_conn *c;		/* NULL once the connection is gone */
	struct worker	*home;		/* worker 0 */
	enum ask_what	what;
	char		arg[300];	/* the user name, the session ID */
	int		pending;	/* on the home thread only */
	int		n;
	struct snap	snaps[];	/* [worker id] */
};

static void	ask_free(struct ask *);
static int	lstats_add(struct listener_stats **, int,
		    const struct listener_stats *);

static void
conn_free(struct admin_conn *c)
{
	if (c->ask != NULL)
		c->ask->c = NULL;	/* answered to no one */
	*c->pprev = c->next;
	if (c->next != NULL)
		c->next->pprev = c->pprev;
	bufferevent_free(c->bev);
	free(c);
}

static void
reply(struct admin_conn *c, int status, const char *ctype, const char *extra,
    struct evbuffer *body)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	evbuffer_add_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
	    "Content-Length: %zu\r\nCache-Control: no-store\r\n"
	    "Connection: close\r\n%s\r\n", status, http_reason(status), ctype,
	    body != NULL ? evbuffer_get_length(body) : 0,
	    extra != NULL ? extra : "");
	if (body != NULL && !c->head)
		evbuffer_add_buffer(out, body);
	c->done = 1;
	bufferevent_disable(c->bev, EV_READ);
}

static void
reply_text(struct admin_conn *c, int status, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b != NULL)
		evbuffer_add_printf(b, "%s\n", text);
	reply(c, status, "text/plain; charset=utf-8", status == 401 ?
	    "WWW-Authenticate: Bearer realm=\"sluice admin\"\r\n" : NULL, b);
	if (b != NULL)
		evbuffer_free(b);
}

/* ----- Prometheus text exposition --------------------------------------- */

static void
label(struct evbuffer *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			evbuffer_add_printf(b, "\\%c", *v);
		else if (*v == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, v, 1);
	}
}

static void
metric(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

static void
hist(struct evbuffer *b, const char *name, const char *help,
    const struct acct_hist *h)
{
	int i;

	metric(b, name, "histogram", help);
	for (i = 0; i < ACCT_HIST_BUCKETS; i++)
		evbuffer_add_printf(b, "%s_bucket{le=\"%g\"} %" PRIu64 "\n",
		    name, acct_hist_le[i], h->le[i]);
	evbuffer_add_printf(b, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n"
	    "%s_sum %.6f\n%s_count %" PRIu64 "\n", name, h->count, name,
	    h->sum, name, h->count);
}

/* A per-user metric family: one or two samples a user. */
struct user_family {
	const char	*name, *type, *help;
	const char	*label[2];	/* the second sample's, or NULL */
	size_t		off[2];		/* uint64_t fields of user_state,
					   or the int one (active) */
};

#define US(f)	offsetof(struct user_state, f)

static const struct user_family user_metrics[] = {
	{ "sluice_user_sessions_active", "gauge",
	  "Sessions open now, per user.", { NULL, NULL },
	  { US(active), 0 } },
	{ "sluice_user_sessions_total", "counter",
	  "Sessions started, per user.", { NULL, NULL },
	  { US(sessions), 0 } },
	{ "sluice_user_bytes_total", "counter",
	  "Bytes moved, per user (counted as they move).",
	  { "direction=\"up\"", "direction=\"down\"" },
	  { US(bytes_up), US(bytes_down) } },
	{ "sluice_user_quota_used_bytes", "gauge",
	  "Bytes counted against the user's quotas in the current period.",
	  { "period=\"day\"", "period=\"month\"" },
	  { US(used_day), US(used_month) } },
	{ "sluice_user_connect_failures_total", "counter",
	  "Outbound connects of the user that failed.", { NULL, NULL },
	  { US(connect_failed), 0 } },
	{ "sluice_user_denied_total", "counter",
	  "Sessions or requests of the user refused by rules or limits.",
	  { NULL, NULL }, { US(denied), 0 } },
};

static void
user_metric(struct evbuffer *b, const struct user_states *us,
    const struct user_family *f)
{
	struct user_state *u;
	uint64_t v;
	size_t i;
	int k;

	metric(b, f->name, f->type, f->help);
	for (i = 0; i < us->nbuckets; i++)
		for (u = us->buckets[i]; u != NULL; u = u->next)
			for (k = 0; k < 2 && (k == 0 || f->label[1]); k++) {
				evbuffer_add_printf(b, "%s{user=\"", f->name);
				label(b, u->name);
				pthread_mutex_lock(&u->mu);
				v = f->off[k] == US(active) ?
				    (uint64_t)u->active : *(const uint64_t *)
				    (const void *)((const char *)u + f->off[k]);
				pthread_mutex_unlock(&u->mu);
				evbuffer_add_printf(b, "\"%s%s} %" PRIu64 "\n",
				    f->label[k] ? "," : "", f->label[k] ?
				    f->label[k] : "", v);
			}
}

struct client_walk {
	struct evbuffer	*b;
	int		pass;		/* which metric this walk prints */
};

static int
client_metric(void *entry, void *arg)
{
	struct acct_client *c = entry;
	struct client_walk *cw = arg;
	char ip[NETADDR_STRLEN];

	netaddr_ip_str(&c->e.addr, ip, sizeof(ip));
	switch (cw->pass) {
	case 0:
		evbuffer_add_printf(cw->b, "sluice_client_sessions_active"
		    "{client=\"%s\"} %d\n", ip, c->active);
		break;
	case 1:
		evbuffer_add_printf(cw->b, "sluice_client_sessions_total"
		    "{client=\"%s\"} %" PRIu64 "\n", ip, c->sessions);
		break;
	case 2:
		evbuffer_add_printf(cw->b, "sluice_client_bytes_total"
		    "{client=\"%s\",direction=\"up\"} %" PRIu64 "\n"
		    "sluice_client_bytes_total{client=\"%s\",direction=\"down\"}"
		    " %" PRIu64 "\n", ip, c->bytes_up, ip, c->bytes_down);
		break;
	}
	return 0;
}

/*
 * Every counter, in the Prometheus text format (version 0.0.4): the
 * workers' summed, the shared tables' as they are.  Byte totals include
 * what live sessions have moved so far.
 */
static void
render_metrics(struct server *srv, const struct snap *sn, int n,
    struct evbuffer *b)
{
	struct acct_counters k;
	struct resolver_stats rs;
	struct listener_stats *ls = NULL;
	struct client_walk cw = { b, 0 };
	uint64_t up, down, reused = 0, spliced = 0, copied = 0;
	size_t i, idle = 0;
	char a[NETADDR_STRLEN];
	int j, m, nls = 0;

	memset(&k, 0, sizeof(k));
	memset(&rs, 0, sizeof(rs));
	up = down = 0;
	for (j = 0; j < n; j++) {
		acct_counters_add(&k, &sn[j].ctr);
		rs.lookups += sn[j].rs.lookups;
		rs.hits += sn[j].rs.hits;
		up += sn[j].live_up;
		down += sn[j].live_down;
		idle += sn[j].pool_idle;
		reused += sn[j].pool_reused;
		spliced += sn[j].spliced;
		copied += sn[j].copied;
	}
	up += k.bytes_up;
	down += k.bytes_down;
	/* listeners: summed by protocol and address, in first-seen order */
	for (j = 0; j < n; j++)
		for (m = 0; m < sn[j].nlstats; m++)
			nls = lstats_add(&ls, nls, &sn[j].lstats[m]);
	metric(b, "sluice_build_info", "gauge",
	    "Version of sluice, and how it is linked.");
	evbuffer_add_printf(b, "sluice_build_info{version=\"%s\",linked=\"%s\"}"
	    " 1\n", SLUICE_VERSION, pkg_linked != NULL ? "static" : "dynamic");
	metric(b, "sluice_linked_libraries_outdated", "gauge",
	    "Libraries inside the static build of which dpkg has another "
	    "version installed, as of the start or the last reload: rebuild "
	    "and restart to take the update in.");
	evbuffer_add_printf(b, "sluice_linked_libraries_outdated %d\n",
	    pkgcheck_outdated());
	metric(b, "sluice_uptime_seconds", "gauge", "Seconds since start.");
	evbuffer_add_printf(b, "sluice_uptime_seconds %.3f\n",
	    (double)(clock_ms() - srv->started) / 1000);
	metric(b, "sluice_workers", "gauge", "Event-loop threads.");
	evbuffer_add_printf(b, "sluice_workers %d\n", n);
	metric(b, "sluice_config_generation", "gauge",
	    "1 for the configuration read at start, +1 per reload.");
	evbuffer_add_printf(b, "sluice_config_generation %" PRIu64 "\n",
	    srv->pol->generation);
	metric(b, "sluice_sessions_active", "gauge", "Sessions open now.");
	evbuffer_add_printf(b, "sluice_sessions_active %" PRIu64 "\n",
	    k.sessions_active);
	metric(b, "sluice_sessions_total", "counter", "Sessions accepted.");
	evbuffer_add_printf(b, "sluice_sessions_total %" PRIu64 "\n",
	    k.sessions_total);
	metric(b, "sluice_ended_total", "counter",
	    "SOCKS sessions, HTTP requests and CONNECT tunnels that ended, and "
	    "clients refused at accept, by the access log's end= value.");
	for (j = 0; j < ACCT_END_N; j++)
		evbuffer_add_printf(b, "sluice_ended_total{end=\"%s\"} %" PRIu64
		    "\n", acct_end_names[j], k.ends[j]);
	metric(b, "sluice_bytes_total", "counter",
	    "Bytes relayed (up: client to target).");
	evbuffer_add_printf(b, "sluice_bytes_total{direction=\"up\"} %" PRIu64
	    "\nsluice_bytes_total{direction=\"down\"} %" PRIu64 "\n", up, down);
	metric(b, "sluice_refused_total", "counter",
	    "Clients refused by a limit.");
	evbuffer_add_printf(b,
	    "sluice_refused_total{limit=\"max_connections\"} %" PRIu64 "\n"
	    "sluice_refused_total{limit=\"descriptors\"} %" PRIu64 "\n"
	    "sluice_refused_total{limit=\"per_client\"} %" PRIu64 "\n"
	    "sluice_refused_total{limit=\"per_user\"} %" PRIu64 "\n"
	    "sluice_refused_total{limit=\"rate_per_client\"} %" PRIu64 "\n"
	    "sluice_refused_total{limit=\"quota\"} %" PRIu64 "\n",
	    k.refused_max, k.refused_fd, k.refused_client, k.refused_user,
	    k.refused_rate, k.refused_quota);
	metric(b, "sluice_denied_total", "counter",
	    "Requests refused by the rules.");
	evbuffer_add_printf(b, "sluice_denied_total %" PRIu64 "\n", k.denied);
	metric(b, "sluice_auth_failures_total", "counter",
	    "Failed authentications.");
	evbuffer_add_printf(b, "sluice_auth_failures_total %" PRIu64 "\n",
	    k.auth_failed);
	metric(b, "sluice_connect_failures_total", "counter",
	    "Outbound connects that failed, by reason.");
	evbuffer_add_printf(b,
	    "sluice_connect_failures_total{reason=\"refused\"} %" PRIu64 "\n"
	    "sluice_connect_failures_total{reason=\"unreachable\"} %" PRIu64 "\n"
	    "sluice_connect_failures_total{reason=\"timeout\"} %" PRIu64 "\n"
	    "sluice_connect_failures_total{reason=\"other\"} %" PRIu64 "\n",
	    k.fail_refused, k.fail_unreach, k.fail_timeout, k.fail_other);
	metric(b, "sluice_dns_failures_total", "counter",
	    "Name resolutions that failed, by reason.");
	evbuffer_add_printf(b,
	    "sluice_dns_failures_total{reason=\"nxdomain\"} %" PRIu64 "\n"
	    "sluice_dns_failures_total{reason=\"timeout\"} %" PRIu64 "\n"
	    "sluice_dns_failures_total{reason=\"other\"} %" PRIu64 "\n",
	    k.dns_nx, k.dns_timeout, k.dns_other);
	metric(b, "sluice_dns_lookups_total", "counter", "Lookups asked for.");
	evbuffer_add_printf(b, "sluice_dns_lookups_total %" PRIu64 "\n",
	    rs.lookups);
	metric(b, "sluice_dns_cache_hits_total", "counter",
	    "Lookups answered from the cache.");
	evbuffer_add_printf(b, "sluice_dns_cache_hits_total %" PRIu64 "\n",
	    rs.hits);
	hist(b, "sluice_dns_seconds", "Time to resolve a target (lookups that"
	    " went to the DNS).", &k.dns_time);
	hist(b, "sluice_connect_seconds", "Time to connect a target.",
	    &k.connect_time);
	metric(b, "sluice_origin_pool_idle", "gauge",
	    "Idle HTTP origin connections kept for reuse.");
	evbuffer_add_printf(b, "sluice_origin_pool_idle %zu\n", idle);
	metric(b, "sluice_origin_pool_reused_total", "counter",
	    "HTTP requests sent on a reused origin connection.");
	evbuffer_add_printf(b, "sluice_origin_pool_reused_total %" PRIu64 "\n",
	    reused);
	metric(b, "sluice_relay_bytes_total", "counter",
	    "Bytes moved by tunnels and large HTTP bodies, by how: splice() "
	    "(zero-copy) or read/write (the first bytes of each direction).");
	evbuffer_add_printf(b, "sluice_relay_bytes_total{how=\"splice\"} %"
	    PRIu64 "\n", spliced);
	evbuffer_add_printf(b, "sluice_relay_bytes_total{how=\"copy\"} %"
	    PRIu64 "\n", copied);

	metric(b, "sluice_listener_sessions_active", "gauge",
	    "Sessions open now, per listener.");
	for (j = 0; j < nls; j++)
		evbuffer_add_printf(b, "sluice_listener_sessions_active{"
		    "listener=\"%s %s\"} %" PRIu64 "\n", conf_proto_name(
		    ls[j].proto), netaddr_str(&ls[j].addr, a, sizeof(a)),
		    ls[j].active);
	metric(b, "sluice_listener_sessions_total", "counter",
	    "Sessions accepted, per listener.");
	for (j = 0; j < nls; j++)
		evbuffer_add_printf(b, "sluice_listener_sessions_total{"
		    "listener=\"%s %s\"} %" PRIu64 "\n", conf_proto_name(
		    ls[j].proto), netaddr_str(&ls[j].addr, a, sizeof(a)),
		    ls[j].sessions);
	metric(b, "sluice_listener_bytes_total", "counter",
	    "Bytes of closed sessions, per listener.");
	for (j = 0; j < nls; j++) {
		netaddr_str(&ls[j].addr, a, sizeof(a));
		evbuffer_add_printf(b, "sluice_listener_bytes_total{listener="
		    "\"%s %s\",direction=\"up\"} %" PRIu64 "\n"
		    "sluice_listener_bytes_total{listener=\"%s %s\","
		    "direction=\"down\"} %" PRIu64 "\n",
		    conf_proto_name(ls[j].proto), a, ls[j].bytes_up,
		    conf_proto_name(ls[j].proto), a, ls[j].bytes_down);
	}
	free(ls);

	for (i = 0; i < sizeof(user_metrics) / sizeof(user_metrics[0]); i++)
		user_metric(b, &srv->users, &user_metrics[i]);

	pthread_mutex_lock(&srv->mu);
	metric(b, "sluice_client_sessions_active", "gauge",
	    "Sessions open now, per client address (addresses seen in the "
	    "last 10 minutes).");
	iptable_sweep(&srv->clients, client_metric, &cw);
	metric(b, "sluice_client_sessions_total", "counter",
	    "Sessions started, per client address.");
	cw.pass = 1;
	iptable_sweep(&srv->clients, client_metric, &cw);
	metric(b, "sluice_client_bytes_total", "counter",
	    "Bytes of closed sessions, per client address.");
	cw.pass = 2;
	iptable_sweep(&srv->clients, client_metric, &cw);
	pthread_mutex_unlock(&srv->mu);
}

/*
 * Add one worker's counters of a listener to the list (matched by
 * protocol and address).  Returns the new length.
 */
static int
lstats_add(struct listener_stats **ls, int n, const struct listener_stats *x)
{
	struct listener_stats *grown;
	int i;

	for (i = 0; i < n; i++)
		if ((*ls)[i].proto == x->proto &&
		    netaddr_ip_equal(&(*ls)[i].addr, &x->addr) &&
		    netaddr_port(&(*ls)[i].addr) == netaddr_port(&x->addr)) {
			(*ls)[i].active += x->active;
			(*ls)[i].sessions += x->sessions;
			(*ls)[i].bytes_up += x->bytes_up;
			(*ls)[i].bytes_down += x->bytes_down;
			return n;
		}
	if ((grown = reallocarray(*ls, (size_t)n + 1, sizeof(**ls))) == NULL)
		return n;
	*ls = grown;
	grown[n] = *x;
	return n + 1;
}

/* ----- /sessions ----------------------------------------------------------- */

static void
json_str(struct evbuffer *b, const char *v)
{
	const unsigned char *p;

	if (v == NULL) {
		evbuffer_add(b, "null", 4);
		return;
	}
	evbuffer_add(b, "\"", 1);
	for (p = (const unsigned char *)v; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			evbuffer_add_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			evbuffer_add_printf(b, "\\u%04x", *p);
		else
			evbuffer_add(b, p, 1);
	}
	evbuffer_add(b, "\"", 1);
}

/*
 * The worker's live sessions as JSON objects, appended to b (comma-led
 * after the first of all: *count says how many came before).
 */
static void
sessions_json(struct worker *w, struct evbuffer *b, int *count)
{
	struct session *s;
	char a[NETADDR_STRLEN], t[300], id[48];
	int64_t now = clock_ms();

	for (s = w->sessions; s != NULL; s = s->next) {
		evbuffer_add_printf(b, "%s\n{\"id\":", (*count)++ ? "," : "");
		snprintf(id, sizeof(id), "%d.%" PRIu64, w->id, s->id);
		json_str(b, id);
		evbuffer_add_printf(b, ",\"proto\":");
		json_str(b, s->kind == SESSION_K_SOCKS5 ? "socks5" :
		    s->kind == SESSION_K_SOCKS4 ? "socks4" :
		    s->kind == SESSION_K_HTTP ? "http" : "-");
		evbuffer_add_printf(b, ",\"state\":");
		json_str(b, session_state_name(s->state));
		evbuffer_add_printf(b, ",\"user\":");
		json_str(b, s->user != NULL ? s->user->name : NULL);
		evbuffer_add_printf(b, ",\"client\":");
		json_str(b, netaddr_str(&s->client, a, sizeof(a)));
		if (s->host != NULL)
			snprintf(t, sizeof(t), strchr(s->host, ':') ?
			    "[%s]:%u" : "%s:%u", s->host, s->port);
		evbuffer_add_printf(b, ",\"target\":");
		json_str(b, s->host != NULL ? t : NULL);
		evbuffer_add_printf(b, ",\"connected\":");
		json_str(b, s->connected.sa.sa_family != AF_UNSPEC ?
		    netaddr_str(&s->connected, a, sizeof(a)) : NULL);
		evbuffer_add_printf(b, ",\"age\":%.3f,\"up\":%" PRIu64
		    ",\"down\":%" PRIu64 "}", (double)(now - s->t_start) / 1000,
		    s->relay.dir[RELAY_UP].bytes + s->http_up,
		    s->relay.dir[RELAY_DOWN].bytes + s->http_down);
	}
}

/* POST /sessions/W.N/close, on worker W: 1 when session N was there. */
static int
close_session(struct worker *w, uint64_t n)
{
	struct session *s;

	for (s = w->sessions; s != NULL; s = s->next)
		if (s->id == n) {
			log_info("[w%d s%llu] closed by the admin", w->id,
			    (unsigned long long)n);
			session_close(s, "admin_closed");
			return 1;
		}
	return 0;
}

/* POST /users/NAME/close, on each worker: how many were closed. */
static int
close_user(struct worker *w, const char *name)
{
	struct session *s, *next;
	int n = 0;

	for (s = w->sessions; s != NULL; s = next) {
		next = s->next;
		if (s->user != NULL && strcmp(s->user->name, name) == 0) {
			session_close(s, "admin_closed");
			n++;
		}
	}
	return n;
}

/* ----- asking the workers ---------------------------------------------------- */

/* The worker's counters, copied on its own thread. */
static void
snap_counters(struct worker *w, struct snap *sn)
{
	struct session *s;
	uint64_t hu, hd;
	int i;

	sn->ctr = w->ctr;
	sn->rs = *resolver_stats(w->resolver);
	sn->pool_idle = w->origins.idle;
	sn->pool_reused = w->origins.reused;
	sn->spliced = w->relay_pool.spliced;
	sn->copied = w->relay_pool.copied;
	for (s = w->sessions; s != NULL; s = s->next) {
		session_http_live(s, &hu, &hd);
		sn->live_up += s->relay.dir[RELAY_UP].bytes + hu;
		sn->live_down += s->relay.dir[RELAY_DOWN].bytes + hd;
	}
	if (w->nlstats > 0 &&
	    (sn->lstats = calloc((size_t)w->nlstats, sizeof(*sn->lstats)))) {
		for (i = 0; i < w->nlstats; i++)
			sn->lstats[i] = *w->lstats[i];
		sn->nlstats = w->nlstats;
	}
}

static void	ask_back(struct worker *, void *);

/* On worker w: its part of the answer, then back to worker 0. */
static void
ask_run(struct worker *w, void *arg)
{
	struct ask *q = arg;
	struct snap *sn = &q->snaps[w->id];
	unsigned long long n;
	int wid;
	char end;

	switch (q->what) {
	case ASK_METRICS:
		snap_counters(w, sn);
		break;
	case ASK_SESSIONS:
		if ((sn->sessions = evbuffer_new()) != NULL)
			sessions_json(w, sn->sessions, &sn->nsessions);
		break;
	case ASK_CLOSE_SESSION:
		if (sscanf(q->arg, "%d.%llu%c", &wid, &n, &end) == 2 &&
		    wid == w->id)
			sn->closed = close_session(w, n);
		break;
	case ASK_CLOSE_USER:
		sn->closed = close_user(w, q->arg);
		break;
	}
	if (w == q->home)
		ask_back(w, q);
	else if (worker_post(q->home, ask_back, q) == -1)
		log_err("admin: worker %d cannot answer (out of memory)",
		    w->id);
}

/* The answer, once every worker asked has given its part. */
static void
ask_answer(struct ask *q)
{
	struct admin_conn *c = q->c;
	struct evbuffer *b;
	int i, closed = 0, count = 0;

	if (c == NULL)
		return;
	c->ask = NULL;
	if ((b = evbuffer_new()) == NULL) {
		reply_text(c, 503, "out of memory");
		return;
	}
	for (i = 0; i < q->n; i++)
		closed += q->snaps[i].closed;
	switch (q->what) {
	case ASK_METRICS:
		render_metrics(q->home->srv, q->snaps, q->n, b);
		reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", NULL,
		    b);
		break;
	case ASK_SESSIONS:
		evbuffer_add(b, "[", 1);
		for (i = 0; i < q->n; i++)
			if (q->snaps[i].sessions != NULL) {
				if (count > 0 && q->snaps[i].nsessions > 0)
					evbuffer_add(b, ",", 1);
				count += q->snaps[i].nsessions;
				evbuffer_add_buffer(b, q->snaps[i].sessions);
			}
		evbuffer_add(b, "\n]\n", 3);
		reply(c, 200, "application/json", NULL, b);
		break;
	case ASK_CLOSE_SESSION:
		if (closed == 0)
			reply_text(c, 404, "no such session");
		else {
			evbuffer_add_printf(b, "{\"closed\":1}\n");
			reply(c, 200, "application/json", NULL, b);
		}
		break;
	case ASK_CLOSE_USER:
		if (closed > 0)
			log_info("the admin closed %d sessions of user \"%s\"",
			    closed, q->arg);
		evbuffer_add_printf(b, "{\"closed\":%d}\n", closed);
		reply(c, 200, "application/json", NULL, b);
		break;
	}
	evbuffer_free(b);
}

/* On worker 0: one more worker has answered. */
static void
ask_back(struct worker *home, void *arg)
{
	struct ask *q = arg;

	(void)home;
	if (--q->pending > 0)
		return;
	ask_answer(q);
	ask_free(q);
}

static void
ask_free(struct ask *q)
{
	int i;

	for (i = 0; i < q->n; i++) {
		free(q->snaps[i].lstats);
		if (q->snaps[i].sessions != NULL)
			evbuffer_free(q->snaps[i].sessions);
	}
	free(q);
}

/*
 * Ask the workers (all, or only worker `only` when >= 0) for what, on
 * behalf of c; the answer goes out when the last has replied.
 */
static void
ask_workers(struct admin_conn *c, enum ask_what what, const char *arg,
    int only)
{
	struct server *srv = c->a->w->srv;
	struct ask *q;
	int i, n = srv->nworkers;

	if ((q = calloc(1, sizeof(*q) + (size_t)n * sizeof(q->snaps[0]))) ==
	    NULL) {
		reply_text(c, 503, "out of memory");
		return;
	}
	q->c = c;
	q->home = c->a->w;
	q->what = what;
	q->n = n;
	snprintf(q->arg, sizeof(q->arg), "%s", arg != NULL ? arg : "");
	q->pending = only >= 0 ? 1 : n;
	c->ask = q;
	c->done = 1;		/* no more reading; the answer will come */
	bufferevent_disable(c->bev, EV_READ);
	/* the others first: worker 0's part may answer synchronously */
	for (i = n - 1; i >= 0; i--) {
		if (only >= 0 && i != only)
			continue;
		if (i == 0)
			ask_run(srv->workers[0], q);
		else if (worker_post(srv->workers[i], ask_run, q) == -1)
			ask_back(q->home, q);	/* that part stays empty */
	}
}

/* GET /proxy.pac: the PAC file naming the proxy's HTTP listener. */
static void
serve_pac(struct admin_conn *c)
{
	const struct conf *conf = c->a->w->conf;
	union sockaddr_u local, lis, at;
	socklen_t sl = sizeof(local);
	enum conf_proto proto;
	char rt[PAC_ROUTE_MAX], *text = NULL;
	struct evbuffer *b;
	size_t len;

	memset(&local, 0, sizeof(local));
	if (pac_pick(conf, &proto, &lis) == 0 &&
	    getsockname(bufferevent_getfd(c->bev), &local.sa, &sl) == 0) {
		pac_reached(&lis, &local, &at);
		if (pac_route(rt, sizeof(rt), proto, &at) == 0)
			text = pac_script(&conf->pac_bypass, rt, &len);
	}
	if (text == NULL || (b = evbuffer_new()) == NULL) {
		free(text);
		reply_text(c, 503, "cannot make the PAC file");
		return;
	}
	evbuffer_add(b, text, len);
	free(text);
	reply(c, 200, PAC_CONTENT_TYPE, NULL, b);
	evbuffer_free(b);
}

/* A path segment, %-decoded (user names may need it). */
static int
segment(const char *p, size_t len, char *out, size_t cap)
{
	size_t i, o = 0;
	unsigned v;

	for (i = 0; i < len; i++) {
		if (o + 1 >= cap)
			return -1;
		if (p[i] == '%' && i + 2 < len && isxdigit((unsigned char)p[i + 1])
		    && isxdigit((unsigned char)p[i + 2]) &&
		    sscanf(p + i + 1, "%2x", &v) == 1) {
			out[o++] = (char)v;
			i += 2;
		} else
			out[o++] = p[i];
	}
	out[o] = '\0';
	return 0;
}

static void
route(struct admin_conn *c, const char *p, const struct http_head *hd)
{
	struct worker *w = c->a->w;
	const char *tok = w->conf->admin_token, *path = p + hd->target.off;
	size_t plen = hd->target.len, n;
	const struct http_field *f;
	char arg[300], end;
	const char *q;
	int is_get, is_post, i, wid, found = 0;

	if ((q = memchr(path, '?', plen)) != NULL)
		plen = (size_t)(q - path);
	is_get = http_span_eq(p, hd->method, "GET") ||
	    http_span_eq(p, hd->method, "HEAD");
	is_post = http_span_eq(p, hd->method, "POST");
	c->head = http_span_eq(p, hd->method, "HEAD");
	if (plen == 8 && memcmp(path, "/healthz", 8) == 0) {
		reply_text(c, is_get ? 200 : 405, is_get ? "ok" :
		    "method not allowed");
		return;
	}
	/* no token: a browser fetches it unprompted */
	if (pac_is_request(path, plen)) {
		if (is_get)
			serve_pac(c);
		else
			reply_text(c, 405, "method not allowed");
		return;
	}
	if (tok != NULL) {
		for (i = 0; i < (int)hd->nfields; i++) {
			f = &hd->fields[i];
			n = strlen(tok);
			if (http_field_is(p, f, "authorization") &&
			    f->value.len == 7 + n &&
			    strncasecmp(p + f->value.off, "Bearer ", 7) == 0 &&
			    auth_ct_equal(p + f->value.off + 7, tok, n))
				found = 1;
		}
		if (!found) {
			reply_text(c, 401, "a bearer token is required");
			return;
		}
	}
	if (plen == 8 && memcmp(path, "/metrics", 8) == 0) {
		if (!is_get)
			goto not_allowed;
		ask_workers(c, ASK_METRICS, NULL, -1);
	} else if (plen == 9 && memcmp(path, "/sessions", 9) == 0) {
		if (!is_get)
			goto not_allowed;
		ask_workers(c, ASK_SESSIONS, NULL, -1);
	} else if (plen > 16 && memcmp(path, "/sessions/", 10) == 0 &&
	    memcmp(path + plen - 6, "/close", 6) == 0) {
		if (!is_post)
			goto not_allowed;
		if (segment(path + 10, plen - 16, arg, sizeof(arg)) == -1 ||
		    sscanf(arg, "%d.%*u%c", &wid, &end) != 1 || wid < 0 ||
		    wid >= w->srv->nworkers) {
			reply_text(c, 404, "no such session");
			return;
		}
		ask_workers(c, ASK_CLOSE_SESSION, arg, wid);
	} else if (plen > 13 && memcmp(path, "/users/", 7) == 0 &&
	    memcmp(path + plen - 6, "/close", 6) == 0) {
		if (!is_post)
			goto not_allowed;
		if (segment(path + 7, plen - 13, arg, sizeof(arg)) == -1) {
			reply_text(c, 400, "bad user name");
			return;
		}
		ask_workers(c, ASK_CLOSE_USER, arg, -1);
	} else
		reply_text(c, 404, "not found: /metrics /sessions "
		    "/sessions/ID/close /users/NAME/close /healthz "
		    "/proxy.pac");
	return;
not_allowed:
	reply_text(c, 405, "method not allowed");
}

static void
read_cb(struct bufferevent *bev, void *arg)
{
	struct admin_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct http_limits lim = { ADMIN_HEAD_MAX, 4096, 64 };
	struct http_head *hd = c->a->w->http_head;
	enum codec_result r;
	size_t len = evbuffer_get_length(in);
	const char *p;
	int status;

	if (c->done)
		return;
	if (len > ADMIN_HEAD_MAX + 8)
		len = ADMIN_HEAD_MAX + 8;
	p = (const char *)evbuffer_pullup(in, (ev_ssize_t)len);
	r = http_parse_request(&c->parser, p, len, &lim, hd, &status);
	if (r == CODEC_AGAIN)
		return;
	if (r == CODEC_ERR) {
		reply_text(c, status, "bad request");
		return;
	}
	if (hd->form != HTTP_TARGET_ORIGIN) {
		reply_text(c, 400, "expected a path");
		return;
	}
	route(c, p, hd);
}

static void
write_cb(struct bufferevent *bev, void *arg)
{
	struct admin_conn *c = arg;

	(void)bev;
	if (c->done)
		conn_free(c);
}

static void
event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	conn_free(arg);
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct admin *a = arg;
	struct admin_conn *c;
	struct timeval tv = { ADMIN_TIMEOUT, 0 };

	(void)lev;
	(void)sa;
	(void)salen;
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->bev = bufferevent_socket_new(a->w->base, fd,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(c);
		close(fd);
		return;
	}
	c->a = a;
	http_parser_init(&c->parser);
	c->next = a->conns;
	if (c->next != NULL)
		c->next->pprev = &c->next;
	c->pprev = &a->conns;
	a->conns = c;
	bufferevent_setcb(c->bev, read_cb, write_cb, event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, ADMIN_HEAD_MAX + 8);
	bufferevent_enable(c->bev, EV_READ);
}

/*
 * Listen for admin requests on addr.  NULL with the reason in err.
 */
struct admin *
admin_open(struct worker *w, const union sockaddr_u *addr, char *err,
    size_t errlen)
{
	struct admin *a;
	char s[NETADDR_STRLEN];

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		snprintf(err, errlen, "admin: out of memory");
		return NULL;
	}
	a->w = w;
	a->lev = evconnlistener_new_bind(w->base, accept_cb, a,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE,
	    64, &addr->sa, (int)netaddr_len(addr));
	if (a->lev == NULL) {
		snprintf(err, errlen, "admin %s: %s", netaddr_str(addr, s,
		    sizeof(s)), strerror(errno));
		free(a);
		return NULL;
	}
	return a;
}

void
admin_close(struct admin *a)
{
	if (a == NULL)
		return;
	evconnlistener_free(a->lev);
	while (a->conns != NULL)
		conn_free(a->conns);
	free(a);
}
