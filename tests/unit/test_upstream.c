/*
 * Unit tests for the outbound leg: proxy/upstream.c.  The errno and c-ares
 * status tables, and real non-blocking connects to loopback listeners.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <ares.h>

#include "socks5.h"
#include "upstream.h"

/* ----- errno -> SOCKS5 REP -------------------------------------------- */

static void
test_errno_to_rep(void **state)
{
	(void)state;
	assert_int_equal(upstream_errno_to_rep(0), 0x00);
	assert_int_equal(upstream_errno_to_rep(ECONNREFUSED), 0x05);
	assert_int_equal(upstream_errno_to_rep(ENETUNREACH), 0x03);
	assert_int_equal(upstream_errno_to_rep(ENETDOWN), 0x03);
	assert_int_equal(upstream_errno_to_rep(EHOSTUNREACH), 0x04);
	assert_int_equal(upstream_errno_to_rep(EHOSTDOWN), 0x04);
	assert_int_equal(upstream_errno_to_rep(ETIMEDOUT), 0x06);
	assert_int_equal(upstream_errno_to_rep(EAFNOSUPPORT), 0x08);
	assert_int_equal(upstream_errno_to_rep(EPROTONOSUPPORT), 0x08);
	assert_int_equal(upstream_errno_to_rep(EACCES), 0x02);
	assert_int_equal(upstream_errno_to_rep(EPERM), 0x02);
	assert_int_equal(upstream_errno_to_rep(EMFILE), 0x01);
	assert_int_equal(upstream_errno_to_rep(ENFILE), 0x01);
	assert_int_equal(upstream_errno_to_rep(ENOMEM), 0x01);
	assert_int_equal(upstream_errno_to_rep(ECONNRESET), 0x01);
	assert_int_equal(upstream_errno_to_rep(EINVAL), 0x01);
	assert_int_equal(upstream_errno_to_rep(-1), 0x01);
	assert_int_equal(upstream_errno_to_rep(99999), 0x01);
	/* the names agree with the numbers */
	assert_int_equal(upstream_errno_to_rep(0), SOCKS5_REP_SUCCESS);
	assert_int_equal(upstream_errno_to_rep(ECONNREFUSED),
	    SOCKS5_REP_REFUSED);
	assert_int_equal(upstream_errno_to_rep(ETIMEDOUT),
	    SOCKS5_REP_TTL_EXPIRED);
}

/* ----- errno -> HTTP status ------------------------------------------- */

static void
test_errno_to_http(void **state)
{
	(void)state;
	assert_int_equal(upstream_errno_to_http(0), 200);
	assert_int_equal(upstream_errno_to_http(ETIMEDOUT), 504);
	assert_int_equal(upstream_errno_to_http(EMFILE), 503);
	assert_int_equal(upstream_errno_to_http(ENFILE), 503);
	assert_int_equal(upstream_errno_to_http(ENOBUFS), 503);
	assert_int_equal(upstream_errno_to_http(ENOMEM), 503);
	assert_int_equal(upstream_errno_to_http(EACCES), 403);
	assert_int_equal(upstream_errno_to_http(EPERM), 403);
	assert_int_equal(upstream_errno_to_http(ECONNREFUSED), 502);
	assert_int_equal(upstream_errno_to_http(ENETUNREACH), 502);
	assert_int_equal(upstream_errno_to_http(EHOSTUNREACH), 502);
	assert_int_equal(upstream_errno_to_http(ECONNRESET), 502);
	assert_int_equal(upstream_errno_to_http(EAFNOSUPPORT), 502);
	assert_int_equal(upstream_errno_to_http(99999), 502);
}

/* ----- c-ares status -> REP / HTTP ------------------------------------ */

static void
test_dns_to_rep(void **state)
{
	(void)state;
	assert_int_equal(upstream_dns_to_rep(ARES_SUCCESS), 0x00);
	assert_int_equal(upstream_dns_to_rep(ARES_ENOTFOUND), 0x04);
	assert_int_equal(upstream_dns_to_rep(ARES_ENODATA), 0x04);
	assert_int_equal(upstream_dns_to_rep(ARES_ETIMEOUT), 0x04);
	assert_int_equal(upstream_dns_to_rep(ARES_ESERVFAIL), 0x04);
	assert_int_equal(upstream_dns_to_rep(ARES_EREFUSED), 0x04);
	assert_int_equal(upstream_dns_to_rep(ARES_ECONNREFUSED), 0x04);
	assert_int_equal(upstream_dns_to_rep(ARES_ENOMEM), 0x01);
}

static void
test_dns_to_http(void **state)
{
	(void)state;
	assert_int_equal(upstream_dns_to_http(ARES_SUCCESS), 200);
	assert_int_equal(upstream_dns_to_http(ARES_ENOTFOUND), 502);
	assert_int_equal(upstream_dns_to_http(ARES_ENODATA), 502);
	assert_int_equal(upstream_dns_to_http(ARES_ETIMEOUT), 504);
	assert_int_equal(upstream_dns_to_http(ARES_ESERVFAIL), 502);
	assert_int_equal(upstream_dns_to_http(ARES_EREFUSED), 502);
	assert_int_equal(upstream_dns_to_http(ARES_ENOMEM), 503);
}

/* ----- connect -------------------------------------------------------- */

/*
 * A listener on the loopback address of the family, port chosen by the
 * kernel; *a gets its address.  Returns the socket, or -1 with errno (for
 * IPv6 on a host without it).
 */
static int
listener(int family, union sockaddr_u *a)
{
	socklen_t len = sizeof(*a);
	int s, saved;

	memset(a, 0, sizeof(*a));
	if (family == AF_INET) {
		a->in.sin_family = AF_INET;
		a->in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	} else {
		a->in6.sin6_family = AF_INET6;
		a->in6.sin6_addr = in6addr_loopback;
	}
	if ((s = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (bind(s, &a->sa, netaddr_len(a)) == -1 || listen(s, 8) == -1 ||
	    getsockname(s, &a->sa, &len) == -1) {
		saved = errno;
		close(s);
		errno = saved;
		return -1;
	}
	return s;
}

/* Wait up to 2 s for the socket to be writable (the connect ended). */
static void
wait_writable(int fd)
{
	struct pollfd p;
	int n;

	p.fd = fd;
	p.events = POLLOUT;
	p.revents = 0;
	do
		n = poll(&p, 1, 2000);
	while (n == -1 && errno == EINTR);
	assert_int_equal(n, 1);
	assert_true(p.revents & (POLLOUT | POLLERR | POLLHUP));
}

/* The outbound socket is non-blocking, close-on-exec, without Nagle. */
static void
check_socket_options(int fd)
{
	int v = 0;
	socklen_t len = sizeof(v);
	int fl;

	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len),
	    0);
	assert_int_not_equal(v, 0);
	fl = fcntl(fd, F_GETFL);
	assert_int_not_equal(fl, -1);
	assert_true(fl & O_NONBLOCK);
	fl = fcntl(fd, F_GETFD);
	assert_int_not_equal(fl, -1);
	assert_true(fl & FD_CLOEXEC);
	len = sizeof(v);
	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_TYPE, &v, &len), 0);
	assert_int_equal(v, SOCK_STREAM);
}

/* Four bytes sent on from arrive on to. */
static void
check_bytes_pass(int from, int to)
{
	struct pollfd p;
	char buf[8];

	assert_int_equal(send(from, "ping", 4, MSG_NOSIGNAL), 4);
	p.fd = to;
	p.events = POLLIN;
	p.revents = 0;
	assert_int_equal(poll(&p, 1, 2000), 1);
	assert_int_equal(recv(to, buf, sizeof(buf), 0), 4);
	assert_memory_equal(buf, "ping", 4);
}

/* Connect to a listener, accept, and check both ends see each other. */
static void
check_connect_ok(int family, int ls, const union sockaddr_u *a)
{
	union sockaddr_u local, peer;
	socklen_t len;
	int fd = -1, as;

	assert_int_equal(upstream_connect(a, &fd), 0);
	assert_true(fd >= 0);
	check_socket_options(fd);
	wait_writable(fd);
	assert_int_equal(upstream_connect_result(fd), 0);

	len = sizeof(peer);
	assert_int_equal(getpeername(fd, &peer.sa, &len), 0);
	assert_int_equal(peer.sa.sa_family, family);
	assert_int_equal(netaddr_port(&peer), netaddr_port(a));
	as = accept(ls, NULL, NULL);
	assert_true(as >= 0);
	len = sizeof(local);
	assert_int_equal(getsockname(fd, &local.sa, &len), 0);
	len = sizeof(peer);
	assert_int_equal(getpeername(as, &peer.sa, &len), 0);
	assert_int_equal(netaddr_port(&peer), netaddr_port(&local));
	check_bytes_pass(fd, as);
	close(as);
	close(fd);
}

static void
test_connect_ipv4(void **state)
{
	union sockaddr_u a;
	int ls;

	(void)state;
	ls = listener(AF_INET, &a);
	assert_true(ls >= 0);
	assert_int_not_equal(netaddr_port(&a), 0);
	check_connect_ok(AF_INET, ls, &a);
	close(ls);
}

static void
test_connect_ipv6(void **state)
{
	union sockaddr_u a;
	int ls;

	(void)state;
	if ((ls = listener(AF_INET6, &a)) == -1) {
		/* no IPv6 (EAFNOSUPPORT) or no ::1 (EADDRNOTAVAIL) */
		skip();
	}
	check_connect_ok(AF_INET6, ls, &a);
	close(ls);
}

/* A loopback port with nobody listening (bound, then released). */
static void
closed_port(int family, union sockaddr_u *a)
{
	int s;

	s = listener(family, a);
	assert_true(s >= 0);
	close(s);
}

static void
check_connect_refused(const union sockaddr_u *a)
{
	int fd = -1, rc, err;

	errno = 0;
	rc = upstream_connect(a, &fd);
	if (rc == -1) {
		err = errno;
		assert_int_equal(err, ECONNREFUSED);
		assert_int_equal(fd, -1);	/* no descriptor */
	} else {
		assert_int_equal(rc, 0);
		assert_true(fd >= 0);
		wait_writable(fd);
		err = upstream_connect_result(fd);
		assert_int_equal(err, ECONNREFUSED);
		close(fd);
	}
	assert_int_equal(upstream_errno_to_rep(err), SOCKS5_REP_REFUSED);
	assert_int_equal(upstream_errno_to_http(err), 502);
}

static void
test_connect_refused_ipv4(void **state)
{
	union sockaddr_u a;

	(void)state;
	closed_port(AF_INET, &a);
	check_connect_refused(&a);
}

static void
test_connect_refused_ipv6(void **state)
{
	union sockaddr_u a;
	int s;

	(void)state;
	if ((s = listener(AF_INET6, &a)) == -1)
		skip();
	close(s);
	check_connect_refused(&a);
}

static void
test_connect_bad_family(void **state)
{
	union sockaddr_u a;
	int fd = -1;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.sa.sa_family = AF_UNSPEC;
	errno = 0;
	assert_int_equal(upstream_connect(&a, &fd), -1);
	assert_int_not_equal(errno, 0);
	assert_int_equal(fd, -1);
}

static void
test_connect_result_bad_fd(void **state)
{
	(void)state;
	assert_int_equal(upstream_connect_result(-1), EBADF);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_to_rep),
		cmocka_unit_test(test_errno_to_http),
		cmocka_unit_test(test_dns_to_rep),
		cmocka_unit_test(test_dns_to_http),
		cmocka_unit_test(test_connect_ipv4),
		cmocka_unit_test(test_connect_ipv6),
		cmocka_unit_test(test_connect_refused_ipv4),
		cmocka_unit_test(test_connect_refused_ipv6),
		cmocka_unit_test(test_connect_bad_family),
		cmocka_unit_test(test_connect_result_bad_fd),
	};

	return cmocka_run_group_tests_name("upstream", tests, NULL, NULL);
}
