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
#include <stdio.h>
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

/*
 * netaddr_str() formats IPv4 and ports by hand (it runs for every
 * access-log line): it must agree with inet_ntop() and printf on every
 * octet value and port length, and IPv6 keeps inet_ntop()'s form.
 */
static void
test_str_matches_inet_ntop(void **state)
{
	static const unsigned ports[] = { 0, 1, 9, 10, 99, 100, 999, 1000,
	    9999, 10000, 65535 };
	char buf[NETADDR_STRLEN], want[NETADDR_STRLEN], ip[INET6_ADDRSTRLEN];
	union sockaddr_u a;
	uint32_t x = 2463534242u;
	unsigned i, o;

	(void)state;
	for (i = 0; i < 20000; i++) {
		memset(&a, 0, sizeof(a));
		a.in.sin_family = AF_INET;
		x ^= x << 13;		/* xorshift32 */
		x ^= x >> 17;
		x ^= x << 5;
		if (i < 256) {		/* every octet value in every place */
			o = i;
			x = (o << 24) | (o << 16) | ((255 - o) << 8) | (o / 2);
		}
		a.in.sin_addr.s_addr = htonl(x);
		a.in.sin_port = htons((uint16_t)ports[i % 11]);
		inet_ntop(AF_INET, &a.in.sin_addr, ip, sizeof(ip));
		snprintf(want, sizeof(want), "%s:%u", ip, ports[i % 11]);
		assert_string_equal(netaddr_str(&a, buf, sizeof(buf)), want);
		assert_string_equal(netaddr_ip_str(&a, buf, sizeof(buf)), ip);
	}
	a = addr_of("2001:db8::1:0:0:1", 443);
	assert_string_equal(netaddr_str(&a, buf, sizeof(buf)),
	    "[2001:db8::1:0:0:1]:443");
	a = addr_of("::ffff:192.0.2.1", 65535);
	assert_string_equal(netaddr_str(&a, buf, sizeof(buf)),
	    "[::ffff:192.0.2.1]:65535");
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

/* ----- address blocks ------------------------------------------------- */

/* Parse text that must be accepted as a block, from a dirty struct. */
static void
cidr_ok(const char *s, struct netaddr_cidr *c)
{
	memset(c, 0xa5, sizeof(*c));
	if (netaddr_parse_cidr(s, c) != 0)
		fail_msg("\"%s\" rejected as a block", s);
}

static void
check_cidr_bad(const char *s)
{
	struct netaddr_cidr c;

	errno = 0;
	if (netaddr_parse_cidr(s, &c) != -1)
		fail_msg("\"%s\" accepted as a block", s);
	assert_int_equal(errno, EINVAL);
}

static void
check_cidr_str(const struct netaddr_cidr *c, const char *want)
{
	char s[NETADDR_STRLEN + 8];

	assert_string_equal(netaddr_cidr_str(c, s, sizeof(s)), want);
}

static void
test_parse_cidr_ipv4(void **state)
{
	struct netaddr_cidr c;
	const uint8_t ten[4] = { 10, 0, 0, 0 };
	const uint8_t one[4] = { 192, 0, 2, 1 };

	(void)state;
	cidr_ok("10.0.0.0/8", &c);
	assert_int_equal(c.addr.sa.sa_family, AF_INET);
	assert_memory_equal(&c.addr.in.sin_addr, ten, 4);
	assert_int_equal(c.addr.in.sin_port, 0);
	assert_int_equal(c.prefix, 8);
	check_cidr_str(&c, "10.0.0.0/8");
	/* a bare address is a block of one */
	cidr_ok("192.0.2.1", &c);
	assert_int_equal(c.addr.sa.sa_family, AF_INET);
	assert_memory_equal(&c.addr.in.sin_addr, one, 4);
	assert_int_equal(c.prefix, 32);
	check_cidr_str(&c, "192.0.2.1/32");
	cidr_ok("192.0.2.1/32", &c);
	assert_int_equal(c.prefix, 32);
	cidr_ok("0.0.0.0/0", &c);
	assert_int_equal(c.prefix, 0);
	check_cidr_str(&c, "0.0.0.0/0");
	cidr_ok("0.0.0.0", &c);
	assert_int_equal(c.prefix, 32);
	cidr_ok("255.255.255.255/32", &c);
	cidr_ok("10.128.0.0/9", &c);
	assert_int_equal(c.prefix, 9);
	check_cidr_str(&c, "10.128.0.0/9");
	cidr_ok("192.168.0.0/16", &c);
	check_cidr_str(&c, "192.168.0.0/16");
	cidr_ok("169.254.0.0/16", &c);
	cidr_ok("255.255.255.254/31", &c);
}

static void
test_parse_cidr_ipv6(void **state)
{
	struct netaddr_cidr c;
	const uint8_t fd[16] = { 0xfd };

	(void)state;
	cidr_ok("fd00::/8", &c);
	assert_int_equal(c.addr.sa.sa_family, AF_INET6);
	assert_memory_equal(&c.addr.in6.sin6_addr, fd, 16);
	assert_int_equal(c.addr.in6.sin6_port, 0);
	assert_int_equal(c.prefix, 8);
	check_cidr_str(&c, "fd00::/8");
	cidr_ok("::1", &c);
	assert_int_equal(c.addr.sa.sa_family, AF_INET6);
	assert_memory_equal(&c.addr.in6.sin6_addr, &in6addr_loopback, 16);
	assert_int_equal(c.prefix, 128);
	check_cidr_str(&c, "::1/128");
	cidr_ok("::/0", &c);
	assert_int_equal(c.prefix, 0);
	check_cidr_str(&c, "::/0");
	cidr_ok("::", &c);
	assert_int_equal(c.prefix, 128);
	cidr_ok("fe80::/10", &c);
	assert_int_equal(c.prefix, 10);
	check_cidr_str(&c, "fe80::/10");
	cidr_ok("2001:db8::/32", &c);
	check_cidr_str(&c, "2001:db8::/32");
	cidr_ok("2001:DB8:0:0::/64", &c);
	check_cidr_str(&c, "2001:db8::/64");
	cidr_ok("2001:db8::1/128", &c);
	cidr_ok("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", &c);
	cidr_ok("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127", &c);
	assert_int_equal(c.prefix, 127);
	/* an IPv4-mapped block is the IPv4 block it maps */
	cidr_ok("::ffff:10.0.0.0/104", &c);
	assert_int_equal(c.addr.sa.sa_family, AF_INET);
	assert_int_equal(c.prefix, 8);
	check_cidr_str(&c, "10.0.0.0/8");
	cidr_ok("::ffff:0:0/96", &c);
	assert_int_equal(c.addr.sa.sa_family, AF_INET);
	assert_int_equal(c.prefix, 0);
	/* shorter than /96 reaches outside the mapped range: stays IPv6 */
	cidr_ok("::fffe:0:0/95", &c);
	assert_int_equal(c.addr.sa.sa_family, AF_INET6);
}

static void
test_parse_cidr_bad(void **state)
{
	char longer[200];

	(void)state;
	/* host bits set: probably a typo */
	check_cidr_bad("10.0.0.1/8");
	check_cidr_bad("10.128.0.0/8");
	check_cidr_bad("192.168.1.0/16");
	check_cidr_bad("1.0.0.0/0");
	check_cidr_bad("255.255.255.255/31");
	check_cidr_bad("fd00::1/8");
	check_cidr_bad("fe80::/8");
	check_cidr_bad("::1/127");
	check_cidr_bad("::1/0");
	check_cidr_bad("2001:db8:8000::/32");
	/* prefixes */
	check_cidr_bad("10.0.0.0/33");
	check_cidr_bad("10.0.0.0/-1");
	check_cidr_bad("10.0.0.0/+8");
	check_cidr_bad("10.0.0.0/");
	check_cidr_bad("10.0.0.0/ 8");
	check_cidr_bad("10.0.0.0/8 ");
	check_cidr_bad("10.0.0.0/8x");
	check_cidr_bad("10.0.0.0/8/8");
	check_cidr_bad("10.0.0.0/0x8");
	check_cidr_bad("10.0.0.0/99999999999999999999");
	check_cidr_bad("::/129");
	check_cidr_bad("::/256");
	check_cidr_bad("::/1000");
	/* addresses */
	check_cidr_bad("");
	check_cidr_bad("/8");
	check_cidr_bad(" 10.0.0.0/8");
	check_cidr_bad("10.0.0/24");
	check_cidr_bad("10.0.0.0.0/8");
	check_cidr_bad("256.0.0.0/8");
	check_cidr_bad("example.com/8");
	check_cidr_bad("localhost");
	check_cidr_bad("[::1]/128");
	check_cidr_bad("[::1]");
	check_cidr_bad("fe80::1%eth0");
	check_cidr_bad("fe80::%1/64");
	check_cidr_bad("10.0.0.0:80");
	check_cidr_bad("*");
	memset(longer, '1', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	check_cidr_bad(longer);
	memcpy(longer, "10.0.0.0/", 9);
	check_cidr_bad(longer);
}

/* Every prefix length: network bits may be set, host bits may not. */
static void
test_parse_cidr_every_prefix(void **state)
{
	struct netaddr_cidr c;
	char ip[INET6_ADDRSTRLEN], s[INET6_ADDRSTRLEN + 16];
	uint8_t b[16];
	int p, i;

	(void)state;
	for (p = 0; p <= 32; p++) {
		/* all network bits set */
		memset(b, 0, sizeof(b));
		for (i = 0; i < p; i++)
			b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		inet_ntop(AF_INET, b, ip, sizeof(ip));
		snprintf(s, sizeof(s), "%s/%d", ip, p);
		cidr_ok(s, &c);
		assert_int_equal(c.prefix, p);
		if (p == 32)
			continue;
		/* and the first host bit: refused; the last one too */
		b[p / 8] |= (uint8_t)(0x80 >> (p % 8));
		inet_ntop(AF_INET, b, ip, sizeof(ip));
		snprintf(s, sizeof(s), "%s/%d", ip, p);
		check_cidr_bad(s);
		b[p / 8] &= (uint8_t)~(0x80 >> (p % 8));
		b[3] |= 1;
		inet_ntop(AF_INET, b, ip, sizeof(ip));
		snprintf(s, sizeof(s), "%s/%d", ip, p);
		check_cidr_bad(s);
	}
	for (p = 0; p <= 128; p++) {
		memset(b, 0, sizeof(b));
		for (i = 0; i < p; i++)
			b[i / 8] |= (uint8_t)(0x80 >> (i % 8));
		inet_ntop(AF_INET6, b, ip, sizeof(ip));
		snprintf(s, sizeof(s), "%s/%d", ip, p);
		cidr_ok(s, &c);
		assert_int_equal(c.prefix, p);
		check_cidr_str(&c, s);
		if (p == 128)
			continue;
		b[p / 8] |= (uint8_t)(0x80 >> (p % 8));
		inet_ntop(AF_INET6, b, ip, sizeof(ip));
		snprintf(s, sizeof(s), "%s/%d", ip, p);
		check_cidr_bad(s);
		b[p / 8] &= (uint8_t)~(0x80 >> (p % 8));
		b[15] |= 1;
		inet_ntop(AF_INET6, b, ip, sizeof(ip));
		snprintf(s, sizeof(s), "%s/%d", ip, p);
		check_cidr_bad(s);
	}
}

static int
match(const char *block, const char *ip)
{
	struct netaddr_cidr c;
	union sockaddr_u a;

	cidr_ok(block, &c);
	a = addr_of(ip, 4242);
	return netaddr_cidr_match(&c, &a);
}

static void
test_cidr_match(void **state)
{
	struct netaddr_cidr c;
	union sockaddr_u a;

	(void)state;
	assert_int_equal(match("10.0.0.0/8", "10.0.0.0"), 1);
	assert_int_equal(match("10.0.0.0/8", "10.1.2.3"), 1);
	assert_int_equal(match("10.0.0.0/8", "10.255.255.255"), 1);
	assert_int_equal(match("10.0.0.0/8", "11.0.0.0"), 0);
	assert_int_equal(match("10.0.0.0/8", "9.255.255.255"), 0);
	assert_int_equal(match("10.128.0.0/9", "10.128.0.1"), 1);
	assert_int_equal(match("10.128.0.0/9", "10.255.0.1"), 1);
	assert_int_equal(match("10.128.0.0/9", "10.127.255.255"), 0);
	assert_int_equal(match("192.0.2.1", "192.0.2.1"), 1);
	assert_int_equal(match("192.0.2.1", "192.0.2.2"), 0);
	assert_int_equal(match("192.0.2.1", "192.0.2.0"), 0);
	assert_int_equal(match("0.0.0.0/0", "0.0.0.0"), 1);
	assert_int_equal(match("0.0.0.0/0", "255.255.255.255"), 1);
	assert_int_equal(match("0.0.0.0/0", "::1"), 0);
	/* IPv4-mapped IPv6 addresses are in the IPv4 blocks */
	assert_int_equal(match("10.0.0.0/8", "::ffff:10.9.8.7"), 1);
	assert_int_equal(match("10.0.0.0/8", "::ffff:11.9.8.7"), 0);
	assert_int_equal(match("0.0.0.0/0", "::ffff:1.2.3.4"), 1);
	assert_int_equal(match("127.0.0.1", "::ffff:127.0.0.1"), 1);
	/* and so not in IPv6 blocks */
	assert_int_equal(match("::/0", "::ffff:1.2.3.4"), 0);
	/* IPv4-compatible (deprecated) is plain IPv6 */
	assert_int_equal(match("10.0.0.0/8", "::10.1.2.3"), 0);
	assert_int_equal(match("10.0.0.0/8", "fd00::a00:1"), 0);

	assert_int_equal(match("fd00::/8", "fd00::1"), 1);
	assert_int_equal(match("fd00::/8", "fdff:ffff::1"), 1);
	assert_int_equal(match("fd00::/8", "fc00::1"), 0);
	assert_int_equal(match("fd00::/8", "fe00::1"), 0);
	assert_int_equal(match("fe80::/10", "febf:ffff::1"), 1);
	assert_int_equal(match("fe80::/10", "fec0::1"), 0);
	assert_int_equal(match("2001:db8::/32", "2001:db8:ffff:ffff::1"), 1);
	assert_int_equal(match("2001:db8::/32", "2001:db9::"), 0);
	assert_int_equal(match("2001:db8::/33", "2001:db8:7fff::1"), 1);
	assert_int_equal(match("2001:db8::/33", "2001:db8:8000::1"), 0);
	assert_int_equal(match("::1", "::1"), 1);
	assert_int_equal(match("::1", "::2"), 0);
	assert_int_equal(match("::/0", "2001:db8::1"), 1);
	assert_int_equal(match("::/0", "10.0.0.1"), 0);
	assert_int_equal(match("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 1);
	assert_int_equal(match("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127",
	    "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffd"), 0);

	/* an unset address is in no block */
	cidr_ok("0.0.0.0/0", &c);
	memset(&a, 0, sizeof(a));
	assert_int_equal(netaddr_cidr_match(&c, &a), 0);
	cidr_ok("::/0", &c);
	assert_int_equal(netaddr_cidr_match(&c, &a), 0);
	/* the address given is left alone (normalized on a copy) */
	a = addr_of("::ffff:10.1.2.3", 80);
	cidr_ok("10.0.0.0/8", &c);
	assert_int_equal(netaddr_cidr_match(&c, &a), 1);
	assert_int_equal(a.sa.sa_family, AF_INET6);
	assert_int_equal(netaddr_port(&a), 80);
}

/* Each bit of the address: inside the prefix it matters, outside not. */
static void
test_cidr_match_every_bit(void **state)
{
	struct netaddr_cidr c;
	union sockaddr_u a;
	int p, bit;

	(void)state;
	for (p = 0; p <= 32; p++) {
		memset(&c, 0, sizeof(c));
		c.addr = addr_of("192.168.85.170", 0);
		c.addr.in.sin_addr.s_addr &= p == 0 ? 0 :
		    htonl(0xffffffffu << (32 - p));
		c.prefix = (uint8_t)p;
		for (bit = 0; bit < 32; bit++) {
			a = c.addr;
			a.in.sin_addr.s_addr ^= htonl(0x80000000u >> bit);
			if (netaddr_cidr_match(&c, &a) != (bit >= p))
				fail_msg("/%d, bit %d flipped: match %d", p,
				    bit, netaddr_cidr_match(&c, &a));
		}
		a = c.addr;
		assert_int_equal(netaddr_cidr_match(&c, &a), 1);
	}
	for (p = 0; p <= 128; p++) {
		memset(&c, 0, sizeof(c));
		c.addr = addr_of("2001:db8:5555:aaaa:5555:aaaa:5555:aaaa", 0);
		for (bit = p; bit < 128; bit++)
			c.addr.in6.sin6_addr.s6_addr[bit / 8] &=
			    (uint8_t)~(0x80 >> (bit % 8));
		c.prefix = (uint8_t)p;
		for (bit = 0; bit < 128; bit++) {
			a = c.addr;
			a.in6.sin6_addr.s6_addr[bit / 8] ^=
			    (uint8_t)(0x80 >> (bit % 8));
			if (netaddr_cidr_match(&c, &a) != (bit >= p))
				fail_msg("/%d, bit %d flipped: match %d", p,
				    bit, netaddr_cidr_match(&c, &a));
		}
	}
}

static void
test_cidr_str_truncated(void **state)
{
	struct netaddr_cidr c;
	char s[8];

	(void)state;
	cidr_ok("192.168.0.0/16", &c);
	memset(s, 'x', sizeof(s));
	assert_ptr_equal(netaddr_cidr_str(&c, s, sizeof(s)), s);
	assert_string_equal(s, "192.168");
	/* the longest IPv6 form fits NETADDR_STRLEN */
	cidr_ok("2001:db8:1234:5678:9abc:def0:1234:5678", &c);
	check_cidr_str(&c, "2001:db8:1234:5678:9abc:def0:1234:5678/128");
	cidr_ok("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &c);
	check_cidr_str(&c, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

static void
test_is_link_local(void **state)
{
	static const struct {
		const char	*ip;
		int		ll;
	} t[] = {
		{ "169.254.0.0", 1 }, { "169.254.169.254", 1 },
		{ "169.254.255.255", 1 }, { "::ffff:169.254.1.1", 1 },
		{ "fe80::", 1 }, { "fe80::1", 1 }, { "fe80::fc:ff:fe00:1", 1 },
		{ "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 1 },
		{ "169.253.255.255", 0 }, { "169.255.0.0", 0 },
		{ "168.254.0.1", 0 }, { "127.0.0.1", 0 }, { "0.0.0.0", 0 },
		{ "10.0.0.1", 0 }, { "::ffff:169.253.1.1", 0 },
		{ "fe7f:ffff::1", 0 }, { "fec0::1", 0 }, { "ff02::1", 0 },
		{ "::1", 0 }, { "::", 0 }, { "fd00::1", 0 },
		{ "::169.254.1.1", 0 },
	};
	union sockaddr_u a;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		a = addr_of(t[i].ip, 80);
		if (netaddr_is_link_local(&a) != t[i].ll)
			fail_msg("%s: link-local %d, want %d", t[i].ip,
			    netaddr_is_link_local(&a), t[i].ll);
	}
	memset(&a, 0, sizeof(a));
	assert_int_equal(netaddr_is_link_local(&a), 0);
	/* the address given is left alone */
	a = addr_of("::ffff:169.254.1.1", 80);
	assert_int_equal(netaddr_is_link_local(&a), 1);
	assert_int_equal(a.sa.sa_family, AF_INET6);
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
		cmocka_unit_test(test_str_matches_inet_ntop),
		cmocka_unit_test(test_set_port),
		cmocka_unit_test(test_normalize_v4_mapped),
		cmocka_unit_test(test_normalize_leaves_others),
		cmocka_unit_test(test_is_loopback),
		cmocka_unit_test(test_is_any),
		cmocka_unit_test(test_ip_equal),
		cmocka_unit_test(test_parse_cidr_ipv4),
		cmocka_unit_test(test_parse_cidr_ipv6),
		cmocka_unit_test(test_parse_cidr_bad),
		cmocka_unit_test(test_parse_cidr_every_prefix),
		cmocka_unit_test(test_cidr_match),
		cmocka_unit_test(test_cidr_match_every_bit),
		cmocka_unit_test(test_cidr_str_truncated),
		cmocka_unit_test(test_is_link_local),
	};

	return cmocka_run_group_tests_name("netaddr", tests, NULL, NULL);
}
