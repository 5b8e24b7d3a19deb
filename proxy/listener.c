/*
 * Listening sockets: see listener.h.
 *
 * The socket is made here (so every option is ours: SO_REUSEADDR,
 * SO_REUSEPORT when each worker has its own, TCP_NODELAY inherited by
 * accepted sockets, the backlog) and handed to the worker's evconnlistener, which accepts until EAGAIN with accept4(SOCK_NONBLOCK |
 * SOCK_CLOEXEC).  Its error callback is where descriptor exhaustion
 * arrives; without one libevent would spin on the pending connection.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/listener.h>

#include "acct.h"
#include "clock.h"
#include "listener.h"
#include "log.h"
#include "server.h"
#include "session.h"
#include "tcpcc.h"
#include "worker.h"

#define LISTEN_BACKLOG	4096

static void
refuse(struct worker *w, int fd, const union sockaddr_u *peer,
    enum conf_proto proto, const char *why)
{
	struct linger l = { 1, 0 };
	struct acct_record r;
	union sockaddr_u client = *peer;

	/* a reset: the client learns at once, nothing lingers here */
	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	close(fd);
	netaddr_normalize(&client);
	memset(&r, 0, sizeof(r));
	r.worker = w->id;
	r.proto = conf_proto_name(proto);
	r.client = &client;
	r.status = "-";
	r.end = why;
	worker_record(w, &r);
}

/*
 * Room for one more session?  limits.max_connections counts every
 * worker's (taken here, atomically: given back by session_close()); the
 * descriptor budget is this worker's share.  NULL when there is room,
 * else the refusal's end= value (counted and, now and then, logged).
 */
static const char *
over_limit(struct worker *w)
{
	struct server *srv = w->srv;
	uint64_t max = (uint64_t)w->conf->max_connections, n;
	uint64_t room = 2 * w->max_sessions, need = 2 * (w->ctr.sessions_active
	    + 1);
	const char *why, *lim;
	uint64_t cap;

	/* idle pooled origin connections hold a descriptor each: they go
	   first (the oldest) when a client needs the room */
	if (w->origins.idle > 0 && need + w->origins.idle > room)
		origin_pool_trim(&w->origins, need < room ? room - need : 0);
	if (w->ctr.sessions_active >= w->max_sessions) {
		w->ctr.refused_fd++;
		why = "limit_descriptors";
		lim = "descriptors";
		cap = w->max_sessions;
	} else if (max > 0 && (n = __atomic_add_fetch(&srv->active, 1,
	    __ATOMIC_RELAXED)) > max) {
		__atomic_sub_fetch(&srv->active, 1, __ATOMIC_RELAXED);
		w->ctr.refused_max++;
		why = "limit_max_connections";
		lim = "max_connections";
		cap = max;
	} else {
		if (max == 0)
			__atomic_add_fetch(&srv->active, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	if (w->ctr.refused_max + w->ctr.refused_fd == 1 ||
	    ((w->ctr.refused_max + w->ctr.refused_fd) & 1023) == 0)
		log_warn("%llu sessions active (limit %s: %llu): refusing new "
		    "clients (%llu refused so far by worker %d)",
		    (unsigned long long)__atomic_load_n(&srv->active,
		    __ATOMIC_RELAXED), lim, (unsigned long long)cap,
		    (unsigned long long)(w->ctr.refused_max +
		    w->ctr.refused_fd), w->id);
	return why;
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct worker *w = l->w;
	union sockaddr_u peer;
	const char *why, *cc;

	(void)lev;
	memset(&peer, 0, sizeof(peer));
	if (salen > 0 && (size_t)salen <= sizeof(peer))
		memcpy(&peer, sa, (size_t)salen);
	if (w->draining) {
		refuse(w, fd, &peer, l->proto, "shutdown");
		return;
	}
	if ((why = over_limit(w)) != NULL) {
		refuse(w, fd, &peer, l->proto, why);
		return;
	}
	/* a loopback client on a listener that is not: its own congestion
	   control, while nothing has been sent yet */
	cc = tcpcc_for(w->conf, &peer);
	if (cc != NULL ? strcmp(cc, l->cc) != 0 : l->cc[0] != '\0')
		(void)tcpcc_set(fd, cc);
	session_accept(w, fd, &peer, l->proto, l->lstat);
}

static void
accept_error_cb(struct evconnlistener *lev, void *arg)
{
	struct listener *l = arg;
	int err = EVUTIL_SOCKET_ERROR();

	(void)lev;
	switch (err) {
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		worker_out_of_fds(l->w);
		break;
	default:
		log_warn("accept: %s", strerror(err));
		break;
	}
}

/*
 * A listening socket on addr (reuseport: one of several, one per worker,
 * the kernel spreading connections among them).  Returns the descriptor
 * (its address as bound in *bound: the port when 0 was asked), or -1 with
 * the reason in err.
 */
int
listener_bind(enum conf_proto proto, const union sockaddr_u *addr,
    int reuseport, union sockaddr_u *bound, char *err, size_t errlen)
{
	char a[NETADDR_STRLEN];
	socklen_t len;
	int fd, one = 1, saved;

	fd = socket(addr->sa.sa_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	    sizeof(one)) == -1))
		goto fail;
	/* Linux hands TCP_NODELAY on to the accepted sockets */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, &addr->sa, netaddr_len(addr)) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	*bound = *addr;
	len = sizeof(*bound);
	(void)getsockname(fd, &bound->sa, &len);
	return fd;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	snprintf(err, errlen, "listen %s %s: %s", conf_proto_name(proto),
	    netaddr_str(addr, a, sizeof(a)), strerror(saved));
	return -1;
}

/*
 * Worker w accepts on fd (from listener_bind(), taken over: closed here on
 * failure) for cl; lstat: the worker's counters for it.  Returns the
 * listener, or NULL with the reason in err.
 */
struct listener *
listener_attach(struct worker *w, const struct conf_listen *cl, int fd,
    int lstat, char *err, size_t errlen)
{
	struct listener *l;
	char a[NETADDR_STRLEN];
	socklen_t len;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto fail;
	l->w = w;
	l->proto = cl->proto;
	l->addr = cl->addr;
	l->bound = cl->addr;
	l->lstat = lstat;
	len = sizeof(l->bound);
	(void)getsockname(fd, &l->bound.sa, &len);
	l->lev = evconnlistener_new(w->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l->lev == NULL)
		goto fail;
	evconnlistener_set_error_cb(l->lev, accept_error_cb);
	return l;
fail:
	close(fd);
	free(l);
	snprintf(err, errlen, "listen %s %s: out of memory",
	    conf_proto_name(cl->proto), netaddr_str(&cl->addr, a, sizeof(a)));
	return NULL;
}

/*
 * Give l's socket the congestion control c wants for its clients (those
 * of a loopback address are all loopback clients): the sockets it accepts
 * inherit it, so most need no setsockopt() of their own.  At start and on
 * every reload (a kept listener may need another).
 */
void
listener_set_cc(struct listener *l, const struct conf *c)
{
	const char *cc = tcpcc_for(c, &l->bound);
	char a[NETADDR_STRLEN];

	if (cc != NULL ? strcmp(cc, l->cc) == 0 : l->cc[0] == '\0')
		return;
	if (tcpcc_set(evconnlistener_get_fd(l->lev), cc) == -1) {
		/* tcpcc_check() tried the name at start: not expected */
		log_warn("listen %s: congestion control %s: %s",
		    netaddr_str(&l->bound, a, sizeof(a)), cc != NULL ? cc :
		    "(the system's)", strerror(errno));
		return;
	}
	if (cc != NULL)
		snprintf(l->cc, sizeof(l->cc), "%s", cc);
	else
		l->cc[0] = '\0';
}

/*
 * Stop listening and free: the socket is closed, new connections are
 * refused by the kernel.
 */
void
listener_close(struct listener *l)
{
	if (l == NULL)
		return;
	if (l->lev != NULL)
		evconnlistener_free(l->lev);
	free(l);
}

void
listener_enable(struct listener *l, int on)
{
	if (l->lev == NULL)
		return;
	if (on)
		evconnlistener_enable(l->lev);
	else
		evconnlistener_disable(l->lev);
}
