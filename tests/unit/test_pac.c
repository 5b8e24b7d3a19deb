/*
 * Unit tests for the PAC file: proxy/pac.c.  Which listener a PAC names,
 * the address it gives for a wildcard listener, the route text, the
 * script for every kind of bypass entry, and which request targets ask
 * for it.  (Browsers run the script in the integration tests.)
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pac.h"

static union sockaddr_u
addr(const char *hostport)
{
	union sockaddr_u a;

	if (netaddr_parse_hostport(hostport, &a, 0) != 0)
		fail_msg("bad test address %s", hostport);
	return a;
}

static void
check_str(const union sockaddr_u *a, const char *want)
{
	char b[NETADDR_STRLEN];

	assert_string_equal(netaddr_str(a, b, sizeof(b)), want);
}

/* ----- pac_pick ----------------------------------------------------------- */

static void
add_listen(struct conf *c, enum conf_proto p, const char *hp)
{
	c->listen = realloc(c->listen, (size_t)(c->nlisten + 1) *
	    sizeof(*c->listen));
	assert_non_null(c->listen);
	c->listen[c->nlisten].proto = p;
	c->listen[c->nlisten].addr = addr(hp);
	c->nlisten++;
}

static void
test_pick(void **state)
{
	struct conf c;
	enum conf_proto p;
	union sockaddr_u a;

	(void)state;
	memset(&c, 0, sizeof(c));
	assert_int_equal(pac_pick(&c, &p, &a), -1);
	add_listen(&c, CONF_PROTO_SOCKS4, "127.0.0.1:1081");
	assert_int_equal(pac_pick(&c, &p, &a), 0);
	assert_int_equal(p, CONF_PROTO_SOCKS4);
	/* SOCKS5 beats SOCKS4 */
	add_listen(&c, CONF_PROTO_SOCKS5, "127.0.0.1:1080");
	assert_int_equal(pac_pick(&c, &p, &a), 0);
	assert_int_equal(p, CONF_PROTO_SOCKS5);
	check_str(&a, "127.0.0.1:1080");
	/* HTTP (or auto, whichever comes first) beats SOCKS */
	add_listen(&c, CONF_PROTO_AUTO, "[::1]:8080");
	add_listen(&c, CONF_PROTO_HTTP, "127.0.0.1:3128");
	assert_int_equal(pac_pick(&c, &p, &a), 0);
	assert_int_equal(p, CONF_PROTO_AUTO);
	check_str(&a, "[::1]:8080");
	free(c.listen);
}

/* ----- pac_reached --------------------------------------------------------- */

static void
check_reached(const char *listen, const char *local, const char *want)
{
	union sockaddr_u l = addr(listen), lo = addr(local), out;

	pac_reached(&l, &lo, &out);
	check_str(&out, want);
}

static void
test_reached(void **state)
{
	(void)state;
	/* a specific address: itself, whatever the client used */
	check_reached("192.0.2.7:3128", "127.0.0.1:9090", "192.0.2.7:3128");
	check_reached("[2001:db8::7]:3128", "127.0.0.1:40000",
	    "[2001:db8::7]:3128");
	/* a wildcard: the address the client reached, the listener's port */
	check_reached("0.0.0.0:3128", "192.0.2.9:9090", "192.0.2.9:3128");
	check_reached("[::]:3128", "[2001:db8::9]:9090", "[2001:db8::9]:3128");
	check_reached("[::]:3128", "192.0.2.9:3128", "192.0.2.9:3128");
	/* an IPv4 client of a dual-stack socket: its plain IPv4 address */
	check_reached("[::]:3128", "[::ffff:192.0.2.9]:3128", "192.0.2.9:3128");
	check_reached("0.0.0.0:3128", "[::ffff:192.0.2.9]:9090",
	    "192.0.2.9:3128");
	/* IPv4-only listener, reached over IPv6 (the admin port): loopback */
	check_reached("0.0.0.0:3128", "[::1]:9090", "127.0.0.1:3128");
}

/* ----- pac_route ---------------------------------------------------------- */

static void
test_route(void **state)
{
	union sockaddr_u v4 = addr("192.0.2.1:3128"), v6 = addr("[::1]:1080");
	char b[PAC_ROUTE_MAX];

	(void)state;
	assert_int_equal(pac_route(b, sizeof(b), CONF_PROTO_HTTP, &v4), 0);
	assert_string_equal(b, "PROXY 192.0.2.1:3128");
	assert_int_equal(pac_route(b, sizeof(b), CONF_PROTO_AUTO, &v6), 0);
	assert_string_equal(b, "PROXY [::1]:1080");
	assert_int_equal(pac_route(b, sizeof(b), CONF_PROTO_SOCKS5, &v6), 0);
	assert_string_equal(b, "SOCKS5 [::1]:1080");
	/* SOCKS in a PAC file is SOCKS4 */
	assert_int_equal(pac_route(b, sizeof(b), CONF_PROTO_SOCKS4, &v4), 0);
	assert_string_equal(b, "SOCKS 192.0.2.1:3128");
	/* too small: refused, not cut */
	assert_int_equal(pac_route(b, 20, CONF_PROTO_HTTP, &v4), -1);
	assert_int_equal(pac_route(b, 21, CONF_PROTO_HTTP, &v4), 0);
}

/* ----- pac_script --------------------------------------------------------- */

static char *
script(const struct conf_dests *d, const char *route)
{
	size_t len = 0;
	char *t = pac_script(d, route, &len);

	assert_non_null(t);
	assert_int_equal(strlen(t), len);
	return t;
}

static void
expect(const char *text, const char *part)
{
	if (strstr(text, part) == NULL)
		fail_msg("no \"%s\" in:\n%s", part, text);
}

static void
expect_not(const char *text, const char *part)
{
	if (strstr(text, part) != NULL)
		fail_msg("\"%s\" should not be in:\n%s", part, text);
}

static void
test_script_no_bypass(void **state)
{
	struct conf_dests d;
	char *t;

	(void)state;
	memset(&d, 0, sizeof(d));
	t = script(&d, "PROXY 127.0.0.1:3128");
	assert_string_equal(t,
	    "// Proxy auto-config from sluice, generated from its "
	    "configuration.\n"
	    "function FindProxyForURL(url, host) {\n"
	    "\tvar h = host.toLowerCase();\n"
	    "\tif (h.charAt(0) == \"[\")\n"
	    "\t\th = h.substring(1, h.length - 1);\n"
	    "\tif (h.length > 1 && h.charAt(h.length - 1) == \".\")\n"
	    "\t\th = h.substring(0, h.length - 1);\n"
	    "\treturn \"PROXY 127.0.0.1:3128\";\n"
	    "}\n");
	free(t);
}

static void
test_script_names(void **state)
{
	char h1[] = "intranet.example", h2[] = "wiki", s1[] = ".corp.example";
	char *hosts[] = { h1, h2 };
	char *suffixes[] = { s1 };
	struct conf_dests d;
	char *t;

	(void)state;
	memset(&d, 0, sizeof(d));
	d.hosts = hosts;
	d.nhosts = 2;
	d.suffixes = suffixes;
	d.nsuffixes = 1;
	t = script(&d, "PROXY [::1]:3128");
	expect(t, "\tif (h == \"intranet.example\")\n\t\treturn \"DIRECT\";\n");
	expect(t, "\tif (h == \"wiki\")\n\t\treturn \"DIRECT\";\n");
	expect(t, "\tif (dnsDomainIs(h, \".corp.example\"))\n"
	    "\t\treturn \"DIRECT\";\n");
	expect(t, "\treturn \"PROXY [::1]:3128\";\n}\n");
	/* no address blocks: the browser is never asked to resolve */
	expect_not(t, "dnsResolve");
	expect_not(t, "isInNet");
	free(t);
}

static void
cidr(struct netaddr_cidr *c, const char *text)
{
	assert_int_equal(netaddr_parse_cidr(text, c), 0);
}

static void
test_script_cidrs(void **state)
{
	struct netaddr_cidr cs[6];
	struct conf_dests d;
	char *t;

	(void)state;
	memset(&d, 0, sizeof(d));
	cidr(&cs[0], "10.0.0.0/8");
	cidr(&cs[1], "fd00::/8");
	cidr(&cs[2], "192.0.2.128/25");
	cidr(&cs[3], "198.51.100.7");
	cidr(&cs[4], "0.0.0.0/0");
	cidr(&cs[5], "2001:db8::/32");
	d.cidrs = cs;
	d.ncidrs = 6;
	t = script(&d, "PROXY 127.0.0.1:3128");
	expect(t, "\tvar a = sluiceAddresses(h);\n");
	expect(t, "\t\tif (a[i].indexOf(\":\") < 0 && ("
	    "isInNet(a[i], \"10.0.0.0\", \"255.0.0.0\") ||\n"
	    "\t\t    isInNet(a[i], \"192.0.2.128\", \"255.255.255.128\") ||\n"
	    "\t\t    isInNet(a[i], \"198.51.100.7\", \"255.255.255.255\") ||\n"
	    "\t\t    isInNet(a[i], \"0.0.0.0\", \"0.0.0.0\")))\n"
	    "\t\t\treturn \"DIRECT\";\n");
	expect(t, "typeof isInNetEx == \"function\" && ("
	    "isInNetEx(a[i], \"fd00::/8\") ||\n"
	    "\t\t    isInNetEx(a[i], \"2001:db8::/32\")))\n"
	    "\t\t\treturn \"DIRECT\";\n");
	expect(t, "function sluiceAddresses(h) {\n");
	expect(t, "dnsResolveEx(h) : dnsResolve(h);\n");
	/* the route comes after every bypass check */
	assert_true(strstr(t, "return \"PROXY 127.0.0.1:3128\"") >
	    strstr(t, "isInNetEx"));
	free(t);

	/* IPv6 blocks alone: no IPv4 test at all */
	d.cidrs = &cs[1];
	d.ncidrs = 1;
	t = script(&d, "PROXY 127.0.0.1:3128");
	expect_not(t, "isInNet(");
	expect(t, "isInNetEx(a[i], \"fd00::/8\")))");
	free(t);
}

/* ----- pac_is_request ------------------------------------------------------ */

static int
is_req(const char *t)
{
	return pac_is_request(t, strlen(t));
}

static void
test_is_request(void **state)
{
	(void)state;
	assert_true(is_req("/proxy.pac"));
	assert_true(is_req("/proxy.pac?v=2"));
	assert_true(is_req("/wpad.dat"));
	assert_true(is_req("/wpad.dat?"));
	assert_false(is_req("/proxy.pacx"));
	assert_false(is_req("/proxy.pa"));
	assert_false(is_req("/PROXY.PAC"));
	assert_false(is_req("/dir/proxy.pac"));
	assert_false(is_req("proxy.pac"));
	assert_false(is_req(""));
	assert_false(is_req("/"));
	/* a span, not a string: what follows it does not count */
	assert_true(pac_is_request("/proxy.pac HTTP/1.1", 10));
	assert_false(pac_is_request("/proxy.pac", 9));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pick),
		cmocka_unit_test(test_reached),
		cmocka_unit_test(test_route),
		cmocka_unit_test(test_script_no_bypass),
		cmocka_unit_test(test_script_names),
		cmocka_unit_test(test_script_cidrs),
		cmocka_unit_test(test_is_request),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
