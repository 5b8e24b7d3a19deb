/*
 * The outbound leg: a non-blocking connect to one address, and the one
 * table that turns connect errors and resolver failures into SOCKS5 reply
 * codes and HTTP statuses (STYLE §6).  The socket calls live here so tests
 * can replace them.
 */
#ifndef SLUICE_UPSTREAM_H
#define SLUICE_UPSTREAM_H

#include <stdint.h>

#include "netaddr.h"

int		upstream_connect(const union sockaddr_u *, const char *, int *);
int		upstream_connect_result(int);
uint8_t		upstream_errno_to_rep(int);
int		upstream_errno_to_http(int);
uint8_t		upstream_dns_to_rep(int);
int		upstream_dns_to_http(int);

#endif
