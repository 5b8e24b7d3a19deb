/*
 * Worker: the event loop and what lives on it.  See worker.h.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "admin.h"
#include "clock.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "resolver.h"
#include "session.h"
#include "worker.h"
#include "../auth/auth.h"
#include "../conf/conf.h"

#define FD_RESERVE_MAX	64	/* listeners, DNS, logs, eventfd, spare */
#define FD_RESERVE_MIN	16
#define RESUME_MS	250	/* listeners off after EMFILE, retry after */
#define SAVE_MS		10000	/* quota usage written this often */
#define TICK_MS		1000	/* the housekeeping timer */
/* a timer may fire a little early by clock_ms(): half a tick of slack */
#define DUE(now, last, every)	((now) - (last) + TICK_MS / 2 >= (every))

static void	worker_interim(struct worker *, int64_t);

static void
resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	int i;

	(void)fd;
	(void)what;
	if (w->reserve_fd == -1)
		w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!w->paused || w->draining)
		return;
	w->paused = 0;
	for (i = 0; i < w->nlisteners; i++)
		listener_enable(w->listeners[i], 1);
	log_info("accepting clients again (%llu sessions active)",
	    (unsigned long long)w->ctr.sessions_active);
}

/*
 * Out of descriptors (accept or socket failed with EMFILE/ENFILE).  Shed
 * the backlog: give up the reserved descriptor, accept every queued
 * connection and reset it at once, so those clients fail fast instead of
 * hanging, then take the reserve back.  If the reserve is gone too, turn
 * the listeners off and retry shortly.  Either way no busy loop.
 */
void
worker_out_of_fds(struct worker *w)
{
	struct linger lg = { 1, 0 };
	struct evconnlistener *lev;
	struct timeval tv = { 0, RESUME_MS * 1000 };
	int i, fd, shed = 0;

	if (w->reserve_fd != -1) {
		close(w->reserve_fd);
		w->reserve_fd = -1;
		for (i = 0; i < w->nlisteners; i++) {
			if ((lev = w->listeners[i]->lev) == NULL)
				continue;
			while ((fd = accept4(evconnlistener_get_fd(lev), NULL,
			    NULL, SOCK_CLOEXEC)) != -1) {
				(void)setsockopt(fd, SOL_SOCKET, SO_LINGER,
				    &lg, sizeof(lg));
				close(fd);
				shed++;
			}
		}
		w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	w->ctr.refused_fd += (uint64_t)shed;
	if (!w->paused)
		log_warn("out of file descriptors (limit %d, %llu sessions): "
		    "refusing new clients%s", w->fd_limit,
		    (unsigned long long)w->ctr.sessions_active,
		    shed ? " (queued ones reset)" : "");
	if (w->reserve_fd == -1 || shed == 0) {
		if (!w->paused)
			for (i = 0; i < w->nlisteners; i++)
				listener_enable(w->listeners[i], 0);
		w->paused = 1;
		evtimer_add(&w->resume_timer, &tv);
	}
}

/*
 * Called after every session_close(): resumes accepting when descriptors
 * were short, and ends the loop when draining is complete.
 */
void
worker_session_gone(struct worker *w)
{
	if (w->paused && !w->draining)
		resume_cb(-1, 0, w);
	if (w->draining && w->sessions == NULL)
		event_base_loopexit(w->base, NULL);
}

static void
drain_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	log_info("drain time is over: closing %llu sessions",
	    (unsigned long long)w->ctr.sessions_active);
	session_close_all(w, "shutdown");
	event_base_loopexit(w->base, NULL);
}

static void
close_listeners(struct worker *w)
{
	int i;

	for (i = 0; i < w->nlisteners; i++)
		listener_close(w->listeners[i]);
	w->nlisteners = 0;
	admin_close(w->admin);
	w->admin = NULL;
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tv;

	(void)what;
	if (w->draining) {
		log_info("%s again: closing %llu sessions now",
		    strsignal((int)sig),
		    (unsigned long long)w->ctr.sessions_active);
		session_close_all(w, "shutdown");
		event_base_loopexit(w->base, NULL);
		return;
	}
	w->draining = 1;
	notify_send("STOPPING=1\nSTATUS=draining %llu sessions",
	    (unsigned long long)w->ctr.sessions_active);
	close_listeners(w);
	if (w->sessions == NULL) {
		log_info("%s: stopping", strsignal((int)sig));
		event_base_loopexit(w->base, NULL);
		return;
	}
	log_info("%s: stopped accepting; %llu sessions may finish within "
	    "%d s", strsignal((int)sig),
	    (unsigned long long)w->ctr.sessions_active, w->conf->to_drain);
	tv.tv_sec = w->conf->to_drain;
	tv.tv_usec = 0;
	evtimer_add(&w->drain_timer, &tv);
}

static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;
	struct timespec ts;

	(void)sig;
	(void)what;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000);
	if (worker_reload(w) == 0)
		notify_send("READY=1\nSTATUS=configuration generation %llu",
		    (unsigned long long)w->pol->generation);
	else
		notify_send("READY=1\nSTATUS=reload refused (see the log); "
		    "generation %llu runs", (unsigned long long)
		    w->pol->generation);
}

static void
usr1_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;

	(void)sig;
	(void)what;
	if (acct_log_reopen(&w->alog) == 0)
		log_info("SIGUSR1: access log reopened");
}

static void
save_state(struct worker *w)
{
	char err[256];

	if (w->conf->state_file == NULL || !w->users.dirty)
		return;
	if (user_states_save(&w->users, w->conf->state_file, err,
	    sizeof(err)) == -1)
		log_warn("limits.state_file: %s", err);
	else
		w->users.dirty = 0;
}

/* Once a second: quota state, interim records, table sweeps. */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	int64_t now = clock_ms();

	(void)fd;
	(void)what;
	if (DUE(now, w->last_save, SAVE_MS)) {
		save_state(w);
		w->last_save = now;
		acct_clients_sweep(&w->clients, now);
	}
	if (w->conf->log_interim > 0 && DUE(now, w->last_interim,
	    (int64_t)w->conf->log_interim * 1000)) {
		worker_interim(w, now);
		w->last_interim = now;
	}
}

/*
 * Interim access-log records for sessions older than log.interim: long
 * tunnels are not invisible until they end.
 */
static void
worker_interim(struct worker *w, int64_t now)
{
	struct session *s;
	int64_t min = (int64_t)w->conf->log_interim * 1000;

	for (s = w->sessions; s != NULL; s = s->next)
		if (now - s->t_start >= min &&
		    (s->state == SESSION_S_RELAY ||
		    s->state == SESSION_S_HTTP_FORWARD))
			session_log_interim(s);
}

/* Raise the descriptor limit to the hard limit; returns the soft limit. */
static int
raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
		(void)getrlimit(RLIMIT_NOFILE, &rl);
	}
	return rl.rlim_cur > (1 << 30) ? (1 << 30) : (int)rl.rlim_cur;
}

/* Sessions allowed at once: max_connections and the descriptor budget. */
static void
set_max_sessions(struct worker *w)
{
	uint64_t by_fd;
	int reserve = w->fd_limit / 8;

	/* two descriptors per session, a share for splice pipes, and a
	   reserve for everything else; beyond that, refuse at accept */
	if (reserve > FD_RESERVE_MAX)
		reserve = FD_RESERVE_MAX;
	if (reserve < FD_RESERVE_MIN)
		reserve = FD_RESERVE_MIN;
	by_fd = w->fd_limit > reserve + 2 * w->pipes + 2 ?
	    (uint64_t)(w->fd_limit - reserve - 2 * w->pipes) / 2 : 1;
	w->max_sessions = by_fd;
	if (w->conf->max_connections > 0 &&
	    (uint64_t)w->conf->max_connections < by_fd)
		w->max_sessions = (uint64_t)w->conf->max_connections;
}

/*
 * The counters of the listener for proto and addr (the same across
 * reloads); -1 on allocation failure.  With idx >= 0: that entry.
 */
static int
lstats_find(struct worker *w, enum conf_proto proto,
    const union sockaddr_u *addr)
{
	struct listener_stats **grown, *ls;
	int i;

	for (i = 0; i < w->nlstats; i++)
		if (w->lstats[i]->proto == proto &&
		    netaddr_ip_equal(&w->lstats[i]->addr, addr) &&
		    netaddr_port(&w->lstats[i]->addr) == netaddr_port(addr))
			return i;
	grown = reallocarray(w->lstats, (size_t)w->nlstats + 1,
	    sizeof(*grown));
	if (grown == NULL || (ls = calloc(1, sizeof(*ls))) == NULL) {
		if (grown != NULL)
			w->lstats = grown;
		return -1;
	}
	w->lstats = grown;
	ls->proto = proto;
	ls->addr = *addr;
	w->lstats[w->nlstats] = ls;
	return w->nlstats++;
}

struct listener_stats *
worker_listener_stats(struct worker *w, int idx)
{
	static struct listener_stats none;

	return idx >= 0 && idx < w->nlstats ? w->lstats[idx] : &none;
}

/*
 * Create the loop (epoll with edge-triggered events, or refuse) and what
 * lives on it, running the policy pol (the worker takes the reference).
 * Returns 0, or -1 with the reason in err.
 */
int
worker_init(struct worker *w, struct policy *pol, char *err, size_t errlen)
{
	struct event_config *cfg;
	const struct conf *c = &pol->conf;

	memset(w, 0, sizeof(*w));
	w->pol = pol;
	w->conf = c;
	w->reserve_fd = -1;
	w->started = clock_ms();
	if (user_states_init(&w->users) == -1 ||
	    policy_bind(pol, &w->users) == -1) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((cfg = event_config_new()) == NULL) {
		snprintf(err, errlen, "libevent: out of memory");
		return -1;
	}
	event_config_avoid_method(cfg, "select");
	event_config_avoid_method(cfg, "poll");
	event_config_require_features(cfg, EV_FEATURE_ET | EV_FEATURE_O1);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL) {
		snprintf(err, errlen, "no event backend with edge-triggered "
		    "O(1) events (epoll) is available; is EVENT_NOEPOLL set?");
		return -1;
	}
	evtimer_assign(&w->resume_timer, w->base, resume_cb, w);
	evtimer_assign(&w->drain_timer, w->base, drain_timer_cb, w);
	event_assign(&w->tick, w->base, -1, EV_PERSIST, tick_cb, w);

	w->fd_limit = raise_nofile();
	w->pipes = w->fd_limit / 16;
	if (w->pipes > 256)
		w->pipes = 256;
	set_max_sessions(w);
	relay_pool_init(&w->relay_pool, w->pipes);
	relay_pool_attach(&w->relay_pool, w->base);

	if ((w->resolver = resolver_new(w->base, c, err, errlen)) == NULL)
		return -1;
	if (crypt_home_init(&w->crypt, w->base) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	if (acct_log_open(&w->alog, c->access_log, (int)c->log_format,
	    c->syslog_socket, w->base, err, errlen) == -1)
		return -1;
	if (acct_clients_init(&w->clients) == -1 ||
	    acct_remember_init(&w->remember) == -1 ||
	    origin_pool_init(&w->origins, c->pool_idle > 0 ?
	    (size_t)c->pool_max : 0, (size_t)c->pool_per_origin,
	    c->pool_idle) == -1 ||
	    (w->http_head = malloc(sizeof(*w->http_head))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (c->state_file != NULL && user_states_load(&w->users, c->state_file,
	    err, errlen) == -1)
		return -1;
	/* the policy's users were made before the saved usage was read */
	w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	evsignal_assign(&w->sig_int, w->base, SIGINT, stop_cb, w);
	evsignal_assign(&w->sig_term, w->base, SIGTERM, stop_cb, w);
	evsignal_assign(&w->sig_hup, w->base, SIGHUP, hup_cb, w);
	evsignal_assign(&w->sig_usr1, w->base, SIGUSR1, usr1_cb, w);
	if (evsignal_add(&w->sig_int, NULL) == -1 ||
	    evsignal_add(&w->sig_term, NULL) == -1 ||
	    evsignal_add(&w->sig_hup, NULL) == -1 ||
	    evsignal_add(&w->sig_usr1, NULL) == -1) {
		snprintf(err, errlen, "cannot watch signals");
		return -1;
	}
	return 0;
}

/*
 * Bind every configured listener (and the admin listener).  Returns 0, or
 * -1 with the first failure in err (and nothing left listening).
 */
int
worker_open_listeners(struct worker *w, char *err, size_t errlen)
{
	const struct conf *c = w->conf;
	struct listener *l;
	int i, ls;

	w->listeners = calloc((size_t)c->nlisten + 1, sizeof(*w->listeners));
	if (w->listeners == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < c->nlisten; i++) {
		ls = lstats_find(w, c->listen[i].proto, &c->listen[i].addr);
		if ((l = listener_open(w, &c->listen[i], ls, err, errlen))
		    == NULL) {
			close_listeners(w);
			return -1;
		}
		w->listeners[w->nlisteners++] = l;
	}
	if (c->admin_on &&
	    (w->admin = admin_open(w, &c->admin_addr, err, errlen)) == NULL) {
		close_listeners(w);
		return -1;
	}
	return 0;
}

static void
log_policy(struct worker *w)
{
	const struct conf *c = w->conf;
	char a[NETADDR_STRLEN];
	int i;

	for (i = 0; i < w->nlisteners; i++)
		log_info("listening: %s on %s",
		    conf_proto_name(w->listeners[i]->proto),
		    netaddr_str(&w->listeners[i]->bound, a, sizeof(a)));
	if (w->admin != NULL)
		log_info("admin on %s%s", netaddr_str(&c->admin_addr, a,
		    sizeof(a)), c->admin_token ? " (token required)" : "");
	log_info("auth %s (%d users, %d groups); %d rules; access log %s",
	    c->auth_required ? "required" : "off", c->nusers, c->ngroups,
	    c->nrules, c->access_log);
	if (w->pol->guard.shared)
		log_info("shared gateway: destinations on loopback, link-local "
		    "and this host's %d addresses are refused unless a rule "
		    "names them%s", w->pol->guard.nown, c->auth_required ||
		    !c->allow_open_proxy ? "" : "; OPEN PROXY allowed "
		    "(allow_open_proxy)");
	else
		log_info("personal proxy (every listener on loopback): all "
		    "destinations allowed unless a rule denies them");
}

/*
 * Log what runs, then run the loop until a signal has stopped it.
 */
void
worker_run(struct worker *w)
{
	struct timeval second = { TICK_MS / 1000, 0 };

	log_policy(w);
	log_info("event backend %s (edge-triggered), descriptor limit %d, "
	    "up to %llu sessions", event_base_get_method(w->base),
	    w->fd_limit, (unsigned long long)w->max_sessions);
	w->last_save = w->last_interim = clock_ms();
	event_add(&w->tick, &second);
	notify_send("READY=1\nSTATUS=serving on %d listeners",
	    w->nlisteners);
	event_base_dispatch(w->base);
}

/*
 * The index in the old set of the listener on cl's address (its socket is
 * kept even when the protocol changes: a new bind would collide), or -1.
 */
static int
find_listener(struct listener **old, int n, const struct conf_listen *cl)
{
	struct listener *l;
	int i;

	for (i = 0; i < n; i++) {
		l = old[i];
		if (l != NULL && netaddr_ip_equal(&l->addr, &cl->addr) &&
		    netaddr_port(&l->addr) == netaddr_port(&cl->addr))
			return i;
	}
	return -1;
}

/*
 * SIGHUP: read the configuration again.  A good one takes effect for new
 * connections (and new HTTP requests): listeners added and removed, users,
 * rules, limits, logs; live tunnels and requests go on untouched, under the
 * policy they started with.  A bad one is refused, its errors logged, and
 * the old one stays.  Returns 0 or -1.
 */
int
worker_reload(struct worker *w)
{
	struct conf c;
	struct policy *np, *op = w->pol;
	struct listener **nl = NULL, **old = w->listeners;
	struct acct_log nlog;
	struct admin *nadmin = NULL;
	char err[CONF_ERRLEN], a[NETADDR_STRLEN], *line, *save;
	int i, n = w->nlisteners, logchanged, adminchanged, *from = NULL;

	if (w->draining || w->reconf == NULL)
		return -1;
	conf_init(&c);
	if (w->reconf(&c, err, sizeof(err), w->reconf_arg) == -1) {
		for (line = strtok_r(err, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			log_err("reload refused: %s", line);
		log_err("reload refused: the running configuration stays");
		conf_free(&c);
		return -1;
	}
	if (c.workers != op->conf.workers || c.dns_timeout_ms !=
	    op->conf.dns_timeout_ms || c.dns_tries != op->conf.dns_tries)
		log_warn("reload: workers and dns.timeout_ms/tries take effect "
		    "after a restart");
	np = policy_new(&c, op->generation + 1, err, sizeof(err));
	conf_free(&c);
	if (np == NULL || policy_bind(np, &w->users) == -1) {
		log_err("reload refused: %s", np == NULL ? err :
		    "out of memory");
		policy_release(np);
		return -1;
	}
	/* listeners: keep those in both, open the new ones; on a failure
	   nothing changes */
	if ((nl = calloc((size_t)np->conf.nlisten + 1, sizeof(*nl))) == NULL ||
	    (from = calloc((size_t)np->conf.nlisten + 1, sizeof(*from)))
	    == NULL)
		goto fail_mem;
	for (i = 0; i < np->conf.nlisten; i++) {
		from[i] = find_listener(old, n, &np->conf.listen[i]);
		if (from[i] >= 0) {
			nl[i] = old[from[i]];
			old[from[i]] = NULL;
			continue;
		}
		if ((nl[i] = listener_open(w, &np->conf.listen[i],
		    lstats_find(w, np->conf.listen[i].proto,
		    &np->conf.listen[i].addr), err, sizeof(err))) == NULL)
			goto fail;
	}
	adminchanged = np->conf.admin_on != op->conf.admin_on ||
	    (np->conf.admin_on && (!netaddr_ip_equal(&np->conf.admin_addr,
	    &op->conf.admin_addr) || netaddr_port(&np->conf.admin_addr) !=
	    netaddr_port(&op->conf.admin_addr)));
	if (adminchanged && np->conf.admin_on) {
		admin_close(w->admin);	/* it may hold the same address */
		w->admin = NULL;
		if ((nadmin = admin_open(w, &np->conf.admin_addr, err,
		    sizeof(err))) == NULL)
			log_err("reload: %s (the admin listener is off)", err);
	}
	logchanged = strcmp(np->conf.access_log, op->conf.access_log) != 0 ||
	    np->conf.log_format != op->conf.log_format ||
	    strcmp(np->conf.syslog_socket, op->conf.syslog_socket) != 0;
	if (logchanged && acct_log_open(&nlog, np->conf.access_log,
	    (int)np->conf.log_format, np->conf.syslog_socket, w->base, err,
	    sizeof(err)) == -1) {
		log_err("reload: %s (the access log stays as it was)", err);
		logchanged = 0;
	}

	/* commit */
	for (i = 0; i < n; i++)
		if (old[i] != NULL)
			listener_close(old[i]);
	for (i = 0; i < np->conf.nlisten; i++)
		if (from[i] >= 0 && nl[i]->proto != np->conf.listen[i].proto) {
			log_info("listen %s: now %s (was %s)", netaddr_str(
			    &nl[i]->bound, a, sizeof(a)), conf_proto_name(
			    np->conf.listen[i].proto), conf_proto_name(
			    nl[i]->proto));
			nl[i]->proto = np->conf.listen[i].proto;
			nl[i]->lstat = lstats_find(w, nl[i]->proto,
			    &nl[i]->addr);
		}
	free(old);
	free(from);
	w->listeners = nl;
	w->nlisteners = np->conf.nlisten;
	if (adminchanged) {
		if (!np->conf.admin_on) {
			admin_close(w->admin);
			w->admin = NULL;
		} else
			w->admin = nadmin;
	}
	if (logchanged)
		acct_log_replace(&w->alog, &nlog);
	log_set_level((enum log_level)np->conf.log_level);
	if (w->paused)
		for (i = 0; i < w->nlisteners; i++)
			listener_enable(w->listeners[i], 0);
	resolver_reconfigure(w->resolver, &np->conf);
	origin_pool_configure(&w->origins, np->conf.pool_idle > 0 ?
	    (size_t)np->conf.pool_max : 0, (size_t)np->conf.pool_per_origin,
	    np->conf.pool_idle);
	iptable_free(&w->remember);
	acct_remember_init(&w->remember);
	w->pol = np;
	w->conf = &np->conf;
	set_max_sessions(w);
	if (np->conf.state_file != NULL && (op->conf.state_file == NULL ||
	    strcmp(np->conf.state_file, op->conf.state_file) != 0) &&
	    user_states_load(&w->users, np->conf.state_file, err,
	    sizeof(err)) == -1)
		log_warn("reload: %s", err);
	policy_release(op);
	log_info("configuration reloaded (generation %llu): %d listeners, "
	    "%d users, %d rules; %llu sessions go on as they were",
	    (unsigned long long)np->generation, w->nlisteners,
	    np->conf.nusers, np->conf.nrules,
	    (unsigned long long)w->ctr.sessions_active);
	log_policy(w);
	return 0;
fail_mem:
	snprintf(err, sizeof(err), "out of memory");
fail:
	log_err("reload refused: %s; the running configuration stays", err);
	for (i = 0; nl != NULL && i < np->conf.nlisten; i++) {
		if (nl[i] == NULL)
			continue;
		if (from[i] >= 0)
			old[from[i]] = nl[i];	/* back where it was */
		else
			listener_close(nl[i]);
	}
	free(nl);
	free(from);
	policy_release(np);
	return -1;
}

/*
 * Tear down.  Sessions still open are closed (and logged).
 */
void
worker_free(struct worker *w)
{
	const struct resolver_stats *rs;
	int i;

	session_close_all(w, "shutdown");
	close_listeners(w);
	free(w->listeners);
	w->listeners = NULL;
	if (w->resolver != NULL) {
		rs = resolver_stats(w->resolver);
		log_info("totals: %llu sessions, %llu bytes up, %llu bytes "
		    "down; refused %llu (limits) %llu (descriptors); denied "
		    "%llu; auth failures %llu; DNS lookups %llu (%llu cached, "
		    "%llu failed)", (unsigned long long)w->ctr.sessions_total,
		    (unsigned long long)w->ctr.bytes_up,
		    (unsigned long long)w->ctr.bytes_down,
		    (unsigned long long)(w->ctr.refused_max +
		    w->ctr.refused_client + w->ctr.refused_user +
		    w->ctr.refused_rate + w->ctr.refused_quota),
		    (unsigned long long)w->ctr.refused_fd,
		    (unsigned long long)w->ctr.denied,
		    (unsigned long long)w->ctr.auth_failed,
		    (unsigned long long)rs->lookups,
		    (unsigned long long)rs->hits,
		    (unsigned long long)rs->failures);
	}
	if (w->pol != NULL)
		save_state(w);
	resolver_free(w->resolver);
	w->resolver = NULL;
	crypt_home_free(&w->crypt);
	acct_log_close(&w->alog);
	iptable_free(&w->clients);
	iptable_free(&w->remember);
	origin_pool_free(&w->origins);
	free(w->http_head);
	w->http_head = NULL;
	relay_pool_free(&w->relay_pool);
	for (i = 0; i < w->nlstats; i++)
		free(w->lstats[i]);
	free(w->lstats);
	w->lstats = NULL;
	if (w->reserve_fd != -1)
		close(w->reserve_fd);
	w->reserve_fd = -1;
	if (w->base != NULL) {
		if (event_initialized(&w->sig_int))
			evsignal_del(&w->sig_int);
		if (event_initialized(&w->sig_term))
			evsignal_del(&w->sig_term);
		if (event_initialized(&w->sig_hup))
			evsignal_del(&w->sig_hup);
		if (event_initialized(&w->sig_usr1))
			evsignal_del(&w->sig_usr1);
		evtimer_del(&w->resume_timer);
		evtimer_del(&w->drain_timer);
		event_del(&w->tick);
		event_base_free(w->base);
	}
	w->base = NULL;
	policy_release(w->pol);
	w->pol = NULL;
	user_states_free(&w->users);
}
