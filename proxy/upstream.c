/*
 * Outbound connect and the failure -> reply mapping.  See upstream.h.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <unistd.h>

#include <ares.h>

#include "socks5.h"
#include "tcpcc.h"
#include "upstream.h"

/*
 * Start a non-blocking connect to a, with congestion control cc (NULL:
 * the system's; tcpcc_for() says which).  Returns 0 with *fd set (the connect
 * completed or is in progress: wait for writability, then
 * upstream_connect_result()), or -1 with errno set and no descriptor.
 */
int
upstream_connect(const union sockaddr_u *a, const char *cc, int *fd)
{
	int s, one = 1, saved;

	s = socket(a->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    IPPROTO_TCP);
	if (s == -1)
		return -1;
	/* interactive tunnels: no Nagle delay on the outbound leg either */
	(void)setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	/* congestion control before the SYN: checked at start (tcpcc.c) */
	if (cc != NULL)
		(void)tcpcc_set(s, cc);
	if (connect(s, &a->sa, netaddr_len(a)) == -1 && errno != EINPROGRESS) {
		saved = errno;
		close(s);
		errno = saved;
		return -1;
	}
	*fd = s;
	return 0;
}

/*
 * After writability: 0 when connected, else the connect's errno.
 */
int
upstream_connect_result(int fd)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == -1)
		return errno;
	return err;
}

/*
 * RFC 1928 §6 reply for a connect errno (microsocks' table, extended).
 */
uint8_t
upstream_errno_to_rep(int err)
{
	switch (err) {
	case 0:
		return SOCKS5_REP_SUCCESS;
	case ECONNREFUSED:
		return SOCKS5_REP_REFUSED;
	case ENETUNREACH:
	case ENETDOWN:
		return SOCKS5_REP_NET_UNREACH;
	case EHOSTUNREACH:
	case EHOSTDOWN:
		return SOCKS5_REP_HOST_UNREACH;
	case ETIMEDOUT:
		return SOCKS5_REP_TTL_EXPIRED;
	case EAFNOSUPPORT:
	case EPROTONOSUPPORT:
	case EPROTOTYPE:
		return SOCKS5_REP_ATYP_UNSUPP;
	case EACCES:
	case EPERM:
		return SOCKS5_REP_NOT_ALLOWED;
	default:
		return SOCKS5_REP_FAILURE;
	}
}

/*
 * HTTP status for a connect errno: 504 for a timeout, 503 when the proxy is
 * out of descriptors or memory, 502 otherwise.
 */
int
upstream_errno_to_http(int err)
{
	switch (err) {
	case 0:
		return 200;
	case ETIMEDOUT:
		return 504;
	case EMFILE:
	case ENFILE:
	case ENOBUFS:
	case ENOMEM:
		return 503;
	case EACCES:
	case EPERM:
		return 403;
	default:
		return 502;
	}
}

/*
 * RFC 1928 has no DNS code; like most servers we answer "host
 * unreachable" for every resolution failure, and "general failure" when
 * the proxy itself could not resolve (out of memory).
 */
uint8_t
upstream_dns_to_rep(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return SOCKS5_REP_SUCCESS;
	case ARES_ENOMEM:
		return SOCKS5_REP_FAILURE;
	default:
		return SOCKS5_REP_HOST_UNREACH;
	}
}

/*
 * HTTP status for a resolution failure: 504 when the DNS did not answer in
 * time, 502 otherwise.
 */
int
upstream_dns_to_http(int status)
{
	switch (status) {
	case ARES_SUCCESS:
		return 200;
	case ARES_ETIMEOUT:
		return 504;
	case ARES_ENOMEM:
		return 503;
	default:
		return 502;
	}
}
