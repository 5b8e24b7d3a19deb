/*
 * libFuzzer target: chunked framing, http_chunked_init() and
 * http_chunked_step().
 *
 * Input: bytes 0-1 the trailer limit (little-endian), byte 2 where to
 * split the body in two, then the body.
 *
 * Invariants checked, beyond "no crash":
 *  - each step consumes at most what it was given, its data span lies in
 *    those bytes and ends the step, and a step that consumes nothing
 *    leaves the parser in HTTP_CHUNK_ERROR;
 *  - split: the body fed whole, in two exactly sized pieces at a point
 *    the input chooses, and one byte at a time gives the same payload
 *    bytes, the same bytes consumed and the same end state (every member
 *    of struct http_chunked);
 *  - the bytes after the end of a complete message are not consumed;
 *  - re-serialisation: a complete message's payload framed again (one
 *    chunk of upper-case hex with an extension, then chunks at the split
 *    point, then the last chunk) gives the same payload and ends in
 *    HTTP_CHUNK_DONE having consumed every byte.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "http.h"

/* One way of feeding the body: the parser, the payload, the bytes used. */
struct run {
	struct http_chunked c;
	uint8_t		*payload;	/* as many bytes as the body */
	size_t		plen;
	size_t		used;
};

static struct fuzz_buf out;

static void
run_init(struct run *r, uint32_t trailer_max, size_t cap)
{
	http_chunked_init(&r->c, trailer_max);
	r->payload = malloc(cap > 0 ? cap : 1);
	if (r->payload == NULL)
		abort();
	r->plen = 0;
	r->used = 0;
}

static int
run_over(const struct run *r)
{
	return r->c.state == HTTP_CHUNK_DONE || r->c.state == HTTP_CHUNK_ERROR;
}

/*
 * Feed one piece (as an exact copy) as the session does: step until the
 * piece is used up or the message is over.  A piece is only fed while
 * the previous ones were used up.
 */
static void
feed(struct run *r, const uint8_t *piece, size_t len)
{
	char *buf = fuzz_dup(piece, len);
	size_t used = 0, step, off, dlen;

	while (used < len && !run_over(r)) {
		step = http_chunked_step(&r->c, buf + used, len - used, &off,
		    &dlen);
		FUZZ_CHECK(step <= len - used, "step %zu of %zu", step,
		    len - used);
		if (dlen > 0) {
			FUZZ_CHECK(off + dlen == step, "data span %zu+%zu in a "
			    "step of %zu", off, dlen, step);
			memcpy(r->payload + r->plen, buf + used + off, dlen);
			r->plen += dlen;
		}
		if (step == 0) {
			FUZZ_CHECK(r->c.state == HTTP_CHUNK_ERROR,
			    "no progress in state %d", r->c.state);
			break;
		}
		used += step;
	}
	if (!run_over(r))
		FUZZ_CHECK(used == len, "stopped at %zu of %zu in state %d",
		    used, len, r->c.state);
	r->used += used;
	free(buf);
}

static void
check_same(const struct run *a, const struct run *b, const char *how)
{
	FUZZ_CHECK(a->c.state == b->c.state, "%s: state %d, whole %d", how,
	    b->c.state, a->c.state);
	FUZZ_CHECK(a->used == b->used, "%s: used %zu, whole %zu", how, b->used,
	    a->used);
	FUZZ_CHECK(a->plen == b->plen &&
	    memcmp(a->payload, b->payload, a->plen) == 0,
	    "%s: payload of %zu bytes, whole %zu", how, b->plen, a->plen);
	FUZZ_CHECK(a->c.remaining == b->c.remaining && a->c.digits ==
	    b->c.digits && a->c.ext == b->c.ext && a->c.trailer ==
	    b->c.trailer && a->c.trailer_max == b->c.trailer_max,
	    "%s: parser members differ", how);
}

/* The payload framed again: it must come back out whole. */
static void
check_reframe(const struct run *w, uint32_t trailer_max, size_t split)
{
	struct run r;
	char line[32];
	size_t first = split < w->plen ? split : w->plen, n, at;

	out.len = 0;
	if (first > 0) {
		snprintf(line, sizeof(line), "%zX;ext=\"v\"\r\n", first);
		fuzz_puts(&out, line);
		fuzz_put(&out, w->payload, first);
		fuzz_puts(&out, "\r\n");
	}
	for (at = first; at < w->plen; at += n) {
		n = w->plen - at < 7 ? w->plen - at : 7;
		snprintf(line, sizeof(line), "%zx \r\n", n);
		fuzz_puts(&out, line);
		fuzz_put(&out, w->payload + at, n);
		fuzz_puts(&out, "\r\n");
	}
	fuzz_puts(&out, "0\r\n\r\n");

	run_init(&r, trailer_max, out.len);
	feed(&r, out.b, out.len);
	FUZZ_CHECK(r.c.state == HTTP_CHUNK_DONE && r.used == out.len,
	    "re-framed payload: state %d, used %zu of %zu", r.c.state, r.used,
	    out.len);
	FUZZ_CHECK(r.plen == w->plen &&
	    memcmp(r.payload, w->payload, w->plen) == 0,
	    "re-framed payload differs");
	free(r.payload);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, two, bytes;
	uint32_t trailer_max;
	const uint8_t *body;
	size_t len, split, i;

	if (size < 3)
		return 0;
	trailer_max = (uint32_t)data[0] | (uint32_t)data[1] << 8;
	body = data + 3;
	len = size - 3;
	split = (size_t)data[2] * len / 255;

	run_init(&whole, trailer_max, len);
	feed(&whole, body, len);
	FUZZ_CHECK(whole.plen <= whole.used, "payload larger than its body");

	run_init(&two, trailer_max, len);
	feed(&two, body, split);
	if (!run_over(&two))
		feed(&two, body + split, len - split);
	check_same(&whole, &two, "two pieces");

	run_init(&bytes, trailer_max, len);
	for (i = 0; i < len && !run_over(&bytes); i++)
		feed(&bytes, body + i, 1);
	check_same(&whole, &bytes, "byte at a time");

	if (whole.c.state == HTTP_CHUNK_DONE) {
		FUZZ_CHECK(whole.used >= 5 && memcmp(body + whole.used - 2,
		    "\r\n", 2) == 0, "message does not end with CRLF");
		check_reframe(&whole, trailer_max, split);
	}
	free(whole.payload);
	free(two.payload);
	free(bytes.payload);
	return 0;
}
