/*
 * c-ares glue and cache front: see resolver.h.
 *
 * The c-ares channel is made at the first query, not with the resolver: its
 * tables take 74 kB, and a worker whose clients send addresses never needs
 * one.  /etc/resolv.conf is then read as the user we run as; c-ares falls
 * back to 127.0.0.1 when it cannot read it, as it does for a missing file.
 * c-ares sockets are watched level-triggered (its UDP and TCP readers do not
 * drain to EAGAIN: ANCHORS B2).  After every call into c-ares the timer is
 * re-armed from ares_timeout().  Entries are the c-ares callback argument,
 * never a session: a session may die while its query runs.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ares.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "clock.h"
#include "log.h"
#include "resolver.h"
#include "../conf/conf.h"

#define NEGATIVE_TTL_MS	10000	/* NXDOMAIN / no data, capped by cache_ttl */

struct rsock {
	ares_socket_t	fd;
	struct event	ev;
	short		what;		/* EV_READ / EV_WRITE being watched */
};

struct resolver {
	struct event_base *base;
	ares_channel	channel;	/* NULL until the first query */
	int		timeout_ms;	/* dns.timeout_ms, dns.tries */
	int		tries;
	char		servers[1024];	/* dns.servers as c-ares CSV; "":
					   those of /etc/resolv.conf */
	struct event	timer;
	struct rsock	**socks;	/* sockets c-ares asked us to watch */
	int		nsocks;
	int		cap;
	struct dnscache	cache;
	int64_t		ttl_cap_ms;	/* dns.cache_ttl */
	int64_t		budget_ms;	/* dns.timeout_ms x dns.tries */
	struct dns_entry *sync;	/* entry inside ares_getaddrinfo() */
	struct resolver_stats stats;
	struct ares_addr_port_node *defaults; /* /etc/resolv.conf's servers,
					   as read when the channel was made */
};

static void	resolver_arm_timer(struct resolver *);

static void
sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	ares_process_fd(r->channel,
	    (what & EV_READ) ? (ares_socket_t)fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? (ares_socket_t)fd : ARES_SOCKET_BAD);
	resolver_arm_timer(r);
}

/*
 * c-ares tells us which sockets to watch; (0, 0) comes before it closes one.
 */
static void
sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct rsock *s = NULL, **grown;
	short what = (short)((readable ? EV_READ : 0) |
	    (writable ? EV_WRITE : 0));
	int i;

	for (i = 0; i < r->nsocks; i++)
		if (r->socks[i]->fd == fd) {
			s = r->socks[i];
			break;
		}
	if (what == 0) {
		if (s == NULL)
			return;
		event_del(&s->ev);
		free(s);
		r->socks[i] = r->socks[--r->nsocks];
		return;
	}
	if (s == NULL) {
		if (r->nsocks == r->cap) {
			grown = reallocarray(r->socks, (size_t)r->cap * 2 + 4,
			    sizeof(*grown));
			if (grown == NULL)
				goto oom;
			r->socks = grown;
			r->cap = r->cap * 2 + 4;
		}
		if ((s = calloc(1, sizeof(*s))) == NULL)
			goto oom;
		s->fd = fd;
		r->socks[r->nsocks++] = s;
	} else {
		if (s->what == what)
			return;
		event_del(&s->ev);
	}
	s->what = what;
	event_assign(&s->ev, r->base, fd, what | EV_PERSIST, sock_cb, r);
	event_add(&s->ev, NULL);
	return;
oom:
	/* the query on this socket will time out */
	log_err("%s: out of memory watching a DNS socket", __func__);
}

static void
timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	(void)fd;
	(void)what;
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_arm_timer(r);
}

static void
resolver_arm_timer(struct resolver *r)
{
	struct timeval tv, *tvp;

	tvp = ares_timeout(r->channel, NULL, &tv);
	if (tvp == NULL)
		evtimer_del(&r->timer);
	else
		evtimer_add(&r->timer, tvp);
}

/* c-ares server list "a:p,[v6]:p" of the configuration into csv. */
static int
servers_csv(const struct conf *c, char *csv, size_t len, char *err,
    size_t errlen)
{
	char one[NETADDR_STRLEN];
	size_t used = 0;
	int i, rc;

	csv[0] = '\0';
	for (i = 0; i < c->ndns_servers; i++) {
		netaddr_str(&c->dns_servers[i], one, sizeof(one));
		rc = snprintf(csv + used, len - used, "%s%s", i ? "," : "",
		    one);
		if (rc < 0 || (size_t)rc >= len - used) {
			snprintf(err, errlen, "dns.servers: too many servers");
			return -1;
		}
		used += (size_t)rc;
	}
	return 0;
}

/*
 * Make the channel: /etc/resolv.conf is read now, then dns.servers (if
 * any) replace its servers.  ARES_SUCCESS or why not.
 */
static int
channel_open(struct resolver *r)
{
	struct ares_options o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.sock_state_cb = sock_state_cb;
	o.sock_state_cb_data = r;
	o.timeout = r->timeout_ms;
	o.tries = r->tries;
	rc = ares_init_options(&r->channel, &o,
	    ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		r->channel = NULL;
		return rc;
	}
	if (ares_get_servers_ports(r->channel, &r->defaults) != ARES_SUCCESS)
		r->defaults = NULL;
	if (r->servers[0] != '\0' &&
	    (rc = ares_set_servers_ports_csv(r->channel, r->servers)) !=
	    ARES_SUCCESS) {
		if (r->defaults != NULL)
			ares_free_data(r->defaults);
		r->defaults = NULL;
		ares_destroy(r->channel);
		r->channel = NULL;
		return rc;
	}
	return ARES_SUCCESS;
}

/*
 * A resolver on base for the configuration's dns section.  NULL with the
 * reason in err.
 */
struct resolver *
resolver_new(struct event_base *base, const struct conf *c, char *err,
    size_t errlen)
{
	struct siphash_key key;
	struct resolver *r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->base = base;
	r->ttl_cap_ms = (int64_t)c->dns_cache_ttl * 1000;
	r->budget_ms = (int64_t)c->dns_timeout_ms * c->dns_tries;
	r->timeout_ms = c->dns_timeout_ms;
	r->tries = c->dns_tries;
	evtimer_assign(&r->timer, base, timer_cb, r);
	if (servers_csv(c, r->servers, sizeof(r->servers), err, errlen) ==
	    -1) {
		free(r);
		return NULL;
	}
	if (siphash_key_random(&key) == -1 ||
	    dnscache_init(&r->cache, c->dns_cache_ttl > 0 ?
	    (size_t)c->dns_cache_size : 0, &key) == -1) {
		snprintf(err, errlen, "DNS cache: %s", strerror(errno));
		free(r);
		return NULL;
	}
	return r;
}

/*
 * Destroy: pending queries end with ARES_EDESTRUCTION and their entries are
 * freed.  Every waiter must have been cancelled before.
 */
void
resolver_free(struct resolver *r)
{
	int i;

	if (r == NULL)
		return;
	dnscache_free(&r->cache);
	if (r->defaults != NULL)
		ares_free_data(r->defaults);
	if (r->channel != NULL)
		ares_destroy(r->channel);
	evtimer_del(&r->timer);
	for (i = 0; i < r->nsocks; i++) {
		event_del(&r->socks[i]->ev);
		free(r->socks[i]);
	}
	free(r->socks);
	free(r);
}

/*
 * The addresses of an answer, IPv6 and IPv4 interleaved (IPv6 first, as
 * RFC 8305 suggests), at most DNS_MAX_ADDRS, and the smallest TTL seen.
 */
static struct dns_addrs *
collect(const struct ares_addrinfo *res, int *ttl)
{
	const struct ares_addrinfo_node *n;
	union sockaddr_u v4[DNS_MAX_ADDRS], v6[DNS_MAX_ADDRS];
	struct dns_addrs *a;
	int n4 = 0, n6 = 0, i4 = 0, i6 = 0;

	*ttl = -1;
	for (n = res->nodes; n != NULL; n = n->ai_next) {
		if (n->ai_family == AF_INET && n4 < DNS_MAX_ADDRS &&
		    n->ai_addrlen >= sizeof(struct sockaddr_in)) {
			memset(&v4[n4], 0, sizeof(v4[n4]));
			memcpy(&v4[n4].in, n->ai_addr, sizeof(v4[n4].in));
			v4[n4++].in.sin_port = 0;
		} else if (n->ai_family == AF_INET6 && n6 < DNS_MAX_ADDRS &&
		    n->ai_addrlen >= sizeof(struct sockaddr_in6)) {
			memcpy(&v6[n6].in6, n->ai_addr, sizeof(v6[n6].in6));
			v6[n6++].in6.sin6_port = 0;
		} else
			continue;
		if (*ttl == -1 || n->ai_ttl < *ttl)
			*ttl = n->ai_ttl;
	}
	if (n4 + n6 == 0)
		return NULL;
	if ((a = dns_addrs_new(n4 + n6 > DNS_MAX_ADDRS ? DNS_MAX_ADDRS :
	    n4 + n6)) == NULL)
		return NULL;
	while (a->n < DNS_MAX_ADDRS && (i4 < n4 || i6 < n6)) {
		if (i6 < n6)
			a->a[a->n++] = v6[i6++];
		if (i4 < n4 && a->n < DNS_MAX_ADDRS)
			a->a[a->n++] = v4[i4++];
	}
	return a;
}

/*
 * How long to keep an answer: the smallest TTL, capped by dns.cache_ttl;
 * an answer from /etc/hosts (it has no TTL; c-ares answers those inside
 * ares_getaddrinfo()) for the cap; NXDOMAIN and "no such record" briefly;
 * other failures (timeouts, SERVFAIL, refused) not at all, so the next
 * client tries again.
 */
static int64_t
keep_ms(const struct resolver *r, int status, int ttl, int from_hosts)
{
	int64_t ms;

	if (status == ARES_ENOTFOUND || status == ARES_ENODATA)
		ms = NEGATIVE_TTL_MS;
	else if (status != ARES_SUCCESS)
		return 0;
	else if (from_hosts)
		ms = r->ttl_cap_ms;
	else if (ttl <= 0)
		return 0;
	else
		ms = (int64_t)ttl * 1000;
	return ms < r->ttl_cap_ms ? ms : r->ttl_cap_ms;
}

static void	addrinfo_cb(void *, int, int, struct ares_addrinfo *);

static void
send_query(struct resolver *r, struct dns_entry *e)
{
	struct ares_addrinfo_hints hints;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = ARES_AI_NOSORT;
	r->stats.queries++;
	ares_getaddrinfo(r->channel, e->name, NULL, &hints, addrinfo_cb, e);
}

static void
addrinfo_cb(void *arg, int status, int timeouts, struct ares_addrinfo *res)
{
	struct dns_entry *e = arg;
	struct resolver *r = e->owner;
	struct dns_addrs *addrs = NULL;
	int64_t now;
	int ttl = 0;

	(void)timeouts;
	if (status == ARES_EDESTRUCTION) {
		/* the resolver is going away; nobody waits any more */
		if (res != NULL)
			ares_freeaddrinfo(res);
		dnscache_entry_free(e);
		return;
	}
	/*
	 * c-ares 1.18 fails every query queued on a server's TCP connection
	 * when that connection closes or resets, which a server may do after
	 * answering one (RFC 7766 6.2.3): queries that were only sharing it,
	 * over UDP mostly, get ARES_ECONNREFUSED.  Send such a query once
	 * more, if its time is not up.
	 */
	if (status == ARES_ECONNREFUSED && !e->retried && r->sync != e &&
	    clock_ms() - e->started < r->budget_ms) {
		if (res != NULL)
			ares_freeaddrinfo(res);
		e->retried = 1;
		send_query(r, e);	/* may complete e at once: not used after */
		return;
	}
	if (status == ARES_SUCCESS && res != NULL &&
	    (addrs = collect(res, &ttl)) == NULL)
		status = ARES_ENODATA;
	if (res != NULL)
		ares_freeaddrinfo(res);
	if (status != ARES_SUCCESS)
		r->stats.failures++;
	now = clock_ms();
	dnscache_complete(&r->cache, e, status, addrs,
	    keep_ms(r, status, ttl, r->sync == e), now);
	if (r->sync == e)
		return;		/* answered inside ares_getaddrinfo() */
	dnscache_notify(e);
	if (!e->in_table)
		dnscache_entry_free(e);
}

/*
 * Resolve name (not an IP literal: callers handle those).  Either answers
 * now (RESOLVER_DONE: *status is 0 or an ARES_* code, *addrs a new
 * reference on success, else NULL) or links w and returns RESOLVER_PENDING:
 * cb(w, status, addrs) runs later from the loop, with addrs borrowed.  A
 * waiter leaves with dns_waiter_cancel().
 */
enum resolver_rc
resolver_lookup(struct resolver *r, const char *name, struct dns_waiter *w,
    dns_waiter_cb cb, int *status, struct dns_addrs **addrs)
{
	struct dns_entry *e;
	int64_t now = clock_ms();
	int rc;

	r->stats.lookups++;
	e = dnscache_find(&r->cache, name, now);
	if (e != NULL && !e->pending) {
		r->stats.hits++;
		*status = e->status;
		*addrs = dns_addrs_ref(e->addrs);
		return RESOLVER_DONE;
	}
	if (e != NULL) {
		r->stats.shared++;
		dnscache_wait(e, w, cb);
		return RESOLVER_PENDING;
	}
	if (r->channel == NULL && (rc = channel_open(r)) != ARES_SUCCESS) {
		/* tried again at the next lookup */
		log_err("DNS: cannot start c-ares: %s", ares_strerror(rc));
		r->stats.failures++;
		*status = rc;
		*addrs = NULL;
		return RESOLVER_DONE;
	}
	if ((e = dnscache_add_pending(&r->cache, name, now)) == NULL) {
		*status = ARES_ENOMEM;
		*addrs = NULL;
		return RESOLVER_DONE;
	}
	e->owner = r;
	r->sync = e;
	send_query(r, e);
	r->sync = NULL;
	if (!e->pending) {
		/* /etc/hosts, or a failure c-ares reported at once */
		*status = e->status;
		*addrs = dns_addrs_ref(e->addrs);
		if (!e->in_table)
			dnscache_entry_free(e);
		return RESOLVER_DONE;
	}
	dnscache_wait(e, w, cb);
	resolver_arm_timer(r);
	return RESOLVER_PENDING;
}

const struct resolver_stats *
resolver_stats(const struct resolver *r)
{
	return &r->stats;
}

/*
 * Short text for a status from resolver_lookup().
 */
const char *
resolver_strerror(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return "ok";
	case ARES_ENOTFOUND:
		return "no such host (NXDOMAIN)";
	case ARES_ENODATA:
		return "no address for host";
	case ARES_ETIMEOUT:
		return "DNS timeout";
	case ARES_ESERVFAIL:
		return "DNS server failure";
	case ARES_EREFUSED:
		return "DNS query refused";
	case ARES_ECONNREFUSED:
		return "DNS server unreachable";
	case ARES_EBADRESP:
		return "bad DNS response";
	case ARES_EBADNAME:
		return "invalid host name";
	default:
		return ares_strerror(status);
	}
}

/*
 * 1 when the status means no answer came in time (HTTP answers 504).
 */
int
resolver_is_timeout(int status)
{
	return status == ARES_ETIMEOUT;
}

/*
 * A reload: new servers and cache cap take effect for new lookups (the
 * cache is emptied; answers in flight still come back).  Timeouts and
 * tries are fixed when the resolver is made.
 */
void
resolver_reconfigure(struct resolver *r, const struct conf *c)
{
	char csv[sizeof(r->servers)], err[256];
	int rc = ARES_SUCCESS;

	if (servers_csv(c, csv, sizeof(csv), err, sizeof(err)) == -1)
		log_warn("reload: %s", err);
	else
		memcpy(r->servers, csv, sizeof(csv));
	/* no servers configured: those of /etc/resolv.conf as read when the
	   channel was made (a changed resolv.conf needs a restart) */
	if (r->channel != NULL && r->servers[0] != '\0')
		rc = ares_set_servers_ports_csv(r->channel, r->servers);
	else if (r->channel != NULL && r->defaults != NULL)
		rc = ares_set_servers_ports(r->channel, r->defaults);
	if (rc != ARES_SUCCESS)
		log_warn("reload: DNS servers: %s", ares_strerror(rc));
	r->ttl_cap_ms = (int64_t)c->dns_cache_ttl * 1000;
	dnscache_flush(&r->cache);
	r->cache.max = c->dns_cache_ttl > 0 ? (size_t)c->dns_cache_size : 0;
}
