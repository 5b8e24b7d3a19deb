/*
 * Unit tests for the socket address helpers: proxy/netaddr.c.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "netaddr.h"

/* Parse text that must be accepted, starting from a dirty address. */
static void
parse_ok(const char *s, int default_port, union sockaddr_u *a)
{
	memset(a, 0xa5, sizeof(*a));
	if (netaddr_parse_hostport(s, a, default_port) != 0)
		fail_msg("\"%s\" (default port %d) rejected", s, default_port);
}

static void
check_parse_bad(const char *s, int default_port)
{
	union sockaddr_u a;

	errno = 0;
	if (netaddr_parse_hostport(s, &a, default_port) != -1)
		fail_msg("\"%s\" (default port %d) accepted", s, default_port);
	assert_int_equal(errno, EINVAL);
}

/* Build an address from text, for the classification tests. */
static union sockaddr_u
addr_of(const char *ip, uint16_t port)
{
	union sockaddr_u a;

	if (netaddr_parse_ip(ip, &a) != 0)
		fail_msg("test address \"%s\" does not parse", ip);
	netaddr_set_port(&a, port);
	return a;
}

static void
test_parse_hostport_ipv4(void **state)
{
	union sockaddr_u a;
	const uint8_t ip[4] = { 127, 0, 0, 1 };

	(void)state;
	parse_ok("127.0.0.1:1080", -1, &a);
	assert_int_equal(a.sa.sa_family, AF_INET);
	assert_memory_equal(&a.in.sin_addr, ip, 4);
	assert_int_equal(a.in.sin_port, htons(1080));
	assert_int_equal(netaddr_port(&a), 1080);
	assert_int_equal(netaddr_len(&a), sizeof(struct sockaddr_in));
	/* an explicit port wins over the default */
	parse_ok("127.0.0.1:1080", 9999, &a);
	assert_int_equal(netaddr_port(&a), 1080);
}

static void
test_parse_hostport_ipv6_bracketed(void **state)
{
	union sockaddr_u a;

	(void)state;
	parse_ok("[::1]:1080", -1, &a);
	assert_int_equal(a.sa.sa_family, AF_INET6);
	assert_memory_equal(&a.in6.sin6_addr, &in6addr_loopback, 16);
	assert_int_equal(a.in6.sin6_port, htons(1080));
	assert_int_equal(netaddr_port(&a), 1080);
	assert_int_equal(a.in6.sin6_scope_id, 0);
	assert_int_equal(a.in6.sin6_flowinfo, 0);
	assert_int_equal(netaddr_len(&a), sizeof(struct sockaddr_in6));
}

static void
test_parse_hostport_ipv6_bare_default_port(void **state)
{
	union sockaddr_u a;

	(void)state;
	parse_ok("::1", 1080, &a);
	assert_int_equal(a.sa.sa_family, AF_INET6);
	assert_memory_equal(&a.in6.sin6_addr, &in6addr_loopback, 16);
	assert_int_equal(netaddr_port(&a), 1080);
	parse_ok("2001:db8::1", 0, &a);
	assert_int_equal(a.sa.sa_family, AF_INET6);
	assert_int_equal(netaddr_port(&a), 0);
	parse_ok("::", 8080, &a);
	assert_true(netaddr_is_any(&a));
	assert_int_equal(netaddr_port(&a), 8080);
}

static void
test_parse_hostport_ipv6_bracketed_default_port(void **state)
{
	union sockaddr_u a;

	(void)state;
	parse_ok("[::1]", 1080, &a);
	assert_int_equal(a.sa.sa_family, AF_INET6);
	assert_memory_equal(&a.in6.sin6_addr, &in6addr_loopback, 16);
	assert_int_equal(netaddr_port(&a), 1080);
}

static void
test_parse_hostport_ipv4_default_port(void **state)
{
	union sockaddr_u a;
	const uint8_t ip[4] = { 1, 2, 3, 4 };

	(void)state;
	parse_ok("1.2.3.4", 3128, &a);
	assert_int_equal(a.sa.sa_family, AF_INET);
	assert_memory_equal(&a.in.sin_addr, ip, 4);
	assert_int_equal(netaddr_port(&a), 3128);
	parse_ok("1.2.3.4", 65535, &a);
	assert_int_equal(netaddr_port(&a), 65535);
}

static void
test_parse_hostport_port_required(void **state)
{
	(void)state;
	check_parse_bad("1.2.3.4", -1);
	check_parse_bad("::1", -1);
	check_parse_bad("[::1]", -1);
}

static void
test_parse_hostport_port_range(void **state)
{
	union sockaddr_u a;

	(void)state;
	parse_ok("1.2.3.4:0", -1, &a);
	assert_int_equal(netaddr_port(&a), 0);
	parse_ok("1.2.3.4:65535", -1, &a);
	assert_int_equal(netaddr_port(&a), 65535);
	parse_ok("[2001:db8::2]:65535", -1, &a);
	assert_int_equal(netaddr_port(&a), 65535);
	check_parse_bad("1.2.3.4:65536", -1);
	check_parse_bad("1.2.3.4:-1", -1);
	check_parse_bad("1.2.3.4:99999999999999999999", -1);
	check_parse_bad("[::1]:65536", -1);
}

static void
test_parse_hostport_bad(void **state)
{
	static const char *const bad[] = {
		"",
		":80",
		"1.2.3.4:",
		"1.2.3.4:65536",
		"1.2.3.4:-1",
		"[::1",
		"[1.2.3.4]:80",
		"host:80",
		"1.2.3.4:80x",
		"[::1]x",
		"[::1]:",
		"[::1]:80x",
		"[]:80",
		"[]",
		"[",
		":",
		"1.2.3.4:+80",
		"1.2.3.4: 80",
		" 1.2.3.4:80",
		"1.2.3.4 :80",
		"256.1.1.1:80",
		"1.2.3:80",
		"localhost",
		"[localhost]:80",
		"[::1]]:80",
		"::1]:80",
		"[fe80::1%lo]:80",
		"1.2.3.4:80:80",
		"[::ffff:1.2.3.4]:80:",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check_parse_bad(bad[i], 1080);
}

static void
test_parse_ip(void **state)
{
	union sockaddr_u a;

	(void)state;
	memset(&a, 0xa5, sizeof(a));
	assert_int_equal(netaddr_parse_ip("10.0.0.1", &a), 0);
	assert_int_equal(a.sa.sa_family, AF_INET);
	assert_int_equal(netaddr_port(&a), 0);
	memset(&a, 0xa5, sizeof(a));
	assert_int_equal(netaddr_parse_ip("fe80::1", &a), 0);
	assert_int_equal(a.sa.sa_family, AF_INET6);
	assert_int_equal(netaddr_port(&a), 0);
	assert_int_equal(a.in6.sin6_scope_id, 0);
	assert_int_equal(netaddr_parse_ip("", &a), -1);
	assert_int_equal(netaddr_parse_ip("1.2.3.4:80", &a), -1);
	assert_int_equal(netaddr_parse_ip("[::1]", &a), -1);
	assert_int_equal(netaddr_parse_ip("example.com", &a), -1);
}

static void
test_str_ipv4(void **state)
{
	union sockaddr_u a;
	char buf[NETADDR_STRLEN];

	(void)state;
	a = addr_of("192.0.2.1", 8080);
	assert_ptr_equal(netaddr_str(&a, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "192.0.2.1:8080");
	a = addr_of("255.255.255.255", 65535);
	assert_string_equal(netaddr_str(&a, buf, sizeof(buf)),
	    "255.255.255.255:65535");
	a = addr_of("0.0.0.0", 0);
	assert_string_equal(netaddr_str(&a, buf, sizeof(buf)), "0.0.0.0:0");
	assert_string_equal(netaddr_ip_str(&a, buf, sizeof(buf)), "0.0.0.0");
}

static void
test_str_ipv6(void **state)
{
	union sockaddr_u a;
	char buf[NETADDR_STRLEN];

	(void)state;
	a = addr_of("::1", 1080);
	assert_ptr_equal(netaddr_str(&a, buf, sizeof(buf)), buf);
	assert_string_equal(buf, "[::1]:1080");
	a = addr_of("2001:0db8:0000:0000:0000:0000:0000:0001", 443);
	assert_string_equal(netaddr_str(&a, buf, sizeof(buf)),
	    "[2001:db8::1]:443");
	assert_string_equal(netaddr_ip_str(&a, buf, sizeof(buf)),
	    "2001:db8::1");
	a = addr_of("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
	assert_string_equal(netaddr_str(&a, buf, sizeof(buf)),
	    "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535");
	a = addr_of("::ffff:10.1.2.3", 80);
	assert_string_equal(netaddr_str(&a, buf, sizeof(buf)),
	    "[::ffff:10.1.2.3]:80");
}

static void
test_str_unset_and_truncated(void **state)
{
	union sockaddr_u a;
	char buf[NETADDR_STRLEN], small[8];

	(void)state;
	memset(&a, 0, sizeof(a));
	assert_string_equal(netaddr_str(&a, buf, sizeof(buf)), "-");
	assert_string_equal(netaddr_ip_str(&a, buf, sizeof(buf)), "-");
	assert_int_equal(netaddr_port(&a), 0);
	assert_int_equal(netaddr_len(&a), 0);
	/* a short buffer is cut, never overrun, and stays terminated */
	a = addr_of("192.0.2.1", 8080);
	memset(small, 'x', sizeof(small));
	netaddr_str(&a, small, sizeof(small));
	assert_string_equal(small, "192.0.2");
}

static void
test_set_port(void **state)
{
	union sockaddr_u a;

	(void)state;
	a = addr_of("10.0.0.1", 0);
	netaddr_set_port(&a, 0x1234);
	assert_int_equal(a.in.sin_port, htons(0x1234));
	assert_int_equal(netaddr_port(&a), 0x1234);
	a = addr_of("::1", 0);
	netaddr_set_port(&a, 0xabcd);
	assert_int_equal(a.in6.sin6_port, htons(0xabcd));
	assert_int_equal(netaddr_port(&a), 0xabcd);
	/* an unset address stays unset */
	memset(&a, 0, sizeof(a));
	netaddr_set_port(&a, 80);
	assert_int_equal(a.sa.sa_family, AF_UNSPEC);
	assert_int_equal(netaddr_port(&a), 0);
}

static void
test_normalize_v4_mapped(void **state)
{
	union sockaddr_u a, want;
	char buf[NETADDR_STRLEN];

	(void)state;
	a = addr_of("::ffff:10.1.2.3", 5555);
	assert_int_equal(a.sa.sa_family, AF_INET6);
	netaddr_normalize(&a);
	assert_int_equal(a.sa.sa_family, AF_INET);
	want = addr_of("10.1.2.3", 5555);
	assert_int_equal(a.in.sin_addr.s_addr, want.in.sin_addr.s_addr);
	assert_int_equal(netaddr_port(&a), 5555);
	assert_int_equal(netaddr_len(&a), sizeof(struct sockaddr_in));
	assert_memory_equal(&a.in, &want.in, sizeof(a.in));
	assert_string_equal(netaddr_str(&a, buf, sizeof(buf)),
	    "10.1.2.3:5555");
}

static void
test_normalize_leaves_others(void **state)
{
	union sockaddr_u a, before;

	(void)state;
	a = addr_of("2001:db8::1", 443);
	before = a;
	netaddr_normalize(&a);
	assert_memory_equal(&a, &before, sizeof(a));
	a = addr_of("::1", 80);
	before = a;
	netaddr_normalize(&a);
	assert_memory_equal(&a, &before, sizeof(a));
	/* IPv4-compatible (deprecated ::a.b.c.d) is not mapped */
	a = addr_of("::10.1.2.3", 80);
	before = a;
	netaddr_normalize(&a);
	assert_memory_equal(&a, &before, sizeof(a));
	a = addr_of("10.1.2.3", 80);
	before = a;
	netaddr_normalize(&a);
	assert_memory_equal(&a, &before, sizeof(a));
	memset(&a, 0, sizeof(a));
	before = a;
	netaddr_normalize(&a);
	assert_memory_equal(&a, &before, sizeof(a));
}

static void
test_is_loopback(void **state)
{
	union sockaddr_u a;

	(void)state;
	a = addr_of("127.0.0.1", 0);
	assert_int_equal(netaddr_is_loopback(&a), 1);
	a = addr_of("127.255.255.254", 0);
	assert_int_equal(netaddr_is_loopback(&a), 1);
	a = addr_of("127.0.0.2", 0);
	assert_int_equal(netaddr_is_loopback(&a), 1);
	a = addr_of("::1", 0);
	assert_int_equal(netaddr_is_loopback(&a), 1);
	a = addr_of("::ffff:127.0.0.1", 0);
	assert_int_equal(netaddr_is_loopback(&a), 1);
	a = addr_of("::ffff:127.1.2.3", 0);
	assert_int_equal(netaddr_is_loopback(&a), 1);

	a = addr_of("10.0.0.1", 0);
	assert_int_equal(netaddr_is_loopback(&a), 0);
	a = addr_of("126.255.255.255", 0);
	assert_int_equal(netaddr_is_loopback(&a), 0);
	a = addr_of("128.0.0.1", 0);
	assert_int_equal(netaddr_is_loopback(&a), 0);
	a = addr_of("1.0.0.127", 0);
	assert_int_equal(netaddr_is_loopback(&a), 0);
	a = addr_of("::2", 0);
	assert_int_equal(netaddr_is_loopback(&a), 0);
	a = addr_of("::", 0);
	assert_int_equal(netaddr_is_loopback(&a), 0);
	a = addr_of("::ffff:10.0.0.1", 0);
	assert_int_equal(netaddr_is_loopback(&a), 0);
	a = addr_of("::127.0.0.1", 0);
	assert_int_equal(netaddr_is_loopback(&a), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(netaddr_is_loopback(&a), 0);
}

static void
test_is_any(void **state)
{
	union sockaddr_u a;

	(void)state;
	a = addr_of("0.0.0.0", 1080);
	assert_int_equal(netaddr_is_any(&a), 1);
	a = addr_of("::", 1080);
	assert_int_equal(netaddr_is_any(&a), 1);
	a = addr_of("0.0.0.1", 0);
	assert_int_equal(netaddr_is_any(&a), 0);
	a = addr_of("127.0.0.1", 0);
	assert_int_equal(netaddr_is_any(&a), 0);
	a = addr_of("::1", 0);
	assert_int_equal(netaddr_is_any(&a), 0);
	a = addr_of("::ffff:0.0.0.0", 0);
	assert_int_equal(netaddr_is_any(&a), 0);
	memset(&a, 0, sizeof(a));
	assert_int_equal(netaddr_is_any(&a), 0);
}

static void
test_ip_equal(void **state)
{
	union sockaddr_u a, b;

	(void)state;
	/* ports are ignored */
	a = addr_of("192.0.2.1", 80);
	b = addr_of("192.0.2.1", 443);
	assert_int_equal(netaddr_ip_equal(&a, &b), 1);
	assert_int_equal(netaddr_ip_equal(&b, &a), 1);
	assert_int_equal(netaddr_ip_equal(&a, &a), 1);
	b = addr_of("192.0.2.2", 80);
	assert_int_equal(netaddr_ip_equal(&a, &b), 0);

	a = addr_of("2001:db8::1", 1);
	b = addr_of("2001:db8:0::1", 2);
	assert_int_equal(netaddr_ip_equal(&a, &b), 1);
	b = addr_of("2001:db8::2", 1);
	assert_int_equal(netaddr_ip_equal(&a, &b), 0);
	b = addr_of("2001:db9::1", 1);
	assert_int_equal(netaddr_ip_equal(&a, &b), 0);

	/* families differ: a mapped address is not its IPv4 form */
	a = addr_of("10.1.2.3", 80);
	b = addr_of("::ffff:10.1.2.3", 80);
	assert_int_equal(netaddr_ip_equal(&a, &b), 0);
	assert_int_equal(netaddr_ip_equal(&b, &a), 0);
	netaddr_normalize(&b);
	assert_int_equal(netaddr_ip_equal(&a, &b), 1);
	/* 0.0.0.0 lies where "::" keeps a zero sin6_flowinfo */
	a = addr_of("0.0.0.0", 0);
	b = addr_of("::", 0);
	assert_int_equal(netaddr_ip_equal(&a, &b), 0);
	assert_int_equal(netaddr_ip_equal(&b, &a), 0);

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	assert_int_equal(netaddr_ip_equal(&a, &b), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_hostport_ipv4),
		cmocka_unit_test(test_parse_hostport_ipv6_bracketed),
		cmocka_unit_test(test_parse_hostport_ipv6_bare_default_port),
		cmocka_unit_test(
		    test_parse_hostport_ipv6_bracketed_default_port),
		cmocka_unit_test(test_parse_hostport_ipv4_default_port),
		cmocka_unit_test(test_parse_hostport_port_required),
		cmocka_unit_test(test_parse_hostport_port_range),
		cmocka_unit_test(test_parse_hostport_bad),
		cmocka_unit_test(test_parse_ip),
		cmocka_unit_test(test_str_ipv4),
		cmocka_unit_test(test_str_ipv6),
		cmocka_unit_test(test_str_unset_and_truncated),
		cmocka_unit_test(test_set_port),
		cmocka_unit_test(test_normalize_v4_mapped),
		cmocka_unit_test(test_normalize_leaves_others),
		cmocka_unit_test(test_is_loopback),
		cmocka_unit_test(test_is_any),
		cmocka_unit_test(test_ip_equal),
	};

	return cmocka_run_group_tests_name("netaddr", tests, NULL, NULL);
}
