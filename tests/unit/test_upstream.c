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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <ares.h>

#include "socks5.h"
#include "tcpcc.h"
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

	assert_int_equal(upstream_connect(a, NULL, &fd), 0);
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
	rc = upstream_connect(a, NULL, &fd);
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
	assert_int_equal(upstream_connect(&a, NULL, &fd), -1);
	assert_int_not_equal(errno, 0);
	assert_int_equal(fd, -1);
}

static void
test_connect_result_bad_fd(void **state)
{
	(void)state;
	assert_int_equal(upstream_connect_result(-1), EBADF);
}

/* ----- congestion control per leg (tcpcc.c) --------------------------- */

/* The first line of a /proc file, as a string ("" when unreadable). */
static void
proc_line(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");

	buf[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, (int)len, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

static void
sys_default_cc(char *buf, size_t len)
{
	proc_line("/proc/sys/net/ipv4/tcp_congestion_control", buf, len);
	assert_true(buf[0] != '\0');
}

static void
cc_of(int fd, char *buf, size_t len)
{
	socklen_t n = (socklen_t)len;

	memset(buf, 0, len);
	assert_int_equal(getsockopt(fd, IPPROTO_TCP, TCP_CONGESTION, buf, &n),
	    0);
}

static union sockaddr_u
addr_of(const char *text)
{
	union sockaddr_u a;

	assert_int_equal(netaddr_parse_ip(text, &a), 0);
	return a;
}

static void
test_tcpcc_for(void **state)
{
	const char *loop[] = { "127.0.0.1", "127.200.3.4", "::1",
	    "::ffff:127.0.0.1" };
	const char *other[] = { "10.0.0.1", "192.0.2.7", "2001:db8::1",
	    "::ffff:192.0.2.7", "0.0.0.0", "::" };
	struct conf c;
	union sockaddr_u a;
	size_t i;

	(void)state;
	conf_init(&c);
	/* the default: loopback legs do not pace, the others are the
	   system's */
	for (i = 0; i < sizeof(loop) / sizeof(loop[0]); i++) {
		a = addr_of(loop[i]);
		assert_string_equal(tcpcc_for(&c, &a), "reno");
	}
	for (i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		a = addr_of(other[i]);
		assert_null(tcpcc_for(&c, &a));
	}
	/* congestion for every leg, loopback_congestion before it */
	snprintf(c.tcp_cc, sizeof(c.tcp_cc), "cubic");
	a = addr_of("192.0.2.7");
	assert_string_equal(tcpcc_for(&c, &a), "cubic");
	a = addr_of("::1");
	assert_string_equal(tcpcc_for(&c, &a), "reno");
	/* loopback_congestion "": loopback legs as the others */
	c.tcp_cc_loopback[0] = '\0';
	assert_string_equal(tcpcc_for(&c, &a), "cubic");
	c.tcp_cc[0] = '\0';
	assert_null(tcpcc_for(&c, &a));
	conf_free(&c);
}

/* The outbound socket has the congestion control asked for before its
   SYN, and the system's when none is. */
static void
test_connect_cc(void **state)
{
	char want[32], got[32];
	union sockaddr_u a;
	int ls, fd = -1, as;

	(void)state;
	ls = listener(AF_INET, &a);
	assert_true(ls >= 0);
	assert_int_equal(upstream_connect(&a, "reno", &fd), 0);
	cc_of(fd, got, sizeof(got));
	assert_string_equal(got, "reno");
	wait_writable(fd);
	assert_int_equal(upstream_connect_result(fd), 0);
	as = accept(ls, NULL, NULL);
	assert_true(as >= 0);
	check_bytes_pass(fd, as);
	cc_of(fd, got, sizeof(got));
	assert_string_equal(got, "reno");
	close(as);
	close(fd);

	sys_default_cc(want, sizeof(want));
	assert_int_equal(upstream_connect(&a, NULL, &fd), 0);
	cc_of(fd, got, sizeof(got));
	assert_string_equal(got, want);
	close(fd);
	close(ls);
}

/* tcpcc_set(NULL) puts the system's default back (a listener after a
   reload that dropped its name). */
static void
test_tcpcc_set_back(void **state)
{
	char want[32], got[32];
	int fd;

	(void)state;
	sys_default_cc(want, sizeof(want));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	assert_int_equal(tcpcc_set(fd, "reno"), 0);
	cc_of(fd, got, sizeof(got));
	assert_string_equal(got, "reno");
	assert_int_equal(tcpcc_set(fd, NULL), 0);
	cc_of(fd, got, sizeof(got));
	assert_string_equal(got, want);
	errno = 0;
	assert_int_equal(tcpcc_set(fd, "no_such_cc"), -1);
	assert_int_equal(errno, ENOENT);
	close(fd);
}

/* A name the kernel does not have is refused at start, saying which key
   and what to look at; "reno" is always there. */
static void
test_tcpcc_check(void **state)
{
	char err[512], avail[512], allow[512], name[32], *p, *save = NULL;
	struct conf c;

	(void)state;
	conf_init(&c);
	err[0] = '\0';
	assert_int_equal(tcpcc_check(&c, "t.conf", err, sizeof(err)), 0);
	snprintf(c.tcp_cc, sizeof(c.tcp_cc), "reno");
	assert_int_equal(tcpcc_check(&c, "t.conf", err, sizeof(err)), 0);

	snprintf(c.tcp_cc, sizeof(c.tcp_cc), "no_such_cc");
	assert_int_equal(tcpcc_check(&c, "t.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "t.conf: tcp.congestion: \"no_such_cc\" "
	    "is not available in this kernel"));
	c.tcp_cc[0] = '\0';
	snprintf(c.tcp_cc_loopback, sizeof(c.tcp_cc_loopback), "no_such_cc");
	c.tcp_cc_loopback_set = 1;
	assert_int_equal(tcpcc_check(&c, "t.conf", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tcp.loopback_congestion: \"no_such_cc\""));
	c.tcp_cc_loopback[0] = '\0';
	assert_int_equal(tcpcc_check(&c, "t.conf", err, sizeof(err)), 0);

	/* loaded but not allowed to unprivileged processes: refused when
	   sluice drops privileges (if this kernel has such a name) */
	proc_line("/proc/sys/net/ipv4/tcp_available_congestion_control", avail,
	    sizeof(avail));
	proc_line("/proc/sys/net/ipv4/tcp_allowed_congestion_control", allow,
	    sizeof(allow));
	name[0] = '\0';
	for (p = strtok_r(avail, " ", &save); p != NULL;
	    p = strtok_r(NULL, " ", &save)) {
		char pad[600];

		snprintf(pad, sizeof(pad), " %s ", allow);
		snprintf(name, sizeof(name), " %s ", p);
		if (strstr(pad, name) == NULL) {
			snprintf(name, sizeof(name), "%s", p);
			break;
		}
		name[0] = '\0';
	}
	if (name[0] != '\0' && geteuid() == 0) {
		snprintf(c.tcp_cc, sizeof(c.tcp_cc), "%s", name);
		assert_int_equal(tcpcc_check(&c, "t.conf", err, sizeof(err)),
		    0);
		c.run_user = strdup("nobody");
		assert_int_equal(tcpcc_check(&c, "t.conf", err, sizeof(err)),
		    -1);
		assert_non_null(strstr(err, "net.ipv4.tcp_allowed_congestion_"
		    "control"));
		assert_non_null(strstr(err, "drops privileges"));
		/* the same in loopback_congestion, configured: an error */
		c.tcp_cc[0] = '\0';
		snprintf(c.tcp_cc_loopback, sizeof(c.tcp_cc_loopback), "%s",
		    name);
		c.tcp_cc_loopback_set = 1;
		assert_int_equal(tcpcc_check(&c, "t.conf", err, sizeof(err)),
		    -1);
		/* as the built-in default (a system that took "reno" off its
		   list): a warning, and the loopback legs keep the system's */
		c.tcp_cc_loopback_set = 0;
		assert_int_equal(tcpcc_check(&c, "t.conf", err, sizeof(err)),
		    1);
		assert_string_equal(c.tcp_cc_loopback, "");
		assert_non_null(strstr(err, "t.conf: tcp.loopback_congestion: "
		    "\""));
		assert_non_null(strstr(err, "(the default: loopback legs keep "
		    "the system's)\n"));
		assert_int_equal(tcpcc_check(&c, "t.conf", err, sizeof(err)),
		    0);
	}
	conf_free(&c);
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
		cmocka_unit_test(test_tcpcc_for),
		cmocka_unit_test(test_connect_cc),
		cmocka_unit_test(test_tcpcc_set_back),
		cmocka_unit_test(test_tcpcc_check),
	};

	return cmocka_run_group_tests_name("upstream", tests, NULL, NULL);
}
