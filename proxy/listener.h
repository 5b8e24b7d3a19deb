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
	union sockaddr_u addr;		/* as bound (port resolved) */
};

int	listener_open(struct listener *, struct worker *,
	    const struct conf_listen *, char *, size_t);
void	listener_close(struct listener *);
void	listener_enable(struct listener *, int);

#endif
