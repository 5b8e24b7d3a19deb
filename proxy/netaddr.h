/*
 * Socket address helpers shared by the configuration, the codecs and the
 * logs: one union for IPv4/IPv6, parsing of "ADDR:PORT" / "[V6]:PORT",
 * formatting, and classification.  No I/O.
 */
#ifndef SLUICE_NETADDR_H
#define SLUICE_NETADDR_H

#include <sys/socket.h>
#include <netinet/in.h>

#include <stddef.h>
#include <stdint.h>

union sockaddr_u {
	struct sockaddr		sa;
	struct sockaddr_in	in;
	struct sockaddr_in6	in6;
};

/* "255.255.255.255:65535", "[ffff:...:ffff%scope]:65535" and a NUL */
#define NETADDR_STRLEN	80

/* An address block: 10.0.0.0/8, fd00::/8, or one address (/32, /128). */
struct netaddr_cidr {
	union sockaddr_u addr;		/* host bits zero, port 0 */
	uint8_t		prefix;		/* 0..32 or 0..128 */
};

socklen_t	netaddr_len(const union sockaddr_u *);
uint16_t	netaddr_port(const union sockaddr_u *);
void		netaddr_set_port(union sockaddr_u *, uint16_t);
int		netaddr_parse_ip(const char *, union sockaddr_u *);
int		netaddr_parse_hostport(const char *, union sockaddr_u *,
		    int default_port);
const char	*netaddr_str(const union sockaddr_u *, char *, size_t);
const char	*netaddr_ip_str(const union sockaddr_u *, char *, size_t);
void		netaddr_normalize(union sockaddr_u *);
int		netaddr_is_loopback(const union sockaddr_u *);
int		netaddr_is_any(const union sockaddr_u *);
int		netaddr_ip_equal(const union sockaddr_u *,
		    const union sockaddr_u *);
int		netaddr_parse_cidr(const char *, struct netaddr_cidr *);
int		netaddr_cidr_match(const struct netaddr_cidr *,
		    const union sockaddr_u *);
const char	*netaddr_cidr_str(const struct netaddr_cidr *, char *, size_t);
int		netaddr_is_link_local(const union sockaddr_u *);

#endif
