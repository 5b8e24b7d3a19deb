/*
 * Congestion control per socket (TCP_CONGESTION): which one a leg gets
 * (tcp.congestion; tcp.loopback_congestion when its peer is a loopback
 * address), setting it, and checking at start that the kernel has it.
 */
#ifndef SLUICE_TCPCC_H
#define SLUICE_TCPCC_H

#include <stddef.h>

#include "netaddr.h"
#include "../conf/conf.h"

const char	*tcpcc_for(const struct conf *, const union sockaddr_u *);
int		 tcpcc_set(int, const char *);
int		 tcpcc_check(struct conf *, const char *, char *, size_t);

#endif
