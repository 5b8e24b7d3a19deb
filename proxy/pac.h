/*
 * Proxy auto-config (PAC) files: the JavaScript FindProxyForURL() a
 * browser runs for every URL, generated from the configuration.  Pure
 * code: addresses and configuration in, text out.
 */
#ifndef SLUICE_PAC_H
#define SLUICE_PAC_H

#include <stddef.h>

#include "netaddr.h"
#include "../conf/conf.h"

#define PAC_ROUTE_MAX	(2 * NETADDR_STRLEN + 32)
#define PAC_CONTENT_TYPE "application/x-ns-proxy-autoconfig"

int	pac_pick(const struct conf *, enum conf_proto *,
	    union sockaddr_u *);
void	pac_reached(const union sockaddr_u *, const union sockaddr_u *,
	    union sockaddr_u *);
int	pac_route(char *, size_t, enum conf_proto, const union sockaddr_u *);
char	*pac_script(const struct conf_dests *, const char *, size_t *);
int	pac_is_request(const char *, size_t);

#endif
