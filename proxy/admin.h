/*
 * The admin listener (admin = { address; port; token; }): a small HTTP
 * server on worker 0's loop, one request per connection.  What it reports
 * or changes in the workers, it asks of each on its own thread.
 *
 *   GET  /metrics               Prometheus text exposition format
 *   GET  /sessions              live sessions, JSON
 *   POST /sessions/ID/close     cut one session (ID as in the access log)
 *   POST /users/NAME/close      cut every session of a user
 *   GET  /healthz               "ok" (no token needed)
 *
 * With a token, every request but /healthz needs "Authorization: Bearer
 * TOKEN"; a non-loopback address without a token is refused at start.
 */
#ifndef SLUICE_ADMIN_H
#define SLUICE_ADMIN_H

#include <stddef.h>

#include "netaddr.h"

struct admin;
struct evbuffer;
struct worker;

struct admin	*admin_open(struct worker *, const union sockaddr_u *, char *,
		    size_t);
void		 admin_close(struct admin *);

#endif
