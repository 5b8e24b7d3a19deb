/*
 * libFuzzer target: http_parse_response().  Input layout: see
 * fuzz_http.h (byte 4, bit 0: the response answers a HEAD request).
 *
 * Invariants checked, beyond "no crash":
 *  - split: fed one byte at a time to one parser, or in two exactly
 *    sized pieces at a point the input chooses, the result (code, status,
 *    every span and flag of the head) is the one the whole input gives,
 *    and CODEC_OK comes exactly when the head is complete;
 *  - errors are always 502 (what the client gets);
 *  - an accepted head is well formed (fuzz_http_check_head()), its status
 *    line is HTTP/1.x SP three digits [SP reason], and the framing
 *    follows RFC 9112 §6.3 from the status, the HEAD flag and the
 *    Content-Length / Transfer-Encoding fields;
 *  - re-serialisation: "HTTP/1.x SP status [SP reason] CRLF", the fields
 *    as "name:value CRLF", then CRLF, parses again to the same version,
 *    status, reason, fields, framing, length, flags and indexes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_http.h"
#include "http.h"

static struct http_res whole, again;
static struct fuzz_buf out;

static enum codec_result
parse_get(struct http_parser *p, const char *buf, size_t len,
    const struct http_limits *lim, struct http_head *h, int *status)
{
	return http_parse_response(p, buf, len, lim, 0, h, status);
}

static enum codec_result
parse_head(struct http_parser *p, const char *buf, size_t len,
    const struct http_limits *lim, struct http_head *h, int *status)
{
	return http_parse_response(p, buf, len, lim, 1, h, status);
}

/* The status line and RFC 9112 §6.3 framing. */
static void
check_response(const char *buf, const struct http_head *h, int head_req)
{
	enum http_framing want;
	uint32_t i;

	FUZZ_CHECK(h->status >= 100 && h->status <= 999, "status %d",
	    h->status);
	FUZZ_CHECK(h->skipped == 0 && h->method.len == 0 &&
	    h->target.len == 0, "request parts in a response");
	FUZZ_CHECK(memcmp(buf, h->version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ",
	    9) == 0, "status line version");
	FUZZ_CHECK(buf[9] - '0' == h->status / 100 &&
	    buf[10] - '0' == h->status / 10 % 10 &&
	    buf[11] - '0' == h->status % 10, "status digits");
	FUZZ_CHECK(h->reason.off == 12 || (h->reason.off == 13 &&
	    buf[12] == ' '), "reason offset %u", h->reason.off);
	FUZZ_CHECK(buf[h->reason.off + h->reason.len] == '\r', "reason end");
	for (i = 0; i < h->reason.len; i++)
		FUZZ_CHECK(is_vchar_ws((unsigned char)buf[h->reason.off + i]),
		    "reason byte %u", i);

	if (head_req || h->status < 200 || h->status == 204 ||
	    h->status == 304)
		want = HTTP_BODY_NONE;
	else if (h->flags & HTTP_F_HAS_TE)
		want = h->framing == HTTP_BODY_CHUNKED ? HTTP_BODY_CHUNKED :
		    HTTP_BODY_CLOSE;
	else if (h->flags & HTTP_F_HAS_CL)
		want = h->content_length > 0 ? HTTP_BODY_LENGTH :
		    HTTP_BODY_NONE;
	else
		want = HTTP_BODY_CLOSE;
	FUZZ_CHECK(h->framing == want, "framing %d, expected %d", h->framing,
	    want);
	if (want != HTTP_BODY_NONE && (h->flags & HTTP_F_HAS_TE))
		FUZZ_CHECK(h->version == 11, "TE framing in HTTP/1.0");
}

static void
put_response(const char *buf, const struct http_head *h)
{
	char sl[16];

	out.len = 0;
	snprintf(sl, sizeof(sl), "HTTP/1.%d %03d", h->version - 10,
	    h->status);
	fuzz_puts(&out, sl);
	if (h->reason.len > 0) {
		fuzz_putc(&out, ' ');
		fuzz_put(&out, buf + h->reason.off, h->reason.len);
	}
	fuzz_puts(&out, "\r\n");
	fuzz_http_put_fields(&out, buf, h);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_limits lim;
	fuzz_http_parse_fn parse;
	const char *msg;
	size_t len, split;
	int head_req;

	if (size < 5)
		return 0;
	fuzz_http_limits(data, &lim);
	split = (size_t)data[3] * (size - 5) / 255;
	head_req = data[4] & 1;
	parse = head_req ? parse_head : parse_get;
	msg = (const char *)data + 5;
	len = size - 5;

	fuzz_http_run(parse, &lim, data + 5, len, &whole);
	if (whole.rc == CODEC_ERR)
		FUZZ_CHECK(whole.status == 502, "status %d", whole.status);
	fuzz_http_split(parse, &lim, data + 5, len, split, &whole);
	if (whole.rc != CODEC_OK)
		return 0;
	fuzz_http_check_head(msg, len, &lim, &whole.h);
	check_response(msg, &whole.h, head_req);

	put_response(msg, &whole.h);
	fuzz_http_run(parse, &lim, out.b, out.len, &again);
	FUZZ_CHECK(again.rc == CODEC_OK, "re-serialised head gives rc %d",
	    again.rc);
	FUZZ_CHECK(again.h.head_len == out.len, "re-serialised head length");
	FUZZ_CHECK(fuzz_http_equiv(msg, &whole.h, (const char *)out.b,
	    &again.h), "re-serialised head parses differently");
	return 0;
}
