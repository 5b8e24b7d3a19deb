/*
 * Socket address helpers: parse, format, classify.  Pure code.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fmt.h"
#include "netaddr.h"

/*
 * Length of the sockaddr for its family, 0 for an unset address.
 */
socklen_t
netaddr_len(const union sockaddr_u *a)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		return sizeof(a->in);
	case AF_INET6:
		return sizeof(a->in6);
	default:
		return 0;
	}
}

/*
 * Port in host byte order, 0 for an unset address.
 */
uint16_t
netaddr_port(const union sockaddr_u *a)
{
	switch (a->sa.sa_family) {
	case AF_INET:
		return ntohs(a->in.sin_port);
	case AF_INET6:
		return ntohs(a->in6.sin6_port);
	default:
		return 0;
	}
}

void
netaddr_set_port(union sockaddr_u *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in.sin_port = htons(port);
	else if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
}

/*
 * Parse a bare IPv4 or IPv6 literal (no brackets, no port) into *a with
 * port 0.  Returns 0, or -1 if the text is not an address.
 */
int
netaddr_parse_ip(const char *s, union sockaddr_u *a)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, s, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		return 0;
	}
	return -1;
}

/*
 * Parse "IPV4:PORT", "[IPV6]:PORT", a bare IPv4 or IPv6 literal, or
 * "[IPV6]".  A missing port takes default_port; with default_port < 0 the
 * port is required.  Returns 0, or -1 (EINVAL) on any malformed input.
 */
int
netaddr_parse_hostport(const char *s, union sockaddr_u *a, int default_port)
{
	char host[INET6_ADDRSTRLEN + 1];
	const char *port = NULL, *end;
	size_t hlen;
	long p;
	char *ep;

	if (s[0] == '[') {
		end = strchr(s, ']');
		if (end == NULL)
			goto bad;
		hlen = (size_t)(end - s - 1);
		if (hlen == 0 || hlen >= sizeof(host))
			goto bad;
		memcpy(host, s + 1, hlen);
		host[hlen] = '\0';
		if (end[1] == ':')
			port = end + 2;
		else if (end[1] != '\0')
			goto bad;
		if (netaddr_parse_ip(host, a) == -1 ||
		    a->sa.sa_family != AF_INET6)
			goto bad;
	} else {
		end = strrchr(s, ':');
		if (end != NULL && strchr(s, ':') != end) {
			/* several colons and no brackets: a bare IPv6 */
			if (netaddr_parse_ip(s, a) == -1)
				goto bad;
			end = NULL;
		} else {
			hlen = end != NULL ? (size_t)(end - s) : strlen(s);
			if (hlen == 0 || hlen >= sizeof(host))
				goto bad;
			memcpy(host, s, hlen);
			host[hlen] = '\0';
			if (netaddr_parse_ip(host, a) == -1)
				goto bad;
			if (end != NULL)
				port = end + 1;
		}
	}
	if (port == NULL) {
		if (default_port < 0)
			goto bad;
		netaddr_set_port(a, (uint16_t)default_port);
		return 0;
	}
	if (*port < '0' || *port > '9')
		goto bad;
	errno = 0;
	p = strtol(port, &ep, 10);
	if (errno != 0 || *ep != '\0' || p < 0 || p > 65535)
		goto bad;
	netaddr_set_port(a, (uint16_t)p);
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/*
 * Format the address only ("127.0.0.1", "::1").  Returns buf.
 */
const char *
netaddr_ip_str(const union sockaddr_u *a, char *buf, size_t len)
{
	const uint8_t *b;
	char *o;
	int i;

	if (a->sa.sa_family == AF_INET && len >= INET_ADDRSTRLEN) {
		/* every access-log line prints one or two: no inet_ntop() */
		b = (const uint8_t *)&a->in.sin_addr;
		o = buf;
		for (i = 0; i < 4; i++) {
			if (b[i] >= 100)
				*o++ = (char)('0' + b[i] / 100);
			if (b[i] >= 10)
				*o++ = (char)('0' + b[i] / 10 % 10);
			*o++ = (char)('0' + b[i] % 10);
			*o++ = i < 3 ? '.' : '\0';
		}
		return buf;
	}
	if (a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6) {
		snprintf(buf, len, "-");
		return buf;
	}
	if (inet_ntop(a->sa.sa_family, a->sa.sa_family == AF_INET ?
	    (const void *)&a->in.sin_addr : (const void *)&a->in6.sin6_addr,
	    buf, (socklen_t)len) == NULL)
		snprintf(buf, len, "?");
	return buf;
}

/*
 * Format "ADDR:PORT", with brackets for IPv6.  Returns buf, which should be
 * NETADDR_STRLEN bytes.
 */
const char *
netaddr_str(const union sockaddr_u *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN], out[NETADDR_STRLEN], d[FMT_U64_LEN], *p;
	size_t n, i = 0;

	if (a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6) {
		snprintf(buf, len, "-");
		return buf;
	}
	netaddr_ip_str(a, ip, sizeof(ip));
	n = strlen(ip);
	if (a->sa.sa_family == AF_INET6)
		out[i++] = '[';
	memcpy(out + i, ip, n);		/* INET6_ADDRSTRLEN + 8 fit out */
	i += n;
	if (a->sa.sa_family == AF_INET6)
		out[i++] = ']';
	out[i++] = ':';
	p = fmt_u64(d + sizeof(d), netaddr_port(a));
	memcpy(out + i, p, (size_t)(d + sizeof(d) - p));
	i += (size_t)(d + sizeof(d) - p);
	/* as snprintf() would: cut to the buffer, always terminated */
	if (len == 0)
		return buf;
	if (i > len - 1)
		i = len - 1;
	memcpy(buf, out, i);
	buf[i] = '\0';
	return buf;
}

/*
 * Turn an IPv4-mapped IPv6 address (::ffff:a.b.c.d, what a dual-stack
 * listener reports for IPv4 clients) into plain IPv4, so that limits and
 * logs see one client as one address.
 */
void
netaddr_normalize(union sockaddr_u *a)
{
	struct sockaddr_in in;

	if (a->sa.sa_family != AF_INET6 ||
	    !IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr))
		return;
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = a->in6.sin6_port;
	memcpy(&in.sin_addr, &a->in6.sin6_addr.s6_addr[12], 4);
	memset(a, 0, sizeof(*a));
	a->in = in;
}

/*
 * 1 for 127.0.0.0/8 and ::1 (and IPv4-mapped loopback), else 0.
 */
int
netaddr_is_loopback(const union sockaddr_u *a)
{
	const uint8_t *b;

	if (a->sa.sa_family == AF_INET)
		return (ntohl(a->in.sin_addr.s_addr) >> 24) == 127;
	if (a->sa.sa_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr))
		return 1;
	b = a->in6.sin6_addr.s6_addr;
	return IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr) && b[12] == 127;
}

/*
 * 1 for the wildcard addresses 0.0.0.0 and ::.
 */
int
netaddr_is_any(const union sockaddr_u *a)
{
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == htonl(INADDR_ANY);
	if (a->sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_UNSPECIFIED(&a->in6.sin6_addr);
	return 0;
}

/*
 * 1 when both hold the same family and address (ports ignored).
 */
int
netaddr_ip_equal(const union sockaddr_u *a, const union sockaddr_u *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	return 0;
}

/*
 * "ADDR/PREFIX" or a bare address (a block of one).  Host bits must be
 * zero ("10.0.0.1/8" is refused: it is probably a typo).  Returns 0, or -1
 * (EINVAL).
 */
int
netaddr_parse_cidr(const char *s, struct netaddr_cidr *c)
{
	char buf[INET6_ADDRSTRLEN + 8], *slash, *end;
	uint8_t *bytes;
	long prefix;
	int max, i, bits;

	memset(c, 0, sizeof(*c));
	if (strlen(s) >= sizeof(buf))
		goto bad;
	strcpy(buf, s);
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash = '\0';
	if (netaddr_parse_ip(buf, &c->addr) == -1)
		goto bad;
	max = c->addr.sa.sa_family == AF_INET ? 32 : 128;
	prefix = max;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9')
			goto bad;
		errno = 0;
		prefix = strtol(slash + 1, &end, 10);
		if (errno != 0 || *end != '\0' || prefix < 0 || prefix > max)
			goto bad;
	}
	if (c->addr.sa.sa_family == AF_INET6 &&
	    IN6_IS_ADDR_V4MAPPED(&c->addr.in6.sin6_addr) && prefix >= 96) {
		/* ::ffff:a.b.c.d/104 is a block of IPv4 addresses, which is
		   how they are compared */
		netaddr_normalize(&c->addr);
		prefix -= 96;
		max = 32;
	}
	c->prefix = (uint8_t)prefix;
	bytes = c->addr.sa.sa_family == AF_INET ?
	    (uint8_t *)&c->addr.in.sin_addr : c->addr.in6.sin6_addr.s6_addr;
	for (i = 0; i < max / 8; i++) {
		bits = (int)prefix - i * 8;
		if (bits >= 8)
			continue;
		if (bits <= 0 ? bytes[i] != 0 :
		    (bytes[i] & (0xff >> bits)) != 0)
			goto bad;
	}
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

/*
 * 1 when a (normalized: IPv4-mapped IPv6 counts as IPv4) is in the block.
 */
int
netaddr_cidr_match(const struct netaddr_cidr *c, const union sockaddr_u *a)
{
	union sockaddr_u n = *a;
	const uint8_t *x, *y;
	int full, rest;

	netaddr_normalize(&n);
	if (n.sa.sa_family != c->addr.sa.sa_family)
		return 0;
	if (n.sa.sa_family == AF_INET) {
		x = (const uint8_t *)&n.in.sin_addr;
		y = (const uint8_t *)&c->addr.in.sin_addr;
	} else {
		x = n.in6.sin6_addr.s6_addr;
		y = c->addr.in6.sin6_addr.s6_addr;
	}
	full = c->prefix / 8;
	rest = c->prefix % 8;
	if (memcmp(x, y, (size_t)full) != 0)
		return 0;
	return rest == 0 || ((x[full] ^ y[full]) & (0xff << (8 - rest))) == 0;
}

/*
 * "10.0.0.0/8", "fd00::/8".  Returns buf.
 */
const char *
netaddr_cidr_str(const struct netaddr_cidr *c, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	snprintf(buf, len, "%s/%u", netaddr_ip_str(&c->addr, ip, sizeof(ip)),
	    c->prefix);
	return buf;
}

/*
 * 1 for 169.254.0.0/16 (where cloud metadata services live) and fe80::/10.
 */
int
netaddr_is_link_local(const union sockaddr_u *a)
{
	union sockaddr_u n = *a;

	netaddr_normalize(&n);
	if (n.sa.sa_family == AF_INET)
		return (ntohl(n.in.sin_addr.s_addr) >> 16) == 0xa9fe;
	if (n.sa.sa_family == AF_INET6)
		return IN6_IS_ADDR_LINKLOCAL(&n.in6.sin6_addr);
	return 0;
}
