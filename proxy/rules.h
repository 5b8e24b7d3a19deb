/*
 * Who may go where: the "rules" list of the configuration, first match
 * wins, evaluated after auth and after DNS, on every address a name
 * resolved to (so a name that resolves into a forbidden block is refused:
 * no DNS-rebinding way around a rule).  Pure: the caller gives the facts.
 *
 * Safe by default: on a shared gateway (a listener off loopback),
 * destinations on loopback, link-local (169.254.0.0/16, fe80::/10), the
 * unspecified address and this host's own addresses are refused unless the
 * rule that allows them names them in its dest, by address block or exact
 * host name (a *.suffix is not enough: a name under it may resolve to
 * 127.0.0.1).
 */
#ifndef SLUICE_RULES_H
#define SLUICE_RULES_H

#include <stdint.h>

#include "netaddr.h"
#include "../conf/conf.h"

struct rules_query {
	const char	*user;		/* authenticated name, or NULL */
	const union sockaddr_u *client;
	unsigned	protocol;	/* one CONF_P_* */
	const char	*method;	/* HTTP method, or NULL */
	const char	*host;		/* as requested: name or address */
	uint16_t	port;
	const union sockaddr_u *addr;	/* a resolved address, or NULL */
};

struct rules_verdict {
	enum conf_action action;
	int		rule;		/* 1-based index of the rule; 0 when
					   none matched */
	int		protected;	/* refused as a protected destination */
};

struct rules_guard {
	int		shared;		/* protect local destinations */
	const struct netaddr_cidr *own;	/* this host's addresses */
	int		nown;
};

int	rules_match(const struct conf_rule *, const struct rules_query *);
void	rules_check(const struct conf *, const struct rules_guard *,
	    const struct rules_query *, struct rules_verdict *);
int	rules_protected(const struct rules_guard *, const union sockaddr_u *);
int	rules_host_match(const struct conf_rule *, const char *);

#endif
