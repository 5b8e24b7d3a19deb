/*
 * libFuzzer target: address blocks (netaddr_parse_cidr, netaddr_cidr_match,
 * netaddr_cidr_str) and rule matching (rules_match, rules_host_match,
 * rules_check).
 *
 * Input: a 24-byte header, then text lines.
 *   byte 0	bit 0: the address is IPv6; bit 1: make it IPv4-mapped;
 *		bit 2: a shared gateway; bit 3: the rule denies
 *   bytes 1-16	the address (the first 4 for IPv4)
 *   byte 17	a prefix length
 *   bytes 18-19	the port asked for
 *   bytes 20-23	a rule port range lo, hi (none when lo > hi)
 *   line 0	a CIDR to parse
 *   line 1	the host name asked for (at most 255 bytes, as in
 *		every protocol)
 *   lines 2-9	the rule's dest entries, kept as the configuration loader
 *		keeps them (address blocks, exact names, "*.suffix")
 *
 * Invariants checked, beyond "no crash":
 *  - a parsed block has zero host bits and a prefix within its family;
 *    printed with netaddr_cidr_str() it parses back to the same block,
 *    and an address matches the one iff it matches the other;
 *  - prefix monotony: an address in a /n block is in the same base
 *    truncated to /(n-1), down to /0;
 *  - every block cut from the address (each prefix, /0 to /32 or /128)
 *    contains the address and survives the text round trip; a full-length
 *    block matches exactly the addresses equal to it; an IPv4-mapped
 *    address matches what its IPv4 form matches;
 *  - rules_host_match() follows its contract: case-insensitive, trailing
 *    dots ignored, exact names, "*.suffix" for names strictly under it;
 *  - rules_match() is the conjunction of its keys (dest: a block holding
 *    the address or a matching name; ports), and a rule without keys
 *    matches everything;
 *  - rules_check(): the verdict names the matching rule, and a protected
 *    destination (loopback on a shared gateway...) is only allowed by a
 *    rule that names it by block or exact name.
 */
#include <sys/socket.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "netaddr.h"
#include "rules.h"

#define HDR		24
#define NLINES		10
#define LINE_MAX_LEN	300

static char lines[NLINES][LINE_MAX_LEN + 1];

/* Up to NLINES NUL-terminated lines (cut at LINE_MAX_LEN, or a NUL). */
static void
split_lines(const uint8_t *p, size_t len)
{
	const uint8_t *nl;
	size_t i, n;

	memset(lines, 0, sizeof(lines));
	for (i = 0; i < NLINES && len > 0; i++) {
		nl = memchr(p, '\n', len);
		n = nl != NULL ? (size_t)(nl - p) : len;
		memcpy(lines[i], p, n < LINE_MAX_LEN ? n : LINE_MAX_LEN);
		if (nl == NULL)
			break;
		p = nl + 1;
		len -= n + 1;
	}
}

static int
cidr_max(const struct netaddr_cidr *c)
{
	return c->addr.sa.sa_family == AF_INET ? 32 : 128;
}

static uint8_t *
ip_bytes(union sockaddr_u *a)
{
	return a->sa.sa_family == AF_INET ? (uint8_t *)&a->in.sin_addr :
	    a->in6.sin6_addr.s6_addr;
}

/* The block of prefix n holding a (an address, normalized: no mapping). */
static void
cut(const union sockaddr_u *a, int n, struct netaddr_cidr *c)
{
	uint8_t *b;
	int i, max;

	memset(c, 0, sizeof(*c));
	c->addr.sa.sa_family = a->sa.sa_family;
	if (a->sa.sa_family == AF_INET)
		c->addr.in.sin_addr = a->in.sin_addr;
	else
		c->addr.in6.sin6_addr = a->in6.sin6_addr;
	max = cidr_max(c);
	b = ip_bytes(&c->addr);
	for (i = 0; i < max; i++)
		if (i >= n)
			b[i / 8] &= (uint8_t)~(0x80 >> (i % 8));
	c->prefix = (uint8_t)n;
}

static int
cidr_same(const struct netaddr_cidr *x, const struct netaddr_cidr *y)
{
	return x->addr.sa.sa_family == y->addr.sa.sa_family &&
	    x->prefix == y->prefix && netaddr_ip_equal(&x->addr, &y->addr) &&
	    netaddr_port(&x->addr) == 0 && netaddr_port(&y->addr) == 0;
}

/* A block printed and parsed again is the same block. */
static void
check_roundtrip(const struct netaddr_cidr *c, struct netaddr_cidr *back)
{
	char s[NETADDR_STRLEN];

	netaddr_cidr_str(c, s, sizeof(s));
	FUZZ_CHECK(netaddr_parse_cidr(s, back) == 0, "%s does not parse", s);
	FUZZ_CHECK(cidr_same(c, back), "%s parses to another block", s);
}

static void
check_cidr(const struct netaddr_cidr *c, const union sockaddr_u *a)
{
	struct netaddr_cidr back, t, u;
	union sockaddr_u self;
	const uint8_t *b;
	int i, n, max, m;

	FUZZ_CHECK(c->addr.sa.sa_family == AF_INET ||
	    c->addr.sa.sa_family == AF_INET6, "family");
	max = cidr_max(c);
	FUZZ_CHECK(c->prefix <= max, "prefix %u", c->prefix);
	FUZZ_CHECK(netaddr_port(&c->addr) == 0, "port in a block");
	FUZZ_CHECK(c->addr.sa.sa_family == AF_INET ||
	    !IN6_IS_ADDR_V4MAPPED(&c->addr.in6.sin6_addr),
	    "an IPv4-mapped block kept as IPv6");
	b = (const uint8_t *)(c->addr.sa.sa_family == AF_INET ?
	    (const void *)&c->addr.in.sin_addr : c->addr.in6.sin6_addr.s6_addr);
	for (i = c->prefix; i < max; i++)
		FUZZ_CHECK(!(b[i / 8] & (0x80 >> (i % 8))), "host bit %d set",
		    i);

	check_roundtrip(c, &back);
	m = netaddr_cidr_match(c, a);
	FUZZ_CHECK(m == netaddr_cidr_match(&back, a), "match changes after "
	    "the text round trip");

	/* the block holds its own base address, with any port */
	self = c->addr;
	netaddr_set_port(&self, 8080);
	FUZZ_CHECK(netaddr_cidr_match(c, &self), "block misses its base");

	/* /n holds a => /(n-1) holds a */
	t = *c;
	for (n = c->prefix; n > 0; n--) {
		cut(&t.addr, n - 1, &u);
		if (netaddr_cidr_match(&t, a))
			FUZZ_CHECK(netaddr_cidr_match(&u, a),
			    "in /%d but not in /%d", n, n - 1);
		t = u;
	}
}

/* Blocks cut from the address itself. */
static void
check_address(const union sockaddr_u *a, const struct netaddr_cidr *c,
    int parsed, int pick)
{
	struct netaddr_cidr blk, back;
	union sockaddr_u norm = *a;
	int n, max;

	netaddr_normalize(&norm);
	max = norm.sa.sa_family == AF_INET ? 32 : 128;
	for (n = 0; n <= max; n++) {
		cut(&norm, n, &blk);
		FUZZ_CHECK(netaddr_cidr_match(&blk, a), "/%d cut from the "
		    "address misses it", n);
		FUZZ_CHECK(netaddr_cidr_match(&blk, &norm), "/%d misses the "
		    "normalized address", n);
		if (n == pick % (max + 1) || n == max || n == 0)
			check_roundtrip(&blk, &back);
	}
	if (!parsed)
		return;
	FUZZ_CHECK(netaddr_cidr_match(c, a) == netaddr_cidr_match(c, &norm),
	    "IPv4-mapped and IPv4 forms match differently");
	if (c->prefix == cidr_max(c))
		FUZZ_CHECK(netaddr_cidr_match(c, a) ==
		    netaddr_ip_equal(&norm, &c->addr),
		    "a full-length block is not one address");
}

/* conf.c's dest_problem() and lower_dup(), for the rule we build. */
static int
dest_ok(const char *t)
{
	const char *h = t;
	size_t i, n;

	if (strchr(t, '/') != NULL || strchr(t, ':') != NULL)
		return 0;
	if (t[0] == '*') {
		if (t[1] != '.' || t[2] == '\0')
			return 0;
		h = t + 2;
	}
	n = strlen(h);
	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)h[i]) && h[i] != '-' &&
		    h[i] != '_' && h[i] != '.')
			return 0;
	return 1;
}

static void
lower_strip(char *d)
{
	size_t n;

	for (n = 0; d[n] != '\0'; n++)
		d[n] = (char)tolower((unsigned char)d[n]);
	while (n > 1 && d[n - 1] == '.')
		d[--n] = '\0';
}

struct rule_store {
	struct netaddr_cidr cidrs[NLINES];
	char		*hosts[NLINES];
	char		*suffixes[NLINES];
	char		names[NLINES][LINE_MAX_LEN + 1];
	struct conf_ports port;
};

static void
build_rule(struct conf_rule *r, struct rule_store *st, const uint8_t *hdr)
{
	struct netaddr_cidr c;
	int i;

	memset(r, 0, sizeof(*r));
	r->action = (hdr[0] & 8) ? CONF_DENY : CONF_ALLOW;
	r->has_dest = 1;
	r->dest.cidrs = st->cidrs;
	r->dest.hosts = st->hosts;
	r->dest.suffixes = st->suffixes;
	for (i = 2; i < NLINES; i++) {
		if (lines[i][0] == '\0')
			continue;
		if (netaddr_parse_cidr(lines[i], &c) == 0) {
			r->dest.cidrs[r->dest.ncidrs++] = c;
			continue;
		}
		if (!dest_ok(lines[i]))
			continue;
		strcpy(st->names[i], lines[i][0] == '*' ? lines[i] + 1 :
		    lines[i]);
		lower_strip(st->names[i]);
		if (lines[i][0] == '*')
			r->dest.suffixes[r->dest.nsuffixes++] = st->names[i];
		else
			r->dest.hosts[r->dest.nhosts++] = st->names[i];
	}
	st->port.lo = (uint16_t)(hdr[20] << 8 | hdr[21]);
	st->port.hi = (uint16_t)(hdr[22] << 8 | hdr[23]);
	if (st->port.lo <= st->port.hi) {
		r->ports = &st->port;
		r->nports = 1;
	}
}

/* The contract of rules_host_match(), written out plainly. */
static int
host_model(const struct conf_rule *r, const char *host)
{
	char h[LINE_MAX_LEN + 2];
	size_t n, sl;
	int i;

	snprintf(h, sizeof(h), "%s", host);
	lower_strip(h);
	n = strlen(h);
	for (i = 0; i < r->dest.nhosts; i++)
		if (strcmp(h, r->dest.hosts[i]) == 0)
			return 1;
	for (i = 0; i < r->dest.nsuffixes; i++) {
		sl = strlen(r->dest.suffixes[i]);
		if (n > sl && strcmp(h + n - sl, r->dest.suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

/* The host is one of the rule's exact names (not only under a suffix). */
static int
exact_name(const struct conf_rule *r, const char *host)
{
	char h[LINE_MAX_LEN + 2];
	int i;

	snprintf(h, sizeof(h), "%s", host);
	lower_strip(h);
	for (i = 0; i < r->dest.nhosts; i++)
		if (strcmp(h, r->dest.hosts[i]) == 0)
			return 1;
	return 0;
}

static void
check_host(const struct conf_rule *r, const char *host)
{
	char v[LINE_MAX_LEN + 8];
	size_t i;
	int m = rules_host_match(r, host);

	FUZZ_CHECK(m == host_model(r, host), "rules_host_match(%s) = %d",
	    host, m);
	for (i = 0; host[i] != '\0'; i++)
		v[i] = (char)toupper((unsigned char)host[i]);
	v[i] = '\0';
	FUZZ_CHECK(rules_host_match(r, v) == m, "case: %s", host);
	if (host[0] != '\0') {
		snprintf(v, sizeof(v), "%s.", host);
		FUZZ_CHECK(rules_host_match(r, v) == m, "trailing dot: %s",
		    host);
	}
	for (i = 0; i < (size_t)r->dest.nhosts; i++) {
		snprintf(v, sizeof(v), "%s.", r->dest.hosts[i]);
		FUZZ_CHECK(rules_host_match(r, r->dest.hosts[i]) &&
		    rules_host_match(r, v), "exact name %s",
		    r->dest.hosts[i]);
	}
	for (i = 0; i < (size_t)r->dest.nsuffixes; i++) {
		/* XXX "*.." gives the suffix ".", which matches nothing */
		if (strcmp(r->dest.suffixes[i], ".") == 0)
			continue;
		snprintf(v, sizeof(v), "X%s", r->dest.suffixes[i]);
		FUZZ_CHECK(rules_host_match(r, v), "under suffix %s",
		    r->dest.suffixes[i]);
	}
}

static void
check_rules(const uint8_t *hdr, const union sockaddr_u *a)
{
	static struct rule_store st;
	static struct conf conf;
	struct conf_rule r, any;
	struct rules_query q;
	struct rules_verdict v;
	struct rules_guard g;
	enum conf_action want;
	int i, in_block = 0, dest, ports, m, prot, exact, want_prot;

	build_rule(&r, &st, hdr);
	memset(&q, 0, sizeof(q));
	q.client = a;
	q.protocol = CONF_P_SOCKS5;
	q.host = lines[1];
	q.port = (uint16_t)(hdr[18] << 8 | hdr[19]);
	q.addr = a;

	check_host(&r, q.host);
	for (i = 0; i < r.dest.ncidrs; i++)
		in_block |= netaddr_cidr_match(&r.dest.cidrs[i], a);
	dest = in_block || rules_host_match(&r, q.host);
	ports = r.nports == 0 || (q.port >= r.ports[0].lo &&
	    q.port <= r.ports[0].hi);
	m = rules_match(&r, &q);
	FUZZ_CHECK(m == (dest && ports), "rules_match %d: dest %d ports %d",
	    m, dest, ports);
	q.addr = NULL;
	FUZZ_CHECK(rules_match(&r, &q) == (rules_host_match(&r, q.host) &&
	    ports), "rules_match without an address");
	q.addr = a;

	memset(&any, 0, sizeof(any));
	FUZZ_CHECK(rules_match(&any, &q), "a rule without keys refused");

	memset(&g, 0, sizeof(g));
	g.shared = (hdr[0] & 4) != 0;
	g.own = r.dest.ncidrs > 0 ? &r.dest.cidrs[0] : NULL;
	g.nown = r.dest.ncidrs > 0;
	prot = rules_protected(&g, a);
	if (!g.shared)
		FUZZ_CHECK(!prot, "protected on a personal proxy");
	else if (netaddr_is_loopback(a) || netaddr_is_link_local(a) ||
	    netaddr_is_any(a) || (g.nown && netaddr_cidr_match(g.own, a)))
		FUZZ_CHECK(prot, "local destination not protected on a "
		    "gateway");

	memset(&conf, 0, sizeof(conf));
	conf.rules = &r;
	conf.nrules = 1;
	rules_check(&conf, &g, &q, &v);
	exact = in_block || exact_name(&r, q.host);
	want_prot = m ? r.action == CONF_ALLOW && prot && !exact : prot;
	want = m ? (want_prot ? CONF_DENY : r.action) :
	    (prot ? CONF_DENY : CONF_ALLOW);
	FUZZ_CHECK(v.rule == (m ? 1 : 0) && v.action == want &&
	    v.protected == want_prot, "verdict rule %d action %d protected "
	    "%d; match %d prot %d exact %d", v.rule, v.action, v.protected,
	    m, prot, exact);
	/* the point of it all, said once more on its own */
	if (prot && v.action == CONF_ALLOW)
		FUZZ_CHECK(m && exact, "protected destination allowed by a "
		    "rule that does not name it");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct netaddr_cidr c;
	union sockaddr_u a;
	int parsed;

	if (size < HDR)
		return 0;
	memset(&a, 0, sizeof(a));
	if (data[0] & 1) {
		a.in6.sin6_family = AF_INET6;
		memcpy(a.in6.sin6_addr.s6_addr, data + 1, 16);
		if (data[0] & 2) {
			memset(a.in6.sin6_addr.s6_addr, 0, 10);
			memset(a.in6.sin6_addr.s6_addr + 10, 0xff, 2);
		}
	} else {
		a.in.sin_family = AF_INET;
		memcpy(&a.in.sin_addr, data + 1, 4);
	}
	netaddr_set_port(&a, (uint16_t)(data[18] << 8 | data[19]));
	split_lines(data + HDR, size - HDR);
	/* no protocol asks for a longer name (SOCKS5 and 4a: 255 bytes) */
	lines[1][255] = '\0';

	parsed = netaddr_parse_cidr(lines[0], &c) == 0;
	if (parsed)
		check_cidr(&c, &a);
	check_address(&a, &c, parsed, data[17]);
	check_rules(data, &a);
	return 0;
}
