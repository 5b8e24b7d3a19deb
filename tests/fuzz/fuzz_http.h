/*
 * What fuzz_http_request.c and fuzz_http_response.c share: limits taken
 * from the input, the split checks, comparison of two parsed heads, and
 * the checks on a head's fields.
 *
 * Input layout of both targets: byte 0 head_max, byte 1 line_max, byte 2
 * headers_max (0 in each: the default), byte 3 where to split the message
 * in two, then (response only) byte 4 with bit 0 "the request was HEAD",
 * then the message.
 */
#ifndef SLUICE_FUZZ_HTTP_H
#define SLUICE_FUZZ_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sanitizer/asan_interface.h>

#include "fuzz.h"
#include "http.h"

#define STATUS_UNSET	(-1)

typedef enum codec_result (*fuzz_http_parse_fn)(struct http_parser *,
    const char *, size_t, const struct http_limits *, struct http_head *,
    int *);

/* One parse: its result, its status on CODEC_ERR, the head on CODEC_OK. */
struct http_res {
	enum codec_result rc;
	int		status;
	struct http_head h;
};

static inline void
fuzz_http_limits(const uint8_t *d, struct http_limits *lim)
{
	lim->head_max = d[0] == 0 ? HTTP_HEAD_MAX_DEFAULT : d[0] * 16u;
	lim->line_max = d[1] == 0 ? HTTP_LINE_MAX_DEFAULT : d[1] * 4u;
	lim->headers_max = d[2] == 0 ? HTTP_HEADERS_MAX : d[2] - 1u;
}

static inline int
span_same(struct http_span a, struct http_span b)
{
	return a.off == b.off && a.len == b.len;
}

/* Two parses of the same bytes (at the same offsets) agree. */
static inline int
fuzz_http_same(const struct http_res *a, const struct http_res *b)
{
	const struct http_head *x = &a->h, *y = &b->h;
	uint32_t i;

	if (a->rc != b->rc)
		return 0;
	if (a->rc == CODEC_ERR)
		return a->status == b->status;
	if (a->rc == CODEC_AGAIN)
		return 1;
	if (!span_same(x->method, y->method) ||
	    !span_same(x->target, y->target) || x->form != y->form ||
	    x->status != y->status || !span_same(x->reason, y->reason) ||
	    x->version != y->version || x->nfields != y->nfields ||
	    x->head_len != y->head_len || x->skipped != y->skipped ||
	    x->framing != y->framing ||
	    x->content_length != y->content_length || x->flags != y->flags ||
	    x->host_field != y->host_field ||
	    x->upgrade_field != y->upgrade_field ||
	    x->proxy_auth_field != y->proxy_auth_field)
		return 0;
	for (i = 0; i < x->nfields; i++)
		if (!span_same(x->fields[i].name, y->fields[i].name) ||
		    !span_same(x->fields[i].value, y->fields[i].value))
			return 0;
	return 1;
}

static inline int
text_same(const char *ba, struct http_span a, const char *bb,
    struct http_span b)
{
	return a.len == b.len && memcmp(ba + a.off, bb + b.off, a.len) == 0;
}

/* Two heads in different buffers say the same thing. */
static inline int
fuzz_http_equiv(const char *ba, const struct http_head *x, const char *bb,
    const struct http_head *y)
{
	uint32_t i;

	if (!text_same(ba, x->method, bb, y->method) ||
	    !text_same(ba, x->target, bb, y->target) || x->form != y->form ||
	    x->status != y->status || !text_same(ba, x->reason, bb, y->reason) ||
	    x->version != y->version || x->nfields != y->nfields ||
	    x->framing != y->framing ||
	    x->content_length != y->content_length || x->flags != y->flags ||
	    x->host_field != y->host_field ||
	    x->upgrade_field != y->upgrade_field ||
	    x->proxy_auth_field != y->proxy_auth_field)
		return 0;
	for (i = 0; i < x->nfields; i++)
		if (!text_same(ba, x->fields[i].name, bb, y->fields[i].name) ||
		    !text_same(ba, x->fields[i].value, bb, y->fields[i].value))
			return 0;
	return 1;
}

/* A fresh parser over an exact heap copy of msg[0..len). */
static inline void
fuzz_http_run(fuzz_http_parse_fn parse, const struct http_limits *lim,
    const uint8_t *msg, size_t len, struct http_res *r)
{
	struct http_parser p;
	char *buf = fuzz_dup(msg, len);

	http_parser_init(&p);
	r->status = STATUS_UNSET;
	r->rc = parse(&p, buf, len, lim, &r->h, &r->status);
	free(buf);
}

/*
 * Split invariance.  One parser is fed the message growing one byte at a
 * time, as the session does with its input buffer (the byte after the
 * ones given poisoned for ASan); another gets it in
 * two exactly sized copies (the second a new allocation, as after a
 * realloc), split at split.  Both must end as the whole message parsed at
 * once, and CODEC_OK must come exactly when the head is complete.
 */
static inline void
fuzz_http_split(fuzz_http_parse_fn parse, const struct http_limits *lim,
    const uint8_t *msg, size_t len, size_t split,
    const struct http_res *whole)
{
	static struct http_res r;
	struct http_parser p;
	char *buf;
	size_t n, end;

	buf = fuzz_dup(msg, len);
	http_parser_init(&p);
	for (n = 0; n <= len; n++) {
		/* the bytes after the n given are poisoned up to the next
		   8-byte granule (ASan's unit), as in an exact copy */
		end = (n | 7) + 1 < len ? (n | 7) + 1 : len;
		ASAN_POISON_MEMORY_REGION(buf + n, end - n);
		r.status = STATUS_UNSET;
		r.rc = parse(&p, buf, n, lim, &r.h, &r.status);
		ASAN_UNPOISON_MEMORY_REGION(buf + n, end - n);
		if (r.rc != CODEC_AGAIN)
			break;
	}
	FUZZ_CHECK(fuzz_http_same(&r, whole), "byte at a time: rc %d status "
	    "%d after %zu bytes, whole: rc %d status %d", r.rc, r.status, n,
	    whole->rc, whole->status);
	if (r.rc == CODEC_OK)
		FUZZ_CHECK(n == (size_t)r.h.skipped + r.h.head_len,
		    "OK at %zu bytes for a head of %u + %u", n, r.h.skipped,
		    r.h.head_len);
	free(buf);

	http_parser_init(&p);
	buf = fuzz_dup(msg, split);
	r.status = STATUS_UNSET;
	r.rc = parse(&p, buf, split, lim, &r.h, &r.status);
	free(buf);
	if (r.rc == CODEC_AGAIN) {
		buf = fuzz_dup(msg, len);
		r.status = STATUS_UNSET;
		r.rc = parse(&p, buf, len, lim, &r.h, &r.status);
		free(buf);
	}
	FUZZ_CHECK(fuzz_http_same(&r, whole), "split at %zu of %zu: rc %d "
	    "status %d, whole: rc %d status %d", split, len, r.rc, r.status,
	    whole->rc, whole->status);
}

static inline int
is_tchar(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || (c != 0 && strchr("!#$%&'*+-.^_`|~", c));
}

static inline int
is_vchar_ws(unsigned char c)
{
	return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7f);
}

static inline int
span_in(struct http_span s, size_t lo, size_t hi)
{
	return s.off >= lo && (size_t)s.off + s.len <= hi;
}

/* 1 when the span equals lit, case-insensitively (our own copy). */
static inline int
span_is(const char *buf, struct http_span s, const char *lit)
{
	size_t i, n = strlen(lit);
	char a, b;

	if (s.len != n)
		return 0;
	for (i = 0; i < n; i++) {
		a = buf[s.off + i];
		b = lit[i];
		if (a >= 'A' && a <= 'Z')
			a = (char)(a - 'A' + 'a');
		if (a != b)
			return 0;
	}
	return 1;
}

/*
 * What any parsed head must satisfy: it lies in the bytes given and ends
 * with an empty line, its field lines are well formed and within the
 * limits, the indexes name the right fields, and the framing follows the
 * Content-Length / Transfer-Encoding flags.
 */
static inline void
fuzz_http_check_head(const char *buf, size_t len,
    const struct http_limits *lim, const struct http_head *h)
{
	size_t start = h->skipped, end = start + h->head_len, i;
	const struct http_field *f;
	uint32_t k;

	FUZZ_CHECK(end <= len && h->head_len >= 4, "head %zu of %zu", end,
	    len);
	FUZZ_CHECK(h->skipped == 0 || h->skipped == 2 || h->skipped == 4,
	    "skipped %u", h->skipped);
	for (i = 0; i < start; i += 2)
		FUZZ_CHECK(buf[i] == '\r' && buf[i + 1] == '\n', "skipped");
	FUZZ_CHECK(memcmp(buf + end - 4, "\r\n\r\n", 4) == 0,
	    "head does not end with an empty line");
	FUZZ_CHECK(h->head_len <= lim->head_max, "head_len %u > %u",
	    h->head_len, lim->head_max);
	FUZZ_CHECK(h->nfields <= lim->headers_max &&
	    h->nfields <= HTTP_HEADERS_MAX, "nfields %u", h->nfields);
	FUZZ_CHECK(h->version == 10 || h->version == 11, "version %d",
	    h->version);
	for (k = 0; k < h->nfields; k++) {
		f = &h->fields[k];
		FUZZ_CHECK(f->name.len > 0 && span_in(f->name, start, end) &&
		    span_in(f->value, start, end), "field %u spans", k);
		FUZZ_CHECK(buf[f->name.off + f->name.len] == ':',
		    "field %u: no colon after the name", k);
		for (i = 0; i < f->name.len; i++)
			FUZZ_CHECK(is_tchar((unsigned char)buf[f->name.off + i]),
			    "field %u: name byte %zu", k, i);
		for (i = 0; i < f->value.len; i++)
			FUZZ_CHECK(is_vchar_ws((unsigned char)
			    buf[f->value.off + i]), "field %u: value byte %zu",
			    k, i);
		if (f->value.len > 0) {
			FUZZ_CHECK(buf[f->value.off] != ' ' &&
			    buf[f->value.off] != '\t' &&
			    buf[f->value.off + f->value.len - 1] != ' ' &&
			    buf[f->value.off + f->value.len - 1] != '\t',
			    "field %u: value not trimmed", k);
		}
		FUZZ_CHECK(buf[f->value.off + f->value.len] == '\r' ||
		    buf[f->value.off + f->value.len] == ' ' ||
		    buf[f->value.off + f->value.len] == '\t',
		    "field %u: value does not run to the end of its line", k);
		if (span_is(buf, f->name, "content-length") ||
		    span_is(buf, f->name, "transfer-encoding") ||
		    span_is(buf, f->name, "host"))
			FUZZ_CHECK(!http_is_hop_by_hop(buf, h, f),
			    "field %u: framing field called hop-by-hop", k);
		if (span_is(buf, f->name, "connection"))
			FUZZ_CHECK(http_is_hop_by_hop(buf, h, f),
			    "field %u: Connection not hop-by-hop", k);
	}
	if (h->host_field >= 0)
		FUZZ_CHECK((uint32_t)h->host_field < h->nfields &&
		    span_is(buf, h->fields[h->host_field].name, "host"),
		    "host_field");
	if (h->upgrade_field >= 0)
		FUZZ_CHECK((uint32_t)h->upgrade_field < h->nfields &&
		    span_is(buf, h->fields[h->upgrade_field].name, "upgrade"),
		    "upgrade_field");
	if (h->proxy_auth_field >= 0)
		FUZZ_CHECK((uint32_t)h->proxy_auth_field < h->nfields &&
		    span_is(buf, h->fields[h->proxy_auth_field].name,
		    "proxy-authorization"), "proxy_auth_field");
	if (h->framing == HTTP_BODY_LENGTH)
		FUZZ_CHECK((h->flags & HTTP_F_HAS_CL) && h->content_length > 0,
		    "length framing without a length");
	if (h->framing == HTTP_BODY_CHUNKED)
		FUZZ_CHECK(h->flags & HTTP_F_HAS_TE, "chunked without TE");
}

/* Field lines as "name:value" (never longer than the original). */
static inline void
fuzz_http_put_fields(struct fuzz_buf *o, const char *buf,
    const struct http_head *h)
{
	uint32_t k;

	for (k = 0; k < h->nfields; k++) {
		fuzz_put(o, buf + h->fields[k].name.off, h->fields[k].name.len);
		fuzz_putc(o, ':');
		fuzz_put(o, buf + h->fields[k].value.off,
		    h->fields[k].value.len);
		fuzz_puts(o, "\r\n");
	}
	fuzz_puts(o, "\r\n");
}

#endif
