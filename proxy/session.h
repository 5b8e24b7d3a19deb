/*
 * The per-client object and its state machine.  A session starts on a
 * buffered socket (sio.h: negotiation, HTTP heads and bodies), resolves and
 * connects a target, and then either becomes a tunnel on raw edge-triggered
 * events (relay.c) or, for HTTP requests in absolute form, forwards request
 * after request to origin connections (session_http.c, origin.c).  One
 * owner (the session) for every resource it holds; one way to die
 * (session_close()).
 *
 * session.c holds the life cycle and what every protocol shares (sniffing,
 * resolving, connecting, the hand-over to the relay, failures, timers);
 * session_socks.c the SOCKS5 and SOCKS4 negotiations; session_http.c the
 * HTTP proxy.  They share session-internal.h.
 */
#ifndef SLUICE_SESSION_H
#define SLUICE_SESSION_H

#include <stdint.h>

#include <event2/event.h>
#include <event2/event_struct.h>

#include "dnscache.h"
#include "netaddr.h"
#include "relay.h"
#include "../conf/conf.h"

struct auth_user;
struct sio;
struct listener_stats;
struct policy;
struct crypt_job;
struct http_state;
struct worker;

enum session_kind {
	SESSION_K_SNIFF = 0,		/* not known yet (auto listener) */
	SESSION_K_SOCKS5,
	SESSION_K_SOCKS4,
	SESSION_K_HTTP,
};

enum session_state {
	SESSION_S_SNIFF = 0,		/* first byte decides the protocol */
	SESSION_S_S5_GREETING,		/* RFC 1928 §3 method selection */
	SESSION_S_S5_AUTH,		/* RFC 1929 sub-negotiation */
	SESSION_S_S5_AUTH_WAIT,		/* crypt(3) check in the pool */
	SESSION_S_S5_REQUEST,		/* RFC 1928 §4 request */
	SESSION_S_S4_REQUEST,		/* SOCKS4/4a request */
	SESSION_S_HTTP_HEAD,		/* waiting for a request head */
	SESSION_S_HTTP_AUTH_WAIT,	/* Basic credentials in the pool */
	SESSION_S_RESOLVING,		/* waiting for DNS */
	SESSION_S_CONNECTING,		/* outbound connect in progress */
	SESSION_S_HTTP_FORWARD,		/* a request/response on its way */
	SESSION_S_RELAY,		/* tunnel: relay.c moves the bytes */
	SESSION_S_LINGER,		/* final answer sent; draining input */
	SESSION_S_CLOSED,
};

#define SESSION_F_CLIENT_EOF	0x01	/* client half-closed before relay */
#define SESSION_F_CLIENT_SLOT	0x02	/* holds a per_client slot */
#define SESSION_F_USER_SLOT	0x04	/* holds a per_user slot */
#define SESSION_F_REPLIED	0x08	/* a SOCKS reply was sent */
#define SESSION_F_FLUSH_CLOSE	0x10	/* close once output is flushed */
#define SESSION_F_LOGGED	0x20	/* its access-log line is written */
#define SESSION_F_THROTTLED	0x40	/* a bandwidth limit holds it */

struct session {
	struct session	*next, *prev;	/* worker's list of live sessions */
	struct worker	*w;
	struct policy	*pol;		/* the configuration it runs under */
	const struct conf *conf;	/* &pol->conf */
	uint64_t	id;
	enum session_state state;
	enum session_kind kind;
	enum conf_proto	listener;	/* protocol of the listener */
	unsigned	flags;		/* SESSION_F_* */
	uint8_t		rep;		/* SOCKS reply sent, if REPLIED */
	uint8_t		addr_idx;	/* next address to try */
	uint16_t	port;		/* target port */
	union sockaddr_u client;	/* peer address */
	union sockaddr_u trying;	/* target address being tried */
	union sockaddr_u connected;	/* target address connected to */
	int64_t		t_start;	/* ms: accepted */
	int64_t		t_deadline;	/* ms: connect must be done by then */
	int64_t		t_phase;	/* ms: the lookup or connect began */
	struct sio	*io;		/* client, until a tunnel starts */
	struct event	timer;		/* the one deadline of the state */
	struct relay	relay;		/* ends (sockets, events), dirs */
	struct dns_waiter dns;		/* while RESOLVING */
	struct dns_addrs *addrs;	/* while CONNECTING */
	char		*host;		/* target as requested */
	struct auth_user *user;		/* authenticated user, or NULL */
	struct crypt_job *crypt;	/* check in flight, or NULL */
	struct http_state *http;	/* HTTP sessions only */
	int		err;		/* errno of the last failure */
	const char	*end;		/* why it ended: one token */
	uint64_t	charged[2];	/* relay bytes counted for the user */
	uint64_t	http_up;	/* bytes of forwarded HTTP requests */
	uint64_t	http_down;
	int		denied_rule;	/* rule that refused it (1-based) */
	struct listener_stats *lstat;	/* counters of its listener */
	struct event	*throttle;	/* bandwidth wait (allocated when
					   first needed) */
};

int	session_accept(struct worker *, int, const union sockaddr_u *,
	    enum conf_proto, int);
void	session_close(struct session *, const char *);
void	session_close_all(struct worker *, const char *);
void	session_log_interim(struct session *);
void	session_http_live(const struct session *, uint64_t *, uint64_t *);
const char *session_state_name(enum session_state);

#endif
