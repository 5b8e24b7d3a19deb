/*
 * Unit tests for the access rules: proxy/rules.c.
 *
 * The rules come from configuration text, loaded through conf_load_file()
 * and conf_finish() as sluice loads them (so that a rule's users are the
 * sorted, group-expanded list rules_match() searches).  Each query is
 * checked for the whole verdict: action, rule number and protected flag.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "netaddr.h"
#include "rules.h"

/* The example of the configuration contract, rules numbered 1..5. */
static const char sample_conf[] =
    "listen = ( { address = \"0.0.0.0\"; port = 1080; } );\n"
    "auth = {\n"
    "  users = ( { name = \"alice\"; password = \"a\"; },\n"
    "    { name = \"bob\"; password = \"b\"; },\n"
    "    { name = \"carol\"; password = \"c\"; },\n"
    "    { name = \"dave\"; password = \"d\"; } );\n"
    "  groups = ( { name = \"staff\"; users = [ \"alice\", \"bob\" ]; } );\n"
    "};\n"
    "rules = (\n"
    "  { action = \"deny\"; dest = [ \"10.0.0.0/8\", \"*.internal.example\" ];"
    " },\n"
    "  { action = \"allow\"; groups = [ \"staff\" ];"
    " dest = [ \"*.example.com\" ];"
    " ports = [ \"80\", \"443\", \"8000-8100\" ]; },\n"
    "  { action = \"allow\"; users = [ \"carol\" ];"
    " protocols = [ \"connect\", \"socks5\" ]; },\n"
    "  { action = \"allow\"; clients = [ \"192.168.0.0/16\", \"fd00::/8\" ];"
    " methods = [ \"GET\", \"HEAD\" ]; },\n"
    "  { action = \"deny\"; name = \"rest\"; }\n"
    ");\n"
    "allow_open_proxy = false;\n";

/* Users every other configuration here may name. */
#define USERS								\
    "auth = { users = ( { name = \"alice\"; password = \"a\"; },\n"	\
    "  { name = \"bob\"; password = \"b\"; } ); };\n"

/* ----- helpers -------------------------------------------------------- */

/* Load text as a configuration and finish it; both must succeed. */
static void
conf_from(struct conf *c, const char *text)
{
	char path[] = "/tmp/sluice-test-rules-XXXXXX", err[CONF_ERRLEN];
	FILE *f;
	int fd;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
	conf_init(c);
	err[0] = '\0';
	if (conf_load_file(c, path, err, sizeof(err)) != 0 ||
	    conf_finish(c, err, sizeof(err)) != 0) {
		unlink(path);
		fail_msg("rejected:\n%s\nerrors:\n%s", text, err);
	}
	unlink(path);
}

static union sockaddr_u
ip(const char *s)
{
	union sockaddr_u a;

	if (netaddr_parse_ip(s, &a) != 0)
		fail_msg("test address \"%s\" does not parse", s);
	return a;
}

/* A query from client cl: the other fields are for each test to set. */
struct q {
	union sockaddr_u client, addr;
	struct rules_query q;
};

static void
q_init(struct q *x, const char *user, const char *client, unsigned proto,
    const char *method, const char *host, uint16_t port, const char *addr)
{
	memset(x, 0, sizeof(*x));
	x->client = ip(client);
	x->q.user = user;
	x->q.client = &x->client;
	x->q.protocol = proto;
	x->q.method = method;
	x->q.host = host;
	x->q.port = port;
	if (addr != NULL) {
		x->addr = ip(addr);
		netaddr_set_port(&x->addr, port);
		x->q.addr = &x->addr;
	}
}

static void
check_verdict(const struct conf *c, const struct rules_guard *g,
    const struct q *x, enum conf_action action, int rule, int prot)
{
	struct rules_verdict v;
	char a[NETADDR_STRLEN];

	memset(&v, 0x5a, sizeof(v));
	rules_check(c, g, &x->q, &v);
	if (v.action != action || v.rule != rule || v.protected != prot)
		fail_msg("user %s host %s port %u addr %s: got %s rule %d "
		    "protected %d, want %s rule %d protected %d",
		    x->q.user ? x->q.user : "(none)",
		    x->q.host ? x->q.host : "(none)", x->q.port,
		    x->q.addr ? netaddr_ip_str(x->q.addr, a, sizeof(a)) : "-",
		    v.action == CONF_ALLOW ? "allow" : "deny", v.rule,
		    v.protected, action == CONF_ALLOW ? "allow" : "deny", rule,
		    prot);
}

static const struct rules_guard unshared = { 0, NULL, 0 };

/* ----- rules_host_match ----------------------------------------------- */

static void
test_host_match(void **state)
{
	struct conf c;
	const struct conf_rule *r;

	(void)state;
	conf_from(&c, "rules = ( { action = \"allow\";\n"
	    "  dest = [ \"*.example.com\", \"Exact.Example.ORG.\" ]; } );\n");
	r = &c.rules[0];
	/* stored lower case, without the trailing dot, "*" dropped */
	assert_int_equal(r->dest.nhosts, 1);
	assert_string_equal(r->dest.hosts[0], "exact.example.org");
	assert_int_equal(r->dest.nsuffixes, 1);
	assert_string_equal(r->dest.suffixes[0], ".example.com");

	assert_int_equal(rules_host_match(r, "a.example.com"), 1);
	assert_int_equal(rules_host_match(r, "A.B.Example.COM."), 1);
	assert_int_equal(rules_host_match(r, "a.b.c.d.example.com"), 1);
	assert_int_equal(rules_host_match(r, "www.EXAMPLE.com"), 1);
	assert_int_equal(rules_host_match(r, "-.example.com"), 1);
	/* the suffix needs a label before it */
	assert_int_equal(rules_host_match(r, "example.com"), 0);
	assert_int_equal(rules_host_match(r, "example.com."), 0);
	assert_int_equal(rules_host_match(r, "Example.Com"), 0);
	assert_int_equal(rules_host_match(r, ".example.com"), 0);
	assert_int_equal(rules_host_match(r, "badexample.com"), 0);
	assert_int_equal(rules_host_match(r, "a.badexample.com"), 0);
	assert_int_equal(rules_host_match(r, "a.example.com.evil.net"), 0);
	assert_int_equal(rules_host_match(r, "a.example.co"), 0);
	assert_int_equal(rules_host_match(r, "a.example.comm"), 0);
	assert_int_equal(rules_host_match(r, "a-example.com"), 0);
	assert_int_equal(rules_host_match(r, ""), 0);
	assert_int_equal(rules_host_match(r, "."), 0);
	/* an exact name: itself only, any case, a trailing dot */
	assert_int_equal(rules_host_match(r, "exact.example.org"), 1);
	assert_int_equal(rules_host_match(r, "EXACT.Example.Org."), 1);
	assert_int_equal(rules_host_match(r, "x.exact.example.org"), 0);
	assert_int_equal(rules_host_match(r, "exact.example.org.uk"), 0);
	assert_int_equal(rules_host_match(r, "xexact.example.org"), 0);
	assert_int_equal(rules_host_match(r, "exact.example.or"), 0);
	conf_free(&c);
}

/* Names up to the longest a SOCKS5 request carries (255 bytes). */
static void
test_host_match_long_names(void **state)
{
	struct conf c;
	const struct conf_rule *r;
	char host[300];
	size_t sl = strlen(".internal.example");

	(void)state;
	conf_from(&c, "rules = ( { action = \"deny\";\n"
	    "  dest = [ \"*.internal.example\" ]; } );\n");
	r = &c.rules[0];
	/* 255 bytes in all */
	memset(host, 'a', 255 - sl);
	memcpy(host + 255 - sl, ".internal.example", sl + 1);
	assert_int_equal(strlen(host), 255);
	assert_int_equal(rules_host_match(r, host), 1);
	/* and with a trailing dot: 256 bytes */
	memcpy(host + 255, ".", 2);
	assert_int_equal(rules_host_match(r, host), 1);
	/* upper case all along */
	memset(host, 'A', 255 - sl);
	host[255] = '\0';
	assert_int_equal(rules_host_match(r, host), 1);
	/* not under the suffix */
	host[254] = 'X';
	assert_int_equal(rules_host_match(r, host), 0);
	conf_free(&c);
}

/* ----- rules_match, one key at a time --------------------------------- */

static void
test_match_no_keys(void **state)
{
	struct conf c;
	struct q x;

	(void)state;
	conf_from(&c, "rules = ( { action = \"deny\"; } );\n");
	assert_int_equal(c.nrules, 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "example.com",
	    443, "93.184.216.34");
	assert_int_equal(rules_match(&c.rules[0], &x.q), 1);
	/* nothing known yet: still a match */
	q_init(&x, NULL, "::1", CONF_P_HTTP, "POST", NULL, 0, NULL);
	assert_int_equal(rules_match(&c.rules[0], &x.q), 1);
	q_init(&x, "alice", "10.0.0.1", CONF_P_CONNECT, "CONNECT", "h", 1,
	    "::");
	assert_int_equal(rules_match(&c.rules[0], &x.q), 1);
	conf_free(&c);
}

static void
test_match_dest(void **state)
{
	struct conf c;
	const struct conf_rule *r;
	struct q x;

	(void)state;
	conf_from(&c, "rules = ( { action = \"deny\";\n"
	    "  dest = [ \"10.0.0.0/8\", \"2001:db8::/32\", \"192.0.2.7\",\n"
	    "    \"*.internal.example\", \"db.example.net\" ]; } );\n");
	r = &c.rules[0];
	assert_int_equal(r->has_dest, 1);
	assert_int_equal(r->dest.ncidrs, 3);

	/* by resolved address */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "any.net", 80,
	    "10.200.3.4");
	assert_int_equal(rules_match(r, &x.q), 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "any.net", 80,
	    "11.0.0.1");
	assert_int_equal(rules_match(r, &x.q), 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "any.net", 80,
	    "::ffff:10.1.1.1");
	assert_int_equal(rules_match(r, &x.q), 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "any.net", 80,
	    "2001:db8:ffff::1");
	assert_int_equal(rules_match(r, &x.q), 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "any.net", 80,
	    "2001:db9::1");
	assert_int_equal(rules_match(r, &x.q), 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "any.net", 80,
	    "192.0.2.7");
	assert_int_equal(rules_match(r, &x.q), 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "any.net", 80,
	    "192.0.2.8");
	assert_int_equal(rules_match(r, &x.q), 0);

	/* by name, whatever the address */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "Vault.Internal.Example", 80, "93.184.216.34");
	assert_int_equal(rules_match(r, &x.q), 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "db.example.net.",
	    80, "93.184.216.34");
	assert_int_equal(rules_match(r, &x.q), 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "internal.example", 80, "93.184.216.34");
	assert_int_equal(rules_match(r, &x.q), 0);
	/* before resolution: the name only */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "x.internal.example", 80, NULL);
	assert_int_equal(rules_match(r, &x.q), 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "www.example.com",
	    80, NULL);
	assert_int_equal(rules_match(r, &x.q), 0);
	/* an address block is not a name */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "10.0.0.1", 80,
	    NULL);
	assert_int_equal(rules_match(r, &x.q), 0);
	/* no host and no address: a dest cannot match */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, NULL, 80, NULL);
	assert_int_equal(rules_match(r, &x.q), 0);
	conf_free(&c);
}

static void
test_match_ports(void **state)
{
	struct conf c;
	const struct conf_rule *r;
	struct q x;
	static const struct {
		uint16_t	port;
		int		match;
	} p[] = {
		{ 0, 0 }, { 1, 0 }, { 79, 0 }, { 80, 1 }, { 81, 0 },
		{ 443, 1 }, { 7999, 0 }, { 8000, 1 }, { 8050, 1 },
		{ 8100, 1 }, { 8101, 0 }, { 65534, 0 }, { 65535, 1 },
	};
	size_t i;

	(void)state;
	conf_from(&c, "rules = ( { action = \"allow\";\n"
	    "  ports = ( \"80\", \"443\", \"8000-8100\", 65535 ); } );\n");
	r = &c.rules[0];
	assert_int_equal(r->nports, 4);
	assert_int_equal(r->ports[2].lo, 8000);
	assert_int_equal(r->ports[2].hi, 8100);
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL,
		    "example.com", p[i].port, "93.184.216.34");
		if (rules_match(r, &x.q) != p[i].match)
			fail_msg("port %u: match %d, want %d", p[i].port,
			    rules_match(r, &x.q), p[i].match);
	}
	conf_free(&c);
}

static void
test_match_users_and_groups(void **state)
{
	struct conf c;
	const struct conf_rule *r;
	struct q x;

	(void)state;
	conf_from(&c, sample_conf);
	r = &c.rules[1];		/* groups = [ "staff" ] */
	assert_int_equal(r->has_users, 1);
	assert_int_equal(r->nusers, 2);
	assert_string_equal(r->users[0], "alice");
	assert_string_equal(r->users[1], "bob");
	q_init(&x, "alice", "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "www.example.com", 443, "93.184.216.34");
	assert_int_equal(rules_match(r, &x.q), 1);
	x.q.user = "bob";
	assert_int_equal(rules_match(r, &x.q), 1);
	x.q.user = "carol";
	assert_int_equal(rules_match(r, &x.q), 0);
	x.q.user = "dave";
	assert_int_equal(rules_match(r, &x.q), 0);
	/* names are exact: no case folding, no prefixes */
	x.q.user = "Alice";
	assert_int_equal(rules_match(r, &x.q), 0);
	x.q.user = "alic";
	assert_int_equal(rules_match(r, &x.q), 0);
	x.q.user = "alicea";
	assert_int_equal(rules_match(r, &x.q), 0);
	x.q.user = "staff";
	assert_int_equal(rules_match(r, &x.q), 0);
	/* no user (auth off, or before it): a users rule does not match */
	x.q.user = NULL;
	assert_int_equal(rules_match(r, &x.q), 0);

	r = &c.rules[2];		/* users = [ "carol" ] */
	assert_int_equal(r->nusers, 1);
	q_init(&x, "carol", "203.0.113.5", CONF_P_SOCKS5, NULL, "any.net", 22,
	    "198.51.100.1");
	assert_int_equal(rules_match(r, &x.q), 1);
	x.q.user = "alice";
	assert_int_equal(rules_match(r, &x.q), 0);
	conf_free(&c);
}

static void
test_match_clients(void **state)
{
	struct conf c;
	const struct conf_rule *r;
	struct q x;
	static const struct {
		const char	*client;
		int		match;
	} cl[] = {
		{ "192.168.0.0", 1 }, { "192.168.1.5", 1 },
		{ "192.168.255.255", 1 }, { "192.169.0.1", 0 },
		{ "192.167.255.255", 0 }, { "10.0.0.1", 0 },
		{ "::ffff:192.168.1.5", 1 }, { "::ffff:192.169.1.5", 0 },
		{ "fd00::1234", 1 }, { "fdff:ffff::1", 1 }, { "fe00::1", 0 },
		{ "fc00::1", 0 }, { "::1", 0 }, { "fe80::1", 0 },
	};
	size_t i;

	(void)state;
	conf_from(&c, sample_conf);
	r = &c.rules[3];	/* clients, methods = [ "GET", "HEAD" ] */
	assert_int_equal(r->nclients, 2);
	for (i = 0; i < sizeof(cl) / sizeof(cl[0]); i++) {
		q_init(&x, NULL, cl[i].client, CONF_P_HTTP, "GET",
		    "example.com", 80, "93.184.216.34");
		if (rules_match(r, &x.q) != cl[i].match)
			fail_msg("client %s: match %d, want %d", cl[i].client,
			    rules_match(r, &x.q), cl[i].match);
	}
	conf_free(&c);
}

static void
test_match_protocols(void **state)
{
	struct conf c;
	const struct conf_rule *r;
	struct q x;

	(void)state;
	conf_from(&c, sample_conf);
	r = &c.rules[2];	/* carol, protocols = [ "connect", "socks5" ] */
	assert_int_equal(r->protocols, CONF_P_CONNECT | CONF_P_SOCKS5);
	q_init(&x, "carol", "203.0.113.5", CONF_P_SOCKS5, NULL, "any.net", 22,
	    "198.51.100.1");
	assert_int_equal(rules_match(r, &x.q), 1);
	x.q.protocol = CONF_P_CONNECT;
	x.q.method = "CONNECT";
	assert_int_equal(rules_match(r, &x.q), 1);
	x.q.protocol = CONF_P_HTTP;
	x.q.method = "GET";
	assert_int_equal(rules_match(r, &x.q), 0);
	x.q.protocol = CONF_P_SOCKS4;
	x.q.method = NULL;
	assert_int_equal(rules_match(r, &x.q), 0);
	conf_free(&c);

	conf_from(&c, "rules = ( { action = \"deny\";\n"
	    "  protocols = [ \"socks4\", \"http\" ]; } );\n");
	r = &c.rules[0];
	assert_int_equal(r->protocols, CONF_P_SOCKS4 | CONF_P_HTTP);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS4, NULL, "any.net", 80,
	    "198.51.100.1");
	assert_int_equal(rules_match(r, &x.q), 1);
	x.q.protocol = CONF_P_HTTP;
	assert_int_equal(rules_match(r, &x.q), 1);
	x.q.protocol = CONF_P_SOCKS5;
	assert_int_equal(rules_match(r, &x.q), 0);
	x.q.protocol = CONF_P_CONNECT;
	assert_int_equal(rules_match(r, &x.q), 0);
	conf_free(&c);
}

static void
test_match_methods(void **state)
{
	struct conf c;
	const struct conf_rule *r;
	struct q x;

	(void)state;
	conf_from(&c, sample_conf);
	r = &c.rules[3];	/* clients, methods = [ "GET", "HEAD" ] */
	assert_int_equal(r->nmethods, 2);
	q_init(&x, NULL, "192.168.1.5", CONF_P_HTTP, "GET", "example.com", 80,
	    "93.184.216.34");
	assert_int_equal(rules_match(r, &x.q), 1);
	x.q.method = "HEAD";
	assert_int_equal(rules_match(r, &x.q), 1);
	x.q.method = "POST";
	assert_int_equal(rules_match(r, &x.q), 0);
	x.q.method = "CONNECT";
	assert_int_equal(rules_match(r, &x.q), 0);
	/* methods are case-sensitive (RFC 9110 §9.1) */
	x.q.method = "get";
	assert_int_equal(rules_match(r, &x.q), 0);
	x.q.method = "GETX";
	assert_int_equal(rules_match(r, &x.q), 0);
	x.q.method = "GE";
	assert_int_equal(rules_match(r, &x.q), 0);
	x.q.method = "";
	assert_int_equal(rules_match(r, &x.q), 0);
	/* no method (SOCKS): a methods rule does not match */
	x.q.protocol = CONF_P_SOCKS5;
	x.q.method = NULL;
	assert_int_equal(rules_match(r, &x.q), 0);
	conf_free(&c);
}

/* ----- rules_check: first match wins ---------------------------------- */

static void
test_check_first_match_wins(void **state)
{
	struct conf c;
	struct q x;

	(void)state;
	conf_from(&c, sample_conf);
	assert_int_equal(c.nrules, 5);
	assert_string_equal(c.rules[4].name, "rest");

	/* rule 1: the deny block, for everyone */
	q_init(&x, "alice", "192.168.1.5", CONF_P_SOCKS5, NULL,
	    "www.example.com", 443, "10.1.2.3");
	check_verdict(&c, &unshared, &x, CONF_DENY, 1, 0);
	q_init(&x, "carol", "203.0.113.5", CONF_P_CONNECT, "CONNECT",
	    "git.internal.example", 22, "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_DENY, 1, 0);
	/* an IPv4-mapped address is in the IPv4 block */
	q_init(&x, "carol", "203.0.113.5", CONF_P_SOCKS5, NULL, "x.net", 22,
	    "::ffff:10.9.9.9");
	check_verdict(&c, &unshared, &x, CONF_DENY, 1, 0);

	/* rule 2: staff to *.example.com on its ports */
	q_init(&x, "alice", "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "www.example.com", 443, "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 2, 0);
	q_init(&x, "bob", "203.0.113.5", CONF_P_HTTP, "POST",
	    "A.Example.COM.", 80, "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 2, 0);
	q_init(&x, "alice", "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "www.example.com", 8100, "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 2, 0);
	/* off its ports, or not staff, or not under the suffix: "rest" */
	q_init(&x, "alice", "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "www.example.com", 8101, "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_DENY, 5, 0);
	q_init(&x, "dave", "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "www.example.com", 443, "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_DENY, 5, 0);
	q_init(&x, "alice", "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "example.com", 443, "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_DENY, 5, 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "www.example.com", 443, "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_DENY, 5, 0);

	/* rule 3: carol, CONNECT and SOCKS5, anywhere but rule 1's */
	q_init(&x, "carol", "203.0.113.5", CONF_P_CONNECT, "CONNECT",
	    "ssh.example.org", 22, "198.51.100.1");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 3, 0);
	q_init(&x, "carol", "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "ssh.example.org", 22, "198.51.100.1");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 3, 0);
	q_init(&x, "carol", "203.0.113.5", CONF_P_HTTP, "GET",
	    "ssh.example.org", 80, "198.51.100.1");
	check_verdict(&c, &unshared, &x, CONF_DENY, 5, 0);

	/* rule 4: anyone on the LAN, GET and HEAD */
	q_init(&x, NULL, "192.168.7.7", CONF_P_HTTP, "GET", "news.example.org",
	    80, "198.51.100.1");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 4, 0);
	q_init(&x, "carol", "fd00::9", CONF_P_HTTP, "HEAD", "news.example.org",
	    80, "198.51.100.1");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 4, 0);
	q_init(&x, NULL, "192.168.7.7", CONF_P_HTTP, "POST",
	    "news.example.org", 80, "198.51.100.1");
	check_verdict(&c, &unshared, &x, CONF_DENY, 5, 0);
	q_init(&x, NULL, "192.168.7.7", CONF_P_SOCKS5, NULL,
	    "news.example.org", 80, "198.51.100.1");
	check_verdict(&c, &unshared, &x, CONF_DENY, 5, 0);
	/* rule 1 still comes first */
	q_init(&x, NULL, "192.168.7.7", CONF_P_HTTP, "GET", "intranet", 80,
	    "10.0.0.80");
	check_verdict(&c, &unshared, &x, CONF_DENY, 1, 0);
	conf_free(&c);
}

/* With no rule that matches, the default is allow (rule 0). */
static void
test_check_default_allow(void **state)
{
	struct conf c;
	struct q x;

	(void)state;
	conf_from(&c, "");
	assert_int_equal(c.nrules, 0);
	q_init(&x, NULL, "127.0.0.1", CONF_P_SOCKS5, NULL, "example.com", 443,
	    "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 0, 0);
	/* loopback is not protected on a loopback-only proxy */
	q_init(&x, NULL, "127.0.0.1", CONF_P_SOCKS5, NULL, "localhost", 22,
	    "127.0.0.1");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 0, 0);
	conf_free(&c);

	conf_from(&c, USERS "rules = (\n"
	    "  { action = \"deny\"; users = [ \"alice\" ]; },\n"
	    "  { action = \"deny\"; dest = [ \"*.example.com\" ]; }\n"
	    ");\n");
	q_init(&x, "bob", "127.0.0.1", CONF_P_SOCKS5, NULL, "example.org", 443,
	    "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 0, 0);
	q_init(&x, "alice", "127.0.0.1", CONF_P_SOCKS5, NULL, "example.org",
	    443, "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_DENY, 1, 0);
	q_init(&x, "bob", "127.0.0.1", CONF_P_SOCKS5, NULL, "a.example.com",
	    443, "93.184.216.34");
	check_verdict(&c, &unshared, &x, CONF_DENY, 2, 0);
	conf_free(&c);
}

/* ----- safe by default ------------------------------------------------ */

static const struct {
	const char	*addr;
	int		prot;
} protected_table[] = {
	{ "127.0.0.1", 1 }, { "127.1.2.3", 1 }, { "127.255.255.255", 1 },
	{ "::1", 1 }, { "::ffff:127.0.0.1", 1 },
	{ "169.254.169.254", 1 }, { "169.254.0.0", 1 },
	{ "169.254.255.255", 1 }, { "::ffff:169.254.1.1", 1 },
	{ "fe80::1", 1 }, { "fe80::fc:ff:fe00:1", 1 }, { "febf:ffff::1", 1 },
	{ "0.0.0.0", 1 }, { "0.1.2.3", 1 }, { "0.255.255.255", 1 },
	{ "::", 1 }, { "::ffff:0.0.0.0", 1 },
	/* guard.own */
	{ "192.0.2.2", 1 }, { "::ffff:192.0.2.2", 1 }, { "fd00::2", 1 },
	/* the rest of the world */
	{ "1.0.0.0", 0 }, { "1.1.1.1", 0 }, { "10.0.0.1", 0 },
	{ "126.255.255.255", 0 }, { "128.0.0.1", 0 },
	{ "169.253.255.255", 0 }, { "169.255.0.0", 0 }, { "172.16.0.1", 0 },
	{ "192.0.2.3", 0 }, { "192.0.2.1", 0 }, { "224.0.0.1", 0 },
	{ "fec0::1", 0 }, { "fe7f::1", 0 }, { "fec0::", 0 }, { "::2", 0 },
	{ "fd00::3", 0 }, { "2001:db8::1", 0 }, { "::ffff:8.8.8.8", 0 },
};

static void
own_guard(struct rules_guard *g, struct netaddr_cidr own[2])
{
	assert_int_equal(netaddr_parse_cidr("192.0.2.2", &own[0]), 0);
	assert_int_equal(netaddr_parse_cidr("fd00::2", &own[1]), 0);
	g->shared = 1;
	g->own = own;
	g->nown = 2;
}

static void
test_protected(void **state)
{
	struct rules_guard g;
	struct netaddr_cidr own[2];
	union sockaddr_u a;
	size_t i;

	(void)state;
	own_guard(&g, own);
	for (i = 0; i < sizeof(protected_table) / sizeof(protected_table[0]);
	    i++) {
		a = ip(protected_table[i].addr);
		netaddr_set_port(&a, 80);
		if (rules_protected(&g, &a) != protected_table[i].prot)
			fail_msg("%s: protected %d, want %d",
			    protected_table[i].addr, rules_protected(&g, &a),
			    protected_table[i].prot);
		/* a loopback-only proxy protects nothing */
		if (rules_protected(&unshared, &a) != 0)
			fail_msg("%s: protected without guard.shared",
			    protected_table[i].addr);
	}
	/* shared, without own addresses: those are not protected then */
	g.nown = 0;
	a = ip("192.0.2.2");
	assert_int_equal(rules_protected(&g, &a), 0);
	a = ip("127.0.0.1");
	assert_int_equal(rules_protected(&g, &a), 1);
}

/* Shared, no rules: protected destinations denied, the rest allowed. */
static void
test_check_protected_no_rules(void **state)
{
	struct conf c;
	struct rules_guard g;
	struct netaddr_cidr own[2];
	struct q x;
	size_t i;

	(void)state;
	own_guard(&g, own);
	conf_from(&c, "");
	for (i = 0; i < sizeof(protected_table) / sizeof(protected_table[0]);
	    i++) {
		q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "h.net",
		    80, protected_table[i].addr);
		check_verdict(&c, &g, &x, protected_table[i].prot ? CONF_DENY :
		    CONF_ALLOW, 0, protected_table[i].prot);
	}
	/* before resolution there is no address to protect */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "localhost", 80,
	    NULL);
	check_verdict(&c, &g, &x, CONF_ALLOW, 0, 0);
	conf_free(&c);
}

/*
 * Shared: a protected destination is reached only when the first rule
 * that matches is an allow naming it by address block or exact name.
 */
static void
test_check_protected_rules(void **state)
{
	struct conf c;
	struct rules_guard g;
	struct netaddr_cidr own[2];
	struct q x;

	(void)state;
	own_guard(&g, own);
	conf_from(&c, USERS "rules = (\n"
	    "  { action = \"allow\"; dest = [ \"127.0.0.1\", "
	    "\"169.254.169.254/32\" ];\n"
	    "    ports = [ \"8080\" ]; },\n"
	    "  { action = \"allow\"; dest = [ \"localhost\", "
	    "\"Metadata.Internal.\" ]; },\n"
	    "  { action = \"allow\"; dest = [ \"*.example.com\" ]; },\n"
	    "  { action = \"allow\"; users = [ \"alice\" ]; },\n"
	    "  { action = \"allow\"; users = [ \"bob\" ];"
	    " dest = [ \"0.0.0.0/0\" ]; }\n"
	    ");\n");

	/* rule 1: by address block */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "127.0.0.1",
	    8080, "127.0.0.1");
	check_verdict(&c, &g, &x, CONF_ALLOW, 1, 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "app.net",
	    8080, "::ffff:127.0.0.1");
	check_verdict(&c, &g, &x, CONF_ALLOW, 1, 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_HTTP, "GET", "169.254.169.254",
	    8080, "169.254.169.254");
	check_verdict(&c, &g, &x, CONF_ALLOW, 1, 0);
	/* another port: no rule names it */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "127.0.0.1", 80,
	    "127.0.0.1");
	check_verdict(&c, &g, &x, CONF_DENY, 0, 1);
	/* another loopback address than the one named */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "127.0.0.2",
	    8080, "127.0.0.2");
	check_verdict(&c, &g, &x, CONF_DENY, 0, 1);

	/* rule 2: by exact name, any case, a trailing dot */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "localhost", 22,
	    "::1");
	check_verdict(&c, &g, &x, CONF_ALLOW, 2, 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "LOCALHOST.", 22,
	    "127.0.0.1");
	check_verdict(&c, &g, &x, CONF_ALLOW, 2, 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_HTTP, "GET",
	    "metadata.internal", 80, "169.254.169.254");
	check_verdict(&c, &g, &x, CONF_ALLOW, 2, 0);

	/* rule 3: a *.suffix does not lift the protection ... */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "evil.example.com", 443, "127.0.0.1");
	check_verdict(&c, &g, &x, CONF_DENY, 3, 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "evil.example.com", 443, "fe80::1");
	check_verdict(&c, &g, &x, CONF_DENY, 3, 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "evil.example.com", 443, "192.0.2.2");
	check_verdict(&c, &g, &x, CONF_DENY, 3, 1);
	/* ... but allows the rest */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "www.example.com", 443, "93.184.216.34");
	check_verdict(&c, &g, &x, CONF_ALLOW, 3, 0);

	/* rule 4: a rule without dest does not lift it */
	q_init(&x, "alice", "203.0.113.5", CONF_P_SOCKS5, NULL, "h.net", 80,
	    "169.254.169.254");
	check_verdict(&c, &g, &x, CONF_DENY, 4, 1);
	q_init(&x, "alice", "203.0.113.5", CONF_P_SOCKS5, NULL, "h.net", 80,
	    "0.0.0.0");
	check_verdict(&c, &g, &x, CONF_DENY, 4, 1);
	q_init(&x, "alice", "203.0.113.5", CONF_P_SOCKS5, NULL, "h.net", 80,
	    "93.184.216.34");
	check_verdict(&c, &g, &x, CONF_ALLOW, 4, 0);

	/* rule 5: 0.0.0.0/0 names every IPv4 address by block */
	q_init(&x, "bob", "203.0.113.5", CONF_P_SOCKS5, NULL, "h.net", 80,
	    "127.0.0.1");
	check_verdict(&c, &g, &x, CONF_ALLOW, 5, 0);
	q_init(&x, "bob", "203.0.113.5", CONF_P_SOCKS5, NULL, "h.net", 80,
	    "192.0.2.2");
	check_verdict(&c, &g, &x, CONF_ALLOW, 5, 0);
	/* not IPv6: no rule matches ::1 for bob */
	q_init(&x, "bob", "203.0.113.5", CONF_P_SOCKS5, NULL, "h.net", 80,
	    "::1");
	check_verdict(&c, &g, &x, CONF_DENY, 0, 1);

	/* without guard.shared, the same queries are plain rule matches */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL,
	    "evil.example.com", 443, "127.0.0.1");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 3, 0);
	q_init(&x, "alice", "203.0.113.5", CONF_P_SOCKS5, NULL, "h.net", 80,
	    "169.254.169.254");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 4, 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "127.0.0.1", 80,
	    "127.0.0.1");
	check_verdict(&c, &unshared, &x, CONF_ALLOW, 0, 0);
	conf_free(&c);
}

/* Only the FIRST matching rule counts, for protection too. */
static void
test_check_protected_first_match(void **state)
{
	struct conf c;
	struct rules_guard g;
	struct netaddr_cidr own[2];
	struct q x;

	(void)state;
	own_guard(&g, own);
	conf_from(&c, USERS "rules = (\n"
	    "  { action = \"allow\"; users = [ \"alice\" ]; },\n"
	    "  { action = \"allow\"; dest = [ \"127.0.0.1\" ]; },\n"
	    "  { action = \"deny\"; dest = [ \"169.254.0.0/16\" ]; },\n"
	    "  { action = \"allow\"; dest = [ \"169.254.169.254\" ]; }\n"
	    ");\n");
	/* alice's catch-all comes first: a later naming rule is not used */
	q_init(&x, "alice", "203.0.113.5", CONF_P_SOCKS5, NULL, "127.0.0.1",
	    80, "127.0.0.1");
	check_verdict(&c, &g, &x, CONF_DENY, 1, 1);
	q_init(&x, "bob", "203.0.113.5", CONF_P_SOCKS5, NULL, "127.0.0.1", 80,
	    "127.0.0.1");
	check_verdict(&c, &g, &x, CONF_ALLOW, 2, 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "127.0.0.1", 80,
	    "127.0.0.1");
	check_verdict(&c, &g, &x, CONF_ALLOW, 2, 0);
	/* a deny that matches first is a plain deny (not "protected") */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "169.254.169.254",
	    80, "169.254.169.254");
	check_verdict(&c, &g, &x, CONF_DENY, 3, 0);
	conf_free(&c);
}

/* A rule naming a block and a suffix: the block lifts, the suffix not. */
static void
test_check_protected_mixed_dest(void **state)
{
	struct conf c;
	struct rules_guard g;
	struct netaddr_cidr own[2];
	struct q x;

	(void)state;
	own_guard(&g, own);
	conf_from(&c, "rules = (\n"
	    "  { action = \"allow\";\n"
	    "    dest = [ \"*.example.com\", \"10.0.0.0/8\", \"127.0.0.0/8\","
	    " \"fe80::/10\" ]; }\n"
	    ");\n");
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "a.example.com",
	    80, "127.0.0.5");
	check_verdict(&c, &g, &x, CONF_ALLOW, 1, 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "a.example.com",
	    80, "fe80::99");
	check_verdict(&c, &g, &x, CONF_ALLOW, 1, 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "a.example.com",
	    80, "169.254.1.1");
	check_verdict(&c, &g, &x, CONF_DENY, 1, 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "a.example.com",
	    80, "::1");
	check_verdict(&c, &g, &x, CONF_DENY, 1, 1);
	/* not under the suffix and not in a block: no rule, protected */
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "other.net", 80,
	    "::1");
	check_verdict(&c, &g, &x, CONF_DENY, 0, 1);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "other.net", 80,
	    "10.1.1.1");
	check_verdict(&c, &g, &x, CONF_ALLOW, 1, 0);
	q_init(&x, NULL, "203.0.113.5", CONF_P_SOCKS5, NULL, "other.net", 80,
	    "8.8.8.8");
	check_verdict(&c, &g, &x, CONF_ALLOW, 0, 0);
	conf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_match),
		cmocka_unit_test(test_host_match_long_names),
		cmocka_unit_test(test_match_no_keys),
		cmocka_unit_test(test_match_dest),
		cmocka_unit_test(test_match_ports),
		cmocka_unit_test(test_match_users_and_groups),
		cmocka_unit_test(test_match_clients),
		cmocka_unit_test(test_match_protocols),
		cmocka_unit_test(test_match_methods),
		cmocka_unit_test(test_check_first_match_wins),
		cmocka_unit_test(test_check_default_allow),
		cmocka_unit_test(test_protected),
		cmocka_unit_test(test_check_protected_no_rules),
		cmocka_unit_test(test_check_protected_rules),
		cmocka_unit_test(test_check_protected_first_match),
		cmocka_unit_test(test_check_protected_mixed_dest),
	};

	return cmocka_run_group_tests_name("rules", tests, NULL, NULL);
}
