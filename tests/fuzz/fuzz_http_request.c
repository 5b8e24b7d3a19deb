/*
 * libFuzzer target: http_parse_request() and, on the heads it accepts,
 * http_parse_url().  Input layout: see fuzz_http.h.
 *
 * Invariants checked, beyond "no crash":
 *  - split: fed one byte at a time to one parser, or in two exactly
 *    sized pieces at a point the input chooses, the result (code, status,
 *    every span and flag of the head) is the one the whole input gives,
 *    and CODEC_OK comes exactly when the head is complete;
 *  - an accepted head is well formed (fuzz_http_check_head()), its
 *    request line is method SP target SP version with a tchar method and
 *    a visible-ASCII target, HTTP/1.1 has a Host field, and framing is
 *    chunked exactly when Transfer-Encoding was given;
 *  - re-serialisation: "method SP target SP HTTP/1.x CRLF", the fields as
 *    "name:value CRLF", then CRLF, parses again to the same method,
 *    target, form, version, fields, framing, length, flags and indexes,
 *    with the same limits (the copy is never longer than the original);
 *  - http_parse_url() gives the same answer on both, an accepted URL has
 *    a host the resolver may see and a non-zero port, and the URL
 *    rebuilt from its parts (host, port, path) parses to the same parts.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_http.h"
#include "http.h"
#include "netaddr.h"

static struct http_res whole, again;
static struct fuzz_buf out, url_out;

static enum codec_result
parse_req(struct http_parser *p, const char *buf, size_t len,
    const struct http_limits *lim, struct http_head *h, int *status)
{
	return http_parse_request(p, buf, len, lim, h, status);
}

/* The request line, beyond fuzz_http_check_head(). */
static void
check_request(const char *buf, const struct http_head *h)
{
	uint32_t i;

	FUZZ_CHECK(h->method.off == h->skipped && h->method.len > 0,
	    "method span");
	for (i = 0; i < h->method.len; i++)
		FUZZ_CHECK(is_tchar((unsigned char)buf[h->method.off + i]),
		    "method byte %u", i);
	FUZZ_CHECK(buf[h->method.off + h->method.len] == ' ' &&
	    h->target.off == h->method.off + h->method.len + 1 &&
	    h->target.len > 0, "target span");
	for (i = 0; i < h->target.len; i++)
		FUZZ_CHECK(buf[h->target.off + i] > 0x20 &&
		    buf[h->target.off + i] < 0x7f, "target byte %u", i);
	FUZZ_CHECK(h->version == 10 || h->host_field >= 0,
	    "HTTP/1.1 without Host");
	FUZZ_CHECK((h->framing == HTTP_BODY_CHUNKED) ==
	    ((h->flags & HTTP_F_HAS_TE) != 0), "chunked vs TE");
	FUZZ_CHECK(!((h->flags & HTTP_F_HAS_TE) && (h->flags & HTTP_F_HAS_CL)),
	    "TE and CL both accepted");
	FUZZ_CHECK(h->framing == HTTP_BODY_NONE ||
	    h->framing == HTTP_BODY_LENGTH || h->framing == HTTP_BODY_CHUNKED,
	    "request framing %d", h->framing);
	FUZZ_CHECK(h->status == 0 && h->reason.len == 0, "status in request");
}

static void
put_request(const char *buf, const struct http_head *h)
{
	out.len = 0;
	fuzz_put(&out, buf + h->method.off, h->method.len);
	fuzz_putc(&out, ' ');
	fuzz_put(&out, buf + h->target.off, h->target.len);
	fuzz_puts(&out, h->version == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
	fuzz_http_put_fields(&out, buf, h);
}

/* An accepted URL: a host we may resolve or connect to, and a port. */
static void
check_url(const char *buf, const struct http_head *h,
    const struct http_url *u)
{
	union sockaddr_u a;
	size_t i, n = strnlen(u->host, sizeof(u->host));
	const char *path;

	FUZZ_CHECK(n > 0 && n < sizeof(u->host), "url host length %zu", n);
	FUZZ_CHECK(u->port != 0, "url port 0");
	if (u->is_ipv6)
		FUZZ_CHECK(netaddr_parse_ip(u->host, &a) == 0 &&
		    a.sa.sa_family == AF_INET6, "v6 host %s", u->host);
	else
		for (i = 0; i < n; i++)
			FUZZ_CHECK((u->host[i] >= '0' && u->host[i] <= '9') ||
			    (u->host[i] >= 'a' && u->host[i] <= 'z') ||
			    (u->host[i] >= 'A' && u->host[i] <= 'Z') ||
			    u->host[i] == '-' || u->host[i] == '_' ||
			    u->host[i] == '.', "host byte %zu", i);
	if (u->default_port)
		FUZZ_CHECK(h->form == HTTP_TARGET_ABSOLUTE && u->port == 80,
		    "default port");
	if (h->form == HTTP_TARGET_ABSOLUTE) {
		FUZZ_CHECK(u->path.off >= h->target.off && u->path.off +
		    u->path.len == h->target.off + h->target.len, "path span");
		path = buf + u->path.off;
		FUZZ_CHECK(u->path.len == 0 || path[0] == '/' ||
		    path[0] == '?', "path starts with %c", path[0]);
		FUZZ_CHECK(memchr(path, '#', u->path.len) == NULL,
		    "fragment in path");
	} else
		FUZZ_CHECK(u->path.len == 0, "path in authority-form");
}

static int
url_same(const char *ba, const struct http_url *a, const char *bb,
    const struct http_url *b)
{
	return strcmp(a->host, b->host) == 0 && a->port == b->port &&
	    a->is_ipv6 == b->is_ipv6 && a->default_port == b->default_port &&
	    text_same(ba, a->path, bb, b->path);
}

/* host[:port] and path again, parsed as a target of the same form. */
static void
check_url_rebuilt(const char *buf, const struct http_head *h,
    const struct http_url *u)
{
	struct http_head t;
	struct http_url v;
	char port[8];
	int rc;

	url_out.len = 0;
	if (h->form == HTTP_TARGET_ABSOLUTE)
		fuzz_puts(&url_out, "http://");
	fuzz_puts(&url_out, u->is_ipv6 ? "[" : "");
	fuzz_puts(&url_out, u->host);
	fuzz_puts(&url_out, u->is_ipv6 ? "]" : "");
	if (!u->default_port) {
		snprintf(port, sizeof(port), ":%u", u->port);
		fuzz_puts(&url_out, port);
	}
	if (h->form == HTTP_TARGET_ABSOLUTE)
		fuzz_put(&url_out, buf + u->path.off, u->path.len);
	memset(&t, 0, sizeof(t));
	t.form = h->form;
	t.target.off = 0;
	t.target.len = (uint32_t)url_out.len;
	rc = http_parse_url((const char *)url_out.b, &t, &v);
	FUZZ_CHECK(rc == 0, "rebuilt URL %.*s refused (%d)",
	    (int)url_out.len, (const char *)url_out.b, rc);
	FUZZ_CHECK(url_same(buf, u, (const char *)url_out.b, &v),
	    "rebuilt URL %.*s parses differently", (int)url_out.len,
	    (const char *)url_out.b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_limits lim;
	struct http_url u1, u2;
	const char *msg, *re;
	size_t len, split;
	int rc1, rc2;

	if (size < 4)
		return 0;
	fuzz_http_limits(data, &lim);
	split = (size_t)data[3] * (size - 4) / 255;
	msg = (const char *)data + 4;
	len = size - 4;

	fuzz_http_run(parse_req, &lim, data + 4, len, &whole);
	if (whole.rc == CODEC_ERR)
		FUZZ_CHECK(whole.status == 400 || whole.status == 414 ||
		    whole.status == 431 || whole.status == 501 ||
		    whole.status == 505, "status %d", whole.status);
	fuzz_http_split(parse_req, &lim, data + 4, len, split, &whole);
	if (whole.rc != CODEC_OK)
		return 0;
	fuzz_http_check_head(msg, len, &lim, &whole.h);
	check_request(msg, &whole.h);

	put_request(msg, &whole.h);
	fuzz_http_run(parse_req, &lim, out.b, out.len, &again);
	re = (const char *)out.b;
	FUZZ_CHECK(again.rc == CODEC_OK, "re-serialised head gives rc %d "
	    "status %d", again.rc, again.status);
	FUZZ_CHECK(again.h.skipped == 0 && again.h.head_len == out.len,
	    "re-serialised head length");
	FUZZ_CHECK(fuzz_http_equiv(msg, &whole.h, re, &again.h),
	    "re-serialised head parses differently");

	rc1 = http_parse_url(msg, &whole.h, &u1);
	rc2 = http_parse_url(re, &again.h, &u2);
	FUZZ_CHECK(rc1 == rc2, "url: %d, re-serialised %d", rc1, rc2);
	if (rc1 != 0) {
		FUZZ_CHECK(rc1 == 400 || rc1 == 501, "url status %d", rc1);
		return 0;
	}
	FUZZ_CHECK(url_same(msg, &u1, re, &u2), "url parts differ");
	check_url(msg, &whole.h, &u1);
	check_url_rebuilt(msg, &whole.h, &u1);
	return 0;
}
