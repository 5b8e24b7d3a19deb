/*
 * libFuzzer target: the SOCKS5 codec (RFC 1928 greeting and request, RFC
 * 1929 auth) and the SOCKS4/4a request codec.
 *
 * Input: one byte choosing the parser (low two bits: greeting, auth,
 * SOCKS5 request, SOCKS4 request), then the bytes of the message.
 *
 * Invariants checked, beyond "no crash":
 *  - split: the parsers are fed every prefix of the message, each as an
 *    exactly sized heap copy.  Every prefix returns CODEC_AGAIN until the
 *    first one that does not, and that one gives exactly what the whole
 *    input gives (result, consumed, reply code, every parsed field); a
 *    CODEC_OK comes exactly when the message is complete (consumed equals
 *    the prefix length);
 *  - bounded: no prefix as long as the largest message (*_MAX) is still
 *    CODEC_AGAIN, since the session stops reading there;
 *  - sanity of a parsed message (consumed matches the lengths it holds,
 *    an address target's text form parses back to the address, a name is
 *    one socks5_host_valid() accepts);
 *  - re-serialisation: a parsed message encoded again from the struct (by
 *    the small encoders below, not proxy/ code) parses to the same struct
 *    and consumes exactly the encoded bytes;
 *  - the reply encoder: socks5_encode_reply() of a request's address has
 *    the request's layout and gives the address back;
 *  - socks5_select_method() only picks a method the client offered, and
 *    never NO AUTHENTICATION when auth is required.
 */
#include <arpa/inet.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fuzz.h"
#include "netaddr.h"
#include "socks4.h"
#include "socks5.h"

enum kind {
	K_GREETING = 0,
	K_AUTH,
	K_REQUEST,
	K_SOCKS4,
};

/* the longest message each parser may wait for */
static const size_t kind_max[] = {
	SOCKS5_GREETING_MAX, SOCKS5_AUTH_MAX, SOCKS5_REQUEST_MAX,
	SOCKS4_REQUEST_MAX,
};

#define UNSET_CONSUMED	((size_t)-1)
#define UNSET_REP	0x77

/* One parse: its result and everything it filled in. */
struct res {
	enum codec_result rc;
	size_t		consumed;	/* UNSET_CONSUMED when not set */
	uint8_t		rep;		/* request: UNSET_REP when not set */
	union {
		struct socks5_greeting g;
		struct socks5_auth a;
		struct socks5_request r;
		struct socks4_request s4;
	} u;
};

static struct fuzz_buf out;

/*
 * Parse buf[0..len) (an exact heap copy) with the parser of kind.  The
 * struct is first filled with the byte fill, so that two parses with
 * different fills differ wherever the parser left a field unset.
 */
static void
run(enum kind k, const uint8_t *data, size_t len, uint8_t fill,
    struct res *res)
{
	uint8_t *buf = fuzz_dup(data, len);

	memset(res, fill, sizeof(*res));
	res->consumed = UNSET_CONSUMED;
	res->rep = UNSET_REP;
	switch (k) {
	case K_GREETING:
		res->rc = socks5_parse_greeting(buf, len, &res->u.g,
		    &res->consumed);
		break;
	case K_AUTH:
		res->rc = socks5_parse_auth(buf, len, &res->u.a,
		    &res->consumed);
		break;
	case K_REQUEST:
		res->rc = socks5_parse_request(buf, len, &res->u.r,
		    &res->consumed, &res->rep);
		break;
	case K_SOCKS4:
		res->rc = socks4_parse_request(buf, len, &res->u.s4,
		    &res->consumed);
		break;
	}
	free(buf);
}

/* Same family, address and port; unset (family 0) equals unset. */
static int
addr_eq(const union sockaddr_u *a, const union sockaddr_u *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return 0;
	if (a->sa.sa_family != AF_INET && a->sa.sa_family != AF_INET6)
		return 1;
	return netaddr_ip_equal(a, b) && netaddr_port(a) == netaddr_port(b);
}

/* 1 when two parses agree on everything the result defines. */
static int
res_eq(enum kind k, const struct res *x, const struct res *y)
{
	const struct socks5_request *r1 = &x->u.r, *r2 = &y->u.r;
	const struct socks4_request *s1 = &x->u.s4, *s2 = &y->u.s4;

	if (x->rc != y->rc || x->consumed != y->consumed || x->rep != y->rep)
		return 0;
	if (x->rc != CODEC_OK)
		return 1;
	switch (k) {
	case K_GREETING:
		return x->u.g.nmethods == y->u.g.nmethods &&
		    memcmp(x->u.g.methods, y->u.g.methods,
		    x->u.g.nmethods) == 0;
	case K_AUTH:
		return x->u.a.ulen == y->u.a.ulen &&
		    x->u.a.plen == y->u.a.plen &&
		    memcmp(x->u.a.user, y->u.a.user, x->u.a.ulen + 1u) == 0 &&
		    memcmp(x->u.a.pass, y->u.a.pass, x->u.a.plen + 1u) == 0;
	case K_REQUEST:
		return r1->cmd == r2->cmd && r1->atyp == r2->atyp &&
		    r1->is_ip == r2->is_ip && r1->hostlen == r2->hostlen &&
		    r1->port == r2->port && addr_eq(&r1->addr, &r2->addr) &&
		    strcmp(r1->host, r2->host) == 0;
	case K_SOCKS4:
		return s1->cmd == s2->cmd && s1->is_4a == s2->is_4a &&
		    s1->port == s2->port && addr_eq(&s1->addr, &s2->addr) &&
		    strcmp(s1->userid, s2->userid) == 0 &&
		    strcmp(s1->host, s2->host) == 0;
	}
	return 0;
}

/*
 * Every prefix, as the session sees the bytes arrive: CODEC_AGAIN until
 * the first decisive prefix, which must match the whole input.
 */
static void
check_split(enum kind k, const uint8_t *msg, size_t len,
    const struct res *whole)
{
	struct res r;
	size_t n;

	for (n = 0; n <= len; n++) {
		run(k, msg, n, 0x5a, &r);
		if (r.rc == CODEC_AGAIN) {
			FUZZ_CHECK(n < kind_max[k],
			    "kind %d: CODEC_AGAIN at %zu bytes (max %zu)", k, n,
			    kind_max[k]);
			continue;
		}
		FUZZ_CHECK(res_eq(k, &r, whole),
		    "kind %d: prefix of %zu bytes gives rc %d consumed %zu "
		    "rep %u, the whole %zu bytes rc %d consumed %zu rep %u",
		    k, n, r.rc, r.consumed, r.rep, len, whole->rc,
		    whole->consumed, whole->rep);
		if (r.rc == CODEC_OK)
			FUZZ_CHECK(r.consumed == n,
			    "kind %d: OK at %zu bytes but consumed %zu", k, n,
			    r.consumed);
		return;
	}
	FUZZ_CHECK(whole->rc == CODEC_AGAIN, "kind %d: no decisive prefix", k);
}

/* Consumed lengths and addresses agree with what was parsed. */
static void
check_sane(enum kind k, const struct res *res)
{
	const struct socks5_request *r = &res->u.r;
	const struct socks4_request *s4 = &res->u.s4;
	union sockaddr_u a;
	char ip[NETADDR_STRLEN];

	switch (k) {
	case K_GREETING:
		FUZZ_CHECK(res->consumed == 2u + res->u.g.nmethods, "greeting");
		break;
	case K_AUTH:
		FUZZ_CHECK(res->consumed == 3u + res->u.a.ulen + res->u.a.plen,
		    "auth");
		break;
	case K_REQUEST:
		FUZZ_CHECK(r->atyp == SOCKS5_ATYP_IPV4 ||
		    r->atyp == SOCKS5_ATYP_IPV6 ||
		    r->atyp == SOCKS5_ATYP_DOMAIN, "atyp %u", r->atyp);
		if (r->atyp == SOCKS5_ATYP_DOMAIN) {
			FUZZ_CHECK(res->consumed == 7u + r->hostlen, "domain");
			FUZZ_CHECK(strlen(r->host) == r->hostlen,
			    "a name with a NUL was accepted");
		} else {
			FUZZ_CHECK(r->is_ip, "address atyp without is_ip");
			FUZZ_CHECK(res->consumed == (r->atyp ==
			    SOCKS5_ATYP_IPV4 ? 10u : 22u), "address");
			FUZZ_CHECK(r->addr.sa.sa_family == (r->atyp ==
			    SOCKS5_ATYP_IPV4 ? AF_INET : AF_INET6), "family");
			FUZZ_CHECK(strcmp(r->host, netaddr_ip_str(&r->addr, ip,
			    sizeof(ip))) == 0, "host text %s", r->host);
		}
		if (r->is_ip) {
			FUZZ_CHECK(netaddr_port(&r->addr) == r->port, "port");
			FUZZ_CHECK(r->addr.sa.sa_family == AF_INET ||
			    r->addr.sa.sa_family == AF_INET6, "is_ip family");
		} else
			FUZZ_CHECK(socks5_host_valid(r->host, r->hostlen),
			    "name %s", r->host);
		break;
	case K_SOCKS4:
		FUZZ_CHECK(strlen(s4->userid) <= SOCKS4_USERID_MAX, "userid");
		if (s4->is_4a) {
			FUZZ_CHECK(socks5_host_valid(s4->host,
			    strlen(s4->host)), "4a name %s", s4->host);
			FUZZ_CHECK(netaddr_parse_ip(s4->host, &a) == -1,
			    "4a name %s is an address", s4->host);
			FUZZ_CHECK(res->consumed == 8 + strlen(s4->userid) + 1 +
			    strlen(s4->host) + 1, "4a consumed");
		} else {
			FUZZ_CHECK(netaddr_parse_ip(s4->host, &a) == 0 &&
			    netaddr_ip_equal(&a, &s4->addr),
			    "address text %s", s4->host);
			FUZZ_CHECK(netaddr_port(&s4->addr) == s4->port, "port");
		}
		break;
	}
}

/* RFC 1928 §3 / RFC 1929 §2 / RFC 1928 §4 / SOCKS4(a) from the struct. */
static void
encode(enum kind k, const struct res *res, const uint8_t *orig)
{
	const struct socks5_request *r = &res->u.r;
	const struct socks4_request *s4 = &res->u.s4;

	out.len = 0;
	switch (k) {
	case K_GREETING:
		fuzz_putc(&out, SOCKS5_VERSION);
		fuzz_putc(&out, res->u.g.nmethods);
		fuzz_put(&out, res->u.g.methods, res->u.g.nmethods);
		break;
	case K_AUTH:
		fuzz_putc(&out, SOCKS5_AUTH_VERSION);
		fuzz_putc(&out, res->u.a.ulen);
		fuzz_put(&out, res->u.a.user, res->u.a.ulen);
		fuzz_putc(&out, res->u.a.plen);
		fuzz_put(&out, res->u.a.pass, res->u.a.plen);
		break;
	case K_REQUEST:
		fuzz_putc(&out, SOCKS5_VERSION);
		fuzz_putc(&out, r->cmd);
		fuzz_putc(&out, 0);
		fuzz_putc(&out, r->atyp);
		if (r->atyp == SOCKS5_ATYP_DOMAIN) {
			fuzz_putc(&out, r->hostlen);
			fuzz_put(&out, r->host, r->hostlen);
		} else if (r->atyp == SOCKS5_ATYP_IPV4)
			fuzz_put(&out, &r->addr.in.sin_addr, 4);
		else
			fuzz_put(&out, &r->addr.in6.sin6_addr, 16);
		fuzz_putc(&out, (uint8_t)(r->port >> 8));
		fuzz_putc(&out, (uint8_t)r->port);
		break;
	case K_SOCKS4:
		fuzz_putc(&out, SOCKS4_VERSION);
		fuzz_putc(&out, s4->cmd);
		fuzz_putc(&out, (uint8_t)(s4->port >> 8));
		fuzz_putc(&out, (uint8_t)s4->port);
		/* the 4a form (0.0.0.x, then the name) when the original
		   used it, even for a name that turned out an address */
		if (orig[4] == 0 && orig[5] == 0 && orig[6] == 0 &&
		    orig[7] != 0) {
			fuzz_put(&out, "\0\0\0\1", 4);
			fuzz_put(&out, s4->userid, strlen(s4->userid) + 1);
			fuzz_put(&out, s4->host, strlen(s4->host) + 1);
		} else {
			fuzz_put(&out, &s4->addr.in.sin_addr, 4);
			fuzz_put(&out, s4->userid, strlen(s4->userid) + 1);
		}
		break;
	}
}

static void
check_reencode(enum kind k, const struct res *whole, const uint8_t *msg)
{
	struct res again;

	encode(k, whole, msg);
	run(k, out.b, out.len, 0x5a, &again);
	FUZZ_CHECK(again.rc == CODEC_OK && again.consumed == out.len,
	    "kind %d: re-encoded %zu bytes give rc %d consumed %zu", k,
	    out.len, again.rc, again.consumed);
	FUZZ_CHECK(res_eq(k, &again, whole), "kind %d: re-encoded message "
	    "parses to different fields", k);
}

/* The reply has the request's layout: parse it as one. */
static void
check_reply(const struct socks5_request *r)
{
	uint8_t reply[SOCKS5_REPLY_MAX];
	struct socks5_request back;
	size_t n, consumed = 0;
	uint8_t rep = UNSET_REP;

	n = socks5_encode_reply(reply, r->cmd, r->is_ip ? &r->addr : NULL);
	FUZZ_CHECK(n == 10 || n == 22, "reply length %zu", n);
	FUZZ_CHECK(socks5_parse_request(reply, n, &back, &consumed, &rep) ==
	    CODEC_OK && consumed == n, "reply does not parse");
	FUZZ_CHECK(back.cmd == r->cmd, "reply code");
	if (r->is_ip)
		FUZZ_CHECK(addr_eq(&back.addr, &r->addr), "reply address");
	else
		FUZZ_CHECK(back.port == 0 && back.atyp == SOCKS5_ATYP_IPV4 &&
		    back.addr.in.sin_addr.s_addr == 0, "reply without address");
}

static void
check_select(const struct socks5_greeting *g)
{
	int req, avail;
	uint8_t m;

	for (req = 0; req < 2; req++)
		for (avail = 0; avail < 2; avail++) {
			m = socks5_select_method(g, req, avail);
			FUZZ_CHECK(m == SOCKS5_METHOD_NONE ||
			    socks5_greeting_offers(g, m), "method %u", m);
			FUZZ_CHECK(!req || m != SOCKS5_METHOD_NOAUTH,
			    "no auth chosen with auth required");
		}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct res whole;
	enum kind k;

	if (size < 1)
		return 0;
	k = (enum kind)(data[0] & 3);
	data++;
	size--;

	run(k, data, size, 0xa5, &whole);
	check_split(k, data, size, &whole);
	if (whole.rc != CODEC_OK)
		return 0;
	FUZZ_CHECK(whole.consumed <= size, "consumed %zu of %zu",
	    whole.consumed, size);
	check_sane(k, &whole);
	check_reencode(k, &whole, data);
	if (k == K_REQUEST)
		check_reply(&whole.u.r);
	if (k == K_GREETING)
		check_select(&whole.u.g);
	return 0;
}
