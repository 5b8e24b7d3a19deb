/*
 * Unit tests for the HTTP/1.x codec (RFC 9110, RFC 9112): proxy/http.c.
 *
 * Heads are parsed from exactly sized heap copies of the bytes, so that
 * ASan reports any read past the length the codec was given.  The split
 * helpers feed ONE http_parser growing prefixes of the same message, as
 * the proxy does with its input buffer, and compare the result with a
 * parse of the whole buffer by a fresh parser.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "http.h"

#define STATUS_UNSET	(-12345)

/* Length of a string literal, which may hold NUL bytes. */
#define S(lit)		(lit), (sizeof(lit) - 1)

enum kind {
	K_REQ = 0,		/* http_parse_request */
	K_RESP,			/* http_parse_response, not to HEAD */
	K_RESP_HEAD,		/* http_parse_response to a HEAD request */
};

static const struct http_limits lim_default = {
	HTTP_HEAD_MAX_DEFAULT, HTTP_LINE_MAX_DEFAULT, HTTP_HEADERS_MAX,
};

static const struct http_limits lim_small = { 256, 64, 4 };

/* An exactly sized heap copy (at least 1 byte allocated for len 0). */
static char *
dup_bytes(const char *buf, size_t len)
{
	char *p;

	p = malloc(len > 0 ? len : 1);
	assert_non_null(p);
	if (len > 0)
		memcpy(p, buf, len);
	return p;
}

static enum codec_result
parse_any(enum kind k, struct http_parser *p, const char *buf, size_t len,
    const struct http_limits *lim, struct http_head *h, int *status)
{
	if (k == K_REQ)
		return http_parse_request(p, buf, len, lim, h, status);
	return http_parse_response(p, buf, len, lim, k == K_RESP_HEAD, h,
	    status);
}

/*
 * One parse of buf[0..len) from an exact heap copy, by a fresh parser.
 * Spans in *h are offsets, good for the caller's copy of the bytes.
 */
static enum codec_result
parse_whole(enum kind k, const char *msg, size_t n,
    const struct http_limits *lim, struct http_head *h, int *status)
{
	struct http_parser p;
	enum codec_result r;
	char *b;

	b = dup_bytes(msg, n);
	http_parser_init(&p);
	memset(h, 0xa5, sizeof(*h));
	*status = STATUS_UNSET;
	r = parse_any(k, &p, b, n, lim, h, status);
	/* the parser does not write to its input */
	assert_memory_equal(b, msg, n);
	free(b);
	return r;
}

static void
check_span(const char *buf, struct http_span s, const char *want)
{
	size_t n = strlen(want);

	if (s.len != n || memcmp(buf + s.off, want, n) != 0)
		fail_msg("span [%u, +%u) is \"%.*s\", want \"%s\"", s.off,
		    s.len, (int)s.len, buf + s.off, want);
}

static void
check_field(const char *buf, const struct http_head *h, uint32_t i,
    const char *name, const char *value)
{
	assert_true(i < h->nfields);
	check_span(buf, h->fields[i].name, name);
	check_span(buf, h->fields[i].value, value);
}

static void
check_span_eq(struct http_span a, struct http_span b)
{
	assert_int_equal(a.off, b.off);
	assert_int_equal(a.len, b.len);
}

/* Two results of parsing the same head: every member the codec sets. */
static void
check_head_equal(const struct http_head *a, const struct http_head *b,
    enum kind k)
{
	uint32_t i;

	if (k == K_REQ) {
		check_span_eq(a->method, b->method);
		check_span_eq(a->target, b->target);
		assert_int_equal(a->form, b->form);
	} else {
		assert_int_equal(a->status, b->status);
		check_span_eq(a->reason, b->reason);
	}
	assert_int_equal(a->version, b->version);
	assert_int_equal(a->nfields, b->nfields);
	for (i = 0; i < a->nfields; i++) {
		check_span_eq(a->fields[i].name, b->fields[i].name);
		check_span_eq(a->fields[i].value, b->fields[i].value);
	}
	assert_int_equal(a->head_len, b->head_len);
	assert_int_equal(a->skipped, b->skipped);
	assert_int_equal(a->framing, b->framing);
	assert_int_equal(a->content_length, b->content_length);
	assert_int_equal(a->flags, b->flags);
	assert_int_equal(a->host_field, b->host_field);
	assert_int_equal(a->upgrade_field, b->upgrade_field);
	assert_int_equal(a->proxy_auth_field, b->proxy_auth_field);
}

/*
 * A valid head msg[0..n), split at every byte: ONE parser is fed growing
 * prefixes (each an exact heap copy), all CODEC_AGAIN, then the whole
 * message: CODEC_OK with the same result as a fresh whole-buffer parse.
 * Then with bytes behind the head (a body, the next message): same head.
 * The whole-buffer result goes to *out when out is not NULL.
 */
static void
check_split(enum kind k, const char *msg, size_t n,
    const struct http_limits *lim, struct http_head *out)
{
	static const char more[] = "HTTP/1.1 200 OK\r\nGET / HTTP/1.1\r\n\r\n";
	static struct http_head whole, inc, trail;
	struct http_parser p;
	enum codec_result r;
	char *b;
	size_t i;
	int status;

	if (parse_whole(k, msg, n, lim, &whole, &status) != CODEC_OK)
		fail_msg("whole head of %zu bytes: not CODEC_OK (status %d)",
		    n, status);
	assert_int_equal(whole.skipped + whole.head_len, n);

	http_parser_init(&p);
	for (i = 0; i < n; i++) {
		b = dup_bytes(msg, i);
		status = STATUS_UNSET;
		r = parse_any(k, &p, b, i, lim, &inc, &status);
		free(b);
		if (r != CODEC_AGAIN)
			fail_msg("prefix of %zu/%zu bytes: result %d (status "
			    "%d), want CODEC_AGAIN", i, n, r, status);
	}
	b = dup_bytes(msg, n);
	status = STATUS_UNSET;
	r = parse_any(k, &p, b, n, lim, &inc, &status);
	free(b);
	if (r != CODEC_OK)
		fail_msg("all %zu bytes fed one at a time: result %d (status "
		    "%d), want CODEC_OK", n, r, status);
	check_head_equal(&whole, &inc, k);

	/* bytes after the head are not part of it */
	b = malloc(n + sizeof(more) - 1);
	assert_non_null(b);
	memcpy(b, msg, n);
	memcpy(b + n, more, sizeof(more) - 1);
	if (parse_whole(k, b, n + sizeof(more) - 1, lim, &trail, &status) !=
	    CODEC_OK)
		fail_msg("head with bytes behind it: not CODEC_OK (status %d)",
		    status);
	check_head_equal(&whole, &trail, k);
	free(b);
	if (out != NULL)
		memcpy(out, &whole, sizeof(whole));
}

/*
 * A head msg[0..n) that must fail with want: whole, it fails with want;
 * fed growing prefixes through ONE parser, it is CODEC_AGAIN until it
 * fails, with want, at the latest when all n bytes are in.  Returns the
 * length of the prefix that failed.
 */
static size_t
check_split_err(enum kind k, const char *msg, size_t n,
    const struct http_limits *lim, int want)
{
	static struct http_head h;
	struct http_parser p;
	enum codec_result r;
	char *b;
	size_t i;
	int status;

	r = parse_whole(k, msg, n, lim, &h, &status);
	if (r != CODEC_ERR || status != want)
		fail_msg("whole \"%.*s\": result %d status %d, want "
		    "CODEC_ERR %d", (int)n, msg, r, status, want);
	http_parser_init(&p);
	for (i = 0; i <= n; i++) {
		b = dup_bytes(msg, i);
		status = STATUS_UNSET;
		r = parse_any(k, &p, b, i, lim, &h, &status);
		free(b);
		if (r == CODEC_AGAIN)
			continue;
		if (r != CODEC_ERR || status != want)
			fail_msg("prefix of %zu/%zu bytes: result %d status "
			    "%d, want CODEC_ERR %d", i, n, r, status, want);
		return i;
	}
	fail_msg("fed byte by byte: never failed");
	return 0;
}

static void
req_err(const char *msg, size_t n, int want)
{
	check_split_err(K_REQ, msg, n, &lim_default, want);
}

static void
resp_err(const char *msg, size_t n)
{
	check_split_err(K_RESP, msg, n, &lim_default, 502);
}

/* Parse a valid request whole (default limits) and split. */
static void
req_ok(const char *msg, size_t n, struct http_head *h)
{
	check_split(K_REQ, msg, n, &lim_default, h);
}

static void
resp_ok(enum kind k, const char *msg, size_t n, struct http_head *h)
{
	check_split(k, msg, n, &lim_default, h);
}

/*
 * Request line (RFC 9112 §3)
 */

static void
test_request_absolute_form(void **state)
{
	static const char msg[] = "GET http://host:8080/p?q HTTP/1.1\r\n"
	    "Host: host:8080\r\n\r\n";
	static struct http_head h;

	(void)state;
	req_ok(S(msg), &h);
	assert_int_equal(h.method.off, 0);
	check_span(msg, h.method, "GET");
	assert_int_equal(h.target.off, 4);
	check_span(msg, h.target, "http://host:8080/p?q");
	assert_int_equal(h.form, HTTP_TARGET_ABSOLUTE);
	assert_int_equal(h.version, 11);
	assert_int_equal(h.head_len, sizeof(msg) - 1);
	assert_int_equal(h.skipped, 0);
	assert_int_equal(h.nfields, 1);
	assert_int_equal(h.host_field, 0);
	check_field(msg, &h, 0, "Host", "host:8080");
	assert_int_equal(h.upgrade_field, -1);
	assert_int_equal(h.proxy_auth_field, -1);
	assert_int_equal(h.framing, HTTP_BODY_NONE);
	assert_int_equal(h.flags, 0);
}

static void
test_request_fields_spans(void **state)
{
	static const char msg[] = "POST /submit HTTP/1.1\r\n"
	    "Host:h\r\n"
	    "X-Empty:\r\n"
	    "X-Spaces: \t a  b \t \r\n"
	    "x-lower:v\r\n"
	    "Content-Length: 3\r\n\r\n";
	static struct http_head h;

	(void)state;
	req_ok(S(msg), &h);
	check_span(msg, h.method, "POST");
	check_span(msg, h.target, "/submit");
	assert_int_equal(h.form, HTTP_TARGET_ORIGIN);
	assert_int_equal(h.nfields, 5);
	check_field(msg, &h, 0, "Host", "h");
	check_field(msg, &h, 1, "X-Empty", "");
	check_field(msg, &h, 2, "X-Spaces", "a  b");
	check_field(msg, &h, 3, "x-lower", "v");
	check_field(msg, &h, 4, "Content-Length", "3");
	assert_int_equal(h.host_field, 0);
	assert_int_equal(h.framing, HTTP_BODY_LENGTH);
	assert_int_equal(h.content_length, 3);
	assert_int_equal(h.flags, HTTP_F_HAS_CL);
	assert_int_equal(h.head_len, sizeof(msg) - 1);
}

static void
test_request_http10_without_host(void **state)
{
	static const char msg[] = "GET / HTTP/1.0\r\n\r\n";
	static struct http_head h;

	(void)state;
	req_ok(S(msg), &h);
	assert_int_equal(h.version, 10);
	assert_int_equal(h.nfields, 0);
	assert_int_equal(h.host_field, -1);
	assert_int_equal(h.head_len, 18);
	assert_int_equal(h.form, HTTP_TARGET_ORIGIN);
}

static void
test_request_http11_without_host(void **state)
{
	(void)state;
	req_err(S("GET / HTTP/1.1\r\n\r\n"), 400);
	req_err(S("GET http://h/ HTTP/1.1\r\nX-Host: h\r\n\r\n"), 400);
	req_err(S("CONNECT h:443 HTTP/1.1\r\n\r\n"), 400);
}

static void
test_request_two_host_fields(void **state)
{
	(void)state;
	req_err(S("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: a\r\nhost: a\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.0\r\nHOST: a\r\nX: y\r\nHost: a\r\n\r\n"),
	    400);
	req_err(S("GET / HTTP/1.1\r\nHost: a\r\nHost:\r\n\r\n"), 400);
}

static void
test_request_connect(void **state)
{
	static const char msg[] = "CONNECT host:443 HTTP/1.1\r\n"
	    "Host: host:443\r\n\r\n";
	static struct http_head h;

	(void)state;
	req_ok(S(msg), &h);
	check_span(msg, h.method, "CONNECT");
	check_span(msg, h.target, "host:443");
	assert_int_equal(h.form, HTTP_TARGET_AUTHORITY);
	assert_int_equal(h.version, 11);
	assert_int_equal(h.framing, HTTP_BODY_NONE);
}

/* RFC 9110 §9.1: methods are case-sensitive; "connect" is not CONNECT */
static void
test_request_connect_lowercase(void **state)
{
	(void)state;
	req_err(S("connect host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n"),
	    400);
	req_err(S("Connect host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n"),
	    400);
	req_err(S("GET host:443 HTTP/1.1\r\nHost: host:443\r\n\r\n"), 400);
}

static void
test_request_origin_and_asterisk(void **state)
{
	static const char m1[] = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char m2[] = "OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char m3[] = "GET /a/b?c=d&e HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char m4[] = "M-._~!#$%&'*+^`|9 /x HTTP/1.1\r\n"
	    "Host: h\r\n\r\n";
	static struct http_head h;

	(void)state;
	req_ok(S(m1), &h);
	assert_int_equal(h.form, HTTP_TARGET_ORIGIN);
	check_span(m1, h.target, "/");
	req_ok(S(m2), &h);
	assert_int_equal(h.form, HTTP_TARGET_ASTERISK);
	check_span(m2, h.method, "OPTIONS");
	check_span(m2, h.target, "*");
	req_ok(S(m3), &h);
	assert_int_equal(h.form, HTTP_TARGET_ORIGIN);
	check_span(m3, h.target, "/a/b?c=d&e");
	/* any token is a method */
	req_ok(S(m4), &h);
	check_span(m4, h.method, "M-._~!#$%&'*+^`|9");
	/* "*x" is no asterisk-form, nor anything else */
	req_err(S("OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void
test_request_version_505(void **state)
{
	(void)state;
	req_err(S("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), 505);
	req_err(S("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), 505);
	req_err(S("GET / HTTP/1.9\r\nHost: h\r\n\r\n"), 505);
	req_err(S("GET / HTTP/3.0\r\nHost: h\r\n\r\n"), 505);
	req_err(S("GET / HTTP/0.9\r\nHost: h\r\n\r\n"), 505);
}

static void
test_request_version_malformed(void **state)
{
	(void)state;
	req_err(S("GET / HTTX/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/01.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / http/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / Http/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/2\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1,1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/a.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET /\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / \r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1 x\r\nHost: h\r\n\r\n"), 400);
}

static void
test_request_two_spaces(void **state)
{
	(void)state;
	req_err(S("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET /  HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1  \r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET  /  HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void
test_request_tab_separators(void **state)
{
	(void)state;
	req_err(S("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET /\tHTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET\t/\tHTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void
test_request_empty_method(void **state)
{
	(void)state;
	req_err(S(" / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("/ HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	/* a method with a non-token byte */
	req_err(S("G(T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("G\x80T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("G\0T / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

static void
test_request_target_bad_bytes(void **state)
{
	(void)state;
	req_err(S("GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET /\xff HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET /\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET /\x1f HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET http://h/\x80 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET \x80 HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
}

/*
 * Where heads end; feeding them piecemeal (RFC 9112 §2.2)
 */

static void
test_request_split_every_byte(void **state)
{
	static const char *const msgs[] = {
		"GET / HTTP/1.0\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: h\r\n\r\n",
		"GET http://host:8080/p?q HTTP/1.1\r\nHost: host:8080\r\n\r\n",
		"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n"
		    "Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n"
		    "User-Agent: curl/8.0\r\n\r\n",
		"POST /x HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n"
		    "Connection: keep-alive, Upgrade\r\nUpgrade: h2c\r\n"
		    "Expect: 100-continue\r\n\r\n",
		"PUT /y HTTP/1.1\r\nHost: h\r\nContent-Length: 12345\r\n"
		    "X-Obs: caf\xc3\xa9\r\nX-E:\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		check_split(K_REQ, msgs[i], strlen(msgs[i]), &lim_default,
		    NULL);
	/* small limits that all of them fit in */
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++)
		check_split(K_REQ, msgs[i], strlen(msgs[i]),
		    &(struct http_limits){ 256, 64, 5 }, NULL);
}

static void
test_request_bytes_after_head(void **state)
{
	static const char msg[] = "POST /a HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 5\r\n\r\nhelloGET /b HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char msg2[] = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n"
	    "\r\n\r\n\r\n";
	static struct http_head h;
	int status;

	(void)state;
	assert_int_equal(parse_whole(K_REQ, S(msg), &lim_default, &h,
	    &status), CODEC_OK);
	assert_int_equal(h.head_len, strstr(msg, "hello") - msg);
	assert_int_equal(h.head_len, 48);
	assert_memory_equal(msg + h.head_len, "hello", 5);
	assert_int_equal(h.framing, HTTP_BODY_LENGTH);
	assert_int_equal(h.content_length, 5);
	/* empty lines after the head are the next message's business */
	assert_int_equal(parse_whole(K_REQ, S(msg2), &lim_default, &h,
	    &status), CODEC_OK);
	assert_int_equal(h.head_len, sizeof(msg2) - 1 - 6);
}

static void
test_request_leading_crlf_whole(void **state)
{
	static const char m1[] = "\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char m2[] = "\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n";
	static const char m3[] = "\r\nGET / HTTP/1.0\r\n\r\n";
	static struct http_head h;
	int status;

	(void)state;
	assert_int_equal(parse_whole(K_REQ, S(m1), &lim_default, &h,
	    &status), CODEC_OK);
	assert_int_equal(h.skipped, 2);
	assert_int_equal(h.head_len, sizeof(m1) - 1 - 2);
	assert_int_equal(h.method.off, 2);
	check_span(m1, h.method, "GET");
	check_span(m1, h.target, "/x");
	check_field(m1, &h, 0, "Host", "h");
	assert_int_equal(h.host_field, 0);

	assert_int_equal(parse_whole(K_REQ, S(m2), &lim_default, &h,
	    &status), CODEC_OK);
	assert_int_equal(h.skipped, 4);
	assert_int_equal(h.head_len, sizeof(m2) - 1 - 4);
	assert_int_equal(h.method.off, 4);
	check_span(m2, h.method, "GET");
	check_span(m2, h.target, "/x");
	check_field(m2, &h, 0, "Host", "h");

	assert_int_equal(parse_whole(K_REQ, S(m3), &lim_default, &h,
	    &status), CODEC_OK);
	assert_int_equal(h.skipped, 2);
	assert_int_equal(h.head_len, 18);
	assert_int_equal(h.version, 10);
}

/*
 * The same heads as above fed byte by byte: the result must not depend on
 * how the bytes arrived.
 */
static void
test_request_leading_crlf_split(void **state)
{
	(void)state;
	check_split(K_REQ, S("\r\nGET / HTTP/1.0\r\n\r\n"), &lim_default,
	    NULL);
	check_split(K_REQ, S("\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n"),
	    &lim_default, NULL);
	check_split(K_REQ, S("\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n"),
	    &lim_default, NULL);
}

/* The same, in the two reads a client's packets are likely to give. */
static void
test_request_leading_crlf_two_reads(void **state)
{
	static const char msg[] = "\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n";
	static struct http_head h;
	struct http_parser p;
	size_t cut = sizeof("\r\nGET /x HTTP/1.1\r\n") - 1;
	int status = STATUS_UNSET;

	(void)state;
	http_parser_init(&p);
	assert_int_equal(http_parse_request(&p, msg, cut, &lim_default, &h,
	    &status), CODEC_AGAIN);
	if (http_parse_request(&p, msg, sizeof(msg) - 1, &lim_default, &h,
	    &status) != CODEC_OK)
		fail_msg("second read: not CODEC_OK (status %d)", status);
	assert_int_equal(h.skipped, 2);
	check_span(msg, h.method, "GET");
	check_span(msg, h.target, "/x");
	assert_int_equal(h.head_len, sizeof(msg) - 1 - 2);
}

static void
test_request_leading_crlf_limits(void **state)
{
	(void)state;
	req_err(S("\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("\r\n\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("\rGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S(" \r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	/* three CRLFs fail as soon as the third is in */
	assert_int_equal(check_split_err(K_REQ, S("\r\n\r\n\r\nGET"),
	    &lim_default, 400), 6);
}

/*
 * Smuggling vectors (RFC 9112 §2.2, §5, §6, §11.2)
 */

static void
test_bare_lf_request_line(void **state)
{
	(void)state;
	req_err(S("GET / HTTP/1.1\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.0\n\r\n"), 400);
	req_err(S("GET / HTTP/1.0\n\n"), 400);
}

static void
test_bare_lf_field_line(void **state)
{
	(void)state;
	req_err(S("GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX: y\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nX: a\nContent-Length: 5"
	    "\r\n\r\n"), 400);
}

static void
test_bare_lf_final_line(void **state)
{
	(void)state;
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\n\n"), 400);
	req_err(S("GET / HTTP/1.0\r\n\n"), 400);
}

static void
test_bare_cr(void **state)
{
	(void)state;
	req_err(S("GET / HTTP/1.1\r\nHost: h\rX: y\r\n\r\n"), 400);
	req_err(S("GET /\r HTTP/1.1\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\r\nHost: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\n\r\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\n\rX"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX: a\rb\r\n\r\n"), 400);
}

static void
test_obs_fold(void **state)
{
	(void)state;
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n\tb\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n"
	    " 0\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\n \r\n\r\n"), 400);
}

static void
test_space_before_colon(void **state)
{
	(void)state;
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n"),
	    400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nContent-Length\t: 5\r\n\r\n"),
	    400);
	req_err(S("POST / HTTP/1.1\r\nHost : h\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding : chunked\r\n\r\n"), 400);
}

static void
test_bad_field_name(void **state)
{
	(void)state;
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\n: x\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\n:\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX(y): z\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX\x80: z\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX\0: z\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX y: z\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\n\"X\": z\r\n\r\n"), 400);
}

static void
test_content_length_malformed(void **state)
{
	static const char *const bad[] = {
		"+5", "-5", "-0", "5 5", "5\t5", "0x5", "0X5", "5, 5", "5,5",
		"5,", ",5", "", "5a", "a", "5.0", "1e3", "\xd9\xa5", "0x",
		"5;", "\"5\"",
	};
	char msg[256];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = snprintf(msg, sizeof(msg), "POST / HTTP/1.1\r\nHost: h\r\n"
		    "Content-Length: %s\r\n\r\n", bad[i]);
		req_err(msg, (size_t)n, 400);
	}
}

static void
test_content_length_twice(void **state)
{
	(void)state;
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
	    "content-length: 6\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nContent-Length: 0\r\nHost: h\r\n"
	    "CONTENT-LENGTH: 0\r\n\r\n"), 400);
}

static void
test_content_length_digits(void **state)
{
	static const char msg18[] = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 999999999999999999\r\n\r\n";
	static const char msg0s[] = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 000000000000000042\r\n\r\n";
	static struct http_head h;

	(void)state;
	req_ok(S(msg18), &h);
	assert_int_equal(h.framing, HTTP_BODY_LENGTH);
	assert_true(h.content_length == 999999999999999999ULL);
	req_ok(S(msg0s), &h);
	assert_int_equal(h.content_length, 42);
	/* 19 digits and more: refused, even when the value is small */
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 1000000000000000000\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 0000000000000000001\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 18446744073709551616\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 99999999999999999999999999999\r\n\r\n"), 400);
}

static void
test_content_length_values(void **state)
{
	static const char m0[] = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 0\r\n\r\n";
	static const char m10[] = "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length:10   \r\n\r\n";
	static struct http_head h;

	(void)state;
	req_ok(S(m0), &h);
	assert_int_equal(h.framing, HTTP_BODY_NONE);
	assert_int_equal(h.content_length, 0);
	assert_int_equal(h.flags, HTTP_F_HAS_CL);
	req_ok(S(m10), &h);
	assert_int_equal(h.framing, HTTP_BODY_LENGTH);
	assert_int_equal(h.content_length, 10);
	assert_int_equal(h.flags, HTTP_F_HAS_CL);
	check_field(m10, &h, 1, "Content-Length", "10");
}

static void
test_te_and_content_length(void **state)
{
	(void)state;
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked"
	    "\r\nContent-Length: 5\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 400);
}

static void
test_te_in_http10(void **state)
{
	(void)state;
	req_err(S("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"),
	    400);
	req_err(S("POST / HTTP/1.0\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"), 400);
}

static void
test_te_chunked_any_case(void **state)
{
	static const char *const vals[] = {
		"chunked", "Chunked", "CHUNKED", "cHuNkEd", "chunked  ",
	};
	static struct http_head h;
	char msg[256];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		n = snprintf(msg, sizeof(msg), "POST / HTTP/1.1\r\nHost: h\r\n"
		    "Transfer-Encoding: %s\r\n\r\n", vals[i]);
		req_ok(msg, (size_t)n, &h);
		assert_int_equal(h.framing, HTTP_BODY_CHUNKED);
		assert_int_equal(h.flags, HTTP_F_HAS_TE);
		assert_int_equal(h.content_length, 0);
	}
}

static void
test_te_codings(void **state)
{
	(void)state;
	/* a coding we do not implement, ending in chunked: 501 */
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: gzip, chunked\r\n\r\n"), 501);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: gzip,chunked\r\n\r\n"), 501);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: deflate ,\tCHUNKED\r\n\r\n"), 501);
	/* not ending in chunked: the length cannot be known, 400 */
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: gzip\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked, gzip\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: identity\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunkedx\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: xchunked\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked,\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: \"chunked\"\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\n"
	    "Transfer-Encoding: chunked;q=1\r\n\r\n"), 400);
}

static void
test_te_empty(void **state)
{
	(void)state;
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n\r\n"),
	    400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:  \t "
	    "\r\n\r\n"), 400);
}

static void
test_te_twice(void **state)
{
	(void)state;
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked"
	    "\r\nTransfer-Encoding: chunked\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip"
	    "\r\ntransfer-encoding: chunked\r\n\r\n"), 400);
	req_err(S("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked"
	    "\r\nTransfer-Encoding:\r\n\r\n"), 400);
}

static void
test_field_value_ctl(void **state)
{
	(void)state;
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX: a\0b\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX: \0\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX: a\x7f\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX: a\x01\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX: a\x0b" "b\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\r\nX: a\x1b[0m\r\n\r\n"), 400);
	req_err(S("GET / HTTP/1.1\r\nHost: h\0\r\n\r\n"), 400);
}

static void
test_field_value_obs_text(void **state)
{
	static const char msg[] = "GET / HTTP/1.1\r\nHost: h\r\n"
	    "X: caf\xc3\xa9 \x80\xff\r\nY:\t\xa0\t\r\n\r\n";
	static struct http_head h;

	(void)state;
	req_ok(S(msg), &h);
	assert_int_equal(h.nfields, 3);
	check_field(msg, &h, 1, "X", "caf\xc3\xa9 \x80\xff");
	check_field(msg, &h, 2, "Y", "\xa0");
}

/*
 * Connection and friends (RFC 9110 §7.6.1, §10.1.1, §11.7.2)
 */

static unsigned
req_flags(const char *fields)
{
	static struct http_head h;
	char msg[1024];
	int n, status;

	n = snprintf(msg, sizeof(msg), "GET / HTTP/1.1\r\nHost: h\r\n%s\r\n",
	    fields);
	assert_true(n > 0 && (size_t)n < sizeof(msg));
	check_split(K_REQ, msg, (size_t)n, &lim_default, NULL);
	assert_int_equal(parse_whole(K_REQ, msg, (size_t)n, &lim_default, &h,
	    &status), CODEC_OK);
	return h.flags;
}

static void
test_flags_connection(void **state)
{
	(void)state;
	assert_int_equal(req_flags("Connection: close\r\n"),
	    HTTP_F_CONN_CLOSE);
	assert_int_equal(req_flags("Connection: CLOSE\r\n"),
	    HTTP_F_CONN_CLOSE);
	assert_int_equal(req_flags("Connection: keep-alive\r\n"),
	    HTTP_F_CONN_KEEPALIVE);
	assert_int_equal(req_flags("Connection: Upgrade\r\n"),
	    HTTP_F_CONN_UPGRADE);
	assert_int_equal(req_flags("Connection: Keep-Alive, Upgrade\r\n"),
	    HTTP_F_CONN_KEEPALIVE | HTTP_F_CONN_UPGRADE);
	assert_int_equal(req_flags("Connection: upgrade ,\tclose , x\r\n"),
	    HTTP_F_CONN_UPGRADE | HTTP_F_CONN_CLOSE);
	assert_int_equal(req_flags("connection:,,close,,\r\n"),
	    HTTP_F_CONN_CLOSE);
	/* two Connection fields add up */
	assert_int_equal(req_flags("Connection: close\r\n"
	    "Connection: Upgrade\r\n"),
	    HTTP_F_CONN_CLOSE | HTTP_F_CONN_UPGRADE);
	/* whole tokens only */
	assert_int_equal(req_flags("Connection: closed, keep-alive2, "
	    "upgrad, x-close, clos e\r\n"), 0);
	assert_int_equal(req_flags("X-Connection: close\r\n"), 0);
	assert_int_equal(req_flags("Connection:\r\n"), 0);
}

static void
test_flags_proxy_connection(void **state)
{
	(void)state;
	assert_int_equal(req_flags("Proxy-Connection: close\r\n"),
	    HTTP_F_PROXY_CONN_CLOSE);
	assert_int_equal(req_flags("proxy-connection: Keep-Alive\r\n"),
	    HTTP_F_PROXY_CONN_KA);
	assert_int_equal(req_flags("Proxy-Connection: upgrade\r\n"), 0);
	assert_int_equal(req_flags("Proxy-Connection: keep-alive\r\n"
	    "Connection: close\r\n"),
	    HTTP_F_PROXY_CONN_KA | HTTP_F_CONN_CLOSE);
}

static void
test_flags_expect(void **state)
{
	(void)state;
	assert_int_equal(req_flags("Expect: 100-continue\r\n"),
	    HTTP_F_EXPECT_CONTINUE);
	assert_int_equal(req_flags("Expect: 100-Continue\r\n"),
	    HTTP_F_EXPECT_CONTINUE);
	assert_int_equal(req_flags("Expect: 100-continuex\r\n"), 0);
	assert_int_equal(req_flags("Expect: 200-ok\r\n"), 0);
	assert_int_equal(req_flags("Expectation: 100-continue\r\n"), 0);
}

static void
test_field_indexes(void **state)
{
	static const char msg[] = "GET http://h/ HTTP/1.1\r\n"
	    "User-Agent: x\r\n"
	    "Proxy-Authorization: Basic YWxpY2U6c2VjcmV0\r\n"
	    "Connection: Upgrade\r\n"
	    "upgrade: websocket\r\n"
	    "HOST: h\r\n\r\n";
	static const char none[] = "GET / HTTP/1.1\r\nHost: h\r\n"
	    "Proxy-Authorization2: x\r\nX-Upgrade: y\r\n\r\n";
	static struct http_head h;

	(void)state;
	req_ok(S(msg), &h);
	assert_int_equal(h.nfields, 5);
	assert_int_equal(h.proxy_auth_field, 1);
	check_field(msg, &h, 1, "Proxy-Authorization",
	    "Basic YWxpY2U6c2VjcmV0");
	assert_int_equal(h.upgrade_field, 3);
	check_field(msg, &h, 3, "upgrade", "websocket");
	assert_int_equal(h.host_field, 4);
	assert_int_equal(h.flags, HTTP_F_CONN_UPGRADE);
	req_ok(S(none), &h);
	assert_int_equal(h.proxy_auth_field, -1);
	assert_int_equal(h.upgrade_field, -1);
	assert_int_equal(h.host_field, 0);
}

/*
 * Limits: 414, 431
 */

/* "GET /aaa... HTTP/1.0" of exactly len bytes (len >= 15), no CRLF */
static size_t
make_request_line(char *buf, size_t len)
{
	memcpy(buf, "GET /", 5);
	memset(buf + 5, 'a', len - 14);
	memcpy(buf + len - 9, " HTTP/1.0", 9);
	return len;
}

static void
test_limit_line_exact(void **state)
{
	char msg[128];
	size_t n;

	(void)state;
	n = make_request_line(msg, lim_small.line_max);
	memcpy(msg + n, "\r\n\r\n", 4);
	check_split(K_REQ, msg, n + 4, &lim_small, NULL);
}

static void
test_limit_line_414(void **state)
{
	static struct http_head h;
	char msg[256];
	size_t n, at;
	int status;

	(void)state;
	/* one byte over */
	n = make_request_line(msg, lim_small.line_max + 1);
	memcpy(msg + n, "\r\n\r\n", 4);
	at = check_split_err(K_REQ, msg, n + 4, &lim_small, 414);
	assert_int_equal(at, lim_small.line_max + 1);
	/* no CRLF yet: 414 as soon as the line is too long */
	memset(msg, 'a', sizeof(msg));
	memcpy(msg, "GET /", 5);
	at = check_split_err(K_REQ, msg, sizeof(msg), &lim_small, 414);
	assert_int_equal(at, lim_small.line_max + 1);
	/* a long field line is no request line */
	n = (size_t)snprintf(msg, sizeof(msg), "GET / HTTP/1.0\r\nX: %0100d"
	    "\r\n\r\n", 0);
	assert_int_equal(parse_whole(K_REQ, msg, n, &lim_small, &h, &status),
	    CODEC_OK);
}

/* A head of exactly n bytes: request line, "X: aaa...", CRLF CRLF. */
static size_t
make_head(char *buf, size_t n)
{
	static const char start[] = "GET / HTTP/1.0\r\nX: ";
	size_t k = sizeof(start) - 1;

	assert_true(n >= k + 5);
	memcpy(buf, start, k);
	memset(buf + k, 'a', n - k - 4);
	memcpy(buf + n - 4, "\r\n\r\n", 4);
	return n;
}

static void
test_limit_head_exact(void **state)
{
	static struct http_head h;
	char msg[512];
	size_t n;

	(void)state;
	n = make_head(msg, lim_small.head_max);
	check_split(K_REQ, msg, n, &lim_small, &h);
	assert_int_equal(h.head_len, lim_small.head_max);
	assert_int_equal(h.nfields, 1);
}

/* 431 as soon as the bytes buffered exceed head_max, before any end. */
static void
test_limit_head_431_early(void **state)
{
	char msg[512];
	size_t n, at;

	(void)state;
	n = make_head(msg, sizeof(msg));
	at = check_split_err(K_REQ, msg, n, &lim_small, 431);
	assert_int_equal(at, lim_small.head_max + 1);
	/* many short field lines */
	for (n = 0; n + 4 <= sizeof(msg); n += 4)
		memcpy(msg + n, "X:\r\n", 4);
	memcpy(msg, "GET / HTTP/1.0\r\n", 16);
	at = check_split_err(K_REQ, msg, sizeof(msg),
	    &(struct http_limits){ 256, 64, 200 }, 431);
	assert_int_equal(at, 257);
}

/*
 * A head one to four bytes over head_max, complete in the buffer: 431,
 * whether it arrives at once or byte by byte.
 */
static void
test_limit_head_just_over(void **state)
{
	char msg[512];
	size_t extra, n;

	(void)state;
	for (extra = 1; extra <= 4; extra++) {
		n = make_head(msg, lim_small.head_max + extra);
		check_split_err(K_REQ, msg, n, &lim_small, 431);
	}
}

static void
test_limit_headers_max(void **state)
{
	static const char ok[] = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n"
	    "B: 2\r\nC: 3\r\n\r\n";
	static const char over[] = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\n"
	    "B: 2\r\nC: 3\r\nD: 4\r\n\r\n";
	static struct http_head h;
	size_t at;

	(void)state;
	check_split(K_REQ, S(ok), &lim_small, &h);
	assert_int_equal(h.nfields, 4);
	check_field(ok, &h, 3, "C", "3");
	/* as soon as the fifth field line is complete */
	at = check_split_err(K_REQ, S(over), &lim_small, 431);
	assert_int_equal(at, sizeof(over) - 1 - 2);
}

/* A request of exactly n bytes, default limits, with fields of 255 'v's. */
static size_t
make_big_head(char *buf, size_t n, uint32_t *nfields)
{
	size_t o, k;

	o = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nHost: h\r\n");
	*nfields = 1;
	while (n - o - 2 > 300) {
		o += (size_t)sprintf(buf + o, "X-%04u: ", *nfields);
		memset(buf + o, 'v', 255);
		o += 255;
		memcpy(buf + o, "\r\n", 2);
		o += 2;
		(*nfields)++;
	}
	k = n - o - 2 - 4;		/* "Y: " + value + CRLF */
	memcpy(buf + o, "Y: ", 3);
	o += 3;
	memset(buf + o, 'w', k - 1);
	o += k - 1;
	memcpy(buf + o, "\r\n\r\n", 4);
	o += 4;
	(*nfields)++;
	assert_int_equal(o, n);
	return n;
}

static void
test_limit_default_64k(void **state)
{
	static struct http_head h;
	struct http_parser p;
	char *buf;
	size_t n = HTTP_HEAD_MAX_DEFAULT, at;
	uint32_t nf;
	int status;

	(void)state;
	buf = malloc(n + 64);
	assert_non_null(buf);
	make_big_head(buf, n, &nf);
	assert_int_equal(parse_whole(K_REQ, buf, n, &lim_default, &h,
	    &status), CODEC_OK);
	assert_int_equal(h.head_len, 65536);
	assert_int_equal(h.nfields, nf);
	assert_true(nf <= HTTP_HEADERS_MAX);
	check_span(buf, h.fields[1].name, "X-0001");

	/* grown by 100 bytes: 431 at byte 65537 */
	make_big_head(buf, n + 64, &nf);
	assert_int_equal(parse_whole(K_REQ, buf, n + 64, &lim_default, &h,
	    &status), CODEC_ERR);
	assert_int_equal(status, 431);
	http_parser_init(&p);
	for (at = 0; at <= n + 64; at++) {
		status = STATUS_UNSET;
		if (http_parse_request(&p, buf, at, &lim_default, &h,
		    &status) != CODEC_AGAIN)
			break;
	}
	assert_int_equal(at, n + 1);
	assert_int_equal(status, 431);
	free(buf);
}

static void
test_limit_default_line(void **state)
{
	char *buf;
	size_t at;

	(void)state;
	buf = malloc(HTTP_LINE_MAX_DEFAULT + 8);
	assert_non_null(buf);
	make_request_line(buf, HTTP_LINE_MAX_DEFAULT);
	memcpy(buf + HTTP_LINE_MAX_DEFAULT, "\r\n\r\n", 4);
	check_split(K_REQ, buf, HTTP_LINE_MAX_DEFAULT + 4, &lim_default, NULL);
	make_request_line(buf, HTTP_LINE_MAX_DEFAULT + 1);
	memcpy(buf + HTTP_LINE_MAX_DEFAULT + 1, "\r\n\r\n", 4);
	at = check_split_err(K_REQ, buf, HTTP_LINE_MAX_DEFAULT + 5,
	    &lim_default, 414);
	assert_int_equal(at, HTTP_LINE_MAX_DEFAULT + 1);
	free(buf);
}

/* HTTP_HEADERS_MAX fields fit; one more is 431 whatever headers_max says */
static void
test_limit_default_headers(void **state)
{
	static struct http_head h;
	char *buf;
	size_t o;
	int i, status;

	(void)state;
	buf = malloc(16384);
	assert_non_null(buf);
	o = (size_t)sprintf(buf, "GET / HTTP/1.1\r\nHost: h\r\n");
	for (i = 1; i < HTTP_HEADERS_MAX; i++)
		o += (size_t)sprintf(buf + o, "X%d: %d\r\n", i, i);
	o += (size_t)sprintf(buf + o, "\r\n");
	check_split(K_REQ, buf, o, &lim_default, &h);
	assert_int_equal(h.nfields, HTTP_HEADERS_MAX);
	check_field(buf, &h, HTTP_HEADERS_MAX - 1, "X255", "255");
	o -= 2;
	o += (size_t)sprintf(buf + o, "Y: y\r\n\r\n");
	check_split_err(K_REQ, buf, o, &lim_default, 431);
	/* a caller asking for more than the array holds gets 431 too */
	assert_int_equal(parse_whole(K_REQ, buf, o,
	    &(struct http_limits){ 65536, 8192, 1000 }, &h, &status),
	    CODEC_ERR);
	assert_int_equal(status, 431);
	free(buf);
}

/* One byte at a time through a 64 KiB head must take linear time. */
static void
test_limit_64k_byte_by_byte_fast(void **state)
{
	static struct http_head h, whole;
	struct http_parser p;
	struct timespec t0, t1;
	enum codec_result r = CODEC_AGAIN;
	char *buf;
	size_t n = HTTP_HEAD_MAX_DEFAULT, i;
	uint32_t nf;
	double secs;
	int status;

	(void)state;
	buf = malloc(n);
	assert_non_null(buf);
	make_big_head(buf, n, &nf);
	assert_int_equal(parse_whole(K_REQ, buf, n, &lim_default, &whole,
	    &status), CODEC_OK);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	http_parser_init(&p);
	for (i = 1; i <= n; i++) {
		r = http_parse_request(&p, buf, i, &lim_default, &h, &status);
		if (r != CODEC_AGAIN)
			break;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(r, CODEC_OK);
	assert_int_equal(i, n);
	check_head_equal(&whole, &h, K_REQ);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (secs >= 1.0)
		fail_msg("65536 one-byte feeds took %.3f s", secs);
	free(buf);
}

/*
 * Responses (RFC 9112 §4, §6.3)
 */

static void
test_response_status_line(void **state)
{
	static const char m1[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
	static const char m2[] = "HTTP/1.0 404 Not  Found \xe9\r\n\r\n";
	static const char m3[] = "HTTP/1.1 599 \r\nServer: x\r\n\r\n";
	static struct http_head h;

	(void)state;
	resp_ok(K_RESP, S(m1), &h);
	assert_int_equal(h.status, 200);
	assert_int_equal(h.version, 11);
	check_span(m1, h.reason, "OK");
	assert_int_equal(h.framing, HTTP_BODY_LENGTH);
	assert_int_equal(h.content_length, 5);
	assert_int_equal(h.head_len, sizeof(m1) - 1);
	check_field(m1, &h, 0, "Content-Length", "5");
	resp_ok(K_RESP, S(m2), &h);
	assert_int_equal(h.status, 404);
	assert_int_equal(h.version, 10);
	check_span(m2, h.reason, "Not  Found \xe9");
	assert_int_equal(h.framing, HTTP_BODY_CLOSE);
	resp_ok(K_RESP, S(m3), &h);
	assert_int_equal(h.status, 599);
	assert_int_equal(h.reason.len, 0);
	assert_int_equal(h.nfields, 1);
}

static void
test_response_empty_reason(void **state)
{
	static const char m1[] = "HTTP/1.1 204 \r\n\r\n";
	static const char m2[] = "HTTP/1.1 204\r\n\r\n";
	static struct http_head h;

	(void)state;
	resp_ok(K_RESP, S(m1), &h);
	assert_int_equal(h.status, 204);
	assert_int_equal(h.reason.len, 0);
	assert_int_equal(h.framing, HTTP_BODY_NONE);
	assert_int_equal(h.head_len, 17);
	resp_ok(K_RESP, S(m2), &h);
	assert_int_equal(h.status, 204);
	assert_int_equal(h.reason.len, 0);
	assert_int_equal(h.head_len, 16);
}

static void
test_response_bad_status(void **state)
{
	int status;
	static struct http_head h;

	(void)state;
	resp_err(S("HTTP/1.1 99 X\r\n\r\n"));
	resp_err(S("HTTP/1.1 099 X\r\n\r\n"));
	resp_err(S("HTTP/1.1 000 X\r\n\r\n"));
	resp_err(S("HTTP/1.1 2000 X\r\n\r\n"));
	resp_err(S("HTTP/1.1 2000\r\n\r\n"));
	resp_err(S("HTTP/1.1 20\r\n\r\n"));
	resp_err(S("HTTP/1.1 20 OK\r\n\r\n"));
	resp_err(S("HTTP/1.1 2x0 OK\r\n\r\n"));
	resp_err(S("HTTP/1.1 200OK\r\n\r\n"));
	resp_err(S("HTTP/1.1  200 OK\r\n\r\n"));
	resp_err(S("HTTP/1.1\t200 OK\r\n\r\n"));
	resp_err(S("HTTP/1.1 -20 OK\r\n\r\n"));
	resp_err(S("HTTP/1.1 +20 OK\r\n\r\n"));
	resp_err(S("HTTP/2 200 OK\r\n\r\n"));
	resp_err(S("HTTP/2.0 200 OK\r\n\r\n"));
	resp_err(S("http/1.1 200 OK\r\n\r\n"));
	resp_err(S("ICY 200 OK\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 O\x01K\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 O\0K\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\x7f\r\n\r\n"));
	resp_err(S("HTTP/1.1\r\n\r\n"));
	/* the status is 502 even for what would be a 4xx in a request */
	assert_int_equal(parse_whole(K_RESP, S("HTTP/1.1 200 OK\r\n"
	    "Content-Length: 1\r\nContent-Length: 1\r\n\r\n"), &lim_small, &h,
	    &status), CODEC_ERR);
	assert_int_equal(status, 502);
	assert_int_equal(parse_whole(K_RESP, S("HTTP/1.1 200 OK\r\n"
	    "X: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "\r\n"), &lim_small, &h, &status), CODEC_ERR);
	assert_int_equal(status, 502);
}

static enum http_framing
resp_framing(enum kind k, const char *msg, struct http_head *h)
{
	resp_ok(k, msg, strlen(msg), h);
	return h->framing;
}

static void
test_response_framing(void **state)
{
	static struct http_head h;

	(void)state;
	/* HEAD: never a body */
	assert_int_equal(resp_framing(K_RESP_HEAD, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 10\r\n\r\n", &h), HTTP_BODY_NONE);
	assert_int_equal(resp_framing(K_RESP_HEAD, "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &h), HTTP_BODY_NONE);
	assert_int_equal(resp_framing(K_RESP_HEAD, "HTTP/1.1 200 OK\r\n\r\n",
	    &h), HTTP_BODY_NONE);
	/* 1xx, 204, 304 */
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 100 Continue\r\n\r\n",
	    &h), HTTP_BODY_NONE);
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 101 Switching "
	    "Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
	    &h), HTTP_BODY_NONE);
	assert_int_equal(h.flags, HTTP_F_CONN_UPGRADE);
	assert_int_equal(h.upgrade_field, 1);
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 199 X\r\n"
	    "Content-Length: 3\r\n\r\n", &h), HTTP_BODY_NONE);
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 204 No Content\r\n"
	    "Content-Length: 10\r\n\r\n", &h), HTTP_BODY_NONE);
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 304 Not Modified\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &h), HTTP_BODY_NONE);
	/* chunked */
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", &h), HTTP_BODY_CHUNKED);
	assert_int_equal(h.flags, HTTP_F_HAS_TE);
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: gzip, Chunked\r\n\r\n", &h),
	    HTTP_BODY_CHUNKED);
	/* Transfer-Encoding wins over Content-Length, which stays flagged */
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n", &h),
	    HTTP_BODY_CHUNKED);
	assert_int_equal(h.flags, HTTP_F_HAS_TE | HTTP_F_HAS_CL);
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n", &h),
	    HTTP_BODY_CHUNKED);
	assert_int_equal(h.flags, HTTP_F_HAS_TE | HTTP_F_HAS_CL);
	/* a coding list not ending in chunked: until the connection ends */
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: gzip\r\n\r\n", &h), HTTP_BODY_CLOSE);
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 200 OK\r\n"
	    "Transfer-Encoding: chunked, gzip\r\nContent-Length: 5\r\n\r\n",
	    &h), HTTP_BODY_CLOSE);
	/* Content-Length */
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 10\r\n\r\n", &h), HTTP_BODY_LENGTH);
	assert_int_equal(h.content_length, 10);
	assert_int_equal(h.flags, HTTP_F_HAS_CL);
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 200 OK\r\n"
	    "Content-Length: 0\r\n\r\n", &h), HTTP_BODY_NONE);
	/* neither */
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 200 OK\r\n\r\n", &h),
	    HTTP_BODY_CLOSE);
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.0 200 OK\r\n"
	    "Connection: close\r\n\r\n", &h), HTTP_BODY_CLOSE);
	assert_int_equal(h.flags, HTTP_F_CONN_CLOSE);
	assert_int_equal(resp_framing(K_RESP, "HTTP/1.1 404 Not Found\r\n\r\n",
	    &h), HTTP_BODY_CLOSE);
}

static void
test_response_smuggling(void **state)
{
	(void)state;
	resp_err(S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Content-Length: 5\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n"
	    "Content-Length: 6\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nContent-Length: 1000000000000000000"
	    "\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nX: a\r\n b\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nX: a\r\n\tb\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nContent-Length : 0\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\n: x\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nX: \0\r\n\r\n"));
	resp_err(S("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n"));
	/* no empty lines before a response */
	resp_err(S("\r\nHTTP/1.1 200 OK\r\n\r\n"));
}

static void
test_response_split_every_byte(void **state)
{
	static const char *const msgs[] = {
		"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n",
		"HTTP/1.1 204\r\n\r\n",
		"HTTP/1.1 204 \r\n\r\n",
		"HTTP/1.0 302 Found\r\nLocation: http://h/\r\n"
		    "Connection: keep-alive\r\n\r\n",
		"HTTP/1.1 407 Proxy Authentication Required\r\n"
		    "Proxy-Authenticate: Basic realm=\"x\"\r\n"
		    "Content-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
		    "Content-Length: 3\r\nX: caf\xc3\xa9\r\n\r\n",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		check_split(K_RESP, msgs[i], strlen(msgs[i]), &lim_default,
		    NULL);
		check_split(K_RESP_HEAD, msgs[i], strlen(msgs[i]),
		    &lim_default, NULL);
	}
}

/*
 * Request targets (RFC 9112 §3.2)
 */

static char url_buf[512];

/*
 * Parse "<method> <target> HTTP/1.0" and split its target.  The request
 * stays in url_buf for the caller's span checks.
 */
static int
url_of(const char *method, const char *target, struct http_url *u)
{
	static struct http_head h;
	int n, status;

	n = snprintf(url_buf, sizeof(url_buf), "%s %s HTTP/1.0\r\n\r\n",
	    method, target);
	assert_true(n > 0 && (size_t)n < sizeof(url_buf));
	if (parse_whole(K_REQ, url_buf, (size_t)n, &lim_default, &h,
	    &status) != CODEC_OK)
		fail_msg("\"%s %s\": head refused with %d", method, target,
		    status);
	memset(u, 0xa5, sizeof(*u));
	return http_parse_url(url_buf, &h, u);
}

static int
url_get(const char *target, struct http_url *u)
{
	return url_of("GET", target, u);
}

static void
check_url_rc(const char *method, const char *target, int want)
{
	struct http_url u;
	int rc;

	rc = url_of(method, target, &u);
	if (rc != want)
		fail_msg("\"%s %s\": %d, want %d", method, target, rc, want);
}

static void
test_url_absolute(void **state)
{
	struct http_url u;

	(void)state;
	assert_int_equal(url_get("http://Host.Example:8080/a/b?c", &u), 0);
	assert_string_equal(u.host, "Host.Example");
	assert_int_equal(u.port, 8080);
	assert_int_equal(u.is_ipv6, 0);
	assert_int_equal(u.default_port, 0);
	check_span(url_buf, u.path, "/a/b?c");

	assert_int_equal(url_get("http://h", &u), 0);
	assert_string_equal(u.host, "h");
	assert_int_equal(u.port, 80);
	assert_int_equal(u.default_port, 1);
	assert_int_equal(u.path.len, 0);

	assert_int_equal(url_get("HTTP://h/", &u), 0);
	assert_string_equal(u.host, "h");
	assert_int_equal(u.port, 80);
	check_span(url_buf, u.path, "/");

	assert_int_equal(url_get("hTtP://h.example?q=1", &u), 0);
	assert_string_equal(u.host, "h.example");
	check_span(url_buf, u.path, "?q=1");

	assert_int_equal(url_get("http://10.0.0.1:65535/x", &u), 0);
	assert_string_equal(u.host, "10.0.0.1");
	assert_int_equal(u.port, 65535);
	assert_int_equal(u.is_ipv6, 0);

	assert_int_equal(url_get("http://my_host-1.example:1/", &u), 0);
	assert_string_equal(u.host, "my_host-1.example");
	assert_int_equal(u.port, 1);

	/* "://" in the path is just path */
	assert_int_equal(url_get("http://h/r?u=http://x/", &u), 0);
	assert_string_equal(u.host, "h");
	check_span(url_buf, u.path, "/r?u=http://x/");
}

static void
test_url_other_schemes(void **state)
{
	(void)state;
	check_url_rc("GET", "https://h/", 501);
	check_url_rc("GET", "HTTPS://h:443/", 501);
	check_url_rc("GET", "ftp://h/", 501);
	check_url_rc("GET", "ws://h/", 501);
	check_url_rc("GET", "httpx://h/", 501);
	check_url_rc("GET", "h-t.t+p://h/", 501);
	/* not a scheme at all */
	check_url_rc("GET", "ht_tp://h/", 400);
	check_url_rc("GET", "a/b://h/", 400);
}

static void
test_url_empty_scheme(void **state)
{
	struct http_url u;

	(void)state;
	assert_int_not_equal(url_get("://h/", &u), 0);
}

static void
test_url_userinfo(void **state)
{
	(void)state;
	check_url_rc("GET", "http://user@h/", 400);
	check_url_rc("GET", "http://user:pw@h/", 400);
	check_url_rc("GET", "http://@h/", 400);
	check_url_rc("GET", "http://h@/", 400);
	check_url_rc("CONNECT", "user@h:443", 400);
}

static void
test_url_ipv6(void **state)
{
	struct http_url u;

	(void)state;
	assert_int_equal(url_get("http://[::1]:81/", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.is_ipv6, 1);
	assert_int_equal(u.port, 81);
	assert_int_equal(u.default_port, 0);
	check_span(url_buf, u.path, "/");

	assert_int_equal(url_get("http://[2001:db8::7]", &u), 0);
	assert_string_equal(u.host, "2001:db8::7");
	assert_int_equal(u.is_ipv6, 1);
	assert_int_equal(u.port, 80);
	assert_int_equal(u.default_port, 1);

	check_url_rc("GET", "http://[::1/", 400);
	check_url_rc("GET", "http://[::1", 400);
	check_url_rc("GET", "http://[]/", 400);
	check_url_rc("GET", "http://[::1]x/", 400);
	check_url_rc("GET", "http://[::1]:/", 0);
	check_url_rc("GET", "http://[10.0.0.1]/", 400);
	check_url_rc("GET", "http://[example.com]/", 400);
	check_url_rc("GET", "http://::1/", 400);
	check_url_rc("GET", "http://[::1]:0/", 400);
}

static void
test_url_port(void **state)
{
	struct http_url u;

	(void)state;
	check_url_rc("GET", "http://h:0/", 400);
	check_url_rc("GET", "http://h:65536/", 400);
	check_url_rc("GET", "http://h:99999/", 400);
	check_url_rc("GET", "http://h:123456/", 400);
	check_url_rc("GET", "http://h:000080/", 400);
	check_url_rc("GET", "http://h:8a/", 400);
	check_url_rc("GET", "http://h:+80/", 400);
	check_url_rc("GET", "http://h:-1/", 400);
	check_url_rc("GET", "http://h:80:81/", 400);

	assert_int_equal(url_get("http://h:/", &u), 0);
	assert_string_equal(u.host, "h");
	assert_int_equal(u.port, 80);
	assert_int_equal(u.default_port, 1);
	check_span(url_buf, u.path, "/");

	assert_int_equal(url_get("http://h:00080/", &u), 0);
	assert_int_equal(u.port, 80);
	assert_int_equal(u.default_port, 0);
}

static void
test_url_fragment(void **state)
{
	(void)state;
	check_url_rc("GET", "http://h/#frag", 400);
	check_url_rc("GET", "http://h#frag", 400);
	check_url_rc("GET", "http://h/a?b#c", 400);
	check_url_rc("GET", "http://h/#", 400);
}

static void
test_url_bad_host(void **state)
{
	char target[300];

	(void)state;
	check_url_rc("GET", "http://a%2eb/", 400);
	check_url_rc("GET", "http:///x", 400);
	check_url_rc("GET", "http://", 400);
	check_url_rc("GET", "http://:80/", 400);
	check_url_rc("GET", "http://./", 400);
	check_url_rc("GET", "http://../", 400);
	check_url_rc("GET", "http://a\\b/", 400);
	check_url_rc("GET", "http://a,b/", 400);
	check_url_rc("GET", "http://a;b/", 400);
	check_url_rc("GET", "http://a\"b/", 400);
	check_url_rc("GET", "http://a*b/", 400);
	/* 253 bytes is a name; 254 is not */
	memcpy(target, "http://", 7);
	memset(target + 7, 'a', 253);
	strcpy(target + 7 + 253, "/");
	check_url_rc("GET", target, 0);
	memset(target + 7, 'a', 254);
	strcpy(target + 7 + 254, "/");
	check_url_rc("GET", target, 400);
}

static void
test_url_authority(void **state)
{
	struct http_url u;

	(void)state;
	assert_int_equal(url_of("CONNECT", "h:443", &u), 0);
	assert_string_equal(u.host, "h");
	assert_int_equal(u.port, 443);
	assert_int_equal(u.default_port, 0);
	assert_int_equal(u.is_ipv6, 0);

	assert_int_equal(url_of("CONNECT", "[::1]:443", &u), 0);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.is_ipv6, 1);
	assert_int_equal(u.port, 443);

	assert_int_equal(url_of("CONNECT", "Example.COM:65535", &u), 0);
	assert_string_equal(u.host, "Example.COM");
	assert_int_equal(u.port, 65535);

	check_url_rc("CONNECT", "h", 400);
	check_url_rc("CONNECT", "h:", 400);
	check_url_rc("CONNECT", "[::1]", 400);
	check_url_rc("CONNECT", "[::1]:", 400);
	check_url_rc("CONNECT", "h:0", 400);
	check_url_rc("CONNECT", "h:65536", 400);
	check_url_rc("CONNECT", ":443", 400);
	check_url_rc("CONNECT", "h:443/", 400);
	check_url_rc("CONNECT", "http://h:443/", 400);
	check_url_rc("CONNECT", "/", 400);
	check_url_rc("CONNECT", "*", 400);
}

static void
test_url_other_forms(void **state)
{
	(void)state;
	check_url_rc("GET", "/", 400);
	check_url_rc("GET", "/x?http://h/", 400);
	check_url_rc("OPTIONS", "*", 400);
}

/*
 * Field helpers
 */

static void
test_list_has(void **state)
{
	static const char buf[] = "xclose, Keep-Alive ,\tUPGRADE\t, , a b,x";
	struct http_span all = { 0, sizeof(buf) - 1 };

	(void)state;
	assert_int_equal(http_list_has(buf, all, "keep-alive"), 1);
	assert_int_equal(http_list_has(buf, all, "upgrade"), 1);
	assert_int_equal(http_list_has(buf, all, "Upgrade"), 1);
	assert_int_equal(http_list_has(buf, all, "xclose"), 1);
	assert_int_equal(http_list_has(buf, all, "a b"), 1);
	assert_int_equal(http_list_has(buf, all, "x"), 1);
	assert_int_equal(http_list_has(buf, all, "close"), 0);
	assert_int_equal(http_list_has(buf, all, "keep"), 0);
	assert_int_equal(http_list_has(buf, all, "alive"), 0);
	assert_int_equal(http_list_has(buf, all, "a"), 0);
	assert_int_equal(http_list_has(buf, all, "keep-alive ,"), 0);
	assert_int_equal(http_list_has(buf, all, ""), 0);
	/* only the span counts */
	assert_int_equal(http_list_has(buf, (struct http_span){ 8, 10 },
	    "keep-alive"), 1);
	assert_int_equal(http_list_has(buf, (struct http_span){ 8, 9 },
	    "keep-alive"), 0);
	assert_int_equal(http_list_has(buf, (struct http_span){ 1, 5 },
	    "close"), 1);
	assert_int_equal(http_list_has(buf, (struct http_span){ 0, 5 },
	    "xclos"), 1);
	assert_int_equal(http_list_has(buf, (struct http_span){ 0, 0 },
	    "xclose"), 0);
	assert_int_equal(http_list_has(",,, ,\t", (struct http_span){ 0, 6 },
	    "x"), 0);
}

static void
test_span_eq_and_field_is(void **state)
{
	static const char buf[] = "Content-LengthX: 5";
	struct http_field f = { { 0, 14 }, { 17, 1 } };

	(void)state;
	assert_int_equal(http_span_eq(buf, f.name, "content-length"), 1);
	assert_int_equal(http_span_eq(buf, f.name, "CONTENT-LENGTH"), 1);
	assert_int_equal(http_span_eq(buf, f.name, "content-lengthx"), 0);
	assert_int_equal(http_span_eq(buf, f.name, "content-lengt"), 0);
	assert_int_equal(http_span_eq(buf, f.name, ""), 0);
	assert_int_equal(http_span_eq(buf, (struct http_span){ 3, 0 }, ""),
	    1);
	assert_int_equal(http_span_eq(buf, f.value, "5"), 1);
	assert_int_equal(http_field_is(buf, &f, "Content-Length"), 1);
	assert_int_equal(http_field_is(buf, &f, "content-length"), 1);
	assert_int_equal(http_field_is(buf, &f, "Content-LengthX"), 0);
	assert_int_equal(http_field_is(buf, &f, "Content"), 0);
	f.name.len = 15;
	assert_int_equal(http_field_is(buf, &f, "Content-LengthX"), 1);
}

static void
test_hop_by_hop(void **state)
{
	static const char msg[] = "POST http://h/ HTTP/1.1\r\n"
	    "Host: h\r\n"				/* 0 */
	    "Connection: keep-alive, X-Foo\r\n"	/* 1 */
	    "X-Foo: 1\r\n"				/* 2 */
	    "x-foo: 2\r\n"				/* 3 */
	    "X-Foobar: 3\r\n"			/* 4 */
	    "Keep-Alive: timeout=5\r\n"		/* 5 */
	    "Proxy-Connection: keep-alive\r\n"	/* 6 */
	    "Proxy-Authorization: Basic YQ==\r\n"	/* 7 */
	    "Proxy-Authenticate: Basic\r\n"		/* 8 */
	    "TE: trailers\r\n"			/* 9 */
	    "Trailer: X-T\r\n"			/* 10 */
	    "Upgrade: h2c\r\n"			/* 11 */
	    "Transfer-Encoding: chunked\r\n"		/* 12 */
	    "User-Agent: t\r\n"			/* 13 */
	    "Authorization: Basic YQ==\r\n"		/* 14 */
	    "Connection: X-Bar\r\n"			/* 15 */
	    "X-Bar: 4\r\n"				/* 16 */
	    "Close: 5\r\n"				/* 17 */
	    "\r\n";
	static const int want[] = { 0, 1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 0, 0,
	    0, 1, 1, 0 };
	static const char msg2[] = "PUT / HTTP/1.1\r\nHost: h\r\n"
	    "Content-Length: 1\r\nConnection: close\r\nClose: x\r\n\r\n";
	static struct http_head h;
	uint32_t i;

	(void)state;
	req_ok(S(msg), &h);
	assert_int_equal(h.nfields, sizeof(want) / sizeof(want[0]));
	for (i = 0; i < h.nfields; i++)
		if (http_is_hop_by_hop(msg, &h, &h.fields[i]) != want[i])
			fail_msg("field %u \"%.*s\": %d, want %d", i,
			    (int)h.fields[i].name.len,
			    msg + h.fields[i].name.off, !want[i], want[i]);
	req_ok(S(msg2), &h);
	assert_int_equal(http_is_hop_by_hop(msg2, &h, &h.fields[0]), 0);
	assert_int_equal(http_is_hop_by_hop(msg2, &h, &h.fields[1]), 0);
	assert_int_equal(http_is_hop_by_hop(msg2, &h, &h.fields[2]), 1);
	/* a field that Connection names is hop-by-hop, whatever its name */
	assert_int_equal(http_is_hop_by_hop(msg2, &h, &h.fields[3]), 1);
}

/* RFC 9110 §7.6.1: every field Connection names, however long its name. */
static void
test_hop_by_hop_long_name(void **state)
{
	static struct http_head h;
	char name[128], msg[512];
	size_t len;
	int n;

	(void)state;
	for (len = 60; len <= 100; len++) {
		memset(name, 'x', len);
		memcpy(name, "X-", 2);
		name[len] = '\0';
		n = snprintf(msg, sizeof(msg), "GET / HTTP/1.1\r\nHost: h\r\n"
		    "Connection: %s\r\n%s: 1\r\n\r\n", name, name);
		req_ok(msg, (size_t)n, &h);
		assert_int_equal(h.nfields, 3);
		if (http_is_hop_by_hop(msg, &h, &h.fields[2]) != 1)
			fail_msg("a field of a %zu byte name that Connection "
			    "names is forwarded", len);
	}
}

/*
 * A client must not be able to have the framing fields dropped by naming
 * them in Connection: the proxy forwards the body with the framing it
 * parsed, so an upstream that no longer sees Content-Length or
 * Transfer-Encoding reads the body as the next request (request
 * smuggling).  Either the head is refused, or those fields are not
 * hop-by-hop.
 */
static void
check_framing_kept(enum kind k, const char *msg, const char *field)
{
	static struct http_head h;
	uint32_t i;
	int status, found = 0;

	if (parse_whole(k, msg, strlen(msg), &lim_default, &h, &status) ==
	    CODEC_ERR)
		return;
	for (i = 0; i < h.nfields; i++) {
		if (!http_field_is(msg, &h.fields[i], field))
			continue;
		found = 1;
		if (http_is_hop_by_hop(msg, &h, &h.fields[i]) != 0)
			fail_msg("\"%s\" is dropped as hop-by-hop when "
			    "Connection names it", field);
	}
	assert_true(found);
}

static void
test_hop_by_hop_not_framing(void **state)
{
	(void)state;
	check_framing_kept(K_REQ, "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Connection: Content-Length\r\nContent-Length: 5\r\n\r\n",
	    "content-length");
	check_framing_kept(K_REQ, "POST / HTTP/1.1\r\nHost: h\r\n"
	    "Connection: keep-alive, transfer-encoding\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", "transfer-encoding");
	check_framing_kept(K_RESP, "HTTP/1.1 200 OK\r\n"
	    "Connection: Content-Length\r\nContent-Length: 5\r\n\r\n",
	    "content-length");
	check_framing_kept(K_RESP, "HTTP/1.1 200 OK\r\n"
	    "Connection: Transfer-Encoding\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n", "transfer-encoding");
}

/*
 * Chunked framing (RFC 9112 §7.1)
 */

struct chunk_run {
	enum http_chunk_state state;
	size_t		consumed;	/* over all steps */
	char		data[16384];	/* data spans, concatenated */
	size_t		dlen;
	size_t		spans[64];	/* length of each data span */
	size_t		nspans;
	size_t		steps;
};

/*
 * Feed msg[0..n) to one http_chunked as a stream: first `first` bytes,
 * then pieces of `piece` bytes.  Unconsumed bytes are fed again with the
 * next piece, and every step gets an exact heap copy of what is pending.
 */
static void
chunk_feed(const char *msg, size_t n, size_t first, size_t piece,
    uint32_t trailer_max, struct chunk_run *res)
{
	struct http_chunked c;
	char *pend, *b;
	size_t plen = 0, pos = 0, take, used, doff, dlen;

	memset(res, 0, sizeof(*res));
	http_chunked_init(&c, trailer_max);
	assert_int_equal(c.state, HTTP_CHUNK_SIZE);
	pend = malloc(n + 1);
	assert_non_null(pend);
	take = first;
	for (;;) {
		if (take > n - pos)
			take = n - pos;
		memcpy(pend + plen, msg + pos, take);
		plen += take;
		pos += take;
		take = piece;
		while (plen > 0 && c.state != HTTP_CHUNK_DONE &&
		    c.state != HTTP_CHUNK_ERROR) {
			b = dup_bytes(pend, plen);
			doff = dlen = (size_t)0xdeadbeef;
			used = http_chunked_step(&c, b, plen, &doff, &dlen);
			res->steps++;
			assert_true(used <= plen);
			if (dlen > 0) {
				assert_true(doff + dlen <= used);
				assert_true(res->dlen + dlen <=
				    sizeof(res->data));
				memcpy(res->data + res->dlen, b + doff, dlen);
				res->dlen += dlen;
				if (res->nspans < 64)
					res->spans[res->nspans++] = dlen;
			} else
				assert_int_equal(dlen, 0);
			free(b);
			memmove(pend, pend + used, plen - used);
			plen -= used;
			res->consumed += used;
			if (used == 0)
				break;
		}
		if (c.state == HTTP_CHUNK_DONE || c.state == HTTP_CHUNK_ERROR ||
		    pos == n)
			break;
	}
	res->state = c.state;
	free(pend);
}

/*
 * The body msg[0..n) decodes to want with the message ending after `end`
 * bytes (DONE), the same way whole, byte by byte, and split at every byte.
 */
static void
check_chunked(const char *msg, size_t n, const char *want, size_t wlen,
    size_t end)
{
	static struct chunk_run r;
	size_t k;

	chunk_feed(msg, n, n, n, 1024, &r);
	if (r.state != HTTP_CHUNK_DONE)
		fail_msg("\"%.*s\": state %d, want DONE", (int)n, msg, r.state);
	assert_int_equal(r.consumed, end);
	assert_int_equal(r.dlen, wlen);
	assert_memory_equal(r.data, want, wlen);
	for (k = 0; k <= n; k++) {
		chunk_feed(msg, n, k, n, 1024, &r);
		if (r.state != HTTP_CHUNK_DONE || r.consumed != end ||
		    r.dlen != wlen || memcmp(r.data, want, wlen) != 0)
			fail_msg("split at %zu: state %d consumed %zu data "
			    "%zu", k, r.state, r.consumed, r.dlen);
	}
	chunk_feed(msg, n, 1, 1, 1024, &r);
	assert_int_equal(r.state, HTTP_CHUNK_DONE);
	assert_int_equal(r.consumed, end);
	assert_int_equal(r.dlen, wlen);
	assert_memory_equal(r.data, want, wlen);
}

/* The body fails: whole, split at every byte, and byte by byte. */
static void
check_chunked_err_max(const char *msg, size_t n, uint32_t trailer_max)
{
	static struct chunk_run r;
	size_t k;

	chunk_feed(msg, n, n, n, trailer_max, &r);
	if (r.state != HTTP_CHUNK_ERROR)
		fail_msg("\"%.*s\": state %d, want ERROR", (int)n, msg,
		    r.state);
	for (k = 0; k <= n; k++) {
		chunk_feed(msg, n, k, n, trailer_max, &r);
		if (r.state != HTTP_CHUNK_ERROR)
			fail_msg("\"%.*s\" split at %zu: state %d, want ERROR",
			    (int)n, msg, k, r.state);
	}
	chunk_feed(msg, n, 1, 1, trailer_max, &r);
	if (r.state != HTTP_CHUNK_ERROR)
		fail_msg("\"%.*s\" byte by byte: state %d, want ERROR", (int)n,
		    msg, r.state);
}

static void
check_chunked_err(const char *msg, size_t n)
{
	check_chunked_err_max(msg, n, 1024);
}

static void
test_chunked_simple(void **state)
{
	static const char msg[] = "5\r\nhello\r\n0\r\n\r\n";
	struct http_chunked c;
	size_t used, doff, dlen;

	(void)state;
	http_chunked_init(&c, 1024);
	used = http_chunked_step(&c, msg, sizeof(msg) - 1, &doff, &dlen);
	assert_int_equal(used, 8);
	assert_int_equal(doff, 3);
	assert_int_equal(dlen, 5);
	assert_memory_equal(msg + doff, "hello", 5);
	used += http_chunked_step(&c, msg + used, sizeof(msg) - 1 - used,
	    &doff, &dlen);
	assert_int_equal(used, sizeof(msg) - 1);
	assert_int_equal(dlen, 0);
	assert_int_equal(c.state, HTTP_CHUNK_DONE);
	check_chunked(S(msg), "hello", 5, 15);
}

static void
test_chunked_trailing_bytes(void **state)
{
	static const char msg[] = "5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
	struct http_chunked c;
	size_t used, doff, dlen;

	(void)state;
	check_chunked(S(msg), "hello", 5, 15);
	/* once DONE, nothing more is consumed */
	http_chunked_init(&c, 1024);
	used = http_chunked_step(&c, msg, sizeof(msg) - 1, &doff, &dlen);
	used += http_chunked_step(&c, msg + used, sizeof(msg) - 1 - used,
	    &doff, &dlen);
	assert_int_equal(used, 15);
	assert_int_equal(c.state, HTTP_CHUNK_DONE);
	assert_int_equal(http_chunked_step(&c, msg + used,
	    sizeof(msg) - 1 - used, &doff, &dlen), 0);
	assert_int_equal(dlen, 0);
	assert_int_equal(c.state, HTTP_CHUNK_DONE);
}

static void
test_chunked_extensions(void **state)
{
	(void)state;
	check_chunked(S("5;name=val\r\nhello\r\n0\r\n\r\n"), "hello", 5, 24);
	check_chunked(S("5 ;x\r\nhello\r\n0\r\n\r\n"), "hello", 5, 18);
	check_chunked(S("5\t;x\r\nhello\r\n0\r\n\r\n"), "hello", 5, 18);
	check_chunked(S("5;a=\"b c\";d\r\nhello\r\n0;last\r\n\r\n"),
	    "hello", 5, 30);
	check_chunked(S("5;x=\xff\r\nhello\r\n0\r\n\r\n"), "hello", 5, 19);
}

static void
test_chunked_hex(void **state)
{
	char msg[128], want[64];

	(void)state;
	memset(want, 'd', sizeof(want));
	memcpy(msg, "a\r\ndddddddddd\r\n0\r\n\r\n", 20);
	check_chunked(msg, 20, want, 10, 20);
	memcpy(msg, "A\r\ndddddddddd\r\n0\r\n\r\n", 20);
	check_chunked(msg, 20, want, 10, 20);
	/* 0x1f and 0x1F: 31 bytes */
	snprintf(msg, sizeof(msg), "1f\r\n%.31s\r\n1F\r\n%.31s\r\n0\r\n\r\n",
	    want, want);
	check_chunked(msg, strlen(msg), want, 62, strlen(msg));
	/* leading zeros */
	check_chunked(S("0005\r\nhello\r\n000\r\n\r\n"), "hello", 5, 20);
	check_chunked(S("0000000000000005\r\nhello\r\n0\r\n\r\n"), "hello",
	    5, 30);
	check_chunked(S("0000000000000000\r\n\r\n"), "", 0, 20);
}

static void
test_chunked_sixteen_digits(void **state)
{
	static const char big[] = "FFFFFFFFFFFFFFFF\r\nxyz";
	struct http_chunked c;
	size_t used, doff, dlen;

	(void)state;
	check_chunked(S("000000000000000A\r\n0123456789\r\n0\r\n\r\n"),
	    "0123456789", 10, 35);
	/* the largest size there is */
	http_chunked_init(&c, 0);
	used = http_chunked_step(&c, big, sizeof(big) - 1, &doff, &dlen);
	assert_int_equal(c.state, HTTP_CHUNK_DATA);
	assert_int_equal(used, sizeof(big) - 1);
	assert_int_equal(doff, 18);
	assert_int_equal(dlen, 3);
	assert_true(c.remaining == UINT64_MAX - 3);
	/* 17 digits: refused, even with a small value */
	check_chunked_err(S("00000000000000005\r\nhello\r\n0\r\n\r\n"));
	check_chunked_err(S("10000000000000000\r\n"));
	check_chunked_err(S("FFFFFFFFFFFFFFFFF\r\n"));
}

static void
test_chunked_no_digits(void **state)
{
	(void)state;
	check_chunked_err(S(";x\r\nhello\r\n0\r\n\r\n"));
	check_chunked_err(S("\r\nhello\r\n0\r\n\r\n"));
	check_chunked_err(S(" 5\r\nhello\r\n0\r\n\r\n"));
	check_chunked_err(S("\t5\r\n"));
	check_chunked_err(S("x\r\n"));
	check_chunked_err(S("g\r\n"));
	check_chunked_err(S("-5\r\n"));
	check_chunked_err(S("+5\r\n"));
}

static void
test_chunked_0x_prefix(void **state)
{
	(void)state;
	check_chunked_err(S("0x5\r\nhello\r\n0\r\n\r\n"));
	check_chunked_err(S("0X5\r\nhello\r\n0\r\n\r\n"));
	check_chunked_err(S("5h\r\nhello\r\n0\r\n\r\n"));
	check_chunked_err(S("5,5\r\nhello\r\n0\r\n\r\n"));
}

/* RFC 9112 §7.1.1: after the size, only BWS ";" ext or CRLF */
static void
test_chunked_garbage_after_size(void **state)
{
	(void)state;
	check_chunked_err(S("5 6\r\nhello\r\n0\r\n\r\n"));
	check_chunked_err(S("5\tz\r\nhello\r\n0\r\n\r\n"));
}

static void
test_chunked_missing_crlf_after_data(void **state)
{
	(void)state;
	check_chunked_err(S("5\r\nhelloX\r\n0\r\n\r\n"));
	check_chunked_err(S("5\r\nhello\rX0\r\n\r\n"));
	check_chunked_err(S("5\r\nhello\n0\r\n\r\n"));
	check_chunked_err(S("5\r\nhello0\r\n\r\n"));
	check_chunked_err(S("5\r\nhello\r\r\n0\r\n\r\n"));
	/* a size too small for the data that follows */
	check_chunked_err(S("4\r\nhello\r\n0\r\n\r\n"));
}

static void
test_chunked_bare_lf(void **state)
{
	(void)state;
	check_chunked_err(S("5\nhello\r\n0\r\n\r\n"));
	check_chunked_err(S("5;x\nhello\r\n0\r\n\r\n"));
	check_chunked_err(S("5\r\r\nhello\r\n0\r\n\r\n"));
	check_chunked_err(S("5\rhello\r\n0\r\n\r\n"));
	check_chunked_err(S("5\r\nhello\r\n0\n\r\n"));
	check_chunked_err(S("5\r\nhello\r\n0\r\n\n"));
	check_chunked_err(S("5\r\nhello\r\n0\r\n\r\r"));
	check_chunked_err(S("5\r\nhello\r\n0\r\nX: 1\n\r\n"));
	check_chunked_err(S("5\r\nhello\r\n0\r\nX: 1\r\n\n"));
	check_chunked_err(S("5;a\0b\r\nhello\r\n0\r\n\r\n"));
}

static void
test_chunked_trailers(void **state)
{
	static const char m1[] = "0\r\nX-T: 1\r\n\r\n";
	static const char m2[] = "3\r\nabc\r\n0\r\nX-T: 1\r\nY:\r\n"
	    "Z: a\tb \xff\r\n\r\nNEXT";

	(void)state;
	check_chunked(S(m1), "", 0, sizeof(m1) - 1);
	check_chunked(S(m2), "abc", 3, sizeof(m2) - 1 - 4);
}

static void
test_chunked_trailer_bad(void **state)
{
	(void)state;
	check_chunked_err(S("0\r\n X-T: 1\r\n\r\n"));
	check_chunked_err(S("0\r\n\tX-T: 1\r\n\r\n"));
	check_chunked_err(S("0\r\nX-T: 1\r\n continued\r\n\r\n"));
	check_chunked_err(S("0\r\n: 1\r\n\r\n"));
	check_chunked_err(S("0\r\n(X): 1\r\n\r\n"));
	check_chunked_err(S("0\r\nX-T: a\0b\r\n\r\n"));
	check_chunked_err(S("0\r\nX-T: a\x7f\r\n\r\n"));
	check_chunked_err(S("0\r\nX-T: a\x01\r\n\r\n"));
	check_chunked_err(S("0\r\nX-T: a\rb\r\n\r\n"));
}

static void
test_chunked_trailer_max(void **state)
{
	static struct chunk_run r;
	char msg[512];
	size_t n;

	(void)state;
	n = (size_t)snprintf(msg, sizeof(msg), "0\r\nX-T: %0100d\r\n\r\n", 7);
	check_chunked_err_max(msg, n, 64);
	check_chunked_err_max(msg, n, 100);
	chunk_feed(msg, n, n, n, 200, &r);
	assert_int_equal(r.state, HTTP_CHUNK_DONE);
	assert_int_equal(r.consumed, n);
	/* many small trailer lines add up */
	n = 3;
	memcpy(msg, "0\r\n", 3);
	while (n < 400) {
		memcpy(msg + n, "A: b\r\n", 6);
		n += 6;
	}
	memcpy(msg + n, "\r\n", 2);
	n += 2;
	check_chunked_err_max(msg, n, 128);
}

/* No trailers at all is within any limit, 0 included. */
static void
test_chunked_trailer_max_zero(void **state)
{
	static struct chunk_run r;

	(void)state;
	chunk_feed(S("5\r\nhello\r\n0\r\n\r\n"), 15, 15, 0, &r);
	assert_int_equal(r.state, HTTP_CHUNK_DONE);
	assert_int_equal(r.consumed, 15);
	assert_int_equal(r.dlen, 5);
}

static void
test_chunked_ext_max(void **state)
{
	static struct chunk_run r;
	static char msg[6000];
	size_t n;

	(void)state;
	/* 4000 bytes of extensions are fine */
	msg[0] = '5';
	msg[1] = ';';
	memset(msg + 2, 'e', 3999);
	n = 4001;
	memcpy(msg + n, "\r\nhello\r\n0\r\n\r\n", 14);
	n += 14;
	check_chunked(msg, n, "hello", 5, n);
	/* more than 4096: refused before the line ends */
	memset(msg + 2, 'e', 5000);
	n = 5002;
	memcpy(msg + n, "\r\nhello\r\n0\r\n\r\n", 14);
	n += 14;
	check_chunked_err(msg, n);
	check_chunked_err(msg, 5002);
	/* the limit is per size line, not per body: 105 chunks of 48 */
	n = 0;
	while (n < 5000)
		n += (size_t)snprintf(msg + n, sizeof(msg) - n,
		    "1;%041d\r\nx\r\n", 0);
	assert_int_equal(n, 105 * 48);
	memcpy(msg + n, "0\r\n\r\n", 5);
	n += 5;
	chunk_feed(msg, n, n, n, 0xffffffff, &r);
	assert_int_equal(r.state, HTTP_CHUNK_DONE);
	assert_int_equal(r.consumed, n);
	assert_int_equal(r.dlen, 105);
}

static void
test_chunked_several_chunks(void **state)
{
	static const char msg[] = "3\r\nabc\r\n2\r\nde\r\n1;x\r\nf\r\n"
	    "0\r\n\r\n";
	static struct chunk_run r;
	struct http_chunked c;
	size_t used = 0, doff, dlen;

	(void)state;
	http_chunked_init(&c, 1024);
	used += http_chunked_step(&c, msg + used, sizeof(msg) - 1 - used,
	    &doff, &dlen);
	assert_int_equal(dlen, 3);
	assert_memory_equal(msg + doff, "abc", 3);
	assert_int_equal(used, 6);
	used += http_chunked_step(&c, msg + used, sizeof(msg) - 1 - used,
	    &doff, &dlen);
	assert_int_equal(dlen, 2);
	assert_memory_equal(msg + 6 + doff, "de", 2);
	assert_int_equal(used, 13);
	used += http_chunked_step(&c, msg + used, sizeof(msg) - 1 - used,
	    &doff, &dlen);
	assert_int_equal(dlen, 1);
	assert_memory_equal(msg + 13 + doff, "f", 1);
	used += http_chunked_step(&c, msg + used, sizeof(msg) - 1 - used,
	    &doff, &dlen);
	assert_int_equal(dlen, 0);
	assert_int_equal(c.state, HTTP_CHUNK_DONE);
	assert_int_equal(used, sizeof(msg) - 1);

	/* a data span never runs past its chunk */
	chunk_feed(S(msg), sizeof(msg) - 1, sizeof(msg) - 1, 1024, &r);
	assert_int_equal(r.nspans, 3);
	assert_int_equal(r.spans[0], 3);
	assert_int_equal(r.spans[1], 2);
	assert_int_equal(r.spans[2], 1);
	check_chunked(S(msg), "abcdef", 6, sizeof(msg) - 1);
}

static void
test_chunked_byte_by_byte_spans(void **state)
{
	static const char msg[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
	static struct chunk_run r;
	size_t i;

	(void)state;
	chunk_feed(S(msg), 1, 1, 1024, &r);
	assert_int_equal(r.state, HTTP_CHUNK_DONE);
	assert_int_equal(r.dlen, 5);
	assert_memory_equal(r.data, "abcde", 5);
	assert_int_equal(r.nspans, 5);
	for (i = 0; i < r.nspans; i++)
		assert_int_equal(r.spans[i], 1);
	/* in pieces of 4: spans are cut by pieces and by chunks */
	chunk_feed(S(msg), 4, 4, 1024, &r);
	assert_int_equal(r.state, HTTP_CHUNK_DONE);
	assert_memory_equal(r.data, "abcde", 5);
	for (i = 0; i < r.nspans; i++)
		assert_true(r.spans[i] <= 3);
}

static void
test_chunked_error_is_sticky(void **state)
{
	struct http_chunked c;
	size_t doff, dlen;

	(void)state;
	http_chunked_init(&c, 1024);
	assert_int_equal(http_chunked_step(&c, "zz", 2, &doff, &dlen), 0);
	assert_int_equal(c.state, HTTP_CHUNK_ERROR);
	assert_int_equal(http_chunked_step(&c, "5\r\n", 3, &doff, &dlen), 0);
	assert_int_equal(c.state, HTTP_CHUNK_ERROR);
	/* an empty buffer changes nothing */
	http_chunked_init(&c, 1024);
	assert_int_equal(http_chunked_step(&c, "", 0, &doff, &dlen), 0);
	assert_int_equal(dlen, 0);
	assert_int_equal(c.state, HTTP_CHUNK_SIZE);
}

/*
 * Reason phrases (RFC 9110 §15)
 */

static void
test_reason(void **state)
{
	static const struct {
		int		 code;
		const char	*reason;
	} r[] = {
		{ 100, "Continue" },
		{ 101, "Switching Protocols" },
		{ 200, "OK" },
		{ 204, "No Content" },
		{ 304, "Not Modified" },
		{ 400, "Bad Request" },
		{ 403, "Forbidden" },
		{ 404, "Not Found" },
		{ 405, "Method Not Allowed" },
		{ 407, "Proxy Authentication Required" },
		{ 408, "Request Timeout" },
		{ 411, "Length Required" },
		{ 413, "Content Too Large" },
		{ 414, "URI Too Long" },
		{ 417, "Expectation Failed" },
		{ 429, "Too Many Requests" },
		{ 431, "Request Header Fields Too Large" },
		{ 500, "Internal Server Error" },
		{ 501, "Not Implemented" },
		{ 502, "Bad Gateway" },
		{ 503, "Service Unavailable" },
		{ 504, "Gateway Timeout" },
		{ 505, "HTTP Version Not Supported" },
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		assert_string_equal(http_reason(r[i].code), r[i].reason);
	assert_non_null(http_reason(0));
	assert_non_null(http_reason(999));
	assert_non_null(http_reason(-1));
	assert_string_equal(http_reason(299), "Unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_absolute_form),
		cmocka_unit_test(test_request_fields_spans),
		cmocka_unit_test(test_request_http10_without_host),
		cmocka_unit_test(test_request_http11_without_host),
		cmocka_unit_test(test_request_two_host_fields),
		cmocka_unit_test(test_request_connect),
		cmocka_unit_test(test_request_connect_lowercase),
		cmocka_unit_test(test_request_origin_and_asterisk),
		cmocka_unit_test(test_request_version_505),
		cmocka_unit_test(test_request_version_malformed),
		cmocka_unit_test(test_request_two_spaces),
		cmocka_unit_test(test_request_tab_separators),
		cmocka_unit_test(test_request_empty_method),
		cmocka_unit_test(test_request_target_bad_bytes),
		cmocka_unit_test(test_request_split_every_byte),
		cmocka_unit_test(test_request_bytes_after_head),
		cmocka_unit_test(test_request_leading_crlf_whole),
		cmocka_unit_test(test_request_leading_crlf_split),
		cmocka_unit_test(test_request_leading_crlf_two_reads),
		cmocka_unit_test(test_request_leading_crlf_limits),
		cmocka_unit_test(test_bare_lf_request_line),
		cmocka_unit_test(test_bare_lf_field_line),
		cmocka_unit_test(test_bare_lf_final_line),
		cmocka_unit_test(test_bare_cr),
		cmocka_unit_test(test_obs_fold),
		cmocka_unit_test(test_space_before_colon),
		cmocka_unit_test(test_bad_field_name),
		cmocka_unit_test(test_content_length_malformed),
		cmocka_unit_test(test_content_length_twice),
		cmocka_unit_test(test_content_length_digits),
		cmocka_unit_test(test_content_length_values),
		cmocka_unit_test(test_te_and_content_length),
		cmocka_unit_test(test_te_in_http10),
		cmocka_unit_test(test_te_chunked_any_case),
		cmocka_unit_test(test_te_codings),
		cmocka_unit_test(test_te_empty),
		cmocka_unit_test(test_te_twice),
		cmocka_unit_test(test_field_value_ctl),
		cmocka_unit_test(test_field_value_obs_text),
		cmocka_unit_test(test_flags_connection),
		cmocka_unit_test(test_flags_proxy_connection),
		cmocka_unit_test(test_flags_expect),
		cmocka_unit_test(test_field_indexes),
		cmocka_unit_test(test_limit_line_exact),
		cmocka_unit_test(test_limit_line_414),
		cmocka_unit_test(test_limit_head_exact),
		cmocka_unit_test(test_limit_head_431_early),
		cmocka_unit_test(test_limit_head_just_over),
		cmocka_unit_test(test_limit_headers_max),
		cmocka_unit_test(test_limit_default_64k),
		cmocka_unit_test(test_limit_default_line),
		cmocka_unit_test(test_limit_default_headers),
		cmocka_unit_test(test_limit_64k_byte_by_byte_fast),
		cmocka_unit_test(test_response_status_line),
		cmocka_unit_test(test_response_empty_reason),
		cmocka_unit_test(test_response_bad_status),
		cmocka_unit_test(test_response_framing),
		cmocka_unit_test(test_response_smuggling),
		cmocka_unit_test(test_response_split_every_byte),
		cmocka_unit_test(test_url_absolute),
		cmocka_unit_test(test_url_other_schemes),
		cmocka_unit_test(test_url_empty_scheme),
		cmocka_unit_test(test_url_userinfo),
		cmocka_unit_test(test_url_ipv6),
		cmocka_unit_test(test_url_port),
		cmocka_unit_test(test_url_fragment),
		cmocka_unit_test(test_url_bad_host),
		cmocka_unit_test(test_url_authority),
		cmocka_unit_test(test_url_other_forms),
		cmocka_unit_test(test_list_has),
		cmocka_unit_test(test_span_eq_and_field_is),
		cmocka_unit_test(test_hop_by_hop),
		cmocka_unit_test(test_hop_by_hop_long_name),
		cmocka_unit_test(test_hop_by_hop_not_framing),
		cmocka_unit_test(test_chunked_simple),
		cmocka_unit_test(test_chunked_trailing_bytes),
		cmocka_unit_test(test_chunked_extensions),
		cmocka_unit_test(test_chunked_hex),
		cmocka_unit_test(test_chunked_sixteen_digits),
		cmocka_unit_test(test_chunked_no_digits),
		cmocka_unit_test(test_chunked_0x_prefix),
		cmocka_unit_test(test_chunked_garbage_after_size),
		cmocka_unit_test(test_chunked_missing_crlf_after_data),
		cmocka_unit_test(test_chunked_bare_lf),
		cmocka_unit_test(test_chunked_trailers),
		cmocka_unit_test(test_chunked_trailer_bad),
		cmocka_unit_test(test_chunked_trailer_max),
		cmocka_unit_test(test_chunked_trailer_max_zero),
		cmocka_unit_test(test_chunked_ext_max),
		cmocka_unit_test(test_chunked_several_chunks),
		cmocka_unit_test(test_chunked_byte_by_byte_spans),
		cmocka_unit_test(test_chunked_error_is_sticky),
		cmocka_unit_test(test_reason),
	};

	return cmocka_run_group_tests_name("http", tests, NULL, NULL);
}
