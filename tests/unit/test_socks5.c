/*
 * Unit tests for the SOCKS5 codec (RFC 1928, RFC 1929): proxy/socks5.c.
 *
 * Every parser is fed from an exactly sized heap copy of the bytes, so that
 * ASan reports any read past the length the codec was given.
 */
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "socks5.h"

/* Tell a value the codec wrote from one it left alone. */
#define CONSUMED_UNSET	((size_t)0xdeadbeef)
#define REP_UNSET	0x5a

/*
 * One parser behind a common signature, so that the split helper runs the
 * same way over greeting, auth and request.
 */
typedef enum codec_result (*parse_fn)(const uint8_t *, size_t, size_t *,
    uint8_t *);

static enum codec_result
parse_greeting_any(const uint8_t *buf, size_t len, size_t *consumed,
    uint8_t *rep)
{
	struct socks5_greeting g;

	(void)rep;
	return socks5_parse_greeting(buf, len, &g, consumed);
}

static enum codec_result
parse_auth_any(const uint8_t *buf, size_t len, size_t *consumed, uint8_t *rep)
{
	struct socks5_auth a;

	(void)rep;
	return socks5_parse_auth(buf, len, &a, consumed);
}

static enum codec_result
parse_request_any(const uint8_t *buf, size_t len, size_t *consumed,
    uint8_t *rep)
{
	struct socks5_request r;

	return socks5_parse_request(buf, len, &r, consumed, rep);
}

/* An exactly sized heap copy (at least 1 byte allocated for len 0). */
static uint8_t *
dup_bytes(const uint8_t *buf, size_t len)
{
	uint8_t *p;

	p = malloc(len > 0 ? len : 1);
	assert_non_null(p);
	if (len > 0)
		memcpy(p, buf, len);
	return p;
}

/*
 * Feed every prefix of the message, length 0 to n - 1: each is CODEC_AGAIN.
 * Then the whole message: CODEC_OK with *consumed == n.  Then the message
 * with trailing bytes: still CODEC_OK and *consumed == n.
 */
static void
check_split_every_byte(parse_fn fn, const uint8_t *msg, size_t n)
{
	uint8_t *p, *q, rep;
	size_t i, consumed;

	for (i = 0; i < n; i++) {
		p = dup_bytes(msg, i);
		consumed = CONSUMED_UNSET;
		rep = REP_UNSET;
		if (fn(p, i, &consumed, &rep) != CODEC_AGAIN) {
			free(p);
			fail_msg("prefix of %zu/%zu bytes: not CODEC_AGAIN",
			    i, n);
		}
		free(p);
	}
	p = dup_bytes(msg, n);
	consumed = CONSUMED_UNSET;
	assert_int_equal(fn(p, n, &consumed, &rep), CODEC_OK);
	assert_int_equal(consumed, n);
	free(p);

	q = malloc(n + 3);
	assert_non_null(q);
	memcpy(q, msg, n);
	memcpy(q + n, "\x05\x01\x00", 3);
	consumed = CONSUMED_UNSET;
	assert_int_equal(fn(q, n + 3, &consumed, &rep), CODEC_OK);
	assert_int_equal(consumed, n);
	free(q);
}

/* Wire greeting: VER NMETHODS METHODS.  Returns its length. */
static size_t
build_greeting(uint8_t *out, const uint8_t *methods, size_t n)
{
	out[0] = SOCKS5_VERSION;
	out[1] = (uint8_t)n;
	if (n > 0)
		memcpy(out + 2, methods, n);
	return 2 + n;
}

/* Wire RFC 1929 request: VER ULEN UNAME PLEN PASSWD.  Returns its length. */
static size_t
build_auth(uint8_t *out, const char *user, size_t ulen, const char *pass,
    size_t plen)
{
	out[0] = SOCKS5_AUTH_VERSION;
	out[1] = (uint8_t)ulen;
	memcpy(out + 2, user, ulen);
	out[2 + ulen] = (uint8_t)plen;
	memcpy(out + 3 + ulen, pass, plen);
	return 3 + ulen + plen;
}

/*
 * Wire request: VER CMD RSV ATYP DST.ADDR DST.PORT.  For ATYP 3 the length
 * byte is written before addr.  Returns its length.
 */
static size_t
build_request(uint8_t *out, uint8_t cmd, uint8_t rsv, uint8_t atyp,
    const void *addr, size_t alen, uint16_t port)
{
	size_t n = 0;

	out[n++] = SOCKS5_VERSION;
	out[n++] = cmd;
	out[n++] = rsv;
	out[n++] = atyp;
	if (atyp == SOCKS5_ATYP_DOMAIN)
		out[n++] = (uint8_t)alen;
	if (alen > 0)
		memcpy(out + n, addr, alen);
	n += alen;
	out[n++] = (uint8_t)(port >> 8);
	out[n++] = (uint8_t)(port & 0xff);
	return n;
}

static size_t
build_domain_request(uint8_t *out, const char *host, size_t hlen,
    uint16_t port)
{
	return build_request(out, SOCKS5_CMD_CONNECT, 0, SOCKS5_ATYP_DOMAIN,
	    host, hlen, port);
}

/* Parse a whole request from an exact heap copy. */
static enum codec_result
parse_request_exact(const uint8_t *msg, size_t n, struct socks5_request *r,
    size_t *consumed, uint8_t *rep)
{
	enum codec_result res;
	uint8_t *p;

	p = dup_bytes(msg, n);
	memset(r, 0xa5, sizeof(*r));
	*consumed = CONSUMED_UNSET;
	*rep = REP_UNSET;
	res = socks5_parse_request(p, n, r, consumed, rep);
	free(p);
	return res;
}

/* A domain request that must be rejected with REP 4 over all its bytes. */
static void
check_domain_rejected(const char *host, size_t hlen)
{
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t n, consumed;

	n = build_domain_request(msg, host, hlen, 80);
	if (parse_request_exact(msg, n, &r, &consumed, &rep) != CODEC_ERR)
		fail_msg("domain of %zu bytes \"%s\": not CODEC_ERR", hlen,
		    host);
	assert_int_equal(rep, SOCKS5_REP_HOST_UNREACH);
	assert_int_equal(consumed, n);
}

/*
 * Greeting (RFC 1928 §3)
 */

static void
test_greeting_one_method(void **state)
{
	struct socks5_greeting g;
	const uint8_t msg[] = { 0x05, 0x01, 0x00 };
	uint8_t *p;
	size_t consumed = CONSUMED_UNSET;

	(void)state;
	p = dup_bytes(msg, sizeof(msg));
	memset(&g, 0xa5, sizeof(g));
	assert_int_equal(socks5_parse_greeting(p, sizeof(msg), &g, &consumed),
	    CODEC_OK);
	assert_int_equal(consumed, 3);
	assert_int_equal(g.nmethods, 1);
	assert_int_equal(g.methods[0], SOCKS5_METHOD_NOAUTH);
	free(p);
}

static void
test_greeting_two_methods(void **state)
{
	struct socks5_greeting g;
	const uint8_t msg[] = { 0x05, 0x02, 0x02, 0x00 };
	uint8_t *p;
	size_t consumed = CONSUMED_UNSET;

	(void)state;
	p = dup_bytes(msg, sizeof(msg));
	memset(&g, 0xa5, sizeof(g));
	assert_int_equal(socks5_parse_greeting(p, sizeof(msg), &g, &consumed),
	    CODEC_OK);
	assert_int_equal(consumed, 4);
	assert_int_equal(g.nmethods, 2);
	assert_int_equal(g.methods[0], SOCKS5_METHOD_USERPASS);
	assert_int_equal(g.methods[1], SOCKS5_METHOD_NOAUTH);
	assert_true(socks5_greeting_offers(&g, SOCKS5_METHOD_NOAUTH));
	assert_true(socks5_greeting_offers(&g, SOCKS5_METHOD_USERPASS));
	assert_false(socks5_greeting_offers(&g, SOCKS5_METHOD_GSSAPI));
	free(p);
}

static void
test_greeting_255_methods(void **state)
{
	struct socks5_greeting g;
	uint8_t methods[255], msg[SOCKS5_GREETING_MAX], *p;
	size_t i, n, consumed = CONSUMED_UNSET;

	(void)state;
	/* 0xfe down to 0x00: 0xff itself is not a method a client offers */
	for (i = 0; i < sizeof(methods); i++)
		methods[i] = (uint8_t)(0xfe - i);
	n = build_greeting(msg, methods, 255);
	assert_int_equal(n, SOCKS5_GREETING_MAX);
	p = dup_bytes(msg, n);
	memset(&g, 0xa5, sizeof(g));
	assert_int_equal(socks5_parse_greeting(p, n, &g, &consumed), CODEC_OK);
	assert_int_equal(consumed, 257);
	assert_int_equal(g.nmethods, 255);
	assert_memory_equal(g.methods, methods, 255);
	assert_true(socks5_greeting_offers(&g, SOCKS5_METHOD_NOAUTH));
	assert_false(socks5_greeting_offers(&g, SOCKS5_METHOD_NONE));
	free(p);
}

static void
test_greeting_zero_methods(void **state)
{
	struct socks5_greeting g;
	const uint8_t msg[] = { 0x05, 0x00 };
	uint8_t *p;
	size_t consumed = CONSUMED_UNSET;

	(void)state;
	p = dup_bytes(msg, sizeof(msg));
	memset(&g, 0xa5, sizeof(g));
	assert_int_equal(socks5_parse_greeting(p, sizeof(msg), &g, &consumed),
	    CODEC_OK);
	assert_int_equal(consumed, 2);
	assert_int_equal(g.nmethods, 0);
	/* the 0xa5 garbage in methods[] must not count as offered */
	assert_false(socks5_greeting_offers(&g, 0xa5));
	assert_int_equal(socks5_select_method(&g, 0, 0), SOCKS5_METHOD_NONE);
	assert_int_equal(socks5_select_method(&g, 0, 1), SOCKS5_METHOD_NONE);
	assert_int_equal(socks5_select_method(&g, 1, 1), SOCKS5_METHOD_NONE);
	assert_int_equal(socks5_select_method(&g, 1, 0), SOCKS5_METHOD_NONE);
	free(p);
}

static void
test_greeting_bad_version(void **state)
{
	const uint8_t versions[] = { 0x04, 0x00, 'G', 0x01, 0xff };
	struct socks5_greeting g;
	uint8_t msg[3], *p;
	size_t i, consumed;

	(void)state;
	for (i = 0; i < sizeof(versions); i++) {
		msg[0] = versions[i];
		msg[1] = 0x01;
		msg[2] = 0x00;
		/* rejected on the very first byte ... */
		p = dup_bytes(msg, 1);
		consumed = CONSUMED_UNSET;
		assert_int_equal(socks5_parse_greeting(p, 1, &g, &consumed),
		    CODEC_ERR);
		assert_int_equal(consumed, CONSUMED_UNSET);
		free(p);
		/* ... and with the rest of a well-framed greeting behind it */
		p = dup_bytes(msg, sizeof(msg));
		assert_int_equal(socks5_parse_greeting(p, sizeof(msg), &g,
		    &consumed), CODEC_ERR);
		free(p);
	}
	/* an HTTP request line */
	p = dup_bytes((const uint8_t *)"GET / HTTP/1.1\r\n", 16);
	assert_int_equal(socks5_parse_greeting(p, 16, &g, &consumed),
	    CODEC_ERR);
	free(p);
}

static void
test_greeting_trailing_bytes_not_consumed(void **state)
{
	struct socks5_greeting g;
	const uint8_t msg[] = { 0x05, 0x02, 0x00, 0x02,
	    0x01, 0x04, 'u', 's', 'e', 'r' };
	uint8_t *p;
	size_t consumed = CONSUMED_UNSET;

	(void)state;
	p = dup_bytes(msg, sizeof(msg));
	assert_int_equal(socks5_parse_greeting(p, sizeof(msg), &g, &consumed),
	    CODEC_OK);
	assert_int_equal(consumed, 4);
	assert_int_equal(g.nmethods, 2);
	assert_int_equal(g.methods[0], 0x00);
	assert_int_equal(g.methods[1], 0x02);
	/* the parser does not write to its input */
	assert_memory_equal(p, msg, sizeof(msg));
	free(p);
}

static void
test_greeting_split_every_byte(void **state)
{
	uint8_t methods[255], msg[SOCKS5_GREETING_MAX];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(methods); i++)
		methods[i] = (uint8_t)i;
	check_split_every_byte(parse_greeting_any, msg,
	    build_greeting(msg, methods, 0));
	check_split_every_byte(parse_greeting_any, msg,
	    build_greeting(msg, methods, 1));
	check_split_every_byte(parse_greeting_any, msg,
	    build_greeting(msg, methods, 2));
	check_split_every_byte(parse_greeting_any, msg,
	    build_greeting(msg, methods, 255));
}

/*
 * Method selection (RFC 1928 §3)
 */

struct select_case {
	const char	*name;		/* what the client offers */
	uint8_t		 n;		/* number of methods */
	uint8_t		 methods[3];	/* as offered */
	uint8_t		 want[2][2];	/* [auth_required][auth_available] */
};

static const struct select_case select_cases[] = {
	{ "0x00 only", 1, { 0x00 },
	    { { 0x00, 0x00 }, { 0xff, 0xff } } },
	{ "0x02 only", 1, { 0x02 },
	    { { 0xff, 0x02 }, { 0x02, 0x02 } } },
	{ "0x00 and 0x02", 2, { 0x00, 0x02 },
	    { { 0x00, 0x02 }, { 0x02, 0x02 } } },
	{ "0x02 and 0x00", 2, { 0x02, 0x00 },
	    { { 0x00, 0x02 }, { 0x02, 0x02 } } },
	{ "neither (0x03, 0x80)", 2, { 0x03, 0x80 },
	    { { 0xff, 0xff }, { 0xff, 0xff } } },
	{ "GSSAPI only", 1, { 0x01 },
	    { { 0xff, 0xff }, { 0xff, 0xff } } },
	{ "GSSAPI, 0x02, 0x00", 3, { 0x01, 0x02, 0x00 },
	    { { 0x00, 0x02 }, { 0x02, 0x02 } } },
	{ "nothing", 0, { 0 },
	    { { 0xff, 0xff }, { 0xff, 0xff } } },
};

static void
test_select_method_all_combinations(void **state)
{
	const struct select_case *c;
	struct socks5_greeting g;
	size_t i;
	int req, avail;
	uint8_t got;

	(void)state;
	for (i = 0; i < sizeof(select_cases) / sizeof(select_cases[0]); i++) {
		c = &select_cases[i];
		memset(&g, 0xa5, sizeof(g));
		g.nmethods = c->n;
		memcpy(g.methods, c->methods, c->n);
		for (req = 0; req < 2; req++) {
			for (avail = 0; avail < 2; avail++) {
				got = socks5_select_method(&g, req, avail);
				if (got != c->want[req][avail])
					fail_msg("offers %s, required %d, "
					    "available %d: got 0x%02x, want "
					    "0x%02x", c->name, req, avail, got,
					    c->want[req][avail]);
			}
		}
	}
}

static void
test_select_method_after_parse(void **state)
{
	struct socks5_greeting g;
	const uint8_t msg[] = { 0x05, 0x03, 0x01, 0x02, 0x00 };
	size_t consumed;

	(void)state;
	assert_int_equal(socks5_parse_greeting(msg, sizeof(msg), &g,
	    &consumed), CODEC_OK);
	assert_int_equal(socks5_select_method(&g, 0, 0),
	    SOCKS5_METHOD_NOAUTH);
	assert_int_equal(socks5_select_method(&g, 1, 1),
	    SOCKS5_METHOD_USERPASS);
}

/*
 * Username/password sub-negotiation (RFC 1929 §2)
 */

static void
check_auth_ok(const char *user, size_t ulen, const char *pass, size_t plen)
{
	struct socks5_auth a;
	uint8_t msg[SOCKS5_AUTH_MAX], *p;
	size_t n, consumed = CONSUMED_UNSET;

	n = build_auth(msg, user, ulen, pass, plen);
	p = dup_bytes(msg, n);
	memset(&a, 0xa5, sizeof(a));
	assert_int_equal(socks5_parse_auth(p, n, &a, &consumed), CODEC_OK);
	assert_int_equal(consumed, 3 + ulen + plen);
	assert_int_equal(a.ulen, ulen);
	assert_int_equal(a.plen, plen);
	assert_memory_equal(a.user, user, ulen);
	assert_memory_equal(a.pass, pass, plen);
	assert_int_equal(a.user[ulen], '\0');
	assert_int_equal(a.pass[plen], '\0');
	free(p);
}

static void
test_auth_valid(void **state)
{
	(void)state;
	check_auth_ok("alice", 5, "s3cr3t!", 7);
}

static void
test_auth_len_1(void **state)
{
	(void)state;
	check_auth_ok("u", 1, "p", 1);
}

static void
test_auth_len_255(void **state)
{
	char user[255], pass[255];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(user); i++) {
		user[i] = (char)('a' + i % 26);
		pass[i] = (char)('0' + i % 10);
	}
	check_auth_ok(user, 255, pass, 255);
	check_auth_ok(user, 255, "p", 1);
	check_auth_ok("u", 1, pass, 255);
}

static void
test_auth_empty_user_and_pass(void **state)
{
	struct socks5_auth a;
	const uint8_t msg[] = { 0x01, 0x00, 0x00 };
	size_t consumed = CONSUMED_UNSET;

	(void)state;
	check_auth_ok("", 0, "pass", 4);
	check_auth_ok("user", 4, "", 0);
	memset(&a, 0xa5, sizeof(a));
	assert_int_equal(socks5_parse_auth(msg, sizeof(msg), &a, &consumed),
	    CODEC_OK);
	assert_int_equal(consumed, 3);
	assert_int_equal(a.ulen, 0);
	assert_int_equal(a.plen, 0);
	assert_string_equal(a.user, "");
	assert_string_equal(a.pass, "");
}

static void
test_auth_bad_version(void **state)
{
	const uint8_t versions[] = { 0x05, 0x00, 0x02, 0xff };
	struct socks5_auth a;
	uint8_t msg[SOCKS5_AUTH_MAX], *p;
	size_t i, n, consumed;

	(void)state;
	n = build_auth(msg, "user", 4, "pass", 4);
	for (i = 0; i < sizeof(versions); i++) {
		msg[0] = versions[i];
		p = dup_bytes(msg, 1);
		consumed = CONSUMED_UNSET;
		assert_int_equal(socks5_parse_auth(p, 1, &a, &consumed),
		    CODEC_ERR);
		assert_int_equal(consumed, CONSUMED_UNSET);
		free(p);
		p = dup_bytes(msg, n);
		assert_int_equal(socks5_parse_auth(p, n, &a, &consumed),
		    CODEC_ERR);
		free(p);
	}
}

static void
test_auth_copies_nul_terminated(void **state)
{
	struct socks5_auth a;
	uint8_t msg[SOCKS5_AUTH_MAX];
	size_t n, consumed;

	(void)state;
	/* a short pair after a long one: no leftovers from the first */
	n = build_auth(msg, "longusername", 12, "longpassword", 12);
	memset(&a, 0xa5, sizeof(a));
	assert_int_equal(socks5_parse_auth(msg, n, &a, &consumed), CODEC_OK);
	assert_string_equal(a.user, "longusername");
	assert_string_equal(a.pass, "longpassword");
	n = build_auth(msg, "bob", 3, "pw", 2);
	assert_int_equal(socks5_parse_auth(msg, n, &a, &consumed), CODEC_OK);
	assert_int_equal(strlen(a.user), 3);
	assert_int_equal(strlen(a.pass), 2);
	assert_string_equal(a.user, "bob");
	assert_string_equal(a.pass, "pw");
}

static void
test_auth_trailing_bytes_not_consumed(void **state)
{
	struct socks5_auth a;
	uint8_t msg[64], *p;
	size_t n, consumed = CONSUMED_UNSET;

	(void)state;
	n = build_auth(msg, "user", 4, "pass", 4);
	assert_int_equal(n, 11);
	/* the request that follows */
	memcpy(msg + n, "\x05\x01\x00\x01\x7f\x00\x00\x01\x00\x50", 10);
	p = dup_bytes(msg, n + 10);
	assert_int_equal(socks5_parse_auth(p, n + 10, &a, &consumed),
	    CODEC_OK);
	assert_int_equal(consumed, 11);
	assert_string_equal(a.user, "user");
	assert_string_equal(a.pass, "pass");
	free(p);
}

static void
test_auth_split_every_byte(void **state)
{
	char user[255], pass[255];
	uint8_t msg[SOCKS5_AUTH_MAX];
	size_t n;

	(void)state;
	memset(user, 'U', sizeof(user));
	memset(pass, 'P', sizeof(pass));
	check_split_every_byte(parse_auth_any, msg,
	    build_auth(msg, "user", 4, "pass", 4));
	check_split_every_byte(parse_auth_any, msg,
	    build_auth(msg, "", 0, "", 0));
	check_split_every_byte(parse_auth_any, msg,
	    build_auth(msg, "u", 1, "", 0));
	check_split_every_byte(parse_auth_any, msg,
	    build_auth(msg, "", 0, "p", 1));
	n = build_auth(msg, user, 255, pass, 255);
	assert_int_equal(n, SOCKS5_AUTH_MAX);
	check_split_every_byte(parse_auth_any, msg, n);
}

/*
 * Request (RFC 1928 §4, §5)
 */

static void
test_request_connect_ipv4(void **state)
{
	struct socks5_request r;
	const uint8_t ip[4] = { 10, 20, 30, 40 };
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t n, consumed;

	(void)state;
	n = build_request(msg, SOCKS5_CMD_CONNECT, 0, SOCKS5_ATYP_IPV4, ip, 4,
	    8080);
	assert_int_equal(n, 10);
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, 10);
	assert_int_equal(rep, REP_UNSET);
	assert_int_equal(r.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(r.atyp, SOCKS5_ATYP_IPV4);
	assert_int_equal(r.is_ip, 1);
	assert_int_equal(r.hostlen, 0);
	assert_int_equal(r.port, 8080);
	assert_int_equal(r.addr.sa.sa_family, AF_INET);
	assert_memory_equal(&r.addr.in.sin_addr, ip, 4);
	assert_int_equal(r.addr.in.sin_port, htons(8080));
	assert_int_equal(netaddr_port(&r.addr), 8080);
	assert_string_equal(r.host, "10.20.30.40");
}

static void
test_request_connect_ipv6(void **state)
{
	struct socks5_request r;
	const uint8_t ip[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
	    0, 0, 0, 0, 0, 0, 0xbe, 0xef };
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t n, consumed;

	(void)state;
	n = build_request(msg, SOCKS5_CMD_CONNECT, 0, SOCKS5_ATYP_IPV6, ip, 16,
	    443);
	assert_int_equal(n, 22);
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, 22);
	assert_int_equal(r.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(r.atyp, SOCKS5_ATYP_IPV6);
	assert_int_equal(r.is_ip, 1);
	assert_int_equal(r.port, 443);
	assert_int_equal(r.addr.sa.sa_family, AF_INET6);
	assert_memory_equal(&r.addr.in6.sin6_addr, ip, 16);
	assert_int_equal(r.addr.in6.sin6_port, htons(443));
	assert_int_equal(netaddr_port(&r.addr), 443);
	assert_int_equal(r.addr.in6.sin6_scope_id, 0);
	assert_int_equal(r.addr.in6.sin6_flowinfo, 0);
	assert_string_equal(r.host, "2001:db8::beef");
}

static void
test_request_connect_domain(void **state)
{
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t n, consumed;

	(void)state;
	n = build_domain_request(msg, "www.example.com", 15, 80);
	assert_int_equal(n, 4 + 1 + 15 + 2);
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, n);
	assert_int_equal(rep, REP_UNSET);
	assert_int_equal(r.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(r.atyp, SOCKS5_ATYP_DOMAIN);
	assert_int_equal(r.is_ip, 0);
	assert_int_equal(r.hostlen, 15);
	assert_string_equal(r.host, "www.example.com");
	assert_int_equal(r.port, 80);
}

static void
test_request_domain_len_1(void **state)
{
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t n, consumed;

	(void)state;
	n = build_domain_request(msg, "a", 1, 1);
	assert_int_equal(n, 8);
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, 8);
	assert_int_equal(r.is_ip, 0);
	assert_int_equal(r.hostlen, 1);
	assert_string_equal(r.host, "a");
	assert_int_equal(r.port, 1);
}

/* "a.a.a. ... .a": 128 labels, 255 bytes. */
static void
make_host_255(char *h)
{
	size_t i;

	for (i = 0; i < 255; i++)
		h[i] = i % 2 == 0 ? 'a' : '.';
	h[255] = '\0';
}

static void
test_request_domain_len_255(void **state)
{
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	char host[256];
	size_t n, consumed;

	(void)state;
	make_host_255(host);
	n = build_domain_request(msg, host, 255, 65535);
	assert_int_equal(n, SOCKS5_REQUEST_MAX);
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, SOCKS5_REQUEST_MAX);
	assert_int_equal(r.is_ip, 0);
	assert_int_equal(r.hostlen, 255);
	assert_int_equal(strlen(r.host), 255);
	assert_string_equal(r.host, host);
	assert_int_equal(r.port, 65535);
}

static void
test_request_domain_ipv4_literal(void **state)
{
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	const uint8_t ip[4] = { 127, 0, 0, 1 };
	size_t n, consumed;

	(void)state;
	n = build_domain_request(msg, "127.0.0.1", 9, 1080);
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, n);
	assert_int_equal(r.atyp, SOCKS5_ATYP_DOMAIN);
	assert_int_equal(r.is_ip, 1);
	assert_int_equal(r.hostlen, 9);
	assert_string_equal(r.host, "127.0.0.1");
	assert_int_equal(r.port, 1080);
	assert_int_equal(r.addr.sa.sa_family, AF_INET);
	assert_memory_equal(&r.addr.in.sin_addr, ip, 4);
	assert_int_equal(netaddr_port(&r.addr), 1080);
}

static void
test_request_domain_ipv6_literal(void **state)
{
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t n, consumed;

	(void)state;
	n = build_domain_request(msg, "::1", 3, 8443);
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, n);
	assert_int_equal(r.atyp, SOCKS5_ATYP_DOMAIN);
	assert_int_equal(r.is_ip, 1);
	assert_int_equal(r.hostlen, 3);
	assert_string_equal(r.host, "::1");
	assert_int_equal(r.port, 8443);
	assert_int_equal(r.addr.sa.sa_family, AF_INET6);
	assert_memory_equal(&r.addr.in6.sin6_addr, &in6addr_loopback, 16);
	assert_int_equal(netaddr_port(&r.addr), 8443);
}

static void
test_request_domain_ipv6_bracketed(void **state)
{
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t n, consumed;

	(void)state;
	n = build_domain_request(msg, "[::1]", 5, 22);
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, n);
	assert_int_equal(r.is_ip, 1);
	assert_int_equal(r.hostlen, 5);
	assert_string_equal(r.host, "[::1]");
	assert_int_equal(r.port, 22);
	assert_int_equal(r.addr.sa.sa_family, AF_INET6);
	assert_memory_equal(&r.addr.in6.sin6_addr, &in6addr_loopback, 16);
	assert_int_equal(netaddr_port(&r.addr), 22);
}

/* Brackets are for IPv6 only; unbalanced brackets are not a host name. */
static void
test_request_domain_bad_brackets(void **state)
{
	(void)state;
	check_domain_rejected("[1.2.3.4]", 9);
	check_domain_rejected("[::1", 4);
	check_domain_rejected("::1]", 4);
	check_domain_rejected("[]", 2);
	check_domain_rejected("[example.com]", 13);
}

static void
test_request_domain_empty(void **state)
{
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t n, consumed;

	(void)state;
	n = build_domain_request(msg, "", 0, 80);
	assert_int_equal(n, 7);
	/* the port is still to come: framing first */
	assert_int_equal(parse_request_exact(msg, 6, &r, &consumed, &rep),
	    CODEC_AGAIN);
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_ERR);
	assert_int_equal(rep, SOCKS5_REP_HOST_UNREACH);
	assert_int_equal(consumed, 7);
}

static void
test_request_domain_invalid_chars(void **state)
{
	(void)state;
	check_domain_rejected("exa mple.com", 12);
	check_domain_rejected(" ", 1);
	check_domain_rejected("exa\0mple.com", 12);
	check_domain_rejected("\0", 1);
	check_domain_rejected("example.com\0", 12);
	check_domain_rejected("a/b", 3);
	check_domain_rejected("../etc/passwd", 13);
	check_domain_rejected("caf\x80.example", 12);
	check_domain_rejected("\xff", 1);
	check_domain_rejected("host:80", 7);
	check_domain_rejected("user@host", 9);
	check_domain_rejected("a\r\nb", 4);
	check_domain_rejected("%00", 3);
	check_domain_rejected(".", 1);
	check_domain_rejected("..", 2);
}

/*
 * A NUL byte after an IP literal must not turn the rest of the name into a
 * silently ignored suffix: the name as sent is not an address.
 */
static void
test_request_domain_nul_after_ip_literal(void **state)
{
	(void)state;
	check_domain_rejected("127.0.0.1\0.evil.example", 23);
	check_domain_rejected("127.0.0.1\0", 10);
	check_domain_rejected("::1\0x", 5);
	check_domain_rejected("[::1\0]", 6);
}

static void
test_request_unknown_atyp(void **state)
{
	const uint8_t atyps[] = { 0x00, 0x02, 0x05, 0xff };
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t i, consumed;

	(void)state;
	memset(msg, 0x01, sizeof(msg));
	msg[0] = SOCKS5_VERSION;
	msg[1] = SOCKS5_CMD_CONNECT;
	msg[2] = 0;
	for (i = 0; i < sizeof(atyps); i++) {
		msg[3] = atyps[i];
		assert_int_equal(parse_request_exact(msg, 3, &r, &consumed,
		    &rep), CODEC_AGAIN);
		assert_int_equal(parse_request_exact(msg, 4, &r, &consumed,
		    &rep), CODEC_ERR);
		assert_int_equal(rep, SOCKS5_REP_ATYP_UNSUPP);
		assert_int_equal(consumed, 4);
		assert_int_equal(parse_request_exact(msg, 10, &r, &consumed,
		    &rep), CODEC_ERR);
		assert_int_equal(rep, SOCKS5_REP_ATYP_UNSUPP);
		assert_int_equal(consumed, 4);
	}
}

static void
test_request_bad_version(void **state)
{
	const uint8_t versions[] = { 0x04, 0x00, 'C', 0x01, 0xff };
	const uint8_t ip[4] = { 1, 2, 3, 4 };
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t i, n, consumed;

	(void)state;
	n = build_request(msg, SOCKS5_CMD_CONNECT, 0, SOCKS5_ATYP_IPV4, ip, 4,
	    80);
	for (i = 0; i < sizeof(versions); i++) {
		msg[0] = versions[i];
		assert_int_equal(parse_request_exact(msg, 1, &r, &consumed,
		    &rep), CODEC_ERR);
		assert_int_equal(rep, SOCKS5_REP_NONE);
		assert_int_equal(parse_request_exact(msg, n, &r, &consumed,
		    &rep), CODEC_ERR);
		assert_int_equal(rep, SOCKS5_REP_NONE);
	}
}

static void
test_request_other_commands_parse(void **state)
{
	const uint8_t cmds[] = { SOCKS5_CMD_BIND, SOCKS5_CMD_UDP, 0x09, 0x00,
	    0xff };
	const uint8_t ip[4] = { 192, 0, 2, 1 };
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t i, n, consumed;

	(void)state;
	for (i = 0; i < sizeof(cmds); i++) {
		n = build_request(msg, cmds[i], 0, SOCKS5_ATYP_IPV4, ip, 4,
		    5000);
		assert_int_equal(parse_request_exact(msg, n, &r, &consumed,
		    &rep), CODEC_OK);
		assert_int_equal(consumed, 10);
		assert_int_equal(r.cmd, cmds[i]);
		assert_int_equal(r.port, 5000);
		assert_int_equal(r.is_ip, 1);
		assert_memory_equal(&r.addr.in.sin_addr, ip, 4);
	}
}

static void
test_request_rsv_ignored(void **state)
{
	const uint8_t ip[4] = { 192, 0, 2, 1 };
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t n, consumed;

	(void)state;
	n = build_request(msg, SOCKS5_CMD_CONNECT, 0xff, SOCKS5_ATYP_IPV4, ip,
	    4, 80);
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, 10);
	assert_int_equal(r.cmd, SOCKS5_CMD_CONNECT);
	assert_int_equal(r.port, 80);
	n = build_domain_request(msg, "example.org", 11, 443);
	msg[2] = 0x01;
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_string_equal(r.host, "example.org");
}

static void
test_request_port_edges(void **state)
{
	const uint8_t ip[4] = { 192, 0, 2, 1 };
	const uint16_t ports[] = { 0, 1, 255, 256, 0x0102, 0x8000, 65535 };
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX], rep;
	size_t i, n, consumed;

	(void)state;
	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		n = build_request(msg, SOCKS5_CMD_CONNECT, 0, SOCKS5_ATYP_IPV4,
		    ip, 4, ports[i]);
		assert_int_equal(parse_request_exact(msg, n, &r, &consumed,
		    &rep), CODEC_OK);
		assert_int_equal(r.port, ports[i]);
		assert_int_equal(netaddr_port(&r.addr), ports[i]);
		n = build_domain_request(msg, "example.net", 11, ports[i]);
		assert_int_equal(parse_request_exact(msg, n, &r, &consumed,
		    &rep), CODEC_OK);
		assert_int_equal(r.port, ports[i]);
	}
	/* DST.PORT is in network order: 0x01 0x02 is 258 */
	n = build_request(msg, SOCKS5_CMD_CONNECT, 0, SOCKS5_ATYP_IPV4, ip, 4,
	    0);
	msg[8] = 0x01;
	msg[9] = 0x02;
	assert_int_equal(parse_request_exact(msg, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(r.port, 258);
	assert_int_equal(r.addr.in.sin_port, htons(258));
}

static void
test_request_trailing_bytes_not_consumed(void **state)
{
	const uint8_t ip[16] = { 0xfe, 0x80, [15] = 0x01 };
	struct socks5_request r;
	uint8_t msg[SOCKS5_REQUEST_MAX + 16], rep;
	size_t n, consumed;

	(void)state;
	n = build_request(msg, SOCKS5_CMD_CONNECT, 0, SOCKS5_ATYP_IPV6, ip, 16,
	    443);
	memcpy(msg + n, "\x16\x03\x01\x02\x00", 5);
	assert_int_equal(parse_request_exact(msg, n + 5, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, 22);
	n = build_domain_request(msg, "example.com", 11, 443);
	memcpy(msg + n, "\x05\x00\x00", 3);
	assert_int_equal(parse_request_exact(msg, n + 3, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, n);
	assert_string_equal(r.host, "example.com");
	assert_int_equal(r.hostlen, 11);
}

/*
 * A client that pipelines its whole handshake and the first tunnel bytes in
 * one write: each message is parsed in turn by advancing by *consumed.
 */
static void
test_request_pipelined_session(void **state)
{
	static const char payload[] = "GET / HTTP/1.0\r\n\r\n";
	struct socks5_greeting g;
	struct socks5_auth a;
	struct socks5_request r;
	uint8_t buf[128], *p, rep;
	size_t n = 0, off = 0, consumed;

	(void)state;
	n += build_greeting(buf + n, (const uint8_t *)"\x00\x02", 2);
	n += build_auth(buf + n, "alice", 5, "wonderland", 10);
	n += build_domain_request(buf + n, "example.com", 11, 80);
	memcpy(buf + n, payload, sizeof(payload) - 1);
	n += sizeof(payload) - 1;
	p = dup_bytes(buf, n);

	assert_int_equal(socks5_parse_greeting(p + off, n - off, &g,
	    &consumed), CODEC_OK);
	assert_int_equal(consumed, 4);
	assert_int_equal(socks5_select_method(&g, 1, 1),
	    SOCKS5_METHOD_USERPASS);
	off += consumed;

	assert_int_equal(socks5_parse_auth(p + off, n - off, &a, &consumed),
	    CODEC_OK);
	assert_int_equal(consumed, 3 + 5 + 10);
	assert_string_equal(a.user, "alice");
	assert_string_equal(a.pass, "wonderland");
	off += consumed;

	rep = REP_UNSET;
	assert_int_equal(socks5_parse_request(p + off, n - off, &r, &consumed,
	    &rep), CODEC_OK);
	assert_int_equal(consumed, 4 + 1 + 11 + 2);
	assert_string_equal(r.host, "example.com");
	assert_int_equal(r.port, 80);
	off += consumed;

	assert_int_equal(n - off, sizeof(payload) - 1);
	assert_memory_equal(p + off, payload, sizeof(payload) - 1);
	assert_memory_equal(p, buf, n);
	free(p);
}

static void
test_request_split_every_byte(void **state)
{
	const uint8_t ip4[4] = { 203, 0, 113, 9 };
	const uint8_t ip6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x42 };
	uint8_t msg[SOCKS5_REQUEST_MAX];
	char host[256];

	(void)state;
	check_split_every_byte(parse_request_any, msg,
	    build_request(msg, SOCKS5_CMD_CONNECT, 0, SOCKS5_ATYP_IPV4, ip4, 4,
	    80));
	check_split_every_byte(parse_request_any, msg,
	    build_request(msg, SOCKS5_CMD_CONNECT, 0, SOCKS5_ATYP_IPV6, ip6,
	    16, 443));
	check_split_every_byte(parse_request_any, msg,
	    build_domain_request(msg, "example.com", 11, 8080));
	check_split_every_byte(parse_request_any, msg,
	    build_domain_request(msg, "a", 1, 1));
	check_split_every_byte(parse_request_any, msg,
	    build_domain_request(msg, "127.0.0.1", 9, 1080));
	check_split_every_byte(parse_request_any, msg,
	    build_domain_request(msg, "[::1]", 5, 1080));
	check_split_every_byte(parse_request_any, msg,
	    build_request(msg, SOCKS5_CMD_UDP, 0, SOCKS5_ATYP_IPV4, ip4, 4, 0));
	make_host_255(host);
	check_split_every_byte(parse_request_any, msg,
	    build_domain_request(msg, host, 255, 65535));
}

/*
 * Encoders (RFC 1928 §3, §6; RFC 1929 §2)
 */

static void
test_encode_method(void **state)
{
	uint8_t out[4];

	(void)state;
	memset(out, 0xee, sizeof(out));
	assert_int_equal(socks5_encode_method(out, SOCKS5_METHOD_USERPASS), 2);
	assert_memory_equal(out, "\x05\x02\xee\xee", 4);
	assert_int_equal(socks5_encode_method(out, SOCKS5_METHOD_NONE), 2);
	assert_memory_equal(out, "\x05\xff\xee\xee", 4);
	assert_int_equal(socks5_encode_method(out, SOCKS5_METHOD_NOAUTH), 2);
	assert_memory_equal(out, "\x05\x00\xee\xee", 4);
}

static void
test_encode_auth_status(void **state)
{
	uint8_t out[4];

	(void)state;
	memset(out, 0xee, sizeof(out));
	assert_int_equal(socks5_encode_auth_status(out, SOCKS5_AUTH_OK), 2);
	assert_memory_equal(out, "\x01\x00\xee\xee", 4);
	assert_int_equal(socks5_encode_auth_status(out, SOCKS5_AUTH_FAIL), 2);
	assert_memory_equal(out, "\x01\x01\xee\xee", 4);
}

static void
test_encode_reply_null_bnd(void **state)
{
	uint8_t out[SOCKS5_REPLY_MAX + 2];
	const uint8_t want[12] = { 0x05, 0x04, 0x00, 0x01, 0, 0, 0, 0, 0, 0,
	    0xee, 0xee };
	union sockaddr_u unset;

	(void)state;
	memset(out, 0xee, sizeof(out));
	assert_int_equal(socks5_encode_reply(out, SOCKS5_REP_HOST_UNREACH,
	    NULL), 10);
	assert_memory_equal(out, want, sizeof(want));
	/* an unset address is the same as none */
	memset(&unset, 0, sizeof(unset));
	memset(out, 0xee, sizeof(out));
	assert_int_equal(socks5_encode_reply(out, SOCKS5_REP_HOST_UNREACH,
	    &unset), 10);
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_encode_reply_ipv4(void **state)
{
	uint8_t out[SOCKS5_REPLY_MAX + 2];
	const uint8_t want[12] = { 0x05, 0x00, 0x00, 0x01, 192, 0, 2, 7,
	    0x1f, 0x90, 0xee, 0xee };
	union sockaddr_u bnd;

	(void)state;
	memset(&bnd, 0, sizeof(bnd));
	bnd.in.sin_family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.7", &bnd.in.sin_addr), 1);
	bnd.in.sin_port = htons(8080);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(socks5_encode_reply(out, SOCKS5_REP_SUCCESS, &bnd),
	    10);
	assert_memory_equal(out, want, sizeof(want));
}

static void
test_encode_reply_ipv6(void **state)
{
	uint8_t out[SOCKS5_REPLY_MAX + 2];
	const uint8_t want[24] = { 0x05, 0x00, 0x00, 0x04,
	    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01,
	    0xc3, 0x50, 0xee, 0xee };
	union sockaddr_u bnd;

	(void)state;
	memset(&bnd, 0, sizeof(bnd));
	bnd.in6.sin6_family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::1",
	    &bnd.in6.sin6_addr), 1);
	bnd.in6.sin6_port = htons(50000);
	memset(out, 0xee, sizeof(out));
	assert_int_equal(socks5_encode_reply(out, SOCKS5_REP_SUCCESS, &bnd),
	    22);
	assert_int_equal(22, SOCKS5_REPLY_MAX);
	assert_memory_equal(out, want, sizeof(want));
}

/* The reply a client gets back parses as a request would: same layout. */
static void
test_encode_reply_parses_back(void **state)
{
	struct socks5_request r;
	union sockaddr_u bnd;
	uint8_t out[SOCKS5_REPLY_MAX], rep;
	size_t n, consumed;

	(void)state;
	assert_int_equal(netaddr_parse_ip("198.51.100.20", &bnd), 0);
	netaddr_set_port(&bnd, 40000);
	n = socks5_encode_reply(out, SOCKS5_REP_SUCCESS, &bnd);
	assert_int_equal(parse_request_exact(out, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, n);
	assert_true(netaddr_ip_equal(&r.addr, &bnd));
	assert_int_equal(r.port, 40000);
	assert_int_equal(netaddr_parse_ip("2001:db8::7", &bnd), 0);
	netaddr_set_port(&bnd, 1);
	n = socks5_encode_reply(out, SOCKS5_REP_SUCCESS, &bnd);
	assert_int_equal(parse_request_exact(out, n, &r, &consumed, &rep),
	    CODEC_OK);
	assert_int_equal(consumed, 22);
	assert_true(netaddr_ip_equal(&r.addr, &bnd));
	assert_int_equal(r.port, 1);
}

static void
test_rep_str(void **state)
{
	const char *s[9];
	unsigned i, j;

	(void)state;
	for (i = 0; i <= 8; i++) {
		s[i] = socks5_rep_str((uint8_t)i);
		assert_non_null(s[i]);
		assert_true(strlen(s[i]) > 0);
	}
	for (i = 0; i <= 8; i++)
		for (j = i + 1; j <= 8; j++)
			if (strcmp(s[i], s[j]) == 0)
				fail_msg("rep 0x%02x and 0x%02x share \"%s\"",
				    i, j, s[i]);
	assert_string_equal(socks5_rep_str(SOCKS5_REP_SUCCESS), "succeeded");
	assert_non_null(socks5_rep_str(SOCKS5_REP_NONE));
	assert_non_null(socks5_rep_str(0x09));
	assert_non_null(socks5_rep_str(0x80));
}

/*
 * Host name check
 */

static void
test_host_valid_names(void **state)
{
	char host[256];

	(void)state;
	assert_int_equal(socks5_host_valid("example.com", 11), 1);
	assert_int_equal(socks5_host_valid("a", 1), 1);
	assert_int_equal(socks5_host_valid("localhost", 9), 1);
	assert_int_equal(socks5_host_valid("xn--bcher-kva.example", 21), 1);
	assert_int_equal(socks5_host_valid("my_host-01.Example.ORG", 22), 1);
	assert_int_equal(socks5_host_valid("example.com.", 12), 1);
	assert_int_equal(socks5_host_valid("0123456789", 10), 1);
	make_host_255(host);
	assert_int_equal(socks5_host_valid(host, 255), 1);
	memset(host, 'z', 255);
	assert_int_equal(socks5_host_valid(host, 255), 1);
}

static void
test_host_valid_dots_only(void **state)
{
	(void)state;
	assert_int_equal(socks5_host_valid(".", 1), 0);
	assert_int_equal(socks5_host_valid("..", 2), 0);
	assert_int_equal(socks5_host_valid("...", 3), 0);
}

static void
test_host_valid_empty(void **state)
{
	(void)state;
	assert_int_equal(socks5_host_valid("", 0), 0);
	assert_int_equal(socks5_host_valid("example.com", 0), 0);
}

static void
test_host_valid_invalid_chars(void **state)
{
	(void)state;
	assert_int_equal(socks5_host_valid(" ", 1), 0);
	assert_int_equal(socks5_host_valid("a b", 3), 0);
	assert_int_equal(socks5_host_valid("a/b", 3), 0);
	assert_int_equal(socks5_host_valid("a\\b", 3), 0);
	assert_int_equal(socks5_host_valid("a:b", 3), 0);
	assert_int_equal(socks5_host_valid("a@b", 3), 0);
	assert_int_equal(socks5_host_valid("a%b", 3), 0);
	assert_int_equal(socks5_host_valid("[::1]", 5), 0);
	assert_int_equal(socks5_host_valid("a\0b", 3), 0);
	assert_int_equal(socks5_host_valid("\x80", 1), 0);
	assert_int_equal(socks5_host_valid("caf\xc3\xa9", 5), 0);
	assert_int_equal(socks5_host_valid("a\tb", 3), 0);
	assert_int_equal(socks5_host_valid("a\nb", 3), 0);
	assert_int_equal(socks5_host_valid("\x7f", 1), 0);
}

/*
 * Only the len bytes given count: the name need not be NUL-terminated, and
 * what follows it in memory must not change the answer.
 */
static void
test_host_valid_uses_length(void **state)
{
	(void)state;
	assert_int_equal(socks5_host_valid("abc/def", 3), 1);
	assert_int_equal(socks5_host_valid("a.. ", 3), 1);
	assert_int_equal(socks5_host_valid("ab", 1), 1);
	/* "." and ".." followed by more dots in the caller's buffer */
	assert_int_equal(socks5_host_valid("..", 1), 0);
	assert_int_equal(socks5_host_valid("...x", 2), 0);
	assert_int_equal(socks5_host_valid("....example", 3), 0);
}

/* socks5.c: "1..255 bytes" */
static void
test_host_valid_too_long(void **state)
{
	char host[300];

	(void)state;
	memset(host, 'a', sizeof(host));
	assert_int_equal(socks5_host_valid(host, 255), 1);
	assert_int_equal(socks5_host_valid(host, 256), 0);
	assert_int_equal(socks5_host_valid(host, sizeof(host)), 0);
}

/*
 * Round trip: pseudo-random requests, encoded by hand, parsed whole and in
 * two feeds split at a random point.
 */

static uint64_t lcg_state;

static uint32_t
lcg_next(void)
{
	/* Knuth's MMIX constants; the high half has the good bits */
	lcg_state = lcg_state * 6364136223846793005ULL +
	    1442695040888963407ULL;
	return (uint32_t)(lcg_state >> 32);
}

static uint32_t
lcg_below(uint32_t n)
{
	return lcg_next() % n;
}

struct rt_case {
	uint8_t		 cmd;
	uint8_t		 atyp;
	uint8_t		 is_ip;
	uint8_t		 alen;		/* address or name bytes */
	uint8_t		 addr[255];
	uint16_t	 port;
};

static void
rt_make(struct rt_case *c)
{
	static const char alpha[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.";
	size_t i;
	int kind;

	c->cmd = (uint8_t)lcg_below(256);
	c->port = (uint16_t)lcg_below(65536);
	kind = (int)lcg_below(4);
	switch (kind) {
	case 0:
		c->atyp = SOCKS5_ATYP_IPV4;
		c->alen = 4;
		c->is_ip = 1;
		break;
	case 1:
		c->atyp = SOCKS5_ATYP_IPV6;
		c->alen = 16;
		c->is_ip = 1;
		break;
	case 2:
		/* a name: starts with a letter, so never an IP literal */
		c->atyp = SOCKS5_ATYP_DOMAIN;
		c->alen = (uint8_t)(1 + lcg_below(255));
		c->is_ip = 0;
		c->addr[0] = (uint8_t)('a' + lcg_below(26));
		for (i = 1; i < c->alen; i++)
			c->addr[i] = (uint8_t)alpha[lcg_below(
			    sizeof(alpha) - 1)];
		return;
	default:
		/* an IPv4 literal sent as a name */
		c->atyp = SOCKS5_ATYP_DOMAIN;
		c->is_ip = 1;
		for (i = 0; i < 4; i++)
			c->addr[200 + i] = (uint8_t)lcg_below(256);
		assert_non_null(inet_ntop(AF_INET, &c->addr[200],
		    (char *)c->addr, 200));
		c->alen = (uint8_t)strlen((char *)c->addr);
		assert_true(c->alen >= 7 && c->alen <= 15);
		return;
	}
	for (i = 0; i < c->alen; i++)
		c->addr[i] = (uint8_t)lcg_below(256);
}

static void
rt_check(const struct rt_case *c, const struct socks5_request *r)
{
	assert_int_equal(r->cmd, c->cmd);
	assert_int_equal(r->atyp, c->atyp);
	assert_int_equal(r->is_ip, c->is_ip);
	assert_int_equal(r->port, c->port);
	switch (c->atyp) {
	case SOCKS5_ATYP_IPV4:
		assert_int_equal(r->addr.sa.sa_family, AF_INET);
		assert_memory_equal(&r->addr.in.sin_addr, c->addr, 4);
		assert_int_equal(netaddr_port(&r->addr), c->port);
		break;
	case SOCKS5_ATYP_IPV6:
		assert_int_equal(r->addr.sa.sa_family, AF_INET6);
		assert_memory_equal(&r->addr.in6.sin6_addr, c->addr, 16);
		assert_int_equal(netaddr_port(&r->addr), c->port);
		break;
	default:
		assert_int_equal(r->hostlen, c->alen);
		assert_memory_equal(r->host, c->addr, c->alen);
		assert_int_equal(r->host[c->alen], '\0');
		if (c->is_ip) {
			assert_int_equal(r->addr.sa.sa_family, AF_INET);
			assert_memory_equal(&r->addr.in.sin_addr,
			    &c->addr[200], 4);
			assert_int_equal(netaddr_port(&r->addr), c->port);
		}
		break;
	}
}

static void
test_request_round_trip_random(void **state)
{
	struct socks5_request r;
	struct rt_case c;
	uint8_t msg[SOCKS5_REQUEST_MAX + 8], rep;
	size_t n, extra, k, consumed;
	int i;

	(void)state;
	lcg_state = 0x5eed1928;
	for (i = 0; i < 500; i++) {
		memset(&c, 0, sizeof(c));
		rt_make(&c);
		n = build_request(msg, c.cmd, (uint8_t)lcg_below(256), c.atyp,
		    c.addr, c.alen, c.port);
		extra = lcg_below(9);
		for (k = 0; k < extra; k++)
			msg[n + k] = (uint8_t)lcg_below(256);

		/* whole, with trailing tunnel bytes */
		if (parse_request_exact(msg, n + extra, &r, &consumed,
		    &rep) != CODEC_OK)
			fail_msg("case %d (atyp %u, alen %u): whole parse "
			    "failed, rep 0x%02x", i, c.atyp, c.alen, rep);
		assert_int_equal(consumed, n);
		rt_check(&c, &r);

		/* two feeds: a strict prefix, then everything */
		k = lcg_below((uint32_t)n);
		if (parse_request_exact(msg, k, &r, &consumed, &rep) !=
		    CODEC_AGAIN)
			fail_msg("case %d: prefix %zu/%zu not CODEC_AGAIN", i,
			    k, n);
		assert_int_equal(parse_request_exact(msg, n + extra, &r,
		    &consumed, &rep), CODEC_OK);
		assert_int_equal(consumed, n);
		rt_check(&c, &r);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting_one_method),
		cmocka_unit_test(test_greeting_two_methods),
		cmocka_unit_test(test_greeting_255_methods),
		cmocka_unit_test(test_greeting_zero_methods),
		cmocka_unit_test(test_greeting_bad_version),
		cmocka_unit_test(test_greeting_trailing_bytes_not_consumed),
		cmocka_unit_test(test_greeting_split_every_byte),
		cmocka_unit_test(test_select_method_all_combinations),
		cmocka_unit_test(test_select_method_after_parse),
		cmocka_unit_test(test_auth_valid),
		cmocka_unit_test(test_auth_len_1),
		cmocka_unit_test(test_auth_len_255),
		cmocka_unit_test(test_auth_empty_user_and_pass),
		cmocka_unit_test(test_auth_bad_version),
		cmocka_unit_test(test_auth_copies_nul_terminated),
		cmocka_unit_test(test_auth_trailing_bytes_not_consumed),
		cmocka_unit_test(test_auth_split_every_byte),
		cmocka_unit_test(test_request_connect_ipv4),
		cmocka_unit_test(test_request_connect_ipv6),
		cmocka_unit_test(test_request_connect_domain),
		cmocka_unit_test(test_request_domain_len_1),
		cmocka_unit_test(test_request_domain_len_255),
		cmocka_unit_test(test_request_domain_ipv4_literal),
		cmocka_unit_test(test_request_domain_ipv6_literal),
		cmocka_unit_test(test_request_domain_ipv6_bracketed),
		cmocka_unit_test(test_request_domain_bad_brackets),
		cmocka_unit_test(test_request_domain_empty),
		cmocka_unit_test(test_request_domain_invalid_chars),
		cmocka_unit_test(test_request_domain_nul_after_ip_literal),
		cmocka_unit_test(test_request_unknown_atyp),
		cmocka_unit_test(test_request_bad_version),
		cmocka_unit_test(test_request_other_commands_parse),
		cmocka_unit_test(test_request_rsv_ignored),
		cmocka_unit_test(test_request_port_edges),
		cmocka_unit_test(test_request_trailing_bytes_not_consumed),
		cmocka_unit_test(test_request_pipelined_session),
		cmocka_unit_test(test_request_split_every_byte),
		cmocka_unit_test(test_request_round_trip_random),
		cmocka_unit_test(test_encode_method),
		cmocka_unit_test(test_encode_auth_status),
		cmocka_unit_test(test_encode_reply_null_bnd),
		cmocka_unit_test(test_encode_reply_ipv4),
		cmocka_unit_test(test_encode_reply_ipv6),
		cmocka_unit_test(test_encode_reply_parses_back),
		cmocka_unit_test(test_rep_str),
		cmocka_unit_test(test_host_valid_names),
		cmocka_unit_test(test_host_valid_dots_only),
		cmocka_unit_test(test_host_valid_empty),
		cmocka_unit_test(test_host_valid_invalid_chars),
		cmocka_unit_test(test_host_valid_uses_length),
		cmocka_unit_test(test_host_valid_too_long),
	};

	return cmocka_run_group_tests_name("socks5", tests, NULL, NULL);
}
