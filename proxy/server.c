/*
 * The server: workers, their threads, and what is done once for the
 * process.  See server.h.
 */
#include <sys/socket.h>

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "acct.h"
#include "admin.h"
#include "clock.h"
#include "listener.h"
#include "log.h"
#include "notify.h"
#include "pkgcheck.h"
#include "resolver.h"
#include "server.h"
#include "sio.h"
#include "session.h"
#include "worker.h"
#include "../conf/conf.h"

#define SAVE_MS		10000	/* quota usage written this often */


static void	server_reload(struct server *);

/*
 * workers = 0: one per CPU this process may run on (taskset and cgroup
 * cpusets count), at most CONF_WORKERS_MAX.
 */
int
server_workers_default(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		n = CPU_COUNT(&set);
	else
		n = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n > CONF_WORKERS_MAX ? CONF_WORKERS_MAX : n;
}

/* ----- signals: stop, reload, reopen ---------------------------------------- */

static void
close_all_msg(struct worker *w, void *arg)
{
	(void)arg;
	session_close_all(w, "shutdown");
	worker_session_gone(w);
}

static void
drain_msg(struct worker *w, void *arg)
{
	(void)arg;
	worker_drain(w);
}

/* Every worker but 0 runs fn on its loop; worker 0 runs it here. */
static void
post_all(struct server *srv, worker_fn fn)
{
	int i;

	for (i = 1; i < srv->nworkers; i++)
		if (worker_post(srv->workers[i], fn, NULL) == -1)
			log_err("worker %d: out of memory for a message", i);
	fn(srv->workers[0], NULL);
}

static uint64_t
active(struct server *srv)
{
	return __atomic_load_n(&srv->active, __ATOMIC_RELAXED);
}

static void
drain_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct server *srv = arg;

	(void)fd;
	(void)what;
	log_info("drain time is over: closing %llu sessions",
	    (unsigned long long)active(srv));
	post_all(srv, close_all_msg);
}

/*
 * SIGTERM/SIGINT: stop accepting, let the sessions finish for
 * timeouts.drain seconds; a second signal closes them at once.
 */
static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	struct timeval tv;

	(void)what;
	if (srv->draining) {
		log_info("%s again: closing %llu sessions now",
		    strsignal((int)sig), (unsigned long long)active(srv));
		post_all(srv, close_all_msg);
		return;
	}
	srv->draining = 1;
	notify_send("STOPPING=1\nSTATUS=draining %llu sessions",
	    (unsigned long long)active(srv));
	if (active(srv) == 0)
		log_info("%s: stopping", strsignal((int)sig));
	else {
		log_info("%s: stopped accepting; %llu sessions may finish "
		    "within %d s", strsignal((int)sig),
		    (unsigned long long)active(srv), srv->pol->conf.to_drain);
		tv.tv_sec = srv->pol->conf.to_drain;
		tv.tv_usec = 0;
		evtimer_add(&srv->drain_timer, &tv);
	}
	post_all(srv, drain_msg);
}

static void
hup_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	server_reload(arg);
}

static void
reopen_msg(struct worker *w, void *arg)
{
	(void)arg;
	if (acct_log_reopen(&w->alog) == 0 && w->id == 0)
		log_info("SIGUSR1: access log reopened");
}

static void
usr1_cb(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	post_all(arg, reopen_msg);
}

/*
 * A worker has finished (drained); the main loop ends with the last.
 */
void
server_worker_finished(struct server *srv)
{
	if (--srv->running > 0)
		return;
	evtimer_del(&srv->drain_timer);
	event_base_loopexit(srv->workers[0]->base, NULL);
}

/* ----- the state file, the tables -------------------------------------------- */

static void
save_state(struct server *srv)
{
	const struct conf *c = &srv->pol->conf;
	char err[256];

	if (c->state_file == NULL ||
	    !__atomic_exchange_n(&srv->users.dirty, 0, __ATOMIC_RELAXED))
		return;
	if (user_states_save(&srv->users, c->state_file, err,
	    sizeof(err)) == -1) {
		log_warn("limits.state_file: %s", err);
		__atomic_store_n(&srv->users.dirty, 1, __ATOMIC_RELAXED);
	}
}

/* Once a second, on worker 0: the state file, the client table. */
void
server_tick(struct server *srv, int64_t now)
{
	if (now - srv->last_save + 500 < SAVE_MS)
		return;
	save_state(srv);
	srv->last_save = now;
	pthread_mutex_lock(&srv->mu);
	acct_clients_sweep(&srv->clients, now);
	pthread_mutex_unlock(&srv->mu);
}

/* ----- start and stop ------------------------------------------------------- */

/*
 * The server for policy pol (its reference is taken): the shared tables,
 * the quota usage read back, the workers made (not yet running, with no
 * listeners).  NULL with the reason in err.
 */
struct server *
server_new(struct policy *pol, server_reconf_fn reconf, void *arg,
    char *err, size_t errlen)
{
	const struct conf *c = &pol->conf;
	struct server *srv;
	int i;

	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		snprintf(err, errlen, "out of memory");
		policy_release(pol);
		return NULL;
	}
	srv->pol = pol;
	srv->reconf = reconf;
	srv->reconf_arg = arg;
	srv->started = srv->last_save = clock_ms();
	srv->nworkers = c->workers > 0 ? c->workers :
	    server_workers_default();
	if (pthread_mutex_init(&srv->mu, NULL) != 0 ||
	    user_states_init(&srv->users) == -1 ||
	    policy_bind(pol, &srv->users) == -1 ||
	    acct_clients_init(&srv->clients) == -1 ||
	    acct_remember_init(&srv->remember) == -1 ||
	    (srv->workers = calloc((size_t)srv->nworkers,
	    sizeof(*srv->workers))) == NULL ||
	    (srv->threads = calloc((size_t)srv->nworkers,
	    sizeof(*srv->threads))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (c->state_file != NULL && user_states_load(&srv->users,
	    c->state_file, err, errlen) == -1)
		goto fail;
	for (i = 0; i < srv->nworkers; i++) {
		if ((srv->workers[i] = calloc(1, sizeof(struct worker))) ==
		    NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		if (worker_init(srv->workers[i], srv, i, policy_ref(pol), err,
		    errlen) == -1)
			goto fail;
	}
	srv->running = srv->nworkers;
	return srv;
fail:
	server_free(srv);
	return NULL;
}

/*
 * Bind listener i of c for every worker: fds[k * nlisten + i].  With
 * several workers each has its own socket (SO_REUSEPORT), all on the
 * address the first one got.  Returns 0, or -1 with the reason in err
 * (and nothing of listener i left open).
 */
static int
bind_listener(struct server *srv, const struct conf *c, int i, int *fds,
    char *err, size_t errlen)
{
	union sockaddr_u at = c->listen[i].addr, bound;
	int k, n = srv->nworkers;

	for (k = 0; k < n; k++) {
		fds[k * c->nlisten + i] = listener_bind(c->listen[i].proto, &at,
		    n > 1, &bound, err, errlen);
		if (fds[k * c->nlisten + i] == -1) {
			while (--k >= 0)
				close(fds[k * c->nlisten + i]);
			return -1;
		}
		at = bound;
	}
	return 0;
}

/*
 * Bind every configured listener for every worker (and the admin
 * listener).  Returns 0, or -1 with the first failure in err and nothing
 * left listening.
 */
int
server_open_listeners(struct server *srv, char *err, size_t errlen)
{
	const struct conf *c = &srv->pol->conf;
	int *fds, i, k, n = srv->nworkers, rc = -1;

	if ((fds = calloc((size_t)(n * c->nlisten + 1), sizeof(*fds))) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (i = 0; i < c->nlisten; i++)
		if (bind_listener(srv, c, i, fds, err, errlen) == -1) {
			while (--i >= 0)
				for (k = 0; k < n; k++)
					close(fds[k * c->nlisten + i]);
			goto out;
		}
	for (k = 0; k < n; k++)
		if (worker_attach_listeners(srv->workers[k],
		    fds + k * c->nlisten, err, errlen) == -1) {
			for (i = k + 1; i < n; i++)
				for (rc = 0; rc < c->nlisten; rc++)
					close(fds[i * c->nlisten + rc]);
			rc = -1;
			goto close;
		}
	if (c->admin_on && (srv->admin = admin_open(srv->workers[0],
	    &c->admin_addr, err, errlen)) == NULL)
		goto close;
	rc = 0;
	goto out;
close:
	for (k = 0; k < n; k++)
		worker_close_listeners(srv->workers[k]);
out:
	free(fds);
	return rc;
}

static void
log_policy(struct server *srv)
{
	const struct conf *c = &srv->pol->conf;
	struct worker *w = srv->workers[0];
	char a[NETADDR_STRLEN];
	int i;

	for (i = 0; i < w->nlisteners; i++)
		log_info("listening: %s on %s",
		    conf_proto_name(w->listeners[i]->proto),
		    netaddr_str(&w->listeners[i]->bound, a, sizeof(a)));
	if (srv->admin != NULL)
		log_info("admin on %s%s", netaddr_str(&c->admin_addr, a,
		    sizeof(a)), c->admin_token ? " (token required)" : "");
	log_info("auth %s (%d users, %d groups); %d rules; access log %s",
	    c->auth_required ? "required" : "off", c->nusers, c->ngroups,
	    c->nrules, c->access_log);
	if (srv->pol->guard.shared)
		log_info("shared gateway: destinations on loopback, link-local "
		    "and this host's %d addresses are refused unless a rule "
		    "names them%s", srv->pol->guard.nown, c->auth_required ||
		    !c->allow_open_proxy ? "" : "; OPEN PROXY allowed "
		    "(allow_open_proxy)");
	else
		log_info("personal proxy (every listener on loopback): all "
		    "destinations allowed unless a rule denies them");
}

static void *
thread_main(void *arg)
{
	worker_run(arg);
	sio_cache_free();
	return NULL;
}

/*
 * Watch the signals on worker 0, start the other workers' threads (with
 * every signal blocked: they are the main thread's), run worker 0 here
 * until every worker has finished, and wait for the threads.
 */
void
server_run(struct server *srv)
{
	struct worker *w0 = srv->workers[0];
	sigset_t all, old;
	int i;

	evsignal_assign(&srv->sig_int, w0->base, SIGINT, stop_cb, srv);
	evsignal_assign(&srv->sig_term, w0->base, SIGTERM, stop_cb, srv);
	evsignal_assign(&srv->sig_hup, w0->base, SIGHUP, hup_cb, srv);
	evsignal_assign(&srv->sig_usr1, w0->base, SIGUSR1, usr1_cb, srv);
	evtimer_assign(&srv->drain_timer, w0->base, drain_timer_cb, srv);
	if (evsignal_add(&srv->sig_int, NULL) == -1 ||
	    evsignal_add(&srv->sig_term, NULL) == -1 ||
	    evsignal_add(&srv->sig_hup, NULL) == -1 ||
	    evsignal_add(&srv->sig_usr1, NULL) == -1)
		log_err("cannot watch signals: SIGTERM will not drain");
	log_policy(srv);
	log_info("event backend %s (edge-triggered), %d worker%s, descriptor "
	    "limit %d, up to %llu sessions", event_base_get_method(w0->base),
	    srv->nworkers, srv->nworkers > 1 ? "s" : "", w0->fd_limit,
	    (unsigned long long)w0->max_sessions *
	    (unsigned long long)srv->nworkers);
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 1; i < srv->nworkers; i++) {
		if ((errno = pthread_create(&srv->threads[i], NULL,
		    thread_main, srv->workers[i])) != 0) {
			/* its sockets would take connections no one serves */
			log_err("worker %d: cannot start a thread: %s; it "
			    "does not listen", i, strerror(errno));
			worker_close_listeners(srv->workers[i]);
			srv->workers[i]->finished = 1;
			srv->running--;
			continue;
		}
		srv->workers[i]->has_thread = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	notify_send("READY=1\nSTATUS=serving on %d listeners, %d workers",
	    w0->nlisteners, srv->nworkers);
	worker_run(w0);
	for (i = 1; i < srv->nworkers; i++)
		if (srv->workers[i]->has_thread)
			pthread_join(srv->threads[i], NULL);
}

/* The workers' totals, logged at the end. */
static void
log_totals(struct server *srv)
{
	struct acct_counters k;
	uint64_t lookups = 0, hits = 0, failures = 0;
	const struct resolver_stats *rs;
	int i;

	memset(&k, 0, sizeof(k));
	for (i = 0; i < srv->nworkers; i++) {
		if (srv->workers[i] == NULL || srv->workers[i]->base == NULL)
			continue;
		acct_counters_add(&k, &srv->workers[i]->ctr);
		if (srv->workers[i]->resolver != NULL) {
			rs = resolver_stats(srv->workers[i]->resolver);
			lookups += rs->lookups;
			hits += rs->hits;
			failures += rs->failures;
		}
	}
	log_info("totals: %llu sessions, %llu bytes up, %llu bytes down; "
	    "refused %llu (limits) %llu (descriptors); denied %llu; auth "
	    "failures %llu; DNS lookups %llu (%llu cached, %llu failed)",
	    (unsigned long long)k.sessions_total,
	    (unsigned long long)k.bytes_up, (unsigned long long)k.bytes_down,
	    (unsigned long long)(k.refused_max + k.refused_client +
	    k.refused_user + k.refused_rate + k.refused_quota),
	    (unsigned long long)k.refused_fd, (unsigned long long)k.denied,
	    (unsigned long long)k.auth_failed, (unsigned long long)lookups,
	    (unsigned long long)hits, (unsigned long long)failures);
}

/*
 * Tear down (the threads have ended): every worker, the shared tables;
 * the quota usage is saved.
 */
void
server_free(struct server *srv)
{
	int i;

	if (srv == NULL)
		return;
	admin_close(srv->admin);
	srv->admin = NULL;
	for (i = 0; srv->workers != NULL && i < srv->nworkers; i++)
		if (srv->workers[i] != NULL && srv->workers[i]->base != NULL)
			session_close_all(srv->workers[i], "shutdown");
	if (srv->workers != NULL && srv->workers[0] != NULL &&
	    srv->workers[0]->base != NULL)
		log_totals(srv);
	if (srv->pol != NULL) {
		__atomic_store_n(&srv->users.dirty, 1, __ATOMIC_RELAXED);
		save_state(srv);
	}
	if (srv->workers != NULL && srv->workers[0] != NULL &&
	    srv->workers[0]->base != NULL) {
		if (event_initialized(&srv->sig_int)) {
			evsignal_del(&srv->sig_int);
			evsignal_del(&srv->sig_term);
			evsignal_del(&srv->sig_hup);
			evsignal_del(&srv->sig_usr1);
			evtimer_del(&srv->drain_timer);
		}
	}
	for (i = 0; srv->workers != NULL && i < srv->nworkers; i++) {
		if (srv->workers[i] == NULL)
			continue;
		worker_free(srv->workers[i]);
		free(srv->workers[i]);
	}
	free(srv->workers);
	free(srv->threads);
	iptable_free(&srv->clients);
	iptable_free(&srv->remember);
	policy_release(srv->pol);
	user_states_free(&srv->users);
	pthread_mutex_destroy(&srv->mu);
	free(srv);
}

/* ----- reload --------------------------------------------------------------- */

/* A reload under way: one plan per worker, and what to say when done. */
struct reload {
	struct server	*srv;
	struct policy	*op;		/* the server's old reference */
	int		pending;	/* workers still applying */
	struct worker_reload *plans;	/* [worker id] */
	int		*buf;		/* from[] and fds[] of every plan */
};

static void
reload_free(struct reload *r)
{
	free(r->plans);
	free(r->buf);
	free(r);
}

/* On worker 0: every worker has taken the new configuration. */
static void
reload_finished(struct reload *r)
{
	struct server *srv = r->srv;
	const struct conf *c = &srv->pol->conf;

	log_info("configuration reloaded (generation %llu): %d listeners, "
	    "%d users, %d rules, %d workers; %llu sessions go on as they were",
	    (unsigned long long)srv->pol->generation, c->nlisten, c->nusers,
	    c->nrules, srv->nworkers, (unsigned long long)active(srv));
	log_policy(srv);
	notify_send("READY=1\nSTATUS=configuration generation %llu",
	    (unsigned long long)srv->pol->generation);
	policy_release(r->op);
	reload_free(r);
	srv->reloading = 0;
	if (srv->reload_again && !srv->draining) {
		srv->reload_again = 0;
		server_reload(srv);
	}
}

static void
reload_done_msg(struct worker *w0, void *arg)
{
	struct reload *r = arg;

	(void)w0;
	if (--r->pending == 0)
		reload_finished(r);
}

static void
reload_apply_msg(struct worker *w, void *arg)
{
	struct reload *r = arg;

	worker_apply_reload(w, &r->plans[w->id]);
	if (worker_post(r->srv->workers[0], reload_done_msg, r) == -1)
		log_err("worker %d: cannot report its reload", w->id);
}

static void
reload_refused(struct server *srv, const char *why)
{
	log_err("reload refused: %s; the running configuration stays", why);
	notify_send("READY=1\nSTATUS=reload refused (see the log); "
	    "generation %llu runs", (unsigned long long)srv->pol->generation);
}

/*
 * The listeners of np for every worker: the ones each worker has on the
 * same address are kept (by index), the others bound now (all or nothing).
 * Returns 0, or -1 with the reason in err.
 */
static int
reload_listeners(struct server *srv, struct reload *r, const struct conf *c,
    char *err, size_t errlen)
{
	int n = srv->nworkers, m = c->nlisten, i, k, j;
	int *fds;

	if ((r->buf = calloc((size_t)(2 * n * m + 1), sizeof(int))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fds = r->buf + n * m;
	for (k = 0; k < n; k++) {
		r->plans[k].nlisten = m;
		r->plans[k].from = r->buf + k * m;
		r->plans[k].fds = fds + k * m;
		for (i = 0; i < m; i++) {
			r->plans[k].from[i] = worker_find_listener(
			    srv->workers[k], &c->listen[i]);
			r->plans[k].fds[i] = -1;
		}
	}
	/* bound for every worker when worker 0 has no such listener (the
	   workers' sets are the same) */
	for (i = 0; i < m; i++) {
		if (r->plans[0].from[i] >= 0)
			continue;
		if (bind_listener(srv, c, i, fds, err, errlen) == -1) {
			for (j = 0; j < i; j++)
				for (k = 0; k < n; k++)
					if (fds[k * m + j] != -1 &&
					    r->plans[0].from[j] < 0)
						close(fds[k * m + j]);
			return -1;
		}
		for (k = 1; k < n; k++)
			r->plans[k].from[i] = -1;
	}
	return 0;
}

/*
 * SIGHUP: read the configuration again.  A good one takes effect for new
 * connections (and new HTTP requests) once every worker has it:
 * listeners added and removed, users, rules, limits, logs; live tunnels
 * and requests go on untouched, under the policy they started with.  A
 * bad one is refused, its errors logged, and the old one stays.
 */
static void
server_reload(struct server *srv)
{
	struct policy *np, *op = srv->pol;
	struct worker *w0 = srv->workers[0];
	struct admin *nadmin = NULL;
	struct acct_log probe;
	struct reload *r = NULL;
	struct timespec ts;
	struct conf c;
	char err[CONF_ERRLEN], *line, *save;
	int k, adminchanged, logchanged;

	if (srv->draining || srv->reconf == NULL)
		return;
	if (srv->reloading) {
		log_info("SIGHUP: a reload is under way; another follows it");
		srv->reload_again = 1;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu",
	    (unsigned long long)ts.tv_sec * 1000000 +
	    (unsigned long long)ts.tv_nsec / 1000);
	conf_init(&c);
	if (srv->reconf(&c, err, sizeof(err), srv->reconf_arg) == -1) {
		for (line = strtok_r(err, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save))
			log_err("reload refused: %s", line);
		conf_free(&c);
		reload_refused(srv, "configuration errors");
		return;
	}
	if ((c.workers > 0 ? c.workers : server_workers_default()) !=
	    srv->nworkers || c.dns_timeout_ms != op->conf.dns_timeout_ms ||
	    c.dns_tries != op->conf.dns_tries)
		log_warn("reload: workers and dns.timeout_ms/tries take effect "
		    "after a restart");
	(void)pkgcheck_warn();	/* an apt upgrade since the start? */
	np = policy_new(&c, op->generation + 1, err, sizeof(err));
	conf_free(&c);
	if (np == NULL || policy_bind(np, &srv->users) == -1) {
		reload_refused(srv, np == NULL ? err : "out of memory");
		policy_release(np);
		return;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL || (r->plans = calloc(
	    (size_t)srv->nworkers, sizeof(*r->plans))) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	r->srv = srv;
	if (reload_listeners(srv, r, &np->conf, err, sizeof(err)) == -1)
		goto fail;

	adminchanged = np->conf.admin_on != op->conf.admin_on ||
	    (np->conf.admin_on && (!netaddr_ip_equal(&np->conf.admin_addr,
	    &op->conf.admin_addr) || netaddr_port(&np->conf.admin_addr) !=
	    netaddr_port(&op->conf.admin_addr)));
	if (adminchanged && np->conf.admin_on) {
		admin_close(srv->admin);	/* it may hold the same address */
		srv->admin = NULL;
		if ((nadmin = admin_open(w0, &np->conf.admin_addr, err,
		    sizeof(err))) == NULL)
			log_err("reload: %s (the admin listener is off)", err);
	}
	logchanged = strcmp(np->conf.access_log, op->conf.access_log) != 0 ||
	    np->conf.log_format != op->conf.log_format ||
	    strcmp(np->conf.syslog_socket, op->conf.syslog_socket) != 0;
	if (logchanged && acct_log_open(&probe, np->conf.access_log,
	    (int)np->conf.log_format, np->conf.syslog_socket, w0->base, err,
	    sizeof(err)) == -1) {
		log_err("reload: %s (the access log stays as it was)", err);
		logchanged = 0;
	} else if (logchanged)
		acct_log_close(&probe);

	/* commit: the server's part here, each worker's on its loop */
	if (adminchanged) {
		if (!np->conf.admin_on) {
			admin_close(srv->admin);
			srv->admin = NULL;
		} else
			srv->admin = nadmin;
	}
	log_set_level((enum log_level)np->conf.log_level);
	pthread_mutex_lock(&srv->mu);
	iptable_free(&srv->remember);
	acct_remember_init(&srv->remember);
	pthread_mutex_unlock(&srv->mu);
	if (np->conf.state_file != NULL && (op->conf.state_file == NULL ||
	    strcmp(np->conf.state_file, op->conf.state_file) != 0) &&
	    user_states_load(&srv->users, np->conf.state_file, err,
	    sizeof(err)) == -1)
		log_warn("reload: %s", err);
	srv->pol = np;
	r->op = op;
	r->pending = srv->nworkers;
	srv->reloading = 1;
	for (k = 0; k < srv->nworkers; k++) {
		r->plans[k].pol = policy_ref(np);
		r->plans[k].logchanged = logchanged;
	}
	for (k = srv->nworkers - 1; k >= 1; k--)
		if (worker_post(srv->workers[k], reload_apply_msg, r) == -1) {
			log_err("reload: worker %d: out of memory; it keeps "
			    "generation %llu", k, (unsigned long long)
			    op->generation);
			policy_release(r->plans[k].pol);
			r->pending--;
		}
	worker_apply_reload(w0, &r->plans[0]);
	reload_done_msg(w0, r);
	return;
fail:
	reload_refused(srv, err);
	if (r != NULL)
		reload_free(r);
	policy_release(np);
}
