/*
 * Worker: an event loop and what lives on it.  See worker.h.
 */
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "clock.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "resolver.h"
#include "server.h"
#include "session.h"
#include "worker.h"
#include "../conf/conf.h"

#define FD_RESERVE_MAX	64	/* listeners, DNS, logs, eventfd, spare */
#define FD_RESERVE_MIN	16
#define RESUME_MS	250	/* listeners off after EMFILE, retry after */
#define FD_WARN_MS	10000	/* out of descriptors: warn this often */
#define TICK_MS		1000	/* the housekeeping timer */
#define BUSY_POLL_BURST	(64 * 1024) /* bytes relayed since the loop slept
					   before it may poll (busy_poll_us) */
#define WORKER_MAX_CALLBACKS 64	/* callbacks between two looks at epoll */
#ifndef WORKER_MAX_PASS_US
#define WORKER_MAX_PASS_US 1000	/* and at most this long (then a callback) */
#endif
/* a timer may fire a little early by clock_ms(): half a tick of slack */
#define DUE(now, last, every)	((now) - (last) + TICK_MS / 2 >= (every))

static void	worker_interim(struct worker *, int64_t);
static void	worker_finish(struct worker *);
static int	current_nofile(void);

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
	int64_t now = clock_ms();
	size_t pooled;
	int i, fd, shed = 0;

	/* the limit may have been lowered under us (prlimit --pid) */
	w->fd_limit = current_nofile();
	worker_set_max_sessions(w);
	/* idle origin connections are the cheapest descriptors to give up */
	pooled = origin_pool_trim(&w->origins, 0);
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
	w->fd_refused += (uint64_t)shed;
	/* once per episode, then at most every FD_WARN_MS with the count */
	if (w->fd_warned == 0 || now - w->fd_warned >= FD_WARN_MS) {
		log_warn("out of file descriptors (limit %d, %llu sessions of "
		    "worker %d): refusing new clients (%llu reset since the "
		    "last warning%s)", w->fd_limit,
		    (unsigned long long)w->ctr.sessions_active, w->id,
		    (unsigned long long)w->fd_refused, pooled ?
		    "; idle origin connections closed" : "");
		w->fd_warned = now;
		w->fd_refused = 0;
	}
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
 * were short, and finishes a draining worker once it is empty.
 */
static void	trim_check(struct worker *);

/*
 * One access-log record (a SOCKS session, an HTTP request, a client
 * refused at accept): counted by its end= value for /metrics, then
 * written to the access log, if any.
 */
void
worker_record(struct worker *w, const struct acct_record *r)
{
	struct timeval tv;

	acct_count_end(&w->ctr, r->end);
	gettimeofday(&tv, NULL);
	acct_log_session(&w->alog, r, tv.tv_sec, tv.tv_usec);
}

void
worker_session_gone(struct worker *w)
{
	trim_check(w);
	if (w->paused && !w->draining)
		resume_cb(-1, 0, w);
	if (w->draining && w->sessions == NULL)
		worker_finish(w);
}

static void
finished_msg(struct worker *w0, void *arg)
{
	(void)arg;
	server_worker_finished(w0->srv);
}

/*
 * Drained (or closed at once): tell the main thread; a worker thread's
 * loop ends here, the main thread's when every worker has finished.
 */
static void
worker_finish(struct worker *w)
{
	if (w->finished)
		return;
	w->finished = 1;
	event_del(&w->tick);
	event_del(&w->trim_ev);
	evtimer_del(&w->resume_timer);
	if (w->id == 0) {
		server_worker_finished(w->srv);
		return;
	}
	if (worker_post(w->srv->workers[0], finished_msg, NULL) == -1)
		log_err("worker %d: cannot tell the main thread it is done",
		    w->id);
	event_base_loopexit(w->base, NULL);
}

/*
 * A stop signal: no new clients; the live sessions may finish (the main
 * thread closes them when timeouts.drain is over).
 */
void
worker_drain(struct worker *w)
{
	w->draining = 1;
	worker_close_listeners(w);
	if (w->sessions == NULL)
		worker_finish(w);
}

void
worker_close_listeners(struct worker *w)
{
	int i;

	for (i = 0; i < w->nlisteners; i++)
		listener_close(w->listeners[i]);
	w->nlisteners = 0;
}

/* Once a second: interim records (and, on worker 0, the server's). */
static void
tick_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	int64_t now = clock_ms();

	(void)fd;
	(void)what;
	if (w->conf->log_interim > 0 && DUE(now, w->last_interim,
	    (int64_t)w->conf->log_interim * 1000)) {
		worker_interim(w, now);
		w->last_interim = now;
	}
	if (w->id == 0)
		server_tick(w->srv, now);
}

/*
 * After a burst of sessions ends, hand the memory their buffers used back
 * to the system.  Large body reads leave 128 KiB chunks in malloc's heap
 * (above glibc's dynamic mmap threshold once it has risen), and a heap
 * only shrinks from its top: without this, RSS stays at the burst's peak.
 * malloc_trim() also releases whole free pages inside the heap.  Run from
 * the loop, once the closes of one pass are done, and only after the
 * number of sessions fell to half its peak (by 16 or more).
 */
static void
trim_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;

	(void)fd;
	(void)what;
	w->trim_armed = 0;
	w->trim_peak = w->ctr.sessions_active;
	(void)malloc_trim(0);
}

static void
trim_check(struct worker *w)
{
	uint64_t live = w->ctr.sessions_active;

	if (w->trim_armed || w->base == NULL || live * 2 > w->trim_peak ||
	    w->trim_peak - live < 16)
		return;
	w->trim_armed = 1;
	event_active(&w->trim_ev, EV_TIMEOUT, 0);
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

/* The soft descriptor limit now. */
static int
current_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	return rl.rlim_cur > (1 << 30) ? (1 << 30) : (int)rl.rlim_cur;
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

/*
 * Sessions this worker takes at once: its share of the descriptor budget
 * (limits.max_connections counts all workers', see listener.c).
 */
void
worker_set_max_sessions(struct worker *w)
{
	int reserve = w->fd_limit / 8, n = w->srv->nworkers;

	/* two descriptors per session, a share for splice pipes, and a
	   reserve for everything else; beyond that, refuse at accept */
	if (reserve > FD_RESERVE_MAX * n)
		reserve = FD_RESERVE_MAX * n;
	if (reserve < FD_RESERVE_MIN * n)
		reserve = FD_RESERVE_MIN * n;
	if (w->fd_limit > reserve + 2 * w->pipes * n + 2 * n)
		w->max_sessions = (uint64_t)(w->fd_limit - reserve -
		    2 * w->pipes * n) / 2 / (uint64_t)n;
	else
		w->max_sessions = 1;
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

/* ----- messages from other threads ----------------------------------- */

/*
 * Run fn(w, arg) on w's loop, soon.  Any thread may call it.  Returns 0,
 * or -1 (ENOMEM: nothing will run).
 */
int
worker_post(struct worker *w, worker_fn fn, void *arg)
{
	struct worker_msg *m;
	uint64_t one = 1;

	if ((m = malloc(sizeof(*m))) == NULL)
		return -1;
	m->next = NULL;
	m->fn = fn;
	m->arg = arg;
	pthread_mutex_lock(&w->mbox_mu);
	*w->mbox_tail = m;
	w->mbox_tail = &m->next;
	pthread_mutex_unlock(&w->mbox_mu);
	/* a full counter (never, in practice) still wakes the loop */
	if (write(w->mbox_fd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_err("worker %d: eventfd: %s", w->id, strerror(errno));
	return 0;
}

/* The eventfd woke us: run what was posted, in order. */
static void
mbox_cb(evutil_socket_t fd, short what, void *arg)
{
	struct worker *w = arg;
	struct worker_msg *m, *next;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) == -1 && errno != EAGAIN)
		log_err("worker %d: eventfd: %s", w->id, strerror(errno));
	pthread_mutex_lock(&w->mbox_mu);
	m = w->mbox;
	w->mbox = NULL;
	w->mbox_tail = &w->mbox;
	pthread_mutex_unlock(&w->mbox_mu);
	for (; m != NULL; m = next) {
		next = m->next;
		m->fn(w, m->arg);
		free(m);
	}
}

/*
 * Create worker id's loop (epoll with edge-triggered events, or refuse)
 * and what lives on it, running the policy pol (the worker takes the
 * reference).  Returns 0, or -1 with the reason in err.
 */
int
worker_init(struct worker *w, struct server *srv, int id, struct policy *pol,
    char *err, size_t errlen)
{
	struct event_config *cfg;
	const struct conf *c = &pol->conf;

	memset(w, 0, sizeof(*w));
	w->id = id;
	w->srv = srv;
	w->pol = pol;
	w->conf = c;
	w->reserve_fd = -1;
	w->mbox_fd = -1;
	w->mbox_tail = &w->mbox;
	w->started = clock_ms();
	if (pthread_mutex_init(&w->mbox_mu, NULL) != 0) {
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
	/*
	 * No EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST, though it saves an
	 * epoll_ctl() per connection: it defers the removal of a closed
	 * descriptor to the next loop pass, by which time another worker may
	 * have been given the same number (ThreadSanitizer reports it).  The
	 * late call fails harmlessly, but workers must not touch each other's
	 * descriptors at all.
	 */
	/*
	 * A relay that spends its budget re-activates itself to come back
	 * after the other events (relay.c), and libevent runs an event
	 * activated during a pass in that same pass: without a limit, busy
	 * tunnels would pass the loop between them and never let it ask
	 * epoll again, so no connection would be accepted and no other
	 * socket served while they last.  A pass ends after
	 * WORKER_MAX_CALLBACKS callbacks or WORKER_MAX_PASS_US; the loop
	 * then polls (without waiting).  That time is read from libevent's
	 * clock, CLOCK_MONOTONIC_COARSE, which moves once a kernel tick
	 * (4 ms at HZ=250): so a relay that spends a budget also ends the
	 * pass itself (event_base_loopcontinue) and goes to WORKER_PRI_BULK,
	 * below everything else.  A pass runs one priority; a bulk one runs
	 * only when nothing else is ready and holds one budget, so a
	 * handshake or a request waits for at most one budget (~1 ms)
	 * however many bulk tunnels there are.  The limits here stay for
	 * callbacks that re-activate themselves at the default priority.
	 */
	event_config_set_max_dispatch_interval(cfg, &(struct timeval){ 0,
	    WORKER_MAX_PASS_US }, WORKER_MAX_CALLBACKS, 0);
	w->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (w->base == NULL) {
		snprintf(err, errlen, "no event backend with edge-triggered "
		    "O(1) events (epoll) is available; is EVENT_NOEPOLL set?");
		return -1;
	}
	/* every event is WORKER_PRI_NORMAL (the middle one) unless set */
	if (event_base_priority_init(w->base, WORKER_PRIORITIES) == -1) {
		snprintf(err, errlen, "libevent: cannot set priorities");
		return -1;
	}
	evtimer_assign(&w->resume_timer, w->base, resume_cb, w);
	event_assign(&w->tick, w->base, -1, EV_PERSIST, tick_cb, w);
	event_assign(&w->trim_ev, w->base, -1, 0, trim_cb, w);
	if ((w->mbox_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	event_assign(&w->mbox_ev, w->base, w->mbox_fd, EV_READ | EV_PERSIST,
	    mbox_cb, w);
	if (event_add(&w->mbox_ev, NULL) == -1) {
		snprintf(err, errlen, "libevent: cannot watch the eventfd");
		return -1;
	}

	w->fd_limit = raise_nofile();
	w->pipes = w->fd_limit / 16 / srv->nworkers;
	if (w->pipes > 256)
		w->pipes = 256;
	worker_set_max_sessions(w);
	relay_pool_init(&w->relay_pool, w->pipes);
	w->relay_pool.bulk_pri = WORKER_PRI_BULK;
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
	if (origin_pool_init(&w->origins, w->base, c->pool_idle > 0 ?
	    (size_t)c->pool_max : 0, (size_t)c->pool_per_origin,
	    c->pool_idle) == -1 ||
	    (w->http_head = malloc(sizeof(*w->http_head))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return 0;
}

/*
 * Accept on the bound sockets fds[i] (taken over), one per configured
 * listener.  Returns 0, or -1 with the reason in err (the descriptors not
 * yet attached are closed, the attached ones closed with the listeners).
 */
int
worker_attach_listeners(struct worker *w, const int *fds, char *err,
    size_t errlen)
{
	const struct conf *c = w->conf;
	struct listener *l;
	int i;

	free(w->listeners);
	w->nlisteners = 0;
	w->listeners = calloc((size_t)c->nlisten + 1, sizeof(*w->listeners));
	for (i = 0; i < c->nlisten; i++) {
		l = w->listeners == NULL ? NULL : listener_attach(w,
		    &c->listen[i], fds[i], lstats_find(w, c->listen[i].proto,
		    &c->listen[i].addr), err, errlen);
		if (l == NULL) {
			if (w->listeners == NULL) {
				close(fds[i]);
				snprintf(err, errlen, "out of memory");
			}
			while (++i < c->nlisten)
				close(fds[i]);
			return -1;
		}
		listener_set_cc(l, c);
		w->listeners[w->nlisteners++] = l;
	}
	return 0;
}

/*
 * Run the loop until the worker has finished (drained).
 */
void
worker_run(struct worker *w)
{
	struct timeval second = { TICK_MS / 1000, 0 };

	struct timespec ts;
	int64_t now, last = 0;
	uint64_t seen = 0, moved, burst = 0;
	int flags;

	w->last_interim = clock_ms();
	event_add(&w->tick, &second);
	/*
	 * event_base_dispatch(), one pass at a time, so that with busy_poll_us
	 * the loop polls without sleeping for that long after a pass that
	 * relayed bytes, once BUSY_POLL_BURST bytes have been relayed since it
	 * last slept (a bulk transfer, not a trickle).  A sleeping relay is
	 * woken by the sender's core (a wakeup and a cross-core interrupt,
	 * costly in a VM); a polling one is not.  The price is CPU while bulk
	 * bytes keep coming; a trickle, or an idle worker, never polls.
	 */
	for (;;) {
		flags = EVLOOP_ONCE;
		if (w->conf->busy_poll_us > 0) {
			moved = w->relay_pool.spliced + w->relay_pool.copied;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
			if (moved != seen) {
				burst += moved - seen;
				seen = moved;
				last = now;
			}
			if (burst >= BUSY_POLL_BURST &&
			    now - last < w->conf->busy_poll_us)
				flags = EVLOOP_NONBLOCK;
			else
				burst = 0;	/* it sleeps: count afresh */
		}
		if (event_base_loop(w->base, flags) != 0 ||
		    event_base_got_exit(w->base) ||
		    event_base_got_break(w->base))
			break;
	}
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
 * The index of the listener on cl's address among the worker's (by the
 * main thread, for a reload plan, before the worker changes them), or -1.
 */
int
worker_find_listener(const struct worker *w, const struct conf_listen *cl)
{
	return find_listener(w->listeners, w->nlisteners, cl);
}

/*
 * Take the reload the main thread prepared: the new listeners (kept ones
 * change protocol in place, new ones were bound already, the rest close),
 * the new policy for new sessions, and whatever hangs on it.  Live
 * sessions keep their policy.  The plan's descriptors are ours now.
 */
void
worker_apply_reload(struct worker *w, struct worker_reload *r)
{
	struct policy *op = w->pol, *np = r->pol;
	const struct conf *c = &np->conf;
	struct listener **nl, **old = w->listeners;
	struct acct_log nlog;
	char err[512], a[NETADDR_STRLEN];
	int i, n = w->nlisteners;

	nl = calloc((size_t)c->nlisten + 1, sizeof(*nl));
	for (i = 0; i < c->nlisten; i++) {
		if (r->from[i] >= 0 && r->from[i] < n && old[r->from[i]]) {
			nl[i] = old[r->from[i]];
			old[r->from[i]] = NULL;
			if (nl[i]->proto != c->listen[i].proto) {
				if (w->id == 0)
					log_info("listen %s: now %s (was %s)",
					    netaddr_str(&nl[i]->bound, a,
					    sizeof(a)), conf_proto_name(
					    c->listen[i].proto),
					    conf_proto_name(nl[i]->proto));
				nl[i]->proto = c->listen[i].proto;
				nl[i]->lstat = lstats_find(w, nl[i]->proto,
				    &nl[i]->addr);
			}
		} else if (nl != NULL && r->fds[i] != -1) {
			nl[i] = listener_attach(w, &c->listen[i], r->fds[i],
			    lstats_find(w, c->listen[i].proto,
			    &c->listen[i].addr), err, sizeof(err));
			if (nl[i] == NULL)
				log_err("reload, worker %d: %s", w->id, err);
		} else if (r->fds[i] != -1)
			close(r->fds[i]);
	}
	for (i = 0; i < n; i++)
		if (old[i] != NULL)
			listener_close(old[i]);
	free(old);
	w->listeners = nl;
	w->nlisteners = 0;
	for (i = 0; nl != NULL && i < c->nlisten; i++)
		if (nl[i] != NULL) {
			listener_set_cc(nl[i], c);
			nl[w->nlisteners++] = nl[i];
		}
	if (nl == NULL)
		log_err("reload, worker %d: out of memory: no listeners",
		    w->id);
	if (w->paused || w->draining)
		for (i = 0; i < w->nlisteners; i++)
			listener_enable(w->listeners[i], 0);
	if (r->logchanged) {
		if (acct_log_open(&nlog, c->access_log, (int)c->log_format,
		    c->syslog_socket, w->base, err, sizeof(err)) == -1)
			log_err("reload, worker %d: %s (its access log stays "
			    "as it was)", w->id, err);
		else
			acct_log_replace(&w->alog, &nlog);
	}
	resolver_reconfigure(w->resolver, c);
	origin_pool_configure(&w->origins, c->pool_idle > 0 ?
	    (size_t)c->pool_max : 0, (size_t)c->pool_per_origin,
	    c->pool_idle);
	w->pol = np;
	w->conf = c;
	worker_set_max_sessions(w);
	policy_release(op);
}

/*
 * Tear down (after the loop has stopped, from any thread).  Sessions still
 * open are closed (and logged).
 */
void
worker_free(struct worker *w)
{
	struct worker_msg *m, *next;
	int i;

	if (w->base != NULL)
		session_close_all(w, "shutdown");
	worker_close_listeners(w);
	free(w->listeners);
	w->listeners = NULL;
	resolver_free(w->resolver);
	w->resolver = NULL;
	crypt_home_free(&w->crypt);
	acct_log_close(&w->alog);
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
	for (m = w->mbox; m != NULL; m = next) {	/* never run */
		next = m->next;
		free(m);
	}
	w->mbox = NULL;
	if (w->base != NULL) {
		evtimer_del(&w->resume_timer);
		event_del(&w->tick);
		event_del(&w->trim_ev);
		if (w->mbox_fd != -1)
			event_del(&w->mbox_ev);
		event_base_free(w->base);
	}
	if (w->mbox_fd != -1)
		close(w->mbox_fd);
	w->mbox_fd = -1;
	w->base = NULL;
	pthread_mutex_destroy(&w->mbox_mu);
	policy_release(w->pol);
	w->pol = NULL;
}
