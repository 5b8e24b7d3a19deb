/*
 * Rule matching: see rules.h.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rules.h"

static int
strp_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

#define DEST_NONE	0
#define DEST_SUFFIX	1	/* matched by "*.suffix" */
#define DEST_EXACT	2	/* matched by an exact name or an address
				   block: explicit enough to reach a
				   protected address */

static int
host_match(const struct conf_rule *r, const char *host)
{
	char h[256];
	size_t n, sl;
	int i;

	for (n = 0; n < sizeof(h) - 1 && host[n] != '\0'; n++)
		h[n] = (char)tolower((unsigned char)host[n]);
	h[n] = '\0';
	while (n > 1 && h[n - 1] == '.')
		h[--n] = '\0';
	for (i = 0; i < r->dest.nhosts; i++)
		if (strcmp(h, r->dest.hosts[i]) == 0)
			return DEST_EXACT;
	for (i = 0; i < r->dest.nsuffixes; i++) {
		sl = strlen(r->dest.suffixes[i]);
		if (n > sl && strcmp(h + n - sl, r->dest.suffixes[i]) == 0)
			return DEST_SUFFIX;
	}
	return DEST_NONE;
}

/*
 * 1 when host (case-insensitive, a trailing dot ignored) is one of the
 * rule's exact names or ends in one of its suffixes ("*.example.com"
 * matches "a.example.com" and "a.b.example.com", not "example.com").
 */
int
rules_host_match(const struct conf_rule *r, const char *host)
{
	return host_match(r, host) != DEST_NONE;
}

static int
dest_match(const struct conf_rule *r, const struct rules_query *q)
{
	int i, m = DEST_NONE;

	if (q->addr != NULL)
		for (i = 0; i < r->dest.ncidrs; i++)
			if (netaddr_cidr_match(&r->dest.cidrs[i], q->addr))
				return DEST_EXACT;
	if (q->host != NULL)
		m = host_match(r, q->host);
	return m;
}

/*
 * 1 when every key the rule has matches the query.
 */
int
rules_match(const struct conf_rule *r, const struct rules_query *q)
{
	int i, ok;

	if (r->has_dest && !dest_match(r, q))
		return 0;
	if (r->nports > 0) {
		for (i = 0, ok = 0; i < r->nports && !ok; i++)
			ok = q->port >= r->ports[i].lo &&
			    q->port <= r->ports[i].hi;
		if (!ok)
			return 0;
	}
	if (r->has_users && (q->user == NULL || r->nusers == 0 ||
	    bsearch(&q->user, r->users, (size_t)r->nusers, sizeof(char *),
	    strp_cmp) == NULL))
		return 0;
	if (r->nclients > 0) {
		for (i = 0, ok = 0; i < r->nclients && !ok; i++)
			ok = netaddr_cidr_match(&r->clients[i], q->client);
		if (!ok)
			return 0;
	}
	if (r->protocols != 0 && !(r->protocols & q->protocol))
		return 0;
	if (r->nmethods > 0) {
		if (q->method == NULL)
			return 0;
		for (i = 0, ok = 0; i < r->nmethods && !ok; i++)
			ok = strcmp(r->methods[i], q->method) == 0;
		if (!ok)
			return 0;
	}
	return 1;
}

/*
 * 1 when the address is one a shared gateway keeps clients away from.
 */
int
rules_protected(const struct rules_guard *g, const union sockaddr_u *a)
{
	union sockaddr_u n = *a;
	int i;

	if (!g->shared)
		return 0;
	netaddr_normalize(&n);
	if (netaddr_is_loopback(&n) || netaddr_is_link_local(&n) ||
	    netaddr_is_any(&n))
		return 1;
	/* 0.0.0.0/8 reaches this host on Linux */
	if (n.sa.sa_family == AF_INET && (ntohl(n.in.sin_addr.s_addr) >> 24)
	    == 0)
		return 1;
	for (i = 0; i < g->nown; i++)
		if (netaddr_cidr_match(&g->own[i], &n))
			return 1;
	return 0;
}

/*
 * The verdict for one query: the first matching rule's action (a
 * protected destination needs that rule to name it in its dest), else
 * allow, or deny for a protected destination.
 */
void
rules_check(const struct conf *c, const struct rules_guard *g,
    const struct rules_query *q, struct rules_verdict *v)
{
	const struct conf_rule *r;
	int i, prot = q->addr != NULL && rules_protected(g, q->addr);

	memset(v, 0, sizeof(*v));
	for (i = 0; i < c->nrules; i++) {
		r = &c->rules[i];
		if (!rules_match(r, q))
			continue;
		v->rule = i + 1;
		v->action = r->action;
		/* a protected address needs a rule that names it: by address
		   block or exact name, not a catch-all or a *.suffix (which a
		   name resolving to 127.0.0.1 would pass) */
		if (r->action == CONF_ALLOW && prot &&
		    (!r->has_dest || dest_match(r, q) != DEST_EXACT)) {
			v->action = CONF_DENY;
			v->protected = 1;
		}
		return;
	}
	v->action = prot ? CONF_DENY : CONF_ALLOW;
	v->protected = prot;
}
