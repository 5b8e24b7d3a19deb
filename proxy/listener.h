/*
 * Listening sockets: bind, accept until EAGAIN (libevent's evconnlistener),
 * refuse over the limits at once, and survive descriptor exhaustion without
 * a busy loop (shed the backlog through a reserved descriptor; pause and
 * retry when even that is gone).
 */
#ifndef SLUICE_LISTENER_H
#define SLUICE_LISTENER_H

#include "netaddr.h"
#include "../conf/conf.h"

struct evconnlistener;
struct worker;

struct listener {
	struct worker	*w;
	struct evconnlistener *lev;
	enum conf_proto	proto;
	union sockaddr_u addr;		/* as configured */
	union sockaddr_u bound;		/* as bound (port resolved) */
	int		lstat;		/* its counters in the worker */
	char		cc[CONF_CC_MAX]; /* congestion control set on it, which
					   accepted sockets inherit; "": the
					   system's */
};

int		listener_bind(enum conf_proto, const union sockaddr_u *, int,
		    union sockaddr_u *, char *, size_t);
struct listener	*listener_attach(struct worker *, const struct conf_listen *,
		    int, int, char *, size_t);
void		listener_set_cc(struct listener *, const struct conf *);
void		listener_close(struct listener *);
void		listener_enable(struct listener *, int);

#endif
