/*
 * Worker: the event loop and what lives on it.  See worker.h.
 */
#include <sys/resource.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "clock.h"
#include "http.h"
#include "listener.h"
#include "log.h"
#include "resolver.h"
#include "session.h"
#include "worker.h"
#include "../auth/auth.h"
#include "../conf/conf.h"

#define FD_RESERVE_MAX	64	/* listeners, DNS, logs, eventfd, spare */
#define FD_RESERVE_MIN	16
#define RESUME_MS	250	/* listeners off after EMFILE, retry after */

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
		listener_enable(&w->listeners[i], 1);
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
	int i, fd, shed = 0;

	if (w->reserve_fd != -1) {
		close(w->reserve_fd);
		w->reserve_fd = -1;
		for (i = 0; i < w->nlisteners; i++) {
			if ((lev = w->listeners[i].lev) == NULL)
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
				listener_enable(&w->listeners[i], 0);
		w->paused = 1;
		struct timeval tv = { 0, RESUME_MS * 1000 };
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
signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct worker *w = arg;
	struct timeval tv;
	int i;

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
	for (i = 0; i < w->nlisteners; i++)
		listener_close(&w->listeners[i]);
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
 * Create the loop (epoll with edge-triggered events, or refuse) and what
 * lives on it.  Returns 0, or -1 with the reason in err.
 */
int
worker_init(struct worker *w, const struct conf *c, struct auth_db *auth,
    char *err, size_t errlen)
{
	struct event_config *cfg;
	uint64_t by_fd;
	int pipes, reserve;

	memset(w, 0, sizeof(*w));
	w->conf = c;
	w->auth = auth;
	w->reserve_fd = -1;
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

	/* two descriptors per session, a share for splice pipes, and a
	   reserve for everything else; beyond that, refuse at accept */
	w->fd_limit = raise_nofile();
	pipes = w->fd_limit / 16;
	if (pipes > 256)
		pipes = 256;
	reserve = w->fd_limit / 8;
	if (reserve > FD_RESERVE_MAX)
		reserve = FD_RESERVE_MAX;
	if (reserve < FD_RESERVE_MIN)
		reserve = FD_RESERVE_MIN;
	by_fd = w->fd_limit > reserve + 2 * pipes + 2 ?
	    (uint64_t)(w->fd_limit - reserve - 2 * pipes) / 2 : 1;
	w->max_sessions = by_fd;
	if (c->max_connections > 0 && (uint64_t)c->max_connections < by_fd)
		w->max_sessions = (uint64_t)c->max_connections;
	relay_pool_init(&w->relay_pool, pipes);
	relay_pool_attach(&w->relay_pool, w->base);

	if ((w->resolver = resolver_new(w->base, c, err, errlen)) == NULL)
		return -1;
	if (crypt_home_init(&w->crypt, w->base) == -1) {
		snprintf(err, errlen, "eventfd: %s", strerror(errno));
		return -1;
	}
	if (acct_log_open(&w->alog, c->access_log, (int)c->log_format,
	    w->base, err, errlen) == -1)
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
	w->reserve_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	evsignal_assign(&w->sig_int, w->base, SIGINT, signal_cb, w);
	evsignal_assign(&w->sig_term, w->base, SIGTERM, signal_cb, w);
	if (evsignal_add(&w->sig_int, NULL) == -1 ||
	    evsignal_add(&w->sig_term, NULL) == -1) {
		snprintf(err, errlen, "cannot watch SIGINT/SIGTERM");
		return -1;
	}
	return 0;
}

/*
 * Bind every configured listener.  Returns 0, or -1 with the first failure
 * in err (and nothing left listening).
 */
int
worker_open_listeners(struct worker *w, char *err, size_t errlen)
{
	const struct conf *c = w->conf;
	int i;

	w->listeners = calloc((size_t)c->nlisten, sizeof(*w->listeners));
	if (w->listeners == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < c->nlisten; i++) {
		if (listener_open(&w->listeners[i], w, &c->listen[i], err,
		    errlen) == -1) {
			while (i-- > 0)
				listener_close(&w->listeners[i]);
			return -1;
		}
		w->nlisteners++;
	}
	return 0;
}

/*
 * Log what runs, then run the loop until a signal has stopped it.
 */
void
worker_run(struct worker *w)
{
	const struct conf *c = w->conf;
	char a[NETADDR_STRLEN];
	int i;

	for (i = 0; i < w->nlisteners; i++)
		log_info("listening: %s on %s",
		    conf_proto_name(w->listeners[i].proto),
		    netaddr_str(&w->listeners[i].addr, a, sizeof(a)));
	log_info("event backend %s (edge-triggered), descriptor limit %d, "
	    "up to %llu sessions", event_base_get_method(w->base),
	    w->fd_limit, (unsigned long long)w->max_sessions);
	log_info("auth %s (%d users); access log %s", c->auth_required ?
	    "required" : "off", c->nusers, c->access_log);
	event_base_dispatch(w->base);
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
	for (i = 0; i < w->nlisteners; i++)
		listener_close(&w->listeners[i]);
	free(w->listeners);
	w->listeners = NULL;
	if (w->resolver != NULL) {
		rs = resolver_stats(w->resolver);
		log_info("totals: %llu sessions, %llu bytes up, %llu bytes "
		    "down; refused %llu (limits) %llu (descriptors); auth "
		    "failures %llu; DNS lookups %llu (%llu cached, %llu "
		    "failed)", (unsigned long long)w->ctr.sessions_total,
		    (unsigned long long)w->ctr.bytes_up,
		    (unsigned long long)w->ctr.bytes_down,
		    (unsigned long long)(w->ctr.refused_max +
		    w->ctr.refused_client + w->ctr.refused_user),
		    (unsigned long long)w->ctr.refused_fd,
		    (unsigned long long)w->ctr.auth_failed,
		    (unsigned long long)rs->lookups,
		    (unsigned long long)rs->hits,
		    (unsigned long long)rs->failures);
	}
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
	if (w->reserve_fd != -1)
		close(w->reserve_fd);
	w->reserve_fd = -1;
	if (w->base != NULL) {
		if (event_initialized(&w->sig_int))
			evsignal_del(&w->sig_int);
		if (event_initialized(&w->sig_term))
			evsignal_del(&w->sig_term);
		evtimer_del(&w->resume_timer);
		evtimer_del(&w->drain_timer);
		event_base_free(w->base);
	}
	w->base = NULL;
}
