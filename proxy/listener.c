/*
 * Listening sockets: see listener.h.
 *
 * The socket is made here (so every option is ours: SO_REUSEADDR,
 * TCP_NODELAY inherited by accepted sockets, the backlog) and handed to an
 * evconnlistener, which accepts until EAGAIN with accept4(SOCK_NONBLOCK |
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
#include "session.h"
#include "worker.h"

#define LISTEN_BACKLOG	4096

static void
refuse(struct worker *w, int fd, const union sockaddr_u *peer,
    enum conf_proto proto, const char *why)
{
	struct linger l = { 1, 0 };
	struct acct_record r;
	struct timeval tv;
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
	gettimeofday(&tv, NULL);
	acct_log_session(&w->alog, &r, tv.tv_sec, tv.tv_usec);
}

static void
accept_cb(struct evconnlistener *lev, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct listener *l = arg;
	struct worker *w = l->w;
	union sockaddr_u peer;

	(void)lev;
	memset(&peer, 0, sizeof(peer));
	if (salen > 0 && (size_t)salen <= sizeof(peer))
		memcpy(&peer, sa, (size_t)salen);
	if (w->draining) {
		refuse(w, fd, &peer, l->proto, "shutdown");
		return;
	}
	if (w->ctr.sessions_active >= w->max_sessions) {
		if (w->conf->max_connections > 0 &&
		    w->ctr.sessions_active >= (uint64_t)w->conf->max_connections)
			w->ctr.refused_max++;
		else
			w->ctr.refused_fd++;
		if (w->ctr.refused_max + w->ctr.refused_fd == 1 ||
		    ((w->ctr.refused_max + w->ctr.refused_fd) & 1023) == 0)
			log_warn("%llu sessions active (limit %llu): refusing "
			    "new clients (%llu refused so far)",
			    (unsigned long long)w->ctr.sessions_active,
			    (unsigned long long)w->max_sessions,
			    (unsigned long long)(w->ctr.refused_max +
			    w->ctr.refused_fd));
		refuse(w, fd, &peer, l->proto, "limit_max_connections");
		return;
	}
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
 * Bind and listen on cl->addr for worker w; lstat: the worker's counters
 * for it.  Returns the listener, or NULL with the reason in err.
 */
struct listener *
listener_open(struct worker *w, const struct conf_listen *cl, int lstat,
    char *err, size_t errlen)
{
	struct listener *l;
	char a[NETADDR_STRLEN];
	socklen_t len;
	int fd = -1, one = 1, saved;

	netaddr_str(&cl->addr, a, sizeof(a));
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto fail;
	l->w = w;
	l->proto = cl->proto;
	l->addr = cl->addr;
	l->bound = cl->addr;
	l->lstat = lstat;
	fd = socket(cl->addr.sa.sa_family,
	    SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_TCP);
	if (fd == -1)
		goto fail;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
		goto fail;
	/* Linux hands TCP_NODELAY on to the accepted sockets */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(fd, &cl->addr.sa, netaddr_len(&cl->addr)) == -1 ||
	    listen(fd, LISTEN_BACKLOG) == -1)
		goto fail;
	len = sizeof(l->bound);
	(void)getsockname(fd, &l->bound.sa, &len);
	l->lev = evconnlistener_new(w->base, accept_cb, l,
	    LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC, 0, fd);
	if (l->lev == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	evconnlistener_set_error_cb(l->lev, accept_error_cb);
	return l;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	free(l);
	snprintf(err, errlen, "listen %s %s: %s", conf_proto_name(cl->proto),
	    a, strerror(saved));
	return NULL;
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
