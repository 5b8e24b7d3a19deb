/*
 * Unit tests for the SOCKS4/4a codec: proxy/socks4.c.
 *
 * Every request is parsed from an exactly sized heap copy of the bytes, so
 * that ASan reports any read past the length the codec was given.
 */
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "socks4.h"

/* Tell a value the codec wrote from one it left alone. */
#define CONSUMED_UNSET	((size_t)0xdeadbeef)

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
 * Wire request: VN CD DSTPORT DSTIP USERID NUL [HOST NUL].  host NULL: no
 * 4a name.  ulen and hlen let a test leave out the NUL (pass the length
 * of the bytes to write; the NUL is written when nul is set).
 */
static size_t
build(uint8_t *out, uint8_t vn, uint8_t cmd, uint16_t port,
    const uint8_t ip[4], const char *user, size_t ulen, int unul,
    const char *host, size_t hlen, int hnul)
{
	size_t n = 0;

	out[n++] = vn;
	out[n++] = cmd;
	out[n++] = (uint8_t)(port >> 8);
	out[n++] = (uint8_t)(port & 0xff);
	memcpy(out + n, ip, 4);
	n += 4;
	memcpy(out + n, user, ulen);
	n += ulen;
	if (unul)
		out[n++] = 0;
	if (host != NULL) {
		memcpy(out + n, host, hlen);
		n += hlen;
		if (hnul)
			out[n++] = 0;
	}
	return n;
}

static size_t
build4(uint8_t *out, uint8_t cmd, uint16_t port, const uint8_t ip[4],
    const char *user)
{
	return build(out, SOCKS4_VERSION, cmd, port, ip, user, strlen(user), 1,
	    NULL, 0, 0);
}

static const uint8_t ip_4a[4] = { 0, 0, 0, 1 };

static size_t
build4a(uint8_t *out, uint16_t port, const char *user, const char *host,
    size_t hlen)
{
	return build(out, SOCKS4_VERSION, SOCKS4_CMD_CONNECT, port, ip_4a,
	    user, strlen(user), 1, host, hlen, 1);
}

static enum codec_result
parse_exact(const uint8_t *msg, size_t n, struct socks4_request *r,
    size_t *consumed)
{
	enum codec_result res;
	uint8_t *p;

	p = dup_bytes(msg, n);
	memset(r, 0xa5, sizeof(*r));
	*consumed = CONSUMED_UNSET;
	res = socks4_parse_request(p, n, r, consumed);
	assert_memory_equal(p, msg, n);
	free(p);
	return res;
}

/*
 * Every prefix 0..n-1 is CODEC_AGAIN, the whole message CODEC_OK with
 * *consumed == n, and with trailing bytes still *consumed == n.
 */
static void
check_split_every_byte(const uint8_t *msg, size_t n)
{
	struct socks4_request r;
	uint8_t *q;
	size_t i, consumed;

	for (i = 0; i < n; i++)
		if (parse_exact(msg, i, &r, &consumed) != CODEC_AGAIN)
			fail_msg("prefix of %zu/%zu bytes: not CODEC_AGAIN", i,
			    n);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, n);
	q = malloc(n + 4);
	assert_non_null(q);
	memcpy(q, msg, n);
	memcpy(q + n, "GET ", 4);
	assert_int_equal(parse_exact(q, n + 4, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, n);
	free(q);
}

static void
check_ipv4(const struct socks4_request *r, const char *ip, uint16_t port)
{
	struct in_addr want;

	assert_int_equal(inet_pton(AF_INET, ip, &want), 1);
	assert_int_equal(r->addr.sa.sa_family, AF_INET);
	assert_memory_equal(&r->addr.in.sin_addr, &want, 4);
	assert_int_equal(ntohs(r->addr.in.sin_port), port);
	assert_int_equal(netaddr_port(&r->addr), port);
	assert_int_equal(r->port, port);
}

static void
make_name(char *host, size_t n)
{
	size_t i;

	/* labels of 63 letters and digits joined by dots */
	for (i = 0; i < n; i++)
		host[i] = (i + 1) % 64 == 0 ? '.' : (char)('a' + i % 26);
	host[n] = '\0';
}

/*
 * SOCKS4
 */

static void
test_connect_empty_userid(void **state)
{
	const uint8_t ip[4] = { 10, 0, 0, 1 };
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t n, consumed;

	(void)state;
	n = build4(msg, SOCKS4_CMD_CONNECT, 80, ip, "");
	assert_int_equal(n, 9);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, 9);
	assert_int_equal(r.cmd, SOCKS4_CMD_CONNECT);
	assert_int_equal(r.is_4a, 0);
	check_ipv4(&r, "10.0.0.1", 80);
	assert_string_equal(r.userid, "");
	assert_string_equal(r.host, "10.0.0.1");
}

static void
test_connect_userid(void **state)
{
	const uint8_t ip[4] = { 192, 0, 2, 200 };
	const uint8_t want[] = { 0x04, 0x01, 0x1f, 0x90, 192, 0, 2, 200,
	    'a', 'l', 'i', 'c', 'e', 0x00 };
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t n, consumed;

	(void)state;
	n = build4(msg, SOCKS4_CMD_CONNECT, 8080, ip, "alice");
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(msg, want, sizeof(want));
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, 14);
	assert_int_equal(r.cmd, SOCKS4_CMD_CONNECT);
	assert_int_equal(r.is_4a, 0);
	check_ipv4(&r, "192.0.2.200", 8080);
	assert_string_equal(r.userid, "alice");
	assert_string_equal(r.host, "192.0.2.200");
}

static void
test_port_edges(void **state)
{
	const uint8_t ip[4] = { 127, 0, 0, 1 };
	const uint16_t ports[] = { 0, 1, 255, 256, 443, 0x8000, 65535 };
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t i, n, consumed;

	(void)state;
	for (i = 0; i < sizeof(ports) / sizeof(ports[0]); i++) {
		n = build4(msg, SOCKS4_CMD_CONNECT, ports[i], ip, "u");
		assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
		check_ipv4(&r, "127.0.0.1", ports[i]);
	}
}

static void
test_bind_parsed(void **state)
{
	const uint8_t ip[4] = { 198, 51, 100, 7 };
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t n, consumed;

	(void)state;
	n = build4(msg, SOCKS4_CMD_BIND, 21, ip, "ftp");
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, n);
	assert_int_equal(r.cmd, SOCKS4_CMD_BIND);
	check_ipv4(&r, "198.51.100.7", 21);
	assert_string_equal(r.userid, "ftp");
	/* an unknown command is the caller's to refuse, not the codec's */
	n = build4(msg, 0x7f, 21, ip, "");
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(r.cmd, 0x7f);
}

/* 0.0.0.0 is not 4a (the last byte must be non-zero) */
static void
test_dstip_zero_is_not_4a(void **state)
{
	const uint8_t ip[4] = { 0, 0, 0, 0 };
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t n, consumed;

	(void)state;
	n = build(msg, SOCKS4_VERSION, SOCKS4_CMD_CONNECT, 80, ip, "", 0, 1,
	    "example.com", 11, 1);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, 9);
	assert_int_equal(r.is_4a, 0);
	check_ipv4(&r, "0.0.0.0", 80);
	assert_string_equal(r.host, "0.0.0.0");
}

static void
test_wrong_version(void **state)
{
	const uint8_t versions[] = { 0x05, 0x00, 0x03, 'G', 0xff };
	const uint8_t ip[4] = { 10, 0, 0, 1 };
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t i, n, consumed;

	(void)state;
	for (i = 0; i < sizeof(versions); i++) {
		n = build(msg, versions[i], SOCKS4_CMD_CONNECT, 80, ip, "u", 1,
		    1, NULL, 0, 0);
		/* on the first byte already */
		assert_int_equal(parse_exact(msg, 1, &r, &consumed), CODEC_ERR);
		assert_int_equal(consumed, CONSUMED_UNSET);
		assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_ERR);
		assert_int_equal(consumed, CONSUMED_UNSET);
	}
	/* nothing at all yet */
	assert_int_equal(parse_exact(msg, 0, &r, &consumed), CODEC_AGAIN);
}

static void
test_userid_255(void **state)
{
	const uint8_t ip[4] = { 10, 9, 8, 7 };
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	char user[256];
	size_t n, consumed;

	(void)state;
	memset(user, 'u', 255);
	user[0] = 'A';
	user[254] = 'Z';
	user[255] = '\0';
	n = build4(msg, SOCKS4_CMD_CONNECT, 1080, ip, user);
	assert_int_equal(n, 8 + 255 + 1);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, n);
	assert_int_equal(strlen(r.userid), 255);
	assert_string_equal(r.userid, user);
	check_ipv4(&r, "10.9.8.7", 1080);
	check_split_every_byte(msg, n);
}

static void
test_userid_256_no_nul(void **state)
{
	const uint8_t ip[4] = { 10, 9, 8, 7 };
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX + 8];
	char user[300];
	size_t i, n, consumed;

	(void)state;
	memset(user, 'u', sizeof(user));
	n = build(msg, SOCKS4_VERSION, SOCKS4_CMD_CONNECT, 80, ip, user, 256,
	    0, NULL, 0, 0);
	assert_int_equal(n, 264);
	/* 255 bytes of user id and no NUL yet: could still end */
	for (i = 0; i < n; i++)
		if (parse_exact(msg, i, &r, &consumed) != CODEC_AGAIN)
			fail_msg("prefix %zu/%zu: not CODEC_AGAIN", i, n);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_ERR);
	assert_int_equal(consumed, CONSUMED_UNSET);
	/* a NUL after the 256th byte comes too late */
	msg[n] = 0;
	assert_int_equal(parse_exact(msg, n + 1, &r, &consumed), CODEC_ERR);
}

/*
 * SOCKS4a
 */

static void
test_4a_host_name(void **state)
{
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t n, consumed;

	(void)state;
	n = build4a(msg, 443, "bob", "example.com", 11);
	assert_int_equal(n, 8 + 4 + 12);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, n);
	assert_int_equal(r.cmd, SOCKS4_CMD_CONNECT);
	assert_int_equal(r.is_4a, 1);
	assert_int_equal(r.port, 443);
	assert_string_equal(r.userid, "bob");
	assert_string_equal(r.host, "example.com");

	/* any 0.0.0.x with x != 0, and an empty user id */
	n = build(msg, SOCKS4_VERSION, SOCKS4_CMD_CONNECT, 80,
	    (const uint8_t[4]){ 0, 0, 0, 255 }, "", 0, 1, "a.b", 3, 1);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, 13);
	assert_int_equal(r.is_4a, 1);
	assert_string_equal(r.userid, "");
	assert_string_equal(r.host, "a.b");
}

static void
test_4a_ip_literal(void **state)
{
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t n, consumed;

	(void)state;
	n = build4a(msg, 8443, "u", "10.1.2.3", 8);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, n);
	assert_int_equal(r.is_4a, 0);
	check_ipv4(&r, "10.1.2.3", 8443);
	assert_string_equal(r.host, "10.1.2.3");
}

static void
test_4a_host_255(void **state)
{
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	char host[256], user[256];
	size_t n, consumed;

	(void)state;
	make_name(host, 255);
	n = build4a(msg, 80, "", host, 255);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, n);
	assert_int_equal(r.is_4a, 1);
	assert_int_equal(strlen(r.host), 255);
	assert_string_equal(r.host, host);
	check_split_every_byte(msg, n);

	/* the largest request there is: user id and host name both 255 */
	memset(user, 'x', 255);
	user[255] = '\0';
	n = build4a(msg, 65535, user, host, 255);
	assert_int_equal(n, SOCKS4_REQUEST_MAX);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, SOCKS4_REQUEST_MAX);
	assert_string_equal(r.userid, user);
	assert_string_equal(r.host, host);
	assert_int_equal(r.port, 65535);
	check_split_every_byte(msg, n);
}

static void
test_4a_host_256(void **state)
{
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX + 8];
	char host[300];
	size_t i, n, consumed;

	(void)state;
	make_name(host, 256);
	/* 256 bytes and no NUL */
	n = build(msg, SOCKS4_VERSION, SOCKS4_CMD_CONNECT, 80, ip_4a, "u", 1,
	    1, host, 256, 0);
	for (i = 0; i < n; i++)
		if (parse_exact(msg, i, &r, &consumed) != CODEC_AGAIN)
			fail_msg("prefix %zu/%zu: not CODEC_AGAIN", i, n);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_ERR);
	assert_int_equal(consumed, CONSUMED_UNSET);
	/* ... nor with its NUL */
	msg[n] = 0;
	assert_int_equal(parse_exact(msg, n + 1, &r, &consumed), CODEC_ERR);
}

static void
test_4a_empty_host(void **state)
{
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t n, consumed;

	(void)state;
	n = build4a(msg, 80, "u", "", 0);
	assert_int_equal(parse_exact(msg, n, &r, &consumed), CODEC_ERR);
}

static void
test_4a_invalid_host(void **state)
{
	static const struct {
		const char	*host;
		size_t		 len;
	} bad[] = {
		{ "exa mple.com", 12 },
		{ "a/b", 3 },
		{ "a:80", 4 },
		{ "a@b", 3 },
		{ "a%2eb", 5 },
		{ "[::1]", 5 },
		{ "...", 3 },
		{ ".", 1 },
		{ "caf\xc3\xa9", 5 },
		{ "a\tb", 3 },
		{ "a\r\nb", 4 },
		{ "\x7f", 1 },
	};
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t i, n, consumed;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = build4a(msg, 80, "u", bad[i].host, bad[i].len);
		if (parse_exact(msg, n, &r, &consumed) != CODEC_ERR)
			fail_msg("host \"%s\": not CODEC_ERR", bad[i].host);
	}
}

static void
test_split_every_byte(void **state)
{
	const uint8_t ip[4] = { 203, 0, 113, 5 };
	uint8_t msg[SOCKS4_REQUEST_MAX];

	(void)state;
	check_split_every_byte(msg, build4(msg, SOCKS4_CMD_CONNECT, 80, ip,
	    ""));
	check_split_every_byte(msg, build4(msg, SOCKS4_CMD_CONNECT, 80, ip,
	    "alice"));
	check_split_every_byte(msg, build4(msg, SOCKS4_CMD_BIND, 0, ip, "b"));
	check_split_every_byte(msg, build4a(msg, 443, "", "example.com", 11));
	check_split_every_byte(msg, build4a(msg, 443, "alice", "example.com",
	    11));
	check_split_every_byte(msg, build4a(msg, 1, "a", "10.1.2.3", 8));
	check_split_every_byte(msg, build4a(msg, 1, "a", "x", 1));
}

static void
test_trailing_bytes_not_consumed(void **state)
{
	const uint8_t ip[4] = { 203, 0, 113, 5 };
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX + 32];
	size_t n, consumed;

	(void)state;
	n = build4(msg, SOCKS4_CMD_CONNECT, 80, ip, "alice");
	memcpy(msg + n, "GET / HTTP/1.1\r\n", 16);
	assert_int_equal(parse_exact(msg, n + 16, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, n);
	assert_string_equal(r.userid, "alice");
	/* a trailing NUL-terminated string is not taken for a 4a name */
	assert_int_equal(r.is_4a, 0);

	n = build4a(msg, 443, "", "example.com", 11);
	memcpy(msg + n, "\x16\x03\x01\x00\x00", 5);
	assert_int_equal(parse_exact(msg, n + 5, &r, &consumed), CODEC_OK);
	assert_int_equal(consumed, n);
	assert_string_equal(r.host, "example.com");
}

static void
test_copies_nul_terminated(void **state)
{
	const uint8_t ip[4] = { 10, 0, 0, 1 };
	struct socks4_request r;
	uint8_t msg[SOCKS4_REQUEST_MAX];
	size_t n, consumed;

	(void)state;
	n = build4a(msg, 80, "longuserid", "long.example.com", 16);
	assert_int_equal(socks4_parse_request(msg, n, &r, &consumed), CODEC_OK);
	n = build4a(msg, 80, "u", "a.b", 3);
	assert_int_equal(socks4_parse_request(msg, n, &r, &consumed), CODEC_OK);
	assert_string_equal(r.userid, "u");
	assert_string_equal(r.host, "a.b");
	n = build4(msg, SOCKS4_CMD_CONNECT, 80, ip, "");
	assert_int_equal(socks4_parse_request(msg, n, &r, &consumed), CODEC_OK);
	assert_string_equal(r.userid, "");
	assert_string_equal(r.host, "10.0.0.1");
	assert_int_equal(r.is_4a, 0);
}

static void
test_encode_reply(void **state)
{
	uint8_t out[SOCKS4_REPLY_LEN + 2];
	const uint8_t codes[] = { SOCKS4_REP_GRANTED, SOCKS4_REP_REJECTED,
	    SOCKS4_REP_NO_IDENTD, SOCKS4_REP_BAD_USERID };
	uint8_t want[SOCKS4_REPLY_LEN + 2];
	size_t i;

	(void)state;
	assert_int_equal(SOCKS4_REPLY_LEN, 8);
	for (i = 0; i < sizeof(codes); i++) {
		memset(out, 0xee, sizeof(out));
		assert_int_equal(socks4_encode_reply(out, codes[i]), 8);
		memset(want, 0, sizeof(want));
		want[1] = codes[i];
		want[8] = want[9] = 0xee;
		assert_memory_equal(out, want, sizeof(want));
	}
	assert_int_equal(SOCKS4_REP_GRANTED, 0x5a);
	assert_int_equal(SOCKS4_REP_REJECTED, 0x5b);
	assert_int_equal(SOCKS4_REP_NO_IDENTD, 0x5c);
	assert_int_equal(SOCKS4_REP_BAD_USERID, 0x5d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_connect_empty_userid),
		cmocka_unit_test(test_connect_userid),
		cmocka_unit_test(test_port_edges),
		cmocka_unit_test(test_bind_parsed),
		cmocka_unit_test(test_dstip_zero_is_not_4a),
		cmocka_unit_test(test_wrong_version),
		cmocka_unit_test(test_userid_255),
		cmocka_unit_test(test_userid_256_no_nul),
		cmocka_unit_test(test_4a_host_name),
		cmocka_unit_test(test_4a_ip_literal),
		cmocka_unit_test(test_4a_host_255),
		cmocka_unit_test(test_4a_host_256),
		cmocka_unit_test(test_4a_empty_host),
		cmocka_unit_test(test_4a_invalid_host),
		cmocka_unit_test(test_split_every_byte),
		cmocka_unit_test(test_trailing_bytes_not_consumed),
		cmocka_unit_test(test_copies_nul_terminated),
		cmocka_unit_test(test_encode_reply),
	};

	return cmocka_run_group_tests_name("socks4", tests, NULL, NULL);
}
